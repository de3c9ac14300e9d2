"""Xiao et al. 2018, "Dynamical isometry and a mean field theory of CNNs: how to train
10,000-layer vanilla convolutional neural networks": delta-orthogonal kernels (an
orthogonal channel matrix at the kernel's centre, zeros elsewhere) make a deep circular
1-D CNN an isometry, while Gaussian kernels at the same variance mix spatial positions
and wash out the input's spatial structure.

    python examples/xiao2018_delta_orthogonal_cnn.py [out_dir]

Model: h^{l+1}[:, s] = sum_j W_j^T phi(h^l[:, s + j - k // 2 mod S]) + b, channels C,
length S, kernel k; W from fastinit.init.delta_orthogonal_ (jax layout (k, in, out)) or
N(0, sigma_w^2 / (k C)).  Checks: with linear activations, delta-orthogonal keeps every
position's norm and the input's spatial correlation pattern exactly through the whole
depth (1,000 layers); Gaussian kernels do not: the mean correlation between positions
moves from the input's 0.72 to about -1 / (S - 1), that of a signal with no spatially
uniform part (measured; the paper's mean-field analysis describes this mixing).
"""

import sys
from pathlib import Path

import numpy as np

import fastinit
from fastinit import init


def _conv(w, a):
    """Circular 1-D convolution: w (k, C_in, C_out), a (C_in, S) -> (C_out, S)."""
    k = w.shape[0]
    out = np.zeros((w.shape[2], a.shape[1]), a.dtype)
    for j in range(k):
        out += w[j].T @ np.roll(a, k // 2 - j, axis=1)
    return out


def _spatial_corr(h):
    """Mean correlation between distinct positions (columns) of h (C, S)."""
    g = h.T @ h
    d = np.sqrt(np.diag(g))
    c = g / np.outer(d, d)
    s = c.shape[0]
    return float((c.sum() - s) / (s * (s - 1)))


def run(kernel_init, depth, channels, length, k, phi, seed):
    x = fastinit.normal((channels, length), seed=seed, stream=10**6, dtype=np.float64)
    x += 2.0 * fastinit.normal((channels, 1), seed=seed, stream=10**6 + 1, dtype=np.float64)
    h, q, corr = x.copy(), [], []
    w = np.empty((k, channels, channels))
    for layer in range(depth):
        if kernel_init == "delta_orthogonal":
            init.delta_orthogonal_(w, gain=1.0, centre="torch", seed=seed + layer)
        else:
            fastinit.normal(None, 0.0, (1.0 / (k * channels)) ** 0.5, seed=seed, stream=layer,
                            out=w)
        h = _conv(w, phi(h) if layer else h)
        q.append((h * h).mean(axis=0))
        corr.append(_spatial_corr(h))
    return x, np.array(q), np.array(corr)


def main(out_dir=".", quick=False):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    depth = 200 if quick else 1000
    channels, length, k = (32, 16, 3)

    def linear(a):
        return a

    x, q_do, c_do = run("delta_orthogonal", depth, channels, length, k, linear, 1)
    _, q_g, c_g = run("gaussian", depth, channels, length, k, linear, 1)
    q0 = (x * x).mean(axis=0)
    checks = {"delta_orthogonal_max_norm_error": float(np.abs(q_do / q0 - 1).max()),
              "delta_orthogonal_corr_change": float(abs(c_do[-1] - _spatial_corr(x))),
              "gaussian_final_spatial_corr": float(c_g[-1]),
              "input_spatial_corr": _spatial_corr(x)}
    assert checks["delta_orthogonal_max_norm_error"] < 1e-9
    assert checks["delta_orthogonal_corr_change"] < 1e-9
    assert checks["input_spatial_corr"] > 0.5 and abs(c_g[-1] + 1 / (length - 1)) < 0.1
    _, q_tanh, c_tanh = run("delta_orthogonal", depth, channels, length, k, np.tanh, 2)
    checks["delta_orthogonal_tanh_final_q"] = float(q_tanh[-1].mean())
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return checks
    fig, ax = plt.subplots(1, 2, figsize=(9, 3.6))
    layers = np.arange(1, depth + 1)
    ax[0].loglog(layers, q_do.mean(axis=1), label="delta-orthogonal, linear")
    ax[0].loglog(layers, q_g.mean(axis=1), label="Gaussian, linear")
    ax[0].loglog(layers, q_tanh.mean(axis=1), label="delta-orthogonal, tanh")
    ax[0].set(xlabel="layer", ylabel="q (mean over positions)")
    ax[0].legend(fontsize=8)
    ax[1].semilogx(layers, c_do, label="delta-orthogonal")
    ax[1].semilogx(layers, c_g, label="Gaussian")
    ax[1].set(xlabel="layer", ylabel="mean spatial correlation")
    ax[1].legend(fontsize=8)
    fig.suptitle(f"circular 1-D CNN, C={channels}, S={length}, k={k}")
    fig.tight_layout()
    fig.savefig(out_dir / "xiao2018_delta_orthogonal_cnn.png", dpi=110)
    return checks


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))
