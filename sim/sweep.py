"""Run the roofline model over a spec's grid and write schema-v1 native Parquet files.

`simulate(spec, out_dir)` writes sweeps.parquet, systems.parquet, models.parquet,
configs.parquet and operators.parquet, with the column names and types of
coview.store.schema, ready for `coview ingest out_dir`. The output is reproducible bit for
bit: fixed ordering, no timestamps (sweeps.ingested_at and configs.is_pareto are NULL; ingest
fills them), fixed Parquet writer settings and a fixed chunk size. The grid is simulated by
the vectorised model (`coview.sim.grid`) in chunks of CHUNK_CONFIGS configurations, so a
million-config sweep streams to disk in bounded memory. `reference_tables` builds the same
tables with the per-operator reference model (`coview.sim.roofline`), for tests and benches.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from coview.sim.grid import BOUNDS, DTYPES, OP, Grid, GridResult, simulate_grid
from coview.sim.roofline import (
    MODEL_VERSION,
    OP_CLASS,
    OP_ORDER,
    ConfigResult,
    RunConfig,
    SystemSpec,
    simulate_config,
)
from coview.sim.spec import SpecError, SweepSpec, load_spec, spec_to_json
from coview.store.schema import CONFIGS, MODELS, OPERATORS, SWEEPS, SYSTEMS, Table

__all__ = [
    "SpecError",
    "simulate",
    "build_tables",
    "reference_tables",
    "write_tables",
    "grid_of",
    "SIMULATOR",
]

SIMULATOR = "coview-roofline"
CHUNK_CONFIGS = 65536  # configurations simulated and written per step (fixed: part of the output)

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
# Dictionary encoding only for the low-cardinality string columns (on floats it costs time
# and saves nothing); zstd level 1 compresses these tables as well as level 9, 6x faster.
_DICTIONARY_COLUMNS = [
    "sweep_id", "name", "simulator", "simulator_version", "system_id", "vendor", "source",
    "model_id", "phase", "weight_dtype", "act_dtype", "kv_dtype", "layer_name", "op_type",
    "op_class", "bound", "weights_location",
]  # fmt: skip
_PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 1,
    "use_dictionary": _DICTIONARY_COLUMNS,
    "write_statistics": True,
    "version": "2.6",
    "row_group_size": 1 << 20,
}
_WRITER_OPTIONS = {k: v for k, v in _PARQUET_OPTIONS.items() if k != "row_group_size"}


def _json(obj: dict) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of a schema-v1 table (JSON columns as strings)."""
    return pa.schema([pa.field(c.name, _ARROW_TYPES[c.sql_type]) for c in table.columns])


def grid_of(spec: SweepSpec) -> tuple[Grid, list[str]]:
    """The spec's configurations in a fixed order, and notes on skipped (system, dtype) pairs.

    Order: systems as listed, then dtype, phase, tp, batch size, as listed in the grid.
    Grid.system indexes spec.systems.
    """
    parts: list[dict[str, np.ndarray]] = []
    notes: list[str] = []
    code = {d: i for i, d in enumerate(DTYPES)}
    phases = np.array([p == "prefill" for p in spec.phases])
    tps = np.array(spec.tps, dtype=np.int64)
    batches = np.array(spec.batch_sizes, dtype=np.int64)
    # phase-major, then tp, then batch
    ph, tp, bs = (a.ravel() for a in np.meshgrid(phases, tps, batches, indexing="ij"))
    for si, entry in enumerate(spec.systems):
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
            k = ph.shape[0]
            parts.append(
                {
                    "system": np.full(k, si, dtype=np.int64),
                    "prefill": ph,
                    "batch_size": bs,
                    "input_len": np.full(k, spec.input_len, dtype=np.int64),
                    "output_len": np.full(k, spec.output_len, dtype=np.int64),
                    "tp": tp,
                    "weight_dtype": np.full(k, code[triple[0]], dtype=np.int64),
                    "act_dtype": np.full(k, code[triple[1]], dtype=np.int64),
                    "kv_dtype": np.full(k, code[triple[2]], dtype=np.int64),
                }
            )
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Grid(empty, empty.astype(bool), *([empty] * 7)), notes
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return Grid(**cols), notes


