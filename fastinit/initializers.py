"""jax.nn.initializers' (and flax's) names and semantics, and keras.initializers' classes,
over the same variance-scaling core as :mod:`fastinit.init`.

Seeds and keys follow one rule (fastinit._validate.check_seed), the same in
:mod:`fastinit.jax` and the keras classes' ``seed``: an int in [0, 2**64) is the seed; a
jax PRNG key (typed, of any impl, or a legacy uint32 key array) gives a seed from its
key-data words w0, w1, ...: ``(w0 << 32) | w1`` for a threefry key (2 words), and
``derived_seed(W, "jax_key")`` for an rbg/unsafe_rbg key (4 words), W the words read as
one integer, w0 most significant.  Negative ints, ints >= 2**64, bools, floats and float
arrays raise; nothing is reduced modulo 2**64 or truncated.  A :class:`fastinit.Generator`
is accepted too.

jax style: a factory returns ``init(key, shape, dtype=None) -> numpy array``.  Like jax,
the same key gives the same values.  Kernels read as ``(..., in, out)`` (in_axis=-2,
out_axis=-1); ``glorot_normal``/``he_normal``/``lecun_normal`` are *truncated* normals
(cut at 2 std, rescaled by 0.87962566103423978), ``normal`` in ``variance_scaling`` is
untruncated; ``uniform(scale)`` is U[0, scale); truncated_normal's bounds are in units of
stddev.  The default dtype is float32.  Parameters are checked at construction, shape and
dtype (and parameters against the dtype's range) at call time, before anything is drawn.

keras style: ``GlorotUniform(seed=None)(shape, dtype=None)``; kernels ``(*k, in, out)``;
fans of 0-D/1-D shapes fall back to (1, 1)/(n, n) and each fan is clamped to >= 1;
``VarianceScaling(distribution="normal")`` means truncated (keras' legacy alias;
"untruncated_normal" is the plain normal).  An instance with an int seed, or with None (a
seed drawn once at construction), returns the same values on every call, as keras 3 does;
pass a :class:`fastinit.Generator` to advance.  The classes are registered with keras'
serialization as "fastinit>Name" as soon as keras is imported (:func:`register_keras`), so
``model.save`` / ``keras.saving.load_model`` / ``keras.models.clone_model`` keep them, with
their parameters and seed, and so the same weights.

>>> import numpy as np
>>> from fastinit import initializers as I
>>> k = I.glorot_normal()(0, (3, 3, 16, 32))          # jax style: (key, shape, dtype)
>>> k.shape, k.dtype.name
((3, 3, 16, 32), 'float32')
>>> w = I.GlorotNormal(seed=0)((16, 32))              # keras style
>>> bool((w == I.GlorotNormal(seed=0)((16, 32))).all())   # an int seed: same values
True
"""

from __future__ import annotations

import math
import secrets
import sys
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import DTypeLike

from . import _generate as g
from . import _laws, _output
from ._fans import compute_fans
from ._generator import Generator
from ._registry import BY_JAX, BY_KERAS
from ._structured import (
    check_orthogonal_dtype,
    delta_orthogonal_centres,
    delta_orthogonal_fill,
    fill_whole_then_box,
    orthogonal_fill,
)
from ._validate import (
    check_fill_value,
    check_float_dtype,
    check_int,
    check_real,
    check_seed,
    check_shape,
)
from ._variance import (
    TRUNC_REACH,
    check_law,
    check_normal_fits,
    fill_std,
    scaled_std,
    support_fits,
    value_max,
)

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros", "constant", "delta_orthogonal",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "kaiming_normal",
    "kaiming_uniform", "lecun_normal", "lecun_uniform", "normal", "ones", "ones_init",
    "orthogonal", "register_keras", "seed_from_key", "truncated_normal", "uniform",
    "variance_scaling", "xavier_normal", "xavier_uniform", "zeros", "zeros_init",
]


def seed_from_key(key) -> int:
    """The 64-bit seed of ``key``: a :class:`fastinit.Generator`'s seed, else the one rule
    of :func:`fastinit._validate.check_seed` (module docstring)."""
    if isinstance(key, Generator):
        return key.seed
    return check_seed(key, "key")


