"""admm: training the LIF network by ADMM with closed-form block updates (methods.md section 5).

The relaxed problem is written for the canonical network itself, so the trained weights drop
straight into `LIFNetwork` (one branch, spike readout) and the harness scores them with the
true forward pass; the relaxed variables are never scored.  In the canonical convention the
membrane before reset obeys u_t = beta * u_{t-1} - beta * theta * s_{t-1} + W x_t, hence the
hidden residual

    r_{l,t} = z_{l,t} - beta z_{l,t-1} - W_l a_{l-1,t} + beta theta a_{l,t-1},

with a_{l,t} in [0, 1] the relaxed spikes, tied to 1[z_{l,t} >= theta] by the step penalty
(penalty/2) ||a - H(z - theta)||^2.  The readout is the canonical one, logits = W_L a_{L-1,t}
(a non-leaky readout layer: delta_L = 0), so its constraint is z_{L,t} = W_L a_{L-1,t} with a
multiplier lambda_t, on the last step for sequence tasks and on every step for token tasks.
Loss: ||z_L - y||^2 with y one-hot; on `add` y concatenates the sum and carry one-hots and the
inputs carry the true carry (teacher forcing); the harness then evaluates autoregressively,
feeding back the predicted carry, as for every method.

One iteration, Gauss-Seidel over the blocks:
1. W_l (hidden) and W_L: ridge least squares over every sample and step (Cholesky);
2. a_{l,t}: (rho W_{l+1}^T W_{l+1} + rho (beta theta)^2 I + penalty I) a = ..., one Cholesky
   factor per distinct left-hand side per iteration, then clip to [0, 1];
3. z_{l,t}: exact minimiser of a 1-D quadratic plus the step penalty (compare the
   unconstrained minimiser with the best point across the threshold), steps in random order;
4. z_{L,t} in closed form; 5. lambda += rho r_L after `warmup` iterations.
Every `eval_every` iterations the true forward pass is scored on train and val; the network
with the best val score is returned (training stops at a perfect val score or after
`early_stop` evaluations without improvement), and the per-iteration trace goes into fit_info.
"""

from __future__ import annotations

import resource
import time

import torch

from snnbench.methods.base import BestOnVal, FitData, Method, network_spec
from snnbench.methods.sg import selection_accuracy
from snnbench.models.lif import LIFNetwork
from snnbench.tasks.base import Split, Task


def one_hot_targets(task: Task, split: Split) -> torch.Tensor:
    """(n, C) for sequence tasks, (n, T, C) for token tasks (heads concatenated)."""
    y = split.targets()
    if task.kind == "sequence":
        return torch.nn.functional.one_hot(y, task.n_out).float()
    return torch.cat([torch.nn.functional.one_hot(y[..., i], k) for i, (_, k) in enumerate(task.heads)], -1).float()


def hidden_states(weights: list[torch.Tensor], x: torch.Tensor, beta: float, theta: float) -> tuple[list, list]:
    """True forward pass: per hidden layer, membranes before reset z and spikes a, (n, T, P)."""
    zs, spikes, h = [], [], x
    for w in weights:
        current = h @ w.T
        z, a = torch.empty_like(current), torch.empty_like(current)
        r = torch.zeros_like(current[:, 0])
        for t in range(current.shape[1]):
            z[:, t] = beta * r + current[:, t]
            a[:, t] = (z[:, t] >= theta).float()
            r = z[:, t] - theta * a[:, t]
        zs.append(z)
        spikes.append(a)
        h = a
    return zs, spikes


def shift(x: torch.Tensor) -> torch.Tensor:
    """x_{t-1} along dim 1, zero at t = 0."""
    return torch.nn.functional.pad(x, (0, 0, 1, 0))[:, :-1]


def ridge_solve(inputs: torch.Tensor, targets: torch.Tensor, ridge: float) -> torch.Tensor:
    """argmin_W ||targets - inputs W^T||^2 + ridge ||W||^2, W of shape (out, in); float64 normal equations."""
    x, y = inputs.reshape(-1, inputs.shape[-1]).double(), targets.reshape(-1, targets.shape[-1]).double()
    gram = x.T @ x + ridge * torch.eye(x.shape[1], dtype=torch.float64)
    return torch.cholesky_solve((x.T @ y), torch.linalg.cholesky(gram)).T.float()


def membrane_step(best: torch.Tensor, curvature: float, a: torch.Tensor, rho: float, penalty: float,
                  theta: float) -> torch.Tensor:
    """argmin_z (rho curvature / 2)(z - best)^2 + (penalty / 2)(a - 1[z >= theta])^2, elementwise.

    The quadratic is minimised at `best`; the step term is constant on each side of theta, so
    the only other candidate is the point of the other side closest to `best`: theta itself
    (spiking side) or the largest representable value below it.  Keep whichever costs less (ties keep `best`).
    """
    at = torch.full_like(best, theta)
    below = torch.nextafter(at, torch.full_like(best, -torch.inf))  # the largest value that does not spike
    other = torch.where(best >= theta, below, at)

    def cost(z: torch.Tensor) -> torch.Tensor:
        return 0.5 * rho * curvature * (z - best) ** 2 + 0.5 * penalty * (a - (z >= theta).float()) ** 2

    return torch.where(cost(other) < cost(best), other, best)


