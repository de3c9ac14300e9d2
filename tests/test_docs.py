"""The documentation site builds warning-free (``sphinx-build -W``) from docs/, with the
API reference of the public modules, the registry's table and every example script; the
user guide states nothing the README does not."""

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

from fastinit._registry import ENTRIES

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))
from public_api import public_names  # noqa: E402  (what the API page documents)

# modules whose functions' numpydoc sections must render on the API page
RENDERED = ("fastinit.theory", "fastinit.propagate", "fastinit.torch", "fastinit.checkpoint",
            "fastinit.dask")


def _entries(page):
    """{id: the HTML of its entry, up to the next documented object}"""
    ids = re.findall(r'<dt class="sig sig-object py" id="([^"]+)"', page)
    starts = [page.index(f'id="{i}"') for i in ids] + [len(page)]
    return {i: page[a:b] for i, a, b in zip(ids, starts[:-1], starts[1:], strict=True)}


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
                 "fastinit.theory.q_star", "fastinit.checkpoint.write_safetensors"):
        assert f'id="{name}"' in api, name
    entries = _entries(api)
    for module in RENDERED:
        for name in public_names(module):
            obj = getattr(importlib.import_module(module), name)
            if not inspect.isfunction(obj) or ">>>" not in (inspect.getdoc(obj) or ""):
                continue  # test_doctests.py requires the example
            entry = entries[f"{module}.{name}"]
            assert 'rubric">Examples' in entry and "&gt;&gt;&gt;" in entry, (module, name)
    for name, section in [("fastinit.propagate.simulate", "Parameters"),
                          ("fastinit.checkpoint.write_safetensors", "Returns"),
                          ("fastinit.theory.predicted", "Notes")]:
        assert f">{section}" in entries[name], (name, section)
    guide = (out / "guide" / "initializers.html").read_text()
    for e in ENTRIES:
        assert f"<p>{e.init}</p>" in guide, e.init
    gallery = (out / "gallery.html").read_text()
    for script in (ROOT / "examples").glob("*.py"):
        assert script.name in gallery, script.name


def _guide_parts(text):
    """(code lines, prose) of an rst page: the lines of its code blocks, and the rest
    without directive options."""
    code, prose, in_block = [], [], False
    for line in text.splitlines():
        if line.startswith(".. code-block::"):
            in_block = True
            continue
        if in_block and (line.startswith("   ") or not line.strip()):
            code += [line.strip()] if line.strip() else []
            continue
        in_block = False
        if not re.match(r"\s+:\w+:", line):
            prose.append(line)
    return code, " ".join(" ".join(prose).split())


def test_guide_states_only_what_the_readme_does():
    """Every code line, ``literal`` and number of the user guide is in the README: the
    guide is the README's text arranged by topic, so the two cannot drift apart."""
    readme = (ROOT / "README.md").read_text()
    flat = " ".join(readme.split())
    extra = []
    for page in [*sorted((ROOT / "docs" / "guide").glob("*.rst")), ROOT / "docs" / "index.rst"]:
        code, prose = _guide_parts(page.read_text())
        extra += [(page.name, line) for line in code if line not in readme]
        extra += [(page.name, lit) for lit in re.findall(r"``(.+?)``", prose)
                  if lit not in flat]
        numbers = re.findall(r"(?<![\w.])\d[\d.,*^]*\d|\b\d\b", re.sub(r"``.+?``", "", prose))
        extra += [(page.name, n) for n in numbers if n not in flat]
    assert not extra
