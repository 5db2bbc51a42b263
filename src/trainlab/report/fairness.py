"""The fairness part of the page, from ``audit/audit.json`` (``trainlab audit``) and ``mitigated-*/mitigation.json``.

Per grouping (``race``, ``race × gender``): the flags, a table of groups with the accuracy, F1 and the
favorable class's selection rate, TPR and FPR, each with its 95% bootstrap interval, the disparity
measures with their intervals, the plots, and the plain-language summary the audit wrote. Key numbers
carry ``data-audit``, ``data-group``/``data-measure``, ``data-value``, ``data-ci-low``, ``data-ci-high``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from trainlab.report import blocks as B
from trainlab.report.blocks import Ids, Section, fmt
from trainlab.report.markdown import to_html

MEASURES = {
    "accuracy_gap": "Accuracy gap (max − min over groups)",
    "worst_group_accuracy": "Worst-group accuracy",
    "calibration_gap": "Calibration gap (ECE, max − min over groups)",
    "demographic_parity_difference": "Demographic parity difference",
    "demographic_parity_ratio": "Demographic parity ratio (lowest / highest selection rate)",
    "equal_opportunity_difference": "Equal opportunity difference (TPR gap)",
    "false_positive_rate_difference": "False-positive rate difference",
    "equalized_odds_difference": "Equalized odds difference",
    "statistical_parity_difference": "Statistical parity difference (vs reference)",
    "disparate_impact": "Disparate impact (vs reference)",
    "average_odds_difference": "Average odds difference (vs reference)",
    "accuracy": "Accuracy",
    "accuracy_difference": "Accuracy difference (vs reference)",
}


def _label(measure: str) -> str:
    return MEASURES.get(measure, measure.replace("_", " ").capitalize())


def _value(stat: Any) -> tuple[Any, list | None, str | None]:
    """(value, ci, reason) from ``{"value", "ci", "reason"}`` (or a bare number)."""
    if isinstance(stat, dict):
        return stat.get("value"), stat.get("ci"), stat.get("reason")
    return stat, None, None


def _ci_text(ci: list | None) -> str:
    if not ci or len(ci) != 2:
        return ""
    lo, hi = ci
    show = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731 - one rounding for both ends
    return f"[{show(lo)}, {'∞' if hi is None else show(hi)}]"


def _stat_cell(stat: Any, attrs: dict[str, str]) -> B.Cell:
    value, ci, reason = _value(stat)
    if value is None:
        return B.Cell("undefined", True, reason, {**attrs, "data-value": ""})
    attrs = {**attrs, "data-value": B.data_value(value)}
    if ci:
        attrs.update({"data-ci-low": B.data_value(ci[0]), "data-ci-high": B.data_value(ci[1])})
    return B.Cell(fmt(value), True, reason, attrs, sub=_ci_text(ci) or None)


def audit_blocks(ids: Ids, audit, run: str, *, heading: str | None = None,
                 folder: str = "audit") -> tuple[list[dict], list[Section]]:
    """Blocks (intro, summary, flags) and one sub-section per grouping, from an :class:`~trainlab.report.collect.Audit`.

    ``folder`` (the audit folder relative to the run) goes into ``data-audit-folder`` so the audit of
    mitigated predictions is told apart from the original one."""
    data = audit.data
    blocks: list[dict] = []
    if heading:
        blocks.append(B.p(heading, "small"))
    if not isinstance(data, dict) or not isinstance(data.get("audits"), list):
        # an audit folder without a readable audit.json: show what is there
        if audit.summary_md:
            blocks.append(B.html(to_html(audit.summary_md, heading_offset=3)))
        for name, frame in audit.tables.items():
            blocks.append(B.details(name, [B.table(B.frame_table(frame))]))
        blocks.append(B.figures(audit.images))
        return [b for b in blocks if b], []

    boot = data.get("bootstrap") or {}
    level = boot.get("ci_level", 0.95)
    level_text = f"{100 * level:.0f}%" if isinstance(level, (int, float)) else str(level)
    intro = (f"{fmt(data.get('n'))} {data.get('split') or ''} predictions; "
             + (f"favorable class '{data['favorable']}'" + (f" ({data['favorable_reason']})" if data.get("favorable_reason") else "")
                if data.get("favorable") else "no favorable class: per class one-vs-rest, headline figures the worst over classes")
             + f". {level_text} confidence intervals from {fmt(boot.get('resamples'))} bootstrap resamples (seed {boot.get('seed', '?')}); "
             f"groups smaller than {fmt(data.get('min_group_size'))} are shown but not compared.")
    blocks.append(B.p(intro, "small"))
    flags = [f for a in data["audits"] for f in a.get("flags", [])]
    if flags:
        blocks.append(B.p(f"{len(flags)} flag(s): a gap whose confidence interval excludes zero, or a selection-rate "
                          "ratio below four fifths" + (", explained in the summary below." if audit.summary_md else ":"),
                          "warning"))
        if not audit.summary_md:
            blocks.append({"type": "notes", "items": [f.get("message", "") for f in flags]})
    else:
        blocks.append(B.p("No flags: no gap's confidence interval excludes zero, and no selection-rate ratio is "
                          "below four fifths.", "finding"))
    if audit.summary_md:
        blocks.append(B.details("The audit's plain-language summary (summary.md)",
                                [B.html(to_html(_without_title(audit.summary_md), heading_offset=3))], open=True))
    children = [_grouping(ids, audit, a, data, run, folder) for a in data["audits"]]
    return blocks, children


def _without_title(markdown: str) -> str:
    """summary.md without its first '# ' line: the report's own heading already says what it is."""
    lines = markdown.lstrip().splitlines()
    return "\n".join(lines[1:]) if lines and lines[0].startswith("# ") else markdown


