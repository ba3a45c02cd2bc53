"""The roofline model of `coview.sim.roofline`, vectorised with numpy over many configurations.

`simulate_grid(model, systems, grid, eff, power)` computes every operator row and every
configuration total of `grid` at once: arrays of shape (configs, 12) for operators (columns in
OP_ORDER) and (configs,) for totals. The formulas, the SRAM placement policy and even the
order of floating-point operations are those of the per-operator reference in
`coview.sim.roofline`, so both give bit-identical numbers (tests/test_sim.py checks it);
this one is what `coview simulate` and what-if re-simulation run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coview.sim.roofline import (
    DTYPE_BYTES,
    OP_ORDER,
    Efficiency,
    ModelSpec,
    PowerModel,
    RunConfig,
    SystemSpec,
    check_shardable,
)

DTYPES: tuple[str, ...] = tuple(DTYPE_BYTES)
_DTYPE_CODE = {d: i for i, d in enumerate(DTYPES)}
_DTYPE_BYTES = np.array([DTYPE_BYTES[d] for d in DTYPES], dtype=np.int64)
N_OPS = len(OP_ORDER)
OP = {name: i for i, name in enumerate(OP_ORDER)}
# Operators that carry weights, and the operand dtypes each one computes in.
WEIGHT_OPS = tuple(
    OP[o]
    for o in ("q_proj", "k_proj", "v_proj", "o_proj", "ffn_gate", "ffn_up", "ffn_down")
    + ("rmsnorm", "lm_head")
)
_GEMM = ("q_proj", "k_proj", "v_proj", "o_proj", "ffn_gate", "ffn_up", "ffn_down", "lm_head")
BOUNDS = ("compute", "memory", "comm")


@dataclass(frozen=True)
class Grid:
    """The configurations to simulate, one array entry per configuration."""

    system: np.ndarray  # index into the systems sequence
    prefill: np.ndarray  # bool: phase == 'prefill'
    batch_size: np.ndarray
    input_len: np.ndarray
    output_len: np.ndarray
    tp: np.ndarray
    weight_dtype: np.ndarray  # codes into DTYPES
    act_dtype: np.ndarray
    kv_dtype: np.ndarray

    def __len__(self) -> int:
        return int(self.system.shape[0])

    @classmethod
    def from_runs(cls, runs: Sequence[tuple[int, RunConfig]]) -> Grid:
        """A grid from (system index, RunConfig) pairs."""

        def col(f, dtype=np.int64):
            return np.array([f(s, r) for s, r in runs], dtype=dtype)

        return cls(
            system=col(lambda s, r: s),
            prefill=col(lambda s, r: r.phase == "prefill", bool),
            batch_size=col(lambda s, r: r.batch_size),
            input_len=col(lambda s, r: r.input_len),
            output_len=col(lambda s, r: r.output_len),
            tp=col(lambda s, r: r.tp),
            weight_dtype=col(lambda s, r: _DTYPE_CODE[r.weight_dtype]),
            act_dtype=col(lambda s, r: _DTYPE_CODE[r.act_dtype]),
            kv_dtype=col(lambda s, r: _DTYPE_CODE[r.kv_dtype]),
        )

    def take(self, index: np.ndarray) -> Grid:
        """The configurations at `index`, in that order."""
        return Grid(**{k: getattr(self, k)[index] for k in self.__dataclass_fields__})


@dataclass
class GridResult:
    """Operator arrays (configs, 12) in OP_ORDER and per-configuration totals (configs,)."""

    count: np.ndarray  # (12,) int
    flops: np.ndarray
    bytes_read: np.ndarray
    bytes_written: np.ndarray
    bytes_weight: np.ndarray
    bytes_comm: np.ndarray
    compute_time_s: np.ndarray
    memory_time_s: np.ndarray
    comm_time_s: np.ndarray
    roofline_time_s: np.ndarray
    bound: np.ndarray  # codes into BOUNDS
    pinned: np.ndarray  # bool; weights_location 'sram' where True, 'hbm' for other weight ops
    power_w: np.ndarray
    act_bytes: np.ndarray
    kv_bytes_read: np.ndarray
    compute_dtype: np.ndarray  # codes into DTYPES
    sram_needed_bytes: np.ndarray
    sram_time_saved_s: np.ndarray
    # totals
    latency_s: np.ndarray
    throughput_tok_per_s: np.ndarray
    tco_usd_per_hour: np.ndarray
    perf_per_tco: np.ndarray
    usd_per_1m_tokens: np.ndarray
    weight_bytes_per_chip: np.ndarray
    kv_bytes_per_chip: np.ndarray
    activation_bytes_per_chip: np.ndarray
    fits_memory: np.ndarray
    power_w_total: np.ndarray
    energy_j: np.ndarray
    total_flops: np.ndarray
    context_len: np.ndarray
    kv_heads_per_chip: np.ndarray
    num_chips: np.ndarray
    sram_activation_reserve_bytes: np.ndarray
    sram_needed_total_bytes: np.ndarray
    sram_pinned_weight_bytes: np.ndarray
    sram_used_bytes: np.ndarray


def _system_arrays(systems: Sequence[SystemSpec], idx: np.ndarray) -> dict[str, np.ndarray]:
    """Per-configuration copies of the system figures (peaks per dtype code, NaN = none)."""
    names = (
        "hbm_bytes", "hbm_bw_bytes_per_s", "sram_bytes", "sram_bw_bytes_per_s",
        "ici_bw_bytes_per_s", "tdp_w", "tco_usd_per_chip_hour",
    )  # fmt: skip
    out = {n: np.array([float(getattr(s, n)) for s in systems])[idx] for n in names}
    peaks = np.array(
        [[np.nan if s.peak(d) is None else float(s.peak(d)) for d in DTYPES] for s in systems]
    )
    out["peaks"] = peaks[idx]
    return out


def simulate_grid(
    model: ModelSpec,
    systems: Sequence[SystemSpec],
    grid: Grid,
    eff: Efficiency,
    power: PowerModel,
) -> GridResult:
    """Every operator and total of every configuration in `grid` (see the module docstring)."""
    for t in np.unique(grid.tp):
        if (why := check_shardable(model, int(t))) is not None:
            raise ValueError(why)
    n = len(grid)
    rows = np.arange(n)
    sa = _system_arrays(systems, grid.system)
    L, d, hd = model.num_layers, model.hidden_size, model.head_dim
    t = grid.tp
    hq = model.num_heads // t
    hkv = -(-model.num_kv_heads // t)  # ceil
    fc = model.ffn_dim // t
    vc = model.vocab_size // t
    wb, ab, kb = (_DTYPE_BYTES[c] for c in (grid.weight_dtype, grid.act_dtype, grid.kv_dtype))
    b = grid.batch_size
    T = np.where(grid.prefill, b * grid.input_len, b)
    context = np.where(grid.prefill, grid.input_len, grid.input_len + grid.output_len // 2)
    pairs = grid.input_len * (grid.input_len + 1) / 2
    attn_flops = np.where(grid.prefill, 2 * b * hq * hd * pairs, 2 * b * hq * hd * context)
    kv_tokens = np.where(grid.prefill, T, b * context)
    kv = kv_tokens * hkv * hd * kb
    zero = np.zeros(n)
    izero = np.zeros(n, dtype=np.int64)
    multi = t > 1

    count = np.array([L] * 9 + [2 * L, 2 * L, 1], dtype=np.int64)
    # Columns in OP_ORDER: q k v attn_qk attn_sv o gate up down rmsnorm all_reduce lm_head.
    # Products are written exactly as in roofline.operator_counts (same rounding).
    flops = np.stack(
        [2 * T * d * hq * hd, 2 * T * d * hkv * hd, 2 * T * d * hkv * hd, attn_flops,
         attn_flops, 2 * T * hq * hd * d, 2 * T * d * fc, 2 * T * d * fc, 2 * T * fc * d,
         4 * T * d, np.where(multi, (t - 1) / t * T * d, 0.0), 2 * b * d * vc],
        axis=1,
    ).astype(np.float64)  # fmt: skip
    weight = np.stack(
        [d * hq * hd * wb, d * hkv * hd * wb, d * hkv * hd * wb, izero, izero, hq * hd * d * wb,
         d * fc * wb, d * fc * wb, fc * d * wb, d * wb, izero, d * vc * wb],
        axis=1,
    )  # fmt: skip
    other_read = np.stack(
        [T * d * ab, T * d * ab, T * d * ab, T * hq * hd * ab + kv, kv, T * hq * hd * ab,
         T * d * ab, T * d * ab, T * fc * ab, T * d * ab, np.where(multi, T * d * ab, 0),
         b * d * ab],
        axis=1,
    )  # fmt: skip
    written = np.stack(
        [T * hq * hd * ab, T * hkv * hd * kb, T * hkv * hd * kb, izero, T * hq * hd * ab,
         T * d * ab, T * fc * ab, T * fc * ab, T * d * ab, T * d * ab,
         np.where(multi, T * d * ab, 0), b * vc * ab],
        axis=1,
    )  # fmt: skip
    kv_read = np.zeros((n, N_OPS), dtype=np.int64)
    kv_read[:, OP["attn_qk"]] = kv
    kv_read[:, OP["attn_sv"]] = kv
    comm = np.zeros((n, N_OPS))
    comm[:, OP["all_reduce"]] = np.where(multi, 2 * (t - 1) / t * T * d * ab, 0.0)
    comm_steps = np.zeros((n, N_OPS), dtype=np.int64)
    comm_steps[:, OP["all_reduce"]] = np.where(multi, 2 * (t - 1), 0)

    # compute dtype: the slowest operand peak; the first operand wins a tie
    code_w, code_a, code_kv = grid.weight_dtype, grid.act_dtype, grid.kv_dtype
    peak_w, peak_a, peak_kv = (sa["peaks"][rows, c] for c in (code_w, code_a, code_kv))
    if np.isnan(peak_w).any() or np.isnan(peak_a).any() or np.isnan(peak_kv).any():
        bad = int(np.flatnonzero(np.isnan(peak_w) | np.isnan(peak_a) | np.isnan(peak_kv))[0])
        raise ValueError(f"{systems[int(grid.system[bad])].name} has no peak for a dtype it runs")
    gemm_code = np.where(peak_a < peak_w, code_a, code_w)
    gemm_peak = np.where(peak_a < peak_w, peak_a, peak_w)
    attn_code = np.where(peak_kv < peak_a, code_kv, code_a)
    attn_peak = np.where(peak_kv < peak_a, peak_kv, peak_a)
    cdtype = np.empty((n, N_OPS), dtype=np.int64)
    peak = np.empty((n, N_OPS))
    for name, i in OP.items():
        if name in _GEMM:
            cdtype[:, i], peak[:, i] = gemm_code, gemm_peak
        elif name in ("attn_qk", "attn_sv"):
            cdtype[:, i], peak[:, i] = attn_code, attn_peak
        else:
            cdtype[:, i], peak[:, i] = code_a, peak_a

    hbm = (sa["hbm_bw_bytes_per_s"] * eff.hbm)[:, None]
    sram_bw = (sa["sram_bw_bytes_per_s"] * eff.sram)[:, None]
    sram_bytes = sa["sram_bytes"]
    compute_time = flops / (peak * eff.compute)
    total_bytes = weight + other_read + written
    mem_hbm = (total_bytes - 0.0) / hbm
    with np.errstate(divide="ignore", invalid="ignore"):
        mem_sram = np.where(weight > 0, (total_bytes - weight) / hbm + weight / sram_bw, mem_hbm)
    # only all_reduce communicates: the other columns are 0.0, as the full expression gives
    ici = sa["ici_bw_bytes_per_s"] * eff.ici
    ar = OP["all_reduce"]
    comm_time = np.zeros((n, N_OPS))
    comm_time[:, ar] = np.where(
        comm[:, ar] > 0, comm[:, ar] / ici + comm_steps[:, ar] * eff.collective_step_latency_s, 0.0
    )

    # SRAM placement: greedy by time saved per pinned byte, ties in layer order
    act_bytes = (other_read - kv_read + written).astype(np.float64)
    reserve = act_bytes.max(axis=1)
    floor = np.maximum(compute_time, comm_time)
    full = (1.0 / hbm - 1.0 / sram_bw)[:, 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        partial = (mem_hbm - floor) / weight
    key = np.where(floor <= mem_sram, full[:, None], partial)
    key = np.where(floor >= mem_hbm, 0.0, key)
    candidate = (weight > 0) & (sram_bytes > 0)[:, None] & (key > 0)
    key = np.where(candidate, key, -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")
    need = weight * count
    pinned = np.zeros((n, N_OPS), dtype=bool)
    used = reserve.copy()
    for j in range(len(WEIGHT_OPS)):
        i = order[:, j]
        ok = candidate[rows, i] & (used + need[rows, i] <= sram_bytes)
        pinned[rows[ok], i[ok]] = True
        used = np.where(ok, used + need[rows, i], used)

    memory_time = np.where(pinned, mem_sram, mem_hbm)
    roof = np.maximum(np.maximum(compute_time, memory_time), comm_time)
    other_mem = np.where(pinned, mem_hbm, mem_sram)
    other_roof = np.maximum(np.maximum(compute_time, other_mem), comm_time)
    hbm_roof = np.where(pinned, other_roof, roof)
    sram_roof = np.where(pinned, roof, other_roof)
    has_w = weight > 0
    saved = np.where(has_w & (sram_bytes > 0)[:, None], (hbm_roof - sram_roof) * count, 0.0)
    bound = np.where(comm_time == roof, 2, np.where(memory_time == roof, 1, 0)).astype(np.int8)
    with np.errstate(divide="ignore", invalid="ignore"):
        util = np.where(
            roof > 0,
            power.compute_share * compute_time / roof
            + (1 - power.compute_share) * (memory_time / roof),
            0.0,
        )
    op_power = sa["tdp_w"][:, None] * (power.idle_fraction + (1 - power.idle_fraction) * util)

    # totals, summed in operator order as the reference does
    latency = zero
    energy_sum = zero
    weight_sum = zero
    flops_sum = zero
    pinned_sum = zero
    cand_sum = zero
    bw = weight.astype(np.float64)
    for i in range(N_OPS):
        latency = latency + roof[:, i] * count[i]
        energy_sum = energy_sum + op_power[:, i] * roof[:, i] * count[i]
        weight_sum = weight_sum + bw[:, i] * count[i]
        flops_sum = flops_sum + flops[:, i] * count[i]
        pinned_sum = pinned_sum + np.where(pinned[:, i], bw[:, i] * count[i], 0.0)
        cand_sum = cand_sum + np.where(candidate[:, i], need[:, i], 0)
    tokens = np.where(grid.prefill, b * grid.input_len, b)
    throughput = tokens / latency
    chips = t
    tco = sa["tco_usd_per_chip_hour"] * chips
    weight_bytes = weight_sum + model.vocab_size * d * wb / t + d * wb
    kv_len = np.where(grid.prefill, grid.input_len, grid.input_len + grid.output_len)
    kv_bytes = 2 * L * b * kv_len * hkv * hd * kb
    act_max = act_bytes.max(axis=1)
    fits = weight_bytes + kv_bytes + act_max <= sa["hbm_bytes"]
    power_total = chips * energy_sum / latency
    return GridResult(
        count=count,
        flops=flops,
        bytes_read=(weight + other_read).astype(np.float64),
        bytes_written=written.astype(np.float64),
        bytes_weight=bw,
        bytes_comm=comm,
        compute_time_s=compute_time,
        memory_time_s=memory_time,
        comm_time_s=comm_time,
        roofline_time_s=roof,
        bound=bound,
        pinned=pinned,
        power_w=op_power,
        act_bytes=act_bytes,
        kv_bytes_read=kv_read.astype(np.float64),
        compute_dtype=cdtype,
        sram_needed_bytes=need + reserve[:, None],
        sram_time_saved_s=saved,
        latency_s=latency,
        throughput_tok_per_s=throughput,
        tco_usd_per_hour=tco,
        perf_per_tco=throughput / tco,
        usd_per_1m_tokens=tco / 3600 / throughput * 1e6,
        weight_bytes_per_chip=weight_bytes,
        kv_bytes_per_chip=kv_bytes.astype(np.float64),
        activation_bytes_per_chip=act_max,
        fits_memory=fits,
        power_w_total=power_total,
        energy_j=power_total * latency,
        total_flops=chips * flops_sum,
        context_len=context,
        kv_heads_per_chip=hkv,
        num_chips=chips,
        sram_activation_reserve_bytes=reserve,
        sram_needed_total_bytes=np.where(cand_sum > 0, reserve + cand_sum, 0.0),
        sram_pinned_weight_bytes=pinned_sum,
        sram_used_bytes=np.where(pinned_sum > 0, reserve + pinned_sum, 0.0),
    )
