"""fastinit.torch: in-place fills of torch tensors, init_module_ against each layer's own
reset_parameters, name-keyed values, meta materialization, shard fills."""

import functools
import math
import sys

import numpy as np
import pytest
from scipy import stats

import fastinit
from fastinit import init

torch = pytest.importorskip("torch")
nn = torch.nn
ft = pytest.importorskip("fastinit.torch")

ALPHA = 1e-6


class Net(nn.Module):
    def __init__(self, order=0):
        super().__init__()
        layers = {
            "fc": lambda: nn.Linear(300, 200),
            "conv": lambda: nn.Conv2d(16, 32, 3, groups=2),
            "deconv": lambda: nn.ConvTranspose2d(32, 24, 3),
            "emb": lambda: nn.Embedding(500, 64, padding_idx=3),
            "ln": lambda: nn.LayerNorm(64),
            "bn": lambda: nn.BatchNorm2d(32),
            "attn": lambda: nn.MultiheadAttention(64, 4, add_bias_kv=True),
            "lstm": lambda: nn.LSTM(40, 50, num_layers=2),
            "gru": lambda: nn.GRU(30, 60),
        }
        names = list(layers) if order == 0 else list(reversed(layers))
        for name in names:
            setattr(self, name, layers[name]())


def _params(module):
    return dict(module.named_parameters()) | dict(module.named_buffers())


def test_in_place_fills_follow_logical_index():
    t = torch.empty(16, 8, 3, 3).to(memory_format=torch.channels_last)
    ft.kaiming_normal_(t, seed=3)
    np.testing.assert_array_equal(t.contiguous().numpy(),
                                  init.kaiming_normal((16, 8, 3, 3), seed=3))
    w = torch.empty(20, 30).t()  # a transposed view
    ft.xavier_uniform_(w, seed=1)
    np.testing.assert_array_equal(w.contiguous().numpy(), init.xavier_uniform((30, 20), seed=1))
    p = nn.Parameter(torch.empty(5, 4))
    assert ft.orthogonal_(p, seed=2) is p and p.requires_grad
    meta = torch.empty(3, 3, device="meta")
    assert ft.normal_(meta, seed=1) is meta


def test_init_module_matches_torch_defaults():
    torch.manual_seed(0)
    theirs = _params(Net())
    ours = _params(ft.init_module_(Net(), seed=7))
    assert ours.keys() == theirs.keys()
    for name, t in theirs.items():
        a, b = ours[name].detach().numpy(), t.detach().numpy()
        if name.endswith(("running_mean", "running_var", "num_batches_tracked")) or \
                name in ("ln.weight", "ln.bias", "bn.weight", "bn.bias", "attn.in_proj_bias",
                         "attn.out_proj.bias"):
            np.testing.assert_array_equal(a, b, err_msg=name)
        elif name == "emb.weight":
            assert not a[3].any()
            assert stats.ks_2samp(np.delete(a, 3, 0).ravel(),
                                  np.delete(b, 3, 0).ravel()).pvalue > ALPHA
        else:
            # same law: two-sample KS, and the same support
            assert stats.ks_2samp(a.ravel(), b.ravel()).pvalue > ALPHA, name
            assert np.abs(a).max() <= np.abs(b).max() * 1.05 + 1e-6 or b.size < 200, name


def test_values_keyed_by_name_not_order_or_threads():
    a = _params(ft.init_module_(Net(order=0), seed=11))
    before = fastinit.get_num_threads()
    fastinit.set_num_threads(1)
    try:
        b = _params(ft.init_module_(Net(order=1), seed=11))
    finally:
        fastinit.set_num_threads(before)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)
    # initializing a part gives that part's values
    fc = ft.init_module_(nn.Linear(300, 200), seed=11, prefix="fc.")
    torch.testing.assert_close(fc.weight, a["fc.weight"], rtol=0, atol=0)
    torch.testing.assert_close(fc.bias, a["fc.bias"], rtol=0, atol=0)


def test_recipes_and_strictness():
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(64, 64)
            self.scale = nn.Parameter(torch.empty(64))

    with pytest.raises(ValueError, match="no recipe for scale"):
        ft.init_module_(Custom(), seed=1)
    m = ft.init_module_(Custom(), seed=1, recipes={
        "scale": lambda t, seed: init.constant_(t, 0.5),
        "*.weight": functools.partial(ft.normal_, std=0.02),
    })
    assert (m.scale == 0.5).all()
    assert abs(m.proj.weight.std().item() / 0.02 - 1) < 6 / math.sqrt(2 * 64 * 64)
    m2 = Custom()
    before = m2.scale.detach().clone()
    ft.init_module_(m2, seed=1, strict=False)
    torch.testing.assert_close(m2.scale, before, equal_nan=True)


