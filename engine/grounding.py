"""The grounding check: every number in an answer must trace to the evidence rows.

A number matches an evidence value directly (after the unit change its unit implies, e.g.
ms -> s, GB -> bytes, TFLOPS -> FLOP/s, and rounding to the digits shown), or a ratio,
difference or percentage of two evidence values from the same column (across rows) or the
same row (across columns), or a row count. Numbers that are part of identifiers ("H100",
"TPU v5e", "Llama-2-70B", "bf16") are not numbers; "TP 8" and "batch 16" are, and must
match the tp and batch_size values of the rows. Columns the guard found to hold literals
written into the SQL (``Evidence.store_columns``) are not evidence and match nothing.
"""

from __future__ import annotations

import bisect
import decimal
import math
import re
from dataclasses import dataclass

from coview.engine.types import Evidence, GroundedNumber, Grounding

# Unit -> (kind, scale factors to base units). Several factors when a unit is used loosely
# (GB as 1e9 or 2^30 bytes).
_K = 1024
_UNITS: dict[str, tuple[str, tuple[float, ...]]] = {
    "s": ("q", (1,)),
    "sec": ("q", (1,)),
    "secs": ("q", (1,)),
    "second": ("q", (1,)),
    "seconds": ("q", (1,)),
    "ms": ("q", (1e-3,)),
    "msec": ("q", (1e-3,)),
    "millisecond": ("q", (1e-3,)),
    "milliseconds": ("q", (1e-3,)),
    "us": ("q", (1e-6,)),
    "µs": ("q", (1e-6,)),
    "μs": ("q", (1e-6,)),
    "microsecond": ("q", (1e-6,)),
    "microseconds": ("q", (1e-6,)),
    "ns": ("q", (1e-9,)),
    "nanoseconds": ("q", (1e-9,)),
    "min": ("q", (60,)),
    "minutes": ("q", (60,)),
    "hours": ("q", (3600,)),
    "b": ("q", (1, 1e9)),
    "bytes": ("q", (1,)),
    "byte": ("q", (1,)),
    "kb": ("q", (1e3, _K)),
    "mb": ("q", (1e6, _K**2)),
    "gb": ("q", (1e9, _K**3)),
    "tb": ("q", (1e12, _K**4)),
    "pb": ("q", (1e15, _K**5)),
    "kib": ("q", (_K, 1e3)),
    "mib": ("q", (_K**2, 1e6)),
    "gib": ("q", (_K**3, 1e9)),
    "tib": ("q", (_K**4, 1e12)),
    "flop": ("q", (1,)),
    "flops": ("q", (1,)),
    "ops": ("q", (1,)),
    "kflop": ("q", (1e3,)),
    "kflops": ("q", (1e3,)),
    "mflop": ("q", (1e6,)),
    "mflops": ("q", (1e6,)),
    "gflop": ("q", (1e9,)),
    "gflops": ("q", (1e9,)),
    "gops": ("q", (1e9,)),
    "tflop": ("q", (1e12,)),
    "tflops": ("q", (1e12,)),
    "tops": ("q", (1e12,)),
    "pflop": ("q", (1e15,)),
    "pflops": ("q", (1e15,)),
    "pops": ("q", (1e15,)),
    "w": ("q", (1,)),
    "watts": ("q", (1,)),
    "kw": ("q", (1e3,)),
    "mw": ("q", (1e6, 1e-3)),
    "j": ("q", (1,)),
    "joules": ("q", (1,)),
    "kj": ("q", (1e3,)),
    "mj": ("q", (1e-3, 1e6)),
    "k": ("q", (1e3, 1)),
    "thousand": ("q", (1e3,)),
    "m": ("q", (1e6, 1)),
    "million": ("q", (1e6,)),
    "billion": ("q", (1e9,)),
    "t": ("q", (1e12, 1)),
    "trillion": ("q", (1e12,)),
    "%": ("pct", (1,)),
    "percent": ("pct", (1,)),
    "pct": ("pct", (1,)),
    "x": ("ratio", (1,)),
    "×": ("ratio", (1,)),
    "times": ("ratio", (1,)),
    "fold": ("ratio", (1,)),
}
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_NUM_RE = re.compile(
    r"(?:(?<![\w.])|(?<=\btp)|(?<=\bTP)|(?<=\bbs)|(?<=\bBS))"
    r"(?P<cur>\$\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?P<exp>[eE][-+]?\d+)?"
    r"(?:[\s-]?(?P<unit>" + _UNIT_ALT + r")(?:/s\b|ps\b)?(?![\w]))?",
    re.IGNORECASE,
)
# Words with letters before digits are names (H100, v5e, bf16, Llama-2-70B, h100-sxm-80gb).
_IDENT_RE = re.compile(r"(?<![\w$])[A-Za-z][A-Za-z0-9_]*(?:[-.][A-Za-z0-9_]+)*")
_COUNT_PREFIX = re.compile(r"^(tp|bs|batch)\d+$", re.IGNORECASE)

