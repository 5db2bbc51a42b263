"""A run's life when things go wrong (issue 13, items 1-6): kills, SIGTERM, damaged checkpoints, full or
read-only disks, two runs started together. Kill tests run ``trainlab train`` in a subprocess that signals
itself at a chosen point (a patched function), so the moment is exact; everything trains tiny images for one
or two epochs."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from trainlab.cli import main
from trainlab.training import checkpoint as ckpt

SMALL = ["data.image_size=24", "train.batch_size=8", "train.lr=0.002", "train.seed=1", "train.prefetch=0"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """IP102 layout, 24 train / 6 val / 6 test images of 3 classes."""
    root = tmp_path_factory.mktemp("ip102-small")
    (root / "images").mkdir()
    rng = np.random.default_rng(0)
    for split, n in {"train": 24, "val": 6, "test": 6}.items():
        lines = []
        for i in range(n):
            img = rng.integers(0, 70, (24, 24, 3)).astype(np.uint8)
            img[4:14, 4:14, i % 3] = 230
            Image.fromarray(img).save(root / "images" / f"{split}_{i:02d}.png")
            lines.append(f"{split}_{i:02d}.png {i % 3}")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n")
    (root / "classes.txt").write_text("1 a\n2 b\n3 c\n")
    return root


def args(data, runs, *extra):
    return ["train", "ip102-seed-cnn", f"data.root={data}", f"output.runs={runs}", *SMALL, *map(str, extra)]


def child(argv, patch: str = "", **popen):
    """``trainlab <argv>`` in a new Python process, after ``patch`` (code run before the CLI starts)."""
    code = "import os, signal, sys\n" + textwrap.dedent(patch) + "\nfrom trainlab.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OMP_NUM_THREADS": "1", "TRAINLAB_NO_PROGRESS": "1"}
    return subprocess.Popen([sys.executable, "-c", code, *map(str, argv)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def record(run):
    return json.loads((run / "run.json").read_text())


def assert_complete(run, epochs):
    info = record(run)
    assert info["status"] in ("finished", "stopped-early"), info
    assert pd.read_csv(run / "history.csv")["epoch"].tolist() == list(range(1, epochs + 1))
    for name in ("predictions/val.csv", "predictions/test.csv", "metrics.json", "checkpoints/last/state.pt"):
        assert (run / name).is_file(), name
    assert not [p for p in run.rglob("*") if ".tmp" in p.name], "partial files left behind"


# ---- 1. two runs started together ------------------------------------------------------------
def test_two_runs_started_in_the_same_second_get_two_folders(data, tmp_path):
    same_second = """
        import datetime as _dt
        import trainlab.training.run as R
        class Frozen(_dt.datetime):
            @classmethod
            def now(cls, tz=None):
                return _dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=tz)
        R.datetime = Frozen
    """
    procs = [child(args(data, tmp_path / "runs", "train.epochs=1"), same_second) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in outs]
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir() if not p.is_symlink())  # not runs/latest
    assert folders == ["ip102-seed-cnn-20260102-030405", "ip102-seed-cnn-20260102-030405-2"]
    for name in folders:
        assert_complete(tmp_path / "runs" / name, 1)


# ---- 2. killed after the last checkpoint, before the predictions ------------------------------
def test_resume_writes_what_a_run_killed_before_its_predictions_lacks(data, tmp_path, capsys):
    die = """
        import trainlab.training.run as R
        R._write_predictions = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)
    """
    proc = child(args(data, tmp_path, "train.epochs=2", "output.name=k"), die)
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    run = tmp_path / "k"
    assert not (run / "predictions").exists() and record(run)["status"] in ("running", "trained")
    state = ckpt.load_state(run / "checkpoints" / "last")
    assert main(["evaluate", str(run)]) == 2  # the judges point to the way out
    assert f"trainlab train --resume {run} writes them" in capsys.readouterr().err
    assert main(["train", "--resume", str(run)]) == 0, capsys.readouterr().err
    assert "without training more" in capsys.readouterr().err
    assert_complete(run, 2)
    assert ckpt.load_state(run / "checkpoints" / "last")["step"] == state["step"]  # no step trained
    assert main(["train", "--resume", str(run)]) == 2  # now there is nothing left to do
    assert "already trained all 2 of 2 epochs" in capsys.readouterr().err


# ---- 3. a named run killed during its first checkpoint write ----------------------------------
def test_a_named_run_killed_in_its_first_checkpoint_write_can_be_resumed(data, tmp_path, capsys):
    die = """
        import trainlab.training.checkpoint as C
        def half_then_die(state, path):
            open(path, "wb").write(b"PK half a zip")
            os.kill(os.getpid(), signal.SIGKILL)
        C._save_state = half_then_die
    """
    proc = child(args(data, tmp_path, "train.epochs=1", "output.name=first"), die)
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    run = tmp_path / "first"
    assert not (run / "checkpoints" / "last").exists()
    assert main(args(data, tmp_path, "train.epochs=1", "output.name=first")) == 2  # a restart is pointed to --resume
    assert f"continue it with --resume {run}" in capsys.readouterr().err
    assert main(["train", "--resume", str(run)]) == 0, capsys.readouterr().err
    assert "no checkpoint yet: training starts from the first epoch" in capsys.readouterr().err
    assert_complete(run, 1)


# ---- 4. a damaged state.pt ------------------------------------------------------------------
def test_a_damaged_checkpoint_is_named_and_the_previous_intact_one_used(data, tmp_path, capsys):
    assert main(args(data, tmp_path, "train.epochs=2", "output.name=d")) == 0
    run = tmp_path / "d"
    best = ckpt.load_state(run / "checkpoints" / "best")["epoch"]
    last = run / "checkpoints" / "last" / "state.pt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # truncated
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "train.epochs=3"]) == 0
    err = capsys.readouterr().err
    assert f"{last} is damaged" in err and f"falling back to {run / 'checkpoints' / 'best'} (epoch {best})" in err
    assert_complete(run, 3)
    assert record(run)["epochs_done"] == 3

    for name in ("last", "best"):  # every checkpoint damaged: say which, and leave the record as it was
        (run / "checkpoints" / name / "state.pt").write_bytes(b"")
    before = (run / "run.json").read_bytes()
    assert main(["train", "--resume", str(run), "train.epochs=4"]) == 2
    err = capsys.readouterr().err
    assert "no intact checkpoint" in err and f"{run / 'checkpoints' / 'last' / 'state.pt'} is damaged (empty)" in err
    assert f"{run / 'checkpoints' / 'best' / 'state.pt'} is damaged (empty)" in err
    assert (run / "run.json").read_bytes() == before and record(run)["status"] == "finished"


# ---- 5. read-only folders and a full disk -------------------------------------------------------
@pytest.fixture
def read_only(monkeypatch):
    """Make folders read-only as a read-only file system would (chmod does not stop root): creating a folder
    or a file under one fails with EROFS."""
    folders = []
    real_mkdir, real_open = os.mkdir, os.open

    def blocked(path):
        path = os.path.abspath(os.fspath(path))
        return any(path == f or path.startswith(f + os.sep) for f in folders)

    def mkdir(path, *a, **k):
        if blocked(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_mkdir(path, *a, **k)

    def open_(path, flags, *a, **k):
        if flags & os.O_CREAT and blocked(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fspath(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", open_)
    return lambda folder: folders.append(os.path.abspath(folder))


def test_a_read_only_output_folder_is_found_before_any_long_work(data, tmp_path, read_only, capsys, monkeypatch):
    (tmp_path / "ro").mkdir()
    read_only(tmp_path / "ro")
    cache = tmp_path / "cache"
    assert main(args(data, tmp_path / "ro" / "runs", "train.epochs=1", f"data.cache_dir={cache}")) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"error: cannot write the runs folder {tmp_path / 'ro' / 'runs'}: Read-only file system "
                   "(the folder is not writable: choose another with output.runs=...)")
    assert not cache.exists()  # found before the cache was built


def test_a_read_only_cache_folder_fails_the_run_with_one_line(data, tmp_path, read_only, capsys):
    (tmp_path / "cache").mkdir()
    read_only(tmp_path / "cache")
    assert main(args(data, tmp_path, "train.epochs=1", "output.name=c", f"data.cache_dir={tmp_path / 'cache'}")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: cannot write the image cache in {tmp_path / 'cache'}: Read-only file system")
    info = record(tmp_path / "c")
    assert info["status"] == "failed" and "image cache" in info["error"]


def test_a_full_disk_fails_the_run_keeps_the_last_checkpoint_and_leaves_no_partial_file(data, tmp_path, capsys, monkeypatch):
    real_save = ckpt._save_state

    def disk_fills_at_epoch_2(state, path):
        if state["epoch"] < 2:
            return real_save(state, path)
        with open(path, "wb") as fh:
            fh.write(b"\0" * 1000)  # some bytes reach the disk, then it is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(ckpt, "_save_state", disk_fills_at_epoch_2)
    run = tmp_path / "full"
    assert main(args(data, tmp_path, "train.epochs=2", "output.name=full")) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: cannot write the checkpoint {run / 'checkpoints'}/")
    assert "No space left on device (the disk is full" in err and f"continue with trainlab train --resume {run}" in err
    info = record(run)
    assert info["status"] == "failed" and "No space left on device" in info["error"]
    assert not [p for p in run.rglob("*") if ".tmp" in p.name]  # the partial checkpoint is removed
    assert ckpt.load_state(run / "checkpoints" / "last")["epoch"] == 1  # the previous one is kept

    monkeypatch.undo()  # space freed: the run goes on from its last checkpoint
    assert main(["train", "--resume", str(run)]) == 0
    assert_complete(run, 2)


# ---- 6. SIGTERM --------------------------------------------------------------------------------
def test_sigterm_interrupts_like_ctrl_c_and_the_run_resumes(data, tmp_path, capsys):
    term_in_epoch_2 = """
        from trainlab.training.trainer import Trainer
        real, calls = Trainer._check_finite, [0]
        def check(self, *a, **k):
            calls[0] += 1
            if calls[0] == 5:  # epoch 2, step 2 of 3
                os.kill(os.getpid(), signal.SIGTERM)
            return real(self, *a, **k)
        Trainer._check_finite = check
    """
    proc = child(args(data, tmp_path, "train.epochs=2", "output.name=t"), term_in_epoch_2)
    _, err = proc.communicate(timeout=300)
    run = tmp_path / "t"
    assert proc.returncode == 130, err[-2000:]
    assert f"continue with: trainlab train --resume {run}" in err
    info = record(run)
    assert info["status"] == "interrupted" and info["error"] == "stopped by SIGTERM"
    assert ckpt.load_state(run / "checkpoints" / "last")["epoch"] == 1
    assert main(["train", "--resume", str(run)]) == 0, capsys.readouterr().err
    assert_complete(run, 2)
    assert torch.load(run / "checkpoints" / "last" / "state.pt", weights_only=True)["step"] == 6
