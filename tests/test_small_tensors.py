"""The cheap paths for small tensors give the same bits and the same errors as the
general ones: the serial fill below the parallel threshold, the contiguous fast path,
remembered laws, torch tensors shared through .numpy(), the checked-once fill_out, and
the whole-model fill's worker shares."""

import math

import ml_dtypes
import numpy as np
import pytest

import fastinit
from fastinit import _core
from fastinit import _generate as g
from fastinit import init as fi

SERIAL_BELOW = 131072  # fastinit/_core.pyx: smaller fills run on the calling thread


@pytest.mark.parametrize("n", [SERIAL_BELOW - 129, SERIAL_BELOW - 1, SERIAL_BELOW,
                               SERIAL_BELOW + 1, SERIAL_BELOW + 131])
@pytest.mark.parametrize("fill", [fastinit.uniform, fastinit.normal,
                                  fastinit.truncated_normal])
def test_serial_and_parallel_fills_agree_around_the_threshold(n, fill):
    """One thread, two threads, and the elements as pieces filled below the threshold
    (offset = their index) are the same bits."""
    previous = _core.get_num_threads()
    try:
        _core.set_num_threads(2)
        parallel = fill((n,), seed=11, stream=3)
        with g.fill_threads(1):
            serial = fill((n,), seed=11, stream=3)
    finally:
        _core.set_num_threads(previous)
    pieces = np.concatenate([fill((min(1000, n - k),), seed=11, stream=3, offset=k)
                             for k in range(0, n, 1000)])
    assert parallel.tobytes() == serial.tobytes() == pieces.tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, ml_dtypes.bfloat16])
def test_contiguous_fast_path_equals_the_strided_path(dtype):
    """A C-contiguous out (fast path) and a strided or Fortran-ordered view of the same
    logical shape (axis merging) get the same values in logical order."""
    fast = np.empty((5, 7), dtype)
    fastinit.normal(None, out=fast, seed=2, offset=9)
    strided = np.empty((5, 14), dtype)[:, ::2]
    fastinit.normal(None, out=strided, seed=2, offset=9)
    fortran = np.asfortranarray(np.empty((5, 7), dtype))
    fastinit.normal(None, out=fortran, seed=2, offset=9)
    assert fast.tobytes() == np.ascontiguousarray(strided).tobytes() == \
        np.ascontiguousarray(fortran).tobytes()


def test_remembered_law_keeps_the_sign_of_zero():
    """0.0 and -0.0 are different constants for the kernel, whichever was asked for
    first; the values equal those of the law computed afresh."""
    f32 = np.dtype(np.float32)
    for first, second in ((0.0, -0.0), (-0.0, 0.0)):
        for zero in (first, second):
            for law, fresh in ((g._uniform_params(zero, 1.0, f32),
                                g._uniform_law.__wrapped__(zero, 1.0, f32)),
                               (g._normal_params(zero, 0.5, f32),
                                g._normal_law.__wrapped__(zero, 0.5, f32))):
                assert math.copysign(1, law["a"]) == math.copysign(1, zero)
                assert [x.hex() for x in law.consts] == [x.hex() for x in fresh.consts]


def test_remembered_law_is_read_only_and_errors_repeat():
    law = g._uniform_params(0.0, 1.0, np.dtype(np.float32))
    with pytest.raises(TypeError):
        law["a"] = 5.0  # a shared law cannot be changed under other callers
    assert law.consts == (law["a"], law["b"], law["lo"], law["hi"], 0.0, 0.0)
    for _ in range(2):  # a failed check is not remembered as a pass
        with pytest.raises(ValueError, match="low must be <= high"):
            fastinit.uniform((3,), 2.0, 1.0, seed=0)
        with pytest.raises(TypeError, match="low must be a real scalar"):
            fastinit.uniform((3,), True, 1.0, seed=0)


def test_common_type_checks_still_refuse_bad_values():
    out = np.empty(8, np.float32)
    with pytest.raises(ValueError, match="seed must be in"):
        fastinit.uniform(None, out=out, seed=1 << 64)
    with pytest.raises(TypeError, match="seed must be an integer"):
        fastinit.uniform(None, out=out, seed=True)
    with pytest.raises(ValueError, match="low must be finite"):
        fastinit.uniform(None, float("inf"), 1.0, out=out, seed=0)
    with pytest.raises(TypeError, match="out.dtype must be native byte order"):
        fastinit.uniform(None, out=np.empty(8, ">f4"), seed=0)
    with pytest.raises(ValueError, match="more than one element"):
        fastinit.uniform(None, seed=0, out=np.lib.stride_tricks.as_strided(
            np.empty(1, np.float32), (8,), (0,)))
    with pytest.raises(ValueError, match="val must lie in float16's range"):
        fi.constant_(np.empty(4, np.float16), 1e5)
    nan = fi.constant_(np.empty(4, np.float32), float("nan"))  # as torch's constant_
    assert np.isnan(nan).all()


