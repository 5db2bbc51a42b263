"""Two processes under torchrun (Gloo on CPU) train like one process with the same global batch.

The test runs this file under ``torchrun --nproc-per-node 2``; the code below ``__main__`` is the worker.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from trainlab.config import AugmentSection, TrainSection
from trainlab.data.loader import BatchLoader, shard_plan
from trainlab.train.trainer import Trainer

SIZE, CLASSES, N_TRAIN, N_VAL = 12, 3, 101, 37


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, N_TRAIN + N_VAL)
    images = rng.integers(0, 80, (len(labels), SIZE, SIZE, 3)).astype(np.uint8)
    for i, y in enumerate(labels):
        images[i, 3:9, 3:9, int(y)] += 160
    return images, labels


class Net(torch.nn.Module):  # no dropout, no BatchNorm: the processes must agree to rounding
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.fc = torch.nn.Linear(6, CLASSES)
        self.data_config = {"input_size": (3, SIZE, SIZE), "mean": (0.5,) * 3, "std": (0.25,) * 3}

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).mean((2, 3)))


def run(batch_size, dist=None):
    """Train 3 epochs; returns the trainer and the (epoch, row) pairs its training loader yielded."""
    images, labels = make_data()
    seen = []
    original = BatchLoader.__iter__

    def recording(self):
        for batch in original(self):
            if self.shuffle:  # the training loader
                real = batch.weights.cpu().numpy() > 0
                seen.extend((self.epoch, int(i)) for i in batch.index[real])
            yield batch

    BatchLoader.__iter__ = recording
    cfg = TrainSection(epochs=3, batch_size=batch_size, lr=0.05, optimizer="sgd", deterministic=True, seed=1,
                       augment=AugmentSection(), prefetch=2, eval_batch_size=16)
    trainer = Trainer(Net(), cfg, images=images, labels=labels, train_index=np.arange(N_TRAIN),
                      val_index=np.arange(N_TRAIN, N_TRAIN + N_VAL), num_classes=CLASSES, dist=dist)
    result = trainer.fit()
    BatchLoader.__iter__ = original
    return trainer, result, seen


@pytest.mark.parametrize("n,world,batch", [(101, 2, 16), (100, 2, 16), (7, 3, 2), (2, 4, 4), (50, 3, 8)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_shard_plan_covers_every_sample_once(n, world, batch, drop_last):
    plans = [shard_plan(n, batch_size=batch, epoch=1, seed=0, rank=r, world_size=world, drop_last=drop_last) for r in range(world)]
    assert len({len(p) for p in plans}) == 1  # the same number of steps on every process
    real = np.concatenate([s.rows[s.weights > 0] for p in plans for s in p]) if plans[0] else np.zeros(0, int)
    expected = (n // (batch * world)) * batch * world if drop_last else n
    assert len(real) == expected and len(set(real.tolist())) == expected
    for steps in zip(*plans):  # each step: equal widths, offsets tile the global batch
        assert len({len(s.rows) for s in steps}) == 1
        sizes = [int(s.weights.sum()) for s in steps]
        assert [s.offset for s in steps] == list(np.cumsum([0] + sizes[:-1]))
        assert sum(sizes) == steps[0].global_size


@pytest.mark.slow
def test_two_processes_match_one_and_see_every_sample_once(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", __file__, str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]

    single, single_result, single_seen = run(batch_size=32)
    for epoch in range(3):
        ranks = [json.loads((tmp_path / f"seen{r}.json").read_text()) for r in range(2)]
        both = [i for r in ranks for e, i in r if e == epoch]
        assert sorted(both) == list(range(N_TRAIN))  # every training image exactly once per epoch
        assert sorted(both) == sorted(i for e, i in single_seen if e == epoch)

    ddp_state = torch.load(tmp_path / "state.pt", weights_only=True)
    for key, value in single.model.state_dict().items():
        torch.testing.assert_close(ddp_state[key], value, atol=2e-5, rtol=1e-4)
    ddp_history = json.loads((tmp_path / "history.json").read_text())
    for a, b in zip(ddp_history, single_result.history):
        assert a["train_acc"] == pytest.approx(b["train_acc"], abs=1e-9)
        assert a["val_acc"] == pytest.approx(b["val_acc"], abs=1e-9)
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
    ddp_proba = np.load(tmp_path / "proba.npy")
    np.testing.assert_allclose(ddp_proba, single.predict_proba(np.arange(N_TRAIN, N_TRAIN + N_VAL)), atol=1e-4)


if __name__ == "__main__":  # a torchrun worker
    from trainlab.train import distributed

    out = Path(sys.argv[1])
    info = distributed.setup("cpu")
    trainer, result, seen = run(batch_size=16, dist=info)
    (out / f"seen{info.rank}.json").write_text(json.dumps(seen))
    proba = trainer.predict_proba(np.arange(N_TRAIN, N_TRAIN + N_VAL))  # every process takes part
    if info.is_main:
        torch.save(trainer.model.state_dict(), out / "state.pt")
        (out / "history.json").write_text(json.dumps(result.history))
        np.save(out / "proba.npy", proba)
    distributed.cleanup()
