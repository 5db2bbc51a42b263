"""Seeded stratified splits carved from train when a dataset lacks val (or test).

Hand-written rather than scikit-learn's ``train_test_split(stratify=...)``: that refuses any class
with a single member and rounds per call, whereas a long-tailed dataset (IP102) needs rare classes
kept in train and the carved sizes exact. The allocation is the largest-remainder method:

    quota_c = n_c · f            for every stratum c (a class, or a class × group cell)
    k_c     = ⌊quota_c⌋ + 1      for the  round(N·f) − Σ⌊quota_c⌋  strata with the largest remainders
    k_c     = ⌊quota_c⌋          for the others

so Σ k_c = round(N·f) exactly and every stratum is within one row of its proportional share.
Rows are drawn from each stratum by a permutation from ``numpy.random.default_rng(seed)``: the same
seed and rows give the same split on every machine. A class keeps at least one training row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainlab.errors import TrainlabError


def carve_splits(
    frame: pd.DataFrame, *, fractions: dict[str, float], stratify: list[str], seed: int = 0, source: str = "train"
) -> tuple[pd.DataFrame, list[dict]]:
    """Move rows of split ``source`` into new splits, ``fractions = {"test": 0.1, "val": 0.1}``.

    Each fraction is of the rows in ``source`` before carving. Returns the new frame (same row order,
    only ``split`` changed) and one record per carved split for the manifest's ``source``.
    """
    total = sum(fractions.values())
    for name, f in fractions.items():
        if not 0 <= f < 1:
            raise TrainlabError(f"{name} fraction must be in [0, 1); got {f}")
    if total >= 1:
        raise TrainlabError(f"carved fractions {fractions} add up to {total:g}; they must leave rows for training (< 1)")
    frame = frame.copy()
    pool = np.flatnonzero(frame["split"].to_numpy() == source)
    rng = np.random.default_rng(seed)
    strata = frame.iloc[pool].groupby(stratify, sort=True, dropna=False).indices  # stratum → positions in pool
    keys = sorted(strata, key=lambda k: tuple(map(str, k if isinstance(k, tuple) else (k,))))
    order = {k: pool[rng.permutation(strata[k])] for k in keys}  # each stratum's rows in random order
    taken = {k: 0 for k in keys}
    records = []
    left = {k: len(order[k]) for k in keys}
    n_pool = len(pool)
    for name, f in fractions.items():
        if f <= 0:
            continue
        target_n = int(round(n_pool * f))
        avail = sum(left.values())
        share = target_n / avail if avail else 0.0
        quotas = np.array([left[k] * share for k in keys])
        k_rows = np.floor(quotas).astype(int)
        extra = target_n - int(k_rows.sum())
        if extra > 0:
            tie = rng.random(len(keys))
            by_remainder = np.lexsort((tie, -(quotas - k_rows)))
            k_rows[by_remainder[:extra]] += 1
        rows = []
        for k, n in zip(keys, k_rows):
            n = min(int(n), left[k])
            rows.extend(order[k][taken[k] : taken[k] + n])
            taken[k] += n
            left[k] -= n
        rows = np.sort(np.asarray(rows, dtype=np.int64))
        frame.iloc[rows, frame.columns.get_loc("split")] = name
        records.append(
            {"split": name, "carved_from": source, "fraction": f, "rows": int(len(rows)), "seed": seed,
             "stratified_by": list(stratify), "method": "largest-remainder per stratum, numpy default_rng permutation"}
        )
    _keep_one_per_class(frame, pool, source, rng, records)
    return frame, records


def _keep_one_per_class(frame: pd.DataFrame, pool: np.ndarray, source: str, rng, records: list[dict]) -> None:
    """Where carving took every pool row of a class, give one back to ``source`` (it must stay trainable)."""
    col = frame.columns.get_loc("split")
    labels = frame["label"].to_numpy()[pool]
    split = frame["split"].to_numpy()[pool]
    for label in pd.unique(labels):
        mine = pool[labels == label]
        if (split[labels == label] == source).any():
            continue
        back = mine[int(rng.integers(len(mine)))]
        gone_to = frame.iat[back, col]
        frame.iat[back, col] = source
        for rec in records:
            if rec["split"] == gone_to:
                rec["rows"] -= 1
