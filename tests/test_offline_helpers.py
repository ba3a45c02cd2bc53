"""Helpers shared by the offline ask tests: run a question, read numbers back, query truth.

The numbers in an answer are read with a parser written here (not the grounding module) and
compared with values from SQL written in each test (not the offline sqlgen).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from coview.engine.pipeline import Pipeline
from coview.engine.types import AskResult, Context, Turn

_PIPES: dict[Path, Pipeline] = {}

_TIME = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_BYTES = {"GB": 1e9, "MB": 1e6, "TB": 1e12, "KB": 1e3}


def ask(
    store: Path, question: str, history: list[Turn] | None = None, context: Context | None = None
) -> AskResult:
    if store not in _PIPES:
        _PIPES[store] = Pipeline(store, backend="offline")
    return _PIPES[store].ask(question, history=history or [], context=context)


def truth(store: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def one(store: Path, sql: str, params: list | None = None):
    rows = truth(store, sql, params)
    assert len(rows) == 1, rows
    return rows[0]


def times_in(text: str) -> list[float]:
    """Every duration in the text, in seconds."""
    return [
        float(n.replace(",", "")) * _TIME[u]
        for n, u in re.findall(r"(\d[\d,]*(?:\.\d+)?)\s?(ms|us|ns|s)\b", text)
    ]


def bytes_in(text: str) -> list[float]:
    return [
        float(n.replace(",", "")) * _BYTES[u]
        for n, u in re.findall(r"(\d[\d,]*(?:\.\d+)?)\s?(GB|MB|TB|KB)\b", text)
    ]


def plain_numbers(text: str) -> list[float]:
    return [float(n.replace(",", "")) for n in re.findall(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)", text)]


def percents_in(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"(\d+(?:\.\d+)?)%", text)]


def ratios_in(text: str) -> list[float]:
    return [float(n) for n in re.findall(r"(\d+(?:\.\d+)?)x\b", text)]


def close(value: float, candidates: list[float], rel: float = 0.006) -> bool:
    """True if some candidate equals value to the ~3 significant digits answers show."""
    return any(abs(c - value) <= rel * abs(value) + 1e-12 for c in candidates)


def assert_answered(r: AskResult) -> None:
    assert r.status == "answered", (r.status, r.answer)
    assert r.grounding.ok, r.grounding.unmatched
    assert r.sql and r.rows


def assert_refused(r: AskResult, *words: str) -> None:
    assert r.status == "refused", (r.status, r.answer)
    low = r.answer.lower()
    for w in words:
        assert w.lower() in low, (w, r.answer)
