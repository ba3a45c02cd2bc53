"""Intent -> SQL. Every statement is a plain SELECT over schema v1 that the guard accepts.

Only values read from the store itself (the lexicon) or parsed integers are written into the
SQL, quoted as literals. Operator queries always pick their configuration(s) first in a CTE
and join operators on config_id, so they never aggregate the whole operators table.
Every number the answer will state is a column of the result (counts, totals, shares'
numerator and denominator), so the grounding check can trace it.
"""

from __future__ import annotations

from coview.engine.offline.lexicon import Lexicon, Metric
from coview.engine.offline.parser import Intent


def lit(value: object) -> str:
    """A SQL literal for a value taken from the store or a parsed integer."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    return "'" + str(value).replace("'", "''") + "'"


def mexpr(m: Metric) -> str:
    """The SQL expression of a config metric (a column, or a derived ratio of two)."""
    return m.expr or f"c.{m.column}"


def msel(m: Metric) -> str:
    """The metric in a select list, named by its column (derived ones get an alias)."""
    return f"{m.expr} AS {m.column}" if m.expr else f"c.{m.column}"


def _in(col: str, values: list) -> str:
    if len(values) == 1:
        return f"{col} = {lit(values[0])}"
    return f"{col} IN ({', '.join(lit(v) for v in values)})"


# Config columns shown with every config-level answer (they name the config).
CONFIG_COLS = (
    "c.config_id",
    "s.name AS system",
    "c.phase",
    "c.batch_size",
    "c.tp",
    "c.num_chips",
    "c.weight_dtype",
    "c.act_dtype",
    "c.kv_dtype",
)


def config_where(it: Intent, lex: Lexicon, defaults: dict) -> list[str]:
    """WHERE conditions on configs c for the intent's filters plus the chosen defaults."""
    conds: list[str] = []
    if it.config_id is not None:
        cid = int(it.config_id)
        if not it.systems:
            return [f"c.config_id = {cid}"] + [c.sql() for c in it.constraints]
        # "compare this config with MI300X": the same settings on the named systems
        same = [
            f"c.{col} IS NOT DISTINCT FROM (SELECT {col} FROM configs WHERE config_id = {cid})"
            for col in (
                "sweep_id",
                "model_id",
                "phase",
                "batch_size",
                "tp",
                "num_chips",
                "weight_dtype",
                "act_dtype",
                "kv_dtype",
                "input_len",
                "output_len",
            )
        ]
        return same + [f"(c.config_id = {cid} OR {_in('c.system_id', it.systems)})"]
    # settings the question left unstated, taken from the selected (context) config
    ctx_id, ctx_cols = defaults.get("context_config") or (None, ())
    if ctx_id is not None and "sweep_id" in ctx_cols:
        conds.append(_same_as("sweep_id", int(ctx_id)))
    elif defaults.get("sweep"):
        conds.append(f"c.sweep_id = {lit(defaults['sweep'])}")
    for col, vals in it.dims().items():
        if not vals and ctx_id is not None and col in ctx_cols:
            conds.append(_same_as(col, int(ctx_id)))
            continue
        vals = vals or defaults.get(col) or []
        if vals:
            conds.append(_in(f"c.{col}", vals))
    conds += [c.sql() for c in it.constraints]
    return conds


def _same_as(col: str, config_id: int) -> str:
    """c.col equals that column of one config (read by the query, never spliced as text)."""
    return f"c.{col} IS NOT DISTINCT FROM (SELECT {col} FROM configs WHERE config_id = {config_id})"


def _where(conds: list[str]) -> str:
    return ("\nWHERE " + "\n  AND ".join(conds)) if conds else ""


def order_dir(metric: Metric, direction: str | None) -> str:
    """ASC or DESC so that the first row is what the question asks for."""
    if direction in ("high",):
        return "DESC"
    if direction in ("low",):
        return "ASC"
    worst = direction == "worst"
    if metric.better == "high":
        return "ASC" if worst else "DESC"
    return "DESC" if worst else "ASC"


def group_cols(it: Intent) -> list[str]:
    """The config columns the question compares across (several values named)."""
    cols = []
    if len(it.systems) >= 2:
        cols.append("c.system_id")
    for col, vals in (
        ("c.phase", it.phases),
        ("c.weight_dtype", it.dtypes),
        ("c.batch_size", it.batches),
        ("c.tp", it.tps),
        ("c.model_id", it.models),
        ("c.num_chips", it.chips),
    ):
        if len(vals) >= 2:
            cols.append(col)
    return cols


