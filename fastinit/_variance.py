"""The one core every fan-based initializer is a thin layer over, and what they share:
where the random bits come from (seed, generator or the global generator) and which
buffer they go into.

variance_scaling (Glorot & Bengio 2010; He et al. 2015; LeCun et al. 1998):
Var(w) = scale / n with n = fan_in, fan_out, (fan_in + fan_out) / 2 or
sqrt(fan_in * fan_out), drawn as

- "uniform": U[-sqrt(3 scale / n), sqrt(3 scale / n));
- "normal": N(0, scale / n), untruncated;
- "truncated_normal": N(0, s^2) cut at +-2 s with s = sqrt(scale / n) / 0.87962566103423978,
  the std of N(0, 1) truncated to (-2, 2), so the std after truncation is sqrt(scale / n)
  (jax and keras).
"""

from __future__ import annotations

import functools
import math
import sys
import threading
import warnings

import numpy as np

from . import _fill, _laws
from ._fans import fan_for_mode
from ._generator import Generator
from ._validate import (
    BFLOAT16,
    check_float_dtype,
    check_no_overlap,
    check_real,
    check_u64,
    value_max,
)

TRUNC_STD_2SIGMA = 0.87962566103423978  # std of N(0, 1) truncated to (-2, 2)
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
TRUNC_REACH = 40.0  # no double-precision inverse normal CDF reaches 40 std (Phi(-40) < 1e-300)
AUX_STREAM = 1 << 63  # stream | AUX_STREAM: second stream of a call (e.g. sparse_'s mask)

_global_lock = threading.Lock()
_global_generator: list[Generator | None] = [None]


def manual_seed(seed) -> Generator:
    """Seed the global generator used when neither ``seed`` nor ``generator`` is given
    (torch.manual_seed's role).  Returns it.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> _ = init.manual_seed(7)
    >>> a = init.normal_(np.empty(3, np.float32))
    >>> _ = init.manual_seed(7)
    >>> bool(np.array_equal(a, init.normal_(np.empty(3, np.float32))))
    True
    """
    gen = Generator(check_u64(seed, "seed"))
    with _global_lock:
        _global_generator[0] = gen
    return gen


def global_generator() -> Generator:
    """The global generator (seeded from OS entropy unless :func:`manual_seed` was called)."""
    with _global_lock:
        if _global_generator[0] is None:
            _global_generator[0] = Generator()
        return _global_generator[0]


def resolve_rng(seed, generator) -> tuple[int, int]:
    """(seed, stream) of one call: ``seed`` alone means stream 0 of that seed; a
    :class:`fastinit.Generator` hands out its next stream; neither means the global
    generator's next stream."""
    if seed is not None and generator is not None:
        raise TypeError("pass seed or generator, not both")
    if seed is not None:
        return check_u64(seed, "seed"), 0
    if generator is None:
        generator = global_generator()
    elif not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a fastinit.Generator, got {type(generator).__name__}"
        )
    return generator.seed, generator._take_stream()


def ignored_seed(seed) -> None:
    """The ``seed=`` of a deterministic fill: checked (an integer in [0, 2**64)) and
    unused, so that every in-place function is a recipe ``fn(array, seed=...)``."""
    if seed is not None:
        check_u64(seed, "seed")


def _is_torch(tensor) -> bool:
    return type(tensor).__module__.startswith("torch")


def check_torch_view(tensor, name: str) -> None:
    """Reject a lazily negated or conjugated torch view (``is_neg()``, ``is_conj()``): its
    memory holds the values un-negated, so a fill would read back negated."""
    if not (tensor.is_neg() or tensor.is_conj()):
        return
    for bit, what, undo in (("is_neg", "negative", "resolve_neg"),
                            ("is_conj", "conjugate", "resolve_conj")):
        if getattr(tensor, bit)():
            raise ValueError(
                f"{name} has torch's {what} bit set (a lazy view, {name}.{bit}() is True): "
                f"its memory does not hold its values; fill the tensor it views, or "
                f"{name}.{undo}() (a copy)"
            )


def mark_torch_written(tensor) -> None:
    """Bump the autograd version counter of a torch tensor about to be filled, so a
    backward through a graph that saved it raises "modified by an inplace operation", as
    after torch.nn.init's in-place fills."""
    import torch

    torch.autograd.graph.increment_version(tensor)


