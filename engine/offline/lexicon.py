"""What the offline parser can recognise, read from the store itself.

Entities (system and model names with their common variants, sweeps, phases, batch sizes,
TP degrees, chip counts, data types, operator types) come from DISTINCT queries on the
store, never from a hard-coded list, so a store with other systems just works. Metrics come
from the schema's own column comments plus the synonyms people actually type. The lexicon is
cached per store path, modification time and size: a re-ingest invalidates it.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from coview.engine.offline.vocabfiles import vocabulary_file

# ---------------------------------------------------------------------------------------
# Text normalisation shared by the lexicon and the parser.

_SYMBOLS = (
    ("$", " usd "),
    ("/", " per "),
    ("%", " percent "),
    ("&", " and "),
    ("+", " plus "),
    ("×", " x "),
)
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def tokens(text: str) -> list[str]:
    """Lowercase word tokens; symbols become words ("$/M" -> usd per m), separators split."""
    text = text.lower()
    for sym, word in _SYMBOLS:
        text = text.replace(sym, word)
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,000 -> 1000
    # "10k tok/s": a rate in thousands
    text = re.sub(
        r"\b(\d+(?:\.\d+)?)k\s*(?=(?:tok|toks|tokens|token)\s*(?:/|per)\s*s)",
        lambda m: f"{float(m.group(1)) * 1000:g} ",
        text,
    )
    # "20ms", "5000tok/s": a number glued to a time or token unit is a quantity
    text = re.sub(r"\b(\d+(?:\.\d+)?)(ms|msec|us|s|sec|secs|tok|toks|tokens)\b", r"\1 \2", text)
    return _units(_TOKEN_RE.findall(text.replace("_", " ")))


# Counts written with a unit ("1M tokens", "per 1k", "Mtok"): a quantity, never a name.
_MILLION = {"1m", "1mm", "1mn", "mtok", "mtoks", "mtokens", "1mtok", "1mtoks", "1mtokens"}
_THOUSAND = {"1k", "ktok", "ktoks", "1ktok", "1ktokens", "ktokens"}
_TOKEN_WORDS = {"tokens", "token", "tok", "toks"}


def _units(toks: list[str]) -> list[str]:
    """'1m tokens'/'per 1m'/'1 million'/'mtok' -> 'million tokens'; '1k' -> 'thousand'."""
    out: list[str] = []
    i = 0
    while i < len(toks):
        tok, nxt = toks[i], toks[i + 1] if i + 1 < len(toks) else ""
        prev = out[-1] if out else ""
        unit_ctx = nxt in _TOKEN_WORDS or (
            prev in ("per", "usd", "every") and nxt not in ("context", "ctx", "sequence")
        )
        if tok in _MILLION and (unit_ctx or tok.endswith(("tok", "toks", "tokens"))):
            out.append("million")
            if tok.endswith(("tok", "toks", "tokens")) and nxt not in _TOKEN_WORDS:
                out.append("tokens")
        elif tok in _THOUSAND and (unit_ctx or tok.endswith(("tok", "toks", "tokens"))):
            out.append("thousand")
            if tok.endswith(("tok", "toks", "tokens")) and nxt not in _TOKEN_WORDS:
                out.append("tokens")
        elif tok == "1" and nxt in ("million", "thousand") and prev in ("per", "usd", "every"):
            pass  # "per 1 million tokens": the 1 is part of the unit
        elif tok in ("1000", "1000000") and nxt in _TOKEN_WORDS and prev in ("per", "usd", "every"):
            out.append("thousand" if tok == "1000" else "million")
        else:
            out.append(tok)
        i += 1
    return out


def squash(text: str) -> str:
    """Alphanumerics only, lowercase: the key entity variants are compared on."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


# ---------------------------------------------------------------------------------------
# Entity variants.

# Trailing name parts people leave out ("H100 SXM 80GB" -> "H100").
_DROP_SUFFIX = re.compile(r"^(sxm\d?|pcie|nvl|oam|\d+gb|gpu|accelerator|chip)$")
# Leading parts people leave out ("NVIDIA H100", "AMD Instinct MI300X", "TPU v5e" -> "v5e").
_DROP_PREFIX = {"nvidia", "amd", "google", "intel", "instinct", "cloud", "tpu", "the"}


