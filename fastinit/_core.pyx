# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled core: the CPU fill over kernels/fill_cpu.c (one tensor, or many in one call),
its OpenMP threads and SIMD choice, and the headers' constants as Python ints (the raw
Philox block function and the numpy BitGenerator are in fastinit/_bitgen.pyx).  Inputs are
validated by the Python layer (fastinit/_generate.py) before they reach this module."""

cimport numpy as cnp
from cython.parallel cimport parallel, prange, threadid
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int32_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport free, malloc, qsort
from libc.string cimport memcpy

import os

import numpy as np

from fastinit._validate import check_int

cnp.import_array()

cdef extern from "fill_cpu.h" nogil:
    ctypedef struct fi_params:
        uint64_t seed
        uint64_t stream
        double a, b, lo, hi, pa, pd
    void fi_fill(int dist, int dtype, const fi_params *p, uint64_t start, int64_t n,
                 char *dst, int64_t stride)
    int fi_itemsize(int dtype)
    int fi_simd_supported()
    int fi_simd_active()
    int fi_set_simd(int level)
    int FI_STREAM_VERSION

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define FI_OPENMP 1
    #else
    #define FI_OPENMP 0
    static int omp_get_max_threads(void) { return 1; }
    #endif
    """
    int FI_OPENMP
    int omp_get_max_threads() nogil

cdef extern from *:
    """
    /* Before a parallel region the calling thread (thread 0 of the team) notes its CPU
     * and CPU set (fi_team_cpus); each worker then keeps off that CPU (fi_keep_off):
     * the kernel wakes a worker onto its waker's CPU when no CPU is idle, so beside a
     * core kept busy by another process both threads of a 2-thread fill would share one
     * core (about 1.3x slower than one thread), while the busy core stays half free.  A
     * worker's mask is set again only when thread 0's CPU or set has changed.  Linux
     * only (sched_getcpu, CPU sets); elsewhere the workers go where the kernel puts them. */
    #if defined(__linux__)
    #include <sched.h>
    typedef struct { int cpu; cpu_set_t set; } fi_team;
    static void fi_team_cpus(fi_team *team)
    {
        team->cpu = -1;
        if (sched_getaffinity(0, sizeof team->set, &team->set) == 0 &&
            CPU_COUNT(&team->set) >= 2)
            team->cpu = sched_getcpu();
    }
    static void fi_keep_off(const fi_team *team, int tid)
    {
        static __thread int kept_off = -1;
        static __thread cpu_set_t kept_set;
        cpu_set_t set;
        if (tid == 0 || team->cpu < 0 || !CPU_ISSET(team->cpu, &team->set)) return;
        if (team->cpu == kept_off && CPU_EQUAL(&team->set, &kept_set)) return;
        set = team->set;
        CPU_CLR(team->cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) == 0) {
            kept_off = team->cpu;
            kept_set = team->set;
        }
    }
    #else
    typedef struct { int cpu; } fi_team;
    static void fi_team_cpus(fi_team *team) { team->cpu = -1; }
    static void fi_keep_off(const fi_team *team, int tid) { (void)team; (void)tid; }
    #endif
    """
    ctypedef struct fi_team:
        pass
    void fi_team_cpus(fi_team *team) nogil
    void fi_keep_off(const fi_team *team, int tid) nogil

STREAM_VERSION = FI_STREAM_VERSION
SIMD_NAMES = ("baseline", "avx2", "avx512")

DEF CHUNK = 65536          # elements per work item (a multiple of every group size)
DEF BATCH = 256            # work items between checks for Ctrl-C (16 Mi elements)
DEF SERIAL_BELOW = 131072  # smaller fills run on the calling thread
DEF MAX_AXES = 65          # numpy's 64 dimensions, plus the unit axis _coalesce may add

cdef int _num_threads = omp_get_max_threads()
cdef bint _fork_child = False


def _after_fork_in_child():
    """libgomp's thread pool does not survive fork(): a child entering a parallel region
    the parent had used waits forever for threads that do not exist.  A forked process
    therefore fills on its calling thread only (same bits); spawn and forkserver children
    start fresh and keep their threads."""
    global _fork_child
    _fork_child = True


os.register_at_fork(after_in_child=_after_fork_in_child)


def openmp_enabled():
    """True when the extension was compiled with OpenMP."""
    return bool(FI_OPENMP)


def get_num_threads():
    """Threads a fill uses (1 without OpenMP, and in a process made by fork())."""
    return _num_threads if FI_OPENMP and not _fork_child else 1


