"""The audit in plain English (summary.md): the largest gaps (which group, how large, CI, flagged).

Prose only: every figure comes from the :class:`~trainlab.artifacts.audit.AuditResult`; nothing is estimated here.
"""

from __future__ import annotations

from trainlab.artifacts.audit import AuditResult
from trainlab.fairness.measures import CATALOGUE, measure, measures

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


def _rate_of_flag(flag: dict) -> str | None:
    """The rate a flag is about (its measure's, in the catalogue)."""
    return next((m.rate for m in CATALOGUE if m.name == flag["measure"] and m.scope in ("disparity", "flag")), None)


def _gap_line(audit: dict, key: str) -> tuple[float, str]:
    m = measure(key)
    d = audit["disparities"][key]
    cls = d.get("class")
    title = m.summary.format(cls=f" of '{cls}'" if cls is not None and m.per_class else "")
    if d["value"] is None:
        return -1.0, f"**{title}**: undefined ({d['reason']})."
    rate = m.rate
    if rate is None:  # equalized odds: read the part that drives it, and its flags
        rate = d.get("driven_by") or "tpr"
        title += f", driven by the {'false' if rate == 'fpr' else 'true'}-positive rate"
    lo_label = d.get("lowest")
    hi_label = d.get("highest")
    text = (f"**{title}**: a gap of {_pts(d['value'])}{_ci_pts(d['ci'])}; lowest for "
            f"{_group_figure(audit, lo_label, rate, cls)}, highest for {_group_figure(audit, hi_label, rate, cls)}.")
    flags = [f for f in audit["flags"] if _rate_of_flag(f) == rate and (not m.per_class or f["class"] == cls)]
    if flags:
        shown = "; ".join(f["message"] for f in flags[:3])
        more = f" (and {len(flags) - 3} more)" if len(flags) > 3 else ""
        text += f" **Flagged**: {shown}{more}."
    else:
        text += " Not flagged" + _undetectable(d.get("mdd")) + "."
    return d["value"], text


def _undetectable(mdd: dict | None) -> str:
    """", but gaps under 0.14 could not be detected at these group sizes (...)" (docs/fairness.md)."""
    if not mdd or mdd.get("value") is None:
        return ""
    groups = mdd.get("groups") or []
    n = mdd.get("n") or []
    sizes = f"; {groups[0]} n={n[0]:,} vs {groups[1]} n={n[1]:,}" if len(groups) == 2 and len(n) == 2 else ""
    flag = mdd.get("at_flag_level")
    return (f", but gaps under {mdd['value']:.3f} could not be detected at these group sizes (80% power, 5% level"
            + (f"; {flag:.3f} at the flags' simultaneous level" if flag is not None else "") + f"{sizes})")


def _fmt(x) -> str:
    return "—" if x is None else f"{x:.3f}"


def detectable_table(audit: dict) -> list[str]:
    """Markdown table of every headline measure: its value, interval and minimum detectable difference."""
    lines = ["| measure | value | 95% CI | detectable at 80% power (5% level) | at the flags' level | groups (n) |",
             "|---|---|---|---|---|---|"]
    for name, d in audit["disparities"].items():
        mdd = d.get("mdd") or {}
        ci = d.get("ci")
        groups = " vs ".join(f"{g} ({n:,})" for g, n in zip(mdd.get("groups") or [], mdd.get("n") or []))
        what = d.get("label") or name
        if d.get("class") is not None and "per_class" in d:
            what += f" ['{d['class']}']"
        lines.append(f"| {what} | {_fmt(d.get('value'))} | {'' if not ci else f'{_fmt(ci[0])} to {_fmt(ci[1])}'} | "
                     f"{_fmt(mdd.get('value'))} | {_fmt(mdd.get('at_flag_level'))} | {groups or mdd.get('reason') or ''} |")
    return lines


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
                     "simultaneous 95% interval that excludes zero. No flag is not evidence of no disparity: each audit's "
                     "table says how large a gap its group sizes could detect.")
    for audit in data["audits"]:
        lines += ["", f"## By {audit['name']}", ""]
        if audit["reference"] is not None:
            lines.append(f"Reference group: {audit['reference']} ({audit['reference_reason']}). "
                         f"Compared: {len(audit['compared_groups'])} group(s).")
        if audit["disparities"]:
            lines += ["", "Largest gaps, largest first:", ""]
            # (an audit.json of an older schema lacks the newer measures)
            ranked = sorted((_gap_line(audit, m.name) for m in measures("disparity")
                             if m.summary and m.name in audit["disparities"]), key=lambda t: -t[0])
            lines += [f"{i}. {text}" for i, (_, text) in enumerate(ranked, 1)]
            lines += ["", "What the data can show (minimum detectable difference, docs/fairness.md):", "",
                      *detectable_table(audit)]
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


