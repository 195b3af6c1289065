"""Imitation on classic control, after Ho & Ermon (2016): sklirl vs imitation, one run.

Environments, in their **fixed-horizon** forms (an episode that would end early continues in an
absorbing state, so that no learner scores by the sign of a per-step reward):

============  ==========================================  ======================================
env           sklirl (trains and every policy is scored)  imitation (trains)
============  ==========================================  ======================================
CartPole      ``FixedHorizon(CartPole-v1)``, 500 steps    ``seals/CartPole-v0``
Acrobot       ``FixedHorizon(Acrobot-v1)``, 500 steps     ``Acrobot-v1`` + seals'
                                                          ``AbsorbAfterDoneWrapper`` (no seals id)
MountainCar   ``FixedHorizon(MountainCar-v0)``, 200       ``seals/MountainCar-v0``
Pendulum      ``Pendulum-v1`` (never terminates), 200     ``Pendulum-v1``
MountainCar-  ``FixedHorizon(MountainCarContinuous-v0)``, ``MountainCarContinuous-v0`` + seals'
Continuous    999 steps                                   ``AbsorbAfterDoneWrapper``
============  ==========================================  ======================================

Experts are scripted controllers (``EXPERTS``); demonstrations are their episodes on the
fixed-horizon env (seeds 1000, 1001, ...), the same arrays for both libraries. Every policy,
of either library, is scored by the same evaluator: the mean undiscounted true return of
``N_EVAL`` deterministic episodes with seeds 12345, 12346, ... of the sklirl fixed-horizon env
(run in the library's own process: imitation pins gymnasium 0.29, sklirl needs >= 1.1; the
classic-control dynamics and seeded resets are the same in both). The normalised return is
``(R - R_random) / (R_expert - R_random)``, the random policy acting uniformly.

Rows:

- ``expert``, ``random``: the references of the normalisation (1 and 0).
- ``BC``: sklirl ``BehavioralCloning()`` at its defaults (MLP 64x64 tanh, Adam 1e-3, batches
  of 64, at most 1000 epochs, stops on a training-loss plateau); imitation 1.0.1
  ``bc.BC`` at the settings of its ``train_imitation`` script (``FeedForward32Policy``,
  ``batch_size=32``, ``l2_weight=3e-5``, ``Adam(lr=4e-4)``, ``ent_weight=1e-3``,
  ``n_batches=50_000``; ``--quick``: 5,000).
- ``GAIL``: sklirl ``GAIL()`` at its defaults on the fixed-horizon env (``--gail-steps``, 300k);
  imitation ``GAIL`` at its ``train_adversarial`` defaults (SB3 ``PPO`` with
  ``FeedForward32Policy``, 8 envs, 2048 steps per round, ``learning_rate=3e-4``,
  ``batch_size=64``, ``n_epochs=10``, ``ent_coef=0.0``; ``BasicRewardNet`` with a
  ``RunningNorm`` output; ``demo_batch_size=1024`` (all the demos' steps when fewer),
  ``n_disc_updates_per_round=4``,
  ``gen_replay_buffer_capacity=2048``), same step budget.
- ``GAIL (random demos)``: the control: GAIL fitted to demonstrations of the random policy; it
  must not score like the expert.

Columns: normalised return at the end (mean and standard deviation over seeds), the raw
return, environment steps and training wall time (evaluation excluded, one torch thread) until
the policy first reaches 90% of the way from random to expert (BC: no env steps; its time is
the fit time when the fitted policy reaches 90%), and how many seeds got there.

Usage (from the repository root; the imitation side runs in the benchmark venv made by
``BENCH_EXACT=1 bash benchmarks/setup_bench_env.sh``)::

    OMP_NUM_THREADS=1 python benchmarks/bench_imitation.py --algos bc         # BC rows
    OMP_NUM_THREADS=1 python benchmarks/bench_imitation.py --quick            # smoke run
    OMP_NUM_THREADS=1 python benchmarks/bench_imitation.py --algos bc gail --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
N_EVAL = 20
EVAL_SEED = 12345
DEMO_SEED = 1000
THRESHOLD = 0.9
ENVS = {
    "CartPole": {"gym_id": "CartPole-v1", "horizon": 500, "imitation_id": "seals/CartPole-v0"},
    "Acrobot": {"gym_id": "Acrobot-v1", "horizon": 500, "imitation_id": None},
    "MountainCar": {"gym_id": "MountainCar-v0", "horizon": 200,
                    "imitation_id": "seals/MountainCar-v0"},
    "Pendulum": {"gym_id": "Pendulum-v1", "horizon": 200, "imitation_id": "Pendulum-v1"},
    "MountainCarContinuous": {"gym_id": "MountainCarContinuous-v0", "horizon": 999,
                              "imitation_id": None},
}


# ------------------------------------------------------------------------------------------
# experts, envs, evaluation (run in both processes)
# ------------------------------------------------------------------------------------------
def cartpole_expert(obs):
    return int(obs[2] + 0.5 * obs[3] > 0)


def acrobot_expert(obs):
    # torque along the second joint's velocity pumps energy: return about -80
    return 2 if obs[5] > 0 else 0


def mountain_car_expert(obs):
    # push along the velocity: the flag in about 120 steps
    return 2 if obs[1] >= 0 else 0


def pendulum_expert(obs):
    c, s, w = obs
    if c > 0.8:  # near upright: PD balance
        u = -(12.0 * np.arctan2(s, c) + 2.5 * w)
    else:  # energy shaping: d/dt (w^2 / 2 + 15 cos th) = 3 u w
        u = (15.0 - (0.5 * w**2 + 15.0 * c)) * (1.0 if w >= 0 else -1.0)
    return np.clip([u], -2.0, 2.0).astype(np.float32)


def mountain_car_continuous_expert(obs):
    # full throttle along the velocity: the flag in about 106 steps, return about 89
    return np.array([1.0 if obs[1] >= 0 else -1.0], dtype=np.float32)


EXPERTS = {"CartPole": cartpole_expert, "Acrobot": acrobot_expert,
           "MountainCar": mountain_car_expert, "Pendulum": pendulum_expert,
           "MountainCarContinuous": mountain_car_continuous_expert}


def make_env(name):
    """The env every policy is scored on (and sklirl trains on)."""
    import gymnasium

    from sklirl.envs._wrappers import FixedHorizon

    spec = ENVS[name]
    return FixedHorizon(gymnasium.make(spec["gym_id"]), horizon=spec["horizon"])


def evaluate(act, name, n_episodes=N_EVAL, seed=EVAL_SEED):
    """Mean return of ``act(obs_batch) -> actions`` over seeded episodes run side by side."""
    envs = [make_env(name) for _ in range(n_episodes)]
    obs = [e.reset(seed=seed + i)[0] for i, e in enumerate(envs)]
    returns = np.zeros(n_episodes)
    active = list(range(n_episodes))
    while active:
        actions = np.asarray(act(np.stack([obs[i] for i in active])))
        still = []
        for i, action in zip(active, actions):
            obs[i], reward, terminated, truncated, _ = envs[i].step(action)
            returns[i] += reward
            if not (terminated or truncated):
                still.append(i)
        active = still
    return returns


def random_act(name, seed=0):
    import gymnasium

    space = make_env(name).action_space
    rng = np.random.default_rng(seed)
    if isinstance(space, gymnasium.spaces.Discrete):
        return lambda obs: rng.integers(space.n, size=len(obs))
    return lambda obs: rng.uniform(space.low, space.high,
                                   size=(len(obs), *space.shape)).astype(np.float32)


def record_demos(name, act, n, seed=DEMO_SEED):
    """``n`` episodes of ``act(single_obs)`` on the fixed-horizon env: (states, actions)."""
    env = make_env(name)
    demos = []
    for i in range(n):
        obs, _ = env.reset(seed=seed + i)
        states, actions = [obs], []
        while True:
            action = act(obs)
            obs, _, terminated, truncated, _ = env.step(action)
            states.append(obs)
            actions.append(action)
            if terminated or truncated:
                break
        demos.append((np.array(states), np.array(actions)))
    return demos


class Tracker:
    """Training wall time (evaluation excluded) and the first evaluation reaching the target."""

    def __init__(self, name, target):
        self.name, self.target = name, target
        self.train_time, self.mark = 0.0, time.perf_counter()
        self.reached, self.curve = None, []

    def evaluation(self, steps, act):
        self.train_time += time.perf_counter() - self.mark
        ret = float(evaluate(act, self.name).mean())
        self.curve.append((int(steps), round(self.train_time, 2), ret))
        if self.reached is None and ret >= self.target:
            self.reached = (int(steps), self.train_time)
        self.mark = time.perf_counter()
        return ret

    def result(self):
        steps, secs = self.reached if self.reached else (None, None)
        return {"return": self.curve[-1][2], "steps_to_target": steps,
                "time_to_target_s": None if secs is None else round(secs, 2),
                "train_time_s": self.curve[-1][1], "curve": self.curve}


# ------------------------------------------------------------------------------------------
# sklirl
# ------------------------------------------------------------------------------------------
def sklirl_bc(name, demos, seed, target):
    from sklirl import BehavioralCloning, Trajectory

    trajs = [Trajectory(s, a) for s, a in demos]
    tracker = Tracker(name, target)
    bc = BehavioralCloning(random_state=seed).fit(trajs, make_env(name))
    tracker.evaluation(0, bc.policy_.act)
    return {**tracker.result(), "n_iter": bc.n_iter_}


def sklirl_gail(name, demos, seed, target, total_steps, eval_every):
    from sklirl import GAIL, Trajectory

    trajs = [Trajectory(s, a) for s, a in demos]
    tracker = Tracker(name, target)
    gail = GAIL(random_state=seed)
    steps_per_round = 8 * 256  # GAIL's default PPO: 8 envs x 256 steps
    n_rounds = max(1, total_steps // steps_per_round)

    rounds = []

    def callback(est, row):
        rounds.append(row["env_steps"])
        if len(rounds) % eval_every == 0 or len(rounds) == n_rounds:
            tracker.evaluation(row["env_steps"], est.policy_.act)

    gail.set_params(max_iter=n_rounds, callback=callback).fit(trajs, make_env(name))
    return tracker.result()


# ------------------------------------------------------------------------------------------
# imitation (runs in the benchmark venv)
# ------------------------------------------------------------------------------------------
def _imitation_trajectories(demos):
    from imitation.data import types

    return [types.Trajectory(obs=np.asarray(s, dtype=np.float32), acts=np.asarray(a),
                             infos=None, terminal=True) for s, a in demos]


def _imitation_env(name):
    import gymnasium
    import seals  # noqa: F401  (registers seals/*)
    from seals.util import AbsorbAfterDoneWrapper

    spec = ENVS[name]
    if spec["imitation_id"] is not None:
        return gymnasium.make(spec["imitation_id"])
    env = AbsorbAfterDoneWrapper(gymnasium.make(spec["gym_id"]).unwrapped)
    return gymnasium.wrappers.TimeLimit(env, spec["horizon"])


def imitation_bc(name, demos, seed, target, n_batches):
    import torch
    from imitation.algorithms import bc

    torch.manual_seed(seed)
    env = _imitation_env(name)
    tracker = Tracker(name, target)
    trainer = bc.BC(observation_space=env.observation_space, action_space=env.action_space,
                    demonstrations=_imitation_trajectories(demos),
                    rng=np.random.default_rng(seed), batch_size=32, l2_weight=3e-5,
                    optimizer_kwargs={"lr": 4e-4}, ent_weight=1e-3)
    trainer.train(n_batches=n_batches, progress_bar=False, log_interval=10**9)
    tracker.evaluation(0, lambda obs: trainer.policy.predict(obs, deterministic=True)[0])
    return tracker.result()


def imitation_gail(name, demos, seed, target, total_steps, eval_every):
    from imitation.algorithms.adversarial.gail import GAIL as ImitationGAIL
    from imitation.policies.base import FeedForward32Policy
    from imitation.rewards.reward_nets import BasicRewardNet
    from imitation.util.networks import RunningNorm
    from stable_baselines3 import PPO as SB3PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([lambda: _imitation_env(name) for _ in range(8)])
    venv.seed(seed)
    learner = SB3PPO(env=venv, policy=FeedForward32Policy, n_steps=2048 // 8, batch_size=64,
                     learning_rate=3e-4, n_epochs=10, ent_coef=0.0, seed=seed)
    reward_net = BasicRewardNet(venv.observation_space, venv.action_space)
    reward_net = _with_output_norm(reward_net, RunningNorm)
    trajectories = _imitation_trajectories(demos)
    n_transitions = sum(len(t.acts) for t in trajectories)
    trainer = ImitationGAIL(
        # imitation refuses a demo batch larger than the demos (1 trajectory: 200-500 steps)
        demonstrations=trajectories, demo_batch_size=min(1024, n_transitions),
        gen_replay_buffer_capacity=2048, n_disc_updates_per_round=4, venv=venv,
        gen_algo=learner, reward_net=reward_net,
    )
    tracker = Tracker(name, target)
    steps_per_round = trainer.gen_train_timesteps
    n_rounds = max(1, total_steps // steps_per_round)

    def callback(round_num):
        if (round_num + 1) % eval_every == 0 or round_num + 1 == n_rounds:
            tracker.evaluation((round_num + 1) * steps_per_round,
                               lambda obs: learner.predict(obs, deterministic=True)[0])

    trainer.train(n_rounds * steps_per_round, callback=callback)
    return tracker.result()


def _with_output_norm(net, norm):
    """imitation's train_adversarial wraps the reward net in a normalised-output wrapper."""
    from imitation.rewards.reward_nets import NormalizedRewardNet

    return NormalizedRewardNet(net, normalize_output_layer=norm)


