"""Read-only queries the TUI needs, as a plain Python API over the store.

The TUI never runs SQL itself. Everything here is cheap by construction: startup reads the
small tables (sweeps, systems) and aggregates over `configs`; the configs table is paged with
LIMIT n+1 so the UI can say "rows 1-200 of >200" without counting; the big `operators` table
is only read for one config at a time (drill-down, compare). Values are always bound as
parameters; identifiers (sort columns) come from a fixed allowlist.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from coview.store.db import StoreError, connect
from coview.store.safetext import clean

# Columns the configs table shows, in order, and which may be sorted on.
CONFIG_COLUMNS: tuple[str, ...] = (
    "config_id",
    "system",
    "phase",
    "batch_size",
    "input_len",
    "output_len",
    "tp",
    "num_chips",
    "weight_dtype",
    "act_dtype",
    "latency_s",
    "throughput_tok_per_s",
    "perf_per_tco",
    "usd_per_1m_tokens",
    "weight_bytes_per_chip",
    "kv_bytes_per_chip",
    "fits_memory",
    "is_pareto",
)
_SORT_SQL = {c: f"c.{c}" for c in CONFIG_COLUMNS if c != "system"} | {"system": "s.name"}
# `/` search: a bare word matches any of these text columns (ILIKE), `col=value` one column.
_SEARCH_TEXT = ("c.system_id", "s.name", "c.phase", "c.weight_dtype", "c.act_dtype", "c.kv_dtype")
_SEARCH_KEYS = {
    "system": "s.name",
    "phase": "c.phase",
    "dtype": "c.weight_dtype",
    "weight_dtype": "c.weight_dtype",
    "act_dtype": "c.act_dtype",
    "kv_dtype": "c.kv_dtype",
    "batch": "c.batch_size",
    "batch_size": "c.batch_size",
    "tp": "c.tp",
    "chips": "c.num_chips",
    "num_chips": "c.num_chips",
    "input_len": "c.input_len",
    "output_len": "c.output_len",
    "id": "c.config_id",
    "config_id": "c.config_id",
}
_NUMERIC_KEYS = {
    "c.batch_size",
    "c.tp",
    "c.num_chips",
    "c.input_len",
    "c.output_len",
    "c.config_id",
}
OPERATOR_COLUMNS: tuple[str, ...] = (
    "op_index",
    "layer_name",
    "op_type",
    "op_class",
    "count",
    "flops",
    "bytes_read",
    "bytes_written",
    "bytes_weight",
    "bytes_comm",
    "compute_time_s",
    "memory_time_s",
    "comm_time_s",
    "roofline_time_s",
    "bound",
    "weights_location",
)


_BUCKETS = 10007  # hash buckets for the plot's sample of non-frontier points


class SearchError(ValueError):
    """A `/` search the store cannot run; the message says what form works."""


@dataclass
class Filters:
    """What the navigator and the search box narrow the configs to (None: no restriction)."""

    sweep_id: str | None = None
    systems: tuple[str, ...] | None = None  # system_ids
    phase: str | None = None
    dtype: str | None = None  # weight_dtype
    search: str = ""
    pareto_only: bool = False
    fits_only: bool = False  # only configs that fit in memory (fits_memory NULL counts as fit)


@dataclass
class SystemInfo:
    system_id: str
    name: str
    vendor: str | None = None


@dataclass
class Summary:
    """What the header and the navigator show; read without touching `operators`."""

    store_path: Path
    sweeps: list[tuple[str, str]]  # (sweep_id, name)
    sweep_id: str | None
    systems: list[SystemInfo]
    phases: list[str]
    dtypes: list[str]
    n_configs: int
    model: str | None = None


@dataclass
class Page:
    """One page of the configs table. `has_more` comes from fetching LIMIT n+1."""

    columns: list[str]
    rows: list[dict[str, Any]]
    offset: int
    has_more: bool

    def label(self, total: int | None = None) -> str:
        """'rows 1-200 of >200', 'rows 1-37 of 37', or 'no rows'."""
        if not self.rows:
            return "no rows"
        first, last = self.offset + 1, self.offset + len(self.rows)
        if total is not None:
            return f"rows {first}-{last} of {total}"
        return f"rows {first}-{last} of {'>' + str(last) if self.has_more else last}"


@dataclass
class Point:
    config_id: int
    system_id: str
    latency_s: float
    perf_per_tco: float
    is_pareto: bool
    phase: str | None = None
    batch_size: int | None = None
    tp: int | None = None
    weight_dtype: str | None = None


@dataclass
class PlotData:
    """Points for the Pareto plot: every system's frontier plus a bounded sample of the rest."""

    frontiers: dict[str, list[Point]] = field(default_factory=dict)  # sorted by latency
    others: dict[str, list[Point]] = field(default_factory=dict)
    sampled: bool = False  # True if `others` was capped


