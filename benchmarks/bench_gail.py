"""GAIL on CartPole-v1: sklirl.GAIL vs imitation's GAIL, side by side in one process.

An expert is trained in the benchmark with sklirl's own PPO; 20 of its (deterministic)
episodes are the demonstrations of both libraries. For each seed the two learners run one after
the other on one CPU thread each; after every round the deterministic policy is evaluated on the
same 20 seeded episodes of ``CartPole-v1``. Reported per run: environment steps and training wall
time (evaluation excluded) until that mean return first reaches 95% of the expert's, and the
final return.

- sklirl: ``GAIL()`` at its defaults (PPO with 8 envs x 256 steps = 2048 steps per round,
  ``-log D`` reward, 4 discriminator steps of 512 + 512 samples per round), 150 rounds (307k
  steps).
- imitation 1.0.1: its GAIL tutorial's settings: SB3 ``PPO(MlpPolicy, batch_size=64,
  ent_coef=0.0, learning_rate=4e-4, gamma=0.95, n_epochs=5)`` on 8 envs (16384 steps per round),
  ``BasicRewardNet`` with ``RunningNorm`` inputs, ``demo_batch_size=1024``,
  ``gen_replay_buffer_capacity=512``, ``n_disc_updates_per_round=8``; CartPole-v1 ends episodes
  early, so ``allow_variable_horizon=True``. Budget ``--imitation-steps`` (1M); it stops at the
  first round that reaches 95% unless ``--full``.

imitation 1.0.1 pins gymnasium 0.29, while sklirl's PPO needs gymnasium >= 1.0, so one run of
this script (in sklirl's environment) runs sklirl in-process and, seed by seed in between, the
imitation learner in a worker process of the benchmark venv (``--bench-python``), handing it the
same demos; CartPole-v1's dynamics and seeded resets are the same in both gymnasium versions::

    python benchmarks/bench_gail.py                       # 3 seeds, both libraries
    python benchmarks/bench_gail.py --seeds 0 --skip-imitation
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

import gymnasium
import numpy as np
import torch

N_DEMOS = 20
N_EVAL = 20
THRESHOLD = 0.95
ENV_ID = "CartPole-v1"


def evaluate(act, n_episodes=N_EVAL, seed=12345):
    """Mean return of a deterministic ``act(obs_batch) -> actions`` over seeded episodes."""
    envs = [gymnasium.make(ENV_ID) for _ in range(n_episodes)]
    obs = np.stack([e.reset(seed=seed + i)[0] for i, e in enumerate(envs)])
    returns = np.zeros(n_episodes)
    active = np.ones(n_episodes, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        actions = np.asarray(act(obs[idx])).reshape(-1)
        for i, a in zip(idx, actions):
            o, r, term, trunc, _ = envs[i].step(int(a))
            obs[i] = o
            returns[i] += r
            active[i] = not (term or trunc)
    return float(returns.mean())


def expert_demos(policy, n, seed=1000):
    from sklirl import Trajectory

    env = gymnasium.make(ENV_ID)
    demos = []
    for i in range(n):
        obs, _ = env.reset(seed=seed + i)
        states, actions = [obs], []
        while True:
            action = int(policy.act(obs))
            obs, _, term, trunc, _ = env.step(action)
            states.append(obs)
            actions.append(action)
            if term or trunc:
                break
        demos.append(Trajectory(np.array(states), np.array(actions)))
    return demos


class Tracker:
    """Training wall time (evaluation excluded) and the first round reaching the target."""

    def __init__(self, target):
        self.target = target
        self.train_time = 0.0
        self.mark = time.perf_counter()
        self.reached = None  # (steps, seconds)
        self.curve = []

    def round_done(self, steps, act):
        self.train_time += time.perf_counter() - self.mark
        ret = evaluate(act)
        self.curve.append((steps, round(self.train_time, 2), ret))
        if self.reached is None and ret >= self.target:
            self.reached = (steps, self.train_time)
        self.mark = time.perf_counter()
        return ret


def run_sklirl(demos, seed, target, n_rounds):
    from sklirl import GAIL

    tracker = Tracker(target)

    def callback(gail, row):
        tracker.round_done(row["env_steps"], gail.policy_.predict)

    GAIL(max_iter=n_rounds, random_state=seed, callback=callback).fit(
        demos, gymnasium.make(ENV_ID)
    )
    return tracker


class _Stop(Exception):
    pass


def run_imitation(demos, seed, target, total_steps, full):
    from imitation.algorithms.adversarial.gail import GAIL as ImitationGAIL
    from imitation.data import types
    from imitation.rewards.reward_nets import BasicRewardNet
    from imitation.util.networks import RunningNorm
    from imitation.util.util import make_vec_env
    from stable_baselines3 import PPO as SB3PPO
    from stable_baselines3.ppo import MlpPolicy

    rng = np.random.default_rng(seed)
    venv = make_vec_env(ENV_ID, rng=rng, n_envs=8)
    rollouts = [
        types.Trajectory(obs=np.asarray(d.states, dtype=np.float32),
                         acts=np.asarray(d.actions), infos=None, terminal=True)
        for d in demos
    ]
    learner = SB3PPO(env=venv, policy=MlpPolicy, batch_size=64, ent_coef=0.0,
                     learning_rate=4e-4, gamma=0.95, n_epochs=5, seed=seed)
    reward_net = BasicRewardNet(observation_space=venv.observation_space,
                                action_space=venv.action_space,
                                normalize_input_layer=RunningNorm)
    trainer = ImitationGAIL(
        demonstrations=rollouts, demo_batch_size=1024, gen_replay_buffer_capacity=512,
        n_disc_updates_per_round=8, venv=venv, gen_algo=learner, reward_net=reward_net,
        allow_variable_horizon=True,
    )
    tracker = Tracker(target)
    steps_per_round = trainer.gen_train_timesteps

    def act(obs):
        return learner.predict(obs, deterministic=True)[0]

    def callback(round_num):
        tracker.round_done((round_num + 1) * steps_per_round, act)
        if tracker.reached is not None and not full:
            raise _Stop

    try:
        trainer.train(total_steps, callback=callback)
    except _Stop:
        pass
    return tracker


def fmt(tracker):
    steps, secs = tracker.reached if tracker.reached else (None, None)
    final_steps, final_time, final_ret = tracker.curve[-1]
    return {
        "steps_to_95": steps,
        "time_to_95_s": None if secs is None else round(secs, 1),
        "final_return": final_ret,
        "final_steps": final_steps,
        "train_time_s": final_time,
        "curve": tracker.curve,
    }


def imitation_worker(args):
    data = np.load(args.worker_data)
    lengths = data["lengths"]
    splits = np.cumsum(lengths)[:-1]
    obs = np.split(data["observations"], np.cumsum(lengths + 1)[:-1])
    acts = np.split(data["actions"], splits)
    demos = [_Demo(o, a) for o, a in zip(obs, acts)]
    tracker = run_imitation(demos, args.seeds[0], float(data["target"]), args.imitation_steps,
                            args.full)
    print("RESULT " + json.dumps(fmt(tracker)))


class _Demo:
    def __init__(self, states, actions):
        self.states, self.actions = states, actions


def run_imitation_in_venv(args, demos, seed, target):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "demos.npz")
        np.savez(path, observations=np.concatenate([d.states for d in demos]),
                 actions=np.concatenate([d.actions for d in demos]),
                 lengths=np.array([len(d.actions) for d in demos]), target=target)
        cmd = [args.bench_python, os.path.abspath(__file__), "--worker-data", path,
               "--seeds", str(seed), "--imitation-steps", str(args.imitation_steps)]
        if args.full:
            cmd.append("--full")
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"imitation worker failed:\n{out.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--sklirl-rounds", type=int, default=150)
    parser.add_argument("--imitation-steps", type=int, default=1_000_000)
    parser.add_argument("--skip-imitation", action="store_true")
    parser.add_argument("--full", action="store_true",
                        help="run imitation to its full budget instead of stopping at 95%%")
    parser.add_argument("--expert-steps", type=int, default=150_000)
    parser.add_argument("--json", help="write the results (with learning curves) here")
    parser.add_argument("--bench-python", default="/work/bench-venv/bin/python",
                        help="python of the venv with imitation 1.0.1")
    parser.add_argument("--worker-data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.worker_data:
        return imitation_worker(args)
    from sklirl.solvers import PPO

    t0 = time.perf_counter()
    expert = PPO(total_timesteps=args.expert_steps, random_state=0).solve(ENV_ID)
    expert_time = time.perf_counter() - t0
    expert_return = evaluate(expert.predict)
    demos = expert_demos(expert, N_DEMOS)
    target = THRESHOLD * expert_return
    print(f"expert: sklirl PPO, {args.expert_steps} steps, {expert_time:.0f} s; deterministic "
          f"return {expert_return:.1f} over {N_EVAL} episodes; demos: {N_DEMOS} episodes, "
          f"{sum(len(d) for d in demos)} steps; target {target:.1f}", flush=True)

    results = []
    for seed in args.seeds:
        row = {"seed": seed, "library": "sklirl", **fmt(run_sklirl(
            demos, seed, target, args.sklirl_rounds))}
        print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
        results.append(row)
        if not args.skip_imitation:
            row = {"seed": seed, "library": "imitation",
                   **run_imitation_in_venv(args, demos, seed, target)}
            print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
            results.append(row)

    print()
    print("| library | seed | env steps to 95% | train time to 95% (s) | final return "
          "| steps run | train time (s) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['library']} | {r['seed']} | {r['steps_to_95']} | {r['time_to_95_s']} "
              f"| {r['final_return']:.1f} | {r['final_steps']} | {r['train_time_s']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"expert_return": expert_return, "results": results}, f)


if __name__ == "__main__":
    main()