def _system_variants(system_id: str, name: str, vendor: str | None) -> set[str]:
    """Squashed spellings of one system: name, id, with/without vendor, prefixes, suffixes."""
    bases = [name, system_id.replace("_", " ").replace("-", " ")]
    if vendor:
        bases.append(f"{vendor} {name}")
    out: set[str] = set()
    for base in bases:
        parts = [p for p in re.split(r"[^a-z0-9]+", base.lower()) if p]
        cands = [parts]
        trimmed = list(parts)
        while len(trimmed) > 1 and _DROP_SUFFIX.match(trimmed[-1]):
            trimmed = trimmed[:-1]
            cands.append(list(trimmed))
        for c in list(cands):
            lead = list(c)
            while len(lead) > 1 and (
                lead[0] in _DROP_PREFIX or (vendor and lead[0] == vendor.lower())
            ):
                lead = lead[1:]
                cands.append(list(lead))
        for c in cands:
            key = "".join(c)
            # Too short or digit-free single letters would match ordinary words.
            if len(key) >= 3 or (len(key) >= 2 and any(ch.isdigit() for ch in key)):
                out.add(key)
        # "xPU-A" is also called "chip A" (as in the VIEW paper).
        if len(parts) == 2 and len(parts[1]) == 1 and parts[1].isalpha():
            out.add("chip" + parts[1])
    return out


_SIZE_RE = re.compile(r"^\d+(\.\d+)?[bmt]$")


_MODEL_SUFFIX = re.compile(r"^(instruct|chat|hf|base|it|v\d+(\.\d+)?|fp16|bf16|awq|gptq)$")


def _model_variants(model_id: str, name: str) -> tuple[set[str], str | None, str | None]:
    """Squashed spellings of one model, plus its size token ("70b") and family ("llama").

    Hub names carry an organisation and suffixes: "upstage/Llama-2-70b-instruct-v2" is also
    "Llama-2-70B", "llama2 70b", "llama 2" and "70b".
    """
    out: set[str] = set()
    size = family = None
    for full in (name, model_id):
        for base in {full, full.split("/")[-1]}:
            parts = [p for p in re.split(r"[^a-z0-9.]+", base.lower()) if p]
            cands = [list(parts)]
            while len(parts) > 1 and _MODEL_SUFFIX.match(parts[-1]):
                parts = parts[:-1]
                cands.append(list(parts))
            for c in cands:
                out.add("".join(c).replace(".", ""))
            for p in parts:
                if _SIZE_RE.match(p):
                    size = p
            if parts and parts[0].isalpha() and "/" not in base:
                family = parts[0]
                # "llama 2" -> "llama2"
                if len(parts) > 1 and parts[1].replace(".", "").isdigit():
                    out.add(parts[0] + parts[1].replace(".", ""))
    if size:
        out.add(size.replace(".", ""))
        if family:
            out.add(family + size.replace(".", ""))
    return out, size, family


# Operator types: what people call them. Keys are op_type values of schema v1; only types
# present in the store are used, and every present type is also matched by its own name.
OP_ALIASES: dict[str, tuple[str, ...]] = {
    "q_proj": ("q proj", "qproj", "query projection", "q projection", "query proj"),
    "k_proj": ("k proj", "kproj", "key projection", "k projection", "key proj"),
    "v_proj": ("v proj", "vproj", "value projection", "v projection", "value proj"),
    "o_proj": (
        "o proj",
        "oproj",
        "output projection",
        "out proj",
        "out projection",
        "attention output projection",
        "o projection",
    ),
    "attn_qk": (
        "attn qk",
        "attention scores",
        "attention score",
        "qk",
        "q k",
        "qk matmul",
        "score computation",
        "qkt",
    ),
    "attn_sv": (
        "attn sv",
        "sv",
        "s v",
        "attention values",
        "attention value",
        "softmax v",
        "av",
        "pv",
    ),
    "ffn_gate": ("ffn gate", "gate proj", "gate projection", "gate"),
    "ffn_up": ("ffn up", "up proj", "up projection"),
    "ffn_down": ("ffn down", "down proj", "down projection"),
    # LayerNorm is another operator (mean and variance): it is not read as RMSNorm
    "rmsnorm": ("rms norm", "rmsnorm", "normalization", "normalisation"),
    "all_reduce": ("all reduce", "allreduce", "all reduces", "allreduces"),
    "lm_head": ("lm head", "lmhead", "output head", "unembedding", "logits", "vocab projection"),
}
# Words that name a group of op types.
OP_GROUPS: dict[str, tuple[str, ...]] = {
    "qkv": ("q_proj", "k_proj", "v_proj"),
    "qkv projections": ("q_proj", "k_proj", "v_proj"),
    "qkv projection": ("q_proj", "k_proj", "v_proj"),
    "mlp": ("ffn_gate", "ffn_up", "ffn_down"),
    "ffn": ("ffn_gate", "ffn_up", "ffn_down"),
    "feed forward": ("ffn_gate", "ffn_up", "ffn_down"),
    "feedforward": ("ffn_gate", "ffn_up", "ffn_down"),
}
OP_CLASS_ALIASES: dict[str, tuple[str, ...]] = {
    "gemm": (
        "gemm",
        "gemms",
        "matmul",
        "matmuls",
        "matrix multiplies",
        "matrix multiplications",
        "linear layers",
        "projections",
    ),
    "attention": ("attention", "attention ops", "attention operators", "attn", "attn ops"),
    "norm": ("norm", "norms", "norm ops"),
    "elementwise": ("elementwise", "element wise", "pointwise"),
    "collective": (
        "collective",
        "collectives",
        "communication",
        "comm",
        "comms",
        "collective communication",
        "communication ops",
    ),
}


