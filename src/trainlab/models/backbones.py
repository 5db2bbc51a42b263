"""``timm:<name>``: any timm backbone with a trainlab head, its own preprocessing, and three training modes.

The coursework froze an EfficientNetB7 and scored 3.9 % on IP102 because its inputs were scaled twice
(``rescale=1/255`` and then the model's own normalisation) and shrunk to 100 px. Here preprocessing is
never set by hand: ``model.data_config`` is what timm resolves from the model's pretrained config
(:func:`timm.data.resolve_model_data_config`): native input size, mean, std, interpolation, crop.

Modes (option ``mode``):

- ``frozen``: backbone parameters do not train, and the backbone stays in eval mode even after
  ``model.train()``, so its BatchNorm running statistics and dropout do not change either; only the
  head trains. (Keras does the same for a frozen BatchNormalization layer.)
- ``finetune``: everything trains (the trainer's :mod:`trainlab.training.param_groups` gives the backbone a
  lower learning rate).
- ``staged``: starts frozen; the trainer calls :meth:`Classifier.unfreeze_backbone` at the stage boundary.

Weights (option ``weights``): a local ``.safetensors`` or ``.pth``/``.pt`` file, read without running
pickle code: a timm/ImageNet state dict (its classifier, if present, is dropped) or a checkpoint an
earlier trainlab run wrote (``backbone.*`` + ``head.*``; the head is kept when its shape fits). A file
written for another architecture that fills less than 95 % of the backbone is an error in ``frozen`` and
``staged`` mode (the frozen backbone would stay mostly random) and a loud warning in ``finetune``.
``pretrained="hub"`` uses timm's own download code (needs a network; never used by the tests).
"""

from __future__ import annotations

import difflib
import re
import sys
from typing import Any

import torch
from torch import nn

from trainlab.data.dataconfig import parse_hw
from trainlab.errors import TrainlabError
from trainlab.models.keyed_layers import KeyedDropout
from trainlab.utils.log import get_logger

MODES = ("frozen", "finetune", "staged")
MIN_SIZE = 8  # the smallest input side a timm backbone is built for here
#: frozen/staged transfer needs at least this share of the backbone's tensors from the weights file
MIN_LOADED_FRACTION = 0.95
log = get_logger("trainlab.models")


