"""The LLM selector: question (+ history, context, previous error) -> Selection with SQL.

The prompt (prompts/selector.txt) carries the schema rendered from the database's comments,
the values present in the store, worked examples and the refusal rules. The pipeline guards
and runs the SQL; when that fails it calls `select` again with the error as `feedback`, and
this selector adds the SQL that failed so the model can fix it.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from coview.engine.llm.clients import ChatClient
from coview.engine.llm.context import StoreContext, describe_config, load_store_context
from coview.engine.llm.prompting import ask_json, prompt_text, render_prompt
from coview.engine.types import Context, Selection, Turn

# Structured output schema (Gemini's OpenAPI subset; also described in the prompt text).
SELECTION_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "properties": {
        "answerable": {"type": "BOOLEAN"},
        "reason": {"type": "STRING"},
        "sql": {"type": "ARRAY", "items": {"type": "STRING"}},
    },
    "required": ["answerable", "reason", "sql"],
}
HISTORY_TURNS = 6  # earlier exchanges passed along; older ones are dropped
HISTORY_ANSWER_CHARS = 600
MAX_STATEMENTS = 5


def render_history(history: list[Turn]) -> str:
    """The last few exchanges, so follow-ups ("and on xPU-B?") can reuse their SQL."""
    if not history:
        return ""
    lines = ["CONVERSATION SO FAR (oldest first):"]
    for i, turn in enumerate(history[-HISTORY_TURNS:], 1):
        answer = " ".join(turn.answer.split())
        if len(answer) > HISTORY_ANSWER_CHARS:
            answer = answer[:HISTORY_ANSWER_CHARS] + " ..."
        lines.append(f"[{i}] Question: {turn.question}")
        if answer:
            lines.append(f"    Answer: {answer}")
        for sql in turn.sql:
            lines.append(f"    SQL: {' '.join(sql.split())}")
    return "\n".join(lines) + "\n\n"


def render_context(store_path: Path | None, context: Context | None) -> str:
    """What the user is looking at, so "this config" resolves to a config_id."""
    if context is None or (context.config_id is None and context.sweep_id is None):
        return ""
    lines = ["USER CONTEXT:"]
    if context.config_id is not None:
        desc = (
            describe_config(store_path, context.config_id)
            if store_path is not None
            else f"config_id={context.config_id}"
        )
        lines.append(
            f"The user has selected this configuration: {desc}. "
            f'"This config" means config_id = {context.config_id}.'
        )
    if context.sweep_id is not None:
        lines.append(f"The user is looking at sweep_id = '{context.sweep_id}'.")
    return "\n".join(lines) + "\n\n"


def render_feedback(feedback: str | None, previous_sql: list[str] | None) -> str:
    """The guard's or DuckDB's error for the previous attempt, with the SQL that failed."""
    if not feedback:
        return ""
    lines = ["YOUR PREVIOUS ANSWER TO THIS QUESTION WAS REJECTED."]
    for sql in previous_sql or []:
        lines.append(f"Previous SQL: {' '.join(sql.split())}")
    lines.append(f"Error: {feedback}")
    lines.append(
        "Write corrected SQL that uses only the tables and columns of the schema above, "
        "or return answerable=false with the reason if the data cannot answer the question."
    )
    return "\n".join(lines) + "\n\n"


def data_block_text(text: str) -> str:
    """Store text for inside a <<<... >>> data block: it cannot close the block early."""
    return text.replace("<<<", "< < <").replace(">>>", "> > >")


def selector_prompt_parts(
    store_context: StoreContext,
    question: str,
    history: list[Turn],
    context: Context | None,
    feedback: str | None = None,
    previous_sql: list[str] | None = None,
    store_path: Path | None = None,
) -> tuple[str, str]:
    """(system, user) text of the selector prompt."""
    return render_prompt(
        "selector.txt",
        schema=data_block_text(store_context.schema),
        values=data_block_text(store_context.values),
        examples=prompt_text("selector_examples.txt").strip(),
        history=render_history(history),
        context=render_context(store_path, context),
        feedback=render_feedback(feedback, previous_sql),
        question=question.strip(),
    )


@lru_cache(maxsize=8)
def _cached_context(path: str, mtime_ns: int, size: int) -> StoreContext:
    return load_store_context(Path(path))


def store_context_for(store_path: Path) -> StoreContext:
    """The store's prompt context, re-read only when the file changed."""
    st = os.stat(store_path)
    return _cached_context(str(Path(store_path).resolve()), st.st_mtime_ns, st.st_size)


def build_selector_prompt(
    store_path: Path,
    question: str,
    history: list[Turn] | None = None,
    context: Context | None = None,
    feedback: str | None = None,
) -> str:
    """The full selector prompt (system + user) for one question; benchmarks measure its size."""
    system, user = selector_prompt_parts(
        store_context_for(Path(store_path)),
        question,
        history or [],
        context,
        feedback,
        store_path=Path(store_path),
    )
    return system + "\n\n" + user


def _normalise_sql(value: Any) -> list[str]:
    items = [value] if isinstance(value, str) else list(value or [])
    out: list[str] = []
    for item in items:
        sql = str(item).strip().rstrip(";").strip()
        if sql:
            out.append(sql)
    return out[:MAX_STATEMENTS]


class LLMSelector:
    """Selector backed by a chat model (Gemini or an OpenAI-compatible server)."""

    retries_on_error = True  # the pipeline hands guard/DuckDB errors back for another try

    def __init__(
        self, name: str, client: ChatClient, store_path: Path, store_context: StoreContext
    ):
        self.name = name
        self.client = client
        self.store_path = Path(store_path)
        self.store_context = store_context
        # SQL of the last attempt per question, quoted back when the pipeline retries.
        self._last_sql: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def prompt(
        self,
        question: str,
        history: list[Turn],
        context: Context | None,
        feedback: str | None = None,
    ) -> tuple[str, str]:
        """(system, user) prompt text for this question."""
        with self._lock:
            previous = self._last_sql.get(question) if feedback else None
        return selector_prompt_parts(
            self.store_context, question, history, context, feedback, previous, self.store_path
        )

    def select(
        self,
        question: str,
        history: list[Turn],
        context: Context,
        feedback: str | None = None,
    ) -> Selection:
        system, user = self.prompt(question, history, context, feedback)
        data = ask_json(
            self.client,
            system,
            user,
            SELECTION_SCHEMA,
            {"answerable": bool, "sql": (list, str, type(None))},
            "SQL selection",
        )
        reason = str(data.get("reason") or "").strip()
        sql = _normalise_sql(data.get("sql"))
        with self._lock:
            if len(self._last_sql) > 64:
                self._last_sql.clear()
            self._last_sql[question] = sql
        if not data["answerable"]:
            return Selection(
                answerable=False,
                reason=reason
                or "the model judged that this data cannot answer the question but gave no reason",
            )
        return Selection(answerable=True, sql=sql, reason=reason)
