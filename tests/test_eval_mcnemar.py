"""McNemar's exact test against hand-worked examples and scipy; Holm's correction by hand."""

import numpy as np
import pytest
from scipy.stats import binomtest

from trainlab.evaluation.mcnemar import holm, mcnemar, mcnemar_exact_p


@pytest.mark.parametrize(
    "b, c, expected",
    [
        # b=1, c=6, n=7: p = 2·(C(7,0) + C(7,1)) / 2^7 = 2·8/128 = 0.125
        (1, 6, 0.125),
        (6, 1, 0.125),
        # b=10, c=0: p = 2·C(10,0)/2^10 = 2/1024
        (10, 0, 0.001953125),
        # b=c=3: 2·(1+6+15+20)/64 = 84/64 > 1, so p = 1
        (3, 3, 1.0),
        # b=2, c=8, n=10: 2·(1+10+45)/1024 = 112/1024
        (2, 8, 0.109375),
        (0, 0, 1.0),
    ],
)
def test_hand_worked(b, c, expected):
    assert mcnemar_exact_p(b, c) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("b, c", [(0, 1), (5, 9), (17, 40), (120, 80), (2000, 2200), (3, 500)])
def test_equals_scipy_binomtest(b, c):
    assert mcnemar_exact_p(b, c) == pytest.approx(binomtest(b, b + c, 0.5).pvalue, rel=1e-9, abs=1e-300)


def test_counts_from_correctness():
    a = np.array([1, 1, 1, 0, 0, 0, 0, 1, 0], dtype=bool)
    b = np.array([1, 0, 1, 1, 1, 1, 0, 1, 1], dtype=bool)
    r = mcnemar(a, b)
    assert (r["both_right"], r["a_only"], r["b_only"], r["both_wrong"]) == (3, 1, 4, 1)
    assert r["n"] == 9 and r["discordant"] == 5
    assert r["p_value"] == pytest.approx(2 * (1 + 5) / 32)  # b=1, c=4: 2·(C(5,0)+C(5,1))/2^5 = 0.375
    with pytest.raises(ValueError):
        mcnemar(a, b[:-1])


def test_holm_hand_worked():
    # sorted: 0.01·3 = 0.03; 0.03·2 = 0.06; 0.04·1 = 0.04 -> max(0.06, 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.2]) == [0.2]
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # capped at 1