class ClassifierHead(nn.Module):
    """Global average pooling (when the backbone returns a feature map or tokens), dropout, linear."""

    def __init__(self, in_features: int, num_classes: int, drop_rate: float = 0.0):
        super().__init__()
        self.drop = KeyedDropout(drop_rate)
        self.fc = nn.Linear(in_features, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:  # (N, C, H, W) feature map
            x = x.mean(dim=(2, 3))
        elif x.dim() == 3:  # (N, tokens, C)
            x = x.mean(dim=1)
        return self.fc(self.drop(x))


class Classifier(nn.Module):
    """``backbone`` (a timm model built with ``num_classes=0``, so it returns pooled features) + ``head``."""

    def __init__(self, backbone: nn.Module, num_classes: int, *, drop_rate: float = 0.0, mode: str = "finetune"):
        super().__init__()
        self.backbone = backbone
        features = getattr(backbone, "head_hidden_size", None) or backbone.num_features
        self.head = ClassifierHead(int(features), num_classes, drop_rate)
        self.mode = mode
        self.backbone_frozen = False
        if mode in ("frozen", "staged"):
            self.freeze_backbone()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def freeze_backbone(self) -> None:
        """Backbone parameters stop training and the backbone (BatchNorm, dropout) stays in eval mode."""
        self.backbone_frozen = True
        self.backbone.requires_grad_(False)
        self.train(self.training)

    def unfreeze_backbone(self) -> None:
        """Everything trains again; the backbone follows ``model.train()``/``eval()`` from now on.

        Under DistributedDataParallel, wrap the model again afterwards: DDP only synchronises the
        parameters that required grad when it was built.
        """
        self.backbone_frozen = False
        self.backbone.requires_grad_(True)
        self.train(self.training)

    def train(self, mode: bool = True) -> "Classifier":
        super().train(mode)
        if self.backbone_frozen:
            self.backbone.eval()  # frozen BatchNorm keeps its running statistics
        return self


def create_timm_model(
    name: str,
    num_classes: int,
    *,
    weights: str | None = None,
    pretrained: str | bool | None = None,
    mode: str = "finetune",
    drop_rate: float = 0.0,
    drop_path_rate: float | None = None,
    input_size: Any = None,
) -> Classifier:
    """A :class:`Classifier` around timm model ``name``; see the module docstring for the options.

    ``input_size`` (H, W) overrides the native size (useful for small CPU demos) with a warning;
    ``drop_path_rate`` is passed to timm (stochastic depth, where the architecture has it).
    """
    import timm
    from timm.data import resolve_model_data_config

    check_timm_name(name)
    if mode not in MODES:
        raise TrainlabError(f"timm:{name}: option 'mode' must be one of {list(MODES)}; got {mode!r}")
    if not isinstance(drop_rate, (int, float)) or not 0.0 <= drop_rate < 1.0:
        raise TrainlabError(f"timm:{name}: option 'drop_rate' must be a number in [0, 1); got {drop_rate!r}")
    hub = _check_pretrained(name, pretrained)
    if hub and weights:
        raise TrainlabError(f"timm:{name}: give either 'weights' (a local file) or pretrained='hub', not both")

    from trainlab.models.weights import load_weights

    state, meta = load_weights(weights) if weights else ({}, {})
    stored = _stored_data_config(meta, name)
    kwargs: dict[str, Any] = {"num_classes": 0}
    if drop_path_rate is not None:
        kwargs["drop_path_rate"] = float(drop_path_rate)
    size = parse_hw(input_size, what=f"timm:{name}: option 'input_size'", minimum=MIN_SIZE) if input_size is not None else None
    build_size = size or (tuple(stored["input_size"][1:]) if stored else None)
    native = timm.models.get_pretrained_cfg(name, allow_unregistered=True)
    if build_size is not None and native is not None and getattr(native, "fixed_input_size", False):
        kwargs["img_size"] = build_size  # ViT-like models build their position embedding for one size
    try:
        backbone = timm.create_model(name, pretrained=hub, **kwargs)
    except TypeError as exc:
        raise TrainlabError(f"timm:{name}: timm could not build it with {kwargs}: {exc}") from None
    except (RuntimeError, OSError) as exc:
        if hub:
            raise TrainlabError(
                f"timm:{name}: could not fetch pretrained weights from the hub ({exc}); without a network, "
                f"download them once and pass weights=<file.safetensors>"
            ) from None
        raise

    model = Classifier(backbone, num_classes, drop_rate=float(drop_rate), mode=mode)
    config = resolve_model_data_config(backbone)  # the model's own preprocessing, never set by hand
    native_size = tuple(config["input_size"])
    if weights:
        load_backbone_weights(model, state, meta, path=weights, name=name)
    if stored is not None:
        log.info("timm:%s: preprocessing from %s (written by trainlab for this architecture): %s", name, weights, stored)
        config = dict(stored)
    if size is not None:
        if native_size[1:] != size and (weights or hub):  # from scratch, any size is the model's own
            log.warning(
                "timm:%s: input_size %dx%d overrides the model's native %dx%d; pretrained features are "
                "weaker away from it (fine for small demos, not for real training)",
                name, size[0], size[1], native_size[1], native_size[2],
            )
        config["input_size"] = (native_size[0], *size)
    model.data_config = config
    model.pretrained_source = str(weights) if weights else ("hub" if hub else None)
    return model


def _stored_data_config(meta: dict, name: str) -> dict | None:
    """The data_config in a trainlab-written file, when it was written for the same timm architecture."""
    from timm.models import get_arch_name

    from trainlab.models.weights import is_trainlab_file

    model = str(meta.get("model") or "")
    if not (is_trainlab_file(meta) and model.startswith("timm:") and isinstance(meta.get("data_config"), dict)):
        return None
    return meta["data_config"] if get_arch_name(model[len("timm:"):]) == get_arch_name(name) else None


def load_backbone_weights(model: Classifier, state: dict, meta: dict, *, path, name: str) -> dict:
    """Load a state dict read from ``path`` into ``model`` (see the module docstring for the layouts).

    Reports what did not load (log warnings, and ``model.load_report``); an error naming the file when
    nothing fits. Returns the report.
    """
    from trainlab.models.weights import is_trainlab_file

    trainlab_file = is_trainlab_file(meta) or (
        any(k.startswith("backbone.") for k in state) and all(k.startswith(("backbone.", "head.")) for k in state)
    )
    dropped: list[str] = []
    if trainlab_file:
        backbone_state = {k[len("backbone."):]: v for k, v in state.items() if k.startswith("backbone.")}
        if backbone_state:  # e.g. a ViT checkpoint from a run at another input size: resample pos_embed
            backbone_state = _timm_filter(model.backbone, backbone_state, path)
        head_state = {k[len("head."):]: v for k, v in state.items() if k.startswith("head.")}
        own_head = model.head.state_dict()
        if head_state and all(k in own_head and own_head[k].shape == v.shape for k, v in head_state.items()):
            model.head.load_state_dict(head_state, strict=False)
            log.info("%s: loaded its head too (%s classes)", path, model.head.fc.out_features)
        elif head_state:
            dropped = [f"head.{k}" for k in head_state]
            log.info("%s: head not loaded (%s outputs in the file, %d here): a new head is trained",
                     path, tuple(head_state.get("fc.weight", torch.empty(0)).shape[:1]), model.head.fc.out_features)
    else:
        backbone_state = _timm_filter(model.backbone, state, path)
        classifier = model.backbone.pretrained_cfg.get("classifier") or ()
        for cname in (classifier,) if isinstance(classifier, str) else classifier:
            for suffix in (".weight", ".bias"):
                if backbone_state.pop(cname + suffix, None) is not None:
                    dropped.append(cname + suffix)
        if dropped:
            log.info("%s: dropped the file's own classifier (%s); trainlab's head is trained", path, ", ".join(dropped))

    own = model.backbone.state_dict()
    mismatched = [f"{k} {tuple(v.shape)} in file, {tuple(own[k].shape)} here"
                  for k, v in backbone_state.items() if k in own and own[k].shape != v.shape]
    loadable = {k: v for k, v in backbone_state.items() if k in own and own[k].shape == v.shape}
    unexpected = sorted(k for k in backbone_state if k not in own)
    missing = sorted(k for k in own if k not in loadable)
    written_for = f" (written for model '{meta['model']}')" if meta.get("model") else ""
    if not loadable:
        raise TrainlabError(
            f"weights file {path}{written_for}: none of its {len(state)} tensors fit timm:{name}'s backbone "
            f"(first keys in the file: {list(state)[:4]}; expected e.g. {list(own)[:4]}). Is it for another architecture?"
        )
    _check_fit(model, name, path, written_for, loaded=len(loadable), total=len(own), missing=missing,
               mismatched=mismatched, unexpected=unexpected)
    model.backbone.load_state_dict(loadable, strict=False)
    model.load_report = {
        "file": str(path), "loaded": len(loadable), "missing": missing, "unexpected": unexpected,
        "mismatched": mismatched, "dropped": dropped,
    }
    log.info("%s: loaded %d of %d backbone tensors into timm:%s", path, len(loadable), len(own), name)
    for label, keys in (("missing from the file (left as initialised)", missing),
                        ("in the file but not in the model (ignored)", unexpected),
                        ("with a different shape (left as initialised)", mismatched)):
        if keys:
            log.warning("%s: %d backbone tensors %s: %s%s", path, len(keys), label, ", ".join(keys[:8]),
                        " ..." if len(keys) > 8 else "")
    return model.load_report


def _check_fit(model: Classifier, name: str, path, written_for: str, *, loaded: int, total: int, missing: list[str],
               mismatched: list[str], unexpected: list[str]) -> None:
    """Weights for another architecture: an error when the backbone stays frozen, a loud warning otherwise.

    A ``frozen`` (or ``staged``, frozen at first) backbone with less than :data:`MIN_LOADED_FRACTION` of its
    tensors loaded is mostly random and never trains: the run would fit a head on noise and exit 0.
    """
    fraction = loaded / max(total, 1)
    if fraction >= MIN_LOADED_FRACTION:
        return
    wrong = "; ".join(f"{len(keys)} {label}, e.g. {', '.join(keys[:3])}" for label, keys in (
        ("with another shape", mismatched), ("missing from the file", [k for k in missing if not any(m.startswith(k + " ") for m in mismatched)]),
        ("in the file but not in the model", unexpected)) if keys)
    what = (f"weights file {path}{written_for} fits only {loaded} of {total} backbone tensors of timm:{name} "
            f"({fraction:.0%}, below {MIN_LOADED_FRACTION:.0%}): {wrong}")
    if model.mode in ("frozen", "staged"):
        raise TrainlabError(
            f"{what}. mode={model.mode} keeps the backbone frozen, so the run would train a head on a mostly random "
            f"backbone. Give weights written for timm:{name} (a trainlab run of the same model, or that model's timm "
            f"weights), or mode=finetune to train every layer"
        )
    log.warning("%s. mode=finetune trains on, but the backbone starts mostly from random initialisation: this is "
                "not the transfer you asked for; check model.options.weights", what)


def _timm_filter(backbone: nn.Module, state: dict, path) -> dict:
    """Apply the architecture's own checkpoint converter, as timm's pretrained loading does.

    timm registers it per model module as ``checkpoint_filter_fn(state_dict, model)`` (it remaps
    original-repository keys and resamples ViT position embeddings to the model's input size).
    """
    fn = getattr(sys.modules.get(type(backbone).__module__), "checkpoint_filter_fn", None)
    if fn is None:
        return dict(state)
    try:
        return dict(fn(state, backbone))
    except Exception as exc:  # a converter that cannot read the file: say which file and why
        raise TrainlabError(f"weights file {path}: timm's checkpoint converter for {type(backbone).__name__} "
                            f"could not read it ({type(exc).__name__}: {exc})") from None


def check_timm_name(name: str) -> None:
    import timm

    if not name:
        raise TrainlabError("model 'timm:' needs a timm model name, e.g. timm:efficientnet_b0 (see timm.list_models())")
    if timm.is_model(name):
        return
    arch = name.split(".", 1)[0]
    parts = [p for p in re.split(r"[_\d]+", arch) if len(p) >= 3]
    pattern_hits = timm.list_models(f"*{parts[0]}*") if parts else []
    close = difflib.get_close_matches(arch, timm.list_models(), n=6, cutoff=0.6)
    suggestions = list(dict.fromkeys(close + pattern_hits[:6]))[:8]
    hint = f"; did you mean: {', '.join(suggestions)}" if suggestions else ""
    raise TrainlabError(f"unknown timm model '{name}'{hint} (all names: python -c \"import timm; print(timm.list_models('*{arch[:4]}*'))\")")


def _check_pretrained(name: str, pretrained) -> bool:
    if pretrained in (None, False, "", "none"):
        return False
    if pretrained in (True, "hub"):
        return True
    raise TrainlabError(f"timm:{name}: option 'pretrained' must be 'hub' (timm's download) or unset; got {pretrained!r}. "
                        "For a local file use weights=<path>")
