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
# What `train.amp=auto` means on a CPU with native bf16 (AVX512-BF16 or AMX). False: float32 there. Flip it
# to True only on same-run evidence that bf16 keeps accuracy within seed noise (bench/bench_defaults.py,
# BENCHMARKS.md "Fast by default"); the rest of the precision policy follows from `auto_precision`.
AUTO_BF16_ON_CPU = False

_HINTED = False


@functools.lru_cache(maxsize=1)
def cpu_native_bf16() -> bool:
    """True when this CPU computes bf16 in hardware: the ``avx512_bf16`` or ``amx_bf16`` flag of
    ``/proc/cpuinfo`` (Linux) and oneDNN's bf16 path available. oneDNN also runs bf16 on plain AVX-512 by
    emulation, which is slower than float32, so its own ``_is_mkldnn_bf16_supported`` alone is not enough."""
    if not (torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        return False
    return bool(_cpu_flags() & {"avx512_bf16", "amx_bf16"})


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def auto_precision(device: torch.device, *, deterministic: bool = False) -> torch.dtype | None:
    """The one definition of ``train.amp=auto`` (None: float32).

    * ``train.deterministic=true``: float32 everywhere (bit-reproducible runs never autocast on their own);
    * CUDA: bf16 where the GPU supports it, else fp16 (with a GradScaler);
    * CPU with native bf16 (:func:`cpu_native_bf16`): bf16 when ``AUTO_BF16_ON_CPU`` says so, else float32;
    * anything else (MPS, older CPUs): float32.
    """
    if deterministic:
        return None
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device.type == "cpu" and AUTO_BF16_ON_CPU and cpu_native_bf16():
        return torch.bfloat16
    return None


def amp_dtype(amp: str, device: torch.device, *, deterministic: bool = False) -> torch.dtype | None:
    """The autocast dtype for ``train.amp`` (None: float32): ``auto`` is :func:`auto_precision`; ``bf16``
    and ``fp16`` are honoured where the device can (a warning and float32 where it cannot)."""
    global _HINTED
    if amp == "off":
        return None
    if amp == "auto":
        dtype = auto_precision(device, deterministic=deterministic)
        if dtype is None and device.type == "cpu" and not deterministic and not _HINTED and cpu_native_bf16():
            _HINTED = True  # once per process (the demo trains three models)
            log.info("this CPU has native bf16: train.amp=bf16 train.channels_last=true trains the seed CNN "
                     "faster than float32 here (BENCHMARKS.md); float32 is the default for exact reproducibility")
        return dtype
    if device.type == "cuda":
        return torch.float16 if amp == "fp16" else torch.bfloat16
    if device.type == "cpu" and amp == "bf16":
        if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported():
            return torch.bfloat16
        log.warning("train.amp=bf16: this CPU has no bf16 support; training in float32")
    elif amp == "fp16":
        log.warning("train.amp=fp16 needs CUDA; training in float32 on %s", device.type)
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
