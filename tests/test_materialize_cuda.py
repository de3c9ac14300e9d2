"""materialize_(module, device="cuda") fills every tensor where it lives with the CUDA
kernels and the CPU's bits (fastinit/_device.py).

Without a GPU the device is emulated: torch allocates host memory in place of device
memory (fastinit._device.place), every such tensor counts as on the device
(_device.on_device), and the kernels' target is that memory posing as CUDA memory
(_device.target -> test_cuda.FakeDeviceArray), written by the unmodified
kernels/fill_cuda.cu run over its launch grid on the host (test_cuda's fake CuPy and g++
shim).  Exercised: the routing of every tensor and law, the replay of the model's own
init code and of recipes on device memory, constants and view writes on the device, the
host route of structured laws, the kernels' bits, and that no CPU fill runs for a tensor
on the device route; with 2 gloo ranks, DTensor shards (FSDP2, Shard(1)) filled on the
emulated device box by box.  Not exercised here: torch's CUDA allocator, DLPack export of torch
CUDA tensors to a real CuPy, real launches and streams (test_gpu_materialize_equals_cpu,
marked gpu, on a machine with a device)."""

import functools
import os
import sys
import time

import ml_dtypes
import numpy as np
import pytest
from test_cuda import (  # noqa: F401  (fixtures)
    FakeDeviceArray,
    _fake_cupy,
    fake_cupy,
    load_rounder,
    load_shim,
    rounder,
    shim,
    shim_path,
)

import fastinit
from fastinit import _core, _device

torch = pytest.importorskip("torch")
nn = torch.nn
ft = pytest.importorskip("fastinit.torch")
BF16 = np.dtype(ml_dtypes.bfloat16)


def _host_bytes(t):
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().reshape(-1).view(np.uint8)
    return t.numpy().reshape(-1).view(np.uint8)


def _emulated_target(local):
    """Host memory of ``local`` posing as CUDA memory (DLPack device 2)."""
    t = local.detach()
    arr = t.view(torch.int16).numpy().view(BF16) if t.dtype == torch.bfloat16 else t.numpy()
    return arr.view(FakeDeviceArray)


@pytest.fixture
def emulated_device(fake_cupy, monkeypatch):  # noqa: F811
    """Tensors placed on "cuda" are host tensors filled with 0xA5 bytes (so a byte left
    unwritten shows); returns (fake cupy, CPU fill calls, tensors sent the host route)."""
    fake, dev = fake_cupy
    placed = set()
    real_place = _device.place

    def place(t, device):
        if str(device) == "cpu":
            return real_place(t, device)
        assert str(device) == "cuda"
        h = torch.empty_like(t, device="cpu") if t.is_meta else t.clone()
        _host_bytes(h)[...] = 0xA5
        placed.add(h.untyped_storage().data_ptr())
        return h

    def target(local):
        assert local.untyped_storage().data_ptr() in placed
        return _emulated_target(local)

    cpu_fills, host_route = [], []
    real_fill, real_on_host = _core.fill, _device._on_host
    monkeypatch.setattr(_device, "place", place)
    monkeypatch.setattr(_device, "on_device",
                        lambda t: t.untyped_storage().data_ptr() in placed)
    monkeypatch.setattr(_device, "target", target)
    monkeypatch.setattr(_core, "fill", lambda *a: (cpu_fills.append(a[4].size),
                                                   real_fill(*a))[1])
    monkeypatch.setattr(_device, "_on_host", lambda t, fill, local, name, seed: (
        host_route.append(name), real_on_host(t, fill, local, name, seed))[1])
    return fake, cpu_fills, host_route


def _reference(make, seed, recipes=None):
    with torch.device("meta"):
        model = make()
    return ft.materialize_(model, seed=seed, recipes=recipes)


def _on_device(make, seed, recipes=None):
    with torch.device("meta"):
        model = make()
    return ft.materialize_(model, "cuda", seed=seed, recipes=recipes)


def _assert_same_bytes(got, want):
    got, want = got.state_dict(), want.state_dict()
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].dtype == want[name].dtype, name
        np.testing.assert_array_equal(_host_bytes(got[name]), _host_bytes(want[name]),
                                      err_msg=name)


