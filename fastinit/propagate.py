"""Monte Carlo signal propagation through deep random networks (Poole et al. 2016;
Schoenholz et al. 2017; Pennington et al. 2017).

An ensemble of ``n_networks`` random networks, each fed the same ``n_inputs`` inputs,
advances layer by layer as one batched matrix product per layer:

    h^1 = W^1 x + b^1,    h^l = W^l D^l phi(h^{l-1}) + b^l         (l = 2 .. depth)

with W^l_ij ~ (0, sigma_w^2 / N_{l-1}) (gaussian, uniform, truncated normal, or sigma_w
times a Haar orthogonal matrix), b^l_i ~ N(0, sigma_b^2) and D^l the inverted-dropout
mask (keep 1 - p, scaled by 1 / (1 - p)).  Residual networks (constant width):
h^l = h^{l-1} + alpha F(h^{l-1}) with F one layer (W phi(h) + b) or two
(W_b phi(W_a phi(h) + b_a) + b_b); stochastic depth drops F with probability p_sd
(kept branches scaled by 1 / (1 - p_sd)).

Per layer, network and input: q^l = |h^l|^2 / N_l (layer 0: the input), the mean of h^l,
the correlation c^l of each input pair (2k, 2k + 1), and gradient statistics: the forward
Jacobian-vector product |J_l v|^2 / N_l of a random tangent v (N(0, 1) entries), and the
back-propagated |delta^l|^2 / N_l of a random delta^L (N(0, 1) entries).  Both grow by
chi_1 = sigma_w^2 E[phi'(h)^2] per layer in the mean-field limit.

Each layer's weights are generated into one reused buffer by the counter-based engine and
never stored: network n draws from seed blake2b(f"{seed}/net{n}"), layer l from streams
8 l + k, so the backward pass regenerates W^l instead of keeping it (states are kept at
every ~sqrt(depth)-th layer and recomputed in between).  Memory does not grow with depth
beyond the statistics.  A network's values depend only on (seed, network index): the
same for any thread count, any split of the ensemble, on one machine or over dask.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import signal
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import _activations
from . import _generate as g
from ._activations import Activation as Activation  # noqa: F401  (public: kinks=)
from ._structured import orthogonal_fill
from ._validate import check_int, check_real, check_u64, derived_seed
from ._variance import TRUNC_STD_2SIGMA

INITS = ("gaussian", "uniform", "truncated_normal", "orthogonal")
RESIDUALS = (None, "one", "two")
TRACKS = ("q", "c", "grad", "grad_fwd", "grad_bwd")
_RANGE_MARGIN = 1e3  # the first layer's scale times this must stay below the dtype's max
_NO_WORKERS_SECONDS = 30.0
_INPUT_STREAM = 1 << 62
_W, _WB, _B, _BB, _DROP, _SD, _DROP_IN = range(7)  # stream slots of a layer


def network_seed(seed: int, network: int) -> int:
    """The seed of network ``network`` of an ensemble of seed ``seed``."""
    return derived_seed(check_u64(seed, "seed"), f"net{check_int(network, 'network', 0)}")


# ---- results ----

@dataclass
class PropagationResult:
    """Arrays of shape (depth + 1, networks, inputs) (``c``: input pairs), layer 0 the
    input; ``grad_fwd`` / ``grad_bwd`` the squared norms per unit of the forward tangent
    and of the back-propagated delta (NaN where not tracked).  ``jacobian_sv[l]``: the
    singular values of the input-output Jacobian dh^l / dx of input 0, shape (networks,
    min(N_l, N_0)), at the depths asked for.  ``interrupted`` when Ctrl-C stopped the run:
    the arrays then end at the last completed layer.  ``nonfinite_layer``: the first layer
    with a non-finite statistic (overflow, NaN), None when all are finite."""

    q: np.ndarray
    mean: np.ndarray
    c: np.ndarray
    grad_fwd: np.ndarray
    grad_bwd: np.ndarray
    params: dict = field(default_factory=dict)
    interrupted: bool = False
    seconds: float = 0.0
    jacobian_sv: dict = field(default_factory=dict)
    nonfinite_layer: int | None = None

    @property
    def depth(self) -> int:
        return self.q.shape[0] - 1

    def ensemble(self, name: str):
        """(mean, standard error) over networks of the per-network average over inputs (or
        pairs) of ``name``, shape (depth + 1,) each (NaN where not tracked or not finite,
        quietly)."""
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN layers: NaN
            per_net = np.nanmean(getattr(self, name), axis=2)
            n = per_net.shape[1]
            sem = per_net.std(axis=1, ddof=1) / math.sqrt(n) if n > 1 \
                else np.full(len(per_net), np.nan)
            return per_net.mean(axis=1), sem

    def chi_forward(self) -> float:
        """Geometric-mean growth per layer of the forward tangent (chi_1 estimate)."""
        m, _ = self.ensemble("grad_fwd")
        return float(math.exp((math.log(m[-1]) - math.log(m[1])) / max(self.depth - 1, 1)))

    def chi_backward(self) -> float:
        """Geometric-mean growth per layer (towards the input) of the back-propagated delta."""
        m, _ = self.ensemble("grad_bwd")
        return float(math.exp((math.log(m[1]) - math.log(m[-1])) / max(self.depth - 1, 1)))

    def depth_to_correlation(self, level=1 - 1e-3):
        """First layer at which the ensemble-mean c reaches ``level`` (None if never)."""
        m, _ = self.ensemble("c")
        hit = np.nonzero(m >= level)[0]
        return int(hit[0]) if hit.size else None

    def compare_theory(self) -> dict:
        """Mean-field predictions (fastinit.theory.predicted) beside the ensemble means:
        ``q_theory``, ``c_theory`` and, when gradients were tracked, ``grad_fwd_theory``
        (the measured layer-0 tangent norm times the product of the growths g^l) and
        ``grad_bwd_theory`` (the measured delta^L norm times the growths back to l), with
        ``<name>_z`` the disagreement in standard errors, per layer (built-in activations
        only; gradients under the mean-field gradient-independence assumption)."""
        from . import theory

        p = self.params
        if p.get("activation_name") is None:
            raise ValueError("compare_theory needs a built-in activation (given by name)")
        q_th, c_th, g = theory.predicted(p["activation_name"], p["sigma_w2"], p["sigma_b2"],
                                         self.depth, p["q0"], p["c0"], dropout=p["dropout"],
                                         param=p.get("activation_param"),
                                         residual=p.get("residual"), alpha=p.get("alpha", 1.0),
                                         stochastic_depth=p.get("stochastic_depth", 0.0))
        out = {"q_theory": q_th, "c_theory": c_th}
        if np.isfinite(self.grad_fwd[0]).all():
            out["grad_fwd_theory"] = self.ensemble("grad_fwd")[0][0] * np.cumprod(g)
        if np.isfinite(self.grad_bwd[-1]).all():
            back = np.cumprod(np.r_[g[1:], 1.0][::-1])[::-1]  # prod_{k > l} g^k
            out["grad_bwd_theory"] = self.ensemble("grad_bwd")[0][-1] * back
        for name in ("q", "c", "grad_fwd", "grad_bwd"):
            if f"{name}_theory" in out:
                m, s = self.ensemble(name)
                with np.errstate(divide="ignore", invalid="ignore"):
                    out[f"{name}_z"] = (m - out[f"{name}_theory"]) / s
        return out

    def summary(self) -> str:
        """A text table of q, c and gradients at a few depths, and the derived numbers."""
        lines = [f"propagation: {self.params.get('activation')} init={self.params.get('init')} "
                 f"sigma_w2={self.params.get('sigma_w2')} sigma_b2={self.params.get('sigma_b2')} "
                 f"width={self.params.get('width')} depth={self.depth} "
                 f"networks={self.q.shape[1]} inputs={self.q.shape[2]}"
                 + ("  (interrupted)" if self.interrupted else "")]
        if self.nonfinite_layer is not None:
            lines.append(f"WARNING: non-finite statistics from layer {self.nonfinite_layer} "
                         "on (overflow or NaN)")
        qm, qs = self.ensemble("q")
        cm, cs = self.ensemble("c")
        lines.append(f"{'layer':>7} {'q':>12} {'+-':>9} {'c':>9} {'+-':>9}")
        for layer in sorted({0, 1, self.depth // 10, self.depth // 2, self.depth}):
            if 0 <= layer <= self.depth:
                lines.append(f"{layer:>7} {qm[layer]:>12.5g} {qs[layer]:>9.2g} "
                             f"{cm[layer]:>9.5g} {cs[layer]:>9.2g}")
        d = self.depth_to_correlation()
        lines.append(f"depth at which c reaches 1 - 1e-3: {d if d is not None else 'never'}")
        if not np.isnan(self.grad_fwd).all() and self.depth > 1:
            lines.append(f"gradient growth per layer: forward {self.chi_forward():.5g}")
        if not np.isnan(self.grad_bwd).all() and self.depth > 1:
            lines.append(f"gradient growth per layer: backward {self.chi_backward():.5g}")
        lines.append(f"time: {self.seconds:.2f} s")
        return "\n".join(lines)

    def to_pandas(self):
        """Long table: layer, network, input, q, mean, grad_fwd, grad_bwd (and c of the
        pair the input belongs to).  Needs pandas."""
        import pandas as pd

        depth1, nets, ins = self.q.shape
        layer, net, inp = np.meshgrid(np.arange(depth1), np.arange(nets), np.arange(ins),
                                      indexing="ij")
        pair = np.minimum(inp // 2, max(self.c.shape[2] - 1, 0))
        c = self.c[layer, net, pair] if self.c.shape[2] else np.full(layer.shape, np.nan)
        return pd.DataFrame({"layer": layer.ravel(), "network": net.ravel(),
                             "input": inp.ravel(), "q": self.q.ravel(),
                             "mean": self.mean.ravel(), "c": c.ravel(),
                             "grad_fwd": self.grad_fwd.ravel(),
                             "grad_bwd": self.grad_bwd.ravel()})

    def to_csv(self, path) -> None:
        """Ensemble means and standard errors per layer, one row per layer."""
        cols, names = [np.arange(self.depth + 1)], ["layer"]
        for name in ("q", "c", "grad_fwd", "grad_bwd"):
            m, s = self.ensemble(name)
            cols += [m, s]
            names += [name, f"{name}_sem"]
        np.savetxt(path, np.column_stack(cols), delimiter=",", header=",".join(names),
                   comments="")

    def save(self, path) -> None:
        """npz with the arrays and the parameters (JSON: _params_to_json)."""
        np.savez_compressed(path, q=self.q, mean=self.mean, c=self.c, grad_fwd=self.grad_fwd,
                            grad_bwd=self.grad_bwd,
                            params_json=np.array(_params_to_json(self.params)),
                            interrupted=self.interrupted, seconds=self.seconds,
                            nonfinite_layer=-1 if self.nonfinite_layer is None
                            else self.nonfinite_layer,
                            **{f"jsv_{k}": v for k, v in self.jacobian_sv.items()})

    @classmethod
    def load(cls, path) -> PropagationResult:
        """A saved result; files of the older format (parameters as a Python repr) too."""
        import ast

        with np.load(path) as z:
            jsv = {int(k[4:]): z[k] for k in z.files if k.startswith("jsv_")}
            params = _params_from_json(str(z["params_json"])) if "params_json" in z.files \
                else ast.literal_eval(str(z["params"]))
            bad = int(z["nonfinite_layer"]) if "nonfinite_layer" in z.files else -1
            return cls(z["q"], z["mean"], z["c"], z["grad_fwd"], z["grad_bwd"], params,
                       bool(z["interrupted"]), float(z["seconds"]), jsv,
                       None if bad < 0 else bad)

    def plot(self, path=None, theory=None):
        """q, c and gradient norms vs depth (log axes), bands of +-2 standard errors, and
        the mean-field predictions as dashed lines (``theory``: default when the activation
        is built in).  Returns the matplotlib figure; writes it to ``path`` when given."""
        import matplotlib

        if path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
        layers = np.arange(self.depth + 1)
        if theory is None:
            theory = self.params.get("activation_name") is not None
        if theory:
            th = self.compare_theory()
            axes[0].plot(layers[1:], th["q_theory"][1:], "k--", lw=0.8, label="mean field")
            axes[1].plot(layers[1:], 1 - th["c_theory"][1:], "k--", lw=0.8,
                         label="mean field")
            for name in ("grad_fwd_theory", "grad_bwd_theory"):
                if name in th:
                    axes[2].plot(layers[1:], th[name][1:], "k--", lw=0.8)
        for ax, name, label in ((axes[0], "q", "q^l"), (axes[1], "c", "c^l"),
                                (axes[2], "grad_fwd", "|J v|^2 / N"),
                                (axes[2], "grad_bwd", "|delta|^2 / N")):
            m, s = self.ensemble(name)
            if np.isnan(m).all():
                continue
            if name == "c":
                ax.plot(layers[1:], 1 - m[1:], label="1 - c^l")
                ax.set_yscale("log")
            else:
                ax.plot(layers[1:], m[1:], label=label)
                low = np.maximum(m - 2 * s, m / 20)  # log axes: keep the band positive
                ax.fill_between(layers[1:], low[1:], (m + 2 * s)[1:], alpha=0.3)
                ax.set_yscale("log")
            ax.set_xscale("log")
            ax.set_xlabel("layer")
            ax.legend()
        axes[0].set_title("second moment")
        axes[1].set_title("input correlation")
        axes[2].set_title("gradients")
        fig.suptitle(f"{self.params.get('activation')}, {self.params.get('init')}, "
                     f"sigma_w^2={self.params.get('sigma_w2')}, "
                     f"sigma_b^2={self.params.get('sigma_b2')}")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig


def _params_to_json(params) -> str:
    """JSON of a parameter dict: numpy scalars and arrays become Python numbers and lists,
    tuples become {"__tuple__": [...]} (so that they come back as tuples); NaN and
    infinities as JSON's extensions NaN / Infinity."""
    import json

    def plain(v):
        if isinstance(v, tuple):
            return {"__tuple__": [plain(e) for e in v]}
        if isinstance(v, list):
            return [plain(e) for e in v]
        if isinstance(v, dict):
            return {str(k): plain(e) for k, e in v.items()}
        if isinstance(v, np.ndarray):
            return plain(v.tolist())
        if isinstance(v, np.generic):
            return v.item()
        if v is None or isinstance(v, bool | int | float | str):
            return v
        raise TypeError(f"cannot save the parameter value {v!r} ({type(v).__name__})")

    return json.dumps(plain(params))