def per_group_sql(
    it: Intent,
    lex: Lexicon,
    defaults: dict,
    metrics: list[Metric],
    partition: list[str],
    order_metric: Metric,
    direction: str | None,
    keep: int,
    threshold: float | None = None,
) -> str:
    """Up to `keep` configs per group (fitting first, best first) with the group's count and
    the min/max of the ranking metric over fitting configs."""
    col = mexpr(order_metric)
    part = ", ".join(partition) if partition else "NULL"
    mcols = ", ".join(msel(m) for m in metrics)
    d = order_dir(order_metric, direction)
    extra_cols = ""
    if "c.model_id" in partition or len(lex.models) > 1:
        extra_cols += ", c.model_id"
    if len(lex.input_lens) > 1:
        extra_cols += ", c.input_len"
    if len(lex.output_lens) > 1:
        extra_cols += ", c.output_len"
    if threshold is not None:
        # the question's own target, shown as a column so the answer can cite it
        extra_cols += f", {float(threshold)!r} AS question_target"
    return (
        "WITH m AS (\n"
        f"  SELECT {', '.join(CONFIG_COLS)}{extra_cols}, c.fits_memory, {mcols},\n"
        f"    count(*) OVER w AS configs_matched,\n"
        f"    count(*) FILTER (WHERE c.fits_memory IS NOT FALSE) OVER w AS configs_fitting,\n"
        f"    min({col}) FILTER (WHERE c.fits_memory IS NOT FALSE) OVER w AS min_{order_metric.column},\n"
        f"    max({col}) FILTER (WHERE c.fits_memory IS NOT FALSE) OVER w AS max_{order_metric.column},\n"
        f"    row_number() OVER (PARTITION BY {part} ORDER BY c.fits_memory IS FALSE, "
        f"{col} {d} NULLS LAST, c.config_id) AS rank\n"
        "  FROM configs c JOIN systems s ON s.system_id = c.system_id"
        + _where(config_where(it, lex, defaults)).replace("\n", "\n  ")
        + f"\n  WINDOW w AS (PARTITION BY {part})\n)\n"
        f"SELECT * FROM m WHERE rank <= {int(keep)} ORDER BY {_order_groups(partition)}rank"
    )


# Output column name of each partition key, for ORDER BY and for the answerer.
GROUP_NAMES = {
    "c.system_id": "system",
    "c.phase": "phase",
    "c.weight_dtype": "weight_dtype",
    "c.batch_size": "batch_size",
    "c.tp": "tp",
    "c.model_id": "model_id",
    "c.num_chips": "num_chips",
}


def _order_groups(partition: list[str]) -> str:
    return "".join(f"{GROUP_NAMES[p]}, " for p in partition if p in GROUP_NAMES)


def rank_sql(
    it: Intent,
    lex: Lexicon,
    defaults: dict,
    metric: Metric,
    per_system: bool,
    limit: int,
    shown: list[Metric] | None = None,
) -> str:
    """Best configs by a metric among those that fit in memory: per system, or overall."""
    col = mexpr(metric)
    d = order_dir(metric, it.direction)
    conds = config_where(it, lex, defaults) + ["c.fits_memory IS NOT FALSE"]
    cols = [msel(metric)] + [msel(m) for m in shown or [] if m.column != metric.column]
    base = (
        f"SELECT {', '.join(CONFIG_COLS)}, {', '.join(cols)}"
        + (", c.model_id" if len(lex.models) > 1 else "")
        + "\nFROM configs c JOIN systems s ON s.system_id = c.system_id"
        + _where(conds)
    )
    if per_system:
        return (
            base + f"\nQUALIFY row_number() OVER (PARTITION BY c.system_id ORDER BY {col} {d} "
            "NULLS LAST, c.config_id) = 1"
            + f"\nORDER BY {col} {d} NULLS LAST, system\nLIMIT {int(limit)}"
        )
    return base + f"\nORDER BY {col} {d} NULLS LAST, c.config_id\nLIMIT {int(limit)}"


def property_sql(it: Intent, metrics: list[Metric], table: str) -> str:
    key, label = ("system_id", "system") if table == "systems" else ("model_id", "model")
    cols = ", ".join(m.column for m in metrics)
    ids = it.systems if table == "systems" else it.models
    conds = [_in(key, ids)] if ids else []
    conds += [c._cond(c.column) for c in it.constraints if c.table == table]
    where = _where(conds)
    m0 = metrics[0]
    if m0.unit == "text":
        order = "name"
    else:
        d = order_dir(m0, it.direction) if it.direction else "DESC"
        order = f"{m0.column} {d} NULLS LAST, name"
    return f"SELECT name AS {label}, {cols}\nFROM {table}{where}\nORDER BY {order}"


