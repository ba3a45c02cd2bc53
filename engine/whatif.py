"""What-if and search by re-simulation: coview's own sweeps re-run with a change.

A sweep that coview's roofline model produced carries its full spec (sweeps.sim_spec), so
any of its configurations can be re-simulated exactly: with no change the simulated rows
equal the stored rows bit for bit. `whatif` applies changes (a system figure scaled or set,
or a configuration's dtype, TP, batch or lengths) to the configs a filter selects and
returns the stored (baseline) rows beside the simulated ones, per config and per operator,
with a label that states the exact change. `search` finds by bisection the value of one
system figure at which a target holds (a metric against a number, or matching another
system), and returns the rows at that value. Sweeps from other simulators are refused with
the reason. Every figure returned comes from the store or from the simulator, never a guess.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from coview.sim.grid import DTYPES, Grid, simulate_grid
from coview.sim.roofline import MODEL_VERSION, SystemSpec, check_shardable
from coview.sim.spec import SpecError, SweepSpec, spec_from_json
from coview.sim.sweep import SIMULATOR, result_tables

SYSTEM_PARAMETERS = (
    "peak_flops_bf16", "peak_flops_fp8", "peak_ops_int8", "hbm_bytes", "hbm_bw_bytes_per_s",
    "sram_bytes", "sram_bw_bytes_per_s", "ici_bw_bytes_per_s", "tdp_w", "tco_usd_per_chip_hour",
)  # fmt: skip
RUN_INT_PARAMETERS = ("tp", "batch_size", "input_len", "output_len")
DTYPE_PARAMETERS = ("dtype", "weight_dtype", "act_dtype", "kv_dtype")
FILTER_KEYS = (
    "config_id", "phase", "batch_size", "tp", "weight_dtype", "act_dtype", "kv_dtype",
    "input_len", "output_len",
)  # fmt: skip
CONFIG_METRICS = (
    "latency_s", "throughput_tok_per_s", "tco_usd_per_hour", "perf_per_tco", "usd_per_1m_tokens",
    "weight_bytes_per_chip", "kv_bytes_per_chip", "fits_memory", "power_w", "energy_j",
    "total_flops", "num_chips", "tp", "batch_size", "input_len", "output_len", "weight_dtype",
    "act_dtype", "kv_dtype",
)  # fmt: skip
OPERATOR_METRICS = (
    "op_type", "op_class", "layer_name", "count", "flops", "bytes_read", "bytes_written",
    "bytes_weight", "bytes_comm", "compute_time_s", "memory_time_s", "comm_time_s",
    "roofline_time_s", "bound", "weights_location", "power_w",
)  # fmt: skip
LOWER_IS_BETTER = ("latency_s", "usd_per_1m_tokens", "energy_j", "power_w")
HIGHER_IS_BETTER = ("throughput_tok_per_s", "perf_per_tco")
_COMPARE = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class WhatIfError(Exception):
    """A what-if or search that cannot be run; the message says why and what to do."""


def plain(text: Any) -> str:
    """Store text made safe to print: control characters (escape sequences) removed."""
    return _CONTROL.sub("", str(text))


@dataclass(frozen=True)
class Change:
    """One modification: `parameter` `op` `value`, op '*' (scale), '=' (set) or '+' (add)."""

    parameter: str
    op: str
    value: float | int | str

    def apply(self, before: float | int | str) -> float | int | str:
        if self.op == "=":
            return self.value
        if isinstance(before, str) or isinstance(self.value, str):
            raise WhatIfError(f"{self.parameter} takes '=' only, e.g. {self.parameter}=fp8")
        if self.op == "*":
            return before * self.value
        if self.op == "+":
            return before + self.value
        raise WhatIfError(
            f"unknown operation {self.op!r} for {self.parameter}; use '*', '=' or '+'"
        )

    def text(self) -> str:
        if self.op == "*":
            return f"{self.parameter} x{self.value:g}"
        if self.op == "+":
            return f"{self.parameter} +{self.value:g}"
        value = self.value if isinstance(self.value, str) else f"{self.value:g}"
        return f"{self.parameter} = {value}"


def parse_change(text: str) -> Change:
    """'sram_bytes=*1.07', 'hbm_bw_bytes_per_s=3.2e12', 'tp=8', 'dtype=fp8', 'tdp_w=+50'."""
    if "=" not in text:
        raise WhatIfError(
            f"--set {text!r} needs PARAMETER=VALUE, e.g. sram_bytes=*1.07 or hbm_bw_bytes_per_s=3.2e12"
        )
    name, raw = (s.strip() for s in text.split("=", 1))
    op = "="
    if raw[:1] in ("*", "+", "x"):
        op, raw = ("*" if raw[0] in "*x" else "+"), raw[1:].strip()
    if name in DTYPE_PARAMETERS:
        return normalise_change(name, (op, raw))
    try:
        value: float = float(raw)
    except ValueError as exc:
        raise WhatIfError(f"--set {text!r}: {raw!r} is not a number") from exc
    return normalise_change(name, (op, value))


def parse_changes(text: str) -> list[Change]:
    """Several `--set` changes in one line, separated by commas, semicolons or spaces:
    'sram_bytes=*1.07, hbm_bw_bytes_per_s=3.2e12' (spaces around '=' are allowed)."""
    joined = re.sub(r"\s*=\s*([*x+]?)\s*", r"=\1", text.strip())
    parts = [p for p in re.split(r"[,;\s]+", joined) if p]
    if not parts:
        raise WhatIfError(
            "type a change, e.g. sram_bytes=*1.07 or hbm_bw_bytes_per_s=3.2e12 "
            "(several separated by commas)"
        )
    return [parse_change(p) for p in parts]


def normalise_change(parameter: str, spec: Any) -> Change:
    """A Change from the API's (op, value) pair (or a bare value, meaning '='), checked."""
    op, value = spec if isinstance(spec, tuple) else ("=", spec)
    known = SYSTEM_PARAMETERS + RUN_INT_PARAMETERS + DTYPE_PARAMETERS
    if parameter not in known:
        raise WhatIfError(f"cannot change {parameter!r}; changeable: {', '.join(known)}")
    if op not in ("*", "=", "+"):
        raise WhatIfError(f"unknown operation {op!r} for {parameter}; use '*', '=' or '+'")
    if parameter in DTYPE_PARAMETERS:
        if op != "=" or value not in DTYPES:
            raise WhatIfError(f"{parameter} must be set to one of {', '.join(DTYPES)}")
        return Change(parameter, op, str(value))
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise WhatIfError(f"{parameter} needs a finite number, got {value!r}")
    return Change(parameter, op, value)


