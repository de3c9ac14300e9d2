"""fastinit.theory against an independent reference: adaptive Gauss-Kronrod quadrature
(scipy.integrate.quad, error-controlled, with breakpoints) for every activation and
function, nested quad for the pair expectations, mpmath at 30 digits for spot checks,
and the closed forms (relu / leaky_relu / linear arc-cosine kernels, erf) against the
numerical path stripped of them.

Tolerances: the spec is a relative error <= 1e-8 (absolute for c*).  The quadrature's
own target is ~1e-13; a root inherits its equation's residual divided by the slope
|1 - V'(q*)| (or |1 - C'(c*)|), so fixed points are checked through the reference's
residual at our root, which bounds |root - true root| by residual / |1 - slope|."""

import math

import mpmath as mp
import numpy as np
import pytest
from scipy import integrate

from fastinit import _activations, theory

NAMES = sorted(_activations.REGISTRY)
QS = [1e-8, 1e-4, 0.01, 1.0, 30.0, 1e3, 1e5, 1e8]
SPEC = 1e-8


def _pieces(act, mean, sd):
    """Breakpoints of the reference: the Gaussian's +-k sd, the activation's kinks and
    powers of two of its scale (where phi' and 1 - phi^2 live), clipped to 12 sd."""
    lo, hi = mean - 12 * sd, mean + 12 * sd
    pts = {mean, 0.0, *act.kinks}
    pts |= {mean + k * sd for k in range(-12, 13)}
    pts |= {s * act.scale * 2.0 ** j for j in range(-4, 8) for s in (-1, 1)}
    return [lo] + sorted(p for p in pts if lo < p < hi) + [hi]


def ref_expect(act, f, q, mean=0.0):
    """E[f(u)], u ~ N(mean, q), by quad on each piece; returns (value, error estimate)."""
    sd = math.sqrt(q)

    def g(u):
        return float(f(np.float64(u))) * math.exp(-0.5 * ((u - mean) / sd) ** 2) / (
            sd * math.sqrt(2 * math.pi))

    p = _pieces(act, mean, sd)
    total, err = 0.0, 0.0
    for a, b in zip(p[:-1], p[1:], strict=True):
        v, e = integrate.quad(g, a, b, epsabs=0, epsrel=1e-13, limit=400)
        total, err = total + v, err + e
    return total, err


def ref_pair(act, f, q, c):
    """E[f(u_1) f(u_2)] by nested quad: u_1 ~ N(0, q), u_2 | u_1 ~ N(c u_1, q (1 - c^2)),
    each one quad call over 12 sd with the activation's breakpoints inside (epsrel 1e-11)."""
    s, s2 = math.sqrt(q), math.sqrt(q * (1 - c * c))

    def quad(g, mean, sd):
        pts = [p for p in (0.0, *act.kinks, *(k * act.scale for k in (-4, -1, 1, 4)),
                           *(mean + k * sd for k in (-6, -3, -1, 1, 3, 6)))
               if abs(p - mean) < 12 * sd]
        return integrate.quad(lambda u: g(u) * math.exp(-0.5 * ((u - mean) / sd) ** 2),
                              mean - 12 * sd, mean + 12 * sd, points=pts, epsabs=0,
                              epsrel=1e-11, limit=300)[0] / (sd * math.sqrt(2 * math.pi))

    inner = lambda u1: quad(lambda u2: float(f(np.float64(u2))), c * u1, s2)  # noqa: E731
    return quad(lambda u1: float(f(np.float64(u1))) * inner(u1), 0.0, s), 0.0


def _close(ours, ref, err, rel=SPEC):
    assert abs(ours - ref) <= rel * abs(ref) + 10 * err, (ours, ref, err)


@pytest.mark.parametrize("name", NAMES)
def test_one_dimensional_moments_for_every_q(name):
    """E[phi^2], d/dq E[phi^2] = E[u phi phi'] / q and E[phi'^2] for q from 1e-8 to 1e8."""
    act = _activations.get(name)
    for q in QS:
        ref, err = ref_expect(act, lambda u: act.phi(u) ** 2, q)
        _close(float(theory._second(act, q)), ref, err)
        ref, err = ref_expect(act, lambda u: u * act.phi(u) * act.dphi(u), q)
        _close(float(theory._slope(act, q)), ref / q, err / q)
        ref, err = ref_expect(act, lambda u: act.dphi(u) ** 2, q)
        _close(float(theory._dphi2(act, q)), ref, err)


def _stripped(name, param=None):
    """The registry activation without its closed forms: the numerical path."""
    act = _activations.get(name, param)
    return _activations.Activation(act.name + "-numeric", act.phi, act.dphi, act.kinks,
                                   scale=act.scale)


@pytest.mark.parametrize("name,param", [("relu", None), ("leaky_relu", 0.2), ("linear", None),
                                        ("erf", None)])
