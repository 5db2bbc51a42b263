"""``trainlab card <run>``: a Hugging Face-style model card (README.md with YAML front matter), from artifacts.

Every statement comes from a file the run's stages wrote: the run record (what was trained on what, how),
``metrics.json`` (test figures), ``audit*/audit.json`` (groups, gaps with intervals, flags). The card computes
nothing; where an artifact is missing it says which command makes it, so a card is never silent about what is
unknown (a model with no audit gets "not audited", not an empty section).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from trainlab.artifacts.audit import AuditResult
from trainlab.artifacts.metrics import Metrics
from trainlab.artifacts.run import RunRecord
from trainlab.errors import TrainlabError

HEADLINE = (("accuracy", "Accuracy"), ("balanced_accuracy", "Balanced accuracy"), ("f1_macro", "Macro F1"),
            ("roc_auc", "ROC AUC"), ("log_loss", "Log loss"), ("ece", "Expected calibration error"))


@dataclass(frozen=True)
class Card:
    text: str
    audited: bool
    run: Path

    def write(self, path: str | Path | None = None) -> Path:
        from trainlab.utils.io import atomic_write_text

        target = Path(path) if path is not None else self.run / "README.md"
        if target.is_dir():
            target = target / "README.md"
        atomic_write_text(target, self.text)
        return target

    def summary(self) -> str:
        return "model card" + ("" if self.audited else " (no fairness audit found: its bias section says so)")


def audits_of(run: Path) -> list[tuple[Path, AuditResult]]:
    """Every audit folder of a run (``audit``, ``audit-*``), read through the artifact."""
    found = []
    for folder in sorted(p for p in run.iterdir() if p.is_dir() and (p.name == "audit" or p.name.startswith("audit-"))):
        if AuditResult.exists_in(folder):
            found.append((folder, AuditResult.read(folder)))
    return found


def build_card(run: str | Path) -> Card:
    run = Path(run)
    if not RunRecord.exists_in(run):
        raise TrainlabError(f"{run}: no run.json, so not a trainlab run folder; a card is written for a trained run")
    record = RunRecord.read(run)
    metrics = Metrics.read(run) if Metrics.exists_in(run) else None
    audits = audits_of(run)
    front = _front_matter(run, record, metrics)
    body = [
        f"# {record.name or run.name}",
        "",
        _intro(record),
        "",
        "## Model details",
        "",
        *_details(record),
        "",
        "## Training",
        "",
        *_training(record),
        "",
        "## Evaluation",
        "",
        *_evaluation(run, metrics),
        "",
        "## Bias, risks and limitations",
        "",
        *_bias(run, audits),
        "",
        "## How to use",
        "",
        "```bash",
        f"trainlab predict {run} photos/            # predictions table with every class's probability",
        f"trainlab export {run} --format onnx       # uint8 H x W x 3 pixels in, probabilities out",
        "```",
        "",
        f"_Written by `trainlab card` from the run's own files ({RunRecord.FILENAME}, {Metrics.FILENAME}, "
        f"audit/{AuditResult.FILENAME}); regenerate it after a new audit._",
        "",
    ]
    return Card("---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---\n\n" + "\n".join(body),
                audited=bool(audits), run=run)


def _dataset_name(record: RunRecord) -> str:
    root = (record.dataset or {}).get("root")
    return Path(str(root)).name if root else "unknown dataset"


def _front_matter(run: Path, record: RunRecord, metrics: Metrics | None) -> dict:
    front: dict = {
        "library_name": "trainlab",
        "pipeline_tag": "image-classification",
        "tags": ["image-classification", "trainlab", str(record.model or "model")],
        "datasets": [_dataset_name(record)],
    }
    if metrics is not None:
        values = [(key, name, metrics.value(key)) for key, name in HEADLINE if metrics.value(key) is not None]
        front["metrics"] = [key for key, _, _ in values]
        front["model-index"] = [{
            "name": record.name or run.name,
            "results": [{
                "task": {"type": "image-classification", "name": "Image classification"},
                "dataset": {"name": _dataset_name(record), "type": str((record.dataset or {}).get("format", "images")),
                            "split": metrics.split},
                "metrics": [{"type": key, "value": round(float(v), 6), "name": f"{name} ({metrics.split}, n={metrics.n})"}
                            for key, name, v in values],
            }],
        }]
    return front


def _intro(record: RunRecord) -> str:
    classes = record.classes or []
    shown = ", ".join(classes[:12]) + (f", … ({len(classes)} in all)" if len(classes) > 12 else "")
    target = f"'{record.target}'" if record.target else "the label"
    return (f"A `{record.model}` image classifier trained with trainlab to predict {target} "
            f"({len(classes)} classes: {shown}) on {_dataset_name(record)}.")


def _details(record: RunRecord) -> list[str]:
    dc = record.data_config or {}
    size = "x".join(map(str, record.image_size or [])) or "?"
    lines = [
        f"- Architecture: `{record.model}`" + (f" with options `{record.model_options}`" if record.model_options else ""),
        f"- Parameters: {record.parameters:,}" if record.parameters is not None else "- Parameters: not recorded",
        f"- Input: RGB images resized to {size} ({record.resize}), pixels scaled by mean {dc.get('mean')} and std "
        f"{dc.get('std')} (the exported model does this itself)",
        f"- Software: trainlab {record.trainlab_version}, PyTorch {record.torch_version}, Python {record.python}",
    ]
    return lines


def _training(record: RunRecord) -> list[str]:
    status = record.status.value
    sizes = record.split_sizes or {}
    t = record.timings or {}
    lines = [
        f"- Recipe: `{record.recipe}`" + (f" with overrides `{' '.join(record.overrides)}`" if record.overrides else ""),
        f"- Data: " + ", ".join(f"{n:,} {split}" for split, n in sizes.items()) + " images" if sizes else "- Data: not recorded",
        f"- Epochs: {record.epochs_done} of {record.epochs} ({status}); best epoch {record.best_epoch} by {record.monitor} = "
        + (f"{record.best_metric:.4f}" if record.best_metric is not None else "n/a"),
        f"- Device: {record.device_name or record.device} × {record.world_size or 1} process(es), mixed precision {record.amp}",
        f"- Time: {t.get('train_s', 0):.0f} s training, {t.get('total_s', 0):.0f} s in all",
    ]
    if not record.status.complete:
        lines.append(f"- **This run is not complete (status {status})**: its figures may not be final; "
                     f"`trainlab train --resume <run>` finishes it.")
    return lines


def _evaluation(run: Path, metrics: Metrics | None) -> list[str]:
    if metrics is None:
        return [f"Not evaluated yet: `trainlab evaluate {run}` writes metrics.json, then run `trainlab card` again."]
    lines = [f"On the {metrics.split} split ({metrics.n:,} images, held out from training):", "",
             "| metric | value |", "|---|---|"]
    for key, name in HEADLINE:
        value = metrics.value(key)
        lines.append(f"| {name} | {value:.4f} |" if value is not None else
                     f"| {name} | undefined ({metrics.undefined.get(key, 'n/a')}) |")
    return lines


def _ci(ci) -> str:
    if not ci or ci[0] is None:
        return ""
    high = "∞" if ci[1] is None else f"{ci[1]:.3f}"
    return f" (95% CI {ci[0]:.3f} to {high})"


def _bias(run: Path, audits: list[tuple[Path, AuditResult]]) -> list[str]:
    if not audits:
        return [
            "**Not audited.** Nothing is known yet about how this model's errors fall on groups of people or of "
            f"images. Run `trainlab audit {run} --by <attribute>` (any attribute column of the dataset, e.g. race "
            "or age for faces) and regenerate this card.",
            "",
            "General limitations: trained from the images listed above only; its accuracy on images from another "
            "source, camera or population is unknown until measured.",
        ]
    lines = []
    for folder, result in audits:
        lines.append(f"Audit of the {result.split} predictions ({result.n:,} rows, `{folder.name}/audit.json`; "
                     f"bootstrap {result.bootstrap.resamples} resamples; groups under {result.min_group_size} rows are "
                     "shown but never compared):")
        lines.append("")
        for grouping in result.audits:
            lines.append(f"### By {grouping.name}")
            lines.append("")
            lines.append("| group | n | accuracy |")
            lines.append("|---|---|---|")
            for g in grouping.groups:
                acc = g.accuracy.value
                mark = " (too small to compare)" if g.too_small else (" (reference)" if g.reference else "")
                lines.append(f"| {g.group}{mark} | {g.count:,} | "
                             + (f"{acc:.3f}{_ci(g.accuracy.ci)}" if acc is not None else "n/a") + " |")
            lines.append("")
            gaps = [(name, d) for name, d in grouping.disparities.items() if d.value is not None]
            for name, d in gaps[:8]:
                label = d.label or name.replace("_", " ")
                lines.append(f"- {label}: {d.value:.3f}{_ci(d.ci)}"
                             + (f" between {d.lowest} and {d.highest}" if d.lowest and d.highest else ""))
            if grouping.flags:
                lines.append("")
                lines.append(f"**Flagged ({len(grouping.flags)})**:")
                lines.extend(f"- {flag.message}" for flag in grouping.flags)
            else:
                lines.append("")
                lines.append("No disparity flagged. This is not proof of no disparity: small groups give wide intervals.")
            for note in grouping.notes:
                lines.append(f"- Note: {note}")
            lines.append("")
    return lines
