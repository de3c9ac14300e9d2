"""Models of many small stock layers: build takes the stock-layer path (one fill_many
call, no plan) with the values of the plan, and leaves it whenever a write made while
building would be lost."""

import numpy as np
import pytest

from fastinit import _core
from fastinit import init as fi

torch = pytest.importorskip("torch", reason="torch is not installed")
ft = pytest.importorskip("fastinit.torch")
from fastinit import _torch_own_init, _torch_record  # noqa: E402


def _small():
    nn = torch.nn
    return nn.Sequential(*(nn.Linear(16, 16) for _ in range(20)), nn.LayerNorm(16),
                         nn.Conv2d(3, 4, 3), nn.GELU())


def test_build_of_stock_layers_is_one_call_with_the_plans_values(monkeypatch):
    calls, known = [], []
    original, fill_known = _core.fill_many, ft._fill_known
    monkeypatch.setattr(_core, "fill_many", lambda *a: calls.append(len(a[0])) or original(*a))
    monkeypatch.setattr(ft, "_fill_known", lambda *a: known.append(fill_known(*a)) or known[-1])
    got = ft.build(_small, seed=5).state_dict()
    assert known == [True] and calls == [len(got)]
    monkeypatch.undo()
    with monkeypatch.context() as m:
        m.setattr(_torch_own_init, "_stock_layers", lambda *a: None)
        ref = ft.build(_small, seed=5).state_dict()
    assert got.keys() == ref.keys()
    for name, value in got.items():
        assert value.view(torch.uint8).equal(ref[name].view(torch.uint8)), name
    assert torch.equal(got["20.weight"], torch.ones(16))


def test_build_keeps_a_write_to_a_parameter_held_as_a_buffer(monkeypatch):
    """A Parameter registered as a buffer and filled while building: no init code writes
    it, yet the build's write is replayed under its name (the plan), not left as
    torch.empty left it."""
    class Holder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(6, 4)
            self.register_buffer("scale", torch.nn.Parameter(torch.empty(3, 5)))
            torch.nn.init.normal_(self.scale, std=0.5)

    known = []
    fill_known = ft._fill_known
    monkeypatch.setattr(ft, "_fill_known", lambda *a: known.append(fill_known(*a)) or known[-1])
    model = ft.build(Holder, seed=2)
    assert known == [False]
    ref = fi.normal_(np.empty((3, 5), np.float32), std=0.5, seed=ft.param_seed(2, "scale"))
    assert model.scale.detach().numpy().tobytes() == ref.tobytes()
    lin = ft.init_module_(torch.nn.Linear(6, 4), seed=2, prefix="lin.")
    assert torch.equal(model.lin.weight, lin.weight) and torch.equal(model.lin.bias, lin.bias)


@pytest.mark.parametrize("op, args, kwargs", [
    ("kaiming_uniform_", (), {"a": 5**0.5}),
    ("kaiming_uniform_", (0.1, "fan_out"), {}),
    ("uniform_", (-0.5, 0.5), {}),
    ("uniform_", (-0.5,), {"b": 0.5, "generator": None}),
    ("trunc_normal_", (0.0, 1.0, -2.0), {"b": 2.0}),
    ("constant_", (0.5,), {}),
    ("xavier_uniform_", (), {"gain": 2.0, "generator": None}),
])
def test_recorded_law_is_the_bound_call_without_tensor_and_generator(op, args, kwargs):
    import inspect

    fn = getattr(torch.nn.init, op)
    t = torch.empty(4, 4)
    bound = inspect.signature(fn).bind(t, *args, **kwargs)
    bound.apply_defaults()
    law = {k: v for k, v in bound.arguments.items() if k not in ("tensor", "generator")}
    tensor, got = _torch_record._tensor_and_law(fn, (t, *args), kwargs)
    assert tensor is t and got == law
    if not args:  # the tensor by keyword
        tensor, got = _torch_record._tensor_and_law(fn, (), {"tensor": t, **kwargs})
        assert tensor is t and got == law


@pytest.mark.parametrize("args, kwargs", [
    ((), {}),  # tensor missing
    ((torch.empty(2, 2),), {"tensor": torch.empty(2, 2)}),  # given twice
    ((torch.empty(2, 2), 0.0), {"a": 1.0}),  # given twice
    ((torch.empty(2, 2), 0.0, 1.0, None, 5), {}),  # too many
    ((torch.empty(2, 2),), {"low": 0.0}),  # unknown name
])
def test_recorded_law_of_bad_arguments_raises_as_the_call(args, kwargs):
    with pytest.raises(TypeError):
        torch.nn.init.uniform_(*args, **kwargs)
    with pytest.raises(TypeError):
        _torch_record._tensor_and_law(torch.nn.init.uniform_, args, kwargs)


