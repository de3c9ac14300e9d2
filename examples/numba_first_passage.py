"""A Monte Carlo written in ``@numba.njit`` that draws from fastinit's stream inside its
loop: Gaussian random walks x_t = x_{t-1} + z_t run until |x| reaches a barrier b
(first passage), each walker stopping early, with no array of draws made beforehand.

    python examples/numba_first_passage.py [out_dir]

Walker w takes step t from element w * n_steps + t of the stream, so the walks are exactly
``np.cumsum(fastinit.normal((walkers, n_steps), seed=...), axis=1)``: the check is that the
njit loop's first-passage times and final positions equal the vectorized computation's
bit for bit.  Statistics: the fraction of walkers still inside after T steps against the
Brownian-motion survival probability (series of Feller), within 5 binomial standard
errors (the discrete walk crosses slightly later: the barrier is shifted by Siegmund's
0.5826 sigma correction).  Speed of the njit loop beside numpy's Generator plus cumsum and
beside fastinit's vectorized fill plus cumsum; numba.cuda.random's xoroshiro128+ kernel
is timed only where a CUDA device is present.
"""

import math
import sys
import time
from pathlib import Path

import numpy as np

import fastinit

SEED = 2026


def _kernels():
    import numba

    from fastinit import numba as fnb

    @numba.njit
    def first_passage(walkers, n_steps, barrier, seed):
        """(first passage step or n_steps, position then) of every walker."""
        hit = np.empty(walkers, np.int64)
        final = np.empty(walkers, np.float64)
        for w in range(walkers):
            x = 0.0
            t = 0
            while t < n_steps:
                x += fnb.normal_f32(seed, 0, np.uint64(w * n_steps + t), 0.0, 1.0)
                t += 1
                if abs(x) >= barrier:
                    break
            hit[w] = t
            final[w] = x
        return hit, final

    return first_passage


def vectorized(z, barrier):
    """The same walks from an array of steps: first index with |cumsum| >= barrier."""
    x = np.cumsum(z, axis=1, dtype=np.float64)
    crossed = np.abs(x) >= barrier
    hit = np.where(crossed.any(axis=1), crossed.argmax(axis=1) + 1, z.shape[1])
    return hit, x[np.arange(len(x)), hit - 1]


def survival(t, barrier, terms=50):
    """P(|B_s| < barrier for all s <= t), standard Brownian motion (Feller's series)."""
    k = np.arange(terms)
    lam = (2 * k + 1) * math.pi / (2 * barrier)
    return float(np.sum(4 / math.pi * (-1) ** k / (2 * k + 1) * np.exp(-lam ** 2 * t / 2)))


def _best(fn, repeat=3):
    best = math.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _cuda_xoroshiro_seconds(walkers, n_steps, barrier):
    """numba.cuda.random's stateful generator in the same walk, on a real device."""
    try:
        from numba import cuda
        from numba.cuda.random import create_xoroshiro128p_states, xoroshiro128p_normal_float32
        if not cuda.is_available() or cuda.get_current_device().name == b"SIMULATOR":
            return None
    except Exception:  # no numba-cuda, no driver
        return None

    @cuda.jit
    def walk(states, n_steps, barrier, hit):
        w = cuda.grid(1)
        if w < hit.shape[0]:
            x = 0.0
            t = 0
            while t < n_steps:
                x += xoroshiro128p_normal_float32(states, w)
                t += 1
                if abs(x) >= barrier:
                    break
            hit[w] = t

    states = create_xoroshiro128p_states(walkers, seed=SEED)
    hit = cuda.device_array(walkers, np.int64)
    grid = (walkers + 255) // 256
    walk[grid, 256](states, n_steps, barrier, hit)
    cuda.synchronize()
    return _best(lambda: (walk[grid, 256](states, n_steps, barrier, hit), cuda.synchronize()))


def main(out_dir=".", quick=False):
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    walkers, n_steps, barrier = (2000, 400, 12.0) if quick else (20000, 2000, 25.0)
    first_passage = _kernels()
    hit, final = first_passage(walkers, n_steps, barrier, np.uint64(SEED))
    z = fastinit.normal((walkers, n_steps), seed=SEED)
    hit_v, final_v = vectorized(z, barrier)
    checks = {"walks_equal_vectorized": float(np.array_equal(hit, hit_v)
                                               and np.array_equal(final, final_v))}
    assert checks["walks_equal_vectorized"] == 1.0, "njit walks differ from the vectorized ones"

    alive = float(np.mean(hit == n_steps))
    theory = survival(n_steps, barrier + 0.5826)  # Siegmund's correction for discrete steps
    se = math.sqrt(theory * (1 - theory) / walkers)
    checks.update(survival_mc=alive, survival_theory=theory, survival_z=(alive - theory) / se)
    assert abs(checks["survival_z"]) < 5, checks

    draws = int(hit.sum())  # what the njit loop drew; the vectorized paths draw them all
    rng = np.random.default_rng(SEED)
    timings = {
        "njit, fastinit inside the loop": _best(
            lambda: first_passage(walkers, n_steps, barrier, np.uint64(SEED))),
        "fastinit.normal + cumsum": _best(
            lambda: vectorized(fastinit.normal((walkers, n_steps), seed=SEED), barrier)),
        "numpy Generator + cumsum": _best(
            lambda: vectorized(rng.standard_normal((walkers, n_steps), np.float32), barrier)),
    }
    gpu = _cuda_xoroshiro_seconds(walkers, n_steps, barrier)
    if gpu is not None:
        timings["numba.cuda.random xoroshiro128+ (GPU)"] = gpu
    for name, seconds in timings.items():
        print(f"{name:40s} {seconds * 1e3:8.2f} ms")
    print(f"njit loop: {draws / timings['njit, fastinit inside the loop'] / 1e6:.1f} M draws/s "
          f"({draws} draws, stopped walkers draw no more)")
    checks["njit_draws_per_s"] = draws / timings["njit, fastinit inside the loop"]

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return checks
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.8))
    ts = np.arange(1, n_steps)
    alive_t = [(hit > t).mean() for t in ts]
    ax[0].plot(ts, alive_t, label="njit Monte Carlo")
    ax[0].plot(ts[::10], [survival(t, barrier + 0.5826) for t in ts[::10]], "--",
               label="Brownian survival (shifted barrier)")
    ax[0].set(xlabel="step t", ylabel="P(not yet crossed)", title=f"barrier {barrier}")
    ax[0].legend()
    ax[1].barh(list(timings), [s * 1e3 for s in timings.values()])
    ax[1].set(xlabel="ms (best of 3)", title=f"{walkers} walkers x {n_steps} steps")
    fig.tight_layout()
    fig.savefig(out_dir / "numba_first_passage.png", dpi=110)
    plt.close(fig)
    return checks


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "."))
