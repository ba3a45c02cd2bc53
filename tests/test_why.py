"""Stage 2 decompositions: every figure checked against independent SQL on the same store."""

from __future__ import annotations

import json
import math

import duckdb
import pytest

from coview.engine import why
from coview.engine.analysis import AnalysisError, open_read_only
from coview.sample_data import MISMATCH_SWEEP
from coview.store.ingest import ingest
from tests.analysis_fixtures import build_store, consistent_tables

MATCH = (
    "a.sweep_id = b.sweep_id AND a.model_id = b.model_id AND a.phase = b.phase AND "
    "a.batch_size = b.batch_size AND a.tp = b.tp AND a.weight_dtype = b.weight_dtype AND "
    "a.act_dtype = b.act_dtype AND a.kv_dtype = b.kv_dtype AND a.input_len = b.input_len AND "
    "a.output_len = b.output_len AND a.pp IS NOT DISTINCT FROM b.pp"
)


@pytest.fixture(scope="module")
def con(sample_store):
    c = open_read_only(sample_store)
    yield c
    c.close()


@pytest.fixture(scope="module")
def raw(sample_store):
    c = duckdb.connect(str(sample_store), read_only=True)
    yield c
    c.close()


@pytest.fixture(scope="module")
def pair(raw):
    """Two systems of the sample with the most matched configs (no names hard-coded)."""
    return raw.execute(
        f"SELECT a.system_id, b.system_id, count(*) n FROM configs a JOIN configs b ON {MATCH} "
        "AND a.system_id < b.system_id WHERE a.fits_memory AND b.fits_memory "
        "GROUP BY ALL ORDER BY n DESC, 1, 2 LIMIT 1"
    ).fetchone()[:2]


def test_compare_systems_counts_match_independent_sql(con, raw, pair):
    sa, sb = pair
    exp = why.compare_systems(con, sa, sb, "latency_s")
    rows = raw.execute(
        f"SELECT a.latency_s, b.latency_s FROM configs a JOIN configs b ON {MATCH} "
        "WHERE a.system_id = ? AND b.system_id = ? AND a.fits_memory AND b.fits_memory",
        [sa, sb],
    ).fetchall()
    assert exp.facts["matched"] == len(rows) > 0
    tie = [r for r in rows if abs(r[1] - r[0]) <= 1e-9 * max(r)]
    a_wins = [r for r in rows if r not in tie and r[0] < r[1]]
    assert exp.facts["equal"] == len(tie)
    assert exp.facts["a_better"] == len(a_wins)
    assert exp.facts["b_better"] == len(rows) - len(tie) - len(a_wins)
    ratios = sorted(b / a for a, b in rows)
    assert exp.facts["ratio_b_over_a"]["max"] == pytest.approx(ratios[-1])
    assert exp.sql and exp.rows and exp.summary


def test_explain_systems_picks_the_largest_difference_and_decomposes_it(con, raw, pair):
    sa, sb = pair
    exp = why.explain_systems(con, sa, sb, "latency")
    pairs = raw.execute(
        f"SELECT a.config_id, b.config_id, abs(ln(b.latency_s / a.latency_s)) d "
        f"FROM configs a JOIN configs b ON {MATCH} WHERE a.system_id = ? AND b.system_id = ? "
        "AND a.fits_memory AND b.fits_memory ORDER BY d DESC",
        [sa, sb],
    ).fetchall()
    assert (exp.facts["config_a"], exp.facts["config_b"]) in [(p[0], p[1]) for p in pairs]
    top = pairs[0][2]
    got = abs(math.log(exp.facts["value_b_s"] / exp.facts["value_a_s"]))
    assert got == pytest.approx(top)
    ca, cb = exp.facts["config_a"], exp.facts["config_b"]
    ops = raw.execute(
        "SELECT op_type, sum(roofline_time_s * count) FILTER (WHERE config_id = ?) "
        " - sum(roofline_time_s * count) FILTER (WHERE config_id = ?) AS delta, "
        " string_agg(DISTINCT weights_location, ',') FILTER (WHERE config_id = ?) la, "
        " string_agg(DISTINCT weights_location, ',') FILTER (WHERE config_id = ?) lb "
        "FROM operators WHERE config_id IN (?, ?) GROUP BY op_type ORDER BY abs(delta) DESC",
        [cb, ca, ca, cb, ca, cb],
    ).fetchall()
    first = exp.facts["operators"][0]
    assert first["delta_s"] == pytest.approx(ops[0][1])
    causes = {c["cause"] for c in first["causes"]}
    by_op = {o[0]: o for o in ops}
    assert ("weights_location" in causes) == (
        by_op[first["op_type"]][2] != by_op[first["op_type"]][3]
    )
    latency_delta = exp.facts["value_b_s"] - exp.facts["value_a_s"]
    assert exp.facts["operators_difference_s"] == pytest.approx(sum(o[1] for o in ops))
    assert exp.facts["difference_s"] == pytest.approx(latency_delta)


