"""Monte Carlo signal propagation through deep random networks (Poole et al. 2016;
Schoenholz et al. 2017; Pennington et al. 2017).

An ensemble of ``n_networks`` random networks, each fed the same ``n_inputs`` inputs,
advances layer by layer as one batched matrix product per layer:

    h^1 = W^1 x + b^1,    h^l = W^l D^l phi(h^{l-1}) + b^l         (l = 2 .. depth)

with W^l_ij ~ (0, sigma_w^2 / N_{l-1}) (gaussian, uniform, truncated normal, or sigma_w
times a Haar orthogonal matrix), b^l_i ~ N(0, sigma_b^2) and D^l the inverted-dropout
mask (keep 1 - p, scaled by 1 / (1 - p)).  Residual networks (constant width):
h^l = h^{l-1} + alpha F(h^{l-1}) with F one layer (W phi(h) + b) or two
(W_b phi(W_a phi(h) + b_a) + b_b); stochastic depth drops F with probability p_sd
(kept branches scaled by 1 / (1 - p_sd)).

Per layer, network and input: q^l = |h^l|^2 / N_l (layer 0: the input), the mean of h^l,
the correlation c^l of each input pair (2k, 2k + 1), and gradient statistics: the forward
Jacobian-vector product |J_l v|^2 / N_l of a random tangent v (N(0, 1) entries), and the
back-propagated |delta^l|^2 / N_l of a random delta^L (N(0, 1) entries).  Both grow by
chi_1 = sigma_w^2 E[phi'(h)^2] per layer in the mean-field limit.

Each layer's weights are generated into one reused buffer by the counter-based engine and
never stored: network n draws from seed blake2b(f"{seed}/net{n}"), layer l from streams
8 l + k, so the backward pass regenerates W^l instead of keeping it (states are kept at
every ~sqrt(depth)-th layer and recomputed in between).  Memory does not grow with depth
beyond the statistics.  A network's values depend only on (seed, network index): the
same for any thread count, any split of the ensemble, on one machine or over dask.

The package: _result (PropagationResult: statistics, theory comparison, summary, plots
and files), _engine (weights, products, statistics), _run (the forward and backward
passes), _simulate (the public entry and its checks), _dask (over a cluster), _stop
(Ctrl-C and dask stop events).
"""

from .._activations import Activation
from ._engine import network_seed
from ._result import PropagationResult
from ._simulate import INITS, RESIDUALS, TRACKS, available_memory, memory_estimate, simulate
from ._stop import sigint_flag

__all__ = ["INITS", "RESIDUALS", "TRACKS", "Activation", "PropagationResult",
           "available_memory", "memory_estimate", "network_seed", "sigint_flag", "simulate"]