def _dtype(dtype, default=np.float32):
    return check_float_dtype(default if dtype is None else dtype)


def _empty(shape, dtype):
    return _output.new_array(shape, dtype)


def _box_of_whole(fill, shape, dtype):
    """A new array made by the structured fill(array) (the box of it inside a shard)."""
    return fill_whole_then_box(_empty(shape, dtype), fill)


# ---- jax / flax factories ----

class KeyInit:
    """A jax-style initializer, ``init(key, shape, dtype=None) -> numpy array``.

    ``plan(shape, dtype)`` runs every check of a call except the key's and returns
    ``make(seed)``, which builds the array; :mod:`fastinit.jax` runs ``plan`` before its
    host callback, so bad arguments raise the same errors there, also under ``jax.jit``.
    ``dtype`` is the factory's dtype (None: float32); ``keyed=False`` for the constant
    laws, which ignore the key (as jax)."""

    def __init__(self, name, plan, dtype=None, keyed=True):
        self.__name__ = self.__qualname__ = name
        self.plan, self.dtype, self.keyed = plan, dtype, keyed

    def __call__(self, key, shape, dtype=None):
        seed = seed_from_key(key) if self.keyed else None
        return self.plan(shape, self.dtype if dtype is None else dtype)(seed)

    def __repr__(self):
        return f"<fastinit initializer {self.__name__}>"


def _constant_plan(value):
    def plan(shape, dtype):
        shape, dt = check_shape(shape, "shape"), np.dtype(np.float32 if dtype is None else dtype)
        check_fill_value(value, dt, "value", allow_nonfinite=True)

        def make(seed):
            out = _empty(shape, dt)
            out[...] = value
            return out
        return make
    return plan


zeros = KeyInit("zeros", _constant_plan(0), keyed=False)
zeros.__doc__ = "jax.nn.initializers.zeros (key ignored, any dtype)."
ones = KeyInit("ones", _constant_plan(1), keyed=False)
ones.__doc__ = "jax.nn.initializers.ones (key ignored, any dtype)."


def zeros_init():
    """flax's zeros_init()."""
    return zeros


def ones_init():
    """flax's ones_init()."""
    return ones


def constant(value, dtype=None):
    """jax.nn.initializers.constant: every element = value (a number the dtype holds,
    nan and +-inf included; key ignored).

    Examples
    --------
    >>> from fastinit import initializers as I
    >>> I.constant(0.5)(None, (2,)).tolist()
    [0.5, 0.5]
    """
    check_fill_value(value, np.float64, "value", allow_nonfinite=True)
    return KeyInit("constant", _constant_plan(value), dtype, keyed=False)


def uniform(scale=1e-2, dtype=None):
    """jax.nn.initializers.uniform: U[0, scale) (not symmetric, as jax); scale >= 0.

    Examples
    --------
    >>> from fastinit import initializers as I
    >>> x = I.uniform(0.5)(0, (1000,))
    >>> bool(x.min() >= 0.0 and x.max() < 0.5)
    True
    """
    scale = check_real(scale, "scale")
    if scale < 0:
        raise ValueError(f"scale must be >= 0 (U[0, scale)), got {scale}")

    def plan(shape, dtype):
        shape, dt = check_shape(shape, "shape"), _dtype(dtype)
        if not support_fits(0.0, scale, dt):
            raise ValueError(f"scale must be in [0, {value_max(dt):g}] ({dt.name}'s range), "
                             f"got {scale:g}")
        return lambda seed: g.uniform(shape, 0.0, scale, seed=seed, dtype=dt)
    return KeyInit("uniform", plan, dtype)


