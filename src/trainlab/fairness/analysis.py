"""One audit (one grouping): per-group figures, disparities, comparisons and flags, with CIs.

Point estimates come from fairlearn (:func:`rates.fairlearn_rates`); intervals from the vectorised
bootstrap (:mod:`bootstrap`): marginal percentile intervals for each group's own figures, and
one family of simultaneous intervals (:mod:`intervals`) for everything that compares groups.
The result is the JSON-ready dict stored under ``audits[i]`` in audit.json (docs/fairness.md).
"""

from __future__ import annotations

import zlib

import numpy as np

from trainlab.errors import TrainlabError
from trainlab.fairness import intervals as I
from trainlab.fairness import measures as M
from trainlab.fairness.bootstrap import MaxT, bootstrap_counts, percentile_interval
from trainlab.fairness.groups import Grouping
from trainlab.fairness.rates import (
    PER_CLASS, PER_GROUP, Counts, confusion_cells, counts_from_cells, fairlearn_rates, insufficient_reason,
    rates_from_counts, support, undefined_reason,
)
from trainlab.utils.log import get_logger

FOUR_FIFTHS = 0.8
RATES = ("selection_rate", "tpr", "fpr")
# Gaps between groups, per class k: name -> (rate, worst over classes, definition)
CLASS_GAPS = {
    "demographic_parity_difference": ("selection_rate", "max", "max_g SR_g − min_g SR_g,  SR_g = P(Ŷ=k | A=g)"),
    "demographic_parity_ratio": ("selection_rate", "min", "min_g SR_g / max_g SR_g  (disparate impact between the extreme groups)"),
    "equal_opportunity_difference": ("tpr", "max", "max_g TPR_g − min_g TPR_g,  TPR_g = P(Ŷ=k | Y=k, A=g)"),
    "false_positive_rate_difference": ("fpr", "max", "max_g FPR_g − min_g FPR_g,  FPR_g = P(Ŷ=k | Y≠k, A=g)"),
    "equalized_odds_difference": (None, "max", "max(max_g TPR_g − min_g TPR_g, max_g FPR_g − min_g FPR_g)"),
}
# Group-vs-reference comparisons (AIF360: unprivileged − privileged, the reference as privileged)
REF_MEASURES = {
    "statistical_parity_difference": ("abs", "SR_g − SR_ref"),
    "disparate_impact": ("min", "SR_g / SR_ref"),
    "equal_opportunity_difference": ("abs", "TPR_g − TPR_ref"),
    "false_positive_rate_difference": ("abs", "FPR_g − FPR_ref"),
    "average_odds_difference": ("abs", "½[(FPR_g − FPR_ref) + (TPR_g − TPR_ref)]"),
}
HEADLINE_REF = ("statistical_parity_difference", "disparate_impact", "average_odds_difference")
# Gaps that raise a flag when their simultaneous interval excludes zero: gap name -> rate
FLAG_GAPS = {"demographic_parity_difference": "selection_rate", "equal_opportunity_difference": "tpr",
             "false_positive_rate_difference": "fpr", "accuracy_gap": "accuracy"}
_CHUNK = 4_000_000  # replicate values of pairwise differences held at once

log = get_logger("fairness")


