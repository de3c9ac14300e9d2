"""Hand-off to torch and jax: zero-copy round trips (data pointers), jax initializers under
jit, sharded creation on 4 CPU devices equal to the whole."""

import subprocess
import sys
import textwrap

import ml_dtypes
import numpy as np
import pytest

import fastinit
from fastinit import initializers as I

BF16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = [np.float16, BF16, np.float32, np.float64]


def test_new_arrays_are_64_byte_aligned():
    for dtype in DTYPES:
        a = fastinit.normal((3, 1001), seed=1, dtype=dtype)
        assert a.ctypes.data % 64 == 0 and a.flags.c_contiguous and a.flags.writeable
    assert I.he_normal()(1, (7, 9)).ctypes.data % 64 == 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_round_trip_zero_copy(dtype):
    torch = pytest.importorskip("torch")
    x = fastinit.normal((64, 33), seed=2, dtype=dtype)
    t = fastinit.to_torch(x)
    assert t.data_ptr() == x.ctypes.data
    assert str(t.dtype) == {np.dtype(np.float16): "torch.float16", BF16: "torch.bfloat16",
                            np.dtype(np.float32): "torch.float32",
                            np.dtype(np.float64): "torch.float64"}[np.dtype(dtype)]
    back = np.from_dlpack(t.view(torch.int16)).view(BF16) if dtype == BF16 else np.from_dlpack(t)
    assert back.ctypes.data == x.ctypes.data
    np.testing.assert_array_equal(back, x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_jax_round_trip_zero_copy(dtype):
    jax = pytest.importorskip("jax")
    x = fastinit.uniform((128, 65), seed=3, dtype=dtype)
    if dtype == np.float64 and not jax.config.jax_enable_x64:
        with pytest.raises(TypeError, match="jax_enable_x64"):
            fastinit.to_jax(x)
        return
    j = fastinit.to_jax(x)
    assert j.dtype == x.dtype
    assert j.unsafe_buffer_pointer() == x.ctypes.data
    np.testing.assert_array_equal(np.asarray(j), x)


def test_jax_arrays_are_not_writeable_outputs():
    jnp = pytest.importorskip("jax.numpy")
    with pytest.raises((TypeError, ValueError)):
        fastinit.init.normal_(jnp.zeros((3, 3)), seed=1)


def test_jax_initializers_eager_and_jit():
    jax = pytest.importorskip("jax")
    import fastinit.jax as fj

    key = jax.random.key(5)
    for make, np_make in [(fj.glorot_normal(), I.glorot_normal()),
                          (fj.orthogonal(2.0), I.orthogonal(2.0)),
                          (fj.truncated_normal(0.1), I.truncated_normal(0.1))]:
        eager = make(key, (48, 32))
        jitted = jax.jit(lambda k, make=make: make(k, (48, 32)))(key)
        expect = np_make(np.asarray(jax.random.key_data(key)), (48, 32))
        np.testing.assert_array_equal(np.asarray(eager), expect)
        np.testing.assert_array_equal(np.asarray(jitted), expect)
    bf = fj.he_uniform()(key, (16, 8), ml_dtypes.bfloat16)
    assert bf.dtype == BF16
    # the same key gives the same values, another key others (jax semantics)
    assert not np.array_equal(np.asarray(fj.he_uniform()(jax.random.key(6), (16, 8))),
                              np.asarray(fj.he_uniform()(key, (16, 8))))


def test_jax_sharded_creation_equals_whole(tmp_path):
    pytest.importorskip("jax")
    code = textwrap.dedent("""
        import os
        os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
        import jax, numpy as np
        from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
        import fastinit.jax as fj
        assert len(jax.devices()) == 4
        mesh = Mesh(np.array(jax.devices()).reshape(2, 2), ("x", "y"))
        key = jax.random.key(7)
        for spec in (P("x", "y"), P(None, "y"), P("x")):
            for make in (fj.he_uniform(), fj.lecun_normal(), fj.orthogonal(),
                         fj.variance_scaling(2.0, "fan_avg", "normal")):
                whole = make(key, (64, 48))
                sharded = fj.make_sharded(make, key, (64, 48), NamedSharding(mesh, spec))
                assert len(sharded.addressable_shards) == 4
                for shard in sharded.addressable_shards:
                    np.testing.assert_array_equal(np.asarray(shard.data),
                                                  np.asarray(whole)[shard.index])
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
