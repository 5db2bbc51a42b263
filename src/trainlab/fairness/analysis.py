"""One audit (one grouping): its figures, disparities, comparisons and flags, as audit.json's ``audits[i]``.

Every number comes from the grouping's :class:`~trainlab.fairness.rateframe.RateFrame` (per-group rates and their
bootstrap replicates) and its :class:`~trainlab.fairness.rateframe.Contrasts` (the compared groups, one family of
simultaneous intervals); which measures are reported, and how each is derived, is the catalogue
(:data:`trainlab.fairness.measures.CATALOGUE`). Flags: :mod:`~trainlab.fairness.flags`; sentences:
:mod:`~trainlab.fairness.prose`. This module only assembles.
"""

from __future__ import annotations

import zlib

import numpy as np

from trainlab.errors import TrainlabError
from trainlab.fairness import power, prose
from trainlab.fairness.ece import UNAVAILABLE, CalibrationContrasts, GroupCalibration
from trainlab.fairness.flags import raise_flags
from trainlab.fairness.groups import Grouping
from trainlab.fairness.measures import Measure, measures
from trainlab.fairness.rateframe import Contrasts, RateFrame, estimate
from trainlab.fairness.rates import PER_CLASS, PER_GROUP
from trainlab.utils.log import get_logger

log = get_logger("fairness")


def _figures(rf: RateFrame, g: int, label: str, values: dict | None, *, too_small=None, reference=None,
             cal: GroupCalibration | None = None) -> dict:
    """A group's own figures (or the overall row's), each with its percentile interval."""
    entry = {"group": label}
    if values is not None:
        entry.update(values=values, count=int(rf.sizes[g]), too_small=bool(too_small), reference=bool(reference))
    else:
        entry["count"] = int(rf.sizes[g])
    for name in PER_GROUP:
        entry[name] = rf.own(name, g).model_dump()
    ece = cal.own(g if values is not None else None) if cal is not None else estimate(np.nan, reason=UNAVAILABLE)
    entry["ece"] = ece.model_dump()
    entry["per_class"] = {cls: {name: rf.own(name, g, k).model_dump() for name in PER_CLASS}
                          for k, cls in enumerate(rf.classes)}
    return entry


def _reference(rf: RateFrame, E: np.ndarray, reference: int | None, name: str) -> tuple[int | None, str]:
    if len(E) == 0:
        return None, "no group is large enough to compare"
    if reference is not None:
        if rf.sizes[reference] < rf.minimum:
            raise TrainlabError(
                f"reference group '{rf.labels[reference]}' of '{name}' has {int(rf.sizes[reference])} "
                f"rows, fewer than --min-group-size {rf.minimum}; choose a larger group or lower --min-group-size"
            )
        return int(reference), "given"
    return int(E[int(np.argmax(rf.sizes[E]))]), "not given: the largest group"


def _one_class_notes(rf: RateFrame, E: np.ndarray, grouping: str, notes: list[str]) -> bool:
    """Notes on groups holding one true class; True when every compared group does (label-conditioned)."""
    pos = rf.counts.pos
    single = [i for i in E if np.count_nonzero(pos[i]) == 1]
    for i in single:
        k = int(np.flatnonzero(pos[i])[0])
        msg = prose.note_one_class(rf.labels[i], int(rf.sizes[i]), rf.classes[k], rf.classes)
        notes.append(msg)  # audit.json keeps each group's note
        if len(single) <= 2:
            log.warning("audit by %s: %s", grouping, msg)
    if len(single) > 2:  # the same note for many groups: one line with a count on the terminal
        shown = ", ".join(f"'{rf.labels[i]}'" for i in single[:3])
        log.warning("audit by %s: %d groups hold one true class only (%s, ...): their rates for the classes they lack "
                    "are undefined (0/0) and left out of the TPR, FPR and equalized-odds figures; audit.json lists "
                    "each group's note", grouping, len(single), shown)
    conditioned = len(E) >= 2 and len(single) == len(E)
    if conditioned:
        one_per_class = len({int(np.flatnonzero(pos[i])[0]) for i in E}) == len(E)
        msg = prose.note_label_conditioned(grouping, one_per_class)
        notes.append(msg)
        log.warning("audit by %s: %s", grouping, msg)
    return conditioned


