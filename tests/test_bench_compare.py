"""Regression tracking of the bench suite: bench/compare.py (fastinit's own benchmarks only,
noise-aware verdict, confirmation re-run), the decision rule itself on synthetic rounds,
history per machine class (bench/history.py, `fastinit bench --history`), the CI pass's
benchmark selection, and the busy-machine warnings of `fastinit bench`."""

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fastinit import _bench, _benchtrack, cli
from fastinit._benchtrack import judge

ROOT = Path(__file__).parent.parent


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compare = _load("compare")

CLASS = "avx512-2c-test-cpu-f25m17"


def _rounds(level, noise, n=20, seed=0):
    """n round ratios around `level` with multiplicative (lognormal) noise of sd `noise`."""
    return level * np.exp(np.random.default_rng(seed).normal(0.0, noise, n))


def _entry(name, library, rounds=None, fullname=None, **info):
    extra = {"library": library, **info} if library else dict(info)
    if rounds is not None:
        extra["round_ratios"] = [float(r) for r in rounds]
    return {"name": name, "fullname": fullname or f"bench/test_x.py::{name}",
            "extra_info": extra}


def _write_run(path, benchmarks, n=_benchtrack.DEFAULT_N, machine_class=CLASS,
               commit="0" * 40, time="2026-01-01T00:00:00+00:00", dirty=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "machine_info": {"fastinit_machine_class": machine_class, "fastinit_bench_n": n},
        "commit_info": {"id": commit, "time": time, "dirty": dirty},
        "datetime": time, "benchmarks": benchmarks}))
    return path


# ---- the decision rule on synthetic rounds ----

TRIALS = 60
# the rule's nominal false-alarm rate is 5 % (one-sided bound), before the minimum-effect
# gate lowers it further: allow 5 % of TRIALS plus three binomial standard deviations
MAX_FALSE_ALARMS = math.floor(0.05 * TRIALS + 3 * math.sqrt(TRIALS * 0.05 * 0.95))


@pytest.mark.parametrize("n", [5, 10])
def test_rule_catches_a_20_percent_slowdown_with_3_percent_noise(n):
    caught = [judge(_rounds(1 / 1.2, 0.03, n, 2 * s), _rounds(1.0, 0.03, n, 2 * s + 1))
              for s in range(TRIALS)]
    assert all(v.regressed for v in caught)
    assert all(1.1 < v.slowdown < 1.3 and v.low <= v.slowdown <= v.high for v in caught)


@pytest.mark.parametrize("n", [5, 10, 30])
def test_rule_does_not_flag_pure_noise_of_15_percent(n):
    flagged = sum(judge(_rounds(1.0, 0.15, n, 2 * s), _rounds(1.0, 0.15, n, 2 * s + 1)).regressed
                  for s in range(TRIALS))
    assert flagged <= MAX_FALSE_ALARMS


def test_rule_of_the_ci_pass_catches_2x_and_ignores_30_percent_noise():
    ci = dict(min_effect=_benchtrack.CI_MIN_EFFECT, bound=_benchtrack.CI_BOUND)
    slow = [judge(_rounds(0.5, 0.15, 20, 2 * s), _rounds(1.0, 0.15, 20, 2 * s + 1), **ci)
            for s in range(TRIALS)]
    noise = [judge(_rounds(1.0, 0.3, 20, 2 * s), _rounds(1.0, 0.3, 20, 2 * s + 1), **ci)
             for s in range(TRIALS)]
    assert all(v.regressed for v in slow)
    assert not any(v.regressed for v in noise)
    # a 1.4x slowdown is real but below the CI's minimum effect
    assert not judge(_rounds(1 / 1.4, 0.03), _rounds(1.0, 0.03, seed=1), **ci).regressed


def test_rule_ignores_rounds_slowed_by_load():
    """Load lengthens some rounds (a preempted fill loses a time slice): up to half of them
    slowed 4x must not read as a regression, a true 2x slowdown still must."""
    base = _rounds(1.0, 0.03, 40, 1)
    loaded = _rounds(1.0, 0.03, 40, 2)
    loaded[::2] /= 4
    assert not judge(loaded, base).regressed
    assert judge(loaded / 2, base).regressed


def test_rule_reports_faster_and_a_point_baseline():
    faster = judge(_rounds(1.5, 0.03), _rounds(1.0, 0.03, seed=1))
    assert faster.faster and not faster.regressed and faster.slowdown < 0.75
    point = judge(_rounds(0.5, 0.03), [1.0])
    assert point.regressed and "REGRESSION" in str(point)


def test_rule_rejects_bad_arguments():
    with pytest.raises(ValueError, match="at least one round"):
        judge([], [1.0])
    with pytest.raises(ValueError, match="min_effect >= bound >= 1"):
        judge([1.0], [1.0], min_effect=1.1, bound=1.2)


