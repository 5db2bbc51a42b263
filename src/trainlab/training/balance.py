"""Class balance for imbalanced data (IP102's largest class is 82x its smallest): loss weights or a sampler.

Two remedies, one per recipe value of ``train.class_balance`` (default ``off``):

* ``loss``: each sample's loss is multiplied by its class's weight (scikit-learn's ``"balanced"``)::

      w_c = n / (k * n_c)      n training images, k classes, n_c images of class c

  so every class carries the same total weight n / k. A class absent from the training split gets weight 0
  (it contributes no loss term anyway).
* ``sampler``: each epoch draws ``n`` training rows with replacement, row i with probability
  ``1 / (k' * n_{c(i)})`` (k' classes present), so every class is drawn equally often in expectation. The
  draw is keyed by (seed, epoch): the same on every process, like the loader's permutation.
"""

from __future__ import annotations

import numpy as np

from trainlab.errors import TrainlabError


def class_counts(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Images per class, ``(num_classes,)`` int64."""
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise TrainlabError(f"class labels must lie in [0, {num_classes}); found {labels.min()}..{labels.max()}")
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """``w_c = n / (k * n_c)`` per class (0 for a class with no image), float64 ``(num_classes,)``."""
    counts = class_counts(labels, num_classes)
    n = counts.sum()
    if n == 0:
        raise TrainlabError("class-balanced weights need training images; the train split is empty")
    with np.errstate(divide="ignore"):
        weights = n / (num_classes * counts.astype(np.float64))
    weights[counts == 0] = 0.0
    return weights


def balanced_draw(labels: np.ndarray, *, seed: int, epoch: int, size: int | None = None) -> np.ndarray:
    """Positions into ``labels`` for one epoch, drawn with replacement with every present class equally likely.

    ``size`` defaults to ``len(labels)`` (an epoch is as long as without the sampler).
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size == 0:
        raise TrainlabError("the class-balanced sampler needs training images; the train split is empty")
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    p = 1.0 / (len(counts) * counts[inverse])
    rng = np.random.default_rng([seed, epoch, 0xBA1])
    return rng.choice(labels.size, size=labels.size if size is None else size, replace=True, p=p / p.sum())
