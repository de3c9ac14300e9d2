"""Types: mypy (configured by mypy.ini) is clean on the public modules and the stubs of
the compiled modules, the stubs match the compiled modules (mypy's stubtest), and a
user's code is checked against the annotations (a wrong argument type is an error)."""

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the public modules, fastinit.init's and fastinit.initializers' with the private modules
# that define their functions
PUBLIC = ["fastinit/__init__.py", "fastinit/init.py", "fastinit/_init_common.py",
          "fastinit/_init_fills.py", "fastinit/_init_random.py", "fastinit/_init_scaling.py",
          "fastinit/_init_structured.py", "fastinit/initializers.py",
          "fastinit/_initializers_common.py", "fastinit/_jax_factories.py",
          "fastinit/_keras_classes.py", "fastinit/jax.py", "fastinit/dask.py",
          "fastinit/_generate.py", "fastinit/_laws.py", "fastinit/_shard.py",
          "fastinit/_output.py", "fastinit/_fill.py", "fastinit/_generator.py",
          "fastinit/_registry.py", "fastinit/_core.pyi", "fastinit/_linalg.pyi"]


def _mypy(*args, cwd):
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file",
                           str(ROOT / "mypy.ini"), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_package_is_typed():
    assert (ROOT / "fastinit" / "py.typed").is_file()
    for name in ("_core", "_linalg"):
        assert (ROOT / "fastinit" / f"{name}.pyi").is_file()


# The children run outside the checkout, so that fastinit is imported as the tests import
# it (installed, or through PYTHONPATH), never from sources lacking the compiled modules.

def test_mypy_clean_on_public_modules(tmp_path):
    r = _mypy(*(str(ROOT / f) for f in PUBLIC), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr


def test_stubs_match_compiled_modules(tmp_path):
    r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "--mypy-config-file",
                        str(ROOT / "mypy.ini"), "--allowlist",
                        str(ROOT / "tests" / "data" / "stubtest_allowlist.txt"),
                        "fastinit._core", "fastinit._linalg"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_user_code_is_checked_against_the_annotations(tmp_path):
    good = tmp_path / "good.py"
    good.write_text(textwrap.dedent("""
        import numpy as np
        import fastinit
        from fastinit import init

        w = fastinit.normal((4, 4), std=0.02, seed=1)
        g = fastinit.Generator(0)
        x = g.standard_normal((3,), dtype=np.float32)
        bg: fastinit.PhiloxBitGenerator = fastinit.PhiloxBitGenerator(1)
        n: int = fastinit.get_num_threads()
        k = init.kaiming_uniform((8, 8), seed=0, layout="jax")
        same: np.ndarray = init.kaiming_uniform_(np.empty((8, 8), np.float32), a=5 ** 0.5, seed=0)
    """))
    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent("""
        import fastinit

        fastinit.set_num_threads("two")
        fastinit.Generator(0).uniform(low="zero")
        fastinit.init.normal_([0.0], std="small")
    """))
    r = _mypy(str(good), cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _mypy(str(bad), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'bad.py:4: error: Argument 1 to "set_num_threads"' in r.stdout, r.stdout
    assert 'bad.py:5: error: Argument "low" to "uniform" of "Generator"' in r.stdout, r.stdout
    assert 'bad.py:6: error: Argument "std" to "normal_"' in r.stdout, r.stdout
