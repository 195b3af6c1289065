"""Numerical robustness, determinism, persistence and interruption of every estimator.

Stress cases (reward scale 10^3, horizon 1000, gamma = 0.999, near-deterministic experts, huge
and constant feature columns) must give finite results in seconds, or a warning that says
what to change; the same ``random_state`` gives bit-identical fits; fitted estimators pickle;
a ``KeyboardInterrupt`` leaves them at the last complete iteration or as before the call.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import sklirl.irl._max_ent as max_ent_module
from sklirl import GAIL, MaxEntIRL, MaxMarginIRL
from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld, TabularMDP
from sklirl.solvers import SoftValueIteration, soft_bellman_backup

pytest.importorskip("torch")

GRID = GridWorld(3, gamma=0.9)


def _with(env, **changes):
    """A copy of a grid world's MDP with other gamma / horizon / reward / state features."""
    kwargs = dict(gamma=env.gamma, horizon=env.horizon, reward=env.reward,
                  state_features=env.state_features)
    kwargs.update(changes)
    return TabularMDP(env.to_dense(), **kwargs)


def _estimators(random_state=0):
    return {
        "MaxEntIRL": MaxEntIRL(max_iter=20),
        "MaxMarginIRL": MaxMarginIRL(max_iter=10),
        "GAIL": GAIL(max_iter=5, hidden_layer_sizes=(8,), random_state=random_state),
    }


