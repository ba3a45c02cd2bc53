"""The VIEW paper's Table I conversations, offline, through `coview ask --session`.

Each answer is checked against the data (or an independent re-simulation) by SQL written
here, not against text the answerer produced.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from coview.cli import app

HEADLINE = "decode batch 8 TP 8 int8"


def ask(store, session, question):
    res = CliRunner().invoke(
        app, ["ask", question, "--json", "--session", session, "--store", str(store)]
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.output)


@pytest.fixture()
def sessions(tmp_path, monkeypatch):
    monkeypatch.setenv("COVIEW_SESSIONS_DIR", str(tmp_path / "sessions"))
    return tmp_path / "sessions"


@pytest.fixture(scope="module")
def mismatch_store(tmp_path_factory):
    from coview.sample_data import MISMATCH_SWEEP
    from coview.store.ingest import ingest

    path = tmp_path_factory.mktemp("mismatch") / "mismatch.duckdb"
    ingest([MISMATCH_SWEEP], path, fmt="native", progress=False)
    return path


def one(store, sql, params=()):
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchone()
    finally:
        con.close()


def test_user_a_sequence(sample_store, sessions):
    s = "table-one-a"
    r1 = ask(sample_store, s, f"Which system is faster at {HEADLINE}, xPU-A or xPU-B?")
    la, lb = (
        one(
            sample_store,
            "SELECT latency_s FROM configs WHERE system_id = ? AND phase = 'decode' AND "
            "batch_size = 8 AND tp = 8 AND weight_dtype = 'int8'",
            [sid],
        )[0]
        for sid in ("xpu-a", "xpu-b")
    )
    faster = "xPU-A" if la < lb else "xPU-B"
    assert r1["status"] == "answered" and r1["answer"].startswith(f"{faster} is faster")

    r2 = ask(sample_store, s, "Why is the Q projection runtime different?")
    wa, wb = (
        one(
            sample_store,
            "SELECT o.weights_location FROM operators o JOIN configs c USING (config_id) "
            "WHERE c.system_id = ? AND c.phase = 'decode' AND c.batch_size = 8 AND c.tp = 8 "
            "AND c.weight_dtype = 'int8' AND o.op_type = 'q_proj'",
            [sid],
        )[0]
        for sid in ("xpu-a", "xpu-b")
    )
    assert r2["status"] == "answered" and "q_proj" in r2["answer"].split("\n")[0]
    assert f"from {wa.upper()} on xPU-A but from {wb.upper()} on xPU-B" in r2["answer"]

    r5 = ask(sample_store, s, "If we increase xPU-B's SRAM by 7%, would it pin the q_proj weights?")
    assert r5["status"] == "answered" and r5["interpretation"].get("simulated")
    need, cap = one(
        sample_store,
        "SELECT TRY_CAST(json_extract_string(o.extra, '$.sram_needed_bytes') AS DOUBLE), "
        "s.sram_bytes FROM operators o JOIN configs c USING (config_id) JOIN systems s "
        "USING (system_id) WHERE c.system_id = 'xpu-b' AND c.phase = 'decode' AND "
        "c.batch_size = 8 AND c.tp = 8 AND c.weight_dtype = 'int8' AND o.op_type = 'q_proj'",
    )
    pinned_after = need <= cap * 1.07
    assert ("now reads its weights from SRAM" in r5["answer"]) == pinned_after, r5["answer"]

    r6 = ask(sample_store, s, "How much do I need to increase xPU-B's SRAM?")
    assert r6["status"] == "answered", r6["answer"]
    search = next(r for r in r6["rows"] if "threshold" in r)
    # the bisection lands where q_proj's recorded need (weights + activations) is met
    assert search["threshold"] == pytest.approx(need, rel=1e-6)
    session_file = sessions / f"{s}.jsonl"
    turns = [json.loads(x) for x in session_file.read_text().splitlines() if '"turn"' in x]
    assert len(turns) == 4


def test_user_b_sequence_on_the_mismatch_sweep(mismatch_store, sessions):
    s = "table-one-b"
    r1 = ask(mismatch_store, s, "Which system is faster, xPU-A or xPU-B?")
    assert r1["status"] == "answered" and "not apples to apples" in r1["answer"]
    r4 = ask(mismatch_store, s, "Why do the activations need more memory on xPU-B?")
    acts = dict(
        duckdb.connect(str(mismatch_store), read_only=True)
        .execute(
            "SELECT DISTINCT s.name, c.act_dtype FROM configs c JOIN systems s USING (system_id)"
        )
        .fetchall()
    )
    assert r4["status"] == "answered"
    assert f"xPU-B's activations are {acts['xPU-B']}" in r4["answer"]
    if (acts["xPU-B"], acts["xPU-A"]) == ("int8", "bf16"):
        assert "premise is false" in r4["answer"]
    r5 = ask(mismatch_store, s, "Were the two systems simulated with the same data types?")
    assert r5["status"] == "answered" and r5["answer"].startswith("No")


def test_session_name_and_store_are_checked(sample_store, sessions, tmp_path):
    res = CliRunner().invoke(
        app, ["ask", "x", "--session", "../evil", "--store", str(sample_store)]
    )
    assert res.exit_code == 2 and "session name" in res.output
    ask(sample_store, "named", "decode latency of H100 at batch 8 TP 8 bf16")
    other = tmp_path / "other.duckdb"
    other.write_bytes(sample_store.read_bytes())
    res = CliRunner().invoke(app, ["ask", "x", "--session", "named", "--store", str(other)])
    assert res.exit_code == 2 and "was made against" in res.output
