"""The question pipeline: select -> guard -> run read-only -> answer -> grounding check.

One pipeline serves every backend. Backends only supply a Selector and an Answerer; the
guard, the read-only runner and the grounding check are the same for all of them, so a
model cannot talk its way past them.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from coview.config import Settings, load_settings
from coview.engine.types import (
    Answer,
    Answerer,
    AskResult,
    BackendError,
    Context,
    Evidence,
    Grounding,
    Selection,
    Selector,
    Turn,
)

BACKENDS = ("offline", "gemini", "openai")
# An LLM selector gets the guard's or DuckDB's error back this many extra times.
SQL_RETRIES = 2


class Cancelled(Exception):
    """The user cancelled the question (Esc in the TUI)."""


class DeadlineExceeded(Exception):
    """The question used up its time (Settings.question_timeout_s) across all attempts."""


def make_backend(name: str, store_path: Path, settings: Settings) -> tuple[Selector, Answerer]:
    """The selector and answerer of the named backend."""
    if name == "offline":
        from coview.engine.offline import make_offline_backend

        return make_offline_backend(store_path)
    if name in ("gemini", "openai"):
        from coview.engine.llm import make_llm_backend

        return make_llm_backend(name, store_path, settings)
    raise ValueError(f"Unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}.")


class Pipeline:
    """Answers questions about one store with one backend."""

    def __init__(
        self,
        store_path: Path,
        backend: str | None = None,
        settings: Settings | None = None,
        selector: Selector | None = None,
        answerer: Answerer | None = None,
    ) -> None:
        from coview.engine.guard import Catalog
        from coview.engine.runner import ReadOnlyRunner

        self.settings = settings or load_settings()
        self.store_path = Path(store_path)
        self.backend = backend or self.settings.default_backend
        # One sandbox connection reads the catalog and, for trusted SQL, runs the queries:
        # each DuckDB instance costs ~25 ms to create, a third of `coview ask`'s own work.
        sandbox = _open_sandbox(self.store_path, self.settings.memory_limit)
        try:
            self.catalog = Catalog.from_store(self.store_path, con=sandbox)
            if selector is None or answerer is None:
                selector, answerer = make_backend(self.backend, self.store_path, self.settings)
        except BaseException:
            sandbox.close()
            raise
        self.selector = selector
        self.answerer = answerer
        # SQL a model wrote runs in a killable worker process; SQL coview's own offline
        # selector wrote runs in-process (fast path, stopped by DuckDB's interrupt).
        self.trusted_sql = bool(getattr(selector, "trusted_sql", False)) or (
            self.backend == "offline" and not getattr(selector, "retries_on_error", False)
        )
        if not self.trusted_sql:
            sandbox.close()
        self.runner = ReadOnlyRunner(
            self.store_path,
            timeout_s=self.settings.query_timeout_s,
            memory_limit=self.settings.memory_limit,
            row_cap=self.settings.row_cap,
            isolation="inline" if self.trusted_sql else "process",
            sandbox=sandbox if self.trusted_sql else None,
        )
        self.question_timeout_s = float(getattr(self.settings, "question_timeout_s", 30.0))
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop the question being answered now (Esc in the TUI): the running query is
        killed, and no further attempt or statement starts."""
        self._cancel.set()
        self.runner.cancel()

    def close(self) -> None:
        """Release the store and stop the query worker."""
        self.runner.close()

    def ask(
        self,
        question: str,
        history: list[Turn] | None = None,
        context: Context | None = None,
        cancel: threading.Event | None = None,
    ) -> AskResult:
        """Answer one question; never raises for bad input, a bad model or a network fault."""
        start = time.perf_counter()
        self._deadline = time.monotonic() + self.question_timeout_s
        self._cancel.clear()
        history = history or []
        context = context or Context()
        result = AskResult(question=question, status="error", answer="", backend=self.backend)
        try:
            self._ask(question, history, context, cancel, result)
        except DeadlineExceeded:
            result.status = "error"
            result.reason = "deadline"
            result.answer = (
                f"The question took longer than its {self.question_timeout_s:g} s limit "
                "(all attempts together) and was stopped; ask something narrower."
            )
        except Cancelled:
            result.status, result.answer = "error", "Cancelled."
            result.reason = "cancelled"
        except BackendError as exc:
            result.status = "error"
            result.answer = str(exc)
            result.reason = "backend"
        result.elapsed_s = time.perf_counter() - start
        _clean_for_display(result)
        return result

    def _check_cancel(self, cancel: threading.Event | None) -> None:
        if (cancel is not None and cancel.is_set()) or self._cancel.is_set():
            raise Cancelled()
        if time.monotonic() > getattr(self, "_deadline", float("inf")):
            raise DeadlineExceeded()

    def _remaining(self) -> float:
        return max(0.0, getattr(self, "_deadline", float("inf")) - time.monotonic())

    def _select_and_run(
        self,
        question: str,
        history: list[Turn],
        context: Context,
        cancel: threading.Event | None,
        result: AskResult,
    ) -> tuple[Selection, list[Evidence]] | None:
        """Select and run SQL, giving an LLM selector the error back up to SQL_RETRIES times."""
        from coview.engine.guard import GuardError
        from coview.engine.runner import QueryError

        retries = SQL_RETRIES if getattr(self.selector, "retries_on_error", False) else 0
        feedback: str | None = None
        for _attempt in range(retries + 1):
            self._check_cancel(cancel)
            selection = self.selector.select(question, history, context, feedback=feedback)
            result.interpretation = dict(selection.interpretation)
            if not selection.answerable:
                result.status = "refused"
                result.reason = selection.reason
                result.suggestions = selection.suggestions
                result.answer = refusal_text(selection.reason, selection.suggestions)
                return None
            if not selection.sql and not selection.simulated:
                feedback = "You marked the question answerable but gave no SQL."
                continue
            evidence: list[Evidence] = []
            try:
                for sql in selection.sql:
                    self._check_cancel(cancel)
                    checked = self.catalog.check(sql)
                    ev = self.runner.run(checked, cancel=cancel, timeout_s=self._remaining())
                    if not self.trusted_sql:
                        # Literals a model wrote into the SQL are not evidence (grounding).
                        ev.store_columns = self.catalog.store_columns(checked) or [
                            False for _ in ev.columns
                        ]
                    evidence.append(ev)
            except (GuardError, QueryError) as exc:
                self._check_cancel(cancel)  # a cancel or the deadline ends the question
                result.sql = list(selection.sql)
                feedback = f"{type(exc).__name__}: {exc}"
                continue
            evidence += selection.simulated
            result.sql = [e.sql for e in evidence]
            return selection, evidence
        result.status = "refused" if retries else "error"
        result.reason = f"the generated SQL was rejected: {feedback}"
        result.answer = refusal_text(
            "I could not write a valid query for this question "
            f"({'after ' + str(retries + 1) + ' tries; ' if retries else ''}last error: {feedback})",
            [],
        )
        return None

    def _ask(
        self,
        question: str,
        history: list[Turn],
        context: Context,
        cancel: threading.Event | None,
        result: AskResult,
    ) -> None:
        from coview.engine.grounding import check_grounding, mark_unmatched

        question = question.strip()
        if not question:
            result.status, result.answer = "refused", "Ask a question about the data."
            result.reason = "empty question"
            return
        picked = self._select_and_run(question, history, context, cancel, result)
        if picked is None:
            return
        selection, evidence = picked
        result.evidence = evidence
        if not any(ev.rows for ev in evidence):
            result.status = "refused"
            result.reason = "the query returned no rows"
            result.answer = refusal_text(
                "the data holds no rows that match this question", selection.suggestions
            )
            return
        self._check_cancel(cancel)
        answer: Answer = _clean_answer(self.answerer.answer(question, selection, evidence))
        grounding: Grounding = check_grounding(answer.text, evidence)
        if not answer.refused and not grounding.ok:
            if getattr(self.answerer, "regenerates", False):
                self._check_cancel(cancel)
                named = ", ".join(n.text for n in grounding.unmatched)
                answer = self.answerer.answer(
                    question,
                    selection,
                    evidence,
                    feedback=f"These numbers are not in the evidence rows: {named}. "
                    "Use only numbers from the rows, or ratios/differences of them.",
                )
                answer = _clean_answer(answer)
                grounding = check_grounding(answer.text, evidence)
                if not grounding.ok:
                    answer = Answer(mark_unmatched(answer.text, grounding), answer.refused)
            else:
                # The offline answerer must never fail the check: refuse rather than mislead.
                named = ", ".join(n.text for n in grounding.unmatched)
                result.status = "refused"
                result.reason = f"internal grounding failure ({named})"
                result.answer = refusal_text(
                    f"my draft answer contained numbers I could not trace to the data ({named})",
                    [],
                )
                result.grounding = grounding
                return
        result.grounding = grounding
        result.answer = answer.text
        result.status = "refused" if answer.refused else "answered"
        if answer.refused:
            result.reason = answer.text


