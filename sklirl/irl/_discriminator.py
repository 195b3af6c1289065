"""GAIL's discriminator: a torch MLP ``D_w(s, a) = sigmoid(f_w(x(s, a)))`` and its training step.

Ho & Ermon's (2016) convention is used throughout: ``D -> 1`` on the policy's state-actions and
``D -> 0`` on the expert's, so ``-log D`` is large where the expert goes. The module imports
torch at the top; :mod:`sklirl.irl._gail` imports it only inside ``fit``.

The logistic loss of a batch of policy inputs ``x_pi`` with weights ``w_pi`` and expert inputs
``x_E`` with weights ``w_E`` (each set of weights summing to one) is

    L(w) = sum_i w_pi_i softplus(-f(x_pi_i)) + sum_j w_E_j softplus(f(x_E_j)),

i.e. the binary cross-entropy with label 1 on the policy and 0 on the expert. Minibatches use
uniform weights; the tabular path uses the exact (normalised) occupancy measures as weights, so
one full-batch step is a step on the population loss, whose minimiser over free logits is
``D*(s, a) = rho_pi(s, a) / (rho_pi(s, a) + rho_E(s, a))``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch.nn import functional as F

from ..utils._persistence import (
    TorchStatePickleMixin,
    copy_training_state,
    restore_training_state,
)
from ..utils._running_stats import standardize, update_running_moments
from ..utils._torch import mlp

__all__ = ["Discriminator", "reward_from_logits", "REWARD_FORMS"]


#: The published reward forms, as functions of the logit f = log D - log(1 - D).
REWARD_FORMS = ("-log D", "log(1-D)", "logit")


def reward_from_logits(logits, reward_form):
    """The pseudo-reward ``R(s, a)`` for discriminator logits ``f = log(D / (1 - D))``.

    ``"-log D"`` is ``softplus(-f) > 0``, ``"log(1-D)"`` is ``-softplus(f) < 0`` and ``"logit"``
    is ``log(1 - D) - log D = -f``. Works on numpy arrays and torch tensors.
    """
    if isinstance(logits, torch.Tensor):
        softplus = F.softplus
    else:
        logits = np.asarray(logits, dtype=np.float64)

        def softplus(z):
            return np.logaddexp(0.0, z)

    if reward_form == "-log D":
        return softplus(-logits)
    if reward_form == "log(1-D)":
        return -softplus(logits)
    if reward_form == "logit":
        return -logits
    raise ValueError(f"reward_form must be one of {REWARD_FORMS}, got {reward_form!r}.")


def _weighted_mean(weights, correct):
    """Weighted share of ``correct`` inputs; exactly 1 when all are, whatever the weights' sum."""
    return (weights * correct).sum() / weights.sum()


