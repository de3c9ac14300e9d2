"""The numpy-style API: Generator semantics, the numpy BitGenerator, threads, and bad
input rejected with a clear error before anything is written."""

import threading

import ml_dtypes
import numpy as np
import pytest

import fastinit


def test_generator_calls_use_successive_streams():
    g = fastinit.Generator(42)
    a = g.normal(size=1000, dtype=np.float32)
    b = g.normal(size=1000, dtype=np.float32)
    np.testing.assert_array_equal(a, fastinit.normal(1000, seed=42, stream=0))
    np.testing.assert_array_equal(b, fastinit.normal(1000, seed=42, stream=1))
    assert g.next_stream == 2
    h = fastinit.default_rng(42)
    np.testing.assert_array_equal(h.normal(size=1000, dtype=np.float32), a)


def test_generator_numpy_signatures():
    g = fastinit.default_rng(1)
    assert isinstance(g.random(), float) and 0 <= g.random() < 1
    assert g.random((2, 3)).dtype == np.float64
    assert g.random(5, dtype=np.float32).dtype == np.float32
    assert g.uniform(2, 3, size=4).min() >= 2
    assert g.standard_normal(3, dtype=ml_dtypes.bfloat16).dtype == ml_dtypes.bfloat16
    assert g.normal(1.0, 0.0, size=3).tolist() == [1.0, 1.0, 1.0]
    x = g.truncated_normal(0.0, 1.0, -0.5, 0.5, size=1000)
    assert x.min() >= -0.5 and x.max() <= 0.5
    assert g.bits(4).dtype == np.uint32
    out = np.empty((3, 4), np.float16)
    assert g.random(out=out) is out
    assert g.standard_normal(size=(3, 4), out=out) is out


def test_bit_generator_matches_stream():
    bg = fastinit.PhiloxBitGenerator(77)
    gen = np.random.Generator(bg)
    np.testing.assert_array_equal(gen.random(1001),
                                  fastinit.uniform(1001, seed=77, dtype=np.float64))
    bg2 = fastinit.PhiloxBitGenerator(77, stream=5)
    np.testing.assert_array_equal(bg2.random_raw(3).astype(np.uint64),
                                  _u64(fastinit.random_bits(6, seed=77, stream=5)))
    state = bg2.state
    first = bg2.random_raw(4)
    bg2.state = state
    np.testing.assert_array_equal(bg2.random_raw(4), first)
    # every numpy distribution runs on the stream
    assert abs(np.random.Generator(fastinit.PhiloxBitGenerator(1)).gamma(2.0, size=10**5)
               .mean() - 2.0) < 5 * np.sqrt(2.0 / 10**5)


def _u64(w):
    w = w.astype(np.uint64)
    return (w[0::2] << np.uint64(32)) | w[1::2]


def test_threads_share_a_generator():
    g = fastinit.Generator(3)
    results = {}

    def work(k):
        results[k] = g.standard_normal(200_000, dtype=np.float32)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert g.next_stream == 4
    got = sorted(r.tobytes() for r in results.values())
    want = sorted(fastinit.normal(200_000, seed=3, stream=s).tobytes() for s in range(4))
    assert got == want


def test_set_num_threads():
    fastinit.set_num_threads(1)
    assert fastinit.get_num_threads() == 1
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        fastinit.set_num_threads(0)


def test_empty_and_scalar_shapes():
    assert fastinit.normal((0, 5), seed=1).shape == (0, 5)
    assert fastinit.normal((), seed=1).shape == ()
    assert fastinit.normal((), seed=1)[()] == fastinit.normal(1, seed=1)[0]


# ---- bad input: (call, error type, message fragment) ----

def _out(dtype=np.float32, shape=(4,), writeable=True):
    a = np.full(shape, 7, dtype=dtype)
    a.flags.writeable = writeable
    return a


