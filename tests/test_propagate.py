"""Monte Carlo propagation: exact expectations of linear and ReLU networks with tolerances
from width and ensemble size, orthogonal norm preservation through 1,000 layers,
forward/backward gradient agreement, determinism across threads and dask, Ctrl-C."""

import math

import numpy as np
import pytest

import fastinit
from fastinit import propagate as P


def _linear_q_tol(width, depth, networks, k=5.0):
    """k standard errors of the ensemble mean of q^L / q^0 for a linear Gaussian network:
    each layer multiplies q by chi^2_N / N independently, so Var = (1 + 2/N)^L - 1."""
    return k * math.sqrt(((1 + 2 / width) ** depth - 1) / networks)


def test_linear_gaussian_preserves_q_in_expectation():
    depth, width, nets = 20, 128, 48
    r = P.simulate(depth, width, "linear", "gaussian", 1.0, 0.0, n_networks=nets, n_inputs=2,
                   q0=1.7, seed=3, track=("q", "c"))
    ratio = r.q[-1, :, 0] / r.q[0, :, 0]  # one input: the networks are independent
    assert abs(ratio.mean() - 1) < _linear_q_tol(width, depth, nets)
    np.testing.assert_allclose(r.q[0], 1.7, rtol=1e-6)  # inputs at q0 exactly
    np.testing.assert_allclose(r.c[0], 0.5, rtol=1e-6)  # and c0 exactly


def test_relu_at_sigma_w2_two_preserves_q():
    r = P.simulate(15, 256, "relu", "gaussian", 2.0, 0.0, n_networks=48, n_inputs=2, seed=4,
                   track=("q",))
    # h^1 = W^1 x has q^1 = sigma_w^2 q^0; from there E[q^l] = q^1 exactly
    ratio = r.q[-1, :, 0] / r.q[1, :, 0]
    sem = ratio.std(ddof=1) / math.sqrt(ratio.size)
    assert abs(ratio.mean() - 1) < 5 * sem
    assert 0.02 < sem < 0.3  # the test has power: the spread is real, not zero


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-9), (np.float32, 2e-3)])
def test_orthogonal_linear_preserves_every_norm(dtype, tol):
    r = P.simulate(1000, 32, "linear", "orthogonal", 1.0, 0.0, n_networks=2, n_inputs=3,
                   seed=5, dtype=dtype, track=("q", "c"))
    assert np.abs(r.q / r.q[0] - 1).max() < tol
    assert np.abs(r.c - r.c[0]).max() < tol  # angles preserved too


