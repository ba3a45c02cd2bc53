"""The roofline sweep model: formulas on a hand-checked layer, SRAM policy, spec errors,
reproducibility. Expected numbers are worked out by hand in the tests, not by the code."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from coview.cli import app
from coview.sim.roofline import (
    Efficiency,
    ModelSpec,
    PowerModel,
    RunConfig,
    SystemSpec,
    bound_of,
    simulate_config,
    simulate_operators,
)
from coview.sim.sweep import SpecError, simulate

# A tiny model: 2 layers, d=64, 4 query heads, 2 KV heads of 16, FFN 128, vocab 256.
TINY = ModelSpec("tiny", "Tiny", 2, 64, 4, 2, 16, 128, 256)
EFF = Efficiency(compute=0.5, hbm=0.5, sram=0.5, ici=0.5, collective_step_latency_s=1e-6)
POWER = PowerModel(idle_fraction=0.2, compute_share=0.5)


def chip(sram_bytes: float = 0.0) -> SystemSpec:
    return SystemSpec(
        system_id="chip",
        name="Chip",
        vendor="test",
        peak_flops_bf16=1e12,
        peak_flops_fp8=2e12,
        peak_ops_int8=4e12,
        hbm_bytes=1e9,
        hbm_bw_bytes_per_s=1e11,
        sram_bytes=sram_bytes,
        sram_bw_bytes_per_s=1e12,
        ici_bw_bytes_per_s=1e10,
        tdp_w=100.0,
        tco_usd_per_chip_hour=1.0,
        source="test",
    )


DECODE = RunConfig("decode", 2, 8, 4, 2, "bf16", "bf16", "bf16")  # b=2, I=8, O=4, tp=2


def by_type(ops):
    return {o.op_type: o for o in ops}


def test_decode_layer_counts_by_hand():
    # tp=2: 2 query heads and 1 KV head per chip, FFN 64 and vocab 128 per chip; T = b = 2
    # tokens; decode context C = 8 + 4 // 2 = 10. bf16: 2 bytes everywhere.
    ops = by_type(simulate_operators(TINY, chip(), DECODE, EFF, POWER))
    expected = {
        # op: (flops, bytes_read, bytes_written, bytes_weight, bytes_comm, count)
        "q_proj": (2 * 2 * 64 * 32, 64 * 32 * 2 + 2 * 64 * 2, 2 * 32 * 2, 64 * 32 * 2, 0, 2),
        "k_proj": (2 * 2 * 64 * 16, 64 * 16 * 2 + 256, 2 * 16 * 2, 64 * 16 * 2, 0, 2),
        "v_proj": (2 * 2 * 64 * 16, 64 * 16 * 2 + 256, 2 * 16 * 2, 64 * 16 * 2, 0, 2),
        # Q (2*32*2 = 128 B) plus the K cache: b*C*hkv*hd*2 = 2*10*1*16*2 = 640 B
        "attn_qk": (2 * 2 * 2 * 16 * 10, 128 + 640, 0, 0, 0, 2),
        "attn_sv": (2 * 2 * 2 * 16 * 10, 640, 128, 0, 0, 2),
        "o_proj": (2 * 2 * 32 * 64, 32 * 64 * 2 + 128, 256, 32 * 64 * 2, 0, 2),
        "ffn_gate": (2 * 2 * 64 * 64, 64 * 64 * 2 + 256, 256, 64 * 64 * 2, 0, 2),
        "ffn_up": (2 * 2 * 64 * 64, 64 * 64 * 2 + 256, 256, 64 * 64 * 2, 0, 2),
        "ffn_down": (2 * 2 * 64 * 64, 64 * 64 * 2 + 256, 256, 64 * 64 * 2, 0, 2),
        "rmsnorm": (4 * 2 * 64, 128 + 256, 256, 128, 0, 4),
        # ring all-reduce of 2*64*2 = 256 B over 2 chips: 2*(2-1)/2 * 256 = 256 B sent
        "all_reduce": (64, 256, 256, 0, 256, 4),
        "lm_head": (2 * 2 * 64 * 128, 64 * 128 * 2 + 256, 2 * 128 * 2, 64 * 128 * 2, 0, 1),
    }
    assert list(ops) == list(expected)
    for name, (flops, read, written, weight, comm, count) in expected.items():
        o = ops[name]
        got = (o.flops, o.bytes_read, o.bytes_written, o.bytes_weight, o.bytes_comm, o.count)
        assert got == (flops, read, written, weight, comm, count), name


def test_decode_layer_times_and_power_by_hand():
    ops = by_type(simulate_operators(TINY, chip(), DECODE, EFF, POWER))
    q = ops["q_proj"]
    # 8192 FLOP at 1e12 * 0.5; 4096 + 256 + 128 bytes at 1e11 * 0.5
    assert q.compute_time_s == pytest.approx(8192 / 5e11, rel=1e-12)
    assert q.memory_time_s == pytest.approx(4480 / 5e10, rel=1e-12)
    assert q.comm_time_s == 0
    assert q.roofline_time_s == q.memory_time_s and q.bound == "memory"
    assert q.weights_location == "hbm"
    util = 0.5 * (8192 / 5e11) / (4480 / 5e10) + 0.5 * 1.0
    assert q.power_w == pytest.approx(100 * (0.2 + 0.8 * util), rel=1e-12)

    ar = ops["all_reduce"]
    # 256 B at 1e10 * 0.5, plus 2*(2-1) ring steps of 1 us
    assert ar.comm_time_s == pytest.approx(256 / 5e9 + 2e-6, rel=1e-12)
    assert ar.memory_time_s == pytest.approx(512 / 5e10, rel=1e-12)
    assert ar.bound == "comm" and ar.weights_location is None

    attn = ops["attn_qk"]
    assert attn.weights_location is None
    assert attn.memory_time_s == pytest.approx(768 / 5e10, rel=1e-12)


def test_prefill_attention_is_causal_and_lm_head_sees_last_token_only():
    run = RunConfig("prefill", 1, 8, 4, 1, "bf16", "bf16", "bf16")
    ops = by_type(simulate_operators(TINY, chip(), run, EFF, POWER))
    # 8 prompt tokens: 8*9/2 = 36 (query, key) pairs; 4 heads of 16 per chip
    assert ops["attn_qk"].flops == 2 * 4 * 16 * 36
    # reads Q (8*4*16*2 B) and K (8*2*16*2 B)
    assert ops["attn_qk"].bytes_read == 1024 + 512
    assert ops["q_proj"].flops == 2 * 8 * 64 * 64
    assert ops["lm_head"].flops == 2 * 1 * 64 * 256
    ar = ops["all_reduce"]  # tp=1: emitted, all zero, labelled comm
    assert (ar.flops, ar.bytes_comm, ar.roofline_time_s, ar.bound) == (0, 0, 0, "comm")


def test_config_totals_by_hand():
    res = simulate_config(TINY, chip(), DECODE, EFF, POWER)
    # weights: per layer q 4096 + k 2048 + v 2048 + o 4096 + 3 FFN x 8192 = 36864 (x2 layers),
    # 4 norms x 128, lm_head 16384, embedding 256*64*2/2 = 16384, final norm 128
    assert res.weight_bytes_per_chip == 2 * 36864 + 4 * 128 + 16384 + 16384 + 128
    # KV at the end of generation: 2 * L * b * (I + O) * hkv * hd * 2 B
    assert res.kv_bytes_per_chip == 2 * 2 * 2 * 12 * 1 * 16 * 2
    latency = sum(o.roofline_time_s * o.count for o in res.ops)
    assert res.latency_s == pytest.approx(latency, rel=1e-12)
    assert res.throughput_tok_per_s == pytest.approx(2 / latency, rel=1e-12)
    assert res.tco_usd_per_hour == 2.0
    assert res.perf_per_tco == pytest.approx(2 / latency / 2.0, rel=1e-12)
    assert res.usd_per_1m_tokens == pytest.approx(2.0 / 3600 / (2 / latency) * 1e6, rel=1e-12)
    assert res.total_flops == 2 * sum(o.flops * o.count for o in res.ops)
    assert res.energy_j == pytest.approx(res.power_w * latency, rel=1e-12)
    assert 2 * 100 * 0.2 <= res.power_w <= 2 * 100
    assert res.fits_memory is True
    small = SystemSpec(**{**chip().__dict__, "hbm_bytes": 100_000.0})
    assert simulate_config(TINY, small, DECODE, EFF, POWER).fits_memory is False


def test_roofline_is_max_and_bound_agrees():
    for run in (
        DECODE,
        RunConfig("prefill", 4, 8, 4, 2, "int8", "int8", "int8"),
        RunConfig("decode", 64, 8, 4, 4, "fp8", "fp8", "fp8"),
    ):
        for o in simulate_operators(TINY, chip(sram_bytes=20_000), run, EFF, POWER):
            times = {"compute": o.compute_time_s, "memory": o.memory_time_s, "comm": o.comm_time_s}
            assert o.roofline_time_s == max(times.values())
            assert times[o.bound] == o.roofline_time_s
    assert bound_of(1.0, 2.0, 0.5) == "memory"
    assert bound_of(3.0, 2.0, 0.5) == "compute"
    assert bound_of(0.0, 0.0, 0.0) == "comm"


def test_compute_runs_at_the_slowest_operand_peak():
    mixed = RunConfig("prefill", 1, 8, 4, 1, "int8", "bf16", "bf16")
    ops = by_type(simulate_operators(TINY, chip(), mixed, EFF, POWER))
    # int8 weights x bf16 activations: bf16 peak 1e12 * 0.5
    assert ops["q_proj"].compute_time_s == pytest.approx(ops["q_proj"].flops / 5e11, rel=1e-12)
    assert ops["q_proj"].extra["compute_dtype"] == "bf16"
    fp8 = RunConfig("prefill", 1, 8, 4, 1, "fp8", "fp8", "fp8")
    q8 = by_type(simulate_operators(TINY, chip(), fp8, EFF, POWER))["q_proj"]
    assert q8.compute_time_s == pytest.approx(q8.flops / 1e12, rel=1e-12)  # 2e12 * 0.5


def test_sram_placement_is_joint_and_greedy_by_time_saved_per_byte():
    # DECODE on chip(): weights x count per op: q 8192, k 4096, v 4096, o 8192, each FFN
    # 16384, rmsnorm 512, lm_head 16384. The activation reserve is the largest working set:
    # lm_head reads 2*64*2 = 256 B and writes 2*128*2 = 512 B, so 768 B.
    # Saving per pinned byte: k, v, rmsnorm stay memory-bound from SRAM, so they save the
    # full 1/5e10 - 1/5e11 = 1.8e-11 s/B. q and o become compute-bound from SRAM (8192 FLOP
    # at 5e11 = 1.6384e-8 s > 384/5e10 + 4096/5e11 = 1.5872e-8 s) and save
    # (4480/5e10 - 1.6384e-8)/4096 = 1.7875e-11 s/B; the FFN ops (8704/5e10 - 3.2768e-8)/8192
    # = 1.725e-11; lm_head (17152/5e10 - 6.5536e-8)/16384 = 1.694e-11.
    # Greedy order: k, v, rmsnorm, q, o, ffn_gate, ffn_up, ffn_down, lm_head.
    def pinned(sram: float) -> list[str]:
        ops = simulate_operators(TINY, chip(sram_bytes=sram), DECODE, EFF, POWER)
        return [o.op_type for o in ops if o.weights_location == "sram"]

    # 768 + 4096 + 4096 + 512 + 8192 = 17664: room for k, v, rmsnorm and q, not o
    assert pinned(17664) == ["q_proj", "k_proj", "v_proj", "rmsnorm"]
    # one byte less: q no longer fits beside the others, and nothing later does either
    assert pinned(17663) == ["k_proj", "v_proj", "rmsnorm"]
    # q alone would fit in 768 + 8192 = 8960 B, but k and v come first and fill it
    assert pinned(8960) == ["k_proj", "v_proj"]
    # room for everything: 768 + 2*8192 + 2*4096 + 3*16384 + 512 + 16384
    assert len(pinned(768 + 16384 + 8192 + 49152 + 512 + 16384)) == 9
    assert pinned(0) == []

    res = simulate_config(TINY, chip(sram_bytes=17664), DECODE, EFF, POWER)
    ops = by_type(res.ops)
    assert ops["q_proj"].extra["sram_needed_bytes"] == 8192 + 768  # alone, with the reserve
    assert res.extra["sram_activation_reserve_bytes"] == 768
    assert res.extra["sram_pinned_weight_bytes"] == 8192 + 4096 + 4096 + 512
    assert res.extra["sram_used_bytes"] == 17664
    assert res.extra["sram_needed_bytes"] == 768 + 16384 + 8192 + 49152 + 512 + 16384
    assert res.extra["ops_weights_in_sram"] == ["k_proj", "q_proj", "rmsnorm", "v_proj"]
    # pinned q: 384 activation bytes over HBM (5e10) + 4096 weight bytes over SRAM (5e11);
    # its pinning saves (4480/5e10 - 8192/5e11) s per layer, 2 layers
    q = ops["q_proj"]
    assert q.memory_time_s == pytest.approx(384 / 5e10 + 4096 / 5e11, rel=1e-12)
    assert q.bound == "compute"
    assert q.extra["sram_time_saved_s"] == pytest.approx(2 * (4480 / 5e10 - 8192 / 5e11))
    assert ops["o_proj"].weights_location == "hbm" and ops["attn_sv"].weights_location is None
    assert ops["all_reduce"].weights_location is None


def test_compute_bound_weights_are_not_pinned():
    # decode batch 64: q_proj is compute-bound from HBM (262144 FLOP at 5e11 = 5.2e-7 s
    # > 16384 B at 5e10 = 3.3e-7 s), so pinning it saves nothing and it stays in HBM
    run = RunConfig("decode", 64, 8, 4, 2, "bf16", "bf16", "bf16")
    ops = by_type(simulate_operators(TINY, chip(sram_bytes=1e9), run, EFF, POWER))
    assert ops["q_proj"].bound == "compute"
    assert ops["q_proj"].weights_location == "hbm"
    assert ops["q_proj"].extra["sram_time_saved_s"] == 0
    assert ops["rmsnorm"].weights_location == "sram"  # memory-bound: pinned


def test_gqa_kv_heads_replicate_beyond_kv_head_count():
    run = RunConfig("decode", 1, 8, 4, 4, "bf16", "bf16", "bf16")  # tp 4 > 2 KV heads
    ops = by_type(simulate_operators(TINY, chip(), run, EFF, POWER))
    assert ops["k_proj"].bytes_weight == 64 * 1 * 16 * 2  # ceil(2/4) = 1 head per chip
    assert ops["q_proj"].bytes_weight == 64 * 1 * 16 * 2  # 4/4 = 1 query head per chip


def test_llama2_70b_parameter_count():
    llama = ModelSpec("llama2-70b", "Llama-2-70B", 80, 8192, 64, 8, 128, 28672, 32000)
    assert llama.params() == 68_976_648_192


# ---------------------------------------------------------------- spec files

SPEC = """
[sweep]
id = "tiny"
name = "Tiny sweep"
config_id_base = 10

