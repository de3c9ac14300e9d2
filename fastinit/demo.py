"""The order-to-chaos picture in one figure: the mean-field phase diagram of deep tanh
networks (:func:`fastinit.theory.phase_diagram`) beside Monte Carlo networks 1,000 layers
deep (:func:`fastinit.propagate.simulate`) at an ordered, a critical and a chaotic point,
each over its mean-field prediction (``fastinit demo --out fastinit_demo.png``)."""

from __future__ import annotations

import math
import time

import numpy as np

from . import propagate, theory
from ._validate import check_int

_COLORS = {"ordered": "#2166ac", "critical": "#1b7837", "chaotic": "#b2182b"}


def _points(sigma_b2):
    crit = theory.critical_sigma_w2("tanh", sigma_b2)
    return {"ordered": 0.55 * crit, "critical": crit, "chaotic": 1.8 * crit}


def demo_figure(path="fastinit_demo.png", *, depth=1000, width=256, networks=8,
                sigma_b2=0.05, seed=0, grid=64, dpi=110) -> dict:
    """Draw the figure to ``path`` (PNG; needs matplotlib) and return the numbers behind
    it: {"points": {name: {sigma_w2, chi1, q_star, c_star, xi_q, xi_c, q_mc, c_mc,
    chi_mc, ...}}, "seconds": {...}}.

    Left: chi_1 over (sigma_w^2, sigma_b^2) (blue ordered, red chaotic), the critical line
    chi_1 = 1 and contours of the correlation depth xi_c, with the three points at
    ``sigma_b2`` (0.55x, 1x and 1.8x the critical sigma_w^2).  Right, one row a point:
    q^l, c^l and the squared norm of a forward gradient (Jacobian-vector product)
    through ``depth`` layers of ``networks`` tanh networks of ``width`` units (float64,
    Gaussian weights, each W drawn in full: the picture shows the plain Monte Carlo), the
    ensemble mean with a band of 2 standard errors over networks, and the mean-field
    recursion (:func:`fastinit.theory.predicted`)."""
    for name, value in (("depth", depth), ("width", width), ("networks", networks),
                        ("grid", grid)):
        check_int(value, name, 2)
    if not (isinstance(sigma_b2, (int, float)) and 0 <= sigma_b2 <= 1):
        raise ValueError(f"sigma_b2 must be in [0, 1], got {sigma_b2!r}")
    from matplotlib.colors import TwoSlopeNorm
    from matplotlib.figure import Figure

    t0 = time.perf_counter()
    sw = np.linspace(0.3, 4.5, grid)
    sb = np.linspace(0.0, 1.0, grid)
    pd = theory.phase_diagram("tanh", sw, sb)
    t_pd = time.perf_counter() - t0

    points = {}
    t1 = time.perf_counter()
    for name, s in _points(sigma_b2).items():
        r = propagate.simulate(depth, width, "tanh", "gaussian", s, sigma_b2,
                               n_networks=networks, n_inputs=2, q0=1.0, c0=0.5,
                               track=("q", "c", "grad_fwd"), dtype=np.float64, seed=seed,
                               method="dense")
        th = r.compare_theory()
        xi_q, xi_c = theory.depth_scales("tanh", s, sigma_b2)
        points[name] = dict(
            sigma_w2=s, sigma_b2=sigma_b2, chi1=theory.chi1("tanh", s, sigma_b2),
            q_star=theory.q_star("tanh", s, sigma_b2),
            c_star=theory.c_star("tanh", s, sigma_b2), xi_q=xi_q, xi_c=xi_c,
            q_mc=r.ensemble("q"), c_mc=r.ensemble("c"), q_th=th["q_theory"],
            c_th=th["c_theory"], g_th=th["grad_fwd_theory"], g_mc=r.ensemble("grad_fwd"),
            chi_mc=r.chi_forward())
    t_mc = time.perf_counter() - t1

    fig = Figure(figsize=(16, 8.6), layout="constrained")
    outer = fig.add_gridspec(1, 2, width_ratios=[1.05, 1.95])
    ax = fig.add_subplot(outer[0])
    log_chi = np.log10(pd["chi1"])
    lim = float(np.nanmax(np.abs(log_chi)))
    mesh = ax.pcolormesh(sw, sb, log_chi, cmap="RdBu_r", shading="auto",
                         norm=TwoSlopeNorm(0.0, -lim, lim))
    cb = fig.colorbar(mesh, ax=ax, location="bottom", shrink=0.9, pad=0.02)
    cb.set_label(r"$\log_{10}\chi_1$   ($\chi_1$: growth of $|$gradient$|^2$ per layer)")
    levels = [2, 5, 10, 20, 50]
    cs = ax.contour(sw, sb, np.where(np.isfinite(pd["xi_c"]), pd["xi_c"], 1e9), levels,
                    colors="0.25", linewidths=0.8, linestyles="dotted")
    ax.clabel(cs, fmt=lambda v: rf"$\xi_c$={v:g}", fontsize=8)
    line_b = np.r_[0.0, np.geomspace(1e-5, sb[-1], 120)]
    ax.plot(theory.critical_line("tanh", line_b), line_b, color="black",
            lw=2.5, label=r"critical line $\chi_1 = 1$ ($\xi_c = \infty$)")
    for name, p in points.items():
        ax.plot(p["sigma_w2"], sigma_b2, "o", ms=11, mec="white", mew=2,
                color=_COLORS[name], label=f"{name}: $\\sigma_w^2$={p['sigma_w2']:.2f}")
    ax.text(0.04, 0.96, "ORDERED\ninputs merge", transform=ax.transAxes, va="top",
            color="white", fontsize=12, fontweight="bold")
    ax.text(0.96, 0.96, "CHAOTIC\ninputs decorrelate", transform=ax.transAxes, va="top",
            ha="right", color="#67001f", fontsize=12, fontweight="bold")
    ax.set_xlabel(r"$\sigma_w^2$ (weight variance $\times$ fan-in)")
    ax.set_ylabel(r"$\sigma_b^2$ (bias variance)")
    ax.set_title("Deep tanh networks: mean-field phase diagram\n"
                 r"dotted: correlation depth $\xi_c$ (layers over which two inputs' "
                 "correlation relaxes)", fontsize=11)
    ax.legend(loc="center left", fontsize=9, framealpha=0.9)

    right = outer[1].subgridspec(3, 3)
    layers = np.arange(depth + 1)
    z = 2.0
    for row, (name, p) in enumerate(points.items()):
        color = _COLORS[name]
        axes = [fig.add_subplot(right[row, k]) for k in range(3)]
        for a, key, label in ((axes[0], "q", r"$q^l$ (pre-activation variance)"),
                              (axes[1], "c", r"$c^l$ (correlation of two inputs)")):
            m, s = p[f"{key}_mc"]
            a.fill_between(layers[1:], (m - z * s)[1:], (m + z * s)[1:], color=color,
                           alpha=0.3, lw=0, label=f"Monte Carlo ±{z:g} s.e.")
            a.plot(layers[1:], m[1:], color=color, lw=1.2)
            a.plot(layers[1:], p[f"{key}_th"][1:], "k--", lw=1.2, label="mean-field theory")
            a.set_xscale("log")
            if row == 0:
                a.set_title(label, fontsize=10)
        m, s = p["g_mc"]
        a = axes[2]
        a.fill_between(layers[1:], np.maximum(m - z * s, m / 10)[1:], (m + z * s)[1:],
                       color=color, alpha=0.3, lw=0)
        a.plot(layers[1:], m[1:], color=color, lw=1.2)
        a.plot(layers[1:], p["g_th"][1:], "k--", lw=1.2)
        a.set_yscale("log")
        a.set_xscale("log")
        if row == 0:
            a.set_title(r"$|J v|^2$ (squared gradient norm)", fontsize=10)
        axes[0].set_ylabel(f"{name}\n" + rf"$\chi_1$={p['chi1']:.3f}", color=color,
                           fontsize=11, fontweight="bold")
        axes[1].text(0.97, 0.05, rf"$\xi_c$={p['xi_c']:.3g}" if p["xi_c"] < 1e6
                     else r"$\xi_c=\infty$", transform=axes[1].transAxes, ha="right",
                     fontsize=9)
        axes[2].text(0.97, 0.05, f"MC {p['chi_mc']:.4f}/layer\ntheory {p['chi1']:.4f}",
                     transform=axes[2].transAxes, ha="right", fontsize=8)
        if row == 0:
            axes[0].legend(fontsize=8, loc="best")
        if row == 2:
            for a in axes:
                a.set_xlabel("layer l")
    fig.suptitle(f"fastinit: {networks} random tanh networks, width {width}, {depth} layers "
                 r"— Monte Carlo (colour) vs mean-field theory (dashed)", fontsize=13)
    fig.savefig(path, dpi=dpi)
    return {"points": points, "path": str(path),
            "seconds": {"phase_diagram": t_pd, "monte_carlo": t_mc,
                        "total": time.perf_counter() - t0}}


def summary(result) -> str:
    """The printed summary of :func:`demo_figure`'s result."""
    lines = ["point      sigma_w2 sigma_b2   chi_1     q*      c*     xi_q     xi_c   "
             "| MC at last layer: q       c     chi/layer"]
    for name, p in result["points"].items():
        qm, cm = p["q_mc"][0][-1], p["c_mc"][0][-1]
        lines.append(f"{name:<10} {p['sigma_w2']:8.4f} {p['sigma_b2']:8.3f} {p['chi1']:7.4f} "
                     f"{p['q_star']:7.4f} {p['c_star']:7.4f} {p['xi_q']:8.3g} "
                     f"{p['xi_c'] if p['xi_c'] < 1e6 else math.inf:8.3g} "
                     f"|  {qm:8.4f} (th {p['q_th'][-1]:.4f}) {cm:7.4f} (th "
                     f"{p['c_th'][-1]:.4f}) {p['chi_mc']:.4f}")
    s = result["seconds"]
    lines.append(f"figure: {result['path']} (phase diagram {s['phase_diagram']:.1f} s, "
                 f"Monte Carlo {s['monte_carlo']:.1f} s, total {s['total']:.1f} s)")
    return "\n".join(lines)
