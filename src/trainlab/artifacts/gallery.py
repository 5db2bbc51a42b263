"""The error gallery of one predictions table (``trainlab gallery``; written to ``<run>/gallery/gallery.json``).

It lists every image a gallery figure shows, so the report can render the figures and their captions without
re-reading the predictions table. Figure and overlay paths are relative to the folder of ``gallery.json``.
Per item: ``probability`` is the predicted class's probability, ``p_true`` the true class's, and
``loss = -ln(max(p_true, 1e-12))`` (the cross-entropy of that item).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from trainlab.artifacts.base import Artifact

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class GalleryItem(BaseModel):
    model_config = _FROZEN
    id: str
    path: str
    y_true: str
    y_pred: str
    probability: float
    p_true: float
    loss: float
    found: bool = True  # False when the image file could not be read (drawn as a placeholder)
    saliency: str | None = None  # overlay PNG (Grad-CAM for y_pred), when computed


class ConfusedPair(BaseModel):
    """Two classes confused with each other: ``a_as_b`` items are true ``a`` predicted ``b``; ``b_as_a`` the reverse."""

    model_config = _FROZEN
    a: str
    b: str
    count_a_as_b: int
    count_b_as_a: int
    a_as_b: list[GalleryItem]
    b_as_a: list[GalleryItem]


class GroupErrors(BaseModel):
    """One group's accuracy (with its 95% Wilson interval) and misclassified examples, highest loss first."""

    model_config = _FROZEN
    group: str
    n: int
    accuracy: float
    low: float
    high: float
    errors: int
    items: list[GalleryItem]


class GroupingGallery(BaseModel):
    """For one attribute column: its worst group by accuracy beside its best (groups of at least ``min_size``)."""

    model_config = _FROZEN
    column: str
    min_size: int
    worst: GroupErrors
    best: GroupErrors
    figure: str


class SaliencyOverlays(BaseModel):
    model_config = _FROZEN
    method: str
    layer: str
    checkpoint: str
    target: str = "predicted class"
    figure: str


class Gallery(Artifact):
    KIND: ClassVar[str] = "gallery"
    SCHEMA_VERSION: ClassVar[int] = 1
    FILENAME: ClassVar[str] = "gallery.json"
    MADE_BY: ClassVar[str] = "trainlab gallery"

    source: str
    split: str
    items: int
    errors: int
    top_loss: list[GalleryItem]
    top_loss_figure: str
    confused_pairs: list[ConfusedPair]
    confused_figure: str | None = None
    groupings: list[GroupingGallery] = []
    saliency: SaliencyOverlays | None = None
    notes: list[str] = []