# ---------------------------------------------------------------------------------------
# Metric glossary.


@dataclass(frozen=True)
class Metric:
    """One answerable quantity: where it lives, its unit, and which direction is better."""

    key: str  # table.column
    table: str
    column: str
    label: str  # how the answer names it
    unit: str  # s, B, B/s, FLOP, FLOP/s, OP/s, W, J, usd, usd/h, tok/s, tok/s/(usd/h), usd/Mtok, count, bool, text
    better: str | None  # 'low' | 'high' | None
    phase: str | None = None  # a phrase such as "time to first token" implies a phase
    doc: str = ""
    expr: str | None = None  # SQL for a derived metric (over configs c); None: the column


# Derived config metrics: a ratio of two documented columns, computed in the SQL the user sees.
DERIVED: dict[str, tuple[str, str, str, str, str]] = {
    # column alias: (expression, label, unit, better, phrases)
    "tokens_per_joule": (
        "c.throughput_tok_per_s / nullif(c.power_w, 0)",
        "energy efficiency (tokens per joule = throughput / power)",
        "tok/J",
        "high",
        "energy efficient;energy efficiency;energy-efficient;tokens per joule;"
        "perf per watt;performance per watt;throughput per watt;tokens per watt;"
        "power efficient;power efficiency",
    ),
    "sram_used_bytes": (
        "CAST(c.extra->>'sram_used_bytes' AS DOUBLE)",
        "SRAM used (pinned weights + activation reserve, from the simulator's extra fields)",
        "B",
        None,
        "sram used;sram usage;sram in use;used sram;sram occupied;sram footprint",
    ),
    "hbm_used_bytes_per_chip": (
        "c.weight_bytes_per_chip + c.kv_bytes_per_chip"
        " + CAST(c.extra->>'activation_bytes_per_chip' AS DOUBLE)",
        "HBM used per chip (weights + KV cache + activations)",
        "B",
        "low",
        "hbm used;hbm usage;hbm in use;used hbm;hbm occupied;hbm footprint;memory footprint;"
        "memory usage;memory used",
    ),
    "power_per_chip_w": (
        "c.power_w / nullif(c.num_chips, 0)",
        "power per chip (power / chips)",
        "W",
        "low",
        "power per chip;per chip power;watts per chip;chip power draw",
    ),
    "joules_per_token": (
        "c.power_w / nullif(c.throughput_tok_per_s, 0)",
        "energy per token (power / throughput)",
        "J/tok",
        "low",
        "energy per token;joules per token;energy per generated token;energy per output token",
    ),
    "tok_per_s_per_user": (
        "c.throughput_tok_per_s / nullif(c.batch_size, 0)",
        "throughput per user (throughput / batch size)",
        "tok/s",
        "high",
        "tokens per second per user;throughput per user;per user throughput;"
        "tokens per second per sequence;throughput per sequence;tok per s per user;"
        "tokens per s per user;per user speed;user speed;speed per user",
    ),
    "tok_per_s_per_chip": (
        "c.throughput_tok_per_s / nullif(c.num_chips, 0)",
        "throughput per chip (throughput / chips)",
        "tok/s",
        "high",
        "throughput per chip;tokens per second per chip;tok per s per chip;"
        "tokens per s per chip;per chip throughput",
    ),
}