def trend_sql(it: Intent, lex: Lexicon, defaults: dict, metric: Metric) -> str:
    """The metric at each value of the trend dimension: best fitting config per point."""
    dim = it.trend_dim or "batch_size"
    col = mexpr(metric)
    d = order_dir(metric, None)
    conds = config_where(it, lex, defaults) + ["c.fits_memory IS NOT FALSE"]
    return (
        f"SELECT {', '.join(CONFIG_COLS)}, {msel(metric)}\n"
        "FROM configs c JOIN systems s ON s.system_id = c.system_id"
        + _where(conds)
        + f"\nQUALIFY row_number() OVER (PARTITION BY c.system_id, c.{dim} ORDER BY {col} {d} "
        "NULLS LAST, c.config_id) = 1" + f"\nORDER BY system, c.{dim}"
    )


def pareto_sql(it: Intent, lex: Lexicon, defaults: dict) -> str:
    conds = config_where(it, lex, defaults) + ["c.is_pareto"]
    return (
        f"SELECT {', '.join(CONFIG_COLS)}, c.latency_s, c.perf_per_tco,\n"
        "  count(*) OVER (PARTITION BY c.system_id, c.phase) AS frontier_points\n"
        "FROM configs c JOIN systems s ON s.system_id = c.system_id"
        + _where(conds)
        + "\nORDER BY system, c.phase, c.latency_s"
    )


def pareto_member_sql(it: Intent, lex: Lexicon, defaults: dict) -> str:
    """Whether the named config(s) are on the Pareto frontier, with their two coordinates."""
    conds = config_where(it, lex, defaults)
    return (
        f"SELECT {', '.join(CONFIG_COLS)}, c.is_pareto, c.fits_memory, c.latency_s, "
        "c.perf_per_tco\nFROM configs c JOIN systems s ON s.system_id = c.system_id"
        + _where(conds)
        + "\nORDER BY system, c.latency_s"
    )


def fits_sql(it: Intent, lex: Lexicon, defaults: dict) -> str:
    """Per system, dtype and TP: whether every / any matching config fits, and the sizes."""
    conds = config_where(it, lex, defaults)
    # settings taken from the selected config are one value per group: show them too
    ctx_cols = (defaults.get("context_config") or (None, ()))[1]
    ctx = "".join(
        f"any_value(c.{col}) AS {col}, " for col in ("phase", "batch_size") if col in ctx_cols
    )
    return (
        f"SELECT s.name AS system, c.weight_dtype, c.tp, {ctx}\n"
        "  count(*) AS configs_matched,\n"
        "  count(*) FILTER (WHERE c.fits_memory) AS configs_fitting,\n"
        "  max(c.weight_bytes_per_chip) AS weight_bytes_per_chip,\n"
        "  max(c.kv_bytes_per_chip) AS max_kv_bytes_per_chip,\n"
        "  any_value(s.hbm_bytes) AS hbm_bytes,\n"
        "  bool_and(c.fits_memory) AS all_fit, bool_or(c.fits_memory) AS any_fit,\n"
        "  count(*) FILTER (WHERE c.fits_memory IS NULL) AS fits_unknown,\n"
        "  max(c.batch_size) FILTER (WHERE c.fits_memory) AS max_fitting_batch,\n"
        "  min(c.batch_size) FILTER (WHERE NOT c.fits_memory) AS min_failing_batch\n"
        "FROM configs c JOIN systems s ON s.system_id = c.system_id"
        + _where(conds)
        + "\nGROUP BY s.name, c.weight_dtype, c.tp\nORDER BY system, c.weight_dtype, c.tp"
    )


def cfg_cte(it: Intent, lex: Lexicon, defaults: dict, per_system: bool) -> str:
    """A CTE `cfg` holding the configuration(s) an operator question is about: one per
    system, chosen by the named filters, then bf16, fitting, lowest latency."""
    conds = config_where(it, lex, defaults)
    pref = "c.fits_memory IS FALSE, c.latency_s ASC NULLS LAST, c.config_id"
    sel = (
        f"  SELECT {', '.join(CONFIG_COLS)}, c.system_id, c.latency_s, c.fits_memory\n"
        "  FROM configs c JOIN systems s ON s.system_id = c.system_id"
        + _where(conds).replace("\n", "\n  ")
    )
    if per_system:
        sel += f"\n  QUALIFY row_number() OVER (PARTITION BY c.system_id ORDER BY {pref}) = 1"
    else:
        sel += f"\n  ORDER BY {pref}\n  LIMIT 1"
    return "WITH cfg AS (\n" + sel + "\n)"


