"""What the LLM selector is told about the store: schema docs, values present, empty columns.

Everything here is read once per backend with a few small DISTINCT / count queries, so the
prompt's size depends on how many distinct values exist, not on how many rows the store has.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from coview.store.safetext import for_prompt
from coview.store.schema import TABLES

# Cap on every list of distinct values (column values, sweeps, systems, models): past it the
# prompt says "... and N more; query the table for the full list", so the prompt does not
# grow with the number of sweeps or other distinct values in the store.
VALUE_CAP = 12
# Rows of the (system, model, phase) coverage table shown before the same kind of note.
COVERAGE_CAP = 24
# Sweep rows are wide (id, name, simulator): the newest few, then the count.
SWEEP_CAP = 6
MAX_VALUE_CHARS = 80


@dataclass(frozen=True)
class StoreContext:
    """The store-dependent, question-independent part of the selector prompt."""

    schema: str
    values: str


def _connect(store_path: Path) -> duckdb.DuckDBPyConnection:
    from coview.store.db import connect

    return connect(Path(store_path), read_only=True)


def _fmt(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, str):
        # One line, bounded, no control characters: a value is data and must not reshape
        # the prompt around it.
        v = " ".join(for_prompt(v, max_len=10 * MAX_VALUE_CHARS).split())
        if len(v) > MAX_VALUE_CHARS:
            v = v[:MAX_VALUE_CHARS] + "..."
        return "'" + v.replace("'", "''") + "'"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _values(con: duckdb.DuckDBPyConnection, table: str, column: str) -> str:
    rows = con.execute(
        f"SELECT DISTINCT {column} AS v FROM {table} WHERE {column} IS NOT NULL "
        f"ORDER BY v LIMIT {VALUE_CAP + 1}"
    ).fetchall()
    vals = [_fmt(r[0]) for r in rows[:VALUE_CAP]]
    if len(rows) > VALUE_CAP:
        (n,) = con.execute(f"SELECT count(DISTINCT {column}) FROM {table}").fetchone()
        vals.append(_more(n - VALUE_CAP, f"SELECT DISTINCT {column} FROM {table}"))
    return ", ".join(vals) if vals else "(none)"


def _more(n: int, hint: str) -> str:
    """The note that ends a capped list: how many are left out and how to get them."""
    return f"... and {n} more; query the table for the full list ({hint})"


def _empty_columns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list[str]:
    """Columns that hold no value at all (NULL in every row): the simulator did not produce them."""
    exprs = ", ".join(f"count({c})" for c in columns)
    counts = con.execute(f"SELECT count(*), {exprs} FROM {table}").fetchone()
    if not counts or counts[0] == 0:
        return []
    return [c for c, n in zip(columns, counts[1:], strict=True) if n == 0]


def _present_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main'"
    ).fetchall()
    out: dict[str, list[str]] = {}
    for t, c in rows:
        out.setdefault(t, []).append(c)
    return out


def render_values(con: duckdb.DuckDBPyConnection) -> str:
    """The values of key columns present in the store, as compact text lines."""
    cols = _present_columns(con)
    lines: list[str] = []

    def listing(title: str, sql: str, cap: int = VALUE_CAP, table: str = "") -> None:
        rows = con.execute(f"{sql} LIMIT {cap + 1}").fetchall()
        lines.append(f"{title}:")
        for r in rows[:cap]:
            lines.append("  " + " | ".join(_fmt(v) for v in r))
        if len(rows) > cap:
            (n,) = con.execute(f"SELECT count(*) FROM ({sql})").fetchone()
            lines.append("  " + _more(n - cap, f"SELECT * FROM {table}"))
        if not rows:
            lines.append("  (none)")

    if "sweeps" in cols:
        listing(
            "sweeps, newest first (sweep_id | name | simulator)",
            "SELECT sweep_id, name, simulator FROM sweeps ORDER BY ingested_at DESC NULLS LAST, "
            "sweep_id DESC",
            SWEEP_CAP,
            table="sweeps",
        )
    if "systems" in cols:
        listing(
            "systems (system_id | name | vendor)",
            "SELECT system_id, name, vendor FROM systems ORDER BY system_id",
            table="systems",
        )
    if "models" in cols:
        listing(
            "models (model_id | name)",
            "SELECT model_id, name FROM models ORDER BY model_id",
            table="models",
        )
    if "configs" in cols:
        listing(
            "configurations present (system_id | model_id | phase | number of configs)",
            "SELECT system_id, model_id, phase, count(*) FROM configs "
            "GROUP BY ALL ORDER BY system_id, model_id, phase",
            COVERAGE_CAP,
            "configs",
        )
        lines.append("distinct values in configs:")
        for c in (
            "phase", "batch_size", "input_len", "output_len", "tp", "pp", "dp", "ep",
            "num_chips", "weight_dtype", "act_dtype", "kv_dtype",
        ):  # fmt: skip
            if c in cols["configs"]:
                lines.append(f"  {c}: {_values(con, 'configs', c)}")
    if "operators" in cols:
        lines.append("distinct values in operators:")
        for c in ("op_type", "op_class", "layer_name", "bound", "weights_location"):
            if c in cols["operators"]:
                lines.append(f"  {c}: {_values(con, 'operators', c)}")
    empty: list[str] = []
    for table in TABLES:
        present = [c.name for c in table.columns if c.name in cols.get(table.name, [])]
        if present:
            empty += [f"{table.name}.{c}" for c in _empty_columns(con, table.name, present)]
    lines.append(
        "columns with no data in this store (NULL everywhere; the simulator did not produce "
        "them): " + (", ".join(empty) if empty else "(none)")
    )
    return "\n".join(lines)


def load_store_context(store_path: Path) -> StoreContext:
    """Read the schema docs and the values present, once, on a short-lived read-only connection."""
    from coview.store.docs import render_compact

    con = _connect(store_path)
    try:
        return StoreContext(schema=render_compact(con), values=render_values(con))
    finally:
        con.close()


def describe_config(store_path: Path, config_id: int) -> str:
    """One line describing a config, for "this config" in the user's context."""
    try:
        con = _connect(store_path)
        try:
            row = con.execute(
                "SELECT c.config_id, s.name, m.name, c.phase, c.batch_size, c.tp, c.num_chips, "
                "c.weight_dtype, c.sweep_id FROM configs c "
                "LEFT JOIN systems s ON s.system_id = c.system_id "
                "LEFT JOIN models m ON m.model_id = c.model_id WHERE c.config_id = ?",
                [config_id],
            ).fetchone()
        finally:
            con.close()
    except Exception as exc:  # the id alone still lets the model write the SQL
        return f"config_id {config_id} (details could not be read: {exc})"
    if row is None:
        return f"config_id {config_id} (not found in this store)"
    names = (
        "config_id",
        "system",
        "model",
        "phase",
        "batch_size",
        "tp",
        "num_chips",
        "weight_dtype",
        "sweep_id",
    )
    return ", ".join(f"{n}={_fmt(v)}" for n, v in zip(names, row, strict=True))
