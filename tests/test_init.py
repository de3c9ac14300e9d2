"""Initializers: fans and gains equal torch's and jax's, each initializer draws its
framework's distribution (bounds, moments, KS, two-sample KS against torch/jax draws),
orthogonal is Haar, the theory extras keep what they promise, bad input fails cleanly."""

import math
import warnings

import ml_dtypes
import numpy as np
import pytest
from scipy import integrate, stats

import fastinit
from fastinit import init
from fastinit import initializers as I
from fastinit._structured import orthogonal_fill

ALPHA = 1e-6  # KS significance: a correct sampler fails one test in a million
BF16 = np.dtype(ml_dtypes.bfloat16)
FAN_SHAPES = [(3, 4), (64, 3, 7, 7), (16, 8, 3), (8, 4, 3, 3, 3), (1, 1), (5, 7, 1, 1),
              (32, 2, 5, 5)]


def ks_ok(sample, cdf):
    return stats.kstest(np.asarray(sample, np.float64).ravel(), cdf).pvalue > ALPHA


def moment_tol(n, k=6.0):
    """k standard errors of a sample std estimate from n draws (relative)."""
    return k / math.sqrt(2 * n)


# ---- fans ----

@pytest.mark.parametrize("shape", FAN_SHAPES)
def test_fans_equal_torch(shape):
    torch = pytest.importorskip("torch")
    expect = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.compute_fans(shape) == expect


JAX_CASES = [(shape, axes) for shape in FAN_SHAPES + [(3, 3, 16, 32)]
             for axes in ({}, {"in_axis": 0, "out_axis": 1}, {"in_axis": (0, 1)})
             if not (len(shape) == 2 and axes.get("in_axis") == (0, 1))]


@pytest.mark.parametrize("shape,axes", JAX_CASES)
def test_fans_equal_jax(shape, axes):
    pytest.importorskip("jax")
    from jax._src.nn.initializers import _compute_fans

    ours = init.compute_fans(shape, layout="jax", **axes)
    assert ours == _compute_fans(shape, **axes)
    assert all(isinstance(f, float) for f in ours)


def test_fans_batch_axis_and_keras():
    pytest.importorskip("jax")
    from jax._src.nn.initializers import _compute_fans

    assert init.compute_fans((4, 3, 5, 6), layout="jax", batch_axis=0) == _compute_fans(
        (4, 3, 5, 6), batch_axis=0)
    assert init.compute_fans((7, 7, 3, 64), layout="keras") == (147, 3136)
    assert init.compute_fans((5,), layout="keras", fallback=True) == (5, 5)
    assert init.compute_fans((), layout="keras", fallback=True) == (1, 1)


def test_fans_grouped_transposed_and_zero():
    # grouped conv (out=32, in/groups=2, 5x5), groups=16: one unit sees 2*25 inputs,
    # feeds 32/16*25 outputs
    assert init.compute_fans((32, 2, 5, 5), groups=16) == (50, 50)
    # torch ConvTranspose2d(8 -> 12, groups=4) weight (8, 3, 3, 3)
    assert init.compute_fans((8, 3, 3, 3), transposed=True, groups=4) == (18, 27)
    assert init.compute_fans((8, 3, 3, 3)) == (27, 72)  # torch's own reading
    assert init.compute_fans((0, 5)) == (5, 0)
    assert init.compute_fans((3, 3, 0, 4), layout="jax") == (0.0, 36.0)


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fans_need_two_dims(shape):
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.compute_fans(shape)


# ---- gains ----

@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("conv_transpose3d",), ("sigmoid",),
                                  ("tanh",), ("relu",), ("leaky_relu",), ("leaky_relu", 0),
                                  ("leaky_relu", 0.2), ("selu",)])
def test_gain_equals_torch(args):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(*args) == torch.nn.init.calculate_gain(*args)


@pytest.mark.parametrize("name,param,fn", [
    ("gelu", None, lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2)))),
    ("silu", None, lambda x: x / (1 + math.exp(-x))),
    ("mish", None, lambda x: x * math.tanh(math.log1p(math.exp(x)))),
    ("softplus", 2.0, lambda x: math.log1p(math.exp(2 * x)) / 2),
    ("elu", 0.5, lambda x: x if x > 0 else 0.5 * math.expm1(x)),
    ("hardtanh", (-0.5, 2.0), lambda x: min(max(x, -0.5), 2.0)),
])
def test_extended_gain_is_variance_preserving(name, param, fn):
    m, _ = integrate.quad(lambda x: fn(x) ** 2 * math.exp(-x * x / 2) / math.sqrt(2 * math.pi),
                          -30, 30, points=[-0.5, 0, 2], limit=200)
    assert init.calculate_gain(name, param) == pytest.approx(1 / math.sqrt(m), rel=1e-9)


