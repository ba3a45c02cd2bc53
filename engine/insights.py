"""Stage 4, where should I look: ranked findings nobody asked for, each with SQL and rows.

Findings, highest rank first:
1. every lint finding (data that is wrong or comparisons that are not apples to apples);
2. per system pair, the operator whose time differs most beyond the pair's step-time ratio at
   a matched config (an operator 8.7x faster while the step is 1.04x faster is a story), with
   its cause from `why.explain_difference`;
3. which system's Pareto frontier dominates which, per sweep, model and phase;
4. where each system's decode turns compute-bound (the first batch at which compute-bound
   operators take over half the step), per dtype and TP;
5. memory-fit cliffs: the batch at which a system, phase, dtype and TP stops fitting.
Each finding's `question` is a follow-up to paste into `coview ask`.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb

from coview.engine.analysis import (
    Finding,
    Recorder,
    clean_text,
    open_read_only,
    pct,
    render_findings,
)

# Operators under this share of the step are not worth a finding of their own.
MIN_STEP_SHARE = 0.01
OUTLIER_PAIRS = 5
LIST_MAX = 4

_MATCH = """a.sweep_id = b.sweep_id AND a.model_id = b.model_id AND a.phase = b.phase
 AND a.batch_size = b.batch_size AND a.tp = b.tp
 AND a.pp IS NOT DISTINCT FROM b.pp AND a.dp IS NOT DISTINCT FROM b.dp
 AND a.ep IS NOT DISTINCT FROM b.ep AND a.input_len IS NOT DISTINCT FROM b.input_len
 AND a.output_len IS NOT DISTINCT FROM b.output_len
 AND a.weight_dtype IS NOT DISTINCT FROM b.weight_dtype
 AND a.act_dtype IS NOT DISTINCT FROM b.act_dtype
 AND a.kv_dtype IS NOT DISTINCT FROM b.kv_dtype"""

_OUTLIER_SQL = f"""
WITH m AS MATERIALIZED (
    SELECT a.config_id AS config_a, b.config_id AS config_b, a.sweep_id,
           sa.name AS system_a, sb.name AS system_b, a.system_id AS system_id_a,
           b.system_id AS system_id_b, a.phase, a.batch_size, a.tp, a.weight_dtype,
           a.latency_s AS latency_a_s, b.latency_s AS latency_b_s
    FROM configs a JOIN configs b ON a.system_id < b.system_id AND {_MATCH}
    JOIN systems sa ON sa.system_id = a.system_id JOIN systems sb ON sb.system_id = b.system_id
    WHERE a.fits_memory AND b.fits_memory AND a.latency_s > 0 AND b.latency_s > 0
), o AS MATERIALIZED (
    SELECT config_id, op_type, coalesce(layer_name, '') AS layer_name,
           min(op_index) AS op_index, sum(roofline_time_s * count) AS time_s
    FROM operators
    WHERE config_id IN (SELECT config_a FROM m UNION ALL SELECT config_b FROM m)
    GROUP BY ALL
), ma AS MATERIALIZED (
    SELECT m.*, oa.op_type, oa.op_index, oa.layer_name, oa.time_s AS op_a_s
    FROM m JOIN o oa ON oa.config_id = m.config_a
    WHERE oa.time_s > 0
), d AS (
    SELECT ma.* EXCLUDE (layer_name), ob.time_s AS op_b_s,
           greatest(ma.op_a_s, ob.time_s) / least(ma.op_a_s, ob.time_s) AS op_ratio,
           greatest(ma.latency_a_s, ma.latency_b_s) / least(ma.latency_a_s, ma.latency_b_s)
               AS step_ratio,
           abs(ob.time_s - ma.op_a_s) / greatest(ma.latency_a_s, ma.latency_b_s) AS step_share,
           ln(greatest(ma.op_a_s, ob.time_s) / least(ma.op_a_s, ob.time_s))
             - abs(ln(ma.latency_b_s / ma.latency_a_s)) AS excess
    FROM ma JOIN o ob ON ob.config_id = ma.config_b AND ob.op_type = ma.op_type
     AND ob.layer_name = ma.layer_name
    WHERE ob.time_s > 0
), r AS (
    SELECT *, row_number() OVER (PARTITION BY sweep_id, system_id_a, system_id_b
                                 ORDER BY round(excess, 9) DESC, round(step_share, 9) DESC, config_a, op_index) AS rn
    FROM d WHERE step_share >= $min_share
)
SELECT * EXCLUDE (rn) FROM r WHERE rn = 1 AND excess > 0
ORDER BY round(excess, 9) DESC, sweep_id, system_a, system_b LIMIT $limit
"""

_DOMINANCE_SQL = """
WITH f AS (
    SELECT c.config_id, c.sweep_id, c.model_id, c.phase, c.system_id, s.name AS system,
           c.latency_s, c.perf_per_tco
    FROM configs c JOIN systems s USING (system_id) WHERE c.is_pareto
), n AS (
    SELECT sweep_id, model_id, phase, system_id, count(*) AS frontier_points FROM f GROUP BY ALL
), d AS (
    SELECT y.sweep_id, y.model_id, y.phase, x.system AS dominating, y.system AS dominated,
           y.system_id, count(DISTINCT y.config_id) AS dominated_points
    FROM f y JOIN f x ON x.sweep_id = y.sweep_id AND x.model_id = y.model_id
     AND x.phase = y.phase AND x.system_id <> y.system_id
     AND x.latency_s <= y.latency_s AND x.perf_per_tco >= y.perf_per_tco
     AND (x.latency_s < y.latency_s OR x.perf_per_tco > y.perf_per_tco)
    GROUP BY ALL
)
SELECT d.sweep_id, d.model_id, d.phase, d.dominating, d.dominated, d.dominated_points,
       n.frontier_points, d.dominated_points = n.frontier_points AS dominates_all
