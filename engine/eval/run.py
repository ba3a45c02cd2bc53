"""`coview eval`: run a question file through the pipeline, grade it, and report.

Expected values are computed from the store at eval time with a plain read-only DuckDB
connection (trusted SQL written by the question author), so a question file stays right when
the data is regenerated. Every question then goes through the same Pipeline as `coview ask`.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coview.engine.eval.grader import (
    ANSWERED_INVALID,
    CORRECT,
    CORRECT_REFUSAL,
    ERROR,
    MISSED,
    WRONG,
    Entity,
    Expected,
    Grade,
    answer_head,
    grade,
    is_finite_number,
    reliability_score,
    to_bool,
)
from coview.engine.eval.questions import TYPES, EvalError, Question, QuestionFile, load_questions
from coview.engine.types import AskResult, Context

# --------------------------------------------------------------------------- store


def resolve_eval_store(qfile: QuestionFile, store_path: Path | None) -> Path:
    """The store to grade against: --store/COVIEW_STORE if given, else the file's `store` hint.

    Hints: "sample" (the bundled sample store); a path (relative to the question file); or
    {"ingest": [paths], "format": "llm-analysis", "sweep": id}, built once into the cache.
    """
    if store_path is not None:
        return Path(store_path)
    hint = qfile.store
    base = qfile.path.resolve().parent
    if hint in (None, "sample"):
        from coview.store.db import sample_store_path

        return sample_store_path()
    if isinstance(hint, str):
        p = Path(hint).expanduser()
        return p if p.is_absolute() else base / p
    if isinstance(hint, dict) and "ingest" in hint:
        return _build_ingest_store(qfile, hint, base)
    raise EvalError(
        f'{qfile.path}: `store` is {hint!r}; use "sample", a path, or '
        "{ingest: [paths], format: native|llm-analysis}."
    )


def _build_ingest_store(qfile: QuestionFile, hint: dict[str, Any], base: Path) -> Path:
    from coview.store.db import build_cached_store, cache_dir

    paths = hint["ingest"] if isinstance(hint["ingest"], list) else [hint["ingest"]]
    paths = [Path(p) if Path(p).is_absolute() else (base / p).resolve() for p in paths]
    fmt = str(hint.get("format", "native"))
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise EvalError(
            f"{qfile.path}: `store.ingest` names paths that do not exist: {', '.join(missing)}"
        )
    h = hashlib.sha256(f"{fmt}|{hint.get('sweep')}".encode())
    # The importer's code is part of the key too: a fixed importer must rebuild the store.
    import importlib.util

    import coview.store.importers as importers

    spec = importlib.util.find_spec("coview.store.ingest")
    code_files = [Path(spec.origin)] if spec and spec.origin else []
    code_files += sorted(Path(importers.__file__).parent.glob("*.py"))
    for f in code_files:
        if f.is_file():
            h.update(f.read_bytes())
    for p in paths:
        files = sorted(p.rglob("*")) if p.is_dir() else [p]
        for f in files:
            if f.is_file():
                h.update(str(f.relative_to(p.parent)).encode())
                h.update(f.read_bytes())
    target = cache_dir() / f"eval-{h.hexdigest()[:16]}.duckdb"
    try:
        build_cached_store(target, paths, fmt=fmt, sweep_id=hint.get("sweep"))
    except Exception as exc:
        raise EvalError(f"{qfile.path}: cannot build the store from `store.ingest`: {exc}") from exc
    return target


# --------------------------------------------------------------------------- expected values


def _vocabulary(con) -> list[list[Entity]]:
    """Groups of nameable entities in the store: one group per kind."""
    groups: list[list[Entity]] = []

    def q(sql: str) -> list[tuple]:
        try:
            return con.execute(sql).fetchall()
        except Exception:
            return []

    groups.append(
        [Entity(str(n), [str(n), str(i)]) for i, n in q("SELECT system_id, name FROM systems")]
    )
    groups.append(
        [Entity(str(n), [str(n), str(i)]) for i, n in q("SELECT model_id, name FROM models")]
    )
    for sql in (
        "SELECT DISTINCT op_type FROM operators WHERE op_type IS NOT NULL",
        "SELECT DISTINCT op_class FROM operators WHERE op_class IS NOT NULL",
        "SELECT DISTINCT phase FROM configs WHERE phase IS NOT NULL",
        "SELECT DISTINCT weight_dtype FROM configs WHERE weight_dtype IS NOT NULL "
        "UNION SELECT DISTINCT act_dtype FROM configs WHERE act_dtype IS NOT NULL",
        "SELECT DISTINCT weights_location FROM operators WHERE weights_location IS NOT NULL",
    ):
        groups.append([Entity(str(r[0]), [str(r[0])]) for r in q(sql)])
    return [g for g in groups if g]


def _pool(accept: list[str], candidates: list[str], vocab: list[list[Entity]]) -> list[Entity]:
    """The entities the answer could name: the kind (group) the expected names belong to."""
    lows = {a.lower(): a for a in accept}
    pool: list[Entity] = []
    for group in vocab:
        if any(a.lower() in lows for e in group for a in e.aliases):
            pool = [Entity(e.key, list(e.aliases)) for e in group]
            for e in pool:  # key expected entities by the spelling the expected value uses
                for a in e.aliases:
                    if a.lower() in lows:
                        e.key = lows[a.lower()]
            break
    keys = {e.key.lower() for e in pool}
    pool += [Entity(a, [a]) for a in accept if a.lower() not in keys]
    keys = {e.key.lower() for e in pool}
    pool += [Entity(c, [c]) for c in candidates if c.lower() not in keys]
    return pool


def resolve_expected(q: Question, con, vocab: list[list[Entity]], path: Path) -> Expected:
    """Compute a valid question's expected value (running its expected_sql)."""
    where = f"{path}, question {q.id!r}"
    if q.kind == "all_of":
        parts = [resolve_expected(part, con, vocab, path) for part in q.all_of]
        return Expected("all_of", None, q.tolerance, q.unit, parts=parts)
    rows: list[tuple] = []
    cols: list[str] = []
    if q.expected_sql is not None:
        try:
            cur = con.execute(q.expected_sql)
            cols = [d[0] for d in cur.description]
            rows = cur.fetchmany(50)
        except Exception as exc:
            raise EvalError(f"{where}: `expected_sql` failed: {exc}") from exc
        if not rows:
            raise EvalError(
                f"{where}: `expected_sql` returned no rows on this store, so the question is not "
                "valid here; fix the SQL or mark it valid: false."
            )
        row = dict(zip(cols, rows[0], strict=False))
        value: Any = rows[0][0] if q.kind != "config" else row
    elif q.expected_whatif is not None or q.expected_search is not None:
        from coview.engine.eval.resimulate import ResimError, search_expected, whatif_expected

        field_name = "expected_whatif" if q.expected_whatif is not None else "expected_search"
        try:
            if q.expected_whatif is not None:
                row = whatif_expected(con, q.expected_whatif)
                value = list(row.values())[-1]
            else:
                row = search_expected(con, q.expected_search)
                value = row["value"]
                row = {"system": row["system"], "value": value}
        except ResimError as exc:
            raise EvalError(f"{where}: `{field_name}`: {exc}") from exc
        cols, rows = list(row), [tuple(row.values())]
    else:
        value = q.expected
    kind = q.kind or "text"
    if kind == "facts":
        if not rows:
            literal = value if isinstance(value, list) else [value]
            if not all(isinstance(r, dict) for r in literal):
                raise EvalError(f"{where}: kind facts needs `expected_sql` or a list of mappings.")
            facts = [dict(r) for r in literal]
        else:
            facts = [dict(zip(cols, r, strict=False)) for r in rows]
        if any(v is None for r in facts for v in r.values()):
            raise EvalError(f"{where}: expected facts have NULLs: {facts}")
        pools = {
            _plain_text(v).lower(): _pool([_plain_text(v)], [], vocab)
            for r in facts
            for v in r.values()
            if not isinstance(v, int | float) or isinstance(v, bool)
        }
        return Expected("facts", facts, q.tolerance, q.unit, field_pools=pools)
    if kind == "number":
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                pass
        if hasattr(value, "__float__") and not isinstance(value, bool):
            value = float(value)
        if not is_finite_number(value):
            raise EvalError(
                f"{where}: expected number is {value!r} (NULL or not a number) on this store."
            )
    elif kind == "boolean":
        b = to_bool(value)
        if b is None:
            raise EvalError(f"{where}: expected boolean is {value!r}; return true/false.")
        value = b
    elif kind == "bound":
        if str(value).lower() not in ("compute", "memory", "comm"):
            raise EvalError(f"{where}: expected bound is {value!r}; use compute, memory or comm.")
        value = str(value).lower()
    elif kind == "config":
        if not isinstance(value, dict):
            raise EvalError(
                f"{where}: kind config needs `expected_sql` returning one row of named columns."
            )
        if any(v is None for v in value.values()):
            raise EvalError(f"{where}: expected config row has NULLs: {value}")
    else:
        if value is None:
            raise EvalError(f"{where}: expected value is NULL on this store.")
        value = str(value)
    accept: list[str] = []
    entities: list[Entity] = []
    if kind == "name":
        # Several rows from expected_sql are ties: any of them is a right answer.
        accept = [str(value)]
        if q.expected_sql is not None:
            accept = list(dict.fromkeys(str(r[0]) for r in rows if r[0] is not None))
        entities = _pool(accept, q.candidates, vocab)
    pools: dict[str, list[Entity]] = {}
    if kind == "config":
        pools = {
            col: _pool([str(v)], [], vocab)
            for col, v in value.items()
            if not isinstance(v, int | float) or isinstance(v, bool)
        }
    return Expected(kind, value, q.tolerance, q.unit, entities, accept, pools)


