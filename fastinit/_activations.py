"""Activations of the propagation engine and the theory: one registry (:data:`REGISTRY`)
whose entries hold phi, phi', the kinks where phi' jumps, the width of phi', the weight
gain and closed-form Gaussian moments where they exist; :mod:`fastinit.propagate`,
:mod:`fastinit.theory` and :func:`fastinit.init.calculate_gain` all read it.  phi and
phi' map float arrays elementwise (numpy, or CuPy through numpy's dispatch).  A user's
scalar function is compiled into a ufunc by Numba when available."""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from . import _gauss
from ._erf import erf as _host_erf

_SQRT1_2 = math.sqrt(0.5)
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def _erf(x):
    """erf elementwise: :func:`fastinit._erf.erf` (numpy, float64 arithmetic, the C
    library's algorithm) on host values, the one erf of the package, so no value depends
    on whether scipy is installed; CuPy's for device arrays.  float32 in, float32 out;
    anything else gives float64."""
    if not isinstance(x, (np.ndarray, np.generic, float, int)):
        from cupyx.scipy.special import erf

        return erf(x)
    return _host_erf(x)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _dsigmoid(x):
    return 0.25 * (1.0 - np.tanh(0.5 * x) ** 2)


class Moments:
    """Closed-form Gaussian moments of an activation, u, u_1, u_2 ~ N(0, q), corr(u_1, u_2)
    = c: ``second(q)`` = E[phi(u)^2], ``slope(q)`` = d/dq E[phi(u)^2] = E[u phi phi'] / q,
    ``cross(q, c)`` = E[phi(u_1) phi(u_2)], ``dphi2(q)`` = E[phi'(u)^2], ``dphi_cross(q, c)``
    = E[phi'(u_1) phi'(u_2)]; each takes floats or numpy arrays.  ``dphi2_law``: (values,
    weights) of phi'(u)^2 where that law is the same at every q."""

    def __init__(self, second, slope, cross, dphi2, dphi_cross, dphi2_law=None):
        self.second, self.slope, self.cross = second, slope, cross
        self.dphi2, self.dphi_cross, self.dphi2_law = dphi2, dphi_cross, dphi2_law


def _leaky_moments(a):
    """phi = a x + (1 - a) relu(x): the arc-cosine kernels of degree 1 and 0 (Cho & Saul
    2009), E[relu relu] = q (sqrt(1 - c^2) + (pi - acos c) c) / (2 pi), P(u_1, u_2 > 0) =
    (pi - acos c) / (2 pi); relu is a = 0, linear a = 1."""
    b = (1 - a) ** 2
    half = (1 + a * a) / 2
    return Moments(
        second=lambda q: half * np.asarray(q, float),
        slope=lambda q: half + 0 * np.asarray(q, float),
        cross=lambda q, c: b * q / (2 * math.pi) * (np.sqrt(np.maximum(0.0, 1 - c * c))
                                                    + (math.pi - np.arccos(c)) * c) + a * q * c,
        dphi2=lambda q: half + 0 * np.asarray(q, float),
        dphi_cross=lambda q, c: b * (math.pi - np.arccos(c)) / (2 * math.pi) + a + 0 * q,
        dphi2_law=(np.array([a * a, 1.0]), np.array([0.5, 0.5])))


ERF_MOMENTS = Moments(  # Williams 1997: E[erf(u_1) erf(u_2)] = 2/pi asin(2 q c / (1 + 2 q))
    second=lambda q: 2 / math.pi * np.arcsin(2 * q / (1 + 2 * q)),
    slope=lambda q: 4 / (math.pi * (1 + 2 * q) * np.sqrt(1 + 4 * q)),
    cross=lambda q, c: 2 / math.pi * np.arcsin(2 * q * c / (1 + 2 * q)),
    dphi2=lambda q: 4 / (math.pi * np.sqrt(1 + 4 * q)),
    dphi_cross=lambda q, c: 4 / (math.pi * np.sqrt((1 + 2 * q) ** 2 - 4 * q * q * c * c)))


