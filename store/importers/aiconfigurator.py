"""Importer for NVIDIA aiconfigurator's ``pareto.csv`` (PyPI ``aiconfigurator``).

``aiconfigurator cli default ... --save-dir DIR`` writes ``DIR/<model>/<run>/<mode>/pareto.csv``
(``report_and_save.py``: the Pareto-frontier DataFrame, ``to_csv(index=False)``), with the
columns of ``aiconfigurator_core.sdk.common.ColumnsAgg`` (aggregated serving) or
``ColumnsDisagg`` (disaggregated: ``(p)`` prefill and ``(d)`` decode workers). Files are found
by name (``pareto.csv``, recursively under a directory) or given directly.

Config level only: aiconfigurator has no per-operator table, so no ``operators`` rows are
written (questions about operators of these sweeps must be refused with that reason;
``configs.extra.operator_rows`` says so).

Each row is one deployment (a replica) meeting the run's TTFT/TPOT targets; it becomes two
configs: 'prefill' (latency_s = ttft) and 'decode' (latency_s = tpot, one output token). Units:
aiconfigurator's ttft/tpot/request_latency are ms (-> s), memory is GB per GPU (10^9 bytes,
kept in extra: it is the total, not the weights), tokens/s is per replica.
- agg: batch_size = global_bs, tp/pp/dp from the columns, ep = moe_ep, num_chips =
  num_total_gpus (the replica's GPUs; both phases share them).
- disagg: each phase from its own ``(p)``/``(d)`` columns; num_chips = tp x pp x dp x workers
  of that phase.
- throughput_tok_per_s: decode = tokens/s (generated tokens over the replica); prefill =
  seq/s x isl (prompt tokens processed per second).
- dtypes: gemm -> weight_dtype, fmha -> act_dtype, kvcache -> kv_dtype ('bfloat16' -> 'bf16',
  'float16'/'half' -> 'fp16', others kept verbatim).
- fits_memory = true: aiconfigurator drops candidates its memory check finds out of memory
  before the frontier (pareto_analysis.py) and never writes them.
- power_w = power_w when > 0 (aiconfigurator writes 0.0 when it has no power data), else NULL;
  energy_j = power_w x latency_s. TCO only with ``tco={system: usd_per_chip_hour}``.
- systems: system_id = aiconfigurator's name ('h100_sxm'); figures from its
  ``aiconfigurator_core/systems/<name>.yaml`` when installed (mem_bw, mem_capacity,
  bfloat16/fp8/int8_tc_flops, intra_node_bw, power), else NULL. models: model_id = the
  Hugging Face id in the 'model' column; hyperparameters from its bundled model config JSON
  when installed, else NULL.
"""

from __future__ import annotations

import csv
import importlib.metadata
import importlib.util
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from coview.store.importers.llm_analysis import ImportFormatError, _frame

SIMULATOR = "aiconfigurator"
DEFAULT_SWEEP_ID = "aiconfigurator"
_DTYPES = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float32": "fp32"}
_AGG_REQUIRED = (
    "model",
    "isl",
    "osl",
    "global_bs",
    "ttft",
    "tpot",
    "tokens/s",
    "seq/s",
    "num_total_gpus",
    "tp",
    "pp",
    "dp",
    "gemm",
    "kvcache",
    "fmha",
    "system",
)
_DISAGG_REQUIRED = (
    "model",
    "isl",
    "osl",
    "ttft",
    "tpot",
    "tokens/s",
    "seq/s",
    "(p)global_bs",
    "(p)workers",
    "(p)tp",
    "(p)pp",
    "(p)dp",
    "(p)gemm",
    "(p)kvcache",
    "(p)fmha",
    "(p)system",
    "(d)global_bs",
    "(d)workers",
    "(d)tp",
    "(d)pp",
    "(d)dp",
    "(d)gemm",
    "(d)kvcache",
    "(d)fmha",
    "(d)system",
)
_HINT = "pass the pareto.csv that 'aiconfigurator cli default --save-dir DIR' writes, unedited"
_NO_OPS = "none: aiconfigurator reports configuration-level figures only, no operator breakdown"


def tool_version() -> str | None:
    """The installed aiconfigurator version, or None."""
    try:
        return importlib.metadata.version("aiconfigurator")
    except importlib.metadata.PackageNotFoundError:
        return None


