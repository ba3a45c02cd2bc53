"""Offline ask: operator lists, operator ratios across systems, op-class rankings, counts and
inventory counts, layer phrases and scoped comparisons. Each answer is checked against SQL
written here; each refusal against the reason it must give."""

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

from coview.engine.offline.lexicon import expand_op_lists

KNOWN = {
    op: "" for op in "q_proj k_proj v_proj o_proj ffn_gate ffn_up ffn_down attn_qk attn_sv".split()
}

OP_TIME = (
    "SELECT sum(o.roofline_time_s * o.count) FROM operators o JOIN configs c USING (config_id) "
    "JOIN systems s USING (system_id) WHERE s.name = ? AND c.phase = ? AND c.batch_size = ? "
    "AND c.tp = ? AND c.weight_dtype = ? AND list_contains(?, o.op_type)"
)


def op_time(store, system, phase, b, tp, dt, ops):
    return one(store, OP_TIME, [system, phase, b, tp, dt, ops])[0]


def head(r) -> str:
    return r.answer.split("\n\n")[0]


@pytest.mark.parametrize(
    "text, want",
    [
        ("the FFN (gate+up+down) share", "the ffn_gate and ffn_up and ffn_down share"),
        ("mlp (gate, up, down) time", "ffn_gate and ffn_up and ffn_down time"),
        ("q/k/v projections", "q_proj and k_proj and v_proj"),
        ("attn_qk+attn_sv", "attn_qk and attn_sv"),
        ("perf/tco of h100", "perf/tco of h100"),  # not operators: left as typed
        ("tok/s at bs 8", "tok/s at bs 8"),
        ("up/down", "up/down"),  # 'up' alone names no operator
        ("h100 (bf16, int8)", "h100 (bf16, int8)"),
    ],
)
def test_member_lists(text, want):
    assert expand_op_lists(text, KNOWN).strip() == want


def test_ffn_members_share_counts_all_three(sample_store):
    r = ask(
        sample_store,
        "what share of decode time does the FFN (gate+up+down) take on H100 at bs8 tp8 bf16?",
    )
    assert_answered(r)
    ffn = op_time(sample_store, "H100", "decode", 8, 8, "bf16", ["ffn_gate", "ffn_up", "ffn_down"])
    everything = op_time(
        sample_store, "H100", "decode", 8, 8, "bf16", list(KNOWN) + ["lm_head", "rmsnorm"]
    )
    allops = one(
        sample_store,
        "SELECT sum(o.roofline_time_s * o.count) FROM operators o JOIN configs c USING "
        "(config_id) WHERE c.system_id = 'h100' AND c.phase = 'decode' AND c.batch_size = 8 "
        "AND c.tp = 8 AND c.weight_dtype = 'bf16'",
    )[0]
    assert everything <= allops
    assert close(100 * ffn / allops, percents_in(head(r)), rel=0.01), r.answer
    assert close(ffn, times_in(head(r))), r.answer


@pytest.mark.parametrize(
    "q, fast, slow, word",
    [
        (
            "how many times faster is q_proj on xPU-A than on xPU-B at decode batch 8 tp 8 int8?",
            "xPU-A",
            "xPU-B",
            "faster",
        ),
        ("q_proj on xPU-A vs xPU-B decode b8 tp8 int8", "xPU-A", "xPU-B", "faster"),
        (
            "how many times slower is o_proj on xPU-B than xPU-A, decode batch 8 tp 8 int8",
            "xPU-A",
            "xPU-B",
            "slower",
        ),
    ],
)
def test_operator_ratio_between_systems(sample_store, q, fast, slow, word):
    r = ask(sample_store, q)
    assert_answered(r)
    op = "o_proj" if "o_proj" in q else "q_proj"
    tf = op_time(sample_store, fast, "decode", 8, 8, "int8", [op])
    ts = op_time(sample_store, slow, "decode", 8, 8, "int8", [op])
    line = head(r)
    assert close(ts / tf, ratios_in(line), rel=0.01), r.answer
    assert word in line
    assert "slowest" not in line  # not a ranking of the systems
    assert r.interpretation["reading"].startswith("operator comparison")


def test_operator_ratio_yes_no_and_false_premise(sample_store):
    yes = ask(sample_store, "is q_proj faster on xPU-A than on xPU-B at decode b8 tp8 int8?")
    assert_answered(yes)
    assert head(yes).startswith("Yes")
    no = ask(sample_store, "is q_proj slower on xPU-A than on xPU-B at decode b8 tp8 int8?")
    assert_answered(no)
    assert "not slower" in head(no) and "other way round" in head(no)


