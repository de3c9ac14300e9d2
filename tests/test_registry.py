"""The initializer registry (fastinit._registry) against every face that exposes
initializers: fastinit.init, fastinit.torch, fastinit.initializers (jax factories and
keras classes), fastinit.jax, and dask / checkpoint chunking.  A face lacking an entry,
or exposing one the registry lacks, fails here; so does a generated function whose
signature reads (*args, **kwargs)."""

import functools
import inspect

import numpy as np
import pytest

import fastinit.dask as fd
import fastinit.initializers as I
import fastinit.jax as fj
import fastinit.torch as ft
from fastinit import _torch_record, init
from fastinit._keras_classes import KERAS_CLASSES
from fastinit._registry import BY_INIT, BY_KERAS, ENTRIES
from fastinit._structured import is_structured

# names of fastinit.init that are helpers, not fills of a tensor
INIT_HELPERS = {"attention_qk_std", "calculate_gain", "compute_fans", "deepnorm_scales",
                "dropout_corrected_std", "fixup_scale", "manual_seed", "multi_branch_stds"}
JAX_HELPERS = {"make_sharded", "to_jax", "register_keras", "seed_from_key", "ones_init",
               "zeros_init"}


def _fills_of(module):
    return {n for n in module.__all__ if n.endswith("_")} - INIT_HELPERS


def test_entries_are_unique():
    assert len(BY_INIT) == len(ENTRIES)
    names = [e.jax for e in ENTRIES if e.jax] + [a for e in ENTRIES for a in e.jax_aliases]
    assert len(names) == len(set(names))
    assert len(BY_KERAS) == len([e for e in ENTRIES if e.keras])


def test_init_face():
    assert _fills_of(init) == set(BY_INIT)
    twins = {n for n in init.__all__ if not n.endswith("_")} - INIT_HELPERS
    assert twins == {e.init[:-1] for e in ENTRIES if e.twin}
    for e in ENTRIES:
        assert callable(getattr(init, e.init)), e.init


def test_torch_face():
    exposed = {n for n in ft.__all__
               if getattr(getattr(ft, n), "__wrapped__", None) is getattr(init, n, object())}
    assert exposed == {e.init for e in ENTRIES if e.torch}


def test_jax_faces():
    want = {e.jax for e in ENTRIES if e.jax} | {a for e in ENTRIES for a in e.jax_aliases}
    factories = {n for n in I.__all__ if n[0].islower()} - JAX_HELPERS
    assert factories == want
    assert set(fj.__all__) - JAX_HELPERS == want
    for name in want:
        if name in ("zeros", "ones"):  # jax's zeros and ones are initializers, no factory
            continue
        assert getattr(fj, name).__wrapped__ is getattr(I, name), name


def test_keras_face():
    assert {n for n in I.__all__ if n[0].isupper()} == set(BY_KERAS)
    assert {c.__name__ for c in KERAS_CLASSES} == set(BY_KERAS)


def test_presets_follow_the_registry():
    """Each preset's generated jax factory and keras class give its variance_scaling law."""
    for e in ENTRIES:
        if e.preset is None:
            continue
        scale, mode, distribution = e.preset
        want = I.variance_scaling(scale, mode, distribution)(3, (16, 24))
        np.testing.assert_array_equal(getattr(I, e.jax)()(3, (16, 24)), want)
        np.testing.assert_array_equal(getattr(I, e.keras)(seed=3)((16, 24)),
                                      I.VarianceScaling(scale, mode, distribution,
                                                        seed=3)((16, 24)))


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.init)
def test_chunking_reads_elementwise(entry):
    fill = getattr(init, entry.init)
    assert is_structured(fill) is not entry.elementwise
    assert is_structured(functools.partial(fill, seed=1)) is not entry.elementwise
    if entry.torch:
        assert is_structured(getattr(ft, entry.init)) is not entry.elementwise


def test_unregistered_fill_is_elementwise():
    def my_fill(out, *, seed):
        return out

    assert not is_structured(my_fill)
    replay = type("Replay", (), {"__name__": "normal_+orthogonal_"})()
    assert is_structured(replay)


