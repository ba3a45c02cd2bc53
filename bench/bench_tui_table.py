"""Time for one selection move (j) in a 100,000-row configs table to be handled and repainted.

    python bench/bench_tui_table.py [--rows 100000] [--moves 60]

Builds (once, cached in bench/out/) a store whose configs table is the sample's replicated
with DuckDB SQL to ~100,000 rows. The app runs headless at 160x48 (wide layout: table, plot,
detail and chat all on screen); after a warm-up, each move is `press j` + `pause` (the key
handled, the screen repainted), timed from the binding's action to the last frame the move
caused, without the test harness's key delivery. The table is paged (200 rows per page, LIMIT n+1), so moves
that cross a page boundary fetch the next page from DuckDB; the measured moves include them.
The same moves on the 1,530-row sample store are printed side by side.
Last line: `selection move: M ms median (p95 P ms) in a N-row table, ... (target < 50 ms)`.
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
    """(rows, move costs, press-to-idle times). A move's cost runs from the j binding's
    action to the last frame it caused (the compositor's update, which a headless app
    computes and then does not write), so the test harness's own key delivery and idle
    wait, which cost several times the move, are not in it."""
    from coview.config import Settings
    from coview.tui.app import CoviewApp
    from coview.tui.configs import ConfigsTable

    app = CoviewApp(store, settings=Settings(backend="offline"))
    marks: dict[str, float] = {}
    original_display = app._display

    def display(screen, renderable) -> None:
        original_display(screen, renderable)
        if renderable is not None and "t0" in marks:
            marks["last"] = time.perf_counter()

    app._display = display  # the app calls self._display for every frame
    original_down = ConfigsTable.action_cursor_down

    def timed_down(self) -> None:
        marks.clear()
        marks["t0"] = time.perf_counter()
        original_down(self)

    ConfigsTable.action_cursor_down = timed_down
    times: list[float] = []
    harness: list[float] = []
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            await pilot.pause()
            await pilot.press("p")  # decode -> all phases: the whole table
            await pilot.pause()
            await pilot.press("f3")
            await pilot.pause()
            for _ in range(5):  # warm-up
                await pilot.press("j")
                await pilot.pause()
            for _ in range(moves):
                t0 = time.perf_counter()
                await pilot.press("j")
                await pilot.pause()
                harness.append(time.perf_counter() - t0)
                if "last" in marks:
                    times.append(marks["last"] - marks["t0"])
            total = app.total or 0
            from coview.tui.plot import ParetoPlot

            plot = app.query_one(ParetoPlot)
            t0 = time.perf_counter()
            for _ in range(5):
                plot.render()
            patched = (time.perf_counter() - t0) / 5 * 1e3
            t0 = time.perf_counter()
            for _ in range(5):
                plot._base = None  # as after new data: the figure is rebuilt
                plot.render()
            rebuilt = (time.perf_counter() - t0) / 5 * 1e3
            print(
                f"  plot repaint after the cursor rests: {patched:.1f} ms "
                f"(highlight patched into the cached figure; a rebuild for new data: "
                f"{rebuilt:.1f} ms)"
            )
    finally:
        ConfigsTable.action_cursor_down = original_down
    return total, times, harness


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--moves", type=int, default=60)
    args = ap.parse_args()
    os.environ.setdefault("COVIEW_SESSIONS_DIR", str(OUT / "sessions"))
    sample, big = build_store(args.rows)
    results = {}
    for name, path in (("sample", sample), ("big", big)):
        total, times, harness = asyncio.run(time_moves(path, args.moves))
        times.sort()
        med = statistics.median(times) * 1e3
        p95 = times[int(0.95 * (len(times) - 1))] * 1e3
        results[name] = (total, med, p95)
        print(
            f"{name}: {total:,} rows; move (action to last frame) median {med:.1f} ms, "
            f"p95 {p95:.1f} ms, {len(times)} moves; harness press+idle median "
            f"{statistics.median(harness) * 1e3:.1f} ms"
        )
    total, med, p95 = results["big"]
    print(f"big/sample move cost = {med / max(results['sample'][1], 0.01):.2f}")
    print(
        f"selection move: {med:.1f} ms median (p95 {p95:.1f} ms) in a {total:,}-row table, "
        "from the key's action to its last frame (target < 50 ms)"
    )


if __name__ == "__main__":
    main()
