"""Time from process start to the TUI's first full screen: sample store vs 10M operator rows.

    python bench/bench_tui_startup.py [--repeat 5] [--ops 10000000]

Builds (once, cached in bench/out/) the sample store and a copy whose operators table is the
sample's operators replicated with DuckDB SQL to ~10,000,000 rows (configs unchanged). Each
run is a fresh `python` process that starts the app headless at 80x24 and prints READY from
the app's on_ready hook (called after the first refresh with the plot, table and navigator
filled); the parent times Popen -> READY. Runs alternate between the stores; medians compared.
Last line: `startup big/sample = R (target <= 1.2)`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tui_stores import OUT, sample_and_grown

CHILD = r"""
import sys
from pathlib import Path
from coview.config import Settings
from coview.tui.app import CoviewApp

def ready(app):
    print("READY", flush=True)
    app.exit()

CoviewApp(Path(sys.argv[1]), settings=Settings(backend="offline"), on_ready=ready).run(
    headless=True, size=(80, 24)
)
"""


def build_stores(target_ops: int) -> tuple[Path, Path]:
    def grow(con) -> None:
        n = con.execute("SELECT count(*) FROM operators").fetchone()[0]
        copies = max(1, target_ops // max(n, 1))
        stride = con.execute("SELECT max(op_index) + 1 FROM operators").fetchone()[0]
        # replicate every config's operators `copies` times (new op_index values), ordered by
        # config so a drill-down still reads few row groups
        con.execute(
            "CREATE TABLE ops_big AS SELECT o.* REPLACE (o.op_index + k * ? AS op_index) "
            "FROM operators o, range(?) r(k) ORDER BY o.config_id, k, o.op_index",
            [stride, copies],
        )
        con.execute("DELETE FROM operators")
        con.execute("INSERT INTO operators SELECT * FROM ops_big")
        con.execute("DROP TABLE ops_big")

    return sample_and_grown(f"tui-ops-{target_ops}.duckdb", grow)


def time_startup(store: Path) -> float:
    env = {**os.environ, "COVIEW_SESSIONS_DIR": str(OUT / "sessions")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    for line in proc.stdout:
        if line.startswith("READY"):
            elapsed = time.perf_counter() - t0
            break
    else:
        proc.wait()
        raise SystemExit(f"the app did not start on {store} (exit {proc.returncode})")
    proc.wait(timeout=30)
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--ops", type=int, default=10_000_000)
    args = ap.parse_args()
    sample, big = build_stores(args.ops)
    import duckdb

    for path in (sample, big):
        con = duckdb.connect(str(path), read_only=True)
        n_ops = con.execute("SELECT count(*) FROM operators").fetchone()[0]
        n_cfg = con.execute("SELECT count(*) FROM configs").fetchone()[0]
        con.close()
        print(
            f"{path.name}: {n_cfg:,} configs, {n_ops:,} operator rows, {path.stat().st_size / 1e6:.0f} MB"
        )
    time_startup(sample)  # warm the OS cache and Python's bytecode cache
    time_startup(big)
    small_t, big_t = [], []
    for _ in range(args.repeat):
        small_t.append(time_startup(sample))
        big_t.append(time_startup(big))
    s, b = statistics.median(small_t), statistics.median(big_t)
    print(f"sample store: median {s * 1e3:.0f} ms to first full screen ({args.repeat} runs)")
    print(f"10M-operator store: median {b * 1e3:.0f} ms")
    print(f"startup big/sample = {b / s:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
