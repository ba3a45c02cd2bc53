"""Data lint: is the data wrong, or is a comparison not apples to apples? (Stage 3, VIEW)

Checks, each a SQL query on a read-only store connection whose rows are the evidence:
- comparability: two systems in one sweep ran the same setting (model, phase, batch, TP, PP,
  DP, EP) only with different dtypes, lengths or simulator versions, so no config of one has
  a like-for-like partner on the other (the planted bug of sample_data/xpu-mismatch);
- roofline: roofline_time_s is not the max of the three times, or `bound` names a smaller one;
  a config's latency_s is below the sum of its operators' roofline_time_s x count;
- impossible speed: an operator moves bytes faster than the chip's fastest memory or its
  interconnect allows;
- utilisation above 100%: an operator or a config achieves more FLOP/s than the chip's peak;
- Pareto: a frontier point that does not fit in memory, or is_pareto disagreeing with the
  definition recomputed from the rows.
`lint_store` runs them all; `lint_comparison` runs them on the configs or systems one
comparison is about, so every comparison answer can carry its warnings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from coview.engine.analysis import (
    Finding,
    Recorder,
    clean_text,
    open_read_only,
    render_findings,
    resolve_systems,
)
from coview.store.pareto import PARETO_SQL

RTOL = 1e-6
ATOL = 1e-15
EXAMPLES = 10

# Fields that must be equal for two configs at one setting to be compared like for like.
COMPARABLE_FIELDS = (
    "weight_dtype",
    "act_dtype",
    "kv_dtype",
    "input_len",
    "output_len",
    "sim_version",
)
FIELD_WORDS = {
    "weight_dtype": "weight data type",
    "act_dtype": "activation data type",
    "kv_dtype": "KV-cache data type",
    "input_len": "input length",
    "output_len": "output length",
    "sim_version": "simulator version",
}
SETTING_FIELDS = ("model_id", "phase", "batch_size", "tp", "pp", "dp", "ep")

# Placeholder for the config filter; `_with_filter` puts in only the clauses that apply.
_FILTER = "__CONFIG_FILTER__"
_FILTER_CLAUSES = {
    "sweep": "c.sweep_id = $sweep",
    "systems": "list_contains($systems, c.system_id)",
    "ids": "list_contains($ids, c.config_id)",
}


def _with_filter(sql: str, params: dict[str, Any]) -> str:
    clauses = [c for k, c in _FILTER_CLAUSES.items() if params.get(k) is not None]
    return sql.replace(_FILTER, " AND ".join(clauses) or "TRUE")


# The simulator version of one config: its own (extra.model / extra.simulator_version) when
# the simulator records one, else its sweep's.
_CONFIGS = f"""
SELECT c.config_id, c.sweep_id, c.system_id, s.name AS system, c.model_id, c.phase,
       c.batch_size, c.tp, coalesce(c.pp, 1) AS pp, coalesce(c.dp, 1) AS dp,
       coalesce(c.ep, 1) AS ep, c.weight_dtype, c.act_dtype, c.kv_dtype, c.input_len,
       c.output_len,
       coalesce(coalesce(w.simulator, '') || ' ' || json_extract_string(c.extra, '$.simulator_version'),
                json_extract_string(c.extra, '$.model'),
                concat_ws(' ', w.simulator, w.simulator_version)) AS sim_version
FROM configs c JOIN systems s USING (system_id) JOIN sweeps w USING (sweep_id)
WHERE {_FILTER}
"""


def _same(field: str) -> str:
    return f"a.{field} IS NOT DISTINCT FROM b.{field}"


_COMPARABILITY_SQL = f"""
WITH c AS ({_CONFIGS}),
p AS (
    SELECT a.sweep_id, a.system AS system_a, b.system AS system_b,
           a.system_id AS system_id_a, b.system_id AS system_id_b,
           a.config_id AS config_a, b.config_id AS config_b,
           {", ".join(f"a.{f} AS {f}_a, b.{f} AS {f}_b" for f in COMPARABLE_FIELDS)},
           ({" AND ".join(_same(f) for f in COMPARABLE_FIELDS)}) AS exact
    FROM c a JOIN c b
      ON a.sweep_id = b.sweep_id AND a.system_id < b.system_id
     AND {" AND ".join(f"a.{f} = b.{f}" for f in SETTING_FIELDS)}
),
ua AS (SELECT config_a, system_id_b FROM p GROUP BY ALL HAVING NOT bool_or(exact)),
ub AS (SELECT config_b, system_id_a FROM p GROUP BY ALL HAVING NOT bool_or(exact)),
matched AS (
    SELECT sweep_id, system_id_a, system_id_b, count(*) FILTER (WHERE exact) AS exact_pairs
    FROM p GROUP BY ALL
)
SELECT p.sweep_id, p.system_a, p.system_b, p.system_id_a, p.system_id_b,
       {", ".join(f"p.{f}_a, p.{f}_b" for f in COMPARABLE_FIELDS)},
       count(*) AS config_pairs, min(p.config_a) AS example_config_a,
       min(p.config_b) AS example_config_b, any_value(m.exact_pairs) AS exact_pairs
