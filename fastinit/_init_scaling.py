"""The variance-scaling family of :mod:`fastinit.init`: variance_scaling_ and its thin
layers xavier (Glorot), kaiming (He) and lecun, in torch's argument forms (gains, not
scales: scale = gain^2), each a law ``(name, value, is a gain, mode)`` over one core,
fastinit._variance.scaled_std; and their functional twins, whose fans follow ``layout``."""

from __future__ import annotations

import contextlib
import math
import numbers
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from ._fans import calculate_gain
from ._generator import Generator
from ._init_common import Seed, T, fans_of, functional_twin, new_array, twin_signature
from ._validate import check_real
from ._variance import as_out, check_law, fill_std, resolve_rng, scaled_std, warn_if_empty


def _variance_scaling(tensor, name, value, gain, mode, distribution, layout, seed,
                      generator):
    """out <- zero-mean draws of ``distribution`` with Var = scale / fan(mode), scale =
    ``value`` (the caller's argument ``name``), or value**2 when ``gain``; every error
    names ``name`` (fastinit._variance.scaled_std)."""
    out = as_out(tensor, device_ok=True)
    check_law(value, name, mode, distribution)
    fans = fans_of(out, layout)
    if warn_if_empty(out):
        return tensor
    std = scaled_std(value, name, mode, fans, distribution, out.dtype, gain)
    seed, stream = resolve_rng(seed, generator)
    fill_std(out, std, distribution, seed, stream)
    return tensor


def variance_scaling_(tensor: T, scale: float = 1.0, mode: str = "fan_in",
                      distribution: str = "truncated_normal", *, layout: str = "torch",
                      seed: Seed = None, generator: Generator | None = None) -> T:
    """Var(w) = scale / n, n = fan_in, fan_out, fan_avg or fan_geo_avg of ``layout``
    (fastinit._variance); distribution "truncated_normal" (+-2 std, rescaled by
    0.87962566103423978 as jax/keras), "normal" or "uniform".  scale >= 0, small enough
    that every draw is finite in the dtype (the error gives the bound).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = np.empty((512, 256), np.float32)           # torch layout: fan_out = 512
    >>> _ = init.variance_scaling_(w, 2.0, "fan_out", "normal", seed=0)
    >>> round(float(w.std()), 4), round((2.0 / 512) ** 0.5, 4)
    (0.0625, 0.0625)
    """
    return _variance_scaling(tensor, "scale", scale, False, mode, distribution, layout, seed,
                             generator)


_Law = tuple[str, Any, bool, str]  # (argument name, value, value is a gain, mode)


def _xavier_law(gain: Any = 1.0) -> _Law:
    return "gain", gain, True, "fan_avg"


A_MAX = math.sqrt(sys.float_info.max)  # the largest |a| whose a**2 is finite


def _check_mode(mode):
    if not isinstance(mode, str) or mode.lower() not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out' (any case), got {mode!r}")
    return mode.lower()


# (type(a), a, mode, nonlinearity) -> a law that passed the checks
_KAIMING_LAWS: dict[tuple, _Law] = {}


def _kaiming_law(a: Any = 0, mode: Any = "fan_in", nonlinearity: Any = "leaky_relu") -> _Law:
    """(name, gain, True, mode) of kaiming: a, torch's negative slope, is finite with a**2
    finite (|a| < A_MAX) whenever it is a number."""
    key = (type(a), a, type(mode), mode, type(nonlinearity), nonlinearity)
    try:
        return _KAIMING_LAWS[key]
    except (KeyError, TypeError):  # new, or unhashable (an array a)
        pass
    law = _checked_kaiming_law(a, mode, nonlinearity)
    if len(_KAIMING_LAWS) < 4096:
        with contextlib.suppress(TypeError):
            _KAIMING_LAWS[key] = law
    return law


def _checked_kaiming_law(a, mode, nonlinearity):
    mode = _check_mode(mode)
    if isinstance(a, numbers.Number | np.ndarray):
        if isinstance(a, numbers.Real) and not isinstance(a, bool | np.bool_) \
                and not abs(a) < A_MAX:  # type: ignore[operator]
            raise ValueError(f"a (the negative slope) must be finite with |a| < {A_MAX:.4g} "
                             f"(a**2 finite), got {a}")
        a = check_real(a, "a")
    return "gain", calculate_gain(nonlinearity, a), True, mode