def test_op_class_ranking(sample_store):
    r = ask(sample_store, "which op class takes the most time on MI300X prefill bs 64 tp 8 bf16?")
    assert_answered(r)
    rows = truth(
        sample_store,
        "SELECT o.op_class, sum(o.roofline_time_s * o.count) t FROM operators o JOIN configs c "
        "USING (config_id) WHERE c.system_id = 'mi300x' AND c.phase = 'prefill' AND "
        "c.batch_size = 64 AND c.tp = 8 AND c.weight_dtype = 'bf16' GROUP BY 1 ORDER BY 2 DESC",
    )
    line = head(r).split("\n")[0]
    assert f"the {rows[0][0]} class takes the most time" in line
    assert close(rows[0][1], times_in(line)), r.answer
    least = ask(sample_store, "which operator class takes the least time on xPU-A decode b8 tp8")
    assert_answered(least)
    assert "least time" in least.answer


def test_named_class_word_only_restates(sample_store):
    r = ask(sample_store, "what share does the gemm class take on h100 decode bs 8 tp 8 bf16")
    assert_answered(r)
    assert r.interpretation["kind"] == "op_share"


def test_count_imperative_and_inventory_count(sample_store):
    r = ask(
        sample_store,
        "per system, count the decode configs that dont fit; which system has the most?",
    )
    assert_answered(r)
    top = one(
        sample_store,
        "SELECT s.name, count(*) FROM configs c JOIN systems s USING (system_id) WHERE "
        "c.phase = 'decode' AND NOT c.fits_memory GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
    )
    assert head(r).startswith(top[0]) and top[1] in plain_numbers(head(r)), r.answer
    grouped = ask(sample_store, "count the decode configs that dont fit per system")
    assert_answered(grouped)
    assert "per system" in grouped.interpretation["reading"]  # never dropped
    inv = ask(sample_store, "how many distinct batch sizes does the sweep cover")
    assert_answered(inv)
    n = one(sample_store, "SELECT count(DISTINCT batch_size) FROM configs")[0]
    assert f"The data has {n} batch sizes" in inv.answer


def test_layer_phrases(sample_store):
    r = ask(
        sample_store, "total ffn_down time per step (all 80 layers) on MI300X prefill bs 2 tp 4"
    )
    assert_answered(r)
    t = op_time(sample_store, "MI300X", "prefill", 2, 4, "bf16", ["ffn_down"])
    assert close(t, times_in(head(r))), r.answer
    bad = ask(sample_store, "ffn_down time across all 40 layers on MI300X prefill bs 2 tp 4 bf16")
    assert bad.status == "refused" and "80 layers, not 40" in bad.answer


def test_operator_metric_is_in_the_answer_line(sample_store):
    r = ask(sample_store, "bytes sent by one all_reduce on H100 prefill bs 1 tp 4 fp8")
    assert_answered(r)
    b = one(
        sample_store,
        "SELECT o.bytes_comm FROM operators o JOIN configs c USING (config_id) WHERE "
        "c.system_id = 'h100' AND c.phase = 'prefill' AND c.batch_size = 1 AND c.tp = 4 AND "
        "c.weight_dtype = 'fp8' AND o.op_type = 'all_reduce'",
    )[0]
    assert close(b, bytes_in(head(r))), r.answer


def test_weights_location_without_the_word_weights(sample_store):
    r = ask(sample_store, "is lm_head served out of SRAM or HBM on H100 decode bs 1 tp 8 bf16?")
    assert_answered(r)
    assert r.interpretation["kind"] == "op_weights"


def test_rank_among_fitting_configs_not_a_fit_check(sample_store):
    r = ask(
        sample_store,
        "which system has the lowest tpot at decode bs 8, tp 8, bf16 among the ones that fit?",
    )
    assert_answered(r)
    best = one(
        sample_store,
        "SELECT s.name FROM configs c JOIN systems s USING (system_id) WHERE c.phase = 'decode' "
        "AND c.batch_size = 8 AND c.tp = 8 AND c.weight_dtype = 'bf16' AND c.fits_memory "
        "ORDER BY c.latency_s LIMIT 1",
    )[0]
    assert best in head(r).split(":")[0], r.answer
    neg = ask(sample_store, "largest kv cache per chip among mi300x decode configs that don't fit")
    assert neg.status == "refused"  # never ranked over the fitting ones instead


