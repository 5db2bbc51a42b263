"""Two ways to average for a better model: over weights (EMA) and over views of an image (TTA).

* **EMA of the weights** (timm's ``ModelEmaV3``): after every optimizer step
  ``ema = d * ema + (1 - d) * weights`` (with timm's warm-up of ``d`` when asked). :func:`make_ema` builds
  it; :func:`ema_wins` is the rule the loop uses to decide which weights ``best`` holds: the EMA's when
  its validation metric beats the raw weights' on the same images, by ``train.monitor``.
* **Test-time augmentation**: :func:`tta_proba` is the mean of the class probabilities of the image and its
  horizontal mirror, ``p = (softmax(f(x)) + softmax(f(flip(x)))) / 2`` (flip over the width axis of an
  NCHW batch). Averaging probabilities (not logits) keeps each row a distribution.

The trainer calls them for ``train.ema`` and ``train.tta``; ``trainlab predict --tta flip`` calls :func:`tta_proba`.
"""

from __future__ import annotations

import math
from typing import Callable

import torch


def make_ema(model: torch.nn.Module, *, decay: float = 0.9998, warmup: bool = True):
    """timm's ``ModelEmaV3`` of ``model`` (a copy kept on the model's device; ``ema.update(model, step)``)."""
    from timm.utils import ModelEmaV3

    if not 0 < decay < 1:
        raise ValueError(f"EMA decay must lie in (0, 1); got {decay}")
    device = next(model.parameters()).device
    return ModelEmaV3(model, decay=decay, use_warmup=warmup, device=device)


def ema_wins(ema_metric: float, raw_metric: float, monitor: str) -> bool:
    """True when the EMA weights validate better than the raw ones (a NaN never wins)."""
    if not math.isfinite(ema_metric):
        return False
    if not math.isfinite(raw_metric):
        return True
    return ema_metric > raw_metric if monitor.endswith("acc") else ema_metric < raw_metric


@torch.no_grad()
def tta_proba(forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Mean of the softmax probabilities of ``x`` and its horizontal flip (``x``: NCHW, any memory layout)."""
    plain = torch.softmax(forward(x).float(), dim=-1)
    flipped = torch.softmax(forward(torch.flip(x, dims=[3])).float(), dim=-1)
    return (plain + flipped) / 2
