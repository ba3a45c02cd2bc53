"""One bad file per validation rule: the error names file, row and column, and the store is
byte-for-byte unchanged (sha256), with no temp file left behind."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from fixtures_native import dir_listing, file_digest, sweep_tables, write_sweep, write_tables

from coview.store.ingest import IngestError, ingest


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per module: a store holding sweep 'base' (configs 1000..) on sysA/sysB."""
    tmp = tmp_path_factory.mktemp("base")
    path = tmp / "coview.duckdb"
    ingest([write_sweep(tmp / "base", sweep_id="base", config_start=1000)], path, progress=False)
    return path


@pytest.fixture
def store(tmp_path: Path, base_store: Path) -> Path:
    """A private copy of the base store, alone in its directory (so leftovers would show)."""
    path = tmp_path / "store" / "coview.duckdb"
    path.parent.mkdir()
    shutil.copyfile(base_store, path)
    return path


def _set(table: str, row: int, column: str, value):
    def mutate(t):
        t[table][row - 1][column] = value

    return mutate


def _drop_col(table: str, column: str):
    def mutate(t):
        for r in t[table]:
            r.pop(column, None)

    return mutate


def _dup(table: str, row: int, **changes):
    def mutate(t):
        t[table].append(dict(t[table][row - 1], **changes))

    return mutate


