"""The whole uint8 image cache on the training device, batches drawn there: no host loader at all.

When a dataset's ``(N, H, W, 3)`` uint8 cache fits in device memory (FairFace-8k at 100x100 is 229 MB; most
small datasets fit an accelerator many times over), it is copied to the device once, as one tensor, and
every batch is one ``index_select`` on the device. This is what the fastest CIFAR-10 trainers do: the
host then only computes the epoch's permutation and each batch's per-sample augmentation parameters
(``B x 7`` keyed uniforms, :mod:`trainlab.data.augment`), and the pixels never cross the bus again.

Same batches as :class:`~trainlab.data.loader.BatchLoader`: the plan (order, sharding, zero-weight padding)
is the same :func:`~trainlab.data.loader.shard_plan`, the yielded :class:`~trainlab.data.loader.Batch` holds
the same rows, labels, weights and indices, and the augmentation that follows is the same keyed call on the
same uint8 pixels, so a run draws identical numbers either way (tests/test_data_device_loader.py).

Selection (``train.device_resident``, :func:`use_device_resident`): ``auto`` keeps the cache on a CUDA device
when it needs at most ``DEVICE_FRACTION`` of the device's free memory, and uses the host loader elsewhere
(on a CPU the cache is already in host memory: a second copy gains nothing); ``on`` asks for it on any device
(an error when it does not fit); ``off`` never. The torchvision uint8 policies (``train.augment.extra``) run
per image in the host loader's thread, so they keep the host loader.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch

from trainlab.data.loader import Batch, BatchLoader
from trainlab.errors import TrainlabError

# The share of the device's free memory the cache may take; the rest is for the model, its activations and
# the optimizer state (a 17M-parameter model with Adam at batch 256 needs a few GB).
DEVICE_FRACTION = 0.25

_CHUNK = 4096  # images copied to the device per step (keeps the host-side copy small)


def free_device_bytes(device: torch.device) -> int | None:
    """Free memory of ``device`` in bytes (CUDA), or None where it is not known (CPU, MPS)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return None


def use_device_resident(setting: str, device: torch.device, nbytes: int, *, host_transform: bool = False,
                        fraction: float = DEVICE_FRACTION) -> bool:
    """Whether the trainer keeps the cache on ``device`` (``setting``: ``train.device_resident``)."""
    if setting == "off":
        return False
    if host_transform:
        if setting == "on":
            raise TrainlabError("train.device_resident=true cannot be combined with train.augment.extra (a per-image "
                                "torchvision policy run by the host loader); set train.device_resident=auto or false")
        return False
    free = free_device_bytes(device)
    fits = free is None or nbytes <= fraction * free
    if setting == "on":
        if not fits:
            raise TrainlabError(
                f"train.device_resident=true: the image cache needs {nbytes / 2**20:,.0f} MiB, more than "
                f"{fraction:.0%} of the {free / 2**20:,.0f} MiB free on {device}; set train.device_resident=auto")
        return True
    return device.type == "cuda" and fits


def to_device_images(images: np.ndarray, device: torch.device) -> torch.Tensor:
    """One uint8 tensor on ``device`` holding ``images`` (copied in chunks: the memory-mapped cache is never
    read into host memory whole)."""
    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"images must be a (N, H, W, C) uint8 array; got {images.dtype} {images.shape}")
    out = torch.empty(images.shape, dtype=torch.uint8, device=device)
    for start in range(0, len(images), _CHUNK):
        out[start : start + _CHUNK].copy_(torch.from_numpy(np.array(images[start : start + _CHUNK])))
    return out


class DeviceLoader(BatchLoader):
    """:class:`BatchLoader`'s plan and batches, gathered from a uint8 tensor on the device (no thread)."""

    def __init__(self, images: torch.Tensor, labels: np.ndarray, indices: Sequence[int], *, batch_size: int,
                 shuffle: bool, seed: int = 0, rank: int = 0, world_size: int = 1, drop_last: bool = False,
                 device_labels: torch.Tensor | None = None):
        if images.ndim != 4 or images.dtype != torch.uint8:
            raise ValueError(f"images must be a (N, H, W, C) uint8 tensor; got {images.dtype} {tuple(images.shape)}")
        self.images = images
        self.device = images.device
        self.labels = np.asarray(labels, dtype=np.int64)
        self.device_labels = device_labels if device_labels is not None else torch.from_numpy(self.labels).to(self.device)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        self.prefetch, self.uint8_transform = 0, None
        self.epoch = 0

    def __iter__(self) -> Iterator[Batch]:
        for step in self.plan():
            rows = torch.from_numpy(step.rows).to(self.device, non_blocking=True)
            yield Batch(self.images.index_select(0, rows), self.device_labels.index_select(0, rows),
                        torch.from_numpy(step.weights).to(self.device, non_blocking=True), step.rows, step.offset,
                        step.global_size)
