"""Command line: `fastinit info`, `fastinit bench`."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys


def info() -> str:
    """Version, OpenMP, threads, SIMD path and the optional backends importable here."""
    import numpy as np

    import fastinit
    from fastinit import _core
    from fastinit._paths import kernel_dir

    lines = [
        f"fastinit {fastinit.__version__} (stream version {fastinit.STREAM_VERSION})",
        f"numpy {np.__version__}, python {sys.version.split()[0]}",
        f"openmp: {'on' if _core.openmp_enabled() else 'off (serial fills)'}, "
        f"threads: {fastinit.get_num_threads()} (cpus: {os.cpu_count()})",
        f"simd: {_core.simd_active()} (cpu supports {_core.simd_supported()})",
        f"kernels: {kernel_dir()}",
    ]
    for name in ("ml_dtypes", "torch", "jax", "cupy", "numba", "dask", "matplotlib", "scipy"):
        found = importlib.util.find_spec(name) is not None
        lines.append(f"  {name:<11} {'available' if found else 'not installed'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="fastinit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print version, OpenMP, threads, SIMD path, backends")
    b = sub.add_parser("bench", help="fills side by side with numpy, torch and the "
                                     "memory-write limit")
    b.add_argument("--quick", action="store_true", help="2**24 elements, 3 repeats")
    b.add_argument("--size", type=int, default=None, help="elements (default 2**26)")
    args = parser.parse_args(argv)
    if args.command == "info":
        print(info())
        return 0
    from fastinit import _bench

    n = args.size or (1 << 24 if args.quick else 1 << 26)
    if n < 1:
        parser.error(f"--size must be >= 1, got {n}")
    print(info().splitlines()[2])
    print(info().splitlines()[3])
    print(f"{n} elements per fill, best of {3 if args.quick else 5}\n")
    print(_bench.table(_bench.run(n, repeat=3 if args.quick else 5)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
