"""The read-only runner: executes guarded SQL in a sandboxed DuckDB connection.

The second lock after ``coview.engine.guard``; it holds even if the guard were bypassed.
Queries run in a private in-memory DuckDB instance that ATTACHes the store READ_ONLY and
then switches off external access (no file, network or extension access: read_csv,
COPY ... TO, ATTACH, INSTALL/LOAD all fail) and locks the configuration (SET/RESET fail).
Extension autoload/autoinstall are off, spilling to disk is off (no temp files), Python
replacement scans are off, and memory and threads are capped. By default each query runs in
a worker process under an address-space rlimit that is killed at the deadline or on cancel
(DuckDB's ``interrupt()`` does not stop every function, and its memory limit does not cover
large strings, lists or the fetched result); trusted SQL may run in-process, stopped with
``interrupt()``. Results are capped as ``SELECT * FROM (<sql>) LIMIT cap+1`` so truncation is
known, and in bytes while they are fetched.

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
import sys
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


# Result size: every value's approximate size in bytes, summed while fetching, is capped.
RESULT_BYTES_CAP = 16 * 1024 * 1024
FETCH_CHUNK = 256
# After a kill the worker is gone; these bound how long a stop may take.
KILL_GRACE_S = 0.5


def _value_bytes(value: object) -> int:
    if isinstance(value, str | bytes | bytearray):
        return len(value) + 16
    if isinstance(value, list | tuple):
        return 16 + sum(_value_bytes(v) for v in value)
    if isinstance(value, dict):
        return 16 + sum(_value_bytes(k) + _value_bytes(v) for k, v in value.items())
    return 16


def _fetch_capped(
    cur: duckdb.DuckDBPyConnection, text: str, row_cap: int, byte_cap: int
) -> tuple[list[str], list[tuple], bool]:
    """Columns, at most row_cap rows (LIMIT cap+1 tells truncation) and the truncated flag;
    QueryError if the rows fetched so far exceed byte_cap bytes."""
    # Column names come from the query itself: the wrapper renames duplicates (x, x_1).
    columns = list(cur.sql(text).columns)
    cur.execute(f"SELECT * FROM ({text}) AS coview_result LIMIT {row_cap + 1}")
    rows: list[tuple] = []
    size = 0
    while True:
        chunk = cur.fetchmany(FETCH_CHUNK)
        if not chunk:
            break
        for row in chunk:
            size += _value_bytes(row)
            if size > byte_cap:
                raise QueryError(
                    f"the result is larger than {byte_cap / 2**20:g} MB and was stopped; "
                    "select fewer or shorter columns, or aggregate"
                )
            rows.append(tuple(row))
    truncated = len(rows) > row_cap
    return columns, rows[:row_cap], truncated


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


def _memory_message(memory_limit: str) -> str:
    return (
        f"the query needed more than the {memory_limit} memory limit and was "
        "stopped; aggregate (GROUP BY), filter with WHERE or avoid large joins"
    )


def _parse_bytes(text: str) -> int:
    """'2GB' -> 2e9 bytes (DuckDB's memory_limit syntax; GiB/MiB are powers of two)."""
    import re

    m = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?i?b?)\s*", str(text), re.IGNORECASE)
    if not m:
        return 2 * 10**9
    unit = m.group(2).lower().rstrip("b")
    power = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4}
    base = 1024 if unit.endswith("i") else 1000
    return int(float(m.group(1)) * base ** power.get(unit.rstrip("i"), 0))


