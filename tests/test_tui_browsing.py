"""Pilot tests for issue 10's browsing items (1-9): each fails without its fix.

They run on the deterministic demo store (tui_fakes) with a scripted pipeline, at 80x24
unless a test needs the wide layout; only item 9 uses the real offline engine.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tui_fakes import FakePipeline, build_demo_store  # noqa: E402

from coview.config import Settings  # noqa: E402
from coview.store.browse import PlotData, Point, coincident_points  # noqa: E402
from coview.tui.app import CoviewApp, HelpScreen, PickScreen  # noqa: E402
from coview.tui.chat import TurnView  # noqa: E402
from coview.tui.configs import ConfigsTable  # noqa: E402
from coview.tui.detail import largest_change  # noqa: E402
from coview.tui.filters import FilterList  # noqa: E402
from coview.tui.plot import COINCIDENT_MARKER, ParetoPlot  # noqa: E402

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    return build_demo_store(tmp_path_factory.mktemp("browse10") / "demo.duckdb")


@pytest.fixture(scope="module")
def unfit_store(tmp_path_factory, demo_store) -> Path:
    """The demo store with the 20 best-perf/TCO decode configs marked as not fitting."""
    path = tmp_path_factory.mktemp("unfit") / "unfit.duckdb"
    shutil.copy(demo_store, path)
    con = duckdb.connect(str(path))
    con.execute(
        "UPDATE configs SET fits_memory = FALSE WHERE config_id IN "
        "(SELECT config_id FROM configs WHERE phase = 'decode' ORDER BY perf_per_tco DESC LIMIT 20)"
    )
    con.close()
    return path


def make_app(store: Path) -> CoviewApp:
    pipe = FakePipeline()
    app = CoviewApp(store, settings=Settings(), pipeline_factory=lambda: pipe)
    app.fake = pipe
    return app


async def ready(pilot) -> None:
    await pilot.pause()
    await pilot.pause()


async def ask(pilot, app: CoviewApp, question: str) -> None:
    app.ask(question)
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def option_texts(app: CoviewApp) -> list[str]:
    lst = app.query_one(FilterList)
    return [str(lst.get_option_at_index(i).prompt) for i in range(lst.option_count)]


# ---- 1. every filter cycles, is settable by keyboard and palette, and shows its key ----
async def test_phase_and_dtype_cycle_back_and_show_one_mark(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        seen = [app.filters.phase]
        for _ in range(3):
            await pilot.press("p")
            await pilot.pause()
            seen.append(app.filters.phase)
        assert seen == ["decode", None, "prefill", "decode"]  # back to decode, never stuck
        dtypes = [app.filters.dtype]
        for _ in range(3):
            await pilot.press("d")
            await pilot.pause()
            dtypes.append(app.filters.dtype)
        assert dtypes == [None, "bf16", "int8", None]
        texts = option_texts(app)
        phase_rows = [t for t in texts if t.endswith(("all", "prefill", "decode"))][:3]
        assert sum("(•)" in t for t in phase_rows) == 1
        assert "Phase  [p]" in texts and "Weights dtype  [d]" in texts  # the keys show


async def test_filters_pane_sets_phase_by_keyboard_and_palette(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f6")
        await pilot.pause()
        lst = app.query_one(FilterList)
        assert app.screen.focused is lst
        prefill = lst.get_option_index("phase:prefill")
        while lst.highlighted != prefill:
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert app.filters.phase == "prefill"
        await pilot.press("up", "enter")  # "all"
        await pilot.pause()
        assert app.filters.phase is None
        await pilot.press("down", "down", "space")  # decode, with space
        await pilot.pause()
        assert app.filters.phase == "decode"
        # a system toggles off and on again
        h100 = lst.get_option_index("system:h100")
        while lst.highlighted != h100:
            await pilot.press("up")
        await pilot.press("enter")
        await pilot.pause()
        assert app.filters.systems is not None and "h100" not in app.filters.systems
        assert "[ ] o H100" in option_texts(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.filters.systems is None
        # the palette sets a phase directly
        await pilot.press("f2", "ctrl+p")
        await pilot.pause()
        for ch in "set phase: prefill":
            await pilot.press("space" if ch == " " else ch)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.filters.phase == "prefill"


async def test_systems_list_fills_with_one_refresh(demo_store):
    """Item 11: filling the systems list used to refresh the plot and table once per system."""
    app = make_app(demo_store)
    calls = []
    original = CoviewApp.refresh_data

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    app.refresh_data = counting.__get__(app)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.pause(0.2)
        assert len(calls) == 1


# ---- 2. configs that do not fit are marked, and "best" ranks fitting ones -------------
async def test_non_fitting_configs_are_marked_and_not_ranked_best(unfit_store):
    app = make_app(unfit_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.filters.fits_only
        assert all(r["fits_memory"] is not False for r in app.page.rows)
        await pilot.press("m")  # every config, marked
        await pilot.pause()
        assert not app.filters.fits_only
        rows = app.page.rows
        assert rows[0]["fits_memory"] is False  # the unfit ones rank at the top by perf/TCO
        table = app.query_one(ConfigsTable)
        labels = [c.label.plain for c in table.ordered_columns]
        fits_col = labels.index("fits")
        assert fits_col < 7  # on screen at 80 columns
        assert str(table.get_cell_at((0, fits_col))) == "NO"
        assert "NO = does not fit" in str(app.query_one("#table-status").render())
        # with every config shown, "best" may be one that does not fit: it says so
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        unfit = [label for label, _ in app.screen.options if "DOES NOT FIT" in label]
        assert unfit and any(r["fits_memory"] is False for r in app.best_rows)
        await pilot.press("escape", "m")  # back to fitting only: best ignores them
        await pilot.pause()
        await pilot.press("b")
        await pilot.pause()
        unfit_ids = {x["config_id"] for x in rows[:20]}
        assert all(r["config_id"] not in unfit_ids for r in app.best_rows)


# ---- 3. every column reachable at 80x24 ------------------------------------------------
async def test_80x24_detail_and_table_columns_reachable(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f3")
        await pilot.pause()
        table = app.query_one(ConfigsTable)
        x = 0
        for col in table.ordered_columns:
            if col.label.plain == "tok/s":
                break
            x += col.get_render_width(table)
        assert x + 7 <= table.size.width, "tok/s is cut at 80 columns"
        await pilot.press("enter")
        await pilot.pause()
        ops = app.query_one("#detail-ops")
        x, seen = 0, {}
        for col in ops.ordered_columns:
            seen[col.label.plain] = x
            x += col.get_render_width(ops)
        assert seen["weights"] + 7 <= ops.size.width and seen["share"] + 5 <= ops.size.width
        # and the rest scrolls sideways from the keyboard
        await pilot.press("right")
        await pilot.pause()
        assert ops.scroll_x > 0
        # the last help rows can be scrolled into view
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        help_table = app.screen.query_one("#help-table")
        await pilot.press("G")
        await pilot.pause()
        assert help_table.cursor_row == help_table.row_count - 1
        assert help_table.max_scroll_y > 0 and help_table.scroll_y == help_table.max_scroll_y
        box = app.screen.query_one("#help-box").region
        assert help_table.region.bottom <= box.bottom


# ---- 4. the chat works from the keyboard ---------------------------------------------
async def test_chat_keys_open_sql_and_scroll_history(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        for i in range(4):
            await ask(pilot, app, f"what is the latency {i}")
        await pilot.press("a")
        await pilot.pause()
        assert app.screen.focused.id == "question"
        log = app.query_one("#chat-log")
        await pilot.pause()
        bottom = log.scroll_y
        assert bottom > 0
        await pilot.press("pageup")
        await pilot.pause()
        assert log.scroll_y < bottom
        await pilot.press("pagedown")
        await pilot.pause()
        assert log.scroll_y == bottom
        last = list(app.query(TurnView))[-1]
        boxes = list(last.query("Collapsible"))
        assert boxes and all(b.collapsed for b in boxes)
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert not any(b.collapsed for b in boxes)
        assert app.screen.focused.id == "question"  # still typing
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert all(b.collapsed for b in boxes)


# ---- 5. the plot is legible ----------------------------------------------------------
def test_coincident_points_are_named():
    a = [Point(1, "a", 0.01, 100.0, True), Point(2, "a", 0.02, 200.0, True)]
    b = [Point(3, "b", 0.01, 100.0, True), Point(4, "b", 0.03, 250.0, True)]
    data = PlotData(frontiers={"a": a, "b": b})
    assert coincident_points(data) == [("a", "b", 1)]


async def test_plot_colours_legend_phase_title_and_status(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        styles = app.sys_styles
        colours = [st.color for st in styles.values()]
        assert len(set(colours)) == len(colours)  # distinct per system
        legend = app.plot_pane.legend
        for st in styles.values():
            span = next(s for s in legend.spans if legend.plain[s.start : s.end] == st.marker)
            assert f"color({st.color})" in str(span.style)  # the plot gets the same number
        plot = app.query_one(ParetoPlot)
        # the coincident marker is drawn where two systems share a frontier point
        plot.data = PlotData(
            frontiers={
                "h100": [Point(1, "h100", 0.01, 100.0, True)],
                "mi300x": [Point(2, "mi300x", 0.01, 100.0, True)],
            }
        )
        assert plot._coincident_xy() == [(10.0, 100.0)]
        assert COINCIDENT_MARKER not in [st.marker for st in styles.values()]
        # "all phases": the plot keeps one phase, the table shows both
        await pilot.press("p")
        await pilot.pause()
        assert app.filters.phase is None
        phases = {p.phase for pts in plot.data.frontiers.values() for p in pts}
        assert phases == {"decode"}
        assert {r["phase"] for r in app.page.rows} == {"prefill", "decode"} or app.total > 200
        assert "decode" in plot.plot_title
        # the title follows a search, the status line says batch, TP and dtype
        await pilot.press("slash")
        await pilot.pause()
        for ch in "tp=4":
            await pilot.press(ch)
        await pilot.press("enter")
        await pilot.pause()
        assert "search 'tp=4'" in plot.plot_title
        h = plot.highlight
        status = str(app.query_one("#plot-status").render())
        assert f"b{h.batch_size}" in status and f"tp{h.tp}" in status and h.weight_dtype in status


# ---- 6. "this config" at startup -----------------------------------------------------
async def test_this_config_is_the_plotted_point_from_the_start(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        cid = app.query_one(ParetoPlot).highlight.config_id
        assert app.context.config_id == cid  # before any key
        assert f"#{cid}" in str(app.query_one("#chat-context").render())
        await ask(pilot, app, "what is the latency of this config")
        assert app.fake.calls[-1][2].config_id == cid


# ---- 7. the tab shown, the pane shown and the focus agree ------------------------------
async def test_quick_pane_keys_leave_tab_pane_and_focus_in_agreement(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        # chat, then plot, before the first switch's messages are handled (keys typed faster
        # than the app drains its queue, as over a slow SSH link)
        app.action_pane("chat")
        app.action_pane("plot")
        await pilot.pause()
        await pilot.pause()
        assert app.query_one("#pane-tabs").active == "tab-plot"
        assert app.active_tab == "plot"
        assert app.screen.focused is app.query_one(ParetoPlot)
        await pilot.press("e")
        await pilot.pause()
        assert app.query_one("#question").value == ""  # not typed into a hidden box


# ---- 8. compare: seen, labelled, no false marker ---------------------------------------
def test_largest_change_points_at_nothing_when_all_equal():
    rows = [{"time_a": 1e-3, "time_b": 1e-3}, {"time_a": 2e-3, "time_b": 2.000001e-3}]
    assert largest_change(rows) == -1
    rows.append({"time_a": 1e-3, "time_b": 3e-3})
    assert largest_change(rows) == 2


async def test_compare_is_on_top_with_per_step_units(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("enter")  # the plot's point into the detail pane
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        diff = app.query_one("#detail-diff")
        ops = app.query_one("#detail-ops")
        assert diff.display and diff.region.y < ops.region.y
        assert diff.region.y < app.query_one("#detail").region.bottom  # seen without scrolling
        labels = [c.label.plain for c in diff.ordered_columns]
        assert sum("µs/step" in lab for lab in labels) == 2
        assert "per instance" in str(app.query_one("#ops-note").render())
        # the compare is saved in the session and exported with it
        from coview.store.sessions import export_markdown, load_session

        await app.workers.wait_for_complete()
        saved = load_session(str(app._session.path))
        a = app.detail_config["config_id"]
        assert [(c["a"], c["b"]) for c in saved.compares] == [(a, saved.compares[0]["b"])]
        assert saved.compares[0]["b"] != a and saved.compares[0]["b"] in saved.configs
        text = export_markdown(saved)
        assert "## Compares" in text and "A µs/step" in text


# ---- 9. the mismatch sweep with a config selected --------------------------------------
async def test_why_faster_on_the_mismatch_sweep_with_a_config_selected(tmp_path):
    from coview.sample_data import MISMATCH_SWEEP
    from coview.store.ingest import ingest

    store = tmp_path / "mismatch.duckdb"
    ingest([MISMATCH_SWEEP], store, fmt="native", progress=False)
    app = CoviewApp(store, settings=Settings(backend="offline"))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.context.config_id is not None
        await ask(pilot, app, "Why is xPU-B faster than xPU-A?")
        turn = list(app.query(TurnView))[-1]
        answer = turn.turn["answer"]
        assert "IndexError" not in answer and "shape my answer template" not in answer
        # the activation types differ on this sweep: the comparison says so
        assert "not apples to apples" in answer or "premise" in answer.lower() or "act" in answer


# ---- 10. review names, export markers and units, no startup flash ----------------------
async def test_review_shows_system_names_and_stacks_at_80_columns(demo_store):
    from coview.engine.types import Context
    from coview.store.sessions import SessionWriter, load_session
    from coview.tui.app import ReviewApp

    writer = SessionWriter.create(demo_store, "fake")
    writer.append_turn(FakePipeline().ask("what is it", context=Context(config_id=3)), Context(3))
    app = ReviewApp(load_session(str(writer.path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#review-config-table")
        assert str(table.get_cell_at((0, 1))) == "H100"  # the name, not the id 'h100'
        assert app.screen.has_class("-narrow")
        chat, configs = (
            app.screen.query_one("#review-chat"),
            app.screen.query_one("#review-configs"),
        )
        assert chat.region.width == configs.region.width == 80  # stacked, full width each


def test_export_markers_are_fixed_per_system():
    from coview.store.sessions import marker_map, pareto_text

    markers = marker_map(["xPU-B", "H100", "xPU-A"])
    one = [
        {"system": "xPU-A", "latency_s": 0.01, "perf_per_tco": 10.0},
        {"system": "xPU-B", "latency_s": 0.02, "perf_per_tco": 20.0},
    ]
    two = [{"system": "xPU-B", "latency_s": 0.02, "perf_per_tco": 20.0}, *one[:1]]
    legends = [pareto_text(pts, markers=markers).splitlines()[-1] for pts in (one, two)]
    assert f"{markers['xPU-B']} xPU-B" in legends[0] and f"{markers['xPU-B']} xPU-B" in legends[1]
    assert f"{markers['xPU-A']} xPU-A" in legends[1]


def test_export_evidence_in_readable_units():
    from coview.store.sessions import readable_evidence

    cols, rows = readable_evidence(["latency_s", "weight_bytes_per_chip", "tp"], [[0.0125, 2e9, 4]])
    assert cols == ["latency (ms)", "weight_bytes_per_chip (GB)", "tp"]
    assert rows == [[12.5, 2.0, 4]]


async def test_plot_says_loading_before_the_store_answers():
    from textual.app import App

    class OnlyPlot(App):
        def compose(self):
            yield ParetoPlot(id="plot")

    app = OnlyPlot()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        plot = app.query_one(ParetoPlot)
        first = str(plot.render())
        assert "loading the store" in first and "no configs match" not in first
        plot.set_data(PlotData(), {}, "t")
        assert "no configs match the filters" in str(plot.render())


async def test_status_lines_show_brackets_literally(demo_store):
    """'[m]' in the table status (and any store text in a status line) is not markup."""
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert "fitting only [m]" in str(app.query_one("#table-status").render())
