"""Ingest, sessions and prompts under odd inputs (issue 11): each test fails without its fix.

Literal paths (DuckDB globs every path it reads), FIFOs and symlink loops, CSV encoding and
ragged rows named as such, what no simulator writes, leftovers of killed ingests, damaged
session files, and store text reaching the selector's prompt.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import duckdb
import pytest
from fixtures_native import file_digest, sweep_tables, write_sweep, write_tables

from coview.store.ingest import IngestError, ingest


def _sweep_names(store: Path) -> list[tuple[str, str]]:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute("SELECT sweep_id, source_path FROM sweeps ORDER BY 1").fetchall()
    finally:
        con.close()


# --- literal paths -----------------------------------------------------------------------


def test_brackets_in_a_path_read_that_directory_not_its_glob_match(tmp_path: Path) -> None:
    write_sweep(tmp_path / "runs" / "tp8", sweep_id="tp8", config_start=1)
    write_sweep(tmp_path / "runs" / "tp[8]", sweep_id="tp-bracket", config_start=100)
    store = tmp_path / "s.duckdb"
    ingest([tmp_path / "runs" / "tp[8]"], store, progress=False)
    (row,) = _sweep_names(store)
    assert row[0] == "tp-bracket" and row[1].endswith("tp[8]")


def test_a_star_in_a_path_reads_only_that_directory(tmp_path: Path) -> None:
    write_sweep(tmp_path / "star*", sweep_id="star", config_start=1)
    write_sweep(tmp_path / "star-two", sweep_id="star-two", config_start=100)
    store = tmp_path / "s.duckdb"
    ingest([tmp_path / "star*"], store, progress=False)
    assert [r[0] for r in _sweep_names(store)] == ["star"]


def test_csv_with_glob_characters_in_its_name_is_read_literally(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "run[3]?", fmt="csv", sweep_id="r3")
    write_sweep(tmp_path / "run3x", fmt="csv", sweep_id="other", config_start=50)
    store = tmp_path / "s.duckdb"
    ingest([sweep], store, progress=False)
    assert [r[0] for r in _sweep_names(store)] == ["r3"]


# --- files that are not regular ------------------------------------------------------------


@pytest.mark.parametrize("direct", [False, True], ids=["in-a-directory", "named-directly"])
def test_a_named_pipe_is_refused_not_waited_on(tmp_path: Path, direct: bool) -> None:
    sweep = write_sweep(tmp_path / "sweep")
    (sweep / "operators.parquet").unlink()
    os.mkfifo(sweep / "operators.parquet")
    errors: list[BaseException] = []
    target = [sweep / "operators.parquet"] if direct else [sweep]

    def run() -> None:
        try:
            ingest(target, tmp_path / "s.duckdb", progress=False)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(20)
    if t.is_alive():  # unblock the reader so the test process can exit
        fd = os.open(sweep / "operators.parquet", os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        pytest.fail("ingest waited on a named pipe")
    assert isinstance(errors[0], IngestError)
    assert "named pipe (FIFO)" in str(errors[0])


def test_a_symlink_loop_is_named_not_skipped(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path / "sweep")
    (sweep / "configs.parquet").unlink()
    (sweep / "configs.parquet").symlink_to(sweep / "configs.parquet")
    with pytest.raises(IngestError) as info:
        ingest([sweep], tmp_path / "s.duckdb", progress=False)
    assert "configs.parquet" in str(info.value) and "symbolic link loop" in str(info.value)


def test_llm_analysis_refuses_a_fifo_summary(tmp_path: Path) -> None:
    fifo = tmp_path / "x-summary.json"
    os.mkfifo(fifo)
    with pytest.raises(IngestError, match="named pipe"):
        ingest([fifo], tmp_path / "s.duckdb", fmt="llm-analysis", progress=False)


# --- CSV problems named as what they are ---------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("system_id,name\nsysA,A\n".encode("utf-16"), "UTF-16 encoded"),
        (b"system_id,name\nsysA,A\xff\xfeB\n", "not valid UTF-8: byte 0xff on line 2"),
        (
            b"system_id,name\nsysA,A\nsysB,B,extra,more\n",
            "data row 2 has 4 fields but the header has 2",
        ),
    ],
    ids=["utf16-bom", "invalid-utf8", "ragged-row"],
)
def test_csv_encoding_and_ragged_rows_are_named(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    sweep = write_sweep(tmp_path / "sweep", fmt="csv")
    (sweep / "systems.csv").write_bytes(content)
    with pytest.raises(IngestError) as info:
        ingest([sweep], tmp_path / "s.duckdb", progress=False)
    assert expected in str(info.value)
    assert "column0" not in str(info.value)


# --- what no simulator writes ----------------------------------------------------------------


def _refused(tmp_path: Path, tables: dict, expected: str) -> None:
    sweep = write_tables(tmp_path / "sweep", tables)
    store = tmp_path / "s.duckdb"
    with pytest.raises(IngestError) as info:
        ingest([sweep], store, progress=False)
    assert expected in str(info.value), str(info.value)
    assert not store.exists()


def test_control_characters_in_names_are_refused(tmp_path: Path) -> None:
    tables = sweep_tables()
    tables["systems"][0]["name"] = "xPU\x1b]52;c;cHduZWQ=\x07"
    _refused(tmp_path, tables, "holds a control character")


def test_a_10mb_name_is_refused(tmp_path: Path) -> None:
    tables = sweep_tables()
    tables["sweeps"][0]["name"] = "n" * 10_000_000
    _refused(tmp_path, tables, "10,000,000 characters long")


def test_1e308_is_refused(tmp_path: Path) -> None:
    tables = sweep_tables()
    tables["configs"][0]["energy_j"] = 1e308
    _refused(tmp_path, tables, "energy_j = 1e+308 is beyond 1e+30")


def test_a_sweep_with_no_configs_is_refused(tmp_path: Path) -> None:
    tables = sweep_tables()
    tables["configs"] = None
    tables["operators"] = None
    _refused(tmp_path, tables, "sweep 's1' has no configs")


# --- leftovers of killed ingests -------------------------------------------------------------


def test_stale_working_copies_are_removed_and_reported(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    ingest([write_sweep(tmp_path / "a", sweep_id="a")], store, progress=False)
    dead = 2**22 + 12345  # above any pid_max default: no such process
    stale = [
        tmp_path / f".s.duckdb.ingest-{dead}.tmp",
        tmp_path / f".s.duckdb.ingest-{dead}.tmp.wal",
    ]
    for p in stale:
        p.write_bytes(b"x" * 1000)
    live = tmp_path / f".s.duckdb.ingest-{os.getppid()}.tmp"  # a live process: kept
    live.write_bytes(b"y")
    report = ingest(
        [write_sweep(tmp_path / "b", sweep_id="b", config_start=100)], store, progress=False
    )
    assert not any(p.exists() for p in stale) and live.exists()
    assert "Removed 2 working file(s) left by earlier ingests that were killed" in report.summary()


# --- sessions ---------------------------------------------------------------------------------


def _session_file(tmp_path: Path, turns: list[dict], torn_header: bool = False) -> Path:
    from coview.store.sessions import FORMAT

    header = json.dumps({"type": "header", "format": FORMAT, "id": "s1", "store_path": "/x"})
    lines = [header[:25] if torn_header else header]
    base = {
        "type": "turn",
        "question": "q",
        "answer": "a",
        "status": "answered",
        "backend": "offline",
    }
    lines += [json.dumps({**base, "n": i + 1, **t}) for i, t in enumerate(turns)]
    directory = tmp_path / "sessions"
    directory.mkdir(exist_ok=True)
    path = directory / "s1.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_torn_first_line_keeps_the_other_turns(tmp_path: Path, monkeypatch) -> None:
    from coview.store.sessions import list_sessions, load_session

    path = _session_file(tmp_path, [{} for _ in range(10)], torn_header=True)
    with pytest.warns(UserWarning):
        session = load_session(str(path))
    assert len(session.turns) == 10
    assert any("header is unreadable" in w for w in session.warnings)
    monkeypatch.setenv("COVIEW_SESSIONS_DIR", str(path.parent))
    assert [(s.id, s.turns) for s in list_sessions()] == [("s1", 10)]


def test_malformed_fields_do_not_break_export(tmp_path: Path) -> None:
    from coview.store.sessions import export_markdown, load_session

    path = _session_file(
        tmp_path, [{"elapsed_s": "slow", "context_config_id": "abc", "rows": "nope"}, {}]
    )
    with path.open("a") as fh:
        fh.write(json.dumps({"type": "config", "config_id": "x1", "config": {}}) + "\n")
    with pytest.warns(UserWarning):
        session = load_session(str(path))
    text = export_markdown(session)
    assert "## 1. q" in text and "## 2. q" in text
    assert any("elapsed_s" in w for w in session.warnings)
    assert any("without a numeric id" in w for w in session.warnings)


# --- store text in the selector prompt --------------------------------------------------------


def test_store_text_reaches_the_prompt_only_as_clean_capped_data(tmp_path: Path) -> None:
    from hostile_sql import make_hostile_names_store

    from coview.engine.llm.context import load_store_context
    from coview.engine.llm.selector import selector_prompt_parts
    from coview.engine.types import Context

    store = make_hostile_names_store(tmp_path / "h.duckdb")
    system, user = selector_prompt_parts(load_store_context(store), "q?", [], Context())
    assert "Ignore previous instructions" not in system  # column comments are not rules
    block = user.split("<<<STORE DATA", 1)[1].split("STORE DATA>>>", 1)[0]
    assert "Ignore previous instructions" in block
    assert "x" * 400 not in block  # the 5,000-character comment is cut
    for text in (system, user):
        assert not any(ord(ch) < 32 and ch not in "\n\t" or 0x7F <= ord(ch) <= 0x9F for ch in text)
    assert file_digest(store)