def _open_sandbox(store_path: Path, memory_limit: str):
    """The runner's sandbox connection to the store, or a StoreError saying why not."""
    from coview.engine.runner import open_sandbox
    from coview.store.db import StoreError, require_store

    path = require_store(store_path)
    try:
        return open_sandbox(path, memory_limit=memory_limit)
    except Exception as exc:  # duckdb.Error and OS errors alike
        raise StoreError(f"Cannot open store {path}: {exc}") from exc


def refusal_text(reason: str, suggestions: list[str]) -> str:
    """The plain refusal shown to the user: what is missing, and what can be asked instead."""
    text = f"I can't answer that from this data: {reason.rstrip('.')}."
    if suggestions:
        text += "\nQuestions the data can answer:\n" + "\n".join(f"  - {s}" for s in suggestions)
    return text


def _clean_for_display(result: AskResult) -> None:
    """Strip escape sequences and control characters from everything shown or saved: the
    answer (a model wrote it) and the evidence text (a store held it). Runs after grounding."""
    from coview.store.safetext import clean

    result.answer = clean(result.answer)
    result.reason = clean(result.reason)
    result.suggestions = [clean(s) for s in result.suggestions]
    for ev in result.evidence:
        ev.columns = [clean(c) for c in ev.columns]
        if any(isinstance(v, str) for row in ev.rows for v in row):
            ev.rows = [tuple(clean(v) if isinstance(v, str) else v for v in row) for row in ev.rows]


def _clean_answer(answer: Answer) -> Answer:
    """The answer without escape sequences, before grounding (their digits are no numbers)."""
    from coview.store.safetext import clean

    return Answer(clean(answer.text), answer.refused)
