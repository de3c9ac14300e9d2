"""Property tests of the public fill API (hypothesis, derandomized): uniform, normal,
truncated_normal, random_bits, the Generator methods and the shard context, over shapes
(0-size included), dtypes, C/F/transposed/strided/negative-stride outputs, offsets up to
the end of the index range, seeds, streams and parameters.

Every draw either equals the slow pure-Python reference (tests/_reference.py: Philox on
the logical index, a few sampled elements) or raises a TypeError/ValueError naming an
argument with out left untouched; ordinary arguments never raise, and nothing crashes."""

import math
import re

import _reference as ref
import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import fastinit

BF16 = np.dtype(ml_dtypes.bfloat16)
FLOATS = [np.dtype(np.float16), BF16, np.dtype(np.float32), np.dtype(np.float64)]
BAD_DTYPES = [np.dtype(np.uint32), np.dtype(np.int64), np.dtype(">f4"),
              np.dtype(np.complex64)]
U64 = 2**64
SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
# an error message names the argument it is about
NAMES_ARGUMENT = re.compile(r"(^|\W)(out(\.dtype)?|dtype|offset|low|high|loc|scale|a|b)"
                            r"( must|=| \+ | - | has)|\[a, b\]|\[low, high\)|shard box")

shapes = st.lists(st.sampled_from([0, 1, 2, 3, 5, 7, 9, 33, 130]), max_size=4).map(tuple).filter(
    lambda s: math.prod(s) <= 5000)
rarely = st.integers(0, 6).map(lambda k: k == 5)  # hypothesis favours 0
seeds = st.one_of(st.integers(0, 2**20), st.integers(0, U64 - 1))
offsets = st.one_of(st.integers(0, 1000), st.integers(U64 - 2000, U64 - 1),
                    st.integers(0, U64 - 1))
layouts = st.sampled_from(["new", "C", "F", "transposed", "strided", "negative"])


def _out(shape, dtype, layout, data):
    """An output of `shape` in the given memory layout (filled with a sentinel)."""
    if layout == "new":
        return None
    nd = len(shape)
    if nd == 0:
        base = np.empty((), dtype)
    elif layout == "F":
        base = np.empty(shape, dtype, order="F")
    elif layout == "transposed":
        perm = data.draw(st.permutations(range(nd)))
        base = np.empty(tuple(shape[p] for p in perm), dtype).transpose(np.argsort(perm))
    elif layout == "strided":
        steps = data.draw(st.lists(st.integers(1, 3), min_size=nd, max_size=nd))
        big = np.empty(tuple(n * s + 1 for n, s in zip(shape, steps, strict=True)), dtype)
        base = big[tuple(slice(1, 1 + n * s, s) for n, s in zip(shape, steps, strict=True))]
    elif layout == "negative":
        flips = data.draw(st.lists(st.booleans(), min_size=nd, max_size=nd))
        base = np.empty(shape, dtype)[tuple(slice(None, None, -1 if f else 1) for f in flips)]
    else:
        base = np.empty(shape, dtype)
    assert base.shape == tuple(shape)
    base[...] = np.array(7).astype(dtype) if dtype.kind != "c" else 7
    return base


def _params(dist, dtype, data):
    """(args, ordinary): parameters, and whether they are ordinary (must not raise)."""
    top = float(ml_dtypes.finfo(dtype).max) if dtype in FLOATS else 3.4e38
    extreme = data.draw(st.booleans())
    if dist == "random_bits":
        return (), True
    if not extreme:
        loc = data.draw(st.floats(-10, 10))
        width = data.draw(st.floats(0.25, 20))
        if dist == "uniform":
            return (loc, loc + width), True
        if dist == "normal":
            return (loc, data.draw(st.floats(0, 10))), True
        scale = width / 4
        a = loc + scale * data.draw(st.floats(-3, 2))
        return (loc, scale, a, a + scale * data.draw(st.floats(0.5, 4))), True
    big = st.one_of(st.floats(-1e308, 1e308), st.floats(-2 * top, 2 * top),
                    st.floats(-1e3, 1e3), st.sampled_from([top, -top, 0.0, 1e-300]))
    if dist == "uniform":
        low, high = sorted((data.draw(big), data.draw(big)))
        return (low, high), False
    if dist == "normal":
        return (data.draw(big), abs(data.draw(big))), False
    a, b = sorted((data.draw(big), data.draw(big)))
    return (data.draw(big), abs(data.draw(big)), a, b), False


def _call(dist, shape, args, **kw):
    if dist == "random_bits":
        kw.pop("dtype", None)
        return fastinit.random_bits(shape, **kw)
    return getattr(fastinit, dist)(shape, *args, **kw)


def _sample(shape, data, k=6):
    """A few multi-indices of `shape` (the first and last included)."""
    size = math.prod(shape)
    if size == 0:
        return []
    flat = {0, size - 1} | set(data.draw(st.lists(st.integers(0, size - 1), max_size=k)))
    return [np.unravel_index(i, shape) if shape else () for i in sorted(flat)]


def _check_raised(exc, out, before):
    event(f"raised {type(exc).__name__}")
    assert NAMES_ARGUMENT.search(str(exc)), str(exc)
    if out is not None:  # nothing written
        assert out.tobytes() == before.tobytes()


@SETTINGS
@given(dist=st.sampled_from(["uniform", "normal", "truncated_normal", "random_bits"]),
       shape=shapes, seed=seeds, stream=seeds, offset=offsets, layout=layouts,
       bad_dtype=rarely, data=st.data())
