"""Stateless generation: every element is a pure function of (seed, stream, index).

The transforms live in kernels/fi_dist.h; this module validates arguments, derives the
per-call constants (clamps in the output precision, truncation probabilities) and hands
the output buffer to the compiled fill."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import DTypeLike

from . import _core
from ._validate import (
    BFLOAT16,
    FLOAT_DTYPES,
    U64_LIMIT,
    check_float_dtype,
    check_int,
    check_out,
    check_real,
    check_shape,
    check_u64,
    value_max,
)

Shape = int | Sequence[int] | None  # None: the shape of out

# the codes of kernels/fi_dist.h (through fastinit/_kernels.pxd)
DIST_BITS, DIST_UNIFORM = _core.DIST_BITS, _core.DIST_UNIFORM
DIST_NORMAL, DIST_TRUNCNORMAL = _core.DIST_NORMAL, _core.DIST_TRUNCNORMAL
DIST_UNIFORM_LOWP = _core.DIST_UNIFORM_LOWP  # the uniform of a float16/bfloat16 output
DTYPE_CODES = {np.dtype(np.uint32): _core.DT_U32, np.dtype(np.float16): _core.DT_F16,
               BFLOAT16: _core.DT_BF16, np.dtype(np.float32): _core.DT_F32,
               np.dtype(np.float64): _core.DT_F64}
_SQRT1_2 = math.sqrt(0.5)


def _ncdf(x: float) -> float:
    """Standard normal CDF, accurate in the lower tail."""
    return 0.5 * math.erfc(-x * _SQRT1_2)


def _next_toward(x: float, dtype: np.dtype, up: bool) -> float:
    """The neighbour of `x` (a value of `dtype`) toward +inf or -inf, in `dtype`."""
    if dtype == BFLOAT16:
        bits = int(np.array(x, dtype=BFLOAT16).view(np.uint16))
        if x == 0.0:
            return float(np.array(0x0001 if up else 0x8001, np.uint16).view(BFLOAT16))
        step = 1 if (x > 0) == up else -1
        return float(np.array(bits + step, np.uint16).view(BFLOAT16))
    return float(np.nextafter(dtype.type(x), dtype.type(np.inf if up else -np.inf)))


def _inner_bounds(low: float, high: float, dtype: np.dtype, open_high: bool):
    """Smallest value of `dtype` >= low and largest <= high (< high when open_high); a
    bound beyond dtype's finite range gives its largest value."""
    top = _LIMITS[dtype][0]
    lo = float(np.array(max(low, -top)).astype(dtype))
    hi = float(np.array(min(high, top)).astype(dtype))
    if lo < low:
        lo = _next_toward(lo, dtype, up=True)
    if hi > high or (open_high and hi >= high):
        hi = _next_toward(hi, dtype, up=False)
    return lo, hi


def _prepare(shape, size_name, dtype, out, default_dtype, device=None):
    """Resolve (shape, dtype, out) the way numpy does: out fixes dtype and shape.  A CUDA
    out (CuPy array, torch CUDA tensor, CUDA DLPack buffer) or device="cuda[:N]" selects
    the CUDA backend: out then comes back as a backends.cuda.DeviceOut."""
    shape = None if shape is None else check_shape(shape, size_name)
    if type(out) is np.ndarray and device is None:  # a host array: no CUDA look-ups
        dtype = _fill_dtype(dtype, out, default_dtype)
        return shape, dtype, check_out(out, dtype, shape)
    from .backends import cuda

    on_cuda = isinstance(out, cuda.DeviceOut) or cuda.is_cuda_array(out)
    if device is not None and str(device) != "cpu":
        cuda.device_index(device)  # the spelling, before anything else
        if out is not None and not on_cuda:
            raise ValueError(f"device={device!r} but out is a host array")
    torch_out = None  # a torch CUDA tensor given as out: as_out's check and version bump
    if on_cuda and not isinstance(out, cuda.DeviceOut):
        from ._variance import _is_torch, check_torch_view

        if _is_torch(out):
            torch_out = out
            check_torch_view(out, "out")
        out = cuda.wrap_out(out)
    dtype = _fill_dtype(dtype, out if isinstance(out, np.ndarray | cuda.DeviceOut) else None,
                        default_dtype)
    if on_cuda:
        if out.dtype != dtype:
            raise TypeError(f"out must have dtype {dtype.name}, got {out.dtype.name}")
        if shape is not None and out.shape != shape:
            raise ValueError(f"out must have shape {shape}, got {out.shape}")
        if torch_out is not None:
            from ._variance import mark_torch_written

            mark_torch_written(torch_out)
    elif out is not None:
        out = check_out(out, dtype, shape)
    elif device is not None and str(device) != "cpu":
        if shape is None:
            raise ValueError("shape is required without out")
        out = cuda.new_out(shape, dtype, device)
    return shape, dtype, out


