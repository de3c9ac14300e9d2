"""Fixtures for the fill benchmarks: the problem size, shared pre-touched outputs, the
memory-write limit measured once per session, `against_limit` (timed rounds interleaved with
the write limit) and the `measure` helper that records rates.

FASTINIT_BENCH_N sets the element count (default 2**26).
"""

import os
import time
from concurrent.futures import ThreadPoolExecutor

import ml_dtypes
import numpy as np
import pytest

from fastinit._benchtrack import DEFAULT_N

N = int(os.environ.get("FASTINIT_BENCH_N", DEFAULT_N))
# children (python -c, e.g. the fresh-process model timings) import the installed
# fastinit, not the source tree of the working directory
os.environ["PYTHONSAFEPATH"] = "1"
LIMIT_THREADS = 2  # "the limit" that every ratio_to_limit divides by
LIMIT_ROUNDS = 15  # the limit is cheap to time and noisy on shared hosts: best of many
ROUND_BUDGET_S = 1.5  # timed rounds per benchmark: as many as fit, within
MAX_ROUNDS = 50  # [min_rounds, MAX_ROUNDS]
LIMIT_PER_ROUND = 3  # the limit beside each round: best of a few fills (one may be preempted)
MIN_ROUNDS = 5  # fastinit's own benchmarks: enough rounds for compare.py's interval
OUTPUT_DTYPES = {"float32": np.dtype(np.float32), "bfloat16": np.dtype(ml_dtypes.bfloat16)}


def pytest_benchmark_update_machine_info(config, machine_info):
    """Record the SIMD path, the machine class and the size: bench/compare.py keeps
    baselines, and bench/history.py histories, per machine class and size."""
    from fastinit import _benchtrack, _core

    machine_info["fastinit_simd"] = _core.simd_active()
    machine_info["fastinit_machine_class"] = _benchtrack.machine_class(_core.simd_active())
    machine_info["fastinit_bench_n"] = N


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
def against_limit(benchmark, outputs, fill_constant):
    """against_limit(fn, nbytes, threads, min_rounds=1) -> seconds: benchmark `fn` (which
    writes `nbytes`) in rounds, each preceded, untimed, by LIMIT_PER_ROUND constant fills of
    the float32 output from `threads` threads, and record in extra_info["round_ratios"] each
    round's (nbytes / fn's seconds) / (output bytes / the best fill's seconds).  Load on the machine
    slows both halves of a round, so these ratios are what bench/compare.py judges.

    A first call, timed here rather than by the plugin, warms up and sizes the number of
    rounds (as many as fit in ROUND_BUDGET_S, within [min_rounds, MAX_ROUNDS]); its time
    is returned when benchmarking is disabled, else the best round's."""
    limit_out = outputs["float32"]

    def run(fn, nbytes, threads, min_rounds=1):
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        limit_seconds = []

        def limit():
            best = float("inf")
            for _ in range(LIMIT_PER_ROUND):
                start = time.perf_counter()
                fill_constant(limit_out, threads)
                best = min(best, time.perf_counter() - start)
            limit_seconds.append(best)

        limit()
        rounds = int(ROUND_BUDGET_S / (seconds + LIMIT_PER_ROUND * limit_seconds[0]))
        benchmark.pedantic(fn, setup=limit, rounds=min(MAX_ROUNDS, max(min_rounds, rounds)),
                           iterations=1)
        if benchmark.stats is None:
            return seconds
        times = benchmark.stats.stats.data
        benchmark.extra_info["round_ratios"] = [
            nbytes * lim / (limit_out.nbytes * t)
            for t, lim in zip(times, limit_seconds[-len(times):], strict=True)]
        return min(times)

    return run


@pytest.fixture
def measure(benchmark, write_limit, against_limit):
    """measure(fill, out, library=, dist=, threads=): benchmark `fill` (which writes `out`)
    through `against_limit` and record elements/s, GB/s and the ratio to the session's
    write limit in extra_info.  Rates use the best round."""

    def run(fill, out, *, library, dist, threads):
        benchmark.group = f"{dist}-{out.dtype.name}"
        seconds = against_limit(fill, out.nbytes, threads,
                                MIN_ROUNDS if library == "fastinit" else 1)
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
