"""The time budget: the duration parser, the epoch planner (on a real tiny loop), its record, the whole-run ETA."""

import time
from datetime import datetime, timezone

import pytest
import torch

from trainlab.artifacts.budget_plan import BudgetPlan
from trainlab.errors import TrainlabError
from trainlab.training.budget import describe_plan, format_duration, format_eta, parse_duration, plan_epochs, replan


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("1h30m", 5400), ("1h", 3600), ("2m30s", 150),
                                           ("1.5h", 5400), ("45", 45), (20, 20), (2.5, 2.5), (" 15M ", 900)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "m", "15 minutes", "1m1h", "-5m", "0s", 0, True, "abc"])
def test_parse_duration_refuses_with_the_key(bad):
    with pytest.raises(TrainlabError, match=r"^x.yaml: train.budget: .*(duration)"):
        parse_duration(bad, what="x.yaml: train.budget")


def test_format_duration_reads_back():
    for s in (5, 59, 61, 3599, 3660, 5400):
        assert abs(parse_duration(format_duration(s)) - s) < 60  # hours drop the seconds
    assert format_duration(750) == "12m30s" and format_duration(3900) == "1h05m" and format_duration(7) == "7s"


def test_plan_formula_and_expected_end():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    plan = plan_epochs(budget_s=600, images_per_s=100, images_per_epoch=2000, spent_s=30, eval_s_per_epoch=5,
                       reserve_s=20, now=now, measured_steps=10)
    # 25 s per epoch, 550 s left -> 22 epochs; 30 + 22 x 25 + 20 = 600 s
    assert plan.epochs == 22 and plan.seconds_per_epoch == 25 and plan.expected_s == 600
    assert plan.expected_end == "2026-01-01T12:09:30+00:00"  # started 30 s before now
    assert plan_epochs(budget_s=600, images_per_s=100, images_per_epoch=2000, max_epochs=5).epochs == 5
    assert "22 epoch(s) at 100 images/s" in describe_plan(plan) and "expected end 12:09:30" in describe_plan(plan)


def test_a_budget_below_one_epoch_names_the_key_and_the_minimum():
    with pytest.raises(TrainlabError, match=r"train.budget=10s .* at least 36s"):
        plan_epochs(budget_s=10, images_per_s=100, images_per_epoch=3000, spent_s=5, reserve_s=1)


def test_replan_shortens_a_run_that_fell_behind():
    plan = plan_epochs(budget_s=100, images_per_s=100, images_per_epoch=1000, spent_s=10)  # 10 s per epoch
    assert plan.epochs == 9
    assert replan(plan, elapsed_s=30, epochs_done=2) == 9  # on pace
    assert replan(plan, elapsed_s=50, epochs_done=2) == 4  # 20 s per epoch: 50 s left is 2 more
    assert replan(plan, elapsed_s=120, epochs_done=3) == 3  # past the budget: stop now
    assert replan(plan, elapsed_s=11, epochs_done=1) == 9  # faster than planned: never more than planned
    # on pace on average, but the last epoch took 25 s: the 70 s left are 2 more epochs at that pace, not 7 (#14)
    assert replan(plan, elapsed_s=30, epochs_done=2, last_epoch_s=25) == 4


def test_plan_is_a_typed_record(tmp_path):
    plan = plan_epochs(budget_s=60, images_per_s=50, images_per_epoch=100)
    path = plan.write(tmp_path)
    assert path.name == "budget.json" and BudgetPlan.read(tmp_path) == plan


def test_a_short_run_ends_inside_its_budget():
    """A real loop on a tiny model: time the first steps, plan, train the planned epochs, check the clock."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    x, y = torch.randn(256, 32), torch.randint(0, 4, (256,))
    model = torch.nn.Sequential(torch.nn.Linear(32, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)

    def step(i):
        xb, yb = x[i % 8 * 32:(i % 8 + 1) * 32], y[i % 8 * 32:(i % 8 + 1) * 32]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()

    budget = 2.0
    t_start = time.perf_counter()
    step(0)  # first step: allocation, not throughput
    t0, steps = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.3:  # the first steps, timed (a fifth of an epoch budget here)
        steps += 1
        step(steps)
    rate = steps * 32 / (time.perf_counter() - t0)
    plan = plan_epochs(budget_s=budget, images_per_s=rate, images_per_epoch=256, spent_s=time.perf_counter() - t_start,
                       measured_steps=steps)
    assert plan.epochs > 3  # the budget is worth many epochs of this model
    epochs, done = plan.epochs, 0
    while done < epochs:
        for i in range(8):
            step(i)
        done += 1
        epochs = replan(plan, elapsed_s=time.perf_counter() - t_start, epochs_done=done)  # the machine is shared
    took = time.perf_counter() - t_start
    assert took <= budget * 1.5, (took, plan)  # a shared CPU: the tolerance
    assert took >= budget * 0.3, (took, plan)  # and the budget was used, not wasted


def test_format_eta_is_for_the_whole_run():
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert format_eta(elapsed_s=60, done_steps=25, total_steps=100, now=now) == "run 25%, 3m00s left (ends 12:03:00)"
    assert format_eta(elapsed_s=5, done_steps=0, total_steps=100) == "run 0%, time left unknown"
