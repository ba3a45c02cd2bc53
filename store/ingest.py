"""`coview ingest`: load a sweep into the store, validated first, all or nothing.

How all-or-nothing works. The store file is never written in place. Ingest works on a
private copy next to it (``.<store>.ingest-<pid>.tmp``; a new store starts empty):
1. each input file is read by DuckDB's own reader (read_parquet / read_csv, no Python rows)
   into a staging table of that copy, cast to the schema v1 types;
2. every rule in ``coview.store.validate`` runs in SQL over the staged tables and the data
   already in the store; any problem -> IngestError, the copy is deleted, the store file is
   byte-for-byte what it was (and no file is left behind when there was no store);
3. one transaction applies the staged rows (for --replace it first deletes the old sweep's
   configs and operators) and recomputes ``is_pareto`` for the sweeps touched;
4. the copy is checkpointed, closed and atomically renamed over the store (os.replace).
While ingest runs it holds the store open read-only, so no other writer can start, and a
lock on the store's directory, so a second ingest waits instead of overwriting this one.
Readers that already have the store open keep seeing the old file until they reopen it.
Staged configs/operators become the store's tables by a rename when the store has none yet,
so a first load costs about one write of the data; appending to a non-empty store copies
them once more. Unknown columns in configs/operators go into their ``extra`` JSON (listed in
the report); in sweeps/systems/models they are refused. ``is_pareto`` in the input is ignored
and recomputed.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from coview.store.native import (
    NativeFileError,
    Source,
    find_table_files,
    open_file_source,
    open_frame_source,
)
from coview.store.pareto import update_pareto
from coview.store.schema import TABLES_BY_NAME, create_schema, ddl_statements
from coview.store.validate import (
    IngestError,
    Problem,
    Segment,
    Staged,
    check_source,
    select_list,
    validate_staged,
)

__all__ = ["FORMATS", "IngestError", "IngestReport", "Problem", "ingest"]

FORMATS = ("native", "llm-analysis", "genz", "aiconfigurator")
_IMPORTERS = {
    "llm-analysis": "coview.store.importers.llm_analysis",
    "genz": "coview.store.importers.genz",
    "aiconfigurator": "coview.store.importers.aiconfigurator",
}
_ORDER = ("sweeps", "systems", "models", "configs", "operators")
_BIG = ("configs", "operators")
log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What one ingest loaded."""

    store: Path
    sweeps: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    systems: int = 0
    systems_new: int = 0
    models: int = 0
    models_new: int = 0
    configs: int = 0
    operators: int = 0
    pareto_points: int = 0
    seconds: float = 0.0
    extra_columns: dict[str, list[str]] = field(default_factory=dict)
    stale_removed: list[tuple[Path, int]] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the terminal: what was loaded, where, how long it took."""
        names = ", ".join(repr(s) for s in self.sweeps) or "(none)"
        plural = "sweep" if len(self.sweeps) == 1 else "sweeps"

        def n(count: int, word: str) -> str:
            return f"{count:,} {word}{'' if count == 1 else 's'}"

        lines = [
            f"Loaded {plural} {names} into {self.store} in {self.seconds:.1f} s:",
            f"  {n(len(self.sweeps), 'sweep')}, {n(self.systems, 'system')} "
            f"({self.systems_new} new), {n(self.models, 'model')} ({self.models_new} new), "
            f"{n(self.configs, 'config')}, {n(self.operators, 'operator row')}, "
            f"{n(self.pareto_points, 'Pareto point')}.",
        ]
        if self.replaced:
            lines.append(f"  Replaced the earlier version of: {', '.join(self.replaced)}.")
        if self.stale_removed:
            total = sum(n for _, n in self.stale_removed)
            lines.append(
                f"  Removed {len(self.stale_removed)} working file(s) left by earlier ingests "
                f"that were killed ({total / 1e6:,.1f} MB): "
                + ", ".join(p.name for p, _ in self.stale_removed)
                + "."
            )
        for table, cols in self.extra_columns.items():
            lines.append(f"  {table}: unknown columns kept in extra JSON: {', '.join(cols)}.")
        return "\n".join(lines)


class _Progress:
    """Runs a statement; if it takes over a second, shows a rich progress bar on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()

    def setup(self, con: duckdb.DuckDBPyConnection) -> None:
        # DuckDB would print its own bar for long queries; ours goes to stderr, only on a TTY.
        con.execute(f"SET enable_progress_bar = {'true' if self.enabled else 'false'}")
        con.execute("SET enable_progress_bar_print = false")

    def run(self, con: duckdb.DuckDBPyConnection, sql: str, label: str):
        """Execute one statement, with a bar driven by DuckDB's own query progress."""
        with self._shown(label, con):
            return con.execute(sql)

    def during(self, label: str):
        """A context for a multi-statement step (validation, apply): a spinner after 1 s."""
        return self._shown(label, None)

    @contextmanager
    def _shown(self, label: str, con: duckdb.DuckDBPyConnection | None):
        if not self.enabled:
            yield
            return
        done = threading.Event()

        def watch() -> None:
            if done.wait(1.0):
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            ) as bar:
                task = bar.add_task(label, total=100 if con is not None else None)
                while not done.wait(0.2):
                    pct = con.query_progress() if con is not None else -1
                    if pct >= 0:
                        bar.update(task, completed=pct)

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _work_paths(work: Path) -> list[Path]:
    return [work, Path(f"{work}.wal"), Path(f"{work}.tmp")]


