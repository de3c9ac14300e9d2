"""Stopping a run between layers: Ctrl-C as a flag, a dask Event on a worker."""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time


class _SigintFlag:
    """A SIGINT handler: the first Ctrl-C sets ``event`` (the loops stop at the next layer
    boundary, so no KeyboardInterrupt lands inside a lock or a wait); a second one raises
    KeyboardInterrupt as usual."""

    def __init__(self):
        self.event = threading.Event()

    def __call__(self, signum, frame):
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()


@contextlib.contextmanager
def sigint_flag():
    """Ctrl-C as a flag (_SigintFlag) for the duration, in the main thread when SIGINT has
    Python's default handler (or already this one: the same flag); elsewhere a flag that
    only KeyboardInterrupt-free code paths ignore (KeyboardInterrupt is still caught).

    Examples
    --------
    >>> from fastinit.propagate import sigint_flag
    >>> with sigint_flag() as stop:
    ...     stop.is_set()  # a loop checks it between layers
    False
    """
    current = signal.getsignal(signal.SIGINT)
    if isinstance(current, _SigintFlag):
        yield current.event
        return
    if threading.current_thread() is not threading.main_thread() or \
            current is not signal.default_int_handler:
        yield threading.Event()
        return
    handler = _SigintFlag()
    signal.signal(signal.SIGINT, handler)
    try:
        yield handler.event
    finally:
        signal.signal(signal.SIGINT, current)


def _event_stop(name):
    """On a dask worker: a stop callable reading the client's Event ``name`` (at most
    every 0.2 s)."""
    from distributed import Event

    event, last = Event(name), [-math.inf]

    def stop():
        now = time.monotonic()
        if now - last[0] < 0.2:
            return False
        last[0] = now
        return event.is_set()

    return stop