_UINT32 = np.dtype(np.uint32)


def _fill_dtype(dtype, out, default_dtype):
    """The dtype of a fill: ``dtype``, else out's (a numpy array or DeviceOut, or None),
    else the default; raw words (random_bits) are uint32, every other fill a float."""
    dtype_name = "dtype"
    if dtype is None and out is not None:
        dtype, dtype_name = out.dtype, "out.dtype"
    elif dtype is None:
        dtype = default_dtype
    return _UINT32 if default_dtype == np.uint32 else check_float_dtype(dtype, dtype_name)


_BOX: contextvars.ContextVar = contextvars.ContextVar("fastinit_shard_box", default=None)


@contextlib.contextmanager
def shard(global_shape: Sequence[int], offsets: Sequence[int],
          shape: Sequence[int] | None = None) -> Iterator[None]:
    """Inside the block every fill writes its output as the box ``out.shape`` at
    ``offsets`` of a global tensor of ``global_shape``: the values equal
    ``global[offsets[0]:offsets[0] + out.shape[0], ...]`` of the unsharded fill bit for bit,
    and initializers read fans (and orthogonal/sparse/dirac their structure) from the
    global shape.  Functions that allocate their result (called with the global shape)
    return the box of ``shape``.  For tensor-parallel and FSDP shards, jax shardings,
    dask chunks, streamed writes.

    Parameters
    ----------
    global_shape : sequence of int
        Shape of the whole tensor.
    offsets : sequence of int
        Global index of the box's first element along each axis.
    shape : sequence of int, optional
        The box's shape, needed by functions that allocate their result.

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> whole = fastinit.normal((6, 4), seed=1)
    >>> local = np.empty((3, 2), np.float32)
    >>> with fastinit.shard((6, 4), (3, 2)):
    ...     _ = fastinit.normal(None, seed=1, out=local)
    >>> bool((local == whole[3:, 2:]).all())
    True
    """
    gs = check_shape(global_shape, "global_shape")
    offs = check_shape(offsets, "offsets")
    if len(offs) != len(gs):
        raise ValueError(f"offsets must have {len(gs)} entries like global_shape, got {offs}")
    local = None if shape is None else check_shape(shape, "shape")
    if local is not None and (len(local) != len(gs) or any(
            o + n > t for o, n, t in zip(offs, local, gs, strict=True))):
        raise ValueError(f"the box {local} at {offs} exceeds the global shape {gs}")
    token = _BOX.set((gs, offs, local))
    try:
        yield
    finally:
        _BOX.reset(token)


@contextlib.contextmanager
def unsharded():
    """Suspend an enclosing :func:`shard` block (to build a whole tensor inside it)."""
    token = _BOX.set(None)
    try:
        yield
    finally:
        _BOX.reset(token)


def current_box():
    """(global_shape, offsets) of the enclosing :func:`shard` block, or None."""
    box = _BOX.get()
    return None if box is None else box[:2]


