"""Small, self-consistent native sweeps for the lint / why / insights tests.

``consistent_tables()`` obeys the roofline exactly (roofline = max of the three times, bound
= the largest, latency = sum of roofline x count, speeds within the chip's peaks), so a test
plants one problem at a time and expects exactly that finding.
"""

from __future__ import annotations

import copy
from pathlib import Path

from coview.store.ingest import ingest
from tests.fixtures_native import write_tables

PEAK = 1e15
HBM_BW = 1e12
SRAM_BW = 1e13
ICI_BW = 1e11
LAYERS = 4


def _op(cid, idx, op_type, op_class, flops, bytes_read, bytes_comm, loc, count, **extra):
    ct = flops / PEAK * 2
    bw = SRAM_BW if loc == "sram" else HBM_BW
    mt = bytes_read / bw * 1.2
    kt = bytes_comm / ICI_BW * 1.2
    top = max(ct, mt, kt)
    bound = "comm" if kt == top else ("memory" if mt == top else "compute")
    return {
        "config_id": cid,
        "op_index": idx,
        "layer_name": "decoder",
        "op_type": op_type,
        "op_class": op_class,
        "count": count,
        "flops": flops,
        "bytes_read": bytes_read,
        "bytes_written": 0.0,
        "bytes_weight": bytes_read / 2 if loc else 0.0,
        "bytes_comm": bytes_comm,
        "compute_time_s": ct,
        "memory_time_s": mt,
        "comm_time_s": kt,
        "roofline_time_s": top,
        "bound": bound,
        "weights_location": loc,
        "power_w": 100.0,
        **extra,
    }


def consistent_tables(names: tuple[str, str] = ("System A", "System B")) -> dict[str, list[dict]]:
    """Two systems (sysA pins q_proj weights in SRAM, sysB reads them from HBM), same grid."""
    t: dict[str, list[dict]] = {
        "sweeps": [
            {"sweep_id": "fx", "name": "fixture", "simulator": "fixture", "simulator_version": "1"}
        ],
        "systems": [
            {
                "system_id": sid,
                "name": name,
                "vendor": "hypothetical",
                "peak_flops_bf16": PEAK,
                "hbm_bytes": 8e10,
                "hbm_bw_bytes_per_s": HBM_BW,
                "sram_bytes": sram,
                "sram_bw_bytes_per_s": SRAM_BW,
                "ici_bw_bytes_per_s": ICI_BW,
                "tco_usd_per_chip_hour": 2.0,
                "source": "fixture",
            }
            for sid, name, sram in (("sysA", names[0], 2e8), ("sysB", names[1], 1e8))
        ],
        "models": [{"model_id": "m", "name": "Tiny", "num_layers": LAYERS, "hidden_size": 1024}],
        "configs": [],
        "operators": [],
    }
    cid = 0
    for sid in ("sysA", "sysB"):
        for phase in ("prefill", "decode"):
            for batch in (1, 8, 64):
                cid += 1
                tokens = batch * (128 if phase == "prefill" else 1)
                loc = "sram" if sid == "sysA" else "hbm"
                ops = [
                    _op(
                        cid,
                        0,
                        "q_proj",
                        "gemm",
                        2e9 * tokens,
                        1.5e8 / LAYERS,
                        0.0,
                        loc,
                        LAYERS,
                        sram_needed_bytes=1.5e8,
                    ),
                    _op(
                        cid, 1, "attn_qk", "attention", 1e8 * tokens, 1e6 * batch, 0.0, None, LAYERS
                    ),
                    _op(
                        cid, 2, "rmsnorm", "norm", 1e5 * tokens, 1e5 * tokens, 0.0, None, 2 * LAYERS
                    ),
                    _op(
                        cid, 3, "all_reduce", "collective", 0.0, 0.0, 4e4 * tokens, None, 2 * LAYERS
                    ),
                ]
                latency = sum(o["roofline_time_s"] * o["count"] for o in ops)
                throughput = tokens / latency
                t["operators"] += ops
                t["configs"].append(
                    {
                        "config_id": cid,
                        "sweep_id": "fx",
                        "system_id": sid,
                        "model_id": "m",
                        "phase": phase,
                        "batch_size": batch,
                        "input_len": 128,
                        "output_len": 16,
                        "tp": 2,
                        "pp": 1,
                        "num_chips": 2,
                        "weight_dtype": "bf16",
                        "act_dtype": "bf16",
                        "kv_dtype": "bf16",
                        "latency_s": latency,
                        "throughput_tok_per_s": throughput,
                        "tco_usd_per_hour": 4.0,
                        "perf_per_tco": throughput / 4.0,
                        "usd_per_1m_tokens": 4.0 / 3600 / throughput * 1e6,
                        "weight_bytes_per_chip": 1e9,
                        "kv_bytes_per_chip": 1e6 * batch,
                        "fits_memory": not (sid == "sysB" and batch == 64),
                        "power_w": 300.0,
                        "total_flops": 2 * sum(o["flops"] * o["count"] for o in ops),
                    }
                )
    return t


def build_store(directory: Path, tables: dict[str, list[dict]]) -> Path:
    """Write `tables` as native Parquet under `directory` and ingest them into a store.

    Ingest refuses control characters in names, so system names that carry them are ingested
    as placeholders and written into the store afterwards: a store made elsewhere can hold
    them, and that is what the hostile-name tests are about."""
    tables = copy.deepcopy(tables)
    hostile = {}
    for i, row in enumerate(tables.get("systems", [])):
        if any(ord(ch) < 32 or 0x7F <= ord(ch) < 0xA0 for ch in str(row.get("name", ""))):
            hostile[f"placeholder {i}"] = row["name"]
            row["name"] = f"placeholder {i}"
    src = write_tables(Path(directory) / "src", tables)
    store = Path(directory) / "fx.duckdb"
    ingest([src], store, fmt="native", progress=False)
    if hostile:
        import duckdb

        con = duckdb.connect(str(store))
        for placeholder, name in hostile.items():
            con.execute("UPDATE systems SET name = ? WHERE name = ?", [name, placeholder])
        con.close()
    return store