# ---- the sentences the audit stores (notes, flag messages); the estimation never writes English ----------------
RATE_NAMES = {"selection_rate": "selection rate", "tpr": "true-positive rate", "fpr": "false-positive rate",
              "accuracy": "accuracy", "ece": "expected calibration error"}


def note_too_small(groups: list[tuple[str, int]], minimum: int) -> str:
    listed = ", ".join(f"{label} (n={n})" for label, n in groups)
    return (f"{len(groups)} group(s) have fewer than {minimum} rows: {listed}. Their own figures are "
            "reported, but they are left out of every gap, comparison and flag (too few rows to compare).")


def note_nothing_to_compare(minimum: int) -> str:
    return (f"fewer than two groups have at least {minimum} rows, so no disparity can be "
            "computed; lower --min-group-size or audit a coarser attribute")


def note_reference_elsewhere(reference: str, grouping: str) -> str:
    return f"'{reference}' is not a group of '{grouping}'; the largest group is the reference here"


def note_one_class(group: str, n: int, cls: str, classes: list[str]) -> str:
    others = [c for c in classes if c != cls]
    listed = f"'{others[0]}'" if len(others) == 1 else "every other class"
    return (f"group '{group}' (n={n}) has one true class only, '{cls}': its "
            f"false-positive rate for '{cls}' is undefined (no row of another class, 0/0), and so is its "
            f"true-positive rate for {listed} (no row of that class); the group is left out of the TPR, FPR, "
            "equalized-odds and average-odds figures where its rate is undefined.")


def note_label_conditioned(grouping: str, one_per_class: bool) -> str:
    return (f"every group of '{grouping}' holds a single true class, so selection rates (demographic "
            "parity, disparate impact, the four-fifths rule) compare different true classes: they are shown but "
            "never flagged. "
            + ("Here the attribute is the target itself (or determines it): gaps between these groups measure "
               "class balance and per-class accuracy, not fairness. Audit by an attribute that is not the label "
               "(the coursework's disparate impact of 0.13 made this mistake)."
               if one_per_class else
               "A group's accuracy is its recall of its own class, and TPR and FPR compare only groups of the same "
               "true class: this intersection of an attribute with the label compares, within each true class, "
               "the attribute's groups (per-class accuracy by group)."))


def four_fifths_text(group: str, cls: str, rate: float, ratio: float, top: str, top_rate: float) -> str:
    return f"{group} is predicted '{cls}' at {rate:.1%}, {ratio:.2f} times the rate of {top} ({top_rate:.1%})"


def note_four_fifths_by_chance(text: str, ci: list) -> str:
    return (f"{text}: below four-fifths by the point rule, but its 95% interval "
            f"({ci[0]:.2f} to {ci[1]:.2f}) reaches 1, so chance explains it; not flagged")


def four_fifths_message(text: str, ci: list | None) -> str:
    return (text + ": below the four-fifths rule (0.8)"
            + (f", 95% CI of the ratio {ci[0]:.2f} to {ci[1]:.2f}" if ci else " (no bootstrap: point rule only)"))


def gap_flag_message(grouping: str, rate: str, cls: str | None, value: float, ci: list, lower: str, lower_rate: float,
                     higher: str, higher_rate: float, bound: float, n_separated: int) -> str:
    what = RATE_NAMES[rate] + ("" if cls is None else f" of '{cls}'")
    return (f"{what} differs across {grouping}: gap {value:.3f} (simultaneous 95% CI "
            f"{ci[0]:.3f} to {ci[1]:.3f}, excludes 0); {lower} ({lower_rate:.3f}) is below {higher} ({higher_rate:.3f}) "
            f"by at least {bound:.3f}" + (f"; {n_separated} pairs of groups are separated" if n_separated > 1 else ""))
