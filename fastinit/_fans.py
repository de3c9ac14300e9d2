"""Fan counts and gains: the two numbers every variance-scaling initializer reads.

The frameworks read a weight's shape differently:

- torch: ``(out, in, *kernel)``; fans ``(in * R, out * R)``, R = prod(kernel).
- jax/flax: ``in_axis=-2, out_axis=-1, batch_axis=()``; R = numel / (in * out * batch);
  fans are floats.
- keras: ``(*kernel, in, out)``; R = prod(kernel).

All three are one rule: fan_in = size(in axes) * R, fan_out = size(out axes) * R with R the
product of the axes that are neither in, out nor batch.  R is a product here (jax divides),
so a zero in the shape gives zero fans instead of a ZeroDivisionError.
"""

from __future__ import annotations

import math
import numbers
import operator

import numpy as np

from ._validate import check_int, check_shape

LAYOUTS = ("torch", "jax", "keras")
_DEFAULT_AXES = {"torch": (1, 0), "jax": (-2, -1), "keras": (-2, -1)}


def _axes(value, ndim: int, name: str) -> tuple[int, ...]:
    """Normalize an int or a sequence of ints to non-negative axes of an ndim-D shape."""
    items = (value,) if isinstance(value, numbers.Integral) else value
    try:
        items = tuple(items)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {value!r}") from None
    out = []
    for ax in items:
        if isinstance(ax, bool | np.bool_):
            raise TypeError(f"{name} must contain ints, got bool")
        try:
            ax = operator.index(ax)
        except TypeError:
            raise TypeError(f"{name} must contain ints, got {ax!r}") from None
        if not -ndim <= ax < ndim:
            raise ValueError(f"{name}={ax} is out of range for a {ndim}-D shape")
        out.append(ax % ndim)
    return tuple(out)


