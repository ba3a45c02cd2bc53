"""PRECISE's completeness rule: every word of a question maps to something the store knows.

The parser consumes the words it maps (entities, values, metric phrases, numbers with their
attribute and unit). What is left must be a function word or a word the question frame reads
(vocabulary/*.toml). Anything else makes the question a refusal that names the word and the
nearest terms the data has; a near miss of a known term (a typo) is corrected first and the
correction stated.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from coview.engine.offline.vocabfiles import vocabulary_file

if TYPE_CHECKING:
    from coview.engine.offline.lexicon import Lexicon

_NUMBER = re.compile(r"^\d+(\.\d+)?$")


@lru_cache(maxsize=1)
def _load() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    fw = vocabulary_file("function_words.toml")
    frame = vocabulary_file("frame_words.toml")
    function = frozenset(w for ws in fw["classes"].values() for w in ws)
    heads = frozenset(fw["span"]["head_nouns"])
    return function, frozenset(frame["words"]), heads


@lru_cache(maxsize=1)
def _prefixes() -> tuple[tuple[str, ...], ...]:
    fw = vocabulary_file("function_words.toml")
    return tuple(
        sorted((tuple(p.split()) for p in fw["prefixes"]["polite"]), key=len, reverse=True)
    )


def polite_prefix_length(toks: list[str]) -> int:
    """How many leading tokens only ask politely ("can you tell me", "please")."""
    n = 0
    while True:
        for p in _prefixes():
            if tuple(toks[n : n + len(p)]) == p and n + len(p) < len(toks):
                n += len(p)
                break
        else:
            return n


def function_words() -> frozenset[str]:
    """Closed-class words that carry no content (question words, articles, politeness...)."""
    return _load()[0]


def frame_words() -> frozenset[str]:
    """Words the question frame reads: comparatives, superlatives, kind keywords."""
    return _load()[1]


def allowed_free() -> frozenset[str]:
    """Words that may stay unconsumed by an entity, value or metric."""
    return _load()[0] | _load()[1]


_VOCAB_CACHE: dict[int, tuple[Lexicon, frozenset[str], tuple[str, ...]]] = {}


def _content_vocabulary(lex_id: int, lex: Lexicon) -> tuple[frozenset[str], tuple[str, ...]]:
    """(every word a question may use, the store's terms for 'nearest terms' hints)."""
    hit = _VOCAB_CACHE.get(lex_id)
    if hit is not None and hit[0] is lex:
        return hit[1], hit[2]
    out = _build_vocabulary(lex)
    if len(_VOCAB_CACHE) > 8:
        _VOCAB_CACHE.clear()
    _VOCAB_CACHE[lex_id] = (lex, *out)
    return out


def _build_vocabulary(lex: Lexicon) -> tuple[frozenset[str], tuple[str, ...]]:
    from coview.engine.offline import parser as p
    from coview.engine.offline.lexicon import (
        DTYPE_ALIASES,
        OP_ALIASES,
        OP_CLASS_ALIASES,
        OP_GROUPS,
        tokens,
    )

    words: set[str] = set(allowed_free())
    terms: set[str] = set()
    for phrase in lex.metrics:
        words.update(phrase.split())
        terms.add(phrase)
    for phrases in p.PHASE_PHRASES.values():
        for ph in phrases:
            words.update(tokens(ph))
    for op in lex.op_types:
        words.update(tokens(op))
        terms.add(op)
        for a in OP_ALIASES.get(op, ()):
            words.update(tokens(a))
    for g in OP_GROUPS:
        words.update(tokens(g))
    for c in lex.op_classes:
        terms.add(c)
        for a in OP_CLASS_ALIASES.get(c, ()):
            words.update(tokens(a))
    words.update(DTYPE_ALIASES)
    words.update(p._NUM_WORDS)  # "a batch of eight" is not a typo of "weight"
    for s in lex.systems.values():
        words.update(tokens(s.name))
        terms.add(s.name)
    for m in lex.models.values():
        words.update(tokens(m.name))
        terms.add(m.name)
    terms.update(lex.phases)
    terms.update(lex.dtypes)
    return frozenset(w for w in words if w.isalpha()), tuple(sorted(terms))


def vocabulary(lex: Lexicon) -> frozenset[str]:
    """Every alphabetic word the offline parser can map or read, for this store."""
    return _content_vocabulary(id(lex), lex)[0]


def nearest_terms(text: str, lex: Lexicon, limit: int = 3) -> list[str]:
    """The store's terms closest to `text` (metric phrases, systems, operators...)."""
    from rapidfuzz import fuzz, process

    terms = _content_vocabulary(id(lex), lex)[1]
    hits = process.extract(text, terms, scorer=fuzz.ratio, limit=limit * 3, score_cutoff=70)
    out: list[str] = []
    for term, _score, _ in hits:
        if term not in out:
            out.append(term)
        if len(out) == limit:
            break
    return out or [t for t in _GENERAL_TERMS if t in terms][:limit]


# What to point at when nothing the store has is close to an unknown word.
_GENERAL_TERMS = ("latency", "throughput", "perf per tco", "cost per million tokens", "power")


def correct_typos(toks: list[str], lex: Lexicon) -> tuple[list[str], list[tuple[str, str]]]:
    """Replace a word that is one edit (two for long words; swapping two neighbouring letters
    counts as one) from exactly one known word.

    Only alphabetic words of five letters or more are corrected, and only towards a unique
    nearest word, so an unknown concept ("prefix", "lora") is refused rather than bent into
    a known one. Returns the corrected tokens and (typed, corrected) pairs.
    """
    vocab = vocabulary(lex)
    targets = vocab - function_words()  # never bend a word into "stats" or "numbers"
    out, fixes = list(toks), []
    for i, tok in enumerate(toks):
        if len(tok) < 5 or not tok.isalpha() or tok in vocab:
            continue
        from rapidfuzz.distance import OSA

        limit = 1 if len(tok) < 10 else 2
        best: list[str] = []
        best_d = limit + 1
        for w in targets:
            if abs(len(w) - len(tok)) > limit or len(w) < 4:
                continue
            d = OSA.distance(tok, w, score_cutoff=limit)  # a swap of two letters is one edit
            if d < best_d:
                best, best_d = [w], d
            elif d == best_d:
                best.append(w)
        if len(best) == 1 and best_d <= limit:
            out[i] = best[0]
            fixes.append((tok, best[0]))
    return out, fixes


# Unit words a question may add after naming a metric of that unit ("weights per chip (GB)").
_UNIT_WORDS = {
    "s": {"s", "ms", "us", "sec", "secs", "seconds", "second", "milliseconds", "microseconds"},
    "B": {"b", "bytes", "gb", "gib", "mb", "mib", "tb", "tib", "kb"},
    "B/s": {"gb", "tb", "gib", "tib", "per", "s", "bandwidth"},
    "W": {"w", "watts", "watt", "kw"},
    "J": {"j", "joules", "kj"},
    "J/tok": {"j", "joules", "per", "tok", "token"},
    "tok/s": {"tok", "toks", "tokens", "per", "s", "sec", "second"},
    "usd/Mtok": {"usd", "dollars"},
    "usd/h": {"usd", "dollars"},
    "FLOP/s": {"flops", "tflops", "pflops"},
    "FLOP": {"flops", "gflop", "tflop", "gflops", "tflops"},
}


def unit_words(units: set[str]) -> frozenset[str]:
    """Unit words that are allowed because the question names a metric in that unit."""
    out: set[str] = set()
    for u in units:
        out |= _UNIT_WORDS.get(u, set())
    return frozenset(out)


@lru_cache(maxsize=1)
def _compounds() -> tuple[tuple[str, ...], ...]:
    fw = vocabulary_file("function_words.toml")
    return tuple(tuple(c.split()) for c in fw["compounds"]["unknown"])


def unknown_spans(
    toks: list[str], free: list[bool], lex: Lexicon, extra: frozenset[str] = frozenset()
) -> list[tuple[int, int]]:
    """(start, end) of each run of free words that map to nothing, widened to the compound
    it belongs to ("continuous batching", "paged attention"). `extra`: words allowed here."""
    allowed = allowed_free() | extra
    heads = _load()[2]
    spans: list[tuple[int, int]] = []
    n = len(toks)
    for c in _compounds():
        for i in range(n - len(c) + 1):
            if tuple(toks[i : i + len(c)]) == c and all(free[i : i + len(c)]):
                spans.append((i, i + len(c)))
    if spans:
        return spans
    i = 0
    while i < n:
        if not free[i] or toks[i] in allowed or _NUMBER.match(toks[i]):
            i += 1
            continue
        j = i
        while j < n and free[j] and toks[j] not in allowed and not _NUMBER.match(toks[j]):
            j += 1
        start, end = i, j
        if end < n and toks[end] in heads:
            end += 1
        if start > 0 and toks[start - 1] in heads and toks[start - 1] not in function_words():
            start -= 1
        spans.append((start, end))
        i = j
    return spans