def aligned_empty(shape, dtype, align: int = 64) -> np.ndarray:
    """np.empty on an ``align``-byte boundary (JAX and torch take such buffers without a
    copy; numpy's own allocations are only 16-byte aligned)."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + align, np.uint8)
    start = (-raw.ctypes.data) % align
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def new_array(shape, dtype) -> np.ndarray:
    """A 64-byte aligned np.empty(shape), or the local box of an enclosing :func:`shard`
    block when ``shape`` is its global shape."""
    shape = check_shape(shape, "shape")
    box = _BOX.get()
    if box is None:
        return aligned_empty(shape, dtype)
    global_shape, _, local = box
    if shape != global_shape:
        raise ValueError(f"inside fastinit.shard({global_shape}, ...) the shape must be the "
                         f"global shape, got {shape}")
    if local is None:
        raise ValueError("fastinit.shard(...) needs shape= for functions that allocate")
    return aligned_empty(local, dtype)


def logical_shape(shape):
    """The global shape inside a :func:`shard` block, else ``shape``."""
    box = _BOX.get()
    return shape if box is None else box[0]


def _row_major_steps(shape):
    return tuple(math.prod(shape[k + 1:]) for k in range(len(shape)))


def _check_box(out, global_shape, offsets):
    """out's box fits the global shape (ValueError naming the axis otherwise)."""
    if len(out.shape) != len(global_shape):
        raise ValueError(
            f"out has {out.ndim} dimensions but the shard's global_shape {global_shape} "
            f"has {len(global_shape)}"
        )
    for ax, (n, off, tot) in enumerate(zip(out.shape, offsets, global_shape, strict=True)):
        if off + n > tot:
            raise ValueError(
                f"shard box exceeds the global shape on axis {ax}: offset {off} + size {n} "
                f"> {tot}"
            )


def _box_runs(out, global_shape, offsets):
    """(view, global index of its first element) for each run of out that is contiguous
    in the global row-major index: the trailing axes the box spans fully, plus one (the
    CUDA backend launches one fill per run)."""
    _check_box(out, global_shape, offsets)
    j = len(out.shape) - 1  # the innermost axis the box does not span fully, or 0
    while j > 0 and out.shape[j] == global_shape[j]:
        j -= 1
    strides = _row_major_steps(global_shape)
    base = sum(o * st for o, st in zip(offsets, strides, strict=True))
    for idx in np.ndindex(*out.shape[:j]):
        start = base + sum(i * st for i, st in zip(idx, strides, strict=False))
        yield out[idx], start


_NO_CONSTS = (0.0,) * 6


def _run(dist, dtype, shape, out, seed, stream, offset, consts=_NO_CONSTS):
    """Check the index range, allocate if needed, and fill (the box of the enclosing
    :func:`shard` block, if any) with the law's constants ``consts`` (:class:`_Law`)."""
    seed = check_u64(seed, "seed")
    stream = check_u64(stream, "stream")
    offset = check_u64(offset, "offset")
    if out is None:
        out = new_array(shape, dtype)
    box = current_box()
    # the addressable range (kernels/README.md): element indices offset .. offset + size - 1
    # of the whole (global) tensor, all below 2**64
    total = out.size if box is None else math.prod(box[0])
    if offset + total > U64_LIMIT:
        raise ValueError(f"offset + size must be <= 2**64, got {offset} + {total}")
    if type(out) is not np.ndarray:  # a backends.cuda.DeviceOut
        return _run_cuda(dist, out, offset, (seed, stream, *consts))
    if box is None and out.flags.c_contiguous:  # one run: what _coalesce makes of it
        if total and _LOCAL.deferred is not None:
            _LOCAL.deferred.append((dist, DTYPE_CODES[dtype], seed, stream, consts, offset, out))
        elif total:
            _core.fill(dist, DTYPE_CODES[dtype], (seed, stream, *consts), offset,
                       out, (total,), (out.itemsize,), (1,), _LOCAL.threads)
        return out
    if box is None:
        start, index_steps = 0, _row_major_steps(out.shape)
    else:
        _check_box(out, *box)
        index_steps = _row_major_steps(box[0])
        start = sum(o * st for o, st in zip(box[1], index_steps, strict=True))
    if out.size == 0:
        return out
    dims, steps, isteps = _coalesce(out, index_steps)
    _core.fill(dist, DTYPE_CODES[dtype], (seed, stream, *consts), offset + start,
               out, dims, steps, isteps, _LOCAL.threads)
    return out


