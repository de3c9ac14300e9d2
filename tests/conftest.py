import pytest

import fastinit


@pytest.fixture(autouse=True)
def _restore_engine_settings():
    """Tests that change threads or the SIMD path leave the defaults behind them."""
    from fastinit import _core

    threads = fastinit.get_num_threads()
    yield
    fastinit.set_num_threads(threads)
    _core.set_simd("auto")