# (id, mutation, format, file, row, column, words in the message)
CASES = [
    (
        "required-column-missing",
        _drop_col("configs", "latency_s"),
        "parquet",
        "configs.parquet",
        None,
        "latency_s",
        "missing",
    ),
    (
        "required-value-null",
        _set("configs", 3, "phase", None),
        "parquet",
        "configs.parquet",
        3,
        "phase",
        "required",
    ),
    (
        "required-value-empty-csv",
        _set("operators", 5, "op_type", None),
        "csv",
        "operators.csv",
        5,
        "op_type",
        "required",
    ),
    (
        "type-text-in-int-csv",
        _set("configs", 4, "batch_size", "abc"),
        "csv",
        "configs.csv",
        4,
        "batch_size",
        "'abc' is not a whole number",
    ),
    (
        "type-fraction-in-int-csv",
        _set("configs", 2, "tp", "1.5"),
        "csv",
        "configs.csv",
        2,
        "tp",
        "whole number",
    ),
    (
        "type-text-in-double-csv",
        _set("operators", 7, "flops", "12 GFLOP"),
        "csv",
        "operators.csv",
        7,
        "flops",
        "'12 GFLOP' is not a number",
    ),
    (
        "type-bool-csv",
        _set("configs", 6, "fits_memory", "maybe"),
        "csv",
        "configs.csv",
        6,
        "fits_memory",
        "not true or false",
    ),
    (
        "negative-time",
        _set("operators", 4, "memory_time_s", -1e-4),
        "parquet",
        "operators.parquet",
        4,
        "memory_time_s",
        ">= 0",
    ),
    (
        "negative-count",
        _set("operators", 2, "count", -80),
        "parquet",
        "operators.parquet",
        2,
        "count",
        ">= 0",
    ),
    (
        "negative-size",
        _set("systems", 2, "hbm_bytes", -8e10),
        "parquet",
        "systems.parquet",
        2,
        "hbm_bytes",
        ">= 0",
    ),
    (
        "nan-latency",
        _set("configs", 5, "latency_s", math.nan),
        "parquet",
        "configs.parquet",
        5,
        "latency_s",
        "finite",
    ),
    (
        "inf-perf",
        _set("configs", 2, "perf_per_tco", math.inf),
        "parquet",
        "configs.parquet",
        2,
        "perf_per_tco",
        "finite",
    ),
    (
        "nan-csv",
        _set("operators", 3, "bytes_read", math.nan),
        "csv",
        "operators.csv",
        3,
        "bytes_read",
        "finite",
    ),
    (
        "roofline-not-max",
        _set("operators", 6, "roofline_time_s", 5e-3),
        "parquet",
        "operators.parquet",
        6,
        "roofline_time_s",
        "max(",
    ),
    (
        "bound-wrong",
        _set("operators", 1, "bound", "comm"),
        "parquet",
        "operators.parquet",
        1,
        "bound",
        "largest time",
    ),
    (
        "phase-not-allowed",
        _set("configs", 1, "phase", "decoding"),
        "parquet",
        "configs.parquet",
        1,
        "phase",
        "'decoding' is not one of",
    ),
    (
        "op-class-not-allowed",
        _set("operators", 8, "op_class", "matmul"),
        "csv",
        "operators.csv",
        8,
        "op_class",
        "not one of",
    ),
    (
        "bound-not-allowed",
        _set("operators", 9, "bound", "Memory"),
        "parquet",
        "operators.parquet",
        9,
        "bound",
        "not one of",
    ),
    (
        "weights-location-not-allowed",
        _set("operators", 1, "weights_location", "dram"),
        "parquet",
        "operators.parquet",
        1,
        "weights_location",
        "not one of",
    ),
    (
        "unknown-system",
        _set("configs", 7, "system_id", "sysZ"),
        "parquet",
        "configs.parquet",
        7,
        "system_id",
        "'sysZ' is not in systems",
    ),
    (
        "unknown-model",
        _set("configs", 2, "model_id", "gpt"),
        "parquet",
        "configs.parquet",
        2,
        "model_id",
        "not in models",
    ),
    (
        "unknown-sweep",
        _set("configs", 8, "sweep_id", "nope"),
        "parquet",
        "configs.parquet",
        8,
        "sweep_id",
        "not in sweeps",
    ),
    (
        "unknown-config",
        _set("operators", 10, "config_id", 999),
        "parquet",
        "operators.parquet",
        10,
        "config_id",
        "999 is not in configs",
    ),
    (
        "duplicate-config-id",
        _dup("configs", 3),
        "parquet",
        "configs.parquet",
        9,
        "config_id",
        "duplicate key config_id=3",
    ),
    (
        "duplicate-operator-key",
        _dup("operators", 5),
        "csv",
        "operators.csv",
        25,
        "config_id, op_index",
        "already used on row 5",
    ),
    (
        "duplicate-system",
        _dup("systems", 1, name="Other name"),
        "parquet",
        "systems.parquet",
        3,
        "system_id",
        "duplicate key system_id='sysA': already used with different values on row 1",
    ),
    (
        "config-id-used-by-other-sweep",
        _set("configs", 4, "config_id", 1003),
        "parquet",
        "configs.parquet",
        4,
        "config_id",
        "already used by sweep 'base'",
    ),
    (
        "system-differs-from-store",
        _set("systems", 1, "hbm_bytes", 9.6e10),
        "parquet",
        "systems.parquet",
        1,
        "hbm_bytes",
        "already in the store with different values",
    ),
    (
        "model-differs-from-store",
        _set("models", 1, "num_layers", 81),
        "csv",
        "models.csv",
        1,
        "num_layers",
        "different values",
    ),
    (
        "unknown-column-in-systems",
        _set("systems", 1, "colour", "red"),
        "parquet",
        "systems.parquet",
        None,
        "colour",
        "unknown column",
    ),
    (
        "bad-json-extra",
        _set("configs", 3, "extra", "{not json"),
        "csv",
        "configs.csv",
        3,
        "extra",
        "not valid JSON",
    ),
]


