"""Argument checks shared by every public entry point: each raises a ValueError or
TypeError naming the argument, before anything is written."""

from __future__ import annotations

import functools
import hashlib
import math
import numbers
import operator

import ml_dtypes
import numpy as np

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
FLOAT_DTYPES = (np.dtype(np.float16), BFLOAT16, np.dtype(np.float32), np.dtype(np.float64))
_FLOAT_SET = frozenset(FLOAT_DTYPES)
U64_LIMIT = 1 << 64


def check_u64(value, name: str) -> int:
    """An integer in [0, 2**64)."""
    if type(value) is int and 0 <= value < U64_LIMIT:  # the common case, checked cheaply
        return value
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer in [0, 2**64), got {type(value).__name__}")
    value = int(value)
    if not 0 <= value < U64_LIMIT:
        raise ValueError(f"{name} must be in [0, 2**64), got {value}")
    return value


SEED_RULE = "an integer in [0, 2**64) or a jax PRNG key"


def _is_jax(value) -> bool:
    return type(value).__module__.startswith(("jax", "jaxlib"))


def key_words(key, name: str = "key"):
    """The key-data words of a jax PRNG key, or None for a scalar (an int seed).

    A typed key (``jax.random.key``, any impl) gives ``jax.random.key_data``; a legacy raw
    key (``jax.random.PRNGKey``, or a numpy copy) is a uint32 array of 2 words (threefry)
    or 4 (rbg, unsafe_rbg).  Only dtype and shape are read, so a traced key works (the
    words then stay traced)."""
    if not (isinstance(key, np.ndarray) or _is_jax(key)):
        return None
    if _is_jax(key):
        import jax

        if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
            if key.shape != ():
                raise ValueError(f"{name} must be a single PRNG key, got a batch of shape "
                                 f"{key.shape}")
            return jax.random.key_data(key)
    if np.dtype(key.dtype) != np.uint32:
        raise TypeError(f"{name} must be {SEED_RULE} (typed, or a uint32 key array of 2 or 4 "
                        f"words), got a {np.dtype(key.dtype).name} array")
    if key.shape not in ((2,), (4,)):
        raise ValueError(f"{name} must be {SEED_RULE}: a uint32 key array has 2 words "
                         f"(threefry) or 4 (rbg, unsafe_rbg), got shape {key.shape}")
    return key


def seed_of_words(words) -> int:
    """The seed of a key's data words w0, w1, ...: W = the words read as one integer, w0
    most significant; a 2-word (threefry) key's seed is W itself, ``(w0 << 32) | w1``; a
    longer key's (rbg, unsafe_rbg) is ``derived_seed(W, "jax_key")``."""
    whole = 0
    for w in np.asarray(words, np.uint32).ravel():
        whole = (whole << 32) | int(w)
    return whole if np.size(words) == 2 else derived_seed(whole, "jax_key")


def check_seed(seed, name: str = "seed") -> int:
    """The one seed rule of every entry point taking a seed or a jax key: an integer in
    [0, 2**64) is the seed; a jax PRNG key (:func:`key_words`) gives
    :func:`seed_of_words` of its data.  Negative ints, ints >= 2**64, bools, floats and
    float arrays raise a TypeError/ValueError naming ``name``; nothing is reduced or
    truncated."""
    words = key_words(seed, name)
    if words is not None:
        return seed_of_words(np.asarray(words))
    if isinstance(seed, bool | np.bool_) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name} must be {SEED_RULE}, got {type(seed).__name__}")
    return check_u64(seed, name)


