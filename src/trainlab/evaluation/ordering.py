"""The order of classes for a confusion matrix: classes confused with each other sit side by side.

A judge's figure, not a picture setting: ``trainlab evaluate`` computes it once from the counts and stores it in
``metrics.json`` (``class_order``), so every reader (the HTML report, a notebook) shows the same order and the
report only renders. Seriation by hierarchical clustering (scipy.cluster.hierarchy, average linkage, with
scipy's optimal leaf ordering so that neighbouring leaves are as similar as possible):

* row-normalise the counts, S_ij = C_ij / Σ_j C_ij (the share of true class i predicted as j; 0 for a class
  with no item);
* symmetrise the off-diagonal part, A_ij = (S_ij + S_ji) / 2 for i ≠ j (how much i and j are mixed up, either way);
* distance D_ij = 1 − A_ij, clustered; the leaves in order are the class order.
"""

from __future__ import annotations

import numpy as np

OPTIMAL_ORDERING_MAX = 400  # scipy's optimal leaf ordering grows about cubically; beyond this the plain dendrogram order


def confusion_order(confusion) -> list[int]:
    """Class indices in seriated order for the ``k × k`` count matrix ``confusion`` (rows = true class).

    With no confusion at all (or fewer than three classes) the index order is kept, so a clean matrix stays as
    the classes were listed.
    """
    from scipy.cluster import hierarchy
    from scipy.spatial.distance import squareform

    counts = np.asarray(confusion, dtype=np.float64)
    k = counts.shape[0]
    if counts.shape != (k, k):
        raise ValueError(f"a confusion matrix must be square; got shape {counts.shape}")
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    mixed = (share + share.T) / 2
    np.fill_diagonal(mixed, 0.0)
    if k < 3 or not mixed.any():
        return list(range(k))
    distance = 1.0 - mixed
    np.fill_diagonal(distance, 0.0)
    tree = hierarchy.linkage(squareform(distance, checks=False), method="average",
                             optimal_ordering=k <= OPTIMAL_ORDERING_MAX)
    return [int(i) for i in hierarchy.leaves_list(tree)]