# column -> (label, unit, better)
_COLUMN_META: dict[tuple[str, str], tuple[str, str, str | None]] = {
    ("configs", "latency_s"): ("latency", "s", "low"),
    ("configs", "throughput_tok_per_s"): ("throughput", "tok/s", "high"),
    ("configs", "tco_usd_per_hour"): ("TCO", "usd/h", "low"),
    ("configs", "perf_per_tco"): ("performance per TCO", "tok/s/(usd/h)", "high"),
    ("configs", "usd_per_1m_tokens"): ("cost per million tokens", "usd/Mtok", "low"),
    ("configs", "weight_bytes_per_chip"): ("weight memory per chip", "B", "low"),
    ("configs", "kv_bytes_per_chip"): ("KV-cache memory per chip", "B", "low"),
    ("configs", "power_w"): ("power (all chips)", "W", "low"),
    ("configs", "energy_j"): ("energy per step", "J", "low"),
    ("configs", "total_flops"): ("FLOPs per step", "FLOP", None),
    ("configs", "num_chips"): ("number of chips", "count", None),
    ("systems", "peak_flops_bf16"): ("peak bf16 compute", "FLOP/s", "high"),
    ("systems", "peak_flops_fp8"): ("peak fp8 compute", "FLOP/s", "high"),
    ("systems", "peak_ops_int8"): ("peak int8 compute", "OP/s", "high"),
    ("systems", "hbm_bytes"): ("HBM capacity", "B", "high"),
    ("systems", "hbm_bw_bytes_per_s"): ("HBM bandwidth", "B/s", "high"),
    ("systems", "sram_bytes"): ("SRAM capacity", "B", "high"),
    ("systems", "sram_bw_bytes_per_s"): ("SRAM bandwidth", "B/s", "high"),
    ("systems", "ici_bw_bytes_per_s"): ("interconnect bandwidth", "B/s", "high"),
    ("systems", "tdp_w"): ("TDP", "W", "low"),
    ("systems", "tco_usd_per_chip_hour"): ("TCO per chip-hour", "usd/h", "low"),
    ("systems", "vendor"): ("vendor", "text", None),
    ("models", "num_layers"): ("number of layers", "count", None),
    ("models", "hidden_size"): ("hidden size", "count", None),
    ("models", "num_heads"): ("number of attention heads", "count", None),
    ("models", "num_kv_heads"): ("number of KV heads", "count", None),
    ("models", "head_dim"): ("head dimension", "count", None),
    ("models", "ffn_dim"): ("FFN dimension", "count", None),
    ("models", "vocab_size"): ("vocabulary size", "count", None),
    ("models", "total_params"): ("parameter count", "count", None),
    ("operators", "roofline_time_s"): ("time", "s", "low"),
    ("operators", "compute_time_s"): ("compute time", "s", "low"),
    ("operators", "memory_time_s"): ("memory time", "s", "low"),
    ("operators", "comm_time_s"): ("communication time", "s", "low"),
    ("operators", "flops"): ("FLOPs", "FLOP", None),
    ("operators", "bytes_read"): ("bytes read", "B", None),
    ("operators", "bytes_written"): ("bytes written", "B", None),
    ("operators", "bytes_weight"): ("weight bytes", "B", None),
    ("operators", "bytes_comm"): ("bytes communicated", "B", None),
    ("operators", "power_w"): ("power", "W", "low"),
}

# Synonyms people type, mapped to (table, column, implied phase).
SYNONYMS: dict[str, tuple[str, str, str | None]] = {}


def _syn(table: str, column: str, phrases: str, phase: str | None = None) -> None:
    for p in phrases.split(";"):
        if p.strip():
            SYNONYMS[" ".join(tokens(p))] = (table, column, phase)


