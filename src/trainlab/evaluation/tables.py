"""Aligned Markdown tables, readable both printed in a terminal and rendered (no ``tabulate`` dependency)."""

from __future__ import annotations

import pandas as pd


def fmt(value, digits: int = 4) -> str:
    """A cell: floats to ``digits`` decimals, small p-values in scientific notation, missing as ``n/a``."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != 0 and abs(value) < 10 ** (-digits):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(frame: pd.DataFrame, *, digits: int = 4) -> str:
    """``frame`` as a GitHub-flavoured Markdown table, columns padded to equal width; numbers right-aligned."""
    header = [str(c) for c in frame.columns]
    rows = [[fmt(_plain(v), digits) for v in row] for row in frame.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if num else ("-" * (w + 2)) for w, num in zip(widths, numeric)) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _plain(value):
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    return value
