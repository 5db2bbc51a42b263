"""What a training forward pass knows about its rows: global sample keys, loss weights, seed and epoch.

The trainer opens :func:`sample_context` around the model's training forward pass; the layers that need
to know which samples they see read :func:`current`:

- :class:`trainlab.models.keyed_layers.KeyedDropout` draws each row's mask from the row's key (its global
  sample index), so a sample gets the same mask on any number of processes;
- :class:`trainlab.models.keyed_layers.GlobalBatchNorm` takes statistics over the weight-1 rows of the
  global batch (every process), leaving out the zero-weight padding of the last batch.

Outside a context (evaluation, a model used on its own) these layers behave as their torch originals.
A context variable, not a global: it follows the thread (and task) that runs the forward pass.
"""

from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch


@dataclass(frozen=True)
class SampleContext:
    keys: np.ndarray  # (B,) int64 global sample index of each row (padding rows repeat a real one)
    weights: torch.Tensor | None  # (B,) 1 for real rows, 0 for padding; None: all real
    seed: int
    epoch: int


_CURRENT: contextvars.ContextVar[SampleContext | None] = contextvars.ContextVar("trainlab_sample_context", default=None)


def current() -> SampleContext | None:
    return _CURRENT.get()


@contextlib.contextmanager
def sample_context(keys, *, weights: torch.Tensor | None = None, seed: int = 0, epoch: int = 0) -> Iterator[SampleContext]:
    ctx = SampleContext(np.asarray(keys, dtype=np.int64), weights, int(seed), int(epoch))
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)
