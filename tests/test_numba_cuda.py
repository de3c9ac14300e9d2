"""fastinit.backends.numba_cuda: the same stream in Numba.  The register_jitable core runs
under numba.njit (large sizes), the kernels compile to PTX for sm_80/sm_90, and run in the
CUDA simulator (the tests marked cudasim, in a child process with NUMBA_ENABLE_CUDASIM=1,
which must be set before numba is imported); all must give the CPU path's bits."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import fastinit

numba = pytest.importorskip("numba", reason="numba is not installed (pip install numba)")
SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def _nc():
    return pytest.importorskip("fastinit.backends.numba_cuda",
                               reason="numba-cuda is not installed")


@pytest.mark.skipif(SIM, reason="njit and compile_ptx need the real CUDA target, not the "
                                "simulator")
def test_njit_core_equals_cpu_bits():
    nc = _nc()

    @numba.njit
    def words(n, seed, stream):
        out = np.empty(n, np.uint32)
        u32 = np.empty(n, np.float32)
        u64 = np.empty(n // 2, np.float64)
        for b in range(n // 4):
            w = nc.block_words(b, seed, stream)
            for j in range(4):
                out[4 * b + j] = w[j]
                u32[4 * b + j] = nc.u01_f32(w[j])
            u64[2 * b] = nc.u01_f64(w[0], w[1])
            u64[2 * b + 1] = nc.u01_f64(w[2], w[3])
        return out, u32, u64

    n = 1 << 16
    seed, stream = (1 << 63) + 12345, (1 << 40) + 7
    bits, u32, u64 = words(n, np.uint64(seed), np.uint64(stream))
    np.testing.assert_array_equal(bits, fastinit.random_bits(n, seed=seed, stream=stream))
    np.testing.assert_array_equal(u32, fastinit.uniform(n, seed=seed, stream=stream))
    np.testing.assert_array_equal(u64, fastinit.uniform(n // 2, seed=seed, stream=stream,
                                                        dtype=np.float64))


@pytest.mark.skipif(SIM, reason="compile_ptx needs the real CUDA target")
@pytest.mark.parametrize("cc", [(8, 0), (9, 0)])
def test_kernels_compile_to_ptx(cc, monkeypatch, tmp_path):
    nc = _nc()
    from numba import cuda, types
    from numba.cuda import dispatcher

    # compile_ptx of a kernel calling device functions asks for the current device; give
    # it the target instead (no GPU here)
    monkeypatch.setattr(dispatcher, "get_current_device",
                        lambda: SimpleNamespace(compute_capability=cc))
    sigs = {"fill_bits": (nc.fill_bits, types.uint32[::1]),
            "fill_u01_f32": (nc.fill_u01_f32, types.float32[::1]),
            "fill_u01_f64": (nc.fill_u01_f64, types.float64[::1])}
    for name, (kernel, arr) in sigs.items():
        try:
            ptx, _ = cuda.compile_ptx(kernel.py_func, (arr, types.uint64, types.uint64,
                                                       types.uint64), cc=cc)
        except Exception as exc:  # no NVVM in this environment
            if "nvvm" in str(exc).lower() or "DynamicLib" in type(exc).__name__:
                pytest.skip(f"NVVM is not available: {exc}")
            raise
        assert f".target sm_{cc[0]}{cc[1]}" in ptx
        assert ".entry" in ptx
        if shutil.which("ptxas"):
            path = tmp_path / f"{name}.ptx"
            path.write_text(ptx)
            subprocess.run(["ptxas", f"-arch=sm_{cc[0]}{cc[1]}", str(path), "-o",
                            str(tmp_path / "k.cubin")], check=True)


@pytest.mark.skipif(SIM, reason="this is the simulator pass itself")
def test_simulator_pass():
    """The cudasim tests below, in a child whose numba runs the CUDA simulator."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "cudasim", "-p", "no:cacheprovider",
         "-W", "error::RuntimeWarning", str(Path(__file__))],
        env=env, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parent)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert re.search(r"\b6 passed\b", proc.stdout), proc.stdout[-2000:]


@pytest.mark.cudasim
@pytest.mark.parametrize("start", [0, 3, (1 << 32) + 1])
@pytest.mark.parametrize("grid,block", [(1, 1), (3, 7)])
def test_simulator_kernels_equal_cpu_bits(start, grid, block):
    nc = _nc()
    n = 61
    bits = np.zeros(n, np.uint32)
    nc.fill_bits[grid, block](bits, np.uint64(9), np.uint64(2), np.uint64(start))
    np.testing.assert_array_equal(bits, fastinit.random_bits(n, seed=9, stream=2, offset=start))
    u32 = np.zeros(n, np.float32)
    nc.fill_u01_f32[grid, block](u32, np.uint64(9), np.uint64(2), np.uint64(start))
    np.testing.assert_array_equal(u32, fastinit.uniform(n, seed=9, stream=2, offset=start))
    u64 = np.zeros(n, np.float64)
    nc.fill_u01_f64[grid, block](u64, np.uint64(9), np.uint64(2), np.uint64(start))
    np.testing.assert_array_equal(u64, fastinit.uniform(n, seed=9, stream=2, offset=start,
                                                        dtype=np.float64))
