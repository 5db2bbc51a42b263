"""Two processes under torchrun (Gloo on CPU) train like one process with the same global batch.

This file is also the torchrun worker (below ``__main__``). One 2-process launch trains every scenario
(so the suite pays for one start), a second launch runs two single-process "nodes" on 127.0.0.1:

- ``net``: no dropout, no BatchNorm (what the processes share is only the data and the gradients);
- ``cnn``: the seed CNN with its three dropout layers and the Keras augmentation, both keyed by sample;
- ``bn``: a BatchNorm network (statistics over the global batch's real rows: the 101 training images
  leave a last global batch of 5, split 3 + 2 with one zero-weight padding row);
- ``resume``: a network with torch's own (per-process) dropout, trained 3 epochs straight and 2 + 1
  epochs with a resume in between, on 2 processes;
- ``cnn1``: the seed CNN for 1 epoch with a checkpoint, resumed here on 1 process at batch 2B.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from trainlab.config import AugmentSection, TrainSection
from trainlab.data.loader import BatchLoader, shard_plan
from trainlab.errors import TrainlabError
from trainlab.models.factory import create_model
from trainlab.training.trainer import Trainer
from trainlab.training.writer import RunWriter

SIZE, CLASSES, N_TRAIN, N_VAL = 12, 3, 101, 37
VAL = np.arange(N_TRAIN, N_TRAIN + N_VAL)


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, N_TRAIN + N_VAL)
    images = rng.integers(0, 80, (len(labels), SIZE, SIZE, 3)).astype(np.uint8)
    for i, y in enumerate(labels):
        images[i, 3:9, 3:9, int(y)] += 160
    return images, labels


DATA_CONFIG = {"input_size": (3, SIZE, SIZE), "mean": (0.5,) * 3, "std": (0.25,) * 3}


class Net(torch.nn.Module):  # no dropout, no BatchNorm
    def __init__(self, dropout=0.0):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.drop = torch.nn.Dropout(dropout)  # torch's own: draws from the process's stream
        self.fc = torch.nn.Linear(6, CLASSES)
        self.data_config = DATA_CONFIG

    def forward(self, x):
        return self.fc(self.drop(torch.relu(self.conv(x)).mean((2, 3))))


class BNNet(torch.nn.Module):  # a small BatchNorm backbone
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv1, self.bn1 = torch.nn.Conv2d(3, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8)
        self.conv2, self.bn2 = torch.nn.Conv2d(8, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8)
        self.fc = torch.nn.Linear(8, CLASSES)
        self.data_config = DATA_CONFIG

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        return self.fc(torch.relu(self.bn2(self.conv2(x))).mean((2, 3)))


def seed_cnn():
    torch.manual_seed(0)
    return create_model("seed_cnn", CLASSES, input_size=SIZE)


MODELS = {"net": Net, "cnn": seed_cnn, "bn": BNNet, "resume": lambda: Net(dropout=0.3)}
EPOCHS = {"net": 3, "cnn": 2, "bn": 2, "resume": 3}


def config(name, batch_size, epochs=None):
    return TrainSection(epochs=epochs or EPOCHS[name], batch_size=batch_size, lr=0.05 if name != "cnn" else 0.002,
                        optimizer="sgd" if name != "cnn" else "adam", deterministic=True, seed=1, augment=AugmentSection(),
                        prefetch=2, eval_batch_size=16, amp="off")


def run(name, batch_size, dist=None, *, epochs=None, run_dir=None, resume_from=None):
    """Train ``name``; returns the trainer, its FitResult and the (epoch, row) pairs the training loader yielded."""
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
    try:
        writer = RunWriter(run_dir, enabled=dist is None or dist.is_main) if run_dir is not None else None
        trainer = Trainer(MODELS[name](), config(name, batch_size, epochs), images=images, labels=labels,
                          train_index=np.arange(N_TRAIN), val_index=VAL, num_classes=CLASSES, dist=dist, writer=writer)
        result = trainer.fit(resume_from=resume_from)
    finally:
        BatchLoader.__iter__ = original
    return trainer, result, seen


def launch(out: Path, *args: str, nodes: int = 1) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1"}
    base = [sys.executable, "-m", "torch.distributed.run"]
    if nodes == 1:
        cmds = [base + ["--standalone", "--nproc-per-node", "2", __file__, str(out), *args]]
    else:  # two "nodes" on this machine, rendezvous (c10d) on the loopback address only
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmds = [base + ["--nnodes", str(nodes), "--node-rank", str(k), "--nproc-per-node", "1", "--rdzv-backend", "c10d",
                        "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "trainlab-test", "--rdzv-conf",
                        f"is_host={int(k == 0)}", "--local-addr", "127.0.0.1", "--max-restarts", "0",
                        __file__, str(out), *args] for k in range(nodes)]
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for c in cmds]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    for p, text in zip(procs, outputs):
        assert p.returncode == 0, text[-3000:]


@pytest.fixture(scope="module")
def ddp(tmp_path_factory):
    """Every 2-process scenario, trained in one torchrun launch; the folder of their results."""
    out = tmp_path_factory.mktemp("ddp")
    launch(out, "net", "cnn", "bn", "resume", "cnn1")
    return out


@pytest.fixture(scope="module")
def single():
    """The single-process references at the 2-process runs' global batch (2 x 16)."""
    return {name: run(name, batch_size=32) for name in ("net", "cnn", "bn")}


