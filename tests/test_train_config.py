"""Recipes: YAML in, typed values, key=value overrides, and errors that name the key and what is allowed."""

from pathlib import Path

import pytest
import yaml

from trainlab.config import Recipe, builtin_recipes, find_recipe, load_recipe, parse_override, resolved, validate
from trainlab.errors import TrainlabError

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path, text, name="r.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_builtin_recipes_are_valid_and_found_by_name():
    assert set(builtin_recipes()) >= {"ip102-seed-cnn", "ip102-efficientnet", "fairface-gender"}
    for name in builtin_recipes():
        recipe = validate(load_recipe(name), name)
        assert recipe.data.root is None  # each is run by pointing data.root at a dataset
        assert find_recipe(name).read_text() == (REPO / "recipes" / f"{name}.yaml").read_text()


def test_seed_cnn_recipe_is_the_coursework_experiment():
    r = load_recipe(REPO / "recipes" / "ip102-seed-cnn.yaml")
    assert (r.model.name, r.data.image_size, r.data.resize) == ("seed_cnn", [100, 100], "stretch")
    assert (r.train.optimizer, r.train.lr, r.train.epochs, r.train.batch_size) == ("adam", 0.001, 25, 32)
    a = r.train.augment
    assert (a.policy, a.rotation, a.zoom, a.width_shift, a.height_shift, a.shear, a.hflip) == ("keras", 20, 0.05, 0.05, 0.05, 0.05, True)


def test_efficientnet_recipe_takes_the_models_own_size_and_stages():
    r = load_recipe("ip102-efficientnet")
    assert r.model.name.startswith("timm:efficientnet")
    assert r.data.image_size is None  # native input size from the model's data_config
    assert r.model.options["mode"] == "staged" and r.train.stage_epochs > 0


def test_overrides_are_yaml_typed_and_reach_nested_keys():
    r = load_recipe("ip102-seed-cnn", [
        "train.epochs=2", "train.lr=3e-4", "train.amp=off", "train.clip_grad_norm=1", "data.image_size=64x48",
        "train.augment.hflip=false", "model.options.input_size=[64, 48]", "data.root=/data/ip 102", "train.eval_batch_size=null",
    ])
    assert r.train.epochs == 2 and r.train.lr == pytest.approx(3e-4) and r.train.amp == "off"
    assert r.train.clip_grad_norm == 1.0 and isinstance(r.train.clip_grad_norm, float)
    assert r.data.image_size == [64, 48] and r.train.augment.hflip is False
    assert r.model.options == {"input_size": [64, 48]} and r.data.root == "/data/ip 102"
    assert parse_override("a.b=on") == ("a.b", True)  # YAML 1.1, as in the recipe files


def test_resolved_yaml_round_trips(tmp_path):
    r = load_recipe("fairface-gender", ["data.root=/x/labels.csv"])
    r2 = resolved(r, **{"data.image_size": [100, 100]})
    path = write(tmp_path, r2.to_yaml())
    again = load_recipe(path)
    assert again == r2
    assert yaml.safe_load(path.read_text())["train"]["augment"]["policy"] == "keras"


@pytest.mark.parametrize(
    "override, words",
    [
        ("train.lrate=0.1", ["r.yaml", "unknown key 'train.lrate'", "lr", "weight_decay", "augment"]),
        ("trian.epochs=1", ["unknown key 'trian'", "did you mean 'train'", "data, model, train, output"]),
        ("train.optimizer=adan", ["train.optimizer", "'adan'", "adam, adamw, sgd"]),
        ("train.amp=yes", ["train.amp", "auto, off, bf16, fp16"]),
        ("train.epochs=two", ["train.epochs", "'two'", "whole number"]),
        ("train.augment.hflip=maybe", ["train.augment.hflip", "true or false"]),
        ("data.image_size=big", ["data.image_size", "[height, width]"]),
        ("data.resize=crop", ["data.resize", "stretch, shorter-side"]),
        ("train.augment.rotaton=5", ["train.augment.rotaton", "did you mean 'train.augment.rotation'"]),
        ("train.epochs.max=3", ["'train.epochs' is a value"]),
        ("train", ["not key=value"]),
    ],
)
def test_bad_keys_and_values_name_the_key_and_the_allowed_values(tmp_path, override, words):
    path = write(tmp_path, "data:\n  root: /data\ntrain:\n  epochs: 3\n")
    with pytest.raises(TrainlabError) as info:
        load_recipe(path, [override])
    for word in words:
        assert word in str(info.value)


