"""``audit.json``: the result of ``trainlab audit`` (owner: trainlab.fairness), read by the report and mitigation.

One :class:`AuditResult` per audit folder; ``audits`` holds one :class:`GroupingAudit` per ``--by`` entry.
Every figure is an :class:`Estimate`: ``value``, its 95% ``ci`` (null without bootstrap, or where the figure is
undefined or rests on too few rows) and ``reason`` (why the value is null, or why it has no interval: "insufficient
evidence: ..."). The meaning of every field: docs/fairness.md ("audit.json").

    result = AuditResult.read(run / "audit")
    result.get("race").disparities["accuracy_gap"].value, result.flagged
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from trainlab.artifacts.base import Artifact


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", serialize_by_alias=True, validate_by_name=True,
                              validate_by_alias=True, protected_namespaces=())


class Estimate(_Part):
    """A figure with its 95% interval; ``reason`` says why ``value`` is null, or why ``ci`` is."""

    value: float | None
    ci: list[float | None] | None = None  # [low, high]; high null = unbounded (a ratio to a rate whose interval reaches 0)
    reason: str | None = None

    @property
    def insufficient(self) -> bool:
        """Rests on fewer rows than the audit's minimum: shown, never compared or flagged."""
        return bool(self.reason and self.reason.startswith("insufficient evidence"))


class GroupFigures(_Part):
    """One group's own figures (or ``overall``): per group, and per class one-vs-rest."""

    group: str
    values: dict[str, str] | None = None  # column -> value (null for the overall row)
    count: int
    too_small: bool = False
    reference: bool = False
    accuracy: Estimate
    error_rate: Estimate
    macro_f1: Estimate
    ece: Estimate | None = None  # expected calibration error (schema 2; null value with a reason without probabilities)
    per_class: dict[str, dict[str, Estimate]]  # class -> base_rate, selection_rate, tpr, fpr, f1


class Detectable(_Part):
    """The minimum detectable difference of a measure (schema 2): the smallest true difference between the two
    groups named that a two-sided test at the 5% level detects with 80% power, at their sizes."""

    value: float | None  # (z_0.975 + z_0.8) · SE, difference form (for a ratio measure: of the rates it divides)
    at_flag_level: float | None = None  # the same with the audit's simultaneous critical value in place of z_0.975
    groups: list[str] = []  # the pair it is for: the smallest and the largest relevant group (or the reference)
    n: list[int] = []  # the rows each rests on (the measure's denominator: all rows, true k, not true k)
    pooled_rate: float | None = None  # p of p(1 − p); null for a measure that is not a proportion (ECE)
    form: str = "difference"
    reason: str | None = None  # why value is null


class Disparity(Estimate):
    """A measure over groups: a gap, a ratio, a worst group, or the headline of a comparison with the reference."""

    cls: str | None = Field(None, alias="class")
    lowest: str | None = None
    highest: str | None = None
    group: str | None = None
    reference: str | None = None
    driven_by: str | None = None  # equalized odds: 'tpr' or 'fpr'
    over: str | None = None
    label: str | None = None  # plain name (the catalogue's), for tables
    definition: str | None = None
    per_class: dict[str, Disparity] | None = None
    mdd: Detectable | None = None  # schema 2: what the data can show (docs/fairness.md, "What the data can show")


class Comparison(Estimate):
    """One group against the reference, for one measure (and class)."""

    measure: str
    cls: str | None = Field(None, alias="class")
    group: str
    reference: str
    ci_simultaneous: list[float | None] | None = None
    separated: bool | None = None


class Flag(_Part):
    kind: str  # 'four_fifths' | 'ci_excludes_zero'
    audit: str
    measure: str
    cls: str | None = Field(None, alias="class")
    group: str
    versus: str
    value: float | None
    ci: list[float | None] | None = None
    reason: str | None = None
    message: str


class ReliabilityCurve(_Part):
    """One group's reliability diagram (schema 2): the bins of evaluation.calibration.reliability_bins."""

    group: str
    strategy: str  # equal-width | equal-count
    confidence: list[float | None]  # mean confidence per bin (null: empty bin)
    accuracy: list[float | None]
    count: list[int]
    low: list[float | None]  # 95% Wilson interval of the bin's accuracy
    high: list[float | None]