def _params_from_json(text: str) -> dict:
    import json

    return json.loads(text, object_hook=lambda d: tuple(d["__tuple__"])
                      if set(d) == {"__tuple__"} else d)


# ---- the engine ----

def _array_module(backend):
    """numpy for "cpu"; CuPy for "cuda" / "cuda:N" (checked: CuPy importable, a device)."""
    if backend == "cpu":
        return np, None
    from .backends import cuda

    index = cuda.device_index(backend)
    cp = cuda.cupy()
    if not cp.cuda.is_available():
        raise RuntimeError(f"backend={backend!r}: no CUDA device is available to CuPy")
    return cp, index


def _host(a):
    """A numpy copy of a device array (numpy arrays pass through)."""
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def _sumsq(a, b, n):
    """sum_i a[..., i, j] b[..., i, j] / n in float64, on the host."""
    return _host(np.einsum("...ij,...ij->...j", a, b, dtype=np.float64)) / n


class _Engine:
    def __init__(self, depth, widths, act, init, sigma_w2, sigma_b2, residual, alpha, dropout,
                 sd, dtype, seed, networks, method="dense", xp=np):
        self.depth, self.widths, self.act, self.init = depth, widths, act, init
        self.sigma_w2, self.sigma_b2 = sigma_w2, sigma_b2
        self.residual, self.alpha, self.dropout, self.sd = residual, alpha, dropout, sd
        self.dtype, self.seed = dtype, seed
        self.networks = networks
        self.seeds = [network_seed(seed, n) for n in networks]
        self.nets = len(networks)
        self.method = method
        self.xp = xp  # numpy, or CuPy: the same code on the device (numpy functions
        # dispatch to CuPy through __array_function__; fills take device out= buffers)
        wmax = max(widths)
        self._wbuf = xp.empty(self.nets * wmax * wmax if method == "dense" else 0, dtype)
        self.pool = None

    def bmm(self, w, x):
        """w[n] @ x[n] for every network (over the workers, see run_nets)."""
        out = self.xp.empty((w.shape[0], w.shape[1], x.shape[2]), np.result_type(w, x))
        self.run_nets(lambda i: np.matmul(w[i], x[i], out=out[i]))
        return out

    def weights(self, layer, slot):
        """W (nets, out, in) of a layer: (0, sigma_w^2 / in) or sigma_w Haar."""
        w = self._weight_view(layer, slot)
        for i in range(self.nets):
            self._fill_weight(layer, slot, w, i)
        return w

    def _weight_view(self, layer, slot):
        n_out, n_in = self.widths[layer], self.widths[layer - 1 if slot == _W else layer]
        return self._wbuf[:self.nets * n_out * n_in].reshape(self.nets, n_out, n_in)

    def _fill_weight(self, layer, slot, w, i):
        """w[i] <- network i's W of (layer, slot), from stream 8 layer + slot of its seed."""
        n_out, n_in = w.shape[1:]
        std = math.sqrt(self.sigma_w2 / n_in)
        stream, s = 8 * layer + slot, self.seeds[i]
        if self.init == "gaussian":
            g.normal(None, 0.0, std, seed=s, stream=stream, out=w[i])
        elif self.init == "uniform":
            lim = math.sqrt(3.0) * std
            g.uniform(None, -lim, lim, seed=s, stream=stream, out=w[i])
        elif self.init == "truncated_normal":
            t = std / TRUNC_STD_2SIGMA
            g.truncated_normal(None, 0.0, t, -2 * t, 2 * t, seed=s, stream=stream, out=w[i])
        elif self.xp is np:
            orthogonal_fill(w[i], n_out, n_in, math.sqrt(self.sigma_w2), s, stream)
        else:
            from .backends import cuda

            cuda.orthogonal_fill(cuda.wrap_out(w[i]), n_out, n_in, math.sqrt(self.sigma_w2),
                                 s, stream)

    def dense_product(self, layer, slot, x, transpose=False):
        """W x (or W^T x) for every network with W generated into the reused buffer.  With
        a worker pool (CPU, BLAS single-threaded: _blas_one_thread) each worker generates
        its network's W with one fill thread and multiplies it at once: no thread ever
        waits or spins, so a layer costs the fills plus the GEMMs and nothing more.
        Otherwise (GPU, or no threadpoolctl) all W, then one batched matmul."""
        if self.pool is None:
            w = self.weights(layer, slot)
            return (np.swapaxes(w, 1, 2) if transpose else w) @ x
        w = self._weight_view(layer, slot)
        rows = w.shape[2] if transpose else w.shape[1]
        out = np.empty((self.nets, rows, x.shape[2]), np.result_type(w, x))

        def job(i):
            with g.fill_threads(1):
                self._fill_weight(layer, slot, w, i)
            np.matmul(w[i].T if transpose else w[i], x[i], out=out[i])

        self.run_nets(job)
        return out

    def bias(self, layer, slot):
        n_out = self.widths[layer]
        b = self.xp.empty((self.nets, n_out, 1), self.dtype)
        if self.sigma_b2 == 0:
            b[...] = 0
            return b
        for i, s in enumerate(self.seeds):
            g.normal(None, 0.0, math.sqrt(self.sigma_b2), seed=s, stream=8 * layer + slot,
                     out=b[i])
        return b

    def mask(self, layer, slot, shape):
        """Inverted-dropout multipliers (0 or 1 / (1 - p)), or None without dropout."""
        if self.dropout == 0:
            return None
        u = self.xp.empty((self.nets,) + shape, self.dtype)
        for i, s in enumerate(self.seeds):
            g.uniform(None, seed=s, stream=8 * layer + slot, out=u[i])
        return np.where(u >= self.dropout, 1.0 / (1.0 - self.dropout), 0.0).astype(self.dtype)

    def keep_branch(self, layer):
        """Stochastic depth: per network 0 (dropped) or 1 / (1 - p_sd)."""
        if self.sd == 0:
            return None
        keep = np.empty(self.nets)
        for i, s in enumerate(self.seeds):
            u = g.uniform((1,), seed=s, stream=8 * layer + _SD, dtype=np.float64)[0]
            keep[i] = 1.0 / (1.0 - self.sd) if u >= self.sd else 0.0
        return self.xp.asarray(keep.astype(self.dtype)[:, None, None])

    def forward(self, layer, h, t=None):
        """h^layer (and the tangent) from h^{layer-1} (the input x for layer 1); returns
        (h, t, saved) with what the backward pass needs."""
        if layer == 1:
            x = h if t is None else np.concatenate([h, t], axis=2)
            out = self.times_w(layer, _W, x)
            n_in = h.shape[2]
            hn = out[:, :, :n_in] + self.bias(layer, _B)
            return hn, (None if t is None else out[:, :, n_in:]), None
        f, ft = self._dense(layer, _W, _B, _DROP, h, t)
        inner = None
        if self.residual == "two":
            inner = f
            f, ft = self._dense(layer, _WB, _BB, _DROP_IN, inner, ft)
        if self.residual is None:
            return f, ft, (h, inner)
        keep = self.keep_branch(layer)
        scale = self.alpha if keep is None else self.alpha * keep
        hn = h + scale * f
        tn = None if t is None else t + scale * ft
        return hn, tn, (h, inner)

    def times_w(self, layer, slot, x):
        """W x for every network: W generated and multiplied ("dense"), or W x sampled
        directly ("gram", exact in distribution, O(N m^2)).  Gaussian W: the rows of W x
        are i.i.d. N(0, sigma_w^2 / N_in x^T x), sampled as (Z L^T) S with S the columns'
        norms and L L^T the correlation matrix (x S^-1)^T (x S^-1) (eigh): unit diagonal,
        so each column keeps its own relative accuracy however different the tracked
        vectors' scales (a tangent 1e16 times h would swamp h in the eigenvalues of
        x^T x itself).  W = sigma_w Haar: W x = sigma_w (W Q) R with x = Q R (Householder
        QR, column-wise backward stable) and W Q a uniform random orthonormal N x m frame
        (the Haar frame of a Gaussian N x m matrix)."""
        if self.method == "dense":
            return self.dense_product(layer, slot, x)
        n_out, n_in = self.widths[layer], x.shape[1]
        m = x.shape[2]
        out = self.xp.empty((self.nets, n_out, m), self.dtype)
        for i, s in enumerate(self.seeds):
            xi = x[i].astype(np.float64)
            if self.init == "gaussian":
                z = self.xp.asarray(g.normal((n_out, m), seed=s, stream=8 * layer + slot,
                                             dtype=np.float64))
                norms = np.sqrt(np.einsum("ij,ij->j", xi, xi))
                norms[norms == 0] = 1.0
                xs = xi / norms
                vals, vecs = np.linalg.eigh(xs.T @ xs)
                out[i] = (z @ (vecs * np.sqrt(np.maximum(vals, 0))).T) * \
                    (math.sqrt(self.sigma_w2 / n_in) * norms)
            else:  # orthogonal, n_out == n_in
                r = np.linalg.qr(xi, mode="r")  # (min(n_in, m), m)
                z = self.xp.asarray(g.normal((n_out, r.shape[0]), seed=s,
                                             stream=8 * layer + slot, dtype=np.float64))
                frame, rz = np.linalg.qr(z)
                frame *= np.where(np.diagonal(rz) < 0, -1.0, 1.0)  # Haar (Mezzadri 2007)
                out[i] = math.sqrt(self.sigma_w2) * (frame @ r)
        return out

    def run_nets(self, fn):
        """fn(i) for every network over the worker pool (each call releases the GIL in its
        numpy loops), or fn(slice(None)) once on the whole batch (GPU, no pool).  Floating
        point errors are quiet (errstate is per thread): non-finite statistics are reported
        once, by simulate."""
        if self.pool is None:
            fn(slice(None))
        else:
            def quiet(i):
                with np.errstate(all="ignore"):
                    fn(i)

            list(self.pool.map(quiet, range(self.nets)))

    def _dense(self, layer, w_slot, b_slot, drop_slot, h, t):
        """W D phi(h) + b and its tangent W D (phi'(h) t), one product for both: phi and
        phi' written per network, by the workers, into the product's input."""
        n_in = h.shape[2]
        m = self.mask(layer, drop_slot, h.shape[1:])
        x = self.xp.empty((self.nets, h.shape[1], n_in if t is None else 2 * n_in),
                          self.dtype)

        def prepare(i):
            x[i, ..., :n_in] = self.act.phi(h[i])
            if t is not None:
                x[i, ..., n_in:] = self.act.dphi(h[i]) * t[i]
            if m is not None:
                x[i, ..., :n_in] *= m[i]
                if t is not None:
                    x[i, ..., n_in:] *= m[i]

        self.run_nets(prepare)
        out = self.times_w(layer, w_slot, x)
        if self.sigma_b2 != 0:
            out[:, :, :n_in] += self.bias(layer, b_slot)
        return out[:, :, :n_in], (None if t is None else out[:, :, n_in:])

    def backward(self, layer, delta, saved):
        """delta^{layer-1} from delta^layer (layer >= 2), weights regenerated."""
        h, inner = saved
        n_in = self.widths[layer - 1]
        scale = None
        if self.residual is not None:
            keep = self.keep_branch(layer)
            scale = self.alpha if keep is None else self.alpha * keep
        branch = delta if scale is None else delta * scale
        if self.residual == "two":
            gi = self.dense_product(layer, _WB, branch, transpose=True)
            m2 = self.mask(layer, _DROP_IN, (self.widths[layer], delta.shape[2]))
            if m2 is not None:
                gi = gi * m2
            branch = self.act.dphi(inner) * gi
        ga = self.dense_product(layer, _W, branch, transpose=True)
        m = self.mask(layer, _DROP, (n_in, delta.shape[2]))
        if m is not None:
            ga = ga * m
        prev = self.act.dphi(h) * ga
        return prev if self.residual is None else delta + prev


