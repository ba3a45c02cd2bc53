"""The `coview` process starts cheaply (issue 10, item 15) without changing what it says.

`cli.app_for` builds only the invoked command; these tests check that help and errors read
the same as from the full app, and that `coview ask` never imports the TUI, the LLM clients or
the dataframe libraries (speed itself is bench/bench_ask.py's job, not a test's).
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from coview.cli import _command_name, app, app_for

runner = CliRunner()

COMMANDS = [_command_name(c) for c in app.registered_commands] + [
    _command_name(g) for g in app.registered_groups
]


def _same(args: list[str]) -> None:
    full = runner.invoke(app, args)
    slim = runner.invoke(app_for(args), args)
    assert (slim.exit_code, slim.output) == (full.exit_code, full.output)


@pytest.mark.parametrize("name", COMMANDS)
def test_help_of_each_command_is_unchanged(name):
    assert app_for([name, "--help"]) is not app
    _same([name, "--help"])


@pytest.mark.parametrize(
    "args",
    [
        ["ask"],  # missing argument
        ["ask", "q", "--bogus"],  # unknown option
        ["--store", "x.duckdb", "schema", "--help"],
        ["--store=x.duckdb", "--backend", "offline", "ask", "--help"],
        ["--backend", "bogus", "ask", "q"],
        ["--model", "m", "schema"],  # a global option the command does not take
        ["why"],
        ["why", "configs", "--help"],
        ["samples"],
    ],
)
def test_errors_and_help_after_global_options_are_unchanged(args):
    _same(args)


@pytest.mark.parametrize(
    "args", [[], ["--help"], ["--version"], ["bogus"], ["--store"], ["--store", "x"], ["-x"]]
)
def test_anything_but_a_known_command_gets_the_full_app(args):
    assert app_for(args) is app


HEAVY = ("textual", "polars", "numpy", "pandas", "pyarrow", "google.genai", "openai", "rich")


def test_ask_process_imports_no_tui_llm_client_or_dataframe_library(sample_store):
    """A whole `coview ask` on the sample store, offline: none of HEAVY is imported."""
    code = (
        "import sys, runpy\n"
        "sys.argv = ['coview', 'ask', 'What is the HBM capacity of the H100 SXM?',"
        f" '--backend', 'offline', '--store', {str(sample_store)!r}]\n"
        "try:\n"
        "    runpy.run_module('coview', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"heavy = {HEAVY!r}\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in heavy"
        " or m.startswith(heavy)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "HBM" in proc.stdout or "hbm" in proc.stdout.lower(), proc.stdout[-2000:]
    assert proc.stdout.rstrip().endswith("LOADED []"), proc.stdout[-500:]


def test_keep_open_holds_the_store_only_inside_the_block(sample_store, tmp_path):
    """Inside keep_open the checked store stays open (later opens share its instance);
    after it the file can be opened for writing again in this process."""
    import shutil

    import duckdb

    from coview.store import db

    path = tmp_path / "copy.duckdb"
    shutil.copy(sample_store, path)
    with db.keep_open():
        db.check_store(path, need_data=True)
        assert str(path.resolve()) in db._HELD
        con = db.connect(path, read_only=True)
        con.close()
        with pytest.raises(duckdb.Error):  # held read-only: no writer in this process
            duckdb.connect(str(path))
    assert not db._HELD
    duckdb.connect(str(path)).close()  # released


def test_coview_connections_skip_the_distinct_aggregate_rewrite(sample_store):
    """store.db.connect switches off DuckDB 2.0's exponential DISTINCT-aggregate rewrite; the
    runner's sandbox keeps DuckDB's defaults."""
    import duckdb

    from coview.engine.runner import open_sandbox
    from coview.store import db

    known = {r[0] for r in duckdb.sql("SELECT name FROM duckdb_optimizers()").fetchall()}
    if "distinct_aggregate_rewrite" not in known:
        pytest.skip("this DuckDB has no distinct_aggregate_rewrite")
    con = db.connect(sample_store, read_only=True)
    try:
        setting = con.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    finally:
        con.close()
    assert "distinct_aggregate_rewrite" in setting
    sandbox = open_sandbox(sample_store)
    try:
        setting = sandbox.execute("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    finally:
        sandbox.close()
    assert "distinct_aggregate_rewrite" not in setting
