"""Every process's random state in the checkpoint, and which process layouts a resume may change to.

Keyed randomness (:mod:`trainlab.utils.keyed_random`: the Keras augmentation, the seed CNN's and the
timm head's dropout) needs no state: it is recomputed from (seed, epoch, sample). What still draws from a
per-process stream (torch dropout layers, stochastic depth, mixup/cutmix, the torchvision RandAugment /
TrivialAugment policies) needs each process's generator states, so the checkpoint holds all of them:
:func:`gather_rng_states` (every process calls it; the list is in rank order) and :func:`restore_rng`
(each process restores its own). A resume on another number of processes is allowed only when it is
exact by construction: the same global batch (``train.batch_size x processes``) and no per-process
randomness (:func:`layout_dependent`); otherwise :func:`check_resume_layout` refuses with the reason.
"""

from __future__ import annotations

from typing import Any

import torch

from trainlab.errors import TrainlabError
from trainlab.models.keyed_layers import unkeyed_randomness
from trainlab.training import checkpoint as ckpt
from trainlab.training.distributed import all_gather_objects


def gather_rng_states() -> list[dict[str, Any]]:
    """Every process's python, numpy, torch (and CUDA) generator states, in rank order (a collective)."""
    return all_gather_objects(ckpt.rng_state())


def restore_rng(state: dict[str, Any], *, rank: int, seed: int) -> None:
    """This process's generators as they were at the checkpoint (:func:`check_resume_layout` first)."""
    ranks = state.get("rng_ranks")
    if ranks and rank < len(ranks):
        ckpt.set_rng_state(ranks[rank])
        return
    # A checkpoint from before every process's state was saved (rank 0's only), or a process that did
    # not exist then (allowed only when nothing it draws depends on the stream): rank 0's state, and a
    # stream of its own for every other process.
    ckpt.set_rng_state(state["rng"])
    if rank:
        torch.manual_seed(seed + rank + 7_919 * int(state["epoch"]))


def layout_dependent(model: torch.nn.Module, cfg) -> list[str]:
    """What makes this run's training depend on the number of processes (empty: nothing does)."""
    found = list(unkeyed_randomness(model))
    a = cfg.augment
    if a.mixup > 0 or a.cutmix > 0:
        found.append("train.augment.mixup/cutmix draw from each process's own numpy stream")
    if a.extra != "none":
        found.append(f"train.augment.extra={a.extra} draws from each process's own torch stream")
    return found


def check_resume_layout(state: dict[str, Any], *, folder, world_size: int, batch_size: int, model: torch.nn.Module, cfg) -> None:
    """Refuse a resume whose process layout would make it a different run than the one checkpointed:
    another global batch, or another number of processes while something draws per-process randomness."""
    saved_world = int(state.get("world_size", 1))
    saved_batch = int(state.get("batch_size", batch_size))
    if (saved_world, saved_batch) == (world_size, batch_size):
        return
    saved_global, global_batch = saved_batch * saved_world, batch_size * world_size
    if saved_global != global_batch:
        hint = f"train.batch_size={saved_global // world_size}" if saved_global % world_size == 0 else "the same layout"
        raise TrainlabError(
            f"{folder}: the run trained on {saved_world} process(es) with a global batch of {saved_global} "
            f"(train.batch_size={saved_batch} x {saved_world}); this resume has {world_size} process(es) x "
            f"train.batch_size={batch_size} = {global_batch}, which would not continue the same run. Resume on "
            f"{saved_world} process(es), or with {hint} on {world_size}."
        )
    reasons = layout_dependent(model, cfg)
    if reasons:
        raise TrainlabError(
            f"{folder}: the run trained on {saved_world} process(es) and this resume has {world_size}; that is exact only "
            f"when all training randomness is keyed by sample, but here {'; '.join(reasons)}. Resume on "
            f"{saved_world} process(es)."
        )