def _core_dir() -> Path | None:
    """aiconfigurator_core's folder, found without importing it (its import is heavy)."""
    try:
        spec = importlib.util.find_spec("aiconfigurator_core")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _system_yaml(system: str) -> dict[str, Any] | None:
    core = _core_dir()
    f = core / "systems" / f"{system}.yaml" if core else None
    if f is None or not f.is_file() or "/" in system or "\\" in system:
        return None
    try:
        data = yaml.safe_load(f.read_text())
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _model_json(model: str) -> dict[str, Any] | None:
    core = _core_dir()
    if core is None or ".." in model:
        return None
    f = core / "model_configs" / f"{model.replace('/', '--')}_config.json"
    try:
        data = json.loads(f.read_text()) if f.is_file() else None
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def system_row(system: str, price: float | None) -> dict[str, Any]:
    """A systems row: aiconfigurator's system YAML figures when installed, else NULLs."""
    cfg = _system_yaml(system) or {}
    gpu, node = cfg.get("gpu") or {}, cfg.get("node") or {}

    def num(d: dict, k: str) -> float | None:
        v = d.get(k)
        return (
            float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 else None
        )

    name = " ".join(part.upper() for part in system.split("_"))  # 'h100_sxm' -> 'H100 SXM'
    return {
        "system_id": system,
        "name": name,
        "vendor": None,  # aiconfigurator's system files do not name one
        "peak_flops_bf16": num(gpu, "bfloat16_tc_flops"),
        "peak_flops_fp8": num(gpu, "fp8_tc_flops"),
        "peak_ops_int8": num(gpu, "int8_tc_flops"),
        "hbm_bytes": num(gpu, "mem_capacity"),
        "hbm_bw_bytes_per_s": num(gpu, "mem_bw"),
        "sram_bytes": None,
        "sram_bw_bytes_per_s": None,
        "ici_bw_bytes_per_s": num(node, "intra_node_bw"),
        "tdp_w": num(gpu, "power"),
        "tco_usd_per_chip_hour": price,
        "source": f"aiconfigurator system '{system}'"
        + (
            " (aiconfigurator_core/systems YAML)"
            if cfg
            else " (not installed: figures not available)"
        ),
    }


