"""trainlab: train, compare, evaluate and audit deep-learning image classifiers."""

__version__ = "0.1.0"
