"""Each fastinit ratio over the stored runs, per machine class: a table (stdout) and a PNG,
with the commits where a regression was flagged against the previous run marked.

    pytest bench --benchmark-autosave                    # store a run (per commit) in .benchmarks/
    python bench/history.py                              # table of .benchmarks/ + history.png
    python bench/history.py --storage DIR --png out.png --last 50

The same as `fastinit bench --history`.
"""

import sys

from fastinit import _benchtrack

if __name__ == "__main__":
    sys.exit(_benchtrack.history_main(sys.argv[1:]))
