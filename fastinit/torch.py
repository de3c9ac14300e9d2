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

import contextlib
import fnmatch
import functools
import heapq
import inspect
import math
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from . import _device, _dtensor
from . import _generate as g
from . import init as _init
from ._generate import DTYPE_CODES
from ._registry import ENTRIES
from ._validate import BFLOAT16, derived_seed, derived_seeds
from ._variance import as_out

__all__ = [
    "build", "calculate_gain", "constant_", "dirac_", "eye_", "fill_shard_", "init_module_",
    "kaiming_normal_", "kaiming_uniform_", "materialize_", "normal_", "ones_", "orthogonal_",
    "param_seed", "sparse_", "to_torch", "trunc_normal_", "uniform_", "variance_scaling_",
    "xavier_normal_", "xavier_uniform_", "zeros_",
]

calculate_gain = _init.calculate_gain


def _torch():
    import torch

    return torch


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


def _held_value(tensor, val, seed):
    """For a plain, contiguous CPU float torch tensor (not an inference tensor, no
    negative bit) and seed None or in [0, 2**64): the float that constant_(tensor, val)
    writes, which torch's fill_ writes exactly (checked and rounded by constant_ itself,
    into one element, once per (val, dtype)); else None (the general path)."""
    if type(tensor) not in _plain_types() or not (
            seed is None or type(seed) is int and 0 <= seed < 1 << 64) or \
            not tensor.is_cpu or tensor.is_neg() or tensor.is_inference() or \
            not tensor.is_contiguous():
        return None
    try:
        key = (*_value_key(val), tensor.dtype)
        held = _HELD.get(key)
    except TypeError:  # an unhashable val
        return None
    if held is None:
        dtype = _float_dtypes().get(tensor.dtype)
        if dtype is None:
            return None
        one = _init.constant_(np.empty(1, dtype), val)
        held = float(one[0])
        if len(_HELD) < 4096:
            _HELD[key] = held
    return held


def _value_key(v):
    """(type, value, sign of a float) of v: remembered laws tell 0.0 from -0.0, which
    are equal but differ in their bits."""
    return type(v), v, math.copysign(1.0, v) if isinstance(v, float | np.floating) else 0


_constant_general, _ones_general, _zeros_general = (
    _wrap(_init.constant_), _wrap(_init.ones_), _wrap(_init.zeros_))


@functools.wraps(_init.constant_)
def constant_(tensor, val, *, seed=None):
    held = _held_value(tensor, val, seed)
    if held is None:
        return _constant_general(tensor, val, seed=seed)
    tensor.detach().fill_(held)
    return tensor


@functools.wraps(_init.ones_)
def ones_(tensor, *, seed=None):
    if _held_value(tensor, 1, seed) is None:
        return _ones_general(tensor, seed=seed)
    tensor.detach().fill_(1.0)
    return tensor


@functools.wraps(_init.zeros_)
def zeros_(tensor, *, seed=None):
    if _held_value(tensor, 0, seed) is None:
        return _zeros_general(tensor, seed=seed)
    tensor.detach().zero_()
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


# ---- the model's own initialization code, replayed by name ----
#
# init_module_/materialize_/build run the module's own init code (each submodule's
# reset_parameters, children first as construction runs them, then the outermost
# init_weights(): transformers' _init_weights machinery, a torchtitan-style init_weights)
# with every write to the module's tensors recorded instead of made.  The writes are then
# replayed per tensor: random ones by fastinit's function of the same name and arguments
# under the tensor's seed, deterministic ones as recorded.

_RANDOM = tuple(e.init for e in ENTRIES if e.torch and e.nn_init and e.random)
_DETERMINISTIC = tuple(e.init for e in ENTRIES if e.torch and e.nn_init and not e.random)
# the modules that bind torch.nn.init's functions at import (as transformers patches them)
_INIT_MODULES = ("torch.nn.init", "torch.nn.modules.activation",
                 "torch.nn.modules.transformer", "torch.nn.modules.linear",
                 "torch.nn.modules.loss", "torch.nn.modules.batchnorm",
                 "torch.nn.modules.conv", "torch.nn.modules.normalization",
                 "torch.nn.modules.rnn", "torch.nn.modules.sparse")
_NOT_WRITES = frozenset({"requires_grad_", "share_memory_", "retain_grad"})
# elementwise in-place methods with scalar arguments, replayed on the whole tensor by
# torch itself (timm's trunc_normal_: uniform_, erfinv_, mul_, add_, clamp_)
_ELEMENTWISE = frozenset({
    "abs_", "add_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "div_", "erfinv_",
    "exp_", "floor_", "fmod_", "log_", "mul_", "neg_", "pow_", "reciprocal_",
    "remainder_", "round_", "sigmoid_", "sign_", "sqrt_", "sub_", "tanh_", "trunc_"})
_NOT_FILLS = ("elementwise", "unreplayable")  # recorded ops that do not set every value
_RECORD_LOCK = threading.RLock()


def _storage_key(t):
    try:
        return t.untyped_storage()._cdata
    except (RuntimeError, NotImplementedError, TypeError):
        return None


