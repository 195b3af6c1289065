"""GAIL's learning curve on continuous control (Pendulum-v1, MountainCarContinuous-v0).

One GAIL fit per call, at the estimator's defaults unless ``--params`` overrides them; the
experts, demonstrations (seeds 1000, 1001, ...), fixed-horizon envs and evaluator are those of
``bench_imitation.py``. Every ``--eval-every`` rounds the deterministic policy is scored on
``--n-eval`` seeded episodes and a line is printed with the normalised return
``(R - R_random) / (R_expert - R_random)`` and the training wall time (evaluation excluded).
The numbers of the user guide's "GAIL on continuous control" section come from it.

Usage (from the repository root; run seeds side by side, one thread each)::

    OMP_NUM_THREADS=1 python benchmarks/bench_gail_continuous.py --env Pendulum --seed 0
    OMP_NUM_THREADS=1 python benchmarks/bench_gail_continuous.py --env Pendulum --seed 0 \\
        --params '{"grad_penalty": 1.0}' \\
        --solver '{"learning_rate": 1e-3, "gamma": 0.95, "lr_schedule": "linear",
                   "total_timesteps": 307200}'
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))


def main():
    import bench_imitation as B

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="Pendulum", choices=["Pendulum",
                                                             "MountainCarContinuous"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=300_000)
    parser.add_argument("--n-demos", type=int, default=20)
    parser.add_argument("--eval-every", type=int, default=10, help="rounds between evaluations")
    parser.add_argument("--n-eval", type=int, default=10)
    parser.add_argument("--params", default="{}", help="GAIL parameters, as JSON")
    parser.add_argument("--solver", default=None, help="PPO parameters of the generator, as "
                        "JSON (n_envs=8, n_steps=256, n_epochs=10, batch_size=256 unless given)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    from sklirl import GAIL, Trajectory
    from sklirl.solvers import PPO

    name, expert = args.env, B.EXPERTS[args.env]
    R_expert = float(B.evaluate(lambda obs: np.stack([expert(o) for o in obs]), name).mean())
    R_random = float(B.evaluate(B.random_act(name), name).mean())
    demos = [Trajectory(s, a) for s, a in B.record_demos(name, expert, args.n_demos)]
    params = {"random_state": args.seed, **json.loads(args.params)}
    if args.solver is not None:
        params["solver"] = PPO(**{"n_envs": 8, "n_steps": 256, "n_epochs": 10,
                                  "batch_size": 256, **json.loads(args.solver)})
    print(f"{name}: expert {R_expert:.1f}, random {R_random:.1f}; params {args.params}, "
          f"solver {args.solver}", flush=True)
    start, eval_time = time.perf_counter(), 0.0

    def callback(gail, row):
        nonlocal eval_time
        n = len(gail.history_["env_steps"])
        if n % args.eval_every == 0:
            t = time.perf_counter()
            R = float(B.evaluate(gail.policy_.act, name, args.n_eval).mean())
            eval_time += time.perf_counter() - t
            print(f"round {n} steps {row['env_steps']} return {R:.1f} "
                  f"normalised {(R - R_random) / (R_expert - R_random):.3f} "
                  f"acc_E {row['disc_accuracy_expert']:.2f} "
                  f"acc_pi {row['disc_accuracy_policy']:.2f} "
                  f"entropy {row['policy_entropy']:.2f} "
                  f"train_s {time.perf_counter() - start - eval_time:.0f}", flush=True)
        return row["env_steps"] >= args.steps

    # the fit's budget is max_iter rounds (the default Box-action generator anneals its step
    # size over them); the callback stops at --steps
    solver = params.get("solver")
    per_round = 2048 if solver is None else solver.n_envs * solver.n_steps
    max_iter = -(-args.steps // per_round)
    GAIL(**params).set_params(max_iter=max_iter, callback=callback).fit(demos, B.make_env(name))


if __name__ == "__main__":
    main()