class _Local(threading.local):
    threads = 0  # OpenMP threads of this Python thread's CPU fills (0: set_num_threads)
    deferred = None  # a list inside deferred_fills()


_LOCAL = _Local()


def fill_out(dist, out, law, seed, stream, offset=0):
    """What uniform/normal/truncated_normal do after their argument checks, for callers
    that made them already: ``out`` from _variance.as_out (or a new array), ``law`` from
    the matching _*_params for out.dtype (seed, stream and the index range are checked
    here, as in the public functions)."""
    return _run(dist, out.dtype, None, out, seed, stream, offset, law.consts)


@contextlib.contextmanager
def fill_threads(n: int):
    """CPU fills started by this Python thread use ``n`` OpenMP threads inside the block
    (workers that each fill their own buffer: 1); the bits never depend on it."""
    n = check_int(n, "n", 1, 1 << 31)
    previous = _LOCAL.threads
    _LOCAL.threads = n
    try:
        yield
    finally:
        _LOCAL.threads = previous


@contextlib.contextmanager
def deferred_fills():
    """Inside the block, a CPU fill of a whole C-contiguous array by this Python thread is
    checked as usual but not made: it is appended, as (dist, dtype code, seed, stream,
    consts, offset, out), to the list the block yields (for _core.fill_many)."""
    previous = _LOCAL.deferred
    _LOCAL.deferred = []
    try:
        yield _LOCAL.deferred
    finally:
        _LOCAL.deferred = previous


def _run_cuda(dist, out, offset, params):
    """The CUDA backend's fill of a DeviceOut (the box of an enclosing shard block, if
    any); returns what the caller passed as out."""
    from .backends import cuda

    box = current_box()
    if box is None:
        cuda.fill(dist, params, offset, out)
    else:
        for view, start in _box_runs(out.array, *box):
            cuda.fill(dist, params, offset, out, view, start)
    return out.obj


def _coalesce(a: np.ndarray, index_steps):
    """Shape, byte strides and logical-index strides of `a` in row-major order, with axes
    of length 1 dropped and adjacent axes merged where both memory and the index allow (a
    C-contiguous whole tensor becomes one axis).  The innermost axis has index step 1."""
    dims: list[int] = []
    steps: list[int] = []
    isteps: list[int] = []
    for d, s, i in zip(a.shape, a.strides, index_steps, strict=True):
        if d == 1:
            continue
        if dims and steps[-1] == s * d and isteps[-1] == i * d:  # one inner run
            dims[-1] *= d
            steps[-1], isteps[-1] = s, i
        else:
            dims.append(d)
            steps.append(s)
            isteps.append(i)
    if not dims or isteps[-1] != 1:  # elements of a run must be consecutive in the stream
        dims.append(1)
        steps.append(a.itemsize)
        isteps.append(1)
    return tuple(dims), tuple(steps), tuple(isteps)


# Largest |z| the normal transforms reach: sqrt(-2 log u1) at the smallest u1, 2^-32 in the
# 32-bit path (6.6604) and 2^-53 for float64 (8.572), rounded up.
_ZMAX_W32, _ZMAX_F64 = 6.661, 8.572
_FLOAT64 = np.dtype(np.float64)
# per float dtype: (its largest finite value, that of its working precision, largest |z|)
_LIMITS = {dt: (value_max(dt), value_max(dt), _ZMAX_F64) if dt == _FLOAT64 else
           (value_max(dt), value_max(np.float32), _ZMAX_W32) for dt in FLOAT_DTYPES}


