"""The cheap paths for small tensors give the same bits and the same errors as the
general ones: the serial fill below the parallel threshold, the contiguous fast path,
remembered laws, torch tensors shared through .numpy(), the checked-once fill_out, and
the whole-model fill's worker shares."""

import math

import ml_dtypes
import numpy as np
import pytest

import fastinit
from fastinit import _core, _fill, _laws
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
        with _fill.fill_threads(1):
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
            for law, fresh in ((_laws._uniform_params(zero, 1.0, f32),
                                _laws._uniform_law.__wrapped__(zero, 1.0, f32)),
                               (_laws._normal_params(zero, 0.5, f32),
                                _laws._normal_law.__wrapped__(zero, 0.5, f32))):
                assert math.copysign(1, law["a"]) == math.copysign(1, zero)
                assert [x.hex() for x in law.consts] == [x.hex() for x in fresh.consts]


def test_remembered_law_is_read_only_and_errors_repeat():
    law = _laws._uniform_params(0.0, 1.0, np.dtype(np.float32))
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
from fastinit import _torch_own_init, _torch_plan, _torch_record  # noqa: E402


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
    monkeypatch.setattr(_torch_plan, "_POOL_MIN", pool_min)
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
    assert _torch_record._bind(fn, (t, *args), kwargs) == dict(bound.arguments)


@pytest.mark.parametrize("args, kwargs", [
    ((), {}),  # tensor missing
    ((torch.empty(2, 2),), {"tensor": torch.empty(2, 2)}),  # given twice
    ((torch.empty(2, 2), 0.0, 1.0, None, 5), {}),  # too many
    ((torch.empty(2, 2),), {"low": 0.0}),  # unknown name
])
def test_recorded_call_with_bad_arguments_raises_as_the_call(args, kwargs):
    with pytest.raises(TypeError):
        _torch_record._bind(torch.nn.init.uniform_, args, kwargs)


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


# ---- many tensors in one call: _core.fill_many and the whole-model batch ----

CHUNK = 32768  # fastinit/_core.pyx: elements per work item

_FILLS = [  # (public fill, keyword arguments): every kernel law, in several dtypes
    (fastinit.uniform, {"low": -0.5, "high": 2.0, "dtype": np.float32}),
    (fastinit.uniform, {"low": -0.0, "high": 0.0, "dtype": np.float16}),
    (fastinit.normal, {"mean": 0.1, "std": 0.02, "dtype": ml_dtypes.bfloat16}),
    (fastinit.normal, {"mean": -1.0, "std": 3.0, "dtype": np.float64}),
    (fastinit.truncated_normal, {"std": 0.5, "a": -0.3, "b": 0.9, "dtype": np.float32}),
    (fastinit.truncated_normal, {"mean": 2.0, "a": 2.5, "b": 9.0, "dtype": np.float64}),
    (fastinit.random_bits, {}),
]
_SIZES = [1, 7, 1000, CHUNK - 1, CHUNK + 1, SERIAL_BELOW + 3]


def _rows(fills):
    """fill_many's columns and the buffers for [(fill, kwargs, size, seed, stream,
    offset)], the laws taken from the public path (deferred_fills), and each buffer's
    reference: the public fill of it alone."""
    outs, refs, rows = [], [], []
    for fill, kwargs, size, seed, stream, offset in fills:
        kwargs = dict(kwargs)
        dtype = kwargs.pop("dtype", np.uint32)
        ref = np.empty(size, dtype)
        fill(None, **kwargs, out=ref, seed=seed, stream=stream, offset=offset)
        out = np.full(size, 7, dtype)
        with _fill.deferred_fills() as deferred:
            fill(None, **kwargs, out=out, seed=seed, stream=stream, offset=offset)
        (dist, code, s, st, consts, off, target), = deferred
        assert target is out and (s, st, off) == (seed, stream, offset)
        rows.append((dist, code, s, st, consts, off, out.ctypes.data, size))
        outs.append(out)
        refs.append(ref)
    return outs, refs, rows


