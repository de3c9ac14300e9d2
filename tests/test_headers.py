"""The kernel headers compile as C99, C++, nvcc and NVRTC (no standard library), with
warnings as errors.  Compilers missing from the machine skip with the reason."""

import ctypes
import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fastinit._paths import kernel_dir

DATA = Path(__file__).parent / "data"
KERNELS = kernel_dir()


@pytest.mark.parametrize("cc,std", [("gcc", "-std=c99"), ("g++", "-std=c++17")])
def test_host_c_and_cxx(cc, std, tmp_path):
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} is not on the PATH")
    exe = tmp_path / "kat"
    lang = ["-x", "c++"] if cc == "g++" else []
    subprocess.run([cc, std, *lang, "-Wall", "-Wextra", "-Werror", "-pedantic", "-O2",
                    "-fno-math-errno", "-ffp-contract=off", f"-I{KERNELS}",
                    str(DATA / "kat_host.c"), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    assert out.startswith("KAT OK"), out


# every shipped .cu, and the probe that calls each transform; with the entries each defines
SOURCES = {DATA / "probe_kernel.cu": ["probe"],
           KERNELS / "fill_cuda.cu": ["fi_fill_u32", "fi_fill_f16", "fi_fill_bf16",
                                      "fi_fill_f32", "fi_fill_f64", "fi_round_f16",
                                      "fi_round_bf16"]}


def test_every_cu_is_checked():
    assert {p.name for p in KERNELS.glob("*.cu")} <= {p.name for p in SOURCES}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_nvcc_ptx(arch, source, tmp_path):
    if shutil.which("nvcc") is None:
        pytest.skip("nvcc is not on the PATH (the CUDA toolkit is not installed)")
    ptx = tmp_path / "out.ptx"
    subprocess.run(["nvcc", "-ptx", f"-arch={arch}", "-std=c++17", "-Werror", "all-warnings",
                    "--fmad=false", f"-I{KERNELS}", str(source), "-o", str(ptx)], check=True)
    text = ptx.read_text()
    for entry in SOURCES[source]:
        assert f".entry {entry}(" in text
    assert "fma.rn" not in text  # --fmad=false: the device rounds like the host


def _nvrtc():
    try:
        import nvidia.cu13  # noqa: F401  (the nvidia-cuda-nvrtc wheel)
    except ImportError:
        return None
    import nvidia.cu13 as cu

    lib_dir = os.path.join(list(cu.__path__)[0], "lib")
    libs = sorted(glob.glob(os.path.join(lib_dir, "libnvrtc.so.*")))
    builtins = sorted(glob.glob(os.path.join(lib_dir, "libnvrtc-builtins.so.*")))
    if not libs or not builtins:
        return None
    ctypes.CDLL(builtins[0], mode=ctypes.RTLD_GLOBAL)  # NVRTC dlopens it by soname
    return ctypes.CDLL(libs[0])


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_nvrtc_without_standard_library(source):
    lib = _nvrtc()
    if lib is None:
        pytest.skip("NVRTC is not installed (pip install nvidia-cuda-nvrtc)")
    src = source.read_bytes()
    prog = ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), src, source.name.encode(), 0, None,
                                  None) == 0
    opts = [b"--gpu-architecture=compute_80", b"--fmad=false", b"-std=c++17",
            f"-I{KERNELS}".encode()]
    arr = (ctypes.c_char_p * len(opts))(*opts)
    status = lib.nvrtcCompileProgram(prog, len(opts), arr)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    assert status == 0, log.value.decode()
    lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
    ptx = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetPTX(prog, ptx)
    for entry in SOURCES[source]:
        assert f".entry {entry}(".encode() in ptx.value
    assert b"fma.rn" not in ptx.value
