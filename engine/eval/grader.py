"""Grading one answer against an expected value, and the reliability score RS(c).

The rules (also in sample_data/questions/README.md):

- Only the answer's *head* is graded: its first paragraph, up to the first list item or table
  line. An answer that opens with a list has no answer line, so it names nothing.
- number: a number in the head equals the expected value after unit conversion (ms vs s, GB
  vs bytes, k/M multipliers, % vs fraction) within max(relative tolerance, the rounding
  shown: "12.3 ms" stands for anything in [12.25, 12.35] ms).
- name: the *first* entity of the expected entity's kind mentioned in the head is the
  expected one ("MI300X is faster than H100" names MI300X; "H100: 12 ms, MI300X: 10 ms"
  names H100). Entities of a kind come from the store (system names and ids, model names, op
  types, dtypes, phases) or from the question's `candidates`.
- boolean: the first yes/no word in the head (yes, fits, true / no, not, does not fit...).
- bound: the first "<x>-bound" in the head (compute / memory / comm).
- config: every column of the expected row is mentioned in the head (batch 64, TP 8, bf16...).
- text: the expected text appears in the head (case-insensitive).
- facts: every row of the expected value (e.g. xPU-A | sram, xPU-B | hbm) is stated by one
  clause of the head: a clause that names each of the row's values and no other entity of
  their kinds ("read from SRAM on xPU-A but from HBM on xPU-B" states both rows).
- all_of: every one of several checks holds (a cause: the operator, the location, the need).

Scoring (EHRSQL/TrustSQL): +1 a correct answer or a correct refusal; 0 a refusal of a valid
question, or an error (status 'error') on any question, since an error is not a refusal;
-c a wrong answer or any answer to an invalid question. RS(c) = 100 x mean.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from coview.engine.types import AskResult

KINDS = ("number", "name", "boolean", "bound", "config", "text", "facts", "all_of")
DEFAULT_TOLERANCE = 0.01

# Outcomes and their score (c is the penalty of a wrong answer).
CORRECT = "correct"  # valid, answered right
CORRECT_REFUSAL = "correct_refusal"  # invalid, refused
MISSED = "missed"  # valid, refused: 0
ERROR = "error"  # status 'error': 0
WRONG = "wrong"  # valid, answered wrong: -c
ANSWERED_INVALID = "answered_invalid"  # invalid, answered: -c
GOOD = (CORRECT, CORRECT_REFUSAL)
BAD = (WRONG, ANSWERED_INVALID)


@dataclass
class Grade:
    """The grade of one answer: outcome, the detail shown in the report."""

    outcome: str
    detail: str = ""

    @property
    def is_correct(self) -> bool:
        return self.outcome in GOOD

    @property
    def is_wrong(self) -> bool:
        return self.outcome in BAD

    def score(self, c: float) -> float:
        if self.outcome in GOOD:
            return 1.0
        if self.outcome in BAD:
            return -float(c)
        return 0.0


def reliability_score(grades: list[Grade], c: float) -> float:
    """RS(c) = 100 x mean score; 0 for an empty list."""
    if not grades:
        return 0.0
    return 100.0 * sum(g.score(c) for g in grades) / len(grades)


# --------------------------------------------------------------------------- answer head

_LIST_LINE = re.compile(r"^\s*(?:[-*\u2022]\s|\d+[.)]\s|\|)")


def answer_head(text: str) -> str:
    """The answer line(s): the first paragraph, cut at the first list item or table line."""
    lines: list[str] = []
    for line in text.strip().splitlines():
        if _LIST_LINE.match(line):
            break
        if not line.strip():
            if lines:
                break
            continue
        if line.strip().startswith("```"):
            break
        lines.append(line.strip())
    return " ".join(lines)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")


def first_sentence(text: str) -> str:
    """The first sentence of the answer line (yes/no must come first, as people read it)."""
    head = answer_head(text)
    first_line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    if not head or not first_line:
        return ""
    return _SENTENCE_END.split(first_line, maxsplit=1)[0]


# --------------------------------------------------------------------------- numbers

# unit spelling -> (dimension, factor to base SI unit)
_UNITS: dict[str, tuple[str, float]] = {}


def _u(dim: str, factor: float, *names: str) -> None:
    for n in names:
        _UNITS[n] = (dim, factor)


_u("s", 1.0, "s", "sec", "secs", "second", "seconds")
_u("s", 1e-3, "ms", "msec", "millisecond", "milliseconds")
_u("s", 1e-6, "us", "µs", "μs", "microsecond", "microseconds")
_u("s", 1e-9, "ns", "nanosecond", "nanoseconds")
_u("s", 60.0, "min", "mins", "minute", "minutes")
_u("s", 3600.0, "h", "hr", "hrs", "hour", "hours")
_u("bytes", 1.0, "b", "byte", "bytes")
_u("bytes", 1e3, "kb")
_u("bytes", 1e6, "mb")
_u("bytes", 1e9, "gb")
_u("bytes", 1e12, "tb")
_u("bytes", 2.0**10, "kib")
_u("bytes", 2.0**20, "mib")
_u("bytes", 2.0**30, "gib")
_u("bytes", 2.0**40, "tib")
_u("bytes/s", 1.0, "b/s", "bytes/s", "byte/s")
_u("bytes/s", 1e3, "kb/s")
_u("bytes/s", 1e6, "mb/s")
_u("bytes/s", 1e9, "gb/s")
_u("bytes/s", 1e12, "tb/s")
_u("bytes/s", 2.0**30, "gib/s")
_u("bytes/s", 2.0**40, "tib/s")
_u("tok/s", 1.0, "tok/s", "tokens/s", "token/s", "tokens/sec", "tokens per second", "tok/sec")
_u("flop", 1.0, "flop", "flops")
_u("flop", 1e9, "gflop", "gflops")
_u("flop", 1e12, "tflop", "tflops")
_u("flop", 1e15, "pflop", "pflops")
_u("flop/s", 1e12, "tflop/s")
_u("flop/s", 1e15, "pflop/s")
_u("w", 1.0, "w", "watt", "watts")
_u("w", 1e3, "kw")
_u("j", 1.0, "j", "joule", "joules")
_u("j", 1e3, "kj")
_u("j", 1e-3, "mj")
_u("percent", 1.0, "%", "percent")
_u("ratio", 1.0, "x", "×", "times")
_u("usd", 1.0, "usd", "dollars", "$")
_u("chips", 1.0, "chip", "chips")
_u("tokens", 1.0, "token", "tokens", "tok")

_MULT = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "billion": 1e9}

_unit_alt = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True) if u not in ("$",))
_NUM_RE = re.compile(
    r"(?P<cur>\$|usd\s?)?"
    r"(?<![A-Za-z0-9_.\-])(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?|\.\d+)"
    r"(?:\s?(?P<mult>thousand|million|billion|[kKM](?![A-Za-z])))?"
    rf"(?:\s?(?P<unit>(?:{_unit_alt})(?![A-Za-z])))?",
    re.IGNORECASE,
)


@dataclass
class ShownNumber:
    """A number as written in an answer: value in base units, dimension, rounding shown."""

    text: str
    value: float  # in base units (or the raw number if no unit)
    dim: str | None  # None: no unit
    half_ulp: float  # half the last digit shown, in the same units as value


def _half_ulp(num: str) -> float:
    num = num.replace(",", "").lower()
    mant, _, exp = num.partition("e")
    decimals = len(mant.split(".")[1]) if "." in mant else 0
    return 0.5 * 10.0 ** (-decimals) * 10.0 ** (int(exp) if exp else 0)


def extract_numbers(text: str) -> list[ShownNumber]:
    """Every number in the text, converted to base units where a unit follows it."""
    out: list[ShownNumber] = []
    for m in _NUM_RE.finditer(text):
        raw = m.group("num")
        try:
            value = float(raw.replace(",", ""))
        except ValueError:
            continue
        half = _half_ulp(raw)
        mult = m.group("mult")
        if mult:
            f = _MULT[mult.lower()]
            value, half = value * f, half * f
        unit = (m.group("unit") or "").lower()
        dim: str | None = None
        if unit:
            dim, f = _UNITS[unit]
            value, half = value * f, half * f
        elif m.group("cur"):
            dim = "usd"
        out.append(ShownNumber(m.group(0).strip(), value, dim, half))
    return out


# Dimensions whose numbers only count with a unit written after them.
_UNIT_REQUIRED = ("s", "bytes", "bytes/s", "flop", "flop/s", "w", "j")


def _candidates(n: ShownNumber, unit: str | None) -> list[tuple[float, float]]:
    """(value, half_ulp) readings of a shown number for an expected value in `unit`."""
    if n.dim == "percent":
        # 25% as a fraction (0.25) or as percent (25); for ratios also the relative change.
        v, h = n.value, n.half_ulp
        reads = [(v / 100, h / 100), (v, h)]
        if unit == "ratio":
            p, hp = v / 100, h / 100
            reads += [(1 + p, hp), (1 - p, hp)]
            if p < 1:
                reads.append((1 / (1 - p), hp / (1 - p) ** 2))
            reads.append((1 / (1 + p), hp))
        return reads
    if n.dim is None and unit in _UNIT_REQUIRED:
        return []  # "8" next to "batch" is not 8 seconds: times and sizes need their unit
    if unit is None or n.dim is None or n.dim == unit:
        return [(n.value, n.half_ulp)]
    if unit == "flop/s" and n.dim == "flop":
        # "1.31 PFLOPS" is a rate: FLOPS is FLOP per second, as peak figures are written
        return [(n.value, n.half_ulp)]
    if unit == "ratio" and n.dim is None:
        return [(n.value, n.half_ulp)]
    if unit in ("percent", "fraction") and n.dim is None:
        return [(n.value, n.half_ulp)]
    return []


def number_matches(n: ShownNumber, expected: float, tolerance: float, unit: str | None) -> bool:
    """True if the shown number equals `expected` within tolerance or the rounding shown."""
    for v, half in _candidates(n, unit):
        allowed = max(tolerance * abs(expected), half * (1 + 1e-9), 1e-15)
        if abs(v - expected) <= allowed:
            return True
    return False


# --------------------------------------------------------------------------- names


def _alias_pattern(alias: str) -> re.Pattern[str]:
    tokens = [t for t in re.split(r"[\s_\-]+", alias.strip()) if t]
    body = r"[\s_\-]*".join(re.escape(t) for t in tokens)
    return re.compile(rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])", re.IGNORECASE)


@dataclass
class Entity:
    """One nameable thing (a system, an op type...) and the spellings that refer to it."""

    key: str
    aliases: list[str] = field(default_factory=list)


def _with_short_aliases(entities: list[Entity]) -> list[Entity]:
    """Add the distinctive token of multi-word names ("v5e" for "TPU v5e") when unambiguous."""
    token_owner: dict[str, set[str]] = {}
    for e in entities:
        for a in e.aliases:
            for t in re.split(r"[\s_\-]+", a):
                if t and any(ch.isdigit() for ch in t):
                    token_owner.setdefault(t.lower(), set()).add(e.key)
    out = []
    for e in entities:
        extra = []
        for a in e.aliases:
            toks = [t for t in re.split(r"[\s_\-]+", a) if t]
            if len(toks) > 1:
                for t in toks:
                    if any(ch.isdigit() for ch in t) and token_owner.get(t.lower()) == {e.key}:
                        if not re.fullmatch(r"\d+\w*[gG][bB]", t):  # "80GB" is not a name
                            extra.append(t)
                        break
        out.append(Entity(e.key, list(dict.fromkeys([*e.aliases, *extra]))))
    return out


def first_entity(text: str, entities: list[Entity]) -> str | None:
    """The key of the entity mentioned first in `text` (longest spelling wins at a tie)."""
    best: tuple[int, int, str] | None = None
    for e in _with_short_aliases(entities):
        for a in e.aliases:
            m = _alias_pattern(a).search(text)
            if m and (best is None or (m.start(), -(m.end() - m.start())) < (best[0], best[1])):
                best = (m.start(), -(m.end() - m.start()), e.key)
    return best[2] if best else None


# --------------------------------------------------------------------------- booleans, bound

_YES = r"yes|yeah|true|fits|does fit|correct"
_NO = r"no|not|false|doesn't|does not|isn't|cannot|can't|won't|don't|exceeds"
_BOOL_RE = re.compile(rf"(?<![A-Za-z])(?:(?P<no>{_NO})|(?P<yes>{_YES}))(?![A-Za-z])", re.IGNORECASE)
_BOUND_RE = re.compile(
    r"(?<![A-Za-z])(?P<b>compute|memory|memory[- ]bandwidth|comm|communication|interconnect|"
    r"collective|network)[\s-]+bound",
    re.IGNORECASE,
)


def read_boolean(text: str) -> bool | None:
    """The first yes/no statement in the text, or None."""
    m = _BOOL_RE.search(text)
    if not m:
        return None
    return m.group("yes") is not None


def read_bound(text: str) -> str | None:
    """'compute' | 'memory' | 'comm' from the first "<x>-bound" phrase, or None."""
    m = _BOUND_RE.search(text)
    if not m:
        return None
    b = m.group("b").lower()
    if b.startswith("compute"):
        return "compute"
    if b.startswith("memory"):
        return "memory"
    return "comm"


def to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        v = value.strip().lower()
        if v in ("true", "yes", "1", "fits", "t", "y"):
            return True
        if v in ("false", "no", "0", "f", "n"):
            return False
    return None


# --------------------------------------------------------------------------- config


_BATCH_RE = re.compile(
    r"\b(?:batch(?:[\s_-]?size)?|bs|b)\s*(?:=|:|of|is)?\s*(\d+)\b", re.IGNORECASE
)
_TP_RE = re.compile(
    r"\b(?:tp|tensor[\s-]?parallel(?:ism)?(?:\s+degree)?)\s*(?:=|:|of|is)?\s*(\d+)\b"
    r"|\b(\d+)[\s-]way\s+(?:tensor|tp)\b",
    re.IGNORECASE,
)
_CHIPS_RE = re.compile(r"\b(\d+)\s*chips?\b|\bchips?\s*(?:=|:)?\s*(\d+)\b", re.IGNORECASE)
_NUMERIC_FIELDS = {"batch_size": _BATCH_RE, "batch": _BATCH_RE, "tp": _TP_RE,
                   "num_chips": _CHIPS_RE, "chips": _CHIPS_RE}  # fmt: skip


def config_field_stated(head: str, column: str, value: Any, pool: list[Entity]) -> str | None:
    """None if the answer line states `column = value` first; else what it states instead.

    The first mention counts: "batch 16, TP 16 ... Then: batch 16, TP 8" states TP 16.
    """
    want = _plain(value)
    regex = _NUMERIC_FIELDS.get(column.lower())
    if regex is not None:
        m = regex.search(head)
        if m is None:
            return "nothing"
        got = next(g for g in m.groups() if g is not None)
        return None if got == want else f"{column}={got}"
    if pool:
        first = first_entity(head, pool)
        if first is None:
            return "nothing"
        return None if first.lower() == want.lower() else f"{column}={first}"
    return None if _alias_pattern(want).search(head) else "nothing"


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------- grading


@dataclass
class Expected:
    """What a valid question's answer must say, resolved at eval time."""

    kind: str
    value: Any  # number | str | bool | dict (config)
    tolerance: float = DEFAULT_TOLERANCE
    unit: str | None = None
    entities: list[Entity] = field(default_factory=list)  # kind 'name': the pool
    # kind 'name': every acceptable answer (ties: the expected SQL returned several rows)
    accept: list[str] = field(default_factory=list)
    # kind 'config': for non-numeric fields, the entities of that field's kind
    # (kind 'facts': keyed by the value's text, lower-cased)
    field_pools: dict[str, list[Entity]] = field(default_factory=dict)
    parts: list[Expected] = field(default_factory=list)  # kind 'all_of'

    def describe(self) -> str:
        if self.kind == "all_of":
            return " and ".join(f"[{p.kind}: {p.describe()}]" for p in self.parts)
        if self.kind == "facts":
            return "; ".join(" | ".join(_plain(v) for v in r.values()) for r in self.value)
        if self.kind == "number":
            return f"{_fmt_num(self.value)}{' ' + self.unit if self.unit else ''}"
        if self.kind == "config":
            return ", ".join(f"{k}={_plain(v)}" for k, v in self.value.items())
        if self.kind == "name" and len(self.accept) > 1:
            return " or ".join(self.accept)
        return str(self.value)


