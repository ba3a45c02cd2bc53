"""Offline ask, config- and system-level question classes, on the sample store.

Each class is asked in several phrasings (terse and sloppy ones included); the numbers in
the answer are checked against SQL written here, independent of the offline sqlgen.
"""

from __future__ import annotations

import pytest
from test_offline_helpers import (
    ask,
    assert_answered,
    bytes_in,
    close,
    one,
    percents_in,
    plain_numbers,
    ratios_in,
    times_in,
    truth,
)

from coview.engine.types import Context, Turn

CFG = (
    "SELECT {col} FROM configs WHERE system_id = ? AND phase = ? AND batch_size = ? "
    "AND tp = ? AND weight_dtype = ?"
)


@pytest.mark.parametrize(
    "q",
    [
        "What is the decode latency of H100 at batch 8, TP 8, bf16?",
        "h100 decode latency bs 8 tp 8 bf16",
        "time per token on the H100 SXM, batch size of 8, 8-way tensor parallel, bfloat16",
        "step time for h100-sxm-80gb decode b8 tp=8 bf16?",
    ],
)
def test_lookup_one_config_latency(sample_store, q):
    r = ask(sample_store, q)
    assert_answered(r)
    (lat,) = one(sample_store, CFG.format(col="latency_s"), ["h100", "decode", 8, 8, "bf16"])
    assert close(lat, times_in(r.answer)), r.answer
    assert "H100" in r.answer and "batch 8" in r.answer and "TP 8" in r.answer


@pytest.mark.parametrize(
    "q, col, phase, args",
    [
        ("TTFT of tpu v5p at batch 4 tp 4 int8", "latency_s", "prefill", ("tpu-v5p", 4, 4, "int8")),
        (
            "time to first token, TPUv5p, bs=4, TP4, int8",
            "latency_s",
            "prefill",
            ("tpu-v5p", 4, 4, "int8"),
        ),
        (
            "tokens per second of mi300x decode batch 64 tp 8 fp8",
            "throughput_tok_per_s",
            "decode",
            ("mi300x", 64, 8, "fp8"),
        ),
        (
            "cost per million tokens for xpu-a, tp 8, batch 64, fp8 decode",
            "usd_per_1m_tokens",
            "decode",
            ("xpu-a", 64, 8, "fp8"),
        ),
        (
            "$/M tokens xPU A decode b64 tp8 fp8",
            "usd_per_1m_tokens",
            "decode",
            ("xpu-a", 64, 8, "fp8"),
        ),
        (
            "perf/TCO of h100 at batch 32, tp 4, int8, decode",
            "perf_per_tco",
            "decode",
            ("h100", 32, 4, "int8"),
        ),
    ],
)
def test_lookup_other_metrics(sample_store, q, col, phase, args):
    r = ask(sample_store, q)
    assert_answered(r)
    sid, b, tp, dt = args
    (v,) = one(sample_store, CFG.format(col=col), [sid, phase, b, tp, dt])
    got = times_in(r.answer) if col == "latency_s" else plain_numbers(r.answer)
    assert close(v, got), (v, r.answer)
    assert phase in r.answer


def test_lookup_unpinned_states_best_and_range(sample_store):
    r = ask(sample_store, "throughput of h100 at batch 16")
    assert_answered(r)
    rows = truth(
        sample_store,
        "SELECT throughput_tok_per_s, fits_memory FROM configs WHERE system_id='h100' "
        "AND phase='decode' AND batch_size=16",
    )
    fit = [t for t, f in rows if f]
    nums = plain_numbers(r.answer)
    assert close(max(fit), nums) and close(min(fit), nums)
    assert str(len(rows)) in r.answer  # how many configs matched
    assert "decode assumed" in r.answer  # the default is said, not silent


@pytest.mark.parametrize(
    "q, col, sid, conv",
    [
        ("What is the HBM capacity of the H100 SXM?", "hbm_bytes", "h100", "bytes"),
        ("h100-sxm-80gb hbm bandwidth", "hbm_bw_bytes_per_s", "h100", "bw"),
        ("TDP of tpu v5e", "tdp_w", "tpu-v5e", "plain"),
        ("how much SRAM does xPU-A have", "sram_bytes", "xpu-a", "bytes"),
        ("price per chip-hour of the mi300x", "tco_usd_per_chip_hour", "mi300x", "plain"),
        ("peak bf16 flops of MI300X", "peak_flops_bf16", "mi300x", "tflops"),
    ],
)
def test_system_property(sample_store, q, col, sid, conv):
    r = ask(sample_store, q)
    assert_answered(r)
    (v,) = one(sample_store, f"SELECT {col} FROM systems WHERE system_id = ?", [sid])
    if conv == "bytes":
        got = bytes_in(r.answer)
    elif conv == "bw":
        got = [x * 1e12 for x in plain_numbers(r.answer)] + [
            x * 1e9 for x in plain_numbers(r.answer)
        ]
    elif conv == "tflops":
        got = [x * 1e12 for x in plain_numbers(r.answer)] + [
            x * 1e15 for x in plain_numbers(r.answer)
        ]
    else:
        got = plain_numbers(r.answer)
    assert close(v, got), (v, r.answer)


