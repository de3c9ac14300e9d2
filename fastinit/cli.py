"""Command line: `fastinit info`, `fastinit bench`, `fastinit checkpoint`,
`fastinit propagate`, `fastinit demo`."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys

from fastinit import _benchtrack

REPEAT = 7  # `fastinit bench`: timed calls per figure


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
                                     "memory-write limit; --history: stored bench runs")
    b.add_argument("--quick", action="store_true", help="2**24 elements")
    b.add_argument("--size", type=int, default=None, help="elements (default 2**26)")
    b.add_argument("--history", action="store_true",
                   help="instead: each fastinit ratio over the stored pytest-benchmark runs "
                        "(table + PNG), regressions flagged")
    _benchtrack.add_history_arguments(b)
    c = sub.add_parser("checkpoint", help="write a safetensors file of initialized tensors")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--spec", help='JSON file: {"name": shape, ...} or '
                                    '[{"name", "shape", "dtype"?}, ...]')
    src.add_argument("--module", help="pkg.module:factory building a torch nn.Module "
                                      "(called under torch.device('meta'), found from the "
                                      "current directory as `python -m` does; the "
                                      "module's own init laws)")
    src.add_argument("--config", help="a transformers config.json (or its directory): "
                                      "the model AutoModelForCausalLM (else AutoModel) "
                                      "builds from it, with its own init laws; --out is "
                                      "then a directory that from_pretrained loads")
    c.add_argument("--out", required=True, help="output .safetensors path (a directory "
                                                "with --config)")
    c.add_argument("--recipe", action="append", default=[], metavar="PATTERN=FN(ARGS)",
                   help="--module/--config: tensors whose name matches PATTERN (fnmatch) "
                        "get fastinit.init's FN with literal keyword ARGS instead of the "
                        "model's law, e.g. '*.c_proj.weight=normal_(std=0.02)' "
                        "(repeatable; the first match wins)")
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
    d = sub.add_parser("demo", help="the order-to-chaos figure: tanh phase diagram and "
                                    "1,000-layer Monte Carlo vs mean-field theory")
    d.add_argument("--out", default="fastinit_demo.png", help="PNG path")
    d.add_argument("--depth", type=int, default=1000)
    d.add_argument("--width", type=int, default=256)
    d.add_argument("--networks", type=int, default=8)
    d.add_argument("--sigma-b2", type=float, default=0.05)
    d.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from fastinit import demo

        try:
            result = demo.demo_figure(args.out, depth=args.depth, width=args.width,
                                      networks=args.networks, sigma_b2=args.sigma_b2,
                                      seed=args.seed)
        except (ValueError, ImportError) as exc:
            parser.exit(2, f"fastinit demo: error: {exc}\n")
        print(demo.summary(result))
        return 0
    if args.command == "propagate":
        try:
            return _propagate(args)
        except (ValueError, TypeError, ImportError, RuntimeError, MemoryError) as exc:
            parser.exit(2, f"fastinit propagate: error: {exc}\n")
        except KeyboardInterrupt:  # before the run began, or a second Ctrl-C
            parser.exit(130, "fastinit propagate: interrupted\n")
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
    if args.history:
        try:
            return _benchtrack.print_history(args)
        except ValueError as exc:
            parser.error(str(exc))
    from fastinit import _bench

    n = args.size if args.size is not None else (1 << 24 if args.quick else 1 << 26)
    if n < 1:
        parser.error(f"--size must be >= 1, got {n}")
    print(info().splitlines()[2])
    print(info().splitlines()[3])
    print(f"{n} elements per fill, best of {REPEAT} after a warm-up "
          f"(spread: median over best)\n")
    rows = _bench.run(n, repeat=REPEAT)
    print(_bench.table(rows, _bench.busy_warnings(rows)))
    return 0


def _output_path(path: str, option: str) -> str:
    """The file an output option will write (``--save`` gets numpy's .npz suffix),
    checked before the run: its directory exists and is writable, it is not a
    directory, and it is writable if it exists.  ValueError naming the option."""
    if os.path.isdir(path):
        raise ValueError(f"{option} {path}: is a directory")
    if option == "--save" and not path.endswith(".npz"):
        path += ".npz"
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise ValueError(f"{option} {path}: the directory {parent} does not exist")
    if os.path.isdir(path):
        raise ValueError(f"{option} {path}: is a directory")
    if not os.access(parent, os.W_OK | os.X_OK) or \
            (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise ValueError(f"{option} {path}: not writable")
    return path


def _propagate(args) -> int:
    """Ctrl-C anywhere in here (the run, the summary, the writes) stops the run at the
    next layer; the partial result is printed and written (exit 130).  Output paths are
    checked before the run; a write that still fails does not stop the others, and the
    whole result then goes to a temporary .npz named on stderr (exit 1, one line per
    failure).  Non-finite statistics: exit 1 after the writes."""
    from fastinit import propagate

    outputs = [(opt, _output_path(path, opt)) for opt, path in
               (("--csv", args.csv), ("--save", args.save), ("--plot", args.plot)) if path]
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise ImportError("--plot needs matplotlib: pip install matplotlib")
    with propagate.sigint_flag():
        result = propagate.simulate(
            args.depth, args.width, args.activation, args.init, args.sigma_w2,
            args.sigma_b2, n_inputs=args.inputs, q0=args.q0, c0=args.c0,
            n_networks=args.networks, residual=args.residual, alpha=args.alpha,
            dropout=args.dropout, activation_param=args.activation_param, seed=args.seed,
            dtype=args.dtype, track=("q", "c") if args.no_grad else ("q", "c", "grad"),
            progress=not args.no_progress, backend=args.backend)
        print(result.summary(), flush=True)
        write = {"--csv": result.to_csv, "--save": result.save, "--plot": result.plot}
        failed, written = [], set()
        for opt, path in outputs:
            try:
                write[opt](path)
                written.add(opt)
                print(f"wrote {path}", flush=True)
            except Exception as exc:  # any failure: report it, write the rest
                failed.append(f"fastinit propagate: error: {opt} {path}: "
                              f"{type(exc).__name__}: {exc}")
        if failed and "--save" not in written:
            import tempfile

            fd, rescue = tempfile.mkstemp(prefix="fastinit-propagate-", suffix=".npz")
            os.close(fd)
            result.save(rescue)
            failed.append(f"fastinit propagate: the result was saved to {rescue}")
    for line in failed:
        print(line, file=sys.stderr)
    if result.nonfinite_layer is not None:
        print(f"fastinit propagate: error: non-finite statistics from layer "
              f"{result.nonfinite_layer} on", file=sys.stderr)
    if failed or result.nonfinite_layer is not None:
        return 1
    return 130 if result.interrupted else 0


def parse_recipe(text: str):
    """'PATTERN=fn(key=literal, ...)' -> (PATTERN, fill(array, seed=...)): fn one of
    fastinit.init's in-place functions, its keyword arguments Python literals
    (ast.literal_eval, nothing is executed).  ValueError if it is not of that form."""
    import ast
    import inspect

    from fastinit import init

    pattern, sep, call = text.partition("=")
    try:
        node = ast.parse(call.strip(), mode="eval").body if sep and pattern else None
    except SyntaxError:
        node = None
    if isinstance(node, ast.Name):
        node = ast.Call(func=node, args=[], keywords=[])
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and not node.args and all(k.arg for k in node.keywords)):
        raise ValueError(f"--recipe must look like PATTERN=fn(key=value, ...), got {text!r}")
    name = node.func.id
    if not name.endswith("_") or name not in init.__all__:
        raise ValueError(f"--recipe {text!r}: {name!r} is not one of fastinit.init's "
                         "in-place functions")
    fn = getattr(init, name)
    try:
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except ValueError as exc:
        raise ValueError(f"--recipe {text!r}: arguments must be literals ({exc})") from None
    signature = inspect.signature(fn)
    try:
        signature.bind(None, **kwargs)
    except TypeError as exc:
        raise ValueError(f"--recipe {text!r}: {exc}") from None
    if "seed" in signature.parameters:
        return pattern, lambda a, seed: fn(a, **kwargs, seed=seed)
    return pattern, lambda a, seed: fn(a, **kwargs)


def _build_on_meta(args):
    """The torch module of --module (pkg.mod:factory, the current directory first on
    sys.path as `python -m` puts it) or --config (transformers), built on meta."""
    import importlib

    import torch

    if args.module:
        mod_name, _, factory = args.module.partition(":")
        if not mod_name or not factory:
            raise ValueError(f"--module must look like pkg.module:factory, got {args.module!r}")
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        build = getattr(importlib.import_module(mod_name), factory)
        with torch.device("meta"):
            return build()
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(args.config)
    with torch.device("meta"):
        try:
            return AutoModelForCausalLM.from_config(config)
        except ValueError:  # not a causal LM configuration
            return AutoModel.from_config(config)


def _checkpoint(parser, args) -> int:
    import time

    from fastinit import checkpoint

    if args.chunk_mib < 1:
        raise ValueError(f"--chunk-mib must be an integer >= 1, got {args.chunk_mib}")
    config_dir = None
    if args.config:  # DIR/model.safetensors, then DIR/config.json once it is written
        config_dir = args.out
        if os.path.exists(config_dir) and not os.path.isdir(config_dir):
            raise ValueError(f"--out must be a directory with --config, got the file "
                             f"{config_dir!r}")
        os.makedirs(config_dir, exist_ok=True)
        args.out = os.path.join(config_dir, "model.safetensors")
    checkpoint.check_path(args.out, "--out")
    if args.spec:
        specs = checkpoint.load_spec(args.spec)
    else:
        try:
            recipes = dict(parse_recipe(text) for text in args.recipe)
            model = _build_on_meta(args)
            specs = checkpoint.module_specs(model, recipes)
        except (ValueError, TypeError, ImportError, AttributeError, OSError) as exc:
            parser.exit(2, f"fastinit checkpoint: error: {exc}\n")
        if config_dir is not None:
            model.config.dtype = args.dtype
    start = time.perf_counter()
    header = checkpoint.write_safetensors(
        args.out, specs, seed=args.seed, dtype=args.dtype, init=args.init, std=args.std,
        chunk_bytes=args.chunk_mib << 20, progress=not args.no_progress)
    if config_dir is not None:
        model.config.save_pretrained(config_dir)
    seconds = time.perf_counter() - start
    nbytes = sum(v["data_offsets"][1] - v["data_offsets"][0] for k, v in header.items()
                 if k != "__metadata__")
    print(f"wrote {len(header) - 1} tensors, {nbytes / 1e9:.3f} GB to {args.out} in "
          f"{seconds:.2f} s ({nbytes / seconds / 1e9:.2f} GB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
