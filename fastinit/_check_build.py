"""A clear error when the compiled core is missing (scikit-learn's pattern)."""

import importlib.util

COMPILED = ("fastinit._core", "fastinit._bitgen", "fastinit._linalg")


def raise_if_not_built():
    missing = [name for name in COMPILED if importlib.util.find_spec(name) is None]
    if missing:
        raise ImportError(
            f"fastinit's compiled core ({', '.join(missing)}) is not built. Install with "
            "`pip install .` (or `pip install -e .`) from the source tree, which compiles "
            "kernels/fill_cpu.c and fastinit/*.pyx; this needs a C compiler, "
            "Cython >= 3 and numpy >= 2."
        )
