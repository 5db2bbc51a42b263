"""Shared test set-up: no progress bars, no network, a private cache folder per session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TRAINLAB_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # no test may reach a model hub


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("TRAINLAB_CACHE", str(tmp_path_factory.getbasetemp() / "trainlab-cache"))
