"""Recognise what-if questions: a change to a hardware parameter ("7% more SRAM", "twice
the HBM bandwidth", "if xPU-B had 3.2 TB/s"). The stored rows cannot answer them; they go to
re-simulation or are refused as a what-if, never misread as a batch size or TP degree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from coview.engine.offline.vocabfiles import vocabulary_file

_AMOUNT = re.compile(
    r"(?<![a-z0-9.])(?P<num>\d+(?:\.\d+)?)\s*(?P<unit>%|percent\b|x\b|times\b|"
    r"[kmgt]i?b(?:/s|ps)?\b|[kmgt]?b/s|w\b|kw\b|tflops?\b)",
    re.I,
)
_SEARCH = (
    re.compile(r"\b(need|needs|require|requires|required)\b"),
    re.compile(r"\bwhat\b.{0,40}\bwould\b.{0,30}\b(bring|get|make|take|reach|push)\b"),
)


@dataclass(frozen=True)
class Modification:
    """One hardware change a question asks about."""

    parameter: str  # systems column
    phrase: str  # how the question said it, e.g. "7% more SRAM"
    search: bool  # "how much ... would it need": a threshold search, not one change


@lru_cache(maxsize=1)
def _vocab() -> dict:
    return vocabulary_file("modifications.toml")


def find(question: str) -> Modification | None:
    """The hardware change the question asks about, or None for a question about the data."""
    v = _vocab()
    text = " ".join(question.lower().replace("-", " ").split())
    params = sorted(v["parameters"], key=len, reverse=True)
    hit = None
    for p in params:
        m = re.search(rf"\b{re.escape(p)}\b", text)
        if m:
            hit = (p, m)
            break
    if hit is None:
        return None
    pname, pm = hit
    window = text[max(0, pm.start() - 60) : pm.end() + 40]
    # "more than 100 GB of HBM" is a constraint on the data, not a change to the hardware
    window = re.sub(r"\b\w+ than\b", " ", window)
    words = v["words"]
    change = any(re.search(rf"\b{w}\b", window) for w in words["change"])
    amount = bool(_AMOUNT.search(window)) or any(
        re.search(rf"\b{w}\b", window) for w in words["multipliers"]
    )
    hypothetical = any(h in text for h in words["hypothetical"]) or bool(
        re.search(r"\bif\b.*\b(had|has|got)\b", text)
    )
    goal = re.search(r"\bto (match|reach|get|beat|pin|fit|equal|catch up|keep|hold|store)\b", text)
    search = (bool(_SEARCH[0].search(text)) and bool(change or goal)) or bool(
        _SEARCH[1].search(text)
    )
    if not (search or (amount and (change or hypothetical)) or (hypothetical and change)):
        return None
    return Modification(v["parameters"][pname], " ".join(question.split()).rstrip("?"), search)
