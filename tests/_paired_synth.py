"""Two binary classifiers scored on the same items, with every headline metric's true value known in closed form.

Item i has class y_i ~ Bernoulli(prevalence). Model M scores it s = μ_M (2y − 1) + b_M + e_i + u_{M,i}, with
e_i ~ N(0, shared²) common to both models (what makes the comparison paired: the same hard items) and
u ~ N(0, own²) its own; p_1 = sigmoid(s) and ŷ = [s > 0]. With σ² = shared² + own²:

* recall of class 1 = Φ((μ + b)/σ), of class 0 = Φ((μ − b)/σ);
* accuracy = π r1 + (1 − π) r0; balanced accuracy = (r1 + r0)/2;
* macro F1 = mean over both classes of 2TP/(2TP + FP + FN) with population rates (the plug-in value);
* ROC AUC of p_1 = P(s_pos > s_neg) = Φ(2μ / (σ √2)) (difference of two independent normals).

Used by the coverage test (tests/test_eval_paired.py) and the large simulation (bench/bench_paired.py).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from trainlab.evaluation.paired import HEADLINE, ScoredRun


def truth(mu: float, bias: float, prevalence: float, sigma: float) -> dict[str, float]:
    r1, r0 = norm.cdf((mu + bias) / sigma), norm.cdf((mu - bias) / sigma)
    pi = prevalence
    tp1, fn1, fp1 = pi * r1, pi * (1 - r1), (1 - pi) * (1 - r0)
    tp0, fn0, fp0 = (1 - pi) * r0, (1 - pi) * (1 - r0), pi * (1 - r1)
    return {
        "accuracy": pi * r1 + (1 - pi) * r0,
        "balanced_accuracy": (r1 + r0) / 2,
        "f1_macro": (2 * tp1 / (2 * tp1 + fp1 + fn1) + 2 * tp0 / (2 * tp0 + fp0 + fn0)) / 2,
        "roc_auc": norm.cdf(2 * mu / (sigma * np.sqrt(2))),
    }


def draw_pair(rng, n: int, *, a: tuple[float, float], b: tuple[float, float], prevalence: float,
              shared: float = 1.0, own: float = 0.7) -> tuple[ScoredRun, ScoredRun]:
    """Models A and B (each (μ, bias)) on the same n items; both classes present (redrawn otherwise)."""
    while True:
        y = (rng.random(n) < prevalence).astype(np.int64)
        if 0 < y.sum() < n:
            break
    e = rng.normal(0, shared, n)
    runs = []
    for mu, bias in (a, b):
        s = mu * (2 * y - 1) + bias + e + rng.normal(0, own, n)
        p1 = 1 / (1 + np.exp(-s))
        runs.append(ScoredRun(y, (s > 0).astype(np.int64), np.c_[1 - p1, p1]))
    return runs[0], runs[1]


def true_difference(a, b, prevalence, shared=1.0, own=0.7) -> dict[str, float]:
    sigma = np.hypot(shared, own)
    ta, tb = truth(*a, prevalence, sigma), truth(*b, prevalence, sigma)
    return {m: ta[m] - tb[m] for m in HEADLINE}
