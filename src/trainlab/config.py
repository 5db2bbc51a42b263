"""Typed training recipes: YAML in, validated dataclasses, resolved YAML out.

A recipe has four sections (``data``, ``model``, ``train``, ``output``); every key and its type and
allowed values is declared once, in the dataclasses below, and nowhere else. ``key=value`` overrides
(``train.epochs=5``, ``model.options.weights=/w/b0.safetensors``) are parsed as YAML values, so
``train.amp=off`` is a string, ``train.clip_grad_norm=1`` a number and ``data.image_size=[64,64]`` a list.

Errors name the recipe file and the key and list what is allowed::

    recipes/x.yaml: train.optimizer: 'adan' is not allowed; choose one of adam, adamw, sgd
    recipes/x.yaml: unknown key 'train.lrate' (did you mean 'train.lr'?); keys of 'train': epochs, ...

The run folder gets the *resolved* recipe (``config.yaml``: every default filled in, the image size
taken from the model), which is enough to redo the run: ``trainlab train <run>/config.yaml``.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from trainlab.data.dataconfig import parse_hw
from trainlab.errors import TrainlabError


def _recipe_folder():
    """The recipes shipped inside the package (``src/trainlab/recipes``; ``recipes/`` links to it)."""
    return resources.files("trainlab") / "recipes"


@dataclass
class DataSection:
    root: str | None = None  #: dataset root folder or labels CSV (required)
    format: Literal["auto", "ip102", "fairface", "imagefolder", "csv"] = "auto"
    target: str | None = None  #: FairFace/CSV: the column to classify
    val_fraction: float = 0.1  #: share of train carved out as val when the dataset has no val split
    test_fraction: float = 0.1  #: share of train carved out as test when the dataset has no test split
    seed: int = 0  #: seed of that carve-out
    on_bad_image: Literal["error", "skip"] = "error"
    image_size: list[int] | None = None  #: [H, W] (or HxW, or one number); default: the model's own input size
    resize: Literal["stretch", "shorter-side"] = "stretch"  #: how images are brought to image_size
    cache_dir: str | None = None  #: default $TRAINLAB_CACHE or ~/.cache/trainlab
    workers: int = 0  #: decode processes for building the cache (0: one per core)
    accept_labels: list[str] = field(default_factory=list)  #: rare labels that are real classes, not typos of a frequent one
    duplicate_images: Literal["error", "warn"] = "error"  #: byte-identical files in different splits of the dataset


@dataclass
class ModelSection:
    name: str = "seed_cnn"  #: seed_cnn or timm:<name>
    options: dict[str, Any] = field(default_factory=dict)  #: keyword options of the model builder


@dataclass
class AugmentSection:
    """Keras ImageDataGenerator-equivalent affine augmentation, plus optional modern extras."""

    policy: Literal["keras", "none"] = "keras"
    rotation: float = 20.0  #: degrees, uniform in [-r, r] (Keras rotation_range)
    zoom: float = 0.05  #: zoom factors uniform in [1-z, 1+z], rows and columns independently (zoom_range)
    width_shift: float = 0.05  #: fraction of the width (width_shift_range)
    height_shift: float = 0.05  #: fraction of the height (height_shift_range)
    shear: float = 0.05  #: degrees (Keras shear_range is in degrees)
    hflip: bool = True  #: horizontal flip with probability 1/2
    extra: Literal["none", "randaugment", "trivialaugment"] = "none"  #: torchvision policy on uint8 images
    mixup: float = 0.0  #: mixup alpha (timm Mixup); 0 = off
    cutmix: float = 0.0  #: cutmix alpha (timm Mixup); 0 = off


@dataclass
class EmaSection:
    """An exponential moving average of the weights (timm ``ModelEmaV3``); ``train.ema: 0.999`` is short for
    ``train.ema: {decay: 0.999}``, and ``train.ema: off`` (or 0) turns it off."""

    decay: float = 0.0  #: ema = decay x ema + (1 - decay) x weights after every optimizer step; 0 = off
    warmup: bool = False  #: timm's warm-up of the decay (short runs: the average forgets the random start sooner)


#: sections that may be written as one value: the value is this key of the section
SHORTHAND = {EmaSection: "decay"}


@dataclass
class TrainSection:
    epochs: int = 25
    batch_size: int = 32  #: per process; the global batch is batch_size x processes
    eval_batch_size: int | None = None  #: default 4 x batch_size
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  #: SGD only
    schedule: Literal["constant", "cosine", "step"] = "constant"
    warmup_epochs: float = 0.0  #: linear warm-up, counted in (fractional) epochs, applied per step
    min_lr: float = 0.0  #: cosine floor
    step_epochs: int = 10  #: step schedule: multiply by step_gamma every step_epochs
    step_gamma: float = 0.1
    clip_grad_norm: float | None = None
    label_smoothing: float = 0.0
    augment: AugmentSection = field(default_factory=AugmentSection)
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  #: auto = bf16 (else fp16) on CUDA, float32 on CPU; float32 with deterministic (training.policy.auto_precision)
    channels_last: bool = False
    compile: bool = False  #: torch.compile the model
    deterministic: bool = False  #: seeded, deterministic kernels: a resumed run equals an uninterrupted one
    seed: int = 0
    seeds: list[int] = field(default_factory=list)  #: a seed group: one run per seed and one summary (trainlab.training.seeds)
    monitor: Literal["val_acc", "val_loss"] = "val_acc"  #: metric for the best checkpoint and early stopping
    patience: int = 0  #: early stopping after this many epochs without improvement; 0 = off
    min_delta: float = 0.0  #: smallest change of the monitored metric that counts as an improvement
    stage_epochs: int = 0  #: timm mode=staged: epochs with the backbone frozen before unfreezing
    backbone_lr_scale: float = 0.1  #: timm finetune/staged: backbone learning rate = lr x this
    drop_last: bool = False  #: drop the last incomplete global batch each epoch (forced on with mixup/cutmix)
    prefetch: int = 3  #: batches prepared ahead by the loader thread
    device_resident: Literal["auto", "on", "off"] = "auto"  #: the uint8 cache on the device, batches drawn there (auto: CUDA when it fits; true/false = on/off)
    device: str = "auto"  #: auto, cuda, cuda:N, mps or cpu
    ema: EmaSection = field(default_factory=EmaSection)  #: weight averaging, evaluated beside the raw weights
    tta: Literal["off", "flip"] = "off"  #: test-time augmentation in evaluation and predictions (flip: mean with the mirror)
    class_balance: Literal["off", "loss", "sampler"] = "off"  #: class weights n / (k x n_c) in the loss, or a balanced draw
    accumulate: int = 1  #: gradient accumulation: one optimizer step per this many batches (effective batch x this)
    budget: str | None = None  #: wall-clock budget (90s, 15m, 1h30m): sets the epochs (train.epochs is the cap)


@dataclass
class OutputSection:
    runs: str = "runs"  #: folder that holds run folders
    name: str | None = None  #: run folder name; default <recipe>-<YYYYmmdd-HHMMSS>
    trackers: list[Literal["mlflow", "tensorboard"]] = field(default_factory=list)  #: experiment trackers (optional extras)
    tracking_uri: str | None = None  #: MLflow store; default sqlite:///<runs>/mlflow.db
    experiment: str | None = None  #: MLflow experiment; default the recipe's name


@dataclass
class Recipe:
    data: DataSection = field(default_factory=DataSection)
    model: ModelSection = field(default_factory=ModelSection)
    train: TrainSection = field(default_factory=TrainSection)
    output: OutputSection = field(default_factory=OutputSection)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=False, allow_unicode=True)


# ---- loading -------------------------------------------------------------------------------
def builtin_recipes() -> list[str]:
    """Names of the recipes shipped with trainlab (``trainlab train <name>`` finds them)."""
    folder = _recipe_folder()
    if not folder.is_dir():  # pragma: no cover - a broken install
        return []
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def find_recipe(name_or_path: str | Path) -> Path:
    """A recipe file, or the name of a built-in recipe (``ip102-seed-cnn``)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    stem = path.name[: -len(".yaml")] if path.name.endswith(".yaml") else path.name
    if len(path.parts) == 1 and stem in builtin_recipes():
        return Path(str(_recipe_folder() / f"{stem}.yaml"))
    if path.is_dir():
        raise TrainlabError(f"{path} is a folder, not a recipe file; to continue a run use --resume {path}")
    raise TrainlabError(
        f"recipe '{name_or_path}' not found: no such file, and no built-in recipe of that name; "
        f"built-in recipes: {', '.join(builtin_recipes()) or 'none'}"
    )


