"""``trainlab compare``: several runs side by side on the same test items.

* one table of test metrics (``metrics.csv``, ``compare.md``, printed);
* one figure overlaying validation accuracy and validation loss per epoch from each run's
  ``history.csv`` (``plots/val_curves.png``, the coursework's side-by-side plot);
* McNemar's exact test for every pair of runs on items paired by ``id`` (``mcnemar.csv``), with
  Holm's correction across the pairs, so "A beats B" comes with a p-value and the counts of items
  each gets right that the other misses;
* ``compare.json`` holding all of it.

Reads only predictions tables and ``history.csv``, never a model or an image. A "run" may also be a
predictions file (made by another tool); it then has no training curves.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from trainlab import __version__
from trainlab.errors import TrainlabError
from trainlab.evaluate.mcnemar import holm, mcnemar
from trainlab.artifacts.compare import ComparedRun, Comparison, PairTest
from trainlab.artifacts.metrics import METRIC_KEYS
from trainlab.artifacts.predictions import Predictions
from trainlab.evaluate.metrics import compute_metrics
from trainlab.evaluate.tables import markdown_table
from trainlab.utils.io import atomic_write_text, write_table
from trainlab.utils.log import get_logger

log = get_logger(__name__)

ALPHA = 0.05
HISTORY_COLUMNS = ("epoch", "val_loss", "val_acc")  # the ones compare reads from history.csv
CORRECTION = "Holm-Bonferroni across all pairs (family-wise error rate controlled at alpha)"


def read_history(run: Path) -> pd.DataFrame | None:
    """``<run>/history.csv`` checked for the columns compare plots; ``None`` if the run has none."""
    path = Path(run) / "history.csv"
    if not Path(run).is_dir() or not path.exists():
        return None
    try:
        history = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise TrainlabError(f"{path}: cannot be read as a CSV table ({exc})") from exc
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise TrainlabError(
            f"{path}: missing column(s) {missing}; history.csv needs epoch, train_loss, train_acc, "
            f"val_loss, val_acc, lr, time_s, images_per_s (found {list(history.columns)})"
        )
    for column in HISTORY_COLUMNS:
        values = pd.to_numeric(history[column], errors="coerce")
        bad = values.isna() & history[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise TrainlabError(f"{path}: line {row + 2}, column '{column}': '{history[column].iloc[row]}' is not a number")
        history[column] = values
    return history


def _names(runs: list[Path], names: list[str] | None) -> list[str]:
    if names:
        if len(names) != len(runs):
            raise TrainlabError(f"--names gives {len(names)} name(s) for {len(runs)} run(s); give one name per run, in order")
        if len(set(names)) != len(names):
            raise TrainlabError(f"--names has duplicates ({names}); give each run a different name")
        return list(names)
    for depth in (1, 2, 3):
        guess = ["/".join(Path(r).resolve().parts[-depth:]) if Path(r).is_dir() else Path(r).stem for r in runs]
        if len(set(guess)) == len(guess):
            return guess
    raise TrainlabError("two runs have the same folder name; tell them apart with --names A B ...")


def _correct_by_id(pred: Predictions) -> pd.DataFrame:
    frame = pred.frame
    ids = frame["id"].astype(str)
    dup = ids.duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise TrainlabError(
            f"{pred.source}: line {row + 2}, column 'id': id '{ids.iloc[row]}' appears more than once; "
            "items are paired across runs by id, so ids must be unique"
        )
    return pd.DataFrame(
        {"y_true": frame["y_true"].astype(str).to_numpy(), "correct": (pred.y_true == pred.y_pred)},
        index=pd.Index(ids.to_numpy(), name="id"),
    )


def _paired(items: dict[str, pd.DataFrame], sources: dict[str, str]) -> pd.DataFrame:
    """One boolean column per run (correct or not), rows = the shared item ids; errors if the items differ."""
    names = list(items)
    first = names[0]
    ref = items[first]
    for name in names[1:]:
        other = items[name]
        only_ref = ref.index.difference(other.index)
        only_other = other.index.difference(ref.index)
        if len(only_ref) or len(only_other):
            def show(ids):
                return ", ".join(map(str, ids[:5])) + (" ..." if len(ids) > 5 else "")

            raise TrainlabError(
                f"runs '{first}' and '{name}' were not scored on the same items (paired by the 'id' column): "
                f"{len(only_ref)} id(s) only in {sources[first]}" + (f" ({show(only_ref)})" if len(only_ref) else "")
                + f", {len(only_other)} only in {sources[name]}" + (f" ({show(only_other)})" if len(only_other) else "")
                + ". Compare runs evaluated on the same test split."
            )
        labels = other["y_true"].reindex(ref.index)
        differ = labels != ref["y_true"]
        if differ.any():
            item = ref.index[np.flatnonzero(differ.to_numpy())[0]]
            raise TrainlabError(
                f"item id '{item}' has y_true '{ref['y_true'][item]}' in {sources[first]} but '{labels[item]}' in "
                f"{sources[name]}; the runs' test sets hold different labels for the same item"
            )
    return pd.DataFrame({name: items[name]["correct"].reindex(ref.index).to_numpy() for name in names}, index=ref.index)


def _verdict(a: str, b: str, test: dict, p: float) -> str:
    if test["a_only"] == test["b_only"] or p >= ALPHA:
        return f"no significant difference at alpha = {ALPHA}"
    winner, loser = (a, b) if test["a_only"] > test["b_only"] else (b, a)
    return f"{winner} beats {loser}"


@dataclass(frozen=True)
class CompareResult:
    """What ``compare`` found: ``comparison`` (the :class:`Comparison` artifact) and the histories it plots.
    ``write(folder)`` stores tables, figure, markdown and ``compare.json``; ``summary()`` is the markdown."""

    comparison: Comparison
    histories: dict  # run name -> history.csv frame, for the validation-curves figure

    def write(self, folder: str | Path) -> Path:
        out, c = Path(folder), self.comparison
        if "val_curves" in c.files:
            from trainlab.evaluate.plots import save, validation_curves_figure

            save(validation_curves_figure(self.histories), out / c.files["val_curves"])
        write_table(metrics_frame(c), out / c.files["metrics"])
        write_table(mcnemar_frame(c), out / c.files["mcnemar"])
        atomic_write_text(out / c.files["markdown"], self.summary() + "\n")
        return c.write(out / c.files["json"])

    def summary(self) -> str:
        return format_markdown(self.comparison)


def compare(runs, *, names=None, split: str = "test") -> CompareResult:
    """Compare two or more runs (folders, or predictions files) on ``split``; ``.write(folder)`` stores it.

    The :class:`Comparison` holds ``split``, ``n_items``, ``runs`` (name, path, source, history, epochs,
    best_val_acc, best_epoch, metrics, undefined), ``mcnemar`` (one test per pair: a, b, accuracy_a,
    accuracy_b, n, both_right, a_only, b_only, both_wrong, discordant, p_value, p_holm, verdict), ``alpha``,
    ``correction``, ``files`` (relative to the output folder), ``trainlab_version``.
    """
    runs = [Path(r) for r in runs]
    if len(runs) < 2:
        raise TrainlabError(f"compare needs at least two runs; got {len(runs)}")
    names = _names(runs, names)

    entries, items, sources, histories = [], {}, {}, {}
    for name, run in zip(names, runs):
        pred = Predictions.read(run, split)
        pred.require_labels("compare")
        result = compute_metrics(pred.y_true, pred.y_pred, pred.proba, classes=list(pred.classes))
        items[name] = _correct_by_id(pred)
        sources[name] = str(pred.source)
        history = read_history(run)
        entry = {"name": name, "path": str(run), "source": str(pred.source)}
        if history is None:
            log.warning("%s: no history.csv; '%s' has no curves in the plot", run, name)
        elif history["val_acc"].notna().any():
            histories[name] = history
            best = int(history["val_acc"].idxmax())
            entry.update(history=str(run / "history.csv"), epochs=int(len(history)),
                         best_val_acc=float(history["val_acc"][best]), best_epoch=int(history["epoch"][best]))
        else:
            log.warning("%s: history.csv has no validation values; '%s' has no curves in the plot", run, name)
        entries.append(ComparedRun(metrics={key: result[key] for key in (*METRIC_KEYS, "roc_auc_average")},
                                   undefined=result["undefined"], **entry))

    paired = _paired(items, sources)
    pairs = []
    for a, b in combinations(names, 2):
        test = mcnemar(paired[a].to_numpy(), paired[b].to_numpy())
        pairs.append({"a": a, "b": b, **{k: v for k, v in test.items() if k not in ("n", "discordant")}})
    for pair, p_adj in zip(pairs, holm([p["p_value"] for p in pairs])):
        pair["p_holm"] = p_adj
        pair["verdict"] = _verdict(pair["a"], pair["b"], pair, p_adj)

    files = {"json": "compare.json", "metrics": "metrics.csv", "mcnemar": "mcnemar.csv", "markdown": "compare.md"}
    if histories:
        files["val_curves"] = "plots/val_curves.png"
    comparison = Comparison(
        split=split, n_items=int(len(paired)), runs=tuple(entries), mcnemar=tuple(PairTest(**p) for p in pairs),
        alpha=ALPHA, correction=CORRECTION if len(pairs) > 1 else "none needed (a single comparison)",
        files=files, trainlab_version=__version__,
    )
    return CompareResult(comparison, histories)


def metrics_frame(comparison: Comparison) -> pd.DataFrame:
    rows = []
    for e in comparison.runs:
        rows.append({"run": e.name, **e.metrics, "best_val_acc": e.best_val_acc, "best_epoch": e.best_epoch,
                     "epochs": e.epochs})
    frame = pd.DataFrame(rows)
    for column in ("best_epoch", "epochs"):
        frame[column] = frame[column].astype("Int64")
    return frame.drop(columns=["roc_auc_average"])


def mcnemar_frame(comparison: Comparison) -> pd.DataFrame:
    return pd.DataFrame([p.row() for p in comparison.mcnemar])


def format_markdown(comparison: Comparison) -> str:
    """Both tables and the notes that make them readable."""
    columns = ["a", "b", "accuracy_a", "accuracy_b", "a_only", "b_only", "both_right", "both_wrong", "p_value", "p_holm", "verdict"]
    averages = {e.metrics["roc_auc_average"] for e in comparison.runs}
    lines = [
        f"## Test metrics ({comparison.split} split, {comparison.n_items:,} items)",
        "",
        markdown_table(metrics_frame(comparison)),
        "",
        f"roc_auc: {', '.join(sorted(averages))}; ece: 15 equal-width bins; best_val_acc and best_epoch from history.csv.",
        "",
        "## McNemar's exact test (paired by item id)",
        "",
        markdown_table(mcnemar_frame(comparison)[columns]),
        "",
        "a_only: items a gets right and b gets wrong; b_only: the reverse. p_value: two-sided exact binomial test on "
        f"a_only vs b_only; p_holm: {comparison.correction}. Verdicts use p_holm < {comparison.alpha}.",
    ]
    return "\n".join(lines)
