"""The trainer on small in-memory uint8 data: learning, evaluation, history, resume, NaN, early stopping."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

from trainlab.config import AugmentSection, TrainSection
from trainlab.data.augment import uint8_policy
from trainlab.data.loader import BatchLoader
from trainlab.errors import TrainlabError
from trainlab.training import checkpoint as ckpt
from trainlab.training.policy import lr_factor
from trainlab.training.trainer import NonFiniteLoss, Trainer
from trainlab.training.writer import RunWriter

SIZE = 16
NUM_CLASSES = 4


def make_data(n=240, seed=0):
    """Four learnable classes, unchanged by flips and small affine moves: a square at a random place,
    red, green or blue (classes 0-2) or white (class 3), on noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, n)
    images = rng.integers(0, 90, (n, SIZE, SIZE, 3)).astype(np.uint8)
    for i, y in enumerate(labels):
        r, c = rng.integers(2, SIZE - 8, 2)
        channels = slice(None) if y == 3 else slice(int(y), int(y) + 1)
        images[i, r : r + 6, c : c + 6, channels] += 150
    return images, labels


class TinyNet(torch.nn.Module):
    def __init__(self, dropout=0.0):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.drop = torch.nn.Dropout(dropout)
        self.fc = torch.nn.Linear(8 * 4 * 4, NUM_CLASSES)
        self.data_config = {"input_size": (3, SIZE, SIZE), "mean": (0.3, 0.3, 0.3), "std": (0.2, 0.25, 0.3)}

    def forward(self, x):
        x = torch.nn.functional.adaptive_avg_pool2d(torch.relu(self.conv(x)), 4).flatten(1)
        return self.fc(self.drop(x))


def cfg(**kw):
    base = dict(epochs=3, batch_size=16, lr=0.01, prefetch=2, augment=AugmentSection(policy="none"))
    base.update(kw)
    return TrainSection(**base)


class Hook(RunWriter):
    """A writer that also calls ``hook(trainer, row)`` after each epoch (or only that, without a folder)."""

    def __init__(self, folder, hook):
        super().__init__(folder or ".", enabled=folder is not None)
        self.hook = hook

    def epoch_end(self, trainer, row, *, improved):
        if self.enabled:
            super().epoch_end(trainer, row, improved=improved)
        self.hook(trainer, row)


def trainer(model, images, labels, run_dir=None, hook=None, **kw):
    n = len(labels)
    cut = int(n * 0.75)
    writer = Hook(run_dir, hook) if hook else RunWriter(run_dir) if run_dir is not None else None
    return Trainer(model, cfg(**kw), images=images, labels=labels, train_index=np.arange(cut),
                   val_index=np.arange(cut, n), num_classes=NUM_CLASSES, writer=writer)