def test_closed_forms_equal_the_numerical_path(name, param):
    """Every closed form (1-D and pair, c up to 1 - 1e-12 and c = +-1) against the panel
    rules: an independent check of the pair rule at kinks and near c = 1."""
    closed, numeric = _activations.get(name, param), _stripped(name, param)
    for q in (1e-6, 0.3, 2.0, 50.0, 1e4):
        for fn in (theory._second, theory._slope, theory._dphi2):
            assert float(fn(numeric, q)) == pytest.approx(float(fn(closed, q)), rel=1e-11)
        cs = np.array([-1.0, -0.9, 0.0, 0.5, 0.99, 1 - 1e-6, 1 - 1e-12, 1.0])
        k1, d1 = theory._pair(closed, q, cs)
        k2, d2 = theory._pair(numeric, q, cs)
        scale0, scale1 = float(theory._second(closed, q)), float(theory._dphi2(closed, q))
        np.testing.assert_allclose(k2, k1, rtol=0, atol=1e-10 * scale0)
        np.testing.assert_allclose(d2, d1, rtol=0, atol=1e-10 * scale1)


@pytest.mark.parametrize("name,q,c", [("tanh", 5.0, 0.9), ("selu", 0.7, 0.3),
                                      ("hardtanh", 2.0, -0.6), ("gelu", 40.0, 0.999),
                                      ("sigmoid", 100.0, 0.5)])
def test_pair_expectations_against_nested_quad(name, q, c):
    act = _activations.get(name)
    k, kd = theory._pair(act, q, c)
    ref, err = ref_pair(act, act.phi, q, c)
    _close(float(k), ref, err)
    ref, err = ref_pair(act, act.dphi, q, c)
    _close(float(kd), ref, err)


CASES = [(sw, sb) for sw in (0.01, 0.5, 1.5, 4.0, 30.0, 1000.0) for sb in (0.0, 0.1, 10.0)]


def _ref_v(act, sw, sb, q):
    return sw * ref_expect(act, lambda u: act.phi(u) ** 2, q)[0] + sb


@pytest.mark.parametrize("name", NAMES)
def test_fixed_points_and_chi1_over_the_grid(name):
    """q* (where finite and positive) leaves a reference residual |V(q*) - q*| that bounds
    its error by residual / |1 - V'(q*)|; chi_1 = sigma_w^2 E[phi'^2] at q* then carries
    that error times |d log E[phi'^2] / d log q| <= 1 on top of the moment's."""
    act = _activations.get(name)
    for sw, sb in CASES:
        q = theory.q_star(act, sw, sb)
        if not 0 < q < math.inf:
            continue
        resid = _ref_v(act, sw, sb, q) - q
        slope = sw * float(theory._slope(act, q))
        err_q = abs(resid) / abs(1 - slope) / q
        assert err_q <= 1e-10, (sw, sb, q, err_q)
        ref = sw * ref_expect(act, lambda u: act.dphi(u) ** 2, q)[0]
        _close(theory.chi1(act, sw, sb), ref, 0.0, rel=SPEC)


@pytest.mark.parametrize("name,sw,sb", [("tanh", 3.0, 0.1), ("hardtanh", 3.0, 0.1),
                                        ("sigmoid", 120.0, 0.5)])
def test_c_star_and_xi_c_against_nested_quad(name, sw, sb):
    """|c* - c_true| <= |C_ref(c*) - c*| / |1 - C'(c*)| <= 1e-8; xi_c from the reference
    slope sigma_w^2 E[phi'(u_1) phi'(u_2)] at c*."""
    act = _activations.get(name)
    q, c = theory.q_star(act, sw, sb), theory.c_star(act, sw, sb)
    assert c < 1
    k_ref = ref_pair(act, act.phi, q, c)[0]
    slope_ref = sw * ref_pair(act, act.dphi, q, c)[0]
    resid = (sw * k_ref + sb) / q - c
    assert abs(resid) / abs(1 - slope_ref) <= SPEC
    assert theory.depth_scales(act, sw, sb)[1] == pytest.approx(-1 / math.log(slope_ref),
                                                                rel=SPEC)


def _mp_expect(f, q, breaks=()):
    s = mp.sqrt(q)
    pts = sorted({mp.mpf(0), *[mp.mpf(b) for b in breaks],
                  *[k * s for k in range(-12, 13)],
                  *[mp.mpf(x) * 2 ** j for j in range(-3, 7) for x in (-1, 1)]})
    pts = [p for p in pts if -12 * s <= p <= 12 * s]
    return mp.quad(lambda u: f(u) * mp.exp(-u * u / (2 * q)), pts) / (s * mp.sqrt(2 * mp.pi))