def _from_dlpack(tensor) -> np.ndarray:
    """np.from_dlpack, plus torch bfloat16 (numpy's DLPack has no bfloat16: the bits are
    shared through an int16 view and read back as ml_dtypes.bfloat16)."""
    if _is_torch(tensor) and str(tensor.dtype) == "torch.bfloat16":
        import torch

        return np.from_dlpack(tensor.view(torch.int16)).view(BFLOAT16)
    return np.from_dlpack(tensor)


def as_out(tensor, name: str = "tensor", *, float_only: bool = True,
           complex_ok: bool = False, device_ok: bool = False) -> np.ndarray:
    """The writeable numpy array behind ``tensor`` (a numpy array or any CPU DLPack
    provider, shared, never copied); with device_ok, a CUDA tensor comes back as a
    backends.cuda.DeviceOut (filled by the CUDA kernels).  This is where torch tensors
    become writeable: :func:`check_torch_view` first, :func:`mark_torch_written` once
    every check passed."""
    if type(tensor) is np.ndarray:  # no DLPack, no CUDA look-ups
        return _checked(tensor, name, float_only, complex_ok, None)
    is_torch = _is_torch(tensor)
    if is_torch:
        check_torch_view(tensor, name)
        if type(tensor).__name__ in _PLAIN_TORCH and tensor.is_cpu:
            return _checked(_torch_cpu_array(tensor, name), name, float_only, complex_ok,
                            tensor)
    from .backends import cuda

    if cuda.is_cuda_array(tensor):
        if not device_ok:
            raise TypeError(
                f"{name} is on a CUDA device; on the GPU fastinit fills uniform_, normal_, "
                "trunc_normal_, the variance-scaling family and orthogonal_ (fill this one "
                "on the host and copy)"
            )
        out = cuda.wrap_out(tensor)
        check_float_dtype(out.dtype, f"{name}.dtype")
        if is_torch:
            mark_torch_written(tensor)
        return out
    if isinstance(tensor, np.ndarray):
        arr = tensor
    elif hasattr(tensor, "__dlpack__"):
        _check_no_grad(tensor, name)
        arr = _dlpack_array(tensor, name)
    else:
        raise TypeError(
            f"{name} must be a numpy array or a DLPack tensor, got {type(tensor).__name__}"
        )
    return _checked(arr, name, float_only, complex_ok, tensor if is_torch else None)


_PLAIN_TORCH = ("Tensor", "Parameter")  # torch classes whose .numpy() shares the memory


def _torch_cpu_array(tensor, name: str) -> np.ndarray:
    """The numpy array sharing a plain torch CPU tensor's memory: ``.numpy()`` (cheaper
    than DLPack), DLPack for the dtypes numpy lacks (bfloat16); the same errors as
    DLPack's path."""
    _check_no_grad(tensor, name)
    try:
        return tensor.numpy()
    except (TypeError, RuntimeError):
        return _dlpack_array(tensor, name)


def _check_no_grad(tensor, name: str) -> None:
    if getattr(tensor, "requires_grad", False):
        raise ValueError(
            f"{name} requires grad: fill it under torch.no_grad() on tensor.detach()"
        )


def _dlpack_array(tensor, name: str) -> np.ndarray:
    try:
        return _from_dlpack(tensor)
    except (BufferError, TypeError, RuntimeError) as exc:
        raise TypeError(f"{name} could not be shared through DLPack: {exc}") from exc


def _checked(arr, name, float_only, complex_ok, torch_tensor):
    """as_out's checks of the shared array; the version bump of ``torch_tensor`` last."""
    if float_only and not (complex_ok and arr.dtype in (np.complex64, np.complex128)):
        check_float_dtype(arr.dtype, f"{name}.dtype")
    if not arr.flags.writeable:
        raise ValueError(f"{name} must be writeable, got a read-only array")
    check_no_overlap(arr, name)
    if torch_tensor is not None:
        mark_torch_written(torch_tensor)
    return arr


def warn_if_empty(arr: np.ndarray) -> bool:
    """True (with torch's warning) when arr has no elements and the fill is a no-op."""
    if arr.size == 0:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return True
    return False


def work_max(dtype) -> float:
    """The largest finite value of the fills' working precision: float64 for float64,
    float32 below (fastinit._laws.fill_limits)."""
    return _laws.fill_limits(dtype)[1]