# ------------------------------------------------------------------ the stored sweep


@dataclass
class _Target:
    """The stored sweep, its spec and the configs a filter selected, ready to re-simulate."""

    sweep_id: str
    spec: SweepSpec
    system_index: int
    system: SystemSpec
    rows: list[dict[str, Any]]  # stored configs rows
    grid: Grid
    sql: list[str]


class _Store:
    """A store given as a path (opened read-only here, closed after) or an open connection."""

    def __init__(self, store: Path | str | Any) -> None:
        self.given = not isinstance(store, str | Path)
        self.store = store

    def __enter__(self):
        if self.given:
            self.con = self.store
            return self.con
        from coview.store.db import StoreError, connect

        try:
            self.con = connect(Path(self.store), read_only=True)
        except StoreError as exc:
            raise WhatIfError(str(exc)) from exc
        return self.con

    def __exit__(self, *exc: object) -> None:
        if not self.given:
            self.con.close()


def _find_system(con, system: str) -> tuple[str, str]:
    rows = con.execute(
        "SELECT system_id, name FROM systems WHERE lower(name) = lower(?) OR lower(system_id) = "
        "lower(?) ORDER BY system_id",
        [system, system],
    ).fetchall()
    if not rows:
        names = [
            plain(r[0]) for r in con.execute("SELECT name FROM systems ORDER BY name").fetchall()
        ]
        raise WhatIfError(f"no system {plain(system)!r} in the store; systems: {', '.join(names)}")
    return rows[0][0], rows[0][1]


def _pick_sweep(con, system_id: str, name: str, sweep_id: str | None) -> tuple[str, SweepSpec]:
    rows = con.execute(
        "SELECT s.sweep_id, s.simulator, s.simulator_version, s.sim_spec FROM sweeps s WHERE "
        "s.sweep_id IN (SELECT DISTINCT sweep_id FROM configs WHERE system_id = ?) "
        "ORDER BY s.sweep_id",
        [system_id],
    ).fetchall()
    if sweep_id is not None:
        rows = [r for r in rows if r[0] == sweep_id]
        if not rows:
            raise WhatIfError(f"sweep {plain(sweep_id)!r} holds no configs of {plain(name)}")
    if not rows:
        raise WhatIfError(f"no sweep in the store holds configs of {plain(name)}")
    ours = [r for r in rows if r[1] == SIMULATOR]
    if not ours:
        sweep, simulator = plain(rows[0][0]), plain(rows[0][1] or "an unknown simulator")
        raise WhatIfError(
            f"cannot re-simulate {plain(name)}: sweep {sweep!r} was produced by {simulator}, not "
            f"by coview's own roofline model, and coview cannot re-run another simulator. "
            "A what-if needs a sweep made with `coview simulate`."
        )
    if len(ours) > 1:
        ids = ", ".join(plain(r[0]) for r in ours)
        raise WhatIfError(f"{plain(name)} is in several coview sweeps ({ids}); name one with sweep")
    sid, _, version, text = ours[0]
    if text is None:
        raise WhatIfError(
            f"sweep {plain(sid)!r} carries no stored spec (sweeps.sim_spec is NULL: it was "
            "simulated by an older coview); re-run `coview simulate SPEC --out DIR` and "
            "`coview ingest DIR --replace` to make it re-simulable."
        )
    if version != MODEL_VERSION:
        raise WhatIfError(
            f"sweep {plain(sid)!r} was simulated by roofline model v{plain(version)}, this coview "
            f"runs v{MODEL_VERSION}; re-simulate the spec so baseline and what-if match."
        )
    try:
        spec = spec_from_json(text)
    except SpecError as exc:
        raise WhatIfError(str(exc)) from exc
    return sid, spec


