"""From logged data to a reward: models estimated from trajectories (TabularMDP.from_trajectories),
state-action rewards, tables of logs (sklirl.demos.from_dataframe), discretised observations."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklirl import MaxEntIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import TabularMDP
from sklirl.metrics import expected_value_difference


def _random_sparse_mdp(S=20, A=4, n_next=3, gamma=0.9, horizon=None, seed=0):
    rng = np.random.RandomState(seed)
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            P[s, a, rng.choice(S, n_next, replace=False)] = rng.dirichlet(np.ones(n_next))
    return TabularMDP(P, gamma=gamma, horizon=horizon, reward=rng.randn(S))


# --- TabularMDP.from_trajectories -------------------------------------------------------------
def test_from_trajectories_recovers_the_model_and_maxent_on_it_transfers():
    """The count estimate is within Hoeffding's bound (union over all S * A * S entries,
    failure probability 1e-3) of the true P on every logged pair; MaxEnt fitted on the
    estimated model has an EVD on the true env within 2x of MaxEnt fitted on the true model."""
    env = _random_sparse_mdp()
    S, A = env.n_states, env.n_actions
    demos, _ = make_expert_demos(env, 200, horizon=30, random_state=1)
    est = TabularMDP.from_trajectories(demos, S, A, prior=0.0, gamma=0.9)
    n = est.state_action_counts
    assert n.sum() == 200 * 30 and (n > 0).all()
    error = np.abs(est.to_dense() - env.to_dense()).max(axis=2)
    bound = np.sqrt(np.log(2 * S * A * S / 1e-3) / (2 * n))
    assert (error <= bound).all()
    np.testing.assert_allclose(
        est.initial_state_distribution,
        np.bincount([t.states[0] for t in demos], minlength=S) / 200,
    )
    evd_true = expected_value_difference(env, learned_reward=MaxEntIRL().fit(demos, env).reward_)
    evd_est = expected_value_difference(env, learned_reward=MaxEntIRL().fit(demos, est).reward_)
    assert evd_true > 0
    assert evd_est <= 2 * evd_true


def test_from_trajectories_unseen_pairs_follow_the_prior_mean():
    # state 0: action 0 logged to 1 (twice) and to 2 (once), action 1 logged to 2; action 2
    # never; state 1: only reached; state 2: action 0 logged to 0.
    demos = [([0, 1], [0]), ([0, 1], [0]), ([0, 2, 0], [0, 0]), ([0, 2], [1])]
    counts = np.zeros((3, 3), dtype=int)
    counts[0, 0], counts[0, 1], counts[2, 0] = 3, 1, 1
    for mean in ("pooled", "self_loop", "uniform"):
        env = TabularMDP.from_trajectories(demos, 3, 3, prior=0.0, prior_mean=mean)
        P = env.to_dense()
        np.testing.assert_array_equal(env.state_action_counts, counts)
        # logged pairs: the count estimate
        np.testing.assert_allclose(P[0, 0], [0, 2 / 3, 1 / 3])
        np.testing.assert_allclose(P[0, 1], [0, 0, 1])
        np.testing.assert_allclose(P[2, 0], [1, 0, 0])
        unseen = {
            "pooled": {(0, 2): [0, 0.5, 0.5], (1, 0): [0, 1, 0], (2, 1): [1, 0, 0]},
            "self_loop": {(0, 2): [1, 0, 0], (1, 0): [0, 1, 0], (2, 1): [0, 0, 1]},
            "uniform": {(0, 2): [1 / 3] * 3, (1, 0): [1 / 3] * 3, (2, 1): [1 / 3] * 3},
        }[mean]
        for (s, a), row in unseen.items():
            assert env.state_action_counts[s, a] == 0
            np.testing.assert_allclose(P[s, a], row, err_msg=f"{mean} {(s, a)}")
    # the Dirichlet posterior mean: (N + prior * P0) / (N(s, a) + prior)
    env = TabularMDP.from_trajectories(demos, 3, 3, prior=2.0, prior_mean="self_loop")
    np.testing.assert_allclose(env.to_dense()[0, 0], [2 / 5, 2 / 5, 1 / 5])
    np.testing.assert_allclose(env.to_dense()[0, 2], [1, 0, 0])
    np.testing.assert_allclose(env.initial_state_distribution, [1, 0, 0])


def test_from_trajectories_is_sparse_for_large_state_spaces():
    S, A = 100_000, 3
    rng = np.random.RandomState(0)
    states = rng.randint(S, size=(200, 51))
    demos = [(s, rng.randint(A, size=50)) for s in states]
    env = TabularMDP.from_trajectories(demos, S, A, prior=1.0)
    assert sp.issparse(env.transition_matrix)
    # pooled prior: a state's successors over all its logged actions, or a self-loop
    assert env.transition_matrix.nnz < 2 * S * A
    assert env.state_action_counts.sum() == 200 * 50


@pytest.mark.parametrize("kwargs, match", [
    ({"prior": -1.0}, "prior must be"),
    ({"prior_mean": "flat"}, "prior_mean must be"),
    ({"initial_state_distribution": "first"}, "initial_state_distribution must be"),
])
def test_from_trajectories_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TabularMDP.from_trajectories([([0, 1], [0])], 2, 2, **kwargs)


def test_from_trajectories_names_the_bad_step():
    with pytest.raises(ValueError, match="trajectory 1, step 1: state 7"):
        TabularMDP.from_trajectories([([0, 1], [0]), ([0, 7], [1])], 3, 2)
