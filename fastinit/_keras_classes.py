"""The keras.initializers classes of :mod:`fastinit.initializers` and their registration
with keras' serialization ("fastinit>Name").

``Cls(..., seed=None)(shape, dtype=None)``, kernels ``(*k, in, out)``; the seed rule and
laws are those of :mod:`fastinit.initializers` (its docstring); the variance-scaling
presets are generated from fastinit._registry.
"""

from __future__ import annotations

import math
import secrets
import sys

import numpy as np

from . import _generate as g
from . import _laws, _output
from ._fans import compute_fans
from ._generator import Generator
from ._initializers_common import box_of_whole, float_dtype
from ._jax_factories import constant, ones, zeros
from ._registry import BY_KERAS
from ._structured import orthogonal_fill
from ._validate import check_fill_value, check_real, check_seed, check_shape
from ._variance import (
    check_normal_fits,
    fill_std,
    scaled_std,
    support_fits,
    value_max,
)


class Initializer:
    """keras.initializers.Initializer: ``__call__(shape, dtype=None)``, ``get_config()``,
    ``from_config``; registered with keras' serialization as "fastinit>Name"
    (:func:`register_keras`), so saved, loaded and cloned models keep the class, its
    parameters and its seed (a :class:`fastinit.Generator` seed, whose streams advance,
    is saved as None)."""

    def __init__(self, seed=None):
        self.seed: int | Generator
        if isinstance(seed, Generator):
            self.seed = seed
        else:
            self.seed = secrets.randbits(63) if seed is None else check_seed(seed, "seed")

    def _rng(self):
        if isinstance(self.seed, Generator):
            return self.seed.seed, self.seed._take_stream()
        return self.seed, 0

    def get_config(self):
        cfg = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        if isinstance(cfg.get("seed"), Generator):
            cfg["seed"] = None
        return cfg

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def clone(self):
        """A new instance of the same configuration (keras' Initializer.clone)."""
        return self.from_config(self.get_config())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """keras Zeros."""

    def __init__(self):
        pass

    def get_config(self):
        return {}

    def __call__(self, shape, dtype=None):
        return zeros(None, shape, dtype)


class Ones(Zeros):
    """keras Ones."""

    def __call__(self, shape, dtype=None):
        return ones(None, shape, dtype)


class Constant(Initializer):
    """keras Constant(value=0.0): a scalar everywhere (held by the dtype; nan and +-inf
    too)."""

    def __init__(self, value=0.0):
        self.value = check_fill_value(value, np.float64, "value", allow_nonfinite=True)

    def __call__(self, shape, dtype=None):
        return constant(self.value)(None, shape, dtype)


class Identity(Initializer):
    """keras Identity(gain=1.0): gain * eye, 2-D only."""

    def __init__(self, gain=1.0):
        self.gain = check_real(gain, "gain")

    def __call__(self, shape, dtype=None):
        shape, dt = check_shape(shape, "shape"), float_dtype(dtype)
        if len(shape) != 2:
            raise ValueError(f"Identity needs a 2-D shape, got {shape}")
        check_fill_value(self.gain, dt, "gain")
        return self.gain * np.eye(*shape, dtype=dt)


class RandomUniform(Initializer):
    """keras RandomUniform(minval=-0.05, maxval=0.05, seed=None): U[minval, maxval),
    minval <= maxval within the dtype's range.

    Examples
    --------
    >>> from fastinit import initializers as I
    >>> I.RandomUniform(seed=0)((2, 2)).astype(float).round(4).tolist()
    [[-0.0101, 0.0381], [0.0236, 0.0105]]
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        minval, maxval = check_real(minval, "minval"), check_real(maxval, "maxval")
        if not minval <= maxval:
            raise ValueError(f"minval must be <= maxval, got minval={minval}, maxval={maxval}")
        self.minval, self.maxval = minval, maxval
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape, dt = check_shape(shape, "shape"), float_dtype(dtype)
        if not support_fits(self.minval, self.maxval, dt):
            raise ValueError(f"minval and maxval must lie in {dt.name}'s range "
                             f"+-{value_max(dt):g} with a finite span, got "
                             f"[{self.minval:g}, {self.maxval:g})")
        _laws._uniform_params(self.minval, self.maxval, dt)
        seed, stream = self._rng()
        return g.uniform(shape, self.minval, self.maxval, seed=seed, stream=stream, dtype=dt)


class RandomNormal(Initializer):
    """keras RandomNormal(mean=0.0, stddev=0.05, seed=None): N(mean, stddev^2),
    stddev >= 0."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev = check_real(mean, "mean"), check_real(stddev, "stddev")
        if self.stddev < 0:
            raise ValueError(f"stddev must be >= 0, got {self.stddev}")
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape, dt = check_shape(shape, "shape"), float_dtype(dtype)
        check_normal_fits(self.mean, self.stddev, dt, "mean and stddev")
        seed, stream = self._rng()
        return g.normal(shape, self.mean, self.stddev, seed=seed, stream=stream, dtype=dt)


