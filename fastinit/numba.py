"""fastinit's stream inside your own Numba code: every distribution as functions callable
from ``@numba.njit`` and ``@cuda.jit`` code, element ``i`` equal bit for bit to element
``i`` of the vectorized fill (kernels/README.md, the stream contract)::

    from fastinit import numba as fnb

    @numba.njit
    def walk(n, seed):
        x = 0.0
        for i in range(n):
            x += fnb.normal_f64(seed, 0, i, 0.0, 1.0)  # == fastinit.normal(..., offset=i)[0]
        return x

Per element (``i`` is the logical index, an integer in [0, 2^64); int64 wraps modulo 2^64,
a float is refused at compile time; seed and stream likewise):
``bits(seed, stream, i)`` (uint32), ``uniform_f32/f64(seed, stream, i, low, high)``,
``normal_f32/f64(seed, stream, i, loc, scale)``,
``truncated_normal_f32/f64(seed, stream, i, loc, scale, a, b)``.
Per Philox block ``blk`` (elements ``4 blk .. 4 blk + 3`` in float32, ``2 blk, 2 blk + 1``
in float64; one Philox call for all of them, a tuple back): ``bits_block``,
``uniform_block_f32/f64``, ``normal_block_f32/f64``, ``truncated_normal_block_f32/f64``,
the same arguments with ``blk`` for ``i``.
float16 / bfloat16 elements, as their uint16 bit patterns: ``uniform_f16/bf16``,
``normal_f16/bf16``, ``truncated_normal_f16/bf16`` (the float32 path clamped into the
dtype's values and rounded to nearest even, as the fills do; ``f32_to_f16_bits`` and
``f32_to_bf16_bits`` are that rounding, fi_math.h's; the uniform is rounded from double,
exact on the dtype's grid, fi_uniform_lowp).

The truncated normal needs Phi(alpha), Phi(beta): in ``njit`` code they come from the C
library's ``erfc``, the one CPython's ``math.erfc`` calls, so the values are exact.  The
CUDA target's ``erfc`` is libdevice's, whose last bit may differ: for device bits equal to
the CPU's, compute the constants on the host once, ``c = truncnorm_params(loc, scale, a,
b, dtype)``, and draw with ``truncated_normal_p_f32/f64/f16/bf16(seed, stream, i, c)``
(or the ``..._block_p_...`` forms), which also skips the two erfc per draw.

Bit-exactness without the compiler's help: every floating-point operation of the
transforms goes through ``_mul``/``_add``/``_sub``/``_div``/``_sqrt`` primitives
(``fastinit._numba_ops``, with the log, sin/cos and Phi^-1 below), plain
IEEE operations under ``njit`` (Numba sets no fast-math flags by default, so LLVM does not
contract them) and libdevice's round-to-nearest ``__nv_fmul_rn`` etc. on the CUDA target
(PTX ``mul.rn``/``add.rn``, which neither NVVM nor ptxas fuses into ``fma``; a plain
``a * b + c`` becomes ``fma.rn`` on the device even with ``fastmath=False``).  The log,
sin/cos and Phi^-1 (double and float) are those of fi_math.h, operation for operation.

Invalid parameters (low > high, scale < 0, a >= b, an interval holding no value of the
dtype) raise ValueError in ``njit`` code; on the CUDA target Numba reports exceptions only
in kernels compiled with ``debug=True``.  Needs numba (and numba-cuda for ``cuda.jit``);
``import fastinit`` never imports this module.
"""

from __future__ import annotations

import numpy as np
from numba import float32, int64, uint32, uint64
from numba.extending import register_jitable

from ._numba_consts import (
    BF16,
    F16,
    F32,
    F64,
    _half_bits,
    _normal_consts,
    _truncnorm_consts,
    _uniform_consts,
)
from ._numba_dist import (
    _affine,
    _boxmuller_f32,
    _truncnormal_f32,
    _truncnormal_f64,
    _uniform_f32,
    _uniform_f64,
    _uniform_lowp,
    _values_w32,
    _values_w64,
)
from ._numba_ops import _index, f32_to_bf16_bits, f32_to_f16_bits
from ._numba_philox import bits, bits_block, mulhilo32, philox4x32_10, u01_f32, u01_f64

