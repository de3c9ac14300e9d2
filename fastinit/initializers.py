"""jax.nn.initializers' (and flax's) names and semantics, and keras.initializers' classes,
over the same variance-scaling core as :mod:`fastinit.init`.

jax style: a factory returns ``init(key, shape, dtype=None) -> numpy array``; ``key`` is an
int seed, a raw jax key (uint32 array of shape (2,)) or a typed jax key (its key data
gives the seed).  Like jax, the same key gives the same values.  Kernels read as
``(..., in, out)`` (in_axis=-2, out_axis=-1); ``glorot_normal``/``he_normal``/``lecun_normal``
are *truncated* normals (cut at 2 std, rescaled by 0.87962566103423978), ``normal`` in
``variance_scaling`` is untruncated; ``uniform(scale)`` is U[0, scale); truncated_normal's
bounds are in units of stddev.  The default dtype is float32.

keras style: ``GlorotUniform(seed=None)(shape, dtype=None)``; kernels ``(*k, in, out)``;
fans of 0-D/1-D shapes fall back to (1, 1)/(n, n) and each fan is clamped to >= 1;
``VarianceScaling(distribution="normal")`` means truncated (keras' legacy alias;
"untruncated_normal" is the plain normal).  An instance with an int seed, or with None (a
seed drawn once at construction), returns the same values on every call, as keras 3 does;
pass a :class:`fastinit.Generator` to advance.
"""

from __future__ import annotations

import math
import operator
import secrets

import numpy as np

from . import _generate as g
from ._fans import compute_fans
from ._generator import Generator
from ._structured import (
    check_orthogonal_dtype,
    delta_orthogonal_fill,
    fill_whole_then_box,
    orthogonal_fill,
)
from ._validate import check_float_dtype, check_real, check_shape, check_u64
from ._variance import DISTRIBUTIONS, fill_std, variance_std

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros", "constant", "delta_orthogonal",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "kaiming_normal",
    "kaiming_uniform", "lecun_normal", "lecun_uniform", "normal", "ones", "ones_init",
    "orthogonal", "seed_from_key", "truncated_normal", "uniform", "variance_scaling",
    "xavier_normal", "xavier_uniform", "zeros", "zeros_init",
]

MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")


def seed_from_key(key) -> int:
    """The 64-bit seed of an int, a raw jax key (uint32 (2,)) or a typed jax key."""
    if isinstance(key, Generator):
        return key.seed
    if type(key).__module__.startswith(("jax", "jaxlib")):
        import jax

        if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
            key = jax.random.key_data(key)
        key = np.asarray(key)
    if isinstance(key, np.ndarray) and key.dtype == np.uint32 and key.shape == (2,):
        return (int(key[0]) << 32) | int(key[1])
    try:
        return check_u64(key, "key")
    except TypeError:
        raise TypeError(
            "key must be an int seed, a uint32 array of shape (2,) or a jax PRNG key, "
            f"got {type(key).__name__}"
        ) from None


def _dtype(dtype, default):
    return check_float_dtype(default if dtype is None else dtype)


def _empty(shape, dtype):
    return g.new_array(shape, dtype)


def _box_of_whole(fill, shape, dtype):
    """A new array made by the structured fill(array) (the box of it inside a shard)."""
    return fill_whole_then_box(_empty(shape, dtype), fill)


# ---- jax / flax factories ----

def zeros(key, shape, dtype=None):
    """jax.nn.initializers.zeros (key ignored)."""
    out = _empty(shape, np.float32 if dtype is None else dtype)
    out[...] = 0
    return out


def ones(key, shape, dtype=None):
    """jax.nn.initializers.ones (key ignored)."""
    out = _empty(shape, np.float32 if dtype is None else dtype)
    out[...] = 1
    return out


def zeros_init():
    """flax's zeros_init()."""
    return zeros


def ones_init():
    """flax's ones_init()."""
    return ones


def constant(value, dtype=None):
    """jax.nn.initializers.constant: every element = value."""
    def init(key, shape, dtype=dtype):
        out = _empty(shape, np.float32 if dtype is None else dtype)
        out[...] = value
        return out
    return init


def uniform(scale=1e-2, dtype=None):
    """jax.nn.initializers.uniform: U[0, scale) (not symmetric, as jax)."""
    scale = check_real(scale, "scale")

    def init(key, shape, dtype=dtype):
        return g.uniform(check_shape(shape, "shape"), 0.0, scale, seed=seed_from_key(key),
                         dtype=_dtype(dtype, np.float32))
    return init


