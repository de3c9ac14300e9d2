"""The activation registry: every entry is usable by every part (propagate, theory,
calculate_gain), parameters are checked, a user's Activation never borrows a registry
entry's closed forms; the demo figure."""

import math
import time

import numpy as np
import pytest

from fastinit import _activations, init, propagate, theory
from fastinit.cli import main

NAMES = sorted(_activations.REGISTRY)


@pytest.mark.parametrize("name", NAMES)
def test_every_entry_works_in_every_part(name):
    """One entry makes an activation propagatable, analysable and gainful: this fails
    when any part lacks it."""
    act = _activations.get(name)
    x = np.linspace(-3.05, 3.05, 60)  # off the kinks at 0 and +-1
    h = 1e-6
    np.testing.assert_allclose(act.dphi(x), (act.phi(x + h) - act.phi(x - h)) / (2 * h),
                               atol=1e-6)
    p, d = act.both(x)
    np.testing.assert_array_equal(p, act.phi(x))
    np.testing.assert_allclose(d, act.dphi(x), rtol=1e-13, atol=1e-15)
    gain = init.calculate_gain(name)
    assert gain == act.gain and math.isfinite(gain) and gain > 0
    if act._gain is None:  # variance preserving: g^2 E[phi(z)^2] = 1
        assert gain ** 2 * theory.second_moment(name, 1.0) == pytest.approx(1.0, rel=1e-12)
    chi = theory.chi1(name, 1.5, 0.1)
    assert math.isfinite(chi) and chi > 0
    d = theory.phase_diagram(name, [0.5, 1.5, 3.0], [0.0, 0.2])
    assert d["chi1"][1, 1] == pytest.approx(theory.chi1(name, 1.5, 0.2), rel=1e-12)
    assert d["xi_c"][1, 2] == pytest.approx(theory.depth_scales(name, 3.0, 0.2)[1], rel=1e-9)
    r = propagate.simulate(3, 16, name, "gaussian", 1.5, 0.1, n_networks=2, seed=0,
                           dtype=np.float64)
    assert np.isfinite(r.q).all()
    assert np.isfinite(r.compare_theory()["q_theory"]).all()


def test_gain_parameters_are_checked():
    with pytest.raises(ValueError, match="param"):
        init.calculate_gain("leaky_relu", math.inf)
    with pytest.raises(ValueError, match="param"):
        init.calculate_gain("elu", math.nan)
    # torch: a parameterless nonlinearity ignores param (kaiming passes its a)
    assert init.calculate_gain("relu", 0) == math.sqrt(2)
    with pytest.raises(ValueError, match="param"):
        _activations.get("tanh", 0.5)


def test_hardtanh_takes_a_bound_or_a_pair():
    assert init.calculate_gain("hardtanh", 2.0) == init.calculate_gain("hardtanh", (-2.0, 2.0))
    assert init.calculate_gain("hardtanh", [-0.5, 2.0]) == init.calculate_gain(
        "hardtanh", (-0.5, 2.0))
    for bad in (-1.0, 0.0, (1.0, -1.0), (0.0, math.inf), "x"):
        with pytest.raises(ValueError, match="param"):
            init.calculate_gain("hardtanh", bad)
    np.testing.assert_array_equal(_activations.get("hardtanh", 0.5).phi(np.array([-3.0, 3.0])),
                                  [-0.5, 0.5])
    r = propagate.simulate(3, 16, "hardtanh", activation_param=0.5, n_networks=2, seed=0)
    assert r.params["activation"] == "hardtanh(-0.5, 0.5)" and np.isfinite(r.q).all()
    assert theory.chi1("hardtanh", 1.0, 0.0, param=2.0, q=1.0) == pytest.approx(
        math.erf(2 / math.sqrt(2)), rel=1e-12)


def test_cli_sets_the_activation_parameter(capsys):
    assert main(["propagate", "--depth", "3", "--width", "16", "--networks", "2",
                 "--activation", "hardtanh", "--activation-param", "2",
                 "--no-progress"]) == 0
    assert "hardtanh(-2.0, 2.0)" in capsys.readouterr().out


def test_user_activation_named_relu_gets_no_closed_forms():
    """The closed forms belong to the registry entry, not to the name."""
    user = _activations.Activation("relu", np.tanh, lambda x: 1 - np.tanh(x) ** 2)
    assert theory.second_moment(user, 2.0) == pytest.approx(theory.second_moment("tanh", 2.0),
                                                            rel=1e-14)
    assert theory.chi1(user, 1.5, 0.1) == pytest.approx(theory.chi1("tanh", 1.5, 0.1),
                                                        rel=1e-12)


def test_scalar_functions_are_cached():
    """q* and c* are cached per (activation, sigma_w2, sigma_b2): a repeat costs a lookup."""
    args = ("selu", 0.5, 0.0)  # chi_1 = 1.0003: c* by the slow near-double-root path
    theory.depth_scales(*args), theory.c_star(*args), theory.chi1(*args)
    for fn in (theory.q_star, theory.c_star, theory.chi1, theory.depth_scales):
        best = min(_timed(fn, *args) for _ in range(5))
        assert best < 1e-3, (fn.__name__, best)


def _timed(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def test_demo_figure(tmp_path):
    pytest.importorskip("matplotlib")
    from fastinit import demo

    out = tmp_path / "demo.png"
    result = demo.demo_figure(out, depth=20, width=32, networks=2, grid=8)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    p = result["points"]
    assert p["ordered"]["chi1"] < 1 < p["chaotic"]["chi1"]
    assert p["critical"]["chi1"] == pytest.approx(1.0, abs=1e-9)
    assert p["chaotic"]["c_star"] < 1 == p["ordered"]["c_star"]
    assert "critical" in demo.summary(result)
    with pytest.raises(ValueError, match="depth"):
        demo.demo_figure(out, depth=1)
