"""Stateless generation: every element is a pure function of (seed, stream, index).

The transforms live in kernels/fi_dist.h; the public functions here check their arguments,
derive the per-call constants (fastinit/_laws.py: clamps in the output precision,
truncation probabilities) and hand the output (fastinit/_output.py) to the compiled fill
(fastinit/_fill.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import DTypeLike

from . import _bitgen
from ._fill import _run
from ._laws import (
    DIST_BITS,
    DIST_NORMAL,
    DIST_TRUNCNORMAL,
    DIST_UNIFORM,
    _normal_params,
    _truncnormal_params,
    _uniform_params,
)
from ._output import _prepare

Shape = int | Sequence[int] | None  # None: the shape of out


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
    return _bitgen.philox4x32_10(c, k).reshape(batch + (4,))
