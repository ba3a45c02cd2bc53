"""The GenZ importer on the committed real GenZ 0.0.16 outputs (and live runs when installed)."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from coview.sample_data import SAMPLE_DIR
from coview.store.importers.genz import load, parse_file_name
from coview.store.importers.llm_analysis import ImportFormatError
from coview.store.ingest import IngestError, ingest
from coview.store.schema import TABLES_BY_NAME

SAMPLE = SAMPLE_DIR / "genz"
FILES = sorted(SAMPLE.glob("genz_*.csv"))
MANIFEST = json.loads((SAMPLE / "manifest.json").read_text())
HAS_GENZ = importlib.util.find_spec("GenZ") is not None


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return load([SAMPLE], tco={"H100": 2.5})


def _config(frames, name: str) -> dict:
    c = frames["configs"].filter(pl.col("extra").str.json_path_match("$.genz_file") == name)
    assert c.height == 1
    return c.row(0, named=True)


def test_sample_is_real_and_varied():
    assert (SAMPLE / "generate.py").is_file()
    assert set(MANIFEST["files"]) == {f.name for f in FILES}
    infos = [parse_file_name(f.name) for f in FILES]
    assert {i["model"] for i in infos} == {"llama2_7b", "llama2_70b"}
    assert {i["system"] for i in infos} == {"H100_GPU", "MI300X", "TPUv5p"}
    assert {i["phase"] for i in infos} == {"prefill", "decode"}


def test_frames_have_exactly_the_schema_columns(frames):
    for table, frame in frames.items():
        assert frame.columns == TABLES_BY_NAME[table].column_names


def test_operator_totals_equal_genz_latency(frames):
    ops = frames["operators"].with_columns(t=pl.col("roofline_time_s") * pl.col("count"))
    totals = dict(ops.group_by("config_id").agg(pl.col("t").sum()).iter_rows())
    for name, genz in MANIFEST["files"].items():
        c = _config(frames, name)
        want = genz["latency_ms"] * 1e-3
        assert totals[c["config_id"]] == pytest.approx(want, rel=1e-3)
        assert c["latency_s"] == pytest.approx(want, rel=1e-3)


def test_units_and_names_on_one_known_config(frames):
    c = _config(frames, "genz_llama2_70b_decode_H100_GPU_tp2_b1.csv")
    assert (c["system_id"], c["model_id"], c["phase"], c["tp"], c["batch_size"]) == (
        "H100_GPU",
        "llama2_70b",
        "decode",
        2,
        1,
    )
    assert (c["input_len"], c["output_len"], c["weight_dtype"]) == (2048, 256, "bf16")
    ops = frames["operators"].filter(pl.col("config_id") == c["config_id"])
    qkv = ops.filter(pl.col("layer_name") == "QKV").row(0, named=True)
    # Llama-2-70B: q 64 heads + k, v 8 heads each, x 128, split over tp=2: 5120 outputs.
    assert qkv["flops"] == 2 * 1 * 8192 * 5120
    assert qkv["bytes_weight"] == 8192 * 5120 * 2  # bf16: GenZ's "MB" is 2^20 bytes
    assert qkv["count"] == 80 and qkv["op_type"] == "qkv_proj" and qkv["op_class"] == "gemm"
    assert set(ops["op_type"]) >= {"attn_qk", "attn_sv", "o_proj", "ffn_down", "all_reduce"}
    assert ops.filter(pl.col("op_type") == "lm_head")["count"].to_list() == [1]
    # the weights GenZ counts: 80 layers x (qkv + o + up/gate + down) + lm_head, per chip
    per_layer = 8192 * 5120 + 4096 * 8192 + 8192 * 28672 + 14336 * 8192
    assert c["weight_bytes_per_chip"] == pytest.approx((80 * per_layer + 8192 * 16000) * 2)
    sysrow = frames["systems"].filter(pl.col("system_id") == "H100_GPU").row(0, named=True)
    assert sysrow["name"] == "H100"
    assert sysrow["hbm_bw_bytes_per_s"] == 3400 * 2**30
    assert "H100_GPU" in sysrow["source"] and sysrow["sram_bytes"] is None


def test_bound_names_the_largest_time(frames):
    ops = frames["operators"].filter(pl.col("bound").is_not_null())
    for r in ops.iter_rows(named=True):
        times = {
            "compute": r["compute_time_s"],
            "memory": r["memory_time_s"],
            "comm": r["comm_time_s"],
        }
        assert times[r["bound"]] == max(times.values())
        assert r["roofline_time_s"] == pytest.approx(max(times.values()), rel=1e-9)


def test_tco_only_where_given(frames):
    cfg = frames["configs"]
    h100 = cfg.filter(pl.col("system_id") == "H100_GPU")
    assert h100["perf_per_tco"].null_count() == 0
    row = h100.row(0, named=True)
    assert row["tco_usd_per_hour"] == 2.5 * row["tp"]
    assert cfg.filter(pl.col("system_id") != "H100_GPU")["tco_usd_per_hour"].null_count() > 0
    assert cfg["power_w"].null_count() == cfg.height


def test_ingest_into_a_store_and_pareto(tmp_path):
    store = tmp_path / "s.duckdb"
    report = ingest([SAMPLE], store, fmt="genz", progress=False, options={"tco": {"H100": 2.5}})
    assert report.configs == len(FILES)
    con = duckdb.connect(str(store), read_only=True)
    sim = con.execute("SELECT simulator FROM sweeps").fetchall()
    assert sim == [("genz",)]
    # Pareto needs perf_per_tco: only H100 has a price, so only H100 has frontier points.
    rows = con.execute(
        "SELECT DISTINCT system_id FROM configs WHERE is_pareto ORDER BY 1"
    ).fetchall()
    assert rows == [("H100_GPU",)]


def _copy(tmp_path: Path, name: str, new_name: str | None = None) -> Path:
    d = tmp_path / "in"
    d.mkdir(exist_ok=True)
    shutil.copy(SAMPLE / name, d / (new_name or name))
    return d


def _set_cell(text: str, layer: str, column: str, value: str) -> str:
    rows = list(csv.reader(io.StringIO(text)))
    col = rows[0].index(column)
    for r in rows[1:]:
        if r[0] == layer:
            r[col] = value
            break
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda t: t.replace("Latency (msec)", "Latency"), "missing GenZ column"),
        (
            lambda t: "\n".join(x for x in t.splitlines() if not x.startswith("End Repeat")),
            "never closed",
        ),
        (lambda t: _set_cell(t, "QKV", "Memory time (msec)", "nan"), "finite"),
        (lambda t: _set_cell(t, "QKV", "Latency (msec)", "5"), "not the largest"),
    ],
)
def test_bad_tables_refused_and_store_unchanged(tmp_path, mutate, message):
    store = tmp_path / "s.duckdb"
    ingest([SAMPLE / FILES[0].name], store, fmt="genz", progress=False)
    before = store.read_bytes()
    d = _copy(tmp_path, FILES[1].name)
    f = d / FILES[1].name
    f.write_text(mutate(f.read_text()))
    with pytest.raises(IngestError) as exc:
        ingest([d], store, fmt="genz", progress=False, sweep_id="other")
    assert message in str(exc.value)
    assert store.read_bytes() == before


def test_bad_file_names(tmp_path):
    with pytest.raises(ImportFormatError, match="genz_<model>_<phase>"):
        parse_file_name("llama2_70b_decode.csv")
    d = _copy(
        tmp_path,
        "genz_llama2_70b_decode_H100_GPU_tp2_b1.csv",
        "genz_llama2_70b_decode_H100_GPU_tp2_b8.csv",
    )
    with pytest.raises(ImportFormatError, match="says b8"):
        load([d])
    with pytest.raises(ImportFormatError, match="no GenZ table is for"):
        load([SAMPLE], tco={"B100": 3.0})


@pytest.mark.skipif(not HAS_GENZ, reason="GenZ (coview[genz]) not installed")
def test_live_genz_round_trip_and_no_tmp_litter(tmp_path):
    from coview.sim.genz_runtime import private_data_dir, run_config

    litter = Path("/tmp/genz/data/model")
    before = set(litter.iterdir()) if litter.is_dir() else set()
    with private_data_dir():
        run = run_config("llama2_7b", "TPUv5p", "decode", 4, 1024, 128, 1)
        # Llama-2-70B bf16 at tp=1 does not fit one 80 GB H100: GenZ raises, we record it.
        big = run_config("llama2_70b", "H100_GPU", "prefill", 1, 1024, 0, 1)
    after = set(litter.iterdir()) if litter.is_dir() else set()
    assert after == before
    assert run.fits_memory and not big.fits_memory and big.latency_ms > 0
    name = "genz_llama2_7b_decode_TPUv5p_tp1_b4.csv"
    (tmp_path / name).write_text(run.model_df.to_csv(index=False))
    c = load([tmp_path])["configs"].row(0, named=True)
    assert c["latency_s"] == pytest.approx(run.latency_ms * 1e-3, rel=1e-9)
    assert (c["input_len"], c["output_len"], c["fits_memory"]) == (1024, 128, True)


def test_hostile_layer_name_never_reaches_the_error_raw(tmp_path):
    d = _copy(tmp_path, FILES[0].name)
    f = d / FILES[0].name
    text = _set_cell(f.read_text(), "QKV", "Latency (msec)", "5").replace(
        "QKV,", "\x1b[31mQKV[bold],", 1
    )
    f.write_text(text)
    with pytest.raises(ImportFormatError) as exc:
        load([d])
    assert "\x1b" not in str(exc.value) and "not the largest" in str(exc.value)
