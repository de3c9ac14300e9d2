"""Monte Carlo propagation under hostile conditions: tracked vectors of very different
scales, non-finite and overflowing parameters, oversized ensembles, bad output paths,
interruption (SIGINT, SIGTERM) and dask worker loss."""

import math
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

import fastinit
from fastinit import propagate as P


def test_gram_matches_dense_when_the_tangent_outgrows_h():
    """tanh at sigma_w^2 = 20: the tangent grows to more than 1e16 times h over 60 layers; the gram
    path must keep q at its fixed point (q* ~ 16.2) like the dense path."""
    kw = dict(depth=60, width=64, activation="tanh", init="gaussian", sigma_w2=20.0,
              sigma_b2=0.05, n_networks=16, dtype=np.float64, seed=0,
              track=("q", "c", "grad_fwd"))
    gram = P.simulate(method="auto", **kw)
    dense = P.simulate(method="dense", **kw)
    assert gram.params["method"] == "gram"
    assert gram.grad_fwd[-1].min() / gram.q[-1].max() > 1e16  # beyond 1 / eps: the hard regime
    for name in ("q", "c"):
        mg, sg = gram.ensemble(name)
        md, sd = dense.ensemble(name)
        z = np.abs(mg - md)[20:] / np.sqrt(sg ** 2 + sd ** 2)[20:]
        assert z.max() < 5, (name, z.max())


@pytest.mark.parametrize("kw,exc,match", [
    (dict(sigma_w2=1e300), ValueError, "sigma_w2=1e\\+300.*float32"),  # sqrt(.) x overflows
    (dict(sigma_w2=1e300, q0=1e10, dtype=np.float64), ValueError, "float64"),
    (dict(sigma_w2=math.inf), ValueError, "sigma_w2 must be finite"),
    (dict(sigma_b2=math.nan), ValueError, "sigma_b2 must be finite"),
    (dict(q0=math.inf), ValueError, "q0 must be finite"),
    (dict(c0=math.nan), ValueError, "c0 must be finite"),
    (dict(alpha=math.nan), ValueError, "alpha must be finite"),
    (dict(alpha=math.inf, residual="one"), ValueError, "alpha must be finite"),
    (dict(dropout=math.nan), ValueError, "dropout must be finite"),
    (dict(activation="leaky_relu", activation_param=math.nan), ValueError, "activation_param"),
    (dict(inputs=np.full((8, 2), np.nan)), ValueError, "inputs must be finite"),
    (dict(inputs=np.r_[np.ones((7, 2)), [[np.inf, 1]]]), ValueError, "inputs must be finite"),
    (dict(width=2.7), TypeError, "width must be an integer"),
    (dict(width="64"), TypeError, "width must be an integer"),
    (dict(width=[8, 8.5, 8, 8]), TypeError, "width must be an integer"),
    (dict(depth=3.0), TypeError, "depth must be an integer"),
    (dict(depth=True), TypeError, "depth must be an integer"),
    (dict(n_networks="4"), TypeError, "n_networks must be an integer"),
    (dict(n_inputs=2.0), TypeError, "n_inputs must be an integer"),
    (dict(n_inputs=0), ValueError, "n_inputs must be an integer >= 1"),
    (dict(networks=[0, 1.5]), TypeError, "networks must be an integer"),
    (dict(networks=[-1]), ValueError, "networks must be an integer >= 0"),
    (dict(jacobian_at=(1.5,)), TypeError, "jacobian_at must be an integer"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(track=("bogus",)), ValueError, "track names must be among .*'grad_fwd'"),
    (dict(track=("q", "gradient")), ValueError, "'gradient'"),
])
def test_bad_parameters_are_refused_before_any_work(kw, exc, match):
    args = dict(depth=3, width=8, activation="tanh", n_networks=2)
    args.update(kw)
    with pytest.raises(exc, match=match):
        P.simulate(**args)


