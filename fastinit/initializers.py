"""jax.nn.initializers' (and flax's) names and semantics, and keras.initializers' classes,
over the same variance-scaling core as :mod:`fastinit.init`.

Seeds and keys follow one rule (fastinit._validate.check_seed), the same in
:mod:`fastinit.jax` and the keras classes' ``seed``: an int in [0, 2**64) is the seed; a
jax PRNG key (typed, of any impl, or a legacy uint32 key array) gives a seed from its
key-data words w0, w1, ...: ``(w0 << 32) | w1`` for a threefry key (2 words), and
``derived_seed(W, "jax_key")`` for an rbg/unsafe_rbg key (4 words), W the words read as
one integer, w0 most significant.  Negative ints, ints >= 2**64, bools, floats and float
arrays raise; nothing is reduced modulo 2**64 or truncated.  A :class:`fastinit.Generator`
is accepted too.

jax style: a factory returns ``init(key, shape, dtype=None) -> numpy array``.  Like jax,
the same key gives the same values.  Kernels read as ``(..., in, out)`` (in_axis=-2,
out_axis=-1); ``glorot_normal``/``he_normal``/``lecun_normal`` are *truncated* normals
(cut at 2 std, rescaled by 0.87962566103423978), ``normal`` in ``variance_scaling`` is
untruncated; ``uniform(scale)`` is U[0, scale); truncated_normal's bounds are in units of
stddev.  The default dtype is float32.  Parameters are checked at construction, shape and
dtype (and parameters against the dtype's range) at call time, before anything is drawn.

keras style: ``GlorotUniform(seed=None)(shape, dtype=None)``; kernels ``(*k, in, out)``;
fans of 0-D/1-D shapes fall back to (1, 1)/(n, n) and each fan is clamped to >= 1;
``VarianceScaling(distribution="normal")`` means truncated (keras' legacy alias;
"untruncated_normal" is the plain normal).  An instance with an int seed, or with None (a
seed drawn once at construction), returns the same values on every call, as keras 3 does;
pass a :class:`fastinit.Generator` to advance.  The classes are registered with keras'
serialization as "fastinit>Name" as soon as keras is imported (:func:`register_keras`), so
``model.save`` / ``keras.saving.load_model`` / ``keras.models.clone_model`` keep them, with
their parameters and seed, and so the same weights.

>>> import numpy as np
>>> from fastinit import initializers as I
>>> k = I.glorot_normal()(0, (3, 3, 16, 32))          # jax style: (key, shape, dtype)
>>> k.shape, k.dtype.name
((3, 3, 16, 32), 'float32')
>>> w = I.GlorotNormal(seed=0)((16, 32))              # keras style
>>> bool((w == I.GlorotNormal(seed=0)((16, 32))).all())   # an int seed: same values
True
"""

from __future__ import annotations

from types import FunctionType

from ._jax_factories import (
    constant,
    delta_orthogonal,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    kaiming_normal,
    kaiming_uniform,
    lecun_normal,
    lecun_uniform,
    normal,
    ones,
    ones_init,
    orthogonal,
    seed_from_key,
    truncated_normal,
    uniform,
    variance_scaling,
    xavier_normal,
    xavier_uniform,
    zeros,
    zeros_init,
)
from ._keras_classes import (
    Constant,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    Identity,
    LecunNormal,
    LecunUniform,
    Ones,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    Zeros,
    register_keras,
)

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "LecunNormal", "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "Zeros", "constant", "delta_orthogonal",
    "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "kaiming_normal",
    "kaiming_uniform", "lecun_normal", "lecun_uniform", "normal", "ones", "ones_init",
    "orthogonal", "register_keras", "seed_from_key", "truncated_normal", "uniform",
    "variance_scaling", "xavier_normal", "xavier_uniform", "zeros", "zeros_init",
]

# This module is the public home of its classes and functions (defined in
# fastinit._jax_factories and fastinit._keras_classes): keras' saved configs record it as
# their "module", and reprs, pickles, doctests and the API reference name it.
for _name in __all__:
    if isinstance(globals()[_name], (type, FunctionType)):
        globals()[_name].__module__ = __name__
del _name
