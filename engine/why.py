"""Stage 2, why is the data this way: decompositions computed from the store's rows.

Each function takes a read-only store connection and returns an `Explanation`: structured
facts, a one-line summary from a short template, the SQL it ran and the evidence rows.
Nothing here is outside the data except `unmodelled_operators`' reference list, which is
labelled as outside knowledge.

- `compare_systems`: all matched config pairs of two systems and the distribution of a
  metric's ratio ("A is faster in N of M, by up to X%, at ...").
- `explain_difference`: why two configs differ in latency, one operator's time, memory fit or
  cost: which operators account for it, which of compute/memory/comm time moved, and the
  cause the rows show (weights in SRAM vs HBM against the SRAM needed and the capacity, a
  dtype, TP, batch or phase difference, a bound that changed, a chip parameter).
- `explain_systems`: the same for two systems, at the matched config where they differ most
  unless the settings pin one down.
- `bottlenecks`, `collectives`, `flops_vs_time`, `unmodelled_operators`: the Section II
  Stage 1 questions (time by operator and bound; where collectives run; FLOPs share vs time
  share and utilisation; standard operators the sweep does not model).
Per-step time of an operator = roofline_time_s x count.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from coview.engine.analysis import (
    AnalysisError,
    Finding,
    Recorder,
    clean_text,
    clean_value,
    fmt_bytes,
    fmt_time,
    pct,
    resolve_systems,
)

REFERENCE_OPS = Path(__file__).with_name("decoder_operators.toml")

# Metrics a comparison may use, and whether lower is better.
METRICS: dict[str, bool] = {
    "latency_s": True,
    "throughput_tok_per_s": False,
    "perf_per_tco": False,
    "usd_per_1m_tokens": True,
    "tco_usd_per_hour": True,
    "energy_j": True,
    "power_w": True,
}
SETTING_FIELDS = (
    "model_id",
    "phase",
    "batch_size",
    "tp",
    "pp",
    "dp",
    "ep",
    "input_len",
    "output_len",
    "weight_dtype",
    "act_dtype",
    "kv_dtype",
)
SPEC_FIELDS = (
    "peak_flops_bf16",
    "peak_flops_fp8",
    "peak_ops_int8",
    "hbm_bytes",
    "hbm_bw_bytes_per_s",
    "sram_bytes",
    "sram_bw_bytes_per_s",
    "ici_bw_bytes_per_s",
    "tdp_w",
    "tco_usd_per_chip_hour",
)
# Two values closer than this (relative) are equal.
TIE = 1e-9


@dataclass
class Explanation:
    """An analysis result: what kind, a one-line summary, facts, SQL and evidence rows.

    `warnings` are the lint findings for the configs or systems involved (a comparison that is
    not apples to apples says so here).
    """

    kind: str
    summary: str
    facts: dict[str, Any]
    sql: list[str]
    rows: list[dict[str, Any]]
    warnings: list[Finding] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "summary": clean_text(self.summary),
            "facts": clean_value(self.facts),
            "sql": [clean_text(s) for s in self.sql],
            "rows": [clean_value(r) for r in self.rows],
            "warnings": [w.to_json() for w in self.warnings],
        }


def _explanation(
    kind: str, summary: str, facts: dict, rec: Recorder, warnings=None, cap: int = 50
) -> Explanation:
    return Explanation(kind, summary, facts, rec.sql, rec.evidence(cap), list(warnings or []))


def _rel(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if a == b:
        return 0.0
    scale = max(abs(a), abs(b))
    return (b - a) / scale if scale else 0.0


def _equal(a: float | None, b: float | None) -> bool:
    r = _rel(a, b)
    return r is not None and abs(r) <= TIE


# --------------------------------------------------------------------------- configs

_CONFIG_SQL = f"""
SELECT c.*, s.name AS system, {", ".join(f"s.{f}" for f in SPEC_FIELDS)},
       json_extract(c.extra, '$.activation_bytes_per_chip')::DOUBLE AS activation_bytes_per_chip
FROM configs c JOIN systems s USING (system_id)
WHERE c.config_id = $config_id
"""


def _config(rec: Recorder, config_id: int) -> dict[str, Any]:
    rows = rec.rows(_CONFIG_SQL, {"config_id": int(config_id)})
    if not rows:
        raise AnalysisError(f"no config {config_id} in the store; pick one from `coview` or ask.")
    return rows[0]


def describe_config(cfg: dict[str, Any]) -> str:
    """'xPU-A decode batch 1 TP 16 int8' - the settings a person reads."""
    dtypes = {cfg.get("weight_dtype"), cfg.get("act_dtype"), cfg.get("kv_dtype")} - {None}
    dt = (
        cfg.get("weight_dtype")
        if len(dtypes) <= 1
        else f"w {cfg.get('weight_dtype')} / act {cfg.get('act_dtype')} / kv {cfg.get('kv_dtype')}"
    )
    return clean_text(
        f"{cfg.get('system')} {cfg.get('phase')} batch {cfg.get('batch_size')} "
        f"TP {cfg.get('tp')} {dt or ''}"
    ).strip()


def _setting_text(row: dict[str, Any]) -> str:
    return clean_text(
        f"{row['phase']} batch {row['batch_size']} TP {row['tp']} {row['weight_dtype']}"
        + (f"/{row['act_dtype']}" if row.get("act_dtype") != row.get("weight_dtype") else "")
    )


# --------------------------------------------------------------------------- matched configs

_MATCH_ON = ("sweep_id",) + SETTING_FIELDS
_MEM = (
    "coalesce({t}.weight_bytes_per_chip, 0) + coalesce({t}.kv_bytes_per_chip, 0)"
    " + coalesce(json_extract({t}.extra, '$.activation_bytes_per_chip')::DOUBLE, 0)"
)


def _matched_sql(metric: str, filters: dict[str, Any]) -> str:
    on = " AND ".join(f"a.{f} IS NOT DISTINCT FROM b.{f}" for f in _MATCH_ON)
    where = ["a.system_id = $system_a", "b.system_id = $system_b"]
    for key in ("sweep_id", "phase", "batch_size", "tp", "model_id"):
        if filters.get(key) is not None:
            where.append(f"a.{key} = ${key}")
    if filters.get("dtype") is not None:
        where.append("a.weight_dtype = $dtype")
    if filters.get("fits_only"):
        where.append("a.fits_memory AND b.fits_memory")
    return f"""
