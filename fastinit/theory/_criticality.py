"""The order-to-chaos line chi_1 = 1: critical sigma_w^2 at each sigma_b^2, the phase
diagram over a grid, and the critical point with a given q*."""

from __future__ import annotations

import functools

import numpy as np

from ._mean_field import _c_solve, _chi1_at, _xi
from ._moments import _act, _dphi2, _grid, _second, _slope, _variance
from ._qmap import _QGRID, _illinois, _q_roots, _q_star, _table

_SW_SCAN = np.geomspace(1e-4, 1e6, 51)


def _chi1_minus_1(act, sw, sb):
    """chi_1 - 1 at arrays sw, sb (q* from q0 = 1)."""
    sw, sb = np.broadcast_arrays(np.asarray(sw, float), np.asarray(sb, float))
    return _chi1_at(act, sw, _q_grid(act, sw, sb)) - 1


def critical_sigma_w2(activation, sigma_b2, *, param=None) -> float:
    """sigma_w^2 on the order-to-chaos line (chi_1 = 1) at this sigma_b^2: the first
    crossing on a scan of sigma_w2 over [1e-4, 1e6] (5 points a decade), refined by the
    Illinois method; a ValueError names the range when chi_1 stays on one side or jumps
    over 1 (where the fixed point q* reached from q0 = 1 changes).

    Examples
    --------
    >>> from fastinit import theory
    >>> round(theory.critical_sigma_w2("tanh", 0.05), 4)
    1.761
    """
    act = _act(activation, param)
    return float(_critical(act, np.array([_variance(sigma_b2, "sigma_b2")]))[0])


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
    none).

    Examples
    --------
    >>> from fastinit import theory
    >>> theory.critical_line("tanh", [0.0, 0.05]).round(4).tolist()
    [1.0, 1.761]
    """
    return _critical(_act(activation, param), _grid(sigma_b2_grid, "sigma_b2_grid").ravel(),
                     strict=False)


def phase_diagram(activation, sigma_w2_grid, sigma_b2_grid, *, param=None) -> dict:
    """chi_1, q*, c*, xi_q, xi_c over a (sigma_w^2, sigma_b^2) grid (arrays of shape
    (len(sigma_b2_grid), len(sigma_w2_grid)); chi_1 < 1 is ordered, > 1 chaotic) and
    "critical": the critical sigma_w^2 at each sigma_b^2 (nan where there is none).
    Vectorized: one scan table of E[phi^2], the Illinois method on every point at once,
    Newton's method on the chaotic points' c-maps together.

    Examples
    --------
    >>> from fastinit import theory
    >>> d = theory.phase_diagram("tanh", [0.5, 1.0, 2.0], [0.0, 0.1])
    >>> d["chi1"].shape, (d["chi1"] > 1).tolist()
    ((2, 3), [[False, False, True], [False, False, True]])
    """
    act = _act(activation, param)
    sw, sb = _grid(sigma_w2_grid, "sigma_w2_grid"), _grid(sigma_b2_grid, "sigma_b2_grid")
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


def critical_point(activation, q_star_target, *, param=None) -> tuple[float, float]:
    """(sigma_w^2, sigma_b^2) on the critical line with fixed point q*: chi_1 = 1 gives
    sigma_w^2 = 1 / E[phi'(sqrt(q*) z)^2], then sigma_b^2 = q* - sigma_w^2 E[phi^2]
    (Pennington et al. 2017 choose tanh networks along the line by q*).

    Examples
    --------
    >>> from fastinit import theory
    >>> sw2, sb2 = theory.critical_point("tanh", 0.5)
    >>> round(sw2, 4), round(sb2, 4), round(theory.chi1("tanh", sw2, sb2), 6)
    (1.688, 0.038, 1.0)
    """
    act = _act(activation, param)
    if not q_star_target > 0:
        raise ValueError(f"q_star_target must be > 0, got {q_star_target}")
    sw = 1.0 / float(_dphi2(act, q_star_target))
    sb = q_star_target - sw * float(_second(act, q_star_target))
    if sb < -1e-12 * q_star_target:
        raise ValueError(f"no critical point with q* = {q_star_target}: it needs "
                         f"sigma_b^2 = {sb:.3g} < 0")
    return sw, max(sb, 0.0)
