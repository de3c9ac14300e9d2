"""Philox4x32-10 and its words as uniforms, inside Numba code (kernels/philox4x32.h and
fi_dist.h's word-to-uniform maps), bit for bit; the public names are fastinit.numba's."""

from __future__ import annotations

from numba import float32, float64, int64, uint32, uint64
from numba.extending import overload, register_jitable

from ._core import PHILOX_M0 as M0
from ._core import PHILOX_M1 as M1
from ._core import PHILOX_W0 as W0
from ._core import PHILOX_W1 as W1
from ._numba_ops import MASK, _index, _mul

# ---- Philox4x32-10 (kernels/philox4x32.h) ----


def mulhilo32(a, b):
    """(hi, lo) words of the 64-bit product a * b (on the device __umulhi and the 32-bit
    product, as fi_mulhilo32)."""
    p = uint64(a) * uint64(b)
    return uint32(p >> uint64(32)), uint32(p & uint64(MASK))


overload(mulhilo32, target="cpu")(lambda a, b: mulhilo32)


@overload(mulhilo32, target="cuda")
def _mulhilo32_cuda(a, b):
    from numba.cuda import libdevice

    def impl(a, b):
        a, b = uint32(a), uint32(b)
        return uint32(libdevice.umulhi(a, b)), uint32((uint64(a) * uint64(b)) & uint64(MASK))
    return impl


@register_jitable
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 (Salmon et al., SC'11): ten rounds, the key bumped before rounds
    2..10."""
    for r in range(10):
        if r > 0:
            k0 = uint32((uint64(k0) + uint64(W0)) & uint64(MASK))
            k1 = uint32((uint64(k1) + uint64(W1)) & uint64(MASK))
        hi0, lo0 = mulhilo32(uint32(M0), c0)
        hi1, lo1 = mulhilo32(uint32(M1), c2)
        c0, c1, c2, c3 = uint32(hi1 ^ c1 ^ k0), lo1, uint32(hi0 ^ c3 ^ k1), lo0
    return c0, c1, c2, c3


@register_jitable
def bits_block(seed, stream, b):
    """The four words of block b of (seed, stream): counter (b lo, b hi, stream lo,
    stream hi), key (seed lo, seed hi), as fi_block."""
    b, seed, stream = _index(b), _index(seed), _index(stream)
    return philox4x32_10(uint32(b & uint64(MASK)), uint32(b >> uint64(32)),
                         uint32(stream & uint64(MASK)), uint32(stream >> uint64(32)),
                         uint32(seed & uint64(MASK)), uint32(seed >> uint64(32)))


@register_jitable
def bits(seed, stream, i):
    """Element i of fastinit.random_bits: word i % 4 of block i // 4."""
    w = bits_block(seed, stream, _index(i) // uint64(4))
    return w[int64(_index(i) % uint64(4))]


# ---- words -> uniform (fi_dist.h), exact ----

@register_jitable
def u01_f32(w):
    """[0, 1) on a 2^-24 grid: (w >> 8) 2^-24, as fi_u01f."""
    return _mul(float32(uint32(w) >> uint32(8)), float32(5.9604644775390625e-08))


@register_jitable
def _u01oc32_f32(w):
    """(0, 1] from a whole word, as fi_u01f_oc32: ((w >> 8) + 1) 2^-24 for w >= 2^24,
    (w + 1) 2^-32 below."""
    w = uint32(w)
    small = w < uint32(0x1000000)
    m = w + uint32(1) if small else (w >> uint32(8)) + uint32(1)
    scale = float32(2.3283064365386963e-10) if small else float32(5.9604644775390625e-08)
    return _mul(float32(m), scale)


@register_jitable
def _word64(whi, wlo):
    return (uint64(whi) << uint64(32)) | uint64(wlo)


@register_jitable
def u01_f64(whi, wlo):
    """[0, 1) on a 2^-53 grid from two words, first high, as fi_u01d."""
    return _mul(float64(_word64(whi, wlo) >> uint64(11)), float64(1.1102230246251565e-16))


@register_jitable
def _u01oc_f64(whi, wlo):
    return _mul(float64((_word64(whi, wlo) >> uint64(11)) + uint64(1)),
                float64(1.1102230246251565e-16))

