"""Jacobian spectra (Pennington, Schoenholz & Ganguli 2017): the free-probability moments
against closed forms, the density against Marchenko-Pastur and its own moments, and both
against Monte Carlo spectra of simulate(jacobian_at=...)."""

import math

import numpy as np
import pytest

from fastinit import propagate, theory

TANH = theory.critical_point("tanh", 1 / 64)


@pytest.mark.parametrize("depth", [1, 5, 30])
def test_linear_gaussian_moments_are_fuss_catalan(depth):
    m = theory.jacobian_moments("linear", "gaussian", 1.0, 0.0, depth, k=6)
    fc = [math.comb((depth + 1) * k, k) / (depth * k + 1) for k in range(1, 7)]
    np.testing.assert_allclose(m, fc, rtol=1e-9)
    scaled = theory.jacobian_moments("linear", "gaussian", 2.0, 0.0, depth, k=3)
    np.testing.assert_allclose(scaled, [2.0 ** (depth * k) * f for k, f in
                                        zip(range(1, 4), fc[:3], strict=True)], rtol=1e-9)


def test_linear_orthogonal_moments_are_a_point_mass():
    np.testing.assert_allclose(theory.jacobian_moments("linear", "orthogonal", 1.5, 0.0, 7),
                               [1.5 ** (7 * k) for k in range(1, 5)], rtol=1e-12)
    s = theory.jacobian_spectrum("linear", "orthogonal", 1.5, 0.0, 7)
    assert s["lam"][0] == pytest.approx(1.5**7) and s["atom"] == 0


@pytest.mark.parametrize("init,s1", [("gaussian", -1), ("orthogonal", 0)])
def test_variance_matches_pennington_closed_form(init, s1):
    """At m_1 = sigma_w^2 the normalized variance adds over the free factors:
    (L - 1)(mu_2 / mu_1^2 - 1) - L s_1 (Pennington et al. 2017, eq. 15 for our J)."""
    sw, sb = TANH
    q = theory.q_star("tanh", sw, sb)
    x, w = np.polynomial.hermite_e.hermegauss(200)
    d = (1 - np.tanh(math.sqrt(q) * x) ** 2) ** 2
    mu1, mu2 = (w @ d) / w.sum(), (w @ d**2) / w.sum()
    depth = 40
    m1, m2 = theory.jacobian_moments("tanh", init, sw, sb, depth, k=2)
    assert m1 == pytest.approx(sw, rel=1e-9)  # chi_1 = 1: one sigma_w^2 left over
    assert m2 / m1**2 - 1 == pytest.approx((depth - 1) * (mu2 / mu1**2 - 1) - depth * s1,
                                           rel=1e-6)
    # relu: mu_2 / mu_1^2 = 2, so no dynamical isometry even with orthogonal weights
    r1, r2 = theory.jacobian_moments("relu", "orthogonal", 2.0, 0.0, depth, k=2)
    assert r2 / r1**2 - 1 == pytest.approx(depth - 1, rel=1e-12)


def test_density_of_one_gaussian_layer_is_marchenko_pastur():
    lam = np.linspace(0.05, 3.95, 200)
    s = theory.jacobian_spectrum("linear", "gaussian", 1.0, 0.0, 1, lam=lam)
    mp = np.sqrt(lam * (4 - lam)) / (2 * math.pi * lam)
    np.testing.assert_allclose(s["density"], mp, atol=1e-5)
    assert s["edge"] == pytest.approx(4.0, rel=1e-9)


@pytest.mark.parametrize("case", [
    ("tanh", "orthogonal", *TANH, 16), ("tanh", "gaussian", *TANH, 16),
    ("tanh", "gaussian", 1.5, 0.05, 10), ("relu", "gaussian", 2.0, 0.0, 8),
    ("relu", "orthogonal", 2.0, 0.0, 8), ("erf", "orthogonal", *theory.critical_point(
        "erf", 0.1), 64)], ids=lambda c: "-".join(map(str, c)))
def test_density_integrates_to_the_series_moments(case):
    """m_1 and m_2 of the density on a grid from 10^-12 of the edge up equal the series
    moments (the mass below the grid carries no weight in them): two independent routes
    through the same S-transforms."""
    act, init, sw, sb, depth = case
    s = theory.jacobian_spectrum(act, init, sw, sb, depth, points=3000)
    lam, rho = s["lam"], s["density"]
    m1, m2 = theory.jacobian_moments(act, init, sw, sb, depth, k=2)
    assert np.trapezoid(lam * rho, lam) == pytest.approx(m1, rel=2e-3)
    assert np.trapezoid(lam**2 * rho, lam) == pytest.approx(m2, rel=2e-3)
    assert s["atom"] + np.trapezoid(rho, lam) <= 1 + 1e-3
    assert rho[lam > 1.001 * s["edge"]].max(initial=0) < 1e-3 * rho.max()


