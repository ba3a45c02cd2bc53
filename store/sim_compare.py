"""Cross-simulator comparison: the same configuration simulated by two simulators, explained.

``compare_simulators(con, ...)`` finds pairs of configurations from sweeps of different
simulators (sweeps.simulator) that describe the same run: the same system and model *by
name* (case-insensitive; importers keep each tool's own ids, e.g. GenZ's 'H100_GPU' and
coview's 'h100' are both named 'H100'), phase, batch size, TP, input and output length and
weight dtype. For each pair it returns the per-operator-group time differences (operators
grouped by store/sim_op_groups.yaml, because one simulator fuses what another splits), each
side's compute / memory / comm time, and the systems' figures as each simulator recorded
them, with the SQL and parameters that produced every row (values are passed as parameters,
never spliced into the SQL text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import yaml

GROUPS_FILE = Path(__file__).with_name("sim_op_groups.yaml")

PAIRS_SQL = """
SELECT a.config_id AS config_a, b.config_id AS config_b,
       sa.simulator AS simulator_a, sb.simulator AS simulator_b,
       a.sweep_id AS sweep_a, b.sweep_id AS sweep_b,
       ya.name AS system, a.system_id AS system_id_a, b.system_id AS system_id_b,
       ma.name AS model, a.phase, a.batch_size, a.tp, a.input_len, a.output_len,
       a.weight_dtype,
       a.latency_s AS latency_a_s, b.latency_s AS latency_b_s,
       b.latency_s - a.latency_s AS latency_diff_s,
       b.latency_s / nullif(a.latency_s, 0) AS latency_ratio_b_over_a,
       a.fits_memory AS fits_a, b.fits_memory AS fits_b,
       ya.peak_flops_bf16 AS peak_flops_bf16_a, yb.peak_flops_bf16 AS peak_flops_bf16_b,
       ya.hbm_bw_bytes_per_s AS hbm_bw_a, yb.hbm_bw_bytes_per_s AS hbm_bw_b,
       ya.ici_bw_bytes_per_s AS ici_bw_a, yb.ici_bw_bytes_per_s AS ici_bw_b,
       ya.sram_bytes AS sram_bytes_a, yb.sram_bytes AS sram_bytes_b
FROM configs a
JOIN sweeps sa ON sa.sweep_id = a.sweep_id
JOIN systems ya ON ya.system_id = a.system_id
JOIN models ma ON ma.model_id = a.model_id
JOIN configs b ON b.phase = a.phase AND b.batch_size = a.batch_size AND b.tp = a.tp
     AND b.input_len IS NOT DISTINCT FROM a.input_len
     AND (a.phase = 'prefill' OR b.output_len IS NOT DISTINCT FROM a.output_len)
     AND b.weight_dtype IS NOT DISTINCT FROM a.weight_dtype
JOIN sweeps sb ON sb.sweep_id = b.sweep_id
JOIN systems yb ON yb.system_id = b.system_id AND lower(yb.name) = lower(ya.name)
JOIN models mb ON mb.model_id = b.model_id AND lower(mb.name) = lower(ma.name)
WHERE sa.simulator = $simulator_a AND sb.simulator = $simulator_b
  AND ($system IS NULL OR lower(ya.name) = lower($system) OR a.system_id = $system
       OR b.system_id = $system)
  AND ($model IS NULL OR lower(ma.name) = lower($model) OR a.model_id = $model)
  AND ($phase IS NULL OR a.phase = $phase)
  AND ($batch_size IS NULL OR a.batch_size = $batch_size)
  AND ($tp IS NULL OR a.tp = $tp)
  AND ($dtype IS NULL OR a.weight_dtype = $dtype)
