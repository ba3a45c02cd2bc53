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
    # Expected values computed by re-simulation at eval time (coview.engine.eval.resimulate).
    expected_whatif: dict[str, Any] | None = None
    expected_search: dict[str, Any] | None = None
    # kind all_of: every one of these checks must hold on the answer line.
    all_of: list[Question] = field(default_factory=list)
    # A multi-turn item: its turns, asked in order in one fresh session.
    turns: list[Question] = field(default_factory=list)
    item: str | None = None  # for a turn: the id of its multi-turn item
    turn: int | None = None  # for a turn: its 1-based position in the item


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


EXPECTED_FIELDS = ("expected_sql", "expected", "expected_whatif", "expected_search")
CHECK_FIELDS = {"kind", *EXPECTED_FIELDS, "tolerance", "unit", "candidates", "all_of"}
ITEM_FIELDS = {"id", "type", "why", "note", "turns"}
TURN_FIELDS = {"id", "text", "type", "valid", "why", "note", *CHECK_FIELDS}


def _parse_question(path: Path, i: int, raw: dict[str, Any]) -> Question:
    qid = raw.get("id")
    if qid is None or str(qid).strip() == "":
        raise _err(path, f"#{i}", "missing field `id`.")
    qid = str(qid)
    if "turns" in raw:
        return _parse_item(path, qid, raw)
    known = {
        "id", "text", "type", "valid", "kind", *EXPECTED_FIELDS, "tolerance", "unit",
        "candidates", "why", "note", "context_config_sql", "all_of",
    }  # fmt: skip
    return _parse_one(path, qid, raw, known)


def _parse_item(path: Path, qid: str, raw: dict[str, Any]) -> Question:
    """A multi-turn item: `turns:` asked in order in one session, each graded on its own."""
    # defaults (tolerance...) reach the turns; item-only fields stay on the item
    defaults = {k: v for k, v in raw.items() if k not in ITEM_FIELDS}
    unknown = sorted(k for k in defaults if k not in CHECK_FIELDS)
    if unknown:
        raise _err(
            path,
            qid,
            f"unknown field(s) {', '.join(unknown)} on a multi-turn item; an item has "
            f"{', '.join(sorted(ITEM_FIELDS))}, and each turn its own text, valid, kind, expected.",
        )
    turns_raw = raw.get("turns")
    if not isinstance(turns_raw, list) or not turns_raw:
        raise _err(path, qid, "field `turns` must be a non-empty list of turns.")
    turns: list[Question] = []
    seen: set[str] = set()
    for k, t in enumerate(turns_raw, start=1):
        if not isinstance(t, dict):
            raise _err(path, f"{qid}/{k}", "each turn must be a mapping with text, valid, kind.")
        tid = f"{qid}/{t.get('id', k)}"
        if tid in seen:
            raise _err(path, tid, "duplicate turn id within the item.")
        seen.add(tid)
        merged = {"type": raw.get("type"), **{k2: v for k2, v in defaults.items()}, **t}
        merged["id"] = tid
        q = _parse_one(path, tid, merged, TURN_FIELDS)
        q.item, q.turn = qid, k
        turns.append(q)
    qtype = str(raw.get("type") or turns[0].type).strip().lower()
    return Question(
        id=qid,
        text=turns[0].text,
        type=qtype if qtype in TYPES else turns[0].type,
        valid=all(t.valid for t in turns),
        why=str(raw.get("why") or raw.get("note") or ""),
        turns=turns,
    )


def _parse_one(path: Path, qid: str, raw: dict[str, Any], known: set[str]) -> Question:
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
    if valid:
        check = _parse_check(path, qid, raw, str(text).strip())
    else:
        given = [f for f in (*EXPECTED_FIELDS, "all_of") if raw.get(f) is not None]
        if given:
            raise _err(
                path,
                qid,
                "an invalid question (valid: false) has no expected answer; remove "
                + ", ".join(f"`{f}`" for f in given)
                + ".",
            )
        check = _parse_check(path, qid, {**raw, "kind": None}, str(text).strip(), expect=False)
    ctx = raw.get("context_config_sql")
    check.type, check.valid, check.kind = qtype, valid, kind
    check.why = str(raw.get("why") or raw.get("note") or "")
    check.context_config_sql = ctx
    return check


def _parse_check(
    path: Path, qid: str, raw: dict[str, Any], text: str, expect: bool = True
) -> Question:
    """What the answer must state: a kind and exactly one source of the expected value
    (or, for kind all_of, a list of such checks)."""
    kind = raw.get("kind")
    sql = raw.get("expected_sql")
    literal = raw.get("expected")
    whatif = raw.get("expected_whatif")
    search = raw.get("expected_search")
    subs: list[Question] = []
    if expect:
        if kind not in KINDS:
            raise _err(
                path,
                qid,
                f"field `kind` is {kind!r}; a valid question needs one of: {', '.join(KINDS)}.",
            )
        sources = [f for f in EXPECTED_FIELDS if raw.get(f) is not None]
        if kind == "all_of":
            parts = raw.get("all_of")
            if sources or not isinstance(parts, list) or not parts:
                raise _err(
                    path,
                    qid,
                    "kind all_of needs `all_of:` (a non-empty list of checks, each with its own "
                    "kind and expected value) and no expected value of its own.",
                )
            for j, part in enumerate(parts, start=1):
                sid = f"{qid}.all_of[{j}]"
                if not isinstance(part, dict):
                    raise _err(path, sid, "each check of `all_of` must be a mapping.")
                unknown = sorted(set(part) - CHECK_FIELDS)
                if unknown:
                    raise _err(
                        path,
                        sid,
                        f"unknown field(s) {', '.join(unknown)}; a check has "
                        f"{', '.join(sorted(CHECK_FIELDS))}.",
                    )
                if part.get("kind") == "all_of":
                    raise _err(path, sid, "all_of checks cannot nest; list every check once.")
                defaults = {"tolerance": raw.get("tolerance", DEFAULT_TOLERANCE)}
                subs.append(_parse_check(path, sid, {**defaults, **part}, text))
        elif raw.get("all_of") is not None:
            raise _err(path, qid, "`all_of` goes with kind all_of only.")
        elif len(sources) != 1:
            raise _err(
                path,
                qid,
                "a valid question needs exactly one of "
                + ", ".join(f"`{f}`" for f in EXPECTED_FIELDS)
                + (f" (it has {', '.join(sources)})." if sources else "."),
            )
        if sql is not None and (not isinstance(sql, str) or not sql.strip()):
            raise _err(path, qid, "field `expected_sql` must be a SQL string.")
        if whatif is not None:
            from coview.engine.eval.resimulate import check_whatif_spec

            try:
                check_whatif_spec(whatif)
            except ValueError as exc:
                raise _err(path, qid, f"`expected_whatif`: {exc}") from exc
        if search is not None:
            from coview.engine.eval.resimulate import check_search_spec

            try:
                check_search_spec(search)
            except ValueError as exc:
                raise _err(path, qid, f"`expected_search`: {exc}") from exc
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
    return Question(
        id=qid,
        text=text,
        type="",
        valid=True,
        kind=kind,
        expected_sql=sql,
        expected=literal,
        tolerance=float(tol),
        unit=unit,
        candidates=list(cands),
        expected_whatif=whatif,
        expected_search=search,
        all_of=subs,
    )