def fill_limits(dtype) -> tuple[float, float, float]:
    """(largest finite value of dtype, that of the fills' working precision, largest |z|
    of the normal transform) for a float dtype: the one statement of what a fill can
    represent, read by the initializers' checks (fastinit/_variance.py)."""
    return _LIMITS[np.dtype(dtype)]


_sign = functools.partial(math.copysign, 1.0)
_CONST_NAMES = ("a", "b", "lo", "hi", "pa", "pd")


class _Law(Mapping):
    """The constants of a law in kernels/fi_dist.h's fi_params: a read-only mapping by
    name (absent ones are 0) and ``consts``, the tuple (a, b, lo, hi, pa, pd)."""

    __slots__ = ("_named", "consts")

    def __init__(self, **named):
        self._named = named
        self.consts = tuple(named.get(k, 0.0) for k in _CONST_NAMES)

    def __getitem__(self, key):
        return self._named[key]

    def __iter__(self):
        return iter(self._named)

    def __len__(self):
        return len(self._named)


def _memo(law):
    """law(*floats, dtype) remembered per argument tuple (the sign of a zero included, as
    it reaches the bits); calls that raise are not remembered."""
    cache = {}

    @functools.wraps(law)
    def memo(*args):
        key = args if 0.0 not in args[:-1] else args + tuple(map(_sign, args[:-1]))
        hit = cache.get(key)
        if hit is None:
            hit = law(*args)
            if len(cache) < 4096:
                cache[key] = hit
        return hit

    return memo


def _uniform_params(low, high, dtype):
    """Uniform on [low, high): the span high - low must be finite in float64 and both
    bounds inside dtype's finite range.  A float32 span beyond float's range (e.g.
    [-3e38, 3e38)) is formed in double by the kernel (kernels/fi_dist.h)."""
    return _uniform_law(check_real(low, "low"), check_real(high, "high"), dtype)


@_memo
def _uniform_law(low, high, dtype):
    if not low <= high:
        raise ValueError(f"low must be <= high, got low={low}, high={high}")
    span = high - low
    if not math.isfinite(span):
        raise ValueError(f"high - low must be finite, got {span}")
    top = _LIMITS[dtype][0]
    if low < -top or high > top:
        raise ValueError(f"low={low}, high={high} reach beyond the finite range of "
                         f"{dtype.name} (+-{top:g})")
    if low == high:
        return _Law(a=low, b=0.0, lo=low, hi=low)
    lo, hi = _inner_bounds(low, high, dtype, open_high=True)
    if lo > hi:
        raise ValueError(f"[low, high) = [{low}, {high}) holds no {dtype.name} value")
    return _Law(a=low, b=span, lo=lo, hi=hi)


def _normal_params(loc, scale, dtype=_FLOAT64):
    """Normal N(loc, scale^2): every value loc + scale z, |z| <= zmax, must be finite in
    dtype, i.e. |loc| + zmax scale <= its largest value."""
    return _normal_law(check_real(loc, "loc"), check_real(scale, "scale"), dtype)


@_memo
def _normal_law(loc, scale, dtype):
    if scale < 0:
        raise ValueError(f"scale must be >= 0, got {scale}")
    top, _, zmax = _LIMITS[dtype]
    if abs(loc) + zmax * scale > top:
        raise ValueError(f"loc={loc}, scale={scale} give values up to |loc| + {zmax} scale, "
                         f"beyond the largest {dtype.name} ({top:g})")
    return _Law(a=loc, b=scale)


