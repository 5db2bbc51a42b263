"""Leaving the process group: every process waits for the others, loader threads are joined, what still
holds the group is freed, then the group is destroyed.

About 1 in 8 clean 2-process runs aborted at exit ("terminate called without an active exception") and
lost the final evaluation: the process that finished first left (and tore its group down) while rank 0
still wrote the evaluation, and when a process fails torchrun stops the others. These tests check the
mechanism on one process, in seconds (a torchrun loop would take minutes).
"""

import gc
import threading
import weakref

import numpy as np
import pytest
import torch
import torch.distributed as dist

from trainlab.data.loader import BatchLoader
from trainlab.training import distributed


@pytest.fixture
def group(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def loader_threads():
    return [t for t in threading.enumerate() if t.name == "trainlab-loader" and t.is_alive()]


def test_cleanup_frees_a_ddp_wrapper_held_by_a_reference_cycle_before_destroying_the_group(group):
    was_enabled = gc.isenabled()
    gc.disable()  # as between two automatic collections: only cleanup may free the cycle
    try:
        ddp = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(3, 2))
        ddp(torch.rand(4, 3)).sum().backward()
        ref = weakref.ref(ddp)
        holder = {"net": ddp}  # as a trainer reached from a traceback or a callback cycle
        holder["self"] = holder
        del ddp, holder
        assert ref() is not None  # without a collection the wrapper (its reducer holds the group) lives on
        distributed.cleanup()
        assert ref() is None
        assert not dist.is_initialized()
    finally:
        if was_enabled:
            gc.enable()


def test_cleanup_stops_an_abandoned_loader_thread():
    images = np.zeros((40, 4, 4, 3), np.uint8)
    loader = BatchLoader(images, np.zeros(40, np.int64), np.arange(40), batch_size=2, shuffle=False, prefetch=2)
    it = iter(loader)
    next(it)  # the thread fills the queue and waits for a consumer that never comes back
    assert loader_threads()
    distributed.cleanup()
    assert not loader_threads()
    del it


def test_session_waits_for_every_process_before_leaving_but_not_after_an_error(monkeypatch):
    events = []
    monkeypatch.setattr(distributed, "barrier", lambda: events.append("barrier"))
    monkeypatch.setattr(distributed, "cleanup", lambda: events.append("cleanup"))
    with distributed.process_group("cpu"):
        events.append("evaluation written")
    assert events == ["evaluation written", "barrier", "cleanup"]
    events.clear()
    with pytest.raises(RuntimeError), distributed.process_group("cpu"):
        raise RuntimeError("a failed step")
    assert events == ["cleanup"]  # no barrier: the others may wait in a collective that never comes
