"""A file that is not a coview store: one clear line and exit 2 from every command that
opens a store, never a traceback or a title with nothing under it (issue 10, item 13)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from coview.cli import app
from coview.store.db import StoreError, check_store

runner = CliRunner()


def _empty(path: Path) -> None:
    duckdb.connect(str(path)).close()


def _foreign(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE orders (id INTEGER, total DOUBLE)")
    con.close()


def _partial(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sweeps (sweep_id VARCHAR)")
    con.execute("CREATE TABLE configs (config_id BIGINT)")
    con.close()


def _text(path: Path) -> None:
    path.write_text("not a database\n")


KINDS = {
    "empty": (_empty, "is an empty DuckDB file"),
    "foreign": (_foreign, "without coview's tables"),
    "partial": (_partial, "not a complete coview store"),
    "text": (_text, "is not a DuckDB database file"),
}


@pytest.fixture(params=sorted(KINDS))
def bad_store(request, tmp_path) -> tuple[Path, str]:
    make, message = KINDS[request.param]
    path = tmp_path / f"{request.param}.duckdb"
    make(path)
    return path, message


@pytest.fixture(scope="module")
def question_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("q") / "q.yaml"
    path.write_text(
        "name: t\nstore: sample\nquestions:\n  - id: q1\n    text: TDP of H100\n"
        "    type: query\n    valid: true\n    kind: number\n"
        "    expected_sql: SELECT tdp_w FROM systems WHERE name = 'H100'\n"
    )
    return path


def _commands(store: Path, questions: Path) -> dict[str, list[str]]:
    s = str(store)
    return {
        "ask": ["ask", "tdp of h100", "--store", s, "--backend", "offline"],
        "ask --json": ["ask", "tdp of h100", "--store", s, "--json"],
        "store first": ["--store", s, "ask", "tdp of h100"],
        "schema": ["schema", "--store", s],
        "eval": ["eval", str(questions), "--store", s, "--backend", "offline"],
        "tui": ["--store", s],
    }


def test_every_store_command_gives_one_line_and_exit_2(bad_store, question_file, monkeypatch):
    import coview.tui.app as tui_app

    path, message = bad_store
    opened = []
    monkeypatch.setattr(tui_app, "run_app", lambda p, settings: opened.append(p))
    for name, args in _commands(path, question_file).items():
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (name, res.output)
        lines = res.stderr.splitlines()
        assert len(lines) == 1, (name, res.stderr)
        assert lines[0].startswith("coview: error: ") and message in lines[0], (name, lines)
        assert str(path) in lines[0] and "Traceback" not in res.output
        assert res.stdout == "", (name, res.stdout)  # no schema title, no JSON
    assert opened == []  # the TUI never opened on it


def test_store_with_schema_but_no_configs(tmp_path):
    """ask/TUI/export refuse a store with nothing in it; schema still prints its docs."""
    from coview.store.schema import create_schema

    path = tmp_path / "nodata.duckdb"
    con = duckdb.connect(str(path))
    create_schema(con)
    con.close()
    for args in (["ask", "tdp of h100"], ["export-configs", str(tmp_path / "x.csv")]):
        res = runner.invoke(app, [*args, "--store", str(path)])
        assert res.exit_code == 2, res.output
        assert res.stderr.splitlines() == [
            f"coview: error: {path} is a coview store with no configs yet; "
            f"load a sweep with `coview ingest DATA --store {path}`."
        ]
    res = runner.invoke(app, ["schema", "--store", str(path)])
    assert res.exit_code == 0 and "## `configs`" in res.stdout


def test_env_store_is_checked_too(bad_store, monkeypatch):
    path, message = bad_store
    monkeypatch.setenv("COVIEW_STORE", str(path))
    for args in (["ask", "tdp of h100"], ["schema"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2 and message in res.stderr, res.output


def test_ingest_never_adds_coview_tables_to_another_database(tmp_path):
    from coview.sample_data import MISMATCH_SWEEP

    path = tmp_path / "shop.duckdb"
    _foreign(path)
    res = runner.invoke(app, ["ingest", str(MISMATCH_SWEEP), "--store", str(path)])
    assert res.exit_code == 2, res.output
    assert "without coview's tables" in res.stderr
    con = duckdb.connect(str(path), read_only=True)
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    con.close()
    assert tables == {"orders"}


def test_ingest_into_an_empty_duckdb_file_works(tmp_path):
    from coview.sample_data import MISMATCH_SWEEP

    path = tmp_path / "blank.duckdb"
    _empty(path)
    res = runner.invoke(app, ["ingest", str(MISMATCH_SWEEP), "--store", str(path)])
    assert res.exit_code == 0, res.output
    assert check_store(path) == path


def test_check_store_accepts_a_real_store(sample_store):
    assert check_store(sample_store) == sample_store


def test_check_store_names_a_directory(tmp_path):
    with pytest.raises(StoreError, match="is a directory"):
        check_store(tmp_path)


def test_store_error_from_deep_inside_is_one_line(sample_store, monkeypatch):
    """A StoreError raised past the up-front check (e.g. by the engine) is still one line."""
    import coview.engine.pipeline as pipeline

    def broken(*a, **k):
        raise StoreError("Cannot open store x: IO Error: boom\nsecond line\x1b[31m")

    monkeypatch.setattr(pipeline.Pipeline, "__init__", broken)
    res = runner.invoke(app, ["ask", "tdp of h100", "--store", str(sample_store)])
    assert res.exit_code == 2
    assert res.stderr == "coview: error: Cannot open store x: IO Error: boom\n"