def test_model_property(sample_store):
    r = ask(sample_store, "how many layers does llama 2 70b have?")
    assert_answered(r)
    (v,) = one(sample_store, "SELECT num_layers FROM models")
    assert v in plain_numbers(r.answer)


@pytest.mark.parametrize(
    "q, phase, col, desc, filt",
    [
        ("best perf/$ on v5e?", "decode", "perf_per_tco", True, "system_id = 'tpu-v5e'"),
        (
            "Which system has the best performance per TCO for decode?",
            "decode",
            "perf_per_tco",
            True,
            "TRUE",
        ),
        ("fastest system for prefill at batch 1", "prefill", "latency_s", False, "batch_size = 1"),
        (
            "cheapest config for decode on h100 in bf16",
            "decode",
            "usd_per_1m_tokens",
            False,
            "system_id = 'h100' AND weight_dtype = 'bf16'",
        ),
        (
            "which config has the highest throughput for decode",
            "decode",
            "throughput_tok_per_s",
            True,
            "TRUE",
        ),
        (
            "What's the cheapest way to serve Llama 2 70B decode?",
            "decode",
            "usd_per_1m_tokens",
            False,
            "TRUE",
        ),
    ],
)
def test_best_by_metric(sample_store, q, phase, col, desc, filt):
    r = ask(sample_store, q)
    assert_answered(r)
    order = "DESC" if desc else "ASC"
    sysname, v, b, tp = truth(
        sample_store,
        f"SELECT s.name, c.{col}, c.batch_size, c.tp FROM configs c JOIN systems s USING "
        f"(system_id) WHERE c.phase = ? AND c.fits_memory AND {filt} ORDER BY c.{col} {order} "
        "LIMIT 1",
        [phase],
    )[0]
    first = r.answer.splitlines()[0]
    assert sysname in first and f"batch {b}" in first and f"TP {tp}" in first, r.answer
    got = times_in(first) if col == "latency_s" else plain_numbers(first)
    assert close(v, got), (v, first)


def test_worst_by_metric(sample_store):
    r = ask(sample_store, "which system has the worst decode latency at batch 256 tp 8 bf16")
    assert_answered(r)
    name, v = truth(
        sample_store,
        "SELECT s.name, latency_s FROM configs c JOIN systems s USING (system_id) WHERE "
        "phase='decode' AND batch_size=256 AND tp=8 AND weight_dtype='bf16' AND fits_memory "
        "ORDER BY latency_s DESC LIMIT 1",
    )[0]
    first = r.answer.splitlines()[0]
    assert name in first and close(v, times_in(first))


@pytest.mark.parametrize(
    "q",
    [
        "h100 vs mi300x decode latency bs 8 tp 8 bf16",
        "Is MI300X faster than H100 for decode at batch 8, TP 8, bf16?",
        "compare the step time of the H100 and the mi300x, decode, batch size 8, tp 8, bf16",
    ],
)
def test_compare_two_systems(sample_store, q):
    r = ask(sample_store, q)
    assert_answered(r)
    (h,) = one(sample_store, CFG.format(col="latency_s"), ["h100", "decode", 8, 8, "bf16"])
    (m,) = one(sample_store, CFG.format(col="latency_s"), ["mi300x", "decode", 8, 8, "bf16"])
    t = times_in(r.answer)
    assert close(h, t) and close(m, t)
    fast, slow = sorted([h, m])
    assert close(slow / fast, ratios_in(r.answer), rel=0.01)
    assert close((slow - fast) / slow * 100, percents_in(r.answer), rel=0.01)
    winner = "MI300X" if m < h else "H100"
    assert f"{winner} is faster" in r.answer