def _grouping(ids: Ids, audit, a: dict, data: dict, run: str, folder: str) -> Section:
    name = a.get("name") or ",".join(a.get("by", []))
    sec = Section(ids.make(run, "audit", audit.path.name, name), f"By {name}", attrs={"data-audit-section": name})
    favorable = a.get("favorable") or data.get("favorable")
    ref = a.get("reference")
    if ref:
        sec.add(B.p(f"Reference group: {ref}" + (f" ({a['reference_reason']})" if a.get("reference_reason") else "") + ".", "small"))
    sec.add(B.table(_groups_table(a, favorable, name, folder)))
    if a.get("too_small"):
        sec.add(B.p("Too small to compare (reported, not dropped): " +
                    ", ".join(f"{t['group']} (n = {t['count']})" for t in a["too_small"]) + ".", "small"))
    disparities = a.get("disparities") or {}
    if disparities:
        sec.add(B.table(_disparities_table(a, disparities, name, folder)))
    plots = a.get("plots") or {}
    captions = {
        "accuracy": f"Accuracy by {name}, with 95% intervals; the dashed line is the overall accuracy",
        "selection_rate": f"Selection rate by {name}" + (f" (share predicted '{favorable}')" if favorable else "") +
                          ", with 95% intervals and the four-fifths line",
        "tpr_fpr": f"True- and false-positive rates by {name}, with 95% intervals",
        "reliability": f"Reliability curves by {name} (accuracy against confidence per bin); ⚑ groups in a calibration flag",
    }
    images = [replace(im, caption=captions.get(kind, im.caption))
              for kind, rel in plots.items() for im in audit.images if im.path.as_posix().endswith(str(rel))]
    sec.add(B.figures(images or [im for im in audit.images if a.get("slug", "\0") in im.path.stem]))
    comparisons = a.get("comparisons") or []
    if comparisons:
        sec.add(B.details(f"Each group against the reference ({len(comparisons)} comparisons)",
                          [B.table(_comparisons_table(comparisons))]))
    sec.add(B.notes([str(n) for n in a.get("notes") or []]))
    return sec


