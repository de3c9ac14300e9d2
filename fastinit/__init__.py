"""fastinit: counter-based random tensors and neural-network initializers.

Every element is a pure function of (seed, stream, element index) under Philox4x32-10,
so results are the same bits whatever the thread count, chunking or memory layout.
"""

from typing import Any

from ._check_build import raise_if_not_built

raise_if_not_built()

from . import init as init  # noqa: E402
from . import initializers as initializers  # noqa: E402
from ._bitgen import (  # noqa: E402
    PhiloxBitGenerator as PhiloxBitGenerator,
)
from ._core import (  # noqa: E402
    STREAM_VERSION as STREAM_VERSION,
)
from ._core import (  # noqa: E402
    get_num_threads as get_num_threads,
)
from ._core import (  # noqa: E402
    set_num_threads as set_num_threads,
)
from ._generate import (  # noqa: E402
    normal as normal,
)
from ._generate import (  # noqa: E402
    philox4x32_10 as philox4x32_10,
)
from ._generate import (  # noqa: E402
    random_bits as random_bits,
)
from ._generate import (  # noqa: E402
    truncated_normal as truncated_normal,
)
from ._generate import (  # noqa: E402
    uniform as uniform,
)
from ._generator import Generator as Generator  # noqa: E402
from ._generator import default_rng as default_rng  # noqa: E402
from ._shard import (  # noqa: E402
    shard as shard,
)

__version__ = "0.1.0"


def _simd_from_environment() -> None:
    """FASTINIT_SIMD=avx512|avx2|baseline|auto picks the fills' SIMD path at import (capped
    at what the CPU runs; every path gives the same bits), for benchmarks and bug reports."""
    import os

    from . import _core

    name = os.environ.get("FASTINIT_SIMD")
    if name:
        try:
            _core.set_simd(name.strip().lower())
        except ValueError:
            raise ValueError(f"FASTINIT_SIMD must be one of avx512, avx2, baseline, auto; "
                             f"got {name!r}") from None


_simd_from_environment()


def to_torch(x: Any) -> Any:
    """Zero-copy torch CPU tensor of a numpy array (see :func:`fastinit.torch.to_torch`).

    Examples
    --------
    >>> import fastinit
    >>> w = fastinit.normal((2, 3), seed=0, dtype="bfloat16")
    >>> t = fastinit.to_torch(w)
    >>> t.dtype, t.data_ptr() == w.ctypes.data
    (torch.bfloat16, True)
    """
    from .torch import to_torch as convert

    return convert(x)


def to_jax(x: Any) -> Any:
    """Zero-copy jax.Array of a numpy array where jax allows (see :func:`fastinit.jax.to_jax`).

    Examples
    --------
    >>> import fastinit
    >>> j = fastinit.to_jax(fastinit.uniform((2, 2), seed=0))
    >>> j.shape, str(j.dtype)
    ((2, 2), 'float32')
    """
    from .jax import to_jax as convert

    return convert(x)


__all__ = [
    "STREAM_VERSION",
    "Generator",
    "PhiloxBitGenerator",
    "default_rng",
    "init",
    "initializers",
    "get_num_threads",
    "normal",
    "philox4x32_10",
    "random_bits",
    "set_num_threads",
    "shard",
    "to_jax",
    "to_torch",
    "truncated_normal",
    "uniform",
]
