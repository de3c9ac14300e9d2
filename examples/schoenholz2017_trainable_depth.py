"""Schoenholz, Gilmer, Ganguli & Sohl-Dickstein 2017, "Deep information propagation",
section 5: a random tanh network of depth L trains only when L is below a few correlation
depth scales xi_c, so the trainable depth diverges on the order-to-chaos line.

    python examples/schoenholz2017_trainable_depth.py [out_dir]       (needs torch)

Fully connected tanh networks (width 128, sigma_b^2 = 0.05) are initialized by fastinit
(W ~ N(0, sigma_w^2 / N), b ~ N(0, sigma_b^2)) over a grid of sigma_w^2 (0.5 to 3 times
critical) and depths, then trained by SGD (momentum 0.9, learning rate 10^-3, batches of
128) on a 10-class task: 512 Gaussian inputs in 64 dimensions labelled by a random linear
teacher.  The paper's MNIST/CIFAR-10 runs found the boundary at L ~ 6 xi_c.

Checks: every network with L >= 8 xi_c stays near chance (accuracy < 0.3; chance 0.1),
every network with L <= 2.5 xi_c (and every critical one) learns (accuracy >= 0.45), and
the critical networks learn at the largest depth.
"""

import math
import sys
from pathlib import Path

import numpy as np

from fastinit import theory
from fastinit.init import normal_

SIGMA_B2 = 0.05


def _task(n=512, dim=64, classes=10, seed=0):
    import torch

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, dim, generator=gen)
    return x, (x @ torch.randn(dim, classes, generator=gen)).argmax(1)


def _network(depth, width, dim, classes, sigma_w2, seed):
    import torch

    layers, fan_in = [], dim
    for layer in range(depth):
        lin = torch.nn.Linear(fan_in, width)
        normal_(lin.weight.detach(), 0.0, math.sqrt(sigma_w2 / fan_in),
                seed=seed * 10_000 + 2 * layer)
        normal_(lin.bias.detach(), 0.0, math.sqrt(SIGMA_B2), seed=seed * 10_000 + 2 * layer + 1)
        layers += [lin, torch.nn.Tanh()]
        fan_in = width
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, classes))


def _train_accuracy(model, x, y, steps, seed):
    import torch

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    for _ in range(steps):
        idx = torch.randint(0, x.shape[0], (128,), generator=gen)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def main(out_dir=".", quick=False):
    import torch

    torch.manual_seed(0)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    crit = theory.critical_sigma_w2("tanh", SIGMA_B2)
    if quick:  # one trainable and one untrainable network
        width, steps, grid = 64, 500, [(1.0, 12), (0.5, 30)]
    else:
        width, steps = 128, 500
        grid = [(f, depth) for f in (0.5, 0.75, 1.0, 1.5, 3.0) for depth in (10, 25, 60)]
    x, y = _task()
    rows = []
    for f, depth in grid:
        xi_c = theory.depth_scales("tanh", f * crit, SIGMA_B2)[1]
        model = _network(depth, width, x.shape[1], 10, f * crit, seed=depth)
        rows.append((f, depth, xi_c, _train_accuracy(model, x, y, steps, seed=1)))
    checks = {f"acc_{f}xcrit_L{depth}": acc for f, depth, _, acc in rows}
    for f, depth, xi_c, acc in rows:
        if depth >= 8 * xi_c:
            assert acc < 0.3, (f, depth, xi_c, acc)
        if depth <= 2.5 * xi_c:
            assert acc >= 0.45, (f, depth, xi_c, acc)
    deepest = max(depth for _, depth, _, _ in rows)
    assert all(acc >= 0.45 for f, depth, _, acc in rows if f == 1.0 and depth == deepest)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return checks
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    fs = np.array([r[0] for r in rows]) * crit
    sc = ax.scatter(fs, [r[1] for r in rows], c=[r[3] for r in rows], cmap="viridis",
                    vmin=0.1, vmax=1.0, s=160, marker="s")
    line = crit * np.linspace(0.45, 3.2, 40)
    ax.plot(line, [6 * theory.depth_scales("tanh", s, SIGMA_B2)[1] for s in line], "k--",
            lw=0.9, label="6 xi_c (mean field)")
    ax.set(xlabel="sigma_w^2", ylabel="depth L", ylim=(0, 1.3 * max(r[1] for r in rows)),
           title=f"training accuracy after {steps} SGD steps (tanh)")
    ax.legend(loc="upper right", fontsize=8)
    fig.colorbar(sc, label="accuracy")
    fig.tight_layout()
    fig.savefig(out_dir / "schoenholz2017_trainable_depth.png", dpi=110)
    return checks


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))
