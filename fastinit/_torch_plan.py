"""The plan and replay of recorded writes (fastinit.torch): per tensor a recipe or the
_Replay of what the module's init code writes (_plan), filled under the tensor's seed
(_run_plan): one-law CPU tensors batched into one compiled call (_fill_batch,
_fill_known), the others by a few worker threads (_fill_jobs), tensors on a CUDA device
by fastinit._device, DTensors by their local shard (fastinit._dtensor)."""

from __future__ import annotations

import fnmatch
import functools
import heapq
import math

import numpy as np

from . import _device, _dtensor, _fill, _shard
from . import init as _init
from ._laws import DTYPE_CODES
from ._torch_own_init import _entries, _recorded, _stock_layers
from ._torch_record import _NOT_FILLS, _RANDOM, _torch
from ._validate import BFLOAT16, derived_seed, derived_seeds
from ._variance import as_out


def _write(arr, op, kwargs, seed):
    """One recorded whole-array write (the box of an enclosing shard block, if any)."""
    from .torch import to_torch  # the public face, which imports this module
    if op == "copy":
        src, box = kwargs["src"], _shard.current_box()
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
    with _shard.unsharded():
        _write(values, op, kwargs, seed)
    index, values = index.reshape(-1), values.reshape(-1)
    box = _shard.current_box()
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
    """Fill each planned tensor with seed derived_seed(seed, name) (param_seed): CPU
    tensors whose fill is one kernel law (:func:`_fill_batch`) in one call into the
    compiled core, parallel across tensors and inside large ones; the other CPU tensors by up to
    get_num_threads() workers, each filling its share (largest first, balanced by
    element count) one tensor at a time on one thread (no per-tensor parallel region,
    no per-tensor task; the bits do not depend on it); a model below _POOL_MIN elements
    is filled on the calling thread; a tensor off the CPU by fastinit._device (on a CUDA
    device, where it lives).  A DTensor gets its local shard only (fastinit._dtensor)."""
    from ._core import get_num_threads

    tensors = {name: t for name, t, *_ in _entries(module, prefix)}
    host, device = [], []
    for name, fill in plan:
        t = tensors[name]
        if not t.is_meta and t.numel():
            (device if _device.on_device(t) else host).append((name, t, fill))
    cpu = sorted(_fill_batch(host, seed), key=lambda job: -job[1].numel())
    _fill_jobs(cpu, seed, get_num_threads())
    for name, t, fill in device:
        _device.fill_(t, fill, name=name, seed=derived_seed(seed, name))


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


_FLOATS = (float, np.floating)


def _value_key(v):
    """(type, value, sign of a float) of v: remembered laws tell 0.0 from -0.0, which
    are equal but differ in their bits."""
    return type(v), v, math.copysign(1.0, v) if isinstance(v, _FLOATS) else 0


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
    with _fill.deferred_fills() as deferred:
        _write(as_out(t.detach(), name), op, kwargs, pseed)
    if not deferred:
        return None
    (dist, code, _, stream, consts, offset, _), = deferred  # the seed drawn is pseed
    return dist, code, None, stream, consts, offset


def _fill_laws(laws, index, names, tensors, seed):
    """One _core.fill_many call: tensor k (a torch tensor that :func:`_batchable`
    accepted, named names[k]) gets law laws[index[k]] (:func:`_kernel_law`) under seed
    derived_seed(seed, names[k]); version counters bumped.  False, nothing written, if
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
    (:func:`_kernel_law`), the next ones differ from it only by their seed; a recorded
    law object shared by tensors of one shape and dtype (stock layers' remembered
    writes, a reset recorded once) is looked up by its identity, its values read once."""
    rest, laws, found, index, names, tensors = [], [], {}, [], [], []
    same = {}  # (op, id(kwargs), shape, dtype) -> index in laws; kwargs live in jobs
    for job in jobs:
        name, t, fill = job
        ops = fill.ops if type(fill) is _Replay else ()
        dtype = _batchable(ops, t)
        if dtype is None:
            rest.append(job)
            continue
        _, op, kwargs = ops[0]
        k = same.get((op, id(kwargs), t.shape, dtype))
        if k is None:
            try:
                key = (op, t.shape, dtype, *((k, *_value_key(v)) for k, v in kwargs.items()))
                k = found.get(key)
            except TypeError:  # an unhashable argument
                key, k = None, None
        if k is None:
            law = _kernel_law(op, kwargs, t, dtype, derived_seed(seed, name), name)
            if law is None:
                continue
            k = len(laws)
            laws.append(law)
            if key is not None:
                found[key] = k
        same[op, id(kwargs), t.shape, dtype] = k
        index.append(k)
        names.append(name)
        tensors.append(t)
    return rest if _fill_laws(laws, index, names, tensors, seed) else jobs


def _fill_known(module, seed, prefix, initial=None):
    """:func:`init_module_` (or build's replay of the writes ``initial``, by tensor id)
    without recipes of a module of stock layers (:func:`_stock_layers`) whose other
    tensors are buffers that ``initial`` does not write (no init code writes them: left
    alone) and whose every parameter :func:`_batchable` accepts: one fill_many call, no
    plan (each layer key's law found once per call, as in :func:`_fill_batch`); False,
    nothing written, for any other module."""
    found = _stock_layers(module, prefix)
    if found is None or any(local in owner._parameters or id(t) in (initial or ())
                            for _, t, owner, local in found[2]):
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
                    *ops[0][1:], t, dtype, derived_seed(seed, pre + local), pre + local)
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
        with _fill.fill_threads(1):
            for name, t, fill in share:
                _dtensor.fill_(t, fill, name=name, seed=derived_seed(seed, name))

    if workers == 1:
        run(shares[0])
        return
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, shares))
