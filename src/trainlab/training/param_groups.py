"""Optimizer parameter groups: training policy, decided here and not by the models.

- every model: weights (ndim ≥ 2) decayed, biases and normalisation scales (ndim ≤ 1) not, the usual
  practice (timm's ``param_groups_weight_decay``);
- a ``timm:<name>`` classifier (:class:`~trainlab.models.backbones.Classifier`): the head at ``lr``, the
  backbone at ``lr × backbone_lr_scale`` (``finetune``, ``staged``) and left out when ``frozen``; the
  backbone's ``no_weight_decay()`` names are not decayed either.

``staged`` includes the backbone from the start: its parameters have no gradient until
``unfreeze_backbone()``, and optimizers skip parameters without one, so one optimizer serves both stages.
"""

from __future__ import annotations

from torch import nn

from trainlab.models.backbones import Classifier
from trainlab.models.weights import unwrap_model


def param_groups(model: nn.Module, *, lr: float, weight_decay: float = 0.0, backbone_lr_scale: float = 0.1) -> list[dict]:
    """The optimizer groups for ``model`` (see the module docstring); each group has a ``name``."""
    model = unwrap_model(model)
    if not isinstance(model, Classifier):
        return split_weight_decay(model.named_parameters(), lr=lr, weight_decay=weight_decay)
    groups = split_weight_decay(model.head.named_parameters(), lr=lr, weight_decay=weight_decay, name="head_")
    if model.mode != "frozen":
        backbone = model.backbone
        skip = set(backbone.no_weight_decay()) if hasattr(backbone, "no_weight_decay") else set()
        groups += split_weight_decay(backbone.named_parameters(), lr=lr * backbone_lr_scale, weight_decay=weight_decay,
                                     no_decay=skip, name="backbone_")
    return groups


def split_weight_decay(named_params, *, lr: float, weight_decay: float, no_decay: set[str] = frozenset(),
                       name: str = "") -> list[dict]:
    """Two groups of parameters: decayed (ndim ≥ 2) and not decayed (ndim ≤ 1 or in ``no_decay``)."""
    decay, skip = [], []
    for pname, p in named_params:
        (skip if p.ndim <= 1 or pname in no_decay else decay).append(p)
    groups = [
        {"params": decay, "lr": lr, "weight_decay": weight_decay, "name": f"{name}decay"},
        {"params": skip, "lr": lr, "weight_decay": 0.0, "name": f"{name}no_decay"},
    ]
    return [g for g in groups if g["params"]]
