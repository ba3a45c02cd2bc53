"""An analytical roofline model of decoder-only transformer inference (one layer, per chip).

Every figure is per chip and per instance of an operator; `count` says how often the
operator repeats in one step (one prefill of the whole prompt, or one decode step).
Base SI units throughout: FLOP, bytes, seconds, watts.

Notation
--------
L layers, d hidden size, h query heads, kvh key/value heads, hd head dim, f FFN dim,
V vocabulary; b batch, I input (prompt) length, O output length; t tensor-parallel degree.
wb, ab, kb: bytes per element of the weight, activation and KV-cache dtypes
(bf16 = 2, fp8 = 1, int8 = 1).

Sharding (Megatron-style tensor parallelism over t chips, PP = DP = EP = 1):
- query heads per chip    hq  = h / t          (t must divide h)
- KV heads per chip       hkv = ceil(kvh / t)  (when t > kvh the KV heads are replicated)
- FFN columns per chip    fc  = f / t          (t must divide f)
- vocabulary per chip     Vc  = V / t          (t must divide V; vocab-parallel lm_head)
q/k/v and ffn_gate/ffn_up are column-parallel, o_proj and ffn_down row-parallel, each
followed by one all-reduce of the layer output; rmsnorm is replicated on every chip.

Tokens per step: prefill T = b * I (the whole prompt); decode T = b (one new token each).
Decode context: one decode step is modelled at the *average* context of the generation,
C = I + floor(O / 2) (2176 for I = 2048, O = 256), so latency_s x O approximates the whole
generation. Prefill attention is causal over the prompt: each sequence has
P = I * (I + 1) / 2 (query, key) pairs.

Operators of one layer (layer_name 'decoder', count L unless noted), per chip:

| op_type  | op_class   | flops                    | weight bytes   | other bytes read            | bytes written   |
|----------|------------|--------------------------|----------------|-----------------------------|-----------------|
| q_proj   | gemm       | 2*T*d*hq*hd              | d*hq*hd*wb     | T*d*ab                      | T*hq*hd*ab      |
| k_proj   | gemm       | 2*T*d*hkv*hd             | d*hkv*hd*wb    | T*d*ab                      | T*hkv*hd*kb     |
| v_proj   | gemm       | 2*T*d*hkv*hd             | d*hkv*hd*wb    | T*d*ab                      | T*hkv*hd*kb     |
| attn_qk  | attention  | prefill 2*b*hq*hd*P;     | -              | Q T*hq*hd*ab + K cache      | 0 (fused)       |
|          |            | decode 2*b*hq*hd*C       |                | (prefill T, decode b*C)*hkv*hd*kb |           |
| attn_sv  | attention  | same as attn_qk          | -              | V cache, same size as K     | T*hq*hd*ab      |
| o_proj   | gemm       | 2*T*hq*hd*d              | hq*hd*d*wb     | T*hq*hd*ab                  | T*d*ab          |
| ffn_gate | gemm       | 2*T*d*fc                 | d*fc*wb        | T*d*ab                      | T*fc*ab         |
| ffn_up   | gemm       | 2*T*d*fc                 | d*fc*wb        | T*d*ab                      | T*fc*ab         |
| ffn_down | gemm       | 2*T*fc*d                 | fc*d*wb        | T*fc*ab                     | T*d*ab          |
| rmsnorm  | norm       | 4*T*d (count 2L)         | d*wb           | T*d*ab                      | T*d*ab          |
| all_reduce | collective | (t-1)/t*T*d (count 2L) | -              | T*d*ab (0 when t = 1)       | T*d*ab (0 when t = 1) |
| lm_head  | gemm       | 2*b*d*Vc (count 1, layer 'head') | d*Vc*wb | b*d*ab                    | b*Vc*ab         |

Attention is fused (FlashAttention-style): the score and probability matrices stay on chip,
softmax is folded into attn_qk/attn_sv and not costed separately. lm_head runs on one token
per sequence in both phases (prefill only needs the logits of the last prompt token).
all_reduce is a ring all-reduce: bytes_comm = 2*(t-1)/t * T*d*ab sent per chip, over
2*(t-1) steps. When t = 1 the all_reduce row is still emitted, with every figure 0.

Not modelled (they exist in Llama-2 but are small or outside this model): the token
embedding lookup, rotary position embedding, softmax as its own op, the SiLU and gating
multiply of the FFN, residual additions, the final RMSNorm before lm_head, logit gathering
and sampling, KV-cache paging, pipeline/data/expert parallelism, kernel launch overheads.

Times
-----
- compute_time_s = flops / (peak(dtype) * eff_compute), where peak(dtype) is the chip's
  peak_flops_bf16, peak_flops_fp8 or peak_ops_int8, and the op runs at the *slowest* peak
  among its operand dtypes (gemm: weight and activation; attention: activation and KV;
  rmsnorm, all_reduce: activation). Norms use the same peak (they are memory-bound anyway).
- memory_time_s = hbm_bytes / (hbm_bw * eff_hbm) + sram_weight_bytes / (sram_bw * eff_sram),
  hbm_bytes = bytes_read + bytes_written - sram_weight_bytes. Activations and KV always
  live in HBM; the two transfers are summed (not overlapped).
- comm_time_s = bytes_comm / (ici_bw * eff_ici) + 2*(t-1) * collective_step_latency_s
  (0 when bytes_comm = 0). ici_bw is the per-chip bandwidth in one direction.
- roofline_time_s = max(compute_time_s, memory_time_s, comm_time_s), exactly.
- bound = the resource with the largest time; ties (only the all-zero all_reduce at t = 1
  in practice) go to comm, then memory, then compute.

SRAM placement policy (joint, per configuration)
------------------------------------------------
Weights served from SRAM must stay resident there from one step to the next (otherwise
they are re-read from HBM every step anyway), so pinning an operator's weights takes
bytes_weight * count of SRAM (e.g. q_proj of all 80 layers). The pinned weights of a
configuration and its activations share the SRAM: operators run one at a time, so the
activations need a reserve as large as the largest operator's activation working set,

    reserve = max over all operators of act_bytes,
    act_bytes = bytes_read + bytes_written - bytes_weight - KV-cache bytes read

(activation inputs and outputs streamed through SRAM; KV cache and weights not pinned stay
in HBM). The weights pinned are chosen greedily:

1. a weight-bearing operator is a candidate when pinning it saves time: its saving per
   pinned byte is s = (roofline_hbm - roofline_sram) / bytes_weight, where roofline_hbm and
   roofline_sram are its roofline times with its weights read from HBM or from SRAM. When
   the op stays memory-bound with SRAM weights s is exactly 1/(hbm_bw*eff_hbm) -
   1/(sram_bw*eff_sram) (the same for every such op, so they tie); when it is compute- or
   comm-bound from HBM s = 0 and it is not a candidate; in between s = (memory_time_hbm -
   max(compute, comm)) / bytes_weight.
2. candidates are taken in order of s, highest first, ties in layer order (OP_ORDER: q_proj,
   k_proj, v_proj, o_proj, ffn_gate, ffn_up, ffn_down, rmsnorm, lm_head);
3. each is pinned if reserve + the weights pinned so far + its bytes_weight * count <=
   sram_bytes, else skipped (a later, smaller one may still fit).

Pinned operators get weights_location 'sram' (their weight bytes are read at SRAM
bandwidth), the other weight-bearing ones 'hbm'; ops without weights (attention,
all_reduce) get NULL. operators.extra records act_bytes, sram_needed_bytes = bytes_weight *
count + reserve (the SRAM this operator needs if pinned alone) and sram_time_saved_s (time
per step its pinning saves: (roofline_hbm - roofline_sram) * count). configs.extra records
sram_activation_reserve_bytes, sram_pinned_weight_bytes, sram_used_bytes (= reserve + pinned
weights when anything is pinned, else 0), sram_needed_bytes (reserve + the weights of every
candidate: the SRAM that would pin all weights whose pinning saves time) and
ops_weights_in_sram.

Power
-----
Per operator, per chip: power_w = tdp_w * (idle_fraction + (1 - idle_fraction) *
(compute_share * compute_time_s / roofline_time_s + (1 - compute_share) * memory_time_s /
roofline_time_s)); an op with roofline_time_s = 0 draws tdp_w * idle_fraction. Interconnect
power is not modelled separately. Config power_w (all chips) = num_chips * sum(power_w *
roofline_time_s * count) / latency_s; energy_j = power_w * latency_s.

Configuration totals
--------------------
- latency_s = sum(roofline_time_s * count) over the operators (prefill: the whole prompt;
  decode: one step). No overlap between operators.
- throughput_tok_per_s: prefill b * I / latency_s; decode b / latency_s.
- tco_usd_per_hour = tco_usd_per_chip_hour * num_chips; perf_per_tco = throughput /
  tco_usd_per_hour; usd_per_1m_tokens = tco_usd_per_hour / 3600 / throughput * 1e6.
- weight_bytes_per_chip = sum(bytes_weight * count) + embedding table V*d*wb / t + final
  norm d*wb (stored, though not costed as operators).
- kv_bytes_per_chip = 2 * L * b * S * hkv * hd * kb, S = I (prefill) or I + O (decode: the
  cache at the end of the generation).
- activation_bytes_per_chip = max(act_bytes) over the operators (the largest working set).
- fits_memory = weight_bytes_per_chip + kv_bytes_per_chip + activation_bytes_per_chip <=
  hbm_bytes.
- total_flops = num_chips * sum(flops * count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

MODEL_VERSION = "2"  # 2: joint SRAM placement

DTYPE_BYTES: dict[str, int] = {"bf16": 2, "fp8": 1, "int8": 1}
PEAK_FIELD: dict[str, str] = {
    "bf16": "peak_flops_bf16",
    "fp8": "peak_flops_fp8",
    "int8": "peak_ops_int8",
}
PHASES = ("prefill", "decode")
OP_CLASS: dict[str, str] = {
    "q_proj": "gemm",
    "k_proj": "gemm",
    "v_proj": "gemm",
    "attn_qk": "attention",
    "attn_sv": "attention",
    "o_proj": "gemm",
    "ffn_gate": "gemm",
    "ffn_up": "gemm",
    "ffn_down": "gemm",
    "rmsnorm": "norm",
    "all_reduce": "collective",
    "lm_head": "gemm",
}
OP_ORDER = tuple(OP_CLASS)


@dataclass(frozen=True)
class ModelSpec:
    """Hyperparameters of a decoder-only transformer (Llama-style, gated FFN, GQA)."""

    model_id: str
    name: str
    num_layers: int
    hidden_size: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    ffn_dim: int
    vocab_size: int
    source: str = ""
    total_params: float | None = None

    def params(self) -> float:
        """Parameter count: total_params if given, else computed from the hyperparameters."""
        if self.total_params is not None:
            return float(self.total_params)
        d, hd = self.hidden_size, self.head_dim
        per_layer = (
            d * self.num_heads * hd * 2  # q, o
            + d * self.num_kv_heads * hd * 2  # k, v
            + 3 * d * self.ffn_dim
            + 2 * d  # two RMSNorm gains
        )
        return float(self.num_layers * per_layer + 2 * self.vocab_size * d + d)


@dataclass(frozen=True)
class SystemSpec:
    """Per-chip figures of one hardware system (schema v1 `systems` columns)."""

    system_id: str
    name: str
    vendor: str
    peak_flops_bf16: float | None
    peak_flops_fp8: float | None
    peak_ops_int8: float | None
    hbm_bytes: float
    hbm_bw_bytes_per_s: float
    sram_bytes: float
    sram_bw_bytes_per_s: float
    ici_bw_bytes_per_s: float
    tdp_w: float
    tco_usd_per_chip_hour: float
    source: str

    def peak(self, dtype: str) -> float | None:
        """Peak dense throughput for a dtype, or None if the chip does not support it."""
        return getattr(self, PEAK_FIELD[dtype])

    def supports(self, dtype: str) -> bool:
        return self.peak(dtype) is not None


@dataclass(frozen=True)
class Efficiency:
    """Fractions of peak actually achieved, and the per-step latency of a collective."""

    compute: float
    hbm: float
    sram: float
    ici: float
    collective_step_latency_s: float = 0.0


@dataclass(frozen=True)
class PowerModel:
    """Power as a fraction of TDP: idle share plus a utilisation-weighted share."""

    idle_fraction: float
    compute_share: float


@dataclass(frozen=True)
class RunConfig:
    """One execution configuration of the grid."""

    phase: str
    batch_size: int
    input_len: int
    output_len: int
    tp: int
    weight_dtype: str
    act_dtype: str
    kv_dtype: str

    @property
    def num_chips(self) -> int:
        return self.tp  # PP = DP = EP = 1

    @property
    def tokens(self) -> int:
        return self.batch_size * (self.input_len if self.phase == "prefill" else 1)

    @property
    def context_len(self) -> int:
        """KV context one decode step attends over (prefill: the prompt)."""
        if self.phase == "prefill":
            return self.input_len
        return self.input_len + self.output_len // 2


@dataclass
class OpResult:
    """One operator row: per chip, per instance; `count` instances per step."""

    op_type: str
    layer_name: str
    count: int
    flops: float
    bytes_read: float
    bytes_written: float
    bytes_weight: float
    bytes_comm: float
    compute_time_s: float
    memory_time_s: float
    comm_time_s: float
    roofline_time_s: float
    bound: str
    weights_location: str | None
    power_w: float
    act_bytes: float
    compute_dtype: str
    extra: dict = field(default_factory=dict)

    @property
    def op_class(self) -> str:
        return OP_CLASS[self.op_type]


@dataclass
class ConfigResult:
    """The operators of one configuration and its totals."""

    run: RunConfig
    ops: list[OpResult]
    latency_s: float
    throughput_tok_per_s: float
    tco_usd_per_hour: float
    perf_per_tco: float
    usd_per_1m_tokens: float
    weight_bytes_per_chip: float
    kv_bytes_per_chip: float
    activation_bytes_per_chip: float
    fits_memory: bool
    power_w: float
    energy_j: float
    total_flops: float
    extra: dict = field(default_factory=dict)


def bound_of(compute: float, memory: float, comm: float) -> str:
    """Which of the three times is largest; ties go to comm, then memory, then compute."""
    top = max(compute, memory, comm)
    if comm == top:
        return "comm"
    if memory == top:
        return "memory"
    return "compute"


def _slowest_dtype(system: SystemSpec, dtypes: tuple[str, ...]) -> tuple[str, float]:
    best: tuple[str, float] | None = None
    for dt in dtypes:
        peak = system.peak(dt)
        if peak is None:
            raise ValueError(f"{system.name} has no peak for {dt}")
        if best is None or peak < best[1]:
            best = (dt, peak)
    assert best is not None
    return best


@dataclass(frozen=True)
class OpCounts:
    """One operator's per-chip, per-instance counts before times and placement."""

    op_type: str
    layer_name: str
    count: int
    flops: float
    weight: float
    other_read: float
    written: float
    kv_read: float
    comm: float
    comm_steps: int
    dtypes: tuple[str, ...]

    @property
    def act_bytes(self) -> float:
        return self.other_read - self.kv_read + self.written