def _filter_sql(filters: dict[str, Any] | None) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for key, value in (filters or {}).items():
        if value is None:
            continue
        col = "weight_dtype" if key == "dtype" else key
        if col not in FILTER_KEYS:
            raise WhatIfError(f"unknown filter {key!r}; filters: {', '.join(FILTER_KEYS)}, dtype")
        values = list(value) if isinstance(value, list | tuple | set) else [value]
        clauses.append(f"c.{col} IN ({', '.join('?' for _ in values)})")
        params += values
    return "".join(f" AND {c}" for c in clauses), params


def _load(
    store_path: Path | str, system: str, filters: dict[str, Any] | None, sweep_id: str | None
) -> _Target:
    with _Store(store_path) as con:
        system_id, name = _find_system(con, system)
        sid, spec = _pick_sweep(con, system_id, name, sweep_id)
        where, params = _filter_sql(filters)
        sql = (
            "SELECT c.* FROM configs c WHERE c.sweep_id = ? AND c.system_id = ?"
            f"{where} ORDER BY c.config_id"
        )
        cur = con.execute(sql, [sid, system_id, *params])
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    if not rows:
        raise WhatIfError(
            f"no config of {plain(name)} in sweep {plain(sid)!r} matches {filters or {}}"
        )
    index = next((i for i, e in enumerate(spec.systems) if e.system.system_id == system_id), None)
    if index is None:
        raise WhatIfError(f"the stored spec of {plain(sid)!r} has no system {plain(system_id)!r}")
    code = {d: i for i, d in enumerate(DTYPES)}

    def col(key, dtype=np.int64, f=lambda v: v):
        return np.array([f(r[key]) for r in rows], dtype=dtype)

    grid = Grid(
        system=np.full(len(rows), index, dtype=np.int64),
        prefill=col("phase", bool, lambda v: v == "prefill"),
        batch_size=col("batch_size"),
        input_len=col("input_len"),
        output_len=col("output_len"),
        tp=col("tp"),
        weight_dtype=col("weight_dtype", f=code.__getitem__),
        act_dtype=col("act_dtype", f=code.__getitem__),
        kv_dtype=col("kv_dtype", f=code.__getitem__),
    )
    bound_sql = sql
    for p in (sid, system_id, *params):
        lit = str(p) if isinstance(p, int | float) else "'" + str(p).replace("'", "''") + "'"
        bound_sql = bound_sql.replace("?", lit, 1)
    return _Target(sid, spec, index, spec.systems[index].system, rows, grid, [bound_sql])


def _stored_operators(store_path: Path | str, config_ids: list[int]) -> tuple[list[dict], str]:
    with _Store(store_path) as con:
        sql = (
            "SELECT * FROM operators WHERE config_id IN (SELECT unnest(?)) "
            "ORDER BY config_id, op_index"
        )
        cur = con.execute(sql, [config_ids])
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    return rows, sql.replace("?", f"[{', '.join(str(i) for i in config_ids)}]")


# ------------------------------------------------------------------ applying changes


