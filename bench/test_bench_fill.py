"""Side-by-side fills into pre-allocated outputs: fastinit, numpy's Generator (PCG64), torch
and the memory-write limit.  Run explicitly: ``pytest bench`` (testpaths is tests/)."""

import subprocess
import sys
from contextlib import contextmanager

import numpy as np
import pytest

import fastinit

THREADS = (1, 2)
DTYPES = ("float32", "bfloat16")
DISTS = ("uniform", "normal", "truncated_normal")

# Run in a fresh interpreter, so that ru_maxrss (the peak RSS) only grows by this one fill.
PEAK_SCRIPT = """\
import resource, sys
import ml_dtypes, numpy as np, fastinit
dist, dtype, threads, n = sys.argv[1], np.dtype(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
fill = getattr(fastinit, dist)
fastinit.set_num_threads(threads)
fill(None, seed=0, out=np.empty(64, dtype))  # start the thread pool before the baseline
unit = 1 if sys.platform == "darwin" else 1024  # ru_maxrss is in bytes on macOS, KiB on Linux
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = np.empty(n, dtype)
fill(None, seed=0, out=out)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * unit - out.nbytes)
"""


def peak_extra_bytes(dist, dtype, threads, n):
    """Peak-RSS growth beyond the output itself for one fill into a fresh output."""
    args = [dist, dtype, str(threads), str(n)]
    run = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, *args], capture_output=True,
                         text=True, check=True)
    return int(run.stdout)


@contextmanager
def num_threads(get, set_, n):
    """Use `n` threads (via the library's get/set pair) inside the block."""
    previous = get()
    set_(n)
    try:
        yield
    finally:
        set_(previous)


@pytest.fixture(scope="module")
def torch():
    """The torch module; its benchmarks are skipped when it is not installed."""
    return pytest.importorskip("torch", reason="torch is not installed")


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
def test_write_limit(measure, outputs, fill_constant, threads):
    """Constant (nonzero) fill of the float32 output: the memory-write limit."""
    out = outputs["float32"]
    measure(lambda: fill_constant(out, threads), out, library="limit", dist="constant",
            threads=threads)


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dist", DISTS)
def test_fastinit(benchmark, measure, outputs, dist, dtype, threads):
    """fastinit.<dist>(None, seed=0, out=out), plus its peak memory beyond the output."""
    out = outputs[dtype]
    fill = getattr(fastinit, dist)
    with num_threads(fastinit.get_num_threads, fastinit.set_num_threads, threads):
        measure(lambda: fill(None, seed=0, out=out), out, library="fastinit", dist=dist,
                threads=threads)
    benchmark.extra_info["peak_extra_bytes"] = peak_extra_bytes(dist, dtype, threads, out.size)


@pytest.mark.parametrize("dist", ["uniform", "normal"])
def test_numpy(measure, outputs, dist):
    """numpy Generator(PCG64) random/standard_normal with out= (one thread, float32 only)."""
    out = outputs["float32"]
    rng = np.random.default_rng(0)
    fill = rng.random if dist == "uniform" else rng.standard_normal
    measure(lambda: fill(out=out, dtype=np.float32), out, library="numpy", dist=dist,
            threads=1)


@pytest.mark.parametrize("threads", THREADS, ids=lambda t: f"t{t}")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dist", DISTS)
def test_torch(torch, measure, outputs, dist, dtype, threads):
    """torch CPU uniform_/normal_/nn.init.trunc_normal_ on a tensor sharing the output."""
    out = outputs[dtype]
    if dtype == "bfloat16":  # torch.from_numpy does not know ml_dtypes: share the bits
        tensor = torch.from_numpy(out.view(np.uint16)).view(torch.bfloat16)
    else:
        tensor = torch.from_numpy(out)
    fill = {
        "uniform": tensor.uniform_,
        "normal": tensor.normal_,
        "truncated_normal": lambda: torch.nn.init.trunc_normal_(tensor, std=1.0, a=-2.0, b=2.0),
    }[dist]
    with num_threads(torch.get_num_threads, torch.set_num_threads, threads):
        measure(fill, out, library="torch", dist=dist, threads=threads)