def xavier_uniform_(tensor: T, gain: float = 1.0, *, seed: Seed = None,
                    generator: Generator | None = None) -> T:
    """Glorot & Bengio (2010): U[-b, b), b = gain * sqrt(6 / (fan_in + fan_out)); gain >= 0.

    Parameters
    ----------
    tensor : numpy.ndarray or a writeable CPU DLPack tensor
        A weight read as ``(out, in, *kernel)``, filled in place.
    gain : float
        Multiplies the bound (:func:`calculate_gain`).
    seed : int in [0, 2**64), optional
        Draw from stream 0 of this seed.
    generator : fastinit.Generator, optional
        Draw from its next stream; with neither, the global generator
        (:func:`manual_seed`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = np.empty((512, 256), np.float32)
    >>> _ = init.xavier_uniform_(w, seed=0)
    >>> bool(np.abs(w).max() < (6 / (256 + 512)) ** 0.5)
    True
    """
    return _variance_scaling(tensor, *_xavier_law(gain), "uniform", "torch", seed, generator)


def xavier_normal_(tensor: T, gain: float = 1.0, *, seed: Seed = None,
                   generator: Generator | None = None) -> T:
    """Glorot & Bengio (2010), torch's form: N(0, std^2), std = gain * sqrt(2 / (fan_in +
    fan_out)), untruncated (jax/keras glorot_normal is truncated); gain >= 0.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = init.xavier_normal_(np.empty((512, 256), np.float32), seed=0)
    >>> round(float(w.std()), 3), round((2 / (256 + 512)) ** 0.5, 3)
    (0.051, 0.051)
    """
    return _variance_scaling(tensor, *_xavier_law(gain), "normal", "torch", seed, generator)


def kaiming_uniform_(tensor: T, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", *, seed: Seed = None,
                     generator: Generator | None = None) -> T:
    """He et al. (2015): U[-b, b), b = gain * sqrt(3 / fan_mode), gain =
    calculate_gain(nonlinearity, a) (default sqrt(2): He/ReLU).

    Parameters
    ----------
    tensor : numpy.ndarray or a writeable CPU DLPack tensor
        A weight read as ``(out, in, *kernel)``, filled in place.
    a : float
        Negative slope of leaky_relu (torch's nn.Linear uses a = sqrt(5)).
    mode : {"fan_in", "fan_out"}
        The fan that sets the variance.
    nonlinearity : str
        A name of :func:`calculate_gain`.
    seed : int in [0, 2**64), optional
        Draw from stream 0 of this seed.
    generator : fastinit.Generator, optional
        Draw from its next stream; with neither, the global generator
        (:func:`manual_seed`).

    Examples
    --------
    nn.Linear(256, 512)'s weight law, U(+-1/sqrt(256)):

    >>> import numpy as np
    >>> from fastinit import init
    >>> w = init.kaiming_uniform_(np.empty((512, 256), np.float32), a=5 ** 0.5, seed=0)
    >>> bool(np.abs(w).max() <= 1 / 16)
    True
    """
    return _variance_scaling(tensor, *_kaiming_law(a, mode, nonlinearity), "uniform", "torch",
                             seed, generator)


def kaiming_normal_(tensor: T, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", *, seed: Seed = None,
                    generator: Generator | None = None) -> T:
    """He et al. (2015): N(0, std^2), std = gain / sqrt(fan_mode), untruncated.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = init.kaiming_normal_(np.empty((512, 256), np.float32), seed=0)
    >>> round(float(w.std()), 3), round((2 / 256) ** 0.5, 3)
    (0.088, 0.088)
    """
    return _variance_scaling(tensor, *_kaiming_law(a, mode, nonlinearity), "normal", "torch",
                             seed, generator)


def lecun_uniform_(tensor: T, *, seed: Seed = None, generator: Generator | None = None) -> T:
    """LeCun et al. (1998): U[-b, b), b = sqrt(3 / fan_in).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = init.lecun_uniform_(np.empty((512, 256), np.float32), seed=0)
    >>> bool(np.abs(w).max() < (3 / 256) ** 0.5)
    True
    """
    return variance_scaling_(tensor, 1.0, "fan_in", "uniform", seed=seed, generator=generator)


