"""The read-only runner: results, row cap, limits, cancel, and the sandbox without the guard."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import duckdb
import pytest
from hostile_sql import make_store

from coview.engine.runner import QueryError, ReadOnlyRunner, open_sandbox

FOREVER = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("runner") / "store.duckdb", n_operators=20_000)


@pytest.fixture(scope="module")
def runner(store: Path):
    with ReadOnlyRunner(store, timeout_s=5, memory_limit="512MB", row_cap=50) as r:
        yield r


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_returns_rows_columns_and_the_sql_as_given(runner: ReadOnlyRunner) -> None:
    sql = "SELECT system_id, name FROM systems ORDER BY system_id"
    ev = runner.run(sql)
    assert ev.sql == sql  # what the user sees: no LIMIT wrapper
    assert ev.columns == ["system_id", "name"]
    assert ev.rows == [("sys-a", "xPU-A"), ("sys-b", "xPU-B"), ("sys-c", "xPU-C")]
    assert all(isinstance(r, tuple) for r in ev.rows)
    assert ev.truncated is False
    assert ev.elapsed_s >= 0


def test_row_cap_truncates_and_reports_it(runner: ReadOnlyRunner) -> None:
    ev = runner.run("SELECT config_id FROM configs ORDER BY config_id DESC")
    assert ev.truncated is True
    assert len(ev.rows) == 50
    assert ev.rows[0] == (192,) and ev.rows[-1] == (143,)  # order survives the wrapper


def test_exactly_cap_rows_is_not_truncated(runner: ReadOnlyRunner) -> None:
    ev = runner.run("SELECT config_id FROM configs ORDER BY config_id LIMIT 50")
    assert len(ev.rows) == 50 and ev.truncated is False


def test_duplicate_column_names_survive_the_wrapper(runner: ReadOnlyRunner) -> None:
    ev = runner.run(
        "SELECT a.system_id, b.system_id FROM configs a JOIN configs b USING (config_id) "
        "ORDER BY a.config_id LIMIT 1"
    )
    assert ev.columns == ["system_id", "system_id"]


def test_trailing_semicolon_is_fine(runner: ReadOnlyRunner) -> None:
    assert runner.run("SELECT count(*) AS n FROM systems;").rows == [(3,)]


def test_pivot_that_would_create_a_type_is_refused(runner: ReadOnlyRunner) -> None:
    with pytest.raises(QueryError, match="several statements.*IN"):
        runner.run("SELECT * FROM (PIVOT configs ON phase USING avg(latency_s) GROUP BY tp)")


def test_duckdb_errors_become_query_errors_a_model_can_read(runner: ReadOnlyRunner) -> None:
    with pytest.raises(QueryError, match=r"DuckDB rejected the query: .*latency_ms"):
        runner.run("SELECT latency_ms FROM configs")
    with pytest.raises(QueryError, match="empty"):
        runner.run("  ;")


def test_timeout_stops_a_query_that_never_ends(store: Path) -> None:
    with ReadOnlyRunner(store, timeout_s=0.5) as r:
        with pytest.raises(QueryError, match=r"ran longer than 0\.5 s and was stopped; narrow it"):
            r.run(FOREVER)
        # The runner is still usable afterwards.
        assert r.run("SELECT count(*) FROM configs").rows == [(192,)]


def test_cancel_event_stops_the_query_before_its_timeout(store: Path) -> None:
    cancel = threading.Event()
    with ReadOnlyRunner(store, timeout_s=60) as r:
        timer = threading.Timer(0.2, cancel.set)
        timer.start()
        with pytest.raises(QueryError, match="cancelled"):
            r.run(FOREVER, cancel=cancel)
        timer.cancel()
        with pytest.raises(QueryError, match="cancelled before it started"):
            r.run("SELECT 1", cancel=cancel)
        assert r.run("SELECT 1 AS x", cancel=threading.Event()).rows == [(1,)]


def test_memory_limit_stops_a_query(store: Path) -> None:
    with ReadOnlyRunner(store, timeout_s=30, memory_limit="64MB") as r:
        with pytest.raises(QueryError, match="64MB memory limit"):
            r.run(
                "SELECT string_agg(a.layer_name || b.layer_name, ',') AS s "
                "FROM operators a CROSS JOIN operators b"
            )


def test_concurrent_queries_on_one_runner(runner: ReadOnlyRunner) -> None:
    results: list[object] = []

    def work(i: int) -> None:
        results.append(runner.run(f"SELECT count(*) + {i} FROM operators").rows[0][0])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [20_000, 20_001, 20_002, 20_003]


def test_runner_coexists_with_other_connections_and_releases_the_file(tmp_path: Path) -> None:
    path = make_store(tmp_path / "s.duckdb", n_operators=10)
    other = duckdb.connect(str(path), read_only=True)  # someone else's default connection
    r = ReadOnlyRunner(path)
    assert r.run("SELECT count(*) FROM systems").rows == [(3,)]
    later = duckdb.connect(str(path), read_only=True)  # and one opened after the runner
    assert later.execute("SELECT count(*) FROM systems").fetchone() == (3,)
    later.close()
    other.close()
    r.close()
    rw = duckdb.connect(str(path))  # closed runner no longer holds the file
    rw.close()


# --- the sandbox holds even with the guard bypassed ----------------------------------------


def test_runner_alone_refuses_file_access(runner: ReadOnlyRunner, tmp_path: Path) -> None:
    with pytest.raises(QueryError, match="disabled by configuration"):
        runner.run("SELECT * FROM read_csv('/etc/passwd')")
    with pytest.raises(QueryError, match="disabled by configuration"):
        runner.run("SELECT * FROM read_text('/etc/hostname')")
    with pytest.raises(QueryError, match="only SELECT"):
        runner.run(f"COPY (SELECT 1) TO '{tmp_path}/x.csv'")
    with pytest.raises(QueryError, match="exactly one statement"):
        runner.run("SELECT 1; DROP TABLE configs")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM read_csv('/etc/passwd')", "disabled by configuration"),
        ("COPY (SELECT * FROM configs) TO '{tmp}/out.csv'", "disabled by configuration"),
        ("COPY configs TO '{tmp}/out.parquet' (FORMAT parquet)", "disabled by configuration"),
        ("EXPORT DATABASE '{tmp}/exported'", "disabled by configuration"),
        ("ATTACH '{tmp}/other.duckdb' AS other", "disabled by configuration"),
        ("INSTALL httpfs", "disabled by configuration"),
        ("LOAD httpfs", "disabled through configuration"),
        ("SET memory_limit = '100GB'", "configuration has been locked"),
        ("SET enable_external_access = true", "configuration has been locked"),
        ("RESET lock_configuration", "configuration has been locked"),
        ("SET threads = 64", "configuration has been locked"),
        ("DROP TABLE configs", "read-only"),
        ("INSERT INTO systems (system_id, name) VALUES ('x', 'x')", "read-only"),
        ("DELETE FROM operators", "read-only"),
        ("CREATE TABLE coview_store.main.stolen AS SELECT 1", "read-only"),
        ("SELECT * FROM pandas_frame_in_caller_scope", "does not exist"),
    ],
)
def test_sandbox_connection_refuses_without_the_guard(
    store: Path, tmp_path: Path, sql: str, expected: str
) -> None:
    before = sha256(store)
    pandas_frame_in_caller_scope = object()  # replacement scans must not see Python objects
    con = open_sandbox(store, memory_limit="256MB", threads=1)
    try:
        with pytest.raises(duckdb.Error, match=expected):
            con.execute(sql.replace("{tmp}", str(tmp_path)))
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('enable_external_access', 'lock_configuration', 'autoload_known_extensions',"
                " 'autoinstall_known_extensions', 'memory_limit')"
            ).fetchall()
        )
    finally:
        con.close()
    del pandas_frame_in_caller_scope
    assert settings["enable_external_access"] == "false"
    assert settings["lock_configuration"] == "true"
    assert settings["autoload_known_extensions"] == "false"
    assert settings["autoinstall_known_extensions"] == "false"
    assert list(tmp_path.iterdir()) == []
    assert sha256(store) == before
