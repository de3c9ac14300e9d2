"""A clear error when the compiled core is missing (scikit-learn's pattern)."""

import importlib.util


def raise_if_not_built():
    if importlib.util.find_spec("fastinit._core") is None:
        raise ImportError(
            "fastinit's compiled core (fastinit._core) is not built. Install with "
            "`pip install .` (or `pip install -e .`) from the source tree, which compiles "
            "kernels/fill_cpu.c and fastinit/_core.pyx; this needs a C compiler, "
            "Cython >= 3 and numpy >= 2."
        )