def test_mpmath_spot_checks():
    """30-digit values: tanh's chi_1 deep in the chaotic phase (the fixed Gauss-Hermite
    rule gave 2.26 for 3.99), E[sech^4] at q = 1e6, gelu's chi_1 at q = 1e4."""
    mp.mp.dps = 30
    sw, sb = mp.mpf(50), mp.mpf("0.05")
    qs = mp.findroot(lambda q: sw * _mp_expect(lambda u: mp.tanh(u) ** 2, q) + sb - q, 49)
    chi = sw * _mp_expect(lambda u: mp.sech(u) ** 4, qs)
    assert theory.q_star("tanh", 50.0, 0.05) == pytest.approx(float(qs), rel=SPEC)
    assert theory.chi1("tanh", 50.0, 0.05) == pytest.approx(float(chi), rel=SPEC)
    assert abs(theory.chi1("tanh", 50.0, 0.05) - 3.99) < 0.01
    assert float(theory._dphi2(_activations.get("tanh"), 1e6)) == pytest.approx(
        float(_mp_expect(lambda u: mp.sech(u) ** 4, mp.mpf(10) ** 6)), rel=SPEC)
    gelu_d = lambda u: (1 + mp.erf(u / mp.sqrt(2))) / 2 + u * mp.npdf(u)  # noqa: E731
    assert theory.chi1("gelu", 1.0, 0.0, q=1e4) == pytest.approx(
        float(_mp_expect(lambda u: gelu_d(u) ** 2, mp.mpf(10) ** 4)), rel=SPEC)


# ---- the reproducers of the theory issue ----

def test_wide_q_reproducers():
    assert theory.chi1("erf", 1.0, 0.0, q=1000.0) == pytest.approx(
        4 / math.pi / math.sqrt(1 + 4000), rel=1e-13)
    assert theory.chi1(_stripped("erf"), 1.0, 0.0, q=1000.0) == pytest.approx(
        4 / math.pi / math.sqrt(1 + 4000), rel=1e-11)
    xi_q, xi_c = theory.depth_scales("tanh", 25.0, 0.05)
    assert math.isfinite(xi_q) and math.isfinite(xi_c)  # inf at sigma_w2 >= 20 before


@pytest.mark.parametrize("name,sb,lo,hi", [("erf", 0.0, 0.78, 0.79), ("erf", 0.5, 1.0, 4.0),
                                           ("erf", 2.0, 3.3, 3.5), ("sigmoid", 0.0, 100, 110),
                                           ("sigmoid", 2.0, 100, 110), ("tanh", 0.3, 1, 4)])
def test_critical_line_is_found(name, sb, lo, hi):
    s = theory.critical_sigma_w2(name, sb)
    assert lo < s < hi
    # at sigma_b2 = 0 chi_1 touches 1 tangentially (chi_1 - 1 ~ (s - s_c)^2): s to sqrt(eps)
    assert theory.chi1(name, s, sb) == pytest.approx(1.0, abs=1e-9)
    if name == "erf" and sb == 0:
        assert s == pytest.approx(math.pi / 4, rel=1e-7)
    line = theory.critical_line(name, [sb])
    assert line[0] == pytest.approx(s, rel=1e-9)


def test_kinks_at_c_equal_one():
    chi = theory.chi1("elu", 1.5, 0.05)
    assert theory.depth_scales("elu", 1.5, 0.05)[1] == pytest.approx(-1 / math.log(chi),
                                                                     rel=1e-10)
    assert theory.depth_scales("elu", 1.5, 0.05)[1] == pytest.approx(116.4, abs=0.1)


def test_gelu_limits_and_jumps():
    assert theory.q_star("gelu", 5.0, 0.0) == math.inf
    assert theory.chi1("gelu", 5.0, 0.0) == pytest.approx(2.5, rel=1e-12)  # sigma_w2 / 2
    assert theory.chi1("silu", 5.0, 0.0) == pytest.approx(2.5, rel=1e-12)
    # chi_1 jumps from 0.62 to > 1 where q* (from q0 = 1) becomes infinite: no crossing
    with pytest.raises(ValueError, match="jumps"):
        theory.critical_sigma_w2("gelu", 0.01)


def test_every_fixed_point_and_the_one_reached():
    points = theory.fixed_points("gelu", 3.0, 0.01)
    assert [s for _, s in points] == [True, False, True]
    (a, _), (b, _), (c, _) = points
    assert a == pytest.approx(0.05699, rel=1e-3) and b == pytest.approx(0.1732, rel=1e-3)
    assert c == math.inf
    for q in (a, b):
        assert theory.qmap(q, "gelu", 3.0, 0.01) == pytest.approx(q, rel=1e-12)
    assert theory.q_star("gelu", 3.0, 0.01) == math.inf  # from q0 = 1, above b
    assert theory.q_star("gelu", 3.0, 0.01, q0=0.1) == a
    assert theory.q_star("gelu", 3.0, 0.01, q0=0.01) == a


def test_scale_free_relu_c_map_and_limits():
    assert theory.c_star("relu", 1.0, 0.0) == 1.0
    assert theory.q_star("relu", 1.0, 0.0) == 0.0
    # smooth phi at q* = 0, sigma_b2 = 0: the c-map is the identity, c0 stays
    assert theory.c_star("tanh", 0.5, 0.0, c0=0.3) == 0.3


def test_tol_is_honoured():
    loose = theory.q_star("tanh", 2.0, 0.1, tol=1e-6)
    tight = theory.q_star("tanh", 2.0, 0.1)
    assert loose == pytest.approx(tight, rel=1e-5)
    assert theory.qmap(tight, "tanh", 2.0, 0.1) == pytest.approx(tight, rel=1e-14)