def _stats(h, out_q, out_mean, out_c, run_nets):
    """q, mean and the pair correlations of h (nets, N, inputs) into host arrays, per
    network over the engine's workers (run_nets)."""
    pairs = out_c.shape[1]

    def one(i):
        hi = h[i]
        q = _sumsq(hi, hi, h.shape[1])
        out_q[i] = q
        out_mean[i] = _host(hi.mean(axis=-2, dtype=np.float64))
        if pairs:
            a, b = hi[..., 0:2 * pairs:2], hi[..., 1:2 * pairs:2]
            cross = _sumsq(a, b, h.shape[1])
            out_c[i] = cross / np.sqrt(q[..., 0:2 * pairs:2] * q[..., 1:2 * pairs:2])

    run_nets(one)


def _random_inputs(n0, n_inputs, q0, c0, seed, dtype):
    """Inputs with |x|^2 / N = q0 exactly and correlation exactly c0 within each pair."""
    x = np.empty((n0, n_inputs), np.float64)
    for k in range(0, n_inputs, 2):
        u, v = g.normal((2, n0), seed=seed, stream=_INPUT_STREAM + k, dtype=np.float64)
        e1 = u / np.linalg.norm(u)
        x[:, k] = math.sqrt(n0 * q0) * e1
        if k + 1 < n_inputs:
            v = v - (v @ e1) * e1
            e2 = v / np.linalg.norm(v)
            x[:, k + 1] = math.sqrt(n0 * q0) * (c0 * e1 + math.sqrt(1 - c0 * c0) * e2)
    return x.astype(dtype)


