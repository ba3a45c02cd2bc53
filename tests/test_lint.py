"""coview lint: flags the planted mismatch, nothing on the clean sample, each planted row
problem as exactly its own finding; the same checks for one comparison."""

from __future__ import annotations

import json
import re

import duckdb
import pytest
from typer.testing import CliRunner

from coview.cli import app
from coview.engine.analysis import open_read_only
from coview.engine.lint import lint_comparison, lint_store
from coview.sample_data import MISMATCH_SWEEP
from coview.store.ingest import ingest
from tests.analysis_fixtures import build_store, consistent_tables

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def mismatch_store(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("mm") / "mm.duckdb"
    ingest([MISMATCH_SWEEP], path, fmt="native", progress=False)
    return str(path)


def _kinds(store) -> set[str]:
    con = open_read_only(store)
    try:
        return {f.kind for f in lint_store(con)}
    finally:
        con.close()


def test_cli_flags_the_mismatch_sweep_with_the_differing_field(mismatch_store):
    res = CliRunner().invoke(app, ["lint", "--store", mismatch_store, "--json"])
    assert res.exit_code == 1, res.output
    findings = json.loads(res.output)["findings"]
    mism = [f for f in findings if f["kind"] == "lint.not_comparable"]
    assert len(mism) == 1
    # expected from the data itself: the dtype fields on which the two systems' configs differ
    con = duckdb.connect(mismatch_store, read_only=True)
    differing = [
        col
        for col in ("weight_dtype", "act_dtype", "kv_dtype", "input_len", "output_len")
        if con.execute(f"SELECT count(DISTINCT {col}) FROM configs").fetchone()[0] > 1
    ]
    per_system = dict(
        con.execute("SELECT system_id, any_value(act_dtype) FROM configs GROUP BY 1").fetchall()
    )
    con.close()
    assert mism[0]["facts"]["fields"] == differing == ["act_dtype"]
    assert mism[0]["facts"]["values"]["act_dtype"] == [sorted(per_system.values())]
    assert mism[0]["sql"] and mism[0]["rows"] and mism[0]["question"]
    text = CliRunner().invoke(app, ["lint", "--store", mismatch_store])
    assert text.exit_code == 1 and "act_dtype" in text.output


def test_cli_is_clean_on_the_sample_even_though_dtype_coverage_differs(sample_store):
    # The clean sample has systems with fewer dtypes than others (no fp8 peak): one-sided
    # coverage is not a mismatch. Make sure that situation is really in the data.
    con = duckdb.connect(str(sample_store), read_only=True)
    counts = [
        r[0]
        for r in con.execute(
            "SELECT count(DISTINCT weight_dtype) FROM configs GROUP BY system_id"
        ).fetchall()
    ]
    con.close()
    assert len(set(counts)) > 1
    res = CliRunner().invoke(app, ["lint", "--store", str(sample_store)])
    assert res.exit_code == 0, res.output
    assert "no problems" in res.output
    res = CliRunner().invoke(app, ["lint", "--store", str(sample_store), "--json"])
    assert res.exit_code == 0 and json.loads(res.output) == {"findings": []}


def test_unknown_sweep_is_a_clear_error(sample_store):
    res = CliRunner().invoke(app, ["lint", "--store", str(sample_store), "--sweep", "nope"])
    assert res.exit_code == 2
    assert "no sweep 'nope'" in res.output and "llama2-70b-serving" in res.output


def test_consistent_fixture_is_clean(tmp_path):
    assert _kinds(build_store(tmp_path, consistent_tables())) == set()


def _mutated(tmp_path, mutate):
    t = consistent_tables()
    mutate(t)
    return build_store(tmp_path, t)


def _updated(tmp_path, sql):
    """Ingest validates rows, so a broken store (another tool's, an old one) is made by hand."""
    store = build_store(tmp_path, consistent_tables())
    con = duckdb.connect(str(store))
    con.execute(sql)
    con.close()
    return store


def _act_dtype_b(t):
    for c in t["configs"]:
        if c["system_id"] == "sysB":
            c["act_dtype"] = "int8"


def _sim_version_b(t):
    for c in t["configs"]:
        c["simulator_version"] = "2" if c["system_id"] == "sysB" else "1"


FIRST_OP = "WHERE config_id = 1 AND op_index = 0"


@pytest.mark.parametrize(
    "sql, kind",
    [
        # bound names a smaller time
        (
            "UPDATE operators SET bound = CASE WHEN bound = 'comm' THEN 'compute' ELSE 'comm' END "
            + FIRST_OP,
            "lint.roofline",
        ),
        # roofline above the max of the three (latency adjusted so only this is wrong)
        (
            "UPDATE operators SET roofline_time_s = roofline_time_s * 1.5 "
            "WHERE config_id = 1 AND op_index = 0; UPDATE configs SET latency_s = latency_s * 2 "
            "WHERE config_id = 1",
            "lint.roofline",
        ),
        (
            "UPDATE configs SET latency_s = latency_s * 0.9 WHERE config_id = 1",
            "lint.latency_below_operators",
        ),
        (
            "UPDATE operators SET bytes_read = bytes_read * 1000 " + FIRST_OP,
            "lint.impossible_speed",
        ),
        (
            "UPDATE operators SET bytes_comm = bytes_comm * 1000 WHERE config_id = 1 AND op_index = 3",
            "lint.impossible_speed",
        ),
        (
            "UPDATE operators SET flops = flops * 1e4 WHERE config_id = 1 AND op_index = 1",
            "lint.utilisation",
        ),
        (
            "UPDATE configs SET total_flops = total_flops * 1e4 WHERE config_id = 1",
            "lint.utilisation",
        ),
    ],
)
def test_each_planted_row_problem_is_exactly_its_finding(tmp_path, sql, kind):
    assert _kinds(_updated(tmp_path, sql)) == {kind}


@pytest.mark.parametrize("mutate", [_act_dtype_b, _sim_version_b])
def test_systems_run_differently_are_not_comparable(tmp_path, mutate):
    assert _kinds(_mutated(tmp_path, mutate)) == {"lint.not_comparable"}


def test_extra_dtype_on_one_system_only_is_not_a_mismatch(tmp_path):
    def add_fp8(t):
        originals = [c for c in t["configs"] if c["system_id"] == "sysA"]
        for i, c in enumerate(originals):
            new_id = 100 + i
            t["configs"].append(
                dict(c, config_id=new_id, weight_dtype="fp8", act_dtype="fp8", kv_dtype="fp8")
            )
            t["operators"] += [
                dict(o, config_id=new_id)
                for o in t["operators"]
                if o["config_id"] == c["config_id"]
            ]

    assert _kinds(_mutated(tmp_path, add_fp8)) == set()


def test_pareto_flags_are_checked(tmp_path):
    store = build_store(tmp_path, consistent_tables())
    con = duckdb.connect(str(store))
    con.execute("UPDATE configs SET is_pareto = true WHERE NOT fits_memory")
    con.close()
    assert _kinds(store) == {"lint.pareto_not_fitting", "lint.pareto_stale"}


def test_sim_version_finding_names_the_field(tmp_path):
    con = open_read_only(_mutated(tmp_path, _sim_version_b))
    (f,) = lint_store(con)
    assert f.facts["fields"] == ["sim_version"]


def test_lint_comparison_by_configs_and_by_systems(mismatch_store, sample_store):
    con = open_read_only(mismatch_store)
    a, b = con.execute(
        "SELECT a.config_id, b.config_id FROM configs a JOIN configs b USING "
        "(phase, batch_size, tp) WHERE a.system_id < b.system_id ORDER BY 1, 2 LIMIT 1"
    ).fetchone()
    (f,) = lint_comparison(con, config_ids=[a, b])
    assert f.kind == "lint.not_comparable" and f.facts["fields"] == ["act_dtype"]
    names = [r[0] for r in con.execute("SELECT name FROM systems ORDER BY 1").fetchall()]
    assert [x.kind for x in lint_comparison(con, systems=names)] == ["lint.not_comparable"]
    con.close()
    con = open_read_only(sample_store)
    a, b = con.execute(
        "SELECT a.config_id, b.config_id FROM configs a JOIN configs b USING "
        "(phase, batch_size, tp, weight_dtype, act_dtype, kv_dtype) "
        "WHERE a.system_id < b.system_id ORDER BY 1, 2 LIMIT 1"
    ).fetchone()
    assert lint_comparison(con, config_ids=[a, b]) == []
    con.close()


def test_finding_sql_reproduces_its_rows(mismatch_store):
    con = open_read_only(mismatch_store)
    (f,) = lint_store(con)
    rerun = con.execute(f.sql[0])
    cols = [d[0] for d in rerun.description]
    assert [dict(zip(cols, r, strict=True)) for r in rerun.fetchall()] == f.rows
    con.close()


def test_hostile_system_names_are_cleaned(tmp_path):
    t = consistent_tables(("\x1b[31mEvil\x07 [bold]A[/bold]", "B\x1b]0;title\x07"))
    _act_dtype_b(t)
    store = build_store(tmp_path, t)
    res = CliRunner().invoke(app, ["lint", "--store", str(store), "--json"])
    assert res.exit_code == 1
    assert not CONTROL.search(json.loads(res.output)["findings"][0]["title"])
    assert "\\u001b" not in res.output and "\x1b" not in res.output
    text = CliRunner().invoke(app, ["lint", "--store", str(store), "--show-sql"])
    assert "\x1b" not in text.output and "\x07" not in text.output


def test_comparison_warnings_for_the_tui(mismatch_store, sample_store):
    from coview.engine.lint import comparison_warnings

    con = duckdb.connect(mismatch_store, read_only=True)
    names = [r[0] for r in con.execute("SELECT name FROM systems ORDER BY 1").fetchall()]
    con.close()
    (w,) = comparison_warnings(mismatch_store, systems=names)
    assert w["kind"] == "lint.not_comparable" and w["title"] and w["sql"]
    con = duckdb.connect(str(sample_store), read_only=True)
    names = [r[0] for r in con.execute("SELECT name FROM systems ORDER BY 1 LIMIT 2").fetchall()]
    con.close()
    assert comparison_warnings(sample_store, systems=names) == []
