"""GAIL on CartPole-v1: sklirl.GAIL vs imitation's GAIL at two settings, over several seeds.

An expert is trained in the benchmark with sklirl's own PPO; 20 of its (deterministic)
episodes are the demonstrations of every learner. For each seed the learners run one after the
other on one CPU thread each, all to the same budget of environment steps (``--steps``); every
``--eval-every`` steps (at the end of the first round past each multiple) the deterministic
policy is evaluated on the same 20 seeded episodes of ``CartPole-v1``. Reported per run:
environment steps and training wall time (evaluation excluded) until that mean return first
reaches 90% and 95% of the expert's, and the area under the return curve (the mean evaluated
return over the budget, the curve held constant between evaluations, as a fraction of the
expert's return). Each seed's row is printed as it finishes, then a summary over seeds.

- sklirl: ``GAIL()`` at its defaults (PPO with 8 envs x 256 steps = 2048 steps per round,
  10 epochs, batch 256, lr 3e-4, gamma 0.99, entropy 0.01; ``-log D`` reward, 4 discriminator
  steps of 512 + 512 samples per round).
- imitation 1.0.1 ``tutorial``: its GAIL tutorial's settings, SB3 ``PPO(MlpPolicy,
  batch_size=64, ent_coef=0.0, learning_rate=4e-4, gamma=0.95, n_epochs=5)`` on 8 envs
  (SB3's default n_steps 2048 per env: 16384 steps per round), ``BasicRewardNet`` with
  ``RunningNorm`` inputs, ``demo_batch_size=1024``, ``gen_replay_buffer_capacity=512``,
  ``n_disc_updates_per_round=8``. The tutorial was written for seals' fixed-horizon CartPole.
- imitation 1.0.1 ``matched``: the same, with SB3 PPO at sklirl's settings: ``n_steps=256`` on
  8 envs (2048 steps per round), ``batch_size=256``, ``n_epochs=10``, ``learning_rate=3e-4``,
  ``gamma=0.99``, ``ent_coef=0.01``.

Both use ``allow_variable_horizon=True``: CartPole-v1 ends an episode when the pole falls, so
any positive per-step reward (``-log D`` is positive) is also a survival bonus and teaches
balancing whatever the discriminator learns; this benchmark measures speed on an easy task,
not imitation quality (the fixed-horizon variant is the control experiment's).

imitation 1.0.1 pins gymnasium 0.29, while sklirl's PPO needs gymnasium >= 1.0, so one run of
this script (in sklirl's environment) runs sklirl in-process and, seed by seed in between, the
imitation learners in a worker process of the benchmark venv (``--bench-python``), handing them
the same demos; CartPole-v1's dynamics and seeded resets are the same in both gymnasium
versions::

    python benchmarks/bench_gail.py                          # 5 seeds, all three learners
    python benchmarks/bench_gail.py --seeds 0 1 --steps 100000 --imitation matched
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


THRESHOLDS = (0.90, 0.95)


class Tracker:
    """Training wall time (evaluation excluded), the learning curve, and the first evaluation
    reaching each fraction of the expert's return."""

    def __init__(self, expert_return, eval_every):
        self.expert_return = expert_return
        self.eval_every = eval_every
        self.next_eval = eval_every
        self.train_time = 0.0
        self.mark = time.perf_counter()
        self.reached = {}  # fraction -> (steps, seconds)
        self.curve = []  # (steps, train seconds, return)

    def round_done(self, steps, act):
        self.train_time += time.perf_counter() - self.mark
        if steps >= self.next_eval:
            ret = evaluate(act)
            self.curve.append((steps, round(self.train_time, 2), ret))
            for frac in THRESHOLDS:
                if frac not in self.reached and ret >= frac * self.expert_return:
                    self.reached[frac] = (steps, self.train_time)
            while self.next_eval <= steps:
                self.next_eval += self.eval_every
        self.mark = time.perf_counter()


