"""User-facing errors.

Anything the user can fix (a bad path, a bad recipe key, a malformed file) raises
:class:`TrainlabError` with a message that names the file, line, column or key and
says what to do. The command line prints it without a traceback and exits with 2.
"""

from __future__ import annotations


class TrainlabError(Exception):
    """An error in the user's input, reported without a traceback."""


def where(path, line: int | None = None, column: str | None = None) -> str:
    """Format a location as ``path:line (column 'x')`` for error messages."""
    text = str(path)
    if line is not None:
        text += f":{line}"
    if column is not None:
        text += f" (column '{column}')"
    return text
