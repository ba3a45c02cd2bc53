"""The plot's highlight is patched into a cached figure (issue 10 item 11: a table move
used to rebuild the whole plotext figure): the patched screen must equal plotext's own
drawing of the same highlight, cell for cell and style for style, and a move must not
rebuild the figure."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from textual_plotext import PlotextPlot  # noqa: E402
from tui_fakes import FakePipeline, build_demo_store  # noqa: E402

from coview.config import Settings  # noqa: E402
from coview.tui.app import CoviewApp  # noqa: E402
from coview.tui.plot import ParetoPlot  # noqa: E402

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    return build_demo_store(tmp_path_factory.mktemp("plotcache") / "demo.duckdb")


def ansi(text) -> str:
    console = Console(width=400, color_system="truecolor", force_terminal=True)
    with console.capture() as cap:
        console.print(text, end="")
    return cap.get()


def plotext_drawing(plot: ParetoPlot):
    """The figure drawn by plotext with the highlight, bypassing the cache."""
    plot._draw()
    return PlotextPlot.render(plot)


@pytest.mark.parametrize("store_name", ["demo", "sample"])
@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_patched_highlight_equals_plotexts_own_drawing(
    request, demo_store, sample_store, store_name, size
):
    store = demo_store if store_name == "demo" else sample_store
    app = CoviewApp(store, settings=Settings(), pipeline_factory=FakePipeline)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        plot = app.query_one(ParetoPlot)
        points = [p for f in plot.data.frontiers.values() for p in f]
        points += [p for o in plot.data.others.values() for p in o][:40]
        assert len(points) > 10
        for p in points:
            plot.highlight = p
            fast = plot.render()
            assert "@" in fast.plain
            assert ansi(fast) == ansi(plotext_drawing(plot)), p


async def test_a_highlight_move_does_not_rebuild_the_figure(demo_store, monkeypatch):
    app = CoviewApp(demo_store, settings=Settings(), pipeline_factory=FakePipeline)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.pause()
        plot = app.query_one(ParetoPlot)
        plot.render()
        builds = []
        original = type(plot.plt).build
        monkeypatch.setattr(
            type(plot.plt), "build", lambda self: builds.append(1) or original(self)
        )
        for _ in range(5):
            await pilot.press("right")  # walk the frontier
            plot.render()
        assert builds == []
        app.set_filter("dtype", "bf16")  # new data: one rebuild
        await pilot.pause()
        plot.render()
        assert len(builds) == 1


async def test_a_table_config_of_another_phase_is_named_not_drawn(demo_store):
    """With 'all phases' the table lists prefill rows while the plot draws decode: such a
    row is not put on the decode plot as a stray point; the status line says why."""
    app = CoviewApp(demo_store, settings=Settings(), pipeline_factory=FakePipeline)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.pause()
        await pilot.press("p")  # decode -> all phases
        await pilot.pause()
        row = next(r for r in app.page.rows if r["phase"] == "prefill")
        plot = app.query_one(ParetoPlot)
        assert plot.drawn_phases() == {"decode"}
        from coview.store.browse import Point

        point = Point(row["config_id"], "h100", row["latency_s"], row["perf_per_tco"], False,
                      "prefill")  # fmt: skip
        app.plot_pane.select_config(row["config_id"], point)
        assert plot.highlight is None and plot.off_plot == point
        status = str(app.query_one("#plot-status").render())
        assert f"#{row['config_id']}" in status and "is prefill: not on this plot" in status
        await pilot.press("f2", "right")  # a plot move takes the highlight back
        await pilot.pause()
        assert plot.highlight is not None and plot.off_plot is None


@pytest.mark.parametrize("size", [(80, 24), (200, 50)])
async def test_strips_of_a_patched_move_equal_a_full_textual_render(sample_store, size):
    """The lines Textual paints after a highlight move (cached strips, one line patched)
    equal the lines of a full render of the same highlight, segment for segment."""
    from textual.widget import Widget

    app = CoviewApp(sample_store, settings=Settings(), pipeline_factory=FakePipeline)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.pause()
        plot = app.query_one(ParetoPlot)
        points = [p for f in plot.data.frontiers.values() for p in f][:30]
        for p in points:
            plot.highlight = p
            plot._layout_cache.clear()
            Widget._render_content(plot)  # the full path: render() to strips
            full = [list(s) for s in plot._render_cache.lines]
            fast = plot._fast_strips()
            assert fast is not None
            assert [list(s) for s in fast] == full, p


# ---- what the last pass found awkward at 80x24 --------------------------------------
def test_the_header_keeps_the_session_id_whole_at_80_columns():
    from coview.tui.app import header_text

    line = header_text(
        "bundled sample", "llama2-70b-serving", "offline", "20261202-010402-a26f", 78
    )
    assert len(line) <= 78 and line.endswith("session 20261202-010402-a26f")
    long = header_text("store.duckdb", "a-very-long-sweep-name-" * 3, "offline", "20261202-x", 78)
    assert len(long) <= 78 and long.endswith("session 20261202-x") and "…" in long
    wide = header_text("bundled sample", "s", "offline", "20261202-x", 198)
    assert wide.startswith("coview │ store bundled sample │ sweep s")


def test_the_legend_breaks_between_items_never_inside_one():
    from coview.tui.plot import SystemStyle, legend_text

    styles = {f"s{i}": SystemStyle(name, i + 1, m) for i, (name, m) in
              enumerate(zip(["H100", "MI300X", "TPU v5e", "TPU v5p", "xPU-A", "xPU-B"], "ox+*#%", strict=True))}  # fmt: skip
    same = [("s4", "s5", 1)]
    fitted = legend_text(styles, same, 78)
    assert "\n" not in fitted.plain and fitted.cell_len <= 78
    assert "= xPU-A = xPU-B at 1 point" in fitted.plain
    assert "@ selected" in legend_text(styles, same, 198).plain  # room: the full legend
    narrow = legend_text(styles, same, 40).plain.split("\n")
    assert all(len(line) <= 40 for line in narrow) and len(narrow) > 1
    assert "= xPU-A = xPU-B at 1 point" in narrow  # a whole item on its own line


def test_phase_comes_early_in_the_configs_table():
    from coview.tui.configs import TABLE_COLUMNS

    assert TABLE_COLUMNS.index("phase") < TABLE_COLUMNS.index("latency_s")
    assert TABLE_COLUMNS.index("phase") < TABLE_COLUMNS.index("throughput_tok_per_s")
