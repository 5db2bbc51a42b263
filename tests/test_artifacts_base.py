"""The artifact mechanism: round trip, and one clear message for every way a file can be wrong."""

import enum
import json

import pytest

from trainlab.artifacts import Artifact, ArtifactError


class Colour(str, enum.Enum):
    red = "red"
    blue = "blue"


class Thing(Artifact):
    KIND = "test.thing"
    SCHEMA_VERSION = 2
    FILENAME = "thing.json"
    MADE_BY = "trainlab make-thing"

    name: str
    colour: Colour
    sizes: tuple[int, ...] = ()


def test_round_trip_is_exact_and_frozen(tmp_path):
    thing = Thing(name="a", colour=Colour.blue, sizes=(3, 4))
    path = thing.write(tmp_path)
    assert path == tmp_path / "thing.json"
    stored = json.loads(path.read_text())
    assert stored["kind"] == "test.thing" and stored["schema_version"] == 2 and stored["colour"] == "blue"
    back = Thing.read(tmp_path)
    assert back == thing and back.colour is Colour.blue
    with pytest.raises(Exception):
        back.name = "b"  # frozen


def test_missing_file_names_the_command(tmp_path):
    with pytest.raises(ArtifactError, match="no such file; trainlab make-thing writes it"):
        Thing.read(tmp_path)


@pytest.mark.parametrize("payload, message", [
    ({"kind": "other", "schema_version": 1, "name": "a", "colour": "red"}, "field 'kind' is 'other'"),
    ({"kind": "test.thing", "schema_version": 9, "name": "a", "colour": "red"}, "field 'schema_version' is 9"),
    ({"kind": "test.thing", "schema_version": 2, "name": "a", "colour": "green"}, "field 'colour'"),
    ({"kind": "test.thing", "schema_version": 2, "colour": "red"}, "field 'name': Field required"),
    ({"kind": "test.thing", "schema_version": 2, "name": "a", "colour": "red", "extra": 1}, "field 'extra'"),
    ({"kind": "test.thing", "schema_version": 1, "name": "a", "colour": "red"}, "version 1 is no longer read; make the file again with trainlab make-thing"),
    ([1, 2], "expected a JSON object"),
])
def test_bad_files_name_the_field(tmp_path, payload, message):
    (tmp_path / "thing.json").write_text(json.dumps(payload))
    with pytest.raises(ArtifactError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        Thing.read(tmp_path / "thing.json")
    assert str(tmp_path / "thing.json") in str(info.value)


def test_truncated_and_binary_files(tmp_path):
    path = tmp_path / "thing.json"
    path.write_text('{"kind": "test.thing", "sche')
    with pytest.raises(ArtifactError, match="not valid JSON"):
        Thing.read(path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ArtifactError, match="not a text file"):
        Thing.read(path)
