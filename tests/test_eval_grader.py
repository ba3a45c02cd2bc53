"""The eval grader on synthetic AskResults: units, rounding, answer-line names, RS(c)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coview.engine.eval import EvalError, load_questions
from coview.engine.eval.grader import (
    ANSWERED_INVALID,
    CORRECT,
    CORRECT_REFUSAL,
    ERROR,
    MISSED,
    WRONG,
    Entity,
    Expected,
    answer_head,
    extract_numbers,
    grade,
    reliability_score,
)
from coview.engine.types import AskResult

SYSTEMS = [Entity(n, [n, i]) for i, n in [("h100", "H100"), ("mi300x", "MI300X"),
                                          ("tpu-v5e", "TPU v5e"), ("tpu-v5p", "TPU v5p"),
                                          ("xpu-a", "xPU-A"), ("xpu-b", "xPU-B")]]  # fmt: skip


def res(answer: str, status: str = "answered") -> AskResult:
    return AskResult(question="q", status=status, answer=answer, backend="test")  # type: ignore[arg-type]


def num(value: float, unit: str | None = "s", tol: float = 0.01) -> Expected:
    return Expected("number", value, tol, unit)


def name(value: str, pool: list[Entity] = SYSTEMS) -> Expected:
    return Expected("name", value, entities=pool)


# ---------------------------------------------------------------- numbers


def test_ms_answer_graded_against_seconds() -> None:
    assert (
        grade(res("Decode latency is 12.35 ms per token."), True, num(0.012345)).outcome == CORRECT
    )
    assert grade(res("It takes 12350 us."), True, num(0.012345)).outcome == CORRECT
    # the same digits in the wrong unit are wrong
    g = grade(res("Decode latency is 12.35 s per token."), True, num(0.012345))
    assert g.outcome == WRONG and "12.35 s" in g.detail
    assert grade(res("Decode latency is 18 ms."), True, num(0.012345)).outcome == WRONG


def test_rounding_shown() -> None:
    # "12.3 ms" stands for [12.25, 12.35) ms: it matches 12.345 ms though 0.4% off the 1% rule
    # would also pass; use a tight tolerance to isolate the rounding rule.
    assert grade(res("12.3 ms"), True, num(0.012345, tol=0.0001)).outcome == CORRECT
    assert grade(res("12 ms"), True, num(0.012345, tol=0.0001)).outcome == CORRECT
    assert grade(res("12.30 ms"), True, num(0.012345, tol=0.0001)).outcome == WRONG
    assert grade(res("0.01 s"), True, num(0.012345, tol=0.0001)).outcome == CORRECT
    assert grade(res("0.010 s"), True, num(0.012345, tol=0.0001)).outcome == WRONG


def test_other_units_and_multipliers() -> None:
    assert (
        grade(res("Weights take 17.2 GB per chip."), True, num(17.24e9, "bytes")).outcome == CORRECT
    )
    assert (
        grade(res("Weights take 16.1 GiB per chip."), True, num(17.29e9, "bytes")).outcome
        == CORRECT
    )
    assert grade(res("It serves 1.2k tokens/s."), True, num(1234.0, "tok/s")).outcome == CORRECT
    assert grade(res("It serves 1,234.5 tokens/s."), True, num(1234.5, "tok/s")).outcome == CORRECT
    assert grade(res("Cost: $0.42 per 1M tokens."), True, num(0.4213, "usd")).outcome == CORRECT
    assert (
        grade(res("Collectives take 12.5% of the step."), True, num(0.125, "fraction")).outcome
        == CORRECT
    )
    assert grade(res("xPU-A is 1.8x faster."), True, num(1.8, "ratio")).outcome == CORRECT
    assert grade(res("xPU-A takes 44% less time."), True, num(1 / 0.56, "ratio")).outcome == CORRECT
    # peak figures are written "1.31 PFLOPS" (FLOP per second)
    assert grade(res("MI300X: 1.31 PFLOPS."), True, num(1.3074e15, "flop/s")).outcome == CORRECT
    assert grade(res("MI300X: 1.31 PFLOPS."), True, num(1.3074e12, "flop/s")).outcome == WRONG
    # a batch size in the same sentence is not mistaken for the latency
    assert grade(res("At batch 8 and TP 8 the latency is 9 ms."), True, num(8.0)).outcome == WRONG


def test_number_outside_answer_line_does_not_count() -> None:
    text = "Here are the latencies:\n- H100: 12.3 ms\n- MI300X: 10.1 ms"
    assert answer_head(text) == "Here are the latencies:"
    assert grade(res(text), True, num(0.0123)).outcome == WRONG
    assert grade(res("- 12.3 ms"), True, num(0.0123)).outcome == WRONG  # opens with a list


def test_identifiers_are_not_numbers() -> None:
    assert extract_numbers("Llama-2-70B on TPU v5e, b8 tp8 fp8, H100, xPU-A") == []


# ---------------------------------------------------------------- names


def test_name_given_as_the_answer_versus_merely_listed() -> None:
    assert (
        grade(
            res("MI300X is fastest at 10.1 ms, ahead of H100 (12.3 ms)."), True, name("MI300X")
        ).outcome
        == CORRECT
    )
    # named, but not as the answer: H100 comes first
    g = grade(res("H100 takes 12.3 ms and MI300X 10.1 ms."), True, name("MI300X"))
    assert g.outcome == WRONG and "H100" in g.detail
    # named only in a list under an answer line that names none
    g = grade(res("Latencies by system:\n- MI300X: 10.1 ms\n- H100: 12.3 ms"), True, name("MI300X"))
    assert g.outcome == WRONG


def test_name_spellings() -> None:
    assert grade(res("The best is tpu-v5e."), True, name("TPU v5e")).outcome == CORRECT
    assert grade(res("v5e wins on perf/TCO."), True, name("TPU v5e")).outcome == CORRECT
    assert grade(res("TPU v5p wins."), True, name("TPU v5e")).outcome == WRONG
    assert grade(res("xPU-B is slower."), True, name("xPU-A")).outcome == WRONG
    ops = [Entity(o, [o]) for o in ("q_proj", "ffn_down", "ffn_up", "all_reduce")]
    assert (
        grade(
            res("ffn_down takes the longest (31% of the step)."), True, name("ffn_down", ops)
        ).outcome
        == CORRECT
    )
    assert (
        grade(res("ffn_up takes longest, then ffn_down."), True, name("ffn_down", ops)).outcome
        == WRONG
    )


# ---------------------------------------------------------------- booleans, bound, config


def test_booleans_and_bound() -> None:
    assert (
        grade(
            res("No: it needs 150 GB but the chip has 80 GB."), True, Expected("boolean", False)
        ).outcome
        == CORRECT
    )
    assert (
        grade(res("It does not fit in memory."), True, Expected("boolean", False)).outcome
        == CORRECT
    )
    assert grade(res("Yes, it fits."), True, Expected("boolean", False)).outcome == WRONG
    assert grade(res("It fits in HBM."), True, Expected("boolean", True)).outcome == CORRECT
    # the yes/no must come in the first sentence, not in a later aside
    late = "Latency rises from 8 ms to 21 ms. Note: only configs that fit in memory."
    assert grade(res(late), True, Expected("boolean", True)).outcome == WRONG
    text = "Its compute time (0.3 ms) is below its memory time (1.2 ms), so q_proj is memory-bound."
    assert grade(res(text), True, Expected("bound", "memory")).outcome == CORRECT
    assert grade(res(text), True, Expected("bound", "compute")).outcome == WRONG


def test_config_kind() -> None:
    exp = Expected("config", {"batch_size": 64, "tp": 8, "weight_dtype": "int8"})
    assert (
        grade(res("The best is batch 64, TP 8, int8: 512 tok/s per $/h."), True, exp).outcome
        == CORRECT
    )
    assert grade(res("The best is batch size 64 with tp=8 in int8."), True, exp).outcome == CORRECT
    g = grade(res("The best is batch 64, TP 4, int8."), True, exp)
    assert g.outcome == WRONG and "tp=8" in g.detail
    # the first mention is the answer: a runner-up in the same paragraph does not count
    g = grade(res("The best is batch 64, TP 16, int8. Then: batch 64, TP 8, int8."), True, exp)
    assert g.outcome == WRONG and "states tp=16" in g.detail
    dtypes = [Entity(d, [d]) for d in ("bf16", "int8", "fp8")]
    exp2 = Expected(
        "config", {"tp": 8, "weight_dtype": "int8"}, field_pools={"weight_dtype": dtypes}
    )
    assert grade(res("TP 8 with fp8 weights, or int8."), True, exp2).outcome == WRONG
    assert grade(res("TP 8 with int8 weights (fp8 is close)."), True, exp2).outcome == CORRECT


# ---------------------------------------------------------------- scoring


def test_refusal_and_error_scores() -> None:
    valid_refused = grade(res("I can't answer that.", "refused"), True, num(1.0))
    assert valid_refused.outcome == MISSED and valid_refused.score(10) == 0
    invalid_refused = grade(res("I can't answer that.", "refused"), False, None)
    assert invalid_refused.outcome == CORRECT_REFUSAL and invalid_refused.score(10) == 1
    invalid_answered = grade(res("B200 decode latency is 5 ms."), False, None)
    assert invalid_answered.outcome == ANSWERED_INVALID and invalid_answered.score(10) == -10
    assert invalid_answered.score(0) == 0
    err = grade(res("backend failed", "error"), False, None)
    assert err.outcome == ERROR and err.score(10) == 0
    assert grade(res("x", "error"), True, num(1.0)).score(10) == 0
    wrong = grade(res("It is 99 ms."), True, num(0.012))
    assert wrong.outcome == WRONG and wrong.score(7) == -7


def test_rs_arithmetic() -> None:
    g = [
        grade(res("12.3 ms"), True, num(0.0123)),  # +1
        grade(res("nope", "refused"), False, None),  # +1
        grade(res("nope", "refused"), True, num(0.0123)),  # 0
        grade(res("99 ms"), True, num(0.0123)),  # -c
    ]
    n = len(g)
    assert reliability_score(g, 0) == pytest.approx(50.0)
    assert reliability_score(g, 10) == pytest.approx(100 * (2 - 10) / 4)
    assert reliability_score(g, n) == pytest.approx(100 * (2 - n) / n)
    assert reliability_score(g[:3], n) == pytest.approx(100 * 2 / 3)  # no wrong: RS(N) > 0
    assert reliability_score([], 10) == 0.0


# ---------------------------------------------------------------- question files


def _write(tmp_path: Path, body: dict, name: str = "q.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(body))
    return p


def test_question_file_errors_name_the_question_and_field(tmp_path: Path) -> None:
    ok = {
        "id": "a1",
        "text": "latency?",
        "type": "query",
        "valid": True,
        "kind": "number",
        "expected": 1.0,
    }
    assert load_questions(_write(tmp_path, {"questions": [ok]})).questions[0].expected == 1.0
    cases = [
        ({**ok, "type": "lookup"}, "'a1'.*`type`"),
        ({**ok, "valid": "yes"}, "'a1'.*`valid`"),
        ({**ok, "kind": "numbr"}, "'a1'.*`kind`"),
        ({k: v for k, v in ok.items() if k != "expected"}, "'a1'.*exactly one of"),
        ({**ok, "valid": False}, "'a1'.*no expected answer"),
        ({**ok, "tolerance": 5}, "'a1'.*`tolerance`"),
        ({**ok, "expectd_sql": "x"}, "'a1'.*unknown field"),
        ({**ok, "text": ""}, "'a1'.*`text`"),
    ]
    for q, pattern in cases:
        with pytest.raises(EvalError, match=pattern):
            load_questions(_write(tmp_path, {"questions": [q]}))
    with pytest.raises(EvalError, match="duplicate id"):
        load_questions(_write(tmp_path, {"questions": [ok, ok]}))
    with pytest.raises(EvalError, match="questions"):
        load_questions(_write(tmp_path, {"qs": []}))
    bad = tmp_path / "bad.yaml"
    bad.write_text("questions: [\n")
    with pytest.raises(EvalError, match="not valid YAML"):
        load_questions(bad)
    with pytest.raises(EvalError, match="no question file"):
        load_questions(tmp_path / "missing.yaml")
