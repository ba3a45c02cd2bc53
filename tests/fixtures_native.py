"""Helpers that write small, valid native sweeps (Parquet or CSV) for ingest tests.

``sweep_tables()`` returns the five tables as lists of dicts so a test can break exactly one
value before ``write_tables()`` writes them; ``write_sweep()`` does both for the valid case.
"""

from __future__ import annotations

import csv
import hashlib
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

OP_SPECS = [
    ("q_proj", "gemm", "hbm"),
    ("attn_qk", "attention", None),
    ("rmsnorm", "norm", None),
    ("all_reduce", "collective", None),
]


def sweep_tables(
    sweep_id: str = "s1",
    config_start: int = 1,
    n_configs: int = 8,
    ops_per_config: int = 3,
    systems: tuple[str, ...] = ("sysA", "sysB"),
    model_id: str = "llama",
) -> dict[str, list[dict]]:
    """A valid sweep: one sweep row, the systems, one model, configs and their operators."""
    tables: dict[str, list[dict]] = {
        "sweeps": [
            {
                "sweep_id": sweep_id,
                "name": f"Sweep {sweep_id}",
                "simulator": "fixture",
                "simulator_version": "1",
            }
        ],
        "systems": [
            {
                "system_id": s,
                "name": f"System {s}",
                "vendor": "hypothetical",
                "peak_flops_bf16": 1e15 * (i + 1),
                "hbm_bytes": 8e10,
                "sram_bytes": 1.5e8,
                "tco_usd_per_chip_hour": 2.0 + i,
                "source": "fixture",
            }
            for i, s in enumerate(systems)
        ],
        "models": [
            {
                "model_id": model_id,
                "name": "Llama-2-70B",
                "num_layers": 80,
                "hidden_size": 8192,
                "num_heads": 64,
                "num_kv_heads": 8,
            }
        ],
        "configs": [],
        "operators": [],
    }
    for i in range(n_configs):
        cid = config_start + i
        tables["configs"].append(
            {
                "config_id": cid,
                "sweep_id": sweep_id,
                "system_id": systems[i % len(systems)],
                "model_id": model_id,
                "phase": "prefill" if i % 2 == 0 else "decode",
                "batch_size": 2 ** (i % 4),
                "input_len": 2048,
                "output_len": 256,
                "tp": 1 + i % 2,
                "pp": 1,
                "num_chips": 1 + i % 2,
                "weight_dtype": "bf16",
                "latency_s": 0.01 * (1 + (i * 7) % 5),
                "throughput_tok_per_s": 1000.0 + 37 * i,
                "tco_usd_per_hour": 2.5,
                "perf_per_tco": 100.0 + (i * 13) % 7,
                "fits_memory": i % 5 != 4,
                "power_w": 700.0,
            }
        )
        for j in range(ops_per_config):
            op_type, op_class, loc = OP_SPECS[j % len(OP_SPECS)]
            ct, mt, kt = (
                1e-4 * (1 + (i + j) % 3),
                2e-4 * (1 + (i * j) % 2),
                0.0 if j % 4 != 3 else 3e-4,
            )
            top = max(ct, mt, kt)
            tables["operators"].append(
                {
                    "config_id": cid,
                    "op_index": j,
                    "layer_name": "decoder",
                    "op_type": op_type,
                    "op_class": op_class,
                    "count": 80,
                    "flops": 1e9 * (j + 1),
                    "bytes_read": 1e6,
                    "bytes_written": 1e5,
                    "compute_time_s": ct,
                    "memory_time_s": mt,
                    "comm_time_s": kt,
                    "roofline_time_s": top,
                    "bound": "compute" if ct == top else ("memory" if mt == top else "comm"),
                    "weights_location": loc,
                    "power_w": 300.0,
                }
            )
    return tables


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    return str(v)


def write_tables(
    directory: Path,
    tables: dict[str, list[dict]],
    fmt: str = "parquet",
    as_text: dict[str, set[str]] | None = None,
) -> Path:
    """Write each table to ``<directory>/<table>.<fmt>``; ``as_text`` forces columns to strings."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    as_text = as_text or {}
    for name, rows in tables.items():
        if rows is None:
            continue
        cols: list[str] = []
        for r in rows:
            cols += [k for k in r if k not in cols]
        if fmt == "csv":
            with open(directory / f"{name}.csv", "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(cols)
                for r in rows:
                    w.writerow([_csv_value(r.get(c)) for c in cols])
        else:
            data = {}
            for c in cols:
                values = [r.get(c) for r in rows]
                if c in as_text.get(name, set()):
                    values = [None if v is None else str(v) for v in values]
                elif any(isinstance(v, float) for v in values):
                    values = [None if v is None else float(v) for v in values]
                data[c] = values
            pq.write_table(pa.table(data), directory / f"{name}.parquet")
    return directory


def write_sweep(directory: Path, fmt: str = "parquet", **kwargs) -> Path:
    """Write a valid sweep (see sweep_tables for the knobs) and return its directory."""
    return write_tables(directory, sweep_tables(**kwargs), fmt)


def file_digest(path: Path) -> str | None:
    """sha256 of a file, or None if it does not exist (the all-or-nothing checks use this)."""
    path = Path(path)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def dir_listing(directory: Path) -> list[str]:
    """Names in a directory, sorted: a failed ingest must leave no temp files behind."""
    return sorted(p.name for p in Path(directory).iterdir())
