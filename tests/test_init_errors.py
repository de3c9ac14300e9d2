"""Bad arguments of the initializers raise a ValueError/TypeError naming the caller's
argument and its accepted range before anything is written; one seed rule for ints and
jax keys everywhere; fastinit.jax raises the numpy path's errors (also under jit);
every in-place fill takes seed=."""

import inspect
import math

import numpy as np
import pytest

from fastinit import init
from fastinit import initializers as I
from fastinit._validate import check_seed, derived_seed, seed_of_words

NAN, INF = float("nan"), float("inf")


def _w(dtype=np.float32, shape=(6, 4)):
    return np.full(shape, 7, dtype)


# ---- item 1: each error names the caller's argument and the accepted range ----

BAD_INIT = [
    # the reproducers
    (lambda o: init.kaiming_uniform_(o, a=NAN, seed=1),
     ValueError, r"^a \(the negative slope\) must be finite with \|a\| < 1.341e\+154"),
    (lambda o: init.xavier_uniform_(o, gain=1e200, seed=1),
     ValueError, r"^gain must be in \[0, 2\.\d+e\+38\]"),
    (lambda o: init.kaiming_normal_(o, a=-1e200, seed=1),
     ValueError, r"^a \(the negative slope\) must be finite"),
    # gains and scales
    (lambda o: init.xavier_normal_(o, gain=-1.0, seed=1), ValueError, r"^gain must be >= 0"),
    (lambda o: init.xavier_normal_(o, gain=INF, seed=1), ValueError, r"^gain must be finite"),
    (lambda o: init.xavier_uniform_(o, gain="2", seed=1), TypeError, r"^gain must be a real"),
    (lambda o: init.xavier_normal_(o.astype(np.float16), gain=1e5, seed=1), ValueError,
     r"^gain must be in \[0, \d+\.?\d*\].*float16"),
    (lambda o: init.variance_scaling_(o, scale=NAN, seed=1), ValueError, r"^scale must be finite"),
    (lambda o: init.variance_scaling_(o, scale=-2.0, seed=1), ValueError, r"^scale must be >= 0"),
    (lambda o: init.variance_scaling_(o, scale=1e80, seed=1), ValueError,
     r"^scale must be in \[0, .*float32"),
    (lambda o: init.variance_scaling_(o, mode="fan_max", seed=1),
     ValueError, r"^mode must be one of"),
    (lambda o: init.variance_scaling_(o, distribution=3, seed=1),
     ValueError, r"^distribution must be one of"),
    (lambda o: init.kaiming_uniform_(o, mode=3, seed=1),
     ValueError, r"^mode must be 'fan_in' or 'fan_out'"),
    (lambda o: init.kaiming_uniform_(o, a=True, seed=1), TypeError, r"^a must be a real"),
    # plain laws
    (lambda o: init.uniform_(o, a=NAN, seed=1), ValueError, r"^a must be finite"),
    (lambda o: init.uniform_(o, 2.0, 1.0, seed=1), ValueError, r"^a must be <= b"),
    (lambda o: init.uniform_(o, -1e200, 1e200, seed=1),
     ValueError, r"^a and b must lie in float32's range"),
    (lambda o: init.uniform_(o.astype(np.float16), 0, 1e5, seed=1),
     ValueError, r"^a and b must lie in float16's range \[-65504, 65504\]"),
    (lambda o: init.normal_(o, std=INF, seed=1), ValueError, r"^std must be finite"),
    (lambda o: init.normal_(o, mean="0", seed=1), TypeError, r"^mean must be a real"),
    (lambda o: init.normal_(o, std=1e38, seed=1),
     ValueError, r"^mean and std must keep mean \+- 6\.66 std"),
    (lambda o: init.trunc_normal_(o, std=0.0, seed=1), ValueError, r"^std must be > 0"),
    (lambda o: init.trunc_normal_(o, a=1.0, b=1.0, seed=1), ValueError, r"^a must be < b"),
    (lambda o: init.trunc_normal_(o, mean=1e200, seed=1),
     ValueError, r"^trunc_normal_\(mean=1e\+200"),
    (lambda o: init.trunc_normal_(o.astype(np.float16), std=1e4, a=-1e5, b=1e5, seed=1),
     ValueError, r"^a, b, mean and std must keep the draws' range"),
    # structured and constant fills
    (lambda o: init.constant_(o, 1e200), ValueError, r"^val must lie in float32's range"),
    (lambda o: init.constant_(o, "x"), TypeError, r"^val must be a real number"),
    (lambda o: init.orthogonal_(o, gain=NAN, seed=1), ValueError, r"^gain must be finite"),
    (lambda o: init.orthogonal_(o.astype(np.float16), gain=1e5, seed=1), ValueError,
     r"^gain must lie in float16's range"),
    (lambda o: init.sparse_(o, NAN, seed=1), ValueError, r"^sparsity must be finite"),
    (lambda o: init.sparse_(o, 0.5, std=-1.0, seed=1), ValueError, r"^std must be >= 0"),
    (lambda o: init.sparse_(o, 0.5, std=1e38, seed=1), ValueError, r"^mean and std must keep"),
    (lambda o: init.embedding_default_(o, padding_idx=6, seed=1), ValueError,
     r"^padding_idx must be an integer < 6, got 6"),
    (lambda o: init.embedding_default_(o, padding_idx=1.0, seed=1), TypeError,
     r"^padding_idx must be an integer >= -6"),
    (lambda o: init.torch_linear_default_(o, bias=[0.0] * 6, seed=1), TypeError, r"^bias must be"),
    (lambda o: init.ones_(o, seed=-1), ValueError, r"^seed must be in \[0, 2\*\*64\)"),
    (lambda o: init.normal_(o, seed=1.5), TypeError, r"^seed must be an integer in \[0, 2\*\*64\)"),
]


