"""Sharded materialization: a ~1B-parameter decoder built on the meta device, sharded by
FSDP2's fully_shard over 2 gloo ranks on the CPU and filled by fastinit.torch.materialize_
(each rank fills only its shard), vs the same model materialized whole in one process.
Every process (the single one and each rank) fills with the same number of threads
(cores / ranks, so the ranks do not oversubscribe the cores), so the ratio ``per-rank
seconds / one-process seconds`` of materialize_ (fully_shard, torch's, timed apart) shows
the work split: about 1/2.  Wall time counts what else runs on the machine; the CPU-time
ratio (``cpu_ratio_to_one_process``) counts only this process's work.  Both sides free
their warm-up model before the timed build (:func:`_warm_up`: fully_shard's reference
cycles would keep the ranks' alive), so both fault their pages into memory just freed.
That matters on a VM whose host reclaims the guest's free memory (this one: virtio-balloon
free page reporting): a first touch of a page not recently used costs a host fault, 0.4
GB/s against 2.4-3.8 GB/s for the 4-8 GB used last, so a rank that kept its warm-up
shards took 3.3-3.5 s (ratio 1.4-1.6).  Quiet 2-core host, ``pytest
bench/test_bench_dtensor.py -p no:cacheprovider --benchmark-json /tmp/dt.json``: one
process 2.22-2.33 s for 936M float32 parameters, each rank 0.90-0.91 s for its 468M
(ratio 0.39-0.41, CPU time alike).

With FASTINIT_BENCH_N below 2**20 (CI) the model shrinks to two layers of width 64.
"""

import gc
import os
import time

import pytest
from conftest import N

torch = pytest.importorskip("torch", reason="torch is not installed")
nn = torch.nn
ft = pytest.importorskip("fastinit.torch")

SMALL = N < 2**20
LAYERS, WIDTH, VOCAB = (2, 64, 1000) if SMALL else (16, 2048, 32000)  # 0.94B parameters
WORLD = 2
THREADS = max(1, (os.cpu_count() or 2) // WORLD)
TIMEOUT = 1800


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.attn_norm = nn.RMSNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.proj = nn.Linear(d, d, bias=False)
        self.mlp_norm = nn.RMSNorm(d)
        self.up = nn.Linear(d, 4 * d, bias=False)
        self.down = nn.Linear(4 * d, d, bias=False)


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.blocks = nn.ModuleList(Block(WIDTH) for _ in range(LAYERS))
        self.norm = nn.RMSNorm(WIDTH)
        self.head = nn.Linear(WIDTH, VOCAB, bias=False)


def _build(shard=None):
    """Meta build, optional fully_shard of every block and the root (torch's, timed
    apart), materialize_; returns {"seconds", "cpu_seconds" (this process's CPU time,
    all threads: the work, whatever else runs on the machine) of materialize_,
    "shard_seconds", "local" (parameters held by this process)}."""
    with torch.device("meta"):
        model = Decoder()
    start = time.perf_counter()
    if shard is not None:
        from torch.distributed.fsdp import fully_shard

        for block in model.blocks:
            fully_shard(block, mesh=shard)
        fully_shard(model, mesh=shard)
    sharded, cpu = time.perf_counter(), time.process_time()
    ft.materialize_(model, seed=0)
    seconds, cpu = time.perf_counter() - sharded, time.process_time() - cpu
    local = sum((p.to_local() if shard is not None else p).numel()
                for p in model.parameters())
    return {"seconds": seconds, "cpu_seconds": cpu, "shard_seconds": sharded - start,
            "local": local}


def _warm_up(shard=None):
    """One untimed :func:`_build` (the first use of the meta device, and of FSDP2: one-time
    set-up), then its model freed before the timed build.  fully_shard leaves reference
    cycles (each sharded module holds its FSDPState through its forward hooks, the state
    holds the module), so only a cyclic collection frees that model: without it, a rank
    keeps its warm-up shards (1.9 GB) through the timed build and faults the next ones
    into fresh memory, while the one process, whose model refcounting frees, reuses its
    warm-up's pages.  Both sides collect here so they do the same."""
    _build(shard)
    gc.collect()


def _rank(rank, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh

    import fastinit

    fastinit.set_num_threads(THREADS)
    torch.set_num_threads(THREADS)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    mesh = init_device_mesh("cpu", (WORLD,))
    _warm_up(mesh)
    dist.barrier()
    torch.save(_build(mesh), os.path.join(out_dir, f"{rank}.pt"))
    dist.barrier()
    dist.destroy_process_group()


def _one_process(_, out_dir):
    import fastinit

    fastinit.set_num_threads(THREADS)
    torch.set_num_threads(THREADS)
    _warm_up()
    torch.save(_build(), os.path.join(out_dir, "single.pt"))


def _spawn(fn, nprocs, args):
    import torch.multiprocessing as mp

    ctx = mp.start_processes(fn, args=args, nprocs=nprocs, join=False, start_method="spawn")
    deadline = time.monotonic() + TIMEOUT
    while not ctx.join(timeout=1):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                if p.is_alive():
                    p.kill()
            pytest.fail(f"no result in {TIMEOUT} s")


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """Seconds and parameters of the whole model materialized in one fresh process."""
    out = tmp_path_factory.mktemp("single")
    _spawn(_one_process, 1, (str(out),))
    return torch.load(out / "single.pt")


def test_dtensor_materialize_one_process(benchmark, one_process):
    """The reference: meta build + materialize_ of the whole model, one process."""
    benchmark.pedantic(lambda: one_process, rounds=1, iterations=1)
    benchmark.group = "dtensor-materialize"
    benchmark.extra_info.update(library="fastinit", processes=1, threads=THREADS,
                                parameters=one_process["local"],
                                seconds=one_process["seconds"],
                                cpu_seconds=one_process["cpu_seconds"],
                                ratio_to_one_process=1.0, cpu_ratio_to_one_process=1.0)


def test_dtensor_materialize_fsdp2_two_ranks(benchmark, one_process, tmp_path):
    """fully_shard over 2 gloo ranks: each rank builds on meta and fills its shard."""
    benchmark.pedantic(lambda: _spawn(_rank, WORLD, (_free_port(), str(tmp_path))),
                       rounds=1, iterations=1)
    ranks = [torch.load(tmp_path / f"{r}.pt") for r in range(WORLD)]
    seconds = max(r["seconds"] for r in ranks)
    cpu = max(r["cpu_seconds"] for r in ranks)
    assert sum(r["local"] for r in ranks) == one_process["local"]
    benchmark.group = "dtensor-materialize"
    benchmark.extra_info.update(
        library="fastinit", processes=WORLD, threads=THREADS,
        parameters=one_process["local"], seconds=seconds, cpu_seconds=cpu,
        fully_shard_seconds=max(r["shard_seconds"] for r in ranks),
        ratio_to_one_process=seconds / one_process["seconds"],
        cpu_ratio_to_one_process=cpu / one_process["cpu_seconds"],
        local_fraction=[r["local"] / one_process["local"] for r in ranks])