FROM d JOIN n USING (sweep_id, model_id, phase, system_id)
ORDER BY d.sweep_id, d.model_id, d.phase, dominates_all DESC,
         d.dominated_points / n.frontier_points DESC, d.dominating, d.dominated
"""

# Only configs whose every operator has a bound (llm-analysis leaves bound NULL). No SQL
# comments inside these statements: their display copies are collapsed onto one line.
_COMPUTE_BOUND_SQL = """
WITH s AS (
    SELECT c.sweep_id, sy.name AS system, c.system_id, c.weight_dtype, c.tp, c.batch_size,
           coalesce(sum(o.roofline_time_s * o.count) FILTER (WHERE o.bound = 'compute'), 0)
             / nullif(sum(o.roofline_time_s * o.count), 0) AS compute_share
    FROM configs c JOIN operators o USING (config_id) JOIN systems sy USING (system_id)
    WHERE c.phase = 'decode'
    GROUP BY ALL
    HAVING count(o.bound) = count(*)
)
SELECT sweep_id, system, system_id, weight_dtype, tp,
       min(batch_size) FILTER (WHERE compute_share > 0.5) AS first_compute_bound_batch,
       max(batch_size) AS largest_batch, max(compute_share) AS max_compute_share
FROM s GROUP BY ALL ORDER BY sweep_id, system, weight_dtype, tp
"""

_CLIFF_SQL = """
SELECT c.sweep_id, s.name AS system, c.system_id, c.phase, c.weight_dtype, c.tp,
       max(c.batch_size) FILTER (WHERE c.fits_memory) AS largest_fitting_batch,
       min(c.batch_size) FILTER (WHERE NOT c.fits_memory
           AND c.batch_size > (SELECT coalesce(max(x.batch_size), 0) FROM configs x
               WHERE x.sweep_id = c.sweep_id AND x.system_id = c.system_id
               AND x.model_id = c.model_id AND x.phase = c.phase
               AND x.weight_dtype IS NOT DISTINCT FROM c.weight_dtype AND x.tp = c.tp
               AND x.fits_memory AND x.batch_size < c.batch_size)) AS first_failing_batch
