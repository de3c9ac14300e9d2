"""Random safetensors checkpoints: readable by safetensors, equal to the in-memory
tensors whatever the chunk size, bounded memory, the CLI."""

import json
import os
import stat
import subprocess
import sys
import textwrap

import ml_dtypes
import numpy as np
import pytest

import fastinit
from fastinit import checkpoint, init

SPEC = {"wte.weight": [1000, 64], "h.0.attn.weight": [64, 192], "h.0.attn.bias": [192],
        "ln_f.weight": [64], "conv.weight": [8, 4, 3, 3], "scalar": []}


def _expected(name, shape, dtype, scheme="torch", seed=0):
    out = np.empty(shape, dtype)
    checkpoint.scheme_fill(scheme, name, tuple(shape))(out, seed=checkpoint.tensor_seed(seed,
                                                                                         name))
    return out


@pytest.mark.parametrize("dtype", [np.float32, ml_dtypes.bfloat16])
@pytest.mark.parametrize("chunk", [1024, 64 << 20])
def test_file_equals_in_memory_tensors(tmp_path, dtype, chunk):
    path = tmp_path / "m.safetensors"
    checkpoint.write_safetensors(path, SPEC, seed=4, dtype=dtype, chunk_bytes=chunk)
    got = checkpoint.read_safetensors(path)
    assert list(got) == list(SPEC)
    for name, shape in SPEC.items():
        np.testing.assert_array_equal(got[name], _expected(name, shape, dtype, seed=4))
    assert not got["h.0.attn.bias"].any() and (got["ln_f.weight"] == 1).all()


def test_safetensors_reads_it(tmp_path):
    st = pytest.importorskip("safetensors.torch")
    torch = pytest.importorskip("torch")
    path = tmp_path / "m.safetensors"
    checkpoint.write_safetensors(path, SPEC, seed=1, dtype="bfloat16", init="dummy",
                                 metadata={"note": "random"})
    tensors = st.load_file(str(path))
    assert tensors["wte.weight"].dtype == torch.bfloat16
    for name, shape in SPEC.items():
        expect = _expected(name, shape, ml_dtypes.bfloat16, "dummy", seed=1)
        got = tensors[name].view(torch.int16).numpy().view(ml_dtypes.bfloat16)
        np.testing.assert_array_equal(got, expect)
    assert float(tensors["wte.weight"].abs().max()) <= 1e-3


def test_module_checkpoint_equals_init_module(tmp_path):
    torch = pytest.importorskip("torch")
    ft = pytest.importorskip("fastinit.torch")

    def build():
        return torch.nn.Sequential(torch.nn.Linear(40, 30), torch.nn.LayerNorm(30),
                                   torch.nn.Embedding(50, 30), torch.nn.BatchNorm1d(30))

    with torch.device("meta"):
        meta = build()
    path = tmp_path / "mod.safetensors"
    checkpoint.write_safetensors(path, checkpoint.module_specs(meta), seed=9, chunk_bytes=1024)
    got = checkpoint.read_safetensors(path)
    eager = ft.init_module_(build(), seed=9).state_dict()
    floats = {k: v for k, v in eager.items() if v.is_floating_point()}
    assert set(got) == set(floats)
    for name, t in floats.items():
        np.testing.assert_array_equal(got[name], t.numpy(), err_msg=name)


