"""fastinit's initializers inside real keras and flax models: keras save / load_model /
clone_model keep fastinit's classes and values (in a fresh process too, whichever of
keras and fastinit is imported first); flax takes threefry, rbg and unsafe_rbg keys."""

import math
import subprocess
import sys
import textwrap

import flax.linen as nn
import jax
import numpy as np
import pytest
from flax import nnx

import fastinit.jax as fj
from fastinit import initializers as I
from fastinit._validate import derived_seed

PRELUDE = """
import os, sys
os.environ["KERAS_BACKEND"] = "jax"
if sys.argv[1] == "fastinit_first":
    import fastinit.initializers as I
    import keras
else:
    import keras
    import fastinit.initializers as I
import numpy as np
"""

SAVE = PRELUDE + """
model = keras.Sequential([
    keras.Input((6,)),
    keras.layers.Dense(16, kernel_initializer=I.GlorotNormal(seed=1),
                       bias_initializer=I.RandomUniform(-0.1, 0.1, seed=2)),
    keras.layers.Dense(8, kernel_initializer=I.VarianceScaling(2.0, "fan_out",
                                                               "untruncated_normal", seed=5),
                       bias_initializer=I.Constant(0.5)),
    keras.layers.Dense(4, kernel_initializer=I.Orthogonal(1.5, seed=9),
                       bias_initializer=I.TruncatedNormal(0.0, 0.2, seed=4)),
])
model.save(sys.argv[2])
np.savez(sys.argv[3], *[w.numpy() for w in model.weights])
clone = keras.models.clone_model(model)
checks = [model, clone]
"""

LOAD = PRELUDE + """
loaded = keras.saving.load_model(sys.argv[2])
rebuilt = keras.Sequential.from_config(loaded.get_config())  # initialized afresh
checks = [loaded, rebuilt, keras.models.clone_model(loaded)]
"""

CHECK = """
ref = np.load(sys.argv[3])
ref = [ref[f"arr_{i}"] for i in range(len(ref.files))]
for m in checks:
    for layer in m.layers:
        for attr in ("kernel_initializer", "bias_initializer"):
            cfg = layer.get_config()[attr]
            assert cfg["module"] == "fastinit.initializers", cfg
            assert cfg["registered_name"] == "fastinit>" + cfg["class_name"], cfg
            assert type(getattr(layer, attr)).__module__ == "fastinit.initializers"
    assert len(m.weights) == len(ref)
    for w, r in zip(m.weights, ref):
        assert np.array_equal(w.numpy(), r), "weights differ"
print("ok", len(checks))
"""


def _run(code, *args, cwd):
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                         capture_output=True, text=True, cwd=cwd, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def test_keras_save_load_clone_keep_fastinit(tmp_path):
    model, weights = str(tmp_path / "m.keras"), str(tmp_path / "w.npz")
    # save (and clone) with keras imported first; load in fresh processes in both orders
    assert _run(SAVE + CHECK, "keras_first", model, weights, cwd=tmp_path) == "ok 2"
    for order in ("fastinit_first", "keras_first"):
        assert _run(LOAD + CHECK, order, model, weights, cwd=tmp_path) == "ok 3"


def test_keras_registration_survives_a_find_spec_probe(tmp_path):
    code = """
        import importlib.util, os, sys
        import fastinit.initializers
        from fastinit._keras_classes import KERAS_CLASSES
        assert importlib.util.find_spec("keras") is not None  # a probe, as libraries do
        assert "keras" not in sys.modules
        os.environ["KERAS_BACKEND"] = "jax"
        import keras
        names = {keras.saving.get_registered_name(c) for c in KERAS_CLASSES}
        assert names == {"fastinit>" + c.__name__ for c in KERAS_CLASSES}, names
        print("ok")
    """
    assert _run(code, cwd=tmp_path) == "ok"


def test_keras_configs_round_trip():
    for init in (I.GlorotNormal(seed=3), I.VarianceScaling(0.5, "fan_avg", "untruncated_normal",
                                                           seed=2**64 - 1),
                 I.VarianceScaling(distribution="normal", seed=1), I.RandomNormal(1.0, 0.5, 7),
                 I.TruncatedNormal(seed=8), I.RandomUniform(-2.0, 3.0, seed=0),
                 I.Orthogonal(2.0, seed=5), I.Identity(3.0), I.Constant(-1.5), I.Zeros()):
        again = type(init).from_config(init.get_config())
        assert again.get_config() == init.get_config()
        np.testing.assert_array_equal(again((7, 5)), init((7, 5)))
    assert I.VarianceScaling(distribution="untruncated_normal").get_config()["distribution"] \
        == "untruncated_normal"


# ---- flax ----

def _kernel_and_key(make_module, key, x):
    seen = []

    def wrap(init):
        def kinit(k, shape, dtype=None):
            seen.append(k)
            return init(k, shape, dtype)
        return kinit

    params = make_module(wrap).init(key, x)
    return np.asarray(params["params"]["kernel"]), seen[0]


@pytest.mark.parametrize("impl", ["threefry2x32", "rbg", "unsafe_rbg"])
def test_flax_linen_dense_takes_any_key(impl):
    x = np.ones((1, 256), np.float32)
    key = jax.random.key(11, impl=impl)
    kernel, seen = _kernel_and_key(lambda w: nn.Dense(128, kernel_init=w(fj.lecun_normal())),
                                   key, x)
    words = [int(v) for v in np.asarray(jax.random.key_data(seen))]
    whole = 0
    for v in words:
        whole = (whole << 32) | v
    seed = whole if impl == "threefry2x32" else derived_seed(whole, "jax_key")
    np.testing.assert_array_equal(kernel, I.lecun_normal()(seed, (256, 128)))
    # the law: lecun truncated normal, std 1 / sqrt(fan_in) after truncation at 2 std
    s = 1 / math.sqrt(256) / 0.87962566103423978
    assert np.abs(kernel).max() <= 2 * s
    assert abs(kernel.std() * math.sqrt(256) - 1) < 6 / math.sqrt(2 * kernel.size)
    # deterministic, the same under jit
    model = nn.Dense(128, kernel_init=fj.lecun_normal())
    eager = model.init(key, x)["params"]["kernel"]
    jitted = jax.jit(model.init)(key, x)["params"]["kernel"]
    np.testing.assert_array_equal(np.asarray(eager), kernel)
    np.testing.assert_array_equal(np.asarray(jitted), kernel)


def test_flax_threefry_mapping_is_unchanged_and_rbg_differs():
    x = np.ones((1, 8), np.float32)
    model = nn.Dense(4, kernel_init=fj.he_uniform())
    fry = np.asarray(model.init(jax.random.key(0), x)["params"]["kernel"])
    raw = np.asarray(model.init(jax.random.PRNGKey(0), x)["params"]["kernel"])
    rbg = np.asarray(model.init(jax.random.key(0, impl="rbg"), x)["params"]["kernel"])
    np.testing.assert_array_equal(fry, raw)
    assert not np.array_equal(fry, rbg)


@pytest.mark.parametrize("impl", ["threefry2x32", "rbg"])
def test_flax_nnx_linear_takes_any_key(impl):
    make = lambda: nnx.Linear(64, 32, kernel_init=fj.glorot_uniform(),  # noqa: E731
                              rngs=nnx.Rngs(jax.random.key(5, impl=impl)))
    a, b = np.asarray(make().kernel[...]), np.asarray(make().kernel[...])
    np.testing.assert_array_equal(a, b)
    bound = math.sqrt(6 / (64 + 32))
    assert np.abs(a).max() < bound and np.abs(a).max() > 0.9 * bound
