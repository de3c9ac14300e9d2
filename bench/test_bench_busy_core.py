"""A fill beside a core that another process keeps busy: the work items are handed out
one at a time (fastinit/_core.pyx), so the thread sharing its core with the busy process
takes fewer of them, and the worker keeps off the calling thread's CPU (fi_keep_off), so
the kernel cannot wake both onto the one free core.  Issue 15's target: with one of 2
cores loaded, a 2-thread fill is never slower than a 1-thread fill
(``ratio_2_to_1_thread <= 1``), recorded with ``target_met`` in extra_info, as the other
benchmarks' targets: a timing, so it lives with the benchmarks and assumes the busy loop
it starts is the machine's only other load.
"""

import os
import subprocess
import sys
import time

import numpy as np

import fastinit
from fastinit import _core
from fastinit._fill import fill_threads

N = 1 << 25  # float32 normals: about 0.1 s on one core of the reference host


def _best_times(out, repeats):
    """Best wall time of a 1-thread and of a 2-thread fill, measured alternately."""
    best = {1: np.inf, 2: np.inf}
    for _ in range(repeats):
        for threads in (1, 2):
            with fill_threads(threads):
                t = time.perf_counter()
                fastinit.normal(None, seed=3, out=out)
                best[threads] = min(best[threads], time.perf_counter() - t)
    return best


def test_two_threads_beside_a_busy_core(benchmark):
    cpus = sorted(os.sched_getaffinity(0))
    assert len(cpus) >= 2, f"the test needs 2 CPUs, the process may use {cpus}"
    assert _core.openmp_enabled()
    out = np.empty(N, np.float32)
    fastinit.normal(None, seed=3, out=out)  # touch the pages once
    busy = subprocess.Popen([sys.executable, "-c",
                             f"import os\nos.sched_setaffinity(0, {{{cpus[-1]}}})\n"
                             "while True:\n    pass\n"])
    try:
        time.sleep(0.2)  # the loop runs on its core
        assert busy.poll() is None
        best = benchmark.pedantic(_best_times, args=(out, 5), rounds=1, iterations=1)
        assert busy.poll() is None, "the busy loop stopped before the fills ended"
    finally:
        busy.kill()
        busy.wait()
    ratio = best[2] / best[1]
    benchmark.extra_info.update(library="fastinit", dist="normal-busy-core", dtype="float32",
                                seconds_1_thread=best[1], seconds_2_threads=best[2],
                                ratio_2_to_1_thread=ratio, target="ratio_2_to_1_thread <= 1",
                                target_met=bool(ratio <= 1))