def _fit_quietly(est, demos, env, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(demos, env, **kwargs)


def _assert_finite_fit(est, demos, env):
    assert np.all(np.isfinite(est.reward_))
    proba = est.predict_proba(np.arange(env.n_states))
    assert np.all(np.isfinite(proba))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    score = est.score(demos)
    assert not np.isnan(score)
    if not isinstance(est, MaxMarginIRL):
        # MaxMarginIRL's policy is a mixture of deterministic policies: a demo action it
        # never takes has likelihood 0 (score -inf, the correct value), never NaN.
        assert np.isfinite(score)
    for values in est.history_.values():
        assert np.all(np.isfinite(values))


# -- stress cases ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(_estimators()))
def test_reward_scale_1e3_and_near_deterministic_expert(name):
    # Rewards of 10^3 with a temperature-1 expert: the expert is deterministic to
    # exp(-1000), the soft values are ~10^4; every log-sum-exp is taken in the log domain.
    env = _with(GRID, reward=1e3 * GRID.reward)
    demos, expert = make_expert_demos(env, 10, horizon=15, random_state=0)
    assert expert.probs.max() == 1.0
    est = _fit_quietly(_estimators()[name], demos, env)
    _assert_finite_fit(est, demos, env)


@pytest.mark.parametrize("name", list(_estimators()))
def test_finite_horizon_1000(name):
    env = _with(GRID, gamma=1.0, horizon=1000)
    demos, _ = make_expert_demos(env, 3, random_state=0)
    assert len(demos[0]) == 1000
    est = _fit_quietly(_estimators()[name], demos, env)
    _assert_finite_fit(est, demos, env)
    assert est.policy_.probs.shape == (1000, env.n_states, env.n_actions)


def test_soft_value_iteration_gamma_0999_is_fast_and_exact():
    env = _with(GRID, gamma=0.999)
    policy = SoftValueIteration().solve(env, env.reward)
    # The soft Bellman fixed point, to the solver's tolerance, in far fewer sweeps than the
    # ~23,000 that value iteration needs for gamma = 0.999 (method="auto").
    V = policy.values
    np.testing.assert_allclose(soft_bellman_backup(env, env.reward, V)[1], V, rtol=0,
                               atol=1e-8)
    assert np.all(np.isfinite(V)) and V.max() > 100  # ~ 1 / (1 - gamma) scale


@pytest.mark.parametrize("name", list(_estimators()))
def test_gamma_0999(name):
    env = _with(GRID, gamma=0.999)
    demos, _ = make_expert_demos(env, 3, horizon=1200, random_state=0)
    est = _estimators()[name]
    if name == "MaxEntIRL":
        est.set_params(max_iter=6)
    if name == "GAIL":
        est.set_params(max_iter=3)
    if name == "MaxMarginIRL":
        # Hard value iteration has no policy-iteration path: ~23,000 sweeps per plan at
        # gamma = 0.999; a low-temperature soft planner is the fast substitute.
        est.set_params(max_iter=5, solver=SoftValueIteration(temperature=0.01))
    est = _fit_quietly(est, demos, env)
    _assert_finite_fit(est, demos, env)


@pytest.mark.parametrize("name", list(_estimators()))
def test_huge_and_constant_feature_columns(name):
    # Columns of scale 10^6 next to a constant column.
    features = np.column_stack([1e6 * GRID.state_features, np.ones(GRID.n_states)])
    env = _with(GRID, state_features=features)
    demos, _ = make_expert_demos(env, 10, horizon=15, random_state=0)
    est = _estimators()[name].set_params(features=FunctionTransformer())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(demos, env)
    _assert_finite_fit(est, demos, env)
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            assert "increase max_iter" in str(w.message).lower()
    # The documented remedy: standardise the features (the constant column stays finite).
    scaled = _estimators()[name].set_params(features=StandardScaler())
    _fit_quietly(scaled, demos, env)
    _assert_finite_fit(scaled, demos, env)


def test_maxent_standardised_features_beat_raw_huge_ones():
    features = np.column_stack([1e6 * GRID.state_features, np.ones(GRID.n_states)])
    env = _with(GRID, state_features=features)
    demos, _ = make_expert_demos(env, 10, horizon=15, random_state=0)
    raw = _fit_quietly(MaxEntIRL(features=FunctionTransformer()), demos, env)
    scaled = _fit_quietly(
        MaxEntIRL(features=make_pipeline(FunctionTransformer(), StandardScaler())), demos, env
    )
    assert scaled.score(demos) > np.log(0.25)  # better than the uniform policy
    assert scaled.score(demos) >= raw.score(demos)


# -- convergence warnings say what to change ---------------------------------------------------
CONVERGENCE_CASES = [
    ("MaxEntIRL lbfgs", MaxEntIRL(max_iter=1, l2=0.0, tol=1e-12), "Increase max_iter"),
    ("MaxEntIRL gradient", MaxEntIRL(optimizer="gradient", max_iter=2),
     "increase max_iter or learning_rate"),
    ("MaxMarginIRL", MaxMarginIRL(max_iter=1, epsilon=1e-9), "increase max_iter or epsilon"),
]


@pytest.mark.parametrize("case, est, advice", CONVERGENCE_CASES,
                         ids=[c[0] for c in CONVERGENCE_CASES])
def test_convergence_warning_says_what_to_change(case, est, advice):
    demos, _ = make_expert_demos(GRID, 10, horizon=10, random_state=0)
    with pytest.warns(ConvergenceWarning, match=advice):
        est.fit(demos, GRID)


def test_solver_convergence_warning_says_what_to_change():
    with pytest.warns(ConvergenceWarning, match="increase max_iter or tol"):
        SoftValueIteration(max_iter=2, method="value_iteration").solve(GRID, GRID.reward)


# -- determinism -------------------------------------------------------------------------------
def _fitted_arrays(est):
    out = {"reward_": est.reward_, "proba": est.predict_proba(np.arange(GRID.n_states))}
    if getattr(est, "coef_", None) is not None:
        out["coef_"] = est.coef_
    out.update({f"history_{k}": v for k, v in est.history_.items() if k != "time"})
    return out


DETERMINISM_CASES = [
    ("MaxEntIRL", lambda rs: MaxEntIRL(max_iter=20, random_state=rs)),
    ("MaxEntIRL mlp", lambda rs: MaxEntIRL(reward_model="mlp", hidden_layer_sizes=(8,),
                                           max_iter=15, random_state=rs)),
    ("MaxMarginIRL random pi_0", lambda rs: MaxMarginIRL(initial_policy="random", max_iter=8,
                                                         random_state=rs)),
    ("MaxMarginIRL mmp", lambda rs: MaxMarginIRL(method="mmp", max_iter=8, random_state=rs)),
    ("GAIL", lambda rs: GAIL(max_iter=8, hidden_layer_sizes=(16,), random_state=rs)),
]


@pytest.mark.parametrize("case, make", DETERMINISM_CASES, ids=[c[0] for c in DETERMINISM_CASES])
def test_same_random_state_gives_bit_identical_fits(case, make):
    demos, _ = make_expert_demos(GRID, 10, horizon=10, random_state=0)
    a = _fitted_arrays(_fit_quietly(make(7), demos, GRID))
    b = _fitted_arrays(_fit_quietly(make(7), demos, GRID))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_gail_gymnasium_is_bit_identical_with_a_seed():
    gymnasium = pytest.importorskip("gymnasium")
    from sklirl.solvers import PPO

    env = gymnasium.make("CartPole-v1")
    rng = np.random.default_rng(0)
    demos = [(rng.normal(size=(21, 4)), rng.integers(2, size=20)) for _ in range(3)]

    def fit():
        solver = PPO(n_envs=1, n_steps=64, n_epochs=1, batch_size=32)
        gail = GAIL(max_iter=2, solver=solver, disc_batch_size=32, hidden_layer_sizes=(8,),
                    random_state=3)
        return gail.fit(demos, env)

    a, b = fit(), fit()
    obs = rng.normal(size=(5, 4))
    np.testing.assert_array_equal(a.predict_proba(obs), b.predict_proba(obs))
    np.testing.assert_array_equal(a.predict_reward(obs), b.predict_reward(obs))


# -- persistence -------------------------------------------------------------------------------
@pytest.mark.parametrize("case, make", DETERMINISM_CASES, ids=[c[0] for c in DETERMINISM_CASES])
def test_pickle_round_trip(case, make):
    demos, _ = make_expert_demos(GRID, 10, horizon=10, random_state=0)
    est = _fit_quietly(make(0), demos, GRID)
    restored = pickle.loads(pickle.dumps(est))
    a, b = _fitted_arrays(est), _fitted_arrays(restored)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert restored.score(demos) == est.score(demos)
    states = np.arange(GRID.n_states)
    np.testing.assert_array_equal(restored.predict_reward(states), est.predict_reward(states))


# -- KeyboardInterrupt -------------------------------------------------------------------------
def _interrupt_maxent_after(monkeypatch, n_calls):
    original = max_ent_module.soft_value_iteration
    calls = {"n": 0}

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > n_calls:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(max_ent_module, "soft_value_iteration", interrupted)
    return lambda: monkeypatch.setattr(max_ent_module, "soft_value_iteration", original)


@pytest.mark.parametrize("optimizer", ["lbfgs", "gradient"])
def test_interrupted_maxent_keeps_last_iteration_and_warm_start_resumes(monkeypatch, optimizer):
    demos, _ = make_expert_demos(GRID, 10, horizon=10, random_state=0)
    max_iter = 300 if optimizer == "lbfgs" else 20
    est = MaxEntIRL(optimizer=optimizer, warm_start=True, max_iter=max_iter)
    restore = _interrupt_maxent_after(monkeypatch, 6)
    with pytest.warns(UserWarning, match=r"interrupted; .*last complete iteration.*warm_start"):
        with pytest.raises(KeyboardInterrupt):
            est.fit(demos, GRID)
    restore()
    assert est.n_iter_ >= 1
    assert len(est.history_["loss"]) == est.n_iter_
    assert not hasattr(est, "_interrupt_checkpoint") and not hasattr(est, "_history")
    # A consistent fitted estimator: the policy is the soft-optimal one for coef_.
    partial = est.score(demos)
    assert np.isfinite(partial)
    interrupted_loss = est.history_["loss"][-1]
    coef = est.coef_.copy()
    _fit_quietly(est, demos, GRID)  # warm_start=True: resumes from coef
    fresh = _fit_quietly(MaxEntIRL(optimizer=optimizer, max_iter=1), demos, GRID)
    assert est.history_["loss"][0] < fresh.history_["loss"][0]
    assert est.history_["loss"][0] <= interrupted_loss + 1e-12
    assert not np.array_equal(est.coef_, coef)
    if optimizer == "lbfgs":  # converged: the same answer as an uninterrupted fit
        reference = MaxEntIRL(max_iter=300).fit(demos, GRID)
        np.testing.assert_allclose(est.score(demos), reference.score(demos), atol=1e-4)


def test_interrupted_gail_keeps_last_complete_round():
    demos, _ = make_expert_demos(GRID, 10, horizon=10, random_state=0)

    def stop_after_three(gail, row):
        if len(gail.history_["disc_loss"]) == 3:
            raise KeyboardInterrupt

    gail = GAIL(max_iter=20, hidden_layer_sizes=(8,), callback=stop_after_three,
                random_state=0)
    with pytest.warns(UserWarning, match=r"n_iter_=3"):
        with pytest.raises(KeyboardInterrupt):
            gail.fit(demos, GRID)
    assert gail.n_iter_ == 3 and len(gail.history_["disc_loss"]) == 3
    assert np.isfinite(gail.score(demos))
    assert gail.predict_proba([0, 1]).shape == (2, GRID.n_actions)
    # warm_start resumes from there: 3 + 17 rounds are the 20 of an uninterrupted fit
    gail.set_params(callback=None, warm_start=True, max_iter=17).fit(demos, GRID)
    full = GAIL(max_iter=20, hidden_layer_sizes=(8,), random_state=0).fit(demos, GRID)
    assert gail.n_iter_ == 20 and gail.history_.keys() == full.history_.keys()
    for key, values in full.history_.items():
        np.testing.assert_array_equal(gail.history_[key], values)
    states = np.arange(GRID.n_states)
    np.testing.assert_array_equal(gail.predict_proba(states), full.predict_proba(states))
    np.testing.assert_array_equal(gail.predict_reward(states), full.predict_reward(states))


def test_interrupt_without_checkpoint_restores_the_previous_state(monkeypatch):
    demos, _ = make_expert_demos(GRID, 10, horizon=10, random_state=0)
    import sklirl.irl._max_margin as max_margin_module

    def interrupted(self, env, reward, **kwargs):
        raise KeyboardInterrupt

    # Unfitted before: unfitted after.
    est = MaxMarginIRL()
    with monkeypatch.context() as m:
        m.setattr(max_margin_module.ValueIteration, "solve", interrupted)
        with pytest.warns(UserWarning, match="left unfitted"):
            with pytest.raises(KeyboardInterrupt):
                est.fit(demos, GRID)
    assert not [k for k in vars(est) if k.endswith("_")]
    # Fitted before: the previous fit is kept, unchanged.
    est.fit(demos, GRID)
    reward = est.reward_.copy()
    with monkeypatch.context() as m:
        m.setattr(max_margin_module.ValueIteration, "solve", interrupted)
        with pytest.warns(UserWarning, match="keeps its previous fit"):
            with pytest.raises(KeyboardInterrupt):
                est.fit(demos, GRID)
    np.testing.assert_array_equal(est.reward_, reward)
    assert np.isfinite(est.score(demos)) or est.score(demos) == -np.inf


def test_torch_weights_are_pickled_as_weights_only_bytes():
    torch = pytest.importorskip("torch")
    from sklirl.utils._persistence import state_dict_from_bytes, state_dict_to_bytes

    demos, _ = make_expert_demos(GRID, 10, horizon=10, random_state=0)
    gail = GAIL(max_iter=2, hidden_layer_sizes=(4,), random_state=0).fit(demos, GRID)
    state = gail.discriminator_.__getstate__()
    assert isinstance(state["net"], bytes) and isinstance(state["optimizer"], bytes)
    weights = state_dict_from_bytes(state["net"])
    assert all(torch.is_tensor(v) for v in weights.values())
    mlp = _fit_quietly(MaxEntIRL(reward_model="mlp", hidden_layer_sizes=(4,), max_iter=3,
                                 random_state=0), demos, GRID)
    mlp_state = mlp.reward_net_.__getstate__()
    assert isinstance(mlp_state["module"], bytes) and isinstance(mlp_state["optimizer"], bytes)
    # weights_only loading refuses anything but tensors and plain containers.
    import io

    buffer = io.BytesIO()
    torch.save({"w": torch.ones(1), "code": _Payload()}, buffer)
    with pytest.raises(Exception, match="[Ww]eights only load failed|weights_only"):
        state_dict_from_bytes(buffer.getvalue())
    with pytest.raises(TypeError, match="data must be bytes"):
        state_dict_from_bytes("not bytes")
    assert state_dict_from_bytes(state_dict_to_bytes({"lr": 0.5})) == {"lr": 0.5}


class _Payload:
    """An arbitrary object: unpickling it would run its class's code."""


def test_warnings_point_at_the_callers_line():
    """Convergence warnings are raised deep inside fit (optimizer, planner); they name the
    user's line, not sklirl's or scikit-learn's internals."""
    demos, _ = make_expert_demos(GRID, 5, horizon=5, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        MaxEntIRL(max_iter=2).fit(demos, GRID)
        MaxMarginIRL(max_iter=1, epsilon=0.0).fit(demos, GRID)
        SoftValueIteration(max_iter=2).solve(GRID, GRID.reward)
    assert len(caught) >= 3
    assert {w.filename for w in caught} == {__file__}


_INTERRUPT_DURING_IMPORT = """
import importlib.abc, os, signal, sys, warnings
class Interrupter(importlib.abc.MetaPathFinder):
    fired = False
    def find_spec(self, name, path=None, target=None):
        if name == {module!r} and not Interrupter.fired:
            Interrupter.fired = True
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C lands mid-import
        return None
sys.meta_path.insert(0, Interrupter())
warnings.simplefilter("ignore")
from sklirl import GAIL
from sklirl.datasets import make_expert_demos
from sklirl.envs import GridWorld
env = GridWorld(3, gamma=0.9)
demos, _ = make_expert_demos(env, 4, horizon=5, random_state=0)
try:
    GAIL(max_iter=1, hidden_layer_sizes=(4,), random_state=0).fit(demos, env)
except KeyboardInterrupt:
    print("interrupted")
assert Interrupter.fired
est = GAIL(max_iter=1, hidden_layer_sizes=(4,), random_state=0).fit(demos, env)
print("refit", est.n_iter_)
"""


@pytest.mark.parametrize("module", ["sympy.polys"])  # the one seen to corrupt (deepest)
def test_ctrl_c_during_the_first_torch_import_does_not_corrupt_the_process(module):
    """Ctrl-C while the first fit imports torch (or the sympy torch's optimizers import
    lazily) is held back until the imports complete, then raised: the next fit works. Before,
    a KeyboardInterrupt inside sympy's import left ``module 'sympy' has no attribute
    'core'`` (or a SIGSEGV inside torch) for the rest of the process."""
    import os
    import subprocess
    import sys

    pytest.importorskip("torch")
    env = {**os.environ, "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [sys.executable, "-c", _INTERRUPT_DURING_IMPORT.format(module=module)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["interrupted", "refit", "1"]