def test_fill_out_is_reached_only_after_the_public_checks():
    """The in-place initializers fill through fill_out after as_out and the law's
    checks: a read-only, overlapping or integer out, or a law that does not fit the
    dtype, raises before anything is written."""
    ro = np.zeros(6, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        fi.uniform_(ro, seed=0)
    over = np.lib.stride_tricks.as_strided(np.zeros(4, np.float32), (4, 4), (4, 4))
    with pytest.raises(ValueError, match="more than one element"):
        fi.normal_(over, seed=0)
    with pytest.raises(TypeError, match="dtype"):
        fi.trunc_normal_(np.zeros(4, np.int32), seed=0)
    half = np.zeros(4, np.float16)
    with pytest.raises(ValueError):
        fi.normal_(half, std=1e5, seed=0)
    assert not half.any()
    with pytest.raises(ValueError):
        fi.uniform_(half, -1e6, 1e6, seed=0)
    assert not half.any()


def test_kaiming_law_is_remembered_by_type_and_value():
    w = np.empty((8, 8), np.float32)
    for _ in range(2):
        with pytest.raises(TypeError):
            fi.kaiming_uniform_(w, a=True, seed=0)
        with pytest.raises(ValueError, match="mode"):
            fi.kaiming_uniform_(w, mode="fan_both", seed=0)
    ref = fi.kaiming_uniform_(np.empty((8, 8), np.float32), a=0.0, seed=4).copy()
    assert fi.kaiming_uniform_(w, a=np.array(0.0), seed=4).tobytes() == ref.tobytes()
    assert fi.kaiming_uniform_(w, a=0, mode="FAN_IN", seed=4).tobytes() == ref.tobytes()


torch = pytest.importorskip("torch", reason="torch is not installed")
ft = pytest.importorskip("fastinit.torch")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16,
                                   torch.bfloat16])
def test_torch_tensor_filled_in_place_as_numpy(dtype):
    """Shared through .numpy() (DLPack for bfloat16): the tensor's own memory gets the
    numpy fill's bits, and its version counter moves."""
    t = torch.empty(33, 5, dtype=dtype)
    version = t._version
    ft.normal_(t, std=0.5, seed=8)
    np_dtype = ml_dtypes.bfloat16 if dtype == torch.bfloat16 else \
        torch.empty(0, dtype=dtype).numpy().dtype
    ref = fi.normal_(np.empty((33, 5), np_dtype), std=0.5, seed=8)
    bits = torch.int16 if dtype in (torch.float16, torch.bfloat16) else None
    got = t.view(bits).numpy() if bits else t.numpy()
    assert got.tobytes() == ref.tobytes()
    assert t._version > version


def test_torch_checks_unchanged_on_the_numpy_path():
    p = torch.nn.Parameter(torch.empty(4, 4))
    with pytest.raises(ValueError, match="requires grad"):
        fi.uniform_(p, seed=0)
    with pytest.raises(ValueError, match="negative bit"):
        fi.uniform_(torch.empty(4)._neg_view(), seed=0)
    with pytest.raises(ValueError, match="more than one element"):
        fi.uniform_(torch.empty(1, 4).expand(3, 4), seed=0)
    with pytest.raises(TypeError, match="dtype"):
        fi.uniform_(torch.zeros(4, dtype=torch.int64), seed=0)
    ints = torch.zeros(4, dtype=torch.int64)
    fi.constant_(ints, 3)
    assert ints.tolist() == [3, 3, 3, 3]


def _linear_stack():
    torch.manual_seed(0)
    return torch.nn.Sequential(*[torch.nn.Linear(16, 8 + k % 5) for k in range(60)])


@pytest.mark.parametrize("pool_min", [0, 1 << 40])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_model_fill_does_not_depend_on_workers(monkeypatch, pool_min, threads):
    """Worker shares (or the calling thread alone) change nothing: each tensor is
    a pure function of (seed, its name)."""
    ref = {n: p.detach().clone() for n, p in
           ft.init_module_(_linear_stack(), seed=5).named_parameters()}
    monkeypatch.setattr(ft, "_POOL_MIN", pool_min)
    previous = _core.get_num_threads()
    try:
        _core.set_num_threads(threads)
        model = ft.init_module_(_linear_stack(), seed=5)
    finally:
        _core.set_num_threads(previous)
    for name, p in model.named_parameters():
        assert torch.equal(p, ref[name]), name
        w = np.empty(tuple(p.shape), np.float32)
        law = fi.kaiming_uniform_ if name.endswith("weight") else None
        if law is not None:
            law(w, a=math.sqrt(5), seed=ft.param_seed(5, name))
            assert w.tobytes() == p.detach().numpy().tobytes(), name


