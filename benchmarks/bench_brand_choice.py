"""Household brand choice (Ecdat scanner panels): held-out log-likelihood per choice.

Data: :func:`sklirl.datasets.load_brand_choice` (the ``datasets`` extra). The problem is
:func:`sklirl.datasets.make_brand_choice_mdp`: state = last brand bought x shelf context
(promotions and below-median prices), action = brand, state-action features = brand dummies,
price, promotion, loyalty (``1{brand = last brand}``). Households are held out
(``GroupKFold``, 5 folds); every row is scored by the mean log-probability of the held-out
choices. Rows:

- BC: the empirical choice frequencies of each state (add-one smoothing).
- conditional logit: ``P(a | s) ∝ exp(w . x(s, a))`` fitted with ``scipy.optimize`` (BFGS),
  written here independently of sklirl.
- MaxEnt, horizon 1: :class:`sklirl.MaxEntIRL` with ``reward_input="state_action"`` on the
  one-step problem; it is the conditional logit (coefficients reported side by side).
- MaxEnt, gamma by CV: the forward-looking (dynamic discrete choice) model: soft-optimal
  policy of ``r(s, a) = w . x(s, a)`` with the discounted value of the next state (the chosen
  brand becomes the last brand; the next context follows the estimated context chain). Fitted
  on every suffix of each training household's purchases (each choice starts a discounted
  visitation, so gamma = 0 is the logit again); gamma picked from ``--gammas`` by held-out
  log-likelihood in an inner 3-fold ``GroupKFold`` on the training households.

::

    OMP_NUM_THREADS=1 python benchmarks/bench_brand_choice.py                 # yogurt
    OMP_NUM_THREADS=1 python benchmarks/bench_brand_choice.py --data catsup cracker
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.optimize
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GroupKFold
from sklearn.preprocessing import FunctionTransformer

from sklirl import MaxEntIRL, Trajectory
from sklirl.datasets import load_brand_choice, make_brand_choice_mdp
from sklirl.envs import TabularMDP


def fit_logit(X, states, actions):
    """The conditional logit by maximum likelihood (independent of sklirl)."""
    Xs = X[states]                                        # (n, A, d)
    n = len(states)

    def nll(w):
        u = Xs @ w
        lse = logsumexp(u, axis=1)
        p = np.exp(u - lse[:, None])
        grad = np.einsum("na,nad->d", p, Xs) - Xs[np.arange(n), actions].sum(axis=0)
        return (lse.sum() - u[np.arange(n), actions].sum()) / n, grad / n

    res = scipy.optimize.minimize(nll, np.zeros(X.shape[2]), jac=True, method="BFGS",
                                  options={"gtol": 1e-9, "maxiter": 1000})
    return res.x


def logit_ll(X, w, states, actions):
    u = X[states] @ w
    return float(np.mean(u[np.arange(len(states)), actions] - logsumexp(u, axis=1)))


def bc_ll(S, A, train_s, train_a, test_s, test_a):
    counts = np.ones((S, A))
    np.add.at(counts, (train_s, train_a), 1.0)
    probs = counts / counts.sum(axis=1, keepdims=True)
    return float(np.mean(np.log(probs[test_s, test_a])))


def one_step(states, actions):
    return [Trajectory([s], [a]) for s, a in zip(states, actions)]


def suffixes(demos):
    return [Trajectory(t.states[k:], t.actions[k:]) for t in demos for k in range(len(t))]


def with_gamma(env, gamma=None, horizon=None):
    return TabularMDP(env.transition_matrix, gamma=1.0 if horizon else gamma, horizon=horizon,
                      n_actions=env.n_actions,
                      state_action_features=env.state_action_features)


def maxent(env, demos):
    est = MaxEntIRL(FunctionTransformer(), reward_input="state_action", l2=0.0, tol=1e-7,
                    initial_distribution="demos", max_iter=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(demos, env)


def fit_dynamic(problem, train_h, gammas):
    """Pick gamma by inner GroupKFold held-out LL, refit on all of train_h."""
    by_h = {h: t for h, t in zip(problem.households, problem.demos)}
    train = [by_h[h] for h in train_h]
    scores = np.zeros(len(gammas))
    inner = GroupKFold(3)
    for i, g in enumerate(gammas):
        env = with_gamma(problem.env, g)
        for fit_idx, val_idx in inner.split(train, groups=train_h):
            est = maxent(env, suffixes([train[j] for j in fit_idx]))
            val = [train[j] for j in val_idx]
            steps = sum(len(t) for t in val)
            scores[i] += est.score(val) * steps
    best = gammas[int(np.argmax(scores))]
    return best, maxent(with_gamma(problem.env, best), suffixes(train))


def run(name, gammas, n_splits=5):
    data = load_brand_choice(name)
    problem = make_brand_choice_mdp(data)
    env, X = problem.env, problem.env.state_action_features
    S, A = env.n_states, env.n_actions
    s_all, a_all, h_all = problem.states, problem.actions, data.household
    env1 = with_gamma(env, horizon=1)
    rows = {k: [] for k in ("BC (choice frequencies per state)", "conditional logit (scipy)",
                            "MaxEnt, horizon 1", "MaxEnt, gamma by CV")}
    chosen, max_diff = [], 0.0
    start = time.perf_counter()
    for train, test in GroupKFold(n_splits).split(s_all, groups=h_all):
        ts, ta, vs, va = s_all[train], a_all[train], s_all[test], a_all[test]
        rows["BC (choice frequencies per state)"].append(bc_ll(S, A, ts, ta, vs, va))
        w = fit_logit(X, ts, ta)
        rows["conditional logit (scipy)"].append(logit_ll(X, w, vs, va))
        static = maxent(env1, one_step(ts, ta))
        max_diff = max(max_diff, float(np.abs(static.coef_ - w).max()))
        rows["MaxEnt, horizon 1"].append(static.score(one_step(vs, va)))
        gamma, dynamic = fit_dynamic(problem, np.unique(h_all[train]), gammas)
        chosen.append(gamma)
        rows["MaxEnt, gamma by CV"].append(dynamic.score(one_step(vs, va)))
    seconds = time.perf_counter() - start
    # coefficients on all households
    w = fit_logit(X, s_all, a_all)
    gamma_all, dynamic = fit_dynamic(problem, np.unique(h_all), gammas)
    print(f"\n### {name}: {len(s_all)} choices, {len(np.unique(h_all))} households, "
          f"S = {S}, {n_splits}-fold GroupKFold by household ({seconds:.0f} s)\n")
    print("| model | held-out LL per choice (mean ± sd over folds) |")
    print("|---|---|")
    for model, values in rows.items():
        print(f"| {model} | {np.mean(values):.4f} ± {np.std(values):.4f} |")
    print(f"\ngamma chosen per fold: {chosen}; max |MaxEnt(H=1) - logit| coefficient "
          f"difference over folds: {max_diff:.1e}\n")
    print(f"| feature | conditional logit | MaxEnt, gamma = {gamma_all} |")
    print("|---|---|---|")
    for f, a, b in zip(problem.feature_names, w, dynamic.coef_):
        print(f"| {f} | {a:.3f} | {b:.3f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["yogurt"],
                        choices=["yogurt", "catsup", "cracker"])
    parser.add_argument("--gammas", nargs="+", type=float, default=[0.0, 0.5, 0.9])
    args = parser.parse_args()
    for name in args.data:
        run(name, args.gammas)


if __name__ == "__main__":
    main()
