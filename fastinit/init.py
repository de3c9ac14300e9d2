"""torch.nn.init's names, signatures and semantics, on numpy arrays and DLPack tensors.

In-place functions end in ``_``, fill ``tensor`` (a numpy array or any writeable CPU
DLPack provider, shared, not copied) and return it.  Each has a functional twin without the
underscore that returns a new array: ``xavier_uniform(shape, gain=1.0, *, seed, dtype=np.float32,
layout="torch")``.  Randomness: ``seed=`` (stream 0 of that seed), ``generator=`` (a
:class:`fastinit.Generator`, next stream per call) or neither (the global generator, see
:func:`manual_seed`).  The deterministic fills (``constant_``, ``ones_``, ``zeros_``,
``eye_``, ``dirac_``, ``zero_gamma_``) accept ``seed=`` and ignore it, so every in-place
function is a recipe ``fn(array, seed=...)``.  A bad argument (NaN, inf, out of its range,
or too large for the draws to stay finite in the tensor's dtype) raises a ValueError or
TypeError naming it and its accepted range, before anything is written.

Torch's semantics, which differ from jax/keras (see :mod:`fastinit.initializers`):
weights read as ``(out, in, *kernel)``; ``xavier_normal_``/``kaiming_normal_`` are
untruncated normals; ``trunc_normal_`` bounds ``a``, ``b`` are absolute values, not
multiples of std; gains, not scales (scale = gain^2).  Unlike torch, values follow the
logical (row-major) index whatever the memory layout, the truncated normal is exact in any
dtype, orthogonal works in float16/bfloat16, and ``sparse_``'s mask follows the seed.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import numbers
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from . import _fill, _laws, _shard
from ._fans import calculate_gain, compute_fans
from ._generator import Generator
from ._structured import (
    check_orthogonal_dtype,
    check_sparsity,
    delta_orthogonal_centres,
    delta_orthogonal_fill,
    dirac_fill,
    eye_fill,
    fill_whole_then_box,
    orthogonal_fill,
    sparse_fill,
)
from ._theory_scales import (
    attention_qk_std,
    deepnorm_scales,
    dropout_corrected_std,
    fixup_scale,
    mahalanobis_normal_,
    multi_branch_stds,
    optimistic_bias_,
    zero_gamma_,
)
from ._validate import (
    check_fill_value,
    check_float_dtype,
    check_int,
    check_real,
    check_shape,
    value_max,
)
from ._variance import (
    TRUNC_REACH,
    as_out,
    check_law,
    check_normal_fits,
    fill_std,
    ignored_seed,
    manual_seed,
    resolve_rng,
    scaled_std,
    support_fits,
    warn_if_empty,
    work_max,
)

__all__ = [
    "attention_qk_std", "calculate_gain", "compute_fans", "constant", "constant_",
    "deepnorm_scales", "delta_orthogonal", "delta_orthogonal_", "dirac", "dirac_",
    "dropout_corrected_std", "embedding_default_", "eye", "eye_", "fixup_scale",
    "kaiming_normal", "kaiming_normal_", "kaiming_uniform", "kaiming_uniform_",
    "lecun_normal", "lecun_normal_", "lecun_uniform", "lecun_uniform_",
    "mahalanobis_normal_", "manual_seed", "multi_branch_stds", "normal", "normal_",
    "ones", "ones_", "optimistic_bias_", "orthogonal", "orthogonal_", "sparse", "sparse_",
    "torch_conv_default_", "torch_linear_default_", "trunc_normal", "trunc_normal_",
    "uniform", "uniform_", "variance_scaling", "variance_scaling_", "xavier_normal",
    "xavier_normal_", "xavier_uniform", "xavier_uniform_", "zero_gamma_", "zeros",
    "zeros_",
]


def _new(shape, dtype, name="shape"):
    return np.empty(check_shape(shape, name), check_float_dtype(dtype))


def _fans(arr, layout="torch"):
    return _layout_fans(_shard.logical_shape(arr.shape), layout)


@functools.lru_cache(maxsize=4096)
def _layout_fans(shape, layout):
    return compute_fans(shape, layout=layout)


def _check_mode(mode):
    if not isinstance(mode, str) or mode.lower() not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out' (any case), got {mode!r}")
    return mode.lower()


def _check_normal(mean, std, dtype):
    """mean and std of N(mean, std^2) whose every draw is finite in ``dtype``."""
    mean, std = check_real(mean, "mean"), check_real(std, "std")
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    check_normal_fits(mean, std, dtype, "mean and std")
    return mean, std


T = TypeVar("T")  # the tensor an in-place fill returns: the one it was given
Seed = int | None  # an int in [0, 2**64); None: the generator's next stream, else the global


# ---- plain distributions ----

def uniform_(tensor: T, a: float = 0.0, b: float = 1.0, *, seed: Seed = None,
             generator: Generator | None = None) -> T:
    """Fill ``tensor`` with U[a, b) in place and return it.

    Parameters
    ----------
    tensor : numpy.ndarray or a writeable CPU DLPack tensor
        Filled in place (float16, bfloat16, float32 or float64).
    a, b : float
        Bounds, a <= b within the dtype's range.
    seed : int in [0, 2**64), optional
        Draw from stream 0 of this seed.
    generator : fastinit.Generator, optional
        Draw from its next stream; with neither, the global generator
        (:func:`manual_seed`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = np.empty((2, 3), np.float32)
    >>> init.uniform_(w, -1.0, 1.0, seed=0) is w
    True
    >>> w.astype(float).round(4).tolist()
    [[-0.2019, 0.761, 0.4714], [0.211, 0.9445, -0.2758]]
    """
    out = as_out(tensor, device_ok=True)
    a, b = check_real(a, "a"), check_real(b, "b")
    if not a <= b:
        raise ValueError(f"a must be <= b, got a={a}, b={b}")
    if not support_fits(a, b, out.dtype):
        m = value_max(out.dtype)
        raise ValueError(f"a and b must lie in {out.dtype.name}'s range [-{m:g}, {m:g}] with "
                         f"b - a <= {work_max(out.dtype):g}, got a={a:g}, b={b:g}")
    law = _laws._uniform_params(a, b, out.dtype)
    seed, stream = resolve_rng(seed, generator)
    _fill.fill_out(_laws.DIST_UNIFORM, out, law, seed, stream)
    return tensor


def normal_(tensor: T, mean: float = 0.0, std: float = 1.0, *, seed: Seed = None,
            generator: Generator | None = None) -> T:
    """Fill ``tensor`` with N(mean, std^2) in place and return it.

    Parameters
    ----------
    tensor : numpy.ndarray or a writeable CPU DLPack tensor
        Filled in place.
    mean, std : float
        std >= 0, every draw (within mean +- 6.661 std, 8.572 in float64) finite in the
        dtype.
    seed : int in [0, 2**64), optional
        Draw from stream 0 of this seed.
    generator : fastinit.Generator, optional
        Draw from its next stream; with neither, the global generator
        (:func:`manual_seed`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = np.empty(4, np.float32)
    >>> init.normal_(w, 0.0, 0.02, seed=0).astype(float).round(4).tolist()
    [0.0198, -0.0185, -0.0124, -0.0096]
    """
    out = as_out(tensor, device_ok=True)
    mean, std = _check_normal(mean, std, out.dtype)
    law = _laws._normal_params(mean, std, out.dtype)
    seed, stream = resolve_rng(seed, generator)
    _fill.fill_out(_laws.DIST_NORMAL, out, law, seed, stream)
    return tensor


def trunc_normal_(tensor: T, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, *, seed: Seed = None,
                  generator: Generator | None = None) -> T:
    """N(mean, std^2) truncated to [a, b]; a and b are absolute values (torch), so
    ``trunc_normal_(w, std=0.02)`` cuts at +-100 std.  Exact single-pass inverse CDF (no
    clamping, no redraw loop), correct in bfloat16.  std > 0, a < b (a = -inf and b = inf
    allowed: ``a=0, b=math.inf`` is the half normal), and the draws' range
    [max(a, mean - 40 std), min(b, mean + 40 std)] within the dtype's.

    Parameters
    ----------
    tensor : numpy.ndarray or a writeable CPU DLPack tensor
        Filled in place.
    mean, std : float
        Of the untruncated normal, std > 0.
    a, b : float
        Absolute bounds, a < b; -inf and inf allowed.
    seed : int in [0, 2**64), optional
        Draw from stream 0 of this seed.
    generator : fastinit.Generator, optional
        Draw from its next stream; with neither, the global generator
        (:func:`manual_seed`).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = np.empty(4, np.float32)
    >>> init.trunc_normal_(w, std=0.02, seed=0).astype(float).round(4).tolist()
    [-0.0051, 0.0236, 0.0126, 0.0054]
    """
    out = as_out(tensor, device_ok=True)
    mean, std = check_real(mean, "mean"), check_real(std, "std")
    a, b = check_real(a, "a", allow_inf=True), check_real(b, "b", allow_inf=True)
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    if not a < b:
        raise ValueError(f"a must be < b, got a={a}, b={b}")
    lo, hi = max(a, mean - TRUNC_REACH * std), min(b, mean + TRUNC_REACH * std)
    if lo <= hi and not support_fits(lo, hi, out.dtype):
        m = value_max(out.dtype)
        raise ValueError(
            f"a, b, mean and std must keep the draws' range [max(a, mean - 40 std), "
            f"min(b, mean + 40 std)] = [{lo:g}, {hi:g}] within {out.dtype.name}'s range "
            f"[-{m:g}, {m:g}]"
        )
    try:
        law = _laws._truncnormal_params(mean, std, a, b, out.dtype)
    except ValueError as exc:
        raise ValueError(f"trunc_normal_(mean={mean:g}, std={std:g}, a={a:g}, b={b:g}): "
                         f"{exc}") from None
    seed, stream = resolve_rng(seed, generator)
    _fill.fill_out(_laws.DIST_TRUNCNORMAL, out, law, seed, stream)
    return tensor


def constant_(tensor: T, val: complex, *, seed: Seed = None) -> T:
    """Every element = val, a finite number the dtype holds (any dtype; a float into an
    integer tensor truncates as numpy casts).  ``seed`` is accepted and ignored (the law
    is deterministic), as in :func:`ones_`, :func:`zeros_`, :func:`eye_`, :func:`dirac_`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.constant_(np.empty(3, np.float32), 0.5).tolist()
    [0.5, 0.5, 0.5]
    """
    out = as_out(tensor, float_only=False)
    check_fill_value(val, out.dtype, "val", allow_nonfinite=True)
    ignored_seed(seed)
    out[...] = val
    return tensor


def ones_(tensor: T, *, seed: Seed = None) -> T:
    """Every element = 1 (``seed`` ignored).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.ones_(np.empty(2, np.float32)).tolist()
    [1.0, 1.0]
    """
    return constant_(tensor, 1, seed=seed)


def zeros_(tensor: T, *, seed: Seed = None) -> T:
    """Every element = 0 (``seed`` ignored).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.zeros_(np.empty(2, np.float32)).tolist()
    [0.0, 0.0]
    """
    return constant_(tensor, 0, seed=seed)


def eye_(tensor: T, *, seed: Seed = None) -> T:
    """The 2-D identity (rectangular allowed), as torch.eye (``seed`` ignored).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.eye_(np.empty((2, 3), np.float32)).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    out = as_out(tensor, float_only=False)
    ignored_seed(seed)
    eye_fill(out)
    return tensor


def dirac_(tensor: T, groups: int = 1, *, gain: float = 1.0, centre: str = "torch",
           seed: Seed = None) -> T:
    """Dirac delta of a 3/4/5-D conv weight ``(out, in, *k)``:
    ``out[g*O/groups + d, d, c...] = gain``, c = k // 2 (torch; centre="jax" gives
    (k - 1) // 2, which differs for even k).
    ``seed`` ignored.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.dirac_(np.empty((2, 2, 3), np.float32)).tolist()
    [[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]
    """
    out = as_out(tensor, float_only=False)
    check_fill_value(gain, out.dtype, "gain")
    ignored_seed(seed)
    dirac_fill(out, groups, gain, centre)
    return tensor


# ---- variance scaling and its thin layers ----

def _variance_scaling(tensor, name, value, gain, mode, distribution, layout, seed,
                      generator):
    """out <- zero-mean draws of ``distribution`` with Var = scale / fan(mode), scale =
    ``value`` (the caller's argument ``name``), or value**2 when ``gain``; every error
    names ``name`` (fastinit._variance.scaled_std)."""
    out = as_out(tensor, device_ok=True)
    check_law(value, name, mode, distribution)
    fans = _fans(out, layout)
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


def orthogonal_(tensor: T, gain: float = 1.0, *, seed: Seed = None,
                generator: Generator | None = None, batch_dims: int = 0) -> T:
    """Saxe et al. (2014): gain times a Haar-distributed orthogonal matrix (Mezzadri 2007
    sign correction), rows = shape[0], cols = the rest flattened (torch); orthonormal
    rows if rows <= cols, else orthonormal columns.  Stewart's (1980) method over
    LAPACK (fastinit/_linalg.pyx).  Any float dtype (float16/bfloat16 computed in float32,
    then rounded); complex64/complex128 give Haar unitary matrices; zero-size: no-op.
    ``batch_dims=k``: the first k axes index a batch of independent matrices, generated
    in parallel.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> q = init.orthogonal_(np.empty((3, 5), np.float32), seed=0)
    >>> bool(np.allclose(q @ q.T, np.eye(3), atol=1e-6))
    True
    """
    out = as_out(tensor, complex_ok=True, device_ok=True)
    gain = check_fill_value(gain, out.dtype, "gain")
    if not isinstance(batch_dims, int) or isinstance(batch_dims, bool) or batch_dims < 0:
        raise ValueError(f"batch_dims must be a non-negative int, got {batch_dims!r}")
    shape = _shard.logical_shape(out.shape)
    if len(shape) - batch_dims < 2:
        raise ValueError(
            f"orthogonal needs at least 2 dimensions per matrix, got shape {out.shape} "
            f"with batch_dims={batch_dims}"
        )
    if out.size == 0:
        return tensor
    rows = shape[batch_dims]
    cols = math.prod(shape[batch_dims + 1:])
    seed, stream = resolve_rng(seed, generator)
    if not isinstance(out, np.ndarray):  # a CUDA tensor (backends.cuda.DeviceOut)
        from .backends import cuda

        if _shard.current_box() is not None:
            raise ValueError("orthogonal_ of a CUDA shard: build it on the host")
        cuda.orthogonal_fill(out, rows, cols, gain, seed, stream)
        return tensor
    fill_whole_then_box(out, lambda o: orthogonal_fill(o, rows, cols, gain, seed, stream))
    return tensor


def delta_orthogonal_(tensor: T, gain: float = 1.0, *, centre: str = "jax", seed: Seed = None,
                      generator: Generator | None = None) -> T:
    """Xiao et al. (2018), jax's layout ``(*k, in, out)``: zero except an orthogonal (in, out)
    matrix times gain at the centre (k - 1) // 2 (centre="torch": k // 2).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> k = init.delta_orthogonal_(np.empty((3, 3, 4, 8), np.float32), seed=0)
    >>> bool(np.allclose(k[1, 1] @ k[1, 1].T, np.eye(4), atol=1e-6)), float(abs(k[0]).max())
    (True, 0.0)
    """
    out = as_out(tensor)
    delta_orthogonal_centres(_shard.logical_shape(out.shape), centre)
    check_fill_value(gain, out.dtype, "gain")
    seed, stream = resolve_rng(seed, generator)
    fill_whole_then_box(out, lambda o: delta_orthogonal_fill(o, gain, seed, stream, centre))
    return tensor


def sparse_(tensor: T, sparsity: float, std: float = 0.01, *, seed: Seed = None,
            generator: Generator | None = None) -> T:
    """Martens (2010), torch semantics: N(0, std^2) with exactly ceil(sparsity * rows)
    zeros per column, chosen uniformly; unlike torch the mask follows the seed and is
    drawn without a Python loop.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w = init.sparse_(np.empty((10, 4), np.float32), 0.3, seed=0)
    >>> (w == 0).sum(axis=0).tolist()                  # ceil(0.3 * 10) per column
    [3, 3, 3, 3]
    """
    out = as_out(tensor)
    if out.ndim != 2:
        raise ValueError(f"sparse needs a 2-D tensor, got {out.ndim} dimensions")
    check_sparsity(sparsity)
    _check_normal(0.0, std, out.dtype)
    seed, stream = resolve_rng(seed, generator)
    fill_whole_then_box(out, lambda o: sparse_fill(o, sparsity, std, seed, stream))
    return tensor


# ---- torch layers' own defaults ----

def torch_linear_default_(weight: T, bias: Any = None, *, seed: Seed = None,
                          generator: Generator | None = None) -> T:
    """What nn.Linear.reset_parameters draws: weight kaiming_uniform_(a=sqrt(5)), i.e.
    U(+-1/sqrt(fan_in)); bias U(+-1/sqrt(fan_in)).  Weight and bias take one stream each.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w, b = np.empty((4, 3), np.float32), np.empty(4, np.float32)
    >>> _ = init.torch_linear_default_(w, b, seed=0)
    >>> bool(abs(w).max() <= 3 ** -0.5 and abs(b).max() <= 3 ** -0.5)
    True
    """
    if seed is not None:
        if generator is not None:
            raise TypeError("pass seed or generator, not both")
        generator = Generator(seed)
    w = as_out(weight, device_ok=True)
    fan_in = _fans(w)[0]
    if bias is not None:
        as_out(bias, "bias", device_ok=True)
    kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound, generator=generator)
    return weight


torch_conv_default_ = torch_linear_default_  # nn.ConvNd.reset_parameters draws the same


def embedding_default_(weight: T, padding_idx: int | None = None, *, seed: Seed = None,
                       generator: Generator | None = None) -> T:
    """What nn.Embedding.reset_parameters draws: N(0, 1), row padding_idx zeroed (the
    global row inside a :func:`fastinit.shard` block).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> e = init.embedding_default_(np.empty((5, 3), np.float32), padding_idx=0, seed=0)
    >>> e[0].tolist()
    [0.0, 0.0, 0.0]
    """
    out = as_out(weight)
    rows = _shard.logical_shape(out.shape)[0] if out.ndim else 0
    if padding_idx is not None:
        check_int(padding_idx, "padding_idx", -rows, rows)
    normal_(weight, 0.0, 1.0, seed=seed, generator=generator)
    if padding_idx is not None:
        box = _shard.current_box()
        row = padding_idx % rows - (0 if box is None else box[1][0])
        if 0 <= row < out.shape[0]:
            out[row] = 0
    return weight


# ---- functional twins ----

def _twin_signature(fill, **extra):
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


def _functional(fill, doc_of, example):
    """The twin of in-place ``fill``; ``example`` its docstring's doctest (the twin's
    values equal the fill's on an empty array of the same shape and dtype)."""
    def twin(shape, *args, seed, dtype=np.float32, **kw):
        out = _new(shape, dtype)
        fill(out, *args, seed=seed, **kw)
        return out

    twin.__name__ = fill.__name__.rstrip("_")
    twin.__qualname__ = twin.__name__
    twin.__signature__ = _twin_signature(fill)  # type: ignore[attr-defined]
    twin.__doc__ = (f"New array of ``shape`` and ``dtype`` filled as :func:`{doc_of}` "
                    "(``seed`` required).\n\nExamples\n--------\n"
                    ">>> import numpy as np\n>>> from fastinit import init\n" + example)
    return twin


uniform = _functional(uniform_, "uniform_", """\
>>> w = init.uniform((2, 3), -1.0, 1.0, seed=0)
>>> bool(np.array_equal(w, init.uniform_(np.empty((2, 3), np.float32), -1.0, 1.0, seed=0)))
True
""")
normal = _functional(normal_, "normal_", """\
>>> w = init.normal((4,), 0.0, 0.02, seed=0, dtype=np.float64)
>>> w.dtype, bool(abs(w).max() < 0.1)
(dtype('float64'), True)
""")
trunc_normal = _functional(trunc_normal_, "trunc_normal_", """\
>>> w = init.trunc_normal((1000,), std=1.0, a=-0.5, b=0.5, seed=0)
>>> bool(w.min() >= -0.5 and w.max() <= 0.5)
True
""")


def orthogonal(shape, gain=1.0, *, seed, dtype=np.float32, batch_dims=0):
    """A new array as :func:`orthogonal_` (``dtype`` may be complex64/complex128).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> u = init.orthogonal((4, 4), seed=0, dtype=np.complex128)
    >>> bool(np.allclose(u @ u.conj().T, np.eye(4)))
    True
    """
    out = np.empty(check_shape(shape, "shape"), check_orthogonal_dtype(dtype))
    return orthogonal_(out, gain, seed=seed, batch_dims=batch_dims)


delta_orthogonal = _functional(delta_orthogonal_, "delta_orthogonal_", """\
>>> w = init.delta_orthogonal((3, 4, 4), seed=0)  # (k, in, out), centre (k - 1) // 2
>>> bool(np.allclose(w[1] @ w[1].T, np.eye(4), atol=1e-6)), bool((w[0] == 0).all())
(True, True)
""")
sparse = _functional(sparse_, "sparse_", """\
>>> w = init.sparse((10, 4), 0.3, seed=0)
>>> (w == 0).sum(axis=0).tolist()  # ceil(0.3 * 10) zeros per column
[3, 3, 3, 3]
""")
lecun_uniform = _functional(lecun_uniform_, "lecun_uniform_", """\
>>> w = init.lecun_uniform((64, 48), seed=0)
>>> bool(abs(w).max() < (3 / 48) ** 0.5)
True
""")
lecun_normal = _functional(lecun_normal_, "lecun_normal_", """\
>>> w = init.lecun_normal((256, 400), seed=0)
>>> round(float(w.std() * 400 ** 0.5), 1)
1.0
""")


def _layout_twin(name: str, law: Callable[..., _Law], distribution: str,
                 fill: Callable[..., Any]) -> Callable[..., np.ndarray]:
    def twin(shape, *args, seed, dtype=np.float32, layout="torch", **kw):
        return _variance_scaling(_new(shape, dtype), *law(*args, **kw), distribution, layout,
                                 seed, None)

    twin.__name__ = twin.__qualname__ = name
    twin.__signature__ = _twin_signature(fill, layout="torch")  # type: ignore[attr-defined]
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
    return variance_scaling_(_new(shape, dtype), scale, mode, distribution, layout=layout,
                             seed=seed)


def constant(shape, val, *, dtype=np.float32):
    """A new array as :func:`constant_` (np.full with torch's name).

    Examples
    --------
    >>> from fastinit import init
    >>> init.constant((2,), 0.5).tolist()
    [0.5, 0.5]
    """
    return constant_(np.empty(check_shape(shape, "shape"), dtype), val)


def zeros(shape, *, dtype=np.float32):
    """np.zeros with torch's name.

    Examples
    --------
    >>> from fastinit import init
    >>> init.zeros((2,)).tolist()
    [0.0, 0.0]
    """
    return constant(shape, 0, dtype=dtype)


def ones(shape, *, dtype=np.float32):
    """np.ones with torch's name.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.ones((2,), dtype=np.int32).tolist()
    [1, 1]
    """
    return constant(shape, 1, dtype=dtype)


def eye(shape, *, dtype=np.float32):
    """A new array as :func:`eye_`.

    Examples
    --------
    >>> from fastinit import init
    >>> init.eye((2, 2)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return eye_(np.empty(check_shape(shape, "shape"), dtype))


def dirac(shape, groups=1, *, dtype=np.float32, gain=1.0, centre="torch"):
    """A new array as :func:`dirac_`.

    Examples
    --------
    >>> from fastinit import init
    >>> init.dirac((1, 1, 3)).tolist()
    [[[0.0, 1.0, 0.0]]]
    """
    return dirac_(np.empty(check_shape(shape, "shape"), dtype), groups, gain=gain,
                  centre=centre)