_CFG_OUT = (
    "cfg.system",
    "cfg.phase",
    "cfg.batch_size",
    "cfg.tp",
    "cfg.num_chips",
    "cfg.weight_dtype",
    "cfg.act_dtype",
    "cfg.kv_dtype",
    "cfg.config_id",
)


def op_rows_sql(
    it: Intent, lex: Lexicon, defaults: dict, per_system: bool, order: str = "total_time_s DESC"
) -> str:
    """Each operator of the chosen config(s): per-instance times, total (time x count) and
    the config-wide operator time; the named op types/class are filtered after the totals."""
    cond = ""
    if it.op_types:
        cond = "\nWHERE " + _in("op_type", it.op_types)
    elif it.op_class:
        cond = f"\nWHERE op_class = {lit(it.op_class)}"
    return (
        cfg_cte(it, lex, defaults, per_system) + ",\nops AS (\n"
        f"  SELECT {', '.join(_CFG_OUT)}, o.op_index, o.layer_name, o.op_type, o.op_class,\n"
        "    o.count, o.compute_time_s, o.memory_time_s, o.comm_time_s, o.roofline_time_s,\n"
        "    o.roofline_time_s * o.count AS total_time_s,\n"
        "    sum(o.roofline_time_s * o.count) OVER (PARTITION BY cfg.config_id) AS config_op_time_s,\n"
        "    o.flops, o.bytes_read, o.bytes_weight, o.bytes_comm, o.weights_location,\n"
        + "".join(f"    {m.expr} AS {m.column},\n" for m in _op_derived(lex))
        + "    o.flops * o.count AS total_flops,\n"
        "    sum(o.flops * o.count) OVER (PARTITION BY cfg.config_id) AS config_flops\n"
        "  FROM operators o JOIN cfg ON o.config_id = cfg.config_id\n)\n"
        f"SELECT * FROM ops{cond}\nORDER BY system, {order}, op_index"
    )


def _op_derived(lex: Lexicon) -> list[Metric]:
    seen: dict[str, Metric] = {}
    for m in lex.op_metrics.values():
        seen.setdefault(m.column, m)
    return list(seen.values())


def op_class_sql(it: Intent, lex: Lexicon, defaults: dict, per_system: bool) -> str:
    """Operator time per op class of the chosen config(s), with each class's share and the
    op types it holds."""
    total = "sum(o.roofline_time_s * o.count)"
    return (
        cfg_cte(it, lex, defaults, per_system) + f"\nSELECT {', '.join(_CFG_OUT)}, o.op_class,\n"
        f"  {total} AS class_time_s,\n"
        f"  sum({total}) OVER (PARTITION BY cfg.config_id) AS config_op_time_s,\n"
        f"  100.0 * {total} / nullif(sum({total}) OVER (PARTITION BY cfg.config_id), 0)"
        " AS share_pct,\n"
        "  string_agg(DISTINCT o.op_type, ', ' ORDER BY o.op_type) AS op_types\n"
        "FROM operators o JOIN cfg ON o.config_id = cfg.config_id\n"
        f"GROUP BY {', '.join(_CFG_OUT)}, o.op_class\n"
        "ORDER BY cfg.system, class_time_s DESC, o.op_class"
    )


# An operator's bound: the largest of its three per-instance times, a tie going to the first
# of compute, memory, communication (answerer._bound_of is the same rule in Python).
TIME_BOUND_SQL = (
    "CASE WHEN o.compute_time_s >= greatest(o.memory_time_s, o.comm_time_s) THEN 'compute' "
    "WHEN o.memory_time_s >= o.comm_time_s THEN 'memory' ELSE 'communication' END"
)


def op_bound_sum_sql(it: Intent, lex: Lexicon, defaults: dict, per_system: bool) -> str:
    """Operator time per bound of the chosen config(s), the bound decided from the three
    per-instance times (compute, memory, communication), not from the bound column."""
    total = "sum(o.roofline_time_s * o.count)"
    return (
        cfg_cte(it, lex, defaults, per_system) + f"\nSELECT {', '.join(_CFG_OUT)},\n"
        f"  {TIME_BOUND_SQL} AS time_bound,\n"
        f"  {total} AS bound_time_s,\n"
        f"  100.0 * {total} / nullif(sum({total}) OVER (PARTITION BY cfg.config_id), 0)"
        " AS bound_share_pct,\n"
        "  string_agg(o.op_type, ', ' ORDER BY o.op_index) AS op_types\n"
        "FROM operators o JOIN cfg ON o.config_id = cfg.config_id\n"
        f"GROUP BY {', '.join(_CFG_OUT)}, time_bound\n"
        "ORDER BY cfg.system, bound_time_s DESC"
    )


