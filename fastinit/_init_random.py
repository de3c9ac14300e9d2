"""The elementwise random laws of :mod:`fastinit.init` with explicit parameters: uniform,
normal and trunc_normal, in place and as new arrays; and what torch's own layers draw
(nn.Linear, nn.ConvNd, nn.Embedding reset_parameters) over them and kaiming_uniform_."""

from __future__ import annotations

import math
from typing import Any

from . import _fill, _laws, _shard
from ._generator import Generator
from ._init_common import Seed, T, check_normal, fans_of, functional_twin
from ._init_scaling import kaiming_uniform_
from ._validate import check_int, check_real, value_max
from ._variance import TRUNC_REACH, as_out, resolve_rng, support_fits, work_max


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
    mean, std = check_normal(mean, std, out.dtype)
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
    fan_in = fans_of(w)[0]
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

uniform = functional_twin(uniform_, "uniform_", """\
>>> w = init.uniform((2, 3), -1.0, 1.0, seed=0)
>>> bool(np.array_equal(w, init.uniform_(np.empty((2, 3), np.float32), -1.0, 1.0, seed=0)))
True
""")
normal = functional_twin(normal_, "normal_", """\
>>> w = init.normal((4,), 0.0, 0.02, seed=0, dtype=np.float64)
>>> w.dtype, bool(abs(w).max() < 0.1)
(dtype('float64'), True)
""")
trunc_normal = functional_twin(trunc_normal_, "trunc_normal_", """\
>>> w = init.trunc_normal((1000,), std=1.0, a=-0.5, b=0.5, seed=0)
>>> bool(w.min() >= -0.5 and w.max() <= 0.5)
True
""")
