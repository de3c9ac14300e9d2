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

Expectations by Gauss-Hermite quadrature (``points`` nodes per dimension) for smooth
activations, by composite Gauss-Legendre split at the kinks where phi' jumps (leaky_relu,
elu, selu, hardtanh: a Gauss-Hermite node on a jump would cost ~10% in chi_1), with closed
forms for relu, erf and linear.  Activations as in :mod:`fastinit.propagate` (names or
(phi, dphi) pairs); phi'' by central differences of phi'.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _activations

POINTS = 120  # even: no node at 0, where undeclared kinks (user relu-likes) sit
STEP = 0.005  # continuation step in log lambda (jacobian_spectrum)


@functools.cache
def _nodes(points=POINTS):
    x, w = np.polynomial.hermite_e.hermegauss(points)
    return x, w / math.sqrt(2 * math.pi)


_SPAN = 10.0  # |z| beyond 10 carries 1.5e-23 of the Gaussian mass
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)


def _panels(a, b, count):
    """Composite 8-point Gauss-Legendre on ``count`` equal panels of [a, b] (arrays of the
    same shape (...)): nodes and weights of shape (..., 8 count)."""
    a, b = np.asarray(a, float)[..., None], np.asarray(b, float)[..., None]
    j = np.arange(count)
    half = (b - a) / (2 * count)
    left = a + 2 * half * j
    nodes = (left[..., None] + half[..., None] * (1 + _GL_X)).reshape(*left.shape[:-1], -1)
    weights = np.broadcast_to(half[..., None] * _GL_W, left.shape + (8,)).reshape(nodes.shape)
    return nodes, weights


def _split(breaks, count):
    """Nodes and weights over [-SPAN, SPAN] cut at ``breaks`` (..., k) (ascending, clipped
    to the span; empty pieces weigh nothing), ``count`` panels a piece, Gaussian density
    included."""
    breaks = np.clip(breaks, -_SPAN, _SPAN)
    lo = np.concatenate([np.full(breaks.shape[:-1] + (1,), -_SPAN), breaks], axis=-1)
    hi = np.concatenate([breaks, np.full(breaks.shape[:-1] + (1,), _SPAN)], axis=-1)
    parts = [_panels(lo[..., i], hi[..., i], count) for i in range(lo.shape[-1])]
    z = np.concatenate([p[0] for p in parts], axis=-1)
    w = np.concatenate([p[1] for p in parts], axis=-1) * np.exp(-0.5 * z * z) / \
        math.sqrt(2 * math.pi)
    return z, w


def _kinked_q(act, q):
    """q, or for an activation with kinks the limit q -> 0+ (the law of phi'(sqrt(q) z)
    of leaky_relu at q = 0 is its law at any q > 0, not phi'(0))."""
    return max(q, 1e-300) if act.kinks else q


def _line(act, q, count=250):
    """Nodes z and weights of E[f(sqrt(q) z)], z ~ N(0, 1): Gauss-Hermite for a smooth
    phi', else composite Gauss-Legendre cut at the kinks (in z units k / sqrt(q))."""
    if not act.kinks:
        return _nodes()
    return _split(np.array(act.kinks) / math.sqrt(q), count)


def _plane(act, q, c, count=16):
    """Nodes (u1, u2) and weights of E[f(u1) g(u2)] for (u1, u2) Gaussian with variances
    q and correlation c: Gauss-Hermite squared for a smooth phi'; else u1 on the cut line
    rule and, given u1, z2 = (u2 - c u1) / sqrt(q (1 - c^2)) on a rule cut at each kink's
    z2 (a different cut on every row, so no node straddles a jump)."""
    s = math.sqrt(max(0.0, 1 - c * c))
    if not act.kinks or s == 0:
        x, w = _nodes()
        z1, z2 = x[:, None], x[None, :]
        return (math.sqrt(q) * z1, math.sqrt(q) * (c * z1 + s * z2), w[:, None] * w[None, :])
    z1, w1 = _line(act, q, count)
    breaks = (np.array(act.kinks)[None, :] / math.sqrt(q) - c * z1[:, None]) / s
    z2, w2 = _split(breaks, count)
    u1 = math.sqrt(q) * z1[:, None]
    return u1, math.sqrt(q) * (c * z1[:, None] + s * z2), w1[:, None] * w2


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
    q = _kinked_q(act, q)
    x, w = _nodes(points) if not act.kinks else _line(act, q)
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
    if act.kinks:
        u1, u2, w = _plane(act, _kinked_q(act, q), c)
        return float((w * act.phi(u1) * act.phi(u2)).sum())
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


