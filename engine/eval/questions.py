"""Question files for `coview eval`: loading and validation (format: sample_data/questions/README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coview.engine.eval.grader import DEFAULT_TOLERANCE, KINDS

TYPES = ("query", "comparison", "query+", "stage2", "stage3", "stage4")
UNITS = (
    "s", "bytes", "bytes/s", "tok/s", "flop", "flop/s", "w", "j", "usd", "percent",
    "fraction", "ratio", "chips", "tokens",
)  # fmt: skip


class EvalError(Exception):
    """A bad question file or an expected value that cannot be computed; says what to fix."""


@dataclass
class Question:
    """One question of a question file."""

    id: str
    text: str
    type: str
    valid: bool
    kind: str | None = None
    expected_sql: str | None = None
    expected: Any = None
    tolerance: float = DEFAULT_TOLERANCE
    unit: str | None = None
    candidates: list[str] = field(default_factory=list)
    why: str = ""
    context_config_sql: str | None = None


@dataclass
class QuestionFile:
    """A parsed question file: the store hint and its questions."""

    path: Path
    store: Any
    questions: list[Question]
    name: str = ""


def _err(path: Path, qid: str | None, msg: str) -> EvalError:
    where = f"{path}" + (f", question {qid!r}" if qid else "")
    return EvalError(f"{where}: {msg}")


def load_questions(path: Path | str) -> QuestionFile:
    """Parse and validate a YAML or JSON question file; EvalError names the question and field."""
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"no question file at {path}; see sample_data/questions/README.md.")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # yaml.YAMLError, json.JSONDecodeError
        raise EvalError(
            f"{path} is not valid {path.suffix.lstrip('.').upper() or 'YAML'}: {exc}"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise _err(path, None, "expected a mapping with a `questions:` list at the top level.")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise _err(path, None, "`defaults` must be a mapping.")
    seen: set[str] = set()
    questions: list[Question] = []
    for i, raw in enumerate(data["questions"], start=1):
        if not isinstance(raw, dict):
            raise _err(path, f"#{i}", "each question must be a mapping with id, text, type, valid.")
        q = _parse_question(path, i, {**defaults, **raw})
        if q.id in seen:
            raise _err(path, q.id, "duplicate id; every question needs its own id.")
        seen.add(q.id)
        questions.append(q)
    if not questions:
        raise _err(path, None, "the `questions:` list is empty.")
    return QuestionFile(
        path, data.get("store", "sample"), questions, str(data.get("name", path.stem))
    )


def _parse_question(path: Path, i: int, raw: dict[str, Any]) -> Question:
    qid = raw.get("id")
    if qid is None or str(qid).strip() == "":
        raise _err(path, f"#{i}", "missing field `id`.")
    qid = str(qid)
    known = {
        "id", "text", "type", "valid", "kind", "expected_sql", "expected", "tolerance", "unit",
        "candidates", "why", "note", "context_config_sql",
    }  # fmt: skip
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _err(
            path,
            qid,
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}.",
        )
    text = raw.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _err(path, qid, "field `text` must be the question as a non-empty string.")
    qtype = str(raw.get("type", "")).strip().lower()
    if qtype not in TYPES:
        raise _err(
            path, qid, f"field `type` is {raw.get('type')!r}; use one of: {', '.join(TYPES)}."
        )
    valid = raw.get("valid")
    if not isinstance(valid, bool):
        raise _err(path, qid, "field `valid` must be true (the data answers it) or false.")
    kind = raw.get("kind")
    sql = raw.get("expected_sql")
    literal = raw.get("expected")
    if valid:
        if kind not in KINDS:
            raise _err(
                path,
                qid,
                f"field `kind` is {kind!r}; a valid question needs one of: {', '.join(KINDS)}.",
            )
        if (sql is None) == (literal is None):
            raise _err(
                path, qid, "a valid question needs exactly one of `expected_sql` or `expected`."
            )
        if sql is not None and (not isinstance(sql, str) or not sql.strip()):
            raise _err(path, qid, "field `expected_sql` must be a SQL string.")
    elif sql is not None or literal is not None:
        raise _err(
            path,
            qid,
            "an invalid question (valid: false) has no expected answer; remove `expected`/`expected_sql`.",
        )
    tol = raw.get("tolerance", DEFAULT_TOLERANCE)
    if not isinstance(tol, int | float) or isinstance(tol, bool) or not 0 <= tol < 1:
        raise _err(
            path, qid, f"field `tolerance` is {tol!r}; give a relative tolerance such as 0.01."
        )
    unit = raw.get("unit")
    if unit is not None and unit not in UNITS:
        raise _err(path, qid, f"field `unit` is {unit!r}; use one of: {', '.join(UNITS)}.")
    cands = raw.get("candidates") or []
    if not isinstance(cands, list) or not all(isinstance(c, str) for c in cands):
        raise _err(path, qid, "field `candidates` must be a list of names.")
    ctx = raw.get("context_config_sql")
    return Question(
        id=qid,
        text=text.strip(),
        type=qtype,
        valid=valid,
        kind=kind,
        expected_sql=sql,
        expected=literal,
        tolerance=float(tol),
        unit=unit,
        candidates=list(cands),
        why=str(raw.get("why") or raw.get("note") or ""),
        context_config_sql=ctx,
    )
