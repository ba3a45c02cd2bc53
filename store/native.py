"""Reading native sweep files: one Parquet or CSV file per schema v1 table.

A native sweep is a directory (or a list of files) holding ``<table>.parquet`` or
``<table>.csv`` for the tables sweeps, systems, models, configs and operators. This module
finds those files and describes each as a ``Source`` that DuckDB reads with its own readers
(no Python row handling): Parquet keeps its own column types, CSV is read as text and cast
under validation so a bad value is reported with its row instead of failing the whole read.
"""

from __future__ import annotations

import os
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


class NativeFileError(ValueError):
    """A native input file that cannot be read as it is: what is wrong and what to do."""

    def __init__(self, path: Path, message: str, hint: str) -> None:
        super().__init__(message)
        self.path, self.message, self.hint = path, message, hint


_GLOB_CHARS = frozenset("[]*?{}")


def literal_pattern(path: Path) -> str:
    """`path` as a DuckDB file pattern that matches only itself: DuckDB globs every path it
    reads, so ``runs/tp[8]`` would read ``runs/tp8`` and ``star*`` several files. Each glob
    character becomes a one-character class (``[`` -> ``[[]``)."""
    return "".join(f"[{ch}]" if ch in _GLOB_CHARS else ch for ch in str(path))


def _literal_read_path(con: duckdb.DuckDBPyConnection, path: Path) -> str:
    """The pattern to read `path` by, checked to match exactly that one file."""
    pattern = literal_pattern(path)
    if not _GLOB_CHARS.intersection(str(path)):
        return pattern
    hits = [r[0] for r in con.execute("SELECT file FROM glob(?)", [pattern]).fetchall()]
    if [Path(h).resolve() for h in hits] != [path.resolve()]:
        raise NativeFileError(
            path,
            f"cannot read this file by its literal name (DuckDB matched {len(hits)} files).",
            "rename the file or its directory without [ ] * ? { } characters, then retry.",
        )
    return pattern


def not_regular_reason(path: Path) -> str | None:
    """Why `path` is not a regular file or directory coview may read, or None if it is."""
    import stat

    try:
        mode = path.stat().st_mode
    except OSError as exc:
        if path.is_symlink():
            import errno

            if exc.errno == errno.ELOOP:
                return "is a symbolic link loop (it points back to itself)."
            return f"is a broken symbolic link (its target {os.readlink(path)!r} is missing)."
        return f"cannot be read ({exc.strerror or exc})."
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kind = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "not a regular file"
    )
    return f"is {kind}, not a regular file; reading it could wait forever."


def check_csv_text(path: Path, sample_bytes: int = 1 << 20) -> None:
    """Name what is wrong with a CSV file DuckDB's sniffer would only report as "column0":
    a UTF-16/32 byte-order mark, bytes that are not UTF-8, NUL bytes, ragged rows."""
    import codecs
    import csv
    import io

    with open(path, "rb") as fh:
        head = fh.read(sample_bytes)
        complete = not fh.read(1)
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if head.startswith(bom):
            raise NativeFileError(
                path,
                f"is {name} encoded (it starts with a {name} byte-order mark); coview reads UTF-8.",
                f"save it as UTF-8, e.g. `iconv -f {name} -t UTF-8 in.csv > out.csv`.",
            )
    if b"\x00" in head:
        raise NativeFileError(
            path,
            "holds NUL bytes: it is a binary file, not CSV text.",
            "pass the simulator's CSV or Parquet output.",
        )
    body = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if complete or exc.start < len(body) - 4:  # not a character cut by the sample's end
            line = body[: exc.start].count(b"\n") + 1
            raise NativeFileError(
                path,
                f"is not valid UTF-8: byte 0x{body[exc.start]:02x} on line {line} "
                "(the file has another encoding, e.g. Latin-1 or Windows-1252).",
                "save it as UTF-8, e.g. `iconv -f latin1 -t UTF-8 in.csv > out.csv`.",
            ) from exc
        text = body[: exc.start].decode("utf-8")
    lines = text.splitlines(keepends=True)
    if not complete and lines:
        lines = lines[:-1]  # the sample may end mid-line
    try:
        rows = csv.reader(io.StringIO("".join(lines)))
        header = next(rows, None)
        if not header:
            return
        for number, row in enumerate(rows, 1):
            if row and len(row) != len(header):
                raise NativeFileError(
                    path,
                    f"data row {number} has {len(row)} fields but the header has "
                    f"{len(header)} ({', '.join(header)[:200]}).",
                    "give every row one value per header column (empty for none); check for "
                    "unquoted commas inside values.",
                )
    except csv.Error:
        return  # DuckDB's reader decides and its message is shown


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
        if not path.exists() and not path.is_symlink():
            problems.append((str(path), "no such file or directory.", "check the path (see `ls`)."))
            continue
        odd = not_regular_reason(path)
        if odd:
            problems.append(
                (str(path), odd, "name a sweep directory or its Parquet/CSV files (see `ls -l`).")
            )
            continue
        if path.is_dir():
            files = []
            for p in sorted(path.iterdir()):
                if p.is_dir():
                    continue
                odd = not_regular_reason(p)
                if odd is None:
                    files.append(p)
                elif p.suffix.lower() in SUFFIXES:
                    # A table file that cannot be read must not vanish silently.
                    problems.append((str(p), odd, "replace it with the real file (see `ls -l`)."))
        else:
            files = [path]
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
    p = _sql_str(_literal_read_path(con, path))
    if path.suffix.lower() == ".parquet":
        relation = f"read_parquet({p})"
        row_relation = (
            f"(SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS __row "
            f"FROM read_parquet({p}, file_row_number = true))"
        )
    else:
        # Text first: a value that does not parse is then reported with its row and column
        # by validation, instead of aborting the read with a sniffer message.
        check_csv_text(path)
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
