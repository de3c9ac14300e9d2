"""PyTorch adapter: torch.nn.init's functions on torch tensors, whole-module initialization
keyed by parameter name, meta-device materialization and shard fills.

Every function here fills torch CPU tensors in place through a shared (DLPack) view, under
no_grad semantics (parameters may require grad), in logical index order whatever the
memory layout (channels_last and transposed views get the values of the contiguous
tensor).  Meta tensors are a no-op, as in torch.

Values of ``init_module_`` depend only on (seed, qualified parameter name, recipe): not on
construction order, on which parameters are initialized, on the thread count or on
sharding.  Parameter ``name`` takes seed ``blake2b(f"{seed}/{name}")`` (first 8 bytes,
little endian) and stream 0.
"""

from __future__ import annotations

import fnmatch
import functools
import math

import numpy as np

from . import _dtensor
from . import _generate as g
from . import init as _init
from ._validate import BFLOAT16, derived_seed
from ._variance import as_out

__all__ = [
    "calculate_gain", "constant_", "dirac_", "eye_", "fill_shard_", "init_module_",
    "kaiming_normal_", "kaiming_uniform_", "materialize_", "normal_", "ones_", "orthogonal_",
    "param_seed", "sparse_", "to_torch", "trunc_normal_", "uniform_", "variance_scaling_",
    "xavier_normal_", "xavier_uniform_", "zeros_",
]

calculate_gain = _init.calculate_gain


def _torch():
    import torch

    return torch


def _wrap(fill):
    """fill on tensor.detach() (no_grad semantics), a no-op on meta tensors; returns
    tensor.  numpy arrays pass straight through."""

    @functools.wraps(fill)
    def wrapped(tensor, *args, **kwargs):
        torch = _torch()
        if isinstance(tensor, np.ndarray):  # as handed to recipes by init_module_
            return fill(tensor, *args, **kwargs)
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
        if tensor.is_meta:
            return tensor
        if tensor.device.type != "cpu":
            raise ValueError(
                f"tensor is on {tensor.device}; the CPU path fills CPU tensors (use "
                "materialize_(module, device=...) to place an initialized model on a device)"
            )
        fill(tensor.detach(), *args, **kwargs)
        return tensor

    return wrapped


uniform_ = _wrap(_init.uniform_)
normal_ = _wrap(_init.normal_)
trunc_normal_ = _wrap(_init.trunc_normal_)
constant_ = _wrap(_init.constant_)
ones_ = _wrap(_init.ones_)
zeros_ = _wrap(_init.zeros_)
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
    numpy has no bfloat16 for torch)."""
    torch = _torch()
    x = np.asarray(x)
    if x.dtype == BFLOAT16:
        return torch.from_numpy(x.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(x)


def param_seed(seed: int, name: str) -> int:
    """The seed of parameter ``name`` under model seed ``seed`` (derived_seed)."""
    return derived_seed(seed, name)


# ---- default recipes: each torch layer's own reset_parameters distribution ----

def _fan_in(weight_shape):
    return _init.compute_fans(weight_shape)[0]


def _bound_uniform(bound):
    return lambda t, seed: _init.uniform_(t, -bound, bound, seed=seed)


def _linear_like(module, name):
    """nn.Linear and nn.ConvNd/ConvTransposeNd: weight kaiming_uniform_(a=sqrt 5), i.e.
    U(+-1/sqrt(fan_in)); bias U(+-1/sqrt(fan_in)) with torch's fan_in of the weight."""
    fan_in = _fan_in(tuple(module.weight.shape))
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    if name == "weight":
        return lambda t, seed: _init.kaiming_uniform_(t, a=math.sqrt(5), seed=seed)
    if name == "bias":
        return _bound_uniform(bound)
    return None


def _bilinear(module, name):
    bound = 1 / math.sqrt(module.weight.shape[1])
    return _bound_uniform(bound) if name in ("weight", "bias") else None


def _embedding(module, name):
    if name != "weight":
        return None
    pad = module.padding_idx
    return lambda t, seed: _init.embedding_default_(t, pad, seed=seed)


def _norm(module, name):
    """LayerNorm, RMSNorm, GroupNorm, BatchNorm, InstanceNorm: weight 1, bias 0;
    running_mean 0, running_var 1, num_batches_tracked 0."""
    if name in ("weight", "running_var"):
        return lambda t, seed: _init.ones_(t)
    if name in ("bias", "running_mean", "num_batches_tracked"):
        return lambda t, seed: _init.zeros_(t)
    return None


