"""Demonstrations recorded in gymnasium: episodes that end, models with terminal states, and
learned policies acted out in the same gymnasium env (issue 13).

The estimators' table for every toy-text env is in ``examples/plot_gymnasium_demos.py``; the
tests here run the fast rows (seconds each) and mark the slow ones ``slow``.
"""

import numpy as np
import pytest

gymnasium = pytest.importorskip("gymnasium")

from sklirl import GAIL, MaxEntIRL, MaxMarginIRL, Trajectory  # noqa: E402
from sklirl.datasets import record_episodes  # noqa: E402
from sklirl.demos import check_demos  # noqa: E402
from sklirl.envs import from_gymnasium  # noqa: E402
from sklirl.expectations import expert_occupancy, occupancy_mass, occupancy_measure  # noqa: E402
from sklirl.solvers import TabularPolicy, ValueIteration  # noqa: E402
from sklirl.utils._gym_compat import toy_text_id  # noqa: E402

MAX_STEPS = 200  # CliffWalking has no time limit of its own


def _make(name):
    if name == "FrozenLake-slippery":
        return gymnasium.make("FrozenLake-v1", is_slippery=True)
    if name == "FrozenLake":
        return gymnasium.make("FrozenLake-v1", is_slippery=False)
    return gymnasium.make(toy_text_id(name))


def _expert(env):
    mdp = from_gymnasium(env)
    policy = ValueIteration().solve(mdp, mdp.reward)
    return mdp, policy, (lambda obs: int(policy.probs[obs].argmax()))


def _mean_return(env, policy, n_episodes, seed=1):
    _, rewards = record_episodes(env, policy, n_episodes, max_steps=MAX_STEPS,
                                 random_state=seed, return_rewards=True)
    return float(np.mean([r.sum() for r in rewards]))


# --- recording ---------------------------------------------------------------------------------
def test_record_episodes_sets_the_terminal_flag_and_never_steps_env():
    env = gymnasium.make("FrozenLake-v1", is_slippery=False)
    env.reset(seed=0)
    state = env.unwrapped.s
    right_then_down = {0: 2, 1: 2, 2: 1, 6: 1, 10: 1, 14: 2}
    demos, rewards = record_episodes(env, lambda obs: right_then_down.get(int(obs), 0), 3,
                                     random_state=0, return_rewards=True)
    assert env.unwrapped.s == state
    for traj, r in zip(demos, rewards):
        assert traj.states.tolist() == [0, 1, 2, 6, 10, 14, 15]
        assert traj.actions.tolist() == [2, 2, 1, 1, 1, 2] and traj.terminal
        assert r.tolist() == [0, 0, 0, 0, 0, 1]
    # cut by max_steps (left into the corner forever): not terminal
    (stuck,) = record_episodes(env, lambda obs: 0, 1, max_steps=5, random_state=0)
    assert len(stuck) == 5 and len(stuck.states) == 6 and not stuck.terminal
    # cut by the env's own time limit (100 steps): not terminal either
    (limited,) = record_episodes(env, lambda obs: 0, 1, random_state=0)
    assert len(limited) == 100 and not limited.terminal


def test_record_episodes_takes_estimators_and_policies_and_validates():
    env, = [gymnasium.make("FrozenLake-v1", is_slippery=False)]
    mdp, expert, act = _expert(env)
    demos = record_episodes(env, act, 5, random_state=0)
    est = MaxMarginIRL().fit(demos, mdp)
    learned = record_episodes(env, est, 3, random_state=0)
    assert all(t.terminal and t.states[-1] == 15 for t in learned)
    sampled = record_episodes(env, TabularPolicy(expert.probs), 3, deterministic=False,
                              random_state=0)
    assert all(t.states[-1] == 15 for t in sampled)
    # the same seed gives the same episodes (slippery: the env's randomness is seeded too)
    slippery = gymnasium.make("FrozenLake-v1", is_slippery=True)
    a = record_episodes(slippery, act, 4, random_state=3)
    assert a == record_episodes(slippery, act, 4, random_state=3)
    with pytest.raises(ValueError, match="n_episodes"):
        record_episodes(env, act, 0)
    with pytest.raises(ValueError, match="max_steps"):
        record_episodes(gymnasium.make("FrozenLake-v1").unwrapped, act, 1)
    with pytest.raises(TypeError, match="gymnasium.Env"):
        record_episodes(mdp, act, 1)
    with pytest.raises(TypeError, match="policy must be"):
        record_episodes(env, "left", 1)


def test_record_episodes_with_a_stable_baselines3_model():
    sb3 = pytest.importorskip("stable_baselines3")
    env = gymnasium.make("CartPole-v1")
    model = sb3.PPO("MlpPolicy", env, n_steps=64, seed=0, device="cpu")
    demos = record_episodes(env, model, 3, random_state=0)
    for traj in demos:
        assert traj.states.shape == (len(traj) + 1, 4) and traj.actions.shape == (len(traj),)
        assert traj.terminal == (len(traj) < 500)


