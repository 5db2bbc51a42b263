"""The audit in plain English (summary.md): the largest gaps (which group, how large, CI, flagged).

Prose only: every figure comes from the :class:`~trainlab.artifacts.audit.AuditResult`; nothing is estimated here.
"""

from __future__ import annotations

from trainlab.artifacts.audit import AuditResult

# Gap -> (plain name, rate the extremes are read from, comparison measures whose flags belong to it)
GAPS = {
    "accuracy_gap": ("Accuracy", "accuracy", ("accuracy_gap",)),
    "demographic_parity_difference": ("Selection rate{cls} (demographic parity)", "selection_rate",
                                      ("demographic_parity_difference", "selection_rate_ratio_to_highest")),
    "equal_opportunity_difference": ("True-positive rate{cls} (equal opportunity)", "tpr", ("equal_opportunity_difference",)),
    "equalized_odds_difference": ("Equalized odds{cls} (larger of the TPR and FPR gaps)", None,
                                  ("equal_opportunity_difference", "false_positive_rate_difference")),
}


def _pct(x) -> str:
    return "undefined" if x is None else f"{100 * x:.1f}%"


def _pts(x) -> str:
    return "undefined" if x is None else f"{100 * x:.1f} points"


def _ci_pts(ci) -> str:
    return "" if not ci else f" (simultaneous 95% CI {100 * ci[0]:.1f} to {100 * ci[1]:.1f})"


def _group_figure(audit: dict, label: str | None, rate: str, cls: str | None) -> str:
    if label is None:
        return "?"
    entry = next(g for g in audit["groups"] if g["group"] == label)
    s = entry[rate] if cls is None or rate in ("accuracy", "error_rate", "macro_f1") else entry["per_class"][cls][rate]
    ci = f", CI {_pct(s['ci'][0])}–{_pct(s['ci'][1])}" if s["ci"] else ""
    return f"**{label}** ({_pct(s['value'])}{ci}, n={entry['count']:,})"


def _gap_line(audit: dict, key: str) -> tuple[float, str]:
    name, rate, flag_measures = GAPS[key]
    d = audit["disparities"][key]
    cls = d.get("class")
    title = name.format(cls=f" of '{cls}'" if cls is not None and key != "accuracy_gap" else "")
    if d["value"] is None:
        return -1.0, f"**{title}**: undefined ({d['reason']})."
    if rate is None:  # equalized odds: read the part that drives it
        rate = d.get("driven_by", "tpr")
        title += f", driven by the {'false' if rate == 'fpr' else 'true'}-positive rate"
    lo_label = d.get("lowest")
    hi_label = d.get("highest")
    text = (f"**{title}**: a gap of {_pts(d['value'])}{_ci_pts(d['ci'])}; lowest for "
            f"{_group_figure(audit, lo_label, rate, cls)}, highest for {_group_figure(audit, hi_label, rate, cls)}.")
    flags = [f for f in audit["flags"] if f["measure"] in flag_measures and (key == "accuracy_gap" or f["class"] == cls)]
    if key == "equalized_odds_difference":  # its flags are those of its driving part
        part = "false_positive_rate_difference" if d.get("driven_by") == "fpr" else "equal_opportunity_difference"
        flags = [f for f in flags if f["measure"] == part]
    if flags:
        shown = "; ".join(f["message"] for f in flags[:3])
        more = f" (and {len(flags) - 3} more)" if len(flags) > 3 else ""
        text += f" **Flagged**: {shown}{more}."
    else:
        text += " Not flagged."
    return d["value"], text


def summary_markdown(result: AuditResult) -> str:
    data = result.data
    fav = data["favorable"]
    lines = ["# Fairness audit", ""]
    src = f" from `{data['source']}`" if data.get("source") else ""
    split = f" (split {data['split']})" if isinstance(data.get("split"), str) and data["split"] else ""
    lines.append(
        f"{data['n']:,} predictions{src}{split}; classes: {', '.join(data['classes'][:12])}"
        f"{' …' if len(data['classes']) > 12 else ''}. Favorable class: "
        + (f"'{fav}' ({data['favorable_reason']})." if fav is not None else f"none ({data['favorable_reason']}).")
    )
    b = data["bootstrap"]
    lines.append(
        (f"95% confidence intervals from {b['resamples']:,} bootstrap resamples (seed {b['seed']}). " if b["resamples"]
         else "No bootstrap (--bootstrap 0): no confidence intervals and no interval-based flags. ")
        + f"Groups with fewer than {data['min_group_size']} rows are reported but left out of the gaps."
    )
    lines.append("")
    n_flag = data["flag_count"]
    if n_flag:
        flagged = [a["name"] for a in data["audits"] if a["flags"]]
        lines.append(f"**{n_flag} flag(s)**, in the audit(s) by {', '.join(flagged)}.")
    else:
        lines.append("**No flag**: no selection-rate ratio is significantly below four-fifths and no gap between groups has a "
                     "simultaneous 95% interval that excludes zero.")
    for audit in data["audits"]:
        lines += ["", f"## By {audit['name']}", ""]
        if audit["reference"] is not None:
            lines.append(f"Reference group: {audit['reference']} ({audit['reference_reason']}). "
                         f"Compared: {len(audit['compared_groups'])} group(s).")
        if audit["disparities"]:
            lines += ["", "Largest gaps, largest first:", ""]
            ranked = sorted((_gap_line(audit, key) for key in GAPS), key=lambda t: -t[0])
            lines += [f"{i}. {text}" for i, (_, text) in enumerate(ranked, 1)]
            dp_class = audit["disparities"]["demographic_parity_difference"].get("class")
            other = [f for f in audit["flags"] if f["kind"] == "four_fifths" and f["class"] != dp_class]
            if other:
                lines += ["", "Four-fifths rule, other classes:"] + [f"- {f['message']}" for f in other[:8]]
                if len(other) > 8:
                    lines.append(f"- … and {len(other) - 8} more (flags.csv)")
        if audit["too_small"]:
            small = ", ".join(f"{g['group']} (n={g['count']})" for g in audit["too_small"][:20])
            more = f" and {len(audit['too_small']) - 20} more" if len(audit["too_small"]) > 20 else ""
            lines += ["", f"Too small to compare (fewer than {data['min_group_size']} rows): {small}{more}."]
        for note in audit["notes"]:
            if not note.startswith(f"{len(audit['too_small'])} group(s) have fewer"):
                lines += ["", f"Note: {note}"]
    return "\n".join(lines) + "\n"