FROM configs c JOIN systems s USING (system_id)
GROUP BY ALL
HAVING bool_or(c.fits_memory) AND bool_or(NOT c.fits_memory)
ORDER BY c.sweep_id, s.name, c.phase, c.weight_dtype, c.tp
"""


def _outliers(con: duckdb.DuckDBPyConnection, limit: int) -> list[Finding]:
    from coview.engine.why import explain_difference

    rec = Recorder(con)
    rows = rec.rows(_OUTLIER_SQL, {"min_share": MIN_STEP_SHARE, "limit": limit})
    out = []
    for r in rows:
        # lint ran over the whole store already (it ranks first)
        exp = explain_difference(
            con, r["config_a"], r["config_b"], "operator", r["op_type"], lint=False
        )
        a, b = clean_text(r["system_a"]), clean_text(r["system_b"])
        fast, slow = (a, b) if r["op_a_s"] < r["op_b_s"] else (b, a)
        op = clean_text(r["op_type"])
        at = clean_text(f"{r['phase']} batch {r['batch_size']} TP {r['tp']} {r['weight_dtype']}")
        out.append(
            Finding(
                kind="insight.operator_difference",
                title=f"{op} is {_ratio(r['op_ratio'])}x faster on {fast} than on {slow} at {at}",
                detail=(
                    f"The whole step differs {_ratio(r['step_ratio'])}x; {op} accounts for "
                    f"{pct(r['step_share'])} of the slower step. {exp.summary}"
                ),
                sql=rec.sql + exp.sql,
                rows=[rec.evidence()[rows.index(r)]] + exp.rows[:20],
                question=f"why is {op}'s runtime different on {a} and {b} at {at}?",
                score=50.0 + float(r["excess"]),
                facts={
                    "systems": [a, b],
                    "op_type": op,
                    "config_a": r["config_a"],
                    "config_b": r["config_b"],
                    "op_ratio": r["op_ratio"],
                    "step_ratio": r["step_ratio"],
                    "explanation": exp.facts,
                },
            )
        )
    return out


def _ratio(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.3g}"


def _not_comparable(lint: list[Finding]) -> set[tuple[str, frozenset[str]]]:
    """(sweep, {system names}) pairs that lint says are not comparable like for like."""
    return {
        (f.facts["sweep_id"], frozenset(f.facts["systems"]))
        for f in lint
        if f.kind == "lint.not_comparable" and "sweep_id" in f.facts
    }


def _caveat(flagged, sweep: str, a: str, b: str) -> str:
    if (clean_text(sweep), frozenset((clean_text(a), clean_text(b)))) in flagged:
        return f" (but {clean_text(a)} and {clean_text(b)} are not comparable here: see the lint finding)"
    return ""


def _dominance(con: duckdb.DuckDBPyConnection, flagged=frozenset()) -> list[Finding]:
    rec = Recorder(con)
    rows = rec.rows(_DOMINANCE_SQL)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["sweep_id"], r["model_id"], r["phase"])].append(r)
    out = []
    for (sweep, model, phase), grp in groups.items():
        full = [r for r in grp if r["dominates_all"]]
        part = [r for r in grp if not r["dominates_all"]]
        bits = [
            f"{clean_text(r['dominating'])} dominates all {r['frontier_points']} of "
            f"{clean_text(r['dominated'])}'s frontier points"
            + _caveat(flagged, sweep, r["dominating"], r["dominated"])
            for r in full[:LIST_MAX]
        ]
        bits += [
            f"{clean_text(r['dominating'])} dominates {r['dominated_points']} of "
            f"{r['frontier_points']} of {clean_text(r['dominated'])}'s"
            + _caveat(flagged, sweep, r["dominating"], r["dominated"])
            for r in part[: max(0, LIST_MAX - len(bits))]
        ]
        more = len(grp) - len(bits)
        where = clean_text(f"{phase} ({model}, sweep {sweep})")
        out.append(
            Finding(
                kind="insight.frontier_dominance",
                title=f"Pareto frontiers at {where}: "
                + (
                    f"{clean_text(full[0]['dominating'])}'s dominates {clean_text(full[0]['dominated'])}'s"
                    if full
                    else "none dominates another entirely"
                ),
                detail=(
                    "Frontier points (latency lower, perf/TCO higher): "
                    + "; ".join(bits)
                    + (f"; and {more} more pairs." if more > 0 else ".")
                ),
                sql=rec.sql,
                rows=[
                    r
                    for r in rec.evidence(500)
                    if (r["sweep_id"], r["model_id"], r["phase"])
                    == (clean_text(sweep), clean_text(model), clean_text(phase))
                ][:50],
                question=f"which system has the highest perf per TCO at {clean_text(phase)}?",
                score=30.0,
                facts={"sweep_id": sweep, "model_id": model, "phase": phase, "pairs": grp},
            )
        )
    return out


def _compute_bound(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    rec = Recorder(con)
    rows = rec.rows(_COMPUTE_BOUND_SQL)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["sweep_id"], r["system_id"])].append(r)
    out = []
    for (sweep, _sid), grp in groups.items():
        system = clean_text(grp[0]["system"])
        by_dtype: dict[str, list[dict]] = defaultdict(list)
        for r in grp:
            by_dtype[clean_text(r["weight_dtype"])].append(r)
        parts = []
        for dtype, rs in by_dtype.items():
            hit = [r for r in rs if r["first_compute_bound_batch"] is not None]
            never = [str(r["tp"]) for r in rs if r["first_compute_bound_batch"] is None]
            if hit:
                lo = min(hit, key=lambda r: (r["first_compute_bound_batch"], r["tp"]))
                hi = max(hit, key=lambda r: (r["first_compute_bound_batch"], -r["tp"]))
                text = (
                    f"{dtype} from batch {lo['first_compute_bound_batch']} (TP {lo['tp']})"
                    if lo is hi
                    or lo["first_compute_bound_batch"] == hi["first_compute_bound_batch"]
                    else f"{dtype} from batch {lo['first_compute_bound_batch']} (TP {lo['tp']}) "
                    f"to {hi['first_compute_bound_batch']} (TP {hi['tp']})"
                )
            else:
                text = f"{dtype} never"
            if hit and never:
                text += f", never at TP {', '.join(never)}"
            parts.append(text)
        largest = max(r["largest_batch"] for r in grp)
        hits = [r for r in grp if r["first_compute_bound_batch"] is not None]
        if hits:
            first = min(hits, key=lambda r: (r["first_compute_bound_batch"], r["tp"]))
            title = (
                f"{system} decode turns compute-bound from batch "
                f"{first['first_compute_bound_batch']} ({clean_text(first['weight_dtype'])}, "
                f"TP {first['tp']}) at the earliest"
            )
        else:
            title = f"{system} decode never turns compute-bound (batches up to {largest})"
        out.append(
            Finding(
                kind="insight.decode_compute_bound",
                title=title,
                detail=(
                    f"In sweep {clean_text(sweep)}, {system}'s decode step is compute-bound "
                    f"(compute-bound operators take over half of it) {'; '.join(parts)} "
                    f"(batches up to {largest} simulated)."
                ),
                sql=rec.sql,
                rows=[
                    r
                    for r in rec.evidence(1000)
                    if r["system_id"] == clean_text(grp[0]["system_id"])
                    and r["sweep_id"] == clean_text(sweep)
                ][:50],
                question=f"at what batch size does {system} decode become compute-bound?",
                score=20.0,
                facts={"sweep_id": sweep, "system": system, "by_dtype_tp": grp},
            )
        )
    return out


def _cliffs(con: duckdb.DuckDBPyConnection) -> list[Finding]:
    rec = Recorder(con)
    rows = rec.rows(_CLIFF_SQL)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r["largest_fitting_batch"] is not None and r["first_failing_batch"] is not None:
            groups[(r["sweep_id"], r["system_id"])].append(r)
    out = []
    for (sweep, sid), grp in groups.items():
        system = clean_text(grp[0]["system"])
        bits = [
            clean_text(
                f"{r['phase']} {r['weight_dtype']} TP {r['tp']} fits up to batch "
                f"{r['largest_fitting_batch']}, not {r['first_failing_batch']}"
            )
            for r in grp
        ]
        shown = bits[:LIST_MAX]
        r0 = grp[0]
        out.append(
            Finding(
                kind="insight.memory_cliff",
                title=f"{system} hits a memory-fit cliff in {len(grp)} setting"
                + ("s" if len(grp) != 1 else ""),
                detail=(
                    f"In sweep {clean_text(sweep)}: "
                    + "; ".join(shown)
                    + (f"; and {len(bits) - len(shown)} more." if len(bits) > len(shown) else ".")
                ),
                sql=rec.sql,
                rows=[
                    r
                    for r in rec.evidence(1000)
                    if r["system_id"] == clean_text(sid) and r["sweep_id"] == clean_text(sweep)
                ][:50],
                question=clean_text(
                    f"does {system} {r0['phase']} at batch {r0['first_failing_batch']} TP "
                    f"{r0['tp']} {r0['weight_dtype']} fit in memory?"
                ),
                score=10.0,
                facts={"sweep_id": sweep, "system": system, "cliffs": grp},
            )
        )
    return out


def insights(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> list[Finding]:
    """All findings for the store, ranked (lint first), at most `limit` if given."""
    from coview.engine.lint import lint_store

    found = lint_store(con)
    found += _outliers(con, OUTLIER_PAIRS)
    found += _dominance(con, _not_comparable(found))
    found += _compute_bound(con)
    found += _cliffs(con)
    ranked = sorted(enumerate(found), key=lambda p: (-p[1].score, p[0]))
    out = [f for _, f in ranked]
    return out[:limit] if limit else out


def insights_for_store(store: str | Path, limit: int | None = None) -> list[dict[str, Any]]:
    """The findings as contract dicts, for the TUI's Insights pane (opens the store read-only)."""
    con = open_read_only(store)
    try:
        return [f.to_json() for f in insights(con, limit)]
    finally:
        con.close()


def render_text(findings: list[Finding], show_sql: bool = False) -> str:
    """Plain-text insights report (store text cleaned)."""
    return render_findings(
        findings,
        "coview insights: nothing found.",
        f"coview insights: {len(findings)} findings, most important first.",
        show_sql,
        severity=False,
    )
