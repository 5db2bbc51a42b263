"""The tracker contract and the fan-out to every tracker a recipe names."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from trainlab.utils.log import get_logger

log = get_logger("trainlab.tracking")

KNOWN = ("mlflow", "tensorboard")
EXTRA = {"mlflow": "trainlab[mlflow]", "tensorboard": "trainlab[tensorboard]"}


class Tracker:
    """One destination. ``params``: flat ``{"train.lr": 0.001, ...}``; metrics are plain numbers."""

    name = "tracker"

    def epoch(self, step: int, metrics: Mapping[str, float]) -> None: ...

    def finish(self, *, status: str, metrics: Mapping[str, float], files: Iterable[Path]) -> None: ...


class Trackers:
    """Every tracker of a run; each call reaches all of them, and one that fails is logged and dropped."""

    def __init__(self, trackers: list[Tracker]):
        self.trackers = list(trackers)

    def __bool__(self) -> bool:
        return bool(self.trackers)

    def _each(self, method: str, *args, **kwargs) -> None:
        for tracker in list(self.trackers):
            try:
                getattr(tracker, method)(*args, **kwargs)
            except Exception as exc:  # a dashboard must never cost a training run
                log.warning("tracker %s failed in %s (%s: %s); the run goes on without it",
                            tracker.name, method, type(exc).__name__, exc)
                self.trackers.remove(tracker)

    def epoch(self, step: int, metrics: Mapping[str, Any]) -> None:
        self._each("epoch", step, numbers(metrics))

    def finish(self, *, status: str, metrics: Mapping[str, Any], files: Iterable[Path] = ()) -> None:
        self._each("finish", status=status, metrics=numbers(metrics), files=[Path(f) for f in files if Path(f).exists()])


def numbers(values: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of a row, as floats (epoch rows also hold strings and None)."""
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[str(key)] = float(value)
    return out


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """``{"train": {"lr": 0.001}}`` -> ``{"train.lr": "0.001"}`` (how trackers show parameters)."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat
