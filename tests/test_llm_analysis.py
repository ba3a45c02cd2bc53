"""The llm-analysis importer on the committed real outputs of the tool (and one live run)."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from coview.sample_data import SAMPLE_DIR
from coview.store.importers import llm_analysis as la
from coview.store.importers.llm_analysis import ImportFormatError, load, parse_file_name
from coview.store.schema import TABLES_BY_NAME

SAMPLE = SAMPLE_DIR / "llm-analysis"
FILES = sorted(SAMPLE.glob("*-summary.json"))
HAS_TOOL = importlib.util.find_spec("llm_analysis") is not None


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    return load([SAMPLE])


def _summary(name: str) -> dict:
    return json.loads((SAMPLE / name).read_text())


def _config(frames, file_name: str, phase: str) -> dict:
    """The config row imported from one file, found through extra (not through the importer)."""
    c = frames["configs"].filter(
        (pl.col("extra").str.json_path_match("$.llm_analysis_file") == file_name)
        & (pl.col("phase") == phase)
    )
    assert c.height == 1
    return c.row(0, named=True)


def test_sample_is_real_and_varied():
    assert 20 <= len(FILES) <= 40
    assert (SAMPLE / "regenerate.sh").is_file() and (SAMPLE / "README.md").is_file()
    assert not list(SAMPLE.glob("*-readable.txt"))
    infos = [parse_file_name(f.name) for f in FILES]
    assert {i.gpu for i in infos} == {"h100-sxm-80gb", "a100-sxm-80gb"}
    assert {i.model for i in infos} == {
        "upstage_Llama-2-70b-instruct-v2",
        "NousResearch_Llama-2-7b-hf",
    }
    assert {i.dtype for i in infos} >= {"w16a16e16", "w8a8e16"}
    assert {i.tp for i in infos} >= {1, 2, 4, 8}


def test_frames_have_exactly_the_schema_columns(frames):
    assert set(frames) == {"sweeps", "systems", "models", "configs", "operators"}
    for name, df in frames.items():
        assert df.columns == TABLES_BY_NAME[name].column_names, name
        for col in TABLES_BY_NAME[name].columns:
            if col.required:
                assert df[col.name].null_count() == 0, (name, col.name)
    assert frames["configs"].height == 2 * len(FILES)
    assert frames["configs"]["config_id"].to_list() == list(range(1, 2 * len(FILES) + 1))


@pytest.mark.parametrize(
    ("name", "model", "gpu", "dtype", "tp", "suffix"),
    [
        (
            "upstage_Llama-2-70b-instruct-v2-h100-sxm-80gb-w8a8e16-tp4-pp1-dp1-sp4-fe0.7-ep1-hbme0.9-summary.json",
            "upstage_Llama-2-70b-instruct-v2",
            "h100-sxm-80gb",
            "w8a8e16",
            4,
            "",
        ),
        (
            "my-org_llama-3-8b-v2-mi250x-128gb-w4a16e16-tp2-pp2-dp3-sp2-fe1-ep1-hbme1-bs8-run-2-summary.json",
            "my-org_llama-3-8b-v2",
            "mi250x-128gb",
            "w4a16e16",
            2,
            "-bs8-run-2",
        ),
        # a10 is a prefix of a100: the longest known name must win
        (
            "x-1-a100-pcie-40gb-w16a16e32-tp1-pp1-dp1-sp1-fe0.55-ep1-hbme0.6-summary.json",
            "x-1",
            "a100-pcie-40gb",
            "w16a16e32",
            1,
            "",
        ),
        # a GPU llm-analysis 0.2.2 does not know still parses by shape
        (
            "NousResearch_Llama-2-7b-hf-b200-sxm-192gb-w16a16e16-tp8-pp1-dp1-sp8-fe0.7-ep1-hbme0.9-summary.json",
            "NousResearch_Llama-2-7b-hf",
            "b200-sxm-192gb",
            "w16a16e16",
            8,
            "",
        ),
    ],
)
def test_parse_file_name(name, model, gpu, dtype, tp, suffix):
    info = parse_file_name(name)
    assert (info.model, info.gpu, info.dtype, info.tp, info.suffix) == (
        model,
        gpu,
        dtype,
        tp,
        suffix,
    )


def test_parse_file_name_fields():
    info = parse_file_name(
        "a_b-c-h100-pcie-80gb-w8a16e32-tp4-pp2-dp3-sp4-fe0.55-ep1-hbme0.6-summary.json"
    )
    assert (info.weight_bits, info.act_bits, info.embedding_bits) == (8, 16, 32)
    assert (info.pp, info.dp, info.sp, info.ep) == (2, 3, 4, 1)
    assert (info.fe, info.hbme) == (0.55, 0.6)


@pytest.mark.parametrize(
    "f", FILES, ids=lambda f: f.name.replace("-fe0.7-ep1-hbme0.9", "").removesuffix("-summary.json")
)
def test_committed_names_agree_with_their_json(f):
    info = parse_file_name(f.name)
    s = json.loads(f.read_text())
    assert info.tp == s["tp_size"] and info.pp == s["pp_size"]
    assert info.suffix == f"-bs{s['batch_size_per_gpu']}"
    assert info.fe == round(s["flops_efficiency"], 2)


@pytest.mark.parametrize(
    "f", FILES, ids=lambda f: f.name.replace("-fe0.7-ep1-hbme0.9", "").removesuffix("-summary.json")
)
def test_values_carried_over(frames, f):
    s = json.loads(f.read_text())
    info = parse_file_name(f.name)
    for phase in ("prefill", "decode"):
        c = _config(frames, f.name, phase)
        assert c["latency_s"] == s[f"{phase}_latency"]
        assert c["throughput_tok_per_s"] == s[f"{phase}_tokens_per_sec"]
        assert c["usd_per_1m_tokens"] == pytest.approx(
            1000 * s[f"{phase}_cost_per_1k_tokens"], rel=1e-12
        )
        assert c["total_flops"] == s[f"{phase}_num_flops_fwd_total"]
        assert (c["batch_size"], c["input_len"], c["output_len"]) == (
            s["batch_size_per_gpu"],
            s["seq_len"],
            s["num_tokens_to_generate"],
        )
        assert (c["tp"], c["pp"], c["dp"], c["num_chips"]) == (
            s["tp_size"],
            s["pp_size"],
            1,
            s["tp_size"] * s["pp_size"],
        )
        assert (c["system_id"], c["model_id"]) == (info.gpu, info.model)
        assert c["weight_bytes_per_chip"] == s["weight_memory_per_gpu"]
        assert c["kv_bytes_per_chip"] == (
            s["kv_cache_memory_per_gpu"] if phase == "decode" else None
        )
        assert c["fits_memory"] is True  # the tool refuses to write runs that do not fit
        # perf_per_tco is tokens/s per USD/h, consistent with the tool's own cost per token
        assert c["perf_per_tco"] == pytest.approx(1e6 / 3600 / c["usd_per_1m_tokens"], rel=1e-8)
        extra = json.loads(c["extra"])
        assert extra["total_latency"] == s["total_latency"]
        assert "prefill_latency" not in extra and "decode_latency" not in extra
        other = "decode" if phase == "prefill" else "prefill"
        assert f"{other}_max_batch_size_per_gpu" not in extra
        assert extra[f"{phase}_max_batch_size_per_gpu"] == s[f"{phase}_max_batch_size_per_gpu"]


def test_dtypes(frames):
    c = frames["configs"]
    w8 = c.filter(pl.col("extra").str.json_path_match("$.dtype_config") == "w8a8e16")
    w4 = c.filter(pl.col("extra").str.json_path_match("$.dtype_config") == "w4a16e16")
    w16 = c.filter(pl.col("extra").str.json_path_match("$.dtype_config") == "w16a16e16")
    assert w8.height and w4.height and w16.height
    assert set(w8["weight_dtype"]) == {"int8"} and set(w8["act_dtype"]) == {"int8"}
    assert set(w8["kv_dtype"]) == {"int8"}
    assert set(w4["weight_dtype"]) == {"int4"} and set(w4["act_dtype"]) == {"bf16"}
    assert set(w16["weight_dtype"]) == {"bf16"} and set(w16["kv_dtype"]) == {"bf16"}


def test_operator_rows_sum_to_latency_and_map_names(frames):
    c, o = frames["configs"], frames["operators"]
    sums = o.group_by("config_id").agg(
        (pl.col("roofline_time_s") * pl.col("count")).sum().alias("t")
    )
    joined = c.join(sums, on="config_id", how="left")
    assert joined["t"].null_count() == 0
    for lat, t in zip(joined["latency_s"], joined["t"], strict=True):
        assert t == pytest.approx(lat, rel=1e-9)
    assert set(o["op_type"]) == {
        "input_embedding",
        "rmsnorm",
        "attn",
        "kv_cache",
        "all_reduce",
        "mlp",
        "lm_head",
    }
    classes = dict(o.select("op_type", "op_class").unique().iter_rows())
    assert classes == {
        "input_embedding": "elementwise",
        "rmsnorm": "norm",
        "attn": "attention",
        "kv_cache": "attention",
        "all_reduce": "collective",
        "mlp": "gemm",
        "lm_head": "gemm",
    }
    # op_index runs 0..n-1 within each config
    for _, g in o.group_by("config_id"):
        assert sorted(g["op_index"]) == list(range(g.height))


def test_operator_counts_and_values_for_one_file(frames):
    name = "upstage_Llama-2-70b-instruct-v2-h100-sxm-80gb-w16a16e16-tp4-pp1-dp1-sp4-fe0.7-ep1-hbme0.9-bs32-summary.json"
    s = _summary(name)
    for phase in ("prefill", "decode"):
        cid = _config(frames, name, phase)["config_id"]
        ops = {
            r["op_type"]: r
            for r in frames["operators"].filter(pl.col("config_id") == cid).iter_rows(named=True)
        }
        assert ops["attn"]["count"] == 80 and ops["mlp"]["count"] == 80
        assert ops["rmsnorm"]["count"] == 160 and ops["all_reduce"]["count"] == 160
        assert ops["lm_head"]["count"] == 1 and ops["input_embedding"]["count"] == 1
        assert ops["attn"]["roofline_time_s"] * 80 == pytest.approx(s[f"{phase}_latency_fwd_attn"])
        assert ops["all_reduce"]["roofline_time_s"] * 160 == pytest.approx(
            s[f"{phase}_latency_fwd_tp_comm"]
        )
        assert ops["lm_head"]["roofline_time_s"] == s[f"{phase}_latency_fwd_output_embedding_loss"]
        ar = ops["all_reduce"]
        assert ar["bound"] == "comm" and ar["comm_time_s"] == ar["roofline_time_s"]
        assert ("kv_cache" in ops) == (phase == "decode")
    kv = ops["kv_cache"]
    assert kv["memory_time_s"] * kv["count"] == pytest.approx(s["kv_cache_latency"])
    assert kv["bound"] == "memory"


def test_no_all_reduce_at_tp1(frames):
    c = frames["configs"].filter(pl.col("tp") == 1)
    assert c.height
    o = frames["operators"].join(c.select("config_id"), on="config_id")
    assert o.height and "all_reduce" not in set(o["op_type"])


def test_columns_the_tool_does_not_produce_stay_null(frames):
    o, c = frames["operators"], frames["configs"]
    for col in (
        "flops",
        "bytes_read",
        "bytes_written",
        "bytes_weight",
        "bytes_comm",
        "compute_time_s",
        "weights_location",
        "power_w",
    ):
        assert o[col].null_count() == o.height, col
    not_comm = o.filter(pl.col("op_type") != "all_reduce")
    assert not_comm["comm_time_s"].null_count() == not_comm.height
    not_kv = o.filter(pl.col("op_type") != "kv_cache")
    assert not_kv["memory_time_s"].null_count() == not_kv.height
    split = o.filter(~pl.col("op_type").is_in(["all_reduce", "kv_cache"]))
    assert split["bound"].null_count() == split.height
    for col in ("power_w", "energy_j", "is_pareto"):
        assert c[col].null_count() == c.height, col
    s = frames["systems"]
    for col in ("peak_flops_fp8", "sram_bytes", "sram_bw_bytes_per_s", "tdp_w"):
        assert s[col].null_count() == s.height, col
    assert frames["models"]["total_params"].null_count() == frames["models"].height


def test_systems_models_sweeps(frames):
    s = {r["system_id"]: r for r in frames["systems"].iter_rows(named=True)}
    h100 = s["h100-sxm-80gb"]
    assert h100["name"] == "H100 SXM 80GB" and "h100-sxm-80gb" in h100["source"]
    assert h100["vendor"] == "NVIDIA"
    assert h100["peak_flops_bf16"] == 989e12 and h100["peak_ops_int8"] == 1979e12
    assert h100["hbm_bytes"] == 80 * 2**30 and h100["hbm_bw_bytes_per_s"] == 3350e9
    assert h100["ici_bw_bytes_per_s"] == 450e9
    assert s["a100-sxm-80gb"]["name"] == "A100 SXM 80GB"
    # the price the regenerate script passed, recovered from the tool's cost per token
    assert (h100["tco_usd_per_chip_hour"], s["a100-sxm-80gb"]["tco_usd_per_chip_hour"]) == (
        4.0,
        2.5,
    )
    m = {r["model_id"]: r for r in frames["models"].iter_rows(named=True)}
    big = m["upstage_Llama-2-70b-instruct-v2"]
    assert big["name"] == "Llama-2-70b-instruct-v2"
    assert "upstage/Llama-2-70b-instruct-v2" in big["source"]
    assert m["NousResearch_Llama-2-7b-hf"]["name"] == "Llama-2-7b-hf"
    assert (big["num_layers"], big["hidden_size"], big["num_heads"], big["num_kv_heads"]) == (
        80,
        8192,
        64,
        8,
    )
    assert big["head_dim"] == 128 and big["vocab_size"] == 32000
    sw = frames["sweeps"].row(0, named=True)
    assert (sw["sweep_id"], sw["simulator"]) == ("llm-analysis", "llm-analysis")
    assert str(SAMPLE) in sw["source_path"]
    assert set(frames["configs"]["sweep_id"]) == {"llm-analysis"}
    assert set(load([FILES[0]], sweep_id="mine")["configs"]["sweep_id"]) == {"mine"}


@pytest.mark.parametrize(
    ("display", "gpu"),
    [
        ("H100 SXM 80GB", "h100-sxm-80gb"),
        ("MI250 128GB", "mi250-128gb"),
        ("A100 PCIe 40GB", "a100-pcie-40gb"),
    ],
)
def test_gpu_display_name(display, gpu):
    assert la.gpu_display_name(gpu) == display


def test_dp_comes_from_the_file_name(tmp_path):
    src = FILES[0]
    dst = tmp_path / src.name.replace("-dp1-", "-dp2-")
    shutil.copy(src, dst)
    one, two = load([src])["configs"], load([dst])["configs"]
    for a, b in zip(one.iter_rows(named=True), two.iter_rows(named=True), strict=True):
        assert b["dp"] == 2 and b["num_chips"] == 2 * a["num_chips"]
        assert b["batch_size"] == 2 * a["batch_size"]
        assert b["throughput_tok_per_s"] == pytest.approx(2 * a["throughput_tok_per_s"])
        assert b["usd_per_1m_tokens"] == a["usd_per_1m_tokens"]
        assert b["perf_per_tco"] == pytest.approx(a["perf_per_tco"])


def test_kv_dtype_follows_kv_memory(tmp_path):
    """A run with --kv_cache_dtype_bytes 1 on 16-bit activations has half the KV memory."""
    src = (
        SAMPLE
        / "upstage_Llama-2-70b-instruct-v2-h100-sxm-80gb-w16a16e16-tp4-pp1-dp1-sp4-fe0.7-ep1-hbme0.9-bs32-summary.json"
    )
    s = json.loads(src.read_text())
    s["kv_cache_memory_per_gpu"] /= 2
    (tmp_path / src.name).write_text(json.dumps(s))
    c = load([tmp_path])["configs"]
    assert set(c["kv_dtype"]) == {"int8"} and set(c["act_dtype"]) == {"bf16"}


def test_same_result_without_the_tool_installed(frames, monkeypatch):
    """CI does not install llm-analysis: the 0.2.2 snapshot must give the same store."""
    monkeypatch.setattr(la, "_package_dir", lambda: None)
    la.gpu_configs.cache_clear()
    la.model_configs.cache_clear()
    try:
        alone = load([SAMPLE])
    finally:
        la.gpu_configs.cache_clear()
        la.model_configs.cache_clear()
    for name in ("systems", "models", "configs", "operators"):
        assert alone[name].equals(frames[name]), name


@pytest.mark.skipif(not HAS_TOOL, reason="llm-analysis is not installed")
def test_snapshot_matches_the_installed_tool():
    pkg = la._package_dir()
    for name, vals in la._GPU_SNAPSHOT.items():
        cfg = json.loads((pkg / "gpu_configs" / f"{name}.json").read_text())
        assert tuple(cfg[k] for k in la._GPU_KEYS) == vals, name
    for name, (layers, heads, hidden, vocab, kv, ffn) in la._MODEL_SNAPSHOT.items():
        cfg = json.loads((pkg / "model_configs" / f"{name}.json").read_text())
        assert (cfg["num_layers"], cfg["n_head"], cfg["hidden_dim"], cfg["vocab_size"]) == (
            layers,
            heads,
            hidden,
            vocab,
        ), name
        assert (cfg.get("num_key_value_heads"), cfg.get("ffn_embed_dim")) == (kv, ffn), name


# ----------------------------------------------------------------------------- bad input


def _write(tmp_path: Path, name: str, content: str) -> Path:
    p = tmp_path / name
    p.write_text(content)
    return p


GOOD = FILES[0].name


@pytest.mark.parametrize(
    ("name", "mutate", "needle"),
    [
        (GOOD, lambda t: t[: len(t) // 2], "not valid JSON"),
        (GOOD, lambda t: "[1, 2]", "expected a JSON object"),
        (
            GOOD,
            lambda t: json.dumps({k: v for k, v in json.loads(t).items() if k != "decode_latency"}),
            "required key 'decode_latency' is missing",
        ),
        (
            GOOD,
            lambda t: json.dumps({**json.loads(t), "prefill_latency": "fast"}),
            "'prefill_latency' should be a number",
        ),
        (
            GOOD,
            lambda t: json.dumps({**json.loads(t), "decode_latency": float("nan")}),
            "not a finite number",
        ),
        (GOOD, lambda t: json.dumps({**json.loads(t), "batch_size_per_gpu": 2.5}), "whole number"),
        (GOOD, lambda t: json.dumps({**json.loads(t), "decode_latency": -1.0}), "must be positive"),
        (
            GOOD,
            lambda t: json.dumps({**json.loads(t), "tp_size": 8}),
            "file name says tp1 but the JSON says tp_size = 8",
        ),
        ("results-summary.json", lambda t: t, "does not have llm-analysis's"),
        (
            "NousResearch_Llama-2-7b-hf-w16a16e16-tp1-pp1-dp1-sp1-fe0.7-ep1-hbme0.9-summary.json",
            lambda t: t,
            "cannot find the GPU",
        ),
    ],
)
def test_malformed_files_give_clear_errors(tmp_path, name, mutate, needle):
    bad = _write(tmp_path, name, mutate(FILES[0].read_text()))
    with pytest.raises(ImportFormatError) as err:
        load([bad])
    e = err.value
    assert needle in e.message
    assert e.file.endswith(name) and e.hint
    assert name in str(e) and "Hint:" in str(e)
    assert isinstance(e, ValueError)


def test_one_bad_file_in_a_directory_fails_the_whole_load(tmp_path):
    for f in FILES[:3]:
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / FILES[1].name).write_text("{")
    with pytest.raises(ImportFormatError, match="not valid JSON") as err:
        load([tmp_path])
    assert err.value.file.endswith(FILES[1].name)


def test_paths_that_hold_no_summaries(tmp_path):
    with pytest.raises(ImportFormatError, match="no such file"):
        load([tmp_path / "missing"])
    (tmp_path / "x-summary-readable.txt").write_text("not json")
    with pytest.raises(ImportFormatError, match="no \\*-summary.json files") as err:
        load([tmp_path])
    assert "--format native" in err.value.hint


def test_files_named_twice_are_read_once(tmp_path):
    frames = load([SAMPLE, FILES[0]])
    assert frames["configs"].height == 2 * len(FILES)


# ----------------------------------------------------------------------------- the real tool


@pytest.mark.skipif(
    not HAS_TOOL, reason="llm-analysis is not installed (not in the CI test extras)"
)
def test_real_tool_run_imports(tmp_path):
    out = tmp_path / "out"
    cmd = [
        sys.executable, "-m", "llm_analysis.analysis", "infer",
        "--model_name", "NousResearch_Llama-2-7b-hf", "--gpu_name", "h100-pcie-80gb",
        "--dtype_name", "w16a16e16", "--tp_size", "2", "--batch_size_per_gpu", "1",
        "--seq_len", "128", "--num_tokens_to_generate", "16",
        "--kv_cache_dtype_bytes", "1", "--cost_per_gpu_hour", "3",
        "--output_dir", str(out), "--log_level", "ERROR",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    [summary] = list(out.glob("*-summary.json"))
    s = json.loads(summary.read_text())
    frames = load([out])
    c = {r["phase"]: r for r in frames["configs"].iter_rows(named=True)}
    assert c["decode"]["latency_s"] == s["decode_latency"]
    assert c["prefill"]["latency_s"] == s["prefill_latency"]
    assert c["decode"]["usd_per_1m_tokens"] == pytest.approx(1000 * s["decode_cost_per_1k_tokens"])
    assert c["decode"]["kv_dtype"] == "int8" and c["decode"]["act_dtype"] == "bf16"
    assert c["decode"]["tco_usd_per_hour"] == pytest.approx(6.0)
    sysrow = frames["systems"].row(0, named=True)
    assert sysrow["name"] == "H100 PCIe 80GB" and sysrow["hbm_bw_bytes_per_s"] == 2000e9
    o = frames["operators"]
    for cid in (1, 2):
        part = o.filter(pl.col("config_id") == cid)
        total = sum(r * n for r, n in zip(part["roofline_time_s"], part["count"], strict=True))
        lat = frames["configs"].filter(pl.col("config_id") == cid)["latency_s"][0]
        assert math.isclose(total, lat, rel_tol=1e-9)


# ----------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def la_store(tmp_path_factory) -> Path:
    from coview.store.ingest import ingest

    path = tmp_path_factory.mktemp("la-store") / "la.duckdb"
    report = ingest([SAMPLE], path, fmt="llm-analysis", progress=False)
    assert report.configs == 2 * len(FILES)
    return path


def test_ingest_end_to_end_and_query(la_store):
    import duckdb

    name = "upstage_Llama-2-70b-instruct-v2-a100-sxm-80gb-w8a8e16-tp4-pp1-dp1-sp4-fe0.7-ep1-hbme0.9-bs32-summary.json"
    s = _summary(name)
    con = duckdb.connect(str(la_store), read_only=True)
    try:
        [(sim, n_cfg, n_ops)] = con.execute(
            "SELECT w.simulator, (SELECT count(*) FROM configs), (SELECT count(*) FROM operators) "
            "FROM sweeps w WHERE sweep_id = 'llm-analysis'"
        ).fetchall()
        assert (sim, n_cfg) == ("llm-analysis", 2 * len(FILES)) and n_ops > 5 * n_cfg
        row = con.execute(
            "SELECT c.latency_s, c.usd_per_1m_tokens, s.name, s.source, m.num_layers "
            "FROM configs c JOIN systems s USING (system_id) JOIN models m USING (model_id) "
            "WHERE c.phase = 'decode' AND json_extract_string(c.extra, '$.llm_analysis_file') = ?",
            [name],
        ).fetchall()
        assert len(row) == 1
        lat, usd, sys_name, source, layers = row[0]
        assert lat == s["decode_latency"]
        assert usd == pytest.approx(1000 * s["decode_cost_per_1k_tokens"], rel=1e-12)
        assert sys_name == "A100 SXM 80GB" and "a100-sxm-80gb" in source and layers == 80
        # operators add up to the config's latency in the store too
        worst = con.execute(
            "SELECT max(abs(t / c.latency_s - 1)) FROM configs c JOIN ("
            "  SELECT config_id, sum(roofline_time_s * count) AS t FROM operators GROUP BY 1"
            ") USING (config_id)"
        ).fetchone()[0]
        assert worst < 1e-9
        # Pareto flags were computed by ingest, per (sweep, model, phase, system)
        groups = con.execute(
            "SELECT model_id, phase, system_id, count(*) FILTER (WHERE is_pareto) "
            "FROM configs GROUP BY ALL"
        ).fetchall()
        assert len(groups) == 8 and all(p >= 1 for *_, p in groups)
        nulls = con.execute(
            "SELECT count(*) FILTER (WHERE compute_time_s IS NOT NULL OR power_w IS NOT NULL "
            "OR weights_location IS NOT NULL) FROM operators"
        ).fetchone()[0]
        assert nulls == 0
    finally:
        con.close()


def test_ingest_of_a_bad_summary_leaves_the_store_unchanged(la_store, tmp_path):
    from coview.store.ingest import IngestError, ingest

    store = tmp_path / "copy.duckdb"
    shutil.copy(la_store, store)
    before = store.read_bytes()
    bad = tmp_path / "in"
    bad.mkdir()
    shutil.copy(FILES[0], bad / FILES[0].name)
    (bad / FILES[1].name).write_text('{"batch_size_per_gpu": 1}')
    with pytest.raises(IngestError) as err:
        ingest([bad], store, fmt="llm-analysis", progress=False, sweep_id="other")
    assert FILES[1].name in str(err.value) and "required key 'seq_len'" in str(err.value)
    assert store.read_bytes() == before
