import numpy as np
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


def words(seed, n_blocks, stream=0, offset_blocks=0):
    """Philox words of blocks offset_blocks .. + n_blocks as uint64, shape (n_blocks, 4)."""
    w = fastinit.random_bits(4 * n_blocks, seed=seed, stream=stream, offset=4 * offset_blocks)
    return w.reshape(-1, 4).astype(np.uint64)
