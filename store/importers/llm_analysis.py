"""Importer for the ``*-summary.json`` files of the open-source llm-analysis tool.

llm-analysis (PyPI ``llm-analysis``; ``python -m llm_analysis.analysis infer ...``) writes one
JSON summary per run. The model, GPU and dtype are only in the file name, e.g.

    upstage_Llama-2-70b-instruct-v2-h100-sxm-80gb-w8a8e16-tp4-pp1-dp1-sp4-fe0.7-ep1-hbme0.9-summary.json
    <model>-<gpu>-<dtype>-tp<N>-pp<N>-dp<N>-sp<N>-fe<eff>-ep<N>-hbme<eff><suffix>-summary.json

``<suffix>`` is the tool's ``--output_file_suffix`` (may be empty). Model names contain dashes,
so the name is parsed from the right: the dtype (``w\\d+a\\d+e\\d+``) anchors the tail, and the
GPU is the longest known llm-analysis GPU config name that ends the rest (known names come from
the installed package's ``gpu_configs`` folder, else from a snapshot of llm-analysis 0.2.2's
list kept below; an unknown GPU still parses if it looks like ``<chip>[-pcie|-sxm]-<N>gb``).

``load(paths, sweep_id)`` returns schema v1 frames ('sweeps', 'systems', 'models', 'configs',
'operators'); ``coview.store.ingest`` validates and writes them. Mapping decisions:

configs (each summary gives a prefill row and then a decode row; config_id counts from 1 in
file-path order, the ingest code offsets them):
- batch_size = batch_size_per_gpu x dp (the tool's batch is per model replica: every GPU of a
  TP group sees the same sequences); input_len = seq_len; output_len = num_tokens_to_generate;
  tp/pp/ep from the JSON (tp_size/pp_size/ep_size), dp from the file name (not in the JSON);
  num_chips = tp x pp x dp.
- latency_s: prefill = prefill_latency; decode = decode_latency (one step, i.e. time per
  output token; the tool already includes kv_cache_latency in it).
- throughput_tok_per_s = <phase>_tokens_per_sec x dp.
- usd_per_1m_tokens = <phase>_cost_per_1k_tokens x 1000 (present only when the tool was run
  with --cost_per_gpu_hour). The tool computes cost_1k = 1000 x price x tp x pp / 3600 /
  tokens_per_sec, so the price per GPU-hour is recovered exactly as
  cost_1k x tokens_per_sec x 3.6 / (tp x pp) (rounded to 10 significant digits);
  tco_usd_per_hour = price x num_chips; perf_per_tco = throughput / tco_usd_per_hour.
  systems.tco_usd_per_chip_hour is that price when every file of the GPU agrees, else NULL.
- weight_bytes_per_chip = weight_memory_per_gpu; kv_bytes_per_chip = kv_cache_memory_per_gpu
  on the decode row (NULL on the prefill row: the tool counts no KV cache for prefill).
- fits_memory uses the tool's own test against the GPU's memory (mem_per_GPU_in_GB x 2^30,
  as the tool computes it): prefill weights + prefill activations, decode weights + KV cache
  + decode activations. The tool refuses to write runs that do not fit, so this is normally
  true; it is NULL when the GPU's memory is unknown.
- total_flops = <phase>_num_flops_fwd_total x dp (the tool counts the whole model's FLOPs for
  one replica's batch: all chips of the TP/PP group).
- dtypes: from the dtype name w<W>a<A>e<E>: 16 bits -> 'bf16' (the tool's 16-bit figures use
  its fp16 peak; bf16 has the same peak and is what these models serve in), 8 -> 'int8',
  4 -> 'int4', 32 -> 'fp32'. weight_dtype from W, act_dtype from A, the embedding width E has
  no column (kept in extra). kv_dtype: the byte width implied by kv_cache_memory_per_gpu and
  the model config (the tool's --kv_cache_dtype_bytes is not in the summary); if that cannot
  be worked out, act_dtype (the tool's default).
- power_w, energy_j, is_pareto: NULL (ingest computes is_pareto).
- extra: every summary key that has no column (keys prefixed prefill_/decode_ only on that
  phase's row), plus the file-name fields (gpu, dtype, sp, fe, hbme, suffix) and the file name.

operators (one row per module latency ``<phase>_latency_fwd_<module>``): the tool reports
totals over the layers on one GPU (num_layers / pp). The per-layer modules are written per
instance with ``count`` instances so that sum(roofline_time_s x count) == latency_s, exactly
as coview's own roofline model counts them:

    tool module              op_type           op_class     layer_name  count
    input_embedding          input_embedding   elementwise  embedding   1
    layernorm (2 per layer)  rmsnorm*          norm         decoder     2 x layers
    attn (qkv, attention, o) attn              attention    decoder     layers
    kv_cache_latency (decode only)  kv_cache   attention    decoder     layers
    tp_comm (2 all-reduces per layer) all_reduce collective decoder     2 x layers  (omitted at tp=1)
    mlp                      mlp               gemm         decoder     layers
    output_embedding_loss    lm_head           gemm         head        1

    * 'rmsnorm' when the tool's model config says model_type 'llama' (Llama's norms are
      RMSNorm and the tool models the same two memory-bound norms per layer); otherwise the
      tool's name 'layernorm' is kept. 'attn' and 'mlp' group several of coview's operators
      (q/k/v/o projections with attention; gate/up/down), so they keep the tool's names.

roofline_time_s = the module latency per instance. The tool does not split compute and
memory time per module, so compute_time_s / memory_time_s / comm_time_s and bound stay NULL,
except all_reduce (comm_time_s = roofline, bound 'comm': the tool's formula is pure
interconnect time) and kv_cache (memory_time_s = roofline, bound 'memory': a load/store of the
cache). When the model's layer count is unknown (no model config), per-layer modules get
count 1 with the total and layer_name 'decoder (all layers)'. flops, bytes, weights_location
and power_w are NULL (not in the summary).

systems: system_id = the tool's GPU config name (e.g. 'h100-sxm-80gb'); name = what a person
calls it ('H100 SXM 80GB'); source = 'llm-analysis gpu config h100-sxm-80gb'. peak_flops_bf16
= peak_fp16_TFLOPS x 1e12, peak_ops_int8 = peak_i8_TFLOPS x 1e12, hbm_bytes =
mem_per_GPU_in_GB x 2^30 (the tool's convention), hbm_bw_bytes_per_s =
hbm_bandwidth_in_GB_per_sec x 1e9, ici_bw_bytes_per_s = intra_node_bandwidth_in_GB_per_sec x
1e9; fp8, SRAM and TDP are NULL (the tool has none).

models: model_id = the tool's model config name; name = that name without its Hugging Face
organisation (the part before the first '_'), e.g. 'Llama-2-70b-instruct-v2' for
'upstage_Llama-2-70b-instruct-v2', which is how people name the model; source keeps the config
name and the Hugging Face id ('upstage/Llama-2-70b-instruct-v2'). Hyperparameters from the
tool's model config (installed package, else the 0.2.2 snapshot below; NULL if neither knows
the model). Note the tool's own figures are kept (e.g. its Llama-2-70B config says
ffn_embed_dim 32768, not the real 28672). total_params is NULL (not in the summary).

Malformed input raises ``ImportFormatError`` (file, message, hint, key), which the ingest
code turns into its own error.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from coview.store.native import not_regular_reason
from coview.store.schema import TABLES_BY_NAME

SIMULATOR = "llm-analysis"
DEFAULT_SWEEP_ID = "llm-analysis"
SUMMARY_SUFFIX = "-summary.json"

# Snapshot of llm-analysis 0.2.2's gpu_configs (used when the package is not installed):
# name -> (mem_per_GPU_in_GB, hbm_bandwidth_in_GB_per_sec, intra_node_bandwidth_in_GB_per_sec,
#          peak_fp16_TFLOPS, peak_i8_TFLOPS)
_GPU_SNAPSHOT: dict[str, tuple[float, float, float, float, float]] = {
    "a10-pcie-28gb": (28, 600, 32, 125, 250),
    "a100-pcie-40gb": (40, 1555, 300, 312, 624),
    "a100-pcie-80gb": (80, 1935, 300, 312, 624),
    "a100-sxm-40gb": (40, 1555, 300, 312, 624),
    "a100-sxm-80gb": (80, 2039, 300, 312, 624),
    "a10g-pcie-24gb": (24, 600, 32, 70, 140),
    "a6000-48gb": (48, 768, 56.25, 154.8, 309.6),
    "h100-pcie-80gb": (80, 2000, 300, 756, 1513),
    "h100-sxm-80gb": (80, 3350, 450, 989, 1979),
    "mi100-32gb": (32, 1228.8, 138, 184.6, 369.2),
    "mi210-64gb": (64, 1638, 150, 181, 362),
    "mi250-128gb": (128, 3200, 400, 362.1, 724.2),
    "mi250x-128gb": (128, 3200, 400, 383, 766),
    "v100-pcie-16gb": (16, 900, 16, 112, 0),
    "v100-pcie-32gb": (32, 900, 16, 112, 0),
    "v100-sxm-16gb": (32, 900, 150, 125, 0),
    "v100-sxm-32gb": (32, 900, 150, 125, 0),
}
_GPU_KEYS = (
    "mem_per_GPU_in_GB",
    "hbm_bandwidth_in_GB_per_sec",
    "intra_node_bandwidth_in_GB_per_sec",
    "peak_fp16_TFLOPS",
    "peak_i8_TFLOPS",
)

# Snapshot of llm-analysis 0.2.2's Llama-family model_configs:
# name -> (num_layers, n_head, hidden_dim, vocab_size, num_key_value_heads, ffn_embed_dim)
_MODEL_SNAPSHOT: dict[str, tuple[int, int, int, int, int | None, int]] = {
    "NousResearch_Llama-2-7b-hf": (32, 32, 4096, 32000, 32, 16384),
    "upstage_Llama-2-70b-instruct-v2": (80, 64, 8192, 32000, 8, 32768),
    "decapoda-research_llama-7b-hf": (32, 32, 4096, 32000, None, 16384),
    "decapoda-research_llama-13b-hf": (40, 40, 5120, 32000, None, 20480),
    "decapoda-research_llama-30b-hf": (60, 52, 6656, 32000, None, 26624),
    "decapoda-research_llama-65b-hf": (80, 64, 8192, 32000, None, 32768),
    "fxmarty_tiny-llama-fast-tokenizer": (2, 4, 16, 32000, None, 64),
}

_BITS_TO_DTYPE = {32: "fp32", 16: "bf16", 8: "int8", 4: "int4"}

_TAIL_RE = re.compile(
    r"^(?P<head>.+)-(?P<dtype>w(?P<w>\d+)a(?P<a>\d+)e(?P<e>\d+))"
    r"-tp(?P<tp>\d+)-pp(?P<pp>\d+)-dp(?P<dp>\d+)-sp(?P<sp>\d+)"
    r"-fe(?P<fe>\d+(?:\.\d+)?(?:e-?\d+)?)-ep(?P<ep>\d+)"
    r"-hbme(?P<hbme>\d+(?:\.\d+)?(?:e-?\d+)?)(?P<suffix>.*)-summary\.json$"
)
# An unknown GPU config name that looks like the tool's: <chip>[-pcie|-sxm|...]-<N>gb.
_GPU_LIKE_RE = re.compile(r"^(?P<model>.+)-(?P<gpu>[a-z]+\d+[a-z]*(?:-[a-z]+)?-\d+gb)$", re.I)

_FILE_NAME_HINT = (
    "llm-analysis names its summaries <model>-<gpu>-<dtype>-tp<N>-pp<N>-dp<N>-sp<N>-fe<x>-ep<N>-"
    "hbme<x>[suffix]-summary.json; pass the files the tool wrote, without renaming them"
)


class ImportFormatError(ValueError):
    """A file that is not a usable llm-analysis summary: which file, what is wrong, what to do."""

    def __init__(self, file: str | Path, message: str, hint: str, key: str | None = None):
        self.file = str(file)
        self.message = message
        self.hint = hint
        self.key = key  # the JSON key (or file-name field) at fault, if any
        super().__init__(f"{self.file}: {message}. Hint: {hint}.")


@dataclass(frozen=True)
class FileNameInfo:
    """The run description llm-analysis encodes in a summary's file name."""

    model: str
    gpu: str
    dtype: str
    weight_bits: int
    act_bits: int
    embedding_bits: int
    tp: int
    pp: int
    dp: int
    sp: int
    fe: float
    ep: int
    hbme: float
    suffix: str


