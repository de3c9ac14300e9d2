"""bench/compare.py reports the propagation targets from a pytest-benchmark JSON."""

import importlib.util
import json
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    "compare", Path(__file__).parent.parent / "bench" / "compare.py")
compare = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(compare)


def _bench(library, ms):
    return {"name": f"test_propagate_{library}",
            "extra_info": {"library": library, "dist": "propagate",
                           "seconds_per_layer": ms / 1e3}}


def test_propagation_targets_are_judged(tmp_path, capsys):
    path = tmp_path / "r.json"
    rows = [_bench("fastinit", 100), _bench("numpy", 320), _bench("torch", 140),
            _bench("gemm_only", 45), _bench("fill_only", 50)]
    path.write_text(json.dumps({"benchmarks": rows}))
    compare.print_propagation(path)
    out = capsys.readouterr().out
    lines = {" ".join(line.split()) for line in out.splitlines()}
    assert "faster than the numpy loop 3.20x (target >= 3.0x) met" in lines
    assert "faster than the torch loop 1.40x (target >= 1.5x) not met" in lines
    assert "time over gemm+fill 1.05x (target <= 1.15x) met" in lines
