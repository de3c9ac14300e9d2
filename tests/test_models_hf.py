"""Whole models initialized by their own code through fastinit: transformers' GPT-2, Llama,
BERT and ViT (tiny configurations) against transformers' own initialization, on the meta
path and under accelerate's init_empty_weights; a torchtitan-style init_weights; padding
rows by global index; the checkpoint CLI's --module, --recipe and --config."""

import importlib
import logging
import math
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from scipy import stats

from fastinit import checkpoint, init

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
accelerate = pytest.importorskip("accelerate")
ft = pytest.importorskip("fastinit.torch")
nn = torch.nn

ALPHA = 1e-6  # KS p-value floor: false alarms at this rate per tensor, fixed seeds
SEED = 0
CONFIGS = {
    "gpt2": lambda: transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=1000,
                                            n_positions=128, bos_token_id=0, eos_token_id=0),
    "llama": lambda: transformers.LlamaConfig(num_hidden_layers=2, hidden_size=64,
                                              intermediate_size=128, num_attention_heads=4,
                                              num_key_value_heads=2, vocab_size=1000,
                                              max_position_embeddings=128),
    "bert": lambda: transformers.BertConfig(num_hidden_layers=2, hidden_size=64,
                                            intermediate_size=128, num_attention_heads=4,
                                            vocab_size=1000, max_position_embeddings=128),
    "vit": lambda: transformers.ViTConfig(num_hidden_layers=2, hidden_size=64,
                                          intermediate_size=128, num_attention_heads=4,
                                          image_size=32, patch_size=8, num_labels=10),
}
BUILD = {
    "gpt2": lambda c: transformers.AutoModelForCausalLM.from_config(c),
    "llama": lambda c: transformers.AutoModelForCausalLM.from_config(c),
    "bert": lambda c: transformers.BertForPreTraining(c),
    "vit": lambda c: transformers.ViTForImageClassification(c),
}


def _tensors(model):
    return dict(model.named_parameters(remove_duplicate=False)) | dict(model.named_buffers())


def _inputs(kind):
    gen = torch.Generator().manual_seed(1)
    if kind == "vit":
        return {"pixel_values": torch.randn(4, 3, 32, 32, generator=gen)}
    return {"input_ids": torch.randint(0, 1000, (4, 16), generator=gen)}


def _logits_std(model, kind):
    model.eval()
    with torch.no_grad():
        out = model(**_inputs(kind))
    logits = out.logits if hasattr(out, "logits") else out.prediction_logits
    assert torch.isfinite(logits).all()
    return logits.std().item()


@pytest.fixture(scope="module", params=list(CONFIGS))
def reference(request):
    """transformers' own initialization: eager builds with torch seeds 0..3 (the first one
    is compared tensor by tensor; all give the spread of the logits' std)."""
    kind = request.param
    builds = []
    for s in range(4):
        torch.manual_seed(s)
        builds.append(BUILD[kind](CONFIGS[kind]()))
    stds = [_logits_std(m, kind) for m in builds]
    return kind, builds[0], stds


def _build_ours(kind, path):
    config = CONFIGS[kind]()
    if path == "meta":
        with torch.device("meta"):
            model = BUILD[kind](config)
    else:
        with accelerate.init_empty_weights():
            model = BUILD[kind](config)
    assert any(p.is_meta for p in model.parameters())
    return ft.materialize_(model, seed=SEED)