def test_weights_location_cause_uses_sram_needed_or_falls_back(tmp_path):
    t = consistent_tables()
    store = build_store(tmp_path / "with", t)
    con = open_read_only(store)
    ids = con.execute(
        "SELECT a.config_id, b.config_id FROM configs a JOIN configs b USING (phase, batch_size) "
        "WHERE a.system_id = 'sysA' AND b.system_id = 'sysB' AND a.phase = 'decode' "
        "ORDER BY a.batch_size LIMIT 1"
    ).fetchone()
    exp = why.explain_difference(con, *ids, "operator", "q_proj")
    (cause,) = [c for c in exp.facts["operators"][0]["causes"] if c["cause"] == "weights_location"]
    needed, sram_a, sram_b = con.execute(
        "SELECT json_extract(o.extra, '$.sram_needed_bytes')::DOUBLE, "
        "(SELECT sram_bytes FROM systems WHERE system_id = 'sysA'), "
        "(SELECT sram_bytes FROM systems WHERE system_id = 'sysB') "
        "FROM operators o WHERE config_id = ? AND op_type = 'q_proj'",
        [ids[0]],
    ).fetchone()
    con.close()
    assert (cause["a"], cause["b"]) == ("sram", "hbm")
    assert cause["needed_bytes_b"] == needed
    assert cause["needed_source_b"] == "operators.extra.sram_needed_bytes"
    assert cause["shortfall_bytes_b"] == pytest.approx(max(0.0, needed - sram_b))
    assert cause["shortfall_bytes_a"] == pytest.approx(max(0.0, needed - sram_a))
    assert "SRAM" in exp.summary

    for o in t["operators"]:
        o.pop("sram_needed_bytes", None)
    con = open_read_only(build_store(tmp_path / "without", t))
    exp = why.explain_difference(con, *ids, "operator", "q_proj")
    (cause,) = [c for c in exp.facts["operators"][0]["causes"] if c["cause"] == "weights_location"]
    weights = con.execute(
        "SELECT bytes_weight * count FROM operators WHERE config_id = ? AND op_type = 'q_proj'",
        [ids[1]],
    ).fetchone()[0]
    con.close()
    assert cause["needed_bytes_b"] == weights
    assert cause["needed_source_b"].startswith("bytes_weight x count")


def test_dtype_difference_is_a_cause_and_lint_warns(tmp_path):
    path = tmp_path / "mm.duckdb"
    ingest([MISMATCH_SWEEP], path, fmt="native", progress=False)
    con = open_read_only(path)
    systems = [r[0] for r in con.execute("SELECT system_id FROM systems ORDER BY 1").fetchall()]
    matched = why.compare_systems(con, *systems)
    assert matched.facts["matched"] == 0
    assert [w.kind for w in matched.warnings] == ["lint.not_comparable"]
    a, b = con.execute(
        "SELECT a.config_id, b.config_id FROM configs a JOIN configs b USING (phase, batch_size, tp) "
        "WHERE a.system_id = ? AND b.system_id = ? ORDER BY 1 LIMIT 1",
        systems,
    ).fetchone()
    exp = why.explain_difference(con, a, b)
    dtype = [c for c in exp.facts["causes"] if c["cause"] == "dtype"]
    fields = {
        f
        for f in ("weight_dtype", "act_dtype", "kv_dtype")
        if con.execute(
            f"SELECT count(DISTINCT {f}) FROM configs WHERE config_id IN (?, ?)", [a, b]
        ).fetchone()[0]
        > 1
    }
    assert {c["field"] for c in dtype} == fields and fields
    assert exp.warnings and exp.warnings[0].kind == "lint.not_comparable"
    con.close()