def test_errors_in_the_file_name_the_file_and_line(tmp_path):
    with pytest.raises(TrainlabError, match=r"r.yaml: unknown key 'model.nmae'.*name, options"):
        load_recipe(write(tmp_path, "model:\n  nmae: seed_cnn\n"))
    with pytest.raises(TrainlabError, match=r"r.yaml:\d+:\d+: not valid YAML"):
        load_recipe(write(tmp_path, "train:\n  epochs: 3\n  lr: [1\n"))
    with pytest.raises(TrainlabError, match="'train' must be a mapping"):
        load_recipe(write(tmp_path, "train: 5\n"))


def test_range_checks_name_the_key():
    with pytest.raises(TrainlabError, match="train.warmup_epochs must lie in"):
        validate(load_recipe(None, ["train.epochs=2", "train.warmup_epochs=3"]))
    with pytest.raises(TrainlabError, match="train.augment.zoom must lie in"):
        validate(load_recipe(None, ["train.augment.zoom=1.5"]))
    assert isinstance(validate(load_recipe(None)), Recipe)


def test_unknown_recipe_lists_the_builtin_ones(tmp_path):
    with pytest.raises(TrainlabError, match="built-in recipes: .*ip102-seed-cnn"):
        find_recipe("ip102-seed-cn")
    with pytest.raises(TrainlabError, match="is a folder, not a recipe file; to continue a run use --resume"):
        find_recipe(tmp_path)


def test_data_accept_labels_and_duplicate_images_keys():
    r = load_recipe(None, ["data.accept_labels=Femael", "data.duplicate_images=warn"])
    assert r.data.accept_labels == ["Femael"] and r.data.duplicate_images == "warn"
    assert load_recipe(None, ["data.accept_labels=[Femael, 'Mael']"]).data.accept_labels == ["Femael", "Mael"]
    with pytest.raises(TrainlabError, match=r"data.accept_labels: .* is not a list"):
        load_recipe(None, ["data.accept_labels={a: 1}"])


@pytest.mark.parametrize(
    "override, words",
    [
        ("train.tta=mirror", ["r.yaml: train.tta", "'mirror'", "off, flip"]),
        ("train.class_balance=weights", ["r.yaml: train.class_balance", "off, loss, sampler"]),
        ("train.ema.decy=0.9", ["unknown key 'train.ema.decy'", "did you mean 'train.ema.decay'"]),
        ("train.ema=1.5", ["r.yaml: train.ema.decay must lie in [0, 1)"]),
        ("train.ema=fast", ["r.yaml: train.ema.decay", "'fast' is not a number"]),
        ("train.accumulate=0", ["r.yaml: train.accumulate must be at least 1"]),
        ("train.budget=15x", ["r.yaml: train.budget: '15x' is not a duration", "90s, 15m or 1h30m"]),
        ("train.budget=-5", ["r.yaml: train.budget", "positive duration"]),
    ],
)
def test_technique_keys_give_one_line_errors_naming_the_key(tmp_path, override, words):
    path = write(tmp_path, "data:\n  root: /data\ntrain:\n  epochs: 3\n")
    with pytest.raises(TrainlabError) as info:
        validate(load_recipe(path, [override]), str(path))
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word.replace("r.yaml", str(path)) in message or word in message, message


def test_technique_keys_default_off_and_ema_takes_a_decay_or_a_mapping():
    t = load_recipe(None).train
    assert (t.ema.decay, t.tta, t.class_balance, t.accumulate, t.budget) == (0.0, "off", "off", 1, None)
    assert load_recipe(None, ["train.ema=0.999"]).train.ema.decay == 0.999
    assert load_recipe(None, ["train.ema={decay: 0.99, warmup: true}"]).train.ema.warmup is True
    assert load_recipe(None, ["train.ema=off"]).train.ema.decay == 0.0
    assert validate(load_recipe(None, ["train.budget=1h30m"])).train.budget == "1h30m"
