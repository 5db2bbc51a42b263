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
