"""Random checkpoints: fastinit.checkpoint.write_safetensors (bfloat16, torch-default
init, 64 MiB chunks) vs numpy writing the same bytes (a constant chunk written
repeatedly) vs the torch + safetensors route a user would take without fastinit (torch's
default init in bfloat16, then safetensors.torch.save_file).  GPT-2-small-shaped spec.

With FASTINIT_BENCH_N below 2**20 (CI) the spec shrinks to width 64.
"""

import math
import time

import numpy as np
import pytest
from conftest import N

from fastinit import checkpoint

SMALL = N < 2**20
D, LAYERS, VOCAB = (64, 2, 1000) if SMALL else (768, 12, 50257)


def _spec():
    spec = {"wte.weight": [VOCAB, D], "wpe.weight": [1024, D]}
    for i in range(LAYERS):
        spec |= {f"h.{i}.attn.weight": [3 * D, D], f"h.{i}.attn.bias": [3 * D],
                 f"h.{i}.proj.weight": [D, D], f"h.{i}.fc.weight": [4 * D, D],
                 f"h.{i}.fc_out.weight": [D, 4 * D], f"h.{i}.ln_1.weight": [D]}
    return spec


def _record(benchmark, library, seconds, nbytes):
    benchmark.group = "checkpoint-bfloat16"
    benchmark.extra_info.update(library=library, dist="checkpoint", dtype="bfloat16",
                                threads=2, seconds=seconds, gb_per_s=nbytes / seconds / 1e9,
                                elements_per_s=nbytes / 2 / seconds)


def _timed(benchmark, run):
    start = time.perf_counter()
    benchmark.pedantic(run, rounds=1, iterations=1)
    return time.perf_counter() - start


def test_checkpoint_fastinit(benchmark, tmp_path):
    spec = _spec()
    nbytes = 2 * sum(math.prod(s) for s in spec.values())
    seconds = _timed(benchmark, lambda: checkpoint.write_safetensors(
        tmp_path / "f.safetensors", spec, seed=0, dtype="bfloat16"))
    _record(benchmark, "fastinit", seconds, nbytes)


def test_checkpoint_numpy_bytes(benchmark, tmp_path):
    spec = _spec()
    nbytes = 2 * sum(math.prod(s) for s in spec.values())
    chunk = np.full(32 << 20, 0x3C00, np.uint16)  # 64 MiB

    def run():
        with open(tmp_path / "n.bin", "wb") as f:
            left = nbytes
            while left:
                part = chunk[:min(left, chunk.nbytes) // 2]
                f.write(memoryview(part))
                left -= part.nbytes

    _record(benchmark, "numpy_write", _timed(benchmark, run), nbytes)


def test_checkpoint_torch_safetensors(benchmark, tmp_path):
    torch = pytest.importorskip("torch")
    st = pytest.importorskip("safetensors.torch")
    spec = _spec()
    nbytes = 2 * sum(math.prod(s) for s in spec.values())

    def run():
        tensors = {}
        for name, shape in spec.items():
            t = torch.empty(shape, dtype=torch.bfloat16)
            if len(shape) > 1:
                torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5))
            else:
                t.zero_()
            tensors[name] = t
        st.save_file(tensors, str(tmp_path / "t.safetensors"))

    _record(benchmark, "torch_safetensors", _timed(benchmark, run), nbytes)