def test_bottlenecks_shares_and_order(con, raw):
    cid = raw.execute(
        "SELECT min(config_id) FROM configs WHERE phase = 'decode' AND tp > 1"
    ).fetchone()[0]
    exp = why.bottlenecks(con, cid)
    top = raw.execute(
        "SELECT op_type, roofline_time_s * count t FROM operators WHERE config_id = ? "
        "ORDER BY t DESC, op_index LIMIT 1",
        [cid],
    ).fetchone()
    assert exp.facts["top"][0]["op_type"] == top[0]
    assert exp.facts["top"][0]["step_time_s"] == pytest.approx(top[1])
    assert sum(b["share"] for b in exp.facts["by_bound"]) == pytest.approx(1.0)


def test_collectives_position_and_count(con, raw):
    cid = raw.execute("SELECT min(config_id) FROM configs WHERE tp > 1").fetchone()[0]
    exp = why.collectives(con, cid)
    rows = raw.execute(
        "SELECT op_index, op_type, op_class, count FROM operators WHERE config_id = ? ORDER BY op_index",
        [cid],
    ).fetchall()
    expected = []
    for i, r in enumerate(rows):
        if r[2] == "collective":
            prev = [p for p in rows[:i] if p[2] != "collective"]
            expected.append((r[1], prev[-1][1] if prev else None, r[3]))
    got = [(c["op_type"], c["listed_after"], c["per_step"]) for c in exp.facts["collectives"]]
    assert got == expected and got
    layers = raw.execute(
        "SELECT num_layers FROM models JOIN configs USING (model_id) WHERE config_id = ?", [cid]
    ).fetchone()[0]
    assert exp.facts["collectives"][0]["per_layer"] == expected[0][2] / layers


def test_flops_vs_time_shares_and_utilisation(con, raw):
    cid = raw.execute("SELECT max(config_id) FROM configs WHERE phase = 'prefill'").fetchone()[0]
    for by in ("op_type", "op_class"):
        exp = why.flops_vs_time(con, cid, by)
        groups = {g["grp"]: g for g in exp.facts["groups"]}
        ref = raw.execute(
            f"SELECT {by}, sum(compute_time_s * count) / sum(roofline_time_s * count) "
            f"FROM operators WHERE config_id = ? GROUP BY 1",
            [cid],
        ).fetchall()
        assert {k: pytest.approx(v) for k, v in ref} == {
            k: g["utilisation"] for k, g in groups.items()
        }
        assert sum(g["time_share"] for g in groups.values()) == pytest.approx(1.0)
        least = [g["utilisation"] for g in exp.facts["least_efficient"]]
        assert least == sorted(least)


def test_unmodelled_operators_against_the_reference_list(con, raw):
    exp = why.unmodelled_operators(con)
    present = {r[0] for r in raw.execute("SELECT DISTINCT op_type FROM operators").fetchall()}
    ref = why.reference_operators()["operator"]
    assert "outside knowledge" in exp.facts["outside_knowledge"]
    assert "outside knowledge" in exp.summary
    missing = {m["name"] for m in exp.facts["not_modelled"]}
    modelled = {m["name"] for m in exp.facts["modelled"]}
    for op in ref:
        hit = present & set(op["matches"])
        assert (op["name"] in modelled) == bool(hit)
        if not hit and op.get("only_when") is None:
            assert op["name"] in missing


def test_bad_input_says_what_to_do(con):
    with pytest.raises(AnalysisError, match="no system 'nope'.*known"):
        why.compare_systems(con, "nope", "also-nope")
    with pytest.raises(AnalysisError, match="unknown metric"):
        why.compare_systems(
            con,
            *[r[0] for r in con.execute("SELECT system_id FROM systems LIMIT 2").fetchall()],
            "speed",
        )
    with pytest.raises(AnalysisError, match="no config"):
        why.bottlenecks(con, -1)
    with pytest.raises(AnalysisError, match="op_type"):
        why.explain_difference(con, 1, 2, "operator")


