"""The q-map and c-map, their fixed points q* and c*, chi_1, the depth scales and the
layer-by-layer recursion :func:`predicted`."""

from __future__ import annotations

import functools
import math

import numpy as np

from ._moments import (
    _HERMITE_N,
    HUGE,
    _act,
    _dphi2,
    _mehler,
    _pair,
    _qe,
    _second,
    _second_slope,
    _series,
    _slope,
    cross_moment,
    second_moment,
)

_QGRID = np.concatenate([[0.0], np.geomspace(1e-12, 1e12, 241)])


def qmap(q, activation, sigma_w2, sigma_b2, *, dropout=0.0, param=None) -> float:
    """V(q) = sigma_w^2 / (1 - p) E[phi(sqrt(q) z)^2] + sigma_b^2.

    Parameters
    ----------
    activation, sigma_w2, sigma_b2, dropout, param
        As :func:`q_star`.

    Examples
    --------
    >>> from fastinit import theory
    >>> round(theory.qmap(1.0, "relu", 2.0, 0.0), 6)  # He init keeps q
    1.0
    """
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
    q-map diverges); a root pair closer than a factor 10^0.1 may be missed by the scan.

    Parameters
    ----------
    activation, sigma_w2, sigma_b2, dropout, param
        As :func:`q_star`.

    Examples
    --------
    >>> from fastinit import theory
    >>> [(round(q, 4), stable) for q, stable in theory.fixed_points("tanh", 1.5, 0.05)]
    [(0.418, True)]
    """
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
    q* = 0 like 1 / l).

    Parameters
    ----------
    activation : str or Activation
        A name of the activation registry (tanh, relu, erf, gelu, ...) or an Activation.
    sigma_w2, sigma_b2 : float
        Weight and bias variances (weights ``N(0, sigma_w2 / fan_in)``).
    dropout : float
        Drop probability p in [0, 1) of inverted dropout before each layer.
    param : float, optional
        The activation's parameter (leaky_relu's slope, elu's alpha, ...).
    q0 : float
        The input's second moment, where the iteration starts.
    method : {"bracket", "iterate"}
    tol : float
        Relative tolerance.
    max_iter : int
        Iterations of "iterate".

    Returns
    -------
    float

    Examples
    --------
    >>> from fastinit import theory
    >>> round(theory.q_star("tanh", 1.5, 0.05), 4)
    0.418
    >>> theory.q_star("tanh", 0.5, 0.0)
    0.0
    """
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
    q -> 0+, where relu's map is scale free).

    Parameters
    ----------
    activation, sigma_w2, sigma_b2, dropout, param
        As :func:`q_star`.

    Examples
    --------
    >>> from fastinit import theory
    >>> round(theory.cmap(0.5, 1.0, "relu", 2.0, 0.0), 4)
    0.609
    """
    act = _act(activation, param)
    v = qmap(q, act, sigma_w2, sigma_b2, dropout=dropout)
    return (sigma_w2 * cross_moment(act, q, c) + sigma_b2) / v if q > 0 else \
        float(_cmap_parts(act, q, sigma_w2, sigma_b2, c, dropout)[0])


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
    dropout, c0 itself where the map is the identity (q* = 0 with a smooth phi).

    Parameters
    ----------
    activation, sigma_w2, sigma_b2, dropout, param
        As :func:`q_star`.
    c0 : float
        The starting correlation.
    tol : float
        Absolute tolerance of the root.

    Examples
    --------
    >>> from fastinit import theory
    >>> theory.c_star("tanh", 1.5, 0.05)
    1.0
    >>> bool(theory.c_star("tanh", 4.0, 0.05) < 1)
    True
    """
    if not -1 <= c0 <= 1:
        raise ValueError(f"c0 must be in [-1, 1], got {c0}")
    return _c_star(_act(activation, param), float(sigma_w2), float(sigma_b2),
                   float(dropout), float(c0), float(tol))[0]


