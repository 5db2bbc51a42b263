"""audit.json as a typed artifact: what the audit writes is what read() gives back, old files still read."""

import json

import pytest

from _fairness_synth import planted
from trainlab.artifacts import ArtifactError
from trainlab.artifacts.audit import AuditResult
from trainlab.fairness.audit import audit
from trainlab.fairness.folder import write_audit


def test_write_read_round_trip_is_exact(tmp_path):
    result = audit(planted(60, seed=1, extra_error=0.3), by=["race", "race,gender"], bootstrap=100)
    paths = write_audit(result, tmp_path)
    back = AuditResult.read(tmp_path)
    assert back == result and paths["audit.json"] == tmp_path / "audit.json"
    assert back.flagged == result.flagged and back.flag_count == len(back.flags) > 0
    race = back.get("race")
    assert race.group("Black").accuracy.value == result.data["audits"][0]["groups"][0]["accuracy"]["value"]
    assert race.disparities["accuracy_gap"].lowest == "Black"
    text = (tmp_path / "audit.json").read_text()
    assert '"class"' in text and '"cls"' not in text  # the file keeps its field names
    assert "NaN" not in text and "Infinity" not in text


def test_a_file_written_before_audit_json_was_typed_is_read(tmp_path):
    result = audit(planted(40, seed=2, extra_error=0.0), by=["race"], bootstrap=0)
    old = {k: v for k, v in result.data.items() if k not in ("kind", "schema_version")}
    old["schema"] = "trainlab.audit/1"  # how trainlab wrote it before the artifact
    (tmp_path / "audit.json").write_text(json.dumps(old))
    assert AuditResult.read(tmp_path) == result


def test_a_bad_field_is_named(tmp_path):
    data = audit(planted(40, seed=2, extra_error=0.0), by=["race"], bootstrap=0).data
    data["audits"][0]["groups"][1]["count"] = "many"
    (tmp_path / "audit.json").write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match=r"audit.json: field 'audits.0.groups.1.count'"):
        AuditResult.read(tmp_path)
    with pytest.raises(ArtifactError, match=r"no such file; trainlab audit writes it"):
        AuditResult.read(tmp_path / "nowhere")