# --------------------------------------------------------------------------- tool configs


def _package_dir() -> Path | None:
    """The installed llm_analysis package folder, found without importing it (it is slow)."""
    try:
        spec = importlib.util.find_spec("llm_analysis")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _read_config_dir(sub: str) -> dict[str, dict[str, Any]]:
    pkg = _package_dir()
    out: dict[str, dict[str, Any]] = {}
    if pkg is None or not (pkg / sub).is_dir():
        return out
    for f in sorted((pkg / sub).glob("*.json")):
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out[str(data.get("name", f.stem))] = data
    return out


@lru_cache(maxsize=1)
def gpu_configs() -> dict[str, dict[str, Any]]:
    """llm-analysis GPU configs by name: the installed package's, over the 0.2.2 snapshot."""
    configs = {
        name: {"name": name, **dict(zip(_GPU_KEYS, vals, strict=True))}
        for name, vals in _GPU_SNAPSHOT.items()
    }
    configs.update(_read_config_dir("gpu_configs"))
    return configs


@lru_cache(maxsize=1)
def model_configs() -> dict[str, dict[str, Any]]:
    """llm-analysis model configs by name: the installed package's, over the 0.2.2 snapshot."""
    configs: dict[str, dict[str, Any]] = {}
    for name, (layers, heads, hidden, vocab, kv, ffn) in _MODEL_SNAPSHOT.items():
        configs[name] = {
            "name": name,
            "num_layers": layers,
            "n_head": heads,
            "hidden_dim": hidden,
            "vocab_size": vocab,
            "num_key_value_heads": kv,
            "ffn_embed_dim": ffn,
            "model_type": "llama",
        }
    configs.update(_read_config_dir("model_configs"))
    return configs


