"""The offline backend: a deterministic selector and answerer, no model involved.

question -> parser.Intent (entities and metrics read from the store) -> sqlgen SQL -> the
pipeline's guard and read-only runner -> answerer templates. Anything the parser cannot map
completely is refused with the reason and questions the data can answer.
"""

from __future__ import annotations

import re
from pathlib import Path

from coview.engine.offline import interpretation, sqlgen, whatif_question
from coview.engine.offline.answerer import COMPARATIVES, OfflineAnswerer
from coview.engine.offline.lexicon import Lexicon, load_lexicon
from coview.engine.offline.parser import Intent, Unanswerable, WhatIf, parse, polar_claim
from coview.engine.types import Context, Evidence, Selection, Turn

__all__ = ["OfflineAnswerer", "OfflineSelector", "make_offline_backend"]

_FOLLOWUP_STARTS = (
    "and",
    "what about",
    "how about",
    "same",
    "now",
    "also",
    "or",
    "for",
    "then",
    "ok and",
    "what if",
)
_SYSTEM_SPECS = (
    "hbm_bytes",
    "hbm_bw_bytes_per_s",
    "peak_flops_bf16",
    "sram_bytes",
    "ici_bw_bytes_per_s",
    "tdp_w",
    "tco_usd_per_chip_hour",
)


def make_offline_backend(store_path: Path) -> tuple[OfflineSelector, OfflineAnswerer]:
    """The offline selector and answerer for one store (lexicon cached per store file)."""
    lex = load_lexicon(Path(store_path))
    return OfflineSelector(lex, Path(store_path)), OfflineAnswerer(lex)


# Words that point at the selected config's system ("why is q_proj slower here than on xPU-A").
_HERE = re.compile(r"\b(?:on |for |in )?(?:here|this (?:system|chip|hardware|accelerator))\b", re.I)


def selected_system_name(store_path: Path | None, config_id: int | None) -> str | None:
    """The system name of the selected config (a parameterised lookup, never spliced SQL)."""
    if store_path is None or config_id is None:
        return None
    from coview.store.db import connect

    con = connect(store_path, read_only=True)
    try:
        row = con.execute(
            "SELECT s.name FROM configs c JOIN systems s USING (system_id) WHERE c.config_id = ?",
            [int(config_id)],
        ).fetchone()
    finally:
        con.close()
    return row[0] if row else None


