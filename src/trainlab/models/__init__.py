"""Models: a registry (leaf), builders (seed CNN, timm backbones, sine models), one factory, weights and summaries.

Import order, one way (no cycles): ``registry`` and ``weights`` import no other model module;
``cnn``/``sequence`` register themselves in the registry; ``backbones`` reads weights; ``factory``
imports them all and builds models (``create_model``, ``build_from_spec``); ``summary`` uses the factory.
``trainlab.models.create_model`` is the factory's, looked up on first use so importing the package stays cheap.
"""

_FACTORY_NAMES = ("create_model", "build_from_spec", "list_models")


def __getattr__(name: str):
    if name in _FACTORY_NAMES:
        from trainlab.models import factory

        return getattr(factory, name)
    raise AttributeError(f"module 'trainlab.models' has no attribute '{name}'")


__all__ = list(_FACTORY_NAMES)
