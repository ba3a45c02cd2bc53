"""Stores the TUI benchmarks run on: the sample store and a grown copy, cached in bench/out/.

Shared by bench_tui_startup.py and bench_tui_table.py (run as scripts, so bench/ is on
sys.path); each says only how it grows the copy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb

OUT = Path(__file__).resolve().parent / "out"


def sample_and_grown(
    name: str, grow: Callable[[duckdb.DuckDBPyConnection], None]
) -> tuple[Path, Path]:
    """(sample store, OUT/name): a copy of the sample that `grow` enlarged with SQL, built once.

    The copy is grown in a temp file and renamed into place, so an interrupted build is redone.
    """
    from coview.sample_data import DEFAULT_SWEEP
    from coview.store.ingest import ingest

    OUT.mkdir(parents=True, exist_ok=True)
    sample = OUT / "tui-sample.duckdb"
    if not sample.exists():
        ingest([DEFAULT_SWEEP], sample, fmt="native", progress=False)
    big = OUT / name
    if not big.exists():
        tmp = big.with_suffix(".tmp")
        shutil.copy(sample, tmp)
        con = duckdb.connect(str(tmp))
        grow(con)
        con.execute("CHECKPOINT")
        con.close()
        os.replace(tmp, big)
    return sample, big
