"""Benchmark: offline `ask` latency in-process on the sample store and a 10M-operator store,
and the whole `coview ask` process on the sample store beside the in-process figure.

The big store is the sample sweep replicated into many sweeps with DuckDB SQL (new sweep and
config ids, same schema v1 rows, operators stored in config_id order as ingest writes them),
built once and cached under bench/out/. The same fixed questions run N times on both stores
through the real Pipeline (selector, guard, read-only runner, answerer, grounding check).
The whole-process figure runs `python -m coview ask Q --store sample --backend offline` as a
fresh subprocess, paired with the same question asked in-process (median of the pairs); its
import breakdown comes from one `python -X importtime` run. Beside it runs the floor: a bare
interpreter importing typer, duckdb and sqlglot's DuckDB dialect and creating two DuckDB
instances, which `coview ask` cannot go below. The last line prints the in-process medians and
ratio, then the process median (wall and CPU) against its 250 ms target and the floor.

    python bench/bench_ask.py [--runs 5] [--ops 10000000] [--rebuild] [--process-only]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

OUT = Path(__file__).resolve().parent / "out"

QUESTIONS = [
    "What is the decode latency of H100 at batch 8, TP 8, bf16?",
    "h100 vs mi300x decode latency bs 8 tp 8 bf16",
    "best perf/$ on v5e?",
    "Which system has the best performance per TCO for decode?",
    "throughput of h100 at batch 16",
    "What is the HBM capacity of the H100 SXM?",
    "which op takes longest on xpu-b decode b64 tp4",
    "what share of time goes to collectives on h100 decode b8 tp8 bf16",
    "is q_proj compute or memory bound on h100 decode batch 256 tp 8 bf16",
    "which operator differs most between xPU-A and xPU-B at decode batch 8, TP 16, int8",
    "how does h100 decode latency scale with batch size at tp 8 in bf16",
    "pareto frontier of mi300x decode",
    "does llama 2 70b fit on one h100 in bf16?",
    "What is the decode latency of B200 at batch 8?",
]


def sample_store() -> Path:
    """The sample sweep ingested into bench/out/sample.duckdb (rebuilt if missing)."""
    from coview.sample_data import DEFAULT_SWEEP
    from coview.store.ingest import ingest

    path = OUT / "sample.duckdb"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        ingest([DEFAULT_SWEEP], tmp, fmt="native", progress=False)
        tmp.replace(path)
    return path


def build_big_store(src: Path, target_ops: int, rebuild: bool) -> Path:
    """Replicate the sample sweep until the store holds about target_ops operator rows."""
    path = OUT / f"big-{target_ops // 1_000_000}M.duckdb"
    if path.exists() and not rebuild:
        return path
    from coview.store.schema import create_schema

    con = duckdb.connect(str(src), read_only=True)
    n_ops, max_id = con.execute(
        "SELECT count(*), (SELECT max(config_id) FROM configs) FROM operators"
    ).fetchone()
    con.close()
    copies = max(1, -(-target_ops // n_ops))  # ceil
    stride = 10 ** len(str(max_id))
    print(f"building {path.name}: {copies} copies of {n_ops:,} operator rows ...", flush=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=OUT) as td:
        tmp = Path(td) / "big.duckdb"
        con = duckdb.connect(str(tmp))
        create_schema(con)
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        con.execute("INSERT INTO systems SELECT * FROM src.systems")
        con.execute("INSERT INTO models SELECT * FROM src.models")
        # replica 0 keeps the original ids and is the newest sweep
        con.execute(
            "INSERT INTO sweeps SELECT w.* REPLACE ("
            " CASE WHEN k = 0 THEN sweep_id ELSE sweep_id || '-r' || k END AS sweep_id,"
            " CASE WHEN k = 0 THEN name ELSE name || ' (replica ' || k || ')' END AS name,"
            " TIMESTAMP '2026-01-01' + to_seconds((? - k)::BIGINT) AS ingested_at)"
            " FROM src.sweeps w, range(?) t(k)",
            [copies, copies],
        )
        con.execute(
            "INSERT INTO configs SELECT c.* REPLACE ("
            " config_id + k * ? AS config_id,"
            " CASE WHEN k = 0 THEN sweep_id ELSE sweep_id || '-r' || k END AS sweep_id)"
            " FROM src.configs c, range(?) t(k) ORDER BY k, c.config_id",
            [stride, copies],
        )
        con.execute(
            "INSERT INTO operators SELECT o.* REPLACE (config_id + k * ? AS config_id)"
            " FROM src.operators o, range(?) t(k) ORDER BY k, o.config_id, o.op_index",
            [stride, copies],
        )
        con.execute("DETACH src")
        total = con.execute("SELECT count(*) FROM operators").fetchone()[0]
        con.close()
        tmp.replace(path)
    print(f"built {total:,} operator rows in {time.perf_counter() - t0:.0f} s", flush=True)
    return path


def time_store(store: Path, runs: int) -> tuple[float, list[str]]:
    """Median ms per question over all runs; the pipeline is built once, like the TUI does."""
    from coview.engine.pipeline import Pipeline

    pipe = Pipeline(store, backend="offline")
    problems = []
    for q in QUESTIONS:  # warm-up: first query of each shape, lexicon load
        r = pipe.ask(q)
        if r.status == "error" or (r.status == "answered" and not r.grounding.ok):
            problems.append(f"{q!r}: {r.status} {r.answer[:120]}")
    times = []
    for _ in range(runs):
        for q in QUESTIONS:
            t = time.perf_counter()
            pipe.ask(q)
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), problems


PROCESS_QUESTIONS = QUESTIONS[:3] + QUESTIONS[-1:]  # answered, compared, superlative, refused
PROCESS_TARGET_MS = 250


def _ask_cmd(store: Path, q: str, importtime: bool = False) -> list[str]:
    x = ["-X", "importtime"] if importtime else []
    return [
        sys.executable,
        *x,
        "-m",
        "coview",
        "ask",
        q,
        "--store",
        str(store),
        "--backend",
        "offline",
    ]


# The floor no change to coview can go below: the interpreter importing the libraries every
# `coview ask` needs (typer for the CLI, duckdb for the store, sqlglot's DuckDB dialect for
# the guard, which parses and regenerates every SQL) and creating the two DuckDB instances
# the safety design needs (the store read by coview itself, the runner's sandbox).
FLOOR_CODE = (
    "import typer, duckdb, sqlglot; "
    "sqlglot.parse_one('SELECT 1', dialect='duckdb').sql(dialect='duckdb'); "
    "duckdb.connect(':memory:').close(); duckdb.connect(':memory:').close()"
)


def _run_child(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + sys of the child) ms of one subprocess run."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, capture_output=True, env=env)
    wall = (time.perf_counter() - t) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu * 1000


def time_process(store: Path, runs: int) -> dict[str, float | list[str]]:
    """Medians (ms) of the whole `coview ask` process (wall and CPU), of the floor process
    (FLOOR_CODE) and of the same questions in-process, paired: each process run is followed
    by a floor run and the in-process ask of its question. CPU time is printed beside wall
    time: on a shared machine wall time mostly measures the other users."""
    from coview.engine.pipeline import Pipeline

    pipe = Pipeline(store, backend="offline")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    problems = []
    for q in PROCESS_QUESTIONS:  # warm-up: bytecode caches, OS file cache, lexicon load
        proc = subprocess.run(_ask_cmd(store, q), capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            problems.append(f"process {q!r}: exit {proc.returncode} {proc.stderr[-200:]}")
        pipe.ask(q)
    floor_cmd = [sys.executable, "-c", FLOOR_CODE]
    proc_ms, cpu_ms, floor_ms, floor_cpu_ms, inproc_ms = [], [], [], [], []
    for _ in range(runs):
        for q in PROCESS_QUESTIONS:
            wall, cpu = _run_child(_ask_cmd(store, q), env)
            proc_ms.append(wall)
            cpu_ms.append(cpu)
            wall, cpu = _run_child(floor_cmd, env)
            floor_ms.append(wall)
            floor_cpu_ms.append(cpu)
            t = time.perf_counter()
            pipe.ask(q)
            inproc_ms.append((time.perf_counter() - t) * 1000)
    pipe.close()
    return {
        "wall": statistics.median(proc_ms),
        "cpu": statistics.median(cpu_ms),
        "floor_wall": statistics.median(floor_ms),
        "floor_cpu": statistics.median(floor_cpu_ms),
        "inproc": statistics.median(inproc_ms),
        "problems": problems,
    }


def import_breakdown(store: Path, top: int = 8) -> list[str]:
    """The slowest top-level imports of one `coview ask` process (python -X importtime)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    proc = subprocess.run(
        _ask_cmd(store, PROCESS_QUESTIONS[0], importtime=True),
        capture_output=True,
        text=True,
        env=env,
    )
    total: dict[str, int] = {}
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2].rstrip()
        if name[1:2] != " ":  # depth 0: imported by coview's own code (or the interpreter)
            total[name.strip()] = total.get(name.strip(), 0) + int(parts[1])
    all_us = sum(total.values())
    rows = sorted(total.items(), key=lambda kv: -kv[1])[:top]
    return [f"imports {all_us / 1000:.0f} ms in all, slowest top-level:"] + [
        f"  {us / 1000:6.1f} ms  {name}" for name, us in rows
    ]


