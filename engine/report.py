"""Human output of `coview ask`: the answer first, then the SQL, the evidence, the badge.

Plain text that reads in 80 columns and pipes cleanly: no colour codes, no box drawing the
terminal might not render.
"""

from __future__ import annotations

import math
import textwrap
from typing import Any

from coview.engine.types import AskResult, Evidence

WIDTH = 80
MAX_ROWS = 15
MAX_COLS = 8
CELL = 16


def _cell(v: Any) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if not math.isfinite(v):
            return str(v)
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.4g}"
        return f"{v:.6g}"
    s = str(v)
    return s if len(s) <= CELL else s[: CELL - 1] + "…"


_HIDE = {"config_id", "rank", "op_index", "layer_name", "configs_matched", "configs_fitting"}
_FIRST = (
    "system",
    "op_type",
    "system_a",
    "system_b",
    "model",
    "phase",
    "batch_size",
    "tp",
    "num_chips",
    "weight_dtype",
)


def _constant(ev: Evidence, i: int) -> bool:
    vals = {r[i] for r in ev.rows if i < len(r)}
    return len(ev.rows) > 1 and len(vals) == 1


def _pick_columns(ev: Evidence) -> list[int]:
    """At most MAX_COLS columns: names first, then the values that vary; columns equal in
    every row are summarised above the table instead."""
    if len(ev.columns) <= MAX_COLS and len(ev.rows) <= 1:
        return list(range(len(ev.columns)))
    cand = [
        i
        for i, c in enumerate(ev.columns)
        if not _constant(ev, i) and c not in _HIDE and not c.startswith(("min_", "max_"))
    ]
    first = [i for i in cand if ev.columns[i] in _FIRST]
    rest = [i for i in cand if i not in first]
    keep = (first + rest)[:MAX_COLS]
    return sorted(keep, key=lambda i: (ev.columns[i] not in _FIRST, i))


def _constants_line(ev: Evidence, shown: list[int]) -> str:
    parts = [
        f"{c}={_cell(ev.rows[0][i])}"
        for i, c in enumerate(ev.columns)
        if i not in shown and _constant(ev, i) and c not in _HIDE
    ]
    return textwrap.fill("all rows: " + ", ".join(parts), WIDTH) if parts else ""


def pretty_sql(sql: str) -> str:
    """The SQL laid out one clause per line (sqlglot), or as given if it does not parse."""
    try:
        import sqlglot

        return sqlglot.transpile(sql, read="duckdb", write="duckdb", pretty=True)[0]
    except Exception:  # noqa: BLE001 - display only; never fail the answer over layout
        return sql


def render_record(ev: Evidence) -> str:
    """One row as 'column  value' lines: every column stays visible in 80 columns."""
    names = [c for c in ev.columns if c not in ("rank",)]
    width = min(max(len(c) for c in names), 28)
    lines = [
        f"{c[:width].ljust(width)}  {_cell(v) if not isinstance(v, str) else v[: WIDTH - width - 2]}"
        for c, v in zip(ev.columns, ev.rows[0], strict=False)
        if c in names
    ]
    return "\n".join(lines) + "\n(1 row)"


def render_table(ev: Evidence) -> str:
    """A compact text table of up to MAX_ROWS rows, saying how many were left out."""
    if len(ev.rows) == 1 and not ev.truncated:
        return render_record(ev)
    cols = _pick_columns(ev)
    head = [ev.columns[i] for i in cols]
    body = [[_cell(r[i]) for i in cols] for r in ev.rows[:MAX_ROWS]]
    widths = [
        max(len(h), *(len(b[k]) for b in body)) if body else len(h) for k, h in enumerate(head)
    ]
    # shrink the widest columns until the table fits
    while sum(widths) + 2 * (len(widths) - 1) > WIDTH and max(widths) > 6:
        k = widths.index(max(widths))
        widths[k] -= 1

    def fmt(cells: list[str]) -> str:
        out = []
        for c, w in zip(cells, widths, strict=False):
            c = c if len(c) <= w else c[: w - 1] + "…"
            out.append(c.rjust(w) if _numeric(c) else c.ljust(w))
        return "  ".join(out).rstrip()

    lines = [fmt(head), fmt(["-" * w for w in widths])]
    const = _constants_line(ev, cols)
    if const:
        lines.insert(0, const)
    lines += [fmt(b) for b in body]
    shown = min(len(ev.rows), MAX_ROWS)
    more = ">" if ev.truncated else ""
    hidden_cols = len(ev.columns) - len(cols)
    note = f"{shown} of {more}{len(ev.rows)} rows"
    if hidden_cols:
        note += f", {len(cols)} of {len(ev.columns)} columns (--json shows all)"
    lines.append(f"({note})")
    return "\n".join(lines)


def _numeric(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _wrap(text: str) -> str:
    out = []
    for line in text.splitlines():
        indent = len(line) - len(line.lstrip(" "))
        out.append(
            textwrap.fill(line, WIDTH, subsequent_indent=" " * (indent + 2))
            if len(line) > WIDTH
            else line
        )
    return "\n".join(out)


def read_as_line(result: AskResult) -> str:
    """'Read as: ...' with the corrections made, or '' when the backend gave no reading."""
    return read_as_text(result.interpretation or {})


def read_as_text(interp: dict) -> str:
    """The 'Read as: ...' line of an interpretation dict (also used by the TUI and review)."""
    reading = interp.get("reading")
    fixes = interp.get("corrections") or []
    fixed = "; ".join(f"'{f['typed']}' read as '{f['read_as']}'" for f in fixes)
    if reading:
        return f"Read as: {reading}" + (f" ({fixed})" if fixed else "")
    return f"Read as: {fixed}" if fixed else ""


def render_result(result: AskResult, show_sql: bool) -> str:
    """The answer (or 'Cannot answer: ...'), then SQL (with show_sql), evidence and badge."""
    parts: list[str] = []
    reading = read_as_line(result)
    if reading:
        parts.append(_wrap(reading))
    if result.status == "answered":
        parts.append(_wrap(result.answer))
    elif result.status == "refused":
        text = result.answer or result.reason
        prefix = "I can't answer that from this data: "
        if text.startswith(prefix):
            text = text[len(prefix) :]
            text = text[:1].upper() + text[1:]
        parts.append(_wrap("Cannot answer: " + text))
    else:
        parts.append(_wrap("Error: " + (result.answer or result.reason or "unknown error")))
    if show_sql and result.sql:
        for i, sql in enumerate(result.sql, 1):
            title = "SQL" if len(result.sql) == 1 else f"SQL {i}"
            parts.append(f"{title}:\n" + textwrap.indent(pretty_sql(sql.strip()), "  "))
    if result.status == "answered":
        for i, ev in enumerate(result.evidence, 1):
            if not ev.columns:
                continue
            title = "Evidence" if len(result.evidence) == 1 else f"Evidence {i}"
            parts.append(f"{title}:\n" + render_table(ev))
        g = result.grounding
        total = len(g.numbers)
        ok = total - len(g.unmatched)
        if total == 0:
            badge = "grounded: the answer states no numbers"
        elif g.ok:
            badge = f"grounded: {ok}/{total} numbers traced to evidence"
        else:
            names = ", ".join(n.text for n in g.unmatched)
            badge = f"NOT fully grounded: {ok}/{total} numbers traced; unverified: {names}"
        badge += f" · backend {result.backend} · {result.elapsed_s * 1000:.0f} ms"
        if not show_sql and result.sql:
            badge += " · --show-sql shows the SQL"
        parts.append(badge)
    return "\n\n".join(parts)