def _fmt_num(x: float) -> str:
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def grade_answer(text: str, expected: Expected) -> tuple[bool, str]:
    """Whether the answer text states the expected value as its answer, and why not."""
    head = answer_head(text)
    if not head:
        return False, "the answer has no answer line (it opens with a list or is empty)"
    kind = expected.kind
    if kind == "number":
        exp = float(expected.value)
        nums = extract_numbers(head)
        for n in nums:
            if number_matches(n, exp, expected.tolerance, expected.unit):
                return True, f"matched {n.text!r}"
        shown = ", ".join(n.text for n in nums) or "no numbers"
        return False, f"no number in the answer line equals {expected.describe()} (saw: {shown})"
    if kind == "name":
        pool = expected.entities or [
            Entity(a, [a]) for a in (expected.accept or [str(expected.value)])
        ]
        first = first_entity(head, pool)
        if first is None:
            return False, f"the answer line names no {expected.value!r} (nor any alternative)"
        accept = {a.lower() for a in (expected.accept or [str(expected.value)])}
        if first.lower() not in accept:
            return False, f"the answer line names {first!r} first, not {expected.describe()!r}"
        return True, f"names {first!r}"
    if kind == "boolean":
        got = read_boolean(first_sentence(text))
        want = bool(expected.value)
        if got is None:
            return False, "the first sentence says neither yes nor no"
        return got == want, f"read {'yes' if got else 'no'}, expected {'yes' if want else 'no'}"
    if kind == "bound":
        got = read_bound(head)
        want = str(expected.value).lower()
        if got is None:
            return False, "the answer line has no '<compute|memory|comm>-bound'"
        return got == want, f"read {got}-bound, expected {want}-bound"
    if kind == "config":
        problems = []
        for col, val in expected.value.items():
            got = config_field_stated(head, col, val, expected.field_pools.get(col, []))
            if got is not None:
                problems.append(f"{col}={_plain(val)} (states {got})")
        if problems:
            return False, "the answer line does not state " + ", ".join(problems)
        return True, "states " + expected.describe()
    if kind == "text":
        want = str(expected.value)
        ok = want.lower() in head.lower()
        return ok, ("contains " if ok else "does not contain ") + repr(want)
    if kind == "facts":
        return _grade_facts(head, expected)
    if kind == "all_of":
        results = [(p, *grade_answer(text, p)) for p in expected.parts]
        failed = [f"{p.kind} {p.describe()!r}: {why}" for p, ok, why in results if not ok]
        if failed:
            return False, "; ".join(failed)
        return True, "; ".join(why for _, _, why in results)
    raise ValueError(f"unknown kind {kind!r}")


