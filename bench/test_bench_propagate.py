"""Propagation: fastinit.propagate.simulate (q and c tracked) vs a plain numpy loop and a
plain torch loop on the same shapes (draw W, batched matmul, tanh), and vs the two parts
that cannot be avoided, measured alone: the GEMMs with a ready W and fastinit's fill of the
same weights.  Width 1024, 64 inputs, 16 networks, FASTINIT_PROP_DEPTH layers (default 20:
every layer costs the same, so seconds per layer compare; set 1000 for the full run).

With FASTINIT_BENCH_N below 2**20 (CI) the shapes shrink to width 64, 4 networks.
"""

import math
import os
import time

import numpy as np
import pytest
from conftest import MIN_ROUNDS, N

import fastinit
from fastinit import propagate

SMALL = N < 2**20
DEPTH = int(os.environ.get("FASTINIT_PROP_DEPTH", 3 if SMALL else 20))
WIDTH, INPUTS, NETS = (64, 8, 4) if SMALL else (1024, 64, 16)


def _record(benchmark, library, seconds):
    per_layer = seconds / DEPTH
    benchmark.group = "propagate-float32"
    benchmark.extra_info.update(
        library=library, dist="propagate", dtype="float32", threads=fastinit.get_num_threads(),
        seconds=seconds, seconds_per_layer=per_layer,
        elements_per_s=NETS * WIDTH * WIDTH / per_layer, gb_per_s=0.0)


WEIGHT_BYTES = NETS * WIDTH * WIDTH * 4 * DEPTH  # float32 weights drawn per run


def _timed(against_limit, fn, library):
    """The best of several rounds, each beside a write-limit fill (see conftest.py): these
    shared machines are noisy (+-30% between runs)."""
    return against_limit(fn, WEIGHT_BYTES, fastinit.get_num_threads(),
                         MIN_ROUNDS if library == "fastinit" else 1)


def test_propagate_fastinit(benchmark, against_limit):
    def run():
        return propagate.simulate(DEPTH, WIDTH, "tanh", "gaussian", 1.0, 0.0, n_inputs=INPUTS,
                                  n_networks=NETS, track=("q", "c"), seed=0, method="dense")
    _record(benchmark, "fastinit", _timed(against_limit, run, "fastinit"))


def test_propagate_numpy_loop(benchmark, against_limit):
    rng = np.random.default_rng(0)
    w = np.empty((NETS, WIDTH, WIDTH), np.float32)
    std = np.float32(1 / math.sqrt(WIDTH))

    def run():
        h = np.ones((NETS, WIDTH, INPUTS), np.float32)
        for _ in range(DEPTH):
            rng.standard_normal(out=w, dtype=np.float32)
            np.multiply(w, std, out=w)
            h = w @ np.tanh(h)
            (h * h).mean(axis=1)
    _record(benchmark, "numpy", _timed(against_limit, run, "numpy"))


def test_propagate_torch_loop(benchmark, against_limit):
    torch = pytest.importorskip("torch")

    def run():
        with torch.no_grad():
            w = torch.empty(NETS, WIDTH, WIDTH)
            h = torch.ones(NETS, WIDTH, INPUTS)
            for _ in range(DEPTH):
                w.normal_(0, 1 / math.sqrt(WIDTH))
                h = torch.bmm(w, torch.tanh(h))
                (h * h).mean(dim=1)
    _record(benchmark, "torch", _timed(against_limit, run, "torch"))


def test_propagate_gemm_only(benchmark, against_limit):
    w = fastinit.normal((NETS, WIDTH, WIDTH), std=1 / math.sqrt(WIDTH), seed=1)
    h0 = np.ones((NETS, WIDTH, INPUTS), np.float32)

    def run():
        h = h0
        for _ in range(DEPTH):
            h = w @ np.tanh(h)
    _record(benchmark, "gemm_only", _timed(against_limit, run, "gemm_only"))


def test_propagate_fill_only(benchmark, against_limit):
    w = np.empty((NETS, WIDTH, WIDTH), np.float32)

    def run():
        for layer in range(DEPTH):
            for n in range(NETS):
                fastinit.normal(None, 0.0, 1 / math.sqrt(WIDTH), seed=n, stream=layer, out=w[n])
    _record(benchmark, "fill_only", _timed(against_limit, run, "fill_only"))


def test_propagate_gram_wide(benchmark):
    """The exact fast path at width 10^5, 1,000 layers (10 in CI), 4 inputs + 4 tangents,
    one network; records the largest |q - q_theory| / q_theory over the layers."""
    from fastinit import theory

    depth, width = (10, 1000) if SMALL else (1000, 100_000)

    def run():
        return propagate.simulate(depth, width, "tanh", "gaussian", 1.5, 0.05, n_inputs=4,
                                  n_networks=1, track=("q", "c", "grad_fwd"), seed=0,
                                  method="gram")
    start = time.perf_counter()
    result = benchmark.pedantic(run, rounds=1, iterations=1)
    seconds = time.perf_counter() - start
    q_th, _, _ = theory.predicted("tanh", 1.5, 0.05, depth, 1.0, 0.5)
    benchmark.group = "propagate-gram"
    benchmark.extra_info.update(library="fastinit", dist="propagate-gram", dtype="float32",
                                threads=fastinit.get_num_threads(), seconds=seconds,
                                seconds_per_layer=seconds / depth, gb_per_s=0.0,
                                elements_per_s=8 * width * depth / seconds,
                                max_rel_q_error=float(np.max(np.abs(
                                    result.ensemble("q")[0] / q_th - 1))))
