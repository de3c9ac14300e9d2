import os

import pytest

import fastinit

# Children started by the tests (python -c / -m) import the installed fastinit, never the
# source tree of the working directory (not built in a fresh clone): Python 3.11+ then
# puts no implicit directory first on sys.path.
os.environ["PYTHONSAFEPATH"] = "1"


@pytest.fixture(autouse=True)
def _restore_engine_settings():
    """Tests that change threads or the SIMD path leave the defaults behind them."""
    from fastinit import _core

    threads = fastinit.get_num_threads()
    yield
    fastinit.set_num_threads(threads)
    _core.set_simd("auto")



def pytest_collection_modifyitems(config, items):
    """Tests marked cudasim run only where numba was started in its CUDA simulator
    (test_numba_cuda.py::test_simulator_pass starts that child); elsewhere they are
    deselected, not skipped."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return
    keep = [item for item in items if item.get_closest_marker("cudasim") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


# Skips only for a missing GPU or CUDA toolkit (nvcc, which no pip extra installs): any
# other skip (a missing package of the `test` extra, a skip hiding a failure) fails the
# run, so a green run means every test ran.
GPU_SKIP = ("CUDA device", "CuPy", "GPU", "CUDA toolkit")
_OTHER_SKIPS: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not any(word in reason for word in GPU_SKIP):
            _OTHER_SKIPS.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if _OTHER_SKIPS and exitstatus == 0:
        print("\nskipped for a reason other than a missing GPU or CUDA toolkit "
              "(install the `test` extra):")
        for line in _OTHER_SKIPS[:20]:
            print("  " + line)
        session.exitstatus = 1