# the public functions (those of _numba_philox and _numba_ops' fi_math.h rounding included)
__all__ = [
    "mulhilo32", "philox4x32_10", "bits_block", "bits", "u01_f32", "u01_f64",
    "f32_to_bf16_bits", "f32_to_f16_bits", "truncnorm_params", "uniform_block_f32",
    "uniform_block_f64", "normal_block_f32", "normal_block_f64", "truncated_normal_block_f32",
    "truncated_normal_block_f64", "truncated_normal_block_p_f32",
    "truncated_normal_block_p_f64", "uniform_f32", "uniform_f64", "normal_f32", "normal_f64",
    "truncated_normal_f32", "truncated_normal_f64", "truncated_normal_p_f32",
    "truncated_normal_p_f64", "uniform_f16", "uniform_bf16", "normal_f16", "normal_bf16",
    "truncated_normal_f16", "truncated_normal_bf16", "truncated_normal_p_f16",
    "truncated_normal_p_bf16",
]


def truncnorm_params(loc, scale, a, b, dtype=np.float32):
    """The constants (loc, signed scale, lo, hi, Phi(alpha), Phi(beta) - Phi(alpha)) of a
    truncated normal, computed on the host exactly as fastinit.truncated_normal does, for
    truncated_normal_p_f32/f64 (pass them to a kernel as a tuple argument)."""
    from ._laws import _truncnormal_params
    from ._validate import check_float_dtype

    p = _truncnormal_params(loc, scale, a, b, check_float_dtype(dtype))
    return tuple(float(p[k]) for k in ("a", "b", "lo", "hi", "pa", "pd"))


# ---- public: blocks ----

@register_jitable
def uniform_block_f32(seed, stream, blk, low, high):
    """float32 elements 4 blk .. 4 blk + 3 of fastinit.uniform(low, high)."""
    return _values_w32(1, seed, stream, blk, _uniform_consts(low, high, F32))


@register_jitable
def uniform_block_f64(seed, stream, blk, low, high):
    """float64 elements 2 blk, 2 blk + 1 of fastinit.uniform(low, high)."""
    return _values_w64(1, seed, stream, blk, _uniform_consts(low, high, F64))


@register_jitable
def normal_block_f32(seed, stream, blk, loc, scale):
    """float32 elements 4 blk .. 4 blk + 3 of fastinit.normal(loc, scale)."""
    return _values_w32(2, seed, stream, blk, _normal_consts(loc, scale))


@register_jitable
def normal_block_f64(seed, stream, blk, loc, scale):
    return _values_w64(2, seed, stream, blk, _normal_consts(loc, scale))


@register_jitable
def truncated_normal_block_f32(seed, stream, blk, loc, scale, a, b):
    """float32 elements 4 blk .. 4 blk + 3 of fastinit.truncated_normal(loc, scale, a, b)."""
    return _values_w32(3, seed, stream, blk, _truncnorm_consts(loc, scale, a, b, F32))


@register_jitable
def truncated_normal_block_f64(seed, stream, blk, loc, scale, a, b):
    return _values_w64(3, seed, stream, blk, _truncnorm_consts(loc, scale, a, b, F64))


@register_jitable
def truncated_normal_block_p_f32(seed, stream, blk, c):
    """As truncated_normal_block_f32 with c = truncnorm_params(..., float32)."""
    return _values_w32(3, seed, stream, blk, c)


@register_jitable
def truncated_normal_block_p_f64(seed, stream, blk, c):
    return _values_w64(3, seed, stream, blk, c)


# ---- public: elements ----

@register_jitable
def _pick2(v, i):
    return v[int64(_index(i) % uint64(2))]