def test_short_training_learns_well_above_chance(tmp_path):
    images, labels = make_data()
    t = trainer(TinyNet(), images, labels, tmp_path, epochs=6, augment=AugmentSection())  # the coursework's
    result = t.fit()
    assert result.status == "finished" and result.epochs_run == 6
    assert result.history[-1]["val_acc"] >= 0.85  # chance is 0.25
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_history_csv_and_curves(tmp_path):
    images, labels = make_data(96)
    trainer(TinyNet(), images, labels, tmp_path, epochs=2).fit()
    frame = pd.read_csv(tmp_path / "history.csv")
    assert list(frame.columns) == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "time_s", "images_per_s"]
    assert frame["epoch"].tolist() == [1, 2]
    assert frame[["train_loss", "val_loss", "time_s", "images_per_s"]].gt(0).all().all()
    assert (tmp_path / "plots" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("last", "best"):
        assert (tmp_path / "checkpoints" / name / "model.safetensors").is_file()
        assert (tmp_path / "checkpoints" / name / "state.pt").is_file()


def test_evaluation_is_unaugmented_and_uses_the_models_normalisation():
    images, labels = make_data(80)
    model = TinyNet()
    t = trainer(model, images, labels, augment=AugmentSection())  # augmentation on for training
    index = np.arange(50, 80)[::-1]  # any order comes back in that order
    proba = t.predict_proba(index)
    mean = torch.tensor(model.data_config["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(model.data_config["std"]).view(1, 3, 1, 1)
    x = torch.from_numpy(images[index]).permute(0, 3, 1, 2).float() / 255.0
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model((x - mean) / std), -1).numpy()
    np.testing.assert_allclose(proba, expected, atol=1e-5)
    first, second = t.evaluate(index), t.evaluate(index)
    assert first == second and first["n"] == 30
    ce = -np.log(expected[np.arange(30), labels[index]]).mean()
    assert first["loss"] == pytest.approx(ce, rel=1e-4)


def _final_state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("interrupt_after", [2])
def test_resume_equals_an_uninterrupted_deterministic_run(tmp_path, interrupt_after):
    images, labels = make_data(120)
    settings = dict(epochs=4, deterministic=True, augment=AugmentSection(), optimizer="adamw", weight_decay=0.01,
                    schedule="cosine", warmup_epochs=1, seed=3)

    full = trainer(TinyNet(dropout=0.3), images, labels, tmp_path / "full", **settings)
    full_result = full.fit()

    def stop(trainer, row):
        if row["epoch"] == interrupt_after:
            raise KeyboardInterrupt

    part = trainer(TinyNet(dropout=0.3), images, labels, tmp_path / "part", hook=stop, **settings)
    with pytest.raises(KeyboardInterrupt):
        part.fit()
    assert ckpt.load_state(tmp_path / "part" / "checkpoints" / "last")["epoch"] == interrupt_after

    torch.manual_seed(12345)  # a new process: other RNG states, another initialisation
    resumed = trainer(TinyNet(dropout=0.3), images, labels, tmp_path / "part", **settings)
    np.random.seed(999)
    resumed_result = resumed.fit(resume_from=tmp_path / "part" / "checkpoints" / "last")

    for key, value in _final_state(full.model).items():
        torch.testing.assert_close(resumed.model.state_dict()[key], value, rtol=0, atol=0, msg=key)
    assert len(resumed_result.history) == len(full_result.history) == 4
    for a, b in zip(full_result.history, resumed_result.history):
        for col in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
            assert a[col] == b[col], col
    hist = pd.read_csv(tmp_path / "part" / "history.csv")
    assert hist["epoch"].tolist() == [1, 2, 3, 4]


class Exploding(TinyNet):
    """Returns NaN logits from the ``at``-th training forward pass on."""

    def __init__(self, at):
        super().__init__()
        self.at, self.calls = at, 0

    def forward(self, x):
        out = super().forward(x)
        if self.training:
            self.calls += 1
            if self.calls >= self.at:
                return out * float("nan")
        return out


def test_nan_loss_stops_with_epoch_and_step_and_keeps_the_last_good_checkpoint(tmp_path):
    images, labels = make_data(64)  # 48 train images, batch 16: 3 steps an epoch
    t = trainer(Exploding(at=5), images, labels, tmp_path, epochs=4)  # step 2 of epoch 2
    with pytest.raises(NonFiniteLoss, match=r"nan at epoch 2, step 2 of 3") as info:
        t.fit()
    assert info.value.epoch == 2 and info.value.step == 2
    assert "last good checkpoint is kept (epoch 1)" in str(info.value)
    state = ckpt.load_state(tmp_path / "checkpoints" / "last")
    assert state["epoch"] == 1 and state["step"] == 3
    fresh = TinyNet()
    ckpt.load_model_weights(tmp_path / "checkpoints" / "last", fresh)
    assert all(torch.isfinite(p).all() for p in fresh.parameters())
    assert pd.read_csv(tmp_path / "history.csv")["epoch"].tolist() == [1]


def test_early_stopping_after_patience(tmp_path):
    images, labels = make_data(64)
    t = trainer(TinyNet(), images, labels, tmp_path, epochs=10, lr=1e-12, monitor="val_loss", patience=2, min_delta=1e-4)
    result = t.fit()
    assert result.status == "stopped-early"
    assert result.epochs_run == 3 and result.best_epoch == 1


def test_warmup_cosine_and_step_schedules():
    def cos(step):
        return lr_factor(step, schedule="cosine", total_steps=104, warmup_steps=4, steps_per_epoch=10, min_factor=0.1)

    assert [cos(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert cos(4) == pytest.approx(1.0)
    assert cos(54) == pytest.approx(0.1 + 0.9 * 0.5)  # half-way through the cosine
    assert cos(104) == pytest.approx(0.1)
    steps = [lr_factor(s, schedule="step", total_steps=100, steps_per_epoch=10, step_epochs=3, gamma=0.5)
             for s in (0, 29, 30, 59, 60)]
    assert steps == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert lr_factor(7, schedule="constant", total_steps=10, warmup_steps=2) == 1.0


def test_lr_follows_the_schedule_per_step():
    images, labels = make_data(64)  # 3 steps an epoch
    t = trainer(TinyNet(), images, labels, epochs=2, schedule="cosine", warmup_epochs=1, lr=0.1)
    t.fit()
    assert t.step == 6
    expected = 0.1 * 0.5 * (1 + math.cos(math.pi * 3 / 3))  # step 6: the end of the cosine
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(expected, abs=1e-12)


def test_regularization_loss_is_added(tmp_path):
    class Penalised(TinyNet):
        def regularization_loss(self):
            return 1e3 * self.fc.weight.abs().sum()

    images, labels = make_data(64)
    plain, penalised = TinyNet(), Penalised()
    trainer(plain, images, labels, epochs=1).fit()
    trainer(penalised, images, labels, epochs=1).fit()
    assert penalised.fc.weight.abs().sum() < 0.5 * plain.fc.weight.abs().sum()


def test_modern_recipe_trivialaugment_mixup_cutmix_label_smoothing(tmp_path):
    images, labels = make_data(96)
    t = trainer(TinyNet(), images, labels, epochs=2, label_smoothing=0.1,
                augment=AugmentSection(extra="trivialaugment", mixup=0.2, cutmix=1.0))
    assert t.train_loader.drop_last and t.mixup is not None  # timm's Mixup needs full, even batches
    result = t.fit()
    assert all(math.isfinite(h["train_loss"]) for h in result.history)
    plain = next(iter(BatchLoader(images, labels, np.arange(16), batch_size=16, shuffle=False, prefetch=0)))
    policy = next(iter(BatchLoader(images, labels, np.arange(16), batch_size=16, shuffle=False, prefetch=0,
                                   uint8_transform=uint8_policy("trivialaugment"))))
    assert policy.images.dtype == torch.uint8 and policy.images.shape == plain.images.shape
    changed = [not torch.equal(a, b) for a, b in zip(policy.images, plain.images)]
    assert 0 < sum(changed)  # drawn per image (some draws are the identity)
    with pytest.raises(TrainlabError, match="even train.batch_size"):
        trainer(TinyNet(), images, labels, batch_size=15, augment=AugmentSection(mixup=0.2))


def test_channels_last_trains_the_same():
    images, labels = make_data(64)
    a = trainer(TinyNet(), images, labels, epochs=1, deterministic=True, augment=AugmentSection())
    b = trainer(TinyNet(), images, labels, epochs=1, deterministic=True, augment=AugmentSection(), channels_last=True)
    a.fit(), b.fit()
    for key, value in a.model.state_dict().items():
        torch.testing.assert_close(b.model.state_dict()[key], value, atol=1e-5, rtol=1e-4)


def test_staged_fine_tuning_trains_the_head_first_then_everything():
    from trainlab.models.factory import create_model

    images, labels = make_data(64)
    model = create_model("timm:test_efficientnet", NUM_CLASSES, mode="staged", input_size=[SIZE, SIZE])
    start = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    head0 = model.head.fc.weight.detach().clone()
    snapshots = []
    t = trainer(model, images, labels, epochs=2, stage_epochs=1, lr=0.01,
                hook=lambda t, row: snapshots.append({k: v.clone() for k, v in model.backbone.state_dict().items()}))
    t.fit()
    after_stage, after_all = snapshots
    for key, value in start.items():  # weights and BatchNorm statistics untouched while frozen
        torch.testing.assert_close(after_stage[key], value, rtol=0, atol=0, msg=key)
    assert not torch.equal(model.head.fc.weight, head0)
    changed = [k for k in start if k.endswith("weight") and not torch.equal(after_all[k], start[k])]
    assert len(changed) > 0.5 * sum(k.endswith("weight") for k in start)
    assert all(p.requires_grad for p in model.parameters())
