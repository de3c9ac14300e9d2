"""fastinit.numba and fastinit.backends.numba_cuda: the stream inside Numba code.  The
register_jitable functions run under numba.njit on 2^20 elements against the CPU fills,
the kernels compile to PTX for sm_80/sm_90 (no fma, every float operation rounded), and
run in the CUDA simulator (the tests marked cudasim, in a child process with
NUMBA_ENABLE_CUDASIM=1, which must be set before numba is imported); all must give the
CPU path's bits."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import ml_dtypes
import numpy as np
import pytest

import fastinit

numba = pytest.importorskip("numba", reason="numba is not installed (pip install numba)")
cuda = pytest.importorskip("numba.cuda")  # a global: the simulator swaps it in kernels
SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
not_sim = pytest.mark.skipif(SIM, reason="njit and compile_ptx need the real CUDA target, "
                                         "not the simulator")
SEED, STREAM = (1 << 63) + 12345, (1 << 40) + 7
# (low, high) / (loc, scale) / (loc, scale, a, b): the last truncated set is mirrored
# (alpha > 0), the one before it lies in the far tail (the AS 241 branch of the 32-bit path)
UNIFORM = [(-2.0, 3.0), (0.0, 1.0), (5.0, 5.0)]
NORMAL = [(0.5, 2.0), (0.0, 1.0), (-1.0, 0.0)]
TRUNC = [(0.1, 1.5, -1.0, 2.5), (0.0, 1.0, -2.0, 2.0), (0.0, 1.0, -12.0, -5.5),
         (0.0, 1.0, 1.0, 3.0)]


def _fnb():
    return pytest.importorskip("fastinit.numba")


def _nc():
    return pytest.importorskip("fastinit.backends.numba_cuda",
                               reason="numba-cuda is not installed")


def _same_bits(got, ref):
    """Equal bit patterns (got in ref's dtype, or its uint16 storage)."""
    assert got.dtype in (ref.dtype, np.uint16), got.dtype
    np.testing.assert_array_equal(got.view(np.uint8), ref.view(np.uint8))


def _refs(n, offset, dtype):
    """The CPU fills for every parameter set of UNIFORM, NORMAL, TRUNC."""
    kw = dict(seed=SEED, stream=STREAM, offset=offset, dtype=dtype)
    return ([fastinit.uniform(n, *p, **kw) for p in UNIFORM]
            + [fastinit.normal(n, *p, **kw) for p in NORMAL]
            + [fastinit.truncated_normal(n, *p, **kw) for p in TRUNC])


@pytest.fixture(scope="module")
def per_element():
    """An njit loop drawing element offset + k of every distribution, one dtype."""
    fnb = _fnb()

    def make(uniform, normal, trunc):
        @numba.njit
        def draw(n, seed, stream, offset, up, np_, tp, out):
            for k in range(n):
                i = offset + np.uint64(k)
                r = 0
                for p in up:
                    out[r, k] = uniform(seed, stream, i, p[0], p[1])
                    r += 1
                for p in np_:
                    out[r, k] = normal(seed, stream, i, p[0], p[1])
                    r += 1
                for p in tp:
                    out[r, k] = trunc(seed, stream, i, p[0], p[1], p[2], p[3])
                    r += 1
            return out
        return draw

    return {np.float32: make(fnb.uniform_f32, fnb.normal_f32, fnb.truncated_normal_f32),
            np.float64: make(fnb.uniform_f64, fnb.normal_f64, fnb.truncated_normal_f64),
            np.float16: make(fnb.uniform_f16, fnb.normal_f16, fnb.truncated_normal_f16),
            ml_dtypes.bfloat16: make(fnb.uniform_bf16, fnb.normal_bf16,
                                     fnb.truncated_normal_bf16)}


@not_sim
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, ml_dtypes.bfloat16],
                         ids=["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("offset", [0, (1 << 63) + (1 << 34) - (1 << 19) + 1])  # block 2^32
def test_njit_every_distribution_equals_cpu_fills(per_element, dtype, offset):
    """float16/bfloat16 come back as their uint16 bits."""
    n = 1 << 20
    store = np.uint16 if np.dtype(dtype).itemsize == 2 else dtype
    out = np.empty((len(UNIFORM) + len(NORMAL) + len(TRUNC), n), store)
    per_element[dtype](n, np.uint64(SEED), np.uint64(STREAM), np.uint64(offset),
                       tuple(UNIFORM), tuple(NORMAL), tuple(TRUNC), out)
    for got, ref in zip(out, _refs(n, offset, dtype), strict=True):
        _same_bits(got, ref)


@not_sim
def test_njit_bits_blocks_and_prepared_constants():
    fnb = _fnb()
    c32 = fnb.truncnorm_params(*TRUNC[0], dtype=np.float32)
    c64 = fnb.truncnorm_params(*TRUNC[0], dtype=np.float64)

    @numba.njit
    def draw(nb, seed, stream, c32, c64):
        words = np.empty(4 * nb, np.uint32)
        bits = np.empty(4 * nb, np.uint32)
        v32 = np.empty((4, 4 * nb), np.float32)
        v64 = np.empty((5, 2 * nb), np.float64)
        for b in range(nb):
            w = fnb.bits_block(seed, stream, b)
            u = fnb.uniform_block_f32(seed, stream, b, -2.0, 3.0)
            z = fnb.normal_block_f32(seed, stream, b, 0.5, 2.0)
            t = fnb.truncated_normal_block_f32(seed, stream, b, 0.1, 1.5, -1.0, 2.5)
            tp = fnb.truncated_normal_block_p_f32(seed, stream, b, c32)
            for j in range(4):
                e = 4 * b + j
                words[e], bits[e] = w[j], fnb.bits(seed, stream, e)
                v32[0, e], v32[1, e], v32[2, e], v32[3, e] = u[j], z[j], t[j], tp[j]
            u = fnb.uniform_block_f64(seed, stream, b, -2.0, 3.0)
            z = fnb.normal_block_f64(seed, stream, b, 0.5, 2.0)
            t = fnb.truncated_normal_block_f64(seed, stream, b, 0.1, 1.5, -1.0, 2.5)
            tp = fnb.truncated_normal_block_p_f64(seed, stream, b, c64)
            for j in range(2):
                e = 2 * b + j
                v64[0, e], v64[1, e], v64[2, e], v64[3, e] = u[j], z[j], t[j], tp[j]
                v64[4, e] = fnb.truncated_normal_p_f64(seed, stream, e, c64)
        return words, bits, v32, v64

    nb = 1 << 14
    words, bits, v32, v64 = draw(nb, np.uint64(SEED), np.uint64(STREAM), c32, c64)
    kw = dict(seed=SEED, stream=STREAM)
    ref_bits = fastinit.random_bits(4 * nb, **kw)
    _same_bits(words, ref_bits)
    _same_bits(bits, ref_bits)
    for dt, got, n in ((np.float32, v32, 4 * nb), (np.float64, v64, 2 * nb)):
        _same_bits(got[0], fastinit.uniform(n, -2.0, 3.0, dtype=dt, **kw))
        _same_bits(got[1], fastinit.normal(n, 0.5, 2.0, dtype=dt, **kw))
        for row in got[2:]:
            _same_bits(row, fastinit.truncated_normal(n, *TRUNC[0], dtype=dt, **kw))


@not_sim
def test_njit_half_precision_rounding():
    """f32_to_f16_bits / f32_to_bf16_bits round like numpy and ml_dtypes (nearest even,
    subnormals, overflow), and turn the float32 normal into fastinit's float16/bfloat16
    normal (no clamp there, so the rounding is all)."""
    fnb = _fnb()

    @numba.njit
    def rounded(x):
        h = np.empty(x.size, np.uint16)
        b = np.empty(x.size, np.uint16)
        for k in range(x.size):
            h[k] = fnb.f32_to_f16_bits(x[k])
            b[k] = fnb.f32_to_bf16_bits(x[k])
        return h, b

    rng = np.random.default_rng(0)
    x = rng.integers(0, 1 << 32, 1 << 20, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = x[np.isfinite(x)]
    edges = np.array([65504, 65519.996, 65520, 6.1e-5, 5.96e-8, 2.98e-8, 2.9802326e-08,
                      0.0, -0.0, 1 + 2**-11, 1 + 3 * 2**-11], np.float32)
    x = np.concatenate([x, edges, -edges, rng.standard_normal(1 << 16).astype(np.float32)])
    h, b = rounded(x)
    with np.errstate(over="ignore"):  # to inf, as f32_to_f16_bits
        np.testing.assert_array_equal(h, x.astype(np.float16).view(np.uint16))
    np.testing.assert_array_equal(b, x.astype(ml_dtypes.bfloat16).view(np.uint16))
    z = fastinit.normal(1 << 16, 0.5, 2.0, seed=3)
    h, b = rounded(z)
    _same_bits(h, fastinit.normal(1 << 16, 0.5, 2.0, seed=3, dtype=np.float16).view(np.uint16))
    _same_bits(b, fastinit.normal(1 << 16, 0.5, 2.0, seed=3,
                                  dtype=ml_dtypes.bfloat16).view(np.uint16))


@not_sim
def test_njit_clamp_bounds_equal_the_hosts():
    """The in-kernel clamp interval (smallest value of the dtype >= low, largest <= or <
    high) equals fastinit._laws._inner_bounds bit for bit, for every dtype, at edges
    (signed zeros, subnormals, overflow to inf) too; an empty one raises in both."""
    from fastinit._laws import _inner_bounds

    fnb = _fnb()
    from fastinit._numba_consts import _bounds

    bounds = numba.njit(_bounds)
    rng = np.random.default_rng(1)
    edges = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, -65520.0, 1e5, 6.1e-5, 6e-8,
             -3e-8, 1e-40, 3.3895e38, 1 + 2**-9, 1 - 2**-12, 0.1, -0.1]
    lows = edges + list(rng.standard_normal(200) * 10.0 ** rng.integers(-9, 6, 200))
    kinds = {fnb.F32: np.dtype(np.float32), fnb.F64: np.dtype(np.float64),
             fnb.F16: np.dtype(np.float16), fnb.BF16: np.dtype(ml_dtypes.bfloat16)}
    bits = lambda pair: np.array(pair, np.float64).view(np.uint64).tolist()  # noqa: E731
    raised = 0
    with np.errstate(over="ignore"):
        for kind, dtype in kinds.items():
            for low in lows:
                for high in (low + abs(low) * 2.0**-30, low + abs(low) * 2.0**-9, low + 1.0):
                    for open_high in (True, False):
                        want = _inner_bounds(low, high, dtype, open_high)
                        if want[0] > want[1]:
                            with pytest.raises(ValueError, match="holds no"):
                                bounds(low, high, open_high, kind)
                            raised += 1
                        else:
                            assert bits(bounds(low, high, open_high, kind)) == bits(want), (
                                dtype, low, high, open_high)
    assert raised > 50


@not_sim
def test_njit_transforms_hold_no_fma():
    """The proof for the CPU: Numba's njit sets no fast-math flags, so LLVM fuses nothing
    (x86 vfmadd*) even when compiled for the host's FMA units."""
    fnb = _fnb()

    @numba.njit
    def one(seed, i):
        return (fnb.uniform_f32(seed, 0, i, -1.0, 2.0) + fnb.normal_f32(seed, 0, i, 0.5, 2.0)
                + fnb.truncated_normal_f32(seed, 0, i, 0.0, 1.0, -2.0, 2.0)
                + fnb.uniform_f64(seed, 0, i, -1.0, 2.0) + fnb.normal_f64(seed, 0, i, 0.5, 2.0)
                + fnb.truncated_normal_f64(seed, 0, i, 0.0, 1.0, -2.0, 2.0))

    one(np.uint64(1), np.uint64(2))
    asm = "\n".join(one.inspect_asm().values())
    assert "mulss" in asm and "mulsd" in asm  # the transforms are in there
    assert not re.search(r"\bv?fn?m(add|sub)\d*[sp][sd]\b", asm)


@not_sim
@pytest.mark.parametrize("name, params, message", [
    ("uniform_f32", (2.0, 1.0), "low must be <= high"),
    ("uniform_f64", (0.0, np.inf), "finite"),
    ("uniform_f32", (1.0 + 1e-10, 1.0 + 2e-10), "no float32 value"),
    ("normal_f32", (0.0, -1.0), "scale must be >= 0"),
    ("truncated_normal_f64", (0.0, 1.0, 2.0, 2.0), "a must be < b"),
    ("truncated_normal_f32", (0.0, 0.0, -1.0, 1.0), "scale must be > 0"),
    ("truncated_normal_f32", (0.0, 1.0, 40.0, 41.0), "37 standard"),
])
def test_njit_bad_parameters_raise(name, params, message):
    jitted = numba.njit(getattr(_fnb(), name))
    with pytest.raises(ValueError, match=message):
        jitted(np.uint64(1), np.uint64(0), np.uint64(0), *params)


@not_sim
def test_njit_float_index_is_a_typing_error():
    """A float index (2^64 indices do not fit a double) is refused, not rounded; int64
    arithmetic wraps like uint64."""
    fnb = _fnb()

    @numba.njit
    def draw(offset, k):
        return fnb.normal_f32(1, 0, offset + k, 0.0, 1.0)

    assert draw(np.uint64(5), 2) == fastinit.normal(1, seed=1, offset=7)[0]
    with pytest.raises(numba.core.errors.TypingError, match="must be integers"):
        draw(5.0, 2)
    last = numba.njit(lambda i: fnb.bits(1, 0, i))  # element 2^64 - 1: word 3 of block 2^62 - 1
    word = fastinit.philox4x32_10(np.array([2**32 - 1, 2**30 - 1, 0, 0], np.uint32),
                                  np.array([1, 0], np.uint32))[3]
    assert last(np.int64(-1)) == last(np.uint64(2**64 - 1)) == word
    with pytest.raises(TypeError, match="must be integers"):
        fnb.bits(1, 0, 2.0)  # the Python functions (what the simulator runs) too


def test_truncnorm_params_validates_on_the_host():
    fnb = _fnb()
    with pytest.raises(ValueError, match="a must be < b"):
        fnb.truncnorm_params(0.0, 1.0, 1.0, -1.0)
    with pytest.raises(TypeError, match="dtype"):
        fnb.truncnorm_params(0.0, 1.0, -1.0, 1.0, dtype=np.int32)


def _user_kernel():
    """A @cuda.jit kernel as a user writes it: element i of every distribution."""
    fnb = _fnb()

    @cuda.jit
    def kernel(out32, out64, out16, bits, seed, stream, offset, c32, c64, c16):
        k = cuda.grid(1)
        if k < bits.shape[0]:
            i = offset + np.uint64(k)
            bits[k] = fnb.bits(seed, stream, i)
            out16[0, k] = fnb.uniform_f16(seed, stream, i, 0.0, 1.0)
            out16[1, k] = fnb.uniform_bf16(seed, stream, i, -2.0, 3.0)
            out16[2, k] = fnb.normal_f16(seed, stream, i, 0.5, 2.0)
            out16[3, k] = fnb.truncated_normal_p_bf16(seed, stream, i, c16)
            out32[0, k] = fnb.uniform_f32(seed, stream, i, -2.0, 3.0)
            out32[1, k] = fnb.normal_f32(seed, stream, i, 0.5, 2.0)
            out32[2, k] = fnb.truncated_normal_p_f32(seed, stream, i, c32)
            out64[0, k] = fnb.uniform_f64(seed, stream, i, -2.0, 3.0)
            out64[1, k] = fnb.normal_f64(seed, stream, i, 0.5, 2.0)
            out64[2, k] = fnb.truncated_normal_p_f64(seed, stream, i, c64)

    return kernel


@not_sim
@pytest.mark.parametrize("cc", [(8, 0), (9, 0)])
def test_kernels_compile_to_ptx_without_fma(cc, monkeypatch, tmp_path):
    """Every fill kernel and a user kernel calling the per-element functions compile for
    sm_80/sm_90; their PTX holds no fma and no float mul/add/sub without .rn (which ptxas
    may fuse); ptxas assembles it.  The control: plain a * b + c, fastmath=False (Numba's
    default), compiles to fma.rn.f32, so the libdevice primitives are what prevents it."""
    nc = _nc()
    from numba import types
    from numba.cuda import dispatcher
    from numba.np.numpy_support import from_dtype

    # compile_ptx of a kernel calling device functions asks for the current device; give
    # it the target instead (no GPU here)
    monkeypatch.setattr(dispatcher, "get_current_device",
                        lambda: SimpleNamespace(compute_capability=cc))
    u64, consts = types.uint64, types.UniTuple(types.float64, 6)
    jobs = {"fill_bits": (nc.fill_bits, (types.uint32[::1], u64, u64, u64)),
            "user": (_user_kernel(), (types.float32[:, ::1], types.float64[:, ::1],
                                      types.uint16[:, ::1], types.uint32[::1], u64, u64, u64,
                                      consts, consts, consts))}
    for (dist, dtype), kernel in nc.FILLS.items():
        store = types.uint16 if dtype.itemsize == 2 else from_dtype(dtype)
        jobs[f"{dist}_{dtype.name}"] = (kernel, (store[::1], u64, u64, u64, consts))

    def plain(out, a, b, c):  # the control: fastmath=False alone does not prevent fusion
        out[0] = a * b + c

    try:
        ptx, _ = cuda.compile_ptx(plain, (types.float32[::1],) + (types.float32,) * 3, cc=cc)
    except Exception as exc:  # no NVVM in this environment
        if "nvvm" in str(exc).lower() or "DynamicLib" in type(exc).__name__:
            pytest.skip(f"NVVM is not available: {exc}")
        raise
    assert "fma.rn.f32" in ptx
    for name, (kernel, sig) in jobs.items():
        ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=cc)
        assert f".target sm_{cc[0]}{cc[1]}" in ptx and ".entry" in ptx
        body = re.findall(r"^\s+([a-z]+\.[\w.]+)", ptx, re.M)
        assert not [op for op in body if op.startswith("fma")], name
        unrounded = [op for op in body if re.fullmatch(r"(mul|add|sub)\.f(32|64)", op)]
        assert not unrounded, (name, unrounded[:5])
        assert "mul.hi.u32" in body, name  # Philox's products as __umulhi, not 64-bit
        if name != "fill_bits":
            assert "mul.rn.f32" in body or "mul.rn.f64" in body, name
        if shutil.which("ptxas"):
            path = tmp_path / f"{name}.ptx"
            path.write_text(ptx)
            subprocess.run(["ptxas", f"-arch=sm_{cc[0]}{cc[1]}", str(path), "-o",
                            str(tmp_path / "k.cubin")], check=True)