FROM p JOIN ua USING (config_a, system_id_b) JOIN ub USING (config_b, system_id_a)
JOIN matched m USING (sweep_id, system_id_a, system_id_b)
GROUP BY ALL
ORDER BY p.sweep_id, p.system_a, p.system_b, config_pairs DESC
"""

_SELECTED_SQL = f"""
WITH c AS ({_CONFIGS})
SELECT config_id, sweep_id, system, phase, batch_size, tp,
       {", ".join(COMPARABLE_FIELDS)}
FROM c ORDER BY config_id
"""

_MAX3 = "greatest(coalesce(o.compute_time_s, 0), coalesce(o.memory_time_s, 0), coalesce(o.comm_time_s, 0))"

# A simulator may leave some of the three times NULL (llm-analysis gives only the total): then
# roofline_time_s may exceed the known ones but never fall below them.
_ROOFLINE_SQL = f"""
SELECT c.sweep_id, o.config_id, o.op_index, o.op_type, o.compute_time_s, o.memory_time_s,
       o.comm_time_s, o.roofline_time_s, o.bound, {_MAX3} AS max_of_three,
       count(*) OVER () AS rows_flagged
FROM operators o JOIN configs c USING (config_id)
WHERE {_FILTER} AND o.roofline_time_s IS NOT NULL
  AND (o.compute_time_s IS NOT NULL AND o.memory_time_s IS NOT NULL
       AND o.comm_time_s IS NOT NULL AND abs(o.roofline_time_s - {_MAX3}) > $rtol * {_MAX3} + $atol
       OR o.roofline_time_s < {_MAX3} * (1 - $rtol) - $atol
       OR (o.bound = 'compute' AND o.compute_time_s < {_MAX3} * (1 - $rtol) - $atol)
       OR (o.bound = 'memory' AND o.memory_time_s < {_MAX3} * (1 - $rtol) - $atol)
       OR (o.bound = 'comm' AND o.comm_time_s < {_MAX3} * (1 - $rtol) - $atol))
ORDER BY o.config_id, o.op_index
LIMIT {EXAMPLES}
"""

_LATENCY_SQL = f"""
SELECT c.sweep_id, c.config_id, c.latency_s, sum(o.roofline_time_s * coalesce(o.count, 1))
       AS operators_time_s, count(*) OVER () AS configs_flagged
FROM configs c JOIN operators o USING (config_id)
WHERE {_FILTER} AND c.latency_s IS NOT NULL AND o.roofline_time_s IS NOT NULL
GROUP BY c.sweep_id, c.config_id, c.latency_s
HAVING c.latency_s < sum(o.roofline_time_s * coalesce(o.count, 1)) * (1 - $rtol) - $atol
ORDER BY c.config_id
LIMIT {EXAMPLES}
"""

_PEAK = "greatest(s.peak_flops_bf16, s.peak_flops_fp8, s.peak_ops_int8)"
_BW = "greatest(s.hbm_bw_bytes_per_s, s.sram_bw_bytes_per_s)"

_SPEED_SQL = f"""
SELECT c.sweep_id, o.config_id, o.op_index, o.op_type, o.roofline_time_s,
       coalesce(o.bytes_read, 0) + coalesce(o.bytes_written, 0) AS bytes_moved,
       {_BW} AS fastest_memory_bytes_per_s, o.bytes_comm,
       s.ici_bw_bytes_per_s, count(*) OVER () AS rows_flagged
