"""Snapshot tests of the coview TUI (pytest-textual-snapshot): fixed sizes, deterministic
demo data, no cursor blink, a fake session with a fixed id.

Update after an intended change with: pytest tests/test_tui_snapshots.py --snapshot-update
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tui_fakes import FakePipeline, build_demo_store  # noqa: E402

from coview.config import Settings  # noqa: E402
from coview.tui.app import CoviewApp  # noqa: E402


class FixedSession:
    """Stands in for SessionWriter so the header's session id is stable."""

    id = "20260101-000000-snap"
    path = Path("/nonexistent/snap.jsonl")

    def append_turn(self, result, context) -> None:
        pass

    def record_config(self, config_id: int) -> None:
        pass


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    return build_demo_store(tmp_path_factory.mktemp("snap") / "demo.duckdb")


def make_app(store: Path) -> CoviewApp:
    session = FixedSession()
    return CoviewApp(
        store,
        settings=Settings(),
        pipeline_factory=FakePipeline,
        session_factory=lambda: session,
    )


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_main_screen_80x24(snap_compare, demo_store):
    assert snap_compare(make_app(demo_store), terminal_size=(80, 24), run_before=settle)


def test_main_screen_160x48(snap_compare, demo_store):
    assert snap_compare(make_app(demo_store), terminal_size=(160, 48), run_before=settle)


def test_detail_pane(snap_compare, demo_store):
    async def drill(pilot) -> None:
        await settle(pilot)
        await pilot.press("f3", "enter")
        await settle(pilot)

    assert snap_compare(make_app(demo_store), terminal_size=(100, 40), run_before=drill)


def test_refusal(snap_compare, demo_store):
    async def refuse(pilot) -> None:
        await settle(pilot)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"refuse", "enter")
        await settle(pilot)
        await pilot.pause()

    assert snap_compare(make_app(demo_store), terminal_size=(80, 24), run_before=refuse)


def test_detail_80x24_shows_share_and_weights(snap_compare, demo_store):
    """Issue 10 item 3: at 80x24 the operator table's share and weights columns are on screen."""

    async def drill(pilot) -> None:
        await settle(pilot)
        await pilot.press("f3", "enter")
        await settle(pilot)
        await pilot.press("j", "j", "j", "j", "j")  # scroll down to the operator table
        await settle(pilot)

    assert snap_compare(make_app(demo_store), terminal_size=(80, 24), run_before=drill)


def test_compare_80x24(snap_compare, demo_store):
    """Issue 10 item 8: the compare is on top of the detail pane, with per-step units."""

    async def compare(pilot) -> None:
        await settle(pilot)
        await pilot.press("f3", "enter")
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("j", "j", "j", "j")
        await settle(pilot)

    assert snap_compare(make_app(demo_store), terminal_size=(80, 24), run_before=compare)


def test_insights_80x24(snap_compare, demo_store):
    """The Insights pane as a tab: scanned when shown, lint findings first."""

    async def insights(pilot) -> None:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)

    assert snap_compare(make_app(demo_store), terminal_size=(80, 24), run_before=insights)


def test_insights_wide_takes_the_chat_cell_160x48(snap_compare, demo_store):
    """Wide, Insights shows in the chat's cell; the other three panes stay as they were."""

    async def insights(pilot) -> None:
        await settle(pilot)
        await pilot.press("i")
        await settle(pilot)
        await pilot.press("down")
        await settle(pilot)

    assert snap_compare(make_app(demo_store), terminal_size=(160, 48), run_before=insights)


def test_whatif_80x24(snap_compare, sample_store):
    """Issue 9 item 3: w in the detail pane re-simulates the config; the simulated totals and
    per-operator stored vs simulated times are on screen under a SIMULATED badge."""

    async def whatif(pilot) -> None:
        await settle(pilot)
        await pilot.press("f3", "enter")
        await settle(pilot)
        await pilot.press("w")
        await pilot.pause()
        for ch in "sram_bytes=*1.07, hbm_bw_bytes_per_s=3.2e12":
            await pilot.press("space" if ch == " " else ch)
        await pilot.press("enter")
        await settle(pilot)
        await settle(pilot)

    assert snap_compare(make_app(sample_store), terminal_size=(80, 24), run_before=whatif)
