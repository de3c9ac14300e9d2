"""Running a module's own init code with its writes recorded (fastinit.torch): each
submodule's reset, children first, then the outermost init_weights(), on the unsharded and
untied model (_record_own_init); for a module of stock torch layers, the writes known
without running any code (_stock_layers, _recorded)."""

from __future__ import annotations

import functools
import inspect

from . import _dtensor
from ._torch_record import (
    _DETERMINISTIC,
    _NOT_FILLS,
    _RANDOM,
    _RECORD_LOCK,
    _Recorder,
    _recording,
    _torch,
)


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
    shapes, strides and dtypes of its own parameters (Linear, LayerNorm, Conv*d) and an
    Embedding's padding_idx (not a subclass, nor a reset_parameters from outside
    torch.nn), each recorded under its own name: a key of those and of the class's
    reset_parameters; else None."""
    kind = type(mod)
    reset = getattr(kind, "reset_parameters", None)
    if not _stock_class(kind, reset) or "reset_parameters" in mod.__dict__ or mod._buffers:
        return None
    key, names = [kind, reset, mod.__dict__.get("padding_idx")], rec.names
    for local, t in mod._parameters.items():
        if t is None:
            key.append((local, None))
        elif id(t) in names:
            key.append((local, t.shape, t.stride(), t.dtype))
        else:
            return None
    return tuple(key)


@functools.lru_cache(maxsize=64)
def _stock_class(kind, reset):
    """Whether kind is a stock layer class (:func:`_stock_key`) with its reset ``reset``."""
    nn = _torch().nn
    return kind in (nn.Linear, nn.LayerNorm, nn.Conv1d, nn.Conv2d, nn.Conv3d,
                    nn.Embedding) and \
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
    instance), no tie_weights, every tensor a plain torch tensor.  Then (known, layers,
    others): a _Known holding every tensor's name, [(prefix, layer, writes)] with the
    writes that recording one layer of its key gave, [(name, tensor, owner, local)] of
    the other tensors (no init code writes them).  A tensor held in several slots is
    named, and written, by its first slot in ``module.modules()`` order, as
    _record_own_init ties it.  The writes, [(local name, ops)] each starting with a
    whole-tensor fill, are kept across calls under the key (which holds its class's
    reset_parameters) and torch.nn.init's functions (its fills and fan computation)."""
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
        # an init method set on the instance (or a child so named)
        if not mod.__dict__.keys().isdisjoint(_INIT_METHODS) or \
                not _INIT_METHODS.isdisjoint(mod._modules):
            return None
        stock = _has_init_code(type(mod))
        tied = ()  # this module's slots of a tensor named in an earlier slot
        for slots in (mod._parameters, mod._buffers):
            for local, t in slots.items():
                if t is None:
                    continue
                if type(t) not in plain:
                    return None
                if id(t) in names:
                    tied += (local,)
                    continue
                names[id(t)] = pre + local
                if not stock:
                    others.append((pre + local, t, mod, local))
        if stock:
            key = _stock_key(known, mod)
            if key is None:
                return None
            writes = cache.get(key)
            if writes is None:
                writes = _stock_writes(mod, key, cache)
            if writes is False:
                return None
            if tied:
                writes = tuple(w for w in writes if w[0] not in tied)
            layers.append((pre, mod, writes))
        for child_name, child in reversed(mod._modules.items()):
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