@dataclass
class SimulatorOverlay:
    """One system's frontier from each simulator of the store (the plot's `v` overlay).

    `simulators` lists every simulator in the store; `frontiers` only those with a frontier
    for this system and phase (one without TCO has none), points ordered by latency.
    """

    system: str
    phase: str
    simulators: list[str]
    frontiers: dict[str, list[Point]] = field(default_factory=dict)


def _safe(value: Any) -> Any:
    """A fetched value with any text in it cleaned of control characters (see safetext)."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_safe(v) for v in value]
    return value


class Browser:
    """Cheap read-only queries over one store, for the TUI.

    One connection, guarded by a lock: the TUI calls from its event loop and from workers.
    """

    def __init__(self, store_path: Path | str) -> None:
        self.store_path = Path(store_path)
        # Plain read-only (coview.store.db.connect), the same configuration as the session
        # snapshots, so DuckDB lets them share this process's database instance.
        self.con = connect(self.store_path, read_only=True)
        self._lock = threading.Lock()
        self._models_per_sweep: dict[str, int] = {}

    def close(self) -> None:
        with self._lock:
            self.con.close()

    def _fetch(self, sql: str, params: list[Any] | None = None) -> tuple[list[str], list[tuple]]:
        with self._lock:
            cur = self.con.execute(sql, params or [])
            cols = [d[0] for d in cur.description]
            # Store text is hostile: no escape sequence or control character leaves here.
            return cols, [tuple(_safe(v) for v in r) for r in cur.fetchall()]

    def _dicts(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cols, rows = self._fetch(sql, params)
        return [dict(zip(cols, r, strict=True)) for r in rows]

    # ---- startup summaries -------------------------------------------------------------
    def summary(self, sweep_id: str | None = None) -> Summary:
        """Sweeps, systems, phases, dtypes and the config count of one sweep (default: first)."""
        try:
            _, sweeps = self._fetch("SELECT sweep_id, name FROM sweeps ORDER BY sweep_id")
        except duckdb.CatalogException as exc:
            raise StoreError(
                f"{self.store_path} is not a coview store (no sweeps table). "
                "Create one with `coview ingest DATA --store FILE`."
            ) from exc
        sweep_list = [(str(a), str(b)) for a, b in sweeps]
        if sweep_id is None and sweep_list:
            sweep_id = sweep_list[0][0]
        # one grouped scan of configs gives systems, phases, dtypes, models and the count
        _, groups = self._fetch(
            "SELECT system_id, phase, weight_dtype, model_id, count(*) FROM configs "
            "WHERE sweep_id = ? GROUP BY ALL",
            [sweep_id],
        )
        sys_ids = sorted({g[0] for g in groups})
        sysrows = []
        if sys_ids:
            _, sysrows = self._fetch(
                "SELECT system_id, name, vendor FROM systems WHERE system_id IN "
                f"({', '.join('?' * len(sys_ids))}) ORDER BY name",
                sys_ids,
            )
        phases = {g[1] for g in groups}
        dtypes = {g[2] for g in groups}
        models = sorted({str(g[3]) for g in groups if g[3] is not None})
        n = sum(g[4] for g in groups)
        model_id = models[0] if models else None
        if sweep_id is not None:
            self._models_per_sweep[sweep_id] = len(models)
        model = None
        if model_id is not None:
            _, mrows = self._fetch("SELECT name FROM models WHERE model_id = ?", [model_id])
            model = mrows[0][0] if mrows else str(model_id)
        order = {"prefill": 0, "decode": 1}
        return Summary(
            store_path=self.store_path,
            sweeps=sweep_list,
            sweep_id=sweep_id,
            systems=[SystemInfo(str(a), str(b), c) for a, b, c in sysrows],
            phases=sorted((p for p in phases or [] if p), key=lambda p: order.get(p, 9)),
            dtypes=sorted(d for d in dtypes or [] if d),
            n_configs=int(n or 0),
            model=model,
        )

    # ---- the configs table -------------------------------------------------------------
    def _where(self, f: Filters) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if f.sweep_id is not None:
            clauses.append("c.sweep_id = ?")
            params.append(f.sweep_id)
        if f.systems is not None:
            if not f.systems:
                clauses.append("FALSE")
            else:
                clauses.append(f"c.system_id IN ({', '.join('?' * len(f.systems))})")
                params.extend(f.systems)
        if f.phase:
            clauses.append("c.phase = ?")
            params.append(f.phase)
        if f.dtype:
            clauses.append("c.weight_dtype = ?")
            params.append(f.dtype)
        if f.pareto_only:
            clauses.append("c.is_pareto")
        if f.fits_only:
            clauses.append("c.fits_memory IS NOT FALSE")
        for token in f.search.split():
            if "=" in token:
                key, _, value = token.partition("=")
                col = _SEARCH_KEYS.get(key.lower())
                if col is None:
                    raise SearchError(
                        f"unknown search key {key!r}; use one of "
                        f"{', '.join(sorted(_SEARCH_KEYS))} (e.g. tp=8), or a bare word."
                    )
                if col in _NUMERIC_KEYS:
                    try:
                        params.append(int(value))
                    except ValueError as exc:
                        raise SearchError(f"{key} needs a whole number, e.g. {key}=8") from exc
                    clauses.append(f"{col} = ?")
                else:
                    clauses.append(f"{col} ILIKE ?")
                    params.append(value)
            else:
                ors = " OR ".join(f"{c} ILIKE ?" for c in _SEARCH_TEXT)
                clauses.append(f"({ors})")
                params.extend([f"%{token}%"] * len(_SEARCH_TEXT))
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    @staticmethod
    def _from(f: Filters, sort: str | None = None) -> str:
        """configs, joined to systems only when a search or the sort needs the system name
        (the join makes DuckDB carry every column of 1M rows to the top-N)."""
        if f.search or sort == "system":
            return "configs c JOIN systems s USING (system_id)"
        return "configs c"

    def page_configs(
        self,
        filters: Filters,
        sort: str = "perf_per_tco",
        descending: bool = True,
        offset: int = 0,
        limit: int = 200,
    ) -> Page:
        """One page of configs, fetched with LIMIT limit+1 (has_more tells if there is more)."""
        if sort not in _SORT_SQL:
            raise ValueError(f"cannot sort on {sort!r}; choose one of {', '.join(CONFIG_COLUMNS)}")
        where, params = self._where(filters)
        cols = ", ".join(f"{_SORT_SQL[c]} AS {c}" for c in CONFIG_COLUMNS)
        order = f"{_SORT_SQL[sort]} {'DESC' if descending else 'ASC'} NULLS LAST, c.config_id"
        # the page's ids first (top-N over few columns), then their rows with system names
        sql = (
            f"SELECT {cols} FROM configs c JOIN systems s USING (system_id) "
            f"WHERE c.config_id IN (SELECT c.config_id FROM {self._from(filters, sort)}{where} "
            f"ORDER BY {order} LIMIT ? OFFSET ?) ORDER BY {order}"
        )
        names, rows = self._fetch(sql, [*params, limit + 1, offset])
        has_more = len(rows) > limit
        return Page(
            columns=names,
            rows=[dict(zip(names, r, strict=True)) for r in rows[:limit]],
            offset=offset,
            has_more=has_more,
        )

    def count_configs(self, filters: Filters) -> int:
        """COUNT(*) of the filtered configs (configs is small next to operators)."""
        where, params = self._where(filters)
        _, rows = self._fetch(f"SELECT count(*) FROM {self._from(filters)}{where}", params)
        return int(rows[0][0])

    def position_of(
        self, config_id: int, filters: Filters, sort: str = "perf_per_tco", descending: bool = True
    ) -> int | None:
        """Row index of a config in the filtered, sorted table (to page to it), or None."""
        if sort not in _SORT_SQL:
            raise ValueError(f"cannot sort on {sort!r}")
        where, params = self._where(filters)
        order = f"{_SORT_SQL[sort]} {'DESC' if descending else 'ASC'} NULLS LAST, c.config_id"
        _, rows = self._fetch(
            f"SELECT rn FROM (SELECT c.config_id, row_number() OVER (ORDER BY {order}) - 1 AS rn "
            f"FROM {self._from(filters, sort)}{where}) WHERE config_id = ?",
            [*params, config_id],
        )
        return int(rows[0][0]) if rows else None

    # ---- the Pareto plot ---------------------------------------------------------------
    def plot_data(self, filters: Filters, max_others: int = 3000) -> PlotData:
        """Each system's frontier (by latency) and up to max_others other points, all among
        configs that fit in memory (perf/TCO of a config that cannot run means nothing).

        The frontier is recomputed over the filtered configs (a dtype or search filter can
        drop the stored is_pareto points): a config that fits in memory is on it when no
        faster-or-equal config of its system has a higher-or-equal perf/TCO. Unfiltered, this
        is exactly `is_pareto`.
        """
        f = Filters(**{**filters.__dict__, "pareto_only": False})
        where, params = self._where(f)
        cond = " AND " if where else " WHERE "
        src = self._from(f)
        point_cols = (
            "c.config_id, c.system_id, c.latency_s, c.perf_per_tco, c.phase, c.batch_size, "
            "c.tp, c.weight_dtype"
        )
        if self._stored_frontier_applies(f):
            # is_pareto is this very frontier (per sweep, model, phase, system, among configs
            # that fit): reading it skips a window over every config (1.5 s at 1M configs)
            sql = (
                f"SELECT {point_cols} FROM {src}{where}{cond}c.is_pareto "
                "AND c.fits_memory IS NOT FALSE AND c.latency_s > 0 AND c.perf_per_tco > 0 "
                "ORDER BY c.system_id, c.latency_s"
            )
        else:
            sql = (
                "WITH pts AS (SELECT c.config_id, c.system_id, c.latency_s, c.perf_per_tco, "
                "c.phase, c.batch_size, c.tp, c.weight_dtype, "
                f"coalesce(c.fits_memory, TRUE) AS fits FROM {src}{where}{cond}"
                "c.latency_s > 0 AND c.perf_per_tco > 0), "
                "fr AS (SELECT *, max(perf_per_tco) OVER (PARTITION BY system_id "
                "ORDER BY latency_s, perf_per_tco DESC, config_id "
                "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) "
                "AS best_before FROM pts WHERE fits) "
                "SELECT config_id, system_id, latency_s, perf_per_tco, phase, batch_size, tp, "
                "weight_dtype FROM fr "
                "WHERE best_before IS NULL OR perf_per_tco > best_before "
                "ORDER BY system_id, latency_s"
            )
        _, front = self._fetch(sql, params)
        data = PlotData()
        on_front: set[int] = set()
        for cid, sid, lat, ppt, *settings in front:
            data.frontiers.setdefault(sid, []).append(Point(cid, sid, lat, ppt, True, *settings))
            on_front.add(cid)
        if max_others > 0:
            others_where = (
                f"{where}{cond}c.latency_s > 0 AND c.perf_per_tco > 0 "
                "AND c.fits_memory IS NOT FALSE"
            )
            want = max_others + len(on_front) + 1
            # Keep a deterministic hash bucket big enough for the sample first, so the sort
            # is over a few thousand rows rather than every config.
            _, cnt = self._fetch(f"SELECT count(*) FROM {src}{others_where}", params)
            bucket, bucket_params = "", []
            if cnt[0][0] > 2 * want:
                keep = min(_BUCKETS, -(-_BUCKETS * 2 * want // cnt[0][0]))
                bucket, bucket_params = f" AND hash(c.config_id) % {_BUCKETS} < ?", [keep]
            _, rest = self._fetch(
                f"SELECT {point_cols} FROM {src}{others_where}{bucket} "
                "ORDER BY hash(c.config_id) LIMIT ?",
                [*params, *bucket_params, want],
            )
            rest = [r for r in rest if r[0] not in on_front]
            data.sampled = len(rest) > max_others
            for cid, sid, lat, ppt, *settings in rest[:max_others]:
                data.others.setdefault(sid, []).append(Point(cid, sid, lat, ppt, False, *settings))
        return data

    def _stored_frontier_applies(self, f: Filters) -> bool:
        """True when the filters keep whole (sweep, model, phase, system) groups, so the stored
        is_pareto flags are the frontier: one phase, no dtype or search, one model."""
        if f.dtype or f.search or not f.phase or f.sweep_id is None:
            return False
        if f.sweep_id not in self._models_per_sweep:
            _, rows = self._fetch(
                "SELECT count(DISTINCT model_id) FROM configs WHERE sweep_id = ?", [f.sweep_id]
            )
            self._models_per_sweep[f.sweep_id] = int(rows[0][0])
        return self._models_per_sweep[f.sweep_id] == 1

    def best_per_system(self, filters: Filters, fitting_only: bool = True) -> list[dict[str, Any]]:
        """The highest perf/TCO config of each system under the filters, among configs that
        fit in memory (a config that cannot run is never "best"); fitting_only=False ranks
        every config (rows say fits_memory, so a caller can mark those that do not fit)."""
        where, params = self._where(filters)
        cond = " AND " if where else " WHERE "
        fits = "c.fits_memory IS NOT FALSE" if fitting_only else "TRUE"
        if fitting_only and self._stored_frontier_applies(filters):
            # the best perf/TCO point of a system is on its frontier: read only those rows
            where, cond = f"{where}{cond}c.is_pareto", " AND "
        return self._dicts(
            "SELECT * FROM (SELECT c.config_id, c.system_id, s.name AS system, c.phase, "
            "c.batch_size, c.tp, c.weight_dtype, c.latency_s, c.perf_per_tco, c.fits_memory, "
            "row_number() OVER (PARTITION BY c.system_id ORDER BY c.perf_per_tco DESC NULLS LAST, "
            f"c.config_id) AS rk FROM configs c JOIN systems s USING (system_id){where}"
            f"{cond}{fits}) "
            "WHERE rk = 1 ORDER BY perf_per_tco DESC NULLS LAST",
            params,
        )

    # ---- cross-simulator overlay -------------------------------------------------------
    def simulator_overlay(
        self, system: str, phase: str, model: str | None = None
    ) -> SimulatorOverlay:
        """The system's (id or name) frontier from each simulator, for the plot's overlay.

        Simulators keep their own system ids (GenZ 'H100_GPU', coview 'h100'), so an id is
        resolved to its name first and frontiers are matched by name. Opens its own
        read-only connection (coview.store.db.connect), so a worker thread can call it
        while the UI uses `self.con`.
        """
        from coview.store.sim_compare import frontier_overlay, simulators

        con = connect(self.store_path, read_only=True)
        try:
            row = con.execute(
                "SELECT name FROM systems WHERE system_id = ? LIMIT 1", [system]
            ).fetchone()
            name = str(row[0]) if row and row[0] is not None else system
            sims = simulators(con)
            found = frontier_overlay(con, name, phase, model)
        finally:
            con.close()
        out = SimulatorOverlay(clean(name), phase, [clean(s) for s in sims])
        for sim, rows in found.frontiers.items():
            out.frontiers[clean(sim)] = [
                Point(
                    int(r["config_id"]),
                    clean(str(r["system_id"])),
                    float(r["latency_s"]),
                    float(r["perf_per_tco"]),
                    True,
                    _safe(r["phase"]),
                    r["batch_size"],
                    r["tp"],
                    _safe(r["weight_dtype"]),
                )
                for r in rows
                if (r["latency_s"] or 0) > 0 and (r["perf_per_tco"] or 0) > 0
            ]
        return out

    # ---- drill-down --------------------------------------------------------------------
    def config(self, config_id: int) -> dict[str, Any] | None:
        """One config with its system's name and chip figures, or None."""
        rows = self._dicts(
            "SELECT c.*, s.name AS system, s.vendor, s.sram_bytes, s.hbm_bytes, "
            "s.hbm_bw_bytes_per_s, s.peak_flops_bf16, s.tco_usd_per_chip_hour "
            "FROM configs c JOIN systems s USING (system_id) WHERE c.config_id = ?",
            [int(config_id)],
        )
        if not rows:
            return None
        row = rows[0]
        row.pop("extra", None)
        return row

    def operators(self, config_id: int) -> list[dict[str, Any]]:
        """The operator rows of one config, in op_index order (reads only that config)."""
        cols = ", ".join(OPERATOR_COLUMNS)
        return self._dicts(
            f"SELECT {cols} FROM operators WHERE config_id = ? ORDER BY op_index",
            [int(config_id)],
        )

    def compare_candidates(self, config_id: int) -> list[dict[str, Any]]:
        """The same point on other systems: same sweep, model, phase, batch, lengths, tp, dtypes.

        Falls back to dropping tp (other chips often need another sharding) if nothing matches.
        """
        keys = ["sweep_id", "model_id", "phase", "batch_size", "input_len", "output_len"]
        for extra in (["tp", "weight_dtype", "act_dtype"], ["weight_dtype"], []):
            conds = " AND ".join(f"c.{k} IS NOT DISTINCT FROM o.{k}" for k in keys + extra)
            rows = self._dicts(
                "SELECT c.config_id, s.name AS system, c.system_id, c.tp, c.weight_dtype, "
                "c.act_dtype, c.latency_s, c.perf_per_tco, c.fits_memory FROM configs c "
                "JOIN systems s USING (system_id) JOIN configs o ON o.config_id = ? "
                f"WHERE c.system_id <> o.system_id AND {conds} "
                "ORDER BY s.name, c.perf_per_tco DESC NULLS LAST",
                [int(config_id)],
            )
            if rows:
                seen: set[str] = set()
                best = []
                for r in rows:  # best perf/TCO config per other system
                    if r["system_id"] not in seen:
                        seen.add(r["system_id"])
                        best.append(r)
                return best
        return []


