"""The hostile-SQL corpus fed as if a model wrote it: guard, then the read-only runner.

Every statement must be rejected by the guard or stopped by the runner within its limits,
the store file must be byte-for-byte unchanged, and no file may appear (COPY/EXPORT
targets, attached databases). A second pass feeds every statement straight to the sandbox
connection with the guard off: the store and the file system must hold there too.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import duckdb
import pytest
from hostile_sql import CORPUS, Hostile, make_store

from coview.engine.guard import Catalog, GuardError
from coview.engine.runner import QueryError, ReadOnlyRunner, open_sandbox

TIMEOUT_S = 0.5
MEMORY = "256MB"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """The store, its checksum, a watched scratch dir, the catalog and a runner."""
    base = tmp_path_factory.mktemp("hostile")
    store = make_store(base / "store.duckdb", n_operators=20_000)
    scratch = base / "scratch"
    scratch.mkdir()
    runner = ReadOnlyRunner(store, timeout_s=TIMEOUT_S, memory_limit=MEMORY, threads=2)
    yield {
        "store": store,
        "sha": hashlib.sha256(store.read_bytes()).hexdigest(),
        "base": base,
        "scratch": scratch,
        "catalog": Catalog.from_store(store),
        "runner": runner,
    }
    runner.close()


def _listing(*dirs: Path) -> set[Path]:
    return {p for d in dirs for p in d.rglob("*")}


def _assert_untouched(world: dict, before: set[Path]) -> None:
    assert hashlib.sha256(world["store"].read_bytes()).hexdigest() == world["sha"]
    assert _listing(world["base"]) == before, "a file appeared or vanished"


def test_corpus_is_big_and_varied() -> None:
    assert len(CORPUS) >= 40
    assert len({h.name for h in CORPUS}) == len(CORPUS)
    assert {h.stopped_by for h in CORPUS} == {"guard", "runner"}


@pytest.mark.parametrize("case", CORPUS, ids=[h.name for h in CORPUS])
def test_guard_and_runner_stop_it(
    case: Hostile, world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(world["scratch"])  # relative COPY targets would land here
    before = _listing(world["base"])
    sql = case.sql.replace("{tmp}", str(world["scratch"]))
    if case.stopped_by == "guard":
        with pytest.raises(GuardError) as info:
            world["catalog"].check(sql)
        assert str(info.value)  # a message a model can act on
    else:
        checked = world["catalog"].check(sql)  # a valid read-only SELECT...
        with pytest.raises(QueryError, match=r"ran longer than|memory limit"):
            world["runner"].run(checked)  # ...that the limits must stop
    _assert_untouched(world, before)


def _execute_raw(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run any statement(s) on a sandbox cursor, interrupted after the time limit."""
    cur = con.cursor()
    timer = threading.Timer(TIMEOUT_S, cur.interrupt)
    timer.start()
    try:
        cur.execute("USE coview_store")
        cur.execute(sql)
        cur.fetchmany(10)
    except duckdb.Error:
        pass  # refusals are the point; the invariants are checked by the caller
    finally:
        timer.cancel()
        cur.close()


def test_sandbox_alone_holds_for_the_whole_corpus(
    world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guard off: the sandbox connection itself must keep the store and the disk intact."""
    monkeypatch.chdir(world["scratch"])
    before = _listing(world["base"])
    con = open_sandbox(world["store"], memory_limit=MEMORY, threads=2)
    try:
        for case in CORPUS:
            _execute_raw(con, case.sql.replace("{tmp}", str(world["scratch"])))
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() "
                "WHERE name IN ('enable_external_access', 'lock_configuration')"
            ).fetchall()
        )
        assert settings == {"enable_external_access": "false", "lock_configuration": "true"}
        rows = con.execute("SELECT count(*) FROM coview_store.main.configs").fetchone()
        assert rows == (192,)
    finally:
        con.close()
    _assert_untouched(world, before)
