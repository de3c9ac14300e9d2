"""Dask arrays whose chunks are generated independently, on any worker, and equal the
single-machine result bit for bit: each chunk is filled inside :func:`fastinit.shard`
(its box of the global tensor; initializers read fans from the global shape).

    x = fastinit.dask.normal((100_000, 10_000), std=0.02, chunks=(10_000, 10_000), seed=1)
    w = fastinit.dask.initializer(fastinit.init.kaiming_uniform_, (65536, 8192), seed=2)
"""

from __future__ import annotations

import numpy as np

from . import _generate as g
from . import _output, _shard
from ._structured import is_structured
from ._validate import check_float_dtype, check_shape, check_u64

__all__ = ["initializer", "normal", "truncated_normal", "uniform"]


def _chunk(fill, shape, dtype, args, kwargs, block_info=None):
    info = block_info[None]
    local = tuple(stop - start for start, stop in info["array-location"])
    offsets = tuple(start for start, _ in info["array-location"])
    out = _output.aligned_empty(local, dtype)
    with _shard.shard(shape, offsets, local):
        fill(out, *args, **kwargs)
    return out


def initializer(fill, shape, *args, chunks="auto", seed, dtype=np.float32, **kwargs):
    """A dask array of ``shape`` filled by ``fill(out, *args, seed=seed, **kwargs)``.

    Elementwise fills (by the initializer registry) generate each chunk on its own;
    the others (orthogonal, delta orthogonal, sparse, mahalanobis) generate the whole in
    one task and rechunk.

    Parameters
    ----------
    fill : callable
        Any fastinit.init in-place function, or a function of the same form.
    shape : tuple of ints
        The global shape; fans are read from it.
    *args, **kwargs
        Passed to ``fill``.
    chunks : dask chunks
        As :func:`dask.array.map_blocks` takes them.
    seed : int in [0, 2**64)
    dtype : float dtype

    Returns
    -------
    dask.array.Array
        Equal, bit for bit, to ``fill`` on one array of ``shape``.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import dask as fd, init
    >>> x = fd.initializer(init.kaiming_normal_, (8, 6), chunks=(4, 3), seed=0)
    >>> x.numblocks
    (2, 2)
    >>> whole = init.kaiming_normal_(np.empty((8, 6), np.float32), seed=0)
    >>> bool(np.array_equal(x.compute(), whole))
    True
    >>> q = fd.initializer(init.orthogonal_, (6, 6), chunks=3, seed=0).compute()
    >>> bool(np.array_equal(q, init.orthogonal((6, 6), seed=0)))
    True
    """
    import dask
    import dask.array as da

    shape = check_shape(shape, "shape")
    dtype = check_float_dtype(dtype)
    seed = check_u64(seed, "seed")
    kwargs = dict(kwargs, seed=seed)
    token = dask.base.tokenize(getattr(fill, "__qualname__", repr(fill)), shape, args, kwargs,
                               dtype.str, chunks)
    if is_structured(fill):
        whole = dask.delayed(lambda: fill(np.empty(shape, dtype), *args, **kwargs))()
        return da.from_delayed(whole, shape, dtype=dtype, name=f"fastinit-{token}").rechunk(
            chunks)
    chunks = da.core.normalize_chunks(chunks, shape, dtype=dtype)
    return da.map_blocks(_chunk, fill, shape, dtype, args, kwargs, chunks=chunks, dtype=dtype,
                         meta=np.empty((0,) * len(shape), dtype), name=f"fastinit-{token}")


def uniform(shape, low=0.0, high=1.0, *, chunks="auto", seed, stream=0, dtype=np.float32):
    """fastinit.uniform as a dask array (stream ``stream`` of ``seed``).

    Examples
    --------
    >>> import numpy as np
    >>> import fastinit
    >>> from fastinit import dask as fd
    >>> x = fd.uniform((5, 5), -1.0, 1.0, chunks=2, seed=0, stream=1)
    >>> bool(np.array_equal(x.compute(), fastinit.uniform((5, 5), -1.0, 1.0, seed=0, stream=1)))
    True
    """
    return initializer(_stream_fill(g.uniform, stream), shape, low, high, chunks=chunks,
                       seed=seed, dtype=dtype)


def normal(shape, mean=0.0, std=1.0, *, chunks="auto", seed, stream=0, dtype=np.float32):
    """fastinit.normal as a dask array.

    Examples
    --------
    >>> import numpy as np
    >>> import fastinit
    >>> from fastinit import dask as fd
    >>> x = fd.normal((6, 4), 0.0, 0.02, chunks=(2, 4), seed=0)
    >>> bool(np.array_equal(x.compute(), fastinit.normal((6, 4), 0.0, 0.02, seed=0)))
    True
    """
    return initializer(_stream_fill(g.normal, stream), shape, mean, std, chunks=chunks,
                       seed=seed, dtype=dtype)


def truncated_normal(shape, mean=0.0, std=1.0, a=-2.0, b=2.0, *, chunks="auto", seed, stream=0,
                     dtype=np.float32):
    """fastinit.truncated_normal (absolute bounds) as a dask array.

    Examples
    --------
    >>> import numpy as np
    >>> import fastinit
    >>> from fastinit import dask as fd
    >>> x = fd.truncated_normal((6, 4), a=-1.0, b=1.0, chunks=3, seed=0).compute()
    >>> bool(np.array_equal(x, fastinit.truncated_normal((6, 4), a=-1.0, b=1.0, seed=0)))
    True
    """
    return initializer(_stream_fill(g.truncated_normal, stream), shape, mean, std, a, b,
                       chunks=chunks, seed=seed, dtype=dtype)


class _stream_fill:
    """out <- fn(None, *args, seed=seed, stream=stream, out=out): picklable for workers."""

    def __init__(self, fn, stream):
        self.fn, self.stream = fn, check_u64(stream, "stream")
        self.__qualname__ = f"{fn.__name__}[stream={self.stream}]"

    def __call__(self, out, *args, seed):
        return self.fn(None, *args, seed=seed, stream=self.stream, out=out)