ORDER BY system, model, a.phase, a.weight_dtype, a.tp, a.batch_size, a.config_id, b.config_id
LIMIT $limit
"""

OPS_SQL = """
WITH groups AS (
  SELECT unnest($op_types) AS op_type, unnest($op_groups) AS op_group
), ops AS (
  SELECT CASE WHEN o.config_id = $config_a THEN 'a' ELSE 'b' END AS side,
         coalesce(g.op_group, o.op_type) AS op_group, o.op_type,
         o.roofline_time_s * o.count AS t, o.compute_time_s * o.count AS tc,
         o.memory_time_s * o.count AS tm, o.comm_time_s * o.count AS tn,
         o.flops * o.count AS f, (o.bytes_read + o.bytes_written) * o.count AS nbytes
  FROM operators o LEFT JOIN groups g ON g.op_type = o.op_type
  WHERE o.config_id IN ($config_a, $config_b)
)
SELECT op_group,
       string_agg(DISTINCT op_type, ',' ORDER BY op_type) FILTER (WHERE side = 'a') AS op_types_a,
       string_agg(DISTINCT op_type, ',' ORDER BY op_type) FILTER (WHERE side = 'b') AS op_types_b,
       sum(t) FILTER (WHERE side = 'a') AS time_a_s,
       sum(t) FILTER (WHERE side = 'b') AS time_b_s,
       coalesce(sum(t) FILTER (WHERE side = 'b'), 0)
         - coalesce(sum(t) FILTER (WHERE side = 'a'), 0) AS time_diff_s,
       sum(tc) FILTER (WHERE side = 'a') AS compute_a_s,
       sum(tc) FILTER (WHERE side = 'b') AS compute_b_s,
       sum(tm) FILTER (WHERE side = 'a') AS memory_a_s,
       sum(tm) FILTER (WHERE side = 'b') AS memory_b_s,
       sum(tn) FILTER (WHERE side = 'a') AS comm_a_s,
       sum(tn) FILTER (WHERE side = 'b') AS comm_b_s,
       sum(f) FILTER (WHERE side = 'a') AS flops_a,
       sum(f) FILTER (WHERE side = 'b') AS flops_b,
       sum(nbytes) FILTER (WHERE side = 'a') AS bytes_a,
       sum(nbytes) FILTER (WHERE side = 'b') AS bytes_b
FROM ops
GROUP BY op_group
ORDER BY abs(time_diff_s) DESC, op_group
"""


@lru_cache(maxsize=1)
def op_groups() -> dict[str, str]:
    """op_type -> comparison group, from store/sim_op_groups.yaml."""
    data = yaml.safe_load(GROUPS_FILE.read_text()) or {}
    return {op: group for group, ops in data.items() for op in ops}


@dataclass
class PairComparison:
    """One configuration simulated by two simulators: config figures and per-group rows."""

    config: dict[str, Any]
    operators: list[dict[str, Any]]
    largest: str | None  # the op group whose time differs most
    dominant_part: str | None  # 'compute' | 'memory' | 'comm': what differs most in it


@dataclass
class SimComparison:
    """Every matched pair, with the SQL (and parameters) that produced the rows."""

    simulator_a: str
    simulator_b: str
    pairs: list[PairComparison] = field(default_factory=list)
    sql: list[str] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)

    def summary_lines(self) -> list[str]:
        """One plain line per pair, every number from the rows (store text is not sanitised)."""
        a, b = self.simulator_a, self.simulator_b
        out = []
        for p in self.pairs:
            c = p.config
            la, lb = c["latency_a_s"], c["latency_b_s"]
            pct = f" ({(lb / la - 1) * 100:+.1f}%)" if la else ""
            line = (
                f"{c['system']} {c['model']} {c['phase']} batch {c['batch_size']} TP {c['tp']}: "
                f"{b} {lb * 1e3:.4g} ms vs {a} {la * 1e3:.4g} ms{pct}."
            )
            top = next((o for o in p.operators if o["op_group"] == p.largest), None)
            if top is not None:
                part = p.dominant_part
                pa, pb = (top.get(f"{part}_a_s"), top.get(f"{part}_b_s")) if part else (None, None)
                line += (
                    f" Largest difference: {top['op_group']} {top['time_diff_s'] * 1e3:+.4g} ms"
                    + (
                        f" ({part} time {(pa or 0) * 1e3:.4g} -> {(pb or 0) * 1e3:.4g} ms)"
                        if part
                        else ""
                    )
                    + "."
                )
            figs = []
            for key, label, unit in (
                ("peak_flops_bf16", "bf16 peak", 1e12),
                ("hbm_bw", "HBM bandwidth", 1e9),
                ("ici_bw", "ICI bandwidth", 1e9),
            ):
                va, vb = c.get(f"{key}_a"), c.get(f"{key}_b")
                if va is not None or vb is not None:
                    fa = f"{va / unit:.6g}" if va is not None else "NULL"
                    fb = f"{vb / unit:.6g}" if vb is not None else "NULL"
                    u = "TFLOP/s" if unit == 1e12 else "GB/s (1e9 bytes/s)"
                    figs.append(f"{label} {fb} vs {fa} {u}")
            if figs:
                line += " Systems as recorded: " + "; ".join(figs) + "."
            out.append(line)
        return out

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Evidence rows, flat: each pair's config row, then its operator-group rows."""
        out: list[dict[str, Any]] = []
        for p in self.pairs:
            out.append({"row": "config", **p.config})
            out += [
                {"row": "operators", "config_a": p.config["config_a"], **r} for r in p.operators
            ]
        return out