def _chi1_at(act, sigma_w2, q):
    return sigma_w2 * _dphi2(act, q)


def chi1(activation, sigma_w2, sigma_b2, *, param=None, q=None) -> float:
    """chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] (q* unless q is given; at q* = inf the
    limit sigma_w^2 (phi'(inf)^2 + phi'(-inf)^2) / 2).

    Parameters
    ----------
    activation, sigma_w2, sigma_b2, param
        As :func:`q_star`.
    q : float, optional
        The second moment at which to evaluate (default q* from q0 = 1).

    Examples
    --------
    >>> from fastinit import theory
    >>> round(theory.chi1("tanh", 1.5, 0.05), 4)
    0.9386
    >>> theory.chi1("relu", 2.0, 0.0)
    1.0
    """
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
    (xi_c diverges on the critical line chi_1 = 1).

    Parameters
    ----------
    activation, sigma_w2, sigma_b2, dropout, param
        As :func:`q_star`.

    Examples
    --------
    >>> from fastinit import theory
    >>> xi_q, xi_c = theory.depth_scales("tanh", 1.5, 0.05)
    >>> round(xi_q, 2), round(xi_c, 2)
    (1.68, 15.79)
    """
    return _depth_scales(_act(activation, param), float(sigma_w2), float(sigma_b2),
                         float(dropout))


def predicted(activation, sigma_w2, sigma_b2, depth, q0, c0, *, dropout=0.0, param=None,
              residual=None, alpha=1.0, stochastic_depth=0.0):
    """Mean-field ``q^l``, ``c^l`` and gradient growth ``g^l`` for l = 0..depth of
    :func:`fastinit.propagate.simulate`'s model.

    Layer 1 is linear in the input: ``q^1 = sigma_w^2 q0 + sigma_b^2``.  ``g^l`` is the
    growth of a gradient's squared norm through layer l (``g^0 = 1``,
    ``g^1 = sigma_w^2``): ``|J_l v|^2 = g^l |J_{l-1} v|^2`` forward,
    ``|delta^{l-1}|^2 = g^l |delta^l|^2`` backward (the gradient variance recursion;
    Schoenholz et al. 2017).

    Returns
    -------
    q, c, g : ndarray
        Each of length depth + 1.

    Notes
    -----
    Plain layers (dropout keeps 1 - p and rescales, so ``E[mask^2] = 1 / (1 - p)``)::

        q^l = V(q^{l-1}),  g^l = chi(q^{l-1}) = sigma_w^2 / (1 - p) E[phi'(h)^2]

    Residual networks (Yang & Schoenholz 2017): ``h^l = h^{l-1} + alpha F(h^{l-1})`` with
    F independent of ``h^{l-1}``, so second moments add, ``a = alpha^2 / (1 - p_sd)``
    (stochastic depth keeps F with probability ``1 - p_sd``, scaled by
    ``1 / (1 - p_sd)``)::

        residual="one", F = W phi(h) + b:
          q^l = q^{l-1} + a V(q^{l-1}),  c^l q^l = c^{l-1} q^{l-1} + a (sigma_w^2 E[phi phi]
          + sigma_b^2),  g^l = 1 + a chi(q^{l-1});
        residual="two", F = W_b phi(u) + b_b with u = W_a phi(h) + b_a: u has
          q_u = V(q^{l-1}) and correlation c_u = C(c^{l-1}) (the plain maps), F has
          V(q_u) and C(c_u) in turn, and g^l = 1 + a chi(q^{l-1}) chi(q_u).

    Examples
    --------
    >>> from fastinit import theory
    >>> q, c, g = theory.predicted("relu", 2.0, 0.0, depth=3, q0=1.0, c0=0.5)
    >>> q.round(4).tolist(), g.round(4).tolist()
    ([1.0, 2.0, 2.0, 2.0], [1.0, 2.0, 1.0, 1.0])
    """
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
