"""Plots of rewards, policies, occupancy measures and learning curves.

Matplotlib is an optional dependency (the ``plot`` extra): it is imported the first time a
plotting function is called, never by ``import sklirl``. Every function draws on the given
``ax`` (or a new figure's axes when ``ax`` is None) and returns what it drew on, so plots
compose in the usual matplotlib way.

Grid plots need the layout of the states: it is read from the env (``GridWorld.shape``,
``ObjectWorld.size``) or given as ``shape=(rows, cols)``, with state ``s`` drawn in cell
``divmod(s, cols)``. States beyond ``rows * cols`` (such as the absorbing state that
:func:`sklirl.envs.from_gymnasium` adds) are not drawn.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.utils.validation import check_is_fitted

from .envs._tabular import check_tabular_env
from .policies import check_policy
from .utils._numeric import as_float_array
from .utils._optional import import_optional

__all__ = [
    "plot_reward",
    "plot_reward_comparison",
    "plot_policy",
    "plot_occupancy",
    "plot_learning_curve",
    "plot_evd_curve",
]

# Moves (d_row, d_col) of each action, for the envs whose action meanings are known.
_GRID_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))  # GridWorld: up, right, down, left
_OBJECT_MOVES = ((0, 0), (-1, 0), (0, 1), (1, 0), (0, -1))  # ObjectWorld: stay first


def _pyplot():
    return import_optional("matplotlib.pyplot", "sklirl.plotting", "plot")


def _new_axes(ax, figsize=(4.0, 4.0)):
    if ax is None:
        return _pyplot().subplots(figsize=figsize, layout="constrained")[1]
    if not hasattr(ax, "imshow") or not hasattr(ax, "figure"):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}.")
    return ax


def _grid_layout(env, shape):
    """``(rows, cols)`` of the states of ``env``: from ``shape`` or the env itself."""
    if shape is None:
        shape = getattr(env, "shape", None)
        if shape is None and isinstance(getattr(env, "size", None), numbers.Integral):
            shape = (env.size, env.size)
        if shape is None:
            raise ValueError(
                f"cannot tell the grid layout of a {type(env).__name__}; pass "
                "shape=(rows, cols)."
            )
    try:
        rows, cols = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a (rows, cols) pair, got {shape!r}.") from None
    if rows < 1 or cols < 1:
        raise ValueError(f"shape must be positive, got {shape!r}.")
    if rows * cols > env.n_states:
        raise ValueError(
            f"shape {(rows, cols)} has {rows * cols} cells but the env has only "
            f"{env.n_states} states."
        )
    return rows, cols


def _state_array(values, env, name, reduce="max"):
    """``(S,)`` float values from ``(S,)`` or ``(S, A)`` input (reducing over actions)."""
    if hasattr(values, "fit") and hasattr(values, "get_params"):
        raise TypeError(
            f"{name} must be an array, got the estimator {type(values).__name__}; pass its "
            "fitted reward_ (or predict_reward(...)) instead."
        )
    arr = as_float_array(values, name)
    S, A = env.n_states, env.n_actions
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    if arr.shape == (S, A):
        with np.errstate(over="ignore"):
            if reduce == "max":
                arr = arr.max(axis=1)
            elif reduce == "mean":  # the mean of finite values is finite: scale first
                top = np.abs(arr).max()
                arr = arr.mean(axis=1) if top <= 1.0 else (arr / top).mean(axis=1) * top
            elif reduce == "sum":
                arr = arr.sum(axis=1)
            else:
                raise ValueError(f"reduce must be 'max', 'mean' or 'sum', got {reduce!r}.")
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"{name}: the {reduce} over actions overflows float64; rescale it, or use "
                "reduce='max'."
            )
    elif arr.shape != (S,):
        raise ValueError(f"{name} must have shape ({S},) or ({S}, {A}), got {arr.shape}.")
    return arr


def _standardize(values):
    """Zero mean, unit standard deviation (values near 1e308 are scaled first: their
    variance would overflow and draw a blank panel)."""
    top = np.abs(values).max()
    if top > 0:
        values = values / top
    std = values.std()
    return (values - values.mean()) / (std if std > 0 else 1.0)


def _heat_map(ax, grid, *, cmap, title, colorbar, vmin=None, vmax=None, norm=None):
    if norm is not None:
        vmin = vmax = None  # the norm carries the limits
    image = ax.imshow(grid, cmap=cmap, origin="upper", vmin=vmin, vmax=vmax, norm=norm,
                      interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return image


def plot_reward(env, reward, *, ax=None, shape=None, reduce="max", cmap="viridis",
                title=None, colorbar=True):
    """Heat map of a reward over the cells of a grid environment.

    Parameters
    ----------
    env : TabularMDP
        A grid env (:class:`~sklirl.envs.GridWorld`, :class:`~sklirl.envs.ObjectWorld`) or
        any tabular env with ``shape`` given.
    reward : array-like of shape (S,) or (S, A)
        A state reward, or a state-action reward reduced over actions with ``reduce``.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure's when None.
    shape : (int, int), default=None
        Rows and columns of the grid; read from the env when None.
    reduce : {"max", "mean", "sum"}, default="max"
        How an ``(S, A)`` reward becomes one value per state.
    cmap : str, default="viridis"
    title : str, default=None
    colorbar : bool, default=True

    Returns
    -------
    ax : matplotlib Axes

    See Also
    --------
    plot_reward_comparison : several rewards side by side.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.plotting import plot_reward
    >>> env = GridWorld(size=4)
    >>> ax = plot_reward(env, env.reward, title="true reward")
    >>> ax.images[0].get_array().shape
    (4, 4)
    """
    env = check_tabular_env(env)
    rows, cols = _grid_layout(env, shape)
    values = _state_array(reward, env, "reward", reduce)
    ax = _new_axes(ax)
    _heat_map(ax, values[: rows * cols].reshape(rows, cols), cmap=cmap, title=title,
              colorbar=colorbar)
    return ax


def plot_reward_comparison(env, rewards, *, shape=None, reduce="max", standardize=True,
                           cmap="viridis", figsize=None):
    """True and recovered rewards side by side, one heat map per reward.

    IRL recovers a reward only up to scale and shift (and shaping), so by default each map is
    standardised (zero mean, unit standard deviation over the drawn cells) and all maps share
    one colour scale.

    Parameters
    ----------
    env : TabularMDP
        A grid env, or any tabular env with ``shape`` given.
    rewards : dict of str to array-like of shape (S,) or (S, A)
        Panel titles and rewards, drawn left to right.
    shape : (int, int), default=None
        Rows and columns; read from the env when None.
    reduce : {"max", "mean", "sum"}, default="max"
        How an ``(S, A)`` reward becomes one value per state.
    standardize : bool, default=True
        Standardise each reward and share one colour scale; otherwise each panel has its own.
    cmap : str, default="viridis"
    figsize : (float, float), default=None
        ``(3.2 * n_rewards, 3.2)`` when None.

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.plotting import plot_reward_comparison
    >>> env = GridWorld(size=4)
    >>> fig = plot_reward_comparison(env, {"true": env.reward, "noisy": env.reward + 0.1})
    >>> [ax.get_title() for ax in fig.axes if ax.images]
    ['true', 'noisy']
    """
    env = check_tabular_env(env)
    if not isinstance(rewards, Mapping) or not rewards:
        raise TypeError("rewards must be a non-empty dict of title -> reward array.")
    rows, cols = _grid_layout(env, shape)
    grids = {}
    for title, reward in rewards.items():
        values = _state_array(reward, env, f"rewards[{title!r}]", reduce)[: rows * cols]
        if standardize:
            values = _standardize(values)
        if str(title) in grids:  # e.g. 1 and "1": one panel would silently replace the other
            raise ValueError(
                f"two rewards have the title {str(title)!r}; give every panel its own title."
            )
        grids[str(title)] = values.reshape(rows, cols)
    n = len(grids)
    plt = _pyplot()
    fig, axes = plt.subplots(1, n, figsize=figsize or (3.2 * n, 3.2), squeeze=False,
                             layout="constrained")
    vmin = min(g.min() for g in grids.values()) if standardize else None
    vmax = max(g.max() for g in grids.values()) if standardize else None
    image = None
    for ax, (title, grid) in zip(axes[0], grids.items()):
        image = _heat_map(ax, grid, cmap=cmap, title=title, colorbar=not standardize,
                          vmin=vmin, vmax=vmax)
    if standardize:
        fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="standardised reward")
    return fig


def _policy_probs(policy, env):
    if hasattr(policy, "fit") and hasattr(policy, "get_params"):  # an estimator
        check_is_fitted(policy, "policy_")
    if hasattr(policy, "policy_"):  # a fitted estimator
        policy = policy.policy_
    return check_policy(policy, env).at(0)


def plot_policy(env, policy, *, ax=None, shape=None, moves=None, background=None,
                cmap="Greys", color="C3", title=None):
    """Arrows of a policy's expected move in each cell of a grid environment.

    The arrow in cell ``s`` is ``sum_a pi(a | s) * move(a)``: a deterministic policy draws a
    full-length arrow, a stochastic one a shorter arrow in its average direction.

    Parameters
    ----------
    env : TabularMDP
    policy : TabularPolicy, array-like of shape (S, A) or (H, S, A), or fitted estimator
        Time-indexed policies are drawn at ``t = 0``; an estimator's ``policy_`` is used.
    ax : matplotlib Axes, default=None
    shape : (int, int), default=None
        Rows and columns; read from the env when None.
    moves : sequence of (int, int), default=None
        ``(d_row, d_col)`` of each action. Known for GridWorld (up, right, down, left) and
        ObjectWorld (stay, up, right, down, left); required for other envs (FrozenLake:
        ``[(0, -1), (1, 0), (0, 1), (-1, 0)]``).
    background : array-like of shape (S,) or (S, A), default=None
        Values drawn as a heat map under the arrows (a reward or state values).
    cmap : str, default="Greys"
        Colour map of the background.
    color : str, default="C3"
        Colour of the arrows.
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.plotting import plot_policy
    >>> env = GridWorld(size=3)
    >>> right = np.tile([0.0, 1.0, 0.0, 0.0], (9, 1))
    >>> ax = plot_policy(env, right, background=env.reward)
    >>> q = ax.collections[0]
    >>> q.U.tolist()[:3], q.V.tolist()[:3]
    ([1.0, 1.0, 1.0], [0.0, 0.0, 0.0])
    """
    env = check_tabular_env(env)
    rows, cols = _grid_layout(env, shape)
    probs = _policy_probs(policy, env)
    if moves is None:
        if type(env).__name__ == "GridWorld":
            moves = _GRID_MOVES
        elif type(env).__name__ == "ObjectWorld":
            moves = _OBJECT_MOVES
        else:
            raise ValueError(
                f"the action meanings of a {type(env).__name__} are unknown; pass moves, one "
                "(d_row, d_col) per action."
            )
    moves = np.asarray(moves, dtype=np.float64)
    if moves.shape != (env.n_actions, 2) or not np.all(np.isfinite(moves)):
        raise ValueError(
            f"moves must be {env.n_actions} (d_row, d_col) pairs, got shape {moves.shape}."
        )
    ax = _new_axes(ax)
    if background is not None:
        values = _state_array(background, env, "background")
        _heat_map(ax, values[: rows * cols].reshape(rows, cols), cmap=cmap, title=None,
                  colorbar=True)
    else:
        ax.set_xlim(-0.5, cols - 0.5)
        ax.set_ylim(rows - 0.5, -0.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
    mean_move = probs[: rows * cols] @ moves  # (cells, 2): (d_row, d_col)
    r, c = np.divmod(np.arange(rows * cols), cols)
    # Axes run with rows downwards, so angles="xy" in data units draws d_row > 0 downwards.
    ax.quiver(c, r, mean_move[:, 1], mean_move[:, 0], angles="xy", scale_units="xy",
              scale=1.0 / 0.4, pivot="middle", color=color, width=0.012)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_occupancy(env, occupancy, *, ax=None, shape=None, normalize=True, cmap="magma",
                   title=None, colorbar=True, log=False):
    """Heat map of a state (or state-action) occupancy measure over a grid.

    Parameters
    ----------
    env : TabularMDP
    occupancy : array-like of shape (S,) or (S, A)
        Non-negative visitation, such as :func:`sklirl.expectations.occupancy_measure` or
        :func:`sklirl.expectations.empirical_occupancy`; state-action values are summed over
        actions.
    ax : matplotlib Axes, default=None
    shape : (int, int), default=None
        Rows and columns; read from the env when None.
    normalize : bool, default=True
        Divide by the total mass so the map is a distribution over states.
    cmap : str, default="magma"
    title : str, default=None
    colorbar : bool, default=True
    log : bool, default=False
        Logarithmic colour scale, for maps dominated by a few cells (such as an absorbing
        goal that collects the discounted mass of every later step). Colours span four
        decades below the maximum; smaller values, zeros included, get the lowest colour.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.expectations import occupancy_measure
    >>> from sklirl.plotting import plot_occupancy
    >>> env = GridWorld(size=3, gamma=0.9)
    >>> d = occupancy_measure(env, np.full((9, 4), 0.25))
    >>> ax = plot_occupancy(env, d)
    >>> round(float(ax.images[0].get_array().sum()), 6)
    1.0
    >>> plot_occupancy(env, d, log=True).images[0].norm.__class__.__name__
    'LogNorm'
    """
    env = check_tabular_env(env)
    rows, cols = _grid_layout(env, shape)
    values = _state_array(occupancy, env, "occupancy", reduce="sum")
    if (values < 0).any():
        raise ValueError("occupancy must be non-negative.")
    if normalize:
        if values.max() <= 0:
            raise ValueError("occupancy has zero total mass; it cannot be normalised.")
        values = values / values.max()  # first: a sum of entries near 1e308 overflows
        values = values / values.sum()
    grid = values[: rows * cols].reshape(rows, cols)
    norm = None
    if log:
        top = grid.max()
        if top <= 0:
            raise ValueError("log=True needs a positive occupancy somewhere on the grid.")
        from matplotlib.colors import LogNorm

        norm = LogNorm(vmin=top * 1e-4, vmax=top, clip=True)
        grid = np.maximum(grid, top * 1e-4)
    ax = _new_axes(ax)
    _heat_map(ax, grid, cmap=cmap, title=title, colorbar=colorbar, norm=norm)
    return ax


def _history_series(history):
    """``{key: 1-D float array}`` from a dict of sequences, a list of dicts or an estimator."""
    if hasattr(history, "fit") and hasattr(history, "get_params"):  # an estimator
        check_is_fitted(history, "history_")
    if hasattr(history, "history_"):
        history = history.history_
    if isinstance(history, Mapping):
        items = dict(history)
    elif isinstance(history, Sequence) and not isinstance(history, str) and all(
        isinstance(h, Mapping) for h in history
    ):
        keys = list(dict.fromkeys(k for h in history for k in h))
        items = {k: [h.get(k, np.nan) for h in history] for k in keys}
    else:
        raise TypeError(
            "history must be a dict of per-iteration sequences, a list of per-iteration "
            f"dicts, or a fitted estimator with history_, got {type(history).__name__}."
        )
    series = {}
    for key, values in items.items():
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            continue  # not a numeric curve (e.g. a list of policies)
        if arr.ndim == 1 and arr.size:
            series[key] = arr
    return series


def plot_learning_curve(history, keys=None, *, ax=None, reference=None, logy=False,
                        xlabel="iteration", title=None):
    """Curves of per-iteration diagnostics, such as an estimator's ``history_``.

    Parameters
    ----------
    history : dict, list of dict, or fitted estimator
        ``{"margin": [...], "feature_gap": [...]}``, or one dict per iteration, or an
        estimator whose ``history_`` is one of those. Non-numeric entries are skipped.
    keys : str or list of str, default=None
        Which curves to draw; every numeric 1-D entry when None.
    ax : matplotlib Axes, default=None
    reference : dict of str to float, default=None
        Horizontal reference lines, such as ``{"expert return": 500.0}``.
    logy : bool, default=False
        Logarithmic y axis (for margins and gaps that shrink geometrically).
    xlabel : str, default="iteration"
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklirl.plotting import plot_learning_curve
    >>> history = {"margin": [1.0, 0.5, 0.25], "feature_gap": [2.0, 1.0, 0.1]}
    >>> ax = plot_learning_curve(history, reference={"epsilon": 0.1}, logy=True)
    >>> [line.get_label() for line in ax.get_lines()]
    ['margin', 'feature_gap', 'epsilon']
    """
    series = _history_series(history)
    if keys is None:
        keys = list(series)
        if not keys:
            raise ValueError("history has no numeric per-iteration entries to plot.")
    elif isinstance(keys, str):
        keys = [keys]
    missing = [k for k in keys if k not in series]
    if missing:
        raise ValueError(
            f"history has no numeric entries {missing}; available: {sorted(series)}."
        )
    if logy and any(np.nanmin(series[k]) <= 0 for k in keys):
        raise ValueError("logy=True needs positive values; some curves have values <= 0.")
    ax = _new_axes(ax, figsize=(5.0, 3.5))
    for key in keys:
        values = series[key]
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=key)
    for i, (label, value) in enumerate((reference or {}).items()):
        ax.axhline(float(value), color=f"C{len(keys) + i}", linestyle="--", label=label)
    if logy:
        ax.set_yscale("log")
        _readable_log_ticks(ax, np.concatenate([series[k] for k in keys]))
    ax.set_xlabel(xlabel)
    ax.legend()
    if title is not None:
        ax.set_title(title)
    return ax


def _readable_log_ticks(ax, values):
    """Log-axis tick labels that do not collide.

    Matplotlib labels some minor ticks of a log axis spanning about a decade in scientific
    notation (``3 x 10^-1`` over ``2 x 10^-1``), and they overlap. Within two decades, label
    the powers of ten and the 2 and 5 multiples in plain numbers; beyond, only the powers.
    """
    ticker = import_optional("matplotlib.ticker", "sklirl.plotting", "plot")
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return
    low, high = values.min(), values.max()
    plain = 1e-4 <= low and high < 1e6

    def label(value, pos=None):
        if plain:
            return f"{value:g}"
        return f"$10^{{{np.log10(value):.0f}}}$"

    ax.yaxis.set_major_locator(ticker.LogLocator(base=10.0))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(label))
    if np.log10(high / low) <= 2.0:
        ax.yaxis.set_minor_locator(ticker.LogLocator(base=10.0, subs=(2.0, 5.0)))
        ax.yaxis.set_minor_formatter(
            ticker.FuncFormatter(label) if plain else ticker.NullFormatter())
    else:
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())


def plot_evd_curve(n_demos, evds_by_estimator, *, ax=None, logx=True, title=None):
    """Expected value difference against the number of demonstrations, one line per method.

    Parameters
    ----------
    n_demos : array-like of shape (n_points,)
        Numbers of demonstrations (positive).
    evds_by_estimator : dict of str to array-like of shape (n_points,) or (n_seeds, n_points)
        EVDs per estimator; with several seeds the line is the mean and the band one standard
        deviation.
    ax : matplotlib Axes, default=None
    logx : bool, default=True
        Logarithmic x axis.
    title : str, default=None

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklirl.plotting import plot_evd_curve
    >>> ax = plot_evd_curve([2, 8, 32], {"MaxEntIRL": [[3.0, 1.0, 0.2], [2.0, 1.2, 0.1]]})
    >>> ax.get_lines()[0].get_ydata().round(3).tolist()
    [2.5, 1.1, 0.15]
    """
    x = np.asarray(n_demos, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)) or (x <= 0).any():
        raise ValueError("n_demos must be a non-empty 1-D array of positive numbers.")
    if not isinstance(evds_by_estimator, Mapping) or not evds_by_estimator:
        raise TypeError("evds_by_estimator must be a non-empty dict of name -> EVD array.")
    ax = _new_axes(ax, figsize=(5.0, 3.5))
    for name, evds in evds_by_estimator.items():
        y = np.asarray(evds, dtype=np.float64)
        if y.ndim == 1:
            y = y[None, :]
        if y.ndim != 2 or y.shape[1] != x.size:
            raise ValueError(
                f"evds_by_estimator[{name!r}] must have shape ({x.size},) or (n_seeds, "
                f"{x.size}), got {np.shape(evds)}."
            )
        if not np.all(np.isfinite(y)):
            raise ValueError(f"evds_by_estimator[{name!r}] contains NaN or infinity.")
        mean = y.mean(axis=0)
        (line,) = ax.plot(x, mean, marker="o", label=str(name))
        if y.shape[0] > 1:
            std = y.std(axis=0)
            ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel("number of demonstrations")
    ax.set_ylabel("expected value difference")
    ax.legend()
    if title is not None:
        ax.set_title(title)
    return ax
