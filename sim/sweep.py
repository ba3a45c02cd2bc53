"""Run the roofline model over a spec's grid and write schema-v1 native Parquet files.

`simulate(spec, out_dir)` writes sweeps.parquet, systems.parquet, models.parquet,
configs.parquet and operators.parquet, with the column names and types of
coview.store.schema, ready for `coview ingest out_dir`. The output is reproducible bit for
bit: fixed ordering, no timestamps (sweeps.ingested_at and configs.is_pareto are NULL; ingest
fills them), and fixed Parquet writer settings.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from coview.sim.roofline import MODEL_VERSION, ConfigResult, RunConfig, simulate_config
from coview.sim.spec import SpecError, SweepSpec, load_spec
from coview.store.schema import CONFIGS, MODELS, OPERATORS, SWEEPS, SYSTEMS, Table

__all__ = ["SpecError", "simulate", "build_tables", "write_tables", "SIMULATOR"]

SIMULATOR = "coview-roofline"

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "DOUBLE": pa.float64(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us"),
    "JSON": pa.string(),
}
# Fixed writer settings: changing any of these changes the committed sample files.
_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "row_group_size": 1 << 20,
}


def _json(obj: dict) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a schema-v1 table (JSON columns as strings)."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.sql_type]) for c in table.columns])


def run_grid(spec: SweepSpec) -> tuple[list[tuple[str, str, ConfigResult]], list[str]]:
    """Simulate every configuration of the grid in a fixed order.

    Returns (system_id, model_id, result) triples and notes on skipped (system, dtype) pairs.
    Order: systems as listed, then dtype, phase, tp, batch size, as listed in the grid.
    """
    results: list[tuple[str, str, ConfigResult]] = []
    notes: list[str] = []
    for entry in spec.systems:
        sysm = entry.system
        for dt in spec.dtypes:
            if entry.dtypes is not None and dt not in entry.dtypes:
                continue
            triple = (
                entry.overrides.get("weight_dtype", dt),
                entry.overrides.get("act_dtype", dt),
                entry.overrides.get("kv_dtype", dt),
            )
            missing = sorted({x for x in triple if not sysm.supports(x)})
            if missing:
                notes.append(f"skipped {dt} on {sysm.name} (no {'/'.join(missing)} peak)")
                continue
            for phase in spec.phases:
                for tp in spec.tps:
                    for batch in spec.batch_sizes:
                        run = RunConfig(
                            phase=phase,
                            batch_size=batch,
                            input_len=spec.input_len,
                            output_len=spec.output_len,
                            tp=tp,
                            weight_dtype=triple[0],
                            act_dtype=triple[1],
                            kv_dtype=triple[2],
                        )
                        res = simulate_config(spec.model, sysm, run, spec.efficiency, spec.power)
                        results.append((sysm.system_id, spec.model.model_id, res))
    return results, notes


def build_tables(spec: SweepSpec) -> tuple[dict[str, pa.Table], list[str]]:
    """The five schema-v1 tables of a sweep as Arrow tables, plus notes on skipped dtypes."""
    results, notes = run_grid(spec)
    m = spec.model
    sweeps = [
        {
            "sweep_id": spec.sweep_id,
            "name": spec.name,
            "simulator": SIMULATOR,
            "simulator_version": MODEL_VERSION,
            "source_path": None,
            "ingested_at": None,
        }
    ]
    systems = []
    for e in spec.systems:
        s = e.system
        systems.append({c: getattr(s, c) for c in SYSTEMS.column_names if c != "system_id"})
        systems[-1]["system_id"] = s.system_id
    models = [
        {
            "model_id": m.model_id,
            "name": m.name,
            "num_layers": m.num_layers,
            "hidden_size": m.hidden_size,
            "num_heads": m.num_heads,
            "num_kv_heads": m.num_kv_heads,
            "head_dim": m.head_dim,
            "ffn_dim": m.ffn_dim,
            "vocab_size": m.vocab_size,
            "total_params": m.params(),
            "source": m.source,
        }
    ]
    configs: list[dict[str, Any]] = []
    operators: dict[str, list[Any]] = {c: [] for c in OPERATORS.column_names}
    for i, (system_id, model_id, r) in enumerate(results):
        config_id = spec.config_id_base + i
        run = r.run
        configs.append(
            {
                "config_id": config_id,
                "sweep_id": spec.sweep_id,
                "system_id": system_id,
                "model_id": model_id,
                "phase": run.phase,
                "batch_size": run.batch_size,
                "input_len": run.input_len,
                "output_len": run.output_len,
                "tp": run.tp,
                "pp": 1,
                "dp": 1,
                "ep": 1,
                "num_chips": run.num_chips,
                "weight_dtype": run.weight_dtype,
                "act_dtype": run.act_dtype,
                "kv_dtype": run.kv_dtype,
                "latency_s": r.latency_s,
                "throughput_tok_per_s": r.throughput_tok_per_s,
                "tco_usd_per_hour": r.tco_usd_per_hour,
                "perf_per_tco": r.perf_per_tco,
                "usd_per_1m_tokens": r.usd_per_1m_tokens,
                "weight_bytes_per_chip": r.weight_bytes_per_chip,
                "kv_bytes_per_chip": r.kv_bytes_per_chip,
                "fits_memory": r.fits_memory,
                "power_w": r.power_w,
                "energy_j": r.energy_j,
                "total_flops": r.total_flops,
                "is_pareto": None,
                "extra": _json(r.extra),
            }
        )
        for j, op in enumerate(r.ops):
            row = {
                "config_id": config_id,
                "op_index": j,
                "layer_name": op.layer_name,
                "op_type": op.op_type,
                "op_class": op.op_class,
                "count": op.count,
                "flops": op.flops,
                "bytes_read": op.bytes_read,
                "bytes_written": op.bytes_written,
                "bytes_weight": op.bytes_weight,
                "bytes_comm": op.bytes_comm,
                "compute_time_s": op.compute_time_s,
                "memory_time_s": op.memory_time_s,
                "comm_time_s": op.comm_time_s,
                "roofline_time_s": op.roofline_time_s,
                "bound": op.bound,
                "weights_location": op.weights_location,
                "power_w": op.power_w,
                "extra": _json(op.extra),
            }
            for k, v in row.items():
                operators[k].append(v)
    tables = {
        "sweeps": pa.Table.from_pylist(sweeps, schema=arrow_schema(SWEEPS)),
        "systems": pa.Table.from_pylist(systems, schema=arrow_schema(SYSTEMS)),
        "models": pa.Table.from_pylist(models, schema=arrow_schema(MODELS)),
        "configs": pa.Table.from_pylist(configs, schema=arrow_schema(CONFIGS)),
        "operators": pa.Table.from_pydict(operators, schema=arrow_schema(OPERATORS)),
    }
    return tables, notes


def write_tables(tables: dict[str, pa.Table], out_dir: Path) -> list[Path]:
    """Write each table to out_dir/<name>.parquet atomically, with fixed writer settings."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        target = out_dir / f"{name}.parquet"
        tmp = out_dir / f".{name}.parquet.{os.getpid()}.tmp"
        try:
            pq.write_table(table, tmp, **_PARQUET_OPTIONS)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        written.append(target)
    return written