BAD = [
    (lambda: fastinit.normal(-1, seed=0), ValueError, "shape must contain non-negative"),
    (lambda: fastinit.normal(2.5, seed=0), TypeError, "shape must be an int or a tuple"),
    (lambda: fastinit.normal((2, 2.0), seed=0), TypeError, "shape must contain integers"),
    (lambda: fastinit.normal(3, seed=0, dtype=np.int32), TypeError, "dtype must be one of"),
    (lambda: fastinit.normal(3, seed=0, dtype="complex64"), TypeError, "dtype must be one of"),
    (lambda: fastinit.normal(3, seed=-1), ValueError, r"seed must be in \[0, 2\*\*64\)"),
    (lambda: fastinit.normal(3, seed=2**64), ValueError, r"seed must be in \[0, 2\*\*64\)"),
    (lambda: fastinit.normal(3, seed=1.0), TypeError, "seed must be an integer"),
    (lambda: fastinit.normal(3, seed=0, stream=-2), ValueError, "stream must be in"),
    (lambda: fastinit.normal(3, seed=0, offset=2**64 - 2), ValueError, "offset \\+ size"),
    (lambda: fastinit.normal(3, std=-1.0, seed=0), ValueError, "scale must be >= 0"),
    (lambda: fastinit.normal(3, mean=float("nan"), seed=0), ValueError, "loc must be finite"),
    (lambda: fastinit.normal(3, std=float("nan"), seed=0), ValueError, "scale must be finite"),
    (lambda: fastinit.uniform(3, 2.0, 1.0, seed=0), ValueError, "low must be <= high"),
    (lambda: fastinit.uniform(3, -1e308, 1e308, seed=0, dtype=np.float64), ValueError,
     "high - low must be finite"),
    (lambda: fastinit.uniform(3, 1.001, 1.002, seed=0, dtype="bfloat16"), ValueError,
     "holds no bfloat16 value"),
    (lambda: fastinit.truncated_normal(3, a=1.0, b=1.0, seed=0), ValueError, "a must be < b"),
    (lambda: fastinit.truncated_normal(3, std=0.0, seed=0), ValueError, "scale must be > 0"),
    (lambda: fastinit.truncated_normal(3, a=40.0, b=41.0, seed=0), ValueError,
     "beyond 37 standard deviations"),
    (lambda: fastinit.Generator(-5), ValueError, "seed must be in"),
    (lambda: fastinit.Generator().normal(size=(-1,)), ValueError, "size must contain"),
    (lambda: fastinit.Generator().normal(0.0, -1.0, size=3), ValueError, "scale must be >= 0"),
    (lambda: fastinit.Generator().uniform([0, 1], 2.0), TypeError, "low must be a real scalar"),
]


