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

# One module per family of laws, this one the public namespace over them:
# _init_random (uniform, normal, trunc_normal, torch layers' own defaults), _init_scaling
# (variance_scaling, xavier, kaiming, lecun), _init_structured (orthogonal,
# delta_orthogonal, sparse), _init_fills (constant, ones, zeros, eye, dirac) and
# _init_common (what they share); the theory-derived scales are fastinit._theory_scales'.
from ._fans import calculate_gain, compute_fans
from ._init_fills import constant, constant_, dirac, dirac_, eye, eye_, ones, ones_, zeros, zeros_
from ._init_random import (
    embedding_default_,
    normal,
    normal_,
    torch_conv_default_,
    torch_linear_default_,
    trunc_normal,
    trunc_normal_,
    uniform,
    uniform_,
)
from ._init_scaling import (
    kaiming_normal,
    kaiming_normal_,
    kaiming_uniform,
    kaiming_uniform_,
    lecun_normal,
    lecun_normal_,
    lecun_uniform,
    lecun_uniform_,
    variance_scaling,
    variance_scaling_,
    xavier_normal,
    xavier_normal_,
    xavier_uniform,
    xavier_uniform_,
)
from ._init_structured import (
    delta_orthogonal,
    delta_orthogonal_,
    orthogonal,
    orthogonal_,
    sparse,
    sparse_,
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
from ._variance import manual_seed

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