def test_compare_dtypes_on_one_system(sample_store):
    r = ask(sample_store, "bf16 vs int8 throughput on h100 decode batch 64 tp 8")
    assert_answered(r)
    vals = dict(
        truth(
            sample_store,
            "SELECT weight_dtype, throughput_tok_per_s FROM configs WHERE system_id='h100' AND "
            "phase='decode' AND batch_size=64 AND tp=8 AND weight_dtype IN ('bf16','int8')",
        )
    )
    nums = plain_numbers(r.answer)
    assert close(vals["bf16"], nums) and close(vals["int8"], nums)
    hi, lo = max(vals.values()), min(vals.values())
    assert close(hi / lo, ratios_in(r.answer), rel=0.01)


@pytest.mark.parametrize(
    "q",
    [
        "how does h100 decode latency scale with batch size at tp 8 in bf16",
        "H100 decode latency vs batch, TP 8, bf16",
        "trend of time per token over batch for h100, 8-way TP, bf16",
    ],
)
def test_trend_over_batch(sample_store, q):
    r = ask(sample_store, q)
    assert_answered(r)
    rows = truth(
        sample_store,
        "SELECT batch_size, latency_s FROM configs WHERE system_id='h100' AND phase='decode' "
        "AND tp=8 AND weight_dtype='bf16' AND fits_memory ORDER BY batch_size",
    )
    t = times_in(r.answer)
    assert close(rows[0][1], t) and close(rows[-1][1], t)
    assert f"batch {rows[0][0]}" in r.answer and f"batch {rows[-1][0]}" in r.answer
    direction = "rises" if rows[-1][1] > rows[0][1] else "falls"
    assert direction in r.answer
    assert r.answer.index(f"batch {rows[0][0]}") < r.answer.index(f"batch {rows[-1][0]}")


def test_trend_over_tp(sample_store):
    r = ask(sample_store, "how does mi300x decode latency change with tp at batch 16 bf16")
    assert_answered(r)
    rows = truth(
        sample_store,
        "SELECT tp, latency_s FROM configs WHERE system_id='mi300x' AND phase='decode' "
        "AND batch_size=16 AND weight_dtype='bf16' AND fits_memory ORDER BY tp",
    )
    t = times_in(r.answer)
    assert close(rows[0][1], t) and close(rows[-1][1], t)
    assert f"TP {rows[0][0]}" in r.answer and f"TP {rows[-1][0]}" in r.answer


@pytest.mark.parametrize(
    "q",
    [
        "pareto frontier of mi300x decode",
        "MI300X pareto points for decode?",
        "show me the efficient frontier for the mi300x in decode",
    ],
)
def test_pareto(sample_store, q):
    r = ask(sample_store, q)
    assert_answered(r)
    rows = truth(
        sample_store,
        "SELECT latency_s, perf_per_tco FROM configs WHERE system_id='mi300x' AND "
        "phase='decode' AND is_pareto ORDER BY latency_s",
    )
    assert rows
    assert len(rows) in plain_numbers(r.answer)
    t = times_in(r.answer)
    assert close(rows[0][0], t) and close(rows[-1][0], t)
    assert all(x["is_pareto"] is not False for x in r.rows if "is_pareto" in x)
    assert len(r.rows) == len(rows)


@pytest.mark.parametrize(
    "q, expect_fit",
    [
        ("does llama 2 70b fit on one h100 in bf16?", False),
        ("Does it fit in memory on a single H100, bf16?", False),
        ("does llama2-70b fit on h100 at tp 8 in bf16 batch 1 decode", True),
    ],
)
def test_fits_memory(sample_store, q, expect_fit):
    r = ask(sample_store, q)
    assert_answered(r)
    tp = 8 if expect_fit else 1
    rows = truth(
        sample_store,
        "SELECT bool_and(fits_memory), max(weight_bytes_per_chip) FROM configs WHERE "
        "system_id='h100' AND weight_dtype='bf16' AND tp = ?",
        [tp],
    )
    fits, wbytes = rows[0]
    assert fits == expect_fit
    if not expect_fit:
        assert "does not fit" in r.answer and close(wbytes, bytes_in(r.answer))
    else:
        assert "fits" in r.answer and "does not fit" not in r.answer


def test_follow_up_uses_history(sample_store):
    first = "What is the decode latency of H100 at batch 8, TP 8, bf16?"
    r1 = ask(sample_store, first)
    assert_answered(r1)
    r2 = ask(sample_store, "and on xPU-B?", history=[Turn(first, r1.answer, r1.sql)])
    assert_answered(r2)
    (v,) = one(sample_store, CFG.format(col="latency_s"), ["xpu-b", "decode", 8, 8, "bf16"])
    assert "xPU-B" in r2.answer and close(v, times_in(r2.answer))


