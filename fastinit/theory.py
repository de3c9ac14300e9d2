"""Mean-field theory of signal propagation in wide random networks (Poole et al. 2016;
Schoenholz et al. 2017), beside the Monte Carlo of :mod:`fastinit.propagate`.

For h^l = W^l phi(h^{l-1}) + b^l with W_ij ~ (0, sigma_w^2 / N), b_i ~ N(0, sigma_b^2),
as N -> infinity:

- q-map:  q^{l+1} = V(q^l) = sigma_w^2 / rho E[phi(sqrt(q) z)^2] + sigma_b^2, z ~ N(0, 1),
  rho the dropout keep probability (inverted dropout: 1 - p); fixed point q*.
- c-map:  c^{l+1} = C(c^l) = (sigma_w^2 E[phi(u_1) phi(u_2)] + sigma_b^2) / V(q) with
  u_1 = sqrt(q) z_1, u_2 = sqrt(q)(c z_1 + sqrt(1 - c^2) z_2), at q = q* (where V(q*) =
  q*; at q* = 0 or infinity its limit); fixed point c*.
- chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]: the slope of C at c = 1 (order < 1 < chaos) and
  the per-layer growth of |gradient|^2 (the gradient variance recursion
  q~^l = chi_1 q~^{l+1}).
- depth scales: xi_q = -1 / log V'(q*), V'(q) = sigma_w^2 / rho E[u phi(u) phi'(u)] / q
  (= sigma_w^2 E[phi'^2 + phi phi''], Schoenholz et al. eq. 5, without phi''), and
  xi_c = -1 / log C'(c*), C'(c) = sigma_w^2 q E[phi'(u_1) phi'(u_2)] / V(q) (eq. 9).

Expectations (:mod:`fastinit._gauss`): composite Gauss-Legendre in u = sqrt(q) z on panels
cut at the activation's kinks, at its own scale and at the Gaussian's, accurate for q from
1e-8 to 1e8; the pair rule integrates u_2 given u_1.  Closed forms where the activation's
registry entry has them (relu, leaky_relu and linear: arc-cosine kernels; erf).  The
limits q -> 0+ and q -> infinity are evaluated at q = 1e-280 and 1e200.  Fixed points:
every root of V(q) - q by a scan of 10 points a decade over [1e-12, 1e12] (and beyond
when V grows slower than q) refined by the Illinois method; the one returned is the one
the q-map reaches from q0.  q* and c* are cached per (activation, sigma_w2, sigma_b2).
Activations as in :mod:`fastinit.propagate` (names or (phi, dphi) pairs).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from . import _activations, _gauss
from ._validate import check_int

TINY, HUGE = 1e-280, 1e200  # where q -> 0+ and q -> infinity are evaluated
STEP = 0.005  # continuation step in log lambda (jacobian_spectrum)
_QGRID = np.concatenate([[0.0], np.geomspace(1e-12, 1e12, 241)])


def _act(activation, param=None):
    act = _activations.get(activation, param)
    if act.dphi is None:
        raise ValueError("theory needs the activation's derivative: pass (phi, dphi)")
    return act


def _qe(q):
    return np.clip(np.asarray(q, float), TINY, HUGE)


def _expect(act, f, q):
    """E[f(u)], u ~ N(0, q), for an array of q (limits at 0 and infinity)."""
    q = _qe(q)
    u, w = _gauss.line(act, np.zeros_like(q), np.sqrt(q))
    return (w * f(u)).sum(-1)


def _second(act, q):
    """E[phi(u)^2]."""
    if act.moments:
        return act.moments.second(_qe(q))
    return _expect(act, lambda u: act.phi(u) ** 2, q)


def _slope(act, q):
    """d/dq E[phi(u)^2] = E[u phi(u) phi'(u)] / q."""
    if act.moments:
        return act.moments.slope(_qe(q))
    return _expect(act, lambda u: u * act.phi(u) * act.dphi(u), q) / _qe(q)


def _dphi2(act, q):
    """E[phi'(u)^2]."""
    if act.moments:
        return act.moments.dphi2(_qe(q))
    return _expect(act, lambda u: act.dphi(u) ** 2, q)


_CHUNK = 2_000_000  # pair-rule nodes evaluated at once


def _pair(act, q, c):
    """(E[phi(u_1) phi(u_2)], E[phi'(u_1) phi'(u_2)]) for arrays q, c (broadcast)."""
    q, c = np.broadcast_arrays(_qe(q), np.clip(np.asarray(c, float), -1.0, 1.0))
    if act.moments:
        return act.moments.cross(q, c), act.moments.dphi_cross(q, c)
    k, kd = np.empty(q.shape), np.empty(q.shape)
    edge = np.abs(c) == 1  # u_2 = c u_1: one dimension
    if edge.any():
        u, w = _gauss.line(act, np.zeros(edge.sum()), np.sqrt(q[edge]))
        k[edge] = (w * act.phi(u) * act.phi(c[edge][:, None] * u)).sum(-1)
        kd[edge] = (w * act.dphi(u) * act.dphi(c[edge][:, None] * u)).sum(-1)
    idx = np.flatnonzero(~edge)
    if idx.size == 1:  # one point: the 0-d rule drops its empty panels
        i = np.unravel_index(idx[0], q.shape)
        u1, u2, w = _gauss.plane(act, q[i], c[i])
        (p1, d1), (p2, d2) = act.both(u1), act.both(u2)
        k[i], kd[i] = (w * p1 * p2).sum(), (w * d1 * d2).sum()
        return k, kd
    qf, cf = q.reshape(-1), c.reshape(-1)
    kf, kdf = k.reshape(-1), kd.reshape(-1)
    per = 400 * 400
    for start in range(0, idx.size, max(1, _CHUNK // per)):
        j = idx[start:start + max(1, _CHUNK // per)]
        u1, u2, w = _gauss.plane(act, qf[j], cf[j])
        (p1, d1), (p2, d2) = act.both(u1), act.both(u2)
        kf[j], kdf[j] = (w * p1 * p2).sum((-2, -1)), (w * d1 * d2).sum((-2, -1))
    return kf.reshape(q.shape), kdf.reshape(q.shape)


def second_moment(activation, q, param=None) -> float:
    """E[phi(sqrt(q) z)^2]."""
    return float(_second(_act(activation, param), q))


@functools.lru_cache(maxsize=65536)
def _pair_cached(act, q, c):
    return tuple(float(v) for v in _pair(act, q, c))


def cross_moment(activation, q, c, param=None) -> float:
    """E[phi(u_1) phi(u_2)] for (u_1, u_2) Gaussian with variances q and correlation c
    (cached per (activation, q, c))."""
    return _pair_cached(_act(activation, param), float(q), float(c))[0]


def qmap(q, activation, sigma_w2, sigma_b2, *, dropout=0.0, param=None) -> float:
    """V(q) = sigma_w^2 / (1 - p) E[phi(sqrt(q) z)^2] + sigma_b^2."""
    return sigma_w2 / (1 - dropout) * second_moment(activation, q, param) + sigma_b2


def _illinois(f, lo, hi, flo, fhi, tol, iters=200):
    """Roots of the vectorized f (f(x, idx): values at x for the points idx) in brackets
    [lo, hi] with flo, fhi of opposite signs (or one zero): regula falsi with the Illinois
    halving, stopped where the bracket is within tol * |x| (or f = 0)."""
    lo, hi, flo, fhi = (np.array(v, float) for v in (lo, hi, flo, fhi))
    x = np.where(flo == 0, lo, hi)
    active = (flo != 0) & (fhi != 0)
    side = np.zeros(lo.shape, int)
    for _ in range(iters):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        a, b, fa, fb = lo[idx], hi[idx], flo[idx], fhi[idx]
        xi = b - fb * (b - a) / (fb - fa)
        bad = ~((xi > np.minimum(a, b)) & (xi < np.maximum(a, b)))
        xi = np.where(bad, 0.5 * (a + b), xi)
        fx = f(xi, idx)
        x[idx] = xi
        left = np.sign(fx) == np.sign(fa)  # the root lies in [x, b]
        lo[idx] = np.where(left, xi, a)
        flo[idx] = np.where(left, fx, fa)
        hi[idx] = np.where(left, b, xi)
        fhi[idx] = np.where(left, fb, fx)
        # Illinois: halve the stale end's value when the same end survives twice
        s = np.where(left, 1, -1)
        stale = side[idx] == s
        flo[idx] = np.where(stale & ~left, flo[idx] / 2, flo[idx])
        fhi[idx] = np.where(stale & left, fhi[idx] / 2, fhi[idx])
        side[idx] = s
        done = (fx == 0) | (np.abs(hi[idx] - lo[idx]) <= tol * np.abs(xi))
        active[idx[done]] = False
    return x


def _second_slope(act, q):
    """(E[phi^2], d/dq E[phi^2]) on one rule."""
    if act.moments:
        return act.moments.second(_qe(q)), act.moments.slope(_qe(q))
    q = _qe(q)
    u, w = _gauss.line(act, np.zeros_like(q), np.sqrt(q))
    p, d = act.both(u)
    return (w * p * p).sum(-1), (w * u * p * d).sum(-1) / q


def _q_roots(act, a, b, lo, hi, tol):
    """Roots of V(q) - q = a E[phi^2] + b - q (arrays a, b) in brackets [lo, hi] where it
    changes sign: Newton's method kept inside the shrinking bracket (bisection when a
    step leaves it), stopped at |step| <= tol q."""
    a, b, lo, hi = (np.array(v, float).ravel() for v in np.broadcast_arrays(a, b, lo, hi))
    f_lo = a * _second(act, lo) + b - lo
    x = np.where(lo > 0, np.sqrt(lo * hi), 0.5 * hi)
    idx = np.arange(x.size)
    for _ in range(200):
        if idx.size == 0:
            break
        m, dm = _second_slope(act, x[idx])
        f = a[idx] * m + b[idx] - x[idx]
        left = np.sign(f) == np.sign(f_lo[idx])  # the root lies above x
        lo[idx] = np.where(left, x[idx], lo[idx])
        hi[idx] = np.where(left, hi[idx], x[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            nxt = x[idx] - f / (a[idx] * dm - 1)
        inside = (nxt > lo[idx]) & (nxt < hi[idx])
        nxt = np.where(inside, nxt, 0.5 * (lo[idx] + hi[idx]))
        # the step within tol, or V(x) - x at the rounding level of V(x)
        done = (np.abs(nxt - x[idx]) <= tol * np.abs(x[idx])) | \
            (np.abs(f) <= 4e-16 * (np.abs(a[idx] * m) + np.abs(b[idx])))
        x[idx] = np.where(f == 0, x[idx], nxt)
        idx = idx[~done]
    return x


@functools.lru_cache(maxsize=256)
def _table(act):
    """E[phi^2] on the scan grid, q = 0 first (there phi(0)^2 exactly: V(0) = 0 makes 0 a
    fixed point)."""
    table = np.array(_second(act, _QGRID), float)
    table[0] = float(act.phi(np.zeros(1))[0]) ** 2
    return table


def _growth(act):
    """lim V(q) / q as q -> infinity, per unit sigma_w^2 / rho: E[phi(u)^2] / q there."""
    return float(_second(act, HUGE)) / HUGE


def _fixed_points(act, a, b, tol=1e-14):
    """Every fixed point of V(q) = a E[phi^2] + b (scalars) as (q, stable), ascending; a
    root beyond 1e12 by widening the scan; infinity when V(q) - q stays positive."""
    table = _table(act)
    f = a * table + b - _QGRID
    out = [(0.0, True)] if f[0] == 0 and f[1] <= 0 else []
    brackets = [k for k in range(len(f) - 1) if f[k] != 0 and f[k] * f[k + 1] < 0
                or (k > 0 and f[k] == 0)]
    grid, vals = list(_QGRID), list(f)
    top = _QGRID[-1]
    while vals[-1] > 0 and a * _growth(act) < 1 and top < HUGE:
        top *= 1e4
        grid.append(top)
        vals.append(a * float(_second(act, top)) + b - top)
        if vals[-1] <= 0:
            brackets.append(len(grid) - 2)
    for k in brackets:
        if vals[k] == 0:
            out.append((grid[k], vals[k + 1] < 0))
            continue
        root = _q_roots(act, a, b, grid[k], grid[k + 1], tol)[0]
        out.append((float(root), bool(vals[k] > 0)))
    if vals[-1] > 0:
        out.append((math.inf, True))
    return out


def _reached(points, v0, q0):
    """The fixed point the q-map reaches from q0 (V increasing): the first above q0 when
    V(q0) > q0, the last below when V(q0) < q0."""
    if v0 == q0:
        return q0
    if v0 > q0:
        return min((q for q, _ in points if q > q0), default=math.inf)
    return max((q for q, _ in points if q < q0), default=0.0)


def fixed_points(activation, sigma_w2, sigma_b2, *, dropout=0.0, param=None) -> list:
    """Every fixed point of the q-map as (q*, stable) pairs, ascending (q* = inf when the
    q-map diverges); a root pair closer than a factor 10^0.1 may be missed by the scan."""
    act = _act(activation, param)
    return _fixed_points(act, sigma_w2 / (1 - dropout), sigma_b2)


@functools.lru_cache(maxsize=65536)
def _q_star(act, sigma_w2, sigma_b2, dropout, q0, tol):
    a = sigma_w2 / (1 - dropout)
    points = _fixed_points(act, a, sigma_b2, tol)
    return _reached(points, a * float(_second(act, q0)) + sigma_b2, q0)


def q_star(activation, sigma_w2, sigma_b2, *, dropout=0.0, param=None, q0=1.0,
           method="bracket", tol=1e-14, max_iter=100_000) -> float:
    """The fixed point q* of the q-map that its iteration reaches from q0 (0 when q^l
    decays, inf when it diverges; :func:`fixed_points` lists all): by bracketing
    ("bracket": the scan of :func:`fixed_points`, refined to relative ``tol``) or by
    iterating V from q0 ("iterate"; slow on the critical line, where q^l approaches
    q* = 0 like 1 / l)."""
    act = _act(activation, param)
    if method == "iterate":
        q = float(q0)
        for _ in range(max_iter):
            nxt = qmap(q, act, sigma_w2, sigma_b2, dropout=dropout)
            if abs(nxt - q) <= tol * max(1.0, q):
                return nxt
            if not math.isfinite(nxt) or nxt > 1e300:
                return math.inf
            q = nxt
        return q
    if method != "bracket":
        raise ValueError(f"method must be 'bracket' or 'iterate', got {method!r}")
    if not q0 >= 0:
        raise ValueError(f"q0 must be >= 0, got {q0}")
    return _q_star(act, float(sigma_w2), float(sigma_b2), float(dropout), float(q0),
                   max(float(tol), 1e-14))


def _cmap_parts(act, q, sigma_w2, sigma_b2, c, dropout=0.0):
    """C(c) and C'(c) at second moment q (arrays)."""
    v = sigma_w2 / (1 - dropout) * _second(act, q) + sigma_b2
    k, kd = _pair(act, q, c)
    return (sigma_w2 * k + sigma_b2) / v, sigma_w2 * _qe(q) * kd / v


def cmap(c, q, activation, sigma_w2, sigma_b2, *, dropout=0.0, param=None) -> float:
    """C(c) = (sigma_w^2 E[phi(u_1) phi(u_2)] + sigma_b^2) / V(q) at second moment q (the
    fixed point q* in the mean-field analysis, where V(q*) = q*; at q = 0 the limit
    q -> 0+, where relu's map is scale free)."""
    act = _act(activation, param)
    v = qmap(q, act, sigma_w2, sigma_b2, dropout=dropout)
    return (sigma_w2 * cross_moment(act, q, c) + sigma_b2) / v if q > 0 else \
        float(_cmap_parts(act, q, sigma_w2, sigma_b2, c, dropout)[0])


_HERMITE_N = 256  # Mehler series length


@functools.cache
def _hermite_basis():
    """Nodes z (10-point Gauss-Legendre on panels of 1/8 over |z| <= 14) and the matrix
    w_k phi(z_k) h_n(z_k), h_n = He_n / sqrt(n!) (n <= 256: wavelength >= 0.27)."""
    edges = np.linspace(-14.0, 14.0, 225)
    z, w = _gauss._panels(edges)
    h = np.empty((z.size, _HERMITE_N + 1))
    h[:, 0], h[:, 1] = 1.0, z
    for n in range(1, _HERMITE_N):
        h[:, n + 1] = (z * h[:, n] - math.sqrt(n) * h[:, n - 1]) / math.sqrt(n + 1)
    return z, (w * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi))[:, None] * h


def _mehler(act, q):
    """Squared Hermite coefficients a_n^2 of phi(sqrt(q) z) (rows of q): by Mehler's
    formula E[phi(u_1) phi(u_2)] = sum_n a_n^2 c^n (nonnegative: C is convex on [0, 1])
    and E[phi'(u_1) phi'(u_2)] = sum_n n a_n^2 c^(n-1) / q; with the exact totals
    E[phi^2] and q E[phi'^2] the truncation errors are at most c^(N+1) and c^N times the
    coefficients' missing mass.  For phi smooth at the panels' scale (q <= 100 scale^2)."""
    z, basis = _hermite_basis()
    a = act.phi(np.sqrt(_qe(q))[:, None] * z) @ basis
    return a * a


def _series(a2, c):
    """(sum a_n^2 c^n, sum n a_n^2 c^(n-1)) by Horner's rule, per row."""
    k, dk = np.zeros(c.shape), np.zeros(c.shape)
    for n in range(a2.shape[1] - 1, -1, -1):
        dk = dk * c + k
        k = k * c + a2[:, n]
    return k, dk


def _newton(parts, c, tol):
    """Newton's method for C(c) = c from below (``parts(c, idx)`` -> (C, C') for the points
    idx); C convex: the iterates increase monotonically to c*.  Returns (c*, C'(c*))."""
    c = np.array(c, float)
    slope = np.empty(c.shape)
    idx = np.arange(c.size)
    for _ in range(100):
        if idx.size == 0:
            break
        g, dg = parts(c[idx], idx)
        nxt = np.minimum(c[idx] - (g - c[idx]) / (dg - 1), 1.0)
        # converged, or rounding has stopped the monotone increase (a near-double root)
        done = (np.abs(nxt - c[idx]) <= tol) | (nxt <= c[idx])
        slope[idx] = dg
        c[idx] = np.where(done, c[idx], nxt)
        idx = idx[~done]
    return c, slope


def _c_solve(act, q, sigma_w2, sigma_b2, dropout, c0, tol):
    """(c*, C'(c*)) for arrays q, sigma_w2, sigma_b2: c0 where C(c0) = c0 (a line of fixed
    points: q* = 0 with a smooth phi), 1 in the ordered phase (C(1) = 1, C'(1) <= 1), else
    the root of C(c) = c in [0, 1) by Newton's method from c = 0 (C convex on [0, 1]):
    on the Mehler series (:func:`_mehler`) where its error bound is below 1e-14 of
    E[phi^2], then on the pair rule from the series' root (which lies below c*)."""
    q, sw, sb = (np.array(v, float).ravel() for v in np.broadcast_arrays(q, sigma_w2,
                                                                          sigma_b2))
    c, slope = np.empty(q.shape), np.empty(q.shape)
    if q.size == 0:
        return c, slope
    v = sw / (1 - dropout) * _second(act, q) + sb
    c1, d1 = _cmap_parts(act, q, sw, sb, 1.0, dropout)
    ident = np.zeros(q.shape, bool)
    check = np.flatnonzero((q == 0) | bool(act.moments))
    if check.size:
        cc0, dc0 = _cmap_parts(act, q[check], sw[check], sb[check], c0, dropout)
        hit = np.abs(cc0 - c0) <= tol
        ident[check[hit]] = True
        c[check[hit]], slope[check[hit]] = c0, dc0[hit]
    ordered = ~ident & (np.abs(c1 - 1) <= 1e-12) & ((d1 <= 1) | (c0 == 1))
    c[ordered], slope[ordered] = 1.0, d1[ordered]
    rest = np.flatnonzero(~ident & ~ordered)
    start = np.zeros(rest.size)
    series = np.flatnonzero(not act.kinks and not act.moments and np.ones(rest.size, bool)
                            & (q[rest] <= 100 * act.scale ** 2))
    if series.size:
        j = rest[series]
        a2 = _mehler(act, q[j])
        qj = _qe(q[j])
        cs, ds = _newton(lambda cc, i: ((sw[j][i] * _series(a2[i], cc)[0] + sb[j][i]) / v[j][i],
                                        sw[j][i] * _series(a2[i], cc)[1] / v[j][i]),
                         np.zeros(j.size), tol)
        total0, total1 = _second(act, q[j]), qj * _dphi2(act, q[j])
        miss0 = np.maximum(total0 - a2.sum(1), 0) * cs ** (_HERMITE_N + 1)
        miss1 = np.maximum(total1 - (np.arange(_HERMITE_N + 1) * a2).sum(1), 0) \
            * cs ** _HERMITE_N
        good = (miss0 <= 1e-14 * total0) & (miss1 <= 1e-14 * total1)
        c[j[good]], slope[j[good]] = cs[good], ds[good]
        start[series] = cs
        rest_good = np.zeros(rest.size, bool)
        rest_good[series[good]] = True
        rest, start = rest[~rest_good], start[~rest_good]
    if rest.size:
        c[rest], slope[rest] = _newton(
            lambda cc, i: _cmap_parts(act, q[rest][i], sw[rest][i], sb[rest][i], cc, dropout),
            start, tol)
    return c, slope


@functools.lru_cache(maxsize=65536)
def _c_star(act, sigma_w2, sigma_b2, dropout, c0, tol):
    q = _q_star(act, sigma_w2, sigma_b2, dropout, 1.0, 1e-14)
    c, slope = _c_solve(act, q, sigma_w2, sigma_b2, dropout, c0, tol)
    return float(c[0]), float(slope[0])


def c_star(activation, sigma_w2, sigma_b2, *, dropout=0.0, param=None, c0=0.5,
           tol=1e-13) -> float:
    """The fixed point of the c-map reached from c0 at q* (from q0 = 1): 1 in the ordered
    phase (relu's scale-free map included), the root c* < 1 in the chaotic phase or with
    dropout, c0 itself where the map is the identity (q* = 0 with a smooth phi)."""
    if not -1 <= c0 <= 1:
        raise ValueError(f"c0 must be in [-1, 1], got {c0}")
    return _c_star(_act(activation, param), float(sigma_w2), float(sigma_b2),
                   float(dropout), float(c0), float(tol))[0]


def _chi1_at(act, sigma_w2, q):
    return sigma_w2 * _dphi2(act, q)


def chi1(activation, sigma_w2, sigma_b2, *, param=None, q=None) -> float:
    """chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] (q* unless q is given; at q* = inf the
    limit sigma_w^2 (phi'(inf)^2 + phi'(-inf)^2) / 2)."""
    act = _act(activation, param)
    q = q_star(act, sigma_w2, sigma_b2) if q is None else q
    return float(_chi1_at(act, sigma_w2, q))


def _xi(slope):
    slope = np.asarray(slope, float)
    with np.errstate(divide="ignore"):
        return np.where((slope > 0) & (slope < 1), -1 / np.log(np.where(slope > 0, slope, 1)),
                        np.inf)


@functools.lru_cache(maxsize=65536)
def _depth_scales(act, sigma_w2, sigma_b2, dropout):
    q = _q_star(act, sigma_w2, sigma_b2, dropout, 1.0, 1e-14)
    slope_c = _c_star(act, sigma_w2, sigma_b2, dropout, 0.5, 1e-13)[1]
    slope_q = sigma_w2 / (1 - dropout) * _slope(act, q)
    return float(_xi(slope_q)), float(_xi(slope_c))


def depth_scales(activation, sigma_w2, sigma_b2, *, dropout=0.0, param=None) -> tuple:
    """(xi_q, xi_c) = (-1 / log V'(q*), -1 / log C'(c*)): the depths over which q and c
    approach their fixed points (Schoenholz et al. 2017); inf where the slope is >= 1
    (xi_c diverges on the critical line chi_1 = 1)."""
    return _depth_scales(_act(activation, param), float(sigma_w2), float(sigma_b2),
                         float(dropout))


_SW_SCAN = np.geomspace(1e-4, 1e6, 51)


def _chi1_minus_1(act, sw, sb):
    """chi_1 - 1 at arrays sw, sb (q* from q0 = 1)."""
    sw, sb = np.broadcast_arrays(np.asarray(sw, float), np.asarray(sb, float))
    return _chi1_at(act, sw, _q_grid(act, sw, sb)) - 1


def critical_sigma_w2(activation, sigma_b2, *, param=None) -> float:
    """sigma_w^2 on the order-to-chaos line (chi_1 = 1) at this sigma_b^2: the first
    crossing on a scan of sigma_w2 over [1e-4, 1e6] (5 points a decade), refined by the
    Illinois method; a ValueError names the range when chi_1 stays on one side or jumps
    over 1 (where the fixed point q* reached from q0 = 1 changes)."""
    act = _act(activation, param)
    return float(_critical(act, np.array([float(sigma_b2)]))[0])


@functools.lru_cache(maxsize=256)
def _dtable(act):
    """E[phi'^2] on the scan grid."""
    return _dphi2(act, _QGRID)


def _critical_by_q(act, sb):
    """Critical points by their fixed point: chi_1 = 1 at a fixed point q means
    sigma_w^2 = 1 / E[phi'^2](q) and q = E[phi^2](q) / E[phi'^2](q) + sigma_b^2, one
    equation in q (roots: the scan grid, then the Illinois method).  Returns the smallest
    such sigma_w^2 whose q is the fixed point reached from q0 = 1 (nan where none is)."""
    def f(q, idx):
        return _second(act, q) / _dphi2(act, q) + sb[idx] - q

    grid = _table(act) / _dtable(act) + sb[:, None] - _QGRID
    rows, ks = np.nonzero((grid[:, :-1] * grid[:, 1:] < 0) | (grid[:, :-1] == 0))
    out = np.full(sb.size, np.nan)
    if rows.size == 0:
        return out
    q = _illinois(lambda x, idx: f(x, rows[idx]), _QGRID[ks], _QGRID[ks + 1],
                  grid[rows, ks], grid[rows, ks + 1], 1e-14)
    sw = 1.0 / _dphi2(act, q)
    reached = _q_grid(act, sw, sb[rows])
    ok = np.isclose(reached, q, rtol=1e-8, atol=1e-300) | ((q == 0) & (reached == 0))
    for r, s_ in zip(rows[ok], sw[ok], strict=True):
        out[r] = s_ if np.isnan(out[r]) else min(out[r], s_)
    return out


def _critical(act, sb, strict=True):
    """The critical sigma_w^2 at each sigma_b^2 of the array sb, all at once (nan where
    there is none, or a ValueError when ``strict``): from :func:`_critical_by_q`, else
    the first upward crossing of chi_1 = 1 on a scan of sigma_w2, refined by the Illinois
    method."""
    sb = np.asarray(sb, float)
    root = _critical_by_q(act, sb)
    todo = np.flatnonzero(np.isnan(root))
    if todo.size:
        root[todo] = _critical_scan(act, sb[todo], strict)
    return root


def _critical_scan(act, sb, strict):
    sb = np.asarray(sb, float)
    f = _chi1_minus_1(act, _SW_SCAN[None, :] + 0 * sb[:, None], sb[:, None])
    up = (f[:, :-1] < 0) & (f[:, 1:] >= 0)
    found = up.any(1)
    if strict and not found.all():
        i = int(np.flatnonzero(~found)[0])
        raise ValueError(f"no critical point (chi_1 = 1) for sigma_w2 in "
                         f"[{_SW_SCAN[0]:g}, {_SW_SCAN[-1]:g}] at sigma_b2={sb[i]}: chi_1 "
                         f"ranges over [{f[i].min() + 1:.4g}, {f[i].max() + 1:.4g}]")
    root = np.full(sb.size, np.nan)
    rows = np.flatnonzero(found)
    k = up[rows].argmax(1)
    lo, hi = _SW_SCAN[k], _SW_SCAN[k + 1]
    sbr = sb[rows]
    root[rows] = _illinois(lambda x, idx: _chi1_minus_1(act, x, sbr[idx]), lo, hi,
                           f[rows, k], f[rows, k + 1], 1e-13)
    err = _chi1_minus_1(act, root[rows], sbr)
    jump = np.abs(err) > 1e-8
    if strict and jump.any():
        i = int(np.flatnonzero(jump)[0])
        raise ValueError(f"chi_1 jumps over 1 at sigma_w2={root[rows][i]:.6g}, sigma_b2="
                         f"{sbr[i]} (the fixed point q* reached from q0 = 1 changes there)")
    root[rows[jump]] = np.nan
    return root


def critical_line(activation, sigma_b2_grid, *, param=None) -> np.ndarray:
    """:func:`critical_sigma_w2` at every sigma_b^2 of the grid at once (nan where there is
    none)."""
    return _critical(_act(activation, param), np.asarray(sigma_b2_grid, float).ravel(),
                     strict=False)


def phase_diagram(activation, sigma_w2_grid, sigma_b2_grid, *, param=None) -> dict:
    """chi_1, q*, c*, xi_q, xi_c over a (sigma_w^2, sigma_b^2) grid (arrays of shape
    (len(sigma_b2_grid), len(sigma_w2_grid)); chi_1 < 1 is ordered, > 1 chaotic) and
    "critical": the critical sigma_w^2 at each sigma_b^2 (nan where there is none).
    Vectorized: one scan table of E[phi^2], the Illinois method on every point at once,
    Newton's method on the chaotic points' c-maps together."""
    act = _act(activation, param)
    sw, sb = np.asarray(sigma_w2_grid, float), np.asarray(sigma_b2_grid, float)
    S, B = np.meshgrid(sw, sb)
    q = _q_grid(act, S, B)
    chi = _chi1_at(act, S, q)
    c = np.ones(S.shape)
    chaos = chi > 1
    slope_c = chi.copy()
    c[chaos], slope_c[chaos] = _c_solve(act, q[chaos], S[chaos], B[chaos], 0.0, 0.5, 1e-13)
    crit = critical_line(act, sb)
    return {"sigma_w2": sw, "sigma_b2": sb, "q_star": q, "chi1": chi, "c_star": c,
            "xi_q": _xi(S * _slope(act, q)), "xi_c": _xi(slope_c), "critical": crit}


def _q_grid(act, S, B):
    """q* (from q0 = 1) at every grid point, vectorized: brackets from the scan table,
    then the Illinois method on all points at once."""
    table = _table(act)
    f = S[..., None] * table + B[..., None] - _QGRID  # (..., grid)
    v0 = S * float(_second(act, 1.0)) + B
    k1 = int(np.searchsorted(_QGRID, 1.0))  # _QGRID[k1] == 1
    up = v0 > 1
    # ascending: first k >= k1 with f <= 0; descending: last k < k1 with f >= 0
    ge = np.where(np.arange(_QGRID.size) >= k1, f <= 0, False)
    first = np.where(ge.any(-1), ge.argmax(-1), -1)
    le = np.where(np.arange(_QGRID.size) <= k1, f >= 0, False)
    last = _QGRID.size - 1 - le[..., ::-1].argmax(-1)
    q = np.full(S.shape, np.nan)
    lo, hi = np.zeros(S.shape), np.zeros(S.shape)
    for mask, k in ((up, first), (~up, last)):
        ok = mask & (k >= 0)
        kk = np.where(ok, k, 0)
        fk = np.take_along_axis(f, kk[..., None], -1)[..., 0]
        zero = ok & (fk == 0)
        q[zero] = _QGRID[kk[zero]]
        brk = ok & ~zero
        if mask is up:
            lo[brk], hi[brk] = _QGRID[kk[brk] - 1], _QGRID[kk[brk]]
        else:
            lo[brk], hi[brk] = _QGRID[kk[brk]], _QGRID[kk[brk] + 1]
        q[brk] = -1.0  # to refine
    q[(v0 == 1.0)] = 1.0
    rest = np.isnan(q)  # beyond the table: the scalar path
    for i in zip(*np.nonzero(rest), strict=True):
        q[i] = _q_star(act, float(S[i]), float(B[i]), 0.0, 1.0, 1e-14)
    ref = q == -1.0
    if ref.any():
        q[ref] = _q_roots(act, S[ref], B[ref], lo[ref], hi[ref], 1e-14)
    return q


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
    """Nodes and weights over |z| <= 10 cut at ``breaks`` (ascending, clipped to the span;
    empty pieces weigh nothing), ``count`` panels a piece, Gaussian density included."""
    breaks = np.clip(breaks, -_gauss.SPAN, _gauss.SPAN)
    lo = np.concatenate([[-_gauss.SPAN], breaks])
    hi = np.concatenate([breaks, [_gauss.SPAN]])
    parts = [_panels(lo[i], hi[i], count) for i in range(lo.size)]
    z = np.concatenate([p[0] for p in parts])
    w = np.concatenate([p[1] for p in parts]) * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    return z, w


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


def _check_spectrum_args(init, depth):
    if init not in ("gaussian", "orthogonal"):
        raise ValueError(f"init must be 'gaussian' or 'orthogonal', got {init!r}")
    check_int(depth, "depth", 1)


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


def critical_point(activation, q_star_target, *, param=None) -> tuple[float, float]:
    """(sigma_w^2, sigma_b^2) on the critical line with fixed point q*: chi_1 = 1 gives
    sigma_w^2 = 1 / E[phi'(sqrt(q*) z)^2], then sigma_b^2 = q* - sigma_w^2 E[phi^2]
    (Pennington et al. 2017 choose tanh networks along the line by q*)."""
    act = _act(activation, param)
    if not q_star_target > 0:
        raise ValueError(f"q_star_target must be > 0, got {q_star_target}")
    sw = 1.0 / float(_dphi2(act, q_star_target))
    sb = q_star_target - sw * float(_second(act, q_star_target))
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
