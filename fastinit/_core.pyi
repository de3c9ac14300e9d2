"""Types of the compiled core (fastinit/_core.pyx)."""

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

STREAM_VERSION: int
SIMD_NAMES: tuple[str, str, str]

def openmp_enabled() -> bool: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def simd_supported() -> str: ...
def simd_active() -> str: ...
def set_simd(name: str) -> str: ...
def fill(
    dist: int,
    dtype: int,
    params: tuple[Any, ...],
    offset: int,
    out: np.ndarray,
    shape: tuple[int, ...],
    strides: tuple[int, ...],
    index_steps: tuple[int, ...],
    threads: int = 0,
) -> None: ...
def philox4x32_10(
    counter: npt.NDArray[np.uint32], key: npt.NDArray[np.uint32]
) -> npt.NDArray[np.uint32]: ...

@disjoint_base
class PhiloxBitGenerator(np.random.BitGenerator):
    def __init__(self, seed: int | None = None, stream: int = 0) -> None: ...
    @property
    def state(self) -> Mapping[str, Any]: ...
    @state.setter
    def state(self, value: Mapping[str, Any]) -> None: ...
