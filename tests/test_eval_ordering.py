"""The confusion matrix's class order: classes confused with each other end up side by side."""

import numpy as np

from trainlab.evaluation.ordering import confusion_order


def _adjacent(order: list[int], block: set[int]) -> bool:
    positions = sorted(order.index(c) for c in block)
    return positions[-1] - positions[0] == len(block) - 1


def test_confused_classes_are_adjacent_on_a_block_structured_matrix():
    rng = np.random.default_rng(3)
    k = 12
    blocks = [{0, 5, 9}, {1, 7}, {2, 4, 8, 11}, {3, 6, 10}]  # interleaved in index order on purpose
    counts = np.zeros((k, k), dtype=int)
    for block in blocks:
        for i in block:
            counts[i, i] = 50
            for j in block - {i}:
                counts[i, j] = rng.integers(5, 15)
    counts += rng.integers(0, 2, (k, k))  # a little noise between blocks
    order = confusion_order(counts)
    assert sorted(order) == list(range(k))
    for block in blocks:
        assert _adjacent(order, block), (block, order)
    # permuting the classes permutes the answer: the order follows the confusions, not the index
    perm = rng.permutation(k)
    permuted = confusion_order(counts[np.ix_(perm, perm)])
    for block in blocks:
        assert _adjacent([int(perm[i]) for i in permuted], block)


def test_a_clean_or_tiny_matrix_keeps_the_index_order():
    assert confusion_order(np.diag([3, 4, 5, 6])) == [0, 1, 2, 3]
    assert confusion_order(np.array([[3, 1], [2, 5]])) == [0, 1]
    assert confusion_order(np.zeros((5, 5))) == [0, 1, 2, 3, 4]
