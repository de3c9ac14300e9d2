"""The engine: each layer's weights generated into a reused buffer and multiplied per
network over a worker pool, the statistics of h, the inputs."""

from __future__ import annotations

import contextlib
import math
import threading

import numpy as np

from .. import _fill, _output
from .. import _generate as g
from .._structured import orthogonal_fill
from .._validate import check_int, check_u64, derived_seed
from .._variance import TRUNC_STD_2SIGMA

_INPUT_STREAM = 1 << 62
_W, _WB, _B, _BB, _DROP, _SD, _DROP_IN = range(7)  # stream slots of a layer


def network_seed(seed: int, network: int) -> int:
    """The seed of network ``network`` of an ensemble of seed ``seed``: the first 8 bytes,
    little endian, of blake2b(f"{seed}/net{network}") (fastinit._validate.derived_seed), so
    a network's draws depend on (seed, network) only, not on how the ensemble is split.

    Examples
    --------
    >>> import hashlib
    >>> from fastinit.propagate import network_seed
    >>> digest = hashlib.blake2b(b"42/net3", digest_size=8).digest()
    >>> network_seed(42, 3) == int.from_bytes(digest, "little")
    True
    >>> len({network_seed(42, k) for k in range(1000)})   # one seed per network
    1000
    """
    return derived_seed(check_u64(seed, "seed"), f"net{check_int(network, 'network', 0)}")


def _array_module(backend):
    """numpy for "cpu"; CuPy for "cuda" / "cuda:N" (checked: CuPy importable, a device)."""
    if backend == "cpu":
        return np, None
    from ..backends import cuda

    index = cuda.device_index(backend)
    cp = cuda.cupy()
    if not cp.cuda.is_available():
        raise RuntimeError(f"backend={backend!r}: no CUDA device is available to CuPy")
    return cp, index


def _host(a):
    """A numpy copy of a device array (numpy arrays pass through)."""
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def _sumsq(a, b, n):
    """sum_i a[..., i, j] b[..., i, j] / n in float64, on the host."""
    return _host(np.einsum("...ij,...ij->...j", a, b, dtype=np.float64)) / n


