"""Performance-regression tracking for the pytest-benchmark suite in bench/: the machine
class of a run, the role of each benchmark, the noise-aware verdict, and the history of
stored runs (`fastinit bench --history`, `python bench/history.py`).

Every fastinit benchmark records, in extra_info["round_ratios"], one ratio per timed round:
its bytes/s over the bytes/s of a constant fill (the write limit) timed just before that
round with the same thread count.  Load on a shared machine slows both, so the ratio
keeps its meaning where absolute times do not.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_N = 1 << 26  # bench/conftest.py's FASTINIT_BENCH_N default (the full bench)
# Verdict thresholds as slowdown factors (baseline ratio / ratio now): the full bench on a
# quiet machine, and the quick CI pass on a shared 2-core VM.
MIN_EFFECT, BOUND = 1.10, 1.05
CI_MIN_EFFECT, CI_BOUND = 1.6, 1.3
LEVEL = 0.90  # two-sided interval printed; its lower end is a one-sided 95 % bound
BOOTSTRAP = 4000
# Load only lengthens a round (a preempted fill takes a whole time slice longer), so the
# figure of a benchmark is the upper quartile of its round ratios: that of the unhindered
# rounds as long as fewer than 3/4 were slowed down (and fewer than 1/4 sped up by a
# preempted limit fill).
QUANTILE = 0.75


def level(rounds) -> float:
    """The figure of a set of round ratios: their QUANTILE."""
    return float(np.quantile(rounds, QUANTILE))


def machine_class(simd: str | None = None) -> str:
    """`<simd path>-<cores>c-<cpu model>-f<family>m<model>`, e.g.
    avx512-2c-amd-epyc-f25m17: runs of one class compare with each other."""
    if simd is None:
        from . import _core

        simd = _core.simd_active()
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or platform.machine() or "cpu"
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    family = f"-f{fields['cpu family']}m{fields['model']}" if "cpu family" in fields else ""
    return f"{simd}-{os.cpu_count()}c-{slug}{family}"


def run_key(machine_info: dict) -> str | None:
    """Baseline key of a run: its machine class, suffixed -n<N> unless it ran the full size
    (ratios at a cache-resident size do not compare with those at 2**26)."""
    cls = machine_info.get("fastinit_machine_class")
    if cls is None:
        return None
    n = machine_info.get("fastinit_bench_n", DEFAULT_N)
    return cls if n == DEFAULT_N else f"{cls}-n{n}"


def role(extra_info: dict) -> str | None:
    """fastinit (judged), limit or peer (printed for context), None (unknown)."""
    library = extra_info.get("library")
    if library is None:
        return None
    return library if library in ("fastinit", "limit") else "peer"


@dataclass(frozen=True)
class Verdict:
    """slowdown = level(baseline ratios) / level(ratios now), with its bootstrap interval
    [low, high]; regressed when slowdown >= min_effect and low >= bound."""
    slowdown: float
    low: float
    high: float
    regressed: bool
    faster: bool

    def __str__(self):
        label = "REGRESSION" if self.regressed else "faster" if self.faster else "ok"
        return f"{self.slowdown:.2f}x [{self.low:.2f}, {self.high:.2f}]  {label}"


def judge(now, base, min_effect: float = MIN_EFFECT, bound: float = BOUND) -> Verdict:
    """Compare the round ratios `now` with the baseline's `base` (a single stored ratio is a
    point without spread).  The interval comes from BOOTSTRAP resamples of both sets of
    rounds (fixed seed: the same rounds give the same verdict).  A regression must be both
    large (slowdown >= min_effect) and beyond the noise (the interval's lower end, a
    one-sided 95 % bound, >= bound); `faster` is the mirror image."""
    now, base = np.atleast_1d(np.asarray(now, float)), np.atleast_1d(np.asarray(base, float))
    if now.size == 0 or base.size == 0:
        raise ValueError("judge: `now` and `base` need at least one round each")
    if min_effect < bound or bound < 1:
        raise ValueError(f"judge: need min_effect >= bound >= 1, got {min_effect}, {bound}")
    rng = np.random.default_rng(0)
    boot_now = np.quantile(now[rng.integers(0, now.size, (BOOTSTRAP, now.size))], QUANTILE,
                           axis=1)
    boot_base = np.quantile(base[rng.integers(0, base.size, (BOOTSTRAP, base.size))],
                            QUANTILE, axis=1)
    low, high = np.quantile(boot_base / boot_now, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    slowdown = level(base) / level(now)
    return Verdict(slowdown, float(low), float(high),
                   regressed=bool(slowdown >= min_effect and low >= bound),
                   faster=bool(slowdown <= 1 / min_effect and high <= 1 / bound))


def judged_rounds(bench: dict) -> np.ndarray | None:
    """The round ratios of one pytest-benchmark entry, or None when it recorded none."""
    rounds = bench.get("extra_info", {}).get("round_ratios")
    return np.asarray(rounds, float) if rounds else None


# ---- history ----

def load_runs(storage: Path) -> dict[str, list[dict]]:
    """Every pytest-benchmark JSON under `storage` (autosaved or --benchmark-json), grouped by
    run key (machine class and size) and sorted by commit time, then run time.  Each run:
    commit (short id, + when dirty), time, datetime, path and {benchmark name: round
    ratios} of its fastinit benchmarks."""
    storage = Path(storage)
    if not storage.is_dir():
        raise ValueError(f"storage must be a directory of pytest-benchmark runs, got {storage}")
    groups: dict[str, list[dict]] = {}
    for path in sorted(storage.rglob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(data, dict) or "benchmarks" not in data:
            continue
        key = run_key(data.get("machine_info", {}))
        if key is None:
            continue
        commit = data.get("commit_info", {})
        ratios = {b["name"]: r for b in data["benchmarks"]
                  if role(b.get("extra_info", {})) == "fastinit"
                  and (r := judged_rounds(b)) is not None}
        groups.setdefault(key, []).append(dict(
            commit=(commit.get("id") or "unknown")[:10] + ("+" if commit.get("dirty") else ""),
            time=commit.get("time") or "", datetime=data.get("datetime", ""), path=path,
            ratios=ratios))
    for runs in groups.values():
        runs.sort(key=lambda r: (r["time"], r["datetime"]))
    return groups


def history_rows(runs: list[dict], min_effect=MIN_EFFECT, bound=BOUND) -> list[dict]:
    """One row per (benchmark, run): the run's index and commit, the level of its ratios,
    and the verdict against the previous run of that benchmark (None for its first)."""
    rows, previous = [], {}
    for index, run in enumerate(runs):
        for name, rounds in sorted(run["ratios"].items()):
            verdict = judge(rounds, previous[name], min_effect, bound) if name in previous \
                else None
            rows.append(dict(name=name, index=index, commit=run["commit"], ratio=level(rounds),
                             verdict=verdict))
            previous[name] = rounds
    return rows


def history_table(key: str, rows: list[dict]) -> str:
    """The rows as text, grouped by benchmark; flagged commits end in REGRESSION."""
    lines = [f"machine class {key}", f"  {'benchmark':<44}{'commit':<13}{'ratio':>8}  "
                                     f"slowdown vs previous [90% interval]"]
    for row in sorted(rows, key=lambda r: (r["name"], r["index"])):
        vs = "-" if row["verdict"] is None else str(row["verdict"])
        lines.append(f"  {row['name']:<44}{row['commit']:<13}{row['ratio']:>8.4f}  {vs}")
    return "\n".join(lines)


def history_plot(key: str, runs: list[dict], rows: list[dict], path: Path) -> None:
    """Each fastinit ratio over the runs (log scale), flagged regressions marked with a red x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(8.0, 0.25 * len(runs) + 4), 5))
    for name in sorted({r["name"] for r in rows}):
        mine = [r for r in rows if r["name"] == name]
        x = [r["index"] for r in mine]
        ax.plot(x, [r["ratio"] for r in mine], marker="o", ms=3, lw=1, label=name)
        bad = [i for i, r in enumerate(mine) if r["verdict"] and r["verdict"].regressed]
        if bad:
            ax.plot([x[i] for i in bad], [mine[i]["ratio"] for i in bad], "x", color="red",
                    ms=10, mew=2)
    ax.set_yscale("log")
    ax.set_xticks(range(len(runs)), [run["commit"] for run in runs], rotation=60, fontsize=7)
    ax.set_ylabel(f"ratio to the write limit (q{QUANTILE:.2f} of rounds)")
    ax.set_title(f"{key}\nred x: regression flagged against the previous run", fontsize=10)
    ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def history(storage: Path, png: Path | None = None, last: int = 50,
            min_effect=MIN_EFFECT, bound=BOUND) -> tuple[str, list[Path]]:
    """Table text of the last `last` runs of every machine class under `storage`, and the
    PNGs written (one per class: `png`, or `png` with the class before its suffix when
    there are several); no PNG when `png` is None."""
    if last < 2:
        raise ValueError(f"last must be >= 2 runs, got {last}")
    groups = load_runs(storage)
    if not groups:
        return f"no pytest-benchmark runs with a machine class under {storage}", []
    texts, written = [], []
    for key, runs in sorted(groups.items()):
        runs = runs[-last:]
        rows = history_rows(runs, min_effect, bound)
        texts.append(history_table(key, rows))
        if png is not None:
            out = Path(png) if len(groups) == 1 else Path(png).with_name(
                f"{Path(png).stem}-{key}{Path(png).suffix}")
            history_plot(key, runs, rows, out)
            written.append(out)
    return "\n\n".join(texts), written


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `fastinit bench --history` and bench/history.py."""
    parser.add_argument("--storage", type=Path, default=Path(".benchmarks"),
                        help="pytest-benchmark storage or any folder of its JSONs "
                             "(default .benchmarks)")
    parser.add_argument("--png", type=Path, default=Path("history.png"),
                        help="plot file (default history.png; one per machine class)")
    parser.add_argument("--last", type=int, default=50, help="runs shown (default 50)")


def print_history(args) -> int:
    """Print the table, write the PNGs (if matplotlib is installed); 0."""
    try:
        import matplotlib  # noqa: F401
        png = args.png
    except ImportError:
        png = None
    text, written = history(args.storage, png, args.last)
    print(text)
    for path in written:
        print(f"wrote {path}")
    if png is None:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
    return 0


def history_main(argv: list[str] | None = None) -> int:
    """bench/history.py."""
    parser = argparse.ArgumentParser(description="fastinit benchmark ratios over commits")
    add_history_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return print_history(args)
    except ValueError as exc:
        parser.error(str(exc))
