"""The Insights pane: ranked findings (lint first) and, for the highlighted one, its detail,
follow-up question, SQL and evidence rows.

Self-contained: it renders what it is given (the contract dicts of
``coview.engine.insights.insights_for_store``) and never runs SQL. Store text is shown as
plain ``rich.text.Text`` (no markup parsing) after control characters are stripped.

Mounting (for tui/app.py):

    from coview.engine.insights import insights_for_store   # slow: call it in a thread worker
    from coview.tui.insights import InsightsPane

    pane = InsightsPane(id="insights")                       # compose() yields it
    pane.set_findings(insights_for_store(store_path))        # from the worker, via call_from_thread
    def on_insights_pane_ask(self, message: InsightsPane.Ask) -> None:
        ...  # put message.question into the chat input and submit it

Keys: up/down move through findings; enter (or `a`) posts ``InsightsPane.Ask``.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from coview.engine.analysis import clean_text as plain

ROWS_SHOWN = 8
SEVERITY_MARK = {"error": "!", "warning": "?", "info": " "}


def finding_label(finding: dict[str, Any]) -> Text:
    """One list line: a severity mark and the title, as plain text."""
    mark = SEVERITY_MARK.get(finding.get("severity", "info"), " ")
    return Text(f"{mark} {plain(finding.get('title', ''))}")


def finding_body(finding: dict[str, Any]) -> Text:
    """The highlighted finding: detail, question, SQL and the first evidence rows."""
    t = Text()
    t.append(plain(finding.get("title", "")) + "\n\n", style="bold")
    t.append(plain(finding.get("detail", "")) + "\n\n")
    t.append("Ask (enter): ", style="bold")
    t.append(plain(finding.get("question", "")) + "\n\n")
    for sql in finding.get("sql", []):
        t.append("SQL: ", style="bold")
        t.append(plain(sql) + "\n")
    rows = finding.get("rows", [])
    if rows:
        t.append(
            f"\nEvidence ({len(rows)} rows, first {min(len(rows), ROWS_SHOWN)}):\n", style="bold"
        )
        for row in rows[:ROWS_SHOWN]:
            t.append(plain(json.dumps(row, default=str)) + "\n")
    return t


class InsightsPane(Widget, can_focus=False):
    """Findings list on top, the highlighted finding below."""

    DEFAULT_CSS = """
    InsightsPane { height: 1fr; }
    InsightsPane > Vertical > OptionList { height: 40%; }
    InsightsPane > Vertical > VerticalScroll { height: 1fr; }
    """
    BINDINGS = [Binding("a", "ask", "Ask this", id="insights.ask")]

    class Ask(Message):
        """The user wants the highlighted finding's follow-up question answered."""

        def __init__(self, question: str, finding: dict[str, Any]) -> None:
            super().__init__()
            self.question = question
            self.finding = finding

    def __init__(self, findings: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._findings: list[dict[str, Any]] = list(findings or [])

    def compose(self):
        with Vertical():
            yield OptionList(id="insights-list")
            with VerticalScroll(id="insights-body"):
                yield Static(Text(""), id="insights-detail")

    def on_mount(self) -> None:
        self._fill()

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self._findings)

    def set_findings(self, findings: list[dict[str, Any]]) -> None:
        """Show these findings (contract dicts), highest rank first as given."""
        self._findings = list(findings)
        if self.is_mounted:
            self._fill()

    def _fill(self) -> None:
        options = self.query_one("#insights-list", OptionList)
        options.clear_options()
        if not self._findings:
            options.add_option(Option(Text("No findings."), disabled=True))
            self._show(None)
            return
        options.add_options(
            [Option(finding_label(f), id=f"finding-{i}") for i, f in enumerate(self._findings)]
        )
        options.highlighted = 0
        self._show(0)

    def _show(self, index: int | None) -> None:
        detail = self.query_one("#insights-detail", Static)
        if index is None or not (0 <= index < len(self._findings)):
            detail.update(Text(""))
        else:
            detail.update(finding_body(self._findings[index]))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._ask(event.option_index)

    def action_ask(self) -> None:
        self._ask(self.query_one("#insights-list", OptionList).highlighted)

    def _ask(self, index: int | None) -> None:
        if index is None or not (0 <= index < len(self._findings)):
            return
        f = self._findings[index]
        self.post_message(self.Ask(plain(f.get("question", "")), f))
