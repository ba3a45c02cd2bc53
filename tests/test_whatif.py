"""What-if and search by re-simulation (engine/whatif.py and `coview whatif`).

The reference for every check is the simulator run independently (`coview simulate` of a
spec edited by hand) or the store's own rows, never a number typed into the test."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
from typer.testing import CliRunner

from coview.cli import app
from coview.engine.whatif import WhatIfError, resimulate_sweep, search, whatif
from coview.sample_data import DEFAULT_SWEEP, MISMATCH_SWEEP, SAMPLE_DIR
from coview.store.ingest import ingest

HEADLINE = {"phase": "decode", "batch_size": 8, "tp": 8, "weight_dtype": "int8"}
MAIN = "llama2-70b-serving"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """Both sample sweeps in one store."""
    path = tmp_path_factory.mktemp("whatif") / "both.duckdb"
    ingest([DEFAULT_SWEEP, MISMATCH_SWEEP], path, progress=False)
    return path


def stored(store: Path, table: str, sweep_id: str) -> pl.DataFrame:
    con = duckdb.connect(str(store), read_only=True)
    try:
        ids = "SELECT config_id FROM configs WHERE sweep_id = ?"
        sql = (
            "SELECT * EXCLUDE (is_pareto) FROM configs WHERE sweep_id = ? ORDER BY config_id"
            if table == "configs"
            else f"SELECT * FROM operators WHERE config_id IN ({ids}) ORDER BY config_id, op_index"
        )
        return pl.from_arrow(con.sql(sql, params=[sweep_id]).to_arrow_table())
    finally:
        con.close()


@pytest.mark.parametrize("sweep_id", [MAIN, "xpu-mismatch"])
def test_unchanged_resimulation_reproduces_the_stored_rows_bit_for_bit(store, sweep_id):
    fresh = resimulate_sweep(store, sweep_id)
    for table in ("configs", "operators"):
        new = pl.from_arrow(fresh[table])
        if table == "configs":
            new = new.drop("is_pareto")
        old = stored(store, table, sweep_id)
        assert old.height == new.height > 0
        assert new.drop("extra").equals(old.drop("extra")), table  # exact float equality
        assert [json.loads(x) for x in new["extra"]] == [json.loads(x) for x in old["extra"]]


def test_whatif_with_no_change_equals_the_baseline(store):
    r = whatif(store, "xPU-B", {}, sweep_id=MAIN)
    assert len(r.configs) == 270 and len(r.operators) == 270 * 12
    assert all(c["baseline"] == c["whatif"] for c in r.configs)
    assert all(o["baseline"] == o["whatif"] for o in r.operators)
    assert "no change" in r.label


def edited_spec(tmp_path: Path, system_id: str, key: str, value: str) -> Path:
    """The mismatch sweep's spec with one key of one system edited, as a user would."""
    text = (MISMATCH_SWEEP / "spec.toml").read_text()
    start = text.index(f'id = "{system_id}"')
    end = text.find("[[systems]]", start)
    block = text[start : end if end > 0 else len(text)]
    pattern = re.compile(rf"^{key} = .*$", re.M)
    new_block = (
        pattern.sub(f"{key} = {value}", block)
        if pattern.search(block)
        else (block.rstrip("\n") + f"\n{key} = {value}\n")
    )
    path = tmp_path / "edited.toml"
    path.write_text(text.replace(block, new_block))
    return path


def simulated(tmp_path: Path, spec: Path, system_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["simulate", str(spec), "--out", str(out)])
    assert res.exit_code == 0, res.output
    configs = pl.read_parquet(out / "configs.parquet").filter(pl.col("system_id") == system_id)
    ops = pl.read_parquet(out / "operators.parquet").filter(
        pl.col("config_id").is_in(configs["config_id"].implode())
    )
    return configs, ops