FROM operators o JOIN configs c USING (config_id) JOIN systems s USING (system_id)
WHERE {_FILTER} AND o.roofline_time_s IS NOT NULL
  AND ((coalesce(o.bytes_read, 0) + coalesce(o.bytes_written, 0)) > 0 AND {_BW} > 0
       AND o.roofline_time_s < (coalesce(o.bytes_read, 0) + coalesce(o.bytes_written, 0))
           / {_BW} * (1 - $rtol) - $atol
    OR coalesce(o.bytes_comm, 0) > 0 AND s.ici_bw_bytes_per_s > 0
       AND o.roofline_time_s < o.bytes_comm / s.ici_bw_bytes_per_s * (1 - $rtol) - $atol)
ORDER BY o.config_id, o.op_index
LIMIT {EXAMPLES}
"""

_UTIL_OPS_SQL = f"""
SELECT c.sweep_id, o.config_id, o.op_index, o.op_type, o.flops, o.roofline_time_s,
       o.flops / o.roofline_time_s AS achieved_flop_per_s, {_PEAK} AS chip_peak_flop_per_s,
       o.flops / o.roofline_time_s / {_PEAK} AS utilisation, count(*) OVER () AS rows_flagged
FROM operators o JOIN configs c USING (config_id) JOIN systems s USING (system_id)
WHERE {_FILTER} AND o.flops > 0 AND {_PEAK} > 0
  AND (o.roofline_time_s <= 0 OR o.flops / o.roofline_time_s > {_PEAK} * (1 + $rtol))
ORDER BY o.config_id, o.op_index
LIMIT {EXAMPLES}
"""

_UTIL_CONFIGS_SQL = f"""
SELECT c.sweep_id, c.config_id, c.total_flops, c.num_chips, c.latency_s,
       c.total_flops / coalesce(c.num_chips, c.tp, 1) / c.latency_s AS achieved_flop_per_s_per_chip,
       {_PEAK} AS chip_peak_flop_per_s,
       c.total_flops / coalesce(c.num_chips, c.tp, 1) / c.latency_s / {_PEAK} AS utilisation,
       count(*) OVER () AS configs_flagged
FROM configs c JOIN systems s USING (system_id)
WHERE {_FILTER} AND c.total_flops > 0 AND c.latency_s > 0 AND {_PEAK} > 0
  AND c.total_flops / coalesce(c.num_chips, c.tp, 1) / c.latency_s > {_PEAK} * (1 + $rtol)
ORDER BY c.config_id
LIMIT {EXAMPLES}
"""

_PARETO_FIT_SQL = f"""
SELECT c.sweep_id, c.config_id, s.name AS system, c.phase, c.batch_size, c.tp,
       c.weight_dtype, c.is_pareto, c.fits_memory, count(*) OVER () AS configs_flagged
FROM configs c JOIN systems s USING (system_id)
WHERE {_FILTER} AND c.is_pareto AND NOT coalesce(c.fits_memory, false)
ORDER BY c.config_id
LIMIT {EXAMPLES}
"""

_PARETO_RECOMPUTE_SQL = f"""
WITH p AS ({PARETO_SQL})
SELECT c.sweep_id, c.config_id, c.is_pareto AS stored_is_pareto,
       c.config_id IN (SELECT config_id FROM p) AS recomputed_is_pareto,
       count(*) OVER () AS configs_flagged
FROM configs c
WHERE {_FILTER} AND c.is_pareto IS NOT NULL
  AND c.is_pareto <> (c.config_id IN (SELECT config_id FROM p))
