"""The Insights pane renders the findings it is given, as plain text, and asks on enter."""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.widgets import OptionList, Static

from coview.tui.insights import InsightsPane

HOSTILE = {
    "title": "[bold red]xPU-A[/] \x1b[31mwins\x07",
    "detail": "detail [link=http://x]y[/link]",
    "sql": ["SELECT 1"],
    "rows": [{"system": "[b]x[/b]\x1b]0;t\x07"}],
    "question": "why is [red]q_proj[/red] different?\x1b[2J",
    "severity": "error",
}
PLAIN = {
    "title": "second finding",
    "detail": "d2",
    "sql": ["SELECT 2"],
    "rows": [],
    "question": "which system is faster?",
    "severity": "info",
}


class _Host(App):
    def __init__(self, findings):
        super().__init__()
        self.findings = findings
        self.asked: list[str] = []

    def compose(self) -> ComposeResult:
        yield InsightsPane(self.findings, id="insights")

    def on_insights_pane_ask(self, message: InsightsPane.Ask) -> None:
        self.asked.append(message.question)


def _run(coro):
    return asyncio.run(coro)


def test_pane_lists_findings_as_plain_text_and_asks_on_enter():
    async def go():
        app = _Host([HOSTILE, PLAIN])
        async with app.run_test(size=(100, 40)) as pilot:
            options = app.query_one("#insights-list", OptionList)
            assert options.option_count == 2
            label = str(options.get_option_at_index(0).prompt)
            # markup is shown literally, control characters are gone
            assert "[bold red]xPU-A[/]" in label
            assert "\x1b" not in label and "\x07" not in label
            body = app.query_one("#insights-detail", Static).render()
            text = str(body)
            assert "[red]q_proj[/red]" in text and "SELECT 1" in text
            assert "\x1b" not in text
            options.focus()
            await pilot.press("down")
            assert "which system is faster?" in str(
                app.query_one("#insights-detail", Static).render()
            )
            await pilot.press("enter")
            await pilot.pause()
            assert app.asked == ["which system is faster?"]
            await pilot.press("up", "a")
            await pilot.pause()
            assert app.asked[-1].startswith("why is [red]q_proj[/red] different?")
            assert "\x1b" not in app.asked[-1]

    _run(go())


def test_pane_with_no_findings_says_so_and_set_findings_refills():
    async def go():
        app = _Host([])
        async with app.run_test(size=(80, 24)) as pilot:
            options = app.query_one("#insights-list", OptionList)
            assert options.option_count == 1
            assert "No findings" in str(options.get_option_at_index(0).prompt)
            await pilot.press("enter")
            assert app.asked == []
            app.query_one(InsightsPane).set_findings([PLAIN])
            await pilot.pause()
            assert options.option_count == 1
            assert "second finding" in str(options.get_option_at_index(0).prompt)

    _run(go())
