"""Where the store lives and how it is opened.

`--store FILE` wins, then `COVIEW_STORE`; with neither, coview uses a store built from the
bundled sample data into the user's cache directory, rebuilt when the sample data changes.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from coview.store.schema import SCHEMA_VERSION, create_schema

ENV_STORE = "COVIEW_STORE"
# DuckDB 2.0 rewrites several DISTINCT aggregates in one SELECT into a CTE joined by cross
# products, and its join-order search over them grows exponentially: the lexicon's one scan
# of configs (nine list(DISTINCT ...)) takes 55 ms on 1,530 configs instead of 5 ms, and
# 62 ms instead of 12 ms on 100k. coview's own connections switch that rewrite off.
DISABLED_OPTIMIZERS = ("distinct_aggregate_rewrite",)


class StoreError(Exception):
    """The store cannot be opened or is not a coview store; the message says what to do."""


def cache_dir() -> Path:
    """coview's cache directory (COVIEW_CACHE_DIR overrides, for tests and shared machines)."""
    if env := os.environ.get("COVIEW_CACHE_DIR"):
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("coview"))


def _sample_fingerprint() -> str:
    from coview.sample_data import DEFAULT_SWEEP

    h = hashlib.sha256(f"schema-v{SCHEMA_VERSION}".encode())
    for path in sorted(DEFAULT_SWEEP.glob("*")):
        if path.is_file():
            h.update(path.name.encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def build_cached_store(target: Path, sources: list[Path], **ingest_kwargs: Any) -> bool:
    """Ingest `sources` into the cache file `target` unless it exists; True if it was built.

    The store is built in a per-process temp file and renamed into place (atomic), so a crash
    or a concurrent build never leaves a half store at `target`; a failed build removes its
    temp file and re-raises the ingest error.
    """
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    from coview.store.ingest import ingest

    try:
        ingest(sources, tmp, progress=False, **ingest_kwargs)
    except Exception:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return True


def sample_store_path() -> Path:
    """The cached sample store, built from sample_data/ on first use or when it changed."""
    from coview.sample_data import DEFAULT_SWEEP

    target = cache_dir() / f"sample-{_sample_fingerprint()}.duckdb"
    if not build_cached_store(target, [DEFAULT_SWEEP], fmt="native"):
        return target
    for old in target.parent.glob("sample-*.duckdb"):
        if old != target:
            old.unlink(missing_ok=True)
    return target


def resolve_store(store: str | os.PathLike | None = None) -> Path:
    """The store file to use: the argument, else COVIEW_STORE, else the sample store."""
    if store:
        return Path(store).expanduser()
    if env := os.environ.get(ENV_STORE):
        return Path(env).expanduser()
    return sample_store_path()


def require_store(path: str | os.PathLike) -> Path:
    """`path` as a Path if it exists; else a StoreError that says how to create a store there."""
    path = Path(path)
    if not path.exists():
        raise StoreError(
            f"No store at {path}. Create one with `coview ingest DATA --store {path}`, "
            "or leave out --store to use the bundled sample data."
        )
    return path


_DISABLE_SQL: list[str] = []  # the SET statement for this DuckDB, worked out once


def _disable_slow_optimizers(con: duckdb.DuckDBPyConnection) -> None:
    """Switch off DISABLED_OPTIMIZERS (a database-wide setting) where this DuckDB has them."""
    if not _DISABLE_SQL:
        known = {r[0] for r in con.execute("SELECT name FROM duckdb_optimizers()").fetchall()}
        names = ",".join(n for n in DISABLED_OPTIMIZERS if n in known)
        _DISABLE_SQL.append(f"SET disabled_optimizers = '{names}'" if names else "")
    if _DISABLE_SQL[0]:
        con.execute(_DISABLE_SQL[0])


# Connections kept open by keep_open(): DuckDB shares one database instance between all
# connections to a file in a process while one is open; creating an instance costs ~25 ms.
_HELD: dict[str, duckdb.DuckDBPyConnection] = {}
_HOLDING = 0
_HOLD_LOCK = threading.Lock()


@contextmanager
def keep_open() -> Iterator[None]:
    """Within the block, every store that check_store() or a read-only connect() opened stays
    open until the block ends, so later opens of it reuse DuckDB's database instance.

    For a one-shot command (`coview ask` opens its store three times); a store held open for
    reading cannot be opened for writing in this process until the block ends.
    """
    global _HOLDING
    with _HOLD_LOCK:
        _HOLDING += 1
    try:
        yield
    finally:
        with _HOLD_LOCK:
            _HOLDING -= 1
            held = list(_HELD.values()) if _HOLDING == 0 else []
            if _HOLDING == 0:
                _HELD.clear()
        for con in held:
            con.close()


def _hold(path: Path) -> None:
    """Inside keep_open(), keep a read-only connection to `path` (already open here) open."""
    key = str(Path(path).resolve())
    with _HOLD_LOCK:
        if _HOLDING and key not in _HELD:
            _HELD[key] = duckdb.connect(str(path), read_only=True)


def connect(path: Path, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """Open the store for coview's own (trusted) queries. LLM-written SQL uses engine.runner."""
    path = require_store(path) if read_only else Path(path)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"Cannot open store {path}: {exc}") from exc
    try:
        _disable_slow_optimizers(con)
        if read_only:
            _hold(path)
        else:
            create_schema(con)
    except BaseException:
        con.close()
        raise
    return con


def check_store(
    path: str | os.PathLike, allow_blank: bool = False, need_data: bool = False
) -> Path:
    """`path` if it is a coview store; else a StoreError whose one line says what it is instead.

    Catches what would otherwise surface as a traceback deep in a command: a missing file, a
    directory, a file that is not DuckDB, a DuckDB file holding other tables or none. With
    `allow_blank`, a DuckDB file with no tables at all passes (ingest may fill it); with
    `need_data`, a coview store without a single config does not (nothing to browse or ask).
    """
    from coview.store.schema import TABLES

    path = require_store(path)
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a store file; name a .duckdb file.")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        text = str(exc)
        if "not a valid DuckDB database file" in text:
            raise StoreError(
                f"{path} is not a DuckDB database file; name a coview store "
                "(made by `coview ingest DATA --store FILE`)."
            ) from exc
        if "lock" in text.lower():
            raise StoreError(
                f"{path} is open for writing by another process; close it and retry."
            ) from exc
        raise StoreError(f"cannot open store {path}: {text.splitlines()[0]}") from exc
    try:
        names = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
            ).fetchall()
        }
        n_configs = (
            con.execute("SELECT count(*) FROM configs").fetchone()[0]
            if need_data and "configs" in names
            else None
        )
        _hold(path)
    finally:
        con.close()
    if not names and allow_blank:
        return path
    missing = [t.name for t in TABLES if t.name not in names]
    if len(missing) == len(TABLES):
        if not names:
            raise StoreError(
                f"{path} is an empty DuckDB file, not a coview store; "
                f"load data into it with `coview ingest DATA --store {path}`."
            )
        raise StoreError(
            f"{path} is a DuckDB file without coview's tables, not a coview store; "
            "name a coview store, or a new file for `coview ingest`."
        )
    if missing:
        raise StoreError(
            f"{path} is not a complete coview store (no {', '.join(missing)} table); "
            "re-create it with `coview ingest DATA --store NEW_FILE`."
        )
    if n_configs == 0:
        raise StoreError(
            f"{path} is a coview store with no configs yet; "
            f"load a sweep with `coview ingest DATA --store {path}`."
        )
    return path
