"""Activations of the propagation engine: phi and phi' as elementwise functions of float
arrays (numpy, or CuPy through numpy's dispatch), with the names torch and the mean-field
papers use.  A user's scalar function is compiled into a ufunc by Numba when available."""

from __future__ import annotations

import math

import numpy as np

_SQRT1_2 = math.sqrt(0.5)
_SQRT_2_PI = math.sqrt(2 / math.pi)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _erf(x):
    """erf: CuPy's for device arrays; scipy's when present, else Abramowitz & Stegun
    7.1.26 (|error| < 1.5e-7, below float32 resolution near 1)."""
    if not isinstance(x, (np.ndarray, np.generic, float, int)):
        from cupyx.scipy.special import erf

        return erf(x)
    try:
        from scipy.special import erf
    except ImportError:
        t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
        poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (
            -1.453152027 + t * 1.061405429))))
        return np.sign(x) * (1.0 - poly * np.exp(-x * x))
    return erf(x)


def _pdf(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class Activation:
    """phi and its derivative; ``name`` for reports; ``kinks``: the points where phi' jumps
    (the theory's quadrature splits its integrals there)."""

    def __init__(self, name, phi, dphi, kinks=()):
        self.name, self.phi, self.dphi = name, phi, dphi
        self.kinks = tuple(sorted(float(k) for k in kinks))

    def __repr__(self):
        return f"Activation({self.name!r})"


def compiled(fn):
    """``fn`` as a float32/float64 ufunc compiled by Numba (nopython; one fused loop, no
    temporaries), or ``fn`` itself when Numba is missing or cannot compile it (then it
    must already map arrays elementwise, like ``lambda x: np.tanh(2 * x)``)."""
    try:
        import numba
    except ImportError:
        return fn
    try:
        ufunc = numba.vectorize(["float32(float32)", "float64(float64)"], nopython=True)(fn)
        ufunc(np.zeros(1, np.float32))  # typing errors surface at build time
    except Exception:
        return fn
    ufunc.__name__ = getattr(fn, "__name__", "user")
    return ufunc


def _user(fn, compile):
    """A user function checked on a small array, compiled when asked."""
    f = compiled(fn) if compile else fn
    probe = np.linspace(-2, 2, 5, dtype=np.float32)
    try:
        out = np.asarray(f(probe))
    except Exception as exc:
        raise TypeError(f"activation {getattr(fn, '__name__', fn)!r} must map a float array "
                        f"elementwise (or be a scalar function Numba can compile): {exc}") \
            from exc
    if out.shape != probe.shape:
        raise TypeError(f"activation {getattr(fn, '__name__', fn)!r} must map a float array "
                        f"elementwise: shape {probe.shape} gave {out.shape}")
    return f


def get(activation, param=None, compile=True) -> Activation:
    """An Activation from a name (with ``param`` for leaky_relu's slope, elu's alpha,
    softplus' beta, hardtanh's (min, max)), an Activation, or a user (phi, dphi) pair /
    callable phi (then gradients cannot be tracked).  User functions may be scalar
    (``def phi(x): return x / (1 + abs(x))``): with ``compile`` they become Numba ufuncs
    (:func:`compiled`); array functions work as they are."""
    if isinstance(activation, Activation):
        return activation
    if callable(activation):
        return Activation(getattr(activation, "__name__", "user"),
                          _user(activation, compile), None)
    if isinstance(activation, tuple) and len(activation) == 2 and all(map(callable, activation)):
        return Activation(getattr(activation[0], "__name__", "user"),
                          *(_user(f, compile) for f in activation))
    table = {
        "linear": (lambda x: x, lambda x: np.ones_like(x)),
        "relu": (lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(x.dtype)),
        "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
        "erf": (_erf, lambda x: (2 / math.sqrt(math.pi)) * np.exp(-x * x)),
        "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1 - _sigmoid(x))),
        "selu": (lambda x: SELU_SCALE * np.where(x > 0, x,
                                                 SELU_ALPHA * np.expm1(np.minimum(x, 0))),
                 lambda x: SELU_SCALE * np.where(x > 0, 1.0,
                                                 SELU_ALPHA * np.exp(np.minimum(x, 0)))),
        "gelu": (lambda x: x * 0.5 * (1 + _erf(x * _SQRT1_2)),
                 lambda x: 0.5 * (1 + _erf(x * _SQRT1_2)) + x * _pdf(x)),
        "silu": (lambda x: x * _sigmoid(x),
                 lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
    }
    table["swish"] = table["silu"]
    if activation == "leaky_relu":
        a = 0.01 if param is None else float(param)
        return Activation(f"leaky_relu({a})", lambda x: np.where(x > 0, x, a * x),
                          lambda x: np.where(x > 0, 1.0, a).astype(x.dtype), kinks=(0.0,))
    if activation == "elu":
        a = 1.0 if param is None else float(param)
        return Activation(f"elu({a})", lambda x: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
                          lambda x: np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0))),
                          kinks=(0.0,))
    if activation == "softplus":
        beta = 1.0 if param is None else float(param)
        return Activation(f"softplus({beta})", lambda x: np.logaddexp(0, beta * x) / beta,
                          lambda x: _sigmoid(beta * x))
    if activation == "hardtanh":
        lo, hi = (-1.0, 1.0) if param is None else map(float, param)
        return Activation(f"hardtanh({lo}, {hi})", lambda x: np.clip(x, lo, hi),
                          lambda x: ((x > lo) & (x < hi)).astype(x.dtype), kinks=(lo, hi))
    if activation not in table:
        names = sorted(table) + ["elu", "hardtanh", "leaky_relu", "softplus"]
        raise ValueError(f"activation must be one of {names}, an Activation or a callable, "
                         f"got {activation!r}")
    return Activation(activation, *table[activation],
                      kinks=(0.0,) if activation in ("relu", "selu") else ())