def _fill_many(rows, threads=0):
    dist, code, seed, stream, consts, offset, address, count = zip(*rows, strict=True)
    _core.fill_many(np.array(dist, np.int32), np.array(code, np.int32),
                    np.array(seed, np.uint64), np.array(stream, np.uint64),
                    np.array(consts, np.float64), np.array(offset, np.uint64),
                    np.array(address, np.uint64), np.array(count, np.int64), threads)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_fill_many_equals_each_buffer_filled_alone(threads):
    """Mixed laws, dtypes, sizes (around CHUNK and the serial threshold), seeds, streams
    and offsets in one call: every buffer gets the bits of its own public fill."""
    fills = [(fill, kwargs, size, 1000 * k + j, j % 3, (0, 5, 2**40)[k % 3])
             for k, (fill, kwargs) in enumerate(_FILLS) for j, size in enumerate(_SIZES)]
    outs, refs, rows = _rows(fills)
    _fill_many(rows, threads)
    for out, ref, (fill, kwargs, size, *_) in zip(outs, refs, fills, strict=True):
        assert out.tobytes() == ref.tobytes(), (fill.__name__, kwargs, size)


def test_fill_many_constant_rows_and_empty_buffers():
    """CONSTANT writes the low itemsize bytes of the seed column to every element (any
    itemsize); a zero count writes nothing."""
    bufs = [np.zeros(5, np.float16), np.zeros(CHUNK + 3, np.float32), np.zeros(9, np.float64),
            np.zeros(4, np.uint32), np.zeros(3, np.float32)]
    values = [np.float16(-2.5), np.float32(np.nan), np.float64(-0.0), np.uint32(77)]
    rows = [(_core.CONSTANT, code, int(np.array(v).view(f"u{v.itemsize}")), 0, (0.0,) * 6,
             0, b.ctypes.data, b.size)
            for v, b, code in zip(values, bufs, (1, 3, 4, 0), strict=False)]
    rows.append((1, 3, 5, 0, (0.0, 1.0, 0.0, 0.5, 0.0, 0.0), 0, bufs[4].ctypes.data, 0))
    _fill_many(rows)
    for v, b in zip(values, bufs, strict=False):
        assert b.tobytes() == np.full(b.size, v).tobytes()
    assert not bufs[4].any()


def test_fill_many_checks_everything_before_writing():
    buf = np.zeros(64, np.float32)
    law = _laws._uniform_params(0.0, 1.0, np.dtype(np.float32)).consts
    good = (1, 3, 5, 0, law, 0, buf.ctypes.data, 16)
    second = (1, 3, 6, 0, law, 0, buf.ctypes.data + 64, 16)
    cases = [
        ([good, (1, 0) + second[2:]], r"\(dist, dtype\)\[1\] must be"),
        ([good, (0, 3) + second[2:]], r"\(dist, dtype\)\[1\] must be"),
        ([good, (7, 3) + second[2:]], r"\(dist, dtype\)\[1\] must be"),
        ([good, second[:7] + (-1,)], r"count\[1\] must be >= 0"),
        ([good, second[:5] + (2**64 - 8,) + second[6:]], r"offset\[1\] \+ count\[1\]"),
        ([good, second[:6] + (0,) + second[7:]], r"address\[1\] must be a non-null"),
        ([good, second[:6] + (buf.ctypes.data + 60,) + second[7:]], "overlap"),
    ]
    for rows, match in cases:
        with pytest.raises(ValueError, match=match):
            _fill_many(rows)
        assert not buf.any()
    dist, code, seed, stream, consts, offset, address, count = (
        np.array(c) for c in zip(good, second, strict=True))
    with pytest.raises(ValueError, match="count must have 2 rows like dist, got 1"):
        _core.fill_many(dist.astype(np.int32), code.astype(np.int32), seed.astype(np.uint64),
                        stream.astype(np.uint64), consts.astype(np.float64),
                        offset.astype(np.uint64), address.astype(np.uint64),
                        count[:1].astype(np.int64))
    with pytest.raises(ValueError, match="consts must have 6 columns"):
        _core.fill_many(dist.astype(np.int32), code.astype(np.int32), seed.astype(np.uint64),
                        stream.astype(np.uint64), consts[:, :5].astype(np.float64).copy(),
                        offset.astype(np.uint64), address.astype(np.uint64),
                        count.astype(np.int64))
    assert not buf.any()


