"""Mean-field theory: closed forms against quadrature, fixed points by two methods, the
tanh critical point, and Monte Carlo at large width against the predictions."""


import math

import numpy as np
import pytest

from fastinit import _activations, propagate, theory


def _quadrature_only(name):
    """The same activation under another name, so the quadrature path is used."""
    act = _activations.get(name)
    return _activations.Activation(name + "-quad", act.phi, act.dphi)


def test_relu_arccos_kernel_by_monte_carlo():
    """Gauss-Hermite is inaccurate at relu's kink, so its closed forms are checked by
    sampling: 10^6 pairs, 6 standard errors."""
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((2, 1_000_000))
    for q in (0.5, 2.0):
        for c in (-0.6, 0.0, 0.5, 0.9):
            u1, u2 = math.sqrt(q) * z1, math.sqrt(q) * (c * z1 + math.sqrt(1 - c * c) * z2)
            prod = np.maximum(u1, 0) * np.maximum(u2, 0)
            se = prod.std() / math.sqrt(prod.size)
            assert abs(theory.cross_moment("relu", q, c) - prod.mean()) < 6 * se
    assert theory.cross_moment("relu", 1.0, 1.0) == pytest.approx(0.5)
    assert theory.cross_moment("relu", 1.0, 0.0) == pytest.approx(1 / (2 * math.pi))
    assert theory.cross_moment("relu", 1.0, -1.0) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("name,tol", [("erf", 1e-10), ("linear", 1e-12)])
@pytest.mark.parametrize("q", [0.3, 1.0, 2.5])
def test_closed_forms_equal_quadrature(name, tol, q):
    quad = _quadrature_only(name)
    assert theory.second_moment(name, q) == pytest.approx(theory.second_moment(quad, q),
                                                          rel=tol)
    for c in (-0.7, 0.0, 0.4, 0.95):
        assert theory.cross_moment(name, q, c) == pytest.approx(
            theory.cross_moment(quad, q, c), rel=tol, abs=tol * q)


@pytest.mark.parametrize("name,sw2,sb2", [("tanh", 2.0, 0.1), ("erf", 1.7, 0.3),
                                          ("relu", 1.5, 0.1), ("gelu", 1.2, 0.05)])
def test_fixed_point_by_two_methods(name, sw2, sb2):
    a = theory.q_star(name, sw2, sb2, method="iterate")
    b = theory.q_star(name, sw2, sb2, method="bracket")
    assert a == pytest.approx(b, rel=1e-9)
    assert theory.qmap(a, name, sw2, sb2) == pytest.approx(a, rel=1e-10)
    if name == "relu":  # V(q) = sw2 q / 2 + sb2
        assert a == pytest.approx(sb2 / (1 - sw2 / 2), rel=1e-10)


def test_linear_network_closed_forms():
    assert theory.q_star("linear", 0.5, 0.2) == pytest.approx(0.4, rel=1e-10)
    assert theory.chi1("linear", 0.5, 0.2) == 0.5
    assert theory.c_star("linear", 0.5, 0.2) == pytest.approx(1.0, abs=1e-9)


def test_tanh_critical_line():
    assert theory.critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, abs=1e-6)
    s = theory.critical_sigma_w2("tanh", 0.05)
    assert theory.chi1("tanh", s, 0.05) == pytest.approx(1.0, abs=1e-9)
    assert 1.0 < s < 3.0
    # ordered below, chaotic above; xi_c grows toward the line
    assert theory.chi1("tanh", 0.8 * s, 0.05) < 1 < theory.chi1("tanh", 1.2 * s, 0.05)
    xi_far = theory.depth_scales("tanh", 0.6 * s, 0.05)[1]
    xi_near = theory.depth_scales("tanh", 0.97 * s, 0.05)[1]
    assert xi_near > 5 * xi_far
    assert theory.c_star("tanh", 0.8 * s, 0.05) == pytest.approx(1.0, abs=1e-6)
    assert theory.c_star("tanh", 2.0 * s, 0.05) < 0.99


def test_phase_diagram_shape_and_labels():
    d = theory.phase_diagram("tanh", [0.5, 1.5, 3.0], [0.0, 0.1])
    assert d["chi1"].shape == (2, 3)
    assert d["chi1"][0, 0] < 1 < d["chi1"][0, 2]


def test_dropout_removes_the_ordered_phase():
    # with dropout the c-map's fixed point stays below 1 even deep in the ordered phase
    assert theory.c_star("tanh", 0.8, 0.05, dropout=0.1) < 0.999
    assert theory.q_star("tanh", 0.8, 0.05, dropout=0.1) > theory.q_star("tanh", 0.8, 0.05)


