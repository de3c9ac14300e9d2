"""Long fills release the GIL and stop on Ctrl-C."""

import json
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np

import fastinit


def test_fill_releases_the_gil():
    """A Python thread keeps running while another thread fills a large array."""
    out = np.empty(1 << 26, np.float32)
    fastinit.set_num_threads(1)
    ticks = []
    done = threading.Event()

    def count():
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.01)
    start = time.perf_counter()
    for _ in range(3):
        fastinit.truncated_normal(None, seed=1, out=out)
    stop = time.perf_counter()
    done.set()
    t.join()
    during = [x for x in ticks if start < x < stop]
    # with the GIL held the counter would stall for the whole fill
    assert len(during) >= 0.2 * (stop - start) / 0.001, (len(during), stop - start)


def _interrupt(code, cwd, after):
    """Run ``code`` in a child (outside the source tree, so it imports the installed
    package, as the tests do), SIGINT it ``after`` seconds past its "ready" line; returns
    (exit code, stdout after "ready", seconds from the signal to the exit)."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=cwd)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(after)
    t = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    return proc.returncode, out, time.perf_counter() - t


def test_ctrl_c_stops_a_long_fill(tmp_path):
    code = textwrap.dedent("""
        import sys, time, numpy as np, fastinit
        out = np.empty(1 << 28, np.float32)
        print("ready", flush=True)
        t = time.perf_counter()
        try:
            for _ in range(100):
                fastinit.truncated_normal(None, seed=1, out=out)
        except KeyboardInterrupt:
            print(f"interrupted {time.perf_counter() - t:.3f}", flush=True)
            sys.exit(3)
        print("finished", flush=True)
    """)
    returncode, out, latency = _interrupt(code, tmp_path, after=1.0)
    assert returncode == 3, out
    assert out.startswith("interrupted"), out
    assert latency < 5.0, latency  # one batch of 16 Mi elements, not the 100 whole fills


def test_ctrl_c_stops_a_simulation_with_what_was_computed(tmp_path):
    """A real SIGINT reaches the main thread while the workers fill and multiply: the run
    returns the completed layers, flagged ``interrupted``, promptly."""
    code = textwrap.dedent("""
        import sys, time, numpy as np
        from fastinit import propagate
        print("ready", flush=True)
        r = propagate.simulate(100000, 512, "tanh", n_networks=4, n_inputs=8,
                               track=("q", "c"))
        done = r.q.shape[0] - 1
        print(f"interrupted={r.interrupted} layers={done} finite={np.isfinite(r.q).all()}",
              flush=True)
    """)
    returncode, out, latency = _interrupt(code, tmp_path, after=3.0)
    assert returncode == 0, out
    assert out.startswith("interrupted=True") and "finite=True" in out, out
    assert 0 < int(out.split("layers=")[1].split()[0]) < 100000
    assert latency < 5.0, latency


def test_simd_path_from_the_environment(tmp_path):
    """FASTINIT_SIMD picks the fills' path at import (same bits); a bad name is refused."""
    import os

    code = ("import fastinit, hashlib; from fastinit import _core; "
            "print(_core.simd_active(), hashlib.sha256(fastinit.normal((4099,), seed=3)"
            ".tobytes()).hexdigest())")
    runs = {}
    for name in ("baseline", "auto"):
        env = dict(os.environ, FASTINIT_SIMD=name)
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, check=True,
                             capture_output=True, text=True).stdout.split()
        runs[name] = out
    assert runs["baseline"][0] == "baseline"
    assert runs["auto"][0] in ("avx2", "avx512", "baseline")
    assert runs["baseline"][1] == runs["auto"][1]
    bad = subprocess.run([sys.executable, "-c", "import fastinit"], cwd=tmp_path, text=True,
                         env=dict(os.environ, FASTINIT_SIMD="avx9"), capture_output=True)
    assert bad.returncode != 0 and "FASTINIT_SIMD must be one of" in bad.stderr


def test_workers_keep_off_the_calling_threads_cpu():
    """After a 2-thread fill, the OpenMP worker may run on every CPU of the calling thread
    but the one the caller was on (fastinit/_core.pyx, fi_keep_off): the kernel would
    otherwise wake it onto the caller's core whenever another process keeps the other
    core busy.  The caller's own CPU set is never changed, and the values are those of
    one thread."""
    child = textwrap.dedent("""
        import json, os, threading
        import numpy as np
        import fastinit
        from fastinit._fill import fill_threads
        allowed = sorted(os.sched_getaffinity(0))
        out = np.empty(1 << 22, np.float32)
        with fill_threads(2):
            fastinit.normal(None, seed=5, out=out)
        with fill_threads(1):
            same = bool((fastinit.normal(out.shape, seed=5) == out).all())
        me = threading.get_native_id()
        masks = {int(t): sorted(os.sched_getaffinity(int(t)))
                 for t in os.listdir("/proc/self/task")}
        print(json.dumps({"allowed": allowed, "main": masks.pop(me),
                          "others": list(masks.values()), "same": same}))
    """)
    proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    allowed = set(got["allowed"])
    assert got["same"]
    assert set(got["main"]) == allowed
    narrowed = [set(m) for m in got["others"] if set(m) != allowed]
    if len(allowed) >= 2 and fastinit._core.openmp_enabled():
        assert len(narrowed) == 1, got
        assert len(narrowed[0]) == len(allowed) - 1 and narrowed[0] < allowed
    else:
        assert narrowed == []
