"""lr-find: the range test's curve falls then diverges on a small problem, the suggestion lies before the divergence."""

import math

import numpy as np
import pytest
import torch

from trainlab.artifacts.lr_find import LRFindResult
from trainlab.cli import main
from trainlab.errors import TrainlabError
from trainlab.training.lr_find import lr_range_test, suggest
from _folder_data import write_folder_dataset


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 8, generator=g)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()  # linearly separable
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 512, 32)]
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    return model, batches


def test_curve_falls_then_diverges_and_the_suggestion_lies_before_it():
    model, batches = _problem()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    test = lr_range_test(model, batches, optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=1e-4),
                         start_lr=1e-4, end_lr=1e4, steps=200)
    s = test.smoothed
    low = int(np.argmin(s))
    assert test.diverged_at is not None and test.diverged_at < 199  # stopped early, on divergence
    assert 10 < low < test.diverged_at  # the minimum is inside the curve ...
    assert s[low] < 0.7 * s[5]  # ... well below where it started (the loss fell)
    assert not math.isfinite(s[-1]) or s[-1] > 4 * s[low]  # and then diverged
    assert np.all(np.diff(np.log(test.lrs)) > 0) and np.allclose(np.diff(np.log(test.lrs)), np.log(1e8) / 199)
    for rule in ("min/10", "steepest"):
        value = suggest(test, rule)
        assert test.lrs[0] <= value < test.lrs[test.diverged_at], rule
        assert value <= test.lrs[low], rule
    assert suggest(test, "min/10") == pytest.approx(test.lrs[low] / 10)
    for k, v in model.state_dict().items():  # the weights are restored
        assert torch.equal(v, before[k])


def test_a_suggested_rate_trains_better_than_the_extremes():
    model, batches = _problem(1)
    test = lr_range_test(model, batches, optimizer=lambda m: torch.optim.SGD(m.parameters(), lr=1e-4),
                         start_lr=1e-4, end_lr=1e4, steps=200)
    lr = suggest(test)

    def final_loss(rate):
        m, b = _problem(1)
        opt = torch.optim.SGD(m.parameters(), lr=rate)
        for _ in range(3):
            for x, y in b:
                opt.zero_grad()
                torch.nn.functional.cross_entropy(m(x), y).backward()
                opt.step()
        with torch.no_grad():
            return float(sum(torch.nn.functional.cross_entropy(m(x), y) for x, y in b) / len(b))

    assert final_loss(lr) < final_loss(test.lrs[0])
    assert final_loss(lr) < final_loss(1e4) or not math.isfinite(final_loss(1e4))


def test_bad_settings_are_one_line_errors():
    model, batches = _problem()
    with pytest.raises(TrainlabError, match="start rate"):
        lr_range_test(model, batches, start_lr=1.0, end_lr=0.1)
    with pytest.raises(TrainlabError, match="rule 'valley'"):
        suggest(lr_range_test(model, batches, steps=20), "valley")


@pytest.fixture(scope="module")
def folder_dataset(tmp_path_factory):
    return write_folder_dataset(tmp_path_factory.mktemp("imgs"), train=12, other=4)


def test_cli_writes_record_and_plot_over_seeds(folder_dataset, tmp_path, capsys):
    out = tmp_path / "lr"
    code = main(["lr-find", "ip102-seed-cnn", f"data.root={folder_dataset}", "data.format=imagefolder", "data.image_size=16",
                 "train.batch_size=8", f"data.cache_dir={tmp_path / 'cache'}", "--steps", "30", "--start", "1e-5",
                 "--end", "1", "--seeds", "2", "--out", str(out)])
    assert code == 0
    said = capsys.readouterr().out
    result = LRFindResult.read(out)
    assert [c.seed for c in result.curves] == [0, 1] and result.steps == 30
    values = [c.suggestion for c in result.curves]
    assert result.spread == pytest.approx(max(values) / min(values))
    assert result.suggestion == pytest.approx(math.sqrt(values[0] * values[1]))
    assert all(1e-5 <= v <= 1 for v in values)
    assert result.curves[0].lrs != [] and result.curves[0].losses != result.curves[1].losses  # seeds differ
    assert (out / "lr_find.png").stat().st_size > 5000
    assert f"suggested train.lr={result.suggestion:.3g}" in said


def test_cli_names_a_missing_root(capsys):
    assert main(["lr-find", "ip102-seed-cnn"]) == 2
    assert "data.root is not set" in capsys.readouterr().err
