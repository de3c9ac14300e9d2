"""torch.nn.init's names, signatures and semantics, on numpy arrays and DLPack tensors.

In-place functions end in ``_``, fill ``tensor`` (a numpy array or any writeable CPU
DLPack provider, shared, not copied) and return it.  Each has a functional twin without the
underscore that returns a new array: ``xavier_uniform(shape, gain=1.0, *, seed, dtype=np.float32,
layout="torch")``.  Randomness: ``seed=`` (stream 0 of that seed), ``generator=`` (a
:class:`fastinit.Generator`, next stream per call) or neither (the global generator, see
:func:`manual_seed`).

Torch's semantics, which differ from jax/keras (see :mod:`fastinit.initializers`):
weights read as ``(out, in, *kernel)``; ``xavier_normal_``/``kaiming_normal_`` are
untruncated normals; ``trunc_normal_`` bounds ``a``, ``b`` are absolute values, not
multiples of std; gains, not scales (scale = gain^2).  Unlike torch, values follow the
logical (row-major) index whatever the memory layout, the truncated normal is exact in any
dtype, orthogonal works in float16/bfloat16, and ``sparse_``'s mask follows the seed.
"""

from __future__ import annotations

import math

import numpy as np

from . import _generate as g
from ._fans import calculate_gain, compute_fans
from ._structured import (
    check_orthogonal_dtype,
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
from ._validate import check_float_dtype, check_real, check_shape
from ._variance import (
    DISTRIBUTIONS,
    as_out,
    fill_std,
    manual_seed,
    resolve_rng,
    variance_std,
    warn_if_empty,
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
    return compute_fans(g.logical_shape(arr.shape), layout=layout)


def _check_mode(mode):
    if not isinstance(mode, str) or mode.lower() not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    return mode.lower()


# ---- plain distributions ----

def uniform_(tensor, a=0.0, b=1.0, *, seed=None, generator=None):
    """U[a, b)."""
    out = as_out(tensor, device_ok=True)
    g._uniform_params(a, b, out.dtype)
    seed, stream = resolve_rng(seed, generator)
    g.uniform(None, a, b, seed=seed, stream=stream, out=out)
    return tensor


def normal_(tensor, mean=0.0, std=1.0, *, seed=None, generator=None):
    """N(mean, std^2)."""
    out = as_out(tensor, device_ok=True)
    g._normal_params(mean, std)
    seed, stream = resolve_rng(seed, generator)
    g.normal(None, mean, std, seed=seed, stream=stream, out=out)
    return tensor


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, *, seed=None, generator=None):
    """N(mean, std^2) truncated to [a, b]; a and b are absolute values (torch), so
    ``trunc_normal_(w, std=0.02)`` cuts at +-100 std.  Exact single-pass inverse CDF (no
    clamping, no redraw loop), correct in bfloat16."""
    out = as_out(tensor, device_ok=True)
    g._truncnormal_params(mean, std, a, b, out.dtype)
    seed, stream = resolve_rng(seed, generator)
    g.truncated_normal(None, mean, std, a, b, seed=seed, stream=stream, out=out)
    return tensor


def constant_(tensor, val):
    """Every element = val (any dtype; cast as numpy casts)."""
    out = as_out(tensor, float_only=False)
    out[...] = val
    return tensor


def ones_(tensor):
    """Every element = 1."""
    return constant_(tensor, 1)


def zeros_(tensor):
    """Every element = 0."""
    return constant_(tensor, 0)


def eye_(tensor):
    """The 2-D identity (rectangular allowed), as torch.eye."""
    fill_whole_then_box(as_out(tensor, float_only=False), eye_fill)
    return tensor


def dirac_(tensor, groups=1, *, gain=1.0, centre="torch"):
    """Dirac delta of a 3/4/5-D conv weight (out, in, *k): out[g*O/groups + d, d, c...] =
    gain, c = k // 2 (torch; centre="jax" gives (k - 1) // 2, which differs for even k)."""
    fill_whole_then_box(as_out(tensor, float_only=False),
                lambda o: dirac_fill(o, groups, gain, centre))
    return tensor


# ---- variance scaling and its thin layers ----

def variance_scaling_(tensor, scale=1.0, mode="fan_in", distribution="truncated_normal", *,
                      layout="torch", seed=None, generator=None):
    """Var(w) = scale / n, n = fan_in, fan_out, fan_avg or fan_geo_avg of ``layout``
    (fastinit._variance); distribution "truncated_normal" (+-2 std, rescaled by
    0.87962566103423978 as jax/keras), "normal" or "uniform"."""
    out = as_out(tensor, device_ok=True)
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    fans = _fans(out, layout)
    if warn_if_empty(out):
        return tensor
    std = variance_std(scale, mode, *fans)
    seed, stream = resolve_rng(seed, generator)
    fill_std(out, std, distribution, seed, stream)
    return tensor


def xavier_uniform_(tensor, gain=1.0, *, seed=None, generator=None):
    """Glorot & Bengio (2010): U[-b, b), b = gain * sqrt(6 / (fan_in + fan_out))."""
    gain = check_real(gain, "gain")
    return variance_scaling_(tensor, gain * gain, "fan_avg", "uniform", seed=seed,
                             generator=generator)


def xavier_normal_(tensor, gain=1.0, *, seed=None, generator=None):
    """Glorot & Bengio (2010), torch's form: N(0, std^2), std = gain * sqrt(2 / (fan_in +
    fan_out)), untruncated (jax/keras glorot_normal is truncated)."""
    gain = check_real(gain, "gain")
    return variance_scaling_(tensor, gain * gain, "fan_avg", "normal", seed=seed,
                             generator=generator)


def _kaiming(tensor, a, mode, nonlinearity, distribution, seed, generator):
    mode = _check_mode(mode)
    gain = calculate_gain(nonlinearity, a)
    return variance_scaling_(tensor, gain * gain, mode, distribution, seed=seed,
                             generator=generator)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", *, seed=None,
                     generator=None):
    """He et al. (2015): U[-b, b), b = gain * sqrt(3 / fan_mode), gain =
    calculate_gain(nonlinearity, a) (default sqrt(2): He/ReLU)."""
    return _kaiming(tensor, a, mode, nonlinearity, "uniform", seed, generator)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", *, seed=None,
                    generator=None):
    """He et al. (2015): N(0, std^2), std = gain / sqrt(fan_mode), untruncated."""
    return _kaiming(tensor, a, mode, nonlinearity, "normal", seed, generator)


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
    gain = check_real(gain, "gain")
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
    seed, stream = resolve_rng(seed, generator)
    fill_whole_then_box(out, lambda o: sparse_fill(o, sparsity, std, seed, stream))
    return tensor