# --------------------------------------------------------------------------- facts

_SENTENCES = re.compile(r"(?<=[.!?])\s+")
_CLAUSES = re.compile(
    r"[();]|\s+(?:but|and|while|whereas|vs\.?|versus|compared with)\s+", re.IGNORECASE
)
_PHRASES = re.compile(r":\s+|,\s+")


def clauses(head: str) -> list[str]:
    """The answer line's segments at three grains: its sentences; those cut at ';', brackets
    and the words that join two statements ("but", "and", "while", "vs"); and those cut again
    at ':' and ','. A fact may be stated at any grain ("xPU-B: activations int8, KV cache
    bf16" is one clause; "xPU-B's activations are int8 and xPU-A's are bf16" two)."""
    out: list[str] = []
    for sentence in _SENTENCES.split(head):
        out.append(sentence)
        for clause in _CLAUSES.split(sentence):
            out.append(clause)
            out += _PHRASES.split(clause)
    return list(dict.fromkeys(c.strip() for c in out if c and c.strip()))


def _strict_pattern(alias: str) -> re.Pattern[str]:
    """An alias as a whole word, where '_' also continues a word ("sram_bytes" is not "sram")."""
    tokens = [t for t in re.split(r"[\s_\-]+", alias.strip()) if t]
    body = r"[\s_\-]*".join(re.escape(t) for t in tokens)
    return re.compile(rf"(?<![A-Za-z0-9_]){body}(?![A-Za-z0-9_])", re.IGNORECASE)