@pytest.mark.parametrize("args,exc", [(("swishy",), ValueError), (("leaky_relu", True), ValueError),
                                      ((3,), TypeError), (("hardtanh", (1.0, -1.0)), ValueError)])
def test_gain_bad_input(args, exc):
    with pytest.raises(exc):
        init.calculate_gain(*args)


# ---- variance-scaling family: exact laws ----

N = (512, 1024)  # fan_in 1024, fan_out 512 (torch)


def _check_uniform(w, bound):
    assert np.abs(w).max() < bound
    assert np.abs(w).max() > bound * (1 - 1e-3)
    assert ks_ok(w, stats.uniform(-bound, 2 * bound).cdf)


def test_xavier_uniform_law():
    w = init.xavier_uniform(N, gain=1.7, seed=1)
    _check_uniform(w, 1.7 * math.sqrt(6 / (512 + 1024)))


def test_kaiming_uniform_law():
    w = init.kaiming_uniform(N, a=0.2, mode="fan_out", seed=2)
    _check_uniform(w, math.sqrt(2 / 1.04) * math.sqrt(3 / 512))
    _check_uniform(init.torch_linear_default_(np.empty(N, np.float32), seed=3),
                   1 / math.sqrt(1024))


@pytest.mark.parametrize("fn,std", [
    (lambda: init.xavier_normal(N, gain=2.0, seed=4), 2 * math.sqrt(2 / 1536)),
    (lambda: init.kaiming_normal(N, seed=5), math.sqrt(2 / 1024)),
    (lambda: init.kaiming_normal(N, nonlinearity="gelu", seed=5),
     init.calculate_gain("gelu") / math.sqrt(1024)),
])
def test_untruncated_normal_laws(fn, std):
    w = fn()
    assert ks_ok(w, stats.norm(0, std).cdf)
    assert abs(w.std() / std - 1) < moment_tol(w.size)


@pytest.mark.parametrize("make,std", [
    (lambda: I.glorot_normal()(7, (1024, 512)), math.sqrt(2 / 1536)),
    (lambda: I.he_normal()(7, (3, 3, 64, 128)), math.sqrt(2 / 576)),
    (lambda: I.lecun_normal()(7, (1024, 512)), math.sqrt(1 / 1024)),
    (lambda: I.GlorotNormal(seed=8)((1024, 512)), math.sqrt(2 / 1536)),
    (lambda: I.VarianceScaling(2.0, distribution="normal", seed=9)((1024, 512)),
     math.sqrt(2 / 1024)),
    (lambda: init.lecun_normal((512, 1024), seed=10), math.sqrt(1 / 1024)),
])
def test_truncated_variance_scaling_laws(make, std):
    w = make()
    s = std / 0.87962566103423978
    assert np.abs(w).max() <= 2 * s
    assert ks_ok(w, stats.truncnorm(-2, 2, scale=s).cdf)
    assert abs(w.std() / std - 1) < moment_tol(w.size)


def test_jax_and_keras_plain_laws():
    w = I.uniform(0.3)(1, (100_000,))
    assert w.min() >= 0 and w.max() < 0.3 and ks_ok(w, stats.uniform(0, 0.3).cdf)
    w = I.truncated_normal(0.5, lower=-1.0, upper=3.0)(2, (100_000,))
    assert w.min() >= -0.5 and w.max() <= 1.5
    assert ks_ok(w, stats.truncnorm(-1, 3, scale=0.5).cdf)
    w = I.TruncatedNormal(1.0, 0.05, seed=3)((100_000,))
    assert ks_ok(w, stats.truncnorm(-2, 2, loc=1.0, scale=0.05).cdf)
    w = I.VarianceScaling(3.0, "fan_avg", "untruncated_normal", seed=4)((300, 500))
    assert ks_ok(w, stats.norm(0, math.sqrt(3 / 400)).cdf)
    w = I.variance_scaling(2.0, "fan_geo_avg", "uniform")(5, (100, 400))
    _check_uniform(w, math.sqrt(3 * 2 / 200))