def compute_fans(shape, *, layout="torch", in_axis=None, out_axis=None, batch_axis=(),
                 groups=1, transposed=False, fallback=False):
    """(fan_in, fan_out) of a weight of ``shape`` under a framework's convention.

    Parameters
    ----------
    shape : tuple of ints
    layout : "torch" (``(out, in, *k)``), "jax" (in_axis=-2, out_axis=-1, float fans) or
        "keras" (``(*k, in, out)``).
    in_axis, out_axis, batch_axis : int or sequence of ints, optional
        Explicit axes (jax's names), overriding the layout's defaults; batch axes count
        in neither fan (jax).
    groups : int
        Grouped convolution with ``groups`` groups: the channel axis that holds all the
        channels (out for a convolution, in for a transposed one) is divided by ``groups``
        so the fans count the connections of one unit.  The default 1 reproduces
        torch/jax/keras, which do not divide.
    transposed : bool
        A transposed convolution's weight (torch ``(in, out/groups, *k)``, keras
        ``(*k, out, in)``): read the in and out axes swapped, so fan_in is the number of
        inputs feeding one output.  False reproduces the frameworks, whose default init
        reads the output side as fan_in.
    fallback : bool
        For fewer than 2 dims return keras' fans ((1, 1) for 0-D, (n, n) for 1-D) instead
        of raising ValueError as torch and jax do.

    Fans are ints for torch and keras, floats for jax (as jax returns them).

    Examples
    --------
    >>> from fastinit import init
    >>> init.compute_fans((64, 16, 3, 3))
    (144, 576)
    >>> init.compute_fans((3, 3, 16, 64), layout="jax")
    (144.0, 576.0)
    >>> init.compute_fans((64, 4, 3, 3), groups=4)
    (36, 144)
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    shape = check_shape(shape, "shape")
    check_int(groups, "groups", 1)
    ndim = len(shape)
    if ndim < 2 and (in_axis is None or out_axis is None):
        if not fallback:
            raise ValueError(
                f"fans need a weight with at least 2 dimensions, got shape {shape} "
                "(pass in_axis and out_axis, or fallback=True for keras' (1, 1) / (n, n))"
            )
        n = shape[0] if ndim == 1 else 1
        return (float(n), float(n)) if layout == "jax" else (n, n)
    default_in, default_out = _DEFAULT_AXES[layout]
    ins = _axes(default_in if in_axis is None else in_axis, ndim, "in_axis")
    outs = _axes(default_out if out_axis is None else out_axis, ndim, "out_axis")
    batch = _axes(batch_axis, ndim, "batch_axis")
    if set(ins) & set(outs) or set(batch) & (set(ins) | set(outs)):
        raise ValueError(
            f"in_axis {ins}, out_axis {outs} and batch_axis {batch} must not share an axis"
        )
    if transposed:
        ins, outs = outs, ins
    in_size = math.prod(shape[a] for a in ins)
    out_size = math.prod(shape[a] for a in outs)
    receptive = math.prod(d for a, d in enumerate(shape) if a not in ins + outs + batch)
    if groups > 1:
        full = in_size if transposed else out_size  # the axis that holds every channel
        if full % groups:
            raise ValueError(f"groups={groups} must divide the channel count {full}")
        if transposed:
            in_size //= groups
        else:
            out_size //= groups
    fan_in, fan_out = in_size * receptive, out_size * receptive
    if layout == "jax":
        return float(fan_in), float(fan_out)
    return fan_in, fan_out


def fan_for_mode(mode: str, fan_in: float, fan_out: float) -> float:
    """The denominator of variance scaling: fan_in, fan_out, (in + out) / 2 or sqrt(in * out)."""
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2
    if mode == "fan_geo_avg":
        return math.sqrt(fan_in * fan_out)
    raise ValueError(
        f"mode must be one of 'fan_in', 'fan_out', 'fan_avg', 'fan_geo_avg', got {mode!r}"
    )


# ---- gains ----

_LINEAR = ("identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d")
_ALIASES = {"prelu": "leaky_relu"}


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain g of a nonlinearity: weights get std g / sqrt(fan), read from the activation
    registry (:data:`fastinit._activations.REGISTRY`), which holds
    torch.nn.init.calculate_gain's table exactly:

    ==========================  ==========================================================
    nonlinearity                gain
    ==========================  ==========================================================
    linear, ``conv*``, sigmoid  1
    tanh                        5/3
    relu                        sqrt(2)
    leaky_relu                  sqrt(2 / (1 + slope^2)), slope = param or 0.01
    selu                        3/4 (torch's empirical value; use "linear" for
                                self-normalizing nets)
    ==========================  ==========================================================

    and, for the registry's other activations (where torch raises), the variance-preserving
    gain g = 1 / sqrt(E[phi(z)^2]) for z ~ N(0, 1) (He et al. 2015's condition at unit
    pre-activation variance) by the theory's quadrature: erf 1.4672, gelu (erf form)
    1.5335, silu/swish 1.6765, mish 1.4868, softplus (param = beta, default 1) 1.0419, elu
    (param = alpha, default 1) 1.2452, hardtanh (param = bound b or (min, max), default 1)
    1.3920.  A param that is not a finite real (or pair) raises ValueError naming it; the
    parameterless ones ignore it, as torch does.

    Examples
    --------
    >>> from fastinit import init
    >>> init.calculate_gain("tanh")
    1.6666666666666667
    >>> round(init.calculate_gain("leaky_relu", 0.2), 4)
    1.3868
    >>> round(init.calculate_gain("gelu"), 4)
    1.5335
    """
    from . import _activations

    if not isinstance(nonlinearity, str):
        raise TypeError(f"nonlinearity must be a str, got {type(nonlinearity).__name__}")
    if nonlinearity in _LINEAR:
        return 1
    name = _ALIASES.get(nonlinearity, nonlinearity)
    if name not in _activations.REGISTRY and name not in _activations.ALIASES \
            and name not in _ALIASES:
        known = sorted(_activations.REGISTRY) + sorted(_activations.ALIASES) + sorted(_ALIASES)
        raise ValueError(f"Unsupported nonlinearity {nonlinearity!r}: expected one of "
                         f"{', '.join(known + list(_LINEAR))}")
    if not _activations.takes_param(name):
        param = None  # as torch: a parameterless nonlinearity ignores param (kaiming's a)
    return _activations.get(name, param).gain