class Activation:
    """phi and its derivative; ``name`` for reports; ``kinks``: the points where phi' jumps
    (the theory's quadrature splits its integrals there); ``scale``: the width of phi'
    (where that quadrature places its panels); ``gain``: the weight gain of
    :func:`fastinit.init.calculate_gain` (None: the variance-preserving
    1 / sqrt(E[phi(z)^2]), z ~ N(0, 1)); ``moments``: closed forms (:class:`Moments`)
    where they exist; ``both``: u -> (phi(u), phi'(u)) sharing work (default: the two
    calls).  A user's Activation has none of these, whatever its name."""

    def __init__(self, name, phi, dphi, kinks=(), *, scale=1.0, gain=None, moments=None,
                 both=None):
        self.name, self.phi, self.dphi = name, phi, dphi
        self.kinks = tuple(sorted(float(k) for k in kinks))
        self.scale, self.moments = float(scale), moments
        self._gain, self._both = gain, both

    def both(self, u):
        """(phi(u), phi'(u))."""
        return self._both(u) if self._both else (self.phi(u), self.dphi(u))

    @property
    def gain(self) -> float:
        if self._gain is None:
            u, w = _gauss.line(self, 0.0, 1.0)
            self._gain = 1.0 / math.sqrt(float(w @ self.phi(u) ** 2))
        return self._gain

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



def _param(value, default, what):
    """An activation's scalar parameter: ``default`` for None, else a finite real."""
    if value is None:
        return default
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise ValueError(f"param ({what}) must be a finite real number, got {value!r}")
    return float(value)


def _no_param(name):
    def check(param):
        if param is not None:
            raise ValueError(f"param: {name} takes no parameter, got {param!r}")
    return check


def _fixed(name, phi, dphi, kinks=(), **kw):
    """A parameterless registry entry."""
    check = _no_param(name)

    def make(param=None):
        check(param)
        return Activation(name, phi, dphi, kinks, **kw)
    make.takes_param = False
    return make


def _leaky_relu(param=None):
    a = _param(param, 0.01, "leaky_relu's negative slope")
    return Activation(f"leaky_relu({a})", lambda x: np.where(x > 0, x, a * x),
                      lambda x: np.where(x > 0, 1.0, a).astype(x.dtype), (0.0,),
                      gain=math.sqrt(2.0 / (1 + a * a)), moments=_leaky_moments(a))


def _elu(param=None):
    a = _param(param, 1.0, "elu's alpha")
    return Activation(f"elu({a})", lambda x: np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
                      lambda x: np.where(x > 0, 1.0, a * np.exp(np.minimum(x, 0))), (0.0,))


def _softplus(param=None):
    beta = _param(param, 1.0, "softplus' beta")
    if not beta > 0:
        raise ValueError(f"param (softplus' beta) must be > 0, got {beta}")
    return Activation(f"softplus({beta})", lambda x: np.logaddexp(0, beta * x) / beta,
                      lambda x: _sigmoid(beta * x), scale=1 / beta)


def _hardtanh(param=None):
    """param: the bound b of clip(x, -b, b) (a scalar) or the pair (min_val, max_val)."""
    if param is None or isinstance(param, numbers.Real):
        b = _param(param, 1.0, "hardtanh's bound")
        lo, hi = -b, b
    else:
        try:
            lo, hi = param
        except (TypeError, ValueError):
            raise ValueError(f"param (hardtanh's bound b or (min_val, max_val)) must be a "
                             f"number or a pair, got {param!r}") from None
        lo, hi = _param(lo, None, "hardtanh's min_val"), _param(hi, None, "hardtanh's max_val")
    if not lo < hi:
        raise ValueError(f"param: hardtanh needs min_val < max_val, got ({lo}, {hi})")
    return Activation(f"hardtanh({lo}, {hi})", lambda x: np.clip(x, lo, hi),
                      lambda x: ((x > lo) & (x < hi)).astype(x.dtype), (lo, hi))