@pytest.mark.parametrize("fill, value", [("ones_", 1.0), ("zeros_", 0.0), ("constant_", -2.5)])
@pytest.mark.parametrize("grad", [True, False])
def test_constant_fast_path_leaves_the_grad_mode_as_it_was(fill, value, grad):
    """ones_/zeros_/constant_ on a parameter that requires grad and on a non-leaf: the
    values written, no graph, the version counter moved, the grad mode unchanged."""
    args = (value,) if fill == "constant_" else ()
    p = torch.nn.Parameter(torch.empty(4, 6))
    with torch.set_grad_enabled(grad):
        for t in (p, p * 2):
            version = t._version
            assert getattr(ft, fill)(t, *args, seed=1) is t
            assert torch.is_grad_enabled() is grad
            assert t._version > version
            assert torch.equal(t.detach(), torch.full((4, 6), value))
    assert p.is_leaf and p.requires_grad and p.grad_fn is None


def test_one_recorded_law_object_for_tensors_of_other_shapes_and_dtypes():
    """_fill_batch looks a law object shared by several tensors up by identity, shape
    and dtype: each tensor still gets its own fans and dtype (the per-tensor replay)."""
    from fastinit import _torch_plan

    law = {"a": 5**0.5, "mode": "fan_in", "nonlinearity": "leaky_relu"}
    ops = ((None, "kaiming_uniform_", law),)
    shapes = [((8, 4), torch.float32), ((8, 4), torch.float32), ((3, 16), torch.float32),
              ((8, 4), torch.float64), ((5, 4, 3, 3), torch.bfloat16)]
    jobs = [(f"t{k}", torch.empty(shape, dtype=dtype), _torch_plan._Replay(ops))
            for k, (shape, dtype) in enumerate(shapes)]
    assert _torch_plan._fill_batch(jobs, 7) == []
    for name, t, fill in jobs:
        ref = torch.empty_like(t)
        fill(_torch_plan.as_out(ref, name), ft.param_seed(7, name))
        assert ref.view(torch.uint8).equal(t.view(torch.uint8)), name


@pytest.mark.parametrize("args, kwargs", [
    ((), {"low": 0.0}),  # unknown name
    ((0.0,), {"a": 1.0}),  # given twice
    ((0.0, 1.0, None, 5), {}),  # too many
])
def test_build_raises_as_the_call_for_bad_arguments(args, kwargs):
    """A factory's torch.nn.init call whose arguments do not bind raises torch's
    TypeError while building, also after calls of a good shape were let through."""
    def factory(*fill_args, **fill_kwargs):
        model = torch.nn.Linear(4, 4)
        torch.nn.init.uniform_(model.weight, *fill_args, **fill_kwargs)
        return model

    for _ in range(2):
        ft.build(factory, -1.0, b=1.0, seed=0)
        with pytest.raises(TypeError):
            ft.build(factory, *args, **kwargs, seed=0)


class _Tied(torch.nn.Module):
    """Stock layers with a tied output head (GPT-2's lm_head), an embedding with a
    padding row, and one Linear registered in two places."""

    def __init__(self, padding_idx=None):
        super().__init__()
        nn = torch.nn
        self.wte = nn.Embedding(40, 8, padding_idx=padding_idx)
        self.wpe = nn.Embedding(6, 8)
        shared = nn.Linear(8, 8)
        self.blocks = nn.ModuleList([nn.Sequential(nn.LayerNorm(8), shared, nn.GELU()),
                                     nn.Sequential(shared, nn.Linear(8, 8))])
        self.head = nn.Linear(8, 40, bias=False)
        self.head.weight = self.wte.weight


@pytest.mark.parametrize("way", ["build", "init_module_", "materialize_"])
@pytest.mark.parametrize("padding_idx", [None, 3])
def test_embeddings_ties_and_shared_layers_take_the_stock_path(monkeypatch, way, padding_idx):
    """Embeddings (with or without a padding row), a tied head and a layer held twice
    are stock layers: without a padding row one fill_many call, no plan; either way the
    values of the recording path, the tie kept, the tied weight with its first owner's
    law (the embedding's N(0, 1), not the head's kaiming uniform)."""
    def make():
        if way == "build":
            return ft.build(_Tied, padding_idx, seed=6)
        if way == "init_module_":
            return ft.init_module_(_Tied(padding_idx), seed=6)
        with torch.device("meta"):
            model = _Tied(padding_idx)
        return ft.materialize_(model, seed=6)

    assert _torch_own_init._stock_layers(_Tied(padding_idx)) is not None
    known = []
    fill_known = ft._fill_known
    monkeypatch.setattr(ft, "_fill_known", lambda *a: known.append(fill_known(*a)) or known[-1])
    model = make()
    if way != "materialize_":
        assert known == [padding_idx is None]
    monkeypatch.undo()
    with monkeypatch.context() as m:
        m.setattr(_torch_own_init, "_stock_layers", lambda *a: None)
        ref = make()
    assert model.head.weight is model.wte.weight
    assert model.blocks[0][1] is model.blocks[1][0]
    got, want = model.state_dict(), ref.state_dict()
    assert got.keys() == want.keys()
    for name, value in got.items():
        assert value.view(torch.uint8).equal(want[name].view(torch.uint8)), name
    w = fi.normal_(np.empty((40, 8), np.float32), seed=ft.param_seed(6, "wte.weight"))
    if padding_idx is not None:
        w[padding_idx] = 0.0
    assert model.wte.weight.detach().numpy().tobytes() == w.tobytes()