_syn(
    "configs",
    "latency_s",
    "lat;latency;latencies;execution time;step time;run time;runtime;"
    "time per step;how long;wall time;response time;speed",
)
_syn(
    "configs",
    "latency_s",
    "time per token;time per output token;tpot;per token latency;"
    "per-token latency;inter token latency;itl;decode latency;decode time;token latency;"
    "time per generated token;decode step time",
    "decode",
)
_syn(
    "configs",
    "latency_s",
    "time to first token;ttft;prefill latency;prefill time;"
    "prompt processing time;first token latency",
    "prefill",
)
_syn(
    "configs",
    "throughput_tok_per_s",
    "throughput;tput;thruput;tokens per second;tokens per s;tok per s;"
    "tokens per sec;tok per sec;token throughput;tokens/sec",
)
_syn(
    "configs",
    "perf_per_tco",
    "perf per tco;performance per tco;perf per dollar;"
    "performance per dollar;perf per usd;perf per usd per hour;perf tco;cost efficiency;"
    "cost effective;cost-effective;tokens per second per dollar;throughput per dollar;"
    "throughput per tco;bang for the buck;bang for buck;value for money;cost efficient;"
    "cost-efficient;tokens per second per usd;tok per s per usd;perf per usd per h",
)
_syn(
    "configs",
    "usd_per_1m_tokens",
    "cost per million tokens;cost per 1m tokens;"
    "usd per m tokens;usd per million tokens;usd per 1m tokens;dollars per million tokens;"
    "price per million tokens;cost per token;price per token;cost;cheapest;cheaper;"
    "usd per mtok;cost per mtok;per million tokens;usd per million;cost per million;"
    "price per million;million tokens cost;cost of a million tokens;per thousand tokens;"
    "cost per thousand tokens;usd per thousand tokens;price per thousand tokens;"
    "token cost;token price;serving cost;inference cost",
)
_syn(
    "configs",
    "tco_usd_per_hour",
    "tco;cost per hour;hourly cost;total cost of ownership;usd per hour;dollars per hour;"
    "hourly price;price per hour;hourly rate;usd per h;usd per hr;cost an hour;"
    "costs per hour;price an hour;hourly tco;tco per hour",
)
_syn("configs", "power_w", "power;power draw;power consumption;watts;wattage")
_syn(
    "operators",
    "bytes_comm",
    "bytes sent;bytes transferred;communication bytes;comm bytes;communication volume;"
    "bytes over the interconnect;bytes communicated",
)
_syn("configs", "energy_j", "energy;joules;energy per step;energy consumption")
_syn("configs", "total_flops", "flops;flop;floating point operations;total flops;flop count")
_syn(
    "configs",
    "weight_bytes_per_chip",
    "weights per chip;weight memory;weight bytes;"
    "weight footprint;memory for weights;weights memory;weight size per chip;weight size",
)
_syn(
    "configs",
    "kv_bytes_per_chip",
    "kv cache size;kv cache;kv bytes;kv cache memory;kv memory;kv cache per chip;kv size;"
    "kv cache bytes;kv cache bytes per chip;kv bytes per chip;kv cache footprint",
)
_syn("configs", "num_chips", "number of chips;how many chips;chip count")
_syn(
    "systems",
    "hbm_bytes",
    "hbm capacity;hbm size;memory capacity;hbm;"
    "hbm memory;device memory;memory size;off chip memory",
)
_syn(
    "systems",
    "hbm_bw_bytes_per_s",
    "hbm bandwidth;memory bandwidth;hbm bw;mem bw;memory bw;dram bandwidth",
)
_syn(
    "systems",
    "sram_bytes",
    "sram;sram capacity;sram size;on chip memory;on-chip memory;scratchpad;vmem",
)
_syn("systems", "sram_bw_bytes_per_s", "sram bandwidth;sram bw;on chip bandwidth")
_syn(
    "systems",
    "peak_flops_bf16",
    "peak flops;peak bf16 flops;bf16 flops;peak compute;"
    "tflops;peak tflops;peak bf16;bf16 peak;compute throughput;peak performance",
)
_syn(
    "systems",
    "peak_flops_fp8",
    "peak fp8 flops;fp8 flops;fp8 peak;peak fp8;fp8 tflops;"
    "fp8 peak tflops;fp8 peak flops;peak fp8 tflops;fp8 compute;fp8 throughput",
)
_syn(
    "systems",
    "peak_ops_int8",
    "peak int8 ops;int8 ops;int8 tops;tops;peak int8;int8 peak;"
    "int8 peak tops;int8 peak ops;peak int8 tops;int8 compute",
)
_syn(
    "systems",
    "ici_bw_bytes_per_s",
    "interconnect bandwidth;ici bandwidth;ici bw;ici;"
    "nvlink bandwidth;nvlink;infinity fabric;chip to chip bandwidth;interconnect;"
    "network bandwidth;link bandwidth;scale up bandwidth",
)
_syn("systems", "tdp_w", "tdp;thermal design power;chip power;power rating")
_syn(
    "systems",
    "tco_usd_per_chip_hour",
    "price per chip hour;cost per chip hour;chip hour;"
    "tco per chip;tco per chip hour;chip price;price per chip;usd per chip hour;"
    "cost per chip;per chip hour;per chip per hour;chip per hour;hourly price per chip;"
    "hourly chip price;hourly cost per chip;usd per chip per hour",
)
_syn("systems", "vendor", "vendor;manufacturer;who makes;made by")
_syn("models", "num_layers", "layers;number of layers;layer count;how many layers")
_syn("models", "hidden_size", "hidden size;hidden dimension;model dimension;d model;dmodel")
_syn("models", "num_heads", "heads;attention heads;number of heads;query heads")
_syn("models", "num_kv_heads", "kv heads;key value heads;number of kv heads")
_syn("models", "head_dim", "head dim;head dimension;head size")
_syn("models", "ffn_dim", "ffn dim;ffn dimension;intermediate size;mlp dimension")
_syn("models", "vocab_size", "vocab size;vocabulary size;vocabulary;vocab")
_syn(
    "models",
    "total_params",
    "parameters;params;parameter count;number of parameters;model size;param count;"
    "total param count;total parameter count;total params;total parameters",
)

