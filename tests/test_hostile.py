"""The hostile-SQL corpus fed as if a model wrote it, three ways.

1. guard + runner: every statement is rejected by the guard or stopped by the runner (its
   worker process's deadline, rlimit or result byte cap);
2. runner alone (guard off): every statement fails or is stopped, except the ones listed in
   hostile_sql.SANDBOX_RUNS, which the read-only sandbox itself runs (the guard's job);
3. end to end: `coview ask --json --backend openai` against a fake model that returns the
   statement as its SQL and answers the answerer step from the evidence, so "answered" is
   possible: every statement is refused or stopped, and stdout is one JSON object.
Each way: within 30 s per statement and 4 GB peak memory, the store file byte-for-byte
unchanged, and no file appears (COPY/EXPORT targets, attached databases).
"""

from __future__ import annotations

import hashlib
import json
import re
import resource
import threading
import time
from pathlib import Path

import duckdb
import pytest
from fake_llm_servers import FakeOpenAI, Request, answer, selection
from hostile_sql import (
    CORPUS,
    SANDBOX_MAY_RUN,
    SANDBOX_RUNS,
    UNSTOPPABLE_IN_PROCESS,
    Hostile,
    make_store,
)

from coview.engine.guard import Catalog, GuardError
from coview.engine.runner import QueryError, ReadOnlyRunner, open_sandbox

TIMEOUT_S = 0.5
MEMORY = "256MB"
LIMIT_S = 30.0  # per statement, every way
PEAK_BYTES = 4 * 2**30
STOPPED = r"ran longer than|memory limit|larger than"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """The store, its checksum, a watched scratch dir, the catalog and a runner."""
    base = tmp_path_factory.mktemp("hostile")
    store = make_store(base / "store.duckdb", n_operators=20_000)
    scratch = base / "scratch"
    scratch.mkdir()
    runner = ReadOnlyRunner(store, timeout_s=TIMEOUT_S, memory_limit=MEMORY, threads=2)
    yield {
        "store": store,
        "sha": hashlib.sha256(store.read_bytes()).hexdigest(),
        "base": base,
        "scratch": scratch,
        "catalog": Catalog.from_store(store),
        "runner": runner,
    }
    runner.close()


def _listing(*dirs: Path) -> set[Path]:
    return {p for d in dirs for p in d.rglob("*")}


def _assert_untouched(world: dict, before: set[Path]) -> None:
    assert hashlib.sha256(world["store"].read_bytes()).hexdigest() == world["sha"]
    assert _listing(world["base"]) == before, "a file appeared or vanished"


def _assert_peak_memory() -> None:
    """This process and every query worker it ran stayed under 4 GB (ru_maxrss is in KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    assert own < PEAK_BYTES and workers < PEAK_BYTES, (own, workers)


def test_corpus_is_big_and_varied() -> None:
    assert len(CORPUS) >= 150
    assert len({h.name for h in CORPUS}) == len(CORPUS)
    assert {h.stopped_by for h in CORPUS} == {"guard", "runner"}
    assert SANDBOX_RUNS <= {h.name for h in CORPUS}


@pytest.mark.parametrize("case", CORPUS, ids=[h.name for h in CORPUS])
def test_guard_and_runner_stop_it(
    case: Hostile, world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(world["scratch"])  # relative COPY targets would land here
    before = _listing(world["base"])
    sql = case.sql.replace("{tmp}", str(world["scratch"]))
    start = time.monotonic()
    if case.stopped_by == "guard":
        with pytest.raises(GuardError) as info:
            world["catalog"].check(sql)
        assert str(info.value)  # a message a model can act on
    else:
        checked = world["catalog"].check(sql)  # a valid read-only SELECT...
        with pytest.raises(QueryError, match=STOPPED):
            world["runner"].run(checked)  # ...that the limits must stop
    assert time.monotonic() - start < LIMIT_S
    _assert_peak_memory()
    _assert_untouched(world, before)


def test_runner_alone_stops_or_refuses_all_but_the_documented_reads(
    world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guard off, the worker-process runner: only SANDBOX_RUNS may run, nothing is written."""
    monkeypatch.chdir(world["scratch"])
    before = _listing(world["base"])
    ran: set[str] = set()
    with ReadOnlyRunner(world["store"], timeout_s=TIMEOUT_S, memory_limit=MEMORY) as runner:
        for case in CORPUS:
            start = time.monotonic()
            try:
                runner.run(case.sql.replace("{tmp}", str(world["scratch"])))
                ran.add(case.name)
            except QueryError as exc:
                assert str(exc)
                if case.stopped_by == "runner":
                    assert re.search(STOPPED, str(exc)), (case.name, str(exc))
            assert time.monotonic() - start < LIMIT_S, case.name
    assert SANDBOX_RUNS <= ran <= SANDBOX_RUNS | SANDBOX_MAY_RUN, (
        f"ran but not documented: {sorted(ran - SANDBOX_RUNS - SANDBOX_MAY_RUN)}; "
        f"documented but refused: {sorted(SANDBOX_RUNS - ran)}"
    )
    _assert_peak_memory()
    _assert_untouched(world, before)