def op_share_sql(
    it: Intent, lex: Lexicon, defaults: dict, per_system: bool, of: str = "time"
) -> str:
    """Time (or FLOPs, or bytes) of the named op class/types vs all operators of the config(s)."""
    if it.op_types:
        cond = _in("o.op_type", it.op_types)
    else:
        cond = f"o.op_class = {lit(it.op_class or 'collective')}"
    if of != "time":
        v = {"flops": "o.flops * o.count", "bytes": "(o.bytes_read + o.bytes_written) * o.count"}[
            of
        ]
        return (
            cfg_cte(it, lex, defaults, per_system) + f"\nSELECT {', '.join(_CFG_OUT)},\n"
            f"  sum(CASE WHEN {cond} THEN {v} ELSE 0 END) AS selected_{of},\n"
            f"  sum({v}) AS config_{of},\n"
            f"  100.0 * sum(CASE WHEN {cond} THEN {v} ELSE 0 END) / nullif(sum({v}), 0)"
            f" AS {of}_share_pct,\n"
            f"  sum(CASE WHEN {cond} THEN o.roofline_time_s * o.count ELSE 0 END) AS selected_time_s,\n"
            "  sum(o.roofline_time_s * o.count) AS config_op_time_s,\n"
            f"  100.0 * sum(CASE WHEN {cond} THEN o.roofline_time_s * o.count ELSE 0 END)"
            " / nullif(sum(o.roofline_time_s * o.count), 0) AS share_pct\n"
            "FROM operators o JOIN cfg ON o.config_id = cfg.config_id\n"
            f"GROUP BY {', '.join(_CFG_OUT)}\nORDER BY cfg.system"
        )
    return (
        cfg_cte(it, lex, defaults, per_system) + f"\nSELECT {', '.join(_CFG_OUT)},\n"
        f"  sum(CASE WHEN {cond} THEN o.roofline_time_s * o.count ELSE 0 END) AS selected_time_s,\n"
        "  sum(o.roofline_time_s * o.count) AS config_op_time_s,\n"
        f"  100.0 * sum(CASE WHEN {cond} THEN o.roofline_time_s * o.count ELSE 0 END)"
        " / nullif(sum(o.roofline_time_s * o.count), 0) AS share_pct,\n"
        f"  count(*) FILTER (WHERE {cond}) AS selected_ops\n"
        "FROM operators o JOIN cfg ON o.config_id = cfg.config_id\n"
        f"GROUP BY {', '.join(_CFG_OUT)}\nORDER BY cfg.system"
    )


def op_diff_sql(it: Intent, lex: Lexicon, defaults: dict) -> str:
    """Per op type, the total time on the first two systems and their difference."""
    a, b = it.systems[0], it.systems[1]
    return (
        cfg_cte(it, lex, defaults, True)
        + ",\nt AS (\n  SELECT cfg.system, cfg.system_id, o.op_type, "
        "sum(o.roofline_time_s * o.count) AS total_time_s,\n"
        "    string_agg(DISTINCT o.weights_location, '/') AS weights_location,\n"
        "    max(TRY_CAST(json_extract_string(o.extra, '$.sram_needed_bytes') AS DOUBLE))"
        " AS sram_needed_bytes\n"
        "  FROM operators o JOIN cfg ON o.config_id = cfg.config_id\n"
        "  GROUP BY cfg.system, cfg.system_id, o.op_type\n)\n"
        "SELECT ta.op_type, ta.system AS system_a, ta.total_time_s AS time_a_s,\n"
        "  tb.system AS system_b, tb.total_time_s AS time_b_s,\n"
        "  tb.total_time_s - ta.total_time_s AS diff_s,\n"
        "  ta.weights_location AS weights_a, tb.weights_location AS weights_b,\n"
        "  ta.sram_needed_bytes AS sram_needed_a, tb.sram_needed_bytes AS sram_needed_b,\n"
        f"  (SELECT sram_bytes FROM systems WHERE system_id = {lit(a)}) AS sram_bytes_a,\n"
        f"  (SELECT sram_bytes FROM systems WHERE system_id = {lit(b)}) AS sram_bytes_b\n"
        f"FROM t ta JOIN t tb ON ta.op_type = tb.op_type AND ta.system_id = {lit(a)} "
        f"AND tb.system_id = {lit(b)}\n"
        "ORDER BY abs(tb.total_time_s - ta.total_time_s) DESC, ta.op_type"
    )