def _times(
    c: OpCounts, pinned: bool, system: SystemSpec, eff: Efficiency
) -> tuple[float, float, float, str]:
    """(compute, memory, comm) seconds of one instance, and the dtype it computes in."""
    compute_dtype, peak = _slowest_dtype(system, c.dtypes)
    compute_time = c.flops / (peak * eff.compute)
    sram_weight = c.weight if pinned else 0.0
    hbm_time = (c.weight + c.other_read + c.written - sram_weight) / (
        system.hbm_bw_bytes_per_s * eff.hbm
    )
    sram_time = sram_weight / (system.sram_bw_bytes_per_s * eff.sram) if sram_weight > 0 else 0.0
    comm_time = 0.0
    if c.comm > 0:
        comm_time = (
            c.comm / (system.ici_bw_bytes_per_s * eff.ici)
            + c.comm_steps * eff.collective_step_latency_s
        )
    return compute_time, hbm_time + sram_time, comm_time, compute_dtype


def sram_saving_per_byte(c: OpCounts, system: SystemSpec, eff: Efficiency) -> float:
    """Roofline time one instance saves per weight byte pinned (see the placement policy)."""
    if c.weight <= 0 or system.sram_bytes <= 0:
        return 0.0
    comp, mem_hbm, comm, _ = _times(c, False, system, eff)
    _, mem_sram, _, _ = _times(c, True, system, eff)
    floor = max(comp, comm)
    if floor >= mem_hbm:
        return 0.0
    if floor <= mem_sram:
        return 1.0 / (system.hbm_bw_bytes_per_s * eff.hbm) - 1.0 / (
            system.sram_bw_bytes_per_s * eff.sram
        )
    return (mem_hbm - floor) / c.weight


