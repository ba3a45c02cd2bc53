"""Importer for GenZ (PyPI ``genz-llm``, the GenZ-LLM Analyzer) per-operator tables.

GenZ's ``prefill_moddeling`` / ``decode_moddeling`` return ``model_df``, one row per operator
of one step; users save it with ``model_df.to_csv(index=False)``. coview reads one file per
configuration, named

    genz_<model>_<phase>_<system>_tp<N>_b<M>[_<bits>].csv
    e.g. genz_llama2_70b_decode_H100_GPU_tp4_b8.csv

where <model> and <system> are GenZ's own registry names and the optional <bits> is GenZ's
``bits`` argument (bf16, int8, fp8, ...; without it the width is read from the weights' bytes).
``sample_data/genz/generate.py`` writes such files.

Columns read (GenZ 0.0.16's ``get_roofline``): Layer Name, Op Type, Dimension, Bound,
Latency (msec), Num ops (MFLOP), Input_a (MB), Input_w (MB), Output (MB), Total Data (MB),
Compute time (msec), Memory time (msec), Communication time (msec); the others go to extra.
Units: msec -> s (x 1e-3); GenZ's "MB" is 2^20 bytes; MFLOP is 1e6 FLOP (GenZ's "Num ops" is
already 2 x MACs); its "GB/s" in the system registry is 2^30 bytes/s, TFLOPS 1e12 FLOP/s.

Rows: 'Repeat' / 'EndRepeat' rows are not operators; each operator's ``count`` is the product
of the Repeat dimensions around it (80 for a Llama-2-70B layer), exactly as GenZ's
get_summary_table multiplies them, so sum(roofline_time_s x count) is GenZ's latency. Names:

    GenZ Layer Name                     op_type          op_class
    QKV                                 qkv_proj         gemm        (q, k, v fused)
    Logit, Logit Pre/Suf/Dec            attn_qk          attention
    Attend, Attend Pre/Suf/Dec          attn_sv          attention
    Out Proj                            o_proj           gemm
    up+gate                             ffn_up_gate      gemm        (gate and up fused)
    down                                ffn_down         gemm
    MHA AR, FFN AR, Emb_AR, Gate AR     all_reduce       collective
    classifier                          lm_head          gemm
    classifier_AG                       all_gather       collective
    embeddings                          input_embedding  gemm        (GenZ models it as a GEMM)
    Message Pass                        send_recv        collective
    Dispatch A2A, Collect A2A           all_to_all       collective
    Gate                                moe_router       gemm
    anything else                       GenZ's name, lower-cased; class from its Op Type
layer_name is GenZ's Layer Name; extra keeps GenZ's names, Dimension, Bound and the rest.
bound: the largest of the three times (GenZ's Bound ignores communication time for GEMMs);
GenZ's own word is in extra.genz_bound. bytes_read = Input_a + Input_w, bytes_written =
Output, bytes_weight = Input_w of GEMMs (0 for the rest: attention reads KV cache there).
bytes_comm, weights_location and power_w are NULL (GenZ has no such figures per operator).

configs: batch_size, tp from the file name (checked against the operators' dimensions);
input_len (and decode's output_len: GenZ's decode step attends over input + output tokens) from
the attention dimensions; latency_s = sum of operators; throughput_tok_per_s = batch x input_len
/ latency (prefill) or batch / latency (decode); weight_bytes_per_chip and kv_bytes_per_chip as
GenZ's get_summary_table sums them; fits_memory is GenZ's own test (weights + KV <= memory);
total_flops = sum(flops x count) x tp; pp = dp = ep = 1. TCO, perf_per_tco, usd_per_1m_tokens
only with ``tco={system: usd_per_chip_hour}`` (``--tco``); power and energy are NULL.

systems: system_id = GenZ's name ('H100_GPU'), name = what people call it ('H100'), figures
from GenZ's registry (installed package, else the 0.0.16 snapshot below); fp8/int8 peaks are
2 x the bf16 peak, as GenZ models them; SRAM is NULL (GenZ does not model SRAM capacity).
models: model_id = GenZ's name; hyperparameters from GenZ's registry when installed (else a
snapshot for the sample's two models), else only num_layers (the Repeat count), rest NULL.
"""

