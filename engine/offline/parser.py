"""Question -> Intent: what is asked, about which entities, within which filters.

The parser consumes every token it understands (entities from the lexicon, metric phrases,
filter patterns such as "bs 8" or "4-way tensor parallel", question-class keywords). What is
left is checked for things that look like an entity, a value or a metric the data does not
hold; any of those makes the question a refusal rather than being silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coview.engine.offline import constraints as cons
from coview.engine.offline import modifications
from coview.engine.offline.constraints import Constraint
from coview.engine.offline.lexicon import (
    _DROP_PREFIX,
    _DROP_SUFFIX,
    COMPONENT_WORDS,
    DTYPE_ALIASES,
    MODEL_FAMILIES,
    OP_CLASS_ALIASES,
    PURCHASE_WORDS,
    TRAINING_WORDS,
    UNKNOWN_METRIC_WORDS,
    Lexicon,
    Metric,
    expand_op_lists,
    op_phrases,
    squash,
    tokens,
)
from coview.engine.offline.matcher import (
    correct_typos,
    function_words,
    nearest_terms,
    polite_prefix_length,
    unit_words,
    unknown_spans,
)

KINDS = (
    "sim_compare",
    "lookup",
    "property",
    "model_property",
    "rank",
    "compare",
    "trend",
    "pareto",
    "fits",
    "op_longest",
    "op_diff",
    "op_share",
    "op_bound",
    "op_weights",
    "op_lookup",
    "op_class_rank",
    "op_bottlenecks",
    "op_collectives",
    "op_flops_time",
    "unmodelled",
)


class Unanswerable(Exception):
    """The question cannot be mapped completely onto the data; the message says why."""


class WhatIf(Unanswerable):
    """The question changes a hardware parameter: the stored rows cannot answer it."""

    def __init__(self, mod: modifications.Modification) -> None:
        self.modification = mod
        kind = "a search over" if mod.search else "a change to"
        super().__init__(
            f"that is a what-if ({kind} {mod.parameter}): the stored rows hold only what was "
            "simulated, so answering it needs a re-simulation with the changed hardware, "
            "not a lookup"
        )


@dataclass
class Intent:
    """A parsed question."""

    kind: str = ""
    systems: list[str] = field(default_factory=list)  # system_ids in order of mention
    models: list[str] = field(default_factory=list)
    sweep: str | None = None
    phases: list[str] = field(default_factory=list)
    batches: list[int] = field(default_factory=list)
    tps: list[int] = field(default_factory=list)
    chips: list[int] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    input_lens: list[int] = field(default_factory=list)
    output_lens: list[int] = field(default_factory=list)
    act_dtypes: list[str] = field(default_factory=list)
    kv_dtypes: list[str] = field(default_factory=list)
    metrics: list[Metric] = field(default_factory=list)
    op_types: list[str] = field(default_factory=list)
    op_class: str | None = None
    direction: str | None = None  # 'best' | 'worst' | 'high' | 'low'
    trend_dim: str | None = None  # 'batch_size' | 'tp'
    config_id: int | None = None
    limit: int | None = None
    threshold: float | None = None  # a target named in the question, in base units
    threshold_unit: str | None = None  # 's' or 'tok/s'
    yesno: bool = False
    capacity: bool = False  # "can X hold Y", "is there room for", "enough HBM for"
    hourly: bool = False  # a price "per hour": TCO, not cost per million tokens
    inventory: str | None = None  # "which systems are in the data": a table or column
    bound_filter: str | None = None  # "which operators are memory-bound"
    order: list[str] = field(default_factory=list)  # the question's tokens, in order
    words: set[str] = field(default_factory=set)  # all tokens, for answer phrasing
    corrections: list[tuple[str, str]] = field(default_factory=list)  # (typed, read as)
    constraints: list[Constraint] = field(default_factory=list)  # "under 30 ms per token"
    aggregate: str | None = None  # 'avg' | 'median' over the matched configs
    group_by: list[str] = field(default_factory=list)  # output columns: system, batch_size...
    fit_filter: bool | None = None  # count only configs that (do not) fit in memory
    pareto_filter: bool = False  # count only Pareto-optimal configs
    group_order: str | None = None  # 'desc' | 'asc': "which system has the most ..."
    act_memory: bool = False  # "why do the activations need more memory on X"
    simulators: list[str] = field(default_factory=list)  # sweeps.simulator values named
    said: list[str] = field(default_factory=list)  # operator words as the question typed them
    op_compare: bool = False  # one operator on two systems: "how many times faster is q_proj"
    by_op_class: bool = False  # "which op class takes the most time": operators per class

    def dims(self) -> dict[str, list]:
        """Config filters by column name."""
        return {
            "system_id": self.systems,
            "model_id": self.models,
            "phase": self.phases,
            "batch_size": self.batches,
            "tp": self.tps,
            "num_chips": self.chips,
            "weight_dtype": self.dtypes,
            "input_len": self.input_lens,
            "output_len": self.output_lens,
            "act_dtype": self.act_dtypes,
            "kv_dtype": self.kv_dtypes,
        }


_NUM_WORDS = {
    "one": 1,
    "single": 1,
    "two": 2,
    "four": 4,
    "eight": 8,
    "sixteen": 16,
    "thirty": 30,
    "three": 3,
    "six": 6,
    "five": 5,
    "seven": 7,
    "nine": 9,
    "ten": 10,
    "twelve": 12,
    "twenty": 20,
    "thirtytwo": 32,
    "sixtyfour": 64,
    "a": 1,
    "an": 1,
}
# Number words that may stand for a value after "batch of", "TP of" ("a"/"an" may not).
_VALUE_WORDS = {k: v for k, v in _NUM_WORDS.items() if k not in ("a", "an", "single")}

PHASE_PHRASES = {
    "prefill": (
        "prefill",
        "prefills",
        "pre fill",
        "prompt processing",
        "prompt phase",
        "context phase",
        "context encoding",
        "prefilling",
        "prompt encoding",
    ),
    "decode": (
        "decode",
        "decoding",
        "decodes",
        "token generation",
        "generation phase",
        "generation",
        "generating",
        "generate",
        "autoregressive",
        "decode phase",
        "generation step",
        "decode step",
    ),
}

# Accelerator families people name; one the store does not hold is an unknown system.
HARDWARE_FAMILIES = {
    "gaudi",
    "trainium",
    "inferentia",
    "cerebras",
    "groq",
    "sambanova",
    "blackwell",
    "hopper",
    "ampere",
    "radeon",
    "maia",
    "mtia",
    "graviton",
    "habana",
    "ascend",
    "ipu",
    "wse",
    "lpu",
    "trillium",
    "ironwood",
}
YESNO_STARTS = {
    "were",
    "does",
    "is",
    "do",
    "are",
    "can",
    "has",
    "have",
    "will",
    "would",
    "should",
    "was",
    "did",
    "isn",
}
BOUND_WORDS = {
    "bounds",
    "bounded",
    "limiting",
    "bound",
    "bottleneck",
    "bottlenecked",
    "limited",
    "limiter",
    "limits",
    "roofline",
}
WEIGHT_LOC_WORDS = {
    "served",
    "read",
    "reads",
    "loaded",
    "loads",
    "fetched",
    "streamed",
    "live",
    "lives",
    "stored",
    "store",
    "location",
    "located",
    "reside",
    "resides",
    "kept",
    "pinned",
    "held",
    "where",
    "placed",
    "sit",
    "sits",
}
SHARE_WORDS = {
    "share", "fraction", "percent", "percentage", "proportion", "portion", "account", "accounts",
}  # fmt: skip
DIFF_WORDS = {"differ", "differs", "difference", "differences", "different", "gap", "delta"}
LONGEST_WORDS = {
    "longest",
    "slowest",
    "dominant",
    "dominates",
    "dominate",
    "biggest",
    "largest",
    "expensive",
    "costliest",
    "heaviest",
    "most",
    "top",
    "hotspot",
}
SHORTEST_WORDS = {"shortest", "fastest", "cheapest", "least", "smallest", "quickest"}
OP_WORDS = {
    "operator",
    "operators",
    "op",
    "ops",
    "kernel",
    "kernels",
    "layer",
    "layers",
    "breakdown",
    # "how many all_reduce calls per step": an operator's count
    "calls",
    "call",
    "invocations",
    "launches",
}
TREND_WORDS = {
    "trend",
    "trends",
    "scale",
    "scales",
    "scaling",
    "grow",
    "grows",
    "change",
    "changes",
    "vary",
    "varies",
    "evolve",
    "evolves",
    "increase",
    "increases",
    "increasing",
    "decrease",
    "decreases",
    "function",
    "sweep",
    "across",
    "over",
    "affect",
    "affects",
    "impact",
    "depend",
    "depends",
    "behave",
    "behaves",
}
COMPARE_WORDS = {
    "vs",
    "versus",
    "compare",
    "compared",
    "comparison",
    "than",
    "against",
    "relative",
    "faster",
    "slower",
    "cheaper",
    "better",
    "worse",
    "difference",
}
BEST_WORDS = {"best", "optimal", "top", "ideal", "winner", "wins"}
WORST_WORDS = {"worst"}
HIGH_WORDS = {
    "highest",
    "most",
    "max",
    "maximum",
    "largest",
    "biggest",
    "greatest",
    "maximal",
    "maximize",
    "maximizes",
    "maximise",
    "maximises",
    "more",
    "higher",
    "larger",
    "bigger",
}
LOW_WORDS = {
    "lowest",
    "least",
    "min",
    "minimum",
    "minimal",
    "minimize",
    "minimizes",
    "minimise",
    "minimises",
    "smallest",
    "fewest",
    "lower",
    "less",
    "smaller",
}
FAST_WORDS = {"fastest", "quickest", "faster", "quicker", "speediest", "shorter", "shortest"}
# Comparatives that make "how many configs ..." with two systems a comparison count.
COMPARE_CLAIMS = {"cheaper", "better", "worse", "beats", "beat", "outperforms", "wins"}
# Words that compare one operator across two systems ("how many times faster", "vs").
OP_COMPARE_WORDS = {
    "faster", "quicker", "slower", "compare", "compared", "comparison", "vs", "versus",
    "times", "ratio", "speedup",
}  # fmt: skip
SLOW_WORDS = {"slowest", "slower", "slow", "longer", "longest"}
CHEAP_WORDS = {"cheapest", "cheaper"}
EFFICIENT_WORDS = {"efficient", "efficiency"}
# Adjectives whose direction depends on the word, not on the metric's raw scale: "most
# economical" is the best (lowest cost, highest perf/TCO), "most expensive" the worst.
GOOD_ADJ = {
    "efficient",
    "economical",
    "economic",
    "effective",
    "performant",
    "affordable",
    "competitive",
    "attractive",
}
BAD_ADJ = {"expensive", "costly", "pricey", "inefficient", "wasteful"}
# Words that make a question about money when it names no metric.
COST_ADJ = {
    "expensive",
    "costly",
    "pricey",
    "priciest",
    "costliest",
    "affordable",
    "economical",
    "economic",
    "inexpensive",
    "cheap",
    "cheapest",
    "cheaper",
    "cost",
    "costs",
    "price",
    "priced",
    "pay",
    "charge",
    "spend",
    "rate",
}
BEST_ADJ = {"best", "optimal", "ideal", "cheapest", "fastest", "quickest", "speediest"}
WORST_ADJ = {"worst", "priciest", "costliest"}
SUPERLATIVE_UP = {"most", "highest"}
SUPERLATIVE_DOWN = {"least", "lowest"}
# A price per hour (TCO) rather than per million tokens.
HOUR_PHRASES = ("per hour", "an hour", "a hour", "per hr", "hourly", "each hour", "by the hour")
# Verbs that ask whether a model fits on a system: "can X hold Y", "will it fit".
CAPACITY_VERBS = {
    "hold",
    "holds",
    "host",
    "hosts",
    "accommodate",
    "accommodates",
    "load",
    "run",
    "runs",
    "serve",
    "serves",
    "handle",
    "handles",
    "support",
    "supports",
    "fit",
    "fits",
}
CAPACITY_PHRASES = (
    "enough memory",
    "enough hbm",
    "enough hbm capacity",
    "enough memory capacity",
    "enough capacity",
    "enough space",
    "enough room",
    "room for",
    "space for",
    "big enough",
    "large enough",
    "fit in memory",
    "fits in memory",
    "fit in hbm",
    "fits in hbm",
    "within hbm capacity",
    "within memory capacity",
    "within the hbm capacity",
    "within hbm",
    "within memory",
    "within capacity",
)
FIT_WORDS = {"fit", "fits", "fitting", "oom"}
FIT_PHRASES = (
    "can run",
    "able to run",
    "can hold",
    "can serve",
    "enough memory",
    "out of memory",
    "run out of memory",
)
PARETO_WORDS = {"pareto", "frontier", "efficient frontier"}
THIS_CONFIG = (
    "this config",
    "this configuration",
    "the selected config",
    "selected config",
    "current config",
    "this one",
    "the current configuration",
)
# Filler that carries no meaning for the query; anything else left over is inspected.
_SYSTEMISH = re.compile(r"^(?:[a-z]{1,6}\d{2,4}[a-z]{0,4}|v\d{1,2}[a-z]?|gen\d)$")


class _Tokens:
    """The question's tokens with a consumed flag each."""

    def __init__(self, text: str, lex: Lexicon | None = None) -> None:
        self.orig = tokens(text)
        self.toks, self.fixes = (
            correct_typos(self.orig, lex) if lex is not None else (list(self.orig), [])
        )
        self.used = [False] * len(self.toks)

    def free(self, i: int) -> bool:
        return 0 <= i < len(self.toks) and not self.used[i]

    def take(self, i: int, n: int = 1) -> None:
        for k in range(i, min(i + n, len(self.toks))):
            self.used[k] = True

    def match_seq(self, seq: list[str], start: int) -> bool:
        if start + len(seq) > len(self.toks):
            return False
        return all(self.free(start + k) and self.toks[start + k] == w for k, w in enumerate(seq))

    def find_phrases(self, phrases: dict[str, object]) -> list[tuple[int, int, object]]:
        """Longest-first, non-overlapping matches of token phrases; consumes them."""
        out = []
        by_len = sorted(phrases, key=lambda p: -len(p.split()))
        for phrase in by_len:
            seq = phrase.split()
            for i in range(len(self.toks)):
                if self.match_seq(seq, i):
                    self.take(i, len(seq))
                    out.append((i, len(seq), phrases[phrase]))
        out.sort(key=lambda x: x[0])
        return out


