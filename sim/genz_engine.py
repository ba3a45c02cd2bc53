"""`coview simulate SPEC --engine genz`: run GenZ over a sweep spec's grid, write native Parquet.

One spec, two engines: the grid (systems, dtypes, phases, tp, batch sizes, lengths) and its
order are the built-in engine's (coview.sim.sweep.run_grid), and the systems/models rows are
the built-in engine's own, byte for byte, so both sweeps load into one store and compare.

How the spec maps onto GenZ (GenZ takes one efficiency for compute and memory and none for
the interconnect, so the spec's efficiencies are folded into the peaks GenZ is given):
- system -> GenZ's dict form {'Flops', 'Memory_size', 'Memory_BW', 'ICN', 'ICN_LL',
  'real_values': True} in GenZ's units (TFLOPS = 1e12, GB = GB/s = 2^30): Flops = the spec's
  peak for the config's dtype x efficiency.compute x GenZ's compute multiplier for that dtype
  (GenZ divides by it again, so it runs at the spec's peak); Memory_BW = HBM bandwidth x
  efficiency.hbm; ICN = ICI bandwidth x efficiency.ici; ICN_LL = collective_step_latency_s in
  microseconds; system_eff = 1. SRAM is not passed: GenZ does not model SRAM capacity.
- model -> a GenZ ModelConfig with the spec's hyperparameters (gated FFN: num_ffi = 2).
- dtype -> GenZ's ``bits`` (weights, activations and KV in one type; a system's act/kv
  override is recorded in extra, GenZ cannot split it).
- decode runs with beam size 1 and output_tokens = the spec's output_len (GenZ models the step
  at the end of generation); a config that does not fit gets fits_memory false (see
  coview.sim.genz_runtime.run_config).
Rows are built by the GenZ importer (coview.store.importers.genz), so engine and importer
agree; TCO is the spec's price per chip-hour x tp; power and energy stay NULL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from coview.sim.genz_runtime import (
    GenZUnavailable,
    genz,
    genz_version,
    private_data_dir,
    run_config,
)
from coview.sim.roofline import Efficiency, ModelSpec, SystemSpec
from coview.sim.spec import SpecError, SweepSpec, load_spec
from coview.sim.sweep import arrow_schema, build_tables, write_tables
from coview.store.importers.genz import config_row, operators_from_rows
from coview.store.schema import CONFIGS, OPERATORS, SWEEPS

__all__ = ["SIMULATOR", "ID_OFFSET", "simulate_genz", "build_genz_tables"]

SIMULATOR = "genz"
# GenZ sweeps number their configs from the spec's base plus this, clear of the built-in's.
ID_OFFSET = 1_000_000
GIB = 2**30
_COMPUTE_MULT = {"bf16": 1.0, "fp8": 0.5, "int8": 0.5}


def genz_system(system: SystemSpec, dtype: str, eff: Efficiency) -> dict[str, Any]:
    """The spec's system in GenZ's dict form for one dtype, efficiencies folded into peaks."""
    peak = system.peak(dtype)
    if peak is None:
        raise SpecError(f"system {system.system_id!r} has no {dtype} peak")
    return {
        "Flops": peak * eff.compute * _COMPUTE_MULT[dtype] / 1e12,
        "Memory_size": system.hbm_bytes / GIB,
        "Memory_BW": system.hbm_bw_bytes_per_s * eff.hbm / GIB,
        "ICN": system.ici_bw_bytes_per_s * eff.ici / GIB,
        "ICN_LL": eff.collective_step_latency_s * 1e6,
        "real_values": True,
    }


def genz_model(model: ModelSpec) -> Any:
    """The spec's model as a GenZ ModelConfig."""
    from GenZ.Models import ModelConfig

    return ModelConfig(
        model=model.model_id,
        vocab_size=model.vocab_size,
        max_model_len=1 << 20,
        hidden_size=model.hidden_size,
        intermediate_size=model.ffn_dim,
        num_ffi=2,
        num_decoder_layers=model.num_layers,
        num_attention_heads=model.num_heads,
        head_dim=model.head_dim,
        num_key_value_heads=model.num_kv_heads,
    )


