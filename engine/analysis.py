"""Shared plumbing of the why / lint / insights analyses: recorded SQL, findings, safe text.

Every analysis runs coview's own SQL on a read-only store connection and keeps what it ran
and what came back, so each answer carries its SQL and evidence rows. Values are passed as
parameters, never spliced into SQL; the display copy of a statement (``Query.display``)
inlines them as quoted literals so a user can paste it into DuckDB and get the same rows.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

# C0 and C1 control characters (ESC, BEL, CR, ...), DEL, and bidi/zero-width format controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def clean_text(value: Any) -> str:
    """Store text made safe for a terminal: control characters become spaces (markup is the
    TUI's job: it renders this as plain Text, never as Rich markup)."""
    return _CONTROL.sub(" ", str(value))


def clean_value(value: Any) -> Any:
    """A row value for output: text cleaned, non-finite floats as None, containers recursed."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {clean_text(k): clean_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value


def sql_literal(value: Any) -> str:
    """A value as a SQL literal, for the display copy of a statement only."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sql_literal(v) for v in value) + "]"
    return "'" + clean_text(value).replace("'", "''") + "'"


@dataclass
class Query:
    """One statement that ran: its text, parameters and result rows (as dicts)."""

    sql: str
    params: dict[str, Any]
    rows: list[dict[str, Any]]

    @property
    def display(self) -> str:
        """The statement with its parameters inlined as literals (paste-able, reproducible)."""
        text = " ".join(self.sql.split())
        return _PARAM.sub(
            lambda m: (
                sql_literal(self.params[m.group(1)]) if m.group(1) in self.params else m.group(0)
            ),
            text,
        )


class Recorder:
    """Runs SQL on a read-only connection and remembers every statement and its rows."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.queries: list[Query] = []

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run `sql` with named `$params`; the rows as dicts, recorded."""
        params = dict(params or {})
        named = set(_PARAM.findall(sql))
        used = {k: v for k, v in params.items() if k in named}
        cur = self.con.execute(sql, used) if used else self.con.execute(sql)
        cols = [d[0] for d in cur.description]
        out = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        self.queries.append(Query(sql, used, out))
        return out

    @property
    def sql(self) -> list[str]:
        return [q.display for q in self.queries]

    def evidence(self, cap: int = 50) -> list[dict[str, Any]]:
        """The rows of every statement, cleaned, capped at `cap` in total."""
        out: list[dict[str, Any]] = []
        for q in self.queries:
            for r in q.rows:
                if len(out) >= cap:
                    return out
                out.append(clean_value(r))
        return out


@dataclass
class Finding:
    """One thing worth a look, with the SQL that shows it and a follow-up question.

    `kind` names the check or insight (e.g. 'lint.dtype_mismatch'); `severity` is 'error'
    for data that is wrong or not comparable, 'warning' for suspicious, 'info' for insights.
    """

    kind: str
    title: str
    detail: str
    sql: list[str]
    rows: list[dict[str, Any]]
    question: str
    severity: str = "info"
    score: float = 0.0
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The contract object: title, detail, sql, rows, question (+ kind, severity, facts)."""
        return {
            "title": clean_text(self.title),
            "detail": clean_text(self.detail),
            "sql": [clean_text(s) for s in self.sql],
            "rows": [clean_value(r) for r in self.rows],
            "question": clean_text(self.question),
            "kind": self.kind,
            "severity": self.severity,
            "facts": clean_value(self.facts),
        }


def open_read_only(store: str | Path) -> duckdb.DuckDBPyConnection:
    """The store opened read-only for coview's own analyses (see store.db.connect)."""
    from coview.store.db import connect

    con = connect(Path(store), read_only=True)
    con.execute("SET enable_progress_bar = false")  # no progress bar on a piped stdout
    return con


def fmt_time(seconds: Any) -> str:
    """Seconds in the unit that reads best (s, ms, us) for short templates."""
    if seconds is None:
        return "n/a"
    s = float(seconds)
    if abs(s) >= 1:
        return f"{s:.3g} s"
    if abs(s) >= 1e-3:
        return f"{s * 1e3:.3g} ms"
    return f"{s * 1e6:.3g} us"


def fmt_bytes(n: Any) -> str:
    """Bytes in MiB/GiB for short templates."""
    if n is None:
        return "n/a"
    v = float(n)
    if abs(v) >= 2**30:
        return f"{v / 2**30:.3g} GiB"
    return f"{v / 2**20:.4g} MiB"


def pct(x: float) -> str:
    return f"{x * 100:.3g}%"


def render_findings(
    findings: list[Finding], empty: str, header: str, show_sql: bool, severity: bool
) -> str:
    """Plain-text report of findings (lint, insights): numbered title, detail, SQL, follow-up."""
    if not findings:
        return empty
    lines = [header]
    for i, f in enumerate(findings, 1):
        j = f.to_json()
        tag = f"[{f.severity}] " if severity else ""
        lines += ["", f"{i}. {tag}{j['title']}", f"   {j['detail']}"]
        if show_sql:
            lines += [f"   SQL: {s}" for s in j["sql"]]
        lines.append(f"   Ask: {j['question']}")
    return "\n".join(lines)


class AnalysisError(ValueError):
    """Bad input to an analysis (unknown system, config or metric); the message says what to do."""


def resolve_systems(
    con: duckdb.DuckDBPyConnection, systems: list[str] | tuple[str, ...]
) -> list[str]:
    """System ids for system ids or names (case-insensitive); unknown ones raise AnalysisError."""
    rows = con.execute("SELECT system_id, name FROM systems ORDER BY system_id").fetchall()
    by_key: dict[str, str] = {}
    for sid, name in rows:
        by_key[str(sid).lower()] = sid
        by_key.setdefault(str(name).lower(), sid)
    out = []
    for s in systems:
        if str(s).lower() not in by_key:
            known = ", ".join(clean_text(n) for _, n in rows)
            raise AnalysisError(f"no system {clean_text(s)!r} in the store; known: {known}.")
        out.append(by_key[str(s).lower()])
    return out
