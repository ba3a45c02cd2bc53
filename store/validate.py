"""Validation of staged ingest data, in DuckDB SQL, before anything reaches the store.

Each rule first runs as a cheap column-level aggregate over the staged table (min/max/count
come from DuckDB's statistics; one vectorised pass covers the row-level rules). Only when a
rule fails does a second query find the offending rows, so a valid 10M-row sweep pays for
the aggregates only and a bad one still gets file, 1-based data row and column in the error.

Rules (schema v1 in store/schema.py is the source of truth):
- values cast to the column's type (integers must be whole numbers; JSON must parse);
- required columns present and non-null;
- numeric columns finite (no NaN/inf) and >= 0 (times, sizes, counts, money, power);
- allowed values (phase, op_class, bound, weights_location);
- roofline_time_s = max(compute, memory, comm) within 1e-6 relative, and bound names a
  largest time (checked where all of them are present);
- unique keys within the files and against the store (a config_id used by another sweep);
- references to sweeps/systems/models/configs that are neither in the files nor in the store;
- sweeps already in the store (refused unless --replace); systems/models rows that exist
  with different values (refused unless --replace; identical rows are fine).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from coview.store.native import Source
from coview.store.safetext import clean
from coview.store.schema import TABLES_BY_NAME, Column

MAX_SHOWN = 10
# Tables whose identical rows may repeat across input files (and match the store's).
SHARED = ("systems", "models")
REL_TOL = 1e-6
# What no simulator writes: names and ids longer than this, numbers larger than this (their
# sums overflow to inf), and control characters (escape sequences) in any text column.
MAX_TEXT_CHARS = 1_000
MAX_MAGNITUDE = 1e30
_CONTROL_RE = "[\\x00-\\x1f\\x7f-\\x{9f}]"

_INT_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_NUM_TYPES = _INT_TYPES | {"UBIGINT", "HUGEINT", "UHUGEINT", "FLOAT", "DOUBLE"}
_SAFE: dict[str, set[str]] = {
    "VARCHAR": {"VARCHAR"},
    "DOUBLE": _NUM_TYPES,
    "BIGINT": _INT_TYPES,
    "INTEGER": {"TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT"},
    "BOOLEAN": {"BOOLEAN"},
    "TIMESTAMP": {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "DATE"},
    "JSON": {"JSON"},
}
_KINDS = {
    "INTEGER": "a whole number",
    "BIGINT": "a whole number",
    "DOUBLE": "a number",
    "BOOLEAN": "true or false",
    "TIMESTAMP": "a timestamp",
    "JSON": "valid JSON",
}
_HINTS = {
    "INTEGER": "write a whole number (no decimals, units or thousands separators).",
    "BIGINT": "write a whole number (no decimals, units or thousands separators).",
    "DOUBLE": "write a plain number in base SI units, e.g. 0.0125 or 1.5e9 (no units, no commas).",
    "BOOLEAN": "write true or false.",
    "TIMESTAMP": "write an ISO timestamp such as 2024-05-01 12:00:00 (UTC), or leave it empty.",
    "VARCHAR": "write text.",
    "JSON": 'write valid JSON, e.g. {"key": 1}, or leave it empty.',
}


@dataclass
class Problem:
    """One validation failure: where it is (file, 1-based data row, column) and how to fix it."""

    file: str | None
    row: int | None
    column: str | None
    message: str
    hint: str = ""

    def __str__(self) -> str:
        # File names, headers and values quoted here come from the input: print them clean.
        where = [clean(self.file, 500, one_line=True)] if self.file else []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {clean(self.column, 300, one_line=True)}")
        message = clean(self.message, 2000, one_line=True)
        text = f"{', '.join(where)}: {message}" if where else message[:1].upper() + message[1:]
        if self.hint:
            text += f"\n   fix: {clean(self.hint, 1000, one_line=True)}"
        return text


class IngestError(Exception):
    """Ingest refused; nothing was written. Fields describe the first problem, ``problems`` all."""

    def __init__(self, problems: list[Problem] | Problem | str, hint: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(None, None, None, problems, hint)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        first = self.problems[0]
        self.file, self.row, self.column = first.file, first.row, first.column
        self.message, self.hint = first.message, first.hint
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = "1 problem found" if n == 1 else f"{n} problems found"
        lines = [f"{head}; nothing was written."]
        for i, p in enumerate(self.problems[:MAX_SHOWN], 1):
            lines.append(f"{i}. {p}")
        if n > MAX_SHOWN:
            lines.append(f"... and {n - MAX_SHOWN} more (fix these first, then re-run).")
        return "\n".join(lines)


@dataclass
class Segment:
    """Rows [start, start + count) of a staged table (by rowid) came from ``source``."""

    source: Source
    start: int
    count: int


@dataclass
class Staged:
    """A table staged for ingest: its staging table and which rows came from which file."""

    table: str
    stage: str
    segments: list[Segment] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(s.count for s in self.segments)

    def locate(self, rowid: int) -> tuple[str, int]:
        """(file label, 1-based data row) of a staged rowid."""
        for seg in self.segments:
            if seg.start <= rowid < seg.start + seg.count:
                return seg.source.label, rowid - seg.start + 1
        return (self.segments[0].source.label if self.segments else self.table), rowid + 1


def q(name: str) -> str:
    """Quote an identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _show(value) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------
