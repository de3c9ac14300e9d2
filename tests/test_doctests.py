"""The docstrings' examples run and print what they show (doctest), and every public
function of the fills' modules and method of the Generator carries one."""

import doctest
import importlib
import inspect

import numpy as np
import pytest

import fastinit

MODULES = ["fastinit", "fastinit._generate", "fastinit._generator", "fastinit.init",
           "fastinit.initializers", "fastinit.jax"]


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


def test_every_public_function_has_an_example():
    top = [getattr(fastinit, n) for n in fastinit.__all__]
    missing = [f.__name__ for f in top if inspect.isfunction(f) and not _has_example(f)]
    missing += [f"Generator.{n}" for n, f in vars(fastinit.Generator).items()
                if not n.startswith("_") and inspect.isfunction(f) and not _has_example(f)]
    main_fills = [n for n in fastinit.init.__all__ if n.endswith("_")
                  and n not in ("mahalanobis_normal_", "optimistic_bias_", "zero_gamma_")]
    missing += [f"init.{n}" for n in main_fills if not _has_example(getattr(fastinit.init, n))]
    assert not missing
