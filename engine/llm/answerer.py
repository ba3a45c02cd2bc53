"""The LLM answerer: question + evidence rows -> a grounded answer or a refusal.

The evidence goes into prompts/answerer.txt between <<<EVIDENCE and EVIDENCE>>> as data.
When the pipeline's grounding check finds numbers that are not in the rows, it calls
`answer` again with those numbers as `feedback`; the previous answer is quoted back so the
model can fix exactly what failed.
"""

from __future__ import annotations

import datetime
import decimal
import math
import threading
from typing import Any

from coview.engine.llm.clients import ChatClient
from coview.engine.llm.prompting import ask_json, render_prompt
from coview.engine.types import Answer, Evidence, Selection

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "OBJECT",
    "properties": {"refused": {"type": "BOOLEAN"}, "answer": {"type": "STRING"}},
    "required": ["refused", "answer"],
}
MAX_ROWS_PER_QUERY = 60
MAX_EVIDENCE_CHARS = 40_000
MAX_CELL_CHARS = 200


def format_value(v: Any) -> str:
    """One cell for the prompt: numbers with 6 significant digits, NULL for None."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float | decimal.Decimal):
        f = float(v)
        if not math.isfinite(f):
            return "NULL"
        if f == int(f) and abs(f) < 1e15:
            return str(int(f))
        return f"{f:.6g}"
    if isinstance(v, datetime.date | datetime.datetime | datetime.time):
        return v.isoformat()
    text = " ".join(str(v).split())
    # The evidence markers cannot be forged from inside a value.
    text = text.replace("<<<", "<< <").replace(">>>", "> >>")
    if len(text) > MAX_CELL_CHARS:
        text = text[:MAX_CELL_CHARS] + "..."
    return text


def render_evidence(evidence: list[Evidence]) -> str:
    """The evidence rows as compact text: per query, the SQL, a header and one line per row."""
    blocks: list[str] = []
    used = 0
    for i, ev in enumerate(evidence, 1):
        lines = [f"Query {i}: {' '.join(ev.sql.split())}", "columns: " + " | ".join(ev.columns)]
        shown = ev.rows[:MAX_ROWS_PER_QUERY]
        for j, row in enumerate(shown, 1):
            line = f"row {j}: " + " | ".join(format_value(v) for v in row)
            if used + len(line) > MAX_EVIDENCE_CHARS:
                lines.append(f"(rows after {j - 1} left out to keep the prompt short)")
                break
            used += len(line)
            lines.append(line)
        if not ev.rows:
            lines.append("(no rows)")
        if len(ev.rows) > len(shown):
            lines.append(f"(showing the first {len(shown)} of {len(ev.rows)} rows)")
        if ev.truncated:
            lines.append("(the query returned more rows than the row cap; only these are here)")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class LLMAnswerer:
    """Answerer backed by a chat model; regenerates once when grounding fails."""

    regenerates = True  # the pipeline calls answer() again with the grounding failures

    def __init__(self, name: str, client: ChatClient):
        self.name = name
        self.client = client
        self._last: dict[str, str] = {}
        self._lock = threading.Lock()

    def prompt(
        self,
        question: str,
        selection: Selection,
        evidence: list[Evidence],
        feedback: str | None = None,
    ) -> tuple[str, str]:
        """(system, user) prompt text for this question and evidence."""
        fb = ""
        if feedback:
            with self._lock:
                previous = self._last.get(question, "")
            fb = (
                "\nYOUR PREVIOUS ANSWER FAILED THE GROUNDING CHECK.\n"
                + (f"Previous answer: {previous}\n" if previous else "")
                + f"Problem: {feedback}\n"
                "Rewrite the answer using only numbers that appear in the evidence rows "
                "(converted or rounded), or ratios, differences or percentages of two of them.\n"
            )
        return render_prompt(
            "answerer.txt",
            question=question.strip(),
            reason=selection.reason or "(not stated)",
            evidence=render_evidence(evidence),
            feedback=fb,
        )

    def answer(
        self,
        question: str,
        selection: Selection,
        evidence: list[Evidence],
        feedback: str | None = None,
    ) -> Answer:
        system, user = self.prompt(question, selection, evidence, feedback)
        data = ask_json(
            self.client,
            system,
            user,
            ANSWER_SCHEMA,
            {"refused": bool, "answer": str},
            "answer",
        )
        text = data["answer"].strip()
        refused = bool(data["refused"])
        if not text:
            text = (
                "The model gave no answer text." if not refused else "The rows do not answer this."
            )
            refused = True
        with self._lock:
            if len(self._last) > 64:
                self._last.clear()
            self._last[question] = text
        return Answer(text=text, refused=refused)
