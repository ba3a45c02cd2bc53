"""LLM backends (Gemini via google-genai, any OpenAI-compatible server via openai).

`make_llm_backend` builds one client and reads the store's prompt context once; the
selector writes SQL, the answerer writes grounded answers. The pipeline's guard, runner and
grounding check apply to them exactly as to the offline backend.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from coview.engine.llm.answerer import LLMAnswerer, render_evidence
from coview.engine.llm.clients import RetryPolicy, make_client
from coview.engine.llm.selector import LLMSelector, build_selector_prompt, store_context_for

if TYPE_CHECKING:
    from coview.config import Settings
    from coview.engine.types import Answerer, Selector

__all__ = [
    "LLMAnswerer",
    "LLMSelector",
    "RetryPolicy",
    "build_selector_prompt",
    "make_llm_backend",
    "render_evidence",
]


def make_llm_backend(name: str, store_path: Path, settings: Settings) -> tuple[Selector, Answerer]:
    """Selector and answerer of the 'gemini' or 'openai' backend, sharing one client."""
    client = make_client(name, settings, RetryPolicy.from_settings(settings))
    store_context = store_context_for(Path(store_path))
    return (
        LLMSelector(name, client, Path(store_path), store_context),
        LLMAnswerer(name, client),
    )
