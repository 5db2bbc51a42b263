"""Experiment tracking, optional: MLflow and TensorBoard, named in a recipe's ``output.trackers``.

A tracker receives what the run folder already holds, as it is written: the resolved recipe (params),
one row of metrics per epoch, the final test metrics and the run's files (curves, report, audit). The run
folder stays the record; a tracker is a copy for the team's dashboard, so a tracker that fails is logged and
never fails the training.

    output:
      trackers: [mlflow, tensorboard]
      tracking_uri: null   # MLflow: default sqlite:///<output.runs>/mlflow.db; any URI MLflow accepts
      experiment: null     # MLflow experiment name; default the recipe's name
"""

from trainlab.tracking.base import Tracker, Trackers
from trainlab.tracking.factory import open_trackers

__all__ = ["Tracker", "Trackers", "open_trackers"]
