"""GPU fills (needs CuPy and a CUDA device; skipped otherwise): fastinit's CUDA kernels vs
cupy.random, torch on CUDA and the device-to-device copy bandwidth (the limit), timed with
CUDA events, 2**28 elements.  On a GPU machine:

    pip install ".[bench,cuda12]" torch && pytest bench/test_bench_gpu.py --benchmark-json gpu.json

Targets (H100): uniform float32 >= 0.8x of copy bandwidth, normal >= 0.6x.

Whole-model materialization (test_gpu_materialize_*): bench/test_bench_dtensor.py's
decoder (0.94B parameters, float32) built on the meta device and materialized on the GPU
by fastinit.torch.materialize_(model, "cuda") (every tensor filled where it lives by the
kernels), vs torch's own init on the device (to_empty then each layer's
reset_parameters, as torchtitan does; and eager construction under torch.device("cuda")),
vs writing the bytes (to_empty then fill_ of every tensor: the limit), wall time with
torch.cuda.synchronize, best of MODEL_ROUNDS.

Propagation (test_gpu_propagate_*): fastinit.propagate.simulate(backend="cuda") vs a plain
CuPy loop (cupy.random normal W, batched matmul, tanh) and the GEMMs alone, width 1024,
64 inputs, 16 networks, 20 layers.
"""

import os

import numpy as np
import pytest

import fastinit

cp = pytest.importorskip("cupy", reason="needs CuPy and a CUDA device: CuPy is not installed")
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


MODEL_ROUNDS = 5


def _torch_cuda():
    torch = pytest.importorskip("torch", reason="needs torch for a CUDA device")
    if not torch.cuda.is_available():
        pytest.skip("torch sees no CUDA device")
    return torch


def _model_time(torch, make):
    """Best of MODEL_ROUNDS wall seconds of make() (returns the model), synchronized; the
    model is freed between rounds (the caching allocator keeps the memory)."""
    import time

    best = float("inf")
    for _ in range(MODEL_ROUNDS + 1):  # the first round warms allocator and kernels
        torch.cuda.synchronize()
        start = time.perf_counter()
        model = make()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
        del model
    return best


@pytest.fixture(scope="module")
def write_bytes():
    """Seconds to give the decoder device storage and write every byte once (fill_)."""
    torch = _torch_cuda()
    from test_bench_dtensor import Decoder

    def make():
        with torch.device("meta"):
            model = Decoder()
        model.to_empty(device="cuda")
        with torch.no_grad():
            for t in (*model.parameters(), *model.buffers()):
                t.fill_(1.0)
        return model

    return _model_time(torch, make)


def _record_model(benchmark, library, seconds, write_seconds):
    from test_bench_dtensor import LAYERS, VOCAB, WIDTH

    benchmark.group = "gpu-materialize-float32"
    benchmark.extra_info.update(library=library, dist="gpu-materialize", dtype="float32",
                                threads=0, seconds=seconds, layers=LAYERS, width=WIDTH,
                                vocab=VOCAB, ratio_to_write=seconds / write_seconds,
                                gb_per_s=0.0)


def test_gpu_materialize_fastinit(benchmark, write_bytes):
    """meta build + fastinit.torch.materialize_(model, "cuda")."""
    torch = _torch_cuda()
    from test_bench_dtensor import Decoder

    import fastinit.torch as ft

    def make():
        with torch.device("meta"):
            model = Decoder()
        return ft.materialize_(model, "cuda", seed=0)

    seconds = _model_time(torch, make)
    benchmark.pedantic(make, rounds=1, iterations=1)
    _record_model(benchmark, "fastinit", seconds, write_bytes)


def test_gpu_materialize_torch_reset(benchmark, write_bytes):
    """meta build + to_empty(device="cuda") + every layer's reset_parameters (torch's
    cuRAND fills on the device)."""
    torch = _torch_cuda()
    from test_bench_dtensor import Decoder

    def make():
        with torch.device("meta"):
            model = Decoder()
        model.to_empty(device="cuda")
        with torch.no_grad():
            for mod in model.modules():
                if hasattr(mod, "reset_parameters"):
                    mod.reset_parameters()
        return model

    seconds = _model_time(torch, make)
    benchmark.pedantic(make, rounds=1, iterations=1)
    _record_model(benchmark, "torch-reset", seconds, write_bytes)


def test_gpu_materialize_torch_eager(benchmark, write_bytes):
    """Eager construction under torch.device("cuda") (torch's init runs on the device)."""
    torch = _torch_cuda()
    from test_bench_dtensor import Decoder

    def make():
        with torch.device("cuda"):
            return Decoder()

    seconds = _model_time(torch, make)
    benchmark.pedantic(make, rounds=1, iterations=1)
    _record_model(benchmark, "torch-eager", seconds, write_bytes)


def test_gpu_materialize_write_bytes(benchmark, write_bytes):
    """The limit: to_empty + fill_ of every tensor."""
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    _record_model(benchmark, "write", write_bytes, write_bytes)
