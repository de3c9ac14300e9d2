"""DTensor shards (FSDP2 fully_shard, distribute_tensor/distribute_module, tensor
parallelism + FSDP2): each rank fills its local shard, and the gathered full tensors equal a
single-process materialization bit for bit, whatever the mesh.  Ranks run with gloo on CPU,
2 and 4 processes spawned from here; results come back through files."""

import functools
import os
import socket
import time
import tracemalloc

import numpy as np
import pytest

import fastinit
from fastinit import _dtensor as fd
from fastinit import init as I

torch = pytest.importorskip("torch")
nn = torch.nn
ft = pytest.importorskip("fastinit.torch")

LAUNCH_TIMEOUT = 240  # seconds for one launch of all ranks: a hang fails, not blocks


class Net(nn.Module):
    """Uneven shards on every mesh used here, a padding row off rank 0, structured laws."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(37, 16, padding_idx=21)
        self.fc = nn.Linear(16, 130)
        self.norm = nn.LayerNorm(130)
        self.out = nn.Linear(130, 10)
        self.conv = nn.Conv2d(4, 8, 3)  # dirac, groups=2
        self.ortho = nn.Linear(20, 30)
        self.eye = nn.Linear(18, 12)
        self.sparse = nn.Linear(12, 21)
        self.tiny = nn.Linear(2, 3)  # 3 rows over 4 ranks: one rank holds none
        self.register_buffer("table", torch.zeros(6))


RECIPES = {
    "fc.weight": functools.partial(I.trunc_normal_, std=0.02),
    "conv.weight": lambda t, seed: I.dirac_(t, 2),
    "ortho.weight": functools.partial(I.orthogonal_, gain=2.0),
    "eye.weight": lambda t, seed: I.eye_(t),
    "sparse.weight": functools.partial(I.sparse_, sparsity=0.3),
    "table": I.uniform_,
}


def _issue_model():
    return nn.Sequential(nn.Linear(64, 128), nn.Linear(128, 10))


def _tied_model():
    m = nn.Sequential(nn.Embedding(10, 8), nn.Linear(8, 8), nn.Linear(8, 10, bias=False))
    m[2].weight = m[0].weight
    return m


def _tp_model():
    return nn.Sequential(nn.Linear(16, 14), nn.Linear(14, 10))


def _full(module):
    """qualified name -> full tensor (a collective: every rank calls it)."""
    out = {}
    for name, t in list(module.named_parameters()) + list(module.named_buffers()):
        full = t.full_tensor() if hasattr(t, "full_tensor") else t
        out[name] = full.detach().clone()
    return out


def _fsdp(module, mesh, children):
    from torch.distributed.fsdp import fully_shard

    for child in children:
        fully_shard(child, mesh=mesh)
    fully_shard(module, mesh=mesh)
    return module


def _placements(mesh_ndim):
    from torch.distributed.tensor import Replicate, Shard

    if mesh_ndim == 1:
        return [(Shard(0),), (Shard(1),), (Replicate(),)]
    return [(Shard(0), Shard(1)), (Shard(1), Shard(0)), (Shard(0), Shard(0)),
            (Replicate(), Shard(1)), (Shard(1), Replicate()), (Shard(0), Replicate())]


def _distribute(module, mesh):
    """Every parameter a DTensor, placements cycling through the list (those sharding
    dim 0 only for 1-D parameters)."""
    from torch.distributed.tensor import distribute_module, distribute_tensor

    cycle = _placements(mesh.ndim)
    cycles = {True: cycle, False: [pl for pl in cycle if all(  # 1-D: dim 0 only
        getattr(q, "dim", 0) == 0 for q in pl)]}
    count = {True: 0, False: 0}

    def partition(name, mod, mesh):
        for pname, p in list(mod.named_parameters(recurse=False)):
            options = cycles[p.dim() > 1]
            placement = options[count[p.dim() > 1] % len(options)]
            count[p.dim() > 1] += 1
            mod.register_parameter(pname, nn.Parameter(distribute_tensor(p, mesh, placement)))

    return distribute_module(module, mesh, partition)


def _peak_bytes(fn):
    """Peak bytes traced (numpy's allocations included) while fn runs."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _worker(rank, world, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor, Partial, Shard, distribute_tensor
    from torch.distributed.tensor.placement_types import _StridedShard

    dist.init_process_group("gloo", rank=rank, world_size=world)
    fastinit.set_num_threads(1)
    mesh = init_device_mesh("cpu", (world,))
    mesh2 = init_device_mesh("cpu", (2, world // 2), mesh_dim_names=("dp", "tp"))
    res = {}

    # the issue's reproducer
    with torch.device("meta"):
        m = _issue_model()
    ft.materialize_(_fsdp(m, mesh, list(m)), seed=0)
    res["issue"] = _full(m)
    with torch.no_grad():  # FSDP2 all-gathers the filled shards for the forward pass
        res["issue_forward"] = m(torch.linspace(-1, 1, 3 * 64).reshape(3, 64))
    with torch.device("meta"):
        m = _issue_model().to(torch.bfloat16)
    ft.materialize_(_fsdp(m, mesh, list(m)), seed=0)
    res["issue_bf16"] = _full(m)

    # a tied weight stays tied
    with torch.device("meta"):
        m = _tied_model()
    ft.materialize_(_fsdp(m, mesh, [m[1]]), seed=5)
    res["tied"] = _full(m)
    res["tied_is"] = m[2].weight is m[0].weight

    # FSDP2 on every submodule: uneven shards, padding row, structured laws, a buffer
    with torch.device("meta"):
        m = Net()
    ft.materialize_(_fsdp(m, mesh, list(m.children())), seed=1, recipes=RECIPES)
    res["fsdp"] = _full(m)

    # distribute_module with Shard/Replicate combinations on a 1-D and a 2-D mesh
    for key, msh in (("dist1", mesh), ("dist2", mesh2)):
        with torch.device("meta"):
            m = Net()
        ft.materialize_(_distribute(m, msh), seed=1, recipes=RECIPES)
        res[key] = _full(m)
        res[key + "_placements"] = {str(p.placements) for p in m.parameters()}
        res[key + "_empty"] = any(p.to_local().numel() == 0 for p in m.parameters())

    # init_module_ on real (already allocated) FSDP2 shards
    m = Net()
    _fsdp(m, mesh, list(m.children()))
    ft.init_module_(m, seed=2, recipes=RECIPES)
    res["init"] = _full(m)

    # tensor parallelism alone, then with FSDP2 over the other mesh dimension (_StridedShard)
    from torch.distributed.tensor.parallel import (
        ColwiseParallel,
        RowwiseParallel,
        parallelize_module,
    )

    with torch.device("meta"):
        m = _tp_model()
    parallelize_module(m, mesh, {"0": ColwiseParallel(), "1": RowwiseParallel()})
    ft.materialize_(m, seed=3)
    res["tp_only"] = _full(m)
    with torch.device("meta"):
        m = _tp_model()
    parallelize_module(m, mesh2["tp"], {"0": ColwiseParallel(), "1": RowwiseParallel()})
    _fsdp(m, mesh2["dp"], [])
    res["tp_placements"] = [str(p.placements) for p in m.parameters()]
    ft.materialize_(m, seed=3)
    res["tp"] = _full(m)

    # a _StridedShard whose rows on one rank are several runs (one fill per box)
    w = torch.empty(24, 10)
    strided = distribute_tensor(w, mesh, (_StridedShard(0, split_factor=3),))
    strided2 = distribute_tensor(w, mesh2, (Shard(1), _StridedShard(0, split_factor=2)))
    res["strided_runs"] = len(fd.local_boxes(strided)[2])
    for key, t in (("strided", strided), ("strided2", strided2)):
        fd.fill_(t, I.kaiming_normal_, seed=4)
        res[key] = t.full_tensor()

    # Partial is refused before anything is written
    part = DTensor.from_local(torch.zeros(4, 4), mesh, (Partial(),))
    try:
        fd.fill_(part, I.normal_, seed=0)
        res["partial"] = "no error"
    except ValueError as exc:
        res["partial"] = str(exc)
    res["partial_untouched"] = bool((part.to_local() == 0).all())

    # memory: the storage is the shard; elementwise laws allocate nothing of a tensor's
    # size; orthogonal builds one global tensor at a time
    with torch.device("meta"):
        m = nn.Sequential(*[nn.Linear(1024, 1024) for _ in range(3)])
    _fsdp(m, mesh, list(m))
    res["peak_elementwise"] = _peak_bytes(lambda: ft.materialize_(m, seed=0))
    res["local_bytes"] = sum(p.to_local().untyped_storage().nbytes() for p in m.parameters())
    with torch.device("meta"):
        m = nn.Sequential(*[nn.Linear(256, 256) for _ in range(3)])
    _fsdp(m, mesh, list(m))
    res["peak_orthogonal"] = _peak_bytes(lambda: ft.materialize_(
        m, seed=0, recipes={"*.weight": I.orthogonal_}))

    torch.save(res, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_LAUNCHED = {}


def _launch(world, factory):
    """Results of each rank of one launch of ``world`` ranks (once per test module)."""
    import torch.multiprocessing as mp

    if world in _LAUNCHED:
        return _LAUNCHED[world]
    out_dir = str(factory.mktemp(f"ranks{world}"))
    ctx = mp.start_processes(_worker, args=(world, _free_port(), out_dir), nprocs=world,
                             join=False, start_method="spawn")
    deadline = time.monotonic() + LAUNCH_TIMEOUT
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
            pytest.fail(f"{world} ranks did not finish in {LAUNCH_TIMEOUT} s")
    _LAUNCHED[world] = [torch.load(os.path.join(out_dir, f"rank{r}.pt"))
                        for r in range(world)]
    return _LAUNCHED[world]


@pytest.fixture(scope="module", params=[2, 4], ids=["2ranks", "4ranks"])
def ranks(request, tmp_path_factory):
    return _launch(request.param, tmp_path_factory)


def _reference(make, seed, recipes=None, *, meta=True):
    """One process, no sharding: materialize_ (or init_module_ of a built model)."""
    if meta:
        with torch.device("meta"):
            m = make()
        ft.materialize_(m, seed=seed, recipes=recipes)
    else:
        m = ft.init_module_(make(), seed=seed, recipes=recipes)
    return _full(m)


def _assert_same(got, want):
    assert got.keys() == want.keys()
    for name in want:
        assert got[name].dtype == want[name].dtype and got[name].shape == want[name].shape, name
        assert torch.equal(got[name], want[name]), f"{name} differs from the unsharded values"


def test_issue_fsdp_sequential_equals_single_process(ranks):
    want = _reference(_issue_model, 0)
    for res in ranks:
        _assert_same(res["issue"], want)
    with torch.device("meta"):
        m = _issue_model()
    ft.materialize_(m, seed=0)
    with torch.no_grad():
        y = m(torch.linspace(-1, 1, 3 * 64).reshape(3, 64))
    for res in ranks:
        assert torch.equal(res["issue_forward"], y)
    want_bf16 = _reference(lambda: _issue_model().to(torch.bfloat16), 0)
    for res in ranks:
        _assert_same(res["issue_bf16"], want_bf16)
    w = ranks[0]["issue"]["0.weight"]
    assert torch.isfinite(w).all() and abs(w.std().item() - 1 / 8 / 3 ** 0.5) < 0.01


@pytest.mark.parametrize("key", ["fsdp", "dist1", "dist2"])
def test_sharded_materialize_equals_single_process(ranks, key):
    want = _reference(Net, 1, RECIPES)
    for res in ranks:
        _assert_same(res[key], want)
    mesh_ndim = 1 if key == "dist1" else 2
    if key != "fsdp":
        assert ranks[0][key + "_placements"] == {str(p) for p in _placements(mesh_ndim)}
        if len(ranks) == 4:
            assert any(res[key + "_empty"] for res in ranks)
    got = ranks[0][key]
    assert (got["emb.weight"][21] == 0).all() and (got["emb.weight"][20] != 0).all()
    assert torch.equal(got["eye.weight"], torch.eye(12, 18))
    assert (got["sparse.weight"] == 0).sum(0).tolist() == [7] * 12  # ceil(0.3 * 21) per column
    q = got["ortho.weight"].double()
    torch.testing.assert_close(q.T @ q, 4 * torch.eye(20, dtype=torch.float64),
                               atol=1e-5, rtol=0)


def test_tied_weight_stays_tied(ranks):
    want = _reference(_tied_model, 5)
    for res in ranks:
        assert res["tied_is"]
        _assert_same(res["tied"], want)


def test_init_module_on_allocated_shards(ranks):
    want = _reference(Net, 2, RECIPES, meta=False)
    for res in ranks:
        _assert_same(res["init"], want)


def test_tensor_parallel_plus_fsdp_strided_shard(ranks):
    if len(ranks) == 4:  # a 2 x 2 mesh: FSDP2 shards TP's rows once more
        assert "_StridedShard" in ranks[0]["tp_placements"][0]
    want = _reference(_tp_model, 3)
    for res in ranks:
        _assert_same(res["tp_only"], want)
        _assert_same(res["tp"], want)


def test_strided_shard_several_boxes(ranks):
    whole = I.kaiming_normal_(np.empty((24, 10), np.float32), seed=4)
    assert ranks[0]["strided_runs"] == 3  # rows [0, 4), [8, 12), [16, 20) on 2 ranks
    for res in ranks:
        for key in ("strided", "strided2"):
            np.testing.assert_array_equal(res[key].numpy(), whole)


def test_partial_placement_rejected_untouched(ranks):
    for res in ranks:
        assert "Partial" in res["partial"] and res["partial_untouched"]


def test_memory_per_rank_is_the_shard(ranks):
    world = len(ranks)
    total = 3 * (1024 * 1024 + 1024) * 4
    one_orthogonal = 256 * 256 * 4
    for res in ranks:
        assert res["local_bytes"] <= total / world, res["local_bytes"]
        assert res["peak_elementwise"] < total / world / 16, res["peak_elementwise"]
        assert one_orthogonal < res["peak_orthogonal"] < 1.5 * one_orthogonal, \
            res["peak_orthogonal"]


def test_mesh_size_does_not_change_values(tmp_path_factory):
    two, four = _launch(2, tmp_path_factory), _launch(4, tmp_path_factory)
    for key in ("issue", "issue_bf16", "fsdp", "dist1", "dist2", "init", "tp_only", "tp"):
        _assert_same(two[0][key], four[0][key])


# ---- in one process: the primitive and the box laws it relies on ----

def test_fill_plain_tensor_array_and_meta():
    t = torch.empty(30, 20)
    fd.fill_(t, I.kaiming_uniform_, seed=5)
    want = I.kaiming_uniform_(np.empty((30, 20), np.float32), seed=5)
    np.testing.assert_array_equal(t.numpy(), want)
    arr = fd.fill_(np.empty((30, 20), np.float32), I.kaiming_uniform_, seed=5)
    np.testing.assert_array_equal(arr, want)
    meta = torch.empty(30, 20, device="meta")
    assert fd.fill_(meta, I.kaiming_uniform_, seed=5) is meta


def test_runs_of_global_indices():
    assert fd._runs(np.array([0, 1, 2, 6, 7, 8, 11])) == [(0, 0, 3), (3, 6, 3), (6, 11, 1)]
    assert fd._runs(np.arange(5, 9)) == [(0, 5, 4)]
    assert fd._runs(np.arange(0)) == [(0, 0, 0)]


def test_fill_into_of_another_shape_raises_before_writing():
    t, into = torch.zeros(4, 6), torch.zeros(6, 4)
    with pytest.raises(ValueError, match="local shape"):
        fd.fill_(t, I.normal_, into=into, seed=1)
    assert (into == 0).all() and (t == 0).all()


@pytest.mark.parametrize("shape, boxes", [
    ((12, 18), [((0, 0), (5, 7)), ((5, 7), (4, 11)), ((9, 0), (3, 18)), ((0, 13), (12, 5))]),
    ((18, 12), [((10, 3), (8, 9)), ((14, 0), (4, 12))]),
])
def test_eye_box_written_directly(shape, boxes):
    whole = I.eye_(np.empty(shape, np.float32))
    for offsets, local in boxes:
        out = np.full(local, np.nan, np.float32)
        with fastinit.shard(shape, offsets):
            I.eye_(out)
        box = tuple(slice(o, o + n) for o, n in zip(offsets, local, strict=True))
        np.testing.assert_array_equal(out, whole[box])


@pytest.mark.parametrize("centre", ["torch", "jax"])
def test_dirac_box_written_directly(centre):
    shape = (8, 6, 4, 3)
    whole = I.dirac_(np.empty(shape, np.float32), 2, gain=1.5, centre=centre)
    for offsets, local in [((0, 0, 0, 0), (3, 6, 4, 3)), ((3, 1, 0, 0), (4, 5, 4, 3)),
                           ((2, 0, 1, 1), (6, 6, 2, 2)), ((4, 0, 3, 0), (4, 6, 1, 3))]:
        out = np.full(local, np.nan, np.float32)
        with fastinit.shard(shape, offsets):
            I.dirac_(out, 2, gain=1.5, centre=centre)
        box = tuple(slice(o, o + n) for o, n in zip(offsets, local, strict=True))
        np.testing.assert_array_equal(out, whole[box])
    with fastinit.shard(shape, (0, 0, 0, 0)), pytest.raises(ValueError, match="groups=3"):
        I.dirac_(np.empty((4, 6, 4, 3), np.float32), 3)


def test_eye_and_dirac_boxes_allocate_no_global_tensor():
    out = np.empty((64, 2048), np.float32)
    with fastinit.shard((4096, 2048), (1024, 0)):
        peak = _peak_bytes(lambda: I.eye_(out))
    assert peak < out.nbytes / 8 and out[0, 1024] == 1 and out.sum() == 64
    conv = np.empty((16, 256, 3, 3), np.float32)
    with fastinit.shard((256, 256, 3, 3), (32, 0, 0, 0)):
        peak = _peak_bytes(lambda: I.dirac_(conv))
    assert peak < conv.nbytes / 8 and conv[:, 32:48, 1, 1].sum() == 16 and conv.sum() == 16


def test_embedding_padding_row_is_the_global_row():
    whole = I.embedding_default_(np.empty((37, 16), np.float32), 21, seed=3)
    assert (whole[21] == 0).all()
    for offsets, rows in [((0, 0), 20), ((20, 0), 10), ((30, 0), 7), ((10, 0), 11)]:
        out = np.empty((rows, 16), np.float32)
        with fastinit.shard((37, 16), offsets):
            I.embedding_default_(out, -16, seed=3)  # -16 is row 21
        np.testing.assert_array_equal(out, whole[offsets[0]:offsets[0] + rows])
    out = np.zeros((37, 16), np.float32)
    with pytest.raises(ValueError, match="padding_idx"):
        I.embedding_default_(out, 37, seed=3)
    assert (out == 0).all()
