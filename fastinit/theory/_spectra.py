"""Jacobian spectra (Pennington, Schoenholz & Ganguli 2017; free probability).


J = dh^L / dh^0 = W^L D^{L-1} W^{L-1} ... D^1 W^1 with D^l = diag(phi'(h^l)), the model
of simulate(jacobian_at=...).  At infinite width the factors are asymptotically free, so
the S-transform of J J^T is the product of the factors' S-transforms:
    S_{JJ^T}(z) = S_{W^T W}(z)^L  prod_l S_{D_l^2}(z),
S_{W^T W} = 1 / (sigma_w^2 (1 + z)) for Gaussian W (Marchenko-Pastur, ratio 1) and
1 / sigma_w^2 for sigma_w times Haar orthogonal W.  With psi(x) = sum_k m_k x^k the
moment generating function of a law, chi = psi^{-1} and S(z) = chi(z) (1 + z) / z.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _gauss
from .._validate import check_int
from ._moments import _act, _params, _qe
from ._qmap import q_star, qmap

STEP = 0.005  # continuation step in log lambda (jacobian_spectrum)


def _split(breaks, count):
    """Nodes and weights over |z| <= 10 cut at ``breaks`` (ascending, clipped to the span;
    empty pieces weigh nothing), ``count`` equal 8-point Gauss-Legendre panels a piece,
    Gaussian density included."""
    span = _gauss.SPAN
    ends = np.concatenate([[-span], np.clip(breaks, -span, span), [span]])
    edges = np.concatenate([np.linspace(a, b, count + 1)[:-1]
                            for a, b in zip(ends[:-1], ends[1:], strict=True)] + [[span]])
    z, w = _gauss.panels(edges, 8)
    return z, w * _gauss.normal_pdf(z)


def _d2_law(act, q):
    """The law of d = phi'(sqrt(q) z)^2, z ~ N(0, 1), as (values, weights): the registry's
    exact law where it is the same at every q (linear, relu, leaky_relu), else 4,000
    composite Gauss-Legendre nodes over |z| < 10 cut at the kinks (dense, as
    jacobian_spectrum's continuation needs)."""
    if act.moments and act.moments.dphi2_law:
        return act.moments.dphi2_law
    s = math.sqrt(float(_qe(q)))
    x, w = _split(np.array([k / s for k in act.kinks]), 500)
    return np.asarray(act.dphi(s * x), float) ** 2, w


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
    """q* for the D^l laws; linear, relu and leaky_relu have the same law at every q."""
    if act.moments and act.moments.dphi2_law:
        return 1.0
    q = q_star(act, sigma_w2, sigma_b2)
    if not math.isfinite(q):
        raise ValueError(f"q* is infinite at sigma_w2={sigma_w2}, sigma_b2={sigma_b2} (the "
                         f"q-map of {act.name} diverges): the spectrum at a fixed point "
                         f"needs a finite q*; jacobian_moments takes q0 to follow q^l")
    return q


def _check_spectrum_args(init, depth, sigma_w2, sigma_b2):
    """(sigma_w2, sigma_b2) once init, depth and the variances are checked: the
    S-transform of W^T W divides by sigma_w2, so it must be > 0."""
    if init not in ("gaussian", "orthogonal"):
        raise ValueError(f"init must be 'gaussian' or 'orthogonal', got {init!r}")
    check_int(depth, "depth", 1)
    sigma_w2, sigma_b2, _ = _params(sigma_w2, sigma_b2)
    if sigma_w2 == 0:
        raise ValueError("sigma_w2 must be > 0 for the Jacobian's spectrum, got 0.0")
    return sigma_w2, sigma_b2


def jacobian_moments(activation, init, sigma_w2, sigma_b2, depth, *, k=4, q0=None,
                     param=None) -> np.ndarray:
    """m_1 .. m_k, the moments of the squared singular values of the input-output Jacobian
    J of a depth-L network at infinite width (array of length k): exact power-series
    arithmetic on the S-transforms above, each D^l at its layer's variance q^l (from the
    q-map started at the input's second moment q0, or q* everywhere when q0 is None).
    Checks: linear Gaussian nets give the Fuss-Catalan numbers
    m_k = binom((L + 1) k, k) / (L k + 1); at m_1 = 1 the variance m_2 - 1 is
    (L - 1)(mu_2 / mu_1^2 - 1) + L [Gaussian W] with mu_j = E[phi'(h)^(2j)].

    Examples
    --------
    >>> from fastinit import theory
    >>> theory.jacobian_moments("linear", "gaussian", 1.0, 0.0, depth=2, k=3).round(6).tolist()
    [1.0, 3.0, 12.0]
    """
    sigma_w2, sigma_b2 = _check_spectrum_args(init, depth, sigma_w2, sigma_b2)
    check_int(k, "k", 1)
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


def jacobian_spectrum(activation, init, sigma_w2, sigma_b2, depth, *, lam=None,
                      points=400, eps=1e-6, param=None) -> dict:
    """The density ``rho(lambda)`` of the squared singular values of J at infinite width,
    the network at its fixed point ``q*`` (every ``D^l`` alike; Pennington et al. 2017,
    section 3).

    Returns
    -------
    dict
        ``"lam"``, ``"density"``, ``"atom"`` (mass at 0: ``P(phi' = 0)`` when L > 1),
        ``"edge"`` (the largest squared singular value), ``"m1"``; ``lam`` defaults to
        ``points`` log-spaced values from 10^-8 of the edge to 1.5 times it.

    Notes
    -----
    With ``z = psi_D(x) = E[d x / (1 - d x)]`` (``d = phi'(sqrt(q*) z)^2``),
    ``S_D(z) = x (1 + z) / z``, and ``1 / lambda = chi_J(z)`` gives lambda as an explicit
    function of x::

        log lambda = (1 - n_D)(log(1 + z) - log z) - n_D log x - n_W log S_W(z)

    (``n_W = L`` weight factors, ``n_D = L - 1`` derivative factors).  For each lambda
    the root x of ``log lambda(x) = log lambda + i eps`` is followed by Newton's method,
    in steps of 0.005 in log lambda, down from above the support's right edge (the
    minimum of ``lambda(x)`` on the real axis), and::

        G = (1 + z) / lambda',  rho(lambda) = -Im G / pi,   lambda' = lambda e^{i eps}

    ``eps`` keeps the root off the real axis (the poles of ``psi_D``); the density is
    exact to O(eps) (checked against the series moments to 1e-4).  E over d on the nodes
    of the series moments' law (4,000 Gauss-Legendre nodes).  Where the root is lost
    below a left edge (orthogonal weights: the support is bounded away from 0) with the
    density already below 10^-6 of its peak, the density is 0 from there down.

    Examples
    --------
    >>> from fastinit import theory
    >>> s = theory.jacobian_spectrum("linear", "gaussian", 1.0, 0.0, depth=1, points=50)
    >>> round(s["edge"], 3), round(s["m1"], 3)
    (4.0, 1.0)
    """
    sigma_w2, sigma_b2 = _check_spectrum_args(init, depth, sigma_w2, sigma_b2)
    act = _act(activation, param)
    if not 0 < eps <= 0.01:
        raise ValueError(f"eps must be in (0, 0.01], got {eps}")
    if lam is None:
        check_int(points, "points", 2)
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