# ---- disparities ----------------------------------------------------------------------------------------------
def _over_groups(c: Contrasts, m: Measure, k: int | None) -> dict:
    """A measure over the compared groups (gap, ratio, worst, either gap) for class k, with the groups it names."""
    labels = [c.frame.labels[g] for g in c.E]
    if m.how == "either_gap":  # equalized odds: the larger of the TPR and FPR gaps
        a, b = _over_groups(c, _TPR_GAP, k), _over_groups(c, _FPR_GAP, k)
        if a["value"] is None or b["value"] is None:
            return {**estimate(np.nan, reason=a["reason"] if a["value"] is None else b["reason"]).model_dump(),
                    "lowest": None, "highest": None}
        part, src = ("fpr", b) if b["value"] > a["value"] else ("tpr", a)
        lo = max(a["ci"][0], b["ci"][0]) if a["ci"] and b["ci"] else np.nan
        hi = max(a["ci"][1], b["ci"][1]) if a["ci"] and b["ci"] else np.nan
        return {**estimate(max(a["value"], b["value"]), lo, hi).model_dump(), "lowest": src["lowest"],
                "highest": src["highest"], "driven_by": part}
    if m.how == "worst":
        lowest, _ = c.extremes(m.rate, k)
        return {**c.worst(m.rate, k).model_dump(), "group": labels[lowest]}
    entry = (c.ratio if m.how == "ratio" else c.gap)(m.rate, k).model_dump()
    lowest, highest = c.extremes(m.rate, k)
    entry.update(lowest=None if lowest is None else labels[lowest], highest=None if highest is None else labels[highest])
    return entry


_TPR_GAP = next(m for m in measures("disparity") if m.how == "gap" and m.rate == "tpr")
_FPR_GAP = next(m for m in measures("disparity") if m.how == "gap" and m.rate == "fpr")


def _headline(m: Measure, per_class: dict, classes: list[str], favorable: int | None, head: list[int]) -> dict:
    """The favorable class's entry, or the worst over classes (the largest difference, the smallest ratio)."""
    if favorable is not None:
        return {**per_class[classes[favorable]], "class": classes[favorable]}
    vals = np.array([np.nan if per_class[classes[k]]["value"] is None else per_class[classes[k]]["value"] for k in head])
    if not np.isfinite(vals).any():
        reasons = {per_class[classes[k]]["reason"] for k in head}
        why = ("insufficient evidence for every class" if all(r and r.startswith("insufficient evidence") for r in reasons)
               else "undefined for every class")
        return {**estimate(np.nan, reason=why).model_dump(), "class": None}
    k = head[int(np.nanargmax(vals) if m.worst_over == "max" else np.nanargmin(vals))]
    cis = [per_class[classes[j]]["ci"] for j in head if per_class[classes[j]]["value"] is not None]
    entry = {**per_class[classes[k]], "class": classes[k]}
    if all(cis):  # the worst of several quantities lies between the worst lower and the worst upper bound
        f = max if m.worst_over == "max" else min
        entry.update(estimate(entry["value"], f(ci[0] for ci in cis), f(ci[1] for ci in cis)).model_dump())
    return entry


def _headline_of_comparisons(m: Measure, comparisons: list[dict], reference: str) -> dict:
    """A comparison with the reference summarised over groups (and classes): the largest |value|, or the lowest."""
    rows = [r for r in comparisons if r["measure"] == m.headline_of]
    cand = [r for r in rows if r["value"] is not None]
    if not cand:
        why = next((r["reason"] for r in rows if r["reason"]), "no group to compare")
        return {**estimate(np.nan, reason=why).model_dump(), "class": None, "group": None, "reference": reference}
    key = (lambda r: abs(r["value"])) if m.worst_over == "abs" else (lambda r: -r["value"])
    best = max(cand, key=key)
    sim = best["ci_simultaneous"]
    lo, hi = (sim[0], np.inf if sim[1] is None else sim[1]) if sim else (np.nan, np.nan)
    if m.worst_over == "min" and sim and all(r["ci_simultaneous"] for r in cand):  # min over groups: [min lo, min hi]
        lo = min(r["ci_simultaneous"][0] for r in cand)
        hi = min(np.inf if r["ci_simultaneous"][1] is None else r["ci_simultaneous"][1] for r in cand)
    return {**estimate(best["value"], lo, hi).model_dump(), "class": best["class"], "group": best["group"],
            "reference": best["reference"]}


