"""One source per fact: the codes and constants of kernels/ reach Python only through
fastinit/_kernels.pxd (exported by fastinit._core), and every Python-side reading of the
counter layout agrees with fi_block, the header's definition."""

import re

import ml_dtypes
import numpy as np

import fastinit
from fastinit import _core, _laws
from fastinit._paths import kernel_dir

# (seed, stream, block) with both 32-bit halves of each set, and the edges of the range
KEYS = [(0, 0, 0), ((1 << 63) + 12345, (1 << 40) + 7, (1 << 35) + 3),
        (0xFFFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, (1 << 62) - 1), (1, 1 << 32, 1 << 32)]


def _header_enum(first):
    """name -> value of the enum in fi_dist.h whose first member is `first`."""
    text = (kernel_dir() / "fi_dist.h").read_text()
    body = re.search(r"enum\s*\{\s*(" + first + r"[^}]*)\}", text).group(1)
    return {k: int(v) for k, v in re.findall(r"(\w+)\s*=\s*(\d+)", body)}


def test_codes_are_the_headers():
    dists = _header_enum("FI_DIST_BITS")
    assert {k: getattr(_core, k[3:]) for k in dists} == dists
    dts = _header_enum("FI_DT_U32")
    assert {k: getattr(_core, k[3:]) for k in dts} == dts
    assert [_laws.DTYPE_CODES[np.dtype(t)] for t in
            (np.uint32, np.float16, ml_dtypes.bfloat16, np.float32, np.float64)] == \
        [dts[k] for k in ("FI_DT_U32", "FI_DT_F16", "FI_DT_BF16", "FI_DT_F32", "FI_DT_F64")]
    text = (kernel_dir() / "philox4x32.h").read_text()
    for name in ("M0", "M1", "W0", "W1"):
        value = int(re.search(rf"#define FI_PHILOX_{name} (0x[0-9A-F]+)u", text).group(1), 16)
        assert getattr(_core, f"PHILOX_{name}") == value


def test_numba_block_is_fi_block():
    """fastinit.numba.bits_block (the Numba mirror of fi_block, used by the Numba device
    fills) against the compiled fill's words, called from Python and under njit."""
    import numba

    from fastinit import numba as fnb

    jit_block = numba.njit(lambda s, t, b: fnb.bits_block(s, t, b))
    for seed, stream, block in KEYS:
        want = fastinit.random_bits(4, seed=seed, stream=stream, offset=4 * block)
        got = [int(w) for w in fnb.bits_block(seed, stream, block)]
        assert got == want.tolist()
        got = [int(w) for w in jit_block(np.uint64(seed), np.uint64(stream), np.uint64(block))]
        assert got == want.tolist()


def test_bit_generator_block_is_fi_block():
    for seed, stream, block in KEYS:
        bg = fastinit.PhiloxBitGenerator(seed, stream=stream)
        bg.state = {"bit_generator": "PhiloxBitGenerator",
                    "state": {"seed": seed, "stream": stream, "pos": 4 * block}}
        raw = bg.random_raw(2).astype(np.uint64)
        words = fastinit.random_bits(4, seed=seed, stream=stream, offset=4 * block)
        w = words.astype(np.uint64)
        np.testing.assert_array_equal(raw, (w[0::2] << np.uint64(32)) | w[1::2])


_ERF_PROBE = """
import json, math, sys
import numpy as np
from fastinit import _activations, theory
x = np.linspace(-6.0, 6.0, 241)
out = {
    "erf": _activations.get("erf").phi(x).tolist(),
    "gelu": _activations.get("gelu").phi(x).tolist(),
    "dgelu": _activations.get("gelu").dphi(x).tolist(),
    "gain": _activations.get("gelu").gain,
    "q_star": theory.q_star("gelu", 2.0, 0.1),
    "chi1": theory.chi1("gelu", 2.0, 0.1),
    "cross": theory.cross_moment("gelu", 0.7, 0.3),
    "c_star": theory.c_star("gelu", 2.5, 0.1),
    "scipy": sys.modules.get("scipy") is not None,
}
print(json.dumps(out))
"""


def _erf_probe(hide_scipy):
    import json
    import os
    import subprocess
    import sys

    block = "import sys; sys.modules['scipy'] = None\n" if hide_scipy else ""
    res = subprocess.run([sys.executable, "-c", block + _ERF_PROBE], capture_output=True,
                         text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return json.loads(res.stdout)


def test_one_erf_whether_or_not_scipy_is_installed():
    """gelu's and erf's values, gain and mean-field theory are the same numbers, bit for
    bit, with scipy hidden (import scipy fails) and with scipy importable: the package has
    one erf, fastinit._erf.erf (the C library's algorithm in numpy; math.erf's values at
    these points)."""
    import math

    from fastinit import _activations

    hidden, present = _erf_probe(True), _erf_probe(False)
    assert hidden.pop("scipy") is False
    present.pop("scipy")
    assert hidden == present
    x = np.linspace(-6.0, 6.0, 241)
    assert hidden["erf"] == [math.erf(v) for v in x]
    f32 = _activations.get("erf").phi(x.astype(np.float32))
    assert f32.dtype == np.float32
    np.testing.assert_array_equal(f32, np.float32([math.erf(v) for v in np.float32(x)]))
