"""Seed groups: one run folder per seed in one group folder, one summary with the mean and its 95% t-interval."""

import json

import numpy as np
import pytest
import yaml
from scipy import stats

from trainlab.artifacts.seed_group import SeedGroupSummary
from trainlab.cli import main
from trainlab.errors import TrainlabError
from trainlab.training.seeds import seed_list, summarize
from _folder_data import write_folder_dataset


@pytest.fixture(scope="module")
def folder_dataset(tmp_path_factory):
    return write_folder_dataset(tmp_path_factory.mktemp("imgs"), train=10, other=6)


def test_summary_is_mean_and_t_interval():
    m = summarize([0.70, 0.74, 0.75])
    s = np.std([0.70, 0.74, 0.75], ddof=1)
    half = stats.t.ppf(0.975, 2) * s / np.sqrt(3)
    assert m.mean == pytest.approx(0.73) and m.std == pytest.approx(s)
    assert (m.low, m.high) == (pytest.approx(0.73 - half), pytest.approx(0.73 + half))
    assert half == pytest.approx(2.4841 * s, rel=1e-3)  # t_{0.975, 2} = 4.303 over sqrt(3)
    one = summarize([0.7])
    assert one.low is None and one.std is None and one.mean == 0.7


def test_seed_list_from_flag_or_recipe():
    assert seed_list("ip102-seed-cnn", ["train.seed=5"], 3) == [5, 6, 7]
    assert seed_list("ip102-seed-cnn", ["train.seeds=[0, 2]"], None) == [0, 2]
    assert seed_list("ip102-seed-cnn", [], None) == []
    with pytest.raises(TrainlabError, match="use one of them"):
        seed_list("ip102-seed-cnn", ["train.seeds=[0, 2]"], 3)
    with pytest.raises(TrainlabError, match="train.seeds repeats a seed"):
        main_args = ["train", "ip102-seed-cnn", "train.seeds=[1, 1]", "data.root=/nonexistent"]
        from trainlab.config import load_recipe, validate

        validate(load_recipe("ip102-seed-cnn", main_args[2:3]))


def test_a_seed_group_writes_one_folder_per_seed_and_one_summary(folder_dataset, tmp_path, capsys):
    code = main(["train", "ip102-seed-cnn", f"data.root={folder_dataset}", "data.format=imagefolder", "data.image_size=16",
                 "train.epochs=1", "train.batch_size=8", "train.seeds=[0, 1, 2]", f"data.cache_dir={tmp_path / 'cache'}",
                 "output.name=group", "--out", str(tmp_path / "runs")])
    assert code == 0, capsys.readouterr().err
    group = tmp_path / "runs" / "group"
    assert sorted(p.name for p in group.iterdir() if p.is_dir() and not p.is_symlink()) == ["seed-0", "seed-1", "seed-2"]
    summary = SeedGroupSummary.read(group)
    assert summary.seeds == [0, 1, 2] and summary.runs == ["seed-0", "seed-1", "seed-2"]
    accuracies = []
    for seed in (0, 1, 2):
        run = group / f"seed-{seed}"
        config = yaml.safe_load((run / "config.yaml").read_text())
        assert config["train"]["seed"] == seed and config["train"]["seeds"] == []  # each folder redoes one run
        accuracies.append(json.loads((run / "metrics.json").read_text())["accuracy"])
    acc = summary.metrics["accuracy"]
    assert acc.values == pytest.approx(accuracies) and acc.mean == pytest.approx(np.mean(accuracies))
    assert acc.high - acc.mean == pytest.approx(stats.t.ppf(0.975, 2) * np.std(accuracies, ddof=1) / np.sqrt(3))
    assert {"accuracy", "balanced_accuracy", "f1_macro", "log_loss"} <= set(summary.metrics)
    table = (group / "summary.md").read_text()
    assert "| accuracy |" in table and "3 seeds" in table
    assert f"seed group: {group}" in capsys.readouterr().out


def test_resume_and_seeds_together_are_refused(capsys):
    assert main(["train", "--resume", ".", "--seeds", "3"]) == 2
    assert "--seeds starts a new seed group" in capsys.readouterr().err