def _num(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def stat(value, lo=np.nan, hi=np.nan, reason: str | None = None) -> dict:
    """A figure as stored in audit.json: value, 95% CI, and why it is null when it is.

    ``ci`` is null when the value is undefined or no bootstrap ran; an upper bound that is
    unbounded (a ratio to an interval reaching 0) is written as null inside the CI."""
    v = _num(value)
    ci = [_num(lo), None if np.isposinf(hi) else _num(hi)] if v is not None and np.isfinite(lo) and not np.isnan(hi) else None
    return {"value": v, "ci": ci, "reason": None if v is not None else (reason or "undefined")}


class _Audit:
    """Holds the arrays of one grouping while its JSON dict is assembled."""

    def __init__(self, grouping: Grouping, y_true, y_pred, classes, *, favorable, reference, bootstrap,
                 min_group_size, seed):
        self.grouping, self.classes, self.labels = grouping, list(classes), grouping.labels
        G, K = len(self.labels), len(classes)
        self.cells = confusion_cells(grouping.codes, y_true, y_pred, G, K)
        self.counts = counts_from_cells(self.cells)
        self.sizes = self.counts.n
        self.min_group_size = min_group_size
        self.E = np.flatnonzero(self.sizes >= min_group_size)
        self.favorable = favorable
        self.favorable_name = classes[favorable] if favorable is not None else None
        self.head = [favorable] if favorable is not None else list(range(K))
        self.point = fairlearn_rates(self.cells, self.counts)
        overall_cells = self.cells.sum(axis=0, keepdims=True)
        self.overall_counts = counts_from_cells(overall_cells)
        self.overall = fairlearn_rates(overall_cells, self.overall_counts)
        self.notes: list[str] = []
        self._pct: dict = {}
        self.ref, self.ref_reason = self._reference(reference)
        self.B = int(bootstrap)
        self.boot = self.boot_overall = None
        if self.B > 0:
            # Seeded per grouping name: an audit's intervals do not depend on the other audits run with it.
            rng = np.random.default_rng([int(seed), zlib.crc32(grouping.name.encode())])
            bc = bootstrap_counts(self.cells, self.B, rng)
            self.boot = rates_from_counts(bc)
            total = Counts(*(x.sum(axis=1, keepdims=True) for x in (bc.n, bc.pos, bc.sel, bc.tp)))
            self.boot_overall = rates_from_counts(total)

    def _reference(self, reference: int | None) -> tuple[int | None, str]:
        if len(self.E) == 0:
            return None, "no group is large enough to compare"
        if reference is not None:
            if self.sizes[reference] < self.min_group_size:
                raise TrainlabError(
                    f"reference group '{self.labels[reference]}' of '{self.grouping.name}' has {int(self.sizes[reference])} "
                    f"rows, fewer than --min-group-size {self.min_group_size}; choose a larger group or lower --min-group-size"
                )
            return int(reference), "given"
        return int(self.E[int(np.argmax(self.sizes[self.E]))]), "not given: the largest group"

    # -- per-group figures ------------------------------------------------------------------
    def _group_entry(self, g: int, rates, boot, counts: Counts, label: str, values: dict | None) -> dict:
        if boot is None:
            ci = lambda name, index: (np.nan, np.nan)  # noqa: E731
        else:
            key = id(boot)
            if key not in self._pct:  # one vectorised quantile per metric, not one per figure
                self._pct[key] = {name: percentile_interval(boot[name]) for name in (*PER_GROUP, *PER_CLASS)}
            pct = self._pct[key]
            ci = lambda name, index: (float(pct[name][0][index]), float(pct[name][1][index]))  # noqa: E731

        entry = {"group": label}
        if values is not None:
            entry["values"] = values
        entry["count"] = int(counts.n[g])
        if values is not None:
            entry["too_small"] = bool(counts.n[g] < self.min_group_size)
            entry["reference"] = bool(self.ref == g)
        def figure(name, k):
            index = (g,) if k is None else (g, k)
            few = insufficient_reason(name, counts, g, k, self.classes, self.min_group_size)
            if few:  # shown, but its interval would be a guess (often a point): none, and the reason
                return {**stat(rates[name][index]), "reason": few}
            return stat(rates[name][index], *ci(name, index), reason=undefined_reason(name, counts, g, k, self.classes))

        for name in PER_GROUP:
            entry[name] = figure(name, None)
        entry["per_class"] = {cls: {name: figure(name, k) for name in PER_CLASS} for k, cls in enumerate(self.classes)}
        return entry

    def build(self) -> dict:
        g, labels = self.grouping, self.labels
        too_small = [i for i in range(len(labels)) if self.sizes[i] < self.min_group_size]
        out = {
            "by": list(g.columns), "name": g.name, "slug": g.slug,
            "favorable": self.favorable_name,
            "reference": labels[self.ref] if self.ref is not None else None,
            "reference_reason": self.ref_reason,
            "compared_groups": [labels[i] for i in self.E],
            "too_small": [{"group": labels[i], "count": int(self.sizes[i])} for i in too_small],
            "overall": self._group_entry(0, self.overall, self.boot_overall, self.overall_counts, "overall", None),
            "groups": [self._group_entry(i, self.point, self.boot, self.counts, labels[i], g.values[i]) for i in range(len(labels))],
        }
        if too_small:
            listed = ", ".join(f"{labels[i]} (n={int(self.sizes[i])})" for i in too_small)
            self.notes.append(
                f"{len(too_small)} group(s) have fewer than {self.min_group_size} rows: {listed}. Their own figures are "
                "reported, but they are left out of every gap, comparison and flag (too few rows to compare)."
            )
        self._one_class_notes()
        if len(self.E) < 2:
            self.notes.append(f"fewer than two groups have at least {self.min_group_size} rows, so no disparity can be "
                              "computed; lower --min-group-size or audit a coarser attribute")
            out.update(disparities={}, comparisons=[], flags=[], simultaneous_critical_value=None, notes=self.notes)
            return out
        self._intervals()
        out["disparities"] = self._disparities()
        out["comparisons"] = self._comparisons()
        out["flags"] = self._flags(out["disparities"])
        out["simultaneous_critical_value"] = _num(self.crit)
        out["notes"] = self.notes
        return out

    @property
    def label_conditioned(self) -> bool:
        """Every compared group holds one true class (the grouping includes or determines the label)."""
        return len(self.E) >= 2 and all(np.count_nonzero(self.counts.pos[i]) == 1 for i in self.E)

    def _one_class_notes(self) -> None:
        single = [i for i in self.E if np.count_nonzero(self.counts.pos[i]) == 1]
        for i in single:
            k = int(np.flatnonzero(self.counts.pos[i])[0])
            others = [c for j, c in enumerate(self.classes) if j != k]
            listed = f"'{others[0]}'" if len(others) == 1 else "every other class"
            msg = (
                f"group '{self.labels[i]}' (n={int(self.sizes[i])}) has one true class only, '{self.classes[k]}': its "
                f"false-positive rate for '{self.classes[k]}' is undefined (no row of another class, 0/0), and so is its "
                f"true-positive rate for {listed} (no row of that class); the group is left out of the TPR, FPR, "
                "equalized-odds and average-odds figures where its rate is undefined."
            )
            self.notes.append(msg)
            log.warning("audit by %s: %s", self.grouping.name, msg)
        if self.label_conditioned:
            one_per_class = len({int(np.flatnonzero(self.counts.pos[i])[0]) for i in self.E}) == len(self.E)
            msg = (
                f"every group of '{self.grouping.name}' holds a single true class, so selection rates (demographic "
                "parity, disparate impact, the four-fifths rule) compare different true classes: they are shown but "
                "never flagged. "
                + ("Here the attribute is the target itself (or determines it): gaps between these groups measure "
                   "class balance and per-class accuracy, not fairness. Audit by an attribute that is not the label "
                   "(the coursework's disparate impact of 0.13 made this mistake)."
                   if one_per_class else
                   "A group's accuracy is its recall of its own class, and TPR and FPR compare only groups of the same "
                   "true class: this intersection of an attribute with the label compares, within each true class, "
                   "the attribute's groups (per-class accuracy by group).")
            )
            self.notes.append(msg)
            log.warning("audit by %s: %s", self.grouping.name, msg)

    # -- simultaneous intervals ---------------------------------------------------------------
    def _intervals(self) -> None:
        """Point values and simultaneous intervals of every compared rate and pairwise difference."""
        E, K = self.E, len(self.classes)
        # A rate that rests on too few rows (a rare class's TPR in a large group) is left out of every comparison,
        # as a small group is: its point and replicates become undefined here.
        self.enough = {name: support(name, self.counts)[E] >= self.min_group_size for name in (*RATES, "accuracy")}
        self.rate = {name: np.where(self.enough[name], self.point[name][E], np.nan) for name in (*RATES, "accuracy")}
        self.pair = {name: I.pair_differences(x, axis=0) for name, x in self.rate.items()}  # (P, K) / (P,)
        self.rate_iv, self.pair_iv, self.crit = {}, {}, np.nan
        if self.boot is None:
            nan = lambda x: (np.full(x.shape, np.nan), np.full(x.shape, np.nan))  # noqa: E731
            self.rate_iv = {n: nan(x) for n, x in self.rate.items()}
            self.pair_iv = {n: nan(x) for n, x in self.pair.items()}
            return
        mt = MaxT(self.B)
        se_rate, se_pair = {}, {}
        for name, x in self.rate.items():
            bx = np.where(self.enough[name], self.boot[name][:, E], np.nan)
            se_rate[name] = mt.add(x, bx)
            px = self.pair[name]
            se = np.full(px.shape, np.nan)
            if px.size:
                if px.ndim == 1:
                    se = mt.add(px, I.pair_differences(bx, axis=1))
                else:
                    step = max(1, _CHUNK // max(1, self.B * px.shape[0]))
                    for k0 in range(0, K, step):
                        se[:, k0:k0 + step] = mt.add(px[:, k0:k0 + step], I.pair_differences(bx[:, :, k0:k0 + step], axis=1))
            se_pair[name] = se
        self.crit = mt.critical()
        for name in self.rate:
            self.rate_iv[name] = MaxT.interval(self.rate[name], se_rate[name], self.crit, 0.0, 1.0)
            self.pair_iv[name] = MaxT.interval(self.pair[name], se_pair[name], self.crit, -1.0, 1.0)

    def _pair_of(self, gi: int, ri: int) -> tuple[int, float]:
        """Index of the pair (gi, ri) among pairs a < b, and the sign that turns it into r_gi − r_ri."""
        a, b = I.pairs(len(self.E))
        lo, hi = min(gi, ri), max(gi, ri)
        p = int(np.flatnonzero((a == lo) & (b == hi))[0])
        return p, (1.0 if gi < ri else -1.0)

    def _diff_to_ref(self, name: str, gi: int, ri: int, k: int | None):
        """r_g − r_ref: point and simultaneous interval, from the pair family."""
        p, sign = self._pair_of(gi, ri)
        idx = (p,) if k is None else (p, k)
        value = sign * self.pair[name][idx]
        lo, hi = self.pair_iv[name][0][idx], self.pair_iv[name][1][idx]
        return value, (sign * lo, sign * hi) if sign > 0 else (sign * hi, sign * lo)

    # -- disparities --------------------------------------------------------------------------
    def _class_gap(self, name: str, k: int) -> dict:
        rate, _, _ = CLASS_GAPS[name]
        if name == "equalized_odds_difference":
            a, b = self._class_gap("equal_opportunity_difference", k), self._class_gap("false_positive_rate_difference", k)
            if a["value"] is None or b["value"] is None:
                why = a["reason"] if a["value"] is None else b["reason"]
                return {**stat(np.nan, reason=why), "lowest": None, "highest": None}
            part, src = ("fpr", b) if b["value"] > a["value"] else ("tpr", a)
            lo = max(a["ci"][0], b["ci"][0]) if a["ci"] and b["ci"] else np.nan
            hi = max(a["ci"][1], b["ci"][1]) if a["ci"] and b["ci"] else np.nan
            return {**stat(max(a["value"], b["value"]), lo, hi), "lowest": src["lowest"], "highest": src["highest"], "driven_by": part}
        x = self.rate[rate][:, k]
        if name == "demographic_parity_ratio":
            value = M.min_max_ratio(x)
            lo, hi = I.ratio_interval(self.rate_iv[rate][0][:, k], self.rate_iv[rate][1][:, k])
        else:
            value = M.range_difference(x)
            lo, hi = I.range_interval(self.pair_iv[rate][0][:, k], self.pair_iv[rate][1][:, k])
        entry = stat(value, lo, hi, reason=self._gap_reason(name, k))
        ok = np.isfinite(x)
        entry["lowest"] = self.labels[self.E[int(np.nanargmin(x))]] if ok.sum() >= 2 else None
        entry["highest"] = self.labels[self.E[int(np.nanargmax(x))]] if ok.sum() >= 2 else None
        return entry

    def _gap_reason(self, name: str, k: int) -> str:
        cls, x = self.classes[k], self.rate
        if len(self.E) < 2:
            return f"fewer than two groups have at least {self.min_group_size} rows"
        if name == "demographic_parity_ratio" and np.nanmax(x["selection_rate"][:, k]) == 0:
            return f"no compared group is ever predicted '{cls}' (every selection rate is 0), so the ratio is 0/0"
        m = self.min_group_size
        if name == "equal_opportunity_difference" and np.isfinite(x["tpr"][:, k]).sum() < 2:
            if np.isfinite(self.point["tpr"][self.E, k]).sum() >= 2:
                return (f"insufficient evidence: fewer than two compared groups have at least {m} rows of true class "
                        f"'{cls}', the rows their TPR rests on")
            return f"fewer than two compared groups have a row of true class '{cls}' (their TPR is 0/0)"
        if name == "false_positive_rate_difference" and np.isfinite(x["fpr"][:, k]).sum() < 2:
            if np.isfinite(self.point["fpr"][self.E, k]).sum() >= 2:
                return (f"insufficient evidence: fewer than two compared groups have at least {m} rows of a class "
                        f"other than '{cls}', the rows their FPR rests on")
            return f"fewer than two compared groups have a row of a class other than '{cls}' (their FPR is 0/0)"
        return "undefined"

    def _headline(self, name: str, per_class: dict) -> dict:
        kind = CLASS_GAPS[name][1]
        if self.favorable is not None:
            k = self.favorable
        else:
            vals = np.array([np.nan if per_class[self.classes[k]]["value"] is None else per_class[self.classes[k]]["value"]
                             for k in self.head])
            if not np.isfinite(vals).any():
                return {**stat(np.nan, reason="undefined for every class"), "class": None}
            k = self.head[int(np.nanargmax(vals) if kind == "max" else np.nanargmin(vals))]
            entries = [per_class[self.classes[j]] for j in self.head if per_class[self.classes[j]]["value"] is not None]
            cis = [e["ci"] for e in entries]
            if all(cis):  # the worst of several quantities lies between the worst lower and the worst upper bound
                f = max if kind == "max" else min
                lo, hi = f(c[0] for c in cis), f(c[1] for c in cis)
                return {**per_class[self.classes[k]], **stat(per_class[self.classes[k]]["value"], lo, hi), "class": self.classes[k]}
        return {**per_class[self.classes[k]], "class": self.classes[k]}

    def _disparities(self) -> dict:
        out = {}
        over = "favorable class" if self.favorable is not None else "worst over classes (one-vs-rest)"
        for name, (_, _, definition) in CLASS_GAPS.items():
            per_class = {cls: self._class_gap(name, k) for k, cls in enumerate(self.classes)}
            out[name] = {**self._headline(name, per_class), "over": over, "definition": definition, "per_class": per_class}
        out.update(self._reference_headlines())
        acc = self.rate["accuracy"]
        lo, hi = I.range_interval(*self.pair_iv["accuracy"])
        out["accuracy_gap"] = {**stat(M.range_difference(acc), lo, hi),
                               "lowest": self.labels[self.E[int(np.nanargmin(acc))]],
                               "highest": self.labels[self.E[int(np.nanargmax(acc))]],
                               "definition": "max_g accuracy_g − min_g accuracy_g"}
        L, U = self.rate_iv["accuracy"]
        out["worst_group_accuracy"] = {**stat(M.group_min(acc), *I.worst_interval(L, U, kind="min", axis=0)),
                                       "group": self.labels[self.E[int(np.nanargmin(acc))]],
                                       "definition": "min_g accuracy_g"}
        return out

    def _reference_headlines(self) -> dict:
        rows = [c for c in self._comparisons() if c["measure"] in HEADLINE_REF]
        out = {}
        for name in HEADLINE_REF:
            kind, definition = REF_MEASURES[name]
            cand = [c for c in rows if c["measure"] == name and c["value"] is not None]
            if not cand:
                why = next((c["reason"] for c in rows if c["measure"] == name), "no group to compare")
                out[name] = {**stat(np.nan, reason=why), "class": None, "group": None, "reference": self.labels[self.ref]}
            else:
                key = (lambda c: abs(c["value"])) if kind == "abs" else (lambda c: -c["value"])
                best = max(cand, key=key)
                sim = best["ci_simultaneous"]
                lo, hi = (sim[0], np.inf if sim[1] is None else sim[1]) if sim else (np.nan, np.nan)
                if kind == "min" and sim and all(c["ci_simultaneous"] for c in cand):  # min over groups: [min lo, min hi]
                    lo = min(c["ci_simultaneous"][0] for c in cand)
                    hi = min(np.inf if c["ci_simultaneous"][1] is None else c["ci_simultaneous"][1] for c in cand)
                out[name] = {**stat(best["value"], lo, hi), "class": best["class"], "group": best["group"],
                             "reference": best["reference"]}
            out[name]["definition"] = definition + (
                ", the compared group with the largest |value|" if kind == "abs" else ", the lowest over compared groups")
        return out

    # -- comparisons with the reference -------------------------------------------------------------
    def _comparisons(self) -> list[dict]:
        if getattr(self, "_comparison_rows", None) is not None:
            return self._comparison_rows
        E, labels = self.E, self.labels
        ri = int(np.flatnonzero(E == self.ref)[0])
        rows = []

        def marginal(name, gi, k, ratio=False):
            if self.boot is None:
                return np.nan, np.nan
            idx = (slice(None), E[gi]) if k is None else (slice(None), E[gi], k)
            ref = (slice(None), E[ri]) if k is None else (slice(None), E[ri], k)
            if ratio:
                with np.errstate(invalid="ignore", divide="ignore"):
                    rep = np.where(self.boot[name][ref] > 0, self.boot[name][idx] / self.boot[name][ref], np.nan)
            elif name == "average_odds":
                rep = 0.5 * ((self.boot["tpr"][idx] - self.boot["tpr"][ref]) + (self.boot["fpr"][idx] - self.boot["fpr"][ref]))
            else:
                rep = self.boot[name][idx] - self.boot[name][ref]
            return percentile_interval(rep)

        for gi, g in enumerate(E):
            if gi == ri:
                continue
            base = {"group": labels[g], "reference": labels[self.ref]}
            for k in self.head:
                cls = self.classes[k]
                for measure, rate in (("statistical_parity_difference", "selection_rate"),
                                      ("equal_opportunity_difference", "tpr"), ("false_positive_rate_difference", "fpr")):
                    v, (lo, hi) = self._diff_to_ref(rate, gi, ri, k)
                    rows.append(self._comparison(measure, cls, base, v, marginal(rate, gi, k), (lo, hi), gi, k))
                sr_L, sr_U = self.rate_iv["selection_rate"]
                v = M.ratio_to_reference(self.rate["selection_rate"][:, k], ri)[gi]
                lo, hi = I.ratio_to_interval(sr_L[gi, k], sr_U[gi, k], sr_L[ri, k], sr_U[ri, k])
                rows.append(self._comparison("disparate_impact", cls, base, v, marginal("selection_rate", gi, k, ratio=True),
                                             (lo, hi), gi, k))
                vt, (lt, ht) = self._diff_to_ref("tpr", gi, ri, k)
                vf, (lf, hf) = self._diff_to_ref("fpr", gi, ri, k)
                rows.append(self._comparison("average_odds_difference", cls, base, 0.5 * (vt + vf),
                                             marginal("average_odds", gi, k), (0.5 * (lt + lf), 0.5 * (ht + hf)), gi, k))
            v, (lo, hi) = self._diff_to_ref("accuracy", gi, ri, None)
            rows.append(self._comparison("accuracy_difference", None, base, v, marginal("accuracy", gi, None), (lo, hi), gi, None))
        self._comparison_rows = rows
        return rows

    def _comparison(self, measure, cls, base, value, marginal, simultaneous, gi, k) -> dict:
        row = {"measure": measure, "class": cls, **base}
        row.update(stat(value, *marginal, reason=self._ref_reason(measure, gi, k)))
        lo, hi = simultaneous
        known = row["value"] is not None and np.isfinite(lo) and not np.isnan(hi)
        row["ci_simultaneous"] = [_num(lo), None if np.isposinf(hi) else _num(hi)] if known else None
        null = 1.0 if measure == "disparate_impact" else 0.0
        row["separated"] = bool(known and (lo > null or hi < null)) if known else None
        return row

    def _ref_reason(self, measure: str, gi: int, k: int | None) -> str:
        if k is None:
            return "undefined"
        g, r, cls = self.E[gi], self.ref, self.classes[k]
        if measure == "disparate_impact" and self.point["selection_rate"][r, k] == 0:
            return f"the reference group '{self.labels[r]}' is never predicted '{cls}' (selection rate 0), so the ratio is x/0"
        needs = {"equal_opportunity_difference": ("tpr",), "false_positive_rate_difference": ("fpr",),
                 "average_odds_difference": ("tpr", "fpr")}.get(measure, ())
        for metric in needs:
            for who in (g, r):
                why = (undefined_reason(metric, self.counts, who, k, self.classes)
                       or insufficient_reason(metric, self.counts, who, k, self.classes, self.min_group_size))
                if why:
                    if why.startswith("insufficient evidence: "):
                        return why.replace("insufficient evidence: ", f"insufficient evidence: group '{self.labels[who]}' ", 1)
                    return f"group '{self.labels[who]}': {why}"
        return "undefined"

    # -- flags ------------------------------------------------------------------------------------
    def _flags(self, disparities: dict) -> list[dict]:
        E, labels, audit = self.E, self.labels, self.grouping.name
        flags = []
        sr = self.rate["selection_rate"]
        L, U = self.rate_iv["selection_rate"]
        for k in ([] if self.label_conditioned else self.head):
            cls = self.classes[k]
            if not np.isfinite(sr[:, k]).any() or np.nanmax(sr[:, k]) <= 0:
                continue
            top = int(np.nanargmax(sr[:, k]))
            ratio = M.ratio_to_max(sr[:, k])
            lo, hi = I.ratio_to_interval(L[:, k], U[:, k], M.group_max(L[:, k]), M.group_max(U[:, k]))
            for gi in np.flatnonzero(np.isfinite(ratio) & (ratio < FOUR_FIFTHS)):
                s = stat(ratio[gi], lo[gi], min(hi[gi], 1.0))
                text = (f"{labels[E[gi]]} is predicted '{cls}' at {sr[gi, k]:.1%}, {ratio[gi]:.2f} times the rate of "
                        f"{labels[E[top]]} ({sr[top, k]:.1%})")
                # The Uniform Guidelines' caveat: a ratio below 0.8 that small numbers explain is not adverse
                # impact. So the flag needs the ratio's (simultaneous) interval to exclude 1 as well.
                if s["ci"] and s["ci"][1] >= 1.0:
                    self.notes.append(f"{text}: below four-fifths by the point rule, but its 95% interval "
                                      f"({s['ci'][0]:.2f} to {s['ci'][1]:.2f}) reaches 1, so chance explains it; not flagged")
                    continue
                flags.append({
                    "kind": "four_fifths", "audit": audit, "measure": "selection_rate_ratio_to_highest", "class": cls,
                    "group": labels[E[gi]], "versus": labels[E[top]], **s,
                    "message": text + ": below the four-fifths rule (0.8)"
                    + (f", 95% CI of the ratio {s['ci'][0]:.2f} to {s['ci'][1]:.2f}" if s["ci"] else " (no bootstrap: point rule only)"),
                })
        for measure, rate in FLAG_GAPS.items():
            if rate == "selection_rate" and self.label_conditioned:
                continue
            for k in ([None] if rate == "accuracy" else self.head):
                entry = disparities[measure] if k is None else disparities[measure]["per_class"][self.classes[k]]
                if not entry["ci"] or entry["ci"][0] <= 0:
                    continue
                lo, hi = self.pair_iv[rate]
                lo, hi = (lo, hi) if k is None else (lo[:, k], hi[:, k])
                higher, lower, bound = I.separated_pair(lo, hi, len(E))
                x = self.rate[rate] if k is None else self.rate[rate][:, k]
                what = {"selection_rate": "selection rate", "tpr": "true-positive rate", "fpr": "false-positive rate",
                        "accuracy": "accuracy"}[rate] + ("" if k is None else f" of '{self.classes[k]}'")
                n_sep = int(np.sum(np.maximum(lo, -hi) > 0))
                flags.append({
                    "kind": "ci_excludes_zero", "audit": audit, "measure": measure,
                    "class": None if k is None else self.classes[k],
                    "group": labels[E[lower]], "versus": labels[E[higher]],
                    "value": entry["value"], "ci": entry["ci"], "reason": None,
                    "message": (f"{what} differs across {audit}: gap {entry['value']:.3f} (simultaneous 95% CI "
                                f"{entry['ci'][0]:.3f} to {entry['ci'][1]:.3f}, excludes 0); {labels[E[lower]]} "
                                f"({x[lower]:.3f}) is below {labels[E[higher]]} ({x[higher]:.3f}) by at least {bound:.3f}"
                                + (f"; {n_sep} pairs of groups are separated" if n_sep > 1 else "")),
                })
        return flags


def analyse(grouping: Grouping, y_true, y_pred, classes: list[str], *, favorable: int | None,
            reference: int | None, bootstrap: int, min_group_size: int, seed: int) -> dict:
    """Audit one grouping; returns the JSON-ready dict (docs/fairness.md, ``audits[]``)."""
    return _Audit(grouping, y_true, y_pred, classes, favorable=favorable, reference=reference,
                  bootstrap=bootstrap, min_group_size=min_group_size, seed=seed).build()
