"""Schema v1: the tables, their columns, types and documentation.

This module is the contract in ../shared/DESIGN.md made executable. Every table and column
carries a comment (meaning and unit) that is written into the database with COMMENT ON, so
the documentation lives with the data and is rendered from there (see ``coview.store.docs``).
Tables may gain columns; the names below never change.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Column:
    """One column of schema v1: its SQL type, whether ingest requires it, and its meaning."""

    name: str
    sql_type: str
    comment: str
    required: bool = False
    # Values a column may take (checked at ingest); None means any value of its type.
    allowed: tuple[str, ...] | None = None
    # Numeric columns that must be >= 0 (times, sizes, counts, money, power).
    non_negative: bool = False


@dataclass(frozen=True)
class Table:
    """One table of schema v1 with its key columns and documentation."""

    name: str
    comment: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # Large tables carry no PRIMARY KEY index (it would dominate ingest time at 10M rows);
    # ingest validation checks their keys for duplicates instead.
    index_key: bool = True

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name, sql_type, comment, required=False, allowed=None, nn=None):
    numeric = sql_type in ("DOUBLE", "BIGINT", "INTEGER")
    return Column(name, sql_type, comment, required, allowed, numeric if nn is None else nn)


PHASES = ("prefill", "decode")
OP_CLASSES = ("gemm", "attention", "norm", "elementwise", "collective")
BOUNDS = ("compute", "memory", "comm")
WEIGHT_LOCATIONS = ("sram", "hbm")
# op_type values the built-in sweep model emits; importers map onto these where they can.
OP_TYPES = (
    "q_proj",
    "k_proj",
    "v_proj",
    "attn_qk",
    "attn_sv",
    "o_proj",
    "ffn_gate",
    "ffn_up",
    "ffn_down",
    "rmsnorm",
    "all_reduce",
    "lm_head",
)

SWEEPS = Table(
    "sweeps",
    "One ingested sweep: a batch of simulator runs loaded together from one source.",
    (
        _c("sweep_id", "VARCHAR", "Identifier of the sweep (unique in the store).", True),
        _c("name", "VARCHAR", "Human-readable name of the sweep.", True),
        _c(
            "simulator",
            "VARCHAR",
            "Simulator that produced the data (e.g. coview-roofline, llm-analysis).",
        ),
        _c("simulator_version", "VARCHAR", "Version string of the simulator."),
        _c("source_path", "VARCHAR", "Path the sweep was ingested from."),
        _c("ingested_at", "TIMESTAMP", "When the sweep was ingested (UTC)."),
        _c(
            "sim_spec",
            "JSON",
            "The full spec coview's own simulator ran for this sweep (model, systems with their "
            "dtype overrides, grid, efficiency factors, power model, model version), so a "
            "what-if re-simulation with no change reproduces the stored rows bit for bit; "
            "NULL for sweeps from other simulators.",
        ),
    ),
    ("sweep_id",),
)

SYSTEMS = Table(
    "systems",
    "Hardware systems (one chip type each); all figures are per chip.",
    (
        _c("system_id", "VARCHAR", "Identifier of the system (unique in the store).", True),
        _c("name", "VARCHAR", "What a person calls the chip, e.g. 'H100' or 'TPU v5e'.", True),
        _c(
            "vendor",
            "VARCHAR",
            "Vendor of the chip, e.g. 'NVIDIA', 'Google', 'AMD', or 'hypothetical'.",
        ),
        _c("peak_flops_bf16", "DOUBLE", "Peak dense bf16 throughput per chip, in FLOP per second."),
        _c(
            "peak_flops_fp8",
            "DOUBLE",
            "Peak dense fp8 throughput per chip, in FLOP per second; NULL if the chip has no fp8.",
        ),
        _c(
            "peak_ops_int8",
            "DOUBLE",
            "Peak dense int8 throughput per chip, in operations per second; NULL if unsupported.",
        ),
        _c("hbm_bytes", "DOUBLE", "HBM (off-chip memory) capacity per chip, in bytes."),
        _c("hbm_bw_bytes_per_s", "DOUBLE", "HBM bandwidth per chip, in bytes per second."),
        _c(
            "sram_bytes",
            "DOUBLE",
            "On-chip SRAM capacity per chip (scratchpad/VMEM/L2 usable for weights), in bytes.",
        ),
        _c(
            "sram_bw_bytes_per_s", "DOUBLE", "On-chip SRAM bandwidth per chip, in bytes per second."
        ),
        _c(
            "ici_bw_bytes_per_s",
            "DOUBLE",
            "Chip-to-chip interconnect bandwidth per chip (ICI, NVLink, Infinity Fabric), in bytes per second.",
        ),
        _c("tdp_w", "DOUBLE", "Thermal design power per chip, in watts."),
        _c(
            "tco_usd_per_chip_hour",
            "DOUBLE",
            "Total cost of ownership per chip, in US dollars per hour.",
        ),
        _c(
            "source",
            "VARCHAR",
            "Where the figures come from (citation or the simulator's own identifier).",
        ),
    ),
    ("system_id",),
)

MODELS = Table(
    "models",
    "Workload models (decoder-only transformers) and their hyperparameters.",
    (
        _c("model_id", "VARCHAR", "Identifier of the model (unique in the store).", True),
        _c("name", "VARCHAR", "Name of the model, e.g. 'Llama-2-70B'.", True),
        _c("num_layers", "INTEGER", "Number of transformer layers."),
        _c("hidden_size", "INTEGER", "Model (hidden) dimension."),
        _c("num_heads", "INTEGER", "Number of attention (query) heads."),
        _c(
            "num_kv_heads",
            "INTEGER",
            "Number of key/value heads (fewer than num_heads with grouped-query attention).",
        ),
        _c("head_dim", "INTEGER", "Dimension of one attention head."),
        _c("ffn_dim", "INTEGER", "Intermediate dimension of the feed-forward network."),
        _c("vocab_size", "INTEGER", "Vocabulary size."),
        _c("total_params", "DOUBLE", "Total number of parameters."),
        _c("source", "VARCHAR", "Where the hyperparameters come from."),
    ),
    ("model_id",),
)

CONFIGS = Table(
    "configs",
    "One row per simulated execution configuration of a model on a system (inference).",
    (
        _c("config_id", "BIGINT", "Identifier of the configuration (unique in the store).", True),
        _c("sweep_id", "VARCHAR", "Sweep this configuration belongs to (sweeps.sweep_id).", True),
        _c("system_id", "VARCHAR", "System it ran on (systems.system_id).", True),
        _c("model_id", "VARCHAR", "Model it ran (models.model_id).", True),
        _c(
            "phase",
            "VARCHAR",
            "Inference phase: 'prefill' (processing the prompt) or 'decode' (generating one token per step).",
            True,
            PHASES,
        ),
        _c("batch_size", "INTEGER", "Number of sequences processed together (global batch).", True),
        _c("input_len", "INTEGER", "Prompt length, in tokens."),
        _c("output_len", "INTEGER", "Number of generated tokens."),
        _c("tp", "INTEGER", "Tensor-parallel degree (chips one layer is split across).", True),
        _c("pp", "INTEGER", "Pipeline-parallel degree."),
        _c("dp", "INTEGER", "Data-parallel degree."),
        _c("ep", "INTEGER", "Expert-parallel degree."),
        _c("num_chips", "INTEGER", "Total chips used (tp x pp x dp x ep)."),
        _c("weight_dtype", "VARCHAR", "Data type of the weights, e.g. 'bf16', 'int8', 'fp8'."),
        _c("act_dtype", "VARCHAR", "Data type of the activations, e.g. 'bf16', 'int8', 'fp8'."),
        _c("kv_dtype", "VARCHAR", "Data type of the KV cache, e.g. 'bf16', 'int8', 'fp8'."),
        _c(
            "latency_s",
            "DOUBLE",
            "Latency in seconds. prefill: time to process the whole prompt (time to first token); decode: time of one step, i.e. time per output token.",
            True,
        ),
        _c(
            "throughput_tok_per_s",
            "DOUBLE",
            "Tokens processed (prefill) or generated (decode) per second, over all chips.",
        ),
        _c(
            "tco_usd_per_hour",
            "DOUBLE",
            "Total cost of ownership of all chips used, in US dollars per hour.",
        ),
        _c(
            "perf_per_tco",
            "DOUBLE",
            "Performance per TCO: throughput_tok_per_s divided by tco_usd_per_hour (tokens per second per USD per hour); higher is better.",
        ),
        _c("usd_per_1m_tokens", "DOUBLE", "Cost of one million tokens, in US dollars."),
        _c("weight_bytes_per_chip", "DOUBLE", "Bytes of model weights held by each chip."),
        _c("kv_bytes_per_chip", "DOUBLE", "Bytes of KV cache held by each chip."),
        _c(
            "fits_memory",
            "BOOLEAN",
            "True if weights, KV cache and activations fit in one chip's HBM.",
        ),
        _c("power_w", "DOUBLE", "Average power of all chips used, in watts."),
        _c(
            "energy_j",
            "DOUBLE",
            "Energy of one latency_s interval (one prefill or one decode step) over all chips, in joules.",
        ),
        _c(
            "total_flops",
            "DOUBLE",
            "Floating-point operations of one latency_s interval over all chips, in FLOP.",
        ),
        _c(
            "is_pareto",
            "BOOLEAN",
            "True if Pareto-optimal within its (sweep, model, phase, system) on latency_s (lower is better) and perf_per_tco (higher is better), among configurations that fit in memory; computed at ingest.",
        ),
        _c(
            "extra", "JSON", "The simulator's own fields that have no column of their own, as JSON."
        ),
    ),
    ("config_id",),
    index_key=False,
)

OPERATORS = Table(
    "operators",
    "One row per operator per configuration: the roofline breakdown of one step (prefill or one decode step).",
    (
        _c(
            "config_id",
            "BIGINT",
            "Configuration this operator belongs to (configs.config_id).",
            True,
        ),
        _c(
            "op_index",
            "INTEGER",
            "Position of the operator in the configuration's operator list.",
            True,
        ),
        _c(
            "layer_name",
            "VARCHAR",
            "Where the operator sits, e.g. 'decoder' (repeated per layer) or 'head'.",
        ),
        _c(
            "op_type",
            "VARCHAR",
            "Operator type: q_proj, k_proj, v_proj, attn_qk, attn_sv, o_proj, ffn_gate, ffn_up, ffn_down, rmsnorm, all_reduce, lm_head (importers map other names onto these where they mean the same).",
            True,
        ),
        _c(
            "op_class",
            "VARCHAR",
            "Operator class: 'gemm', 'attention', 'norm', 'elementwise' or 'collective'.",
            True,
            OP_CLASSES,
        ),
        _c(
            "count",
            "INTEGER",
            "How many times the operator repeats per step (e.g. once per layer); totals are value x count.",
        ),
        _c("flops", "DOUBLE", "Floating-point operations of one instance on one chip, in FLOP."),
        _c(
            "bytes_read",
            "DOUBLE",
            "Bytes read from memory by one instance on one chip (weights, activations, KV cache).",
        ),
        _c("bytes_written", "DOUBLE", "Bytes written to memory by one instance on one chip."),
        _c(
            "bytes_weight",
            "DOUBLE",
            "Bytes of weights read by one instance on one chip (part of bytes_read).",
        ),
        _c(
            "bytes_comm",
            "DOUBLE",
            "Bytes sent over the interconnect by one instance from one chip.",
        ),
        _c(
            "compute_time_s",
            "DOUBLE",
            "Time one instance would take if limited by compute, in seconds.",
        ),
        _c(
            "memory_time_s",
            "DOUBLE",
            "Time one instance would take if limited by memory bandwidth, in seconds.",
        ),
        _c(
            "comm_time_s",
            "DOUBLE",
            "Time one instance would take if limited by interconnect bandwidth, in seconds.",
        ),
        _c(
            "roofline_time_s",
            "DOUBLE",
            "Time of one instance: the max of compute_time_s, memory_time_s and comm_time_s, in seconds (it hides which one won; see bound).",
        ),
        _c(
            "bound",
            "VARCHAR",
            "Which time is largest: 'compute', 'memory' or 'comm'.",
            False,
            BOUNDS,
        ),
        _c(
            "weights_location",
            "VARCHAR",
            "Where the operator's weights are read from: 'sram', 'hbm', or NULL if it has no weights or the simulator does not say.",
            False,
            WEIGHT_LOCATIONS,
        ),
        _c("power_w", "DOUBLE", "Average power while the operator runs, per chip, in watts."),
        _c("extra", "JSON", "The simulator's own fields for this operator, as JSON."),
    ),
    ("config_id", "op_index"),
    index_key=False,
)

TABLES: tuple[Table, ...] = (SWEEPS, SYSTEMS, MODELS, CONFIGS, OPERATORS)
TABLES_BY_NAME: dict[str, Table] = {t.name: t for t in TABLES}


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def ddl_statements() -> list[str]:
    """CREATE TABLE and COMMENT ON statements for every table and column of schema v1."""
    stmts: list[str] = []
    for table in TABLES:
        parts = [f"{c.name} {c.sql_type}" for c in table.columns]
        if table.index_key:
            parts.append(f"PRIMARY KEY ({', '.join(table.key)})")
        body = ",\n  ".join(parts)
        stmts.append(f"CREATE TABLE IF NOT EXISTS {table.name} (\n  {body}\n)")
        # additive migration: a store made before a column was added gains it (NULL)
        for c in table.columns:
            stmts.append(f"ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS {c.name} {c.sql_type}")
        stmts.append(f"COMMENT ON TABLE {table.name} IS {_sql_str(table.comment)}")
        for c in table.columns:
            stmts.append(f"COMMENT ON COLUMN {table.name}.{c.name} IS {_sql_str(c.comment)}")
    stmts.append("CREATE TABLE IF NOT EXISTS coview_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    stmts.append(
        "COMMENT ON TABLE coview_meta IS 'coview bookkeeping (schema version); not simulator data.'"
    )
    return stmts


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create schema v1 (idempotent) and record its version."""
    for stmt in ddl_statements():
        con.execute(stmt)
    con.execute(
        "INSERT OR REPLACE INTO coview_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
    )


def has_schema(con: duckdb.DuckDBPyConnection) -> bool:
    """True if the connected database already holds the schema v1 tables."""
    names = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
        ).fetchall()
    }
    return all(t.name in names for t in TABLES)