@register_jitable
def _words_of(seed, stream, i, wide):
    """The words element i of a uniform or truncated normal takes (32-bit: one word, the
    second slot 0; float64: the pair (w_2j, w_2j+1))."""
    if wide:
        w = bits_block(seed, stream, _index(i) // uint64(2))
        return (w[0], w[1]) if _index(i) % uint64(2) == uint64(0) else (w[2], w[3])
    return bits(seed, stream, i), uint32(0)


@register_jitable
def uniform_f32(seed, stream, i, low, high):
    """Element i of fastinit.uniform(low, high, dtype=float32, seed, stream)."""
    c = _uniform_consts(low, high, F32)
    w, _ = _words_of(seed, stream, i, False)
    return _uniform_f32(w, (float32(c[0]), float32(c[1]), float32(c[2]), float32(c[3])))


@register_jitable
def uniform_f64(seed, stream, i, low, high):
    """Element i of fastinit.uniform(low, high, dtype=float64, seed, stream)."""
    whi, wlo = _words_of(seed, stream, i, True)
    return _uniform_f64(whi, wlo, _uniform_consts(low, high, F64))


@register_jitable
def normal_f32(seed, stream, i, loc, scale):
    """Element i of fastinit.normal(loc, scale, dtype=float32, seed, stream): the cosine
    (even i) or sine (odd i) branch of the pair (w_2p, w_2p+1), p = (i % 4) // 2."""
    c = _normal_consts(loc, scale)
    w = bits_block(seed, stream, _index(i) // uint64(4))
    j = int64(_index(i) % uint64(4))
    z0, z1 = _boxmuller_f32(w[j & 2], w[(j & 2) + 1])
    return _affine(float32(c[0]), float32(c[1]), z1 if j & 1 else z0)


@register_jitable
def normal_f64(seed, stream, i, loc, scale):
    """Element i of fastinit.normal(loc, scale, dtype=float64, seed, stream)."""
    return _pick2(normal_block_f64(seed, stream, _index(i) // uint64(2), loc, scale), i)


@register_jitable
def truncated_normal_f32(seed, stream, i, loc, scale, a, b):
    """Element i of fastinit.truncated_normal(loc, scale, a, b, dtype=float32)."""
    return truncated_normal_p_f32(seed, stream, i, _truncnorm_consts(loc, scale, a, b, F32))


@register_jitable
def truncated_normal_f64(seed, stream, i, loc, scale, a, b):
    """Element i of fastinit.truncated_normal(loc, scale, a, b, dtype=float64)."""
    return truncated_normal_p_f64(seed, stream, i, _truncnorm_consts(loc, scale, a, b, F64))


@register_jitable
def truncated_normal_p_f32(seed, stream, i, c):
    """As truncated_normal_f32 with c = truncnorm_params(loc, scale, a, b, float32)."""
    w, _ = _words_of(seed, stream, i, False)
    return _truncnormal_f32(w, c)


@register_jitable
def truncated_normal_p_f64(seed, stream, i, c):
    """As truncated_normal_f64 with c = truncnorm_params(loc, scale, a, b, float64)."""
    whi, wlo = _words_of(seed, stream, i, True)
    return _truncnormal_f64(whi, wlo, c)


# ---- float16 / bfloat16 elements, as uint16 bit patterns ----

@register_jitable
def _uniform_half(seed, stream, i, low, high, bf16):
    c = _uniform_consts(low, high, BF16 if bf16 else F16)
    w, _ = _words_of(seed, stream, i, False)
    return _half_bits(_uniform_lowp(w, c), bf16)


@register_jitable
def uniform_f16(seed, stream, i, low, high):
    """Element i of fastinit.uniform(low, high, dtype=float16), its bits as uint16."""
    return _uniform_half(seed, stream, i, low, high, False)


@register_jitable
def uniform_bf16(seed, stream, i, low, high):
    """Element i of fastinit.uniform(low, high, dtype=bfloat16), its bits as uint16."""
    return _uniform_half(seed, stream, i, low, high, True)


@register_jitable
def normal_f16(seed, stream, i, loc, scale):
    """Element i of fastinit.normal(loc, scale, dtype=float16), its bits as uint16."""
    return f32_to_f16_bits(normal_f32(seed, stream, i, loc, scale))


@register_jitable
def normal_bf16(seed, stream, i, loc, scale):
    """Element i of fastinit.normal(loc, scale, dtype=bfloat16), its bits as uint16."""
    return f32_to_bf16_bits(normal_f32(seed, stream, i, loc, scale))


@register_jitable
def truncated_normal_f16(seed, stream, i, loc, scale, a, b):
    """Element i of fastinit.truncated_normal(loc, scale, a, b, dtype=float16), bits."""
    return truncated_normal_p_f16(seed, stream, i, _truncnorm_consts(loc, scale, a, b, F16))


@register_jitable
def truncated_normal_bf16(seed, stream, i, loc, scale, a, b):
    """Element i of fastinit.truncated_normal(loc, scale, a, b, dtype=bfloat16), bits."""
    return truncated_normal_p_bf16(seed, stream, i, _truncnorm_consts(loc, scale, a, b, BF16))


@register_jitable
def truncated_normal_p_f16(seed, stream, i, c):
    """As truncated_normal_f16 with c = truncnorm_params(loc, scale, a, b, float16)."""
    return f32_to_f16_bits(truncated_normal_p_f32(seed, stream, i, c))


@register_jitable
def truncated_normal_p_bf16(seed, stream, i, c):
    """As truncated_normal_bf16 with c = truncnorm_params(loc, scale, a, b, bfloat16)."""
    return f32_to_bf16_bits(truncated_normal_p_f32(seed, stream, i, c))