def load_recipe(source: str | Path | dict | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Recipe:
    """Read a recipe (file, built-in name or dict), apply ``key=value`` overrides, validate.

    Overrides win over the file; every error names the file and the key.
    """
    if source is None:
        raw: dict[str, Any] = {}
        where = "recipe"
    elif isinstance(source, dict):
        raw, where = source, "recipe"
    else:
        path = find_recipe(source)
        where = str(source)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as exc:
            line = path.read_bytes()[: exc.start].count(b"\n") + 1
            raise TrainlabError(
                f"{where}:{line}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                "save the recipe as UTF-8"
            ) from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
            raise TrainlabError(f"{where}{at}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
        if not isinstance(raw, dict):
            raise TrainlabError(f"{where}: a recipe is a mapping with sections data, model, train, output; found {type(raw).__name__}")
    raw = _deepcopy(raw)
    for item in overrides or ():
        key, value = parse_override(item)
        _set_path(raw, key, value, where=f"override '{item}'")
    return _build(Recipe, raw, where, prefix="")


def parse_override(item: str) -> tuple[str, Any]:
    """``'train.lr=3e-4'`` -> ``('train.lr', 0.0003)``; the value is read as YAML."""
    if "=" not in item:
        raise TrainlabError(f"override '{item}' is not key=value, e.g. train.epochs=5 or data.root=/data/ip102")
    key, text = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise TrainlabError(f"override '{item}': the key '{key}' is not a dotted name like train.epochs")
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        value = text  # not YAML: keep the text (a path with odd characters, for example)
    return key, value


def _deepcopy(obj):
    if isinstance(obj, dict):
        return {k: _deepcopy(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_deepcopy(v) for v in obj]
    return obj


def _set_path(raw: dict, key: str, value: Any, where: str) -> None:
    node = raw
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            section = ".".join(parts[: i + 1])
            raise TrainlabError(f"{where}: '{section}' is a value, not a section; it has no key '{parts[i + 1]}'")
        node = child
    node[parts[-1]] = value


# ---- validation ----------------------------------------------------------------------------
def _build(cls, raw: Any, where: str, prefix: str):
    section = prefix.rstrip(".") or "the recipe"
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise TrainlabError(f"{where}: '{section}' must be a mapping of keys; found {_show(raw)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in raw if k not in fields]
    if unknown:
        key = str(unknown[0])
        close = difflib.get_close_matches(key, list(fields), n=1)
        hint = f" (did you mean '{prefix}{close[0]}'?)" if close else ""
        raise TrainlabError(
            f"{where}: unknown key '{prefix}{key}'{hint}; keys of {section if prefix else 'a recipe'}: {', '.join(fields)}"
        )
    values = {}
    for name, value in raw.items():
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            if tp in SHORTHAND and not isinstance(value, dict) and value is not None:
                value = {SHORTHAND[tp]: 0.0 if value is False else value}  # train.ema: 0.999 (or off)
            values[name] = _build(tp, value, where, prefix=f"{prefix}{name}.")
        else:
            values[name] = _check(value, tp, where, f"{prefix}{name}")
    return cls(**values)


def _check(value: Any, tp: Any, where: str, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check(value, inner[0], where, key)
    if origin is Literal:
        if isinstance(value, bool) and ("on" if value else "off") in args:
            value = "on" if value else "off"  # YAML 1.1 reads a bare off/on as a boolean
        if value not in args or isinstance(value, bool):
            raise TrainlabError(f"{where}: {key}: {_show(value)} is not allowed; choose one of {', '.join(map(str, args))}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise TrainlabError(f"{where}: {key}: {_show(value)} is not a boolean; use true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise TrainlabError(f"{where}: {key}: {_show(value)} is not a whole number")
        return value
    if tp is float:
        if isinstance(value, str):  # YAML 1.1 reads 1e-3 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TrainlabError(f"{where}: {key}: {_show(value)} is not a number")
        return float(value)
    if tp is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # e.g. a numeric target column name
        if not isinstance(value, str):
            raise TrainlabError(f"{where}: {key}: {_show(value)} is not a text value")
        return value
    if origin is list and key.endswith("image_size"):
        return list(parse_hw(value, what=f"{where}: {key}"))
    if origin is list:
        items = [value] if isinstance(value, str) else value  # output.trackers=mlflow means [mlflow]
        if not isinstance(items, list):
            raise TrainlabError(f"{where}: {key}: {_show(value)} is not a list; write [a, b]")
        return [_check(item, args[0], where, f"{key}[{i}]") for i, item in enumerate(items)]
    if origin is dict:
        if not isinstance(value, dict):
            raise TrainlabError(f"{where}: {key}: must be a mapping of option names to values; found {_show(value)}")
        return value
    raise AssertionError(f"unhandled type {tp} for {key}")  # pragma: no cover - a new field type


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- checks that span keys -----------------------------------------------------------------
def validate(recipe: Recipe, where: str = "recipe") -> Recipe:
    """Value checks that need more than one key or a range; returns the recipe."""
    t = recipe.train
    rules = [
        ("train.epochs", t.epochs >= 1, "must be at least 1"),
        ("train.batch_size", t.batch_size >= 1, "must be at least 1"),
        ("train.eval_batch_size", t.eval_batch_size is None or t.eval_batch_size >= 1, "must be at least 1"),
        ("train.lr", t.lr > 0, "must be positive"),
        ("train.weight_decay", t.weight_decay >= 0, "must be zero or positive"),
        ("train.warmup_epochs", 0 <= t.warmup_epochs <= t.epochs, f"must lie in [0, train.epochs={t.epochs}]"),
        ("train.min_lr", 0 <= t.min_lr <= t.lr, "must lie in [0, train.lr]"),
        ("train.step_epochs", t.step_epochs >= 1, "must be at least 1"),
        ("train.step_gamma", 0 < t.step_gamma <= 1, "must lie in (0, 1]"),
        ("train.clip_grad_norm", t.clip_grad_norm is None or t.clip_grad_norm > 0, "must be positive (or null for off)"),
        ("train.label_smoothing", 0 <= t.label_smoothing < 1, "must lie in [0, 1)"),
        ("train.seeds", len(set(t.seeds)) == len(t.seeds), "repeats a seed; list each seed once"),
        ("train.patience", t.patience >= 0, "must be 0 (off) or more"),
        ("train.stage_epochs", 0 <= t.stage_epochs, "must be 0 or more"),
        ("train.backbone_lr_scale", t.backbone_lr_scale >= 0, "must be zero or positive"),
        ("train.prefetch", t.prefetch >= 0, "must be 0 (no loader thread) or more"),
        ("train.augment.rotation", 0 <= t.augment.rotation <= 180, "must lie in [0, 180] degrees"),
        ("train.augment.zoom", 0 <= t.augment.zoom < 1, "must lie in [0, 1)"),
        ("train.augment.width_shift", 0 <= t.augment.width_shift < 1, "must lie in [0, 1) (a fraction of the width)"),
        ("train.augment.height_shift", 0 <= t.augment.height_shift < 1, "must lie in [0, 1) (a fraction of the height)"),
        ("train.augment.shear", 0 <= t.augment.shear < 90, "must lie in [0, 90) degrees"),
        ("train.augment.mixup", t.augment.mixup >= 0, "must be 0 (off) or a positive Beta alpha"),
        ("train.augment.cutmix", t.augment.cutmix >= 0, "must be 0 (off) or a positive Beta alpha"),
        ("train.ema.decay", 0 <= t.ema.decay < 1, "must lie in [0, 1) (e.g. 0.999; 0 or off: no EMA)"),
        ("train.accumulate", t.accumulate >= 1, "must be at least 1 (1: no gradient accumulation)"),
        ("data.val_fraction", 0 <= recipe.data.val_fraction < 1, "must lie in [0, 1)"),
        ("data.test_fraction", 0 <= recipe.data.test_fraction < 1, "must lie in [0, 1)"),
        ("data.val_fraction", recipe.data.val_fraction + recipe.data.test_fraction < 1, "+ data.test_fraction must stay below 1"),
    ]
    for key, ok, why in rules:
        if not ok:
            raise TrainlabError(f"{where}: {key} {why}")
    if t.budget is not None:
        from trainlab.training.budget import parse_duration

        parse_duration(t.budget, what=f"{where}: train.budget")
    return recipe


def resolved(recipe: Recipe, **changes: Any) -> Recipe:
    """A copy with dotted keys replaced (``resolved(r, **{'data.image_size': [224, 224]})``)."""
    raw = recipe.to_dict()
    for key, value in changes.items():
        _set_path(raw, key, value, where="resolve")
    return _build(Recipe, raw, "resolved recipe", prefix="")
