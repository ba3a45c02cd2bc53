"""The detail pane's what-if (issue 9 item 3): `w`, a change in `coview whatif --set`
syntax, and the config re-simulated beside the stored rows, labelled as simulated.

The reference for every number is coview.engine.whatif run independently on the same store
and the store's own operator rows (through coview.store.browse), never a typed-in figure.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import duckdb
import pytest
from textual.widgets import DataTable, Static

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tui_fakes import FakePipeline, build_demo_store  # noqa: E402

from coview.config import Settings  # noqa: E402
from coview.engine.whatif import parse_changes, whatif  # noqa: E402
from coview.store.browse import Browser  # noqa: E402
from coview.tui import fmt  # noqa: E402
from coview.tui.app import CoviewApp  # noqa: E402
from coview.tui.whatif import BADGE, WhatIfInput  # noqa: E402

pytestmark = pytest.mark.anyio

CHANGE = "sram_bytes=*1.07, hbm_bw_bytes_per_s=3.2e12"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    """A coview-roofline sweep with no stored spec (sweeps.sim_spec NULL)."""
    return build_demo_store(tmp_path_factory.mktemp("wi") / "demo.duckdb")


@pytest.fixture(scope="module")
def other_sim_store(tmp_path_factory, demo_store) -> Path:
    """The demo store as if another simulator had produced it."""
    path = tmp_path_factory.mktemp("wi-other") / "genz.duckdb"
    shutil.copy(demo_store, path)
    con = duckdb.connect(str(path))
    con.execute("UPDATE sweeps SET simulator = 'genz-llm'")
    con.close()
    return path


def headline(store: Path) -> dict:
    """xPU-B's decode b8 TP8 int8 config, read through the browse API."""
    browser = Browser(store)
    rows = browser.page_configs(browser_filters(browser), limit=2000).rows
    row = next(
        r
        for r in rows
        if r["system"] == "xPU-B"
        and r["phase"] == "decode"
        and r["batch_size"] == 8
        and r["tp"] == 8
        and r["weight_dtype"] == "int8"
    )
    return browser.config(row["config_id"])


def browser_filters(browser: Browser):
    from coview.store.browse import Filters

    return Filters(sweep_id=browser.summary().sweep_id)


def make_app(store: Path) -> CoviewApp:
    pipe = FakePipeline()
    return CoviewApp(store, settings=Settings(), pipeline_factory=lambda: pipe)


async def settle(pilot) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


async def type_text(pilot, text: str) -> None:
    for ch in text:
        await pilot.press("space" if ch == " " else ch)


async def open_whatif(pilot, app: CoviewApp, config_id: int, change: str) -> None:
    await settle(pilot)
    app.drill(config_id)
    await settle(pilot)
    await pilot.press("w")
    await pilot.pause()
    assert isinstance(app.focused, WhatIfInput)
    await type_text(pilot, change)
    await pilot.press("enter")
    await settle(pilot)


def text_of(app: CoviewApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def test_w_shows_the_simulated_config_beside_the_stored_one(sample_store):
    cfg = headline(sample_store)
    expected = whatif(
        sample_store,
        cfg["system_id"],
        parse_changes(CHANGE),
        filters={"config_id": cfg["config_id"]},
        sweep_id=cfg["sweep_id"],
    )
    stored_ops = Browser(sample_store).operators(cfg["config_id"])
    app = make_app(sample_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_whatif(pilot, app, cfg["config_id"], CHANGE)
        title = text_of(app, "#whatif-title")
        assert BADGE.strip() in title
        assert f"simulated: {CHANGE} on #{cfg['config_id']}" in title
        assert expected.label in title
        base, sim = expected.configs[0]["baseline"], expected.configs[0]["whatif"]
        assert f"latency {fmt.ms(base['latency_s'])} → {fmt.ms(sim['latency_s'])} ms" in title
        table = app.query_one("#whatif-table", DataTable)
        assert table.display and table.row_count == len(stored_ops) > 0
        labels = [str(c.label) for c in table.columns.values()]
        assert labels[:4] == ["op", "change", "stored µs/step", "sim µs/step"]
        sims = {o["op_type"]: o["whatif"] for o in expected.operators}
        for i, op in enumerate(stored_ops):
            row = [str(c) for c in table.get_row_at(i)]
            assert row[0].strip().lstrip("> ").strip() == op["op_type"]
            assert row[2] == fmt.us(op["roofline_time_s"] * op["count"])  # the stored row
            s = sims[op["op_type"]]
            assert row[3] == fmt.us(s["roofline_time_s"] * s["count"])  # the simulation
        # the stored operator table is still there, and says it holds the stored rows
        assert app.query_one("#detail-ops", DataTable).row_count == len(stored_ops)
        assert "stored rows (not the what-if)" in text_of(app, "#ops-note")
        assert not app.query_one("#whatif-ask").display  # the input closed on success


async def test_bad_input_names_the_problem_and_keeps_the_input_open(sample_store):
    cfg = headline(sample_store)
    app = make_app(sample_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_whatif(pilot, app, cfg["config_id"], "sram=*2")
        status = text_of(app, "#whatif-status")
        assert "what-if not run" in status and "cannot change 'sram'" in status
        assert "sram_bytes" in status  # says what can be changed
        assert not app.query_one("#whatif-title").display
        assert app.query_one("#whatif-ask").display
        await pilot.press("escape")  # Esc closes the input, back in the detail view
        await pilot.pause()
        assert not app.query_one("#whatif-ask").display
        assert app.current_pane() == "detail"


@pytest.mark.parametrize(
    ("store_fixture", "reason"),
    [
        ("other_sim_store", "produced by genz-llm, not by coview's own roofline model"),
        ("demo_store", "carries no stored spec"),
    ],
)
async def test_a_sweep_coview_cannot_resimulate_gets_the_engines_reason(
    request, store_fixture, reason
):
    store = request.getfixturevalue(store_fixture)
    app = make_app(store)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f3", "enter")
        await settle(pilot)
        await pilot.press("w")
        await pilot.pause()
        await type_text(pilot, "sram_bytes=*1.07")
        await pilot.press("enter")
        await settle(pilot)
        status = text_of(app, "#whatif-status").replace("\n", " ")
        assert "what-if not run" in status and reason in status
        assert not app.query_one("#whatif-title").display  # nothing passes for a result


async def test_the_whatif_is_saved_in_the_session_and_exported(sample_store):
    from coview.store.sessions import export_markdown, load_session

    cfg = headline(sample_store)
    app = make_app(sample_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_whatif(pilot, app, cfg["config_id"], CHANGE)
        await settle(pilot)
        saved = load_session(str(app._session.path))
    assert [w["config_id"] for w in saved.whatifs] == [cfg["config_id"]]
    record = saved.whatifs[0]
    assert record["change"] == CHANGE and record["label"].startswith("simulated by")
    assert len(record["operators"]) == len(Browser(sample_store).operators(cfg["config_id"]))
    md = export_markdown(saved)
    assert "## What-ifs (simulated)" in md
    assert f"**Simulated, not stored data:** {record['label']}" in md
    assert f"### 1. config {cfg['config_id']}: {CHANGE}" in md


async def test_a_new_config_or_esc_clears_the_whatif(sample_store):
    cfg = headline(sample_store)
    app = make_app(sample_store)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_whatif(pilot, app, cfg["config_id"], "sram_bytes=*2")
        assert app.query_one("#whatif-title").display
        await pilot.press("escape")
        await pilot.pause()
        assert not app.query_one("#whatif").display
        assert "stored rows" not in text_of(app, "#ops-note")