def test_comparison_states_the_absolute_gap(sample_store):
    r = ask(
        sample_store, "difference in decode power between MI300X and H100 at batch 64, tp 4, int8"
    )
    assert_answered(r)
    a, b = (
        one(
            sample_store,
            "SELECT c.power_w FROM configs c WHERE c.system_id = ? AND c.phase = 'decode' AND "
            "c.batch_size = 64 AND c.tp = 4 AND c.weight_dtype = 'int8'",
            [sid],
        )[0]
        for sid in ("mi300x", "h100")
    )
    gap = f"{abs(a - b):.1f} W"
    assert gap in head(r), r.answer


def test_matched_count_is_scoped_to_fitting_pairs(sample_store):
    r = ask(sample_store, "in how many matched configs is xpu-a strictly faster than xpu-b?")
    assert_answered(r)
    assert r.interpretation["kind"] == "compare_sweep"
    assert "fit in memory on both" in head(r)
    n, wins = one(
        sample_store,
        "SELECT count(*), count(*) FILTER (WHERE a.latency_s < b.latency_s) FROM configs a "
        "JOIN configs b USING (phase, batch_size, tp, weight_dtype, input_len, output_len) "
        "WHERE a.system_id = 'xpu-a' AND b.system_id = 'xpu-b'",
    )
    assert f"faster in {wins} of all {n} matched configurations" in head(r)  # every pair too


def test_largest_frontier_and_shortest_time(sample_store):
    r = ask(sample_store, "Which system has the largest decode Pareto frontier?")
    assert_answered(r)
    top = one(
        sample_store,
        "SELECT s.name FROM configs c JOIN systems s USING (system_id) WHERE c.phase = 'decode' "
        "AND c.is_pareto GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
    )[0]
    assert head(r).startswith(top)
    t = ask(
        sample_store,
        "Which system has the shortest time to first token for prefill at batch 4, TP 4, int8, "
        "among those that fit in memory?",
    )
    assert_answered(t)
    assert t.interpretation["kind"] == "rank"


def test_any_config_assumes_no_phase(sample_store):
    r = ask(sample_store, "biggest energy per step on xpu-a, any config")
    assert_answered(r)
    top = one(
        sample_store,
        "SELECT c.energy_j FROM configs c WHERE c.system_id = 'xpu-a' AND c.fits_memory "
        "ORDER BY c.energy_j DESC LIMIT 1",
    )[0]
    assert "decode assumed" not in r.answer
    assert top > 1000 and "kJ" in head(r)


def test_transposed_letters_are_one_typo(sample_store):
    r = ask(sample_store, "is TPU v5p prefill bs 4 tp 16 int8 on the pareto fronteir?")
    assert r.status == "answered", r.answer
    assert {"typed": "fronteir", "read_as": "frontier"} in r.interpretation["corrections"]


def test_memory_used_is_not_the_capacity(sample_store):
    r = ask(sample_store, "how much HBM is used on H100 decode bs 8 tp 8 bf16")
    assert_answered(r)
    used, cap = one(
        sample_store,
        "SELECT c.weight_bytes_per_chip + c.kv_bytes_per_chip + "
        "CAST(c.extra->>'activation_bytes_per_chip' AS DOUBLE), s.hbm_bytes FROM configs c "
        "JOIN systems s USING (system_id) WHERE c.system_id = 'h100' AND c.phase = 'decode' "
        "AND c.batch_size = 8 AND c.tp = 8 AND c.weight_dtype = 'bf16'",
    )
    assert close(used, bytes_in(head(r))) and not close(cap, bytes_in(head(r))), r.answer
    sram = ask(sample_store, "how much SRAM is used in total on xPU-A decode bs 8 tp 8 int8")
    assert_answered(sram)
    want = one(
        sample_store,
        "SELECT CAST(extra->>'sram_used_bytes' AS DOUBLE) FROM configs WHERE system_id = "
        "'xpu-a' AND phase = 'decode' AND batch_size = 8 AND tp = 8 AND weight_dtype = 'int8'",
    )[0]
    assert close(want, bytes_in(head(sram))), sram.answer
    need = ask(sample_store, "how much SRAM does q_proj need on xPU-B at decode bs 8 tp 8 int8?")
    assert_answered(need)
    want = one(
        sample_store,
        "SELECT CAST(o.extra->>'sram_needed_bytes' AS DOUBLE) FROM operators o JOIN configs c "
        "USING (config_id) WHERE c.system_id = 'xpu-b' AND c.phase = 'decode' AND "
        "c.batch_size = 8 AND c.tp = 8 AND c.weight_dtype = 'int8' AND o.op_type = 'q_proj'",
    )[0]
    assert close(want, bytes_in(head(need))), need.answer