@pytest.mark.parametrize("fill, args", [(init.eye_, ()), (init.dirac_, (2,))])
def test_index_laws_chunked_equal_whole(fill, args):
    """eye and dirac are elementwise (a function of the global index): dask fills them
    chunk by chunk, with the values of the whole tensor."""
    shape = (6, 4) if fill is init.eye_ else (6, 4, 3, 3)
    got = fd.initializer(fill, shape, *args, chunks=(4, 3) + shape[2:], seed=1)
    assert got.numblocks[:2] == (2, 2)
    whole = fill(np.empty(shape, np.float32), *args)
    np.testing.assert_array_equal(got.compute(), whole)


def _shows_real_parameters(fn):
    params = inspect.signature(fn).parameters.values()
    return not any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)


def test_generated_functions_have_real_signatures():
    generated = [getattr(init, e.init[:-1]) for e in ENTRIES if e.twin]
    generated += [getattr(ft, e.init) for e in ENTRIES if e.torch]
    generated += [getattr(I, e.jax) for e in ENTRIES if e.preset]
    generated += [getattr(fj, e.jax) for e in ENTRIES if e.jax not in (None, "zeros", "ones")]
    for fn in generated:
        assert _shows_real_parameters(fn), fn.__name__
    sig = inspect.signature(init.kaiming_uniform)
    assert list(sig.parameters) == ["shape", "a", "mode", "nonlinearity", "seed", "dtype",
                                    "layout"]
    assert sig.parameters["seed"].default is inspect.Parameter.empty
    assert list(inspect.signature(I.glorot_uniform).parameters) == [
        "in_axis", "out_axis", "batch_axis", "dtype"]
    assert list(inspect.signature(I.HeNormal).parameters) == ["seed"]
    sig = inspect.signature(init.xavier_normal)
    assert [(p.name, p.kind.name, p.default) for p in sig.parameters.values()] == [
        ("shape", "POSITIONAL_OR_KEYWORD", inspect.Parameter.empty),
        ("gain", "POSITIONAL_OR_KEYWORD", 1.0), ("seed", "KEYWORD_ONLY", inspect.Parameter.empty),
        ("dtype", "KEYWORD_ONLY", np.float32), ("layout", "KEYWORD_ONLY", "torch")]
    assert sig.parameters["seed"].annotation == "int" and sig.return_annotation == "np.ndarray"


def test_recorder_records_the_same_ops():
    """fastinit.torch's recorder intercepts the registry's torch.nn.init functions, split
    by ``random``: exactly the ops it recorded when they were listed by hand."""
    assert _torch_record._RANDOM == ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_",
                                     "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
                                     "orthogonal_", "sparse_")
    assert _torch_record._DETERMINISTIC == ("constant_", "ones_", "zeros_", "eye_", "dirac_")


def test_nn_init_flag_matches_torch():
    import torch

    for e in ENTRIES:
        if e.torch:
            assert callable(getattr(torch.nn.init, e.init, None)) is e.nn_init, e.init


# arguments beyond (tensor, seed=...) and the shape each fill needs
_CALLS = {"constant_": ((0.5,), (4, 4)), "sparse_": ((0.5,), (4, 4)), "dirac_": ((), (4, 4, 3)),
          "delta_orthogonal_": ((), (3, 4, 4)),
          "mahalanobis_normal_": ((np.eye(4),), (4, 4)),
          "optimistic_bias_": ((np.empty(4), 1.0, 0.1), (4, 4))}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.init)
def test_random_flag_matches_the_fill(entry):
    """Two seeds give different values exactly when the entry says its law is random."""
    args, shape = _CALLS.get(entry.init, ((), (4, 4)))
    fill = getattr(init, entry.init)
    a = fill(np.empty(shape), *args, seed=1)
    b = fill(np.empty(shape), *args, seed=2)
    assert (not np.array_equal(a, b)) is entry.random
