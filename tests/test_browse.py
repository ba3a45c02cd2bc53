"""store/browse.py: the TUI's read-only queries (paging with LIMIT n+1, filters, drill-down)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tui_fakes import build_demo_store  # noqa: E402

from coview.store.browse import (  # noqa: E402
    Browser,
    Filters,
    Page,
    SearchError,
    class_breakdown,
    operator_diff,
)
from coview.store.db import StoreError  # noqa: E402


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Browser:
    path = build_demo_store(tmp_path_factory.mktemp("browse") / "demo.duckdb", lengths=2)
    b = Browser(path)
    yield b
    b.close()


def test_summary_reads_systems_phases_dtypes(browser):
    s = browser.summary()
    assert s.sweep_id == "demo"
    assert [x.name for x in s.systems] == ["H100", "MI300X", "TPU v5e", "TPU v5p", "xPU-A", "xPU-B"]
    assert s.phases == ["prefill", "decode"]
    assert s.dtypes == ["bf16", "int8"]
    assert s.n_configs == 6 * 2 * 5 * 3 * 2 * 2
    assert s.model == "Llama-2-70B"


def test_paging_uses_limit_plus_one(browser):
    f = Filters(sweep_id="demo", phase="decode")
    total = browser.count_configs(f)
    assert total == 360
    first = browser.page_configs(f, limit=200)
    assert len(first.rows) == 200 and first.has_more
    assert first.label() == "rows 1-200 of >200"
    assert first.label(total) == "rows 1-200 of 360"
    second = browser.page_configs(f, offset=200, limit=200)
    assert len(second.rows) == 160 and not second.has_more
    ids = {r["config_id"] for r in first.rows} | {r["config_id"] for r in second.rows}
    assert len(ids) == 360  # pages do not overlap
    exact = browser.page_configs(f, offset=160, limit=200)
    assert not exact.has_more and len(exact.rows) == 200


def test_sort_any_column_both_ways(browser):
    f = Filters(sweep_id="demo")
    for col in ("latency_s", "system", "batch_size", "usd_per_1m_tokens"):
        asc = [r[col] for r in browser.page_configs(f, sort=col, descending=False, limit=50).rows]
        desc = [r[col] for r in browser.page_configs(f, sort=col, descending=True, limit=50).rows]
        assert asc == sorted(asc)
        assert desc == sorted(desc, reverse=True)
    with pytest.raises(ValueError, match="cannot sort"):
        browser.page_configs(f, sort="1; DROP TABLE configs")


def test_filters_and_search(browser):
    f = Filters(sweep_id="demo", systems=("xpu-b",), dtype="int8", pareto_only=True)
    rows = browser.page_configs(f).rows
    assert rows and all(
        r["system"] == "xPU-B" and r["weight_dtype"] == "int8" and r["is_pareto"] for r in rows
    )
    rows = browser.page_configs(Filters(search="tpu tp=8 decode")).rows
    assert rows and all(
        r["system"].startswith("TPU") and r["tp"] == 8 and r["phase"] == "decode" for r in rows
    )
    # search values are bound parameters, never spliced into SQL
    assert browser.page_configs(Filters(search="x'); DROP TABLE configs; --")).rows == []
    assert browser.count_configs(Filters()) == 720
    with pytest.raises(SearchError, match="unknown search key"):
        browser.page_configs(Filters(search="colour=red"))
    with pytest.raises(SearchError, match="whole number"):
        browser.page_configs(Filters(search="tp=eight"))
    assert browser.page_configs(Filters(systems=())).rows == []


def test_plot_data_frontiers_sorted_and_others_capped(browser):
    data = browser.plot_data(Filters(sweep_id="demo", phase="decode"), max_others=10)
    assert set(data.frontiers) == {"h100", "mi300x", "tpu-v5e", "tpu-v5p", "xpu-a", "xpu-b"}
    for pts in data.frontiers.values():
        lats = [p.latency_s for p in pts]
        assert lats == sorted(lats) and all(p.is_pareto for p in pts)
    assert sum(len(v) for v in data.others.values()) == 10 and data.sampled


def test_position_of_matches_paging(browser):
    f = Filters(sweep_id="demo", phase="decode")
    page = browser.page_configs(f, offset=200, limit=200)
    target = page.rows[17]["config_id"]
    assert browser.position_of(target, f) == 217
    assert browser.position_of(10**9, f) is None


def test_config_operators_compare(browser):
    best = browser.best_per_system(Filters(sweep_id="demo", phase="decode"))
    assert len(best) == 6
    assert best == sorted(best, key=lambda r: -r["perf_per_tco"])
    cid = best[0]["config_id"]
    cfg = browser.config(cid)
    assert cfg["config_id"] == cid and cfg["system"] == best[0]["system"]
    ops = browser.operators(cid)
    assert [o["op_index"] for o in ops] == list(range(12))
    cands = browser.compare_candidates(cid)
    assert len(cands) == 5 and cfg["system_id"] not in {c["system_id"] for c in cands}
    other = browser.config(cands[0]["config_id"])
    assert (other["phase"], other["batch_size"], other["tp"]) == (
        cfg["phase"],
        cfg["batch_size"],
        cfg["tp"],
    )
    diff = operator_diff(ops, browser.operators(other["config_id"]))
    assert len(diff) == 12 and all(d["ratio"] is not None for d in diff if d["time_a"])
    shares = class_breakdown(ops)
    assert set(shares) == {"gemm", "attention", "norm", "collective"}
    assert list(shares.values()) == sorted(shares.values(), reverse=True)
    assert browser.config(10**9) is None


def test_missing_or_foreign_store_says_what_to_do(tmp_path):
    with pytest.raises(StoreError, match="coview ingest"):
        Browser(tmp_path / "nope.duckdb")
    import duckdb

    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    with pytest.raises(StoreError, match="not a coview store"):
        Browser(tmp_path / "empty.duckdb").summary()


def test_page_label_empty():
    assert Page(columns=[], rows=[], offset=0, has_more=False).label() == "no rows"


def test_sample_store_summary_does_not_need_operators(sample_store):
    b = Browser(sample_store)
    s = b.summary()
    assert len(s.systems) == 6 and s.n_configs > 0
    page = b.page_configs(Filters(sweep_id=s.sweep_id), limit=20)
    assert len(page.rows) == 20


def test_best_per_system_and_plot_only_offer_configs_that_fit(sample_store):
    """A config that does not fit in memory is never offered as a system's best point."""
    import duckdb

    b = Browser(sample_store)
    best = b.best_per_system(Filters(phase="decode"))
    con = duckdb.connect(str(sample_store), read_only=True)
    fits = dict(con.execute("SELECT config_id, fits_memory FROM configs").fetchall())
    expected = dict(
        con.execute(
            "SELECT system_id, max(perf_per_tco) FROM configs "
            "WHERE phase = 'decode' AND fits_memory GROUP BY system_id"
        ).fetchall()
    )
    assert len(best) == len(expected)
    for row in best:
        assert fits[row["config_id"]] is True
        assert row["perf_per_tco"] == expected[row["system_id"]]
    data = b.plot_data(Filters(phase="decode"))
    shown = [p.config_id for pts in data.others.values() for p in pts]
    assert shown and all(fits[c] for c in shown)
