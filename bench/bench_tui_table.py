"""Time for one selection move (j) in a 100,000-row configs table to be handled and repainted.

    python bench/bench_tui_table.py [--rows 100000] [--moves 60]

Builds (once, cached in bench/out/) a store whose configs table is the sample's replicated
with DuckDB SQL to ~100,000 rows. The app runs headless at 160x48 (wide layout: table, plot,
detail and chat all on screen); after a warm-up, each move is `press j` + `pause` (the key
handled, the screen repainted). The table is paged (200 rows per page, LIMIT n+1), so moves
that cross a page boundary fetch the next page from DuckDB; the measured moves include them.
The same moves on the 1,530-row sample store are printed side by side.
Last line: `selection move: median M ms, p95 P ms in a N-row table (target < 50 ms)`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from tui_stores import OUT, sample_and_grown


def build_store(rows: int) -> tuple[Path, Path]:
    def grow(con) -> None:
        n = con.execute("SELECT count(*) FROM configs").fetchone()[0]
        base = con.execute("SELECT max(config_id) + 1 FROM configs").fetchone()[0]
        copies = max(1, -(-rows // n)) - 1
        con.execute(
            "INSERT INTO configs SELECT c.* REPLACE (c.config_id + k * ? AS config_id, "
            "c.latency_s * (1 + k * 1e-4) AS latency_s) FROM configs c, range(1, ?) r(k)",
            [base, copies + 1],
        )

    return sample_and_grown(f"tui-configs-{rows}.duckdb", grow)


async def time_moves(store: Path, moves: int) -> tuple[int, list[float], list[float]]:
    from coview.config import Settings
    from coview.tui.app import CoviewApp

    app = CoviewApp(store, settings=Settings(backend="offline"))
    times: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.pause()
        await pilot.press("p")  # decode -> all phases: the whole table
        await pilot.pause()
        await pilot.press("f3")
        await pilot.pause()
        noop: list[float] = []
        for _ in range(moves):  # the harness's own cost: a key no binding handles
            t0 = time.perf_counter()
            await pilot.press("z")
            await pilot.pause()
            noop.append(time.perf_counter() - t0)
        for _ in range(5):  # warm-up
            await pilot.press("j")
            await pilot.pause()
        for _ in range(moves):
            t0 = time.perf_counter()
            await pilot.press("j")
            await pilot.pause()
            times.append(time.perf_counter() - t0)
        total = app.total or 0
        # the plot follows the table once the cursor rests (coalesced); its repaint cost:
        from coview.tui.widgets import ParetoPlot

        plot = app.query_one(ParetoPlot)
        t0 = time.perf_counter()
        for _ in range(5):
            plot.render()
        print(
            f"  plot repaint after the cursor rests: {(time.perf_counter() - t0) / 5 * 1e3:.1f} ms"
        )
    return total, times, noop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--moves", type=int, default=60)
    args = ap.parse_args()
    os.environ.setdefault("COVIEW_SESSIONS_DIR", str(OUT / "sessions"))
    sample, big = build_store(args.rows)
    results = {}
    for name, path in (("sample", sample), ("big", big)):
        total, times, noop = asyncio.run(time_moves(path, args.moves))
        times.sort()
        base = statistics.median(noop) * 1e3
        med = statistics.median(times) * 1e3
        p95 = times[int(0.95 * (len(times) - 1))] * 1e3
        results[name] = (total, med - base, p95 - base)
        print(
            f"{name}: {total:,} rows; press j + repaint median {med:.1f} ms, p95 {p95:.1f} ms; "
            f"harness no-op key {base:.1f} ms; move cost {med - base:.1f} ms (p95 {p95 - base:.1f})"
        )
    total, med, p95 = results["big"]
    print(f"big/sample move cost = {med / max(results['sample'][1], 0.1):.2f}")
    print(
        f"selection move: {med:.1f} ms median (p95 {p95:.1f} ms) in a {total:,}-row table, "
        "net of the test harness's no-op key (target < 50 ms)"
    )


if __name__ == "__main__":
    main()
