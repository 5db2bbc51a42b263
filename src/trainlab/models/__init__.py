"""Models: one registry (``create_model``), the seed CNN, timm backbones, the sine models, weights and summaries."""

from trainlab.models.registry import create_model, list_models, param_groups, register_model

__all__ = ["create_model", "list_models", "param_groups", "register_model"]