class TooSmall(_Part):
    group: str
    count: int


class GroupingAudit(_Part):
    """The audit of one grouping (one column, or an intersection)."""

    by: list[str]
    name: str
    slug: str
    favorable: str | None = None
    reference: str | None = None
    reference_reason: str
    compared_groups: list[str]
    too_small: list[TooSmall] = []
    overall: GroupFigures
    groups: list[GroupFigures]
    disparities: dict[str, Disparity] = {}
    comparisons: list[Comparison] = []
    flags: list[Flag] = []
    simultaneous_critical_value: float | None = None
    calibration_critical_value: float | None = None  # schema 2: the ECE family's max-t critical value
    reliability: list[ReliabilityCurve] = []  # schema 2: per group, for the reliability plot
    notes: list[str] = []
    plots: dict[str, str] = {}  # kind -> path relative to the audit folder

    def group(self, label: str) -> GroupFigures:
        for g in self.groups:
            if g.group == label:
                return g
        raise KeyError(f"no group {label!r} in the audit by {self.name}; have {[g.group for g in self.groups]}")


class BootstrapSettings(_Part):
    resamples: int
    seed: int
    ci_level: float
    method: str


class AuditResult(Artifact):
    KIND = "audit"
    SCHEMA_VERSION = 2  # 2: per-group ECE, the calibration gap, reliability curves, minimum detectable differences
    FILENAME = "audit.json"
    MADE_BY = "trainlab audit"

    source: str | None = None
    split: str | list[str] | None = None
    n: int
    classes: list[str]
    favorable: str | None = None
    favorable_reason: str
    min_group_size: int  # also the minimum rows under each (group, class) rate that is compared
    bootstrap: BootstrapSettings
    audits: list[GroupingAudit]

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, payload: Any) -> Any:
        if isinstance(payload, dict) and ("flagged" in payload or "flag_count" in payload):
            payload = {k: v for k, v in payload.items() if k not in ("flagged", "flag_count")}
        return payload

    @classmethod
    def migrate(cls, payload: dict, version: int, source) -> dict:
        if version == 0:  # trainlab.audit/1, written before artifacts carried kind and schema_version
            payload = {k: v for k, v in payload.items() if k != "schema"}
        if version in (0, 1):  # version 2 only adds optional fields (ece, mdd, reliability): absent means not computed
            return payload
        return super().migrate(payload, version, source)

    @property
    def flags(self) -> list[Flag]:
        return [f for a in self.audits for f in a.flags]

    @computed_field  # written to the file for readers of the JSON; derived, so never read back
    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    @computed_field
    @property
    def flag_count(self) -> int:
        return len(self.flags)

    @property
    def data(self) -> dict:
        """The content of audit.json, as JSON-ready dicts and lists."""
        return self.to_json()

    def table(self, name: str):
        """One grouping's groups as a DataFrame: group, n, accuracy with its interval, too small, reference."""
        import pandas as pd

        rows = []
        for g in self.get(name).groups:
            ci = g.accuracy.ci or [None, None]
            rows.append({"group": g.group, "n": g.count, "accuracy": g.accuracy.value, "ci_low": ci[0],
                         "ci_high": ci[1], "too_small": g.too_small, "reference": g.reference})
        return pd.DataFrame(rows)

    def get(self, name: str) -> GroupingAudit:
        """The audit of one grouping, by its name (``"race"``, ``"race × gender"``) or columns (``"race,gender"``)."""
        want = name.replace(",", " × ")
        for a in self.audits:
            if a.name == want or ",".join(a.by) == name:
                return a
        raise KeyError(f"no audit named {name!r}; have {[a.name for a in self.audits]}")


__all__ = ["AuditResult", "BootstrapSettings", "Comparison", "Detectable", "Disparity", "Estimate", "Flag",
           "GroupFigures", "GroupingAudit", "ReliabilityCurve", "TooSmall"]
