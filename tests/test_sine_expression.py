"""--fn: a numpy expression in x, evaluated without eval(), builtins or attribute access beyond np."""

import math

import numpy as np
import pytest

from trainlab.errors import TrainlabError
from trainlab.experiments.expression import evaluate, parse_domain

X = np.linspace(-3.0, 3.0, 13)


@pytest.mark.parametrize("text, expected", [
    ("np.sin(x)", np.sin(X)),
    ("np.sin(x) * np.exp(-x**2 / 4)", np.sin(X) * np.exp(-X**2 / 4)),
    ("numpy.cos(2*pi*x) + e", np.cos(2 * math.pi * X) + math.e),
    ("np.where(x > 0, x, 0.5 * x)", np.where(X > 0, X, 0.5 * X)),
    ("-1 < x < 1", ((X > -1) & (X < 1)).astype(float)),  # comparisons chain element-wise
    ("(x > 0) and not (x > 2)", ((X > 0) & (X <= 2)).astype(float)),
    ("np.polyval((1, 0, -2), x)", X**2 - 2),
    ("np.clip(x, -1, 1) + np.pi", np.clip(X, -1, 1) + math.pi),
    ("x % 2 - x // 2", X % 2 - X // 2),
])
def test_valid_expressions_equal_numpy(text, expected):
    np.testing.assert_allclose(evaluate(text, X), expected)


@pytest.mark.parametrize("text, message", [
    ("__import__('os').system('echo hi')", "attribute access is only allowed as np.<function>"),
    ("__import__('os')", "only np.<function>(...) may be called"),
    ("open('/etc/passwd')", "only np.<function>(...) may be called"),
    ("x.__class__.__bases__", "attribute access is only allowed as np.<function>"),
    ("np.load('weights.npy')", "np.load is not allowed"),
    ("np.random.rand(13)", "attribute access is only allowed as np.<function>"),
    ("np.sin(x, out=x)", "keyword 'out=' is not allowed"),
    ("(lambda: x)()", "only np.<function>(...) may be called"),
    ("[v for v in x]", "ListComp is not allowed"),
    ("x[0]", "Subscript is not allowed"),
    ("'x' + 'y'", "constant 'x' is not a number"),
    ("[0] * 10**9", "arithmetic on tuples or lists is not allowed"),
    ("sin(x)", "write np.sin"),
    ("y + 1", "unknown name 'y'"),
])
def test_unsafe_expressions_are_refused_by_name(text, message):
    with pytest.raises(TrainlabError) as exc:
        evaluate(text, X)
    assert f"expression '{text}'" in str(exc.value) and message in str(exc.value)


@pytest.mark.parametrize("text, message", [
    ("np.sin(x", "is not valid Python/numpy syntax"),
    ("np.log(x)", "is not finite at 7 of 13 points (first: x = -3"),  # x = -3, -2.5, ..., 0: six negatives and 0
    ("1 / x", "is not finite at 1 of 13 points"),  # x = 0 is on the grid
    ("2.0", "returns a single number"),
    ("np.mean(x)", "returns a single number"),
    ("9**9**9", "returns a single number"),  # a float power tower overflows at once instead of running for hours
    ("np.sqrt(x) * 9**9**9", "is not finite"),
    ("np.sin", "must return real numbers"),
    ("np.pi(x)", "np.pi is a constant, not a function"),
])
def test_invalid_expressions_fail_with_a_clear_message(text, message):
    with pytest.raises(TrainlabError) as exc:
        evaluate(text, X)
    assert f"expression '{text}'" in str(exc.value) and message in str(exc.value)


def test_empty_expression():
    with pytest.raises(TrainlabError, match="expression is empty"):
        evaluate("  ", X)


def test_evaluation_never_writes_into_x():
    x = X.copy()
    evaluate("np.negative(x) * 2", x)
    np.testing.assert_array_equal(x, X)


@pytest.mark.parametrize("text, expected", [
    ("-pi,pi", (-math.pi, math.pi)), ("-2*pi, 2*pi", (-2 * math.pi, 2 * math.pi)), ("0,1e-3", (0.0, 0.001)),
    ("-pi/2, tau", (-math.pi / 2, math.tau)),
])
def test_domains(text, expected):
    assert parse_domain(text) == pytest.approx(expected)


@pytest.mark.parametrize("text, message", [
    ("1", "is not 'a,b'"), ("1,2,3", "is not 'a,b'"), ("2,1", "start 2 must be less than end 1"),
    ("a,1", "unknown name 'a'"), ("0,np.inf", "is not finite"), ("os.system,1", "attribute access"),
])
def test_bad_domains(text, message):
    with pytest.raises(TrainlabError, match=f"domain '{__import__('re').escape(text)}'.*") as exc:
        parse_domain(text)
    assert message in str(exc.value)
