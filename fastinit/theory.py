"""Mean-field theory of signal propagation in wide random networks (Poole et al. 2016;
Schoenholz et al. 2017), beside the Monte Carlo of :mod:`fastinit.propagate`.

For h^l = W^l phi(h^{l-1}) + b^l with W_ij ~ (0, sigma_w^2 / N), b_i ~ N(0, sigma_b^2),
as N -> infinity:

- q-map:  q^{l+1} = V(q^l) = sigma_w^2 / rho E[phi(sqrt(q) z)^2] + sigma_b^2, z ~ N(0, 1),
  rho the dropout keep probability (inverted dropout: 1 - p); fixed point q*.
- c-map:  c^{l+1} = C(c^l) = (sigma_w^2 E[phi(u_1) phi(u_2)] + sigma_b^2) / q* with
  u_1 = sqrt(q*) z_1, u_2 = sqrt(q*)(c z_1 + sqrt(1 - c^2) z_2); fixed point c*.
- chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]: the slope of C at c = 1 (order < 1 < chaos) and
  the per-layer growth of |gradient|^2 (the gradient variance recursion
  q~^l = chi_1 q~^{l+1}).
- depth scales: xi_q = -1 / log(sigma_w^2 E[phi'(u)^2 + phi''(u) phi(u)]) at q*, and
  xi_c = -1 / log(sigma_w^2 E[phi'(u_1) phi'(u_2)]) at c* (Schoenholz et al. eqs. 5, 9).

Expectations by Gauss-Hermite quadrature (``points`` nodes per dimension), with closed
forms for relu, erf and linear.  Activations as in :mod:`fastinit.propagate` (names or
(phi, dphi) pairs); phi'' by central differences of phi'.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _activations

POINTS = 121


@functools.cache
def _nodes(points=POINTS):
    x, w = np.polynomial.hermite_e.hermegauss(points)
    return x, w / math.sqrt(2 * math.pi)


def _act(activation, param=None):
    act = _activations.get(activation, param)
    if act.dphi is None:
        raise ValueError("theory needs the activation's derivative: pass (phi, dphi)")
    return act


def _closed(act):
    """The closed-form kernels available for ``act``, keyed by the activation's name."""
    return act.name if act.name in ("relu", "erf", "linear") else None


def second_moment(activation, q, param=None, points=POINTS) -> float:
    """E[phi(sqrt(q) z)^2]."""
    act = _act(activation, param)
    kind = _closed(act)
    if kind == "relu":
        return q / 2
    if kind == "linear":
        return q
    if kind == "erf":
        return 2 / math.pi * math.asin(2 * q / (1 + 2 * q))
    x, w = _nodes(points)
    return float(w @ act.phi(math.sqrt(q) * x) ** 2)


def cross_moment(activation, q, c, param=None, points=POINTS) -> float:
    """E[phi(u_1) phi(u_2)] for (u_1, u_2) Gaussian with variances q and correlation c."""
    act = _act(activation, param)
    c = min(1.0, max(-1.0, c))
    kind = _closed(act)
    if kind == "relu":  # arc-cosine kernel of degree 1 (Cho & Saul 2009)
        return q / (2 * math.pi) * (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c)
    if kind == "linear":
        return q * c
    if kind == "erf":
        return 2 / math.pi * math.asin(2 * q * c / (1 + 2 * q))
    x, w = _nodes(points)
    z1, z2 = x[:, None], x[None, :]
    u1 = math.sqrt(q) * z1
    u2 = math.sqrt(q) * (c * z1 + math.sqrt(max(0.0, 1 - c * c)) * z2)
    return float(w @ (act.phi(u1) * act.phi(u2)) @ w)


def qmap(q, activation, sigma_w2, sigma_b2, *, dropout=0.0, param=None) -> float:
    """V(q) = sigma_w^2 / (1 - p) E[phi(sqrt(q) z)^2] + sigma_b^2."""
    return sigma_w2 / (1 - dropout) * second_moment(activation, q, param) + sigma_b2