def _num(tok: str) -> int | None:
    if tok.isdigit():
        return int(tok)
    return _NUM_WORDS.get(tok)


def _check_value(name: str, value: int, allowed: list[int], plural: str) -> None:
    if allowed and value not in allowed:
        raise Unanswerable(f"the sweep has no {name} {value}; {plural} are {_fmt_values(allowed)}")


def _fmt_values(vals: list) -> str:
    vals = list(vals)
    if len(vals) > 6 and all(isinstance(v, int) for v in vals):
        return f"{vals[0]}..{vals[-1]} ({', '.join(str(v) for v in vals)})"
    return ", ".join(str(v) for v in vals)


def _numbers_after(t: _Tokens, i: int) -> list[tuple[int, int]]:
    """Numbers at i, i+2... joined by and/or/vs/to/','; returns (index, value)."""
    out = []

    def val(k: int) -> int | None:
        tok = t.toks[k] if 0 <= k < len(t.toks) else ""
        return int(tok) if tok.isdigit() else _VALUE_WORDS.get(tok)

    while t.free(i) and val(i) is not None:
        out.append((i, val(i)))
        if (
            t.free(i + 1)
            and t.toks[i + 1] in ("and", "or", "vs", "versus", "to")
            and t.free(i + 2)
            and val(i + 2) is not None
        ):
            i += 2
        else:
            break
    return out


_TIME_UNITS = {
    "ms": 1e-3,
    "msec": 1e-3,
    "milliseconds": 1e-3,
    "millisecond": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "seconds": 1.0,
    "second": 1.0,
    "us": 1e-6,
    "microseconds": 1e-6,
}


def _take_thresholds(t: _Tokens, it: Intent) -> None:
    """A target in the question: '20 ms', '1.5 s', '500 tokens per second'."""
    toks = t.toks
    for i, tok in enumerate(toks):
        if not t.free(i) or not re.match(r"^\d+(\.\d+)?$", tok) or not t.free(i + 1):
            continue
        nxt = toks[i + 1]
        if nxt in _TIME_UNITS:
            it.threshold, it.threshold_unit = float(tok) * _TIME_UNITS[nxt], "s"
            t.take(i, 2)
        elif (
            nxt in ("tokens", "tok", "token")
            and i + 3 < len(toks) + 1
            and toks[i + 2 : i + 4] in (["per", "second"], ["per", "s"], ["per", "sec"])
        ):
            # only the number: "tokens per second (per user)" is left for the metric glossary
            it.threshold, it.threshold_unit = float(tok), "tok/s"
            t.take(i, 1)