def run_sklirl(demos, seed, expert_return, steps, eval_every):
    from sklirl import GAIL

    tracker = Tracker(expert_return, eval_every)

    def callback(gail, row):
        tracker.round_done(row["env_steps"], gail.policy_.predict)

    rounds = -(-steps // 2048)  # 8 envs x 256 steps per round
    GAIL(max_iter=rounds, random_state=seed, callback=callback).fit(
        demos, gymnasium.make(ENV_ID)
    )
    return tracker


IMITATION_PPO = {
    "tutorial": dict(batch_size=64, ent_coef=0.0, learning_rate=4e-4, gamma=0.95, n_epochs=5),
    "matched": dict(n_steps=256, batch_size=256, ent_coef=0.01, learning_rate=3e-4, gamma=0.99,
                    n_epochs=10),
}


def run_imitation(demos, seed, expert_return, steps, eval_every, config):
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
    learner = SB3PPO(env=venv, policy=MlpPolicy, seed=seed, **IMITATION_PPO[config])
    reward_net = BasicRewardNet(observation_space=venv.observation_space,
                                action_space=venv.action_space,
                                normalize_input_layer=RunningNorm)
    trainer = ImitationGAIL(
        demonstrations=rollouts, demo_batch_size=1024, gen_replay_buffer_capacity=512,
        n_disc_updates_per_round=8, venv=venv, gen_algo=learner, reward_net=reward_net,
        allow_variable_horizon=True,
    )
    tracker = Tracker(expert_return, eval_every)
    steps_per_round = trainer.gen_train_timesteps

    def act(obs):
        return learner.predict(obs, deterministic=True)[0]

    def callback(round_num):
        tracker.round_done((round_num + 1) * steps_per_round, act)

    trainer.train(max(steps, steps_per_round), callback=callback)  # at least one round
    return tracker


def area_under_curve(curve, budget, expert_return):
    """Mean evaluated return over ``[0, budget]`` steps as a fraction of the expert's: the
    curve is a step function (0 before the first evaluation, then each evaluation's return
    until the next)."""
    area, prev_steps, prev_ret = 0.0, 0, 0.0
    for steps, _, ret in curve:
        steps = min(steps, budget)
        area += (steps - prev_steps) * prev_ret
        prev_steps, prev_ret = steps, ret
    area += (budget - prev_steps) * prev_ret
    return area / budget / expert_return


def fmt(tracker, budget):
    out = {}
    for frac in THRESHOLDS:
        steps, secs = tracker.reached.get(frac, (None, None))
        pct = int(round(100 * frac))
        out[f"steps_to_{pct}"] = steps
        out[f"time_to_{pct}_s"] = None if secs is None else round(secs, 1)
    final_steps, final_time, final_ret = tracker.curve[-1]
    out.update({
        "auc": round(area_under_curve(tracker.curve, budget, tracker.expert_return), 4),
        "final_return": final_ret,
        "final_steps": final_steps,
        "train_time_s": final_time,
        "curve": tracker.curve,
    })
    return out


def imitation_worker(args):
    data = np.load(args.worker_data)
    lengths = data["lengths"]
    splits = np.cumsum(lengths)[:-1]
    obs = np.split(data["observations"], np.cumsum(lengths + 1)[:-1])
    acts = np.split(data["actions"], splits)
    demos = [_Demo(o, a) for o, a in zip(obs, acts)]
    tracker = run_imitation(demos, args.seeds[0], float(data["expert_return"]), args.steps,
                            args.eval_every, args.imitation[0])
    print("RESULT " + json.dumps(fmt(tracker, args.steps)))


class _Demo:
    def __init__(self, states, actions):
        self.states, self.actions = states, actions


def run_imitation_in_venv(args, demos, seed, expert_return, config):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "demos.npz")
        np.savez(path, observations=np.concatenate([d.states for d in demos]),
                 actions=np.concatenate([d.actions for d in demos]),
                 lengths=np.array([len(d.actions) for d in demos]),
                 expert_return=expert_return)
        cmd = [args.bench_python, os.path.abspath(__file__), "--worker-data", path,
               "--seeds", str(seed), "--steps", str(args.steps), "--eval-every",
               str(args.eval_every), "--imitation", config]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"imitation worker failed:\n{out.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def summary(results, libraries):
    """Per learner: medians over seeds of steps / seconds to 90% and 95% (runs that never got
    there count as not reached) and the mean area under the curve."""
    lines = ["| learner | seeds | reached 90% | median steps to 90% | median s to 90% "
             "| reached 95% | median steps to 95% | median s to 95% | mean AUC |",
             "|---|---|---|---|---|---|---|---|---|"]
    for lib in libraries:
        rows = [r for r in results if r["library"] == lib]
        if not rows:
            continue
        cells = [lib, str(len(rows))]
        for pct in (90, 95):
            got = [r for r in rows if r[f"steps_to_{pct}"] is not None]
            cells.append(f"{len(got)}/{len(rows)}")
            for key, f in ((f"steps_to_{pct}", "{:,.0f}"), (f"time_to_{pct}_s", "{:.1f}")):
                vals = [r[key] for r in got]
                cells.append(f.format(np.median(vals)) if vals else "-")
        cells.append(f"{np.mean([r['auc'] for r in rows]):.3f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=300_000,
                        help="environment steps per run (every learner)")
    parser.add_argument("--eval-every", type=int, default=4096,
                        help="evaluate at the first round end past each multiple of this")
    parser.add_argument("--imitation", nargs="+", default=["tutorial", "matched"],
                        choices=sorted(IMITATION_PPO), help="imitation settings to run")
    parser.add_argument("--skip-imitation", action="store_true")
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
    print(f"expert: sklirl PPO, {args.expert_steps} steps, {expert_time:.0f} s; deterministic "
          f"return {expert_return:.1f} over {N_EVAL} episodes; demos: {N_DEMOS} episodes, "
          f"{sum(len(d) for d in demos)} steps; budget {args.steps:,} steps per run, "
          f"evaluation every {args.eval_every:,} steps; load average {os.getloadavg()[0]:.1f}",
          flush=True)

    libraries = ["sklirl"] + ([] if args.skip_imitation else
                              [f"imitation-{c}" for c in args.imitation])
    results = []
    for seed in args.seeds:
        for lib in libraries:
            if lib == "sklirl":
                run = fmt(run_sklirl(demos, seed, expert_return, args.steps, args.eval_every),
                          args.steps)
            else:
                run = run_imitation_in_venv(args, demos, seed, expert_return,
                                            lib.split("-", 1)[1])
            row = {"seed": seed, "library": lib, **run}
            print(json.dumps({k: v for k, v in row.items() if k != "curve"}), flush=True)
            results.append(row)

    print()
    print("| learner | seed | steps to 90% | s to 90% | steps to 95% | s to 95% | AUC "
          "| final return | steps run | train time (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['library']} | {r['seed']} | {r['steps_to_90']} | {r['time_to_90_s']} "
              f"| {r['steps_to_95']} | {r['time_to_95_s']} | {r['auc']:.3f} "
              f"| {r['final_return']:.1f} | {r['final_steps']} | {r['train_time_s']} |")
    print()
    print(summary(results, libraries))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"expert_return": expert_return, "steps": args.steps,
                       "results": results}, f)


if __name__ == "__main__":
    main()