def _plain_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------- report


@dataclass
class EvalItem:
    """One graded question."""

    question: Question
    result: AskResult
    grade: Grade
    expected: Expected | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.question.id,
            "item": self.question.item,
            "turn": self.question.turn,
            "type": self.question.type,
            "valid": self.question.valid,
            "question": self.question.text,
            "outcome": self.grade.outcome,
            "correct": self.grade.is_correct,
            "detail": self.grade.detail,
            "expected": self.expected.describe() if self.expected else None,
            "status": self.result.status,
            "answer": self.result.answer,
            "sql": list(self.result.sql),
            "reason": self.result.reason,
            "elapsed_s": round(self.result.elapsed_s, 4),
        }


@dataclass
class EvalReport:
    """All graded questions of one run, with the VIEW-style table and RS(c) scores."""

    backend: str
    store_path: Path
    questions_path: Path
    items: list[EvalItem] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.items)

    @property
    def wrong(self) -> list[EvalItem]:
        """Wrong answers and answers to invalid questions (the -c outcomes)."""
        return [i for i in self.items if i.grade.is_wrong]

    def rs(self, c: float) -> float:
        return reliability_score([i.grade for i in self.items], c)

    def scores(self) -> dict[str, float]:
        return {"RS(0)": self.rs(0), "RS(10)": self.rs(10), f"RS(N={self.n})": self.rs(self.n)}

    def cells(self) -> dict[str, dict[str, int]]:
        """{"query/valid": {"correct": k, "total": n}, ...} in TYPES order: every type's valid
        column (total 0 when the set has none), invalid columns where the set has some. Each
        turn of a multi-turn item counts once, under its own type."""
        out: dict[str, dict[str, int]] = {}
        for t in TYPES:
            for valid in (True, False):
                mine = [i for i in self.items if i.question.type == t and i.question.valid == valid]
                if mine or valid:
                    out[f"{t}/{'valid' if valid else 'invalid'}"] = {
                        "correct": sum(1 for i in mine if i.grade.is_correct),
                        "total": len(mine),
                    }
        return out

    def multi_turn(self) -> list[dict[str, Any]]:
        """Per multi-turn item: its turns' outcomes, in order."""
        out: dict[str, dict[str, Any]] = {}
        for i in self.items:
            if i.question.item is None:
                continue
            d = out.setdefault(
                i.question.item, {"id": i.question.item, "turns": 0, "correct": 0, "outcomes": []}
            )
            d["turns"] += 1
            d["correct"] += int(i.grade.is_correct)
            d["outcomes"].append({"turn": i.question.id, "outcome": i.grade.outcome})
        return list(out.values())

    def outcome_counts(self) -> dict[str, int]:
        keys = (CORRECT, CORRECT_REFUSAL, MISSED, ERROR, WRONG, ANSWERED_INVALID)
        return {k: sum(1 for i in self.items if i.grade.outcome == k) for k in keys}

    def times(self) -> dict[str, float]:
        ts = [i.result.elapsed_s for i in self.items]
        if not ts:
            return {"median_s": 0.0, "mean_s": 0.0, "max_s": 0.0, "total_s": 0.0}
        return {
            "median_s": statistics.median(ts),
            "mean_s": statistics.fmean(ts),
            "max_s": max(ts),
            "total_s": sum(ts),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "store": str(self.store_path),
            "questions_file": str(self.questions_path),
            "n": self.n,
            "scores": {k: round(v, 2) for k, v in self.scores().items()},
            "table": self.cells(),
            "outcomes": self.outcome_counts(),
            "time": {k: round(v, 4) for k, v in self.times().items()},
            "wrong": [i.question.id for i in self.wrong],
            "multi_turn": self.multi_turn(),
            "results": [i.to_json() for i in self.items],
        }

    def table_markdown(self) -> str:
        """The VIEW-style table (rows: backend; columns: type x valid/invalid) as Markdown."""
        cells = self.cells()
        head = ["backend", *cells.keys(), "all"]
        total_c = sum(1 for i in self.items if i.grade.is_correct)
        row = [
            self.backend,
            *(_pct(v["correct"], v["total"]) for v in cells.values()),
            _pct(total_c, self.n),
        ]
        return "\n".join(
            [
                "| " + " | ".join(head) + " |",
                "|" + "|".join("---" for _ in head) + "|",
                "| " + " | ".join(row) + " |",
            ]
        )

    def render_text(self) -> str:
        """The human report: table, scores, outcome counts, times, then the failures in detail."""
        out = [
            f"coview eval: {self.questions_path.name} on {self.store_path} with backend {self.backend!r}",
            f"{self.n} questions ({sum(1 for i in self.items if i.question.valid)} valid, "
            f"{sum(1 for i in self.items if not i.question.valid)} invalid)"
            + (
                f"; {len(items)} multi-turn item(s), each turn counted"
                if (items := self.multi_turn())
                else ""
            ),
            "",
            "Percent correct by question type (correct answer for valid, refusal for invalid):",
            "",
            self.table_markdown(),
            "",
            "  ".join(f"{k} = {v:.1f}" for k, v in self.scores().items()),
            "outcomes: " + ", ".join(f"{k} {v}" for k, v in self.outcome_counts().items()),
        ]
        t = self.times()
        out.append(
            f"time per question: median {t['median_s'] * 1e3:.0f} ms, mean {t['mean_s'] * 1e3:.0f} ms, "
            f"max {t['max_s'] * 1e3:.0f} ms (total {t['total_s']:.1f} s)"
        )
        for d in self.multi_turn():
            marks = ", ".join(
                f"{o['turn'].rsplit('/', 1)[-1]} {o['outcome'].replace('_', ' ')}"
                for o in d["outcomes"]
            )
            out.append(f"multi-turn {d['id']}: {d['correct']}/{d['turns']} turns right ({marks})")
        wrong = self.wrong
        out += ["", f"Wrong answers ({len(wrong)}):" if wrong else "Wrong answers: none."]
        for i in wrong:
            out += _item_lines(i)
        missed = [i for i in self.items if i.grade.outcome in (MISSED, ERROR)]
        if missed:
            out += ["", f"Valid questions refused, and errors ({len(missed)}; scored 0):"]
            for i in missed:
                out.append(f"  [{i.question.id}] {i.question.text}")
                out.append(
                    f"      {i.grade.outcome}: {_one_line(i.result.reason or i.result.answer, 200)}"
                )
        return "\n".join(out) + "\n"


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.0f}% ({k}/{n})" if n else "-"


