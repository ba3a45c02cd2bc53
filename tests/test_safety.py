"""Safety fixes of issue 11, one test per fix: each fails without its fix.

Output sanitising (store/safetext), the query worker (deadline, cancel, byte cap), the
per-question deadline, CTE scope and shadowing, literals that are not evidence, and `--json`
that always prints one JSON object.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from hostile_sql import HOSTILE_NAMES, OSC52, make_hostile_names_store, make_store

from coview.engine.grounding import check_grounding
from coview.engine.guard import Catalog, GuardError
from coview.engine.runner import QueryError, ReadOnlyRunner
from coview.engine.types import Answer, Evidence, Selection
from coview.store.safetext import clean, clean_json, escape_markup, for_prompt

# Any C0/C1 control character except newline and tab: what must never reach a terminal.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# DuckDB's interrupt() does not stop it (planning a 200,000-value IN list ran 10 s past a
# 0.5 s limit in-process), and it needs little memory: only a kill stops it in time.
IGNORES_INTERRUPT = (
    "SELECT count(*) FROM configs WHERE config_id IN ("
    + ", ".join(str(i) for i in range(200_000))
    + ")"
)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return make_store(tmp_path_factory.mktemp("safety") / "store.duckdb", n_operators=2_000)


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory) -> Path:
    return make_hostile_names_store(tmp_path_factory.mktemp("names") / "names.duckdb")


# --- safetext ------------------------------------------------------------------------------


def test_clean_strips_escape_sequences_and_controls() -> None:
    text = f"a{OSC52}b\x1b]0;title\x1b\\c\x1b[2J\x1b[31md\x9b1me\x07f\x00g\u202eh"
    assert clean(text) == "abcdefgh"
    assert clean("two\nlines\tok") == "two\nlines\tok"
    assert clean("two\nlines", one_line=True) == "two lines"
    assert clean("x" * 50, max_len=10) == "x" * 9 + "…"


def test_escape_markup_renders_literally_in_rich_and_textual() -> None:
    from rich.text import Text
    from textual.content import Content

    for name in ("xPU-B [/]", "[link=https://e.example]x[/link]", "GB200 [NVL72]", "TPU [b]"):
        assert Text.from_markup(escape_markup(name)).plain == name
        assert Content.from_markup(escape_markup(name)).plain == name


def test_clean_json_cleans_keys_and_nested_values() -> None:
    assert clean_json({"a\x1b[2J": ["x\x07", {"k": f"v{OSC52}"}], "n": 1.5}) == {
        "a": ["x", {"k": "v"}],
        "n": 1.5,
    }
    assert for_prompt("a\nb\x1b[2J" + "c" * 500, max_len=20) == "a b" + "c" * 16 + "…"


# --- guard: scope, shadowing, sizes ----------------------------------------------------------


def test_cte_in_a_subquery_does_not_cover_a_catalog_view_outside(store: Path) -> None:
    cat = Catalog.from_store(store)
    with pytest.raises(GuardError, match="table pg_settings does not exist"):
        cat.check(
            "SELECT * FROM (WITH pg_settings AS (SELECT 1 AS x) SELECT x FROM pg_settings) a, "
            "pg_settings"
        )
    # The same CTE used inside its own scope is fine.
    assert cat.check("SELECT * FROM (WITH t AS (SELECT 1 AS x) SELECT x FROM t) a")


def test_cte_may_not_shadow_a_store_table(store: Path) -> None:
    with pytest.raises(GuardError, match="may not shadow a table"):
        Catalog.from_store(store).check(
            "WITH configs AS (SELECT 'H100' AS name, 0.00042 AS latency_s) "
            "SELECT name, latency_s FROM configs"
        )


def test_guard_bounds_size_nesting_and_built_values_quickly(store: Path) -> None:
    cat = Catalog.from_store(store)
    cases = {
        "SELECT " + "(" * 3000 + "1" + ")" * 3000: "nests parentheses",
        "SELECT 1 FROM configs WHERE tp IN ("
        + ",".join(map(str, range(200_000)))
        + ")": "characters",
        "SELECT repeat('x', 100000000) FROM configs": "repeat",
        "SELECT list_resize([0], 400000000)": "list_resize",
        "SELECT repeat('x', batch_size * 1000000) FROM configs": "literal size",
        "SELECT " + "+".join(["1"] * 4000): "parts|nested too deeply|characters",
    }
    for sql, message in cases.items():
        start = time.monotonic()
        with pytest.raises(GuardError, match=message):
            cat.check(sql)
        assert time.monotonic() - start < 30.0  # the bound; it was 16 s for the IN list
    assert cat.check("SELECT repeat('-', 20) AS line FROM systems")


def test_store_columns_marks_literals_written_into_the_sql(store: Path) -> None:
    cat = Catalog.from_store(store)

    def cols(sql: str) -> list[bool] | None:
        return cat.store_columns(cat.check(sql))

    assert cols("SELECT 'H100' AS name, 0.00042 AS latency_s FROM configs") == [False, False]
    assert cols(
        "SELECT s.name, c.latency_s * 1000 AS ms FROM configs c JOIN systems s USING (system_id)"
    ) == [True, True]
    assert cols("SELECT latency_s FROM configs UNION ALL SELECT 0.00042") == [False]
    assert cols("SELECT CASE WHEN tp > 1 THEN 0.00042 ELSE latency_s END FROM configs") == [False]
    assert cols(
        "SELECT latency_s + 0.1, round(latency_s, 3), count(*) FROM configs GROUP BY 1, 2"
    ) == [
        False,
        True,
        True,
    ]


def test_grounding_ignores_columns_that_are_literals() -> None:
    ev = Evidence(sql="", columns=["name", "latency_s"], rows=[("H100", 0.00042)])
    assert check_grounding("H100 takes 0.42 ms.", [ev]).ok  # coview's own SQL: trusted
    ev.store_columns = [False, False]
    assert not check_grounding("H100 takes 0.42 ms.", [ev]).ok


# --- the query worker ------------------------------------------------------------------------


def test_worker_kills_a_query_that_ignores_interrupt_at_its_deadline(store: Path) -> None:
    with ReadOnlyRunner(store, timeout_s=0.5, memory_limit="256MB") as r:
        start = time.monotonic()
        with pytest.raises(QueryError, match="ran longer than 0.5 s"):
            r.run(IGNORES_INTERRUPT)
        assert time.monotonic() - start < 5.0
        assert r.run("SELECT count(*) AS n FROM configs").rows == [(192,)]  # a new worker


def test_cancel_stops_a_running_query_within_a_second(store: Path) -> None:
    with ReadOnlyRunner(store, timeout_s=60, memory_limit="256MB") as r:
        r.run("SELECT 1")  # the worker is up
        errors: list[str] = []

        def run() -> None:
            try:
                r.run(IGNORES_INTERRUPT)
            except QueryError as exc:
                errors.append(str(exc))

        t = threading.Thread(target=run)
        t.start()
        time.sleep(0.3)
        start = time.monotonic()
        r.cancel()
        t.join(5)
        assert not t.is_alive() and time.monotonic() - start < 1.0
        assert errors == ["the query was cancelled"]


def test_result_bytes_are_capped(store: Path) -> None:
    with ReadOnlyRunner(store, result_bytes_cap=100_000) as r:
        with pytest.raises(QueryError, match="larger than"):
            r.run("SELECT repeat(layer_name, 5000) AS s FROM operators")
    with ReadOnlyRunner(store, result_bytes_cap=100_000, isolation="inline") as r:
        with pytest.raises(QueryError, match="larger than"):
            r.run("SELECT repeat(layer_name, 5000) AS s FROM operators")


def test_timeout_argument_gives_a_query_less_time(store: Path) -> None:
    forever = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    )
    with ReadOnlyRunner(store, timeout_s=30, isolation="inline") as r:
        start = time.monotonic()
        with pytest.raises(QueryError, match="ran longer than 0.3 s"):
            r.run(forever, timeout_s=0.3)
        assert time.monotonic() - start < 3.0


# --- the pipeline: deadline across attempts, literals, cancel --------------------------------


class _Selector:
    name = "fake"
    retries_on_error = True

    def __init__(self, sql: list[str]) -> None:
        self.sql = sql
        self.calls = 0

    def select(self, question, history, context, feedback=None) -> Selection:
        self.calls += 1
        return Selection(True, list(self.sql), reason="fake")


class _Answerer:
    name = "fake"
    regenerates = False

    def __init__(self, text: str) -> None:
        self.text = text

    def answer(self, question, selection, evidence, feedback=None) -> Answer:
        return Answer(self.text)


def _pipeline(store: Path, sql: list[str], text: str = "ok", **limits):
    from coview.config import Settings
    from coview.engine.pipeline import Pipeline

    settings = Settings(backend="openai", **limits)
    return Pipeline(
        store,
        backend="openai",
        settings=settings,
        selector=_Selector(sql),
        answerer=_Answerer(text),
    )


def test_question_deadline_holds_across_attempts_and_statements(store: Path) -> None:
    forever = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    )
    pipe = _pipeline(store, [forever] * 5, query_timeout_s=1.0, question_timeout_s=1.5)
    try:
        start = time.monotonic()
        result = pipe.ask("slow")
        assert time.monotonic() - start < 6.0  # was 5 statements x 3 attempts x the limit
        assert result.status == "error" and "took longer than its 1.5 s limit" in result.answer
    finally:
        pipe.close()


def test_invented_numbers_in_the_sql_are_not_grounded(store: Path) -> None:
    sql = "SELECT 'H100' AS name, 0.00042 AS latency_s FROM configs LIMIT 1"
    pipe = _pipeline(store, [sql], text="H100 decode latency is 0.42 ms.")
    try:
        result = pipe.ask("latency of H100?")
        assert not result.grounding.ok
        assert [n.text for n in result.grounding.unmatched] == ["0.42 ms"]
    finally:
        pipe.close()


def test_answers_and_evidence_text_come_back_clean(hostile_store: Path) -> None:
    sql = "SELECT name FROM systems ORDER BY system_id"
    pipe = _pipeline(hostile_store, [sql], text=f"The systems are listed{OSC52}.\x1b[2J")
    try:
        result = pipe.ask("which systems?")
        assert result.answer == "The systems are listed."
        names = [r["name"] for r in result.rows]
        assert names[1] == "xPU-B [/]" and not any(CONTROL.search(n) for n in names)
    finally:
        pipe.close()


def test_a_loaded_session_holds_no_control_characters(tmp_path: Path) -> None:
    from coview.store.sessions import load_session

    session = load_session(str(_hostile_session(tmp_path)))
    _no_controls(json.dumps(session.turns, ensure_ascii=False), json.dumps(session.configs))
    assert session.turns[0]["answer"].endswith("and xPU-B [/]")


def test_pipeline_cancel_stops_the_question_within_a_second(store: Path) -> None:
    forever = (
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"
    )
    pipe = _pipeline(store, [forever], query_timeout_s=60, question_timeout_s=60)
    try:
        out: list = []
        t = threading.Thread(target=lambda: out.append(pipe.ask("slow")))
        t.start()
        time.sleep(1.5)  # the worker starts and the query runs
        start = time.monotonic()
        pipe.cancel()
        t.join(5)
        assert not t.is_alive() and time.monotonic() - start < 1.0
        assert out[0].reason == "cancelled"
    finally:
        pipe.close()


# --- CLI output: no control byte reaches stdout/stderr ---------------------------------------


def _no_controls(*texts: str) -> None:
    for text in texts:
        bad = CONTROL.findall(text or "")
        assert not bad, f"control characters reached the terminal: {bad!r}"


def test_ask_json_is_one_object_even_when_the_guard_would_recurse(store, monkeypatch) -> None:
    from typer.testing import CliRunner

    from coview.cli import app
    from coview.engine import guard

    def boom(sql: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(guard, "_check_size", boom)
    monkeypatch.setenv("COVIEW_CONFIG", str(store.parent / "none.toml"))
    res = CliRunner().invoke(
        app, ["ask", "What is the decode latency of xPU-A?", "--json", "--store", str(store)]
    )
    out = json.loads(res.stdout)  # one object, no traceback
    assert out["status"] in ("refused", "error", "answered")


def test_ask_schema_and_export_print_no_control_bytes(hostile_store, tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from coview.cli import app

    monkeypatch.setenv("COVIEW_CONFIG", str(tmp_path / "none.toml"))
    runner = CliRunner()
    for question in ("Which systems are there?", "What is the decode latency of xPU-A?"):
        for extra in ([], ["--json"]):
            res = runner.invoke(app, ["ask", question, "--store", str(hostile_store), *extra])
            _no_controls(res.stdout, res.stderr)
            if extra:
                json.loads(res.stdout)
    res = runner.invoke(app, ["schema", "--store", str(hostile_store)])
    assert res.exit_code == 0 and "Ignore previous instructions" in res.stdout
    _no_controls(res.stdout, res.stderr)
    session = _hostile_session(tmp_path)
    res = runner.invoke(app, ["export", str(session)])
    assert res.exit_code == 0 and "xPU-B [/]" in res.stdout
    _no_controls(res.stdout, res.stderr)
    monkeypatch.setenv("COVIEW_SESSIONS_DIR", str(session.parent))
    res = runner.invoke(app, ["sessions"])
    _no_controls(res.stdout, res.stderr)


def _hostile_session(directory: Path) -> Path:
    """A saved session whose question, answer, rows and snapshots carry escapes and markup."""
    name = HOSTILE_NAMES["sys-c"]
    events = [
        {"type": "header", "format": "coview-session", "id": "evil", "store_path": f"/x{OSC52}"},
        {
            "type": "turn",
            "n": 1,
            "question": f"q{OSC52}",
            "answer": f"{name} and xPU-B [/]",
            "status": "answered",
            "backend": "offline",
            "sql": [f"SELECT '{OSC52}'"],
            "rows": [{"config_id": 1, "system": name}],
            "evidence": [{"sql": "SELECT 1", "columns": [f"c{OSC52}"], "rows": [[name]]}],
            "grounding": {"ok": True, "numbers": []},
            "elapsed_s": 0.1,
        },
        {"type": "config", "config_id": 1, "config": {"system_name": name}, "operators": []},
    ]
    from coview.store.sessions import FORMAT

    events[0]["format"] = FORMAT
    path = directory / "sessions" / "evil.jsonl"
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_ingest_error_quoting_a_hostile_header_prints_no_control_bytes(tmp_path) -> None:
    from typer.testing import CliRunner

    from coview.cli import app

    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "systems.csv").write_text(f"system_id,name{OSC52}x\nsys-a,A\n")
    res = CliRunner().invoke(app, ["ingest", str(sweep), "--store", str(tmp_path / "s.duckdb")])
    assert res.exit_code == 2 and "required column" in res.stderr
    _no_controls(res.stdout, res.stderr)


# --- the TUI on a store whose names carry escapes and markup ---------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_tui_starts_and_quits_on_hostile_names(hostile_store) -> None:
    from tui_fakes import FakePipeline

    from coview.config import Settings
    from coview.tui.app import CoviewApp

    app = CoviewApp(hostile_store, settings=Settings(keys={}), pipeline_factory=FakePipeline)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.screen.query("#configs")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code in (0, None)


@pytest.mark.anyio
async def test_review_starts_and_quits_on_a_hostile_session(tmp_path) -> None:
    from coview.store.sessions import load_session
    from coview.tui.app import ReviewApp

    app = ReviewApp(load_session(str(_hostile_session(tmp_path))))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