class _Recorder:
    """The writes of init code to a module's tensors, per qualified name: a list of
    (view, op, kwargs), view None (the whole tensor) or (offset, shape, stride) in
    elements of its storage.  A whole-tensor write drops the writes before it (the last
    law wins, as in the model)."""

    def __init__(self, entries, initial=None):
        self.entries = entries  # held: ids and storages stay unique while recording
        self.names = {id(t): name for name, t, *_ in entries}
        self.owners = {}  # storage -> its first (name, tensor)
        self.scratch = {}  # id -> (weakref, op, law) of random fills of other tensors
        for name, t, *_ in entries:
            key = _storage_key(t)
            if key is not None and t.numel():
                self.owners.setdefault(key, (name, t))
        self.logs: dict[str, list] = {  # writes made while the module was built (build)
            name: list((initial or {})[id(t)][1]) for name, t, *_ in entries
            if id(t) in (initial or {})}

    def locate(self, t):
        """(name, view) of a tensor sharing storage with one of the module's, else None."""
        if not isinstance(t, _torch().Tensor):
            return None
        if id(t) in self.names:  # the tensor itself (distinct ones may share storage)
            return self.names[id(t)], None
        hit = self.owners.get(_storage_key(t))
        if hit is None:
            return None
        name, base = hit
        offset = t.storage_offset() - base.storage_offset()
        if offset == 0 and t.shape == base.shape and t.stride() == base.stride():
            return name, None
        if not base.is_contiguous():
            return name, "non-contiguous"
        return name, (offset, tuple(t.shape), tuple(t.stride()))

    def ops_of(self, t):
        """The writes recorded for tensor t (the same object, whatever its name now)."""
        return self.logs.get(self.names.get(id(t)), [])

    def record(self, where, op, kwargs):
        name, view = where
        if view == "non-contiguous":
            view, op, kwargs = None, "unreplayable", {"op": f"{op} of a view of it"}
        log = self.logs.setdefault(name, [])
        if view is None and op not in _NOT_FILLS:
            log.clear()
        log.append((view, op, kwargs))

    def init_call(self, op, original, args, kwargs):
        """A torch.nn.init function: recorded for the module's tensors, else torch's."""
        arguments = _bind(original, args, kwargs)
        tensor = arguments.get("tensor")
        law = {k: v for k, v in arguments.items() if k not in ("tensor", "generator")}
        where = self.locate(tensor)
        if where is None:
            if op in _RANDOM and isinstance(tensor, _torch().Tensor):
                # a scratch tensor that may be copied in whole (channels_last convs,
                # transformers' float32 orthogonal_ for bfloat16): the copy gets the law
                self.scratch[id(tensor)] = (weakref.ref(tensor), op, law)
            return original(*args, **kwargs)
        self.record(where, op, law)
        return tensor

    def method_call(self, where, name, args, kwargs):
        """A Tensor method writing to the module's tensor args[0] (normal_, uniform_,
        zero_, fill_, copy_, t[index] = value, and after a recorded write an elementwise
        method with scalar arguments on the whole tensor; anything else cannot be
        replayed)."""
        torch = _torch()
        rest = args[1:]
        if name == "normal_":
            mean = rest[0] if rest else kwargs.get("mean", 0.0)
            std = rest[1] if len(rest) > 1 else kwargs.get("std", 1.0)
            return self.record(where, "normal_", {"mean": mean, "std": std})
        if name == "uniform_":
            a = rest[0] if rest else kwargs.get("from", 0.0)
            b = rest[1] if len(rest) > 1 else kwargs.get("to", 1.0)
            return self.record(where, "uniform_", {"a": a, "b": b})
        if name == "zero_":
            return self.record(where, "zeros_", {})
        if name in _ELEMENTWISE and where[1] is None and self.logs.get(where[0]) and \
                not any(isinstance(v, torch.Tensor) for v in (*rest, *kwargs.values())):
            return self.record(where, "elementwise", {"method": name, "args": rest,
                                                      "kwargs": kwargs})
        value = rest[-1] if name == "__setitem__" else rest[0] if rest else kwargs.get(
            "value", kwargs.get("src"))
        if name == "__setitem__":  # t[index] = value writes the view t[index]
            view = self.locate(args[0][rest[0]])  # None: an advanced index made a copy
            if view is None:
                return self.record(where, "unreplayable", {"op": "an advanced-index assignment"})
            where, name = view, "copy_" if isinstance(value, torch.Tensor) else "fill_"
        if name in ("fill_", "copy_") and isinstance(value, (int, float, bool)):
            return self.record(where, "constant_", {"val": value})
        ref, op, law = self.scratch.get(id(value), (lambda: None, None, None))
        if name == "copy_" and ref() is value and value.shape == args[0].shape:
            return self.record(where, op, law)
        if name in ("fill_", "copy_") and isinstance(value, torch.Tensor) and \
                not value.is_meta and self.locate(value) is None:
            return self.record(where, "copy", {"src": value.detach().to("cpu", copy=True)})
        return self.record(where, "unreplayable", {"op": name})


@functools.cache
def _signature(fn):
    return inspect.signature(fn)


@functools.cache
def _parameter_lists(fn):
    """(plain, positional names, all names, defaults) of fn's signature; plain: no
    positional-only, *args or **kwargs parameters."""
    params = _signature(fn).parameters.values()
    plain = all(p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) for p in params)
    positional = tuple(p.name for p in params if p.kind == p.POSITIONAL_OR_KEYWORD)
    defaults = {p.name: p.default for p in params if p.default is not p.empty}
    return plain, positional, frozenset(p.name for p in params), defaults


