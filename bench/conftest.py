"""Fixtures for the fill benchmarks: the problem size, shared pre-touched outputs, the
memory-write limit measured once per session, and the `measure` helper that records rates.

FASTINIT_BENCH_N sets the element count (default 2**26).
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import ml_dtypes
import numpy as np
import pytest

N = int(os.environ.get("FASTINIT_BENCH_N", 2**26))
LIMIT_THREADS = 2  # "the limit" that every ratio_to_limit divides by
LIMIT_ROUNDS = 15  # the limit is cheap to time and noisy on shared hosts: best of many
ROUND_BUDGET_S = 1.5  # timed rounds per benchmark: as many as fit, between 1 and MAX_ROUNDS
MAX_ROUNDS = 10
OUTPUT_DTYPES = {"float32": np.dtype(np.float32), "bfloat16": np.dtype(ml_dtypes.bfloat16)}


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record the SIMD path the fills ran on: bench/compare.py keeps baselines per path."""
    from fastinit import _core

    machine_info["fastinit_simd"] = _core.simd_active()


@pytest.fixture(scope="session")
def outputs():
    """One pre-allocated, pre-touched output of N elements per dtype, shared by all fills."""
    arrays = {name: np.empty(N, dtype) for name, dtype in OUTPUT_DTYPES.items()}
    for a in arrays.values():
        a.fill(1.0)
    return arrays


@pytest.fixture(scope="session")
def fill_constant():
    """fill_constant(a, threads): write 0.5 into `a`, split into `threads` contiguous parts
    filled concurrently (numpy's fill releases the GIL).  Nonzero, because some hosts
    compress zeros, which makes zero fills look faster than any real write."""
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:

        def fill(a, threads):
            first, *rest = np.array_split(a, threads)
            pending = [pool.submit(part.fill, 0.5) for part in rest]
            first.fill(0.5)
            for f in pending:
                f.result()

        yield fill


@pytest.fixture(scope="session")
def write_limit(outputs, fill_constant):
    """Memory-write limit in GB/s: best of LIMIT_ROUNDS constant fills of the float32
    output from LIMIT_THREADS threads."""
    a = outputs["float32"]
    best = float("inf")
    for _ in range(LIMIT_ROUNDS):
        start = time.perf_counter()
        fill_constant(a, LIMIT_THREADS)
        best = min(best, time.perf_counter() - start)
    return a.nbytes / best / 1e9


@pytest.fixture
def measure(benchmark, write_limit):
    """measure(fill, out, library=, dist=, threads=): benchmark `fill` (which writes `out`)
    and record elements/s, GB/s and the ratio to the write limit in extra_info.

    A first call, timed here rather than by the plugin, warms up and sizes the number of
    rounds; its time stands in when benchmarking is disabled.  Rates use the best round."""

    def run(fill, out, *, library, dist, threads):
        start = time.perf_counter()
        fill()
        seconds = time.perf_counter() - start
        benchmark.group = f"{dist}-{out.dtype.name}"
        rounds = min(MAX_ROUNDS, max(1, int(ROUND_BUDGET_S / seconds)))
        benchmark.pedantic(fill, rounds=rounds, iterations=1)
        if benchmark.stats is not None:
            seconds = benchmark.stats.stats.min
        gb_per_s = out.nbytes / seconds / 1e9
        benchmark.extra_info.update(
            library=library,
            dist=dist,
            dtype=out.dtype.name,
            threads=threads,
            elements_per_s=out.size / seconds,
            gb_per_s=gb_per_s,
            ratio_to_limit=gb_per_s / write_limit,
            limit_gb_per_s=write_limit,
        )

    return run
