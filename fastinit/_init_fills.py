"""The deterministic fills of :mod:`fastinit.init`: constant, ones, zeros, eye and dirac,
in place and as new arrays.  They accept ``seed=`` and ignore it, so that every in-place
function is a recipe ``fn(array, seed=...)``."""

from __future__ import annotations

import numpy as np

from ._init_common import Seed, T
from ._structured import dirac_fill, eye_fill
from ._validate import check_fill_value, check_shape
from ._variance import as_out, ignored_seed


def constant_(tensor: T, val: complex, *, seed: Seed = None) -> T:
    """Every element = val, a finite number the dtype holds (any dtype; a float into an
    integer tensor truncates as numpy casts).  ``seed`` is accepted and ignored (the law
    is deterministic), as in :func:`ones_`, :func:`zeros_`, :func:`eye_`, :func:`dirac_`.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.constant_(np.empty(3, np.float32), 0.5).tolist()
    [0.5, 0.5, 0.5]
    """
    out = as_out(tensor, float_only=False)
    check_fill_value(val, out.dtype, "val", allow_nonfinite=True)
    ignored_seed(seed)
    out[...] = val
    return tensor


def ones_(tensor: T, *, seed: Seed = None) -> T:
    """Every element = 1 (``seed`` ignored).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.ones_(np.empty(2, np.float32)).tolist()
    [1.0, 1.0]
    """
    return constant_(tensor, 1, seed=seed)


def zeros_(tensor: T, *, seed: Seed = None) -> T:
    """Every element = 0 (``seed`` ignored).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.zeros_(np.empty(2, np.float32)).tolist()
    [0.0, 0.0]
    """
    return constant_(tensor, 0, seed=seed)


def eye_(tensor: T, *, seed: Seed = None) -> T:
    """The 2-D identity (rectangular allowed), as torch.eye (``seed`` ignored).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.eye_(np.empty((2, 3), np.float32)).tolist()
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    """
    out = as_out(tensor, float_only=False)
    ignored_seed(seed)
    eye_fill(out)
    return tensor


def dirac_(tensor: T, groups: int = 1, *, gain: float = 1.0, centre: str = "torch",
           seed: Seed = None) -> T:
    """Dirac delta of a 3/4/5-D conv weight ``(out, in, *k)``:
    ``out[g*O/groups + d, d, c...] = gain``, c = k // 2 (torch; centre="jax" gives
    (k - 1) // 2, which differs for even k).
    ``seed`` ignored.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.dirac_(np.empty((2, 2, 3), np.float32)).tolist()
    [[[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]
    """
    out = as_out(tensor, float_only=False)
    check_fill_value(gain, out.dtype, "gain")
    ignored_seed(seed)
    dirac_fill(out, groups, gain, centre)
    return tensor


# ---- functional twins ----

def constant(shape, val, *, dtype=np.float32):
    """A new array as :func:`constant_` (np.full with torch's name).

    Examples
    --------
    >>> from fastinit import init
    >>> init.constant((2,), 0.5).tolist()
    [0.5, 0.5]
    """
    return constant_(np.empty(check_shape(shape, "shape"), dtype), val)


def zeros(shape, *, dtype=np.float32):
    """np.zeros with torch's name.

    Examples
    --------
    >>> from fastinit import init
    >>> init.zeros((2,)).tolist()
    [0.0, 0.0]
    """
    return constant(shape, 0, dtype=dtype)


def ones(shape, *, dtype=np.float32):
    """np.ones with torch's name.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init
    >>> init.ones((2,), dtype=np.int32).tolist()
    [1, 1]
    """
    return constant(shape, 1, dtype=dtype)


def eye(shape, *, dtype=np.float32):
    """A new array as :func:`eye_`.

    Examples
    --------
    >>> from fastinit import init
    >>> init.eye((2, 2)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return eye_(np.empty(check_shape(shape, "shape"), dtype))


def dirac(shape, groups=1, *, dtype=np.float32, gain=1.0, centre="torch"):
    """A new array as :func:`dirac_`.

    Examples
    --------
    >>> from fastinit import init
    >>> init.dirac((1, 1, 3)).tolist()
    [[[0.0, 1.0, 0.0]]]
    """
    return dirac_(np.empty(check_shape(shape, "shape"), dtype), groups, gain=gain,
                  centre=centre)