# ---- compare.py ----

def _run_and_baseline(tmp_path, fastinit_level):
    """A run in which torch and the write limit fell to half their baseline (not ours to
    judge), fastinit is at `fastinit_level` times its baseline, plus benchmarks compare.py
    does not know."""
    run = _write_run(tmp_path / "run.json", [
        _entry("test_fastinit[uniform-float32-t2]", "fastinit", _rounds(0.4 * fastinit_level,
                                                                        0.03, seed=1)),
        _entry("test_torch[uniform-float32-t1]", "torch", _rounds(0.02, 0.03, seed=2)),
        _entry("test_write_limit[t1]", "limit", _rounds(0.5, 0.03, seed=3)),
        _entry("test_dtensor_materialize_one_process", "fastinit", seconds=1.0),
        _entry("test_models_new_thing", None, seconds=2.0),
    ])
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({CLASS: {
        "test_fastinit[uniform-float32-t2]": list(_rounds(0.4, 0.03, seed=4)),
        "test_torch[uniform-float32-t1]": list(_rounds(0.04, 0.03, seed=5)),
        "test_write_limit[t1]": list(_rounds(1.0, 0.03, seed=6)),
        "test_gone": [0.1, 0.1]}}))
    return run, baseline


def test_compare_judges_fastinit_only(tmp_path, capsys):
    """Issue 17: torch and the limit falling below their baseline are context, not
    regressions; unknown benchmarks are listed without a verdict."""
    run, baseline = _run_and_baseline(tmp_path, 1.0)
    assert compare.main([str(run), "--baseline", str(baseline)]) == 0
    out = capsys.readouterr().out
    lines = {" ".join(line.split()) for line in out.splitlines()}
    assert out.count("REGRESSION") == 1 and out.splitlines()[-1] == "no regression"
    torch_row = next(line for line in lines if line.startswith("test_torch"))
    assert re.fullmatch(r"test_torch\[uniform-float32-t1\] peer ratio 0\.0\d+ vs baseline "
                        r"-(4[6-9]|5[0-4])%", torch_row)
    assert any(line.startswith("test_write_limit[t1] limit") for line in lines)
    assert "test_dtensor_materialize_one_process no round ratios" in lines
    assert "test_models_new_thing no role (library)" in lines
    assert "in the baseline but not in this run: test_gone" in lines


def test_compare_fails_on_a_fastinit_slowdown(tmp_path, capsys):
    run, baseline = _run_and_baseline(tmp_path, 0.5)
    assert compare.main([str(run), "--baseline", str(baseline)]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "test_fastinit[uniform" in line)
    assert row.rstrip().endswith("REGRESSION")
    assert "1 regression(s)" in out and "test_torch" not in out.splitlines()[-1]


def test_compare_write_baseline_then_compare(tmp_path, capsys):
    run, _ = _run_and_baseline(tmp_path, 1.0)
    baseline = tmp_path / "new.json"
    assert compare.main([str(run), "--baseline", str(baseline), "--write-baseline"]) == 0
    stored = json.loads(baseline.read_text())[CLASS]
    assert set(stored) == {"test_fastinit[uniform-float32-t2]", "test_torch[uniform-float32-t1]",
                           "test_write_limit[t1]"}
    assert len(stored["test_fastinit[uniform-float32-t2]"]) == 20
    assert compare.main([str(run), "--baseline", str(baseline)]) == 0
    assert "1.00x [" in capsys.readouterr().out


def test_compare_keeps_sizes_apart_and_needs_a_machine_class(tmp_path, capsys):
    run, baseline = _run_and_baseline(tmp_path, 0.5)
    small = _write_run(tmp_path / "small.json", json.loads(run.read_text())["benchmarks"],
                       n=1 << 19)
    assert compare.main([str(small), "--baseline", str(baseline)]) == 0
    assert f"no baseline for {CLASS}-n524288" in capsys.readouterr().out
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"benchmarks": []}))
    with pytest.raises(SystemExit):
        compare.main([str(bare), "--baseline", str(baseline)])
    assert "records no machine class" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        compare.main([str(run), "--min-effect", "1.1", "--bound", "1.2"])