def test_displayed_sql_runs_as_shown(con, pair):
    cid = con.execute("SELECT min(config_id) FROM configs WHERE tp > 1").fetchone()[0]
    exps = [
        why.explain_systems(con, *pair, "latency"),
        why.explain_systems(con, *pair, "memory"),
        why.explain_systems(con, *pair, "cost"),
        why.bottlenecks(con, cid),
        why.collectives(con, cid),
        why.flops_vs_time(con, cid),
        why.unmodelled_operators(con),
    ]
    op = con.execute("SELECT op_type FROM operators WHERE op_class = 'gemm' LIMIT 1").fetchone()[0]
    exps.append(why.explain_systems(con, *pair, "operator", op))
    for exp in exps:
        assert exp.sql and exp.summary
        for sql in exp.sql:
            con.execute(sql).fetchall()
        json.dumps(exp.to_json(), default=str)


def test_why_cli_json_and_errors(sample_store, pair):
    from typer.testing import CliRunner

    from coview.cli import app

    run = CliRunner().invoke
    res = run(app, ["why", "systems", *pair, "--store", str(sample_store), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["summary"] and out["sql"] and out["rows"] and out["facts"]["operators"]
    cid = str(out["facts"]["config_a"])
    for args in (["bottlenecks", cid], ["collectives", cid], ["flops", cid], ["unmodelled"]):
        res = run(app, ["why", *args, "--store", str(sample_store)])
        assert res.exit_code == 0 and res.output.strip(), (args, res.output)
    res = run(app, ["why", "systems", "nope", pair[1], "--store", str(sample_store)])
    assert res.exit_code == 2 and "no system 'nope'" in res.output


def test_hostile_names_never_reach_output(tmp_path):
    from typer.testing import CliRunner

    from coview.cli import app

    store = build_store(
        tmp_path, consistent_tables(("\x1b[31mEvil\x07", "[bold]B[/bold]\x1b]0;t\x07"))
    )
    for args in (["systems", "sysA", "sysB"], ["bottlenecks", "1"], ["matched", "sysA", "sysB"]):
        for fmt in ([], ["--json"], ["--show-sql"]):
            res = CliRunner().invoke(app, ["why", *args, *fmt, "--store", str(store)])
            assert res.exit_code == 0, res.output
            assert "\x1b" not in res.output and "\x07" not in res.output
            assert "\\u001b" not in res.output


def test_config_level_sram_bookkeeping_rides_along(tmp_path):
    t = consistent_tables()
    for c in t["configs"]:
        c["sram_pinned_bytes"] = 1.5e8 if c["system_id"] == "sysA" else 0.0
    con = open_read_only(build_store(tmp_path, t))
    a, b = con.execute(
        "SELECT a.config_id, b.config_id FROM configs a JOIN configs b USING (phase, batch_size) "
        "WHERE a.system_id = 'sysA' AND b.system_id = 'sysB' ORDER BY 1 LIMIT 1"
    ).fetchone()
    pinned = dict(
        con.execute(
            "SELECT config_id, json_extract(extra, '$.sram_pinned_bytes')::DOUBLE FROM configs "
            "WHERE config_id IN (?, ?)",
            [a, b],
        ).fetchall()
    )
    exp = why.explain_difference(con, a, b, "operator", "q_proj")
    con.close()
    (cause,) = [c for c in exp.facts["operators"][0]["causes"] if c["cause"] == "weights_location"]
    assert cause["config_sram_fields_a"] == {"sram_pinned_bytes": pinned[a]}
    assert cause["config_sram_fields_b"] == {"sram_pinned_bytes": pinned[b]}


def test_resource_totals_match_independent_sql(con, raw, pair):
    exp = why.explain_systems(con, *pair, "latency")
    ca, cb = exp.facts["config_a"], exp.facts["config_b"]
    for r in ("compute", "memory", "comm"):
        ta, tb, ba, bb = raw.execute(
            f"SELECT sum({r}_time_s * count) FILTER (WHERE config_id = $a), "
            f"sum({r}_time_s * count) FILTER (WHERE config_id = $b), "
            f"coalesce(sum(roofline_time_s * count) FILTER (WHERE config_id = $a AND bound = $r), 0), "
            f"coalesce(sum(roofline_time_s * count) FILTER (WHERE config_id = $b AND bound = $r), 0) "
            "FROM operators",
            {"a": ca, "b": cb, "r": r},
        ).fetchone()
        got = exp.facts["resources"][r]
        assert got["time_a_s"] == pytest.approx(ta) and got["time_b_s"] == pytest.approx(tb)
        assert got["bound_time_a_s"] == pytest.approx(ba)
        assert got["bound_time_b_s"] == pytest.approx(bb)
