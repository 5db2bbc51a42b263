"""Batches straight from the uint8 image cache, sharded across processes, prepared in a background thread.

The cache is an ``(N, H, W, 3)`` uint8 array (memory-mapped): a batch is one fancy-index gather, so there
is no per-image Python, no decoding and no worker processes. The thread gathers the next batches while
the model trains (numpy and torch release the GIL while they copy), pins them for a fast, asynchronous
host-to-device copy on CUDA, and the conversion to float and the normalisation happen on the device.

Sharding (the equivalent of ``DistributedSampler``, but exact): every epoch all processes draw the same
permutation (seed + epoch). It is cut into *global* batches of ``batch_size x world_size`` images and
each process takes its contiguous share of every global batch. The last global batch is smaller; it is
split as evenly as possible and every process's share is padded to the same length with **zero-weight**
samples. Losses and metrics are weighted sums divided by the true count, so every image counts exactly
once per epoch on any number of processes (padding only touches BatchNorm running statistics, at most
``world_size - 1`` images per epoch). ``drop_last=True`` drops that last global batch instead.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import numpy as np
import torch


@dataclass
class Batch:
    images: torch.Tensor  # (B, H, W, 3) uint8, on the target device
    labels: torch.Tensor  # (B,) int64
    weights: torch.Tensor  # (B,) float32: 1 for real samples, 0 for padding
    index: np.ndarray  # (B,) positions into the image array (padding repeats a real one)
    offset: int = 0  # where this process's rows start in the global batch
    global_size: int = 0  # real samples in the global batch (all processes)


@dataclass(frozen=True)
class Step:
    """One process's share of one global batch."""

    rows: np.ndarray  # positions (into the index given to shard_plan), padded to ``len(weights)``
    weights: np.ndarray  # 1 for real rows, 0 for padding
    offset: int  # first row's position within the global batch
    global_size: int  # real rows in the global batch