def _bind(fn, args, kwargs):
    """{name: value} of every parameter of fn for the call fn(*args, **kwargs), defaults
    applied, as inspect's bind + apply_defaults (which raises the call's TypeError)."""
    plain, positional, names, defaults = _parameter_lists(fn)
    if plain and len(args) <= len(positional) and kwargs.keys() <= names \
            and not kwargs.keys() & set(positional[:len(args)]):
        arguments = {**defaults, **dict(zip(positional, args, strict=False)), **kwargs}
        if len(arguments) == len(names):  # every parameter has a value
            return arguments
    bound = _signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


@functools.cache
def _writes(name):
    """Whether a torch function or Tensor method of this name writes to its first
    argument (in-place methods end in one underscore; item and attribute assignment)."""
    return name in ("__setitem__", "__set__") or (
        name.endswith("_") and not name.startswith("_") and name not in _NOT_WRITES)


@functools.cache
def _mode_type():
    from torch.overrides import TorchFunctionMode

    class RecordWrites(TorchFunctionMode):
        """Tensor methods (and torch.nn.init functions reached through their
        __torch_function__ hook) that write to the recorder's tensors: recorded."""

        def __init__(self, rec, originals):
            super().__init__()
            self.rec, self.originals = rec, originals

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func in self.originals:
                return self.rec.init_call(self.originals[func], func, args, kwargs)
            name = getattr(func, "__name__", "")
            writes = _writes(name)
            if not writes and not kwargs:  # a read (size, dim, ...): nothing to record
                return func(*args)
            where = self.rec.locate(args[0]) if writes and args else None
            if where is not None:
                self.rec.method_call(where, name, args, kwargs)
                return args[0]
            out = self.rec.locate(kwargs.get("out"))
            if out is not None:
                self.rec.record(out, "unreplayable", {"op": f"{name}(out=...)"})
                return kwargs["out"]
            return func(*args, **kwargs)

    return RecordWrites


@contextlib.contextmanager
def _init_functions_replaced(replacement):
    """Inside: torch.nn.init's functions, wherever torch and transformers bind them
    (transformers' helpers call its TORCH_INIT_FUNCTIONS), are replacement(op, original).
    On exit every binding of a replacement in those modules and in the modules imported
    inside the block (which may have bound it: ``from torch.nn.init import normal_``) is
    set back to the original; the modules loaded before, which only an explicit
    assignment could have given one, are not scanned (a scan of all of sys.modules costs
    15-30 ms, most of a small model's build)."""
    torch = _torch()
    originals = {getattr(torch.nn.init, op): op for op in _RANDOM + _DETERMINISTIC}
    back = {}  # id(replacement) -> (replacement, original)

    def bindings(modules):
        for mod in modules:
            ns = getattr(mod, "__dict__", None)
            if not isinstance(ns, dict):
                continue
            yield ns
            if ns.get("__name__") == "transformers.initialization" and \
                    isinstance(ns.get("TORCH_INIT_FUNCTIONS"), dict):
                yield ns["TORCH_INIT_FUNCTIONS"]

    known = [sys.modules[m] for m in (*_INIT_MODULES, "transformers.initialization")
             if m in sys.modules]
    by_id = {id(f): f for f in originals}
    before = dict(sys.modules)
    try:
        for ns in bindings(known):
            for key, fn in list(ns.items()):
                if id(fn) in by_id and by_id[id(fn)] is fn and originals[fn] == key:
                    new = replacement(key, fn)
                    back[id(new)] = (new, fn)
                    ns[key] = new
        yield originals
    finally:
        imported = [mod for name, mod in list(sys.modules.items()) if before.get(name) is not mod]
        for ns in bindings(known + imported):
            if back.keys().isdisjoint(map(id, ns.values())):  # the common case, in C
                continue
            for key, fn in list(ns.items()):
                if id(fn) in back and back[id(fn)][0] is fn:
                    ns[key] = back[id(fn)][1]


@contextlib.contextmanager
def _recording(rec):
    """Inside: torch.nn.init's functions and Tensor methods record their writes to rec's
    tensors; other tensors are untouched."""

    def redirect(op, original):
        return functools.wraps(original)(
            lambda *args, **kwargs: rec.init_call(op, original, args, kwargs))

    with _init_functions_replaced(redirect) as originals, _mode_type()(rec, originals):
        yield


def _no_arg_method(obj, name):
    """obj.name if it is a method callable without arguments, else None."""
    fn = getattr(obj, name, None)
    if not callable(fn):
        return None
    func = getattr(fn, "__func__", None)  # a bound method: its function's answer, kept
    if func is not None and getattr(fn, "__self__", None) is obj:
        try:
            return fn if _callable_with_self_only(func) else None
        except TypeError:  # an unhashable function object
            pass
    return fn if _no_required_params(fn) else None


