"""Reward transfer: does the learned reward still hold when the dynamics change?

Two experiments, each over 3 seeds (the demos and the estimators' seeds):

* **Shifting wall** (after the shifting maze of Fu, Luo & Levine 2018): a 7 x 7 grid,
  deterministic compass moves, a horizontal wall across the middle row with one gap, on the
  left during training and on the right at test time. Start anywhere below the wall; the true
  reward is a linear function of the coordinates, highest in the top-right corner (the moved
  gap is on the way) or in the top-left one (the moved gap is a detour). Every
  estimator sees the coordinates through ``PolynomialFeatures(1)``; each learned reward is
  re-planned (greedy) in the test grid and scored by its EVD there
  (:func:`sklirl.metrics.transfer_value_difference`), with the uniform policy's EVD as scale.
* **ObjectWorld** (Levine et al. 2011's transfer test): train on one 16 x 16 world, evaluate
  the learned reward on 2 new worlds; AIRL with an MLP ``g`` against MaxEnt's MLP reward, both
  on the standardised distance features.

Run::

    OMP_NUM_THREADS=1 python benchmarks/bench_transfer.py             # both, 3 seeds
    OMP_NUM_THREADS=1 python benchmarks/bench_transfer.py --only wall
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import PolynomialFeatures, StandardScaler

from sklirl import AIRL, GAIL, MaxEntIRL, MaxMarginIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import ObjectWorld, TabularMDP
from sklirl.metrics import expected_value_difference, transfer_value_difference

warnings.filterwarnings("ignore", category=ConvergenceWarning)

SIDE, WALL_ROW, GAMMA = 7, 3, 0.9
_MOVES = [(-1, 0), (0, 1), (1, 0), (0, -1)]  # up, right, down, left


def shifting_wall(gap_col, goal="right", side=SIDE, wall_row=WALL_ROW, gamma=GAMMA):
    """The grid with a wall across ``wall_row`` except at ``gap_col``; deterministic moves,
    a move into the wall or off the grid stays put. States ``row * side + col``; features the
    ``(row, col)`` coordinates; start uniformly below the wall; the reward is linear in the
    coordinates, highest in the top ``goal`` ("right" or "left") corner."""
    S, A = side * side, len(_MOVES)
    wall = {(wall_row, c) for c in range(side) if c != gap_col}
    P = np.zeros((S, A, S))
    for r in range(side):
        for c in range(side):
            s = r * side + c
            for a, (dr, dc) in enumerate(_MOVES):
                r2, c2 = r + dr, c + dc
                inside = 0 <= r2 < side and 0 <= c2 < side and (r2, c2) not in wall
                P[s, a, r2 * side + c2 if inside else s] = 1.0
    rows, cols = np.divmod(np.arange(S), side)
    coords = np.column_stack([rows, cols]).astype(float)
    mu0 = (rows > wall_row).astype(float)
    reward = ((cols if goal == "right" else -cols) - rows) / side
    return TabularMDP(P, initial_state_distribution=mu0 / mu0.sum(), gamma=gamma,
                      state_features=coords, reward=reward)


def wall_models(seed):
    feats = PolynomialFeatures(1)
    return {
        "AIRL (state-only)": AIRL(feats, random_state=seed),
        "AIRL (state-action)": AIRL(feats, state_only=False, random_state=seed),
        "GAIL": GAIL(feats, random_state=seed),
        "MaxEnt": MaxEntIRL(feats),
        "MaxMargin": MaxMarginIRL(features=feats),
    }


def run_wall(seeds, goal="right", n_demos=50, horizon=20):
    train, test = shifting_wall(1, goal), shifting_wall(SIDE - 2, goal)
    uniform = np.full((test.n_states, test.n_actions), 1.0 / test.n_actions)
    scale = expected_value_difference(test, policy=uniform)
    names = list(wall_models(0))
    evd = {name: [] for name in names}
    seconds = dict.fromkeys(names, 0.0)
    for seed in seeds:
        demos, _ = make_expert_demos(train, n_demos, horizon=horizon, temperature=0.1,
                                     random_state=seed)
        for name, est in wall_models(seed).items():
            tic = time.perf_counter()
            est.fit(demos, train)
            seconds[name] += time.perf_counter() - tic
            evd[name].append(transfer_value_difference(est, test))
        print(f"seed {seed}: " + "; ".join(f"{n} {evd[n][-1]:.3f}" for n in names), flush=True)
    print(f"\nShifting wall, goal top {goal} ({SIDE}x{SIDE}, gap col 1 -> {SIDE - 2}, "
          f"{n_demos} demos of "
          f"{horizon} steps): transfer EVD per seed; uniform policy EVD {scale:.3f}")
    print(f"{'estimator':22s} " + " ".join(f"seed {s:<3d}" for s in seeds)
          + "  mean   / uniform  fit s")
    for name in names:
        v = np.asarray(evd[name])
        print(f"{name:22s} " + " ".join(f"{x:8.3f}" for x in v)
              + f"  {v.mean():.3f}  {v.mean() / scale:7.1%}  {seconds[name] / len(seeds):5.1f}")
    airl, gail = np.asarray(evd["AIRL (state-only)"]), np.asarray(evd["GAIL"])
    print(f"AIRL(state-only) <= 10% of uniform on every seed: {bool(np.all(airl <= 0.1 * scale))}"
          f"; <= half of GAIL's on every seed: {bool(np.all(airl <= 0.5 * gail))}")
    return evd, scale


def run_objectworld(seeds, size=16, n_demos=64, n_new=2):
    def models(seed):
        return {
            "AIRL, MLP g": AIRL(StandardScaler(), reward_model="mlp", max_iter=200,
                                random_state=seed),
            "MaxEnt, MLP": MaxEntIRL(StandardScaler(), reward_model="mlp",
                                     hidden_layer_sizes=(32, 32), l2=0.1, weight_decay=1.0,
                                     max_iter=300, random_state=seed),
        }

    names = list(models(0))
    train_evd = {n: [] for n in names}
    new_evd = {n: [] for n in names}
    uniform_evd = []
    for seed in seeds:
        world = ObjectWorld(size, random_state=seed)
        new_worlds = [ObjectWorld(size, random_state=1000 + n_new * seed + k)
                      for k in range(n_new)]
        uniform_evd.append(np.mean([expected_value_difference(
            w, policy=np.full((w.n_states, w.n_actions), 1 / w.n_actions)) for w in new_worlds]))
        demos, _ = make_expert_demos(world, n_demos, horizon=8, random_state=100 * seed)
        for name, est in models(seed).items():
            est.fit(demos, world)
            train_evd[name].append(transfer_value_difference(est, world))
            new_evd[name].append(np.mean([transfer_value_difference(est, w)
                                          for w in new_worlds]))
        print(f"seed {seed}: " + "; ".join(
            f"{n} {train_evd[n][-1]:.1f} / {new_evd[n][-1]:.1f}" for n in names), flush=True)
    print(f"\nObjectWorld {size}x{size}, {n_demos} demos: EVD train world / {n_new} new worlds "
          f"(uniform policy on the new worlds: {np.mean(uniform_evd):.1f})")
    for name in names:
        print(f"{name:14s} train {np.mean(train_evd[name]):5.1f}  new worlds "
              f"{np.mean(new_evd[name]):5.1f}  (per seed: "
              + ", ".join(f"{x:.1f}" for x in new_evd[name]) + ")")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", choices=["wall", "objectworld"], default=None)
    args = parser.parse_args()
    start = time.perf_counter()
    if args.only in (None, "wall"):
        run_wall(args.seeds, goal="right")
        run_wall(args.seeds, goal="left")
    if args.only in (None, "objectworld"):
        run_objectworld(args.seeds)
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