def simulate(spec_path: Path, out_dir: Path) -> str:
    """Run the sweep described by spec_path and write its Parquet files into out_dir.

    Returns a one-paragraph summary for the user. Raises SpecError for a bad spec (nothing
    is written then).
    """
    spec = load_spec(Path(spec_path))
    tables, notes = build_tables(spec)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SpecError(f"--out {out_dir} is a file; give a directory for the Parquet files")
    try:
        write_tables(tables, out_dir)
    except OSError as exc:
        raise SpecError(f"cannot write to {out_dir}: {exc}") from exc
    configs = tables["configs"]
    n_configs = configs.num_rows
    n_fit = sum(1 for v in configs.column("fits_memory").to_pylist() if v)
    first = spec.config_id_base
    n_sys = len(spec.systems)
    summary = (
        f"Simulated sweep {spec.sweep_id!r} ({spec.model.name}) with {SIMULATOR} "
        f"v{MODEL_VERSION}: {n_sys} system{'s' if n_sys != 1 else ''}, {n_configs} configs "
        f"({n_fit} fit in memory), {tables['operators'].num_rows} operator rows, "
        f"config ids {first}..{first + n_configs - 1}. Wrote sweeps, systems, models, "
        f"configs and operators .parquet to {out_dir}."
    )
    if notes:
        text = "; ".join(notes)
        summary += " " + text[0].upper() + text[1:] + "."
    summary += f" Load it with: coview ingest {out_dir} --store FILE"
    return summary