@contextlib.contextmanager
def _blas_one_thread(eng):
    """BLAS threads spin after each GEMM and halve the speed of the weight fills that
    follow (measured: 124 vs 71 ms per layer of 16 x 1024^2 fills).  With threadpoolctl
    installed, run BLAS single-threaded inside the simulation and give each of
    fastinit's threads whole networks: generate W, multiply, next (dense_product).
    Every BLAS the run uses is loaded before the cap (threadpoolctl caps the libraries
    loaded when it is entered).
    Without it, fill with all threads, then numpy's batched matmul."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    if eng.xp is not np:  # cuBLAS: one batched matmul
        yield
        return
    from concurrent.futures import ThreadPoolExecutor

    from . import _core

    if eng.init == "orthogonal" and eng.method == "dense":
        from . import _linalg

        _linalg.load_lapack()  # scipy's BLAS, loaded inside the cap, would escape it
    with threadpool_limits(1, user_api="blas"), \
            ThreadPoolExecutor(max(1, _core.get_num_threads())) as pool:
        eng.pool = pool
        try:
            yield
        finally:
            eng.pool = None


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
                      sd, dtype, seed, networks, method, xp)
        with _blas_one_thread(eng):
            return _run_engine(eng, depth, xp.asarray(x), track, progress, jacobian_at,
                               stop or (lambda: False))


def _jacobian_step(eng, layer, h_prev, jac):
    """dh^layer/dx of input 0 from dh^{layer-1}/dx (plain networks; W^layer is still in
    the engine's buffer after forward)."""
    n_out, n_in = eng.widths[layer], eng.widths[layer - 1]
    w = eng._wbuf[:eng.nets * n_out * n_in].reshape(eng.nets, n_out, n_in)
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
    _stats(h, q[0], mean[0], c[0], eng.run_nets)
    every = _checkpoint_every(depth)
    checkpoints = {0: h}
    done = 0
    interrupted = False
    bar = _Bar(depth, progress)
    jac, jsv = None, {}
    try:
        for layer in range(1, depth + 1):
            if stop():
                raise KeyboardInterrupt
            h_prev = h
            h, t, _ = eng.forward(layer, h, t)
            if jacobian_at and layer <= max(jacobian_at):
                jac = _jacobian_step(eng, layer, h_prev, jac)
                if layer in jacobian_at:
                    jsv[layer] = _host(np.linalg.svd(jac.astype(np.float64),
                                                     compute_uv=False))
            _stats(h, q[layer], mean[layer], c[layer], eng.run_nets)
            if t is not None:
                gf[layer] = _sumsq(t, t, h.shape[1])
            if want_bwd and layer % every == 0 and layer < depth:
                checkpoints[layer] = h
            done = layer
            bar.update(layer)
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


class _Bar:
    def __init__(self, total, enabled):
        self.total, self.enabled, self.start, self.last = total, enabled, time.perf_counter(), -1

    def update(self, done):
        if not self.enabled:
            return
        pct = int(100 * done / self.total)
        if pct != self.last:
            self.last = pct
            el = time.perf_counter() - self.start
            eta = el / done * (self.total - done)
            print(f"\r[{'#' * (pct // 4):<25}] layer {done}/{self.total} {el:.1f} s "
                  f"(eta {eta:.1f} s)", end="", file=sys.stderr, flush=True)

    def close(self):
        if self.enabled:
            print(file=sys.stderr)


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
    f = {k: check_real(v, k) for k, v in dict(dropout=dropout, stochastic_depth=sd, c0=c0,
                                               q0=q0, sigma_w2=sigma_w2, sigma_b2=sigma_b2,
                                               alpha=alpha).items()}
    if not 0 <= f["dropout"] < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    if not 0 <= f["stochastic_depth"] < 1:
        raise ValueError(f"stochastic_depth must be in [0, 1), got {sd}")
    if f["stochastic_depth"] and residual is None:
        raise ValueError("stochastic_depth needs residual='one' or 'two'")
    if not -1 <= f["c0"] <= 1 or not f["q0"] > 0:
        raise ValueError(f"need q0 > 0 and -1 <= c0 <= 1, got q0={q0}, c0={c0}")
    if not f["sigma_w2"] >= 0 or not f["sigma_b2"] >= 0:
        raise ValueError(f"sigma_w2 and sigma_b2 must be >= 0, got {sigma_w2}, {sigma_b2}")
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
    second moment), and the weights and biases must sit well inside the float range."""
    q_in = float(np.max(np.einsum("ij,ij->j", x, x, dtype=np.float64))) / x.shape[0]
    scale = max(math.sqrt(sigma_w2 * q_in + sigma_b2), math.sqrt(sigma_w2),
                math.sqrt(sigma_b2)) * max(1.0, abs(alpha))
    top = float(np.finfo(dtype).max)
    if not _RANGE_MARGIN * scale < top:
        raise ValueError(f"sigma_w2={sigma_w2}, sigma_b2={sigma_b2} (alpha={alpha}, inputs "
                         f"with q up to {q_in:.3g}) give values of order {scale:.3g}, "
                         f"beyond what {dtype.name} holds (max {top:.3g}): use "
                         "dtype=float64 or smaller parameters")


def available_memory() -> int:
    """Bytes of memory available: /proc/meminfo MemAvailable, else the physical memory."""
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
    objects); ``total`` their sum."""
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


