"""Safe evaluation of a user's numpy expression in ``x`` (for ``trainlab fit-function --fn``).

The expression is parsed with :mod:`ast` and walked by a small interpreter; Python's ``eval`` is
never called, so nothing outside an allow-list can be reached: no builtins, no imports, no
attribute other than ``np.<function or constant>``, no strings, lambdas, subscripts or comprehensions.
Names in scope: ``x``, ``np``/``numpy``, and the constants ``pi``, ``e``, ``tau``.
Functions: every numpy ufunc (``np.sin``, ``np.exp``, ``np.maximum``, ...) and a few array helpers
(``np.where``, ``np.clip``, ``np.sinc``, ``np.round``, ...). Powers are computed in floating point, so
``9**9**9`` overflows to an error instead of hanging the process. Comparisons and ``and``/``or``/``not``
act element-wise (``np.where((x > 0) and (x < 1), 1.0, 0.0)`` works as it reads).
"""

from __future__ import annotations

import ast
import math
import operator
import numpy as np

from trainlab.errors import TrainlabError

MAX_LENGTH = 1000
CONSTANTS = {"pi": math.pi, "e": math.e, "tau": math.tau}
# Non-ufunc numpy functions that are element-wise or harmless reductions. Everything else in numpy
# (file I/O such as np.load/np.save, np.vectorize, np.frompyfunc, submodules) stays out of reach.
HELPERS = (
    "where", "clip", "sinc", "round", "around", "polyval", "ones_like", "zeros_like", "full_like",
    "i0", "mean", "sum", "max", "min", "std", "median", "abs", "cumsum", "gradient", "diff",
)
NP_CONSTANTS = ("pi", "e", "euler_gamma", "inf")

_BINARY = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg, ast.Not: np.logical_not}
_COMPARE = {
    ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater, ast.GtE: np.greater_equal,
    ast.Eq: np.equal, ast.NotEq: np.not_equal,
}


def _power(a, b):
    # Floats, never Python ints: an int tower (9**9**9) would run for hours; a float one overflows.
    a = float(a) if isinstance(a, int) else a
    b = float(b) if isinstance(b, int) else b
    try:
        return np.power(a, b)
    except OverflowError:  # pragma: no cover - numpy returns inf instead on most platforms
        return math.inf


class _Interpreter:
    """Evaluate a validated expression tree; any construct not handled here is refused by name."""

    def __init__(self, text: str, names: dict[str, object]):
        self.text = text
        self.names = names

    def fail(self, node: ast.AST, what: str) -> TrainlabError:
        col = getattr(node, "col_offset", None)
        where = f" at column {col + 1}" if col is not None else ""
        return TrainlabError(f"expression '{self.text}': {what}{where}")

    def __call__(self, node: ast.AST):
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise self.fail(node, f"{type(node).__name__} is not allowed (use x, numbers, + - * / ** %, "
                                  "comparisons, np.<function>(...) and pi, e, tau)")
        return method(node)

    def visit_Expression(self, node):
        return self(node.body)

    def visit_Constant(self, node):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise self.fail(node, f"constant {node.value!r} is not a number")
        return node.value

    def visit_Name(self, node):
        if node.id not in self.names:
            hint = f"; write np.{node.id}" if node.id in _allowed_np() else ""
            raise self.fail(node, f"unknown name '{node.id}' (in scope: {', '.join(self.names)}){hint}")
        return self.names[node.id]

    def visit_Attribute(self, node):
        if not (isinstance(node.value, ast.Name) and node.value.id in ("np", "numpy") and node.value.id in self.names):
            raise self.fail(node, "attribute access is only allowed as np.<function> or np.<constant>")
        if node.attr not in _allowed_np():
            raise self.fail(node, f"np.{node.attr} is not allowed (numpy ufuncs, {', '.join(HELPERS)} "
                                  f"and the constants {', '.join(NP_CONSTANTS)} are)")
        return getattr(np, node.attr)

    def visit_BinOp(self, node):
        left, right = self(node.left), self(node.right)
        if isinstance(left, (tuple, list)) or isinstance(right, (tuple, list)):  # [0] * 10**9 would fill memory
            raise self.fail(node, "arithmetic on tuples or lists is not allowed")
        if isinstance(node.op, ast.Pow):
            return _power(left, right)
        op = _BINARY.get(type(node.op))
        if op is None:
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        return op(left, right)

    def visit_UnaryOp(self, node):
        return _UNARY[type(node.op)](self(node.operand))

    def visit_BoolOp(self, node):
        fn = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        values = [self(v) for v in node.values]
        out = values[0]
        for v in values[1:]:
            out = fn(out, v)
        return out

    def visit_Compare(self, node):
        left, out = self(node.left), None
        for op, comparator in zip(node.ops, node.comparators):
            fn = _COMPARE.get(type(op))
            if fn is None:
                raise self.fail(node, f"comparison {type(op).__name__} is not allowed")
            right = self(comparator)
            step = fn(left, right)
            out = step if out is None else np.logical_and(out, step)
            left = right
        return out

    def visit_Call(self, node):
        if not isinstance(node.func, ast.Attribute):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            hint = f"; write np.{name}(...)" if name in _allowed_np() else ""
            raise self.fail(node, f"only np.<function>(...) may be called{hint}")
        fn = self(node.func)
        if not callable(fn):
            raise self.fail(node, f"np.{node.func.attr} is a constant, not a function")
        args = [self(a) for a in node.args]
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise self.fail(kw, "**keyword unpacking is not allowed")
            if kw.arg in ("out", "where"):  # out= would write into x; where= leaves values unset
                raise self.fail(kw, f"keyword '{kw.arg}=' is not allowed")
            kwargs[kw.arg] = self(kw.value)
        return fn(*args, **kwargs)

    def visit_Tuple(self, node):  # e.g. np.polyval((1, 0, -1), x)
        return tuple(self(v) for v in node.elts)

    def visit_List(self, node):
        return [self(v) for v in node.elts]

    def visit_Starred(self, node):
        raise self.fail(node, "*unpacking is not allowed")