def _key(p: Point) -> tuple[float, float]:
    return (float(f"{p.latency_s:.4g}"), float(f"{p.perf_per_tco:.4g}"))


def coincident_points(data: PlotData) -> list[tuple[str, str, int]]:
    """(system_a, system_b, n): n frontier points of a lie exactly on points of b."""
    keys = {sid: {_key(p) for p in pts} for sid, pts in data.frontiers.items()}
    sids = sorted(keys)
    out = []
    for i, a in enumerate(sids):
        for b in sids[i + 1 :]:
            n = len(keys[a] & keys[b])
            if n:
                out.append((a, b, n))
    return out


def class_breakdown(operators: list[dict[str, Any]]) -> dict[str, float]:
    """Step time (roofline_time_s x count) by op_class, largest first."""
    out: dict[str, float] = {}
    for op in operators:
        t = (op.get("roofline_time_s") or 0.0) * (op.get("count") or 1)
        cls = op.get("op_class") or "?"
        out[cls] = out.get(cls, 0.0) + t
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def operator_diff(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-operator comparison of two configs, matched on (layer_name, op_type).

    Each row: op_type, time_a, time_b (roofline x count), ratio b/a, bound_a, bound_b,
    weights_a, weights_b. Operators present on one side only have None on the other.
    """

    def key(op: dict[str, Any]) -> tuple[str, str]:
        return (str(op.get("layer_name") or ""), str(op.get("op_type")))

    def total(op: dict[str, Any] | None) -> float | None:
        if op is None or op.get("roofline_time_s") is None:
            return None
        return op["roofline_time_s"] * (op.get("count") or 1)

    ia = {key(o): o for o in a}
    ib = {key(o): o for o in b}
    order = list(ia) + [k for k in ib if k not in ia]
    rows = []
    for k in order:
        oa, ob = ia.get(k), ib.get(k)
        ta, tb = total(oa), total(ob)
        rows.append(
            {
                "layer_name": k[0],
                "op_type": k[1],
                "time_a": ta,
                "time_b": tb,
                "ratio": (tb / ta) if ta and tb is not None else None,
                "bound_a": oa.get("bound") if oa else None,
                "bound_b": ob.get("bound") if ob else None,
                "weights_a": oa.get("weights_location") if oa else None,
                "weights_b": ob.get("weights_location") if ob else None,
            }
        )
    return rows
