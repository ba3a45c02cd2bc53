"""Pilot tests of the coview TUI: each pane, the plot -> table -> detail -> ask path, keys.

They run on a deterministic demo store with a scripted pipeline (tui_fakes.FakePipeline)
and the real session writer (sessions go to the hermetic COVIEW_SESSIONS_DIR).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tui_fakes import FakePipeline, build_demo_store  # noqa: E402

from coview.config import Settings  # noqa: E402
from coview.tui.app import CoviewApp, HelpScreen, MainScreen, PickScreen, ReviewApp  # noqa: E402
from coview.tui.widgets import ConfigsTable, DetailView, ParetoPlot, TurnView  # noqa: E402

pytestmark = pytest.mark.anyio  # anyio's pytest plugin runs the async tests


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    return build_demo_store(tmp_path_factory.mktemp("tui") / "demo.duckdb", lengths=2)


def make_app(store: Path, keys: dict[str, str] | None = None, pipeline=None) -> CoviewApp:
    pipe = pipeline or FakePipeline()
    app = CoviewApp(store, settings=Settings(keys=keys or {}), pipeline_factory=lambda: pipe)
    app.fake = pipe
    return app


async def ready(pilot) -> None:
    await pilot.pause()
    await pilot.pause()


async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def ask(pilot, app: CoviewApp, question: str) -> None:
    await pilot.press("a")
    await pilot.pause()
    await type_text(pilot, question)
    await pilot.press("enter")
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def test_plot_moves_along_frontier_and_updates_table_and_detail(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        plot = app.query_one(ParetoPlot)
        assert app.screen.focused is plot
        front = plot.current_frontier()
        i0 = plot.point_index
        assert len(front) > 2 and i0 >= 2  # starts on the best perf/TCO point (the table's top)
        assert plot.highlight.config_id == app.page.rows[0]["config_id"]
        await pilot.press("left", "left")
        await pilot.pause()
        assert plot.highlight is front[i0 - 2]
        cid = front[i0 - 2].config_id
        table = app.query_one(ConfigsTable)
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == str(cid)
        assert app.detail_config["config_id"] == cid
        assert app.context.config_id == cid
        await pilot.press("right")
        assert plot.highlight is front[i0 - 1]
        system_before = plot.system_order[plot.sys_index]
        await pilot.press("down")
        await pilot.pause()
        assert plot.system_order[plot.sys_index] != system_before
        assert plot.highlight.system_id == plot.system_order[plot.sys_index]
        assert app.context.config_id == plot.highlight.config_id


async def test_plot_filters_from_keyboard(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.filters.phase == "decode"
        await pilot.press("p")  # decode -> all
        await pilot.pause()
        assert app.filters.phase is None
        await pilot.press("p")  # all -> prefill
        await pilot.pause()
        assert app.filters.phase == "prefill"
        await pilot.press("d")
        await pilot.pause()
        assert app.filters.dtype == "bf16"
        await pilot.press("s")
        await pilot.pause()
        plot = app.query_one(ParetoPlot)
        assert app.filters.systems == ("h100",)
        assert set(plot.data.frontiers) == {"h100"}
        assert all(r["system"] == "H100" and r["weight_dtype"] == "bf16" for r in app.page.rows)


async def test_table_sort_search_pareto_and_paging(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f3")
        await pilot.pause()
        table = app.query_one(ConfigsTable)
        assert app.screen.focused is table
        assert app.total == 360 and table.row_count == 200 and table.has_more
        assert "rows 1-200 of 360" in str(app.query_one("#table-status").render())
        await pilot.press("G")
        await pilot.pause()
        assert table.page_offset == 200 and table.cursor_row == 159
        await pilot.press("g")
        await pilot.pause()
        assert table.page_offset == 0 and table.cursor_row == 0
        await pilot.press("j", "j", "k")
        assert table.cursor_row == 1
        await pilot.pause(0.6)  # the plot follows the table after a short coalescing delay
        assert app.query_one(ParetoPlot).highlight.config_id == app.page.rows[1]["config_id"]
        assert app.context.config_id == app.page.rows[1]["config_id"]
        # sort: o cycles the column, r reverses
        await pilot.press("o")
        await pilot.pause()
        assert app.sort == "throughput_tok_per_s"  # the column after perf/TCO
        await pilot.press("r")
        await pilot.pause()
        tputs = [r["throughput_tok_per_s"] for r in app.page.rows]
        assert tputs == sorted(tputs) and not app.descending
        # search
        await pilot.press("slash")
        await pilot.pause()
        assert app.screen.focused.id == "search"
        await type_text(pilot, "xpu-b tp=4")
        await pilot.press("enter")
        await pilot.pause()
        assert app.page.rows and all(r["system"] == "xPU-B" and r["tp"] == 4 for r in app.page.rows)
        assert app.screen.focused is table
        # Pareto-only
        await pilot.press("t")
        await pilot.pause()
        assert app.page.rows and all(r["is_pareto"] for r in app.page.rows)
        assert "Pareto only" in str(app.query_one("#table-status").render())
        # a bad search says what works and loses nothing
        await pilot.press("slash")
        await pilot.pause()
        app.query_one("#search").value = ""
        await type_text(pilot, "colour=red")
        await pilot.press("enter")
        await pilot.pause()
        assert any("unknown search key" in n.message for n in app._notifications)
        assert app.filters.search == "" and app.page.rows


async def test_detail_operator_breakdown_and_compare(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        cid = app.page.rows[0]["config_id"]
        assert app.detail_config["config_id"] == cid
        assert app.active_tab == "detail"
        ops = app.query_one("#detail-ops")
        assert ops.row_count == 12
        # the dominant time is highlighted (bold reverse) in every row
        first = ops.get_row_at(0)
        assert any(getattr(c, "style", "") == "bold reverse" for c in first[5:8])
        bars = str(app.query_one("#detail-bars").render())
        assert "gemm" in bars and "█" in bars
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        assert len(app.screen.options) == 5
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        diff = app.query_one("#detail-diff")
        assert diff.display and diff.row_count == 12
        assert "compare" in str(app.query_one("#compare-title").render())
        await pilot.press("escape")
        await pilot.pause()
        assert not app.query_one("#detail-diff").display
        assert app.active_tab == "table"


async def test_path_plot_table_detail_ask_this_config(demo_store):
    """plot -> table -> detail -> ask about this config -> answer with SQL and evidence."""
    from coview.store.sessions import load_session

    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("right")  # plot: select a frontier point
        await pilot.pause()
        cid = app.query_one(ParetoPlot).highlight.config_id
        await pilot.press("f3")  # table: the cursor is on it
        await pilot.pause()
        table = app.query_one(ConfigsTable)
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == str(cid)
        await pilot.press("enter")  # detail
        await pilot.pause()
        assert app.detail_config["config_id"] == cid
        assert f"#{cid}" in str(app.query_one("#chat-context").render())
        await ask(pilot, app, "why is this config slow")
        question, _history, context = app.fake.calls[-1]
        assert question == "why is this config slow" and context.config_id == cid
        turn = app.query_one(TurnView)
        assert turn.turn["status"] == "answered"
        assert f"config_id = {cid}" in turn.sql_text
        boxes = list(turn.query("Collapsible"))
        assert [b.title for b in boxes] == ["SQL (1)", "Evidence 1 (1 rows)"]
        assert all(b.collapsed for b in boxes)
        evidence = turn.query_one("DataTable")
        assert evidence.row_count == 1 and str(evidence.get_row_at(0)[0]) == f"{cid:,}"
        assert "grounded: 2/2" in str(turn.query_one(".badge").render())
        assert not app.query_one("#thinking").display
        # the turn and the drilled config are in the session on disk
        await app.workers.wait_for_complete()
        saved = load_session(str(app._session.path))
        assert [t["question"] for t in saved.turns] == ["why is this config slow"]
        assert saved.turns[0]["context_config_id"] == cid
        assert cid in saved.configs
        # a follow-up carries the history
        await ask(pilot, app, "and the latency")
        assert [t.question for t in app.fake.calls[-1][1]] == ["why is this config slow"]
        # copy answer and SQL (OSC 52)
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("y")
        assert app.clipboard == f"Config {cid} has a latency of 0.0125 s."
        await pilot.press("Y")
        assert app.clipboard.startswith("SELECT config_id")


async def test_refusal_and_error_are_distinct(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await ask(pilot, app, "refuse power please")
        turn = app.query_one(TurnView)
        answer = turn.query_one(".answer")
        assert answer.has_class("-refused") and answer.border_title == "Cannot answer"
        assert not list(turn.query(".badge"))  # no grounding badge on a refusal
        await ask(pilot, app, "boom")
        errs = [n for n in app._notifications if n.severity == "error"]
        assert errs and "--backend offline" in errs[-1].message
        assert list(app.query(TurnView))[-1].query_one(".answer").has_class("-error")


async def test_escape_cancels_a_running_question(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("a")
        await type_text(pilot, "please wait")
        await pilot.press("enter")
        await pilot.pause()
        assert app.asking and app.query_one("#thinking").display
        cancel = app.cancel_event
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert cancel.is_set() and not app.asking
        assert not list(app.query(TurnView))
        assert any("cancelled" in n.message for n in app._notifications)


async def test_keymap_remaps_bindings_by_id(demo_store):
    app = make_app(demo_store, keys={"pareto_only": "x", "plot.prev": "n", "help": "f10"})
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("t")  # the old key does nothing now
        await pilot.pause()
        assert not app.filters.pareto_only
        await pilot.press("x")
        await pilot.pause()
        assert app.filters.pareto_only
        plot = app.query_one(ParetoPlot)
        start = plot.point_index
        assert start > 0
        await pilot.press("n")
        assert plot.point_index == start - 1
        await pilot.press("f10")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = {r[3]: r[1] for r in app.screen.rows}
        assert rows["pareto_only"] == "x" and rows["plot.prev"] == "n"


async def test_help_lists_every_binding_with_an_id(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        ids = {r[3] for r in app.screen.rows}
        for cls in (CoviewApp, MainScreen, ParetoPlot, ConfigsTable, DetailView):
            for b in cls.BINDINGS:
                assert b.id, f"{cls.__name__} binding {b.key} has no id"
                assert b.id in ids
        assert not any("ctrl+enter" in r[1].lower() for r in app.screen.rows)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_tab_cycles_panes_and_fullscreen(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        seen = []
        for _ in range(6):
            await pilot.press("tab")
            await pilot.pause()
            seen.append(app.current_pane())
        assert seen == ["table", "detail", "chat", "insights", "nav", "plot"]
        await pilot.press("shift+tab")
        await pilot.pause()
        assert app.current_pane() == "nav"
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("f")
        assert app.screen.maximized is app.query_one("#pane-plot")
        await pilot.press("escape")
        assert app.screen.maximized is None


async def test_narrow_is_tabs_wide_is_side_by_side(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        assert not app.screen.has_class("-narrow")
        for pane in ("plot", "table", "detail", "chat"):
            assert app.query_one(f"#pane-{pane}").region.area > 0
        assert app.query_one("#nav").region.area > 0
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert app.screen.has_class("-narrow")
        visible = [
            p
            for p in ("plot", "table", "detail", "chat")
            if app.query_one(f"#pane-{p}").region.area
        ]
        assert visible == ["plot"]


async def test_command_palette_has_app_commands(demo_store):
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await type_text(pilot, "toggle pareto")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.filters.pareto_only


async def test_best_per_system_and_no_color(demo_store, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.no_color
        await pilot.press("b")
        await pilot.pause()
        assert len(app.best_rows) == 6
        assert isinstance(app.screen, PickScreen)
        await pilot.press("down", "enter")  # the second-best system's best point
        await pilot.pause()
        second = app.best_rows[1]
        assert app.detail_config["config_id"] == second["config_id"]
        assert app.query_one(ParetoPlot).highlight.config_id == second["config_id"]


async def test_export_writes_markdown(demo_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = make_app(demo_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("e")
        assert any("Nothing to export" in n.message for n in app._notifications)
        await ask(pilot, app, "what is the latency")
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        assert app.exported_to.parent == app._session.path.parent  # not the cwd
        text = app.exported_to.read_text()
        assert "what is the latency" in text


async def test_review_shows_saved_turns_and_configs(demo_store):
    from coview.engine.types import Context
    from coview.store.sessions import SessionWriter, load_session

    writer = SessionWriter.create(demo_store, "fake")
    pipe = FakePipeline()
    writer.append_turn(pipe.ask("what is it", context=Context(config_id=3)), Context(config_id=3))
    writer.append_turn(pipe.ask("refuse it"), Context())
    writer.record_config(3)
    saved = load_session(str(writer.path))
    app = ReviewApp(saved)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        turns = list(app.screen.query(TurnView))
        assert [t.turn["status"] for t in turns] == ["answered", "refused"]
        assert turns[1].query_one(".answer").border_title == "Cannot answer"
        assert "config_id = 3" in turns[0].sql_text
        table = app.screen.query_one("#review-config-table")
        assert table.row_count >= 1
        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.query_one(DetailView).query_one("#detail-ops").row_count == 12
        assert not app.screen.query("#question")  # read-only: no question box


async def test_real_offline_engine_on_the_sample_store(sample_store):
    """The same path with the real offline pipeline: drill into a config, ask about it."""
    app = CoviewApp(sample_store, settings=Settings(backend="offline"))
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        assert app.summary is not None and len(app.summary.systems) == 6
        await pilot.press("enter")  # drill into the plot's selected config
        await pilot.pause()
        cid = app.detail_config["config_id"]
        assert app.query_one("#detail-ops").row_count > 0
        await ask(pilot, app, "what is the latency of this config?")
        turn = app.query_one(TurnView)
        assert turn.turn["status"] == "answered", turn.turn["answer"]
        assert turn.sql_text.upper().startswith(("SELECT", "WITH"))
        assert f"config_id = {cid}" in turn.sql_text  # "this config" reached the engine
        assert turn.turn["evidence"] and turn.turn["evidence"][0][1]
        assert app._pipeline.backend == "offline"
        assert app._session is not None and cid in app._recorded


@pytest.mark.anyio
async def test_configs_table_first_paint_shows_whole_cells(demo_store):
    """The first paint of a page shows every id and name whole (no '86' for #864)."""
    app = make_app(demo_store)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready(pilot)
        table = app.query_one("#configs", ConfigsTable)
        assert table.row_count > 0
        for c, column in enumerate(table.ordered_columns):
            values = [str(table.get_cell_at((r, c))) for r in range(table.row_count)]
            # Auto widths are measured on idle, after the first paint; explicit widths are not.
            assert not column.auto_width, column.label.plain
            assert column.width >= max([len(column.label.plain), *map(len, values)])
