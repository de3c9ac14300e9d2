"""The package's one quadrature module: Gauss-Legendre panels (:func:`panels`), the normal
density (:func:`normal_pdf`), and the rules of the activations' gains and of
fastinit.theory for Gaussian expectations E[f(u)], u ~ N(m, s^2), and E[f(u_1) g(u_2)]
for a correlated pair, accurate from s^2 = 1e-8 to 1e8: composite 10-point
Gauss-Legendre in u on panels cut at the activation's kinks, at its scale points
+-scale * 2^j (j = -2..5: the width of phi' and of 1 - phi^2 for saturating laws, which
a fixed Gauss-Hermite rule misses once s >> scale) and at the Gaussian's own points
m + s * {0, +-2, .., +-10}; |u - m| <= 10 s (the mass beyond is 1.5e-23).  Every panel
holds a smooth integrand, so each converges geometrically (checked against adaptive
quadrature and mpmath to 1e-13).

Rules take arrays of m and s (shape (...)) and return nodes and weights of shape
(..., n), the Gaussian density included: breakpoints outside the span are clipped onto
its ends, where their panels have zero width and weigh nothing, so every point of a
batch has the same node count.  A 0-d call drops those empty panels."""

from __future__ import annotations

import functools
import math

import numpy as np

SPAN = 10.0
_G = np.array([2, 4, 6, 8, 10], float)
GAUSS_POINTS = np.concatenate([-_G[::-1], [0.0], _G])
_A = 2.0 ** np.arange(-2, 6)
SCALE_POINTS = np.concatenate([-_A[::-1], [0.0], _A])
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def normal_pdf(x):
    """The standard normal density exp(-x^2 / 2) / sqrt(2 pi), elementwise (numpy or CuPy
    arrays)."""
    with np.errstate(over="ignore"):
        return np.exp(-0.5 * x * x) * _INV_SQRT_2PI


@functools.cache
def _legendre(order):
    return np.polynomial.legendre.leggauss(order)


def panels(breaks, order=10):
    """``order``-point Gauss-Legendre nodes and (Lebesgue) weights on the panels between
    sorted breaks (..., k): shape (..., order (k - 1)); a zero-width panel weighs
    nothing."""
    gl_x, gl_w = _legendre(order)
    a, b = breaks[..., :-1], breaks[..., 1:]
    half = 0.5 * (b - a)
    mid = 0.5 * (a + b)
    x = (mid[..., None] + half[..., None] * gl_x).reshape(*mid.shape[:-1], -1)
    w = (half[..., None] * gl_w).reshape(x.shape)
    return x, w


def activation_breaks(act):
    """The activation's own cut points: its kinks and +-scale * 2^j."""
    return np.concatenate([act.scale * SCALE_POINTS, np.asarray(act.kinks, float)])


def line(act, mean, sd, extra=None):
    """Nodes u and weights (density included) of E[f(u)], u ~ N(mean, sd^2), sd > 0;
    ``extra`` (..., k): more cut points."""
    mean, sd = np.asarray(mean, float), np.asarray(sd, float)
    lo, hi = mean - SPAN * sd, mean + SPAN * sd
    parts = [mean[..., None] + sd[..., None] * GAUSS_POINTS,
             np.broadcast_to(activation_breaks(act), mean.shape + (len(SCALE_POINTS)
                                                                   + len(act.kinks),))]
    if extra is not None:
        parts.append(np.asarray(extra, float))
    breaks = np.clip(np.concatenate(parts, axis=-1), lo[..., None], hi[..., None])
    breaks = np.unique(breaks) if breaks.ndim == 1 else np.sort(breaks, axis=-1)
    u, w = panels(breaks)
    return u, w * normal_pdf((u - mean[..., None]) / sd[..., None]) / sd[..., None]


def plane(act, q, c):
    """(u1 (..., n1, 1), u2 (..., n1, n2), w (..., n1, n2)) for E[f(u1) g(u2)], u1 and u2
    N(0, q) with correlation c, |c| < 1: u1 on the line rule, then u2 | u1 ~ N(c u1,
    q (1 - c^2)) on the line rule at each u1 node.  The inner mean of g is a kink of g
    smoothed over s2 = sqrt(q (1 - c^2)) at u1 = k / c, so the outer rule is also cut at
    (k + s2 {0, +-2, .., +-10}) / c for every kink k, and for k = 0 when s2 / |c| exceeds
    4 scale (phi's rise at 0 smoothed wider than the scale points reach)."""
    q, c = np.asarray(q, float), np.asarray(c, float)
    s = np.sqrt(q)
    s2 = s * np.sqrt(1 - c * c)
    wide = bool(np.any(s2 > 4 * act.scale * np.abs(c)))
    centers = np.array(sorted({*act.kinks, *((0.0,) if wide else ())}))
    if centers.size == 0:
        return _plane_rows(act, s, c, s2, None)
    cc = np.where(c == 0, 1.0, c)[..., None, None]
    pts = (centers[:, None] + s2[..., None, None] * GAUSS_POINTS) / cc
    extra = np.where((c == 0)[..., None, None], 0.0, pts).reshape(*q.shape, -1)
    return _plane_rows(act, s, c, s2, extra)


def _plane_rows(act, s, c, s2, extra):
    u1, w1 = line(act, np.zeros_like(s), s, extra)
    u2, w2 = line(act, c[..., None] * u1, np.broadcast_to(s2[..., None], u1.shape))
    return u1[..., None], u2, w1[..., None] * w2