def imitation_worker(path):
    job = json.load(open(path))
    data = np.load(job["demos"])
    out = []
    for task in job["tasks"]:
        demos = [(data[f"{task['demo_key']}_s{i}"], data[f"{task['demo_key']}_a{i}"])
                 for i in range(task["n_traj"])]
        if task["algo"] == "BC":
            res = imitation_bc(job["env"], demos, task["seed"], job["target"], job["n_batches"])
        else:
            res = imitation_gail(job["env"], demos, task["seed"], job["target"],
                                 job["gail_steps"], job["eval_every"])
        out.append({**task, **res})
        print("PROGRESS " + json.dumps({k: v for k, v in out[-1].items() if k != "curve"}),
              file=sys.stderr, flush=True)
    print("RESULT " + json.dumps(out))


def run_imitation(args, name, tasks, demo_arrays, target):
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(os.path.join(tmp, "demos.npz"), **demo_arrays)
        job = {"env": name, "tasks": tasks, "demos": os.path.join(tmp, "demos.npz"),
               "target": target, "n_batches": args.imitation_bc_batches,
               "gail_steps": args.gail_steps, "eval_every": args.eval_every}
        with open(os.path.join(tmp, "job.json"), "w") as f:
            json.dump(job, f)
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": REPO}
        proc = subprocess.run([args.bench_python, os.path.abspath(__file__), "--worker",
                               os.path.join(tmp, "job.json")], capture_output=True, text=True,
                              env=env)
    lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"imitation worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1][len("RESULT "):])


