"""Benchmark: coview's Pareto SQL against the `paretoset` package on the same configs.

Generates N configs (default 1,000,000) once in DuckDB over 16 groups (2 sweeps x 4 systems
x 2 phases), latencies rounded to 1 ms so ties and exact duplicates occur, in two shapes:
- trade-off: perf_per_tco grows with latency (bigger batches buy throughput per dollar with
  latency), perf = 100 sqrt(latency) (1 - 1% noise). This is the shape of real sweeps; the
  frontier holds ~6% of the points (the bundled sample sweep: ~14%).
- uniform: latency and perf_per_tco independent and uniform. The frontier is tiny (~10
  points per group); this is paretoset's best case, shown for honesty.
For each, on the same rows:
- coview: ``update_pareto(con)``, the UPDATE that writes configs.is_pareto as ingest does
  (on a fresh copy of the table each repeat);
- reference: ``paretoset(df, sense=[diff x4, min, max], distinct=False)`` over the rows that
  fit in memory (``diff`` columns are paretoset's own group-by; distinct=False keeps every
  duplicate of a frontier point, as DESIGN.md's definition does), on a fresh DataFrame each
  repeat, after a small warm-up call (its first call pays ~9 s of one-time initialisation).
Checks the sets are identical, prints both times (best of --repeat) and, on the last line,
the speedup on the trade-off data, with the uniform case beside it.

    python bench/bench_pareto.py [--configs 1000000] [--repeat 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import time

import duckdb

from coview.store.pareto import update_pareto
from coview.store.schema import create_schema

GROUP = ["sweep_id", "model_id", "phase", "system_id"]


SHAPES = {
    "trade-off": "round(100 * sqrt(lat) * (1 - 0.01 * random()), 2)",
    "uniform": "round(random() * 1000, 1)",
}
QUERY = (
    "SELECT config_id, sweep_id, model_id, phase, system_id, latency_s, perf_per_tco "
    "FROM configs_src WHERE fits_memory AND latency_s IS NOT NULL AND perf_per_tco IS NOT NULL"
)


def make_configs(con: duckdb.DuckDBPyConnection, n: int, shape: str) -> None:
    """configs_src: synthetic configs in 16 groups, generated once and shared by both sides."""
    create_schema(con)
    con.execute(
        f"""
        CREATE OR REPLACE TABLE configs_src AS
        SELECT i + 1 AS config_id, 'sweep' || (i % 2) AS sweep_id, 'sys' || ((i // 2) % 4) AS system_id,
               'llama' AS model_id,
               CASE WHEN (i // 8) % 2 = 0 THEN 'prefill' ELSE 'decode' END AS phase,
               CASE WHEN random() < 0.01 THEN NULL ELSE lat END AS latency_s,
               {SHAPES[shape]} AS perf_per_tco,
               random() < 0.85 AS fits_memory
        FROM (SELECT i, round(random() * 10, 3) + 0.001 AS lat FROM range({n}) t(i))
        """
    )


def time_coview(con: duckdb.DuckDBPyConnection) -> tuple[float, set[int]]:
    con.execute("DELETE FROM configs")
    con.execute(
        "INSERT INTO configs (config_id, sweep_id, system_id, model_id, phase, latency_s, "
        "perf_per_tco, fits_memory) SELECT * FROM configs_src"
    )
    t = time.perf_counter()
    update_pareto(con)
    elapsed = time.perf_counter() - t
    ids = {r[0] for r in con.execute("SELECT config_id FROM configs WHERE is_pareto").fetchall()}
    return elapsed, ids


def time_paretoset(con: duckdb.DuckDBPyConnection) -> tuple[float, set[int]]:
    from paretoset import paretoset

    df = con.execute(QUERY).df()
    t = time.perf_counter()
    mask = paretoset(
        df[[*GROUP, "latency_s", "perf_per_tco"]],
        sense=["diff"] * 4 + ["min", "max"],
        distinct=False,
    )
    elapsed = time.perf_counter() - t
    return elapsed, set(df.loc[mask, "config_id"].tolist())


def warm_up() -> None:
    """paretoset's first call pays a one-time initialisation; keep it out of the timing."""
    import pandas as pd
    from paretoset import paretoset

    small = pd.DataFrame({"g": ["a", "b", "a"], "lat": [1.0, 2.0, 3.0], "perf": [1.0, 2.0, 3.0]})
    paretoset(small, sense=["diff", "min", "max"], distinct=False)


def run_shape(shape: str, n: int, repeat: int, seed: int) -> tuple[float, float, bool]:
    con = duckdb.connect()
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})").fetchall()
    make_configs(con, n, shape)
    fits = con.execute(f"SELECT count(*) FROM ({QUERY})").fetchall()[0][0]
    sql_times, ref_times = [], []
    for _ in range(repeat):
        t, sql_ids = time_coview(con)
        sql_times.append(t)
        t, ref_ids = time_paretoset(con)
        ref_times.append(t)
    con.close()
    same = sql_ids == ref_ids
    print(f"{shape}: {n:,} configs, {fits:,} fit in memory, {len(sql_ids):,} on the frontier")
    print(
        f"  coview SQL (update_pareto): {min(sql_times):.3f} s   paretoset: {min(ref_times):.3f} s   identical sets: {'yes' if same else 'NO'}"
    )
    if not same:
        print(
            f"  only coview: {sorted(sql_ids - ref_ids)[:10]}  only paretoset: {sorted(ref_ids - sql_ids)[:10]}"
        )
    return min(sql_times), min(ref_times), same


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)

    warm_up()
    print(f"best of {args.repeat}; 16 groups (2 sweeps x 4 systems x 2 phases)")
    uni_sql, uni_ref, uni_same = run_shape("uniform", args.configs, args.repeat, args.seed)
    tr_sql, tr_ref, tr_same = run_shape("trade-off", args.configs, args.repeat, args.seed)
    same = uni_same and tr_same
    print(
        f"paretoset/coview = {tr_ref / tr_sql:.1f}x on trade-off data (target >= 10x); "
        f"{uni_ref / uni_sql:.1f}x on independent uniform data"
        + ("" if same else "; RESULTS DIFFER")
    )
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
