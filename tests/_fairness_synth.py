"""Synthetic predictions tables for the fairness tests (made here, no shared data)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainlab.artifacts.predictions import Predictions

RACES = ["Black", "East Asian", "Indian", "Latino", "Middle Eastern", "Southeast Asian", "White"]


def proba_for(y_pred: np.ndarray, k: int, rng) -> np.ndarray:
    """A probability matrix whose arg-max is ``y_pred`` (rows sum to 1)."""
    n = len(y_pred)
    top = rng.uniform(0.55, 0.95, n)
    proba = np.tile(((1 - top) / (k - 1))[:, None], (1, k))
    proba[np.arange(n), y_pred] = top
    return proba


def table(y_true, y_pred, attrs: dict, classes, seed: int = 0, split: str = "test") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return Predictions.build(classes=list(classes), y_true=y_true, y_pred=y_pred, proba=proba_for(y_pred, len(classes), rng),
                      split=split, attributes=pd.DataFrame(attrs)).frame


def predictions(y_true, y_pred, attrs: dict, classes, seed: int = 0):
    return Predictions.from_frame(table(y_true, y_pred, attrs, classes, seed))


def planted(n_per_group: int, *, seed: int, extra_error: float, k: int = 2, base_error: float = 0.12,
            planted_group: str = "Black", groups=RACES):
    """Race groups of equal size (seven by default); ``planted_group`` errs ``extra_error`` more often."""
    rng = np.random.default_rng(seed)
    race = np.repeat(groups, n_per_group)
    gender = rng.choice(["Female", "Male"], len(race))
    y_true = rng.integers(0, k, len(race))
    err = np.where(race == planted_group, base_error + extra_error, base_error)
    wrong = rng.random(len(race)) < err
    y_pred = np.where(wrong, (y_true + rng.integers(1, k, len(race))) % k, y_true)
    classes = ["Female", "Male"] if k == 2 else [f"c{i}" for i in range(k)]
    return predictions(y_true, y_pred, {"race": race, "gender": gender}, classes, seed)