def _take_filters(t: _Tokens, it: Intent, lex: Lexicon) -> None:
    """Batch, TP, chips, sequence lengths and 'top N' patterns."""
    toks = t.toks
    n = len(toks)
    for i in range(n):
        if not t.free(i):
            continue
        tok = toks[i]
        # glued forms: tp4, bs8, b64, batch8
        m = re.match(r"^(tp|bs|b|batch|mbs)(\d+)$", tok)
        if m and m.group(1) == "b" and int(m.group(2)) not in lex.batch_sizes:
            m = None  # "B200" is a chip, "b64" a batch size
        if m:
            v = int(m.group(2))
            (it.tps if m.group(1) == "tp" else it.batches).append(v)
            t.take(i)
            continue
        if (
            tok == "b"
            and t.free(i + 1)
            and toks[i + 1].isdigit()
            and int(toks[i + 1]) in (lex.batch_sizes)
        ):
            it.batches.append(int(toks[i + 1]))  # "b=8", "b 8"
            t.take(i, 2)
            continue
        if tok in ("batch", "bs", "mbs", "bsz"):
            j = i + 1
            skip = {"size", "sizes", "of", "is", "equal", "equals", "at"}
            while j < n and toks[j] in skip:
                j += 1
            nums = _numbers_after(t, j)
            if nums:
                it.batches += [v for _, v in nums]
                t.take(i, nums[-1][0] - i + 1)
            elif tok != "batch" or (j < n and toks[j] not in ("size", "sizes")):
                t.take(i, j - i)
            else:
                t.take(i, j - i)
            continue
        if tok in ("tp", "tensor"):
            j = i + 1
            skip = {
                "parallel",
                "parallelism",
                "parallelization",
                "degree",
                "of",
                "is",
                "size",
                "equal",
                "equals",
                "sharding",
                "shards",
                "way",
                "at",
            }
            while j < n and toks[j] in skip:
                j += 1
            nums = _numbers_after(t, j)
            if nums:
                it.tps += [v for _, v in nums]
                t.take(i, nums[-1][0] - i + 1)
            else:
                t.take(i, j - i)
            continue
        v = _num(tok)
        if v is not None and i + 1 < n:
            nxt = toks[i + 1]
            if nxt == "way" or (nxt in ("tp",) and tok.isdigit()):
                # "4-way tensor parallel", "4 way tp", "4 tp"
                j = i + 2 if nxt == "way" else i + 2
                while j < n and toks[j] in (
                    "tensor",
                    "parallel",
                    "parallelism",
                    "tp",
                    "sharding",
                    "sharded",
                    "split",
                ):
                    j += 1
                it.tps.append(v)
                t.take(i, j - i)
                continue
            if nxt in (
                "chip",
                "chips",
                "gpu",
                "gpus",
                "device",
                "devices",
                "tpus",
                "accelerators",
                "accelerator",
            ) and (tok.isdigit() or tok in _NUM_WORDS):
                it.chips.append(v)
                t.take(i, 2)
                continue
            if nxt in ("sequences", "requests", "users", "prompts", "queries") and tok.isdigit():
                if toks[i + 2 : i + 4] in (["per", "second"], ["per", "s"], ["per", "sec"]) or (
                    toks[i + 2 : i + 4] == ["a", "second"]
                ):
                    raise Unanswerable(
                        f"the data has no request rate ('{tok} {nxt} per second'): it holds "
                        "configurations at a batch size, not arrival rates or queueing; ask at "
                        "a batch size (e.g. 'batch 16')"
                    )
                it.batches.append(v)
                t.take(i, 2)
                continue
        if tok in ("top", "first") and t.free(i + 1) and toks[i + 1].isdigit():
            it.limit = int(toks[i + 1])
            t.take(i, 2)
            continue
        # sequence lengths
        if tok in ("input", "prompt", "context", "seq", "sequence", "output", "generated"):
            j = i + 1
            while j < n and toks[j] in (
                "len",
                "length",
                "lengths",
                "of",
                "tokens",
                "size",
                "is",
                "token",
            ):
                j += 1
            nums = _numbers_after(t, j)
            if nums:
                target = it.output_lens if tok in ("output", "generated") else it.input_lens
                target += [v for _, v in nums]
                t.take(i, nums[-1][0] - i + 1)
            continue
        if (
            tok.isdigit()
            and t.free(i + 1)
            and toks[i + 1] in ("token", "tokens")
            and t.free(i + 2)
            and toks[i + 2]
            in ("prompt", "prompts", "input", "context", "output", "outputs", "generated")
        ):
            target = (
                it.output_lens
                if toks[i + 2] in ("output", "outputs", "generated")
                else it.input_lens
            )
            target.append(int(tok))
            t.take(i, 3)
    # "8 chips" spelled "on one chip" / "a single chip"
    for i in range(n):
        if (
            t.free(i)
            and toks[i] in ("chip", "gpu", "device")
            and i > 0
            and toks[i - 1] in ("single", "one")
            and t.free(i - 1)
        ):
            it.chips.append(1)
            t.take(i - 1, 2)


_AGGREGATES = {"average": "avg", "avg": "avg", "mean": "avg", "median": "median"}
_GROUP_TARGETS = {
    "system": "system",
    "systems": "system",
    "chip type": "system",
    "hardware": "system",
    "accelerator": "system",
    "batch size": "batch_size",
    "batch": "batch_size",
    "tp degree": "tp",
    "tp": "tp",
    "phase": "phase",
    "data type": "weight_dtype",
    "dtype": "weight_dtype",
    "precision": "weight_dtype",
    "model": "model_id",
}
_GROUP_LEADS = ("for each", "for every", "per", "by", "each", "of each", "across")


def c_unit(c: Constraint) -> str:
    """The unit family of a constraint's column, for the unit words it allows."""
    if c.column == "latency_s":
        return "s"
    if c.column.endswith("bytes_per_chip") or c.column in ("hbm_bytes", "sram_bytes"):
        return "B"
    return ""


def _take_aggregate(t: _Tokens, it: Intent) -> None:
    """'average/mean/median <metric>' and 'per system' / 'for each batch size' grouping.

    Grouping is read only for counts and aggregates; elsewhere its words stay for the frame
    (and a question that cannot use them is refused).
    """
    toks = t.toks
    for i, tok in enumerate(toks):
        if t.free(i) and tok in _AGGREGATES:
            it.aggregate = _AGGREGATES[tok]
            t.take(i)
    joined = " ".join(toks)
    sup = set(toks) & {
        "most",
        "fewest",
        "least",
        "highest",
        "lowest",
        "largest",
        "smallest",
        "best",
        "worst",
    }
    which = re.search(
        r"\b(?:which|what)\s+(system|chip|hardware|accelerator|dtype|data type|precision|"
        r"batch size|batch|tp degree|tp|phase|model)s?\b",
        joined,
    )
    config_count = bool(set(toks) & _COUNTABLE) and not it.aggregate
    if set(toks) & {"frontier", "pareto"} and sup & {
        "largest",
        "smallest",
        "biggest",
        "most",
        "fewest",
    }:
        # "which system has the largest decode Pareto frontier": Pareto-optimal configs counted
        config_count = not it.aggregate
    if which and sup and (it.aggregate or config_count):
        # "which system has the most configs that fit", "which dtype has the lowest average"
        it.group_by = [_GROUP_TARGETS[which.group(1)]]
        it.group_order = (
            "best"
            if "best" in sup
            else "worst"
            if "worst" in sup
            else "desc"
            if sup & {"most", "highest", "largest"}
            else "asc"
        )
        if config_count:
            it.aggregate = None
            it.kind = "count"
    counting = (
        "how many" in joined
        or "count" in toks  # "count the configs that don't fit per system"
        or it.aggregate is not None
        or it.kind == "count"
    )
    if not counting:
        return
    for lead in sorted(_GROUP_LEADS, key=lambda x: -len(x)):
        lseq = lead.split()
        for target in sorted(_GROUP_TARGETS, key=lambda x: -len(x)):
            seq = lseq + target.split()
            for alt in (seq, seq[:-1] + [seq[-1] + "s"]):
                for i in range(len(toks)):
                    if t.match_seq(alt, i):
                        col = _GROUP_TARGETS[target]
                        if col not in it.group_by:
                            it.group_by.append(col)
                        t.take(i, len(alt))
                        _take_more_groups(t, it, i + len(alt))


def _take_more_groups(t: _Tokens, it: Intent, j: int) -> None:
    """'by system and phase': every group named after the lead, not only the first."""
    toks = t.toks
    while j < len(toks) and toks[j] == "and" and t.free(j):
        for target in sorted(_GROUP_TARGETS, key=lambda x: -len(x)):
            seq = target.split()
            hit = next(
                (a for a in (seq, seq[:-1] + [seq[-1] + "s"]) if t.match_seq(a, j + 1)), None
            )
            if hit:
                col = _GROUP_TARGETS[target]
                if col not in it.group_by:
                    it.group_by.append(col)
                t.take(j, 1 + len(hit))
                j += 1 + len(hit)
                break
        else:
            return


_NEGATION = {"not", "don", "doesn", "dont", "doesnt", "cannot", "t", "no", "never", "fail", "fails"}


def _take_fit_filter(t: _Tokens, it: Intent) -> None:
    """'how many configs (don't) fit in memory': count fitting or non-fitting configs."""
    toks = t.toks
    for i, tok in enumerate(toks):
        if tok in ("fit", "fits", "fitting") or (tok == "oom"):
            neg = tok == "oom" or any(
                toks[k] in _NEGATION and t.free(k) for k in range(max(0, i - 3), i)
            )
            it.fit_filter = not neg
            for k in range(max(0, i - 3), i + 1):
                if toks[k] in _NEGATION or k == i:
                    t.take(k)
            for k in range(i + 1, min(len(toks), i + 4)):
                if toks[k] in ("in", "into", "memory", "hbm", "on"):
                    t.take(k)
                else:
                    break
    for i in range(len(toks) - 2):
        if toks[i : i + 3] == ["out", "of", "memory"]:
            it.fit_filter = False
            t.take(i, 3)


def _check_values(it: Intent, lex: Lexicon) -> None:
    for b in it.batches:
        _check_value("batch size", b, lex.batch_sizes, "batch sizes")
    for v in it.tps:
        _check_value("TP degree", v, lex.tps, "TP degrees")
    for v in it.chips:
        _check_value("configuration with", v, lex.num_chips, "chip counts")
    for v in it.input_lens:
        _check_value("input length", v, lex.input_lens, "input lengths")
    for v in it.output_lens:
        _check_value("output length", v, lex.output_lens, "output lengths")