def _theory_cdf(s, x):
    """P(lambda <= x) from the density, anchored at the top (exact above the grid's
    lowest point, whatever mass lies below it)."""
    lam, rho = s["lam"], s["density"]
    above = np.r_[np.cumsum((0.5 * (rho[1:] + rho[:-1]) * np.diff(lam))[::-1])[::-1], 0.0]
    return 1 - np.interp(x, lam, above)


@pytest.mark.parametrize("case", [
    ("tanh", "orthogonal", *TANH, 16), ("tanh", "gaussian", *TANH, 8),
    ("relu", "gaussian", 2.0, 0.0, 8), ("relu", "orthogonal", 2.0, 0.0, 8)],
    ids=lambda c: "-".join(map(str, c)))
def test_monte_carlo_spectra_match_free_probability(case):
    """Squared singular values of J from 4 networks of width 192, inputs at q^1 = q*:
    moments within 4 standard errors over networks plus an O(L / N) finite-width term,
    and the empirical CDF within the DKW bound of 4 x 192 values (alpha = 10^-3; the
    eigenvalues repel, so the i.i.d. bound is conservative) plus 2 / N."""
    act, init, sw, sb, depth = case
    width, nets = 192, 4
    q = theory.q_star(act, sw, sb) or 1.0
    r = propagate.simulate(depth, width, act, init, sw, sb, n_inputs=1, q0=(q - sb) / sw,
                           n_networks=nets, seed=11, dtype=np.float64, track=("q",),
                           jacobian_at=(depth,), method="dense")
    s2 = r.jacobian_sv[depth] ** 2
    m = theory.jacobian_moments(act, init, sw, sb, depth, k=2)
    for k in (1, 2):
        per_net = (s2**k).mean(axis=1)
        se = per_net.std(ddof=1) / math.sqrt(nets)
        assert abs(per_net.mean() - m[k - 1]) < 4 * se + k * depth / width * m[k - 1]
    edge = theory.jacobian_spectrum(act, init, sw, sb, depth, points=2)["edge"]
    s = theory.jacobian_spectrum(act, init, sw, sb, depth,
                                 lam=edge * np.geomspace(1e-12, 1.5, 2000))
    x = np.sort(s2.ravel())
    emp = np.arange(1, x.size + 1) / x.size
    keep = x >= s["lam"][0]
    th = _theory_cdf(s, x[keep])
    ks = np.maximum(np.abs(th - emp[keep]), np.abs(th - emp[keep] + 1 / x.size)).max()
    assert ks < math.sqrt(math.log(2 / 1e-3) / (2 * x.size)) + 2 / width


def test_critical_point_and_bad_arguments():
    sw, sb = theory.critical_point("tanh", 0.25)
    assert theory.chi1("tanh", sw, sb) == pytest.approx(1, rel=1e-9)
    assert theory.q_star("tanh", sw, sb) == pytest.approx(0.25, rel=1e-6)
    with pytest.raises(ValueError, match="q_star_target"):
        theory.critical_point("tanh", 0.0)
    with pytest.raises(ValueError, match="init"):
        theory.jacobian_moments("tanh", "uniform", 1.0, 0.0, 3)
    with pytest.raises(ValueError, match="depth"):
        theory.jacobian_spectrum("tanh", "gaussian", 1.0, 0.0, 0)
    with pytest.raises(ValueError, match="k must"):
        theory.jacobian_moments("tanh", "gaussian", 1.0, 0.0, 3, k=0)
    with pytest.raises(ValueError, match="q\\* is infinite"):
        theory.jacobian_spectrum("elu", "gaussian", 2.5, 0.1, 3)
    with pytest.raises(ValueError, match="points"):
        theory.jacobian_spectrum("tanh", "gaussian", 1.0, 0.05, 3, points=0)
    with pytest.raises(ValueError, match="lam"):
        theory.jacobian_spectrum("tanh", "gaussian", 1.0, 0.05, 3, lam=[-1.0])
    with pytest.raises(ValueError, match="eps"):
        theory.jacobian_spectrum("tanh", "gaussian", 1.0, 0.0, 3, eps=0.5)
