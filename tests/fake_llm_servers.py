"""Fake Gemini and OpenAI-compatible servers on 127.0.0.1 for testing the real clients.

Each server answers from a queue of scripted replies (a JSON reply, an HTTP error status with
optional Retry-After, raw text, a delay longer than the client's timeout) and records every
request it received, so tests can assert what the prompt carried. Nothing leaves loopback.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Reply:
    """One scripted reply: `text` is the model's message text (wrapped in the API's envelope)
    unless `raw_body` is given; `status` != 200 sends an API error; `delay_s` sleeps first."""

    text: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: str | None = None
    delay_s: float = 0.0


@dataclass
class Request:
    """One request the fake server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def _as_reply(r: Reply | str | dict | None) -> Reply | None:
    if isinstance(r, dict):
        return Reply(text=json.dumps(r))
    if isinstance(r, str):
        return Reply(text=r)
    return r


class _FakeServer:
    """A threaded HTTP server on 127.0.0.1 (port 0) with a scripted reply queue."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        # Called for a request when no reply is queued: lets a test answer by what was asked.
        self.responder: Callable[[Request], Reply | str | dict | None] | None = None
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        handler = self._handler_class()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- scripting ---------------------------------------------------------------------
    def push(self, *replies: Reply | str | dict) -> None:
        """Queue replies; a str is the model's text, a dict is dumped to JSON model text."""
        for r in replies:
            if isinstance(r, dict):
                r = Reply(text=json.dumps(r))
            elif isinstance(r, str):
                r = Reply(text=r)
            self.replies.append(r)

    def error(self, status: int, times: int = 1, retry_after: str | None = None) -> None:
        """Queue `times` HTTP error replies with the given status."""
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        for _ in range(times):
            self.replies.append(Reply(status=status, headers=headers))

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> _FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wake handlers sleeping in a scripted delay
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> _FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- to override ---------------------------------------------------------------------
    def envelope(self, text: str, request: Request) -> dict[str, Any]:
        raise NotImplementedError

    def error_body(self, status: int) -> dict[str, Any]:
        raise NotImplementedError

    def accepts(self, path: str) -> bool:
        raise NotImplementedError

    def prompt_text(self, request: Request) -> str:
        """Everything the model was told in one request, as one string."""
        raise NotImplementedError

    # -- helpers for tests ---------------------------------------------------------------
    def prompts(self) -> list[str]:
        return [self.prompt_text(r) for r in self.requests]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                req = Request("POST", self.path, dict(self.headers.items()), body)
                with server._lock:
                    server.requests.append(req)
                    reply = server.replies.popleft() if server.replies else None
                if reply is None and server.responder is not None:
                    reply = _as_reply(server.responder(req))
                if not server.accepts(self.path):
                    self._send(404, {"error": {"code": 404, "message": f"no route {self.path}"}})
                    return
                if reply is None:
                    # 418 is not retried by anyone: a missing script shows up at once.
                    self._send(418, {"error": {"code": 418, "message": "fake: no scripted reply"}})
                    return
                if reply.delay_s and server._stop.wait(reply.delay_s):
                    return
                if reply.raw_body is not None:
                    self._send(reply.status, reply.raw_body, reply.headers)
                elif reply.status != 200:
                    self._send(reply.status, server.error_body(reply.status), reply.headers)
                else:
                    self._send(200, server.envelope(reply.text or "", req), reply.headers)

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = (body if isinstance(body, str) else json.dumps(body)).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout): nothing to do

        return Handler


