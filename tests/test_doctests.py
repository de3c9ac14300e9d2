"""The docstrings' examples run and print what they show (doctest), and every public
function of the public modules (fills, initializers, torch, dask, checkpoint, theory,
propagate) and method of the Generator carries one."""

import doctest
import importlib
import inspect

import numpy as np
import pytest

import fastinit

MODULES = ["fastinit", "fastinit._generate", "fastinit._shard", "fastinit._generator",
           "fastinit._init_fills", "fastinit._init_random", "fastinit._init_scaling",
           "fastinit._init_structured", "fastinit.initializers", "fastinit.jax", "fastinit._fans",
           "fastinit._theory_scales", "fastinit._variance", "fastinit.dask", "fastinit.checkpoint",
           "fastinit.torch", "fastinit.theory._qmap", "fastinit.theory._mean_field",
           "fastinit.theory._criticality", "fastinit.theory._moments", "fastinit.theory._spectra",
           "fastinit.propagate._simulate", "fastinit.propagate._stop",
           "fastinit.propagate._engine"]
# the public modules whose functions must carry an example (checkpoint has no __all__:
# the functions it defines); init's are defined in its _init_* modules, run above
PUBLIC = ["fastinit.init", "fastinit.dask", "fastinit.torch", "fastinit.theory",
          "fastinit.propagate", "fastinit.checkpoint"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    module = importlib.import_module(name)
    options = np.get_printoptions()
    try:
        np.set_printoptions(precision=3, linewidth=40)  # examples must not depend on these
        result = doctest.testmod(module, verbose=False, report=True,
                                 optionflags=doctest.ELLIPSIS)
    finally:
        np.set_printoptions(**options)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed"


def _has_example(obj):
    return ">>>" in (inspect.getdoc(obj) or "")


def _public_functions(name):
    module = importlib.import_module(name)
    names = getattr(module, "__all__", None) or [
        n for n, f in vars(module).items()
        if not n.startswith("_") and getattr(f, "__module__", None) == name]
    return [(n, getattr(module, n)) for n in names
            if inspect.isfunction(getattr(module, n))]


def _missing():
    top = [getattr(fastinit, n) for n in fastinit.__all__]
    missing = [f.__name__ for f in top if inspect.isfunction(f) and not _has_example(f)]
    missing += [f"Generator.{n}" for n, f in vars(fastinit.Generator).items()
                if not n.startswith("_") and inspect.isfunction(f) and not _has_example(f)]
    for name in PUBLIC:
        missing += [f"{name}.{n}" for n, f in _public_functions(name) if not _has_example(f)]
    return missing


def test_every_public_function_has_an_example():
    assert not _missing()


def test_examples_checked_are_the_examples_run():
    """Each function the check covers is defined in a module whose doctests run, so its
    example is executed, not only present."""
    not_run = [f"{name}.{n}" for name in PUBLIC for n, f in _public_functions(name)
               if f.__module__ not in MODULES]
    assert not not_run


@pytest.mark.parametrize("module, name", [("fastinit.theory", "q_star"),
                                          ("fastinit.checkpoint", "write_safetensors"),
                                          ("fastinit.init", "zero_gamma_")])
def test_missing_example_is_caught(monkeypatch, module, name):
    func = getattr(importlib.import_module(module), name)
    monkeypatch.setattr(func, "__doc__", "A summary without an example.")
    assert f"{module}.{name}" in _missing()