def tool_version() -> str | None:
    """The installed llm-analysis version, or None if it is not installed."""
    try:
        return importlib.metadata.version("llm-analysis")
    except importlib.metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------- file names


def parse_file_name(name: str, known_gpus: list[str] | None = None) -> FileNameInfo:
    """Split a summary file name into model, GPU, dtype and parallelism.

    Raises ImportFormatError if the name is not one llm-analysis writes.
    """
    m = _TAIL_RE.match(name)
    if m is None:
        raise ImportFormatError(
            name,
            "the file name does not have llm-analysis's "
            "'-<dtype>-tp<N>-pp<N>-dp<N>-sp<N>-fe<x>-ep<N>-hbme<x>[suffix]-summary.json' tail",
            _FILE_NAME_HINT,
            key="file name",
        )
    head = m["head"]
    gpus = sorted(known_gpus if known_gpus is not None else gpu_configs(), key=len, reverse=True)
    model = gpu = None
    for g in gpus:
        if head.endswith("-" + g) and len(head) > len(g) + 1:
            model, gpu = head[: -len(g) - 1], g
            break
    if gpu is None:
        g2 = _GPU_LIKE_RE.match(head)
        if g2 is None:
            raise ImportFormatError(
                name,
                f"cannot find the GPU in '{head}': it does not end with a known llm-analysis GPU "
                f"config name ({', '.join(sorted(gpus)[:4])}, ...) or a '<chip>-<N>gb' name",
                _FILE_NAME_HINT,
                key="file name",
            )
        model, gpu = g2["model"], g2["gpu"]
    return FileNameInfo(
        model=model,
        gpu=gpu,
        dtype=m["dtype"],
        weight_bits=int(m["w"]),
        act_bits=int(m["a"]),
        embedding_bits=int(m["e"]),
        tp=int(m["tp"]),
        pp=int(m["pp"]),
        dp=int(m["dp"]),
        sp=int(m["sp"]),
        fe=float(m["fe"]),
        ep=int(m["ep"]),
        hbme=float(m["hbme"]),
        suffix=m["suffix"],
    )


