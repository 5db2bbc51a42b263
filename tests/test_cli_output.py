"""Clean output: flags after the verb, bare group verbs, a closed pipe, progress without a terminal."""

import logging
import subprocess
import sys

import pytest

from trainlab.cli import build_parser, main
from trainlab.utils.log import LogProgress, format_duration, progress, setup_logging


@pytest.mark.parametrize("argv, verbose, quiet", [
    (["-v", "summary", "seed_cnn"], 1, 0),
    (["summary", "seed_cnn", "-v"], 1, 0),
    (["summary", "-q", "seed_cnn"], 0, 1),
    (["data", "inspect", "x", "-q"], 0, 1),
    (["summary", "seed_cnn"], 0, 0),
])
def test_verbosity_flags_before_or_after_the_verb(argv, verbose, quiet):
    args = build_parser().parse_args(argv)
    assert (args.verbose, args.quiet) == (verbose, quiet)


@pytest.mark.parametrize("argv, usage", [(["data"], "usage: trainlab data"), ([], "usage: trainlab ")])
def test_bare_group_verb_prints_its_help_and_exits_2(argv, usage, capsys):
    assert main(argv) == 2
    assert capsys.readouterr().out.startswith(usage)


def test_a_closed_pipe_ends_quietly():
    """`trainlab summary seed_cnn | head -0`: the reader is gone before the table is written."""
    proc = subprocess.Popen([sys.executable, "-m", "trainlab", "summary", "seed_cnn"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_log_progress_writes_a_line_per_interval_with_integer_counts():
    setup_logging(0)
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logging.getLogger("trainlab").addHandler(handler)
    try:
        bar = LogProgress(total=455, desc="epoch 1/3", unit="img", every=0.5)
        bar._start -= 2.0
        bar._last -= 1.0  # an interval has passed
        bar.set_postfix(loss="0.4123")
        bar.update(32)
        bar.update(32)  # within the interval: no second line
    finally:
        logging.getLogger("trainlab").removeHandler(handler)
    assert len(lines) == 1
    assert lines[0].startswith("epoch 1/3: 32/455 img (7%), ") and "ETA " in lines[0] and lines[0].endswith("loss=0.4123")
    assert "32.0" not in lines[0]


def test_progress_is_a_log_line_writer_without_a_terminal(monkeypatch):
    monkeypatch.delenv("TRAINLAB_NO_PROGRESS", raising=False)
    setup_logging(0)
    assert isinstance(progress(total=3), LogProgress)  # pytest captures stderr: no terminal
    setup_logging(-1)  # -q
    try:
        assert progress(total=3).disable
    finally:
        setup_logging(0)


def test_format_duration():
    assert [format_duration(s) for s in (0, 12.4, 184, 3723)] == ["0:00", "0:12", "3:04", "1:02:03"]


def test_piped_training_writes_few_progress_lines(tmp_path):
    """One epoch of many small steps, stderr piped to a file: a handful of lines, not a frame per batch."""
    import os

    import numpy as np
    from PIL import Image

    root = tmp_path / "data"
    for split, n in {"train": 40, "val": 8, "test": 8}.items():
        for i in range(n):
            folder = root / split / f"c{i % 2}"
            folder.mkdir(parents=True, exist_ok=True)
            img = np.full((12, 12, 3), 40 + 150 * (i % 2), np.uint8)
            img[0, 0, :2] = i, len(split)  # distinct files: byte-identical copies in two splits are refused as a leak
            Image.fromarray(img).save(folder / f"{i}.png")
    env = {k: v for k, v in os.environ.items() if k != "TRAINLAB_NO_PROGRESS"}
    proc = subprocess.run(
        [sys.executable, "-m", "trainlab", "train", "ip102-seed-cnn", f"data.root={root}", "data.format=imagefolder",
         "data.image_size=12", "train.epochs=1", "train.batch_size=4", f"output.runs={tmp_path / 'runs'}"],
        capture_output=True, env=env, timeout=600,
    )
    err = proc.stderr.decode()  # bytes: text mode would turn a bar's carriage returns into newlines
    assert proc.returncode == 0, err
    assert "\r" not in err, err[-2000:]  # no bar frames (a bar writes one at its start, then one per refresh)
    assert sum("img/s" in line for line in err.split("\n")) < 20, err[-2000:]
    assert "epoch 1/1" in err  # the epoch's own line still shows
    assert (tmp_path / "runs" / "latest" / "run.json").is_file()  # runs/latest points at the new run
