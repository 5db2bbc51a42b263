"""Training policy as free functions: the optimizer, the learning-rate schedule, the mixed-precision dtype,
determinism and seeding. The trainer calls each once (the schedule once per step); none keeps state.

The schedule is a pure function of the optimizer step, so a resumed run needs only its step count (saved in
the checkpoint) to be at the same learning rate, whatever ``train.epochs`` it now has.
"""

from __future__ import annotations

import functools
import math
import os
import random
from typing import Callable

import numpy as np
import torch

from trainlab.config import TrainSection
from trainlab.utils.log import get_logger

log = get_logger("trainlab.training")


# ---- optimizer -------------------------------------------------------------------------------
def make_optimizer(model: torch.nn.Module, cfg: TrainSection, device: torch.device) -> torch.optim.Optimizer:
    """Adam (L2, as Keras' Adam), AdamW or SGD with Nesterov momentum, over ``param_groups``: timm models'
    head at ``lr`` and backbone at ``lr x backbone_lr_scale``; no weight decay on biases and norms. Each
    group's ``initial_lr`` is the base the schedule scales."""
    from trainlab.training.param_groups import param_groups

    groups = param_groups(model, lr=cfg.lr, weight_decay=cfg.weight_decay, backbone_lr_scale=cfg.backbone_lr_scale)
    # Fused kernels (CUDA and CPU): one pass over the parameters instead of a dozen; on the 17M-parameter
    # seed CNN the optimizer step is a large share of a CPU step.
    fused = {"fused": True} if device.type in ("cuda", "cpu") else {}
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
    elif cfg.optimizer == "adamw":
        opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, **fused)
    else:
        opt = torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay,
                              nesterov=cfg.momentum > 0, **fused)
    for group in opt.param_groups:
        group.setdefault("initial_lr", group["lr"])
    return opt


def set_lr(optimizer: torch.optim.Optimizer, factor: float) -> None:
    """Every group at its ``initial_lr x factor``."""
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] * factor


# ---- schedule --------------------------------------------------------------------------------
def lr_factor(step: int, *, schedule: str, total_steps: int, warmup_steps: int = 0, steps_per_epoch: int = 1,
              min_factor: float = 0.0, step_epochs: int = 10, gamma: float = 0.1) -> float:
    """The learning-rate factor for optimizer step ``step`` (0-based): linear warm-up over ``warmup_steps``,
    then constant, cosine or step decay.

    cosine: ``f(t) = m + (1 - m) * (1 + cos(pi * t)) / 2`` with t the post-warm-up progress in [0, 1] and
    ``m = min_lr / lr``; step: ``f = gamma ** floor(epoch / step_epochs)``.
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "cosine":
        t = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * t))
    if schedule == "step":
        return gamma ** ((step // max(1, steps_per_epoch)) // step_epochs)
    return 1.0


def schedule_for(cfg: TrainSection, steps_per_epoch: int) -> Callable[[int], float]:
    """``lr_factor`` with the recipe's settings bound: step -> factor."""
    return functools.partial(
        lr_factor, schedule=cfg.schedule, total_steps=cfg.epochs * steps_per_epoch,
        warmup_steps=round(cfg.warmup_epochs * steps_per_epoch), steps_per_epoch=steps_per_epoch,
        min_factor=cfg.min_lr / cfg.lr, step_epochs=cfg.step_epochs, gamma=cfg.step_gamma,
    )


# ---- mixed precision -------------------------------------------------------------------------
_HINTED = False


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype (None: float32). auto: bf16 on CUDA when supported (else fp16 with a GradScaler),
    float32 on CPU and MPS. On a CPU with native bf16 (AVX512-BF16/AMX), ``bf16`` must be asked for explicitly:
    it is faster there but changes the numerics of a run that would otherwise match float32 references."""
    global _HINTED
    if amp == "off":
        return None
    if device.type == "cuda":
        if amp == "fp16" or (amp == "auto" and not torch.cuda.is_bf16_supported()):
            return torch.float16
        return torch.bfloat16
    if device.type == "cpu" and amp == "bf16":
        if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return torch.bfloat16
        log.warning("train.amp=bf16: this CPU has no native bf16; training in float32")
    elif amp == "fp16":
        log.warning("train.amp=fp16 needs CUDA; training in float32 on %s", device.type)
    elif (amp == "auto" and device.type == "cpu" and not _HINTED and torch.backends.mkldnn.is_available()
          and torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        _HINTED = True  # once per process (the demo trains three models)
        log.info("this CPU has native bf16: train.amp=bf16 train.channels_last=true trained the seed CNN "
                 "1.7-2x faster than float32 here (BENCHMARKS.md); float32 is the default for exact reproducibility")
    return None


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=dtype)


# ---- determinism -----------------------------------------------------------------------------
def configure_determinism(deterministic: bool, device: torch.device) -> None:
    """Deterministic kernels when asked (slower); otherwise let cuDNN pick the fastest ones."""
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    else:
        torch.use_deterministic_algorithms(False)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