def test_class_time_compared_on_two_systems(sample_store):
    r = ask(
        sample_store,
        "which system spends less time in attention at decode bs 16 tp 8 bf16, h100 or mi300x",
    )
    assert_answered(r)
    ops = ["attn_qk", "attn_sv"]
    th = op_time(sample_store, "H100", "decode", 16, 8, "bf16", ops)
    tm = op_time(sample_store, "MI300X", "decode", 16, 8, "bf16", ops)
    fast = "MI300X" if tm < th else "H100"
    line = head(r)
    assert line.startswith(fast)
    assert close(max(th, tm) / min(th, tm), ratios_in(line), rel=0.01), r.answer
    assert "takes longest" not in line  # not the class's longest operator


def test_operator_call_count_and_share_verb(sample_store):
    r = ask(sample_store, "how many all_reduce calls per decode step on h100 at bs 8 tp 8 bf16")
    assert_answered(r)
    n = one(
        sample_store,
        "SELECT o.count FROM operators o JOIN configs c USING (config_id) WHERE c.system_id = "
        "'h100' AND c.phase = 'decode' AND c.batch_size = 8 AND c.tp = 8 AND "
        "c.weight_dtype = 'bf16' AND o.op_type = 'all_reduce'",
    )[0]
    assert n in plain_numbers(head(r))
    s = ask(
        sample_store,
        "what fraction of FLOPs does attn_qk account for on tpu v5p decode bs 64 tp 8 int8",
    )
    assert_answered(s)
    assert "of the FLOPs" in head(s)


def test_weights_kept_in_sram_is_a_location_question(sample_store):
    r = ask(
        sample_store, "does xPU-A keep the o_proj weights in sram at decode batch 64, tp 16, int8?"
    )
    assert_answered(r)
    assert r.interpretation["kind"] == "op_weights"


def test_fraction_of_configs_that_fit(sample_store):
    r = ask(sample_store, "What percentage of H100 decode configs fit in memory?")
    assert_answered(r)
    n, total = one(
        sample_store,
        "SELECT count(*) FILTER (WHERE fits_memory), count(*) FROM configs WHERE "
        "system_id = 'h100' AND phase = 'decode'",
    )
    assert close(100 * n / total, percents_in(head(r)), rel=0.002), r.answer


def test_operators_counted_by_weight_location(sample_store):
    r = ask(sample_store, "How many ops have weights in SRAM on xPU-A decode bs 8 tp 8 int8?")
    assert_answered(r)
    n = one(
        sample_store,
        "SELECT count(*) FROM operators o JOIN configs c USING (config_id) WHERE c.system_id = "
        "'xpu-a' AND c.phase = 'decode' AND c.batch_size = 8 AND c.tp = 8 AND "
        "c.weight_dtype = 'int8' AND o.weights_location = 'sram'",
    )[0]
    assert head(r).startswith(f"{n} of the"), r.answer
    types = ask(sample_store, "How many operator types are in the model?")
    assert_answered(types)
    k = one(sample_store, "SELECT count(DISTINCT op_type) FROM operators")[0]
    assert f"{k} operator types" in types.answer
    still = ask(sample_store, "how many operators are there in h100 decode bs 8 tp 8")
    assert still.status == "refused"


def test_request_rate_is_not_a_batch(sample_store):
    r = ask(sample_store, "h100 vs mi300x perf/tco at 20 requests per second")
    assert r.status == "refused"
    assert "request rate" in r.answer and "batch size 20" not in r.answer


def test_every_group_named_is_used(sample_store):
    r = ask(sample_store, "count configs by system and phase")
    assert_answered(r)
    assert r.interpretation["aggregation"]["group_by"] == ["system", "phase"]
    n = one(
        sample_store, "SELECT count(*) FROM configs WHERE system_id = 'h100' AND phase = 'decode'"
    )[0]
    assert f"H100, decode: {n}" in r.answer