def _remove(paths: list[Path]) -> None:
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def _open_guard(store: Path) -> duckdb.DuckDBPyConnection | None:
    """Open an existing store read-only (never writes it) so no other writer can start."""
    if not store.exists():
        return None
    if store.is_dir():
        raise IngestError(
            Problem(
                str(store),
                None,
                None,
                "is a directory, not a store file.",
                "give --store a file name, e.g. sweeps.duckdb.",
            )
        )
    try:
        return duckdb.connect(str(store), read_only=True)
    except duckdb.Error as exc:
        text = str(exc)
        hint = (
            "close the other coview/duckdb process that has it open for writing, then retry."
            if "lock" in text.lower()
            else "check that --store names a coview DuckDB store (or a new file name)."
        )
        raise IngestError(
            Problem(str(store), None, None, f"cannot open the store: {text.splitlines()[0]}", hint)
        ) from exc


@contextmanager
def _ingest_lock(store: Path):
    """One ingest at a time per directory: two working copies renamed over one store would
    silently drop the first. A second ingest waits (flock on the directory, released on exit,
    even on a crash; no lock file is left behind)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock, documented
        yield
        return
    fd = os.open(store.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _load_importer(
    fmt: str, paths: list[Path], sweep_id: str | None, options: dict | None = None
) -> dict:
    import importlib

    try:
        module = importlib.import_module(_IMPORTERS[fmt])
    except ImportError as exc:
        raise IngestError(
            f"the {fmt} importer is not available in this install ({exc}).",
            "update coview, or convert the files to the native format (see `coview schema`).",
        ) from exc
    try:
        frames = module.load(paths, sweep_id, **(options or {}))
    except IngestError:
        raise
    except Exception as exc:  # the importer's own errors become one clear refusal
        if all(hasattr(exc, a) for a in ("file", "message", "hint")):
            # The importer says which file, what is wrong and what to do (ImportFormatError).
            raise IngestError(
                Problem(
                    str(exc.file),
                    None,
                    getattr(exc, "key", None),
                    f"{str(exc.message).rstrip('.')}.",
                    f"{str(exc.hint).rstrip('.')}.",
                )
            ) from exc
        raise IngestError(
            Problem(
                ", ".join(str(p) for p in paths),
                None,
                None,
                f"cannot import as {fmt}: {exc}",
                f"check that these are {fmt} output files (see `coview ingest --help`).",
            )
        ) from exc
    return frames


def _offset_config_ids(frames: dict, offset: int) -> dict:
    """Importers number configs from 1; move them above the store's largest config_id."""
    import polars as pl

    if not offset:
        return frames
    out = dict(frames)
    for table in ("configs", "operators"):
        frame = out.get(table)
        if frame is not None and "config_id" in frame.columns:
            out[table] = frame.with_columns(pl.col("config_id").cast(pl.Int64) + offset)
    return out


