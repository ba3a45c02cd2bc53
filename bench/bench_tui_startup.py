"""Time from process start to the first full screen: coview vs harlequin, on the same stores.

    python bench/bench_tui_startup.py [--repeat 5] [--configs 1000000] [--harlequin-python PY]

Builds (once, cached in bench/out/) the sample store and a copy whose configs table is the
sample's replicated with DuckDB SQL to ~1,000,000 rows (the first screen reads configs:
summary, count, first page, plot; it never reads operators, so growing operators alone
would prove nothing). Each run is a fresh process started headless at 80x24:
- coview prints READY from its on_ready hook, which runs after the refresh that follows the
  store load (header, filters, plot, table and chat context all filled), then a second
  refresh later (so a late refresh would be counted), and exits;
- harlequin (same store, read-only) prints READY once it is connected and its data catalog
  is drawn (DatabaseConnected and NewCatalog handled, then a refresh).
The parent times Popen -> READY. Runs alternate between the apps; medians compared.
harlequin runs from --harlequin-python (default: this interpreter if it imports harlequin,
else the interpreter of a `harlequin` on PATH); without it only coview is timed.
Last line: `startup coview/harlequin at N configs = R (target <= 1.0); sample store R2`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tui_stores import OUT, sample_and_grown

COVIEW_CHILD = r"""
import sys
from pathlib import Path
from coview.config import Settings
from coview.tui.app import CoviewApp

def ready(app):
    def done():
        print("READY", flush=True)
        app.exit()
    app.call_after_refresh(done)

CoviewApp(Path(sys.argv[1]), settings=Settings(backend="offline"), on_ready=ready).run(
    headless=True, size=(80, 24)
)
"""

HARLEQUIN_CHILD = r"""
import sys
from pathlib import Path
from textual import on
import harlequin
from harlequin import Harlequin
from harlequin.app import DatabaseConnected
from harlequin.messages import NewCatalog
from harlequin_duckdb import DuckDbAdapter

class Timed(Harlequin):
    # defined outside harlequin's package: name its stylesheets by absolute path
    CSS_PATH = [str(Path(harlequin.__file__).parent / p) for p in Harlequin.CSS_PATH]
    seen = set()

    @on(DatabaseConnected)
    def _timed_connected(self, message):
        self._mark("connected")

    @on(NewCatalog)
    def _timed_catalog(self, message):
        self._mark("catalog")

    def _mark(self, what):
        self.seen.add(what)
        if {"connected", "catalog"} <= self.seen:
            self.call_after_refresh(self._done)

    def _done(self):
        print("READY", flush=True)
        self.exit()

adapter = DuckDbAdapter((sys.argv[1],), read_only=True, no_init=True)
Timed(adapter=adapter, record_history=False, no_download_tzdata=True).run(headless=True, size=(80, 24))
"""


def build_stores(target_configs: int) -> tuple[Path, Path]:
    def grow(con) -> None:
        n = con.execute("SELECT count(*) FROM configs").fetchone()[0]
        base = con.execute("SELECT max(config_id) + 1 FROM configs").fetchone()[0]
        copies = -(-target_configs // n)
        # copies are slightly slower than their original, so they are dominated: the
        # frontier (is_pareto) stays the sample's and the copies are plain points
        con.execute(
            "INSERT INTO configs SELECT c.* REPLACE (c.config_id + k * ? AS config_id, "
            "c.latency_s * (1 + k * 1e-4) AS latency_s, FALSE AS is_pareto) "
            "FROM configs c, range(1, ?) r(k)",
            [base, copies],
        )

    return sample_and_grown(f"tui-configs-{target_configs}.duckdb", grow)


def find_harlequin(given: str | None) -> str | None:
    if given:
        return given
    probe = subprocess.run([sys.executable, "-c", "import harlequin"], capture_output=True)
    if probe.returncode == 0:
        return sys.executable
    exe = shutil.which("harlequin")
    if exe:
        first = Path(exe).read_text(errors="replace").splitlines()[0]
        if first.startswith("#!"):
            return first[2:].strip()
    return None


def time_startup(python: str, child: str, store: Path, env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [python, "-c", child, str(store)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    elapsed = None
    for line in proc.stdout:
        if line.startswith("READY"):
            elapsed = time.perf_counter() - t0
            break
    proc.wait(timeout=60)
    if elapsed is None:
        raise SystemExit(f"{python} did not reach its first screen on {store}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--configs", type=int, default=1_000_000)
    ap.add_argument("--harlequin-python", default=None)
    args = ap.parse_args()
    sample, big = build_stores(args.configs)
    import duckdb

    for path in (sample, big):
        con = duckdb.connect(str(path), read_only=True)
        n_cfg = con.execute("SELECT count(*) FROM configs").fetchone()[0]
        n_ops = con.execute("SELECT count(*) FROM operators").fetchone()[0]
        con.close()
        print(f"{path.name}: {n_cfg:,} configs, {n_ops:,} operator rows")
    home = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    env = {
        **os.environ,
        "COVIEW_SESSIONS_DIR": str(OUT / "sessions"),
        # harlequin keeps a catalog cache and history under these: a private, warm one
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
    }
    hq = find_harlequin(args.harlequin_python)
    apps = [("coview", sys.executable, COVIEW_CHILD)]
    if hq:
        apps.append(("harlequin", hq, HARLEQUIN_CHILD))
    else:
        print("harlequin not found (pip install harlequin, or --harlequin-python PY)")
    times: dict[tuple[str, str], list[float]] = {}
    for _name, py, child in apps:  # warm the OS cache, bytecode and harlequin's catalog cache
        for store in (sample, big):
            time_startup(py, child, store, env)
    for _ in range(args.repeat):
        for store_name, store in (("sample", sample), ("big", big)):
            for name, py, child in apps:
                times.setdefault((name, store_name), []).append(time_startup(py, child, store, env))
    med = {k: statistics.median(v) for k, v in times.items()}
    for (name, store_name), m in sorted(med.items()):
        print(f"{name:9} {store_name:6}: median {m * 1e3:.0f} ms ({args.repeat} runs)")
    c_big, c_small = med[("coview", "big")], med[("coview", "sample")]
    print(f"coview big/sample = {c_big / c_small:.2f}")
    if hq:
        h_big, h_small = med[("harlequin", "big")], med[("harlequin", "sample")]
        print(
            f"startup coview/harlequin at {args.configs:,} configs = {c_big / h_big:.2f} "
            f"(target <= 1.0); sample store {c_small / h_small:.2f}"
        )
    else:
        print(f"startup coview big/sample = {c_big / c_small:.2f} (harlequin not installed)")


if __name__ == "__main__":
    main()
