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
import math
import numbers
import sys

import numpy as np

from . import _generate as g
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
    return _layout_fans(g.logical_shape(arr.shape), layout)


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


# ---- plain distributions ----

def uniform_(tensor, a=0.0, b=1.0, *, seed=None, generator=None):
    """U[a, b); a <= b within the dtype's range."""
    out = as_out(tensor, device_ok=True)
    a, b = check_real(a, "a"), check_real(b, "b")
    if not a <= b:
        raise ValueError(f"a must be <= b, got a={a}, b={b}")
    if not support_fits(a, b, out.dtype):
        m = value_max(out.dtype)
        raise ValueError(f"a and b must lie in {out.dtype.name}'s range [-{m:g}, {m:g}] with "
                         f"b - a <= {work_max(out.dtype):g}, got a={a:g}, b={b:g}")
    law = g._uniform_params(a, b, out.dtype)
    seed, stream = resolve_rng(seed, generator)
    g.fill_out(g.DIST_UNIFORM, out, law, seed, stream)
    return tensor


def normal_(tensor, mean=0.0, std=1.0, *, seed=None, generator=None):
    """N(mean, std^2); std >= 0, every draw (within mean +- 6.661 std, 8.572 in float64)
    finite in the dtype."""
    out = as_out(tensor, device_ok=True)
    mean, std = _check_normal(mean, std, out.dtype)
    law = g._normal_params(mean, std, out.dtype)
    seed, stream = resolve_rng(seed, generator)
    g.fill_out(g.DIST_NORMAL, out, law, seed, stream)
    return tensor


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, *, seed=None, generator=None):
    """N(mean, std^2) truncated to [a, b]; a and b are absolute values (torch), so
    ``trunc_normal_(w, std=0.02)`` cuts at +-100 std.  Exact single-pass inverse CDF (no
    clamping, no redraw loop), correct in bfloat16.  std > 0, a < b (a = -inf and b = inf
    allowed: ``a=0, b=math.inf`` is the half normal), and the draws' range
    [max(a, mean - 40 std), min(b, mean + 40 std)] within the dtype's."""
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
        law = g._truncnormal_params(mean, std, a, b, out.dtype)
    except ValueError as exc:
        raise ValueError(f"trunc_normal_(mean={mean:g}, std={std:g}, a={a:g}, b={b:g}): "
                         f"{exc}") from None
    seed, stream = resolve_rng(seed, generator)
    g.fill_out(g.DIST_TRUNCNORMAL, out, law, seed, stream)
    return tensor


def constant_(tensor, val, *, seed=None):
    """Every element = val, a finite number the dtype holds (any dtype; a float into an
    integer tensor truncates as numpy casts).  ``seed`` is accepted and ignored (the law
    is deterministic), as in :func:`ones_`, :func:`zeros_`, :func:`eye_`, :func:`dirac_`."""
    out = as_out(tensor, float_only=False)
    check_fill_value(val, out.dtype, "val", allow_nonfinite=True)
    ignored_seed(seed)
    out[...] = val
    return tensor


def ones_(tensor, *, seed=None):
    """Every element = 1 (``seed`` ignored)."""
    return constant_(tensor, 1, seed=seed)


def zeros_(tensor, *, seed=None):
    """Every element = 0 (``seed`` ignored)."""
    return constant_(tensor, 0, seed=seed)


def eye_(tensor, *, seed=None):
    """The 2-D identity (rectangular allowed), as torch.eye (``seed`` ignored)."""
    out = as_out(tensor, float_only=False)
    ignored_seed(seed)
    eye_fill(out)
    return tensor


def dirac_(tensor, groups=1, *, gain=1.0, centre="torch", seed=None):
    """Dirac delta of a 3/4/5-D conv weight (out, in, *k): out[g*O/groups + d, d, c...] =
    gain, c = k // 2 (torch; centre="jax" gives (k - 1) // 2, which differs for even k).
    ``seed`` ignored."""
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


def variance_scaling_(tensor, scale=1.0, mode="fan_in", distribution="truncated_normal", *,
                      layout="torch", seed=None, generator=None):
    """Var(w) = scale / n, n = fan_in, fan_out, fan_avg or fan_geo_avg of ``layout``
    (fastinit._variance); distribution "truncated_normal" (+-2 std, rescaled by
    0.87962566103423978 as jax/keras), "normal" or "uniform".  scale >= 0, small enough
    that every draw is finite in the dtype (the error gives the bound)."""
    return _variance_scaling(tensor, "scale", scale, False, mode, distribution, layout, seed,
                             generator)


def _xavier_law(gain=1.0):
    return "gain", gain, True, "fan_avg"


A_MAX = math.sqrt(sys.float_info.max)  # the largest |a| whose a**2 is finite


_KAIMING_LAWS: dict = {}  # (type(a), a, mode, nonlinearity) -> a law that passed the checks