def _mish_dphi(x):
    t = np.tanh(np.logaddexp(0, x))
    return t + x * (1 - t * t) * _sigmoid(x)


def _tanh_both(x):
    t = np.tanh(x)
    return t, 1 - t * t


def _sigmoid_both(x):
    t = np.tanh(0.5 * x)
    return 0.5 * (1.0 + t), 0.25 * (1.0 - t * t)


_LINEAR = _leaky_moments(1.0)
REGISTRY = {
    "linear": _fixed("linear", lambda x: x, lambda x: np.ones_like(x), gain=1.0,
                     moments=_LINEAR),
    "relu": _fixed("relu", lambda x: np.maximum(x, 0), lambda x: (x > 0).astype(x.dtype),
                   (0.0,), gain=math.sqrt(2.0), moments=_leaky_moments(0.0)),
    "leaky_relu": _leaky_relu,
    "tanh": _fixed("tanh", np.tanh, lambda x: 1 - np.tanh(x) ** 2, gain=5.0 / 3,
                   both=_tanh_both),
    "erf": _fixed("erf", _erf, lambda x: (2 / math.sqrt(math.pi)) * np.exp(-x * x),
                  moments=ERF_MOMENTS),
    "sigmoid": _fixed("sigmoid", _sigmoid, _dsigmoid, gain=1.0, both=_sigmoid_both),
    "selu": _fixed("selu", lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(
        np.minimum(x, 0))), lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(
            np.minimum(x, 0))), (0.0,), gain=0.75),
    "elu": _elu,
    "gelu": _fixed("gelu", lambda x: x * 0.5 * (1 + _erf(x * _SQRT1_2)),
                   lambda x: 0.5 * (1 + _erf(x * _SQRT1_2)) + x * _gauss.normal_pdf(x)),
    "silu": _fixed("silu", lambda x: x * _sigmoid(x),
                   lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x)))),
    "mish": _fixed("mish", lambda x: x * np.tanh(np.logaddexp(0, x)), _mish_dphi),
    "softplus": _softplus,
    "hardtanh": _hardtanh,
}
"""Name -> factory(param=None) -> Activation: adding an activation is one entry here."""
ALIASES = {"swish": "silu"}


def takes_param(name) -> bool:
    """Whether the registry entry ``name`` (or alias) has a parameter."""
    return getattr(REGISTRY[ALIASES.get(name, name)], "takes_param", True)


def get(activation, param=None, compile=True) -> Activation:
    """An Activation from a registry name (with ``param`` for leaky_relu's slope, elu's
    alpha, softplus' beta, hardtanh's bound b or (min, max)), an Activation, or a user
    (phi, dphi) pair / callable phi (then gradients cannot be tracked).  User functions may
    be scalar (``def phi(x): return x / (1 + abs(x))``): with ``compile`` they become Numba
    ufuncs (:func:`compiled`); array functions work as they are."""
    if isinstance(activation, Activation):
        return activation
    if callable(activation):
        return Activation(getattr(activation, "__name__", "user"),
                          _user(activation, compile), None)
    if isinstance(activation, tuple) and len(activation) == 2 and all(map(callable, activation)):
        return Activation(getattr(activation[0], "__name__", "user"),
                          *(_user(f, compile) for f in activation))
    name = ALIASES.get(activation, activation) if isinstance(activation, str) else None
    if name not in REGISTRY:
        raise ValueError(f"activation must be one of {sorted(REGISTRY) + sorted(ALIASES)}, "
                         f"an Activation or a callable, got {activation!r}")
    if isinstance(param, list):
        param = tuple(param)
    try:
        return _named(name, param)
    except TypeError:  # an unhashable param: no cache
        return REGISTRY[name](param)


@functools.lru_cache(maxsize=1024)
def _named(name, param):
    """One Activation per (name, param), so the theory's caches see the same object."""
    return REGISTRY[name](param)
