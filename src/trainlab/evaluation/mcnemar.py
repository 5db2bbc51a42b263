"""McNemar's exact test for two classifiers scored on the same items, and Holm's correction.

Hand-written rather than ``scipy.stats.binomtest``: with exact integer arithmetic the p-value has no
rounding error even when it is tiny, and the test is a one-line sum (the tests check it against scipy).
"""

from __future__ import annotations

import numpy as np


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts.

    ``b`` = items only A gets right, ``c`` = items only B gets right. Under H0 (A and B are equally
    accurate) each of the n = b + c discordant items is A's with probability 1/2, so::

        p = min(1, 2 · Σ_{k=0}^{min(b, c)} C(n, k) / 2^n),   p = 1 when n = 0.
    """
    b, c = int(b), int(c)
    if b < 0 or c < 0:
        raise ValueError(f"counts must be non-negative, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    term, tail = 1, 1  # C(n, 0)
    for k in range(min(b, c)):
        term = term * (n - k) // (k + 1)  # C(n, k+1), exact
        tail += term
    return min(1.0, 2 * tail / 2**n)  # int / int is correctly rounded in Python


def mcnemar(correct_a, correct_b) -> dict:
    """McNemar's exact test on per-item correctness of A and B (boolean arrays aligned on the same items).

    Returns ``n``, ``both_right``, ``a_only`` (A right, B wrong: b), ``b_only`` (A wrong, B right: c),
    ``both_wrong``, ``discordant`` (b + c) and ``p_value`` (:func:`mcnemar_exact_p`).
    """
    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"correct_a and correct_b must be 1-D and aligned, got shapes {a.shape} and {b.shape}")
    a_only, b_only = int(np.sum(a & ~b)), int(np.sum(~a & b))
    return {
        "n": int(a.size),
        "both_right": int(np.sum(a & b)),
        "a_only": a_only,
        "b_only": b_only,
        "both_wrong": int(np.sum(~a & ~b)),
        "discordant": a_only + b_only,
        "p_value": mcnemar_exact_p(a_only, b_only),
    }


def holm(p_values) -> list[float]:
    """Holm–Bonferroni adjusted p-values (same order as given).

    With the m p-values sorted ascending, p_(1) ≤ … ≤ p_(m):
    ``p̃_(i) = min(1, max_{j ≤ i} (m − j + 1) · p_(j))``. Rejecting where p̃ < α controls the
    family-wise error rate at α.
    """
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return [float(v) for v in out]
