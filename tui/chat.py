"""The chat pane: the question box, the conversation and the 'this config' context line.

It owns the turns' rendering (TurnView: answer, grounding badge, collapsible SQL and
evidence) and the messages the ask worker posts back (AskDone, AskFailed). The app runs the
question in a thread worker against coview.engine.pipeline and routes the result here.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Collapsible, DataTable, Input, LoadingIndicator, Static

from coview.engine.report import read_as_text
from coview.engine.types import AskResult, Context
from coview.tui import fmt
from coview.tui.common import Pane, StatusLine


class AskDone(Message):
    """A question finished (answered, refused, error or cancelled)."""

    def __init__(self, result: AskResult, context: Context, save_error: str | None) -> None:
        super().__init__()
        self.result = result
        self.context = context
        self.save_error = save_error


class AskFailed(Message):
    """The pipeline could not even start (bad backend settings, broken store)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


def normalize_turn(turn: Any) -> dict[str, Any]:
    """An AskResult or a saved session turn as one dict the TurnView renders."""
    if isinstance(turn, dict):
        evidence = []
        if turn.get("evidence"):
            for ev in turn["evidence"]:
                evidence.append(
                    (list(ev.get("columns", [])), [list(r) for r in ev.get("rows", [])])
                )
        elif turn.get("rows") is not None:
            rows = turn.get("rows") or []
            cols = list(
                turn.get("columns")
                or (list(rows[0].keys()) if rows and isinstance(rows[0], dict) else [])
            )
            vals = [[r.get(c) for c in cols] if isinstance(r, dict) else list(r) for r in rows]
            evidence.append((cols, vals))
        return {
            "question": turn.get("question", ""),
            "status": turn.get("status", "answered"),
            "answer": turn.get("answer", ""),
            "sql": list(turn.get("sql") or []),
            "evidence": evidence,
            "grounding": turn.get("grounding") or {},
            "backend": turn.get("backend", ""),
            "elapsed_s": turn.get("elapsed_s"),
            "context_config_id": turn.get("context_config_id"),
            "interpretation": turn.get("interpretation") or {},
        }
    return {
        "question": turn.question,
        "status": turn.status,
        "answer": turn.answer,
        "sql": list(turn.sql),
        "evidence": [(list(e.columns), [list(r) for r in e.rows]) for e in turn.evidence],
        "grounding": turn.grounding.to_json(),
        "backend": turn.backend,
        "elapsed_s": turn.elapsed_s,
        "context_config_id": None,
        "interpretation": dict(getattr(turn, "interpretation", {}) or {}),
    }


def grounding_badge(status: str, grounding: dict[str, Any], read: bool = False) -> Text:
    """The badge under an answer: the numbers it traced, and that the reading is stated."""
    if status != "answered":
        return Text("")
    numbers = grounding.get("numbers") or []
    matched = sum(1 for n in numbers if n.get("matched") is not None)
    reading = "reading stated above · " if read else ""
    if not numbers:
        return Text(f" {reading}no numbers to check ", style="reverse")
    if matched == len(numbers):
        return Text(
            f" grounded: {reading}{matched}/{len(numbers)} numbers traced to evidence ",
            style="bold reverse green",
        )
    return Text(
        f" NOT GROUNDED: {len(numbers) - matched} of {len(numbers)} numbers not in evidence ",
        style="bold reverse red",
    )