def _apply(target: _Target, changes: list[Change]) -> tuple[SystemSpec, Grid, list[dict]]:
    """The changed system and grid, and what each change did (before/after values)."""
    system, grid = target.system, target.grid
    done: list[dict] = []
    sys_changes: dict[str, float] = {}
    grid_changes: dict[str, np.ndarray] = {}
    code = {d: i for i, d in enumerate(DTYPES)}
    for ch in changes:
        if ch.parameter in SYSTEM_PARAMETERS:
            before = sys_changes.get(ch.parameter, getattr(system, ch.parameter))
            if before is None:
                if ch.op != "=":
                    raise WhatIfError(
                        f"{system.name} has no {ch.parameter}; set it with '=' instead of '{ch.op}'"
                    )
                before_v = None
            else:
                before_v = float(before)
            after = float(ch.apply(before_v)) if before_v is not None else float(ch.value)
            if after < 0 or (after == 0 and ch.parameter != "sram_bytes"):
                raise WhatIfError(f"{ch.parameter} would become {after:g}; it must be > 0")
            sys_changes[ch.parameter] = after
            done.append({"parameter": ch.parameter, "op": ch.op, "value": ch.value,
                         "before": before_v, "after": after})  # fmt: skip
        elif ch.parameter in RUN_INT_PARAMETERS:
            before_a = grid_changes.get(ch.parameter, getattr(grid, ch.parameter))
            after_f = np.array([ch.apply(int(v)) for v in before_a], dtype=np.float64)
            if (after_f != np.round(after_f)).any() or (after_f < 1).any():
                raise WhatIfError(f"{ch.parameter} must stay a whole number >= 1")
            after_a = after_f.astype(np.int64)
            if ch.parameter == "tp":
                for t in np.unique(after_a):
                    if (why := check_shardable(target.spec.model, int(t))) is not None:
                        raise WhatIfError(f"tp={int(t)} cannot shard the model: {why}")
            grid_changes[ch.parameter] = after_a
            done.append({"parameter": ch.parameter, "op": ch.op, "value": ch.value,
                         "before": sorted({int(v) for v in before_a}),
                         "after": sorted({int(v) for v in after_a})})  # fmt: skip
        else:
            targets = (
                ("weight_dtype", "act_dtype", "kv_dtype")
                if ch.parameter == "dtype"
                else (ch.parameter,)
            )
            for t in targets:
                before_a = grid_changes.get(t, getattr(grid, t))
                done.append({"parameter": t, "op": "=", "value": ch.value,
                             "before": sorted({DTYPES[int(v)] for v in before_a}),
                             "after": [ch.value]})  # fmt: skip
                grid_changes[t] = np.full(len(grid), code[str(ch.value)], dtype=np.int64)
    if sys_changes:
        system = dataclasses.replace(system, **sys_changes)
    if grid_changes:
        grid = dataclasses.replace(grid, **grid_changes)
    for t in ("weight_dtype", "act_dtype", "kv_dtype"):
        for c in np.unique(getattr(grid, t)):
            if not system.supports(DTYPES[int(c)]):
                raise WhatIfError(
                    f"{system.name} has no {DTYPES[int(c)]} peak, so it cannot run {t} "
                    f"{DTYPES[int(c)]}; set peak_flops_fp8/peak_ops_int8 too, or pick another dtype"
                )
    return system, grid, done


def fmt(v: Any) -> str:
    """A number as the label shows it: whole numbers in full, others to 12 digits."""
    if v is None:
        return "none"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e16:
        return str(int(v))
    return f"{v:.12g}" if isinstance(v, float) else str(v)


def _label(name: str, done: list[dict]) -> str:
    parts = []
    for d in done:
        p, op, v, b, a = d["parameter"], d["op"], d["value"], d["before"], d["after"]
        if isinstance(a, list):
            parts.append(f"{p} {', '.join(map(str, b))} -> {', '.join(map(str, a))}")
        elif op == "*":
            parts.append(f"{p} x{fmt(v)}: {fmt(b)} -> {fmt(a)}")
        elif op == "+":
            parts.append(f"{p} +{fmt(v)}: {fmt(b)} -> {fmt(a)}")
        else:
            parts.append(f"{p} = {fmt(a)} (was {fmt(b)})")
    change = "; ".join(parts) if parts else "no change"
    return f"simulated by coview-roofline v{MODEL_VERSION}: {plain(name)} with {change}"


# ------------------------------------------------------------------ results


@dataclass
class WhatIfResult:
    """Baseline (stored) and what-if (simulated) rows side by side."""

    sweep_id: str
    system: str
    system_id: str
    label: str
    changes: list[dict]
    configs: list[dict]  # {"config_id", "baseline": {...}, "whatif": {...}, "settings": {...}}
    operators: list[
        dict
    ]  # {"config_id", "op_index", "op_type", "baseline": {...}, "whatif": {...}}
    sql: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _config_dict(row: dict) -> dict[str, Any]:
    out = {k: row[k] for k in CONFIG_METRICS}
    extra = row.get("extra")
    extra = json.loads(extra) if isinstance(extra, str) else (extra or {})
    for k in ("ops_weights_in_sram", "sram_activation_reserve_bytes", "sram_needed_bytes",
              "sram_pinned_weight_bytes", "sram_used_bytes", "activation_bytes_per_chip"):  # fmt: skip
        out[k] = extra.get(k)
    return out


def _op_dict(row: dict) -> dict[str, Any]:
    out = {k: row[k] for k in OPERATOR_METRICS}
    extra = row.get("extra")
    extra = json.loads(extra) if isinstance(extra, str) else (extra or {})
    for k in ("sram_needed_bytes", "sram_time_saved_s", "act_bytes", "compute_dtype"):
        out[k] = extra.get(k)
    return out