def _kaiming_law(a=0, mode="fan_in", nonlinearity="leaky_relu"):
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
                and not abs(a) < A_MAX:
            raise ValueError(f"a (the negative slope) must be finite with |a| < {A_MAX:.4g} "
                             f"(a**2 finite), got {a}")
        a = check_real(a, "a")
    return "gain", calculate_gain(nonlinearity, a), True, mode


def xavier_uniform_(tensor, gain=1.0, *, seed=None, generator=None):
    """Glorot & Bengio (2010): U[-b, b), b = gain * sqrt(6 / (fan_in + fan_out)); gain >= 0."""
    return _variance_scaling(tensor, *_xavier_law(gain), "uniform", "torch", seed, generator)


def xavier_normal_(tensor, gain=1.0, *, seed=None, generator=None):
    """Glorot & Bengio (2010), torch's form: N(0, std^2), std = gain * sqrt(2 / (fan_in +
    fan_out)), untruncated (jax/keras glorot_normal is truncated); gain >= 0."""
    return _variance_scaling(tensor, *_xavier_law(gain), "normal", "torch", seed, generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", *, seed=None,
                     generator=None):
    """He et al. (2015): U[-b, b), b = gain * sqrt(3 / fan_mode), gain =
    calculate_gain(nonlinearity, a) (default sqrt(2): He/ReLU)."""
    return _variance_scaling(tensor, *_kaiming_law(a, mode, nonlinearity), "uniform", "torch",
                             seed, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", *, seed=None,
                    generator=None):
    """He et al. (2015): N(0, std^2), std = gain / sqrt(fan_mode), untruncated."""
    return _variance_scaling(tensor, *_kaiming_law(a, mode, nonlinearity), "normal", "torch",
                             seed, generator)


def lecun_uniform_(tensor, *, seed=None, generator=None):
    """LeCun et al. (1998): U[-b, b), b = sqrt(3 / fan_in)."""
    return variance_scaling_(tensor, 1.0, "fan_in", "uniform", seed=seed, generator=generator)


def lecun_normal_(tensor, *, seed=None, generator=None):
    """LeCun et al. (1998), as jax/keras and for SELU nets (Klambauer et al. 2017):
    truncated normal with std sqrt(1 / fan_in) after truncation at +-2 std."""
    return variance_scaling_(tensor, 1.0, "fan_in", "truncated_normal", seed=seed,
                             generator=generator)


def orthogonal_(tensor, gain=1.0, *, seed=None, generator=None, batch_dims=0):
    """Saxe et al. (2014): gain times a Haar-distributed orthogonal matrix (Mezzadri 2007
    sign correction), rows = shape[0], cols = the rest flattened (torch); orthonormal
    rows if rows <= cols, else orthonormal columns.  Stewart's (1980) method over
    LAPACK (fastinit/_linalg.pyx).  Any float dtype (float16/bfloat16 computed in float32,
    then rounded); complex64/complex128 give Haar unitary matrices; zero-size: no-op.
    ``batch_dims=k``: the first k axes index a batch of independent matrices, generated
    in parallel."""
    out = as_out(tensor, complex_ok=True, device_ok=True)
    gain = check_fill_value(gain, out.dtype, "gain")
    if not isinstance(batch_dims, int) or isinstance(batch_dims, bool) or batch_dims < 0:
        raise ValueError(f"batch_dims must be a non-negative int, got {batch_dims!r}")
    shape = g.logical_shape(out.shape)
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

        if g.current_box() is not None:
            raise ValueError("orthogonal_ of a CUDA shard: build it on the host")
        cuda.orthogonal_fill(out, rows, cols, gain, seed, stream)
        return tensor
    fill_whole_then_box(out, lambda o: orthogonal_fill(o, rows, cols, gain, seed, stream))
    return tensor


def delta_orthogonal_(tensor, gain=1.0, *, centre="jax", seed=None, generator=None):
    """Xiao et al. (2018), jax's layout (*k, in, out): zero except an orthogonal (in, out)
    matrix times gain at the centre (k - 1) // 2 (centre="torch": k // 2)."""
    out = as_out(tensor)
    delta_orthogonal_centres(g.logical_shape(out.shape), centre)
    check_fill_value(gain, out.dtype, "gain")
    seed, stream = resolve_rng(seed, generator)
    fill_whole_then_box(out, lambda o: delta_orthogonal_fill(o, gain, seed, stream, centre))
    return tensor


def sparse_(tensor, sparsity, std=0.01, *, seed=None, generator=None):
    """Martens (2010), torch semantics: N(0, std^2) with exactly ceil(sparsity * rows)
    zeros per column, chosen uniformly; unlike torch the mask follows the seed and is
    drawn without a Python loop."""
    out = as_out(tensor)
    if out.ndim != 2:
        raise ValueError(f"sparse needs a 2-D tensor, got {out.ndim} dimensions")
    check_sparsity(sparsity)
    _check_normal(0.0, std, out.dtype)
    seed, stream = resolve_rng(seed, generator)
    fill_whole_then_box(out, lambda o: sparse_fill(o, sparsity, std, seed, stream))
    return tensor


# ---- torch layers' own defaults ----

