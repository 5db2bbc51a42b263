"""The strong recipes (#14) load, validate and train a couple of steps (with every technique they switch on) on
tiny synthetic data (at 32 px rather than their own size, to keep the test short on a CPU)."""

import dataclasses

import numpy as np
import pytest

from trainlab.config import builtin_recipes, load_recipe, validate
from trainlab.data.dataconfig import resolve_data_config
from trainlab.models.factory import create_model
from trainlab.training.trainer import Trainer


@pytest.mark.parametrize("name", ["face-attribute", "small-data"])
def test_strong_recipe_trains_a_couple_of_steps(name):
    assert name in builtin_recipes()
    recipe = validate(load_recipe(name, ["data.root=/nowhere"]), name)
    t = recipe.train
    assert t.ema.decay > 0 and t.tta == "flip" and t.budget and t.schedule == "cosine" and t.label_smoothing == 0.1
    assert t.augment.extra == "trivialaugment" and recipe.model.name.startswith("timm:")
    assert (t.class_balance == "loss") == (name == "small-data")
    assert recipe.data.image_size[0] >= 64
    h, w = 32, 32
    model = create_model(recipe.model.name, 3, input_size=[h, w], **recipe.model.options)
    data_config = resolve_data_config(dataclasses.replace(recipe.data, image_size=[h, w]), model)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (12, h, w, 3), dtype=np.uint8)
    labels = np.array([0, 1, 2, 0, 0, 0, 1, 2, 0, 1, 2, 0])
    # two optimizer steps of 4 images, under the recipe's own budget (train.epochs=1 caps the plan)
    cfg = dataclasses.replace(t, epochs=1, batch_size=4, prefetch=0, channels_last=False)
    trainer = Trainer(model, cfg, images=images, labels=labels, train_index=np.arange(8), val_index=np.arange(8, 12),
                      num_classes=3, data_config=data_config)
    result = trainer.fit()
    row = result.history[0]
    assert trainer.step == 2 and np.isfinite(row["train_loss"]) and np.isfinite(row["val_loss_ema"])
    assert result.best_weights in ("ema", "raw") and result.budget_plan.epochs == 1
    assert trainer.predict_proba(np.arange(8, 12)).sum(1) == pytest.approx(np.ones(4), abs=1e-5)
