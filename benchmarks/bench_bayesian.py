"""BayesianIRL: calibration of its credible intervals, sampling speed, and ObjectWorld EVD.

Three parts (all by default, or pick with ``--parts``):

- ``calibration``: over ``--n-mdps`` random MDPs (8 states, 3 actions, Dirichlet(0.3)
  transitions, gamma = 0.5) with a linear reward ``phi @ w``, ``phi`` and ``w ~ N(0, I)`` drawn
  at random (2 features), and 10 demos of 10 steps from the temperature-1 soft-optimal expert:
  the fraction of the true state rewards inside the 90% credible intervals (5% and 95%
  posterior quantiles). The model is well specified (the prior is the law of ``w``), so a
  correct sampler covers 90% on average.
- ``speed``: 10^4 posterior samples (after 10^3 burn-in iterations) on a 10 x 10 GridWorld
  (100 states, 4 actions, gamma = 0.9, one-hot reward: 100 weights), 20 demos of 20 steps.
- ``objectworld``: Levine et al.'s ObjectWorld (32 x 32, gamma = 0.9, demos of length 8 from
  the soft-optimal expert, as in docs/benchmarks.rst) with 8-64 demos: EVD of the posterior
  mean reward of BayesianIRL against MaxEntIRL's reward, both linear in the standardised
  distance features and in the 3 true reward features.

Run from the repository root::

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/bench_bayesian.py
    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python benchmarks/bench_bayesian.py --parts speed
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from sklirl import BayesianIRL, MaxEntIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld, ObjectWorld, TabularMDP
from sklirl.metrics import expected_value_difference


def _load():
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - platforms without getloadavg
        return "n/a"


def random_problem(seed, n_states=8, n_actions=3, n_features=2, n_demos=10, gamma=0.5):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.full(n_states, 0.3), size=(n_states, n_actions))
    phi = rng.normal(size=(n_states, n_features))
    w = rng.normal(size=n_features)
    env = TabularMDP(P, gamma=gamma, state_features=phi, reward=phi @ w)
    demos, _ = make_expert_demos(env, n_demos, horizon=10, random_state=seed)
    return env, demos, phi @ w


def calibration(n_mdps):
    covered, per_mdp, ess = [], [], []
    tic = time.perf_counter()
    for seed in range(n_mdps):
        env, demos, truth = random_problem(seed)
        est = BayesianIRL(FunctionTransformer(), n_samples=1000, burn_in=500,
                          random_state=seed).fit(demos, env)
        lo, hi = np.quantile(est.reward_samples_[:, :, 0], [0.05, 0.95], axis=0)
        inside = (lo <= truth) & (truth <= hi)
        covered.extend(inside)
        per_mdp.append(inside.mean())
        ess.append(est.effective_sample_size_.min())
    print(f"calibration: {n_mdps} MDPs x 8 states, 90% credible intervals cover "
          f"{np.mean(covered):.3f} of the true state rewards (per-MDP quartiles "
          f"{np.percentile(per_mdp, [25, 50, 75]).round(2).tolist()}); min ESS per fit: median "
          f"{np.median(ess):.0f}, lowest {np.min(ess):.0f}; {time.perf_counter() - tic:.0f} s "
          f"(load {_load()})")


def speed():
    env = GridWorld(10, gamma=0.9)
    demos, _ = make_expert_demos(env, 20, horizon=20, random_state=0)
    print(f"speed: load before {_load()}")
    tic = time.perf_counter()
    est = BayesianIRL(n_samples=10_000, burn_in=1000, random_state=0).fit(demos, env)
    seconds = time.perf_counter() - tic
    ess = est.effective_sample_size_
    print(f"speed: 10^4 samples + 10^3 burn-in on 100 states: {seconds:.1f} s "
          f"({1e3 * seconds / est.n_iter_:.2f} ms per iteration, "
          f"{est.history_['n_sweeps'].mean():.1f} planner steps per proposal); acceptance "
          f"{est.acceptance_rate_:.2f}; ESS per weight median {np.median(ess):.0f} "
          f"(min {ess.min():.0f}); load after {_load()}")


def true_features(distances):
    """Indicators of the +5, -10 and 0 regions (as examples/plot_objectworld_evd.py)."""
    near0, near1 = distances[:, 0] < 3, distances[:, 1] < 2
    return np.column_stack([near0 & near1, near0 & ~near1, ~near0]).astype(float)


def objectworld(n_seeds, demo_counts, size=32, first_seed=0, only=None):
    models = {
        "MaxEnt, linear, distances": lambda: MaxEntIRL(StandardScaler()),
        "Bayesian, linear, distances": lambda: BayesianIRL(
            StandardScaler(), n_samples=1000, burn_in=500, random_state=0),
        "MaxEnt, 3 true features": lambda: MaxEntIRL(FunctionTransformer(true_features),
                                                     l2=1e-3),
        "Bayesian, 3 true features": lambda: BayesianIRL(
            FunctionTransformer(true_features), n_samples=1000, burn_in=500, random_state=0),
    }
    if only:
        models = {name: make for name, make in models.items() if any(o in name for o in only)}
    evd = {name: np.zeros((n_seeds, len(demo_counts))) for name in models}
    seconds = dict.fromkeys(models, 0.0)
    tic = time.perf_counter()
    for i, seed in enumerate(range(first_seed, first_seed + n_seeds)):
        world = ObjectWorld(size, random_state=seed)
        for j, n in enumerate(demo_counts):
            demos, _ = make_expert_demos(world, n, horizon=8, random_state=100 * seed + n)
            for name, make in models.items():
                start = time.perf_counter()
                est = make().fit(demos, world)
                seconds[name] += time.perf_counter() - start
                evd[name][i, j] = expected_value_difference(world, learned_reward=est.reward_)
            print(f"  seed {seed}, {n:3d} demos: " + "; ".join(
                f"{name} {evd[name][i, j]:.1f}" for name in models), flush=True)
    print(f"objectworld {size}x{size}, mean EVD over {n_seeds} worlds "
          f"({time.perf_counter() - tic:.0f} s, load {_load()}):")
    print(f"  {'demos':30s}" + "".join(f"{n:6d}" for n in demo_counts))
    for name in models:
        print(f"  {name:30s}" + "".join(f"{v:6.1f}" for v in evd[name].mean(axis=0))
              + f"   ({seconds[name]:.0f} s fitting)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["calibration", "speed", "objectworld"],
                        choices=["calibration", "speed", "objectworld"])
    parser.add_argument("--n-mdps", type=int, default=40)
    parser.add_argument("--seeds", type=int, default=5, help="ObjectWorlds (seeds) to average")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--models", nargs="+", default=None,
                        help="ObjectWorld models whose name contains one of these words")
    parser.add_argument("--demos", type=int, nargs="+", default=[8, 16, 32, 64])
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if "calibration" in args.parts:
        calibration(args.n_mdps)
    if "speed" in args.parts:
        speed()
    if "objectworld" in args.parts:
        objectworld(args.seeds, args.demos, first_seed=args.first_seed, only=args.models)


if __name__ == "__main__":
    main()