def _comments(table: str) -> list[str]:
    return [
        s
        for s in ddl_statements()
        if s.startswith(f"COMMENT ON TABLE {table} ") or s.startswith(f"COMMENT ON COLUMN {table}.")
    ]


def ingest(
    paths: list[Path],
    store_path: Path,
    fmt: str = "native",
    replace: bool = False,
    progress: bool = True,
    sweep_id: str | None = None,
    options: dict | None = None,
) -> IngestReport:
    """Validate ``paths`` and load them into ``store_path`` in one step; IngestError on any problem.

    ``fmt`` is "native" (Parquet/CSV per table) or an importer format; ``replace`` allows
    replacing sweeps and changed systems/models already in the store; ``sweep_id`` names the
    sweep (importer formats) or renames the one sweep of a native input; ``options`` are
    importer keyword arguments (e.g. genz/aiconfigurator ``tco={system: usd_per_chip_hour}``).
    """
    t0 = time.perf_counter()
    if fmt not in FORMATS:
        raise IngestError(
            Problem(
                None,
                None,
                None,
                f"unknown format {fmt!r}.",
                f"use --format with one of: {', '.join(FORMATS)}.",
            )
        )
    paths = [Path(p).expanduser() for p in paths]
    if not paths:
        raise IngestError(
            "no input files or directories given.",
            "name a sweep directory, e.g. `coview ingest sample_data/llama2-70b-serving --store my.duckdb`.",
        )
    store = Path(store_path).expanduser()
    if not store.parent.exists():
        raise IngestError(
            Problem(
                str(store),
                None,
                None,
                f"the directory {store.parent} does not exist.",
                f"create it first (mkdir -p {store.parent}) or choose another --store path.",
            )
        )
    with _ingest_lock(store):
        stale = remove_stale_work_copies(store)
        guard = _open_guard(store)
        work = store.with_name(f".{store.name}.ingest-{os.getpid()}.tmp")
        _remove(_work_paths(work))
        try:
            try:
                if guard is not None:
                    shutil.copy2(store, work)
                    wal = Path(f"{store}.wal")
                    if wal.exists():
                        shutil.copy2(wal, Path(f"{work}.wal"))
                con = duckdb.connect(str(work))
            except (OSError, duckdb.IOException) as exc:
                raise IngestError(
                    Problem(
                        str(store),
                        None,
                        None,
                        f"cannot write a working copy next to the store: {exc}",
                        "ingest needs write access and free space (about the store's size plus "
                        "the new data) in the store's directory.",
                    )
                ) from exc
            try:
                report = _run(con, paths, store, fmt, replace, progress, sweep_id, options)
                t_ck = time.perf_counter()
                con.execute("CHECKPOINT")
                log.debug("checkpoint: %.2f s", time.perf_counter() - t_ck)
            finally:
                con.close()
            os.replace(work, store)
            # The old WAL (if any) is already in the copy; replaying it again would corrupt it.
            Path(f"{store}.wal").unlink(missing_ok=True)
        finally:
            _remove(_work_paths(work))
            if guard is not None:
                guard.close()
    report.seconds = time.perf_counter() - t0
    report.stale_removed = stale
    return report


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # someone else's live process
    return True


def remove_stale_work_copies(store: Path) -> list[tuple[Path, int]]:
    """Delete working copies left by killed ingests of `store` (their process is gone);
    return (path, bytes) of each removed. Call under the ingest lock."""
    import re

    pattern = re.compile(re.escape(f".{store.name}.ingest-") + r"(\d+)\.tmp(\.wal|\.tmp)?")
    removed: list[tuple[Path, int]] = []
    try:
        entries = list(store.parent.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = pattern.fullmatch(p.name)
        if not m or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        try:
            size = p.lstat().st_size
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p)
            else:
                p.unlink()
        except OSError:
            continue
        removed.append((p, size))
    return removed