def config_desc_sql(it: Intent, lex: Lexicon, defaults: dict, per_system: bool) -> str:
    """The chosen config(s) of an operator question, for display."""
    # cost and perf/TCO too, so a "why is A cheaper than B" premise can be checked
    return (
        cfg_cte(it, lex, defaults, per_system)
        + "\nSELECT cfg.*, k.usd_per_1m_tokens, k.perf_per_tco\n"
        "FROM cfg JOIN configs k ON k.config_id = cfg.config_id ORDER BY cfg.system"
    )


def inventory_sql(target: str) -> str:
    """What the store holds: a table's names, or the distinct values of a config column."""
    if target == "systems":
        return "SELECT name AS system, vendor FROM systems ORDER BY name"
    if target == "models":
        return "SELECT name AS model, total_params FROM models ORDER BY name"
    if target == "sweeps":
        return "SELECT sweep_id, name AS sweep, simulator FROM sweeps ORDER BY ingested_at DESC, sweep_id"
    if target == "op_type":
        return (
            "SELECT o.op_type, any_value(o.op_class) AS op_class FROM operators o "
            "WHERE o.config_id = (SELECT min(config_id) FROM configs) GROUP BY o.op_type "
            "ORDER BY min(o.op_index)"
        )
    return f"SELECT DISTINCT {target} FROM configs WHERE {target} IS NOT NULL ORDER BY {target}"


def dtype_check_sql(it: Intent, lex: Lexicon, defaults: dict) -> str:
    """Which weight/activation/KV data types each system was run with (apples to apples?)."""
    conds = config_where(it, lex, {k: v for k, v in defaults.items() if k != "phase"})
    return (
        "SELECT s.name AS system, c.weight_dtype, c.act_dtype, c.kv_dtype, "
        "count(*) AS configs\n"
        "FROM configs c JOIN systems s ON s.system_id = c.system_id"
        + _where(conds)
        + "\nGROUP BY s.name, c.weight_dtype, c.act_dtype, c.kv_dtype"
        "\nORDER BY system, c.weight_dtype, c.act_dtype, c.kv_dtype"
    )


# The settings two configs must share to be compared (activation and KV types are shown
# side by side instead, so a mismatched sweep is reported rather than silently empty).
MATCH_KEYS = (
    "sweep_id",
    "model_id",
    "phase",
    "batch_size",
    "tp",
    "num_chips",
    "weight_dtype",
    "input_len",
    "output_len",
)


def _matched_sides(
    it: Intent,
    lex: Lexicon,
    defaults: dict,
    a: str,
    b: str,
    extra: str = "",
    fitting: bool = True,
    names: tuple[str, str] = ("pa", "pb"),
) -> str:
    """`WITH pa AS (...), pb AS (...)`: the (fitting) configs of systems a and b with the
    match keys, the config id and `extra` select items, for a matched-pairs join."""
    conds = config_where(it, lex, defaults) + (["c.fits_memory IS NOT FALSE"] if fitting else [])
    keys = ", ".join(f"c.{k}" for k in MATCH_KEYS)

    def side(sid: str) -> str:
        return (
            f"  SELECT {keys}, c.config_id{', ' + extra if extra else ''}\n  FROM configs c"
            + _where(conds + [f"c.system_id = {lit(sid)}"]).replace("\n", "\n  ")
            + "\n"
        )

    return f"WITH {names[0]} AS (\n" + side(a) + f"), {names[1]} AS (\n" + side(b) + ")"