def normal(stddev=1e-2, dtype=None):
    """jax.nn.initializers.normal: N(0, stddev^2); stddev >= 0.

    Examples
    --------
    >>> from fastinit import initializers as I
    >>> I.normal(0.02)(0, (3,)).astype(float).round(4).tolist()
    [0.0198, -0.0185, -0.0124]
    """
    stddev = check_real(stddev, "stddev")
    if stddev < 0:
        raise ValueError(f"stddev must be >= 0, got {stddev}")

    def plan(shape, dtype):
        shape, dt = check_shape(shape, "shape"), _dtype(dtype)
        check_normal_fits(0.0, stddev, dt, "stddev")
        return lambda seed: g.normal(shape, 0.0, stddev, seed=seed, dtype=dt)
    return KeyInit("normal", plan, dtype)


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """jax.nn.initializers.truncated_normal: N(0, stddev^2) truncated to
    [lower * stddev, upper * stddev] (bounds in units of stddev; no variance correction,
    as jax); stddev > 0, lower < upper (-inf and inf allowed), within 37 of each other's side of 0.

    Examples
    --------
    >>> from fastinit import initializers as I
    >>> x = I.truncated_normal(1.0)(0, (1000,))             # bounds -2 and 2 stddev
    >>> bool(abs(x).max() <= 2.0)
    True
    """
    stddev = check_real(stddev, "stddev")
    lower, upper = (check_real(lower, "lower", allow_inf=True),
                    check_real(upper, "upper", allow_inf=True))
    if not stddev > 0:
        raise ValueError(f"stddev must be > 0, got {stddev}")
    if not lower < upper:
        raise ValueError(f"lower must be < upper, got lower={lower}, upper={upper}")
    try:
        _laws._truncnormal_params(0.0, 1.0, lower, upper, np.dtype(np.float64))
    except ValueError:
        raise ValueError(f"[lower, upper] = [{lower}, {upper}] lies beyond 37 (in units of "
                         "stddev): its normal probability underflows") from None

    def plan(shape, dtype):
        shape, dt = check_shape(shape, "shape"), _dtype(dtype)
        a, b = max(lower, -TRUNC_REACH) * stddev, min(upper, TRUNC_REACH) * stddev
        if not support_fits(a, b, dt):
            raise ValueError(
                f"stddev, lower and upper must keep [max(lower, -40), min(upper, 40)] * "
                f"stddev = [{a:g}, {b:g}] in {dt.name}'s range +-{value_max(dt):g}"
            )
        _laws._truncnormal_params(0.0, stddev, lower * stddev, upper * stddev, dt)
        return lambda seed: g.truncated_normal(shape, 0.0, stddev, lower * stddev,
                                               upper * stddev, seed=seed, dtype=dt)
    return KeyInit("truncated_normal", plan, dtype)


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(),
                     dtype=None):
    """jax.nn.initializers.variance_scaling: Var = scale / n, n from ``mode`` in
    ("fan_in", "fan_out", "fan_avg", "fan_geo_avg") with jax's fans; distribution
    "truncated_normal" (cut at 2 std, rescaled by 0.87962566103423978), "normal"
    (untruncated) or "uniform" (U[-sqrt(3 var), sqrt(3 var))).  Bad arguments raise
    here, at construction (jax raises at call time); a scale too large for the dtype
    at call time.

    Examples
    --------
    >>> from fastinit import initializers as I
    >>> init = I.variance_scaling(2.0, "fan_in", "normal")
    >>> w = init(0, (256, 512))                         # (in, out): fan_in = 256
    >>> round(float(w.std()), 3), round((2 / 256) ** 0.5, 3)
    (0.088, 0.088)
    """
    scale = check_law(scale, "scale", mode, distribution)

    def plan(shape, dtype):
        shape, dt = check_shape(shape, "shape"), _dtype(dtype)
        fans = compute_fans(shape, layout="jax", in_axis=in_axis, out_axis=out_axis,
                            batch_axis=batch_axis)
        std = scaled_std(scale, "scale", mode, fans, distribution, dt) \
            if math.prod(shape) else 0.0

        def make(seed):
            out = _empty(shape, dt)
            return fill_std(out, std, distribution, seed, 0) if out.size else out
        return make
    return KeyInit("variance_scaling", plan, dtype)


