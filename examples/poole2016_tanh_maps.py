"""Poole et al. 2016, "Exponential expressivity in deep neural networks through transient
chaos": the length (q) map and the correlation (c) map of tanh networks, theory beside
Monte Carlo, and the order-to-chaos line chi_1 = 1.

    python examples/poole2016_tanh_maps.py [out_dir]

Checks: the critical line passes through sigma_w^2 = 1 at sigma_b^2 = 0 (tanh'(0) = 1);
the Monte Carlo q^l of width-4096 networks follows the q-map iteration within 5 standard
errors of the ensemble mean at every layer.
"""

import sys
from pathlib import Path

import numpy as np

from fastinit import propagate, theory


def main(out_dir=".", quick=False):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    sigma_b2 = 0.3
    checks = {"critical_sigma_w2_at_sigma_b2_0": theory.critical_sigma_w2("tanh", 0.0)}
    assert abs(checks["critical_sigma_w2_at_sigma_b2_0"] - 1.0) < 1e-6
    width, depth, nets = (512, 8, 4) if quick else (4096, 15, 6)
    worst = 0.0
    curves = {}
    for sw2 in (1.0, 2.5, 4.0):
        r = propagate.simulate(depth, width, "tanh", "gaussian", sw2, sigma_b2,
                               n_networks=nets, n_inputs=2, q0=3.0, c0=0.6, seed=1,
                               track=("q", "c"))
        cmp = r.compare_theory()
        qm, _ = r.ensemble("q")
        worst = max(worst, float(np.max(np.abs(cmp["q_z"][1:]))))
        curves[sw2] = (qm, cmp["q_theory"], r.ensemble("c")[0], cmp["c_theory"])
    checks["max_abs_z_mc_vs_theory"] = worst  # in standard errors of the ensemble mean
    assert worst < 5
    sb2 = np.linspace(0.0, 0.5, 6 if quick else 26)
    line = [theory.critical_sigma_w2("tanh", b) for b in sb2]
    checks["critical_sigma_w2_at_sigma_b2_0.05"] = theory.critical_sigma_w2("tanh", 0.05)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return checks
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8))
    qs = np.linspace(0, 15, 61)
    for sw2 in (1.0, 2.5, 4.0):
        ax[0].plot(qs, [theory.qmap(q, "tanh", sw2, sigma_b2) for q in qs],
                   label=f"sigma_w^2={sw2}")
        qm, qt, cm, ct = curves[sw2]
        ax[1].plot(qm, "o", ms=3)
        ax[1].plot(qt, "-", label=f"sigma_w^2={sw2}")
        ax[2].plot(cm, "o", ms=3)
        ax[2].plot(ct, "-")
    ax[0].plot(qs, qs, "k--", lw=0.8)
    ax[0].set(xlabel="q^{l-1}", ylabel="q^l", title=f"q-map, tanh, sigma_b^2={sigma_b2}")
    ax[1].set(xlabel="layer", ylabel="q^l", title="Monte Carlo (dots) vs theory")
    ax[2].set(xlabel="layer", ylabel="c^l", title="correlation")
    ax[0].legend()
    fig.tight_layout()
    fig.savefig(out_dir / "poole2016_tanh_maps.png", dpi=110)
    fig2, ax2 = plt.subplots(figsize=(4.5, 3.6))
    ax2.plot(line, sb2)
    ax2.set(xlabel="sigma_w^2", ylabel="sigma_b^2", title="order (left) / chaos (right)")
    fig2.tight_layout()
    fig2.savefig(out_dir / "poole2016_critical_line.png", dpi=110)
    return checks


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))
