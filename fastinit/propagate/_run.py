"""A run over a part of the ensemble: the forward pass layer by layer with its
statistics and Jacobians, then the backward pass from checkpoints."""

from __future__ import annotations

import contextlib
import math

import numpy as np

from .. import _generate as g
from .._progress import progress_bar
from ._engine import (
    _DROP,
    _INPUT_STREAM,
    _W,
    _array_module,
    _blas_one_thread,
    _Engine,
    _host,
    _stats,
    _sumsq,
)
from ._stop import _event_stop


def _run(depth, widths, act, init, sigma_w2, sigma_b2, residual, alpha, dropout, sd, dtype,
         seed, networks, x, track, progress, jacobian_at=(), method="dense", backend="cpu",
         stop=None):
    """The engine over ``networks``; ``stop``: a callable checked between layers, or the
    name of a dask Event (on a worker), or None."""
    if isinstance(stop, str):
        stop = _event_stop(stop)
    xp, device = _array_module(backend)
    device_ctx = contextlib.nullcontext() if xp is np else xp.cuda.Device(device)
    with device_ctx, np.errstate(all="ignore"):  # reported once: simulate's warning
        eng = _Engine(depth, widths, act, init, sigma_w2, sigma_b2, residual, alpha, dropout,
                      sd, dtype, seed, networks, method, xp, keep_weights=bool(jacobian_at))
        with _blas_one_thread(eng):
            return _run_engine(eng, depth, xp.asarray(x), track, progress, jacobian_at,
                               stop or (lambda: False))


def _jacobian_step(eng, layer, h_prev, jac):
    """dh^layer/dx of input 0 from dh^{layer-1}/dx (plain networks; W^layer is still in
    the engine's buffer after forward)."""
    n_in = eng.widths[layer - 1]
    w = eng.weight_view(layer, _W)
    if layer == 1:
        return w.copy()
    d = eng.act.dphi(h_prev[:, :, :1])
    m = eng.mask(layer, _DROP, (n_in, h_prev.shape[2]))
    if m is not None:
        d = d * m[:, :, :1]
    return eng.bmm(w, d * jac)


def _run_engine(eng, depth, x, track, progress, jacobian_at, stop):
    nets, n_inputs = eng.nets, x.shape[1]
    dtype = eng.dtype
    shape = (depth + 1, nets, n_inputs)
    q, mean = np.full(shape, np.nan), np.full(shape, np.nan)
    c = np.full((depth + 1, nets, n_inputs // 2), np.nan)
    gf, gb = np.full(shape, np.nan), np.full(shape, np.nan)
    want_fwd = "grad" in track or "grad_fwd" in track
    want_bwd = "grad" in track or "grad_bwd" in track
    h = np.broadcast_to(x, (nets,) + x.shape).astype(dtype)
    t = None
    if want_fwd:
        t = eng.xp.asarray(np.stack([g.normal(x.shape, seed=s, stream=_INPUT_STREAM - 1,
                                              dtype=dtype) for s in eng.seeds]))
        gf[0] = _sumsq(t, t, x.shape[0])
    stats0 = _stats(q[0], mean[0], c[0])
    eng.run_nets(lambda i: stats0(i, h[i]))
    every = _checkpoint_every(depth)
    checkpoints = {0: h}
    done = 0
    interrupted = False
    bar = progress_bar(progress, depth, desc="propagate",
                       bar_format="{l_bar}{bar}| layer {n_fmt}/{total_fmt} "
                                  "[{elapsed}<{remaining}]")
    jac, jsv = None, {}
    try:
        for layer in range(1, depth + 1):
            if stop():
                raise KeyboardInterrupt
            h_prev = h
            h, t, _ = eng.forward(layer, h, t, _stats(q[layer], mean[layer], c[layer]))
            if jacobian_at and layer <= max(jacobian_at):
                jac = _jacobian_step(eng, layer, h_prev, jac)
                if layer in jacobian_at:
                    jsv[layer] = _host(np.linalg.svd(jac.astype(np.float64),
                                                     compute_uv=False))
            if t is not None:
                gf[layer] = _sumsq(t, t, h.shape[1])
            if want_bwd and layer % every == 0 and layer < depth:
                checkpoints[layer] = h
            done = layer
            bar.update()
        bar.refresh()  # the forward pass done: the bar stays at depth/depth meanwhile
        if want_bwd:
            _backward(eng, depth, checkpoints, every, gb, x.shape[1], stop)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        bar.close()
    if interrupted:
        keep = done + 1
        q, mean, c, gf, gb = q[:keep], mean[:keep], c[:keep], gf[:keep], gb[:keep]
    return q, mean, c, gf, gb, interrupted, jsv


def _checkpoint_every(depth):
    """The backward pass keeps the states of every this-many-th layer."""
    return max(1, math.isqrt(depth))


def _backward(eng, depth, checkpoints, every, gb, n_inputs, stop):
    """delta^depth ~ N(0, 1) entries; back to the input, recomputing each segment's
    states from its checkpoint and regenerating the weights."""
    delta = eng.xp.asarray(np.stack([g.normal((eng.widths[depth], n_inputs), seed=s,
                                              stream=_INPUT_STREAM - 2, dtype=eng.dtype)
                                     for s in eng.seeds]))
    gb[depth] = _sumsq(delta, delta, delta.shape[1])
    starts = sorted(checkpoints)
    for seg_start in reversed(starts):
        seg_end = min(depth, min([s for s in starts if s > seg_start], default=depth))
        states = {seg_start: checkpoints[seg_start]}
        saved = {}
        h = checkpoints[seg_start]
        for layer in range(seg_start + 1, seg_end):  # states h^{seg_start+1 .. seg_end-1}
            if stop():
                raise KeyboardInterrupt
            h, _, saved[layer] = eng.forward(layer, h)
            states[layer] = h
        for layer in range(seg_end, seg_start, -1):
            if stop():
                raise KeyboardInterrupt
            if layer == 1:
                d0 = eng.dense_product(1, _W, delta, transpose=True)
                gb[0] = _sumsq(d0, d0, d0.shape[1])
                continue
            if layer not in saved:
                _, _, saved[layer] = eng.forward(layer, states[layer - 1])
            delta = eng.backward(layer, delta, saved.pop(layer))
            gb[layer - 1] = _sumsq(delta, delta, delta.shape[1])