def _jax_preset(name: str) -> Callable[..., KeyInit]:
    """The jax factory ``name`` of the registry: variance_scaling with the entry's preset."""
    entry = BY_JAX[name]
    assert entry.preset is not None, name
    scale, mode, distribution = entry.preset

    def factory(in_axis: int | Sequence[int] = -2, out_axis: int | Sequence[int] = -1,
                batch_axis: int | Sequence[int] = (), dtype: DTypeLike | None = None,
                ) -> KeyInit:
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis,
                                dtype)

    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = (f"jax.nn.initializers.{name} ({entry.ref}): variance_scaling("
                       f"{scale:g}, {mode!r}, {distribution!r}); {entry.law}.")
    return factory


glorot_uniform = _jax_preset("glorot_uniform")
glorot_normal = _jax_preset("glorot_normal")
he_uniform = _jax_preset("he_uniform")
he_normal = _jax_preset("he_normal")
lecun_uniform = _jax_preset("lecun_uniform")
lecun_normal = _jax_preset("lecun_normal")
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def _column_axis(column_axis, ndim):
    if not -ndim <= column_axis < ndim:
        raise ValueError(f"column_axis must be in [-{ndim}, {ndim}) for a {ndim}-D shape, "
                         f"got {column_axis}")
    return column_axis % ndim


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """jax.nn.initializers.orthogonal (Saxe et al. 2014): c = shape[column_axis] columns,
    r = numel / c rows, an r x c Haar matrix (orthonormal columns if r >= c, rows
    otherwise) times scale, reshaped with the column axis put back.  Any float dtype
    (jax fails on bfloat16/float16); complex64/complex128 give unitary frames, as jax.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import initializers as I
    >>> q = I.orthogonal()(0, (8, 3))                        # orthonormal columns
    >>> bool(np.allclose(q.T @ q, np.eye(3), atol=1e-6))
    True
    """
    scale = check_real(scale, "scale")
    column_axis = check_int(column_axis, "column_axis", None)

    def plan(shape, dtype):
        shape = check_shape(shape, "shape")
        dt = check_orthogonal_dtype(np.float32 if dtype is None else dtype)
        if len(shape) < 2:
            raise ValueError(f"orthogonal needs at least 2 dimensions, got shape {shape}")
        axis = _column_axis(column_axis, len(shape))
        check_fill_value(scale, dt, "scale")

        def fill(out, seed):
            if out.size:
                cols = out.shape[axis]
                orthogonal_fill(np.moveaxis(out, axis, -1), out.size // cols, cols, scale,
                                seed, 0)
            return out
        return lambda seed: _box_of_whole(lambda out: fill(out, seed), shape, dt)
    return KeyInit("orthogonal", plan, dtype)


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """jax.nn.initializers.delta_orthogonal (Xiao et al. 2018): a 3/4/5-D (*k, in, out)
    kernel, zero but an orthogonal (in, out) matrix times scale at the centre
    (k - 1) // 2; needs in <= out."""
    scale = check_real(scale, "scale")

    def plan(shape, dtype):
        shape, dt = check_shape(shape, "shape"), _dtype(dtype)
        delta_orthogonal_centres(shape, "jax")
        check_fill_value(scale, dt, "scale")
        return lambda seed: _box_of_whole(
            lambda out: delta_orthogonal_fill(out, scale, seed, 0, "jax"), shape, dt)
    return KeyInit("delta_orthogonal", plan, dtype)


# ---- keras classes ----

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
        shape, dt = check_shape(shape, "shape"), _dtype(dtype)
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
        shape, dt = check_shape(shape, "shape"), _dtype(dtype)
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
        shape, dt = check_shape(shape, "shape"), _dtype(dtype)
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
        shape, dt = check_shape(shape, "shape"), _dtype(dtype)
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
        out = _empty(shape, _dtype(dtype))
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
        shape, dt = check_shape(shape, "shape"), _dtype(dtype)
        if len(shape) < 2:
            raise ValueError(f"Orthogonal needs at least 2 dimensions, got shape {shape}")
        check_fill_value(self.gain, dt, "gain")
        seed, stream = self._rng()
        rows, cols = math.prod(shape[:-1]), shape[-1]
        return _box_of_whole(
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
