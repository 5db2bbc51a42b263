"""``model_summary.json``: a model's per-layer table and parameter totals, written by ``trainlab train``.

The trainer holds the model, so it writes the summary at the end of training; the report and every other
reader take this file and never rebuild a model to count it. :func:`trainlab.models.summary.summarize`
makes the object (one forward pass with hooks); ``trainlab summary --out`` exports it as
``summary.csv``, ``summary.md`` and ``summary.json`` for people.

``total``/``trainable``: PyTorch's parameter counts (buffers such as BatchNorm statistics excluded);
``total_keras``/``trainable_keras``: what Keras's ``model.summary()`` would print for the same layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pandas as pd
from pydantic import BaseModel, ConfigDict

from trainlab.artifacts.base import Artifact

COLUMNS = ["name", "type", "output_shape", "params", "trainable", "params_keras", "formula", "formula_keras"]


class Layer(BaseModel):
    """One row of the table: a module that owns parameters or has no children."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: str
    output_shape: str
    params: int
    trainable: int
    params_keras: int
    formula: str
    formula_keras: str


class ModelSummary(Artifact):
    KIND: ClassVar[str] = "model_summary"
    SCHEMA_VERSION: ClassVar[int] = 1
    FILENAME: ClassVar[str] = "model_summary.json"
    MADE_BY: ClassVar[str] = "'trainlab train' (at the end of training)"

    model_name: str
    input_shape: tuple[int, ...]  # one sample, no batch axis: (C, H, W), (T, F) or (F,)
    layers: tuple[Layer, ...]
    trainable_keras: int
    notes: tuple[str, ...] = ()

    @property
    def rows(self) -> pd.DataFrame:
        """The layers as a DataFrame with :data:`COLUMNS`."""
        return pd.DataFrame.from_records([layer.model_dump() for layer in self.layers], columns=COLUMNS)

    @property
    def total(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def trainable(self) -> int:
        return sum(layer.trainable for layer in self.layers)

    @property
    def total_keras(self) -> int:
        return sum(layer.params_keras for layer in self.layers)

    @property
    def non_trainable(self) -> int:
        return self.total - self.trainable

    def totals_text(self) -> str:
        lines = [
            f"Total params: {self.total:,} (PyTorch)" + (
                f"; {self.total_keras:,} in Keras's convention" if self.total_keras != self.total else "; the same in Keras's convention"),
            f"Trainable params: {self.trainable:,}" + (
                f" (Keras: {self.trainable_keras:,})" if self.trainable_keras != self.trainable else ""),
            f"Non-trainable params: {self.non_trainable:,}" + (
                f" (Keras: {self.total_keras - self.trainable_keras:,})"
                if self.total_keras - self.trainable_keras != self.non_trainable else ""),
        ]
        return "\n".join(lines)

    def input_text(self) -> str:
        axes = {3: "(C, H, W)", 2: "(T, F)", 1: "(F,)"}.get(len(self.input_shape), "shape")
        dims = ", ".join(str(v) for v in self.input_shape) + ("," if len(self.input_shape) == 1 else "")
        return f"{axes} = ({dims}) per sample; N in output shapes is the batch"

    def to_text(self) -> str:
        """A plain-text table, as printed by ``trainlab summary``."""
        header = ["Layer", "Type", "Output shape", "Params", "Trainable", "Keras", "Formula"]
        body = []
        for r in self.layers:
            formula = r.formula if r.formula_keras == r.formula else f"{r.formula}   [Keras: {r.formula_keras}]"
            body.append([r.name, r.type, r.output_shape, f"{r.params:,}", f"{r.trainable:,}", f"{r.params_keras:,}", formula])
        widths = [max(len(h), *(len(row[i]) for row in body)) if body else len(h) for i, h in enumerate(header)]
        widths[-1] = len(header[-1])  # the last column is not padded
        right = {3, 4, 5}

        def fmt(cells):
            return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "-" * min(160, sum(widths) + 2 * (len(widths) - 1) + 40)
        out = [f'Model "{self.model_name}", input {self.input_text()}', rule, fmt(header), rule]
        out += [fmt(row) for row in body]
        out += [rule, self.totals_text()]
        out += [f"- {n}" for n in self.notes]
        return "\n".join(out)

    def to_markdown(self) -> str:
        lines = [f"# Model summary: {self.model_name}", "", f"Input {self.input_text()}.", "",
                 "| Layer | Type | Output shape | Params | Trainable | Keras | Formula (PyTorch) | Formula (Keras) |",
                 "|---|---|---|--:|--:|--:|---|---|"]
        for r in self.layers:
            keras_formula = "same" if r.formula_keras == r.formula else r.formula_keras
            lines.append(f"| `{r.name}` | {r.type} | {r.output_shape} | {r.params:,} | {r.trainable:,} | "
                         f"{r.params_keras:,} | {r.formula} | {keras_formula} |")
        lines += ["", *(f"{line}  " for line in self.totals_text().splitlines()), ""]
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def export(self, out: str | Path) -> list[Path]:
        """For people: ``summary.csv`` (the rows), ``summary.md`` and ``summary.json`` (totals) in ``out``."""
        from trainlab.utils.io import atomic_write_text, write_json, write_table

        out = Path(out)
        totals = {"model": self.model_name, "input_shape": list(self.input_shape), "total": self.total,
                  "trainable": self.trainable, "non_trainable": self.non_trainable, "total_keras": self.total_keras,
                  "trainable_keras": self.trainable_keras, "notes": list(self.notes)}
        return [write_table(self.rows, out / "summary.csv"), atomic_write_text(out / "summary.md", self.to_markdown()),
                write_json(out / "summary.json", totals)]
