"""MaxEnt IRL: sklirl.MaxEntIRL vs imitation's MCEIRL, side by side in one process.

Same gridworlds, same demos, same expert occupancy for both libraries; each runs to its own
convergence criterion (imitation: ``linf_eps=1e-3`` on the state occupancy or
``grad_l2_eps=1e-4`` on the reward gradient, Adam with lr 1e-2; sklirl: L-BFGS with ``tol`` set
to the same thresholds in its mass-normalised units), or until a per-run wall-time budget.

Envs: deterministic ``side x side`` GridWorlds (S = 64, 256, 1024, 4096), finite horizon
H = 2 * side, gamma = 1, start in the top-left cell, true reward ``phi_bin @ w_true`` on 8
random binary features. Feature sets: one-hot states and the 8 binary features. Demos: 50
sampled from the soft-optimal expert, or the expert's exact occupancy. Reported per run: wall
time, iterations, final feature gap ``||rho_pi - rho_E||_inf`` (unnormalised) in sklirl's
convention (visits at t < H, which sklirl matches) and in imitation's (t <= H, the final state
included, which MCEIRL matches), and EVD under the true reward (greedy policy of the learned
reward).
Optionally (``--large``) sklirl alone on a 316 x 316 discounted grid (S ~ 10^5, sparse).

Run in the benchmark venv (imitation is never a sklirl requirement)::

    /work/bench-venv/bin/python benchmarks/bench_maxent.py               # full table
    /work/bench-venv/bin/python benchmarks/bench_maxent.py --sizes 64 256 --budget 30
"""

from __future__ import annotations

import argparse
import time
import warnings
from functools import partial

import numpy as np

from sklirl import MaxEntIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld, TabularMDP
from sklirl.expectations import empirical_occupancy, occupancy_measure
from sklirl.metrics import expected_value_difference
from sklirl.solvers import SoftValueIteration, TabularPolicy

N_DEMOS = 50
IMITATION_LINF_EPS = 1e-3
IMITATION_GRAD_EPS = 1e-4


def make_world(side, seed=0):
    rng = np.random.RandomState(seed)
    S = side * side
    phi_bin = (rng.random_sample((S, 8)) < 0.3).astype(np.float64)
    w_true = rng.randn(8)
    mu0 = np.zeros(S)
    mu0[0] = 1.0
    env = GridWorld(side, slip=0.0, gamma=1.0, horizon=2 * side, reward=phi_bin @ w_true,
                    initial_state_distribution=mu0)
    return env, phi_bin


def feature_matrix(kind, env, phi_bin):
    return np.eye(env.n_states) if kind == "onehot" else phi_bin


def feature_gap(env, policy_probs, d_E, phi):
    d_pi = occupancy_measure(env, policy_probs).sum(axis=1)
    return float(np.abs(phi.T @ (d_pi - d_E)).max())


def with_final_state(env, probs):
    """imitation's convention counts the state reached at t = H too: the visitation of an env
    one step longer, the extra step's action being irrelevant to the states visited."""
    longer = TabularMDP(env.transition_matrix, n_actions=env.n_actions, gamma=1.0,
                        horizon=env.horizon + 1,
                        initial_state_distribution=env.initial_state_distribution)
    padded = np.concatenate([probs, np.full((1,) + probs.shape[1:], 1.0 / env.n_actions)])
    return occupancy_measure(longer, padded).sum(axis=1)


def demo_visitation_with_final(demos, n_states):
    counts = np.bincount(np.concatenate([d.states for d in demos]), minlength=n_states)
    return counts / len(demos)


# -- sklirl ------------------------------------------------------------------------------
def run_sklirl(env, phi_bin, kind, demos, d_E):
    from sklearn.preprocessing import FunctionTransformer

    H = env.horizon
    features = None if kind == "onehot" else FunctionTransformer(lambda X: phi_bin)
    # imitation's thresholds, in sklirl's mass-normalised units (gradient / H)
    tol = (IMITATION_LINF_EPS if kind == "onehot" else IMITATION_GRAD_EPS) / H
    est = MaxEntIRL(features, l2=0.0, tol=tol, max_iter=1000)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if demos is None:
            est.fit_occupancy(d_E, env)
        else:
            est.fit(demos, env)
    wall = time.perf_counter() - t0
    reward = est.reward_[:, 0]
    # (seconds since the start, unnormalised feature gap) after each iteration
    trace = (est.history_["time"], est.history_["gap"] * H)
    return wall, est.n_iter_, est.policy_.probs, reward, True, trace


# -- imitation ----------------------------------------------------------------------------
LEARNING_RATES = (1e-2, 1e-1, 1.0)


