"""The jax.nn.initializers (and flax) factories of :mod:`fastinit.initializers`:
``init = factory(...)``, then ``init(key, shape, dtype=None) -> numpy array``.

The key rule, the layout ``(..., in, out)`` and the laws are those of
:mod:`fastinit.initializers` (its docstring); the variance-scaling presets are generated
from fastinit._registry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import DTypeLike

from . import _generate as g
from . import _laws, _output
from ._fans import compute_fans
from ._generator import Generator
from ._initializers_common import box_of_whole, float_dtype
from ._registry import BY_JAX
from ._structured import (
    check_orthogonal_dtype,
    delta_orthogonal_centres,
    delta_orthogonal_fill,
    orthogonal_fill,
)
from ._validate import check_fill_value, check_int, check_real, check_seed, check_shape
from ._variance import (
    TRUNC_REACH,
    check_law,
    check_normal_fits,
    fill_std,
    scaled_std,
    support_fits,
    value_max,
)


def seed_from_key(key) -> int:
    """The 64-bit seed of ``key``: a :class:`fastinit.Generator`'s seed, else the one rule
    of :func:`fastinit._validate.check_seed` (:mod:`fastinit.initializers`' docstring)."""
    if isinstance(key, Generator):
        return key.seed
    return check_seed(key, "key")


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
            out = _output.new_array(shape, dt)
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
        shape, dt = check_shape(shape, "shape"), float_dtype(dtype)
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
        shape, dt = check_shape(shape, "shape"), float_dtype(dtype)
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
        shape, dt = check_shape(shape, "shape"), float_dtype(dtype)
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
        shape, dt = check_shape(shape, "shape"), float_dtype(dtype)
        fans = compute_fans(shape, layout="jax", in_axis=in_axis, out_axis=out_axis,
                            batch_axis=batch_axis)
        std = scaled_std(scale, "scale", mode, fans, distribution, dt) \
            if math.prod(shape) else 0.0

        def make(seed):
            out = _output.new_array(shape, dt)
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
        return lambda seed: box_of_whole(lambda out: fill(out, seed), shape, dt)
    return KeyInit("orthogonal", plan, dtype)


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """jax.nn.initializers.delta_orthogonal (Xiao et al. 2018): a 3/4/5-D (*k, in, out)
    kernel, zero but an orthogonal (in, out) matrix times scale at the centre
    (k - 1) // 2; needs in <= out."""
    scale = check_real(scale, "scale")

    def plan(shape, dtype):
        shape, dt = check_shape(shape, "shape"), float_dtype(dtype)
        delta_orthogonal_centres(shape, "jax")
        check_fill_value(scale, dt, "scale")
        return lambda seed: box_of_whole(
            lambda out: delta_orthogonal_fill(out, scale, seed, 0, "jax"), shape, dt)
    return KeyInit("delta_orthogonal", plan, dtype)
