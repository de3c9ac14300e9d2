"""fastinit.dask: chunks generated independently equal the single-machine result, with the
threaded scheduler and on a dask.distributed LocalCluster of worker processes."""

import numpy as np
import pytest

import fastinit
from fastinit import init

da = pytest.importorskip("dask.array")
fd = pytest.importorskip("fastinit.dask")

CASES = [
    (lambda c: fd.uniform((777, 301), -1.0, 2.0, chunks=c, seed=5),
     lambda: fastinit.uniform((777, 301), -1.0, 2.0, seed=5)),
    (lambda c: fd.normal((777, 301), 0.0, 0.5, chunks=c, seed=5, stream=3, dtype=np.float64),
     lambda: fastinit.normal((777, 301), 0.0, 0.5, seed=5, stream=3, dtype=np.float64)),
    (lambda c: fd.truncated_normal((777, 301), 0.0, 1.0, -1.0, 0.5, chunks=c, seed=6,
                                   dtype="bfloat16"),
     lambda: fastinit.truncated_normal((777, 301), 0.0, 1.0, -1.0, 0.5, seed=6,
                                       dtype="bfloat16")),
    (lambda c: fd.initializer(init.kaiming_normal_, (777, 301), chunks=c, seed=7, mode="fan_out"),
     lambda: init.kaiming_normal((777, 301), mode="fan_out", seed=7)),
    (lambda c: fd.initializer(init.orthogonal_, (777, 301), chunks=c, seed=8),
     lambda: init.orthogonal((777, 301), seed=8)),
]


@pytest.mark.parametrize("chunks", [(100, 301), (128, 50), "auto"])
@pytest.mark.parametrize("case", range(len(CASES)))
def test_threaded_scheduler_equals_whole(case, chunks):
    make, whole = CASES[case]
    x = make(chunks)
    assert isinstance(x, da.Array) and x.shape == (777, 301)
    got = x.compute(scheduler="threads")
    np.testing.assert_array_equal(got, whole())


def test_blocks_are_independent_and_names_deterministic():
    x = fd.normal((1000, 100), chunks=(100, 100), seed=1)
    np.testing.assert_array_equal(x.blocks[7].compute(),
                                  fastinit.normal((1000, 100), seed=1)[700:800])
    assert x.name == fd.normal((1000, 100), chunks=(100, 100), seed=1).name
    assert x.name != fd.normal((1000, 100), chunks=(100, 100), seed=2).name


def test_distributed_local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        x = fd.initializer(init.xavier_uniform_, (2000, 500), chunks=(250, 250), seed=4)
        got = client.compute(x).result()
        workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2
    np.testing.assert_array_equal(got, init.xavier_uniform((2000, 500), seed=4))
