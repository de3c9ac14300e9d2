# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The stream one block at a time: the raw Philox4x32-10 block function and a numpy
BitGenerator, both over the same header (kernels/philox4x32.h, fi_dist.h) as the fills of
fastinit/_core.pyx."""

cimport numpy as cnp
from libc.stdint cimport uint32_t, uint64_t
from numpy.random.bit_generator cimport BitGenerator

import numpy as np

cnp.import_array()

cdef extern from "fi_dist.h" nogil:
    ctypedef struct fi_params:
        uint64_t seed
        uint64_t stream
        double a, b, lo, hi, pa, pd
    void fi_philox4x32_10(uint32_t *c0, uint32_t *c1, uint32_t *c2, uint32_t *c3,
                          uint32_t k0, uint32_t k1)
    void fi_block(uint64_t block, const fi_params *p, uint32_t *w0, uint32_t *w1,
                  uint32_t *w2, uint32_t *w3)


def philox4x32_10(cnp.ndarray counter, cnp.ndarray key):
    """Raw Philox4x32-10 on C-contiguous uint32 arrays counter (n, 4) and key (n, 2)."""
    cdef Py_ssize_t n = counter.shape[0], i
    cdef cnp.ndarray result = np.empty((n, 4), dtype=np.uint32)
    cdef uint32_t *c = <uint32_t *>cnp.PyArray_DATA(counter)
    cdef uint32_t *kk = <uint32_t *>cnp.PyArray_DATA(key)
    cdef uint32_t *o = <uint32_t *>cnp.PyArray_DATA(result)
    cdef uint32_t c0, c1, c2, c3
    with nogil:
        for i in range(n):
            c0, c1, c2, c3 = c[4 * i], c[4 * i + 1], c[4 * i + 2], c[4 * i + 3]
            fi_philox4x32_10(&c0, &c1, &c2, &c3, kk[2 * i], kk[2 * i + 1])
            o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3] = c0, c1, c2, c3
    return result


# ---- numpy BitGenerator over the same stream ----

cdef struct bitgen_state:
    fi_params params
    uint64_t pos          # index of the next 32-bit word of the stream
    uint64_t block        # block held in words (valid when has_block)
    uint32_t words[4]
    int has_block


cdef inline uint32_t _next_u32(void *st) noexcept nogil:
    cdef bitgen_state *s = <bitgen_state *>st
    cdef uint64_t b = s.pos >> 2
    if not s.has_block or s.block != b:
        fi_block(b, &s.params, &s.words[0], &s.words[1], &s.words[2], &s.words[3])
        s.block = b
        s.has_block = 1
    cdef uint32_t w = s.words[s.pos & 3]
    s.pos += 1
    return w


cdef uint32_t _bitgen_u32(void *st) noexcept nogil:
    return _next_u32(st)


cdef uint64_t _bitgen_u64(void *st) noexcept nogil:
    cdef uint64_t hi = _next_u32(st)
    return (hi << 32) | _next_u32(st)


cdef double _bitgen_double(void *st) noexcept nogil:
    return <double>(_bitgen_u64(st) >> 11) * (1.0 / 9007199254740992.0)


cdef class PhiloxBitGenerator(BitGenerator):
    """PhiloxBitGenerator(seed=None, stream=None)

    A numpy ``BitGenerator`` over fastinit's stream: 32-bit word ``4 b + j`` of stream
    ``stream`` is word ``j`` of Philox block ``b``; a 64-bit draw joins two successive
    words, first one high.  ``numpy.random.Generator(PhiloxBitGenerator(s)).random(n)``
    equals ``fastinit.uniform((n,), seed=s, dtype=np.float64)`` bit for bit.

    seed : an int in [0, 2**64) is the Philox key itself (stream 0 unless ``stream`` is
        given); a ``numpy.random.SeedSequence`` (or None: one from fresh OS entropy) gives
        the key and the stream as the first two uint64 words of its ``generate_state``.
    stream : an int in [0, 2**64), overriding the stream.

    ``spawn(n)`` (numpy's, also through ``numpy.random.Generator.spawn``) returns n
    generators seeded by ``SeedSequence.spawn`` of this one's sequence (for an int seed,
    ``SeedSequence(seed)``): their 128-bit (key, stream) pairs are hashes of distinct
    spawn keys, as numpy's own bit generators are.
    """
    cdef bitgen_state rng_state

    def __init__(self, seed=None, stream=None):
        import numbers

        from numpy.random.bit_generator import ISeedSequence

        from fastinit._validate import check_u64
        if seed is not None and not isinstance(seed, ISeedSequence):
            if isinstance(seed, bool | np.bool_) or not isinstance(seed, numbers.Integral):
                raise TypeError("seed must be an integer in [0, 2**64), a numpy SeedSequence "
                                f"or None, got {type(seed).__name__}")
            seed = check_u64(seed, "seed")  # before numpy's SeedSequence sees it
        if stream is not None:
            stream = check_u64(stream, "stream")
        BitGenerator.__init__(self, seed)
        if isinstance(seed, int):
            key, default_stream = seed, 0
        else:
            key, default_stream = (int(w) for w in self._seed_seq.generate_state(2, np.uint64))
        self.rng_state.params.seed = key
        self.rng_state.params.stream = default_stream if stream is None else stream
        self.rng_state.pos = 0
        self.rng_state.has_block = 0
        self._bitgen.state = <void *>&self.rng_state
        self._bitgen.next_uint64 = &_bitgen_u64
        self._bitgen.next_uint32 = &_bitgen_u32
        self._bitgen.next_double = &_bitgen_double
        self._bitgen.next_raw = &_bitgen_u64

    @property
    def state(self):
        """Seed, stream and position (in 32-bit words) as a dict."""
        return {"bit_generator": type(self).__name__,
                "state": {"seed": int(self.rng_state.params.seed),
                          "stream": int(self.rng_state.params.stream),
                          "pos": int(self.rng_state.pos)}}

    @state.setter
    def state(self, value):
        if not isinstance(value, dict) or value.get("bit_generator") != type(self).__name__:
            raise ValueError(f"state must be a dict from {type(self).__name__}.state")
        st = value["state"]
        self.rng_state.params.seed = st["seed"]
        self.rng_state.params.stream = st["stream"]
        self.rng_state.pos = st["pos"]
        self.rng_state.has_block = 0