# --- models whose episodes end -----------------------------------------------------------------
@pytest.mark.parametrize("name", ["FrozenLake", "FrozenLake-slippery", "CliffWalking", "Taxi"])
def test_every_recorded_demo_is_possible_under_the_model(name):
    env = _make(name)
    mdp, expert, act = _expert(env)
    uniform = np.random.default_rng(0)
    demos = record_episodes(env, act, 20, max_steps=MAX_STEPS, random_state=0)
    demos += record_episodes(env, lambda obs: int(uniform.integers(env.action_space.n)), 20,
                             max_steps=MAX_STEPS, random_state=1)
    assert any(t.terminal for t in demos)
    check_demos(demos, env=mdp, strict=True)  # no impossible step, every end is terminal
    ends = {int(t.states[-1]) for t in demos if t.terminal}
    assert ends <= set(mdp.terminal_states.tolist())


def test_terminal_demo_visitation_is_the_exact_occupancy_of_the_expert():
    """A deterministic expert in a deterministic env: one terminal demo is its whole
    occupancy, the rest of the horizon in the goal cell then the absorbing state."""
    env = gymnasium.make("FrozenLake-v1", is_slippery=False)
    for horizon in (None, 12):
        mdp = from_gymnasium(env, gamma=0.9, horizon=horizon)
        expert = ValueIteration().solve(mdp, mdp.reward)
        probs = expert.probs if horizon is None else expert.probs[0]
        greedy = np.eye(4)[probs.argmax(1)]
        greedy[mdp.terminal_states] = greedy[mdp.absorbing_state] = 0.25  # no choice there
        (demo,) = record_episodes(env, lambda obs, p=probs: int(p[obs].argmax()), 1,
                                  random_state=0)
        assert demo.terminal and len(demo) == 6
        d_E = expert_occupancy([demo], mdp)
        np.testing.assert_allclose(d_E, occupancy_measure(mdp, greedy), atol=1e-12)
        assert d_E.sum() == pytest.approx(occupancy_mass(mdp))
        # the same steps, cut: rescaled to the same mass, nothing after the end
        cut = expert_occupancy([Trajectory(demo.states, demo.actions)], mdp)
        assert cut.sum() == pytest.approx(occupancy_mass(mdp))
        assert cut[mdp.absorbing_state].sum() == 0.0


# --- acting in gymnasium -----------------------------------------------------------------------
def test_tabular_predict_takes_one_observation():
    env = gymnasium.make("FrozenLake-v1", is_slippery=False)
    mdp, _, act = _expert(env)
    est = MaxMarginIRL().fit(record_episodes(env, act, 5, random_state=0), mdp)
    obs, _ = env.reset(seed=0)
    action = est.predict(obs)
    assert isinstance(action, int) and env.action_space.contains(action)
    env.step(action)
    proba = est.predict_proba(obs)
    assert proba.shape == (4,) and proba.sum() == pytest.approx(1.0)
    assert est.predict([obs, obs]).shape == (2,)
    assert est.predict_proba(np.array([obs])).shape == (1, 4)
    with pytest.raises(ValueError, match="outside"):
        est.predict(99)


# --- learned policies reach the expert's return (the table) ----------------------------
def _table_row(name, estimator, n_eval=500):
    env = _make(name)
    mdp, _, act = _expert(env)
    demos = record_episodes(env, act, 50, max_steps=MAX_STEPS, random_state=0)
    est = estimator.fit(demos, mdp)
    return _mean_return(env, act, n_eval), _mean_return(env, est, n_eval)


def _assert_reaches(expert, learned, fraction):
    # returns of either sign: within (1 - fraction) of the expert's magnitude
    assert learned >= expert - (1 - fraction) * abs(expert), (expert, learned)


@pytest.mark.parametrize("name", ["FrozenLake", "CliffWalking"])
@pytest.mark.parametrize("estimator", [MaxEntIRL, MaxMarginIRL], ids=lambda e: e.__name__)
def test_learned_policy_reaches_the_experts_return(name, estimator):
    expert, learned = _table_row(name, estimator(), n_eval=100)
    _assert_reaches(expert, learned, 0.95)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", [MaxEntIRL, MaxMarginIRL], ids=lambda e: e.__name__)
def test_learned_policy_reaches_the_experts_return_taxi(estimator):
    expert, learned = _table_row("Taxi", estimator())
    _assert_reaches(expert, learned, 0.95)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["FrozenLake", "FrozenLake-slippery", "CliffWalking", "Taxi"])
def test_tabular_gail_reaches_the_experts_return(name):
    pytest.importorskip("torch")
    expert, learned = _table_row(name, GAIL(random_state=0))
    if name == "FrozenLake-slippery":  # the success rate, within 0.03
        assert abs(learned - expert) <= 0.03, (expert, learned)
    else:
        _assert_reaches(expert, learned, 0.90)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured 0.612 (MaxEntIRL and MaxMarginIRL) against the "
                   "expert's 0.740: the greedy predict of a reward learned from 50 demos of a "
                   "cautious expert in a noisy env takes a riskier way near the goal")
@pytest.mark.parametrize("estimator", [MaxEntIRL, MaxMarginIRL], ids=lambda e: e.__name__)
def test_learned_policy_success_rate_slippery_frozenlake(estimator):
    expert, learned = _table_row("FrozenLake-slippery", estimator())
    assert abs(learned - expert) <= 0.03, (expert, learned)