_ALLOWED_NP: frozenset[str] | None = None


def _allowed_np() -> frozenset[str]:
    global _ALLOWED_NP
    if _ALLOWED_NP is None:
        ufuncs = {n for n in dir(np) if not n.startswith("_") and isinstance(getattr(np, n), np.ufunc)}
        _ALLOWED_NP = frozenset(ufuncs | {n for n in HELPERS + NP_CONSTANTS if hasattr(np, n)})
    return _ALLOWED_NP


def _parse(text: str) -> ast.Expression:
    if not isinstance(text, str) or not text.strip():
        raise TrainlabError("expression is empty; give a numpy expression in x, e.g. 'np.sin(x)'")
    if len(text) > MAX_LENGTH:
        raise TrainlabError(f"expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    try:
        return ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise TrainlabError(f"expression '{text}' is not valid Python/numpy syntax{col}: {exc.msg}") from None


def _run(text: str, x: np.ndarray) -> np.ndarray:
    tree = _parse(text)
    interp = _Interpreter(text, {"x": x.copy(), "np": np, "numpy": np, **CONSTANTS})
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(interp(tree))
    except TrainlabError:
        raise
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise TrainlabError(f"expression '{text}' failed: {type(exc).__name__}: {exc}") from None
    if value.dtype == bool:
        value = value.astype(np.float64)
    if not (np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)):
        raise TrainlabError(f"expression '{text}' returns {value.dtype} values; it must return real numbers")
    if value.shape != x.shape:
        what = "a single number" if value.ndim == 0 else f"shape {value.shape}"
        raise TrainlabError(
            f"expression '{text}' returns {what}, not one value per x (shape {x.shape}); "
            "a constant function is written e.g. 'np.full_like(x, 2.0)' or '2.0 + 0*x'"
        )
    return value.astype(np.float64)


def evaluate(text: str, x: np.ndarray) -> np.ndarray:
    """Evaluate ``text`` at the points ``x``; return a float64 array of ``x``'s shape, all finite.

    Raises :class:`TrainlabError` naming the expression when it is unsafe or invalid, fails, returns
    a scalar, another shape or non-real values, or is not finite somewhere (naming the first such x).
    """
    x = np.asarray(x, dtype=np.float64)
    value = _run(text, x)
    bad = ~np.isfinite(value)
    if bad.any():
        i = int(np.argmax(bad))
        raise TrainlabError(
            f"expression '{text}' is not finite at {int(bad.sum())} of {value.size} points "
            f"(first: x = {x.flat[i]:.6g} gives {value.flat[i]}); choose a domain where it is defined"
        )
    return value


def evaluate_partial(text: str, x: np.ndarray) -> np.ndarray:
    """Like :func:`evaluate` but NaN where the value is not finite (used beyond the training domain)."""
    x = np.asarray(x, dtype=np.float64)
    value = _run(text, x)
    value[~np.isfinite(value)] = np.nan
    return value


def parse_number(text: str, *, what: str = "value") -> float:
    """A number written as a constant expression: '3', '-pi', '2*pi', 'pi/2', '1e-3'."""
    tree = _parse(text)
    interp = _Interpreter(text, {"np": np, "numpy": np, **CONSTANTS})
    try:
        with np.errstate(all="ignore"):
            value = interp(tree)
        value = float(value)
    except TrainlabError as exc:
        raise TrainlabError(f"{what}: {exc}") from None
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise TrainlabError(f"{what} '{text}' is not a number: {exc}") from None
    if not math.isfinite(value):
        raise TrainlabError(f"{what} '{text}' is not finite")
    return value


def parse_domain(text: str) -> tuple[float, float]:
    """Parse 'a,b' (numbers or constant expressions such as -pi, 2*pi) into ``(a, b)`` with a < b."""
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 2 or not all(parts):
        raise TrainlabError(f"domain '{text}' is not 'a,b' (e.g. '-pi,pi' or '0,10')")
    a = parse_number(parts[0], what=f"domain '{text}' start")
    b = parse_number(parts[1], what=f"domain '{text}' end")
    if not a < b:
        raise TrainlabError(f"domain '{text}': start {a:g} must be less than end {b:g}")
    return a, b
