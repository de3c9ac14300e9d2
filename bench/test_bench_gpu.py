"""GPU fills (needs CuPy and a CUDA device; skipped otherwise): fastinit's CUDA kernels vs
cupy.random, torch on CUDA and the device-to-device copy bandwidth (the limit), timed with
CUDA events, 2**28 elements.  On a GPU machine:

    pip install ".[bench,cuda12]" torch && pytest bench/test_bench_gpu.py --benchmark-json gpu.json

Targets (H100): uniform float32 >= 0.8x of copy bandwidth, normal >= 0.6x.

Propagation (test_gpu_propagate_*): fastinit.propagate.simulate(backend="cuda") vs a plain
CuPy loop (cupy.random normal W, batched matmul, tanh) and the GEMMs alone, width 1024,
64 inputs, 16 networks, 20 layers.
"""

import os

import numpy as np
import pytest

import fastinit

cp = pytest.importorskip("cupy", reason="CuPy is not installed")
if not cp.cuda.is_available():
    pytest.skip("CuPy sees no CUDA device", allow_module_level=True)

N = int(os.environ.get("FASTINIT_GPU_BENCH_N", 2**28))
ROUNDS = 20


def _time(fn):
    """Best of ROUNDS, in seconds, with CUDA events on the current stream."""
    fn()
    start, stop = cp.cuda.Event(), cp.cuda.Event()
    best = float("inf")
    for _ in range(ROUNDS):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        best = min(best, cp.cuda.get_elapsed_time(start, stop) / 1e3)
    return best


@pytest.fixture(scope="module")
def copy_limit():
    """Device-to-device copy of N float32 (read + write), GB/s of bytes written."""
    a, b = cp.ones(N, cp.float32), cp.empty(N, cp.float32)
    return 4 * N / _time(lambda: b.__setitem__(slice(None), a)) / 1e9


def _record(benchmark, library, dist, dtype, seconds, limit):
    gbs = N * np.dtype(dtype).itemsize / seconds / 1e9
    benchmark.group = f"gpu-{dist}-{np.dtype(dtype).name}"
    benchmark.extra_info.update(library=library, dist=f"gpu-{dist}", dtype=np.dtype(dtype).name,
                                threads=0, elements_per_s=N / seconds, gb_per_s=gbs,
                                ratio_to_limit=gbs / limit, limit_gb_per_s=limit)


@pytest.mark.parametrize("dist", ["uniform", "normal", "truncated_normal"])
@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_gpu_fastinit(benchmark, copy_limit, dist, dtype):
    out = cp.empty(N, dtype)
    fill = getattr(fastinit, dist)
    seconds = _time(lambda: fill(None, seed=0, out=out))
    benchmark.pedantic(lambda: fill(None, seed=0, out=out), rounds=1, iterations=1)
    _record(benchmark, "fastinit", dist, dtype, seconds, copy_limit)


@pytest.mark.parametrize("dist", ["uniform", "normal"])
def test_gpu_cupy(benchmark, copy_limit, dist):
    rng = cp.random.default_rng(0)
    out = cp.empty(N, cp.float32)
    fn = (lambda: rng.random(out=out, dtype=cp.float32)) if dist == "uniform" else \
        (lambda: rng.standard_normal(out=out, dtype=cp.float32))
    seconds = _time(fn)
    benchmark.pedantic(fn, rounds=1, iterations=1)
    _record(benchmark, "cupy", dist, np.float32, seconds, copy_limit)


@pytest.mark.parametrize("dist", ["uniform", "normal"])
def test_gpu_torch(benchmark, copy_limit, dist):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA here")
    t = torch.empty(N, device="cuda")
    fn = t.uniform_ if dist == "uniform" else t.normal_
    seconds = _time(fn)
    benchmark.pedantic(fn, rounds=1, iterations=1)
    _record(benchmark, "torch", dist, np.float32, seconds, copy_limit)


PROP_DEPTH, PROP_WIDTH, PROP_INPUTS, PROP_NETS = 20, 1024, 64, 16


def _record_prop(benchmark, library, seconds):
    benchmark.group = "gpu-propagate-float32"
    benchmark.extra_info.update(library=library, dist="gpu-propagate", dtype="float32",
                                threads=0, seconds_per_layer=seconds / PROP_DEPTH,
                                elements_per_s=PROP_NETS * PROP_WIDTH**2 * PROP_DEPTH / seconds,
                                gb_per_s=0.0)


def test_gpu_propagate_fastinit(benchmark):
    from fastinit import propagate

    def run():
        propagate.simulate(PROP_DEPTH, PROP_WIDTH, "tanh", "gaussian", 1.0, 0.0,
                           n_inputs=PROP_INPUTS, n_networks=PROP_NETS, track=("q", "c"),
                           method="dense", backend="cuda")
        cp.cuda.get_current_stream().synchronize()
    _record_prop(benchmark, "fastinit", _time(run))


def test_gpu_propagate_cupy_loop(benchmark):
    shape = (PROP_NETS, PROP_WIDTH, PROP_WIDTH)

    def run():
        h = cp.ones((PROP_NETS, PROP_WIDTH, PROP_INPUTS), cp.float32)
        for _ in range(PROP_DEPTH):
            w = cp.random.standard_normal(shape, dtype=cp.float32) / np.sqrt(PROP_WIDTH)
            h = w @ cp.tanh(h)
            (h * h).mean(axis=1).get()
    _record_prop(benchmark, "cupy", _time(run))


def test_gpu_propagate_gemm_only(benchmark):
    w = cp.ones((PROP_NETS, PROP_WIDTH, PROP_WIDTH), cp.float32)
    h = cp.ones((PROP_NETS, PROP_WIDTH, PROP_INPUTS), cp.float32)

    def run():
        for _ in range(PROP_DEPTH):
            w @ h
    _record_prop(benchmark, "gemm", _time(run))