def place_weights(
    counts: list[OpCounts], system: SystemSpec, eff: Efficiency
) -> tuple[list[bool], float]:
    """Which operators' weights are pinned in SRAM (joint greedy policy), and the reserve."""
    reserve = max(c.act_bytes for c in counts)
    pinned = [False] * len(counts)
    keys = [sram_saving_per_byte(c, system, eff) for c in counts]
    order = sorted((i for i, k in enumerate(keys) if k > 0), key=lambda i: (-keys[i], i))
    used = reserve
    for i in order:
        need = counts[i].weight * counts[i].count
        if used + need <= system.sram_bytes:
            pinned[i] = True
            used += need
    return pinned, reserve


def _op(
    c: OpCounts,
    pinned: bool,
    reserve: float,
    *,
    system: SystemSpec,
    eff: Efficiency,
    power: PowerModel,
) -> OpResult:
    """Turn one operator's counts into times, bound, weight placement and power."""
    has_weights = c.weight > 0
    location: str | None = ("sram" if pinned else "hbm") if has_weights else None
    compute_time, memory_time, comm_time, compute_dtype = _times(c, pinned, system, eff)
    roofline = max(compute_time, memory_time, comm_time)
    if roofline > 0:
        util = power.compute_share * compute_time / roofline + (1 - power.compute_share) * (
            memory_time / roofline
        )
    else:
        util = 0.0
    power_w = system.tdp_w * (power.idle_fraction + (1 - power.idle_fraction) * util)
    act_bytes = c.act_bytes
    extra: dict = {"act_bytes": act_bytes, "compute_dtype": compute_dtype}
    if has_weights:
        extra["sram_needed_bytes"] = c.weight * c.count + reserve
        other = _times(c, not pinned, system, eff)
        other_roof = max(other[0], other[1], other[2])
        hbm_roof, sram_roof = (other_roof, roofline) if pinned else (roofline, other_roof)
        extra["sram_time_saved_s"] = (
            (hbm_roof - sram_roof) * c.count if system.sram_bytes > 0 else 0.0
        )
    if c.kv_read:
        extra["kv_bytes_read"] = c.kv_read
    return OpResult(
        op_type=c.op_type,
        layer_name=c.layer_name,
        count=c.count,
        flops=float(c.flops),
        bytes_read=float(c.weight + c.other_read),
        bytes_written=float(c.written),
        bytes_weight=float(c.weight),
        bytes_comm=float(c.comm),
        compute_time_s=compute_time,
        memory_time_s=memory_time,
        comm_time_s=comm_time,
        roofline_time_s=roofline,
        bound=bound_of(compute_time, memory_time, comm_time),
        weights_location=location,
        power_w=power_w,
        act_bytes=float(act_bytes),
        compute_dtype=compute_dtype,
        extra=extra,
    )


