"""The CUDA kernels without a GPU: kernels/fill_cuda.cu, unmodified, runs on the host over
its whole launch grid (tests/data/cuda_host_shim.h) and must give the CPU path's bits for
every dtype, distribution, grid shape, offset and layout; a sanitizer build catches
out-of-bounds writes; the Python backend fails cleanly without CuPy or a device.  Tests
marked gpu run the real kernels and skip where CuPy sees no device."""

import ctypes
import importlib.util
import shutil
import subprocess
import sys
from types import SimpleNamespace

import ml_dtypes
import numpy as np
import pytest
from test_headers import DATA  # noqa: I001  (tests/ is on sys.path under pytest)

import fastinit
from fastinit import _laws
from fastinit._paths import kernel_dir

BF16 = np.dtype(ml_dtypes.bfloat16)
CODES = {np.dtype(np.uint32): 0, np.dtype(np.float16): 1, BF16: 2, np.dtype(np.float32): 3,
         np.dtype(np.float64): 4}
GRIDS = [(1, 1), (3, 7), (64, 128)]
FLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off", "-fno-math-errno",
         f"-I{kernel_dir()}", f"-I{DATA}", str(DATA / "cuda_host_driver.cpp")]


def _need_gxx():
    if shutil.which("g++") is None:
        pytest.skip("g++ is not on the PATH")


def build_shim(directory):
    """The unmodified kernels + the host launch driver as a shared library; its path."""
    _need_gxx()
    lib = directory / "libfillshim.so"
    subprocess.run(["g++", "-O2", "-fPIC", "-shared", *FLAGS, "-o", str(lib)], check=True)
    return lib