def _truncnormal_params(loc, scale, a, b, dtype):
    """Truncated normal: the values it can reach, [a, b] within loc +- zmax scale, must lie
    in dtype's finite range, and loc + scale z must stay finite in the working precision
    for the z in [alpha, beta].  a = -inf and b = +inf are accepted (one- or two-sided:
    (0, inf) with loc 0 is the half normal); the clamp bounds are then dtype's extremes."""
    return _truncnormal_law(check_real(loc, "loc"), check_real(scale, "scale"),
                            check_real(a, "a", allow_inf=True),
                            check_real(b, "b", allow_inf=True), dtype)


@_memo
def _truncnormal_law(loc, scale, a, b, dtype):
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    if not a < b:
        raise ValueError(f"a must be < b, got a={a}, b={b}")
    alpha, beta = (a - loc) / scale, (b - loc) / scale
    top, work, zmax = _LIMITS[dtype]
    if (abs(loc) + scale * min(zmax, max(abs(alpha), abs(beta))) > work
            or max(a, loc - zmax * scale) < -top or min(b, loc + zmax * scale) > top):
        raise ValueError(f"loc={loc}, scale={scale}, a={a}, b={b} reach beyond the finite "
                         f"range of {dtype.name} (+-{top:g})")
    sign = 1.0
    if alpha > 0:  # the interval lies in the upper half: sample its mirror image
        alpha, beta, sign = -beta, -alpha, -1.0
    pa = _ncdf(alpha)
    pd = _ncdf(beta) - pa
    if not pd > 1e-300:
        raise ValueError(
            f"[a, b] = [{a}, {b}] lies beyond 37 standard deviations of loc={loc}; "
            "its normal probability underflows in double precision"
        )
    lo, hi = _inner_bounds(a, b, dtype, open_high=False)
    if lo > hi:
        raise ValueError(f"[a, b] = [{a}, {b}] holds no {dtype.name} value")
    return _Law(a=loc, b=sign * scale, lo=lo, hi=hi, pa=pa, pd=pd)


# ---- public stateless functions ----

def uniform(shape: Shape, low: float = 0.0, high: float = 1.0, *, seed: int, stream: int = 0,
            offset: int = 0, dtype: DTypeLike | None = None, out: Any = None,
            device: str | None = None) -> Any:
    """Uniform values on [low, high), element i a pure function of (seed, stream, offset + i).

    Parameters
    ----------
    shape : int or tuple of ints
        Shape of the result (must equal ``out.shape`` when both are given; may be None
        with ``out``).
    low, high : float
        Bounds, low <= high, inside the finite range of ``dtype`` and with ``high - low``
        finite in float64 (ValueError otherwise).  Values are clamped into the values of
        ``dtype`` in [low, high), so rounding to a low precision never yields ``high``;
        low == high gives that constant rounded to ``dtype``.
    seed : int in [0, 2**64)
        Philox key.
    stream : int in [0, 2**64)
        Independent stream for the same seed.
    offset : int
        Logical index of the first element: ``uniform((n,), seed=s, offset=k)`` equals
        ``uniform((k + n,), seed=s)[k:]`` bit for bit.  ``offset + size <= 2**64`` (the
        global size inside :func:`shard`), so the last element is index 2**64 - 1.
    dtype : float16, bfloat16, float32 (default, or ``out.dtype``), float64, in native
        byte order (integer words come from :func:`random_bits` only; TypeError).
    out : numpy.ndarray, optional
        Filled in place, in logical row-major order whatever its memory layout (any ndim).
        An out in which two elements may share memory (a stride-0 or broadcast axis, any
        view whose axes, ordered by ``|stride|``, do not each step past the inner ones) is a
        ValueError, as in torch.  A CuPy
        array, torch CUDA tensor or CUDA DLPack buffer is filled on its device (the same
        bits, fastinit/backends/cuda.py).
    device : "cpu" (default), "cuda" or "cuda:N"
        Where a new result is made (a CuPy array on CUDA).

    Returns
    -------
    numpy.ndarray
        ``out`` when given, else a new 64-byte aligned array (a CuPy array on CUDA).

    Notes
    -----
    32-bit working precision: element i is ``low + (high - low) * (w >> 8) 2^-24`` with
    w word ``i % 4`` of Philox block ``i // 4``; float16/bfloat16 round
    ``low + (high - low) (2 (w >> 8) + 1) 2^-25`` (in double) once to nearest even, so each
    of their values has the probability of the real uniform rounding to it, to 2^-24.
    float64 takes 53 bits of two words of block ``i // 2``.

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> x = fastinit.uniform((2, 3), -1.0, 1.0, seed=0)
    >>> x.dtype.name, x.shape
    ('float32', (2, 3))
    >>> x.astype(float).round(4).tolist()
    [[-0.2019, 0.761, 0.4714], [0.211, 0.9445, -0.2758]]

    Any slice of a tensor is generated on its own with ``offset``:

    >>> tail = fastinit.uniform(4, -1.0, 1.0, seed=0, offset=2)
    >>> bool((tail == x.reshape(-1)[2:]).all())
    True
    """
    shape, dtype, out = _prepare(shape, "shape", dtype, out, np.float32, device)
    return _run(DIST_UNIFORM, dtype, shape, out, seed, stream, offset,
                _uniform_params(low, high, dtype).consts)


