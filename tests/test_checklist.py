"""The distributions checklist of kernels/README.md, enforced: every FI_DIST_* code of
kernels/fi_dist.h has its transform in fi_dist.h, its code exported through
fastinit/_kernels.pxd and fastinit._core, a public Python function, golden hashes, a Numba
branch giving the same bits, the host-emulated CUDA check, a test of its law and an entry
in the API reference."""

import inspect
import re
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
import test_cuda  # noqa: I001  (tests/ is on sys.path under pytest)
import test_kat
import test_stats
import test_stream

import fastinit
from fastinit import _core, _laws
from fastinit._paths import kernel_dir

# the checkout's files (pxd, docs, tests); the headers are read where fastinit installed them
ROOT = Path(__file__).resolve().parents[1]
HALF = ("float16", "bfloat16")
ALL = HALF + ("float32", "float64")

# code -> (public function, the dtypes it serves with this code, the test module of its law).
# A new FI_DIST_* code adds its line here and walks kernels/README.md's checklist.
FACES = {
    "FI_DIST_BITS": ("random_bits", ("uint32",), test_kat),
    "FI_DIST_UNIFORM": ("uniform", ("float32", "float64"), test_stats),
    "FI_DIST_UNIFORM_LOWP": ("uniform", HALF, test_stats),
    "FI_DIST_NORMAL": ("normal", ALL, test_stats),
    "FI_DIST_TRUNCNORMAL": ("truncated_normal", ALL, test_stats),
}
# the public function's parameters after the shape, and the _laws law they give
PARAMS = {"random_bits": ((), None),
          "uniform": ((-1.5, 2.5), _laws._uniform_params),
          "normal": ((0.25, 1.5), lambda loc, scale, dt: _laws._normal_params(loc, scale)),
          "truncated_normal": ((0.0, 1.0, -1.0, 2.5), _laws._truncnormal_params)}


def _header_codes():
    text = (kernel_dir() / "fi_dist.h").read_text()
    body = re.search(r"enum\s*\{\s*(FI_DIST_BITS[^}]*)\}", text).group(1)
    return {k: int(v) for k, v in re.findall(r"(FI_DIST_\w+)\s*=\s*(\d+)", body)}


CODES = _header_codes()


def test_every_code_has_its_line():
    assert set(CODES) == set(FACES), \
        "a FI_DIST_* code of kernels/fi_dist.h needs the checklist of kernels/README.md"


@pytest.mark.parametrize("code", sorted(CODES))
def test_transform_in_fi_dist_h(code):
    """Each code but the raw words is a branch of fi_values_w32 (CPU loops, CUDA kernel)."""
    text = (kernel_dir() / "fi_dist.h").read_text()
    body = text[text.index("FI_HD void fi_values_w32"):text.index("FI_HD void fi_values_w64")]
    assert code == "FI_DIST_BITS" or code in body
    assert "fi_values_w32" in (kernel_dir() / "fill_cuda.cu").read_text()


@pytest.mark.parametrize("code", sorted(CODES))
def test_code_exported(code):
    assert code in (ROOT / "fastinit" / "_kernels.pxd").read_text()
    assert getattr(_core, code[3:]) == getattr(_laws, code[3:]) == CODES[code]


@pytest.mark.parametrize("code", sorted(CODES))
def test_public_function_golden_and_docs(code):
    fn, dtypes, _ = FACES[code]
    assert fn in fastinit.__all__ and callable(getattr(fastinit, fn))
    for dt in dtypes:
        assert (fn, dt) in test_stream.GOLDEN, f"tests/test_stream.py: no golden hash {fn}/{dt}"
    assert f"autofunction:: {fn}" in (ROOT / "docs" / "api.rst").read_text()


def _fill(fn, dt, n):
    args, _ = PARAMS[fn]
    kw = {} if fn == "random_bits" else {"dtype": dt}
    return getattr(fastinit, fn)(n, *args, seed=11, stream=2, **kw)


@pytest.mark.parametrize("code", sorted(CODES))
def test_numba_branch_gives_the_fills_bits(code):
    """fastinit._numba_dist's _values_w32/_values_w64 (what fastinit.numba and the Numba
    device fills run), called from Python, against the CPU fill: a missing branch falls into
    another law."""
    import fastinit._numba_dist as nd
    import fastinit.numba as fnb  # the test extra has numba: its absence fails
    fn, dtypes, _ = FACES[code]
    for dt in dtypes:
        want = _fill(fn, dt, 8)
        if fn == "random_bits":
            got = [w for b in range(2) for w in fnb.bits_block(11, 2, b)]
            np.testing.assert_array_equal(np.array(got, np.uint32), want)
            continue
        args, law = PARAMS[fn]
        dtype = np.dtype(ml_dtypes.bfloat16 if dt == "bfloat16" else dt)
        p = law(*args, dtype)
        c = tuple(float(p.get(k, 0.0)) for k in ("a", "b", "lo", "hi", "pa", "pd"))
        wide = dtype == np.float64
        values = nd._values_w64 if wide else nd._values_w32
        got = [v for b in range(4 if wide else 2) for v in values(CODES[code], 11, 2, b, c)]
        if dt in HALF:
            store = fnb.f32_to_bf16_bits if dt == "bfloat16" else fnb.f32_to_f16_bits
            np.testing.assert_array_equal(np.array([store(v) for v in got], np.uint16),
                                          want.view(np.uint16), err_msg=f"{code} {dt}")
        else:
            np.testing.assert_array_equal(np.array(got, dtype), want, err_msg=f"{code} {dt}")


@pytest.mark.parametrize("code", sorted(CODES))
def test_numba_faces_and_their_tests(code):
    """The per-element Numba functions exist and tests/test_numba_cuda.py uses them."""
    import fastinit.numba as fnb  # the test extra has numba: its absence fails
    fn, dtypes, _ = FACES[code]
    text = (ROOT / "tests" / "test_numba_cuda.py").read_text()
    names = ["bits"] if fn == "random_bits" else \
        [f"{fn}_{ {'float16': 'f16', 'bfloat16': 'bf16'}.get(dt, 'f' + dt[5:])}" for dt in dtypes]
    for name in names:
        assert callable(getattr(fnb, name)), f"fastinit.numba.{name}"
        assert re.search(rf"\bfnb\.{name}\b", text), f"tests/test_numba_cuda.py: {name}"


@pytest.mark.parametrize("code", sorted(CODES))
def test_host_emulated_cuda_check(code):
    fn, dtypes, _ = FACES[code]
    for dt in dtypes:
        dtype = np.dtype(ml_dtypes.bfloat16 if dt == "bfloat16" else dt)
        assert (fn.removeprefix("random_"), dtype) in test_cuda.CASES, f"tests/test_cuda.py {fn}"


@pytest.mark.parametrize("code", sorted(CODES))
def test_law_is_tested(code):
    """A test of the module named in FACES draws from the public function."""
    fn, _, module = FACES[code]
    tests = [f for name, f in vars(module).items() if name.startswith("test_")]
    assert any(f"fastinit.{fn}(" in inspect.getsource(f) for f in tests), \
        f"{module.__name__}: no test draws fastinit.{fn}"
