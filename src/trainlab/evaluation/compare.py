"""``trainlab compare``: several runs side by side on the same test items.

* one table of test metrics (``metrics.csv``, ``compare.md``, printed);
* one figure overlaying validation accuracy and validation loss per epoch from each run's
  ``history.csv`` (``plots/val_curves.png``, the coursework's side-by-side plot);
* McNemar's exact test for every pair of runs on items paired by ``id`` (``mcnemar.csv``), with
  Holm's correction across the pairs, so "A beats B" comes with a p-value and the counts of items
  each gets right that the other misses;
* the paired bootstrap 95% interval of the difference of each headline metric (accuracy, balanced
  accuracy, macro F1, ROC AUC) for every pair, the same item draws applied to both runs
  (``intervals.csv``, :mod:`trainlab.evaluation.paired`), with a plain verdict;
* with seed groups (``compare A1 A2 A3 vs B1 B2 B3``: several runs per side from repeated training),
  one comparison of the two sides instead: a two-level bootstrap (runs, then items) for the difference
  of the sides' means, the share of (A run, B run) pairings A wins (the probability that A beats B on
  a new seed) and the verdict;
* with ``--by race`` (any attribute column of both runs' predictions, or an intersection ``race,gender``), the
  change in each fairness gap of the audit's catalogue, A's gap minus B's, with the paired bootstrap interval
  (the same items resampled for both runs, :mod:`trainlab.fairness.gap_change`; ``fairness.csv``);
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

from trainlab._version import __version__
from trainlab.errors import TrainlabError
from trainlab.evaluation.mcnemar import holm, mcnemar
from trainlab.artifacts.compare import ComparedRun, Comparison, PairTest
from trainlab.artifacts.metrics import METRIC_KEYS
from trainlab.artifacts.predictions import Predictions
from trainlab.evaluation.metrics import check_arrays, compute_metrics
from trainlab.evaluation.paired import HEADLINE, ScoredRun, compare_sides, method_note, replicate_metrics
from trainlab.evaluation.paired import verdict as interval_verdict
from trainlab.evaluation.tables import markdown_table
from trainlab.utils.io import atomic_write_text, write_table
from trainlab.utils.log import get_logger

log = get_logger(__name__)

ALPHA = 0.05
HISTORY_COLUMNS = ("epoch", "val_loss", "val_acc")  # the ones compare reads from history.csv
CORRECTION = "Holm-Bonferroni across all pairs (family-wise error rate controlled at alpha)"
REPLICATES = 1000
SMALL_CLASS = 30  # below this many items in a class, the class-averaged intervals cover less than claimed
CONFIDENCE = 0.95
BOOTSTRAP_METHOD = (
    "paired percentile bootstrap: each replicate draws the items with replacement and applies the same draw "
    "to every run; with seed groups, each replicate first draws each side's runs with replacement (two-level)"
)


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
            from trainlab.evaluation.plots import save, validation_curves_figure

            save(validation_curves_figure(self.histories), out / c.files["val_curves"])
        write_table(metrics_frame(c), out / c.files["metrics"])
        write_table(mcnemar_frame(c), out / c.files["mcnemar"])
        if c.bootstrap:
            write_table(intervals_frame(c.bootstrap), out / c.files["intervals"])
        if c.fairness:
            write_table(fairness_frame(c.fairness), out / c.files["fairness"])
        atomic_write_text(out / c.files["markdown"], self.summary() + "\n")
        return c.write(out / c.files["json"])

    def summary(self) -> str:
        return format_markdown(self.comparison)


def compare(runs, *, names=None, split: str = "test", groups=None, labels=None, replicates: int = REPLICATES,
            seed: int = 0, by=None, favorable: str | None = None, min_group_size: int = 30) -> CompareResult:
    """Compare two or more runs (folders, or predictions files) on ``split``; ``.write(folder)`` stores it.

    ``groups``: two lists of runs (seed groups, sides A and B) instead of ``runs``; ``labels`` names the
    sides (default: a group folder's name, else A and B). ``replicates``: bootstrap replicates (0: no
    intervals); ``seed``: the bootstrap's random seed. ``by``: attribute column(s) to compare the runs' fairness
    gaps on (as ``trainlab audit --by``), with ``favorable`` and ``min_group_size`` as the audit's.

    Keys: ``split``, ``n_items``, ``runs`` (name, path, source, history, epochs, best_val_acc,
    best_epoch, metrics, undefined), ``mcnemar`` (one dict per pair: a, b, accuracy_a, accuracy_b, n,
    both_right, a_only, b_only, both_wrong, discordant, p_value, p_holm, verdict), ``alpha``,
    ``correction``, ``fairness`` (with ``by``: the gap changes, see :func:`fairness_changes`), ``bootstrap`` (replicates, seed, confidence, method, comparisons: one per pair, or
    one for the two seed groups: a, b, a_runs, b_runs, seed_groups, metrics {metric: a, b,
    difference, ci_low, ci_high, beat_share, wins, pairings}, verdict), ``files`` (relative to ``out``),
    ``trainlab_version``: the fields of :class:`trainlab.artifacts.compare.Comparison`.
    """
    side_labels = None
    if groups is not None:
        if runs:
            raise TrainlabError("give either runs or two seed groups, not both")
        if len(groups) != 2:
            raise TrainlabError(f"seed groups: expected two sides (A vs B), got {len(groups)}")
        sides = [expand_group(g, split) for g in groups]
        for side, group in zip(sides, groups):
            if not side:
                raise TrainlabError("a seed group is empty: give at least one run on each side of 'vs'")
        side_labels = _side_labels(groups, labels)
        runs = sides[0] + sides[1]
        if len({Path(r).resolve() for r in runs}) != len(runs):
            raise TrainlabError("a run is given twice in the seed groups; each run may appear once, on one side of 'vs'")
    if by is not None and groups is not None:
        raise TrainlabError("--by compares the fairness gaps of single runs; with seed groups ('vs') it is not "
                            "supported: compare one run of each side with --by, or leave --by out")
    runs = [Path(r) for r in runs]
    if len(runs) < 2:
        raise TrainlabError(f"compare needs at least two runs; got {len(runs)}")
    names = _names(runs, names)
    if replicates < 0:
        raise TrainlabError(f"--bootstrap {replicates}: give a number of replicates >= 0 (0 turns intervals off)")

    tables = [Predictions.read(run, split) for run in runs]
    specs = _check_by(by, tables) if by is not None else None  # before any work or warning
    entries, items, sources, histories, arrays = [], {}, {}, {}, {}
    for name, run, pred in zip(names, runs, tables):
        pred.require_labels("compare")
        result = compute_metrics(pred.y_true, pred.y_pred, pred.proba, classes=list(pred.classes))
        items[name] = _correct_by_id(pred)
        arrays[name] = (pred.frame["id"].astype(str).to_numpy(), pred)
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

    bootstrap = None
    if replicates:
        n_a = len(runs) - len(sides[1]) if groups is not None else None
        bootstrap = _bootstrap(names, arrays, paired.index, split_at=n_a, side_labels=side_labels,
                               replicates=replicates, seed=seed)

    fairness = None
    if specs:
        fairness = fairness_changes(names, arrays, paired.index, specs, favorable=favorable,
                                    min_group_size=min_group_size, replicates=replicates, seed=seed)

    files = {"json": "compare.json", "metrics": "metrics.csv", "mcnemar": "mcnemar.csv", "markdown": "compare.md"}
    if bootstrap:
        files["intervals"] = "intervals.csv"
    if fairness:
        files["fairness"] = "fairness.csv"
    if histories:
        files["val_curves"] = "plots/val_curves.png"
    comparison = Comparison(
        split=split, n_items=int(len(paired)), runs=tuple(entries), mcnemar=tuple(PairTest(**p) for p in pairs),
        alpha=ALPHA, correction=CORRECTION if len(pairs) > 1 else "none needed (a single comparison)",
        bootstrap=bootstrap, fairness=fairness, files=files, trainlab_version=__version__,
    )
    return CompareResult(comparison, histories)


def _check_by(by, tables: list[Predictions]) -> list[tuple[str, ...]]:
    """The groupings of ``--by``; each column must be an attribute of every run's predictions (one-line error
    naming the column and the columns every run has)."""
    from trainlab.fairness.groups import check_columns, parse_by

    specs = parse_by(by)
    common = [c for c in tables[0].attributes if all(c in t.attributes for t in tables[1:])]
    where = "the runs' predictions"
    for spec in specs:
        check_columns(spec, common, f"--by {','.join(spec)}: {where}")
    return specs


def fairness_changes(names, arrays, ids, specs, *, favorable, min_group_size: int, replicates: int, seed: int) -> list[dict]:
    """For every pair of runs and every grouping: the change in each fairness gap, A's minus B's, with the paired
    bootstrap interval (:func:`trainlab.fairness.gap_change.gap_changes`; the items in one order for both runs)."""
    import zlib

    from trainlab.fairness.audit import _favorable
    from trainlab.fairness.gap_change import gap_changes
    from trainlab.fairness.groups import make_grouping

    aligned = {}
    for name in names:
        run_ids, pred = arrays[name]
        rows = pd.Index(run_ids).get_indexer(ids)
        aligned[name] = (pred, rows)
    first, rows0 = aligned[names[0]]
    fav, _ = _favorable(first, favorable)
    out = []
    for spec in specs:
        frame = first.frame.iloc[rows0].reset_index(drop=True)
        grouping = make_grouping(frame, spec)
        for name in names[1:]:
            pred, rows = aligned[name]
            other = make_grouping(pred.frame.iloc[rows].reset_index(drop=True), spec)
            mine = np.asarray(grouping.labels, dtype=object)[grouping.codes]
            theirs = np.asarray(other.labels, dtype=object)[other.codes]
            differ = np.flatnonzero(mine != theirs)
            if len(differ):
                raise TrainlabError(
                    f"item id '{ids[differ[0]]}' is in group '{mine[differ[0]]}' of {grouping.name} in "
                    f"{first.source} but '{theirs[differ[0]]}' in {pred.source}; --by needs the same attribute "
                    "values in every run's predictions")
        y_true = first.y_true[rows0]
        for a, b in combinations(names, 2):
            (pa, ra), (pb, rb) = aligned[a], aligned[b]
            rng = np.random.default_rng([int(seed), zlib.crc32(grouping.name.encode()), 17])
            result = gap_changes(grouping, y_true, pa.y_pred[ra], pb.y_pred[rb], list(first.classes), favorable=fav,
                                 minimum=int(min_group_size), replicates=int(replicates), rng=rng)
            out.append({"a": a, "b": b, **result.to_dict()})
    return out


def fairness_frame(fairness: list[dict]) -> pd.DataFrame:
    """One row per (pair, grouping, measure): a, b, by, measure, class, gap_a, gap_b, change, ci_low, ci_high."""
    rows = []
    for f in fairness:
        for m in f["measures"]:
            ci = m["ci"] or [None, None]
            rows.append({"a": f["a"], "b": f["b"], "by": f["by"], "measure": m["measure"], "class": m["class"],
                         "gap_a": m["a"], "gap_b": m["b"], "change": m["change"], "ci_low": ci[0], "ci_high": ci[1],
                         "excludes_zero": m["excludes_zero"], "reason": m["reason"]})
    return pd.DataFrame(rows)


def change_sentence(a: str, b: str, row: dict, confidence: float) -> str:
    """"equal opportunity difference: a 0.210, b 0.080, change a − b +0.130 (95% CI +0.070 to +0.190)"."""
    name = row["label"]
    if row["change"] is None:
        return f"{name}: no change computed ({row['reason']})"
    text = f"{name}: {a} {row['a']:.3f}, {b} {row['b']:.3f}, change {a} − {b} {row['change']:+.3f}"
    if row["ci"]:
        text += f" ({confidence:.0%} CI {row['ci'][0]:+.3f} to {row['ci'][1]:+.3f})"
    return text


def expand_group(paths, split: str) -> list[Path]:
    """A side of a seed-group comparison: run folders and predictions files as given, and any folder that
    holds no predictions itself replaced by its sub-folders that do (a folder of repeated runs), sorted."""
    runs = []
    for path in map(Path, paths):
        if path.is_dir() and not (path / "predictions").is_dir():
            found = sorted(d for d in path.iterdir() if d.is_dir() and (d / "predictions").is_dir())
            if not found:
                raise TrainlabError(f"{path}: neither a run folder (no predictions/) nor a folder of runs "
                                    f"(no sub-folder holds predictions/{split}.csv); give run folders or predictions files")
            runs.extend(found)
        else:
            runs.append(path)
    return runs


def _side_labels(groups, labels) -> list[str]:
    if labels:
        if len(labels) != 2 or labels[0] == labels[1]:
            raise TrainlabError(f"--labels gives {labels}; give two different labels, one per side (A B)")
        return list(labels)
    guess = [Path(g[0]).name if len(g) == 1 and Path(g[0]).is_dir() and not (Path(g[0]) / "predictions").is_dir()
             else side for g, side in zip(groups, "AB")]
    return guess if guess[0] != guess[1] else ["A", "B"]


def _bootstrap(names, arrays, ids, *, split_at, side_labels, replicates: int, seed: int) -> dict:
    """Paired bootstrap intervals: one comparison per pair of runs, or one for two seed groups."""
    scored = []
    for name in names:
        run_ids, pred = arrays[name]
        y_true, y_pred, proba = check_arrays(pred.y_true, pred.y_pred, pred.proba, classes=list(pred.classes))
        rows = pd.Index(run_ids).get_indexer(ids)  # the items in the same order for every run
        scored.append(ScoredRun(y_true[rows], y_pred[rows], proba[rows]))
    draws = replicate_metrics(scored, replicates=replicates, rng=np.random.default_rng(seed))
    if split_at is None:
        sides = [([i], [j], names[i], names[j]) for i, j in combinations(range(len(names)), 2)]
    else:
        sides = [(list(range(split_at)), list(range(split_at, len(names))), *side_labels)]
    comparisons = []
    for side_a, side_b, a, b in sides:
        figures = compare_sides(scored, side_a, side_b, confidence=CONFIDENCE, seed=seed, draws=draws)
        groups = split_at is not None
        comparisons.append({
            "a": a, "b": b, "a_runs": [names[i] for i in side_a], "b_runs": [names[i] for i in side_b],
            "seed_groups": groups, "metrics": figures,
            "verdict": interval_verdict(a, b, figures["accuracy"], metric="accuracy", confidence=CONFIDENCE, seeds=groups),
        })
    counts = np.bincount(scored[0].true_onehot.indices, minlength=scored[0].k)
    smallest = int(counts[counts > 0].min())  # of the classes present in the items
    note = None
    if smallest < SMALL_CLASS:
        note = (f"the smallest class has {smallest} item(s): the intervals of balanced accuracy and ROC AUC, which "
                f"average over classes, cover the truth less often than {CONFIDENCE:.0%} when a class has fewer than "
                f"about {SMALL_CLASS} items (simulated: 82-92% with 3-10 items; BENCHMARKS.md)")
    return {"replicates": replicates, "seed": seed, "confidence": CONFIDENCE, "method": BOOTSTRAP_METHOD + method_note(scored),
            "metrics": list(HEADLINE), "comparisons": comparisons, "note": note}


def intervals_frame(bootstrap: dict) -> pd.DataFrame:
    """One row per (comparison, metric): a, b, metric, value_a, value_b, difference, ci_low, ci_high, beat_share, verdict."""
    rows = []
    for c in bootstrap["comparisons"]:
        for metric, f in c["metrics"].items():
            rows.append({"a": c["a"], "b": c["b"], "metric": metric, "value_a": f["a"], "value_b": f["b"],
                         "difference": f["difference"], "ci_low": f["ci_low"], "ci_high": f["ci_high"],
                         "beat_share": f["beat_share"] if c["seed_groups"] else None,
                         "verdict": interval_verdict(c["a"], c["b"], f, metric=metric, confidence=bootstrap["confidence"],
                                                     seeds=c["seed_groups"])})
    return pd.DataFrame(rows)


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
    bootstrap = comparison.bootstrap
    if bootstrap:
        level = f"{bootstrap['confidence']:.0%}"
        lines += ["", f"## Paired bootstrap: {level} intervals of the difference a − b ({bootstrap['replicates']:,} replicates)", ""]
        for c in bootstrap["comparisons"]:
            if c["seed_groups"]:
                lines.append(f"- seed groups {c['a']} ({', '.join(c['a_runs'])}) vs {c['b']} ({', '.join(c['b_runs'])})")
            lines.append(f"- **{c['verdict']}** (accuracy)")
        table = intervals_frame(bootstrap)
        for column in ("value_a", "value_b", "difference", "ci_low", "ci_high"):
            table[column] = table[column].map(lambda v: None if v is None or pd.isna(v) else round(100 * v, 2))
        shown = ["a", "b", "metric", "value_a", "value_b", "difference", "ci_low", "ci_high"]
        if any(c["seed_groups"] for c in bootstrap["comparisons"]):
            shown.append("beat_share")
        if bootstrap.get("note"):
            lines += ["", f"Note: {bootstrap['note']}."]
        lines += ["", markdown_table(table[shown]), "",
                  "Values and differences in points (× 100). " + bootstrap["method"] + ". An interval that excludes 0 "
                  "is a difference the items (and seeds) can show; the intervals of several pairs are not corrected "
                  "for multiplicity. beat_share: share of (a run, b run) pairings in which a scores higher, the "
                  "estimate of the probability that a beats b when both are trained again with a new seed."]
    for f in comparison.fairness or []:
        lines += ["", f"## Fairness gaps by {f['by']}: {f['a']} − {f['b']} (paired bootstrap, {f['replicates']:,} replicates)", ""]
        scope = (f"favorable class '{f['favorable']}'" if f["favorable"] else "worst over classes (one-vs-rest)")
        lines.append(f"Compared groups: {', '.join(f['compared_groups']) or 'none'}; reference {f['reference']}; {scope}.")
        lines += [""] + [f"- {change_sentence(f['a'], f['b'], m, f['confidence'])}" for m in f["measures"]]
        if f.get("note"):
            lines += ["", f"Note: {f['note']}."]
        lines += ["", "Each gap is defined as in `trainlab audit` (docs/fairness.md); the change is a's gap minus b's, its "
                  "interval the percentile interval of the change over replicates that resample the same items (within "
                  "each group) for both runs. An interval that excludes 0 is a change the items can show; intervals of "
                  "several measures are not corrected for multiplicity."]
    return "\n".join(lines)


def split_sides(runs) -> list[list[Path]] | None:
    """``A1 A2 vs B1 B2`` -> [[A1, A2], [B1, B2]]; ``None`` without ``vs`` (a run folder named vs: write ./vs)."""
    words = [str(r) for r in runs]
    if "vs" not in words:
        return None
    if words.count("vs") > 1:
        raise TrainlabError("'vs' appears more than once; compare two seed groups: RUN [RUN ...] vs RUN [RUN ...]")
    at = words.index("vs")
    if at == 0 or at == len(words) - 1:
        raise TrainlabError("'vs' needs runs on both sides: RUN [RUN ...] vs RUN [RUN ...]")
    return [[Path(w) for w in words[:at]], [Path(w) for w in words[at + 1:]]]
