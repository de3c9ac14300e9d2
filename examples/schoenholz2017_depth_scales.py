"""Schoenholz et al. 2017, "Deep information propagation": the correlation depth scale
xi_c diverges on the order-to-chaos line, and Monte Carlo 1 - c^l decays like
exp(-l / xi_c) in the ordered phase.

    python examples/schoenholz2017_depth_scales.py [out_dir]

Checks: xi_c is largest at the critical sigma_w^2 (tanh, sigma_b^2 = 0.05) and grows past
any bound there; a simulated network's 1 - c^l decays at the predicted rate.
"""


import sys
from pathlib import Path

import numpy as np

from fastinit import propagate, theory


def main(out_dir=".", quick=False):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sb2 = 0.05
    crit = theory.critical_sigma_w2("tanh", sb2)
    grid = crit * np.linspace(0.5, 1.5, 11 if quick else 41)
    xi = np.array([theory.depth_scales("tanh", s, sb2)[1] for s in grid])
    near = theory.depth_scales("tanh", 0.995 * crit, sb2)[1]
    checks = {"critical_sigma_w2": crit, "xi_c_at_0.995_crit": near,
              "xi_c_at_0.5_crit": float(xi[0])}
    assert near > 20 * xi[0]
    # ordered phase: 1 - c^l ~ exp(-l / xi_c)
    sw2 = 0.8 * crit
    xi_c = theory.depth_scales("tanh", sw2, sb2)[1]
    depth = int(4 * xi_c) + 2
    r = propagate.simulate(depth, 512 if quick else 2048, "tanh", "gaussian", sw2, sb2,
                           n_networks=2, n_inputs=2, c0=0.2, seed=2, track=("q", "c"))
    cm, _ = r.ensemble("c")
    layers = np.arange(depth // 2, depth + 1)
    slope = np.polyfit(layers, np.log(1 - cm[layers]), 1)[0]
    checks["mc_xi_c"], checks["theory_xi_c"] = -1 / slope, xi_c
    assert abs(-1 / slope / xi_c - 1) < 0.25
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return checks
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    ax[0].semilogy(grid, xi)
    ax[0].axvline(crit, color="k", ls="--", lw=0.8)
    ax[0].set(xlabel="sigma_w^2", ylabel="xi_c", title=f"tanh, sigma_b^2={sb2}")
    ax[1].semilogy(np.arange(depth + 1), 1 - cm, "o", ms=3, label="Monte Carlo")
    ax[1].semilogy(layers, (1 - cm[layers[0]]) * np.exp(-(layers - layers[0]) / xi_c),
                   label=f"exp(-l / {xi_c:.2f})")
    ax[1].set(xlabel="layer", ylabel="1 - c^l")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(out_dir / "schoenholz2017_depth_scales.png", dpi=110)
    return {k: float(v) if not isinstance(v, float) else v for k, v in checks.items()}


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))