from __future__ import annotations

import ast
import csv
import json
import math
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from coview.store.importers.llm_analysis import ImportFormatError, _frame

SIMULATOR = "genz"
DEFAULT_SWEEP_ID = "genz"
MB = 2**20
GIB = 2**30

# GenZ 0.0.16 Systems/system_configs.py: TFLOPS (bf16), GB (2^30), GB/s (2^30), ICN GB/s.
_SYSTEM_SNAPSHOT: dict[str, dict[str, float]] = {
    "A100_40GB_GPU": {"Flops": 312, "Memory_size": 40, "Memory_BW": 1600, "ICN": 150},
    "A100_80GB_GPU": {"Flops": 312, "Memory_size": 80, "Memory_BW": 2039, "ICN": 150},
    "H100_GPU": {"Flops": 989, "Memory_size": 80, "Memory_BW": 3400, "ICN": 450},
    "GH200_GPU": {"Flops": 1979, "Memory_size": 144, "Memory_BW": 4900, "ICN": 450},
    "B100": {"Flops": 3500, "Memory_size": 192, "Memory_BW": 8000, "ICN": 900},
    "GB200": {"Flops": 4500, "Memory_size": 192, "Memory_BW": 8000, "ICN": 900},
    "TPUv6": {"Flops": 926, "Memory_size": 32, "Memory_BW": 1640, "ICN": 100},
    "TPUv5e": {"Flops": 197, "Memory_size": 16, "Memory_BW": 820, "ICN": 50},
    "TPUv5p": {"Flops": 459, "Memory_size": 95, "Memory_BW": 2765, "ICN": 450},
    "TPUv4": {"Flops": 275, "Memory_size": 32, "Memory_BW": 1228, "ICN": 24},
    "MI300X": {"Flops": 1307, "Memory_size": 192, "Memory_BW": 5300, "ICN": 400},
    "MI325X": {"Flops": 1307, "Memory_size": 256, "Memory_BW": 6000, "ICN": 400},
    "Gaudi3": {"Flops": 1835, "Memory_size": 128, "Memory_BW": 3675, "ICN": 300},
}
# GenZ 0.0.16's registry entries for the models of sample_data/genz (used without GenZ):
# name -> (HF id, layers, hidden, heads, kv heads, head_dim, intermediate, vocab)
_MODEL_SNAPSHOT: dict[str, tuple[str, int, int, int, int, int, int, int]] = {
    "llama2_7b": ("meta-llama/Llama-2-7B", 32, 4096, 32, 32, 128, 11008, 32000),
    "llama2_70b": ("meta-llama/Llama-2-70B", 80, 8192, 64, 8, 128, 28672, 32000),
}
_DISPLAY = {
    "A100_40GB_GPU": ("A100 40GB", "NVIDIA"),
    "A100_80GB_GPU": ("A100 80GB", "NVIDIA"),
    "H100_GPU": ("H100", "NVIDIA"),
    "GH200_GPU": ("GH200", "NVIDIA"),
    "B100": ("B100", "NVIDIA"),
    "GB200": ("GB200", "NVIDIA"),
    "TPUv6": ("TPU v6", "Google"),
    "TPUv5e": ("TPU v5e", "Google"),
    "TPUv5p": ("TPU v5p", "Google"),
    "TPUv4": ("TPU v4", "Google"),
    "MI300X": ("MI300X", "AMD"),
    "MI325X": ("MI325X", "AMD"),
    "Gaudi3": ("Gaudi 3", "Intel"),
}
# GenZ Layer Name -> (op_type, op_class); prefixes cover Logit Pre/Suf/Dec and Attend ...
_OPS: dict[str, tuple[str, str]] = {
    "QKV": ("qkv_proj", "gemm"),
    "Out Proj": ("o_proj", "gemm"),
    "up+gate": ("ffn_up_gate", "gemm"),
    "down": ("ffn_down", "gemm"),
    "MHA AR": ("all_reduce", "collective"),
    "FFN AR": ("all_reduce", "collective"),
    "Emb_AR": ("all_reduce", "collective"),
    "Gate AR": ("all_reduce", "collective"),
    "Mamba AR": ("all_reduce", "collective"),
    "classifier": ("lm_head", "gemm"),
    "classifier_AG": ("all_gather", "collective"),
    "embeddings": ("input_embedding", "gemm"),
    "Message Pass": ("send_recv", "collective"),
    "Dispatch A2A": ("all_to_all", "collective"),
    "Collect A2A": ("all_to_all", "collective"),
    "Gate": ("moe_router", "gemm"),
}
_CLASS_BY_GENZ_TYPE = {
    "GEMM": "gemm",
    "FC": "gemm",
    "Logit": "attention",
    "Attend": "attention",
    "Sync": "collective",
    "Norm": "norm",
}
_BITS_BY_BYTES = {2.0: "bf16", 1.0: "int8", 4.0: "fp32", 0.5: "int4"}
_GENZ_BITS = ("bf16", "int8", "fp8", "f32", "int4", "int2", "fp6", "fp4")
_BITS_TO_DTYPE = {"f32": "fp32"}

