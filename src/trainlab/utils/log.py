"""Logging: one 'trainlab' logger, messages to stderr, progress bars through tqdm.

Progress is shown with :func:`progress` (a tqdm bar that disappears in non-interactive
runs unless asked for); everything else goes through :func:`get_logger`, never print().
Messages are routed through ``tqdm.write`` so they do not break a bar in progress.
"""

from __future__ import annotations

import logging
import os
import sys
import time

_CONFIGURED = False


class _TqdmHandler(logging.StreamHandler):
    def emit(self, record):
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def setup_logging(verbose: int = 0) -> None:
    """``verbose`` > 0: debug messages; 0: info; < 0 (``-q``): warnings and errors only, no progress."""
    global _CONFIGURED
    level = logging.DEBUG if verbose > 0 else logging.INFO if verbose == 0 else logging.WARNING
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


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where tqdm draws a widget and stderr is no terminal)."""
    shell = sys.modules.get("IPython")
    try:
        return shell is not None and type(shell.get_ipython()).__name__ == "ZMQInteractiveShell"
    except Exception:  # pragma: no cover - an IPython without get_ipython
        return False


def _progress_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("TRAINLAB_PROGRESS_SECONDS", "30")))
    except ValueError:
        return 30.0


class LogProgress:
    """Progress for a log file or a pipe: one line every ``every`` seconds, never one frame per batch.

    ``epoch 3/10: 4,096/8,000 img (51%), 312 img/s, ETA 0:12, loss=0.4123`` through the trainlab logger, so a
    piped training writes a handful of lines an epoch instead of a frame per batch. The same calls as the tqdm
    bar it stands in for (``update``, ``set_postfix``, ``close``, ``disable``, a context manager).
    """

    def __init__(self, iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it",
                 every: float | None = None, disable: bool = False, **_ignored):
        self.iterable = iterable
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)
        self.desc, self.unit, self.disable = desc, unit, bool(disable)
        self.every = _progress_seconds() if every is None else every
        self.n = 0
        self.postfix = ""
        self._start = time.perf_counter()
        self._last = self._start
        self.lines = 0

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_postfix(self, refresh: bool = True, **values) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def update(self, n: int = 1) -> None:
        self.n += int(n)
        now = time.perf_counter()
        if not self.disable and self.every > 0 and now - self._last >= self.every:
            self._last = now
            self._emit(now)

    def _emit(self, now: float) -> None:
        rate = self.n / max(now - self._start, 1e-9)
        count = f"{self.n:,}/{self.total:,}" if self.total else f"{self.n:,}"
        text = f"{self.desc}: {count} {self.unit}"
        if self.total:
            text += f" ({100 * self.n / self.total:.0f}%)"
        text += f", {rate:,.0f} {self.unit}/s"
        if self.total and rate > 0:
            text += f", ETA {format_duration((self.total - self.n) / rate)}"
        if self.postfix:
            text += f", {self.postfix}"
        get_logger().info(text)
        self.lines += 1

    def close(self) -> None:
        pass


def format_duration(seconds: float) -> str:
    """``0:12``, ``3:04``, ``1:02:03``: how long, for people."""
    seconds = int(round(max(seconds, 0)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def progress(iterable=None, **kwargs):
    """Progress on stderr: a tqdm bar on a terminal or in Jupyter, a :class:`LogProgress` line every 30 s otherwise.

    ``TRAINLAB_NO_PROGRESS=1`` turns both off; ``TRAINLAB_PROGRESS_SECONDS`` sets the interval of the log lines.
    Counts are whole numbers (no unit scaling: ``32/455``, not ``32.0/455``).
    """
    kwargs.pop("unit_scale", None)
    if os.environ.get("TRAINLAB_NO_PROGRESS") == "1" or logging.getLogger("trainlab").level >= logging.WARNING:
        kwargs["disable"] = True
    if _in_notebook():
        from tqdm.auto import tqdm

        return tqdm(iterable, **kwargs)
    if not _isatty(sys.stderr):
        return LogProgress(iterable, **kwargs)
    from tqdm import tqdm

    kwargs.setdefault("dynamic_ncols", True)
    kwargs.setdefault("file", sys.stderr)
    return tqdm(iterable, **kwargs)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