# Evidence groups larger than this are sampled for ratio/difference matching.
_PAIR_ROW_CAP = 200


@dataclass
class _Found:
    start: int
    end: int
    text: str
    value: float
    decimals_tol: float  # half a unit in the last digit shown, in display units
    unit: str | None


def _masked_spans(text: str, evidence: list[Evidence]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for m in _IDENT_RE.finditer(text):
        word = m.group(0)
        if any(ch.isdigit() for ch in word) and not _COUNT_PREFIX.match(word):
            spans.append((m.start(), m.end()))
    strings: set[str] = set()
    for ev in evidence:
        keep = [i for i in range(len(ev.columns)) if ev.is_store_column(i)]
        for row in ev.rows[: _PAIR_ROW_CAP * 5]:
            for v in (row[i] for i in keep if i < len(row)):
                if isinstance(v, str) and 2 <= len(v) <= 80 and any(c.isdigit() for c in v):
                    strings.add(v)
    for s in sorted(strings, key=len, reverse=True):
        pat = "[-_ ]?".join(re.escape(part) for part in re.split(r"[-_ ]+", s))
        for m in re.finditer(pat, text, re.IGNORECASE):
            spans.append((m.start(), m.end()))
    return spans


def extract_numbers(text: str, evidence: list[Evidence] | None = None) -> list[_Found]:
    """Every number in the text that is not part of an identifier, with its unit."""
    spans = _masked_spans(text, evidence or [])
    out: list[_Found] = []
    for m in _NUM_RE.finditer(text):
        s, e = m.start("num"), m.end("num")
        if any(a <= s < b or a < e <= b for a, b in spans):
            continue
        raw = m.group("num").replace(",", "")
        exp = m.group("exp")
        try:
            value = float(raw + (exp or ""))
        except ValueError:
            continue
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        tol = 0.5 * 10 ** (-decimals)
        if exp:
            tol *= 10 ** int(exp[1:])
        unit = m.group("unit")
        out.append(
            _Found(
                m.start(), m.end(), m.group(0).strip(), value, tol, unit.lower() if unit else None
            )
        )
    return out


def _num(v: object) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float | decimal.Decimal):
        f = float(v)
        return f if math.isfinite(f) else None
    if hasattr(v, "item"):
        return _num(v.item())
    return None


