"""The read-only runner: executes guarded SQL in a sandboxed DuckDB connection.

The second lock after ``coview.engine.guard``; it holds even if the guard were bypassed.
Queries run in a private in-memory DuckDB instance that ATTACHes the store READ_ONLY and
then switches off external access (no file, network or extension access: read_csv,
COPY ... TO, ATTACH, INSTALL/LOAD all fail) and locks the configuration (SET/RESET fail).
Extension autoload/autoinstall are off, spilling to disk is off (no temp files), Python
replacement scans are off, and memory and threads are capped. A query is stopped with
``interrupt()`` by a timer at ``timeout_s`` and, promptly, when the caller's cancel Event
is set. Results are capped as ``SELECT * FROM (<sql>) LIMIT cap+1`` so truncation is known.

Why not ``duckdb.connect(store, read_only=True, config={...})``: DuckDB keeps one database
instance per file per process and refuses a second connection to the same file with a
different configuration ("Can't open a connection to same database file with a different
configuration than existing connections"). The TUI, the offline selector and ingest open
the store with default settings in the same process, so either they or the runner would
fail. A private in-memory instance that ATTACHes the file READ_ONLY has its own
configuration and coexists with other read-only connections in either order.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import duckdb

from coview.engine.types import Evidence

STORE_ALIAS = "coview_store"
# How often the cancel watcher looks at the caller's Event.
CANCEL_POLL_S = 0.02


class QueryError(Exception):
    """The query failed or was stopped; the message says what happened and what to do."""


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def open_sandbox(
    store_path: Path, memory_limit: str = "2GB", threads: int | None = None
) -> duckdb.DuckDBPyConnection:
    """A connection to the store that can only read it: the runner's sandbox.

    Settings that must exist before the database starts go into ``config`` at connect time;
    external access is switched off only after the store is attached (attaching a file is
    itself external access), and then the configuration is locked.
    """
    path = Path(store_path).resolve()
    if not path.is_file():
        raise QueryError(f"No store at {path}.")
    threads = threads or max(1, min(4, os.cpu_count() or 1))
    con = duckdb.connect(
        ":memory:",
        config={
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            "allow_community_extensions": False,
            "allow_unsigned_extensions": False,
            "python_enable_replacements": False,
            "memory_limit": memory_limit,
            "threads": threads,
            "temp_directory": "",  # no spilling: no files appear next to the store or in cwd
        },
    )
    try:
        con.execute(f"ATTACH {_sql_str(str(path))} AS {STORE_ALIAS} (READ_ONLY)")
        con.execute(f"USE {STORE_ALIAS}")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


class ReadOnlyRunner:
    """Runs one guarded SELECT at a time per call; safe to call from several threads.

    The sandbox instance is opened on first use and kept (opening one costs ~50 ms); each
    query gets its own cursor so timeouts and cancels interrupt only that query. Call
    ``close()`` (or use ``with``) to release the store file, e.g. before writing to it from
    the same process.
    """

    def __init__(
        self,
        store_path: Path,
        timeout_s: float = 10.0,
        memory_limit: str = "2GB",
        row_cap: int = 500,
        threads: int | None = None,
    ) -> None:
        self.store_path = Path(store_path)
        self.timeout_s = float(timeout_s)
        self.memory_limit = memory_limit
        self.row_cap = int(row_cap)
        self.threads = threads
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def _sandbox(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                try:
                    self._con = open_sandbox(self.store_path, self.memory_limit, self.threads)
                except duckdb.Error as exc:
                    raise QueryError(f"Cannot open store {self.store_path}: {exc}") from exc
            return self._con

    def close(self) -> None:
        """Release the sandbox connection (and the store file)."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    def __enter__(self) -> ReadOnlyRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, sql: str, cancel: threading.Event | None = None) -> Evidence:
        """Run one SELECT (as returned by the guard); return at most row_cap rows.

        Raises QueryError for a DuckDB error, a timeout, a cancel or the memory limit.
        Evidence.sql is `sql` itself, not the LIMIT wrapper.
        """
        text = sql.strip().rstrip(";").strip()
        if not text:
            raise QueryError("the SQL is empty; write one SELECT statement")
        cur = self._sandbox().cursor()
        try:
            cur.execute(f"USE {STORE_ALIAS}")
            self._check_single_select(cur, text)
            return self._run_limited(cur, sql, text, cancel)
        finally:
            cur.close()

    @staticmethod
    def _check_single_select(cur: duckdb.DuckDBPyConnection, text: str) -> None:
        """DuckDB's own parser must see exactly one SELECT (defence in depth behind the guard)."""
        try:
            statements = cur.extract_statements(text)
        except duckdb.Error as exc:
            raise QueryError(f"DuckDB cannot parse the query: {_first_line(exc)}") from exc
        if len(statements) != 1:
            raise QueryError(f"exactly one statement is allowed; DuckDB found {len(statements)}")
        kind = statements[0].type
        if kind == duckdb.StatementType.MULTI:
            raise QueryError(
                "DuckDB would run this as several statements (e.g. PIVOT without an IN list); "
                "write a plain SELECT, or list the PIVOT values with IN (...)"
            )
        if kind != duckdb.StatementType.SELECT:
            name = getattr(kind, "name", str(kind))
            raise QueryError(f"only SELECT statements are allowed; found {name}")

    def _run_limited(
        self,
        cur: duckdb.DuckDBPyConnection,
        sql: str,
        text: str,
        cancel: threading.Event | None,
    ) -> Evidence:
        stopped: dict[str, bool] = {"timeout": False, "cancel": False}
        done = threading.Event()

        def on_timeout() -> None:
            if not done.is_set():
                stopped["timeout"] = True
                cur.interrupt()

        def watch_cancel() -> None:
            while not done.is_set():
                if cancel is not None and cancel.wait(CANCEL_POLL_S):
                    if not done.is_set():
                        stopped["cancel"] = True
                        cur.interrupt()
                    return

        if cancel is not None and cancel.is_set():
            raise QueryError("the query was cancelled before it started")
        timer = threading.Timer(self.timeout_s, on_timeout)
        timer.daemon = True
        watcher = None
        if cancel is not None:
            watcher = threading.Thread(target=watch_cancel, name="coview-cancel", daemon=True)
            watcher.start()
        start = time.perf_counter()
        timer.start()
        try:
            # Column names come from the query itself: the wrapper renames duplicates (x, x_1).
            columns = list(cur.sql(text).columns)
            cur.execute(f"SELECT * FROM ({text}) AS coview_result LIMIT {self.row_cap + 1}")
            rows = cur.fetchall()
        except duckdb.InterruptException as exc:
            raise QueryError(self._stop_message(stopped)) from exc
        except duckdb.OutOfMemoryException as exc:
            raise QueryError(
                f"the query needed more than the {self.memory_limit} memory limit and was "
                "stopped; aggregate (GROUP BY), filter with WHERE or avoid large joins"
            ) from exc
        except duckdb.Error as exc:
            if stopped["timeout"] or stopped["cancel"]:
                raise QueryError(self._stop_message(stopped)) from exc
            raise QueryError(f"DuckDB rejected the query: {_first_line(exc)}") from exc
        finally:
            done.set()
            timer.cancel()
        elapsed = time.perf_counter() - start
        truncated = len(rows) > self.row_cap
        return Evidence(
            sql=sql,
            columns=columns,
            rows=[tuple(r) for r in rows[: self.row_cap]],
            truncated=truncated,
            elapsed_s=elapsed,
        )

    def _stop_message(self, stopped: dict[str, bool]) -> str:
        if stopped["cancel"]:
            return "the query was cancelled"
        return (
            f"the query ran longer than {self.timeout_s:g} s and was stopped; "
            "narrow it with WHERE or aggregate"
        )


def _first_line(exc: BaseException) -> str:
    """DuckDB's message without the caret diagram, trimmed for a model or a person to read."""
    text = str(exc).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith("LINE ") and set(ln.strip()) != {"^"}]
    return " ".join(keep)[:500]