def _simulated_rows(target: _Target, system: SystemSpec, grid: Grid) -> tuple[list, list]:
    """The simulated configs and operators as the dicts _config_dict/_op_dict make from rows
    (built from the arrays directly: no JSON round trip on the hot path)."""
    from coview.sim.grid import BOUNDS
    from coview.sim.roofline import OP_CLASS, OP_ORDER

    systems = [e.system for e in target.spec.systems]
    systems[target.system_index] = system
    spec = target.spec
    res = simulate_grid(spec.model, systems, grid, spec.efficiency, spec.power)
    n = len(grid)
    cols = {
        "latency_s": res.latency_s, "throughput_tok_per_s": res.throughput_tok_per_s,
        "tco_usd_per_hour": res.tco_usd_per_hour, "perf_per_tco": res.perf_per_tco,
        "usd_per_1m_tokens": res.usd_per_1m_tokens,
        "weight_bytes_per_chip": res.weight_bytes_per_chip,
        "kv_bytes_per_chip": res.kv_bytes_per_chip, "fits_memory": res.fits_memory,
        "power_w": res.power_w_total, "energy_j": res.energy_j, "total_flops": res.total_flops,
        "num_chips": res.num_chips, "tp": grid.tp, "batch_size": grid.batch_size,
        "input_len": grid.input_len, "output_len": grid.output_len,
        "sram_activation_reserve_bytes": res.sram_activation_reserve_bytes,
        "sram_needed_bytes": res.sram_needed_total_bytes,
        "sram_pinned_weight_bytes": res.sram_pinned_weight_bytes,
        "sram_used_bytes": res.sram_used_bytes,
        "activation_bytes_per_chip": res.activation_bytes_per_chip,
    }  # fmt: skip
    lists = {k: np.asarray(v).tolist() for k, v in cols.items()}
    for k in ("weight_dtype", "act_dtype", "kv_dtype"):
        lists[k] = [DTYPES[c] for c in getattr(grid, k).tolist()]
    weight_ops = [o for o in OP_ORDER if OP_CLASS[o] in ("gemm", "norm")]
    pinned = res.pinned.tolist()
    configs = []
    for i in range(n):
        d = {k: lists[k][i] for k in CONFIG_METRICS}
        d["ops_weights_in_sram"] = sorted(
            o for j, o in enumerate(OP_ORDER) if pinned[i][j] and o in weight_ops
        )
        for k in ("sram_activation_reserve_bytes", "sram_needed_bytes",
                  "sram_pinned_weight_bytes", "sram_used_bytes", "activation_bytes_per_chip"):  # fmt: skip
            d[k] = lists[k][i]
        configs.append(d)
    arr = {
        k: getattr(res, k).tolist()
        for k in ("flops", "bytes_read", "bytes_written", "bytes_weight", "bytes_comm",
                  "compute_time_s", "memory_time_s", "comm_time_s", "roofline_time_s",
                  "power_w", "act_bytes", "sram_time_saved_s")
    }  # fmt: skip
    need = res.sram_needed_bytes.astype(np.float64).tolist()
    bound = res.bound.tolist()
    cdt = res.compute_dtype.tolist()
    count = res.count.tolist()
    ops = []
    for i in range(n):
        for j, o in enumerate(OP_ORDER):
            has_w = OP_CLASS[o] in ("gemm", "norm")
            d = {"op_type": o, "op_class": OP_CLASS[o],
                 "layer_name": "head" if o == "lm_head" else "decoder", "count": count[j]}  # fmt: skip
            for k in ("flops", "bytes_read", "bytes_written", "bytes_weight", "bytes_comm",
                      "compute_time_s", "memory_time_s", "comm_time_s", "roofline_time_s"):  # fmt: skip
                d[k] = arr[k][i][j]
            d["bound"] = BOUNDS[bound[i][j]]
            d["weights_location"] = ("sram" if pinned[i][j] else "hbm") if has_w else None
            d["power_w"] = arr["power_w"][i][j]
            d["sram_needed_bytes"] = need[i][j] if has_w else None
            d["sram_time_saved_s"] = arr["sram_time_saved_s"][i][j] if has_w else None
            d["act_bytes"] = arr["act_bytes"][i][j]
            d["compute_dtype"] = DTYPES[cdt[i][j]]
            ops.append(d)
    return configs, ops