class ADMM(Method):
    name = "admm"
    description = "ADMM with closed-form block updates on a relaxed LIF network (no surrogate gradient)."
    paper = "Perin, Bidini, Mazzieri, Rossi, ADMM-Based Training for Spiking Neural Networks, arXiv 2505.05527 (2025)"
    config_resource = "snnbench.methods:configs/admm.toml"

    def fit(self, data: FitData, config: dict, seed: int) -> LIFNetwork:
        return ADMMRun(data, config, seed).train()


class ADMMRun:
    """The state of one ADMM run: weights, relaxed per-sample variables, multipliers, trace."""

    def __init__(self, data: FitData, config: dict, seed: int):
        self.data, self.config = data, config
        self.task = data.task
        self.spec = network_spec(self.task, {**config, "branches": 1, "features": "spike"})
        self.beta, self.theta = self.spec.beta, self.spec.theta
        self.rho, self.penalty, self.ridge = config["rho"], config["penalty"], config["ridge"]
        self.generator = torch.Generator().manual_seed(seed)
        net = LIFNetwork(self.spec)
        net.init_hidden(self.generator, gain=config["init_gain"])
        self.w = [h[0].detach().clone() for h in net.hidden]  # (P_l, P_{l-1}), one branch
        self.x = data.train.inputs().float()
        self.y = one_hot_targets(self.task, data.train)
        self.z, self.a = hidden_states(self.w, self.x, self.beta, self.theta)
        self.a = [a.half() for a in self.a]  # relaxed spikes in [0, 1]: half precision is plenty
        self.z_out = self.y.clone()  # readout variable, (n, C) or (n, T, C)
        self.lam = torch.zeros_like(self.y)
        self.w_out = torch.zeros(self.task.n_out, self.spec.p_last)
        self.trace: list[dict] = []

    # the readout sees the last hidden layer on the last step (sequence) or on every step (token)
    def readout_input(self) -> torch.Tensor:
        last = self.a[-1].float()
        return last[:, -1] if self.task.kind == "sequence" else last

    def layer_input(self, layer: int) -> torch.Tensor:
        return self.x if layer == 0 else self.a[layer - 1].float()

    def hidden_target(self, layer: int) -> torch.Tensor:
        """What W_l a_{l-1,t} should equal: z_t - beta z_{t-1} + beta theta a_{t-1}."""
        z, a = self.z[layer], self.a[layer].float()
        return z - self.beta * shift(z) + self.beta * self.theta * shift(a)

    # ------------------------------------------------------------------ block updates
    def update_weights(self) -> None:
        for layer in range(len(self.w)):
            self.w[layer] = ridge_solve(self.layer_input(layer), self.hidden_target(layer), self.ridge)
        self.w_out = ridge_solve(self.readout_input(), self.z_out + self.lam / self.rho, self.ridge)

    def update_spikes(self) -> None:
        """Each hidden layer's a for all steps at once (steps of one layer are not coupled)."""
        steps, bt = self.x.shape[1], self.beta * self.theta
        for layer in range(len(self.w)):
            top = layer == len(self.w) - 1
            w_next = self.w_out if top else self.w[layer + 1]
            if top:
                c1 = self.z_out + self.lam / self.rho
                has_next = torch.zeros(steps, dtype=torch.bool)
                has_next[-1 if self.task.kind == "sequence" else slice(None)] = True
            else:
                c1 = self.hidden_target(layer + 1)  # what W_{l+1} a_{l,t} should equal
                has_next = torch.ones(steps, dtype=torch.bool)
            current = self.layer_input(layer) @ self.w[layer].T
            # r_{l,t+1} = c2_t + beta theta a_{l,t} with c2_t = z_{t+1} - beta z_t - W a_{l-1,t+1}
            z = self.z[layer]
            c2 = torch.zeros_like(z)
            c2[:, :-1] = z[:, 1:] - self.beta * z[:, :-1] - current[:, 1:]
            h = (z >= self.theta).float()
            new = torch.empty_like(z)
            eye = torch.eye(z.shape[-1])
            gram = w_next.T @ w_next
            for nxt in (True, False):
                for reset in (True, False):
                    steps_here = [t for t in range(steps) if bool(has_next[t]) == nxt and (t < steps - 1) == reset]
                    if not steps_here:
                        continue
                    lhs = self.penalty * eye + (self.rho * gram if nxt else 0) + (self.rho * bt**2 * eye if reset else 0)
                    rhs = self.penalty * h[:, steps_here]
                    if reset:
                        rhs = rhs - self.rho * bt * c2[:, steps_here]
                    if nxt:
                        target = c1[:, None] if (top and self.task.kind == "sequence") else c1[:, steps_here]
                        rhs = rhs + self.rho * target @ w_next
                    rhs = rhs.reshape(-1, rhs.shape[-1])
                    sol = torch.cholesky_solve(rhs.T, torch.linalg.cholesky(lhs)).T.clamp_(0, 1).half().float()
                    # clipping (and storing in half precision) the unconstrained minimiser can cost
                    # more than the current point (the quadratic is not separable): keep the lower
                    old = self.a[layer][:, steps_here].reshape(rhs.shape).float()
                    value = lambda v: 0.5 * ((v @ lhs) * v).sum(1) - (rhs * v).sum(1)  # noqa: E731
                    sol = torch.where((value(sol) <= value(old))[:, None], sol, old)
                    new[:, steps_here] = sol.float().reshape(new[:, steps_here].shape)
            self.a[layer] = new.half()

    def update_membranes(self) -> None:
        """Each z_{l,t} exactly, given its neighbours in time; steps in random order."""
        steps, bt = self.x.shape[1], self.beta * self.theta
        for layer in range(len(self.w)):
            current = self.layer_input(layer) @ self.w[layer].T
            z, a = self.z[layer], self.a[layer].float()
            for t in torch.randperm(steps, generator=self.generator).tolist():
                m1 = current[:, t] + (self.beta * z[:, t - 1] - bt * a[:, t - 1] if t > 0 else 0)
                if t < steps - 1:  # z_t also enters r_{t+1} = z_{t+1} - beta z_t - ...
                    m2 = z[:, t + 1] - current[:, t + 1] + bt * a[:, t]
                    curvature, best = 1 + self.beta**2, (m1 + self.beta * m2) / (1 + self.beta**2)
                else:
                    curvature, best = 1.0, m1
                z[:, t] = membrane_step(best, curvature, a[:, t], self.rho, self.penalty, self.theta)

    def update_readout_and_multipliers(self, iteration: int) -> None:
        s = self.readout_input() @ self.w_out.T
        self.z_out = (self.rho * s + 2 * self.y - self.lam) / (2 + self.rho)
        if iteration >= self.config["warmup"]:
            self.lam += self.rho * (self.z_out - s)

    # ------------------------------------------------------------------ monitoring
    def residuals(self) -> dict:
        """The objective the block updates decrease, and the three residuals, per sample."""
        n = self.x.shape[0]
        s = self.readout_input() @ self.w_out.T
        r_out = self.z_out - s
        dynamics = sum(float(((self.hidden_target(l) - self.layer_input(l) @ self.w[l].T) ** 2).sum()) for l in range(len(self.w)))
        spikes = sum(float(((a.float() - (z >= self.theta).float()) ** 2).sum()) for a, z in zip(self.a, self.z))
        weights = sum(float((w**2).sum()) for w in [*self.w, self.w_out])
        lagrangian = (float(((self.z_out - self.y) ** 2).sum()) + float((self.lam * r_out).sum())
                      + 0.5 * self.rho * (dynamics + float((r_out**2).sum()) + self.ridge * weights)
                      + 0.5 * self.penalty * spikes)
        return {"lagrangian": lagrangian / n, "readout_residual": float(r_out.norm()) / n**0.5,
                "dynamics_residual": (dynamics / n) ** 0.5, "spike_residual": (spikes / n) ** 0.5}

    def network(self) -> LIFNetwork:
        net = LIFNetwork(self.spec)
        with torch.no_grad():
            for h, w in zip(net.hidden, self.w):
                h[0].copy_(w)
            net.readout.weight.copy_(self.w_out)
        return net

    def accuracy(self, net: LIFNetwork, split: Split) -> float:
        """The training loop's own signal (keeping the best val state); the harness re-scores."""
        return selection_accuracy(net.run(split.inputs()).logits, split.targets(), self.task)

    def train(self) -> LIFNetwork:
        iterations, every = self.config["iterations"], self.config["eval_every"]
        kept, start = BestOnVal(self.config["early_stop"], self.network()), time.perf_counter()
        for it in range(iterations):
            self.update_weights()
            self.update_spikes()
            self.update_membranes()
            self.update_readout_and_multipliers(it)
            entry = {"iteration": it + 1, **self.residuals()}
            if (it + 1) % every == 0 or it + 1 == iterations:
                net = self.network()
                entry["train_accuracy"] = self.accuracy(net, self.data.train)
                entry["val_accuracy"] = self.accuracy(net, self.data.val)
                kept.offer(entry["val_accuracy"], lambda net=net: net)
            entry["seconds"] = time.perf_counter() - start
            self.trace.append(entry)
            self.data.progress(it + 1, iterations)
            if kept.done:
                break
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
        kept.state.fit_info = {"trace": self.trace, "best_val_accuracy": kept.best, "process_peak_rss_mb": peak_mb,
                               "seconds": time.perf_counter() - start}
        return kept.state
