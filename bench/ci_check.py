"""The quick timed bench pass of CI: a few benchmarks that matter, at a small size, judged
against the baseline of this machine class with thresholds a shared 2-core VM cannot trip
by noise (a slowdown of at least 1.6x whose 95 % lower bound is at least 1.3x) and that a
2x regression cannot pass; flagged benchmarks are re-run once and must be flagged again.

    python bench/ci_check.py                    # run, judge; exit 1 on a confirmed regression
    python bench/ci_check.py --write-baseline   # run and store this machine class's baseline
    python bench/ci_check.py --storage DIR      # also keep the run in DIR for bench/history.py

The full bench stays a manual command (`pytest bench --benchmark-json ...`, compare.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402

from fastinit import _benchtrack  # noqa: E402

N = 1 << 19  # below 2**20: the init and propagation benchmarks take their small shapes
SELECTED = (
    "bench/test_bench_fill.py::test_fastinit[uniform-float32-t1]",
    "bench/test_bench_fill.py::test_fastinit[normal-float32-t1]",
    "bench/test_bench_fill.py::test_fastinit[truncated_normal-float32-t1]",
    "bench/test_bench_init.py::test_init_fastinit[kaiming_uniform-dense]",
    "bench/test_bench_propagate.py::test_propagate_fastinit",
)


def run_selected(out: Path, storage: Path | None = None) -> None:
    """pytest-benchmark on SELECTED at FASTINIT_BENCH_N=N, JSON to `out` (and autosaved in
    `storage`, for bench/history.py, when given)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONSAFEPATH"] = "1"  # the installed fastinit, not the source tree in cwd
    env["FASTINIT_BENCH_N"] = str(N)
    # one thread everywhere (fills, initializer, GEMMs, limit): a round on one core is the
    # least exposed to what else runs on a shared 2-core VM
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
           f"--benchmark-json={out}", *SELECTED]
    if storage is not None:
        cmd += ["--benchmark-autosave", f"--benchmark-storage=file://{storage.resolve()}"]
    done = subprocess.run(cmd, cwd=compare.ROOT, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
        raise SystemExit(f"bench/ci_check.py: the benchmark run failed (exit {done.returncode})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=compare.BASELINE)
    parser.add_argument("--write-baseline", action="store_true",
                        help="store this run as the baseline of this machine class")
    parser.add_argument("--storage", type=Path, default=None,
                        help="also keep the run there (pytest-benchmark autosave) for "
                             "bench/history.py")
    parser.add_argument("--allow-missing-baseline", action="store_true",
                        help="pass (with a notice) when this machine class has no baseline")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print(f"bench/ci_check.py: warning: load average {os.getloadavg()[0]:.1f} above "
              f"{os.cpu_count()} cores; the verdict relies on the re-run of flagged results")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ci.json"
        run_selected(out, args.storage)
        _, machine_info = compare.load_run(out)
        key = _benchtrack.run_key(machine_info)
        common = [str(out), "--baseline", str(args.baseline)]
        if args.write_baseline:
            status = compare.main(common + ["--write-baseline"])
        elif key not in compare.load_baselines(args.baseline):
            print(f"bench/ci_check.py: no baseline for {key} in {args.baseline}; record it on "
                  f"a quiet machine of this class: python bench/ci_check.py --write-baseline")
            status = 0 if args.allow_missing_baseline else 1
        else:
            status = compare.main(common + [
                "--min-effect", str(_benchtrack.CI_MIN_EFFECT),
                "--bound", str(_benchtrack.CI_BOUND), "--confirm"])
    print(f"bench/ci_check.py: {time.perf_counter() - start:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
