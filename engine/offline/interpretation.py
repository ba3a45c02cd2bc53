"""How the offline selector read a question: the `interpretation` of `coview ask --json` and
the "Read as: ..." line every answer starts with.

The reading names the metric by its column, the entities, every filter and constraint, the
aggregation, and the defaults filled in, so a user sees at once when a question was read as
a different one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coview.engine.offline.lexicon import Lexicon
    from coview.engine.offline.parser import Intent

_KIND_WORDS = {
    "lookup": "value",
    "property": "chip property",
    "model_property": "model property",
    "rank": "ranking",
    "compare": "comparison",
    "compare_sweep": "comparison across every matched configuration",
    "trend": "trend",
    "pareto": "Pareto frontier",
    "pareto_member": "Pareto membership",
    "fits": "memory fit",
    "count": "count",
    "aggregate": "aggregate",
    "op_longest": "operators by time",
    "op_class_rank": "operator classes by time",
    "op_bottlenecks": "bottlenecks",
    "op_collectives": "collectives",
    "op_flops_time": "FLOPs against time",
    "unmodelled": "operators the data does not model",
    "op_lookup": "operator value",
    "op_diff": "operator differences",
    "op_diff_sweep": "operator differences across every matched configuration",
    "op_share": "operator share",
    "op_rank": "operators ranked",
    "op_bound": "operator bound",
    "op_weights": "weights location",
    "dtype_check": "data-type check",
    "inventory": "what the data holds",
}
# How the reading names settings inherited from the selected config.
_CTX_LABELS = {
    "phase": "phase",
    "batch_size": "batch",
    "tp": "TP",
    "weight_dtype": "weight dtype",
    "act_dtype": "activation dtype",
    "kv_dtype": "KV dtype",
}
_DIM_LABELS = (
    ("phases", "{}"),
    ("batches", "batch {}"),
    ("tps", "TP {}"),
    ("chips", "{} chips"),
    ("dtypes", "{}"),
    ("act_dtypes", "activations {}"),
    ("kv_dtypes", "KV {}"),
    ("input_lens", "input {}"),
    ("output_lens", "output {}"),
)


def build(it: Intent, intent: dict, defaults: dict, notes: list[str], lex: Lexicon) -> dict:
    """The interpretation dict for one parsed, answerable question."""
    kind = intent.get("kind", it.kind)
    metrics = [f"{t}.{c}" for t, c in intent.get("metrics", [])]
    entities: dict[str, Any] = {}
    if it.systems:
        entities["systems"] = [lex.systems[s].name for s in it.systems]
    if it.models:
        entities["models"] = [lex.models[m].name for m in it.models if m in lex.models]
    if it.op_types:
        entities["operators"] = list(it.op_types)
    if it.op_class:
        entities["op_class"] = it.op_class
    filters: dict[str, Any] = {}
    for col, vals in it.dims().items():
        if vals and col not in ("system_id", "model_id"):
            filters[col] = list(vals)
    if it.config_id is not None:
        filters["config_id"] = int(it.config_id)
    applied = {k: v for k, v in defaults.items() if k in ("phase", "weight_dtype") and v}
    constraints = [
        {"column": c.column, "op": c.op, "value": c.value, "text": c.text}
        for c in getattr(it, "constraints", [])
    ]
    aggregation = None
    if getattr(it, "aggregate", None):
        aggregation = {"function": it.aggregate, "group_by": list(it.group_by)}
    elif getattr(it, "group_by", None):
        aggregation = {"function": None, "group_by": list(it.group_by)}
    parts: list[str] = [_KIND_WORDS.get(kind, kind)]
    if intent.get("op_compare"):
        parts = ["operator comparison"]
    if aggregation and aggregation["function"]:
        parts.append(aggregation["function"])
    if metrics:
        parts.append(", ".join(m.split(".", 1)[1] for m in metrics))
    if it.bound_filter:
        parts.append(f"{it.bound_filter}-bound")
    parts += entities.get("systems", []) + entities.get("models", [])
    parts += entities.get("operators", [])
    if it.op_class:
        parts.append(f"{it.op_class} operators")
    for attr, fmt in _DIM_LABELS:
        for v in getattr(it, attr):
            parts.append(fmt.format(v))
    if it.config_id is not None:
        parts.append(f"config #{int(it.config_id)}")
    ctx = defaults.get("context_config")
    if ctx:
        # settings the question left unstated, taken from the selected config
        ctx_id, ctx_cols = ctx
        filters["from_selected_config"] = {"config_id": int(ctx_id), "columns": list(ctx_cols)}
        varied = {
            "input_len": ("input length", len(lex.input_lens) > 1),
            "output_len": ("output length", len(lex.output_lens) > 1),
            "model_id": ("model", len(lex.models) > 1),
            "sweep_id": ("sweep", len(lex.sweeps) > 1),
        }
        shown = [_CTX_LABELS[c] for c in ctx_cols if c in _CTX_LABELS] + [
            varied[c][0] for c in ctx_cols if c in varied and varied[c][1]
        ]
        if shown:  # a column with one value in the whole store changes nothing: not stated
            parts.append(f"{', '.join(shown)} of the selected config #{int(ctx_id)}")
    parts += [f"{c['column']} {c['text']}" for c in constraints]
    if aggregation and aggregation["group_by"]:
        parts.append("per " + ", ".join(aggregation["group_by"]))
    if it.direction and kind in ("rank", "op_longest", "op_lookup", "trend", "pareto"):
        parts.append(
            {"best": "best", "worst": "worst", "high": "highest", "low": "lowest"}.get(
                it.direction, it.direction
            )
        )
    reading = " · ".join(p for p in parts if p)
    shown_defaults = [n for n in notes if n]
    if shown_defaults:
        reading += " (" + "; ".join(shown_defaults) + ")"
    return {
        "reading": reading,
        "kind": kind,
        "metric": metrics,
        "entities": entities,
        "filters": filters,
        "constraints": constraints,
        "aggregation": aggregation,
        "defaults": {"applied": applied, "notes": shown_defaults},
        "corrections": corrections(it),
    }


def corrections(it: Intent) -> list[dict[str, str]]:
    """The typos corrected while reading the question."""
    return [{"typed": a, "read_as": b} for a, b in getattr(it, "corrections", [])]