def set_num_threads(n):
    """Set the threads a fill uses: an integer n >= 1 (TypeError/ValueError otherwise).
    The values never depend on it.  A process made by fork() fills serially whatever n."""
    global _num_threads
    _num_threads = check_int(n, "n", 1, 1 << 31)


def simd_supported():
    """Best SIMD path this CPU runs: 'avx512', 'avx2' or 'baseline'."""
    return SIMD_NAMES[fi_simd_supported()]


def simd_active():
    """SIMD path the fills use."""
    return SIMD_NAMES[fi_simd_active()]


def set_simd(name):
    """Choose the SIMD path ('avx512', 'avx2', 'baseline' or 'auto'), capped at what the
    CPU supports; returns the path set.  Every path gives the same bits."""
    if name == "auto":
        return SIMD_NAMES[fi_set_simd(-1)]
    if name not in SIMD_NAMES:
        raise ValueError(f"name must be one of {SIMD_NAMES + ('auto',)}, got {name!r}")
    return SIMD_NAMES[fi_set_simd(SIMD_NAMES.index(name))]


def fill(int dist, int dtype, tuple params, uint64_t offset, cnp.ndarray out,
         tuple shape, tuple strides, tuple index_steps, int threads=0):
    """Fill `out` (shape, byte strides and logical-index strides already coalesced by the
    caller, last axis innermost with index step 1): the element at multi-index i gets
    logical element offset + sum_k i_k index_steps[k] of the stream (row-major steps of
    out's shape for a whole tensor, the global tensor's for a shard box).  `threads` > 0
    overrides set_num_threads for this call (the bits do not depend on it)."""
    cdef fi_params p
    p.seed, p.stream, p.a, p.b, p.lo, p.hi, p.pa, p.pd = params
    cdef int nd = len(shape)
    cdef int64_t dims[MAX_AXES]
    cdef int64_t steps[MAX_AXES]
    cdef uint64_t isteps[MAX_AXES]
    cdef int k
    if not 1 <= nd <= MAX_AXES:
        raise ValueError(f"out must have at most {MAX_AXES} axes after merging, got {nd}")
    for k in range(nd):
        dims[k] = shape[k]
        steps[k] = strides[k]
        isteps[k] = index_steps[k]
    cdef int64_t m = dims[nd - 1]
    cdef int64_t stride = steps[nd - 1]
    cdef int64_t rows = 1
    for k in range(nd - 1):
        rows *= dims[k]
    if rows * m == 0:
        return
    cdef int64_t per_row = (m + CHUNK - 1) // CHUNK
    cdef int64_t items = rows * per_row
    cdef char *base = <char *>cnp.PyArray_DATA(out)
    cdef int nt = (threads if threads > 0 else _num_threads) if rows * m >= SERIAL_BELOW else 1
    if _fork_child:
        nt = 1
    cdef int64_t t0, t1, t
    cdef fi_team team
    t0 = 0
    while t0 < items:
        t1 = min(items, t0 + BATCH)
        if nt > 1:
            # work items of 128-512 KiB handed out one at a time: a thread slowed by
            # another process on its core takes fewer (the bits never depend on who fills)
            fi_team_cpus(&team)
            with nogil, parallel(num_threads=nt):
                fi_keep_off(&team, threadid())
                for t in prange(t0, t1, schedule="dynamic"):
                    _fill_item(dist, dtype, &p, offset, base, nd, dims, steps, isteps, m,
                               stride, per_row, t)
        else:
            with nogil:
                for t in range(t0, t1):
                    _fill_item(dist, dtype, &p, offset, base, nd, dims, steps, isteps, m,
                               stride, per_row, t)
        t0 = t1
        if t0 < items and PyErr_CheckSignals() != 0:
            raise KeyboardInterrupt


cdef inline void _fill_item(int dist, int dtype, const fi_params *p, uint64_t offset,
                            char *base, int nd, int64_t *dims, int64_t *steps,
                            uint64_t *isteps, int64_t m, int64_t stride, int64_t per_row,
                            int64_t t) noexcept nogil:
    cdef int64_t row = t // per_row
    cdef int64_t c = (t - row * per_row) * CHUNK
    cdef int64_t n = min(CHUNK, m - c)
    cdef int64_t r = row
    cdef int64_t byte = c * stride
    cdef uint64_t index = <uint64_t>c
    cdef int k
    for k in range(nd - 2, -1, -1):
        byte += (r % dims[k]) * steps[k]
        index += <uint64_t>(r % dims[k]) * isteps[k]
        r = r // dims[k]
    fi_fill(dist, dtype, p, offset + index, n, base + byte, stride)


DEF DIST_CONSTANT = 255
CONSTANT = DIST_CONSTANT  # fill_many's dist code of a constant: each element holds seed[i]'s bits