class Decoderish(nn.Module):
    """Every dtype the kernels write, the layers' own laws, buffers (int64 too), a
    padding row (a view write) and a torchtitan-style init_weights."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16, padding_idx=3)
        self.fc = nn.Linear(16, 40)
        self.norm = nn.LayerNorm(40)
        self.f16 = nn.Linear(40, 24, dtype=torch.float16)
        self.bf = nn.Linear(24, 8, dtype=torch.bfloat16)
        self.bn = nn.BatchNorm1d(8)
        self.head = nn.Linear(8, 50, bias=False, dtype=torch.float64)

    def init_weights(self):
        nn.init.trunc_normal_(self.fc.weight, std=0.02, a=-0.04, b=0.04)
        self.fc.bias.zero_()
        nn.init.xavier_normal_(self.head.weight)
        nn.init.kaiming_normal_(self.f16.weight, nonlinearity="relu")
        nn.init.constant_(self.bf.bias, 0.1)


def test_materialize_on_device_equals_cpu_with_no_cpu_fill(emulated_device):
    fake, cpu_fills, host_route = emulated_device
    want = _reference(Decoderish, 5)
    cpu_fills.clear()
    got = _on_device(Decoderish, 5)
    _assert_same_bytes(got, want)
    assert fake.launches and cpu_fills == [] and host_route == []
    assert got.emb.weight[3].abs().sum() == 0 and got.bn.num_batches_tracked.item() == 0


class Structured(nn.Module):
    """Laws the device route cannot make with the CPU's bits (orthogonal, eye, dirac, an
    elementwise op after a fill) beside ones it can, and a random write to a view."""

    def __init__(self):
        super().__init__()
        self.ortho = nn.Linear(12, 20)
        self.eye = nn.Linear(9, 9)
        self.conv = nn.Conv1d(4, 4, 3)
        self.vec = nn.Parameter(torch.empty(30))

    def init_weights(self):
        nn.init.orthogonal_(self.ortho.weight, gain=1.5)
        nn.init.eye_(self.eye.weight)
        nn.init.dirac_(self.conv.weight)
        self.eye.bias.uniform_(-0.1, 0.1).mul_(2.0)
        nn.init.zeros_(self.vec)
        nn.init.normal_(self.vec[5:9], std=3.0)


def test_structured_laws_take_the_host_route_one_tensor_each(emulated_device):
    fake, cpu_fills, host_route = emulated_device
    want = _reference(Structured, 9)
    cpu_fills.clear()
    got = _on_device(Structured, 9)
    _assert_same_bytes(got, want)
    assert sorted(host_route) == ["conv.weight", "eye.bias", "eye.weight", "ortho.weight"]
    # CPU fills: orthogonal's Gaussians, eye.bias's uniform, and the 4 values of vec[5:9]
    # (made on the host, scattered on the device); ortho.bias and conv.bias: none
    assert sum(cpu_fills) == 12 * 20 + 9 + 4
    assert got.vec[:5].abs().sum() == 0 and got.vec[5:9].abs().min() > 0


def test_recipes_on_device(emulated_device):
    fake, cpu_fills, host_route = emulated_device
    recipes = {"fc.weight": functools.partial(fastinit.init.normal_, std=0.02),
               "fc.bias": ft.zeros_,
               "head.weight": functools.partial(ft.kaiming_uniform_, a=1.0),
               "f16.weight": functools.partial(fastinit.init.sparse_, sparsity=0.5)}
    want = _reference(Decoderish, 2, recipes)
    cpu_fills.clear()
    got = _on_device(Decoderish, 2, recipes)
    _assert_same_bytes(got, want)
    assert host_route == ["f16.weight"]


def test_device_checked_before_allocation(monkeypatch):
    with torch.device("meta"):
        model = nn.Linear(3, 4)
    with pytest.raises(RuntimeError, match="device"):
        ft.materialize_(model, "cuda:x", seed=0)
    monkeypatch.setitem(sys.modules, "cupy", None)  # CuPy not installed
    with pytest.raises(ImportError, match=r"fastinit\[cuda12\]"):
        ft.materialize_(model, "cuda", seed=0)
    assert model.weight.is_meta and model.bias.is_meta


# ---- DTensor shards on the emulated device, 2 gloo ranks ----

def _rank_on_emulated_device(rank, world, port, out_dir, lib):
    """Every tensor materialize_ places on "cuda" is host memory filled through the fake
    CuPy; FSDP2 shards Decoderish (dim 0, a padding row on rank 0 only) and
    distribute_module shards Structured's 2-D weights along dim 1 (boxes at column
    offsets); full tensors, CPU fill count and host-route names go to a file."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    import torch.distributed as dist
    from test_dtensor import _fsdp, _full
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Shard, distribute_module, distribute_tensor

    from fastinit.backends import cuda

    torch.set_num_threads(1)
    fastinit.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    mesh = init_device_mesh("cpu", (world,))
    fake, _ = _fake_cupy(load_shim(lib), load_rounder(lib))
    sys.modules["cupy"] = fake
    cuda._module.cache_clear()
    real_place, real_fill, real_on_host = _device.place, _core.fill, _device._on_host
    cpu_fills, host_route = [], []
    _device.place = lambda t, device: real_place(t, "cpu")
    _device.on_device = lambda t: True  # every tensor was placed on "cuda"
    _device.target = _emulated_target
    _core.fill = lambda *a: (cpu_fills.append(a[4].size), real_fill(*a))[1]
    _device._on_host = lambda t, fill, local, name, seed: (
        host_route.append(name), real_on_host(t, fill, local, name, seed))[1]

    with torch.device("meta"):
        dec = Decoderish()
    _fsdp(dec, mesh, [dec.f16, dec.bf, dec.head])
    ft.materialize_(dec, "cuda", seed=5)
    dec_fills, dec_route = list(cpu_fills), list(host_route)

    def by_columns(name, mod, mesh):
        for pname, p in list(mod.named_parameters(recurse=False)):
            placement = (Shard(1),) if p.dim() > 1 else (Shard(0),)
            mod.register_parameter(pname, nn.Parameter(distribute_tensor(p, mesh, placement)))

    with torch.device("meta"):
        st = Structured()
    distribute_module(st, mesh, by_columns)
    ft.materialize_(st, "cuda", seed=9)
    _core.fill = real_fill
    res = {"dec": _full(dec), "dec_fills": dec_fills, "dec_route": dec_route,
           "st": _full(st), "st_route": host_route[len(dec_route):],
           "launches": len(fake.launches)}
    torch.save(res, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()


def test_dtensor_shards_on_the_emulated_device(shim_path, tmp_path):  # noqa: F811
    import torch.multiprocessing as mp
    from test_dtensor import LAUNCH_TIMEOUT, _assert_same, _free_port
    from test_dtensor import _reference as full_reference

    world = 2
    ctx = mp.start_processes(_rank_on_emulated_device,
                             args=(world, _free_port(), str(tmp_path), str(shim_path)),
                             nprocs=world, join=False, start_method="spawn")
    deadline = time.monotonic() + LAUNCH_TIMEOUT
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
            pytest.fail(f"{world} ranks did not finish in {LAUNCH_TIMEOUT} s")
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(world)]
    want_dec, want_st = full_reference(Decoderish, 5), full_reference(Structured, 9)
    for res in ranks:
        _assert_same(res["dec"], want_dec)
        _assert_same(res["st"], want_st)
        assert res["launches"] and res["dec_fills"] == [] and res["dec_route"] == []
        assert sorted(res["st_route"]) == ["conv.weight", "eye.bias", "eye.weight",
                                           "ortho.weight"]


