"""Offline ask on fresh paraphrases, by failure class: goodness-word direction, per-hour
prices, yes/no answers, unit counts that are not names, capacity verbs, metric shorthands.

Each expected value comes from SQL written here over the sample store, never from the
offline sqlgen. Negative controls must still be refused. A question may be answered
correctly or refused; answering it wrongly fails.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest
from test_offline_helpers import (
    ask,
    assert_answered,
    assert_refused,
    close,
    one,
    plain_numbers,
    times_in,
    truth,
)

FIT = "fits_memory IS NOT FALSE"
CFG = (
    "SELECT {col} FROM configs WHERE system_id = ? AND phase = ? AND batch_size = ? "
    "AND tp = ? AND weight_dtype = ?"
)


def _head(text: str) -> str:
    return text.splitlines()[0]


def _system_name(store, sid: str) -> str:
    (name,) = one(store, "SELECT name FROM systems WHERE system_id = ?", [sid])
    return name


def _best_system(store, col: str, phase: str, agg: str) -> str:
    """The system whose best fitting config has the min/max of col (agg: 'min'|'max')."""
    order = "ASC" if agg == "min" else "DESC"
    rows = truth(
        store,
        f"SELECT s.name, {agg}(c.{col}) v FROM configs c JOIN systems s USING (system_id) "
        f"WHERE c.phase = ? AND c.{FIT} GROUP BY s.name ORDER BY v {order}, s.name",
        [phase],
    )
    return rows[0][0]


# --------------------------------------------------------------- 1. direction of goodness


@pytest.mark.parametrize(
    "q, sid, col, agg",
    [
        ("Which config is the most cost-efficient on H100 decode?", "h100", None, "best"),
        ("What is the cheapest config on MI300X for decode?", "mi300x", "usd_per_1m_tokens", "min"),
        ("least expensive configuration for H100 decode", "h100", "usd_per_1m_tokens", "min"),
        ("most economical config on TPU v5e in decode", "tpu-v5e", None, "best"),
        ("what's the most expensive config on H100 decode?", "h100", "usd_per_1m_tokens", "max"),
        ("slowest config on TPU v5e decode", "tpu-v5e", "latency_s", "max"),
        ("quickest configuration on MI300X for prefill", "mi300x", "latency_s", "min"),
        ("which H100 decode config has the best value for money?", "h100", "perf_per_tco", "max"),
    ],
)
def test_goodness_direction_per_config(sample_store, q, sid, col, agg):
    r = ask(sample_store, q)
    assert_answered(r)
    phase = "prefill" if "prefill" in q else "decode"
    head = _head(r.answer)
    if col is None:
        # "most cost-efficient": lowest cost per token == highest perf/TCO; either is right
        (lo,) = one(
            sample_store,
            f"SELECT min(usd_per_1m_tokens) FROM configs WHERE system_id=? AND phase=? AND {FIT}",
            [sid, phase],
        )
        (hi,) = one(
            sample_store,
            f"SELECT max(perf_per_tco) FROM configs WHERE system_id=? AND phase=? AND {FIT}",
            [sid, phase],
        )
        assert close(lo, plain_numbers(head)) or close(hi, plain_numbers(head)), r.answer
        return
    (want,) = one(
        sample_store,
        f"SELECT {agg}({col}) FROM configs WHERE system_id=? AND phase=? AND {FIT}",
        [sid, phase],
    )
    got = times_in(head) if col == "latency_s" else plain_numbers(head)
    assert close(want, got), (want, r.answer)


@pytest.mark.parametrize(
    "q, col, agg",
    [
        ("Which system is the most economical for decode?", "usd_per_1m_tokens", "min"),
        ("which system is the most efficient for decode", "perf_per_tco", "max"),
        ("fastest system for prefill?", "latency_s", "min"),
        (
            "Which chip gives the lowest cost per million tokens in decode?",
            "usd_per_1m_tokens",
            "min",
        ),
        ("which accelerator is the least expensive for decode?", "usd_per_1m_tokens", "min"),
    ],
)
def test_goodness_direction_per_system(sample_store, q, col, agg):
    r = ask(sample_store, q)
    assert_answered(r)
    phase = "prefill" if "prefill" in q else "decode"
    want = _best_system(sample_store, col, phase, agg)
    assert want in _head(r.answer), (want, r.answer)


def test_least_efficient_is_the_worst(sample_store):
    r = ask(sample_store, "which configuration on H100 decode is the least cost-effective?")
    assert_answered(r)
    (lo,) = one(
        sample_store,
        f"SELECT min(perf_per_tco) FROM configs WHERE system_id='h100' AND phase='decode' AND {FIT}",
    )
    assert close(lo, plain_numbers(_head(r.answer))), r.answer


def test_goodness_negative_controls(sample_store):
    assert_refused(ask(sample_store, "most cost-efficient config on the B200?"), "B200")
    assert_refused(ask(sample_store, "cheapest config for training on H100"), "training")


# ------------------------------------------------------------------- 2. price per hour


@pytest.mark.parametrize(
    "q, agg",
    [
        ("which chip is cheapest per hour?", "min"),
        ("Which chip costs least per hour", "min"),
        ("what's the most expensive system per hour?", "max"),
        ("which accelerator has the lowest hourly price?", "min"),
    ],
)
def test_hourly_price_ranks_chips(sample_store, q, agg):
    r = ask(sample_store, q)
    assert_answered(r)
    order = "ASC" if agg == "min" else "DESC"
    name, v = truth(
        sample_store,
        f"SELECT name, tco_usd_per_chip_hour FROM systems ORDER BY tco_usd_per_chip_hour {order}",
    )[0]
    head = _head(r.answer)
    assert name in head, (name, r.answer)
    assert close(v, plain_numbers(r.answer)), r.answer
    assert "million" not in r.answer


@pytest.mark.parametrize(
    "q, sid",
    [
        ("what is the hourly price of an H100?", "h100"),
        ("How much does an MI300X cost per hour", "mi300x"),
        ("tpu v5e hourly rate?", "tpu-v5e"),
    ],
)
def test_hourly_price_of_one_chip(sample_store, q, sid):
    r = ask(sample_store, q)
    assert_answered(r)
    (v,) = one(sample_store, "SELECT tco_usd_per_chip_hour FROM systems WHERE system_id=?", [sid])
    assert close(v, plain_numbers(r.answer)), r.answer
    assert "million" not in r.answer


def test_hourly_cost_of_a_config_is_its_tco(sample_store):
    r = ask(sample_store, "what's the hourly cost of H100 decode batch 8 tp 8 bf16?")
    assert_answered(r)
    (v,) = one(sample_store, CFG.format(col="tco_usd_per_hour"), ["h100", "decode", 8, 8, "bf16"])
    assert close(v, plain_numbers(r.answer)), r.answer


def test_hourly_negative_controls(sample_store):
    # tokens per hour is not a column; answering with a price would be wrong
    assert_refused(
        ask(sample_store, "how many tokens per hour does H100 make at decode b8 tp8 bf16")
    )
    assert_refused(ask(sample_store, "hourly price of a B200"), "B200")


# ------------------------------------------------------------------------ 3. yes / no


def _bound(store, sid, op, b, tp, dt="bf16", phase="decode") -> str:
    c, m, k = one(
        store,
        "SELECT o.compute_time_s, o.memory_time_s, o.comm_time_s FROM operators o "
        "JOIN configs c USING (config_id) WHERE c.system_id=? AND c.phase=? AND c.batch_size=? "
        "AND c.tp=? AND c.weight_dtype=? AND o.op_type=? LIMIT 1",
        [sid, phase, b, tp, dt, op],
    )
    return max((c, "compute"), (m, "memory"), (k, "comm"))[1]


def _weights(store, sid, op, b, tp, dt="bf16") -> str:
    (loc,) = one(
        store,
        "SELECT any_value(o.weights_location) FROM operators o JOIN configs c USING (config_id) "
        "WHERE c.system_id=? AND c.phase='decode' AND c.batch_size=? AND c.tp=? "
        "AND c.weight_dtype=? AND o.op_type=?",
        [sid, b, tp, dt, op],
    )
    return loc


def _expect_yes_no(r, want: bool) -> None:
    assert_answered(r)
    assert r.answer.startswith("Yes" if want else "No"), (want, r.answer)


@pytest.mark.parametrize(
    "q, sid, op, b, tp, kind",
    [
        (
            "is attn_sv memory bound on MI300X decode batch 8 tp 8 bf16?",
            "mi300x",
            "attn_sv",
            8,
            8,
            "memory",
        ),
        (
            "Is q_proj compute-bound on H100 decode batch 1, TP 8, bf16?",
            "h100",
            "q_proj",
            1,
            8,
            "compute",
        ),
        (
            "is the all-reduce communication bound on TPU v5e at decode bs 16 tp 16 bf16",
            "tpu-v5e",
            "all_reduce",
            16,
            16,
            "comm",
        ),
        (
            "Is ffn_up memory-bound on xPU-B decode batch 64 TP 8 bf16?",
            "xpu-b",
            "ffn_up",
            64,
            8,
            "memory",
        ),
    ],
)
def test_yes_no_bound(sample_store, q, sid, op, b, tp, kind):
    r = ask(sample_store, q)
    _expect_yes_no(r, _bound(sample_store, sid, op, b, tp) == kind)
    assert op in _head(r.answer)


@pytest.mark.parametrize(
    "q, sid, op, loc",
    [
        (
            "are xPU-A's k_proj weights in SRAM at decode batch 8 tp 8 bf16?",
            "xpu-a",
            "k_proj",
            "sram",
        ),
        (
            "Are xPU-B's k_proj weights kept in HBM at decode batch 8 TP 8 bf16?",
            "xpu-b",
            "k_proj",
            "hbm",
        ),
        (
            "does H100 read ffn_down weights from HBM at decode batch 8 tp 8 bf16?",
            "h100",
            "ffn_down",
            "hbm",
        ),
    ],
)
def test_yes_no_weights(sample_store, q, sid, op, loc):
    r = ask(sample_store, q)
    _expect_yes_no(r, _weights(sample_store, sid, op, 8, 8) == loc)


def test_weights_choice_is_not_yes_no(sample_store):
    r = ask(sample_store, "are xPU-A's k_proj weights in SRAM or HBM at decode batch 8 tp 8 bf16?")
    assert_answered(r)
    assert not r.answer.startswith(("Yes", "No"))
    assert _weights(sample_store, "xpu-a", "k_proj", 8, 8).upper() in r.answer


@pytest.mark.parametrize(
    "q, sql, params",
    [
        (
            "Does H100 decode batch 8 TP 8 bf16 fit in memory?",
            CFG.format(col="fits_memory"),
            ["h100", "decode", 8, 8, "bf16"],
        ),
        (
            "is the H100 decode config at batch 8, tp 8, bf16 on the Pareto frontier?",
            CFG.format(col="is_pareto"),
            ["h100", "decode", 8, 8, "bf16"],
        ),
        (
            "Is H100 faster than MI300X at decode batch 8 tp 8 bf16?",
            "SELECT (SELECT latency_s FROM configs WHERE system_id='h100' AND phase='decode' AND "
            "batch_size=8 AND tp=8 AND weight_dtype='bf16') < (SELECT latency_s FROM configs "
            "WHERE system_id='mi300x' AND phase='decode' AND batch_size=8 AND tp=8 AND "
            "weight_dtype='bf16')",
            [],
        ),
        (
            "is MI300X the fastest system for decode?",
            f"SELECT system_id = 'mi300x' FROM configs WHERE phase='decode' AND {FIT} "
            "ORDER BY latency_s LIMIT 1",
            [],
        ),
        (
            "is TPU v5e the fastest system for decode?",
            f"SELECT system_id = 'tpu-v5e' FROM configs WHERE phase='decode' AND {FIT} "
            "ORDER BY latency_s LIMIT 1",
            [],
        ),
        (
            "is the MI300X made by NVIDIA?",
            "SELECT vendor = 'NVIDIA' FROM systems WHERE system_id = 'mi300x'",
            [],
        ),
        (
            "is the H100 made by NVIDIA?",
            "SELECT vendor = 'NVIDIA' FROM systems WHERE system_id = 'h100'",
            [],
        ),
        (
            "is decode latency on H100 at tp 8 bf16 increasing with batch?",
            "SELECT bool_and(d > 0) FROM (SELECT latency_s - lag(latency_s) OVER "
            "(ORDER BY batch_size) d FROM configs WHERE system_id='h100' AND phase='decode' "
            "AND tp=8 AND weight_dtype='bf16') WHERE d IS NOT NULL",
            [],
        ),
        (
            "is TPU v5e the cheapest chip per hour?",
            "SELECT system_id = 'tpu-v5e' FROM systems ORDER BY tco_usd_per_chip_hour LIMIT 1",
            [],
        ),
    ],
)
def test_yes_no_other_forms(sample_store, q, sql, params):
    (want,) = one(sample_store, sql, params)
    _expect_yes_no(ask(sample_store, q), bool(want))


# ---------------------------------------------------------- 4. unit counts are not names


@pytest.mark.parametrize(
    "q",
    [
        "what's the $ per 1M tokens for H100 decode batch 8 tp 8 bf16?",
        "H100 decode b8 tp8 bf16: USD per 1M tokens",
        "cost per million tokens, h100, decode, bs 8, tp 8, bf16",
        "price per 1 million tokens on H100 decode batch 8 TP 8 bf16",
        "H100 decode batch 8 tp 8 bf16 $/Mtok",
    ],
)
def test_per_million_tokens_is_a_unit(sample_store, q):
    r = ask(sample_store, q)
    assert_answered(r)
    (v,) = one(sample_store, CFG.format(col="usd_per_1m_tokens"), ["h100", "decode", 8, 8, "bf16"])
    assert close(v, plain_numbers(r.answer)), r.answer


def test_per_thousand_tokens_answers_per_million_and_says_so(sample_store):
    r = ask(sample_store, "cost per 1k tokens on H100 decode batch 8 tp 8 bf16")
    assert_answered(r)
    (v,) = one(sample_store, CFG.format(col="usd_per_1m_tokens"), ["h100", "decode", 8, 8, "bf16"])
    assert close(v, plain_numbers(r.answer)) and "/M tokens" in r.answer
    assert "thousand" in r.answer.lower()


def test_least_expensive_per_1m_is_min_cost(sample_store):
    r = ask(sample_store, "least expensive config per 1M tokens on H100")
    assert_answered(r)
    (lo,) = one(
        sample_store,
        f"SELECT min(usd_per_1m_tokens) FROM configs WHERE system_id='h100' AND phase='decode' "
        f"AND {FIT}",
    )
    assert close(lo, plain_numbers(_head(r.answer))), r.answer


def test_unit_negative_controls(sample_store):
    r = ask(sample_store, "decode latency of H100 with a 1M context at batch 8 tp 8 bf16")
    assert_refused(r)
    assert "model" not in r.answer.split("\n")[0].lower()
    assert_refused(ask(sample_store, "latency of the 8B model on H100 decode batch 8 tp 8"), "8B")


# ------------------------------------------------------------ 5. capacity verbs -> fits


@pytest.mark.parametrize(
    "q, sid, b, tp, dt",
    [
        (
            "can TPU v5e hold llama-2-70b at TP 4 in int8 for decode batch 1?",
            "tpu-v5e",
            1,
            4,
            "int8",
        ),
        (
            "is there room for llama-2-70b on TPU v5e at TP 8 int8, decode batch 1?",
            "tpu-v5e",
            1,
            8,
            "int8",
        ),
        (
            "does TPU v5e have enough HBM for llama-2-70b at TP 16 bf16 decode batch 1?",
            "tpu-v5e",
            1,
            16,
            "bf16",
        ),
        ("can H100 run llama-2-70b at TP 8 in bf16 for decode batch 8?", "h100", 8, 8, "bf16"),
        (
            "will llama-2-70b fit on a single MI300X in fp8 for decode at batch 1?",
            "mi300x",
            1,
            1,
            "fp8",
        ),
        (
            "Would H100 have enough memory for Llama-2-70B at TP 1, bf16, decode batch 1?",
            "h100",
            1,
            1,
            "bf16",
        ),
    ],
)
def test_capacity_verbs_are_fits_questions(sample_store, q, sid, b, tp, dt):
    r = ask(sample_store, q)
    (want,) = one(sample_store, CFG.format(col="fits_memory"), [sid, "decode", b, tp, dt])
    _expect_yes_no(r, bool(want))
    assert "GB" in r.answer  # the sizes that decide it are shown


def test_capacity_over_several_batches(sample_store):
    r = ask(sample_store, "can H100 run llama-2-70b at TP 2 in fp8 for decode?")
    assert_answered(r)
    (n_fit, n) = one(
        sample_store,
        "SELECT count(*) FILTER (WHERE fits_memory), count(*) FROM configs WHERE system_id='h100' "
        "AND phase='decode' AND tp=2 AND weight_dtype='fp8'",
    )
    if n_fit == n:
        assert r.answer.startswith("Yes.")
    elif n_fit == 0:
        assert r.answer.startswith("No.")
    else:  # some fit: the answer says not all, with the counts
        assert "not in every" in _head(r.answer)
        assert close(n_fit, plain_numbers(r.answer)) and close(n, plain_numbers(r.answer))


def test_capacity_negative_controls(sample_store):
    assert_refused(ask(sample_store, "can a B200 hold llama-2-70b at TP 4?"), "B200")
    assert_refused(ask(sample_store, "can H100 hold mixtral 8x7b at TP 4 in bf16?"), "mixtral")


# ----------------------------------------------------------------- 6. general robustness


@pytest.mark.parametrize(
    "q, col, phase",
    [
        ("what's the step time of H100 decode batch 8 tp 8 bf16?", "latency_s", "decode"),
        ("time per output token, H100, batch 8, TP 8, bf16", "latency_s", "decode"),
        ("TPOT for H100 batch 8 TP 8 bf16", "latency_s", "decode"),
        ("TTFT on H100 batch 8 TP 8 bf16!!", "latency_s", "prefill"),
        ("h100 DECODE LATENCY AT BATCH 8 TP 8 BF16???", "latency_s", "decode"),
        ("H100 decode latency at a batch of eight, TP 8, bf16", "latency_s", "decode"),
        ("tok/s/chip on H100 decode batch 8 tp 8 bf16", None, "decode"),
    ],
)
def test_metric_shorthands(sample_store, q, col, phase):
    r = ask(sample_store, q)
    assert_answered(r)
    if col is None:
        (thr, chips) = one(
            sample_store,
            CFG.format(col="throughput_tok_per_s, num_chips"),
            ["h100", phase, 8, 8, "bf16"],
        )
        assert close(thr / chips, plain_numbers(r.answer)), r.answer
        return
    (v,) = one(sample_store, CFG.format(col=col), ["h100", phase, 8, 8, "bf16"])
    assert close(v, times_in(r.answer)), r.answer
    assert "batch 8" in r.answer


@pytest.mark.parametrize(
    "q",
    [
        "H100 vs MI300X decode latency batch 8 tp 8 bf16",
        "H100 versus MI300X, decode latency, batch 8, TP 8, bf16",
        "decode latency of H100 compared to MI300X at batch 8 tp 8 bf16",
        "which is faster for decode batch 8 tp 8 bf16, H100 or MI300X?",
    ],
)
def test_compare_connectives(sample_store, q):
    r = ask(sample_store, q)
    assert_answered(r)
    rows = dict(
        truth(
            sample_store,
            "SELECT system_id, latency_s FROM configs WHERE system_id IN ('h100','mi300x') AND "
            "phase='decode' AND batch_size=8 AND tp=8 AND weight_dtype='bf16'",
        )
    )
    winner = min(rows, key=rows.get)
    assert _system_name(sample_store, winner) in _head(r.answer).split(" is ")[0], r.answer
    assert close(rows["h100"], times_in(r.answer)) and close(rows["mi300x"], times_in(r.answer))


def test_robustness_negative_controls(sample_store):
    assert_refused(ask(sample_store, "H100 decode latency at a batch of three, TP 8, bf16"), "3")
    assert_refused(ask(sample_store, "what is the p99 TPOT on H100 decode batch 8 tp 8?"))


# ------------------------------------------------- fresh paraphrases across the classes


def _cfg_value(store, col, sid, phase, b, tp, dt):
    (v,) = one(store, CFG.format(col=col), [sid, phase, b, tp, dt])
    return v


FRESH = [
    # (question, checker(store, answer_text) -> bool)
    (
        "how long does one decode step take on MI300X with 16 sequences, TP 4, fp8?",
        lambda s, a: close(
            _cfg_value(s, "latency_s", "mi300x", "decode", 16, 4, "fp8"), times_in(a)
        ),
    ),
    (
        "TPU v5p prefill throughput, bs 32, 8-way TP, int8",
        lambda s, a: close(
            _cfg_value(s, "throughput_tok_per_s", "tpu-v5p", "prefill", 32, 8, "int8"),
            plain_numbers(a),
        ),
    ),
    (
        "Give me the perf per dollar of xPU-A decode at batch 64, TP 4, bf16.",
        lambda s, a: close(
            _cfg_value(s, "perf_per_tco", "xpu-a", "decode", 64, 4, "bf16"), plain_numbers(a)
        ),
    ),
    (
        "How much HBM bandwidth does the MI300X have?",
        lambda s, a: close(
            one(s, "SELECT hbm_bw_bytes_per_s FROM systems WHERE system_id='mi300x'")[0] / 1e12,
            plain_numbers(a),
        ),
    ),
    (
        "what does a TPU v5p cost per chip-hour?",
        lambda s, a: close(
            one(s, "SELECT tco_usd_per_chip_hour FROM systems WHERE system_id='tpu-v5p'")[0],
            plain_numbers(a),
        ),
    ),
    (
        "which system delivers the most tokens per second in decode?",
        lambda s, a: _best_system(s, "throughput_tok_per_s", "decode", "max") in _head(a),
    ),
    (
        "Which system has the highest perf per TCO for prefill?",
        lambda s, a: _best_system(s, "perf_per_tco", "prefill", "max") in _head(a),
    ),
    (
        "how does H100 decode latency change with batch size at TP 8 bf16?",
        lambda s, a: close(
            _cfg_value(s, "latency_s", "h100", "decode", 256, 8, "bf16"), times_in(a)
        ),
    ),
    (
        "what takes the most time on H100 decode batch 8 tp 8 bf16?",
        lambda s, a: (
            one(
                s,
                "SELECT o.op_type FROM operators o JOIN configs c USING (config_id) "
                "WHERE c.system_id='h100' AND c.phase='decode' AND c.batch_size=8 AND c.tp=8 "
                "AND c.weight_dtype='bf16' ORDER BY o.roofline_time_s * o.count DESC LIMIT 1",
            )[0]
            in _head(a)
        ),
    ),
    (
        "does TPU v5e fit Llama-2-70B at TP 16 in bf16 for decode batch 256?",
        lambda s, a: a.startswith(
            "Yes" if _cfg_value(s, "fits_memory", "tpu-v5e", "decode", 256, 16, "bf16") else "No"
        ),
    ),
    (
        "is xPU-A cheaper than xPU-B per million tokens at decode batch 8 tp 8 bf16?",
        lambda s, a: a.startswith(
            "Yes"
            if _cfg_value(s, "usd_per_1m_tokens", "xpu-a", "decode", 8, 8, "bf16")
            < _cfg_value(s, "usd_per_1m_tokens", "xpu-b", "decode", 8, 8, "bf16")
            else "No"
        ),
    ),
    (
        "Is xPU-B slower than xPU-A for decode at batch 8, TP 8, bf16?",
        lambda s, a: a.startswith(
            "Yes"
            if _cfg_value(s, "latency_s", "xpu-b", "decode", 8, 8, "bf16")
            > _cfg_value(s, "latency_s", "xpu-a", "decode", 8, 8, "bf16")
            else "No"
        ),
    ),
    (
        "Does the H100 have more HBM than the TPU v5p?",
        lambda s, a: a.startswith(
            "Yes"
            if one(s, "SELECT hbm_bytes FROM systems WHERE system_id='h100'")[0]
            > one(s, "SELECT hbm_bytes FROM systems WHERE system_id='tpu-v5p'")[0]
            else "No"
        ),
    ),
    (
        "what's the KV cache per chip for H100 decode batch 64 tp 8 bf16?",
        lambda s, a: (
            close(
                _cfg_value(s, "kv_bytes_per_chip", "h100", "decode", 64, 8, "bf16") / 1e9,
                plain_numbers(a),
            )
            or close(
                _cfg_value(s, "kv_bytes_per_chip", "h100", "decode", 64, 8, "bf16") / 1e6,
                plain_numbers(a),
            )
        ),
    ),
    (
        "how many chips does the cheapest MI300X decode config use?",
        lambda s, a: (
            str(
                one(
                    s,
                    f"SELECT num_chips FROM configs WHERE system_id='mi300x' AND phase='decode' "
                    f"AND {FIT} ORDER BY usd_per_1m_tokens, config_id LIMIT 1",
                )[0]
            )
            in a
        ),
    ),
    (
        "what share of decode time goes to all-reduce on H100 batch 8 tp 8 bf16?",
        lambda s, a: close(
            one(
                s,
                "SELECT 100 * sum(o.roofline_time_s*o.count) FILTER (WHERE o.op_class='collective')"
                " / sum(o.roofline_time_s*o.count) FROM operators o JOIN configs c USING "
                "(config_id) WHERE c.system_id='h100' AND c.phase='decode' AND c.batch_size=8 "
                "AND c.tp=8 AND c.weight_dtype='bf16'",
            )[0],
            [float(x) for x in __import__("re").findall(r"(\d+(?:\.\d+)?)%", a)],
            rel=0.01,
        ),
    ),
    (
        "show the pareto frontier for MI300X decode",
        lambda s, a: "MI300X" in a and "Pareto" in a,
    ),
    (
        "energy per token of TPU v5e at decode batch 32, tp 8, int8",
        lambda s, a: close(
            _cfg_value(s, "power_w", "tpu-v5e", "decode", 32, 8, "int8")
            / _cfg_value(s, "throughput_tok_per_s", "tpu-v5e", "decode", 32, 8, "int8"),
            plain_numbers(a),
        ),
    ),
    (
        "H100 or MI300X: which is more cost-efficient at decode batch 64, tp 8, bf16?",
        lambda s, a: (
            (
                "MI300X"
                if _cfg_value(s, "usd_per_1m_tokens", "mi300x", "decode", 64, 8, "bf16")
                < _cfg_value(s, "usd_per_1m_tokens", "h100", "decode", 64, 8, "bf16")
                else "H100"
            )
            in _head(a).split(" is ")[0]
        ),
    ),
    (
        "number of layers in llama2-70b?",
        lambda s, a: str(one(s, "SELECT num_layers FROM models")[0]) in a,
    ),
]


@pytest.mark.parametrize("q, check", FRESH, ids=[q for q, _ in FRESH])
def test_fresh_paraphrases_answered_right_or_refused(sample_store, q, check):
    r = ask(sample_store, q)
    if r.status == "refused":
        return  # refusing is acceptable; answering wrongly is not
    assert_answered(r)
    assert check(sample_store, r.answer), r.answer


def test_fresh_paraphrases_mostly_answered(sample_store):
    """The fresh set is not passed by refusing everything."""
    answered = sum(ask(sample_store, q).status == "answered" for q, _ in FRESH)
    assert answered >= len(FRESH) - 2, answered


@pytest.mark.parametrize(
    "q",
    [
        "What is the decode latency of H100 on Mixtral at batch 8?",
        "training throughput of H100 at batch 8",
        "what's the HBM power of MI300X?",
        "cheapest config at batch 1024 on H100",
        "p99 latency of H100 decode batch 8 tp 8 bf16",
        "latency of the B200 at batch 8",
    ],
)
def test_fresh_invalid_questions_refused(sample_store, q):
    assert_refused(ask(sample_store, q))


# ----------------------------------------------------- 7. selector prompt does not grow


def test_selector_value_lists_are_capped(sample_store, tmp_path):
    """Many sweeps (and other distinct values) are listed up to a cap, then counted."""
    from coview.engine.llm.context import SWEEP_CAP, VALUE_CAP, render_values

    store = tmp_path / "many.duckdb"
    shutil.copy(sample_store, store)
    con = duckdb.connect(str(store))
    try:
        for i in range(40):
            con.execute(
                "INSERT INTO sweeps (sweep_id, name, simulator) VALUES (?, ?, 'test')",
                [f"extra-{i:03d}", f"extra sweep {i}"],
            )
        base = render_values(con)
        n_sweeps = con.execute("SELECT count(*) FROM sweeps").fetchone()[0]
    finally:
        con.close()
    block = base.split("sweeps, newest first (sweep_id | name | simulator):\n")[1].split("\n")
    rows = []
    for line in block:
        if not line.startswith("  "):
            break
        rows.append(line)
    assert len(rows) == SWEEP_CAP + 1, rows
    assert f"and {n_sweeps - SWEEP_CAP} more; query the table" in rows[-1]
    for line in base.splitlines():
        if line.startswith("  ") and ": " in line and ", " in line:
            assert line.count(", ") <= VALUE_CAP + 1, line


# ------------------------------------------- comparatives and operator-level goodness words

H100_MI_B64 = (
    "SELECT (SELECT {col} FROM configs WHERE system_id='h100' AND phase='decode' AND "
    "batch_size=64 AND tp=8 AND weight_dtype='bf16') {op} (SELECT {col} FROM configs WHERE "
    "system_id='mi300x' AND phase='decode' AND batch_size=64 AND tp=8 AND weight_dtype='bf16')"
)


@pytest.mark.parametrize(
    "q, col, op",
    [
        (
            "is H100 more economical than MI300X at decode batch 64 tp 8 bf16?",
            "usd_per_1m_tokens",
            "<",
        ),
        (
            "is H100 less expensive than MI300X at decode batch 64 tp 8 bf16?",
            "usd_per_1m_tokens",
            "<",
        ),
        (
            "Is H100 more expensive than MI300X at decode batch 64 TP 8 bf16?",
            "usd_per_1m_tokens",
            ">",
        ),
        (
            "is H100 more cost-efficient than MI300X at decode batch 64 tp 8 bf16?",
            "perf_per_tco",
            ">",
        ),
        ("is H100 less efficient than MI300X at decode batch 64 tp 8 bf16?", "perf_per_tco", "<"),
    ],
)
def test_comparative_goodness_claims(sample_store, q, col, op):
    (want,) = one(sample_store, H100_MI_B64.format(col=col, op=op))
    _expect_yes_no(ask(sample_store, q), bool(want))


@pytest.mark.parametrize(
    "q, order",
    [
        ("which operator is the least expensive on H100 decode batch 8 tp 8 bf16?", "ASC"),
        ("which operator is the most expensive on H100 decode batch 8 tp 8 bf16?", "DESC"),
        ("cheapest operator on H100 decode batch 8 tp 8 bf16", "ASC"),
    ],
)
def test_operator_goodness_words(sample_store, q, order):
    r = ask(sample_store, q)
    assert_answered(r)
    (op,) = one(
        sample_store,
        "SELECT o.op_type FROM operators o JOIN configs c USING (config_id) WHERE "
        "c.system_id='h100' AND c.phase='decode' AND c.batch_size=8 AND c.tp=8 AND "
        f"c.weight_dtype='bf16' ORDER BY o.roofline_time_s * o.count {order} LIMIT 1",
    )
    assert op in _head(r.answer), (op, r.answer)


def test_which_is_cheaper_per_hour_names_the_cheaper_chip(sample_store):
    r = ask(sample_store, "which system is cheaper per hour, H100 or MI300X?")
    assert_answered(r)
    name, v = truth(
        sample_store,
        "SELECT name, tco_usd_per_chip_hour FROM systems WHERE system_id IN ('h100','mi300x') "
        "ORDER BY tco_usd_per_chip_hour",
    )[0]
    assert _head(r.answer).startswith(name) and close(v, plain_numbers(_head(r.answer))), r.answer


def test_comparative_keeps_the_best_config_per_side(sample_store):
    """'more expensive' is the claim; each side is still represented by its best config."""
    r = ask(sample_store, "Is the H100 more expensive than the MI300X at decode batch 64?")
    (want,) = one(
        sample_store,
        f"SELECT (SELECT min(usd_per_1m_tokens) FROM configs WHERE system_id='h100' AND "
        f"phase='decode' AND batch_size=64 AND {FIT}) > (SELECT min(usd_per_1m_tokens) FROM "
        f"configs WHERE system_id='mi300x' AND phase='decode' AND batch_size=64 AND {FIT})",
    )
    _expect_yes_no(r, bool(want))
    assert "best of" in r.answer


def test_percent_slower_states_both_directions(sample_store):
    r = ask(sample_store, "by what percent is H100 slower than MI300X at decode batch 8 tp 8 bf16?")
    assert_answered(r)
    h = _cfg_value(sample_store, "latency_s", "h100", "decode", 8, 8, "bf16")
    m = _cfg_value(sample_store, "latency_s", "mi300x", "decode", 8, 8, "bf16")
    pcts = [float(x) for x in __import__("re").findall(r"(\d+(?:\.\d+)?)%", _head(r.answer))]
    assert close(abs(h - m) / m * 100, pcts, rel=0.01), r.answer


def test_biggest_fitting_batch_is_stated(sample_store):
    r = ask(sample_store, "what's the biggest batch that fits on H100 at TP 2 bf16?")
    assert_answered(r)
    (b,) = one(
        sample_store,
        "SELECT max(batch_size) FROM configs WHERE system_id='h100' AND tp=2 AND "
        "weight_dtype='bf16' AND fits_memory",
    )
    assert f"up to batch {b}" in r.answer, r.answer


@pytest.mark.parametrize(
    "q",
    [
        "h100,decode,b=8,tp=8,bf16 latency",
        "What's the decode latency for H100, batch=8, tp=8, dtype=bf16.",
    ],
)
def test_terse_key_value_forms(sample_store, q):
    r = ask(sample_store, q)
    assert_answered(r)
    assert close(
        _cfg_value(sample_store, "latency_s", "h100", "decode", 8, 8, "bf16"), times_in(r.answer)
    )


def test_counting_operators_is_refused_not_answered_with_another_thing(sample_store):
    assert_refused(ask(sample_store, "how many operators does H100 decode batch 8 tp 8 bf16 have?"))


@pytest.mark.parametrize(
    "q, col, target, below",
    [
        ("is H100 decode at batch 8 TP 8 bf16 under 20ms per token?", "latency_s", 0.020, True),
        ("is H100 decode at batch 8 TP 8 bf16 under 5ms per token?", "latency_s", 0.005, True),
        (
            "does H100 reach 5000tok/s at decode batch 8 tp 8 bf16?",
            "throughput_tok_per_s",
            5000,
            False,
        ),
    ],
)
def test_glued_units_are_targets(sample_store, q, col, target, below):
    v = _cfg_value(sample_store, col, "h100", "decode", 8, 8, "bf16")
    _expect_yes_no(ask(sample_store, q), v < target if below else v > target)


def test_unknown_metric_not_reported_as_a_system(sample_store):
    r = ask(sample_store, "what is the p99 TPOT on H100 decode batch 8 tp 8?")
    assert_refused(r, "p99")
    assert "system named" not in r.answer
