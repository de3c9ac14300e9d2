"""Pennington, Schoenholz & Ganguli 2017, "Resurrecting the sigmoid in deep learning
through dynamical isometry": singular values of the input-output Jacobian of deep linear
networks at criticality, Gaussian vs orthogonal weights.

    python examples/pennington2017_spectra.py [out_dir]

Checks (free probability): orthogonal weights give every singular value exactly 1
(dynamical isometry); Gaussian weights give squared singular values with mean 1 and second
moment L + 1 (the Fuss-Catalan moments of a product of L square Ginibre matrices), so the
spectrum spreads with depth.
"""

import sys
from pathlib import Path

import numpy as np

from fastinit import propagate


def main(out_dir=".", quick=False):
    out_dir = Path(out_dir)
    width, depth, nets = (64, 8, 6) if quick else (256, 32, 8)
    checks = {}
    spectra = {}
    for init in ("gaussian", "orthogonal"):
        r = propagate.simulate(depth, width, "linear", init, 1.0, 0.0, n_networks=nets,
                               n_inputs=1, seed=3, dtype=np.float64, track=("q",),
                               jacobian_at=(depth,), method="dense")
        s2 = r.jacobian_sv[depth] ** 2
        spectra[init] = np.sqrt(s2).ravel()
        checks[f"{init}_mean_s2"] = float(s2.mean())
        checks[f"{init}_mean_s4"] = float((s2**2).mean())
    assert abs(checks["orthogonal_mean_s2"] - 1) < 1e-9
    assert abs(checks["orthogonal_mean_s4"] - 1) < 1e-9
    # Gaussian: E s^2 = 1, E s^4 = L + 1 at infinite width; finite-size error ~ L^2 / N
    tol = 0.25 if quick else 0.15
    assert abs(checks["gaussian_mean_s2"] - 1) < tol
    assert abs(checks["gaussian_mean_s4"] / (depth + 1) - 1) < 2 * tol
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return checks
    fig, ax = plt.subplots(figsize=(5, 3.6))
    bins = np.logspace(-4, 1.5, 60)
    for init, s in spectra.items():
        ax.hist(s, bins=bins, alpha=0.6, label=init, density=True)
    ax.set_xscale("log")
    ax.set(xlabel="singular value of J", title=f"linear, depth {depth}, width {width}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "pennington2017_spectra.png", dpi=110)
    return checks


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))
