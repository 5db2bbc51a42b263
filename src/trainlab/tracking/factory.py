"""The trackers a recipe names, started for one run (the one module that knows every tracker kind).

Kept apart from :mod:`trainlab.tracking.base`, which each tracker imports, so the package has no import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from trainlab.errors import TrainlabError
from trainlab.tracking.base import EXTRA, KNOWN, Tracker, Trackers, flatten


def open_trackers(names: Iterable[str], *, run_dir: Path, run_name: str, params: Mapping[str, Any],
                  experiment: str, tracking_uri: str | None = None) -> Trackers:
    """The trackers named in the recipe, each started for this run (an unknown name or a missing package is a
    TrainlabError naming the key and the extra to install, raised before any training)."""
    trackers: list[Tracker] = []
    flat = flatten(params)
    for name in names:
        if name not in KNOWN:
            raise TrainlabError(f"output.trackers: unknown tracker '{name}'; choose from {', '.join(KNOWN)}")
        try:
            if name == "mlflow":
                from trainlab.tracking.mlflow import MlflowTracker

                trackers.append(MlflowTracker(run_dir=run_dir, run_name=run_name, params=flat,
                                              experiment=experiment, tracking_uri=tracking_uri))
            else:
                from trainlab.tracking.tensorboard import TensorBoardTracker

                trackers.append(TensorBoardTracker(run_dir=run_dir, params=flat))
        except ImportError as exc:
            raise TrainlabError(
                f"output.trackers: '{name}' needs a package that is not installed ({exc.name}): "
                f"pip install '{EXTRA[name]}'"
            ) from None
    return Trackers(trackers)
