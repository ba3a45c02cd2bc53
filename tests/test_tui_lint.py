"""The compare view and the best-per-system list show lint's comparison warnings
(coview.engine.lint.comparison_warnings, run in a worker): a comparison that is not like for
like says so where its numbers are read, and a clean one says lint found nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from textual.widgets import Static

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tui_fakes import FakePipeline  # noqa: E402

from coview.config import Settings  # noqa: E402
from coview.sample_data import MISMATCH_SWEEP  # noqa: E402
from coview.store.ingest import ingest  # noqa: E402
from coview.tui.app import CoviewApp, PickScreen  # noqa: E402

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def mismatch_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mm") / "mm.duckdb"
    ingest([MISMATCH_SWEEP], path, fmt="native", progress=False)
    return path


def make_app(store: Path) -> CoviewApp:
    pipe = FakePipeline()
    return CoviewApp(store, settings=Settings(), pipeline_factory=lambda: pipe)


def _text(widget: Static) -> str:
    return str(widget.render())


async def _settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_best_per_system_warns_that_xpu_a_and_b_differ_in_act_dtype(mismatch_store):
    app = make_app(mismatch_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        await pilot.press("b")
        await _settle(pilot)
        assert isinstance(app.screen, PickScreen)
        note = _text(app.screen.query_one("#pick-note", Static))
        assert "LINT: 1 problem with this comparison" in note
        assert "act_dtype" in note and "xPU-A" in note and "xPU-B" in note


async def test_compare_warns_under_its_title_and_clears_with_it(mismatch_store):
    app = make_app(mismatch_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        await pilot.press("f3", "enter")
        await _settle(pilot)
        await pilot.press("c")
        await _settle(pilot)
        await pilot.press("enter")
        await _settle(pilot)
        note = app.query_one("#compare-warnings", Static)
        assert note.display
        assert "the compared configs differ in act_dtype" in _text(note)
        await pilot.press("escape")
        await pilot.pause()
        assert not note.display


async def test_a_clean_comparison_says_lint_found_nothing(sample_store):
    app = make_app(sample_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await _settle(pilot)
        await pilot.press("b")
        await _settle(pilot)
        note = _text(app.screen.query_one("#pick-note", Static))
        assert "no comparison problems found" in note


def _plot_lint(app: CoviewApp) -> tuple[bool, str]:
    line = app.query_one("#plot-lint")
    return line.display, str(line.render())


async def test_plot_title_warns_when_the_plotted_systems_are_not_like_for_like(mismatch_store):
    """Issue 9 item 4: the plot of the mismatch sweep carries lint's act_dtype warning, and a
    plot of one system alone (nothing compared) does not."""
    app = make_app(mismatch_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        shown, text = _plot_lint(app)
        assert shown
        assert text == "⚠ xPU-A vs xPU-B: activation data type differs (bf16 vs int8) (lint)"
        await pilot.press("s")  # one system alone: nothing is compared
        await _settle(pilot)
        assert _plot_lint(app) == (False, "")
        await pilot.press("s", "s")  # the other alone, then all again: the warning is back
        await _settle(pilot)
        assert _plot_lint(app)[0]


async def test_the_clean_sample_plot_has_no_lint_warning(sample_store):
    app = make_app(sample_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        assert app.plot_pane.plot.system_order  # several systems are plotted
        assert len(app.plot_pane.plot.system_order) > 2
        assert _plot_lint(app) == (False, "")