def run_imitation(env, phi_bin, kind, demos, budget, lr=1e-2):
    """imitation's MCEIRL at Adam learning rate ``lr``, in ONE ``train()`` call.

    The budget is enforced by a per-iteration callback (a wrapper of ``_train_step``) that
    records ``(seconds, gap)`` and, once the budget is spent, sets ``linf_eps`` to infinity so
    that ``train`` stops at its own termination check; ``train`` then computes its policy once,
    as in a normal run. (Calling ``train(max_iter=k)`` repeatedly would add that full backward
    pass per call.) The callback's own time is excluded from the reported times.
    """
    import torch as th
    from imitation.algorithms.mce_irl import MCEIRL, mce_occupancy_measures, mce_partition_fh
    from imitation.data import types
    from imitation.rewards.reward_nets import BasicRewardNet
    from seals.base_envs import TabularModelPOMDP

    obs = feature_matrix(kind, env, phi_bin).astype(np.float32)
    ienv = TabularModelPOMDP(
        transition_matrix=env.to_dense(), observation_matrix=obs,
        reward_matrix=np.asarray(env.reward, dtype=np.float64), horizon=env.horizon,
        initial_state_dist=np.asarray(env.initial_state_distribution),
    )
    if demos is None:  # the expert's exact occupancy in imitation's own convention
        _, _, pi = mce_partition_fh(ienv)
        _, demo_input = mce_occupancy_measures(ienv, pi=pi)
    else:
        demo_input = [
            types.Trajectory(obs=np.asarray(d.states), acts=np.asarray(d.actions), infos=None,
                             terminal=True)
            for d in demos
        ]
    th.manual_seed(0)
    net = BasicRewardNet(ienv.observation_space, ienv.action_space, use_action=False,
                         use_next_state=False, use_done=False, hid_sizes=[])
    mce = MCEIRL(demo_input, ienv, net, rng=np.random.default_rng(0), discount=1.0,
                 linf_eps=IMITATION_LINF_EPS, grad_l2_eps=IMITATION_GRAD_EPS, log_interval=None,
                 optimizer_kwargs={"lr": lr})
    phi = feature_matrix(kind, env, phi_bin)
    step = mce._train_step
    state = {"n": 0, "overhead": 0.0, "times": [], "gaps": [], "linf": [], "grad": []}

    def train_step_with_callback(obs_mat):
        out = step(obs_mat)
        c0 = time.perf_counter()
        state["n"] += 1
        _, visitations = out
        grad = float(np.sqrt(sum(float((p.grad ** 2).sum()) for p in net.parameters())))
        state["times"].append(c0 - t0 - state["overhead"])
        # the gap in imitation's convention (it matches visits at t <= H)
        state["gaps"].append(float(np.abs(phi.T @ (visitations - mce.demo_state_om)).max()))
        state["linf"].append(float(np.max(np.abs(mce.demo_state_om - visitations))))
        state["grad"].append(grad)
        if c0 - t0 - state["overhead"] > budget:
            mce.linf_eps = np.inf  # the budget: train() stops at its own check
        state["overhead"] += time.perf_counter() - c0
        return out

    mce._train_step = train_step_with_callback
    t0 = time.perf_counter()
    mce.train(max_iter=1000)
    wall = time.perf_counter() - t0 - state["overhead"]
    converged = bool(state["linf"]) and (
        state["linf"][-1] <= IMITATION_LINF_EPS or state["grad"][-1] <= IMITATION_GRAD_EPS)
    with th.no_grad():
        reward = net(th.as_tensor(obs), None, None, None).numpy().astype(np.float64).ravel()
    pi = np.asarray(mce.policy.pi, dtype=np.float64)
    return wall, state["n"], pi, reward, converged, (state["times"], state["gaps"])


def time_to_gap(trace, gap):
    """Seconds a fit took to first reach a feature gap <= ``gap`` (NaN if never)."""
    times, gaps = trace
    reached = np.flatnonzero(np.asarray(gaps) <= gap * (1 + 1e-6))
    return float(times[reached[0]]) if len(reached) else float("nan")


def best_run(runs):
    """The best imitation run of a learning-rate sweep: the fastest converged one, else the
    one with the smallest final gap (in its own convention)."""
    converged = [r for r in runs if r["conv"]]
    if converged:
        return min(converged, key=lambda r: r["wall"])
    return min(runs, key=lambda r: r["gap_final"])


def compare(sk, im):
    """The fair ratio line: time to convergence where both converge, else time to the gap
    both reached (the larger of the two final gaps, each library in its own convention)."""
    label = f"best imitation (lr={im['lr']:g})"
    if sk["conv"] and im["conv"]:
        return (f"{label} converges in {im['wall']:.2f} s, sklirl in {sk['wall']:.2f} s: "
                f"{im['wall'] / sk['wall']:.1f}x (time to convergence)")
    target = max(sk["gap"], im["gap_final"])
    t_sk, t_im = time_to_gap(sk["trace"], target), time_to_gap(im["trace"], target)
    return (f"{label} does not converge; both reach gap {target:.2e}: imitation in "
            f"{t_im:.2f} s, sklirl in {t_sk:.3f} s: {t_im / t_sk:.1f}x (time to equal gap)")