def check_shardable(model: ModelSpec, tp: int) -> str | None:
    """Why `tp` cannot shard `model` (heads, FFN or vocabulary not divisible), or None."""
    for what, n in (
        ("num_heads", model.num_heads),
        ("ffn_dim", model.ffn_dim),
        ("vocab_size", model.vocab_size),
    ):
        if n % tp:
            return f"tp={tp} does not divide {what}={n}"
    return None


def operator_counts(model: ModelSpec, run: RunConfig) -> list[OpCounts]:
    """The per-chip counts of one configuration's operators, in OP_ORDER (module docstring)."""
    if (why := check_shardable(model, run.tp)) is not None:
        raise ValueError(why)
    L, d, hd = model.num_layers, model.hidden_size, model.head_dim
    t = run.tp
    hq = model.num_heads // t
    hkv = math.ceil(model.num_kv_heads / t)
    fc = model.ffn_dim // t
    vc = model.vocab_size // t
    wb, ab, kb = (DTYPE_BYTES[x] for x in (run.weight_dtype, run.act_dtype, run.kv_dtype))
    b, T = run.batch_size, run.tokens
    w_a = (run.weight_dtype, run.act_dtype)
    a_kv = (run.act_dtype, run.kv_dtype)
    act = (run.act_dtype,)

    if run.phase == "prefill":
        pairs = run.input_len * (run.input_len + 1) / 2
        attn_flops = 2 * b * hq * hd * pairs
        kv_tokens = T
    else:
        attn_flops = 2 * b * hq * hd * run.context_len
        kv_tokens = b * run.context_len
    kv = kv_tokens * hkv * hd * kb

    def op(
        op_type,
        count,
        flops,
        weight,
        other_read,
        written,
        dtypes,
        kv_read=0.0,
        comm=0.0,
        comm_steps=0,
        layer="decoder",
    ):
        return OpCounts(
            op_type,
            layer,
            count,
            flops,
            weight,
            other_read,
            written,
            kv_read,
            comm,
            comm_steps,
            dtypes,
        )

    ops = [
        op("q_proj", L, 2 * T * d * hq * hd, d * hq * hd * wb, T * d * ab, T * hq * hd * ab, w_a),
        op("k_proj", L, 2 * T * d * hkv * hd, d * hkv * hd * wb, T * d * ab, T * hkv * hd * kb, w_a),
        op("v_proj", L, 2 * T * d * hkv * hd, d * hkv * hd * wb, T * d * ab, T * hkv * hd * kb, w_a),
        op("attn_qk", L, attn_flops, 0, T * hq * hd * ab + kv, 0, a_kv, kv_read=kv),
        op("attn_sv", L, attn_flops, 0, kv, T * hq * hd * ab, a_kv, kv_read=kv),
        op("o_proj", L, 2 * T * hq * hd * d, hq * hd * d * wb, T * hq * hd * ab, T * d * ab, w_a),
        op("ffn_gate", L, 2 * T * d * fc, d * fc * wb, T * d * ab, T * fc * ab, w_a),
        op("ffn_up", L, 2 * T * d * fc, d * fc * wb, T * d * ab, T * fc * ab, w_a),
        op("ffn_down", L, 2 * T * fc * d, fc * d * wb, T * fc * ab, T * d * ab, w_a),
        op("rmsnorm", 2 * L, 4 * T * d, d * wb, T * d * ab, T * d * ab, act),
    ]  # fmt: skip
    if t > 1:
        ops.append(op("all_reduce", 2 * L, (t - 1) / t * T * d, 0, T * d * ab, T * d * ab, act,
                      comm=2 * (t - 1) / t * T * d * ab, comm_steps=2 * (t - 1)))  # fmt: skip
    else:
        ops.append(op("all_reduce", 2 * L, 0, 0, 0, 0, act))
    ops.append(op("lm_head", 1, 2 * b * d * vc, d * vc * wb, b * d * ab, b * vc * ab, w_a,
                  layer="head"))  # fmt: skip
    return ops


