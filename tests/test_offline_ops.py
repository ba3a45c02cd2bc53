"""Offline ask, operator-level question classes, checked against SQL written here."""

from __future__ import annotations

import pytest
from test_offline_helpers import (
    ask,
    assert_answered,
    close,
    percents_in,
    times_in,
    truth,
)

OPS = (
    "SELECT o.op_type, o.roofline_time_s * o.count AS total, o.compute_time_s, "
    "o.memory_time_s, o.comm_time_s, o.weights_location, o.op_class, o.count "
    "FROM operators o JOIN configs c USING (config_id) WHERE c.system_id = ? AND "
    "c.phase = ? AND c.batch_size = ? AND c.tp = ? AND c.weight_dtype = ?"
)


def ops(store, sid, phase, b, tp, dt):
    return truth(store, OPS, [sid, phase, b, tp, dt])


@pytest.mark.parametrize(
    "q",
    [
        "which op takes longest on xpu-b decode b64 tp4",
        "Which operator takes the most time on xPU-B for decode at batch 64, TP 4, bf16?",
        "slowest operator, xPU B, decode, bs=64, tp=4, bfloat16",
    ],
)
def test_longest_operator(sample_store, q):
    r = ask(sample_store, q)
    assert_answered(r)
    rows = ops(sample_store, "xpu-b", "decode", 64, 4, "bf16")  # bf16 is the stated default
    top_total = max(x[1] for x in rows)
    tops = {x[0] for x in rows if x[1] == top_total}
    first = r.answer.splitlines()[0]
    assert any(f", {t} takes longest" in first for t in tops), first
    assert close(top_total, times_in(first))
    total = sum(x[1] for x in rows)
    assert close(top_total / total * 100, percents_in(first), rel=0.01)
    if "bf16" not in q and "bfloat16" not in q:
        assert "bf16 assumed" in r.answer


@pytest.mark.parametrize(
    "q, cls",
    [
        ("what share of time goes to collectives on h100 decode b8 tp8 bf16", "collective"),
        (
            "What fraction of the step is all-reduce on H100, decode, batch 8, TP 8, bf16?",
            "collective",
        ),
        ("percentage of time in attention for h100 decode bs 8 tp 8 bf16", "attention"),
    ],
)
def test_share_of_time(sample_store, q, cls):
    r = ask(sample_store, q)
    assert_answered(r)
    rows = ops(sample_store, "h100", "decode", 8, 8, "bf16")
    part = sum(x[1] for x in rows if x[6] == cls)
    total = sum(x[1] for x in rows)
    assert close(part / total * 100, percents_in(r.answer), rel=0.01), r.answer
    t = times_in(r.answer)
    assert close(part, t) and close(total, t)


@pytest.mark.parametrize(
    "q, op, args",
    [
        (
            "is q_proj compute or memory bound on h100 decode batch 256 tp 8 bf16",
            "q_proj",
            ("h100", "decode", 256, 8, "bf16"),
        ),
        (
            "Is the query projection memory-bound on TPU v5e in prefill at batch 16, TP 8, int8?",
            "q_proj",
            ("tpu-v5e", "prefill", 16, 8, "int8"),
        ),
        (
            "what bounds all_reduce on mi300x decode b1 tp8 bf16",
            "all_reduce",
            ("mi300x", "decode", 1, 8, "bf16"),
        ),
        (
            "ffn_down bottleneck on xpu-a decode bs 32 tp 4 fp8?",
            "ffn_down",
            ("xpu-a", "decode", 32, 4, "fp8"),
        ),
    ],
)
def test_bound_from_three_times(sample_store, q, op, args):
    r = ask(sample_store, q)
    assert_answered(r)
    row = [x for x in ops(sample_store, *args) if x[0] == op][0]
    times = {"compute": row[2], "memory": row[3], "communication": row[4]}
    winner = max(times, key=times.get)
    assert f"{op} is {winner}-bound" in r.answer, r.answer
    got = times_in(r.answer)
    # the answer shows all three times, not just the roofline column
    assert all(close(v, got) or v == 0 for v in times.values()), (times, r.answer)
    assert "compute" in r.answer and "memory" in r.answer and "communication" in r.answer


@pytest.mark.parametrize(
    "q, sid",
    [
        ("where do xPU-A's weights live in decode at batch 8, TP 16, int8?", "xpu-a"),
        ("Are the weights of xpu-b kept in SRAM or HBM for decode bs 8 tp 16 int8?", "xpu-b"),
    ],
)
def test_weights_location(sample_store, q, sid):
    r = ask(sample_store, q)
    assert_answered(r)
    rows = ops(sample_store, sid, "decode", 8, 16, "int8")
    for loc in ("sram", "hbm"):
        names = [x[0] for x in rows if x[5] == loc]
        for n in names:
            seg = r.answer.split(f"from {loc.upper()}")[0]
            assert n in seg.split(";")[-1] or n in seg, (n, loc, r.answer)
    assert ("SRAM" in r.answer) == any(x[5] == "sram" for x in rows)