class _Engine:
    def __init__(self, depth, widths, act, init, sigma_w2, sigma_b2, residual, alpha, dropout,
                 sd, dtype, seed, networks, method="dense", xp=np, keep_weights=False):
        self.depth, self.widths, self.act, self.init = depth, widths, act, init
        self.sigma_w2, self.sigma_b2 = sigma_w2, sigma_b2
        self.residual, self.alpha, self.dropout, self.sd = residual, alpha, dropout, sd
        self.dtype, self.seed = dtype, seed
        self.networks = networks
        self.seeds = [network_seed(seed, n) for n in networks]
        self.nets = len(networks)
        self.method = method
        self.xp = xp  # numpy, or CuPy: the same code on the device (numpy functions
        # dispatch to CuPy through __array_function__; fills take device out= buffers)
        self.keep_weights = keep_weights  # every network's W kept until the next product
        self._wbuf = None  # all networks' W (weights(), keep_weights), made when first used
        self._local = threading.local()  # a worker's own W buffer, reused layer after layer
        self.pool = None

    def bmm(self, w, x):
        """w[n] @ x[n] for every network (over the workers, see run_nets)."""
        out = self.xp.empty((w.shape[0], w.shape[1], x.shape[2]), np.result_type(w, x))
        self.run_nets(lambda i: np.matmul(w[i], x[i], out=out[i]))
        return out

    def weights(self, layer, slot):
        """W (nets, out, in) of a layer: (0, sigma_w^2 / in) or sigma_w Haar."""
        w = self.weight_view(layer, slot)
        for i in range(self.nets):
            self._fill_weight(layer, slot, w[i], i)
        return w

    def _shape(self, layer, slot):
        return self.widths[layer], self.widths[layer - 1 if slot == _W else layer]

    def weight_view(self, layer, slot):
        """The (nets, out, in) buffer of all networks' W of (layer, slot)."""
        n_out, n_in = self._shape(layer, slot)
        if self._wbuf is None:
            self._wbuf = self.xp.empty(self.nets * max(self.widths) ** 2, self.dtype)
        return self._wbuf[:self.nets * n_out * n_in].reshape(self.nets, n_out, n_in)

    def _own_weight(self, layer, slot):
        """The calling worker's (out, in) W buffer: written and read again by one thread,
        it stays in that core's cache instead of cycling through nets x N^2 of memory."""
        n_out, n_in = self._shape(layer, slot)
        buf = getattr(self._local, "w", None)
        if buf is None:
            buf = self._local.w = _output.aligned_empty((max(self.widths) ** 2,), self.dtype)
        return buf[:n_out * n_in].reshape(n_out, n_in)

    def _fill_weight(self, layer, slot, w, i):
        """w <- network i's W of (layer, slot), from stream 8 layer + slot of its seed."""
        n_out, n_in = w.shape
        std = math.sqrt(self.sigma_w2 / n_in)
        stream, s = 8 * layer + slot, self.seeds[i]
        if self.init == "gaussian":
            g.normal(None, 0.0, std, seed=s, stream=stream, out=w)
        elif self.init == "uniform":
            lim = math.sqrt(3.0) * std
            g.uniform(None, -lim, lim, seed=s, stream=stream, out=w)
        elif self.init == "truncated_normal":
            t = std / TRUNC_STD_2SIGMA
            g.truncated_normal(None, 0.0, t, -2 * t, 2 * t, seed=s, stream=stream, out=w)
        elif self.xp is np:
            orthogonal_fill(w, n_out, n_in, math.sqrt(self.sigma_w2), s, stream)
        else:
            from ..backends import cuda

            cuda.orthogonal_fill(cuda.wrap_out(w), n_out, n_in, math.sqrt(self.sigma_w2),
                                 s, stream)

    def dense_product(self, layer, slot, x, transpose=False, prepare=None, finish=None):
        """W x (or W^T x) for every network with W generated into a reused buffer;
        ``prepare(i)`` writes network i's x[i] first, ``finish(i, out)`` uses its out[i]
        after.  With a worker pool (CPU, BLAS single-threaded: _blas_one_thread) each
        worker, per network, generates W into its own buffer with one fill thread, writes
        x[i], multiplies and finishes at once, all on data still in its cache: no thread
        ever waits or spins, and h passes through memory once per layer.  Otherwise (GPU,
        or no threadpoolctl) each step for all networks: x, all W, one batched matmul."""
        if self.pool is None:
            if prepare is not None:
                self.run_nets(prepare)
            w = self.weights(layer, slot)
            out = (np.swapaxes(w, 1, 2) if transpose else w) @ x
            if finish is not None:
                self.run_nets(lambda i: finish(i, out))
            return out
        n_out, n_in = self._shape(layer, slot)
        out = np.empty((self.nets, n_in if transpose else n_out, x.shape[2]),
                       np.result_type(self.dtype, x))
        every = self.weight_view(layer, slot) if self.keep_weights else None

        def job(i):
            w = self._own_weight(layer, slot) if every is None else every[i]
            with _fill.fill_threads(1):
                self._fill_weight(layer, slot, w, i)
            if prepare is not None:
                prepare(i)
            np.matmul(w.T if transpose else w, x[i], out=out[i])
            if finish is not None:
                finish(i, out)

        self.run_nets(job)
        return out

    def bias(self, layer, slot):
        n_out = self.widths[layer]
        b = self.xp.empty((self.nets, n_out, 1), self.dtype)
        if self.sigma_b2 == 0:
            b[...] = 0
            return b
        for i, s in enumerate(self.seeds):
            g.normal(None, 0.0, math.sqrt(self.sigma_b2), seed=s, stream=8 * layer + slot,
                     out=b[i])
        return b

    def mask(self, layer, slot, shape):
        """Inverted-dropout multipliers (0 or 1 / (1 - p)), or None without dropout."""
        if self.dropout == 0:
            return None
        u = self.xp.empty((self.nets,) + shape, self.dtype)
        for i, s in enumerate(self.seeds):
            g.uniform(None, seed=s, stream=8 * layer + slot, out=u[i])
        return np.where(u >= self.dropout, 1.0 / (1.0 - self.dropout), 0.0).astype(self.dtype)

    def keep_branch(self, layer):
        """Stochastic depth: per network 0 (dropped) or 1 / (1 - p_sd)."""
        if self.sd == 0:
            return None
        keep = np.empty(self.nets)
        for i, s in enumerate(self.seeds):
            u = g.uniform((1,), seed=s, stream=8 * layer + _SD, dtype=np.float64)[0]
            keep[i] = 1.0 / (1.0 - self.sd) if u >= self.sd else 0.0
        return self.xp.asarray(keep.astype(self.dtype)[:, None, None])

    def forward(self, layer, h, t=None, stats=None):
        """h^layer (and the tangent) from h^{layer-1} (the input x for layer 1); returns
        (h, t, saved) with what the backward pass needs.  ``stats(i, h_i)`` is called for
        every network's new h_i: inside the product's job where h^layer is its output
        (plain networks), else after."""
        if layer == 1:
            x = h if t is None else np.concatenate([h, t], axis=2)
            out = self.times_w(layer, _W, x)
            n_in = h.shape[2]
            hn = out[:, :, :n_in] + self.bias(layer, _B)
            tn = None if t is None else out[:, :, n_in:]
        elif self.residual is None:
            hn, tn = self._dense(layer, _W, _B, _DROP, h, t, stats)
            return hn, tn, (h, None)
        else:
            f, ft = self._dense(layer, _W, _B, _DROP, h, t)
            inner = None
            if self.residual == "two":
                inner = f
                f, ft = self._dense(layer, _WB, _BB, _DROP_IN, inner, ft)
            keep = self.keep_branch(layer)
            scale = self.alpha if keep is None else self.alpha * keep
            hn = h + scale * f
            tn = None if t is None else t + scale * ft
            saved = (h, inner)
        if stats is not None:
            self.run_nets(lambda i: stats(i, hn[i]))
        return hn, tn, (None if layer == 1 else saved)

    def times_w(self, layer, slot, x, prepare=None, finish=None):
        """W x for every network: W generated and multiplied ("dense"), or W x sampled
        directly ("gram", exact in distribution, O(N m^2)).  Gaussian W: the rows of W x
        are i.i.d. N(0, sigma_w^2 / N_in x^T x), sampled as (Z L^T) S with S the columns'
        norms and L L^T the correlation matrix (x S^-1)^T (x S^-1) (eigh): unit diagonal,
        so each column keeps its own relative accuracy however different the tracked
        vectors' scales (a tangent 1e16 times h would swamp h in the eigenvalues of
        x^T x itself).  W = sigma_w Haar: W x = sigma_w (W Q) R with x = Q R (Householder
        QR, column-wise backward stable) and W Q a uniform random orthonormal N x m frame
        (the Haar frame of a Gaussian N x m matrix)."""
        if self.method == "dense":
            return self.dense_product(layer, slot, x, prepare=prepare, finish=finish)
        if prepare is not None:
            self.run_nets(prepare)
        n_out, n_in = self.widths[layer], x.shape[1]
        m = x.shape[2]
        out = self.xp.empty((self.nets, n_out, m), self.dtype)
        for i, s in enumerate(self.seeds):
            xi = x[i].astype(np.float64)
            if self.init == "gaussian":
                z = self.xp.asarray(g.normal((n_out, m), seed=s, stream=8 * layer + slot,
                                             dtype=np.float64))
                norms = np.sqrt(np.einsum("ij,ij->j", xi, xi))
                norms[norms == 0] = 1.0
                xs = xi / norms
                vals, vecs = np.linalg.eigh(xs.T @ xs)
                out[i] = (z @ (vecs * np.sqrt(np.maximum(vals, 0))).T) * \
                    (math.sqrt(self.sigma_w2 / n_in) * norms)
            else:  # orthogonal, n_out == n_in
                r = np.linalg.qr(xi, mode="r")  # (min(n_in, m), m)
                z = self.xp.asarray(g.normal((n_out, r.shape[0]), seed=s,
                                             stream=8 * layer + slot, dtype=np.float64))
                frame, rz = np.linalg.qr(z)
                frame *= np.where(np.diagonal(rz) < 0, -1.0, 1.0)  # Haar (Mezzadri 2007)
                out[i] = math.sqrt(self.sigma_w2) * (frame @ r)
        if finish is not None:
            self.run_nets(lambda i: finish(i, out))
        return out

    def run_nets(self, fn):
        """fn(i) for every network over the worker pool (each call releases the GIL in its
        numpy loops), or fn(slice(None)) once on the whole batch (GPU, no pool).  Floating
        point errors are quiet (errstate is per thread): non-finite statistics are reported
        once, by simulate."""
        if self.pool is None:
            fn(slice(None))
        else:
            def quiet(i):
                with np.errstate(all="ignore"):
                    fn(i)

            list(self.pool.map(quiet, range(self.nets)))

    def _dense(self, layer, w_slot, b_slot, drop_slot, h, t, stats=None):
        """W D phi(h) + b and its tangent W D (phi'(h) t), one product for both: phi and
        phi' written per network, by the workers, into the product's input; then the
        bias and ``stats(i, h_i)`` per network, in the product's job."""
        n_in = h.shape[2]
        m = self.mask(layer, drop_slot, h.shape[1:])
        b = None if self.sigma_b2 == 0 else self.bias(layer, b_slot)
        x = self.xp.empty((self.nets, h.shape[1], n_in if t is None else 2 * n_in),
                          self.dtype)

        def prepare(i):
            if isinstance(self.act.phi, np.ufunc):  # np.tanh: straight into x, no temporary
                self.act.phi(h[i], out=x[i, ..., :n_in])
            else:
                x[i, ..., :n_in] = self.act.phi(h[i])
            if t is not None:
                x[i, ..., n_in:] = self.act.dphi(h[i]) * t[i]
            if m is not None:
                x[i, ..., :n_in] *= m[i]
                if t is not None:
                    x[i, ..., n_in:] *= m[i]

        def finish(i, out):
            if b is not None:
                out[i, ..., :n_in] += b[i]
            if stats is not None:
                stats(i, out[i, ..., :n_in])

        out = self.times_w(layer, w_slot, x, prepare, finish)
        return out[:, :, :n_in], (None if t is None else out[:, :, n_in:])

    def backward(self, layer, delta, saved):
        """delta^{layer-1} from delta^layer (layer >= 2), weights regenerated."""
        h, inner = saved
        n_in = self.widths[layer - 1]
        scale = None
        if self.residual is not None:
            keep = self.keep_branch(layer)
            scale = self.alpha if keep is None else self.alpha * keep
        branch = delta if scale is None else delta * scale
        if self.residual == "two":
            gi = self.dense_product(layer, _WB, branch, transpose=True)
            m2 = self.mask(layer, _DROP_IN, (self.widths[layer], delta.shape[2]))
            if m2 is not None:
                gi = gi * m2
            branch = self.act.dphi(inner) * gi
        ga = self.dense_product(layer, _W, branch, transpose=True)
        m = self.mask(layer, _DROP, (n_in, delta.shape[2]))
        if m is not None:
            ga = ga * m
        prev = self.act.dphi(h) * ga
        return prev if self.residual is None else delta + prev


