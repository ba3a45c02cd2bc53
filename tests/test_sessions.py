"""Sessions: durable JSONL turns, torn lines, config snapshots, store-change warnings, export."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from coview.engine.types import AskResult, Context, Evidence, GroundedNumber, Grounding
from coview.store import sessions as S
from coview.store.schema import create_schema

SYSTEMS = [("h100", "H100"), ("xpua", "xPU-A")]


def _build_store(path: Path) -> Path:
    """A tiny schema-v1 store: 2 systems x 3 batch sizes, 3 operators per config."""
    con = duckdb.connect(str(path))
    create_schema(con)
    con.execute(
        "INSERT INTO sweeps (sweep_id, name, ingested_at) VALUES ('s1', 'tiny', TIMESTAMP '2026-01-01')"
    )
    con.execute("INSERT INTO models (model_id, name) VALUES ('llama', 'Llama-2-70B')")
    cid = 0
    for sid, name in SYSTEMS:
        con.execute("INSERT INTO systems (system_id, name) VALUES (?, ?)", [sid, name])
        for b in (1, 8, 64):
            cid += 1
            lat = (0.01 if sid == "h100" else 0.02) * (1 + b / 16)
            con.execute(
                "INSERT INTO configs (config_id, sweep_id, system_id, model_id, phase, batch_size, tp,"
                " latency_s, perf_per_tco, fits_memory, weight_dtype) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [cid, "s1", sid, "llama", "decode", b, 8, lat, b / lat / 10, True, "bf16"],
            )
            for k, (op, t) in enumerate([("q_proj", 1e-4), ("ffn_up", 4e-4), ("all_reduce", 5e-5)]):
                con.execute(
                    "INSERT INTO operators (config_id, op_index, op_type, op_class, count,"
                    " compute_time_s, memory_time_s, comm_time_s, roofline_time_s, bound)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?)",
                    [cid, k, op, "collective" if op == "all_reduce" else "gemm", 80,
                     t / 2, t, 0.0, t, "memory"],
                )  # fmt: skip
    con.close()
    return path


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return _build_store(tmp_path / "tiny.duckdb")


@pytest.fixture(autouse=True)
def _sessions_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "sessions"
    monkeypatch.setenv("COVIEW_SESSIONS_DIR", str(d))
    return d


def _result(question: str, store: Path, status: str = "answered", n_rows: int = 3) -> AskResult:
    con = duckdb.connect(str(store), read_only=True)
    sql = (
        "SELECT c.config_id, s.name AS system, c.batch_size, c.latency_s, c.perf_per_tco "
        f"FROM configs c JOIN systems s USING (system_id) ORDER BY c.config_id LIMIT {n_rows}"
    )
    cur = con.execute(sql)
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    con.close()
    return AskResult(
        question=question,
        status=status,  # type: ignore[arg-type]
        answer=f"The latency is {rows[0][3] * 1e3:.1f} ms." if status == "answered" else "I can't.",
        backend="offline",
        sql=[sql],
        evidence=[Evidence(sql=sql, columns=cols, rows=rows)],
        grounding=Grounding([GroundedNumber("10.6 ms", 10.6, "latency_s")]),
        elapsed_s=0.0123,
    )


def test_write_and_reload_turns(store: Path) -> None:
    w = S.SessionWriter.create(store, "offline")
    assert w.path.exists() and w.path.parent == Path(os.environ["COVIEW_SESSIONS_DIR"])
    assert len(w.id.split("-")) == 3 and w.path.stem == w.id
    w.append_turn(_result("latency of h100 b1?", store), Context(config_id=1))
    w.append_turn(_result("bogus?", store, status="refused", n_rows=0), Context())
    s = S.load_session(w.id)
    assert s.header["backend"] == "offline" and s.header["store_path"] == str(store.resolve())
    assert s.header["store_fingerprint"]
    assert [t["question"] for t in s.turns] == ["latency of h100 b1?", "bogus?"]
    t0 = s.turns[0]
    assert t0["status"] == "answered" and t0["sql"][0].startswith("SELECT")
    assert t0["columns"] == ["config_id", "system", "batch_size", "latency_s", "perf_per_tco"]
    assert t0["rows"][0]["system"] == "H100" and t0["rows_total"] == 3
    assert t0["grounding"]["ok"] is True and t0["context_config_id"] == 1
    assert s.turns[1]["status"] == "refused"
    # the context config and the evidence's config_ids were snapshotted automatically
    assert set(s.configs) == {1, 2, 3}
    assert s.store_changed() is None
    # by path and by unique prefix too
    assert S.load_session(str(w.path)).id == w.id
    assert S.load_session(w.id[:-2]).id == w.id


def test_rows_capped_per_turn(store: Path) -> None:
    w = S.SessionWriter.create(store, "offline")
    r = _result("many", store)
    ev = r.evidence[0]
    ev.rows = ev.rows * 100  # 300 rows
    w.append_turn(r, Context())
    t = S.load_session(w.id).turns[0]
    assert len(t["rows"]) == S.ROW_CAP and t["rows_total"] == 300 and t["rows_truncated"]
    assert len(t["evidence"][0]["rows"]) == S.ROW_CAP and t["evidence"][0]["row_count"] == 300


def test_torn_last_line_is_skipped_with_warning(store: Path) -> None:
    w = S.SessionWriter.create(store, "offline")
    w.append_turn(_result("one", store), Context())
    w.append_turn(_result("two", store), Context())
    with open(w.path, "a") as fh:
        fh.write('{"type": "turn", "question": "three", "ans')  # crash mid-write
    with pytest.warns(UserWarning, match="torn last line"):
        s = S.load_session(w.id)
    assert [t["question"] for t in s.turns] == ["one", "two"]
    assert s.warnings and "torn" in s.warnings[0]


def test_not_a_session_and_unknown_id(store: Path, tmp_path: Path) -> None:
    bad = tmp_path / "junk.jsonl"
    bad.write_text('{"hello": 1}\n')
    with pytest.raises(S.SessionError, match="not a coview session"):
        S.load_session(str(bad))
    with pytest.raises(S.SessionError, match="no saved sessions"):
        S.load_session("20990101-000000-dead")
    w = S.SessionWriter.create(store, "offline")
    with pytest.raises(S.SessionError, match=w.id):  # lists recent ids
        S.load_session("20990101-000000-dead")


def test_kill_durability(store: Path) -> None:
    """A process that appends 3 turns and is SIGKILLed loses none of them."""
    script = textwrap.dedent(
        f"""
        import os, sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_sessions import _result
        from coview.engine.types import Context
        from coview.store.sessions import SessionWriter
        from pathlib import Path
        store = Path({str(store)!r})
        w = SessionWriter.create(store, "offline")
        for q in ("a", "b", "c"):
            w.append_turn(_result(q, store), Context())
        print(w.id, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        sid = proc.stdout.readline().strip()  # type: ignore[union-attr]
        assert sid, "child did not start"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    s = S.load_session(sid)
    assert [t["question"] for t in s.turns] == ["a", "b", "c"]


def test_record_config_snapshot_survives_store_change(store: Path) -> None:
    w = S.SessionWriter.create(store, "offline")
    w.record_config(4)
    w.record_config(4)  # once per session
    with pytest.raises(S.SessionError, match="config 999"):
        w.record_config(999)
    lines = [json.loads(x) for x in w.path.read_text().splitlines()]
    assert sum(1 for x in lines if x["type"] == "config") == 1
    con = duckdb.connect(str(store))
    con.execute("DELETE FROM operators WHERE config_id = 4")
    con.execute("UPDATE configs SET latency_s = 99 WHERE config_id = 4")
    con.close()
    s = S.load_session(w.id)
    snap = s.configs[4]
    assert snap["config"]["system_name"] == "xPU-A" and snap["config"]["batch_size"] == 1
    assert snap["config"]["latency_s"] != 99
    assert [o["op_type"] for o in snap["operators"]] == ["q_proj", "ffn_up", "all_reduce"]
    # deleting rows changed the counts in the fingerprint
    assert "changed" in (s.store_changed() or "")


def test_store_changed_on_new_sweep_and_when_gone(store: Path) -> None:
    w = S.SessionWriter.create(store, "offline")
    assert S.load_session(w.id).store_changed() is None
    con = duckdb.connect(str(store))
    con.execute("INSERT INTO sweeps (sweep_id, name, ingested_at) VALUES ('s2', 'more', now())")
    con.close()
    assert "has changed" in (S.load_session(w.id).store_changed() or "")
    store.unlink()
    assert "no longer exists" in (S.load_session(w.id).store_changed() or "")


def test_fingerprint_when_store_open_with_other_config(store: Path) -> None:
    """The guarded runner holds its own connection config; the fingerprint still reads."""
    fp = S.store_fingerprint(store)
    held = duckdb.connect(str(store), read_only=True, config={"enable_external_access": False})
    try:
        assert S.store_fingerprint(store) == fp
    finally:
        held.close()


def test_export_markdown(store: Path) -> None:
    w = S.SessionWriter.create(store, "offline")
    w.append_turn(_result("compare h100 and xpu-a", store, n_rows=6), Context(config_id=1))
    w.append_turn(_result("nonsense", store, status="refused", n_rows=0), Context())
    s = S.load_session(w.id)
    md = S.export_markdown(s)
    assert md.startswith(f"# coview session {w.id}")
    assert "```sql\nSELECT c.config_id" in md
    # evidence in readable units, the unit in the header (issue 10 item 10)
    assert "| config_id | system | batch_size | latency (ms) | perf_per_tco |" in md
    assert "| 1 | H100 | 1 |" in md
    assert "**Refused:**" in md
    # a text Pareto plot with one marker per system and axis labels, and no ANSI codes
    assert "latency (ms)" in md and "* H100  + xPU-A" in md
    assert "\x1b[" not in md
    # operator breakdown of a referred config as a text bar chart
    assert "### config 1" in md and "ffn_up |" in md and "total |" in md
    assert "Warning" not in md
    store.unlink()
    assert "no longer exists" in S.export_markdown(S.load_session(w.id))


def test_cli_sessions_and_export(store: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from coview.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["sessions"])
    assert res.exit_code == 0 and "No saved sessions" in res.output
    w = S.SessionWriter.create(store, "offline")
    w.append_turn(_result("q1", store), Context())
    res = runner.invoke(app, ["sessions"])
    assert res.exit_code == 0, res.output
    line = next(x for x in res.output.splitlines() if x.startswith(w.id))
    assert " 1 " in line and "offline" in line
    res = runner.invoke(app, ["export", w.id, "--format", "md"])
    assert res.exit_code == 0, res.output
    assert "```sql" in res.output and "## 1. q1" in res.output
    out = tmp_path / "report.md"
    res = runner.invoke(app, ["export", w.id, "--out", str(out)])
    assert res.exit_code == 0 and out.read_text().startswith("# coview session")
    res = runner.invoke(app, ["export", "nope"])
    assert res.exit_code != 0 and "no session 'nope'" in res.output
    res = runner.invoke(app, ["export", w.id, "--format", "pdf"])
    assert res.exit_code != 0 and "--format md" in res.output


def test_concurrent_turns_and_configs(store: Path) -> None:
    """The TUI writes turns and config snapshots from different threads: no torn or duplicate lines."""
    import threading

    w = S.SessionWriter.create(store, "offline")
    results = [_result(f"q{i}", store) for i in range(8)]
    threads = [threading.Thread(target=w.append_turn, args=(r, Context())) for r in results]
    threads += [threading.Thread(target=w.record_config, args=(5,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = S.load_session(w.id)
    assert not s.warnings
    assert sorted(t["n"] for t in s.turns) == list(range(1, 9))
    lines = [json.loads(x) for x in w.path.read_text().splitlines()]
    assert sum(1 for x in lines if x["type"] == "config" and x["config_id"] == 5) == 1