SIM_TESTS = 20  # the cudasim tests below, as pytest counts them


@pytest.mark.skipif(SIM, reason="this is the simulator pass itself")
def test_simulator_pass():
    """The cudasim tests below, in a child whose numba runs the CUDA simulator."""
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-m", "cudasim", "-p", "no:cacheprovider",
         "-W", "error::RuntimeWarning", str(Path(__file__))],
        env=env, capture_output=True, text=True, timeout=900, cwd=Path(__file__).parent)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert re.search(rf"\b{SIM_TESTS} passed\b", proc.stdout), proc.stdout[-2000:]


def _device(array):
    return cuda.to_device(array)


@pytest.mark.cudasim
@pytest.mark.parametrize("start", [0, 3, (1 << 32) + 1])
@pytest.mark.parametrize("grid,block", [(1, 1), (3, 7)])
def test_simulator_bits_kernel_equals_cpu_bits(start, grid, block):
    nc = _nc()
    out = _device(np.zeros(61, np.uint32))
    nc.fill_bits[grid, block](out, np.uint64(9), np.uint64(2), np.uint64(start))
    np.testing.assert_array_equal(out.copy_to_host(),
                                  fastinit.random_bits(61, seed=9, stream=2, offset=start))


@pytest.mark.cudasim
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
@pytest.mark.parametrize("dist, params", [("uniform", (-1.0, 2.0)), ("normal", (0.5, 2.0)),
                                          ("truncated_normal", (0.1, 1.5, -1.0, 2.5))])
