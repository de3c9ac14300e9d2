"""`fastinit bench`: fills side by side with numpy, torch (when installed) and the
machine's memory-write limit, all measured in the same run.  Each figure is the best of
`repeat` timed calls after a warm-up, printed with its spread (median over best); the table
warns when the machine looks busy, as the figures then understate what it can do."""

from __future__ import annotations

import os
import threading
import time
from functools import partial

import ml_dtypes
import numpy as np

from . import _core
from ._generate import normal, truncated_normal, uniform


def _timing(fn, repeat):
    """seconds (the best) and median_seconds of `repeat` timed calls after a warm-up call."""
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return dict(seconds=min(times), median_seconds=float(np.median(times)))


def _fill_constant(a, threads):
    """Write the bits of 0.5 through an unsigned-integer view (a nonzero constant: zeros
    are compressed by some memory systems; ml_dtypes' own fill is not a memset)."""
    bits = np.array(0.5, a.dtype).view(f"u{a.itemsize}")
    raw = a.view(f"u{a.itemsize}")
    if threads == 1:
        raw.fill(bits)
        return
    parts = np.array_split(raw, threads)
    workers = [threading.Thread(target=p.fill, args=(bits,)) for p in parts]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def run(n: int = 1 << 24, repeat: int = 7, threads=(1, 2)) -> list[dict]:
    """Measure every row; returns dicts with library, dist, dtype, threads, seconds (best),
    median_seconds, elements_per_s, gb_per_s."""
    rows = []
    saved = _core.get_num_threads()
    try:
        import torch
    except ImportError:
        torch = None
    for dt in (np.dtype(np.float32), np.dtype(ml_dtypes.bfloat16)):
        a = np.empty(n, dt)
        a.fill(0.5)  # touch every page before timing
        for t in threads:
            rows.append(dict(library="write limit", dist="fill 0.5", dtype=dt.name, threads=t,
                             **_timing(partial(_fill_constant, a, t), repeat)))
        for t in threads:
            _core.set_num_threads(t)
            for name, fn in (("uniform", uniform), ("normal", normal),
                             ("truncated_normal", truncated_normal)):
                rows.append(dict(library="fastinit", dist=name, dtype=dt.name, threads=t,
                                 **_timing(partial(fn, None, seed=1, out=a), repeat)))
        if dt == np.float32:
            rng = np.random.default_rng(0)
            rows.append(dict(library="numpy", dist="uniform", dtype=dt.name, threads=1,
                             **_timing(partial(rng.random, out=a, dtype=np.float32),
                                           repeat)))
            rows.append(dict(library="numpy", dist="normal", dtype=dt.name, threads=1,
                             **_timing(partial(rng.standard_normal, out=a,
                                                   dtype=np.float32), repeat)))
        if torch is not None:
            tt = torch.empty(n, dtype=torch.float32 if dt == np.float32 else torch.bfloat16)
            prev = torch.get_num_threads()
            for t in threads:
                torch.set_num_threads(t)
                for name, fn in (("uniform", tt.uniform_), ("normal", tt.normal_)):
                    rows.append(dict(library="torch", dist=name, dtype=dt.name, threads=t,
                                     **_timing(fn, repeat)))
                rows.append(dict(library="torch", dist="truncated_normal", dtype=dt.name,
                                 threads=t, **_timing(
                                     partial(torch.nn.init.trunc_normal_, tt), 1)))
            torch.set_num_threads(prev)
    _core.set_num_threads(saved)
    for r in rows:
        itemsize = np.dtype(ml_dtypes.bfloat16 if r["dtype"] == "bfloat16" else r["dtype"]).itemsize
        r["elements_per_s"] = n / r["seconds"]
        r["gb_per_s"] = n * itemsize / r["seconds"] / 1e9
    return rows


def busy_warnings(rows: list[dict], load: float | None = None,
                  cpus: int | None = None) -> list[str]:
    """Why the figures may understate the machine: a 1-minute load average (default
    os.getloadavg()) above the core count, or a write limit with more threads below the
    one with fewer threads (another process held a core)."""
    load = os.getloadavg()[0] if load is None and hasattr(os, "getloadavg") else load
    cpus = cpus or os.cpu_count() or 1
    out = []
    if load is not None and load > cpus:
        out.append(f"load average {load:.1f} is above the {cpus} cores")
    limits: dict[str, list[dict]] = {}
    for r in rows:
        if r["library"] == "write limit":
            limits.setdefault(r["dtype"], []).append(r)
    for dtype, lim in limits.items():
        lim.sort(key=lambda r: r["threads"])
        for fewer, more in zip(lim, lim[1:], strict=False):
            if more["gb_per_s"] < fewer["gb_per_s"]:
                out.append(f"{dtype} write limit at {more['threads']} threads "
                           f"({more['gb_per_s']:.1f} GB/s) is below the one at "
                           f"{fewer['threads']} ({fewer['gb_per_s']:.1f} GB/s)")
    return out


def table(rows: list[dict], warnings: list[str] = ()) -> str:
    """Rows as text, each with its spread (median time over best, in %), its ratio to the
    best write limit of its dtype and its speed-up over numpy's single-threaded generator
    for the same distribution; then `warnings` (see busy_warnings), if any."""
    lines = [f"{'library':<12}{'dist':<18}{'dtype':<10}{'thr':>4}{'G elem/s':>10}"
             f"{'spread':>8}{'GB/s':>8}{'x limit':>9}{'x numpy':>9}"]
    for r in rows:
        limit = max(x["gb_per_s"] for x in rows
                    if x["library"] == "write limit" and x["dtype"] == r["dtype"])
        peer = [x for x in rows if x["library"] == "numpy" and x["dist"] == r["dist"]
                and x["dtype"] == r["dtype"]]
        vs = f"{r['elements_per_s'] / peer[0]['elements_per_s']:.1f}" if peer else "-"
        lines.append(f"{r['library']:<12}{r['dist']:<18}{r['dtype']:<10}{r['threads']:>4}"
                     f"{r['elements_per_s'] / 1e9:>10.3f}"
                     f"{r['median_seconds'] / r['seconds'] - 1:>+8.0%}{r['gb_per_s']:>8.2f}"
                     f"{r['gb_per_s'] / limit:>9.2f}{vs:>9}")
    if warnings:
        lines.append("\nWARNING: the machine is busy, these figures understate it "
                     "(measure again on a quiet machine):")
        lines += [f"  - {w}" for w in warnings]
    return "\n".join(lines)
