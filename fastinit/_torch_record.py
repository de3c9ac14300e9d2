"""The recording of init code's writes (fastinit.torch): a _Recorder holds, per qualified
tensor name, the writes made to a module's tensors; inside _recording, torch.nn.init's
functions (wherever torch and transformers bind them) and the Tensor methods that write
(through a TorchFunctionMode) record their writes to those tensors instead of making
them; other tensors are untouched."""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import threading
import weakref

from ._registry import ENTRIES


def _torch():
    import torch

    return torch


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
        tensor, law = _tensor_and_law(original, args, kwargs)
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


_BINDS: set = set()  # (fn, number of positional arguments, keyword names) that bind


def _check_bind(fn, args, kwargs):
    """The TypeError of the call fn(*args, **kwargs) if its arguments do not bind
    (:func:`_bind`); for a plain signature, whose answer depends only on the number of
    positional arguments and the keyword names, a call of a known good shape passes
    without binding."""
    shape = (fn, len(args), tuple(kwargs))
    if shape in _BINDS:
        return
    _bind(fn, args, kwargs)
    if _parameter_lists(fn)[0] and len(_BINDS) < 4096:
        _BINDS.add(shape)


def _tensor_and_law(fn, args, kwargs):
    """(tensor, law) of the call fn(*args, **kwargs) to a torch.nn.init function: the
    arguments as :func:`_bind` gives them, the tensor apart, without the generator."""
    plain, positional, names, defaults = _parameter_lists(fn)
    n = len(args)
    if plain and 0 < n <= len(positional) and positional[0] == "tensor" and \
            kwargs.keys() <= names and kwargs.keys().isdisjoint(positional[:n]):
        law = {**defaults, **dict(zip(positional[1:n], args[1:], strict=True)), **kwargs}
        if len(law) + 1 == len(names):  # every parameter has a value
            law.pop("generator", None)
            return args[0], law
    law = _bind(fn, args, kwargs)
    tensor = law.pop("tensor", None)
    law.pop("generator", None)
    return tensor, law


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
