# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Haar-distributed orthonormal frames by Stewart's method over LAPACK.

The QR route (torch, jax) factors a Gaussian matrix G = QR with geqrf, forms Q with
orgqr and flips the columns by sign(diag R) (Mezzadri 2007).  geqrf's k-th Householder
reflector is computed from column k of the matrix already reflected by the first k - 1
reflectors; by the rotation invariance of the Gaussian that column is a fresh N(0, I)
vector independent of the earlier reflectors.  So the reflectors can be drawn directly:
the k-th from the entries k.. of column k of G, as they stand (Stewart 1980, "The
efficient generation of random orthogonal matrices with an application to condition
estimators").  That skips geqrf (half the flops of the QR route) and leaves orgqr, run here
in blocks of NB columns whose updates are GEMMs (larfb).

LAPACK comes from scipy (scipy.linalg.cython_lapack), looked up at run time through its
capsules, so scipy is needed only when an orthogonal matrix is asked for.
"""

from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from cython.parallel cimport prange
from libc.stdlib cimport free, malloc

ctypedef float complex cfloat
ctypedef double complex cdouble

ctypedef void (*larfg_c)(int*, cfloat*, cfloat*, int*, cfloat*) noexcept nogil
ctypedef void (*larfg_z)(int*, cdouble*, cdouble*, int*, cdouble*) noexcept nogil
ctypedef void (*larft_c)(char*, char*, int*, int*, cfloat*, int*, cfloat*, cfloat*,
                         int*) noexcept nogil
ctypedef void (*larft_z)(char*, char*, int*, int*, cdouble*, int*, cdouble*, cdouble*,
                         int*) noexcept nogil
ctypedef void (*larfb_c)(char*, char*, char*, char*, int*, int*, int*, cfloat*, int*,
                         cfloat*, int*, cfloat*, int*, cfloat*, int*) noexcept nogil
ctypedef void (*larfb_z)(char*, char*, char*, char*, int*, int*, int*, cdouble*, int*,
                         cdouble*, int*, cdouble*, int*, cdouble*, int*) noexcept nogil
ctypedef void (*ung2r_c)(int*, int*, int*, cfloat*, int*, cfloat*, cfloat*, int*) noexcept nogil
ctypedef void (*ung2r_z)(int*, int*, int*, cdouble*, int*, cdouble*, cdouble*,
                         int*) noexcept nogil
ctypedef void (*larfg_s)(int*, float*, float*, int*, float*) noexcept nogil
ctypedef void (*larfg_d)(int*, double*, double*, int*, double*) noexcept nogil
ctypedef void (*larft_s)(char*, char*, int*, int*, float*, int*, float*, float*,
                         int*) noexcept nogil
ctypedef void (*larft_d)(char*, char*, int*, int*, double*, int*, double*, double*,
                         int*) noexcept nogil
ctypedef void (*larfb_s)(char*, char*, char*, char*, int*, int*, int*, float*, int*,
                         float*, int*, float*, int*, float*, int*) noexcept nogil
ctypedef void (*larfb_d)(char*, char*, char*, char*, int*, int*, int*, double*, int*,
                         double*, int*, double*, int*, double*, int*) noexcept nogil
ctypedef void (*org2r_s)(int*, int*, int*, float*, int*, float*, float*, int*) noexcept nogil
ctypedef void (*org2r_d)(int*, int*, int*, double*, int*, double*, double*,
                         int*) noexcept nogil

cdef larfg_s p_slarfg = NULL
cdef larfg_d p_dlarfg = NULL
cdef larft_s p_slarft = NULL
cdef larft_d p_dlarft = NULL
cdef larfb_s p_slarfb = NULL
cdef larfb_d p_dlarfb = NULL
cdef org2r_s p_sorg2r = NULL
cdef org2r_d p_dorg2r = NULL
cdef larfg_c p_clarfg = NULL
cdef larfg_z p_zlarfg = NULL
cdef larft_c p_clarft = NULL
cdef larft_z p_zlarft = NULL
cdef larfb_c p_clarfb = NULL
cdef larfb_z p_zlarfb = NULL
cdef ung2r_c p_cung2r = NULL
cdef ung2r_z p_zung2r = NULL

# Block width of the GEMM updates.  LAPACK's own orgqr uses 32, whose rank-32 updates run
# below the GEMM rate; past 128 the BLAS-2 panel work (larft, org2r: ~3 m n NB flops)
# outgrows what wider updates save.  4096 x 4096 float32, 2 threads: NB 32 2.21 s,
# 64 1.97 s, 128 1.87 s, 256 2.21 s.
DEF NB = 128


cdef void *_capsule(dict capi, str name) except NULL:
    cap = capi[name]
    return PyCapsule_GetPointer(cap, PyCapsule_GetName(cap))


def load_lapack():
    """Resolve the LAPACK routines from scipy (once).  Raises ImportError without scipy."""
    global p_slarfg, p_dlarfg, p_slarft, p_dlarft, p_slarfb, p_dlarfb, p_sorg2r, p_dorg2r
    global p_clarfg, p_zlarfg, p_clarft, p_zlarft, p_clarfb, p_zlarfb, p_cung2r, p_zung2r
    if p_zung2r != NULL:
        return
    try:
        from scipy.linalg import cython_lapack
    except ImportError as exc:
        raise ImportError(
            "orthogonal initializers need LAPACK from scipy: pip install scipy "
            "(or pip install 'fastinit[linalg]')"
        ) from exc
    capi = cython_lapack.__pyx_capi__
    p_slarfg = <larfg_s>_capsule(capi, "slarfg")
    p_dlarfg = <larfg_d>_capsule(capi, "dlarfg")
    p_slarft = <larft_s>_capsule(capi, "slarft")
    p_dlarft = <larft_d>_capsule(capi, "dlarft")
    p_slarfb = <larfb_s>_capsule(capi, "slarfb")
    p_dlarfb = <larfb_d>_capsule(capi, "dlarfb")
    p_sorg2r = <org2r_s>_capsule(capi, "sorg2r")
    p_clarfg = <larfg_c>_capsule(capi, "clarfg")
    p_zlarfg = <larfg_z>_capsule(capi, "zlarfg")
    p_clarft = <larft_c>_capsule(capi, "clarft")
    p_zlarft = <larft_z>_capsule(capi, "zlarft")
    p_clarfb = <larfb_c>_capsule(capi, "clarfb")
    p_zlarfb = <larfb_z>_capsule(capi, "zlarfb")
    p_cung2r = <ung2r_c>_capsule(capi, "cung2r")
    p_zung2r = <ung2r_z>_capsule(capi, "zung2r")
    p_dorg2r = <org2r_d>_capsule(capi, "dorg2r")  # last: it marks the table complete


ctypedef fused real:
    float
    double
    cfloat
    cdouble


cdef void _larfg(int n, real *alpha, real *x, real *tau) noexcept nogil:
    cdef int one = 1
    if real is float:
        p_slarfg(&n, alpha, x, &one, tau)
    elif real is double:
        p_dlarfg(&n, alpha, x, &one, tau)
    elif real is cfloat:
        p_clarfg(&n, alpha, x, &one, tau)
    else:
        p_zlarfg(&n, alpha, x, &one, tau)


cdef void _org2r(int m, int n, int k, real *a, int lda, real *tau, real *work) noexcept nogil:
    cdef int info = 0
    if real is float:
        p_sorg2r(&m, &n, &k, a, &lda, tau, work, &info)
    elif real is double:
        p_dorg2r(&m, &n, &k, a, &lda, tau, work, &info)
    elif real is cfloat:
        p_cung2r(&m, &n, &k, a, &lda, tau, work, &info)
    else:
        p_zung2r(&m, &n, &k, a, &lda, tau, work, &info)


cdef void _larft(int n, int k, real *v, int ldv, real *tau, real *t, int ldt) noexcept nogil:
    cdef char direct = b'F'
    cdef char storev = b'C'
    if real is float:
        p_slarft(&direct, &storev, &n, &k, v, &ldv, tau, t, &ldt)
    elif real is double:
        p_dlarft(&direct, &storev, &n, &k, v, &ldv, tau, t, &ldt)
    elif real is cfloat:
        p_clarft(&direct, &storev, &n, &k, v, &ldv, tau, t, &ldt)
    else:
        p_zlarft(&direct, &storev, &n, &k, v, &ldv, tau, t, &ldt)


cdef void _larfb(int m, int n, int k, real *v, int ldv, real *t, int ldt, real *c, int ldc,
                 real *work, int ldwork) noexcept nogil:
    cdef char side = b'L'
    cdef char trans = b'N'
    cdef char direct = b'F'
    cdef char storev = b'C'
    if real is float:
        p_slarfb(&side, &trans, &direct, &storev, &m, &n, &k, v, &ldv, t, &ldt, c, &ldc,
                 work, &ldwork)
    elif real is double:
        p_dlarfb(&side, &trans, &direct, &storev, &m, &n, &k, v, &ldv, t, &ldt, c, &ldc,
                 work, &ldwork)
    elif real is cfloat:
        p_clarfb(&side, &trans, &direct, &storev, &m, &n, &k, v, &ldv, t, &ldt, c, &ldc,
                 work, &ldwork)
    else:
        p_zlarfb(&side, &trans, &direct, &storev, &m, &n, &k, v, &ldv, t, &ldt, c, &ldc,
                 work, &ldwork)


cdef void _orgqr(int m, int n, real *a, real *tau, real *work) noexcept nogil:
    """Q = H_0 H_1 ... H_{n-1} (m x n, column-major, lda = m) from the reflectors below
    the diagonal of a: LAPACK's dorgqr with k = n and block width NB.
    work holds (n + NB) * NB values."""
    cdef int i, j, r, ib, ki, kk
    cdef real *t = work
    cdef real *w = work + NB * NB
    if NB < n:
        ki = ((n - NB - 1) // NB) * NB  # start of the last full block
        kk = min(n, ki + NB)
        for j in range(kk, n):
            for i in range(kk):
                a[i + <Py_ssize_t>j * m] = 0
    else:
        ki = 0
        kk = 0
    if kk < n:  # the trailing columns, unblocked
        _org2r(m - kk, n - kk, n - kk, a + kk + <Py_ssize_t>kk * m, m, tau + kk, w)
    if kk > 0:
        i = ki
        while i >= 0:
            ib = min(NB, n - i)
            if i + ib < n:  # apply H_i ... H_{i+ib-1} to the columns already formed
                _larft(m - i, ib, a + i + <Py_ssize_t>i * m, m, tau + i, t, NB)
                _larfb(m - i, n - i - ib, ib, a + i + <Py_ssize_t>i * m, m, t, NB,
                       a + i + <Py_ssize_t>(i + ib) * m, m, w, n)
            _org2r(m - i, ib, ib, a + i + <Py_ssize_t>i * m, m, tau + i, w)
            for j in range(i, i + ib):
                for r in range(i):
                    a[r + <Py_ssize_t>j * m] = 0
            i -= NB


cdef inline double _real_part(real x) noexcept nogil:
    if real is cfloat or real is cdouble:
        return x.real
    else:
        return x


cdef int _haar(int m, int n, real *a, double gain) noexcept nogil:
    """Overwrite the column-major m x n Gaussian a (m >= n) with a Haar-distributed
    matrix with orthonormal columns, times gain.  Returns -1 when out of memory."""
    cdef int k, i
    cdef double s
    cdef Py_ssize_t col
    cdef real *buf = <real *>malloc((2 * n + (n + NB) * NB) * sizeof(real))
    cdef real *tau = buf
    cdef real *signs = buf + n
    if buf == NULL:
        return -1
    for k in range(n):
        col = k + <Py_ssize_t>k * m
        _larfg(m - k, a + col, a + col + 1 if k + 1 < m else a + col, tau + k)
        # a[col] is now beta = R[k, k] of the QR route, real also for complex a (the
        # [cz]larfg convention): the sign correction's factor
        signs[k] = -1 if _real_part(a[col]) < 0 else 1
    _orgqr(m, n, a, tau, buf + 2 * n)
    for k in range(n):
        s = _real_part(signs[k]) * gain
        for i in range(m):
            a[i + <Py_ssize_t>k * m] = a[i + <Py_ssize_t>k * m] * <real>s
    free(buf)
    return 0


def haar_frames(real[:, :, ::1] a, double gain, int threads=1):
    """In place over a stack a of shape (B, n, m), m >= n: each a[b], read as a
    column-major m x n matrix of N(0, 1) draws (complex: independent real and imaginary
    parts), becomes gain times a Haar-distributed (orthogonal / unitary) matrix with
    orthonormal columns (so a[b] as a C-ordered n x m array has orthonormal
    rows).  Matrices are spread over `threads` OpenMP threads; each LAPACK call may
    use BLAS threads of its own."""
    cdef Py_ssize_t b, nb = a.shape[0]
    cdef int n = a.shape[1], m = a.shape[2]
    cdef int failed = 0
    if m < n:
        raise ValueError(f"haar_frames needs m >= n, got a stack of {n} x {m}")
    if nb == 0 or n == 0:
        return
    load_lapack()
    if nb == 1 or threads <= 1:
        with nogil:
            for b in range(nb):
                failed |= _haar(m, n, &a[b, 0, 0], gain)
    else:
        for b in prange(nb, nogil=True, num_threads=threads, schedule="dynamic"):
            failed |= _haar(m, n, &a[b, 0, 0], gain)
    if failed:
        raise MemoryError("orthogonal: out of memory for the LAPACK work arrays")
