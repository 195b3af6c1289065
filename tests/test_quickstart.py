"""Tests of the quickstart (``python -m sklirl.quickstart``) on a small config."""

import importlib.util
import math

import numpy as np
import pytest

from sklirl.quickstart import (
    _MODULES,
    COLUMNS,
    ESTIMATORS,
    _make_estimator,
    format_table,
    main,
    quickstart_reward,
    run_quickstart,
)

SMALL = dict(size=5, n_demos=32, n_test=16, horizon=12, seed=0)


def _require(name):
    if importlib.util.find_spec(_MODULES[name]) is None:
        pytest.skip(f"{_MODULES[name]} is not written yet, so there is no {name} row to check")


def test_reference_rows_without_estimators(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "rewards.png"
    rows = run_quickstart(**SMALL, estimators=(), output=str(out), verbose=False)
    expert, uniform = rows
    assert (expert["estimator"], uniform["estimator"]) == ("expert", "uniform")
    assert expert["EVD reward"] == 0.0  # the true reward's greedy policy is optimal
    # the decisive expert beats the random policy on every column
    assert expert["EVD policy"] < uniform["EVD policy"]
    assert expert["feature gap"] < uniform["feature gap"]
    assert expert["held-out LL"] > uniform["held-out LL"]
    assert math.isclose(uniform["held-out LL"], -math.log(4))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", ESTIMATORS)
def test_estimator_row(name, tmp_path):
    _require(name)
    pytest.importorskip("matplotlib")
    out = tmp_path / "rewards.png"
    est = _make_estimator(name, SMALL["seed"])  # the quickstart's own settings
    if name == "GAIL":
        est.set_params(max_iter=15)  # keep the test fast; the full quickstart uses 40
    rows = run_quickstart(**SMALL, estimators={name: est}, output=str(out), verbose=False)
    assert [r["estimator"] for r in rows] == ["expert", "uniform", name]
    row = rows[2]
    assert "skipped" not in row, row.get("skipped")
    assert row["fit s"] > 0
    for col in ("EVD policy", "feature gap"):
        assert np.isfinite(row[col]), col
    assert row["EVD policy"] >= 0
    assert row["held-out LL"] <= 0
    # the learned policy earns more true reward than the uniform one
    assert row["EVD policy"] < rows[1]["EVD policy"]
    assert np.isfinite(row["held-out LL"])  # MaxMarginIRL: scored under its smoothed mixture
    if name != "MaxMarginIRL":
        # the soft imitator explains held-out expert actions better than a coin flip
        assert row["held-out LL"] > rows[1]["held-out LL"]
    assert out.stat().st_size > 1000


def test_main_prints_the_table(capsys, tmp_path):
    out = tmp_path / "q.png"
    rows = main(["--size", "4", "--n-demos", "8", "--n-test", "4", "--horizon", "6",
                 "--seed", "3", "--estimators", "MaxEntIRL", "--output", str(out),
                 "--no-plot"])
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split() == [
        "estimator", "fit", "s", "EVD", "reward", "EVD", "policy", "feature", "gap",
        "held-out", "LL",
    ]
    assert [r["estimator"] for r in rows] == ["expert", "uniform", "MaxEntIRL"]
    assert "expert" in printed and "MaxEntIRL" in printed
    assert not out.exists()  # --no-plot


def test_missing_estimator_gets_a_skipped_row(monkeypatch):
    monkeypatch.setitem(_MODULES, "GAIL", "sklirl.irl._no_such_module")
    rows = run_quickstart(size=4, n_demos=4, n_test=2, horizon=4, estimators=("GAIL",),
                          output=None, verbose=False)
    assert "No module named" in rows[-1]["skipped"]
    assert "skipped: No module named" in format_table(rows)


def test_format_table_columns():
    row = dict.fromkeys(COLUMNS[1:], 1.0)
    row["estimator"] = "x"
    lines = format_table([row]).splitlines()
    assert len(lines) == 3
    assert len({len(line) for line in lines}) == 1  # fixed width


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_demos=0), "n_demos must be a positive int"),
        (dict(horizon=2.5), "horizon must be a positive int"),
        (dict(estimators=("Foo",)), "unknown estimator 'Foo'"),
        (dict(size=3), "size must be an int >= 4"),
    ],
)
def test_run_quickstart_validation(kwargs, match):
    config = dict(size=4, n_demos=4, n_test=2, horizon=4, estimators=(), output=None,
                  verbose=False)
    config.update(kwargs)
    with pytest.raises(ValueError, match=match):
        run_quickstart(**config)


def test_quickstart_reward_layout():
    grid = quickstart_reward(6).reshape(6, 6)
    assert grid[-1, -1] == grid.max() == 5.0
    assert grid[0, -1] == 2.5
    np.testing.assert_array_equal(grid[:4, 3], -5.0)  # the wall, open in the last two rows
    np.testing.assert_array_equal(grid[4:, 3], 0.0)
