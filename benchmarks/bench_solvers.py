"""Time per soft Bellman sweep and peak memory on GridWorlds of 10^4 to 10^6 states.

One sweep of discounted soft value iteration is ``V' = logsumexp_a(r + gamma P V)``: a sparse
matrix-vector product over the ``(S * A, S)`` transitions (about 16 non-zeros per state on a
slippery 4-action GridWorld) plus a log-sum-exp over actions. The target is < 0.1 s per sweep at
10^6 states on one core; the floor is the bare sparse product, which only streams the matrix.

Usage::

    python benchmarks/bench_solvers.py                       # S = 10^4, 10^5, 10^6
    python benchmarks/bench_solvers.py --sizes 100 316 --repeats 5 --json out.json

Columns: ``build s`` (GridWorld construction), ``nnz``, ``P MiB`` (the CSR arrays),
``sweep ms`` (median over ``--repeats`` sweeps of the solver's own fused sweep), ``matvec ms``
(median of the bare ``P @ V``, the memory-bandwidth floor), ``backup ms`` (the public
:func:`sklirl.solvers.soft_bellman_backup`, which also materialises Q), ``sweep peak MiB``
(tracemalloc peak of one sweep: its temporaries), ``build peak MiB`` (tracemalloc peak of the
construction) and ``build peak / P`` (that peak over the size of the final matrix: memory is
proportional to the non-zero transitions when this stays a small constant).
Run single-threaded (``OMP_NUM_THREADS=1``); the numbers are noisy on a shared machine, so
compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from sklirl.envs import GridWorld  # noqa: E402
from sklirl.envs._tabular import as_state_action_reward  # noqa: E402
from sklirl.solvers import soft_bellman_backup, soft_value_iteration  # noqa: E402
from sklirl.solvers._tabular import _bellman_sweep  # noqa: E402

MIB = 2.0**20


def _median_time(fn, repeats):
    fn()  # warm up: first touch of the output buffers
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(size, repeats, slip=0.1, gamma=0.99):
    tracemalloc.start()
    t0 = time.perf_counter()
    env = GridWorld(size, slip=slip, gamma=gamma)
    build = time.perf_counter() - t0
    _, build_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    P = env.transition_matrix
    S = env.n_states
    p_bytes = P.data.nbytes + P.indices.nbytes + P.indptr.nbytes
    reward = as_state_action_reward(env.reward, S, env.n_actions)
    V = np.random.default_rng(0).normal(size=S)
    out = np.empty(S)

    sweep = _median_time(lambda: _bellman_sweep(env, reward, V, 1.0, out), repeats)
    matvec = _median_time(lambda: P @ V, repeats)
    backup = _median_time(lambda: soft_bellman_backup(env, reward, V), max(3, repeats // 2))

    tracemalloc.start()
    _bellman_sweep(env, reward, V, 1.0, out)
    _, sweep_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "states": S,
        "nnz": int(P.nnz),
        "build_s": build,
        "P_MiB": p_bytes / MIB,
        "sweep_ms": 1e3 * sweep,
        "matvec_ms": 1e3 * matvec,
        "backup_ms": 1e3 * backup,
        "sweep_peak_MiB": sweep_peak / MIB,
        "build_peak_MiB": build_peak / MIB,
        "build_peak_over_P": build_peak / p_bytes,
    }


def bench_convergence(size=100, gamma=0.99, tol=1e-8):
    """Full solves to ``tol``: plain sweeps vs soft policy iteration (Newton steps)."""
    env = GridWorld(size, slip=0.1, gamma=gamma)
    rows = []
    for method in ("value_iteration", "policy_iteration"):
        t0 = time.perf_counter()
        _, V, n_iter = soft_value_iteration(env, env.reward, tol=tol, method=method)
        rows.append({"method": method, "states": env.n_states, "gamma": gamma, "tol": tol,
                     "n_iter": n_iter, "seconds": time.perf_counter() - t0, "values": V})
    gap = float(np.abs(rows[0].pop("values") - rows[1].pop("values")).max())
    return rows, gap


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 316, 1000],
                        help="grid side lengths (S = side^2)")
    parser.add_argument("--repeats", type=int, default=9, help="sweeps per timing (median)")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)

    header = ("| S | nnz | build s | P MiB | sweep ms | matvec ms | backup ms | sweep peak MiB "
              "| build peak MiB | build peak / P |")
    print(f"# {platform.processor() or platform.machine()}, numpy {np.__version__}, "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    rows = []
    for size in args.sizes:
        row = bench(size, args.repeats)
        rows.append(row)
        print(f"| {row['states']:,} | {row['nnz']:,} | {row['build_s']:.2f} | {row['P_MiB']:.1f} "
              f"| {row['sweep_ms']:.1f} | {row['matvec_ms']:.1f} | {row['backup_ms']:.1f} "
              f"| {row['sweep_peak_MiB']:.1f} | {row['build_peak_MiB']:.0f} "
              f"| {row['build_peak_over_P']:.2f} |", flush=True)
    conv, gap = bench_convergence()
    print("\n| method | S | gamma | tol | iterations | solve s |\n|---|---|---|---|---|---|")
    for row in conv:
        print(f"| {row['method']} | {row['states']:,} | {row['gamma']} | {row['tol']:g} "
              f"| {row['n_iter']} | {row['seconds']:.2f} |")
    print(f"max |V_vi - V_pi| = {gap:.1e}")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"\nprocess max RSS: {maxrss:.0f} MiB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "convergence": conv, "max_rss_MiB": maxrss}, f, indent=2)


if __name__ == "__main__":
    main()
