"""The paper reproductions in examples/ run (small sizes) and pass their own checks."""

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_reproduces_its_numbers(path, tmp_path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out_dir = tmp_path / "out"  # not there yet: the script makes it, as `script.py out_dir`
    checks = module.main(out_dir, quick=True)
    assert checks and all(v == v for v in checks.values())  # no NaN
    assert list(out_dir.glob("*.png")), "the figure was written"


def test_examples_exist():
    assert {p.stem for p in EXAMPLES} >= {"poole2016_tanh_maps", "schoenholz2017_depth_scales",
                                          "pennington2017_spectra",
                                          "schoenholz2017_trainable_depth",
                                          "xiao2018_delta_orthogonal_cnn"}
