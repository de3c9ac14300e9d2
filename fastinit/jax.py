"""JAX adapter: jax.nn.initializers' names with JAX's ``init(key, shape, dtype) -> Array``
signature, usable inside ``jax.jit`` and as flax ``kernel_init``; sharded creation where
each device generates only its own block.

The values are those of :mod:`fastinit.initializers` (the seed comes from the key's data:
``(key_data[0] << 32) | key_data[1]``), computed on the host through
``jax.pure_callback``, so they are the same bits under jit, eagerly, on any device and for
any sharding.
"""

from __future__ import annotations

import functools

import numpy as np

from . import _generate as g
from . import initializers as _np_init
from ._validate import BFLOAT16

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
    """The key as a uint32 (2,) array (typed keys through key_data)."""
    jax = _jax()
    if isinstance(key, int | np.integer):
        return np.array([(int(key) >> 32) & 0xFFFFFFFF, int(key) & 0xFFFFFFFF], np.uint32)
    if jax.dtypes.issubdtype(getattr(key, "dtype", None), jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    if getattr(key, "shape", None) != (2,):
        raise ValueError(
            f"key must be a threefry key (2 uint32 words) or an int, got shape "
            f"{getattr(key, 'shape', None)}"
        )
    return key


def _default_dtype():
    import jax.numpy as jnp

    return jnp.zeros(()).dtype  # float32, or float64 under jax_enable_x64


def _adapt(np_factory):
    """jax version of a fastinit.initializers factory."""

    @functools.wraps(np_factory)
    def factory(*args, **kwargs):
        np_init = np_factory(*args, **kwargs)

        def init(key, shape, dtype=None):
            jax = _jax()
            shape = tuple(int(d) for d in shape)
            dtype = np.dtype(_default_dtype() if dtype is None else dtype)
            words = _key_words(key)

            def host(kd):
                return np.asarray(np_init(np.asarray(kd, np.uint32), shape, dtype), dtype)

            return jax.pure_callback(host, jax.ShapeDtypeStruct(shape, dtype), words,
                                     vmap_method="sequential")

        init.host_init = np_init  # the numpy initializer, for make_sharded
        return init

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
    generating the whole."""
    jax = _jax()
    host_init = getattr(init, "host_init", None)
    if host_init is None:
        raise TypeError("init must be one of fastinit.jax's initializers")
    shape = tuple(int(d) for d in shape)
    dtype = np.dtype(_default_dtype() if dtype is None else dtype)
    words = np.asarray(_key_words(key), np.uint32)

    def block(index):
        offsets = tuple(s.indices(n)[0] for s, n in zip(index, shape, strict=True))
        local = tuple(len(range(*s.indices(n))) for s, n in zip(index, shape, strict=True))
        with g.shard(shape, offsets, local):
            return np.asarray(host_init(words, shape, dtype), dtype)

    return jax.make_array_from_callback(shape, sharding, block)


def to_jax(x):
    """A jax.Array sharing ``x``'s memory where jax allows it (C-contiguous, 64-byte
    aligned, as fastinit allocates), else a copy."""
    jax = _jax()
    x = np.ascontiguousarray(x)
    if x.dtype == np.float64 and not jax.config.jax_enable_x64:
        raise TypeError("x is float64 but jax_enable_x64 is off (jax would silently make it "
                        "float32): enable it, or pass a float32 array")
    if x.dtype == BFLOAT16:  # numpy's DLPack has no bfloat16; device_put aliases it
        return jax.device_put(x)
    return jax.dlpack.from_dlpack(x)