def test_simulator_fills_equal_cpu_bits(dist, params, dtype):
    nc = _nc()
    n, kw = 37, dict(seed=SEED, stream=STREAM, offset=(1 << 32) + 1)
    out = _device(np.zeros(n, np.uint16 if dtype == "bfloat16" else dtype))
    assert getattr(nc, dist)(out, *params, dtype=dtype, **kw) is out
    ref = getattr(fastinit, dist)(n, *params, **kw, dtype=ml_dtypes.bfloat16
                                  if dtype == "bfloat16" else dtype)
    _same_bits(out.copy_to_host(), ref)


@pytest.mark.cudasim
def test_simulator_user_kernel_equals_cpu_fills():
    fnb = _fnb()
    n, offset = 45, (1 << 33) + 2
    c32 = fnb.truncnorm_params(*TRUNC[2], dtype=np.float32)
    c64 = fnb.truncnorm_params(*TRUNC[3], dtype=np.float64)
    c16 = fnb.truncnorm_params(*TRUNC[0], dtype=ml_dtypes.bfloat16)
    out32, out64 = _device(np.zeros((3, n), np.float32)), _device(np.zeros((3, n), np.float64))
    out16, bits = _device(np.zeros((4, n), np.uint16)), _device(np.zeros(n, np.uint32))
    _user_kernel()[4, 16](out32, out64, out16, bits, np.uint64(SEED), np.uint64(STREAM),
                          np.uint64(offset), c32, c64, c16)
    kw = dict(seed=SEED, stream=STREAM, offset=offset)
    np.testing.assert_array_equal(bits.copy_to_host(), fastinit.random_bits(n, **kw))
    got16, bf16 = out16.copy_to_host(), ml_dtypes.bfloat16
    _same_bits(got16[0], fastinit.uniform(n, 0.0, 1.0, dtype=np.float16, **kw))
    _same_bits(got16[1], fastinit.uniform(n, -2.0, 3.0, dtype=bf16, **kw))
    _same_bits(got16[2], fastinit.normal(n, 0.5, 2.0, dtype=np.float16, **kw))
    _same_bits(got16[3], fastinit.truncated_normal(n, *TRUNC[0], dtype=bf16, **kw))
    got32, got64 = out32.copy_to_host(), out64.copy_to_host()
    for dt, got, tp in ((np.float32, got32, TRUNC[2]), (np.float64, got64, TRUNC[3])):
        _same_bits(got[0], fastinit.uniform(n, -2.0, 3.0, dtype=dt, **kw))
        _same_bits(got[1], fastinit.normal(n, 0.5, 2.0, dtype=dt, **kw))
        _same_bits(got[2], fastinit.truncated_normal(n, *tp, dtype=dt, **kw))


