import json
import os

import pytest

from trainlab.utils.io import atomic_path, atomic_write_text, write_json


def test_failed_write_leaves_previous_file(tmp_path):
    target = tmp_path / "metrics.json"
    write_json(target, {"acc": 0.5})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"acc": 0.9')  # half written
            raise RuntimeError("killed mid-write")
    assert json.loads(target.read_text()) == {"acc": 0.5}
    assert os.listdir(tmp_path) == ["metrics.json"]  # no temporary file left behind


def test_write_json_turns_nan_into_null(tmp_path):
    write_json(tmp_path / "m.json", {"a": float("nan"), "b": [1.0, float("inf")]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": None, "b": [1.0, None]}


def test_atomic_write_text_creates_folders(tmp_path):
    atomic_write_text(tmp_path / "a" / "b" / "c.txt", "hi")
    assert (tmp_path / "a" / "b" / "c.txt").read_text() == "hi"


def test_written_files_get_the_umask_mode_not_mkstemps_0600(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    os.chmod(tmp_path / "a.txt", 0o640)
    atomic_write_text(tmp_path / "a.txt", "y")  # replacing keeps the existing file's mode
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o640