def matched_pairs_sql(it: Intent, lex: Lexicon, defaults: dict, metric: Metric) -> str:
    """Every matched pair of fitting configs of the first two systems, with the metric on
    each side and the distribution over all pairs (counts, extremes) as window columns, so
    a comparison is never decided at one default config."""
    a, b = it.systems[0], it.systems[1]
    col = mexpr(metric)
    sides = _matched_sides(
        Intent(**{**it.__dict__, "systems": []}), lex, defaults, a, b,
        f"c.act_dtype, c.kv_dtype, {col} AS v",
    )  # fmt: skip
    every = _matched_sides(
        Intent(**{**it.__dict__, "systems": []}), lex, defaults, a, b, f"{col} AS v",
        fitting=False, names=("qa", "qb"),
    )[len("WITH "):]  # fmt: skip
    better_a = "pa.v < pb.v" if metric.better != "high" else "pa.v > pb.v"
    better_b = "pa.v > pb.v" if metric.better != "high" else "pa.v < pb.v"
    using = ", ".join(MATCH_KEYS)
    sa, sb = lex.systems[a].name, lex.systems[b].name
    tie = "abs(qa.v - qb.v) <= 1e-9 * greatest(abs(qa.v), abs(qb.v))"
    qa_better = better_a.replace("pa.", "qa.").replace("pb.", "qb.")
    qb_better = better_b.replace("pa.", "qa.").replace("pb.", "qb.")
    return (
        sides + ", " + every + ", every_pair AS (\n"
        "  SELECT count(*) AS all_pairs_matched,\n"
        f"    count(*) FILTER (WHERE NOT ({tie}) AND {qa_better}) AS all_pairs_a_better,\n"
        f"    count(*) FILTER (WHERE NOT ({tie}) AND {qb_better}) AS all_pairs_b_better\n"
        f"  FROM qa JOIN qb USING ({using})\n"
        "), pairs AS (\n"
        f"  SELECT {using}, {lit(sa)} AS system_a, {lit(sb)} AS system_b,\n"
        "    pa.config_id AS config_a, pb.config_id AS config_b,\n"
        "    pa.act_dtype AS act_dtype_a, pb.act_dtype AS act_dtype_b,\n"
        "    pa.kv_dtype AS kv_dtype_a, pb.kv_dtype AS kv_dtype_b,\n"
        f"    pa.v AS {metric.column}_a, pb.v AS {metric.column}_b,\n"
        "    pa.v / nullif(pb.v, 0) AS ratio_a_to_b,\n"
        f"    CASE WHEN abs(pa.v - pb.v) <= 1e-9 * greatest(abs(pa.v), abs(pb.v)) THEN 'equal'"
        f" WHEN {better_a} THEN 'a' WHEN {better_b} THEN 'b' END AS better\n"
        f"  FROM pa JOIN pb USING ({using})\n"
        "), s AS (\n"
        "  SELECT *, count(*) OVER () AS pairs_matched,\n"
        "    count(*) FILTER (WHERE better = 'a') OVER () AS pairs_a_better,\n"
        "    count(*) FILTER (WHERE better = 'b') OVER () AS pairs_b_better,\n"
        "    count(*) FILTER (WHERE better = 'equal') OVER () AS pairs_equal,\n"
        "    count(*) FILTER (WHERE act_dtype_a IS DISTINCT FROM act_dtype_b OR "
        "kv_dtype_a IS DISTINCT FROM kv_dtype_b) OVER () AS pairs_dtype_mismatch,\n"
        "    min(ratio_a_to_b) OVER () AS min_ratio_a_to_b,\n"
        "    max(ratio_a_to_b) OVER () AS max_ratio_a_to_b\n"
        "  FROM pairs CROSS JOIN every_pair\n)\n"
        "SELECT * FROM s QUALIFY row_number() OVER (PARTITION BY better ORDER BY "
        "abs(ln(nullif(ratio_a_to_b, 0))) DESC NULLS LAST, phase, batch_size, tp, "
        "weight_dtype, config_a) <= 12\n"
        "ORDER BY abs(ln(nullif(ratio_a_to_b, 0))) DESC NULLS LAST, "
        "phase, batch_size, tp, weight_dtype, config_a"
    )


