"""Options given before the command (`coview --store X ask ...`): honoured or refused, never
accepted and then ignored (issue 10, item 12)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from coview.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def mismatch_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding only xPU-A and xPU-B (no H100), unlike the bundled sample."""
    from coview.sample_data import MISMATCH_SWEEP
    from coview.store.ingest import ingest

    path = tmp_path_factory.mktemp("mismatch") / "mm.duckdb"
    ingest([MISMATCH_SWEEP], path, fmt="native", progress=False)
    return path


def test_store_before_ask_is_the_store_asked(mismatch_store):
    res = runner.invoke(
        app,
        ["--store", str(mismatch_store), "--backend", "offline", "ask", "tdp of h100", "--json"],
    )
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    # The sample store has an H100 and would answer; the named store has none.
    assert obj["status"] == "refused", obj
    assert "xPU-A" in obj["answer"] and "xPU-B" in obj["answer"]


def test_missing_store_before_ask_exits_nonzero(tmp_path):
    missing = tmp_path / "nonexistent.duckdb"
    res = runner.invoke(app, ["--store", str(missing), "ask", "latency of h100"])
    assert res.exit_code == 2
    assert "nonexistent.duckdb" in res.stderr and "coview ingest" in res.stderr
    assert res.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["--backend", "bogus", "ask", "tdp of h100"],
        ["ask", "tdp of h100", "--backend", "bogus"],
    ],
)
def test_unknown_backend_is_an_error(sample_store, args):
    res = runner.invoke(app, [*args, "--store", str(sample_store)])
    assert res.exit_code == 2, res.output
    assert "unknown backend 'bogus'" in res.stderr and "offline" in res.stderr


def test_unknown_backend_from_environment_is_an_error(sample_store, monkeypatch):
    monkeypatch.setenv("COVIEW_BACKEND", "bogus")
    res = runner.invoke(app, ["ask", "tdp of h100", "--store", str(sample_store)])
    assert res.exit_code == 2
    assert "unknown backend 'bogus'" in res.stderr


def test_store_before_ingest_is_the_store_written(tmp_path):
    from coview.sample_data import MISMATCH_SWEEP

    target = tmp_path / "new.duckdb"
    res = runner.invoke(app, ["--store", str(target), "ingest", str(MISMATCH_SWEEP)])
    assert res.exit_code == 0, res.output
    con = duckdb.connect(str(target), read_only=True)
    assert con.execute("SELECT sweep_id FROM sweeps").fetchall() == [("xpu-mismatch",)]
    con.close()


def test_store_before_schema_is_the_store_read(tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    res = runner.invoke(app, ["--store", str(empty), "schema"])
    assert res.exit_code == 2  # it read the empty file, not the bundled sample
    assert "empty.duckdb" in res.stderr


@pytest.mark.parametrize(
    "args, flag, command",
    [
        (["--store", "x.duckdb", "simulate", "spec.toml", "--out", "d"], "--store", "simulate"),
        (["--backend", "offline", "sessions"], "--backend", "sessions"),
        (["--store", "x.duckdb", "export", "s1"], "--store", "export"),
        (["--model", "m", "ingest", "d", "--store", "x.duckdb"], "--model", "ingest"),
    ],
)
def test_option_a_command_does_not_take_is_refused(args, flag, command):
    res = runner.invoke(app, args)
    assert res.exit_code == 2, res.output
    assert f"{flag} does not apply to `coview {command}`" in res.stderr


def test_option_given_before_and_after_the_command_is_refused(sample_store, tmp_path):
    for late in (["--store", str(tmp_path / "b.duckdb")], [f"--store={tmp_path / 'b.duckdb'}"]):
        res = runner.invoke(app, ["--store", str(sample_store), "ask", "tdp of h100", *late])
        assert res.exit_code == 2, res.output
        assert "--store is given both before and after `ask`" in res.stderr


def test_tui_gets_the_store_and_backend_given(sample_store, monkeypatch):
    import coview.tui.app as tui_app

    seen = {}
    monkeypatch.setattr(
        tui_app, "run_app", lambda path, settings: seen.update(path=path, backend=settings.backend)
    )
    res = runner.invoke(app, ["--store", str(sample_store), "--backend", "offline"])
    assert res.exit_code == 0, res.output
    assert seen == {"path": sample_store, "backend": "offline"}


def test_real_process_uses_the_store_given_first(mismatch_store):
    proc = subprocess.run(
        [sys.executable, "-m", "coview", "--store", str(mismatch_store), "ask", "tdp of h100"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Cannot answer:") and "xPU-A" in proc.stdout
