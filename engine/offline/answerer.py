"""Deterministic answer templates, one per question class, from the evidence rows only.

Every number written is an evidence value in a human unit, or a ratio, difference or
percentage of two evidence values, so the grounding check traces all of them. A metric that
is NULL in the rows the answer needs makes the answer a refusal, never a zero.
"""

from __future__ import annotations

from typing import Any

from coview.engine.offline.fmt import fmt_value, pct, ratio
from coview.engine.offline.lexicon import Lexicon, Metric
from coview.engine.types import Answer, Evidence, Selection


class NullValue(Exception):
    """A value the answer needs is NULL in the evidence."""


def _need(row: dict, col: str) -> Any:
    v = row.get(col)
    if v is None or (isinstance(v, float) and v != v):
        raise NullValue(col)
    return v


def describe(row: dict, lex: Lexicon | None = None, with_system: bool = True) -> str:
    """Name a config: 'H100, decode, batch 8, TP 8, bf16'."""
    parts = []
    if with_system and row.get("system") is not None:
        parts.append(str(row["system"]))
    if row.get("phase"):
        parts.append(str(row["phase"]))
    if row.get("batch_size") is not None:
        parts.append(f"batch {row['batch_size']}")
    if row.get("tp") is not None:
        parts.append(f"TP {row['tp']}")
    if (
        row.get("num_chips") is not None
        and row.get("tp") is not None
        and row["num_chips"] != row["tp"]
    ):
        parts.append(f"{row['num_chips']} chips")
    if row.get("weight_dtype"):
        parts.append(str(row["weight_dtype"]))
        for col, name in (("act_dtype", "activations"), ("kv_dtype", "KV cache")):
            if row.get(col) and row[col] != row["weight_dtype"]:
                parts.append(f"{name} {row[col]}")
    if row.get("input_len") is not None and lex is not None and len(lex.input_lens) > 1:
        parts.append(f"input {row['input_len']}")
    return ", ".join(parts)


def _m(lex: Lexicon, key: list) -> Metric:
    m = lex.metric(key[0], key[1])
    assert m is not None
    return m


def _notes(intent: dict) -> str:
    notes = intent.get("notes") or []
    return (" (" + "; ".join(notes) + ")") if notes else ""


class OfflineAnswerer:
    """Writes the answer from the selection's intent and the evidence, by template."""

    name = "offline"
    regenerates = False

    def __init__(self, lex: Lexicon) -> None:
        self.lex = lex

    def answer(
        self,
        question: str,
        selection: Selection,
        evidence: list[Evidence],
        feedback: str | None = None,
    ) -> Answer:
        intent = selection.intent
        kind = intent.get("kind", "")
        handler = getattr(self, f"_a_{kind}", None)
        if handler is None:
            return Answer(f"I have no answer template for {kind!r} questions.", refused=True)
        try:
            text = handler(intent, evidence)
        except (
            KeyError,
            IndexError,
            TypeError,
            ValueError,
            ZeroDivisionError,
            StopIteration,
            AttributeError,
        ) as exc:
            return Answer(
                f"I can't answer that from this data: the rows did not have the shape my "
                f"answer template needs ({type(exc).__name__}).",
                refused=True,
            )
        except NullValue as exc:
            return Answer(
                f"I can't answer that from this data: the data does not contain {exc.args[0]} "
                "for these rows (the simulator did not produce it).",
                refused=True,
            )
        ctx = context_note(intent, evidence)
        return Answer(ctx + "\n" + text if ctx else text)

    # -- config-level -------------------------------------------------------------------

    def _groups(self, rows: list[dict], intent: dict) -> list[list[dict]]:
        keys = intent.get("group_keys") or ["system"]
        out: dict[tuple, list[dict]] = {}
        for r in rows:
            out.setdefault(tuple(r.get(k) for k in keys), []).append(r)
        return list(out.values())

    def _group_label(self, row: dict, intent: dict) -> str:
        return group_text(row, intent.get("group_keys") or ["system"])

    def _a_lookup(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        metrics = [_m(self.lex, k) for k in intent["metrics"]]
        m0 = metrics[0]
        out = []
        for grp in self._groups(rows, intent):
            first = grp[0]
            n = first["configs_matched"]
            if n <= len(grp):
                for r in grp:
                    vals = ", ".join(
                        f"{m.label} {fmt_value(_need(r, m.column), m.unit)}" for m in metrics
                    )
                    fit = "" if r.get("fits_memory") is not False else " (does not fit in memory)"
                    out.append(f"{describe(r, self.lex)}: {vals}{fit}.")
                    tgt = r.get("question_target")
                    if tgt is not None and len(grp) == 1:
                        v = _need(r, m0.column)
                        default = "below" if m0.better != "high" else "above"
                        ok = claim_holds(intent.get("claim") or default, v, tgt, m0)
                        if ok is not None:
                            rel = "below" if v < tgt else "above" if v > tgt else "equal to"
                            out.insert(
                                0,
                                f"{'Yes' if ok else 'No'}: {m0.label} {fmt_value(v, m0.unit)} "
                                f"is {rel} the target of {fmt_value(tgt, m0.unit)}.",
                            )
            else:
                v = _need(first, m0.column)
                best = "best" if m0.better else "first"
                others = "".join(
                    f", {m.label} {fmt_value(_need(first, m.column), m.unit)}" for m in metrics[1:]
                )
                fitting = first["configs_fitting"]
                if not fitting:
                    span = "none of them fit in memory"
                else:
                    lo = _need(first, f"min_{m0.column}")
                    hi = _need(first, f"max_{m0.column}")
                    span = (
                        f"over the {fitting} that fit in memory it ranges from "
                        f"{fmt_value(lo, m0.unit)} to {fmt_value(hi, m0.unit)}"
                        if lo != hi
                        else f"it is the same in the {fitting} that fit in memory"
                    )
                out.append(
                    f"{self._group_label(first, intent)}: {n} configurations match; the {best} "
                    f"{m0.label} is {fmt_value(v, m0.unit)} ({describe(first, self.lex, False)}"
                    f"{others}); {span}."
                )
        return "\n".join(out) + _tail(intent)

    def _a_compare(self, intent: dict, ev: list[Evidence]) -> str:
        text = self._a_compare_one(intent, ev[:1])
        if intent.get("sweep_note") and len(ev) > 1 and ev[1].rows:
            r = ev[1].records()[0]
            a, b = r["system_a"], r["system_b"]
            text += (
                f"\nAcross all {r['pairs_matched']} matched configurations of the sweep that fit in memory: {a} "
                f"is better in {r['pairs_a_better']}, {b} in {r['pairs_b_better']}, equal in "
                f"{r['pairs_equal']}."
            )
        return text

    def _a_compare_one(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        m = _m(self.lex, intent["metrics"][0])
        bests = [g[0] for g in self._groups(rows, intent)]
        for b in bests:
            _need(b, m.column)
        lines = []
        for b in bests:
            pinned = b["configs_matched"] == 1
            how = (
                describe(b, self.lex)
                if pinned
                else f"{self._group_label(b, intent)}: best of {b['configs_matched']} configs "
                f"({describe(b, self.lex, False)})"
            )
            lines.append(f"{how}: {m.label} {fmt_value(b[m.column], m.unit)}")
        low_better = m.better != "high"
        ordered = sorted(bests, key=lambda r: r[m.column], reverse=not low_better)
        win, lose = ordered[0], ordered[-1]
        wv, lv = win[m.column], lose[m.column]
        wl, ll = self._group_label(win, intent), self._group_label(lose, intent)
        gap = fmt_value(abs(wv - lv), m.unit)  # "how much cheaper": the difference itself
        if wv == lv or fmt_value(wv, m.unit) == fmt_value(lv, m.unit):
            verdict = f"{wl} and {ll} are equal on {m.label}."
        elif m.column == "latency_s":
            verdict = (
                f"{wl} is faster: {ratio(lv, wv)} faster than {ll} ({gap} less, {pct(wv, lv)} "
                f"lower latency; {ll} takes {pct(lv, wv)} longer)."
            )
        elif m.better == "high":
            verdict = (
                f"{wl} is better: {ratio(wv, lv)} the {m.label} of {ll} ({gap} more, "
                f"{pct(wv, lv)} higher; {ll} is {pct(lv, wv)} lower)."
            )
        elif m.better == "low":
            verdict = (
                f"{wl} is better: {m.label} {gap} ({pct(wv, lv)}) lower than {ll} "
                f"({ratio(lv, wv)} of it on {ll}, i.e. {pct(lv, wv)} higher there)."
            )
        else:
            hi, lo = (win, lose) if wv > lv else (lose, win)
            verdict = (
                f"{self._group_label(hi, intent)} is {ratio(hi[m.column], lo[m.column])} "
                f"{self._group_label(lo, intent)} on {m.label} ({gap} more)."
            )
        if len(bests) > 2:
            verdict = "Best: " + verdict
        asked = _asked_extreme(intent)
        if asked and len(bests) == 2 and fmt_value(wv, m.unit) != fmt_value(lv, m.unit):
            # "which uses more power, A or B": the one with more first, whatever is better
            hi, lo = (win, lose) if wv > lv else (lose, win)
            first, second = (hi, lo) if asked == "more" else (lo, hi)
            word = "higher" if asked == "more" else "lower"
            verdict = (
                f"{self._group_label(first, intent)} has the {word} {m.label}: "
                f"{fmt_value(first[m.column], m.unit)} vs {fmt_value(second[m.column], m.unit)} "
                f"on {self._group_label(second, intent)} ({gap} {'more' if asked == 'more' else 'less'}, "
                f"{ratio(hi[m.column], lo[m.column])}). " + verdict
            )
        lead = self._yes_no(intent, bests, m, lambda r: self._group_label(r, intent))
        if not lead:
            lead = self._premise(intent, bests, m, lambda r: self._group_label(r, intent))
        warn = _apples_to_apples(bests, lambda r: self._group_label(r, intent))
        return lead + verdict + "\n" + "\n".join(lines) + warn + _tail(intent)

    def _yes_no(self, intent: dict, rows: list[dict], m: Metric, label) -> str:
        """'Yes. ' / 'No. ' when a yes/no question compares the first-named system."""
        if not intent.get("yesno") or len(rows) != 2 or not intent.get("mentioned"):
            return ""
        first = intent["mentioned"][0]
        subj = [r for r in rows if label(r) == first]
        other = [r for r in rows if label(r) != first]
        if len(subj) != 1 or len(other) != 1:
            return ""
        sv, ov = subj[0][m.column], other[0][m.column]
        holds = claim_holds(intent.get("claim"), sv, ov, m)
        if holds is None:
            return ""
        if holds and premise_claim(intent) and fmt_value(sv, m.unit) == fmt_value(ov, m.unit):
            holds = False  # a difference the answer cannot show is no difference
        return "Yes. " if holds else "No. "

    def _premise(self, intent: dict, rows: list[dict], m: Metric, label) -> str:
        """The false-premise lead for 'why is A slower than B' over two compared rows."""
        if len(rows) != 2 or not premise_claim(intent):
            return ""
        first, second = intent["mentioned"][0], intent["mentioned"][1]
        subj = [r for r in rows if label(r) == first]
        other = [r for r in rows if label(r) == second]
        if len(subj) != 1 or len(other) != 1:
            return ""
        at = f" ({describe(subj[0], self.lex, False)})"
        return premise_lead(
            intent, (first, subj[0][m.column]), (second, other[0][m.column]), m, at=at
        )

    def _a_rank(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        m = _m(self.lex, intent["metrics"][0])
        top = rows[0]
        _need(top, m.column)
        word = {"best": "best", "worst": "worst", "high": "highest", "low": "lowest"}[
            intent.get("direction") or "best"
        ]
        scope = "system" if intent.get("per_system") else "configuration"
        extra = [_m(self.lex, k) for k in intent["metrics"][1:]]
        extra = [x for x in extra if x.column != m.column and x.column in top]

        def more(r: dict) -> str:
            return "".join(f", {x.label} {fmt_value(_need(r, x.column), x.unit)}" for x in extra)

        head = (
            f"The {word} {scope} by {m.label} is {describe(top, self.lex)}: "
            f"{fmt_value(top[m.column], m.unit)}{more(top)}."
        )
        rest = []
        for r in rows[1:]:
            if r.get(m.column) is None:
                continue
            rest.append(f"  {describe(r, self.lex)}: {fmt_value(r[m.column], m.unit)}{more(r)}")
        subject = intent.get("subject")
        if subject:
            ok = any(r.get("system") == subject and r.get(m.column) == top[m.column] for r in rows)
            head = f"{'Yes' if ok else 'No'}: {head[0].lower()}{head[1:]}"
        text = head
        if rest:
            text += "\nThen:\n" + "\n".join(rest)
        return text + _tail(intent)

    def _a_property(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        metrics = [_m(self.lex, k) for k in intent["metrics"]]
        label = "system" if intent["kind"] == "property" else "model"
        lines = []
        for r in rows:
            vals = ", ".join(f"{m.label} {fmt_value(_need(r, m.column), m.unit)}" for m in metrics)
            lines.append(f"{r[label]}: {vals}.")
        lead = self._yes_no(intent, rows, metrics[0], lambda r: r[label])
        if intent.get("yesno") and metrics[0].unit == "text" and len(rows) == 1:
            # "is the H100 made by NVIDIA?": the value named in the question, if any
            col = metrics[0].column
            known = {str(v.vendor).lower() for v in self.lex.systems.values() if v.vendor}
            asked = known & set(intent.get("order") or [])
            if col == "vendor" and asked:
                ok = str(rows[0].get(col) or "").lower() in asked
                lines.insert(
                    0, f"{'Yes' if ok else 'No'}: {rows[0][label]} is made by {rows[0][col]}."
                )
        if lead and metrics[0].unit != "text":
            c = metrics[0].column
            top = max(rows, key=lambda r: r[c])
            low = min(rows, key=lambda r: r[c])
            lines.insert(
                0,
                f"{lead}{top[label]} has more {metrics[0].label} than {low[label]} "
                f"({ratio(top[c], low[c])}).",
            )
        elif intent.get("direction") and len(rows) > 1:
            m0 = metrics[0]
            d = intent["direction"]
            if d in ("best", "worst") and m0.better:
                word = "lowest" if (m0.better == "low") == (d == "best") else "highest"
            else:
                word = {"best": "best", "worst": "worst", "high": "highest", "low": "lowest"}[d]
            head = f"{rows[0][label]} has the {word} {m0.label}."
            subject = intent.get("subject")
            if subject:
                top_v = rows[0][m0.column]
                ok = any(r[label] == subject and r[m0.column] == top_v for r in rows)
                head = f"{'Yes' if ok else 'No'}: {head}"
            lines.insert(0, head)
        elif intent.get("claim") and len(rows) == 2 and metrics[0].unit != "text":
            # "which is cheaper per hour, H100 or MI300X?": name the one the claim picks
            m0 = metrics[0]
            claim = intent["claim"]
            if claim in ("better", "worse") and m0.better:
                want_low = (m0.better == "low") == (claim == "better")
            elif claim in ("cheaper", "less", "lower", "smaller", "fewer"):
                want_low = True
            elif claim in ("costlier", "pricier", "more", "higher", "larger", "bigger", "greater"):
                want_low = False
            else:
                want_low = None
            a, b = (_need(r, m0.column) for r in rows)
            if want_low is not None and a != b:
                win, lose = sorted(rows, key=lambda r: r[m0.column], reverse=not want_low)
                lines.insert(
                    0,
                    f"{win[label]} has the {'lower' if want_low else 'higher'} {m0.label}: "
                    f"{fmt_value(win[m0.column], m0.unit)} vs "
                    f"{fmt_value(lose[m0.column], m0.unit)} for {lose[label]}.",
                )
        return "\n".join(lines) + _tail(intent)

    _a_model_property = _a_property

    def _a_trend(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        m = _m(self.lex, intent["metrics"][0])
        dim = intent.get("trend_dim", "batch_size")
        dname = "batch" if dim == "batch_size" else "TP"
        out = []
        by: dict[str, list[dict]] = {}
        for r in rows:
            by.setdefault(r["system"], []).append(r)
        for sysname, pts in by.items():
            vals = [_need(p, m.column) for p in pts]
            a, b = pts[0], pts[-1]
            va, vb = vals[0], vals[-1]
            if len(pts) == 1:
                out.append(f"{sysname}: only {dname} {a[dim]} fits ({fmt_value(va, m.unit)}).")
                continue
            inc = all(y >= x for x, y in zip(vals, vals[1:], strict=False))
            dec = all(y <= x for x, y in zip(vals, vals[1:], strict=False))
            shape = (
                "rises steadily"
                if inc
                else "falls steadily"
                if dec
                else ("rises overall" if vb > va else "falls overall")
            )
            change = f"{ratio(vb, va)}" if va else ""
            series = ", ".join(
                f"{p[dim]}: {fmt_value(v, m.unit)}" for p, v in zip(pts, vals, strict=False)
            )
            line = (
                f"{sysname}: {m.label} {shape} from {fmt_value(va, m.unit)} at {dname} "
                f"{a[dim]} to {fmt_value(vb, m.unit)} at {dname} {b[dim]}"
                f"{' (' + change + ')' if change else ''}."
            )
            if not inc and not dec:
                peak = max(zip(vals, pts, strict=False), key=lambda x: x[0])
                low = min(zip(vals, pts, strict=False), key=lambda x: x[0])
                line += (
                    f" Not monotonic: highest {fmt_value(peak[0], m.unit)} at {dname} "
                    f"{peak[1][dim]}, lowest {fmt_value(low[0], m.unit)} at {dname} "
                    f"{low[1][dim]}."
                )
            out.append(line + f"\n  by {dname}: {series}")
        lead = ""
        if len(by) == 1:
            pts = next(iter(by.values()))
            vals = [p[m.column] for p in pts]
            words = set(intent.get("order") or [])
            up = words & {
                "up",
                "increasing",
                "rising",
                "growing",
                "increase",
                "increases",
                "rise",
                "rises",
                "grow",
                "grows",
                "higher",
                "more",
            }
            down = words & {
                "down",
                "decreasing",
                "falling",
                "dropping",
                "shrinking",
                "decrease",
                "decreases",
                "fall",
                "falls",
                "drop",
                "drops",
                "lower",
                "less",
                "shrink",
                "shrinks",
            }
            if intent.get("yesno") and (up or down) and len(pts) > 1:
                inc = all(y > x for x, y in zip(vals, vals[1:], strict=False))
                dec = all(y < x for x, y in zip(vals, vals[1:], strict=False))
                ok = inc if up and not down else dec
                lead = "Yes. " if ok else "No. "
            elif intent.get("direction") in ("high", "low") or (
                intent.get("direction") in ("best", "worst") and m.better
            ):
                if intent["direction"] in ("high", "low"):
                    want_low = intent["direction"] == "low"
                    word = "highest" if not want_low else "lowest"
                else:
                    want_low = (m.better == "low") == (intent["direction"] == "best")
                    word = intent["direction"]
                pick = (min if want_low else max)(pts, key=lambda p: p[m.column])
                if m.column == "latency_s":
                    word = "fastest" if want_low else "slowest"
                lead = (
                    f"The {word} is {dname} {pick[dim]}: {fmt_value(pick[m.column], m.unit)} "
                    f"({describe(pick, self.lex)}).\n"
                )
        return lead + "\n".join(out) + _tail(intent)

    def _a_inventory(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        target = intent.get("inventory")
        if target == "systems":
            items = [
                f"{r['system']} ({r['vendor']})" if r.get("vendor") else r["system"] for r in rows
            ]
            return f"The data has {len(rows)} systems: " + ", ".join(items) + "."
        if target == "models":
            return (
                f"The data has {len(rows)} model(s): " + ", ".join(r["model"] for r in rows) + "."
            )
        if target == "sweeps":
            return (
                f"The store has {len(rows)} sweep(s): "
                + ", ".join(f"{r['sweep']} ({r['sweep_id']})" for r in rows[:10])
                + ("" if len(rows) <= 10 else ", ...")
                + "."
            )
        if target == "op_type":
            return (
                f"The data has {len(rows)} operator types (in execution order): "
                + ", ".join(f"{r['op_type']} ({r['op_class']})" for r in rows)
                + "."
            )
        names = {
            "phase": "phases",
            "batch_size": "batch sizes",
            "tp": "TP degrees",
            "weight_dtype": "weight data types",
            "num_chips": "chip counts",
        }
        vals = [str(next(iter(r.values()))) for r in rows]
        return f"The data has {len(vals)} {names.get(target, target)}: " + ", ".join(vals) + "."

    def _a_dtype_check(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        by: dict[str, list[dict]] = {}
        for r in rows:
            by.setdefault(r["system"], []).append(r)
        lines = []
        combos = {}
        for sysname, grp in by.items():
            combos[sysname] = {(r["weight_dtype"], r["act_dtype"], r["kv_dtype"]) for r in grp}
            parts = [
                f"weights {r['weight_dtype']}, activations {r['act_dtype']}, KV cache "
                f"{r['kv_dtype']} ({r['configs']} configs)"
                for r in grp
            ]
            lines.append(f"{sysname}: " + "; ".join(parts) + ".")
        lead = ""
        subjects = intent.get("act_memory") or []
        if subjects and len(combos) >= 2:
            lead = self._act_memory_lead(subjects[0], by, intent)
        if len(combos) >= 2:
            same = len({frozenset(v) for v in combos.values()}) == 1
            if intent.get("yesno"):
                asks_diff = bool(
                    set(intent.get("order") or [])
                    & {"different", "differ", "mismatch", "mismatched"}
                )
                lead = "Yes. " if asks_diff != same else "No. "
            lead += (
                "They ran the same data types.\n"
                if same
                else "They did not run the same data types, so comparisons between them are "
                "not apples to apples.\n"
            )
        return lead + "\n".join(lines) + _tail(intent)

    def _act_memory_lead(self, subject: str, by: dict[str, list[dict]], intent: dict) -> str:
        """'Why do the activations need more memory on B': the activation types decide it."""
        mine = {r["act_dtype"] for r in by.get(subject, [])}
        others = {
            name: {r["act_dtype"] for r in grp} for name, grp in by.items() if name != subject
        }
        if len(mine) != 1 or not others:
            return ""
        (dt,) = mine
        size = _DTYPE_BYTES.get(dt)
        claim_more = bool(set(intent.get("order") or []) & {"more", "larger", "bigger"})
        out = []
        for name, dts in others.items():
            if len(dts) != 1:
                continue
            (odt,) = dts
            osize = _DTYPE_BYTES.get(odt)
            if odt == dt or size is None or osize is None:
                continue
            smaller = size < osize
            verdict = (
                "so the premise is false: they need less memory, not more"
                if claim_more and smaller
                else "which is why they need more memory"
                if claim_more
                else ""
            )
            out.append(
                f"{subject}'s activations are {dt} and {name}'s are {odt}: a {dt} value takes "
                f"{'fewer' if smaller else 'more'} bytes than a {odt} value (standard data-type "
                f"sizes, not data){', ' + verdict if verdict else ''}."
            )
        return ("\n".join(out) + "\n") if out else ""

    def _a_pareto(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        lat = self.lex.metric("configs", "latency_s")
        ppt = self.lex.metric("configs", "perf_per_tco")
        by: dict[tuple, list[dict]] = {}
        for r in rows:
            by.setdefault((r["system"], r["phase"]), []).append(r)
        out = []
        for (sysname, phase), pts in by.items():
            a, b = pts[0], pts[-1]
            out.append(
                f"{sysname} {phase}: {a['frontier_points']} Pareto-optimal configs, from "
                f"{fmt_value(_need(a, 'latency_s'), lat.unit)} at "
                f"{fmt_value(_need(a, 'perf_per_tco'), ppt.unit)} "
                f"({describe(a, self.lex, False)}) to "
                f"{fmt_value(_need(b, 'latency_s'), lat.unit)} at "
                f"{fmt_value(_need(b, 'perf_per_tco'), ppt.unit)} "
                f"({describe(b, self.lex, False)})."
            )
            if 2 < len(pts) <= 8:
                for p in pts[1:-1]:
                    out.append(
                        f"  {describe(p, self.lex, False)}: "
                        f"{fmt_value(_need(p, 'latency_s'), lat.unit)}, "
                        f"{fmt_value(_need(p, 'perf_per_tco'), ppt.unit)}"
                    )
        return "\n".join(out) + _tail(intent)

    def _a_pareto_member(self, intent: dict, ev: list[Evidence]) -> str:
        lat = self.lex.metric("configs", "latency_s")
        ppt = self.lex.metric("configs", "perf_per_tco")
        out = []
        for r in ev[0].records():
            on = _need(r, "is_pareto")
            why = (
                ""
                if on or r.get("fits_memory") is not False
                else " (it does not fit in memory, so it cannot be on the frontier)"
            )
            out.append(
                f"{'Yes' if on else 'No'}: {describe(r, self.lex)} is "
                f"{'' if on else 'not '}on the Pareto frontier{why} "
                f"(latency {fmt_value(_need(r, 'latency_s'), lat.unit)}, "
                f"{fmt_value(_need(r, 'perf_per_tco'), ppt.unit)})."
            )
        return "\n".join(out) + _tail(intent)

    def _a_fits(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        by: dict[tuple, list[dict]] = {}
        for r in rows:
            by.setdefault((r["system"], r["weight_dtype"]), []).append(r)
        out = []
        for (sysname, dt), grp in by.items():
            if any(r["all_fit"] is None and r["fits_unknown"] for r in grp):
                raise NullValue("fits_memory")
            yes = [r for r in grp if r["all_fit"]]
            some = [r for r in grp if r["any_fit"] and not r["all_fit"]]
            no = [r for r in grp if not r["any_fit"]]
            parts = []
            if yes:
                parts.append("fits at TP " + ", ".join(str(r["tp"]) for r in yes))
            for r in some:
                parts.append(
                    f"at TP {r['tp']}, {r['configs_fitting']} of {r['configs_matched']} "
                    f"configs fit, up to batch {r['max_fitting_batch']} (the KV cache grows "
                    f"with batch; batch {r['min_failing_batch']} does not fit in some)"
                )
            if no:
                r = no[0]
                parts.append(
                    "does not fit at TP "
                    + ", ".join(str(x["tp"]) for x in no)
                    + f" (at TP {r['tp']}: {fmt_value(_need(r, 'weight_bytes_per_chip'), 'B')} "
                    f"of weights per chip vs {fmt_value(_need(r, 'hbm_bytes'), 'B')} of HBM)"
                )
            if len(grp) == 1 and grp[0]["configs_matched"] == 1:
                r = grp[0]
                verdict = "fits" if r["all_fit"] else "does not fit"
                out.append(
                    f"{sysname}, {dt}, TP {r['tp']}: {verdict} in memory "
                    f"({fmt_value(_need(r, 'weight_bytes_per_chip'), 'B')} of weights and "
                    f"{fmt_value(_need(r, 'max_kv_bytes_per_chip'), 'B')} of KV cache per chip; "
                    f"HBM {fmt_value(_need(r, 'hbm_bytes'), 'B')})."
                )
            else:
                out.append(f"{sysname}, {dt}: " + "; ".join(parts) + ".")
        lead = ""
        if intent.get("yesno") and rows and not {"which", "what"} & set(intent.get("order") or []):
            if all(r["all_fit"] for r in rows):
                lead = "Yes. "
            elif not any(r["any_fit"] for r in rows):
                lead = "No. "
            else:
                lead = "Yes, but not in every configuration named (see below). "
        return lead + "\n".join(out) + _tail(intent)

    # -- operator-level -----------------------------------------------------------------

    def _by_config(self, rows: list[dict]) -> list[list[dict]]:
        by: dict[Any, list[dict]] = {}
        for r in rows:
            by.setdefault(r["config_id"], []).append(r)
        return list(by.values())

    def _a_op_longest(self, intent: dict, ev: list[Evidence]) -> str:
        out = []
        longest = intent.get("direction") != "low"
        for grp in self._by_config(ev[0].records()):
            grp = sorted(grp, key=lambda r: _need(r, "total_time_s"), reverse=longest)
            top = grp[0]
            word = "takes longest" if longest else "takes the least time"
            out.append(
                f"On {describe(top, self.lex)}, {top['op_type']} {word}: "
                f"{fmt_value(top['total_time_s'], 's')} per step ({top['count']} x "
                f"{fmt_value(_need(top, 'roofline_time_s'), 's')}), "
                f"{_share(top)} of the "
                f"{fmt_value(_need(top, 'config_op_time_s'), 's')} operator time."
            )
            times = {
                "compute": top.get("compute_time_s"),
                "memory": top.get("memory_time_s"),
                "communication": top.get("comm_time_s"),
            }
            if all(v is not None for v in times.values()):
                kind = _bound_of(times)
                rest = [k for k in times if k != kind]
                out.append(
                    f"  It is {kind}-bound: {kind} {fmt_value(times[kind], 's')} per instance vs "
                    f"{rest[0]} {fmt_value(times[rest[0]], 's')} and {rest[1]} "
                    f"{fmt_value(times[rest[1]], 's')}."
                )
            nxt = [f"{r['op_type']} {fmt_value(r['total_time_s'], 's')}" for r in grp[1:4]]
            if nxt:
                out.append("  Next: " + ", ".join(nxt) + ".")
        return "\n".join(out) + _tail(intent)

    def _a_op_class_rank(self, intent: dict, ev: list[Evidence]) -> str:
        low = intent.get("direction") == "low"
        out = []
        for grp in self._by_config(ev[0].records()):
            grp = sorted(grp, key=lambda r: _need(r, "class_time_s"), reverse=not low)
            top = grp[0]
            word = "takes the least time" if low else "takes the most time"
            out.append(
                f"On {describe(top, self.lex)}, the {top['op_class']} class {word}: "
                f"{fmt_value(top['class_time_s'], 's')} of the "
                f"{fmt_value(_need(top, 'config_op_time_s'), 's')} operator time per step "
                f"({fmt_value(_need(top, 'share_pct'), '%')})."
            )
            for r in grp:
                out.append(
                    f"  {r['op_class']} ({r['op_types']}): {fmt_value(r['class_time_s'], 's')}, "
                    f"{fmt_value(_need(r, 'share_pct'), '%')}"
                )
        return "\n".join(out) + _tail(intent)

    def _a_op_bottlenecks(self, intent: dict, ev: list[Evidence]) -> str:
        out = []
        bounds = {}
        for r in ev[1].records():
            bounds.setdefault(r["config_id"], []).append(r)
        for grp in self._by_config(ev[0].records()):
            grp = sorted(grp, key=lambda r: _need(r, "total_time_s"), reverse=True)
            top = [f"{r['op_type']} {_share(r)} ({_bound_of(_op_times(r))}-bound)" for r in grp[:3]]
            out.append(
                f"On {describe(grp[0], self.lex)}, the largest operators are "
                + ", ".join(top)
                + f" of the {fmt_value(_need(grp[0], 'config_op_time_s'), 's')} operator time."
            )
            by = sorted(bounds.get(grp[0]["config_id"], []), key=lambda b: -b["bound_time_s"])
            if by:
                out.append(
                    "  By bound (from the compute, memory and communication times): "
                    + "; ".join(
                        f"{b['time_bound']}-bound {fmt_value(b['bound_time_s'], 's')} "
                        f"({fmt_value(_need(b, 'bound_share_pct'), '%')}: {b['op_types']})"
                        for b in by
                    )
                    + "."
                )
        return "\n".join(out) + _tail(intent)

    def _a_op_collectives(self, intent: dict, ev: list[Evidence]) -> str:
        from coview.engine.why import collectives_in_order

        out = []
        for grp in self._by_config(ev[0].records()):
            found = []
            for r, prev in collectives_in_order(sorted(grp, key=lambda r: r["op_index"])):
                sent = (
                    f"sending {fmt_value(r['bytes_comm'], 'B')} per instance"
                    if r.get("bytes_comm")
                    else "moving no data"
                )
                found.append(
                    f"{r['op_type']} runs {r['count']} times per step, listed after "
                    f"{prev['op_type'] if prev else 'no operator'} in operator order, {sent}, "
                    f"{fmt_value(r['total_time_s'], 's')} per step ({_share(r)} of operator time)"
                )
            where = describe(grp[0], self.lex)
            if not found:
                out.append(f"{where} has no collective operators in the data.")
            else:
                out.append(f"On {where}: " + "; ".join(found) + ".")
        out.append(
            "The data lists each operator type once per layer with a count, so it says which "
            "operator a collective is listed after, not which operator each instance follows."
        )
        return "\n".join(out) + _tail(intent)

    def _a_op_flops_time(self, intent: dict, ev: list[Evidence]) -> str:
        out = []
        for grp in self._by_config(ev[0].records()):
            rows = [r for r in grp if r.get("config_flops")]
            if not rows:
                raise NullValue("flops")

            def gap(r: dict) -> float:
                return _need(r, "total_time_s") / _need(r, "config_op_time_s") - _need(
                    r, "total_flops"
                ) / _need(r, "config_flops")

            worst = max(rows, key=gap)
            out.append(
                f"On {describe(grp[0], self.lex)}, {worst['op_type']} takes {_share(worst)} of "
                f"the operator time for {_share(worst, 'total_flops', 'config_flops')} of the "
                "FLOPs: the largest gap between time and FLOPs."
            )
            for r in sorted(rows, key=lambda r: -_need(r, "total_time_s")):
                util = r.get("utilisation_pct")
                out.append(
                    f"  {r['op_type']}: {_share(r, 'total_flops', 'config_flops')} of FLOPs, "
                    f"{_share(r)} of time"
                    + (f", utilisation {fmt_value(util, '%')}" if util is not None else "")
                )
        return "\n".join(out) + _tail(intent)

    def _a_unmodelled(self, intent: dict, ev: list[Evidence]) -> str:
        from coview.engine.why import REFERENCE_OPS, classify_reference

        have = {str(r["op_type"]).lower() for r in ev[0].records()}
        _modelled, missing, not_applicable = classify_reference(have, intent.get("max_tp") or 1)
        names = ", ".join(f"{m['name']} ({m['what']})" for m in missing) or "none"
        text = (
            f"Compared with a reference list of decoder-only transformer operators (outside "
            f"knowledge from coview's {REFERENCE_OPS.name}, not store data), the data does "
            f"not model: {names}."
        )
        if not_applicable:
            text += " Not applicable here: " + ", ".join(m["name"] for m in not_applicable) + "."
        text += "\nThe data models: " + ", ".join(sorted(have)) + "."
        return text

    def _a_op_rank(self, intent: dict, ev: list[Evidence]) -> str:
        m = _m(self.lex, intent["metrics"][0])
        low = intent.get("direction") == "low"
        out = []
        for grp in self._by_config(ev[0].records()):
            grp = [r for r in grp if r.get(m.column) is not None]
            grp.sort(key=lambda r: r[m.column], reverse=not low)
            if not grp:
                raise NullValue(m.label)
            top = grp[0]
            out.append(
                f"On {describe(top, self.lex)}, {top['op_type']} has the "
                f"{'lowest' if low else 'highest'} {m.label}: "
                f"{fmt_value(top[m.column], m.unit)} ({fmt_value(top['total_time_s'], 's')} per "
                "step)."
            )
            nxt = [f"{r['op_type']} {fmt_value(r[m.column], m.unit)}" for r in grp[1:5]]
            if nxt:
                out.append("  Next: " + ", ".join(nxt) + ".")
        return "\n".join(out) + _tail(intent)

    def _a_op_lookup(self, intent: dict, ev: list[Evidence]) -> str:
        metrics = [
            _m(self.lex, k)
            for k in intent.get("metrics") or []
            if k[0] == "operators" and k[1] != "roofline_time_s"
        ]
        out = []
        groups = self._by_config(ev[0].records())
        lead = self._op_premise(intent, groups) or self._op_ratio(intent, groups)
        if lead:
            out.append(lead.rstrip("\n"))
        elif intent.get("direction") and len(groups) > 1:
            slow = intent["direction"] != "low"
            groups.sort(key=lambda g: _need(g[0], "total_time_s"), reverse=slow)
            top = groups[0][0]
            tied = [
                g[0]["system"]
                for g in groups
                if fmt_value(g[0]["total_time_s"], "s") == fmt_value(top["total_time_s"], "s")
            ]
            if len(tied) == len(groups):
                # no system is slower when all take the same time as shown: say so
                out.append(
                    f"{top['op_type']} takes the same time on {' and '.join(tied)}: "
                    f"{fmt_value(top['total_time_s'], 's')} per step."
                )
            else:
                out.append(
                    f"{top['system']}'s {top['op_type']} is {'slowest' if slow else 'fastest'}: "
                    f"{fmt_value(top['total_time_s'], 's')} per step "
                    f"({describe(top, self.lex, False)})."
                )

        def op_line(r: dict) -> str:
            asked = "".join(
                f"{m.label} {fmt_value(_need(r, m.column), m.unit)} per instance; " for m in metrics
            )
            line = (
                f"{r['op_type']}: {asked}{fmt_value(_need(r, 'roofline_time_s'), 's')} per "
                f"instance x {r['count']} = {fmt_value(r['total_time_s'], 's')} per step "
                f"({_share(r)} of operator time)"
            )
            if r.get("weights_location"):
                line += f", weights in {str(r['weights_location']).upper()}"
            return line + "."

        if len(groups) == 1 and len(groups[0]) == 1 and not lead:
            # one operator of one config: the answer is one sentence, figures first
            r = groups[0][0]
            out.append(f"On {describe(r, self.lex)}, {op_line(r)}")
            return "\n".join(out) + _tail(intent)
        for grp in groups:
            out.append(f"On {describe(grp[0], self.lex)}:")
            out.extend(f"  {op_line(r)}" for r in grp)
        return "\n".join(out) + _tail(intent)

    def _op_ratio(self, intent: dict, groups: list[list[dict]]) -> str:
        """'q_proj is 8.26x faster on xPU-A than on xPU-B: 40.2 us vs 332 us per step at ...'
        for one operator compared on two systems (a false premise is _op_premise's)."""
        ops = intent.get("op_types") or []
        names = intent.get("mentioned") or []
        if not intent.get("op_compare") or len(names) != 2:
            return ""
        by_sys = _one_op_per_system(ops, groups)
        if by_sys is None or set(by_sys) != set(names):
            return ""
        a, b = names
        ra, rb = by_sys[a], by_sys[b]
        ta, tb = _need(ra, "total_time_s"), _need(rb, "total_time_s")
        at = _same_setting(ra, rb, self.lex)
        locs = ""
        if ra.get("weights_location") and rb.get("weights_location"):
            la, lb = str(ra["weights_location"]).upper(), str(rb["weights_location"]).upper()
            locs = (
                f" Its weights are in {la} on both."
                if la == lb
                else f" Its weights are in {la} on {a} and in {lb} on {b}."
            )
        sa, sb = fmt_value(ta, "s"), fmt_value(tb, "s")
        claim = (
            intent.get("claim") if intent.get("claim") in ("faster", "quicker", "slower") else None
        )
        if sa == sb:
            head = "No: " if intent.get("yesno") and claim else ""
            return f"{head}{ops[0]} takes the same time on {a} and {b}: {sa} per step{at}.{locs}"
        if claim == "slower":
            fast, slow = (b, a) if ta > tb else (a, b)
            word = "slower"
            subject, other = slow, fast
        else:
            fast, slow = (a, b) if ta < tb else (b, a)
            word = "faster"
            subject, other = fast, slow
        f = {a: sa, b: sb}
        big, small = max(ta, tb), min(ta, tb)
        yes = "Yes: " if intent.get("yesno") and claim else ""
        return (
            f"{yes}{ops[0]} is {ratio(big, small)} {word} on {subject} than on {other}: "
            f"{f[subject]} vs {f[other]} per step{at}.{locs}"
        )

    def _premise_metric(self, intent: dict) -> Metric | None:
        """Which config metric a why-question's comparative is about: speed is latency,
        price words are cost per million tokens, better/worse otherwise is perf per TCO."""
        claim = premise_claim(intent)
        words = set(intent.get("order") or [])
        if claim is None:
            return None
        if claim in ("faster", "quicker", "slower"):
            col = "latency_s"
        elif claim in ("cheaper", "costlier", "pricier") or words & _PRICE_WORDS:
            col = "usd_per_1m_tokens"
        elif claim in ("better", "worse"):
            col = "perf_per_tco"
        else:
            return None
        return self.lex.metric("configs", col)

    def _op_premise(self, intent: dict, groups: list[list[dict]]) -> str:
        """'xPU-B's q_proj is not slower than xPU-A's here: both take 330 us per step at ...'
        when one operator type is compared on two systems and the claim does not hold."""
        ops = intent.get("op_types") or []
        time_m = self.lex.metric("configs", "latency_s")
        by_sys = _one_op_per_system(ops, groups)
        if by_sys is None or time_m is None or not premise_claim(intent):
            return ""
        a, b = intent["mentioned"][0], intent["mentioned"][1]
        if a not in by_sys or b not in by_sys:
            return ""
        ra, rb = by_sys[a], by_sys[b]
        at = " per step" + _same_setting(ra, rb, self.lex)
        return premise_lead(
            intent,
            (a, _need(ra, "total_time_s")),
            (b, _need(rb, "total_time_s")),
            time_m,
            what=ops[0],
            verb="take",
            at=at,
        )

    def _a_op_bound(self, intent: dict, ev: list[Evidence]) -> str:
        out = []
        want = intent.get("bound_filter")
        which = want and "which" in (intent.get("order") or []) and not intent.get("op_types")
        lead = self._bound_verdict(intent, ev[0].records())
        if lead:
            out.append(lead)
        for grp in self._by_config(ev[0].records()):
            lines, hits = [], []
            for r in grp:
                times = _op_times(r)
                kind = _bound_of(times)
                others = [k for k in times if k != kind]
                line = (
                    f"  {r['op_type']} is {kind}-bound: {kind} "
                    f"{fmt_value(times[kind], 's')} vs {others[0]} "
                    f"{fmt_value(times[others[0]], 's')} and {others[1]} "
                    f"{fmt_value(times[others[1]], 's')}."
                )
                if which and kind != want:
                    continue
                hits.append(r["op_type"])
                lines.append(line)
            head = f"On {describe(grp[0], self.lex)} (per instance):"
            if which:
                head = (
                    f"On {describe(grp[0], self.lex)}, {want}-bound operators: "
                    + (", ".join(hits) if hits else "none")
                    + " (per instance times):"
                )
            out.append(head)
            out.extend(lines)
        return "\n".join(out) + _tail(intent)

    def _bound_verdict(self, intent: dict, rows: list[dict]) -> str:
        """'Yes: attn_sv is memory-bound on ...' for 'is attn_sv memory bound ...?'."""
        want = intent.get("bound_filter")
        order = intent.get("order") or []
        ops = intent.get("op_types") or []
        kinds = {"compute", "memory", "communication", "comm", "collective"} & set(order)
        if not (intent.get("yesno") and want and ops) or (len(kinds) > 1 and "or" in order):
            return ""
        named = [r for r in rows if r.get("op_type") in ops]
        if not named:
            return ""
        parts, ok = [], True
        for r in named:
            times = _op_times(r)
            kind = _bound_of(times)
            ok = ok and kind == want
            rest = [k for k in times if k != kind]
            parts.append(
                f"{r['op_type']} is {kind}-bound on {describe(r, self.lex)}: {kind} "
                f"{fmt_value(times[kind], 's')} vs {rest[0]} {fmt_value(times[rest[0]], 's')} "
                f"and {rest[1]} {fmt_value(times[rest[1]], 's')} per instance"
            )
        return f"{'Yes' if ok else 'No'}: " + "; ".join(parts) + "."

    def _weights_verdict(self, intent: dict, rows: list[dict]) -> str:
        """'Yes'/'No' for 'are k_proj's weights in SRAM?' (one location named, not a choice)."""
        order = intent.get("order") or []
        locs = {"sram", "hbm"} & set(order)
        if not intent.get("yesno") or len(locs) != 1:
            return ""
        want = next(iter(locs))
        ops = intent.get("op_types") or []
        named = [
            r
            for r in rows
            if (r.get("op_type") in ops if ops else r.get("weights_location") is not None)
        ]
        if not named:
            return ""
        for r in named:
            if r.get("weights_location") is None and (
                r.get("bytes_weight") is None or r["bytes_weight"] > 0
            ):
                raise NullValue("weights_location")
        ok = all(str(r.get("weights_location") or "").lower() == want for r in named)
        return "Yes. " if ok else "No. "

    def _a_op_weights(self, intent: dict, ev: list[Evidence]) -> str:
        out = []
        lead = self._weights_verdict(intent, ev[0].records())
        for grp in self._by_config(ev[0].records()):
            with_w = [r for r in grp if r.get("weights_location") is not None]
            if not with_w:
                if any(r.get("bytes_weight") is None or r["bytes_weight"] > 0 for r in grp):
                    raise NullValue("weights_location")
                out.append(
                    f"On {describe(grp[0], self.lex)}: "
                    + ", ".join(r["op_type"] for r in grp)
                    + " read no weights."
                )
                continue
            locs: dict[str, list[str]] = {}
            for r in with_w:
                locs.setdefault(str(r["weights_location"]).upper(), []).append(r["op_type"])
            parts = [f"{', '.join(ops)} from {loc}" for loc, ops in locs.items()]
            line = f"On {describe(grp[0], self.lex)}, weights are read: " + "; ".join(parts) + "."
            order = intent.get("order") or []
            asked = [loc for loc in ("SRAM", "HBM") if loc.lower() in order]
            if "how" in order and "many" in order and len(asked) == 1:
                # "how many ops read their weights from SRAM": the count first
                ops = locs.get(asked[0], [])
                line = (
                    f"{len(ops)} of the {len(with_w)} operator types with weights read them "
                    f"from {asked[0]} on {describe(grp[0], self.lex)}"
                    + (f": {', '.join(ops)}." if ops else ".")
                    + "\n"
                    + line
                )
            nul = [r["op_type"] for r in grp if r.get("weights_location") is None]
            if nul:
                line += f" {', '.join(nul)}: no weights location (no weights)."
            out.append(line)
        return lead + "\n".join(out) + _tail(intent)

    def _a_op_share(self, intent: dict, ev: list[Evidence]) -> str:
        what = intent.get("share_label", "the selected operators")
        out = []
        of = intent.get("share_of")
        if of:
            unit = "FLOP" if of == "flops" else "B"
            for r in ev[0].records():
                out.append(
                    f"On {describe(r, self.lex)}, {what} do "
                    f"{fmt_value(_need(r, of + '_share_pct'), '%')} of the "
                    f"{'FLOPs' if of == 'flops' else 'bytes moved'}: "
                    f"{fmt_value(_need(r, 'selected_' + of), unit)} of "
                    f"{fmt_value(_need(r, 'config_' + of), unit)} per step, in "
                    f"{fmt_value(_need(r, 'share_pct'), '%')} of the operator time "
                    f"({fmt_value(_need(r, 'selected_time_s'), 's')} of "
                    f"{fmt_value(_need(r, 'config_op_time_s'), 's')})."
                )
            return "\n".join(out) + _tail(intent)
        lead = self._class_ratio(intent, ev[0].records(), what)
        if lead:
            out.append(lead)
        for r in ev[0].records():
            out.append(
                f"On {describe(r, self.lex)}, {what} take "
                f"{_share(r, 'selected_time_s')} of operator time: "
                f"{fmt_value(_need(r, 'selected_time_s'), 's')} of "
                f"{fmt_value(_need(r, 'config_op_time_s'), 's')} per step."
            )
        return "\n".join(out) + _tail(intent)

    def _class_ratio(self, intent: dict, rows: list[dict], what: str) -> str:
        """'attention operators take 1.58x as long on H100 as on MI300X: ...' for a group of
        operators compared on two systems at the same settings."""
        names = intent.get("mentioned") or []
        if not intent.get("op_compare") or len(rows) != 2 or len(names) != 2:
            return ""
        by = {r["system"]: r for r in rows}
        if set(by) != set(names):
            return ""
        a, b = names
        ta, tb = _need(by[a], "selected_time_s"), _need(by[b], "selected_time_s")
        at = _same_setting(by[a], by[b], self.lex)
        if fmt_value(ta, "s") == fmt_value(tb, "s"):
            return f"{what} take the same time on {a} and {b}: {fmt_value(ta, 's')} per step{at}."
        slow, fast = (a, b) if ta > tb else (b, a)
        t = {a: ta, b: tb}
        return (
            f"{fast} is faster on {what}: {fmt_value(t[fast], 's')} vs "
            f"{fmt_value(t[slow], 's')} per step on {slow}{at} ({slow} takes "
            f"{ratio(t[slow], t[fast])} as long)."
        )

    def _a_op_diff(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        named = intent.get("op_types") or []
        if named:  # "why is the Q projection runtime different": that operator first
            rows.sort(key=lambda r: r["op_type"] not in named)
        cfgs = {r["system"]: r for r in ev[1].records()} if len(ev) > 1 else {}
        top = rows[0]
        a, b = top["system_a"], top["system_b"]
        ta, tb = _need(top, "time_a_s"), _need(top, "time_b_s")
        cfg = "; ".join(f"{describe(r, self.lex)}" for r in cfgs.values())
        lead = ""
        pm = self._premise_metric(intent)
        if pm is not None and a in cfgs and b in cfgs:
            # "why is B slower than A": check that B is slower at all, on the configs' values
            first, second = intent["mentioned"][0], intent["mentioned"][1]
            lead = premise_lead(
                intent,
                (first, cfgs.get(first, {}).get(pm.column)),
                (second, cfgs.get(second, {}).get(pm.column)),
                pm,
            )
        if ta == tb:
            return lead + (
                f"No operator differs between {a} and {b}: every operator type takes the "
                f"same time on both" + (f" ({cfg})" if cfg else "") + "." + _tail(intent)
            )
        most = "" if top["op_type"] in (intent.get("op_types") or []) else " most"
        text = lead + (
            f"{top['op_type']} differs{most} between {a} and {b}: "
            f"{fmt_value(ta, 's')} on {a} vs {fmt_value(tb, 's')} on {b} per step "
            f"(a difference of {fmt_value(abs(tb - ta), 's')}"
            + (f", {ratio(max(ta, tb), min(ta, tb))}" if min(ta, tb) > 0 else "")
            + ")."
        )
        wa, wb = top.get("weights_a"), top.get("weights_b")
        if wa and wb and wa != wb:
            need = _sram_need_text(top, a, b)
            where = (
                f"Its weights are read from {str(wa).upper()} on {a} but from "
                f"{str(wb).upper()} on {b}."
            )
            if need and "sram" in (intent.get("order") or []):
                # "why can A keep the weights in SRAM while B cannot": the capacity answer
                # belongs in the answer line
                text = text.rstrip(".") + f"; {where[0].lower()}{where[1:]}{need}"
            else:
                text += f"\n{where}{need}"
        if cfg:
            text += f"\nConfigs compared: {cfg}."
            text += _apples_to_apples(list(cfgs.values()), lambda r: r["system"])
        nxt = [
            f"{r['op_type']} ({fmt_value(r['time_a_s'], 's')} vs {fmt_value(r['time_b_s'], 's')})"
            for r in rows[1:3]
            if r.get("time_a_s") is not None and r.get("time_b_s") is not None
        ]
        if nxt:
            text += "\nNext largest differences: " + ", ".join(nxt) + "."
        return text + _tail(intent)

    # -- what-if by re-simulation ---------------------------------------------------------

    def _whatif_lines(self, intent: dict, ev: list[Evidence]) -> list[str]:
        cfgs = [r for e in ev if "latency_s_simulated" in e.columns for r in e.records()]
        ops = [r for e in ev if "weights_simulated" in e.columns for r in e.records()]
        system = intent.get("system", "")
        out = []
        if len(cfgs) == 1:
            c = cfgs[0]
            out.append(
                f"At {c['phase']}, batch {c['batch_size']}, TP {c['tp']}, {c['weight_dtype']}: "
                f"latency {fmt_value(c['latency_s_stored'], 's')} stored -> "
                f"{fmt_value(c['latency_s_simulated'], 's')} simulated; perf/TCO "
                f"{fmt_value(c['perf_per_tco_stored'], 'tok/s/(usd/h)')} -> "
                f"{fmt_value(c['perf_per_tco_simulated'], 'tok/s/(usd/h)')}."
            )
        elif cfgs:
            changed = [
                r
                for r in cfgs
                if abs(r["latency_s_simulated"] - r["latency_s_stored"])
                > 1e-9 * r["latency_s_stored"]
            ]
            text = f"Latency changes in {len(changed)} of the {len(cfgs)} configurations simulated"
            if changed:
                best = min(changed, key=lambda r: r["latency_s_simulated"] / r["latency_s_stored"])
                was, now = best["latency_s_stored"], best["latency_s_simulated"]
                text += (
                    f"; the largest change is at {best['phase']}, batch {best['batch_size']}, "
                    f"TP {best['tp']}, {best['weight_dtype']}: "
                    f"{fmt_value(was, 's')} -> {fmt_value(now, 's')}"
                    + (
                        " (smaller than the precision shown)"
                        if fmt_value(was, "s") == fmt_value(now, "s")
                        else ""
                    )
                )
            out.append(text + ".")
        if not intent.get("op_types"):
            # no operator named: the ones whose time changed most
            ops = sorted(
                (o for o in ops if o["time_s_stored"] != o["time_s_simulated"]),
                key=lambda o: -abs(o["time_s_stored"] - o["time_s_simulated"]),
            )[:3]
        sram = intent.get("parameter") == "sram_bytes" or intent.get("pin")
        if len(cfgs) > 4 and intent.get("op_types"):
            for op in intent["op_types"]:
                mine = [o for o in ops if o["op_type"] == op]
                was = sum(1 for o in mine if o["weights_stored"] == "sram")
                now = sum(1 for o in mine if o["weights_simulated"] == "sram")
                out.append(
                    f"  {op} on {system} reads its weights from SRAM in {now} of the {len(mine)} "
                    f"configurations simulated (stored: {was})."
                )
            return out
        for o in ops:
            ws, wn = o["weights_stored"], o["weights_simulated"]
            verb = "still reads" if ws == wn else "now reads" if wn else "reads"
            out.append(
                f"  {o['op_type']} on {system} {verb} its weights from {str(wn).upper()}"
                + ("" if ws == wn else f" (was {str(ws).upper()})")
                + f": {fmt_value(o['time_s_stored'], 's')} -> {fmt_value(o['time_s_simulated'], 's')}"
                " per step"
                + (
                    f"; it needs {fmt_value(o['sram_needed_bytes'], 'B')} of SRAM with its "
                    "activations"
                    if o.get("sram_needed_bytes") and sram
                    else ""
                )
                + "."
            )
        return out

    def _a_whatif(self, intent: dict, ev: list[Evidence]) -> str:
        changes = [r for e in ev if "before" in e.columns for r in e.records()]
        parts = []
        for c in changes:
            b, a = c["before"], c["after"]
            unit = _param_unit(c["parameter"])
            if isinstance(b, int | float) and isinstance(a, int | float) and b:
                parts.append(
                    f"{c['parameter']} {fmt_value(b, unit)} -> {fmt_value(a, unit)} ({ratio(a, b)})"
                )
            else:
                parts.append(f"{c['parameter']} {b} -> {a}")
        head = (
            f"Simulated by coview's roofline model, not stored data: {intent['system']} with "
            + "; ".join(parts)
            + "."
        )
        return "\n".join([head, *self._whatif_lines(intent, ev)])

    def _a_whatif_search(self, intent: dict, ev: list[Evidence]) -> str:
        r = ev[0].records()[0]
        if not intent.get("reachable", True) or r.get("threshold") is None:
            return (
                f"Simulated: no value of {r['parameter']} reaches the target ({intent['label']})."
            )
        unit = _param_unit(r["parameter"])
        goal = (
            f"to keep the {r['operators']} weights in SRAM"
            if r.get("operators")
            else f"to match {r.get('match_system')}"
        )
        head = (
            f"{r['system']} would need {r['parameter']} of {fmt_value(r['threshold'], unit)} "
            f"{goal}: {ratio(r['threshold'], r['baseline_value'])} its "
            f"{fmt_value(r['baseline_value'], unit)} (simulated by bisection with coview's "
            "roofline model, not stored data)."
        )
        return "\n".join([head, *self._whatif_lines(intent, ev[1:])])

    # -- two simulators ---------------------------------------------------------------------

    def _a_sim_compare(self, intent: dict, ev: list[Evidence]) -> str:
        pairs = ev[0].records()
        a, b = intent["simulators"]
        top = next(r for r in pairs if r["config_a"] == intent["top_config_a"])

        def where(r: dict) -> str:
            return (
                f"{r['system']}, {r['model']}, {r['phase']}, batch {r['batch_size']}, "
                f"TP {r['tp']}, {r['weight_dtype']}"
            )

        la, lb = _need(top, "latency_a_s"), _need(top, "latency_b_s")
        out = []
        if len(pairs) > 1:
            lo = min(pairs, key=lambda r: r["latency_ratio_b_over_a"])
            hi = max(pairs, key=lambda r: r["latency_ratio_b_over_a"])
            out.append(
                f"Over {len(pairs)} configurations both ran, {b}'s latency is "
                f"{ratio(lo['latency_b_s'], lo['latency_a_s'])} to "
                f"{ratio(hi['latency_b_s'], hi['latency_a_s'])} {a}'s. They differ most at "
                f"{where(top)}: {b} {fmt_value(lb, 's')} vs {a} {fmt_value(la, 's')}."
            )
        else:
            out.append(
                f"At {where(top)}: {b} {fmt_value(lb, 's')} vs {a} {fmt_value(la, 's')} "
                f"({ratio(lb, la)})."
            )
        ops = ev[1].records() if len(ev) > 1 else []
        ops.sort(key=lambda o: -abs(o.get("time_diff_s") or 0))
        for o in ops[:3]:
            part = _dominant_part(o)
            detail = (
                f" ({part} time {fmt_value(o[part + '_a_s'], 's')} vs "
                f"{fmt_value(o[part + '_b_s'], 's')})"
                if part
                else ""
            )
            out.append(
                f"  {o['op_group']} ({o.get('op_types_a') or '-'} in {a}; "
                f"{o.get('op_types_b') or '-'} in {b}): {fmt_value(o['time_a_s'], 's')} vs "
                f"{fmt_value(o['time_b_s'], 's')} per step{detail}."
            )
        figs = []
        for key, label, unit in (
            ("hbm_bw", "HBM bandwidth", "B/s"),
            ("peak_flops_bf16", "bf16 peak", "FLOP/s"),
            ("ici_bw", "interconnect bandwidth", "B/s"),
            ("sram_bytes", "SRAM", "B"),
        ):
            va, vb = top.get(f"{key}_a"), top.get(f"{key}_b")
            if va is not None or vb is not None:
                figs.append(f"{label} {fmt_value(va, unit)} vs {fmt_value(vb, unit)}")
        if figs:
            out.append(
                f"The system as each simulator records it ({a} vs {b}): " + "; ".join(figs) + "."
            )
        if top.get("sram_bytes_b") is None or top.get("sram_bytes_a") is None:
            out.append(
                "One simulator records no SRAM capacity (GenZ does not model SRAM), so SRAM placement can differ."
            )
        return "\n".join(out)

    # -- counts and aggregates ------------------------------------------------------------

    def _a_count(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        fit = intent.get("fit_filter")
        what = {None: "match", True: "fit in memory", False: "do not fit in memory"}[fit]
        if intent.get("pareto_filter"):
            what = "are Pareto-optimal" if fit is None else f"are Pareto-optimal and {what}"
        scope = intent.get("scope") or ""
        groups = intent.get("group_by") or []
        if not groups:
            r = rows[0]
            n, total = _need(r, "configs_counted"), _need(r, "configs_matched")
            if fit is None and not intent.get("pareto_filter"):
                return f"{n} configurations {what} ({scope})." + _tail(intent)
            share = f" ({100 * n / total:.1f}%)" if total else ""
            return f"{n} of {total} configurations ({scope}) {what}{share}." + _tail(intent)

        def label(r: dict) -> str:
            return group_text(r, groups)

        parts = [
            f"{label(r)}: {r['configs_counted']}"
            + ("" if fit is None else f" of {r['configs_matched']}")
            for r in rows
        ]
        head = "Configurations that " + what + f" ({scope}), per {', '.join(groups)}: "
        order = intent.get("group_order")
        if order and rows:
            top = rows[0]
            tied = [label(r) for r in rows if r["configs_counted"] == top["configs_counted"]]
            word = "most" if order == "desc" else "fewest"
            lead = (
                f"{' and '.join(tied)} {'have' if len(tied) > 1 else 'has'} the {word} "
                f"configurations that {what}: {top['configs_counted']}"
                + ("" if fit is None else f" of {top['configs_matched']}")
                + f" ({scope})."
            )
            return lead + "\n" + head + "; ".join(parts) + "." + _tail(intent)
        return head + "; ".join(parts) + "." + _tail(intent)

    def _a_aggregate(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        m = _m(self.lex, intent["metrics"][0])
        fn = intent.get("aggregate") or "avg"
        word = {"avg": "mean", "median": "median"}[fn]
        col = f"{fn}_{m.column}"
        scope = intent.get("scope") or ""
        groups = intent.get("group_by") or []

        def one(r: dict) -> str:
            return (
                f"{fmt_value(_need(r, col), m.unit)} over {r['configs_aggregated']} fitting "
                f"configurations (range {fmt_value(r['min_' + m.column], m.unit)} to "
                f"{fmt_value(r['max_' + m.column], m.unit)})"
            )

        if not groups:
            return f"The {word} {m.label} ({scope}) is {one(rows[0])}." + _tail(intent)
        lines = []
        lead = ""
        if intent.get("group_order") and rows:
            top = rows[0]
            lab = ", ".join(str(top[g]) for g in groups)
            lead = (
                f"{lab} has the {'highest' if intent['group_order'] == 'desc' else 'lowest'} "
                f"{word} {m.label} ({scope}): {one(top)}.\n"
            )
        for r in rows:
            lines.append(f"  {group_text(r, groups)}: {one(r)}")
        return (
            lead
            + f"The {word} {m.label} ({scope}) per {', '.join(groups)}:\n"
            + "\n".join(lines)
            + _tail(intent)
        )

    # -- sweep-wide comparisons ---------------------------------------------------------

    def _a_compare_sweep(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        m = _m(self.lex, intent["metrics"][0])
        top = rows[0]
        a, b = top["system_a"], top["system_b"]
        n = _need(top, "pairs_matched")
        na, nb, ne = top["pairs_a_better"], top["pairs_b_better"], top["pairs_equal"]
        good, bad = ("faster", "slower") if m.column == "latency_s" else ("better", "worse")
        label = m.label

        def at(r: dict) -> str:
            return (
                f"{r['phase']}, batch {r['batch_size']}, TP {r['tp']}, {r['weight_dtype']}: "
                f"{label} {fmt_value(r[m.column + '_a'], m.unit)} on {a} vs "
                f"{fmt_value(r[m.column + '_b'], m.unit)} on {b}"
            )

        def gap(r: dict) -> str:
            va, vb = r[m.column + "_a"], r[m.column + "_b"]
            if not va or not vb:
                return ""
            return f"by up to {ratio(max(va, vb), min(va, vb))} "

        lead = self._sweep_claim_lead(intent, m, a, b, na, nb, n)
        where = (
            f"{n} matched configurations that fit in memory on both (same phase, batch, TP, "
            "data type, lengths)"
        )
        if na == 0 and nb == 0:
            text = f"{a} and {b} are identical on {label} in all {where}."
        elif nb == 0 or na == 0:
            win, lose, nw = (a, b, na) if nb == 0 else (b, a, nb)
            best = next(r for r in rows if r["better"] == ("a" if nb == 0 else "b"))  # in SQL
            text = (
                f"{win} is never {bad} than {lose} on {label}: {good} in {nw} of {where}, "
                f"{gap(best)}(at {at(best)})" + (f"; identical in the other {ne}." if ne else ".")
            )
        else:
            ra = next((r for r in rows if r["better"] == "a"), None)
            rb = next((r for r in rows if r["better"] == "b"), None)
            text = (
                f"Neither system is {good} everywhere on {label}: {a} is {good} in {na} of "
                f"{where}, {b} in {nb}" + (f", identical in {ne}" if ne else "") + "."
            )
            for r, win in ((ra, a), (rb, b)):
                if r is not None:
                    text += f"\nLargest {win} lead: {gap(r)}(at {at(r)})."
        n_all = top.get("all_pairs_matched")
        if n_all is not None and n_all != n:
            # users count every matched pair; the fitting ones lead, both are stated
            text += (
                f"\nCounting also the pairs where a config does not fit in memory: {a} is "
                f"{good} in {top['all_pairs_a_better']} of all {n_all} matched configurations, "
                f"{b} in {top['all_pairs_b_better']}."
            )
        mism = top.get("pairs_dtype_mismatch") or 0
        if mism:
            r = next(
                x
                for x in rows
                if x["act_dtype_a"] != x["act_dtype_b"] or x["kv_dtype_a"] != x["kv_dtype_b"]
            )
            text += (
                f"\nWarning: not apples to apples: in {mism} of the {n} pairs the two ran with "
                f"different data types (activations {r['act_dtype_a']} on {a} vs "
                f"{r['act_dtype_b']} on {b}; KV cache {r['kv_dtype_a']} vs {r['kv_dtype_b']})."
            )
        return lead + text + _tail(intent)

    def _sweep_claim_lead(
        self, intent: dict, m: Metric, a: str, b: str, na: int, nb: int, n: int
    ) -> str:
        """'Yes' / 'No' / 'Not everywhere' for 'is A faster than B' over every matched pair."""
        claim = intent.get("claim")
        mentioned = intent.get("mentioned") or []
        if not intent.get("yesno") or not claim or len(mentioned) < 2:
            return ""
        lower = claim_holds(claim, 1.0, 2.0, m)
        if lower is None:
            return ""
        subject_better = lower == (m.better != "high")
        wins = na if mentioned[0] == a else nb
        if not subject_better:
            wins = nb if mentioned[0] == a else na
        if set(intent.get("order") or []) & {"ever", "any", "anywhere", "sometimes"}:
            # "is B ever faster than A": in at least one matched configuration
            if wins:
                return f"Yes, in {wins} of the {n} matched configurations. "
            return "No, in none of the matched configurations. "
        if wins == n:
            return "Yes, in every matched configuration. "
        if wins == 0:
            return "No, in none of the matched configurations. "
        return f"Not everywhere: only in {wins} of the {n} matched configurations. "

    def _a_op_diff_sweep(self, intent: dict, ev: list[Evidence]) -> str:
        rows = ev[0].records()
        top = rows[0]
        a, b = top["system_a"], top["system_b"]
        n = _need(top, "pairs_matched")
        differing = [r for r in rows if r["pairs_differing"]]
        if not differing:
            return (
                f"No operator differs between {a} and {b}: every operator type takes the same "
                f"time on both in all {n} matched configurations (same phase, batch, TP, data "
                "type, lengths)." + _tail(intent)
            )
        ta, tb = _need(top, "time_a_s"), _need(top, "time_b_s")
        text = (
            f"{top['op_type']} differs most between {a} and {b}: {fmt_value(ta, 's')} on {a} "
            f"vs {fmt_value(tb, 's')} on {b} per step at {top['phase']}, batch "
            f"{top['batch_size']}, TP {top['tp']}, {top['weight_dtype']} (a difference of "
            f"{fmt_value(abs(tb - ta), 's')}); it differs in {top['pairs_differing']} of the "
            f"{n} matched configurations."
        )
        wa, wb = top.get("weights_a"), top.get("weights_b")
        if wa and wb and wa != wb:
            text += (
                f"\nThere its weights are read from {str(wa).upper()} on {a} but from "
                f"{str(wb).upper()} on {b}."
            ) + _sram_need_text(top, a, b)
        nxt = [
            f"{r['op_type']} (differs in {r['pairs_differing']} of {r['pairs_matched']}; up to "
            f"{fmt_value(r['time_a_s'], 's')} vs {fmt_value(r['time_b_s'], 's')})"
            for r in differing[1:4]
        ]
        if nxt:
            text += "\nAlso different: " + ", ".join(nxt) + "."
        same = [r["op_type"] for r in rows if not r["pairs_differing"]]
        if same:
            text += "\nIdentical in every matched configuration: " + ", ".join(same) + "."
        return text + _tail(intent)


# Bytes per value of the data types simulators use (outside knowledge, stated as such).
_DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "int4": 0.5}


def _asked_extreme(intent: dict) -> str | None:
    """'more' for 'which uses more power, A or B', 'less' for 'which draws less': a which-
    question about the amount itself rather than about better or worse."""
    order = intent.get("order") or []
    if "which" not in order or set(order) & {
        "better",
        "worse",
        "best",
        "worst",
        "faster",
        "slower",
        "cheaper",
    }:
        return None
    if set(order) & {"more", "higher", "larger", "bigger", "greater"}:
        return "more"
    if set(order) & {"less", "lower", "smaller", "fewer"}:
        return "less"
    return None


def _one_op_per_system(ops: list[str], groups: list[list[dict]]) -> dict[str, dict] | None:
    """{system: row} for one named operator in exactly two configs' rows, else None."""
    if len(ops) != 1 or len(groups) != 2:
        return None
    by_sys = {}
    for g in groups:
        rows = [r for r in g if r.get("op_type") == ops[0]]
        if len(rows) != 1:
            return None
        by_sys[rows[0]["system"]] = rows[0]
    return by_sys


def _sram_need_text(top: dict, a: str, b: str) -> str:
    """' With its activations it needs 671 MB of SRAM: more than xPU-B's 268 MB, within
    xPU-A's 1.61 GB.' for an operator whose weights are in SRAM on one system only."""
    wb = top.get("weights_b")
    hbm_side, need, cap = (
        (b, top.get("sram_needed_b"), top.get("sram_bytes_b"))
        if str(wb) == "hbm"
        else (a, top.get("sram_needed_a"), top.get("sram_bytes_a"))
    )
    sram_side = a if hbm_side == b else b
    cap_other = top.get("sram_bytes_a") if sram_side == a else top.get("sram_bytes_b")
    if not (need and cap and cap_other):
        return ""
    if need > cap:
        return (
            f" With its activations it needs {fmt_value(need, 'B')} of SRAM: more than "
            f"{hbm_side}'s {fmt_value(cap, 'B')}, within {sram_side}'s {fmt_value(cap_other, 'B')}."
        )
    return (
        f" It needs {fmt_value(need, 'B')} of SRAM with its activations; {hbm_side} has "
        f"{fmt_value(cap, 'B')} but its placement pinned other weights first."
    )


def group_text(row: dict, keys: list[str]) -> str:
    """A group's values as an answer names them: 'H100, batch 8, TP 4, 8 chips'."""
    labels = {"batch_size": "batch {}", "tp": "TP {}", "num_chips": "{} chips"}
    return ", ".join(labels.get(k, "{}").format(row.get(k)) for k in keys)


def _dominant_part(o: dict) -> str | None:
    """Which of compute/memory/comm time differs most in one operator-group row."""
    best, part = 0.0, None
    for p in ("compute", "memory", "comm"):
        a, b = o.get(f"{p}_a_s"), o.get(f"{p}_b_s")
        if a is not None and b is not None and abs(a - b) > best:
            best, part = abs(a - b), p
    return part


def _param_unit(parameter: str) -> str:
    """The display unit of a systems column a what-if changes."""
    if parameter.endswith("bytes_per_s"):
        return "B/s"
    if parameter.endswith("bytes"):
        return "B"
    if parameter.startswith("peak_flops"):
        return "FLOP/s"
    if parameter.endswith("_w"):
        return "W"
    if parameter.startswith("tco"):
        return "usd/h"
    return ""


_HIGHER = {"more", "higher", "larger", "bigger", "greater", "above", "exceed", "exceeds"}
_LOWER = {"less", "lower", "smaller", "fewer", "under", "below", "within", "meet", "meets"}


def claim_holds(claim: str | None, subject: float, other: float, m: Metric) -> bool | None:
    """Whether '<subject> is <claim> than <other>' holds for metric m (None: no claim)."""
    if claim is None:
        return None
    if claim in ("shorter", "longer"):  # "shorter time to first token": only of a time
        if m.unit != "s":
            return None
        return subject < other if claim == "shorter" else subject > other
    if claim in ("faster", "quicker"):
        return subject < other if m.column == "latency_s" else subject > other
    if claim == "slower":
        return subject > other if m.column == "latency_s" else subject < other
    if claim == "cheaper":
        return subject < other
    if claim in ("costlier", "pricier"):
        return subject > other
    if claim in _HIGHER:
        return subject > other
    if claim in _LOWER:
        return subject <= other if claim in ("within", "meet", "meets") else subject < other
    if claim in ("beat", "beats", "outperform", "outperforms"):
        claim = "better"
    if claim in ("better", "worse"):
        if m.better is None:
            return None
        good = subject < other if m.better == "low" else subject > other
        return good if claim == "better" else not good
    return None


COMPARATIVES = {
    "beat",
    "beats",
    "outperform",
    "outperforms",
    "faster",
    "quicker",
    "slower",
    "shorter",
    "longer",
    "cheaper",
    "costlier",
    "pricier",
    "more",
    "higher",
    "larger",
    "bigger",
    "greater",
    "better",
    "less",
    "lower",
    "smaller",
    "fewer",
    "worse",
}


_PRICE_WORDS = {"expensive", "cheap", "costly", "pricey", "cost", "price"}


def premise_claim(intent: dict) -> str | None:
    """The comparative the question asserts between two named things ('slower' in 'why is
    q_proj slower on B than A'), or None when it asserts none (targets like 'under' excluded)."""
    claim = intent.get("claim")
    order = intent.get("order") or []
    if claim not in COMPARATIVES or "than" not in order or len(intent.get("mentioned") or []) < 2:
        return None
    return claim


def _claim_phrase(claim: str, order: list[str]) -> str:
    """'more expensive' rather than a bare 'more', as the question put it."""
    word = claim if claim in order else None
    if word is None and claim in ("better", "worse"):  # "less efficient" parsed as worse
        word = next((w for w in order if w in ("more", "less")), None)
    if word is not None:
        i = order.index(word)
        if word in ("more", "less") and i + 1 < len(order) and order[i + 1] != "than":
            return f"{word} {order[i + 1]}"
    return claim


def premise_lead(
    intent: dict,
    subject: tuple[str, float],
    other: tuple[str, float],
    m: Metric,
    what: str = "",
    verb: str = "have",
    at: str = "",
) -> str:
    """A plain first sentence when the question's premise is false: the named subject is
    not <claim> than the other (equal as shown, or the other way round). Empty otherwise.

    `what` names the thing compared ("q_proj"), `verb` how both relate to the value ("take"),
    `at` where the values were measured (" per step at decode, batch 256, ...").
    """
    claim = premise_claim(intent)
    if claim is None:
        return ""
    (a, va), (b, vb) = subject, other
    if va is None or vb is None:
        return ""
    sa, sb = fmt_value(va, m.unit), fmt_value(vb, m.unit)
    phrase = _claim_phrase(claim, intent.get("order") or [])
    wa = f"{a}'s {what}" if what else a
    wb = f"{b}'s" if what else b
    label = "" if what else f"{m.label} "
    if sa == sb:
        return f"{wa} is not {phrase} than {wb} here: both {verb} {label}{sa}{at}.\n"
    holds = claim_holds(claim, va, vb, m)
    if holds is None or holds:
        return ""
    return (
        f"{wa} is not {phrase} than {wb} here; it is the other way round: {label}{sa} on {a} "
        f"vs {sb} on {b}{at}.\n"
    )


def context_note(intent: dict, evidence: list[Evidence]) -> str:
    """'At the selected config's settings: decode, batch 256, TP 1, int8.' when the question
    left those unstated and they were taken from the selected config; values come from the
    evidence rows (every such row has the same ones), so they are grounded."""
    cols = intent.get("context_cols") or []
    shown = [c for c in ("phase", "batch_size", "tp", "weight_dtype") if c in cols]
    if not shown:
        return ""
    for ev in evidence:
        for r in ev.records():
            if all(r.get(c) is not None for c in shown):
                sub = {c: r.get(c) for c in shown}
                for c in ("act_dtype", "kv_dtype", "num_chips"):
                    if c in cols and r.get(c) is not None:
                        sub[c] = r[c]
                return f"At the selected config's settings: {describe(sub)}."
    return ""


def _apples_to_apples(rows: list[dict], label) -> str:
    """A warning when compared configs ran different activation or KV-cache data types."""
    for col, name in (("act_dtype", "activations"), ("kv_dtype", "KV cache")):
        vals = {r.get(col) for r in rows if r.get(col) is not None}
        if len(vals) > 1 and len({r.get("weight_dtype") for r in rows}) == 1:
            parts = ", ".join(f"{label(r)} {name} {r.get(col)}" for r in rows)
            return f"\nWarning: not apples to apples: {parts}."
    return ""


def _share(r: dict, col: str = "total_time_s", of: str = "config_op_time_s") -> str:
    total = _need(r, of)
    part = _need(r, col)
    return f"{part / total * 100:.1f}%" if total else "n/a"


def _op_times(r: dict) -> dict[str, float]:
    """An operator's per-instance compute, memory and communication times (NULL refused)."""
    return {
        "compute": _need(r, "compute_time_s"),
        "memory": _need(r, "memory_time_s"),
        "communication": _need(r, "comm_time_s"),
    }


def _bound_of(times: dict[str, float]) -> str:
    """The bound of an operator: the largest of its three times (a tie goes to the first of
    compute, memory, communication; sqlgen.TIME_BOUND_SQL is the same rule in SQL)."""
    return max(times, key=lambda k: times[k])


def _same_setting(ra: dict, rb: dict, lex: Lexicon) -> str:
    """' at decode, batch 8, TP 8, int8' when two compared rows share their settings."""
    where = describe(ra, lex, False)
    return f" at {where}" if where == describe(rb, lex, False) else ""


def _tail(intent: dict) -> str:
    notes = intent.get("notes") or []
    return ("\nNote: " + "; ".join(notes) + ".") if notes else ""
