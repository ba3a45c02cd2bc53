"""The sweep spec: a TOML file that names a model, systems, a grid and efficiency factors.

Format (every number in base SI units: bytes, bytes/s, FLOP/s, W, USD per chip-hour)::

    [sweep]
    id = "llama2-70b-serving"        # sweeps.sweep_id, unique in a store
    name = "Llama-2-70B serving"      # sweeps.name
    config_id_base = 1                # first config_id; ids are base, base+1, ...
                                      # (keep sweeps that share a store in disjoint ranges)

    [model]                           # one model; models.* columns
    id = "llama2-70b"
    name = "Llama-2-70B"
    num_layers = 80
    hidden_size = 8192
    num_heads = 64
    num_kv_heads = 8
    head_dim = 128
    ffn_dim = 28672
    vocab_size = 32000
    total_params = 68976648192       # optional; computed from the above when absent
    source = "..."

    [efficiency]                      # fractions of peak, each in (0, 1]
    compute = 0.75
    hbm = 0.85
    sram = 0.9
    ici = 0.8
    collective_step_latency_s = 1e-6  # per ring step of an all-reduce (>= 0)

    [power]
    idle_fraction = 0.3               # share of TDP drawn by an idle chip, in [0, 1]
    compute_share = 0.6               # weight of compute vs memory utilisation, in [0, 1]

    [grid]
    phases = ["prefill", "decode"]
    batch_sizes = [1, 2, 4]
    tp = [1, 2, 4, 8, 16]             # PP = DP = EP = 1, num_chips = tp
    dtypes = ["bf16", "int8", "fp8"]  # weights, activations and KV all in this type;
                                      # a system runs only the dtypes it has a peak for
    input_len = 2048
    output_len = 256

    [[systems]]                       # one table per system; systems.* columns
    id = "h100"
    name = "H100"
    vendor = "NVIDIA"
    peak_flops_bf16 = 989.4e12
    peak_flops_fp8 = 1978.9e12        # omit a peak when the chip lacks the dtype
    peak_ops_int8 = 1978.9e12
    hbm_bytes = 80e9
    hbm_bw_bytes_per_s = 3.35e12
    sram_bytes = 50e6
    sram_bw_bytes_per_s = 7e12
    ici_bw_bytes_per_s = 450e9
    tdp_w = 700
    tco_usd_per_chip_hour = 2.5
    source = "NVIDIA H100 Tensor Core GPU datasheet ..."
    # optional:
    dtypes = ["bf16"]                 # restrict this system to these grid dtypes
    act_dtype = "int8"                # override one part of the dtype triple for every
    weight_dtype = "..."              # config of this system (e.g. to plant a mismatch)
    kv_dtype = "..."

Any mistake raises SpecError with a message that names the key and says what to fix.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from coview.sim.roofline import (
    DTYPE_BYTES,
    PHASES,
    Efficiency,
    ModelSpec,
    PowerModel,
    SystemSpec,
    check_shardable,
)


class SpecError(Exception):
    """A sweep spec is malformed; the message names the key and what to fix."""


@dataclass(frozen=True)
class SystemEntry:
    """A system of the spec plus its optional dtype restrictions and overrides."""

    system: SystemSpec
    dtypes: tuple[str, ...] | None
    overrides: dict[str, str]


@dataclass(frozen=True)
class SweepSpec:
    """A parsed, validated sweep spec."""

    sweep_id: str
    name: str
    config_id_base: int
    model: ModelSpec
    efficiency: Efficiency
    power: PowerModel
    phases: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    tps: tuple[int, ...]
    dtypes: tuple[str, ...]
    input_len: int
    output_len: int
    systems: tuple[SystemEntry, ...]


_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DTYPE_HELP = ", ".join(repr(d) for d in DTYPE_BYTES)


class _Reader:
    """Typed access to one TOML table, with errors that name the full key."""

    def __init__(self, path: Path, table: dict[str, Any], where: str, known: set[str]):
        self.path, self.table, self.where = path, table, where
        unknown = sorted(set(table) - known)
        if unknown:
            raise self.error(
                unknown[0], f"is not a known key; expected one of {', '.join(sorted(known))}"
            )

    def error(self, key: str, what: str) -> SpecError:
        return SpecError(f"{self.path}: {self.where}{key} {what}")

    def get(self, key: str, required: bool = True) -> Any:
        if key not in self.table:
            if required:
                raise self.error(key, "is missing; add it to the spec")
            return None
        return self.table[key]

    def string(self, key: str, required: bool = True, ident: bool = False) -> str | None:
        value = self.get(key, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, got {value!r}")
        if ident and not _ID_RE.match(value):
            raise self.error(
                key, f"must be an identifier (letters, digits, '-', '_', '.'), got {value!r}"
            )
        return value

    def integer(self, key: str, minimum: int = 1, required: bool = True) -> int | None:
        value = self.get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {value!r}")
        if value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        return value

    def number(
        self,
        key: str,
        required: bool = True,
        positive: bool = True,
        at_most: float | None = None,
    ) -> float | None:
        value = self.get(key, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, got {value!r}")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise self.error(key, "must be a finite number")
        if positive and value <= 0:
            raise self.error(key, f"must be > 0, got {value:g}")
        if not positive and value < 0:
            raise self.error(key, f"must be >= 0, got {value:g}")
        if at_most is not None and value > at_most:
            raise self.error(key, f"must be <= {at_most:g}, got {value:g}")
        return value

    def int_list(self, key: str) -> tuple[int, ...]:
        value = self.get(key)
        if not isinstance(value, list) or not value:
            raise self.error(key, f"must be a non-empty list of integers, got {value!r}")
        for v in value:
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise self.error(key, f"must hold integers >= 1, got {v!r}")
        if len(set(value)) != len(value):
            raise self.error(key, f"has duplicates: {value}")
        return tuple(value)

    def choice_list(
        self, key: str, allowed: tuple[str, ...], required: bool = True
    ) -> tuple[str, ...] | None:
        value = self.get(key, required)
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            raise self.error(key, f"must be a non-empty list, got {value!r}")
        for v in value:
            if v not in allowed:
                raise self.error(
                    key, f"has {v!r}; allowed values are {', '.join(repr(a) for a in allowed)}"
                )
        if len(set(value)) != len(value):
            raise self.error(key, f"has duplicates: {value}")
        return tuple(value)

    def dtype(self, key: str) -> str | None:
        value = self.get(key, required=False)
        if value is None:
            return None
        if value not in DTYPE_BYTES:
            raise self.error(key, f"is {value!r}; use one of {_DTYPE_HELP}")
        return value


def _table(path: Path, data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        raise SpecError(f"{path}: the [{key}] table is missing; add it (see sample_data/README.md)")
    if not isinstance(value, dict):
        raise SpecError(f"{path}: {key} must be a table ([{key}]), got {type(value).__name__}")
    return value


_MODEL_KEYS = {
    "id", "name", "num_layers", "hidden_size", "num_heads", "num_kv_heads", "head_dim",
    "ffn_dim", "vocab_size", "total_params", "source",
}  # fmt: skip
_SYSTEM_KEYS = {
    "id", "name", "vendor", "peak_flops_bf16", "peak_flops_fp8", "peak_ops_int8",
    "hbm_bytes", "hbm_bw_bytes_per_s", "sram_bytes", "sram_bw_bytes_per_s",
    "ici_bw_bytes_per_s", "tdp_w", "tco_usd_per_chip_hour", "source", "dtypes",
    "weight_dtype", "act_dtype", "kv_dtype",
}  # fmt: skip


def _model(path: Path, data: dict[str, Any]) -> ModelSpec:
    r = _Reader(path, _table(path, data, "model"), "model.", _MODEL_KEYS)
    model = ModelSpec(
        model_id=r.string("id", ident=True),
        name=r.string("name"),
        num_layers=r.integer("num_layers"),
        hidden_size=r.integer("hidden_size"),
        num_heads=r.integer("num_heads"),
        num_kv_heads=r.integer("num_kv_heads"),
        head_dim=r.integer("head_dim"),
        ffn_dim=r.integer("ffn_dim"),
        vocab_size=r.integer("vocab_size"),
        total_params=r.number("total_params", required=False),
        source=r.string("source", required=False) or "",
    )
    if model.num_heads % model.num_kv_heads:
        raise r.error(
            "num_kv_heads",
            f"({model.num_kv_heads}) must divide model.num_heads ({model.num_heads}) "
            "for grouped-query attention",
        )
    return model


def _system(path: Path, raw: Any, index: int) -> SystemEntry:
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: systems[{index}] must be a table ([[systems]])")
    label = raw.get("id", index)
    r = _Reader(path, raw, f"systems[{label!r}].", _SYSTEM_KEYS)
    sram_bytes = r.number("sram_bytes", positive=False)
    system = SystemSpec(
        system_id=r.string("id", ident=True),
        name=r.string("name"),
        vendor=r.string("vendor"),
        peak_flops_bf16=r.number("peak_flops_bf16", required=False),
        peak_flops_fp8=r.number("peak_flops_fp8", required=False),
        peak_ops_int8=r.number("peak_ops_int8", required=False),
        hbm_bytes=r.number("hbm_bytes"),
        hbm_bw_bytes_per_s=r.number("hbm_bw_bytes_per_s"),
        sram_bytes=sram_bytes,
        sram_bw_bytes_per_s=r.number("sram_bw_bytes_per_s", positive=sram_bytes > 0),
        ici_bw_bytes_per_s=r.number("ici_bw_bytes_per_s"),
        tdp_w=r.number("tdp_w"),
        tco_usd_per_chip_hour=r.number("tco_usd_per_chip_hour"),
        source=r.string("source"),
    )
    if not any(system.supports(dt) for dt in DTYPE_BYTES):
        raise r.error(
            "peak_flops_bf16", "is missing and so are the fp8/int8 peaks; give at least one peak"
        )
    dtypes = r.choice_list("dtypes", tuple(DTYPE_BYTES), required=False)
    for dt in dtypes or ():
        if not system.supports(dt):
            raise r.error(
                "dtypes", f"lists {dt!r} but the system has no {dt} peak; add it or drop {dt!r}"
            )
    overrides = {}
    for key in ("weight_dtype", "act_dtype", "kv_dtype"):
        dt = r.dtype(key)
        if dt is not None:
            if not system.supports(dt):
                raise r.error(key, f"is {dt!r} but the system has no {dt} peak; add the peak")
            overrides[key] = dt
    return SystemEntry(system, dtypes, overrides)


def _systems(path: Path, data: dict[str, Any]) -> tuple[SystemEntry, ...]:
    raw = data.get("systems")
    if not isinstance(raw, list) or not raw:
        raise SpecError(f"{path}: no [[systems]] tables; add at least one system")
    entries = tuple(_system(path, s, i) for i, s in enumerate(raw))
    seen: set[str] = set()
    for e in entries:
        if e.system.system_id in seen:
            raise SpecError(
                f"{path}: systems id {e.system.system_id!r} appears twice; system ids must be unique"
            )
        seen.add(e.system.system_id)
    return entries


def load_spec(path: Path) -> SweepSpec:
    """Read and validate a sweep spec; raise SpecError naming the key that is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpecError(f"{path}: no such spec file; see sample_data/*/spec.toml") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the spec: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}") from exc
    known = {"sweep", "model", "efficiency", "power", "grid", "systems"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise SpecError(
            f"{path}: unknown top-level key {unknown[0]!r}; expected {', '.join(sorted(known))}"
        )

    sw = _Reader(path, _table(path, data, "sweep"), "sweep.", {"id", "name", "config_id_base"})
    sweep_id = sw.string("id", ident=True)
    name = sw.string("name")
    base = sw.integer("config_id_base", minimum=0)

    model = _model(path, data)

    er = _Reader(
        path,
        _table(path, data, "efficiency"),
        "efficiency.",
        {"compute", "hbm", "sram", "ici", "collective_step_latency_s"},
    )
    eff = Efficiency(
        compute=er.number("compute", at_most=1.0),
        hbm=er.number("hbm", at_most=1.0),
        sram=er.number("sram", at_most=1.0),
        ici=er.number("ici", at_most=1.0),
        collective_step_latency_s=er.number(
            "collective_step_latency_s", required=False, positive=False
        )
        or 0.0,
    )
    pr = _Reader(path, _table(path, data, "power"), "power.", {"idle_fraction", "compute_share"})
    power = PowerModel(
        idle_fraction=pr.number("idle_fraction", positive=False, at_most=1.0),
        compute_share=pr.number("compute_share", positive=False, at_most=1.0),
    )

    gr = _Reader(
        path,
        _table(path, data, "grid"),
        "grid.",
        {"phases", "batch_sizes", "tp", "dtypes", "input_len", "output_len"},
    )
    phases = gr.choice_list("phases", PHASES)
    batch_sizes = gr.int_list("batch_sizes")
    tps = gr.int_list("tp")
    dtypes = gr.choice_list("dtypes", tuple(DTYPE_BYTES))
    input_len = gr.integer("input_len")
    output_len = gr.integer("output_len")
    for tp in tps:
        if (why := check_shardable(model, tp)) is not None:
            raise gr.error("tp", f"has {tp}, which cannot shard the model: {why}")

    systems = _systems(path, data)
    for e in systems:
        if e.dtypes and not set(e.dtypes) <= set(dtypes):
            extra = sorted(set(e.dtypes) - set(dtypes))
            raise SpecError(
                f"{path}: systems[{e.system.system_id!r}].dtypes lists {extra}, "
                "which grid.dtypes does not; add them to grid.dtypes or drop them"
            )
    return SweepSpec(
        sweep_id=sweep_id,
        name=name,
        config_id_base=base,
        model=model,
        efficiency=eff,
        power=power,
        phases=phases,
        batch_sizes=batch_sizes,
        tps=tps,
        dtypes=dtypes,
        input_len=input_len,
        output_len=output_len,
        systems=systems,
    )


def spec_to_json(spec: SweepSpec) -> str:
    """The whole spec as canonical JSON (sorted keys), stored in sweeps.sim_spec.

    Floats are written in their shortest round-trip form, so `spec_from_json` rebuilds a
    spec that re-simulates the stored rows bit for bit.
    """
    from coview.sim.roofline import MODEL_VERSION

    def system(e: SystemEntry) -> dict[str, Any]:
        return {
            "system": asdict(e.system),
            "dtypes": list(e.dtypes) if e.dtypes is not None else None,
            "overrides": dict(e.overrides),
        }

    doc = {
        "format": "coview-sim-spec/1",
        "model_version": MODEL_VERSION,
        "sweep_id": spec.sweep_id,
        "name": spec.name,
        "config_id_base": spec.config_id_base,
        "model": asdict(spec.model),
        "efficiency": asdict(spec.efficiency),
        "power": asdict(spec.power),
        "grid": {
            "phases": list(spec.phases),
            "batch_sizes": list(spec.batch_sizes),
            "tp": list(spec.tps),
            "dtypes": list(spec.dtypes),
            "input_len": spec.input_len,
            "output_len": spec.output_len,
        },
        "systems": [system(e) for e in spec.systems],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def spec_from_json(text: str) -> SweepSpec:
    """Rebuild the SweepSpec that `spec_to_json` wrote; SpecError if it is not one."""
    try:
        doc = json.loads(text)
        if doc.get("format") != "coview-sim-spec/1":
            raise SpecError(f"unknown sim_spec format {doc.get('format')!r}")
        g = doc["grid"]
        return SweepSpec(
            sweep_id=doc["sweep_id"],
            name=doc["name"],
            config_id_base=doc["config_id_base"],
            model=ModelSpec(**doc["model"]),
            efficiency=Efficiency(**doc["efficiency"]),
            power=PowerModel(**doc["power"]),
            phases=tuple(g["phases"]),
            batch_sizes=tuple(g["batch_sizes"]),
            tps=tuple(g["tp"]),
            dtypes=tuple(g["dtypes"]),
            input_len=g["input_len"],
            output_len=g["output_len"],
            systems=tuple(
                SystemEntry(
                    SystemSpec(**e["system"]),
                    tuple(e["dtypes"]) if e["dtypes"] is not None else None,
                    dict(e["overrides"]),
                )
                for e in doc["systems"]
            ),
        )
    except SpecError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SpecError(f"the stored sim_spec is not a coview sweep spec: {exc}") from exc