def normal(stddev=1e-2, dtype=None):
    """jax.nn.initializers.normal: N(0, stddev^2)."""
    stddev = check_real(stddev, "stddev")

    def init(key, shape, dtype=dtype):
        return g.normal(check_shape(shape, "shape"), 0.0, stddev, seed=seed_from_key(key),
                        dtype=_dtype(dtype, np.float32))
    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """jax.nn.initializers.truncated_normal: N(0, stddev^2) truncated to
    [lower * stddev, upper * stddev] (bounds in units of stddev; no variance correction,
    as jax)."""
    stddev, lower, upper = (check_real(v, n) for v, n in
                            ((stddev, "stddev"), (lower, "lower"), (upper, "upper")))
    g._truncnormal_params(0.0, stddev, lower * stddev, upper * stddev, np.dtype(np.float64))

    def init(key, shape, dtype=dtype):
        return g.truncated_normal(check_shape(shape, "shape"), 0.0, stddev, lower * stddev,
                                  upper * stddev, seed=seed_from_key(key),
                                  dtype=_dtype(dtype, np.float32))
    return init


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(),
                     dtype=None):
    """jax.nn.initializers.variance_scaling: Var = scale / n, n from ``mode`` in
    ("fan_in", "fan_out", "fan_avg", "fan_geo_avg") with jax's fans; distribution
    "truncated_normal" (cut at 2 std, rescaled by 0.87962566103423978), "normal"
    (untruncated) or "uniform" (U[-sqrt(3 var), sqrt(3 var))).  Bad arguments raise
    here, at construction (jax raises at call time)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    scale = check_real(scale, "scale")

    def init(key, shape, dtype=dtype):
        out = _empty(shape, _dtype(dtype, np.float32))
        fans = compute_fans(shape, layout="jax", in_axis=in_axis, out_axis=out_axis,
                            batch_axis=batch_axis)
        if out.size == 0:
            return out
        return fill_std(out, variance_std(scale, mode, *fans), distribution,
                        seed_from_key(key), 0)
    return init


def glorot_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """Glorot & Bengio (2010): variance_scaling(1, "fan_avg", "uniform")."""
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """Glorot & Bengio (2010), jax's form: variance_scaling(1, "fan_avg",
    "truncated_normal") (torch's xavier_normal_ is untruncated)."""
    return variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


def he_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """He et al. (2015): variance_scaling(2, "fan_in", "uniform")."""
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def he_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """He et al. (2015), jax's form: variance_scaling(2, "fan_in", "truncated_normal")."""
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


def lecun_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """LeCun et al. (1998): variance_scaling(1, "fan_in", "uniform")."""
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """LeCun et al. (1998): variance_scaling(1, "fan_in", "truncated_normal") (flax's
    Dense/Conv default)."""
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """jax.nn.initializers.orthogonal (Saxe et al. 2014): c = shape[column_axis] columns,
    r = numel / c rows, an r x c Haar matrix (orthonormal columns if r >= c, rows
    otherwise) times scale, reshaped with the column axis put back.  Any float dtype
    (jax fails on bfloat16/float16); complex64/complex128 give unitary frames, as jax."""
    scale = check_real(scale, "scale")

    def fill(out, seed):
        if out.ndim < 2:
            raise ValueError(f"orthogonal needs at least 2 dimensions, got shape {out.shape}")
        axis = operator.index(column_axis) % out.ndim
        if out.size == 0:
            return out
        cols = out.shape[axis]
        view = np.moveaxis(out, axis, -1)
        orthogonal_fill(view, out.size // cols, cols, scale, seed, 0)
        return out

    def init(key, shape, dtype=dtype):
        dt = check_orthogonal_dtype(np.float32 if dtype is None else dtype)
        seed = seed_from_key(key)
        return _box_of_whole(lambda out: fill(out, seed), shape, dt)
    return init


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """jax.nn.initializers.delta_orthogonal (Xiao et al. 2018): a 3/4/5-D (*k, in, out)
    kernel, zero but an orthogonal (in, out) matrix times scale at the centre
    (k - 1) // 2; needs in <= out."""
    scale = check_real(scale, "scale")

    def init(key, shape, dtype=dtype):
        seed = seed_from_key(key)
        return _box_of_whole(lambda out: delta_orthogonal_fill(out, scale, seed, 0, "jax"),
                             shape, _dtype(dtype, np.float32))
    return init


# ---- keras classes ----

class Initializer:
    """keras.initializers.Initializer: ``__call__(shape, dtype=None)``, ``get_config()``."""

    def __init__(self, seed=None):
        if isinstance(seed, Generator):
            self.seed = seed
        else:
            self.seed = secrets.randbits(63) if seed is None else check_u64(seed, "seed")

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
        return np.zeros(check_shape(shape, "shape"), np.float32 if dtype is None else dtype)


class Ones(Zeros):
    """keras Ones."""

    def __call__(self, shape, dtype=None):
        return np.ones(check_shape(shape, "shape"), np.float32 if dtype is None else dtype)


class Constant(Initializer):
    """keras Constant(value=0.0): a scalar everywhere."""

    def __init__(self, value=0.0):
        self.value = value

    def __call__(self, shape, dtype=None):
        return np.full(check_shape(shape, "shape"), self.value,
                       np.float32 if dtype is None else dtype)


class Identity(Initializer):
    """keras Identity(gain=1.0): gain * eye, 2-D only."""

    def __init__(self, gain=1.0):
        self.gain = check_real(gain, "gain")

    def __call__(self, shape, dtype=None):
        shape = check_shape(shape, "shape")
        if len(shape) != 2:
            raise ValueError(f"Identity needs a 2-D shape, got {shape}")
        return self.gain * np.eye(*shape, dtype=_dtype(dtype, np.float32))


class RandomUniform(Initializer):
    """keras RandomUniform(minval=-0.05, maxval=0.05, seed=None): U[minval, maxval)."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        g._uniform_params(minval, maxval, np.dtype(np.float64))
        self.minval, self.maxval = float(minval), float(maxval)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        seed, stream = self._rng()
        return g.uniform(check_shape(shape, "shape"), self.minval, self.maxval, seed=seed,
                         stream=stream, dtype=_dtype(dtype, np.float32))


class RandomNormal(Initializer):
    """keras RandomNormal(mean=0.0, stddev=0.05, seed=None): N(mean, stddev^2)."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        g._normal_params(mean, stddev)
        self.mean, self.stddev = float(mean), float(stddev)
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        seed, stream = self._rng()
        return g.normal(check_shape(shape, "shape"), self.mean, self.stddev, seed=seed,
                        stream=stream, dtype=_dtype(dtype, np.float32))


class TruncatedNormal(RandomNormal):
    """keras TruncatedNormal(mean=0.0, stddev=0.05, seed=None): N(mean, stddev^2) cut at
    mean +- 2 stddev, no variance correction."""

    def __call__(self, shape, dtype=None):
        seed, stream = self._rng()
        return g.truncated_normal(check_shape(shape, "shape"), self.mean, self.stddev,
                                  self.mean - 2 * self.stddev, self.mean + 2 * self.stddev,
                                  seed=seed, stream=stream, dtype=_dtype(dtype, np.float32))


class VarianceScaling(Initializer):
    """keras VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal",
    seed=None): Var = scale / max(1, n); "normal" is keras' alias of "truncated_normal",
    "untruncated_normal" the plain normal, "uniform" U[-sqrt(3 var), sqrt(3 var))."""

    _KERAS_DISTRIBUTIONS = {"truncated_normal": "truncated_normal",
                            "normal": "truncated_normal",
                            "untruncated_normal": "normal", "uniform": "uniform"}

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        scale = check_real(scale, "scale")
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"mode must be one of 'fan_in', 'fan_out', 'fan_avg', got {mode!r}")
        if distribution not in self._KERAS_DISTRIBUTIONS:
            raise ValueError(
                f"distribution must be one of {tuple(self._KERAS_DISTRIBUTIONS)}, "
                f"got {distribution!r}"
            )
        self.scale, self.mode = scale, mode
        self.distribution = self._KERAS_DISTRIBUTIONS[distribution]
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        out = _empty(shape, _dtype(dtype, np.float32))
        fan_in, fan_out = compute_fans(shape, layout="keras", fallback=True)
        if out.size == 0:
            return out
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[self.mode]
        std = math.sqrt(self.scale / max(1.0, n))
        seed, stream = self._rng()
        return fill_std(out, std, self.distribution, seed, stream)


def _preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": Initializer.get_config(self)["seed"]}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc})


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                        "keras GlorotUniform(seed=None): U[-sqrt(6 / (fan_in + fan_out)), +).")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                       "keras GlorotNormal(seed=None): truncated normal, std "
                       "sqrt(2 / (fan_in + fan_out)).")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform",
                    "keras HeUniform(seed=None): U[-sqrt(6 / fan_in), +).")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                   "keras HeNormal(seed=None): truncated normal, std sqrt(2 / fan_in).")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform",
                       "keras LecunUniform(seed=None): U[-sqrt(3 / fan_in), +).")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                      "keras LecunNormal(seed=None): truncated normal, std sqrt(1 / fan_in).")


class Orthogonal(Initializer):
    """keras Orthogonal(gain=1.0, seed=None): rows = prod(shape[:-1]), cols = shape[-1]."""

    def __init__(self, gain=1.0, seed=None):
        self.gain = check_real(gain, "gain")
        super().__init__(seed)

    def __call__(self, shape, dtype=None):
        shape = check_shape(shape, "shape")
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs at least 2 dimensions, got shape {shape}")
        seed, stream = self._rng()
        rows, cols = math.prod(shape[:-1]), shape[-1]
        return _box_of_whole(
            lambda out: orthogonal_fill(out, rows, cols, self.gain, seed, stream)
            if out.size else out, shape, _dtype(dtype, np.float32))
