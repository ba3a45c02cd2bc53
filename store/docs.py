"""Render the schema documentation from the database's own COMMENT ON text.

The same rendering feeds `coview schema` and the LLM selector prompt, so the documentation a
person reads and the one a model reads cannot drift apart.
"""

from __future__ import annotations

import duckdb

from coview.store.safetext import for_prompt
from coview.store.schema import TABLES


def table_docs(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Tables of schema v1 with their comment and columns (name, type, comment), from the catalog."""
    names = [t.name for t in TABLES]
    tables = dict(
        con.execute(
            "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main'"
        ).fetchall()
    )
    rows = con.execute(
        "SELECT table_name, column_name, data_type, comment FROM duckdb_columns() "
        "WHERE schema_name = 'main' ORDER BY table_name, column_index"
    ).fetchall()
    out = []
    for name in names:
        if name not in tables:
            continue
        cols = [{"name": c, "type": t, "comment": cm or ""} for tn, c, t, cm in rows if tn == name]
        out.append({"name": name, "comment": tables[name] or "", "columns": cols})
    return out


def render_markdown(con: duckdb.DuckDBPyConnection) -> str:
    """Schema documentation as Markdown: one section and one column table per table."""
    lines = ["# coview schema v1", ""]
    for t in table_docs(con):
        lines += [
            f"## `{t['name']}`",
            "",
            t["comment"],
            "",
            "| column | type | meaning |",
            "|---|---|---|",
        ]
        for c in t["columns"]:
            lines.append(f"| `{c['name']}` | {c['type']} | {c['comment'].replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)


# A store made elsewhere may carry anything in its comments: each is cut to this in prompts.
MAX_PROMPT_COMMENT = 300


def render_compact(con: duckdb.DuckDBPyConnection) -> str:
    """Schema documentation in a compact form for prompts: `table(col TYPE -- meaning, ...)`.

    Comments come from the store file, so each is one line, without control characters and
    capped at MAX_PROMPT_COMMENT characters (the prompt also quotes the whole as data)."""

    def safe(text: str, cap: int = MAX_PROMPT_COMMENT) -> str:
        return for_prompt(text, max_len=cap)

    parts = []
    for t in table_docs(con):
        cols = "\n".join(
            f"  {safe(c['name'], 80)} {safe(c['type'], 80)} -- {safe(c['comment'])}"
            for c in t["columns"]
        )
        parts.append(f"TABLE {t['name']} -- {safe(t['comment'])}\n{cols}")
    return "\n\n".join(parts)