@pytest.mark.parametrize("path", ["meta", "init_empty_weights"])
def test_model_laws_equal_transformers(reference, path):
    kind, eager, ref_stds = reference
    ours = _build_ours(kind, path)
    theirs, mine = _tensors(eager), _tensors(ours)
    assert mine.keys() == theirs.keys()
    for name, t in theirs.items():
        a, b = mine[name].detach(), t.detach()
        assert a.device.type == "cpu" and a.dtype == b.dtype, name
        if name in dict(eager.named_buffers()) or not b.is_floating_point() or \
                b.numel() < 2 or (b == b.flatten()[0]).all():
            # deterministic: norms 1/0, biases 0, inv_freq, position_ids
            torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
            continue
        x, y = a.double().numpy().ravel(), b.double().numpy().ravel()
        assert stats.ks_2samp(x, y).pvalue > ALPHA, name
        # std of a normal sample: relative standard error 1/sqrt(2n) each
        assert abs(x.std() / y.std() - 1) < 6 / math.sqrt(x.size), name
        # rows the model zeroes (padding_idx) are zero
        if b.dim() == 2:
            zero_rows = (b == 0).all(1)
            assert torch.equal((a == 0).all(1), zero_rows), name
    # tied weights stay tied, as many unique parameters as the eager model
    assert len(list(ours.parameters())) == len(list(eager.parameters()))
    if kind == "gpt2":
        assert ours.lm_head.weight is ours.transformer.wte.weight
    if kind == "bert":
        assert ours.cls.predictions.decoder.weight is \
            ours.bert.embeddings.word_embeddings.weight
    # a forward pass: logits with the statistics of transformers' own init
    mean, spread = np.mean(ref_stds), np.ptp(ref_stds)
    assert abs(_logits_std(ours, kind) - mean) <= 3 * max(spread, 0.02 * mean), kind


def test_values_keyed_by_name_on_every_path():
    """The eager model re-initialized in place, the meta path and accelerate's path give the
    same bits; a random tensor's values are fastinit's fill of the model's law under the
    tensor's own seed."""
    config = CONFIGS["gpt2"]()
    torch.manual_seed(3)
    eager = ft.init_module_(BUILD["gpt2"](config), seed=5)
    with torch.device("meta"):
        meta = BUILD["gpt2"](config)
    ft.materialize_(meta, seed=5)
    with accelerate.init_empty_weights():
        empty = BUILD["gpt2"](config)
    ft.materialize_(empty, seed=5)
    a, b, c = _tensors(eager), _tensors(meta), _tensors(empty)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)
        torch.testing.assert_close(a[name], c[name], rtol=0, atol=0, msg=name)
    name = "transformer.h.1.mlp.c_proj.weight"  # GPT-2's N(0, 0.02 / sqrt(2 n_layer))
    expect = init.normal(tuple(a[name].shape), 0.0, 0.02 / math.sqrt(4),
                         seed=ft.param_seed(5, name))
    np.testing.assert_array_equal(a[name].detach().numpy(), expect)


def test_build_equals_materialize_without_meta():
    """fastinit.torch.build: constructed on the CPU with the random fills deferred, the
    same bits as the meta path; a law set only in __init__ is kept (keyed by name), and
    torch.nn.init is itself again afterwards."""
    config = CONFIGS["gpt2"]()
    built = ft.build(BUILD["gpt2"], config, seed=5)
    with torch.device("meta"):
        meta = BUILD["gpt2"](config)
    ft.materialize_(meta, seed=5)
    a, b = _tensors(built), _tensors(meta)
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)
    assert built.lm_head.weight is built.transformer.wte.weight

    class InitOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.empty(64, 32))
            nn.init.orthogonal_(self.w, gain=2.0)
            scratch = nn.init.uniform_(torch.empty(1000), 1.0, 2.0)  # computed with now
            self.register_buffer("b", scratch * 2)

    m = ft.build(InitOnly, seed=1)
    np.testing.assert_array_equal(m.w.detach().numpy(), init.orthogonal(
        (64, 32), 2.0, seed=ft.param_seed(1, "w")))
    assert ((m.b >= 2) & (m.b < 4)).all()
    for module in (nn.init, importlib.import_module(
            "transformers.initialization").TORCH_INIT_FUNCTIONS):
        fn = module["normal_"] if isinstance(module, dict) else module.normal_
        assert fn.__module__ == "torch.nn.init"
    torch.manual_seed(0)
    x = torch.empty(10000)
    nn.init.normal_(x)
    assert 0.9 < x.std().item() < 1.1  # real fills again


