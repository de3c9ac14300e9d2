"""Reliability of the generation core (issue 11): every reproducer ends in correct values
or a clear exception naming the argument, raised before anything is written.

- the end of the index range (offset + size == 2**64, shard boxes at the end of a global
  tensor) on every SIMD path, against a pure-Python Philox (tests/_reference.py);
- outputs of any ndim, and overlapping outputs rejected;
- fork / spawn / forkserver children after a parallel fill in the parent;
- float-only dtypes outside random_bits, byte order, parameters the dtype cannot hold;
- thread counts; the torch boundary (lazy neg/conj views, autograd version counter)."""

import functools
import multiprocessing

import _reference as ref
import ml_dtypes
import numpy as np
import pytest
import test_cuda
from test_cuda import shim, shim_path  # noqa: F401  (the fixtures: fill_cuda.cu built for the host)

import fastinit
from fastinit import _core, _laws
from fastinit._fill import fill_threads

BF16 = np.dtype(ml_dtypes.bfloat16)
U64 = 2**64
SIMD_PATHS = _core.SIMD_NAMES[:_core.SIMD_NAMES.index(_core.simd_supported()) + 1]
DIST_ARGS = {"uniform": (-1.5, 2.5), "normal": (0.25, 1.5),
             "truncated_normal": (0.0, 1.0, -1.0, 2.5), "random_bits": ()}


def _fill(dist, shape, seed=7, stream=3, dtype=np.float32, **kw):
    if dist == "random_bits":
        return fastinit.random_bits(shape, seed=seed, stream=stream, **kw)
    return getattr(fastinit, dist)(shape, *DIST_ARGS[dist], seed=seed, stream=stream,
                                   dtype=dtype, **kw)


def assert_matches_reference(dist, values, indices, seed=7, stream=3, dtype=np.float32,
                             args=None):
    ref.check_values(dist, values, indices, seed, stream, dtype,
                     DIST_ARGS[dist] if args is None else args)


