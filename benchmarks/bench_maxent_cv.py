"""MaxEntIRLCV: what the warm-started strength path costs against one fit per fold.

For each cross-validation fold of the demos this times (a) the warm-started path that
``MaxEntIRLCV`` runs (10 strengths, strongest first, each fit starting from the previous
optimum), (b) the same 10 strengths fitted cold, and (c) one cold fit at the default strength
``MaxEntIRL().l2`` and (d) one cold fit at the strength the path chose. Reported: seconds per
fold, and the ratios (a) / (c) and (a) / (d), the "cost in fits" of the cross-validated
choice. The envs: ObjectWorld (8 x 8, one-hot and the 4 continuous distance features) and
GridWorld (8 x 8), demos of 16 steps from the temperature-1 soft-optimal expert.

Run::

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/bench_maxent_cv.py
    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/bench_maxent_cv.py --n-demos 16 128
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold
from sklearn.preprocessing import StandardScaler

from sklirl import MaxEntIRL, MaxEntIRLCV
from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld, ObjectWorld
from sklirl.irl._max_ent_cv import _fit_path


def _timed_fit(est, demos, env):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(demos, env)
    return time.perf_counter() - start


def run(name, env, features, n_demos, n_l2s=10, n_folds=5, seed=0):
    demos, _ = make_expert_demos(env, n_demos, horizon=16, random_state=seed)
    cv_est = MaxEntIRLCV(features, l2s=n_l2s, cv=KFold(n_folds, shuffle=True, random_state=0))
    grid = cv_est._l2_grid()
    rows = []
    for train, test in cv_est.cv.split(np.zeros((n_demos, 1))):
        fold = [demos[i] for i in train]
        base = MaxEntIRL(features, warm_start=True)
        start = time.perf_counter()
        scores, _ = _fit_path(clone(base), grid, demos, env, train, test, None)
        warm = time.perf_counter() - start
        cold = sum(_timed_fit(MaxEntIRL(features, l2=float(l2)), fold, env) for l2 in grid)
        default = _timed_fit(MaxEntIRL(features), fold, env)
        chosen = float(grid[int(np.argmax(scores))])
        at_chosen = _timed_fit(MaxEntIRL(features, l2=chosen), fold, env)
        rows.append((warm, cold, default, at_chosen))
    warm, cold, default, at_chosen = np.mean(rows, axis=0)
    print(f"{name:<22} {n_demos:>5} {warm:8.3f} {cold:8.3f} {default:8.3f} {at_chosen:8.3f} "
          f"{warm / default:8.2f} {warm / at_chosen:8.2f} {cold / warm:8.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-demos", type=int, nargs="+", default=[16, 128])
    parser.add_argument("--n-l2s", type=int, default=10)
    parser.add_argument("--n-folds", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}; seconds per fold, mean over "
          f"{args.n_folds} folds; {args.n_l2s} strengths")
    print(f"{'env / features':<22} {'demos':>5} {'path':>8} {'cold x10':>8} {'default':>8} "
          f"{'at l2_':>8} {'path/def':>8} {'path/l2_':>8} {'cold/path':>8}")
    envs = [
        ("ObjectWorld one-hot", ObjectWorld(8, random_state=0), None),
        ("ObjectWorld distances", ObjectWorld(8, random_state=0), StandardScaler()),
        ("GridWorld(8) one-hot", GridWorld(8, gamma=0.9), None),
    ]
    for name, env, features in envs:
        for n in args.n_demos:
            run(name, env, features, n, args.n_l2s, args.n_folds)


if __name__ == "__main__":
    main()