def q_star(activation, sigma_w2, sigma_b2, *, dropout=0.0, param=None, q0=1.0,
           method="bisect", tol=1e-13, max_iter=100_000) -> float:
    """The fixed point q* of the q-map: by bisection of V(q) - q on (0, q_hi] ("bisect",
    0 when V(q) <= q near 0), or by iterating V from q0 ("iterate"; slow on the critical
    line, where q^l approaches q* = 0 like 1 / l)."""
    if method == "iterate":
        q = float(q0)
        for _ in range(max_iter):
            nxt = qmap(q, activation, sigma_w2, sigma_b2, dropout=dropout, param=param)
            if abs(nxt - q) <= tol * max(1.0, q):
                return nxt
            if not math.isfinite(nxt) or nxt > 1e300:
                return math.inf
            q = nxt
        return q
    if method != "bisect":
        raise ValueError(f"method must be 'iterate' or 'bisect', got {method!r}")
    def f(q):
        return qmap(q, activation, sigma_w2, sigma_b2, dropout=dropout, param=param) - q

    lo, hi = 1e-300, 1.0
    if f(lo) <= 0:
        return 0.0
    while f(hi) > 0:
        hi *= 2
        if hi > 1e12:
            return math.inf
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def cmap(c, q, activation, sigma_w2, sigma_b2, *, param=None) -> float:
    """C(c) at second moment q (the fixed point in the mean-field analysis)."""
    if q == 0:
        return 1.0 if sigma_b2 > 0 else c
    return (sigma_w2 * cross_moment(activation, q, c, param) + sigma_b2) / q


def c_star(activation, sigma_w2, sigma_b2, *, dropout=0.0, param=None, c0=0.5, tol=1e-11,
           max_iter=20_000) -> float:
    """The stable fixed point of the c-map reached from c0 (1 in the ordered phase)."""
    q = q_star(activation, sigma_w2, sigma_b2, dropout=dropout, param=param)
    c = float(c0)
    for _ in range(max_iter):
        nxt = min(1.0, cmap(c, q, activation, sigma_w2, sigma_b2, param=param))
        if abs(nxt - c) <= tol:
            return nxt
        c = nxt
    return c


def _dphi_moment(act, q, points=POINTS):
    x, w = _nodes(points)
    return float(w @ act.dphi(math.sqrt(q) * x) ** 2)


def chi1(activation, sigma_w2, sigma_b2, *, param=None, q=None) -> float:
    """chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] (q* unless q is given)."""
    act = _act(activation, param)
    q = q_star(act, sigma_w2, sigma_b2) if q is None else q
    if _closed(act) == "relu":
        return sigma_w2 / 2
    if _closed(act) == "linear":
        return sigma_w2
    return sigma_w2 * _dphi_moment(act, q)


def depth_scales(activation, sigma_w2, sigma_b2, *, param=None) -> tuple[float, float]:
    """(xi_q, xi_c): the depths over which q and c approach their fixed points
    (Schoenholz et al. 2017); xi_c diverges on the critical line chi_1 = 1."""
    act = _act(activation, param)
    q = q_star(act, sigma_w2, sigma_b2)
    # ordered phase (chi_1 <= 1): c* = 1, no need to iterate the slowly converging c-map
    c = 1.0 if chi1(act, sigma_w2, sigma_b2, q=q) <= 1 else c_star(act, sigma_w2, sigma_b2)
    x, w = _nodes()
    u = math.sqrt(q) * x
    h = 1e-5
    d2 = (act.dphi(u + h) - act.dphi(u - h)) / (2 * h)
    slope_q = sigma_w2 * float(w @ (act.dphi(u) ** 2 + d2 * act.phi(u)))
    z1, z2 = x[:, None], x[None, :]
    u1 = math.sqrt(q) * z1
    u2 = math.sqrt(q) * (c * z1 + math.sqrt(max(0.0, 1 - c * c)) * z2)
    slope_c = sigma_w2 * float(w @ (act.dphi(u1) * act.dphi(u2)) @ w)
    xi_q = -1 / math.log(slope_q) if 0 < slope_q < 1 else math.inf
    xi_c = -1 / math.log(slope_c) if 0 < slope_c < 1 else math.inf
    return xi_q, xi_c


