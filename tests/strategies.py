"""Hypothesis strategies for random tabular MDPs, policies, rewards and demonstrations.

Reusable by every test module: ``from strategies import mdps, policies, ...`` (``tests/`` is put
on ``sys.path`` by ``tests/conftest.py``, since pytest runs with ``--import-mode=importlib``).

The array contents are drawn from a NumPy generator seeded by hypothesis: the shapes, kinds
(dense or sparse, discounted or finite horizon) and the seed shrink, the numbers do not, which
keeps the strategies fast. Transition rows have random zeros so the sparse paths see real
sparsity, and every row keeps at least one non-zero entry.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import strategies as st

from sklirl.envs import TabularMDP
from sklirl.solvers import TabularPolicy

__all__ = [
    "random_transitions",
    "random_policy_probs",
    "mdps",
    "policies",
    "rewards",
    "demos",
    "mdp_policy_reward",
]

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def random_transitions(rng, n_states, n_actions, density=0.6):
    """Dense ``(S, A, S)`` transition probabilities with about ``1 - density`` zeros per row."""
    P = rng.random((n_states, n_actions, n_states))
    P *= rng.random(P.shape) < density
    # Keep at least one reachable next state in each row.
    rows = np.arange(n_states * n_actions)
    keep = rng.integers(n_states, size=n_states * n_actions)
    P.reshape(-1, n_states)[rows, keep] += rng.random(len(rows)) + 0.1
    P /= P.sum(axis=2, keepdims=True)
    return P


def random_policy_probs(rng, shape, deterministic_fraction=0.2):
    """Random action probabilities of ``shape`` (..., A), some rows deterministic."""
    logits = rng.normal(scale=2.0, size=shape)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    det = rng.random(shape[:-1]) < deterministic_fraction
    onehot = np.eye(shape[-1])[rng.integers(shape[-1], size=shape[:-1])]
    probs[det] = onehot[det]
    return probs


@st.composite
def mdps(
    draw,
    min_states=1,
    max_states=6,
    min_actions=1,
    max_actions=3,
    sparse=None,
    finite_horizon=None,
    max_horizon=6,
    min_gamma=0.0,
    max_gamma=0.95,
    allow_gamma_one=True,
    full_support=False,
):
    """Random :class:`TabularMDP` s, dense or sparse, discounted or finite-horizon.

    Parameters
    ----------
    sparse, finite_horizon : bool or None
        Force the kind; None draws it.
    allow_gamma_one : bool
        Finite-horizon MDPs may get ``gamma = 1``.
    full_support : bool
        Give every state positive initial probability (by default about 30% of the states
        start with probability 0, and with ``gamma`` near 0 their occupancy is then ~0).
    """
    S = draw(st.integers(min_states, max_states))
    A = draw(st.integers(min_actions, max_actions))
    is_sparse = draw(st.booleans()) if sparse is None else sparse
    finite = draw(st.booleans()) if finite_horizon is None else finite_horizon
    if finite and allow_gamma_one and draw(st.booleans()):
        gamma = 1.0
    else:
        gamma = draw(st.floats(min_gamma, max_gamma))
    horizon = draw(st.integers(1, max_horizon)) if finite else None
    rng = np.random.default_rng(draw(seeds))
    P = random_transitions(rng, S, A)
    mu0 = rng.random(S) * (full_support or (rng.random(S) < 0.7))
    mu0 += 0.05 if full_support else 0.0
    mu0[rng.integers(S)] += 0.5
    mu0 /= mu0.sum()
    transitions = sp.csr_matrix(P.reshape(S * A, S)) if is_sparse else P
    return TabularMDP(
        transitions, initial_state_distribution=mu0, gamma=gamma, horizon=horizon,
        n_actions=A if is_sparse else None,
    )


@st.composite
def policies(draw, env, time_indexed=None, as_array=False):
    """Random stochastic policies for ``env``: stationary, or time-indexed when finite-horizon."""
    rng = np.random.default_rng(draw(seeds))
    indexed = env.finite_horizon and (
        draw(st.booleans()) if time_indexed is None else time_indexed
    )
    shape = (env.horizon,) if indexed else ()
    probs = random_policy_probs(rng, shape + (env.n_states, env.n_actions))
    return probs if as_array else TabularPolicy(probs)


@st.composite
def rewards(draw, n_states, n_actions, kind=None, scale=5.0):
    """Random rewards of shape ``(S,)`` or ``(S, A)`` (``kind`` in {"state", "state_action"})."""
    kind = draw(st.sampled_from(["state", "state_action"])) if kind is None else kind
    rng = np.random.default_rng(draw(seeds))
    shape = (n_states,) if kind == "state" else (n_states, n_actions)
    return rng.uniform(-scale, scale, size=shape)


@st.composite
def demos(draw, n_states, n_actions, max_trajectories=5, max_length=8, final_state=None):
    """Random tabular demonstrations as ``(states, actions)`` pairs of Python lists."""
    n = draw(st.integers(1, max_trajectories))
    out = []
    for _ in range(n):
        T = draw(st.integers(1, max_length))
        with_final = draw(st.booleans()) if final_state is None else final_state
        states = draw(
            st.lists(st.integers(0, n_states - 1), min_size=T + with_final, max_size=T + with_final)
        )
        actions = draw(st.lists(st.integers(0, n_actions - 1), min_size=T, max_size=T))
        out.append((states, actions))
    return out


@st.composite
def mdp_policy_reward(draw, **mdp_kwargs):
    """An ``(env, policy, reward)`` triple with matching shapes."""
    env = draw(mdps(**mdp_kwargs))
    policy = draw(policies(env))
    reward = draw(rewards(env.n_states, env.n_actions))
    return env, policy, reward