def test_reference_philox_is_philox():
    """The pure-Python Philox gives Random123's vector and the compiled block function."""
    assert ref.philox((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
                      (0xA4093822, 0x299F31D0)) == (0xD16CFE09, 0x94FDCCEB, 0x5001E420,
                                                    0x24126EA1)
    rng = np.random.default_rng(0)
    c = rng.integers(0, 2**32, (20, 4), dtype=np.uint32)
    k = rng.integers(0, 2**32, (20, 2), dtype=np.uint32)
    got = fastinit.philox4x32_10(c, k)
    for row in range(20):
        assert tuple(int(x) for x in got[row]) == ref.philox(
            tuple(int(x) for x in c[row]), tuple(int(x) for x in k[row]))


# ---- 1. the end of the index range ----

@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("dist,dtype", [("random_bits", np.uint32), ("uniform", np.float32),
                                        ("normal", np.float32), ("truncated_normal", BF16),
                                        ("uniform", np.float64), ("normal", np.float64),
                                        ("truncated_normal", np.float64)])
def test_last_elements_match_reference(simd, dist, dtype):
    """offset + size == 2**64: the last element, the last group (128 elements of 32-bit
    working precision, 64 of float64) and sizes across group boundaries, every SIMD path."""
    _core.set_simd(simd)
    kw = {} if dist == "random_bits" else {"dtype": dtype}
    for n in (1, 2, 3, 4, 5, 63, 64, 65, 127, 128, 129, 300):
        x = _fill(dist, (n,), offset=U64 - n, **kw)
        assert_matches_reference(dist, x, range(U64 - n, U64), dtype=dtype)
        # the same elements as a longer fill ending at the same place
        longer = _fill(dist, (n + 200,), offset=U64 - n - 200, **kw)
        np.testing.assert_array_equal(x.view(np.uint8), longer[200:].view(np.uint8))


def test_reproducers_end_of_range():
    """normal((1,), offset=2**64-128) crashed, offset=2**64-4 returned garbage."""
    x = fastinit.normal((1,), seed=0, offset=U64 - 128)
    assert_matches_reference("normal", x, [U64 - 128], seed=0, stream=0, args=(0.0, 1.0))
    y = fastinit.normal((4,), seed=0, offset=U64 - 4)
    assert_matches_reference("normal", y, range(U64 - 4, U64), seed=0, stream=0,
                             args=(0.0, 1.0))


@pytest.mark.parametrize("simd", SIMD_PATHS)
@pytest.mark.parametrize("width", [1, 127, 128, 129, 255])
def test_shard_box_at_the_end_of_a_2_64_tensor(simd, width):
    """A (1, width) box ending at element 2**64 - 1 of a (2**32, 2**32) tensor (a (1, 127)
    box crashed, a (1, 128) box was left unwritten)."""
    _core.set_simd(simd)
    out = np.full((1, width), np.nan, np.float32)
    with fastinit.shard((2**32, 2**32), (2**32 - 1, 2**32 - width)):
        fastinit.normal(None, seed=0, out=out)
    np.testing.assert_array_equal(out[0], fastinit.normal((width,), seed=0, offset=U64 - width))
    assert_matches_reference("normal", out, range(U64 - width, U64), seed=0, stream=0,
                             args=(0.0, 1.0))


def test_large_parallel_fill_ending_at_2_64():
    """A threaded multi-chunk fill whose last chunk ends at 2**64 equals its pieces."""
    fastinit.set_num_threads(2)
    n = 300_001
    x = fastinit.normal((n,), seed=5, offset=U64 - n)
    fastinit.set_num_threads(1)
    for k in (0, 32768, n - 129, n - 1):
        np.testing.assert_array_equal(x[k:], fastinit.normal((n - k,), seed=5,
                                                             offset=U64 - n + k))
    assert_matches_reference("normal", x[-3:], range(U64 - 3, U64), seed=5, stream=0,
                             args=(0.0, 1.0))


def test_index_range_is_checked_before_writing():
    out = np.full(4, 7.0, np.float32)
    with pytest.raises(ValueError, match=r"offset \+ size must be <= 2\*\*64"):
        fastinit.normal(None, seed=0, offset=U64 - 3, out=out)
    with pytest.raises(ValueError, match=r"offset \+ size must be <= 2\*\*64"):
        with fastinit.shard((2**32, 2**32), (0, 0)):
            fastinit.normal(None, seed=0, offset=1, out=out.reshape(1, 4))
    assert (out == 7).all()
    assert fastinit.random_bits((0,), seed=0, offset=U64 - 1).shape == (0,)


@pytest.mark.parametrize("dist,dtype", [("bits", np.dtype(np.uint32)),
                                        ("normal", np.dtype(np.float32)),
                                        ("uniform", np.dtype(np.float64)),
                                        ("truncated_normal", BF16)])
def test_cuda_kernel_on_host_at_the_end_of_the_range(shim, dist, dtype):  # noqa: F811
    """kernels/fill_cuda.cu (run on the host by tests/test_cuda.py's shim) gives the CPU
    bits where start + n == 2**64, for several launch grids."""
    for n in (1, 5, 130, 1001):
        for grid, block in ((1, 1), (3, 7), (64, 128)):
            out = np.zeros(n, dtype)
            test_cuda._launch(shim, dist, dtype, out, U64 - n, grid, block)
            np.testing.assert_array_equal(
                out.view(np.uint8), test_cuda._cpu(dist, dtype, n, U64 - n).view(np.uint8))


# ---- 2. outputs of any ndim; overlapping outputs ----

def test_out_with_many_unmergeable_axes():
    """64 axes (numpy's limit), 14 of them of length 2 in reversed memory order (no two
    merge): logical row-major values whatever the layout."""
    base = np.empty(2**14, np.float32)
    shape = (2,) * 14 + (1,) * 50
    strides = tuple(4 * 2**k for k in range(14)) + (4,) * 50  # innermost axis outermost
    out = np.lib.stride_tricks.as_strided(base, shape, strides, writeable=True)
    fastinit.normal(None, seed=3, out=out)
    np.testing.assert_array_equal(np.ascontiguousarray(out), fastinit.normal(shape, seed=3))


def test_core_fill_takes_65_axes_and_refuses_more():
    """The compiled fill's axis buffers hold numpy's 64 axes plus the unit axis the
    merging may add; more is a ValueError, not a write past the buffers."""
    out = np.zeros(6, np.float32)
    params = (1, 0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0)
    dims, steps, isteps = (1,) * 63 + (2, 3), (4,) * 63 + (12, 4), (0,) * 63 + (3, 1)
    _core.fill(_laws.DIST_NORMAL, 3, params, 0, out, dims, steps, isteps)
    np.testing.assert_array_equal(out, fastinit.normal(6, seed=1))
    with pytest.raises(ValueError, match="at most 65 axes"):
        _core.fill(_laws.DIST_NORMAL, 3, params, 0, out, (1,) + dims, (4,) + steps, (0,) + isteps)


def _strided(shape, strides, size=64):
    base = np.full(size, 7.0, np.float32)
    return base, np.lib.stride_tricks.as_strided(base, shape, strides, writeable=True)


@pytest.mark.parametrize("shape,strides", [
    ((3, 4), (0, 4)),                       # a broadcast row
    ((2,) * 40, (4,) * 40),                 # the ~40-axis as_strided view
    ((4, 2), (4, 8)),                       # rows overlapping their neighbours
    ((5, 5), (4, 4)),                       # a sliding window
    ((3, 2), (-4, 0)),                      # stride 0 with a negative stride
])
def test_overlapping_out_is_rejected(shape, strides):
    base, out = _strided(shape, strides)
    with pytest.raises(ValueError, match="more than one element of out refers to a single "
                                         "memory location"):
        fastinit.normal(None, seed=0, out=out)
    assert (base == 7).all()


def test_non_overlapping_layouts_are_accepted():
    c = np.zeros((6, 5), np.complex64)
    for out in (np.empty((6, 5), np.float32).T, np.empty((8, 9), np.float32)[::-2, 1::3],
                c.real, np.lib.stride_tricks.as_strided(np.empty(64, np.float32), (5, 2),
                                                        (12, 8)),
                np.empty((1, 4, 1), np.float32)[:, ::-1]):
        fastinit.uniform(None, seed=2, out=out)
        np.testing.assert_array_equal(np.ascontiguousarray(out),
                                      fastinit.uniform(out.shape, seed=2))


def test_torch_expand_is_rejected():
    torch = pytest.importorskip("torch")
    import fastinit.torch as ft

    t = torch.zeros(1, 4).expand(3, 4)
    for fill in (ft.normal_, ft.orthogonal_, ft.eye_):
        with pytest.raises(ValueError, match="more than one element of tensor refers"):
            fill(t) if fill is ft.eye_ else fill(t, seed=0)
    assert t._version == 0 and (t == 0).all()


# ---- 3. fork, spawn, forkserver ----

@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")  # jax's, if loaded
def test_pool_children_fill_after_a_parallel_fill(method):
    """A parallel fill in the parent, then fills in a Pool: a fork child used to wait
    forever on libgomp's dead thread pool; now it fills serially (same bits)."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available on this platform")
    fastinit.set_num_threads(2)
    n = 300_000  # above the serial threshold
    parent = fastinit.normal((n,), seed=11)
    frames = functools.partial(fastinit.init.orthogonal_, np.empty((16, 32, 32), np.float32),
                               seed=11)  # a batch: threads in fastinit/_linalg.pyx
    parent_frames = frames()
    ctx = multiprocessing.get_context(method)
    with ctx.Pool(2) as pool:
        try:
            results = pool.map_async(functools.partial(fastinit.normal, seed=11),
                                     [(n,), (n,), (n,)]).get(timeout=120)
            child_frames = pool.apply_async(frames).get(timeout=120)
            threads = pool.apply_async(fastinit.get_num_threads).get(timeout=120)
        except multiprocessing.TimeoutError:
            pool.terminate()
            pytest.fail(f"a {method} child hung on its fill")
    for r in results:
        np.testing.assert_array_equal(r, parent)
    np.testing.assert_array_equal(child_frames, parent_frames)
    if method == "fork":
        assert threads == 1


# ---- 4. integer dtypes: random_bits only ----

@pytest.mark.parametrize("call,name", [
    (lambda: fastinit.normal((3,), seed=0, dtype=np.uint32), "dtype"),
    (lambda: fastinit.uniform((3,), seed=0, dtype=np.uint32), "dtype"),
    (lambda: fastinit.truncated_normal((3,), seed=0, dtype=np.int64), "dtype"),
    (lambda: fastinit.normal(None, seed=0, out=np.zeros(3, np.uint32)), "out.dtype"),
    (lambda: fastinit.uniform(None, seed=0, out=np.zeros(3, np.int32)), "out.dtype"),
    (lambda: fastinit.normal(None, seed=0, dtype=np.float32, out=np.zeros(3, np.uint32)),
     "out"),
    (lambda: fastinit.Generator(0).standard_normal(3, dtype=np.uint32), "dtype"),
    (lambda: fastinit.Generator(0).random(out=np.zeros(3, np.uint32)), "out.dtype"),
    (lambda: fastinit.Generator(0).uniform(size=3, dtype=np.uint32), "dtype"),
    (lambda: fastinit.random_bits(None, seed=0, out=np.zeros(3, np.float32)), "out"),
])
def test_integer_dtypes_only_for_bits(call, name):
    with pytest.raises(TypeError, match=rf"^{name} must"):
        call()


def test_bits_still_uint32():
    out = np.zeros(5, np.uint32)
    assert fastinit.random_bits(None, seed=1, out=out) is out
    assert_matches_reference("random_bits", out, range(5), seed=1, stream=0)
    assert fastinit.Generator(1).bits(5).dtype == np.uint32


# ---- 5. parameters the output dtype cannot hold ----

@pytest.mark.parametrize("dtype", [np.float32, BF16])
def test_uniform_span_beyond_float32(dtype):
    """[-3e38, 3e38) returned 3e38 everywhere: the span is formed in double."""
    low, high = -3e38, 3e38
    x = fastinit.uniform((2000,), low, high, seed=5, dtype=dtype)
    assert_matches_reference("uniform", x[:50], range(50), seed=5, stream=0, dtype=dtype,
                             args=(low, high))
    xs = x.astype(np.float64)
    assert xs.min() >= low and xs.max() < high
    assert xs.min() < -2.9e38 and xs.max() > 2.9e38 and abs(xs.mean()) < 0.1e38
    top = float(ml_dtypes.finfo(dtype).max)
    y = fastinit.uniform((500,), -top, top, seed=5, dtype=dtype).astype(np.float64)
    assert np.isfinite(y).all() and y.min() < -0.9 * top and y.max() > 0.9 * top


@pytest.mark.parametrize("dist,dtype", [("uniform", np.dtype(np.float32)),
                                        ("uniform", BF16)])
def test_cuda_kernel_on_host_wide_uniform_span(shim, dist, dtype):  # noqa: F811
    """fill_cuda.cu takes the same double-span path as the CPU."""
    p = _laws._uniform_params(-3e38, 3e38, dtype)
    out = np.zeros(1001, dtype)
    layout = np.array([1001, 1], np.int64)
    rc = shim(test_cuda.CODES[dtype], _laws.DIST_UNIFORM, 7, 3, p["a"], p["b"], p["lo"], p["hi"],
              0.0, 0.0, 5, out.size, out.ctypes.data, 1, layout.ctypes.data, 3, 32)
    assert rc == 0
    expect = fastinit.uniform((1001,), -3e38, 3e38, seed=7, stream=3, offset=5, dtype=dtype)
    np.testing.assert_array_equal(out.view(np.uint16 if dtype == BF16 else np.uint32),
                                  expect.view(np.uint16 if dtype == BF16 else np.uint32))


@pytest.mark.parametrize("call,names", [
    (lambda: fastinit.uniform((5,), -1e300, 1e300, seed=0), "low=.*high="),
    (lambda: fastinit.uniform((5,), 0.0, 1e5, seed=0, dtype=np.float16), "low=.*high="),
    (lambda: fastinit.uniform((5,), -1.7e308, 1.7e308, seed=0, dtype=np.float64),
     "high - low must be finite"),
    (lambda: fastinit.normal((5,), std=1e39, seed=0), "loc=.*scale="),
    (lambda: fastinit.normal((5,), std=6e37, seed=0), "loc=.*scale="),
    (lambda: fastinit.normal((5,), mean=-3.3e38, std=1e37, seed=0), "loc=.*scale="),
    (lambda: fastinit.normal((5,), std=2e4, seed=0, dtype=np.float16), "loc=.*scale="),
    (lambda: fastinit.normal((5,), std=1e308, seed=0, dtype=np.float64), "loc=.*scale="),
    (lambda: fastinit.truncated_normal((5,), 0.0, 1e5, -1e5, 1e5, seed=0, dtype=np.float16),
     "loc=.*scale=.*a=.*b="),
    (lambda: fastinit.truncated_normal((5,), -3e38, 1e38, -3e38, 3e38, seed=0),
     "loc=.*scale=.*a=.*b="),
    (lambda: fastinit.Generator(0).normal(0.0, 1e39, size=3, dtype=np.float32),
     "loc=.*scale="),
])
def test_parameters_beyond_the_dtype(call, names):
    with pytest.raises(ValueError, match=names):
        call()


def test_parameters_within_the_dtype_still_fill():
    """Wide but representable parameters keep working, with finite values in range."""
    x = fastinit.normal((10_000,), std=5e37, seed=1)
    assert np.isfinite(x).all()
    h = fastinit.truncated_normal((10_000,), 0.0, 1e5, -2.0, 2.0, seed=1, dtype=np.float16)
    assert np.isfinite(h.astype(np.float32)).all() and abs(h.astype(np.float32)).max() <= 2
    t = fastinit.truncated_normal((10_000,), 0.0, 1.0, -1e39, 1e39, seed=1)
    np.testing.assert_array_equal(t, fastinit.truncated_normal((10_000,), 0.0, 1.0, -1e3,
                                                               1e3, seed=1))


# ---- 6. byte order ----

def test_byte_order_is_named():
    out = np.zeros(3, ">f4")
    with pytest.raises(TypeError, match="out.dtype must be native byte order, got >f4"):
        fastinit.normal(None, seed=0, out=out)
    with pytest.raises(TypeError, match="out must be native byte order, got >f4"):
        fastinit.normal(None, seed=0, out=out, dtype=np.float32)
    with pytest.raises(TypeError, match="dtype must be native byte order, got >f4"):
        fastinit.normal((3,), seed=0, dtype=">f4")
    with pytest.raises(TypeError, match="dtype must be native byte order, got >f8"):
        fastinit.Generator(0).random(3, dtype=">f8")
    assert (out == 0).all()


# ---- 7. thread counts ----

@pytest.mark.parametrize("n,exc", [(1.5, TypeError), (2.0, TypeError), (True, TypeError),
                                   ("2", TypeError), (0, ValueError), (-3, ValueError),
                                   (2**40, ValueError)])
def test_thread_counts_are_integers_ge_1(n, exc):
    before = fastinit.get_num_threads()
    with pytest.raises(exc, match="n must"):
        fastinit.set_num_threads(n)
    with pytest.raises(exc, match="n must"):
        with fill_threads(n):
            pass
    assert fastinit.get_num_threads() == before
    fastinit.set_num_threads(np.int64(1))
    assert fastinit.get_num_threads() == 1


# ---- 8. the torch boundary ----

def test_torch_lazy_neg_and_conj_views_are_rejected():
    torch = pytest.importorskip("torch")
    import fastinit.torch as ft

    base = torch.zeros(4)
    neg = torch._neg_view(base)
    assert neg.is_neg()
    with pytest.raises(ValueError, match="negative bit"):
        ft.normal_(neg, seed=0)
    with pytest.raises(ValueError, match="negative bit"):
        fastinit.init.normal_(neg, seed=0)
    conj = torch.zeros(4, dtype=torch.complex64).conj()
    with pytest.raises(ValueError, match="conjugate bit"):
        fastinit.init.orthogonal_(conj.reshape(2, 2), seed=0)
    assert (base == 0).all()


@pytest.mark.parametrize("fill", [
    lambda w: fastinit.torch.normal_(w, seed=3),
    lambda w: fastinit.torch.kaiming_uniform_(w, seed=3),
    lambda w: fastinit.torch.zeros_(w),
    lambda w: fastinit.init.trunc_normal_(w.detach(), seed=3),
])
def test_torch_fills_bump_the_version_counter(fill):
    """backward through a graph that saved the tensor raises, as after torch.nn.init."""
    torch = pytest.importorskip("torch")
    import fastinit.torch  # noqa: F401

    w0 = torch.zeros(3, 4, requires_grad=True)
    y0 = (w0 * w0).sum()
    with torch.no_grad():
        torch.nn.init.normal_(w0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y0.backward()
    w = torch.zeros(3, 4, requires_grad=True)
    y = (w * w).sum()
    version = w._version
    fill(w)
    assert w._version > version
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()


def test_torch_version_counter_untouched_when_the_tensor_is_refused():
    torch = pytest.importorskip("torch")
    import fastinit.torch as ft

    w = torch.zeros(3, dtype=torch.int32)
    with pytest.raises(TypeError, match="tensor.dtype must be one of"):
        ft.normal_(w, seed=0)
    assert w._version == 0
