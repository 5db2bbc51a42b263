"""A real sequence task: predict s[t] from the k values before it, split by time.

The coursework fed its LSTM and GRU one timestep of one feature (x itself), so the recurrence had
nothing to recur over: those models were MLPs with gates. Here the input is a window of k past
values of the series s[t] = sin(step * t), and the target is the next value.

Split (no look-ahead, no overlap): the series s[0..n-1] is cut at ``split = round(n * train_fraction)``.

* Training targets are t in [K, split) and test targets t in [split + K, n), where K = max(ks), so
  every k is trained and tested on the same targets.
* The window for target t is (s[t-k], ..., s[t-1]): it uses only values strictly before t.
* Hence every training window and target lies in s[0..split-1] and every test window and target in
  s[split..n-1]: the test segment is later in time and no value of it was seen in training, not even
  as an input (the first K test values only serve as inputs of the first test windows).

With k = 1 the task is ambiguous (a value of sin does not say whether it rises or falls), so the best
any model can do is MSE = sin(step)^2 / 2 on average; with k >= 2 it is exactly solvable, even by a
linear autoregression (sin obeys s[t] = 2 cos(step) s[t-1] - s[t-2]). The baselines reported with
the models (persistence, and least-squares linear AR(k)) put the neural figures in scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainlab.errors import TrainlabError


@dataclass(frozen=True)
class WindowSplit:
    """Time split of a series into training and test targets (indices into the series)."""

    n: int
    split: int
    max_k: int
    train_targets: np.ndarray
    test_targets: np.ndarray

    def describe(self) -> str:
        return (
            f"series s[0..{self.n - 1}]; training uses s[0..{self.split - 1}] only (targets t = {self.train_targets[0]}.."
            f"{self.train_targets[-1]}); test uses s[{self.split}..{self.n - 1}] only (targets t = "
            f"{self.test_targets[0]}..{self.test_targets[-1]}, each predicted from s[t-k..t-1]); "
            f"the same targets for every k <= {self.max_k}"
        )


def sine_series(n: int = 1200, *, step: float = 0.1, phase: float = 0.0) -> np.ndarray:
    """s[t] = sin(phase + step * t) for t = 0..n-1 (float64)."""
    return np.sin(phase + step * np.arange(n, dtype=np.float64))


def time_split(n: int, *, max_k: int, train_fraction: float = 0.75) -> WindowSplit:
    """Training targets [max_k, split) and test targets [split + max_k, n), split = round(n * fraction)."""
    if not 0 < train_fraction < 1:
        raise TrainlabError(f"train_fraction must be between 0 and 1, got {train_fraction}")
    if max_k < 1:
        raise TrainlabError(f"window length k must be at least 1, got {max_k}")
    split = int(round(n * train_fraction))
    train = np.arange(max_k, split)
    test = np.arange(split + max_k, n)
    if len(train) < 1 or len(test) < 1:
        raise TrainlabError(
            f"a series of {n} values split at {split} leaves no {'training' if len(train) < 1 else 'test'} "
            f"targets for windows of {max_k}; use a longer series or shorter windows"
        )
    return WindowSplit(n=n, split=split, max_k=max_k, train_targets=train, test_targets=test)


def make_windows(series: np.ndarray, k: int, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Windows X (len(targets), k) and targets y (len(targets),): X[j] = s[t-k .. t-1], y[j] = s[t], t = targets[j].

    Raises :class:`TrainlabError` when a window would start before s[0] or a target lies past the end.
    """
    series = np.asarray(series, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.int64)
    if k < 1:
        raise TrainlabError(f"window length k must be at least 1, got {k}")
    if len(targets) and (targets.min() < k or targets.max() >= len(series)):
        raise TrainlabError(
            f"targets must lie in [k, len(series)) = [{k}, {len(series)}) so each has k values before it; "
            f"got {targets.min()}..{targets.max()}"
        )
    offsets = np.arange(-k, 0)  # s[t-k], ..., s[t-1]
    return series[targets[:, None] + offsets[None, :]], series[targets]


def persistence_mse(series: np.ndarray, targets: np.ndarray) -> float:
    """mean_t (s[t-1] - s[t])^2: predict that the next value equals the last one."""
    series = np.asarray(series, dtype=np.float64)
    return float(np.mean((series[targets - 1] - series[targets]) ** 2))


def linear_ar_mse(series: np.ndarray, k: int, split: WindowSplit) -> float:
    """Test MSE of s[t] ~ w . s[t-k..t-1] + b fitted by least squares on the training windows."""
    x_tr, y_tr = make_windows(series, k, split.train_targets)
    x_te, y_te = make_windows(series, k, split.test_targets)
    design = np.hstack([x_tr, np.ones((len(x_tr), 1))])
    coef, *_ = np.linalg.lstsq(design, y_tr, rcond=None)
    pred = np.hstack([x_te, np.ones((len(x_te), 1))]) @ coef
    return float(np.mean((pred - y_te) ** 2))
