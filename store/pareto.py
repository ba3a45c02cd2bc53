"""Pareto flags (`configs.is_pareto`) computed in SQL, in O(n log n).

Definition (DESIGN.md): a configuration is Pareto-optimal within its (sweep_id, model_id,
phase, system_id) on latency_s (lower is better) and perf_per_tco (higher is better), among
the configurations that fit in memory. Configurations that do not fit, or lack latency_s or
perf_per_tco, are never on the frontier (is_pareto = false). A point is dominated iff another
point has latency <= and perf >= with at least one of the two strict; exact duplicates of a
frontier point are all on the frontier.

Why the SQL is right, without a pairwise self-join:
0. ``grp`` numbers the (sweep_id, model_id, phase, system_id) groups, so the heavy steps below
   group, sort and join on two numbers instead of four strings (about 2x faster at 1M rows).
1. ``best`` collapses each group to one row per distinct latency with ``m``, the best
   perf_per_tco at that latency. A point whose perf is below ``m`` is dominated by a point of
   equal latency and strictly higher perf.
2. ``front`` takes, over the distinct latencies sorted ascending, the running maximum of ``m``
   over the strictly faster latencies (``ROWS ... 1 PRECEDING``): ``best_faster``. A point with
   perf <= best_faster is dominated by a strictly faster point that is at least as good.
3. Every other point (perf = m and perf > best_faster, or no faster point) is undominated.
Cost: hash aggregates, one sorted window over the distinct latencies, hash joins: O(n log n).
"""

from __future__ import annotations

import duckdb

#: The configurations on the frontier. ``$sweeps`` is a VARCHAR[] of sweep ids, or NULL for all.
PARETO_SQL = """
WITH grp AS (
    SELECT sweep_id, model_id, phase, system_id, row_number() OVER () AS g
    FROM (
        SELECT DISTINCT sweep_id, model_id, phase, system_id
        FROM configs
        WHERE $sweeps IS NULL OR list_contains($sweeps, sweep_id)
    )
), c AS (
    SELECT config_id, g, latency_s AS lat, perf_per_tco AS perf
    FROM configs JOIN grp USING (sweep_id, model_id, phase, system_id)
    WHERE fits_memory AND latency_s IS NOT NULL AND perf_per_tco IS NOT NULL
), best AS (
    SELECT g, lat, max(perf) AS m
    FROM c
    GROUP BY g, lat
), front AS (
    SELECT *,
           max(m) OVER (
               PARTITION BY g
               ORDER BY lat
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
           ) AS best_faster
    FROM best
)
SELECT c.config_id
FROM c
JOIN front f USING (g, lat)
WHERE c.perf = f.m AND (f.best_faster IS NULL OR f.best_faster < f.m)
"""

#: Sets is_pareto for every configuration of the chosen sweeps (true on the frontier, else false).
UPDATE_SQL = f"""
UPDATE configs
SET is_pareto = config_id IN (SELECT config_id FROM ({PARETO_SQL}))
WHERE $sweeps IS NULL OR list_contains($sweeps, sweep_id)
"""


def pareto_config_ids(
    con: duckdb.DuckDBPyConnection, sweep_ids: list[str] | None = None
) -> set[int]:
    """The config_ids on the frontier (without writing anything), e.g. for checks and benchmarks."""
    rows = con.execute(PARETO_SQL, {"sweeps": sweep_ids}).fetchall()
    return {r[0] for r in rows}


def update_pareto(con: duckdb.DuckDBPyConnection, sweep_ids: list[str] | None = None) -> int:
    """Recompute configs.is_pareto for the given sweeps (all when None); returns the frontier size."""
    con.execute(UPDATE_SQL, {"sweeps": sweep_ids})
    return con.execute(
        "SELECT count(*) FROM configs WHERE is_pareto "
        "AND ($sweeps IS NULL OR list_contains($sweeps, sweep_id))",
        {"sweeps": sweep_ids},
    ).fetchall()[0][0]
