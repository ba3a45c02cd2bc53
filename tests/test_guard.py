"""The SQL guard: what it accepts (realistic analytical SQL) and how it rejects the rest."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from hostile_sql import make_store

from coview.engine.guard import Catalog, GuardError
from coview.engine.runner import ReadOnlyRunner
from coview.store.db import StoreError
from coview.store.schema import TABLES


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("guard") / "store.duckdb", n_operators=3000)


@pytest.fixture(scope="module")
def catalog(store: Path) -> Catalog:
    return Catalog.from_store(store)


@pytest.fixture(scope="module")
def runner(store: Path):
    with ReadOnlyRunner(store, timeout_s=10, row_cap=100_000) as r:
        yield r


# --- the catalog ---------------------------------------------------------------------------


def test_catalog_lists_exactly_the_schema_tables_and_columns(catalog: Catalog) -> None:
    assert list(catalog.tables) == [t.name for t in TABLES]
    for table in TABLES:
        assert catalog.tables[table.name] == table.column_names
    assert "coview_meta" not in catalog.tables
    assert catalog.column_types["configs"]["latency_s"] == "DOUBLE"


def test_catalog_reads_columns_the_store_really_has(tmp_path: Path) -> None:
    path = make_store(tmp_path / "s.duckdb", n_operators=10)
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE configs ADD COLUMN hbm_util DOUBLE")
    con.close()
    cat = Catalog.from_store(path)
    assert cat.tables["configs"][-1] == "hbm_util"
    assert cat.check("SELECT hbm_util FROM configs") == "SELECT hbm_util FROM configs"


def test_catalog_from_missing_or_foreign_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="No store at .*coview ingest"):
        Catalog.from_store(tmp_path / "nope.duckdb")
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t (x INT)")
    con.close()
    with pytest.raises(StoreError, match="holds none of coview's tables"):
        Catalog.from_store(other)


def test_catalog_opens_while_the_store_is_open_elsewhere_read_only(store: Path) -> None:
    other = duckdb.connect(str(store), read_only=True)  # e.g. the TUI's own connection
    try:
        assert "configs" in Catalog.from_store(store).tables
    finally:
        other.close()


# --- realistic analytical queries must pass, run, and mean the same ------------------------

GOOD_SQL = [
    "SELECT * FROM configs",
    "FROM systems",
    "SELECT name, hbm_bytes / 1e9 AS hbm_gb FROM systems ORDER BY hbm_gb DESC",
    "SELECT s.name, c.batch_size, c.tp, c.latency_s * 1000 AS latency_ms "
    "FROM configs c JOIN systems s USING (system_id) "
    "WHERE c.phase = 'decode' ORDER BY latency_ms LIMIT 5",
    "SELECT s.name AS system, m.name AS model, count(*) AS n FROM configs c "
    "JOIN systems s ON s.system_id = c.system_id JOIN models m ON m.model_id = c.model_id "
    "GROUP BY s.name, m.name ORDER BY n DESC, system",
    "SELECT system_id, avg(latency_s) AS avg_lat FROM configs GROUP BY 1 "
    "HAVING avg_lat > 0 ORDER BY avg_lat",
    "SELECT phase, CASE WHEN tp > 1 THEN 'multi' ELSE 'single' END AS kind, count(*) AS n "
    "FROM configs GROUP BY ALL ORDER BY ALL",
    "WITH best AS (SELECT system_id, max(perf_per_tco) AS best FROM configs "
    "WHERE fits_memory GROUP BY system_id) "
    "SELECT s.name, b.best FROM best b JOIN systems s ON s.system_id = b.system_id ORDER BY 2",
    "WITH a AS (SELECT * FROM configs WHERE system_id = 'sys-a'), "
    "b AS (SELECT * FROM configs WHERE system_id = 'sys-b') "
    "SELECT a.batch_size, a.tp, b.latency_s / a.latency_s AS speedup, "
    "100 * (b.latency_s - a.latency_s) / a.latency_s AS pct "
    "FROM a JOIN b USING (phase, batch_size, tp) ORDER BY a.batch_size, a.tp",
    "SELECT op_type, sum(roofline_time_s * count) AS t, "
    "round(100 * sum(roofline_time_s * count) / sum(sum(roofline_time_s * count)) OVER (), 2) "
    "AS pct FROM operators WHERE config_id = 1 GROUP BY op_type ORDER BY t DESC, op_type",
    "SELECT op_class, sum(roofline_time_s * count) FILTER (WHERE bound = 'memory') AS mem_t "
    "FROM operators GROUP BY op_class ORDER BY op_class",
    "SELECT arg_max(config_id, perf_per_tco) AS best_config, max(perf_per_tco) AS best "
    "FROM configs WHERE phase = 'decode'",
    "SELECT system_id, quantile_cont(latency_s, 0.5) AS p50, median(latency_s) AS med "
    "FROM configs GROUP BY system_id ORDER BY system_id",
    "SELECT * FROM (SELECT system_id, batch_size, latency_s, row_number() OVER "
    "(PARTITION BY system_id ORDER BY latency_s, config_id) AS rn FROM configs) WHERE rn <= 2 "
    "ORDER BY system_id, rn",
    "SELECT system_id, config_id, latency_s FROM configs "
    "QUALIFY row_number() OVER (PARTITION BY system_id ORDER BY latency_s, config_id) = 1 "
    "ORDER BY system_id",
    "SELECT config_id FROM configs WHERE config_id IN "
    "(SELECT config_id FROM operators WHERE bound = 'memory' AND op_type = 'q_proj') "
    "ORDER BY config_id LIMIT 10",
    "SELECT c.config_id FROM configs c WHERE EXISTS (SELECT 1 FROM operators o "
    "WHERE o.config_id = c.config_id AND o.compute_time_s > o.memory_time_s) "
    "ORDER BY 1 LIMIT 5",
    "SELECT o.op_type, o.compute_time_s, o.memory_time_s, o.comm_time_s, "
    "CASE WHEN o.compute_time_s >= greatest(o.memory_time_s, o.comm_time_s) THEN 'compute' "
    "WHEN o.memory_time_s >= o.comm_time_s THEN 'memory' ELSE 'comm' END AS bound_by "
    "FROM operators o WHERE o.config_id = 2 ORDER BY o.op_index",
    "SELECT a.op_type, b.roofline_time_s - a.roofline_time_s AS diff FROM operators a "
    "JOIN operators b ON a.op_index = b.op_index AND a.op_type = b.op_type "
    "WHERE a.config_id = 1 AND b.config_id = 2 ORDER BY abs(diff) DESC, a.op_type LIMIT 3",
    "SELECT batch_size, round(latency_s, 4) AS lat, lag(latency_s) OVER (ORDER BY batch_size) "
    "AS prev FROM configs WHERE system_id = 'sys-a' AND phase = 'decode' AND tp = 4 "
    "ORDER BY batch_size",
    "SELECT system_id FROM configs UNION SELECT system_id FROM systems ORDER BY system_id",
    "SELECT system_id FROM systems EXCEPT SELECT system_id FROM configs WHERE tp = 99",
    "SELECT system_id FROM systems INTERSECT SELECT system_id FROM configs",
    "SELECT ROUND(latency_s, 3) FROM configs ORDER BY 1 LIMIT 3",
    "SELECT * EXCLUDE (extra) FROM configs WHERE is_pareto ORDER BY config_id",
    "SELECT c.* FROM configs c WHERE c.batch_size = 8 AND c.tp = 4 ORDER BY c.config_id",
    "SELECT name, coalesce(sram_bytes, 0) AS sram, sram_bytes IS NULL AS missing "
    "FROM systems ORDER BY name",
    "SELECT count(DISTINCT system_id) AS n, string_agg(DISTINCT phase, ',' ORDER BY phase) "
    "AS phases FROM configs",
    "SELECT latency_s * 1000 AS ms, ms / 2 AS half FROM configs ORDER BY config_id LIMIT 2",
    'SELECT "latency_s" FROM "configs" ORDER BY 1 LIMIT 1',
    "SELECT LATENCY_S FROM CONFIGS ORDER BY 1 LIMIT 1",
    "SELECT main.configs.tp FROM main.configs ORDER BY 1 LIMIT 1",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) "
    "SELECT sum(i) AS s FROM n",
    "SELECT x FROM (VALUES (1), (2)) AS v(x) ORDER BY x",
    "SELECT config_id, u.v FROM configs, unnest([1, 2]) AS u(v) WHERE config_id = 1 ORDER BY v",
    "SELECT list_transform([1, 2], lambda x: x * 2) AS l, [y + 1 FOR y IN [1, 2]] AS m",
    "SELECT extract(year FROM ingested_at) AS y, strftime(ingested_at, '%Y-%m') AS ym FROM sweeps",
    "SELECT sweep_id, name FROM sweeps WHERE name ILIKE '%test%' AND name LIKE 'test%'",
    "SELECT tp, avg(latency_s)::DECIMAL(10, 4) AS a, CAST(count(*) AS DOUBLE) AS n "
    "FROM configs GROUP BY tp ORDER BY tp",
    "SELECT 'it''s' AS s, 1 -- a trailing comment",
    "SELECT 1 AS one; -- the model ended with a semicolon and a comment",
    "SELECT * FROM (PIVOT configs ON phase IN ('prefill', 'decode') USING avg(latency_s) GROUP BY system_id) "
    "ORDER BY system_id",
    "TABLE systems",
    "SELECT 7 // 2 AS a, 7 / 2 AS b, 7 % 3 AS c, 2 ** 3 AS d, -7 // 2 AS g, 'a' || NULL AS f",
    "SELECT date_trunc('month', DATE '2024-05-17') AS a, DATE '2024-01-01' + INTERVAL 1 DAY AS b",
    "SELECT round(2.5) AS b, round(-2.5) AS c, 10::DOUBLE / 4 AS d, 1 / 0 AS e, 1e3::INT AS i",
    "SELECT printf('%.2f', 3.14159) AS a, substr('hello', 2, 3) AS c, 'abc'[2:3] AS f, "
    "[1, 2, 3][2] AS g, struct_pack(k := 1).k AS h, greatest(1, NULL, 3) AS m",
    "SELECT COLUMNS('lat.*') FROM configs ORDER BY config_id LIMIT 2",
    "SELECT count(*) FROM configs USING SAMPLE 100%",
    "/* leading comment */ SELECT count(*) FROM operators WHERE op_class IN ('gemm', 'norm')",
]


@pytest.mark.parametrize("sql", GOOD_SQL, ids=range(len(GOOD_SQL)))
def test_realistic_queries_pass_and_mean_the_same(
    sql: str, catalog: Catalog, runner: ReadOnlyRunner, store: Path
) -> None:
    checked = catalog.check(sql)
    got = runner.run(checked)
    con = duckdb.connect(str(store), read_only=True)
    try:
        cur = con.execute(sql)
        want_cols = [d[0] for d in cur.description]
        want = cur.fetchall()
    finally:
        con.close()
    if "ORDER BY" in sql.upper():
        assert got.rows == want, checked
    else:  # no order promised: compare as multisets
        assert sorted(map(repr, got.rows)) == sorted(map(repr, want)), checked
    assert len(got.columns) == len(want_cols)


def test_deprecated_arrow_lambda_comes_out_in_duckdb_2_syntax(
    catalog: Catalog, runner: ReadOnlyRunner
) -> None:
    checked = catalog.check("SELECT list_transform([1, 2], x -> x * 2) AS l")
    assert runner.run(checked).rows == [([2, 4],)]


def test_guard_leaves_the_row_cap_to_the_runner(catalog: Catalog) -> None:
    assert "LIMIT" not in catalog.check("SELECT * FROM configs").upper()


def test_output_drops_comments_so_nothing_can_hide_in_them(catalog: Catalog) -> None:
    out = catalog.check("SELECT config_id FROM configs -- */ DROP TABLE configs")
    assert "DROP" not in out.upper() and "--" not in out and "/*" not in out


# --- rejections, with messages a model can act on -------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT latency_ms FROM configs",
            r"column configs\.latency_ms does not exist; configs has: .*latency_s.*did you mean latency_s",
        ),
        (
            "SELECT configs.latency_ms FROM configs",
            r"column configs\.latency_ms does not exist; configs has: config_id",
        ),
        (
            "SELECT c.latency_ms FROM configs c",
            r"column c\.latency_ms does not exist \(c is configs\); configs has:",
        ),
        (
            "SELECT s.hbm_gb FROM configs c JOIN systems s USING (system_id)",
            r"column s\.hbm_gb does not exist \(s is systems\); systems has: .*hbm_bytes",
        ),
        (
            "SELECT latency FROM configs JOIN systems USING (system_id)",
            r"column latency does not exist in configs or systems; configs has: .*; systems has: ",
        ),
        (
            "WITH t AS (SELECT system_id, max(perf_per_tco) AS best FROM configs GROUP BY 1) SELECT t.worst FROM t",
            r"column t\.worst does not exist; t has: system_id, best",
        ),
        (
            "SELECT name FROM configs JOIN systems USING (system_id) JOIN models USING (model_id)",
            r"column name is ambiguous: it exists in systems, models; qualify it",
        ),
        ("SELECT x.tp FROM configs c", r"x\.tp refers to x, which is not a table or alias"),
        (
            "SELECT * FROM config",
            r"table config does not exist; the tables are sweeps, systems, models, configs, operators",
        ),
        ("SELECT * FROM coview_meta", r"table coview_meta does not exist"),
        (
            "SELECT * FROM information_schema.columns",
            r"table information_schema\.columns is not allowed: write table names without a database or schema",
        ),
        ("DELETE FROM configs", r"^only SELECT statements are allowed; found DELETE"),
        ("UPDATE configs SET tp = 1", r"^only SELECT statements are allowed; found UPDATE"),
        ("DROP TABLE configs", r"^only SELECT statements are allowed; found DROP"),
        ("LOAD httpfs", r"^only SELECT statements are allowed; found LOAD"),
        ("CHECKPOINT", r"^only SELECT statements are allowed; found CHECKPOINT"),
        (
            "WITH d AS (DELETE FROM configs RETURNING *) SELECT * FROM d",
            r"found DELETE inside the query",
        ),
        ("SELECT 1; SELECT 2", r"exactly one statement is allowed; found 2 \(SELECT, SELECT\)"),
        ("SELECT * FROM read_csv('/etc/passwd')", r"function read_csv\(\) is not allowed"),
        ("SELECT * FROM range(10)", r"function range\(\) is not allowed"),
        ("SELECT * FROM duckdb_columns()", r"function duckdb_columns\(\) is not allowed"),
        ("SELECT getenv('HOME')", r"function getenv\(\) is not allowed"),
        (
            "SELECT * FROM '/etc/passwd'",
            r"file paths are not allowed as tables \(found '/etc/passwd'\)",
        ),
        ("SELECT FROM WHERE", r"^the SQL does not parse: .*line 1"),
        ("", r"the SQL is empty"),
        ("  ;  ", r"holds no statement"),
    ],
)
def test_rejections_say_precisely_what_is_wrong(catalog: Catalog, sql: str, expected: str) -> None:
    with pytest.raises(GuardError, match=expected):
        catalog.check(sql)


def test_catalog_from_a_dict_checks_against_those_tables_only() -> None:
    cat = Catalog({"t": ["a", "b"]})
    assert cat.tables == {"t": ["a", "b"]}
    assert cat.check("SELECT a + b AS s FROM t") == "SELECT a + b AS s FROM t"
    with pytest.raises(GuardError, match=r"column t\.c does not exist; t has: a, b"):
        cat.check("SELECT c FROM t")
    with pytest.raises(GuardError, match="table configs does not exist; the tables are t"):
        cat.check("SELECT * FROM configs")