def suggestions(lex: Lexicon) -> list[str]:
    """Three questions this store can answer, built from its own values."""
    names = [s.name for s in lex.systems.values()]
    a = names[0] if names else "the first system"
    b = names[1] if len(names) > 1 else a
    batch = lex.batch_sizes[len(lex.batch_sizes) // 2] if lex.batch_sizes else 1
    tp = lex.tps[len(lex.tps) // 2] if lex.tps else 1
    phase = "decode" if "decode" in lex.phases else (lex.phases[0] if lex.phases else "")
    return [
        f"What is the {phase} latency of {a} at batch {batch}, TP {tp}?",
        f"Which system has the best performance per TCO for {phase}?",
        f"Which operator takes longest on {b} {phase} batch {batch} TP {tp}?",
    ]


class OfflineSelector:
    """Rule-based selector: parse, fill documented defaults, write SQL per question class."""

    name = "offline"
    retries_on_error = False

    def __init__(self, lex: Lexicon, store_path: Path | None = None) -> None:
        self.lex = lex
        self.store_path = store_path

    def resolve_here(self, question: str, context: Context) -> str:
        """Replace "here"/"this system" with the selected config's system name, so
        "slower here than on xPU-A" compares the selected system with xPU-A."""
        if context.config_id is None or not _HERE.search(question):
            return question
        name = selected_system_name(self.store_path, context.config_id)
        if not name:
            return question
        return _HERE.sub(f"on {name}", question)

    def select(
        self, question: str, history: list[Turn], context: Context, feedback: str | None = None
    ) -> Selection:
        try:
            it = self._parse(self.resolve_here(question, context), history, context)
            return self._build(it, context)
        except WhatIf as exc:
            if self.store_path is None:
                return Selection(False, reason=str(exc), suggestions=suggestions(self.lex))
            try:
                return whatif_question.select(
                    self.resolve_here(question, context),
                    exc.modification,
                    self.lex,
                    self.store_path,
                    context,
                    previous=self._previous(history, context),
                )
            except Unanswerable as exc2:
                return Selection(False, reason=str(exc2), suggestions=suggestions(self.lex))
        except Unanswerable as exc:
            return Selection(False, reason=str(exc), suggestions=suggestions(self.lex))
        except Exception as exc:  # noqa: BLE001 - a parser bug must refuse, never crash or guess
            return Selection(
                False,
                reason=f"the offline parser could not handle this question ({type(exc).__name__})",
                suggestions=suggestions(self.lex),
            )

    def _sim_compare(self, it: Intent) -> Selection:
        """Two simulators' runs of the same configs, per operator group (store.sim_compare);
        its statements run here with bound parameters on a read-only connection."""
        from coview.store.db import connect
        from coview.store.sim_compare import compare_simulators

        lex = self.lex
        sims = it.simulators if len(it.simulators) >= 2 else lex.simulators[:2]
        con = connect(self.store_path, read_only=True)
        try:
            res = compare_simulators(
                con,
                sims[0],
                sims[1],
                system=lex.systems[it.systems[0]].name if it.systems else None,
                model=lex.models[it.models[0]].name if it.models else None,
                phase=it.phases[0] if it.phases else None,
                batch_size=it.batches[0] if it.batches else None,
                tp=it.tps[0] if it.tps else None,
                dtype=it.dtypes[0] if it.dtypes else None,
            )
        except ValueError as exc:
            raise Unanswerable(str(exc)) from exc
        finally:
            con.close()
        if not res.pairs:
            raise Unanswerable(
                f"no configuration was run by both {sims[0]} and {sims[1]} with these settings"
            )
        cfg_rows = [p.config for p in res.pairs]
        cols = list(cfg_rows[0])
        ev = [
            Evidence(
                sql="-- " + " ;\n-- ".join(q.replace("\n", " ") for q in res.sql),
                columns=cols,
                rows=[tuple(r.get(c) for c in cols) for r in cfg_rows],
            )
        ]
        top = max(res.pairs, key=lambda p: abs(p.config["latency_diff_s"] or 0))
        if top.operators:
            ocols = list(top.operators[0])
            ev.append(
                Evidence(
                    sql="-- per operator group of the pair that differs most",
                    columns=ocols,
                    rows=[tuple(o.get(c) for c in ocols) for o in top.operators],
                )
            )
        intent = {
            "kind": "sim_compare",
            "simulators": [res.simulator_a, res.simulator_b],
            "largest": top.largest,
            "dominant_part": top.dominant_part,
            "top_config_a": top.config["config_a"],
        }
        sel = Selection(True, intent=intent, simulated=ev)
        sel.interpretation = interpretation.build(it, intent, {}, [], lex)
        sel.interpretation["reading"] = (
            f"simulator comparison · {res.simulator_a} vs {res.simulator_b} · "
            + sel.interpretation["reading"].split(" · ", 1)[-1]
        )
        return sel

    # -- parsing with follow-ups ----------------------------------------------------------

    def _previous(self, history: list[Turn], context: Context) -> Intent | None:
        """The conversation so far, read as one intent (for what-ifs that say 'it')."""
        prev: Intent | None = None
        for turn in history[-6:]:
            try:
                t_it = parse(turn.question, self.lex, context.config_id)
            except Unanswerable as exc:
                mod = getattr(exc, "modification", None)
                if mod is None:
                    continue
                try:
                    t_it = whatif_question.read(turn.question, self.lex)
                except Unanswerable:
                    continue
            if prev is not None:
                t_it.systems = list(dict.fromkeys(prev.systems + t_it.systems))
                t_it.op_types = t_it.op_types or prev.op_types
                for f in ("phases", "batches", "tps", "dtypes"):
                    setattr(t_it, f, getattr(t_it, f) or getattr(prev, f))
            prev = t_it
        return prev

    def _parse(self, question: str, history: list[Turn], context: Context) -> Intent:
        """Parse the question; a follow-up inherits what the conversation so far named."""
        it = parse(question, self.lex, context.config_id)
        if not history:
            return it
        prev: Intent | None = None
        for turn in history[-6:]:
            try:
                t_it = parse(turn.question, self.lex, context.config_id)
            except Unanswerable:
                prev = None
                continue
            if prev is not None and _is_followup(turn.question, t_it):
                t_it = _merge(prev, t_it, question=turn.question)
            prev = t_it
        if prev is not None and _is_followup(question, it):
            it = _merge(prev, it, question=question)
        elif prev is not None and _explains_previous(it, prev):
            # "why can xPU-A keep the weights in SRAM while xPU-B cannot?" after a turn at
            # decode batch 8 TP 8 int8: the why is asked about that config, not the sweep
            for f in ("phases", "batches", "tps", "dtypes", "models"):
                setattr(it, f, getattr(prev, f))
            if not (it.op_types or it.op_class):  # "the weights": the operator asked about
                it.op_types = list(prev.op_types)
            it.config_id = it.config_id if it.config_id is not None else prev.config_id
        return it

    # -- defaults and SQL ---------------------------------------------------------------------

    def _build(self, it: Intent, context: Context) -> Selection:
        lex = self.lex
        if it.kind == "sim_compare":
            return self._sim_compare(it)
        notes: list[str] = []
        defaults: dict = {}
        config_level = it.kind not in ("property", "model_property")
        if it.config_id is not None:
            config_level = False
        ctx_cols = _context_cols(it, context)
        if ctx_cols:
            defaults["context_config"] = (int(context.config_id), ctx_cols)  # type: ignore[arg-type]
        sweep = context.sweep_id or it.sweep
        if "sweep_id" in ctx_cols:
            sweep = None  # the selected config's own sweep (see sqlgen.config_where)
        if (
            not sweep
            and "sweep_id" not in ctx_cols
            and len(lex.sweeps) > 1
            and (config_level or it.kind.startswith("op_"))
        ):
            # the newest sweep that holds every named system and model (by name: two
            # simulators' sweeps give the same chip their own ids)
            fits = [(sid, name) for sid, name in lex.sweeps if _remap_to_sweep(it, lex, sid)]
            if not fits:
                raise Unanswerable(
                    "no single sweep holds all of "
                    + ", ".join(lex.systems[s].name for s in it.systems)
                    + "; name a sweep ("
                    + ", ".join(n for _, n in lex.sweeps[:5])
                    + ")"
                )
            sweep = fits[0][0]
            notes.append(f"sweep '{fits[0][1]}', the newest sweep that holds what you named")
        if sweep:
            _remap_to_sweep(it, lex, sweep, apply=True)
        if it.config_id is None:
            defaults["sweep"] = sweep
        if config_level and len(lex.models) > 1 and not it.models and "model_id" not in ctx_cols:
            raise Unanswerable(
                f"the data holds several models ({lex.model_names()}); say which one"
            )
        op_level = it.kind.startswith("op_")
        if (
            config_level
            and not it.phases
            and "phase" not in ctx_cols
            and it.kind not in ("fits", "count", "aggregate")
            and len(lex.phases) > 1
            and "decode" in lex.phases
            and not _any_phase(it.order)
        ):
            defaults["phase"] = ["decode"]
            notes.append("decode assumed; say 'prefill' for prompt processing")
        if op_level and it.config_id is None:
            if (
                not it.dtypes
                and "weight_dtype" not in ctx_cols
                and "bf16" in lex.dtypes
                and len(lex.dtypes) > 1
            ):
                defaults["weight_dtype"] = ["bf16"]
                notes.append("bf16 assumed")
            missing = [
                n
                for n, v, col in (("batch", it.batches, "batch_size"), ("TP", it.tps, "tp"))
                if not v and col not in ctx_cols
            ]
            if missing:
                notes.append(
                    f"{' and '.join(missing)} not given: using the lowest-latency "
                    "configuration that fits in memory"
                )

        claim = polar_claim(it.order) or next(
            (w for w in _question_words(it) if w in _CLAIMS), None
        )
        intent: dict = {
            "kind": it.kind,
            "notes": notes,
            "direction": it.direction,
            "trend_dim": it.trend_dim,
            "yesno": it.yesno,
            "claim": claim,
            "mentioned": [lex.systems[s].name for s in it.systems],
            "threshold": it.threshold,
            "threshold_unit": it.threshold_unit,
            "order": it.order,
            "bound_filter": it.bound_filter,
            "op_types": it.op_types,
            "op_compare": it.op_compare,
        }
        # "fp8 peak TFLOPS": the peak column of the named data type
        for k, m in enumerate(it.metrics):
            if m.column == "peak_flops_bf16" and it.dtypes and it.dtypes[0] != "bf16":
                col = {"fp8": "peak_flops_fp8", "int8": "peak_ops_int8"}.get(it.dtypes[0])
                if col and lex.metric("systems", col):
                    it.metrics[k] = lex.metric("systems", col)
        kind = it.kind
        no_config_filter = not any((it.batches, it.tps, it.phases, it.dtypes, it.chips))
        # "how much HBM does it need", "memory the weights take": the footprint, not capacity
        need = it.words & _NEED_WORDS
        if (
            need
            and kind in ("lookup", "property", "compare", "rank")
            and (
                any(m.column == "hbm_bytes" for m in it.metrics)
                or (not it.metrics and it.words & {"memory", "hbm"})
            )
        ):
            it.metrics = [
                m
                for c in ("weight_bytes_per_chip", "kv_bytes_per_chip")
                if (m := lex.metric("configs", c))
            ]
            kind = it.kind = "lookup"
            intent["kind"] = kind
        # "what does an H100 cost per hour", "which chip is cheapest per hour": the chip's
        # price (TCO per chip-hour), not a configuration's
        about_chips = bool(it.systems) or bool(it.words & _CHIP_WORDS)
        if (
            kind in ("lookup", "compare", "rank")
            and about_chips
            and no_config_filter
            and it.config_id is None
            and not it.words & _CONFIG_WORDS
            and [m.column for m in it.metrics] == ["tco_usd_per_hour"]
            and lex.metric("systems", "tco_usd_per_chip_hour")
        ):
            it.metrics = [lex.metric("systems", "tco_usd_per_chip_hour")]
            kind = it.kind = intent["kind"] = "property"
        if any(w in it.words for w in ("thousand", "1k")) and any(
            m.column == "usd_per_1m_tokens" for m in it.metrics
        ):
            notes.append(
                "the data holds cost per million tokens; per thousand tokens is a thousandth of it"
            )
        if it.constraints and len(it.metrics) > 1:
            # "latency under 30 ms, best perf/TCO": the constrained metric is the filter
            limited = {c.column for c in it.constraints}
            rest = [m for m in it.metrics if m.column not in limited]
            it.metrics = rest or it.metrics
        if it.constraints and kind == "lookup" and not it.metrics:
            kind = it.kind = intent["kind"] = "rank"
            it.direction = it.direction or "best"
            intent["direction"] = it.direction
        if kind in ("lookup", "compare", "rank", "trend") and not it.metrics:
            if (
                kind == "lookup"
                and it.systems
                and not any((it.batches, it.tps, it.phases, it.dtypes, it.chips))
            ):
                # "tell me about the H100": its specifications
                it.metrics = [m for c in _SYSTEM_SPECS if (m := lex.metric("systems", c))]
                kind = it.kind = "property"
                intent["kind"] = kind
            elif kind == "lookup":
                raise Unanswerable(
                    "I could not tell which metric you mean (e.g. latency, throughput, "
                    "performance per TCO, cost per million tokens, power, memory)"
                )
            else:
                default = "perf_per_tco" if kind == "rank" else "latency_s"
                m = lex.metric("configs", default)
                it.metrics = [m]
                notes.append(
                    f"ranked by {m.label}; name another metric to change that"
                    if kind == "rank"
                    else f"compared on {m.label}"
                )
        if it.metrics and kind in ("lookup", "compare", "rank", "trend"):
            if any(m.table != "configs" for m in it.metrics):
                cfg_metrics = [m for m in it.metrics if m.table == "configs"]
                if not cfg_metrics:
                    raise Unanswerable(
                        f"{it.metrics[0].label} is a property of the "
                        f"{it.metrics[0].table[:-1]}, not of a configuration; ask e.g. "
                        f"'what is the {it.metrics[0].label} of {next(iter(lex.systems.values())).name}?'"
                    )
                it.metrics = cfg_metrics
        intent["metrics"] = [[m.table, m.column] for m in it.metrics]

        # A comparison of two systems with no settings is made at every matched config,
        # never decided at one default config.
        unpinned = (
            len(it.systems) == 2
            and not any((it.batches, it.tps, it.dtypes, it.chips, it.act_dtypes, it.kv_dtypes))
            and it.config_id is None
            and not ctx_cols
            and it.threshold is None
        )
        sweep_wide = unpinned and kind == "compare" and bool(it.metrics)
        sweep_wide_ops = unpinned and kind == "op_diff"
        if (sweep_wide or sweep_wide_ops) and not it.phases and "phase" in defaults:
            del defaults["phase"]  # every phase: pairs match on phase
            notes[:] = [x for x in notes if "decode assumed" not in x]
        if sweep_wide_ops:
            notes[:] = [x for x in notes if "not given" not in x and "bf16 assumed" not in x]
            defaults.pop("weight_dtype", None)
        if kind in ("property", "model_property"):
            table = "systems" if kind == "property" else "models"
            if (
                kind == "property"
                and it.yesno
                and len(it.systems) == 1
                and it.direction
                and it.words & _CHIP_WORDS
            ):
                # "is TPU v5e the cheapest chip per hour?": rank every chip, then check it
                intent["subject"] = lex.systems[it.systems[0]].name
                it.systems = []
            metrics = [m for m in it.metrics if m.table == table]
            sql = [sqlgen.property_sql(it, metrics, table)]
            intent["metrics"] = [[m.table, m.column] for m in metrics]
        elif kind == "count":
            if it.group_order in ("best", "worst"):
                it.group_order = "desc" if it.group_order == "best" else "asc"
            sql = [sqlgen.count_sql(it, lex, defaults)]
            intent["fit_filter"] = it.fit_filter
            intent["pareto_filter"] = it.pareto_filter
            intent["group_order"] = it.group_order
            intent["group_by"] = list(it.group_by)
            intent["scope"] = _scope(it, lex, defaults)
        elif kind == "aggregate":
            if not it.metrics:
                raise Unanswerable(
                    f"I could not tell which metric to {'average' if it.aggregate == 'avg' else 'take the median of'}"
                    " (e.g. latency, throughput, performance per TCO)"
                )
            m = it.metrics[0]
            if it.group_order in ("best", "worst"):
                good = "desc" if m.better == "high" else "asc"
                bad = "asc" if good == "desc" else "desc"
                it.group_order = good if it.group_order == "best" else bad
            if m.table != "configs" or m.unit in ("text", "bool"):
                raise Unanswerable(
                    f"an average of {m.label} over configurations means nothing here"
                )
            intent["metrics"] = [[m.table, m.column]]
            intent["aggregate"] = it.aggregate
            intent["group_order"] = it.group_order
            intent["group_by"] = list(it.group_by)
            intent["scope"] = _scope(it, lex, defaults)
            notes.append("over configurations that fit in memory")
            sql = [sqlgen.aggregate_sql(it, lex, defaults, m)]
        elif sweep_wide:
            kind = intent["kind"] = "compare_sweep"
            sql = [sqlgen.matched_pairs_sql(it, lex, defaults, it.metrics[0])]
        elif kind == "op_diff" and sweep_wide_ops:
            kind = intent["kind"] = "op_diff_sweep"
            sql = [sqlgen.op_diff_sweep_sql(it, lex, defaults)]
        elif kind in ("lookup", "compare"):
            if it.direction in ("high", "low") and not it.words & _SUPERLATIVES:
                # "is H100 more expensive than MI300X": a comparative is the claim, not which
                # config stands for each side (that stays the best one)
                it.direction = None
                intent["direction"] = None
            part = ["c.system_id"] + [g for g in sqlgen.group_cols(it) if g != "c.system_id"]
            intent["group_keys"] = [sqlgen.GROUP_NAMES[g] for g in part]
            intent["kind"] = (
                "compare"
                if (len(sqlgen.group_cols(it)) and kind == "compare")
                or (it.config_id is not None and it.systems)
                else "lookup"
            )
            sql = [
                sqlgen.per_group_sql(
                    it,
                    lex,
                    defaults,
                    it.metrics,
                    part,
                    it.metrics[0],
                    it.direction,
                    6,
                    it.threshold,
                )
            ]
            if (
                intent["kind"] == "compare"
                and ctx_cols
                and len(it.systems) == 2
                and not any((it.batches, it.tps, it.dtypes, it.chips, it.phases))
            ):
                # settings came from the selected config: say too how the two compare at
                # every matched config, so one config never stands for the sweep
                intent["sweep_note"] = True
                sweep_defaults = {k: v for k, v in defaults.items() if k != "context_config"}
                sweep_defaults.pop("phase", None)
                sql.append(sqlgen.matched_pairs_sql(it, lex, sweep_defaults, it.metrics[0]))
        elif kind == "rank":
            words = it.words
            if it.yesno and len(it.systems) == 1 and it.words & _CHIP_WORDS:
                # "is MI300X the fastest system?": rank every system, then check the named one
                intent["subject"] = lex.systems[it.systems[0]].name
                it.systems = []
            per_system = not it.systems and not (words & _CONFIG_WORDS) or len(it.systems) > 1
            if words & {"system", "systems", "chip", "chips", "hardware", "accelerator"}:
                per_system = len(it.systems) != 1
            intent["per_system"] = per_system
            limit = it.limit or (len(lex.systems) if per_system else 5)
            order_m = it.metrics[0]
            if order_m.better is None and it.direction in ("best", "worst"):
                # "the best config's chip count": best by perf/TCO, then show the asked value
                order_m = lex.metric("configs", "perf_per_tco") or order_m
                notes.append(f"best by {order_m.label}")
                intent["metrics"] = [[order_m.table, order_m.column]] + intent["metrics"]
            shown = list(it.metrics) + [
                m
                for c in it.constraints
                if (m := lex.metric(c.table, c.column)) is not None and m.table == "configs"
            ]
            intent["metrics"] += [
                [m.table, m.column] for m in shown if [m.table, m.column] not in intent["metrics"]
            ]
            sql = [sqlgen.rank_sql(it, lex, defaults, order_m, per_system, limit, shown)]
            notes.append("only configurations that fit in memory")
        elif kind == "trend":
            sql = [sqlgen.trend_sql(it, lex, defaults, it.metrics[0])]
            other = "TP and data type" if it.trend_dim == "batch_size" else "batch and data type"
            if "weight_dtype" not in ctx_cols:  # else the selected config pins them
                notes.append(
                    f"at each point, the best configuration over {other} that fits in "
                    "memory, unless you named them"
                )
        elif kind == "dtype_check":
            if it.act_memory:
                # compare the named system's activation type with the others in its sweep
                intent["act_memory"] = [lex.systems[s].name for s in it.systems]
                it.systems = []
            sql = [sqlgen.dtype_check_sql(it, lex, defaults)]
        elif kind == "inventory":
            intent["inventory"] = it.inventory
            sql = [sqlgen.inventory_sql(it.inventory)]
        elif kind == "pareto":
            pinned = it.config_id is not None or (
                it.systems and it.batches and it.tps and (it.dtypes or len(lex.dtypes) == 1)
            )
            if pinned:
                kind = intent["kind"] = "pareto_member"
                sql = [sqlgen.pareto_member_sql(it, lex, defaults)]
            else:
                sql = [sqlgen.pareto_sql(it, lex, defaults)]
        elif kind == "fits":
            sql = [sqlgen.fits_sql(it, lex, defaults)]
        elif kind == "op_diff":
            sql = [
                sqlgen.op_diff_sql(it, lex, defaults),
                sqlgen.config_desc_sql(it, lex, defaults, True),
            ]
        elif kind == "op_share" and any(
            m.column in ("flops", "total_flops", "bytes_read", "bytes_written") for m in it.metrics
        ):
            # "what share of the FLOPs does attention take": FLOPs, not time
            of = "flops" if any("flops" in m.column for m in it.metrics) else "bytes"
            if not it.op_types and not it.op_class:
                raise Unanswerable(f"say which operators' share of the {of.upper()} you mean")
            intent["share_of"] = of
            intent["share_label"] = ", ".join(it.op_types) or f"{it.op_class} operators"
            sql = [sqlgen.op_share_sql(it, lex, defaults, len(it.systems) != 1, of=of)]
        elif kind in ("op_bound", "op_weights", "op_longest") and (
            it.op_types and any(m.table == "operators" and m.expr for m in it.metrics)
        ):
            # "compute utilisation of ffn_up (compute time / roofline time)": the metric asked
            kind = intent["kind"] = "op_lookup"
            intent["metrics"] = [[m.table, m.column] for m in it.metrics]
            sql = [sqlgen.op_rows_sql(it, lex, defaults, len(it.systems) != 1)]
        elif (
            kind in ("op_longest", "op_lookup", "op_bound")
            and not it.op_types
            and any(m.table == "operators" and m.expr for m in it.metrics)
        ):
            # "which operators run least efficiently": rank the operators by that metric
            m = next(m for m in it.metrics if m.table == "operators" and m.expr)
            kind = intent["kind"] = "op_rank"
            low = it.words & {"least", "lowest", "worst", "inefficient", "inefficiently", "poorly"}
            intent["metrics"] = [[m.table, m.column]]
            intent["direction"] = "low" if low else "high"
            order = f"{m.column} {'ASC' if low else 'DESC'} NULLS LAST"
            sql = [sqlgen.op_rows_sql(it, lex, defaults, len(it.systems) != 1, order=order)]
        elif kind == "op_share":
            if any(m.table != "operators" for m in it.metrics if m.column != "roofline_time_s"):
                bad = next(m for m in it.metrics if m.table != "operators")
                raise Unanswerable(
                    f"an operator's share is of time, FLOPs or bytes; the data has no share of "
                    f"{bad.label}"
                )
            if not it.op_types and not it.op_class:
                kind = intent["kind"] = "op_longest"
                sql = [sqlgen.op_rows_sql(it, lex, defaults, len(it.systems) != 1)]
            else:
                intent["share_label"] = (
                    ", ".join(it.op_types)
                    if it.op_types
                    else f"{it.op_class} operators ("
                    + ", ".join(o for o, c in lex.op_types.items() if c == it.op_class)
                    + ")"
                )
                sql = [sqlgen.op_share_sql(it, lex, defaults, len(it.systems) != 1)]
        elif kind == "op_bottlenecks":
            per = len(it.systems) != 1
            sql = [
                sqlgen.op_rows_sql(it, lex, defaults, per),
                sqlgen.op_bound_sum_sql(it, lex, defaults, per),
            ]
        elif kind in ("op_collectives", "op_flops_time"):
            it.op_types, it.op_class = [], None  # every operator: the order and the totals
            order = "op_index" if kind == "op_collectives" else "total_time_s DESC"
            sql = [sqlgen.op_rows_sql(it, lex, defaults, len(it.systems) != 1, order=order)]
        elif kind == "unmodelled":
            intent["max_tp"] = max(lex.tps, default=1)
            sql = [sqlgen.inventory_sql("op_type")]
        elif kind == "op_class_rank":
            sql = [sqlgen.op_class_sql(it, lex, defaults, len(it.systems) != 1)]
        elif kind in ("op_longest", "op_lookup", "op_bound", "op_weights"):
            per_system = len(it.systems) != 1 and it.config_id is None
            if kind == "op_longest":
                it.op_types, it.op_class = [], None if not it.op_class else it.op_class
            sql = [sqlgen.op_rows_sql(it, lex, defaults, per_system)]
        else:
            raise Unanswerable("I could not tell what is being asked")
        table_of_kind = {"property": "systems", "model_property": "models"}.get(intent["kind"])
        misplaced = [
            c
            for c in it.constraints
            if (table_of_kind and c.table != table_of_kind)
            or (not table_of_kind and intent["kind"] == "inventory")
        ]
        if misplaced:
            raise Unanswerable(
                f"I can't apply '{misplaced[0].text}' to this question: it limits "
                f"{misplaced[0].table}.{misplaced[0].column}, which this question does not read"
            )
        if intent["kind"] in (
            "property",
            "model_property",
            "dtype_check",
            "inventory",
            "unmodelled",
        ):
            notes[:] = [n for n in notes if "decode assumed" not in n]
        elif ctx_cols:
            # the answerer names these settings from the evidence rows (so they are grounded)
            intent["context_cols"] = list(ctx_cols)
        selection = Selection(True, sql=sql, intent=intent, suggestions=suggestions(lex))
        selection.interpretation = interpretation.build(it, intent, defaults, notes, lex)
        return selection


def _any_phase(order: list[str]) -> bool:
    """'any config', 'across all configs', 'either phase': no phase is assumed."""
    text = " ".join(order)
    return bool(
        re.search(
            r"\b(?:any|all|every|either|both)\s+(?:the\s+)?(?:configs?|configurations?|"
            r"settings?|phases?|runs?)\b",
            text,
        )
    )


_SUPERLATIVES = {"highest", "lowest", "most", "least", "max", "min", "maximum", "minimum"}
_CHIP_WORDS = {
    "chip",
    "chips",
    "system",
    "systems",
    "gpu",
    "gpus",
    "accelerator",
    "accelerators",
    "hardware",
    "tpu",
    "tpus",
    "device",
    "devices",
}
_CONFIG_WORDS = {"config", "configs", "configuration", "configurations", "setting", "settings"}
_NEED_WORDS = {
    "need",
    "needs",
    "require",
    "requires",
    "required",
    "take",
    "takes",
    "use",
    "uses",
    "occupy",
    "occupies",
    "consume",
    "consumes",
}
_CLAIMS = COMPARATIVES | {
    "meet",
    "meets",
    "under",
    "below",
    "within",
    "above",
    "exceed",
    "exceeds",
}


# Config columns a question inherits from the selected config when it leaves them unstated.
_CTX_DTYPES = ("weight_dtype", "act_dtype", "kv_dtype")


def _ids_in_sweep(ids: list[str], present: set[str], known: dict) -> list[str] | None:
    """Each id as the sweep holds it: itself, or the sweep's id of the same name; None when
    one of them is not in the sweep at all."""
    out = []
    for i in ids:
        same = [x for x in present if x in known and known[x].name == known[i].name]
        if i not in present and not same:
            return None
        out.append(i if i in present else same[0])
    return out


def _remap_to_sweep(it: Intent, lex: Lexicon, sweep_id: str, apply: bool = False) -> bool:
    """Whether the sweep holds every named system and model, matched by name; with `apply`,
    the intent's ids become that sweep's own ids (GenZ's 'H100_GPU' for coview's 'h100')."""
    systems, models = lex.sweep_contents.get(sweep_id, (set(), set()))
    new_sys = _ids_in_sweep(it.systems, systems, lex.systems)
    new_mod = _ids_in_sweep(it.models, models, lex.models)
    if new_sys is None or new_mod is None:
        return False
    if apply:
        it.systems, it.models = new_sys, new_mod
    return True


def _scope(it: Intent, lex: Lexicon, defaults: dict) -> str:
    """What a count or aggregate ran over, in words: 'TPU v5p, decode, batch 8'."""
    parts = [lex.systems[s].name for s in it.systems]
    parts += it.phases or defaults.get("phase") or ["every phase"]
    parts += list(it.dtypes)
    # numbers from the question are not evidence: they are stated in the "Read as" line
    if it.batches or it.tps or it.chips or it.constraints or it.input_lens or it.output_lens:
        parts.append("with the settings and limits read above")
    return ", ".join(str(p) for p in parts)


def _context_cols(it: Intent, context: Context) -> tuple[str, ...]:
    """The settings to take from the selected config: a question that names system(s) but
    not phase/batch/TP/dtype means 'at the settings I am looking at'. Explicit ones win.

    Without a selected config, or when the question names no system (or says "this config"
    itself), nothing is inherited and the documented defaults apply.
    """
    if context.config_id is None or it.config_id is not None or not it.systems:
        return ()
    kind = it.kind
    if kind in ("property", "model_property", "inventory", "dtype_check", "count", "aggregate", ""):
        # a count or an average over "H100 configs" means all of them, not the selected one
        return ()
    if (
        kind == "lookup"
        and not it.metrics
        and not any((it.batches, it.tps, it.phases, it.dtypes, it.chips))
    ):
        return ()  # "tell me about the H100": the chip's specifications
    cols: list[str] = []
    if not it.sweep and not context.sweep_id:
        cols.append("sweep_id")
    for col, vals in (
        ("model_id", it.models),
        ("phase", it.phases),
        ("input_len", it.input_lens),
        ("output_len", it.output_lens),
    ):
        if not vals:
            cols.append(col)
    if kind == "pareto":
        return tuple(cols)  # the frontier spans batch, TP and dtype by definition
    if not (it.batches or it.trend_dim == "batch_size"):
        cols.append("batch_size")
    if not (it.tps or it.chips or it.trend_dim == "tp"):
        cols += ["tp", "num_chips"]
    if not (it.dtypes or it.act_dtypes or it.kv_dtypes):
        # Two systems are compared at the selected weight type; their activation and KV
        # types may differ (a mismatched sweep), which the comparison then reports.
        cols += ["weight_dtype"] if len(it.systems) >= 2 else list(_CTX_DTYPES)
    return tuple(cols)


def _question_words(it: Intent) -> list[str]:
    return list(it.order) if it.order else sorted(it.words)


_BACK_REFERENCES = {
    "they",
    "them",
    "their",
    "both",
    "why",
    "different",
    "differ",
    "differs",
    "those",
    "these",
    "two",
    "it",
    "its",
    "that",
    "there",
}


def _is_followup(question: str, it: Intent) -> bool:
    """'and on xPU-B?', 'what about batch 16', 'vs MI300X': leans on the previous turn."""
    q = question.strip().lower()
    words = q.replace("?", " ").split()
    if q.startswith(_FOLLOWUP_STARTS) or (words and words[0] in ("vs", "versus", "compare")):
        return True
    if not it.systems and it.words & _BACK_REFERENCES:
        # "why is the Q projection runtime different?", "how much SRAM do they have?"
        return True
    if it.metrics or it.kind not in ("lookup", "compare") or it.direction:
        return it.kind == "compare" and bool(it.words & {"it", "this", "that"})
    return len(words) <= 6


def _explains_previous(it: Intent, prev: Intent) -> bool:
    """A why-question about the systems the conversation was at, naming no settings of its
    own, asks about the settings the conversation was at."""
    own = (it.phases, it.batches, it.tps, it.dtypes, it.chips)
    had = (prev.batches, prev.tps) if prev.config_id is None else (True,)
    return (
        "why" in it.words
        and not any(own)
        and it.config_id is None
        and all(had)
        and bool(it.systems)
        and set(it.systems) <= set(prev.systems)
    )


def _merge(prev: Intent, cur: Intent, question: str = "") -> Intent:
    """A follow-up: the previous turn's intent with what the new question names."""
    out = Intent(**{**prev.__dict__})
    words = set(question.lower().replace("?", " ").split())
    comparing = bool(words & {"vs", "versus", "compare", "against", "than"})
    if (
        cur.kind not in ("lookup", "")
        and cur.kind != prev.kind
        and not (comparing and cur.kind == "compare")
    ):
        out.kind = cur.kind
        out.direction = cur.direction or out.direction
        out.trend_dim = cur.trend_dim or out.trend_dim
    for f in (
        "models",
        "phases",
        "batches",
        "tps",
        "chips",
        "dtypes",
        "input_lens",
        "output_lens",
        "act_dtypes",
        "kv_dtypes",
        "op_types",
    ):
        if getattr(cur, f):
            setattr(out, f, getattr(cur, f))
    if cur.systems:
        if comparing:  # "vs MI300X", "compare it with xPU-A": add to what was asked about
            out.systems = list(dict.fromkeys(prev.systems + cur.systems))
            if not prev.kind.startswith("op_") and prev.kind not in ("trend", "pareto", "fits"):
                out.kind = "compare"
        else:
            out.systems = cur.systems
    if cur.metrics:
        out.metrics = cur.metrics
        if out.kind.startswith("op_") and all(m.table == "configs" for m in cur.metrics):
            out.kind = "lookup"  # "what about its throughput" after an operator question
    if cur.op_class:
        out.op_class = cur.op_class
    if (
        len(out.systems) >= 2
        and (out.op_types or out.op_class)
        and words & {"why", "different", "differ", "differs", "difference"}
    ):
        out.kind = "op_diff"  # "why is the Q projection runtime different" after A vs B
    if cur.config_id is not None:
        out.config_id = cur.config_id
    if cur.sweep:
        out.sweep = cur.sweep
    if cur.threshold is not None:
        out.threshold, out.threshold_unit = cur.threshold, cur.threshold_unit
    out.yesno = cur.yesno
    out.order = cur.order or out.order
    if out.kind == "compare" and len(out.systems) < 2 and not sqlgen.group_cols(out):
        out.kind = "lookup"
    out.words = prev.words | cur.words
    return out