def _mdd(c: Contrasts, cc: CalibrationContrasts | None, m: Measure, k: int | None) -> dict:
    """What the data can show for measure m (class k): its minimum detectable difference (:mod:`power`)."""
    if m.rate == CalibrationContrasts.RATE:
        return power.ece_mdd(cc)
    if m.how == "either_gap":
        return power.rate_mdd(c, ("tpr", "fpr"), k)
    if m.how == "headline" and m.headline_of == "average_odds_difference":
        return power.rate_mdd(c, ("tpr", "fpr"), k, how="average", to_reference=True)
    return power.rate_mdd(c, m.rate, k, to_reference=m.how == "headline")


def _disparities(c: Contrasts, comparisons: list[dict], favorable: int | None, head: list[int],
                 cc: CalibrationContrasts | None = None) -> dict:
    classes, out = c.frame.classes, {}
    over = "favorable class" if favorable is not None else "worst over classes (one-vs-rest)"
    for m in measures("disparity"):
        if m.rate == CalibrationContrasts.RATE:  # calibration by group: its own contrasts (fairness/ece.py)
            entry = (_over_groups(cc, m, None) if cc is not None else
                     {**estimate(np.nan, reason=UNAVAILABLE).model_dump(), "lowest": None, "highest": None})
            entry["mdd"] = _mdd(c, cc, m, None)
        elif m.headline_of:
            entry = _headline_of_comparisons(m, comparisons, c.frame.labels[c.ref])
            cls = entry.get("class")
            entry["mdd"] = _mdd(c, cc, m, classes.index(cls) if cls is not None else (head[0] if len(head) == 1 else None))
        elif m.per_class:
            per_class = {cls: {**_over_groups(c, m, k), "mdd": _mdd(c, cc, m, k)} for k, cls in enumerate(classes)}
            entry = {**_headline(m, per_class, classes, favorable, head), "over": over, "per_class": per_class}
        else:
            entry = {**_over_groups(c, m, None), "mdd": _mdd(c, cc, m, None)}
        out[m.name] = {**entry, "label": m.label, "definition": m.definition}
    return out


def _reliability(codes, y_true, proba, labels: list[str]) -> list[dict]:
    """Each non-empty group's reliability diagram (the evaluation's adaptive bins with Wilson intervals)."""
    from trainlab.evaluation.calibration import reliability_bins

    out = []
    clean = lambda a: [None if not np.isfinite(v) else float(v) for v in a]  # noqa: E731
    for g, label in enumerate(labels):
        rows = codes == g
        if not rows.any():
            continue
        b = reliability_bins(y_true[rows], proba[rows])
        out.append({"group": label, "strategy": b["strategy"], "confidence": clean(b["confidence"]),
                    "accuracy": clean(b["accuracy"]), "count": [int(x) for x in b["count"]],
                    "low": clean(b["low"]), "high": clean(b["high"])})
    return out


# ---- comparisons with the reference ---------------------------------------------------------------------------
def _comparisons(c: Contrasts, head: list[int]) -> list[dict]:
    """Each compared group against the reference: per class, every per-class measure; then the per-group ones."""
    labels, classes, rows = c.frame.labels, c.frame.classes, []
    per_class = [m for m in measures("comparison") if m.per_class]
    per_group = [m for m in measures("comparison") if not m.per_class]
    for gi, g in enumerate(c.E):
        if gi == c.ri:
            continue
        base = {"group": labels[g], "reference": labels[c.ref]}
        for m, k in [(m, k) for k in head for m in per_class] + [(m, None) for m in per_group]:
            value, (lo, hi) = c.to_reference(m.rate, gi, k, how=m.how)
            row = {"measure": m.name, "class": None if k is None else classes[k], **base, **value.model_dump()}
            known = row["value"] is not None and np.isfinite(lo) and not np.isnan(hi)
            row["ci_simultaneous"] = [float(lo), None if np.isposinf(hi) else float(hi)] if known else None
            null = 1.0 if m.how == "ratio" else 0.0
            row["separated"] = bool(lo > null or hi < null) if known else None
            rows.append(row)
    return rows


