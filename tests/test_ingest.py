"""Ingest of native sweeps: Parquet and CSV, optional columns, --replace, appends, importer
dispatch, the sample sweep, and the CLI's message on a broken file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from fixtures_native import dir_listing, file_digest, sweep_tables, write_sweep, write_tables
from typer.testing import CliRunner

from coview.store.ingest import IngestError, ingest
from coview.store.pareto import pareto_config_ids

TABLES = ("sweeps", "systems", "models", "configs", "operators")


def rows(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def dump(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows (minus ingest-time bookkeeping), sorted, for comparisons."""
    out = {}
    for t in TABLES:
        cols = "* EXCLUDE (ingested_at, source_path)" if t == "sweeps" else "*"
        out[t] = sorted(rows(path, f"SELECT {cols} FROM {t}"), key=repr)
    return out


def test_parquet_and_csv_load_the_same_rows(tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    ra = ingest([write_sweep(tmp_path / "pq")], a, progress=False)
    ingest([write_sweep(tmp_path / "csv", fmt="csv")], b, progress=False)
    assert dump(a) == dump(b)
    t = sweep_tables()
    assert (ra.configs, ra.operators, ra.systems, ra.models) == (
        len(t["configs"]),
        len(t["operators"]),
        len(t["systems"]),
        1,
    )
    assert ra.sweeps == ["s1"] and ra.pareto_points == len(
        pareto_config_ids(duckdb.connect(str(a), read_only=True))
    )
    got = dict(rows(a, "SELECT config_id, latency_s FROM configs"))
    assert got == {r["config_id"]: r["latency_s"] for r in t["configs"]}
    summary = ra.summary()
    assert (
        "1 sweep" in summary
        and f"{len(t['configs'])} configs" in summary
        and "Pareto points" in summary
    )


def test_files_can_be_named_one_by_one(tmp_path):
    data = write_sweep(tmp_path / "d")
    store = tmp_path / "s.duckdb"
    ingest(sorted(data.glob("*.parquet")), store, progress=False)
    assert rows(store, "SELECT count(*) FROM configs")[0][0] == len(sweep_tables()["configs"])


def test_missing_optional_columns_become_null(tmp_path):
    t = sweep_tables()
    for r in t["configs"]:
        del r["power_w"], r["output_len"]
    for r in t["operators"]:
        del r["weights_location"], r["bound"]
    store = tmp_path / "s.duckdb"
    ingest([write_tables(tmp_path / "d", t, "csv")], store, progress=False)
    assert rows(
        store, "SELECT count(power_w), count(output_len), count(energy_j) FROM configs"
    ) == [(0, 0, 0)]
    assert rows(store, "SELECT count(weights_location), count(bound), count(*) FROM operators") == [
        (0, 0, len(t["operators"]))
    ]


def test_unknown_config_and_operator_columns_go_to_extra(tmp_path):
    t = sweep_tables()
    for i, r in enumerate(t["configs"]):
        r["sim_seed"] = i
    t["operators"][0]["kernel"] = "xla_fusion"
    store = tmp_path / "s.duckdb"
    report = ingest([write_tables(tmp_path / "d", t)], store, progress=False)
    assert rows(store, "SELECT extra->>'sim_seed' FROM configs WHERE config_id = 3") == [("2",)]
    assert rows(
        store, "SELECT extra->>'kernel' FROM operators WHERE config_id = 1 AND op_index = 0"
    ) == [("xla_fusion",)]
    assert "sim_seed" in report.summary() and "kernel" in report.summary()


def test_sweep_bookkeeping_is_filled(tmp_path):
    data = write_sweep(tmp_path / "d")
    store = tmp_path / "s.duckdb"
    ingest([data], store, progress=False)
    ((when, src),) = rows(store, "SELECT ingested_at, source_path FROM sweeps")
    now = datetime.now(UTC).replace(tzinfo=None)
    assert abs(now - when) < timedelta(minutes=5)
    assert src == str(data.resolve())


def test_given_ingested_at_and_source_path_are_kept(tmp_path):
    t = sweep_tables()
    t["sweeps"][0]["source_path"] = "/lab/runs/42"
    store = tmp_path / "s.duckdb"
    ingest([write_tables(tmp_path / "d", t)], store, progress=False)
    assert rows(store, "SELECT source_path FROM sweeps") == [("/lab/runs/42",)]


def test_replace_reloads_the_sweep_and_leaves_others(tmp_path):
    store = tmp_path / "s.duckdb"
    ingest(
        [write_sweep(tmp_path / "other", sweep_id="other", config_start=500)], store, progress=False
    )
    ingest([write_sweep(tmp_path / "v1", n_configs=8)], store, progress=False)
    t = sweep_tables(n_configs=5)  # the new version of s1 is smaller and faster
    for r in t["configs"]:
        r["latency_s"] = r["latency_s"] / 10
    t["systems"][0]["hbm_bytes"] = 9.6e10  # a corrected system figure needs --replace too
    data = write_tables(tmp_path / "v2", t)
    with pytest.raises(IngestError):
        ingest([data], store, progress=False)
    report = ingest([data], store, replace=True, progress=False)
    assert report.replaced == ["s1"]
    assert rows(store, "SELECT count(*) FROM configs WHERE sweep_id = 's1'") == [(5,)]
    assert rows(store, "SELECT count(*) FROM operators WHERE config_id < 500") == [(5 * 3,)]
    assert rows(store, "SELECT count(*) FROM configs WHERE sweep_id = 'other'") == [(8,)]
    assert rows(store, "SELECT hbm_bytes FROM systems WHERE system_id = 'sysA'") == [(9.6e10,)]
    got = dict(rows(store, "SELECT config_id, latency_s FROM configs WHERE sweep_id = 's1'"))
    assert got == {r["config_id"]: r["latency_s"] for r in t["configs"]}
    assert rows(store, "SELECT count(*) FROM sweeps") == [(2,)]


def test_second_sweep_appends_and_gets_its_own_pareto_flags(tmp_path):
    store = tmp_path / "s.duckdb"
    ingest([write_sweep(tmp_path / "a", sweep_id="a")], store, progress=False)
    before = rows(store, "SELECT config_id, is_pareto FROM configs ORDER BY 1")
    ingest([write_sweep(tmp_path / "b", sweep_id="b", config_start=101)], store, progress=False)
    assert (
        rows(store, "SELECT config_id, is_pareto FROM configs WHERE sweep_id = 'a' ORDER BY 1")
        == before
    )
    flags = rows(
        store,
        "SELECT count(is_pareto), count(*) FILTER (WHERE is_pareto) FROM configs WHERE sweep_id = 'b'",
    )
    assert flags[0][0] == 8 and flags[0][1] > 0
    # Identical systems/models rows already in the store are fine; comments survive the load.
    assert rows(store, "SELECT count(*) FROM systems") == [(2,)]
    assert rows(store, "SELECT comment FROM duckdb_tables() WHERE table_name = 'operators'")[0][0]


def test_sweep_option_renames_or_creates_the_native_sweep(tmp_path):
    t = sweep_tables()
    t["sweeps"] = None  # no sweeps file at all
    data = write_tables(tmp_path / "d", t)
    store = tmp_path / "s.duckdb"
    with pytest.raises(IngestError) as info:
        ingest([data], store, progress=False)
    assert "'s1' is not in sweeps" in info.value.message
    ingest([data], store, progress=False, sweep_id="night-run")
    assert rows(store, "SELECT sweep_id, name FROM sweeps") == [("night-run", "night-run")]
    assert rows(store, "SELECT DISTINCT sweep_id FROM configs") == [("night-run",)]


def test_importer_format_dispatch_offsets_config_ids(tmp_path, monkeypatch):
    def load(paths, sweep_id):
        t = sweep_tables(sweep_id=sweep_id or "imp", n_configs=4, ops_per_config=2)
        return {name: pl.DataFrame(rows_) for name, rows_ in t.items()}

    fake = types.ModuleType("coview.store.importers.llm_analysis")
    fake.load = load
    monkeypatch.setitem(sys.modules, "coview.store.importers.llm_analysis", fake)
    store = tmp_path / "s.duckdb"
    ingest([write_sweep(tmp_path / "native", config_start=1, n_configs=6)], store, progress=False)
    ingest([tmp_path], store, fmt="llm-analysis", progress=False, sweep_id="la1")
    ingest([tmp_path], store, fmt="llm-analysis", progress=False, sweep_id="la2")
    assert rows(
        store, "SELECT sweep_id, min(config_id), max(config_id) FROM configs GROUP BY 1 ORDER BY 2"
    ) == [
        ("s1", 1, 6),
        ("la1", 7, 10),
        ("la2", 11, 14),
    ]
    assert rows(
        store,
        "SELECT count(*) FROM operators o JOIN configs c USING (config_id) WHERE c.sweep_id = 'la2'",
    ) == [(8,)]


def test_importer_failure_is_an_ingest_error(tmp_path, monkeypatch):
    fake = types.ModuleType("coview.store.importers.llm_analysis")

    def load(paths, sweep_id):
        raise ValueError("no *-summary.json files")

    fake.load = load
    monkeypatch.setitem(sys.modules, "coview.store.importers.llm_analysis", fake)
    store = tmp_path / "s.duckdb"
    with pytest.raises(IngestError) as info:
        ingest([tmp_path], store, fmt="llm-analysis", progress=False)
    assert "no *-summary.json files" in info.value.message
    assert not store.exists()


def test_store_open_for_writing_elsewhere_is_refused(tmp_path):
    store = tmp_path / "s.duckdb"
    ingest([write_sweep(tmp_path / "a")], store, progress=False)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys
                con = duckdb.connect({str(store)!r})
                print("ready", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(IngestError) as info:
            ingest(
                [write_sweep(tmp_path / "b", sweep_id="b", config_start=100)], store, progress=False
            )
        assert "cannot open the store" in info.value.message and "close" in info.value.hint
    finally:
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    assert dir_listing(tmp_path).count("s.duckdb") == 1
    assert not [n for n in dir_listing(tmp_path) if ".ingest-" in n]


def test_no_progress_output_when_disabled(tmp_path, capfd):
    ingest([write_sweep(tmp_path / "a")], tmp_path / "s.duckdb", progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_cli_reports_the_broken_row_and_keeps_the_store(tmp_path):
    from coview.cli import app

    store = tmp_path / "s.duckdb"
    ingest([write_sweep(tmp_path / "good")], store, progress=False)
    before = file_digest(store)
    t = sweep_tables(sweep_id="s2", config_start=100)
    t["operators"][6]["roofline_time_s"] = 1.0
    bad = write_tables(tmp_path / "bad", t, "csv")
    result = CliRunner().invoke(app, ["ingest", str(bad), "--store", str(store)])
    assert result.exit_code == 2
    text = result.output
    assert "the store is unchanged" in text
    assert "operators.csv, row 7, column roofline_time_s" in text
    assert file_digest(store) == before
    ok = CliRunner().invoke(
        app, ["ingest", str(tmp_path / "good"), "--store", str(tmp_path / "n.duckdb")]
    )
    assert ok.exit_code == 0 and "Loaded sweep 's1'" in ok.output


def test_bundled_sample_sweep_ingests(tmp_path):
    from coview.sample_data import DEFAULT_SWEEP

    if not (DEFAULT_SWEEP / "configs.parquet").exists():
        pytest.skip("sample data not generated yet")
    store = tmp_path / "sample.duckdb"
    report = ingest([DEFAULT_SWEEP], store, progress=False)
    assert report.configs > 0 and report.operators > 0 and report.pareto_points > 0
    # Every flagged point is undominated within its group among configs that fit.
    bad = rows(
        store,
        """SELECT count(*) FROM configs p JOIN configs q
           ON (p.sweep_id, p.model_id, p.phase, p.system_id) = (q.sweep_id, q.model_id, q.phase, q.system_id)
           WHERE p.is_pareto AND q.fits_memory AND q.latency_s <= p.latency_s
             AND q.perf_per_tco >= p.perf_per_tco
             AND (q.latency_s < p.latency_s OR q.perf_per_tco > p.perf_per_tco)""",
    )
    assert bad == [(0,)]
    with pytest.raises(IngestError):
        ingest([DEFAULT_SWEEP], store, progress=False)


def test_pending_wal_of_the_store_is_kept_and_not_replayed_twice(tmp_path):
    store = tmp_path / "s.duckdb"
    ingest([write_sweep(tmp_path / "a")], store, progress=False)
    # Another process writes a row and dies before checkpointing: its change is in s.duckdb.wal.
    code = textwrap.dedent(
        f"""
        import duckdb, os
        con = duckdb.connect({str(store)!r})
        con.execute("SET wal_autocheckpoint = '1TB'")
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        con.execute("INSERT INTO sweeps (sweep_id, name) VALUES ('from-wal', 'pending')")
        os._exit(0)
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    wal = Path(f"{store}.wal")
    assert wal.exists()
    ingest([write_sweep(tmp_path / "b", sweep_id="b", config_start=100)], store, progress=False)
    assert not wal.exists()
    assert rows(store, "SELECT sweep_id FROM sweeps ORDER BY 1") == [("b",), ("from-wal",), ("s1",)]


def test_two_sweep_directories_in_one_ingest(tmp_path):
    a = write_sweep(tmp_path / "a", sweep_id="a")
    b = write_sweep(tmp_path / "b", sweep_id="b", config_start=101)
    store = tmp_path / "s.duckdb"
    report = ingest([a, b], store, progress=False)
    assert sorted(report.sweeps) == ["a", "b"]
    assert rows(store, "SELECT sweep_id, count(*) FROM configs GROUP BY 1 ORDER BY 1") == [
        ("a", 8),
        ("b", 8),
    ]
    # An error in the second directory's file is reported against that file and its own row.
    t = sweep_tables(sweep_id="d", config_start=301)
    t["operators"][2]["op_class"] = "conv"
    c = write_sweep(tmp_path / "c", sweep_id="c", config_start=201)
    d = write_tables(tmp_path / "d", t)
    before = file_digest(store)
    with pytest.raises(IngestError) as info:
        ingest([c, d], store, progress=False)
    assert info.value.file == str(d / "operators.parquet") and info.value.row == 3
    assert file_digest(store) == before


def test_concurrent_ingests_into_one_store_both_land(tmp_path):
    store = tmp_path / "s.duckdb"
    ingest(
        [write_sweep(tmp_path / "base", sweep_id="base", config_start=1000)], store, progress=False
    )
    dirs = [
        write_sweep(tmp_path / f"w{i}", sweep_id=f"w{i}", config_start=100 * (i + 1))
        for i in range(2)
    ]
    code = "import sys; from pathlib import Path; from coview.store.ingest import ingest; ingest([Path(sys.argv[1])], Path(sys.argv[2]), progress=False)"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(d), str(store)]) for d in dirs]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert rows(store, "SELECT sweep_id FROM sweeps ORDER BY 1") == [("base",), ("w0",), ("w1",)]


def test_crash_while_applying_leaves_the_store_and_no_temp_files(tmp_path, monkeypatch):
    store = tmp_path / "s.duckdb"
    ingest([write_sweep(tmp_path / "a")], store, progress=False)
    before, listing = file_digest(store), dir_listing(tmp_path)

    def boom(con, sweep_ids=None):
        raise RuntimeError("simulated crash after the rows were inserted")

    monkeypatch.setattr("coview.store.ingest.update_pareto", boom)
    with pytest.raises(RuntimeError):
        ingest([write_sweep(tmp_path / "b", sweep_id="b", config_start=100)], store, progress=False)
    assert file_digest(store) == before
    assert dir_listing(tmp_path) == sorted([*listing, "b"])


def test_importer_error_with_file_and_hint_is_passed_through(tmp_path, monkeypatch):
    class ImportFormatError(ValueError):
        def __init__(self, file, message, hint, key=None):
            self.file, self.message, self.hint, self.key = str(file), message, hint, key
            super().__init__(message)

    def load(paths, sweep_id):
        raise ImportFormatError(
            paths[0] / "x-summary.json",
            "missing key 'decode_latency'",
            "rerun the tool",
            "decode_latency",
        )

    fake = types.ModuleType("coview.store.importers.llm_analysis")
    fake.load = load
    monkeypatch.setitem(sys.modules, "coview.store.importers.llm_analysis", fake)
    with pytest.raises(IngestError) as info:
        ingest([tmp_path], tmp_path / "s.duckdb", fmt="llm-analysis", progress=False)
    err = info.value
    assert (err.file, err.column, err.hint) == (
        str(tmp_path / "x-summary.json"),
        "decode_latency",
        "rerun the tool.",
    )
    assert "missing key 'decode_latency'" in str(err)