class TurnView(Vertical):
    """One question and its answer, with collapsible SQL and evidence tables."""

    def __init__(self, turn: Any, **kwargs: Any) -> None:
        self.turn = normalize_turn(turn)
        status = self.turn["status"]
        super().__init__(classes=f"turn -{status}", **kwargs)

    def compose(self):
        t = self.turn
        q = Text("> ", style="bold")
        q.append(t["question"])
        if t.get("context_config_id") is not None:
            q.append(f"  [config #{t['context_config_id']}]", style="dim")
        yield Static(q, classes="question")
        reading = read_as_text(t.get("interpretation") or {})
        if reading:
            yield Static(Text(reading, style="italic"), classes="reading")
        answer = Static(Text(t["answer"]), classes=f"answer -{t['status']}")
        if t["status"] == "refused":
            answer.border_title = "Cannot answer"
        elif t["status"] == "error":
            answer.border_title = "Error"
        else:
            answer.border_title = "Answer"
        yield answer
        badge = grounding_badge(t["status"], t["grounding"], read=bool(reading))
        if badge.plain:
            yield Static(badge, classes="badge")
        if t["sql"]:
            yield Collapsible(
                Static(Text("\n\n".join(t["sql"])), classes="sql"),
                title=f"SQL ({len(t['sql'])})",
                collapsed=True,
                classes="sql-box",
            )
        for i, (cols, rows) in enumerate(t["evidence"]):
            table = DataTable(classes="evidence", zebra_stripes=True, show_cursor=False)
            table.add_columns(*cols)
            for r in rows[:200]:
                table.add_row(*[fmt.num(v) if not isinstance(v, str) else v for v in r])
            more = ", first 200 shown" if len(rows) > 200 else ""
            yield Collapsible(
                table,
                title=f"Evidence {i + 1} ({len(rows)} rows{more})",
                collapsed=True,
                classes="evidence-box",
            )

    @property
    def sql_text(self) -> str:
        return "\n\n".join(self.turn["sql"])

    @property
    def answer_text(self) -> str:
        return self.turn["answer"]


class ChatPane(Pane):
    """Context line, the conversation log, a 'thinking' line and the question box."""

    FOCUS_TARGET = "#question"
    # Work from the question box too: the Input does not bind these keys.
    BINDINGS = [
        Binding("pageup", "scroll_log(-1)", "Scroll chat up", show=False, id="chat.page_up"),
        Binding("pagedown", "scroll_log(1)", "Scroll chat down", show=False, id="chat.page_down"),
        Binding(
            "ctrl+o", "toggle_details", "Open/close SQL and evidence", id="chat.toggle_details"
        ),
    ]

    def compose(self) -> ComposeResult:
        yield StatusLine("", id="chat-context", classes="status")
        yield VerticalScroll(id="chat-log")
        with Horizontal(id="thinking"):
            yield LoadingIndicator()
            yield Static("thinking... Esc to cancel", id="thinking-text")
        yield Input(
            placeholder="Ask (Enter sends; 'this config' = selected; PgUp/PgDn scroll; ^O SQL)",
            id="question",
        )

    def on_mount(self) -> None:
        self.query_one("#thinking").display = False

    @property
    def log_view(self) -> VerticalScroll:
        return self.query_one("#chat-log", VerticalScroll)

    def set_context_text(self, text: str) -> None:
        self.query_one("#chat-context", StatusLine).update(text)

    def action_scroll_log(self, direction: int) -> None:
        log = self.log_view
        if direction < 0:
            log.scroll_page_up(animate=False)
        else:
            log.scroll_page_down(animate=False)

    def action_toggle_details(self) -> None:
        """Open the last answer's SQL and evidence boxes (all of them), or close them."""
        turn = self.last_turn()
        if turn is None:
            self.notify("No answer yet: ask a question first.", severity="warning")
            return
        boxes = list(turn.query(Collapsible))
        if not boxes:
            self.notify("This answer has no SQL or evidence.", severity="warning")
            return
        opening = any(b.collapsed for b in boxes)
        for b in boxes:
            b.collapsed = not opening
        if opening:
            self.call_after_refresh(self.log_view.scroll_to_widget, boxes[0], animate=False)

    def start_thinking(self, question: str) -> None:
        """Show the question as pending and the 'thinking' line until the answer comes."""
        self.query_one("#thinking-text", Static).update("thinking... Esc to cancel")
        self.query_one("#thinking").display = True
        pending = Static(Text.assemble(("> ", "bold"), question), classes="question pending")
        self.log_view.mount(pending)
        self._pending = pending

    def stop_thinking(self) -> None:
        self.query_one("#thinking").display = False
        pending = getattr(self, "_pending", None)
        if pending is not None:
            pending.remove()
            self._pending = None

    def show_cancelling(self) -> None:
        self.query_one("#thinking-text", Static).update("cancelling...")

    def add_turn(self, turn: TurnView) -> None:
        log = self.log_view
        log.mount(turn)
        log.scroll_end(animate=False)
        self.call_after_refresh(log.scroll_end, animate=False)

    def last_turn(self) -> TurnView | None:
        turns = list(self.query(TurnView))
        return turns[-1] if turns else None