class _Index:
    """Evidence values, by column and by row, sorted for range lookups."""

    def __init__(self, evidence: list[Evidence]) -> None:
        self.values: list[tuple[float, str]] = []
        cols: dict[str, list[float]] = {}
        self.groups: list[tuple[str, list[float]]] = []
        for ei, ev in enumerate(evidence):
            self.values.append((float(len(ev.rows)), f"number of rows of query {ei + 1}"))
            for ri, row in enumerate(ev.rows):
                rowvals = []
                for ci, (col, v) in enumerate(zip(ev.columns, row, strict=False)):
                    if not ev.is_store_column(ci):
                        continue  # a literal written into the SQL is not evidence
                    f = _num(v)
                    if f is None:
                        continue
                    self.values.append((f, f"{col} = {v!r} (row {ri + 1})"))
                    if ri < _PAIR_ROW_CAP:
                        cols.setdefault(col, []).append(f)
                        rowvals.append(f)
                if len(rowvals) > 1 and ri < _PAIR_ROW_CAP:
                    self.groups.append((f"row {ri + 1}", sorted(rowvals)))
            for ci, col in enumerate(ev.columns):
                if not ev.is_store_column(ci):
                    continue
                distinct = {row[ci] for row in ev.rows if row[ci] is not None}
                self.values.append((float(len(distinct)), f"number of distinct {col}"))
        for col, vals in cols.items():
            if len(vals) > 1:
                self.groups.insert(0, (f"column {col}", sorted(vals)))
        self.values.sort(key=lambda x: x[0])
        self._keys = [v for v, _ in self.values]

    def direct(self, lo: float, hi: float) -> str | None:
        i = bisect.bisect_left(self._keys, lo)
        if i < len(self._keys) and self._keys[i] <= hi:
            return self.values[i][1]
        # negative numbers written without a sign ("-3%" -> "3% lower")
        i = bisect.bisect_left(self._keys, -hi)
        if i < len(self._keys) and self._keys[i] <= -lo:
            return self.values[i][1]
        return None

    def pair(self, op: str, lo: float, hi: float) -> str | None:
        """Two values a, b of one group with op(a, b) in [lo, hi]; op in ratio, diff."""
        for name, vals in self.groups:
            for pb, b in enumerate(vals):
                if op == "ratio":
                    if b <= 0:
                        continue
                    a_lo, a_hi = b * lo, b * hi
                else:  # absolute difference
                    a_lo, a_hi = b + lo, b + hi
                i = bisect.bisect_left(vals, a_lo)
                j = bisect.bisect_right(vals, a_hi)
                if j - i >= 2 or (j - i == 1 and i != pb):
                    k = i if i != pb else i + 1
                    sym = "/" if op == "ratio" else "-"
                    return f"{op} of {name}: {vals[k]:.6g} {sym} {b:.6g}"
        return None


def _match(n: _Found, idx: _Index) -> str | None:
    kind, scales = _UNITS.get(n.unit or "", ("q", (1,)))
    v, h = n.value, n.decimals_tol * (1 + 1e-9)
    if kind == "pct":
        lo, hi = max(v - h, 0.0), v + h
        got = idx.direct(lo, hi) or idx.direct(lo / 100, hi / 100)
        if got:
            return got
        share = idx.pair("ratio", lo / 100, hi / 100)
        if share:
            return f"percentage: {share}"
        up = idx.pair("ratio", 1 + lo / 100, 1 + hi / 100)
        if up:
            return f"percent change: {up}"
        if lo < 100:
            down = idx.pair("ratio", max(1 - hi / 100, 0.0), 1 - lo / 100)
            if down:
                return f"percent change: {down}"
        return None
    if kind == "ratio":
        got = idx.pair("ratio", v - h, v + h)
        return got or idx.direct(v - h, v + h)
    for sc in scales:
        lo, hi = (v - h) * sc, (v + h) * sc
        pad = 1e-12 * max(abs(lo), abs(hi))
        got = idx.direct(lo - pad, hi + pad)
        if got:
            return got if sc == 1 else f"{got} (x{sc:g})"
    for sc in scales:
        lo, hi = (v - h) * sc, (v + h) * sc
        got = idx.pair("diff", max(lo, 0.0), hi)
        if got:
            return got
    if n.unit is None:
        got = idx.pair("ratio", v - h, v + h)
        if got:
            return got
    return None


def check_grounding(text: str, evidence: list[Evidence]) -> Grounding:
    """Every number in `text` and the evidence value (or pair of values) it traces to."""
    found = extract_numbers(text, evidence)
    if not found:
        return Grounding([])
    idx = _Index(evidence)
    return Grounding([GroundedNumber(n.text, n.value, _match(n, idx)) for n in found])


def mark_unmatched(text: str, grounding: Grounding) -> str:
    """The text with every number the check could not trace wrapped as ⟦12.3 ms?⟧."""
    bad = [n.text for n in grounding.unmatched]
    if not bad:
        return text
    out, pos = [], 0
    for n in extract_numbers(text, None):
        if n.text in bad and n.start >= pos:
            out.append(text[pos : n.start])
            out.append(f"⟦{text[n.start : n.end].strip()}?⟧")
            pos = n.end
            bad.remove(n.text)
    out.append(text[pos:])
    return "".join(out)