SELECT a.config_id AS config_a, b.config_id AS config_b, a.sweep_id, a.model_id, a.phase,
       a.batch_size, a.tp, a.weight_dtype, a.act_dtype, a.kv_dtype, a.input_len, a.output_len,
       a.{metric} AS value_a, b.{metric} AS value_b, b.{metric} / a.{metric} AS ratio_b_over_a,
       a.fits_memory AS fits_a, b.fits_memory AS fits_b,
       {_MEM.format(t="a")} AS memory_bytes_a, {_MEM.format(t="b")} AS memory_bytes_b
FROM configs a JOIN configs b ON {on}
WHERE {" AND ".join(where)}
ORDER BY a.sweep_id, a.phase, a.weight_dtype, a.tp, a.batch_size
"""


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise AnalysisError(f"unknown metric {metric!r}; use one of {', '.join(METRICS)}.")


def compare_systems(
    con: duckdb.DuckDBPyConnection,
    system_a: str,
    system_b: str,
    metric: str = "latency_s",
    *,
    sweep_id: str | None = None,
    phase: str | None = None,
    batch_size: int | None = None,
    tp: int | None = None,
    dtype: str | None = None,
    model_id: str | None = None,
    fits_only: bool = True,
) -> Explanation:
    """Every config pair of two systems with the same sweep, model, phase, batch, TP/PP/DP/EP,
    dtypes and lengths, and how `metric` compares across them (never decided at one config).
    """
    return _compare(
        con,
        system_a,
        system_b,
        metric,
        sweep_id=sweep_id,
        phase=phase,
        batch_size=batch_size,
        tp=tp,
        dtype=dtype,
        model_id=model_id,
        fits_only=fits_only,
    )[0]


def _compare(
    con: duckdb.DuckDBPyConnection,
    system_a: str,
    system_b: str,
    metric: str,
    **filters: Any,
) -> tuple[Explanation, list[dict[str, Any]]]:
    """compare_systems and all its matched pairs (the Explanation's rows are capped)."""
    from coview.engine.lint import lint_comparison

    _check_metric(metric)
    sa, sb = resolve_systems(con, [system_a, system_b])
    rec = Recorder(con)
    sweep_id = filters.get("sweep_id")
    names = {
        r["system_id"]: r["name"]
        for r in rec.rows(
            "SELECT system_id, name FROM systems WHERE system_id IN ($a, $b)", {"a": sa, "b": sb}
        )
    }
    a, b = clean_text(names[sa]), clean_text(names[sb])
    pairs = rec.rows(_matched_sql(metric, filters), {"system_a": sa, "system_b": sb, **filters})
    warnings = lint_comparison(con, systems=[sa, sb], sweep_id=sweep_id)
    lower_better = METRICS[metric]
    facts = _ratio_facts(pairs, a, b, metric, lower_better)
    facts.update({"system_a": a, "system_b": b, "metric": metric, "filters": filters})
    if not pairs:
        why = f" ({warnings[0].title})" if warnings else ""
        summary = f"No matched configs of {a} and {b}{why}."
    else:
        summary = facts["verdict"]
    pairs = list(pairs)
    rec.queries[-1].rows.sort(key=lambda r: -_spread(r["value_a"], r["value_b"]))
    return _explanation("matched_configs", summary, facts, rec, warnings), pairs


def _ratio_facts(
    pairs: list[dict], a: str, b: str, metric: str, lower_better: bool
) -> dict[str, Any]:
    """Counts of A better / B better / equal, the largest advantage each way and where."""
    valid = [p for p in pairs if p["value_a"] and p["value_b"] is not None]
    a_wins, b_wins, ties = [], [], []
    for p in valid:
        va, vb = p["value_a"], p["value_b"]
        if _equal(va, vb):
            ties.append(p)
        elif (va < vb) == lower_better:
            a_wins.append(p)
        else:
            b_wins.append(p)

    def best(group: list[dict]) -> dict[str, Any] | None:
        if not group:
            return None

        # Advantage: how much worse the loser is than the winner (e.g. 4.4% more latency).
        def adv(p):
            worse, better = (
                (max(p["value_a"], p["value_b"]), min(p["value_a"], p["value_b"]))
                if lower_better
                else (min(p["value_a"], p["value_b"]), max(p["value_a"], p["value_b"]))
            )
            return abs(worse / better - 1) if better else 0.0

        top = max(group, key=adv)
        return {
            "by": adv(top),
            "at": _setting_text(top),
            "config_a": top["config_a"],
            "config_b": top["config_b"],
            "value_a": top["value_a"],
            "value_b": top["value_b"],
        }

    n = len(valid)
    ba, bb = best(a_wins), best(b_wins)
    word = {
        "latency_s": "faster",
        "usd_per_1m_tokens": "cheaper",
        "tco_usd_per_hour": "cheaper",
        "energy_j": "more frugal",
        "power_w": "more frugal",
    }.get(metric, "better")
    if not n:
        verdict = f"No matched configs of {a} and {b}."
    elif not a_wins and not b_wins:
        verdict = f"{a} and {b} are equal in {metric} at all {n} matched configs."
    elif a_wins and not b_wins:
        verdict = (
            f"{a} is never worse than {b}: {word} in {len(a_wins)} of {n} matched configs "
            f"by up to {pct(ba['by'])} (at {ba['at']}), equal in {len(ties)}."
        )
    elif b_wins and not a_wins:
        verdict = (
            f"{b} is never worse than {a}: {word} in {len(b_wins)} of {n} matched configs "
            f"by up to {pct(bb['by'])} (at {bb['at']}), equal in {len(ties)}."
        )
    else:
        verdict = (
            f"{a} is {word} in {len(a_wins)} of {n} matched configs (by up to {pct(ba['by'])} "
            f"at {ba['at']}), {b} in {len(b_wins)} (by up to {pct(bb['by'])} at {bb['at']}), "
            f"equal in {len(ties)}."
        )
    ratios = sorted(p["value_b"] / p["value_a"] for p in valid)
    return {
        "matched": n,
        "a_better": len(a_wins),
        "b_better": len(b_wins),
        "equal": len(ties),
        "a_best": ba,
        "b_best": bb,
        "ratio_b_over_a": {
            "min": ratios[0] if ratios else None,
            "median": ratios[len(ratios) // 2] if ratios else None,
            "max": ratios[-1] if ratios else None,
        },
        "verdict": verdict,
    }


# --------------------------------------------------------------------------- two configs

_OPS_DIFF_SQL = """
WITH o AS (
    SELECT config_id, op_type, coalesce(layer_name, '') AS layer_name, min(op_index) AS op_index,
           sum(count) AS count, sum(roofline_time_s * count) AS time_s,
           sum(compute_time_s * count) AS compute_s, sum(memory_time_s * count) AS memory_s,
           sum(comm_time_s * count) AS comm_s, string_agg(DISTINCT bound, ',') AS bound,
           string_agg(DISTINCT weights_location, ',') AS weights_location,
           sum(bytes_weight * count) AS weight_bytes,
           max(json_extract(extra, '$.sram_needed_bytes')::DOUBLE) AS sram_needed_bytes,
           sum(flops * count) AS flops
    FROM operators WHERE config_id IN ($config_a, $config_b)
    GROUP BY config_id, op_type, coalesce(layer_name, '')
)
SELECT coalesce(a.op_type, b.op_type) AS op_type, coalesce(a.layer_name, b.layer_name) AS layer_name,
       coalesce(a.op_index, b.op_index) AS op_index,
       a.time_s AS time_a_s, b.time_s AS time_b_s, b.time_s - a.time_s AS delta_s,
       a.compute_s AS compute_a_s, b.compute_s AS compute_b_s,
       a.memory_s AS memory_a_s, b.memory_s AS memory_b_s,
       a.comm_s AS comm_a_s, b.comm_s AS comm_b_s,
       a.bound AS bound_a, b.bound AS bound_b,
       a.weights_location AS weights_location_a, b.weights_location AS weights_location_b,
       a.weight_bytes AS weight_bytes_a, b.weight_bytes AS weight_bytes_b,
       a.sram_needed_bytes AS sram_needed_a, b.sram_needed_bytes AS sram_needed_b
FROM (SELECT * FROM o WHERE config_id = $config_a) a
FULL JOIN (SELECT * FROM o WHERE config_id = $config_b) b USING (op_type, layer_name)
ORDER BY abs(coalesce(b.time_s, 0) - coalesce(a.time_s, 0)) DESC, op_index
"""

_KINDS = ("latency", "operator", "memory", "cost")


def _setting_causes(ca: dict, cb: dict) -> list[dict[str, Any]]:
    causes = []
    if ca["system_id"] != cb["system_id"]:
        for f in SPEC_FIELDS:
            if ca.get(f) != cb.get(f):
                causes.append({"cause": "system_spec", "field": f, "a": ca.get(f), "b": cb.get(f)})
    for f in SETTING_FIELDS:
        if ca.get(f) != cb.get(f):
            kind = "dtype" if f.endswith("dtype") else "setting"
            causes.append({"cause": kind, "field": f, "a": ca.get(f), "b": cb.get(f)})
    return causes


def _op_causes(op: dict, ca: dict, cb: dict) -> list[dict[str, Any]]:
    """What the rows say about one operator's change: components, bound, weights location."""
    causes: list[dict[str, Any]] = []
    moved = {
        r: (op.get(f"{r}_b_s") or 0.0) - (op.get(f"{r}_a_s") or 0.0)
        for r in ("compute", "memory", "comm")
    }
    causes.append(
        {
            "cause": "components",
            "op_type": op["op_type"],
            "delta_s": moved,
            "largest": max(moved, key=lambda k: abs(moved[k])),
        }
    )
    if op.get("bound_a") != op.get("bound_b"):
        causes.append(
            {"cause": "bound", "op_type": op["op_type"], "a": op["bound_a"], "b": op["bound_b"]}
        )
    la, lb = op.get("weights_location_a"), op.get("weights_location_b")
    if la != lb:
        fact: dict[str, Any] = {
            "cause": "weights_location",
            "op_type": op["op_type"],
            "a": la,
            "b": lb,
            "sram_bytes_a": ca.get("sram_bytes"),
            "sram_bytes_b": cb.get("sram_bytes"),
        }
        for side, cfg in (("a", ca), ("b", cb)):
            # The simulator's config-level SRAM bookkeeping (e.g. the bytes it pinned in
            # total under a joint placement), when it records any.
            fact[f"config_sram_fields_{side}"] = _sram_fields(cfg.get("extra"))
            needed = op.get(f"sram_needed_{side}")
            source = "operators.extra.sram_needed_bytes"
            if needed is None and op.get(f"weight_bytes_{side}") is not None:
                needed = op[f"weight_bytes_{side}"]
                source = "bytes_weight x count (weights only: the rows give no activation bytes)"
            fact[f"needed_bytes_{side}"] = needed
            fact[f"needed_source_{side}"] = source
            cap = cfg.get("sram_bytes")
            if needed is not None and cap is not None:
                fact[f"shortfall_bytes_{side}"] = max(0.0, needed - cap)
        causes.append(fact)
    return causes


def _sram_fields(extra: Any) -> dict[str, Any]:
    """The entries of a config's extra JSON whose key mentions SRAM."""
    if isinstance(extra, str):
        try:
            extra = json.loads(extra)
        except ValueError:
            return {}
    if not isinstance(extra, dict):
        return {}
    return {k: v for k, v in extra.items() if "sram" in str(k).lower()}


def _cause_text(c: dict[str, Any], a: str, b: str) -> str | None:
    kind = c["cause"]
    if kind == "weights_location":
        loc = {None: "no weights", "sram": "SRAM", "hbm": "HBM"}
        text = (
            f"{c['op_type']} weights are read from {loc.get(c['a'], c['a'])} on {a} and "
            f"{loc.get(c['b'], c['b'])} on {b}"
        )
        need = c.get("needed_bytes_a") or c.get("needed_bytes_b")
        if need is not None:
            text += (
                f": they need {fmt_bytes(need)} of SRAM; {a} has {fmt_bytes(c['sram_bytes_a'])},"
                f" {b} {fmt_bytes(c['sram_bytes_b'])}"
            )
        return text
    if kind == "dtype":
        return f"{c['field']} is {c['a']} on {a} and {c['b']} on {b}"
    if kind == "setting":
        return f"{c['field']} is {c['a']} vs {c['b']}"
    if kind == "bound":
        return f"{c['op_type']} is {c['a']}-bound on {a} and {c['b']}-bound on {b}"
    return None


def explain_difference(
    con: duckdb.DuckDBPyConnection,
    config_a: int,
    config_b: int,
    what: str = "latency",
    op_type: str | None = None,
    top: int = 3,
    lint: bool = True,
) -> Explanation:
    """Why two configs differ in `what` ('latency', 'operator' with `op_type`, 'memory', 'cost').

    Facts: both values and the difference; the operators that account for it (per-step time
    deltas, largest first, with their share of the total difference); per top operator the
    compute/memory/comm deltas, a bound change and a weights-location change with the SRAM
    needed against each chip's capacity; the settings, dtypes and chip parameters that differ.
    `lint=False` skips the comparison's lint checks (for callers that ran them already).
    """
    from coview.engine.lint import lint_comparison

    if what not in _KINDS:
        raise AnalysisError(f"unknown difference {what!r}; use one of {', '.join(_KINDS)}.")
    if what == "operator" and not op_type:
        raise AnalysisError("name the operator (op_type) whose time differs, e.g. q_proj.")
    rec = Recorder(con)
    ca, cb = _config(rec, config_a), _config(rec, config_b)
    a = describe_config(ca) if ca["system"] == cb["system"] else clean_text(ca["system"])
    b = describe_config(cb) if ca["system"] == cb["system"] else clean_text(cb["system"])
    ops = rec.rows(_OPS_DIFF_SQL, {"config_a": int(config_a), "config_b": int(config_b)})
    causes = _setting_causes(ca, cb)
    facts: dict[str, Any] = {
        "what": what,
        "config_a": ca["config_id"],
        "config_b": cb["config_id"],
        "a": describe_config(ca),
        "b": describe_config(cb),
    }
    warnings = lint_comparison(con, config_ids=[int(config_a), int(config_b)]) if lint else []
    if what == "operator":
        ops = [o for o in ops if o["op_type"] == op_type]
        if not ops:
            raise AnalysisError(f"neither config has an operator {op_type!r}.")
    if what in ("latency", "operator"):
        total_a = ca["latency_s"] if what == "latency" else sum(o["time_a_s"] or 0 for o in ops)
        total_b = cb["latency_s"] if what == "latency" else sum(o["time_b_s"] or 0 for o in ops)
        delta = (total_b or 0) - (total_a or 0)
        op_delta_sum = sum(o["delta_s"] or 0 for o in ops)
        accounted = []
        for o in ops[:top]:
            d = o["delta_s"] or 0.0
            accounted.append(
                {
                    "op_type": o["op_type"],
                    "layer_name": o["layer_name"],
                    "time_a_s": o["time_a_s"],
                    "time_b_s": o["time_b_s"],
                    "delta_s": d,
                    "share_of_difference": d / delta if delta else None,
                    "causes": _op_causes(o, ca, cb),
                }
            )
        facts.update(
            {
                "value_a_s": total_a,
                "value_b_s": total_b,
                "difference_s": delta,
                "operators_difference_s": op_delta_sum,
                "operators": accounted,
                "resources": _resources(ops),
                "causes": causes,
            }
        )
        summary = _time_summary(what, op_type, a, b, total_a, total_b, accounted, causes)
    elif what == "memory":
        parts = ("weight_bytes_per_chip", "kv_bytes_per_chip", "activation_bytes_per_chip")
        comp = {p: {"a": ca.get(p), "b": cb.get(p)} for p in parts}
        moved = {p: (cb.get(p) or 0) - (ca.get(p) or 0) for p in parts}
        main = max(moved, key=lambda k: abs(moved[k]))
        facts.update(
            {
                "fits_a": ca["fits_memory"],
                "fits_b": cb["fits_memory"],
                "hbm_bytes_a": ca["hbm_bytes"],
                "hbm_bytes_b": cb["hbm_bytes"],
                "components": comp,
                "largest_change": main,
                "causes": causes,
            }
        )
        fit = {True: "fits", False: "does not fit", None: "fit unknown"}
        fa, fb = fit[ca["fits_memory"]], fit[cb["fits_memory"]]
        both = {"fits": "Both fit", "does not fit": "Neither fits"}.get(fa, f"Both: {fa}")
        summary = (both if fa == fb else f"{a} {fa} and {b} {fb}") + " in HBM"
        total = sum(comp[p]["a"] or 0 for p in parts)
        if all(_equal(comp[p]["a"], comp[p]["b"]) for p in parts if comp[p]["a"] is not None):
            summary += (
                f"; weights, KV cache and activations take the same bytes per chip "
                f"({fmt_bytes(total)}), HBM {fmt_bytes(ca['hbm_bytes'])} vs "
                f"{fmt_bytes(cb['hbm_bytes'])}."
            )
        else:
            summary += (
                f"; {main.replace('_', ' ')} changes most ({fmt_bytes(comp[main]['a'])} vs "
                f"{fmt_bytes(comp[main]['b'])}; HBM {fmt_bytes(ca['hbm_bytes'])} vs "
                f"{fmt_bytes(cb['hbm_bytes'])})" + _because(causes, a, b)
            )
    else:  # cost
        lat_ratio = _ratio(ca["latency_s"], cb["latency_s"])
        facts.update(
            {
                "usd_per_1m_tokens_a": ca["usd_per_1m_tokens"],
                "usd_per_1m_tokens_b": cb["usd_per_1m_tokens"],
                "tco_usd_per_hour_a": ca["tco_usd_per_hour"],
                "tco_usd_per_hour_b": cb["tco_usd_per_hour"],
                "throughput_a": ca["throughput_tok_per_s"],
                "throughput_b": cb["throughput_tok_per_s"],
                "tco_ratio_b_over_a": _ratio(ca["tco_usd_per_hour"], cb["tco_usd_per_hour"]),
                "throughput_ratio_b_over_a": _ratio(
                    ca["throughput_tok_per_s"], cb["throughput_tok_per_s"]
                ),
                "latency_ratio_b_over_a": lat_ratio,
                "causes": causes,
            }
        )
        summary = (
            f"Cost per 1M tokens {ca['usd_per_1m_tokens']:.4g} USD on {a} vs "
            f"{cb['usd_per_1m_tokens']:.4g} on {b} = TCO/hour ratio "
            f"{facts['tco_ratio_b_over_a']:.3g} / throughput ratio "
            f"{facts['throughput_ratio_b_over_a']:.3g}" + _because(causes, a, b)
        )
    return _explanation(f"why.{what}", summary, facts, rec, warnings)


def _resources(ops: list[dict]) -> dict[str, dict[str, float]]:
    """Per-step compute, memory and comm time summed over the operators, both sides, and
    the step time spent in operators bound by each resource."""
    out: dict[str, dict[str, float]] = {}
    for r in ("compute", "memory", "comm"):
        ta = sum(o.get(f"{r}_a_s") or 0.0 for o in ops)
        tb = sum(o.get(f"{r}_b_s") or 0.0 for o in ops)
        ba = sum(o["time_a_s"] or 0.0 for o in ops if o.get("bound_a") == r)
        bb = sum(o["time_b_s"] or 0.0 for o in ops if o.get("bound_b") == r)
        out[r] = {
            "time_a_s": ta,
            "time_b_s": tb,
            "delta_s": tb - ta,
            "bound_time_a_s": ba,
            "bound_time_b_s": bb,
        }
    return out


def _ratio(a: float | None, b: float | None) -> float | None:
    return b / a if a and b is not None else None


def _because(causes: list[dict], a: str, b: str) -> str:
    texts = [t for c in causes if (t := _cause_text(c, a, b))]
    return ("; " + "; ".join(texts[:3]) + ".") if texts else "."


def _time_summary(what, op_type, a, b, ta, tb, accounted, causes) -> str:
    name = f"{op_type} time per step" if what == "operator" else "latency"
    if _equal(ta, tb):
        return f"The {name} is the same on {a} and {b} ({fmt_time(ta)})."
    text = f"The {name} is {fmt_time(ta)} on {a} and {fmt_time(tb)} on {b}"
    if accounted and what == "latency":
        big = [o for o in accounted if (o["share_of_difference"] or 0) >= 0.1] or accounted[:1]
        shares = ", ".join(
            f"{clean_text(o['op_type'])} {pct(o['share_of_difference'] or 0)}" for o in big
        )
        text += f"; the difference is in {shares}"
    reasons = []
    for o in accounted[:1]:
        for c in o["causes"]:
            if c["cause"] == "components":
                reasons.append(f"{clean_text(o['op_type'])}'s {c['largest']} time moved most")
            elif t := _cause_text(c, a, b):
                reasons.append(t)
    reasons += [t for c in causes if c["cause"] != "system_spec" and (t := _cause_text(c, a, b))]
    return text + (": " + "; ".join(reasons[:3]) if reasons else "") + "."


def explain_systems(
    con: duckdb.DuckDBPyConnection,
    system_a: str,
    system_b: str,
    what: str = "latency",
    op_type: str | None = None,
    **settings: Any,
) -> Explanation:
    """Why two systems differ, at the matched config where they differ most in `what` (or the
    one config the settings pin down); the matched-config distribution rides along in facts.
    """
    if what == "operator" and not op_type:
        raise AnalysisError("name the operator (op_type) whose time differs, e.g. q_proj.")
    metric = "usd_per_1m_tokens" if what == "cost" else "latency_s"
    # A memory question is about configs that may not fit: do not drop them.
    settings.setdefault("fits_only", what != "memory")
    matched, pairs = _compare(con, system_a, system_b, metric, **settings)
    if not pairs:
        return matched
    if what == "operator":
        rec = Recorder(con)
        op_rows = rec.rows(
            """
            SELECT a.config_id AS config_a, b.config_id AS config_b,
                   sum(a.roofline_time_s * a.count) AS time_a_s,
                   sum(b.roofline_time_s * b.count) AS time_b_s
            FROM operators a JOIN operators b ON a.op_type = b.op_type
             AND a.layer_name IS NOT DISTINCT FROM b.layer_name
            WHERE a.op_type = $op_type
              AND a.config_id IN (SELECT unnest($ids_a)) AND b.config_id IN (SELECT unnest($ids_b))
            GROUP BY a.config_id, b.config_id
            """,
            {
                "op_type": op_type,
                "ids_a": [p["config_a"] for p in pairs],
                "ids_b": [p["config_b"] for p in pairs],
            },
        )
        wanted = {(p["config_a"], p["config_b"]) for p in pairs}
        op_rows = [r for r in op_rows if (r["config_a"], r["config_b"]) in wanted]
        if not op_rows:
            raise AnalysisError(f"no matched config of these systems has an operator {op_type!r}.")
        pick = max(op_rows, key=lambda r: _spread(r["time_a_s"], r["time_b_s"]))
        differ = sum(1 for r in op_rows if not _equal(r["time_a_s"], r["time_b_s"]))
        extra_sql = rec.sql
    elif what == "memory":
        pick = max(
            pairs,
            key=lambda r: (
                r["fits_a"] != r["fits_b"],
                _spread(r["memory_bytes_a"], r["memory_bytes_b"]),
            ),
        )
        differ = sum(
            1
            for r in pairs
            if r["fits_a"] != r["fits_b"] or not _equal(r["memory_bytes_a"], r["memory_bytes_b"])
        )
        extra_sql = []
    else:
        pick = max(pairs, key=lambda r: _spread(r["value_a"], r["value_b"]))
        differ = sum(1 for r in pairs if not _equal(r["value_a"], r["value_b"]))
        extra_sql = []
    exp = explain_difference(con, pick["config_a"], pick["config_b"], what, op_type)
    exp.facts["matched"] = matched.facts
    exp.facts["picked"] = (
        "the only matched config"
        if len(pairs) == 1
        else f"the matched config where they differ most ({differ} of {len(pairs)} differ)"
    )
    if differ == 0:
        exp.summary = (
            f"No difference in any of {len(pairs)} matched configs; e.g. at "
            f"{_setting_text(pick if 'phase' in pick else _row_of(pick, pairs))}: {exp.summary}"
        )
    else:
        exp.summary = f"At {describe_picked(pick, pairs, matched)}: {exp.summary}"
    exp.sql = matched.sql + extra_sql + exp.sql
    exp.warnings = matched.warnings
    return exp


def _row_of(pick: dict, pairs: list[dict]) -> dict:
    return next(p for p in pairs if p["config_a"] == pick["config_a"])


def describe_picked(pick: dict, pairs: list[dict], matched: Explanation) -> str:
    row = _row_of(pick, pairs)
    return _setting_text(row) + (
        "" if len(pairs) == 1 else f" (the largest difference among {len(pairs)} matched configs)"
    )


def _spread(a: float | None, b: float | None) -> float:
    if not a or not b or a <= 0 or b <= 0:
        return 0.0
    return abs(math.log(b / a))


# --------------------------------------------------------------------------- one config


def bottlenecks(con: duckdb.DuckDBPyConnection, config_id: int, top: int = 3) -> Explanation:
    """Where one config's step time goes: per operator (time, share, bound) and per bound."""
    rec = Recorder(con)
    cfg = _config(rec, config_id)
    ops = rec.rows(
        """
        SELECT op_index, op_type, op_class, layer_name, count, bound, weights_location,
               roofline_time_s, roofline_time_s * count AS step_time_s,
               roofline_time_s * count / sum(roofline_time_s * count) OVER () AS share
        FROM operators WHERE config_id = $config_id
        ORDER BY step_time_s DESC, op_index
        """,
        {"config_id": int(config_id)},
    )
    by_bound = rec.rows(
        """
        SELECT coalesce(bound, 'unknown') AS bound, count(*) AS operators,
               sum(roofline_time_s * count) AS step_time_s,
               sum(roofline_time_s * count) / (SELECT sum(roofline_time_s * count)
                   FROM operators WHERE config_id = $config_id) AS share
        FROM operators WHERE config_id = $config_id
        GROUP BY ALL ORDER BY step_time_s DESC
        """,
        {"config_id": int(config_id)},
    )
    if not ops:
        raise AnalysisError(f"config {config_id} has no operator rows.")
    facts = {
        "config_id": int(config_id),
        "config": describe_config(cfg),
        "latency_s": cfg["latency_s"],
        "top": [
            {k: o[k] for k in ("op_type", "bound", "step_time_s", "share", "weights_location")}
            for o in ops[:top]
        ],
        "by_bound": by_bound,
    }
    lead = ", ".join(
        f"{clean_text(o['op_type'])} {pct(o['share'] or 0)} ({o['bound']}-bound)" for o in ops[:top]
    )
    bb = by_bound[0]
    summary = (
        f"{describe_config(cfg)}: the largest operators are {lead}; "
        f"{bb['bound']}-bound operators take {pct(bb['share'] or 0)} of the step."
    )
    return _explanation("bottlenecks", summary, facts, rec)


def collectives_in_order(ops: list[dict[str, Any]]) -> list[tuple[dict, dict | None]]:
    """(collective, the non-collective operator listed before it) for one config's operator
    rows in op_index order: where the data places each collective."""
    out = []
    for i, o in enumerate(ops):
        if o.get("op_class") == "collective":
            prev = next((p for p in reversed(ops[:i]) if p.get("op_class") != "collective"), None)
            out.append((o, prev))
    return out


def collectives(con: duckdb.DuckDBPyConnection, config_id: int) -> Explanation:
    """The collectives of one config: after which operator each is listed (op_index order),
    how many run per step (count) and per layer, bytes sent and time."""
    rec = Recorder(con)
    cfg = _config(rec, config_id)
    ops = rec.rows(
        """
        SELECT o.op_index, o.op_type, o.op_class, o.layer_name, o.count, o.bytes_comm,
               o.comm_time_s, o.roofline_time_s * o.count AS step_time_s,
               o.roofline_time_s * o.count / sum(o.roofline_time_s * o.count) OVER () AS share,
               json_extract_string(o.extra, '$.after') AS after_ops, m.num_layers
        FROM operators o JOIN configs c USING (config_id) LEFT JOIN models m USING (model_id)
        WHERE o.config_id = $config_id ORDER BY o.op_index
        """,
        {"config_id": int(config_id)},
    )
    found = []
    for o, prev in collectives_in_order(ops):
        layers = o["num_layers"] if o["layer_name"] == "decoder" else None
        found.append(
            {
                "op_type": o["op_type"],
                "op_index": o["op_index"],
                "listed_after": prev["op_type"] if prev else None,
                "after_ops": o["after_ops"],
                "per_step": o["count"],
                "per_layer": o["count"] / layers if layers and o["count"] else None,
                "bytes_comm_per_step": (o["bytes_comm"] or 0) * (o["count"] or 0),
                "step_time_s": o["step_time_s"],
                "share": o["share"],
            }
        )
    facts = {"config_id": int(config_id), "config": describe_config(cfg), "collectives": found}
    if not found:
        summary = f"{describe_config(cfg)} has no collective operators in the data."
    else:
        parts = []
        for c in found:
            where = (
                f"after {clean_text(c['after_ops'])}"
                if c["after_ops"]
                else f"listed after {clean_text(c['listed_after'])} in op_index order"
            )
            per_layer = f" ({c['per_layer']:g} per layer)" if c["per_layer"] else ""
            moved = (
                f"sending {fmt_bytes(c['bytes_comm_per_step'])} per step, {pct(c['share'] or 0)} of the step"
                if c["bytes_comm_per_step"]
                else "moving no data (TP 1)"
            )
            parts.append(
                f"{clean_text(c['op_type'])} runs {c['per_step']} times per step{per_layer}, {where}, {moved}"
            )
        summary = f"{describe_config(cfg)}: " + "; ".join(parts) + "."
    return _explanation("collectives", summary, facts, rec)


def flops_vs_time(
    con: duckdb.DuckDBPyConnection, config_id: int, by: str = "op_type", least: int = 3
) -> Explanation:
    """FLOPs share against time share per operator (`by`='op_type') or class ('op_class'),
    with utilisation = compute time / roofline time (1.0: the op runs at its compute roof)."""
    if by not in ("op_type", "op_class"):
        raise AnalysisError("group by 'op_type' or 'op_class'.")
    rec = Recorder(con)
    cfg = _config(rec, config_id)
    groups = rec.rows(
        f"""
        SELECT {by} AS grp, sum(flops * count) AS flops,
               sum(flops * count) / sum(sum(flops * count)) OVER () AS flops_share,
               sum(roofline_time_s * count) AS step_time_s,
               sum(roofline_time_s * count) / sum(sum(roofline_time_s * count)) OVER () AS time_share,
               sum(compute_time_s * count) / nullif(sum(roofline_time_s * count), 0) AS utilisation
        FROM operators WHERE config_id = $config_id
        GROUP BY {by} ORDER BY step_time_s DESC
        """,
        {"config_id": int(config_id)},
    )
    ranked = sorted(
        (g for g in groups if g["utilisation"] is not None and (g["time_share"] or 0) >= 0.01),
        key=lambda g: g["utilisation"],
    )
    facts = {
        "config_id": int(config_id),
        "config": describe_config(cfg),
        "by": by,
        "groups": groups,
        "least_efficient": ranked[:least],
    }
    gap = max(groups, key=lambda g: (g["time_share"] or 0) - (g["flops_share"] or 0))
    low = ", ".join(f"{clean_text(g['grp'])} {pct(g['utilisation'])}" for g in ranked[:least])
    summary = (
        f"{describe_config(cfg)}: {clean_text(gap['grp'])} takes {pct(gap['time_share'] or 0)} "
        f"of the time for {pct(gap['flops_share'] or 0)} of the FLOPs; least efficient "
        f"(compute time / roofline time): {low or 'n/a'}."
    )
    return _explanation("flops_vs_time", summary, facts, rec)


def reference_operators() -> dict[str, Any]:
    """The reference decoder-only operator list (outside knowledge, from a data file)."""
    return tomllib.loads(REFERENCE_OPS.read_text())


def classify_reference(
    have: set[str], max_tp: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(modelled, not modelled, not applicable) entries of the reference operator list for a
    sweep holding the op types `have` (lowercase) at TP up to `max_tp`."""
    modelled, missing, not_applicable = [], [], []
    for op in reference_operators()["operator"]:
        hit = sorted(have & {m.lower() for m in op["matches"]})
        entry = {"name": op["name"], "where": op["where"], "what": op["what"], "as": hit}
        if hit:
            modelled.append(entry)
        elif op.get("only_when") == "tp > 1" and max_tp <= 1:
            not_applicable.append(entry)
        else:
            missing.append(entry)
    return modelled, missing, not_applicable


def unmodelled_operators(
    con: duckdb.DuckDBPyConnection, sweep_id: str | None = None
) -> Explanation:
    """Standard decoder-layer operators the sweep does not model, against the reference list
    (labelled as outside knowledge: the list is not store data)."""
    rec = Recorder(con)
    where = "WHERE c.sweep_id = $sweep_id" if sweep_id else ""
    present = rec.rows(
        f"""
        SELECT o.op_type, o.op_class, count(DISTINCT o.config_id) AS configs,
               max(c.tp) AS max_tp
        FROM operators o JOIN configs c USING (config_id) {where}
        GROUP BY o.op_type, o.op_class ORDER BY min(o.op_index), o.op_type
        """,
        {"sweep_id": sweep_id},
    )
    ref = reference_operators()
    have = {str(r["op_type"]).lower() for r in present}
    max_tp = max((r["max_tp"] or 1 for r in present), default=1)
    modelled, missing, not_applicable = classify_reference(have, max_tp)
    known = {m.lower() for op in ref["operator"] for m in op["matches"]}
    facts = {
        "outside_knowledge": (
            f"outside knowledge: reference list {REFERENCE_OPS.name} "
            f"({ref.get('source', '')}), not store data"
        ),
        "sweep_id": sweep_id,
        "modelled": modelled,
        "not_modelled": missing,
        "not_applicable": not_applicable,
        "unrecognised_op_types": sorted(have - known),
    }
    names = ", ".join(m["name"] for m in missing) or "none"
    summary = (
        f"Compared with a reference list of decoder-only transformer operators (outside "
        f"knowledge, not data), the sweep does not model: {names}."
    )
    return _explanation("unmodelled_operators", summary, facts, rec)