def _take_entities(t: _Tokens, it: Intent, lex: Lexicon, original: str) -> None:
    toks = t.toks
    n = len(toks)
    # simulators are values of sweeps.simulator ("GenZ", "coview's roofline")
    if len(lex.simulators) > 1:
        for i in range(len(toks)):
            if t.free(i) and toks[i] in lex.simulator_variants:
                sim = lex.simulator_variants[toks[i]]
                if sim not in it.simulators:
                    it.simulators.append(sim)
                t.take(i)
                if t.free(i + 1) and toks[i + 1] == "s":  # "coview's"
                    t.take(i + 1)
    # systems, models and sweeps: n-grams of free tokens compared squashed, longest first
    sweep_variants = {}
    for sid, name in lex.sweeps:
        for v in (squash(sid), squash(name)):
            if len(v) >= 4:
                sweep_variants[v] = sid
    first_pos: dict[str, int] = {}
    for size in (4, 3, 2, 1):
        for i in range(n - size + 1):
            if not all(t.free(k) for k in range(i, i + size)):
                continue
            key = "".join(toks[i : i + size]).replace(".", "")
            if key in lex.system_variants:
                sid = lex.system_variants[key]
                if sid not in it.systems:
                    it.systems.append(sid)
                    first_pos[sid] = i
                t.take(i, size)
                # "the H100 SXM 80GB", "NVIDIA H100": parts people add to a name
                j = i + size
                while t.free(j) and _DROP_SUFFIX.match(toks[j]):
                    t.take(j)
                    j += 1
                j = i - 1
                vendor = (lex.systems[sid].vendor or "").lower()
                while t.free(j) and (toks[j] in _DROP_PREFIX or toks[j] == vendor):
                    t.take(j)
                    j -= 1
                # "one H100", "8 H100s": a chip count
                if t.free(j) and (toks[j] in ("one", "single") or toks[j].isdigit()):
                    it.chips.append(1 if not toks[j].isdigit() else int(toks[j]))
                    t.take(j)
            elif key in lex.model_variants:
                mid = lex.model_variants[key]
                if mid not in it.models:
                    it.models.append(mid)
                t.take(i, size)
            elif key in sweep_variants:
                it.sweep = sweep_variants[key]
                t.take(i, size)
    # vendor names are values of systems.vendor ("made by NVIDIA", "the AMD chip")
    vendors = {(s.vendor or "").lower() for s in lex.systems.values()} - {""}
    for i in range(n):
        if t.free(i) and toks[i] in vendors:
            t.take(i)
    # order systems by first mention (n-gram passes find long names first)
    it.systems.sort(key=lambda sid: first_pos.get(sid, 0))
    # op types, groups and classes
    for _i, _n, ops in t.find_phrases(op_phrases(lex.op_types)):
        it.said.append(" ".join(t.orig[_i : _i + _n]))
        for o in ops:
            if o not in it.op_types:
                it.op_types.append(o)
    cls_phr = {}
    for c in lex.op_classes:
        cls_phr[c] = c
        for a in OP_CLASS_ALIASES.get(c, ()):
            cls_phr[" ".join(tokens(a))] = c
    for _i, _n, c in t.find_phrases(cls_phr):
        it.said.append(" ".join(t.orig[_i : _i + _n]))
        it.op_class = c
    # phases
    ph = {}
    for phase in lex.phases:
        ph[phase] = phase
        for a in PHASE_PHRASES.get(phase, ()):
            ph[" ".join(tokens(a))] = phase
    for _i, _n, p in t.find_phrases(ph):
        if p not in it.phases:
            it.phases.append(p)


# "power ... per chip": a qualifier apart from its metric turns it into the derived metric
_PER = {
    ("per", "chip"): {"power_w": "power_per_chip_w", "throughput_tok_per_s": "tok_per_s_per_chip"},
    ("per", "user"): {"throughput_tok_per_s": "tok_per_s_per_user"},
    ("per", "sequence"): {"throughput_tok_per_s": "tok_per_s_per_user"},
    ("per", "token"): {"energy_j": "joules_per_token"},
}


def _apply_per(t: _Tokens, it: Intent, lex: Lexicon) -> None:
    toks = t.toks
    for i in range(len(toks) - 1):
        key = (toks[i], toks[i + 1])
        if key not in _PER or not (t.free(i) and t.free(i + 1)):
            continue
        for k, m in enumerate(it.metrics):
            alias = _PER[key].get(m.column)
            if alias and (d := lex.metric("configs", alias)) is not None:
                it.metrics[k] = d
                t.take(i, 2)
                break
        else:
            if (
                key == ("per", "chip")
                and it.metrics
                and it.metrics[0].table == "configs"
                and not it.metrics[0].column.endswith("per_chip")
            ):
                raise Unanswerable(
                    f"the data has {it.metrics[0].label} for the whole configuration, not per "
                    "chip (per-chip figures exist for power, throughput, weights and KV cache)"
                )


_OP_CLASS_PHRASES = (
    "op class", "op classes", "operator class", "operator classes", "class of operator",
    "class of operators", "class of op", "class of ops", "op category", "operator category",
    "operator categories", "op type class", "class",
)  # fmt: skip


def _take_op_class_phrase(t: _Tokens, it: Intent) -> None:
    """'which op class takes the most time': operators grouped by op_class. After a named
    class ('the gemm class') the word only restates it."""
    for _i, _n, _v in t.find_phrases({p: True for p in _OP_CLASS_PHRASES}):
        if not (it.op_class or it.op_types):
            it.by_op_class = True


_NOT_MODELLED = {
    "not",
    "missing",
    "absent",
    "lacks",
    "lack",
    "omitted",
    "isn",
    "aren",
    "wasn",
    "weren",
}
_MODELLED = {
    "simulated",
    "modelled",
    "modeled",
    "modeling",
    "modelling",
    "included",
    "covered",
    "captured",
}


def _stage1_analysis(it: Intent, words: set[str], joined: str) -> str | None:
    """'what are the performance bottlenecks', 'which collectives were required and after
    which operators', 'how does the FLOPs distribution correspond to time', 'which model
    operators were not simulated': the kind of analysis, or None."""
    if words & OP_WORDS and words & _NOT_MODELLED and words & _MODELLED and not it.op_types:
        return "unmodelled"
    if it.op_types or words & SHARE_WORDS:
        return None
    if words & {"bottleneck", "bottlenecks"} and not it.bound_filter:
        return "op_bottlenecks"
    if (
        it.op_class == "collective"
        and words & {"which", "what", "where", "after", "required", "needed", "run", "runs"}
        and not words & (LONGEST_WORDS | SHORTEST_WORDS | BOUND_WORDS)
    ):
        return "op_collectives"
    if (
        words & {"flops", "flop"}
        and words & {"time", "times", "runtime"}
        and words
        & {
            "distribution",
            "correspond",
            "corresponds",
            "relate",
            "relates",
            "vs",
            "versus",
            "against",
            "match",
            "compare",
        }
    ):
        return "op_flops_time"
    return None


def _asks_weight_location(it: Intent, words: set[str], joined: str) -> bool:
    """'are q_proj's weights read from SRAM or HBM', 'is lm_head kept in SRAM or HBM': where
    weights are read from (an operator named with a location verb stands for its weights)."""
    either = "sram or hbm" in joined or "hbm or sram" in joined
    if words & {"weights", "weight"}:
        return bool(words & WEIGHT_LOC_WORDS or either)
    return bool(it.op_types) and (
        either
        or bool(
            words & (WEIGHT_LOC_WORDS - {"where", "store", "location"}) and words & {"sram", "hbm"}
        )
    )


_MEMORY_USE_COLUMNS = {"sram_used_bytes", "hbm_used_bytes_per_chip"}
USAGE_WORDS = {"used", "use", "uses", "usage", "occupied", "occupies", "occupy", "footprint"}
_NEED = {"need", "needs", "needed", "require", "requires", "required"}


def _capacity_as_usage(it: Intent, words: set[str], lex: Lexicon) -> None:
    """'how much HBM is used at ...', 'how much SRAM does q_proj need': what a config or an
    operator takes of the memory, not the chip's capacity (refused when the data lacks it)."""
    caps = [
        m
        for m in it.metrics
        if (m.table, m.column) in (("systems", "hbm_bytes"), ("systems", "sram_bytes"))
    ]
    for m in caps:
        sram = m.column == "sram_bytes"
        if it.op_types and sram and words & (_NEED | USAGE_WORDS):
            new = lex.metric("operators", "sram_needed_bytes")
        elif words & USAGE_WORDS and not it.op_types:
            new = lex.metric("configs", "sram_used_bytes" if sram else "hbm_used_bytes_per_chip")
        else:
            continue
        if new is None:
            raise Unanswerable(
                f"the data does not record how much {'SRAM' if sram else 'HBM'} is used, only "
                f"the chip's {m.label}"
            )
        it.metrics[it.metrics.index(m)] = new


def _take_layer_phrases(t: _Tokens, it: Intent, lex: Lexicon) -> None:
    """'one q_proj instance (one layer)', 'attention time (all 80 layers)': an operator
    question restating per-instance or per-step figures, which every answer gives both of.
    A layer count other than the model's is refused, never dropped."""
    layers = {m.num_layers for m in lex.models.values() if m.num_layers}
    toks = t.toks
    for i, tok in enumerate(toks):
        if tok not in ("layer", "layers") or not t.free(i):
            continue
        j = i - 1
        if j >= 0 and t.free(j) and toks[j].isdigit():
            n = int(toks[j])
            if layers and n not in layers:
                raise Unanswerable(
                    f"the model has {', '.join(str(x) for x in sorted(layers))} layers, not {n}"
                )
            t.take(j)
            j -= 1
        if (
            j >= 0
            and t.free(j)
            and toks[j] in ("all", "every", "each", "one", "a", "single", "per")
        ):
            t.take(j)
            if j >= 1 and toks[j - 1] == "across" and t.free(j - 1):
                t.take(j - 1)
        elif j >= 1 and toks[j] == "the" and toks[j - 1] == "all":
            t.take(j - 1, 2)
        else:
            continue
        t.take(i)