def critical_sigma_w2(activation, sigma_b2, *, param=None, hi=100.0) -> float:
    """sigma_w^2 on the order-to-chaos line (chi_1 = 1) at this sigma_b^2, by bisection."""
    act = _act(activation, param)
    def f(s):
        return chi1(act, s, sigma_b2) - 1

    lo = 1e-6
    if f(lo) > 0 or f(hi) < 0:
        raise ValueError(f"no critical point for sigma_w2 in ({lo}, {hi})")
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def phase_diagram(activation, sigma_w2_grid, sigma_b2_grid, *, param=None) -> dict:
    """chi_1, q* and xi_c over a (sigma_w^2, sigma_b^2) grid: arrays of shape
    (len(sigma_b2_grid), len(sigma_w2_grid)); chi_1 < 1 is ordered, > 1 chaotic."""
    act = _act(activation, param)
    sw, sb = np.asarray(sigma_w2_grid, float), np.asarray(sigma_b2_grid, float)
    out = {k: np.empty((sb.size, sw.size)) for k in ("chi1", "q_star", "xi_c")}
    for i, b in enumerate(sb):
        for j, s in enumerate(sw):
            q = q_star(act, s, b)
            out["q_star"][i, j] = q
            out["chi1"][i, j] = chi1(act, s, b, q=q)
            out["xi_c"][i, j] = depth_scales(act, s, b)[1]
    out["sigma_w2"], out["sigma_b2"] = sw, sb
    return out


def predicted(activation, sigma_w2, sigma_b2, depth, q0, c0, *, dropout=0.0, param=None,
              residual=None, alpha=1.0, stochastic_depth=0.0):
    """Mean-field q^l and c^l for l = 0..depth of :func:`fastinit.propagate.simulate`'s
    model (layer 1 linear in the input: q^1 = sigma_w^2 q0 + sigma_b^2), and the
    per-layer gradient growth chi_1(q^l) (length depth + 1, entry 0 = 1).

    residual="one" (Yang & Schoenholz 2017): h^l = h^{l-1} + alpha F(h^{l-1}) with F an
    independent layer, so second moments add: q^l = q^{l-1} + a (V(q^{l-1})) and
    c^l q^l = c^{l-1} q^{l-1} + a (sigma_w^2 E[phi phi] + sigma_b^2), a = alpha^2 / (1 - p_sd)
    (stochastic depth keeps F with probability 1 - p_sd, scaled by 1 / (1 - p_sd))."""
    if residual not in (None, "one"):
        raise ValueError(f"residual must be None or 'one' here, got {residual!r}")
    act = _act(activation, param)
    q, c, g = np.empty(depth + 1), np.empty(depth + 1), np.ones(depth + 1)
    q[0], c[0] = q0, c0
    q[1] = sigma_w2 * q0 + sigma_b2
    c[1] = (sigma_w2 * q0 * c0 + sigma_b2) / q[1]
    a = alpha * alpha / (1 - stochastic_depth)
    for layer in range(2, depth + 1):
        qp, cp = q[layer - 1], c[layer - 1]
        branch_q = qmap(qp, act, sigma_w2, sigma_b2, dropout=dropout)
        branch_qc = sigma_w2 * cross_moment(act, qp, cp) + sigma_b2
        if residual is None:
            q[layer], c[layer] = branch_q, branch_qc / branch_q
        else:
            q[layer] = qp + a * branch_q
            c[layer] = (cp * qp + a * branch_qc) / q[layer]
        g[layer] = chi1(act, sigma_w2, sigma_b2, q=qp)
    return q, c, g