def simulators(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The distinct simulators of the store's sweeps, in name order."""
    return [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT simulator FROM sweeps WHERE simulator IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _dominant(row: dict[str, Any]) -> str | None:
    diffs = {}
    for part in ("compute", "memory", "comm"):
        a, b = row.get(f"{part}_a_s"), row.get(f"{part}_b_s")
        if a is not None or b is not None:
            diffs[part] = abs((b or 0.0) - (a or 0.0))
    return max(diffs, key=lambda k: diffs[k]) if diffs and max(diffs.values()) > 0 else None


def compare_simulators(
    con: duckdb.DuckDBPyConnection,
    simulator_a: str | None = None,
    simulator_b: str | None = None,
    *,
    system: str | None = None,
    model: str | None = None,
    phase: str | None = None,
    batch_size: int | None = None,
    tp: int | None = None,
    dtype: str | None = None,
    limit: int = 50,
) -> SimComparison:
    """Compare every configuration two simulators both ran (filters narrow it down).

    With simulator_a/b omitted and exactly two simulators in the store, those two are used
    (a = the first by name). ValueError if the store does not hold two simulators.
    """
    sims = simulators(con)
    if simulator_a is None or simulator_b is None:
        if len(sims) != 2:
            raise ValueError(
                f"the store holds sweeps of {len(sims)} simulator(s) ({', '.join(sims) or 'none'}); "
                "name the two to compare"
            )
        simulator_a, simulator_b = simulator_a or sims[0], simulator_b or sims[1]
        if simulator_a == simulator_b:
            simulator_b = sims[0] if simulator_a == sims[1] else sims[1]
    for s in (simulator_a, simulator_b):
        if s not in sims:
            raise ValueError(
                f"no sweep of simulator {s!r} in the store (it has: {', '.join(sims)})"
            )
    params = {
        "simulator_a": simulator_a,
        "simulator_b": simulator_b,
        "system": system,
        "model": model,
        "phase": phase,
        "batch_size": batch_size,
        "tp": tp,
        "dtype": dtype,
        "limit": limit,
    }
    result = SimComparison(simulator_a, simulator_b, sql=[PAIRS_SQL.strip()], params=[params])
    pairs = _dicts(con.execute(PAIRS_SQL, params))
    groups = op_groups()
    for cfg in pairs:
        p = {
            "op_types": list(groups),
            "op_groups": list(groups.values()),
            "config_a": cfg["config_a"],
            "config_b": cfg["config_b"],
        }
        ops = _dicts(con.execute(OPS_SQL, p))
        result.sql.append(OPS_SQL.strip())
        result.params.append(p)
        top = ops[0] if ops and ops[0]["time_diff_s"] else None
        result.pairs.append(
            PairComparison(
                cfg, ops, top["op_group"] if top else None, _dominant(top) if top else None
            )
        )
    return result


FRONTIERS_SQL = """
SELECT s.simulator, y.name AS system, c.system_id, c.sweep_id, c.config_id, c.phase,
       c.latency_s, c.perf_per_tco, c.batch_size, c.tp, c.weight_dtype
FROM configs c
JOIN sweeps s ON s.sweep_id = c.sweep_id
JOIN systems y ON y.system_id = c.system_id
JOIN models m ON m.model_id = c.model_id
WHERE c.is_pareto AND c.phase = $phase
  AND (lower(y.name) = lower($system) OR c.system_id = $system)
  AND ($model IS NULL OR lower(m.name) = lower($model) OR c.model_id = $model)
ORDER BY s.simulator, c.latency_s, c.config_id
"""


@dataclass
class FrontierOverlay:
    """One system's Pareto frontier from each simulator, for one plot (the TUI's overlay)."""

    system: str
    phase: str
    frontiers: dict[str, list[dict[str, Any]]]  # simulator -> points ordered by latency
    sql: str
    params: dict[str, Any]


def frontier_overlay(
    con: duckdb.DuckDBPyConnection, system: str, phase: str, model: str | None = None
) -> FrontierOverlay:
    """Each simulator's frontier (is_pareto rows) of a system (by name or id) and phase.

    A simulator without prices (e.g. GenZ ingested without --tco) has no frontier: its
    configs have no perf_per_tco, so it is absent from ``frontiers``.
    """
    params = {"system": system, "phase": phase, "model": model}
    out: dict[str, list[dict[str, Any]]] = {}
    for row in _dicts(con.execute(FRONTIERS_SQL, params)):
        out.setdefault(row["simulator"], []).append(row)
    return FrontierOverlay(system, phase, out, FRONTIERS_SQL.strip(), params)