def check_int(value, name: str, minimum: int | None = 0, maximum: int | None = None) -> int:
    """The one integer check: any numbers.Integral but bool (TypeError otherwise), in
    [minimum, maximum) (ValueError naming the bound passed; None: unbounded on that
    side)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        what = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    if maximum is not None and value >= maximum:
        raise ValueError(f"{name} must be an integer < {maximum}, got {value}")
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
    if isinstance(dtype, np.dtype) and dtype in _FLOAT_SET:  # already one of them
        return dtype
    try:
        dt = BFLOAT16 if dtype in ("bfloat16", "bf16") else np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a dtype, got {dtype!r}") from None
    if not dt.isnative:
        raise TypeError(f"{name} must be native byte order, got {dt.str}")
    if dt not in FLOAT_DTYPES:
        raise TypeError(
            f"{name} must be one of float16, bfloat16, float32, float64, got {dt.name}"
        )
    return dt


def check_real(value, name: str, *, allow_nan: bool = False, allow_inf: bool = False) -> float:
    """A finite real scalar (``allow_inf``: or +-inf, never nan)."""
    if type(value) is float and math.isfinite(value):  # the common case, checked cheaply
        return value
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        if isinstance(value, np.ndarray) and value.ndim == 0:
            return check_real(value.item(), name, allow_inf=allow_inf)
        raise TypeError(f"{name} must be a real scalar, got {type(value).__name__}")
    value = float(value)
    if allow_inf and math.isinf(value):
        return value
    if not math.isfinite(value):
        raise ValueError(f"{name} must be {'a number or +-inf' if allow_inf else 'finite'}, "
                         f"got {value}")
    return value


@functools.cache
def value_max(dtype) -> float:
    """The largest finite value of a float (or complex) dtype."""
    return float(ml_dtypes.finfo(dtype).max)


def check_fill_value(value, dtype, name: str, *, allow_nonfinite: bool = False):
    """A constant for an array of ``dtype`` (any numpy dtype): a bool, or a finite real
    (complex for a complex dtype) that the dtype holds: within a float dtype's range,
    within an integer dtype's range after numpy's truncation toward zero.
    ``allow_nonfinite`` also takes nan and +-inf for float and complex dtypes, which hold
    them exactly (torch's ``constant_`` and jax's ``constant`` do)."""
    dt = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
    if type(value) in (int, float) and dt in _FLOAT_SET and math.isfinite(value) \
            and abs(value) <= value_max(dt):  # the common case, checked cheaply
        return value
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool | np.bool_):
        return value
    if dt.kind == "c" and isinstance(value, numbers.Complex):
        parts = (value.real, value.imag)
    elif isinstance(value, numbers.Real):
        parts = (value,)
    else:
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    # numpy scalars as Python numbers (exact): comparing an np.float32 with a wider
    # dtype's bound would cast the bound down to float32 (inf, an overflow warning), and
    # math.trunc takes no np.float32
    parts = tuple(p.item() if isinstance(p, np.generic) else p for p in parts)
    if not all(math.isfinite(p) for p in parts):
        if allow_nonfinite and (dt in FLOAT_DTYPES or dt.kind == "c"):
            return value
        raise ValueError(f"{name} must be finite, got {value}")
    if dt in FLOAT_DTYPES or dt.kind == "c":
        m = value_max(dt)
        if any(abs(p) > m for p in parts):
            raise ValueError(f"{name} must lie in {dt.name}'s range [-{m:g}, {m:g}], "
                             f"got {value}")
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        if not info.min <= math.trunc(parts[0]) <= info.max:
            raise ValueError(f"{name} must lie in {dt.name}'s range [{info.min}, "
                             f"{info.max}], got {value}")
    return value


def check_out(out, dtype: np.dtype, shape: tuple[int, ...] | None) -> np.ndarray:
    """A writeable numpy array of `dtype` (and of `shape` when given) whose elements do
    not overlap (see :func:`check_no_overlap`)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if not out.dtype.isnative:
        raise TypeError(f"out must be native byte order, got {out.dtype.str}")
    if out.dtype != dtype:
        raise TypeError(f"out must have dtype {dtype.name}, got {out.dtype.name}")
    if not out.flags.writeable:
        raise ValueError("out must be writeable, got a read-only array")
    if shape is not None and out.shape != shape:
        raise ValueError(f"out must have shape {shape}, got {out.shape}")
    check_no_overlap(out, "out")
    return out


def check_no_overlap(arr: np.ndarray, name: str) -> None:
    """Reject an output in which two elements may share memory (a broadcast view, a
    stride-0 axis, torch's ``expand``), as torch does: filling it would depend on the
    write order.  The test is sufficient and O(ndim log ndim): the axes of length > 1,
    ordered by |stride|, must each step at least past the bytes the inner ones span
    (itemsize + sum |stride| (length - 1)).  Every slice, transpose or reversal of a
    non-overlapping array passes; only views whose axes interleave in memory (possible
    with as_strided alone) are rejected although they might not overlap."""
    if arr.size == 0 or arr.flags.c_contiguous:  # row-major strides never overlap
        return
    span = arr.itemsize
    axes = zip(arr.strides, arr.shape, strict=True)
    for stride, n in sorted((abs(s), n) for s, n in axes if n > 1):
        if stride < span:
            raise ValueError(
                f"unsupported operation: more than one element of {name} refers to a single "
                f"memory location (shape {arr.shape}, strides {arr.strides}); fill a "
                "non-overlapping array (e.g. a copy) instead"
            )
        span += stride * (n - 1)


def derived_seed(seed: int, name: str) -> int:
    """The seed of the part ``name`` (a parameter, a checkpoint tensor, a network of an
    ensemble) of a whole seeded ``seed``: the first 8 bytes, little endian, of
    blake2b(f"{seed}/{name}").  Part of the stream contract: a part's values depend on its
    name only, not on the other parts or their order."""
    return int.from_bytes(_seed_digest(f"{int(seed)}/{name}"), "little")


def derived_seeds(seed: int, names) -> np.ndarray:
    """:func:`derived_seed` of each name, as a uint64 array (the hash of the common
    prefix ``f"{seed}/"`` computed once and copied for each name)."""
    head = hashlib.blake2b(f"{int(seed)}/".encode(), digest_size=8)
    digests = []
    for name in names:
        h = head.copy()
        h.update(name.encode())
        digests.append(h.digest())
    return np.frombuffer(b"".join(digests), "<u8").astype(np.uint64)


def _seed_digest(text: str) -> bytes:
    """The first 8 bytes of blake2b(text): derived_seed's digest."""
    return hashlib.blake2b(text.encode(), digest_size=8).digest()