def gpu_display_name(gpu: str) -> str:
    """What a person calls an llm-analysis GPU: 'h100-sxm-80gb' -> 'H100 SXM 80GB'."""
    words = []
    for part in gpu.split("-"):
        low = part.lower()
        if low == "pcie":
            words.append("PCIe")
        elif re.fullmatch(r"\d+gb", low):
            words.append(low[:-2] + "GB")
        else:
            words.append(part.upper())
    return " ".join(words)


def _gpu_vendor(gpu: str) -> str | None:
    low = gpu.lower()
    if low.startswith("mi"):
        return "AMD"
    if re.match(r"^[ahv]\d", low):
        return "NVIDIA"
    return None


def _dtype_name(bits: int) -> str:
    return _BITS_TO_DTYPE.get(bits, f"{bits}bit")


# --------------------------------------------------------------------------- JSON values


def _num(
    summary: dict[str, Any],
    key: str,
    file: Path,
    *,
    required: bool = False,
    integer: bool = False,
    positive: bool = False,
) -> float | int | None:
    """A numeric summary value, checked; None if absent (or null) and not required."""
    value = summary.get(key)
    if value is None:
        if required:
            raise ImportFormatError(
                file,
                f"required key '{key}' is missing",
                "this does not look like an llm-analysis inference summary "
                "(written by 'python -m llm_analysis.analysis infer ... --output_dir DIR')",
                key=key,
            )
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ImportFormatError(
            file,
            f"key '{key}' should be a number, found {json.dumps(value)[:40]}",
            "regenerate the summary with llm-analysis; do not edit it by hand",
            key=key,
        )
    if not math.isfinite(value):
        raise ImportFormatError(
            file,
            f"key '{key}' is {value}, not a finite number",
            "rerun llm-analysis for this configuration; a NaN/inf result cannot be ingested",
            key=key,
        )
    if integer and float(value) != int(value):
        raise ImportFormatError(
            file,
            f"key '{key}' should be a whole number, found {value}",
            "regenerate the file",
            key=key,
        )
    if value < 0 or (positive and value <= 0):
        raise ImportFormatError(
            file,
            f"key '{key}' is {value}; it must be {'positive' if positive else 'non-negative'}",
            "regenerate the summary with llm-analysis",
            key=key,
        )
    return int(value) if integer else float(value)


