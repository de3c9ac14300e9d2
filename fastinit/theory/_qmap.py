"""The q-map V and its fixed points: every root of V(q) - q (:func:`fixed_points`) and the
one the iteration reaches from q0 (:func:`q_star`)."""

from __future__ import annotations

import functools
import math

import numpy as np

from ._moments import HUGE, _act, _params, _second, _second_slope, second_moment

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
    sigma_w2, sigma_b2, dropout = _params(sigma_w2, sigma_b2, dropout)
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
    sigma_w2, sigma_b2, dropout = _params(sigma_w2, sigma_b2, dropout)
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
    sigma_w2, sigma_b2, dropout = _params(sigma_w2, sigma_b2, dropout)
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