def test_keras_fallbacks_and_determinism():
    # keras clamps fans at 1 and reads 1-D shapes as (n, n)
    w = I.HeUniform(seed=1)((5,))
    assert np.abs(w).max() < math.sqrt(6 / 5)
    init_ = I.GlorotUniform(seed=11)
    np.testing.assert_array_equal(init_((30, 20)), init_((30, 20)))  # keras 3: same values
    gen = fastinit.Generator(5)
    adv = I.GlorotUniform(seed=gen)
    assert not np.array_equal(adv((30, 20)), adv((30, 20)))
    assert I.HeNormal(seed=3).get_config() == {"seed": 3}
    assert I.VarianceScaling(seed=1).distribution == "truncated_normal"


def test_seeds_keys_generators():
    a = init.kaiming_uniform_(np.empty((64, 32), np.float32), seed=3)
    b = init.kaiming_uniform_(np.empty((64, 32), np.float32), seed=3)
    np.testing.assert_array_equal(a, b)
    gen = fastinit.Generator(3)
    c = init.kaiming_uniform_(np.empty((64, 32), np.float32), generator=gen)
    d = init.kaiming_uniform_(np.empty((64, 32), np.float32), generator=gen)
    np.testing.assert_array_equal(a, c)  # a generator's first call is stream 0
    assert not np.array_equal(c, d)
    init.manual_seed(9)
    e = init.normal_(np.empty(10))
    init.manual_seed(9)
    np.testing.assert_array_equal(e, init.normal_(np.empty(10)))
    key = np.array([0, 3], np.uint32)
    np.testing.assert_array_equal(I.he_uniform()(key, (64, 32)), I.he_uniform()(3, (64, 32)))
    with pytest.raises(TypeError, match="seed or generator"):
        init.normal_(np.empty(3), seed=1, generator=gen)


def test_jax_typed_key():
    jax = pytest.importorskip("jax")
    key = jax.random.key(42)
    raw = jax.random.PRNGKey(42)
    a = I.lecun_normal()(key, (16, 8))
    np.testing.assert_array_equal(a, I.lecun_normal()(raw, (16, 8)))
    hi, lo = (int(x) for x in np.asarray(raw))
    np.testing.assert_array_equal(a, I.lecun_normal()((hi << 32) | lo, (16, 8)))


@pytest.mark.parametrize("dtype", [np.float16, BF16, np.float32, np.float64])
def test_dtypes(dtype):
    w = init.kaiming_normal((256, 128), seed=1, dtype=dtype)
    assert w.dtype == dtype
    ref = init.kaiming_normal((256, 128), seed=1, dtype=np.float32)
    if dtype != np.float64:  # drawn at float32 precision, then rounded
        np.testing.assert_array_equal(w, ref.astype(dtype))


def test_dlpack_torch_in_place():
    torch = pytest.importorskip("torch")
    t = torch.empty(64, 48)
    r = init.xavier_uniform_(t, seed=5)
    assert r is t
    np.testing.assert_array_equal(t.numpy(), init.xavier_uniform((64, 48), seed=5))
    tb = torch.empty(64, 48, dtype=torch.bfloat16)
    init.orthogonal_(tb, seed=2)
    np.testing.assert_array_equal(tb.view(torch.int16).numpy().view(BF16),
                                  init.orthogonal((64, 48), seed=2, dtype=BF16))
    with pytest.raises(ValueError, match="requires grad"):
        init.normal_(torch.empty(3, requires_grad=True), seed=1)


# ---- two-sample KS against the frameworks' own draws ----

def _two_sample(ours, theirs):
    return stats.ks_2samp(np.ravel(ours).astype(np.float64),
                          np.ravel(theirs).astype(np.float64)).pvalue > ALPHA


@pytest.mark.parametrize("name,kw", [("xavier_uniform_", {"gain": 1.3}), ("xavier_normal_", {}),
                                     ("kaiming_uniform_", {"a": math.sqrt(5)}),
                                     ("kaiming_normal_", {"mode": "fan_out"}),
                                     ("trunc_normal_", {"std": 0.7, "a": -1.0, "b": 0.5}),
                                     ("orthogonal_", {"gain": 2.0})])
def test_same_law_as_torch(name, kw):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = getattr(torch.nn.init, name)(torch.empty(256, 200), **kw).numpy()
    ours = getattr(init, name)(np.empty((256, 200), np.float32), seed=1, **kw)
    assert _two_sample(ours, theirs)