def _run(
    con: duckdb.DuckDBPyConnection,
    paths: list[Path],
    store: Path,
    fmt: str,
    replace: bool,
    progress: bool,
    sweep_id: str | None,
    options: dict | None = None,
) -> IngestReport:
    t_phase = time.perf_counter()
    bar = _Progress(progress)
    bar.setup(con)
    create_schema(con)
    report = IngestReport(store=store)

    # 1. Find and describe the sources.
    sources: dict[str, list[Source]] = {}
    seq = 0
    if fmt == "native":
        files, problems = find_table_files(paths)
        if problems:
            raise IngestError([Problem(f, None, None, msg, hint) for f, msg, hint in problems])
        if not files:
            raise IngestError(
                "no table files found.",
                "a native sweep is sweeps/systems/models/configs/operators .parquet or .csv files.",
            )
        for table in _ORDER:
            for f in files.get(table, []):
                seq += 1
                try:
                    sources.setdefault(table, []).append(open_file_source(con, table, f, seq))
                except NativeFileError as exc:
                    raise IngestError(Problem(str(f), None, None, exc.message, exc.hint)) from exc
                except duckdb.Error as exc:
                    raise IngestError(
                        Problem(
                            str(f),
                            None,
                            None,
                            f"cannot read the file: {str(exc).splitlines()[0]}",
                            "check that it is a valid Parquet file, or a CSV file with a header row.",
                        )
                    ) from exc
    else:
        offset = con.execute("SELECT coalesce(max(config_id), 0) FROM configs").fetchall()[0][0]
        frames = _offset_config_ids(_load_importer(fmt, paths, sweep_id, options), offset)
        for table in _ORDER:
            if frames.get(table) is not None:
                seq += 1
                sources[table] = [open_frame_source(con, table, frames[table], fmt, seq)]
        unknown = sorted(set(frames) - set(TABLES_BY_NAME))
        if unknown:
            raise IngestError(
                f"the {fmt} importer returned unknown tables {unknown}.",
                "this is a bug in the importer.",
            )

    overrides: dict[str, dict[str, str]] = {}
    if sweep_id and fmt == "native":
        overrides = {
            "sweeps": {"sweep_id": _lit(sweep_id)},
            "configs": {"sweep_id": _lit(sweep_id)},
        }

    log.debug("sources: %.2f s", time.perf_counter() - t_phase)
    t_phase = time.perf_counter()
    # 2. Column names and castability, per source.
    problems: list[Problem] = []
    for table, srcs in sources.items():
        for src in srcs:
            problems += check_source(con, src, set(overrides.get(table, {})))
    if problems:
        raise IngestError(problems)

    log.debug("source checks: %.2f s", time.perf_counter() - t_phase)
    t_phase = time.perf_counter()
    # 3. Stage: DuckDB reads each file straight into a staging table with schema v1 types.
    staged: dict[str, Staged] = {}
    for table in _ORDER:
        if table not in sources:
            continue
        t = TABLES_BY_NAME[table]
        st = staged[table] = Staged(table, f"_coview_stage_{table}")
        cols = ", ".join(f"{c.name} {c.sql_type}" for c in t.columns)
        con.execute(f"CREATE TABLE {st.stage} ({cols})")
        for src in sources[table]:
            select, folded = select_list(src, overrides.get(table, {}))
            if folded:
                report.extra_columns.setdefault(table, []).extend(folded)
            start = st.rows
            try:
                bar.run(
                    con,
                    f"INSERT INTO {st.stage} SELECT {select} FROM {src.relation}",
                    f"loading {Path(src.label).name}",
                )
            except duckdb.Error as exc:
                raise IngestError(
                    Problem(
                        src.label,
                        None,
                        None,
                        f"cannot load the file: {str(exc).splitlines()[0]}",
                        "check the values of the column named above.",
                    )
                ) from exc
            n = con.execute(f"SELECT count(*) FROM {st.stage}").fetchall()[0][0] - start
            st.segments.append(Segment(src, start, n))

    # Sweep bookkeeping: --sweep names (or creates) the sweep; ingested_at and source_path.
    sweeps = staged.get("sweeps")
    if sweep_id and fmt == "native":
        if sweeps and sweeps.rows > 1:
            raise IngestError(
                Problem(
                    sweeps.segments[0].source.label,
                    None,
                    "sweep_id",
                    f"--sweep names one sweep but the file holds {sweeps.rows}.",
                    "leave out --sweep, or split the input into one sweep per directory.",
                )
            )
        if sweeps is None or sweeps.rows == 0:
            cols = ", ".join(f"{c.name} {c.sql_type}" for c in TABLES_BY_NAME["sweeps"].columns)
            con.execute("CREATE TABLE IF NOT EXISTS _coview_stage_sweeps (" + cols + ")")
            con.execute(
                "INSERT INTO _coview_stage_sweeps (sweep_id, name) VALUES (?, ?)",
                [sweep_id, sweep_id],
            )
            label = Source("sweeps", "--sweep", "", "")
            sweeps = staged["sweeps"] = Staged(
                "sweeps", "_coview_stage_sweeps", [Segment(label, 0, 1)]
            )
    if sweeps is not None:
        now = datetime.now(UTC).replace(tzinfo=None)
        source_path = ", ".join(str(p.resolve()) for p in paths)
        con.execute(
            f"UPDATE {sweeps.stage} SET ingested_at = coalesce(ingested_at, ?), "
            "source_path = coalesce(source_path, ?)",
            [now, source_path],
        )

    log.debug("staging: %.2f s", time.perf_counter() - t_phase)
    t_phase = time.perf_counter()
    # 4. Validate everything before anything is applied.
    with bar.during("validating"):
        problems, replaced = validate_staged(con, staged, replace)
    if problems:
        raise IngestError(problems)

    log.debug("validation: %.2f s", time.perf_counter() - t_phase)
    t_phase = time.perf_counter()
    # 5. Apply in one transaction.
    report.replaced = replaced
    report.sweeps = (
        [
            r[0]
            for r in con.execute(f"SELECT sweep_id FROM {sweeps.stage} ORDER BY rowid").fetchall()
        ]
        if sweeps
        else []
    )
    with bar.during("writing the store and Pareto flags"):
        _apply(con, staged, replaced, report, bar)
    log.debug("apply + Pareto: %.2f s", time.perf_counter() - t_phase)
    return report


