"""Thin clients for the two model APIs, with one retry policy and one error vocabulary.

Both clients send a system instruction and a user message, ask for JSON, and return the
model's raw text. Transient faults (HTTP 408/429/5xx, timeouts, refused connections) are
retried here with a small capped exponential backoff that honours Retry-After; the SDKs' own
retries are turned off so the attempt count and the final message are ours. After the last
attempt a BackendError says what happened and what to do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from coview.engine.types import BackendError

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass
class RetryPolicy:
    """How often and how patiently to call a model API (tests use tiny values)."""

    attempts: int = 3  # including the first call
    backoff_s: float = 1.0  # first wait; doubles each retry
    backoff_max_s: float = 8.0  # cap on any wait, Retry-After included
    timeout_s: float = 60.0  # per request
    # A timed-out request is tried at most this often: a slow local server is still busy
    # with the first request, and each try costs the user a whole timeout.
    timeout_attempts: int = 2

    @classmethod
    def from_settings(cls, settings: Any) -> RetryPolicy:
        """Read the policy from Settings (optional attributes) and COVIEW_LLM_* env overrides."""
        p = cls(timeout_s=float(getattr(settings, "llm_timeout_s", 60.0) or 60.0))
        p.attempts = int(getattr(settings, "llm_attempts", p.attempts))
        p.backoff_s = float(getattr(settings, "llm_backoff_s", p.backoff_s))
        p.backoff_max_s = float(getattr(settings, "llm_backoff_max_s", p.backoff_max_s))
        env = os.environ
        if v := env.get("COVIEW_LLM_ATTEMPTS"):
            p.attempts = int(v)
        if v := env.get("COVIEW_LLM_BACKOFF_S"):
            p.backoff_s = float(v)
        if v := env.get("COVIEW_LLM_BACKOFF_MAX_S"):
            p.backoff_max_s = float(v)
        if v := env.get("COVIEW_LLM_TIMEOUT_S"):
            p.timeout_s = float(v)
        p.attempts = max(1, p.attempts)
        return p

    def wait_s(self, retry: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        wait = self.backoff_s * (2 ** (retry - 1))
        if retry_after is not None:
            wait = max(wait, retry_after)
        return max(0.0, min(wait, self.backoff_max_s))


@dataclass
class Fault:
    """One failed call, classified: `kind` is 'status', 'timeout', 'connection' or 'other'."""

    kind: str
    status: int | None = None
    detail: str = ""
    retry_after: float | None = None

    @property
    def transient(self) -> bool:
        return self.kind in ("timeout", "connection") or self.status in RETRY_STATUSES


class ChatClient(Protocol):
    """Sends one system+user prompt and returns the model's text (JSON expected)."""

    label: str  # for messages: "the Gemini API", "the OpenAI-compatible server at ..."

    def complete(self, system: str, user: str, schema: dict[str, Any] | None) -> str: ...


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date; the capped backoff is good enough


def _transport_errors() -> tuple[type[BaseException], ...]:
    """httpx and its fork httpx2 (used by google-genai) transport errors, whichever exist."""
    out: list[type[BaseException]] = []
    for mod_name in ("httpx", "httpx2"):
        try:
            mod = __import__(mod_name)
        except ImportError:
            continue
        if cls := getattr(mod, "TransportError", None):
            out.append(cls)
    return tuple(out)