def _worker_main(conn, store_path: str, memory_limit: str, threads: int, address_space: int):
    """The query worker process: a sandbox connection under an address-space rlimit.

    It answers (sql, row_cap, byte_cap, timeout_s) requests on `conn` with ("ok", columns,
    rows, truncated, elapsed) or ("error", message). The parent kills it on a deadline or a
    cancel, so a function that ignores DuckDB's interrupt (or a string or list DuckDB's
    memory limit does not count) cannot outlive the question.
    """
    try:  # Linux: die with the parent (a TUI killed with -9 leaves no worker running)
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    except (ImportError, ValueError, OSError):  # pragma: no cover - not POSIX
        pass
    try:
        con = open_sandbox(Path(store_path), memory_limit, threads)
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        conn.send(("error", f"Cannot open store {store_path}: {_first_line(exc)}"))
        return
    conn.send(("ready",))
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        sql, row_cap, byte_cap, timeout_s = request
        cur = con.cursor()
        timer = threading.Timer(timeout_s, cur.interrupt)
        timer.daemon = True
        start = time.perf_counter()
        try:
            cur.execute(f"USE {STORE_ALIAS}")
            _check_single_select(cur, sql)
            timer.start()
            columns, rows, truncated = _fetch_capped(cur, sql, row_cap, byte_cap)
            reply = ("ok", columns, rows, truncated, time.perf_counter() - start)
        except QueryError as exc:
            reply = ("error", str(exc))
        except duckdb.InterruptException:
            reply = ("timeout",)
        except (duckdb.OutOfMemoryException, MemoryError):
            reply = ("memory",)
        except duckdb.Error as exc:
            text = str(exc)
            if "memory" in text.lower() and ("allocat" in text.lower() or "limit" in text.lower()):
                reply = ("memory",)
            else:
                reply = ("error", f"DuckDB rejected the query: {_first_line(exc)}")
        finally:
            timer.cancel()
            cur.close()
        try:
            conn.send(reply)
        except (MemoryError, OverflowError):
            conn.send(("memory",))
        except (OSError, EOFError):
            return


def _worker_entry() -> None:
    """`python -c` entry of the worker process: argv is fd, store, memory, threads, rlimit."""
    from multiprocessing.connection import Connection

    fd, store, memory_limit, threads, address_space = sys.argv[1:6]
    _worker_main(Connection(int(fd)), store, memory_limit, int(threads), int(address_space))


class _Worker:
    """One query worker process (a fresh interpreter, never a fork of a threaded parent such
    as the TUI) and the socket to it."""

    def __init__(self, store: Path, memory_limit: str, threads: int) -> None:
        import socket
        import subprocess
        from multiprocessing.connection import Connection

        parent_sock, child_sock = socket.socketpair()
        # Room for DuckDB's buffer pool plus the interpreter, thread stacks and results.
        address_space = _parse_bytes(memory_limit) + int(1.5 * 2**30)
        child_fd = child_sock.fileno()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from coview.engine.runner import _worker_entry; _worker_entry()",
                str(child_fd),
                str(store),
                memory_limit,
                str(threads),
                str(address_space),
            ],
            pass_fds=(child_fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        child_sock.close()
        self.conn = Connection(parent_sock.detach())

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, deadline: float) -> None:
        try:
            while not self.conn.poll(0.02):
                if not self.alive():
                    raise QueryError("the query worker could not start")
                if time.monotonic() > deadline:
                    raise QueryError("the query worker did not start in time")
            reply = self.conn.recv()
        except (EOFError, OSError) as exc:
            raise QueryError("the query worker could not start") from exc
        if reply[0] != "ready":
            raise QueryError(reply[1])

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.wait(KILL_GRACE_S)
        except (OSError, ValueError, Exception):  # noqa: BLE001 - already gone or stuck
            pass
        self.conn.close()

    def close(self) -> None:
        try:
            self.conn.send(None)
            self.process.wait(KILL_GRACE_S)
        except Exception:  # noqa: BLE001 - pipe gone or the worker is busy: kill it
            pass
        if self.alive():
            self.kill()
        else:
            self.conn.close()


