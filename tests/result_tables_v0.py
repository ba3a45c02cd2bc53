"""The vectorised result_tables of commit f71a03c, kept verbatim as the oracle for the faster
one in coview.sim.sweep: the stored rows (schema v1, byte-identical extra JSON) must not change."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pyarrow as pa

from coview.sim.grid import BOUNDS, DTYPES, OP, Grid, GridResult
from coview.sim.roofline import MODEL_VERSION, OP_CLASS, OP_ORDER
from coview.sim.spec import SweepSpec
from coview.sim.sweep import arrow_schema
from coview.store.schema import CONFIGS, OPERATORS


def _num(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Utf8)


def _pick(values: tuple[str | None, ...], codes: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(codes.ravel()))


_PINNED_SORTED = sorted(o for o in OP_ORDER if OP_CLASS[o] in ("gemm", "norm"))
_WEIGHT_COLS = np.array([OP_CLASS[o] in ("gemm", "norm") for o in OP_ORDER])
_ATTN_COLS = np.array([OP_CLASS[o] == "attention" for o in OP_ORDER])


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
    pin = res.pinned
    zeros = np.zeros(n, dtype=np.int64)
    names = [
        pl.when(pl.col(f"p{OP[o]}")).then(pl.lit(f'"{o}"')).otherwise(None) for o in _PINNED_SORTED
    ]
    cframe = pl.DataFrame(
        {
            "act": res.activation_bytes_per_chip,
            "ctx": res.context_len,
            "hkv": res.kv_heads_per_chip,
            "res": res.sram_activation_reserve_bytes,
            "need": res.sram_needed_total_bytes,
            "pin": res.sram_pinned_weight_bytes,
            "used": res.sram_used_bytes,
            **{f"p{OP[o]}": pin[:, OP[o]] for o in _PINNED_SORTED},
        }
    )
    model_tag = json.dumps(f"coview-roofline v{MODEL_VERSION}")
    config_extra = cframe.select(
        pl.concat_str(
            [
                pl.lit('{"activation_bytes_per_chip":'), _num(pl.col("act")),
                pl.lit(',"context_len":'), pl.col("ctx").cast(pl.Utf8),
                pl.lit(',"kv_heads_per_chip":'), pl.col("hkv").cast(pl.Utf8),
                pl.lit(f',"model":{model_tag},"ops_weights_in_sram":['),
                pl.concat_str(names, separator=",", ignore_nulls=True),
                pl.lit('],"sram_activation_reserve_bytes":'), _num(pl.col("res")),
                pl.lit(',"sram_needed_bytes":'), _num(pl.col("need")),
                pl.lit(',"sram_pinned_weight_bytes":'), _num(pl.col("pin")),
                pl.lit(',"sram_used_bytes":'), _num(pl.col("used")),
                pl.lit("}"),
            ]
        ).alias("extra")
    )["extra"]  # fmt: skip
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
            "extra": config_extra.to_arrow().cast(pa.string()),
        },
        schema=arrow_schema(CONFIGS),
    )

    # operators, config-major: an (n, 12) array ravels into (config, op_index) order
    n_ops = len(OP_ORDER)
    op_idx = np.tile(np.arange(n_ops, dtype=np.int64), n)
    has_w = np.broadcast_to(_WEIGHT_COLS, (n, n_ops))
    loc = np.where(has_w, np.where(pin, 0, 1), 2)
    long = pl.DataFrame(
        {
            "act": res.act_bytes.ravel(),
            "cd": _pick(DTYPES, res.compute_dtype),
            "kv": res.kv_bytes_read.ravel(),
            "need": res.sram_needed_bytes.astype(np.float64).ravel(),
            "saved": res.sram_time_saved_s.ravel(),
            "w": has_w.ravel(),
            "a": np.broadcast_to(_ATTN_COLS, (n, n_ops)).ravel(),
        }
    )
    op_extra = long.select(
        pl.concat_str(
            [
                pl.lit('{"act_bytes":'), _num(pl.col("act")),
                pl.lit(',"compute_dtype":"'), pl.col("cd"), pl.lit('"'),
                pl.when(pl.col("a")).then(pl.lit(',"kv_bytes_read":') + _num(pl.col("kv"))),
                pl.when(pl.col("w")).then(
                    pl.lit(',"sram_needed_bytes":') + _num(pl.col("need"))
                    + pl.lit(',"sram_time_saved_s":') + _num(pl.col("saved"))
                ),
                pl.lit("}"),
            ],
            ignore_nulls=True,
        ).alias("extra")
    )["extra"]  # fmt: skip
    layer = tuple("head" if o == "lm_head" else "decoder" for o in OP_ORDER)
    operators = pa.table(
        {
            "config_id": pa.array(np.repeat(config_ids, n_ops), pa.int64()),
            "op_index": pa.array(op_idx.astype(np.int32)),
            "layer_name": _pick(layer, op_idx),
            "op_type": _pick(OP_ORDER, op_idx),
            "op_class": _pick(tuple(OP_CLASS[o] for o in OP_ORDER), op_idx),
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
            "extra": op_extra.to_arrow().cast(pa.string()),
        },
        schema=arrow_schema(OPERATORS),
    )
    return {"configs": configs, "operators": operators}