def _take_part_dtypes(t: _Tokens, it: Intent, lex: Lexicon) -> None:
    """'fp8 KV cache', 'KV cache in int8', 'int8 activations': the KV or activation type."""
    toks = t.toks
    for i, tok in enumerate(toks):
        if not t.free(i) or tok not in DTYPE_ALIASES:
            continue
        d = DTYPE_ALIASES[tok]
        part = span = None
        after = toks[i + 1 : i + 3]
        before = toks[max(0, i - 3) : i]
        if after[:1] == ["kv"]:
            part, span = "kv", (i, 1 + (2 if after[1:2] == ["cache"] else 1))
        elif after[:1] and after[0] in ("activations", "activation", "act", "acts"):
            part, span = "act", (i, 2)
        elif before[-2:] == ["kv", "cache"] or before[-3:-1] == ["kv", "cache"]:
            k = i - 2 if before[-2:] == ["kv", "cache"] else i - 3
            part, span = "kv", (k, i - k + 1)
        if part is None:
            continue
        allowed = lex.kv_dtypes if part == "kv" else lex.act_dtypes
        if allowed and d not in allowed:
            name = "KV-cache" if part == "kv" else "activation"
            raise Unanswerable(
                f"the data has no {d} {name} configurations; {name} types are {', '.join(allowed)}"
            )
        target = it.kv_dtypes if part == "kv" else it.act_dtypes
        if d not in target:
            target.append(d)
        t.take(*span)


def _take_dtypes(t: _Tokens, it: Intent, lex: Lexicon) -> None:
    toks = t.toks
    n = len(toks)
    for i in range(n):
        if t.free(i) and toks[i] in DTYPE_ALIASES:
            d = DTYPE_ALIASES[toks[i]]
            if d not in lex.dtypes:
                raise Unanswerable(
                    f"the data has no {d} configurations; data types are {', '.join(lex.dtypes)}"
                )
            if d not in it.dtypes:
                it.dtypes.append(d)
            t.take(i)
            if t.free(i + 1) and toks[i + 1] in (
                "weights",
                "precision",
                "dtype",
                "quantization",
                "quantized",
                "mode",
                "data",
                "type",
            ):
                t.take(i + 1)


def _take_capacity(t: _Tokens, it: Intent) -> None:
    """'is there room for', 'enough HBM for', 'can X hold Y': a does-it-fit question.

    The phrase is consumed so "HBM"/"memory" in it is not read as the capacity metric.
    """
    toks = t.toks
    for phrase in CAPACITY_PHRASES:
        seq = phrase.split()
        for i in range(len(toks)):
            if t.match_seq(seq, i):
                t.take(i, len(seq))
                it.capacity = True
    words = set(toks)
    if (
        toks
        and toks[0] in ("can", "could", "will", "would", "does", "do", "is", "are")
        and words & CAPACITY_VERBS
        and (it.models or words & {"model", "weights", "it"})
    ):
        it.capacity = True
        for i, tok in enumerate(toks):
            if tok in CAPACITY_VERBS and t.free(i):
                t.take(i)


def _take_hourly(t: _Tokens, it: Intent, lex: Lexicon) -> None:
    """'per hour', 'hourly': a price per hour is TCO (per chip-hour for a chip), never the
    cost per million tokens that 'cost'/'cheapest' alone would mean."""
    toks = t.toks
    hit = False
    for phrase in HOUR_PHRASES:
        seq = phrase.split()
        for i in range(len(toks)):
            if t.match_seq(seq, i):
                t.take(i, len(seq))
                hit = True
    if not hit and not any(
        m.column in ("tco_usd_per_hour", "tco_usd_per_chip_hour") for m in it.metrics
    ):
        return
    it.hourly = True
    tco = lex.metric("configs", "tco_usd_per_hour")
    words = set(toks)
    if (
        hit
        and (it.systems or words & {"chip", "chips", "system", "systems", "gpu", "gpus"})
        and not words & {"config", "configs", "configuration", "configurations", "setting"}
        and not any((it.batches, it.tps, it.phases, it.dtypes, it.chips, it.models))
        and it.config_id is None
        and lex.metric("systems", "tco_usd_per_chip_hour") is not None
    ):
        # "which chip is cheapest per hour": the chip's own price, whatever the workload
        tco = lex.metric("systems", "tco_usd_per_chip_hour")
    if any(m.column in ("tco_usd_per_hour", "tco_usd_per_chip_hour") for m in it.metrics):
        # "cheapest chip per hour": the hour phrase names the metric, "cheapest" the direction
        it.metrics = [m for m in it.metrics if m.column != "usd_per_1m_tokens"]
    for k, m in enumerate(it.metrics):
        if m.column == "usd_per_1m_tokens" and tco is not None:
            it.metrics[k] = tco
    if not hit:
        return
    if any(m.column in ("throughput_tok_per_s", "energy_j") for m in it.metrics) or (
        set(toks) & {"tokens", "token", "requests", "queries"} and not set(toks) & COST_ADJ
    ):
        raise Unanswerable(
            "the data holds rates per second (throughput in tokens/s) and prices per hour "
            "(TCO), not token counts per hour"
        )


def _take_metrics(t: _Tokens, it: Intent, lex: Lexicon) -> None:
    for _i, _n, m in t.find_phrases(dict(lex.metrics)):
        if all(m.key != x.key or m.phase != x.phase for x in it.metrics):
            it.metrics.append(m)


_MEASURES = {
    "power",
    "energy",
    "temperature",
    "utilization",
    "utilisation",
    "area",
    "cost",
    "price",
    "latency",
    "frequency",
    "efficiency",
    "errors",
    "wattage",
    "watts",
    "heat",
    "voltage",
    "consumption",
    "throughput",
    "accuracy",
}
_COMPONENTS = {
    "hbm",
    "sram",
    "dram",
    "l2",
    "l1",
    "ici",
    "nvlink",
    "interconnect",
    "cpu",
    "host",
    "network",
    "pcie",
    "cores",
    "die",
}


def _check_component_metric(t: _Tokens, lex: Lexicon) -> None:
    """'power of the HBM', 'SRAM energy': a per-component figure no column holds."""
    toks = t.toks
    for i, tok in enumerate(toks):
        if tok not in _COMPONENTS or not t.free(i):
            continue
        near = [j for j in range(max(0, i - 3), min(len(toks), i + 4)) if j != i]
        for j in near:
            w = toks[j]
            if w not in _MEASURES or not t.free(j):
                continue
            between = range(min(i, j) + 1, max(i, j))
            if any(toks[b] in ("weights", "weight", "when", "with", "if") for b in between):
                continue
            if f"{tok} {w}" in lex.metrics or f"{w} {tok}" in lex.metrics:
                continue
            # Say where the figure does exist only when the schema really has it.
            where = (
                f"the schema has {w} only for a whole configuration or chip, not per component"
                if w in lex.metrics
                else f"the schema has no {w} figure at all"
            )
            raise Unanswerable(f"no column holds {tok.upper()} {w}: {where}")


def _original_span(question: str, tok: str) -> str:
    m = re.search(re.escape(tok), question, re.IGNORECASE)
    return question[m.start() : m.end()] if m else tok


def _check_leftovers(t: _Tokens, it: Intent, lex: Lexicon, question: str) -> None:
    """Refuse on leftover tokens that name something the data does not hold."""
    toks = t.toks
    for i, tok in enumerate(toks):
        if not t.free(i):
            continue
        if tok in MODEL_FAMILIES:
            span = " ".join(toks[i : i + 3]) if i + 1 < len(toks) else tok
            raise Unanswerable(
                f"the data has no model named {_original_span(question, tok)}"
                f"{'' if span == tok else ' (' + span + ')'}; it has: {lex.model_names()}"
            )
        if re.match(r"^\d+(\.\d+)?[km]$", tok) and (
            (toks[i + 1] if i + 1 < len(toks) else "")
            in ("context", "ctx", "tokens", "token", "sequence", "input", "prompt", "output")
        ):
            raise Unanswerable(
                f"the data has no sequence length of {tok.upper()} tokens; input lengths are "
                f"{_fmt_values(lex.input_lens)}, output lengths {_fmt_values(lex.output_lens)}"
            )
        if re.match(r"^\d+(\.\d+)?[bm]$", tok):
            raise Unanswerable(f"the data has no {tok.upper()} model; it has: {lex.model_names()}")
        if tok in HARDWARE_FAMILIES:
            nxt = (
                toks[i + 1]
                if t.free(i + 1) and toks[i + 1].isalnum() and len(toks[i + 1]) <= 4
                else ""
            )
            name = _original_span(question, tok) + (f" {nxt}" if nxt else "")
            raise Unanswerable(f"the data has no system named {name}; it has: {lex.system_names()}")
        if tok in ("tpu", "gpu") and t.free(i + 1) and _SYSTEMISH.match(toks[i + 1]):
            name = (
                _original_span(question, f"{tok} {toks[i + 1]}")
                if False
                else f"{tok.upper()} {toks[i + 1]}"
            )
            raise Unanswerable(f"the data has no system named {name}; it has: {lex.system_names()}")
        if _SYSTEMISH.match(tok) and tok not in DTYPE_ALIASES and tok not in UNKNOWN_METRIC_WORDS:
            raise Unanswerable(
                f"the data has no system named {_original_span(question, tok)}; "
                f"it has: {lex.system_names()}"
            )
    for i, tok in enumerate(toks):
        if not t.free(i):
            continue
        if tok in PURCHASE_WORDS:
            raise Unanswerable(
                f"the data has no purchase price ('{t.orig[i]}'); it holds TCO per chip-hour "
                "(systems.tco_usd_per_chip_hour) and cost per million tokens"
            )
        if tok in ("average", "averages", "mean", "median", "stddev", "deviation"):
            raise Unanswerable(
                f"I do not compute {'an' if tok[0] in 'aeiou' else 'a'} {tok} over configurations;"
                " I report one configuration's "
                "value, the best one with the range, a comparison or a trend"
            )
        if tok in UNKNOWN_METRIC_WORDS:
            raise Unanswerable(
                f"the schema has no metric called {tok!r} (the data holds latency, "
                "throughput, cost, power, energy, memory and roofline times)"
            )
        if tok in COMPONENT_WORDS and it.metrics:
            raise Unanswerable(
                f"no column holds {tok.upper()} {it.metrics[0].label} "
                f"(the {it.metrics[0].column} column is for the whole "
                f"{'chip' if it.metrics[0].table == 'systems' else 'configuration'})"
            )
    units = unit_words({m.unit for m in it.metrics} | {c_unit(c) for c in it.constraints})
    if toks[polite_prefix_length(toks) : polite_prefix_length(toks) + 1] == ["why"]:
        # "why can A keep the weights in SRAM while B cannot": the premise's negation is
        # answered by explaining both sides, not used as a filter
        for i, tok in enumerate(toks):
            if t.free(i) and tok in ("cannot", "not", "t", "can", "while", "whereas"):
                t.take(i)
    spans = unknown_spans(toks, [t.free(i) for i in range(len(toks))], lex, units)
    if spans:
        start, end = spans[0]
        text = " ".join(t.orig[start:end])
        near = nearest_terms(text, lex)
        raise Unanswerable(
            f"I don't know what '{text}' means in this data"
            + (f"; the nearest terms it has: {', '.join(near)}" if near else "")
        )
    for i, tok in enumerate(toks):
        if t.free(i) and re.match(r"^\d+(\.\d+)?$", tok):
            unit = [w for w in toks[i + 1 : i + 3] if t.free(toks.index(w, i + 1))][:2]
            what = " ".join([tok, *unit]) if unit else tok
            raise Unanswerable(
                f"I could not attach '{what}' to anything this data holds; name what it "
                f"is, e.g. 'batch {tok}', 'TP {tok}', '{tok} chips' or '{tok} ms per token'"
            )