@pytest.mark.parametrize("rerun_level, status", [(1.0, 0), (0.5, 1)])
def test_compare_confirm_reruns_the_flagged_node_ids(tmp_path, monkeypatch, capsys,
                                                     rerun_level, status):
    """--confirm re-runs only the flagged benchmarks (at the run's size) and fails only if
    the re-run is flagged again."""
    run, baseline = _run_and_baseline(tmp_path, 0.5)
    calls = []

    def fake_run(cmd, cwd, env, capture_output, text):
        calls.append((cmd, env["FASTINIT_BENCH_N"]))
        out = Path(next(c for c in cmd if c.startswith("--benchmark-json=")).split("=", 1)[1])
        _write_run(out, [_entry("test_fastinit[uniform-float32-t2]", "fastinit",
                                _rounds(0.4 * rerun_level, 0.03, seed=9))])
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(compare.subprocess, "run", fake_run)
    assert compare.main([str(run), "--baseline", str(baseline), "--confirm"]) == status
    [(cmd, n)] = calls
    assert cmd[-1] == "bench/test_x.py::test_fastinit[uniform-float32-t2]"
    assert not any("torch" in c for c in cmd) and n == str(_benchtrack.DEFAULT_N)
    out = capsys.readouterr().out
    assert ("confirmed by a re-run" in out) == bool(status)


def test_propagation_targets_are_judged(tmp_path, capsys):
    def bench(library, ms):
        return {"name": f"test_propagate_{library}",
                "extra_info": {"library": library, "dist": "propagate",
                               "seconds_per_layer": ms / 1e3}}

    path = tmp_path / "r.json"
    rows = [bench("fastinit", 100), bench("numpy", 320), bench("torch", 140),
            bench("gemm_only", 45), bench("fill_only", 50)]
    path.write_text(json.dumps({"benchmarks": rows}))
    compare.print_propagation(path)
    out = capsys.readouterr().out
    lines = {" ".join(line.split()) for line in out.splitlines()}
    assert "faster than the numpy loop 3.20x (target >= 3.0x) met" in lines
    assert "faster than the torch loop 1.40x (target >= 1.5x) not met" in lines
    assert "time over gemm+fill 1.05x (target <= 1.15x) met" in lines


def test_whole_model_targets_are_judged_beside_their_bound(capsys):
    """Cold models: the speed-up over the model's own construction against its target, with
    the bound (construction over writing the bytes), and the time over writing the bytes."""
    infos = [
        {"library": "fastinit", "dist": "llama-1B", "speedup_vs_from_config": 4.1,
         "target_speedup_vs_from_config": 5.0, "speedup_bound": 5.6,
         "time_over_write_bytes": 1.34, "target_time_over_write_bytes": 1.5},
        {"library": "fastinit", "dist": "mlp-build", "way": "build", "speedup_vs_eager": 5.2,
         "target_speedup": 5.0, "speedup_bound": 6.9},
        {"library": "torch", "dist": "mlp-eager", "way": "eager", "speedup_bound": 6.9},
    ]
    compare.print_models([{"extra_info": info} for info in infos])
    lines = {" ".join(line.split()) for line in capsys.readouterr().out.splitlines()}
    assert ("llama-1B fastinit 4.10x faster than from_config (target >= 5.0x, bound 5.60x) "
            "not met") in lines
    assert "llama-1B fastinit time over write_bytes 1.34x (target <= 1.5x) met" in lines
    assert "mlp-build 5.20x faster than eager (target >= 5.0x, bound 6.90x) met" in lines
    assert not any(line.startswith("mlp-eager") for line in lines)


# ---- history ----

def _stored_history(storage):
    """Five commits of one machine class (the fourth 2x slower in uniform), autosave
    layout; two runs of a second class; one file that is not a benchmark run."""
    levels = [1.0, 1.01, 0.99, 0.5, 0.5]
    for i, level in enumerate(levels):
        commit = f"{i + 1:x}" * 40
        _write_run(storage / "Linux-CPython-3.11-64bit" / f"{i + 1:04d}_{commit[:8]}.json", [
            _entry("test_fastinit[uniform-float32-t2]", "fastinit", _rounds(0.4 * level, 0.03,
                                                                            seed=i)),
            _entry("test_fastinit[normal-float32-t2]", "fastinit", _rounds(0.2, 0.03,
                                                                           seed=10 + i)),
            _entry("test_torch[uniform-float32-t2]", "torch", _rounds(0.05 * level, 0.03,
                                                                      seed=20 + i)),
        ], commit=commit, time=f"2026-01-0{i + 1}T00:00:00+00:00", dirty=i == 4)
    for i in range(2):
        _write_run(storage / "other" / f"{i}.json", [
            _entry("test_fastinit[uniform-float32-t1]", "fastinit", _rounds(0.3, 0.03, seed=i))],
            machine_class="avx2-4c-other", time=f"2026-01-0{i + 1}T00:00:00+00:00")
    (storage / "other" / "notes.json").write_text("[1, 2]")