def _read_summary(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(
            file, f"cannot read the file ({exc})", "check the path and permissions"
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            file,
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            "the file is damaged or truncated; regenerate it with llm-analysis",
        ) from exc
    if not isinstance(data, dict):
        raise ImportFormatError(
            file,
            f"expected a JSON object of summary keys, found a {type(data).__name__}",
            "pass the *-summary.json files llm-analysis writes",
        )
    return data


# --------------------------------------------------------------------------- paths


def find_summaries(paths: list[Path]) -> list[Path]:
    """The summary files named by paths (files, or directories searched recursively)."""
    found: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists() and not path.is_symlink():
            raise ImportFormatError(path, "no such file or directory", "check the path")
        odd = not_regular_reason(path)
        if odd:
            raise ImportFormatError(
                path, odd.rstrip("."), "name the summary files or their directory (see `ls -l`)"
            )
        if path.is_dir():
            files = sorted(path.rglob("*" + SUMMARY_SUFFIX))
            if not files:
                raise ImportFormatError(
                    path,
                    f"no *{SUMMARY_SUFFIX} files in this directory (searched recursively)",
                    "point at the --output_dir of 'python -m llm_analysis.analysis infer', "
                    "or use --format native for Parquet/CSV files",
                )
        else:
            files = [path]
        for f in files:
            odd = not_regular_reason(f)
            if odd:  # a FIFO named *-summary.json would hang the read
                raise ImportFormatError(
                    f, odd.rstrip("."), "replace it with the summary file llm-analysis wrote"
                )
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                found.append(f)
    return found


# --------------------------------------------------------------------------- frames


_PL_TYPES = {
    "VARCHAR": pl.Utf8,
    "JSON": pl.Utf8,
    "DOUBLE": pl.Float64,
    "BIGINT": pl.Int64,
    "INTEGER": pl.Int32,
    "BOOLEAN": pl.Boolean,
    "TIMESTAMP": pl.Datetime("us"),
}


def _frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows as a frame with exactly the table's schema v1 columns and types (missing -> NULL)."""
    schema = {c.name: _PL_TYPES[c.sql_type] for c in TABLES_BY_NAME[table].columns}
    data = {name: [row.get(name) for row in rows] for name in schema}
    return pl.DataFrame(data, schema=schema)


def _json(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True)


def _round_sig(x: float, digits: int = 10) -> float:
    return float(f"{x:.{digits}g}")


# Summary keys consumed by a column or an operator row; everything else goes to extra.
_CONSUMED = {
    "batch_size_per_gpu",
    "seq_len",
    "tp_size",
    "pp_size",
    "ep_size",
    "num_tokens_to_generate",
    "weight_memory_per_gpu",
    "kv_cache_memory_per_gpu",
    "kv_cache_latency",
}
_PHASE_CONSUMED = (
    "latency",
    "tokens_per_sec",
    "cost_per_1k_tokens",
    "num_flops_fwd_total",
)
_MODULES = (
    "input_embedding",
    "layernorm",
    "attn",
    "kv_cache",
    "tp_comm",
    "mlp",
    "output_embedding_loss",
)


def _phase_of_key(key: str) -> str | None:
    for phase in ("prefill", "decode"):
        if key.startswith(phase + "_") or key.startswith("total_" + phase + "_"):
            return phase
    return None


def _is_consumed(key: str) -> bool:
    if key in _CONSUMED:
        return True
    for phase in ("prefill", "decode"):
        if key in {f"{phase}_{s}" for s in _PHASE_CONSUMED}:
            return True
        if key.startswith(f"{phase}_latency_fwd_"):
            return True
    return False


def _kv_dtype(
    summary: dict[str, Any], info: FileNameInfo, model: dict[str, Any] | None, file: Path
) -> str | None:
    """The KV cache dtype implied by the KV memory (the summary does not name it)."""
    act = _dtype_name(info.act_bits)
    if summary.get("use_kv_cache") is False:
        return None
    kv = _num(summary, "kv_cache_memory_per_gpu", file)
    if model is None or not kv:
        return act
    try:
        heads, hidden, layers = (
            int(model["n_head"]),
            int(model["hidden_dim"]),
            int(model["num_layers"]),
        )
        kv_heads = int(model.get("num_key_value_heads") or heads)
        batch = int(summary["batch_size_per_gpu"])
        tokens = int(summary["seq_len"]) + int(summary.get("num_tokens_to_generate") or 0)
        tp = int(summary["tp_size"])
        pp = int(summary.get("pp_size") or 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return act
    elems = 2 * batch * tokens * (hidden / heads) * max(kv_heads / tp, 1) * int(layers / pp)
    if elems <= 0:
        return act
    bits = kv / elems * 8
    for b in _BITS_TO_DTYPE:
        if abs(bits - b) < 1e-6 * b:
            return _dtype_name(b)
    return act


def _layers_per_gpu(model: dict[str, Any] | None, pp: int) -> int | None:
    if model is None or not model.get("num_layers"):
        return None
    n = int(int(model["num_layers"]) / pp)  # the tool floors num_layers / pp
    return n if n > 0 else None


def _operator_rows(
    config_id: int,
    phase: str,
    summary: dict[str, Any],
    file: Path,
    tp: int,
    layers: int | None,
    model_type: str | None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for module in _MODULES:
        if module == "kv_cache":
            if phase != "decode":
                continue
            key = "kv_cache_latency"
        else:
            key = f"{phase}_latency_fwd_{module}"
        total = _num(summary, key, file)
        if total is None:
            continue
        if module in ("kv_cache", "tp_comm") and total == 0:
            continue  # no KV cache, or tp=1: no collective happens
        per_layer = 2 if module in ("layernorm", "tp_comm") else 1
        extra: dict[str, Any] = {"llm_analysis_key": key, "total_s": total}
        if module in ("input_embedding", "output_embedding_loss"):
            count, layer_name = 1, "embedding" if module == "input_embedding" else "head"
        elif layers is not None:
            count, layer_name = layers * per_layer, "decoder"
            extra["instances_per_layer"] = per_layer
        else:
            count, layer_name = 1, "decoder (all layers)"
            extra["note"] = "layer count unknown (no llm-analysis model config); value is the total"
        value = total / count
        row: dict[str, Any] = {
            "config_id": config_id,
            "op_index": len(rows),
            "layer_name": layer_name,
            "count": count,
            "roofline_time_s": value,
        }
        if module == "input_embedding":
            row.update(op_type="input_embedding", op_class="elementwise")
        elif module == "layernorm":
            llama = (model_type or "").lower() == "llama"
            row.update(op_type="rmsnorm" if llama else "layernorm", op_class="norm")
            extra["tool_name"] = "layernorm"
        elif module == "attn":
            row.update(op_type="attn", op_class="attention")
        elif module == "kv_cache":
            row.update(
                op_type="kv_cache", op_class="attention", memory_time_s=value, bound="memory"
            )
        elif module == "tp_comm":
            row.update(op_type="all_reduce", op_class="collective", comm_time_s=value, bound="comm")
            extra["tool_name"] = "tp_comm"
        elif module == "mlp":
            row.update(op_type="mlp", op_class="gemm")
        else:
            row.update(op_type="lm_head", op_class="gemm")
            extra["tool_name"] = "output_embedding_loss"
        row["extra"] = _json(extra)
        rows.append(row)
    return rows


def _system_row(gpu: str, price: float | None) -> dict[str, Any]:
    cfg = gpu_configs().get(gpu)

    def scaled(key: str, factor: float) -> float | None:
        v = cfg.get(key) if cfg else None
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
            return float(v) * factor
        return None

    return {
        "system_id": gpu,
        "name": gpu_display_name(gpu),
        "vendor": _gpu_vendor(gpu),
        "peak_flops_bf16": scaled("peak_fp16_TFLOPS", 1e12),
        "peak_flops_fp8": None,
        "peak_ops_int8": scaled("peak_i8_TFLOPS", 1e12),
        "hbm_bytes": scaled("mem_per_GPU_in_GB", 1024**3),
        "hbm_bw_bytes_per_s": scaled("hbm_bandwidth_in_GB_per_sec", 1e9),
        "sram_bytes": None,
        "sram_bw_bytes_per_s": None,
        "ici_bw_bytes_per_s": scaled("intra_node_bandwidth_in_GB_per_sec", 1e9),
        "tdp_w": None,
        "tco_usd_per_chip_hour": price,
        "source": f"llm-analysis gpu config {gpu}"
        + ("" if cfg else " (unknown to the installed llm-analysis; figures not available)"),
    }


def _model_row(model: str) -> dict[str, Any]:
    cfg = model_configs().get(model)
    hf_id = model.replace("_", "/", 1)
    row: dict[str, Any] = {
        "model_id": model,
        "name": hf_id.split("/", 1)[-1],
        "source": f"llm-analysis model config {model} (Hugging Face {hf_id})"
        if cfg
        else f"llm-analysis file name only ({model} is not a known llm-analysis model config)",
    }
    if cfg:
        heads = cfg.get("n_head")
        hidden = cfg.get("hidden_dim")
        ffn = cfg.get("ffn_embed_dim")
        if ffn is None and hidden:
            ffn = hidden * (cfg.get("expansion_ratio") or 4)
        row.update(
            num_layers=cfg.get("num_layers"),
            hidden_size=hidden,
            num_heads=heads,
            num_kv_heads=cfg.get("num_key_value_heads") or heads,
            head_dim=hidden // heads if hidden and heads and hidden % heads == 0 else None,
            ffn_dim=int(ffn) if ffn else None,
            vocab_size=cfg.get("vocab_size"),
        )
    return row


def load(paths: list[Path], sweep_id: str | None = None) -> dict[str, pl.DataFrame]:
    """Read llm-analysis summaries (files or directories) into schema v1 frames by table name.

    Raises ImportFormatError for a missing path, a directory without summaries, a file name
    llm-analysis would not write, bad JSON, or missing/invalid required keys.
    """
    files = find_summaries([Path(p) for p in paths])
    sweep = sweep_id or DEFAULT_SWEEP_ID
    configs: list[dict[str, Any]] = []
    operators: list[dict[str, Any]] = []
    prices: dict[str, set[float]] = {}
    gpu_order: list[str] = []
    model_order: list[str] = []

    for file in files:
        info = parse_file_name(file.name)
        summary = _read_summary(file)
        batch = _num(
            summary, "batch_size_per_gpu", file, required=True, integer=True, positive=True
        )
        seq_len = _num(summary, "seq_len", file, required=True, integer=True, positive=True)
        tp = _num(summary, "tp_size", file, required=True, integer=True, positive=True)
        pp = _num(summary, "pp_size", file, integer=True, positive=True) or info.pp
        ep = _num(summary, "ep_size", file, integer=True, positive=True) or info.ep
        gen = _num(summary, "num_tokens_to_generate", file, integer=True)
        lat = {
            "prefill": _num(summary, "prefill_latency", file, required=True, positive=True),
            "decode": _num(summary, "decode_latency", file, required=True, positive=True),
        }
        for field, from_json in (("tp", tp), ("pp", pp), ("ep", ep)):
            from_name = getattr(info, field)
            if from_json != from_name:
                raise ImportFormatError(
                    file,
                    f"the file name says {field}{from_name} but the JSON says {field}_size "
                    f"= {from_json}",
                    "the file was renamed or edited; regenerate it with llm-analysis",
                    key=f"{field}_size",
                )
        dp = info.dp
        num_chips = tp * pp * dp
        model_cfg = model_configs().get(info.model)
        layers = _layers_per_gpu(model_cfg, pp)
        hbm = _system_row(info.gpu, None)["hbm_bytes"]
        weight = _num(summary, "weight_memory_per_gpu", file)
        kv = _num(summary, "kv_cache_memory_per_gpu", file)
        act_dtype = _dtype_name(info.act_bits)
        kv_dtype = _kv_dtype(summary, info, model_cfg, file)
        if info.gpu not in gpu_order:
            gpu_order.append(info.gpu)
        if info.model not in model_order:
            model_order.append(info.model)

        name_fields = {
            "llm_analysis_file": file.name,
            "gpu_config": info.gpu,
            "dtype_config": info.dtype,
            "embedding_dtype": _dtype_name(info.embedding_bits),
            "sp_size": info.sp,
            "fe_in_file_name": info.fe,
            "hbme_in_file_name": info.hbme,
        }
        if info.suffix:
            name_fields["output_file_suffix"] = info.suffix

        for phase in ("prefill", "decode"):
            config_id = len(configs) + 1
            tps = _num(summary, f"{phase}_tokens_per_sec", file)
            cost_1k = _num(summary, f"{phase}_cost_per_1k_tokens", file)
            throughput = tps * dp if tps is not None else None
            price = tco = perf = None
            if cost_1k is not None and tps:
                price = _round_sig(cost_1k * tps * 3.6 / (tp * pp))
                prices.setdefault(info.gpu, set()).add(price)
                tco = price * num_chips
                perf = throughput / tco if tco else None
            flops = _num(summary, f"{phase}_num_flops_fwd_total", file)
            act_mem = _num(summary, f"{phase}_activation_memory_per_gpu", file)
            fits = None
            if hbm is not None and weight is not None and act_mem is not None:
                need = weight + act_mem + ((kv or 0.0) if phase == "decode" else 0.0)
                fits = need < hbm
            extra = {
                k: v
                for k, v in summary.items()
                if not _is_consumed(k) and _phase_of_key(k) in (None, phase)
            }
            extra.update(name_fields)
            configs.append(
                {
                    "config_id": config_id,
                    "sweep_id": sweep,
                    "system_id": info.gpu,
                    "model_id": info.model,
                    "phase": phase,
                    "batch_size": batch * dp,
                    "input_len": seq_len,
                    "output_len": gen,
                    "tp": tp,
                    "pp": pp,
                    "dp": dp,
                    "ep": ep,
                    "num_chips": num_chips,
                    "weight_dtype": _dtype_name(info.weight_bits),
                    "act_dtype": act_dtype,
                    "kv_dtype": kv_dtype,
                    "latency_s": lat[phase],
                    "throughput_tok_per_s": throughput,
                    "tco_usd_per_hour": tco,
                    "perf_per_tco": perf,
                    "usd_per_1m_tokens": cost_1k * 1000 if cost_1k is not None else None,
                    "weight_bytes_per_chip": weight,
                    "kv_bytes_per_chip": kv if phase == "decode" else None,
                    "fits_memory": fits,
                    "total_flops": flops * dp if flops is not None else None,
                    "extra": _json(extra),
                }
            )
            operators.extend(
                _operator_rows(
                    config_id,
                    phase,
                    summary,
                    file,
                    tp,
                    layers,
                    (model_cfg or {}).get("model_type"),
                )
            )

    systems = []
    for gpu in gpu_order:
        agreed = prices.get(gpu, set())
        systems.append(_system_row(gpu, next(iter(agreed)) if len(agreed) == 1 else None))
    source = "; ".join(str(p) for p in paths)
    sweeps = [
        {
            "sweep_id": sweep,
            "name": f"llm-analysis summaries ({len(files)} files)",
            "simulator": SIMULATOR,
            "simulator_version": tool_version(),
            "source_path": source,
            "ingested_at": datetime.now(UTC).replace(tzinfo=None),
        }
    ]
    return {
        "sweeps": _frame("sweeps", sweeps),
        "systems": _frame("systems", systems),
        "models": _frame("models", [_model_row(m) for m in model_order]),
        "configs": _frame("configs", configs),
        "operators": _frame("operators", operators),
    }