def normal(shape: Shape, mean: float = 0.0, std: float = 1.0, *, seed: int, stream: int = 0,
           offset: int = 0, dtype: DTypeLike | None = None, out: Any = None,
           device: str | None = None) -> Any:
    """Normal values N(mean, std^2), element i a pure function of (seed, stream, offset + i).

    Parameters
    ----------
    shape : int or tuple of ints
        Shape of the result (None with ``out``).
    mean, std : float
        Location and scale, std >= 0.  ValueError when ``|mean|`` plus the largest ``|z|``
        times std exceeds the largest value of ``dtype``.
    seed, stream, offset, dtype, out, device
        As :func:`uniform`.

    Returns
    -------
    numpy.ndarray
        ``out`` when given, else a new array (float32 by default).

    Notes
    -----
    Box-Muller on word pairs (kernels/fi_dist.h): element 2k and 2k + 1 are r cos(theta)
    and r sin(theta) of the same pair, r = sqrt(-2 log u1).  The 32-bit path takes u1
    from a whole word (smallest 2^-32), so ``|z| <= 6.661``; float64 uses 53 bits
    (``|z| <= 8.572``).

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> fastinit.normal(6, seed=1).astype(float).round(4).tolist()
    [0.3804, -0.2963, -0.2492, -1.0038, 0.6269, -0.634]
    >>> w = np.empty((256, 256), np.float32)
    >>> _ = fastinit.normal(None, 0.0, 0.02, seed=1, out=w)   # in place
    >>> round(float(w.std()), 2)
    0.02
    """
    shape, dtype, out = _prepare(shape, "shape", dtype, out, np.float32, device)
    return _run(DIST_NORMAL, dtype, shape, out, seed, stream, offset,
                _normal_params(mean, std, dtype).consts)


