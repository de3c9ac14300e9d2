"""The stream in Numba: Philox4x32-10 and the exact word-to-uniform maps as
``@register_jitable`` functions that run in ``numba.njit`` code, in ``@cuda.jit`` kernels
and under Numba's CUDA simulator, with the bits of kernels/philox4x32.h and fi_dist.h.

For kernels written in Python (the propagation engine's user activations, Monte Carlo
loops) that draw from fastinit's stream inside the kernel: ``block_words(b, seed,
stream)`` gives the four words of Philox block b, ``u01_f32(w)`` / ``u01_f64(whi, wlo)``
the [0, 1) values fastinit.uniform gives.  Integer arithmetic is written with explicit
64-bit products and masks (the simulator wraps uint32 where compiled Numba widens).
Affine and normal transforms are left to the CUDA C kernels: Numba contracts a * b + c
into an fma on the device, which the host does not do.

Imported on first use only (needs numba, or numba-cuda for the CUDA target).
"""

from __future__ import annotations

from numba import cuda, float32, float64, uint32, uint64
from numba.extending import register_jitable

M0, M1, W0, W1, MASK = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85, 0xFFFFFFFF


@register_jitable
def mulhilo32(a, b):
    """(hi, lo) words of the 64-bit product a * b."""
    p = uint64(a) * uint64(b)
    return uint32(p >> uint64(32)), uint32(p & uint64(MASK))


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
def block_words(b, seed, stream):
    """Words of block b of (seed, stream): counter (b lo, b hi, stream lo, stream hi),
    key (seed lo, seed hi), as fi_block."""
    b, seed, stream = uint64(b), uint64(seed), uint64(stream)
    return philox4x32_10(uint32(b & uint64(MASK)), uint32(b >> uint64(32)),
                         uint32(stream & uint64(MASK)), uint32(stream >> uint64(32)),
                         uint32(seed & uint64(MASK)), uint32(seed >> uint64(32)))


@register_jitable
def u01_f32(w):
    """[0, 1) on a 2^-24 grid: (w >> 8) 2^-24 (exact), as fi_u01f."""
    return float32(uint32(w) >> uint32(8)) * float32(5.9604644775390625e-08)


@register_jitable
def u01_f64(whi, wlo):
    """[0, 1) on a 2^-53 grid from two words (exact), as fi_u01d."""
    bits = (uint64(whi) << uint64(32)) | uint64(wlo)
    return float64(bits >> uint64(11)) * float64(1.1102230246251565e-16)


def _fill_words(convert, doc):
    """A kernel writing convert(word) for element i = word i % 4 of block i // 4."""

    @cuda.jit
    def kernel(out, seed, stream, start):
        n = out.shape[0]
        blk = uint64(start) // uint64(4) + uint64(cuda.grid(1))
        step = uint64(cuda.gridsize(1))
        while blk * uint64(4) < uint64(start) + uint64(n):
            w = block_words(blk, seed, stream)
            for j in range(4):
                e = blk * uint64(4) + uint64(j)
                if e >= uint64(start) and e < uint64(start) + uint64(n):
                    out[e - uint64(start)] = convert(w[j])
            blk += step

    kernel.__doc__ = doc
    return kernel


@register_jitable
def _word(w):
    return w


fill_bits = _fill_words(_word, "out[i] = word i of the stream from start: fastinit.random_bits.")
fill_u01_f32 = _fill_words(u01_f32, "fastinit.uniform(low=0, high=1, dtype=float32).")


@cuda.jit
def fill_u01_f64(out, seed, stream, start):
    """fastinit.uniform(low=0, high=1, dtype=float64) on the device."""
    n = out.shape[0]
    blk = uint64(start) // uint64(2) + uint64(cuda.grid(1))
    step = uint64(cuda.gridsize(1))
    while blk * uint64(2) < uint64(start) + uint64(n):
        w0, w1, w2, w3 = block_words(blk, seed, stream)
        e = blk * uint64(2)
        if e >= uint64(start) and e < uint64(start) + uint64(n):
            out[e - uint64(start)] = u01_f64(w0, w1)
        e += uint64(1)
        if e >= uint64(start) and e < uint64(start) + uint64(n):
            out[e - uint64(start)] = u01_f64(w2, w3)
        blk += step