def _has(words: set[str], vocab: set[str]) -> bool:
    return bool(words & vocab)


def parse(question: str, lex: Lexicon, context_config: int | None = None) -> Intent:
    """Parse one question against a store's lexicon; raises Unanswerable with a reason."""
    mod = modifications.find(question)
    if mod is not None:
        raise WhatIf(mod)
    it = Intent()
    question = expand_op_lists(cons.normalise(question), lex.op_types)
    t = _Tokens(question, lex)
    it.corrections = list(t.fixes)
    words = set(t.toks)
    it.words = words
    joined = " ".join(t.toks)
    lead = polite_prefix_length(t.toks)
    t.take(0, lead)
    it.yesno = len(t.toks) > lead and t.toks[lead] in YESNO_STARTS
    it.order = list(t.toks)
    counts_ops = "how many" in joined and words & {
        "operators",
        "ops",
        "operator",
        "kernel",
        "kernels",
    }
    for i, tok in enumerate(t.toks[:-1]):
        nxt = t.toks[i + 1]
        if tok in ("kernel", "kernels") and nxt.isalpha() and nxt not in function_words():
            # "kernel fusion", "kernel launch overhead": a concept, named as one
            raise Unanswerable(
                f"I don't know what '{tok} {nxt}' means in this data; it holds operators "
                "(op_type) with their roofline times, not kernels"
            )
    if (
        counts_ops
        # "how many operator types are there": the inventory; "how many ops read their
        # weights from SRAM": the weights-location answer counts them
        and not words & {"types", "type"}
        and not (words & {"sram", "hbm"} and words & (WEIGHT_LOC_WORDS | {"weights", "weight"}))
    ):
        raise Unanswerable(
            "I do not count operators; ask which operators a configuration has "
            "('list the operator types'), which one takes longest, or what share of time a "
            "class of operators takes"
        )
    if words & TRAINING_WORDS or "fine tun" in joined or "pre train" in joined:
        hit = next((i for i, w in enumerate(t.toks) if w in TRAINING_WORDS), None)
        said = " ".join(t.orig[max(0, hit - 1) : hit + 2]) if hit is not None else "fine-tuning"
        raise Unanswerable(
            f"the data is inference only (prefill/decode); it has no training runs, so it "
            f"cannot answer about '{said}'"
        )
    for phrase in THIS_CONFIG:
        seq = phrase.split()
        for i in range(len(t.toks)):
            if t.match_seq(seq, i):
                t.take(i, len(seq))
                it.config_id = -1
    if it.config_id == -1:
        if context_config is None:
            raise Unanswerable(
                "no configuration is selected; select one, or name it "
                "(system, phase, batch, TP, data type)"
            )
        it.config_id = context_config
    _take_entities(t, it, lex, question)
    _take_op_class_phrase(t, it)
    for i in range(len(t.toks) - 1):
        if t.toks[i] == "performance" and t.toks[i + 1] in ("bottleneck", "bottlenecks"):
            t.take(i)  # "performance bottlenecks": bottlenecks
    if it.op_types or it.op_class:
        _take_layer_phrases(t, it, lex)
    if not it.yesno:
        before = list(t.used)
        try:
            it.constraints = cons.take(t, lex)
        except cons.ConstraintError as exc:
            raise Unanswerable(str(exc)) from exc
        if it.constraints:
            # the frame must not read "least" in "at least 2,000 tok/s" as a superlative
            kept = [tok for k, tok in enumerate(t.toks) if before[k] or not t.used[k]]
            words = set(kept)
            it.words, it.order, joined = words, kept, " ".join(kept)
    _take_aggregate(t, it)
    if it.op_types or it.op_class or words & OP_WORDS:
        # "utilisation of q_proj", "least efficient operators": derived operator metrics
        for _i, _n, m in t.find_phrases(dict(lex.op_metrics)):
            if m not in it.metrics:
                it.metrics.append(m)
    _take_thresholds(t, it)
    _take_filters(t, it, lex)
    _check_values(it, lex)
    _check_component_metric(t, lex)
    _take_part_dtypes(t, it, lex)
    if _asks_weight_location(it, words, joined):
        # "are the weights kept in SRAM or HBM": locations, not the capacity metrics
        for i, tok in enumerate(t.toks):
            if tok in ("sram", "hbm") and t.free(i):
                t.take(i)
    _take_capacity(t, it)
    _take_metrics(t, it, lex)
    _capacity_as_usage(it, words, lex)
    for i in range(1, len(t.toks) - 1):
        if (
            t.toks[i] == "output"
            and t.free(i)
            and t.toks[i - 1] == "per"
            and t.toks[i + 1] in ("token", "tokens")
        ):
            t.take(i)  # "latency per output token": TPOT, the decode step per token
    _take_hourly(t, it, lex)
    _take_dtypes(t, it, lex)
    _apply_per(t, it, lex)
    # keyword-only phrases that must not be mistaken for metrics or components
    for phrase in (
        "in memory",
        "in hbm",
        "in sram",
        "from sram",
        "from hbm",
        "sram or hbm",
        "hbm or sram",
        "on chip",
        "out of memory",
        "enough memory",
        "enough hbm",
        "fit in memory",
        "fits in memory",
        "weights",
        "weight",
    ):
        seq = phrase.split()
        for i in range(len(t.toks)):
            if t.match_seq(seq, i) and (
                it.op_types
                or it.op_class
                or words & (FIT_WORDS | WEIGHT_LOC_WORDS | OP_WORDS)
                or phrase in ("weights", "weight")
            ):
                t.take(i, len(seq))
    # "memory-bound", "compute bound", "communication-bound"
    for i, tok in enumerate(t.toks):
        if (
            tok in ("memory", "compute", "communication", "comm", "bandwidth")
            and i + 1 < len(t.toks)
            and t.toks[i + 1] in ("bound", "limited")
        ):
            t.take(i, 2)
    # the HBM capacity metric "memory" alone: the memory footprint of a config
    for kind_word, bound in (
        ("memory", "memory"),
        ("compute", "compute"),
        ("communication", "communication"),
        ("comm", "communication"),
        ("collective", "communication"),
        ("bandwidth", "memory"),
    ):
        if f"{kind_word} bound" in joined or f"{kind_word} limited" in joined:
            it.bound_filter = bound
            break
    free_words = {tok for i, tok in enumerate(t.toks) if t.free(i)}
    _decide_kind(it, words, joined, lex, free_words)
    if it.kind.startswith("op_"):
        # "how long does q_proj take": an operator's time, not the config's latency
        op_time = lex.metric("operators", "roofline_time_s")
        it.metrics = [
            op_time if (m.table, m.column) == ("configs", "latency_s") and op_time else m
            for m in it.metrics
        ]
    if it.kind != "sim_compare" and len(it.simulators) == 1 and not it.sweep:
        # "H100 decode latency in GenZ": that simulator's newest sweep
        it.sweep = lex.simulator_sweeps[it.simulators[0]][0]
    if it.kind == "count":
        _take_fit_filter(t, it)
    elif it.kind == "rank" and words & FIT_WORDS:
        _take_fit_filter(t, it)
        if it.fit_filter is False:
            raise Unanswerable(
                "rankings are over the configurations that fit in memory; to look at the ones "
                "that do not, ask how many do not fit, or which settings fit"
            )
    _check_leftovers(t, it, lex, question)
    if (it.op_types or it.op_class) and it.kind in _CONFIG_LEVEL_KINDS:
        named = "'" + "', '".join(it.said) + "'" if it.said else ", ".join(it.op_types)
        raise Unanswerable(
            f"the question names {named} but asks for a {it.kind} of whole configurations; "
            "I can't tell how the operator should change the answer (ask about the operator "
            "itself, e.g. its time, share or bound)"
        )
    if (
        it.kind.startswith("op_")
        and it.kind != "op_share"
        and (words & {"share", "fraction", "proportion", "ratio"})
    ):
        raise Unanswerable(
            "I can compute an operator's share of the step's time, FLOPs or bytes, but not the "
            "share or ratio this question asks for"
        )
    if it.kind == "op_bound":
        # "compute, memory or communication?": the three times decide it, not peak figures
        it.metrics = [m for m in it.metrics if m.table not in ("systems", "models")]
    if it.kind in ("op_weights", "op_diff"):
        # "are k_proj's weights in SRAM": a location, not the SRAM capacity
        it.metrics = [m for m in it.metrics if m.column not in ("sram_bytes", "hbm_bytes")]
    if it.kind.startswith("op_") and any(m.table in ("systems", "models") for m in it.metrics):
        m = next(m for m in it.metrics if m.table in ("systems", "models"))
        raise Unanswerable(
            f"{m.label} belongs to the whole {m.table[:-1]}, not to "
            f"{', '.join(repr(w) for w in it.said) or 'an operator'}; ask for one or the other"
        )
    if it.kind in ("lookup", "compare", "rank", "trend") and (
        words & {"sram", "hbm"}
        and not all(m.table == "systems" for m in it.metrics)
        and not any(m.column in _MEMORY_USE_COLUMNS for m in it.metrics)
    ):
        raise Unanswerable(
            "configurations cannot be filtered by where weights live (SRAM or HBM); that is "
            "recorded per operator: ask e.g. 'where do the weights live on "
            f"{next(iter(lex.systems.values())).name} decode batch 8 TP 8?'"
        )
    return it


