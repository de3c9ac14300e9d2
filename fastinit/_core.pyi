"""Types of the compiled core (fastinit/_core.pyx)."""

from typing import Any

import numpy as np
import numpy.typing as npt

STREAM_VERSION: int
SIMD_NAMES: tuple[str, str, str]
# the codes and constants of the headers (fastinit/_kernels.pxd)
DIST_BITS: int
DIST_UNIFORM: int
DIST_NORMAL: int
DIST_TRUNCNORMAL: int
DIST_UNIFORM_LOWP: int
DT_U32: int
DT_F16: int
DT_BF16: int
DT_F32: int
DT_F64: int
PHILOX_M0: int
PHILOX_M1: int
PHILOX_W0: int
PHILOX_W1: int
CONSTANT: int

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
def fill_many(
    dist: npt.NDArray[np.int32],
    dtype: npt.NDArray[np.int32],
    seed: npt.NDArray[np.uint64],
    stream: npt.NDArray[np.uint64],
    consts: npt.NDArray[np.float64],
    offset: npt.NDArray[np.uint64],
    address: npt.NDArray[np.uint64],
    count: npt.NDArray[np.int64],
    threads: int = 0,
) -> None: ...
