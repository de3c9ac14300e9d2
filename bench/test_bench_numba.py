"""Draw rates inside users' ``@numba.njit`` code: fastinit.numba's per-element and block
functions writing n float32 values, beside numpy's own np.random inside njit and beside
fastinit's vectorized fill (one thread) of the same n.  Run explicitly:
``pytest bench/test_bench_numba.py`` (testpaths is tests/).

FASTINIT_BENCH_NUMBA_N sets the element count (default 2**22).  extra_info carries
elements_per_s and the ratios to the np.random loop and to the vectorized fill.
"""

import os
import time
from contextlib import contextmanager

import numpy as np
import pytest

import fastinit

numba = pytest.importorskip("numba", reason="numba is not installed")
fnb = pytest.importorskip("fastinit.numba")

N = int(os.environ.get("FASTINIT_BENCH_NUMBA_N", 2**22))
DISTS = ("uniform", "normal", "truncated_normal")
TRUNC = fnb.truncnorm_params(0.0, 1.0, -2.0, 2.0)  # a global: a constant inside njit


@numba.njit
def per_element_uniform(out, seed):
    for k in range(out.size):
        out[k] = fnb.uniform_f32(seed, 0, k, 0.0, 1.0)


@numba.njit
def per_element_normal(out, seed):
    for k in range(out.size):
        out[k] = fnb.normal_f32(seed, 0, k, 0.0, 1.0)


@numba.njit
def per_element_truncated_normal(out, seed):
    for k in range(out.size):
        out[k] = fnb.truncated_normal_f32(seed, 0, k, 0.0, 1.0, -2.0, 2.0)


@numba.njit
def block_uniform(out, seed):
    for b in range(out.size // 4):
        v = fnb.uniform_block_f32(seed, 0, b, 0.0, 1.0)
        for j in range(4):
            out[4 * b + j] = v[j]


@numba.njit
def block_normal(out, seed):
    for b in range(out.size // 4):
        v = fnb.normal_block_f32(seed, 0, b, 0.0, 1.0)
        for j in range(4):
            out[4 * b + j] = v[j]


@numba.njit
def block_truncated_normal(out, seed):
    for b in range(out.size // 4):
        v = fnb.truncated_normal_block_p_f32(seed, 0, b, TRUNC)
        for j in range(4):
            out[4 * b + j] = v[j]


@numba.njit
def np_random_uniform(out, seed):
    np.random.seed(seed)
    for k in range(out.size):
        out[k] = np.random.random()


@numba.njit
def np_random_normal(out, seed):
    np.random.seed(seed)
    for k in range(out.size):
        out[k] = np.random.standard_normal()


KERNELS = {"per_element": {"uniform": per_element_uniform, "normal": per_element_normal,
                           "truncated_normal": per_element_truncated_normal},
           "block": {"uniform": block_uniform, "normal": block_normal,
                     "truncated_normal": block_truncated_normal}}
NP_RANDOM = {"uniform": np_random_uniform, "normal": np_random_normal}


def _seconds(fn, repeat=3):
    """Best of `repeat` calls (the first compiles and is not counted)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@contextmanager
def one_thread():
    previous = fastinit.get_num_threads()
    fastinit.set_num_threads(1)
    try:
        yield
    finally:
        fastinit.set_num_threads(previous)


def _vectorized(dist, out):
    fill = getattr(fastinit, dist)
    with one_thread():
        return _seconds(lambda: fill(None, seed=1, out=out))


@pytest.fixture(scope="module")
def out():
    a = np.empty(N, np.float32)
    a.fill(1.0)
    return a


@pytest.mark.parametrize("dist", DISTS)
@pytest.mark.parametrize("variant", ["per_element", "block"])
def test_njit_fastinit(benchmark, out, variant, dist):
    """fastinit.numba inside njit; ratios to np.random in njit and to the vectorized fill."""
    kernel = KERNELS[variant][dist]
    seconds = _seconds(lambda: kernel(out, np.uint64(1)), repeat=1)
    benchmark.group = f"njit-{dist}"
    benchmark.pedantic(kernel, args=(out, np.uint64(1)), rounds=3, iterations=1)
    if benchmark.stats is not None:
        seconds = benchmark.stats.stats.min
    ref = np.empty_like(out)
    getattr(fastinit, dist)(None, seed=1, out=ref)
    np.testing.assert_array_equal(out, ref)  # the loop drew fastinit's stream
    info = dict(library="fastinit.numba", variant=variant, dist=dist, dtype="float32",
                elements_per_s=N / seconds,
                ratio_to_vectorized=_vectorized(dist, ref) / seconds)
    if dist in NP_RANDOM:
        info["ratio_to_np_random_njit"] = _seconds(lambda: NP_RANDOM[dist](ref, 1)) / seconds
    benchmark.extra_info.update(info)


@pytest.mark.parametrize("dist", list(NP_RANDOM))
def test_njit_np_random(benchmark, out, dist):
    """numpy's own np.random (Mersenne Twister, one global state) inside njit."""
    kernel = NP_RANDOM[dist]
    seconds = _seconds(lambda: kernel(out, 1), repeat=1)
    benchmark.group = f"njit-{dist}"
    benchmark.pedantic(kernel, args=(out, 1), rounds=3, iterations=1)
    if benchmark.stats is not None:
        seconds = benchmark.stats.stats.min
    benchmark.extra_info.update(library="np.random in njit", dist=dist, dtype="float32",
                                elements_per_s=N / seconds)


@pytest.mark.parametrize("dist", DISTS)
def test_vectorized_fill(benchmark, out, dist):
    """fastinit.<dist>(out=out) on one thread: the rate the njit loops are compared with."""
    fill = getattr(fastinit, dist)
    benchmark.group = f"njit-{dist}"
    with one_thread():
        seconds = _seconds(lambda: fill(None, seed=1, out=out), repeat=1)
        benchmark.pedantic(lambda: fill(None, seed=1, out=out), rounds=3, iterations=1)
    if benchmark.stats is not None:
        seconds = benchmark.stats.stats.min
    benchmark.extra_info.update(library="fastinit", dist=dist, dtype="float32", threads=1,
                                elements_per_s=N / seconds)