def test_operator_differs_most_between_two_systems(sample_store):
    q = "which operator differs most between xPU-A and xPU-B at decode batch 8, TP 16, int8"
    r = ask(sample_store, q)
    assert_answered(r)
    a: dict[str, float] = {}
    b: dict[str, float] = {}
    for d, sid in ((a, "xpu-a"), (b, "xpu-b")):
        for x in ops(sample_store, sid, "decode", 8, 16, "int8"):
            d[x[0]] = d.get(x[0], 0.0) + x[1]
    diffs = {k: abs(a[k] - b[k]) for k in a}
    best = max(diffs.values())
    tops = [k for k, v in diffs.items() if abs(v - best) <= 1e-12]  # ties are all correct
    top = next(k for k in tops if r.answer.startswith(k))
    t = times_in(r.answer)
    assert close(a[top], t) and close(b[top], t) and close(diffs[top], t)


def test_operator_time_lookup(sample_store):
    r = ask(sample_store, "how long does ffn_down take on h100 decode batch 8 tp 8 bf16")
    assert_answered(r)
    row = [x for x in ops(sample_store, "h100", "decode", 8, 8, "bf16") if x[0] == "ffn_down"][0]
    assert close(row[1], times_in(r.answer)) and str(row[7]) in r.answer


def test_system_with_slowest_operator(sample_store):
    r = ask(sample_store, "Which system's q_proj is slowest in decode at batch 64, TP 8, int8?")
    assert_answered(r)
    rows = truth(
        sample_store,
        "SELECT s.name, o.roofline_time_s * o.count FROM operators o JOIN configs c "
        "USING (config_id) JOIN systems s USING (system_id) WHERE o.op_type = 'q_proj' AND "
        "c.phase = 'decode' AND c.batch_size = 64 AND c.tp = 8 AND c.weight_dtype = 'int8' "
        "ORDER BY 2 DESC",
    )
    assert r.answer.startswith(f"{rows[0][0]}'s q_proj is slowest"), r.answer
    assert close(rows[0][1], times_in(r.answer.splitlines()[0]))


def test_operator_sql_is_scoped_to_configs(sample_store):
    """Operator questions pick their config first, then join operators on config_id."""
    r = ask(sample_store, "which op takes longest on h100 decode b8 tp8 bf16")
    assert_answered(r)
    sql = r.sql[0].lower()
    assert "with cfg as" in sql and "o.config_id = cfg.config_id" in sql


def test_which_operators_are_memory_bound(sample_store):
    r = ask(sample_store, "which operators are memory bound on xpu-a decode batch 1 tp 8 bf16")
    assert_answered(r)
    rows = ops(sample_store, "xpu-a", "decode", 1, 8, "bf16")
    mem = {x[0] for x in rows if x[3] >= x[2] and x[3] >= x[4]}
    other = {x[0] for x in rows} - mem
    head = r.answer.splitlines()[0]
    assert all(o in r.answer for o in mem)
    assert all(f"  {o} is" not in r.answer for o in other), r.answer
    assert "memory-bound operators" in head


def test_why_is_this_config_slow_shows_where_time_goes(sample_store):
    from coview.engine.types import Context

    cid = truth(
        sample_store,
        "SELECT config_id FROM configs WHERE system_id='h100' AND phase='decode' "
        "AND batch_size=8 AND tp=8 AND weight_dtype='bf16'",
    )[0][0]
    r = ask(sample_store, "why is this config slow", context=Context(config_id=cid))
    assert_answered(r)
    rows = ops(sample_store, "h100", "decode", 8, 8, "bf16")
    top = max(rows, key=lambda x: x[1])
    times = {"compute": top[2], "memory": top[3], "communication": top[4]}
    assert f"{top[0]} takes longest" in r.answer
    assert f"It is {max(times, key=times.get)}-bound" in r.answer


def test_why_slower_points_at_the_operator_and_its_weights(sample_store):
    r = ask(sample_store, "why is xPU-B slower than xPU-A at decode batch 8 tp 16 int8?")
    assert_answered(r)
    a = {x[0]: (x[1], x[5]) for x in ops(sample_store, "xpu-a", "decode", 8, 16, "int8")}
    b = {x[0]: (x[1], x[5]) for x in ops(sample_store, "xpu-b", "decode", 8, 16, "int8")}
    top = r.answer.split(" differs most")[0]
    assert abs(a[top][0] - b[top][0]) == max(abs(a[k][0] - b[k][0]) for k in a)
    if a[top][1] != b[top][1]:
        assert "SRAM" in r.answer and "HBM" in r.answer


@pytest.fixture(scope="module")
def mismatch_store(tmp_path_factory):
    from coview.sample_data import MISMATCH_SWEEP
    from coview.store.ingest import ingest

    path = tmp_path_factory.mktemp("mismatch") / "mm.duckdb"
    ingest([MISMATCH_SWEEP], path, fmt="native", progress=False)
    return path


def test_mismatched_activation_types_are_flagged(mismatch_store):
    acts = dict(truth(mismatch_store, "SELECT DISTINCT system_id, act_dtype FROM configs"))
    assert acts["xpu-a"] != acts["xpu-b"]  # the planted bug of this sweep
    r = ask(mismatch_store, "xpu-a vs xpu-b decode latency")
    assert_answered(r)
    assert "not apples to apples" in r.answer and acts["xpu-b"] in r.answer
    r = ask(mismatch_store, "were xPU-A and xPU-B run with different activation data types?")
    assert_answered(r)
    assert r.answer.startswith("Yes")
    r = ask(mismatch_store, "were xPU-A and xPU-B run with the same data types?")
    assert r.answer.startswith("No")