def _apply(
    con: duckdb.DuckDBPyConnection,
    staged: dict[str, Staged],
    replaced: list[str],
    report: IngestReport,
    bar: _Progress,
) -> None:
    """The one transaction that moves validated staged rows into the store's tables."""
    con.execute("BEGIN TRANSACTION")
    try:
        if replaced:
            con.execute(
                "DELETE FROM operators WHERE config_id IN "
                "(SELECT config_id FROM configs WHERE list_contains(?, sweep_id))",
                [replaced],
            )
            con.execute("DELETE FROM configs WHERE list_contains(?, sweep_id)", [replaced])
        for table in ("sweeps", "systems", "models"):
            st = staged.get(table)
            if st is None:
                continue
            key = TABLES_BY_NAME[table].key[0]
            total, new = con.execute(
                f"SELECT count(DISTINCT {key}), count(DISTINCT {key}) FILTER "
                f"(WHERE {key} NOT IN (SELECT {key} FROM {table})) FROM {st.stage}"
            ).fetchall()[0]
            con.execute(f"INSERT OR REPLACE INTO {table} SELECT DISTINCT * FROM {st.stage}")
            con.execute(f"DROP TABLE {st.stage}")
            if table == "systems":
                report.systems, report.systems_new = total, new
            elif table == "models":
                report.models, report.models_new = total, new
        affected: list[str] = []
        for table in _BIG:
            st = staged.get(table)
            if st is None:
                continue
            if table == "configs":
                affected = [
                    r[0]
                    for r in con.execute(f"SELECT DISTINCT sweep_id FROM {st.stage}").fetchall()
                ]
                report.configs = st.rows
            else:
                report.operators = st.rows
            if con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] == 0:
                # First data in this table: the staged table becomes it (no second copy).
                con.execute(f"DROP TABLE {table}")
                con.execute(f"ALTER TABLE {st.stage} RENAME TO {table}")
                for stmt in _comments(table):
                    con.execute(stmt)
            else:
                bar.run(con, f"INSERT INTO {table} SELECT * FROM {st.stage}", f"adding {table}")
                con.execute(f"DROP TABLE {st.stage}")
        report.pareto_points = update_pareto(con, affected) if affected else 0
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