def whatif(
    store: Path | str | Any,
    system: str,
    changes: dict[str, Any] | list[Change] | None = None,
    filters: dict[str, Any] | None = None,
    sweep_id: str | None = None,
    operators: bool = True,
) -> WhatIfResult:
    """Re-simulate `system`'s configs matching `filters` with `changes` applied.

    changes: {"sram_bytes": ("*", 1.07)}, {"hbm_bw_bytes_per_s": ("=", 3.2e12)},
    {"dtype": ("=", "fp8")}, {"tp": ("=", 8)}; or a list of Change. filters: phase,
    batch_size, tp, weight_dtype (or dtype), act_dtype, kv_dtype, input_len, output_len,
    config_id (a value or a list). Raises WhatIfError with the reason when it cannot run.
    """
    if isinstance(changes, dict):
        change_list = [normalise_change(k, v) for k, v in changes.items()]
    else:
        change_list = list(changes or [])
    with _Store(store) as con:
        target = _load(con, system, filters, sweep_id)
        new_system, grid, done = _apply(target, change_list)
        sim_configs, sim_ops = _simulated_rows(target, new_system, grid)
        stored: list[dict] = []
        sql = list(target.sql)
        if operators:
            stored, op_sql = _stored_operators(con, [r["config_id"] for r in target.rows])
            sql.append(op_sql)
    configs = [
        {
            "config_id": base["config_id"],
            "phase": base["phase"],
            "baseline": _config_dict(base),
            "whatif": sim,
        }
        for base, sim in zip(target.rows, sim_configs, strict=True)
    ]
    op_rows = [
        {
            "config_id": base["config_id"],
            "op_index": base["op_index"],
            "op_type": base["op_type"],
            "baseline": _op_dict(base),
            "whatif": sim,
        }
        for base, sim in zip(stored, sim_ops if operators else [], strict=True)
    ]
    name = target.system.name
    return WhatIfResult(
        sweep_id=target.sweep_id,
        system=plain(name),
        system_id=target.system.system_id,
        label=_label(name, done),
        changes=done,
        configs=configs,
        operators=op_rows,
        sql=sql,
    )


def resimulate_sweep(store_path: Path | str, sweep_id: str) -> dict[str, Any]:
    """Re-simulate every config of a stored coview sweep with no change: the configs and
    operators tables as Arrow tables, for checking them against the store."""
    with _Store(store_path) as con:
        row = con.execute(
            "SELECT simulator, sim_spec FROM sweeps WHERE sweep_id = ?", [sweep_id]
        ).fetchone()
    if row is None:
        raise WhatIfError(f"no sweep {plain(sweep_id)!r} in the store")
    if row[0] != SIMULATOR or row[1] is None:
        raise WhatIfError(f"sweep {plain(sweep_id)!r} was not made by coview's roofline model")
    from coview.sim.sweep import grid_of

    spec = spec_from_json(row[1])
    grid, _ = grid_of(spec)
    res = simulate_grid(
        spec.model, [e.system for e in spec.systems], grid, spec.efficiency, spec.power
    )
    ids = spec.config_id_base + np.arange(len(grid), dtype=np.int64)
    return result_tables(spec, grid, res, ids)


# ------------------------------------------------------------------ search


@dataclass
class SearchResult:
    """The threshold bisection found for one system figure, and the rows at it."""

    system: str
    parameter: str
    target: str  # the condition, in words
    baseline_value: float | None
    threshold: float | None  # None when not reachable
    ratio: float | None  # threshold / baseline_value
    met_at_baseline: bool
    reachable: bool
    evaluations: int
    label: str
    at_threshold: WhatIfResult | None
    below_threshold: list[dict] = field(default_factory=list)  # configs just below it

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _goal(
    store_path: Path | str,
    target_spec: tuple[str, str, float] | None,
    match_system: str | None,
    metric: str | None,
    t: _Target,
) -> tuple[str, np.ndarray, str, str]:
    """(metric, per-config bound values, comparison, description) of the search target."""
    if (target_spec is None) == (match_system is None):
        raise WhatIfError("give exactly one of target=(metric, op, value) or match_system")
    if target_spec is not None:
        metric, op, value = target_spec
        if op not in _COMPARE:
            raise WhatIfError(f"unknown comparison {op!r}; use <=, <, >= or >")
        if metric not in LOWER_IS_BETTER + HIGHER_IS_BETTER:
            raise WhatIfError(
                f"cannot search on {metric!r}; metrics: {', '.join(LOWER_IS_BETTER + HIGHER_IS_BETTER)}"
            )
        return metric, np.full(len(t.rows), float(value)), op, f"{metric} {op} {fmt(float(value))}"
    metric = metric or "latency_s"
    if metric not in LOWER_IS_BETTER + HIGHER_IS_BETTER:
        raise WhatIfError(f"cannot match on {metric!r}")
    op = "<=" if metric in LOWER_IS_BETTER else ">="
    with _Store(store_path) as con:
        other_id, other_name = _find_system(con, match_system)
        bounds = []
        for r in t.rows:
            got = con.execute(
                f"SELECT {metric} FROM configs WHERE sweep_id = ? AND system_id = ? AND phase = ? "
                "AND batch_size = ? AND tp = ? AND weight_dtype = ? AND act_dtype = ? AND "
                "kv_dtype = ? AND input_len = ? AND output_len = ?",
                [t.sweep_id, other_id, r["phase"], r["batch_size"], r["tp"], r["weight_dtype"],
                 r["act_dtype"], r["kv_dtype"], r["input_len"], r["output_len"]],
            ).fetchall()  # fmt: skip
            if len(got) != 1:
                raise WhatIfError(
                    f"{plain(other_name)} has no config matching {plain(t.system.name)}'s config "
                    f"{r['config_id']} in sweep {plain(t.sweep_id)!r}; narrow the filters"
                )
            bounds.append(float(got[0][0]))
    return metric, np.array(bounds), op, f"{metric} {op} {plain(other_name)}'s at each config"


