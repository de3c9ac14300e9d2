"""Progress bars (fastinit._progress): tqdm on a terminal, nothing in a log or a pipe, nothing
without tqdm; the same bar for simulate, write_safetensors and the CLI."""

import contextlib
import fcntl
import os
import pty
import struct
import sys
import termios
import threading
import time

import numpy as np

from fastinit import checkpoint
from fastinit import propagate as P
from fastinit.cli import main

SPEC = {"a": (64, 256), "b": (1000,)}
END = "<end of test output>"


@contextlib.contextmanager
def terminal_stderr():
    """sys.stderr on a pty of 100 columns; yields a list that holds, on exit, what was
    drawn on it."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    seen = []

    def read():
        with contextlib.suppress(OSError):  # EIO once the terminal is closed
            while chunk := os.read(master, 4096):
                seen.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    term = os.fdopen(slave, "w", encoding="utf-8")
    stderr, sys.stderr = sys.stderr, term
    try:
        yield seen
    finally:
        sys.stderr = stderr
        term.write(END)  # read up to here before closing: the terminal keeps the order
        term.flush()
        deadline = time.monotonic() + 30
        while END.encode() not in b"".join(seen) and time.monotonic() < deadline:
            time.sleep(0.01)
        term.close()
        reader.join(5)
        os.close(master)
        seen[:] = [b"".join(seen).split(END.encode())[0]]


def _runs(tmp_path):
    """simulate, write_safetensors and the CLI's propagate, each asked for a bar."""
    P.simulate(5, 16, n_networks=2, progress=True)
    checkpoint.write_safetensors(tmp_path / "c.safetensors", SPEC, seed=1, chunk_bytes=1024,
                                 progress=True)
    assert main(["propagate", "--depth", "5", "--width", "16", "--networks", "2"]) == 0


def test_progress_into_a_non_terminal_writes_no_bar(tmp_path, capsys):
    _runs(tmp_path)
    out, err = capsys.readouterr()
    assert "\r" not in err and "\r" not in out
    assert err == ""
    assert "propagation: tanh" in out  # the CLI's summary still comes


def test_progress_on_a_terminal_draws_tqdm_bars(tmp_path):
    with terminal_stderr() as seen:
        P.simulate(5, 16, n_networks=2, progress=True)
        checkpoint.write_safetensors(tmp_path / "c.safetensors", SPEC, seed=1,
                                     chunk_bytes=1024, progress=True)
    drawn = b"".join(seen).decode()
    assert "\r" in drawn and "layer 5/5" in drawn and "100%" in drawn
    total = sum(np.prod(s) * 4 for s in SPEC.values())
    assert f"{total / 1e3:.1f}k/{total / 1e3:.1f}k" in drawn  # the bytes written, scaled


def test_no_tqdm_no_bar_even_on_a_terminal(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    with terminal_stderr() as seen:
        P.simulate(5, 16, n_networks=2, progress=True)
        checkpoint.write_safetensors(tmp_path / "c.safetensors", SPEC, seed=1,
                                     chunk_bytes=1024, progress=True)
    assert b"".join(seen) == b""


def test_progress_false_on_a_terminal_draws_nothing():
    with terminal_stderr() as seen:
        P.simulate(5, 16, n_networks=2, progress=False)
        assert main(["propagate", "--depth", "5", "--width", "16", "--networks", "2",
                     "--no-progress"]) == 0
    assert b"".join(seen) == b""
