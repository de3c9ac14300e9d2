"""Whole-model fills of torch tensors on a CUDA device (``materialize_(module,
device="cuda")``, ``init_module_`` of a model already there): each tensor, or a DTensor's
local shard, is written where it lives by the CUDA kernels (fastinit/backends/cuda.py,
the CPU's bits), with no host copy of it.

Per tensor, the laws it gets (recorded from the model's init code, or a recipe that is a
fastinit.init or fastinit.torch function or a keyword partial of one) decide the route:

- uniform_, normal_, trunc_normal_, xavier_*, kaiming_*: the kernels, on the device
  memory itself (inside fastinit.shard for a DTensor's boxes);
- constant_, ones_, zeros_: one element's bits made on the host, broadcast on the device;
- a write to a view (an embedding's padding row): the view's values made on the host
  (the size of the view), scattered on the device;
- anything else (orthogonal_, eye_, dirac_, sparse_, recorded copies and elementwise
  ops, other recipes), and every law on a device other than CUDA: the tensor's local
  shard is copied to the host, filled there as on the CPU and copied back, one tensor at
  a time (the CPU's bits; orthogonal_'s device route would give the same law with other
  bits).

:func:`place`, :func:`on_device` and :func:`target` are where the device is met: a test
on a machine without one points them at host memory posing as device memory.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from . import _dtensor, _shard
from . import init as _init

# laws the CUDA kernels write with the CPU's bits
KERNEL_LAWS = frozenset({"uniform_", "normal_", "trunc_normal_", "xavier_uniform_",
                         "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"})
CONSTANTS = frozenset({"constant_", "ones_", "zeros_"})


def place(t, device):
    """``t`` on ``device``: a meta tensor gets new uninitialised storage there (as
    ``to_empty``), any other is moved.  On a CUDA device, CuPy is looked for first (an
    ImportError saying what to install, before anything is allocated)."""
    import torch

    if torch.device(device).type == "cuda":
        from .backends import cuda

        cuda.cupy()
    return torch.empty_like(t, device=device) if t.is_meta else t.to(device)


def on_device(t) -> bool:
    """Whether ``t`` (a tensor or DTensor, not meta) lives off the host."""
    return t.device.type != "cpu"


def target(local):
    """The device memory the kernels write for the local tensor ``local``: the tensor
    itself, handed to CuPy through DLPack (backends.cuda.wrap_out)."""
    return local.detach()


def fill_(t, fill, *, name, seed):
    """``fill(array, seed=seed)`` (a recorded replay or a recipe) on ``t``, a tensor on a
    device or a DTensor whose local shard is, by the route of its law (module
    docstring)."""
    from .backends import cuda

    local, global_shape, boxes = _dtensor.local_boxes(t)
    dev = target(local)
    ops = _device_ops(fill) if cuda.is_cuda_array(dev) else None  # other devices: host
    if ops is None:
        _on_host(t, fill, local, name, seed)
        return
    from ._torch_plan import _Replay, _write, _write_view

    for index, offsets in boxes:
        box = dev[index] if index else dev
        if 0 in tuple(box.shape):
            continue
        inside = _shard.shard(global_shape, offsets) if _dtensor.is_dtensor(t) else \
            contextlib.nullcontext()
        with inside:
            for view, op, kwargs in ops:
                if view is not None:
                    _write_view(_DeviceArray(box), view, op, kwargs,
                                _Replay.view_seed(seed, view))
                elif op in CONSTANTS:
                    _broadcast(box, op, kwargs)
                else:
                    _write(box, op, kwargs, seed)


def _device_ops(fill):
    """The (view, op, kwargs) writes of ``fill`` if all of them can be made on the device
    (module docstring), else None."""
    from ._torch_plan import _Replay

    if isinstance(fill, _Replay):
        ops = fill.ops
    else:
        func, kwargs = fill, {}
        if isinstance(func, functools.partial) and not func.args:
            func, kwargs = func.func, dict(func.keywords)
        func = getattr(func, "__wrapped__", func)  # fastinit.torch's wrappers
        op = getattr(func, "__name__", None)
        if op not in KERNEL_LAWS | CONSTANTS or getattr(_init, op) is not func:
            return None
        ops = [(None, op, kwargs)]
    if all(view is not None or op in KERNEL_LAWS | CONSTANTS for view, op, _ in ops):
        return ops
    return None


def _broadcast(box, op, kwargs):
    """box <- the constant of ``op`` (its bits from a one-element host fill)."""
    from .backends import cuda

    out = cuda.wrap_out(box)
    one = np.empty(1, out.dtype)
    getattr(_init, op)(one, **kwargs)
    out.array[...] = one.view(out.array.dtype)[0]


class _DeviceArray:
    """Device memory as torch's ``_write_view`` handles an array (dtype, shape,
    ``reshape(-1)`` of a contiguous tensor, item assignment of host values by index
    arrays): the values go to the device and are scattered there."""

    def __init__(self, box, array=None):
        from .backends import cuda

        out = cuda.wrap_out(box) if array is None else box
        self.out, self.array = out, out.array if array is None else array
        self.dtype, self.shape = out.dtype, tuple(self.array.shape)

    def reshape(self, shape):
        if not self.array.flags.c_contiguous:
            raise ValueError("a recorded view write needs a contiguous tensor")
        return _DeviceArray(self.out, self.array.reshape(shape))

    def __setitem__(self, index, values):
        from .backends import cuda

        cp = cuda.cupy()
        index = tuple(map(cp.asarray, index)) if isinstance(index, tuple) else cp.asarray(index)
        self.array[index] = cp.asarray(np.ascontiguousarray(values).view(self.array.dtype))


def _on_host(t, fill, local, name, seed):
    """The host route: t's local shard copied to the host (the values a partial write
    keeps), filled as on the CPU (box by box for a DTensor), copied back."""
    import torch

    host = local.detach().to("cpu")
    _dtensor.fill_(t, fill, into=host, name=name, seed=seed)
    with torch.no_grad():
        local.copy_(host)
