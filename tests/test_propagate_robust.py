"""Monte Carlo propagation under hostile conditions: tracked vectors of very different
scales, non-finite and overflowing parameters, oversized ensembles, bad output paths,
interruption (SIGINT, SIGTERM) and dask worker loss."""

import numpy as np

from fastinit import propagate as P


def test_gram_matches_dense_when_the_tangent_outgrows_h():
    """tanh at sigma_w^2 = 20: the tangent grows to more than 1e16 times h over 60 layers; the gram
    path must keep q at its fixed point (q* ~ 16.2) like the dense path."""
    kw = dict(depth=60, width=64, activation="tanh", init="gaussian", sigma_w2=20.0,
              sigma_b2=0.05, n_networks=16, dtype=np.float64, seed=0,
              track=("q", "c", "grad_fwd"))
    gram = P.simulate(method="auto", **kw)
    dense = P.simulate(method="dense", **kw)
    assert gram.params["method"] == "gram"
    assert gram.grad_fwd[-1].min() / gram.q[-1].max() > 1e16  # beyond 1 / eps: the hard regime
    for name in ("q", "c"):
        mg, sg = gram.ensemble(name)
        md, sd = dense.ensemble(name)
        z = np.abs(mg - md)[20:] / np.sqrt(sg ** 2 + sd ** 2)[20:]
        assert z.max() < 5, (name, z.max())