@functools.lru_cache(maxsize=4096)
def _callable_with_self_only(func):
    """Whether func(self) binds: what inspect.signature of the bound method tells."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    if params and params[0].kind == params[0].VAR_POSITIONAL:
        return _no_required(params)
    if params and params[0].kind in (params[0].POSITIONAL_ONLY,
                                     params[0].POSITIONAL_OR_KEYWORD):
        return _no_required(params[1:])
    return False


def _no_required_params(fn):
    try:
        return _no_required(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False


def _no_required(params):
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
               for p in params)


def _global_stand_ins(module):
    """Put a plain meta tensor of the global shape in place of every DTensor parameter
    and buffer, so that the init code sees the unsharded model (its views, fans and
    padding rows by global index, as in one process); returns [(module, kind, name,
    original, stand-in)] for putting them back.  A DTensor held in several slots gets one
    stand-in."""
    torch = _torch()
    made, out = {}, []
    for mod in module.modules():
        for kind in ("_parameters", "_buffers"):
            for local, t in list(getattr(mod, kind).items()):
                if t is None or not _dtensor.is_dtensor(t):
                    continue
                if id(t) not in made:
                    stand_in = torch.empty(t.shape, dtype=t.dtype, device="meta")
                    if isinstance(t, torch.nn.Parameter):
                        stand_in = torch.nn.Parameter(stand_in, t.requires_grad)
                    made[id(t)] = stand_in
                getattr(mod, kind)[local] = made[id(t)]
                out.append((mod, kind, local, t, made[id(t)]))
    return out


def _record_own_init(module, prefix="", initial=None):
    """Run the module's own init code with its writes recorded: every submodule's
    reset_parameters()/_reset_parameters(), children first, then init_weights() of the
    outermost submodules that have one (transformers' initialize_weights(), its
    init_weights without the tying, with the flags _is_hf_initialized cleared so that
    all of it runs); then tie as the module's tie_weights() does, if it has one
    (accelerate's init_empty_weights unties).  As in an eager build, the code runs on
    untied tensors (each later occurrence of a shared tensor stands in as a meta tensor
    of its own, which the tie then drops): a tied tensor gets its first owner's law."""
    torch = _torch()
    global_stand_ins = _global_stand_ins(module)
    rec = _Recorder(_entries(module, prefix), initial)
    for obj in (*module.modules(), *module.parameters(), *module.buffers()):
        if "_is_hf_initialized" in getattr(obj, "__dict__", {}):
            delattr(obj, "_is_hf_initialized")
    tied = _shared_slots(module)
    for _, *rest in tied:
        for mod, kind, local in rest:
            t = getattr(mod, kind)[local]
            stand_in = torch.empty_like(t, device="meta")
            if isinstance(t, torch.nn.Parameter):
                stand_in = torch.nn.Parameter(stand_in, t.requires_grad)
            getattr(mod, kind)[local] = stand_in
    post_order, stack = [], [module]
    while stack:
        mod = stack.pop()
        post_order.append(mod)
        stack.extend(mod.children())
    try:
        keys = [_stock_key(rec, mod) for mod in post_order]  # read outside the mode
        with _RECORD_LOCK, torch.no_grad(), _recording(rec):
            same = {}  # stock layer key -> its reset's writes, by local name
            for mod, key in zip(reversed(post_order), reversed(keys), strict=True):
                reset = _no_arg_method(mod, "reset_parameters") or \
                    _no_arg_method(mod, "_reset_parameters")
                if reset is not None:
                    _reset(rec, mod, reset, key, same)
            stack = [module]
            while stack:
                mod = stack.pop()
                own = _no_arg_method(mod, "initialize_weights") or \
                    _no_arg_method(mod, "init_weights")
                if own is not None:
                    own()
                else:
                    stack.extend(reversed(list(mod.children())))
    finally:
        for (first_mod, first_kind, first_name), *rest in tied:
            shared = getattr(first_mod, first_kind)[first_name]
            for mod, kind, local in rest:
                getattr(mod, kind)[local] = shared
        for mod, kind, local, original, stand_in in global_stand_ins:
            getattr(mod, kind)[local] = original
            if id(stand_in) in rec.names:
                rec.names[id(original)] = rec.names[id(stand_in)]
    tie = _no_arg_method(module, "tie_weights")
    if tie is not None:
        tie()
    return rec


def _stock_key(rec, mod):
    """For a torch layer whose reset_parameters writes laws that depend only on the
    shapes, strides and dtypes of its own parameters (Linear, LayerNorm, Conv*d; not a
    subclass, nor a reset_parameters from outside torch.nn), each recorded under its own
    name: a key of those; else None."""
    kind = type(mod)
    if not _stock_class(kind, getattr(kind, "reset_parameters", None)) or \
            "reset_parameters" in mod.__dict__ or mod._buffers:
        return None
    key, names = [kind], rec.names
    for local, t in mod._parameters.items():
        if t is None:
            key.append((local, None))
        elif id(t) in names:
            key.append((local, tuple(t.shape), t.stride(), t.dtype))
        else:
            return None
    return tuple(key)


@functools.lru_cache(maxsize=64)
def _stock_class(kind, reset):
    """Whether kind is a stock layer class (:func:`_stock_key`) with its reset ``reset``."""
    nn = _torch().nn
    return kind in (nn.Linear, nn.LayerNorm, nn.Conv1d, nn.Conv2d, nn.Conv3d) and \
        getattr(reset, "__module__", "").startswith("torch.nn.")


def _reset(rec, mod, reset, key, same):
    """mod's reset(), recorded; a stock layer (``key`` from :func:`_stock_key`) like one
    already recorded gets that one's writes (the same laws under its own names) without
    running it again."""
    if key is None:
        return reset()
    if key in same:
        for local, op, kwargs in same[key]:
            rec.record((rec.names[id(mod._parameters[local])], None), op, kwargs)
        return None
    local_of = {rec.names[id(t)]: local for local, t in mod._parameters.items()
                if t is not None}
    writes, record = [], rec.record

    def capture(where, op, kwargs):
        writes.append((where, op, kwargs))
        return record(where, op, kwargs)

    rec.record = capture
    try:
        reset()
    finally:
        del rec.record  # the class's method again
    if all(view is None and name in local_of and op in _RANDOM + _DETERMINISTIC
           for (name, view), op, _ in writes):
        same[key] = [(local_of[name], op, kwargs) for (name, _), op, kwargs in writes]
    return None


_INIT_METHODS = frozenset({"reset_parameters", "_reset_parameters", "initialize_weights",
                           "init_weights"})
_STOCK_WRITES: dict = {}  # torch.nn.init's functions -> {(stock key, its reset): writes}


class _Known:
    """What _plan reads of a _Recorder (and _stock_key of its names), for a module of
    stock layers (:func:`_stock_layers`): qualified name per tensor id, writes per name."""

    def __init__(self):
        self.names, self.logs = {}, {}

    def ops_of(self, t):
        return self.logs.get(self.names.get(id(t)), ())


def _has_init_code(kind):
    """Whether a module class has a method that _record_own_init may run (asked each
    time: a class may gain one)."""
    return hasattr(kind, "reset_parameters") or hasattr(kind, "_reset_parameters") or \
        hasattr(kind, "init_weights") or hasattr(kind, "initialize_weights")


def _stock_layers(module, prefix=""):
    """What _record_own_init would record, known without running any init code when the
    module's own code can only be stock layers' resets: every submodule a stock layer
    (:func:`_stock_key`) or free of init code (no reset/init method, none set on the
    instance), no tie_weights, every tensor a plain torch tensor in one slot only.  Then
    (known, layers, others): a _Known holding every tensor's name, [(prefix, layer,
    writes)] with the writes that recording one layer of its key gave, [(name, tensor,
    owner, local)] of the other tensors (no init code writes them); else None.  The
    writes, [(local name, ops)] each starting with a whole-tensor fill, are kept across
    calls under the key, its class's reset_parameters and torch.nn.init's functions
    (its fills and fan computation)."""
    torch = _torch()
    plain = (torch.Tensor, torch.nn.Parameter)
    env = tuple(getattr(torch.nn.init, op) for op in
                (*_RANDOM, *_DETERMINISTIC, "_calculate_fan_in_and_fan_out"))
    if _no_arg_method(module, "tie_weights") is not None:
        return None
    if env not in _STOCK_WRITES and len(_STOCK_WRITES) < 16:
        _STOCK_WRITES[env] = {}
    cache = _STOCK_WRITES.get(env, {})
    known, layers, others = _Known(), [], []
    names = known.names
    stack = [(prefix, module)]
    while stack:
        pre, mod = stack.pop()
        own = mod.__dict__  # an init method set on the instance (or a child so named)
        if "reset_parameters" in own or "_reset_parameters" in own or "init_weights" in own \
                or "initialize_weights" in own or not _INIT_METHODS.isdisjoint(mod._modules):
            return None
        stock = _has_init_code(type(mod))
        for slots in (mod._parameters, mod._buffers):
            for local, t in slots.items():
                if t is None:
                    continue
                if type(t) not in plain or id(t) in names:
                    return None
                names[id(t)] = pre + local
                if not stock:
                    others.append((pre + local, t, mod, local))
        if stock:
            key = _stock_key(known, mod)
            if key is None:
                return None
            key = (key, type(mod).reset_parameters)
            writes = cache.get(key)
            if writes is None:
                writes = _stock_writes(mod, key, cache)
            if writes is False:
                return None
            layers.append((pre, mod, writes))
        for child_name, child in mod._modules.items():
            if child is not None:
                stack.append((f"{pre}{child_name}.", child))
    return known, layers, others


def _recorded(module, prefix="", initial=None):
    """:func:`_record_own_init`'s writes; for a module of stock layers
    (:func:`_stock_layers`) without running the init code: each layer's parameters get
    its key's writes under their own names (a whole-tensor fill first, which replaces
    anything in ``initial``, as _Recorder.record does), the other tensors ``initial``'s."""
    found = _stock_layers(module, prefix)
    if found is None:
        return _record_own_init(module, prefix, initial)
    known, layers, others = found
    for pre, _, writes in layers:
        for local, ops in writes:
            known.logs[pre + local] = ops
    for name, t, *_ in others:
        if id(t) in (initial or {}):
            known.logs[name] = list(initial[id(t)][1])
    return known


def _stock_writes(mod, key, cache):
    """[(local name, writes)] that recording mod's own init gives each parameter,
    remembered in ``cache`` under ``key``; False (remembered too) unless every one
    starts with a whole-tensor fill."""
    rec = _record_own_init(mod)
    writes = tuple((local, tuple(rec.ops_of(t))) for local, t in mod._parameters.items()
                   if t is not None)
    if not all(ops and ops[0][0] is None and ops[0][1] not in _NOT_FILLS
               for _, ops in writes):
        writes = False
    if len(cache) < 4096:
        cache[key] = writes
    return writes


def _write(arr, op, kwargs, seed):
    """One recorded whole-array write (the box of an enclosing shard block, if any)."""
    if op == "copy":
        src, box = kwargs["src"], g.current_box()
        if box is not None:
            src = src.expand(box[0])[tuple(slice(o, o + n)
                                           for o, n in zip(box[1], arr.shape, strict=True))]
        to_torch(arr).copy_(src)
    elif op == "elementwise":
        getattr(to_torch(arr), kwargs["method"])(*kwargs["args"], **kwargs["kwargs"])
    elif op in _RANDOM:
        getattr(_init, op)(arr, **kwargs, seed=seed)
    else:
        getattr(_init, op)(arr, **kwargs)


def _write_view(arr, view, op, kwargs, seed):
    """A recorded write to a view (offset, shape, stride) of the global tensor: its values
    made whole, then the elements inside arr's box scattered (global indices)."""
    offset, shape, stride = view
    index = np.full(shape, offset, np.int64)
    for k, (n, s) in enumerate(zip(shape, stride, strict=True)):
        index += np.arange(n, dtype=np.int64).reshape((n,) + (1,) * (len(shape) - k - 1)) * s
    values = np.empty(shape, arr.dtype)
    with g.unsharded():
        _write(values, op, kwargs, seed)
    index, values = index.reshape(-1), values.reshape(-1)
    box = g.current_box()
    if box is None:
        arr.reshape(-1)[index] = values  # views are recorded on contiguous tensors only
        return
    coords = np.unravel_index(index, box[0])
    inside = np.ones(index.size, bool)
    for c, o, n in zip(coords, box[1], arr.shape, strict=True):
        inside &= (c >= o) & (c < o + n)
    arr[tuple(c[inside] - o for c, o in zip(coords, box[1], strict=True))] = values[inside]


class _Replay:
    """fill(array, seed=...) replaying recorded writes in order: random ones by fastinit's
    function of the same name and arguments under ``seed`` (a view's under
    derived_seed(seed, "offset:shape:stride")), the others as recorded; inside a
    fastinit.shard block, the box's part of the global tensor."""

    def __init__(self, ops):
        self.ops = ops

    @property
    def __name__(self):  # read by is_structured
        return "+".join(op for _, op, _ in self.ops)

    def __call__(self, arr, seed):
        for view, op, kwargs in self.ops:
            if view is None:
                _write(arr, op, kwargs, seed)
            else:
                _write_view(arr, view, op, kwargs, self.view_seed(seed, view))
        return arr

    @staticmethod
    def view_seed(seed, view):
        """The seed of a write to ``view`` under the tensor's ``seed``."""
        return derived_seed(seed, ":".join(map(str, view)))


def _entries(module, prefix=""):
    """(qualified name, tensor, owner module, local name) of every parameter and buffer,
    each shared tensor once (under its first name)."""
    seen = set()
    stack = [(prefix, module)]
    out = []
    while stack:
        prefix, mod = stack.pop()
        tensors = list(mod._parameters.items()) + list(mod._buffers.items())
        for local, t in tensors:
            if t is None or id(t) in seen:
                continue
            seen.add(id(t))
            out.append((prefix + local, t, mod, local))
        for child_name, child in reversed(list(mod._modules.items())):
            if child is not None:
                stack.append((f"{prefix}{child_name}.", child))
    return out


def _shared_slots(module):
    """Groups of (module, "_parameters" | "_buffers", name) slots holding one tensor."""
    slots: dict[int, list] = {}
    for mod in module.modules():
        for kind in ("_parameters", "_buffers"):
            for name, t in getattr(mod, kind).items():
                if t is not None:
                    slots.setdefault(id(t), []).append((mod, kind, name))
    return [group for group in slots.values() if len(group) > 1]


def _plan(module, recipes, *, strict, prefix="", only=None, initial=None):
    """[(name, fill)]: per parameter and buffer (those named in ``only``, if given) the
    first recipe whose fnmatch pattern matches its qualified name (None: leave it alone),
    else the replay of what the module's own init code writes to it.  ValueError before
    anything is filled, naming the tensors that would be left uninitialised (a meta
    tensor the code does not write as a whole; with ``strict``, a parameter it does not
    write) or whose writes cannot be replayed."""
    recipes = dict(recipes or {})
    rec = _recorded(module, prefix, initial)
    plan, missing, unreplayable = [], [], []
    for name, t, owner, local in _entries(module, prefix):
        if only is not None and name not in only:
            continue
        matched = next((p for p in recipes if fnmatch.fnmatchcase(name, p)), None)
        if matched is not None:
            if recipes[matched] is None:
                if t.is_meta and t.numel():  # "leave it alone" would leave it uninitialised
                    missing.append(name)
                continue
            if not callable(recipes[matched]):
                raise TypeError(f"recipe for {name!r} must be callable(tensor, seed=...) "
                                "or None")
            plan.append((name, recipes[matched]))
            continue
        if t.numel() == 0:
            continue
        ops = rec.ops_of(t)
        bad = [kw["op"] for _, op, kw in ops if op == "unreplayable"]
        if bad:
            unreplayable.append(f"{name} ({', '.join(bad)})")
        elif (t.is_meta and not any(v is None and op not in _NOT_FILLS for v, op, _ in ops)) or (
                not ops and strict and local in owner._parameters):
            missing.append(name)
        elif ops:
            plan.append((name, _Replay(ops)))
    fix = ("pass recipes={'pattern': fn} (fn(array, seed=...) as fastinit.init's "
           "functions, or None to leave it alone)")
    if unreplayable:
        raise ValueError("the model's init code writes " + "; ".join(unreplayable[:10])
                         + " in a way fastinit cannot replay: " + fix)
    if missing:
        raise ValueError(
            "no recipe for " + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            + " (the model's own init code does not set it, and it would be left "
            "uninitialised): " + fix)
    return plan


def _run_plan(module, plan, seed, prefix=""):
    """Fill each planned tensor with seed param_seed(seed, name): CPU tensors whose fill
    is one kernel law (:func:`_fill_batch`) in one call into the compiled core, parallel
    across tensors and inside large ones; the other CPU tensors by up to
    get_num_threads() workers, each filling its share (largest first, balanced by
    element count) one tensor at a time on one thread (no per-tensor parallel region,
    no per-tensor task; the bits do not depend on it); a model below _POOL_MIN elements
    is filled on the calling thread; a tensor off the CPU by fastinit._device (on a CUDA
    device, where it lives).  A DTensor gets its local shard only (fastinit._dtensor)."""
    from ._core import get_num_threads

    tensors = {name: t for name, t, *_ in _entries(module, prefix)}
    jobs = [(name, tensors[name], fill) for name, fill in plan
            if not tensors[name].is_meta and tensors[name].numel()]
    cpu = sorted(_fill_batch([job for job in jobs if not _device.on_device(job[1])], seed),
                 key=lambda job: -job[1].numel())
    _fill_jobs(cpu, seed, get_num_threads())
    for name, t, fill in jobs:
        if _device.on_device(t):
            _device.fill_(t, fill, name=name, seed=param_seed(seed, name))


# recorded laws that are one fill of the whole tensor by fastinit's kernels
_KERNEL_OPS = frozenset({"uniform_", "normal_", "trunc_normal_", "xavier_uniform_",
                         "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"})
_CONSTANT_OPS = frozenset({"constant_", "ones_", "zeros_"})


@functools.cache
def _float_dtypes():
    """{torch float dtype: numpy dtype} of the dtypes the kernels fill."""
    torch = _torch()
    return {torch.float16: np.dtype(np.float16), torch.bfloat16: BFLOAT16,
            torch.float32: np.dtype(np.float32), torch.float64: np.dtype(np.float64)}


def _batchable(ops, t):
    """t's numpy dtype if the recorded writes ``ops`` are one whole-tensor law of
    _KERNEL_OPS or _CONSTANT_OPS into a plain, C-contiguous CPU float tensor t, else None."""
    torch = _torch()
    if len(ops) != 1 or ops[0][0] is not None or type(t) not in (torch.Tensor,
                                                                  torch.nn.Parameter):
        return None
    if (ops[0][1] in _KERNEL_OPS or ops[0][1] in _CONSTANT_OPS) and t.is_cpu and \
            t.is_contiguous() and not t.is_neg():
        return _float_dtypes().get(t.dtype)
    return None


def _kernel_law(op, kwargs, t, dtype, pseed, name):
    """(dist, dtype code, bits, stream, consts, offset) of _core.fill_many for the
    whole-tensor write (op, kwargs) that :func:`_batchable` accepted, replayed into t
    (numpy dtype ``dtype``, named ``name``) under seed ``pseed`` with every check of the
    replay made: a random law with bits None, which stands for the tensor's seed (the
    law is that of every tensor of t's shape and dtype), the constant's bits (of the
    replay into one element); None if the replay wrote t itself (a zero std)."""
    from ._core import CONSTANT

    if op in _CONSTANT_OPS:
        one = np.empty(1, dtype)
        _write(one, op, kwargs, pseed)
        bits = int(one.view(f"u{dtype.itemsize}")[0])
        return CONSTANT, DTYPE_CODES[dtype], bits, 0, (0.0,) * 6, 0
    with g.deferred_fills() as deferred:
        _write(as_out(t.detach(), name), op, kwargs, pseed)
    if not deferred:
        return None
    (dist, code, _, stream, consts, offset, _), = deferred  # the seed drawn is pseed
    return dist, code, None, stream, consts, offset


def _fill_laws(laws, index, names, tensors, seed):
    """One _core.fill_many call: tensor k (a torch tensor that :func:`_batchable`
    accepted, named names[k]) gets law laws[index[k]] (:func:`_kernel_law`) under seed
    param_seed(seed, names[k]); version counters bumped.  False, nothing written, if
    the tensors' buffers overlap."""
    from ._core import fill_many

    if not tensors:
        return True
    index = np.array(index, np.intp)
    dist, code, bits, stream, consts, offset = zip(*laws, strict=True)
    keyed = np.array([b is None for b in bits])[index]
    words = np.array([0 if b is None else b for b in bits], np.uint64)[index]
    words[keyed] = derived_seeds(seed, [n for n, k in zip(names, keyed, strict=True) if k])
    _torch().autograd.graph.increment_version(tensors)
    try:
        fill_many(np.array(dist, np.int32)[index], np.array(code, np.int32)[index], words,
                  np.array(stream, np.uint64)[index], np.array(consts, np.float64)[index],
                  np.array(offset, np.uint64)[index],
                  np.array([t.data_ptr() for t in tensors], np.uint64),
                  np.array([t.numel() for t in tensors], np.int64))
    except ValueError:  # the only one live tensors' rows can raise: an overlap
        return False
    return True


def _fill_batch(jobs, seed):
    """Fill in one _core.fill_many call every (name, tensor, fill) job whose fill is a
    _Replay of one law that :func:`_batchable` accepts; returns the other jobs (all of
    them if the buffers overlap).  The bits are the per-tensor replay's: the first
    tensor of each (law, shape, dtype) gets the law from the replay itself
    (:func:`_kernel_law`), the next ones differ from it only by their seed."""
    rest, laws, found, index, names, tensors = [], [], {}, [], [], []
    for job in jobs:
        name, t, fill = job
        ops = fill.ops if type(fill) is _Replay else ()
        dtype = _batchable(ops, t)
        if dtype is None:
            rest.append(job)
            continue
        _, op, kwargs = ops[0]
        try:
            key = (op, t.shape, dtype, *((k, *_value_key(v)) for k, v in kwargs.items()))
            k = found.get(key)
        except TypeError:  # an unhashable argument
            key, k = None, None
        if k is None:
            law = _kernel_law(op, kwargs, t, dtype, param_seed(seed, name), name)
            if law is None:
                continue
            k = len(laws)
            laws.append(law)
            if key is not None:
                found[key] = k
        index.append(k)
        names.append(name)
        tensors.append(t)
    return rest if _fill_laws(laws, index, names, tensors, seed) else jobs


def _fill_known(module, seed, prefix):
    """:func:`init_module_` without recipes of a module of stock layers
    (:func:`_stock_layers`) whose other tensors are buffers (no init code writes them:
    left alone) and whose every parameter :func:`_batchable` accepts: one fill_many call,
    no plan (each layer key's law found once per call, as in :func:`_fill_batch`);
    False, nothing written, for any other module."""
    found = _stock_layers(module, prefix)
    if found is None or any(local in owner._parameters for *_, owner, local in found[2]):
        return False
    laws, law_of, index, names, tensors = [], {}, [], [], []
    for pre, mod, writes in found[1]:
        params = mod._parameters
        for local, ops in writes:
            t = params[local]
            k = law_of.get(id(ops))  # ops: of one shape, stride and dtype (the layer's key)
            if k is None:
                dtype = _batchable(ops, t)
                law = None if dtype is None else _kernel_law(
                    *ops[0][1:], t, dtype, param_seed(seed, pre + local), pre + local)
                if law is None:
                    return False
                k = law_of[id(ops)] = len(laws)
                laws.append(law)
            elif not t.is_cpu or t.is_neg():
                return False
            index.append(k)
            names.append(pre + local)
            tensors.append(t)
    return _fill_laws(laws, index, names, tensors, seed)


_POOL_MIN = 1 << 20  # elements: below, a thread pool costs more than it saves


def _fill_jobs(jobs, seed, workers):
    """Fill (name, tensor, fill) jobs, sorted largest first, on up to ``workers`` threads:
    each takes the next job onto the least loaded share (by element count)."""
    from concurrent.futures import ThreadPoolExecutor

    total = sum(t.numel() for _, t, _ in jobs)
    workers = max(1, min(workers, len(jobs))) if total >= _POOL_MIN else 1
    shares = [[] for _ in range(workers)]
    loads = [(0, k) for k in range(workers)]
    for job in jobs:
        load, k = heapq.heappop(loads)
        shares[k].append(job)
        heapq.heappush(loads, (load + job[1].numel(), k))

    def run(share):
        with g.fill_threads(1):
            for name, t, fill in share:
                _dtensor.fill_(t, fill, name=name, seed=param_seed(seed, name))

    if workers == 1:
        run(shares[0])
        return
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, shares))


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
    the last law wins), so a law set only in ``__init__`` is kept too.  Returns the
    module.

    Examples
    --------
    >>> import torch
    >>> from fastinit import torch as ft
    >>> model = ft.build(torch.nn.Linear, 8, 4, seed=0)
    >>> bool(torch.equal(model.weight, ft.init_module_(torch.nn.Linear(8, 4), seed=0).weight))
    True
    """
    torch = _torch()
    made = {}  # id(tensor) -> (tensor, [(None, op, kwargs)])

    def record(op, original):
        def fill(*a, **k):
            arguments = _bind(original, a, k)
            t = arguments["tensor"]
            if not isinstance(t, torch.nn.Parameter) or t._base is not None or t.is_meta \
                    or not t.is_floating_point() or not t.is_cpu:
                return original(*a, **k)  # scratch tensors and buffers are filled now
            made[id(t)] = (t, [(None, op, {key: v for key, v in arguments.items()
                                           if key not in ("tensor", "generator")})])
            return t

        return functools.wraps(original)(fill) if op in _RANDOM else original

    with _RECORD_LOCK, _init_functions_replaced(record):
        module = factory(*args, **kwargs)
    _run_plan(module, _plan(module, recipes, strict=True, initial=made), seed)
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
    with g.shard(global_shape, offsets):
        fill(as_out(target, "local", float_only=False), *args, seed=seed, **kwargs)
    return local