# ---- torch layers' own defaults ----

def torch_linear_default_(weight, bias=None, *, seed=None, generator=None):
    """What nn.Linear.reset_parameters draws: weight kaiming_uniform_(a=sqrt(5)), i.e.
    U(+-1/sqrt(fan_in)); bias U(+-1/sqrt(fan_in)).  Weight and bias take one stream each."""
    if seed is not None and generator is None:
        from ._generator import Generator

        generator, seed = Generator(seed), None
    kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        w = as_out(weight)
        fan_in = compute_fans(w.shape)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound, generator=generator)
    return weight


torch_conv_default_ = torch_linear_default_  # nn.ConvNd.reset_parameters draws the same


def embedding_default_(weight, padding_idx=None, *, seed=None, generator=None):
    """What nn.Embedding.reset_parameters draws: N(0, 1), row padding_idx zeroed."""
    normal_(weight, 0.0, 1.0, seed=seed, generator=generator)
    if padding_idx is not None:  # a global row: inside a shard block, zeroed if in the box
        out = as_out(weight)
        rows = g.logical_shape(out.shape)[0]
        row = padding_idx + rows if padding_idx < 0 else padding_idx
        box = g.current_box()
        first = 0 if box is None else box[1][0]
        if first <= row < first + out.shape[0]:
            out[row - first] = 0
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


def _layout_twin(name, scale_of, mode_of, distribution):
    def twin(shape, *args, seed, dtype=np.float32, layout="torch", **kw):
        out = _new(shape, dtype)
        scale, mode = scale_of(*args, **kw), mode_of(*args, **kw)
        return variance_scaling_(out, scale, mode, distribution, layout=layout, seed=seed)

    twin.__name__ = twin.__qualname__ = name
    return twin


def _xavier_scale(gain=1.0):
    return check_real(gain, "gain") ** 2


def _kaiming_scale(a=0, mode="fan_in", nonlinearity="leaky_relu"):
    return calculate_gain(nonlinearity, a) ** 2


def _kaiming_mode(a=0, mode="fan_in", nonlinearity="leaky_relu"):
    return _check_mode(mode)


xavier_uniform = _layout_twin("xavier_uniform", _xavier_scale, lambda gain=1.0: "fan_avg",
                              "uniform")
xavier_normal = _layout_twin("xavier_normal", _xavier_scale, lambda gain=1.0: "fan_avg",
                             "normal")
kaiming_uniform = _layout_twin("kaiming_uniform", _kaiming_scale, _kaiming_mode, "uniform")
kaiming_normal = _layout_twin("kaiming_normal", _kaiming_scale, _kaiming_mode, "normal")
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
    """np.full with torch's name."""
    return np.full(check_shape(shape, "shape"), val, dtype=dtype)


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
