"""The recipe's training techniques wired into the loop (#14): EMA beside the raw weights, flip TTA, class-balanced
loss and sampler, gradient accumulation, and the time budget, each on small in-memory data."""

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from test_train_trainer import NUM_CLASSES, TinyNet, cfg, make_data
from trainlab.artifacts.budget_plan import BudgetPlan
from trainlab.config import AugmentSection, EmaSection
from trainlab.models.weights import load_weights
from trainlab.training import checkpoint as ckpt
from trainlab.training.balance import balanced_draw, class_weights
from trainlab.training.trainer import Trainer
from trainlab.training.writer import RunWriter


def make(images, labels, *, n_train, writer=None, started=None, **kw):
    return Trainer(TinyNet(), cfg(**kw), images=images, labels=labels, train_index=np.arange(n_train),
                   val_index=np.arange(n_train, len(labels)), num_classes=NUM_CLASSES, writer=writer, started=started)


def _equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


@pytest.mark.parametrize("ema_validates_better", [True, False])
def test_best_holds_the_ema_weights_exactly_when_they_validate_better(tmp_path, monkeypatch, ema_validates_better):
    images, labels = make_data(64)
    evaluate = Trainer.evaluate

    def rigged(self, index, *, net=None):  # the favoured weights validate perfectly; the other as they are
        out = evaluate(self, index, net=net)
        return {**out, "acc": 1.0} if (net is not None) == ema_validates_better else out

    monkeypatch.setattr(Trainer, "evaluate", rigged)
    t = make(images, labels, n_train=48, writer=RunWriter(tmp_path), epochs=1, ema=EmaSection(0.9))
    result = t.fit()
    raw, averaged = t.model.state_dict(), t.ema.module.state_dict()
    assert not _equal(raw, averaged)  # the EMA is its own weights
    winner = "ema" if ema_validates_better else "raw"
    assert result.best_weights == winner and t.history[0]["val_acc_ema"] is not None
    best, meta = load_weights(tmp_path / "checkpoints" / "best" / "model.safetensors")
    assert _equal(best, averaged if ema_validates_better else raw) and meta["weights"] == winner
    last, _ = load_weights(tmp_path / "checkpoints" / "last" / "model.safetensors")
    assert _equal(last, raw)  # last: the raw weights, with the average in its state
    # a resume restores the average
    again = make(images, labels, n_train=48, epochs=1, ema=EmaSection(0.9))
    again.load(tmp_path / "checkpoints" / "last")
    assert _equal(again.ema.module.state_dict(), averaged) and again.best_weights == winner
    assert "val_acc_ema" in (tmp_path / "history.csv").read_text().splitlines()[0]


def test_flip_tta_probabilities_are_the_mean_of_the_plain_and_mirrored_passes():
    images, labels = make_data(48)
    t = make(images, labels, n_train=32, tta="flip")
    rows = np.arange(32, 48)
    got = t.predict_proba(rows)
    x = t.norm(torch.from_numpy(images[rows]))
    with torch.no_grad():
        plain = torch.softmax(t.model(x), -1).numpy()
        mirrored = torch.softmax(t.model(torch.flip(x, dims=[3])), -1).numpy()
    assert np.abs(plain - mirrored).max() > 1e-4  # the mirror is another view for this model
    np.testing.assert_allclose(got, (plain + mirrored) / 2, atol=1e-6)
    val = t.evaluate(rows)  # the epoch's validation uses the same probabilities
    assert val["loss"] == pytest.approx(float(-np.log(got[np.arange(16), labels[rows]]).mean()), rel=1e-5)
    assert val["acc"] == pytest.approx(float((got.argmax(1) == labels[rows]).mean()))