class Discriminator(TorchStatePickleMixin):
    """An MLP logit ``f_w(x)`` on state-action inputs, with optional input standardisation.

    Parameters
    ----------
    input_dim : int
        Width of the state-action input ``x(s, a)``.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden layers; ``()`` gives a linear logit ``w . x + b`` (with one-hot state-action
        inputs, a free logit per state-action).
    normalize_mask : ndarray of bool of shape (input_dim,) or None, default=None
        Columns to standardise with running mean and variance (None: none).
    learning_rate : float, default=1e-3
        Adam step size.
    grad_penalty : float, default=0.0
        Weight of the gradient penalty ``E[(||grad_x f(x_hat)|| - 1)^2]`` on random
        interpolations ``x_hat`` of policy and expert inputs (Gulrajani et al., 2017).
    device : str or torch.device, default="cpu"
    dtype : torch.dtype, default=torch.float32
        Precision of the weights and inputs (the tabular path uses float64).
    generator : torch.Generator or None, default=None
        Seeds the initial weights (torch's global generator is not touched).

    Notes
    -----
    Pickling stores CPU copies of the weights and the optimiser state, so a discriminator
    trained on a GPU unpickles on a CPU-only machine.
    """

    def __init__(
        self,
        input_dim,
        hidden_layer_sizes=(64, 64),
        normalize_mask=None,
        learning_rate=1e-3,
        grad_penalty=0.0,
        device="cpu",
        dtype=torch.float32,
        generator=None,
    ):
        self.dtype = dtype
        self.input_dim = int(input_dim)
        self.hidden_layer_sizes = tuple(int(h) for h in hidden_layer_sizes)
        self.learning_rate = float(learning_rate)
        self.grad_penalty = float(grad_penalty)
        self.device = torch.device(device)
        mask = np.zeros(self.input_dim, dtype=bool) if normalize_mask is None else normalize_mask
        self.normalize_mask = np.asarray(mask, dtype=bool)
        self.in_mean = np.zeros(self.input_dim)
        self.in_var = np.ones(self.input_dim)
        self.in_count = 1e-4
        self.net = self._build_net(generator).to(device=self.device, dtype=self.dtype)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.learning_rate)

    # -- construction and pickling -------------------------------------------------------------
    def _build_net(self, generator=None):
        def init(layer, is_output):  # torch's default bounds, drawn from ``generator``
            bound = 1.0 / np.sqrt(layer.in_features)
            with torch.no_grad():
                layer.weight.uniform_(-bound, bound, generator=generator)
                layer.bias.uniform_(-bound, bound, generator=generator)

        return mlp(self.input_dim, self.hidden_layer_sizes, 1,
                   init=None if generator is None else init)

    _torch_state = ("net", "optimizer")

    def _build_torch_state(self):  # unpickling: the saved states are loaded into them
        self.net = self._build_net().to(dtype=self.dtype)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=self.learning_rate)

    def to(self, device):
        """Move the network (and the optimiser state) to ``device``; return ``self``."""
        self.device = torch.device(device)
        self.net.to(self.device)
        for state in self.optimizer.state.values():
            for k, v in state.items():
                if torch.is_tensor(v) and k != "step":
                    state[k] = v.to(self.device)
        return self

    def get_state(self):
        """A copy of the training state: weights, Adam moments and input statistics.

        :meth:`set_state` puts it back (GAIL keeps one per complete round, to return to it when
        a fit is interrupted).
        """
        return {
            "training": copy_training_state(self.net, self.optimizer),
            "in_mean": self.in_mean.copy(),
            "in_var": self.in_var.copy(),
            "in_count": self.in_count,
        }

    def set_state(self, state):
        """Restore a state from :meth:`get_state` (which stays usable: it is copied in)."""
        restore_training_state(self.net, self.optimizer, state["training"])
        self.in_mean, self.in_var = state["in_mean"].copy(), state["in_var"].copy()
        self.in_count = state["in_count"]
        return self

    # -- inputs -----------------------------------------------------------------------------------
    def update_input_stats(self, x):
        """Fold a batch of inputs into the running mean and variance of the normalised columns."""
        if not self.normalize_mask.any() or sp.issparse(x):
            return
        self.in_mean, self.in_var, self.in_count = update_running_moments(
            self.in_mean, self.in_var, self.in_count, x
        )

    def as_tensor(self, x):
        """Inputs (ndarray or scipy sparse) -> a tensor (``dtype``) on the device, standardised."""
        if sp.issparse(x):
            coo = sp.coo_matrix(x, dtype=np.float64)
            index = torch.from_numpy(np.vstack([coo.row, coo.col]).astype(np.int64))
            return torch.sparse_coo_tensor(
                index, torch.from_numpy(coo.data).to(self.dtype), coo.shape, device=self.device
            ).coalesce()
        x = np.asarray(x, dtype=np.float64)
        if self.normalize_mask.any():
            m = self.normalize_mask
            x = x.copy()
            x[:, m] = standardize(x[:, m], self.in_mean[m], self.in_var[m])
        return torch.from_numpy(x).to(device=self.device, dtype=self.dtype)

    def logits_tensor(self, x):
        """``f_w`` of an input tensor (dense, or sparse for one-hot tabular features)."""
        if x.is_sparse:
            first = self.net[0]
            h = torch.sparse.mm(x, first.weight.T) + first.bias
            return self.net[1:](h)[:, 0] if len(self.net) > 1 else h[:, 0]
        return self.net(x)[:, 0]

    def logits(self, x):
        """``f_w(x)`` as a float64 ndarray of shape (n,)."""
        with torch.inference_mode():
            return self.logits_tensor(self.as_tensor(x)).double().cpu().numpy()

    def reward(self, x, reward_form="-log D"):
        """The pseudo-reward ``R(x)`` of inputs ``x`` (see :func:`reward_from_logits`)."""
        return reward_from_logits(self.logits(x), reward_form)

    # -- training -------------------------------------------------------------------------------
    def loss(self, x_policy, x_expert, w_policy=None, w_expert=None, generator=None):
        """Logistic loss (D -> 1 on the policy), plus the gradient penalty when asked for.

        Returns the loss tensor and the (weighted) accuracies on expert and policy inputs.
        """
        f_pi = self.logits_tensor(x_policy)
        f_e = self.logits_tensor(x_expert)
        if w_policy is None:
            loss_pi, acc_pi = F.softplus(-f_pi).mean(), (f_pi > 0).float().mean()
        else:
            loss_pi = (w_policy * F.softplus(-f_pi)).sum()
            acc_pi = _weighted_mean(w_policy, f_pi > 0)
        if w_expert is None:
            loss_e, acc_e = F.softplus(f_e).mean(), (f_e < 0).float().mean()
        else:
            loss_e = (w_expert * F.softplus(f_e)).sum()
            acc_e = _weighted_mean(w_expert, f_e < 0)
        loss = loss_pi + loss_e
        if self.grad_penalty > 0:
            loss = loss + self.grad_penalty * self._gradient_penalty(x_policy, x_expert, generator)
        return loss, float(acc_e), float(acc_pi)

    def _gradient_penalty(self, x_policy, x_expert, generator):
        if x_policy.is_sparse:
            x_policy, x_expert = x_policy.to_dense(), x_expert.to_dense()
        n = min(len(x_policy), len(x_expert))
        alpha = torch.rand(n, 1, generator=generator, dtype=self.dtype).to(self.device)
        x_hat = (alpha * x_policy[:n] + (1 - alpha) * x_expert[:n]).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.net(x_hat).sum(), x_hat, create_graph=True)
        return (grad.norm(dim=1) - 1.0).pow(2).mean()

    def step(self, x_policy, x_expert, w_policy=None, w_expert=None, generator=None):
        """One Adam step on :meth:`loss`; return ``(loss, accuracy_expert, accuracy_policy)``."""
        loss, acc_e, acc_pi = self.loss(x_policy, x_expert, w_policy, w_expert, generator)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return float(loss.detach()), acc_e, acc_pi

    def fit_full_batch(self, x_policy, x_expert, w_policy, w_expert, max_iter=500, tol=1e-12):
        """Minimise the weighted loss to convergence (for exact, small problems).

        A linear logit (``hidden_layer_sizes=()``) is fitted by Newton's method, which is
        invariant to the scale of the weights (occupancies span many orders of magnitude), with
        steps capped so that logits heading to +-infinity (state-actions only one side visits)
        grow steadily; an MLP by L-BFGS.

        Used to check the optimal-discriminator identity: with one-hot state-action inputs and a
        linear logit the minimiser is ``D = rho_pi / (rho_pi + rho_E)`` wherever either
        distribution has mass.
        """
        if not self.hidden_layer_sizes and not sp.issparse(x_policy) and not sp.issparse(x_expert):
            return self._fit_linear_newton(x_policy, x_expert, w_policy, w_expert, max_iter, tol)
        optimizer = torch.optim.LBFGS(
            self.net.parameters(), lr=1.0, max_iter=max_iter, tolerance_grad=tol,
            tolerance_change=tol * 1e-2, history_size=50, line_search_fn="strong_wolfe",
        )
        xp, xe = self.as_tensor(x_policy), self.as_tensor(x_expert)
        wp = torch.as_tensor(np.asarray(w_policy), dtype=self.dtype, device=self.device)
        we = torch.as_tensor(np.asarray(w_expert), dtype=self.dtype, device=self.device)

        def closure():
            optimizer.zero_grad(set_to_none=True)
            loss, _, _ = self.loss(xp, xe, wp, we)
            loss.backward()
            return loss

        optimizer.step(closure)
        loss, acc_e, acc_pi = self.loss(xp, xe, wp, we)
        return float(loss.detach()), acc_e, acc_pi

    def _fit_linear_newton(self, x_policy, x_expert, w_policy, w_expert, max_iter, tol):
        layer = self.net[0]
        m = self.normalize_mask
        xs = []
        for x in (x_policy, x_expert):
            x = np.asarray(x, dtype=np.float64).copy()
            if m.any():
                x[:, m] = standardize(x[:, m], self.in_mean[m], self.in_var[m])
            xs.append(np.hstack([x, np.ones((len(x), 1))]))
        Z = np.vstack(xs)
        w_pi = np.concatenate([np.asarray(w_policy, float), np.zeros(len(xs[1]))])
        w_e = np.concatenate([np.zeros(len(xs[0])), np.asarray(w_expert, float)])
        theta = np.concatenate([
            layer.weight.detach().cpu().double().numpy().ravel(),
            layer.bias.detach().cpu().double().numpy(),
        ])
        for _ in range(max_iter):
            f = Z @ theta
            sig = 1.0 / (1.0 + np.exp(-f))
            g = Z.T @ (w_e * sig - w_pi * (1.0 - sig))
            H = (Z * ((w_pi + w_e) * sig * (1.0 - sig))[:, None]).T @ Z
            step = np.linalg.lstsq(H, g, rcond=1e-15)[0]
            scale = np.abs(step).max()
            if scale > 5.0:
                step *= 5.0 / scale
            theta -= step
            if scale < tol:
                break
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(theta[:-1].reshape(layer.weight.shape)))
            layer.bias.copy_(torch.as_tensor(theta[-1:]))
        loss, acc_e, acc_pi = self.loss(
            self.as_tensor(x_policy), self.as_tensor(x_expert),
            torch.as_tensor(np.asarray(w_policy), dtype=self.dtype, device=self.device),
            torch.as_tensor(np.asarray(w_expert), dtype=self.dtype, device=self.device),
        )
        return float(loss.detach()), acc_e, acc_pi