class FakeGemini(_FakeServer):
    """Gemini REST: POST /{api_version}/models/{model}:generateContent."""

    api_version = "v1beta"
    _route = re.compile(r"^/[^/]+/models/[^/:]+:generateContent$")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def accepts(self, path: str) -> bool:
        return bool(self._route.match(path.split("?")[0]))

    def envelope(self, text: str, request: Request) -> dict[str, Any]:
        return {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5},
            "modelVersion": "fake-gemini",
        }

    def error_body(self, status: int) -> dict[str, Any]:
        names = {
            429: "RESOURCE_EXHAUSTED",
            500: "INTERNAL",
            503: "UNAVAILABLE",
            400: "INVALID_ARGUMENT",
        }
        return {
            "error": {
                "code": status,
                "message": f"fake error {status}",
                "status": names.get(status, "UNKNOWN"),
            }
        }

    def prompt_text(self, request: Request) -> str:
        parts: list[str] = []
        sys_inst = request.body.get("systemInstruction") or request.body.get("system_instruction")
        if sys_inst:
            parts += [p.get("text", "") for p in sys_inst.get("parts", [])]
        for content in request.body.get("contents", []):
            parts += [p.get("text", "") for p in content.get("parts", [])]
        return "\n".join(parts)


class FakeOpenAI(_FakeServer):
    """OpenAI-compatible: POST /v1/chat/completions."""

    def __init__(self, reject_response_format: bool = False) -> None:
        super().__init__()
        # Some local servers answer 400 to response_format; simulate that on request.
        self.reject_response_format = reject_response_format

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def accepts(self, path: str) -> bool:
        return path.split("?")[0] == "/v1/chat/completions"

    def envelope(self, text: str, request: Request) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": 0,
            "model": request.body.get("model", "fake"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def error_body(self, status: int) -> dict[str, Any]:
        return {
            "error": {"message": f"fake error {status}", "type": "server_error", "code": status}
        }

    def prompt_text(self, request: Request) -> str:
        return "\n".join(str(m.get("content", "")) for m in request.body.get("messages", []))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        base = super()._handler_class()
        server = self

        class Handler(base):  # type: ignore[valid-type, misc]
            def do_POST(self) -> None:  # noqa: N802
                if server.reject_response_format:
                    length = int(self.headers.get("Content-Length") or 0)
                    raw = self.rfile.read(length) if length else b""
                    body = json.loads(raw or b"{}")
                    if "response_format" in body:
                        server.requests.append(
                            Request("POST", self.path, dict(self.headers.items()), body)
                        )
                        self._send(
                            400,
                            {
                                "error": {
                                    "message": "response_format is not supported",
                                    "type": "invalid_request_error",
                                }
                            },
                        )
                        return
                    # Re-feed the body we consumed to the normal handler.
                    import io

                    self.rfile = io.BytesIO(raw)
                super().do_POST()

        return Handler


# -- a small store for the LLM tests (independent of sample data and ingest) ----------------

SYSTEMS = (
    # system_id, name, vendor, peak bf16 FLOP/s, HBM bytes, HBM B/s, SRAM bytes, TCO $/chip-h
    ("xpu-a", "xPU-A", "hypothetical", 9.0e14, 96e9, 3.0e12, 256e6, 2.0),
    ("xpu-b", "xPU-B", "hypothetical", 4.0e14, 64e9, 1.6e12, 32e6, 1.0),
)
OPS = (
    ("q_proj", "gemm"), ("k_proj", "gemm"), ("v_proj", "gemm"), ("attn_qk", "attention"),
    ("attn_sv", "attention"), ("o_proj", "gemm"), ("ffn_gate", "gemm"), ("ffn_up", "gemm"),
    ("ffn_down", "gemm"), ("rmsnorm", "norm"), ("all_reduce", "collective"), ("lm_head", "gemm"),
)  # fmt: skip


def make_store(path, copies: int = 1):
    """A schema-v1 store: 2 systems x 1 model x 2 phases x batch {1, 8} x tp {4, 8}.

    `copies` repeats every configuration (new config_ids, same distinct values), so a bigger
    store has more rows but the same values: the selector prompt must not grow with it.
    Returns the path.
    """
    import duckdb

    from coview.store.schema import create_schema

    con = duckdb.connect(str(path))
    create_schema(con)
    con.execute(
        "INSERT INTO sweeps (sweep_id, name, simulator, simulator_version, source_path, ingested_at) "
        "VALUES ('s1', 'llama2-70b test sweep', 'coview-roofline', '1', "
        "'test', TIMESTAMP '2026-01-01 00:00:00')"
    )
    for sid, name, vendor, flops, hbm, hbm_bw, sram, tco in SYSTEMS:
        con.execute(
            "INSERT INTO systems (system_id, name, vendor, peak_flops_bf16, hbm_bytes, "
            "hbm_bw_bytes_per_s, sram_bytes, tco_usd_per_chip_hour, source) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'test')",
            [sid, name, vendor, flops, hbm, hbm_bw, sram, tco],
        )
    con.execute(
        "INSERT INTO models (model_id, name, num_layers, hidden_size, num_heads, num_kv_heads, "
        "head_dim, ffn_dim, vocab_size, total_params, source) VALUES "
        "('llama2-70b', 'Llama-2-70B', 80, 8192, 64, 8, 128, 28672, 32000, 6.9e10, 'test')"
    )
    configs, operators = [], []
    cid = 0
    for _copy in range(copies):
        for s_i, (sid, _n, _v, _f, _h, _bw, _sr, tco) in enumerate(SYSTEMS):
            for phase in ("prefill", "decode"):
                for batch in (1, 8):
                    for tp in (4, 8):
                        cid += 1
                        scale = (1.0 + s_i) * (1.0 if phase == "decode" else 40.0)
                        latency = round(0.0123 * scale * (1 + batch / 16) * 8 / tp, 9)
                        tput = batch / latency if phase == "decode" else batch * 2048 / latency
                        cost = tco * tp
                        configs.append(
                            (cid, "s1", sid, "llama2-70b", phase, batch, 2048, 256, tp, 1, 1, 1,
                             tp, "bf16", "bf16", "bf16", latency, tput, cost, tput / cost,
                             cost / 3600 / tput * 1e6, 140e9 / tp, 1e9 * batch / tp,
                             s_i == 0 or tp == 8, None, None, 1e12 * batch, False)
                        )  # fmt: skip
                        for k, (op, cls) in enumerate(OPS):
                            comp = 1e-5 * (k + 1) * batch / (1 + s_i) / tp
                            mem = 2e-5 * (k + 1) * (1 + s_i) / tp
                            comm = 3e-5 * (1 + s_i) if cls == "collective" else 0.0
                            roof = max(comp, mem, comm)
                            bound = ["compute", "memory", "comm"][[comp, mem, comm].index(roof)]
                            operators.append(
                                (cid, k, "head" if op == "lm_head" else "decoder", op, cls,
                                 1 if op == "lm_head" else 80, 1e9 * (k + 1), 1e7, 1e6, 5e6,
                                 1e6 if cls == "collective" else 0.0, comp, mem, comm, roof, bound,
                                 ("sram" if s_i == 0 else "hbm") if cls == "gemm" else None)
                            )  # fmt: skip
    _insert(con, "configs", _CONFIG_COLS, configs)
    _insert(con, "operators", _OP_COLS, operators)
    con.close()
    return path


_CONFIG_COLS = (
    "config_id sweep_id system_id model_id phase batch_size input_len output_len tp pp dp ep "
    "num_chips weight_dtype act_dtype kv_dtype latency_s throughput_tok_per_s tco_usd_per_hour "
    "perf_per_tco usd_per_1m_tokens weight_bytes_per_chip kv_bytes_per_chip fits_memory power_w "
    "energy_j total_flops is_pareto"
).split()
_OP_COLS = (
    "config_id op_index layer_name op_type op_class count flops bytes_read bytes_written "
    "bytes_weight bytes_comm compute_time_s memory_time_s comm_time_s roofline_time_s bound "
    "weights_location"
).split()


def _insert(con, table: str, cols: list[str], rows: list[tuple]) -> None:
    """Bulk insert through Arrow (DuckDB's executemany is slow row by row)."""
    import pyarrow as pa

    types = {
        "power_w": pa.float64(),
        "energy_j": pa.float64(),
        "weights_location": pa.string(),
    }
    data = {c: pa.array([r[i] for r in rows], type=types.get(c)) for i, c in enumerate(cols)}
    con.register("_rows", pa.table(data))
    con.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM _rows")
    con.unregister("_rows")


# -- scenarios shared by tests/test_llm_gemini.py and tests/test_llm_openai.py --------------


def selection(
    sql: str | list[str] | None = None, answerable: bool = True, reason: str = ""
) -> dict:
    """What a selector model replies."""
    sqls = [sql] if isinstance(sql, str) else list(sql or [])
    return {"answerable": answerable, "reason": reason or "test selection", "sql": sqls}


def answer(text: str, refused: bool = False) -> dict:
    """What an answerer model replies."""
    return {"refused": refused, "answer": text}


def file_digest(path) -> str:
    import hashlib
    from pathlib import Path

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def query_one(store, sql: str) -> tuple:
    """One row from the store, on a short-lived read-only connection."""
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(sql).fetchone()
    finally:
        con.close()


def guarded(store, sql: str) -> str:
    """The SQL as the guard passes it on to the runner (normalised by sqlglot)."""
    from coview.engine.guard import Catalog

    return Catalog.from_store(store).check(sql)


BEST_SQL = (
    "SELECT c.config_id, s.name AS system, c.batch_size, c.tp, c.latency_s, c.perf_per_tco "
    "FROM configs c JOIN systems s ON s.system_id = c.system_id "
    "WHERE s.name = 'xPU-A' AND c.phase = 'decode' AND c.fits_memory "
    "ORDER BY c.perf_per_tco DESC LIMIT 1"
)
BEST_QUESTION = "Which decode config on xPU-A has the best perf per TCO?"


class BackendScenarios:
    """Pipeline tests run against a fake server with the real SDK client.

    A subclass named Test... sets `backend` and implements `make_server` and `settings_for`;
    pytest collects the inherited test_* methods for it.
    """

    backend = ""

    # -- to implement --------------------------------------------------------------------
    def make_server(self) -> _FakeServer:
        raise NotImplementedError

    def settings_for(self, server: _FakeServer, **overrides):
        raise NotImplementedError

    def cli_args(self, server: _FakeServer, tmp_path) -> tuple[list[str], dict[str, str]]:
        """Extra `coview ask` arguments and environment that point the CLI at `server`."""
        raise NotImplementedError

    # -- fixtures ------------------------------------------------------------------------
    @pytest.fixture(scope="class")
    def store(self, tmp_path_factory):
        return make_store(tmp_path_factory.mktemp("llm-store") / "store.duckdb")

    @pytest.fixture
    def server(self):
        srv = self.make_server().start()
        yield srv
        srv.stop()

    def pipeline(self, store, server, **overrides):
        from coview.engine.pipeline import Pipeline

        return Pipeline(
            store, backend=self.backend, settings=self.settings_for(server, **overrides)
        )

    @staticmethod
    def fast(settings, timeout_s: float = 5.0):
        """Tiny backoff and timeout so the retry tests stay fast."""
        settings.llm_timeout_s = timeout_s
        settings.llm_attempts = 3
        settings.llm_backoff_s = 0.001
        settings.llm_backoff_max_s = 0.01
        return settings

    # -- scenarios -----------------------------------------------------------------------
    def test_good_answer(self, store, server):
        cid, ppt = query_one(store, BEST_SQL)[0], query_one(store, BEST_SQL)[5]
        server.push(
            selection(BEST_SQL, reason="best decode config on xPU-A by perf_per_tco"),
            answer(f"Config {cid} has the best perf per TCO: {ppt:.4g} tokens/s per USD/hour."),
        )
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "answered", result.answer
        assert result.backend == self.backend
        assert result.sql == [guarded(store, BEST_SQL)]
        assert result.rows and result.rows[0]["config_id"] == cid
        assert result.grounding.ok and result.grounding.numbers
        assert f"{ppt:.4g}" in result.answer
        assert len(server.requests) == 2
        select_prompt, answer_prompt = server.prompts()
        # The selector saw the schema from the comments, the values present and the question.
        assert "TABLE operators" in select_prompt and "roofline_time_s DOUBLE --" in select_prompt
        assert "'xPU-B'" in select_prompt and "batch_size: 1, 8" in select_prompt
        assert BEST_QUESTION in select_prompt
        # The answerer saw the evidence between the markers, as data.
        body = answer_prompt.split("\n<<<EVIDENCE\n", 1)[1].split("\nEVIDENCE>>>", 1)[0]
        assert f"{ppt:.6g}" in body and str(cid) in body
        assert "ML-systems performance expert" in answer_prompt

    def test_hallucinated_column_fixed_on_retry(self, store, server):
        bad = "SELECT config_id, latency_ms FROM configs ORDER BY latency_ms LIMIT 1"
        cid, ppt = query_one(store, BEST_SQL)[0], query_one(store, BEST_SQL)[5]
        server.push(
            selection(bad),
            selection(BEST_SQL),
            answer(f"Config {cid} is best with {ppt:.4g} tokens/s per USD/hour."),
        )
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "answered", result.answer
        assert result.sql == [guarded(store, BEST_SQL)]
        assert len(server.requests) == 3
        first, retry = server.prompts()[:2]
        assert "REJECTED" not in first
        assert "YOUR PREVIOUS ANSWER TO THIS QUESTION WAS REJECTED" in retry
        assert f"Previous SQL: {bad}" in retry
        error_line = next(x for x in retry.splitlines() if x.startswith("Error: "))
        assert "latency_ms" in error_line  # the guard's or DuckDB's own words about it

    def test_bad_sql_three_times_is_refused_with_the_error(self, store, server):
        bad = "SELECT latency_ms FROM configs LIMIT 1"
        server.push(selection(bad), selection(bad), selection(bad))
        digest = file_digest(store)
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "refused"
        assert "latency_ms" in result.answer
        assert len(server.requests) == 3  # the first try and SQL_RETRIES more
        assert file_digest(store) == digest

    def test_malformed_json_is_asked_again(self, store, server):
        cid, ppt = query_one(store, BEST_SQL)[0], query_one(store, BEST_SQL)[5]
        server.push(
            "Sure! The SQL is SELECT * FROM configs",  # not JSON at all
            selection(BEST_SQL),
            answer(f"Config {cid}: {ppt:.4g} tokens/s per USD/hour."),
        )
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "answered", result.answer
        retry = server.prompts()[1]
        assert "Your previous reply could not be used" in retry and "not valid JSON" in retry

    def test_malformed_json_twice_is_a_clear_error(self, store, server):
        server.push('{"answerable": tru', '{"answerable": "maybe", "sql": []}')
        digest = file_digest(store)
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "error"
        assert "not the JSON asked for" in result.answer and "--backend offline" in result.answer
        assert len(server.requests) == 2
        assert file_digest(store) == digest

    def test_json_in_fences_and_prose_is_accepted(self, store, server):
        cid, ppt = query_one(store, BEST_SQL)[0], query_one(store, BEST_SQL)[5]
        server.push(
            "Here you go:\n```json\n" + json.dumps(selection(BEST_SQL)) + "\n```",
            "Answer follows. " + json.dumps(answer(f"Config {cid}: {ppt:.4g}.")) + " Done.",
        )
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "answered", result.answer
        assert len(server.requests) == 2

    def test_429_then_success(self, store, server):
        cid, ppt = query_one(store, BEST_SQL)[0], query_one(store, BEST_SQL)[5]
        server.error(429, retry_after="0")
        server.push(selection(BEST_SQL), answer(f"Config {cid}: {ppt:.4g}."))
        settings = self.fast(self.settings_for(server))
        from coview.engine.pipeline import Pipeline

        result = Pipeline(store, backend=self.backend, settings=settings).ask(BEST_QUESTION)
        assert result.status == "answered", result.answer
        assert len(server.requests) == 3
        # The retried request is the same request.
        assert server.requests[0].body == server.requests[1].body

    def test_retry_after_is_honoured_up_to_the_cap(self, store, server):
        cid, ppt = query_one(store, BEST_SQL)[0], query_one(store, BEST_SQL)[5]
        server.error(429, retry_after="7")
        server.error(503)
        server.error(429, retry_after="120")
        server.push(selection(BEST_SQL), answer(f"Config {cid}: {ppt:.4g}."))
        settings = self.fast(self.settings_for(server))
        settings.llm_attempts, settings.llm_backoff_s, settings.llm_backoff_max_s = 4, 0.5, 30.0
        from coview.engine.pipeline import Pipeline

        pipeline = Pipeline(store, backend=self.backend, settings=settings)
        waits: list[float] = []
        pipeline.selector.client.sleep = waits.append  # record instead of sleeping
        result = pipeline.ask(BEST_QUESTION)
        assert result.status == "answered", result.answer
        # Retry-After 7 s; then the backoff (0.5 s doubled); then Retry-After capped at 30 s.
        assert waits == [7.0, 1.0, 30.0]

    def test_500_until_retries_run_out(self, store, server):
        server.error(500, times=3)
        settings = self.fast(self.settings_for(server))
        digest = file_digest(store)
        from coview.engine.pipeline import Pipeline

        result = Pipeline(store, backend=self.backend, settings=settings).ask(BEST_QUESTION)
        assert result.status == "error"
        assert result.reason == "backend"
        assert "answered 500 3 times" in result.answer
        assert "try again later" in result.answer and "--backend offline" in result.answer
        assert len(server.requests) == 3
        assert file_digest(store) == digest

    def test_cli_500s_exit_non_zero_and_store_unchanged(self, store, server, tmp_path):
        from typer.testing import CliRunner

        from coview.cli import app

        server.error(500, times=3)
        args, env = self.cli_args(server, tmp_path)
        env = {
            **env,
            "COVIEW_LLM_BACKOFF_S": "0.001",
            "COVIEW_LLM_BACKOFF_MAX_S": "0.01",
            "COVIEW_LLM_ATTEMPTS": "3",
        }
        digest = file_digest(store)
        res = CliRunner().invoke(
            app,
            [
                "ask",
                BEST_QUESTION,
                "--json",
                "--backend",
                self.backend,
                "--store",
                str(store),
                *args,
            ],
            env=env,
        )
        assert res.exit_code != 0, res.output
        out = json.loads(res.stdout)
        assert out["status"] == "error" and out["backend"] == self.backend
        assert "500" in out["answer"] and "--backend offline" in out["answer"]
        assert len(server.requests) == 3
        assert file_digest(store) == digest

    def test_garbage_body_is_a_clear_error(self, store, server):
        server.push(Reply(raw_body="<html>502 Bad Gateway (proxy)</html>"))
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "error"
        assert "sent a reply coview could not read" in result.answer
        assert "JSONDecodeError" in result.answer and "--backend offline" in result.answer
        assert len(server.requests) == 1

    def test_timeout_is_a_clear_error(self, store, server):
        for _ in range(3):
            server.push(Reply(text=json.dumps(selection(BEST_SQL)), delay_s=30))
        settings = self.fast(self.settings_for(server), timeout_s=0.2)
        from coview.engine.pipeline import Pipeline

        result = Pipeline(store, backend=self.backend, settings=settings).ask(BEST_QUESTION)
        assert result.status == "error"
        assert "did not answer within 0.2 s (twice)" in result.answer
        assert "llm_timeout_s" in result.answer
        # A timeout is tried twice, not three times: each try costs the user a whole timeout.
        assert len(server.requests) == 2

    def test_timeout_then_success(self, store, server):
        cid, ppt = query_one(store, BEST_SQL)[0], query_one(store, BEST_SQL)[5]
        server.push(Reply(text=json.dumps(selection(BEST_SQL)), delay_s=30))
        server.push(selection(BEST_SQL), answer(f"Config {cid}: {ppt:.4g}."))
        settings = self.fast(self.settings_for(server), timeout_s=0.2)
        from coview.engine.pipeline import Pipeline

        result = Pipeline(store, backend=self.backend, settings=settings).ask(BEST_QUESTION)
        assert result.status == "answered", result.answer
        assert len(server.requests) == 3

    def test_not_answerable_is_refused_with_the_reason(self, store, server):
        reason = "There is no system named B200; the systems present are xPU-A and xPU-B."
        server.push(selection(None, answerable=False, reason=reason))
        result = self.pipeline(store, server).ask("What is the decode latency on B200?")
        assert result.status == "refused"
        assert result.reason == reason
        assert "B200" in result.answer
        assert result.sql == [] and result.rows == []
        assert len(server.requests) == 1

    def test_answerer_refusal(self, store, server):
        server.push(
            selection(BEST_SQL),
            answer("The rows hold no power figures, so I cannot say.", refused=True),
        )
        result = self.pipeline(store, server).ask("How much power does the best config draw?")
        assert result.status == "refused"
        assert "no power figures" in result.answer

    def test_ungrounded_number_is_regenerated_with_the_failure_named(self, store, server):
        cid, ppt = query_one(store, BEST_SQL)[0], query_one(store, BEST_SQL)[5]
        server.push(
            selection(BEST_SQL),
            answer("The best perf per TCO is 987654.321 tokens/s per USD/hour."),
            answer(f"Config {cid} has the best perf per TCO: {ppt:.4g} tokens/s per USD/hour."),
        )
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "answered", result.answer
        assert result.grounding.ok
        assert "987654.321" not in result.answer
        assert len(server.requests) == 3
        regen = server.prompts()[2]
        assert "FAILED THE GROUNDING CHECK" in regen
        problem = next(x for x in regen.splitlines() if x.startswith("Problem: "))
        assert "987654.321" in problem

    def test_ungrounded_twice_is_shown_marked(self, store, server):
        server.push(
            selection(BEST_SQL),
            answer("The best perf per TCO is 987654.321."),
            answer("The best perf per TCO is 876543.219."),
        )
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert not result.grounding.ok
        assert [n.text for n in result.grounding.unmatched] == ["876543.219"]
        assert result.answer != "The best perf per TCO is 876543.219."  # marked, not bare
        assert len(server.requests) == 3

    def test_history_and_context_reach_the_selector(self, store, server):
        from coview.engine.types import Context, Turn

        cid = query_one(store, BEST_SQL)[0]
        server.push(selection(None, answerable=False, reason="test stop"))
        history = [
            Turn(
                "What is the decode latency of config 1 on xPU-A?",
                "It is 12.3 ms.",
                ["SELECT latency_s FROM configs WHERE config_id = 1 LIMIT 1"],
            )
        ]
        self.pipeline(store, server).ask(
            "and on xPU-B?", history=history, context=Context(config_id=cid)
        )
        (prompt,) = server.prompts()
        assert "CONVERSATION SO FAR" in prompt
        assert history[0].question in prompt and history[0].answer in prompt
        assert "SQL: SELECT latency_s FROM configs WHERE config_id = 1 LIMIT 1" in prompt
        assert f'"This config" means config_id = {cid}' in prompt
        assert "system='xPU-A'" in prompt  # the selected config is described from the store
        assert prompt.rstrip().endswith("QUESTION: and on xPU-B?")