# ---- one grouping ---------------------------------------------------------------------------------------------
def analyse(grouping: Grouping, y_true, y_pred, classes: list[str], *, favorable: int | None,
            reference: int | None, bootstrap: int, min_group_size: int, seed: int, proba=None) -> dict:
    """Audit one grouping; returns the JSON-ready dict (docs/fairness.md, ``audits[]``).

    proba: the class probabilities (n, K) for calibration by group; None (a table of hard labels): calibration
    is reported as unavailable."""
    labels = grouping.labels
    # Seeded per grouping name: an audit's intervals do not depend on the other audits run with it.
    rng = np.random.default_rng([int(seed), zlib.crc32(grouping.name.encode())]) if bootstrap > 0 else None
    rf, pooled = RateFrame.from_rows(grouping.codes, y_true, y_pred, classes, labels=labels, minimum=min_group_size,
                                     resamples=int(bootstrap), rng=rng)
    cal = None
    if proba is not None:  # its own stream, so the rates' intervals are those of an audit without calibration
        cal_rng = np.random.default_rng([int(seed), zlib.crc32(grouping.name.encode()), 1]) if bootstrap > 0 else None
        cal = GroupCalibration.from_rows(grouping.codes, y_true, proba, labels=labels, minimum=min_group_size,
                                         resamples=int(bootstrap), rng=cal_rng)
    E = np.flatnonzero(rf.sizes >= min_group_size)
    ref, ref_reason = _reference(rf, E, reference, grouping.name)
    head = [favorable] if favorable is not None else list(range(len(classes)))
    too_small = [i for i in range(len(labels)) if rf.sizes[i] < min_group_size]
    notes: list[str] = []
    out = {
        "by": list(grouping.columns), "name": grouping.name, "slug": grouping.slug,
        "favorable": classes[favorable] if favorable is not None else None,
        "reference": labels[ref] if ref is not None else None,
        "reference_reason": ref_reason,
        "compared_groups": [labels[i] for i in E],
        "too_small": [{"group": labels[i], "count": int(rf.sizes[i])} for i in too_small],
        "overall": _figures(pooled, 0, "overall", None, cal=cal),
        "groups": [_figures(rf, i, labels[i], grouping.values[i], too_small=rf.sizes[i] < min_group_size,
                            reference=ref == i, cal=cal) for i in range(len(labels))],
        "reliability": _reliability(grouping.codes, np.asarray(y_true), np.asarray(proba), labels) if cal else [],
    }
    if too_small:
        notes.append(prose.note_too_small([(labels[i], int(rf.sizes[i])) for i in too_small], min_group_size))
    label_conditioned = _one_class_notes(rf, E, grouping.name, notes)
    if len(E) < 2:
        notes.append(prose.note_nothing_to_compare(min_group_size))
        return {**out, "disparities": {}, "comparisons": [], "flags": [], "simultaneous_critical_value": None,
                "notes": notes}
    c = rf.compare(E, ref)
    cc = cal.compare(E) if cal is not None else None
    comparisons = _comparisons(c, head)
    disparities = _disparities(c, comparisons, favorable, head, cc)
    flags = raise_flags(grouping.name, c, disparities, head=head, label_conditioned=label_conditioned, notes=notes,
                        calibration=cc)
    crit = float(c.crit)
    cal_crit = float(cc.crit) if cc is not None else np.nan
    return {**out, "disparities": disparities, "comparisons": comparisons, "flags": flags,
            "simultaneous_critical_value": crit if np.isfinite(crit) else None,
            "calibration_critical_value": cal_crit if np.isfinite(cal_crit) else None, "notes": notes}
