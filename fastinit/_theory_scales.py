"""Scales that signal-propagation theory adds to the framework initializers.

Each returns a standard deviation (or fills a tensor) so that a stated second moment is
preserved; the docstrings give the condition and its source.
"""

from __future__ import annotations

import math

import numpy as np

from . import _generate as g
from ._validate import check_int, check_real
from ._variance import as_out, ignored_seed, resolve_rng


def _positive(value, name):
    value = check_real(value, name)
    if not value > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def dropout_corrected_std(fan_in, p, gain=1.0) -> float:
    """std = gain * sqrt((1 - p) / fan_in) for a layer fed through inverted dropout with
    drop probability p (keep 1 - p): the dropped input x m / (1 - p) has second moment
    E[x^2] / (1 - p), so Var(w) = gain^2 (1 - p) / fan_in keeps the forward second moment
    of the dropout-free He/LeCun condition (Srivastava et al. 2014; the mean-field
    correction of Schoenholz et al. 2017).

    Examples
    --------
    >>> from fastinit import init
    >>> round(init.dropout_corrected_std(512, 0.1, gain=2 ** 0.5), 5)
    0.05929
    """
    fan_in = _positive(fan_in, "fan_in")
    p = check_real(p, "p")
    if not 0 <= p < 1:
        raise ValueError(f"p must be in [0, 1), got {p}")
    return check_real(gain, "gain") * math.sqrt((1 - p) / fan_in)


def multi_branch_stds(fan_ins, gain=1.0) -> list[float]:
    """Per-branch weight stds for B branches summed at a merge: std_b = gain /
    sqrt(B * fan_in_b).  Each branch's output then has variance gain^2 E[x^2] / B, equal
    across branches whatever their fan-in, and the sum keeps gain^2 E[x^2] (the
    Inception / multi-branch balance condition).

    Examples
    --------
    >>> from fastinit import init
    >>> [round(s, 5) for s in init.multi_branch_stds([64, 256])]
    [0.08839, 0.04419]
    """
    fans = [_positive(f, "fan_ins") for f in fan_ins]
    if not fans:
        raise ValueError("fan_ins must name at least one branch")
    gain = check_real(gain, "gain")
    return [gain / math.sqrt(len(fans) * f) for f in fans]


def attention_qk_std(d_in, sigma_x=1.0) -> float:
    """std of W_Q and W_K (d_in -> d_head): 1 / (sigma_x sqrt(d_in)).  Then q and k have
    unit-variance entries for inputs of per-coordinate std sigma_x, and the scaled logit
    q.k / sqrt(d_head) = sum_j q_j k_j / sqrt(d_head) has variance 1 (Vaswani et al. 2017's
    scaling, made exact at initialization).

    Examples
    --------
    >>> from fastinit import init
    >>> init.attention_qk_std(256)
    0.0625
    """
    return 1.0 / (_positive(sigma_x, "sigma_x") * math.sqrt(_positive(d_in, "d_in")))


def mahalanobis_normal_(tensor, sigma_x, scale=1.0, *, seed=None, generator=None):
    """Rows of a (out, in) weight drawn ``N(0, (scale / in) Sigma_x^-1)``.

    Cov(w) is proportional to the inverse input covariance, so ``w.x`` has variance
    ``(scale / in) x^T Sigma_x^-1 x``, whose mean over ``x ~ (0, Sigma_x)`` is exactly
    ``scale`` whatever the input correlations (a whitening first layer).
    ``W = Z L^-1`` with ``Sigma_x = L L^T``, Z standard normal.

    Parameters
    ----------
    tensor : 2-D array (out, in)
        Filled in place and returned.
    sigma_x : (in, in) array
        The input covariance: symmetric positive definite.
    scale : float
        > 0.
    seed, generator
        As :func:`fastinit.init.normal_`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> sigma = np.array([[1.0, 0.5], [0.5, 1.0]])
    >>> w = init.mahalanobis_normal_(np.empty((20000, 2)), sigma, seed=0)
    >>> bool(np.allclose(np.cov(w.T) * 2, np.linalg.inv(sigma), atol=0.05))
    True
    """
    out = as_out(tensor)
    if out.ndim != 2:
        raise ValueError(f"mahalanobis_normal_ needs a 2-D (out, in) tensor, got {out.shape}")
    sigma = np.asarray(sigma_x, dtype=np.float64)
    d = out.shape[1]
    if sigma.shape != (d, d):
        raise ValueError(f"sigma_x must have shape ({d}, {d}), got {sigma.shape}")
    if not np.allclose(sigma, sigma.T, rtol=1e-10, atol=0):
        raise ValueError("sigma_x must be symmetric")
    try:
        chol = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        raise ValueError("sigma_x must be positive definite") from None
    scale = _positive(scale, "scale")
    seed, stream = resolve_rng(seed, generator)
    z = g.normal(out.shape, seed=seed, stream=stream, dtype=np.float64)
    # W L = Z  <=>  L^T W^T = Z^T
    w = np.linalg.solve(chol.T, z.T).T * math.sqrt(scale / d)
    out[...] = w.astype(out.dtype)
    return tensor