class _SigintFlag:
    """A SIGINT handler: the first Ctrl-C sets ``event`` (the loops stop at the next layer
    boundary, so no KeyboardInterrupt lands inside a lock or a wait); a second one raises
    KeyboardInterrupt as usual."""

    def __init__(self):
        self.event = threading.Event()

    def __call__(self, signum, frame):
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()


@contextlib.contextmanager
def sigint_flag():
    """Ctrl-C as a flag (_SigintFlag) for the duration, in the main thread when SIGINT has
    Python's default handler (or already this one: the same flag); elsewhere a flag that
    only KeyboardInterrupt-free code paths ignore (KeyboardInterrupt is still caught)."""
    current = signal.getsignal(signal.SIGINT)
    if isinstance(current, _SigintFlag):
        yield current.event
        return
    if threading.current_thread() is not threading.main_thread() or \
            current is not signal.default_int_handler:
        yield threading.Event()
        return
    handler = _SigintFlag()
    signal.signal(signal.SIGINT, handler)
    try:
        yield handler.event
    finally:
        signal.signal(signal.SIGINT, current)


def _event_stop(name):
    """On a dask worker: a stop callable reading the client's Event ``name`` (at most
    every 0.2 s)."""
    from distributed import Event

    event, last = Event(name), [-math.inf]

    def stop():
        now = time.monotonic()
        if now - last[0] < 0.2:
            return False
        last[0] = now
        return event.is_set()

    return stop


