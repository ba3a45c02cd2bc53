"""Constraints on numeric columns: a comparator, a number and a unit (or the attribute named
before the comparator). "best perf/TCO with decode under 30 ms per token" keeps only configs
whose latency is under 30 ms; a constraint is never dropped, and one that cannot be attached
to a column is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from coview.engine.offline.vocabfiles import vocabulary_file

if TYPE_CHECKING:
    from coview.engine.offline.lexicon import Lexicon

_NUM = re.compile(r"^\d+(\.\d+)?$")
# Symbols people type, as words the comparator table knows.
SYMBOLS = (
    ("<=", " at most "),
    ("≤", " at most "),
    (">=", " at least "),
    ("≥", " at least "),
    ("<", " under "),
    (">", " over "),
)


@dataclass(frozen=True)
class Constraint:
    """`table.column op value` in base units; `text` is how the question said it."""

    table: str
    column: str
    op: str  # '<' | '<=' | '>' | '>=' | 'between'
    value: float
    value2: float | None = None
    text: str = ""
    expr: str | None = None  # SQL over configs c for a derived metric

    def sql(self) -> str:
        """The condition, on configs c (systems columns through a subquery)."""
        lhs = self.expr or f"c.{self.column}"
        if self.table == "systems":
            inner = self._cond(self.column)
            return f"c.system_id IN (SELECT system_id FROM systems WHERE {inner})"
        return self._cond(lhs)

    def _cond(self, lhs: str) -> str:
        if self.op == "between":
            return f"{lhs} BETWEEN {self.value!r} AND {self.value2!r}"
        return f"{lhs} {self.op} {self.value!r}"


class ConstraintError(Exception):
    """A comparator and number that cannot be attached to one column; the message says why."""


@lru_cache(maxsize=1)
def _units() -> dict:
    return vocabulary_file("units.toml")


def normalise(text: str) -> str:
    """Comparator symbols as words, so the tokenizer keeps them."""
    for sym, word in SYMBOLS:
        text = text.replace(sym, word)
    return text


def _comparator_at(toks: list[str], i: int) -> tuple[str, int] | None:
    for op, phrases in _units()["comparators"].items():
        for p in sorted(phrases, key=lambda x: -len(x.split())):
            seq = p.split()
            if toks[i : i + len(seq)] == seq:
                return op, len(seq)
    return None


def _unit_after(toks: list[str], j: int, words: set[str]) -> tuple[str, str, float, int] | None:
    """(kind, column, factor, tokens used) for the unit at toks[j]."""
    u = _units()
    tok = toks[j] if j < len(toks) else ""
    nxt = toks[j + 1 : j + 3]
    if tok in u["time"]:
        n = 1
        if nxt[:2] in (["per", "token"], ["per", "step"]) or nxt[:2] == ["per", "output"]:
            n = 3 + (toks[j + 3 : j + 4] == ["token"])
        return "time", "latency_s", u["time"][tok], n
    if tok in u["bytes"] and tok not in ("b",):
        if nxt[:1] == ["per"] and len(nxt) > 1 and nxt[1] in ("s", "sec", "second"):
            col = "hbm_bw_bytes_per_s"
            if words & {"ici", "interconnect", "nvlink"}:
                col = "ici_bw_bytes_per_s"
            elif "sram" in words:
                col = "sram_bw_bytes_per_s"
            return "bandwidth", col, u["bytes"][tok], 3
        return "bytes", "", u["bytes"][tok], 1
    if tok in u["power"]:
        return "power", "tdp_w" if "tdp" in words else "power_w", u["power"][tok], 1
    if tok in u["chips"]["words"]:
        return "chips", "num_chips", 1.0, 1
    if tok in u["throughput"]["words"]:
        if nxt[:1] == ["per"] and len(nxt) > 1 and nxt[1] in u["throughput"]["per_second"]:
            n = 3
            if toks[j + 3 : j + 5] in (["per", "user"], ["per", "sequence"]):
                return "throughput", "tok_per_s_per_user", 1.0, 5
            if toks[j + 3 : j + 5] == ["per", "chip"]:
                return "throughput", "tok_per_s_per_chip", 1.0, 5
            return "throughput", "throughput_tok_per_s", 1.0, n
    return None


def _byte_column(words: set[str], toks: list[str], i: int) -> str:
    near = set(toks[max(0, i - 5) : i + 6])
    if near & {"weights", "weight"}:
        return "weight_bytes_per_chip"
    if "kv" in near:
        return "kv_bytes_per_chip"
    if "sram" in near:
        return "sram_bytes"
    if near & {"hbm", "capacity"}:
        return "hbm_bytes"
    raise ConstraintError(
        "a size limit could mean weights per chip, KV cache per chip, HBM or SRAM capacity; "
        "say which (e.g. 'weights under 80 GB per chip')"
    )


_SYSTEM_COLS = {
    "hbm_bytes",
    "sram_bytes",
    "hbm_bw_bytes_per_s",
    "sram_bw_bytes_per_s",
    "ici_bw_bytes_per_s",
    "tdp_w",
    "tco_usd_per_chip_hour",
    "peak_flops_bf16",
}


def take(t, lex: Lexicon) -> list[Constraint]:
    """Find, consume and return every constraint in the tokens `t` (a parser._Tokens)."""
    toks = t.toks
    words = set(toks)
    out: list[Constraint] = []
    i = 0
    while i < len(toks):
        if not t.free(i):
            i += 1
            continue
        between = toks[i] == "between"
        if between:
            hit = ("between", 1)
        else:
            hit = _comparator_at(toks, i)
        if hit is None:
            i += 1
            continue
        op, n = hit
        j = i + n
        usd = j < len(toks) and toks[j] == "usd"
        j += usd
        if j >= len(toks) or not _NUM.match(toks[j]) or not t.free(j):
            i += 1
            continue
        v1, v2, k = float(toks[j]), None, j + 1
        if between:
            if k + 1 < len(toks) and toks[k] in ("and", "to") and _NUM.match(toks[k + 1]):
                v2, k = float(toks[k + 1]), k + 2
            else:
                i += 1
                continue
        unit = _unit_after(toks, k, words)
        table, col, factor, used, expr = "configs", "", 1.0, 0, None
        if usd:
            col, used = _price_unit(toks, k)
        elif unit is not None:
            kind, col, factor, used = unit
            if kind == "bytes":
                col = _byte_column(words, toks, i)
                if col.endswith("_per_chip") and toks[k + used : k + used + 2] == ["per", "chip"]:
                    used += 2
        else:
            # "batch size at least 16", "perf/tco above 5000": the attribute is named before
            col = _attribute_before(t, i, lex)
            if not col:
                i += 1
                continue
        if col in _SYSTEM_COLS:
            table = "systems"
        m = lex.metric(table, col)
        if m is None and col not in ("batch_size", "tp", "num_chips"):
            raise ConstraintError(f"this data has no {col} column to compare with")
        if m is not None and m.expr:
            expr = m.expr
        value = v1 * factor
        value2 = v2 * factor if v2 is not None else None
        if between and value2 is not None and value2 < value:
            value, value2 = value2, value
        text = " ".join(t.orig[i : k + used])
        out.append(Constraint(table, col, op, value, value2, text, expr))
        t.take(i, k + used - i)
        i = k + used
    return out


def _price_unit(toks: list[str], k: int) -> tuple[str, int]:
    """'$0.5 per million tokens' -> cost per 1M tokens; '$20 per hour' -> TCO per hour."""
    rest = toks[k : k + 4]
    if rest[:2] in (["per", "hour"], ["an", "hour"], ["per", "hr"]):
        return "tco_usd_per_hour", 2
    if rest[:1] == ["per"]:
        used = 1
        while used < len(rest) and rest[used] in ("million", "m", "1m", "mtok", "tokens", "token"):
            used += 1
        if used > 1:
            return "usd_per_1m_tokens", used
    raise ConstraintError("a price limit must say per what (per million tokens, or per hour)")


_FILTER_WORDS = {"batch": "batch_size", "bs": "batch_size", "tp": "tp", "chips": "num_chips"}


def _attribute_before(t, i: int, lex: Lexicon) -> str:
    """The column named just before a comparator ("batch size at least 16")."""
    toks = t.toks
    for back in (1, 2):
        k = i - back
        if k < 0:
            break
        if toks[k] in _FILTER_WORDS or (toks[k] == "size" and k > 0 and toks[k - 1] == "batch"):
            col = _FILTER_WORDS.get(toks[k], "batch_size")
            t.take(k, back)
            return col
    for size in (4, 3, 2, 1):
        k = i - size
        if k < 0:
            continue
        phrase = " ".join(toks[k:i])
        m = lex.metrics.get(phrase)
        if (
            m is not None
            and m.table in ("configs", "systems")
            and all(t.free(x) for x in range(k, i))
        ):
            t.take(k, size)
            return m.column
    return ""
