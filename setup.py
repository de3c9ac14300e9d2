"""Build of the compiled core: kernels/fill_cpu.c (one source, baseline/AVX2/AVX-512 paths
chosen at run time) under the Cython module fastinit/_core.pyx, fastinit/_bitgen.pyx
(the stream one block at a time: raw Philox, numpy BitGenerator) and fastinit/_linalg.pyx
(orthogonal frames over scipy's LAPACK, resolved at run time), with OpenMP when the
compiler has it.  FASTINIT_NO_OPENMP=1 forces a serial build."""

import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def openmp_flags():
    """The compiler's OpenMP flags, or [] (with a warning) when it has none."""
    if os.environ.get("FASTINIT_NO_OPENMP") == "1":
        return []
    cc = os.environ.get("CC", "cc")
    src = "#include <omp.h>\nint main(void){return omp_get_max_threads() > 0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "probe.c")
        with open(path, "w") as f:
            f.write(src)
        try:
            subprocess.run([cc, "-fopenmp", path, "-o", os.path.join(tmp, "probe")],
                           check=True, capture_output=True)
            return ["-fopenmp"]
        except (OSError, subprocess.CalledProcessError):
            print("WARNING: the compiler has no OpenMP; fastinit builds serial fills",
                  file=sys.stderr)
            return []


omp = openmp_flags()
ext = Extension(
    "fastinit._core",
    sources=["fastinit/_core.pyx", "kernels/fill_cpu.c"],
    depends=["fastinit/_kernels.pxd", *glob.glob("kernels/*.h")],
    include_dirs=["kernels", np.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
    extra_compile_args=["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off",
                        "-std=gnu11", *omp],
    extra_link_args=omp,
)

bitgen = Extension(
    "fastinit._bitgen",
    sources=["fastinit/_bitgen.pyx"],
    depends=glob.glob("kernels/*.h"),
    include_dirs=["kernels", np.get_include()],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION")],
    extra_compile_args=["-O3", "-ffp-contract=off", "-std=gnu11"],
)

linalg = Extension(
    "fastinit._linalg",
    sources=["fastinit/_linalg.pyx"],
    extra_compile_args=["-O3", "-std=gnu11", *omp],
    extra_link_args=omp,
)

setup(
    ext_modules=cythonize([ext, bitgen, linalg], compiler_directives={"language_level": 3}),
    package_dir={"fastinit": "fastinit", "fastinit.kernels": "kernels"},
    packages=["fastinit", "fastinit.backends", "fastinit.kernels", "fastinit.propagate",
              "fastinit.theory"],
    package_data={"fastinit.kernels": ["*.h", "*.c", "*.cu", "README.md"]},
)