def _run_on_client(client, args, nets, x, track, jacobian_at, method, backend, flag):
    """The ensemble split over the workers of ``client``, one part per worker.  Waits in
    short timeouts (Ctrl-C lands between them): on Ctrl-C (``flag``) the workers stop at
    their next layer and the parts are cut to the layers all completed, as locally.
    With no worker left for _NO_WORKERS_SECONDS: a RuntimeError.  Whatever happens
    (an error, a KeyboardInterrupt: a second Ctrl-C) no part is left on the cluster."""
    import uuid

    from distributed import Event, wait

    n_workers = len(client.scheduler_info()["workers"])
    if n_workers == 0:
        raise ValueError("client has no workers: start some (or client.wait_for_workers(n)) "
                         "before simulate(client=...)")
    parts = [nets[i::n_workers] for i in range(min(len(nets), n_workers))]
    name = f"fastinit-propagate-stop-{uuid.uuid4().hex}"
    event = Event(name, client=client)
    futures = client.map(_run, *[[a] * len(parts) for a in args], parts,
                         [x] * len(parts), [track] * len(parts), [False] * len(parts),
                         [jacobian_at] * len(parts), [method] * len(parts),
                         [backend] * len(parts), [name] * len(parts), pure=False)
    try:
        lonely = None
        while True:
            try:
                wait(futures, timeout=0.25)
                break
            except TimeoutError:
                pass
            if flag.is_set() and not event.is_set():
                event.set()
            if client.scheduler_info()["workers"]:
                lonely = None
            elif lonely is None:
                lonely = time.monotonic()
            elif time.monotonic() - lonely > _NO_WORKERS_SECONDS:
                raise RuntimeError(f"simulate(client=...): no dask worker left for "
                                   f"{_NO_WORKERS_SECONDS} s; the parts were cancelled")
        results = client.gather(futures)
    except BaseException:
        with contextlib.suppress(Exception):
            event.set()  # a part still running on a worker stops at its next layer
        raise
    else:
        if event.is_set():
            event.clear()
    finally:  # nothing left held on the cluster, whatever happened
        client.cancel(futures)
    keep = min(r[0].shape[0] for r in results)
    order = np.argsort(np.concatenate(parts))
    arrays = (np.concatenate([r[k][:keep] for r in results], axis=1)[:, order]
              for k in range(5))
    jsv = {d: np.concatenate([r[6][d] for r in results])[order]
           for d in results[0][6] if all(d in r[6] for r in results)}
    return (*arrays, any(r[5] for r in results), jsv)


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

    width : int, or depth + 1 ints (width[0] the input dimension)
    activation : linear, relu, leaky_relu, tanh, hardtanh, erf, sigmoid, selu, elu, gelu,
        silu/swish, softplus (``activation_param`` for their parameter), or a user
        (phi, dphi) pair / callable phi (scalar functions are compiled by Numba), or
        ``Activation(name, phi, dphi, kinks=(...))`` naming where phi' jumps, so that the
        theory's quadrature splits there
    init : gaussian | uniform | truncated_normal | orthogonal (all with variance
        sigma_w2 / fan_in; orthogonal is sigma_w times Haar)
    inputs : (width[0], n) array of finite values, or None for random inputs with q = q0
        exactly and correlation c0 exactly within each pair (2k, 2k + 1)
    track : any of "q", "c" (always computed; cheap), "grad" (= "grad_fwd" + "grad_bwd")
    client : a dask.distributed Client (with workers): the networks are spread over its
        workers; the result equals the local run bit for bit.
    jacobian_at : depths at which to record the singular values of the input-output
        Jacobian of input 0 (plain networks; costs a width x width x N_0 GEMM per layer)
    method : "dense" (generate each W, one GEMM per layer: O(N^2 m)), "gram" (sample
        W x directly from the m tracked vectors: O(N m^2), exact in distribution for
        gaussian and orthogonal weights; forward statistics only), or "auto" (gram when
        the weights allow it, no backward gradients or Jacobians are asked for, and
        m = inputs (+ tangents) is at most width / 8).  The two methods draw different
        random numbers: same law, not the same bits.
    backend : "cpu", or "cuda" / "cuda:N": the same engine on a GPU through CuPy (cuBLAS
        batched GEMMs, the fills of kernels/fill_cuda.cu: the weights have the CPU's bits,
        the products cuBLAS's rounding, so CPU and GPU agree statistically); user
        activations must then accept CuPy arrays (numpy functions dispatch to CuPy).

    Integers may be any numbers.Integral, reals must be finite; parameters whose first
    layer leaves the float range of ``dtype`` are refused, and so is an ensemble whose
    memory_estimate exceeds the available memory (MemoryError), all before any work.
    Statistics that become non-finite during the run (overflow, an activation returning
    NaN) give a RuntimeWarning and ``nonfinite_layer``.  Ctrl-C stops cleanly at the next
    layer (locally and over dask): the result holds the layers completed
    (``interrupted``).
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
    x = _random_inputs(widths[0], n_inputs, f["q0"], f["c0"], seed, dtype) \
        if inputs is None else inputs.astype(dtype)
    _check_range(x, dtype, sigma_w2, sigma_b2, alpha)
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
    hint = f"n_networks={len(nets)}, width={max(widths)}, depth={depth}, " \
           f"inputs={x.shape[1]}, {dtype.name}"
    if client is None:
        need = memory_estimate(depth, widths, len(nets), x.shape[1], dtype, track, method,
                               jacobian_at)
        if backend != "cpu":  # the buffers are on the device: the host keeps the statistics
            need = {"statistics": need["statistics"], "total": need["statistics"]}
        _check_memory(need, available_memory(), "here", hint)
    else:
        stats = memory_estimate(depth, widths, len(nets), x.shape[1])["statistics"]
        _check_memory({"statistics": 2 * stats, "total": 2 * stats}, available_memory(),
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
