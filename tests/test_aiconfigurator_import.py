"""The aiconfigurator importer on the committed real aiconfigurator 0.12.0 pareto.csv files."""

from __future__ import annotations

import csv
import shutil

import duckdb
import polars as pl
import pytest

from coview.sample_data import SAMPLE_DIR
from coview.store.importers.aiconfigurator import load
from coview.store.importers.llm_analysis import ImportFormatError
from coview.store.ingest import IngestError, ingest
from coview.store.schema import TABLES_BY_NAME

SAMPLE = SAMPLE_DIR / "aiconfigurator"
AGG = SAMPLE / "agg_llama3.1-70b_h100_sxm" / "pareto.csv"
DISAGG = SAMPLE / "disagg_llama3.1-8b_h100_sxm" / "pareto.csv"


def _rows(path):
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_agg_rows_become_a_prefill_and_a_decode_config():
    frames = load([AGG])
    assert set(frames) == {"sweeps", "systems", "models", "configs"}  # no operator table
    for table, frame in frames.items():
        assert frame.columns == TABLES_BY_NAME[table].column_names
    rows = _rows(AGG)
    cfg = frames["configs"]
    assert cfg.height == 2 * len(rows)
    first = rows[0]
    pre, dec = cfg.row(0, named=True), cfg.row(1, named=True)
    assert (pre["phase"], dec["phase"]) == ("prefill", "decode")
    assert pre["latency_s"] == pytest.approx(float(first["ttft"]) / 1000)
    assert dec["latency_s"] == pytest.approx(float(first["tpot"]) / 1000)
    assert dec["throughput_tok_per_s"] == float(first["tokens/s"])
    assert pre["throughput_tok_per_s"] == pytest.approx(float(first["seq/s"]) * int(first["isl"]))
    assert dec["num_chips"] == int(first["num_total_gpus"]) and dec["tp"] == int(first["tp"])
    assert dec["weight_dtype"] == "bf16" and dec["batch_size"] == int(first["global_bs"])
    assert dec["tco_usd_per_hour"] is None and dec["power_w"] is None  # power_w 0.0 = none
    assert "no operator breakdown" in dec["extra"]


def test_disagg_phases_use_their_own_workers():
    cfg = load([DISAGG])["configs"]
    r = _rows(DISAGG)[0]
    pre = cfg.filter(pl.col("phase") == "prefill").row(0, named=True)
    dec = cfg.filter(pl.col("phase") == "decode").row(0, named=True)
    assert pre["num_chips"] == int(r["(p)tp"]) * int(r["(p)pp"]) * int(r["(p)dp"]) * int(
        r["(p)workers"]
    )
    assert dec["num_chips"] == int(r["(d)tp"]) * int(r["(d)pp"]) * int(r["(d)dp"]) * int(
        r["(d)workers"]
    )
    assert dec["batch_size"] == int(r["(d)global_bs"])


def test_ingest_with_tco_gives_a_frontier(tmp_path):
    store = tmp_path / "s.duckdb"
    ingest(
        [SAMPLE], store, fmt="aiconfigurator", progress=False, options={"tco": {"h100_sxm": 2.5}}
    )
    con = duckdb.connect(str(store), read_only=True)
    assert con.execute("SELECT count(*) FROM operators").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM configs WHERE is_pareto").fetchone()[0] > 0
    ppt = con.execute(
        "SELECT min(perf_per_tco * tco_usd_per_hour - throughput_tok_per_s) FROM configs"
    ).fetchone()[0]
    assert abs(ppt) < 1e-6


def test_bad_files_refused(tmp_path):
    bad = tmp_path / "pareto.csv"
    bad.write_text(AGG.read_text().replace("tpot", "tpot_ms", 1))
    with pytest.raises(ImportFormatError, match="missing aiconfigurator column"):
        load([bad])
    store = tmp_path / "s.duckdb"
    with pytest.raises(IngestError, match="tpot"):
        ingest([bad], store, fmt="aiconfigurator", progress=False)
    assert not store.exists()
    d = tmp_path / "d"
    d.mkdir()
    shutil.copy(AGG, d / "pareto.csv")
    with pytest.raises(ImportFormatError, match="no pareto.csv row is for"):
        load([d], tco={"b200_sxm": 5.0})
