"""Run management: `trainlab runs`, `latest`, unique prefixes, the runs/latest link."""

import json

import pytest

from trainlab.cli import main
from trainlab.errors import TrainlabError
from trainlab.runs import list_runs, mark_latest, resolve_run


def make_run(folder, name, created, status="finished", best=0.8):
    run = folder / name
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({
        "name": name, "recipe": "/x/fairface-gender.yaml", "status": status, "monitor": "val_acc", "best_metric": best,
        "epochs_done": 3, "epochs": 5, "created": created}))
    return run


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "runs"
    make_run(folder, "fairface-gender-20261201-100000", "2026-12-01T10:00:00+00:00")
    make_run(folder, "fairface-gender-20261202-090000", "2026-12-02T09:00:00+00:00", status="interrupted", best=0.7)
    make_run(folder, "ip102-seed-cnn-20261130-080000", "2026-11-30T08:00:00+00:00")
    return folder


def test_latest_is_the_newest_by_creation_not_by_name(runs):
    assert resolve_run("latest").name == "fairface-gender-20261202-090000"
    assert resolve_run("runs/latest").name == "fairface-gender-20261202-090000"


def test_unique_prefix_and_ambiguous_prefix(runs):
    assert resolve_run("ip102").name == "ip102-seed-cnn-20261130-080000"
    assert resolve_run("runs/fairface-gender-20261201").name == "fairface-gender-20261201-100000"
    with pytest.raises(TrainlabError, match="matches 2 runs in runs/"):
        resolve_run("fairface")
    assert str(resolve_run("nothing-like-this")) == "nothing-like-this"  # the verb's own message then applies


def test_mark_latest_points_the_link_at_the_run(runs):
    run = runs / "ip102-seed-cnn-20261130-080000"
    mark_latest(run)
    mark_latest(run)  # replacing an existing link
    assert (runs / "latest").resolve() == run.resolve()
    assert (runs / "latest" / "run.json").is_file()
    assert len(list_runs(runs)) == 3  # the link is not listed as a run


def test_runs_verb_lists_runs(runs, capsys):
    assert main(["runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["run", "recipe", "status", "best", "epochs", "created"]
    assert out[1].startswith("ip102-seed-cnn-20261130-080000") and out[-1].startswith("fairface-gender-20261202-090000")
    assert "interrupted" in out[-1] and "val_acc 0.7000" in out[-1] and "3/5" in out[-1]


def test_ambiguous_run_argument_is_a_usage_error(runs, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "fairface"])
    assert exc.value.code == 2
    assert "matches 2 runs" in capsys.readouterr().err
