"""The gemini backend: the real google-genai client against a fake Gemini server on 127.0.0.1.

The shared scenarios (good answer, SQL fixed on retry, malformed JSON, 429, 500s, timeout,
refusals, grounding regeneration, history) live in fake_llm_servers.BackendScenarios.
"""

from __future__ import annotations

import sys

import pytest

if "fake_llm_servers" not in sys.modules:  # rewrite asserts in the shared scenarios
    pytest.register_assert_rewrite("fake_llm_servers")

from fake_llm_servers import (  # noqa: E402
    BEST_QUESTION,
    BackendScenarios,
    FakeGemini,
    selection,
)

from coview.config import Settings  # noqa: E402


class TestGemini(BackendScenarios):
    backend = "gemini"

    def make_server(self) -> FakeGemini:
        return FakeGemini()

    def settings_for(self, server, **overrides) -> Settings:
        s = Settings(
            gemini_api_key="test-key",
            gemini_model="gemini-test",
            gemini_base_url=server.base_url,
            gemini_api_version="v1beta",
            llm_timeout_s=5.0,
        )
        for k, v in overrides.items():
            setattr(s, k, v)
        return s

    def cli_args(self, server, tmp_path):
        config = tmp_path / "config.toml"
        config.write_text(
            f'[gemini]\napi_key = "test-key"\nbase_url = "{server.base_url}"\n'
            'api_version = "v1beta"\nmodel = "gemini-test"\n[limits]\nllm_timeout_s = 5\n'
        )
        return [], {"COVIEW_CONFIG": str(config)}

    def test_request_shape(self, store, server):
        """generateContent on the configured model, JSON mode with a schema, key in a header."""
        server.push(selection(None, answerable=False, reason="stop here"))
        self.pipeline(store, server).ask(BEST_QUESTION)
        (req,) = server.requests
        assert req.path == "/v1beta/models/gemini-test:generateContent"
        assert req.headers.get("x-goog-api-key") == "test-key"
        gen = req.body["generationConfig"]
        assert gen["responseMimeType"] == "application/json"
        assert set(gen["responseSchema"]["properties"]) == {"answerable", "reason", "sql"}
        assert gen["temperature"] == 0
        # The rules go in the system instruction; the store's schema and values (data from
        # the file) and the question in the contents.
        system = req.body["systemInstruction"]["parts"][0]["text"]
        assert "STORE DATA" in system and "TABLE configs" not in system
        user = req.body["contents"][0]["parts"][0]["text"]
        assert BEST_QUESTION in user
        assert "TABLE configs" in user.split("<<<STORE DATA", 1)[1].split("STORE DATA>>>")[0]

    def test_missing_api_key_is_a_clear_error(self, store, server):
        from coview.engine.pipeline import Pipeline

        settings = self.settings_for(server, gemini_api_key=None)
        with pytest.raises(ValueError, match="GEMINI_API_KEY"):
            Pipeline(store, backend="gemini", settings=settings)

    def test_bad_key_is_not_retried(self, store, server):
        server.error(403, times=3)
        result = self.pipeline(store, server).ask(BEST_QUESTION)
        assert result.status == "error"
        assert "check the API key" in result.answer
        assert len(server.requests) == 1