def test_same_result_for_any_thread_count_and_split():
    kw = dict(n_networks=4, n_inputs=2, seed=6)
    a = P.simulate(12, 64, "tanh", "gaussian", 1.2, 0.1, **kw)
    before = fastinit.get_num_threads()
    fastinit.set_num_threads(1)
    try:
        b = P.simulate(12, 64, "tanh", "gaussian", 1.2, 0.1, **kw)
    finally:
        fastinit.set_num_threads(before)
    for name in ("q", "c", "grad_fwd", "grad_bwd"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    part = P.simulate(12, 64, "tanh", "gaussian", 1.2, 0.1, networks=[2, 3], **kw)
    np.testing.assert_array_equal(part.q, a.q[:, 2:4])


@pytest.mark.parametrize("kw", [
    dict(activation="tanh", sigma_b2=0.1, dropout=0.2, track=("q", "c", "grad")),
    dict(activation="relu", sigma_w2=2.0, residual="two", stochastic_depth=0.3),
    dict(activation="erf", init="orthogonal", jacobian_at=(3, 6), dtype=np.float64),
])
def test_per_network_jobs_equal_the_batched_steps(kw, monkeypatch):
    """The worker pool's per-network jobs (W in the worker's own buffer, phi(h), product,
    bias and statistics while in cache) against the batched steps the GPU runs (all W,
    one batched matmul, then bias and statistics): the same numbers up to the GEMMs'
    rounding."""
    import contextlib

    from fastinit.propagate import _run

    args = dict(depth=6, width=48, n_networks=3, n_inputs=4, seed=12, **kw)
    pooled = P.simulate(**args)
    monkeypatch.setattr(_run, "_blas_one_thread", lambda eng: contextlib.nullcontext())
    batched = P.simulate(**args)
    rtol = 1e-12 if args.get("dtype") == np.float64 else 1e-4
    for name in ("q", "mean", "c", "grad_fwd", "grad_bwd"):
        np.testing.assert_allclose(getattr(pooled, name), getattr(batched, name), rtol=rtol,
                                   atol=rtol, equal_nan=True, err_msg=name)
    assert pooled.jacobian_sv.keys() == batched.jacobian_sv.keys()
    for d in pooled.jacobian_sv:
        np.testing.assert_allclose(pooled.jacobian_sv[d], batched.jacobian_sv[d], rtol=rtol)


def test_forward_and_backward_gradients_agree():
    depth = 12
    r = P.simulate(depth, 256, "tanh", "gaussian", 1.8, 0.05, n_networks=24, n_inputs=2,
                   seed=7)
    fwd = np.log(r.grad_fwd[depth] / r.grad_fwd[1]).ravel() / (depth - 1)
    bwd = np.log(r.grad_bwd[1] / r.grad_bwd[depth]).ravel() / (depth - 1)
    se = math.sqrt(fwd.var(ddof=1) / fwd.size + bwd.var(ddof=1) / bwd.size)
    assert abs(fwd.mean() - bwd.mean()) < 5 * se + 1e-3
    # linear, sigma_w^2 = 1: both norms are preserved in expectation
    lin = P.simulate(10, 128, "linear", "gaussian", 1.0, 0.0, n_networks=48, n_inputs=1,
                     seed=8)
    for g in (lin.grad_fwd[-1] / lin.grad_fwd[0], lin.grad_bwd[0] / lin.grad_bwd[-1]):
        assert abs(g.mean() - 1) < _linear_q_tol(128, 10, 48)


def test_residual_dropout_and_stochastic_depth_run_and_agree():
    r = P.simulate(20, 96, "relu", "gaussian", 2.0, 0.0, n_networks=8, residual="two",
                   alpha=0.3, dropout=0.2, stochastic_depth=0.25, seed=9)
    assert np.isfinite(r.q).all() and np.isfinite(r.grad_bwd).all()
    # residual q grows by (1 + alpha^2 ...) per layer: never shrinks in expectation
    assert r.ensemble("q")[0][-1] > r.ensemble("q")[0][1]
    # dropout with the corrected variance keeps a linear net's q: sigma_w^2 = 1 - p
    d = P.simulate(10, 256, "linear", "gaussian", 0.8, 0.0, dropout=0.2, n_networks=48,
                   n_inputs=1, seed=10, track=("q",))
    ratio = d.q[-1, :, 0] / d.q[1, :, 0]
    assert abs(ratio.mean() - 1) < 5 * ratio.std(ddof=1) / math.sqrt(ratio.size)


def test_ctrl_c_returns_what_was_computed():
    calls = []

    def phi(x):
        calls.append(1)
        if len(calls) == 8:  # call 1 is the elementwise check of the activation
            raise KeyboardInterrupt
        return np.tanh(x)

    r = P.simulate(50, 32, (phi, lambda x: 1 - np.tanh(x) ** 2), n_networks=1, seed=1,
                   track=("q",))  # one network: one phi call per layer
    assert r.interrupted and r.q.shape[0] == 8  # phi runs from layer 2: layers 0..7 done
    assert np.isfinite(r.q).all()


def test_results_save_load_csv_summary_plot(tmp_path):
    r = P.simulate(8, 32, "gelu", "truncated_normal", 1.5, 0.1, n_networks=3, seed=2)
    r.save(tmp_path / "r.npz")
    back = P.PropagationResult.load(tmp_path / "r.npz")
    np.testing.assert_array_equal(back.grad_bwd, r.grad_bwd)
    assert back.params == r.params
    r.to_csv(tmp_path / "r.csv")
    rows = np.loadtxt(tmp_path / "r.csv", delimiter=",", skiprows=1)
    assert rows.shape == (9, 9)
    assert "depth at which c reaches" in r.summary()
    pd = pytest.importorskip("pandas")
    df = r.to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 9 * 3 * 2
    pytest.importorskip("matplotlib")
    r.plot(tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 10_000


def test_dask_cluster_equals_local():
    distributed = pytest.importorskip("distributed")
    local = P.simulate(6, 48, "tanh", "gaussian", 1.3, 0.05, n_networks=5, seed=11)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = P.simulate(6, 48, "tanh", "gaussian", 1.3, 0.05, n_networks=5, seed=11,
                            client=client)
    for name in ("q", "c", "grad_fwd", "grad_bwd"):
        np.testing.assert_array_equal(getattr(local, name), getattr(remote, name))


@pytest.mark.parametrize("kw,match", [
    (dict(depth=0), "depth"), (dict(init="xavier"), "init"), (dict(activation="swishy"),
                                                              "activation"),
    (dict(dropout=1.0), "dropout"), (dict(stochastic_depth=0.1), "stochastic_depth"),
    (dict(residual="three"), "residual"), (dict(width=[8, 8]), "width"),
    (dict(dtype=np.float16), "dtype"), (dict(c0=1.5), "c0"), (dict(n_networks=0), "n_networks"),
    (dict(activation=np.tanh), "derivative"), (dict(backend="tpu"), "backend"),
])
def test_bad_input(kw, match):
    args = dict(depth=3, width=8, activation="tanh")
    args.update(kw)
    with pytest.raises((ValueError, TypeError), match=match):
        P.simulate(**args)


@pytest.mark.parametrize("name", ["linear", "relu", "leaky_relu", "tanh", "hardtanh", "erf",
                                  "sigmoid", "selu", "elu", "gelu", "silu", "softplus"])
def test_activation_derivatives(name):
    from fastinit import _activations

    act = _activations.get(name)
    x = np.linspace(-3.05, 3.05, 60)  # avoids the kinks at 0 and +-1
    h = 1e-6
    numeric = (act.phi(x + h) - act.phi(x - h)) / (2 * h)
    np.testing.assert_allclose(act.dphi(x), numeric, atol=1e-6)


def test_jacobian_singular_values(tmp_path):
    # orthogonal linear: every singular value of the product is sigma_w^l exactly
    r = P.simulate(30, 24, "linear", "orthogonal", 1.0, 0.0, n_networks=2, dtype=np.float64,
                   seed=3, jacobian_at=(1, 30), track=("q",))
    for d in (1, 30):
        assert r.jacobian_sv[d].shape == (2, 24)
        np.testing.assert_allclose(r.jacobian_sv[d], 1.0, atol=1e-10)
    # tanh: the Jacobian's mean squared singular value is what the forward tangent sees,
    # E_v |J v|^2 / N = tr(J^T J) / N for v with N(0, 1) entries
    depth, width, nets = 6, 96, 24
    r = P.simulate(depth, width, "tanh", "gaussian", 1.5, 0.05, n_networks=nets, n_inputs=2,
                   seed=4, jacobian_at=(depth,))
    trace = (r.jacobian_sv[depth] ** 2).sum(axis=1) / width
    jvp = r.grad_fwd[depth, :, 0] / r.grad_fwd[0, :, 0]
    diff = trace - jvp
    assert abs(diff.mean()) < 5 * diff.std(ddof=1) / math.sqrt(nets)
    r.save(tmp_path / "jsv.npz")
    back = P.PropagationResult.load(tmp_path / "jsv.npz")
    np.testing.assert_array_equal(back.jacobian_sv[depth], r.jacobian_sv[depth])
    with pytest.raises(ValueError, match="jacobian_at"):
        P.simulate(3, 8, "tanh", residual="one", jacobian_at=(2,))


@pytest.mark.parametrize("init", ["gaussian", "orthogonal"])
def test_gram_fast_path_has_the_dense_law(init):
    """Two-sample KS of the gram method (W x sampled from the tracked vectors) against
    brute force, on per-network statistics of a small, deep-enough network."""
    from scipy import stats

    kw = dict(depth=6, width=12, activation="tanh", init=init, sigma_w2=1.6, sigma_b2=0.1,
              n_networks=400, n_inputs=2, c0=0.4, seed=13, track=("q", "c", "grad_fwd"))
    dense = P.simulate(method="dense", **kw)
    gram = P.simulate(method="gram", **kw)
    assert dense.params["method"] == "dense" and gram.params["method"] == "gram"
    for name in ("q", "c", "grad_fwd"):
        a = getattr(dense, name)[-1].ravel()
        b = getattr(gram, name)[-1].ravel()
        assert stats.ks_2samp(a, b).pvalue > 1e-6, name
    # and the test has power: a different sigma_w^2 is told apart
    other = P.simulate(method="gram", **dict(kw, sigma_w2=2.2))
    assert stats.ks_2samp(dense.q[-1].ravel(), other.q[-1].ravel()).pvalue < 1e-6


def test_gram_reaches_wide_networks_and_theory():
    from fastinit import theory

    r = P.simulate(50, 100_000, "tanh", "gaussian", 1.5, 0.05, n_networks=2, n_inputs=4,
                   c0=0.5, seed=14, track=("q", "c", "grad_fwd"))
    assert r.params["method"] == "gram"
    q_th, c_th, _ = theory.predicted("tanh", 1.5, 0.05, 50, 1.0, 0.5)
    qm, _ = r.ensemble("q")
    cm, _ = r.ensemble("c")
    # width 10^5: fluctuations ~ sqrt(2 / N) ~ 0.5 %
    np.testing.assert_allclose(qm, q_th, rtol=0.03)
    np.testing.assert_allclose(cm[1:], c_th[1:], atol=0.03)
    with pytest.raises(ValueError, match="gram"):
        P.simulate(3, 8, "tanh", "uniform", method="gram", track=("q",))


def _leaky_scalar(x):  # a branch: fails on arrays, compiles with Numba
    return x if x > 0 else 0.1 * x


def _dleaky_scalar(x):
    return 1.0 if x > 0 else 0.1


def test_user_scalar_activation_is_compiled_by_numba():
    pytest.importorskip("numba")
    from fastinit import _activations

    act = _activations.get((_leaky_scalar, _dleaky_scalar))
    x = np.linspace(-3, 3, 101, dtype=np.float32)
    assert act.phi(x).dtype == np.float32
    np.testing.assert_allclose(act.phi(x), np.where(x > 0, x, np.float32(0.1) * x), rtol=1e-6)
    kw = dict(n_networks=3, n_inputs=2, seed=9, track=("q", "c", "grad"))
    user = P.simulate(12, 96, (_leaky_scalar, _dleaky_scalar), "gaussian", 2.0, 0.1, **kw)
    named = P.simulate(12, 96, "leaky_relu", "gaussian", 2.0, 0.1, activation_param=0.1, **kw)
    for name in ("q", "c", "grad_fwd", "grad_bwd"):
        np.testing.assert_allclose(getattr(user, name), getattr(named, name), rtol=1e-4)
    # the theory takes the compiled pair too (both by quadrature)
    from fastinit import theory

    user = P.Activation("leaky", _activations.compiled(_leaky_scalar),
                        _activations.compiled(_dleaky_scalar), kinks=(0.0,))
    assert theory.chi1(user, 1.8, 0.1) == pytest.approx(
        theory.chi1("leaky_relu", 1.8, 0.1, param=0.1), rel=1e-12)


def test_user_activation_that_cannot_map_arrays_is_refused(monkeypatch):
    from fastinit import _activations

    monkeypatch.setattr(_activations, "compiled", lambda fn: fn)  # as without Numba
    with pytest.raises(TypeError, match="elementwise"):
        P.simulate(3, 8, _leaky_scalar)
    with pytest.raises(TypeError, match="elementwise"):
        P.simulate(3, 8, lambda x: x.sum())
    r = P.simulate(3, 8, lambda x: np.tanh(2 * x), n_networks=1, track=("q",))
    assert np.isfinite(r.q).all()


def test_cli_propagate_writes_summary_csv_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from fastinit.cli import main

    csv, png = tmp_path / "p.csv", tmp_path / "p.png"
    rc = main(["propagate", "--depth", "6", "--width", "32", "--networks", "3",
               "--sigma-w2", "1.5", "--sigma-b2", "0.05", "--no-progress", "--csv", str(csv),
               "--plot", str(png)])
    out = capsys.readouterr().out
    assert rc == 0 and "propagation: tanh" in out
    assert csv.read_text().count("\n") >= 7 and png.stat().st_size > 1000
    with pytest.raises(SystemExit) as exc:
        main(["propagate", "--depth", "3", "--width", "8", "--backend", "tpu"])
    assert exc.value.code == 2
    assert "backend must be" in capsys.readouterr().err
