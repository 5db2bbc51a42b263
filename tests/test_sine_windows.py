"""The windowed next-value dataset: windows strictly precede their targets; train and test split by time."""

import numpy as np
import pytest

from trainlab.errors import TrainlabError
from trainlab.experiments.windows import linear_ar_mse, make_windows, persistence_mse, sine_series, time_split


def test_each_window_holds_the_k_values_strictly_before_its_target():
    series = np.arange(100, dtype=float)  # the value is its own time index, so values can be read as times
    targets = np.array([5, 6, 50, 99])
    x, y = make_windows(series, 5, targets)
    assert x.shape == (4, 5) and y.tolist() == [5, 6, 50, 99]
    assert x[0].tolist() == [0, 1, 2, 3, 4] and x[3].tolist() == [94, 95, 96, 97, 98]
    assert np.all(x < y[:, None])  # no value at or after the target
    assert np.all(np.diff(x, axis=1) == 1) and np.all(x[:, -1] == y - 1)  # contiguous, ending just before t


def test_time_split_keeps_training_and_test_segments_apart():
    n, ks = 400, (1, 8, 32)
    series = np.arange(n, dtype=float)
    split = time_split(n, max_k=max(ks), train_fraction=0.75)
    assert split.split == 300
    for k in ks:
        x_tr, y_tr = make_windows(series, k, split.train_targets)
        x_te, y_te = make_windows(series, k, split.test_targets)
        assert y_tr.max() < split.split and x_tr.max() < split.split  # training sees s[0..split-1] only
        assert x_te.min() >= split.split  # test windows use s[split..] only: no training value, no training target
        assert y_te.min() > y_tr.max()  # every test target is later than every training target
        assert np.all(x_te < y_te[:, None]) and np.all(x_tr < y_tr[:, None])
    # the same targets for every k (max_k values at the start of each segment serve only as inputs)
    assert split.train_targets.tolist() == list(range(32, 300))
    assert split.test_targets.tolist() == list(range(332, 400))


def test_windows_that_would_reach_before_the_series_are_refused():
    with pytest.raises(TrainlabError, match=r"targets must lie in \[k, len\(series\)\) = \[8, 50\)"):
        make_windows(np.zeros(50), 8, np.array([3, 10]))
    with pytest.raises(TrainlabError, match="leaves no test targets"):
        time_split(100, max_k=32, train_fraction=0.75)


def test_baselines_match_closed_forms():
    step = 0.1
    series = sine_series(1200, step=step)
    split = time_split(1200, max_k=32)
    # sin obeys s[t] = 2 cos(step) s[t-1] - s[t-2] exactly, so a linear AR(k >= 2) has (numerically) zero error
    assert linear_ar_mse(series, 2, split) < 1e-20
    assert linear_ar_mse(series, 8, split) < 1e-20
    # persistence: s[t] - s[t-1] = 2 sin(step/2) cos(step*(t - 1/2)), whose square averages to 2 sin^2(step/2)
    assert persistence_mse(series, split.test_targets) == pytest.approx(2 * np.sin(step / 2) ** 2, rel=0.05)
    # k = 1 cannot tell rising from falling: the best linear predictor is no better than sin^2(step)/2 on average
    assert linear_ar_mse(series, 1, split) == pytest.approx(np.sin(step) ** 2 / 2, rel=0.1)