# Source-level checks: column names and castability, before staging.


def cast_expr(src_col: str, src_type: str, col: Column) -> str:
    """SQL that casts a source column to the schema type (validated first where unsafe)."""
    if col.sql_type == "JSON":
        return f"CAST({q(src_col)} AS JSON)"
    return f"CAST({q(src_col)} AS {col.sql_type})"


def _base(t: str) -> str:
    t = t.upper()
    return "DECIMAL" if t.startswith("DECIMAL") else t


def cast_is_safe(src_type: str, target: str) -> bool:
    """True when every value of src_type casts to target without loss or failure."""
    s = _base(src_type)
    if s in ("NULL", '"NULL"') or s == target:
        return True
    if target == "DOUBLE" and s == "DECIMAL":
        return True
    if target == "VARCHAR" and s not in ("BLOB",):
        return True
    if target == "TIMESTAMP" and s.startswith("TIMESTAMP"):
        return True
    return s in _SAFE.get(target, set())


def _bad_cast_predicate(c: str, target: str) -> str:
    qc = q(c)
    if target == "JSON":
        return f"{qc} IS NOT NULL AND NOT coalesce(json_valid(CAST({qc} AS VARCHAR)), false)"
    bad = f"{qc} IS NOT NULL AND (TRY_CAST({qc} AS {target}) IS NULL"
    if target in ("INTEGER", "BIGINT"):
        bad += f" OR TRY_CAST({qc} AS DOUBLE) IS DISTINCT FROM TRY_CAST({qc} AS {target})"
    return bad + ")"


