"""Activations of the propagation engine: phi and phi' as numpy functions working in place
on float arrays (the engine's buffers), with the names torch and the mean-field papers use."""

from __future__ import annotations

import math

import numpy as np

_SQRT1_2 = math.sqrt(0.5)
_SQRT_2_PI = math.sqrt(2 / math.pi)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _erf(x):
    """erf, from scipy when present, else Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7,
    below float32 resolution near 1)."""
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
    """phi and its derivative; ``name`` for reports."""

    def __init__(self, name, phi, dphi):
        self.name, self.phi, self.dphi = name, phi, dphi

    def __repr__(self):
        return f"Activation({self.name!r})"


def get(activation, param=None) -> Activation:
    """An Activation from a name (with ``param`` for leaky_relu's slope, elu's alpha,
    softplus' beta, hardtanh's (min, max)), an Activation, or a user (phi, dphi) pair /
    callable phi (then gradients cannot be tracked)."""
    if isinstance(activation, Activation):
        return activation
    if callable(activation):
        return Activation(getattr(activation, "__name__", "user"), activation, None)
    if isinstance(activation, tuple) and len(activation) == 2 and all(map(callable, activation)):
        return Activation(getattr(activation[0], "__name__", "user"), *activation)
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
                          lambda x: np.where(x > 0, 1.0, a).astype(x.dtype))
    if activation == "elu":
        a = 1.0 if param is None else float(param)
        return Activation(f"elu({a})", lambda x: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
                          lambda x: np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0))))
    if activation == "softplus":
        beta = 1.0 if param is None else float(param)
        return Activation(f"softplus({beta})", lambda x: np.logaddexp(0, beta * x) / beta,
                          lambda x: _sigmoid(beta * x))
    if activation == "hardtanh":
        lo, hi = (-1.0, 1.0) if param is None else map(float, param)
        return Activation(f"hardtanh({lo}, {hi})", lambda x: np.clip(x, lo, hi),
                          lambda x: ((x > lo) & (x < hi)).astype(x.dtype))
    if activation not in table:
        names = sorted(table) + ["elu", "hardtanh", "leaky_relu", "softplus"]
        raise ValueError(f"activation must be one of {names}, an Activation or a callable, "
                         f"got {activation!r}")
    return Activation(activation, *table[activation])
