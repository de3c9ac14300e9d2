"""Command line: `fastinit info`, `fastinit bench`, `fastinit checkpoint`,
`fastinit propagate`."""

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
    c = sub.add_parser("checkpoint", help="write a safetensors file of initialized tensors")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--spec", help='JSON file: {"name": shape, ...} or '
                                    '[{"name", "shape", "dtype"?}, ...]')
    src.add_argument("--module", help="pkg.module:factory building a torch nn.Module "
                                      "(called under torch.device('meta'); each layer's "
                                      "default init)")
    c.add_argument("--out", required=True, help="output .safetensors path")
    c.add_argument("--dtype", default="float32",
                   help="float16 | bfloat16 | float32 | float64 (default float32)")
    c.add_argument("--init", default="torch", help="torch | dummy | normal (--spec only; "
                                                   "default torch)")
    c.add_argument("--std", type=float, default=0.02, help="std of --init normal")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--chunk-mib", type=int, default=64, help="memory bound per chunk")
    c.add_argument("--no-progress", action="store_true")
    p = sub.add_parser("propagate", help="Monte Carlo signal propagation through a deep "
                                         "random network ensemble")
    p.add_argument("--depth", type=int, default=1000)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--activation", default="tanh")
    p.add_argument("--activation-param", type=float, default=None)
    p.add_argument("--init", default="gaussian",
                   help="gaussian | uniform | truncated_normal | orthogonal")
    p.add_argument("--sigma-w2", type=float, default=1.0)
    p.add_argument("--sigma-b2", type=float, default=0.0)
    p.add_argument("--networks", type=int, default=16)
    p.add_argument("--inputs", type=int, default=2, help="random inputs (pairs at c0)")
    p.add_argument("--q0", type=float, default=1.0)
    p.add_argument("--c0", type=float, default=0.5)
    p.add_argument("--residual", choices=["one", "two"], default=None)
    p.add_argument("--alpha", type=float, default=1.0)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default="float32")
    p.add_argument("--no-grad", action="store_true", help="skip the gradient statistics")
    p.add_argument("--backend", default="cpu", help="cpu | cuda | cuda:N (needs CuPy)")
    p.add_argument("--plot", help="write the q / c / gradient plot here (needs matplotlib)")
    p.add_argument("--csv", help="write per-layer ensemble means and errors here")
    p.add_argument("--save", help="write the full result (.npz) here")
    p.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "propagate":
        try:
            return _propagate(args)
        except (ValueError, TypeError, ImportError, RuntimeError) as exc:
            parser.exit(2, f"fastinit propagate: error: {exc}\n")
    if args.command == "info":
        print(info())
        return 0
    if args.command == "checkpoint":
        try:
            return _checkpoint(parser, args)
        except (ValueError, TypeError) as exc:
            parser.exit(2, f"fastinit checkpoint: error: {exc}\n")
        except OSError as exc:
            parser.exit(1, f"fastinit checkpoint: error: writing {args.out!r}: {exc}\n")
        except KeyboardInterrupt:
            parser.exit(130, f"fastinit checkpoint: interrupted, {args.out!r} left unchanged\n")
    from fastinit import _bench

    n = args.size or (1 << 24 if args.quick else 1 << 26)
    if n < 1:
        parser.error(f"--size must be >= 1, got {n}")
    print(info().splitlines()[2])
    print(info().splitlines()[3])
    print(f"{n} elements per fill, best of {3 if args.quick else 5}\n")
    print(_bench.table(_bench.run(n, repeat=3 if args.quick else 5)))
    return 0


def _propagate(args) -> int:
    from fastinit import propagate

    result = propagate.simulate(
        args.depth, args.width, args.activation, args.init, args.sigma_w2, args.sigma_b2,
        n_inputs=args.inputs, q0=args.q0, c0=args.c0, n_networks=args.networks,
        residual=args.residual, alpha=args.alpha, dropout=args.dropout,
        activation_param=args.activation_param, seed=args.seed, dtype=args.dtype,
        track=("q", "c") if args.no_grad else ("q", "c", "grad"),
        progress=not args.no_progress, backend=args.backend)
    print(result.summary())
    if args.csv:
        result.to_csv(args.csv)
        print(f"wrote {args.csv}")
    if args.save:
        result.save(args.save)
        print(f"wrote {args.save}")
    if args.plot:
        result.plot(args.plot)
        print(f"wrote {args.plot}")
    return 130 if result.interrupted else 0


def _checkpoint(parser, args) -> int:
    import time

    from fastinit import checkpoint

    checkpoint.check_path(args.out, "--out")
    if args.spec:
        specs = checkpoint.load_spec(args.spec)
    else:
        import importlib

        import torch

        mod_name, _, factory = args.module.partition(":")
        if not factory:
            parser.error("--module must look like pkg.module:factory")
        build = getattr(importlib.import_module(mod_name), factory)
        with torch.device("meta"):
            specs = checkpoint.module_specs(build())
    start = time.perf_counter()
    header = checkpoint.write_safetensors(
        args.out, specs, seed=args.seed, dtype=args.dtype, init=args.init, std=args.std,
        chunk_bytes=args.chunk_mib << 20, progress=not args.no_progress)
    seconds = time.perf_counter() - start
    nbytes = sum(v["data_offsets"][1] - v["data_offsets"][0] for k, v in header.items()
                 if k != "__metadata__")
    print(f"wrote {len(header) - 1} tensors, {nbytes / 1e9:.3f} GB to {args.out} in "
          f"{seconds:.2f} s ({nbytes / seconds / 1e9:.2f} GB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
