"""coview insights: findings with SQL, rows and a question on both samples, lint first, and
each claim checked against independent SQL."""

from __future__ import annotations

import json
import math

import duckdb
import pytest
from typer.testing import CliRunner

from coview.cli import app
from coview.engine.analysis import open_read_only
from coview.engine.insights import insights, insights_for_store
from coview.sample_data import MISMATCH_SWEEP
from coview.store.ingest import ingest

KEYS = {"title", "detail", "sql", "rows", "question"}


@pytest.fixture(scope="module")
def mismatch_store(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("mm-ins") / "mm.duckdb"
    ingest([MISMATCH_SWEEP], path, fmt="native", progress=False)
    return str(path)


@pytest.fixture(scope="module")
def sample_findings(sample_store):
    con = open_read_only(sample_store)
    found = insights(con)
    con.close()
    return found


def _json(store):
    res = CliRunner().invoke(app, ["insights", "--store", str(store), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.output)["findings"]


@pytest.mark.parametrize("which", ["sample", "mismatch"])
def test_cli_json_contract_on_both_samples(which, sample_store, mismatch_store):
    findings = _json(sample_store if which == "sample" else mismatch_store)
    assert findings
    for f in findings:
        assert KEYS <= set(f)
        assert f["title"] and f["detail"] and f["question"].strip()
        assert f["sql"] and all(isinstance(s, str) and s for s in f["sql"])
        assert isinstance(f["rows"], list)


def test_mismatch_lint_finding_ranks_first(mismatch_store):
    findings = _json(mismatch_store)
    assert findings[0]["kind"] == "lint.not_comparable"
    assert "act_dtype" in findings[0]["title"]


def test_ranking_and_every_sql_runs(sample_store, sample_findings):
    scores = [f.score for f in sample_findings]
    assert scores == sorted(scores, reverse=True)
    con = open_read_only(sample_store)
    for f in sample_findings:
        for sql in f.sql:
            con.execute(sql).fetchall()  # the displayed SQL is runnable as shown
    con.close()


def test_operator_outliers_match_independent_sql(sample_store, sample_findings):
    outs = [f for f in sample_findings if f.kind == "insight.operator_difference"]
    assert outs
    raw = duckdb.connect(str(sample_store), read_only=True)
    for f in outs:
        ca, cb, op = f.facts["config_a"], f.facts["config_b"], f.facts["op_type"]
        ta, tb = raw.execute(
            "SELECT sum(roofline_time_s * count) FILTER (WHERE config_id = $a), "
            "sum(roofline_time_s * count) FILTER (WHERE config_id = $b) FROM operators "
            "WHERE op_type = $op",
            {"a": ca, "b": cb, "op": op},
        ).fetchone()
        la, lb = raw.execute(
            "SELECT (SELECT latency_s FROM configs WHERE config_id = $a), "
            "(SELECT latency_s FROM configs WHERE config_id = $b)",
            {"a": ca, "b": cb},
        ).fetchone()
        assert f.facts["op_ratio"] == pytest.approx(max(ta, tb) / min(ta, tb))
        assert f.facts["step_ratio"] == pytest.approx(max(la, lb) / min(la, lb))
        # an outlier: the operator's ratio exceeds the whole step's
        assert math.log(f.facts["op_ratio"]) > math.log(f.facts["step_ratio"])
        assert op in f.question
    raw.close()


def test_frontier_dominance_claims_hold(sample_store, sample_findings):
    doms = [f for f in sample_findings if f.kind == "insight.frontier_dominance"]
    assert doms
    raw = duckdb.connect(str(sample_store), read_only=True)
    front = raw.execute(
        "SELECT c.sweep_id, c.model_id, c.phase, s.name, c.latency_s, c.perf_per_tco "
        "FROM configs c JOIN systems s USING (system_id) WHERE c.is_pareto"
    ).fetchall()
    raw.close()
    for f in doms:
        key = (f.facts["sweep_id"], f.facts["model_id"], f.facts["phase"])
        pts = [r for r in front if r[:3] == key]
        for p in f.facts["pairs"]:
            xs = [r for r in pts if r[3] == p["dominating"]]
            ys = [r for r in pts if r[3] == p["dominated"]]
            dominated = [
                y
                for y in ys
                if any(x[4] <= y[4] and x[5] >= y[5] and (x[4] < y[4] or x[5] > y[5]) for x in xs)
            ]
            assert p["dominated_points"] == len(dominated)
            assert p["frontier_points"] == len(ys)


def test_memory_cliffs_match_independent_sql(sample_store, sample_findings):
    cliffs = [f for f in sample_findings if f.kind == "insight.memory_cliff"]
    raw = duckdb.connect(str(sample_store), read_only=True)
    n = raw.execute(
        "SELECT count(*) FROM (SELECT system_id FROM configs GROUP BY system_id, sweep_id, phase, "
        "weight_dtype, tp HAVING bool_or(fits_memory) AND bool_or(NOT fits_memory))"
    ).fetchone()[0]
    assert sum(len(f.facts["cliffs"]) for f in cliffs) <= n
    for f in cliffs:
        for c in f.facts["cliffs"]:
            fits = dict(
                raw.execute(
                    "SELECT batch_size, fits_memory FROM configs WHERE sweep_id = ? "
                    "AND system_id = ? AND phase = ? AND weight_dtype = ? AND tp = ?",
                    [c["sweep_id"], c["system_id"], c["phase"], c["weight_dtype"], c["tp"]],
                ).fetchall()
            )
            assert c["largest_fitting_batch"] == max(b for b, ok in fits.items() if ok)
            above = [b for b, ok in fits.items() if not ok and b > c["largest_fitting_batch"]]
            assert c["first_failing_batch"] == min(above)
    raw.close()


def test_compute_bound_turning_points(sample_store, sample_findings):
    cb = [f for f in sample_findings if f.kind == "insight.decode_compute_bound"]
    assert cb
    raw = duckdb.connect(str(sample_store), read_only=True)
    for f in cb:
        for r in f.facts["by_dtype_tp"]:
            shares = raw.execute(
                "SELECT c.batch_size, sum(o.roofline_time_s * o.count) FILTER (WHERE o.bound = "
                "'compute') / sum(o.roofline_time_s * o.count) FROM configs c JOIN operators o "
                "USING (config_id) WHERE c.phase = 'decode' AND c.sweep_id = ? AND c.system_id = ? "
                "AND c.weight_dtype = ? AND c.tp = ? GROUP BY 1",
                [r["sweep_id"], r["system_id"], r["weight_dtype"], r["tp"]],
            ).fetchall()
            over = [b for b, s in shares if (s or 0) > 0.5]
            assert r["first_compute_bound_batch"] == (min(over) if over else None)
    raw.close()


def test_insights_for_store_gives_contract_dicts(mismatch_store):
    found = insights_for_store(mismatch_store, limit=2)
    assert len(found) == 2 and all(KEYS <= set(f) for f in found)


def test_dominance_between_non_comparable_systems_carries_a_caveat(mismatch_store):
    findings = _json(mismatch_store)
    flagged = [f for f in findings if f["kind"] == "lint.not_comparable"]
    doms = [f for f in findings if f["kind"] == "insight.frontier_dominance"]
    assert flagged and doms
    for f in doms:
        assert "not comparable" in f["detail"]
