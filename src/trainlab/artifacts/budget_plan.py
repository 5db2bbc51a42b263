"""``<run>/budget.json``: the plan a time-budgeted run made (trainlab.training.budget is its one producer)."""

from __future__ import annotations

from typing import ClassVar

from trainlab.artifacts.base import Artifact


class BudgetPlan(Artifact):
    KIND: ClassVar[str] = "budget-plan"
    SCHEMA_VERSION: ClassVar[int] = 1
    FILENAME: ClassVar[str] = "budget.json"
    MADE_BY: ClassVar[str] = "trainlab train with train.budget"

    budget_s: float  #: the wall-clock budget, seconds
    epochs: int  #: epochs planned (the schedule's length)
    images_per_s: float  #: training throughput measured over the first steps
    images_per_epoch: int
    seconds_per_epoch: float  #: training plus validation, as planned
    spent_s: float  #: set-up before the first training step
    reserve_s: float  #: kept for predictions and evaluation after the last epoch
    measured_steps: int  #: optimizer steps the throughput was measured over
    expected_s: float  #: spent + epochs x seconds_per_epoch + reserve
    expected_end: str  #: ISO time the run is expected to end
