"""Offline ask refuses what the data cannot answer, naming the problem, with suggestions."""

from __future__ import annotations

import pytest
from test_offline_helpers import ask, assert_refused


@pytest.mark.parametrize(
    "q, words",
    [
        ("What is the decode latency of B200 at batch 8?", ["B200", "H100", "xPU-B"]),
        ("b200 lat bs8", ["B200"]),
        ("compare A100 and H100 throughput", ["A100"]),
        ("tpu v4 throughput at batch 8", ["TPU v4", "TPU v5e"]),
        ("What is the latency of Gaudi 3 at batch 8?", ["Gaudi 3"]),
    ],
)
def test_unknown_system(sample_store, q, words):
    r = ask(sample_store, q)
    assert_refused(r, "no system", *words)
    assert r.suggestions and r.sql == []


@pytest.mark.parametrize(
    "q",
    [
        "latency of llama 3 8b on h100",
        "What is GPT-4's throughput on MI300X?",
        "mixtral decode latency on h100 at batch 8",
    ],
)
def test_unknown_model(sample_store, q):
    r = ask(sample_store, q)
    assert_refused(r, "model", "Llama-2-70B")


@pytest.mark.parametrize(
    "q, words",
    [
        ("What is the decode latency of H100 at batch 1024?", ["batch size 1024", "256"]),
        ("h100 latency bs 1024", ["1024"]),
        ("throughput of mi300x at TP 32", ["TP degree 32", "16"]),
        ("latency of h100 at tp 3 batch 8", ["TP degree 3"]),
        ("what's the fp16 latency of h100 at batch 8", ["fp16", "bf16"]),
        ("int4 throughput on mi300x", ["int4"]),
        ("latency of h100 decode at input length 8192", ["input length 8192", "2048"]),
    ],
)
def test_value_outside_the_sweep(sample_store, q, words):
    r = ask(sample_store, q)
    assert_refused(r, *words)


@pytest.mark.parametrize(
    "q, words",
    [
        ("what is the power of the HBM on H100", ["HBM power"]),
        ("how much power does the SRAM of xPU-A draw", ["SRAM power"]),
        ("What is the accuracy of Llama-2-70B on H100?", ["accuracy"]),
        ("p99 latency of h100 decode batch 8", ["p99"]),
        ("what is the temperature of the mi300x", ["temperature"]),
        ("How much does it cost to buy an MI300X?", ["purchase"]),
        ("h100 l2 cache hit rate for q_proj at decode batch 8", ["hit"]),
    ],
)
def test_metric_not_in_schema(sample_store, q, words):
    r = ask(sample_store, q)
    assert_refused(r, *words)
    assert len(r.suggestions) >= 2


@pytest.mark.parametrize(
    "q",
    [
        "How long is one training step on H100?",
        "fine-tune llama on tpu v5p: how long?",
        "backward pass time of q_proj on h100",
        "optimizer memory on mi300x",
    ],
)
def test_training_is_refused(sample_store, q):
    r = ask(sample_store, q)
    assert_refused(r, "inference only", "training")


@pytest.mark.parametrize("q", ["What is the peak fp8 FLOPS of TPU v5e?", "v5e fp8 peak tflops?"])
def test_null_value_is_a_refusal_not_zero(sample_store, q):
    r = ask(sample_store, q)
    assert_refused(r, "does not contain", "peak_flops_fp8")
    assert "0 " not in r.answer.split("Questions")[0]


def test_suggestions_are_answerable(sample_store):
    r = ask(sample_store, "what is the accuracy of H100")
    assert r.status == "refused"
    for s in r.suggestions:
        ok = ask(sample_store, s)
        assert ok.status == "answered", (s, ok.answer)


def test_this_config_without_selection(sample_store):
    r = ask(sample_store, "what is the latency of this config?")
    assert_refused(r, "no configuration is selected")


def test_unclear_number_is_not_ignored(sample_store):
    r = ask(sample_store, "latency of h100 with 4096")
    assert_refused(r, "4096")


def test_filter_the_data_cannot_apply_is_refused(sample_store):
    """A condition on configs that no config column holds must not be silently dropped."""
    r = ask(sample_store, "decode latency of h100 when weights are in SRAM")
    assert_refused(r, "where weights live", "per operator")


def test_component_refusal_does_not_claim_a_metric_the_schema_lacks(sample_store):
    """'HBM temperature': refused, and the reason must not say the schema has temperature."""
    from coview.engine.pipeline import Pipeline

    pipe = Pipeline(sample_store, backend="offline")
    r = pipe.ask("what's the HBM temperature of the H100?")
    assert r.status == "refused"
    assert "no temperature figure at all" in r.reason
    assert "only for a whole" not in r.reason
    r = pipe.ask("what is the power of the HBM on H100")
    assert r.status == "refused"
    assert "power only for a whole configuration or chip" in r.reason