@pytest.mark.parametrize("call,exc,match", BAD_INIT)
def test_bad_argument_names_itself_and_writes_nothing(call, exc, match):
    out = _w()
    with pytest.raises(exc, match=match):
        call(out)
    assert (out == 7).all()


def test_bad_structured_argument_writes_nothing():
    w, k = np.full((4, 4, 3), 7.0), np.full((3, 4, 4), 7.0)
    for out, call, match in [
        (w, lambda: init.dirac_(w, groups=0), r"^groups must be an integer >= 1"),
        (w, lambda: init.dirac_(w, gain=INF), r"^gain must be finite"),
        (k, lambda: init.delta_orthogonal_(k, gain=NAN, seed=1), r"^gain must be finite"),
        (w, lambda: init.delta_orthogonal_(w, seed=1), "fan_in <= fan_out"),
    ]:
        with pytest.raises(ValueError, match=match):
            call()
        assert (out == 7).all()
    with pytest.raises(TypeError, match=r"^groups must be an integer >= 1, got float"):
        init.dirac_(w, groups=1.5)
    assert (w == 7).all()
    small = np.full(3, 7, np.int8)
    with pytest.raises(ValueError, match=r"^val must lie in int8's range \[-128, 127\]"):
        init.constant_(small, 300)
    assert (small == 7).all()


def test_functional_twins_name_the_argument():
    with pytest.raises(ValueError, match="^gain must be in"):
        init.xavier_uniform((4, 5), gain=1e200, seed=1)
    with pytest.raises(ValueError, match=r"^a \(the negative slope\)"):
        init.kaiming_normal((4, 5), a=-1e200, seed=1)
    with pytest.raises(ValueError, match="^val must lie in float32's range"):
        init.constant((3,), -1e300)


def test_constants_may_be_nonfinite_as_in_torch():
    """torch.nn.init.constant_ and jax's constant fill nan and +-inf (masks use -inf)."""
    out = np.zeros(3, np.float32)
    init.constant_(out, -math.inf)
    assert np.all(out == -np.inf)
    init.constant_(out, NAN)
    assert np.all(np.isnan(out))
    with pytest.raises(ValueError, match="^val must be finite"):
        init.constant_(np.zeros(3, np.int32), math.inf)
    assert np.all(I.constant(-math.inf)(0, (2,)) == -np.inf)


