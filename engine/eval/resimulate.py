"""Expected values of what-if and search questions, computed at eval time by re-simulation.

A stage 3 question ("if xPU-B had 7% more SRAM...", "how much SRAM does xPU-B need to...")
has no stored answer. Its expected value comes from the stored sweep's spec
(`sweeps.sim_spec`) re-run here with coview's per-operator loop (`sim.roofline.simulate_config`),
not with the vectorised grid code that answers the question (`engine.whatif`, `sim.grid`):
two implementations of one model, so an answer that drifts from the model is caught. Every
re-simulation first checks that the unchanged spec reproduces the stored config row.

Spec formats (also in sample_data/questions/README.md):

    expected_whatif: {system: xPU-B, set: {sram_bytes: "*1.07"},
                      filters: {phase: decode, batch_size: 8, tp: 8, weight_dtype: int8},
                      metric: latency_s}            # or: operator: q_proj, field: weights_location
    expected_search: {system: xPU-B, parameter: sram_bytes, filters: {...},
                      goal: {pin: q_proj}           # or {match: xPU-A[, metric: latency_s]}
                                                    # or {metric: latency_s, op: "<=", value: 7e-3}
                      report: threshold}            # or ratio (threshold / today's value)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from coview.engine.whatif import (
    DTYPE_PARAMETERS,
    FILTER_KEYS,
    RUN_INT_PARAMETERS,
    SYSTEM_PARAMETERS,
)
from coview.sim.roofline import (
    DTYPE_BYTES,
    ConfigResult,
    RunConfig,
    SystemSpec,
    simulate_config,
)

# The parameters a change may set are coview whatif's own names (shared vocabulary, not
# shared computation: the expected values below come from the per-operator loop).
SYSTEM_FIGURES = SYSTEM_PARAMETERS
RUN_INTS = RUN_INT_PARAMETERS
RUN_DTYPES = DTYPE_PARAMETERS
FILTERS = (*FILTER_KEYS, "dtype")
CONFIG_METRICS = (
    "latency_s", "throughput_tok_per_s", "tco_usd_per_hour", "perf_per_tco", "usd_per_1m_tokens",
    "weight_bytes_per_chip", "kv_bytes_per_chip", "activation_bytes_per_chip", "fits_memory",
    "power_w", "energy_j", "total_flops", "sram_needed_bytes", "sram_used_bytes",
    "sram_pinned_weight_bytes", "sram_activation_reserve_bytes", "ops_weights_in_sram",
)  # fmt: skip
OPERATOR_FIELDS = (
    "flops", "bytes_read", "bytes_written", "bytes_weight", "bytes_comm", "compute_time_s",
    "memory_time_s", "comm_time_s", "roofline_time_s", "time_per_step_s", "bound",
    "weights_location", "power_w", "sram_needed_bytes", "sram_time_saved_s",
)  # fmt: skip
LOWER_IS_BETTER = ("latency_s", "usd_per_1m_tokens", "energy_j", "power_w")
HIGHER_IS_BETTER = ("throughput_tok_per_s", "perf_per_tco")
_COMPARE = {"<=": float.__le__, "<": float.__lt__, ">=": float.__ge__, ">": float.__gt__}
_WHATIF_KEYS = {"system", "set", "filters", "metric", "operator", "field", "sweep"}
_SEARCH_KEYS = {"system", "parameter", "filters", "goal", "report", "sweep"}
MAX_FACTOR = 2.0**30


class ResimError(ValueError):
    """A what-if or search expectation that cannot be computed; says why."""


# ------------------------------------------------------------------ checking specs (load time


def parse_set(changes: Any) -> list[tuple[str, str, Any]]:
    """`set: {sram_bytes: "*1.07", hbm_bw_bytes_per_s: 3.2e12, tdp_w: "+50", dtype: fp8}`
    as (parameter, op, value) with op '*', '+' or '='."""
    if not isinstance(changes, dict):
        raise ResimError("`set` must be a mapping of parameter: change, e.g. {sram_bytes: '*1.07'}")
    out = []
    for name, raw in changes.items():
        if name in RUN_DTYPES:
            if raw not in DTYPE_BYTES:
                raise ResimError(f"set {name}: {raw!r} is not a dtype ({', '.join(DTYPE_BYTES)})")
            out.append((name, "=", str(raw)))
            continue
        if name not in SYSTEM_FIGURES + RUN_INTS:
            raise ResimError(
                f"cannot set {name!r}; settable: {', '.join(SYSTEM_FIGURES + RUN_INTS + RUN_DTYPES)}"
            )
        op, text = "=", raw
        if isinstance(raw, str):
            text = raw.strip()
            if text[:1] in ("*", "x", "+", "="):
                op, text = ("*" if text[0] in "*x" else text[0]), text[1:].strip()
        try:
            value = float(text)
        except (TypeError, ValueError):
            raise ResimError(
                f"set {name}: {raw!r} is not a change; write '*1.07' (scale), '+50' (add) or a "
                "number (set)"
            ) from None
        if isinstance(raw, bool) or not math.isfinite(value):
            raise ResimError(f"set {name}: {raw!r} is not a finite number")
        out.append((name, op, value))
    return out


def _check_filters(filters: Any) -> None:
    if filters is None:
        return
    if not isinstance(filters, dict):
        raise ResimError("`filters` must be a mapping such as {phase: decode, batch_size: 8}")
    bad = sorted(set(filters) - set(FILTERS))
    if bad:
        raise ResimError(f"unknown filter(s) {', '.join(bad)}; filters: {', '.join(FILTERS)}")


def check_whatif_spec(spec: Any) -> None:
    """Raise ResimError (a ValueError) if an `expected_whatif` mapping is malformed."""
    if not isinstance(spec, dict):
        raise ResimError(
            "must be a mapping with system, set, filters and metric (or operator+field)"
        )
    bad = sorted(set(spec) - _WHATIF_KEYS)
    if bad:
        raise ResimError(
            f"unknown key(s) {', '.join(bad)}; keys: {', '.join(sorted(_WHATIF_KEYS))}"
        )
    if not isinstance(spec.get("system"), str):
        raise ResimError("`system` must name the system to re-simulate")
    parse_set(spec.get("set") or {})
    _check_filters(spec.get("filters"))
    if spec.get("operator") is not None:
        if spec.get("metric") is not None:
            raise ResimError("give `metric` (a config figure) or `operator` + `field`, not both")
        if spec.get("field") not in OPERATOR_FIELDS:
            raise ResimError(
                f"`field` is {spec.get('field')!r}; use one of {', '.join(OPERATOR_FIELDS)}"
            )
    elif spec.get("metric") not in CONFIG_METRICS:
        raise ResimError(
            f"`metric` is {spec.get('metric')!r}; use one of {', '.join(CONFIG_METRICS)}"
        )


def check_search_spec(spec: Any) -> None:
    """Raise ResimError (a ValueError) if an `expected_search` mapping is malformed."""
    if not isinstance(spec, dict):
        raise ResimError("must be a mapping with system, parameter, filters and goal")
    bad = sorted(set(spec) - _SEARCH_KEYS)
    if bad:
        raise ResimError(
            f"unknown key(s) {', '.join(bad)}; keys: {', '.join(sorted(_SEARCH_KEYS))}"
        )
    if not isinstance(spec.get("system"), str):
        raise ResimError("`system` must name the system whose figure is searched")
    if spec.get("parameter") not in SYSTEM_FIGURES:
        raise ResimError(
            f"`parameter` is {spec.get('parameter')!r}; search a system figure: {', '.join(SYSTEM_FIGURES)}"
        )
    _check_filters(spec.get("filters"))
    if spec.get("report", "threshold") not in ("threshold", "ratio"):
        raise ResimError("`report` is threshold (the value found) or ratio (it / today's value)")
    goal = spec.get("goal")
    if not isinstance(goal, dict) or sum(k in goal for k in ("pin", "match", "value")) != 1:
        raise ResimError(
            "`goal` is one of {pin: OPERATOR}, {match: SYSTEM[, metric: M]} or "
            "{metric: M, op: '<=', value: V}"
        )
    metric = goal.get("metric", "latency_s")
    if ("match" in goal or "value" in goal) and metric not in LOWER_IS_BETTER + HIGHER_IS_BETTER:
        raise ResimError(
            f"goal metric {metric!r}; use one of {', '.join(LOWER_IS_BETTER + HIGHER_IS_BETTER)}"
        )
    if "value" in goal and goal.get("op") not in _COMPARE:
        raise ResimError("goal `op` is one of <=, <, >=, >")


# ------------------------------------------------------------------ the stored sweep


@dataclasses.dataclass
class _Stored:
    sweep_id: str
    system: SystemSpec
    spec: Any  # SweepSpec
    rows: list[dict[str, Any]]


def _load(con, spec: dict[str, Any]) -> _Stored:
    from coview.sim.spec import SpecError, spec_from_json

    name = spec["system"]
    found = con.execute(
        "SELECT system_id, name FROM systems WHERE lower(name) = lower(?) OR lower(system_id) = "
        "lower(?)",
        [name, name],
    ).fetchall()
    if len(found) != 1:
        raise ResimError(f"the store has {len(found)} systems named {name!r}; name exactly one")
    system_id = found[0][0]
    sweeps = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT sweep_id FROM configs WHERE system_id = ? ORDER BY 1", [system_id]
        ).fetchall()
    ]
    if spec.get("sweep") is not None:
        sweeps = [s for s in sweeps if s == spec["sweep"]]
    if len(sweeps) != 1:
        raise ResimError(
            f"{name} is in {len(sweeps)} sweeps ({', '.join(sweeps) or 'none'}); name one with `sweep`"
        )
    sweep_id = sweeps[0]
    try:
        text = con.execute("SELECT sim_spec FROM sweeps WHERE sweep_id = ?", [sweep_id]).fetchone()
    except Exception:  # an older store without the column
        text = None
    if not text or text[0] is None:
        raise ResimError(
            f"sweep {sweep_id!r} has no sim_spec (it was not simulated by coview's roofline model, "
            "or by an older coview), so a what-if cannot be re-simulated to grade the answer; "
            "grade this question with expected_sql or mark it valid: false"
        )
    try:
        sweep_spec = spec_from_json(text[0])
    except SpecError as exc:
        raise ResimError(f"sweep {sweep_id!r}: its sim_spec does not parse: {exc}") from exc
    entry = next((e for e in sweep_spec.systems if e.system.system_id == system_id), None)
    if entry is None:
        raise ResimError(f"the sim_spec of sweep {sweep_id!r} has no system {system_id!r}")
    clauses, params = [], []
    for key, value in (spec.get("filters") or {}).items():
        col = "weight_dtype" if key == "dtype" else key
        values = list(value) if isinstance(value, list) else [value]
        clauses.append(f" AND {col} IN ({', '.join('?' for _ in values)})")
        params += values
    cur = con.execute(
        "SELECT * FROM configs WHERE sweep_id = ? AND system_id = ?"
        + "".join(clauses)
        + " ORDER BY config_id",
        [sweep_id, system_id, *params],
    )
    cols = [d[0] for d in cur.description]
    rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    if not rows:
        raise ResimError(f"no config of {name} in sweep {sweep_id!r} matches {spec.get('filters')}")
    return _Stored(sweep_id, entry.system, sweep_spec, rows)


def _run(row: dict[str, Any]) -> RunConfig:
    return RunConfig(
        phase=row["phase"],
        batch_size=int(row["batch_size"]),
        input_len=int(row["input_len"]),
        output_len=int(row["output_len"]),
        tp=int(row["tp"]),
        weight_dtype=row["weight_dtype"],
        act_dtype=row["act_dtype"],
        kv_dtype=row["kv_dtype"],
    )


def _simulate(stored: _Stored, system: SystemSpec, run: RunConfig) -> ConfigResult:
    s = stored.spec
    return simulate_config(s.model, system, run, s.efficiency, s.power)


def _check_reproduces(stored: _Stored) -> None:
    """The unchanged spec must give the stored latency: else the spec or model moved on."""
    for row in stored.rows:
        got = _simulate(stored, stored.system, _run(row)).latency_s
        want = float(row["latency_s"])
        if not math.isclose(got, want, rel_tol=1e-9, abs_tol=0.0):
            raise ResimError(
                f"re-simulating config {row['config_id']} with no change gives latency {got!r}, "
                f"the store holds {want!r}: the stored sim_spec no longer reproduces its rows "
                "(re-run `coview simulate` and ingest the sweep again)"
            )


def _changed(
    stored: _Stored, row: dict[str, Any], changes: list[tuple[str, str, Any]]
) -> tuple[SystemSpec, RunConfig]:
    system, run = stored.system, _run(row)
    sys_vals: dict[str, float] = {}
    run_vals: dict[str, Any] = {}
    for name, op, value in changes:
        if name in RUN_DTYPES:
            for t in ("weight_dtype", "act_dtype", "kv_dtype") if name == "dtype" else (name,):
                run_vals[t] = value
            continue
        if name in SYSTEM_FIGURES:
            before = sys_vals.get(name, getattr(system, name))
        else:
            before = run_vals.get(name, getattr(run, name))
        if before is None and op != "=":
            raise ResimError(f"{system.name} has no {name}; set it with a number instead of {op!r}")
        after = value if op == "=" else (before * value if op == "*" else before + value)
        if name in SYSTEM_FIGURES:
            if after < 0:
                raise ResimError(f"{name} would become {after:g}; it must not be negative")
            sys_vals[name] = float(after)
        else:
            if after != round(after) or after < 1:
                raise ResimError(f"{name} would become {after:g}; it must be a whole number >= 1")
            run_vals[name] = int(round(after))
    return dataclasses.replace(system, **sys_vals), dataclasses.replace(run, **run_vals)


def _metric(res: ConfigResult, metric: str) -> Any:
    if hasattr(res, metric):
        return getattr(res, metric)
    return res.extra[metric]


def _op_field(res: ConfigResult, operator: str, name: str) -> Any:
    op = next((o for o in res.ops if o.op_type == operator), None)
    if op is None:
        raise ResimError(f"the model has no operator {operator!r}")
    if name == "time_per_step_s":
        return op.roofline_time_s * op.count
    if hasattr(op, name):
        return getattr(op, name)
    if name not in op.extra:
        raise ResimError(f"operator {operator} has no {name} (it carries no weights)")
    return op.extra[name]


# ------------------------------------------------------------------ what-if and search


def whatif_expected(con, spec: dict[str, Any]) -> dict[str, Any]:
    """The re-simulated figure as a row: {system, [op_type], metric-or-field: value}.

    The filters must select exactly one config (an answer states one figure)."""
    check_whatif_spec(spec)
    stored = _load(con, spec)
    if len(stored.rows) != 1:
        raise ResimError(
            f"the filters select {len(stored.rows)} configs of {spec['system']}; a what-if "
            "expectation needs exactly one (give phase, batch_size, tp and weight_dtype)"
        )
    _check_reproduces(stored)
    system, run = _changed(stored, stored.rows[0], parse_set(spec.get("set") or {}))
    res = _simulate(stored, system, run)
    row: dict[str, Any] = {"system": stored.system.name}
    if spec.get("operator") is not None:
        row["op_type"] = spec["operator"]
        row[spec["field"]] = _op_field(res, spec["operator"], spec["field"])
    else:
        row[spec["metric"]] = _metric(res, spec["metric"])
    return row


def _goal(con, stored: _Stored, goal: dict[str, Any]):
    """A function (result, stored row) -> whether the goal holds at that config."""
    if "pin" in goal:
        op = goal["pin"]
        return lambda res, row: _op_field(res, op, "weights_location") == "sram"
    metric = goal.get("metric", "latency_s")
    better = "<=" if metric in LOWER_IS_BETTER else ">="
    if "value" in goal:
        op, value = goal["op"], float(goal["value"])
        return lambda res, row: _COMPARE[op](float(_metric(res, metric)), value)
    other = con.execute(
        "SELECT system_id FROM systems WHERE lower(name) = lower(?) OR lower(system_id) = lower(?)",
        [goal["match"], goal["match"]],
    ).fetchall()
    if len(other) != 1:
        raise ResimError(f"goal match: no single system named {goal['match']!r}")
    targets = {}
    for row in stored.rows:
        got = con.execute(
            f"SELECT {metric} FROM configs WHERE sweep_id = ? AND system_id = ? AND phase = ? AND "
            "batch_size = ? AND tp = ? AND weight_dtype = ? AND act_dtype = ? AND kv_dtype = ? "
            "AND input_len = ? AND output_len = ?",
            [stored.sweep_id, other[0][0], row["phase"], row["batch_size"], row["tp"],
             row["weight_dtype"], row["act_dtype"], row["kv_dtype"], row["input_len"],
             row["output_len"]],
        ).fetchall()  # fmt: skip
        if len(got) != 1:
            raise ResimError(
                f"goal match: {goal['match']} has {len(got)} configs matching config "
                f"{row['config_id']}; narrow the filters"
            )
        targets[row["config_id"]] = float(got[0][0])
    return lambda res, row: _COMPARE[better](float(_metric(res, metric)), targets[row["config_id"]])


def search_expected(con, spec: dict[str, Any]) -> dict[str, Any]:
    """The smallest value of a system figure (plain bisection, whole bytes for *_bytes) at which
    the goal holds at every selected config, as {system, parameter, threshold, ratio, value}."""
    check_search_spec(spec)
    stored = _load(con, spec)
    _check_reproduces(stored)
    holds = _goal(con, stored, spec["goal"])
    parameter = spec["parameter"]
    runs = [(row, _run(row)) for row in stored.rows]

    def ok(value: float) -> bool:
        system = dataclasses.replace(stored.system, **{parameter: value})
        return all(holds(_simulate(stored, system, run), row) for row, run in runs)

    base = getattr(stored.system, parameter)
    base = float(base) if base is not None else 0.0
    whole = parameter.endswith("_bytes")
    if ok(base):
        threshold = base
    else:
        lo = base
        hi = base * 2 if base > 0 else 1.0
        while not ok(hi):
            lo, hi = hi, hi * 2
            if hi > max(base, 1.0) * MAX_FACTOR:
                raise ResimError(
                    f"{stored.system.name} does not meet the goal for any {parameter} up to "
                    f"x{MAX_FACTOR:g}; the question has no threshold"
                )
        if whole:
            lo, hi = math.floor(lo), math.ceil(hi)
        for _ in range(400):
            if (whole and hi - lo <= 1) or (not whole and hi - lo <= 1e-12 * hi):
                break
            mid = (lo + hi) // 2 if whole else (lo + hi) / 2
            lo, hi = (lo, mid) if ok(float(mid)) else (mid, hi)
        threshold = float(hi)
    ratio = threshold / base if base else None
    value = ratio if spec.get("report") == "ratio" else threshold
    if value is None:
        raise ResimError(f"{stored.system.name} has no {parameter} today, so there is no ratio")
    return {"system": stored.system.name, "parameter": parameter, "threshold": threshold,
            "ratio": ratio, "value": value}  # fmt: skip