_NAME_RE = re.compile(
    r"^genz_(?P<model>.+?)_(?P<phase>prefill|decode)_(?P<system>.+)_tp(?P<tp>\d+)"
    r"_b(?P<batch>\d+)(?:_(?P<bits>" + "|".join(_GENZ_BITS) + r"))?\.csv$"
)
_FILE_NAME_HINT = (
    "name each GenZ table genz_<model>_<phase>_<system>_tp<N>_b<M>.csv (GenZ's model and "
    "system names, phase prefill or decode), e.g. genz_llama2_70b_decode_H100_GPU_tp4_b8.csv"
)
REQUIRED = (
    "Layer Name",
    "Op Type",
    "Dimension",
    "Bound",
    "Latency (msec)",
    "Num ops (MFLOP)",
    "Input_a (MB)",
    "Input_w (MB)",
    "Output (MB)",
    "Compute time (msec)",
    "Memory time (msec)",
    "Communication time (msec)",
)
_NUMERIC = tuple(c for c in REQUIRED if c not in ("Layer Name", "Op Type", "Dimension", "Bound"))
_CONSUMED = set(REQUIRED) | {"Total Data (MB)"}


# --------------------------------------------------------------------------- registries


def system_configs() -> dict[str, dict[str, Any]]:
    """GenZ's system registry: the installed package's entries over the 0.0.16 snapshot."""
    from coview.sim.genz_runtime import system_registry

    out: dict[str, dict[str, Any]] = {k: dict(v) for k, v in _SYSTEM_SNAPSHOT.items()}
    out.update(system_registry())
    return out


def system_display_name(system: str) -> tuple[str, str | None]:
    """What people call a GenZ system ('H100_GPU' -> 'H100') and its vendor."""
    if system in _DISPLAY:
        return _DISPLAY[system]
    return system.removesuffix("_GPU").replace("_", " "), None


def system_row(system: str, price: float | None) -> dict[str, Any]:
    """A systems row from GenZ's registry figures (unknown system: figures NULL)."""
    cfg = system_configs().get(system)
    name, vendor = system_display_name(system)

    def fig(key: str, factor: float) -> float | None:
        v = cfg.get(key) if cfg else None
        return float(v) * factor if isinstance(v, (int, float)) and v > 0 else None

    bf16 = fig("Flops", 1e12)
    from coview.sim.genz_runtime import genz_version

    version = genz_version() or "0.0.16 snapshot"
    source = (
        f"GenZ system_configs '{system}' (genz-llm {version}): {cfg.get('Flops')} TFLOPS, "
        f"{cfg.get('Memory_size')} GB, {cfg.get('Memory_BW')} GB/s memory, {cfg.get('ICN')} GB/s "
        "interconnect (GenZ's GB = 2^30 bytes); fp8/int8 peaks = 2x bf16 as GenZ models them; "
        "GenZ does not model SRAM capacity"
        if cfg
        else f"GenZ system '{system}' (not in GenZ's registry: figures not available)"
    )
    return {
        "system_id": system,
        "name": name,
        "vendor": vendor,
        "peak_flops_bf16": bf16,
        "peak_flops_fp8": bf16 * 2 if bf16 else None,
        "peak_ops_int8": bf16 * 2 if bf16 else None,
        "hbm_bytes": fig("Memory_size", GIB),
        "hbm_bw_bytes_per_s": fig("Memory_BW", GIB),
        "sram_bytes": None,
        "sram_bw_bytes_per_s": None,
        "ici_bw_bytes_per_s": fig("ICN", GIB),
        "tdp_w": None,
        "tco_usd_per_chip_hour": price,
        "source": source,
    }