def test_numpy_scalar_constants_are_checked_without_overflow_warnings():
    """An np.float32 (or np.complex64) value against a wider dtype's range: no overflow
    RuntimeWarning from casting that range's bound to float32, and the check still holds
    (tests/test_small_tensors.py's constant_ paths met it)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in (np.float64, np.complex128, np.float32, np.int64):
            out = np.zeros(3, dtype)
            init.constant_(out, np.float32(0.1))
            assert (out == dtype(np.float32(0.1))).all()
        big = np.zeros(3, np.complex128)
        init.constant_(big, np.complex64(3e38 - 2e38j))
        assert (big == np.complex64(3e38 - 2e38j)).all()
        with pytest.raises(ValueError, match=r"^val must lie in float16's range"):
            init.constant_(np.zeros(3, np.float16), np.float32(7e4))
        with pytest.raises(ValueError, match=r"^val must lie in int8's range"):
            init.constant_(np.zeros(3, np.int8), np.float32(300.5))


def test_the_accepted_range_is_the_true_limit():
    # the bound in the message is where the draws stop being finite in the dtype
    w = np.empty((100, 100), np.float16)
    with pytest.raises(ValueError) as err:
        init.xavier_uniform_(w, gain=1e9, seed=1)
    limit = float(str(err.value).split("[0, ")[1].split("]")[0])
    init.xavier_uniform_(w, gain=limit * 0.999, seed=1)
    assert np.isfinite(w.astype(np.float64)).all()
    assert np.abs(w.astype(np.float64)).max() > 0.9 * 65504


BAD_JAX_STYLE = [
    (lambda: I.uniform(-1.0), ValueError, r"^scale must be >= 0"),
    (lambda: I.uniform(1e39)(0, (3,)), ValueError, r"^scale must be in \[0, 3\.40282e\+38\]"),
    (lambda: I.normal(NAN), ValueError, "^stddev must be finite"),
    (lambda: I.normal(-1.0), ValueError, "^stddev must be >= 0"),
    (lambda: I.truncated_normal(0.0), ValueError, "^stddev must be > 0"),
    (lambda: I.truncated_normal(1.0, lower=2.0, upper=1.0), ValueError, "^lower must be < upper"),
    (lambda: I.truncated_normal(1.0, lower=50.0, upper=60.0), ValueError, r"^\[lower, upper\]"),
    (lambda: I.variance_scaling(INF, "fan_in", "normal"), ValueError, "^scale must be finite"),
    (lambda: I.variance_scaling(1.0, "fan_max", "normal"), ValueError, "^mode must be one of"),
    (lambda: I.variance_scaling(1.0, "fan_in", "cauchy"), ValueError, "^distribution must be"),
    (lambda: I.variance_scaling(1e300, "fan_in", "normal")(0, (3, 4), np.float16), ValueError,
     r"^scale must be in \[0, .*float16"),
    (lambda: I.orthogonal(column_axis=1.5), TypeError, "^column_axis must be an integer"),
    (lambda: I.orthogonal(column_axis=5)(0, (3, 4)), ValueError,
     r"^column_axis must be in \[-2, 2\)"),
    (lambda: I.orthogonal(NAN), ValueError, "^scale must be finite"),
    (lambda: I.constant(1e400j), TypeError, "^value must be a real number"),
    (lambda: I.glorot_uniform()(0, (3, 4), np.int32), TypeError, "^dtype must be one of"),
    (lambda: I.glorot_uniform()(0, (3, -4)), ValueError, "^shape must contain non-negative"),
    (lambda: I.RandomUniform(1.0, 0.0), ValueError, "^minval must be <= maxval"),
    (lambda: I.RandomUniform(-1e39, 1e39)((3,)), ValueError, "^minval and maxval must lie in"),
    (lambda: I.RandomNormal(stddev=-1.0), ValueError, "^stddev must be >= 0"),
    (lambda: I.RandomNormal(stddev=1e38)((3,)), ValueError, "^mean and stddev must keep"),
    (lambda: I.TruncatedNormal(stddev=0.0), ValueError, "^stddev must be > 0"),
    (lambda: I.VarianceScaling(scale=NAN), ValueError, "^scale must be finite"),
    (lambda: I.VarianceScaling(distribution="cauchy"), ValueError, "^distribution must be"),
    (lambda: I.VarianceScaling(distribution=["normal"]), ValueError, "^distribution must be"),
    (lambda: I.VarianceScaling(mode=["fan_in"]), ValueError, "^mode must be one of"),
    (lambda: I.Identity(gain=INF), ValueError, "^gain must be finite"),
    (lambda: I.Orthogonal(gain=1e5)((4, 4), "float16"), ValueError, "^gain must lie in float16"),
    (lambda: I.Constant("x"), TypeError, "^value must be a real number"),
]


@pytest.mark.parametrize("call,exc,match", BAD_JAX_STYLE)
def test_jax_and_keras_style_name_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# ---- item 2: one seed rule ----

@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (2**64, ValueError), (2**70, ValueError),
                                     (1.5, TypeError), (True, TypeError), ("3", TypeError),
                                     (np.array([0.0, 3.0]), TypeError),
                                     (np.array([0, 3], np.int64), TypeError),
                                     (np.array([0, 3, 4], np.uint32), ValueError)])
def test_seed_rule_rejects(bad, exc):
    with pytest.raises(exc, match="^key must be"):
        check_seed(bad, "key")
    with pytest.raises(exc, match="^key must be"):
        I.normal()(bad, (3,))
    if not isinstance(bad, np.ndarray):
        with pytest.raises(exc, match="^seed must be"):
            I.GlorotUniform(seed=bad)


def test_seed_rule_accepts():
    assert check_seed(0) == 0 and check_seed(2**64 - 1) == 2**64 - 1
    assert check_seed(np.uint64(5)) == 5
    assert check_seed(np.array([1, 2], np.uint32)) == (1 << 32) | 2
    words = np.array([1, 2, 3, 4], np.uint32)
    whole = (1 << 96) | (2 << 64) | (3 << 32) | 4
    assert check_seed(words) == seed_of_words(words) == derived_seed(whole, "jax_key")
    np.testing.assert_array_equal(I.GlorotUniform(seed=words)((4, 3)),
                                  I.GlorotUniform(seed=derived_seed(whole, "jax_key"))((4, 3)))


def test_jax_keys_follow_the_rule():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    import fastinit.jax as fj

    # threefry keeps (w0 << 32) | w1; the same seed as an int gives the same values
    key = jax.random.key(2**40 + 7)
    w0, w1 = (int(x) for x in np.asarray(jax.random.key_data(key)))
    np.testing.assert_array_equal(np.asarray(fj.normal()(key, (5,))),
                                  I.normal()((w0 << 32) | w1, (5,)))
    for bad, exc in [(-1, ValueError), (2**70, ValueError), (1.5, TypeError),
                     (True, TypeError), (jnp.array([0.0, 3.0]), TypeError),
                     (jax.random.split(key, 3), ValueError)]:
        with pytest.raises(exc, match="^key must be"):
            fj.normal()(bad, (3,))
        with pytest.raises(exc, match="^key must be"):
            I.normal()(bad, (3,))
    # under vmap each key gives its own values, as called one by one
    for impl in ("threefry2x32", "rbg"):
        keys = jax.random.split(jax.random.key(1, impl=impl), 3)
        batched = np.asarray(jax.vmap(lambda k: fj.normal()(k, (3,)))(keys))
        for i in range(3):
            np.testing.assert_array_equal(batched[i], I.normal()(keys[i], (3,)))
    # 2**64 - 1 is a seed of its own, -1 is no alias of it
    np.testing.assert_array_equal(np.asarray(fj.normal()(2**64 - 1, (4,))),
                                  I.normal()(2**64 - 1, (4,)))


# ---- item 3: the jax path raises the numpy path's errors, eagerly and under jit ----

JAX_BAD = [
    (lambda fj: fj.glorot_normal(), (3, -1), None, ValueError, "^shape must contain"),
    (lambda fj: fj.glorot_normal(), (3,), None, ValueError, "in_axis"),
    (lambda fj: fj.he_uniform(), (3, 4), "int32", TypeError, "^dtype must be one of"),
    (lambda fj: fj.delta_orthogonal(), (3, 3, 8, 4), None, ValueError, "fan_in <= fan_out"),
    (lambda fj: fj.orthogonal(), (5,), None, ValueError, "at least 2 dimensions"),
    (lambda fj: fj.orthogonal(column_axis=4), (3, 4), None, ValueError, "^column_axis"),
    (lambda fj: fj.variance_scaling(1e300, "fan_in", "normal"), (3, 4), "float16", ValueError,
     "^scale must be in"),
    (lambda fj: fj.constant(1e5), (3,), "float16", ValueError, "^value must lie in float16"),
]


@pytest.mark.parametrize("make,shape,dtype,exc,match", JAX_BAD)
def test_jax_errors_are_the_numpy_errors(make, shape, dtype, exc, match):
    jax = pytest.importorskip("jax")
    import fastinit.jax as fj

    init_ = make(fj)
    key = jax.random.key(3)
    with pytest.raises(exc, match=match):
        init_(key, shape, dtype)
    with pytest.raises(exc, match=match):
        jax.jit(lambda k: init_(k, shape, dtype))(key)
    with pytest.raises(exc, match=match):
        init_.host_init(3, shape, dtype)


def test_jax_factory_dtype_is_used():
    pytest.importorskip("jax")
    import fastinit.jax as fj

    out = fj.normal(dtype=np.float16)(4, (8,))
    assert out.dtype == np.float16
    np.testing.assert_array_equal(np.asarray(out), I.normal(dtype=np.float16)(4, (8,)))


# ---- item 5: every in-place fill is a recipe fn(array, seed=...) ----

def test_every_in_place_fill_takes_seed():
    fills = [n for n in init.__all__ if n.endswith("_")]
    assert {"ones_", "zeros_", "constant_", "eye_", "dirac_", "zero_gamma_"} <= set(fills)
    for name in fills:
        assert "seed" in inspect.signature(getattr(init, name)).parameters, name


@pytest.mark.parametrize("fill,shape,expect", [
    (init.ones_, (3, 4), np.ones((3, 4))),
    (init.zeros_, (3, 4), np.zeros((3, 4))),
    (lambda t, seed: init.constant_(t, 2.5, seed=seed), (3, 4), np.full((3, 4), 2.5)),
    (init.eye_, (3, 4), np.eye(3, 4)),
    (init.dirac_, (2, 2, 3), np.array([[[0, 1, 0], [0, 0, 0]], [[0, 0, 0], [0, 1, 0]]])),
    (init.zero_gamma_, (5,), np.zeros(5)),
])
def test_deterministic_fills_ignore_the_seed(fill, shape, expect):
    for seed in (0, 1, 2**64 - 1):
        out = np.full(shape, 7.0)
        assert fill(out, seed=seed) is out
        np.testing.assert_array_equal(out, expect)
    out = np.full(shape, 7.0)
    with pytest.raises(ValueError, match="^seed must be in"):
        fill(out, seed=-1)
    assert (out == 7).all()


def test_zero_size_bad_argument_still_raises():
    # the shape-free checks run before the zero-size no-op
    with pytest.raises(ValueError, match="^gain must be finite"):
        init.xavier_uniform_(np.empty((0, 3), np.float32), gain=NAN, seed=1)
    assert math.isfinite(init.calculate_gain("relu"))