def _groups_table(a: dict, favorable: str | None, name: str, folder: str) -> B.Table:
    cols = [B.Column("group"), B.Column("n", True), B.Column("accuracy", True), B.Column("macro F1", True)]
    if favorable:
        cols += [B.Column(f"selection rate of '{favorable}'", True, "share predicted as the favorable class"),
                 B.Column("TPR", True, "true-positive rate of the favorable class"),
                 B.Column("FPR", True, "false-positive rate of the favorable class"),
                 B.Column("base rate", True, "share truly of the favorable class")]
    rows = []
    for g in [*(a.get("groups") or []), a.get("overall")]:
        if not g:
            continue
        group = str(g.get("group"))
        label = group + (" (reference)" if g.get("reference") else "") + (" (too small)" if g.get("too_small") else "")
        attr = lambda measure: {"data-audit": name, "data-audit-folder": folder, "data-group": group,  # noqa: E731
                                "data-measure": measure}
        cells = [B.Cell(label), B.Cell(fmt(g.get("count")), True),
                 _stat_cell(g.get("accuracy"), attr("accuracy")), _stat_cell(g.get("macro_f1"), attr("macro_f1"))]
        if favorable:
            per = (g.get("per_class") or {}).get(favorable) or {}
            cells += [_stat_cell(per.get(m), attr(f"{m}:{favorable}")) for m in ("selection_rate", "tpr", "fpr", "base_rate")]
        row_attrs = {"class": "overall"} if g is a.get("overall") else {}
        rows.append(B.Row(cells, row_attrs))
    return B.Table(cols, rows, row_headers=True, scroll=len(rows) > 16,
                   caption="Per group, each figure with its 95% bootstrap interval below it; the last row is everyone together.")


def _flagged_measures(a: dict) -> set[tuple[str, str | None]]:
    return {(f.get("measure"), f.get("class")) for f in a.get("flags") or []}


def _disparities_table(a: dict, disparities: dict, name: str, folder: str) -> B.Table:
    cols = [B.Column("measure"), B.Column("value", True, "with its 95% bootstrap interval"), B.Column("class"), B.Column("lowest → highest"),
            B.Column("detectable", True, "minimum detectable difference: 80% power, 5% level, at these group sizes"),
            B.Column("definition")]
    flagged = _flagged_measures(a)
    rows = []
    for measure, d in disparities.items():
        if not isinstance(d, dict):
            continue
        attrs = {"data-audit": name, "data-audit-folder": folder, "data-measure": measure}
        spread = ""
        if d.get("lowest") is not None or d.get("highest") is not None:
            spread = f"{d.get('lowest')} → {d.get('highest')}"
        elif d.get("group") is not None:
            spread = f"{d.get('group')}" + (f" vs {d['reference']}" if d.get("reference") else "")
        is_flagged = (measure, d.get("class")) in flagged or any(m == measure for m, _ in flagged)
        mdd = (d.get("mdd") or {}).get("value")
        rows.append(B.Row([B.Cell((d.get("label") or _label(measure)) + (" ⚑" if is_flagged else "")), _stat_cell(d, attrs),
                           B.Cell(str(d.get("class") or "")), B.Cell(spread),
                           B.Cell("n/a" if mdd is None else fmt(mdd), True, (d.get("mdd") or {}).get("reason")),
                           B.Cell(str(d.get("definition") or ""))],
                          {"class": "flagged"} if is_flagged else {}))
    return B.Table(cols, rows, row_headers=True,
                   caption="Disparity measures (⚑ flagged). Differences near 0 and ratios near 1 mean parity.")


def _comparisons_table(comparisons: list[dict]) -> B.Table:
    cols = [B.Column("measure"), B.Column("class"), B.Column("group"), B.Column("reference"),
            B.Column("value [95% CI]", True), B.Column("simultaneous CI", True), B.Column("separated")]
    rows = []
    for c in comparisons:
        sim = c.get("ci_simultaneous")
        rows.append(B.Row([B.Cell(_label(str(c.get("measure")))), B.Cell(str(c.get("class") or "")),
                           B.Cell(str(c.get("group"))), B.Cell(str(c.get("reference"))),
                           _stat_cell(c, {}), B.Cell(_ci_text(sim), True),
                           B.Cell("yes" if c.get("separated") or c.get("flagged") else "no")]))
    return B.Table(cols, rows, scroll=len(rows) > 15)


