"""The five-minute tour: ``python -m sklirl.quickstart``.

Builds a GridWorld with a known reward, samples demonstrations from its soft-optimal
expert, fits :class:`~sklirl.MaxMarginIRL`, :class:`~sklirl.MaxEntIRL` and
:class:`~sklirl.GAIL` (tabular), prints one row per estimator and writes a figure with the
true and the recovered rewards side by side (``quickstart_rewards.png``).

The columns of the table:

``fit s``
    Wall-clock seconds of ``fit``.
``EVD reward``
    Expected value difference (Levine et al. 2011) of the greedy policy of the recovered
    reward: ``V*(true) - V^{pi_hat}(true)``, 0 when the recovered reward induces an optimal
    policy.
``EVD policy``
    The same for the estimator's own policy (``policy_``): what an imitator achieves.
``feature gap``
    ``||rho_E - rho_pi||_2`` between the demos' discounted state-visitation counts and those
    of the learned policy over the same horizon (one-hot state features).
``held-out LL``
    Mean per-step log-likelihood (``score``) of held-out expert demonstrations (MaxMarginIRL
    scores under a smoothed version of its mixture of deterministic policies, so it stays
    finite). Should an estimator's score be ``-inf`` (its policy gives probability 0 to some
    expert action), the table says so in a footnote.

The ``expert`` and ``uniform`` rows are references: the policy that generated the demos and
a uniformly random one.
"""

from __future__ import annotations

import argparse
import importlib
import numbers
import sys
import time

import numpy as np

from .datasets import make_expert_demos
from .envs import GridWorld, TabularMDP
from .expectations import feature_expectations, occupancy_feature_expectations, occupancy_measure
from .metrics import expected_value_difference, log_likelihood

__all__ = ["quickstart_reward", "run_quickstart", "format_table", "main"]

ESTIMATORS = ("MaxMarginIRL", "MaxEntIRL", "GAIL")
_MODULES = {
    "MaxMarginIRL": "sklirl.irl._max_margin",
    "MaxEntIRL": "sklirl.irl._max_ent",
    "GAIL": "sklirl.irl._gail",
}
# Settings that keep the whole quickstart under a minute on 2 cores (GAIL's defaults are
# for harder problems: 200 rounds with a (64, 64) discriminator).
QUICKSTART_PARAMS = {
    "MaxMarginIRL": {"epsilon": 0.1},  # the demos' sampling noise is larger than 1e-3
    "MaxEntIRL": {},
    "GAIL": {"max_iter": 40, "hidden_layer_sizes": (32,), "disc_learning_rate": 1e-2},
}
COLUMNS = ("estimator", "fit s", "EVD reward", "EVD policy", "feature gap", "held-out LL")
# Why a held-out log-likelihood can be -inf, for estimators where it is expected (none now:
# MaxMarginIRL scores under a smoothed mixture).
_INF_REASONS: dict = {}


