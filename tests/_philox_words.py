"""Raw Philox words for reference computations in tests."""

import numpy as np

import fastinit


def words(seed, n_blocks, stream=0, offset_blocks=0):
    """Philox words of blocks offset_blocks .. + n_blocks as uint64, shape (n_blocks, 4)."""
    w = fastinit.random_bits(4 * n_blocks, seed=seed, stream=stream, offset=4 * offset_blocks)
    return w.reshape(-1, 4).astype(np.uint64)
