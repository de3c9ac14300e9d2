"""Progress bars: tqdm on stderr, drawn only when stderr is a terminal (tqdm's
``disable=None``) and tqdm is installed; otherwise nothing is written."""

from __future__ import annotations

import sys


class _Off:
    """The bar when there is none: update and close do nothing."""

    def update(self, n=1):
        pass

    def refresh(self):
        pass

    def close(self):
        pass


def progress_bar(enabled: bool, total: int, **kw):
    """A tqdm bar of ``total`` steps on stderr (``kw``: tqdm's options, e.g. ``unit``),
    or an object with the same update / refresh / close that draws nothing: when
    ``enabled`` is false, stderr is not a terminal, or tqdm is not installed."""
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            return _Off()
        return tqdm(total=total, file=sys.stderr, disable=None, **kw)
    return _Off()
