"""Judge a pytest-benchmark JSON against the baseline of its machine class: fastinit's own
benchmarks only, noise-aware.

    pytest bench --benchmark-json results.json
    python bench/compare.py results.json                    # table; exit 1 on a regression
    python bench/compare.py results.json --confirm          # re-run flagged ones, judge again
    python bench/compare.py results.json --write-baseline   # store results as the baseline

Each benchmark records one ratio to the write limit per round (bench/conftest.py,
`against_limit`: the limit is timed beside every round, so load slows both).  For each
fastinit benchmark the slowdown is level(baseline rounds) / level(rounds now) (level: the
upper quartile, the figure of the rounds that load did not slow), with a 90 % bootstrap
interval; it is a REGRESSION only when the slowdown is at least --min-effect and
the interval's lower end (a one-sided 95 % bound) is at least --bound.  Peers (numpy, torch,
jax, ...) and the write limit are printed for context, never judged; benchmarks without
round ratios are listed without a verdict.  Baselines (bench/baseline.json) are kept per
machine class (SIMD path, cores, CPU model) and size, as recorded in the JSON's machine_info.
The performance targets are printed for information and never fail the run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from fastinit import _benchtrack
from fastinit._benchtrack import level

BASELINE = Path(__file__).with_name("baseline.json")
ROOT = Path(__file__).resolve().parent.parent
# fastinit float32 ratio_to_limit targets; bfloat16 must also fill at least as many
# elements/s as float32.
TARGETS = {"uniform": 0.6, "normal": 0.3, "truncated_normal": 0.2}


def load_run(path: Path) -> tuple[list[dict], dict]:
    """(the benchmarks, the machine_info) of a pytest-benchmark JSON."""
    data = json.loads(Path(path).read_text())
    if not isinstance(data, dict) or "benchmarks" not in data:
        raise ValueError(f"{path} is not a pytest-benchmark JSON (no 'benchmarks')")
    return data["benchmarks"], data.get("machine_info", {})


def load_baselines(path: Path) -> dict[str, dict[str, list[float]]]:
    """{run key: {benchmark: round ratios}}."""
    return json.loads(path.read_text()) if path.exists() else {}


def baseline_entry(benchmarks: list[dict]) -> dict[str, list[float]]:
    """The round ratios of every benchmark that recorded them (peers too, for context)."""
    return {b["name"]: [float(f"{r:.5g}") for r in rounds] for b in benchmarks
            if (rounds := _benchtrack.judged_rounds(b)) is not None}


def judge_run(benchmarks: list[dict], baseline: dict[str, list[float]],
              min_effect: float, bound: float) -> list[str]:
    """Print fastinit's verdicts, then the context rows and the unjudged benchmarks;
    return the names of the regressions."""
    judged, context, unjudged = [], [], []
    for b in benchmarks:
        role = _benchtrack.role(b.get("extra_info", {}))
        rounds = _benchtrack.judged_rounds(b)
        if role is None or rounds is None:
            unjudged.append((b["name"], "no role (library)" if role is None
                             else "no round ratios"))
        else:
            (judged if role == "fastinit" else context).append((b["name"], role, rounds))
    names = [name for name, *_ in judged + context] + [name for name, _ in unjudged]
    width = max(map(len, names), default=4)
    regressed = []
    print(f"fastinit (judged: REGRESSION = slowdown >= {min_effect}x and its 95 % lower bound "
          f">= {bound}x)")
    print(f"  {'name':<{width}}  {'rounds':>6}  {'ratio':>8}  {'baseline':>8}  "
          f"slowdown [90% interval]  verdict")
    for name, _, rounds in judged:
        base = baseline.get(name)
        if base is None:
            cells = f"{'-':>8}  new: no baseline"
        else:
            verdict = _benchtrack.judge(rounds, base, min_effect, bound)
            if verdict.regressed:
                regressed.append(name)
            cells = f"{level(base):>8.4f}  {verdict}"
        print(f"  {name:<{width}}  {rounds.size:>6}  {level(rounds):>8.4f}  {cells}")
    missing = sorted(set(baseline) - {name for name, *_ in judged + context})
    if context:
        print("\ncontext (peers and the write limit: not judged)")
        for name, role, rounds in context:
            base = baseline.get(name)
            change = "-" if base is None else f"{level(rounds) / level(base) - 1:+.0%}"
            print(f"  {name:<{width}}  {role:<8}  ratio {level(rounds):8.4f}  "
                  f"vs baseline {change}")
    if unjudged:
        print("\nnot judged")
        for name, why in unjudged:
            print(f"  {name:<{width}}  {why}")
    if missing:
        print(f"\nin the baseline but not in this run: {', '.join(missing)}")
    return regressed


def confirm(benchmarks: list[dict], flagged: list[str], machine_info: dict,
            baseline: dict[str, list[float]], min_effect: float, bound: float) -> list[str]:
    """Re-run the flagged benchmarks (their pytest node ids, at the run's size) and judge
    the new rounds; return the names flagged again."""
    ids = [b["fullname"] for b in benchmarks if b["name"] in flagged]
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    env["PYTHONSAFEPATH"] = "1"  # the installed fastinit, not the source tree in cwd
    env["FASTINIT_BENCH_N"] = str(machine_info.get("fastinit_bench_n", _benchtrack.DEFAULT_N))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "confirm.json"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
               f"--benchmark-json={out}", *ids]
        print(f"\nconfirming {len(ids)} flagged benchmark(s): {' '.join(cmd)}")
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0 or not out.exists():
            print(done.stdout[-2000:], done.stderr[-2000:], sep="\n")
            raise RuntimeError(f"the confirmation run failed (exit {done.returncode})")
        rerun, _ = load_run(out)
    print()
    return judge_run(rerun, {k: v for k, v in baseline.items() if k in flagged},
                     min_effect, bound)


def print_targets(benchmarks: list[dict]) -> None:
    """Print each fastinit performance target as met / not met."""
    fills = {(i["dist"], i["dtype"], i["threads"]): i
             for i in (b["extra_info"] for b in benchmarks)
             if i.get("library") == "fastinit" and "ratio_to_limit" in i}
    print("\ntargets (fastinit; informational)")
    for (dist, dtype, threads), info in sorted(fills.items()):
        if dtype == "float32" and dist in TARGETS:
            ratio, goal = info["ratio_to_limit"], TARGETS[dist]
            label = f"{dist} float32 t{threads}: ratio {ratio:.3f} >= {goal}"
            met = ratio >= goal
        elif dtype == "bfloat16" and (dist, "float32", threads) in fills:
            rate = info["elements_per_s"]
            f32_rate = fills[dist, "float32", threads]["elements_per_s"]
            label = f"{dist} bfloat16 t{threads}: {rate:.3g} >= float32 {f32_rate:.3g} elem/s"
            met = rate >= f32_rate
        else:
            continue
        print(f"  {label:<68} {'met' if met else 'not met'}")


def print_side_by_side(benchmarks: list[dict]) -> None:
    """For each workload (dist, dtype) that several libraries ran: fastinit's speed-up over
    each (the rate ratio within one run)."""
    groups: dict[tuple, dict[str, dict]] = {}
    for info in (b["extra_info"] for b in benchmarks):
        if "ratio_to_limit" not in info:
            continue
        lib = f"{info['library']}-t{info['threads']}"
        groups.setdefault((info["dist"], info["dtype"]), {})[lib] = info
    print("\nside by side (speed-up = fastinit rate / peer rate, best fastinit thread count)")
    for (dist, dtype), libs in sorted(groups.items()):
        ours = [i for name, i in libs.items() if name.startswith("fastinit")]
        peers = {name: i for name, i in libs.items() if not name.startswith("fastinit")}
        if not ours or not peers:
            continue
        best = max(ours, key=lambda i: i["elements_per_s"])
        cells = [f"{name} {best['elements_per_s'] / i['elements_per_s']:.2f}x"
                 for name, i in sorted(peers.items())]
        print(f"  {dist + ' ' + dtype:<44} {'  '.join(cells)}")


def print_models(benchmarks: list[dict]) -> None:
    """Cold whole-model initialization (bench/test_bench_models.py, test_bench_torch_model.py,
    test_bench_small.py): each way's speed-up over the model's own construction beside its
    target and its bound (that construction's time over merely writing the bytes), and its
    time over writing the bytes, as met / not met."""
    rows = []
    for info in (b["extra_info"] for b in benchmarks):
        if "speedup_bound" not in info:
            continue
        way = info.get("way", info["library"])
        label = info["dist"] if info["dist"].endswith(way) else f"{info['dist']} {way}"
        if "target_speedup_vs_from_config" in info:
            rows.append((label, "from_config", info["speedup_vs_from_config"],
                         info["target_speedup_vs_from_config"], info["speedup_bound"]))
            over, goal = info["time_over_write_bytes"], info["target_time_over_write_bytes"]
            rows.append((label, "write_bytes", over, goal, None))
        elif "target_speedup" in info:
            rows.append((label, "eager", info["speedup_vs_eager"],
                         info["target_speedup"], info["speedup_bound"]))
    if not rows:
        return
    print("\nwhole models, cold (fresh processes)")
    for label, base, value, goal, bound in sorted(rows):
        if base == "write_bytes":
            text = f"time over write_bytes {value:.2f}x (target <= {goal}x)"
            met = value <= goal
        else:
            text = f"{value:.2f}x faster than {base} (target >= {goal}x, bound {bound:.2f}x)"
            met = value >= goal
        print(f"  {label:<38} {text:<62} {'met' if met else 'not met'}")


# issue 6: fastinit's propagation per layer vs the peers' loops and the unavoidable work
PROPAGATION_TARGETS = (("numpy", ">=", 3.0), ("torch", ">=", 1.5), ("gemm+fill", "<=", 1.15))


def print_propagation(path: Path) -> None:
    """Seconds per layer of bench/test_bench_propagate.py and fastinit's ratios: speed-up
    over the numpy and torch loops, and its time over GEMM-only + fill-only (targets as
    met / not met); the exact fast path's time and its largest |q / q_theory - 1|."""
    data = json.loads(path.read_text())
    per_layer = {b["extra_info"]["library"]: b["extra_info"]["seconds_per_layer"]
                 for b in data["benchmarks"] if b["extra_info"].get("dist") == "propagate"}
    gram = [b["extra_info"] for b in data["benchmarks"]
            if b["extra_info"].get("dist") == "propagate-gram"]
    if "fastinit" in per_layer:
        print("\npropagation (ms per layer: "
              + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in sorted(per_layer.items())) + ")")
        ours = per_layer["fastinit"]
        if "gemm_only" in per_layer and "fill_only" in per_layer:
            per_layer["gemm+fill"] = per_layer["gemm_only"] + per_layer["fill_only"]
        for peer, sense, goal in PROPAGATION_TARGETS:
            if peer not in per_layer:
                continue
            if sense == ">=":
                ratio, label = per_layer[peer] / ours, f"faster than the {peer} loop"
            else:
                ratio, label = ours / per_layer[peer], f"time over {peer}"
            met = ratio >= goal if sense == ">=" else ratio <= goal
            print(f"  {label:<30} {ratio:6.2f}x  (target {sense} {goal}x)  "
                  f"{'met' if met else 'not met'}")
    for info in gram:
        print(f"\ngram fast path: {info['seconds']:.1f} s, "
              f"{info['elements_per_s'] / 8:.3g} width-layers/s, "
              f"max |q / q_theory - 1| = {info['max_rel_q_error']:.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="JSON from pytest --benchmark-json")
    parser.add_argument("--baseline", type=Path, default=BASELINE,
                        help=f"baseline round ratios (default {BASELINE})")
    parser.add_argument("--min-effect", type=float, default=_benchtrack.MIN_EFFECT,
                        help="smallest slowdown that fails (default %(default)s)")
    parser.add_argument("--bound", type=float, default=_benchtrack.BOUND,
                        help="the slowdown's 95 %% lower bound must reach this "
                             "(default %(default)s)")
    parser.add_argument("--confirm", action="store_true",
                        help="re-run the flagged benchmarks; fail only if flagged again")
    parser.add_argument("--write-baseline", action="store_true",
                        help="store the round ratios of RESULTS as the baseline of its "
                             "machine class and stop")
    args = parser.parse_args(argv)
    if not args.min_effect >= args.bound >= 1:
        parser.error(f"need --min-effect >= --bound >= 1, got {args.min_effect}, {args.bound}")
    try:
        benchmarks, machine_info = load_run(args.results)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    key = _benchtrack.run_key(machine_info)
    if key is None:
        parser.error(f"{args.results} records no machine class: run it with this bench/ "
                     f"(bench/conftest.py records fastinit_machine_class)")
    baselines = load_baselines(args.baseline)
    if args.write_baseline:
        baselines[key] = baseline_entry(benchmarks)
        args.baseline.write_text(json.dumps(baselines, indent=1, sort_keys=True) + "\n")
        print(f"wrote the round ratios of {len(baselines[key])} benchmarks for {key} "
              f"to {args.baseline}")
        return 0

    print(f"machine class: {key}")
    if key not in baselines:
        print(f"no baseline for {key} in {args.baseline}: nothing to judge "
              f"(record one with --write-baseline on a quiet machine)")
    baseline = baselines.get(key, {})
    regressed = judge_run(benchmarks, baseline, args.min_effect, args.bound)
    print_targets(benchmarks)
    print_side_by_side(benchmarks)
    print_models(benchmarks)
    print_propagation(args.results)
    if regressed and args.confirm:
        regressed = confirm(benchmarks, regressed, machine_info, baseline, args.min_effect,
                            args.bound)
    if regressed:
        print(f"\n{len(regressed)} regression(s) beyond the noise and beyond "
              f"{args.min_effect}x{' (confirmed by a re-run)' if args.confirm else ''}: "
              f"{', '.join(regressed)}")
        return 1
    print("\nno regression")
    return 0


if __name__ == "__main__":
    sys.exit(main())
