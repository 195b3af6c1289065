"""GAIL on gymnasium envs whose episodes terminate: the absorbing state and the reward form.

Measures the table of the user guide (section "Episodes that end: the absorbing state and the
reward form" of docs/user_guide/estimators.rst)::

    python benchmarks/bench_gail_terminations.py cartpole-random [before]
    python benchmarks/bench_gail_terminations.py cartpole-expert [before]
    python benchmarks/bench_gail_terminations.py mountaincar [before]

``before`` turns the absorbing state off and uses the ``"-log D"`` reward (the library's
behaviour before the absorbing state). Each run is GAIL at its defaults, seed 0.
"""

import sys
import time

import gymnasium
import numpy as np

from sklirl import GAIL
from sklirl.datasets import record_episodes


def _demos(task):
    if task == "cartpole-random":
        env, rng = gymnasium.make("CartPole-v1"), np.random.default_rng(0)
        return env, record_episodes(env, lambda o: int(rng.integers(2)), 20, random_state=0), 49
    if task == "cartpole-expert":
        env = gymnasium.make("CartPole-v1")
        return env, record_episodes(env, lambda o: int(o[2] + 0.5 * o[3] > 0), 20,
                                    random_state=0), 49
    env = gymnasium.make("MountainCar-v0")
    return env, record_episodes(env, lambda o: 2 if o[1] >= 0 else 0, 20, random_state=0), 245


def main(task, before=False):
    env, demos, rounds = _demos(task)
    print(f"{task}: {len(demos)} demos, mean length {np.mean([len(d) for d in demos]):.1f}, "
          f"{sum(d.terminal for d in demos)} terminated", flush=True)
    params = {}
    if before:
        GAIL._absorbing = False
        params["reward_form"] = "-log D"
    start = time.perf_counter()
    gail = GAIL(max_iter=rounds, random_state=0, **params).fit(demos, env)
    n_episodes = 100 if task == "mountaincar" else 20
    returns = gail.policy_.evaluate(env.spec.id, n_episodes=n_episodes, random_state=1)
    print(f"{'before' if before else 'default'}: {gail.history_['env_steps'][-1]} env steps, "
          f"mean return {returns.mean():.2f}, episodes ending before the time limit "
          f"{np.mean(returns > -200) if task == 'mountaincar' else ''}, "
          f"{time.perf_counter() - start:.0f} s", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], before=len(sys.argv) > 2 and sys.argv[2] == "before")