def test_derived_seeds_are_derived_seed_of_each_name():
    from fastinit._validate import derived_seed, derived_seeds

    names = ["w", "0.weight", "ünïcode.bias", ""]
    for seed in (0, 5, 2**64 - 1):
        assert derived_seeds(seed, names).tolist() == [derived_seed(seed, n) for n in names]
    assert derived_seeds(3, []).dtype == np.uint64


class _Custom(torch.nn.Module):
    """Init code of its own (not a stock layer): every batched law, a zero std written
    directly, a non-contiguous parameter and a law fill_many does not take."""

    def __init__(self):
        super().__init__()
        p = torch.nn.Parameter
        self.a = p(torch.empty(6, 5, dtype=torch.float64))
        self.b = p(torch.empty(7, dtype=torch.bfloat16))
        self.c = p(torch.empty(4, 9, dtype=torch.float16))
        self.d = p(torch.empty(3, 4))
        self.e = p(torch.empty(8, 3).t())  # transposed: not C-contiguous
        self.f = p(torch.empty(5, 5))
        self.g = p(torch.empty(2, 3))
        self.h = p(torch.empty(300, 500))  # above the serial threshold
        self.register_buffer("k", torch.empty(4))

    def reset_parameters(self):
        nn = torch.nn.init
        nn.xavier_normal_(self.a, gain=0.7)
        nn.constant_(self.b, -0.0)
        nn.trunc_normal_(self.c, std=0.3, a=-0.2, b=0.5)
        nn.kaiming_normal_(self.d, mode="fan_out", nonlinearity="relu")
        nn.uniform_(self.e, -3.0, 1.0)
        nn.orthogonal_(self.f)
        self.g.normal_(0.5, 0.0)
        nn.xavier_uniform_(self.h)
        self.k.fill_(2.5)


def _stock():
    torch.manual_seed(0)
    nn = torch.nn
    return nn.Sequential(
        nn.Linear(64, 64), nn.Linear(64, 64).double(), nn.LayerNorm(64).bfloat16(),
        nn.Conv2d(3, 8, 3).half(), nn.Conv2d(4, 4, 3, groups=2), nn.Linear(600, 300),
        nn.Sequential(nn.Linear(5, 3, bias=False), nn.GELU()), nn.LayerNorm(8, bias=False))


def _mixed():
    nn = torch.nn
    return nn.Sequential(*_stock(), nn.Conv2d(3, 4, 3).to(memory_format=torch.channels_last),
                         nn.Embedding(10, 4), _Custom())


def _per_tensor(monkeypatch, make):
    """What init_module_ gives with every tensor filled alone (no fill_many)."""
    with monkeypatch.context() as m:
        m.setattr(ft, "_fill_known", lambda *a: False)
        m.setattr(_torch_plan, "_fill_batch", lambda jobs, seed: jobs)
        return {k: v.clone() for k, v in ft.init_module_(make(), seed=9).state_dict().items()}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("make", [_stock, _mixed])