def _one_line(text: str, cap: int) -> str:
    t = " ".join(str(text).split())
    return t if len(t) <= cap else t[: cap - 3] + "..."


def _item_lines(i: EvalItem) -> list[str]:
    q = i.question
    lines = [
        f"  [{q.id}] ({q.type}, {'valid' if q.valid else 'invalid'}) {q.text}",
        f"      expected: {i.expected.describe() if i.expected else 'a refusal (' + (q.why or 'not in the data') + ')'}",
        f"      got:      {_one_line(answer_head(i.result.answer) or i.result.answer, 240)}",
        f"      why:      {i.grade.detail}",
    ]
    for sql in i.result.sql:
        lines.append(f"      sql:      {_one_line(sql, 400)}")
    return lines


# --------------------------------------------------------------------------- running


def run_eval(
    questions_path: Path | str,
    store_path: Path | None,
    settings: Any = None,
    progress: bool = False,
) -> EvalReport:
    """Grade every question of the file on the store with the configured backend."""
    import duckdb

    from coview.config import load_settings
    from coview.engine.pipeline import Pipeline

    qfile = load_questions(questions_path)
    settings = settings or load_settings()
    store = resolve_eval_store(qfile, Path(store_path) if store_path else None)
    if not store.exists():
        raise EvalError(f"no store at {store}; create it with `coview ingest` or fix --store.")
    # Expected values first, on our own connection, closed before the pipeline opens its
    # guarded one (DuckDB refuses two in-process connections with different configs).
    try:
        con = duckdb.connect(str(store), read_only=True)
    except duckdb.Error as exc:
        raise EvalError(f"cannot open store {store}: {exc}") from exc
    try:
        vocab = _vocabulary(con)
        expected: dict[str, Expected | None] = {}
        contexts: dict[str, Context] = {}
        for q in qfile.questions:
            for one in q.turns or [q]:
                expected[one.id] = (
                    resolve_expected(one, con, vocab, qfile.path) if one.valid else None
                )
                contexts[one.id] = _context(one, con, qfile.path)
    finally:
        con.close()
    try:
        pipeline = Pipeline(store, settings=settings)
    except ValueError as exc:
        raise EvalError(str(exc)) from exc
    report = EvalReport(pipeline.backend, store, qfile.path)
    for k, q in enumerate(qfile.questions, start=1):
        if q.turns:
            report.items += run_turns(pipeline, q, expected)
        else:
            result = pipeline.ask(q.text, context=contexts[q.id])
            report.items.append(
                EvalItem(q, result, grade(result, q.valid, expected[q.id]), expected[q.id])
            )
        if progress:
            sys.stderr.write(f"\r  {k}/{len(qfile.questions)} questions")
            sys.stderr.flush()
    if progress:
        sys.stderr.write("\n")
    return report