def test_fills(dist, shape, seed, stream, offset, layout, bad_dtype, data):
    if dist == "random_bits":
        dtype = np.dtype(np.float32) if bad_dtype else np.dtype(np.uint32)
    else:
        dtype = data.draw(st.sampled_from(BAD_DTYPES if bad_dtype else FLOATS))
    args, ordinary = _params(dist, dtype, data)
    out = _out(shape, dtype, layout, data)
    before = None if out is None else out.copy()
    bad_dtype = bad_dtype and (dist != "random_bits" or out is not None)  # bits: no dtype=
    in_range = offset + math.prod(shape) <= U64
    try:
        res = _call(dist, None if out is not None else shape, args, seed=seed, stream=stream,
                    offset=offset, dtype=dtype, out=out)
    except (TypeError, ValueError) as exc:
        assert not (ordinary and in_range and not bad_dtype), exc
        _check_raised(exc, out, before)
        return
    assert in_range and not bad_dtype
    event(("filled" if ordinary else "filled, extreme parameters") if math.prod(shape)
          else "filled, empty")
    assert res.shape == tuple(shape) and (out is None or res is out)
    idx = _sample(shape, data)
    steps = [math.prod(shape[k + 1:]) for k in range(len(shape))]
    logical = [offset + sum(int(i) * s for i, s in zip(m, steps, strict=True)) for m in idx]
    ref.check_values(dist, [res[m] for m in idx], logical, seed, stream, dtype, args)


@SETTINGS
@given(dist=st.sampled_from(["uniform", "normal", "truncated_normal", "random_bits"]),
       global_shape=st.lists(st.integers(1, 6), min_size=1, max_size=3).map(tuple),
       seed=seeds, offset=offsets, layout=layouts, data=st.data())
def test_shard_boxes(dist, global_shape, seed, offset, layout, data):
    """A box of a global tensor equals the global fill's elements (Philox on the global
    row-major index); a box past the global shape or the index range raises."""
    dtype = data.draw(st.sampled_from(FLOATS)) if dist != "random_bits" else np.dtype(
        np.uint32)
    box = tuple(data.draw(st.integers(0, n)) for n in global_shape)
    offs = tuple(data.draw(st.integers(0, n - b + data.draw(st.integers(0, 1))))
                 for n, b in zip(global_shape, box, strict=True))
    args, ordinary = _params(dist, dtype, data)
    if layout == "new":
        layout = "C"
    out = _out(box, dtype, layout, data)
    before = out.copy()
    fits = all(o + b <= n for o, b, n in zip(offs, box, global_shape, strict=True))
    in_range = offset + math.prod(global_shape) <= U64
    try:
        with fastinit.shard(global_shape, offs):
            _call(dist, None, args, seed=seed, offset=offset, dtype=dtype, out=out)
    except (TypeError, ValueError) as exc:
        assert not (ordinary and fits and in_range), exc
        _check_raised(exc, out, before)
        return
    assert fits and in_range
    event("filled")
    steps = [math.prod(global_shape[k + 1:]) for k in range(len(global_shape))]
    idx = _sample(box, data)
    logical = [offset + sum((int(i) + o) * s for i, o, s in zip(m, offs, steps, strict=True))
               for m in idx]
    ref.check_values(dist, [out[m] for m in idx], logical, seed, 0, dtype, args)


METHODS = {  # name: (distribution, args, default dtype)
    "random": ("uniform", (0.0, 1.0)),
    "uniform": ("uniform", (-2.0, 3.0)),
    "standard_normal": ("normal", (0.0, 1.0)),
    "normal": ("normal", (1.5, 2.0)),
    "truncated_normal": ("truncated_normal", (0.0, 1.0, -1.0, 0.5)),
    "bits": ("random_bits", ()),
}


@SETTINGS
@given(method=st.sampled_from(sorted(METHODS)), seed=seeds, size=shapes,
       calls=st.integers(1, 3), use_out=st.booleans(),
       dtype=st.sampled_from(FLOATS + [None]), data=st.data())
def test_generator_methods(method, seed, size, calls, use_out, dtype, data):
    """Call k of a Generator draws stream k of its seed."""
    dist, args = METHODS[method]
    gen = fastinit.Generator(seed)
    fn = getattr(gen, method)
    kw = {}
    if method == "bits":
        dtype = np.dtype(np.uint32)
    else:
        kw["dtype"] = dtype
        dtype = np.dtype(np.float64) if dtype is None else dtype
    for k in range(calls):
        out = np.zeros(size, dtype) if use_out else None
        if method in ("uniform", "normal", "truncated_normal"):
            res = fn(*args, size=None if use_out else size, out=out, **kw)
        else:
            res = fn(size=None if use_out else size, out=out, **kw)
        assert res.shape == size and (out is None or res is out)
        idx = _sample(size, data, k=3)
        steps = [math.prod(size[j + 1:]) for j in range(len(size))]
        logical = [sum(int(i) * s for i, s in zip(m, steps, strict=True)) for m in idx]
        ref.check_values(dist, [res[m] for m in idx], logical, seed, k, dtype, args)
    assert gen.next_stream == calls


@pytest.mark.parametrize("method", sorted(METHODS))
def test_generator_rejects_integer_dtypes(method):
    gen = fastinit.Generator(0)
    if method == "bits":
        with pytest.raises(TypeError, match="out must have dtype uint32"):
            gen.bits(out=np.zeros(3, np.float32))
        return
    args = METHODS[method][1] if method in ("uniform", "normal", "truncated_normal") else ()
    with pytest.raises(TypeError, match="dtype must be one of"):
        getattr(gen, method)(*args, size=3, dtype=np.uint32)
    assert gen.next_stream == 0
