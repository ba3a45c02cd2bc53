"""Benchmark: `coview ingest` of a synthetic native sweep against DuckDB's raw load.

Writes a valid native sweep (default 1,000,000 configs x 10 operators = 10,000,000 operator
rows) as Parquet with DuckDB SQL (``range()`` + ``COPY ... TO``), then, alternating, in fresh
subprocesses on fresh store files in the same directory:
- raw:    ``CREATE TABLE t AS SELECT * FROM read_parquet(file)`` for each of the five files;
- ingest: ``coview.store.ingest.ingest(dir, store)`` (validation, Pareto flags, all-or-nothing).
Each child reports its own wall time around the load (interpreter start-up excluded on both
sides); peak memory (max RSS) of each child comes from ``os.wait4``. Best of --repeat.
The last line is the ratio, e.g. ``ingest/raw = 1.32 (target <= 1.5)``.

    python bench/bench_ingest.py [--configs 1000000] [--ops-per-config 10] [--repeat 2] [--dir D]

With ``--format genz`` it measures the GenZ importer instead: the committed GenZ tables
(sample_data/genz, copied ``--copies`` times into subfolders) ingested with ``--format genz``
against the same rows ingested as native Parquet (converted once), in paired fresh
subprocesses; the last line is the median ratio and the cost per config of each.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb

from coview.store.schema import OP_TYPES

TABLES = ("sweeps", "systems", "models", "configs", "operators")

# op_class of each schema OP_TYPES entry, in the same order.
OP_CLASSES = [
    "gemm",
    "gemm",
    "gemm",
    "attention",
    "attention",
    "gemm",
    "gemm",
    "gemm",
    "gemm",
    "norm",
    "collective",
    "gemm",
]


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def generate(out: Path, n_configs: int, ops_per_config: int) -> None:
    """Write a valid native sweep: every rule of ingest validation passes on it."""
    out.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 'bench' AS sweep_id, 'synthetic benchmark sweep' AS name, "
        f"'bench_ingest' AS simulator, '1' AS simulator_version) TO '{out}/sweeps.parquet'"
    )
    con.execute(
        f"""COPY (SELECT 'sys' || i AS system_id, 'System ' || i AS name, 'hypothetical' AS vendor,
            1e15 * (i + 1) AS peak_flops_bf16, 8e10 AS hbm_bytes, 2e12 AS hbm_bw_bytes_per_s,
            1.5e8 AS sram_bytes, 700.0 AS tdp_w, 2.5 + i AS tco_usd_per_chip_hour, 'synthetic' AS source
            FROM range(4) t(i)) TO '{out}/systems.parquet'"""
    )
    con.execute(
        f"""COPY (SELECT 'llama' AS model_id, 'Llama-2-70B' AS name, 80::INTEGER AS num_layers,
            8192::INTEGER AS hidden_size, 64::INTEGER AS num_heads, 8::INTEGER AS num_kv_heads)
            TO '{out}/models.parquet'"""
    )
    con.execute(
        f"""COPY (SELECT i + 1 AS config_id, 'bench' AS sweep_id, 'sys' || (i % 4) AS system_id,
            'llama' AS model_id, CASE WHEN i % 2 = 0 THEN 'prefill' ELSE 'decode' END AS phase,
            (1 << (i % 9))::INTEGER AS batch_size, 2048::INTEGER AS input_len, 256::INTEGER AS output_len,
            (1 << (i % 5))::INTEGER AS tp, 1::INTEGER AS pp, 1::INTEGER AS dp, 1::INTEGER AS ep,
            (1 << (i % 5))::INTEGER AS num_chips, 'bf16' AS weight_dtype, 'bf16' AS act_dtype,
            'bf16' AS kv_dtype, ((hash(i) % 100000) + 1) / 1e4 AS latency_s,
            (hash(i * 7) % 100000) / 10.0 AS throughput_tok_per_s,
            (1 << (i % 5)) * 2.5 AS tco_usd_per_hour, ((hash(i * 13) % 100000) + 1) / 100.0 AS perf_per_tco,
            1.5 AS usd_per_1m_tokens, 1e9 AS weight_bytes_per_chip, 1e8 AS kv_bytes_per_chip,
            (i % 7 <> 0) AS fits_memory, 700.0 AS power_w, 12.0 AS energy_j, 1e12 AS total_flops
            FROM range({n_configs}) t(i)) TO '{out}/configs.parquet'"""
    )
    con.execute(
        f"""COPY (SELECT c AS config_id, j::INTEGER AS op_index, 'decoder' AS layer_name,
            {_list(OP_TYPES)}[j % 12 + 1] AS op_type, {_list(OP_CLASSES)}[j % 12 + 1] AS op_class,
            80::INTEGER AS count, 1e9 + i AS flops, 1e6 + i AS bytes_read, 1e5 AS bytes_written,
            1e6 AS bytes_weight, CAST(0 AS DOUBLE) AS bytes_comm,
            ct AS compute_time_s, mt AS memory_time_s, CAST(0 AS DOUBLE) AS comm_time_s,
            greatest(ct, mt) AS roofline_time_s,
            CASE WHEN ct >= mt THEN 'compute' ELSE 'memory' END AS bound,
            CASE WHEN j % 3 = 0 THEN 'sram' WHEN j % 3 = 1 THEN 'hbm' END AS weights_location,
            300.0 AS power_w
            FROM (SELECT i, i // {ops_per_config} + 1 AS c, i % {ops_per_config} AS j,
                         (hash(i) % 1000 + 1) * 1e-6 AS ct, (hash(i + 1) % 1000 + 1) * 1e-6 AS mt
                  FROM range({n_configs * ops_per_config}) t(i)))
            TO '{out}/operators.parquet'"""
    )
    con.close()


RAW_CHILD = """
import duckdb, json, sys, time
data, store = sys.argv[1], sys.argv[2]
t = time.perf_counter()
con = duckdb.connect(store)
for table in {tables!r}:
    con.execute(f"CREATE TABLE {{table}} AS SELECT * FROM read_parquet('{{data}}/{{table}}.parquet')")
