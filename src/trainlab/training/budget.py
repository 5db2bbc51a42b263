"""A wall-clock budget for a training run: one duration parser, the epoch planner, the whole-run ETA.

``train.budget: 15m`` (or ``--budget 15m``) fits a run into a wall-clock budget. The trainer times the
first optimizer steps, then :func:`plan_epochs` sets the number of epochs so that the whole schedule
(warm-up, cosine) ends inside the budget::

    seconds_per_epoch = images_per_epoch / images_per_s + eval_s_per_epoch
    epochs            = floor((budget_s - spent_s - reserve_s) / seconds_per_epoch)   clipped to [1, max_epochs]

``spent_s`` is what the run used before its first training step (data, cache, model), ``reserve_s`` what it
still needs after the last epoch (predictions, evaluation). The plan is a :class:`BudgetPlan`
(``<run>/budget.json``), printed and stored with the run. A budget too small for one epoch is an error
that names the key and the time one epoch takes. After each epoch :func:`replan` shortens the run when the
measured pace has fallen behind the plan (a shared machine slows down).

:func:`format_eta` is the whole-run ETA every training prints (not only the epoch's).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone

from trainlab.artifacts.budget_plan import BudgetPlan
from trainlab.errors import TrainlabError

_DURATION = re.compile(r"^(?:(?P<h>\d+(?:\.\d+)?)h)?(?:(?P<m>\d+(?:\.\d+)?)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")


def parse_duration(value: str | int | float, *, what: str = "duration") -> float:
    """Seconds in ``value``: ``90s``, ``15m``, ``1h30m``, ``1.5h``, or a bare number of seconds.

    ``what`` names the key or flag in the error (``recipe.yaml: train.budget``, ``--budget``).
    """
    if isinstance(value, bool):
        raise TrainlabError(f"{what}: {value!r} is not a duration; write e.g. 90s, 15m or 1h30m")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower().replace(" ", "")
        match = _DURATION.match(text)
        if not text or match is None:
            try:
                seconds = float(text)
            except ValueError:
                raise TrainlabError(f"{what}: {value!r} is not a duration; write e.g. 90s, 15m or 1h30m") from None
        else:
            seconds = sum(float(match[u] or 0) * k for u, k in (("h", 3600), ("m", 60), ("s", 1)))
    if not math.isfinite(seconds) or seconds <= 0:
        raise TrainlabError(f"{what}: {value!r} must be a positive duration, e.g. 90s, 15m or 1h30m")
    return seconds


def format_duration(seconds: float) -> str:
    """``4h05m``, ``12m30s``, ``45s``: the shape the parser reads back."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m:02d}m"
    if m:
        return f"{m}m{s:02d}s"
    return f"{s}s"


def plan_epochs(
    *, budget_s: float, images_per_s: float, images_per_epoch: int, spent_s: float = 0.0, eval_s_per_epoch: float = 0.0,
    reserve_s: float = 0.0, max_epochs: int | None = None, measured_steps: int = 0, now: datetime | None = None,
    started: datetime | None = None,
) -> BudgetPlan:
    """The number of epochs whose schedule ends inside ``budget_s`` (see the module for the formula).

    ``images_per_s`` is the training throughput measured over the first steps; ``started`` is when the run
    began (default: ``now - spent_s``), so ``expected_end = started + spent + epochs x epoch + reserve``.
    """
    if images_per_s <= 0 or not math.isfinite(images_per_s):
        raise TrainlabError(f"train.budget: the measured throughput ({images_per_s} images/s) is not positive")
    if images_per_epoch <= 0:
        raise TrainlabError("train.budget: there are no training images to plan epochs for")
    per_epoch = images_per_epoch / images_per_s + max(0.0, eval_s_per_epoch)
    left = budget_s - spent_s - reserve_s
    epochs = math.floor(left / per_epoch) if left > 0 else 0
    if epochs < 1:
        raise TrainlabError(
            f"train.budget={format_duration(budget_s)} leaves {format_duration(max(left, 0))} for training after "
            f"{format_duration(spent_s)} of set-up and {format_duration(reserve_s)} for predictions, but one epoch takes "
            f"about {format_duration(per_epoch)} ({images_per_s:.0f} images/s); give a budget of at least "
            f"{format_duration(math.ceil(spent_s + reserve_s + per_epoch))}, or use train.epochs without a budget"
        )
    if max_epochs is not None:
        epochs = min(epochs, max_epochs)
    now = now or datetime.now(timezone.utc).astimezone()
    started = started or now - timedelta(seconds=spent_s)
    expected_s = spent_s + epochs * per_epoch + reserve_s
    return BudgetPlan(
        budget_s=round(budget_s, 3), epochs=epochs, images_per_s=round(images_per_s, 2), images_per_epoch=images_per_epoch,
        seconds_per_epoch=round(per_epoch, 3), spent_s=round(spent_s, 3), reserve_s=round(reserve_s, 3),
        measured_steps=measured_steps, expected_s=round(expected_s, 3),
        expected_end=(started + timedelta(seconds=expected_s)).isoformat(timespec="seconds"),
    )


def replan(plan: BudgetPlan, *, elapsed_s: float, epochs_done: int, last_epoch_s: float = 0.0) -> int:
    """Epochs to run in all, from the pace of the epochs done so far: never more than planned, fewer when the
    machine slowed down (a shared CPU), so the run still ends inside the budget::

        per_epoch = max((elapsed - spent) / done, last_epoch_s)
        epochs    = min(plan.epochs, done + floor((budget - elapsed - reserve) / per_epoch))

    ``last_epoch_s``: the latest epoch's time, so a machine that has just slowed down counts at its new pace
    rather than at the run's average. The loop calls it after each epoch and shortens the schedule to the answer.
    """
    if epochs_done <= 0:
        return plan.epochs
    per_epoch = max(max(elapsed_s - plan.spent_s, 1e-9) / epochs_done, last_epoch_s)
    left = plan.budget_s - elapsed_s - plan.reserve_s
    return max(epochs_done, min(plan.epochs, epochs_done + math.floor(max(left, 0.0) / per_epoch)))


def describe_plan(plan: BudgetPlan) -> str:
    """The line a run prints: ``budget 15m: 23 epochs at 412 images/s (38s each), expected end 12:41:07``."""
    end = datetime.fromisoformat(plan.expected_end)
    return (f"budget {format_duration(plan.budget_s)}: {plan.epochs} epoch(s) at {plan.images_per_s:.0f} images/s "
            f"({format_duration(plan.seconds_per_epoch)} each), expected end {end:%H:%M:%S} "
            f"({format_duration(plan.expected_s)} in all)")


def format_eta(*, elapsed_s: float, done_steps: int, total_steps: int, now: datetime | None = None) -> str:
    """Whole-run progress: ``run 37%, 4m12s left (ends 12:41:07)``, from the run's own pace so far.

    ``done_steps``/``total_steps`` count optimizer steps over all epochs (evaluation time is inside
    ``elapsed_s``, so it is inside the pace).
    """
    if total_steps <= 0:
        raise ValueError("total_steps must be positive")
    done_steps = min(max(done_steps, 0), total_steps)
    fraction = done_steps / total_steps
    if done_steps == 0:
        return "run 0%, time left unknown"
    left = elapsed_s * (total_steps - done_steps) / done_steps
    now = now or datetime.now(timezone.utc).astimezone()
    return f"run {fraction:.0%}, {format_duration(left)} left (ends {now + timedelta(seconds=left):%H:%M:%S})"
