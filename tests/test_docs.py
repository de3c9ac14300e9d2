"""The documentation site builds warning-free (``sphinx-build -W``) from docs/, with the
API reference of the public modules, the registry's table and every example script."""

import subprocess
import sys
from pathlib import Path

from fastinit._registry import ENTRIES

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    r = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q",
                        "-b", "html", "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"),
                        str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    api = (out / "api.html").read_text()
    for name in ("fastinit.normal", "fastinit.Generator.standard_normal",
                 "fastinit.init.kaiming_uniform_", "fastinit.initializers.GlorotNormal",
                 "fastinit.torch.materialize_", "fastinit.jax.make_sharded",
                 "fastinit.dask.initializer", "fastinit.propagate.simulate",
                 "fastinit.theory.q_star"):
        assert f'id="{name}"' in api, name
    guide = (out / "guide" / "initializers.html").read_text()
    for e in ENTRIES:
        assert f"<p>{e.init}</p>" in guide, e.init
    gallery = (out / "gallery.html").read_text()
    for script in (ROOT / "examples").glob("*.py"):
        assert script.name in gallery, script.name