def check_source(con: duckdb.DuckDBPyConnection, src: Source, filled: set[str]) -> list[Problem]:
    """Column names and castability of one source; ``filled`` are columns ingest supplies."""
    table = TABLES_BY_NAME[src.table]
    problems: list[Problem] = []
    by_lower = {name.lower(): name for name in src.columns}
    for col in table.columns:
        if col.required and col.name not in by_lower and col.name not in filled:
            problems.append(
                Problem(
                    src.label,
                    None,
                    col.name,
                    f"required column '{col.name}' is missing (the file has: "
                    f"{', '.join(src.columns) or 'no columns'}).",
                    f"add a '{col.name}' column ({col.comment.rstrip('.')}); names are listed by `coview schema`.",
                )
            )
    unknown = [c for c in src.columns if c.lower() not in table.column_names and c != "__row"]
    if unknown and "extra" not in table.column_names:
        problems.append(
            Problem(
                src.label,
                None,
                ", ".join(unknown),
                f"unknown column(s) for table {src.table}: {', '.join(unknown)}.",
                f"rename them to schema v1 names ({', '.join(table.column_names)}) or drop them; "
                "only configs and operators keep unknown columns (in their `extra` JSON).",
            )
        )
    risky = []
    for col in table.columns:
        name = by_lower.get(col.name)
        if name is None or col.name in filled or col.name == "is_pareto":
            continue
        if (
            not cast_is_safe(src.columns[name], col.sql_type)
            or col.sql_type == "JSON"
            and _base(src.columns[name]) not in ("JSON", "NULL")
        ):
            risky.append((name, col))
    if risky:
        counts = ", ".join(
            f"count(*) FILTER (WHERE {_bad_cast_predicate(n, c.sql_type)})" for n, c in risky
        )
        found = con.execute(f"SELECT {counts} FROM {src.row_relation}").fetchall()[0]
        for (name, col), n_bad in zip(risky, found, strict=True):
            if not n_bad:
                continue
            rows = con.execute(
                f"SELECT __row, CAST({q(name)} AS VARCHAR) FROM {src.row_relation} "
                f"WHERE {_bad_cast_predicate(name, col.sql_type)} ORDER BY __row LIMIT {MAX_SHOWN}"
            ).fetchall()
            for row, value in rows:
                kind = _KINDS.get(col.sql_type, col.sql_type)
                problems.append(
                    Problem(
                        src.label,
                        int(row),
                        col.name,
                        f"{_show(value)} is not {kind}"
                        + (f" ({n_bad} rows in this column are bad)" if n_bad > 1 else "")
                        + ".",
                        _HINTS.get(col.sql_type, ""),
                    )
                )
    return problems


def select_list(src: Source, overrides: dict[str, str]) -> tuple[str, list[str]]:
    """The SELECT list that maps a source onto its schema table, and the columns put into extra.

    ``overrides`` maps column name -> SQL expression ingest supplies (e.g. a --sweep id).
    Missing optional columns become NULL; is_pareto is always recomputed (NULL here).
    """
    table = TABLES_BY_NAME[src.table]
    by_lower = {name.lower(): name for name in src.columns}
    folded = [c for c in src.columns if c.lower() not in table.column_names and c != "__row"]
    exprs = []
    for col in table.columns:
        name = by_lower.get(col.name)
        if col.name in overrides:
            exprs.append(f"CAST({overrides[col.name]} AS {col.sql_type})")
        elif col.name == "is_pareto":
            exprs.append("CAST(NULL AS BOOLEAN)")
        elif col.name == "extra" and folded:
            obj = "json_object(" + ", ".join(f"{_lit(c)}, {q(c)}" for c in folded) + ")"
            base = cast_expr(name, src.columns[name], col) if name else "NULL"
            exprs.append(f"CAST(json_merge_patch(coalesce({base}, '{{}}'), {obj}) AS JSON)")
        elif name is None:
            exprs.append(f"CAST(NULL AS {col.sql_type})")
        else:
            exprs.append(cast_expr(name, src.columns[name], col))
    return ", ".join(exprs), folded


# ---------------------------------------------------------------------------------------
# Staged-table checks.