def test_stage1_bottlenecks(sample_store):
    r = ask(sample_store, "What are the performance bottlenecks of H100 decode bs 8 tp 8 bf16?")
    assert_answered(r)
    rows = truth(
        sample_store,
        "SELECT o.op_type, o.roofline_time_s * o.count FROM operators o JOIN configs c USING "
        "(config_id) WHERE c.system_id = 'h100' AND c.phase = 'decode' AND c.batch_size = 8 "
        "AND c.tp = 8 AND c.weight_dtype = 'bf16' ORDER BY 2 DESC",
    )
    total = sum(x[1] for x in rows)
    line = head(r).split("\n")[0]
    assert rows[0][0] in line and close(100 * rows[0][1] / total, percents_in(line), rel=0.01)
    assert "-bound" in line


def test_stage1_collectives(sample_store):
    r = ask(
        sample_store,
        "Which collectives were required and after which operators on H100 decode bs 8 tp 8 bf16?",
    )
    assert_answered(r)
    ops = truth(
        sample_store,
        "SELECT o.op_type, o.op_class, o.count FROM operators o JOIN configs c USING (config_id) "
        "WHERE c.system_id = 'h100' AND c.phase = 'decode' AND c.batch_size = 8 AND c.tp = 8 "
        "AND c.weight_dtype = 'bf16' ORDER BY o.op_index",
    )
    i = next(k for k, o in enumerate(ops) if o[1] == "collective")
    before = next(o[0] for o in reversed(ops[:i]) if o[1] != "collective")
    assert f"{ops[i][0]} runs {ops[i][2]} times per step, listed after {before}" in r.answer


def test_stage1_flops_against_time(sample_store):
    r = ask(
        sample_store,
        "How does the FLOPs distribution correspond to time on H100 prefill bs 8 tp 8 bf16?",
    )
    assert_answered(r)
    assert r.interpretation["kind"] == "op_flops_time"
    assert "of FLOPs" in r.answer and "of time" in r.answer


def test_stage1_unmodelled_operators_are_outside_knowledge(sample_store):
    r = ask(sample_store, "Which model operators were not simulated?")
    assert_answered(r)
    line = head(r)
    assert "outside knowledge" in line and "not store data" in line
    present = {x[0] for x in truth(sample_store, "SELECT DISTINCT op_type FROM operators")}
    missing = line.split("does not model:")[1]
    assert not any(f" {op} (" in missing for op in present)
    assert "softmax" in missing


def test_reading_names_only_inherited_settings_that_matter(sample_store):
    from coview.engine.types import Context

    cid = one(sample_store, "SELECT config_id FROM configs WHERE system_id = 'mi300x' LIMIT 1")[0]
    full = ask(
        sample_store,
        "Which system is faster at decode batch 8 TP 8 int8, xPU-A or xPU-B?",
        context=Context(config_id=cid),
    )
    assert "selected config" not in full.interpretation["reading"]  # lengths have one value
    bare = ask(sample_store, "which is faster, xPU-A or xPU-B?", context=Context(config_id=cid))
    assert "batch" in bare.interpretation["reading"].split("of the selected config")[0]


def test_which_uses_more_names_the_larger(sample_store):
    r = ask(
        sample_store,
        "Which uses more power in total, TPU v5e or TPU v5p, at prefill batch 1, TP 16, int8?",
    )
    assert_answered(r)
    top = one(
        sample_store,
        "SELECT s.name FROM configs c JOIN systems s USING (system_id) WHERE c.system_id IN "
        "('tpu-v5e', 'tpu-v5p') AND c.phase = 'prefill' AND c.batch_size = 1 AND c.tp = 16 "
        "AND c.weight_dtype = 'int8' ORDER BY c.power_w DESC LIMIT 1",
    )[0]
    assert head(r).startswith(f"{top} has the higher")


def test_latency_per_output_token_is_tpot(sample_store):
    r = ask(
        sample_store,
        "What is the decode latency per output token of MI300X at batch 16, TP 4, fp8?",
    )
    assert_answered(r)
    t = one(
        sample_store,
        "SELECT latency_s FROM configs WHERE system_id = 'mi300x' AND phase = 'decode' AND "
        "batch_size = 16 AND tp = 4 AND weight_dtype = 'fp8'",
    )[0]
    assert close(t, times_in(head(r)))
