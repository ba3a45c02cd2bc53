"""Cross-simulator comparison on a store holding coview's sample sweep and real GenZ output."""

from __future__ import annotations

import importlib.util
import shutil

import duckdb
import pytest

from coview.sample_data import DEFAULT_SWEEP, SAMPLE_DIR
from coview.store.ingest import ingest
from coview.store.sim_compare import compare_simulators, op_groups, simulators

HAS_GENZ = importlib.util.find_spec("GenZ") is not None


@pytest.fixture(scope="module")
def two_sim_store(tmp_path_factory):
    path = tmp_path_factory.mktemp("two-sims") / "s.duckdb"
    ingest([DEFAULT_SWEEP], path, fmt="native", progress=False)
    ingest([SAMPLE_DIR / "genz"], path, fmt="genz", progress=False)
    return path


def test_h100_decode_b8_tp4_per_operator_differences(two_sim_store):
    con = duckdb.connect(str(two_sim_store), read_only=True)
    assert simulators(con) == ["coview-roofline", "genz"]
    r = compare_simulators(
        con, system="H100", model="Llama-2-70B", phase="decode", batch_size=8, tp=4, dtype="bf16"
    )
    assert (r.simulator_a, r.simulator_b) == ("coview-roofline", "genz")
    assert len(r.pairs) == 1
    pair = r.pairs[0]
    cfg = pair.config
    assert (cfg["system_id_a"], cfg["system_id_b"]) == ("h100", "H100_GPU")
    # every number comes from the store: recompute both latencies independently
    lat = dict(
        con.execute(
            "SELECT config_id, latency_s FROM configs WHERE config_id IN (?, ?)",
            [cfg["config_a"], cfg["config_b"]],
        ).fetchall()
    )
    assert cfg["latency_a_s"] == lat[cfg["config_a"]]
    assert cfg["latency_diff_s"] == pytest.approx(lat[cfg["config_b"]] - lat[cfg["config_a"]])
    groups = {o["op_group"]: o for o in pair.operators}
    # GenZ fuses q/k/v and gate/up; the groups line them up with coview's split operators
    assert groups["qkv_proj"]["op_types_a"] == "k_proj,q_proj,v_proj"
    assert groups["qkv_proj"]["op_types_b"] == "qkv_proj"
    assert groups["ffn_up_gate"]["op_types_b"] == "ffn_up_gate"
    # GenZ models no norms: the group exists on one side only
    assert groups["norm"]["time_b_s"] is None and groups["norm"]["time_a_s"] > 0
    # group sums add up to each side's latency
    for side, key in (("a", "latency_a_s"), ("b", "latency_b_s")):
        total = sum(o[f"time_{side}_s"] or 0 for o in pair.operators)
        assert total == pytest.approx(cfg[key], rel=1e-9)
    diffs = sorted(pair.operators, key=lambda o: -abs(o["time_diff_s"]))
    assert pair.largest == diffs[0]["op_group"]
    assert pair.dominant_part in ("compute", "memory", "comm")
    # the systems as each simulator records them: GenZ's GB/s is 2^30 bytes/s
    assert cfg["hbm_bw_a"] == 3.35e12 and cfg["hbm_bw_b"] == 3400 * 2**30
    assert len(r.sql) == 2 and len(r.params) == 2
    assert r.rows[0]["row"] == "config" and r.rows[1]["row"] == "operators"
    (line,) = r.summary_lines()
    assert line.startswith("H100 Llama-2-70B decode batch 8 TP 4: genz ")
    assert f"{cfg['latency_b_s'] * 1e3:.4g} ms" in line and pair.largest in line


def test_sql_has_no_spliced_values(two_sim_store):
    con = duckdb.connect(str(two_sim_store), read_only=True)
    r = compare_simulators(con, system="H100'; DROP TABLE configs; --", phase="decode")
    assert r.pairs == []
    assert "DROP" not in r.sql[0]


def test_needs_two_simulators(sample_store):
    con = duckdb.connect(str(sample_store), read_only=True)
    with pytest.raises(ValueError, match="1 simulator"):
        compare_simulators(con)
    with pytest.raises(ValueError, match="no sweep of simulator 'genz'"):
        compare_simulators(con, "coview-roofline", "genz")


def test_groups_file_maps_each_op_type_once():
    g = op_groups()
    assert g["q_proj"] == g["qkv_proj"] == "qkv_proj"
    assert g["ffn_gate"] == g["ffn_up_gate"] == "ffn_up_gate"


