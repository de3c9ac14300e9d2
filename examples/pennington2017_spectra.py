"""Pennington, Schoenholz & Ganguli 2017, "Resurrecting the sigmoid in deep learning
through dynamical isometry": the spectrum of the input-output Jacobian J of deep networks
at criticality, Gaussian vs orthogonal weights, linear / tanh / relu, Monte Carlo beside
the free-probability density (fastinit.theory.jacobian_spectrum).

    python examples/pennington2017_spectra.py [out_dir]

Checks, as the paper states them:
- orthogonal linear networks are exactly isometric: every singular value is 1;
- Gaussian linear networks: the squared singular values have mean 1 and variance L (the
  Fuss-Catalan law), so the spectrum spreads with depth;
- tanh with orthogonal weights approaches isometry as q* -> 0: the variance of the
  squared singular values is (L - 1)(mu_2 / mu_1^2 - 1) -> 0 (theory at q* = 1/64 and
  1/4, and the Monte Carlo at 1/64 within its standard error);
- relu cannot: mu_2 / mu_1^2 = 2, variance >= L - 1 with either weights;
- the Monte Carlo moments agree with the free-probability moments (4 standard errors
  plus an O(L / N) finite-width term).
"""

import math
import sys
from pathlib import Path

import numpy as np

from fastinit import propagate, theory


def _case(act, init, depth, width, nets, q_star):
    if act == "tanh":
        sw, sb = theory.critical_point("tanh", q_star)
    else:
        sw, sb = (2.0, 0.0) if act == "relu" else (1.0, 0.0)
    q = theory.q_star(act, sw, sb) or 1.0
    r = propagate.simulate(depth, width, act, init, sw, sb, n_inputs=1, q0=(q - sb) / sw,
                           n_networks=nets, seed=3, dtype=np.float64, track=("q",),
                           jacobian_at=(depth,), method="dense")
    return sw, sb, r.jacobian_sv[depth] ** 2


def main(out_dir=".", quick=False):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    width, depth, nets = (96, 8, 3) if quick else (400, 32, 6)
    checks, panels = {}, []
    for act in ("linear", "tanh", "relu"):
        for init in ("gaussian", "orthogonal"):
            sw, sb, s2 = _case(act, init, depth, width, nets, 1 / 64)
            m1, m2 = theory.jacobian_moments(act, init, sw, sb, depth, k=2)
            per_net = s2.mean(axis=1), (s2**2).mean(axis=1)
            for k, (est, exact) in enumerate(zip(per_net, (m1, m2), strict=True), 1):
                se = est.std(ddof=1) / math.sqrt(nets)
                checks[f"{act}_{init}_m{k}"] = float(est.mean())
                assert abs(est.mean() - exact) <= 4 * se + k * depth / width * exact + 1e-9, \
                    (act, init, k, est.mean(), exact)
            checks[f"{act}_{init}_var_theory"] = m2 / m1**2 - 1
            panels.append((act, init, sw, sb, s2))
    assert np.abs(panels[1][4] - 1).max() < 1e-9  # orthogonal linear: isometry
    assert abs(checks["linear_gaussian_var_theory"] - depth) < 1e-9  # Fuss-Catalan
    wide = theory.critical_point("tanh", 0.25)
    m1, m2 = theory.jacobian_moments("tanh", "orthogonal", *wide, depth, k=2)
    checks["tanh_orthogonal_var_theory_q0.25"] = m2 / m1**2 - 1
    assert checks["tanh_orthogonal_var_theory"] < 0.05 * depth  # q* = 1/64: near isometry
    assert checks["tanh_orthogonal_var_theory"] < checks["tanh_orthogonal_var_theory_q0.25"]
    assert checks["tanh_gaussian_var_theory"] > depth
    assert abs(checks["relu_orthogonal_var_theory"] - (depth - 1)) < 1e-9
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return checks
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.8), sharex=True)
    bins = np.linspace(-8, 3, 89)
    for (act, init, sw, sb, s2), ax in zip(panels, axes.T.ravel(), strict=True):
        logs = np.log10(np.clip(s2.ravel(), 1e-300, None))
        # normalized over all values (relu's zeros and the tail below 10^-8 fall outside)
        ax.hist(logs, bins=bins, weights=np.full(logs.size, 1 / (logs.size * np.diff(bins)[0])),
                alpha=0.5, label="Monte Carlo")
        if act == "linear" and init == "orthogonal":
            ax.axvline(0, color="k", lw=1, label="theory: all 1")
        else:
            s = theory.jacobian_spectrum(act, init, sw, sb, depth,
                                         lam=np.logspace(-8, 3, 600))
            # density of log10(lambda): rho(lambda) lambda ln 10
            ax.plot(np.log10(s["lam"]), s["density"] * s["lam"] * math.log(10), "k", lw=1,
                    label="free probability")
        ax.set_title(f"{act}, {init}", fontsize=9)
    axes[1, 0].set_xlabel("log10 squared singular value of J")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"depth {depth}, width {width}, at criticality (tanh: q* = 1/64)")
    fig.tight_layout()
    fig.savefig(out_dir / "pennington2017_spectra.png", dpi=110)
    return checks


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))