def call_with_retries(
    label: str,
    policy: RetryPolicy,
    call: Callable[[], str],
    classify: Callable[[BaseException], Fault | None],
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """Run `call`, retrying transient faults per `policy`; BackendError after the last one."""
    faults: list[Fault] = []
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except Exception as exc:
            # Anything the SDK raises that is not an API fault (a body that is not JSON, an
            # unexpected shape) is still the backend's failure: report it, never crash.
            fault = classify(exc) or Fault("other", detail=f"{type(exc).__name__}: {exc}")
            faults.append(fault)
            timeouts = sum(f.kind == "timeout" for f in faults)
            if (
                not fault.transient
                or attempt == policy.attempts
                or timeouts >= policy.timeout_attempts
            ):
                break
            sleep(policy.wait_s(attempt, fault.retry_after))
    raise BackendError(_fault_message(label, faults, policy))


def _fault_message(label: str, faults: list[Fault], policy: RetryPolicy) -> str:
    last = faults[-1]
    times = {1: "once", 2: "twice"}.get(len(faults), f"{len(faults)} times")
    if last.kind == "other":
        what = f"{label} sent a reply coview could not read"
        todo = "check that the URL points at the right kind of API"
    elif last.kind == "timeout":
        what = f"{label} did not answer within {policy.timeout_s:g} s ({times})"
        todo = "try again later, raise [limits] llm_timeout_s in the config"
    elif last.kind == "connection":
        what = f"could not connect to {label} ({times})"
        todo = "check that the server is running and the URL is right"
    elif last.status == 429:
        what = f"{label} answered 429 Too Many Requests {times} (rate limit or quota)"
        todo = "wait a minute and try again, or check your quota"
    elif last.status in (401, 403):
        what = f"{label} refused the credentials (HTTP {last.status})"
        todo = "check the API key"
    elif last.status == 404:
        what = f"{label} answered 404 Not Found"
        todo = "check the model name and the base URL"
    elif last.status is not None and last.status >= 500:
        what = f"{label} answered {last.status} {times}"
        todo = "try again later"
    else:
        what = f"{label} rejected the request (HTTP {last.status})"
        todo = "check the model name and settings"
    detail = f" Last error: {last.detail.strip()[:300]}" if last.detail.strip() else ""
    return f"{what}; {todo}, or use --backend offline.{detail}"


# -- Gemini ------------------------------------------------------------------------------


class GeminiClient:
    """google-genai against the Gemini API (or any base URL serving its REST protocol)."""

    def __init__(self, settings: Any, policy: RetryPolicy) -> None:
        from google import genai
        from google.genai import types

        if not settings.gemini_api_key:
            raise ValueError(
                "The gemini backend needs an API key: set GEMINI_API_KEY (or [gemini] api_key "
                "in the config), or use --backend offline."
            )
        self._types = types
        self.policy = policy
        self.model = settings.gemini_model
        self.label = "the Gemini API" + (
            f" at {settings.gemini_base_url}" if settings.gemini_base_url else ""
        )
        self.client = genai.Client(
            api_key=settings.gemini_api_key,
            http_options=types.HttpOptions(
                base_url=settings.gemini_base_url,
                api_version=settings.gemini_api_version,
                # HttpOptions.timeout is in milliseconds.
                timeout=max(1, int(policy.timeout_s * 1000)),
                # retry_options left unset: the SDK then makes one attempt; we retry.
            ),
        )
        self._transport = _transport_errors()
        self.sleep: Callable[[float], None] = time.sleep  # tests record waits instead

    def complete(self, system: str, user: str, schema: dict[str, Any] | None) -> str:
        types = self._types
        config = types.GenerateContentConfig(
            system_instruction=system,
            temperature=0,
            response_mime_type="application/json",
            response_schema=schema,
        )

        def call() -> str:
            resp = self.client.models.generate_content(
                model=self.model, contents=user, config=config
            )
            return _gemini_text(resp)

        return call_with_retries(self.label, self.policy, call, self._classify, self.sleep)

    def _classify(self, exc: BaseException) -> Fault | None:
        from google.genai import errors

        if isinstance(exc, errors.APIError):
            headers = getattr(getattr(exc, "response", None), "headers", None) or {}
            return Fault(
                "status",
                exc.code,
                str(exc.message or exc.status or ""),
                _parse_retry_after(headers.get("retry-after")),
            )
        if self._transport and isinstance(exc, self._transport):
            kind = "timeout" if "Timeout" in type(exc).__name__ else "connection"
            return Fault(kind, detail=str(exc))
        return None


def _gemini_text(resp: Any) -> str:
    """The reply text, or '' when Gemini sent no text (blocked, empty candidate)."""
    try:
        text = resp.text
    except (ValueError, AttributeError):
        text = None
    return text or ""


# -- OpenAI-compatible -------------------------------------------------------------------


class OpenAIClient:
    """The openai SDK against any OpenAI-compatible server (llama.cpp, vLLM, Ollama...)."""

    def __init__(self, settings: Any, policy: RetryPolicy) -> None:
        import openai

        self.policy = policy
        self.model = settings.openai_model
        self.base_url = settings.openai_base_url
        self.label = f"the OpenAI-compatible server at {self.base_url}"
        self.client = openai.OpenAI(
            base_url=self.base_url,
            api_key=settings.openai_api_key or "not-needed",
            timeout=policy.timeout_s,
            max_retries=0,  # we retry, with our own attempt count and message
        )
        # Some servers reject response_format; after one such 400 we stop sending it and
        # rely on the prompt plus parse_json_reply's fence/brace extraction.
        self.json_mode = True
        self.sleep: Callable[[float], None] = time.sleep  # tests record waits instead

    def complete(self, system: str, user: str, schema: dict[str, Any] | None) -> str:
        import openai

        def call() -> str:
            kwargs: dict[str, Any] = {}
            if self.json_mode:
                kwargs["response_format"] = {"type": "json_object"}
            try:
                resp = self.client.chat.completions.create(
                    model=self.model,
                    messages=[
                        {"role": "system", "content": system},
                        {"role": "user", "content": user},
                    ],
                    temperature=0,
                    **kwargs,
                )
            except openai.BadRequestError as exc:
                if self.json_mode and "response_format" in str(exc):
                    self.json_mode = False
                    return call()
                raise
            if not resp.choices:
                return ""
            return resp.choices[0].message.content or ""

        return call_with_retries(self.label, self.policy, call, self._classify, self.sleep)

    def _classify(self, exc: BaseException) -> Fault | None:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return Fault("timeout", detail=str(exc))
        if isinstance(exc, openai.APIConnectionError):
            return Fault("connection", detail=str(exc.__cause__ or exc))
        if isinstance(exc, openai.APIStatusError):
            return Fault(
                "status",
                exc.status_code,
                _openai_detail(exc),
                _parse_retry_after(exc.response.headers.get("retry-after")),
            )
        return None


def _openai_detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        msg = body.get("message") or (body.get("error") or {}).get("message")
        if msg:
            return str(msg)
    return str(getattr(exc, "message", "") or exc)


def make_client(name: str, settings: Any, policy: RetryPolicy | None = None) -> ChatClient:
    """The client of the named backend ('gemini' or 'openai')."""
    policy = policy or RetryPolicy.from_settings(settings)
    if name == "gemini":
        return GeminiClient(settings, policy)
    if name == "openai":
        return OpenAIClient(settings, policy)
    raise ValueError(f"Unknown LLM backend {name!r}; choose gemini or openai.")
