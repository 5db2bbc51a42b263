"""Train a small regressor the way Keras's ``model.fit`` does, without Keras's per-step overhead.

Keras's ``fit(x, y, epochs, batch_size=32)`` shuffles the whole training set once per epoch and
walks it in consecutive mini-batches (the last one smaller). :func:`fit` does the same with the data
held as tensors on the device: one ``randperm`` per epoch, batches are slices, no DataLoader, no
per-step ``.item()`` (losses are summed on the device and read once per epoch). At batch 32 with
1,000 points that overhead is what decides the wall time, not the arithmetic.

Optimiser: Adam on the mean squared error with Keras's epsilon (1e-7; PyTorch's default is 1e-8).
Keras adds epsilon to sqrt(v) before bias correction and PyTorch after; the two differ only while
the gradients are smaller than about epsilon, and only in the first few thousand steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F

from trainlab.errors import TrainlabError


@dataclass(frozen=True)
class FitRecipe:
    """How one model is trained: Adam on MSE over Keras-style shuffled mini-batches.

    ``schedule`` is ``"constant"`` (Keras's default, the coursework) or ``"cosine"`` (the learning
    rate decays from ``lr`` to 0 along a half cosine over all steps). ``loss_weight`` multiplies the
    loss before the gradient, as Keras's ``compile(loss_weights=...)``; with Adam it only rescales
    epsilon relative to the gradients.
    """

    lr: float
    epochs: int = 100
    batch_size: int = 32
    eps: float = 1e-7
    schedule: str = "constant"
    loss_weight: float = 1.0

    def __post_init__(self):
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise TrainlabError(f"learning rate must be a positive number, got {self.lr}")
        if self.epochs < 1 or self.batch_size < 1:
            raise TrainlabError(f"epochs and batch_size must be at least 1, got {self.epochs} and {self.batch_size}")
        if self.schedule not in ("constant", "cosine"):
            raise TrainlabError(f"schedule must be 'constant' or 'cosine', got '{self.schedule}'")

    def to_dict(self) -> dict:
        return {"optimizer": "adam", "loss": "mse", "shuffle": "one permutation per epoch (Keras fit)", **asdict(self)}


@dataclass
class FitHistory:
    """What :func:`fit` returns: per-epoch history (plain floats) and the training wall time."""

    train_loss: list[float] = field(default_factory=list)  # mean MSE over the epoch's batches, per sample
    eval_mse: list[float] = field(default_factory=list)  # MSE on (x_eval, y_eval) after each epoch, if given
    wall_s: float = 0.0
    steps: int = 0


def fit(
    model: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    recipe: FitRecipe,
    seed: int,
    x_eval: torch.Tensor | None = None,
    y_eval: torch.Tensor | None = None,
) -> FitHistory:
    """Train ``model`` in place on ``(x, y)`` (tensors on the model's device) and return its history.

    train_loss[e] = (1/N) * sum over batches b of |b| * mean_{i in b} (model(x_i) - y_i)^2, measured
    while epoch e trains (as Keras reports it); eval_mse[e] = mean (model(x_eval) - y_eval)^2 after it.
    The evaluation never influences training (no early stopping, no model selection).
    """
    n, bs = len(x), recipe.batch_size
    y = y.reshape(n, -1)
    steps_per_epoch = math.ceil(n / bs)
    total_steps = steps_per_epoch * recipe.epochs
    device = x.device
    fused = device.type in ("cpu", "cuda")  # one kernel for the whole update: fewer launches per step
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr, eps=recipe.eps, fused=fused, foreach=None if fused else True)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps) if recipe.schedule == "cosine" else None
    gen = torch.Generator().manual_seed(seed)  # the shuffling order, independent of the global RNG
    train_losses, eval_mses = [], []
    model.train()
    t0 = time.perf_counter()
    for _ in range(recipe.epochs):
        perm = torch.randperm(n, generator=gen).to(device)
        xs, ys = x[perm], y[perm]
        total = torch.zeros((), device=device)
        for i in range(0, n, bs):
            xb, yb = xs[i:i + bs], ys[i:i + bs]
            loss = F.mse_loss(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            (loss * recipe.loss_weight if recipe.loss_weight != 1.0 else loss).backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += loss.detach() * len(xb)
        train_losses.append(total / n)
        if x_eval is not None:
            eval_mses.append(mse(model, x_eval, y_eval))
    result = FitHistory(steps=total_steps)
    result.train_loss = torch.stack(train_losses).tolist()  # one device sync for the whole history
    result.eval_mse = torch.stack(eval_mses).tolist() if eval_mses else []
    result.wall_s = time.perf_counter() - t0
    model.eval()
    return result


@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, batch_size: int = 8192) -> torch.Tensor:
    """``model(x)`` in eval mode, in chunks; returns a flat tensor on the same device."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]).reshape(-1)
    model.train(was_training)
    return out


@torch.no_grad()
def mse(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """mean_i (model(x_i) - y_i)^2 as a 0-d tensor (no sync)."""
    return torch.mean((predict(model, x) - y.reshape(-1)) ** 2)


def parameter_counts(model: torch.nn.Module, input_shape: tuple[int, ...]) -> dict[str, int]:
    """Parameters as PyTorch counts them and as Keras's ``model.summary()`` would, from
    :func:`trainlab.models.summary.summarize` (``input_shape`` without the batch axis: (F,) or (T, F)).

    They differ only for LSTMs here: Keras keeps one bias vector per gate, PyTorch two.
    """
    from trainlab.models.summary import summarize

    s = summarize(model, input_shape)
    return {"pytorch": int(s.total), "keras": int(s.total_keras)}