def _table(table, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(
        [{c: r.get(c) for c in table.column_names} for r in rows], schema=arrow_schema(table)
    )


def build_genz_tables(
    spec: SweepSpec,
    config_id_base: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[str, pa.Table], list[str]]:
    """The five schema-v1 tables of the spec's grid simulated by GenZ, plus notes.

    ``progress(done, total)`` is called after each configuration (GenZ takes ~0.3 s each).
    """
    genz()  # fail early (GenZUnavailable) before any work
    base = spec.config_id_base + ID_OFFSET if config_id_base is None else config_id_base
    builtin, notes = build_tables(spec)  # the systems/models rows both engines share
    model = genz_model(spec.model)
    sweep_id = f"{spec.sweep_id}-genz"
    total = builtin["configs"].num_rows  # the same grid, the same skips
    configs: list[dict[str, Any]] = []
    operators: list[dict[str, Any]] = []
    with private_data_dir():
        for entry in spec.systems:
            sysm = entry.system
            for dt in spec.dtypes:
                if entry.dtypes is not None and dt not in entry.dtypes:
                    continue
                triple = tuple(
                    entry.overrides.get(k, dt) for k in ("weight_dtype", "act_dtype", "kv_dtype")
                )
                if any(not sysm.supports(x) for x in triple):
                    continue  # the built-in engine skips it too (its notes say so)
                gsys = genz_system(sysm, triple[0], spec.efficiency)
                for phase in spec.phases:
                    for tp in spec.tps:
                        for batch in spec.batch_sizes:
                            config_id = base + len(configs)
                            run = run_config(
                                model,
                                gsys,
                                phase,
                                batch,
                                spec.input_len,
                                spec.output_len,
                                tp,
                                bits=triple[0],
                            )
                            rows = run.model_df.to_dict("records")
                            ops, sums = operators_from_rows(
                                rows, f"GenZ {sysm.system_id}", config_id
                            )
                            info = {
                                "phase": phase,
                                "tp": tp,
                                "batch": batch,
                                "bits": triple[0],
                                "system": sysm.system_id,
                                "model": spec.model.model_id,
                            }
                            extra: dict[str, Any] = {
                                "genz_latency_ms": run.latency_ms,
                                "genz_throughput": run.throughput,
                                "genz_system_dict": gsys,
                                "genz_beam_size": 1,
                                "efficiency_folded_into_peaks": True,
                            }
                            if triple[1:] != (triple[0], triple[0]):
                                extra["dtype_override_not_modelled"] = {
                                    "act_dtype": triple[1],
                                    "kv_dtype": triple[2],
                                }
                            if run.note:
                                extra["genz_memory_error"] = run.note
                            row = config_row(
                                config_id,
                                sweep_id,
                                info,
                                sums,
                                ops,
                                sysm.tco_usd_per_chip_hour,
                                extra,
                            )
                            row.update(
                                input_len=spec.input_len,
                                output_len=spec.output_len,  # as the built-in engine records it
                                act_dtype=triple[1],
                                kv_dtype=triple[2],
                                fits_memory=run.fits_memory,
                            )
                            ex = json.loads(row["extra"])
                            ex.pop("genz_system", None)
                            row["extra"] = json.dumps(ex, sort_keys=True)
                            configs.append(row)
                            operators.extend(ops)
                            if progress is not None:
                                progress(len(configs), total)
    sweeps = [
        {
            "sweep_id": sweep_id,
            "name": f"{spec.name} (GenZ)",
            "simulator": SIMULATOR,
            "simulator_version": genz_version(),
        }
    ]
    tables = {
        "sweeps": _table(SWEEPS, sweeps),
        "systems": builtin["systems"],
        "models": builtin["models"],
        "configs": _table(CONFIGS, configs),
        "operators": _table(OPERATORS, operators),
    }
    return tables, notes


def simulate_genz(
    spec_path: Path,
    out_dir: Path,
    config_id_base: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Run the spec's grid through GenZ and write its Parquet files; a summary for the user.

    Raises SpecError for a bad spec or output directory, GenZUnavailable without GenZ.
    """
    spec = load_spec(Path(spec_path))
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SpecError(f"--out {out_dir} is a file; give a directory for the Parquet files")
    tables, notes = build_genz_tables(spec, config_id_base, progress)
    try:
        write_tables(tables, out_dir)
    except OSError as exc:
        raise SpecError(f"cannot write to {out_dir}: {exc}") from exc
    cfg = tables["configs"]
    ids = cfg.column("config_id").to_pylist()
    n_fit = sum(1 for v in cfg.column("fits_memory").to_pylist() if v)
    summary = (
        f"Simulated sweep '{spec.sweep_id}-genz' ({spec.model.name}) with GenZ "
        f"{genz_version()}: {len(spec.systems)} system{'s' if len(spec.systems) != 1 else ''}, {cfg.num_rows} configs ({n_fit} fit "
        f"in memory), {tables['operators'].num_rows} operator rows, config ids "
        f"{ids[0] if ids else '-'}..{ids[-1] if ids else '-'}. GenZ does not model SRAM "
        f"capacity, power or TCO (TCO here is the spec's price). Wrote sweeps, systems, "
        f"models, configs and operators .parquet to {out_dir}."
    )
    if notes:
        summary += " " + "; ".join(notes).capitalize() + "."
    return summary + f" Load it with: coview ingest {out_dir} --store FILE"


__all__ += ["GenZUnavailable"]