def test_uninitialised_buffers_raise_before_allocation():
    """A buffer the init code does not recompute, or given the recipe None on meta, would
    be uninitialised memory: ValueError naming it, nothing allocated."""
    config = CONFIGS["llama"]()
    with torch.device("meta"):
        model = BUILD["llama"](config)
    with pytest.raises(ValueError, match="no recipe for model.rotary_emb.inv_freq"):
        ft.materialize_(model, seed=0, recipes={"*inv_freq": None})
    assert all(p.is_meta for p in model.parameters())

    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.register_buffer("mask", torch.tril(torch.ones(4, 4)), persistent=False)

    with torch.device("meta"):
        m = Masked()
    with pytest.raises(ValueError, match="no recipe for mask"):
        ft.materialize_(m, seed=0)
    assert m.fc.weight.is_meta


def test_recipes_override_the_model():
    config = CONFIGS["gpt2"]()
    with torch.device("meta"):
        model = BUILD["gpt2"](config)
    ft.materialize_(model, seed=2, recipes={
        "*.c_proj.weight": lambda a, seed: init.normal_(a, 0.0, 0.5, seed=seed)})
    w = model.transformer.h[0].attn.c_proj.weight
    assert abs(w.std().item() / 0.5 - 1) < 6 / math.sqrt(w.numel())


class TitanBlock(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.wq = nn.Linear(d, d, bias=False)
        self.w2 = nn.Linear(4 * d, d, bias=False)
        self.norm = nn.RMSNorm(d)

    def init_weights(self, init_std):
        nn.init.trunc_normal_(self.wq.weight, mean=0.0, std=0.02)
        nn.init.trunc_normal_(self.w2.weight, mean=0.0, std=init_std)
        self.norm.reset_parameters()


class Titan(nn.Module):
    """torchtitan's pattern: layers' std shrinks with depth, set by init_weights()."""

    def __init__(self, d=96, layers=4, vocab=500):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList(TitanBlock(d) for _ in range(layers))
        self.out = nn.Linear(d, vocab, bias=False)

    def init_weights(self):
        nn.init.normal_(self.tok.weight)
        for i, layer in enumerate(self.layers):
            layer.init_weights(0.02 / math.sqrt(2 * (i + 1)))
        bound = 3 * self.out.in_features ** -0.5
        nn.init.trunc_normal_(self.out.weight, std=self.out.in_features ** -0.5,
                              a=-bound, b=bound)


def test_torchtitan_style_init_weights():
    torch.manual_seed(0)
    eager = Titan()
    eager.init_weights()
    with torch.device("meta"):
        ours = Titan()
    ft.materialize_(ours, seed=4)
    theirs, mine = _tensors(eager), _tensors(ours)
    for name, t in theirs.items():
        x, y = mine[name].detach().numpy().ravel(), t.detach().numpy().ravel()
        if name.endswith("norm.weight"):
            np.testing.assert_array_equal(x, y)
            continue
        assert stats.ks_2samp(x, y).pvalue > ALPHA, name
        assert abs(x.std() / y.std() - 1) < 6 / math.sqrt(x.size), name
    w2 = mine["layers.3.w2.weight"]
    expect = init.trunc_normal(tuple(w2.shape), 0.0, 0.02 / math.sqrt(8), -2.0, 2.0,
                               seed=ft.param_seed(4, "layers.3.w2.weight"))
    np.testing.assert_array_equal(w2.detach().numpy(), expect)
    bound = 3 * 96 ** -0.5
    assert mine["out.weight"].abs().max().item() <= bound


def test_padding_row_by_global_index(tmp_path):
    """nn.Embedding(padding_idx=1) written in chunks zeroes global row 1 only (not row 1 of
    every chunk); fill_shard_ of a box zeroes the row only where the box holds it."""
    with torch.device("meta"):
        emb = nn.Embedding(5000, 64, padding_idx=1)
    path = tmp_path / "e.safetensors"
    checkpoint.write_safetensors(path, checkpoint.module_specs(emb), seed=3,
                                 chunk_bytes=64 * 4 * 700)  # 700 rows per chunk
    w = checkpoint.read_safetensors(path)["weight"]
    assert np.flatnonzero(~w.any(1)).tolist() == [1]
    np.testing.assert_array_equal(w, ft.init_module_(nn.Embedding(5000, 64, padding_idx=1),
                                                     seed=3).weight.detach().numpy())
    whole = init.embedding_default_(np.empty((300, 8), np.float32), padding_idx=-50, seed=9)
    assert np.flatnonzero(~whole.any(1)).tolist() == [250]
    for first in (0, 100, 240):
        local = torch.empty(60, 8)
        ft.fill_shard_(local, (300, 8), (first, 0), init.embedding_default_,
                       padding_idx=-50, seed=9)
        np.testing.assert_array_equal(local.numpy(), whole[first:first + 60])


def test_scratch_fills_copied_in_take_the_law():
    """Init code that fills a scratch tensor and copies it in whole (torch's conv on a
    channels_last weight, transformers' float32 orthogonal_ for bfloat16) gives the
    parameter fastinit's fill of that law under the parameter's seed."""
    import ml_dtypes

    hf_init = importlib.import_module("transformers.initialization")
    conv = nn.Conv2d(3, 8, 3).to(memory_format=torch.channels_last)
    ft.init_module_(conv, seed=0)
    np.testing.assert_array_equal(conv.weight.detach().contiguous().numpy(), init.kaiming_uniform(
        (8, 3, 3, 3), a=math.sqrt(5), seed=ft.param_seed(0, "weight")))

    class Orth(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.empty(16, 16, dtype=torch.bfloat16))

        def reset_parameters(self):
            hf_init.orthogonal_(self.w, gain=2.0)

    m = ft.init_module_(Orth(), seed=2)
    expect = init.orthogonal_(np.empty((16, 16), ml_dtypes.bfloat16), 2.0,
                              seed=ft.param_seed(2, "w"))
    assert torch.equal(m.w.detach(), ft.to_torch(expect))


def _timm_trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0):
    """timm.layers.trunc_normal_ (timm is not a dependency): inverse CDF by torch's
    Tensor methods on the parameter itself."""
    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    with torch.no_grad():
        lo, hi = norm_cdf((a - mean) / std), norm_cdf((b - mean) / std)
        tensor.uniform_(2 * lo - 1, 2 * hi - 1)
        tensor.erfinv_()
        tensor.mul_(std * math.sqrt(2.0))
        tensor.add_(mean)
        tensor.clamp_(min=a, max=b)
        return tensor