def test_one_call_for_many_tensors_equals_each_filled_alone(monkeypatch, make, threads):
    """Mixed dtypes, sizes, laws and layouts, through the stock-layer path (stock layers
    only: no plan) or the plan's batch: the bits of the per-tensor replay."""
    ref = _per_tensor(monkeypatch, make)
    calls, known = [], []
    original, fill_known = _core.fill_many, ft._fill_known
    monkeypatch.setattr(_core, "fill_many", lambda *a: calls.append(len(a[0])) or original(*a))
    monkeypatch.setattr(ft, "_fill_known", lambda *a: known.append(fill_known(*a)) or known[-1])
    _core.set_num_threads(threads)
    got = ft.init_module_(make(), seed=9).state_dict()
    assert known == [make is _stock]
    assert got.keys() == ref.keys()
    for name, value in got.items():
        assert value.contiguous().view(torch.uint8).equal(
            ref[name].contiguous().view(torch.uint8)), name
    assert len(calls) == 1 and calls[0] >= 14  # the batched tensors, in one call
    if make is _mixed:
        assert torch.equal(got["10.g"], torch.full((2, 3), 0.5))
        assert torch.equal(got["10.k"], torch.full((4,), 2.5))


def test_overlapping_tensors_are_filled_one_by_one():
    """Two parameters viewing one storage: fill_many refuses them, and the per-tensor
    path fills them (the later in plan order over the earlier where they overlap)."""
    class Views(torch.nn.Module):
        def __init__(self):
            super().__init__()
            base = torch.empty(10)
            self.u = torch.nn.Parameter(base[:6])
            self.v = torch.nn.Parameter(base[4:])

        def reset_parameters(self):
            torch.nn.init.ones_(self.u)
            torch.nn.init.zeros_(self.v)

    m = ft.init_module_(Views(), seed=0)
    assert sorted(set(m.u.tolist() + m.v.tolist())) == [0.0, 1.0]
    assert m.v.tolist() == [0.0] * 6


def _variants():
    """Stock layers of one class and different shapes, hyperparameters or dtypes."""
    torch.manual_seed(0)
    nn = torch.nn
    return nn.ModuleList([
        nn.Linear(8, 8), nn.Linear(8, 5), nn.Linear(5, 8), nn.Linear(8, 8, bias=False),
        nn.Linear(8, 8).double(), nn.Conv2d(4, 4, 3), nn.Conv2d(4, 4, 3, groups=2),
        nn.Conv2d(4, 4, 5), nn.Conv1d(4, 4, 3), nn.LayerNorm(8), nn.LayerNorm(8, bias=False),
        nn.LayerNorm(8, elementwise_affine=False), nn.LayerNorm((2, 4))])


def test_stock_layer_writes_are_those_recorded_for_each_layer():
    """Layers of one class with other shapes, groups, kernels, bias or dtype each get the
    writes that recording them gives, whatever was recorded (and remembered) before."""
    for _ in range(2):  # the second time from the remembered writes
        model = _variants()
        known, recorded = _torch_own_init._recorded(model), _torch_own_init._record_own_init(model)
        assert isinstance(known, _torch_own_init._Known)
        for name, t in model.named_parameters():
            assert list(known.ops_of(t)) == list(recorded.ops_of(t)), name
    fans = {"0.weight": 8, "1.weight": 8, "2.weight": 5, "5.weight": 36, "6.weight": 18,
            "7.weight": 100, "8.weight": 12}
    model = ft.init_module_(_variants(), seed=2)
    params = dict(model.named_parameters())
    for name, fan in fans.items():
        w = params[name].detach().numpy()
        ref = fi.kaiming_uniform_(np.empty(w.shape, np.float32), a=math.sqrt(5),
                                  seed=ft.param_seed(2, name))
        assert w.tobytes() == ref.tobytes(), name
        bias = params.get(name.replace("weight", "bias"))
        if bias is not None:
            assert bias.abs().max() <= 1 / math.sqrt(fan)
    assert params["4.weight"].dtype == torch.float64
    assert torch.equal(params["9.weight"], torch.ones(8))


class _OwnReset(torch.nn.Linear):
    def reset_parameters(self):
        torch.nn.init.constant_(self.weight, 0.25)
        if self.bias is not None:
            torch.nn.init.zeros_(self.bias)


