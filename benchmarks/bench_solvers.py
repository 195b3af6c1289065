"""Time per soft Bellman sweep, its memory-bandwidth floor, stacks of K rewards, and memory.

One sweep of discounted soft value iteration is ``V' = logsumexp_a(r + gamma P V)``: a sparse
matrix-vector product over the ``(S * A, S)`` transitions (about 16 non-zeros per state on a
slippery 4-action GridWorld) plus a log-sum-exp over actions.

The floor is what the sweep must stream, divided by the bandwidth measured in the same process:
the CSR arrays (data, indices, indptr), the values in and out, and the ``(S, A)`` reward, over
the single-thread read bandwidth of a large numpy reduction (the best of ``x.sum()`` and
``x @ ones`` over an array larger than the matrix). ``sweep / floor`` is how far the sweep is
from it. The bare ``P @ V`` (``matvec``) is not the floor: scipy's kernel itself runs above it.

Usage::

    python benchmarks/bench_solvers.py                       # S = 10^4, 10^5, 10^6
    python benchmarks/bench_solvers.py --sizes 100 316 --repeats 5 --json out.json

Columns of the first table: ``build s`` (GridWorld construction), ``nnz``, ``P MiB`` (the CSR
arrays), ``sweep ms`` (minimum over ``--repeats`` interleaved rounds of the solver's own fused
sweep), ``f32 ms`` (the same with ``transition_dtype="float32"``), ``unfused ms`` (the
previous implementation: the whole ``P @ V`` written, then the blockwise log-sum-exp),
``matvec ms`` (the bare ``P @ V``), ``floor ms`` and ``sweep / floor``, ``backup ms`` (the
public :func:`sklirl.solvers.soft_bellman_backup`, which also materialises Q), ``sweep peak
MiB`` (tracemalloc peak of one sweep), ``build peak MiB`` and ``build peak / P``. The second
table times one sweep for stacks of K = 1, 4, 16 rewards (soft and hard) and the ratio to
K = 1. Run single-threaded (``OMP_NUM_THREADS=1``); on a shared machine compare rows of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
import tracemalloc

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from sklirl.envs import GridWorld  # noqa: E402
from sklirl.envs._tabular import as_state_action_reward  # noqa: E402
from sklirl.solvers import soft_bellman_backup, soft_value_iteration  # noqa: E402
from sklirl.solvers._tabular import (  # noqa: E402
    _bellman_sweep,
    _reduce_actions,
    _with_transition_dtype,
)

MIB = 2.0**20


def _min_times(fns, repeats):
    """Minimum time of each function over ``repeats`` interleaved rounds (after a warm-up),
    so that all variants see the same machine load."""
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, np.inf)
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best


def _bandwidth_probes(nbytes):
    """Functions whose minimum time gives the single-thread read bandwidth: ``x.sum()`` and
    ``x @ ones`` over ``nbytes`` of float64 (timed interleaved with the sweeps)."""
    x = np.ones(int(nbytes) // 8)
    ones = np.ones_like(x)
    return x.nbytes, {"bw_sum": x.sum, "bw_dot": lambda: x @ ones}


def _unfused_sweep(env, reward, V, out):
    ev = (env.transition_matrix @ (env.gamma * V)).reshape(env.n_states, env.n_actions)
    return _reduce_actions(ev, reward, 1.0, 1.0, out)


def bench(size, repeats, slip=0.1, gamma=0.99, stacks=(1, 4, 16)):
    tracemalloc.start()
    t0 = time.perf_counter()
    env = GridWorld(size, slip=slip, gamma=gamma)
    build = time.perf_counter() - t0
    _, build_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    P = env.transition_matrix
    S, A = env.n_states, env.n_actions
    p_bytes = P.data.nbytes + P.indices.nbytes + P.indptr.nbytes
    reward = as_state_action_reward(env.reward, S, A)
    rng = np.random.default_rng(0)
    V = rng.normal(size=S)
    out = np.empty(S)
    env32 = _with_transition_dtype(env, "float32")

    # the floor: bytes the sweep must stream over the read bandwidth, both timed in the same
    # interleaved rounds (the machine's load is then the same for both)
    stream_bytes = p_bytes + 2 * V.nbytes + reward.nbytes
    probe_bytes, probes = _bandwidth_probes(max(2 * p_bytes, 256 * MIB))
    t = _min_times({
        **probes,
        "sweep": lambda: _bellman_sweep(env, reward, V, 1.0, out),
        "f32": lambda: _bellman_sweep(env32, reward, V, 1.0, out),
        "unfused": lambda: _unfused_sweep(env, reward, V, out),
        "matvec": lambda: P @ V,
        "backup": lambda: soft_bellman_backup(env, reward, V),
    }, repeats)
    bw_each = {k[3:]: probe_bytes / t[k] for k in probes}
    bandwidth = max(bw_each.values())
    floor = stream_bytes / bandwidth
    del probes

    # stacks of K rewards: one sweep for all K, against K = 1
    stack_fns = {}
    for K in stacks:
        RK = np.ascontiguousarray(rng.normal(size=(K, S, A)))
        VK = rng.normal(size=(K, S))
        for kind, temp in (("soft", 1.0), ("hard", None)):
            stack_fns[(K, kind)] = (
                lambda RK=RK, VK=VK, temp=temp: _bellman_sweep(env, RK, VK, temp))
    ts = _min_times(stack_fns, max(3, repeats // 3))

    tracemalloc.start()
    _bellman_sweep(env, reward, V, 1.0, out)
    _, sweep_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "states": S,
        "nnz": int(P.nnz),
        "build_s": build,
        "P_MiB": p_bytes / MIB,
        "sweep_ms": 1e3 * t["sweep"],
        "f32_ms": 1e3 * t["f32"],
        "unfused_ms": 1e3 * t["unfused"],
        "matvec_ms": 1e3 * t["matvec"],
        "stream_MB": stream_bytes / 1e6,
        "bandwidth_GBs": bandwidth / 1e9,
        "bandwidth_each_GBs": {k: v / 1e9 for k, v in bw_each.items()},
        "floor_ms": 1e3 * floor,
        "sweep_over_floor": t["sweep"] / floor,
        "f32_over_floor": t["f32"] / floor,
        "backup_ms": 1e3 * t["backup"],
        "sweep_peak_MiB": sweep_peak / MIB,
        "build_peak_MiB": build_peak / MIB,
        "build_peak_over_P": build_peak / p_bytes,
        "stack_ms": {f"{k}_{kind}": 1e3 * v for (k, kind), v in ts.items()},
        "stack_ratio": {f"{k}_{kind}": v / ts[(1, kind)] for (k, kind), v in ts.items()},
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

    header = ("| S | nnz | build s | P MiB | sweep ms | f32 ms | unfused ms | matvec ms "
              "| floor ms | sweep / floor | f32 / floor | backup ms | sweep peak MiB "
              "| build peak MiB | build peak / P |")
    print(f"# {platform.processor() or platform.machine()}, numpy {np.__version__}, "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    rows = []
    for size in args.sizes:
        row = bench(size, args.repeats)
        rows.append(row)
        print(f"| {row['states']:,} | {row['nnz']:,} | {row['build_s']:.2f} | {row['P_MiB']:.1f} "
              f"| {row['sweep_ms']:.1f} | {row['f32_ms']:.1f} | {row['unfused_ms']:.1f} "
              f"| {row['matvec_ms']:.1f} | {row['floor_ms']:.1f} "
              f"| {row['sweep_over_floor']:.1f} | {row['f32_over_floor']:.1f} "
              f"| {row['backup_ms']:.1f} | {row['sweep_peak_MiB']:.1f} "
              f"| {row['build_peak_MiB']:.0f} | {row['build_peak_over_P']:.2f} |", flush=True)
    print("\nfloor = (CSR data + indices + indptr + V in/out + reward) / read bandwidth:")
    for row in rows:
        each = ", ".join(f"{k} {v:.1f}" for k, v in row["bandwidth_each_GBs"].items())
        print(f"  S = {row['states']:,}: {row['stream_MB']:.0f} MB at {row['bandwidth_GBs']:.1f} "
              f"GB/s ({each} GB/s)")
    kinds = list(rows[0]["stack_ms"])
    print("\n| S | " + " | ".join(f"K={k.replace('_', ' ')} ms (x K=1)" for k in kinds) + " |")
    print("|---|" + "---|" * len(kinds))
    for row in rows:
        cells = " | ".join(
            f"{row['stack_ms'][k]:.1f} ({row['stack_ratio'][k]:.1f}x)" for k in kinds)
        print(f"| {row['states']:,} | {cells} |", flush=True)
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