# Words that sound like a measurement the schema does not hold: refusing beats ignoring.
UNKNOWN_METRIC_WORDS = {
    "average",
    "averages",
    "mean",
    "median",
    "stddev",
    "deviation",
    "hit",
    "hits",
    "miss",
    "misses",
    "accuracy",
    "perplexity",
    "quality",
    "loss",
    "temperature",
    "utilization",
    "utilisation",
    "mfu",
    "hfu",
    "occupancy",
    "area",
    "frequency",
    "clock",
    "voltage",
    "yield",
    "carbon",
    "emissions",
    "co2",
    "reliability",
    "mtbf",
    "p99",
    "p95",
    "p90",
    "p50",
    "percentile",
    "tail",
    "jitter",
    "variance",
    "queueing",
    "queuing",
    "goodput",
    "slo",
    "availability",
    "bleu",
    "mmlu",
    "cooling",
    "noise",
}
# Buying a chip: the data has TCO per chip-hour, never a purchase price.
PURCHASE_WORDS = {"buy", "buying", "purchase", "purchasing", "capex", "msrp", "upfront", "sticker"}
# Hardware components: "power of the HBM" needs a column for HBM power, which none holds.
COMPONENT_WORDS = {
    "hbm",
    "sram",
    "dram",
    "l2",
    "l1",
    "ici",
    "nvlink",
    "interconnect",
    "pcie",
    "cpu",
    "host",
    "network",
    "cache",
    "tensor",
    "cores",
    "core",
    "fabric",
    "link",
}
TRAINING_WORDS = {
    "training",
    "train",
    "trained",
    "trains",
    "finetune",
    "finetuning",
    "backward",
    "backprop",
    "backpropagation",
    "gradient",
    "gradients",
    "optimizer",
    "optimiser",
    "epoch",
    "epochs",
    "pretraining",
    "pretrain",
}
# Model families people name; a named family the store does not hold is an unknown model.
MODEL_FAMILIES = {
    "llama",
    "gpt",
    "mixtral",
    "mistral",
    "falcon",
    "gemma",
    "qwen",
    "deepseek",
    "bert",
    "opt",
    "palm",
    "bloom",
    "phi",
    "claude",
    "gemini",
    "t5",
    "grok",
    "olmo",
    "vicuna",
    "chatgpt",
    "dbrx",
    "yi",
    "codellama",
}
DTYPE_ALIASES = {
    "bf16": "bf16",
    "bfloat16": "bf16",
    "bfloat": "bf16",
    "fp8": "fp8",
    "float8": "fp8",
    "e4m3": "fp8",
    "e5m2": "fp8",
    "int8": "int8",
    "i8": "int8",
    "w8a8": "int8",
    "fp16": "fp16",
    "float16": "fp16",
    "half": "fp16",
    "fp32": "fp32",
    "float32": "fp32",
    "tf32": "tf32",
    "int4": "int4",
    "fp4": "fp4",
    "nf4": "nf4",
    "w4a16": "int4",
    "mxfp4": "fp4",
    "fp6": "fp6",
}


@dataclass
class System:
    system_id: str
    name: str
    vendor: str | None


@dataclass
class Model:
    model_id: str
    name: str
    size: str | None
    family: str | None
    num_layers: int | None = None


_MEMBER_LIST_RE = re.compile(
    r"(?:\b(?P<pre>[a-z][a-z_-]*)\b\s*)?"
    r"(?P<open>\()?\s*(?P<list>\b[a-z_]+(?:\s*[+/&,]\s*[a-z_]+)+\b)\s*(?(open)\))"
    r"(?P<post>\s*(?:proj|projs|projection|projections)\b)?",
    re.IGNORECASE,
)