class _Reset(torch.nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.w = torch.nn.Parameter(torch.empty(3, 3))
        self.kind = kind

    def reset_parameters(self, *args, scale=None):
        if args or scale is not None:
            raise AssertionError("called with arguments")
        torch.nn.init.normal_(self.w)


class _NeedsArg(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.empty(3, 3))
        torch.nn.init.zeros_(self.w)

    def reset_parameters(self, value):
        torch.nn.init.constant_(self.w, value)


def test_reset_methods_taking_arguments():
    """A reset method callable without arguments is run (its answer remembered per
    function); one that needs an argument is not, whatever was asked before."""
    for _ in range(2):
        m = ft.init_module_(_Reset("a"), seed=1)
        ref = fi.normal_(np.empty((3, 3), np.float32), seed=ft.param_seed(1, "w"))
        assert m.w.detach().numpy().tobytes() == ref.tobytes()
        with pytest.raises(ValueError, match="no recipe for w"):
            ft.init_module_(_NeedsArg(), seed=1)


@pytest.mark.parametrize("op, args, kwargs", [
    ("kaiming_uniform_", (), {"a": 5**0.5}),
    ("kaiming_uniform_", (0.1, "fan_out"), {}),
    ("kaiming_normal_", (), {"nonlinearity": "relu", "mode": "fan_in"}),
    ("uniform_", (-0.5, 0.5), {}),
    ("normal_", (), {"std": 0.02}),
    ("trunc_normal_", (0.0, 1.0, -2.0), {"b": 2.0}),
    ("constant_", (0.5,), {}),
    ("xavier_uniform_", (), {"gain": 2.0, "generator": None}),
])
def test_recorded_call_binds_as_inspect(op, args, kwargs):
    """The remembered parameter lists bind a call exactly as inspect's bind +
    apply_defaults."""
    import inspect

    fn = getattr(torch.nn.init, op)
    t = torch.empty(4, 4)
    bound = inspect.signature(fn).bind(t, *args, **kwargs)
    bound.apply_defaults()
    assert ft._bind(fn, (t, *args), kwargs) == dict(bound.arguments)


@pytest.mark.parametrize("args, kwargs", [
    ((), {}),  # tensor missing
    ((torch.empty(2, 2),), {"tensor": torch.empty(2, 2)}),  # given twice
    ((torch.empty(2, 2), 0.0, 1.0, None, 5), {}),  # too many
    ((torch.empty(2, 2),), {"low": 0.0}),  # unknown name
])
def test_recorded_call_with_bad_arguments_raises_as_the_call(args, kwargs):
    with pytest.raises(TypeError):
        ft._bind(torch.nn.init.uniform_, args, kwargs)


class _MyLinear(torch.nn.Linear):  # not a stock layer: its reset is always run
    pass


class _MyConv(torch.nn.Conv2d):
    pass


class _MyNorm(torch.nn.LayerNorm):
    pass


def _layers(linear, conv, norm):
    torch.manual_seed(0)
    mods = []
    for k in range(3):
        mods += [linear(8, 8), linear(8, 5 + k), linear(5 + k, 8, bias=False), norm(8),
                 norm(8, elementwise_affine=False), norm(8, bias=False), conv(3, 4, 3),
                 conv(3, 4, 3, bias=False)]
    mods.append(conv(3, 4, 3).to(memory_format=torch.channels_last))
    return torch.nn.ModuleList(mods)


@pytest.mark.parametrize("way", ["init_module_", "build", "materialize_"])
def test_stock_layers_recorded_once_get_each_its_own_law(way):
    """Stock Linear/LayerNorm/Conv layers of one shape share one recording of their
    reset; the values equal those of subclasses, whose reset runs for every layer."""
    def make(kinds):
        if way == "build":
            return ft.build(_layers, *kinds, seed=3)
        if way == "materialize_":
            with torch.device("meta"):
                model = _layers(*kinds)
            return ft.materialize_(model, seed=3)
        return ft.init_module_(_layers(*kinds), seed=3)

    stock = make((torch.nn.Linear, torch.nn.Conv2d, torch.nn.LayerNorm))
    mine = make((_MyLinear, _MyConv, _MyNorm))
    stock_params = dict(stock.named_parameters())
    assert stock_params.keys() == dict(mine.named_parameters()).keys()
    for name, p in mine.named_parameters():
        assert torch.equal(stock_params[name], p), name
    w = np.empty((5, 8), np.float32)  # one of them by hand: layer 1 of group 0
    fi.kaiming_uniform_(w, a=math.sqrt(5), seed=ft.param_seed(3, "1.weight"))
    assert w.tobytes() == stock_params["1.weight"].detach().numpy().tobytes()
    assert torch.equal(stock_params["3.weight"], torch.ones(8))