[model]
id = "tiny"
name = "Tiny"
num_layers = 2
hidden_size = 64
num_heads = 4
num_kv_heads = 2
head_dim = 16
ffn_dim = 128
vocab_size = 256

[efficiency]
compute = 0.5
hbm = 0.5
sram = 0.5
ici = 0.5
collective_step_latency_s = 1e-6

[power]
idle_fraction = 0.2
compute_share = 0.5

[grid]
phases = ["prefill", "decode"]
batch_sizes = [1, 4]
tp = [1, 2]
dtypes = ["bf16", "fp8"]
input_len = 8
output_len = 4

[[systems]]
id = "chip"
name = "Chip"
vendor = "test"
peak_flops_bf16 = 1e12
peak_ops_int8 = 4e12
hbm_bytes = 1e9
hbm_bw_bytes_per_s = 1e11
sram_bytes = 20000
sram_bw_bytes_per_s = 1e12
ici_bw_bytes_per_s = 1e10
tdp_w = 100
tco_usd_per_chip_hour = 1.0
source = "test"
"""


def write_spec(tmp_path: Path, text: str = SPEC) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*"))}


def test_simulate_writes_schema_tables_and_is_reproducible(tmp_path):
    spec = write_spec(tmp_path)
    summary = simulate(spec, tmp_path / "a")
    simulate(spec, tmp_path / "b")
    names = {"sweeps", "systems", "models", "configs", "operators"}
    assert {p.stem for p in (tmp_path / "a").glob("*.parquet")} == names
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    # fp8 has no peak on this chip: 1 system x 1 dtype x 2 phases x 2 tp x 2 batches
    assert "8 configs" in summary and "Skipped fp8 on Chip (no fp8 peak)" in summary
    configs = pq.read_table(tmp_path / "a" / "configs.parquet")
    assert configs.column("config_id").to_pylist() == list(range(10, 18))
    assert configs.column("is_pareto").null_count == 8
    ops = pq.read_table(tmp_path / "a" / "operators.parquet")
    assert ops.num_rows == 8 * 12
    sweeps = pq.read_table(tmp_path / "a" / "sweeps.parquet").to_pylist()
    assert sweeps[0]["sweep_id"] == "tiny" and sweeps[0]["ingested_at"] is None


def test_parquet_columns_match_schema_v1(tmp_path):
    from coview.store.schema import TABLES

    simulate(write_spec(tmp_path), tmp_path / "out")
    types = {"VARCHAR": "string", "DOUBLE": "double", "BIGINT": "int64", "INTEGER": "int32",
             "BOOLEAN": "bool", "TIMESTAMP": "timestamp[us]", "JSON": "string"}  # fmt: skip
    for table in TABLES:
        schema = pq.read_schema(tmp_path / "out" / f"{table.name}.parquet")
        assert schema.names == table.column_names
        assert [str(f.type) for f in schema] == [types[c.sql_type] for c in table.columns]


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        ("num_heads = 4\n", "", ["model.num_heads", "missing"]),
        (
            'dtypes = ["bf16", "fp8"]',
            'dtypes = ["bf16", "fp16"]',
            ["grid.dtypes", "'fp16'", "'int8'"],
        ),
        ("tp = [1, 2]", "tp = [1, 3]", ["grid.tp", "3", "num_heads"]),
        ("compute = 0.5", "compute = 1.5", ["efficiency.compute", "<= 1"]),
        ("hbm = 0.5", "hbm = -0.5", ["efficiency.hbm", "> 0"]),
        ("batch_sizes = [1, 4]", 'batch_sizes = "1, 4"', ["grid.batch_sizes", "list of integers"]),
        ('vendor = "test"', 'vendor = "test"\ncolour = "red"', ["colour", "not a known key"]),
        ("[power]", "[powr]", ["powr"]),
        ("tdp_w = 100", 'tdp_w = 100\nact_dtype = "fp8"', ["act_dtype", "no fp8 peak"]),
        ('id = "chip"', 'id = "my chip!"', ["id", "identifier"]),
        ("num_kv_heads = 2", "num_kv_heads = 3", ["num_kv_heads", "divide"]),
        ("config_id_base = 10", "config_id_base = -1", ["sweep.config_id_base", ">= 0"]),
        ("hbm_bytes = 1e9", 'hbm_bytes = "lots"', ["hbm_bytes", "number"]),
        ("input_len = 8", "input_len = 8\ninput_len = 9", ["not valid TOML"]),
    ],
)
def test_spec_errors_name_the_key(tmp_path, old, new, needles):
    assert old in SPEC
    spec = write_spec(tmp_path, SPEC.replace(old, new, 1))
    out = tmp_path / "out"
    with pytest.raises(SpecError) as err:
        simulate(spec, out)
    for needle in needles:
        assert needle in str(err.value)
    assert not out.exists()  # nothing written for a bad spec


def test_duplicate_system_and_missing_spec(tmp_path):
    system = SPEC[SPEC.index("[[systems]]") :]
    with pytest.raises(SpecError, match="'chip' appears twice"):
        simulate(write_spec(tmp_path, SPEC + system), tmp_path / "out")
    with pytest.raises(SpecError, match="no such spec file"):
        simulate(tmp_path / "nope.toml", tmp_path / "out")


def test_system_act_dtype_override(tmp_path):
    text = SPEC.replace('dtypes = ["bf16", "fp8"]', 'dtypes = ["bf16"]').replace(
        "tdp_w = 100", 'tdp_w = 100\nact_dtype = "int8"'
    )
    simulate(write_spec(tmp_path, text), tmp_path / "out")
    rows = pq.read_table(tmp_path / "out" / "configs.parquet").to_pylist()
    assert {(r["weight_dtype"], r["act_dtype"], r["kv_dtype"]) for r in rows} == {
        ("bf16", "int8", "bf16")
    }


def test_cli_simulate_reports_bad_spec_and_good_summary(tmp_path):
    runner = CliRunner()
    bad = tmp_path / "bad"
    bad.mkdir()
    spec_bad = write_spec(bad, SPEC.replace("compute = 0.5", "compute = 2"))
    res = runner.invoke(app, ["simulate", str(spec_bad), "--out", str(tmp_path / "o1")])
    assert res.exit_code == 2
    assert "efficiency.compute" in res.output
    res = runner.invoke(app, ["simulate", str(write_spec(tmp_path)), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 0, res.output
    assert "8 configs" in res.output and "coview ingest" in res.output
    assert math.isfinite(pq.read_table(tmp_path / "o2" / "configs.parquet")["latency_s"][0].as_py())


# ---------------------------------------------------------------- vectorised engine


def assert_same_tables(spec) -> int:
    """The vectorised tables equal the per-operator reference: numbers bit for bit, JSON by value."""
    import json

    import polars as pl

    from coview.sim.sweep import build_tables, reference_tables

    new, _ = build_tables(spec)
    ref = reference_tables(spec)
    for name in ("configs", "operators"):
        a, b = pl.from_arrow(new[name]), pl.from_arrow(ref[name])
        assert a.schema == b.schema, name
        assert a.drop("extra").equals(b.drop("extra")), name
        for x, y in zip(a["extra"], b["extra"], strict=True):
            assert json.loads(x) == json.loads(y), (name, x, y)
    return new["configs"].num_rows


@pytest.mark.parametrize("sram", ["0", "9000", "17664", "40000", "1e9"])
def test_vectorised_model_equals_the_reference_on_the_tiny_grid(tmp_path, sram):
    from coview.sim.spec import load_spec

    text = SPEC.replace("sram_bytes = 20000", f"sram_bytes = {sram}").replace(
        "batch_sizes = [1, 4]", "batch_sizes = [1, 2, 4, 64]"
    )
    mixed = text.replace("tdp_w = 100", 'tdp_w = 100\nweight_dtype = "int8"')
    for t in (text, mixed):
        assert assert_same_tables(load_spec(write_spec(tmp_path, t))) == 16


def test_vectorised_model_equals_the_reference_on_the_sample_systems(tmp_path):
    from coview.sample_data import DEFAULT_SWEEP, MISMATCH_SWEEP
    from coview.sim.spec import load_spec

    text = (DEFAULT_SWEEP / "spec.toml").read_text()
    for old, new in (
        ("batch_sizes = [1, 2, 4, 8, 16, 32, 64, 128, 256]", "batch_sizes = [1, 8, 256]"),
        ("tp = [1, 2, 4, 8, 16]", "tp = [1, 8, 16]"),
    ):
        assert old in text
        text = text.replace(old, new)
    assert assert_same_tables(load_spec(write_spec(tmp_path, text))) == 17 * 18
    assert assert_same_tables(load_spec(MISMATCH_SWEEP / "spec.toml")) == 48


def test_simulate_writes_the_rows_the_previous_builder_wrote(tmp_path, monkeypatch):
    """The faster table builder changes no stored row: simulate (here in chunks of 13 configs,
    so several chunks pass through the writer thread, one of them short) writes exactly the
    rows of the previous builder (tests/result_tables_v0.py), extra JSON byte for byte."""
    import numpy as np
    import pyarrow as pa
    from result_tables_v0 import result_tables as previous

    from coview.sample_data import DEFAULT_SWEEP, MISMATCH_SWEEP
    from coview.sim import sweep
    from coview.sim.grid import simulate_grid
    from coview.sim.spec import load_spec

    monkeypatch.setattr(sweep, "CHUNK_CONFIGS", 13)
    for folder in (DEFAULT_SWEEP, MISMATCH_SWEEP):
        spec = load_spec(folder / "spec.toml")
        grid, _ = sweep.grid_of(spec)
        assert len(grid) % 13 and len(grid) > 3 * 13  # several chunks, the last one short
        res = simulate_grid(spec.model, [e.system for e in spec.systems], grid, spec.efficiency,
                            spec.power)  # fmt: skip
        ids = spec.config_id_base + np.arange(len(grid))
        want = previous(spec, grid, res, ids)
        out = tmp_path / folder.name
        sweep.simulate(folder / "spec.toml", out)
        for table in ("configs", "operators"):
            got = pq.read_table(out / f"{table}.parquet")
            assert got.num_rows == want[table].num_rows
            assert got.equals(want[table].cast(got.schema)), (folder.name, table)
            assert pq.ParquetFile(out / f"{table}.parquet").metadata.num_row_groups > 3
        # and the in-memory tables, as whatif uses them, on an arbitrary subset of the grid
        pick = np.arange(0, len(grid), 7)
        part = grid.take(pick)
        sub = simulate_grid(spec.model, [e.system for e in spec.systems], part, spec.efficiency,
                            spec.power)  # fmt: skip
        a = sweep.result_tables(spec, part, sub, ids[pick])
        b = previous(spec, part, sub, ids[pick])
        for table in ("configs", "operators"):
            assert a[table].equals(b[table]), (folder.name, table)
        empty = grid.take(np.arange(0))
        nothing = simulate_grid(spec.model, [e.system for e in spec.systems], empty,
                                spec.efficiency, spec.power)  # fmt: skip
        for table, t in sweep.result_tables(spec, empty, nothing, ids[:0]).items():
            assert (
                t.num_rows == 0
                and t.schema == previous(spec, empty, nothing, ids[:0])[table].schema
            )
            assert isinstance(t, pa.Table)


def test_sim_spec_round_trips_through_json():
    from coview.sample_data import DEFAULT_SWEEP, MISMATCH_SWEEP
    from coview.sim.spec import load_spec, spec_from_json, spec_to_json

    for folder in (DEFAULT_SWEEP, MISMATCH_SWEEP):
        spec = load_spec(folder / "spec.toml")
        assert spec_from_json(spec_to_json(spec)) == spec
    with pytest.raises(SpecError, match="not a coview sweep spec"):
        spec_from_json('{"format": "coview-sim-spec/1"}')
    with pytest.raises(SpecError, match="unknown sim_spec format"):
        spec_from_json('{"format": "other"}')
