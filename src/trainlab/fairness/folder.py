"""Write an audit to its folder: audit.json (the artifact), CSV tables, plots, summary.md (all atomic writes).

The CSV tables are flattened views of audit.json (one source of truth):

    groups.csv       audit, group, count, too_small, reference, class, metric, value, ci_low, ci_high, reason
                     (metric ``ece``: the group's expected calibration error, when the table has probabilities)
    disparities.csv  audit, measure, scope (headline | per_class), class, value, ci_low, ci_high, reason,
                     lowest, highest, group, reference, mdd, mdd_at_flag_level (minimum detectable differences)
    comparisons.csv  audit, measure, class, group, reference, value, ci_low, ci_high,
                     sim_ci_low, sim_ci_high, separated, reason
    flags.csv        audit, kind, measure, class, group, versus, value, ci_low, ci_high, message
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trainlab.artifacts.audit import AuditResult
from trainlab.utils.io import atomic_write_text, write_table


def _ci(s: dict | None, i: int):
    return s["ci"][i] if s and s.get("ci") else None


def groups_table(data: dict) -> pd.DataFrame:
    rows = []
    for a in data["audits"]:
        for g in [a["overall"], *a["groups"]]:
            base = {"audit": a["name"], "group": g["group"], "count": g["count"],
                    "too_small": g.get("too_small", False), "reference": g.get("reference", False)}
            for metric in ("accuracy", "error_rate", "macro_f1", "ece"):
                s = g.get(metric)
                if s is None:  # an audit.json of schema 1 has no ece
                    continue
                rows.append({**base, "class": "", "metric": metric, "value": s["value"],
                             "ci_low": _ci(s, 0), "ci_high": _ci(s, 1), "reason": s["reason"]})
            for cls, metrics in g["per_class"].items():
                for metric, s in metrics.items():
                    rows.append({**base, "class": cls, "metric": metric, "value": s["value"],
                                 "ci_low": _ci(s, 0), "ci_high": _ci(s, 1), "reason": s["reason"]})
    return pd.DataFrame(rows)


def disparities_table(data: dict) -> pd.DataFrame:
    rows = []
    for a in data["audits"]:
        for measure, d in a["disparities"].items():
            entries = [("headline", d.get("class"), d)] + [("per_class", c, e) for c, e in (d.get("per_class") or {}).items()]
            for scope, cls, e in entries:
                rows.append({"audit": a["name"], "measure": measure, "scope": scope, "class": cls,
                             "value": e["value"], "ci_low": _ci(e, 0), "ci_high": _ci(e, 1), "reason": e["reason"],
                             "lowest": e.get("lowest"), "highest": e.get("highest"),
                             "group": e.get("group"), "reference": e.get("reference"),
                             "mdd": (e.get("mdd") or {}).get("value"),
                             "mdd_at_flag_level": (e.get("mdd") or {}).get("at_flag_level")})
    return pd.DataFrame(rows, columns=["audit", "measure", "scope", "class", "value", "ci_low", "ci_high", "reason",
                                       "lowest", "highest", "group", "reference", "mdd", "mdd_at_flag_level"])


def comparisons_table(data: dict) -> pd.DataFrame:
    rows = []
    for a in data["audits"]:
        for c in a["comparisons"]:
            sim = c.get("ci_simultaneous") or [None, None]
            rows.append({"audit": a["name"], "measure": c["measure"], "class": c["class"], "group": c["group"],
                         "reference": c["reference"], "value": c["value"], "ci_low": _ci(c, 0), "ci_high": _ci(c, 1),
                         "sim_ci_low": sim[0], "sim_ci_high": sim[1], "separated": c["separated"], "reason": c["reason"]})
    return pd.DataFrame(rows, columns=["audit", "measure", "class", "group", "reference", "value", "ci_low", "ci_high",
                                       "sim_ci_low", "sim_ci_high", "separated", "reason"])


def flags_table(data: dict) -> pd.DataFrame:
    rows = []
    for a in data["audits"]:
        for f in a["flags"]:
            ci = f.get("ci") or [None, None]
            rows.append({"audit": a["name"], "kind": f["kind"], "measure": f["measure"], "class": f["class"],
                         "group": f["group"], "versus": f["versus"],
                         "value": f["value"], "ci_low": ci[0], "ci_high": ci[1], "message": f["message"]})
    return pd.DataFrame(rows, columns=["audit", "kind", "measure", "class", "group", "versus", "value", "ci_low",
                                       "ci_high", "message"])


def write_audit(result: AuditResult, out: str | Path) -> dict[str, Path]:
    """Write audit.json, the CSV tables, summary.md and the plots into ``out``; returns name -> path."""
    from trainlab.fairness.plots import plot_audit
    from trainlab.fairness.prose import summary_markdown

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = result.data
    paths = {"audit.json": result.write(out)}
    for name, table in (("groups.csv", groups_table), ("disparities.csv", disparities_table),
                        ("comparisons.csv", comparisons_table), ("flags.csv", flags_table)):
        paths[name] = write_table(table(data), out / name)
    paths["summary.md"] = atomic_write_text(out / "summary.md", summary_markdown(result))
    for path in plot_audit(data, out):
        paths[f"plots/{path.name}"] = path
    return paths