@pytest.mark.parametrize("name,args", [("glorot_normal", ()), ("he_uniform", ()),
                                       ("lecun_normal", ()), ("truncated_normal", (0.3,)),
                                       ("uniform", (0.2,)), ("orthogonal", (1.5,)),
                                       ("delta_orthogonal", ())])
def test_same_law_as_jax(name, args):
    jax = pytest.importorskip("jax")
    shape = (3, 3, 64, 96) if name == "delta_orthogonal" else (256, 200)
    theirs = np.asarray(getattr(jax.nn.initializers, name)(*args)(jax.random.key(0), shape))
    ours = getattr(I, name)(*args)(1, shape)
    assert ours.shape == theirs.shape
    assert _two_sample(ours, theirs)


# ---- orthogonal ----

@pytest.mark.parametrize("shape", [(64, 64), (40, 100), (100, 40), (16, 4, 3, 3), (8, 2, 3)])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_orthogonal_is_orthonormal(shape, dtype, tol):
    w = init.orthogonal(shape, gain=1.0, seed=3, dtype=dtype).reshape(shape[0], -1)
    small = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    assert np.abs(small - np.eye(small.shape[0])).max() < tol


@pytest.mark.parametrize("dtype", [np.float16, BF16])
def test_orthogonal_low_precision(dtype):
    w = init.orthogonal((64, 128), gain=2.0, seed=1, dtype=dtype)
    ref = init.orthogonal((64, 128), gain=2.0, seed=1, dtype=np.float32)
    np.testing.assert_array_equal(w, ref.astype(dtype))


def test_orthogonal_is_haar():
    n, draws = 6, 4000
    q = init.orthogonal((draws, n, n), seed=5, dtype=np.float64, batch_dims=1)
    tr = np.trace(q, axis1=1, axis2=2)
    # Haar O(n), n >= 4: tr Q has the moments of N(0, 1) up to order 4
    assert abs(tr.mean()) < 5 / math.sqrt(draws)
    assert abs((tr**2).mean() - 1) < 5 * math.sqrt(2 / draws)
    # each entry squared ~ Beta(1/2, (n - 1)/2); determinant +-1 with equal odds
    assert ks_ok(q[:, 0, 0] ** 2, stats.beta(0.5, (n - 1) / 2).cdf)
    assert ks_ok(q[:, 2, 5] ** 2, stats.beta(0.5, (n - 1) / 2).cdf)
    det = np.linalg.det(q)
    assert np.allclose(np.abs(det), 1)
    assert abs((det > 0).mean() - 0.5) < 5 * 0.5 / math.sqrt(draws)


def test_orthogonal_batched_equals_one_by_one():
    b, r, c = 5, 12, 20
    batched = init.orthogonal((b, r, c), seed=7, batch_dims=1)
    for i in range(b):
        one = orthogonal_fill(np.empty((r, c), np.float32), r, c, 1.0, 7, 0, offset=i * r * c)
        np.testing.assert_array_equal(batched[i], one)


def test_orthogonal_layouts():
    # jax: columns along column_axis; rows = numel / cols
    w = I.orthogonal(column_axis=0)(3, (8, 5, 4))
    m = np.moveaxis(w, 0, -1).reshape(-1, 8)
    assert np.abs(m.T @ m - np.eye(8)).max() < 1e-5
    k = I.Orthogonal(gain=3.0, seed=1)((3, 3, 16, 32))
    m = k.reshape(-1, 32)
    assert np.abs(m.T @ m - 9 * np.eye(32)).max() < 1e-4
    # a non-contiguous out holds the same logical values
    out = np.empty((30, 20), np.float32, order="F")
    np.testing.assert_array_equal(init.orthogonal_(out, seed=2), init.orthogonal((30, 20), seed=2))
    empty = np.empty((0, 4), np.float32)
    assert init.orthogonal_(empty, seed=1) is empty


# ---- structured ----

def test_dirac_matches_torch():
    torch = pytest.importorskip("torch")
    for shape, groups in [((6, 4, 3, 3), 2), ((4, 4, 4), 1), ((8, 2, 2, 3, 5), 4)]:
        expect = torch.nn.init.dirac_(torch.empty(shape), groups).numpy()
        np.testing.assert_array_equal(init.dirac(shape, groups), expect)
    jax_centre = init.dirac((2, 2, 4), centre="jax")
    assert jax_centre[0, 0, 1] == 1 and jax_centre[0, 0, 2] == 0


