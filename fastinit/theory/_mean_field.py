"""The c-map and its fixed point c*, chi_1, the depth scales and the layer-by-layer
recursion :func:`predicted`, over the q-map and q* of ``_qmap``."""

from __future__ import annotations

import functools

import numpy as np

from ._moments import (
    _HERMITE_N,
    _act,
    _dphi2,
    _mehler,
    _pair,
    _params,
    _qe,
    _second,
    _series,
    _slope,
    cross_moment,
)
from ._qmap import _q_star, q_star, qmap


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
    sigma_w2, sigma_b2, dropout = _params(sigma_w2, sigma_b2, dropout)
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
    act = _act(activation, param)
    return _c_star(act, *_params(sigma_w2, sigma_b2, dropout), float(c0), float(tol))[0]


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
    sigma_w2, sigma_b2, _ = _params(sigma_w2, sigma_b2)
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
    return _depth_scales(_act(activation, param), *_params(sigma_w2, sigma_b2, dropout))


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
    sigma_w2, sigma_b2, dropout = _params(sigma_w2, sigma_b2, dropout)
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
