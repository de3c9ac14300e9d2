"""Argument checks shared by every public entry point: each raises a ValueError or
TypeError naming the argument, before anything is written."""

from __future__ import annotations

import hashlib
import math
import numbers
import operator

import ml_dtypes
import numpy as np

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
FLOAT_DTYPES = (np.dtype(np.float16), BFLOAT16, np.dtype(np.float32), np.dtype(np.float64))
# codes of kernels/fill_cpu.h
DTYPE_CODES = {np.dtype(np.uint32): 0, np.dtype(np.float16): 1, BFLOAT16: 2,
               np.dtype(np.float32): 3, np.dtype(np.float64): 4}
U64_LIMIT = 1 << 64


def check_u64(value, name: str) -> int:
    """An integer in [0, 2**64)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer in [0, 2**64), got {type(value).__name__}")
    value = int(value)
    if not 0 <= value < U64_LIMIT:
        raise ValueError(f"{name} must be in [0, 2**64), got {value}")
    return value


def check_int(value, name: str, minimum: int = 0) -> int:
    """An integer (any numbers.Integral, not bool) >= minimum."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got "
                        f"{type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def check_shape(size, name: str = "size") -> tuple[int, ...]:
    """A non-negative int or a sequence of them."""
    if isinstance(size, bool | np.bool_):
        raise TypeError(f"{name} must be an int or a tuple of ints, got bool")
    if isinstance(size, numbers.Integral):
        dims = (size,)
    else:
        try:
            dims = tuple(size)
        except TypeError:
            raise TypeError(
                f"{name} must be an int or a tuple of ints, got {type(size).__name__}"
            ) from None
    out = []
    for d in dims:
        if isinstance(d, bool | np.bool_):
            raise TypeError(f"{name} must contain integers, got bool")
        try:
            d = operator.index(d)
        except TypeError:
            raise TypeError(f"{name} must contain integers, got {d!r}") from None
        if d < 0:
            raise ValueError(f"{name} must contain non-negative integers, got {d}")
        out.append(d)
    return tuple(out)


def check_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """One of float16, bfloat16, float32, float64."""
    try:
        dt = BFLOAT16 if dtype in ("bfloat16", "bf16") else np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a dtype, got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must be one of float16, bfloat16, float32, float64, got {dt.name}"
        )
    return dt


def check_real(value, name: str, *, allow_nan: bool = False) -> float:
    """A finite real scalar."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            return check_real(value.item(), name)
        raise TypeError(f"{name} must be a real scalar, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_out(out, dtype: np.dtype, shape: tuple[int, ...] | None) -> np.ndarray:
    """A writeable numpy array of `dtype` (and of `shape` when given)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out must have dtype {dtype.name}, got {out.dtype.name}")
    if not out.flags.writeable:
        raise ValueError("out must be writeable, got a read-only array")
    if shape is not None and out.shape != shape:
        raise ValueError(f"out must have shape {shape}, got {out.shape}")
    return out


def derived_seed(seed: int, name: str) -> int:
    """The seed of the part ``name`` (a parameter, a checkpoint tensor, a network of an
    ensemble) of a whole seeded ``seed``: the first 8 bytes, little endian, of
    blake2b(f"{seed}/{name}").  Part of the stream contract: a part's values depend on its
    name only, not on the other parts or their order."""
    digest = hashlib.blake2b(f"{int(seed)}/{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")
