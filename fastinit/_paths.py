"""Where the shipped C/CUDA sources are."""

from pathlib import Path


def kernel_dir() -> Path:
    """Directory holding philox4x32.h, fi_dist.h and the other kernel sources: the copy
    installed inside the package, or kernels/ of a source tree (editable install)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "kernels", here.parent / "kernels"):
        if (candidate / "philox4x32.h").is_file():
            return candidate
    raise FileNotFoundError(f"kernel sources not found next to {here}")