def _mentions(clause: str, entity: Entity) -> bool:
    return any(_strict_pattern(a).search(clause) for a in entity.aliases)


def _states_value(clause: str, value: Any, pool: list[Entity], expected: Expected) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return any(
            number_matches(n, float(value), expected.tolerance, expected.unit)
            for n in extract_numbers(clause)
        )
    want = _plain(value).lower()
    mine = [e for e in pool if e.key.lower() == want or want in (a.lower() for a in e.aliases)]
    if not mine:
        return bool(_strict_pattern(_plain(value)).search(clause))
    if not any(_mentions(clause, e) for e in mine):
        return False
    others = [e for e in pool if e not in mine]
    return not any(_mentions(clause, e) for e in others)


def _grade_facts(head: str, expected: Expected) -> tuple[bool, str]:
    parts = clauses(head)
    missing = []
    for row in expected.value:
        ok = any(
            all(
                _states_value(c, v, expected.field_pools.get(_plain(v).lower(), []), expected)
                for v in row.values()
            )
            for c in parts
        )
        if not ok:
            missing.append(" | ".join(_plain(v) for v in row.values()))
    if missing:
        return False, "no clause of the answer line states " + "; ".join(missing)
    return True, "states " + expected.describe()


def grade(result: AskResult, valid: bool, expected: Expected | None) -> Grade:
    """Grade one pipeline result for a valid (with its Expected) or an invalid question."""
    if result.status == "error":
        return Grade(ERROR, f"error: {result.answer.strip()[:200]}")
    if result.status == "refused":
        if valid:
            return Grade(
                MISSED, f"refused a valid question: {result.reason or result.answer[:160]}"
            )
        return Grade(CORRECT_REFUSAL, "refused")
    if not valid:
        return Grade(ANSWERED_INVALID, "answered a question the data cannot answer")
    if expected is None:
        raise ValueError("a valid question needs an expected value")
    ok, why = grade_answer(result.answer, expected)
    return Grade(CORRECT if ok else WRONG, why)


def is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