def prompt_ratio(small: Path, big: Path) -> str | None:
    try:
        from coview.engine.llm import build_selector_prompt
    except ImportError:
        return None
    q = QUESTIONS[0]
    a, b = len(build_selector_prompt(small, q)), len(build_selector_prompt(big, q))
    return f"selector prompt size: sample {a:,} chars, big store {b:,} chars, ratio {b / a:.3f} (target <= 1.1)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ops", type=int, default=10_000_000)
    ap.add_argument("--rebuild", action="store_true")
    ap.add_argument(
        "--process-only", action="store_true", help="only the whole-process figure (no big store)"
    )
    args = ap.parse_args(argv)
    small = sample_store()
    tp = time_process(small, args.runs)
    prob_p = tp["problems"]
    for line in import_breakdown(small):
        print(line)
    process = (
        f"whole process `coview ask` on the sample store: median {tp['wall']:.0f} ms wall, "
        f"{tp['cpu']:.0f} ms CPU (target {PROCESS_TARGET_MS} ms; floor of imports and two "
        f"DuckDB instances {tp['floor_wall']:.0f} ms wall, {tp['floor_cpu']:.0f} ms CPU), "
        f"in-process {tp['inproc']:.0f} ms"
    )
    if args.process_only:
        for p in prob_p:
            print("PROBLEM:", p)
        print(f"{len(PROCESS_QUESTIONS)} questions x {args.runs} paired runs")
        print(process)
        return 1 if prob_p else 0
    big = build_big_store(small, args.ops, args.rebuild)
    con = duckdb.connect(str(big), read_only=True)
    n_ops, n_cfg = con.execute(
        "SELECT (SELECT count(*) FROM operators), (SELECT count(*) FROM configs)"
    ).fetchone()
    con.close()
    print(f"big store: {n_ops:,} operators, {n_cfg:,} configs ({big})")
    med_s, prob_s = time_store(small, args.runs)
    med_b, prob_b = time_store(big, args.runs)
    for p in prob_p + prob_s + prob_b:
        print("PROBLEM:", p)
    print(f"{len(QUESTIONS)} questions x {args.runs} runs each, in-process Pipeline")
    ratio = prompt_ratio(small, big)
    if ratio:
        print(ratio)
    print(
        f"offline ask median: sample {med_s:.0f} ms, {n_ops / 1e6:.0f}M-op store {med_b:.0f} ms, "
        f"ratio {med_b / med_s:.2f} (target < 300 ms both); {process}"
    )
    return 1 if prob_p or prob_s or prob_b else 0


if __name__ == "__main__":
    sys.exit(main())
