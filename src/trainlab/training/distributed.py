"""torchrun / DistributedDataParallel plumbing: who am I, where do I run, and the few collectives we use.

``torchrun --nproc-per-node N -m trainlab train recipe.yaml`` sets ``RANK``, ``WORLD_SIZE`` and
``LOCAL_RANK``; :func:`setup` then joins the process group (NCCL on CUDA, Gloo on CPU) and pins the
process to its GPU. Without those variables everything runs as a single process and every helper
here is a no-op, so the training loop reads the same either way.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import os
from dataclasses import dataclass
from typing import Any, Iterator

import torch
import torch.distributed as dist

from trainlab.utils.device import pick_device


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Only the main process (rank 0) writes files and logs progress."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device: str = "auto", *, timeout_s: float = 1800) -> DistInfo:
    """Join the process group when launched by torchrun; pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo(device=pick_device(device))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = pick_device(device)
    if dev.type == "cuda":
        dev = torch.device("cuda", local_rank)
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        kwargs = {"device_id": dev} if dev.type == "cuda" else {}
        dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s), **kwargs)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=dev)


@contextlib.contextmanager
def process_group(device: str = "auto") -> Iterator[DistInfo]:
    """:func:`setup`, and on leaving :func:`cleanup`; after a normal exit, first a :func:`barrier`, so no
    process leaves (and tears its connections down) while another still works, such as the main process
    writing the final evaluation. After an exception there is no barrier: the others may be waiting in a
    collective that never comes, and torchrun stops them."""
    info = setup(device)
    try:
        yield info
    except BaseException:
        cleanup()
        raise
    barrier()
    cleanup()


def cleanup() -> None:
    """Leave the process group while the interpreter is fully alive, in this order: stop the loader
    threads, free what still holds the group, destroy it.

    A DistributedDataParallel wrapper reached only from a garbage reference cycle (a traceback, a
    callback; DDP's own first construction in a process leaves one) keeps its reducer, and with it the
    group and Gloo's worker threads, until the cyclic collector runs, possibly during the interpreter's
    shutdown, where tearing them down can abort the process ("terminate called without an active
    exception"). ``gc.collect()`` frees such wrappers here, before the group is destroyed.
    """
    from trainlab.data.loader import stop_loader_threads

    stop_loader_threads()
    gc.collect()
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    gc.collect()


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over processes, in place (sums of loss x n and of counts, never means of means)."""
    if _active():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def all_reduce_min(tensor: torch.Tensor) -> torch.Tensor:
    if _active():
        dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return tensor


def all_gather_objects(obj: Any) -> list[Any]:
    """Every process's ``obj``, in rank order, on every process."""
    if not _active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """``obj`` of process ``src`` on every process (for example the run folder name)."""
    if not _active():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def sync_buffers(model: torch.nn.Module) -> None:
    """Give every process rank 0's buffers (BatchNorm running statistics) before evaluating or saving:
    DDP syncs them at the start of a forward pass, so each process's last step left its own."""
    if _active():
        for buf in model.buffers():
            dist.broadcast(buf, src=0)


def barrier() -> None:
    if _active():
        dist.barrier()