# --- end to end: `coview ask --json --backend openai` with a fake model -------------------


class _Model:
    """The fake model: the selector step returns the hostile SQL; the answerer step answers
    from the evidence block with its first number (a proper answer, so "answered" is
    possible if a statement ever got through)."""

    def __init__(self) -> None:
        self.sql = ""

    def __call__(self, request: Request) -> dict:
        prompt = "\n".join(str(m.get("content", "")) for m in request.body.get("messages", []))
        if "<<<EVIDENCE" in prompt:
            block = prompt.split("<<<EVIDENCE\n")[-1].split("EVIDENCE>>>", 1)[0]
            first_row = re.search(r"^row 1: (.*)$", block, re.M)
            number = re.search(r"\d+(?:\.\d+)?", first_row.group(1) if first_row else "")
            return answer(f"The value is {number.group(0) if number else 'in the rows'}.")
        return selection(self.sql, reason="what the question asks for")


@pytest.fixture(scope="module")
def model_server():
    server = FakeOpenAI().start()
    server.responder = _Model()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cli_env(world: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    config = tmp_path_factory.mktemp("cfg") / "config.toml"
    config.write_text(
        "[limits]\n"
        f"query_timeout_s = {TIMEOUT_S}\nquestion_timeout_s = 8\n"
        f'memory_limit = "{MEMORY}"\nllm_timeout_s = 5\nllm_attempts = 1\n'
    )
    return {"COVIEW_CONFIG": str(config), "COVIEW_SESSIONS_DIR": str(config.parent / "sessions")}


def test_end_to_end_model_answerer_path_can_answer(world, model_server, cli_env) -> None:
    """The harness can produce "answered": a harmless statement gets a grounded answer."""
    status, out = _ask(world, model_server, cli_env, "SELECT count(*) AS n FROM configs")
    assert status == 0 and out["status"] == "answered", out
    assert out["answer"] == "The value is 192." and out["grounding"]["ok"]


def _ask(world: dict, server, env: dict[str, str], sql: str) -> tuple[int, dict]:
    from typer.testing import CliRunner

    from coview.cli import app

    server.responder.sql = sql
    res = CliRunner().invoke(
        app,
        [
            "ask",
            "Tell me about the data.",
            "--json",
            "--backend",
            "openai",
            "--store",
            str(world["store"]),
            "--base-url",
            server.base_url,
            "--model",
            "local-test",
        ],
        env=env,
    )
    return res.exit_code, json.loads(res.stdout)  # exactly one JSON object, nothing else


@pytest.mark.parametrize("case", CORPUS, ids=[h.name for h in CORPUS])
def test_end_to_end_ask_json_refuses_or_stops_it(
    case: Hostile, world: dict, model_server, cli_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(world["scratch"])
    before = _listing(world["base"])
    start = time.monotonic()
    code, out = _ask(world, model_server, cli_env, case.sql.replace("{tmp}", str(world["scratch"])))
    assert time.monotonic() - start < LIMIT_S
    assert out["status"] in ("refused", "error"), out["answer"]
    assert out["rows"] == []
    assert code == (1 if out["status"] == "error" else 0)
    if case.stopped_by == "runner":
        assert re.search(STOPPED + "|took longer than", out["answer"]), out["answer"]
    _assert_peak_memory()
    _assert_untouched(world, before)


def _execute_raw(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Run any statement(s) on a sandbox cursor, interrupted after the time limit."""
    cur = con.cursor()
    timer = threading.Timer(TIMEOUT_S, cur.interrupt)
    timer.start()
    try:
        cur.execute("USE coview_store")
        cur.execute(sql)
        cur.fetchmany(10)
    except duckdb.Error:
        pass  # refusals are the point; the invariants are checked by the caller
    finally:
        timer.cancel()
        cur.close()


def test_sandbox_alone_holds_for_the_whole_corpus(
    world: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guard off, in this process: the sandbox connection itself must keep the store and the
    disk intact (statements it cannot stop in-process go to the worker-process test above)."""
    monkeypatch.chdir(world["scratch"])
    before = _listing(world["base"])
    con = open_sandbox(world["store"], memory_limit=MEMORY, threads=2)
    try:
        for case in CORPUS:
            if case.name in UNSTOPPABLE_IN_PROCESS:
                continue
            _execute_raw(con, case.sql.replace("{tmp}", str(world["scratch"])))
        settings = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings() "
                "WHERE name IN ('enable_external_access', 'lock_configuration')"
            ).fetchall()
        )
        assert settings == {"enable_external_access": "false", "lock_configuration": "true"}
        rows = con.execute("SELECT count(*) FROM coview_store.main.configs").fetchone()
        assert rows == (192,)
    finally:
        con.close()
    _assert_untouched(world, before)