def quickstart_reward(size):
    """The quickstart's ground-truth reward on a ``size x size`` grid.

    A goal worth +5 in the bottom-right corner, a smaller goal worth +2.5 in the top-right
    corner, a wall of -5 cells down the middle column with a gap at the bottom, and 0
    elsewhere. The scale makes the soft-optimal (temperature 1) expert decisive.

    Parameters
    ----------
    size : int
        Side of the grid, at least 4.

    Returns
    -------
    reward : ndarray of shape (size * size,)

    Examples
    --------
    >>> from sklirl.quickstart import quickstart_reward
    >>> quickstart_reward(4).reshape(4, 4)
    array([[ 0. ,  0. , -5. ,  2.5],
           [ 0. ,  0. , -5. ,  0. ],
           [ 0. ,  0. ,  0. ,  0. ],
           [ 0. ,  0. ,  0. ,  5. ]])
    """
    if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 4:
        raise ValueError(f"size must be an int >= 4, got {size!r}.")
    grid = np.zeros((size, size))
    grid[: size - 2, size // 2] = -5.0
    grid[0, -1] = 2.5
    grid[-1, -1] = 5.0
    return grid.ravel()


def _make_estimator(name, seed):
    module = importlib.import_module(_MODULES[name])
    est = getattr(module, name)(**QUICKSTART_PARAMS[name])
    if "random_state" in est.get_params():
        est.set_params(random_state=seed)
    return est


def _horizon_copy(env, horizon):
    """The env with a finite horizon, to compare a policy with demos of that length."""
    return TabularMDP(
        env.transition_matrix, initial_state_distribution=env.initial_state_distribution,
        gamma=env.gamma, horizon=horizon, n_actions=env.n_actions,
    )


def _policy_row(name, env, policy, rho_expert, env_h, test_demos, seconds=None, reward=None):
    phi = np.eye(env.n_states)
    rho = occupancy_feature_expectations(occupancy_measure(env_h, policy), phi)
    return {
        "estimator": name,
        "fit s": seconds,
        "EVD reward": None if reward is None else
        expected_value_difference(env, learned_reward=reward),
        "EVD policy": expected_value_difference(env, policy=policy),
        "feature gap": float(np.linalg.norm(rho_expert - rho)),
        "held-out LL": log_likelihood(policy, test_demos),
    }


def run_quickstart(size=8, n_demos=64, n_test=32, horizon=25, slip=0.1, gamma=0.9,
                   seed=0, estimators=ESTIMATORS, output="quickstart_rewards.png",
                   verbose=True):
    """Fit the three estimators on a GridWorld and tabulate how well they recover the expert.

    Parameters
    ----------
    size : int, default=8
        Side of the grid (``size * size`` states).
    n_demos : int, default=64
        Training demonstrations.
    n_test : int, default=32
        Held-out demonstrations for the log-likelihood column.
    horizon : int, default=25
        Steps per demonstration.
    slip : float, default=0.1
        Probability of a random move.
    gamma : float, default=0.9
        Discount factor.
    seed : int, default=0
        Seeds the demonstrations and the estimators.
    estimators : sequence of str or dict of str to estimator, default=ESTIMATORS
        Names among ``"MaxMarginIRL"``, ``"MaxEntIRL"``, ``"GAIL"`` (built with
        :data:`QUICKSTART_PARAMS` and ``random_state=seed``), or ready estimators by name.
        A named estimator whose optional dependency is missing gets a row with the reason
        instead of numbers.
    output : str or path-like or None, default="quickstart_rewards.png"
        Where to write the figure (needs matplotlib); None writes nothing.
    verbose : bool, default=True
        Print progress and the table.

    Returns
    -------
    rows : list of dict
        One per reference policy and estimator, keyed by :data:`COLUMNS`; a skipped
        estimator's row has ``"skipped"`` (the reason) and None values.

    Examples
    --------
    >>> from sklirl.quickstart import run_quickstart
    >>> rows = run_quickstart(size=4, n_demos=8, n_test=4, horizon=8, estimators=(),
    ...                       output=None, verbose=False)
    >>> [row["estimator"] for row in rows], rows[0]["EVD policy"] < rows[1]["EVD policy"]
    (['expert', 'uniform'], True)
    """
    env = GridWorld(size=size, slip=slip, gamma=gamma, reward=quickstart_reward(size))
    for name, value in (("n_demos", n_demos), ("n_test", n_test), ("horizon", horizon)):
        if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}.")
    demos, expert = make_expert_demos(env, n_demos + n_test, horizon=horizon, random_state=seed)
    train, test = demos[:n_demos], demos[n_demos:]
    env_h = _horizon_copy(env, horizon)
    rho_expert = feature_expectations(train, np.eye(env.n_states), env=env_h)
    uniform = np.full((env.n_states, env.n_actions), 1.0 / env.n_actions)
    rows = [
        _policy_row("expert", env, expert, rho_expert, env_h, test, reward=env.reward),
        _policy_row("uniform", env, uniform, rho_expert, env_h, test),
    ]
    if isinstance(estimators, dict):
        named = dict(estimators)
    else:
        named = {}
        for name in estimators:
            if name not in _MODULES:
                raise ValueError(f"unknown estimator {name!r}; choose from {ESTIMATORS}.")
            try:
                named[name] = _make_estimator(name, seed)
            except ImportError as exc:
                named[name] = exc
    fitted = {}
    for name, est in named.items():
        if isinstance(est, ImportError):
            rows.append({"estimator": name, "skipped": str(est),
                         **{c: None for c in COLUMNS[1:]}})
            if verbose:
                print(f"skipping {name}: {est}", file=sys.stderr)
            continue
        if verbose:
            print(f"fitting {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        est.fit(train, env)
        seconds = time.perf_counter() - start
        row = _policy_row(name, env, est.policy_, rho_expert, env_h, test, seconds=seconds,
                          reward=getattr(est, "reward_", None))
        row["held-out LL"] = float(est.score(test))
        rows.append(row)
        fitted[name] = est
    if verbose:
        print(format_table(rows))
    if output is not None:
        _write_figure(env, expert, fitted, output)
        if verbose:
            print(f"wrote {output}")
    return rows


def _write_figure(env, expert, fitted, output):
    from .plotting import plot_policy, plot_reward_comparison
    from .utils._optional import import_optional

    plt = import_optional("matplotlib.pyplot", "sklirl.quickstart", "plot")
    rewards = {"true reward": env.reward}
    policies = [expert]
    for name, est in fitted.items():
        if getattr(est, "reward_", None) is not None:
            rewards[name] = est.reward_
            policies.append(est.policy_)
    fig = plot_reward_comparison(env, rewards)
    for ax, policy in zip([a for a in fig.axes if a.images], policies):
        plot_policy(env, policy, ax=ax, color="white")
    fig.suptitle("Rewards (standardised) and policies: expert, then the recovered ones")
    fig.savefig(output, dpi=100)
    plt.close(fig)


def format_table(rows):
    """The quickstart's results as a fixed-width text table.

    Parameters
    ----------
    rows : list of dict
        As returned by :func:`run_quickstart`.

    Returns
    -------
    table : str
        The header, one line per row and, when some held-out log-likelihood is ``-inf``, a
        footnote explaining it.

    Examples
    --------
    >>> from sklirl.quickstart import format_table
    >>> print(format_table([{"estimator": "expert", "fit s": None, "EVD reward": 0.0,
    ...                      "EVD policy": 0.5, "feature gap": 0.25, "held-out LL": -1.0}]))
    estimator     fit s  EVD reward  EVD policy  feature gap  held-out LL
    ------------  -----  ----------  ----------  -----------  -----------
    expert            -       0.000       0.500        0.250       -1.000
    >>> print(format_table([{"estimator": "MyIRL", "fit s": 0.1, "EVD reward": 1.0,
    ...                      "EVD policy": 2.0, "feature gap": 0.5,
    ...                      "held-out LL": float("-inf")}]).splitlines()[-1])
    -inf LL: MyIRL gives some held-out expert actions probability 0.
    """
    widths = [12] + [max(len(c), 5) for c in COLUMNS[1:]]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                       for i, (c, w) in enumerate(zip(COLUMNS, widths))),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        if row.get("skipped"):
            lines.append(f"{row['estimator']:<12}  skipped: {row['skipped']}")
            continue
        cells = [str(row["estimator"]).ljust(widths[0])]
        for col, w in zip(COLUMNS[1:], widths[1:]):
            value = row.get(col)
            fmt = "{:.2f}" if col == "fit s" else "{:.3f}"  # fits of 0.04 s are not "0.0"
            cells.append(("-" if value is None else fmt.format(value)).rjust(w))
        lines.append("  ".join(cells))
    infinite = [row["estimator"] for row in rows if row.get("held-out LL") == -np.inf]
    if infinite:
        reasons = [_INF_REASONS.get(
            name, f"{name} gives some held-out expert actions probability 0.") for name in infinite]
        lines.append("-inf LL: " + " ".join(reasons))
    return "\n".join(lines)


