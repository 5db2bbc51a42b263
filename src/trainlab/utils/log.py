"""Logging: one 'trainlab' logger, messages to stderr, progress bars through tqdm.

Progress is shown with :func:`progress` (a tqdm bar that disappears in non-interactive
runs unless asked for); everything else goes through :func:`get_logger`, never print().
Messages are routed through ``tqdm.write`` so they do not break a bar in progress.
"""

from __future__ import annotations

import logging
import os
import sys

_CONFIGURED = False


class _TqdmHandler(logging.StreamHandler):
    def emit(self, record):
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def setup_logging(verbose: int = 0) -> None:
    global _CONFIGURED
    level = logging.DEBUG if verbose > 0 else logging.INFO
    logger = logging.getLogger("trainlab")
    if not _CONFIGURED:
        handler = _TqdmHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.propagate = False
        _CONFIGURED = True
    logger.setLevel(level)


def get_logger(name: str = "trainlab") -> logging.Logger:
    if not name.startswith("trainlab"):
        name = f"trainlab.{name}"
    return logging.getLogger(name)


def progress(iterable=None, **kwargs):
    """A tqdm progress bar on stderr. Disabled when TRAINLAB_NO_PROGRESS=1 (tests)."""
    from tqdm.auto import tqdm

    kwargs.setdefault("disable", os.environ.get("TRAINLAB_NO_PROGRESS") == "1")
    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("file", sys.stderr)
    return tqdm(iterable, **kwargs)