# ---- on a real device ----

def _cuda_device():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device (torch.cuda.is_available() is False)")
    try:
        import cupy
    except ImportError:
        pytest.skip("no CuPy for the CUDA device (pip install 'fastinit[cuda12]')")
    if not cupy.cuda.is_available():
        pytest.skip("CuPy sees no CUDA device")


@pytest.mark.gpu
@pytest.mark.parametrize("make", [Decoderish, Structured])
def test_gpu_materialize_equals_cpu(make):
    _cuda_device()
    want = _reference(make, 3)
    got = _on_device(make, 3)
    assert all(p.is_cuda for p in got.parameters())
    _assert_same_bytes(got.cpu(), want)


# ---- the host side of whole-model fills ----

def test_prefault_maps_the_pages_of_a_fill_without_changing_them():
    """fastinit._dtensor._prefault (before each whole-model fill of a buffer of 1 MiB or
    more): every page of fresh anonymous memory becomes resident in one call, still zero;
    a buffer below the threshold is left alone."""
    import ctypes
    import mmap

    from fastinit import _dtensor

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    page = mmap.PAGESIZE

    def resident(buf):
        vec = ctypes.create_string_buffer(len(buf) // page)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        assert libc.mincore(addr, len(buf), vec) == 0, ctypes.get_errno()
        return sum(b & 1 for b in vec.raw)

    for size, pages_after in ((4 << 20, (4 << 20) // page), (64 << 10, 0)):
        buf = mmap.mmap(-1, size)
        arr = np.frombuffer(buf, np.float32)
        assert resident(buf) == 0
        _dtensor._prefault(arr)
        assert resident(buf) == pages_after
        assert not arr.any()
        del arr
        buf.close()
