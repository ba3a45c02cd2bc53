"""The committed sample sweeps: regenerated bit for bit from their specs, complete grid,
the xPU-A/xPU-B SRAM property, and the planted act_dtype mismatch. Reads Parquet directly."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow
import pyarrow.parquet as pq
import pytest

from coview.sample_data import DEFAULT_SWEEP, MISMATCH_SWEEP
from coview.sim.sweep import simulate

TABLES = ("sweeps", "systems", "models", "configs", "operators")
# DESIGN.md, schema v1: the built-in sweep model's op_type values and their classes.
OP_CLASSES = {
    "q_proj": "gemm", "k_proj": "gemm", "v_proj": "gemm", "o_proj": "gemm",
    "ffn_gate": "gemm", "ffn_up": "gemm", "ffn_down": "gemm", "lm_head": "gemm",
    "attn_qk": "attention", "attn_sv": "attention", "rmsnorm": "norm",
    "all_reduce": "collective",
}  # fmt: skip
BATCHES = [1, 2, 4, 8, 16, 32, 64, 128, 256]
TPS = [1, 2, 4, 8, 16]


def read(folder: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(folder / f"{table}.parquet")


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("regen")
    for folder in (DEFAULT_SWEEP, MISMATCH_SWEEP):
        simulate(folder / "spec.toml", out / folder.name)
    return {folder.name: out / folder.name for folder in (DEFAULT_SWEEP, MISMATCH_SWEEP)}


@pytest.mark.parametrize("folder", [DEFAULT_SWEEP, MISMATCH_SWEEP], ids=lambda p: p.name)
def test_committed_parquet_is_what_the_spec_regenerates(regenerated, folder):
    fresh = regenerated[folder.name]
    hint = f"regenerate with: coview simulate {folder}/spec.toml --out {folder}"
    for table in TABLES:
        committed, new = folder / f"{table}.parquet", fresh / f"{table}.parquet"
        assert committed.exists(), f"{committed} is missing; {hint}"
        assert read(folder, table).equals(read(fresh, table)), f"{table} differs; {hint}"
        writer = pq.ParquetFile(committed).metadata.created_by
        if writer == pq.ParquetFile(new).metadata.created_by:
            assert committed.read_bytes() == new.read_bytes(), f"{table} bytes differ; {hint}"
        else:  # another pyarrow writes other footer bytes; the frames above still match
            assert pyarrow.__version__ not in writer


def test_sample_files_are_small():
    total = sum(p.stat().st_size for f in (DEFAULT_SWEEP, MISMATCH_SWEEP) for p in f.iterdir())
    assert total < 3_000_000


def test_model_is_llama2_70b():
    m = read(DEFAULT_SWEEP, "models").to_dicts()
    assert len(m) == 1
    m = m[0]
    assert m["name"] == "Llama-2-70B"
    got = [m[k] for k in ("num_layers", "hidden_size", "num_heads", "num_kv_heads",
                          "head_dim", "ffn_dim", "vocab_size")]  # fmt: skip
    assert got == [80, 8192, 64, 8, 128, 28672, 32000]
    assert 68e9 < m["total_params"] < 70e9


def test_systems_and_grid_are_complete():
    systems = read(DEFAULT_SWEEP, "systems")
    assert systems["name"].to_list() == ["TPU v5e", "TPU v5p", "H100", "MI300X", "xPU-A", "xPU-B"]
    assert systems["source"].str.len_chars().min() > 10
    configs = read(DEFAULT_SWEEP, "configs")
    assert configs["config_id"].n_unique() == configs.height
    assert (configs["weight_dtype"] == configs["act_dtype"]).all()
    assert (configs["weight_dtype"] == configs["kv_dtype"]).all()
    assert (configs["num_chips"] == configs["tp"]).all()
    assert set(configs["pp"]) == set(configs["dp"]) == set(configs["ep"]) == {1}
    assert set(configs["input_len"]) == {2048} and set(configs["output_len"]) == {256}
    for row in systems.iter_rows(named=True):
        dtypes = {"bf16"}
        if row["peak_ops_int8"] is not None:
            dtypes.add("int8")
        if row["peak_flops_fp8"] is not None:
            dtypes.add("fp8")
        mine = configs.filter(pl.col("system_id") == row["system_id"])
        keys = set(mine.select("phase", "batch_size", "tp", "weight_dtype").iter_rows())
        want = {
            (p, b, t, d)
            for p in ("prefill", "decode")
            for b in BATCHES
            for t in TPS
            for d in dtypes
        }
        assert keys == want, row["name"]
        assert mine.height == len(want)  # one config per (system, phase, batch, tp, dtype)
    assert "fp8" not in set(configs.filter(pl.col("system_id") == "tpu-v5e")["weight_dtype"])
    assert set(configs["fits_memory"]) == {True, False}


def test_operators_spelled_as_in_design_and_consistent():
    ops = read(DEFAULT_SWEEP, "operators")
    configs = read(DEFAULT_SWEEP, "configs")
    assert ops.height == 12 * configs.height
    assert set(ops["config_id"]) == set(configs["config_id"])
    pairs = set(ops.select("op_type", "op_class").iter_rows())
    assert pairs == set(OP_CLASSES.items())
    assert set(ops["op_index"]) == set(range(12))
    assert set(ops.filter(pl.col("op_type") == "lm_head")["layer_name"]) == {"head"}
    times = ops.select("compute_time_s", "memory_time_s", "comm_time_s")
    top = times.max_horizontal()
    assert (ops["roofline_time_s"] == top).all()
    chosen = (
        ops.select(
            pl.when(pl.col("bound") == "compute").then(pl.col("compute_time_s"))
            .when(pl.col("bound") == "memory").then(pl.col("memory_time_s"))
            .otherwise(pl.col("comm_time_s"))
        ).to_series()
    )  # fmt: skip
    assert (chosen == top).all()
    assert set(ops["bound"]) == {"compute", "memory", "comm"}
    no_weights = ops.filter(pl.col("bytes_weight") == 0)
    assert no_weights["weights_location"].null_count() == no_weights.height
    # latency is the sum of operator times x count
    total = ops.group_by("config_id").agg((pl.col("roofline_time_s") * pl.col("count")).sum())
    joined = configs.join(total, on="config_id")
    assert (
        (joined["latency_s"] - joined["roofline_time_s"]).abs() / joined["latency_s"]
    ).max() < 1e-9


def test_xpu_a_pins_q_and_o_proj_where_xpu_b_cannot():
    systems = read(DEFAULT_SWEEP, "systems")
    a = systems.filter(pl.col("name") == "xPU-A").to_dicts()[0]
    b = systems.filter(pl.col("name") == "xPU-B").to_dicts()[0]
    differ = {k for k in a if a[k] != b[k]} - {"system_id", "name", "source"}
    assert differ == {"sram_bytes"}
    assert a["sram_bytes"] > b["sram_bytes"]

    ops = read(DEFAULT_SWEEP, "operators").join(read(DEFAULT_SWEEP, "configs"), on="config_id")
    key = ["phase", "batch_size", "tp", "weight_dtype"]

    def location(system_id: str, op: str) -> pl.DataFrame:
        return ops.filter(pl.col("system_id") == system_id, pl.col("op_type") == op).select(
            *key, pl.col("weights_location").alias(f"{op}_{system_id}"),
            pl.col("roofline_time_s").alias(f"t_{op}_{system_id}"),
        )  # fmt: skip

    both = location("xpu-a", "q_proj")
    for sid, op in (("xpu-a", "o_proj"), ("xpu-b", "q_proj"), ("xpu-b", "o_proj")):
        both = both.join(location(sid, op), on=key)
    hits = both.filter(
        (pl.col("q_proj_xpu-a") == "sram") & (pl.col("o_proj_xpu-a") == "sram")
        & (pl.col("q_proj_xpu-b") == "hbm") & (pl.col("o_proj_xpu-b") == "hbm")
    )  # fmt: skip
    assert hits.height > 0
    # SRAM never makes A slower, and at small decode batches (memory-bound on B) it makes
    # A strictly faster; at large batches both become compute-bound and tie
    assert (hits["t_q_proj_xpu-a"] <= hits["t_q_proj_xpu-b"]).all()
    decode = hits.filter(pl.col("phase") == "decode", pl.col("batch_size") <= 16)
    assert decode.height > 0
    assert (decode["t_q_proj_xpu-a"] < decode["t_q_proj_xpu-b"]).all()
    # and the reverse never happens: B never pins what A cannot
    assert both.filter(
        (pl.col("q_proj_xpu-b") == "sram") & (pl.col("q_proj_xpu-a") == "hbm")
    ).is_empty()


def test_sram_holds_the_pinned_weights_and_the_activation_reserve_together():
    configs = read(DEFAULT_SWEEP, "configs").join(
        read(DEFAULT_SWEEP, "systems").select("system_id", "sram_bytes"), on="system_id"
    )
    extra = configs["extra"].str.json_decode()
    used = extra.struct.field("sram_used_bytes")
    reserve = extra.struct.field("sram_activation_reserve_bytes")
    assert (used <= configs["sram_bytes"]).all()
    pinned = (
        read(DEFAULT_SWEEP, "operators")
        .filter(pl.col("weights_location") == "sram")
        .group_by("config_id")
        .agg((pl.col("bytes_weight") * pl.col("count")).sum().alias("pinned"))
    )
    got = configs.with_columns(used=used, reserve=reserve).join(pinned, on="config_id")
    assert got.height > 0
    assert ((got["reserve"] + got["pinned"] - got["used"]).abs() <= 1e-6 * got["used"]).all()


def headline(system_id: str) -> dict:
    """The headline configuration of sample_data/README.md: decode, batch 8, TP 8, int8."""
    rows = read(DEFAULT_SWEEP, "configs").filter(
        pl.col("system_id") == system_id, pl.col("phase") == "decode",
        pl.col("batch_size") == 8, pl.col("tp") == 8, pl.col("weight_dtype") == "int8",
    )  # fmt: skip
    assert rows.height == 1
    return rows.to_dicts()[0]


def test_headline_config_is_on_both_decode_frontiers_and_xpu_a_is_faster():
    configs = read(DEFAULT_SWEEP, "configs")
    for sid in ("xpu-a", "xpu-b"):
        h = headline(sid)
        assert h["fits_memory"]
        dominating = configs.filter(
            pl.col("system_id") == sid, pl.col("phase") == "decode", pl.col("fits_memory"),
            pl.col("latency_s") <= h["latency_s"], pl.col("perf_per_tco") >= h["perf_per_tco"],
            (pl.col("latency_s") < h["latency_s"]) | (pl.col("perf_per_tco") > h["perf_per_tco"]),
        )  # fmt: skip
        assert dominating.is_empty(), sid
    a, b = headline("xpu-a"), headline("xpu-b")
    assert b["latency_s"] / a["latency_s"] > 1.05
    ops = read(DEFAULT_SWEEP, "operators")
    pinned = {
        sid: set(
            ops.filter(pl.col("config_id") == h["config_id"], pl.col("weights_location") == "sram")[
                "op_type"
            ]
        )
        for sid, h in (("xpu-a", a), ("xpu-b", b))
    }
    assert {"q_proj", "o_proj"} <= pinned["xpu-a"] - pinned["xpu-b"]
    assert pinned["xpu-b"] < pinned["xpu-a"]


def test_h100_decode_latency_is_realistic():
    c = read(DEFAULT_SWEEP, "configs").filter(
        pl.col("system_id") == "h100", pl.col("phase") == "decode", pl.col("batch_size") == 1,
        pl.col("tp") == 8, pl.col("weight_dtype") == "bf16",
    )  # fmt: skip
    assert c.height == 1
    assert 3e-3 < c["latency_s"][0] < 20e-3  # 70B bf16 over 8 x 3.35 TB/s: several ms/token
    assert c["fits_memory"][0] is True


def test_mismatch_sweep_plants_an_act_dtype_difference():
    configs = read(MISMATCH_SWEEP, "configs")
    acts = {
        sid: set(configs.filter(pl.col("system_id") == sid)["act_dtype"])
        for sid in ("xpu-a", "xpu-b")
    }
    assert acts["xpu-a"] != acts["xpu-b"]
    assert set(configs["weight_dtype"]) == {"bf16"}
    assert configs["config_id"].min() >= 1_000_000
    main = read(DEFAULT_SWEEP, "configs")
    assert set(configs["config_id"]).isdisjoint(set(main["config_id"]))
    assert (
        read(MISMATCH_SWEEP, "sweeps")["sweep_id"][0]
        != read(DEFAULT_SWEEP, "sweeps")["sweep_id"][0]
    )


def test_mismatch_sweep_shares_identical_system_and_model_rows():
    mine = read(MISMATCH_SWEEP, "systems")
    main = read(DEFAULT_SWEEP, "systems").filter(
        pl.col("system_id").is_in(mine["system_id"].to_list())
    )
    assert mine.height == 2 and mine.equals(main)
    assert read(MISMATCH_SWEEP, "models").equals(read(DEFAULT_SWEEP, "models"))