def shard_plan(
    n: int, *, batch_size: int, epoch: int = 0, seed: int = 0, shuffle: bool = True, rank: int = 0,
    world_size: int = 1, drop_last: bool = False,
) -> list[Step]:
    """This process's batches for one epoch, as :class:`Step` s of positions into ``0..n-1``.

    Every process gets the same number of steps. Across processes and steps, the weight-1 positions
    are a permutation of ``0..n-1`` (of all but the last ``n mod (batch_size x world_size)`` with
    ``drop_last``). Rows keep the permutation's order, so a global batch is the same sequence of
    samples on any number of processes.
    """
    if shuffle:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + epoch)).numpy()
    else:
        order = np.arange(n)
    per_step = batch_size * world_size
    plan = []
    for start in range(0, n, per_step):
        chunk = order[start : start + per_step]
        if len(chunk) < per_step and drop_last:
            break
        if len(chunk) == per_step:
            offset, pos = rank * batch_size, chunk[rank * batch_size : (rank + 1) * batch_size]
        else:  # the last, smaller global batch: split as evenly as possible
            sizes = [len(part) for part in np.array_split(np.arange(len(chunk)), world_size)]
            offset = sum(sizes[:rank])
            pos = chunk[offset : offset + sizes[rank]]
        width = -(-len(chunk) // world_size)  # every process gets this many rows (ceil)
        weights = np.ones(width, np.float32)
        if len(pos) < width:
            weights[len(pos) :] = 0.0
            pos = np.concatenate([pos, np.repeat(order[:1], width - len(pos))])
        plan.append(Step(pos, weights, offset, len(chunk)))
    return plan


class BatchLoader:
    """Iterate ``(images, labels)`` batches of a subset of a uint8 image array.

    ``indices`` selects the rows (a split) of ``images``; ``labels`` is aligned with ``images``.
    ``uint8_transform`` (optional) is applied per image to ``(3, H, W)`` uint8 tensors in the loader
    thread (the torchvision RandAugment / TrivialAugment policies).
    """

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, indices: Sequence[int], *, batch_size: int, shuffle: bool,
        seed: int = 0, rank: int = 0, world_size: int = 1, drop_last: bool = False,
        device: torch.device | str = "cpu", prefetch: int = 3, uint8_transform: Callable | None = None,
    ):
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"images must be a (N, H, W, C) uint8 array; got {images.dtype} {images.shape}")
        self.images = images
        self.labels = np.asarray(labels, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.rank, self.world_size, self.drop_last = rank, world_size, drop_last
        self.device = torch.device(device)
        self.prefetch = prefetch
        self.uint8_transform = uint8_transform
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def plan(self) -> list[Step]:
        """This epoch's steps, with rows translated to positions in the image array."""
        steps = shard_plan(
            len(self.indices), batch_size=self.batch_size, epoch=self.epoch, seed=self.seed, shuffle=self.shuffle,
            rank=self.rank, world_size=self.world_size, drop_last=self.drop_last,
        )
        return [Step(self.indices[s.rows], s.weights, s.offset, s.global_size) for s in steps]

    def __len__(self) -> int:
        n, per_step = len(self.indices), self.batch_size * self.world_size
        return n // per_step if self.drop_last else -(-n // per_step)

    @property
    def num_samples(self) -> int:
        """Real (weight-1) samples per epoch across all processes."""
        n, per_step = len(self.indices), self.batch_size * self.world_size
        return (n // per_step) * per_step if self.drop_last else n

    # ---- iteration ---------------------------------------------------------------------------
    def _host_batch(self, step: Step):
        rows = step.rows
        images = torch.from_numpy(self.images[rows])  # one gather: a copy out of the memory map
        if self.uint8_transform is not None:
            chw = images.permute(0, 3, 1, 2)
            images = torch.stack([self.uint8_transform(img) for img in chw]).permute(0, 2, 3, 1).contiguous()
        labels = torch.from_numpy(self.labels[rows])
        w = torch.from_numpy(step.weights)
        if self.device.type == "cuda":
            images, labels, w = images.pin_memory(), labels.pin_memory(), w.pin_memory()
        return images, labels, w, step

    def _to_device(self, host) -> Batch:
        images, labels, w, step = host
        nb = self.device.type == "cuda"
        return Batch(images.to(self.device, non_blocking=nb), labels.to(self.device, non_blocking=nb),
                     w.to(self.device, non_blocking=nb), step.rows, step.offset, step.global_size)

    def __iter__(self) -> Iterator[Batch]:
        plan = self.plan()
        if self.prefetch <= 0:
            for step in plan:
                yield self._to_device(self._host_batch(step))
            return
        q: queue.Queue = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()
        done = object()

        def put(item) -> bool:  # False once the consumer has gone (it never blocks past a stop)
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def work():
            try:
                for step in plan:
                    if not put(self._host_batch(step)):
                        return
                put(done)
            except BaseException as exc:  # surfaced in the consumer
                put(exc)

        thread = threading.Thread(target=work, name="trainlab-loader", daemon=True)
        _LIVE[thread] = stop
        thread.start()
        try:
            while True:
                item = q.get()
                if item is done:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield self._to_device(item)
        finally:
            stop.set()
            thread.join()
            _LIVE.pop(thread, None)


# Loader threads still running (an iteration abandoned without being closed, e.g. held by a traceback),
# with their stop events: stop_loader_threads() ends them before the process leaves its process group.
_LIVE: dict[threading.Thread, threading.Event] = {}


def stop_loader_threads(timeout: float = 10.0) -> int:
    """Stop and join every loader thread still running; returns how many there were. A daemon thread
    left inside numpy/torch code while the interpreter shuts down can abort the process."""
    live = list(_LIVE.items())
    for _, stop in live:
        stop.set()
    for thread, _ in live:
        thread.join(timeout)
        if not thread.is_alive():
            _LIVE.pop(thread, None)
    return len(live)


class Normalize:
    """uint8 ``(B, H, W, 3)`` batch on its device -> float ``(B, 3, H, W)``, ``(x / 255 - mean) / std``.

    ``mean`` and ``std`` come from the model's ``data_config`` (never set by hand). With
    ``channels_last`` the result keeps the NHWC memory layout of the cache (no copy to NCHW).
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], *, channels_last: bool = False):
        mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(1, -1, 1, 1)
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(1, -1, 1, 1)
        self.scale = 1.0 / (255.0 * std_t)
        self.shift = mean_t / std_t
        self.channels_last = channels_last

    def to_float(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC -> float NCHW in [0, 255] (a channels_last view when asked for)."""
        x = images.permute(0, 3, 1, 2).float()  # the permuted NHWC tensor is already channels_last
        return x if self.channels_last else x.contiguous()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """float [0, 255] -> normalised, in place."""
        if self.scale.device != x.device:
            self.scale, self.shift = self.scale.to(x.device), self.shift.to(x.device)
        return x.mul_(self.scale).sub_(self.shift)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.normalize(self.to_float(images))