def truncated_normal(shape: Shape, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                     b: float = 2.0, *, seed: int, stream: int = 0, offset: int = 0,
                     dtype: DTypeLike | None = None, out: Any = None,
                     device: str | None = None) -> Any:
    """Normal N(mean, std^2) truncated to [a, b], bounds absolute (as torch's ``trunc_normal_``).

    Parameters
    ----------
    shape : int or tuple of ints
        Shape of the result (None with ``out``).
    mean, std : float
        Location and scale of the untruncated normal, std > 0.
    a, b : float
        Absolute bounds, a < b.  No value lies outside [a, b] after rounding to dtype.
    seed, stream, offset, dtype, out, device
        As :func:`uniform`.

    Returns
    -------
    numpy.ndarray
        ``out`` when given, else a new array (float32 by default).

    Notes
    -----
    One pass, no rejection: z = Phi^-1(Phi(alpha) + u (Phi(beta) - Phi(alpha))) with
    alpha = (a - mean) / std, beta = (b - mean) / std; Phi^-1 by Wichura's AS 241 in
    double precision (float64, and the far tails of the 32-bit path) or its 7-digit
    version in float (the rest of the 32-bit path, within 7 ulp); an interval in the
    upper half is sampled as its mirror image so tails keep their precision
    (kernels/README.md).  a may be -inf and b +inf (e.g. the half normal (0, inf)).
    No value lies outside [a, b] after rounding to dtype.

    Examples
    --------
    >>> import fastinit
    >>> z = fastinit.truncated_normal(5, 0.0, 1.0, -0.5, 0.5, seed=2)
    >>> z.astype(float).round(4).tolist()
    [-0.0716, -0.0026, 0.4729, -0.0966, -0.4212]
    >>> w = fastinit.truncated_normal((1000,), 0.0, 0.02, -0.04, 0.04, seed=1)
    >>> bool(w.min() >= -0.04 and w.max() <= 0.04)
    True
    """
    shape, dtype, out = _prepare(shape, "shape", dtype, out, np.float32, device)
    return _run(DIST_TRUNCNORMAL, dtype, shape, out, seed, stream, offset,
                _truncnormal_params(mean, std, a, b, dtype).consts)


def random_bits(shape: Shape, *, seed: int, stream: int = 0, offset: int = 0, out: Any = None,
                device: str | None = None) -> Any:
    """Raw uint32 words: element i is word i % 4 of Philox block i // 4.

    Parameters
    ----------
    shape : int or tuple of ints
        Shape of the result (None with ``out``).
    seed, stream, offset, out, device
        As :func:`uniform`; ``out`` must be uint32.

    Returns
    -------
    numpy.ndarray
        uint32 words.

    Examples
    --------
    >>> import fastinit
    >>> fastinit.random_bits(4, seed=0).tolist()
    [1713891541, 3781805453, 3159862348, 2600524760]
    """
    shape, dtype, out = _prepare(shape, "shape", np.uint32, out, np.uint32, device)
    return _run(DIST_BITS, dtype, shape, out, seed, stream, offset)


def philox4x32_10(counter: npt.ArrayLike, key: npt.ArrayLike) -> npt.NDArray[np.uint32]:
    """The raw Philox4x32-10 block function (Salmon et al., SC'11).

    Parameters
    ----------
    counter : uint32 array of shape (..., 4)
        Counter words, broadcast against ``key``.
    key : uint32 array of shape (..., 2)
        Key words.

    Returns
    -------
    numpy.ndarray
        uint32 of shape (..., 4).

    Examples
    --------
    Random123's known answer for a zero counter and key (0x6627e8d5 ...), which is
    block 0 of seed 0, stream 0:

    >>> import numpy as np, fastinit
    >>> block = fastinit.philox4x32_10(np.zeros(4, np.uint32), np.zeros(2, np.uint32))
    >>> [f"{w:08x}" for w in block.tolist()]
    ['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']
    """
    counter = np.asarray(counter)
    key = np.asarray(key)
    for arr, name, last in ((counter, "counter", 4), (key, "key", 2)):
        if arr.dtype != np.uint32:
            raise TypeError(f"{name} must have dtype uint32, got {arr.dtype.name}")
        if arr.ndim < 1 or arr.shape[-1] != last:
            raise ValueError(f"{name} must have shape (..., {last}), got {arr.shape}")
    batch = np.broadcast_shapes(counter.shape[:-1], key.shape[:-1])
    c = np.ascontiguousarray(np.broadcast_to(counter, batch + (4,))).reshape(-1, 4)
    k = np.ascontiguousarray(np.broadcast_to(key, batch + (2,))).reshape(-1, 2)
    return _core.philox4x32_10(c, k).reshape(batch + (4,))
