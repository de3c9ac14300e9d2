"""The import-time check of the compiled modules names each one that is missing."""

import importlib.util

import pytest

from fastinit import _check_build


def test_every_compiled_module_is_built():
    _check_build.raise_if_not_built()


def test_a_missing_module_is_named(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: None if name == "fastinit._bitgen" else real(name))
    with pytest.raises(ImportError, match=r"\(fastinit\._bitgen\) is not built"):
        _check_build.raise_if_not_built()