_INVENTORY = {
    "systems": "systems",
    "system": "systems",
    "chips": "systems",
    "hardware": "systems",
    "accelerators": "systems",
    "gpus": "systems",
    "models": "models",
    "model": "models",
    "workloads": "models",
    "sweeps": "sweeps",
    "sweep": "sweeps",
    "phases": "phase",
    "batch sizes": "batch_size",
    "batches": "batch_size",
    "tp degrees": "tp",
    "tp values": "tp",
    "tensor parallel degrees": "tp",
    "data types": "weight_dtype",
    "dtypes": "weight_dtype",
    "precisions": "weight_dtype",
    "operators": "op_type",
    "operator types": "op_type",
    "op types": "op_type",
    "ops": "op_type",
    "chip counts": "num_chips",
}


def _inventory_target(it: Intent, words: set[str], joined: str, op_level: bool) -> str | None:
    """'which systems are in the data', 'list the batch sizes': what the store holds."""
    if it.metrics or it.direction or it.systems or it.models or it.op_types or it.op_class:
        return None
    if any((it.batches, it.tps, it.chips, it.phases, it.dtypes, it.config_id)):
        return None
    if not words & {
        "list",
        "which",
        "what",
        "show",
        "available",
        "there",
        "have",
        "contain",
        "contains",
        "included",
        "include",
        "exist",
        "modeled",
        "modelled",
        "simulated",
        "covered",
        "cover",
        "covers",
        "distinct",
        "unique",
    } and not ("how many" in joined or "number of" in joined):
        return None
    for phrase in sorted(_INVENTORY, key=lambda p: -len(p)):
        if re.search(rf"\b{phrase}\b", joined):
            return _INVENTORY[phrase]
    return None


# Kinds about whole configurations (an operator named in them would be dropped).
_CONFIG_LEVEL_KINDS = {k for k in KINDS if not k.startswith("op_")} | {
    "count",
    "aggregate",
    "inventory",
}
_COUNTABLE = {
    "config",
    "configs",
    "configuration",
    "configurations",
    "setting",
    "settings",
    "setups",
    "points",
    "runs",
    "combinations",
    "cases",
}