cdef struct _span:
    uint64_t start, end
    int64_t job


cdef int _span_cmp(const void *x, const void *y) noexcept nogil:
    cdef uint64_t a = (<const _span *>x).start, b = (<const _span *>y).start
    return (a > b) - (a < b)


cdef struct _jobs:
    const int32_t *dist
    const int32_t *dtype
    const uint64_t *seed
    const uint64_t *stream
    const double *consts
    const uint64_t *offset
    const uint64_t *address
    const int64_t *count
    const int64_t *item_job
    const int64_t *item_start


def fill_many(const int32_t[::1] dist, const int32_t[::1] dtype, const uint64_t[::1] seed,
              const uint64_t[::1] stream, const double[:, ::1] consts,
              const uint64_t[::1] offset, const uint64_t[::1] address,
              const int64_t[::1] count, int threads=0):
    """Fill n C-contiguous buffers in one call: buffer i, count[i] elements of dtype code
    dtype[i] at address[i], gets bit for bit what `fill` gives it alone (logical elements
    offset[i] .. offset[i] + count[i] - 1 of stream (seed[i], stream[i]) of dist[i] with
    consts[i] = (a, b, lo, hi, pa, pd)); dist CONSTANT writes the low itemsize bytes of
    seed[i] to every element.  Every buffer is cut into CHUNK-element items, filled in
    parallel regions of up to BATCH * CHUNK elements with Ctrl-C checked between them
    (the calling thread alone below SERIAL_BELOW elements in all; `threads` > 0
    overrides set_num_threads).  Checked before anything is written
    (ValueError naming the argument): equal lengths, consts of 6 columns, a known
    (dist, dtype) pair, count >= 0, the index range below 2**64, non-null addresses and
    buffers that do not overlap.  The addresses must be those of live writeable memory:
    the caller's duty."""
    cdef Py_ssize_t n = dist.shape[0]
    cdef Py_ssize_t i
    cdef Py_ssize_t rows[7]
    rows[:] = [dtype.shape[0], seed.shape[0], stream.shape[0], consts.shape[0],
               offset.shape[0], address.shape[0], count.shape[0]]
    for i in range(7):
        if rows[i] != n:
            name = ("dtype", "seed", "stream", "consts", "offset", "address", "count")[i]
            raise ValueError(f"{name} must have {n} rows like dist, got {rows[i]}")
    if consts.shape[1] != 6:
        raise ValueError(f"consts must have 6 columns (a, b, lo, hi, pa, pd), got "
                         f"{consts.shape[1]}")
    cdef int64_t items = 0, total = 0
    for i in range(n):
        if not (dist[i] == DIST_CONSTANT and FI_DT_U32 <= dtype[i] <= FI_DT_F64
                or dist[i] == FI_DIST_BITS and dtype[i] == FI_DT_U32
                or FI_DIST_UNIFORM <= dist[i] <= FI_DIST_TRUNCNORMAL
                and FI_DT_F16 <= dtype[i] <= FI_DT_F64):
            raise ValueError(f"(dist, dtype)[{i}] must be (DIST_BITS, DT_U32), (DIST_UNIFORM.."
                             f"DIST_TRUNCNORMAL, DT_F16..DT_F64) or (CONSTANT, any dtype), "
                             f"got ({dist[i]}, {dtype[i]})")
        if count[i] < 0:
            raise ValueError(f"count[{i}] must be >= 0, got {count[i]}")
        if count[i] and offset[i] > 0xFFFFFFFFFFFFFFFF - <uint64_t>(count[i] - 1):
            raise ValueError(f"offset[{i}] + count[{i}] must be <= 2**64, got "
                             f"{offset[i]} + {count[i]}")
        if count[i] and (address[i] == 0 or <uint64_t>count[i] * fi_itemsize(dtype[i])
                         > 0xFFFFFFFFFFFFFFFF - address[i]):
            raise ValueError(f"address[{i}] must be a non-null address of count[{i}] "
                             f"elements, got {address[i]}")
        items += (count[i] + CHUNK - 1) // CHUNK
        total += count[i]
    if items == 0:
        return
    cdef _span *spans = <_span *>malloc(n * sizeof(_span))
    cdef int64_t *item_job = <int64_t *>malloc(2 * items * sizeof(int64_t))
    cdef int64_t m = 0, t, t0, t1, c
    cdef int nt
    cdef fi_team team
    cdef _jobs jobs
    try:
        if spans == NULL or item_job == NULL:
            raise MemoryError()
        for i in range(n):
            if count[i]:
                spans[m].start = address[i]
                spans[m].end = address[i] + <uint64_t>count[i] * fi_itemsize(dtype[i])
                spans[m].job = i
                m += 1
        qsort(spans, m, sizeof(_span), _span_cmp)
        for t in range(m - 1):
            if spans[t].end > spans[t + 1].start:
                raise ValueError(f"address: buffers {spans[t].job} and {spans[t + 1].job} "
                                 "overlap")
        t = 0
        for i in range(n):
            c = 0
            while c < count[i]:
                item_job[t] = i
                item_job[items + t] = c
                t += 1
                c += CHUNK
        jobs.dist, jobs.dtype, jobs.seed, jobs.stream = &dist[0], &dtype[0], &seed[0], &stream[0]
        jobs.consts, jobs.offset, jobs.address, jobs.count = \
            &consts[0, 0], &offset[0], &address[0], &count[0]
        jobs.item_job, jobs.item_start = item_job, item_job + items
        nt = (threads if threads > 0 else _num_threads) if total >= SERIAL_BELOW else 1
        if _fork_child:
            nt = 1
        t0 = 0
        while t0 < items:  # parallel regions of up to BATCH * CHUNK elements
            t1, c = t0, 0
            while t1 < items and c < BATCH * CHUNK:
                c += min(CHUNK, count[item_job[t1]] - item_job[items + t1])
                t1 += 1
            if nt > 1:
                fi_team_cpus(&team)
                with nogil, parallel(num_threads=nt):
                    fi_keep_off(&team, threadid())
                    for t in prange(t0, t1, schedule="dynamic"):
                        _many_item(&jobs, t)
            else:
                with nogil:
                    for t in range(t0, t1):
                        _many_item(&jobs, t)
            t0 = t1
            if t0 < items and PyErr_CheckSignals() != 0:
                raise KeyboardInterrupt
    finally:
        free(spans)
        free(item_job)


