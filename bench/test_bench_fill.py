"""Side-by-side fills into pre-allocated outputs: fastinit, numpy's Generator (PCG64), torch
and the memory-write limit.  Run explicitly: ``pytest bench`` (testpaths is tests/)."""

from contextlib import contextmanager

import numpy as np
import pytest

import fastinit

THREADS = (1, 2)
DTYPES = ("float32", "bfloat16")
DISTS = ("uniform", "normal", "truncated_normal")


def _status_kib(field):
    """A memory field of /proc/self/status (VmRSS, VmHWM), in KiB."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def peak_extra_bytes(fill, size, dtype):
    """Growth of the peak RSS beyond the output itself during one fill into a fresh output.

    Linux only (the peak is reset through /proc/self/clear_refs); None elsewhere."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    before = _status_kib("VmRSS")
    out = np.empty(size, dtype)
    fill(out)
    return (_status_kib("VmHWM") - before) * 1024 - out.nbytes


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
        benchmark.extra_info["peak_extra_bytes"] = peak_extra_bytes(
            lambda fresh: fill(None, seed=0, out=fresh), out.size, out.dtype)


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