def normal_radius(dtype) -> float:
    """The largest |z| of the fills' Box-Muller normal, sqrt(-2 log u_min) rounded up:
    u_min = 2**-32 in 32-bit working precision (6.661), 2**-53 in float64 (8.572)
    (fastinit._laws.fill_limits)."""
    return _laws.fill_limits(dtype)[2]


def support_fits(low: float, high: float, dtype) -> bool:
    """Whether draws in [low, high] are finite in ``dtype``: both ends within its range
    and the span high - low finite in the working precision."""
    m = value_max(dtype)
    return -m <= low <= high <= m and high - low <= work_max(dtype)


def check_normal_fits(mean: float, std: float, dtype, names: str) -> None:
    """Raise (naming ``names``, the caller's arguments) unless every draw of
    N(mean, std^2), within :func:`normal_radius` std of the mean, is finite in ``dtype``."""
    r = normal_radius(dtype)
    if not support_fits(mean - r * std, mean + r * std, dtype):
        m = value_max(dtype)
        raise ValueError(f"{names} must keep mean +- {r:.3g} std (the normal's draws) within "
                         f"{np.dtype(dtype).name}'s range [-{m:g}, {m:g}], got mean={mean:g}, "
                         f"std={std:g}")


@functools.cache
def std_max(distribution: str, dtype) -> float:
    """The largest std whose zero-mean draws of ``distribution`` (:func:`fill_std`) are
    all finite in ``dtype``: they lie within k std, k = sqrt(3) (uniform),
    :func:`normal_radius` (normal), 2 / 0.87962566103423978 (truncated normal)."""
    k = {"uniform": math.sqrt(3.0), "normal": normal_radius(dtype),
         "truncated_normal": 2.0 / TRUNC_STD_2SIGMA}[distribution]
    return min(value_max(dtype), work_max(dtype) / 2) / k


def check_law(value, name: str, mode: str, distribution: str) -> float:
    """The shape-free checks of variance scaling: ``value`` (the caller's scale or gain,
    named ``name``) finite and >= 0, ``mode`` and ``distribution`` known."""
    value = check_real(value, name)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    return value


def scaled_std(value, name: str, mode: str, fans, distribution: str, dtype,
               gain: bool = False) -> float:
    """sqrt(scale / n), n the fan that ``mode`` names, scale = ``value`` (or value**2
    when ``value`` is a gain): variance scaling's std.  ``value`` is the caller's
    argument ``name``; it must be finite, >= 0 and small enough that the std is at most
    :func:`std_max` in ``dtype``; errors name ``name`` and that range."""
    value = check_law(value, name, mode, distribution)
    n = fan_for_mode(mode, *fans)
    if not n > 0:
        raise ValueError(f"the {mode} of this shape is {n}; variance scaling needs it > 0")
    top = std_max(distribution, np.dtype(dtype))
    scale = value * value if gain else value
    std = math.sqrt(scale / n)
    if not (math.isfinite(scale) and std <= top):
        limit = min(top * math.sqrt(n), math.sqrt(sys.float_info.max)) if gain else \
            min(top * top * n, sys.float_info.max)
        raise ValueError(
            f"{name} must be in [0, {limit:.6g}] here ({distribution} draws with {mode} "
            f"{n:g} stay finite in {np.dtype(dtype).name}), got {value:g}"
        )
    return std


def fill_std(out: np.ndarray, std: float, distribution: str, seed: int, stream: int,
             offset: int = 0) -> np.ndarray:
    """Fill ``out`` (from :func:`as_out`, or a new array) with zero-mean draws of
    standard deviation ``std`` (:func:`scaled_std`; after truncation for
    "truncated_normal")."""
    dtype = out.dtype
    if distribution == "uniform":
        limit = math.sqrt(3.0) * std
        law, dist = _laws._uniform_params(-limit, limit, dtype), _laws.DIST_UNIFORM
    elif distribution == "normal":
        law, dist = _laws._normal_params(0.0, std, dtype), _laws.DIST_NORMAL
    elif distribution == "truncated_normal":
        if std == 0:
            out[...] = 0
            return out
        s = std / TRUNC_STD_2SIGMA
        law = _laws._truncnormal_params(0.0, s, -2.0 * s, 2.0 * s, dtype)
        dist = _laws.DIST_TRUNCNORMAL
    else:
        raise ValueError(f"distribution must be one of {DISTRIBUTIONS}, got {distribution!r}")
    return _fill.fill_out(dist, out, law, seed, stream, offset)