def load_shim(lib):
    """fi_host_launch of the library at ``lib``, typed."""
    dll = ctypes.CDLL(str(lib))
    f = dll.fi_host_launch
    f.restype = ctypes.c_int
    f.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_uint64, ctypes.c_uint64] + \
        [ctypes.c_double] * 6 + [ctypes.c_uint64, ctypes.c_longlong, ctypes.c_void_p,
                                 ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    return f


def load_rounder(lib):
    """fi_host_round of the library at ``lib`` (the round kernels), typed."""
    f = ctypes.CDLL(str(lib)).fi_host_round
    f.restype = ctypes.c_int
    f.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_longlong, ctypes.c_void_p,
                  ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    return f


@pytest.fixture(scope="module")
def shim_path(tmp_path_factory):
    return build_shim(tmp_path_factory.mktemp("shim"))


@pytest.fixture(scope="module")
def shim(shim_path):
    return load_shim(shim_path)


@pytest.fixture(scope="module")
def rounder(shim_path):
    return load_rounder(shim_path)


def _params(dist, dtype):
    """(dist code, params) exactly as the public functions derive them."""
    if dist == "bits":
        return _laws.DIST_BITS, dict(a=0.0, b=0.0, lo=0.0, hi=0.0, pa=0.0, pd=0.0)
    if dist == "uniform":
        return _laws.DIST_UNIFORM, dict(_laws._uniform_params(-1.5, 2.5, dtype), pa=0.0, pd=0.0)
    if dist == "normal":
        return _laws.DIST_NORMAL, dict(_laws._normal_params(0.25, 1.5), lo=0.0, hi=0.0, pa=0.0,
                                       pd=0.0)
    return _laws.DIST_TRUNCNORMAL, _laws._truncnormal_params(0.0, 1.0, -1.0, 2.5, dtype)


def _cpu(dist, dtype, shape, offset, out=None):
    kw = dict(seed=7, stream=3, offset=offset, out=out)
    if dist == "bits":
        return fastinit.random_bits(shape, **kw)
    kw["dtype"] = dtype
    if dist == "uniform":
        return fastinit.uniform(shape, -1.5, 2.5, **kw)
    if dist == "normal":
        return fastinit.normal(shape, 0.25, 1.5, **kw)
    return fastinit.truncated_normal(shape, 0.0, 1.0, -1.0, 2.5, **kw)


def _launch(shim, dist, dtype, out, offset, grid, block):
    code, p = _params(dist, dtype)
    layout = np.array(list(out.shape) + [s // out.itemsize for s in out.strides], np.int64)
    rc = shim(CODES[dtype], code, 7, 3, p["a"], p["b"], p["lo"], p["hi"], p["pa"], p["pd"],
              offset, out.size, out.ctypes.data, out.ndim, layout.ctypes.data, grid, block)
    assert rc == 0


CASES = [(dist, np.dtype(dt)) for dist in ("uniform", "normal", "truncated_normal")
         for dt in (np.float16, BF16, np.float32, np.float64)] + [("bits", np.dtype(np.uint32))]


@pytest.mark.parametrize("grid,block", GRIDS)
@pytest.mark.parametrize("dist,dtype", CASES, ids=lambda c: str(c))
@pytest.mark.parametrize("offset", [0, 3, (1 << 32) + 1])
def test_kernels_on_host_equal_cpu_bits(shim, dist, dtype, offset, grid, block):
    n = 1001
    out = np.zeros(n, dtype)
    _launch(shim, dist, dtype, out, offset, grid, block)
    np.testing.assert_array_equal(out.view(np.uint8), _cpu(dist, dtype, n, offset).view(np.uint8))


@pytest.mark.parametrize("dist,dtype", [("normal", np.dtype(np.float32)),
                                        ("truncated_normal", BF16),
                                        ("uniform", np.dtype(np.float64))])
def test_kernels_on_host_strided_layouts(shim, dist, dtype):
    base = np.zeros((40, 30), dtype)
    for view in (base.T, base[::3, 1::2], np.zeros((6, 5, 7), dtype).transpose(2, 0, 1)):
        view[...] = 0
        _launch(shim, dist, dtype, view, 5, 3, 32)
        expect = _cpu(dist, dtype, view.shape, 5)
        np.testing.assert_array_equal(np.ascontiguousarray(view).view(np.uint8),
                                      expect.view(np.uint8))


def test_sanitizer_catches_out_of_bounds(tmp_path):
    _need_gxx()
    exe = tmp_path / "shim_asan"
    built = subprocess.run(["g++", "-O1", "-g", "-fsanitize=address,undefined",
                            "-fno-sanitize-recover=all", "-DFI_SHIM_MAIN", *FLAGS, "-o",
                            str(exe)], capture_output=True, text=True)
    if built.returncode != 0 and "asan" in built.stderr.lower():
        pytest.skip(f"this g++ cannot link the sanitizers: {built.stderr[-300:]}")
    assert built.returncode == 0, built.stderr
    clean = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0 and "SHIM OK" in clean.stdout, clean.stderr[-2000:]
    short = subprocess.run([str(exe), "short"], capture_output=True, text=True, timeout=120)
    assert short.returncode != 0 and "heap-buffer-overflow" in short.stderr


def test_backend_without_cupy_says_what_to_install():
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed here")
    with pytest.raises(ImportError, match=r"fastinit\[cuda12\]"):
        fastinit.normal((4,), seed=1, device="cuda")
    with pytest.raises(ValueError, match="device"):
        fastinit.normal((4,), seed=1, device="gpu")
    with pytest.raises(ValueError, match="host array"):
        fastinit.normal(None, seed=1, device="cuda", out=np.empty(4, np.float32))


def test_nothing_gpu_is_imported():
    code = ("import sys, fastinit, fastinit.init, fastinit.initializers; "
            "bad = [m for m in ('cupy', 'numba', 'torch', 'jax') if m in sys.modules]; "
            "print(bad)")
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=DATA, check=True)
    assert out.stdout.strip() == "[]"


# ---- on a real device ----

def _cupy_device():
    if importlib.util.find_spec("cupy") is None:
        pytest.skip("CuPy is not installed (pip install 'fastinit[cuda12]')")
    import cupy

    if not cupy.cuda.is_available():
        pytest.skip("CuPy sees no CUDA device")
    return cupy


@pytest.mark.gpu
@pytest.mark.parametrize("dist,dtype", CASES, ids=lambda c: str(c))
def test_gpu_equals_cpu_bits(dist, dtype):
    cp = _cupy_device()
    n = 1 << 20
    host = _cpu(dist, dtype, n, 12345)
    if dtype == BF16:
        torch = pytest.importorskip("torch")
        dev = torch.empty(n, dtype=torch.bfloat16, device="cuda")
        _cpu(dist, dtype, None, 12345, out=dev)
        got = dev.view(torch.int16).cpu().numpy().view(BF16)
    else:
        dev = cp.empty(n, dtype)
        _cpu(dist, dtype, None, 12345, out=dev)
        got = cp.asnumpy(dev)
    np.testing.assert_array_equal(got.view(np.uint8), host.view(np.uint8))


@pytest.mark.gpu
def test_gpu_kat_and_device_argument():
    cp = _cupy_device()
    x = fastinit.random_bits((4,), seed=0, device="cuda")
    assert isinstance(x, cp.ndarray)
    np.testing.assert_array_equal(cp.asnumpy(x), fastinit.random_bits((4,), seed=0))
    y = fastinit.normal((3, 5), seed=2, device="cuda:0", dtype=np.float64)
    np.testing.assert_array_equal(cp.asnumpy(y), fastinit.normal((3, 5), seed=2,
                                                                 dtype=np.float64))


# ---- the Python backend end to end, on a fake CuPy whose kernels are the host emulation ----

class FakeDeviceArray(np.ndarray):
    """A host array that reports itself as CUDA memory (DLPack device 2)."""

    def __dlpack_device__(self):
        return (2, 0)

    @property
    def device(self):
        return SimpleNamespace(id=0)


def _fake_cupy(shim, rounder):
    """The part of CuPy fastinit.backends.cuda uses, over numpy; RawModule kernels run
    the unmodified .cu through the host shim (``fake.modules``: the (code, options) of
    each RawModule built)."""
    codes = {"fi_fill_u32": 0, "fi_fill_f16": 1, "fi_fill_bf16": 2, "fi_fill_f32": 3,
             "fi_fill_f64": 4, "fi_round_f16": 1, "fi_round_bf16": 2}
    modules = []

    def dev(a):
        return np.asarray(a).view(FakeDeviceArray)

    class RawModule:
        def __init__(self, code, options):
            assert "--fmad=false" in options and "fi_fill_f32" in code
            modules.append((code, options))

        def compile(self):
            pass

        def get_function(self, name):
            def launch(grid, block, args):
                if name.startswith("fi_round_"):
                    src, n, arr, ndim, layout = args
                    assert src.dtype == np.float32 and src.flags.c_contiguous
                    assert arr.dtype.itemsize == 2
                    rc = rounder(codes[name], src.ctypes.data, int(n), arr.ctypes.data,
                                 int(ndim), np.ascontiguousarray(layout).ctypes.data, grid[0],
                                 block[0])
                    assert rc == 0
                    launches.append((grid[0], block[0]))
                    return
                dist, seed, stream, a, b, lo, hi, pa, pd, start, n, arr, ndim, layout = args
                assert arr.dtype.itemsize == {0: 4, 1: 2, 2: 2, 3: 4, 4: 8}[codes[name]]
                rc = shim(codes[name], int(dist), int(seed), int(stream), float(a), float(b),
                          float(lo), float(hi), float(pa), float(pd), int(start), int(n),
                          arr.ctypes.data, int(ndim), np.ascontiguousarray(layout).ctypes.data,
                          grid[0], block[0])
                assert rc == 0
                launches.append((grid[0], block[0]))
            return launch

    launches = []

    class Device:
        def __init__(self, index=0):
            self.attributes = {"MultiProcessorCount": 4}

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    fake = SimpleNamespace(
        ndarray=FakeDeviceArray, from_dlpack=lambda x: x, RawModule=RawModule,
        uint16=np.uint16, uint32=np.uint32, int64=np.int64, float16=np.float16,
        float32=np.float32, float64=np.float64,
        empty=lambda shape, dtype: dev(np.empty(shape, dtype)),
        asarray=lambda x, dtype=None: dev(np.asarray(x, dtype)),
        ascontiguousarray=lambda x, dtype=None: dev(np.ascontiguousarray(x, dtype)),
        sign=np.sign, diagonal=np.diagonal,
        linalg=SimpleNamespace(qr=lambda a: tuple(dev(x) for x in np.linalg.qr(np.asarray(a)))),
        cuda=SimpleNamespace(Device=Device, is_available=lambda: True))
    fake.launches, fake.modules = launches, modules
    return fake, dev


@pytest.fixture
def fake_cupy(shim, rounder, monkeypatch):
    from fastinit.backends import cuda

    fake, dev = _fake_cupy(shim, rounder)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    cuda._module.cache_clear()
    yield fake, dev
    cuda._module.cache_clear()


@pytest.mark.parametrize("dist,dtype", CASES, ids=lambda c: str(c))
def test_backend_fills_device_buffers(fake_cupy, dist, dtype):
    fake, dev = fake_cupy
    carrier = np.uint16 if dtype in (np.float16, BF16) else dtype
    out = dev(np.zeros((37, 29), carrier).view(dtype)) if dtype != BF16 else None
    if out is None:  # CuPy has no bfloat16: a bfloat16 DLPack buffer arrives as itself
        out = dev(np.zeros((37, 29), BF16))
    got = _cpu(dist, dtype, None, 11, out=out)
    assert got is out and fake.launches
    np.testing.assert_array_equal(np.asarray(out).view(np.uint8),
                                  _cpu(dist, dtype, (37, 29), 11).view(np.uint8))
    strided = dev(np.zeros((20, 30), dtype))[::2, 3:]
    _cpu(dist, dtype, None, 5, out=strided)
    np.testing.assert_array_equal(np.ascontiguousarray(strided).view(np.uint8),
                                  _cpu(dist, dtype, (10, 27), 5).view(np.uint8))


def test_backend_device_argument_shards_and_initializers(fake_cupy):
    fake, dev = fake_cupy
    x = fastinit.normal((5, 7), seed=2, device="cuda:0", dtype=np.float64)
    assert isinstance(x, FakeDeviceArray)
    np.testing.assert_array_equal(np.asarray(x), fastinit.normal((5, 7), seed=2,
                                                                 dtype=np.float64))
    with pytest.raises(TypeError, match="bfloat16"):
        fastinit.normal((5, 7), seed=2, device="cuda", dtype=BF16)
    local = dev(np.zeros((4, 6), np.float32))
    with fastinit.shard((9, 8), (3, 2)):
        fastinit.init.kaiming_uniform_(local, seed=4)
    np.testing.assert_array_equal(np.asarray(local),
                                  fastinit.init.kaiming_uniform((9, 8), seed=4)[3:7, 2:8])
    with pytest.raises(TypeError, match="CUDA device"):
        fastinit.init.dirac_(dev(np.zeros((4, 4, 3), np.float32)))


@pytest.mark.parametrize("shape,dtype", [((48, 20), np.float32), ((20, 48), np.float64),
                                         ((16, 4, 3), BF16)])
def test_backend_orthogonal(fake_cupy, shape, dtype):
    fake, dev = fake_cupy
    out = dev(np.zeros(shape, dtype))
    fastinit.init.orthogonal_(out, gain=2.0, seed=3)
    w = np.asarray(out).astype(np.float64).reshape(shape[0], -1)
    small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    tol = 0.05 if dtype == BF16 else 1e-5
    assert np.abs(small - 4 * np.eye(small.shape[0])).max() < tol


def test_backend_orthogonal_is_haar(fake_cupy):
    """QR of Gaussians with the sign correction (the device route) gives the law of the
    CPU route: tr Q of Haar O(6) has the moments of N(0, 1) up to order 4."""
    import math

    fake, dev = fake_cupy
    draws = 3000
    q = dev(np.zeros((draws, 6, 6)))
    fastinit.init.orthogonal_(q, seed=5, batch_dims=1)
    tr = np.trace(np.asarray(q), axis1=1, axis2=2)
    assert abs(tr.mean()) < 5 / math.sqrt(draws)
    assert abs((tr**2).mean() - 1) < 5 * math.sqrt(2 / draws)


def _rounding_cases():
    """float32 values whose float16/bfloat16 rounding is delicate: ties both ways, the
    overflow edges, subnormal results, signed zeros and infinities, then 2^16 random bit
    patterns (NaNs left out)."""
    special = [0.0, -0.0, np.inf, -np.inf, np.finfo(np.float32).max, 65504.0, 65519.996,
               65520.0, -65520.0, 2.0**-24, 2.0**-25, 3 * 2.0**-25, 2.0**-14, 2.0**-15 * 1.5,
               1e-45, -1e-40]
    ties = np.array([0x3F80_8000, 0x3F81_8000, 0x3F80_7FFF, 0x3F80_8001, 0x7F7F_8000,
                     0xBF80_8000, 0x3F80_1000, 0x3F80_3000, 0x0001_8000], np.uint32)
    rng = np.random.default_rng(4)
    bits = rng.integers(0, 1 << 32, 1 << 16, dtype=np.uint32)
    values = np.concatenate([np.array(special, np.float32), ties.view(np.float32),
                             bits.view(np.float32)])
    return values[~np.isnan(values)]


@pytest.mark.parametrize("dtype", [np.dtype(np.float16), BF16], ids=str)
def test_backend_rounds_like_the_cpu_path(fake_cupy, dtype):
    """Device values stored into a float16/bfloat16 buffer (strided) by the round kernels of
    fill_cuda.cu, run on the host, have the bits of the CPU path's rounding (numpy's and
    ml_dtypes' astype, as fastinit._structured's orthogonal_fill)."""
    from fastinit.backends import cuda

    fake, dev = fake_cupy
    values = _rounding_cases()
    values = values[: values.size // 16 * 16].reshape(-1, 16)
    base = dev(np.zeros((values.shape[0], 40), dtype))
    out = base[:, 3:35:2]  # strided: the layout argument places every element
    cuda._store(cuda.wrap_out(out), dev(values))
    assert fake.launches
    with np.errstate(over="ignore"):  # values beyond float16's range round to inf
        want = values.astype(dtype)
    np.testing.assert_array_equal(np.asarray(out).view(np.uint16), want.view(np.uint16))
    assert not np.asarray(base)[:, :3].view(np.uint16).any()  # nothing outside the view


def test_cupy_source_rounds_with_fi_math(fake_cupy):
    """The source CuPy compiles reaches fi_math.h on its include path, and its float16 and
    bfloat16 stores call fi_math.h's fi_f32_to_f16/fi_f32_to_bf16: the rounding rule is
    written once (fi_math.h), not again in the .cu or in the backend's Python."""
    import inspect
    import re

    from fastinit.backends import cuda

    fake, dev = fake_cupy
    fastinit.init.orthogonal_(dev(np.zeros((6, 4), BF16)), seed=1)
    (code, options), = fake.modules
    assert f"-I{kernel_dir()}" in options
    assert '#include "fi_math.h"' in code
    rounders = dict(re.findall(r"^FI_ROUND_KERNEL\((\w+), (\w+)\)", code, re.M))
    assert rounders == {"fi_round_f16": "fi_f32_to_f16", "fi_round_bf16": "fi_f32_to_bf16"}
    assert set(cuda.ROUNDERS.values()) == set(rounders)
    definition = r"\bfi_u16\s+(fi_f32_to_b?f16)\s*\("
    defined = {p.name: re.findall(definition, p.read_text())
               for p in kernel_dir().glob("*") if p.suffix in (".h", ".cu", ".c")}
    assert {n: d for n, d in defined.items() if d} == {
        "fi_math.h": ["fi_f32_to_bf16", "fi_f32_to_f16"]}
    backend = inspect.getsource(cuda).lower()
    assert "0x7fff" not in backend and "astype(cp.float16)" not in backend


# ---- the propagation engine on the device (fastinit.propagate, backend="cuda") ----

@pytest.mark.parametrize("init,method", [("gaussian", "dense"), ("orthogonal", "dense"),
                                         ("truncated_normal", "dense"), ("gaussian", "gram")])
def test_propagation_engine_runs_on_the_device(fake_cupy, init, method):
    """backend="cuda" allocates, fills (the unmodified kernels through the host shim) and
    multiplies on the (fake) device and copies only statistics back: the weights have the
    CPU's bits, so with numpy standing in for cuBLAS the statistics equal the CPU run's
    to rounding (orthogonal: the same law through a different QR)."""
    from fastinit import propagate

    fake, dev = fake_cupy
    kw = dict(n_networks=3, n_inputs=2, seed=5, dtype=np.float64, method=method,
              track=("q", "c", "grad_fwd") if method == "gram" else ("q", "c", "grad"),
              dropout=0.1 if method == "dense" else 0.0)
    gpu = propagate.simulate(6, 48, "erf", init, 1.6, 0.05, backend="cuda:0", **kw)
    assert fake.launches and gpu.params["backend"] == "cuda:0"
    cpu = propagate.simulate(6, 48, "erf", init, 1.6, 0.05, **kw)
    if init == "orthogonal":  # Haar either way (different QRs): no common bits
        assert np.isfinite(gpu.q).all() and np.isfinite(gpu.grad_bwd).all()
        lin = propagate.simulate(6, 48, "linear", init, 1.6, 0.0, backend="cuda",
                                 **dict(kw, dropout=0.0))
        np.testing.assert_allclose(lin.q, 1.6 ** np.arange(7)[:, None, None] *
                                   np.ones_like(lin.q), rtol=1e-10)  # exact isometry
        return
    for name in ("q", "c", "grad_fwd") + (("grad_bwd",) if method == "dense" else ()):
        np.testing.assert_allclose(getattr(gpu, name), getattr(cpu, name), rtol=1e-9)


def test_propagation_residual_and_jacobian_on_the_device(fake_cupy):
    from fastinit import propagate

    kw = dict(n_networks=2, seed=8, dtype=np.float64, residual="two", alpha=0.5,
              stochastic_depth=0.2)
    gpu = propagate.simulate(5, 32, "tanh", backend="cuda", **kw)
    cpu = propagate.simulate(5, 32, "tanh", **kw)
    np.testing.assert_allclose(gpu.grad_bwd, cpu.grad_bwd, rtol=1e-9)
    gpu = propagate.simulate(4, 24, "relu", "gaussian", 2.0, backend="cuda", n_networks=2,
                             jacobian_at=(4,), dtype=np.float64)
    cpu = propagate.simulate(4, 24, "relu", "gaussian", 2.0, n_networks=2, jacobian_at=(4,),
                             dtype=np.float64)
    np.testing.assert_allclose(gpu.jacobian_sv[4], cpu.jacobian_sv[4], rtol=1e-9, atol=1e-12)


def test_propagation_backend_errors():
    from fastinit import propagate

    with pytest.raises(ValueError, match="cuda:N"):
        propagate.simulate(3, 8, backend="gpu")
    with pytest.raises(TypeError, match="backend"):
        propagate.simulate(3, 8, backend=0)


@pytest.mark.gpu
def test_gpu_propagation_agrees_with_cpu_statistically():
    """cuBLAS rounds differently, so CPU and GPU agree in law: the ensemble means of q at
    every layer within 5 combined standard errors, and the same chi_1 growth."""
    _cupy_device()
    from fastinit import propagate, theory

    kw = dict(n_networks=16, n_inputs=2, seed=4, track=("q", "c", "grad"))
    gpu = propagate.simulate(30, 512, "tanh", "gaussian", 1.5, 0.05, backend="cuda", **kw)
    cpu = propagate.simulate(30, 512, "tanh", "gaussian", 1.5, 0.05, **kw)
    (mg, sg), (mc, sc) = gpu.ensemble("q"), cpu.ensemble("q")
    assert (np.abs(mg - mc) <= 5 * np.hypot(sg, sc) + 1e-6).all()
    np.testing.assert_allclose(gpu.q[:2], cpu.q[:2], rtol=1e-4)  # same W^1 bits
    assert gpu.chi_forward() == pytest.approx(theory.chi1("tanh", 1.5, 0.05), rel=0.05)
