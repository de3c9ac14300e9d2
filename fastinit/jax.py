"""JAX adapter: jax.nn.initializers' names with JAX's ``init(key, shape, dtype) -> Array``
signature, usable inside ``jax.jit`` and as flax ``kernel_init``; sharded creation where
each device generates only its own block.

The values are those of :mod:`fastinit.initializers`, computed on the host through
``jax.pure_callback``, so they are the same bits under jit, eagerly, on any device and for
any sharding.  The key follows fastinit's one seed rule (fastinit._validate.check_seed):
an int seed in [0, 2**64) as it is; a jax PRNG key (typed, any impl, or a legacy uint32
key array) by its key-data words w0, w1, ...: a threefry key (2 words) gives the seed
``(w0 << 32) | w1``, an rbg/unsafe_rbg key (4 words) ``derived_seed(W, "jax_key")`` with
W the words read as one integer, w0 most significant.  Negative or >= 2**64 ints, bools,
floats and float arrays raise.  Shape, dtype and parameters are checked before the
callback (they are static under jit), so bad ones raise the ValueError/TypeError of
:mod:`fastinit.initializers`.

>>> import jax, fastinit.jax as fj
>>> init = fj.lecun_normal()
>>> k = init(jax.random.key(0), (4, 8))
>>> k.shape, str(k.dtype)
((4, 8), 'float32')
>>> jitted = jax.jit(lambda key: init(key, (4, 8)))
>>> bool((jitted(jax.random.key(0)) == k).all())
True
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, ParamSpec

import numpy as np

from . import _shard
from . import initializers as _np_init
from ._jax_factories import KeyInit
from ._validate import BFLOAT16, check_float_dtype, check_seed, key_words, seed_of_words

__all__ = [
    "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform",
    "make_sharded", "normal", "ones", "orthogonal", "to_jax", "truncated_normal", "uniform",
    "variance_scaling", "xavier_normal", "xavier_uniform", "zeros",
]


def _jax():
    import jax

    return jax


def _key_words(key):
    """The key's data words (still traced under jit); an int seed as the two words
    (seed >> 32, seed & 0xFFFFFFFF)."""
    words = key_words(key, "key")
    if words is None:
        seed = check_seed(key, "key")
        return np.array([seed >> 32, seed & 0xFFFFFFFF], np.uint32)
    return words


def _default_dtype():
    import jax.numpy as jnp

    return jnp.zeros(()).dtype  # float32, or float64 under jax_enable_x64


def _resolve_dtype(dtype, host_init):
    """The call's dtype, else the factory's, else jax's default float dtype."""
    if dtype is None:
        dtype = _default_dtype() if host_init.dtype is None else host_init.dtype
    try:
        return np.dtype(dtype)
    except TypeError:
        return check_float_dtype(dtype)  # "bfloat16" spelled as a string, or a clear error


_P = ParamSpec("_P")


def _adapt(np_factory: Callable[_P, KeyInit]) -> Callable[_P, Callable[..., Any]]:
    """jax version of a fastinit.initializers factory (same signature; the list below
    is the registry's jax names, fastinit._registry; tests/test_registry.py)."""

    @functools.wraps(np_factory)
    def factory(*args, **kwargs):
        np_init = np_factory(*args, **kwargs)

        def init(key, shape, dtype=None):
            jax = _jax()
            dtype = _resolve_dtype(dtype, np_init)
            make = np_init.plan(shape, dtype)  # every check but the key's, before tracing on
            shape = tuple(int(d) for d in shape)
            words = _key_words(key)

            def host(kd):
                return np.asarray(make(seed_of_words(np.asarray(kd))), dtype)

            return jax.pure_callback(host, jax.ShapeDtypeStruct(shape, dtype), words,
                                     vmap_method="sequential")

        init.host_init = np_init  # type: ignore[attr-defined]  # for make_sharded
        return init

    factory.__signature__ = inspect.signature(np_factory).replace(  # type: ignore[attr-defined]
        return_annotation=inspect.Signature.empty)
    return factory


uniform = _adapt(_np_init.uniform)
normal = _adapt(_np_init.normal)
truncated_normal = _adapt(_np_init.truncated_normal)
constant = _adapt(_np_init.constant)
variance_scaling = _adapt(_np_init.variance_scaling)
glorot_uniform = _adapt(_np_init.glorot_uniform)
glorot_normal = _adapt(_np_init.glorot_normal)
he_uniform = _adapt(_np_init.he_uniform)
he_normal = _adapt(_np_init.he_normal)
lecun_uniform = _adapt(_np_init.lecun_uniform)
lecun_normal = _adapt(_np_init.lecun_normal)
orthogonal = _adapt(_np_init.orthogonal)
delta_orthogonal = _adapt(_np_init.delta_orthogonal)
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


def zeros(key, shape, dtype=None):
    """jax.nn.initializers.zeros."""
    import jax.numpy as jnp

    return jnp.zeros(shape, _default_dtype() if dtype is None else dtype)


def ones(key, shape, dtype=None):
    """jax.nn.initializers.ones."""
    import jax.numpy as jnp

    return jnp.ones(shape, _default_dtype() if dtype is None else dtype)


def make_sharded(init, key, shape, sharding, dtype=None):
    """A global jax.Array of ``shape`` with ``sharding``, each device's block generated on
    its own by ``init`` (one of this module's initializers) inside a :func:`fastinit.shard`
    block: equal to the matching slice of ``init(key, shape, dtype)``, without any device
    generating the whole.

    Examples
    --------
    >>> import jax, numpy as np, fastinit.jax as fj
    >>> mesh = jax.sharding.Mesh(np.array(jax.devices()), ("x",))
    >>> rows = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("x"))
    >>> w = fj.make_sharded(fj.glorot_uniform(), 0, (8, 4), rows)
    >>> bool((w == fj.glorot_uniform()(0, (8, 4))).all())
    True
    """
    jax = _jax()
    host_init = getattr(init, "host_init", None)
    if host_init is None:
        raise TypeError("init must be one of fastinit.jax's initializers")
    dtype = _resolve_dtype(dtype, host_init)
    host_init.plan(shape, dtype)  # the checks, before any device works
    shape = tuple(int(d) for d in shape)
    words = np.asarray(_key_words(key), np.uint32)

    def block(index):
        offsets = tuple(s.indices(n)[0] for s, n in zip(index, shape, strict=True))
        local = tuple(len(range(*s.indices(n))) for s, n in zip(index, shape, strict=True))
        with _shard.shard(shape, offsets, local):
            return np.asarray(host_init(words, shape, dtype), dtype)

    return jax.make_array_from_callback(shape, sharding, block)


def to_jax(x):
    """A jax.Array sharing ``x``'s memory where jax allows it (C-contiguous, 64-byte
    aligned, as fastinit allocates), else a copy.

    Examples
    --------
    >>> import fastinit, fastinit.jax as fj
    >>> fj.to_jax(fastinit.normal((2, 3), seed=0)).shape
    (2, 3)
    """
    jax = _jax()
    x = np.ascontiguousarray(x)
    if x.dtype == np.float64 and not jax.config.jax_enable_x64:
        raise TypeError("x is float64 but jax_enable_x64 is off (jax would silently make it "
                        "float32): enable it, or pass a float32 array")
    if x.dtype == BFLOAT16:  # numpy's DLPack has no bfloat16; device_put aliases it
        return jax.device_put(x)
    return jax.dlpack.from_dlpack(x)
