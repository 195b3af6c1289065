"""A multilayer-perceptron reward trained through the MaxEnt IRL gradient (torch, lazily imported).

Maximum Entropy Deep IRL (Wulfmeier et al. 2015): the gradient of the MaxEnt dual with respect
to the reward of each state is the visitation gap ``(d_pi(s) - d_E(s)) / M``; back-propagating
it through the network gives the gradient in the network's weights.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

from ..utils._optional import import_torch
from ..utils._persistence import TorchStatePickleMixin
from ..utils._torch import mlp, torch_threads
from ..utils._validation import MAX_SEED, check_hidden_layer_sizes

__all__ = ["MLPReward"]


def _make_optimizer(torch, parameters, learning_rate, weight_decay):
    if weight_decay > 0:
        return torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=weight_decay)
    return torch.optim.Adam(parameters, lr=learning_rate)


class MLPReward(TorchStatePickleMixin):
    """``r_theta(x)``: an MLP from feature rows to a scalar reward, with its Adam optimizer.

    Parameters
    ----------
    n_features : int
        Input width.
    hidden_layer_sizes : sequence of int
        Widths of the hidden layers (ReLU).
    random_state : int, RandomState instance or None
        Seeds the weight initialisation (torch's global RNG is left untouched).
    """

    def __init__(self, n_features, hidden_layer_sizes, random_state=None):
        torch = import_torch("MaxEntIRL(reward_model='mlp')")
        sizes = check_hidden_layer_sizes(hidden_layer_sizes)
        self.n_features = int(n_features)
        self.hidden_layer_sizes = sizes
        seed = int(check_random_state(random_state).randint(MAX_SEED))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.module = mlp(self.n_features, sizes, 1).double()
        self.l2 = 0.0
        self.optimizer, self._optimizer_args = None, None

    _torch_state = ("module", "optimizer")

    def _build_torch_state(self):  # unpickling: the saved states are loaded into them
        torch = import_torch("MaxEntIRL(reward_model='mlp')")
        self.module = mlp(self.n_features, self.hidden_layer_sizes, 1).double()
        if self._optimizer_args is not None:
            self.optimizer = _make_optimizer(torch, self.module.parameters(),
                                             *self._optimizer_args)

    def set_optimizer(self, learning_rate, l2, weight_decay=0.0):
        """(Re)create the optimizer with step ``learning_rate``; ``l2`` penalises rewards.

        Adam, or with ``weight_decay > 0`` AdamW (Adam with decoupled weight decay, which
        shrinks the network's weights toward 0 by ``learning_rate * weight_decay`` per step).
        """
        torch = import_torch("MaxEntIRL(reward_model='mlp')")
        self.l2 = float(l2)
        self._optimizer_args = (learning_rate, weight_decay)
        self.optimizer = _make_optimizer(torch, self.module.parameters(), *self._optimizer_args)

    def _forward(self, X):
        torch = import_torch("MaxEntIRL(reward_model='mlp')")
        return self.module(torch.as_tensor(X, dtype=torch.float64)).reshape(-1)

    def predict(self, X):
        """Rewards ``(n,)`` of the feature rows ``X`` (n, n_features)."""
        torch = import_torch("MaxEntIRL(reward_model='mlp')")
        with torch.no_grad(), torch_threads(1):
            return self._forward(X).numpy().copy()

    def penalty(self, X):
        """``l2 / 2 * mean(r(X)^2)``: the penalty on the reward values."""
        if not self.l2:
            return 0.0
        return 0.5 * self.l2 * float(np.mean(self.predict(X) ** 2))

    def backward_step(self, X, reward_grad):
        """One optimizer step along ``d loss / d theta = J^T (reward_grad + l2 r / n)``."""
        torch = import_torch("MaxEntIRL(reward_model='mlp')")
        with torch_threads(1):
            self.optimizer.zero_grad()
            r = self._forward(X)
            surrogate = r @ torch.as_tensor(reward_grad, dtype=torch.float64)
            if self.l2:
                surrogate = surrogate + 0.5 * self.l2 * (r**2).mean()
            surrogate.backward()
            self.optimizer.step()
