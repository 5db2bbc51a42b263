"""The change in each fairness gap between two models scored on the same items, with a paired bootstrap interval.

    changes = gap_changes(grouping, y_true, y_pred_a, y_pred_b, classes, favorable=1, reference=None,
                          minimum=30, replicates=1000, rng=rng)
    changes.rows[0]  # {"measure": "equal_opportunity_difference", "a": 0.21, "b": 0.08, "change": 0.13, "ci": [...]}

Model A's gap minus model B's, for every headline disparity of the catalogue
(:data:`trainlab.fairness.measures.CATALOGUE`), each computed exactly as the audit computes it (the same rates,
the same ``minimum`` per rate, the same compared groups and reference, the same favorable class or worst over
classes): on the full sample the two values equal the two audits' figures (tested).

**Paired resampling.** One replicate draws, within each group, n_g items with replacement (group sizes held,
as in the audit) and applies that one draw to *both* models, so the change keeps the pairing of the items. Every
figure depends on the items only through the joint cells (group, true class, A's prediction, B's prediction), and
the cell counts of n_g items drawn with replacement are Multinomial(n_g, cell counts / n_g) exactly; so one
``rng.multinomial`` per group draws every replicate's item weights summed by cell (the audit's vectorised scheme,
:mod:`trainlab.fairness.bootstrap`, on the joint table) and sparse 0/1 maps turn them into both models' confusion
counts: O(replicates × cells), never a Python loop over replicates. A model compared with itself has one
prediction per cell, so every replicate's change is exactly 0 and the interval is the point [0, 0].

**Intervals.** The change in a max − min gap (``gap`` and ``either_gap`` measures) gets the interval of
:func:`family_interval` (``interval: "family"``): bounds that hold whenever one simultaneous max-t family of both
models' pairwise contrasts and their paired changes holds, so it covers the true change with probability at least
95% however close the groups' rates are (a max − min has a kink where two true rates tie, and there the percentile
interval covered 73-82%: BENCHMARKS.md); where each model's extremes are clear, the paired percentile interval of
those two contrasts. The other measures and the overall accuracy keep the percentile interval of the replicates'
changes (2.5th and 97.5th percentiles; replicates where the change is undefined are ignored, and fewer than half
defined gives no interval). Every interval is marginal over measures: one per measure, not a simultaneous family
across them. bench/bench_coverage.py measures their coverage.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse, stats

from trainlab.fairness import measures as M
from trainlab.fairness.bootstrap import CI_LEVEL
from trainlab.fairness.rates import Counts, rates_from_counts, support

_CHUNK_ELEMENTS = 20_000_000  # cap on replicates × cells drawn at once
SMALL_GROUP = 300  # below this many rows in a compared group, the gap changes' intervals cover less than 95%
_KNOWN = {"gap", "ratio", "either_gap", "worst", "headline"}  # how a measure is derived (others are skipped)
_TO_REFERENCE = {"statistical_parity_difference": "difference", "equal_opportunity_difference": "difference",
                 "false_positive_rate_difference": "difference", "accuracy_difference": "difference",
                 "disparate_impact": "ratio", "average_odds_difference": "average_odds"}


@dataclass(frozen=True)
class GapChanges:
    """The change of every headline gap between models A and B on one grouping (see the module docstring)."""

    name: str  # the grouping, e.g. "race" or "race × gender"
    compared_groups: list[str]
    reference: str | None
    favorable: str | None
    replicates: int
    rows: list[dict]  # one per measure: measure, label, class, a, b, change, ci, excludes_zero, reason
    note: str | None = None  # when the intervals are known to cover less often than claimed

    def to_dict(self) -> dict:
        return {"by": self.name, "compared_groups": self.compared_groups, "reference": self.reference,
                "favorable": self.favorable, "replicates": self.replicates, "confidence": CI_LEVEL,
                "measures": self.rows, "note": self.note}


def joint_cells(codes, y_true, y_pred_a, y_pred_b, n_classes: int):
    """The non-empty joint cells: (group, true, A's, B's prediction) of each and its count."""
    K = int(n_classes)
    flat = ((np.asarray(codes, dtype=np.int64) * K + np.asarray(y_true)) * K + np.asarray(y_pred_a)) * K + np.asarray(y_pred_b)
    cells, counts = np.unique(flat, return_counts=True)
    pb = cells % K
    pa = (cells // K) % K
    t = (cells // K // K) % K
    g = cells // K // K // K
    return g, t, pa, pb, counts


class PairedMaps:
    """Sparse 0/1 maps from the joint cells to both models' (group, class) counts; built once per comparison."""

    def __init__(self, g, t, pa, pb, n_groups: int, n_classes: int):
        C, GK = len(g), n_groups * n_classes
        cols, ones = np.arange(C), np.ones(C)

        def to(key, values=ones):  # cells -> flattened (group, class) columns
            return sparse.csr_matrix((values, (cols, g * n_classes + key)), shape=(C, GK)).T.tocsr()

        self.shape = (n_groups, n_classes)
        self.group = sparse.csr_matrix((ones, (cols, g)), shape=(C, n_groups)).T.tocsr()
        self.pos = to(t)
        self.sel = (to(pa), to(pb))
        self.tp = (to(t, (pa == t).astype(np.float64)), to(t, (pb == t).astype(np.float64)))

    def counts(self, weights: np.ndarray) -> tuple[Counts, Counts]:
        """Both models' one-vs-rest counts, leading shape (R, G), from cell weights (R, cells)."""
        wt = np.ascontiguousarray(weights.T)
        shape = (weights.shape[0], *self.shape)

        def apply(m):
            return np.asarray(m @ wt).T.reshape(shape)

        n = np.asarray(self.group @ wt).T
        pos = apply(self.pos)
        a = Counts(n=n, pos=pos, sel=apply(self.sel[0]), tp=apply(self.tp[0]))
        b = Counts(n=n, pos=pos, sel=apply(self.sel[1]), tp=apply(self.tp[1]))
        return a, b


def draw_weights(g, counts, n_groups: int, replicates: int, rng: np.random.Generator):
    """Cell weights of ``replicates`` group-stratified bootstrap draws, in chunks of (R_chunk, cells)."""
    step = max(1, _CHUNK_ELEMENTS // max(1, len(g)))
    members = [np.flatnonzero(g == j) for j in range(n_groups)]
    for start in range(0, replicates, step):
        size = min(step, replicates - start)
        w = np.zeros((size, len(g)))
        for idx in members:
            if len(idx):
                c = counts[idx].astype(np.float64)
                w[:, idx] = rng.multinomial(int(c.sum()), c / c.sum(), size=size)
        yield w


# ---- the catalogue's headline measures, on rates with the compared groups on axis -2 ---------------------------
def _masked(rates: dict, counts: Counts, E: np.ndarray, minimum: int) -> dict:
    """The compared groups' rates, NaN where the rate rests on fewer than ``minimum`` rows (as the audit)."""
    out = {}
    for metric in ("selection_rate", "tpr", "fpr", "accuracy"):
        enough = support(metric, counts)[E] >= minimum
        x = rates[metric][..., E] if metric == "accuracy" else rates[metric][..., E, :]
        out[metric] = np.where(enough, x, np.nan)
    return out


def _per_class(m: M.Measure, r: dict, ri: int) -> np.ndarray:
    """Measure m per class (..., K) (per-group measures: (...,)), groups on axis -2 (or -1)."""
    axis = -2 if m.per_class else -1
    if m.how == "gap":
        return M.range_difference(r[m.rate], axis=axis)
    if m.how == "ratio":
        return M.min_max_ratio(r[m.rate], axis=axis)
    if m.how == "worst":
        return M.group_min(r[m.rate], axis=axis)
    if m.how == "either_gap":
        return M.equalized_odds_difference(r["tpr"], r["fpr"], axis=axis)
    raise ValueError(m.how)


def _to_reference(m: M.Measure, r: dict, ri: int) -> np.ndarray:
    """The comparison a headline summarises, for every compared group but the reference: (..., G-1, K)."""
    how = _TO_REFERENCE[m.headline_of]
    if how == "difference":
        x = M.difference_to_reference(r[m.rate], ri, axis=-2)
    elif how == "ratio":
        x = M.ratio_to_reference(r[m.rate], ri, axis=-2)
    else:
        x = M.average_odds_difference(r["tpr"], r["fpr"], ri, axis=-2)
    return np.delete(x, ri, axis=-2)


def headline_values(m: M.Measure, r: dict, ri: int, head: list[int], favorable: int | None) -> np.ndarray:
    """The audit's headline of measure m: the favorable class's value, else the worst over classes (and, for a
    headline of comparisons with the reference, over groups)."""
    if m.how == "headline":
        x = _to_reference(m, r, ri)[..., head]
        flat = x.reshape(*x.shape[:-2], -1)
        if not flat.shape[-1]:
            return np.full(flat.shape[:-1], np.nan)
        return M.worst(flat, kind=m.worst_over, axis=-1)
    x = _per_class(m, r, ri)
    if not m.per_class:
        return x
    x = x[..., head]
    return x[..., 0] if favorable is not None else M.worst(x, kind=m.worst_over, axis=-1)


INTERVALS = ("family", "percentile", "bc", "basic")
INTERVAL = "percentile"  # the changes of the overall accuracy and of the smooth (or non-gap) measures


def interval(changes: np.ndarray, point: float, method: str = INTERVAL, level: float = CI_LEVEL) -> list[float] | None:
    """The bootstrap interval of a change from its replicates: ``percentile`` (the replicates' 2.5th and 97.5th
    percentiles), ``bc`` (bias-corrected percentile, Efron 1987: the percentiles shifted by z0 = Φ⁻¹(share of
    replicates below the estimate, ties counted half)) or ``basic`` (2θ̂ − the percentiles). None when fewer than
    half the replicates are defined."""
    ok = np.isfinite(changes)
    if ok.sum() < max(1, len(changes) / 2):
        return None
    r = changes[ok]
    alpha = (1.0 - level) / 2.0
    if method == "percentile":
        lo, hi = np.quantile(r, [alpha, 1 - alpha])
    elif method == "basic":
        q_lo, q_hi = np.quantile(r, [alpha, 1 - alpha])
        lo, hi = 2 * point - q_hi, 2 * point - q_lo
    elif method == "bc":
        below = (np.sum(r < point) + 0.5 * np.sum(r == point)) / len(r)
        below = np.clip(below, 0.5 / len(r), 1 - 0.5 / len(r))
        z0 = stats.norm.ppf(below)
        levels = stats.norm.cdf(2 * z0 + stats.norm.ppf([alpha, 1 - alpha]))
        lo, hi = np.quantile(r, levels)
    else:
        raise ValueError(f"interval method {method!r}; one of {INTERVALS}")
    return [float(lo), float(hi)]


# ---- the interval of a change in a max − min gap: bounds from one simultaneous family ---------------------------
FAMILY = ("gap", "either_gap")  # measures that are a maximum of contrasts, whose changes get the family interval
_FAMILY_ELEMENTS = 60_000_000  # above replicates × 3 × contrasts, the percentile interval (memory), and a note


def contrasts(m: M.Measure, r: dict, head: list[int], keep: np.ndarray | None = None) -> np.ndarray:
    """The contrasts d_j whose maximum is measure m's headline: r_a − r_b over unordered pairs a < b of compared
    groups (each also stands for its reverse, −d_j), over the head classes, and for the equalized odds over both
    TPR and FPR; shape (..., J), NaN where a rate is left out. ``keep`` (K,): classes where the measure is defined
    (the equalized odds needs both of its gaps; the audit leaves a class out otherwise)."""
    rates = ("tpr", "fpr") if m.how == "either_gap" else (m.rate,)
    parts = []
    for rate in rates:
        x = r[rate]
        if m.per_class:
            d = np.take(x, _PAIRS[0](x.shape[-2]), axis=-2) - np.take(x, _PAIRS[1](x.shape[-2]), axis=-2)
            if keep is not None:
                d = np.where(keep, d, np.nan)
            d = d[..., head]
            parts.append(d.reshape(*d.shape[:-2], -1))
        else:
            parts.append(np.take(x, _PAIRS[0](x.shape[-1]), axis=-1) - np.take(x, _PAIRS[1](x.shape[-1]), axis=-1))
    return np.concatenate(parts, axis=-1)


_PAIRS = (lambda g: np.triu_indices(g, k=1)[0], lambda g: np.triu_indices(g, k=1)[1])


def family_interval(da: np.ndarray, db: np.ndarray, boot_a: np.ndarray, boot_b: np.ndarray,
                    level: float = CI_LEVEL) -> list[float] | None:
    """An interval for gap_A − gap_B, gap = max_j d_j over ordered contrasts (both signs of each pair), that holds
    whenever one simultaneous family holds: A's contrasts d^A_j, B's d^B_j and their paired changes d^A_j − d^B_j,
    each θ̂ ± c·se with c the bootstrap max-t quantile over all three (:class:`~trainlab.fairness.bootstrap.MaxT`).
    On that event (probability ≈ ``level``):

        gap_A ∈ [L_A, U_A] = [max(0, max_j lo^A_j), max_j hi^A_j]      (likewise gap_B)
        gap_A − gap_B ≤ min(U_A − L_B, max over j in Q_A of hi^Δ_j),   Q_A = {j: hi^A_j ≥ L_A} (A's candidates for
                                                                        its largest contrast: gap_A = d^A_j* ≤
                                                                        d^A_j* − d^B_j* + gap_B)
        gap_A − gap_B ≥ max(L_A − U_B, min over j in Q_B of lo^Δ_j)    (B's candidates, the same argument)

    So the interval covers the true change at least as often as the family holds, however close the groups' rates
    are (where a percentile interval of max − min is biased); it contains the estimate, and a model compared with
    itself gets [0, 0] (every Δ_j is 0 in every replicate). The price: it is conservative (wider than 95%)."""
    from trainlab.fairness.bootstrap import MaxT

    dd, boot_d = da - db, boot_a - boot_b
    mt = MaxT(boot_a.shape[0], level)
    se = [mt.add(x, bx) for x, bx in ((da, boot_a), (db, boot_b), (dd, boot_d))]
    c = mt.critical()
    (la, ha), (lb, hb), (ld, hd) = (MaxT.interval(x, s, c, -2.0, 2.0) for x, s in zip((da, db, dd), se))
    # both orientations of each pair: the reverse of [lo, hi] is [−hi, −lo]
    la, ha = np.r_[la, -ha], np.r_[ha, -la]
    lb, hb = np.r_[lb, -hb], np.r_[hb, -lb]
    ld, hd = np.r_[ld, -hd], np.r_[hd, -ld]
    if not (np.isfinite(ha).any() and np.isfinite(hb).any()):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        LA, UA = max(0.0, np.nanmax(la)), np.nanmax(ha)
        LB, UB = max(0.0, np.nanmax(lb)), np.nanmax(hb)
        upper, lower = UA - LB, LA - UB
        qa, qb = np.isfinite(hd) & (ha >= LA), np.isfinite(ld) & (hb >= LB)
        if qa.sum() == 1 and qb.sum() == 1 and LA > 0 and LB > 0:
            # each model's largest contrast is singled out by the family (no other pair could be its maximum):
            # there the gaps are smooth, and the change is the paired contrast of those two pairs, whose
            # percentile interval is not conservative
            return _fixed_contrast(int(np.flatnonzero(qa)[0]), int(np.flatnonzero(qb)[0]), boot_a, boot_b, level)
        if qa.any():
            upper = min(upper, float(np.max(hd[qa])))
        if qb.any():
            lower = max(lower, float(np.min(ld[qb])))
    return [float(lower), float(upper)]


def _fixed_contrast(ja: int, jb: int, boot_a: np.ndarray, boot_b: np.ndarray, level: float) -> list[float] | None:
    """Percentile interval of d^A_ja − d^B_jb, indices into the contrasts followed by their reverses."""
    J = boot_a.shape[1]
    sa, sb = (1.0 if ja < J else -1.0), (1.0 if jb < J else -1.0)
    return interval(sa * boot_a[:, ja % J] - sb * boot_b[:, jb % J], 0.0, "percentile", level)


def gap_changes(grouping, y_true, y_pred_a, y_pred_b, classes: list[str], *, favorable: int | None,
                reference: int | None = None, minimum: int = 30, replicates: int = 1000,
                rng: np.random.Generator | None = None, method: str = "family") -> GapChanges:
    """A's headline gaps minus B's on ``grouping`` (a :class:`~trainlab.fairness.groups.Grouping`), with paired
    bootstrap intervals. ``reference``: the reference group's index (default: the largest compared group, as the
    audit); ``replicates`` 0: no intervals."""
    K, G = len(classes), len(grouping.labels)
    g, t, pa, pb, counts = joint_cells(grouping.codes, y_true, y_pred_a, y_pred_b, K)
    maps = PairedMaps(g, t, pa, pb, G, K)
    point_a, point_b = maps.counts(counts[None, :].astype(np.float64))
    sizes = point_a.n[0]
    E = np.flatnonzero(sizes >= minimum)
    labels = list(grouping.labels)
    if reference is None and len(E):
        reference = int(E[int(np.argmax(sizes[E]))])
    head = [favorable] if favorable is not None else list(range(K))
    common = dict(name=grouping.name, compared_groups=[labels[i] for i in E], favorable=None if favorable is None
                  else classes[favorable], replicates=int(replicates))
    if len(E) < 2 or reference not in set(E.tolist()):
        why = ("fewer than two groups have at least the minimum rows" if len(E) < 2
               else f"the reference group '{labels[reference]}' is smaller than the minimum")
        rows = [_row(m, np.nan, np.nan, None, reason=why) for m in _headlines()]
        return GapChanges(reference=None if reference is None else labels[reference], rows=rows, **common)
    ri = int(np.flatnonzero(E == reference)[0])
    # the minimum is judged on the full sample, as the audit does (a rate is compared or not, in every replicate)
    one = Counts(n=point_a.n[0], pos=point_a.pos[0], sel=point_a.sel[0], tp=point_a.tp[0])

    family = [m for m in _headlines() if m.how in FAMILY] if method == "family" else []
    full = _masked(rates_from_counts(one), one, E, minimum)
    keep = (np.isfinite(full["tpr"]).sum(axis=-2) >= 2) & (np.isfinite(full["fpr"]).sum(axis=-2) >= 2)  # (K,)

    def values(ca: Counts, cb: Counts) -> tuple[dict, dict, dict]:
        ra, rb = _masked(rates_from_counts(ca), one, E, minimum), _masked(rates_from_counts(cb), one, E, minimum)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            kept = {m: keep if m.how == "either_gap" else None for m in family}
            return ({m: headline_values(m, ra, ri, head, favorable) for m in _headlines()},
                    {m: headline_values(m, rb, ri, head, favorable) for m in _headlines()},
                    {m: (contrasts(m, ra, head, kept[m]), contrasts(m, rb, head, kept[m])) for m in family})

    va, vb, vc = values(point_a, point_b)
    acc = {"a": _overall_accuracy(point_a), "b": _overall_accuracy(point_b)}
    family = [m for m in family if 3 * vc[m][0].shape[-1] * max(1, int(replicates)) <= _FAMILY_ELEMENTS]
    boot = fam = None
    if replicates > 0:
        parts = []
        for w in draw_weights(g, counts, G, int(replicates), rng if rng is not None else np.random.default_rng(0)):
            ca, cb = maps.counts(w)
            ba, bb, bc = values(ca, cb)
            parts.append(({m: ba[m] - bb[m] for m in ba}, _overall_accuracy(ca) - _overall_accuracy(cb), bc))
        boot = {m: np.concatenate([p[0][m] for p in parts]) for m in _headlines()}
        boot["accuracy"] = np.concatenate([p[1] for p in parts])
        fam = {m: tuple(np.concatenate([p[2][m][i] for p in parts]) for i in (0, 1)) for m in family}
    smooth = INTERVAL if method == "family" else method
    rows = [_row(None, acc["a"][0], acc["b"][0], None if boot is None else boot["accuracy"], method=smooth)]
    for m in _headlines():
        how = method if method != "family" else ("family" if m in family else INTERVAL)
        row = _row(m, va[m][0], vb[m][0], None if boot is None else boot[m], method=how if how != "family" else INTERVAL,
                   cls=None if not m.per_class else (classes[favorable] if favorable is not None else None))
        if how == "family" and fam is not None and row["change"] is not None:
            ci = family_interval(vc[m][0][0], vc[m][1][0], *fam[m])
            row.update(ci=ci, excludes_zero=None if ci is None else bool(ci[0] > 0 or ci[1] < 0))
        row["interval"] = None if row["ci"] is None else how
        rows.append(row)
    rows[0]["interval"] = None if rows[0]["ci"] is None else smooth
    note = None
    short = [r["measure"] for r in rows[1:] if r["interval"] not in (None, "family")]
    smallest = int(sizes[E].min())
    if replicates > 0 and smallest < SMALL_GROUP and short:
        note = (f"the smallest compared group has {smallest} rows: the percentile intervals of "
                f"{', '.join(short)} (a ratio, a worst group or a comparison with the reference: not max − min gaps) "
                f"may cover the truth less often than 95% with groups under about {SMALL_GROUP} rows (BENCHMARKS.md)")
    return GapChanges(reference=labels[reference], rows=rows, note=note, **common)


def _overall_accuracy(c: Counts) -> np.ndarray:
    return c.tp.sum(axis=(-2, -1)) / c.n.sum(axis=-1)


def _headlines() -> tuple[M.Measure, ...]:
    """The catalogue's headline disparities this module can derive (a measure of another kind is left out)."""
    return tuple(m for m in M.measures("disparity") if m.how in _KNOWN and (m.how != "headline" or m.headline_of in _TO_REFERENCE)
                 and (m.rate is None or m.rate in ("selection_rate", "tpr", "fpr", "accuracy")))


def _row(m: M.Measure | None, a: float, b: float, replicates, *, cls=None, reason: str | None = None,
         method: str = INTERVAL) -> dict:
    a = float(a) if np.isfinite(a) else None
    b = float(b) if np.isfinite(b) else None
    change = a - b if a is not None and b is not None else None
    ci = interval(replicates, change, method) if change is not None and replicates is not None else None
    if change is None and reason is None:
        reason = "undefined for " + ("both models" if a is None and b is None else "model A" if a is None else "model B")
    return {"measure": "accuracy" if m is None else m.name, "label": "Overall accuracy" if m is None else m.label,
            "class": cls, "a": a, "b": b, "change": change, "ci": ci,
            "excludes_zero": None if ci is None else bool(ci[0] > 0 or ci[1] < 0), "reason": reason}