ORDER BY c.config_id
LIMIT {EXAMPLES}
"""


def _params(
    sweep_id: str | None, systems: Sequence[str] | None, config_ids: Sequence[int] | None
) -> dict[str, Any]:
    return {
        "sweep": sweep_id,
        "systems": list(systems) if systems else None,
        "ids": [int(i) for i in config_ids] if config_ids else None,
        "sweeps": [sweep_id] if sweep_id else None,
        "rtol": RTOL,
        "atol": ATOL,
    }


def _row_check(
    con: duckdb.DuckDBPyConnection,
    params: dict[str, Any],
    sql: str,
    kind: str,
    count_col: str,
    title: str,
    detail: str,
    question: str,
) -> list[Finding]:
    rec = Recorder(con)
    rows = rec.rows(_with_filter(sql, params), params)
    if not rows:
        return []
    n = rows[0][count_col]
    sweeps = sorted({clean_text(r["sweep_id"]) for r in rows})
    return [
        Finding(
            kind=kind,
            title=title.format(n=n),
            detail=detail.format(n=n, sweeps=", ".join(sweeps), shown=len(rows)),
            sql=rec.sql,
            rows=rec.evidence(),
            question=question,
            severity="error",
            score=100.0,
            facts={"flagged": n, "sweeps": sweeps},
        )
    ]


def _comparability(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[Finding]:
    rec = Recorder(con)
    rows = rec.rows(_with_filter(_COMPARABILITY_SQL, params), params)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["sweep_id"], r["system_id_a"], r["system_id_b"])].append(r)
    out = []
    for (sweep, _ia, _ib), grp in groups.items():
        a, b = clean_text(grp[0]["system_a"]), clean_text(grp[0]["system_b"])
        diffs: dict[str, set[tuple]] = defaultdict(set)
        for r in grp:
            for f in COMPARABLE_FIELDS:
                if r[f"{f}_a"] != r[f"{f}_b"]:
                    diffs[f].add((r[f"{f}_a"], r[f"{f}_b"]))
        parts = [
            f"{f} "
            + " / ".join(f"{clean_text(x)} vs {clean_text(y)}" for x, y in sorted(v, key=str))
            for f, v in diffs.items()
        ]
        pairs = sum(r["config_pairs"] for r in grp)
        exact = grp[0]["exact_pairs"]
        fields = sorted(diffs)
        what = " and ".join(FIELD_WORDS[f] for f in fields)
        out.append(
            Finding(
                kind="lint.not_comparable",
                title=f"{a} and {b} ran with different {', '.join(fields)} in sweep {clean_text(sweep)}",
                detail=(
                    f"In sweep {clean_text(sweep)}, {pairs} config pairs of {a} and {b} share "
                    f"model, phase, batch, TP, PP, DP and EP but differ in {'; '.join(parts)}, "
                    f"with no like-for-like partner ({exact} pairs match exactly). "
                    f"A comparison of {a} and {b} here is not apples to apples."
                ),
                sql=rec.sql,
                rows=[r for r in rec.evidence() if r["sweep_id"] == clean_text(sweep)],
                question=f"which {what} did {a} and {b} run with?",
                severity="error",
                score=200.0,
                facts={
                    "sweep_id": clean_text(sweep),
                    "systems": [a, b],
                    "fields": fields,
                    "values": {f: sorted([list(v) for v in diffs[f]], key=str) for f in fields},
                    "config_pairs": pairs,
                    "exact_pairs": exact,
                },
            )
        )
    return out


def _selected_mismatch(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[Finding]:
    """For an explicit list of configs: the comparable fields that are not constant across them."""
    rec = Recorder(con)
    rows = rec.rows(_with_filter(_SELECTED_SQL, params), params)
    fields = [f for f in COMPARABLE_FIELDS if len({r[f] for r in rows}) > 1]
    if len(rows) < 2 or not fields:
        return []
    values = {f: sorted({clean_text(r[f]) for r in rows}) for f in fields}
    listing = "; ".join(f"{f} {' vs '.join(v)}" for f, v in values.items())
    ids = ", ".join(str(r["config_id"]) for r in rows)
    return [
        Finding(
            kind="lint.not_comparable",
            title=f"the compared configs differ in {', '.join(fields)}",
            detail=f"Configs {ids} differ in {listing}: the comparison is not apples to apples.",
            sql=rec.sql,
            rows=rec.evidence(),
            question=f"which {' and '.join(FIELD_WORDS[f] for f in fields)} did configs {ids} run with?",
            severity="error",
            score=200.0,
            facts={
                "config_ids": [r["config_id"] for r in rows],
                "fields": fields,
                "values": values,
            },
        )
    ]


def _row_checks(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    out += _row_check(
        con,
        params,
        _ROOFLINE_SQL,
        "lint.roofline",
        "rows_flagged",
        "{n} operator rows contradict the roofline",
        "{n} operator rows (sweeps {sweeps}) have roofline_time_s different from the max of "
        "compute_time_s, memory_time_s and comm_time_s, or a bound that names a smaller time "
        "(utilisation compute_time_s / roofline_time_s above 100% is one case); {shown} shown.",
        "which operators have a roofline time that is not the max of their compute, memory and comm times?",
    )
    out += _row_check(
        con,
        params,
        _LATENCY_SQL,
        "lint.latency_below_operators",
        "configs_flagged",
        "{n} configs are faster than the sum of their operators",
        "{n} configs (sweeps {sweeps}) report latency_s below the sum of their operators' "
        "roofline_time_s x count; {shown} shown.",
        "which configs have a latency below the sum of their operators' times?",
    )
    out += _row_check(
        con,
        params,
        _SPEED_SQL,
        "lint.impossible_speed",
        "rows_flagged",
        "{n} operator rows move data faster than their chip allows",
        "{n} operator rows (sweeps {sweeps}) finish faster than their bytes take at the chip's "
        "fastest memory bandwidth (max of HBM and SRAM) or their bytes_comm at its "
        "interconnect bandwidth; {shown} shown.",
        "which operators move bytes faster than the chip's bandwidth?",
    )
    out += _row_check(
        con,
        params,
        _UTIL_OPS_SQL,
        "lint.utilisation",
        "rows_flagged",
        "{n} operator rows run above 100% of their chip's peak FLOP/s",
        "{n} operator rows (sweeps {sweeps}) achieve flops / roofline_time_s above the chip's "
        "highest peak (bf16, fp8 or int8); {shown} shown.",
        "which operators run above the chip's peak FLOP/s?",
    )
    out += _row_check(
        con,
        params,
        _UTIL_CONFIGS_SQL,
        "lint.utilisation",
        "configs_flagged",
        "{n} configs run above 100% of their chips' peak FLOP/s",
        "{n} configs (sweeps {sweeps}) achieve total_flops / num_chips / latency_s above the "
        "chip's highest peak; {shown} shown.",
        "which configs run above the chip's peak FLOP/s?",
    )
    out += _row_check(
        con,
        params,
        _PARETO_FIT_SQL,
        "lint.pareto_not_fitting",
        "configs_flagged",
        "{n} Pareto points do not fit in memory",
        "{n} configs (sweeps {sweeps}) have is_pareto true but fits_memory false; the "
        "frontier is defined among configs that fit; {shown} shown.",
        "which Pareto-optimal configs do not fit in memory?",
    )
    out += _row_check(
        con,
        params,
        _PARETO_RECOMPUTE_SQL,
        "lint.pareto_stale",
        "configs_flagged",
        "{n} configs have an is_pareto flag the rows do not support",
        "{n} configs (sweeps {sweeps}) carry is_pareto different from the frontier recomputed "
        "from latency_s, perf_per_tco and fits_memory; {shown} shown.",
        "which configs are on the Pareto frontier?",
    )
    return out


def lint_store(con: duckdb.DuckDBPyConnection, sweep_id: str | None = None) -> list[Finding]:
    """Every check over the store, or over one sweep; [] when the data is clean."""
    params = _params(sweep_id, None, None)
    return _comparability(con, params) + _row_checks(con, params)


def lint_comparison(
    con: duckdb.DuckDBPyConnection,
    config_ids: Iterable[int] | None = None,
    systems: Iterable[str] | None = None,
    sweep_id: str | None = None,
) -> list[Finding]:
    """The checks for one comparison: of these configs, or of these systems (ids or names).

    With config ids, the comparable fields (dtypes, lengths, simulator version) must be
    constant across them; with systems, each pair must have like-for-like configs wherever it
    shares a setting. Row checks run on the same configs either way.
    """
    ids = list(config_ids or [])
    system_ids = resolve_systems(con, list(systems)) if systems else None
    params = _params(sweep_id, system_ids, ids or None)
    found = _selected_mismatch(con, params) if ids else _comparability(con, params)
    return found + _row_checks(con, params)


def comparison_warnings(
    store: str | Path,
    config_ids: Iterable[int] | None = None,
    systems: Iterable[str] | None = None,
    sweep_id: str | None = None,
) -> list[dict[str, Any]]:
    """`lint_comparison` for callers without a connection (the TUI's compare, best-per-system
    list and plot title): opens the store read-only, returns contract dicts."""
    con = open_read_only(store)
    try:
        return [f.to_json() for f in lint_comparison(con, config_ids, systems, sweep_id)]
    finally:
        con.close()


def render_text(findings: list[Finding], show_sql: bool = False) -> str:
    """Plain-text lint report for the terminal (store text cleaned)."""
    n = len(findings)
    return render_findings(
        findings,
        "coview lint: no problems found.",
        f"coview lint: {n} problem{'s' if n != 1 else ''} found.",
        show_sql,
        severity=True,
    )
