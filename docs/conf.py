"""Sphinx configuration of fastinit's documentation (``sphinx-build -W docs docs/_build``)."""

import sys
from pathlib import Path

# fastinit itself is imported as installed (pip install ".[docs]"), or from PYTHONPATH for
# a checkout built in place; the checkout's sources alone lack the compiled extensions.
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "fastinit"
author = "fastinit"
copyright = "fastinit"
release = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "gallery",
    "plaintext",
    "registry_table",
    "public_api",
]

exclude_patterns = ["_build"]
autosummary_generate = False          # summary tables only; the entries are on the same page
autodoc_member_order = "bysource"
autodoc_typehints = "none"            # the signature shows the parameters; numpydoc the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
html_theme = "alabaster"
html_static_path: list[str] = []
