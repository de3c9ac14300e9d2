"""PropagationResult: the statistics of a run, their ensemble means, the mean-field
comparison, the summary, plots and files."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np


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
        from .. import theory

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
