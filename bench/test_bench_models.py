"""Whole-model initialization of transformers models, each measured in a fresh process
(the first use of the meta device, of each layer type and of transformers' lazy modules
is part of what a user pays): the child times from just before the model is built to
the end of its initialization, in two phases: the import of the model's module (which
transformers makes lazily on the first build: about a second of torch._dynamo, the
generation and loss modules, paid alike by every way of building) and the rest.

- ``from_config``: ``AutoModelForCausalLM.from_config`` on the CPU (torch's and
  transformers' own init);
- ``fastinit``: built on the meta device, then ``fastinit.torch.materialize_`` (the
  model's own laws, fastinit's fills);
- ``fastinit_build``: ``fastinit.torch.build``: built on the CPU with the random fills
  deferred (no meta device), the same values;
- ``write_bytes``: the floor: built on meta, ``to_empty``, every parameter filled with
  a constant.

Llama and GPT-2 of about 350M and 1B parameters (FASTINIT_BENCH_MODELS, e.g.
"llama-350M,gpt2-1B"); with FASTINIT_BENCH_N below 2**20 (CI) tiny ones.  extra_info
records seconds (both phases), import_seconds, GB/s, ratio_to_limit, the speed-ups over
from_config (with and without the shared import) and the time over write_bytes, each
beside its target (TARGETS, checked by ``meets_target``: the whole time counts), and
``speedup_bound``: from_config / write_bytes, the largest speed-up over from_config that
any way of initializing that writes the bytes can show here.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import N

pytest.importorskip("torch", reason="torch is not installed")
pytest.importorskip("transformers", reason="transformers is not installed")

SMALL = N < 2**20
CONFIGS = {  # name: (config class, keyword arguments)
    "llama-350M": ("LlamaConfig", dict(hidden_size=1024, intermediate_size=2816,
                                       num_hidden_layers=24, num_attention_heads=16,
                                       num_key_value_heads=16, vocab_size=32000)),
    "llama-1B": ("LlamaConfig", dict(hidden_size=2048, intermediate_size=5632,
                                     num_hidden_layers=22, num_attention_heads=32,
                                     num_key_value_heads=4, vocab_size=32000)),
    "gpt2-350M": ("GPT2Config", dict(n_embd=1024, n_layer=24, n_head=16)),
    "gpt2-1B": ("GPT2Config", dict(n_embd=2048, n_layer=20, n_head=16)),
}
TINY = {"LlamaConfig": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, vocab_size=1000),
        "GPT2Config": dict(n_embd=64, n_layer=2, n_head=4, vocab_size=1000,
                           bos_token_id=0, eos_token_id=0)}
MODELS = os.environ.get("FASTINIT_BENCH_MODELS", ",".join(CONFIGS)).split(",")
LIBRARIES = ("from_config", "write_bytes", "fastinit", "fastinit_build")  # baselines first
TARGETS = {"from_config": 5.0, "write_bytes": 1.5}  # >= 5x faster; <= 1.5x the time

CHILD = textwrap.dedent("""
    import json, sys, time
    import torch, transformers
    import fastinit.torch as ft
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING

    kind, library, kwargs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    config = getattr(transformers, kind)(**kwargs)
    start = time.perf_counter()
    MODEL_FOR_CAUSAL_LM_MAPPING[type(config)]  # imports the model's module
    imported = time.perf_counter()
    if library == "from_config":
        model = transformers.AutoModelForCausalLM.from_config(config)
    elif library == "fastinit_build":
        model = ft.build(transformers.AutoModelForCausalLM.from_config, config, seed=0)
    else:
        with torch.device("meta"):
            model = transformers.AutoModelForCausalLM.from_config(config)
        if library == "fastinit":
            ft.materialize_(model, seed=0)
        else:
            model.to_empty(device="cpu")
            with torch.no_grad():
                for p in model.parameters():
                    p.fill_(0.5)
    seconds = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
    print(json.dumps({"seconds": seconds, "import_seconds": imported - start,
                      "parameters": params, "bytes": nbytes,
                      "threads": torch.get_num_threads()}))
""")

_MEASURED = {}


def _measure(model_name, library):
    """The child's result for (model, library), measured once per session."""
    if (model_name, library) not in _MEASURED:
        kind, kwargs = CONFIGS[model_name]
        kwargs = TINY[kind] if SMALL else kwargs
        proc = subprocess.run([sys.executable, "-c", CHILD, kind, library, json.dumps(kwargs)],
                              capture_output=True, text=True, timeout=3600)
        assert proc.returncode == 0, proc.stderr
        _MEASURED[model_name, library] = json.loads(proc.stdout.splitlines()[-1])
    return _MEASURED[model_name, library]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("model_name", MODELS)
def test_model_init(benchmark, write_limit, model_name, library):
    result = benchmark.pedantic(lambda: _measure(model_name, library), rounds=1,
                                iterations=1)
    seconds, nbytes = result["seconds"], result["bytes"]
    benchmark.group = f"{model_name}-float32"
    benchmark.extra_info.update(
        library=library, dist=model_name, dtype="float32", threads=result["threads"],
        parameters=result["parameters"], seconds=seconds,
        elements_per_s=result["parameters"] / seconds, gb_per_s=nbytes / seconds / 1e9,
        ratio_to_limit=nbytes / seconds / 1e9 / write_limit, limit_gb_per_s=write_limit)
    _compare(benchmark.extra_info, model_name, library, result)


def _compare(info, model_name, library, result):
    """The ratios to the baselines, each beside its target."""
    seconds, imported = result["seconds"], result["import_seconds"]
    base = {name: _measure(model_name, name) for name in TARGETS}
    info.update(import_seconds=imported, seconds_after_import=seconds - imported,
                speedup_bound=base["from_config"]["seconds"] / base["write_bytes"]["seconds"])
    if library == "from_config":
        return
    speedup = base["from_config"]["seconds"] / seconds
    info.update(
        speedup_vs_from_config=speedup,
        speedup_vs_from_config_after_import=(base["from_config"]["seconds"]
                                             - base["from_config"]["import_seconds"])
        / (seconds - imported))
    if library != "write_bytes":
        over = seconds / base["write_bytes"]["seconds"]
        info.update(target_speedup_vs_from_config=TARGETS["from_config"],
                    meets_target_vs_from_config=speedup >= TARGETS["from_config"],
                    time_over_write_bytes=over,
                    target_time_over_write_bytes=TARGETS["write_bytes"],
                    meets_target_vs_write_bytes=over <= TARGETS["write_bytes"])
