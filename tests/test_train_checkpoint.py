"""Checkpoint folders are replaced atomically: an interrupted write never costs the previous checkpoint."""

import logging
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from trainlab.errors import TrainlabError
from trainlab.training import checkpoint as ckpt


def net(fill=None):
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    if fill is not None:
        with torch.no_grad():
            for t in model.state_dict().values():
                t.fill_(fill)
    return model


def loaded(folder):
    model = net()
    ckpt.load_model_weights(folder, model)
    return model


def test_round_trip_of_weights_and_state(tmp_path):
    model = net(1.5)
    ckpt.save_checkpoint(tmp_path / "last", model, {"epoch": 3, "step": 30, "best_metric": 0.5}, {"epoch": 3})
    assert sorted(p.name for p in (tmp_path / "last").iterdir()) == ["model.safetensors", "state.pt"]
    assert [p.name for p in tmp_path.iterdir()] == ["last"]  # no temporary folder left behind
    assert torch.equal(loaded(tmp_path / "last")[0].weight, model[0].weight)
    assert ckpt.load_state(tmp_path / "last") == {"epoch": 3, "step": 30, "best_metric": 0.5}


def test_rng_state_round_trip():
    state = ckpt.rng_state()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    ckpt.set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_write_interrupted_midway_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    ckpt.save_checkpoint(tmp_path / "last", net(1.0), {"epoch": 1})

    def half_then_fail(state, path):
        Path(path).write_bytes(b"\x80\x02half a pickle")  # some bytes reach the disk, then the process "dies"
        raise OSError("disk full")

    monkeypatch.setattr(ckpt, "_save_state", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(tmp_path / "last", net(2.0), {"epoch": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["last"]  # the partial folder is removed at once
    assert ckpt.resolve(tmp_path / "last") == tmp_path / "last"
    assert ckpt.load_state(tmp_path / "last") == {"epoch": 1}
    assert torch.all(loaded(tmp_path / "last")[0].weight == 1.0)

    monkeypatch.undo()  # the next save succeeds and clears the debris
    ckpt.save_checkpoint(tmp_path / "last", net(3.0), {"epoch": 3})
    assert ckpt.load_state(tmp_path / "last") == {"epoch": 3}
    assert [p.name for p in tmp_path.iterdir()] == ["last"]


def test_crash_between_the_two_renames_is_recovered(tmp_path, monkeypatch):
    ckpt.save_checkpoint(tmp_path / "best", net(1.0), {"epoch": 1})
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name == ".best.tmp" and Path(dst).name == "best":  # the old one is aside: die now
            assert (tmp_path / ".best.old").is_dir()
            raise KeyboardInterrupt
        return real_replace(src, dst)

    monkeypatch.setattr(ckpt.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(tmp_path / "best", net(2.0), {"epoch": 2})
    monkeypatch.undo()
    assert not (tmp_path / "best").exists()
    assert ckpt.resolve(tmp_path / "best") == tmp_path / ".best.old"
    assert ckpt.load_state(tmp_path / "best") == {"epoch": 1}
    assert torch.all(loaded(tmp_path / "best")[0].weight == 1.0)
    ckpt.save_checkpoint(tmp_path / "best", net(4.0), {"epoch": 4})
    assert [p.name for p in tmp_path.iterdir()] == ["best"]


@pytest.mark.slow
def test_process_killed_while_writing_leaves_a_complete_checkpoint(tmp_path):
    """A process writing checkpoints in a loop is SIGKILLed at a random moment, several times."""
    child = textwrap.dedent(
        f"""
        import sys, torch
        from trainlab.training import checkpoint as ckpt
        model = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.Linear(512, 512))  # 2 MB
        version = int(sys.argv[1])
        while True:
            version += 1
            with torch.no_grad():
                for t in model.state_dict().values():
                    t.fill_(version)
            ckpt.save_checkpoint({str(tmp_path / 'last')!r}, model, {{"epoch": version}})
            print(version, flush=True)
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    rng = np.random.default_rng(0)
    version = 0
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", child, str(version)], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2):  # let it write two checkpoints, then kill it somewhere in the third
            proc.stdout.readline()
        time.sleep(float(rng.uniform(0, 0.05)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        state = ckpt.load_state(tmp_path / "last")
        model = torch.nn.Sequential(torch.nn.Linear(512, 512), torch.nn.Linear(512, 512))
        ckpt.load_model_weights(tmp_path / "last", model)
        assert state["epoch"] > version
        for t in model.state_dict().values():  # weights and state come from the same, complete save
            assert torch.all(t == state["epoch"])
        version = state["epoch"]


def test_missing_checkpoint_and_mismatched_weights_are_clear_errors(tmp_path):
    with pytest.raises(TrainlabError, match="no checkpoint at"):
        ckpt.resolve(tmp_path / "last")
    ckpt.save_checkpoint(tmp_path / "last", net(1.0), {"epoch": 1})
    with pytest.raises(TrainlabError, match="do not fit the model"):
        ckpt.load_model_weights(tmp_path / "last", torch.nn.Linear(4, 5))


def test_latest_intact_names_a_damaged_file_and_falls_back(tmp_path, caplog):
    assert ckpt.latest_intact(tmp_path) is None  # no checkpoint at all
    ckpt.save_checkpoint(tmp_path / "best", net(1.0), {"epoch": 1})
    ckpt.save_checkpoint(tmp_path / "last", net(2.0), {"epoch": 2})
    folder, state = ckpt.latest_intact(tmp_path)
    assert folder == tmp_path / "last" and state["epoch"] == 2
    weights = tmp_path / "last" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-20])  # truncated
    logger = logging.getLogger("trainlab")  # the CLI's set-up stops propagation to the root logger
    logger.addHandler(caplog.handler)
    try:
        folder, state = ckpt.latest_intact(tmp_path)
    finally:
        logger.removeHandler(caplog.handler)
    assert folder == tmp_path / "best" and state["epoch"] == 1
    assert f"{weights} is damaged" in caplog.text and "falling back to" in caplog.text
    (tmp_path / "best" / "state.pt").write_bytes(b"")
    with pytest.raises(TrainlabError, match="no intact checkpoint") as info:
        ckpt.latest_intact(tmp_path)
    assert f"{weights} is damaged" in str(info.value)
    assert f"{tmp_path / 'best' / 'state.pt'} is damaged (empty)" in str(info.value)