def main(argv=None):
    """Command-line entry point of ``python -m sklirl.quickstart``.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments (``sys.argv[1:]`` when None); ``--help`` lists them.

    Returns
    -------
    rows : list of dict
        The table, as returned by :func:`run_quickstart`.

    Examples
    --------
    >>> from sklirl.quickstart import main
    >>> rows = main(["--size", "4", "--n-demos", "8", "--n-test", "4", "--horizon", "6",
    ...              "--estimators", "MaxEntIRL", "--no-plot"])
    estimator ...
    ...
    MaxEntIRL ...
    >>> [row["estimator"] for row in rows]
    ['expert', 'uniform', 'MaxEntIRL']
    """
    parser = argparse.ArgumentParser(
        prog="python -m sklirl.quickstart",
        description="Fit MaxMarginIRL, MaxEntIRL and GAIL on a GridWorld, print a results "
        "table and write the true and recovered rewards side by side.",
    )
    parser.add_argument("--output", default="quickstart_rewards.png",
                        help="figure path (default: %(default)s)")
    parser.add_argument("--no-plot", action="store_true", help="do not write the figure")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--size", type=int, default=8, help="grid side (default: 8)")
    parser.add_argument("--n-demos", type=int, default=64,
                        help="training demonstrations (default: 64)")
    parser.add_argument("--n-test", type=int, default=32,
                        help="held-out demonstrations (default: 32)")
    parser.add_argument("--horizon", type=int, default=25,
                        help="steps per demonstration (default: 25)")
    parser.add_argument("--estimators", nargs="+", default=list(ESTIMATORS),
                        choices=ESTIMATORS, help="which estimators to fit (default: all)")
    args = parser.parse_args(argv)
    print(
        f"GridWorld {args.size}x{args.size}, {args.n_demos} expert demos of "
        f"{args.horizon} steps (+{args.n_test} held out), seed {args.seed}",
        file=sys.stderr,
    )
    return run_quickstart(
        size=args.size, n_demos=args.n_demos, n_test=args.n_test, horizon=args.horizon,
        seed=args.seed, estimators=tuple(args.estimators),
        output=None if args.no_plot else args.output,
    )


if __name__ == "__main__":
    main()