def test_timm_style_tensor_methods():
    """A fill made of Tensor methods (uniform_, then elementwise erfinv_/mul_/add_/clamp_)
    is replayed in order: fastinit's uniform_ under the tensor's seed, then torch's
    elementwise methods; the same law as the model's, bounds kept, on every path."""

    class PosEmbed(nn.Module):
        def __init__(self):
            super().__init__()
            self.pos = nn.Parameter(torch.empty(1, 200, 64))
            self.reset_parameters()

        def reset_parameters(self):
            _timm_trunc_normal_(self.pos, std=0.02, a=-0.03, b=0.03)

    torch.manual_seed(0)
    ref = PosEmbed().pos.detach().numpy().ravel()
    with torch.device("meta"):
        meta = PosEmbed()
    ft.materialize_(meta, seed=3)
    ours = meta.pos.detach().numpy().ravel()
    assert stats.ks_2samp(ours, ref).pvalue > ALPHA
    assert np.abs(ours).max() <= 0.03
    eager = ft.init_module_(PosEmbed(), seed=3)
    np.testing.assert_array_equal(eager.pos.detach().numpy().ravel(), ours)
    lo, hi = ((1.0 + math.erf(x / math.sqrt(2.0))) / 2.0 for x in (-1.5, 1.5))
    u = init.uniform((1, 200, 64), 2 * lo - 1, 2 * hi - 1, seed=ft.param_seed(3, "pos"))
    expect = torch.from_numpy(u).erfinv_().mul_(0.02 * math.sqrt(2.0)).add_(0.0).clamp_(
        min=-0.03, max=0.03)
    np.testing.assert_array_equal(ours, expect.numpy().ravel())


def test_init_code_that_cannot_be_replayed_raises():
    class Renorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.empty(8, 8))

        def reset_parameters(self):
            nn.init.normal_(self.w)
            self.w.div_(self.w.norm())

    with pytest.raises(ValueError, match=r"writes w \(div_\)"):
        ft.init_module_(Renorm(), seed=0)
    m = ft.init_module_(Renorm(), seed=0, recipes={"w": init.orthogonal_})
    np.testing.assert_allclose(m.w.detach().numpy() @ m.w.detach().numpy().T, np.eye(8),
                               atol=1e-5)