def _mha(module, name):
    """MultiheadAttention._reset_parameters: in-projections xavier_uniform_, their bias 0,
    bias_k/bias_v xavier_normal_ (out_proj is an nn.Linear, with its own recipe except
    its bias, which MHA zeroes)."""
    if name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
        return lambda t, seed: _init.xavier_uniform_(t, seed=seed)
    if name == "in_proj_bias":
        return lambda t, seed: _init.zeros_(t)
    if name in ("bias_k", "bias_v"):
        return lambda t, seed: _init.xavier_normal_(t, seed=seed)
    return None


def _rnn(module, name):
    """RNN/LSTM/GRU (and cells): every parameter U(+-1/sqrt(hidden_size))."""
    stdv = 1 / math.sqrt(module.hidden_size) if module.hidden_size > 0 else 0.0
    return _bound_uniform(stdv)


def _prelu(module, name):
    value = float(getattr(module, "init", 0.25))
    return (lambda t, seed: _init.constant_(t, value)) if name == "weight" else None


@functools.cache
def _default_rules():
    nn = _torch().nn
    rules = [
        ((nn.Linear, nn.modules.conv._ConvNd), _linear_like),
        ((nn.Bilinear,), _bilinear),
        ((nn.Embedding, nn.EmbeddingBag), _embedding),
        ((nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase,
          getattr(nn, "RMSNorm", nn.LayerNorm)), _norm),
        ((nn.MultiheadAttention,), _mha),
        ((nn.RNNBase, nn.RNNCellBase), _rnn),
        ((nn.PReLU,), _prelu),
    ]
    return rules


def _default_recipe(owner, local_name, ancestors):
    """The torch default for parameter/buffer local_name of module owner, or None."""
    nn = _torch().nn
    recipe = None
    for types, rule in _default_rules():
        if isinstance(owner, types):
            recipe = rule(owner, local_name)
            break
    if isinstance(owner, nn.modules.activation.NonDynamicallyQuantizableLinear) and \
            local_name == "bias" and ancestors and isinstance(ancestors[-1],
                                                              nn.MultiheadAttention):
        recipe = lambda t, seed: _init.zeros_(t)  # noqa: E731  MHA zeroes out_proj.bias
    return recipe


def _entries(module, prefix=""):
    """(qualified name, tensor, owner module, local name, ancestors) of every parameter and
    buffer, each shared tensor once."""
    seen = set()
    stack = [(prefix, module, [])]
    out = []
    while stack:
        prefix, mod, ancestors = stack.pop()
        tensors = list(mod._parameters.items()) + list(mod._buffers.items())
        for local, t in tensors:
            if t is None or id(t) in seen:
                continue
            seen.add(id(t))
            out.append((prefix + local, t, mod, local, ancestors))
        for child_name, child in reversed(list(mod._modules.items())):
            if child is not None:
                stack.append((f"{prefix}{child_name}.", child, ancestors + [mod]))
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


def _plan(module, recipes, *, strict, buffers_strict, prefix=""):
    """The recipe of each parameter and buffer: the first user pattern that matches its
    qualified name (fnmatch; a value of None leaves it alone), else the torch default
    of its layer, with nn.Transformer's xavier_uniform_ on every >1-D parameter."""
    nn = _torch().nn
    recipes = dict(recipes or {})
    plan, missing = [], []
    for name, t, owner, local, ancestors in _entries(module, prefix):
        is_buffer = local in owner._buffers
        chosen, matched = None, False
        for pattern, recipe in recipes.items():
            if fnmatch.fnmatchcase(name, pattern):
                chosen, matched = recipe, True
                break
        if not matched:
            chosen = _default_recipe(owner, local, ancestors)
            if not is_buffer and t.dim() > 1 and any(
                    isinstance(a, nn.Transformer) for a in ancestors + [owner]):
                chosen = lambda t_, seed: _init.xavier_uniform_(t_, seed=seed)  # noqa: E731
        if chosen is None:
            if not matched and (buffers_strict if is_buffer else strict):
                missing.append(name)
            continue
        if not callable(chosen):
            raise TypeError(f"recipe for {name!r} must be callable(tensor, seed=...) or None")
        plan.append((name, t, chosen))
    if missing:
        raise ValueError(
            "no recipe for " + ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
            + ": pass recipes={'pattern': fn} (fn(array, seed=...) as fastinit.init's "
            "functions, or None to leave it alone)"
        )
    return plan


