"""trainlab: train, compare, evaluate and audit deep-learning image classifiers.

``import trainlab as tl`` gives the notebook API (:mod:`trainlab.api`): ``tl.train``, ``tl.resume``,
``tl.evaluate``, ``tl.audit``, ``tl.compare``, ``tl.predict`` and ``tl.Run``. They load on first use, so
``import trainlab`` (and ``trainlab --help``) stays light.
"""

from trainlab._version import __version__

_API = ("train", "resume", "evaluate", "audit", "compare", "predict", "Run")
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        from trainlab import api

        return getattr(api, name)
    raise AttributeError(f"module 'trainlab' has no attribute {name!r}")