def op_phrases(known: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Token phrase -> the op types it names, for the op types of a store: each op type by
    its name and aliases ('q proj', 'gate'), and each group word by its present members."""
    out: dict[str, tuple[str, ...]] = {}
    for op in known:
        out[" ".join(tokens(op))] = (op,)
        for a in OP_ALIASES.get(op, ()):
            out[" ".join(tokens(a))] = (op,)
    for g, ops in OP_GROUPS.items():
        present = tuple(o for o in ops if o in known)
        if present:
            out[" ".join(tokens(g))] = present
    return out


def expand_op_lists(text: str, known: dict[str, str]) -> str:
    """'FFN (gate+up+down)' -> 'ffn_gate and ffn_up and ffn_down': a list of operators
    written as a group's members, so no member is dropped as a function word ('up', 'down').

    A list is rewritten only when every member names an operator of the store: alone, after
    the group word before it ('ffn' + 'up' = ffn_up), or before 'projections' ('up proj');
    anything else ('perf/tco', 'tok/s') is left as it is."""

    phrases = op_phrases(known)

    def one_op(phrase: str) -> str | None:
        ops = phrases.get(" ".join(tokens(phrase)), ())
        return ops[0] if len(ops) == 1 else None

    def member_op(member: str, pre: str, post: bool) -> str | None:
        group = OP_GROUPS.get(pre, ())
        for op in group:
            if op in known and op.rsplit("_", 1)[-1] == member.lower():
                return op
        for phrase in (f"{pre} {member}" if pre else "", f"{member} proj" if post else "", member):
            if phrase and (op := one_op(phrase)):
                return op
        return None

    def repl(m: re.Match) -> str:
        pre = (m.group("pre") or "").lower()
        sep = r"\s*[+/&,]\s*" if m.group("open") else r"\s*[+/&]\s*"
        members = re.split(sep, m.group("list"))
        if len(members) < 2 or any(re.search(r"\s", x) for x in members):
            return m.group(0)
        ops = [member_op(x, pre, bool(m.group("post"))) for x in members]
        if None in ops:
            return m.group(0)
        group = OP_GROUPS.get(pre, ())
        named_by_pre = group or (pre and one_op(f"{pre} {members[0]}"))
        keep = "" if named_by_pre or not pre else m.group("pre") + " "
        tail = " " if m.group(0)[-1:].isspace() else ""
        return keep + " and ".join(dict.fromkeys(ops)) + tail

    return _MEMBER_LIST_RE.sub(repl, text)


@dataclass
class Lexicon:
    """Everything the parser can recognise in one store."""

    systems: dict[str, System] = field(default_factory=dict)
    system_variants: dict[str, str] = field(default_factory=dict)  # squashed -> system_id
    models: dict[str, Model] = field(default_factory=dict)
    model_variants: dict[str, str] = field(default_factory=dict)  # squashed -> model_id
    sweeps: list[tuple[str, str]] = field(default_factory=list)  # (sweep_id, name), newest first
    sweep_contents: dict[str, tuple[set, set]] = field(default_factory=dict)  # systems, models
    phases: list[str] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    tps: list[int] = field(default_factory=list)
    num_chips: list[int] = field(default_factory=list)
    input_lens: list[int] = field(default_factory=list)
    output_lens: list[int] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)  # weight dtypes present
    act_dtypes: list[str] = field(default_factory=list)
    kv_dtypes: list[str] = field(default_factory=list)
    op_types: dict[str, str] = field(default_factory=dict)  # op_type -> op_class
    op_classes: list[str] = field(default_factory=list)
    metrics: dict[str, Metric] = field(default_factory=dict)  # phrase (token-joined) -> Metric
    op_metrics: dict[str, Metric] = field(default_factory=dict)  # derived operator metrics
    simulators: list[str] = field(default_factory=list)  # sweeps.simulator values
    simulator_variants: dict[str, str] = field(default_factory=dict)  # token -> simulator
    simulator_sweeps: dict[str, list[str]] = field(default_factory=dict)  # newest first
    columns: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> col -> comment
    n_configs: int = 0

    def system_names(self) -> str:
        return ", ".join(s.name for s in self.systems.values())

    def model_names(self) -> str:
        return ", ".join(m.name for m in self.models.values())

    def metric(self, table: str, column: str) -> Metric | None:
        for m in (*self.metrics.values(), *self.op_metrics.values()):
            if m.table == table and m.column == column:
                return m
        return None


def _operator_derived() -> dict:
    """Derived operator metrics from vocabulary/derived_metrics.toml."""
    return vocabulary_file("derived_metrics.toml")


def _extra_keys_present(con: duckdb.DuckDBPyConnection, table: str, expr: str) -> bool:
    """A derived metric read from a simulator's `extra` JSON ('sram_used_bytes') exists only
    where that simulator wrote the key; elsewhere the word stays unknown and is refused."""
    for key in re.findall(r"extra->>'(\w+)'", expr):
        row = con.execute(
            f"SELECT 1 FROM {table} WHERE extra->>'{key}' IS NOT NULL LIMIT 1"  # noqa: S608
        ).fetchone()
        if row is None:
            return False
    return True


def _distinct(con: duckdb.DuckDBPyConnection, sql: str) -> list:
    return [r[0] for r in con.execute(sql).fetchall() if r[0] is not None]


def build_lexicon(con: duckdb.DuckDBPyConnection) -> Lexicon:
    """Read entities and the metric glossary from an open store."""
    from coview.store.docs import table_docs

    lex = Lexicon()
    docs = table_docs(con)
    lex.columns = {t["name"]: {c["name"]: c["comment"] for c in t["columns"]} for t in docs}

    rows = con.execute("SELECT system_id, name, vendor FROM systems ORDER BY name").fetchall()
    ambiguous: set[str] = set()
    for sid, name, vendor in rows:
        lex.systems[sid] = System(sid, name or sid, vendor)
        for v in _system_variants(sid, name or sid, vendor):
            other = lex.system_variants.get(v)
            if other is not None and other != sid:
                if lex.systems[other].name == (name or sid):
                    continue  # one system under two simulators' ids: the first id stands
                ambiguous.add(v)
            lex.system_variants[v] = sid
    for v in ambiguous:
        lex.system_variants.pop(v, None)

    ambiguous = set()
    for mid, name, layers in con.execute(
        "SELECT model_id, name, num_layers FROM models ORDER BY name"
    ).fetchall():
        variants, size, family = _model_variants(mid, name or mid)
        lex.models[mid] = Model(mid, name or mid, size, family, layers)
        for v in variants:
            other = lex.model_variants.get(v)
            if other is not None and other != mid:
                if lex.models[other].name == (name or mid):
                    continue  # one model under two simulators' ids: the first id stands
                ambiguous.add(v)
            lex.model_variants[v] = mid
    for v in ambiguous:
        lex.model_variants.pop(v, None)
    families = {m.family for m in lex.models.values() if m.family}
    for fam in families:
        owners = [m.model_id for m in lex.models.values() if m.family == fam]
        if len(owners) == 1:
            lex.model_variants.setdefault(fam, owners[0])

    lex.sweeps = [
        (r[0], r[1] or r[0])
        for r in con.execute(
            "SELECT sweep_id, name FROM sweeps ORDER BY ingested_at DESC NULLS LAST, sweep_id DESC"
        ).fetchall()
    ]
    lex.simulators = [
        r[0]
        for r in con.execute("SELECT DISTINCT simulator FROM sweeps ORDER BY 1").fetchall()
        if r[0]
    ]
    for sim, sweep_id in con.execute(
        "SELECT simulator, sweep_id FROM sweeps ORDER BY ingested_at DESC NULLS LAST, sweep_id DESC"
    ).fetchall():
        lex.simulator_sweeps.setdefault(sim, []).append(sweep_id)
    for sim in lex.simulators:
        parts = tokens(sim)
        lex.simulator_variants["".join(parts)] = sim
        for part in parts:
            # "genz", "roofline": a part names the simulator when no other simulator has it
            others = [o for o in lex.simulators if o != sim and part in tokens(o)]
            if len(part) >= 4 and not others:
                lex.simulator_variants.setdefault(part, sim)
    # Which systems and models each sweep holds, to pick a sweep that can answer.
    for sid, systems, models in con.execute(
        "SELECT sweep_id, list(DISTINCT system_id), list(DISTINCT model_id) FROM configs "
        "GROUP BY sweep_id"
    ).fetchall():
        lex.sweep_contents[sid] = (set(systems or []), set(models or []))
    # One scan of configs for all low-cardinality columns.
    agg = con.execute(
        "SELECT list(DISTINCT phase), list(DISTINCT batch_size), list(DISTINCT tp), "
        "list(DISTINCT num_chips), list(DISTINCT input_len), list(DISTINCT output_len), "
        "list(DISTINCT weight_dtype), count(*), list(DISTINCT act_dtype), "
        "list(DISTINCT kv_dtype) FROM configs"
    ).fetchone()
    lex.act_dtypes = sorted(x for x in (agg[8] or []) if x is not None)
    lex.kv_dtypes = sorted(x for x in (agg[9] or []) if x is not None)
    clean = [sorted(x for x in (v or []) if x is not None) for v in agg[:7]]
    (
        lex.phases,
        lex.batch_sizes,
        lex.tps,
        lex.num_chips,
        lex.input_lens,
        lex.output_lens,
        lex.dtypes,
    ) = clean
    lex.n_configs = int(agg[7] or 0)
    for op_type, op_class in con.execute(
        "SELECT op_type, any_value(op_class) FROM operators GROUP BY op_type ORDER BY op_type"
    ).fetchall():
        if op_type:
            lex.op_types[op_type] = op_class
    lex.op_classes = sorted({c for c in lex.op_types.values() if c})

    # Glossary: every documented column by its own name, then the synonyms people use.
    for (table, column), (label, unit, better) in _COLUMN_META.items():
        if column not in lex.columns.get(table, {}):
            continue
        m = Metric(
            f"{table}.{column}", table, column, label, unit, better, doc=lex.columns[table][column]
        )
        for phrase in {" ".join(tokens(column)), " ".join(tokens(label))}:
            lex.metrics.setdefault(phrase, m)
    cfg = lex.columns.get("configs", {})
    for alias, (expr, label, unit, better, phrases) in DERIVED.items():
        needed = re.findall(r"c\.(\w+)", expr)
        if all(col in cfg for col in needed) and _extra_keys_present(con, "configs", expr):
            m = Metric(
                f"configs.{alias}",
                "configs",
                alias,
                label,
                unit,
                better,
                None,
                f"derived: {expr}",
                expr,
            )
            for p in phrases.split(";"):
                lex.metrics[" ".join(tokens(p))] = m
    for alias, spec in _operator_derived().items():
        needed = re.findall(r"o\.(\w+)", spec["expr"])
        if all(col in lex.columns.get("operators", {}) for col in needed) and _extra_keys_present(
            con, "operators", spec["expr"]
        ):
            m = Metric(
                f"operators.{alias}",
                "operators",
                alias,
                spec["label"],
                spec["unit"],
                spec["better"],
                None,
                f"derived: {spec['expr']}",
                spec["expr"],
            )
            for p in spec["phrases"]:
                lex.op_metrics[" ".join(tokens(p))] = m
    for phrase, (table, column, phase) in SYNONYMS.items():
        if column not in lex.columns.get(table, {}):
            continue
        label, unit, better = _COLUMN_META[(table, column)]
        lex.metrics[phrase] = Metric(
            f"{table}.{column}",
            table,
            column,
            label,
            unit,
            better,
            phase,
            lex.columns[table][column],
        )
    return lex


_CACHE: dict[tuple[str, int, int], Lexicon] = {}
_LOCK = threading.Lock()


def load_lexicon(store_path: Path) -> Lexicon:
    """The lexicon of a store file, cached on (path, mtime, size)."""
    path = Path(store_path).resolve()
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
    from coview.store.db import connect

    con = connect(path, read_only=True)
    try:
        lex = build_lexicon(con)
    finally:
        con.close()
    with _LOCK:
        for k in [k for k in _CACHE if k[0] == key[0]]:
            del _CACHE[k]
        _CACHE[key] = lex
    return lex