def test_monte_carlo_matches_theory_at_large_width():
    width = 2048
    r = propagate.simulate(20, width, "tanh", "gaussian", 1.5, 0.05, n_networks=6,
                           n_inputs=2, q0=1.0, c0=0.3, seed=12)
    cmp = r.compare_theory()
    # standard errors of the ensemble plus the O(1/N) finite-width bias
    qm, qs = r.ensemble("q")
    assert (np.abs(qm - cmp["q_theory"]) <= 5 * qs + 4 * cmp["q_theory"] / width).all()
    cm, cs = r.ensemble("c")
    assert (np.abs(cm - cmp["c_theory"])[1:] <= 5 * cs[1:] + 4 / width).all()
    # the gradients grow by chi_1 per layer once q has converged
    assert r.chi_forward() == pytest.approx(theory.chi1("tanh", 1.5, 0.05), rel=0.05)


def test_residual_monte_carlo_matches_theory():
    """Yang & Schoenholz 2017: in a residual network the branch's second moment adds."""
    width = 2048
    r = propagate.simulate(15, width, "tanh", "gaussian", 2.0, 0.1, residual="one",
                           alpha=0.5, n_networks=6, n_inputs=2, c0=0.2, seed=15,
                           track=("q", "c"))
    cmp = r.compare_theory()
    qm, qs = r.ensemble("q")
    assert (np.abs(qm - cmp["q_theory"]) <= 5 * qs + 4 * cmp["q_theory"] / width).all()
    cm, cs = r.ensemble("c")
    assert (np.abs(cm - cmp["c_theory"])[1:] <= 5 * cs[1:] + 4 / width).all()
    # the test has power: without the residual term the prediction is far off
    plain, _, _ = theory.predicted("tanh", 2.0, 0.1, 15, 1.0, 0.2)
    assert np.abs(qm[-1] - plain[-1]) > 20 * qs[-1]


@pytest.mark.parametrize("residual,dropout", [(None, 0.2), ("one", 0.0), ("two", 0.1)])
def test_gradient_and_two_layer_residual_recursions(residual, dropout):
    """q, c and both gradient norms against the mean-field recursions of predicted():
    the two-layer branch composes the plain maps, dropout multiplies chi by 1 / (1 - p).
    Tolerance: 5 standard errors over networks plus the O(1 / N) finite-width bias (the
    gradient's grows along the depth, L / N)."""
    width, depth = 1024, 12
    r = propagate.simulate(depth, width, "tanh", "gaussian", 1.8, 0.05, residual=residual,
                           alpha=0.7, dropout=dropout, n_networks=8, n_inputs=2, c0=0.3,
                           seed=21, track=("q", "c", "grad"))
    cmp = r.compare_theory()
    for name in ("q", "c", "grad_fwd", "grad_bwd"):
        m, s = r.ensemble(name)
        th = cmp[f"{name}_theory"]
        bias = (depth if name.startswith("grad") else 4) / width * np.abs(th)
        assert (np.abs(m - th)[1:] <= 5 * s[1:] + bias[1:]).all(), (name, m, th, s)
    # power: the gradient recursion without its residual / dropout factor is far off
    _, _, g_wrong = theory.predicted("tanh", 1.8, 0.05, depth, 1.0, 0.3,
                                     residual="one" if residual == "two" else None)
    wrong = r.ensemble("grad_fwd")[0][0] * np.cumprod(g_wrong)
    m, s = r.ensemble("grad_fwd")
    assert abs(m[-1] - wrong[-1]) > 5 * s[-1] + depth / width * m[-1]


def test_stochastic_depth_factor_in_expectation():
    """Stochastic depth keeps the branch with probability 1 - p, scaled by 1 / (1 - p):
    E[q^l] follows the residual recursion with alpha^2 / (1 - p) (relu: linear V, so the
    expectation over keep patterns is exact).  Many small networks: the keep pattern,
    drawn per network, dominates the spread."""
    r = propagate.simulate(8, 256, "relu", "gaussian", 2.0, 0.1, residual="one", alpha=0.5,
                           stochastic_depth=0.3, n_networks=400, n_inputs=1, seed=16,
                           track=("q",))
    q_th, _, _ = theory.predicted("relu", 2.0, 0.1, 8, 1.0, 0.5, residual="one", alpha=0.5,
                                  stochastic_depth=0.3)
    qm, qs = r.ensemble("q")
    assert (np.abs(qm - q_th)[1:] <= 5 * qs[1:]).all()
    wrong, _, _ = theory.predicted("relu", 2.0, 0.1, 8, 1.0, 0.5, residual="one", alpha=0.5)
    assert abs(qm[-1] - wrong[-1]) > 5 * qs[-1]