def meta_tables(spec: SweepSpec) -> dict[str, pa.Table]:
    """The sweeps, systems and models tables of a sweep (sweeps.sim_spec holds the spec)."""
    m = spec.model
    sweeps = [
        {
            "sweep_id": spec.sweep_id,
            "name": spec.name,
            "simulator": SIMULATOR,
            "simulator_version": MODEL_VERSION,
            "source_path": None,
            "ingested_at": None,
            "sim_spec": spec_to_json(spec),
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
    return {
        "sweeps": pa.Table.from_pylist(sweeps, schema=arrow_schema(SWEEPS)),
        "systems": pa.Table.from_pylist(systems, schema=arrow_schema(SYSTEMS)),
        "models": pa.Table.from_pylist(models, schema=arrow_schema(MODELS)),
    }


def _num(expr: pl.Expr) -> pl.Expr:
    """A float column as JSON number text (shortest round-trip form)."""
    return expr.cast(pl.Utf8)


def _pick(values: tuple[str | None, ...], codes: np.ndarray) -> pa.Array:
    """A string column from small-integer codes into `values` (a C++ take, no Python objects)."""
    return pa.array(values, pa.string()).take(pa.array(codes.ravel()))


_PINNED_SORTED = sorted(o for o in OP_ORDER if OP_CLASS[o] in ("gemm", "norm"))
_WEIGHT_COLS = np.array([OP_CLASS[o] in ("gemm", "norm") for o in OP_ORDER])
_ATTN_COLS = np.array([OP_CLASS[o] == "attention" for o in OP_ORDER])
# ops_weights_in_sram for each set of pinned operators, by bit k = _PINNED_SORTED[k] pinned
_PINNED_LISTS = tuple(
    ",".join(f'"{o}"' for k, o in enumerate(_PINNED_SORTED) if code >> k & 1)
    for code in range(1 << len(_PINNED_SORTED))
)
_LAYER = tuple("head" if o == "lm_head" else "decoder" for o in OP_ORDER)
_MODEL_TAG = json.dumps(f"coview-roofline v{MODEL_VERSION}")


@lru_cache(maxsize=2)
def _operator_layout(n: int) -> dict[str, pa.Array]:
    """Columns that depend only on the number of configs (a full chunk reuses them)."""
    n_ops = len(OP_ORDER)
    op_idx = np.tile(np.arange(n_ops, dtype=np.int64), n)
    return {
        "op_index": pa.array(op_idx.astype(np.int32)),
        "layer_name": _pick(_LAYER, op_idx),
        "op_type": _pick(OP_ORDER, op_idx),
        "op_class": _pick(tuple(OP_CLASS[o] for o in OP_ORDER), op_idx),
        # operator j of config i sits at j * n + i in an op-major concatenation
        "interleave": pa.array((np.arange(n_ops) * n + np.arange(n)[:, None]).ravel()),
    }


def _config_extra(res: GridResult) -> pa.Array:
    """configs.extra as compact sorted-key JSON, one string per configuration."""
    code = np.zeros(len(res.latency_s), dtype=np.int64)
    for k, o in enumerate(_PINNED_SORTED):
        code |= res.pinned[:, OP[o]].astype(np.int64) << k
    frame = pl.DataFrame(
        {
            "act": res.activation_bytes_per_chip,
            "ctx": res.context_len,
            "hkv": res.kv_heads_per_chip,
            "names": pl.from_arrow(_pick(_PINNED_LISTS, code)),
            "res": res.sram_activation_reserve_bytes,
            "need": res.sram_needed_total_bytes,
            "pin": res.sram_pinned_weight_bytes,
            "used": res.sram_used_bytes,
        }
    )
    extra = frame.select(
        pl.concat_str(
            [
                pl.lit('{"activation_bytes_per_chip":'), _num(pl.col("act")),
                pl.lit(',"context_len":'), pl.col("ctx").cast(pl.Utf8),
                pl.lit(',"kv_heads_per_chip":'), pl.col("hkv").cast(pl.Utf8),
                pl.lit(f',"model":{_MODEL_TAG},"ops_weights_in_sram":['), pl.col("names"),
                pl.lit('],"sram_activation_reserve_bytes":'), _num(pl.col("res")),
                pl.lit(',"sram_needed_bytes":'), _num(pl.col("need")),
                pl.lit(',"sram_pinned_weight_bytes":'), _num(pl.col("pin")),
                pl.lit(',"sram_used_bytes":'), _num(pl.col("used")),
                pl.lit("}"),
            ]
        ).alias("extra")
    )["extra"]  # fmt: skip
    return extra.to_arrow().cast(pa.string())


def _operator_extra(res: GridResult, interleave: pa.Array) -> pa.Array:
    """operators.extra, config-major: compact sorted-key JSON, one string per operator row.

    Built one operator column at a time, so each column formats only the keys its class
    has (kv_bytes_read for attention, the SRAM keys for weight operators) with no per-row
    branching, then interleaved into (config, op_index) order by one take.
    """
    cols: dict[str, Any] = {}
    exprs = []
    for j in range(len(OP_ORDER)):
        cols[f"a{j}"] = res.act_bytes[:, j]
        cols[f"c{j}"] = pl.from_arrow(_pick(DTYPES, res.compute_dtype[:, j]))
        parts = [
            pl.lit('{"act_bytes":'), _num(pl.col(f"a{j}")),
            pl.lit(',"compute_dtype":"'), pl.col(f"c{j}"),
        ]  # fmt: skip
        if _ATTN_COLS[j]:
            cols[f"k{j}"] = res.kv_bytes_read[:, j]
            parts += [pl.lit('","kv_bytes_read":'), _num(pl.col(f"k{j}"))]
        elif _WEIGHT_COLS[j]:
            cols[f"n{j}"] = res.sram_needed_bytes[:, j].astype(np.float64)
            cols[f"s{j}"] = res.sram_time_saved_s[:, j]
            parts += [
                pl.lit('","sram_needed_bytes":'), _num(pl.col(f"n{j}")),
                pl.lit(',"sram_time_saved_s":'), _num(pl.col(f"s{j}")),
            ]  # fmt: skip
        else:
            parts.append(pl.lit('"'))
        parts.append(pl.lit("}"))
        exprs.append(pl.concat_str(parts).alias(f"e{j}"))
    per_op = pl.DataFrame(cols).select(exprs)
    column = pa.chunked_array([per_op[f"e{j}"].to_arrow() for j in range(len(OP_ORDER))])
    return column.take(interleave).combine_chunks().cast(pa.string())


def result_tables(
    spec: SweepSpec,
    grid: Grid,
    res: GridResult,
    config_ids: np.ndarray,
    system_ids: list[str] | None = None,
) -> dict[str, pa.Table]:
    """The configs and operators tables of simulated configurations (vectorised)."""
    n = len(grid)
    system_ids = system_ids or [e.system.system_id for e in spec.systems]
    zeros = np.zeros(n, dtype=np.int64)
    ones = pa.array(np.ones(n, dtype=np.int32))
    configs = pa.table(
        {
            "config_id": pa.array(config_ids, pa.int64()),
            "sweep_id": _pick((spec.sweep_id,), zeros),
            "system_id": _pick(tuple(system_ids), grid.system),
            "model_id": _pick((spec.model.model_id,), zeros),
            "phase": _pick(("decode", "prefill"), grid.prefill.astype(np.int64)),
            "batch_size": pa.array(grid.batch_size, pa.int32()),
            "input_len": pa.array(grid.input_len, pa.int32()),
            "output_len": pa.array(grid.output_len, pa.int32()),
            "tp": pa.array(grid.tp, pa.int32()),
            "pp": ones,
            "dp": ones,
            "ep": ones,
            "num_chips": pa.array(res.num_chips, pa.int32()),
            "weight_dtype": _pick(DTYPES, grid.weight_dtype),
            "act_dtype": _pick(DTYPES, grid.act_dtype),
            "kv_dtype": _pick(DTYPES, grid.kv_dtype),
            "latency_s": res.latency_s,
            "throughput_tok_per_s": res.throughput_tok_per_s,
            "tco_usd_per_hour": res.tco_usd_per_hour,
            "perf_per_tco": res.perf_per_tco,
            "usd_per_1m_tokens": res.usd_per_1m_tokens,
            "weight_bytes_per_chip": res.weight_bytes_per_chip,
            "kv_bytes_per_chip": res.kv_bytes_per_chip,
            "fits_memory": pa.array(res.fits_memory, pa.bool_()),
            "power_w": res.power_w_total,
            "energy_j": res.energy_j,
            "total_flops": res.total_flops,
            "is_pareto": pa.nulls(n, pa.bool_()),
            "extra": _config_extra(res),
        },
        schema=arrow_schema(CONFIGS),
    )

    # operators, config-major: an (n, 12) array ravels into (config, op_index) order
    n_ops = len(OP_ORDER)
    layout = _operator_layout(n)
    loc = np.where(_WEIGHT_COLS, np.where(res.pinned, 0, 1), 2)
    operators = pa.table(
        {
            "config_id": pa.array(np.repeat(config_ids, n_ops), pa.int64()),
            "op_index": layout["op_index"],
            "layer_name": layout["layer_name"],
            "op_type": layout["op_type"],
            "op_class": layout["op_class"],
            "count": pa.array(np.tile(res.count.astype(np.int32), n)),
            "flops": res.flops.ravel(),
            "bytes_read": res.bytes_read.ravel(),
            "bytes_written": res.bytes_written.ravel(),
            "bytes_weight": res.bytes_weight.ravel(),
            "bytes_comm": res.bytes_comm.ravel(),
            "compute_time_s": res.compute_time_s.ravel(),
            "memory_time_s": res.memory_time_s.ravel(),
            "comm_time_s": res.comm_time_s.ravel(),
            "roofline_time_s": res.roofline_time_s.ravel(),
            "bound": _pick(BOUNDS, res.bound.astype(np.int64)),
            "weights_location": _pick(("sram", "hbm", None), loc),
            "power_w": res.power_w.ravel(),
            "extra": _operator_extra(res, layout["interleave"]),
        },
        schema=arrow_schema(OPERATORS),
    )
    return {"configs": configs, "operators": operators}


def build_tables(spec: SweepSpec) -> tuple[dict[str, pa.Table], list[str]]:
    """The five schema-v1 tables of a sweep as Arrow tables, plus notes on skipped dtypes."""
    grid, notes = grid_of(spec)
    systems = [e.system for e in spec.systems]
    res = simulate_grid(spec.model, systems, grid, spec.efficiency, spec.power)
    ids = spec.config_id_base + np.arange(len(grid), dtype=np.int64)
    return {**meta_tables(spec), **result_tables(spec, grid, res, ids)}, notes


def reference_tables(spec: SweepSpec) -> dict[str, pa.Table]:
    """The configs and operators tables built row by row with the per-operator reference model."""
    grid, _ = grid_of(spec)
    systems: list[SystemSpec] = [e.system for e in spec.systems]
    configs: list[dict[str, Any]] = []
    operators: dict[str, list[Any]] = {c: [] for c in OPERATORS.column_names}
    for i in range(len(grid)):
        run = RunConfig(
            phase="prefill" if grid.prefill[i] else "decode",
            batch_size=int(grid.batch_size[i]),
            input_len=int(grid.input_len[i]),
            output_len=int(grid.output_len[i]),
            tp=int(grid.tp[i]),
            weight_dtype=DTYPES[grid.weight_dtype[i]],
            act_dtype=DTYPES[grid.act_dtype[i]],
            kv_dtype=DTYPES[grid.kv_dtype[i]],
        )
        sysm = systems[int(grid.system[i])]
        r: ConfigResult = simulate_config(spec.model, sysm, run, spec.efficiency, spec.power)
        config_id = spec.config_id_base + i
        configs.append(
            {
                "config_id": config_id, "sweep_id": spec.sweep_id, "system_id": sysm.system_id,
                "model_id": spec.model.model_id, "phase": run.phase,
                "batch_size": run.batch_size, "input_len": run.input_len,
                "output_len": run.output_len, "tp": run.tp, "pp": 1, "dp": 1, "ep": 1,
                "num_chips": run.num_chips, "weight_dtype": run.weight_dtype,
                "act_dtype": run.act_dtype, "kv_dtype": run.kv_dtype,
                "latency_s": r.latency_s, "throughput_tok_per_s": r.throughput_tok_per_s,
                "tco_usd_per_hour": r.tco_usd_per_hour, "perf_per_tco": r.perf_per_tco,
                "usd_per_1m_tokens": r.usd_per_1m_tokens,
                "weight_bytes_per_chip": r.weight_bytes_per_chip,
                "kv_bytes_per_chip": r.kv_bytes_per_chip, "fits_memory": r.fits_memory,
                "power_w": r.power_w, "energy_j": r.energy_j, "total_flops": r.total_flops,
                "is_pareto": None, "extra": _json(r.extra),
            }
        )  # fmt: skip
        for j, op in enumerate(r.ops):
            row = {
                "config_id": config_id, "op_index": j, "layer_name": op.layer_name,
                "op_type": op.op_type, "op_class": op.op_class, "count": op.count,
                "flops": op.flops, "bytes_read": op.bytes_read,
                "bytes_written": op.bytes_written, "bytes_weight": op.bytes_weight,
                "bytes_comm": op.bytes_comm, "compute_time_s": op.compute_time_s,
                "memory_time_s": op.memory_time_s, "comm_time_s": op.comm_time_s,
                "roofline_time_s": op.roofline_time_s, "bound": op.bound,
                "weights_location": op.weights_location, "power_w": op.power_w,
                "extra": _json(op.extra),
            }  # fmt: skip
            for k, v in row.items():
                operators[k].append(v)
    return {
        "configs": pa.Table.from_pylist(configs, schema=arrow_schema(CONFIGS)),
        "operators": pa.Table.from_pydict(operators, schema=arrow_schema(OPERATORS)),
    }


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


def _write_streaming(spec: SweepSpec, grid: Grid, out_dir: Path) -> tuple[int, int, int]:
    """Simulate and write configs/operators chunk by chunk; (configs, fitting, operator rows).

    A writer thread encodes and compresses chunk k (pyarrow releases the GIL) while the
    caller's thread simulates chunk k+1: on two cores the Parquet writing, half the work,
    overlaps the rest. At most one chunk waits to be written, so memory stays flat.
    """
    systems = [e.system for e in spec.systems]
    tmp = {t: out_dir / f".{t}.parquet.{os.getpid()}.tmp" for t in ("configs", "operators")}
    writers = {
        t: pq.ParquetWriter(tmp[t], arrow_schema(s), **_WRITER_OPTIONS)
        for t, s in (("configs", CONFIGS), ("operators", OPERATORS))
    }
    row_group = _PARQUET_OPTIONS["row_group_size"]

    def write(tables: dict[str, pa.Table]) -> None:
        for t, w in writers.items():
            w.write_table(tables[t], row_group_size=row_group)

    n_fit = n_ops = 0
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="coview-parquet") as pool:
            pending: Future[None] | None = None
            try:
                for start in range(0, max(len(grid), 1), CHUNK_CONFIGS):
                    idx = np.arange(start, min(start + CHUNK_CONFIGS, len(grid)))
                    part = grid.take(idx)
                    res = simulate_grid(spec.model, systems, part, spec.efficiency, spec.power)
                    tables = result_tables(spec, part, res, spec.config_id_base + idx)
                    n_fit += int(res.fits_memory.sum())
                    n_ops += tables["operators"].num_rows
                    del res
                    if pending is not None:
                        pending.result()  # one chunk in flight: bounded memory, errors surface
                    pending = pool.submit(write, tables)
                    del tables
                if pending is not None:
                    pending.result()
            finally:
                if pending is not None:
                    pending.cancel()
        for w in writers.values():
            w.close()
        for t, path in tmp.items():
            os.replace(path, out_dir / f"{t}.parquet")
    finally:
        for w in writers.values():
            w.close()
        for path in tmp.values():
            path.unlink(missing_ok=True)
    return len(grid), n_fit, n_ops


def simulate(spec_path: Path, out_dir: Path) -> str:
    """Run the sweep described by spec_path and write its Parquet files into out_dir.

    Returns a one-paragraph summary for the user. Raises SpecError for a bad spec (nothing
    is written then).
    """
    spec = load_spec(Path(spec_path))
    grid, notes = grid_of(spec)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SpecError(f"--out {out_dir} is a file; give a directory for the Parquet files")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        n_configs, n_fit, n_ops = _write_streaming(spec, grid, out_dir)
        write_tables(meta_tables(spec), out_dir)
    except OSError as exc:
        raise SpecError(f"cannot write to {out_dir}: {exc}") from exc
    first = spec.config_id_base
    n_sys = len(spec.systems)
    summary = (
        f"Simulated sweep {spec.sweep_id!r} ({spec.model.name}) with {SIMULATOR} "
        f"v{MODEL_VERSION}: {n_sys} system{'s' if n_sys != 1 else ''}, {n_configs} configs "
        f"({n_fit} fit in memory), {n_ops} operator rows, "
        f"config ids {first}..{first + n_configs - 1}. Wrote sweeps, systems, models, "
        f"configs and operators .parquet to {out_dir}."
    )
    if notes:
        text = "; ".join(notes)
        summary += " " + text[0].upper() + text[1:] + "."
    summary += f" Load it with: coview ingest {out_dir} --store FILE"
    return summary