class TruncatedNormal(RandomNormal):
    """keras TruncatedNormal(mean=0.0, stddev=0.05, seed=None): N(mean, stddev^2) cut at
    mean +- 2 stddev, no variance correction; stddev > 0."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(mean, stddev, seed)
        if not self.stddev > 0:
            raise ValueError(f"stddev must be > 0, got {self.stddev}")

    def __call__(self, shape, dtype=None):
        shape, dt = check_shape(shape, "shape"), float_dtype(dtype)
        lo, hi = self.mean - 2 * self.stddev, self.mean + 2 * self.stddev
        if not support_fits(lo, hi, dt):
            raise ValueError(f"mean and stddev must keep mean +- 2 stddev = [{lo:g}, {hi:g}] "
                             f"in {dt.name}'s range +-{value_max(dt):g}")
        _laws._truncnormal_params(self.mean, self.stddev, lo, hi, dt)
        seed, stream = self._rng()
        return g.truncated_normal(shape, self.mean, self.stddev, lo, hi, seed=seed,
                                  stream=stream, dtype=dt)


class VarianceScaling(Initializer):
    """keras VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal",
    seed=None): Var = scale / max(1, n); "normal" is keras' alias of "truncated_normal",
    "untruncated_normal" the plain normal, "uniform" U[-sqrt(3 var), sqrt(3 var))."""

    _LAWS = {"truncated_normal": "truncated_normal", "untruncated_normal": "normal",
             "uniform": "uniform"}

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        scale = check_real(scale, "scale")
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be one of 'fan_in', 'fan_out', 'fan_avg', got {mode!r}")
        if distribution not in ("normal", *self._LAWS):
            raise ValueError(f"distribution must be one of {('normal', *self._LAWS)}, "
                             f"got {distribution!r}")
        if distribution == "normal":
            distribution = "truncated_normal"
        self.scale, self.mode, self.distribution = scale, mode, distribution
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        out = _output.new_array(shape, float_dtype(dtype))
        fans = compute_fans(shape, layout="keras", fallback=True)
        if out.size == 0:
            return out
        law = self._LAWS[self.distribution]
        # fans of a non-empty shape are >= 1: keras' max(1, n) changes nothing
        std = scaled_std(self.scale, "scale", self.mode, fans, law, out.dtype)
        seed, stream = self._rng()
        return fill_std(out, std, law, seed, stream)


def _preset(name: str) -> type[VarianceScaling]:
    """The keras class ``name`` of the registry: VarianceScaling with the entry's preset."""
    entry = BY_KERAS[name]
    assert entry.preset is not None, name
    scale, mode, distribution = entry.preset

    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": Initializer.get_config(self)["seed"]}

    doc = (f"keras {name}(seed=None) ({entry.ref}): VarianceScaling({scale:g}, {mode!r}, "
           f"{distribution!r}); {entry.law}.")
    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc, "__module__": __name__,
                                           "__qualname__": name})


GlorotUniform = _preset("GlorotUniform")
GlorotNormal = _preset("GlorotNormal")
HeUniform = _preset("HeUniform")
HeNormal = _preset("HeNormal")
LecunUniform = _preset("LecunUniform")
LecunNormal = _preset("LecunNormal")


class Orthogonal(Initializer):
    """keras Orthogonal(gain=1.0, seed=None): rows = prod(shape[:-1]), cols = shape[-1]."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = check_real(gain, "gain")
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape, dt = check_shape(shape, "shape"), float_dtype(dtype)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs at least 2 dimensions, got shape {shape}")
        check_fill_value(self.gain, dt, "gain")
        seed, stream = self._rng()
        rows, cols = math.prod(shape[:-1]), shape[-1]
        return box_of_whole(
            lambda out: orthogonal_fill(out, rows, cols, self.gain, seed, stream)
            if out.size else out, shape, dt)


KERAS_CLASSES = tuple(globals()[name] for name in BY_KERAS)  # the registry's keras names


def register_keras():
    """Register the keras classes with keras' serialization under "fastinit>Name", so
    that ``model.save`` / ``keras.saving.load_model`` and ``keras.models.clone_model``
    keep fastinit's initializers (keras would otherwise read the class name as its own
    initializer's).  Runs by itself when keras is imported (before or after fastinit);
    idempotent."""
    import keras

    for cls in KERAS_CLASSES:
        keras.saving.register_keras_serializable(package="fastinit")(cls)


def _register_when_keras_loads():
    """register_keras now if keras is imported, else right after keras' own import runs
    (a meta-path finder wraps keras' loader; a mere find_spec probe registers nothing and
    leaves the finder in place)."""
    if "keras" in sys.modules:
        register_keras()
        return
    import importlib.abc
    import importlib.machinery

    class _AfterKeras(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name != "keras":
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            loader = None if spec is None else spec.loader
            if loader is None or not hasattr(loader, "exec_module"):
                return None
            exec_module = loader.exec_module

            def exec_then_register(module):
                exec_module(module)
                if self in sys.meta_path:
                    sys.meta_path.remove(self)
                register_keras()

            loader.exec_module = exec_then_register  # type: ignore[method-assign]
            return spec

    sys.meta_path.insert(0, _AfterKeras())


_register_when_keras_loads()
