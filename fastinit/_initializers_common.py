"""Plumbing shared by the jax factories (fastinit._jax_factories) and the keras classes
(fastinit._keras_classes) of :mod:`fastinit.initializers`."""

from __future__ import annotations

import numpy as np

from ._output import new_array
from ._structured import fill_whole_then_box
from ._validate import check_float_dtype


def float_dtype(dtype, default=np.float32) -> np.dtype:
    """The float dtype of a call: ``dtype``, else ``default``; checked."""
    return check_float_dtype(default if dtype is None else dtype)


def box_of_whole(fill, shape, dtype) -> np.ndarray:
    """A new array made by the structured fill(array) (the box of it inside a shard)."""
    return fill_whole_then_box(new_array(shape, dtype), fill)