def test_orthogonal_and_custom_inits(tmp_path):
    path = tmp_path / "o.safetensors"
    specs = [{"name": "q", "shape": [32, 64], "init": init.orthogonal_},
             {"name": "w", "shape": [300, 7], "dtype": "float64",
              "init": lambda a, seed: init.trunc_normal_(a, 0.0, 0.5, -1.0, 1.0, seed=seed)}]
    checkpoint.write_safetensors(path, specs, seed=2, chunk_bytes=1024)
    got = checkpoint.read_safetensors(path)
    assert np.abs(got["q"] @ got["q"].T - np.eye(32)).max() < 1e-5
    expect = init.trunc_normal_(np.empty((300, 7)), 0.0, 0.5, -1.0, 1.0,
                                seed=checkpoint.tensor_seed(2, "w"))
    np.testing.assert_array_equal(got["w"], expect)


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def test_bad_specs(tmp_path):
    path = tmp_path / "bad.safetensors"
    with pytest.raises(ValueError, match=r"unique, repeated: \['a'\]"):
        checkpoint.write_safetensors(path, [{"name": "a", "shape": [2]}] * 2, seed=0)
    with pytest.raises(ValueError, match="shape"):
        checkpoint.write_safetensors(path, {"a": [2, -1]}, seed=0)
    with pytest.raises(ValueError, match="init"):
        checkpoint.write_safetensors(path, {"a": [2, 2]}, seed=0, init="xavier")
    with pytest.raises(TypeError, match="dtype"):
        checkpoint.write_safetensors(path, {"a": [2, 2]}, seed=0, dtype=np.int8)
    assert not path.exists() and not _leftovers(tmp_path)


@pytest.mark.parametrize("specs, match", [
    ({"__metadata__": [2, 2]}, "'__metadata__' is reserved"),
    ([{"name": "w", "shape": [2]}, {"name": "__metadata__", "shape": [2]}], "__metadata__"),
    ({"": [2]}, "non-empty str"),
    ({3: [2]}, "name must be a non-empty str, got 3"),
    ([{"name": b"w", "shape": [2]}], "name must be a non-empty str"),
])
def test_bad_names_are_refused(tmp_path, specs, match):
    """``__metadata__`` as a tensor name made a file safetensors cannot load."""
    path = tmp_path / "bad.safetensors"
    with pytest.raises(ValueError, match=match):
        checkpoint.write_safetensors(path, specs, seed=0)
    assert not path.exists() and not _leftovers(tmp_path)


def test_spec_file_duplicate_keys_are_refused(tmp_path):
    """json keeps the last of repeated keys: {"a": [4, 4], "a": [2]} silently lost a."""
    spec = tmp_path / "spec.json"
    spec.write_text('{"a": [4, 4], "b": [3], "a": [2]}')
    with pytest.raises(ValueError, match=r"duplicate keys .*\['a'\]"):
        checkpoint.load_spec(spec)
    spec.write_text('[{"name": "a", "shape": [4], "shape": [2]}]')
    with pytest.raises(ValueError, match=r"\['shape'\]"):
        checkpoint.load_spec(spec)
    spec.write_text('[{"name": "a", "shape": [4]}, {"name": "b", "shape": [2, 2]}]')
    assert checkpoint.load_spec(spec) == [{"name": "a", "shape": [4]},
                                          {"name": "b", "shape": [2, 2]}]
    with pytest.raises(ValueError, match="spec .*missing.json"):
        checkpoint.load_spec(tmp_path / "missing.json")


def test_bad_paths_fail_before_any_tensor_is_generated(tmp_path):
    calls = []

    def spy(a, seed):
        calls.append(a.shape)
        a[...] = 0

    (tmp_path / "file").write_bytes(b"x")
    os.mkfifo(tmp_path / "fifo")
    cases = {str(tmp_path): "is a directory",
             str(tmp_path / "sub") + "/": "parent .* does not exist",
             str(tmp_path / "missing" / "m.safetensors"): "parent .* does not exist",
             str(tmp_path / "file" / "m.safetensors"): "parent .* is not a directory",
             str(tmp_path / "fifo"): "not a regular file",  # never replaced
             # /proc takes no new files, for root too (there the real open fails)
             "/proc/m.safetensors": "'/proc'"}
    for path, match in cases.items():
        with pytest.raises(ValueError, match=f"path .*{match}"):
            checkpoint.write_safetensors(path, {"w": [64, 64]}, seed=0, init=spy)
    with pytest.raises(ValueError, match="path must be a non-empty file path"):
        checkpoint.write_safetensors("", {"w": [64, 64]}, seed=0, init=spy)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        checkpoint.write_safetensors(3, {"w": [64, 64]}, seed=0, init=spy)
    assert calls == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "file"]
    assert stat.S_ISFIFO((tmp_path / "fifo").stat().st_mode)
    checkpoint.write_safetensors(tmp_path / "ok.safetensors", {"w": [64, 64]}, seed=0,
                                 init=spy)
    assert calls == [(64, 64)]