def assert_same_training(out: Path, name: str, reference, *, atol=2e-5):
    trainer, result, _ = reference
    state = torch.load(out / f"{name}-state.pt", weights_only=True)
    for key, value in trainer.model.state_dict().items():
        torch.testing.assert_close(state[key], value, atol=atol, rtol=1e-4, msg=lambda m: f"{name} {key}: {m}")
    history = json.loads((out / f"{name}-history.json").read_text())
    assert len(history) == len(result.history)
    for a, b in zip(history, result.history):
        assert a["train_acc"] == pytest.approx(b["train_acc"], abs=1e-9)
        assert a["val_acc"] == pytest.approx(b["val_acc"], abs=1e-9)
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
    np.testing.assert_allclose(np.load(out / f"{name}-proba.npy"), trainer.predict_proba(VAL), atol=1e-4)


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
def test_two_processes_match_one_and_see_every_sample_once(ddp, single):
    _, _, single_seen = single["net"]
    for epoch in range(EPOCHS["net"]):
        ranks = [json.loads((ddp / f"net-seen{r}.json").read_text()) for r in range(2)]
        both = [i for r in ranks for e, i in r if e == epoch]
        assert sorted(both) == list(range(N_TRAIN))  # every training image exactly once per epoch
        assert sorted(both) == sorted(i for e, i in single_seen if e == epoch)
    assert_same_training(ddp, "net", single["net"])


@pytest.mark.slow
def test_seed_cnn_with_dropout_and_augmentation_two_processes_match_one(ddp, single):
    assert_same_training(ddp, "cnn", single["cnn"])


@pytest.mark.slow
def test_batchnorm_two_processes_match_one(ddp, single):
    # BatchNorm statistics over the global batch, without the padding row of the last batch
    assert_same_training(ddp, "bn", single["bn"])
    running = torch.load(ddp / "bn-state.pt", weights_only=True)["bn2.running_var"]
    assert not torch.allclose(running, torch.ones_like(running))  # the statistics did move


@pytest.mark.slow
def test_two_process_resume_equals_uninterrupted(ddp):
    # torch's own dropout draws from each process's stream: both processes' states must be restored
    straight = torch.load(ddp / "resume-state.pt", weights_only=True)
    resumed = torch.load(ddp / "resumed-state.pt", weights_only=True)
    for key in straight:
        torch.testing.assert_close(resumed[key], straight[key], atol=0, rtol=0, msg=lambda m: f"{key}: {m}")
    saved = torch.load(ddp / "resume-run" / "checkpoints" / "last" / "state.pt", weights_only=True)
    assert len(saved["rng_ranks"]) == 2 and not torch.equal(saved["rng_ranks"][0]["torch"], saved["rng_ranks"][1]["torch"])


@pytest.mark.slow
def test_keyed_run_resumes_exactly_on_another_number_of_processes(ddp, single):
    # the seed CNN's epoch 1 on 2 processes x 16, its epoch 2 here on 1 process x 32
    trainer, result, _ = run("cnn", batch_size=32, run_dir=ddp / "cnn1-run", resume_from=ddp / "cnn1-run" / "checkpoints" / "last")
    reference, _, _ = single["cnn"]
    for key, value in reference.model.state_dict().items():
        torch.testing.assert_close(trainer.model.state_dict()[key], value, atol=2e-5, rtol=1e-4)
    assert result.history[-1]["val_acc"] == pytest.approx(single["cnn"][1].history[-1]["val_acc"], abs=1e-9)


@pytest.mark.slow
def test_resume_on_another_layout_is_refused_when_it_would_not_be_exact(ddp):
    last = ddp / "resume-run" / "checkpoints" / "last"  # 2 processes x 16, torch dropout
    with pytest.raises(TrainlabError, match=r"Dropout\(p=0.3\) draws from the process's own random stream.*Resume on 2"):
        run("resume", batch_size=32, epochs=4, resume_from=last)
    with pytest.raises(TrainlabError, match=r"global batch of 32 \(train.batch_size=16 x 2\).*train.batch_size=32 on 1"):
        run("resume", batch_size=16, epochs=4, resume_from=last)


@pytest.mark.slow
def test_two_nodes_on_loopback_match_one_process(tmp_path, single):
    launch(tmp_path, "cnn", nodes=2)
    assert_same_training(tmp_path, "cnn", single["cnn"])


def worker(out: Path, names: list[str]) -> None:
    from trainlab.training import distributed

    info = distributed.setup("cpu")
    try:
        for name in names:
            if name == "cnn1":  # one epoch with a checkpoint, for a resume on another layout
                run("cnn", batch_size=16, dist=info, epochs=1, run_dir=out / "cnn1-run")
                continue
            run_dir = out / "resume-run" if name == "resume" else None
            trainer, result, seen = run(name, batch_size=16, dist=info, run_dir=run_dir)
            (out / f"{name}-seen{info.rank}.json").write_text(json.dumps(seen))
            proba = trainer.predict_proba(VAL)  # every process takes part
            if info.is_main:
                torch.save(trainer.model.state_dict(), out / f"{name}-state.pt")
                (out / f"{name}-history.json").write_text(json.dumps(result.history))
                np.save(out / f"{name}-proba.npy", proba)
            if name == "resume":  # 2 epochs, then a new trainer resumes for the third
                part = out / "resume-part"
                run("resume", batch_size=16, dist=info, epochs=2, run_dir=part)
                resumed, _, _ = run("resume", batch_size=16, dist=info, run_dir=part, resume_from=part / "checkpoints" / "last")
                if info.is_main:
                    torch.save(resumed.model.state_dict(), out / "resumed-state.pt")
    finally:
        distributed.cleanup()


if __name__ == "__main__":  # a torchrun worker
    worker(Path(sys.argv[1]), sys.argv[2:])