def run_turns(pipeline, item: Question, expected: dict[str, Expected | None]) -> list[EvalItem]:
    """A multi-turn item in one fresh session: each turn sees the earlier turns as history,
    built as `coview ask --session` rebuilds them from the saved session (question, answer,
    SQL), with no selected config. A turn that ends in an error stops the item; its remaining
    turns are counted as errors, not asked."""
    from coview.engine.types import Turn

    history: list[Turn] = []
    out: list[EvalItem] = []
    stopped: str | None = None
    for t in item.turns:
        exp = expected[t.id]
        if stopped is not None:
            result = AskResult(
                question=t.text,
                status="error",
                answer=f"not asked: turn {stopped} of {item.id} ended in an error.",
                backend=pipeline.backend,
                reason="skipped",
            )
            out.append(EvalItem(t, result, Grade(ERROR, f"not asked: turn {stopped} failed"), exp))
            continue
        try:
            result = pipeline.ask(t.text, history=list(history), context=Context())
        except Exception as exc:  # noqa: BLE001 - one broken turn must not end the eval
            result = AskResult(
                question=t.text,
                status="error",
                answer=f"coview could not answer: {type(exc).__name__}: {exc}",
                backend=pipeline.backend,
                reason="internal",
            )
        out.append(EvalItem(t, result, grade(result, t.valid, exp), exp))
        if result.status == "error":
            stopped = t.id
            continue
        history.append(Turn(str(result.question), str(result.answer), list(result.sql)))
    return out


def _context(q: Question, con, path: Path) -> Context:
    if not q.context_config_sql:
        return Context()
    try:
        row = con.execute(q.context_config_sql).fetchone()
    except Exception as exc:
        raise EvalError(f"{path}, question {q.id!r}: `context_config_sql` failed: {exc}") from exc
    if not row or row[0] is None:
        raise EvalError(f"{path}, question {q.id!r}: `context_config_sql` returned no config_id.")
    return Context(config_id=int(row[0]))


def run_eval_cli(
    questions: Path, store_path: Path | None, settings: Any, as_json: bool = False
) -> int:
    """`coview eval`: print the report (text or JSON); exit code 1 if any answer was wrong."""
    report = run_eval(questions, store_path, settings, progress=not as_json and sys.stderr.isatty())
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2, default=str) + "\n")
    else:
        sys.stdout.write(report.render_text())
    return 1 if report.wrong else 0