def zero_gamma_(gamma, *, seed=None):
    """Zero the last normalization scale (gamma) of each residual branch, so every block
    starts as the identity (Goyal et al. 2017; "zero-gamma" / ReZero's alpha = 0).

    Parameters
    ----------
    gamma : array
        Filled with 0 in place and returned.
    seed : int, optional
        Accepted and ignored, as by :func:`fastinit.init.zeros_`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.zero_gamma_(np.ones(3, np.float32)).tolist()
    [0.0, 0.0, 0.0]
    """
    out = as_out(gamma)
    ignored_seed(seed)
    out[...] = 0
    return gamma


def optimistic_bias_(weight, bias, v_max, weight_std=1e-3, *, seed=None, generator=None):
    """Optimistic output layer for value/Q heads: weights ``N(0, weight_std^2)`` (small,
    so outputs barely depend on the input) and bias = v_max, so every initial estimate
    is the optimistic upper bound and exploration follows (optimism in the face of
    uncertainty; Sutton & Barto 2018, sec. 2.6).

    Parameters
    ----------
    weight, bias : arrays
        Filled in place; ``weight`` is returned.
    v_max : float
        The bias value, the upper bound of the returns.
    weight_std : float
        >= 0.
    seed, generator
        As :func:`fastinit.init.normal_`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> w, b = np.empty((4, 8), np.float32), np.empty(4, np.float32)
    >>> _ = init.optimistic_bias_(w, b, v_max=10.0, seed=0)
    >>> b.tolist(), bool(abs(w).max() < 0.01)
    ([10.0, 10.0, 10.0, 10.0], True)
    """
    v_max = check_real(v_max, "v_max")
    weight_std = check_real(weight_std, "weight_std")
    if weight_std < 0:
        raise ValueError(f"weight_std must be >= 0, got {weight_std}")
    out = as_out(weight)
    b = as_out(bias, "bias")
    seed, stream = resolve_rng(seed, generator)
    g.normal(None, 0.0, weight_std, seed=seed, stream=stream, out=out)
    b[...] = v_max
    return weight


def fixup_scale(num_blocks, layers_per_block=2) -> float:
    """Fixup (Zhang et al. 2019): inside each of L residual branches of m layers, scale
    the standard (He) init of all but the last layer by L^(-1 / (2m - 2)) and zero the
    last layer; returns L^(-1 / (2m - 2)).

    Examples
    --------
    >>> from fastinit import init
    >>> init.fixup_scale(16)
    0.25
    """
    n = check_int(num_blocks, "num_blocks", 1)
    m = check_int(layers_per_block, "layers_per_block", 2)
    return n ** (-1.0 / (2 * m - 2))


def deepnorm_scales(encoder_layers=0, decoder_layers=0) -> dict:
    """DeepNet / DeepNorm (Wang et al. 2022): x <- LN(alpha x + F(x)) with the FFN, value
    and output projections initialized by Xavier with gain beta.  Encoder-only (N layers):
    alpha = (2N)^(1/4), beta = (8N)^(-1/4); decoder-only (M): alpha = (2M)^(1/4),
    beta = (8M)^(-1/4); encoder-decoder: encoder alpha = 0.81 (N^4 M)^(1/16),
    beta = 0.87 (N^4 M)^(-1/16), decoder alpha = (3M)^(1/4), beta = (12M)^(-1/4).
    Returns {"encoder": (alpha, beta), "decoder": (alpha, beta)} for the parts present.

    Examples
    --------
    >>> from fastinit import init
    >>> alpha, beta = init.deepnorm_scales(decoder_layers=32)["decoder"]
    >>> round(alpha, 4), round(beta, 4)
    (2.8284, 0.25)
    """
    n = check_int(encoder_layers, "encoder_layers", 0)
    m = check_int(decoder_layers, "decoder_layers", 0)
    if n == 0 and m == 0:
        raise ValueError("deepnorm_scales needs encoder_layers or decoder_layers > 0")
    if n and m:
        return {"encoder": (0.81 * (n**4 * m) ** (1 / 16), 0.87 * (n**4 * m) ** (-1 / 16)),
                "decoder": ((3 * m) ** 0.25, (12 * m) ** -0.25)}
    key, count = ("encoder", n) if n else ("decoder", m)
    return {key: ((2 * count) ** 0.25, (8 * count) ** -0.25)}
