"""Numbers in the units people read (ms, GB, TFLOPS, tokens/s, $/M tokens).

The grounding check accepts exactly these conversions (s->ms/us, bytes->GB/MB, FLOP->TFLOP,
rounding to the digits shown), so the offline answerer passes it by construction.
"""

from __future__ import annotations


def sig(x: float) -> str:
    """About three significant digits, thousands separators above 1000."""
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    if ax == 0:
        return "0"
    return f"{x:.3g}"


def _scaled(x: float, steps: list[tuple[float, str]], base: str) -> str:
    ax = abs(x)
    for factor, unit in steps:
        if ax >= factor:
            return f"{sig(x / factor)} {unit}"
    return f"{sig(x)} {base}"


def fmt_value(x: float | int | str | bool | None, unit: str) -> str:
    """One value with its unit, e.g. 0.01234 s -> '12.3 ms'."""
    if x is None:
        return "n/a"
    if unit == "text" or isinstance(x, str):
        return str(x)
    if unit == "bool" or isinstance(x, bool):
        return "yes" if x else "no"
    x = float(x)
    if unit == "s":
        if x == 0:
            return "0 ms"
        if abs(x) >= 1:
            return f"{sig(x)} s"
        if abs(x) >= 1e-3:
            return f"{sig(x * 1e3)} ms"
        if abs(x) >= 1e-6:
            return f"{sig(x * 1e6)} us"
        return f"{sig(x * 1e9)} ns"
    if unit == "B":
        return _scaled(x, [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "KB")], "bytes")
    if unit == "B/s":
        return _scaled(x, [(1e12, "TB/s"), (1e9, "GB/s"), (1e6, "MB/s")], "bytes/s")
    if unit == "FLOP/s":
        return _scaled(x, [(1e15, "PFLOPS"), (1e12, "TFLOPS"), (1e9, "GFLOPS")], "FLOPS")
    if unit == "OP/s":
        return _scaled(x, [(1e15, "POPS"), (1e12, "TOPS"), (1e9, "GOPS")], "OPS")
    if unit == "FLOP":
        return _scaled(
            x, [(1e15, "PFLOP"), (1e12, "TFLOP"), (1e9, "GFLOP"), (1e6, "MFLOP")], "FLOP"
        )
    if unit == "W":
        return _scaled(x, [(1e3, "kW")], "W") if abs(x) >= 1e4 else f"{sig(x)} W"
    if unit == "J":
        return _scaled(x, [(1e3, "kJ")], "J") if abs(x) >= 1e4 else f"{sig(x)} J"
    if unit == "usd":
        return f"${sig(x)}"
    if unit == "usd/h":
        return f"${sig(x)}/h"
    if unit == "usd/Mtok":
        return f"${sig(x)}/M tokens"
    if unit == "tok/s":
        return f"{sig(x)} tokens/s"
    if unit == "J/tok":
        return f"{sig(x)} J/token"
    if unit == "tok/J":
        return f"{sig(x)} tokens/J"
    if unit == "tok/s/(usd/h)":
        return f"{sig(x)} tokens/s per $/h"
    if unit == "%":
        return f"{sig(x)}%"
    if unit == "FLOP/B":
        return f"{sig(x)} FLOP/byte"
    if unit == "count":
        if abs(x) >= 1e9:
            return f"{sig(x / 1e9)} billion"
        if abs(x) >= 1e6:
            return f"{sig(x / 1e6)} million"
        return f"{x:,.0f}" if x == int(x) else sig(x)
    return sig(x)


def ratio(a: float, b: float) -> str:
    """a/b as '1.52x'."""
    return f"{a / b:.2f}x"


def pct(a: float, b: float) -> str:
    """|a-b|/b as a percentage with one decimal."""
    return f"{abs(a - b) / abs(b) * 100:.1f}%"
