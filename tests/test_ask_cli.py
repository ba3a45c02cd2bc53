"""`coview ask`: the --json contract, the human output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from coview.cli import app

runner = CliRunner()


def run(store, *args):
    return runner.invoke(app, ["ask", *args, "--store", str(store), "--backend", "offline"])


def test_json_contract_answered(sample_store):
    res = run(sample_store, "h100 vs mi300x decode latency bs 8 tp 8 bf16", "--json")
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    for key in ("status", "answer", "sql", "rows", "backend", "grounding"):
        assert key in obj
    assert obj["status"] == "answered" and obj["backend"] == "offline"
    assert (
        isinstance(obj["sql"], list) and obj["sql"] and all(isinstance(s, str) for s in obj["sql"])
    )
    assert isinstance(obj["rows"], list) and all(isinstance(r, dict) for r in obj["rows"])
    assert {r["system"] for r in obj["rows"]} == {"H100", "MI300X"}
    g = obj["grounding"]
    assert g["ok"] is True and g["numbers"]
    assert all(n["matched"] for n in g["numbers"])


def test_json_contract_refused_exit_zero(sample_store):
    res = run(sample_store, "What is the decode latency of B200 at batch 8?", "--json")
    assert res.exit_code == 0, res.output
    obj = json.loads(res.output)
    assert obj["status"] == "refused"
    assert "B200" in obj["answer"] and obj["sql"] == [] and obj["rows"] == []
    assert obj["suggestions"]


def test_human_output_answer_sql_table_badge(sample_store):
    res = run(sample_store, "which op takes longest on xpu-b decode b64 tp4", "--show-sql")
    assert res.exit_code == 0, res.output
    out = res.output
    assert out.index("takes longest") < out.index("SQL:") < out.index("Evidence:")
    assert "WITH cfg AS" in out
    assert "grounded:" in out and "numbers traced to evidence" in out
    assert "of 12 rows" in out  # 12 operators, capped table says how many are shown
    assert max(len(line) for line in out.splitlines() if not line.startswith("  ")) <= 100


def test_human_output_refusal_is_labelled(sample_store):
    res = run(sample_store, "what is the power of the HBM on H100")
    assert res.exit_code == 0
    assert res.output.startswith("Cannot answer:")
    assert "HBM" in res.output and "Questions the data can answer" in res.output


def test_sql_hidden_without_flag(sample_store):
    res = run(sample_store, "TDP of tpu v5e")
    assert res.exit_code == 0
    assert "SQL:" not in res.output and "--show-sql" in res.output


def test_real_command_exit_code_on_error(sample_store, tmp_path):
    """A missing store is an error: non-zero exit and a message saying what to do."""
    missing = tmp_path / "nope.duckdb"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "coview",
            "ask",
            "latency of h100",
            "--store",
            str(missing),
            "--backend",
            "offline",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "nope.duckdb" in (proc.stdout + proc.stderr)
