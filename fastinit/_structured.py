"""Structured initializers: orthogonal (Haar), eye, dirac / delta-orthogonal, sparse.

Orthogonal draws follow one contract: a batch of B matrices of rows x cols takes the
Gaussian ``normal((B, min, max), seed, stream, offset)`` (float32 for float16, bfloat16
and float32 results, float64 for float64); row k of each min x max slice supplies the
k-th Householder reflector (fastinit/_linalg.pyx), so matrix b of a batch equals the
single matrix drawn at offset b * rows * cols.
"""

from __future__ import annotations

import math

import numpy as np

from . import _core, _shard
from . import _generate as g
from ._registry import is_elementwise
from ._validate import check_float_dtype, check_int, check_real
from ._variance import AUX_STREAM

COMPLEX_DTYPES = (np.dtype(np.complex64), np.dtype(np.complex128))


def is_structured(fill) -> bool:
    """Whether an in-place fill (a fastinit function, a functools.partial or wrapper of
    one, or a replay of several named "a+b") is not elementwise by the registry
    (fastinit._registry), so that a shard of it needs the whole tensor built first."""
    fill = getattr(fill, "func", fill)
    return not is_elementwise(getattr(fill, "__name__", ""))


def fill_whole_then_box(out: np.ndarray, make) -> np.ndarray:
    """make(out), for fills that are not elementwise.  Inside a :func:`fastinit.shard`
    block out is a box of the global tensor: make the global tensor, then copy the box."""
    box = _shard.current_box()
    if box is None:
        make(out)
        return out
    global_shape, offsets = box
    if len(out.shape) != len(global_shape) or any(
            o + n > t for o, n, t in zip(offsets, out.shape, global_shape, strict=True)):
        raise ValueError(f"shard box {out.shape} at {offsets} exceeds {global_shape}")
    full = np.empty(global_shape, out.dtype)
    with _shard.unsharded():
        make(full)
    out[...] = full[tuple(slice(o, o + n) for o, n in zip(offsets, out.shape, strict=True))]
    return out


def _work_dtype(dtype: np.dtype) -> np.dtype:
    if dtype in (np.float64, *COMPLEX_DTYPES):
        return dtype
    return np.dtype(np.float32)