def op_diff_sweep_sql(it: Intent, lex: Lexicon, defaults: dict) -> str:
    """Per operator type, its per-step time on each side of every matched config pair of the
    first two systems; the operators and pairs that differ most come first."""
    a, b = it.systems[0], it.systems[1]
    using = ", ".join(MATCH_KEYS)
    sides = _matched_sides(
        Intent(**{**it.__dict__, "systems": [], "op_types": [], "op_class": None}),
        lex,
        defaults,
        a,
        b,
    )
    op_filter = ""
    if it.op_types:
        op_filter = " AND " + _in("o.op_type", it.op_types)
    elif it.op_class:
        op_filter = f" AND o.op_class = {lit(it.op_class)}"
    sa, sb = lex.systems[a].name, lex.systems[b].name
    return (
        sides + ", pairs AS (\n"
        f"  SELECT {using}, pa.config_id AS config_a, pb.config_id AS config_b\n"
        f"  FROM pa JOIN pb USING ({using})\n"
        "), t AS (\n"
        "  SELECT o.config_id, o.op_type, sum(o.roofline_time_s * o.count) AS time_s,\n"
        "    string_agg(DISTINCT o.weights_location, '/') AS weights,\n"
        "    max(TRY_CAST(json_extract_string(o.extra, '$.sram_needed_bytes') AS DOUBLE))"
        " AS sram_needed_bytes\n"
        "  FROM operators o WHERE o.config_id IN (SELECT config_a FROM pairs UNION ALL "
        "SELECT config_b FROM pairs)" + op_filter + "\n"
        "  GROUP BY o.config_id, o.op_type\n"
        "), d AS (\n"
        f"  SELECT p.phase, p.batch_size, p.tp, p.weight_dtype, ta.op_type,\n"
        f"    {lit(sa)} AS system_a, {lit(sb)} AS system_b, p.config_a, p.config_b,\n"
        "    ta.time_s AS time_a_s, tb.time_s AS time_b_s, tb.time_s - ta.time_s AS diff_s,\n"
        "    ta.weights AS weights_a, tb.weights AS weights_b,\n"
        "    ta.sram_needed_bytes AS sram_needed_a, tb.sram_needed_bytes AS sram_needed_b,\n"
        f"    (SELECT sram_bytes FROM systems WHERE system_id = {lit(a)}) AS sram_bytes_a,\n"
        f"    (SELECT sram_bytes FROM systems WHERE system_id = {lit(b)}) AS sram_bytes_b,\n"
        "    count(*) FILTER (WHERE abs(tb.time_s - ta.time_s) > 1e-9 * "
        "greatest(ta.time_s, tb.time_s)) OVER (PARTITION BY ta.op_type) AS pairs_differing,\n"
        "    count(*) OVER (PARTITION BY ta.op_type) AS pairs_matched,\n"
        "    max(abs(tb.time_s - ta.time_s)) OVER (PARTITION BY ta.op_type) AS max_abs_diff_s\n"
        "  FROM pairs p JOIN t ta ON ta.config_id = p.config_a\n"
        "  JOIN t tb ON tb.config_id = p.config_b AND tb.op_type = ta.op_type\n)\n"
        "SELECT * FROM d QUALIFY row_number() OVER (PARTITION BY op_type "
        "ORDER BY abs(diff_s) DESC, phase, batch_size, tp, weight_dtype, config_a) = 1\n"
        "ORDER BY max_abs_diff_s DESC, op_type"
    )


_GROUP_SQL = {
    "system": "s.name",
    "batch_size": "c.batch_size",
    "tp": "c.tp",
    "phase": "c.phase",
    "weight_dtype": "c.weight_dtype",
    "model_id": "c.model_id",
}


def _group_select(it: Intent, value: str = "") -> tuple[str, str, str]:
    """(select list prefix, GROUP BY clause, ORDER BY clause) for the question's grouping;
    with a group order ("which system has the most ..."), groups are ordered by `value`."""
    if not it.group_by:
        return "", "", ""
    exprs = [f"{_GROUP_SQL[g]} AS {g}" for g in it.group_by]
    keys = ", ".join(_GROUP_SQL[g] for g in it.group_by)
    order = keys
    if it.group_order and value:
        order = f"{value} {'DESC' if it.group_order == 'desc' else 'ASC'}, {keys}"
    return ", ".join(exprs) + ", ", f"\nGROUP BY {keys}", f"\nORDER BY {order}"


def count_sql(it: Intent, lex: Lexicon, defaults: dict) -> str:
    """How many configs match (and, with a fit filter, how many of them (do not) fit)."""
    sel, group, order = _group_select(it, "configs_counted")
    fits = []
    if it.fit_filter is not None:
        fits.append("c.fits_memory IS TRUE" if it.fit_filter else "c.fits_memory IS FALSE")
    if it.pareto_filter:
        fits.append("c.is_pareto")
    fit = " AND ".join(fits)
    counted = f"count(*) FILTER (WHERE {fit})" if fit else "count(*)"
    return (
        f"SELECT {sel}{counted} AS configs_counted, count(*) AS configs_matched\n"
        "FROM configs c JOIN systems s ON s.system_id = c.system_id"
        + _where(config_where(it, lex, defaults))
        + group
        + order
    )


def aggregate_sql(it: Intent, lex: Lexicon, defaults: dict, metric: Metric) -> str:
    """avg/median of a metric over the fitting configs that match, with count and range."""
    fn = {"avg": "avg", "median": "median"}[it.aggregate or "avg"]
    sel, group, order = _group_select(it, f"{fn}_{metric.column}")
    col = mexpr(metric)
    conds = config_where(it, lex, defaults) + ["c.fits_memory IS NOT FALSE", f"{col} IS NOT NULL"]
    return (
        f"SELECT {sel}{fn}({col}) AS {fn}_{metric.column}, count(*) AS configs_aggregated,\n"
        f"  min({col}) AS min_{metric.column}, max({col}) AS max_{metric.column}\n"
        "FROM configs c JOIN systems s ON s.system_id = c.system_id" + _where(conds) + group + order
    )
