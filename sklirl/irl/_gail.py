"""Generative adversarial imitation learning (Ho & Ermon, 2016).

The module imports without torch; :meth:`GAIL.fit` imports it (and the discriminator and PPO
modules) on first use.
"""

from __future__ import annotations

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..utils._optional import import_torch
from ..utils._validation import check_hidden_layer_sizes
from ._adversarial import BaseAdversarialIRL

__all__ = ["GAIL"]

_REWARD_FORMS = ("-log D", "log(1-D)", "logit")


class GAIL(BaseAdversarialIRL):
    """Generative adversarial imitation learning (GAIL).

    A discriminator ``D_w(s, a) = sigmoid(f_w(s, a))`` learns to tell the current policy's
    state-actions (``D -> 1``) from the expert's (``D -> 0``); the policy then takes one step of
    maximum-entropy reinforcement learning on the pseudo-reward ``R(s, a) = log(1 - D_w(s, a))
    - log D_w(s, a)`` (``reward_form``).
    Each round, in the order of Ho & Ermon's (2016) Algorithm 1:

    1. sample state-actions from the current policy (tabular envs: its exact occupancy measure);
    2. take ``n_disc_updates`` gradient steps on the discriminator's logistic loss, policy
       samples against expert samples;
    3. take one policy step of maximum-entropy RL on ``R`` with entropy weight
       ``entropy_coef``: soft value iteration (exact) on a :class:`~sklirl.envs.TabularMDP`,
       one PPO update on a gymnasium environment.

    Parameters
    ----------
    features : transformer or None, default=None
        Tabular envs only: the feature map whose state features (copied per action, see
        :func:`~sklirl.features.state_action_features`) the discriminator sees. None means
        :class:`~sklirl.features.OneHotStates`, i.e. one-hot state-action inputs. Gymnasium envs
        feed the observation (one-hot when Discrete) concatenated with the action (one-hot when
        Discrete).
    reward_form : {"logit", "-log D", "log(1-D)"}, default="logit"
        The pseudo-reward the policy maximises. ``"logit"`` ``= log(1 - D) - log D`` (AIRL's;
        at the optimal discriminator ``log rho_E / rho_pi``) has no sign: it is the default
        because, with the absorbing state that terminated episodes go on in (gymnasium envs,
        see :ref:`gail_terminations`), it lets the demos say whether ending an episode is good
        or bad. ``"-log D"`` (Ho & Ermon's) is positive and saturates at 0 where the policy
        goes and the expert does not, ``"log(1-D)"`` is negative and saturates at 0 where the
        expert goes: each bounds one side of the absorbing state's reward, so each keeps a bias
        towards surviving (``"-log D"``) or ending (``"log(1-D)"``) episodes.
    entropy_coef : float or None, default=None
        Entropy weight ``lambda`` of the policy step: the temperature of soft value iteration
        (tabular, must be positive) or PPO's entropy bonus (gymnasium). None uses 0.1 on tabular
        envs (the -log D reward is in nats; much lower temperatures make the exact best
        response nearly deterministic and the alternation slow to settle), 0.01 for PPO with
        Discrete actions, whose bonus is weighed against standardised advantages, and 0 for
        PPO with Box actions, whose Gaussian's standard deviation is learned (see
        :ref:`gail_continuous`).
    max_iter : int, default=200
        Number of GAIL rounds. On gymnasium envs a round collects ``solver.n_envs *
        solver.n_steps`` environment steps.
    n_disc_updates : int, default=4
        Discriminator gradient steps per round (``k`` of Goodfellow et al.'s (2014) GAN algorithm).
    disc_learning_rate : float, default=1e-3
        Adam step size of the discriminator.
    disc_batch_size : int, default=512
        Gymnasium envs: policy samples and expert samples per discriminator step (each). Tabular
        envs train on the full (occupancy-weighted) batch.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden layers of the discriminator's MLP (ReLU); ``()`` is a linear logit.
    grad_penalty : float, default=0.0
        Weight of the gradient penalty ``E[(||grad f(x_hat)|| - 1)^2]`` on interpolations of
        policy and expert inputs; 0 disables it.
    normalize_inputs : bool, default=True
        Standardise the discriminator's continuous (non one-hot) input columns with running
        statistics of the expert and policy samples (gymnasium) or of the feature matrix (tabular).
    solver : PPO, stable-baselines3 on-policy algorithm or None, default=None
        Gymnasium envs: the policy optimiser. None uses :class:`~sklirl.solvers.PPO` with
        ``n_envs=8, n_steps=256, n_epochs=10, batch_size=256`` and, for Discrete actions,
        ``learning_rate=3e-4, gamma=0.99``, for Box actions ``learning_rate=1e-3`` decayed
        linearly to 0 over the ``max_iter`` rounds and ``gamma=0.95`` (continuous control:
        :ref:`gail_continuous`); a given :class:`~sklirl.solvers.PPO` is cloned, with its
        ``entropy_coef`` set to ``entropy_coef`` and its ``device`` to ``device_``. A
        stable-baselines3 ``PPO`` or ``A2C``
        built on the env (with its own settings) is trained in place, a rollout per round, on
        the discriminator's reward (optional extra ``sb3``); its env must have the spaces of the
        env given to ``fit`` (a ``ValueError`` otherwise). ``clone`` (and so ``GridSearchCV`` and
        ``cross_val_score``) deep-copies the parameters, which torch refuses for an algorithm
        that has already been trained (a ``RuntimeError``): give each GAIL a fresh, untrained
        algorithm. Ignored on tabular envs, whose policy step is
        ``SoftValueIteration(temperature=entropy_coef)``.
    expectation : ExactExpectation, MonteCarloExpectation or None, default=None
        Tabular envs: how the policy's state-action distribution is obtained each round. None is
        the exact occupancy measure (no sampling noise); a
        :class:`~sklirl.expectations.MonteCarloExpectation` samples rollouts instead (seeded
        from ``random_state`` unless it has a ``random_state`` of its own).
    bc_pretrain_epochs : int, default=0
        Warm start the policy with behavioural cloning: epochs of maximum-likelihood training on
        the demos' state-actions (gymnasium envs, with the library's PPO; a ``ValueError`` with a
        stable-baselines3 solver, whose policy you pre-train yourself). On tabular envs any
        positive value starts from the count-based behavioural cloning policy (smoothed towards
        uniform); since each soft value iteration step solves from scratch, this changes only
        the policy the first round samples from (and so the first discriminator steps), not the
        later policies directly. Ignored when ``warm_start`` resumes a previous fit.
    n_average_rounds : int, default=20
        Tabular envs: iterate averaging. The policy and the discriminator play a saddle-point
        game whose iterates cycle around the equilibrium rather than settle on it (the best
        response to each discriminator overshoots), so the last round's policy is a noisy
        estimate of the solution. ``policy_`` is instead the policy whose occupancy measure is
        the exponential moving average, with time constant ``n_average_rounds`` rounds, of the
        rounds' exact occupancy measures: the mixture of the recent policies, the standard
        remedy for GAN-like games (its true value is the same average of theirs). ``1``
        returns the last round's policy, the soft best response to ``reward_``. The iterates
        themselves are unchanged (``history_`` does not depend on it). Ignored on gymnasium
        envs, where ``policy_`` is the last PPO policy.
    warm_start : bool, default=False
        Continue from the previous fit (the same kind of env, with the same spaces) instead of
        starting afresh: the discriminator (weights, Adam state, input statistics) and the
        policy (tabular: the last round's policy and the averaged occupancy; PPO: the policy's
        weights, observation statistics and Adam state) are taken over, ``max_iter`` more rounds
        run, and ``history_`` and ``n_iter_`` count on. After a ``KeyboardInterrupt`` the
        estimator holds the last complete round, so fitting again with ``warm_start=True``
        resumes from it (on tabular envs with exact occupancies, interrupting after round ``k``
        and resuming for ``n - k`` rounds gives the same fit as ``n`` uninterrupted rounds). A
        stable-baselines3 solver is trained in place, so its policy always continues.
    callback : callable or None, default=None
        Called as ``callback(gail, row)`` after each round, with ``policy_`` (and on tabular
        envs ``reward_``) set to what the fit would return if it stopped there; ``row`` is the
        round's ``history_`` entry. Training stops early when it returns True (learning curves,
        evaluation, early stopping).
    device : {"cpu", "cuda", "auto"} or str, default="cpu"
        Where the discriminator and the PPO networks train; "auto" picks CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds the networks, the sampling and the environments. With a fixed seed, fits on the
        CPU are bit-identical.
    verbose : int, default=0
        Report each round's discriminator loss and accuracies, policy entropy and true return
        on stderr: a progress bar on a terminal, one line per round otherwise (and always
        with ``verbose > 1``).

    Attributes
    ----------
    policy_ : TabularPolicy or TorchPolicy
        The learned policy: on tabular envs the policy of the averaged occupancy of the last
        rounds (see ``n_average_rounds``), on gymnasium envs the last PPO policy.
    discriminator_ : Discriminator
        The trained discriminator.
    reward_ : ndarray of shape (S, A)
        Tabular envs: the learned reward ``R(s, a)`` of the last discriminator.
    features_ : transformer
        Tabular envs: the fitted feature map.
    solver_ : SoftValueIteration, PPO or stable-baselines3 algorithm
        The policy optimiser used.
    device_ : str
        The resolved device.
    entropy_coef_ : float
        The entropy weight used (``entropy_coef`` or its default for the env's kind).
    env_ : TabularMDP or gymnasium.Env
        The environment seen in ``fit``.
    n_iter_ : int
        Rounds run (with ``warm_start``, since the last cold start).
    history_ : dict of ndarray
        One entry per round in each array: ``disc_loss``, ``disc_accuracy_expert``,
        ``disc_accuracy_policy``, ``policy_entropy``, ``true_return`` (mean return of the
        episodes that ended in the round's rollout, or on tabular envs the exact value under
        ``env.reward`` of the round's policy, before averaging; NaN when unknown) and
        ``env_steps`` (so far; 0 for exact tabular rounds). Only complete rounds are recorded.

    See Also
    --------
    sklirl.solvers.PPO : The policy step on gymnasium environments.
    sklirl.solvers.SoftValueIteration : The policy step on tabular environments.

    Notes
    -----
    GAIL solves the saddle-point problem

    .. math:: \\min_\\pi \\max_w \\; E_\\pi[\\log D_w(s, a)] + E_{\\pi_E}[\\log(1 - D_w(s, a))]
              - \\lambda H(\\pi),

    whose inner maximum over unrestricted discriminators is attained at
    :math:`D^*(s, a) = \\rho_\\pi(s, a) / (\\rho_\\pi(s, a) + \\rho_E(s, a))`, turning the outer
    problem into minimising the Jensen-Shannon divergence between the occupancy measures minus
    the causal entropy.

    References
    ----------
    .. [1] J. Ho and S. Ermon, "Generative Adversarial Imitation Learning", NeurIPS 2016.
    .. [2] J. Fu, K. Luo and S. Levine, "Learning Robust Rewards with Adversarial Inverse
       Reinforcement Learning", ICLR 2018 (the ``"logit"`` reward).
    .. [3] I. Kostrikov et al., "Discriminator-Actor-Critic: Addressing Sample Inefficiency and
       Reward Bias in Adversarial Imitation Learning", ICLR 2019 (the reward forms' biases).

    Examples
    --------
    >>> from sklirl import GAIL
    >>> from sklirl.envs import GridWorld
    >>> from sklirl.datasets import make_expert_demos
    >>> env = GridWorld(3, gamma=0.9)
    >>> demos, expert = make_expert_demos(env, 20, horizon=10, temperature=0.1, random_state=0)
    >>> gail = GAIL(max_iter=20, random_state=0).fit(demos, env)
    >>> gail.reward_.shape, gail.predict([0, 4]).shape
    ((9, 4), (2,))
    """

    _actions_reason = (
        "its discriminator tells the expert's (state, action) pairs from the policy's; a "
        "discriminator on states or state pairs (learning from observation) is not "
        "implemented yet, and MaxEntIRL(reward_input='state') learns a state reward from "
        "state-only demonstrations in tabular envs")

    # Box actions: the generator's default PPO and entropy weight for continuous control
    # (sklirl/irl/_generators.py default_ppo_params; docs: gail_continuous)
    _box_ppo_defaults = True

    _parameter_constraints: dict = {
        **BaseAdversarialIRL._parameter_constraints,
        "reward_form": [StrOptions(set(_REWARD_FORMS))],
        "entropy_coef": [Interval(Real, 0, None, closed="left"), None],
        "hidden_layer_sizes": ["array-like"],
        "grad_penalty": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        features=None,
        *,
        reward_form="logit",
        entropy_coef=None,
        max_iter=200,
        n_disc_updates=4,
        disc_learning_rate=1e-3,
        disc_batch_size=512,
        hidden_layer_sizes=(64, 64),
        grad_penalty=0.0,
        normalize_inputs=True,
        solver=None,
        expectation=None,
        bc_pretrain_epochs=0,
        n_average_rounds=20,
        warm_start=False,
        callback=None,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        self.features = features
        self.reward_form = reward_form
        self.entropy_coef = entropy_coef
        self.max_iter = max_iter
        self.n_disc_updates = n_disc_updates
        self.disc_learning_rate = disc_learning_rate
        self.disc_batch_size = disc_batch_size
        self.hidden_layer_sizes = hidden_layer_sizes
        self.grad_penalty = grad_penalty
        self.normalize_inputs = normalize_inputs
        self.solver = solver
        self.expectation = expectation
        self.bc_pretrain_epochs = bc_pretrain_epochs
        self.n_average_rounds = n_average_rounds
        self.warm_start = warm_start
        self.callback = callback
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _absorbing = True  # gymnasium envs: terminations go on in a learned absorbing state

    def _make_discriminator(self, generator, expert, seed):
        from ._discriminator import Discriminator

        torch = import_torch("GAIL")
        mask = generator.continuous_mask
        disc = Discriminator(
            generator.input_dim, check_hidden_layer_sizes(self.hidden_layer_sizes),
            normalize_mask=mask if self.normalize_inputs else None,
            learning_rate=self.disc_learning_rate, grad_penalty=self.grad_penalty,
            device=self.device_, dtype=getattr(torch, generator.dtype),
            generator=torch.Generator().manual_seed(int(seed)),
        )
        if generator.full_batch and mask.any() and self.normalize_inputs:
            disc.update_input_stats(expert.inputs)  # the whole table is known: its statistics
        return disc

    def _generator_reward(self, samples):
        return self.discriminator_.reward(samples.inputs, self.reward_form)