cdef inline void _many_item(const _jobs *j, int64_t t) noexcept nogil:
    """Item t of fill_many: CHUNK elements (fewer at a buffer's end) of one buffer."""
    cdef int64_t i = j.item_job[t]
    cdef int64_t c = j.item_start[t]
    cdef int64_t n = min(CHUNK, j.count[i] - c)
    cdef int size = fi_itemsize(j.dtype[i])
    cdef char *dst = <char *>j.address[i] + c * size
    cdef fi_params p
    cdef uint16_t v16
    cdef uint32_t v32
    cdef int64_t k
    if j.dist[i] == DIST_CONSTANT:
        v16, v32 = <uint16_t>j.seed[i], <uint32_t>j.seed[i]
        for k in range(n):
            if size == 2:
                memcpy(dst + 2 * k, &v16, 2)
            elif size == 4:
                memcpy(dst + 4 * k, &v32, 4)
            else:
                memcpy(dst + 8 * k, &j.seed[i], 8)
        return
    p.seed, p.stream = j.seed[i], j.stream[i]
    p.a, p.b, p.lo, p.hi = j.consts[6 * i], j.consts[6 * i + 1], j.consts[6 * i + 2], \
        j.consts[6 * i + 3]
    p.pa, p.pd = j.consts[6 * i + 4], j.consts[6 * i + 5]
    fi_fill(j.dist[i], j.dtype[i], &p, j.offset[i] + <uint64_t>c, n, dst, size)


# ---- the headers' constants as Python ints (declared in fastinit/_kernels.pxd) ----

from fastinit._kernels cimport (
    FI_DIST_BITS, FI_DIST_NORMAL, FI_DIST_TRUNCNORMAL, FI_DIST_UNIFORM, FI_DIST_UNIFORM_LOWP,
    FI_DT_BF16, FI_DT_F16, FI_DT_F32, FI_DT_F64, FI_DT_U32, FI_PHILOX_M0, FI_PHILOX_M1,
    FI_PHILOX_W0, FI_PHILOX_W1,
)

DIST_BITS, DIST_UNIFORM = FI_DIST_BITS, FI_DIST_UNIFORM
DIST_NORMAL, DIST_TRUNCNORMAL = FI_DIST_NORMAL, FI_DIST_TRUNCNORMAL
DIST_UNIFORM_LOWP = FI_DIST_UNIFORM_LOWP
DT_U32, DT_F16, DT_BF16, DT_F32, DT_F64 = FI_DT_U32, FI_DT_F16, FI_DT_BF16, FI_DT_F32, FI_DT_F64
PHILOX_M0, PHILOX_M1 = FI_PHILOX_M0, FI_PHILOX_M1
PHILOX_W0, PHILOX_W1 = FI_PHILOX_W0, FI_PHILOX_W1