def assert_whatif_matches(r, configs: pl.DataFrame, ops: pl.DataFrame) -> None:
    by_id = {row["config_id"]: row for row in configs.iter_rows(named=True)}
    assert len(r.configs) == len(by_id) > 0
    for c in r.configs:
        want = by_id[c["config_id"]]
        for key, value in c["whatif"].items():
            if key in want:
                assert value == want[key], (c["config_id"], key)
        extra = json.loads(want["extra"])
        assert c["whatif"]["ops_weights_in_sram"] == extra["ops_weights_in_sram"]
    want_ops = {(o["config_id"], o["op_index"]): o for o in ops.iter_rows(named=True)}
    assert len(r.operators) == len(want_ops)
    for o in r.operators:
        want = want_ops[(o["config_id"], o["op_index"])]
        for key, value in o["whatif"].items():
            if key in want:
                assert value == want[key], (o["config_id"], o["op_type"], key)


def test_sram_whatif_equals_simulating_a_hand_edited_spec(store, tmp_path):
    b = pl.read_parquet(MISMATCH_SWEEP / "systems.parquet").filter(pl.col("system_id") == "xpu-b")
    new_sram = b["sram_bytes"][0] * 1.07
    configs, ops = simulated(
        tmp_path, edited_spec(tmp_path, "xpu-b", "sram_bytes", repr(new_sram)), "xpu-b"
    )
    r = whatif(store, "xPU-B", {"sram_bytes": ("*", 1.07)}, sweep_id="xpu-mismatch")
    assert_whatif_matches(r, configs, ops)
    assert r.changes[0]["after"] == new_sram
    assert "sram_bytes x1.07" in r.label and "simulated" in r.label


def test_act_dtype_whatif_equals_simulating_the_spec_without_the_planted_override(store, tmp_path):
    # the planted bug: xPU-B ran int8 activations; set them to bf16 like xPU-A's
    configs, ops = simulated(
        tmp_path, edited_spec(tmp_path, "xpu-b", "act_dtype", '"bf16"'), "xpu-b"
    )
    r = whatif(store, "xPU-B", {"act_dtype": ("=", "bf16")}, sweep_id="xpu-mismatch")
    assert_whatif_matches(r, configs, ops)
    assert {c["whatif"]["act_dtype"] for c in r.configs} == {"bf16"}


def test_tp_and_dtype_whatifs_equal_the_stored_configs_they_turn_into(store):
    # the sample grid holds TP 16 and fp8 too: a what-if into them must give their rows
    for change, moved in (
        ({"tp": ("=", 16)}, {"tp": 16}),
        ({"dtype": "fp8"}, {"weight_dtype": "fp8"}),
    ):
        r = whatif(store, "xPU-A", change, HEADLINE, sweep_id=MAIN)
        other = whatif(store, "xPU-A", {}, {**HEADLINE, **moved}, sweep_id=MAIN)
        assert len(r.configs) == len(other.configs) == 1
        assert r.configs[0]["whatif"] == other.configs[0]["baseline"]
        got = [o["whatif"] for o in r.operators]
        assert got == [o["baseline"] for o in other.operators]


def test_search_finds_the_sram_that_makes_xpu_b_match_xpu_a(store):
    s = search(store, "xPU-B", "sram_bytes", match_system="xPU-A", filters=HEADLINE, sweep_id=MAIN)
    a = whatif(store, "xPU-A", {}, HEADLINE, sweep_id=MAIN).configs[0]["baseline"]
    assert s.reachable and not s.met_at_baseline
    # at the threshold xPU-B pins what xPU-A pins and takes xPU-A's time; one byte less does not
    at = s.at_threshold.configs[0]["whatif"]
    assert at["latency_s"] <= a["latency_s"]
    assert at["ops_weights_in_sram"] == a["ops_weights_in_sram"]
    assert s.threshold == a["sram_used_bytes"]  # xPU-A's own recorded SRAM use
    assert s.below_threshold[0]["whatif"]["latency_s"] > a["latency_s"]
    assert s.ratio == s.threshold / s.baseline_value > 1


