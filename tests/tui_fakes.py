"""Deterministic demo stores and a scripted pipeline for the TUI and browse tests.

The demo store is built with create_schema + SQL only (no ingest), so the TUI tests and
snapshots do not depend on the sample data's exact numbers. bench/ uses it for its 100k
configs store too.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb

from coview.engine.types import AskResult, Context, Evidence, GroundedNumber, Grounding, Turn
from coview.store.schema import create_schema

SYSTEMS = [
    # system_id, name, vendor, peak bf16, hbm bytes, hbm bw, sram bytes, tco $/chip-hour
    ("tpu-v5e", "TPU v5e", "Google", 197e12, 16e9, 819e9, 128e6, 1.2),
    ("tpu-v5p", "TPU v5p", "Google", 459e12, 95e9, 2765e9, 128e6, 4.2),
    ("h100", "H100", "NVIDIA", 989e12, 80e9, 3350e9, 50e6, 5.0),
    ("mi300x", "MI300X", "AMD", 1307e12, 192e9, 5300e9, 256e6, 4.5),
    ("xpu-a", "xPU-A", "hypothetical", 800e12, 96e9, 4000e9, 1024e6, 3.0),
    ("xpu-b", "xPU-B", "hypothetical", 800e12, 96e9, 4000e9, 64e6, 3.0),
]
OPS = [
    ("q_proj", "gemm"),
    ("k_proj", "gemm"),
    ("v_proj", "gemm"),
    ("attn_qk", "attention"),
    ("attn_sv", "attention"),
    ("o_proj", "gemm"),
    ("ffn_gate", "gemm"),
    ("ffn_up", "gemm"),
    ("ffn_down", "gemm"),
    ("rmsnorm", "norm"),
    ("all_reduce", "collective"),
    ("lm_head", "gemm"),
]


def build_demo_store(
    path: Path,
    batches: int = 5,
    lengths: int = 1,
    with_operators: bool = True,
) -> Path:
    """A store with 6 systems x 2 phases x `batches` batch sizes x 3 tp x 2 dtypes x `lengths`.

    Numbers follow a smooth deterministic formula so each system has a real frontier.
    """
    path = Path(path)
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    create_schema(con)
    con.execute(
        "INSERT INTO sweeps (sweep_id, name, simulator, simulator_version, source_path, ingested_at) "
        "VALUES ('demo', 'Demo sweep', 'coview-roofline', '1', 'tests', "
        "TIMESTAMP '2026-01-01 00:00:00')"
    )
    con.execute(
        "INSERT INTO models (model_id, name, num_layers, hidden_size, num_heads, num_kv_heads, "
        "head_dim, ffn_dim, vocab_size, total_params, source) VALUES "
        "('llama2-70b', 'Llama-2-70B', 80, 8192, 64, 8, 128, 28672, 32000, 69e9, 'paper')"
    )
    for i, (sid, name, vendor, flops, hbm, bw, sram, tco) in enumerate(SYSTEMS):
        con.execute(
            "INSERT INTO systems (system_id, name, vendor, peak_flops_bf16, hbm_bytes, "
            "hbm_bw_bytes_per_s, sram_bytes, tdp_w, tco_usd_per_chip_hour, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'demo')",
            [sid, name, vendor, flops, hbm, bw, sram, 300.0 + 50 * i, tco],
        )
    con.execute(
        "CREATE TEMP TABLE sysn AS SELECT system_id, row_number() OVER (ORDER BY system_id) AS sn, "
        "peak_flops_bf16 AS f, hbm_bw_bytes_per_s AS bw, tco_usd_per_chip_hour AS tco, sram_bytes AS sram FROM systems"
    )
    con.execute(
        f"""
        CREATE TEMP TABLE cfg AS
        SELECT row_number() OVER (ORDER BY s.system_id, ph.phase, b.i, t.tp, d.dt, l.li) AS config_id,
               s.system_id, ph.phase, CAST(pow(2, b.i) AS INTEGER) AS batch_size,
               CAST(512 * (1 + l.li) AS INTEGER) AS input_len, 128 AS output_len, t.tp, d.dt,
               s.f, s.bw, s.tco, s.sn, s.sram
        FROM sysn s, (VALUES ('prefill'), ('decode')) ph(phase), range({batches}) b(i),
             (VALUES (2), (4), (8)) t(tp), (VALUES ('bf16'), ('int8')) d(dt), range({lengths}) l(li)
        """
    )
    con.execute(
        """
        INSERT INTO configs (config_id, sweep_id, system_id, model_id, phase, batch_size,
            input_len, output_len, tp, pp, dp, ep, num_chips, weight_dtype, act_dtype, kv_dtype,
            latency_s, throughput_tok_per_s, tco_usd_per_hour, perf_per_tco, usd_per_1m_tokens,
            weight_bytes_per_chip, kv_bytes_per_chip, fits_memory, power_w, energy_j,
            total_flops, is_pareto)
        SELECT config_id, 'demo', system_id, 'llama2-70b', phase, batch_size, input_len,
            output_len, tp, 1, 1, 1, tp, dt, dt, dt,
            lat, tput, tco * tp, tput / (tco * tp), 1e6 / (tput / (tco * tp)) / 3600 * 1.0,
            140e9 / tp / (CASE WHEN dt = 'int8' THEN 2 ELSE 1 END), 1e9 * batch_size / tp,
            TRUE, 400.0 * tp, 400.0 * tp * lat, 140e9 * batch_size, FALSE
        FROM (SELECT *,
              (CASE WHEN phase = 'prefill' THEN input_len ELSE 1 END) * batch_size AS toks,
              (0.004 + 140e9 / tp / (CASE WHEN dt = 'int8' THEN 2 ELSE 1 END) / bw
               + 2 * 70e9 * (CASE WHEN phase = 'prefill' THEN input_len ELSE 1 END) * batch_size
                 / (f * tp)) * (1 + 0.03 * sn) AS lat,
              (CASE WHEN phase = 'prefill' THEN input_len ELSE 1 END) * batch_size / lat AS tput
              FROM cfg)
        """
    )
    # Pareto within (sweep, model, phase, system): nothing both faster and cheaper-per-token.
    con.execute(
        """
        UPDATE configs SET is_pareto = TRUE WHERE config_id IN (
          SELECT a.config_id FROM configs a WHERE NOT EXISTS (
            SELECT 1 FROM configs b WHERE b.system_id = a.system_id AND b.phase = a.phase
              AND b.latency_s <= a.latency_s AND b.perf_per_tco >= a.perf_per_tco
              AND (b.latency_s < a.latency_s OR b.perf_per_tco > a.perf_per_tco)))
        """
    )
    if with_operators:
        values = ", ".join(f"({i}, '{op}', '{cls}')" for i, (op, cls) in enumerate(OPS))
        con.execute(
            f"""
            INSERT INTO operators (config_id, op_index, layer_name, op_type, op_class, count,
                flops, bytes_read, bytes_written, bytes_weight, bytes_comm, compute_time_s,
                memory_time_s, comm_time_s, roofline_time_s, bound, weights_location, power_w)
            SELECT config_id, i, CASE WHEN op = 'lm_head' THEN 'head' ELSE 'decoder' END, op, cls,
                CASE WHEN op = 'lm_head' THEN 1 ELSE 80 END,
                fl, rd, rd / 4, wb, cm, ct, mt, kt, greatest(ct, mt, kt),
                CASE WHEN greatest(ct, mt, kt) = ct THEN 'compute'
                     WHEN greatest(ct, mt, kt) = mt THEN 'memory' ELSE 'comm' END,
                CASE WHEN cls = 'gemm' THEN (CASE WHEN wb < sram THEN 'sram' ELSE 'hbm' END) END,
                300.0
            FROM (SELECT c.config_id, o.i, o.op, o.cls, c.sram,
                    1e9 * (o.i + 1) * c.batch_size / c.tp AS fl,
                    2e7 * (o.i + 2) / c.tp AS rd,
                    CASE WHEN o.cls = 'gemm' THEN 1e7 * (o.i + 1) / c.tp ELSE 0 END AS wb,
                    CASE WHEN o.cls = 'collective' THEN 1e6 * c.batch_size ELSE 0 END AS cm,
                    1e9 * (o.i + 1) * c.batch_size / c.tp / c.f AS ct,
                    2e7 * (o.i + 2) / c.tp / c.bw AS mt,
                    CASE WHEN o.cls = 'collective' THEN 1e6 * c.batch_size / 1e11 ELSE 0 END AS kt
                  FROM cfg c, (VALUES {values}) o(i, op, cls))
            """
        )
    con.close()
    return path


class FakePipeline:
    """A scripted stand-in for coview.engine.pipeline.Pipeline (same ask signature).

    Questions containing "refuse" are refused, "boom" is an error, "please wait" waits on the
    cancel event (for Esc tests); anything else is answered with one evidence table.
    """

    backend = "fake"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, list[Turn], Context]] = []
        self.release = threading.Event()

    def ask(self, question, history=None, context=None, cancel=None) -> AskResult:
        self.calls.append((question, list(history or []), context or Context()))
        if self.delay:
            time.sleep(self.delay)
        ctx = context or Context()
        if "please wait" in question:
            while not (cancel and cancel.is_set()) and not self.release.is_set():
                time.sleep(0.01)
            if cancel and cancel.is_set():
                return AskResult(question, "error", "Cancelled.", "fake", reason="cancelled")
        if "refuse" in question:
            return AskResult(
                question,
                "refused",
                "I can't answer that from this data: the data has no power measurements.",
                "fake",
                reason="no power data",
                suggestions=["What is the latency of config 1?"],
            )
        if "boom" in question:
            return AskResult(
                question,
                "error",
                "The model server at 127.0.0.1 is not answering.",
                "fake",
                reason="backend",
            )
        sql = f"SELECT config_id, latency_s FROM configs WHERE config_id = {ctx.config_id or 1}"
        ev = Evidence(
            sql=sql, columns=["config_id", "latency_s"], rows=[(ctx.config_id or 1, 0.0125)]
        )
        return AskResult(
            question,
            "answered",
            f"Config {ctx.config_id or 1} has a latency of 0.0125 s.",
            "fake",
            sql=[sql],
            evidence=[ev],
            grounding=Grounding(
                [
                    GroundedNumber(str(ctx.config_id or 1), float(ctx.config_id or 1), "config_id"),
                    GroundedNumber("0.0125", 0.0125, "latency_s"),
                ]
            ),
            elapsed_s=0.01,
        )