con.close()
print(json.dumps({{"seconds": time.perf_counter() - t}}))
"""

INGEST_CHILD = """
import json, sys, time
from pathlib import Path
from coview.store.ingest import ingest
data, store = sys.argv[1], sys.argv[2]
t = time.perf_counter()
report = ingest([Path(data)], Path(store), progress=False)
print(json.dumps({"seconds": time.perf_counter() - t, "summary": report.summary()}))
"""


def run_child(code: str, data: Path, store: Path) -> dict:
    """Run one load in a fresh interpreter; its own timing plus its peak RSS (os.wait4)."""
    for p in (store, Path(f"{store}.wal")):
        p.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(data), str(store)], stdout=subprocess.PIPE, text=True
    )
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}): {out}")
    result = json.loads(out.strip().splitlines()[-1])
    result["max_rss_mb"] = usage.ru_maxrss / 1024  # Linux reports KiB
    result["store_mb"] = store.stat().st_size / 1e6
    return result


GENZ_CHILD = """
import json, sys, time
from pathlib import Path
from coview.store.ingest import ingest
data, store = sys.argv[1], sys.argv[2]
t = time.perf_counter()
report = ingest([Path(data)], Path(store), fmt="genz", progress=False)
print(json.dumps({"seconds": time.perf_counter() - t, "summary": report.summary()}))
"""


def genz_bench(args: argparse.Namespace, work: Path) -> int:
    """--format genz: GenZ CSV import vs native Parquet of the same rows, paired, median."""
    import statistics

    from coview.sample_data import SAMPLE_DIR
    from coview.store.importers.genz import load

    src = SAMPLE_DIR / "genz"
    csv_dir = work / "genz"
    for i in range(args.copies):
        sub = csv_dir / f"copy{i:03d}"
        sub.mkdir(parents=True)
        for f in src.glob("genz_*.csv"):
            shutil.copy(f, sub / f.name)
    native = work / "native"
    native.mkdir()
    for table, frame in load([csv_dir]).items():
        frame.write_parquet(native / f"{table}.parquet")
    n = len(list(csv_dir.rglob("genz_*.csv")))
    g_runs, n_runs = [], []
    for i in range(args.repeat):
        g_runs.append(run_child(GENZ_CHILD, csv_dir, work / "genz.duckdb"))
        n_runs.append(run_child(INGEST_CHILD, native, work / "native.duckdb"))
        print(
            f"run {i + 1}: --format genz {g_runs[-1]['seconds']:.2f} s, native {n_runs[-1]['seconds']:.2f} s"
        )
    print(g_runs[-1]["summary"])
    ratios = [g["seconds"] / r["seconds"] for g, r in zip(g_runs, n_runs, strict=True)]
    g_med = statistics.median(r["seconds"] for r in g_runs)
    n_med = statistics.median(r["seconds"] for r in n_runs)
    print(
        f"genz/native = {statistics.median(ratios):.2f} (median of {args.repeat} pairs; "
        f"{n} configs: {g_med / n * 1e3:.1f} ms vs {n_med / n * 1e3:.1f} ms per config)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--format", choices=("native", "genz"), default="native")
    ap.add_argument("--copies", type=int, default=10, help="--format genz: copies of the sample")
    ap.add_argument("--configs", type=int, default=1_000_000)
    ap.add_argument("--ops-per-config", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument(
        "--dir", type=Path, default=None, help="work directory (default: a temp dir, removed after)"
    )
    args = ap.parse_args(argv)

    work = args.dir or Path(tempfile.mkdtemp(prefix="coview-bench-ingest-"))
    data = work / "sweep"
    if args.format == "genz":
        try:
            return genz_bench(args, work)
        finally:
            if args.dir is None:
                shutil.rmtree(work, ignore_errors=True)
    try:
        t = time.perf_counter()
        generate(data, args.configs, args.ops_per_config)
        size = sum(p.stat().st_size for p in data.iterdir()) / 1e6
        print(
            f"generated {args.configs:,} configs and {args.configs * args.ops_per_config:,} "
            f"operator rows ({size:.0f} MB Parquet) in {time.perf_counter() - t:.1f} s"
        )
        raw_runs, ingest_runs = [], []
        for i in range(args.repeat):
            raw_runs.append(run_child(RAW_CHILD.format(tables=TABLES), data, work / "raw.duckdb"))
            ingest_runs.append(run_child(INGEST_CHILD, data, work / "ingest.duckdb"))
            print(
                f"run {i + 1}: raw CTAS {raw_runs[-1]['seconds']:.2f} s, "
                f"coview ingest {ingest_runs[-1]['seconds']:.2f} s"
            )
        print(ingest_runs[-1]["summary"])
        raw = min(r["seconds"] for r in raw_runs)
        ing = min(r["seconds"] for r in ingest_runs)
        print(
            f"raw CTAS:      {raw:.2f} s (best of {args.repeat}), peak RSS "
            f"{max(r['max_rss_mb'] for r in raw_runs):.0f} MB, store {raw_runs[-1]['store_mb']:.0f} MB"
        )
        print(
            f"coview ingest: {ing:.2f} s (best of {args.repeat}), peak RSS "
            f"{max(r['max_rss_mb'] for r in ingest_runs):.0f} MB, store {ingest_runs[-1]['store_mb']:.0f} MB"
        )
        ratio = ing / raw
        print(f"ingest/raw = {ratio:.2f} (target <= 1.5)")
        return 0
    finally:
        if args.dir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
