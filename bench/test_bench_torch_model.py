"""Whole-model initialization: a GPT-style model built with plain torch on the CPU (each
layer's default init) vs built on the meta device and filled by fastinit.torch.materialize_,
vs merely allocating and writing the parameters' bytes (torch.empty + fill_ per
parameter).  GPT-2 small (124M) and a GPT-3-XL-shaped model (1.3B, 5.3 GB float32).

- ``test_model_*``: in this process, after a warm-up (the fills' speed);
- ``test_model_cold``: each way in a fresh process, timed from just before construction to
  the end of initialization (what a script pays): eager construction, meta +
  ``materialize_``, ``fastinit.torch.build`` and the floor: a fresh ``torch.empty`` per
  parameter filled with a constant (the shapes known before the timer).  extra_info
  records the speed-up over eager beside the target (TARGET_SPEEDUP, ``meets_target``)
  and ``speedup_bound``: eager / write_bytes, the largest speed-up that any way of
  initializing that writes the bytes can show here.

With FASTINIT_BENCH_N below 2**20 (CI) the models shrink to a few layers of width 64.
"""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import N

torch = pytest.importorskip("torch", reason="torch is not installed")
nn = torch.nn
ft = pytest.importorskip("fastinit.torch")

SMALL = N < 2**20
MODELS = {  # name: (layers, width, vocab, context)
    "gpt2-124M": (2, 64, 1000, 128) if SMALL else (12, 768, 50257, 1024),
    "gpt-1.3B": (2, 96, 1000, 128) if SMALL else (24, 2048, 50257, 2048),
}


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.fc_out = nn.Linear(4 * d, d)


class GPT(nn.Module):
    def __init__(self, layers, d, vocab, context):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(context, d)
        self.blocks = nn.ModuleList(Block(d) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as GPT-2


@pytest.fixture(scope="module", autouse=True)
def warm_up():
    """First use of the meta device and of each layer type costs ~1.7 s of one-time set-up
    in torch; pay it before timing anything."""
    GPT(1, 8, 10, 8)
    with torch.device("meta"):
        model = GPT(1, 8, 10, 8)
    ft.materialize_(model, seed=0)


def _record(benchmark, write_limit, seconds, model_name, library, params, nbytes):
    benchmark.group = f"{model_name}-float32"
    benchmark.extra_info.update(
        library=library, dist=model_name, dtype="float32", threads=torch.get_num_threads(),
        parameters=params, seconds=seconds, elements_per_s=params / seconds,
        gb_per_s=nbytes / seconds / 1e9, ratio_to_limit=nbytes / seconds / 1e9 / write_limit,
        limit_gb_per_s=write_limit)


def _timed(benchmark, build):
    start = time.perf_counter()
    model = benchmark.pedantic(build, rounds=1, iterations=1)
    seconds = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    del model
    return seconds, params


@pytest.mark.parametrize("model_name", MODELS)
def test_model_torch_default(benchmark, write_limit, model_name):
    """Plain torch: GPT(...) on the CPU runs every layer's reset_parameters."""
    seconds, params = _timed(benchmark, lambda: GPT(*MODELS[model_name]))
    _record(benchmark, write_limit, seconds, model_name, "torch", params, 4 * params)


@pytest.mark.parametrize("model_name", MODELS)
def test_model_fastinit_materialize(benchmark, write_limit, model_name):
    """GPT(...) under torch.device('meta'), then fastinit.torch.materialize_."""
    def build():
        with torch.device("meta"):
            model = GPT(*MODELS[model_name])
        return ft.materialize_(model, seed=0)

    seconds, params = _timed(benchmark, build)
    _record(benchmark, write_limit, seconds, model_name, "fastinit", params, 4 * params)


@pytest.mark.parametrize("model_name", MODELS)
def test_model_write_bytes(benchmark, write_limit, model_name):
    """The floor: meta build, to_empty, and fill_(0.5) of every parameter."""
    def build():
        with torch.device("meta"):
            model = GPT(*MODELS[model_name])
        model.to_empty(device="cpu")
        with torch.no_grad():
            for p in model.parameters():
                p.fill_(0.5)
        return model

    seconds, params = _timed(benchmark, build)
    _record(benchmark, write_limit, seconds, model_name, "write_bytes", params, 4 * params)


TARGET_SPEEDUP = 5.0  # cold, over eager construction
COLD_WAYS = ("eager", "write_bytes", "meta_materialize", "build")  # baselines first
CHILD = textwrap.dedent("""
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    import torch
    import fastinit.torch as ft
    from test_bench_torch_model import GPT

    way, shape = sys.argv[2], json.loads(sys.argv[3])
    if way == "write_bytes":  # the shapes, known before the timer (the meta device's
        with torch.device("meta"):  # first use is not part of the floor)
            shapes = [p.shape for p in GPT(*shape).parameters()]
    start = time.perf_counter()
    if way == "eager":
        params = list(GPT(*shape).parameters())
    elif way == "build":
        params = list(ft.build(GPT, *shape, seed=0).parameters())
    elif way == "write_bytes":
        params = [torch.empty(s).fill_(0.5) for s in shapes]
    else:
        with torch.device("meta"):
            model = GPT(*shape)
        params = list(ft.materialize_(model, seed=0).parameters())
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "parameters": sum(p.numel() for p in params)}))
""")
_COLD = {}


def _cold(model_name, way):
    """The fresh process's result for (model, way), measured once per session."""
    if (model_name, way) not in _COLD:
        proc = subprocess.run([sys.executable, "-c", CHILD, os.path.dirname(__file__), way,
                               json.dumps(MODELS[model_name])],
                              capture_output=True, text=True, timeout=3600)
        assert proc.returncode == 0, proc.stderr
        _COLD[model_name, way] = json.loads(proc.stdout.splitlines()[-1])
    return _COLD[model_name, way]


@pytest.mark.parametrize("way", COLD_WAYS)
@pytest.mark.parametrize("model_name", MODELS)
def test_model_cold(benchmark, write_limit, model_name, way):
    result = benchmark.pedantic(lambda: _cold(model_name, way), rounds=1, iterations=1)
    params = result["parameters"]
    _record(benchmark, write_limit, result["seconds"], f"{model_name}-cold",
            "torch" if way == "eager" else way if way == "write_bytes" else "fastinit",
            params, 4 * params)
    eager, floor = (_cold(model_name, base)["seconds"] for base in COLD_WAYS[:2])
    benchmark.extra_info.update(way=way, speedup_bound=eager / floor)
    if way != "eager":
        speedup = eager / result["seconds"]
        benchmark.extra_info.update(speedup_vs_eager=speedup)
    if way not in COLD_WAYS[:2]:
        benchmark.extra_info.update(target_speedup=TARGET_SPEEDUP,
                                    meets_target=speedup >= TARGET_SPEEDUP)