@pytest.mark.parametrize("call,exc,msg", BAD)
def test_bad_input(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


OUT_BAD = [
    (lambda o: fastinit.normal(None, seed=0, out=o, dtype=np.float64), TypeError,
     "out must have dtype float64"),
    (lambda o: fastinit.normal((5,), seed=0, out=o), ValueError, r"out must have shape \(5,\)"),
    (lambda o: fastinit.Generator(0).random(size=3, out=o), ValueError, "out must have shape"),
    (lambda o: fastinit.normal(None, std=-1.0, seed=0, out=o), ValueError, "scale must be >= 0"),
    (lambda o: fastinit.truncated_normal(None, a=2.0, b=1.0, seed=0, out=o), ValueError,
     "a must be < b"),
    (lambda o: fastinit.normal(None, seed=2**64, out=o), ValueError, "seed must be in"),
]


@pytest.mark.parametrize("call,exc,msg", OUT_BAD)
def test_bad_input_leaves_out_untouched(call, exc, msg):
    out = _out()
    with pytest.raises(exc, match=msg):
        call(out)
    assert (out == 7).all()


def test_out_read_only_and_wrong_type():
    ro = _out(writeable=False)
    with pytest.raises(ValueError, match="out must be writeable"):
        fastinit.normal(None, seed=0, out=ro)
    with pytest.raises(TypeError, match="out must be a numpy.ndarray"):
        fastinit.normal(None, seed=0, out=[0.0, 0.0])


def test_bit_generator_takes_a_seed_sequence():
    """PhiloxBitGenerator(SeedSequence) (it raised 'seed must be an integer'): key and
    stream are the sequence's first two uint64 words; an int keeps its bits."""
    ss = np.random.SeedSequence(0)
    key, stream = (int(w) for w in ss.generate_state(2, np.uint64))
    bg = fastinit.PhiloxBitGenerator(np.random.SeedSequence(0))
    assert bg.state["state"] == {"seed": key, "stream": stream, "pos": 0}
    np.testing.assert_array_equal(np.random.Generator(bg).random(9), fastinit.uniform(
        9, seed=key, stream=stream, dtype=np.float64))
    assert fastinit.PhiloxBitGenerator(ss, stream=3).state["state"]["stream"] == 3
    assert fastinit.PhiloxBitGenerator(2**64 - 1).state["state"] == {
        "seed": 2**64 - 1, "stream": 0, "pos": 0}
    for bad, exc in [(1.5, TypeError), (True, TypeError), ("1", TypeError), (-1, ValueError),
                     (2**64, ValueError)]:
        with pytest.raises(exc, match="^seed must be"):
            fastinit.PhiloxBitGenerator(bad)
    with pytest.raises(ValueError, match="^stream must be"):
        fastinit.PhiloxBitGenerator(ss, stream=-1)


def _keys(bit_generators):
    return [(b.state["state"]["seed"], b.state["state"]["stream"]) for b in bit_generators]


def test_bit_generator_spawn():
    """PhiloxBitGenerator(0).spawn(2) and numpy's Generator.spawn over it (both raised):
    children seeded by SeedSequence(0).spawn(2), distinct from each other and the parent,
    reproducible."""
    children = fastinit.PhiloxBitGenerator(0).spawn(2)
    expected = _keys(fastinit.PhiloxBitGenerator(s)
                     for s in np.random.SeedSequence(0).spawn(2))
    assert _keys(children) == expected
    assert len({*expected, (0, 0)}) == 3
    rngs = np.random.Generator(fastinit.PhiloxBitGenerator(0)).spawn(2)
    assert _keys(r.bit_generator for r in rngs) == expected
    a, b = (r.random(1000) for r in rngs)
    assert not np.array_equal(a, b)
    again = np.random.Generator(fastinit.PhiloxBitGenerator(0)).spawn(2)[0].random(1000)
    np.testing.assert_array_equal(a, again)
    grand = children[0].spawn(2)
    assert len(set(_keys(grand)) | set(expected)) == 4


def test_generator_spawn_ranges_are_disjoint():
    """fastinit.Generator.spawn (it did not exist): n + 1 consecutive equal ranges of the
    streams not drawn yet, the parent keeping the first; a tree never reuses a stream."""
    g = fastinit.Generator(5)
    first = g.random(4)
    kids = g.spawn(2)
    m = (2**64 - 1) // 3
    assert g.streams == range(1, 1 + m)
    spawned = [k.streams for k in kids]
    assert spawned == [range(1 + m, 1 + 2 * m), range(1 + 2 * m, 2**64)]
    np.testing.assert_array_equal(kids[0].random(4), fastinit.uniform(
        4, seed=5, stream=1 + m, dtype=np.float64))
    assert all(k.seed == 5 for k in kids)
    np.testing.assert_array_equal(first, fastinit.uniform(4, seed=5, dtype=np.float64))
    # a whole tree: every generator's range is disjoint from the others'
    tree = [fastinit.Generator(1)]
    for _ in range(6):
        tree += [c for t in list(tree) for c in t.spawn(3)]
    ranges = sorted((t.streams.start, t.streams.stop) for t in tree)
    assert all(a[1] <= b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert all(r[0] < r[1] for r in ranges)
    # reproducible: the same tree from the same seed
    again = fastinit.Generator(5)
    again.random(4)
    assert [k.streams for k in again.spawn(2)] == spawned


def test_generator_spawn_runs_out_cleanly():
    g = fastinit.Generator(0)
    with pytest.raises(TypeError, match="^n must be an integer"):
        g.spawn(1.0)
    with pytest.raises(ValueError, match="^n must be an integer >= 1"):
        g.spawn(0)
    leaf = g
    while leaf.streams.stop - leaf.streams.start >= 2:
        leaf = leaf.spawn(1)[0]
    assert leaf.streams.stop - leaf.streams.start == 1
    with pytest.raises(ValueError, match="^n must leave each"):
        leaf.spawn(1)
    leaf.random()
    with pytest.raises(ValueError, match="drawn every stream"):
        leaf.random()


def test_remembered_laws_keep_the_sign_of_a_zero():
    """Laws are remembered per argument tuple; 0.0 and -0.0 compare equal but reach the
    bits differently (N(-0.0, 0.0) is -0.0 where z < 0), so each sign pattern gets its
    own law, whatever was asked before it."""
    import itertools

    patterns = list(itertools.product((0.0, -0.0), repeat=2))
    first = {}
    for order in (patterns, patterns[::-1]):  # then from the remembered laws, reversed
        for mean, std in order:
            out = fastinit.normal(None, mean, std, seed=1, out=np.empty(16, np.float32))
            out = out.view(np.uint32).copy()
            key = repr((mean, std))
            assert np.array_equal(first.setdefault(key, out), out), key
    assert not np.any(first["(0.0, 0.0)"])
    assert np.any(first["(-0.0, 0.0)"]) and np.any(first["(-0.0, -0.0)"])
    assert not np.array_equal(first["(-0.0, 0.0)"], first["(-0.0, -0.0)"])