def _own_reset(self):
    torch.nn.init.normal_(self.weight, std=3.0)
    torch.nn.init.constant_(self.bias, -1.0)


def test_an_overridden_reset_is_never_taken_for_the_stock_one(monkeypatch):
    """After the stock Linear(8, 8) was recorded and remembered: a subclass overriding
    reset_parameters, a reset_parameters set on the instance, and torch.nn.Linear's own
    reset_parameters replaced on the class each give their own laws."""
    ft.init_module_(torch.nn.Linear(8, 8), seed=0)
    sub = ft.init_module_(torch.nn.Sequential(torch.nn.Linear(8, 8), _OwnReset(8, 8)), seed=0)
    assert torch.equal(sub[1].weight, torch.full((8, 8), 0.25))
    assert sub[0].weight.abs().max() < 0.5
    inst = torch.nn.Linear(8, 8)
    inst.reset_parameters = lambda: _own_reset(inst)
    ft.init_module_(torch.nn.Sequential(inst), seed=0)
    assert torch.equal(inst.bias, torch.full((8,), -1.0))
    assert inst.weight.std() > 1.0
    monkeypatch.setattr(torch.nn.Linear, "reset_parameters", _own_reset)
    patched = ft.init_module_(torch.nn.Sequential(torch.nn.Linear(8, 8)), seed=0)
    assert torch.equal(patched[0].bias, torch.full((8,), -1.0))
    monkeypatch.undo()
    back = ft.init_module_(torch.nn.Sequential(torch.nn.Linear(8, 8)), seed=0)
    assert back[0].weight.abs().max() < 0.5


def test_stock_layers_under_initial_writes_and_other_tensors():
    """build (writes made while constructing) and materialize_ of stock layers with a
    parameter of a plain module: each as recorded without the remembered writes."""
    class Holder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(6, 4)
            self.extra = torch.nn.Parameter(torch.empty(3, 3))
            torch.nn.init.normal_(self.extra, std=0.1)

    def values(way):
        if way == "build":
            return ft.build(Holder, seed=4).state_dict()
        with torch.device("meta"):
            model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.LayerNorm(4))
        return ft.materialize_(model, seed=4).state_dict()

    for way in ("build", "materialize_"):
        got = values(way)
        with pytest.MonkeyPatch.context() as m:
            m.setattr(_torch_own_init, "_stock_layers", lambda *a: None)
            ref = values(way)
        assert got.keys() == ref.keys()
        for name in got:
            assert torch.equal(got[name], ref[name]), (way, name)


_VALUES = [0, 1, -1, 3, 2**24 + 1, True, 0.0, -0.0, 0.5, 1 / 3, -2.5e-8, 1e-45, 1.00390625,
           1.0039062, 65504.0, 3e38, float("inf"), float("-inf"), float("nan"),
           np.float32(0.1), np.float64(-0.0), np.array(0.7)]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16,
                                   torch.bfloat16])
def test_constant_fast_path_writes_the_general_paths_bits(dtype):
    """zeros_/ones_/constant_ on a plain torch tensor (torch's fill_ of the value as the
    dtype holds it) write what the general path (numpy's cast) writes, or raise the same
    error; the version counter moves."""
    bits = torch.int16 if dtype.itemsize == 2 else torch.int32 if dtype.itemsize == 4 \
        else torch.int64
    for val in _VALUES:
        for _ in range(2):  # the second time from the remembered value
            fast, slow = torch.nn.Parameter(torch.empty(5, 7, dtype=dtype)), \
                torch.empty(5, 7, dtype=dtype)
            try:
                ft._constant_general(slow, val)
            except (ValueError, TypeError) as exc:
                with pytest.raises(type(exc), match=str(exc)[:30]):
                    ft.constant_(fast, val, seed=3)
                continue
            version = fast._version
            assert ft.constant_(fast, val, seed=3) is fast
            assert fast._version > version
            assert fast.detach().view(bits).equal(slow.view(bits)), (dtype, val)
    for fill, general in ((ft.ones_, ft._ones_general), (ft.zeros_, ft._zeros_general)):
        fast, slow = torch.empty(64, 64, dtype=dtype), torch.empty(64, 64, dtype=dtype)
        fill(fast)
        general(slow)
        assert fast.view(bits).equal(slow.view(bits))


