"""The openai backend: the real openai client against a fake OpenAI-compatible server.

Stands in for llama.cpp's server, vLLM or Ollama on 127.0.0.1. The shared scenarios live in
fake_llm_servers.BackendScenarios; this file adds what is specific to such servers.
"""

from __future__ import annotations

import json
import socket
import sys

import pytest

if "fake_llm_servers" not in sys.modules:  # rewrite asserts in the shared scenarios
    pytest.register_assert_rewrite("fake_llm_servers")

from fake_llm_servers import (  # noqa: E402
    BEST_QUESTION,
    BEST_SQL,
    BackendScenarios,
    FakeOpenAI,
    answer,
    query_one,
    selection,
)

from coview.config import Settings  # noqa: E402


class TestOpenAI(BackendScenarios):
    backend = "openai"

    def make_server(self) -> FakeOpenAI:
        return FakeOpenAI()

    def settings_for(self, server, **overrides) -> Settings:
        s = Settings(
            openai_base_url=server.base_url,
            openai_model="local-test",
            openai_api_key="not-needed",
            llm_timeout_s=5.0,
        )
        for k, v in overrides.items():
            setattr(s, k, v)
        return s

    def cli_args(self, server, tmp_path):
        config = tmp_path / "config.toml"
        config.write_text("[limits]\nllm_timeout_s = 5\n")
        return ["--base-url", server.base_url, "--model", "local-test"], {
            "COVIEW_CONFIG": str(config)
        }

    def test_request_shape(self, store, server):
        """chat.completions with a system and a user message, JSON mode, temperature 0."""
        server.push(selection(None, answerable=False, reason="stop here"))
        self.pipeline(store, server).ask(BEST_QUESTION)
        (req,) = server.requests
        assert req.path == "/v1/chat/completions"
        assert req.body["model"] == "local-test"
        assert req.body["response_format"] == {"type": "json_object"}
        assert req.body["temperature"] == 0
        system, user = req.body["messages"]
        assert system["role"] == "system" and "STORE DATA" in system["content"]
        # Store-derived text (schema comments, values) travels as data in the user message.
        assert "TABLE configs" not in system["content"]
        assert user["role"] == "user" and BEST_QUESTION in user["content"]
        block = user["content"].split("<<<STORE DATA", 1)[1].split("STORE DATA>>>", 1)[0]
        assert "TABLE configs" in block

    def test_server_without_json_mode(self, store):
        """A server that rejects response_format gets plain requests from then on."""
        cid, ppt = query_one(store, BEST_SQL)[0], query_one(store, BEST_SQL)[5]
        with FakeOpenAI(reject_response_format=True) as server:
            server.push(
                "```json\n" + json.dumps(selection(BEST_SQL)) + "\n```",
                json.dumps(answer(f"Config {cid}: {ppt:.4g} tokens/s per USD/hour.")),
            )
            result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "answered", result.answer
        with_format = [r for r in server.requests if "response_format" in r.body]
        assert len(with_format) == 1  # tried once, then left out
        assert len(server.requests) == 3

    def test_no_server_running(self, store):
        """Nothing listening at the URL: a clear 'could not connect' error, quickly."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]  # closed again when the block ends: nothing listens
        settings = self.fast(
            Settings(openai_base_url=f"http://127.0.0.1:{port}/v1", openai_model="m")
        )
        from coview.engine.pipeline import Pipeline

        result = Pipeline(store, backend="openai", settings=settings).ask(BEST_QUESTION)
        assert result.status == "error"
        assert (
            f"could not connect to the OpenAI-compatible server at http://127.0.0.1:{port}/v1"
            in result.answer
        )
        assert "check that the server is running" in result.answer

    def test_unknown_model_404_is_not_retried(self, store, server):
        server.error(404, times=3)
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "error"
        assert "check the model name" in result.answer
        assert len(server.requests) == 1
