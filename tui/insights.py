"""The Insights pane: ranked findings (lint first) and, for the highlighted one, its detail,
follow-up question, SQL and evidence rows.

It never runs SQL: `scan(store_path)` calls ``coview.engine.insights.insights_for_store`` in a
thread worker (the scan takes a while on a big store; the pane says "scanning the store…"
meanwhile) and `set_findings` shows the contract dicts it returns. Store text is shown as
plain ``rich.text.Text`` (no markup parsing) after control characters are stripped.
Enter or `a` posts ``InsightsPane.Ask(question, finding)``; the app asks it in the chat pane.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from coview.engine.analysis import clean_text as plain
from coview.tui.common import Pane, StatusLine

ROWS_SHOWN = 8
SEVERITY_MARK = {"error": "!", "warning": "?", "info": " "}
SCANNING = "scanning the store…"


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


def findings_summary(findings: list[dict[str, Any]]) -> str:
    """The status line once the scan is done: how many findings, how many are problems."""
    if not findings:
        return "no findings · r rescans"
    problems = sum(1 for f in findings if f.get("severity") in ("error", "warning"))
    head = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
    if problems:
        head += f", {problems} data problem{'s' if problems != 1 else ''} first"
    return f"{head} · Enter/a asks in chat · r rescans"


class InsightsList(OptionList):
    """The findings, one line each (a title can wrap)."""


class InsightsPane(Pane):
    """A status line, the findings list on top and the highlighted finding below."""

    FOCUS_TARGET = "#insights-list"
    DEFAULT_CSS = """
    InsightsPane { height: 1fr; }
    InsightsPane > #insights-list { height: 40%; }
    InsightsPane > #insights-body { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("a", "ask", "Ask this", id="insights.ask"),
        Binding("r", "rescan", "Rescan", show=False, id="insights.rescan"),
    ]

    class Ask(Message):
        """The user wants the highlighted finding's follow-up question answered."""

        def __init__(self, question: str, finding: dict[str, Any]) -> None:
            super().__init__()
            self.question = question
            self.finding = finding

    def __init__(self, findings: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._findings: list[dict[str, Any]] = list(findings or [])
        # None: never scanned (a pane given findings needs no scan); a path: scanned from it
        self._scanned: Path | None = None
        self.scanning = False
        self._status = "" if findings is None else findings_summary(self._findings)

    def compose(self) -> ComposeResult:
        yield StatusLine(self._status, id="insights-status", classes="status")
        yield InsightsList(id="insights-list")
        with VerticalScroll(id="insights-body"):
            yield Static(Text(""), id="insights-detail")

    def on_mount(self) -> None:
        self._fill()

    @property
    def findings(self) -> list[dict[str, Any]]:
        return list(self._findings)

    # ---- loading ----------------------------------------------------------------------
    def ensure_scanned(self, store_path: Path) -> None:
        """Scan the store once (the first time the pane is shown); `r` scans again."""
        if self._scanned != Path(store_path) and not self.scanning:
            self.scan(Path(store_path))

    def scan(self, store_path: Path) -> None:
        """Find the store's insights in a thread worker; the list says so meanwhile."""
        self._scanned = Path(store_path)
        self.scanning = True
        self._set_status(SCANNING)
        if self.is_mounted:
            options = self.query_one("#insights-list", OptionList)
            options.clear_options()
            options.add_option(Option(Text(SCANNING), disabled=True))
            self._show(None)
        self._scan_worker(self._scanned)

    @work(thread=True, exclusive=True, group="insights")
    def _scan_worker(self, store_path: Path) -> None:
        from coview.engine.insights import insights_for_store

        try:
            findings = insights_for_store(store_path)
        except Exception as exc:  # a broken store: say what failed, keep the app running
            self.app.call_from_thread(self._scan_failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._scan_done, findings)

    def _scan_done(self, findings: list[dict[str, Any]]) -> None:
        self.scanning = False
        self.set_findings(findings)

    def _scan_failed(self, error: str) -> None:
        self.scanning = False
        self._findings = []
        self._set_status(f"cannot scan the store: {plain(error)} · r tries again")
        if self.is_mounted:
            options = self.query_one("#insights-list", OptionList)
            options.clear_options()
            options.add_option(Option(Text("No findings: the scan failed."), disabled=True))
            self._show(None)

    def action_rescan(self) -> None:
        if self._scanned is not None and not self.scanning:
            self.scan(self._scanned)

    def _set_status(self, text: str) -> None:
        self._status = text
        if self.is_mounted:
            self.query_one("#insights-status", StatusLine).update(text)

    # ---- showing ----------------------------------------------------------------------
    def set_findings(self, findings: list[dict[str, Any]]) -> None:
        """Show these findings (contract dicts), highest rank first as given."""
        self._findings = list(findings)
        self._set_status(findings_summary(self._findings))
        if self.is_mounted:
            self._fill()

    def _fill(self) -> None:
        options = self.query_one("#insights-list", OptionList)
        options.clear_options()
        if self.scanning:
            options.add_option(Option(Text(SCANNING), disabled=True))
            self._show(None)
            return
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