@pytest.mark.cudasim
def test_simulator_fill_errors_write_nothing():
    nc = _nc()
    out = _device(np.full(8, 7.0, np.float32))
    with pytest.raises(ValueError, match="low must be <= high"):
        nc.uniform(out, 2.0, 1.0, seed=1)
    with pytest.raises(ValueError, match="offset"):
        nc.normal(out, seed=1, offset=(1 << 64) - 4)
    with pytest.raises(TypeError, match="needs float64"):
        nc.normal(out, seed=1, dtype="float64")
    with pytest.raises(TypeError, match="CUDA device array"):
        nc.normal(np.zeros(8, np.float32), seed=1)
    np.testing.assert_array_equal(out.copy_to_host(), np.full(8, 7.0, np.float32))


@pytest.mark.gpu
@pytest.mark.skipif(SIM or not cuda.is_available(), reason="needs a CUDA device")
def test_gpu_fills_and_user_kernel_equal_cpu_bits():
    """On hardware, 2^20 elements: every fill and the user kernel give the CPU's bits."""
    nc, fnb = _nc(), _fnb()
    n, kw = 1 << 20, dict(seed=SEED, stream=STREAM, offset=(1 << 32) + 1)
    for dist, params in (("uniform", (-1.0, 2.0)), ("normal", (0.5, 2.0)),
                         ("truncated_normal", (0.1, 1.5, -1.0, 2.5))):
        for dtype in ("float16", "bfloat16", "float32", "float64"):
            out = _device(np.zeros(n, np.uint16 if dtype == "bfloat16" else dtype))
            getattr(nc, dist)(out, *params, dtype=dtype, **kw)
            _same_bits(out.copy_to_host(), getattr(fastinit, dist)(
                n, *params, **kw, dtype=ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype))
    c32 = fnb.truncnorm_params(*TRUNC[2], dtype=np.float32)
    c64 = fnb.truncnorm_params(*TRUNC[3], dtype=np.float64)
    c16 = fnb.truncnorm_params(*TRUNC[0], dtype=ml_dtypes.bfloat16)
    out32, out64 = _device(np.zeros((3, n), np.float32)), _device(np.zeros((3, n), np.float64))
    out16, bits = _device(np.zeros((4, n), np.uint16)), _device(np.zeros(n, np.uint32))
    _user_kernel()[(n + 255) // 256, 256](out32, out64, out16, bits, np.uint64(SEED),
                                          np.uint64(STREAM), np.uint64(kw["offset"]), c32, c64,
                                          c16)
    got16 = out16.copy_to_host()
    _same_bits(got16[0], fastinit.uniform(n, 0.0, 1.0, dtype=np.float16, **kw))
    _same_bits(got16[3], fastinit.truncated_normal(n, *TRUNC[0], dtype=ml_dtypes.bfloat16,
                                                   **kw))
    np.testing.assert_array_equal(bits.copy_to_host(), fastinit.random_bits(n, **kw))
    for dt, got, tp in ((np.float32, out32.copy_to_host(), TRUNC[2]),
                        (np.float64, out64.copy_to_host(), TRUNC[3])):
        _same_bits(got[0], fastinit.uniform(n, -2.0, 3.0, dtype=dt, **kw))
        _same_bits(got[1], fastinit.normal(n, 0.5, 2.0, dtype=dt, **kw))
        _same_bits(got[2], fastinit.truncated_normal(n, *tp, dtype=dt, **kw))