def mitigation_section(ids: Ids, run: str, mitigation) -> Section:
    """``mitigated-<constraint>/``: the method, the rows changed, before/after with intervals, the audit after."""
    data = mitigation.data if isinstance(mitigation.data, dict) else {}
    title = f"Mitigation: {data.get('constraint', mitigation.name).replace('_', ' ')}"
    if data.get("by"):
        title += f" across {' × '.join(data['by'])}"
    sec = Section(ids.make(run, mitigation.name), title, attrs={"data-mitigation": mitigation.name})
    if data:
        changed = data.get("changed_rows") or {}
        line = (f"{data.get('method', 'per-group decision rules')}, fitted on val and applied to test"
                + (f"; favorable class '{data['favorable']}'" if data.get("favorable") else "")
                + (f"; {fmt(changed.get('test'))} test and {fmt(changed.get('val'))} val predictions changed" if changed else "")
                + ". Only y_pred changes; the probabilities are kept.")
        sec.add(B.p(line))
        rows = data.get("before_after") or []
        for split in ("test", "val"):
            mine = [r for r in rows if r.get("split") == split]
            if not mine:
                continue
            table = _before_after_table(mine, run, split)
            sec.add(B.table(table) if split == "test" else B.details("The same on val (where the rules were fitted)", [B.table(table)]))
    else:
        for name, frame in mitigation.tables.items():
            sec.add(B.table(B.frame_table(frame, caption=name)))
    sec.add(B.figures(mitigation.images))
    if mitigation.audit is not None:
        blocks, children = audit_blocks(ids, mitigation.audit, f"{run}-{mitigation.name}",
                                        heading="Audit of the mitigated test predictions:",
                                        folder=f"{mitigation.name}/audit")
        sec.add(B.details("Audit of the mitigated predictions", blocks + [
            b for child in children for b in [B.p(child.title, "small"), *child.blocks]]))
    if not sec.blocks:
        sec.add(B.missing(f"{mitigation.path} holds no results."))
    return sec


def _before_after_table(rows: list[dict], run: str, split: str) -> B.Table:
    cols = [B.Column("measure"), B.Column("class"), B.Column("before", True, "with its 95% interval"), B.Column("after", True, "with its 95% interval"),
            B.Column("change", True)]
    out = []
    for r in rows:
        measure = str(r.get("measure"))
        attrs = lambda when: {"data-mitigation-split": split, "data-measure": measure, "data-when": when}  # noqa: E731
        before = _stat_cell({"value": r.get("before"), "ci": r.get("before_ci"), "reason": r.get("reason")}, attrs("before"))
        after = _stat_cell({"value": r.get("after"), "ci": r.get("after_ci"), "reason": r.get("reason")}, attrs("after"))
        change = r.get("change")
        out.append(B.Row([B.Cell(_label(measure)), B.Cell(str(r.get("class") or "")), before, after,
                          _change_cell(change, r.get("change_ci"), attrs("change"))]))
    return B.Table(cols, out, row_headers=True, caption=f"Before and after, {split} split; the change (after − before) "
                   "with its paired bootstrap 95% interval (the same items resampled for both).")


def _change_cell(change, ci, attrs: dict[str, str]) -> B.Cell:
    """A change a − b with its paired interval below it (signed)."""
    if change is None:
        return B.Cell("n/a", True)
    attrs = {**attrs, "data-value": B.data_value(change)}
    sub = None
    if ci:
        attrs.update({"data-ci-low": B.data_value(ci[0]), "data-ci-high": B.data_value(ci[1])})
        sub = f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"
    return B.Cell(f"{change:+.3f}", True, None, attrs, sub=sub)


def gap_change_table(entry: dict) -> B.Table:
    """``compare --by``: each fairness gap of a and of b and the change a − b with its paired interval."""
    a, b = entry.get("a"), entry.get("b")
    cols = [B.Column("measure"), B.Column("class"), B.Column(f"{a}", True), B.Column(f"{b}", True),
            B.Column(f"change {a} − {b}", True, "with its paired bootstrap 95% interval")]
    rows = []
    for m in entry.get("measures") or []:
        attrs = {"data-gap-change": f"{a}|{b}|{entry.get('by')}", "data-measure": str(m.get("measure"))}
        value = lambda v: B.Cell("undefined" if v is None else fmt(v), True)  # noqa: E731
        rows.append(B.Row([B.Cell(_label(str(m.get("measure")))), B.Cell(str(m.get("class") or "")),
                           value(m.get("a")), value(m.get("b")), _change_cell(m.get("change"), m.get("ci"), attrs)]))
    scope = f"favorable class '{entry['favorable']}'" if entry.get("favorable") else "worst over classes"
    return B.Table(cols, rows, row_headers=True,
                   caption=f"Fairness gaps by {entry.get('by')} ({scope}; reference {entry.get('reference')}; groups "
                   f"compared: {', '.join(entry.get('compared_groups') or []) or 'none'}). Each gap as in the audit.")
