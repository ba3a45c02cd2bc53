"""Schema v1: every contract name exists, and every table and column is documented in the DB."""

import duckdb

from coview.store.docs import render_compact, render_markdown, table_docs
from coview.store.schema import TABLES, create_schema, has_schema

CONTRACT = {
    "sweeps": "sweep_id name simulator simulator_version source_path ingested_at",
    "systems": "system_id name vendor peak_flops_bf16 peak_flops_fp8 peak_ops_int8 hbm_bytes "
    "hbm_bw_bytes_per_s sram_bytes sram_bw_bytes_per_s ici_bw_bytes_per_s tdp_w "
    "tco_usd_per_chip_hour source",
    "models": "model_id name num_layers hidden_size num_heads num_kv_heads head_dim ffn_dim "
    "vocab_size total_params source",
    "configs": "config_id sweep_id system_id model_id phase batch_size input_len output_len tp pp "
    "dp ep num_chips weight_dtype act_dtype kv_dtype latency_s throughput_tok_per_s "
    "tco_usd_per_hour perf_per_tco usd_per_1m_tokens weight_bytes_per_chip kv_bytes_per_chip "
    "fits_memory power_w energy_j total_flops is_pareto extra",
    "operators": "config_id op_index layer_name op_type op_class count flops bytes_read "
    "bytes_written bytes_weight bytes_comm compute_time_s memory_time_s comm_time_s "
    "roofline_time_s bound weights_location power_w extra",
}


def test_contract_names_present():
    con = duckdb.connect()
    create_schema(con)
    assert has_schema(con)
    for table, cols in CONTRACT.items():
        got = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        for col in cols.split():
            assert col in got, f"{table}.{col} missing"


def test_every_table_and_column_commented():
    con = duckdb.connect()
    create_schema(con)
    docs = table_docs(con)
    assert [t["name"] for t in docs] == [t.name for t in TABLES]
    for t in docs:
        assert t["comment"], t["name"]
        for c in t["columns"]:
            assert c["comment"], f"{t['name']}.{c['name']}"


def test_create_schema_is_idempotent_and_renders():
    con = duckdb.connect()
    create_schema(con)
    create_schema(con)
    md = render_markdown(con)
    assert "## `operators`" in md and "roofline_time_s" in md
    assert "latency_s DOUBLE --" in render_compact(con)
