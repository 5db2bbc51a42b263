"""Flag policy: when an audit raises a flag. Estimation is in :mod:`~trainlab.fairness.rateframe`, words in :mod:`prose`.

Two rules (docs/fairness.md, "Flags"):

* ``four_fifths``: a group's selection rate is below 0.8 × the highest group's **and** the simultaneous interval
  of that ratio excludes 1 (a shortfall that small numbers explain is not adverse impact: noted, not flagged).
* ``ci_excludes_zero``: a gap of the catalogue marked ``flagged_when_ci_excludes_zero`` has a simultaneous
  interval that excludes 0 (and is at least the measure's ``flag_threshold``: 0.03 for the calibration gap, whose
  ECEs are biased upward in small groups); the flag names the most clearly separated pair of groups.

Never flagged: a rate that rests on too few rows (it is not compared at all, :mod:`rateframe`), and selection rates
when every compared group holds one true class (they compare different classes).
"""

from __future__ import annotations

import numpy as np

from trainlab.fairness import prose
from trainlab.fairness.measures import FOUR_FIFTHS, measures
from trainlab.fairness.rateframe import Contrasts, estimate


def raise_flags(grouping: str, c: Contrasts, disparities: dict, *, head: list[int], label_conditioned: bool,
                notes: list[str], calibration=None) -> list[dict]:
    """The flags of one audit; notes get the four-fifths shortfalls that chance explains.

    calibration: the :class:`~trainlab.fairness.ece.CalibrationContrasts` of the ECE measures (None: unavailable)."""
    labels = [c.frame.labels[g] for g in c.E]
    classes = c.frame.classes
    flags = []
    sr = c.rate["selection_rate"]
    for k in ([] if label_conditioned else head):
        cls = classes[k]
        if not np.isfinite(sr[:, k]).any() or np.nanmax(sr[:, k]) <= 0:
            continue
        top = int(np.nanargmax(sr[:, k]))
        ratio, lo, hi = c.ratio_to_highest("selection_rate", k)
        for gi in np.flatnonzero(np.isfinite(ratio) & (ratio < FOUR_FIFTHS)):
            s = estimate(ratio[gi], lo[gi], hi[gi])
            text = prose.four_fifths_text(labels[gi], cls, sr[gi, k], ratio[gi], labels[top], sr[top, k])
            if s.ci and s.ci[1] >= 1.0:
                notes.append(prose.note_four_fifths_by_chance(text, s.ci))
                continue
            flags.append({"kind": "four_fifths", "audit": grouping, "measure": "selection_rate_ratio_to_highest",
                          "class": cls, "group": labels[gi], "versus": labels[top], **s.model_dump(),
                          "message": prose.four_fifths_message(text, s.ci)})
    for m in measures("disparity"):
        if not m.flagged_when_ci_excludes_zero or (m.rate == "selection_rate" and label_conditioned):
            continue
        src = c
        if m.rate == "ece":  # calibration by group: its own family of simultaneous intervals
            if calibration is None:
                continue
            src = calibration
        for k in (head if m.per_class else [None]):
            entry = disparities[m.name] if k is None else disparities[m.name]["per_class"][classes[k]]
            if not entry["ci"] or entry["ci"][0] <= 0 or entry["value"] < m.flag_threshold:
                continue
            (higher, lower, bound), n_separated = src.separated(m.rate, k)
            x = src.rate[m.rate] if k is None else src.rate[m.rate][:, k]
            flags.append({
                "kind": "ci_excludes_zero", "audit": grouping, "measure": m.name,
                "class": None if k is None else classes[k], "group": labels[lower], "versus": labels[higher],
                "value": entry["value"], "ci": entry["ci"], "reason": None,
                "message": prose.gap_flag_message(grouping, m.rate, None if k is None else classes[k], entry["value"],
                                                  entry["ci"], labels[lower], x[lower], labels[higher], x[higher],
                                                  bound, n_separated),
            })
    return flags