def test_remembered_constants_and_laws_keep_the_sign_of_zero():
    """np.float32(0.0) and np.float32(-0.0) are equal keys but different bits, for the
    constant fast path and for the model batch's laws."""
    for first, second in ((np.float32(0.0), np.float32(-0.0)), (-0.0, 0.0)):
        for val in (first, second):
            t = ft.constant_(torch.empty(3), val)
            assert t.view(torch.int32).tolist() == [int(np.array(val, np.float32).view(
                np.int32))] * 3

    class Zeros(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Parameter(torch.empty(4)), torch.nn.Parameter(torch.empty(4))

        def reset_parameters(self):
            torch.nn.init.constant_(self.a, np.float32(0.0))
            torch.nn.init.constant_(self.b, np.float32(-0.0))

    m = ft.init_module_(Zeros(), seed=0)
    assert m.a.detach().view(torch.int32).tolist() == [0] * 4
    assert m.b.detach().view(torch.int32).tolist() == [-2**31] * 4


def test_constant_fast_path_leaves_the_rest_to_the_general_path():
    """Bad seeds, integer tensors, numpy arrays, views with the negative bit, expanded
    and meta tensors get the general path's values and errors."""
    t = torch.empty(4, 4)
    with pytest.raises(TypeError, match="seed must be an integer"):
        ft.zeros_(t, seed=1.0)
    with pytest.raises(ValueError, match="seed must be in"):
        ft.ones_(t, seed=-1)
    with pytest.raises(ValueError, match="negative bit"):
        ft.constant_(torch.empty(4)._neg_view(), 1.0)
    with pytest.raises(ValueError, match="more than one element"):
        ft.zeros_(torch.empty(1, 4).expand(3, 4))
    with pytest.raises(TypeError, match="val must be a real number"):
        ft.constant_(t, "1")
    ints = ft.constant_(torch.zeros(3, dtype=torch.int32), 2.9)
    assert ints.tolist() == [2, 2, 2]
    arr = ft.ones_(np.zeros(3, np.float32))
    assert arr.tolist() == [1.0, 1.0, 1.0]
    meta = torch.empty(3, device="meta")
    assert ft.constant_(meta, 5.0) is meta
    strided = torch.zeros(4, 6)[:, ::2]
    ft.constant_(strided, 0.25)
    assert torch.equal(strided, torch.full((4, 3), 0.25))


def test_code_that_changes_after_the_first_call_is_run(monkeypatch):
    """A container class that gains an init_weights, and torch.nn.init's fan
    computation replaced, after stock Linear(8, 8) layers were remembered: the next call
    runs the new code."""
    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(8, 8)

    first = ft.init_module_(Block(), seed=0)
    assert first.lin.bias.abs().max() <= 1 / math.sqrt(8)

    def init_weights(self):
        torch.nn.init.zeros_(self.lin.weight)

    monkeypatch.setattr(Block, "init_weights", init_weights, raising=False)
    assert torch.equal(ft.init_module_(Block(), seed=0).lin.weight, torch.zeros(8, 8))
    monkeypatch.undo()
    monkeypatch.setattr(torch.nn.init, "_calculate_fan_in_and_fan_out", lambda t: (1, 1))
    wide = ft.init_module_(Block(), seed=0)
    assert wide.lin.bias.abs().max() > 1 / math.sqrt(8)
    assert torch.equal(wide.lin.weight, first.lin.weight)