def test_eye_delta_sparse():
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(init.eye((3, 5)), torch.nn.init.eye_(torch.empty(3, 5)).numpy())
    d = init.delta_orthogonal((4, 4, 8, 8), gain=2.0, seed=1)
    centre = d[1, 1]
    assert np.abs(centre @ centre.T - 4 * np.eye(8)).max() < 1e-5
    assert np.count_nonzero(d) == np.count_nonzero(centre)
    w = init.sparse((10, 2000), 0.25, std=0.5, seed=3)
    assert ((w == 0).sum(axis=0) == 3).all()  # ceil(0.25 * 10) per column, as torch
    assert ks_ok(w[w != 0], stats.norm(0, 0.5).cdf)
    # each row equally likely to be zeroed: chi-square over rows
    counts = (w == 0).sum(axis=1)
    assert stats.chisquare(counts).pvalue > ALPHA
    np.testing.assert_array_equal(w, init.sparse((10, 2000), 0.25, std=0.5, seed=3))


# ---- theory extras ----

def test_attention_qk_std_gives_unit_logits():
    d_in, d_h, sigma_x = 256, 64, 2.0
    std = init.attention_qk_std(d_in, sigma_x)
    wq = fastinit.normal((64, d_h, d_in), 0, std, seed=1, stream=0, dtype=np.float64)
    wk = fastinit.normal((64, d_h, d_in), 0, std, seed=1, stream=1, dtype=np.float64)
    x = fastinit.normal((64, d_in, 128), 0, sigma_x, seed=1, stream=2, dtype=np.float64)
    logits = np.einsum("bhi,bin->bhn", wq, x).transpose(0, 2, 1) @ np.einsum(
        "bhi,bin->bhn", wk, x) / math.sqrt(d_h)
    assert abs(logits.var() - 1) < 0.05


def test_multi_branch_outputs_have_equal_variance():
    fans = [64, 256, 1024]
    stds = init.multi_branch_stds(fans, gain=1.0)
    outs = []
    for i, (f, s) in enumerate(zip(fans, stds, strict=True)):
        w = fastinit.normal((256, f), 0, s, seed=2, stream=2 * i, dtype=np.float64)
        x = fastinit.normal((f, 2000), seed=2, stream=2 * i + 1, dtype=np.float64)
        outs.append((w @ x).var())
    assert np.allclose(outs, 1 / 3, rtol=0.05)
    assert abs(sum(outs) - 1) < 0.05


def test_dropout_corrected_std_keeps_forward_variance():
    fan_in, p = 512, 0.3
    w = fastinit.normal((512, fan_in), 0, init.dropout_corrected_std(fan_in, p), seed=3,
                        dtype=np.float64)
    x = fastinit.normal((fan_in, 4000), seed=3, stream=1, dtype=np.float64)
    keep = fastinit.uniform((fan_in, 4000), seed=3, stream=2, dtype=np.float64) >= p
    y = w @ (x * keep / (1 - p))
    assert abs(y.var() / (x**2).mean() - 1) < 0.03


def test_mahalanobis_whitens():
    d = 64
    a = fastinit.normal((d, d), seed=4, dtype=np.float64)
    sigma = a @ a.T / d + 0.1 * np.eye(d)
    w = init.mahalanobis_normal_(np.empty((4000, d)), sigma, scale=2.0, seed=5)
    x = np.linalg.cholesky(sigma) @ fastinit.normal((d, 400), seed=6, dtype=np.float64)
    assert abs((w @ x).var() - 2.0) < 0.1
    cov = np.cov(w.T)
    assert np.allclose(cov, np.linalg.inv(sigma) * 2.0 / d, atol=6 * cov.diagonal().max() / 60)
    with pytest.raises(ValueError, match="positive definite"):
        init.mahalanobis_normal_(np.empty((4, 2)), [[1.0, 2.0], [2.0, 1.0]], seed=1)


