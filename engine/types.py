"""The values that flow through the question pipeline.

question -> Selection (selector) -> guarded SQL -> Evidence (runner) -> Answer (answerer)
-> Grounding (grounding check) -> AskResult. Every backend produces and consumes these same
types, so the guard, runner and grounding check serve them all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Status = Literal["answered", "refused", "error"]


@dataclass
class Turn:
    """One earlier exchange, passed to selectors so follow-ups ("and on xPU-B?") work."""

    question: str
    answer: str = ""
    sql: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What the user is looking at: the selected config ("this config") and sweep, if any."""

    config_id: int | None = None
    sweep_id: str | None = None


@dataclass
class Selection:
    """A selector's decision: the SQL to run, or why the question cannot be answered.

    `intent` is free-form data the selector hands to its own answerer (the offline answerer
    uses it to know which template fits); LLM selectors leave it empty.
    """

    answerable: bool
    sql: list[str] = field(default_factory=list)
    reason: str = ""
    suggestions: list[str] = field(default_factory=list)
    intent: dict[str, Any] = field(default_factory=dict)
    # How the question was read (metric, entities, filters, constraints, aggregation,
    # defaults, corrections, and a one-line "reading"); every backend fills it.
    interpretation: dict[str, Any] = field(default_factory=dict)
    # Rows a re-simulation produced (what-if answers): evidence that no SQL reads, labelled
    # as simulated in its `sql` text; the grounding check traces numbers to them like any rows.
    simulated: list[Evidence] = field(default_factory=list)


@dataclass
class Evidence:
    """Rows returned by one guarded, read-only query."""

    sql: str
    columns: list[str]
    rows: list[tuple]
    truncated: bool = False  # more rows existed than the row cap
    elapsed_s: float = 0.0
    # Per column: are its values read from store tables? None: all are (SQL coview wrote).
    # The grounding check ignores False columns: literals in the SQL are not evidence.
    store_columns: list[bool] | None = None

    def is_store_column(self, index: int) -> bool:
        """Whether column `index` holds values read from the store (see store_columns)."""
        if self.store_columns is None:
            return True
        if len(self.store_columns) != len(self.columns):
            return False  # the analysis did not line up with the result: trust nothing
        return self.store_columns[index]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r, strict=False)) for r in self.rows]


@dataclass
class GroundedNumber:
    """One number found in an answer and the evidence it was matched to (None: unmatched)."""

    text: str
    value: float
    matched: str | None


@dataclass
class Grounding:
    """Result of the grounding check: every number in the answer and what it traced to."""

    numbers: list[GroundedNumber] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(n.matched is not None for n in self.numbers)

    @property
    def unmatched(self) -> list[GroundedNumber]:
        return [n for n in self.numbers if n.matched is None]

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "numbers": [asdict(n) for n in self.numbers]}


@dataclass
class Answer:
    """An answerer's output: the text, and whether it is a refusal."""

    text: str
    refused: bool = False


@dataclass
class AskResult:
    """Everything about one question: what ran, what came back, what was said. JSON contract."""

    question: str
    status: Status
    answer: str
    backend: str
    sql: list[str] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    grounding: Grounding = field(default_factory=Grounding)
    reason: str = ""
    suggestions: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    interpretation: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for ev in self.evidence:
            out.extend(ev.records())
        return out

    def to_json(self) -> dict[str, Any]:
        """The `coview ask --json` object (see DESIGN.md "Contracts")."""
        return {
            "status": self.status,
            "answer": self.answer,
            "sql": self.sql,
            "rows": _jsonable(self.rows),
            "backend": self.backend,
            "grounding": self.grounding.to_json(),
            "question": self.question,
            "reason": self.reason,
            "suggestions": self.suggestions,
            "interpretation": _jsonable(self.interpretation),
            "truncated": any(e.truncated for e in self.evidence),
            "elapsed_s": round(self.elapsed_s, 4),
        }


def _jsonable(value: Any) -> Any:
    """Convert DuckDB values (Decimal, datetime, numpy) into plain JSON types."""
    import datetime
    import decimal
    import math

    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


class Selector(Protocol):
    """Turns a question into a Selection. `feedback` carries the previous attempt's error."""

    name: str

    def select(
        self,
        question: str,
        history: list[Turn],
        context: Context,
        feedback: str | None = None,
    ) -> Selection: ...


class Answerer(Protocol):
    """Writes the answer from the evidence only. `feedback` names failed grounding numbers."""

    name: str

    def answer(
        self,
        question: str,
        selection: Selection,
        evidence: list[Evidence],
        feedback: str | None = None,
    ) -> Answer: ...


class BackendError(Exception):
    """A model backend failed (network, HTTP status, malformed reply) after its retries.

    The message says what went wrong and what to do; the pipeline turns it into status 'error'.
    """