def test_this_config_uses_context(sample_store):
    cid, lat = truth(
        sample_store,
        "SELECT config_id, latency_s FROM configs WHERE system_id='tpu-v5p' AND phase='prefill'"
        " AND batch_size=2 AND tp=4 AND weight_dtype='int8'",
    )[0]
    r = ask(sample_store, "what is the latency of this config?", context=Context(config_id=cid))
    assert_answered(r)
    assert close(lat, times_in(r.answer)) and "TPU v5p" in r.answer


@pytest.mark.parametrize(
    "q",
    [
        "perf per watt of h100 vs mi300x decode batch 64 tp 8 bf16",
        "compare energy efficiency, H100 and MI300X, decode bs 64 tp 8 bf16",
    ],
)
def test_derived_metric_tokens_per_joule(sample_store, q):
    r = ask(sample_store, q)
    assert_answered(r)
    vals = dict(
        truth(
            sample_store,
            "SELECT system_id, throughput_tok_per_s / power_w FROM configs WHERE phase='decode' "
            "AND batch_size=64 AND tp=8 AND weight_dtype='bf16' AND system_id IN ('h100','mi300x')",
        )
    )
    nums = plain_numbers(r.answer)
    assert close(vals["h100"], nums) and close(vals["mi300x"], nums)
    assert "throughput / power" in r.answer  # the derivation is stated
    assert "power_w" in r.sql[0].lower() and "throughput_tok_per_s" in r.sql[0].lower()


def test_system_cost_per_hour_is_the_chip_price(sample_store):
    r = ask(sample_store, "how much does an h100 cost per hour")
    assert_answered(r)
    (v,) = one(sample_store, "SELECT tco_usd_per_chip_hour FROM systems WHERE system_id='h100'")
    assert close(v, plain_numbers(r.answer))


def test_best_config_for_a_neutral_metric_ranks_by_perf_per_tco(sample_store):
    r = ask(sample_store, "how many chips does the best h100 decode config use?")
    assert_answered(r)
    tp, chips = truth(
        sample_store,
        "SELECT tp, num_chips FROM configs WHERE system_id='h100' AND phase='decode' AND "
        "fits_memory ORDER BY perf_per_tco DESC, config_id LIMIT 1",
    )[0]
    first = r.answer.splitlines()[0]
    assert "performance per TCO" in first and f"TP {tp}" in first
    assert f"number of chips {chips}" in first


def test_compare_this_config_with_another_system(sample_store):
    cid, lat = truth(
        sample_store,
        "SELECT config_id, latency_s FROM configs WHERE system_id='h100' AND phase='decode' "
        "AND batch_size=8 AND tp=8 AND weight_dtype='bf16'",
    )[0]
    r = ask(sample_store, "compare this config with mi300x", context=Context(config_id=cid))
    assert_answered(r)
    (other,) = one(sample_store, CFG.format(col="latency_s"), ["mi300x", "decode", 8, 8, "bf16"])
    t = times_in(r.answer)
    assert close(lat, t) and close(other, t)
    assert {x["system"] for x in r.rows} == {"H100", "MI300X"}


@pytest.mark.parametrize(
    "q, col, expr, target, yes",
    [
        (
            "Does H100 decode at batch 8, TP 8, bf16 meet a 20 ms per-token latency target?",
            "latency_s",
            "latency_s",
            0.020,
            True,
        ),
        (
            "is h100 decode bs 8 tp 8 bf16 under 5 ms per token?",
            "latency_s",
            "latency_s",
            0.005,
            False,
        ),
        (
            "Is MI300X decode at batch 256, TP 16, bf16 faster than 20 tokens per second per user?",
            "tok_per_s_per_user",
            "throughput_tok_per_s / batch_size",
            20,
            True,
        ),
    ],
)
def test_target_in_the_question(sample_store, q, col, expr, target, yes):
    r = ask(sample_store, q)
    assert_answered(r)
    assert r.answer.startswith("Yes" if yes else "No"), r.answer
    sid = "mi300x" if "MI300X" in q else "h100"
    b, tp = (256, 16) if sid == "mi300x" else (8, 8)
    (v,) = one(sample_store, CFG.format(col=expr), [sid, "decode", b, tp, "bf16"])
    first = r.answer.splitlines()[0]
    got = times_in(first) if col == "latency_s" else plain_numbers(first)
    assert close(v, got) and close(target, got)
    assert (v <= target) == yes if col == "latency_s" else (v > target) == yes