# ------------------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------------------
def summarise(rows, name, R_expert, R_random):
    """Markdown lines: one per (algo, library, demos) over seeds."""
    groups = {}
    for r in rows:
        groups.setdefault((r["algo"], r["library"], r["n_traj"]), []).append(r)
    lines = []
    for (algo, library, n_traj), runs in groups.items():
        R = np.array([r["return"] for r in runs])
        norm = (R - R_random) / (R_expert - R_random)
        reached = [r for r in runs if r["steps_to_target"] is not None]
        steps = (f"{np.mean([r['steps_to_target'] for r in reached]):,.0f}" if reached
                 else "-")
        secs = (f"{np.mean([r['time_to_target_s'] for r in reached]):.1f}" if reached
                else "-")
        lines.append(
            f"| {name} | {algo} | {library} | {n_traj} | {norm.mean():.2f} | {norm.std():.2f} "
            f"| {R.mean():.1f} | {steps} | {secs} | {len(reached)}/{len(runs)} "
            f"| {np.mean([r['train_time_s'] for r in runs]):.1f} |"
        )
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--algos", nargs="+", default=["bc", "gail"], choices=["bc", "gail"])
    parser.add_argument("--libraries", nargs="+", default=["sklirl", "imitation"],
                        choices=["sklirl", "imitation"])
    parser.add_argument("--n-trajectories", type=int, nargs="+", default=[1, 4, 10])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--gail-steps", type=int, default=300_000)
    parser.add_argument("--eval-every", type=int, default=5, help="GAIL rounds between "
                        "evaluations")
    parser.add_argument("--imitation-bc-batches", type=int, default=50_000)
    parser.add_argument("--quick", action="store_true", help="1 seed, 1 and 4 trajectories, "
                        "5k imitation BC batches, 20k GAIL steps: a smoke run")
    parser.add_argument("--json", help="write every run (with learning curves) here")
    parser.add_argument("--bench-python", default="/work/bench-venv/bin/python",
                        help="python of the venv with imitation 1.0.1 and seals")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.worker:
        return imitation_worker(args.worker)
    if args.quick:
        args.seeds, args.n_trajectories = args.seeds[:1], [1, 4]
        args.imitation_bc_batches, args.gail_steps = 5_000, 20_480
    sys.path.insert(0, REPO)

    header = ("| env | algo | library | demos | normalised return | std over seeds | return "
              "| env steps to 90% | wall s to 90% | seeds at 90% | train s |")
    table, everything = [header, "|" + "---|" * 11], {}
    for name in args.envs:
        expert, rand = EXPERTS[name], random_act(name)
        R_expert = float(evaluate(lambda obs, f=expert: np.stack([f(o) for o in obs]),
                                  name).mean())
        R_random = float(evaluate(rand, name).mean())
        target = R_random + THRESHOLD * (R_expert - R_random)
        n_max = max(args.n_trajectories)
        demos = record_demos(name, expert, n_max)
        random_demos = record_demos(name, lambda o, f=rand: f(np.asarray(o)[None])[0], n_max)
        print(f"{name}: expert {R_expert:.1f}, random {R_random:.1f}, 90% target {target:.1f}",
              flush=True)
        table += [f"| {name} | expert | scripted | - | 1.00 | - | {R_expert:.1f} | - | - | - "
                  "| - |",
                  f"| {name} | random | uniform | - | 0.00 | - | {R_random:.1f} | - | - | - "
                  "| - |"]
        rows, tasks = [], []
        for algo in args.algos:
            variants = [("BC", demos, "expert")] if algo == "bc" else [
                ("GAIL", demos, "expert"), ("GAIL (random demos)", random_demos, "random")]
            for label, source, key in variants:
                for k in (args.n_trajectories if key == "expert" else [n_max]):
                    for seed in args.seeds:
                        task = {"algo": label, "n_traj": k, "seed": seed, "demo_key": key}
                        if "sklirl" in args.libraries:
                            if label == "BC":
                                res = sklirl_bc(name, source[:k], seed, target)
                            else:
                                res = sklirl_gail(name, source[:k], seed, target,
                                                  args.gail_steps, args.eval_every)
                            rows.append({**task, "library": "sklirl", **res})
                            print("  " + json.dumps({k_: v for k_, v in rows[-1].items()
                                                     if k_ != "curve"}), flush=True)
                        tasks.append(task)
        if "imitation" in args.libraries and tasks:
            arrays = {}
            for key, source in (("expert", demos), ("random", random_demos)):
                for i, (s, a) in enumerate(source):
                    arrays[f"{key}_s{i}"], arrays[f"{key}_a{i}"] = s, a
            for res in run_imitation(args, name, tasks, arrays, target):
                rows.append({**res, "library": "imitation"})
                print("  " + json.dumps({k_: v for k_, v in rows[-1].items() if k_ != "curve"}),
                      flush=True)
        rows.sort(key=lambda r: (r["algo"], r["library"] != "sklirl", r["n_traj"]))
        table += summarise(rows, name, R_expert, R_random)
        everything[name] = {"expert": R_expert, "random": R_random, "runs": rows}
    print()
    print("\n".join(table))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(everything, f)


if __name__ == "__main__":
    main()
