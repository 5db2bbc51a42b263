"""Sample grids of a dataset: a few thumbnails of every class (and of every value of each attribute).

Written with the dataset summary (``trainlab data inspect`` and every run's ``data/``) as ``samples.json``;
figure paths are relative to its folder. Long lists are cut into pages so every row stays readable.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from trainlab.artifacts.base import Artifact

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class SampleRow(BaseModel):
    model_config = _FROZEN
    value: str  # the class name, or the attribute value
    count: int  # images with this value in the dataset (all splits)
    paths: list[str]  # the images shown, in order
    page: int  # index into the grid's pages


class SampleGrid(BaseModel):
    model_config = _FROZEN
    column: str  # the target (for the class grid) or the attribute column
    rows: list[SampleRow]
    pages: list[str]


class SampleGrids(Artifact):
    KIND: ClassVar[str] = "samples"
    SCHEMA_VERSION: ClassVar[int] = 1
    FILENAME: ClassVar[str] = "samples.json"
    MADE_BY: ClassVar[str] = "trainlab data inspect"

    per_row: int
    seed: int
    classes: SampleGrid
    attributes: list[SampleGrid] = []
