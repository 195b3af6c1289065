"""MaxMarginIRL: iterations and time to reach epsilon against the number of states.

Envs: ``side x side`` GridWorlds (S = side^2), 4 actions, gamma = 0.95, uniform start state, 64
macro-cell features (``MacroCells(side // 8)``: 8 x 8 blocks whatever the size), true reward
sparse and positive on the macro cells (each weight uniform [0, 1) with probability 0.1, at
least one non-zero). The expert is the optimal (value iteration) policy. On the default
deterministic grid (``--slip 0``) the demos are one trajectory from every start state, of ``T``
steps with ``0.95^T < 1e-12``: their mean is the expert's exact ``rho_E``, so it is achievable
and the margin can reach epsilon. With ``--slip 0.3 --demos 20`` the demos are sampled
(``rho_E`` is then not exactly achievable) and the runs stop at ``max_iter`` or when the margin
stops decreasing.

Reported per method and size: iterations, policies found, wall time, whether the margin
reached ``epsilon``, the final margin, the time per solver call, and the mixture's value under
the true reward as a fraction of the expert's.

Run::

    python benchmarks/bench_maxmargin.py                          # S = 64 .. 4096
    python benchmarks/bench_maxmargin.py --sides 8 16 --epsilon 1e-3
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from sklirl import MaxMarginIRL
from sklirl.datasets import sample_trajectories
from sklirl.envs import GridWorld
from sklirl.features import MacroCells, fit_feature_matrix
from sklirl.metrics import policy_value
from sklirl.solvers import ValueIteration

GAMMA = 0.95


def make_world(side, slip, seed=0):
    rng = np.random.RandomState(seed)
    cell = max(side // 8, 1)
    grid = GridWorld(side, slip=slip, gamma=GAMMA)
    _, phi = fit_feature_matrix(MacroCells(cell), grid)
    k = phi.shape[1]
    w_true = rng.rand(k) * (rng.rand(k) < 0.1)
    if not w_true.any():
        w_true[rng.randint(k)] = rng.rand()
    env = GridWorld(side, slip=slip, gamma=GAMMA, reward=phi @ w_true)
    return env, MacroCells(cell)


def run(side, method, args):
    env, features = make_world(side, args.slip, args.seed)
    expert = ValueIteration().solve(env, env.reward)
    horizon = int(np.ceil(np.log(1e-12) / np.log(GAMMA)))
    if args.slip == 0:  # one demo per start state: the exact rho_E of the uniform start
        starts = np.arange(env.n_states)
        demos = sample_trajectories(env, expert, env.n_states, horizon=horizon,
                                    initial_states=starts, random_state=args.seed)
    else:
        demos = sample_trajectories(env, expert, args.demos, horizon=horizon,
                                    random_state=args.seed)
    irl = MaxMarginIRL(method, features=features, epsilon=args.epsilon, max_iter=args.max_iter)
    start, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        irl.fit(demos, env)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    value = policy_value(env, irl.policy_, env.reward) / policy_value(env, expert, env.reward)
    return {
        "S": env.n_states, "method": method, "iterations": irl.n_iter_,
        "policies": len(irl.policies_), "seconds": seconds, "cpu": cpu,
        "reached": bool(irl.margins_[-1] <= args.epsilon), "margin": irl.margins_[-1],
        "ms_per_policy": 1000 * cpu / max(len(irl.policies_) - 1, 1), "value": value,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--methods", nargs="+", default=["max_margin", "projection"])
    parser.add_argument("--epsilon", type=float, default=1e-2)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--slip", type=float, default=0.0)
    parser.add_argument("--demos", type=int, default=20, help="with --slip > 0")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    demos = "one per start state" if args.slip == 0 else args.demos
    print(f"gamma={GAMMA}, epsilon={args.epsilon}, max_iter={args.max_iter}, slip={args.slip}, "
          f"demos={demos}, 64 macro-cell features\n")
    print("| S | method | iterations | policies | wall s | CPU s | reached eps | final margin "
          "| CPU ms / policy | value / expert |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for side in args.sides:
        for method in args.methods:
            r = run(side, method, args)
            print(f"| {r['S']:,} | {r['method']} | {r['iterations']} | {r['policies']} | "
                  f"{r['seconds']:.2f} | {r['cpu']:.2f} | {'yes' if r['reached'] else 'no'} | "
                  f"{r['margin']:.2e} | {r['ms_per_policy']:.0f} | {r['value']:.4f} |",
                  flush=True)


if __name__ == "__main__":
    main()