@pytest.mark.parametrize(
    "mutate, fmt, file, row, column, words",
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_bad_file_is_refused_and_store_unchanged(
    tmp_path, store, mutate, fmt, file, row, column, words
):
    tables = sweep_tables()
    mutate(tables)
    data = write_tables(tmp_path / "bad", tables, fmt)
    before, listing = file_digest(store), dir_listing(store.parent)
    with pytest.raises(IngestError) as info:
        ingest([data], store, progress=False)
    err = info.value
    # The broken value is reported exactly (a knock-on problem, e.g. operators left pointing
    # at a renumbered config, may be listed too); the first problem's fields are on the error.
    hits = [
        p
        for p in err.problems
        if p.file and p.file.endswith(file) and p.row == row and column in (p.column or "")
    ]
    assert hits and words in hits[0].message, str(err)
    assert all(p.hint for p in err.problems), "every problem says how to fix it"
    assert (err.file, err.row, err.message) == (
        err.problems[0].file,
        err.problems[0].row,
        err.problems[0].message,
    )
    text = str(err)
    assert file in text and (row is None or f"row {row}" in text) and column in text
    assert file_digest(store) == before
    assert dir_listing(store.parent) == listing


def test_parquet_fraction_in_integer_column(tmp_path, store):
    tables = sweep_tables()
    tables["configs"][2]["batch_size"] = 3.5  # the column becomes float: 3.5 must not round to 4
    for r in tables["configs"]:
        r["batch_size"] = float(r["batch_size"])
    data = write_tables(tmp_path / "bad", tables)
    before = file_digest(store)
    with pytest.raises(IngestError) as info:
        ingest([data], store, progress=False)
    assert (info.value.row, info.value.column) == (3, "batch_size")
    assert "'3.5' is not a whole number" in info.value.message
    assert file_digest(store) == before


def test_parquet_text_in_number_column(tmp_path, store):
    tables = sweep_tables()
    tables["operators"][11]["flops"] = "lots"
    data = write_tables(tmp_path / "bad", tables, as_text={"operators": {"flops"}})
    before = file_digest(store)
    with pytest.raises(IngestError) as info:
        ingest([data], store, progress=False)
    assert (info.value.file.endswith("operators.parquet"), info.value.row, info.value.column) == (
        True,
        12,
        "flops",
    )
    assert file_digest(store) == before


def test_duplicate_sweep_refused_then_replaced(tmp_path, store):
    data = write_sweep(tmp_path / "again", sweep_id="base", config_start=1000)
    before = file_digest(store)
    with pytest.raises(IngestError) as info:
        ingest([data], store, progress=False)
    assert "sweep 'base' is already in the store" in info.value.message
    assert "--replace" in info.value.hint
    assert len(info.value.problems) == 1, str(info.value)  # not one more per config_id
    assert file_digest(store) == before
    ingest([data], store, replace=True, progress=False)
    assert file_digest(store) != before


def test_every_problem_is_reported_not_only_the_first(tmp_path, store):
    tables = sweep_tables()
    tables["configs"][0]["phase"] = "decoding"
    tables["operators"][3]["compute_time_s"] = -1.0
    tables["operators"][4]["compute_time_s"] = -2.0
    data = write_tables(tmp_path / "bad", tables)
    with pytest.raises(IngestError) as info:
        ingest([data], store, progress=False)
    text = str(info.value)
    assert "phase" in text and "compute_time_s" in text
    assert "1 more row(s): 5" in text  # the second negative time is named by its row


def test_failure_on_new_store_leaves_no_file(tmp_path):
    tables = sweep_tables()
    tables["configs"][0]["latency_s"] = -1.0
    data = write_tables(tmp_path / "bad", tables)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(IngestError):
        ingest([data], out / "new.duckdb", progress=False)
    assert dir_listing(out) == []


def test_unknown_format_lists_formats(tmp_path, store):
    with pytest.raises(IngestError) as info:
        ingest([tmp_path], store, fmt="gem5", progress=False)
    assert "'gem5'" in info.value.message and "native" in info.value.hint
    assert "llm-analysis" in info.value.hint


def test_unknown_table_file_and_missing_path(tmp_path, store):
    data = write_sweep(tmp_path / "d")
    (data / "config.parquet").write_bytes((data / "configs.parquet").read_bytes())
    before = file_digest(store)
    with pytest.raises(IngestError) as info:
        ingest([data, tmp_path / "nowhere"], store, progress=False)
    text = str(info.value)
    assert "'config' is not a table" in text and "nowhere" in text
    assert file_digest(store) == before


def test_not_a_store_file(tmp_path):
    bogus = tmp_path / "notes.duckdb"
    bogus.write_text("hello")
    before = file_digest(bogus)
    with pytest.raises(IngestError) as info:
        ingest([write_sweep(tmp_path / "d")], bogus, progress=False)
    assert "cannot open the store" in info.value.message
    assert file_digest(bogus) == before