def test_materialize_equals_eager_then_init():
    eager = ft.init_module_(Net(), seed=5)
    with torch.device("meta"):
        lazy = Net()
    assert all(p.is_meta for p in lazy.parameters())
    ft.materialize_(lazy, seed=5)
    a, b = _params(eager), _params(lazy)
    for name in a:
        assert b[name].device.type == "cpu"
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)


def test_materialize_keeps_tied_weights():
    class Tied(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(100, 16)
            self.head = nn.Linear(16, 100, bias=False)
            self.head.weight = self.wte.weight

    with torch.device("meta"):
        m = Tied()
    ft.materialize_(m, seed=3)
    assert m.head.weight is m.wte.weight
    torch.testing.assert_close(m.wte.weight, ft.init_module_(Tied(), seed=3).wte.weight,
                               rtol=0, atol=0)


def test_materialize_needs_every_buffer():
    class WithMask(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.register_buffer("mask", torch.tril(torch.ones(4, 4)))

    with torch.device("meta"):
        m = WithMask()
    with pytest.raises(ValueError, match="no recipe for mask"):
        ft.materialize_(m, seed=1)
    assert m.fc.weight.is_meta  # nothing allocated
    ft.materialize_(m, seed=1, recipes={
        "mask": lambda t, seed: np.copyto(t, np.tril(np.ones((4, 4), t.dtype)))})
    assert m.mask.tolist() == torch.tril(torch.ones(4, 4)).tolist()


@pytest.mark.parametrize("fill,args", [(init.kaiming_uniform_, ()), (init.normal_, (0.0, 0.5)),
                                       (init.trunc_normal_, (0.0, 1.0, -1.0, 1.5)),
                                       (init.orthogonal_, ()), (init.sparse_, (0.3,))])
def test_fill_shard_equals_slice(fill, args):
    whole = np.empty((48, 40), np.float32)
    fill(whole, *args, seed=9)
    for offsets, shape in [((0, 0), (48, 40)), ((16, 0), (16, 40)), ((0, 10), (48, 20)),
                           ((7, 13), (11, 17))]:
        local = torch.empty(shape)
        ft.fill_shard_(local, (48, 40), offsets, fill, *args, seed=9)
        expect = whole[offsets[0]:offsets[0] + shape[0], offsets[1]:offsets[1] + shape[1]]
        np.testing.assert_array_equal(local.numpy(), expect)


def test_shard_float64_odd_offsets_and_bad_box():
    whole = fastinit.normal((9, 7, 5), seed=2, dtype=np.float64)
    local = np.empty((4, 3, 5))
    with fastinit.shard((9, 7, 5), (3, 1, 0)):
        fastinit.normal(None, seed=2, out=local)
    np.testing.assert_array_equal(local, whole[3:7, 1:4])
    # a trailing axis of length 1 (the box's innermost index step is then 7, not 1), and
    # a transposed local buffer
    col = fastinit.normal((9, 7, 1), seed=4, dtype=np.float32)
    part = np.empty((1, 3, 4), np.float32).transpose(2, 1, 0)
    with fastinit.shard((9, 7, 1), (5, 2, 0)):
        fastinit.normal(None, seed=4, out=part)
    np.testing.assert_array_equal(part, col[5:9, 2:5])
    with pytest.raises(ValueError, match="exceeds"):
        with fastinit.shard((9, 7, 5), (8, 0, 0)):
            fastinit.normal(None, seed=2, out=local)


def test_build_restores_bindings_of_modules_imported_meanwhile(tmp_path, monkeypatch):
    """A module first imported while build (or the recording) runs binds the replaced
    torch.nn.init functions (``from torch.nn.init import ...``): they are set back to
    torch's, and the layer it defines gets its law by name as any other."""
    (tmp_path / "fastinit_test_late_layer.py").write_text(
        "import torch\n"
        "from torch.nn.init import normal_, zeros_\n"
        "class Late(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.w = torch.nn.Parameter(torch.empty(40, 30))\n"
        "        self.b = torch.nn.Parameter(torch.empty(30))\n"
        "        self.reset_parameters()\n"
        "    def reset_parameters(self):\n"
        "        normal_(self.w, std=0.5)\n"
        "        zeros_(self.b)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fastinit_test_late_layer", raising=False)

    def factory():
        import fastinit_test_late_layer

        return fastinit_test_late_layer.Late()

    m = ft.build(factory, seed=4)
    late = sys.modules["fastinit_test_late_layer"]
    assert late.normal_ is torch.nn.init.normal_ and late.zeros_ is torch.nn.init.zeros_
    np.testing.assert_array_equal(m.w.detach().numpy(), init.normal(
        (40, 30), 0.0, 0.5, seed=ft.param_seed(4, "w")))
    assert not m.b.detach().any()
    again = ft.init_module_(late.Late(), seed=4)  # recorded again, module already loaded
    torch.testing.assert_close(again.w, m.w, rtol=0, atol=0)
