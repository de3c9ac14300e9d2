"""simulate: every argument checked before any work (memory and float range included),
then the run, here or over dask."""

from __future__ import annotations

import math
import numbers
import os
import time
import warnings

import numpy as np

from .. import _activations
from .._validate import check_int, check_real, check_u64
from ..theory._moments import _params
from ._dask import _run_on_client
from ._engine import _array_module, _random_inputs
from ._result import PropagationResult
from ._run import _checkpoint_every, _run
from ._stop import sigint_flag

INITS = ("gaussian", "uniform", "truncated_normal", "orthogonal")
RESIDUALS = (None, "one", "two")
TRACKS = ("q", "c", "grad", "grad_fwd", "grad_bwd")
_RANGE_MARGIN = 1e3  # the first layer's scale times this must stay below the dtype's max


def _check(depth, width, init, residual, dropout, sd, n_inputs, c0, q0, sigma_w2, sigma_b2,
           alpha, dtype, inputs, n_networks, networks, track, seed, activation_param):
    """Every argument of simulate checked (ValueError / TypeError naming it) before any
    work; returns the normalised ones."""
    depth = check_int(depth, "depth", 1)
    if np.ndim(width) == 0:
        widths = [check_int(width, "width", 1)] * (depth + 1)
    else:
        widths = [check_int(w, "width", 1) for w in width]
        if len(widths) != depth + 1:
            raise ValueError(f"width must be a positive int or depth + 1 = {depth + 1} "
                             f"positive ints, got {len(widths)}")
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    if residual not in RESIDUALS:
        raise ValueError(f"residual must be one of {RESIDUALS}, got {residual!r}")
    if residual is not None and len(set(widths[1:])) != 1:
        raise ValueError("residual networks need a constant width after the first layer")
    f = {k: check_real(v, k) for k, v in dict(stochastic_depth=sd, c0=c0, q0=q0,
                                               alpha=alpha).items()}
    f["sigma_w2"], f["sigma_b2"], f["dropout"] = _params(sigma_w2, sigma_b2, dropout)
    if not 0 <= f["stochastic_depth"] < 1:
        raise ValueError(f"stochastic_depth must be in [0, 1), got {sd}")
    if f["stochastic_depth"] and residual is None:
        raise ValueError("stochastic_depth needs residual='one' or 'two'")
    if not -1 <= f["c0"] <= 1 or not f["q0"] > 0:
        raise ValueError(f"need q0 > 0 and -1 <= c0 <= 1, got q0={q0}, c0={c0}")
    for v in np.ravel(np.asarray(activation_param, dtype=object)):
        if v is not None and isinstance(v, numbers.Real):
            check_real(v, "activation_param")
    n_networks = check_int(n_networks, "n_networks", 1)
    nets = range(n_networks) if networks is None else \
        [check_int(n, "networks", 0) for n in networks]
    if not nets:
        raise ValueError("networks must name at least one network index")
    if inputs is not None:
        inputs = np.asarray(inputs)
        if inputs.ndim != 2 or inputs.shape[0] != widths[0]:
            raise ValueError(f"inputs must have shape ({widths[0]}, n_inputs), got "
                             f"{inputs.shape}")
        if not np.issubdtype(inputs.dtype, np.number) or not np.isfinite(inputs).all():
            raise ValueError("inputs must be finite real numbers")
    else:
        check_int(n_inputs, "n_inputs", 1)
    track = (track,) if isinstance(track, str) else tuple(track)
    for name in track:
        if name not in TRACKS:
            raise ValueError(f"track names must be among {TRACKS}, got {name!r}")
    seed = check_u64(seed, "seed")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype.name}")
    return depth, widths, inputs, dtype, f, nets, track, seed


def _check_range(x, dtype, sigma_w2, sigma_b2, alpha):
    """The first layer's values, of order sqrt(sigma_w2 q + sigma_b2) (q the largest input
    second moment), the inputs (float64, before the cast to ``dtype``), the weights and
    the biases must sit well inside the float range."""
    top = float(np.finfo(dtype).max)
    peak = float(np.max(np.abs(x)))
    if not _RANGE_MARGIN * peak < top:
        raise ValueError(f"the inputs (q0 or inputs=) reach {peak:.3g}, beyond what "
                         f"{dtype.name} holds (max {top:.3g}) with a margin of "
                         f"{_RANGE_MARGIN:g}: use dtype=float64 or a smaller q0")
    with np.errstate(over="ignore"):  # an infinite q_in fails the scale check below
        q_in = float(np.max(np.einsum("ij,ij->j", x, x, dtype=np.float64))) / x.shape[0]
    scale = max(math.sqrt(sigma_w2 * q_in + sigma_b2), math.sqrt(sigma_w2),
                math.sqrt(sigma_b2)) * max(1.0, abs(alpha))
    if not _RANGE_MARGIN * scale < top:
        raise ValueError(f"sigma_w2={sigma_w2}, sigma_b2={sigma_b2} (alpha={alpha}, inputs "
                         f"with q up to {q_in:.3g}) give values of order {scale:.3g}, "
                         f"beyond what {dtype.name} holds (max {top:.3g}): use "
                         "dtype=float64 or smaller parameters")


def available_memory() -> int:
    """Bytes of memory available: /proc/meminfo MemAvailable, else the physical memory.

    Examples
    --------
    >>> from fastinit.propagate import available_memory
    >>> available_memory() > 0
    True
    """
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def memory_estimate(depth, widths, n_networks, n_inputs, dtype="float32", track=("q", "c"),
                    method="dense", jacobian_at=()) -> dict:
    """Bytes a simulation holds at its peak, by part: ``statistics`` (5 float64 arrays of
    (depth + 1, networks, inputs)), ``weights`` (dense: one W per network; gram: one
    N x m float64 draw), ``activations`` (h, its tangent, the product's input and output,
    the previous layer: ~6 (networks, N, m) arrays), ``checkpoints`` (backward pass:
    ~sqrt(depth) saved states plus a segment's) and ``jacobian`` (networks x N x N_0
    matrices and a float64 copy for the SVD), ``bookkeeping`` (per-network Python
    objects); ``total`` their sum.

    Examples
    --------
    >>> from fastinit.propagate import memory_estimate
    >>> m = memory_estimate(10, [256] * 11, n_networks=8, n_inputs=2)
    >>> m["total"] == sum(v for k, v in m.items() if k != "total")
    True
    """
    b, wmax, nets = np.dtype(dtype).itemsize, max(widths), n_networks
    fwd = "grad" in track or "grad_fwd" in track
    bwd = "grad" in track or "grad_bwd" in track
    m = n_inputs * (2 if fwd else 1)
    every = _checkpoint_every(depth)
    part = {
        "statistics": 8 * (depth + 1) * nets * (4 * n_inputs + n_inputs // 2),
        "weights": nets * wmax * wmax * b if method == "dense" else 2 * wmax * m * 8,
        "activations": 6 * nets * wmax * m * b,
        "checkpoints": (depth // every + 1 + 2 * every) * nets * wmax * n_inputs * b
        if bwd else 0,
        "jacobian": nets * wmax * widths[0] * (3 * b + 8) if jacobian_at else 0,
        "bookkeeping": 128 * nets,  # a seed and an index (Python ints) per network
    }
    part["total"] = sum(part.values())
    return part


def _check_memory(need, have, where, hint):
    """MemoryError when the estimate ``need`` (memory_estimate) exceeds ``have`` bytes."""
    if need["total"] > have:
        parts = ", ".join(f"{k} {v / 2**30:.3g}" for k, v in need.items()
                          if v and k != "total")
        raise MemoryError(f"{hint} need about {need['total']} bytes = "
                          f"{need['total'] / 2**30:.3g} GiB ({parts} GiB), more than the "
                          f"{have} bytes = {have / 2**30:.3g} GiB available {where}; use "
                          "fewer networks, inputs or layers, a smaller width, or more "
                          "machines (client=)")


def _nonfinite_layers(a):
    """The layers (first axis) of ``a`` holding a non-finite value."""
    return np.flatnonzero(~np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1))


def _first_nonfinite(forward, backward):
    """The first layer, in the order computed, with a non-finite statistic: the lowest
    among the ``forward`` arrays, else the highest of the ``backward`` ones (computed from
    the last layer down), else None; and which pass it is in."""
    bad = [b[0] for b in map(_nonfinite_layers, forward) if b.size]
    if bad:
        return int(min(bad)), "forward"
    bad = [b[-1] for b in map(_nonfinite_layers, backward) if b.size]
    return (int(max(bad)), "backward") if bad else (None, None)


def simulate(depth, width, activation="tanh", init="gaussian", sigma_w2=1.0, sigma_b2=0.0, *,
             inputs=None, n_inputs=2, q0=1.0, c0=0.5, n_networks=8, residual=None, alpha=1.0,
             dropout=0.0, stochastic_depth=0.0, activation_param=None,
             track=("q", "c", "grad"), dtype=np.float32, seed=0, backend="cpu",
             progress=False, client=None, networks=None,
             jacobian_at=(), method="auto") -> PropagationResult:
    """Propagate ``n_inputs`` inputs through an ensemble of ``n_networks`` random networks
    of ``depth`` layers (module docstring for the model and the statistics).

    Parameters
    ----------
    depth : int
        Number of layers.
    width : int, or depth + 1 ints
        Layer widths; ``width[0]`` is the input dimension.
    activation : str, (phi, dphi) pair, callable or Activation
        linear, relu, leaky_relu, tanh, hardtanh, erf, sigmoid, selu, elu, gelu,
        silu/swish, softplus (``activation_param`` for their parameter), or a user
        ``(phi, dphi)`` pair / callable ``phi`` (scalar functions are compiled by Numba),
        or ``Activation(name, phi, dphi, kinks=(...))`` naming where ``phi'`` jumps, so
        that the theory's quadrature splits there.
    init : {"gaussian", "uniform", "truncated_normal", "orthogonal"}
        All with variance ``sigma_w2 / fan_in``; orthogonal is ``sigma_w`` times Haar.
    sigma_w2, sigma_b2 : float
        Weight and bias variances.
    inputs : (width[0], n) array of finite values, optional
        None: random inputs with ``q = q0`` exactly and correlation ``c0`` exactly within
        each pair (2k, 2k + 1).
    track : tuple of str
        Any of "q", "c" (always computed; cheap), "grad" (= "grad_fwd" + "grad_bwd").
    client : dask.distributed.Client, optional
        With workers: the networks are spread over its workers; the result equals the
        local run bit for bit.
    jacobian_at : tuple of int
        Depths at which to record the singular values of the input-output Jacobian of
        input 0 (plain networks; costs a width x width x N_0 GEMM per layer).
    method : {"auto", "dense", "gram"}
        "dense" generates each W, one GEMM per layer: O(N^2 m); "gram" samples ``W x``
        directly from the m tracked vectors: O(N m^2), exact in distribution for
        gaussian and orthogonal weights, forward statistics only; "auto" takes gram when
        the weights allow it, no backward gradients or Jacobians are asked for, and
        m = inputs (+ tangents) is at most width / 8.  The two methods draw different
        random numbers: same law, not the same bits.
    backend : str
        "cpu", or "cuda" / "cuda:N": the same engine on a GPU through CuPy (cuBLAS
        batched GEMMs, the fills of kernels/fill_cuda.cu: the weights have the CPU's
        bits, the products cuBLAS's rounding, so CPU and GPU agree statistically); user
        activations must then accept CuPy arrays (numpy functions dispatch to CuPy).
    progress : bool
        A tqdm bar of the layers on stderr when it is a terminal (and tqdm is installed;
        nothing in logs and pipes).

    Returns
    -------
    PropagationResult
        The statistics per layer, network and input (``q``, ``c``, ...).

    Notes
    -----
    Integers may be any numbers.Integral, reals must be finite; parameters whose first
    layer leaves the float range of ``dtype`` are refused, and so is an ensemble whose
    :func:`memory_estimate` exceeds the available memory (MemoryError), all before any
    work.  Statistics that become non-finite during the run (overflow, an activation
    returning NaN) give a RuntimeWarning and ``nonfinite_layer``.  Ctrl-C stops cleanly
    at the next layer (locally and over dask): the result holds the layers completed
    (``interrupted``).

    Examples
    --------
    >>> from fastinit.propagate import simulate
    >>> r = simulate(depth=4, width=256, activation="tanh", sigma_w2=1.5, sigma_b2=0.05,
    ...              n_networks=8, seed=0)
    >>> r.q.shape  # (depth + 1, networks, inputs)
    (5, 8, 2)
    >>> from fastinit import theory
    >>> q_theory = theory.predicted("tanh", 1.5, 0.05, 4, 1.0, 0.5)[0]
    >>> bool(abs(r.q[-1].mean() / q_theory[-1] - 1) < 0.1)  # within 10% at width 256
    True
    """
    if not isinstance(backend, str):
        raise TypeError(f"backend must be 'cpu', 'cuda' or 'cuda:N', got {backend!r}")
    if backend != "cpu" and not (backend == "cuda" or (backend.startswith("cuda:") and
                                                      backend[5:].isdigit())):
        raise ValueError(f"backend must be 'cpu', 'cuda' or 'cuda:N', got {backend!r}")
    depth, widths, inputs, dtype, f, nets, track, seed = _check(
        depth, width, init, residual, dropout, stochastic_depth, n_inputs, c0, q0, sigma_w2,
        sigma_b2, alpha, dtype, inputs, n_networks, networks, track, seed, activation_param)
    sigma_w2, sigma_b2, alpha = f["sigma_w2"], f["sigma_b2"], f["alpha"]
    jacobian_at = tuple(sorted({check_int(d, "jacobian_at", 1) for d in jacobian_at}))
    if client is None:
        _array_module(backend)  # no CuPy or no device: before any work
    x = _random_inputs(widths[0], n_inputs, f["q0"], f["c0"], seed) \
        if inputs is None else inputs.astype(np.float64)
    _check_range(x, dtype, sigma_w2, sigma_b2, alpha)
    x = x.astype(dtype)
    want_fwd = "grad" in track or "grad_fwd" in track
    want_bwd = "grad" in track or "grad_bwd" in track
    m = x.shape[1] * (2 if want_fwd else 1)
    gram_ok = (init == "gaussian" or (init == "orthogonal" and len(set(widths)) == 1)) \
        and not want_bwd and not jacobian_at
    if method not in ("dense", "gram", "auto"):
        raise ValueError(f"method must be 'dense', 'gram' or 'auto', got {method!r}")
    if method == "auto":
        method = "gram" if gram_ok and 8 * m <= min(widths) else "dense"
    elif method == "gram" and not gram_ok:
        raise ValueError("method='gram' needs gaussian (or constant-width orthogonal) weights "
                         "and no backward gradients or Jacobians (track=('q', 'c', "
                         "'grad_fwd'))")
    if jacobian_at and (residual is not None or not jacobian_at[-1] <= depth):
        raise ValueError("jacobian_at needs depths in [1, depth], a plain network "
                         "(residual=None) and the activation's derivative")
    from fastinit import propagate  # available_memory as the public module holds it

    hint = f"n_networks={len(nets)}, width={max(widths)}, depth={depth}, " \
           f"inputs={x.shape[1]}, {dtype.name}"
    if client is None:
        need = memory_estimate(depth, widths, len(nets), x.shape[1], dtype, track, method,
                               jacobian_at)
        if backend != "cpu":  # the buffers are on the device: the host keeps the statistics
            need = {"statistics": need["statistics"], "total": need["statistics"]}
        _check_memory(need, propagate.available_memory(), "here", hint)
    else:
        stats = memory_estimate(depth, widths, len(nets), x.shape[1])["statistics"]
        _check_memory({"statistics": 2 * stats, "total": 2 * stats},
                      propagate.available_memory(),
                      "on the client to gather the statistics", hint)
        limits = [w.get("memory_limit") or 0
                  for w in client.scheduler_info()["workers"].values()]
        per_part = math.ceil(len(nets) / max(1, len(limits)))
        if limits and min(limits) > 0:
            _check_memory(memory_estimate(depth, widths, per_part, x.shape[1], dtype, track,
                                          method, jacobian_at), min(limits),
                          "to a dask worker", hint)
    act = _activations.get(activation, activation_param, compile=backend == "cpu")
    if (want_fwd or want_bwd or jacobian_at) and act.dphi is None:
        raise ValueError("gradients and jacobian_at need the activation's derivative: pass "
                         "(phi, dphi)")
    params = dict(depth=depth, width=widths[0] if np.ndim(width) == 0 else list(widths),
                  activation=act.name, init=init, sigma_w2=sigma_w2, sigma_b2=sigma_b2,
                  residual=residual, alpha=alpha, dropout=f["dropout"],
                  stochastic_depth=f["stochastic_depth"], dtype=dtype.name, seed=seed,
                  networks=len(nets), inputs=x.shape[1], q0=f["q0"], c0=f["c0"],
                  activation_name=activation if isinstance(activation, str) else None,
                  activation_param=activation_param, jacobian_at=list(jacobian_at),
                  method=method, backend=backend)
    args = (depth, widths, act, init, sigma_w2, sigma_b2, residual, alpha, f["dropout"],
            f["stochastic_depth"], dtype, seed)
    start = time.perf_counter()
    with sigint_flag() as flag:
        if client is not None:
            q, mean, c, gf, gb, interrupted, jsv = _run_on_client(
                client, args, nets, x, track, jacobian_at, method, backend, flag)
        else:
            q, mean, c, gf, gb, interrupted, jsv = _run(*args, nets, x, track, progress,
                                                        jacobian_at, method, backend,
                                                        flag.is_set)
    bad, where = _first_nonfinite([q, mean, c] + [gf] * want_fwd,
                                  [gb] * (want_bwd and not interrupted))
    if bad is not None:
        warnings.warn(f"propagation: non-finite statistics in the {where} pass from layer "
                      f"{bad} on (overflow in {dtype.name}, or NaN from the activation or "
                      "the parameters); result.nonfinite_layer records it", RuntimeWarning,
                      stacklevel=2)
    return PropagationResult(q, mean, c, gf, gb, params, interrupted,
                             time.perf_counter() - start, jsv, bad)