def model_row(model: str) -> dict[str, Any]:
    """A models row: the bundled Hugging Face config when installed, else the name only."""
    cfg = _model_json(model)
    row: dict[str, Any] = {"model_id": model, "name": model.split("/")[-1]}
    if cfg:
        heads = cfg.get("num_attention_heads")
        hidden = cfg.get("hidden_size")
        row.update(
            num_layers=cfg.get("num_hidden_layers"),
            hidden_size=hidden,
            num_heads=heads,
            num_kv_heads=cfg.get("num_key_value_heads") or heads,
            head_dim=cfg.get("head_dim") or (hidden // heads if hidden and heads else None),
            ffn_dim=cfg.get("intermediate_size"),
            vocab_size=cfg.get("vocab_size"),
        )
    row["source"] = f"aiconfigurator model '{model}'" + (
        " (its bundled Hugging Face config)" if cfg else " (config not available)"
    )
    return row


def find_files(paths: list[Path]) -> list[Path]:
    """pareto.csv files named by paths (files, or directories searched recursively)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            raise ImportFormatError(p, "no such file or directory", "check the path")
        files = sorted(p.rglob("pareto.csv")) if p.is_dir() else [p]
        if not files:
            raise ImportFormatError(
                p, "no pareto.csv in this directory (searched recursively)", _HINT
            )
        out += [f for f in files if f not in out]
    return out


def _num(row: dict[str, str], col: str, file: Path, line: int, integer: bool = False) -> float:
    text = row.get(col, "")
    try:
        v = float(text)
    except (TypeError, ValueError):
        v = math.nan
    if not math.isfinite(v) or v < 0 or (integer and v != int(v)):
        raise ImportFormatError(
            file,
            f"row {line}: column '{col}' is {text!r}, not a "
            + ("whole" if integer else "finite non-negative")
            + " number",
            _HINT,
            key=col,
        )
    return int(v) if integer else v


def _dtype(text: str) -> str | None:
    return _DTYPES.get(text, text) if text else None


def load(
    paths: list[Path], sweep_id: str | None = None, tco: dict[str, float] | None = None
) -> dict[str, pl.DataFrame]:
    """Read aiconfigurator pareto.csv files into schema v1 frames (no operators table)."""
    files = find_files([Path(p) for p in paths])
    sweep = sweep_id or DEFAULT_SWEEP_ID
    prices = {k: float(v) for k, v in (tco or {}).items()}
    configs: list[dict[str, Any]] = []
    systems: list[str] = []
    models: list[str] = []
    for file in files:
        try:
            with file.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                cols = reader.fieldnames or []
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise ImportFormatError(file, f"cannot read the CSV ({exc})", _HINT) from exc
        disagg = "(p)tp" in cols
        missing = [c for c in (_DISAGG_REQUIRED if disagg else _AGG_REQUIRED) if c not in cols]
        if missing:
            raise ImportFormatError(
                file,
                f"missing aiconfigurator column(s) {', '.join(repr(c) for c in missing)}",
                _HINT,
                key=missing[0],
            )
        if not rows:
            raise ImportFormatError(file, "pareto.csv has no rows", "rerun aiconfigurator")
        for line, row in enumerate(rows, start=2):
            model = row["model"].strip()
            if not model:
                raise ImportFormatError(file, f"row {line}: empty 'model'", _HINT, key="model")
            isl = _num(row, "isl", file, line, integer=True)
            osl = _num(row, "osl", file, line, integer=True)
            seq_s = _num(row, "seq/s", file, line)
            tok_s = _num(row, "tokens/s", file, line)
            power = float(row.get("power_w") or 0) or None
            extra_all = {k: row[k] for k in cols if row.get(k) not in (None, "")}
            extra_all.update(
                aiconfigurator_file=str(file),
                aiconfigurator_row=line,
                serving_mode="disagg" if disagg else "agg",
                operator_rows=_NO_OPS,
            )
            for phase in ("prefill", "decode"):
                pre = ("(p)" if phase == "prefill" else "(d)") if disagg else ""
                system = row[f"{pre}system"].strip()
                tp = _num(row, f"{pre}tp", file, line, integer=True)
                pp = _num(row, f"{pre}pp", file, line, integer=True)
                dp = _num(row, f"{pre}dp", file, line, integer=True)
                if disagg:
                    chips = tp * pp * dp * _num(row, f"{pre}workers", file, line, integer=True)
                else:
                    chips = _num(row, "num_total_gpus", file, line, integer=True)
                lat_ms = _num(row, "ttft" if phase == "prefill" else "tpot", file, line)
                if lat_ms <= 0 or tp < 1:
                    raise ImportFormatError(
                        file, f"row {line}: latency or tp is 0", _HINT, key="ttft"
                    )
                tput = seq_s * isl if phase == "prefill" else tok_s
                price = prices.get(system)
                tco_h = price * chips if price is not None else None
                ep = row.get(f"{pre}moe_ep") or "1"
                configs.append(
                    {
                        "config_id": len(configs) + 1,
                        "sweep_id": sweep,
                        "system_id": system,
                        "model_id": model,
                        "phase": phase,
                        "batch_size": _num(row, f"{pre}global_bs", file, line, integer=True),
                        "input_len": isl,
                        "output_len": osl,
                        "tp": tp,
                        "pp": pp,
                        "dp": dp,
                        "ep": int(float(ep)),
                        "num_chips": chips,
                        "weight_dtype": _dtype(row[f"{pre}gemm"]),
                        "act_dtype": _dtype(row[f"{pre}fmha"]),
                        "kv_dtype": _dtype(row[f"{pre}kvcache"]),
                        "latency_s": lat_ms * 1e-3,
                        "throughput_tok_per_s": tput,
                        "tco_usd_per_hour": tco_h,
                        "perf_per_tco": tput / tco_h if tco_h and tput else None,
                        "usd_per_1m_tokens": tco_h / 3600 / tput * 1e6 if tco_h and tput else None,
                        "fits_memory": True,
                        "power_w": power,
                        "energy_j": power * lat_ms * 1e-3 if power else None,
                        "extra": json.dumps({**extra_all, "phase_of_row": phase}, sort_keys=True),
                    }
                )
                if system not in systems:
                    systems.append(system)
            if model not in models:
                models.append(model)
    unknown = sorted(set(prices) - set(systems))
    if unknown:
        raise ImportFormatError(
            "--tco",
            f"no pareto.csv row is for system(s) {', '.join(repr(s) for s in unknown)}",
            f"use aiconfigurator's system names: {', '.join(repr(s) for s in systems)}",
            key="tco",
        )
    return {
        "sweeps": _frame(
            "sweeps",
            [
                {
                    "sweep_id": sweep,
                    "name": f"aiconfigurator Pareto frontier ({len(files)} file{'s' if len(files) != 1 else ''})",
                    "simulator": SIMULATOR,
                    "simulator_version": tool_version(),
                    "source_path": "; ".join(str(p) for p in paths),
                    "ingested_at": datetime.now(UTC).replace(tzinfo=None),
                }
            ],
        ),
        "systems": _frame("systems", [system_row(s, prices.get(s)) for s in systems]),
        "models": _frame("models", [model_row(m) for m in models]),
        "configs": _frame("configs", configs),
    }
