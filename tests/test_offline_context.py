"""The selected config (Context) fills the settings a question leaves unstated, and
comparisons check their premise before explaining it. Real Pipeline on the sample store;
config ids and expected numbers come from independent SQL, never from the engine."""

from __future__ import annotations

import duckdb
import pytest

from coview.engine.offline.fmt import fmt_value
from coview.engine.pipeline import Pipeline
from coview.engine.types import Context


@pytest.fixture(scope="module")
def db(sample_store):
    con = duckdb.connect(str(sample_store), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def pipe(sample_store):
    return Pipeline(sample_store, backend="offline")


def _config(db, system: str, phase="decode", batch=256, tp=1, dtype="int8") -> int:
    rows = db.execute(
        "SELECT config_id FROM configs WHERE system_id = ? AND phase = ? AND batch_size = ? "
        "AND tp = ? AND weight_dtype = ? ORDER BY config_id",
        [system, phase, batch, tp, dtype],
    ).fetchall()
    assert len(rows) == 1, rows
    return rows[0][0]


def _op_total(db, config_id: int, op: str) -> float:
    return db.execute(
        "SELECT sum(roofline_time_s * count) FROM operators WHERE config_id = ? AND op_type = ?",
        [config_id, op],
    ).fetchone()[0]


def _latency(db, config_id: int) -> float:
    return db.execute("SELECT latency_s FROM configs WHERE config_id = ?", [config_id]).fetchone()[
        0
    ]


def _ask(pipe, q: str, cid: int | None):
    r = pipe.ask(q, context=Context(config_id=cid))
    assert r.status == "answered", (r.answer, r.reason)
    assert r.grounding.ok, r.grounding.unmatched
    return r


def _config_ids(r) -> set[int]:
    return {row["config_id"] for row in r.rows if row.get("config_id") is not None}


def test_operator_why_question_uses_the_selected_configs_settings(pipe, db):
    ctx = _config(db, "xpu-b")
    a_cfg = _config(db, "xpu-a")
    r = _ask(pipe, "why is q_proj slower on xPU-B than xPU-A?", ctx)
    assert _config_ids(r) == {ctx, a_cfg}
    assert "At the selected config's settings: decode, batch 256, TP 1, int8." in r.answer
    ta, tb = _op_total(db, a_cfg, "q_proj"), _op_total(db, ctx, "q_proj")
    # the premise is false in this data: both take the same time; the answer says so first
    assert fmt_value(ta, "s") == fmt_value(tb, "s")
    body = r.answer.splitlines()[1]
    assert body.startswith("xPU-B's q_proj is not slower than xPU-A's here: both take")
    assert fmt_value(tb, "s") in body
    assert "slowest" not in r.answer
    # not the stated defaults (batch 1, TP 16, bf16) any more
    assert "bf16 assumed" not in r.answer and "decode assumed" not in r.answer


def test_without_context_the_stated_defaults_stay(pipe, db):
    r = _ask(pipe, "why is q_proj slower on xPU-B than xPU-A?", None)
    assert "selected config" not in r.answer
    assert "bf16 assumed" in r.answer
    assert {row["weight_dtype"] for row in r.rows} == {"bf16"}


def test_explicit_setting_in_the_question_wins(pipe, db):
    ctx = _config(db, "xpu-b")
    r = _ask(pipe, "why is q_proj slower on xPU-B than xPU-A at batch 8?", ctx)
    want = {_config(db, "xpu-a", batch=8), _config(db, "xpu-b", batch=8)}
    assert _config_ids(r) == want
    assert "At the selected config's settings: decode, TP 1, int8." in r.answer
    t = _op_total(db, _config(db, "xpu-b", batch=8), "q_proj")
    assert f"both take {fmt_value(t, 's')} per step at decode, batch 8, TP 1, int8" in r.answer

    r = _ask(pipe, "what is the prefill latency of H100 at TP 8 in bf16?", ctx)
    rows = r.rows
    assert rows and all(
        (x["phase"], x["tp"], x["weight_dtype"], x["batch_size"]) == ("prefill", 8, "bf16", 256)
        for x in rows
    )
    assert "batch 256" in r.answer.splitlines()[0]


def test_metric_lookup_and_comparison_follow_the_context(pipe, db):
    ctx = _config(db, "xpu-b")
    r = _ask(pipe, "what is the throughput of H100?", ctx)
    h = _config(db, "h100")
    assert _config_ids(r) == {h}
    tput = db.execute(
        "SELECT throughput_tok_per_s FROM configs WHERE config_id = ?", [h]
    ).fetchone()[0]
    assert fmt_value(tput, "tok/s") in r.answer

    r = _ask(pipe, "compare the latency of MI300X and H100", ctx)
    m, h = _config(db, "mi300x"), _config(db, "h100")
    assert _config_ids(r) == {m, h}
    for cid in (m, h):
        assert fmt_value(_latency(db, cid), "s") in r.answer


def test_why_question_with_a_reversed_premise_says_so_first(pipe, db):
    ctx = _config(db, "xpu-b")
    m, h = _config(db, "mi300x"), _config(db, "h100")
    lm, lh = _latency(db, m), _latency(db, h)
    assert lm < lh  # the data: MI300X is faster at these settings
    r = _ask(pipe, "why is MI300X slower than H100?", ctx)
    first = r.answer.splitlines()[1]
    assert first.startswith("MI300X is not slower than H100 here; it is the other way round")
    assert fmt_value(lm, "s") in first and fmt_value(lh, "s") in first
    # a true premise gets no such correction
    r = _ask(pipe, "why is H100 slower than MI300X?", ctx)
    assert "not slower" not in r.answer


def test_comparison_premise_false_and_yes_no(pipe, db):
    ctx = _config(db, "xpu-b")
    lm, lh = _latency(db, _config(db, "mi300x")), _latency(db, _config(db, "h100"))
    r = _ask(pipe, "how much slower is MI300X than H100?", ctx)
    assert "MI300X is not slower than H100 here" in r.answer
    assert fmt_value(lm, "s") in r.answer and fmt_value(lh, "s") in r.answer
    r = _ask(pipe, "is xPU-B slower than xPU-A?", ctx)
    assert r.answer.splitlines()[1].startswith("No.")
    la, lb = _latency(db, _config(db, "xpu-a")), _latency(db, ctx)
    assert fmt_value(la, "s") == fmt_value(lb, "s")


def test_operator_premise_reversed(pipe, db):
    ctx = _config(db, "xpu-b")
    m, h = _config(db, "mi300x"), _config(db, "h100")
    tm, th = _op_total(db, m, "q_proj"), _op_total(db, h, "q_proj")
    assert fmt_value(tm, "s") != fmt_value(th, "s")
    slow, fast = ("MI300X", "H100") if tm > th else ("H100", "MI300X")
    r = _ask(pipe, f"why is q_proj slower on {fast} than {slow}?", ctx)
    assert f"{fast}'s q_proj is not slower than {slow}'s here; it is the other way round" in (
        r.answer
    )
    r = _ask(pipe, f"why is q_proj slower on {slow} than {fast}?", ctx)
    assert "not slower" not in r.answer


def test_trend_keeps_the_context_settings_except_its_own_dimension(pipe, db):
    ctx = _config(db, "xpu-b")
    r = _ask(pipe, "how does H100 latency change with batch size?", ctx)
    assert "At the selected config's settings: decode, TP 1, int8." in r.answer
    want = {
        row[0]
        for row in db.execute(
            "SELECT config_id FROM configs WHERE system_id = 'h100' AND phase = 'decode' "
            "AND tp = 1 AND weight_dtype = 'int8' AND fits_memory"
        ).fetchall()
    }
    assert _config_ids(r) == want
    assert "best configuration over TP and data type" not in r.answer


def test_chip_questions_ignore_the_context(pipe, db):
    ctx = _config(db, "xpu-b")
    r = _ask(pipe, "tell me about the H100", ctx)
    assert "selected config" not in r.answer
    hbm = db.execute("SELECT hbm_bytes FROM systems WHERE system_id = 'h100'").fetchone()[0]
    assert any(row.get("hbm_bytes") == hbm for row in r.rows)


def test_fits_and_rank_questions_use_the_context(pipe, db):
    ctx = _config(db, "xpu-b")
    r = _ask(pipe, "does llama fit on TPU v5e?", ctx)
    assert "At the selected config's settings: decode, batch 256, TP 1, int8." in r.answer
    fits = db.execute(
        "SELECT fits_memory FROM configs WHERE config_id = ?", [_config(db, "tpu-v5e")]
    ).fetchone()[0]
    assert r.answer.splitlines()[1].startswith("Yes" if fits else "No")

    r = _ask(pipe, "is xPU-B the fastest system?", ctx)
    best = db.execute(
        "SELECT s.name, c.latency_s FROM configs c JOIN systems s USING (system_id) "
        "WHERE phase = 'decode' AND batch_size = 256 AND tp = 1 AND weight_dtype = 'int8' "
        "AND fits_memory ORDER BY latency_s LIMIT 1"
    ).fetchone()
    line = r.answer.splitlines()[1]
    assert line.startswith("Yes" if best[0] == "xPU-B" else "No")
    assert best[0] in line and fmt_value(best[1], "s") in line


def test_a_tie_is_never_framed_as_slower(pipe, db):
    ctx = _config(db, "xpu-b")
    a, b = _config(db, "xpu-a"), ctx
    ta, tb = _op_total(db, a, "q_proj"), _op_total(db, b, "q_proj")
    assert fmt_value(ta, "s") == fmt_value(tb, "s")
    r = _ask(pipe, "which is slower for q_proj, xPU-A or xPU-B?", ctx)
    assert f"q_proj takes the same time on xPU-A and xPU-B: {fmt_value(ta, 's')}" in r.answer
    assert "slowest" not in r.answer


def test_why_cost_and_efficiency_premises(pipe, db):
    ctx = _config(db, "xpu-b")
    m, h = _config(db, "mi300x"), _config(db, "h100")

    def val(cid: int, col: str) -> float:
        return db.execute(f"SELECT {col} FROM configs WHERE config_id = ?", [cid]).fetchone()[0]

    cheap, dear = ("H100", "MI300X")
    if val(h, "usd_per_1m_tokens") > val(m, "usd_per_1m_tokens"):
        cheap, dear = dear, cheap
    r = _ask(pipe, f"why is {dear} cheaper than {cheap}?", ctx)
    assert f"{dear} is not cheaper than {cheap} here; it is the other way round" in r.answer
    for cid in (m, h):
        assert fmt_value(val(cid, "usd_per_1m_tokens"), "usd/Mtok") in r.answer
    r = _ask(pipe, f"why is {cheap} cheaper than {dear}?", ctx)
    assert "not cheaper" not in r.answer

    eff, ineff = ("H100", "MI300X")
    if val(m, "perf_per_tco") > val(h, "perf_per_tco"):
        eff, ineff = ineff, eff
    r = _ask(pipe, f"why is {eff} less efficient than {ineff}?", ctx)
    assert f"{eff} is not less efficient than {ineff} here" in r.answer


def test_here_means_the_selected_configs_system(sample_store):
    """'slower here than on xPU-A' with an xPU-B config selected compares xPU-B with xPU-A."""
    import duckdb

    from coview.engine.pipeline import Pipeline
    from coview.engine.types import Context

    con = duckdb.connect(str(sample_store), read_only=True)
    cid, a_time, b_time = con.execute(
        "SELECT b.config_id, oa.roofline_time_s * oa.count, ob.roofline_time_s * ob.count "
        "FROM configs b JOIN configs a ON a.phase = b.phase AND a.batch_size = b.batch_size "
        "AND a.tp = b.tp AND a.weight_dtype = b.weight_dtype AND a.system_id = 'xpu-a' "
        "JOIN operators ob ON ob.config_id = b.config_id AND ob.op_type = 'q_proj' "
        "JOIN operators oa ON oa.config_id = a.config_id AND oa.op_type = 'q_proj' "
        "WHERE b.system_id = 'xpu-b' AND b.phase = 'decode' AND ob.weights_location = 'hbm' "
        "AND oa.weights_location = 'sram' ORDER BY b.config_id LIMIT 1"
    ).fetchone()
    con.close()
    r = Pipeline(sample_store, backend="offline").ask(
        "why is q_proj slower here than on xPU-A?", context=Context(config_id=cid)
    )
    assert r.status == "answered", r.answer
    systems = {row["system"] for row in r.rows}
    assert systems == {"xPU-A", "xPU-B"}
    assert b_time > a_time
    assert "not slower" not in r.answer
    assert r.grounding.ok
