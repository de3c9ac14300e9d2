"""PyTorch adapter: torch.nn.init's functions on torch tensors, whole-module initialization
by the module's own init code (torch layers, transformers, torchtitan-style) with
fastinit's fills keyed by parameter name, meta-device materialization, construction
without the meta device (build) and shard fills.

Every function here fills torch CPU tensors in place through a shared (DLPack) view, under
no_grad semantics (parameters may require grad), in logical index order whatever the
memory layout (channels_last and transposed views get the values of the contiguous
tensor).  Meta tensors are a no-op, as in torch.

Values of ``init_module_`` depend only on (seed, qualified parameter name, law): not on
construction order, on which parameters are initialized, on the thread count or on
sharding.  Parameter ``name`` takes seed ``blake2b(f"{seed}/{name}")`` (first 8 bytes,
little endian) and stream 0.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from . import _device, _shard
from . import init as _init
from ._torch_own_init import _shared_slots
from ._torch_plan import _fill_known, _float_dtypes, _plan, _run_plan, _value_key
from ._torch_record import (
    _RANDOM,
    _RECORD_LOCK,
    _check_bind,
    _init_functions_replaced,
    _tensor_and_law,
    _torch,
)
from ._validate import BFLOAT16, derived_seed
from ._variance import as_out

__all__ = [
    "build", "calculate_gain", "constant_", "dirac_", "eye_", "fill_shard_", "init_module_",
    "kaiming_normal_", "kaiming_uniform_", "materialize_", "normal_", "ones_", "orthogonal_",
    "param_seed", "sparse_", "to_torch", "trunc_normal_", "uniform_", "variance_scaling_",
    "xavier_normal_", "xavier_uniform_", "zeros_",
]

calculate_gain = _init.calculate_gain


_Fill = TypeVar("_Fill", bound=Callable[..., Any])


def _wrap(fill: _Fill) -> _Fill:
    """fill on tensor.detach() (no_grad semantics), a no-op on meta tensors; returns
    tensor.  numpy arrays pass straight through.  The list below is the registry's
    entries with torch=True (fastinit._registry; tests/test_registry.py)."""

    @functools.wraps(fill)
    def wrapped(tensor, *args, **kwargs):
        torch = _torch()
        if isinstance(tensor, np.ndarray):  # as handed to recipes by init_module_
            return fill(tensor, *args, **kwargs)
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
        if tensor.is_meta:
            return tensor
        if not tensor.is_cpu:
            raise ValueError(
                f"tensor is on {tensor.device}; the CPU path fills CPU tensors (use "
                "materialize_(module, device=...) to place an initialized model on a device)"
            )
        fill(tensor.detach(), *args, **kwargs)
        return tensor

    return cast(_Fill, wrapped)


uniform_ = _wrap(_init.uniform_)
normal_ = _wrap(_init.normal_)
trunc_normal_ = _wrap(_init.trunc_normal_)
_HELD: dict = {}  # (type(val), val, its sign, torch dtype) -> val as that dtype holds it


@functools.cache
def _plain_types():
    torch = _torch()
    return torch.Tensor, torch.nn.Parameter


def _fillable(tensor, seed):
    """Whether torch's fill_ writes into ``tensor`` the bits of the general path: a
    plain, contiguous CPU torch tensor of a float dtype (not an inference tensor, no
    negative bit), seed None or in [0, 2**64)."""
    return type(tensor) in _plain_types() and (
        seed is None or type(seed) is int and 0 <= seed < 1 << 64) and tensor.is_cpu and \
        not tensor.is_neg() and not tensor.is_inference() and tensor.is_contiguous() and \
        tensor.dtype in _float_dtypes()


def _held_value(tensor, val, seed):
    """For a tensor that :func:`_fillable` accepts: the float that constant_(tensor, val)
    writes, which torch's fill_ writes exactly (checked and rounded by constant_ itself,
    into one element, once per (val, dtype)); else None (the general path)."""
    if not _fillable(tensor, seed):
        return None
    try:
        key = (*_value_key(val), tensor.dtype)
        held = _HELD.get(key)
    except TypeError:  # an unhashable val
        return None
    if held is None:
        one = _init.constant_(np.empty(1, _float_dtypes()[tensor.dtype]), val)
        held = float(one[0])
        if len(_HELD) < 4096:
            _HELD[key] = held
    return held


@functools.cache
def _grad_mode():
    torch = _torch()
    return torch.is_grad_enabled, torch._C._set_grad_enabled


def _no_grad(write, *args):
    """write(*args), a tensor's in-place method, under no_grad semantics (its version
    counter moves; no graph)."""
    enabled, set_enabled = _grad_mode()
    was = enabled()
    set_enabled(False)
    try:
        write(*args)
    finally:
        set_enabled(was)


_constant_general, _ones_general, _zeros_general = (
    _wrap(_init.constant_), _wrap(_init.ones_), _wrap(_init.zeros_))


@functools.wraps(_init.constant_)
def constant_(tensor, val, *, seed=None):
    held = _held_value(tensor, val, seed)
    if held is None:
        return _constant_general(tensor, val, seed=seed)
    _no_grad(tensor.fill_, held)
    return tensor


@functools.wraps(_init.ones_)
def ones_(tensor, *, seed=None):
    if not _fillable(tensor, seed):  # every float dtype holds 1 exactly
        return _ones_general(tensor, seed=seed)
    _no_grad(tensor.fill_, 1.0)
    return tensor


@functools.wraps(_init.zeros_)
def zeros_(tensor, *, seed=None):
    if not _fillable(tensor, seed):
        return _zeros_general(tensor, seed=seed)
    _no_grad(tensor.zero_)
    return tensor


eye_ = _wrap(_init.eye_)
dirac_ = _wrap(_init.dirac_)
xavier_uniform_ = _wrap(_init.xavier_uniform_)
xavier_normal_ = _wrap(_init.xavier_normal_)
kaiming_uniform_ = _wrap(_init.kaiming_uniform_)
kaiming_normal_ = _wrap(_init.kaiming_normal_)
orthogonal_ = _wrap(_init.orthogonal_)
sparse_ = _wrap(_init.sparse_)
variance_scaling_ = _wrap(_init.variance_scaling_)


def to_torch(x):
    """A torch CPU tensor sharing ``x``'s memory (bfloat16 through its int16 bits, as
    numpy has no bfloat16 for torch).

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import torch as ft
    >>> a = np.zeros(3, np.float32)
    >>> t = ft.to_torch(a)
    >>> t[0] = 1.0
    >>> a.tolist()
    [1.0, 0.0, 0.0]
    """
    torch = _torch()
    x = np.asarray(x)
    if x.dtype == BFLOAT16:
        return torch.from_numpy(x.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(x)


def param_seed(seed: int, name: str) -> int:
    """The seed of parameter ``name`` under model seed ``seed`` (derived_seed).

    Examples
    --------
    >>> from fastinit import checkpoint, torch as ft
    >>> ft.param_seed(0, "fc.weight") == checkpoint.tensor_seed(0, "fc.weight")
    True
    >>> ft.param_seed(0, "fc.weight") == ft.param_seed(0, "fc.bias")
    False
    """
    return derived_seed(seed, name)


def init_module_(module, *, seed, recipes=None, strict=True, prefix=""):
    """Initialize every parameter and buffer of ``module`` in place as its own init code
    does, with fastinit's fills keyed by name.

    The code run is the module's own: each submodule's ``reset_parameters()`` (torch's
    layer defaults: Linear/Conv kaiming_uniform_(a=sqrt 5), Embedding N(0, 1) with its
    padding row 0, norms 1/0, MultiheadAttention, RNNs, nn.Transformer's xavier), children
    first, then ``init_weights()`` of the outermost submodules that have one
    (transformers' ``_init_weights``, e.g. N(0, initializer_range) and GPT-2's scaled
    c_proj; a torchtitan-style ``init_weights``), after ``tie_weights()`` if the module
    has it.  Every write it makes to the module's tensors (torch.nn.init's functions,
    transformers' helpers, ``Tensor.normal_/uniform_/zero_/fill_/copy_``, ``t[i] = v``) is
    recorded, not made; per tensor the last whole-tensor write and the writes after it
    are replayed: random laws by fastinit's function of the same name and arguments
    under seed param_seed(seed, name), deterministic ones as recorded.  Values depend
    only on (seed, qualified name, the law): not on order, threads or sharding.
    ``recipes`` maps fnmatch patterns of qualified names (``"*.c_proj.weight"``) to
    ``fn(array, seed=...)`` (fastinit.init's in-place functions, or a partial of one)
    or None (leave it), replacing the model's law; the first matching pattern wins.  A
    parameter that no code writes raises ValueError (``strict=False`` keeps its values);
    such buffers keep theirs.  ``prefix`` names a submodule's tensors as in its parent
    (``init_module_(model.fc, seed=s, prefix="fc.")`` gives what initializing ``model``
    gives ``model.fc``).  Returns module.

    Examples
    --------
    >>> import torch
    >>> from fastinit import torch as ft
    >>> model = torch.nn.Sequential(torch.nn.Linear(8, 4), torch.nn.LayerNorm(4))
    >>> _ = ft.init_module_(model, seed=0)
    >>> bool(model[0].weight.abs().max() <= 8 ** -0.5), model[1].weight.tolist()
    (True, [1.0, 1.0, 1.0, 1.0])
    >>> w = model[0].weight.clone()
    >>> bool(torch.equal(ft.init_module_(model, seed=0)[0].weight, w))
    True
    """
    if recipes or not _fill_known(module, seed, prefix):
        _run_plan(module, _plan(module, recipes, strict=strict, prefix=prefix), seed, prefix)
    return module


def materialize_(module, device="cpu", *, seed, recipes=None):
    """Give a module built on the meta device (or under accelerate's
    ``init_empty_weights()``) storage on ``device`` and initialize it as
    :func:`init_module_` does (the same values for the same seed), never running a fill
    twice.  Every meta tensor must be written as a whole by the module's init code or a
    recipe, checked before anything is allocated: buffers that only ``__init__``
    computes are lost on meta (transformers' ``_init_weights`` recomputes its rotary
    ``inv_freq`` and ``position_ids``).  Tensors already off meta keep their values
    unless the init code writes them.  Tied parameters stay tied (re-tied by the
    module's ``tie_weights()`` if it has one).  On a CUDA device every tensor is filled
    where it lives by the CUDA kernels, with the CPU's bits (fastinit._device says which
    laws go through the host, one tensor at a time).  DTensor parameters (FSDP2's
    ``fully_shard``, ``distribute_module``, tensor-parallel plans) get on each rank only
    their local shard, with the values of the unsharded model at its global indices,
    whatever the mesh (fastinit._dtensor).

    Examples
    --------
    >>> import torch
    >>> from fastinit import torch as ft
    >>> with torch.device("meta"):
    ...     model = torch.nn.Linear(8, 4)
    >>> _ = ft.materialize_(model, seed=0)
    >>> model.weight.device.type
    'cpu'
    >>> bool(torch.equal(model.weight, ft.init_module_(torch.nn.Linear(8, 4), seed=0).weight))
    True
    """
    torch = _torch()
    device = torch.device(device)
    plan = _plan(module, recipes, strict=True)
    tied = _shared_slots(module)
    module._apply(lambda t: _device.place(t, device))
    for slots in tied:  # _apply gives each module its own copy of a shared tensor
        (first_mod, first_kind, first_name), *rest = slots
        shared = getattr(first_mod, first_kind)[first_name]
        for mod, kind, name in rest:
            getattr(mod, kind)[name] = shared
    _run_plan(module, plan, seed)
    return module


def build(factory, *args, seed, recipes=None, **kwargs):
    """``factory(*args, **kwargs)`` built on the CPU and initialized as
    :func:`materialize_` initializes it on meta, without the meta device (its first use
    in a process costs about a second) and writing each page once: while the factory
    runs, torch.nn.init's random functions called on whole parameters are recorded, not
    made (storage stays as torch.empty left it: untouched pages; other tensors, which
    construction may compute with, are filled by torch); then
    :func:`init_module_`'s replay (those writes first, then the module's init code;
    the last law wins), so a law set only in ``__init__`` is kept too; a model of stock
    layers whose writes all end in their resets' takes :func:`init_module_`'s
    stock-layer path (one compiled call, no plan).  Returns the module.

    Examples
    --------
    >>> import torch
    >>> from fastinit import torch as ft
    >>> model = ft.build(torch.nn.Linear, 8, 4, seed=0)
    >>> bool(torch.equal(model.weight, ft.init_module_(torch.nn.Linear(8, 4), seed=0).weight))
    True
    """
    torch = _torch()
    made = {}  # id(parameter) -> (parameter, op, function, args, kwargs) of its last fill

    def record(op, original):
        def fill(*a, **k):
            t = a[0] if a else k.get("tensor")  # every recorded function's first parameter
            if not isinstance(t, torch.nn.Parameter) or t._base is not None or t.is_meta \
                    or not t.is_floating_point() or not t.is_cpu:
                return original(*a, **k)  # scratch tensors and buffers are filled now
            _check_bind(original, a, k)  # the law is bound only if the plan reads it
            made[id(t)] = (t, op, original, a, k)
            return t

        return functools.wraps(original)(fill) if op in _RANDOM else original

    with _RECORD_LOCK, _init_functions_replaced(record):
        module = factory(*args, **kwargs)
    if recipes or not _fill_known(module, seed, "", made):
        initial = {key: (t, [(None, op, _tensor_and_law(fn, a, k)[1])])
                   for key, (t, op, fn, a, k) in made.items()}
        _run_plan(module, _plan(module, recipes, strict=True, initial=initial), seed)
    return module


def fill_shard_(local, global_shape, offsets, fill, *args, seed, **kwargs):
    """Fill ``local`` (a torch tensor or numpy array) as the box at ``offsets`` of a
    global tensor of ``global_shape`` initialized by ``fill`` (any fastinit.init in-place
    function): bit-identical to the same slice of the unsharded tensor, fans from the
    global shape.  E.g. a DTensor's ``to_local()`` with the offsets of its placement.

    Examples
    --------
    >>> import numpy as np
    >>> from fastinit import init, torch as ft
    >>> whole = init.kaiming_uniform_(np.empty((6, 4), np.float32), seed=3)
    >>> local = np.empty((3, 4), np.float32)
    >>> _ = ft.fill_shard_(local, (6, 4), (3, 0), init.kaiming_uniform_, seed=3)
    >>> bool(np.array_equal(local, whole[3:]))
    True
    """
    torch = _torch()
    target = local.detach() if isinstance(local, torch.Tensor) else local
    if isinstance(local, torch.Tensor) and local.is_meta:
        return local
    with _shard.shard(global_shape, offsets):
        fill(as_out(target, "local", float_only=False), *args, seed=seed, **kwargs)
    return local