MODULE_FILE = """
import torch
import transformers

def gpt2():
    return transformers.GPT2LMHeadModel(transformers.GPT2Config(
        n_layer=2, n_embd=64, n_head=4, vocab_size=1000, n_positions=128,
        bos_token_id=0, eos_token_id=0))
"""


def _cli(tmp_path, *args):
    code = "import sys; from fastinit.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, "checkpoint", "--no-progress", *args],
                          capture_output=True, text=True, cwd=tmp_path, timeout=300)


def test_cli_module_from_cwd_and_recipes(tmp_path):
    (tmp_path / "tinymods.py").write_text(textwrap.dedent(MODULE_FILE))
    proc = _cli(tmp_path, "--module", "tinymods:gpt2", "--out", "g.safetensors", "--seed", "1",
                "--recipe", "*.c_proj.weight=normal_(std=0.5)",
                "--recipe", "*.ln_f.bias=constant_(val=0.25)")
    assert proc.returncode == 0, proc.stderr
    got = checkpoint.read_safetensors(tmp_path / "g.safetensors")
    assert "lm_head.weight" not in got  # tied: written once, as transformers saves it
    name = "transformer.h.0.attn.c_proj.weight"
    np.testing.assert_array_equal(got[name], init.normal(got[name].shape, 0.0, 0.5,
                                                         seed=ft.param_seed(1, name)))
    assert (got["transformer.ln_f.bias"] == 0.25).all()
    assert abs(got["transformer.wte.weight"].std() / 0.02 - 1) < 0.05


@pytest.mark.parametrize("bad", ["*.weight=normal_(std=-1)", "*.weight=os.system('x')",
                                 "*.weight=normal_(1)", "*.weight=normal_(sd=2)",
                                 "*.weight=compute_fans", "*.weight=normal_(std=x)",
                                 "nonsense"])
def test_cli_bad_recipe(tmp_path, monkeypatch, capsys, bad):
    from fastinit.cli import main

    (tmp_path / "tinymods.py").write_text(textwrap.dedent(MODULE_FILE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    with pytest.raises(SystemExit) as exc:
        main(["checkpoint", "--no-progress", "--module", "tinymods:gpt2", "--out",
              "b.safetensors", "--recipe", bad])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fastinit checkpoint: error:"), err
    assert not (tmp_path / "b.safetensors").exists()


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_cli_config_loads_in_transformers(tmp_path, kind):
    from fastinit.cli import main

    CONFIGS[kind]().save_pretrained(tmp_path / "cfg")
    assert main(["checkpoint", "--no-progress", "--config",
                 str(tmp_path / "cfg" / "config.json"), "--out", str(tmp_path / "out"),
                 "--seed", "2"]) == 0
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("transformers")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model, info = transformers.AutoModelForCausalLM.from_pretrained(
                tmp_path / "out", output_loading_info=True)
    finally:
        logger.removeHandler(handler)
    assert not any(info.values()), info
    assert not records and not caught, ([r.getMessage() for r in records],
                                        [str(w.message) for w in caught])
    with torch.device("meta"):
        meta = BUILD[kind](CONFIGS[kind]())
    ft.materialize_(meta, seed=2)
    for name, t in _tensors(meta).items():
        torch.testing.assert_close(_tensors(model)[name], t, rtol=0, atol=0, msg=name)
    if kind == "gpt2":
        assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    with pytest.raises(SystemExit) as exc:  # a failed write leaves no config behind
        main(["checkpoint", "--no-progress", "--config", str(tmp_path / "cfg"), "--out",
              str(tmp_path / "bad"), "--recipe", "*.weight=normal_(std=-1)"])
    assert exc.value.code == 2
    assert not list((tmp_path / "bad").iterdir())


def test_importable_without_transformers():
    code = ("import sys; sys.modules['transformers'] = None; sys.modules['accelerate'] = None\n"
            "import torch, fastinit.torch as ft\n"
            "m = ft.init_module_(torch.nn.Linear(4, 3), seed=0)\n"
            "assert 'transformers' not in sys.modules or sys.modules['transformers'] is None")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr

