"""What-if questions answered by re-simulation (Stage 3): "if we increase xPU-B's SRAM by
7%, would it pin the Q projection weights?", "what if H100 had twice the ICI bandwidth",
"how much SRAM does xPU-B need to match xPU-A".

The question is read like any other (every word must map: the system, settings, operators,
the parameter and the amount), then coview's roofline model re-runs the affected configs with
the change (coview.engine.whatif). The simulated rows are the evidence, labelled as simulated
with the exact change; a sweep from another simulator is refused with the reason.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from coview.engine.offline import interpretation
from coview.engine.offline import parser as p
from coview.engine.offline.lexicon import Lexicon
from coview.engine.offline.matcher import allowed_free, unknown_spans
from coview.engine.offline.modifications import Modification
from coview.engine.offline.vocabfiles import vocabulary_file
from coview.engine.types import Context, Evidence, Selection

_LESS = re.compile(r"\b(less|lower|smaller|reduce|reduced|decrease|decreased|cut|shrink)\b")


@lru_cache(maxsize=1)
def _whatif_words() -> frozenset[str]:
    """Words a what-if adds to a question about the data (vocabulary/modifications.toml)."""
    data = vocabulary_file("modifications.toml")
    return frozenset(data["words"]["whatif"])


@lru_cache(maxsize=1)
def _bytes() -> dict[str, float]:
    """Byte-unit factors (vocabulary/units.toml)."""
    data = vocabulary_file("units.toml")
    return data["bytes"]


def change_amount(question: str, parameter: str) -> tuple[str, float] | None:
    """(op, value) of the change: ('*', 1.07) for '7% more', ('=', 3.2e12) for '3.2 TB/s'."""
    q = question.lower()
    m = re.search(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:%|percent\b)", q)
    if m:
        f = float(m.group(1)) / 100
        return ("*", 1 - f if _LESS.search(q) else 1 + f)
    m = re.search(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(?:x|times)\b", q)
    if m:
        return ("*", float(m.group(1)))
    for word, f in (("twice", 2.0), ("double", 2.0), ("triple", 3.0), ("quadruple", 4.0),
                    ("half", 0.5), ("halve", 0.5)):  # fmt: skip
        if re.search(rf"\b{word}", q):
            return ("*", f)
    m = re.search(r"(?<![\w.])(\d+(?:\.\d+)?)\s*([kmgt]i?b)(/s|ps| per s)?\b", q)
    if m:
        return ("=", float(m.group(1)) * _bytes()[m.group(2)])
    m = re.search(r"(?<![\w.])(\d+(?:\.\d+)?)\s*(k?w)\b", q)
    if m and parameter == "tdp_w":
        return ("=", float(m.group(1)) * (1e3 if m.group(2) == "kw" else 1))
    return None


def read(question: str, lex: Lexicon) -> p.Intent:
    """Systems, settings and operators of a what-if question; every other word must be a
    function word or a what-if word, else the question is refused naming it."""
    it = p.Intent()
    t = p._Tokens(question, lex)
    it.corrections = list(t.fixes)
    p._take_entities(t, it, lex, question)
    p._take_filters(t, it, lex)
    p._check_values(it, lex)
    p._take_part_dtypes(t, it, lex)
    p._take_dtypes(t, it, lex)
    toks = t.toks
    extra = _whatif_words()
    for i, tok in enumerate(toks):
        if t.free(i) and (tok in extra or tok in allowed_free() or re.match(r"^\d", tok)):
            t.take(i)
    spans = unknown_spans(toks, [t.free(i) for i in range(len(toks))], lex, extra)
    if spans:
        s, e = spans[0]
        raise p.Unanswerable(f"I don't know what '{' '.join(t.orig[s:e])}' means in this what-if")
    return it


def _filters(it: p.Intent, context: Context, store_path: Path) -> dict[str, Any]:
    f: dict[str, Any] = {}
    if it.phases:
        f["phase"] = it.phases
    if it.batches:
        f["batch_size"] = it.batches
    if it.tps:
        f["tp"] = it.tps
    if it.dtypes:
        f["weight_dtype"] = it.dtypes
    if not f and context.config_id is not None:
        from coview.store.db import connect

        con = connect(store_path, read_only=True)
        try:
            row = con.execute(
                "SELECT phase, batch_size, tp, weight_dtype FROM configs WHERE config_id = ?",
                [int(context.config_id)],
            ).fetchone()
        finally:
            con.close()
        if row:
            f = {"phase": row[0], "batch_size": row[1], "tp": row[2], "weight_dtype": row[3]}
    return f


def select(
    question: str,
    mod: Modification,
    lex: Lexicon,
    store_path: Path,
    context: Context,
    previous: p.Intent | None = None,
) -> Selection:
    """The simulated evidence for a what-if or search question, or a refusal saying why."""
    from coview.engine import whatif as w

    it = read(question, lex)
    if previous is not None:
        # "would it pin the q_proj weights", "how much do I need": the conversation's
        # systems, operators and settings where this question names none
        if not it.systems:
            it.systems = list(previous.systems[-1:]) or []
        it.op_types = it.op_types or list(previous.op_types)
        others = [s for s in previous.systems if s not in it.systems]
        it.systems += others
        for f in ("phases", "batches", "tps", "dtypes"):
            setattr(it, f, getattr(it, f) or list(getattr(previous, f)))
    if not it.systems:
        raise p.Unanswerable("say which system the what-if changes (e.g. 'xPU-B')")
    system = lex.systems[it.systems[0]].name
    filters = _filters(it, context, store_path)
    try:
        if mod.search:
            return _search(question, mod, it, lex, store_path, system, filters)
        amount = change_amount(question, mod.parameter)
        if amount is None:
            raise p.Unanswerable(
                f"say by how much {mod.parameter} changes (e.g. '7% more', 'twice', '3.2 TB/s')"
            )
        res = w.whatif(store_path, system, {mod.parameter: amount}, filters=filters)
    except w.WhatIfError as exc:
        raise p.Unanswerable(f"the what-if cannot be simulated: {exc}") from exc
    return _selection(res, it, lex, "whatif", question)


def _search(question, mod, it, lex, store_path, system, filters) -> Selection:
    from coview.engine import whatif as w

    others = [lex.systems[s].name for s in it.systems[1:]]
    ops = list(it.op_types)
    q = question.lower()
    wants_match = bool(re.search(r"\b(match|equal|catch up|beat|as fast)\b", q))
    if ops and mod.parameter == "sram_bytes" and not wants_match:
        return _pin_search(store_path, system, ops, filters, it, lex, question)
    if others:
        res = w.search(store_path, system, mod.parameter, match_system=others[0], filters=filters)
        sel = (
            _selection(res.at_threshold, it, lex, "whatif_search", question)
            if res.reachable
            else None
        )
        rows = [
            (system, mod.parameter, res.baseline_value, res.threshold, res.ratio, others[0],
             res.target, res.evaluations)
        ]  # fmt: skip
        ev = Evidence(
            sql=f"-- simulated by bisection: {res.label}",
            columns=[
                "system",
                "parameter",
                "baseline_value",
                "threshold",
                "ratio",
                "match_system",
                "target",
                "evaluations",
            ],  # fmt: skip
            rows=rows,
        )
        if sel is None:
            return Selection(
                True,
                intent={"kind": "whatif_search", "reachable": False, "label": res.label},
                simulated=[ev],
            )
        sel.simulated.insert(0, ev)
        sel.intent.update({"kind": "whatif_search", "reachable": True, "label": res.label})
        return sel
    if ops and mod.parameter == "sram_bytes":
        return _pin_search(store_path, system, ops, filters, it, lex, question)
    raise p.Unanswerable(
        "say what the change must achieve: match another system (e.g. 'to match xPU-A') or "
        "keep an operator's weights in SRAM (e.g. 'to pin q_proj')"
    )


def _pin_search(store_path, system, ops, filters, it, lex, question) -> Selection:
    """Smallest SRAM (bisection over whole bytes) at which the operators' weights are pinned
    in every selected config, by re-simulation."""
    from coview.engine import whatif as w

    if not filters:
        raise p.Unanswerable(
            "say at which configuration to pin the weights (phase, batch, TP, data type), or "
            "select one: compute-bound operators are never pinned, so no single SRAM size "
            "answers for every configuration"
        )
    base = w.whatif(store_path, system, None, filters=filters)
    cap0 = float(base.changes[0]["before"]) if base.changes else None
    if cap0 is None:
        from coview.store.db import connect

        con = connect(store_path, read_only=True)
        try:
            cap0 = float(
                con.execute("SELECT sram_bytes FROM systems WHERE name = ?", [system]).fetchone()[0]
            )
        finally:
            con.close()

    def pinned(cap: float) -> bool:
        r = w.whatif(store_path, system, {"sram_bytes": ("=", cap)}, filters=filters)
        return all(
            o["whatif"]["weights_location"] == "sram" for o in r.operators if o["op_type"] in ops
        )

    if pinned(cap0):
        lo = hi = cap0
    else:
        lo, hi = cap0, cap0 * 2
        while not pinned(hi):
            lo, hi = hi, hi * 2
            if hi > cap0 * 2**20:
                raise p.Unanswerable("no SRAM size up to a million times the current one pins them")
        while hi - lo > 1:
            mid = float(int((lo + hi) / 2))
            lo, hi = (lo, mid) if pinned(mid) else (mid, hi)
    res = w.whatif(store_path, system, {"sram_bytes": ("=", hi)}, filters=filters)
    sel = _selection(res, it, lex, "whatif_search", question)
    sel.simulated.insert(
        0,
        Evidence(
            sql=f"-- simulated by bisection: smallest sram_bytes pinning {', '.join(ops)}",
            columns=["system", "parameter", "baseline_value", "threshold", "ratio", "operators"],
            rows=[(system, "sram_bytes", cap0, hi, hi / cap0, ", ".join(ops))],
        ),
    )
    sel.intent.update({"kind": "whatif_search", "reachable": True, "label": res.label, "pin": ops})
    return sel


def _selection(res, it: p.Intent, lex: Lexicon, kind: str, question: str) -> Selection:
    cfg_cols = ["config_id", "phase", "batch_size", "tp", "weight_dtype", "act_dtype",
                "latency_s_stored", "latency_s_simulated", "perf_per_tco_stored",
                "perf_per_tco_simulated", "fits_memory_stored", "fits_memory_simulated",
                "sram_used_bytes_stored", "sram_used_bytes_simulated"]  # fmt: skip
    rows = []
    for c in res.configs:
        b, s = c["baseline"], c["whatif"]
        rows.append((c["config_id"], c.get("phase", b.get("phase")), b["batch_size"], b["tp"],
                     b["weight_dtype"], b["act_dtype"], b["latency_s"], s["latency_s"],
                     b["perf_per_tco"], s["perf_per_tco"], b["fits_memory"], s["fits_memory"],
                     b.get("sram_used_bytes"), s.get("sram_used_bytes")))  # fmt: skip
    op_cols = ["config_id", "op_type", "weights_stored", "weights_simulated", "time_s_stored",
               "time_s_simulated", "sram_needed_bytes"]  # fmt: skip
    want = set(it.op_types)
    op_rows = [
        (o["config_id"], o["op_type"], o["baseline"]["weights_location"],
         o["whatif"]["weights_location"], o["baseline"]["roofline_time_s"] * o["baseline"]["count"],
         o["whatif"]["roofline_time_s"] * o["whatif"]["count"], o["baseline"].get("sram_needed_bytes"))
        for o in res.operators
        if (want and o["op_type"] in want) or (not want and len(res.configs) <= 4)
    ]  # fmt: skip
    ev = [Evidence(sql=f"-- {res.label}", columns=cfg_cols, rows=rows)]
    for ch in res.changes:
        ev.append(
            Evidence(
                sql=f"-- {res.label} (the change)",
                columns=["system", "parameter", "before", "after"],
                rows=[(res.system, ch.get("parameter"), ch.get("before"), ch.get("after"))],
            )
        )
    if op_rows:
        ev.append(Evidence(sql=f"-- {res.label} (operators)", columns=op_cols, rows=op_rows))
    change = res.changes[0] if res.changes else {}
    intent = {
        "kind": kind,
        "label": res.label,
        "system": res.system,
        "parameter": change.get("parameter"),
        "op_types": list(it.op_types),
        "question": question,
    }
    sel = Selection(True, intent=intent, simulated=ev)
    intent["metrics"] = [["configs", "latency_s"]]
    sel.interpretation = interpretation.build(it, intent, {}, [], lex)
    sel.interpretation["reading"] = f"what-if by re-simulation · {res.label}"
    sel.interpretation["simulated"] = True
    return sel