def test_class_balanced_loss_uses_n_over_k_nc_and_the_sampler_draws_balanced_rows():
    images, _ = make_data(48)
    labels = np.array([0] * 30 + [1] * 10 + [2] * 5 + [3] * 3)
    t = make(images, labels, n_train=48, class_balance="loss", batch_size=48, optimizer="sgd", momentum=0.0, lr=0.5)
    expected = 48 / (4 * np.array([30, 10, 5, 3]))
    np.testing.assert_allclose(t.class_weight.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(class_weights(labels, 4), expected)
    # one full-batch SGD step equals the step on sum_i w_{y_i} CE_i / n, computed here by hand
    model = TinyNet()
    x, y = t.norm(torch.from_numpy(images)), torch.from_numpy(labels)
    weighted = (F.cross_entropy(model(x), y, reduction="none") * torch.tensor(expected, dtype=torch.float32)[y]).sum() / 48
    weighted.backward()
    by_hand = {name: (p - 0.5 * p.grad).detach() for name, p in model.named_parameters()}
    t.train_epoch(0)
    for name, p in t.model.named_parameters():
        torch.testing.assert_close(p.detach(), by_hand[name], atol=2e-5, rtol=1e-4)
    plain = TinyNet()
    F.cross_entropy(plain(x), y).backward()
    assert not torch.allclose(plain.fc.weight - 0.5 * plain.fc.weight.grad, t.model.fc.weight, atol=1e-3)  # it mattered
    s = make(images, labels, n_train=48, class_balance="sampler")
    np.testing.assert_array_equal(s._epoch_rows(3), np.arange(48)[balanced_draw(labels, seed=0, epoch=3)])


def test_accumulating_two_batches_of_b_equals_one_batch_of_2b():
    """BN-free model, keyed augmentation: the same optimizer steps on the same gradients (60 images: 16, 16, 16, 12)."""
    images, labels = make_data(76)
    common = dict(n_train=60, epochs=2, optimizer="sgd", momentum=0.9, lr=0.05, schedule="cosine", warmup_epochs=1,
                  augment=AugmentSection())  # the keras affine, keyed by sample
    a = make(images, labels, batch_size=8, accumulate=2, **common)
    b = make(images, labels, batch_size=16, **common)
    assert a.steps_per_epoch == b.steps_per_epoch == 4
    a.fit(), b.fit()
    assert a.step == b.step == 8
    for (name, pa), pb in zip(a.model.named_parameters(), b.model.parameters()):
        torch.testing.assert_close(pa, pb, atol=2e-5, rtol=1e-4, msg=name)
    assert a.history[-1]["train_loss"] == pytest.approx(b.history[-1]["train_loss"], rel=1e-4)


def test_a_budgeted_run_plans_its_epochs_records_the_plan_and_ends_inside_the_budget(tmp_path):
    images, labels = make_data(200)
    budget = 5.0
    started = time.perf_counter()
    t = make(images, labels, n_train=160, writer=RunWriter(tmp_path), started=started, epochs=1000,
             budget=f"{budget:g}s", schedule="cosine", warmup_epochs=1)
    result = t.fit()
    elapsed = time.perf_counter() - started
    plan = BudgetPlan.read(tmp_path)
    assert result.budget_plan == plan and plan.budget_s == budget and plan.measured_steps >= 1
    assert 1 <= result.epochs_run == t.cfg.epochs <= plan.epochs < 1000  # the schedule's length is what ran
    assert elapsed <= budget * 1.25 + 1.0, f"took {elapsed:.1f}s of a {budget}s budget"  # a shared CPU's pace varies
    # the cosine ends with the run, unless the machine slowed down after the last chance to shorten it
    shortened = t.cfg.epochs < plan.epochs
    assert t.history[-1]["lr"] == pytest.approx(0.0, abs=1e-9) or shortened
    assert t.eta().startswith("run 100%")
    state = ckpt.load_state(tmp_path / "checkpoints" / "last")
    # a resume keeps the plan and the run's length as it stood (a replan may have shortened it)
    assert state["planned_epochs"] == t.cfg.epochs and state["budget_plan"]["epochs"] == plan.epochs
