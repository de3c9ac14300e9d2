"""A numpy-style Generator over the stateless engine."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from . import _generate as g
from . import _laws, _output
from ._validate import U64_LIMIT, check_int, check_u64

_Size = int | tuple[int, ...] | None  # numpy's size: None gives one scalar


class Generator:
    """Generator(seed=None)

    numpy-compatible names and argument order (``random``, ``uniform``,
    ``standard_normal``, ``normal``, ``truncated_normal``, ``bits``) over fastinit's
    counter-based stream.  Call k (k = 0, 1, ...) draws from stream k of the seed, so
    successive calls differ, a sequence of calls is reproducible from the seed, and
    ``Generator(s)``'s first ``normal(size=n, dtype=np.float32)`` equals
    ``fastinit.normal(n, seed=s, stream=0)``.  Only the stream counter is locked: calls
    from several threads run their fills in parallel, each on its own stream.

    Parameters
    ----------
    seed : int in [0, 2**64) or None
        The Philox key; None draws fresh entropy from the OS.

    A generator owns a range of streams ``[next_stream, stop)`` of its seed (the root:
    all 2**64) and draws them in order.  ``spawn(n)`` divides the part not drawn yet into
    n + 1 equal consecutive ranges (the remainder of the division goes to the last): the
    parent keeps the first, child i gets range i + 1.  Parent and children share the
    seed and their ranges are disjoint, so no two generators of one tree ever draw the
    same (seed, stream): they are independent, and the whole tree is reproducible from
    the seed.  Each spawn divides the parent's range by n + 1; a generator whose range
    is used up raises ValueError (the root allows about 64 / log2(n + 1) nested levels).

    Examples
    --------
    >>> import numpy as np, fastinit
    >>> g = fastinit.Generator(42)
    >>> a = g.standard_normal(3, dtype=np.float32)      # stream 0
    >>> b = g.standard_normal(3, dtype=np.float32)      # stream 1
    >>> bool((a == fastinit.normal(3, seed=42, stream=0)).all())
    True
    >>> bool((b == fastinit.normal(3, seed=42, stream=1)).all()), g.next_stream
    (True, 2)
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = secrets.randbits(64) if seed is None else check_u64(seed, "seed")
        self._next_stream, self._stop = 0, U64_LIMIT
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Generator(seed={self.seed})  # streams [{self._next_stream}, {self._stop})"

    @property
    def next_stream(self) -> int:
        """The stream the next call uses."""
        return self._next_stream

    @property
    def streams(self) -> range:
        """The streams this generator may still draw: ``range(next_stream, stop)``."""
        return range(self._next_stream, self._stop)

    def _take_stream(self) -> int:
        with self._lock:
            stream = self._next_stream
            if stream >= self._stop:
                raise ValueError(f"this generator has drawn every stream of its range "
                                 f"[.., {self._stop}); spawn from an earlier generator")
            self._next_stream += 1
        return stream

    def spawn(self, n: int) -> list[Generator]:
        """n independent generators (numpy's ``Generator.spawn``): the streams not drawn
        yet, ``[next_stream, stop)``, split into n + 1 equal consecutive ranges, this
        generator keeping the first and child i taking range i + 1 (see the class).
        ``Generator(s).spawn(2)`` gives children over streams [m, 2m) and [2m, 2**64),
        m = 2**64 // 3, the parent keeping [0, m).

        Examples
        --------
        >>> import fastinit
        >>> g = fastinit.Generator(7)
        >>> a, b = g.spawn(2)
        >>> m = 2**64 // 3
        >>> g.streams == range(0, m), a.streams == range(m, 2 * m), b.streams == range(2 * m, 2**64)
        (True, True, True)
        >>> x = a.standard_normal(3, dtype="float32")
        >>> bool((x == fastinit.normal(3, seed=7, stream=m)).all())
        True
        """
        n = check_int(n, "n", 1)
        with self._lock:
            start, stop = self._next_stream, self._stop
            width = (stop - start) // (n + 1)
            if width < 1:
                raise ValueError(f"n must leave each of n + 1 generators a stream: "
                                 f"{stop - start} streams are left, got n = {n}")
            children = []
            for i in range(1, n + 1):
                child = Generator(self.seed)
                child._next_stream = start + i * width
                child._stop = stop if i == n else start + (i + 1) * width
                children.append(child)
            self._stop = start + width
        return children

    def _fill(self, fn: Callable[..., np.ndarray], size: _Size, dtype: DTypeLike | None,
              out: np.ndarray | None, default: DTypeLike, **kw: Any) -> Any:
        shape, dtype, out = _output._prepare(size, "size", dtype, out, default)
        if shape is None and out is None:
            res = fn((), seed=self.seed, stream=self._take_stream(), dtype=dtype, **kw)
            return res[()]
        if shape is None:
            shape = out.shape
        return fn(shape, seed=self.seed, stream=self._take_stream(), dtype=dtype, out=out,
                  **kw)

    def random(self, size: _Size = None, dtype: DTypeLike | None = None,
               out: np.ndarray | None = None) -> Any:
        """Uniform on [0, 1).  dtype: float64 (default, or ``out.dtype``), float32,
        float16, bfloat16; ``size=None`` gives one numpy scalar.

        Examples
        --------
        >>> import fastinit
        >>> round(float(fastinit.Generator(42).random()), 6)
        0.61296
        """
        return self._fill(g.uniform, size, dtype, out, np.float64)

    def uniform(self, low: float = 0.0, high: float = 1.0, size: _Size = None,
                dtype: DTypeLike | None = None, out: np.ndarray | None = None) -> Any:
        """Uniform on [low, high) (see :func:`fastinit.uniform`).

        Examples
        --------
        >>> import fastinit
        >>> fastinit.default_rng(0).uniform(2, 3, size=3).round(4).tolist()
        [2.399, 2.7357, 2.9722]
        """
        _laws._uniform_params(low, high, np.dtype(np.float64))  # argument errors first
        return self._fill(g.uniform, size, dtype, out, np.float64, low=low, high=high)

    def standard_normal(self, size: _Size = None, dtype: DTypeLike | None = None,
                        out: np.ndarray | None = None) -> Any:
        """Standard normal N(0, 1) (see :func:`fastinit.normal`).

        Examples
        --------
        >>> import numpy as np, fastinit
        >>> x = fastinit.default_rng(0).standard_normal((2, 3), dtype=np.float32)
        >>> x.shape, x.dtype.name
        ((2, 3), 'float32')
        """
        return self._fill(g.normal, size, dtype, out, np.float64)

    def normal(self, loc: float = 0.0, scale: float = 1.0, size: _Size = None,
               dtype: DTypeLike | None = None, out: np.ndarray | None = None) -> Any:
        """Normal N(loc, scale^2) (see :func:`fastinit.normal`).

        Examples
        --------
        >>> import fastinit
        >>> g = fastinit.default_rng(0)
        >>> _ = g.uniform(size=3)                            # takes stream 0
        >>> g.normal(1.0, 0.5, size=2).round(4).tolist()     # stream 1
        [1.5356, 1.2081]
        """
        _laws._normal_params(loc, scale)
        return self._fill(g.normal, size, dtype, out, np.float64, mean=loc, std=scale)

    def truncated_normal(self, loc: float = 0.0, scale: float = 1.0, a: float = -2.0,
                         b: float = 2.0, size: _Size = None, dtype: DTypeLike | None = None,
                         out: np.ndarray | None = None) -> Any:
        """N(loc, scale^2) truncated to [a, b], bounds absolute
        (see :func:`fastinit.truncated_normal`).

        Examples
        --------
        >>> import fastinit
        >>> x = fastinit.default_rng(0).truncated_normal(0.0, 1.0, -1.0, 1.0, size=1000)
        >>> bool(x.min() >= -1.0 and x.max() <= 1.0)
        True
        """
        _laws._truncnormal_params(loc, scale, a, b, np.dtype(np.float64))
        return self._fill(g.truncated_normal, size, dtype, out, np.float64, mean=loc,
                          std=scale, a=a, b=b)

    def bits(self, size: _Size = None, out: np.ndarray | None = None) -> Any:
        """Raw uint32 words of the stream (see :func:`fastinit.random_bits`).

        Examples
        --------
        >>> import fastinit
        >>> fastinit.Generator(0).bits(4).tolist() == fastinit.random_bits(4, seed=0).tolist()
        True
        """
        shape, _, out = _output._prepare(size, "size", np.uint32, out, np.uint32)
        stream = self._take_stream()
        if shape is None and out is None:
            return g.random_bits((), seed=self.seed, stream=stream)[()]
        return g.random_bits(out.shape if shape is None else shape, seed=self.seed,
                             stream=stream, out=out)


def default_rng(seed: int | Generator | None = None) -> Generator:
    """A :class:`Generator` (numpy's ``default_rng`` spelling); a Generator is returned
    as it is.

    Examples
    --------
    >>> import fastinit
    >>> g = fastinit.default_rng(7)
    >>> g.seed, fastinit.default_rng(g) is g
    (7, True)
    """
    if isinstance(seed, Generator):
        return seed
    return Generator(seed)