def check_orthogonal_dtype(dtype, name="dtype") -> np.dtype:
    """A float dtype, or complex64/complex128 (unitary results)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt in COMPLEX_DTYPES:
        return dt
    return check_float_dtype(dtype, name)


def orthogonal_fill(out: np.ndarray, rows: int, cols: int, gain: float, seed: int,
                    stream: int, offset: int = 0) -> np.ndarray:
    """out, read in C order as a (B, rows, cols) stack, <- gain times Haar-distributed
    matrices: orthonormal rows when rows <= cols, orthonormal columns otherwise.
    Complex out: Haar unitary frames from complex Gaussians whose real and imaginary
    parts are consecutive draws of the stream.

    Written in place (no temporary) when out is C-contiguous float32/float64 and
    rows <= cols; otherwise computed in a float32/float64 buffer and rounded into out.
    """
    from . import _linalg

    gain = check_real(gain, "gain")
    batch = out.size // (rows * cols) if rows * cols else 0
    if batch == 0:
        return out
    _linalg.load_lapack()
    work = _work_dtype(out.dtype)
    n, m = min(rows, cols), max(rows, cols)
    in_place = rows <= cols and out.dtype == work and out.flags.c_contiguous
    a = out.reshape(batch, n, m) if in_place else np.empty((batch, n, m), work)
    if work in COMPLEX_DTYPES:  # real and imaginary parts: two draws per element
        g.normal(None, seed=seed, stream=stream, offset=2 * offset,
                 out=a.view(np.float32 if work == np.complex64 else np.float64))
    else:
        g.normal(None, seed=seed, stream=stream, offset=offset, out=a)
    threads = _core.get_num_threads() if batch > 1 and n * m <= (1 << 20) else 1
    _linalg.haar_frames(a, gain, threads)
    if not in_place:
        res = a if rows <= cols else a.transpose(0, 2, 1)
        out[...] = res.reshape(out.shape).astype(out.dtype, copy=False)
    return out


def _box(out):
    """(global shape, offsets) of out: the enclosing fastinit.shard box, else out itself."""
    box = _shard.current_box()
    if box is None:
        return out.shape, (0,) * out.ndim
    _shard._check_box(out, *box)
    return box


def eye_fill(out: np.ndarray, gain: float = 1.0) -> np.ndarray:
    """2-D identity (rectangular allowed) times gain; inside a :func:`fastinit.shard`
    block, the box of the global identity, written directly."""
    if out.ndim != 2:
        raise ValueError(f"eye needs a 2-D tensor, got {out.ndim} dimensions")
    gain = check_real(gain, "gain")
    (rows, cols), (r0, c0) = _box(out)
    out[...] = 0
    d = np.arange(max(r0, c0), min(r0 + out.shape[0], c0 + out.shape[1], rows, cols))
    out[d - r0, d - c0] = gain
    return out


def _centre(k: int, centre: str) -> int:
    if centre == "torch":
        return k // 2
    if centre == "jax":
        return (k - 1) // 2
    raise ValueError(f"centre must be 'torch' (k // 2) or 'jax' ((k - 1) // 2), got {centre!r}")


def dirac_fill(out: np.ndarray, groups: int = 1, gain: float = 1.0, centre: str = "torch"):
    """torch's dirac_: out (O, I, *k) zero except out[g*O/groups + d, d, c...] = gain for
    d < min(O/groups, I), c = k // 2 (centre="torch") or (k - 1) // 2 ("jax"); inside a
    :func:`fastinit.shard` block, the entries of the global tensor that fall in the box."""
    if out.ndim not in (3, 4, 5):
        raise ValueError(f"dirac needs a 3-, 4- or 5-D tensor, got {out.ndim} dimensions")
    check_int(groups, "groups", 1)
    shape, offsets = _box(out)
    if shape[0] % groups:
        raise ValueError(f"groups={groups} must divide dim 0 ({shape[0]})")
    gain = check_real(gain, "gain")
    centres = [_centre(k, centre) for k in shape[2:]]
    if out.size == 0:
        return out
    out[...] = 0
    if not all(o <= c < o + n for c, o, n in zip(centres, offsets[2:], out.shape[2:],
                                                   strict=True)):
        return out
    local_centres = tuple(c - o for c, o in zip(centres, offsets[2:], strict=True))
    per_group = shape[0] // groups
    d = np.arange(min(per_group, shape[1]))
    for grp in range(groups):
        rows = grp * per_group + d
        keep = ((rows >= offsets[0]) & (rows < offsets[0] + out.shape[0])
                & (d >= offsets[1]) & (d < offsets[1] + out.shape[1]))
        out[(rows[keep] - offsets[0], d[keep] - offsets[1]) + local_centres] = gain
    return out


def delta_orthogonal_centres(shape, centre: str = "jax") -> tuple[int, ...]:
    """The spatial centre of a delta_orthogonal kernel of ``shape`` (*k, in, out), after
    checking it: 3, 4 or 5 dimensions, in <= out."""
    if len(shape) not in (3, 4, 5):
        raise ValueError(
            f"delta_orthogonal needs a 3-, 4- or 5-D tensor, got {len(shape)} dimensions"
        )
    fan_in, fan_out = shape[-2:]
    if fan_in > fan_out:
        raise ValueError(
            f"delta_orthogonal needs fan_in <= fan_out, got shape {tuple(shape)} "
            f"(fan_in {fan_in} > fan_out {fan_out})"
        )
    return tuple(_centre(k, centre) for k in shape[:-2])


def delta_orthogonal_fill(out: np.ndarray, gain: float, seed: int, stream: int,
                          centre: str = "jax") -> np.ndarray:
    """jax's delta_orthogonal (Xiao et al. 2018): out (*k, in, out) zero except an
    orthogonal (in, out) matrix (orthonormal rows, in <= out) times gain at the spatial
    centre (k - 1) // 2 (centre="jax") or k // 2 ("torch")."""
    centres = delta_orthogonal_centres(out.shape, centre)
    fan_in, fan_out = out.shape[-2:]
    gain = check_real(gain, "gain")
    if out.size == 0:
        return out
    out[...] = 0
    orthogonal_fill(out[centres], fan_in, fan_out, gain, seed, stream)
    return out


def check_sparsity(sparsity) -> float:
    """sparse_'s fraction of zeros per column, in [0, 1)."""
    sparsity = check_real(sparsity, "sparsity")
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    return sparsity


def sparse_fill(out: np.ndarray, sparsity: float, std: float, seed: int, stream: int):
    """torch's sparse_ (Martens 2010): N(0, std^2), then exactly ceil(sparsity * rows)
    zeros in each column at rows chosen uniformly without replacement.

    Deterministic from (seed, stream) and vectorized: each element gets a 64-bit key
    (32 random bits from the auxiliary stream, then its row index, so keys are distinct),
    and in each column the entries with the k smallest keys are zeroed."""
    if out.ndim != 2:
        raise ValueError(f"sparse needs a 2-D tensor, got {out.ndim} dimensions")
    sparsity = check_sparsity(sparsity)
    std = check_real(std, "std")
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    rows, cols = out.shape
    g.normal(None, 0.0, std, seed=seed, stream=stream, out=out)
    k = math.ceil(sparsity * rows)
    if k == 0 or out.size == 0:
        return out
    keys = g.random_bits((rows, cols), seed=seed, stream=stream | AUX_STREAM).astype(np.uint64)
    keys <<= np.uint64(32)
    keys |= np.arange(rows, dtype=np.uint64)[:, None]
    kth = np.partition(keys, k - 1, axis=0)[k - 1]
    out[keys <= kth] = 0
    return out
