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

This module only gathers the public names; the work is in ``_moments`` (the Gaussian
moments), ``_qmap`` (the q-map and its fixed points), ``_mean_field`` (c-map, c*, chi_1,
depth scales, :func:`predicted`), ``_criticality`` (the order-to-chaos line,
:func:`phase_diagram`) and ``_spectra`` (Jacobian spectra).
"""

from ._criticality import critical_line, critical_point, critical_sigma_w2, phase_diagram
from ._mean_field import c_star, chi1, cmap, depth_scales, predicted
from ._moments import HUGE, TINY, cross_moment, second_moment

# the Gaussian moments tests/test_theory_reference.py checks the quadrature on
from ._moments import _dphi2 as _dphi2
from ._moments import _pair as _pair
from ._moments import _second as _second
from ._moments import _slope as _slope
from ._qmap import fixed_points, q_star, qmap
from ._spectra import STEP, jacobian_moments, jacobian_spectrum

__all__ = [
    "HUGE",
    "STEP",
    "TINY",
    "c_star",
    "chi1",
    "cmap",
    "critical_line",
    "critical_point",
    "critical_sigma_w2",
    "cross_moment",
    "depth_scales",
    "fixed_points",
    "jacobian_moments",
    "jacobian_spectrum",
    "phase_diagram",
    "predicted",
    "q_star",
    "qmap",
    "second_moment",
]