def lecun_normal_(tensor: T, *, seed: Seed = None, generator: Generator | None = None) -> T:
    """LeCun et al. (1998), as jax/keras and for SELU nets (Klambauer et al. 2017):
    truncated normal with std sqrt(1 / fan_in) after truncation at +-2 std.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = init.lecun_normal_(np.empty((512, 256), np.float32), seed=0)
    >>> round(float(w.std()), 3), bool(np.abs(w).max() <= 2 / 0.8796 / 16)
    (0.063, True)
    """
    return variance_scaling_(tensor, 1.0, "fan_in", "truncated_normal", seed=seed,
                             generator=generator)


# ---- functional twins ----

lecun_uniform = functional_twin(lecun_uniform_, "lecun_uniform_", """\
>>> w = init.lecun_uniform((64, 48), seed=0)
>>> bool(abs(w).max() < (3 / 48) ** 0.5)
True
""")
lecun_normal = functional_twin(lecun_normal_, "lecun_normal_", """\
>>> w = init.lecun_normal((256, 400), seed=0)
>>> round(float(w.std() * 400 ** 0.5), 1)
1.0
""")


def _layout_twin(name: str, law: Callable[..., _Law], distribution: str,
                 fill: Callable[..., Any]) -> Callable[..., np.ndarray]:
    def twin(shape, *args, seed, dtype=np.float32, layout="torch", **kw):
        return _variance_scaling(new_array(shape, dtype), *law(*args, **kw), distribution, layout,
                                 seed, None)

    twin.__name__ = twin.__qualname__ = name
    twin.__signature__ = twin_signature(fill, layout="torch")  # type: ignore[attr-defined]
    return twin


xavier_uniform = _layout_twin("xavier_uniform", _xavier_law, "uniform", xavier_uniform_)
xavier_normal = _layout_twin("xavier_normal", _xavier_law, "normal", xavier_normal_)
kaiming_uniform = _layout_twin("kaiming_uniform", _kaiming_law, "uniform", kaiming_uniform_)
kaiming_normal = _layout_twin("kaiming_normal", _kaiming_law, "normal", kaiming_normal_)
xavier_uniform.__doc__ = """A new array as :func:`xavier_uniform_`, fans read in ``layout``
(``"torch"`` ``(out, in, *k)``, ``"jax"`` or ``"keras"`` ``(*k, in, out)``).

Examples
--------
>>> from fastinit import init
>>> w = init.xavier_uniform((3, 3, 16, 32), seed=1, layout="jax")
>>> w.shape, bool(abs(w).max() < (6 / (9 * 16 + 9 * 32)) ** 0.5)
((3, 3, 16, 32), True)
"""
xavier_normal.__doc__ = """As :func:`xavier_uniform` for :func:`xavier_normal_`.

Examples
--------
>>> from fastinit import init
>>> w = init.xavier_normal((300, 500), seed=0)
>>> round(float(w.std() * ((300 + 500) / 2) ** 0.5), 1)
1.0
"""
kaiming_uniform.__doc__ = """As :func:`xavier_uniform` for :func:`kaiming_uniform_`.

Examples
--------
>>> from fastinit import init
>>> w = init.kaiming_uniform((3, 3, 16, 32), seed=0, nonlinearity="relu", layout="keras")
>>> bool(abs(w).max() < (6 / (9 * 16)) ** 0.5)
True
"""
kaiming_normal.__doc__ = """As :func:`xavier_uniform` for :func:`kaiming_normal_`.

Examples
--------
>>> from fastinit import init
>>> w = init.kaiming_normal((256, 400), seed=0, nonlinearity="relu")
>>> round(float(w.std() * (400 / 2) ** 0.5), 1)
1.0
"""


def variance_scaling(shape, scale=1.0, mode="fan_in", distribution="truncated_normal", *,
                     seed, dtype=np.float32, layout="torch"):
    """A new array as :func:`variance_scaling_`.

    Examples
    --------
    >>> from fastinit import init
    >>> w = init.variance_scaling((256, 512), 1.0, "fan_in", "uniform", seed=0, layout="jax")
    >>> bool(w.max() < (3 / 256) ** 0.5)
    True
    """
    return variance_scaling_(new_array(shape, dtype), scale, mode, distribution, layout=layout,
                             seed=seed)