def test_failed_write_leaves_the_old_file(tmp_path):
    """An error in the middle of the write (here in a fill) removes the temporary file and
    leaves the previous file at ``path`` byte for byte."""
    path = tmp_path / "m.safetensors"
    checkpoint.write_safetensors(path, SPEC, seed=1)
    old = path.read_bytes()

    def broken(a, seed):
        raise RuntimeError("fill failed")

    specs = [{"name": "w", "shape": [600, 600]}, {"name": "x", "shape": [4, 4], "init": broken}]
    with pytest.raises(RuntimeError, match="fill failed"):
        checkpoint.write_safetensors(path, specs, seed=2, chunk_bytes=1024)
    assert path.read_bytes() == old and not _leftovers(tmp_path)


def test_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        checkpoint.write_safetensors(tmp_path / "m.safetensors", {"w": [4]}, seed=0)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.safetensors").stat().st_mode) == 0o640


def test_std_of_the_normal_scheme(tmp_path):
    path = tmp_path / "n.safetensors"
    checkpoint.write_safetensors(path, {"w": [50, 40], "b.bias": [40]}, seed=5, init="normal",
                                 std=0.5)
    got = checkpoint.read_safetensors(path)
    expect = np.empty((50, 40), np.float32)
    checkpoint.scheme_fill("normal", "w", (50, 40), 0.5)(
        expect, seed=checkpoint.tensor_seed(5, "w"))
    np.testing.assert_array_equal(got["w"], expect)
    assert not got["b.bias"].any()


@pytest.mark.parametrize("mib", ["0", "-1"])
def test_cli_refuses_a_chunk_below_1_mib(tmp_path, capsys, mib):
    """--chunk-mib below 1 exits 2 naming --chunk-mib (not the internal chunk_bytes), and
    leaves neither the file nor --config's folder behind."""
    from fastinit.cli import main

    spec = tmp_path / "spec.json"
    spec.write_text('{"w": [4, 4]}')
    with pytest.raises(SystemExit) as exc:
        main(["checkpoint", "--spec", str(spec), "--out", str(tmp_path / "w.safetensors"),
              "--chunk-mib", mib])
    assert exc.value.code == 2
    assert f"--chunk-mib must be an integer >= 1, got {mib}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["checkpoint", "--config", str(tmp_path / "config.json"), "--out",
              str(tmp_path / "ck"), "--chunk-mib", mib])
    assert exc.value.code == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.json"]


def test_cli_and_bounded_memory(tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"big": [8192, 8192], "b": [8192]}))  # 256 MiB of float32
    out = tmp_path / "big.safetensors"
    code = textwrap.dedent(f"""
        import sys
        from fastinit.cli import main
        rc = main(["checkpoint", "--spec", {str(spec)!r}, "--out", {str(out)!r},
                   "--chunk-mib", "8", "--no-progress", "--seed", "3"])
        # VmHWM, not ru_maxrss: on Linux a child's ru_maxrss starts from its parent's
        print(next(int(l.split()[1]) for l in open("/proc/self/status")
                   if l.startswith("VmHWM")) // 1024)
        sys.exit(rc)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    peak_mib = int(proc.stdout.split()[-1])
    assert "wrote 2 tensors" in proc.stdout
    assert peak_mib < 200, peak_mib  # the tensor alone is 256 MiB
    got = checkpoint.read_safetensors(out)
    rows = np.empty((5, 8192), np.float32)
    with fastinit.shard((8192, 8192), (8187, 0)):
        checkpoint.scheme_fill("torch", "big", (8192, 8192))(
            rows, seed=checkpoint.tensor_seed(3, "big"))
    np.testing.assert_array_equal(got["big"][-5:], rows)