def _decide_kind(
    it: Intent, words: set[str], joined: str, lex: Lexicon, free_words: set[str]
) -> None:
    op_level = bool(it.op_types or it.op_class or free_words & OP_WORDS)
    for m in it.metrics:
        if m.phase and m.phase not in it.phases and m.phase in lex.phases:
            it.phases.append(m.phase)  # "mean TTFT": the prefill phase
    if len(it.simulators) >= 2 or (
        len(lex.simulators) >= 2 and words & {"simulators"} and words & (DIFF_WORDS | {"compare"})
    ):
        # "how much do GenZ and coview's roofline differ on H100 decode latency"
        it.kind = "sim_compare"
        return
    if (
        "why" in words
        and words & {"activation", "activations", "act"}
        and words & {"memory", "bytes", "space", "footprint", "more", "less"}
        and not it.op_types
    ):
        # "why do the activations need more memory on xPU-B": a data-type question first
        it.kind = "dtype_check"
        it.act_memory = True
        return
    if it.aggregate and not op_level:
        it.kind = "aggregate"
        return
    if it.kind == "count" and it.group_order:
        if it.metrics and not all(
            m.column in {c.column for c in it.constraints} for m in it.metrics
        ):
            # "which system gets the lowest TPOT among configs that fit": a ranking by that
            # metric, not a count of configs
            it.kind, it.group_by, it.group_order = "", [], None
        else:
            it.pareto_filter = bool(words & PARETO_WORDS) or "pareto optimal" in joined
            return
    # two systems and a comparative: "in how many configs is xPU-A faster than xPU-B"
    compares_two = len(it.systems) == 2 and bool(words & (FAST_WORDS | SLOW_WORDS | COMPARE_CLAIMS))
    if compares_two and ("how many" in joined or "number of" in joined) and not op_level:
        # "in how many matched configs (same batch, TP and dtype) is xPU-A faster than
        # xPU-B": a comparison at every matched configuration, whatever the clause names
        it.kind = "compare"
        if not it.metrics and words & (FAST_WORDS | SLOW_WORDS):
            it.metrics.append(_metric(lex, "configs", "latency_s"))
        it.metrics = [m for m in it.metrics if m is not None]
        return
    limited = {c.column for c in it.constraints}
    counted = re.search(r"\b(?:how many|number of|count)((?:\s+\w+){1,4})", joined)
    chip_nouns = {"chips", "gpus", "tpus", "devices", "accelerators", "chip"}
    counts_chips = bool(
        counted
        and set(counted.group(1).split()) & chip_nouns
        and not set(counted.group(1).split()) & _COUNTABLE
    )
    if (
        (
            "how many" in joined
            # "what fraction of xPU-B configs fit": a count with its share
            or (
                ("number of" in joined or "count" in words or words & SHARE_WORDS)
                and words & _COUNTABLE
            )
        )
        and not counts_chips  # "how many TPU v5e chips do I need": a chip count, not configs
        and not op_level
        and not compares_two  # "count the configs where A beats B": a comparison too
        and all(m.column in limited for m in it.metrics)
        and (words & _COUNTABLE or words & FIT_WORDS or it.constraints)
    ):
        it.pareto_filter = bool(words & PARETO_WORDS)
        # "how many configs hold less than 1 GB of KV cache": the metric is the constraint's
        it.metrics = []
        it.kind = "count"
        return
    polar = _polar_direction(it.order)
    if polar:
        it.direction = polar
    elif words & (BEST_WORDS | BEST_ADJ):
        it.direction = "best"
    elif words & (WORST_WORDS | WORST_ADJ):
        it.direction = "worst"
    elif words & HIGH_WORDS:
        it.direction = "high"
    elif words & LOW_WORDS:
        it.direction = "low"
    chip_price = (
        (
            words & {"chip", "chips", "system", "systems", "gpu", "gpus", "accelerator", "hardware"}
            or it.systems
        )
        and not words & {"token", "tokens", "million", "thousand"}
        and not words & {"config", "configs", "configuration", "configurations", "setting"}
        and not any((it.batches, it.tps, it.phases, it.dtypes, it.chips, it.models))
        and it.config_id is None
    )
    if not it.metrics and not op_level:
        if (it.hourly or chip_price) and words & COST_ADJ:
            # "which chip is the most expensive": its price, TCO per chip-hour
            it.metrics.append(
                _metric(lex, "systems", "tco_usd_per_chip_hour")
                if chip_price
                else _metric(lex, "configs", "tco_usd_per_hour")
            )
        elif words & (FAST_WORDS | SLOW_WORDS):
            it.metrics.append(_metric(lex, "configs", "latency_s"))
            it.direction = it.direction or ("worst" if words & SLOW_WORDS else "best")
        elif words & (CHEAP_WORDS | (COST_ADJ - {"rate", "pay", "spend", "charge"})):
            it.metrics.append(_metric(lex, "configs", "usd_per_1m_tokens"))
        elif words & EFFICIENT_WORDS:
            it.metrics.append(_metric(lex, "configs", "perf_per_tco"))
            it.direction = it.direction or "best"
    if words & FAST_WORDS and it.direction in (None, "high", "low"):
        it.direction = "best"
    if words & SLOW_WORDS and it.direction in (None, "high", "low"):
        it.direction = "worst"
    it.metrics = [m for m in it.metrics if m is not None]
    for m in it.metrics:
        if m.phase and m.phase not in it.phases and m.phase in lex.phases:
            it.phases.append(m.phase)

    if (
        "why" in words
        and (it.config_id is not None or (it.batches and it.tps))
        and (words & (SLOW_WORDS | {"fast", "long", "expensive", "slowly"}))
        and not it.op_types
        and len(it.systems) <= 1
    ):
        # "why is this config slow": where its time goes, and what bounds that operator
        it.kind, it.direction = "op_longest", "high"
        return
    if it.config_id is not None and it.systems and not op_level:
        # "compare this config with MI300X": the same settings on the named system(s)
        if not it.metrics:
            it.metrics.append(_metric(lex, "configs", "latency_s"))
        it.kind = "compare"
        return
    if it.threshold is not None:
        it.direction = None  # "faster than 20 tokens/s": a check against the target, not a rank
        if not it.metrics:  # "under 5 ms per token": the unit names the metric
            col = "latency_s" if it.threshold_unit == "s" else "throughput_tok_per_s"
            if (m := _metric(lex, "configs", col)) is not None:
                it.metrics.append(m)
    if (
        not it.metrics
        and (
            words & {"dtype", "dtypes", "precision", "precisions", "quantization"}
            or "data type" in joined
        )
        and (
            words
            & {
                "different",
                "differ",
                "same",
                "mismatch",
                "mismatched",
                "match",
                "consistent",
                "which",
                "what",
                "run",
                "ran",
            }
        )
        and not op_level
    ):
        it.kind = "dtype_check"
        return
    if it.capacity and it.threshold is None and not it.metrics and not op_level:
        it.kind = "fits"
        return
    if "why" in words and len(it.systems) >= 2 and not op_level:
        # "why is xPU-B slower than xPU-A": the operator that differs most, and where its
        # weights live
        it.kind = "op_diff"
        return
    stage1 = _stage1_analysis(it, words, joined)
    if stage1:
        # the VIEW paper's Section II Stage 1 questions about one config's operators
        it.kind = stage1
        return
    inv = _inventory_target(it, words, joined, op_level)
    if inv:
        it.kind, it.inventory = "inventory", inv
        return
    if words & {"pareto", "frontier"}:
        it.kind = "pareto"
        return
    if it.by_op_class:
        # "which op class eats the most time", "time per operator class"
        it.kind = "op_class_rank"
        it.direction = "low" if words & SHORTEST_WORDS and not words & LONGEST_WORDS else "high"
        return
    if op_level:
        if words & BOUND_WORDS or "memory bound" in joined or "compute bound" in joined:
            it.kind = "op_bound"
        elif (
            ("weights" in words or "weight" in words or _asks_weight_location(it, words, joined))
            and (words & WEIGHT_LOC_WORDS or words & {"sram", "hbm"})
            and not words & SHARE_WORDS
        ):
            it.kind = "op_weights"
        elif (
            (it.op_class or len(it.op_types) >= 2)
            and len(it.systems) == 2
            and (words & (OP_COMPARE_WORDS | {"less", "more", "most", "least"}) or "than" in words)
            and not words & (SHARE_WORDS | DIFF_WORDS)
        ):
            # "attention time on H100 vs MI300X": the class's summed time on each system and
            # their ratio (not the longest operator of the class)
            it.kind, it.direction, it.op_compare = "op_share", None, True
        elif (
            words & SHARE_WORDS
            or "how much of" in joined
            or (len(it.op_types) >= 2 and words & {"total", "combined", "together"})
        ):
            # "total attention time (attn_qk + attn_sv)": the named operators' summed time,
            # which the share answer states with its fraction of the step
            it.kind = "op_share"
        elif (
            len(it.op_types) == 1
            and len(it.systems) == 2
            and (words & OP_COMPARE_WORDS or "than" in words)
            and not words & (LONGEST_WORDS | SHORTEST_WORDS | DIFF_WORDS)
        ):
            # "how many times faster is q_proj on xPU-A than on xPU-B": one operator's time
            # on two systems and their ratio, not a ranking of the systems
            it.kind, it.direction, it.op_compare = "op_lookup", None, True
        elif words & DIFF_WORDS and len(it.systems) >= 2:
            it.kind = "op_diff"
        elif (
            it.op_types
            and (it.metrics or len(it.op_types) <= 3)
            and not (words & (LONGEST_WORDS | SHORTEST_WORDS))
        ):
            it.kind = "op_lookup"
        elif (
            it.op_types
            and len(it.systems) != 1
            and words & (LONGEST_WORDS | SHORTEST_WORDS | SLOW_WORDS | FAST_WORDS)
            and words & {"which", "what", "system", "systems", "chip", "chips"}
        ):
            # "which system's q_proj is slowest": rank the systems by that operator
            it.kind = "op_lookup"
            slow = words & (LONGEST_WORDS | SLOW_WORDS)
            it.direction = "high" if slow else "low"
        else:
            it.kind = "op_longest"
            if polar in ("best", "worst"):
                # "least expensive operator": the one that takes the least time
                it.direction = "low" if polar == "best" else "high"
            else:
                it.direction = (
                    "low" if words & SHORTEST_WORDS and not words & LONGEST_WORDS else "high"
                )
        return
    if (
        ("weights" in words or "weight" in words)
        and (words & WEIGHT_LOC_WORDS or words & {"sram", "hbm"})
        and not it.metrics
    ):
        it.kind = "op_weights"
        return
    if words & FIT_WORDS or any(p in joined for p in FIT_PHRASES):
        # "lowest TP at which it fits": a fit question; "largest KV cache per chip among
        # configs that fit": a ranking of that metric over the fitting configs
        if not it.direction or (words & {"tp", "chips", "chip", "parallelism"} and not it.metrics):
            it.kind = "fits"
            return
    if words & {"bottleneck", "bottlenecked", "bound"}:
        it.kind = "op_bound"
        return
    trend_dim = None
    which_point = any(
        f"{w} {d}" in joined for w in ("what", "which") for d in ("batch", "tp", "tensor")
    )
    if which_point and words & {
        "peak",
        "peaks",
        "optimal",
        "maximum",
        "max",
        "highest",
        "lowest",
        "minimum",
        "best",
        "worst",
        "sweet",
    }:
        # "at what batch size does throughput peak": the point of a trend
        if words & {"peak", "peaks", "maximum", "max", "highest"}:
            it.direction = "high"
        elif words & {"lowest", "minimum"}:
            it.direction = "low"
        else:
            it.direction = it.direction or "best"
        trend_words_hit = True
    else:
        trend_words_hit = False
    if (
        trend_words_hit
        or words & TREND_WORDS
        or any(
            f"{w} {d}" in joined
            for w in ("as", "with", "vs", "versus", "by", "per", "against", "each")
            for d in ("batch", "tp", "tensor")
        )
    ):
        if ("batch" in words or "batches" in words) and not it.batches:
            trend_dim = "batch_size"
        elif ("tp" in words or "tensor" in words or "parallelism" in words) and not it.tps:
            trend_dim = "tp"
        elif len(it.batches) >= 3:
            trend_dim = "batch_size"
        elif len(it.tps) >= 3:
            trend_dim = "tp"
    if trend_dim:
        it.kind = "trend"
        it.trend_dim = trend_dim
        return
    multi = (
        len(it.systems) >= 2
        or len(it.phases) >= 2
        or len(it.dtypes) >= 2
        or len(it.batches) >= 2
        or len(it.tps) >= 2
        or len(it.models) >= 2
    )
    table = it.metrics[0].table if it.metrics else None
    if table == "systems":
        it.kind = "property"
        return
    if table == "models":
        it.kind = "model_property"
        return
    if multi:
        it.kind = "compare"
        return
    if it.direction or words & {"which", "what system", "rank", "ranking"} and not it.systems:
        if it.direction or "which" in words:
            it.kind = "rank"
            it.direction = it.direction or "best"
            return
    it.kind = "lookup"


def _metric(lex: Lexicon, table: str, column: str) -> Metric | None:
    return lex.metric(table, column)


def polar_claim(order: list[str]) -> str | None:
    """'more economical' -> 'better', 'less expensive' -> 'better', 'more costly' -> 'worse'.

    A comparative in front of a goodness adjective is a claim about better or worse, not
    about a higher or lower number ("more economical" means a lower cost).
    """
    for i, tok in enumerate(order):
        if tok not in ("more", "less"):
            continue
        j = i + 1
        while j < len(order) and order[j] in ("cost", "power", "energy", "price", "very"):
            j += 1
        if j < len(order) and order[j] in GOOD_ADJ | BAD_ADJ:
            good = (order[j] in GOOD_ADJ) == (tok == "more")
            return "better" if good else "worse"
    return None


def _polar_direction(order: list[str]) -> str | None:
    """'most cost-efficient' / 'least expensive' -> 'best'; 'most expensive' -> 'worst'.

    A superlative in front of a goodness adjective means best or worst whatever the metric's
    scale (lowest cost, highest perf/TCO); only bare superlatives mean highest/lowest.
    """
    for i, tok in enumerate(order):
        if tok not in SUPERLATIVE_UP | SUPERLATIVE_DOWN:
            continue
        j = i + 1
        while j < len(order) and order[j] in (
            "cost",
            "power",
            "energy",
            "price",
            "economically",
            "very",
            "and",
        ):
            j += 1
        if j >= len(order):
            continue
        up = tok in SUPERLATIVE_UP
        if order[j] in GOOD_ADJ:
            return "best" if up else "worst"
        if order[j] in BAD_ADJ:
            return "worst" if up else "best"
    return None