def model_row(model: str, layers: int | None) -> dict[str, Any]:
    """A models row: GenZ's registry when installed, else the name and the layer count."""
    from coview.sim.genz_runtime import model_config

    cfg = model_config(model)
    snap = _MODEL_SNAPSHOT.get(model)
    if cfg is None and snap is not None:
        hf, n, hidden, heads, kv, hd, ffn, vocab = snap
        return {
            "model_id": model,
            "name": hf.split("/")[-1],
            "num_layers": n,
            "hidden_size": hidden,
            "num_heads": heads,
            "num_kv_heads": kv,
            "head_dim": hd,
            "ffn_dim": ffn,
            "vocab_size": vocab,
            "source": f"GenZ model registry '{model}' = {hf}",
        }
    if cfg is None:
        return {
            "model_id": model,
            "name": model,
            "num_layers": layers,
            "source": f"GenZ file name only (model '{model}'; GenZ not installed or the name is "
            "not in its registry; num_layers from the Repeat count)",
        }
    heads = cfg.num_attention_heads
    hidden = cfg.hidden_size
    return {
        "model_id": model,
        "name": str(cfg.model).split("/")[-1],
        "num_layers": cfg.num_decoder_layers,
        "hidden_size": hidden,
        "num_heads": heads,
        "num_kv_heads": cfg.num_key_value_heads or heads,
        "head_dim": cfg.head_dim or (hidden // heads if heads else None),
        "ffn_dim": cfg.intermediate_size,
        "vocab_size": cfg.vocab_size,
        "source": f"GenZ model registry '{model}' = {cfg.model}",
    }


# --------------------------------------------------------------------------- parsing


def parse_file_name(name: str) -> dict[str, Any]:
    """model, phase, system, tp, batch and bits (or None) from a GenZ table's file name."""
    m = _NAME_RE.match(name)
    if m is None:
        raise ImportFormatError(
            name,
            "the file name is not genz_<model>_<phase>_<system>_tp<N>_b<M>.csv",
            _FILE_NAME_HINT,
            key="file name",
        )
    out = m.groupdict()
    out["tp"], out["batch"] = int(out["tp"]), int(out["batch"])
    if out["tp"] < 1 or out["batch"] < 1:
        raise ImportFormatError(
            name, "tp and batch must be at least 1", _FILE_NAME_HINT, "file name"
        )
    return out


def _number(row: dict[str, str], col: str, file: Path, line: int) -> float:
    text = row.get(col)
    try:
        value = float(text) if text not in (None, "") else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ImportFormatError(
            file,
            f"row {line}: column '{col}' is {text!r}, not a finite non-negative number",
            "regenerate the file with model_df.to_csv(index=False); do not edit it by hand",
            key=col,
        )
    return value


def _dims(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def read_table(file: Path) -> list[dict[str, str]]:
    """The rows of one GenZ CSV, checked for GenZ's columns."""
    try:
        with file.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise ImportFormatError(
                    file,
                    f"missing GenZ column(s) {', '.join(repr(c) for c in missing)}",
                    "this is not a GenZ model_df; save it with model_df.to_csv(index=False)",
                    key=missing[0],
                )
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ImportFormatError(file, f"cannot read the CSV ({exc})", "check the file") from exc
    if not rows:
        raise ImportFormatError(file, "the table has no rows", "regenerate it with GenZ")
    return rows


def operators_from_rows(
    rows: list[dict[str, Any]], file: Path | str, config_id: int
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Schema v1 operator rows from GenZ model_df rows, and per-config sums.

    Also used by the GenZ engine (coview.sim.genz_engine) on the DataFrame GenZ returns.
    """
    file = Path(file)
    ops: list[dict[str, Any]] = []
    stack: list[float] = []
    sums = {"latency_ms": 0.0, "weights_mb": 0.0, "kv_mb": 0.0, "flops": 0.0, "layers": None}
    shapes: dict[str, Any] = {}
    for line, raw in enumerate(rows, start=2):
        row = {k: ("" if v is None else str(v)) for k, v in raw.items()}
        genz_type = row["Op Type"].strip()
        name = row["Layer Name"].strip()
        if genz_type in ("Repeat", "EndRepeat"):
            dim = _dims(row["Dimension"])
            if isinstance(dim, bool) or not isinstance(dim, (int, float)) or dim < 1:
                raise ImportFormatError(
                    file,
                    f"row {line}: {genz_type} has dimension {row['Dimension']!r}",
                    "a GenZ Repeat/EndRepeat row carries the repeat count",
                    key="Dimension",
                )
            if genz_type == "Repeat":
                stack.append(float(dim))
                if sums["layers"] is None:
                    sums["layers"] = int(dim)
            else:
                if not stack or stack[-1] != float(dim):
                    raise ImportFormatError(
                        file,
                        f"row {line}: EndRepeat {dim} does not close a Repeat {dim}",
                        "the table is truncated or edited; regenerate it with GenZ",
                        key="Op Type",
                    )
                stack.pop()
            continue
        vals = {c: _number(row, c, file, line) for c in _NUMERIC}
        count = math.prod(stack) if stack else 1.0
        ms = 1e-3
        times = {
            "compute": vals["Compute time (msec)"] * ms,
            "memory": vals["Memory time (msec)"] * ms,
            "comm": vals["Communication time (msec)"] * ms,
        }
        roof = vals["Latency (msec)"] * ms
        top = max(times.values())
        if abs(roof - top) > 1e-9 * max(top, 1e-30) and abs(roof - top) > 1e-15:
            raise ImportFormatError(
                file,
                f"row {line} ({name!r}): Latency {vals['Latency (msec)']} ms is not the largest of "
                "its compute, memory and communication times",
                "GenZ's latency is max(compute, memory, comm); regenerate the file",
                key="Latency (msec)",
            )
        bound = None if top == 0 else max(times, key=lambda k: times[k])
        op_type, op_class = _OPS.get(name, (None, None))
        if op_type is None:
            if name.startswith("Logit"):
                op_type, op_class = "attn_qk", "attention"
            elif name.startswith("Attend"):
                op_type, op_class = "attn_sv", "attention"
            else:
                op_type = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "genz_op"
                op_class = _CLASS_BY_GENZ_TYPE.get(genz_type, "elementwise")
        dims = _dims(row["Dimension"])
        if op_class == "attention" and name not in shapes:
            shapes[name] = dims
        if name == "QKV":
            shapes.setdefault("QKV", dims)
        a, w, o = vals["Input_a (MB)"] * MB, vals["Input_w (MB)"] * MB, vals["Output (MB)"] * MB
        if op_class == "attention":
            sums["kv_mb"] += vals["Input_w (MB)"] * count
        elif genz_type == "GEMM":
            sums["weights_mb"] += vals["Input_w (MB)"] * count
        sums["latency_ms"] += vals["Latency (msec)"] * count
        sums["flops"] += vals["Num ops (MFLOP)"] * 1e6 * count
        extra = {
            "genz_layer_name": name,
            "genz_op_type": genz_type,
            "genz_bound": row["Bound"],
            "dimension": row["Dimension"],
        }
        for k, v in row.items():
            if k not in _CONSUMED and k not in ("Layer Name", "Op Type", "Bound", "Dimension"):
                try:
                    extra[k] = float(v)
                except ValueError:
                    extra[k] = v
        if "Total Data (MB)" in row and row["Total Data (MB)"] != "":
            extra["total_data_bytes"] = _number(row, "Total Data (MB)", file, line) * MB
        ops.append(
            {
                "config_id": config_id,
                "op_index": len(ops),
                "layer_name": name,
                "op_type": op_type,
                "op_class": op_class,
                "count": int(count),
                "flops": vals["Num ops (MFLOP)"] * 1e6,
                "bytes_read": a + w,
                "bytes_written": o,
                "bytes_weight": w if genz_type == "GEMM" else 0.0,
                "compute_time_s": times["compute"],
                "memory_time_s": times["memory"],
                "comm_time_s": times["comm"],
                "roofline_time_s": roof,
                "bound": bound,
                "extra": json.dumps(extra, sort_keys=True),
            }
        )
    if stack:
        raise ImportFormatError(
            file,
            "a Repeat block is never closed by EndRepeat",
            "the table is truncated; regenerate it with GenZ",
            key="Op Type",
        )
    if not ops:
        raise ImportFormatError(file, "the table has no operator rows", "regenerate it with GenZ")
    sums["shapes"] = shapes
    return ops, sums


def _lengths(phase: str, shapes: dict[str, Any]) -> tuple[int | None, int | None, int | None]:
    """(batch, input_len, output_len) from GenZ's attention dimensions, where they show them."""

    def at(name: str, i: int, j: int) -> int | None:
        try:
            return int(shapes[name][i][j])
        except (KeyError, IndexError, TypeError, ValueError):
            return None

    if phase == "prefill":
        return at("Logit", 0, 0), at("Logit", 0, 2), None
    first = "Logit Pre" if "Logit Pre" in shapes else "Logit"
    return at(first, 0, 0), at(first, 1, 2), at("Logit Suf", 1, 2) or 0


def _dtype(bits: str | None, ops: list[dict[str, Any]], shapes: dict[str, Any]) -> str | None:
    """GenZ's bits from the file name, else the width of the fused QKV weights."""
    if bits:
        return _BITS_TO_DTYPE.get(bits, bits)
    try:
        ((_, wshape, _),) = shapes["QKV"]
        elems = int(wshape[0]) * int(wshape[1])
        qkv = next(o for o in ops if o["layer_name"] == "QKV")
        return _BITS_BY_BYTES.get(round(qkv["bytes_weight"] / elems * 2) / 2)
    except (KeyError, ValueError, TypeError, StopIteration, ZeroDivisionError):
        return None


def config_row(
    config_id: int,
    sweep: str,
    info: dict[str, Any],
    sums: dict[str, Any],
    ops: list[dict[str, Any]],
    price: float | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """One configs row from a GenZ table's sums (shared with the GenZ engine)."""
    phase, tp, batch = info["phase"], info["tp"], info["batch"]
    b_dim, input_len, output_len = _lengths(phase, sums["shapes"])
    latency = sums["latency_ms"] * 1e-3
    if phase == "prefill":
        tput = batch * input_len / latency if input_len and latency else None
    else:
        tput = batch / latency if latency else None
    mem = system_row(info["system"], None)["hbm_bytes"]
    weights, kv = sums["weights_mb"] * MB, sums["kv_mb"] * MB
    tco = price * tp if price is not None else None
    dtype = _dtype(info.get("bits"), ops, sums["shapes"])
    extra = {**extra, "genz_model": info["model"], "genz_system": info["system"]}
    if b_dim is not None:
        extra["batch_in_dimensions"] = b_dim
    if phase == "decode":
        extra["note"] = "GenZ's decode step attends over input_len + output_len tokens"
    return {
        "config_id": config_id,
        "sweep_id": sweep,
        "system_id": info["system"],
        "model_id": info["model"],
        "phase": phase,
        "batch_size": batch,
        "input_len": input_len,
        "output_len": output_len,
        "tp": tp,
        "pp": 1,
        "dp": 1,
        "ep": 1,
        "num_chips": tp,
        "weight_dtype": dtype,
        "act_dtype": dtype,
        "kv_dtype": dtype,
        "latency_s": latency,
        "throughput_tok_per_s": tput,
        "tco_usd_per_hour": tco,
        "perf_per_tco": tput / tco if tput and tco else None,
        "usd_per_1m_tokens": tco / 3600 / tput * 1e6 if tput and tco else None,
        "weight_bytes_per_chip": weights,
        "kv_bytes_per_chip": kv,
        "fits_memory": (weights + kv <= mem) if mem else None,
        "total_flops": sums["flops"] * tp,
        "extra": json.dumps(extra, sort_keys=True),
    }


def find_tables(paths: list[Path]) -> list[Path]:
    """The genz_*.csv files named by paths (files, or directories searched recursively)."""
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ImportFormatError(path, "no such file or directory", "check the path")
        files = sorted(path.rglob("genz_*.csv")) if path.is_dir() else [path]
        if not files:
            raise ImportFormatError(
                path,
                "no genz_*.csv files in this directory (searched recursively)",
                _FILE_NAME_HINT,
            )
        for f in files:
            if f.resolve() not in seen:
                seen.add(f.resolve())
                found.append(f)
    return found


def load(
    paths: list[Path], sweep_id: str | None = None, tco: dict[str, float] | None = None
) -> dict[str, pl.DataFrame]:
    """Read GenZ per-operator CSVs into schema v1 frames by table name.

    ``tco`` maps a GenZ system name (or its display name) to USD per chip-hour.
    Raises ImportFormatError on a bad file name, missing GenZ columns, bad numbers, an
    unbalanced Repeat block, or a file name that disagrees with the table's dimensions.
    """
    from coview.sim.genz_runtime import genz_version

    files = find_tables([Path(p) for p in paths])
    sweep = sweep_id or DEFAULT_SWEEP_ID
    prices = _prices(tco or {})
    configs, operators = [], []
    systems: list[str] = []
    models: dict[str, int | None] = {}
    for file in files:
        info = parse_file_name(file.name)
        ops, sums = operators_from_rows(read_table(file), file, len(configs) + 1)
        b_dim = _lengths(info["phase"], sums["shapes"])[0]
        if b_dim is not None and b_dim != info["batch"]:
            raise ImportFormatError(
                file,
                f"the file name says b{info['batch']} but the attention dimensions "
                f"have batch {b_dim}",
                "the file was renamed; " + _FILE_NAME_HINT,
                "file name",
            )
        price = prices.get(info["system"])
        configs.append(
            config_row(len(configs) + 1, sweep, info, sums, ops, price, {"genz_file": file.name})
        )
        operators.extend(ops)
        if info["system"] not in systems:
            systems.append(info["system"])
        models.setdefault(info["model"], sums["layers"])
    unknown = sorted(set(prices) - set(systems))
    if unknown:
        raise ImportFormatError(
            "--tco",
            f"no GenZ table is for system(s) {', '.join(repr(s) for s in unknown)}",
            f"use the GenZ system names of the files: {', '.join(repr(s) for s in systems)}",
            key="tco",
        )
    version = genz_version()
    return {
        "sweeps": _frame(
            "sweeps",
            [
                {
                    "sweep_id": sweep,
                    "name": f"GenZ operator tables ({len(files)} files)",
                    "simulator": SIMULATOR,
                    "simulator_version": version,
                    "source_path": "; ".join(str(p) for p in paths),
                    "ingested_at": datetime.now(UTC).replace(tzinfo=None),
                }
            ],
        ),
        "systems": _frame("systems", [system_row(s, prices.get(s)) for s in systems]),
        "models": _frame("models", [model_row(m, n) for m, n in models.items()]),
        "configs": _frame("configs", configs),
        "operators": _frame("operators", operators),
    }


def _prices(tco: dict[str, float]) -> dict[str, float]:
    """--tco keys as GenZ system names (a display name like 'H100' is accepted too)."""
    by_display = {system_display_name(s)[0].lower(): s for s in system_configs()}
    out: dict[str, float] = {}
    for key, value in tco.items():
        if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ImportFormatError(
                "--tco", f"price for {key!r} is {value!r}", "give USD per chip-hour > 0", "tco"
            )
        out[by_display.get(key.lower(), key)] = float(value)
    return out
