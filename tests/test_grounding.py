"""The grounding check: unit changes, rounding shown, ratios, percentages, identifiers, and
invented numbers flagged."""

from __future__ import annotations

import pytest

from coview.engine.grounding import check_grounding, extract_numbers, mark_unmatched
from coview.engine.types import Evidence


def ev(columns, rows):
    return Evidence(sql="SELECT 1", columns=list(columns), rows=[tuple(r) for r in rows])


CMP = ev(
    ["system", "phase", "batch_size", "tp", "weight_dtype", "latency_s", "hbm_bytes"],
    [
        ("H100", "decode", 8, 8, "bf16", 0.008672, 80e9),
        ("MI300X", "decode", 8, 8, "bf16", 0.006281, 192e9),
    ],
)


def nums(text, evidence=(CMP,)):
    g = check_grounding(text, list(evidence))
    return {n.text: n.matched for n in g.numbers}, g


@pytest.mark.parametrize(
    "text",
    [
        "H100 takes 8.67 ms per step.",
        "H100 takes 8.672 ms per step.",
        "H100 takes 0.00867 s per step.",
        "H100 takes 8672 us per step.",
        "H100 takes 8,672 µs per step.",
        "H100 takes 9 ms per step.",  # rounding to the digits shown
        "H100 takes 8.7e-3 s per step.",
    ],
)
def test_time_unit_changes_and_rounding(text):
    _, g = nums(text)
    assert g.ok, g.numbers
    assert len(g.numbers) == 1


@pytest.mark.parametrize(
    "text",
    [
        "H100 takes 8.6 ms per step.",
        "H100 takes 8.68 ms.",
        "H100 takes 86.7 ms.",
        "H100 takes 8.67 s.",
    ],
)
def test_wrong_rounding_or_unit_is_flagged(text):
    _, g = nums(text)
    assert not g.ok


@pytest.mark.parametrize(
    "text",
    [
        "H100 has 80 GB of HBM.",
        "H100 has 80.0 GB.",
        "MI300X has 192 GB.",
        "MI300X has 178.8 GiB.",
        "MI300X has 192,000 MB.",
    ],
)
def test_bytes_units(text):
    _, g = nums(text)
    assert g.ok, g.numbers


def test_ratio_percentage_and_difference():
    text = (
        "MI300X is 1.38x faster than H100 (27.6% lower latency, 38.1% higher on H100); "
        "the gap is 2.39 ms; MI300X has 2.4 times the HBM."
    )
    found, g = nums(text)
    assert g.ok, g.unmatched
    assert "ratio" in found["1.38x"]
    assert "percent" in found["27.6%"]
    assert "diff" in found["2.39 ms"]


def test_share_percentage_within_a_row():
    e = ev(["system", "selected_time_s", "config_op_time_s"], [("H100", 0.00234, 0.00867)])
    _, g = nums("collectives take 27.0% of the time: 2.34 ms of 8.67 ms", [e])
    assert g.ok, g.unmatched


def test_identifiers_are_not_numbers_but_tp_and_batch_are():
    found, g = nums("On H100 (TPU v5e aside), Llama-2-70B, bf16, TP 8, batch 8: 8.67 ms.")
    assert set(found) == {"8", "8.67 ms"} or set(found) == {"8", "8.67 ms"}
    assert g.ok
    assert [n.value for n in g.numbers].count(8) == 2  # TP 8 and batch 8 both checked
    _, bad = nums("On H100, TP 4, batch 8: 8.67 ms.")
    assert [n.text for n in bad.unmatched] == ["4"]  # TP 4 is not in the rows


def test_invented_number_is_flagged_and_marked():
    text = "H100 takes 8.67 ms, while B200 would take 3.1 ms and use 700 W."
    found, g = nums(text)
    assert not g.ok
    assert {n.text for n in g.unmatched} == {"3.1 ms", "700 W"}
    assert found["8.67 ms"] is not None
    marked = mark_unmatched(text, g)
    assert "⟦3.1 ms?⟧" in marked and "⟦700 W?⟧" in marked and "8.67 ms," in marked


def test_no_numbers_is_grounded():
    _, g = nums("MI300X is faster than H100.")
    assert g.ok and g.numbers == []


def test_currency_thousands_and_counts():
    e = ev(
        ["system", "usd_per_1m_tokens", "throughput_tok_per_s", "count"],
        [("H100", 0.0905, 2831.6, 80), ("MI300X", 0.12, 3632.2, 80)],
    )
    _, g = nums("H100: $0.0905/M tokens, 2,832 tokens/s, 80 instances; 2 systems.", [e])
    assert g.ok, g.unmatched


def test_extract_handles_scientific_and_percent():
    got = [(n.text, n.value, n.unit) for n in extract_numbers("1.5e-3 s, 12%, 3x, 4 TFLOPS")]
    assert got[0][1] == pytest.approx(1.5e-3)
    assert [u for *_, u in got] == ["s", "%", "x", "tflops"]


def test_negative_change_written_as_lower():
    e = ev(["dtype", "latency_s"], [("bf16", 0.010), ("int8", 0.006)])
    _, g = nums("int8 is 40.0% lower than bf16 and bf16 is 66.7% higher.", [e])
    assert g.ok, g.unmatched
