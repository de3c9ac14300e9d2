"""Initializers side by side: fastinit (in place), torch.nn.init (in place) and
jax.nn.initializers (jit-compiled; jax returns a new array) on a 4096 x 4096 weight and a
(256, 256, 3, 3) conv kernel, float32, 2 threads; orthogonal also against LAPACK's QR of a
ready Gaussian (scipy), the work the QR route cannot avoid.  Each result records its ratio
to the memory-write limit (see conftest.py), so compare.py tracks them as the fills.

With FASTINIT_BENCH_N below 2**20 (CI) the shapes shrink to 256 x 256 and (32, 32, 3, 3).
"""

import math

import numpy as np
import pytest
from conftest import N

import fastinit
from fastinit import init

SMALL = N < 2**20
SHAPES = {"dense": (256, 256) if SMALL else (4096, 4096),
          "conv": (32, 32, 3, 3) if SMALL else (256, 256, 3, 3)}
# name: (fastinit.init fill, torch.nn.init name, jax.nn.initializers factory call)
INITS = {
    "xavier_uniform": (init.xavier_uniform_, "xavier_uniform_", ("glorot_uniform", ())),
    "xavier_normal": (init.xavier_normal_, "xavier_normal_", None),
    "glorot_normal_truncated": (lambda o, seed: init.variance_scaling_(
        o, 1.0, "fan_avg", "truncated_normal", seed=seed), None, ("glorot_normal", ())),
    "kaiming_uniform": (init.kaiming_uniform_, "kaiming_uniform_", ("he_uniform", ())),
    "kaiming_normal": (init.kaiming_normal_, "kaiming_normal_", None),
    "torch_linear_default": (lambda o, seed: init.kaiming_uniform_(o, a=math.sqrt(5), seed=seed),
                             "kaiming_uniform_(a=sqrt5)", None),
    "trunc_normal_std02": (lambda o, seed: init.trunc_normal_(o, std=0.02, seed=seed),
                           "trunc_normal_(std=.02)", ("truncated_normal", (0.02,))),
}


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch is not installed")


@pytest.fixture(scope="module")
def jax():
    return pytest.importorskip("jax", reason="jax is not installed")


def _torch_call(torch, name, tensor):
    if name == "kaiming_uniform_(a=sqrt5)":
        return lambda: torch.nn.init.kaiming_uniform_(tensor, a=math.sqrt(5))
    if name == "trunc_normal_(std=.02)":
        return lambda: torch.nn.init.trunc_normal_(tensor, std=0.02)
    return lambda: getattr(torch.nn.init, name)(tensor)


def _jax_layout(shape):
    """torch (out, in, *k) -> jax (*k, in, out): the same fans."""
    return tuple(shape[2:]) + (shape[1], shape[0])


@pytest.mark.parametrize("kind", SHAPES)
@pytest.mark.parametrize("name", INITS)
def test_init_fastinit(measure, name, kind):
    out = np.ones(SHAPES[kind], np.float32)
    fill = INITS[name][0]
    measure(lambda: fill(out, seed=0), out, library="fastinit", dist=f"{name}-{kind}",
            threads=fastinit.get_num_threads())


@pytest.mark.parametrize("kind", SHAPES)
@pytest.mark.parametrize("name", [n for n, v in INITS.items() if v[1]])
def test_init_torch(torch, measure, name, kind):
    out = np.ones(SHAPES[kind], np.float32)
    measure(_torch_call(torch, INITS[name][1], torch.from_numpy(out)), out, library="torch",
            dist=f"{name}-{kind}", threads=torch.get_num_threads())


@pytest.mark.parametrize("kind", SHAPES)
@pytest.mark.parametrize("name", [n for n, v in INITS.items() if v[2]])
def test_init_jax(jax, measure, name, kind):
    factory, args = INITS[name][2]
    shape = _jax_layout(SHAPES[kind])
    fn = jax.jit(lambda key: getattr(jax.nn.initializers, factory)(*args)(key, shape))
    key = jax.random.key(0)
    out = np.empty(shape, np.float32)  # only its size is used for the rate
    measure(lambda: fn(key).block_until_ready(), out, library="jax", dist=f"{name}-{kind}",
            threads=2)


# ---- orthogonal ----

def test_orthogonal_fastinit(measure):
    out = np.ones(SHAPES["dense"], np.float32)
    measure(lambda: init.orthogonal_(out, seed=0), out, library="fastinit",
            dist="orthogonal-dense", threads=fastinit.get_num_threads())


def test_orthogonal_fastinit_bfloat16(measure):
    import ml_dtypes

    out = np.ones(SHAPES["dense"], ml_dtypes.bfloat16)
    measure(lambda: init.orthogonal_(out, seed=0), out, library="fastinit",
            dist="orthogonal-dense", threads=fastinit.get_num_threads())


def test_orthogonal_lapack_qr(measure):
    """scipy.linalg.qr (economic, OpenBLAS geqrf + orgqr) of a ready Gaussian matrix."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    a = fastinit.normal(SHAPES["dense"], seed=0)
    measure(lambda: scipy_linalg.qr(a, mode="economic", overwrite_a=False), a,
            library="scipy_qr", dist="orthogonal-dense", threads=2)


def test_orthogonal_torch(torch, measure):
    out = np.ones(SHAPES["dense"], np.float32)
    tensor = torch.from_numpy(out)
    measure(lambda: torch.nn.init.orthogonal_(tensor), out, library="torch",
            dist="orthogonal-dense", threads=torch.get_num_threads())


def test_orthogonal_jax(jax, measure):
    shape = SHAPES["dense"] if SMALL else (2048, 2048)  # 4096^2 takes ~16 s per call
    fn = jax.jit(lambda key: jax.nn.initializers.orthogonal()(key, shape))
    key = jax.random.key(0)
    out = np.empty(shape, np.float32)
    measure(lambda: fn(key).block_until_ready(), out, library="jax",
            dist=f"orthogonal-{'dense' if SMALL else 'dense2048'}", threads=2)