def test_history_marks_the_commit_that_regressed(tmp_path):
    _stored_history(tmp_path / "store")
    groups = _benchtrack.load_runs(tmp_path / "store")
    assert set(groups) == {CLASS, "avx2-4c-other"}
    rows = _benchtrack.history_rows(groups[CLASS])
    flagged = [(r["name"], r["commit"]) for r in rows if r["verdict"] and r["verdict"].regressed]
    assert flagged == [("test_fastinit[uniform-float32-t2]", "4444444444")]
    assert all("torch" not in r["name"] for r in rows)  # peers have no history of ours
    assert [r["commit"] for r in rows if "normal" in r["name"]][-1] == "5555555555+"


def test_history_table_and_plots(tmp_path, capsys):
    _stored_history(tmp_path / "store")
    png = tmp_path / "h.png"
    assert cli.main(["bench", "--history", "--storage", str(tmp_path / "store"),
                     "--png", str(png)]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines()
               if "uniform-float32-t2" in line and "4444444444" in line)
    assert row.split()[2] == f"{_benchtrack.level(_rounds(0.2, 0.03, seed=3)):.4f}"
    assert row.rstrip().endswith("REGRESSION") and out.count("REGRESSION") == 1
    for key in (CLASS, "avx2-4c-other"):
        written = tmp_path / f"h-{key}.png"
        assert f"machine class {key}" in out and f"wrote {written}" in out
        assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_history_script_and_bad_storage(tmp_path):
    _stored_history(tmp_path / "store")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "history.py"), "--storage",
                           str(tmp_path / "store"), "--png", str(tmp_path / "p.png"),
                           "--last", "3"], capture_output=True, text=True,
                          env=os.environ)
    assert done.returncode == 0, done.stderr
    assert "1111111111" not in done.stdout and "3333333333" in done.stdout
    with pytest.raises(ValueError, match="storage must be a directory"):
        _benchtrack.history(tmp_path / "missing")
    with pytest.raises(ValueError, match="last must be >= 2"):
        _benchtrack.history(tmp_path / "store", last=1)


# ---- machine class, CI selection ----

def test_machine_class_names_simd_and_cores():
    cls = _benchtrack.machine_class("avx2")
    assert cls.startswith(f"avx2-{os.cpu_count()}c-") and " " not in cls
    assert _benchtrack.run_key({"fastinit_machine_class": "x", "fastinit_bench_n": 1 << 26}) == "x"
    assert _benchtrack.run_key({"fastinit_machine_class": "x", "fastinit_bench_n": 8}) == "x-n8"
    assert _benchtrack.run_key({}) is None


def test_ci_selection_exists(monkeypatch):
    """The CI pass's node ids are collected (a renamed benchmark must not silently drop out
    of the check)."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    ci_check = _load("ci_check")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *ci_check.SELECTED], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "FASTINIT_BENCH_N": str(ci_check.N)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(ci_check.SELECTED)} tests collected" in done.stdout


# ---- fastinit bench --quick on a busy machine ----

def _limit(dtype, threads, gb):
    return dict(library="write limit", dist="fill 0.5", dtype=dtype, threads=threads,
                seconds=1.0, median_seconds=1.2, elements_per_s=gb / 4 * 1e9, gb_per_s=gb)


def test_bench_warns_when_busy():
    """Issue 17: a limit at 2 threads below the one at 1 thread, or a load above the core
    count, is reported beside the figures."""
    busy = [_limit("float32", 1, 4.6), _limit("float32", 2, 3.6)]
    quiet = [_limit("float32", 1, 20.0), _limit("float32", 2, 26.0)]
    warnings = _bench.busy_warnings(busy, load=0.5, cpus=2)
    assert warnings == ["float32 write limit at 2 threads (3.6 GB/s) is below the one at 1 "
                        "(4.6 GB/s)"]
    assert _bench.busy_warnings(quiet, load=0.5, cpus=2) == []
    assert _bench.busy_warnings(quiet, load=3.0, cpus=2) == [
        "load average 3.0 is above the 2 cores"]
    text = _bench.table(busy, warnings)
    assert "WARNING: the machine is busy" in text
    assert text.splitlines()[1].split()[-4] == "+20%"  # spread: median over best


@pytest.mark.parametrize("size", ["0", "-5"])
def test_bench_refuses_a_size_below_1(size, monkeypatch, capsys):
    """`fastinit bench --size 0` exits 2 naming --size instead of timing the default 2**26."""
    monkeypatch.setattr(_bench, "run", lambda *a, **k: pytest.fail("bench ran"))
    with pytest.raises(SystemExit) as exc:
        cli.main(["bench", "--size", size])
    assert exc.value.code == 2
    assert f"--size must be >= 1, got {size}" in capsys.readouterr().err


def test_bench_quick_prints_spread(capsys):
    rows = _bench.run(4096, repeat=3, threads=(1,))
    assert all(r["median_seconds"] >= r["seconds"] > 0 for r in rows)
    assert "spread" in _bench.table(rows).splitlines()[0]
