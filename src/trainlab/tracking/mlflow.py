"""MLflow: one MLflow run per trainlab run, through MlflowClient (no global 'active run' state)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Iterable, Mapping

from trainlab.tracking.base import Tracker

STATUS = {"finished": "FINISHED", "stopped-early": "FINISHED", "trained": "FINISHED", "interrupted": "KILLED"}


def default_uri(runs_folder: Path) -> str:
    """A local SQLite store beside the run folders (MLflow's own recommended local back end)."""
    return f"sqlite:///{(runs_folder / 'mlflow.db').resolve()}"


class MlflowTracker(Tracker):
    name = "mlflow"

    def __init__(self, *, run_dir: Path, run_name: str, params: Mapping[str, str], experiment: str,
                 tracking_uri: str | None):
        import logging

        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        logging.getLogger("mlflow").setLevel(logging.WARNING)  # its table-creation notes are not the user's news
        logging.getLogger("alembic").setLevel(logging.WARNING)
        self.uri = tracking_uri or default_uri(run_dir.parent)
        self.client = MlflowClient(self.uri)
        found = self.client.get_experiment_by_name(experiment)
        if found is not None:
            experiment_id = found.experiment_id
        else:
            location = None
            if self.uri.startswith("sqlite:///"):  # artifacts beside the store, not in the current folder
                location = (Path(self.uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
            experiment_id = self.client.create_experiment(experiment, artifact_location=location)
        self.run_id = self.client.create_run(experiment_id, run_name=run_name, tags={"trainlab.run_dir": str(run_dir)}).info.run_id
        items = [Param(k, v[:6000]) for k, v in params.items()]
        for start in range(0, len(items), 100):  # MLflow takes at most 100 params a batch
            self.client.log_batch(self.run_id, params=items[start : start + 100])

    def epoch(self, step: int, metrics: Mapping[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in metrics.items()])

    def finish(self, *, status: str, metrics: Mapping[str, float], files: Iterable[Path]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        if metrics:
            self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
        for path in files:
            if path.is_dir():
                self.client.log_artifacts(self.run_id, str(path), artifact_path=path.name)
            else:
                self.client.log_artifact(self.run_id, str(path))
        self.client.set_terminated(self.run_id, status=STATUS.get(status, "FAILED"))
