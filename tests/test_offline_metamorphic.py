"""Metamorphic tests of the offline selector, generated from the committed question set.

The committed questions are training data, so their score says little about new questions.
These relations must hold for every valid one of them:
- inserting one concept the schema does not hold (tests/data/unknown_concepts.txt, real
  serving and hardware terms) turns it into a refusal that names the concept;
- changing case, adding "please" / "can you tell me", or reordering setting clauses does not
  change the answer.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from test_offline_helpers import ask

from coview.engine.offline import make_offline_backend
from coview.engine.types import Context

ROOT = Path(__file__).resolve().parent.parent
CONCEPTS = [
    line.strip()
    for line in (ROOT / "tests" / "data" / "unknown_concepts.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
# The committed set and the held-out sets already used in development (training data now).
_SETS = [
    yaml.safe_load((ROOT / "sample_data" / "questions" / name).read_text())
    for name in ("llama2-70b-serving.yaml", "heldout/heldout-4.yaml")
]
VALID = [
    q["text"]
    for s in _SETS
    for q in s["questions"]
    if q.get("valid") and not q.get("context_config_sql") and not q.get("history")
]


def test_the_lists_are_big_enough():
    assert len(CONCEPTS) >= 100 and len(VALID) >= 50


def _cases() -> list[tuple[str, str]]:
    """Every concept at least once, every valid question with three concepts."""
    out = []
    for i, q in enumerate(VALID):
        for k in range(3):
            out.append((q, CONCEPTS[(i + k * len(VALID)) % len(CONCEPTS)]))
    covered = {c for _, c in out}
    for j, c in enumerate(c for c in CONCEPTS if c not in covered):
        out.append((VALID[j % len(VALID)], c))
    return out


def _with(question: str, concept: str, where: str) -> str:
    q = question.rstrip(" ?")
    if where == "suffix":
        return f"{q} with {concept}?"
    return f"Using {concept}, {q[0].lower()}{q[1:]}?"


@pytest.fixture(scope="module")
def selector(sample_store):
    return make_offline_backend(sample_store)[0]


@pytest.mark.parametrize("where", ["suffix", "prefix"])
def test_an_unknown_concept_is_refused_by_name(selector, where):
    failures = []
    for question, concept in _cases():
        if not _answered(selector, question):
            continue  # a question refused already says why; the relation is about answers
        text = _with(question, concept, where)
        sel = selector.select(text, [], Context())
        if sel.answerable or not _names(sel.reason, concept):
            failures.append((text, "answered" if sel.answerable else sel.reason))
    assert not failures, f"{len(failures)} not refused by name, e.g. {failures[:5]}"


_ANSWERED: dict[str, bool] = {}


def _answered(selector, question: str) -> bool:
    if question not in _ANSWERED:
        _ANSWERED[question] = selector.select(question, [], Context()).answerable
    return _ANSWERED[question]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _names(reason: str, concept: str) -> bool:
    """The refusal names the concept: one of its words (three letters or more) appears in
    the reason, or a word of the reason is part of one of them ('fp4' for 'mxfp4')."""
    said = set(_words(reason))
    words = [w for w in _words(concept) if len(w) >= 3]
    return any(w in said or any(len(r) >= 3 and r in w for r in said) for w in words)


def _reorder(question: str) -> str | None:
    """The question with its trailing setting clauses ('batch 8, TP 8, bf16') reversed."""
    q = question.rstrip(" ?")
    parts = [p.strip() for p in q.split(",")]
    settings = re.compile(r"^(batch|tp|bs|b\d|tp\d|bf16|int8|fp8|decode|prefill)\b", re.I)
    tail = [p for p in parts[1:] if settings.match(p)]
    if len(tail) < 2 or len(tail) != len(parts) - 1:
        return None
    return parts[0] + ", " + ", ".join(reversed(tail)) + "?"


def _variants(question: str) -> list[str]:
    out = [
        question.upper(),
        question.lower(),
        "please " + question[0].lower() + question[1:],
        "Can you tell me " + question[0].lower() + question[1:],
    ]
    if (r := _reorder(question)) is not None:
        out.append(r)
    return out


def test_case_politeness_and_clause_order_do_not_change_the_answer(sample_store):
    failures = []
    for question in VALID:
        base = ask(sample_store, question)
        for v in _variants(question):
            r = ask(sample_store, v)
            if (r.status, r.answer) != (base.status, base.answer):
                failures.append((v, base.answer[:80], r.answer[:80]))
    assert not failures, f"{len(failures)} variants changed the answer, e.g. {failures[:3]}"