@pytest.mark.parametrize("kw", [dict(q0=1e80), dict(inputs=np.full((8, 2), 1e39))])
def test_inputs_beyond_the_dtype_are_refused_without_an_overflow_warning(kw):
    """Inputs past float32 were cast to inf first (a RuntimeWarning), then refused as "q up
    to inf" naming sigma_w2 and sigma_b2; they are refused as inputs before the cast."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^the inputs \(q0 or inputs=\) reach .* float32"):
            P.simulate(3, 8, "tanh", **kw)


def test_numpy_integers_are_integers():
    r = P.simulate(np.int64(3), np.int32(8), n_networks=np.int64(2), n_inputs=np.uint8(2),
                   seed=np.uint64(4), jacobian_at=(np.int64(2),), track="q")
    assert r.q.shape == (4, 2, 2) and r.depth == 3 and sorted(r.jacobian_sv) == [2]
    assert type(r.params["depth"]) is int and type(r.params["width"]) is int
    ref = P.simulate(3, 8, n_networks=2, seed=4, track=("q",))
    np.testing.assert_array_equal(r.q, ref.q)


@pytest.mark.parametrize("case", ["overflow", "nan_activation"])
def test_nonfinite_statistics_warn_and_are_flagged(case, tmp_path):
    if case == "overflow":  # linear, float64: q grows 1e300-fold per layer, inf at layer 2
        kw = dict(activation="linear", sigma_w2=1e300, dtype=np.float64)
    else:  # log: NaN for the negative pre-activations of layer 1, used from layer 2
        kw = dict(activation=(np.log, np.reciprocal))
    with pytest.warns(RuntimeWarning, match="from layer 2 on") as record:
        r = P.simulate(5, 8, n_networks=2, seed=1, **kw)
    assert r.nonfinite_layer == 2
    ours = [w for w in record if w.filename.endswith("propagate.py")
            or "propagation" in str(w.message)]
    assert len(ours) == 1  # numpy's own floating point warnings from the run are quiet
    assert np.isfinite(r.q[:2]).all() and not np.isfinite(r.q[2:]).all()
    assert "non-finite statistics from layer 2" in r.summary()
    r.save(tmp_path / "r.npz")
    assert P.PropagationResult.load(tmp_path / "r.npz").nonfinite_layer == 2


def test_finite_runs_are_not_flagged(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = P.simulate(6, 16, "tanh", sigma_w2=1.5, n_networks=2, seed=2)
    assert r.nonfinite_layer is None and "non-finite" not in r.summary()
    r.save(tmp_path / "r.npz")
    assert P.PropagationResult.load(tmp_path / "r.npz").nonfinite_layer is None


def test_oversized_ensembles_fail_at_once_with_the_estimate(monkeypatch):
    import time

    start = time.perf_counter()
    with pytest.raises(MemoryError, match=r"need about \d+ bytes = .* GiB .* available"):
        P.simulate(1000, 256, n_networks=10 ** 9)
    assert time.perf_counter() - start < 5  # nothing allocated, nothing looped over
    est = P.memory_estimate(10, [64] * 11, 100, 2, np.float32, ("q", "c", "grad"))
    assert est["statistics"] == 8 * 11 * 100 * (4 * 2 + 1)
    assert est["weights"] == 100 * 64 * 64 * 4
    assert est["total"] == sum(v for k, v in est.items() if k != "total")
    monkeypatch.setattr(P, "available_memory", lambda: est["total"] - 1)
    with pytest.raises(MemoryError, match=f"{est['total']} bytes"):
        P.simulate(10, 64, n_networks=100, track=("q", "c", "grad"), method="dense")
    monkeypatch.setattr(P, "available_memory", lambda: est["total"])
    assert P.simulate(10, 64, n_networks=100, track=("q", "c", "grad"),
                      method="dense").q.shape == (11, 100, 2)


def test_oversized_dask_runs_fail_at_once(monkeypatch):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  memory_limit=2 ** 20, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        with pytest.raises(MemoryError, match="available to a dask worker"):
            P.simulate(10, 64, n_networks=100, client=client, method="dense")
        monkeypatch.setattr(P, "available_memory", lambda: 2 ** 10)
        with pytest.raises(MemoryError, match="on the client"):
            P.simulate(10, 8, n_networks=100, client=client)
        assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0


def test_network_seed_takes_integers_only():
    assert P.network_seed(np.uint64(5), np.int64(3)) == P.network_seed(5, 3)
    with pytest.raises(TypeError, match="network must be an integer"):
        P.network_seed(5, 2.7)
    with pytest.raises(ValueError, match="seed"):
        P.network_seed(-1, 2)


def test_available_memory_is_positive():
    assert P.available_memory() > 2 ** 20


PARAM_VALUES = {
    "np_float": np.float64(1.5), "np_float32": np.float32(0.25), "np_int": np.int64(7),
    "np_bool": np.bool_(True), "np_array": np.arange(3), "tuple": (1, 2.5, "a", None),
    "nested": ((0.5, (1, 2)), [3, (4,)]), "none": None, "str": "tanh", "bool": False,
    "int": 2 ** 63 + 5, "float": 0.1, "inf": math.inf, "list": [1, 2.0, "x"],
    "dict": {"a": (1, 2), "b": np.float64(3.0)},
}


def test_save_load_round_trips_every_parameter_type(tmp_path):
    r = P.simulate(3, 8, "tanh", sigma_w2=np.float64(1.5), sigma_b2=np.float32(0.05),
                   n_networks=2, seed=np.int64(3), activation_param=None)
    r.params.update(PARAM_VALUES)
    r.save(tmp_path / "r.npz")
    back = P.PropagationResult.load(tmp_path / "r.npz").params
    assert back["sigma_w2"] == 1.5 and back["seed"] == 3
    for name, value in PARAM_VALUES.items():
        want = value.tolist() if isinstance(value, np.ndarray) else value
        assert back[name] == want, name
        assert type(back[name]) is type(want.item() if isinstance(want, np.generic)
                                         else want), name
    assert back["nested"][0][1] == (1, 2) and isinstance(back["nested"][1][1], tuple)
    assert back["dict"]["a"] == (1, 2)


def test_save_refuses_unsavable_parameters_and_loads_the_old_format(tmp_path):
    r = P.simulate(3, 8, n_networks=1, track=("q",))
    r.params["fn"] = np.tanh
    with pytest.raises(TypeError, match="cannot save the parameter"):
        r.save(tmp_path / "bad.npz")
    del r.params["fn"]
    # the older format: parameters as a Python repr under "params"
    np.savez_compressed(tmp_path / "old.npz", q=r.q, mean=r.mean, c=r.c, grad_fwd=r.grad_fwd,
                        grad_bwd=r.grad_bwd, params=np.array(repr(r.params)),
                        interrupted=False, seconds=1.0)
    old = P.PropagationResult.load(tmp_path / "old.npz")
    assert old.params == r.params and old.nonfinite_layer is None
    np.testing.assert_array_equal(old.q, r.q)


def _slow(seconds):
    """tanh that sleeps per call: a run whose length the test controls."""
    return P.Activation("slow", lambda x: (time.sleep(seconds), np.tanh(x))[1], None)


def _sigint_self_after(delay):
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_sigint_stops_the_local_run_at_a_layer_boundary():
    start = time.perf_counter()
    _sigint_self_after(0.4)
    r = P.simulate(400, 16, _slow(0.01), n_networks=2, track=("q", "c"))
    assert time.perf_counter() - start < 3  # the whole run would take 4 s and more
    assert r.interrupted and 2 <= r.q.shape[0] < 401
    assert np.isfinite(r.q).all() and np.isfinite(r.c).all()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


@pytest.fixture
def inproc_client():
    distributed = pytest.importorskip("distributed")

    def make(n_workers):
        cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                           processes=False, dashboard_address=None)
        return cluster, distributed.Client(cluster)

    made = []
    yield lambda n: made.append(make(n)) or made[-1][1]
    for cluster, client in made:
        client.close()
        cluster.close()


def test_client_without_workers_fails_at_once(inproc_client):
    client = inproc_client(0)
    start = time.perf_counter()
    with pytest.raises(ValueError, match="client has no workers"):
        P.simulate(3, 8, n_networks=2, client=client)
    assert time.perf_counter() - start < 5


def test_losing_every_worker_is_an_error_not_a_hang(inproc_client, monkeypatch):
    monkeypatch.setattr(P._dask, "_NO_WORKERS_SECONDS", 1.0)
    client = inproc_client(1)
    threading.Timer(0.5, client.cluster.scale, (0,)).start()
    start = time.perf_counter()
    with pytest.raises(RuntimeError, match="no dask worker left for 1.0 s"):
        P.simulate(400, 16, _slow(0.01), n_networks=2, track=("q",), client=client)
    assert time.perf_counter() - start < 10
    assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0


def test_sigint_during_a_dask_run_returns_the_partial_result_and_cancels(inproc_client):
    client = inproc_client(1)
    start = time.perf_counter()
    _sigint_self_after(1.0)
    r = P.simulate(400, 16, _slow(0.01), n_networks=2, track=("q", "c"), client=client)
    assert time.perf_counter() - start < 5  # the whole run would take 8 s and more
    assert r.interrupted and 2 <= r.q.shape[0] < 401 and r.q.shape[1] == 2
    assert np.isfinite(r.q).all()
    # the same networks' layers as a local run
    local = P.simulate(r.q.shape[0] - 1, 16, "tanh", n_networks=2, track=("q", "c"))
    np.testing.assert_array_equal(r.q, local.q)
    # nothing left running or held on the cluster
    assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.tasks)) == 0
    assert not any(client.processing().values())


def _child_env():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(fastinit.__file__)))] +
        os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.pop(name, None)
    return env


def test_scipy_blas_is_capped_inside_the_run():
    """threadpoolctl caps the BLAS libraries loaded when the cap begins: LAPACK (scipy's
    BLAS) must be loaded before, or the orthogonal fills run it with every core and
    oversubscribe the fill threads (up to 20x slower)."""
    code = textwrap.dedent("""
        import json, sys
        import numpy as np, threadpoolctl
        assert "scipy.linalg" not in sys.modules
        from fastinit import propagate as P
        seen = []
        def phi(x):
            seen.append({i["filepath"]: i["num_threads"]
                         for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"})
            return np.tanh(x)
        P.simulate(3, 16, P.Activation("t", phi, None), "orthogonal", n_networks=2,
                   track=("q",), method="dense")
        print(json.dumps(seen))
    """)
    out = subprocess.run([sys.executable, "-c", code], env=_child_env(), capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json

    seen = json.loads(out.stdout)
    assert seen and all(n == 1 for libs in seen for n in libs.values()), seen


CLI_SMALL = ["propagate", "--depth", "4", "--width", "16", "--networks", "2", "--no-progress"]


@pytest.mark.parametrize("option,path,match", [
    ("--plot", "{tmp}/missing/x.png", "does not exist"),
    ("--save", "{tmp}", "is a directory"),
    ("--csv", "{tmp}", "is a directory"),
    ("--csv", "{tmp}/afile/x.csv", "does not exist"),  # the parent is a file
    ("--save", "{tmp}/adir", "is a directory"),  # not adir.npz: the dir the user named
])
def test_cli_output_paths_are_checked_before_the_run(tmp_path, capsys, option, path, match):
    from fastinit.cli import main

    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    with pytest.raises(SystemExit) as exc:
        main(CLI_SMALL + [option, path.format(tmp=tmp_path)])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert "propagation:" not in out  # nothing was run
    assert err.count("\n") == 1 and option in err and match in err


def test_cli_write_failure_after_the_run_keeps_the_result(tmp_path, capsys, monkeypatch):
    from fastinit.cli import main

    def broken(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(P.PropagationResult, "to_csv", broken)
    png = tmp_path / "p.png"
    rc = main(CLI_SMALL + ["--csv", str(tmp_path / "p.csv"), "--plot", str(png)])
    out, err = capsys.readouterr()
    assert rc == 1 and "propagation:" in out and f"wrote {png}" in out
    assert png.stat().st_size > 1000  # the other output is still written
    assert "--csv" in err and "No space left on device" in err
    rescue = err.split("the result was saved to ")[1].strip()
    try:
        back = P.PropagationResult.load(rescue)
        assert back.q.shape == (5, 2, 2)
    finally:
        os.unlink(rescue)
    # with --save written, nothing needs rescuing
    rc = main(CLI_SMALL + ["--csv", str(tmp_path / "p.csv"), "--save",
                           str(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert rc == 1 and (tmp_path / "r.npz").exists() and "saved to" not in err


def test_cli_non_finite_statistics_exit_non_zero(capsys):
    from fastinit.cli import main

    with pytest.warns(RuntimeWarning, match="non-finite"):
        rc = main(CLI_SMALL + ["--activation", "linear", "--sigma-w2", "1e300",
                               "--dtype", "float64"])
    out, err = capsys.readouterr()
    assert rc == 1 and "non-finite statistics from layer 2" in err
    assert "WARNING: non-finite" in out


# A child's stderr that says it is a terminal, so that the progress bar (drawn on terminals
# only) is written into the pipe the test reads, to signal the child at a known point.
TERMINAL = textwrap.dedent("""
    import sys
    class Terminal:
        def __init__(self, f):
            self.f = f
        def isatty(self):
            return True
        def __getattr__(self, name):
            return getattr(self.f, name)
    sys.stderr = Terminal(sys.stderr)
""")


class _Child:
    """A child process whose stderr is read in a thread, to signal it at a known point."""

    def __init__(self, args):
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=_child_env())
        self.err = b""
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        while chunk := os.read(self.proc.stderr.fileno(), 4096):
            self.err += chunk

    def wait_for(self, pattern: bytes, timeout=60.0):
        """Until the child's stderr matches the regular expression ``pattern``."""
        end = time.monotonic() + timeout
        while not re.search(pattern, self.err):
            assert self.proc.poll() is None, self.err.decode()
            assert time.monotonic() < end, f"no {pattern!r} in {self.err.decode()}"
            time.sleep(0.005)

    def finish(self, timeout=30.0):
        out = self.proc.stdout.read()  # until the child closes it
        rc = self.proc.wait(timeout)
        self.reader.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc, out.decode(), self.err.decode()


def test_cli_ctrl_c_at_any_moment_prints_the_partial_summary():
    """SIGINT at ten moments (during the forward pass, at its end, in the backward pass):
    each run ends with the partial summary, exit 130, and no error (a KeyboardInterrupt
    inside a concurrent.futures wait used to print 'cannot release un-acquired lock')."""
    cli = TERMINAL + "from fastinit.cli import main\nsys.exit(main())"
    base = [sys.executable, "-c", cli, "propagate", "--width", "96", "--networks", "4"]
    runs = [(["--depth", "3000"], rb"layer [1-9]\d*/3000", 0.05 * k) for k in range(7)] + \
        [(["--depth", "300"], rb"layer 300/300", d) for d in (0.0, 0.02, 0.05)]
    children = [_Child(base + extra) for extra, _, _ in runs]

    def interrupt(child, token, delay):
        child.wait_for(token)
        time.sleep(delay)
        child.proc.send_signal(signal.SIGINT)

    senders = [threading.Thread(target=interrupt, args=(child, token, delay))
               for child, (_, token, delay) in zip(children, runs, strict=True)]
    for t in senders:
        t.start()
    for t in senders:
        t.join(120)
    for child, (extra, _, delay) in zip(children, runs, strict=True):
        rc, out, err = child.finish()
        assert rc == 130, (extra, delay, rc, out, err)
        assert "(interrupted)" in out and "depth at which c reaches" in out, (extra, delay)
        assert "error" not in err and "Traceback" not in err, (extra, delay, err)


SIMULATE_CHILD = TERMINAL + textwrap.dedent("""
    import numpy as np
    from fastinit import propagate as P
    r = P.simulate(4000, 96, "tanh", n_networks=4, progress=True)
    print("interrupted", r.interrupted, "layers", r.q.shape[0] - 1, "finite",
          bool(np.isfinite(r.q).all()), flush=True)
""")


def test_sigint_in_a_child_returns_the_partial_result_promptly():
    child = _Child([sys.executable, "-c", SIMULATE_CHILD])
    child.wait_for(rb"layer [1-9]\d*/4000")
    time.sleep(0.2)
    sent = time.monotonic()
    child.proc.send_signal(signal.SIGINT)
    rc, out, err = child.finish()
    assert time.monotonic() - sent < 10
    assert rc == 0 and "interrupted True" in out and "finite True" in out, (out, err)
    layers = int(out.split("layers ")[1].split()[0])
    assert 1 <= layers < 4000


def test_sigterm_ends_a_child_run_without_a_hang():
    child = _Child([sys.executable, "-c", SIMULATE_CHILD])
    child.wait_for(rb"layer [1-9]\d*/4000")
    time.sleep(0.2)
    child.proc.send_signal(signal.SIGTERM)
    rc, out, _ = child.finish(timeout=10)
    assert rc == -signal.SIGTERM and "interrupted" not in out


def test_dask_worker_loss_mid_run_gives_the_same_bits_or_a_clear_error():
    """A worker of two is killed while its part runs: dask reruns the part elsewhere
    (the networks' values depend on their seeds only: the same bits), or the run raises;
    it never hangs."""
    distributed = pytest.importorskip("distributed")
    slow = _slow(0.02)
    kw = dict(n_networks=2, n_inputs=2, seed=21, track=("q", "c"))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        victim = next(iter(pids.values()))
        killer = threading.Timer(1.0, os.kill, (victim, signal.SIGKILL))
        start = time.monotonic()
        killer.start()
        try:
            remote = P.simulate(80, 16, slow, client=client, **kw)
        except Exception as exc:  # a clear error is allowed: which is it?
            assert "worker" in str(exc).lower() or "Killed" in type(exc).__name__, exc
            remote = None
        finally:
            killer.join()
        took = time.monotonic() - start
        assert 1.0 < took < 60  # the kill landed during the run, and the run ended
        assert victim not in client.run(os.getpid).values()  # the worker was lost
    if remote is not None:
        assert not remote.interrupted
        local = P.simulate(80, 16, "tanh", **kw)  # the same function, without the sleep
        np.testing.assert_array_equal(remote.q, local.q)
        np.testing.assert_array_equal(remote.c, local.c)