def test_search_on_a_latency_target_and_one_already_met(store):
    f = {"phase": "decode", "batch_size": 8, "tp": 8, "weight_dtype": "bf16"}
    s = search(store, "H100", "hbm_bw_bytes_per_s", target=("latency_s", "<=", 7e-3), filters=f)
    assert s.reachable and s.threshold > s.baseline_value
    assert s.at_threshold.configs[0]["whatif"]["latency_s"] <= 7e-3
    assert s.below_threshold[0]["whatif"]["latency_s"] > 7e-3
    easy = search(store, "H100", "hbm_bw_bytes_per_s", target=("latency_s", "<=", 1.0), filters=f)
    assert easy.met_at_baseline and easy.threshold == easy.baseline_value
    never = search(store, "H100", "sram_bytes", target=("latency_s", "<=", 1e-9), filters=f)
    assert not never.reachable and never.threshold is None and "does not meet" in never.label


def test_another_simulators_sweep_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "la.duckdb"
    ingest([SAMPLE_DIR / "llm-analysis"], path, fmt="llm-analysis", progress=False)
    con = duckdb.connect(str(path), read_only=True)
    name = con.execute("SELECT name FROM systems ORDER BY name LIMIT 1").fetchone()[0]
    con.close()
    with pytest.raises(WhatIfError, match="llm-analysis, not by coview's own roofline model"):
        whatif(path, name, {"hbm_bw_bytes_per_s": ("*", 2)})


@pytest.mark.parametrize(
    ("system", "changes", "filters", "needle"),
    [
        ("xPU-Q", {"sram_bytes": ("*", 2)}, None, "no system 'xPU-Q'"),
        ("xPU-B", {"sram": ("*", 2)}, None, "cannot change 'sram'"),
        ("xPU-B", {"tp": ("=", 3)}, HEADLINE, "tp=3 cannot shard"),
        ("xPU-B", {"dtype": ("=", "fp16")}, HEADLINE, "must be set to one of"),
        ("xPU-B", {"hbm_bw_bytes_per_s": ("*", -1)}, HEADLINE, "must be > 0"),
        ("TPU v5e", {"dtype": "fp8"}, {"phase": "decode", "tp": 8}, "no fp8 peak"),
        ("xPU-B", {"sram_bytes": ("*", 2)}, {"batch_size": 3}, "no config of xPU-B"),
        ("xPU-B", {"sram_bytes": ("*", 2)}, {"colour": "red"}, "unknown filter 'colour'"),
    ],
)
def test_bad_whatifs_say_what_is_wrong(store, system, changes, filters, needle):
    with pytest.raises(WhatIfError, match=re.escape(needle)):
        whatif(store, system, changes, filters, sweep_id=MAIN if system != "xPU-Q" else None)


def test_a_sweep_without_a_stored_spec_is_refused(tmp_path):
    path = tmp_path / "old.duckdb"
    ingest([MISMATCH_SWEEP], path, progress=False)
    con = duckdb.connect(str(path))
    con.execute("UPDATE sweeps SET sim_spec = NULL")
    con.close()
    with pytest.raises(WhatIfError, match="carries no stored spec"):
        whatif(path, "xPU-B", {"sram_bytes": ("*", 2)})


def test_cli_whatif_text_json_and_errors(store):
    runner = CliRunner()
    base = ["whatif", "--system", "xPU-B", "--store", str(store), "--sweep", MAIN,
            "--phase", "decode", "--batch", "8", "--tp", "8", "--dtype", "int8"]  # fmt: skip
    res = runner.invoke(app, [*base, "--set", "sram_bytes=*1.07"])
    assert res.exit_code == 0, res.output
    assert "sram_bytes x1.07" in res.output and "q_proj" in res.output
    res = runner.invoke(app, [*base, "--set", "hbm_bw_bytes_per_s=3.2e12", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["changes"][0]["after"] == 3.2e12 and len(doc["configs"]) == 1
    res = runner.invoke(app, [*base, "--search", "sram_bytes", "--match", "xPU-A", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["reachable"] is True
    res = runner.invoke(
        app, [*base, "--search", "hbm_bw_bytes_per_s", "--target", "latency_s<=0.006"]
    )
    assert res.exit_code == 0 and "meets latency_s <= 0.006" in res.output
    res = runner.invoke(app, [*base, "--set", "sram_bytes"])
    assert res.exit_code == 2 and "PARAMETER=VALUE" in res.output
    res = runner.invoke(app, [*base])
    assert res.exit_code == 2 and "--set" in res.output
