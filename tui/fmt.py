"""Readable units for the TUI: ms, tokens/s, $/M tokens, GB. Pure functions, no Textual."""

from __future__ import annotations

import math
from typing import Any

from coview.store.safetext import escape_markup

# Column -> (header, formatter name). Headers carry the unit so cells stay short.
HEADERS: dict[str, str] = {
    "config_id": "id",
    "system": "system",
    "phase": "phase",
    "batch_size": "batch",
    "input_len": "in",
    "output_len": "out",
    "tp": "tp",
    "num_chips": "chips",
    "weight_dtype": "w",
    "act_dtype": "act",
    "latency_s": "latency ms",
    "throughput_tok_per_s": "tok/s",
    "perf_per_tco": "perf/TCO",
    "usd_per_1m_tokens": "$/M tok",
    "weight_bytes_per_chip": "wt GB/chip",
    "kv_bytes_per_chip": "kv GB/chip",
    "fits_memory": "fits",
    "is_pareto": "pareto",
}


def _bad(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def ms(seconds: Any) -> str:
    """Seconds as milliseconds with 3 significant-ish digits."""
    if _bad(seconds):
        return "-"
    v = float(seconds) * 1e3
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def us(seconds: Any) -> str:
    """Seconds as microseconds (operator times)."""
    if _bad(seconds):
        return "-"
    v = float(seconds) * 1e6
    if v == 0:
        return "0"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def num(v: Any) -> str:
    """A plain number: thousands separators, 3 significant digits below 100."""
    if _bad(v):
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    v = float(v)
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def si(v: Any, unit: str = "") -> str:
    """A large quantity with an SI prefix: 1.2 G, 3.4 T (FLOPs, bytes)."""
    if _bad(v):
        return "-"
    v = float(v)
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= factor:
            return f"{v / factor:.3g} {prefix}{unit}".rstrip()
    return f"{v:.3g} {unit}".rstrip()


def gb(v: Any) -> str:
    """Bytes as GB (1e9)."""
    if _bad(v):
        return "-"
    return f"{float(v) / 1e9:.3g}"


def dollars(v: Any) -> str:
    if _bad(v):
        return "-"
    v = float(v)
    return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3g}"


def cell(column: str, value: Any) -> str:
    """Format one configs-table cell by its column."""
    if column == "latency_s":
        return ms(value)
    if column in ("weight_bytes_per_chip", "kv_bytes_per_chip"):
        return gb(value)
    if column == "usd_per_1m_tokens":
        return dollars(value)
    if column == "fits_memory":
        # "NO" is the mark that matters: a config that cannot run must not look like the best
        return "-" if value is None else ("yes" if value else "NO")
    if column == "is_pareto":
        return "-" if value is None else ("*" if value else "")
    if column == "throughput_tok_per_s":
        return num(value)
    if column == "perf_per_tco":
        return num(value)
    if value is None:
        return "-"
    # DataTable reads str cells as markup: store text must render literally ("[/]", "[link]").
    return escape_markup(value) if isinstance(value, str) else num(value)


def config_title(cfg: dict[str, Any]) -> str:
    """'#266 xPU-A decode b16 tp2 int8' - a config in one short line."""
    return (
        f"#{cfg.get('config_id')} {cfg.get('system') or cfg.get('system_id')} "
        f"{cfg.get('phase')} b{cfg.get('batch_size')} tp{cfg.get('tp')} "
        f"{cfg.get('weight_dtype') or ''}"
    ).strip()