def _simulate(
    model: ModelSpec, system: SystemSpec, run: RunConfig, eff: Efficiency, power: PowerModel
) -> tuple[list[OpCounts], list[OpResult], float]:
    counts = operator_counts(model, run)
    pinned, reserve = place_weights(counts, system, eff)
    ops = [
        _op(c, p, reserve, system=system, eff=eff, power=power)
        for c, p in zip(counts, pinned, strict=True)
    ]
    return counts, ops, reserve


def simulate_operators(
    model: ModelSpec, system: SystemSpec, run: RunConfig, eff: Efficiency, power: PowerModel
) -> list[OpResult]:
    """The operator rows of one configuration, in OP_ORDER (see the module docstring)."""
    return _simulate(model, system, run, eff, power)[1]


def simulate_config(
    model: ModelSpec, system: SystemSpec, run: RunConfig, eff: Efficiency, power: PowerModel
) -> ConfigResult:
    """One configuration: its operators and the totals documented in the module docstring."""
    counts, ops, reserve = _simulate(model, system, run, eff, power)
    L, d, hd = model.num_layers, model.hidden_size, model.head_dim
    t = run.tp
    wb, kb = DTYPE_BYTES[run.weight_dtype], DTYPE_BYTES[run.kv_dtype]
    hkv = math.ceil(model.num_kv_heads / t)
    latency = sum(o.roofline_time_s * o.count for o in ops)
    if run.phase == "prefill":
        tokens = run.batch_size * run.input_len
        kv_len = run.input_len
    else:
        tokens = run.batch_size
        kv_len = run.input_len + run.output_len
    throughput = tokens / latency
    tco = system.tco_usd_per_chip_hour * run.num_chips
    weight_bytes = (
        sum(o.bytes_weight * o.count for o in ops) + model.vocab_size * d * wb / t + d * wb
    )
    kv_bytes = 2 * L * run.batch_size * kv_len * hkv * hd * kb
    act_bytes = max(o.act_bytes for o in ops)
    fits = weight_bytes + kv_bytes + act_bytes <= system.hbm_bytes
    power_w = run.num_chips * sum(o.power_w * o.roofline_time_s * o.count for o in ops) / latency
    pinned_bytes = sum(o.bytes_weight * o.count for o in ops if o.weights_location == "sram")
    candidates = sum(c.weight * c.count for c in counts if sram_saving_per_byte(c, system, eff) > 0)
    extra = {
        "activation_bytes_per_chip": act_bytes,
        "context_len": run.context_len,
        "kv_heads_per_chip": hkv,
        "model": f"coview-roofline v{MODEL_VERSION}",
        "ops_weights_in_sram": sorted(o.op_type for o in ops if o.weights_location == "sram"),
        "sram_activation_reserve_bytes": reserve,
        "sram_needed_bytes": reserve + candidates if candidates > 0 else 0.0,
        "sram_pinned_weight_bytes": pinned_bytes,
        "sram_used_bytes": reserve + pinned_bytes if pinned_bytes > 0 else 0.0,
    }
    return ConfigResult(
        run=run,
        ops=ops,
        latency_s=latency,
        throughput_tok_per_s=throughput,
        tco_usd_per_hour=tco,
        perf_per_tco=throughput / tco,
        usd_per_1m_tokens=tco / 3600 / throughput * 1e6,
        weight_bytes_per_chip=float(weight_bytes),
        kv_bytes_per_chip=float(kv_bytes),
        activation_bytes_per_chip=float(act_bytes),
        fits_memory=bool(fits),
        power_w=power_w,
        energy_j=power_w * latency,
        total_flops=run.num_chips * sum(o.flops * o.count for o in ops),
        extra=extra,
    )