class _Checker:
    def __init__(self, con: duckdb.DuckDBPyConnection, staged: dict[str, Staged], replace: bool):
        self.con = con
        self.staged = staged
        self.replace = replace
        self.problems: list[Problem] = []
        self.replaced: list[str] = []
        self.ops_missing: int | None = None  # set by the operators' key check

    def rows_where(self, st: Staged, pred: str, col: str, message, hint: str, extra_cols=""):
        """Add one problem per offending row (first MAX_SHOWN), reading the staged table."""
        sel = f", {extra_cols}" if extra_cols else ""
        total = self.con.execute(f"SELECT count(*) FROM {st.stage} WHERE {pred}").fetchall()[0][0]
        rows = self.con.execute(
            f"SELECT rowid{sel} FROM {st.stage} WHERE {pred} ORDER BY rowid LIMIT {MAX_SHOWN}"
        ).fetchall()
        if not rows:
            return
        # One problem per rule: the first row in full, the others by number.
        file, row = st.locate(rows[0][0])
        msg = message(*rows[0][1:]) if callable(message) else message
        if total > 1:
            others = [st.locate(r[0]) for r in rows[1:]]
            shown = ", ".join(str(o[1]) if o[0] == file else f"{o[0]} row {o[1]}" for o in others)
            more = "" if total <= len(rows) else ", ..."
            msg += f" The same problem is on {total - 1} more row(s): {shown}{more}."
        self.problems.append(Problem(file, row, col, msg, hint))

    # -- per-column rules ------------------------------------------------------------
    def columns(self, st: Staged) -> dict:
        """Required, finite/non-negative and allowed-value rules for one staged table."""
        table = TABLES_BY_NAME[st.table]
        # Only count/min/max of plain columns here: DuckDB answers those from its statistics
        # without reading the data (string null counts would force a scan).
        aggs = ["count(*)"]
        counted = [c for c in table.columns if c.required or c.non_negative]
        for c in counted:
            aggs.append(f"count({q(c.name)})")
            if c.non_negative:
                aggs += [f"min({q(c.name)})", f"max({q(c.name)})"]
        res = list(self.con.execute(f"SELECT {', '.join(aggs)} FROM {st.stage}").fetchall()[0])
        n = res.pop(0)
        stats: dict[str, dict] = {c.name: {} for c in table.columns}
        for c in counted:
            s = stats[c.name]
            s["count"] = res.pop(0)
            if c.non_negative:
                s["min"], s["max"] = res.pop(0), res.pop(0)
        enum_cols = [c for c in table.columns if c.allowed]
        if enum_cols:
            # The distinct values (a few) instead of a filter per row; 64 > any allowed set,
            # so a bad value is always among the ones returned.
            found = self.con.execute(
                "SELECT "
                + ", ".join(f"list(DISTINCT {q(c.name)})[1:64]" for c in enum_cols)
                + f" FROM {st.stage}"
            ).fetchall()[0]
            for c, values in zip(enum_cols, found, strict=True):
                stats[c.name]["bad_allowed"] = any(
                    v is not None and v not in c.allowed for v in values or []
                )
        for c in table.columns:
            s = stats[c.name]
            col = q(c.name)
            if c.required and s.get("count", n) < n and c.name != "is_pareto":
                self.rows_where(
                    st,
                    f"{col} IS NULL",
                    c.name,
                    f"'{c.name}' is empty but required.",
                    f"fill in {c.name} on every row ({c.comment})",
                )
            if c.non_negative and s.get("count"):
                lo, hi = s["min"], s["max"]
                is_double = c.sql_type == "DOUBLE"
                bad = lo < 0 or (is_double and (hi != hi or hi in (float("inf"),)))
                if bad:
                    pred = f"{col} < 0" + (f" OR isnan({col}) OR isinf({col})" if is_double else "")
                    self.rows_where(
                        st,
                        pred,
                        c.name,
                        lambda v, name=c.name: (
                            f"{name} = {v} is not allowed: it must be a finite number >= 0."
                        ),
                        "times, sizes, counts, money and power are >= 0 in base SI units; "
                        "write NaN/inf as an empty value (NULL) if the simulator has no figure.",
                        col,
                    )
            if c.allowed and s.get("bad_allowed"):
                allowed = ", ".join(_lit(a) for a in c.allowed)
                self.rows_where(
                    st,
                    f"{col} NOT IN ({allowed})",
                    c.name,
                    lambda v, name=c.name, ok=c.allowed: (
                        f"{name} = {_show(v)} is not one of " + ", ".join(repr(a) for a in ok) + "."
                    ),
                    f"use exactly one of {', '.join(c.allowed)} (lower case)"
                    + ("." if c.required else ", or leave it empty."),
                    col,
                )
        stats["__n"] = n
        return stats

    # -- text and magnitudes no simulator writes ---------------------------------------
    def text_and_magnitude(self, st: Staged) -> None:
        """Control characters or huge text in names/ids, and numbers whose sums overflow."""
        table = TABLES_BY_NAME[st.table]
        texts = [c for c in table.columns if c.sql_type == "VARCHAR"]
        nums = [c for c in table.columns if c.sql_type == "DOUBLE"]
        aggs = []
        for c in texts:
            aggs += [
                f"bool_or(regexp_matches({q(c.name)}, '{_CONTROL_RE}'))",
                f"max(length({q(c.name)}))",
            ]
        aggs += [f"max(abs({q(c.name)}))" for c in nums]
        if not aggs:
            return
        res = list(self.con.execute(f"SELECT {', '.join(aggs)} FROM {st.stage}").fetchall()[0])
        for c in texts:
            has_control, longest = res.pop(0), res.pop(0)
            col = q(c.name)
            if has_control:
                self.rows_where(
                    st,
                    f"regexp_matches({col}, '{_CONTROL_RE}')",
                    c.name,
                    lambda v, name=c.name: (
                        f"{name} {v!r} holds a control character (an escape sequence, tab or "
                        "newline); such text could rewrite the terminal of whoever views the store."
                    ),
                    "remove control characters from names and identifiers (plain printable text).",
                    f"left({col}, 60)",
                )
            if longest and longest > MAX_TEXT_CHARS:
                self.rows_where(
                    st,
                    f"length({col}) > {MAX_TEXT_CHARS}",
                    c.name,
                    lambda n, name=c.name: (
                        f"{name} is {n:,} characters long; names and identifiers may be at most "
                        f"{MAX_TEXT_CHARS:,}."
                    ),
                    "shorten it; long descriptions belong in a file next to the sweep, not a name.",
                    f"length({col})",
                )
        for c in nums:
            biggest = res.pop(0)
            if biggest is not None and biggest == biggest and biggest > MAX_MAGNITUDE:
                col = q(c.name)
                self.rows_where(
                    st,
                    f"abs({col}) > {MAX_MAGNITUDE:g} AND NOT isinf({col})",
                    c.name,
                    lambda v, name=c.name: (
                        f"{name} = {v:g} is beyond {MAX_MAGNITUDE:g}, which no simulator writes "
                        "in base SI units (sums of such values overflow to infinity)."
                    ),
                    "check the units (base SI: seconds, bytes, FLOP) or leave the value empty.",
                    col,
                )

    def sweeps_without_configs(self) -> None:
        """A sweep in the files with no configs in the files (0-config sweeps are refused)."""
        sw = self.staged.get("sweeps")
        if sw is None or not sw.rows:
            return
        cf = self.staged.get("configs")
        has = f"SELECT DISTINCT sweep_id FROM {cf.stage}" if cf is not None and cf.rows else None
        pred = "sweep_id IS NOT NULL" + (f" AND sweep_id NOT IN ({has})" if has else "")
        self.rows_where(
            sw,
            pred,
            "sweep_id",
            lambda v: f"sweep {v!r} has no configs in the input.",
            "add its configs (configs.parquet/csv rows with this sweep_id), or leave the "
            "sweep out.",
            "sweep_id",
        )

    # -- roofline consistency ---------------------------------------------------------
    def roofline(self, st: Staged) -> None:
        top = "greatest(compute_time_s, memory_time_s, comm_time_s)"
        present = (
            "compute_time_s IS NOT NULL AND memory_time_s IS NOT NULL AND comm_time_s IS NOT NULL"
        )
        roof_bad = (
            f"{present} AND roofline_time_s IS NOT NULL "
            f"AND abs(roofline_time_s - {top}) > {REL_TOL} * {top}"
        )
        named = (
            "CASE bound WHEN 'compute' THEN compute_time_s WHEN 'memory' THEN memory_time_s "
            "WHEN 'comm' THEN comm_time_s END"
        )
        bound_bad = f"{present} AND bound IS NOT NULL AND {named} < {top} * (1 - {REL_TOL})"
        # Fast path: two max() over vectorised arithmetic (a bad row makes a max positive);
        # ``0 * (sum of the times)`` is NULL when a time is missing, so such rows are skipped.
        all3 = "0 * (compute_time_s + memory_time_s + comm_time_s)"
        worst_roof, worst_bound = self.con.execute(
            f"SELECT max(abs(roofline_time_s - {top}) - {REL_TOL} * {top} + {all3}), "
            f"max({top} * (1 - {REL_TOL}) - {named} + {all3}) FROM {st.stage}"
        ).fetchall()[0]
        n_roof = worst_roof is not None and worst_roof > 0
        n_bound = worst_bound is not None and worst_bound > 0
        if n_roof:
            self.rows_where(
                st,
                roof_bad,
                "roofline_time_s",
                lambda r, c, m, k: (
                    f"roofline_time_s = {r} but max(compute_time_s={c}, "
                    f"memory_time_s={m}, comm_time_s={k}) = {max(c, m, k)}."
                ),
                "roofline_time_s must equal the largest of the three times (within 1e-6 "
                "relative); recompute it or check the units of the times.",
                "roofline_time_s, compute_time_s, memory_time_s, comm_time_s",
            )
        if n_bound:
            self.rows_where(
                st,
                bound_bad,
                "bound",
                lambda b, c, m, k: (
                    f"bound = {b!r} but the largest time is "
                    + max(("compute", c), ("memory", m), ("comm", k), key=lambda x: x[1])[0]
                    + f" (compute {c}, memory {m}, comm {k})."
                ),
                "bound must name the largest of compute_time_s, memory_time_s, comm_time_s.",
                "bound, compute_time_s, memory_time_s, comm_time_s",
            )

    # -- keys -----------------------------------------------------------------------
    def unique(self, st: Staged, stats: dict) -> None:
        key = TABLES_BY_NAME[st.table].key
        kq = ", ".join(q(k) for k in key)
        n = stats["__n"]
        if not n:
            return
        if st.table == "operators":
            lo, hi = stats["op_index"]["min"], stats["op_index"]["max"]
            if lo is not None and lo >= 0 and hi < 64:
                # One bit per op_index per config: a duplicate shows as fewer bits than rows.
                # The same per-config pass also counts config_ids that reference nothing, so
                # the reference check only runs its own query when something is missing.
                dup, self.ops_missing = self.con.execute(
                    "SELECT count(*) FILTER (WHERE n <> bit_count(b)), "
                    f"count(*) FILTER (WHERE config_id NOT IN ({self.known_configs()})) "
                    "FROM (SELECT config_id, count(*) AS n, "
                    "bit_or(1::UBIGINT << op_index::UBIGINT) AS b "
                    f"FROM {st.stage} WHERE op_index IS NOT NULL AND config_id IS NOT NULL "
                    "GROUP BY config_id)"
                ).fetchall()[0]
            else:
                dup = self.con.execute(
                    f"SELECT count(*) FROM (SELECT 1 FROM {st.stage} GROUP BY {kq} "
                    "HAVING count(*) > 1)"
                ).fetchall()[0][0]
        elif st.table in SHARED:
            # Two sweep directories may both describe the same chip or model: identical rows
            # are one row; only the same id with different values is a conflict.
            dup = self.con.execute(
                f"SELECT count(DISTINCT s) - count(DISTINCT {kq}) FROM "
                f"(SELECT {kq}, s FROM {st.stage} s WHERE {kq} IS NOT NULL)"
            ).fetchall()[0][0]
        else:
            dup = self.con.execute(
                f"SELECT count(*) - count(DISTINCT ({kq})) FROM {st.stage} WHERE "
                + " AND ".join(f"{q(k)} IS NOT NULL" for k in key)
            ).fetchall()[0][0]
        if not dup:
            return
        having = "count(DISTINCT s) > 1" if st.table in SHARED else "count(*) > 1"
        rows = self.con.execute(
            f"SELECT {kq}, list(rowid ORDER BY rowid) AS ids FROM {st.stage} s "
            f"WHERE {' AND '.join(f'{q(k)} IS NOT NULL' for k in key)} "
            f"GROUP BY {kq} HAVING {having} ORDER BY min(rowid) LIMIT {MAX_SHOWN}"
        ).fetchall()
        for r in rows:
            ids = r[-1]
            file, row = st.locate(ids[1])
            first = st.locate(ids[0])
            keytxt = ", ".join(f"{k}={_show(v)}" for k, v in zip(key, r[:-1], strict=True))
            where = f"row {first[1]}" if first[0] == file else f"{first[0]} row {first[1]}"
            differs = " with different values" if st.table in SHARED else ""
            self.problems.append(
                Problem(
                    file,
                    row,
                    ", ".join(key),
                    f"duplicate key {keytxt}: already used{differs} on {where}.",
                    f"each {st.table} row needs a unique ({', '.join(key)}); remove the "
                    "duplicate or give it a new key.",
                )
            )

    # -- references -----------------------------------------------------------------
    def known_configs(self) -> str:
        """SQL for the config_ids operators may reference: staged ones and the store's kept ones."""
        known = "SELECT config_id FROM configs"
        if self.replaced:
            known += " WHERE sweep_id NOT IN (" + ", ".join(_lit(s) for s in self.replaced) + ")"
        cfg = self.staged.get("configs")
        if cfg:
            known += f" UNION ALL SELECT config_id FROM {cfg.stage}"
        return known

    def references(self, replaced: list[str]) -> None:
        cfg = self.staged.get("configs")
        if cfg and cfg.rows:
            for col, table in (
                ("sweep_id", "sweeps"),
                ("system_id", "systems"),
                ("model_id", "models"),
            ):
                parent = self.staged.get(table)
                known = f"SELECT {col} FROM {table}"
                if parent:
                    known += f" UNION ALL SELECT {col} FROM {parent.stage}"
                missing = [
                    r[0]
                    for r in self.con.execute(
                        f"SELECT DISTINCT {col} FROM {cfg.stage} WHERE {col} IS NOT NULL "
                        f"AND {col} NOT IN ({known}) ORDER BY 1 LIMIT {MAX_SHOWN}"
                    ).fetchall()
                ]
                for value in missing:
                    self.rows_where(
                        cfg,
                        f"{col} = {_lit(value)}",
                        col,
                        f"{col} {value!r} is not in {table} (neither in the files nor in the store).",
                        f"add a row for {value!r} to {table} (or fix the id); ids are case-sensitive.",
                    )
        ops = self.staged.get("operators")
        if ops and ops.rows and self.ops_missing != 0:
            known = self.known_configs()
            missing = self.con.execute(
                f"SELECT config_id FROM (SELECT DISTINCT config_id FROM {ops.stage} "
                f"WHERE config_id IS NOT NULL) ANTI JOIN ({known}) USING (config_id) "
                f"ORDER BY 1 LIMIT {MAX_SHOWN}"
            ).fetchall()
            for (value,) in missing:
                self.rows_where(
                    ops,
                    f"config_id = {int(value)}",
                    "config_id",
                    f"config_id {value} is not in configs (neither in the files nor in the store).",
                    "every operator row must belong to a configuration: add the config or fix the id.",
                )
            # Operators added to configurations already in the store must not repeat their keys.
            clash = self.con.execute(
                f"SELECT s.rowid, s.config_id, s.op_index FROM {ops.stage} s "
                "JOIN operators o USING (config_id, op_index) "
                + (f"WHERE s.config_id NOT IN (SELECT config_id FROM {cfg.stage}) " if cfg else "")
                + ("AND " if cfg else "WHERE ")
                + "o.config_id IN (SELECT config_id FROM configs"
                + (
                    " WHERE sweep_id NOT IN (" + ", ".join(_lit(s) for s in replaced) + "))"
                    if replaced
                    else ")"
                )
                + f" ORDER BY s.rowid LIMIT {MAX_SHOWN}"
            ).fetchall()
            for rowid, cid, idx in clash:
                file, row = ops.locate(rowid)
                self.problems.append(
                    Problem(
                        file,
                        row,
                        "config_id, op_index",
                        f"operator (config_id={cid}, op_index={idx}) is already in the store.",
                        "use --replace on its sweep, or give the operator a new op_index.",
                    )
                )

    # -- against the store ----------------------------------------------------------
    def existing(self) -> list[str]:
        """Sweeps, systems and models that already exist; returns the sweeps being replaced."""
        replaced: list[str] = []
        sw = self.staged.get("sweeps")
        if sw and sw.rows:
            rows = self.con.execute(
                f"SELECT s.rowid, s.sweep_id FROM {sw.stage} s JOIN sweeps USING (sweep_id) "
                "ORDER BY s.rowid"
            ).fetchall()
            for rowid, sid in rows:
                if self.replace:
                    replaced.append(sid)
                    continue
                file, row = sw.locate(rowid)
                self.problems.append(
                    Problem(
                        file,
                        row,
                        "sweep_id",
                        f"sweep {sid!r} is already in the store.",
                        "re-run with --replace to replace it (its configs and operators are "
                        "deleted and reloaded), or give this sweep a new sweep_id.",
                    )
                )
        for table in ("systems", "models"):
            st = self.staged.get(table)
            if not st or not st.rows:
                continue
            t = TABLES_BY_NAME[table]
            key = t.key[0]
            diffs = " || ".join(
                f"CASE WHEN s.{q(c)} IS DISTINCT FROM e.{q(c)} THEN '{c} ' ELSE '' END"
                for c in t.column_names
                if c != key
            )
            rows = self.con.execute(
                f"SELECT s.rowid, s.{key}, {diffs} AS d FROM {st.stage} s JOIN {table} e "
                f"USING ({key}) WHERE d <> '' ORDER BY s.rowid"
            ).fetchall()
            if self.replace:
                continue
            for rowid, kid, d in rows:
                file, row = st.locate(rowid)
                cols = d.split()
                self.problems.append(
                    Problem(
                        file,
                        row,
                        ", ".join(cols),
                        f"{table[:-1]} {kid!r} is already in the store with different values "
                        f"in {', '.join(cols)}.",
                        f"re-run with --replace to overwrite the stored {table[:-1]}, or use a "
                        f"new {key} for the changed one.",
                    )
                )
        return replaced

    def config_collisions(self, replaced: list[str]) -> None:
        cfg = self.staged.get("configs")
        if not cfg or not cfg.rows:
            return
        not_replaced = (
            " AND c.sweep_id NOT IN (" + ", ".join(_lit(s) for s in replaced) + ")"
            if replaced
            else ""
        )
        # A sweep refused as already present is reported once, not once per config.
        sw = self.staged.get("sweeps")
        if sw and not self.replace:
            not_replaced += f" AND c.sweep_id NOT IN (SELECT sweep_id FROM {sw.stage})"
        pred = f"config_id IN (SELECT c.config_id FROM configs c WHERE true{not_replaced})"
        self.rows_where(
            cfg,
            pred,
            "config_id",
            lambda cid, sid: f"config_id {cid} is already used by sweep {sid!r} in the store.",
            "config_ids are unique across the whole store: renumber this sweep's configs "
            "(and their operators), e.g. start above the store's max config_id.",
            "config_id, (SELECT c.sweep_id FROM configs c WHERE c.config_id = "
            f"{cfg.stage}.config_id LIMIT 1)",
        )


def validate_staged(
    con: duckdb.DuckDBPyConnection, staged: dict[str, Staged], replace: bool
) -> tuple[list[Problem], list[str]]:
    """Run every rule over the staged tables; returns the problems and the sweeps replaced."""
    ch = _Checker(con, staged, replace)
    replaced = ch.replaced = ch.existing()
    # Conflicts with the store are listed after the problems inside the files themselves.
    conflicts, ch.problems = ch.problems, []
    stats = {}
    for name in ("sweeps", "systems", "models", "configs", "operators"):
        st = staged.get(name)
        if st is None or not st.rows:
            continue
        stats[name] = ch.columns(st)
        ch.text_and_magnitude(st)
        ch.unique(st, stats[name])
        if name == "operators":
            ch.roofline(st)
    ch.sweeps_without_configs()
    ch.references(replaced)
    ch.problems += conflicts
    ch.config_collisions(replaced)
    return ch.problems, replaced