def _dphi_moment(act, q):
    q = _kinked_q(act, q)
    x, w = _line(act, q)
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
    q = _kinked_q(act, q)
    x, w = _line(act, q)
    u = math.sqrt(q) * x
    h = 1e-6 * max(math.sqrt(q), 1e-300)  # below the distance of any node to a kink
    d2 = (act.dphi(u + h) - act.dphi(u - h)) / (2 * h)
    slope_q = sigma_w2 * float(w @ (act.dphi(u) ** 2 + d2 * act.phi(u)))
    if q > 0:  # phi'' has a delta at each jump of phi': E[delta(u - k)] phi(k) jump_k
        for k in act.kinks:
            pt = np.array([k - 1e-9 * (1 + abs(k)), k + 1e-9 * (1 + abs(k)), k])
            jump = float(act.dphi(pt[1:2])[0] - act.dphi(pt[:1])[0])
            slope_q += sigma_w2 * jump * float(act.phi(pt[2:])[0]) * \
                math.exp(-k * k / (2 * q)) / math.sqrt(2 * math.pi * q)
    u1, u2, w2 = _plane(act, q, c)
    slope_c = sigma_w2 * float((w2 * act.dphi(u1) * act.dphi(u2)).sum())
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
    model (layer 1 linear in the input: q^1 = sigma_w^2 q0 + sigma_b^2), and g^l, the
    growth of a gradient's squared norm through layer l (length depth + 1; g^0 = 1,
    g^1 = sigma_w^2): |J_l v|^2 = g^l |J_{l-1} v|^2 forward, |delta^{l-1}|^2 =
    g^l |delta^l|^2 backward (the gradient variance recursion; Schoenholz et al. 2017).

    Plain layers: q^l = V(q^{l-1}), g^l = chi(q^{l-1}) = sigma_w^2 / (1 - p)
    E[phi'(h)^2] (dropout keeps 1 - p and rescales, so E[mask^2] = 1 / (1 - p)).
    Residual networks (Yang & Schoenholz 2017): h^l = h^{l-1} + alpha F(h^{l-1}) with F
    independent of h^{l-1}, so second moments add, a = alpha^2 / (1 - p_sd) (stochastic
    depth keeps F with probability 1 - p_sd, scaled by 1 / (1 - p_sd)):
      residual="one", F = W phi(h) + b:
        q^l = q^{l-1} + a V(q^{l-1}),  c^l q^l = c^{l-1} q^{l-1} + a (sigma_w^2 E[phi phi]
        + sigma_b^2),  g^l = 1 + a chi(q^{l-1});
      residual="two", F = W_b phi(u) + b_b with u = W_a phi(h) + b_a: u has
        q_u = V(q^{l-1}) and correlation c_u = C(c^{l-1}) (the plain maps), F has
        V(q_u) and C(c_u) in turn, and g^l = 1 + a chi(q^{l-1}) chi(q_u)."""
    if residual not in (None, "one", "two"):
        raise ValueError(f"residual must be None, 'one' or 'two', got {residual!r}")
    act = _act(activation, param)
    keep = 1 - dropout
    q, c, g = np.empty(depth + 1), np.empty(depth + 1), np.ones(depth + 1)
    q[0], c[0] = q0, c0
    q[1] = sigma_w2 * q0 + sigma_b2
    c[1] = (sigma_w2 * q0 * c0 + sigma_b2) / q[1]
    if depth >= 1:
        g[1] = sigma_w2
    a = alpha * alpha / (1 - stochastic_depth)

    def layer_map(qp, cp):  # one plain layer: (V(q), sigma_w^2 E[phi phi] + sigma_b^2, chi)
        vq = qmap(qp, act, sigma_w2, sigma_b2, dropout=dropout)
        vqc = sigma_w2 * cross_moment(act, qp, cp) + sigma_b2
        return vq, vqc, chi1(act, sigma_w2, sigma_b2, q=qp) / keep

    for layer in range(2, depth + 1):
        qp, cp = q[layer - 1], c[layer - 1]
        bq, bqc, chi = layer_map(qp, cp)
        if residual == "two":
            bq, bqc, chi_b = layer_map(bq, bqc / bq)
            chi *= chi_b
        if residual is None:
            q[layer], c[layer], g[layer] = bq, bqc / bq, chi
        else:
            q[layer] = qp + a * bq
            c[layer] = (cp * qp + a * bqc) / q[layer]
            g[layer] = 1 + a * chi
    return q, c, g


# ---- Jacobian spectra (Pennington, Schoenholz & Ganguli 2017; free probability) ----
#
# J = dh^L / dh^0 = W^L D^{L-1} W^{L-1} ... D^1 W^1 with D^l = diag(phi'(h^l)), the model
# of simulate(jacobian_at=...).  At infinite width the factors are asymptotically free, so
# the S-transform of J J^T is the product of the factors' S-transforms:
#     S_{JJ^T}(z) = S_{W^T W}(z)^L  prod_l S_{D_l^2}(z),
# S_{W^T W} = 1 / (sigma_w^2 (1 + z)) for Gaussian W (Marchenko-Pastur, ratio 1) and
# 1 / sigma_w^2 for sigma_w times Haar orthogonal W.  With psi(x) = sum_k m_k x^k the
# moment generating function of a law, chi = psi^{-1} and S(z) = chi(z) (1 + z) / z.


def _d2_law(act, q):
    """The law of d = phi'(sqrt(q) z)^2, z ~ N(0, 1), as (values, weights): exact for
    linear and relu (mass 1/2 at 0), else 4,000 composite Gauss-Legendre nodes over
    |z| < 10 cut at the kinks (dense, as jacobian_spectrum's continuation needs)."""
    kind = _closed(act)
    if kind == "linear":
        return np.ones(1), np.ones(1)
    if kind == "relu":
        return np.array([0.0, 1.0]), np.array([0.5, 0.5])
    q = _kinked_q(act, q)
    x, w = _split(np.array([k / math.sqrt(q) for k in act.kinks]), 500)
    return np.asarray(act.dphi(math.sqrt(q) * x), float) ** 2, w


def _series_mul(a, b):
    return np.convolve(a, b)[:len(a)]


def _series_inverse_compose(f):
    """g with f(g(z)) = z + O(z^K) for f = sum_{k>=1} f[k] z^k (f[0] = 0, f[1] != 0)."""
    size = len(f)
    g = np.zeros(size)
    g[1] = 1 / f[1]
    for k in range(2, size):
        comp, power = np.zeros(size), np.zeros(size)
        power[0] = 1
        for j in range(1, size):  # f(g) truncated, with g's coefficient k still 0
            power = _series_mul(power, g)
            comp += f[j] * power
        g[k] = -comp[k] / f[1]
    return g


def _layer_qs(act, sigma_w2, sigma_b2, depth, q0):
    """q^1 .. q^{depth-1}: the variances at which the D^l are taken (q* if q0 is None)."""
    if q0 is None:
        return np.full(depth - 1, _finite_q_star(act, sigma_w2, sigma_b2))
    qs = [sigma_w2 * q0 + sigma_b2]
    while len(qs) < depth - 1:
        qs.append(qmap(qs[-1], act, sigma_w2, sigma_b2))
    return np.array(qs[:depth - 1])


def _finite_q_star(act, sigma_w2, sigma_b2):
    """q* for the D^l laws; linear and relu have the same law at every q."""
    if _closed(act) in ("linear", "relu"):
        return 1.0
    q = q_star(act, sigma_w2, sigma_b2)
    if not math.isfinite(q):
        raise ValueError(f"q* is infinite at sigma_w2={sigma_w2}, sigma_b2={sigma_b2} (the "
                         f"q-map of {act.name} diverges): the spectrum at a fixed point "
                         f"needs a finite q*; jacobian_moments takes q0 to follow q^l")
    return q


def _check_spectrum_args(init, depth):
    if init not in ("gaussian", "orthogonal"):
        raise ValueError(f"init must be 'gaussian' or 'orthogonal', got {init!r}")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise ValueError(f"depth must be an int >= 1, got {depth!r}")


def jacobian_moments(activation, init, sigma_w2, sigma_b2, depth, *, k=4, q0=None,
                     param=None) -> np.ndarray:
    """m_1 .. m_k, the moments of the squared singular values of the input-output Jacobian
    J of a depth-L network at infinite width (array of length k): exact power-series
    arithmetic on the S-transforms above, each D^l at its layer's variance q^l (from the
    q-map started at the input's second moment q0, or q* everywhere when q0 is None).
    Checks: linear Gaussian nets give the Fuss-Catalan numbers
    m_k = binom((L + 1) k, k) / (L k + 1); at m_1 = 1 the variance m_2 - 1 is
    (L - 1)(mu_2 / mu_1^2 - 1) + L [Gaussian W] with mu_j = E[phi'(h)^(2j)]."""
    _check_spectrum_args(init, depth)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    act = _act(activation, param)
    size = k + 1
    s_j = np.zeros(size)
    s_j[0] = 1.0
    s_w = np.array([(-1.0) ** j if init == "gaussian" else float(j == 0)
                    for j in range(size)]) / sigma_w2
    for _ in range(depth):
        s_j = _series_mul(s_j, s_w)
    for q in _layer_qs(act, sigma_w2, sigma_b2, depth, q0):
        d, w = _d2_law(act, q)
        psi = np.array([0.0] + [float(w @ d**j) for j in range(1, size)])
        if psi[1] <= 0:
            raise ValueError("phi'(h) = 0 almost surely: the Jacobian vanishes")
        chi = _series_inverse_compose(psi)  # chi(z) = z / mu_1 + ...
        s_d = _series_mul(np.r_[1.0, 1.0, np.zeros(size - 2)], np.r_[chi[1:], 0.0])
        s_j = _series_mul(s_j, s_d)
    # chi_J(z) = z / (1 + z) S_J(z); psi_J = chi_J^{-1}
    geometric = np.array([(-1.0) ** j for j in range(size)])
    chi_j = np.r_[0.0, _series_mul(geometric, s_j)[:size - 1]]
    return _series_inverse_compose(chi_j)[1:]


def critical_point(activation, q_star_target, *, param=None) -> tuple[float, float]:
    """(sigma_w^2, sigma_b^2) on the critical line with fixed point q*: chi_1 = 1 gives
    sigma_w^2 = 1 / E[phi'(sqrt(q*) z)^2], then sigma_b^2 = q* - sigma_w^2 E[phi^2]
    (Pennington et al. 2017 choose tanh networks along the line by q*)."""
    act = _act(activation, param)
    if not q_star_target > 0:
        raise ValueError(f"q_star_target must be > 0, got {q_star_target}")
    sw = 1.0 / (_dphi_moment(act, q_star_target) if _closed(act) != "relu" else 0.5)
    sb = q_star_target - sw * second_moment(act, q_star_target)
    if sb < -1e-12 * q_star_target:
        raise ValueError(f"no critical point with q* = {q_star_target}: it needs "
                         f"sigma_b^2 = {sb:.3g} < 0")
    return sw, max(sb, 0.0)


def jacobian_spectrum(activation, init, sigma_w2, sigma_b2, depth, *, lam=None,
                      points=400, eps=1e-6, param=None) -> dict:
    """The density rho(lambda) of the squared singular values of J at infinite width, the
    network at its fixed point q* (every D^l alike; Pennington et al. 2017, section 3).

    With z = psi_D(x) = E[d x / (1 - d x)] (d = phi'(sqrt(q*) z)^2), S_D(z) = x (1 + z) / z,
    and 1 / lambda = chi_J(z) gives lambda as an explicit function of x:
        log lambda = (1 - n_D)(log(1 + z) - log z) - n_D log x - n_W log S_W(z)
    (n_W = L weight factors, n_D = L - 1 derivative factors).  For each lambda the root x
    of log lambda(x) = log lambda + i eps is followed by Newton's method, in steps of
    0.005 in log lambda, down from above the support's right edge (the minimum of
    lambda(x) on the real axis), and
        G = (1 + z) / lambda',  rho(lambda) = -Im G / pi,   lambda' = lambda e^{i eps}:
    ``eps`` keeps the root off the real axis (the poles of psi_D); the density is exact
    to O(eps) (checked against the series moments to 1e-4).  E over d on the nodes of
    the series moments' law (4,000 Gauss-Legendre nodes).  Where the root is lost below a left edge
    (orthogonal weights: the support is bounded away from 0) with the density already
    below 10^-6 of its peak, the density is 0 from there down.
    Returns {"lam", "density", "atom" (mass at 0: P(phi' = 0) when L > 1), "edge" (the
    largest squared singular value), "m1"}; ``lam`` defaults to ``points`` log-spaced
    values from 10^-8 of the edge to 1.5 times it."""
    _check_spectrum_args(init, depth)
    act = _act(activation, param)
    if not 0 < eps <= 0.01:
        raise ValueError(f"eps must be in (0, 0.01], got {eps}")
    if lam is None and (isinstance(points, bool) or not isinstance(points, int) or points < 2):
        raise ValueError(f"points must be an int >= 2, got {points!r}")
    q = _finite_q_star(act, sigma_w2, sigma_b2)
    d, w = _d2_law(act, q)
    n_w, n_d = depth, depth - 1
    atom = float(w[d == 0].sum()) if n_d else 0.0
    d, w = (d[d > 0], w[d > 0]) if n_d else (np.ones(1), np.ones(1))
    m1 = float(jacobian_moments(act, init, sigma_w2, sigma_b2, depth, k=1)[0])
    if init == "orthogonal" and np.ptp(d) == 0 and (atom == 0 or depth <= 2):
        # every nonzero squared singular value equal: a point mass of 1 - atom at m1 / (1 - atom)
        top = m1 / (1 - atom)
        return {"lam": np.array([top]), "density": np.array([np.inf]), "atom": atom,
                "edge": top, "m1": m1}

    def log_lam(x):
        t = d * x
        z = w @ (t / (1 - t))
        dz = w @ (d / (1 - t) ** 2)
        val = (1 - n_d) * (np.log(1 + z) - np.log(z)) - n_d * np.log(x)
        der = (1 - n_d) * (1 / (1 + z) - 1 / z) * dz - n_d / x
        if init == "gaussian":
            val += n_w * (np.log(sigma_w2) + np.log(1 + z))
            der += n_w / (1 + z) * dz
        else:
            val += n_w * np.log(sigma_w2)
        return val, der, z

    # right edge: the minimum of lambda(x) on (0, 1 / max d), where lambda(x) decreases
    xs = np.geomspace(1e-12, 1 - 1e-9, 4001) / d.max()
    vals = np.array([log_lam(x)[0] for x in xs])
    i = int(np.argmin(vals))
    lo, hi = xs[max(i - 1, 0)], xs[min(i + 1, len(xs) - 1)]
    for _ in range(200):  # golden-section refinement of the minimum
        a, b = hi - 0.618 * (hi - lo), lo + 0.618 * (hi - lo)
        if log_lam(a)[0] < log_lam(b)[0]:
            hi = b
        else:
            lo = a
    edge = math.exp(float(log_lam(0.5 * (lo + hi))[0]))
    lam = edge * np.geomspace(1e-8, 1.5, points)[::-1] if lam is None \
        else np.sort(np.asarray(lam, float))[::-1]
    if lam.size == 0 or not lam[-1] > 0:
        raise ValueError("lam must be positive values")
    start = max(2.0 * edge, 2.0 * lam[0])
    lo, hi = xs[0], xs[i]  # the real root of lambda(x) = start on the decreasing branch
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if log_lam(mid)[0] > math.log(start) else (lo, mid)
    # march down in log lambda in steps of STEP (the root moves smoothly on that scale)
    logs = np.log(lam)
    n_steps = int(math.ceil((math.log(start) - logs[-1]) / STEP))
    path = np.union1d(np.linspace(math.log(start), logs[-1], n_steps + 1), logs)[::-1]
    x, prev = complex(lo), math.log(start)
    density, peak, rho = {}, 0.0, math.inf
    for log_target in path:
        try:
            x = _follow_root(log_lam, x, prev, log_target, eps)
        except RuntimeError:
            if rho > 1e-6 * peak:
                raise
            break  # below the support's left edge (orthogonal weights): rho = 0 from here
        prev = log_target
        z = log_lam(x)[2]
        rho = max(0.0, -((1 + z) / np.exp(log_target + 1j * eps)).imag / math.pi)
        peak = max(peak, rho)
        density[log_target] = rho
    density = np.array([density.get(v, 0.0) for v in logs])
    order = np.argsort(lam)
    return {"lam": lam[order], "density": density[order], "atom": atom, "edge": edge,
            "m1": m1}


def _follow_root(log_lam, x, start, target, eps, depth=0):
    """Newton's method for log lambda(x) = target + i eps from x (the root at ``start``),
    halving the step in log lambda when Newton does not converge or jumps."""
    y = complex(x)
    goal = complex(target, eps)
    for _ in range(30):
        val, der, _ = log_lam(y)
        r = val - goal
        r = complex(r.real, math.remainder(r.imag, 2 * math.pi))
        if abs(r) <= 1e-10:
            break
        y = y - r / der
    if abs(r) <= 1e-10 and abs(y - x) <= 0.25 * abs(x):
        return y
    if depth > 40:
        raise RuntimeError("jacobian_spectrum: Newton lost the root; pass a larger eps")
    mid = 0.5 * (start + target)
    x = _follow_root(log_lam, x, start, mid, eps, depth + 1)
    return _follow_root(log_lam, x, mid, target, eps, depth + 1)