# -- the table ------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256, 1024, 4096])
    parser.add_argument("--features", nargs="+", default=["onehot", "binary"])
    parser.add_argument("--demos", nargs="+", default=["sampled", "exact"])
    parser.add_argument("--budget", type=float, default=120.0,
                        help="wall-time budget (s) per imitation run")
    parser.add_argument("--lrs", type=float, nargs="+", default=list(LEARNING_RATES),
                        help="imitation's Adam learning rates (the best run is compared)")
    parser.add_argument("--no-imitation", action="store_true")
    parser.add_argument("--large", action="store_true", help="also sklirl at S ~ 10^5")
    parser.add_argument("--large-side", type=int, default=316,
                        help="side of the --large grid (1000: S = 10^6)")
    parser.add_argument("--profile", action="store_true", help="profile the --large fit")
    args = parser.parse_args()

    header = (f"{'S':>6} {'features':>8} {'demos':>7} | {'library':>14} {'time (s)':>9} "
              f"{'iters':>6} {'conv':>4} {'gap':>10} {'gap t<=H':>10} {'EVD':>9}")
    print(header)
    print("-" * len(header))
    for S in args.sizes:
        side = int(round(np.sqrt(S)))
        env, phi_bin = make_world(side)
        expert = SoftValueIteration().solve(env, env.reward)
        sampled, _ = make_expert_demos(env, N_DEMOS, random_state=0)
        d_exact = occupancy_measure(env, expert).sum(axis=1)
        d_sampled = empirical_occupancy(sampled, env.n_states, env.n_actions, 1.0).sum(axis=1)
        d_final = {"sampled": demo_visitation_with_final(sampled, env.n_states),
                   "exact": with_final_state(env, expert.probs)}
        for kind in args.features:
            phi = feature_matrix(kind, env, phi_bin)
            for demo_kind in args.demos:
                demos = sampled if demo_kind == "sampled" else None
                d_E = d_sampled if demo_kind == "sampled" else d_exact
                runs = [("sklirl", None, partial(run_sklirl, env, phi_bin, kind, demos, d_E))]
                if not args.no_imitation:
                    runs += [(f"imit lr={lr:g}", lr, partial(
                        run_imitation, env, phi_bin, kind, demos, args.budget, lr))
                        for lr in args.lrs]
                results = []
                for name, lr, run in runs:
                    wall, n_iter, pi, reward, conv, trace = run()
                    gap = feature_gap(env, TabularPolicy(pi[: env.horizon]), d_E, phi)
                    d_pi_final = with_final_state(env, pi[: env.horizon])
                    gap_final = float(np.abs(phi.T @ (d_pi_final - d_final[demo_kind])).max())
                    evd = expected_value_difference(env, learned_reward=reward)
                    results.append({"name": name, "lr": lr, "wall": wall, "gap": gap,
                                    "gap_final": gap_final, "trace": trace, "conv": conv})
                    print(f"{S:>6} {kind:>8} {demo_kind:>7} | {name:>14} {wall:>9.3f} "
                          f"{n_iter:>6} {'yes' if conv else 'no':>4} {gap:>10.2e} "
                          f"{gap_final:>10.2e} {evd:>9.4f}",
                          flush=True)
                if len(results) > 1:
                    print(f"{'':>24}   {compare(results[0], best_run(results[1:]))}",
                          flush=True)
    if args.large:
        run_large(args.large_side, profile=args.profile)


def run_large(side=316, gamma=0.95, profile=False):
    """sklirl alone on a discounted sparse ``side x side`` grid: time, peak memory (the
    process's maximum resident set over its value before the fit) and, with ``profile``, the
    functions that take the time."""
    import cProfile
    import pstats
    import resource

    from sklearn.preprocessing import FunctionTransformer

    rng = np.random.RandomState(0)
    S = side * side
    t0 = time.perf_counter()
    phi_bin = (rng.random_sample((S, 8)) < 0.3).astype(np.float64)
    env = GridWorld(side, slip=0.1, gamma=gamma, reward=phi_bin @ rng.randn(8))
    demos, _ = make_expert_demos(env, N_DEMOS, horizon=100, random_state=0)
    setup = time.perf_counter() - t0
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    est = MaxEntIRL(FunctionTransformer(lambda X: phi_bin), l2=0.0, tol=1e-6)
    profiler = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if profiler:
        profiler.enable()
    est.fit(demos, env)
    if profiler:
        profiler.disable()
    wall = time.perf_counter() - t0
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nS = {S} (discounted gamma={gamma}, slip 0.1, sparse), 8 binary features, "
          f"{N_DEMOS} demos of 100 steps: sklirl {wall:.1f} s ({est.n_iter_} iterations, "
          f"final normalised gap {est.history_['gap'][-1]:.2e}); env + demos {setup:.1f} s; "
          f"peak RSS {rss1:.0f} MiB ({rss0:.0f} MiB before the fit)")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