def test_average_is_computed_over_fitting_configs(sample_store):
    r = ask(sample_store, "average decode latency of h100")
    assert_answered(r)
    (mean,) = one(
        sample_store,
        "SELECT avg(latency_s) FROM configs WHERE system_id = 'h100' AND phase = 'decode' "
        "AND fits_memory",
    )
    assert close(mean, times_in(r.answer)), r.answer
    assert r.interpretation["aggregation"]["function"] == "avg"


def test_trend_point_question_names_the_point(sample_store):
    r = ask(sample_store, "at what batch size does h100 decode throughput peak at tp 8 bf16")
    assert_answered(r)
    b, v = truth(
        sample_store,
        "SELECT batch_size, throughput_tok_per_s FROM configs WHERE system_id='h100' AND "
        "phase='decode' AND tp=8 AND weight_dtype='bf16' AND fits_memory "
        "ORDER BY throughput_tok_per_s DESC LIMIT 1",
    )[0]
    first = r.answer.splitlines()[0]
    assert f"batch {b}" in first and close(v, plain_numbers(first))


def test_per_chip_qualifier_apart_from_its_metric(sample_store):
    r = ask(sample_store, "what's the power of h100 decode b8 tp8 bf16 per chip")
    assert_answered(r)
    (v,) = one(
        sample_store, CFG.format(col="power_w / num_chips"), ["h100", "decode", 8, 8, "bf16"]
    )
    assert close(v, plain_numbers(r.answer)) and "per chip" in r.answer
    r = ask(sample_store, "latency per chip of h100 decode b8 tp8")
    assert r.status == "refused" and "per chip" in r.answer


def test_kv_cache_dtype_is_its_own_filter(sample_store):
    r = ask(sample_store, "latency of h100 decode b8 tp8 with fp8 kv cache")
    assert_answered(r)
    assert "c.kv_dtype = 'fp8'" in r.sql[0] or "kv_dtype = 'fp8'" in r.sql[0]
    assert all(x["kv_dtype"] == "fp8" for x in r.rows)
    r = ask(sample_store, "latency of h100 decode b8 tp8 bf16 with int4 kv cache")
    assert r.status == "refused" and "int4" in r.answer


@pytest.mark.parametrize(
    "q, sql",
    [
        ("which systems are in the data?", "SELECT name FROM systems"),
        ("list all systems", "SELECT name FROM systems"),
        ("what batch sizes are there?", "SELECT DISTINCT batch_size FROM configs"),
        ("which tp degrees were simulated", "SELECT DISTINCT tp FROM configs"),
    ],
)
def test_inventory(sample_store, q, sql):
    r = ask(sample_store, q)
    assert_answered(r)
    vals = [str(v) for (v,) in truth(sample_store, sql)]
    assert all(v in r.answer for v in vals)


def test_follow_up_chain_keeps_context(sample_store):
    """Each follow-up inherits everything the conversation named so far."""
    hist: list[Turn] = []
    answers = []
    for q in [
        "h100 decode latency b8 tp8 bf16",
        "and for prefill?",
        "what about batch 16?",
        "and on mi300x?",
        "vs xpu-a",
    ]:
        r = ask(sample_store, q, history=hist)
        assert_answered(r)
        answers.append(r)
        hist.append(Turn(q, r.answer, r.sql))
    (v,) = one(sample_store, CFG.format(col="latency_s"), ["mi300x", "prefill", 16, 8, "bf16"])
    assert (
        close(v, times_in(answers[3].answer)) and "MI300X, prefill, batch 16" in answers[3].answer
    )
    (a,) = one(sample_store, CFG.format(col="latency_s"), ["xpu-a", "prefill", 16, 8, "bf16"])
    assert close(a, times_in(answers[4].answer)) and close(v, times_in(answers[4].answer))
    assert ratios_in(answers[4].answer)  # a comparison, not two lookups


def test_counts_and_averages_ignore_the_selected_config(sample_store):
    """'how many H100 configs do not fit' means all of them, even with a config selected."""
    from coview.engine.types import Context

    (selected,) = one(
        sample_store,
        "SELECT config_id FROM configs WHERE system_id = 'mi300x' AND batch_size = 256 LIMIT 1",
    )
    (n,) = one(
        sample_store,
        "SELECT count(*) FROM configs WHERE system_id = 'h100' AND NOT fits_memory",
    )
    r = ask(sample_store, "how many h100 configs do not fit in memory", context=Context(selected))
    assert_answered(r)
    assert r.answer.startswith(f"{n} of "), r.answer
    # settings a question does inherit are stated in its reading
    r = ask(sample_store, "which is faster, xPU-A or xPU-B?", context=Context(selected))
    assert f"of the selected config #{selected}" in r.interpretation["reading"]
