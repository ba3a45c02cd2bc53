"""The Insights pane renders the findings it is given, as plain text, and asks on enter;
in the app it scans the store in a worker when first shown and asks in the chat pane."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import OptionList, Static

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tui_fakes import FakePipeline, build_demo_store  # noqa: E402

import coview.engine.insights as engine_insights  # noqa: E402
from coview.config import Settings  # noqa: E402
from coview.tui.app import CoviewApp  # noqa: E402
from coview.tui.insights import InsightsPane  # noqa: E402

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


# ---- the pane inside the app: scanned in a worker, asked in the chat ---------------------
def _app(store: Path) -> CoviewApp:
    pipe = FakePipeline()
    app = CoviewApp(store, settings=Settings(), pipeline_factory=lambda: pipe)
    app.fake = pipe
    return app


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    return build_demo_store(tmp_path_factory.mktemp("insights") / "demo.duckdb", lengths=2)


def test_app_scans_when_shown_and_asks_the_finding_in_chat(demo_store, monkeypatch):
    release = threading.Event()
    calls = []
    real = engine_insights.insights_for_store

    def slow_scan(path, limit=None):
        calls.append(path)
        release.wait(10)
        return real(path, limit)

    monkeypatch.setattr(engine_insights, "insights_for_store", slow_scan)

    async def go():
        app = _app(demo_store)
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            await pilot.pause()
            pane = app.query_one("#pane-insights", InsightsPane)
            chat = app.query_one("#pane-chat")
            # wide: the chat has the bottom-right cell until Insights is asked for
            assert chat.region.area > 0 and pane.region.area == 0
            assert calls == []  # nothing is scanned before the pane is shown
            await pilot.press("i")
            await pilot.pause()
            assert pane.region.area > 0 and chat.region.area == 0
            assert app.focused is app.query_one("#insights-list")
            status = str(app.query_one("#insights-status").render())
            assert "scanning the store" in status
            options = app.query_one("#insights-list", OptionList)
            assert "scanning the store" in str(options.get_option_at_index(0).prompt)
            release.set()
            await app.workers.wait_for_complete()
            await pilot.pause()
            findings = pane.findings
            assert findings and options.option_count == len(findings)
            assert f"{len(findings)} findings" in str(app.query_one("#insights-status").render())
            # Tab moves on, the cell keeps Insights; the pane is not scanned twice
            await pilot.press("tab")
            await pilot.pause()
            assert app.current_pane() == "nav" and pane.region.area > 0
            await pilot.press("i")
            await pilot.pause()
            assert len(calls) == 1
            await pilot.press("down", "enter")
            await app.workers.wait_for_complete()
            await pilot.pause()
            # asked in the chat, which is shown again, without 'this config'
            question, _, context = app.fake.calls[-1]
            assert question == findings[1]["question"]
            assert context.config_id is None
            assert app.current_pane() == "chat"
            assert chat.region.area > 0 and pane.region.area == 0

    _run(go())


def test_scan_of_a_broken_store_says_what_failed(tmp_path):
    async def go():
        bad = tmp_path / "not-a-store.duckdb"
        bad.write_text("this is not a database")
        app = _Host([])
        async with app.run_test(size=(100, 30)) as pilot:
            pane = app.query_one(InsightsPane)
            pane.scan(bad)
            await app.workers.wait_for_complete()
            await pilot.pause()
            status = str(app.query_one("#insights-status").render())
            assert "cannot scan the store" in status and "r tries again" in status
            options = app.query_one("#insights-list", OptionList)
            assert "scan failed" in str(options.get_option_at_index(0).prompt)
            await pilot.press("enter")
            assert app.asked == []

    _run(go())
