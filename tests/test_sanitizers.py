"""kernels/fill_cpu.c under AddressSanitizer and UndefinedBehaviorSanitizer: the C driver
tests/data/fill_sanitize.c runs the edge cases (the last element 2**64 - 1, the last
block group, ranges across and past the wrap, strided and negative-stride runs, a
40-axis logical-index fill) on every SIMD path the CPU has, into buffers of exactly the
bytes a fill may write, and must finish clean; a deliberate one-element overrun must be
stopped (so the sanitizer is live)."""

import shutil
import subprocess

import pytest
from test_headers import DATA  # noqa: I001  (tests/ is on sys.path under pytest)

from fastinit._paths import kernel_dir

FLAGS = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
         "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-std=gnu11", "-Wall",
         "-Wextra", "-Werror"]


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not on the PATH")
    exe = tmp_path_factory.mktemp("sanitize") / "fill_sanitize"
    built = subprocess.run(["gcc", *FLAGS, f"-I{kernel_dir()}", str(kernel_dir() / "fill_cpu.c"),
                            str(DATA / "fill_sanitize.c"), "-o", str(exe), "-lm"],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    return exe


def test_edge_cases_run_clean(driver):
    run = subprocess.run([str(driver)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0 and "SANITIZE OK" in run.stdout, run.stderr[-3000:]
    assert run.stderr == ""


def test_sanitizer_is_live(driver):
    run = subprocess.run([str(driver), "overflow"], capture_output=True, text=True,
                         timeout=300)
    # ASan names a narrow store past the end a heap-buffer-overflow, a 64-byte vector store
    # across it an unknown-crash; either way it places the write right after the buffer
    assert run.returncode != 0 and "0 bytes to the right of 508-byte region" in run.stderr