def _stats(out_q, out_mean, out_c):
    """stats(i, h_i): q, mean and the pair correlations of network i's h_i (N, inputs)
    into row i of the host arrays (i a slice and h_i a batch on the GPU)."""
    pairs = out_c.shape[1]

    def one(i, hi):
        n = hi.shape[-2]
        q = _sumsq(hi, hi, n)
        out_q[i] = q
        out_mean[i] = _host(hi.mean(axis=-2, dtype=np.float64))
        if pairs:
            a, b = hi[..., 0:2 * pairs:2], hi[..., 1:2 * pairs:2]
            cross = _sumsq(a, b, n)
            out_c[i] = cross / np.sqrt(q[..., 0:2 * pairs:2] * q[..., 1:2 * pairs:2])

    return one


def _random_inputs(n0, n_inputs, q0, c0, seed):
    """Inputs with |x|^2 / N = q0 exactly and correlation exactly c0 within each pair, in
    float64 (the caller checks their range, then casts)."""
    x = np.empty((n0, n_inputs), np.float64)
    for k in range(0, n_inputs, 2):
        u, v = g.normal((2, n0), seed=seed, stream=_INPUT_STREAM + k, dtype=np.float64)
        e1 = u / np.linalg.norm(u)
        x[:, k] = math.sqrt(n0 * q0) * e1
        if k + 1 < n_inputs:
            v = v - (v @ e1) * e1
            e2 = v / np.linalg.norm(v)
            x[:, k + 1] = math.sqrt(n0 * q0) * (c0 * e1 + math.sqrt(1 - c0 * c0) * e2)
    return x


@contextlib.contextmanager
def _blas_one_thread(eng):
    """BLAS threads spin after each GEMM and halve the speed of the weight fills that
    follow (measured: 124 vs 71 ms per layer of 16 x 1024^2 fills).  With threadpoolctl
    installed, run BLAS single-threaded inside the simulation and give each of
    fastinit's threads whole networks: generate W, multiply, next (dense_product).
    Every BLAS the run uses is loaded before the cap (threadpoolctl caps the libraries
    loaded when it is entered).
    Without it, fill with all threads, then numpy's batched matmul."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    if eng.xp is not np:  # cuBLAS: one batched matmul
        yield
        return
    from concurrent.futures import ThreadPoolExecutor

    from .. import _core

    if eng.init == "orthogonal" and eng.method == "dense":
        from .. import _linalg

        _linalg.load_lapack()  # scipy's BLAS, loaded inside the cap, would escape it
    with threadpool_limits(1, user_api="blas"), \
            ThreadPoolExecutor(max(1, _core.get_num_threads())) as pool:
        eng.pool = pool
        try:
            yield
        finally:
            eng.pool = None