def test_kinked_activations_integrate_exactly():
    """phi' jumps at the kinks of leaky_relu / hardtanh / selu / elu: the split quadrature
    gives the exact chi_1 and kernels (a Gauss-Hermite node on the jump was ~10% off)."""
    a = 0.1
    assert theory.chi1("leaky_relu", 2.0, 0.1, param=a, q=1.0) == pytest.approx(
        2.0 * (1 + a * a) / 2, rel=1e-12)
    assert theory.chi1("leaky_relu", 2.0, 0.0, param=a, q=0.0) == pytest.approx(
        2.0 * (1 + a * a) / 2, rel=1e-12)  # the q -> 0+ limit, not phi'(0)
    for q in (0.3, 2.0):
        assert theory.chi1("hardtanh", 1.0, 0.1, q=q) == pytest.approx(
            math.erf(1 / math.sqrt(2 * q)), rel=1e-12)
    # leaky relu = (1 - a) relu + a x: its kernel from the arc-cosine one
    for q, c in ((1.0, 0.3), (2.5, -0.6)):
        exact = (1 - a) ** 2 * theory.cross_moment("relu", q, c) + (a * (1 - a) + a * a) * q * c
        assert theory.cross_moment("leaky_relu", q, c, param=a) == pytest.approx(exact,
                                                                                 rel=1e-10)
    # selu and elu: chi_1 against 10^6 samples, 6 standard errors
    z = np.random.default_rng(1).standard_normal(1_000_000)
    for name in ("selu", "elu"):
        d2 = _activations.get(name).dphi(math.sqrt(0.7) * z) ** 2
        se = d2.std() / math.sqrt(z.size)
        assert abs(theory.chi1(name, 1.0, 0.1, q=0.7) - d2.mean()) < 6 * se


NAN, INF = math.nan, math.inf


@pytest.mark.parametrize("call, error, match", [
    (lambda: theory.q_star("tanh", -1.0, 0.0), ValueError, r"^sigma_w2 must be >= 0"),
    (lambda: theory.q_star("tanh", NAN, 0.0), ValueError, r"^sigma_w2 must be finite"),
    (lambda: theory.q_star("tanh", 1.0, 0.0, dropout=1.0), ValueError, r"^dropout must be"),
    (lambda: theory.fixed_points("tanh", 1.0, -0.1), ValueError, r"^sigma_b2 must be >= 0"),
    (lambda: theory.qmap(1.0, "tanh", INF, 0.0), ValueError, r"^sigma_w2 must be finite"),
    (lambda: theory.cmap(0.5, 1.0, "tanh", 1.0, -1.0), ValueError, r"^sigma_b2 must be >= 0"),
    (lambda: theory.c_star("tanh", 1.0, 0.0, dropout=-0.1), ValueError, r"^dropout must be"),
    (lambda: theory.chi1("tanh", "1", 0.0), TypeError, r"^sigma_w2 must be a real scalar"),
    (lambda: theory.depth_scales("tanh", -1.0, 0.0), ValueError, r"^sigma_w2 must be >= 0"),
    (lambda: theory.predicted("tanh", 1.0, 0.0, 3, 1.0, 0.5, dropout=1.0), ValueError,
     r"^dropout must be"),
    (lambda: theory.critical_sigma_w2("tanh", -1.0), ValueError, r"^sigma_b2 must be >= 0"),
    (lambda: theory.critical_line("tanh", [0.0, NAN]), ValueError, r"^sigma_b2_grid must hold"),
    (lambda: theory.phase_diagram("tanh", [1.0, INF], [0.0]), ValueError,
     r"^sigma_w2_grid must hold"),
    (lambda: theory.phase_diagram("tanh", [1.0], [-0.1]), ValueError, r"^sigma_b2_grid must"),
    (lambda: theory.jacobian_moments("linear", "gaussian", 0.0, 0.0, 2), ValueError,
     r"^sigma_w2 must be > 0"),
    (lambda: theory.jacobian_spectrum("tanh", "gaussian", 1.0, -1.0, 2), ValueError,
     r"^sigma_b2 must be >= 0"),
])
def test_bad_variances_and_dropout_are_refused(call, error, match):
    """The README's bad-input promise covers the theory: negative or non-finite variances
    and dropout outside [0, 1) raised nothing (q_star("tanh", -1, 0) returned 0.0), a
    ZeroDivisionError (dropout=1) or an IndexError (a nan in phase_diagram's grid)."""
    with pytest.raises(error, match=match):
        call()
