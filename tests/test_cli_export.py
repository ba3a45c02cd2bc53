"""`coview export-configs` and store.export: the configs table under the TUI's filters and
search syntax, to CSV or Parquet; and the `theme` config key (issue 10, item 16)."""

from __future__ import annotations

import csv
import os

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from coview.cli import app
from coview.store.browse import CONFIG_COLUMNS, Browser, Filters, SearchError
from coview.store.export import ExportError, export_configs

runner = CliRunner()


def _expected_ids(store, where: str, params: list) -> list[int]:
    con = duckdb.connect(str(store), read_only=True)
    rows = con.execute(
        "SELECT c.config_id FROM configs c JOIN systems s USING (system_id) "
        f"WHERE {where} ORDER BY c.perf_per_tco DESC NULLS LAST, c.config_id",
        params,
    ).fetchall()
    con.close()
    return [r[0] for r in rows]


def test_csv_holds_exactly_the_filtered_rows_in_table_order(sample_store, tmp_path):
    out = tmp_path / "x.csv"
    res = runner.invoke(
        app, ["export-configs", str(out), "--store", str(sample_store), "--filter", "xpu tp=8"]
    )
    assert res.exit_code == 0, res.output
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(CONFIG_COLUMNS)
    want = _expected_ids(
        sample_store, "(c.system_id ILIKE '%xpu%' OR s.name ILIKE '%xpu%') AND c.tp = 8", []
    )
    assert want and [int(r["config_id"]) for r in rows] == want
    assert f"wrote {len(want)} configs to {out}" in res.stdout


def test_parquet_with_navigator_filters_and_all_columns(sample_store, tmp_path):
    out = tmp_path / "x.parquet"
    res = runner.invoke(
        app,
        [
            "--store",
            str(sample_store),
            "export-configs",
            str(out),
            "--system",
            "h100",
            "--phase",
            "decode",
            "--pareto-only",
            "--all-columns",
        ],
    )
    assert res.exit_code == 0, res.output
    table = pq.read_table(out)
    want = _expected_ids(sample_store, "s.name = 'H100' AND c.phase = 'decode' AND c.is_pareto", [])
    assert want and table.column("config_id").to_pylist() == want
    assert {"sweep_id", "kv_dtype", "energy_j", "extra", "system"} <= set(table.column_names)


def test_store_function_matches_the_table_the_tui_pages(sample_store, tmp_path):
    browser = Browser(sample_store)
    try:
        f = Filters(sweep_id=browser.summary().sweep_id, dtype="bf16", search="batch=16")
        page = browser.page_configs(f, sort="latency_s", descending=False, limit=10_000)
        result = export_configs(browser, f, tmp_path / "t.csv", sort="latency_s", descending=False)
    finally:
        browser.close()
    with (tmp_path / "t.csv").open() as fh:
        ids = [int(r["config_id"]) for r in csv.DictReader(fh)]
    assert ids == [r["config_id"] for r in page.rows] and result.rows == len(ids) > 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["x.txt"], "cannot tell the export format"),
        (["x.csv", "--filter", "colour=red"], "unknown search key 'colour'"),
        (["x.csv", "--filter", "tp=eight"], "tp needs a whole number"),
        (["x.csv", "--system", "B200"], "no system 'B200' in the store; it has: H100"),
        (["x.csv", "--sweep", "nope"], "no sweep 'nope' in the store"),
        (["x.csv", "--sort", "colour"], "cannot sort on 'colour'"),
        (["missing-dir/x.csv"], "does not exist"),
    ],
)
def test_bad_export_requests_are_one_clear_line(sample_store, tmp_path, args, message):
    args = [str(tmp_path / args[0]), *args[1:]]
    res = runner.invoke(app, ["export-configs", *args, "--store", str(sample_store)])
    assert res.exit_code == 2, res.output
    assert message in res.stderr and len(res.stderr.splitlines()) == 1
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())


def test_no_match_writes_a_header_and_says_so(sample_store, tmp_path):
    out = tmp_path / "none.csv"
    res = runner.invoke(
        app, ["export-configs", str(out), "--filter", "zzz", "--store", str(sample_store)]
    )
    assert res.exit_code == 0
    assert out.read_text().splitlines() == [",".join(CONFIG_COLUMNS)]
    assert "no configs match" in res.stderr


def test_failed_export_keeps_the_old_file(sample_store, tmp_path):
    out = tmp_path / "keep.csv"
    out.write_text("old\n")
    browser = Browser(sample_store)
    try:
        with pytest.raises(SearchError):
            export_configs(browser, Filters(search="nokey=1"), out)
        with pytest.raises(ExportError):
            export_configs(browser, Filters(), out, fmt="xlsx")
    finally:
        browser.close()
    assert out.read_text() == "old\n"


def test_theme_key_reaches_the_tui(sample_store, tmp_path, monkeypatch):
    import coview.tui.app as tui_app

    cfg = tmp_path / "config.toml"
    cfg.write_text('theme = "nord"\n')
    monkeypatch.setenv("COVIEW_CONFIG", str(cfg))
    monkeypatch.setenv("TEXTUAL_THEME", "x")  # so that undo removes what the CLI sets
    monkeypatch.delenv("TEXTUAL_THEME")
    seen = {}
    monkeypatch.setattr(
        tui_app,
        "run_app",
        lambda path, settings: seen.update(theme=settings.theme, env=os.environ["TEXTUAL_THEME"]),
    )
    res = runner.invoke(app, ["--store", str(sample_store)])
    assert res.exit_code == 0, res.output
    assert seen == {"theme": "nord", "env": "nord"}


def test_unknown_theme_is_refused_before_the_tui(sample_store, tmp_path, monkeypatch):
    import coview.tui.app as tui_app

    cfg = tmp_path / "config.toml"
    cfg.write_text('theme = "hotpink"\n')
    monkeypatch.setenv("COVIEW_CONFIG", str(cfg))
    monkeypatch.setenv("TEXTUAL_THEME", "x")  # so that undo removes what the CLI sets
    monkeypatch.delenv("TEXTUAL_THEME")
    monkeypatch.setattr(tui_app, "run_app", lambda *a, **k: pytest.fail("TUI opened"))
    res = runner.invoke(app, ["--store", str(sample_store)])
    assert res.exit_code == 2
    assert "unknown theme 'hotpink'" in res.stderr and "nord" in res.stderr