def search(
    store_path: Path | str,
    system: str,
    parameter: str,
    target: tuple[str, str, float] | None = None,
    match_system: str | None = None,
    filters: dict[str, Any] | None = None,
    metric: str | None = None,
    sweep_id: str | None = None,
    max_factor: float = 2.0**30,
) -> SearchResult:
    """Smallest value of a system figure (bisection) at which the target holds for every
    selected config: target=("latency_s", "<=", 7e-3), or match_system="xPU-A" (its stored
    `metric`, default latency_s, at each matched config). If raising the figure never meets
    the target (up to max_factor x), lowering it is tried (e.g. TCO). Byte counts are
    searched in whole bytes."""
    if parameter not in SYSTEM_PARAMETERS:
        raise WhatIfError(f"search varies a system figure; one of {', '.join(SYSTEM_PARAMETERS)}")
    with _Store(store_path) as con:
        return _search(con, system, parameter, target, match_system, filters, metric, sweep_id,
                       max_factor)  # fmt: skip


def _search(con, system, parameter, target, match_system, filters, metric, sweep_id, max_factor):
    store_path = con
    t = _load(store_path, system, filters, sweep_id)
    metric, bound, op, goal = _goal(store_path, target, match_system, metric, t)
    systems = [e.system for e in t.spec.systems]
    evaluations = 0

    n = len(t.grid)

    def ok_many(values: list[float]) -> list[bool]:
        """Whether the target holds at each value: all values simulated in one vectorised
        call (the configs repeated once per value, each copy on its own system variant)."""
        nonlocal evaluations
        evaluations += len(values)
        variants = systems + [dataclasses.replace(t.system, **{parameter: v}) for v in values]
        k = len(values)
        grid = t.grid.take(np.tile(np.arange(n), k))
        grid = dataclasses.replace(grid, system=len(systems) + np.repeat(np.arange(k), n))
        res = simulate_grid(t.spec.model, variants, grid, t.spec.efficiency, t.spec.power)
        got = getattr(res, "power_w_total" if metric == "power_w" else metric).reshape(k, n)
        return _COMPARE[op](got, bound[None, :]).all(axis=1).tolist()

    base = getattr(t.system, parameter)
    base = float(base) if base is not None else None
    whole = parameter.endswith("_bytes")
    start = base if base else (1048576.0 if whole else 1.0)
    found: tuple[float, float] | None = None  # (fails, holds)
    met = base is not None and ok_many([base])[0]
    threshold = base if met else None
    steps = int(math.log2(max_factor))
    if not met:
        # bracket: every doubling up to max_factor in one call, then every halving
        ups = [start * 2.0**i for i in range(1, steps + 1)]
        hits = ok_many(ups)
        if any(hits):
            i = hits.index(True)
            found = ((ups[i - 1] if i else (start if base else 0.0)), ups[i])
        elif base:
            downs = [base / 2.0**i for i in range(1, steps + 1)]
            hits = ok_many(downs)
            if any(hits):
                i = hits.index(True)
                found = ((downs[i - 1] if i else base), downs[i])
    if found is not None:
        # k-ary refinement: 31 points between the failing and the holding end per call
        bad, good = found
        while True:
            if whole:
                lo, hi = sorted((bad, good))
                if hi - lo <= 1:
                    break
                pts = sorted({float(math.floor(lo + (hi - lo) * j / 32)) for j in range(1, 32)})
                pts = [p for p in pts if lo < p < hi] or [float(math.floor((lo + hi) / 2))]
                if pts[0] in (lo, hi):
                    break
            else:
                if abs(good - bad) <= 1e-9 * abs(good):
                    break
                pts = [bad + (good - bad) * j / 32 for j in range(1, 32)]
            if good < bad:
                pts = sorted(pts, reverse=True)
            else:
                pts = sorted(pts)
            hits = ok_many(pts)  # ordered from the failing end towards the holding end
            if any(hits):
                i = hits.index(True)
                bad, good = (pts[i - 1] if i else bad), pts[i]
            else:
                bad = pts[-1]
        threshold = good
    reachable = threshold is not None
    name = plain(t.system.name)
    at = below = None
    if reachable:
        at = whatif(store_path, system, {parameter: ("=", threshold)}, filters, t.sweep_id)
        if not met:
            step = 1.0 if whole else abs(threshold) * 1e-9
            just = threshold - step if found and found[1] > found[0] else threshold + step
            below = whatif(store_path, system, {parameter: ("=", just)}, filters, t.sweep_id,
                           operators=False)  # fmt: skip
    if met:
        label = f"{name} already meets {goal} with {parameter} = {fmt(base)}"
    elif reachable:
        label = (
            f"simulated by coview-roofline v{MODEL_VERSION}: {name} meets {goal} from "
            f"{parameter} = {fmt(threshold)}"
            + (f" (x{threshold / base:.6g} of {fmt(base)})" if base else "")
        )
    else:
        label = f"{name} does not meet {goal} for any {parameter} within x{max_factor:g}"
    return SearchResult(
        system=name,
        parameter=parameter,
        target=goal,
        baseline_value=base,
        threshold=threshold,
        ratio=(threshold / base) if (reachable and base) else None,
        met_at_baseline=met,
        reachable=reachable,
        evaluations=evaluations,
        label=label,
        at_threshold=at,
        below_threshold=below.configs if below else [],
    )


