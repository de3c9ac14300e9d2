"""Compare a pytest-benchmark JSON with the baseline ratios to the memory-write limit.

    pytest bench --benchmark-json results.json
    python bench/compare.py results.json                    # table; exit 1 on regressions
    python bench/compare.py results.json --write-baseline   # store results as the baseline

A benchmark regresses when its ratio_to_limit falls more than --threshold (default 25 %)
below bench/baseline.json.  Ratios, not times, are compared, so a baseline taken on one
machine still means something on another of the same kind; the baseline is kept per SIMD
path (avx512, avx2, baseline: recorded by bench/conftest.py in the JSON's machine_info),
because the generator's speed relative to memory differs between them.  The performance
targets are printed for information and never fail the run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

BASELINE = Path(__file__).with_name("baseline.json")
# fastinit float32 ratio_to_limit targets; bfloat16 must also fill at least as many
# elements/s as float32.
TARGETS = {"uniform": 0.6, "normal": 0.3, "truncated_normal": 0.2}


def load_results(path: Path) -> tuple[dict[str, dict], str | None]:
    """(extra_info of each benchmark that recorded a ratio_to_limit, by benchmark name;
    the SIMD path of the run, if recorded)."""
    data = json.loads(path.read_text())
    results = {b["name"]: b["extra_info"] for b in data["benchmarks"]
               if "ratio_to_limit" in b["extra_info"]}
    return results, data.get("machine_info", {}).get("fastinit_simd")


def load_baselines(path: Path) -> dict[str, dict[str, float]]:
    """{simd path: {benchmark: ratio}} (a flat file is the avx512 baseline of old)."""
    data = json.loads(path.read_text()) if path.exists() else {}
    if data and all(isinstance(v, (int, float)) for v in data.values()):
        return {"avx512": data}
    return data


def compare(results: dict[str, dict], baseline: dict[str, float], threshold: float) -> list:
    """Print ratio now vs baseline for every benchmark; return the names that regressed."""
    names = sorted(results.keys() | baseline.keys())
    width = max(map(len, names), default=4)
    print(f"{'name':<{width}}  {'ratio':>9}  {'baseline':>9}  {'change':>7}")
    regressed = []
    for name in names:
        now = results[name]["ratio_to_limit"] if name in results else None
        base = baseline.get(name)
        if now is None:
            change = "missing"
        elif base is None:
            change = "new"
        else:
            change = f"{now / base - 1:+.1%}"
            if now < base * (1 - threshold):
                regressed.append(name)
                change += "  REGRESSED"
        now_s = "-" if now is None else f"{now:.3g}"
        base_s = "-" if base is None else f"{base:.3g}"
        print(f"{name:<{width}}  {now_s:>9}  {base_s:>9}  {change:>7}")
    return regressed


def print_targets(results: dict[str, dict]) -> None:
    """Print each fastinit performance target as met / not met."""
    fills = {(i["dist"], i["dtype"], i["threads"]): i for i in results.values()
             if i["library"] == "fastinit"}
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


def print_side_by_side(results: dict[str, dict]) -> None:
    """For each workload (dist, dtype) that several libraries ran: seconds per call, and
    fastinit's speed-up over each (the rate ratio within one run)."""
    groups: dict[tuple, dict[str, dict]] = {}
    for info in results.values():
        key = (info["dist"], info["dtype"])
        lib = f"{info['library']}-t{info['threads']}"
        groups.setdefault(key, {})[lib] = info
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
                        help=f"baseline ratios (default {BASELINE})")
    parser.add_argument("--threshold", type=float, default=0.25,
                        help="tolerated fractional drop below the baseline (default 0.25)")
    parser.add_argument("--write-baseline", action="store_true",
                        help="write the ratios of RESULTS to the baseline file and stop")
    parser.add_argument("--simd", default=None,
                        help="SIMD path of RESULTS when the JSON does not record it")
    args = parser.parse_args(argv)

    results, simd = load_results(args.results)
    simd = args.simd or simd
    if simd is None:
        parser.error("the results do not say which SIMD path ran them: pass --simd")
    baselines = load_baselines(args.baseline)
    if args.write_baseline:
        baselines[simd] = {name: float(f"{info['ratio_to_limit']:.4g}")
                           for name, info in results.items()}
        args.baseline.write_text(json.dumps(baselines, indent=2, sort_keys=True) + "\n")
        print(f"wrote {len(baselines[simd])} {simd} ratios to {args.baseline}")
        return 0

    if simd not in baselines:
        print(f"no {simd} baseline in {args.baseline}: nothing to compare "
              f"(record one with --write-baseline)")
    baseline = baselines.get(simd, {})
    print(f"SIMD path: {simd}")
    if results:
        info = next(iter(results.values()))
        limit = info["gb_per_s"] / info["ratio_to_limit"]
        print(f"write limit measured in this run: {limit:.1f} GB/s\n")
    regressed = compare(results, baseline, args.threshold)
    print_targets(results)
    print_side_by_side(results)
    print_propagation(args.results)
    if regressed:
        print(f"\n{len(regressed)} benchmark(s) fell more than {args.threshold:.0%} below the "
              f"baseline: {', '.join(regressed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
