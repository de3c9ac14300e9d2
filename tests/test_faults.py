"""Faults delivered to real child processes: SIGINT, SIGTERM and SIGKILL during a large
fill and during a checkpoint write, two writers of one file, a full disk, unwritable paths.

Every child inherits os.environ (so it imports fastinit from PYTHONPATH) and every wait
has a timeout, so a hang fails the test instead of blocking it.
"""

import contextlib
import errno
import json
import os
import re
import select
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest
from test_propagate_robust import TERMINAL

from fastinit import checkpoint

CLI = [sys.executable, "-m", "fastinit", "checkpoint"]
# the CLI with a stderr that says it is a terminal: its progress bar (drawn on terminals
# only) then reaches the pipe, and its first line tells that the write has begun
CLI_ON_TERMINAL = [sys.executable, "-c", TERMINAL + "from fastinit.cli import main\n"
                   "sys.exit(main(sys.argv[1:]))", "checkpoint"]


@contextlib.contextmanager
def _child(args, **kw):
    """A child process with binary pipes, killed (by its pid) if the test leaves early."""
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=os.environ, **kw)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def _wait_for(stream, marker: bytes, timeout: float) -> bytes:
    """Read the pipe ``stream`` until ``marker`` appears; fail after ``timeout`` seconds."""
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} within {timeout} s, got {seen[-300:]!r}"
        if select.select([stream], [], [], left)[0]:
            chunk = os.read(stream.fileno(), 1 << 16)
            assert chunk, f"pipe closed before {marker!r}, got {seen[-300:]!r}"
            seen += chunk
    return seen


def _temps(directory):
    """The temporary files in ``directory`` (``*.partial``)."""
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".partial"))


def _spec(tmp_path, shapes):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(shapes))
    return str(spec)


# (a) a large fill


def test_sigint_raises_keyboard_interrupt_in_a_large_fill(tmp_path):
    code = textwrap.dedent("""
        import sys, numpy as np, fastinit
        out = np.empty(1 << 27, np.float32)
        print("ready", flush=True)
        try:
            for _ in range(1000):
                fastinit.normal(None, seed=1, out=out)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(3)
    """)
    with _child([sys.executable, "-c", code], cwd=tmp_path) as proc:
        _wait_for(proc.stdout, b"ready", 30)
        time.sleep(0.5)
        t = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        latency = time.perf_counter() - t
    assert proc.returncode == 3 and out.strip() == b"interrupted", (out, err)
    assert latency < 2.0, latency


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_sigterm_and_sigkill_end_a_large_fill(tmp_path, sig):
    code = ("import numpy as np, fastinit\nout = np.empty(1 << 27, np.float32)\n"
            "print('ready', flush=True)\n"
            "for _ in range(1000):\n    fastinit.normal(None, seed=1, out=out)\n")
    with _child([sys.executable, "-c", code], cwd=tmp_path) as proc:
        _wait_for(proc.stdout, b"ready", 30)
        time.sleep(0.5)
        t = time.perf_counter()
        proc.send_signal(sig)
        proc.communicate(timeout=10)
        latency = time.perf_counter() - t
    assert proc.returncode == -sig and latency < 2.0, (proc.returncode, latency)


# (b) a checkpoint write


@pytest.mark.parametrize("old", [False, True], ids=["new", "over_old"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_signal_during_a_checkpoint_write(tmp_path, sig, old):
    """Signalled in the middle of a write (its temporary file exists, ``out`` does not hold
    the new file; the rest of the 256 MiB takes far longer than the signal), SIGINT (exit
    130) and SIGTERM (exit 143) remove the temporary file; SIGKILL cannot be caught and
    leaves it, named ``.m.safetensors.XXXXXXXX.partial``.  ``out`` is never partly
    written: absent, or the old file byte for byte."""
    out = tmp_path / "m.safetensors"
    if old:
        checkpoint.write_safetensors(out, {"old": [16, 16]}, seed=7)
    before = out.read_bytes() if old else None
    spec = _spec(tmp_path, {"w": [65536, 1024]})  # 256 MiB, far more than is written here
    args = CLI_ON_TERMINAL + ["--spec", spec, "--out", str(out), "--chunk-mib", "1",
                              "--seed", "1"]
    with _child(args, cwd=tmp_path) as proc:
        _wait_for(proc.stderr, b"[", 30)  # the progress bar: the write has begun
        temps = _temps(tmp_path)
        assert len(temps) == 1 and re.fullmatch(r"\.m\.safetensors\.\w{8}\.partial", temps[0])
        assert (out.read_bytes() if old else out.exists()) == (before if old else False)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=15)
    expect = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGKILL: -signal.SIGKILL}[sig]
    assert proc.returncode == expect, err[-300:]
    assert b"Traceback" not in err, err
    if sig == signal.SIGINT:
        assert err.rsplit(b"\r", 1)[-1].strip().endswith(b"left unchanged"), err[-300:]
    assert _temps(tmp_path) == (temps if sig == signal.SIGKILL else [])
    if old:
        assert out.read_bytes() == before
    else:
        assert not out.exists()


