"""The stream contract (kernels/README.md, STREAM_VERSION 2): golden hashes pin every
distribution and dtype, and the bits never depend on threads, SIMD path, chunking or the
memory layout of `out`.  A change here is a breaking change of the stream."""

import hashlib
import sys

import ml_dtypes
import numpy as np
import pytest

import fastinit
from fastinit import _core

DISTS = ("uniform", "normal", "truncated_normal")
DTYPES = ("float16", "bfloat16", "float32", "float64")

# sha256 of the first 10**6 outputs (little-endian bytes) at seed 20261122, stream 3.
GOLDEN = {  # noqa: E501 (hashes)
    ("uniform", "float16"): "24904103bfc76ee7bdcf644dce57bfcad4b217750adb1d6ba3e740c4f40f18d3",  # noqa: E501
    ("uniform", "bfloat16"): "4200894cda775e39d081c4ca6e272c998978875f593c8d3b5ec5fde93d60d7d3",  # noqa: E501
    ("uniform", "float32"): "bee8baba787c0061446bcedc1c869dab1f6d67be95ae9ea1b2100316a2191555",  # noqa: E501
    ("uniform", "float64"): "c4f096974bd1f83a0aa256dd0fbb282dc42c39be3519a4abd9c114a2711ccb0d",  # noqa: E501
    ("normal", "float16"): "c648dc8cc083b5372a77aaaa8e2109e8100b5ac98933e61f8b704a776cb79c12",  # noqa: E501
    ("normal", "bfloat16"): "a9ee7ed3b618ed7dd1feb95fc4ae91834165b902cea08627478e2ec95d219ada",  # noqa: E501
    ("normal", "float32"): "ec7aacc7a899fbfb2c17b0e91fe4624202a1020afc69c323c0d1fed4bdb4c7d8",  # noqa: E501
    ("normal", "float64"): "17edf434f3121d1e71fd284771abb50f190809bf0ce650b28aa1cb1e4d8cce4c",  # noqa: E501
    ("truncated_normal", "float16"): "9a13fe95fbda5735b8c57a423e4bfa8b5ee9a11f2f2088ee6e3147c8951630a3",  # noqa: E501
    ("truncated_normal", "bfloat16"): "eaf72ee59c7875c18871ce44f62079f070b40db53e06f0df0f1807b5327f3cd3",  # noqa: E501
    ("truncated_normal", "float32"): "f78b474cdf71ec2c02d9d05c19b5d2efe9efd0ebe8ebd5aed79048c9bedd6a6d",  # noqa: E501
    ("truncated_normal", "float64"): "f36ab8b7fd37b3791ea00c1c62bf3ac5f43d4959856c7285209dd056d392b9ff",  # noqa: E501
    ("random_bits", "uint32"): "6b9cfb02d13588510f94ed3011c714bf2b8c198ea3f66cf23db97c4ac5bd4b67",  # noqa: E501
}


def _sha(x):
    if sys.byteorder != "little":
        x = x.byteswap()
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()


def test_stream_version():
    assert fastinit.STREAM_VERSION == 2


@pytest.mark.parametrize("dist", DISTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_golden(dist, dtype):
    x = getattr(fastinit, dist)(10**6, seed=20261122, stream=3, dtype=dtype)
    assert _sha(x) == GOLDEN[(dist, dtype)]


def test_golden_bits():
    assert _sha(fastinit.random_bits(10**6, seed=20261122, stream=3)) == GOLDEN[
        ("random_bits", "uint32")]


def _bits(x):
    return x.view(np.uint16 if x.itemsize == 2 else np.uint32 if x.itemsize == 4 else
                  np.uint64)


@pytest.mark.parametrize("dist", DISTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_threads_and_simd_paths(dist, dtype):
    fn = getattr(fastinit, dist)
    n = 300_001  # above the serial threshold, not a multiple of any group size
    ref = _bits(fn(n, seed=5, dtype=dtype))
    for simd in ("baseline", "avx2", "avx512"):
        _core.set_simd(simd)
        for threads in (1, 2, 3):
            fastinit.set_num_threads(threads)
            np.testing.assert_array_equal(_bits(fn(n, seed=5, dtype=dtype)), ref,
                                          err_msg=f"{simd}, {threads} threads")


@pytest.mark.parametrize("dist", DISTS + ("random_bits",))
@pytest.mark.parametrize("dtype", ("bfloat16", "float32", "float64"))
def test_offset_chunks(dist, dtype):
    """Any split of a tensor into offset chunks gives the same bits, also past 2**32."""
    fn = getattr(fastinit, dist)
    kw = {} if dist == "random_bits" else {"dtype": dtype}
    for base in (0, 2**32 - 37, 2**40 + 3):
        whole = _bits(fn(1000, seed=9, offset=base, **kw))
        cuts = [0, 1, 2, 3, 5, 64, 67, 130, 999, 1000]
        parts = [_bits(fn(b - a, seed=9, offset=base + a, **kw)) for a, b in
                 zip(cuts[:-1], cuts[1:], strict=True)]
        np.testing.assert_array_equal(np.concatenate(parts), whole)


@pytest.mark.parametrize("dist", DISTS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_out_layouts(dist, dtype):
    """Values follow the logical row-major index whatever the memory order of out."""
    fn = getattr(fastinit, dist)
    dt = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    ref = _bits(fn((37, 45, 3), seed=4, dtype=dtype))
    layouts = {
        "C": np.empty((37, 45, 3), dt),
        "F": np.empty((37, 45, 3), dt, order="F"),
        "transposed": np.empty((3, 45, 37), dt).transpose(2, 1, 0),
        "strided": np.empty((74, 45, 7), dt)[::2, :, 2:5],
        "negative": np.empty((37, 45, 3), dt)[::-1, :, ::-1],
    }
    for name, out in layouts.items():
        res = fn(None, seed=4, out=out)
        assert res is out
        np.testing.assert_array_equal(_bits(np.ascontiguousarray(out)), ref, err_msg=name)


def test_big_parallel_fill_matches_offsets():
    """A multi-chunk threaded fill equals its pieces generated one by one."""
    fastinit.set_num_threads(2)
    x = fastinit.normal(1_000_003, seed=1)
    for k in (0, 32768, 500_001):
        np.testing.assert_array_equal(fastinit.normal(1000, seed=1, offset=k), x[k:k + 1000])


def test_streams_and_seeds_differ():
    a = fastinit.random_bits(1000, seed=1)
    assert not np.array_equal(a, fastinit.random_bits(1000, seed=1, stream=1))
    assert not np.array_equal(a, fastinit.random_bits(1000, seed=2))
    assert not np.array_equal(a, fastinit.random_bits(1000, seed=1 << 32))


def test_low_precision_is_rounded_float32():
    """float16/bfloat16 normals are the float32 draws rounded to nearest even (their uniform
    is rounded from double: tests/test_lowp_uniform.py)."""
    for fn in (fastinit.normal, fastinit.truncated_normal):
        x32 = fn(200_000, seed=8, dtype=np.float32)
        for dt in (np.float16, ml_dtypes.bfloat16):
            np.testing.assert_array_equal(_bits(fn(200_000, seed=8, dtype=dt)),
                                          _bits(x32.astype(dt)))
    assert len(np.unique(fastinit.uniform(10**6, seed=8, dtype=ml_dtypes.bfloat16))) > 128