@pytest.mark.skipif(not HAS_GENZ, reason="GenZ (coview[genz]) not installed")
def test_both_engines_one_spec_one_store(tmp_path):
    """`simulate --engine genz` and the built-in engine on one spec load into one store."""
    from coview.sim.genz_engine import simulate_genz
    from coview.sim.sweep import simulate

    spec = tmp_path / "spec.toml"
    text = (DEFAULT_SWEEP / "spec.toml").read_text()
    # a small grid of the sample spec: H100 and MI300X, bf16, batch 1 and 8, tp 1 and 4
    text = text.replace("batch_sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256]", "batch_sizes = [1, 8]")
    text = text.replace("tp = [1, 2, 4, 8, 16]", "tp = [1, 4]")
    text = text.replace('dtypes = ["bf16", "int8", "fp8"]', 'dtypes = ["bf16"]')
    blocks = text.split("[[systems]]")
    keep = [b for b in blocks[1:] if 'id = "h100"' in b or 'id = "mi300x"' in b]
    spec.write_text(blocks[0] + "".join("[[systems]]" + b for b in keep))
    simulate(spec, tmp_path / "builtin")
    simulate_genz(spec, tmp_path / "genz")
    store = tmp_path / "s.duckdb"
    ingest([tmp_path / "builtin"], store, progress=False)
    ingest([tmp_path / "genz"], store, progress=False)
    con = duckdb.connect(str(store), read_only=True)
    n = con.execute("SELECT sweep_id, count(*) FROM configs GROUP BY 1 ORDER BY 1").fetchall()
    assert n == [("llama2-70b-serving", 16), ("llama2-70b-serving-genz", 16)]
    # Llama-2-70B bf16 at tp=1 does not fit one 80 GB H100 in either engine
    fits = con.execute(
        "SELECT s.simulator, c.fits_memory FROM configs c JOIN sweeps s USING (sweep_id) "
        "WHERE c.system_id = 'h100' AND c.tp = 1 AND c.phase = 'prefill' AND c.batch_size = 1"
    ).fetchall()
    assert sorted(fits) == [("coview-roofline", False), ("genz", False)]
    r = compare_simulators(con, system="H100", phase="decode", batch_size=8, tp=4)
    assert len(r.pairs) == 1
    pair = r.pairs[0]
    assert pair.config["peak_flops_bf16_a"] == pair.config["peak_flops_bf16_b"]
    # GenZ's operators add up to GenZ's own latency
    extra = con.execute(
        "SELECT extra->>'genz_latency_ms' FROM configs WHERE config_id = ?",
        [pair.config["config_b"]],
    ).fetchone()[0]
    assert pair.config["latency_b_s"] == pytest.approx(float(extra) * 1e-3, rel=1e-3)
    shutil.rmtree(tmp_path / "genz")


def test_frontier_overlay_one_system_from_each_simulator(tmp_path):
    from coview.store.sim_compare import frontier_overlay

    store = tmp_path / "s.duckdb"
    ingest([DEFAULT_SWEEP], store, progress=False)
    ingest([SAMPLE_DIR / "genz"], store, fmt="genz", progress=False, options={"tco": {"H100": 2.5}})
    con = duckdb.connect(str(store), read_only=True)
    ov = frontier_overlay(con, "H100", "decode", model="Llama-2-70B")
    assert set(ov.frontiers) == {"coview-roofline", "genz"}
    for sim, points in ov.frontiers.items():
        want = con.execute(
            "SELECT count(*) FROM configs c JOIN sweeps s USING (sweep_id) JOIN models m "
            "USING (model_id) JOIN systems y USING (system_id) WHERE c.is_pareto AND "
            "c.phase = 'decode' AND y.name = 'H100' AND m.name = 'Llama-2-70B' AND s.simulator = ?",
            [sim],
        ).fetchone()[0]
        assert len(points) == want > 0
        lat = [p["latency_s"] for p in points]
        assert lat == sorted(lat)
        # along a frontier a strictly slower point buys strictly more perf per TCO
        # (exact duplicates, e.g. int8 and fp8 at the same figures, are all on it)
        pairs = zip(points, points[1:], strict=False)
        for a, b in pairs:
            if b["latency_s"] > a["latency_s"]:
                assert b["perf_per_tco"] > a["perf_per_tco"]
            else:
                assert b["perf_per_tco"] == a["perf_per_tco"]
    # without prices GenZ has no frontier
    ov2 = frontier_overlay(con, "MI300X", "decode")
    assert set(ov2.frontiers) == {"coview-roofline"}
