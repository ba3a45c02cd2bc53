"""The plot's simulator overlay (v): one system's frontier from each simulator of the store.

The two-simulator store holds the bundled sample sweep and a copy of it renamed to another
sweep whose simulator is 'genz' and whose latencies are 1.25x (perf/TCO / 1.25), so the two
frontiers differ by a known factor.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tui_fakes import FakePipeline  # noqa: E402

from coview.config import Settings  # noqa: E402
from coview.store.browse import Browser  # noqa: E402
from coview.tui.app import CoviewApp  # noqa: E402
from coview.tui.plot import SIM_MARKERS, PlotPane  # noqa: E402

pytestmark = pytest.mark.anyio

SLOWER = 1.25  # the copy's latency factor


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def two_sim_store(tmp_path_factory) -> Path:
    """The sample sweep plus a 'genz' copy of it (other sweep_id and config_ids)."""
    from coview.sample_data import DEFAULT_SWEEP
    from coview.store.ingest import ingest

    base = tmp_path_factory.mktemp("simcompare")
    src, copy = Path(DEFAULT_SWEEP), base / "copy"
    copy.mkdir()
    con = duckdb.connect()
    sweep = "'sample-as-genz'"
    con.execute(
        f"COPY (SELECT * REPLACE ({sweep} AS sweep_id, 'genz' AS simulator) "
        f"FROM '{src}/sweeps.parquet') TO '{copy}/sweeps.parquet'"
    )
    con.execute(
        f"COPY (SELECT * REPLACE ({sweep} AS sweep_id, config_id + 100000 AS config_id, "
        f"latency_s * {SLOWER} AS latency_s, perf_per_tco / {SLOWER} AS perf_per_tco) "
        f"FROM '{src}/configs.parquet') TO '{copy}/configs.parquet'"
    )
    con.execute(
        f"COPY (SELECT * REPLACE (config_id + 100000 AS config_id) "
        f"FROM '{src}/operators.parquet') TO '{copy}/operators.parquet'"
    )
    for table in ("systems", "models"):
        con.execute(f"COPY (SELECT * FROM '{src}/{table}.parquet') TO '{copy}/{table}.parquet'")
    con.close()
    path = base / "two-sims.duckdb"
    ingest([src], path, fmt="native", progress=False)
    ingest([copy], path, fmt="native", progress=False)
    return path


def make_app(store: Path) -> CoviewApp:
    pipe = FakePipeline()
    return CoviewApp(store, settings=Settings(), pipeline_factory=lambda: pipe)


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_browser_overlay_gives_each_simulators_frontier(two_sim_store):
    b = Browser(two_sim_store)
    try:
        by_id = b.simulator_overlay("h100", "decode")
        by_name = b.simulator_overlay("H100", "decode")
    finally:
        b.close()
    assert by_id.system == "H100" and by_id.simulators == ["coview-roofline", "genz"]
    assert set(by_id.frontiers) == {"coview-roofline", "genz"}
    native, genz = by_id.frontiers["coview-roofline"], by_id.frontiers["genz"]
    assert native and len(native) == len(genz)
    assert all(p.config_id < 100000 for p in native) and all(p.config_id > 100000 for p in genz)
    for a, g in zip(native, genz, strict=True):
        assert g.latency_s == pytest.approx(a.latency_s * SLOWER)
        assert g.perf_per_tco == pytest.approx(a.perf_per_tco / SLOWER)
    assert [p.latency_s for p in native] == sorted(p.latency_s for p in native)
    assert by_name.frontiers.keys() == by_id.frontiers.keys()


async def test_v_overlays_both_simulators_and_v_again_goes_back(two_sim_store):
    app = make_app(two_sim_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.query_one("#pane-plot", PlotPane)
        plot = pane.plot
        systems_legend = pane.legend.plain
        sid = plot.current_system()
        name = app.sys_styles[sid].name
        await pilot.press("v")
        await settle(pilot)
        overlay = plot.overlay
        assert overlay is not None and overlay.system == name
        assert set(overlay.frontiers) == {"coview-roofline", "genz"}
        assert f"{name} · coview-roofline {SIM_MARKERS[0]}" in pane.shown_legend
        assert f"{name} · genz {SIM_MARKERS[1]}" in pane.shown_legend
        assert "coview-roofline" in pane.status_text and "genz" in pane.status_text
        # down: the next system's frontiers, still from both simulators
        await pilot.press("down")
        await settle(pilot)
        other = app.sys_styles[plot.current_system()].name
        assert other != name and plot.overlay is not None and plot.overlay.system == other
        assert f"{other} · genz {SIM_MARKERS[1]}" in pane.shown_legend
        await pilot.press("v")
        await settle(pilot)
        assert plot.overlay is None and not plot.overlay_on
        assert pane.shown_legend == systems_legend


async def test_v_on_a_one_simulator_store_says_so(sample_store):
    app = make_app(sample_store)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        pane = app.query_one("#pane-plot", PlotPane)
        await pilot.press("v")
        await settle(pilot)
        assert pane.plot.overlay is None and not pane.plot.overlay_on
        assert pane.status_text.startswith("one simulator in this store (coview-roofline)")