def test_residual_scalings():
    assert init.fixup_scale(16, 2) == pytest.approx(16 ** -0.5)
    assert init.fixup_scale(27, 4) == pytest.approx(27 ** (-1 / 6))
    s = init.deepnorm_scales(encoder_layers=1000)
    assert s["encoder"] == pytest.approx((2000 ** 0.25, 8000 ** -0.25))
    s = init.deepnorm_scales(6, 6)
    assert s["decoder"] == pytest.approx((18 ** 0.25, 72 ** -0.25))
    w, b = np.empty((4, 8)), np.empty(4)
    init.optimistic_bias_(w, b, 10.0, weight_std=1e-3, seed=1)
    assert (b == 10).all() and np.abs(w).max() < 1e-2
    gamma = np.ones(5)
    assert not init.zero_gamma_(gamma).any()


# ---- bad input and zero size ----

@pytest.mark.parametrize("call,exc,match", [
    (lambda o: init.kaiming_uniform_(o, mode="fan_avg", seed=1), ValueError, "fan_avg"),
    (lambda o: init.kaiming_normal_(o, nonlinearity="swishy", seed=1), ValueError, "swishy"),
    (lambda o: init.variance_scaling_(o, 1.0, "fan_in", "cauchy", seed=1), ValueError,
     "distribution"),
    (lambda o: init.sparse_(o, 1.0, seed=1), ValueError, "sparsity"),
    (lambda o: init.sparse_(o, -0.1, seed=1), ValueError, "sparsity"),
    (lambda o: init.xavier_uniform_(o[0], seed=1), ValueError, "at least 2"),
    (lambda o: init.normal_(o, std=-1.0, seed=1), ValueError, "std must be >= 0"),
    (lambda o: init.uniform_(o.astype(np.int32), seed=1), TypeError, "dtype"),
    (lambda o: init.orthogonal_(o, seed=-1), ValueError, "seed"),
    (lambda o: init.normal_(o.tolist(), seed=1), TypeError, "tensor"),
])
def test_bad_input_leaves_out_untouched(call, exc, match):
    out = np.full((6, 4), 7.0, np.float32)
    with pytest.raises(exc, match=match):
        call(out)
    assert (out == 7.0).all()


def test_structured_bad_input():
    with pytest.raises(ValueError, match="groups"):
        init.dirac((6, 4, 3), groups=4)
    with pytest.raises(ValueError, match="fan_in <= fan_out"):
        init.delta_orthogonal((3, 3, 8, 4), seed=1)
    with pytest.raises(ValueError, match="mode"):
        I.variance_scaling(1.0, "fan_max", "normal")
    with pytest.raises(ValueError, match="scale"):
        I.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="layout"):
        init.compute_fans((3, 4), layout="mxnet")
    read_only = np.zeros((3, 4), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        init.xavier_normal_(read_only, seed=1)


def test_zero_size_is_a_no_op():
    with pytest.warns(UserWarning, match="no-op"):
        init.kaiming_uniform_(np.empty((0, 5), np.float32), seed=1)
    with pytest.warns(UserWarning, match="no-op"):
        init.xavier_uniform_(np.empty((3, 4, 0), np.float32), seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert I.glorot_uniform()(1, (0, 5)).shape == (0, 5)
        assert I.GlorotNormal(seed=1)((3, 0)).shape == (3, 0)
        assert init.orthogonal((0, 3), seed=1).shape == (0, 3)


@pytest.mark.parametrize("dtype,tol", [(np.complex64, 1e-5), (np.complex128, 1e-12)])
def test_orthogonal_complex_is_haar_unitary(dtype, tol):
    n, draws = 5, 4000
    q = init.orthogonal((draws, n, n), seed=8, dtype=dtype, batch_dims=1)
    assert q.dtype == dtype
    eye = np.einsum("bij,bkj->bik", q, q.conj())
    assert np.abs(eye - np.eye(n)).max() < tol
    tr = np.trace(q, axis1=1, axis2=2)
    # Haar U(n): tr Q has the moments of a standard complex normal up to order n
    assert abs(tr.mean()) < 5 / math.sqrt(draws)
    assert abs((np.abs(tr) ** 2).mean() - 1) < 5 / math.sqrt(draws)
    # |q_ij|^2 ~ Beta(1, n - 1); the phase of q_ij uniform
    assert ks_ok(np.abs(q[:, 1, 3]) ** 2, stats.beta(1, n - 1).cdf)
    assert ks_ok(np.angle(q[:, 0, 0]), stats.uniform(-np.pi, 2 * np.pi).cdf)
    w = I.orthogonal(2.0)(3, (6, 10), dtype=dtype)
    assert np.abs(w @ w.conj().T - 4 * np.eye(6)).max() < 10 * tol