# ------------------------------------------------------------------ plain-text rendering


def _ms(v: float) -> str:
    return f"{v * 1e3:.4g} ms"


def _pct(a: float, b: float) -> str:
    return f"{(b - a) / a * 100:+.2f}%" if a else "n/a"


def _settings(c: dict) -> str:
    s = c["whatif"]
    b = c["baseline"]
    dt = (
        b["weight_dtype"]
        if b["weight_dtype"] == b["act_dtype"] == b["kv_dtype"]
        else (f"w {b['weight_dtype']} / a {b['act_dtype']} / kv {b['kv_dtype']}")
    )
    text = f"config {c['config_id']}: {c['phase']}, batch {b['batch_size']}, TP {b['tp']}, {dt}"
    moved = [
        k for k in ("tp", "batch_size", "weight_dtype", "act_dtype", "kv_dtype") if s[k] != b[k]
    ]
    if moved:
        text += " -> " + ", ".join(f"{k} {s[k]}" for k in moved)
    return text


def render_whatif(result: WhatIfResult, max_configs: int = 12) -> str:
    """The what-if as plain text: the exact change, then baseline vs simulated per config and,
    for up to three configs, per operator."""
    lines = [result.label, f"sweep {plain(result.sweep_id)}; baseline = stored rows", ""]
    for c in result.configs[:max_configs]:
        b, w = c["baseline"], c["whatif"]
        lines.append(_settings(c))
        lines.append(
            f"  latency {_ms(b['latency_s'])} -> {_ms(w['latency_s'])} "
            f"({_pct(b['latency_s'], w['latency_s'])}); perf/TCO {b['perf_per_tco']:.4g} -> "
            f"{w['perf_per_tco']:.4g}; fits memory {b['fits_memory']} -> {w['fits_memory']}"
        )
        lines.append(
            f"  weights in SRAM: {', '.join(b['ops_weights_in_sram'] or []) or 'none'} -> "
            f"{', '.join(w['ops_weights_in_sram'] or []) or 'none'}"
        )
    if len(result.configs) > max_configs:
        lines.append(f"... {len(result.configs) - max_configs} more configs (use --json)")
    ids = [c["config_id"] for c in result.configs]
    if result.operators and len(ids) <= 3:
        for cid in ids:
            lines += ["", f"config {cid}, per operator (time per instance; x count per step):"]
            lines.append(
                f"  {'operator':<11}{'count':>6}{'baseline':>13}{'what-if':>13}  bound    weights"
            )
            for o in (o for o in result.operators if o["config_id"] == cid):
                b, w = o["baseline"], o["whatif"]
                bound = b["bound"] if b["bound"] == w["bound"] else f"{b['bound']}->{w['bound']}"
                bl, wl = b["weights_location"] or "-", w["weights_location"] or "-"
                loc = bl if bl == wl else f"{bl}->{wl}"
                lines.append(
                    f"  {o['op_type']:<11}{b['count']:>6}{b['roofline_time_s'] * 1e6:>10.4g} us"
                    f"{w['roofline_time_s'] * 1e6:>10.4g} us  {bound:<8} {loc}"
                )
    return "\n".join(lines) + "\n"


def render_search(result: SearchResult) -> str:
    """The search as plain text: the threshold, then the configs at it."""
    lines = [result.label, f"({result.evaluations} simulations)"]
    if result.below_threshold:
        c = result.below_threshold[0]
        lines.append(
            f"just below it, config {c['config_id']} takes {_ms(c['whatif']['latency_s'])}"
        )
    if result.at_threshold is not None:
        lines += ["", render_whatif(result.at_threshold).rstrip("\n")]
    return "\n".join(lines) + "\n"
