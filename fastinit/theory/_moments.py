"""Gaussian moments of an activation for the mean-field maps: E[phi^2], its q-derivative,
E[phi'^2] and the pair moments E[phi(u_1) phi(u_2)], E[phi'(u_1) phi'(u_2)], from the
registry's closed forms (:mod:`fastinit._activations`) or the quadrature rules of
:mod:`fastinit._gauss`, and the Mehler (Hermite) series of the pair moments."""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import _activations, _gauss
from .._validate import check_real

TINY, HUGE = 1e-280, 1e200  # where q -> 0+ and q -> infinity are evaluated


def _act(activation, param=None):
    act = _activations.get(activation, param)
    if act.dphi is None:
        raise ValueError("theory needs the activation's derivative: pass (phi, dphi)")
    return act


def _variance(value, name):
    """sigma_w2 or sigma_b2: a finite float >= 0 (ValueError / TypeError naming it)."""
    value = check_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def _params(sigma_w2, sigma_b2, dropout=0.0):
    """(sigma_w2, sigma_b2, dropout) checked before any work: the variances finite and
    >= 0, the drop probability in [0, 1)."""
    p = check_real(dropout, "dropout")
    if not 0 <= p < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return _variance(sigma_w2, "sigma_w2"), _variance(sigma_b2, "sigma_b2"), p


def _grid(values, name):
    """A grid of sigma_w2 or sigma_b2 values, each finite and >= 0, as a float array."""
    grid = np.asarray(values, float)
    if not np.all(np.isfinite(grid) & (grid >= 0)):
        raise ValueError(f"{name} must hold finite values >= 0, got {values!r}")
    return grid


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


def _second_slope(act, q):
    """(E[phi^2], d/dq E[phi^2]) on one rule."""
    if act.moments:
        return act.moments.second(_qe(q)), act.moments.slope(_qe(q))
    q = _qe(q)
    u, w = _gauss.line(act, np.zeros_like(q), np.sqrt(q))
    p, d = act.both(u)
    return (w * p * p).sum(-1), (w * u * p * d).sum(-1) / q


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
    """E[phi(sqrt(q) z)^2].

    Examples
    --------
    >>> from fastinit import theory
    >>> round(theory.second_moment("relu", 2.0), 6)
    1.0
    """
    return float(_second(_act(activation, param), q))


@functools.lru_cache(maxsize=65536)
def _pair_cached(act, q, c):
    return tuple(float(v) for v in _pair(act, q, c))


def cross_moment(activation, q, c, param=None) -> float:
    """E[phi(u_1) phi(u_2)] for (u_1, u_2) Gaussian with variances q and correlation c
    (cached per (activation, q, c)).

    Examples
    --------
    >>> from fastinit import theory
    >>> round(theory.cross_moment("relu", 1.0, 0.0), 6)  # 1 / (2 pi)
    0.159155
    """
    return _pair_cached(_act(activation, param), float(q), float(c))[0]


_HERMITE_N = 256  # Mehler series length


@functools.cache
def _hermite_basis():
    """Nodes z (10-point Gauss-Legendre on panels of 1/8 over |z| <= 14) and the matrix
    w_k phi(z_k) h_n(z_k), h_n = He_n / sqrt(n!) (n <= 256: wavelength >= 0.27)."""
    edges = np.linspace(-14.0, 14.0, 225)
    z, w = _gauss.panels(edges)
    h = np.empty((z.size, _HERMITE_N + 1))
    h[:, 0], h[:, 1] = 1.0, z
    for n in range(1, _HERMITE_N):
        h[:, n + 1] = (z * h[:, n] - math.sqrt(n) * h[:, n - 1]) / math.sqrt(n + 1)
    return z, (w * _gauss.normal_pdf(z))[:, None] * h


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
