"""fastinit.jax.make_sharded: the same values whether an array is spread over 1, 2 or 4
devices (host-platform devices in a child process, as XLA reads XLA_FLAGS at start)."""

import subprocess
import sys
import textwrap

import pytest


def test_make_sharded_values_independent_of_device_count(tmp_path):
    pytest.importorskip("jax")
    code = textwrap.dedent("""
        import os
        os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
        import jax, numpy as np
        from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
        import fastinit.jax as fj
        devices = jax.devices()
        assert len(devices) == 4
        shardings = {
            1: [NamedSharding(Mesh(np.array(devices[:1]), ("x",)), P("x"))],
            2: [NamedSharding(Mesh(np.array(devices[:2]), ("x",)), s)
                for s in (P("x"), P(None, "x"))],
            4: [NamedSharding(Mesh(np.array(devices), ("x",)), s) for s in (P("x"), P(None, "x"))]
               + [NamedSharding(Mesh(np.array(devices).reshape(2, 2), ("x", "y")), s)
                  for s in (P("x", "y"), P("y", "x"), P(("x", "y")))],
        }
        key = jax.random.key(11)
        for make in (fj.he_uniform(), fj.lecun_normal(), fj.orthogonal(1.5),
                     fj.truncated_normal(0.1)):
            whole = np.asarray(make(key, (64, 48)))
            for count, options in shardings.items():
                for sharding in options:
                    arr = fj.make_sharded(make, key, (64, 48), sharding)
                    assert {d.id for d in arr.devices()} == {d.id for d in devices[:count]}
                    assert len(arr.addressable_shards) == count
                    np.testing.assert_array_equal(np.asarray(arr), whole)
                    for shard in arr.addressable_shards:
                        np.testing.assert_array_equal(np.asarray(shard.data), whole[shard.index])
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]
