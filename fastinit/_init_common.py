"""What the families of :mod:`fastinit.init` share: the types of the in-place fills'
signatures, the new array a functional twin fills, a weight's fans in a layout, the check
of a normal's mean and std, and the twin ``fn(shape, ..., seed, dtype)`` of a fill."""

from __future__ import annotations

import functools
import inspect
from typing import TypeVar

import numpy as np

from . import _shard
from ._fans import compute_fans
from ._validate import check_float_dtype, check_real, check_shape
from ._variance import check_normal_fits

T = TypeVar("T")  # the tensor an in-place fill returns: the one it was given
Seed = int | None  # an int in [0, 2**64); None: the generator's next stream, else the global


def new_array(shape, dtype):
    """An empty array of a checked ``shape`` and float ``dtype``."""
    return np.empty(check_shape(shape, "shape"), check_float_dtype(dtype))


def fans_of(arr, layout="torch"):
    """(fan_in, fan_out) of ``arr``'s logical shape read in ``layout``."""
    return _layout_fans(_shard.logical_shape(arr.shape), layout)


@functools.lru_cache(maxsize=4096)
def _layout_fans(shape, layout):
    return compute_fans(shape, layout=layout)


def check_normal(mean, std, dtype):
    """mean and std of N(mean, std^2) whose every draw is finite in ``dtype``."""
    mean, std = check_real(mean, "mean"), check_real(std, "std")
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    check_normal_fits(mean, std, dtype, "mean and std")
    return mean, std


def twin_signature(fill, **extra):
    """fill's signature with ``tensor`` replaced by ``shape``, ``seed`` required and
    keyword-only, no ``generator``, and ``dtype=np.float32`` plus ``extra`` keywords."""
    params = list(inspect.signature(fill).parameters.values())[1:]
    params = [p.replace(default=inspect.Parameter.empty, annotation="int")
              if p.name == "seed" else p for p in params if p.name != "generator"]
    kw = inspect.Parameter.KEYWORD_ONLY
    params += [inspect.Parameter("dtype", kw, default=np.float32, annotation="DTypeLike")]
    params += [inspect.Parameter(k, kw, default=v, annotation=type(v).__name__)
               for k, v in extra.items()]
    positional = [p for p in params if p.kind != kw]
    keyword = sorted((p for p in params if p.kind == kw),
                     key=lambda p: p.default is not inspect.Parameter.empty)
    shape = inspect.Parameter("shape", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              annotation="int | tuple[int, ...]")
    return inspect.Signature([shape, *positional, *keyword], return_annotation="np.ndarray")


def functional_twin(fill, doc_of, example):
    """The twin of in-place ``fill``; ``example`` its docstring's doctest (the twin's
    values equal the fill's on an empty array of the same shape and dtype)."""
    def twin(shape, *args, seed, dtype=np.float32, **kw):
        out = new_array(shape, dtype)
        fill(out, *args, seed=seed, **kw)
        return out

    twin.__name__ = fill.__name__.rstrip("_")
    twin.__qualname__ = twin.__name__
    twin.__module__ = fill.__module__  # where doctest finds the twin and runs its example
    twin.__signature__ = twin_signature(fill)  # type: ignore[attr-defined]
    twin.__doc__ = (f"New array of ``shape`` and ``dtype`` filled as :func:`{doc_of}` "
                    "(``seed`` required).\n\nExamples\n--------\n"
                    ">>> import numpy as np\n>>> from fastinit import init\n" + example)
    return twin