def _run_plan(plan, seed):
    for name, t, recipe in plan:
        _dtensor.fill_(t, recipe, name=name, seed=param_seed(seed, name))


def init_module_(module, *, seed, recipes=None, strict=True, prefix=""):
    """Initialize every parameter (and the buffers of known layers) of ``module`` in place.

    Defaults reproduce each layer's own reset_parameters distribution: Linear/Conv*/
    ConvTranspose* (kaiming_uniform_(a=sqrt 5), bias U(+-1/sqrt fan_in)), Bilinear,
    Embedding (N(0, 1), padding row 0), LayerNorm/RMSNorm/GroupNorm/BatchNorm/InstanceNorm
    (1, 0, running stats), MultiheadAttention, RNN/LSTM/GRU (U(+-1/sqrt hidden)), PReLU,
    nn.Transformer (xavier_uniform_ on >1-D parameters).  ``recipes`` maps fnmatch patterns
    of qualified names (``"*.c_proj.weight"``) to ``fn(array, seed=...)`` (any of
    fastinit.init's in-place functions, or a functools.partial of one) or None (skip);
    the first matching pattern wins.  A parameter with no recipe raises ValueError
    (``strict=False`` leaves it as it is); buffers without a recipe keep their values.
    ``prefix`` names a submodule's tensors as in its parent (``init_module_(model.fc,
    seed=s, prefix="fc.")`` gives what initializing ``model`` gives ``model.fc``).
    Returns module."""
    plan = _plan(module, recipes, strict=strict, buffers_strict=False, prefix=prefix)
    _run_plan(plan, seed)
    return module


def materialize_(module, device="cpu", *, seed, recipes=None):
    """Give a module built on the meta device real storage on ``device`` and initialize
    it, without running torch's own init: ``module.to_empty(device=...)``, then the fills
    of :func:`init_module_` (the same values for the same seed).  Every parameter and
    buffer needs a recipe (defaults or ``recipes``), checked before anything is
    allocated: buffers computed in ``__init__`` (masks, rotary tables) are lost on meta.
    Tied parameters (one tensor in several modules, e.g. GPT-2's lm_head and wte) stay
    tied.  Devices other than the CPU are filled on the CPU, one tensor at a time, then
    copied.  DTensor parameters (FSDP2's ``fully_shard``, ``distribute_module``,
    tensor-parallel plans) get on each rank only their local shard, with the values of
    the unsharded model at its global indices, whatever the mesh (fastinit._dtensor)."""
    torch = _torch()
    device = torch.device(device)
    _plan(module, recipes, strict=True, buffers_strict=True)  # every recipe known first
    tied = _shared_slots(module)
    module.to_empty(device=device)
    for slots in tied:  # to_empty gives each module its own copy of a shared tensor
        (first_mod, first_kind, first_name), *rest = slots
        shared = getattr(first_mod, first_kind)[first_name]
        for mod, kind, name in rest:
            getattr(mod, kind)[name] = shared
    plan = _plan(module, recipes, strict=True, buffers_strict=True)
    if device.type == "cpu":
        _run_plan(plan, seed)
        return module
    for name, t, recipe in plan:
        local = _dtensor.local_boxes(t)[0]
        host = torch.empty(local.shape, dtype=t.dtype)
        _dtensor.fill_(t, recipe, into=host, name=name, seed=param_seed(seed, name))
        with torch.no_grad():
            local.copy_(host)
    return module


def fill_shard_(local, global_shape, offsets, fill, *args, seed, **kwargs):
    """Fill ``local`` (a torch tensor or numpy array) as the box at ``offsets`` of a
    global tensor of ``global_shape`` initialized by ``fill`` (any fastinit.init in-place
    function): bit-identical to the same slice of the unsharded tensor, fans from the
    global shape.  E.g. a DTensor's ``to_local()`` with the offsets of its placement."""
    torch = _torch()
    target = local.detach() if isinstance(local, torch.Tensor) else local
    if isinstance(local, torch.Tensor) and local.is_meta:
        return local
    with g.shard(global_shape, offsets):
        fill(as_out(target, "local", float_only=False), *args, seed=seed, **kwargs)
    return local