def torch_linear_default_(weight, bias=None, *, seed=None, generator=None):
    """What nn.Linear.reset_parameters draws: weight kaiming_uniform_(a=sqrt(5)), i.e.
    U(+-1/sqrt(fan_in)); bias U(+-1/sqrt(fan_in)).  Weight and bias take one stream each."""
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


def embedding_default_(weight, padding_idx=None, *, seed=None, generator=None):
    """What nn.Embedding.reset_parameters draws: N(0, 1), row padding_idx zeroed (the
    global row inside a :func:`fastinit.shard` block)."""
    out = as_out(weight)
    rows = g.logical_shape(out.shape)[0] if out.ndim else 0
    if padding_idx is not None and not (isinstance(padding_idx, numbers.Integral)
                                        and not isinstance(padding_idx, bool) and
                                        -rows <= padding_idx < rows):
        raise ValueError(f"padding_idx must be an int in [-{rows}, {rows}), got {padding_idx!r}")
    normal_(weight, 0.0, 1.0, seed=seed, generator=generator)
    if padding_idx is not None:
        box = g.current_box()
        row = padding_idx % rows - (0 if box is None else box[1][0])
        if 0 <= row < out.shape[0]:
            out[row] = 0
    return weight


# ---- functional twins ----

def _functional(fill, doc_of):
    def twin(shape, *args, seed, dtype=np.float32, **kw):
        out = _new(shape, dtype)
        fill(out, *args, seed=seed, **kw)
        return out

    twin.__name__ = fill.__name__.rstrip("_")
    twin.__qualname__ = twin.__name__
    twin.__doc__ = (f"New array of ``shape`` and ``dtype`` filled as :func:`{doc_of}` "
                    "(``seed`` required).")
    return twin


uniform = _functional(uniform_, "uniform_")
normal = _functional(normal_, "normal_")
trunc_normal = _functional(trunc_normal_, "trunc_normal_")


def orthogonal(shape, gain=1.0, *, seed, dtype=np.float32, batch_dims=0):
    """A new array as :func:`orthogonal_` (``dtype`` may be complex64/complex128)."""
    out = np.empty(check_shape(shape, "shape"), check_orthogonal_dtype(dtype))
    return orthogonal_(out, gain, seed=seed, batch_dims=batch_dims)


delta_orthogonal = _functional(delta_orthogonal_, "delta_orthogonal_")
sparse = _functional(sparse_, "sparse_")
lecun_uniform = _functional(lecun_uniform_, "lecun_uniform_")
lecun_normal = _functional(lecun_normal_, "lecun_normal_")


def _layout_twin(name, law, distribution):
    def twin(shape, *args, seed, dtype=np.float32, layout="torch", **kw):
        return _variance_scaling(_new(shape, dtype), *law(*args, **kw), distribution, layout,
                                 seed, None)

    twin.__name__ = twin.__qualname__ = name
    return twin


xavier_uniform = _layout_twin("xavier_uniform", _xavier_law, "uniform")
xavier_normal = _layout_twin("xavier_normal", _xavier_law, "normal")
kaiming_uniform = _layout_twin("kaiming_uniform", _kaiming_law, "uniform")
kaiming_normal = _layout_twin("kaiming_normal", _kaiming_law, "normal")
xavier_uniform.__doc__ = ("``xavier_uniform(shape, gain=1.0, *, seed, dtype=np.float32, "
                          "layout='torch')``: a new array as :func:`xavier_uniform_`, fans "
                          "read in ``layout``.")
xavier_normal.__doc__ = "As :func:`xavier_uniform` for :func:`xavier_normal_`."
kaiming_uniform.__doc__ = "As :func:`xavier_uniform` for :func:`kaiming_uniform_`."
kaiming_normal.__doc__ = "As :func:`xavier_uniform` for :func:`kaiming_normal_`."


def variance_scaling(shape, scale=1.0, mode="fan_in", distribution="truncated_normal", *,
                     seed, dtype=np.float32, layout="torch"):
    """A new array as :func:`variance_scaling_`."""
    return variance_scaling_(_new(shape, dtype), scale, mode, distribution, layout=layout,
                             seed=seed)


def constant(shape, val, *, dtype=np.float32):
    """A new array as :func:`constant_` (np.full with torch's name)."""
    return constant_(np.empty(check_shape(shape, "shape"), dtype), val)


def zeros(shape, *, dtype=np.float32):
    """np.zeros with torch's name."""
    return constant(shape, 0, dtype=dtype)


def ones(shape, *, dtype=np.float32):
    """np.ones with torch's name."""
    return constant(shape, 1, dtype=dtype)


def eye(shape, *, dtype=np.float32):
    """A new array as :func:`eye_`."""
    return eye_(np.empty(check_shape(shape, "shape"), dtype))


def dirac(shape, groups=1, *, dtype=np.float32, gain=1.0, centre="torch"):
    """A new array as :func:`dirac_`."""
    return dirac_(np.empty(check_shape(shape, "shape"), dtype), groups, gain=gain,
                  centre=centre)
