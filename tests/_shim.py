"""C test harnesses compiled against kernels/ with the extension's floating-point flags
(setup.py: no fused multiply-add contraction, no errno, no trapping), loaded by ctypes."""

import ctypes
import subprocess

from fastinit._paths import kernel_dir

FLAGS = ["-std=gnu11", "-O2", "-fPIC", "-shared", "-ffp-contract=off", "-fno-math-errno",
         "-fno-trapping-math"]


def build_shim(source, directory):
    """Compile the C `source` in `directory` into a shared library and load it."""
    (directory / "shim.c").write_text(source)
    lib = directory / "libshim.so"
    subprocess.run(["gcc", *FLAGS, f"-I{kernel_dir()}", str(directory / "shim.c"), "-o",
                    str(lib), "-lm"], check=True)
    return ctypes.CDLL(str(lib))
