"""Class balance: weights n / (k * n_c) and a sampler that draws every class equally often."""

import numpy as np
import pytest
import torch

from trainlab.errors import TrainlabError
from trainlab.training.balance import balanced_draw, class_counts, class_weights


def test_weights_are_n_over_k_n_c():
    labels = np.array([0] * 82 + [1] * 17 + [2] * 1)  # n = 100, k = 3
    w = class_weights(labels, 3)
    np.testing.assert_allclose(w, [100 / (3 * 82), 100 / (3 * 17), 100 / (3 * 1)])
    assert np.isclose((w[labels]).sum(), 100)  # the total weight is unchanged ...
    np.testing.assert_allclose(np.bincount(labels, weights=w[labels]), [100 / 3] * 3)  # ... and shared equally


def test_weights_match_scikit_learn_balanced():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.random.default_rng(0).integers(0, 5, 300) ** 2 % 5
    present = np.unique(labels)
    np.testing.assert_allclose(class_weights(labels, 5)[present],
                               compute_class_weight("balanced", classes=present, y=labels) * len(present) / 5)


def test_an_absent_class_gets_weight_zero_and_bad_labels_are_named():
    assert class_weights(np.array([0, 0, 2]), 3)[1] == 0
    with pytest.raises(TrainlabError, match=r"\[0, 2\)"):
        class_counts(np.array([0, 2]), 2)


def test_weighted_loss_equals_torch_class_weighted_sum():
    labels = torch.tensor([0, 0, 0, 1])
    logits = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))
    w = torch.tensor(class_weights(labels.numpy(), 2), dtype=torch.float32)
    ours = (torch.nn.functional.cross_entropy(logits, labels, reduction="none") * w[labels]).sum()
    torch_ = torch.nn.functional.cross_entropy(logits, labels, weight=w, reduction="sum")
    assert torch.isclose(ours, torch_)


def test_sampler_draws_every_class_equally_often_and_is_keyed():
    labels = np.array([0] * 900 + [1] * 90 + [2] * 10)
    draws = np.concatenate([labels[balanced_draw(labels, seed=0, epoch=e)] for e in range(20)])
    share = np.bincount(draws, minlength=3) / draws.size
    np.testing.assert_allclose(share, [1 / 3] * 3, atol=0.02)
    assert len(balanced_draw(labels, seed=0, epoch=0)) == 1000
    np.testing.assert_array_equal(balanced_draw(labels, seed=3, epoch=1), balanced_draw(labels, seed=3, epoch=1))
    assert not np.array_equal(balanced_draw(labels, seed=3, epoch=1), balanced_draw(labels, seed=3, epoch=2))