# (c) concurrent writers, full disk, unwritable paths


@pytest.mark.parametrize("interleaved", [False, True], ids=["together", "interleaved"])
def test_concurrent_writers_leave_one_whole_file(tmp_path, interleaved):
    """Two writers of one ``--out`` with different seeds used to share ``out.partial``:
    when the later one finished first, the earlier one went on writing into the renamed
    file, which then opened in safetensors but mixed both seeds (and one writer exited 0).
    Now each writes its own temporary file and the last rename wins: both exit 0 and the
    file equals one single-writer result byte for byte.  "interleaved" stops writer 1
    after its first chunk until writer 2 has finished."""
    shapes = {"w": [8192, 1024], "b": [1024]}  # 32 MiB in 1 MiB chunks
    spec = _spec(tmp_path, shapes)
    out = tmp_path / "m.safetensors"
    code = TERMINAL + textwrap.dedent("""
        import sys
        from fastinit.cli import main
        print("ready", flush=True)
        sys.stdin.readline()
        sys.exit(main(["checkpoint", "--spec", sys.argv[1], "--out", sys.argv[2], "--seed",
                       sys.argv[3], "--chunk-mib", "1"]))
    """)
    singles = {}
    for seed in (1, 2):
        ref = tmp_path / f"ref{seed}.safetensors"
        checkpoint.write_safetensors(ref, shapes, seed=seed, chunk_bytes=1 << 20)
        singles[seed] = ref.read_bytes()
    assert singles[1] != singles[2]
    with contextlib.ExitStack() as stack:
        first, second = (stack.enter_context(_child([sys.executable, "-c", code, spec,
                                                     str(out), str(seed)], cwd=tmp_path))
                         for seed in (1, 2))
        for proc in (first, second):
            _wait_for(proc.stdout, b"ready", 30)
            proc.stdin.write(b"go\n")
            proc.stdin.flush()
            if interleaved and proc is first:
                _wait_for(first.stderr, b"[", 30)  # writer 1 has begun its write
                first.send_signal(signal.SIGSTOP)
        if interleaved:
            second.communicate(timeout=120)
            first.send_signal(signal.SIGCONT)
        results = [proc.communicate(timeout=120) for proc in (first, second)]
    assert out.read_bytes() in (singles[1], singles[2])
    if interleaved:
        assert out.read_bytes() == singles[1]  # the last rename
    for proc, (_, err) in zip((first, second), results, strict=True):
        assert proc.returncode == 0, err[-300:]
    assert _temps(tmp_path) == []


@pytest.mark.parametrize("old", [False, True], ids=["new", "over_old"])
def test_full_disk_leaves_no_partial_file(tmp_path, old):
    """A write that fails midway (a 1 MiB file size limit: EFBIG, as ENOSPC on a full disk)
    exits 1 with one line; ``out`` is absent or the old file, no temporary file is left."""
    out = tmp_path / "m.safetensors"
    if old:
        checkpoint.write_safetensors(out, {"old": [16, 16]}, seed=7)
    before = out.read_bytes() if old else None
    spec = _spec(tmp_path, {"w": [1024, 1024]})  # 4 MiB
    code = textwrap.dedent(f"""
        import resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
        from fastinit.cli import main
        sys.exit(main(["checkpoint", "--spec", {spec!r}, "--out", {str(out)!r},
                       "--chunk-mib", "1", "--no-progress"]))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=os.environ, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and os.strerror(errno.EFBIG) in proc.stderr, proc.stderr
    assert proc.stderr.startswith("fastinit checkpoint: error: writing"), proc.stderr
    assert _temps(tmp_path) == []
    if old:
        assert out.read_bytes() == before
    else:
        assert not out.exists()


@pytest.mark.parametrize("where, message", [
    ("{tmp}", "is a directory"),
    ("{tmp}/missing/m.safetensors", "does not exist"),
    ("{tmp}/file/m.safetensors", "is not a directory"),
    ("/proc/m.safetensors", "'/proc'"),  # refused by the open itself when run as root
    ("{tmp}/fifo", "is not a regular file"),  # a device or pipe is never replaced by a file
])
def test_unwritable_out_fails_before_generation(tmp_path, where, message):
    """Exit 2 and one line on stderr, before any chunk is generated (no progress bar for
    the 1 GiB tensor), nothing created."""
    (tmp_path / "file").write_bytes(b"x")
    os.mkfifo(tmp_path / "fifo")
    spec = _spec(tmp_path, {"w": [16384, 16384]})
    out = where.format(tmp=tmp_path)
    proc = subprocess.run(CLI + ["--spec", spec, "--out", out], capture_output=True, text=True,
                          cwd=tmp_path, env=os.environ, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "[" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith("fastinit checkpoint: error:") and message in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "file", "spec.json"]
    assert stat.S_ISFIFO((tmp_path / "fifo").stat().st_mode)
