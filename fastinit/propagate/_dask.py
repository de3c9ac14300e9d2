"""The ensemble spread over the workers of a dask.distributed Client."""

from __future__ import annotations

import contextlib
import time

import numpy as np

from ._run import _run

_NO_WORKERS_SECONDS = 30.0


def _run_on_client(client, args, nets, x, track, jacobian_at, method, backend, flag):
    """The ensemble split over the workers of ``client``, one part per worker.  Waits in
    short timeouts (Ctrl-C lands between them): on Ctrl-C (``flag``) the workers stop at
    their next layer and the parts are cut to the layers all completed, as locally.
    With no worker left for _NO_WORKERS_SECONDS: a RuntimeError.  Whatever happens
    (an error, a KeyboardInterrupt: a second Ctrl-C) no part is left on the cluster."""
    import uuid

    from distributed import Event, wait

    n_workers = len(client.scheduler_info()["workers"])
    if n_workers == 0:
        raise ValueError("client has no workers: start some (or client.wait_for_workers(n)) "
                         "before simulate(client=...)")
    parts = [nets[i::n_workers] for i in range(min(len(nets), n_workers))]
    name = f"fastinit-propagate-stop-{uuid.uuid4().hex}"
    event = Event(name, client=client)
    futures = client.map(_run, *[[a] * len(parts) for a in args], parts,
                         [x] * len(parts), [track] * len(parts), [False] * len(parts),
                         [jacobian_at] * len(parts), [method] * len(parts),
                         [backend] * len(parts), [name] * len(parts), pure=False)
    try:
        lonely = None
        while True:
            try:
                wait(futures, timeout=0.25)
                break
            except TimeoutError:
                pass
            if flag.is_set() and not event.is_set():
                event.set()
            if client.scheduler_info()["workers"]:
                lonely = None
            elif lonely is None:
                lonely = time.monotonic()
            elif time.monotonic() - lonely > _NO_WORKERS_SECONDS:
                raise RuntimeError(f"simulate(client=...): no dask worker left for "
                                   f"{_NO_WORKERS_SECONDS} s; the parts were cancelled")
        results = client.gather(futures)
    except BaseException:
        with contextlib.suppress(Exception):
            event.set()  # a part still running on a worker stops at its next layer
        raise
    else:
        if event.is_set():
            event.clear()
    finally:  # nothing left held on the cluster, whatever happened
        client.cancel(futures)
    keep = min(r[0].shape[0] for r in results)
    order = np.argsort(np.concatenate(parts))
    arrays = (np.concatenate([r[k][:keep] for r in results], axis=1)[:, order]
              for k in range(5))
    jsv = {d: np.concatenate([r[6][d] for r in results])[order]
           for d in results[0][6] if all(d in r[6] for r in results)}
    return (*arrays, any(r[5] for r in results), jsv)
