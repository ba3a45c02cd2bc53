"""Reading native sweep files: one Parquet or CSV file per schema v1 table.

A native sweep is a directory (or a list of files) holding ``<table>.parquet`` or
``<table>.csv`` for the tables sweeps, systems, models, configs and operators. This module
finds those files and describes each as a ``Source`` that DuckDB reads with its own readers
(no Python row handling): Parquet keeps its own column types, CSV is read as text and cast
under validation so a bad value is reported with its row instead of failing the whole read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from coview.store.schema import TABLES_BY_NAME

SUFFIXES = (".parquet", ".csv")


@dataclass
class Source:
    """One input table: where it came from and how DuckDB reads it.

    ``relation`` is a FROM-clause item with the source's own column names; ``row_relation``
    is the same data plus a ``__row`` column holding the 1-based data row in the file.
    """

    table: str
    label: str  # shown in messages: the file path, or "<format>:<table>" for importers
    relation: str
    row_relation: str
    columns: dict[str, str] = field(default_factory=dict)  # source column -> DuckDB type
    size_bytes: int = 0


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def find_table_files(
    paths: list[Path],
) -> tuple[dict[str, list[Path]], list[tuple[str, str, str]]]:
    """Map table name -> files among ``paths`` (files or directories); also the problems found.

    Directories are scanned one level deep for ``<table>.parquet|csv``; other files there
    (spec.toml, README.md) are ignored. A Parquet/CSV file whose name is not a table is a
    problem, as is a path that does not exist or holds no table file at all. Problems are
    (path, what is wrong, how to fix it).
    """
    found: dict[str, list[Path]] = {}
    problems: list[tuple[str, str, str]] = []
    known = ", ".join(f"{t}.parquet" for t in TABLES_BY_NAME)
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            problems.append((str(path), "no such file or directory.", "check the path (see `ls`)."))
            continue
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        hits = 0
        for f in files:
            suffix = f.suffix.lower()
            if suffix not in SUFFIXES:
                if not path.is_dir():
                    problems.append(
                        (
                            str(f),
                            "is not a Parquet or CSV file.",
                            f"native input is {known} (or the same names with .csv); "
                            "other simulators' files need --format (e.g. llm-analysis).",
                        )
                    )
                continue
            if f.stem not in TABLES_BY_NAME:
                problems.append(
                    (
                        str(f),
                        f"'{f.stem}' is not a table of schema v1.",
                        f"name each file after its table: {known} (or .csv); see `coview schema`.",
                    )
                )
                continue
            found.setdefault(f.stem, []).append(f.resolve())
            hits += 1
        if path.is_dir() and hits == 0 and not any(p.suffix.lower() in SUFFIXES for p in files):
            problems.append(
                (
                    str(path),
                    "holds no table file.",
                    f"a native sweep directory holds {known} (or .csv); "
                    "other simulators' files need --format (e.g. llm-analysis).",
                )
            )
    return found, problems


def open_file_source(con: duckdb.DuckDBPyConnection, table: str, path: Path, seq: int) -> Source:
    """Describe one native file as a Source; CSV is loaded as text into a temp table first."""
    size = path.stat().st_size
    p = _sql_str(str(path))
    if path.suffix.lower() == ".parquet":
        relation = f"read_parquet({p})"
        row_relation = (
            f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS __row "
            f"FROM read_parquet({p}, file_row_number = true))"
        )
    else:
        # Text first: a value that does not parse is then reported with its row and column
        # by validation, instead of aborting the read with a sniffer message.
        raw = f"_coview_csv_{seq}"
        con.execute(
            f"CREATE TEMP TABLE {raw} AS SELECT * FROM read_csv({p}, header = true, "
            "all_varchar = true, auto_detect = true)"
        )
        relation = raw
        row_relation = f"(SELECT *, rowid + 1 AS __row FROM {raw})"
    cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    return Source(table, str(path), relation, row_relation, cols, size)


def open_frame_source(
    con: duckdb.DuckDBPyConnection, table: str, frame, fmt: str, seq: int
) -> Source:
    """Describe an importer's DataFrame (polars or pandas) as a Source registered in DuckDB."""
    import polars as pl

    if not isinstance(frame, pl.DataFrame):
        frame = pl.DataFrame(frame)
    name = f"_coview_frame_{seq}"
    arrow = frame.with_row_index("__row", offset=1).to_arrow()
    con.register(name, arrow)
    relation = f"(SELECT * EXCLUDE (__row) FROM {name})"
    cols = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()}
    return Source(table, f"{fmt}:{table}", relation, name, cols, int(frame.estimated_size()))
