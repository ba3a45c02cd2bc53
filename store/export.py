"""Export the configs table, under the same filters and sort as the TUI shows it, to CSV or
Parquet (the CLI's `coview export-configs` and the TUI's export key both call this).

The rows come from the same WHERE clause as `Browser.page_configs` (navigator filters plus
the `/` search syntax), without the page LIMIT. The file is written next to its target and
renamed into place, so a failed export never leaves half a file under the name asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from coview.store.browse import _SORT_SQL, CONFIG_COLUMNS, Browser, Filters

FORMATS = ("csv", "parquet")


class ExportError(ValueError):
    """The export cannot be written as asked; the message says what to change."""


@dataclass
class ExportResult:
    path: Path
    fmt: str
    rows: int
    columns: list[str]

    def summary(self) -> str:
        return (
            f"wrote {self.rows} config{'s' if self.rows != 1 else ''} to {self.path} ({self.fmt})"
        )


def export_format(path: Path, fmt: str | None = None) -> str:
    """`fmt` if given, else the format named by the file's suffix (.csv, .parquet/.pq)."""
    if fmt is None:
        suffix = path.suffix.lower().lstrip(".")
        fmt = {"pq": "parquet"}.get(suffix, suffix)
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ExportError(
            f"cannot tell the export format of {path.name!r}; end the file name in .csv or "
            ".parquet, or name the format (csv | parquet)."
        )
    return fmt


def match_systems(browser: Browser, names: list[str]) -> tuple[str, ...]:
    """The system ids named by `names` (each a system id or name, any case); an ExportError
    listing the store's systems for a name that matches none."""
    with browser._lock:
        rows = browser.con.execute("SELECT system_id, name FROM systems ORDER BY name").fetchall()
    ids: list[str] = []
    for name in names:
        hits = [str(i) for i, n in rows if name.lower() in (str(i).lower(), str(n).lower())]
        if not hits:
            known = ", ".join(printable(str(n)) for _, n in rows) or "none"
            raise ExportError(f"no system {name!r} in the store; it has: {known}.")
        ids.extend(h for h in hits if h not in ids)
    return tuple(ids)


def printable(text: str) -> str:
    """Store text made safe for a terminal: control characters shown as '?'."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)


def export_configs(
    browser: Browser,
    filters: Filters,
    out: str | os.PathLike,
    fmt: str | None = None,
    sort: str = "perf_per_tco",
    descending: bool = True,
    all_columns: bool = False,
) -> ExportResult:
    """Write every config matching `filters`, sorted like the table, to `out`.

    Columns are the table's (`CONFIG_COLUMNS`), or with `all_columns` every column of
    `configs` plus the system's name. Raises SearchError for a bad search text and
    ExportError for a bad format, sort column or target path.
    """
    out = Path(out).expanduser()
    fmt = export_format(out, fmt)
    if sort not in _SORT_SQL:
        raise ExportError(f"cannot sort on {sort!r}; choose one of {', '.join(CONFIG_COLUMNS)}")
    if out.is_dir():
        raise ExportError(f"{out} is a directory; name a file, e.g. {out / ('configs.' + fmt)}")
    if not out.parent.exists():
        raise ExportError(f"the directory {out.parent} does not exist; create it first.")
    where, params = browser._where(filters)
    if all_columns:
        cols = "s.name AS system, c.* EXCLUDE (extra), CAST(c.extra AS VARCHAR) AS extra"
    else:
        cols = ", ".join(f"{_SORT_SQL[c]} AS {c}" for c in CONFIG_COLUMNS)
    order = f"{_SORT_SQL[sort]} {'DESC' if descending else 'ASC'} NULLS LAST, c.config_id"
    sql = f"SELECT {cols} FROM configs c JOIN systems s USING (system_id){where} ORDER BY {order}"
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with browser._lock:
            rel = browser.con.sql(sql, params=params)
            names = list(rel.columns)
            if fmt == "csv":
                rel.write_csv(str(tmp), header=True)
            else:
                rel.write_parquet(str(tmp))
            (n,) = browser.con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
        os.replace(tmp, out)
    except (OSError, duckdb.IOException) as exc:
        raise ExportError(f"cannot write {out}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return ExportResult(path=out, fmt=fmt, rows=int(n), columns=names)