class ReadOnlyRunner:
    """Runs guarded SELECTs against the store in the sandbox, within time, memory and size.

    ``isolation="process"`` (the default, for SQL a model wrote) runs each query in a worker
    process under an address-space rlimit, killed at the deadline or on ``cancel()``: that
    holds for functions that ignore DuckDB's interrupt and for huge strings and lists that
    DuckDB's memory limit does not count. ``isolation="inline"`` runs in this process (about
    50x less overhead per query) and is for SQL coview itself wrote (the offline selector);
    it is stopped by ``interrupt()``. Both cap rows (LIMIT cap+1) and result bytes. Call
    ``close()`` (or use ``with``) to release the store file.
    """

    def __init__(
        self,
        store_path: Path,
        timeout_s: float = 10.0,
        memory_limit: str = "2GB",
        row_cap: int = 500,
        threads: int | None = None,
        isolation: str = "process",
        result_bytes_cap: int = RESULT_BYTES_CAP,
        sandbox: duckdb.DuckDBPyConnection | None = None,
    ) -> None:
        """`sandbox`: an ``open_sandbox`` connection to this store for inline queries, which
        the runner then owns (saves creating a DuckDB instance, ~25 ms); None opens one."""
        if isolation not in ("process", "inline"):
            raise ValueError(f"isolation must be 'process' or 'inline', not {isolation!r}")
        self.store_path = Path(store_path)
        self.timeout_s = float(timeout_s)
        self.memory_limit = memory_limit
        self.row_cap = int(row_cap)
        self.threads = threads
        self.isolation = isolation
        self.result_bytes_cap = int(result_bytes_cap)
        self._con: duckdb.DuckDBPyConnection | None = sandbox
        self._lock = threading.Lock()
        self._worker: _Worker | None = None
        self._worker_lock = threading.Lock()  # one query at a time per worker
        self._cancelled = threading.Event()  # set by cancel(), cleared when a query starts
        self._running: list[duckdb.DuckDBPyConnection] = []

    def _sandbox(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                try:
                    self._con = open_sandbox(self.store_path, self.memory_limit, self.threads)
                except duckdb.Error as exc:
                    raise QueryError(f"Cannot open store {self.store_path}: {exc}") from exc
            return self._con

    def close(self) -> None:
        """Release the sandbox connection, stop the worker (and release the store file)."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.close()

    def cancel(self) -> None:
        """Stop the query running now (from any thread): within a second, whatever it runs."""
        self._cancelled.set()
        with self._lock:
            running = list(self._running)
            worker = self._worker
        for cur in running:
            try:
                cur.interrupt()
            except duckdb.Error:  # pragma: no cover - finished meanwhile
                pass
        if worker is not None and self._worker_lock.locked():
            try:
                worker.process.kill()  # the waiting run() sees the pipe close and reports it
            except (OSError, ValueError):  # pragma: no cover - already gone
                pass

    def __enter__(self) -> ReadOnlyRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self, sql: str, cancel: threading.Event | None = None, timeout_s: float | None = None
    ) -> Evidence:
        """Run one SELECT (as returned by the guard); return at most row_cap rows.

        `timeout_s` (default: the runner's) lets a caller give less time, e.g. what is left
        of a question's deadline. Raises QueryError for a DuckDB error, a timeout, a cancel,
        the memory limit or a result over the byte cap. Evidence.sql is `sql` itself.
        """
        text = sql.strip().rstrip(";").strip()
        if not text:
            raise QueryError("the SQL is empty; write one SELECT statement")
        if cancel is not None and cancel.is_set():
            raise QueryError("the query was cancelled before it started")
        limit = self.timeout_s if timeout_s is None else max(0.01, min(self.timeout_s, timeout_s))
        self._cancelled.clear()
        if self.isolation == "process":
            return self._run_in_worker(sql, text, cancel, limit)
        cur = self._sandbox().cursor()
        try:
            cur.execute(f"USE {STORE_ALIAS}")
            _check_single_select(cur, text)
            return self._run_limited(cur, sql, text, cancel, limit)
        finally:
            cur.close()

    # -- in a worker process -------------------------------------------------------------

    def _run_in_worker(
        self, sql: str, text: str, cancel: threading.Event | None, limit: float
    ) -> Evidence:
        with self._worker_lock:
            start = time.monotonic()
            with self._lock:
                worker = self._worker
                if worker is None or not worker.alive():
                    worker = self._worker = _Worker(
                        self.store_path, self.memory_limit, self.threads or 2
                    )
                    fresh = True
                else:
                    fresh = False
            if fresh:
                try:
                    worker.wait_ready(start + 30.0)
                except QueryError:
                    self._drop(worker)
                    raise
            deadline = time.monotonic() + limit
            try:
                worker.conn.send((text, self.row_cap, self.result_bytes_cap, limit))
            except (OSError, ValueError) as exc:
                self._drop(worker)
                raise QueryError("the query worker stopped; ask again") from exc
            reply = None
            while reply is None:
                try:
                    ready = worker.conn.poll(CANCEL_POLL_S)
                except (OSError, ValueError, EOFError):
                    ready = False
                    if self._cancelled.is_set():
                        self._drop(worker)
                        raise QueryError("the query was cancelled") from None
                if ready:
                    try:
                        reply = worker.conn.recv()
                    except (EOFError, OSError):
                        self._drop(worker)
                        if self._cancelled.is_set():
                            raise QueryError("the query was cancelled") from None
                        # The rlimit killed it, or DuckDB aborted on an allocation.
                        raise QueryError(_memory_message(self.memory_limit)) from None
                    break
                if (cancel is not None and cancel.is_set()) or self._cancelled.is_set():
                    self._drop(worker)
                    raise QueryError("the query was cancelled")
                if not worker.alive():
                    self._drop(worker)
                    raise QueryError(_memory_message(self.memory_limit))
                if time.monotonic() > deadline + KILL_GRACE_S:
                    # DuckDB's interrupt did not stop it (the worker's own timer fired at
                    # the deadline): the process goes instead.
                    self._drop(worker)
                    raise QueryError(self._stop_message({"timeout": True, "cancel": False}))
        kind = reply[0]
        if kind == "ok":
            _, columns, rows, truncated, elapsed = reply
            return Evidence(
                sql=sql, columns=columns, rows=rows, truncated=truncated, elapsed_s=elapsed
            )
        if kind == "timeout":
            if self._cancelled.is_set() or (cancel is not None and cancel.is_set()):
                raise QueryError("the query was cancelled")
            raise QueryError(self._stop_message({"timeout": True, "cancel": False}, limit))
        if kind == "memory":
            raise QueryError(_memory_message(self.memory_limit))
        raise QueryError(reply[1])

    def _drop(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            if self._worker is worker:
                self._worker = None

    # -- in this process -----------------------------------------------------------------

    def _run_limited(
        self,
        cur: duckdb.DuckDBPyConnection,
        sql: str,
        text: str,
        cancel: threading.Event | None,
        limit: float,
    ) -> Evidence:
        stopped: dict[str, bool] = {"timeout": False, "cancel": False}
        done = threading.Event()

        def on_timeout() -> None:
            if not done.is_set():
                stopped["timeout"] = True
                cur.interrupt()

        def watch_cancel() -> None:
            # Wakes at once when the query ends (done), else every CANCEL_POLL_S to look at
            # the caller's Event and cancel(); joined below, so no thread outlives the query.
            while not done.wait(CANCEL_POLL_S):
                if self._cancelled.is_set() or (cancel is not None and cancel.is_set()):
                    stopped["cancel"] = True
                    cur.interrupt()
                    return

        timer = threading.Timer(limit, on_timeout)
        timer.daemon = True
        watcher = threading.Thread(target=watch_cancel, name="coview-cancel", daemon=True)
        watcher.start()
        with self._lock:
            self._running.append(cur)
        start = time.perf_counter()
        timer.start()
        try:
            columns, rows, truncated = _fetch_capped(cur, text, self.row_cap, self.result_bytes_cap)
        except duckdb.InterruptException as exc:
            raise QueryError(self._stop_message(stopped, limit)) from exc
        except duckdb.OutOfMemoryException as exc:
            raise QueryError(_memory_message(self.memory_limit)) from exc
        except duckdb.Error as exc:
            if stopped["timeout"] or stopped["cancel"]:
                raise QueryError(self._stop_message(stopped, limit)) from exc
            raise QueryError(f"DuckDB rejected the query: {_first_line(exc)}") from exc
        finally:
            done.set()
            timer.cancel()
            watcher.join()
            if timer.is_alive():
                timer.join()
            with self._lock:
                if cur in self._running:
                    self._running.remove(cur)
        elapsed = time.perf_counter() - start
        return Evidence(sql=sql, columns=columns, rows=rows, truncated=truncated, elapsed_s=elapsed)

    def _stop_message(self, stopped: dict[str, bool], limit: float | None = None) -> str:
        if stopped["cancel"]:
            return "the query was cancelled"
        return (
            f"the query ran longer than {self.timeout_s if limit is None else limit:g} s and "
            "was stopped; narrow it with WHERE or aggregate"
        )


def _first_line(exc: BaseException) -> str:
    """DuckDB's message without the caret diagram, trimmed for a model or a person to read."""
    text = str(exc).strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith("LINE ") and set(ln.strip()) != {"^"}]
    return " ".join(keep)[:500]
