"""Loading the prompt files and reading the model's JSON reply.

Prompt files in prompts/ have a `[system]` part and a `[user]` part and use
string.Template `$name` placeholders: schema docs, SQL and JSON examples are full of braces,
which str.format would trip over, while `$` hardly appears in them (and values substituted
in are never re-scanned).
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from string import Template
from typing import TYPE_CHECKING, Any

from coview.engine.types import BackendError

if TYPE_CHECKING:
    from coview.engine.llm.clients import ChatClient

USER_MARK = "\n[user]\n"


@cache
def prompt_text(name: str) -> str:
    """The raw text of prompts/<name>."""
    return resources.files("coview.prompts").joinpath(name).read_text(encoding="utf-8")


def render_prompt(name: str, **values: str) -> tuple[str, str]:
    """Fill prompts/<name> and split it into (system, user) text."""
    text = prompt_text(name)
    if not text.startswith("[system]\n") or USER_MARK not in text:
        raise ValueError(f"prompts/{name} must have a [system] part and a [user] part")
    system, user = text[len("[system]\n") :].split(USER_MARK, 1)
    return Template(system).substitute(values).strip(), Template(user).substitute(values).strip()


class ReplyError(ValueError):
    """The model's reply is not the JSON object asked for; the message says why."""


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
# Reasoning models served through OpenAI-compatible servers may prefix their reasoning.
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


def _objects(text: str) -> list[Any]:
    """Every JSON object that starts at a '{' in `text`, in order."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    pos = text.find("{")
    while pos != -1:
        try:
            obj, _end = decoder.raw_decode(text, pos)
            found.append(obj)
        except ValueError:
            pass
        pos = text.find("{", pos + 1)
    return found


def parse_json_reply(text: str, required: dict[str, type | tuple[type, ...]]) -> dict[str, Any]:
    """The JSON object in a model reply: bare, inside ```json fences, or amid prose.

    `required` maps each key to the type(s) its value must have. Amid prose, the last object
    that has all the required keys wins (reasoning text may quote partial attempts).
    """
    text = _THINK.sub("", text or "").strip()
    if not text:
        raise ReplyError("the reply was empty")
    obj: Any = None
    try:
        obj = json.loads(text)
    except ValueError as exc:
        error = str(exc)
        fenced = [m.strip() for m in _FENCE.findall(text)]
        candidates = [o for f in fenced for o in _objects(f)] or _objects(text)
        dicts = [o for o in candidates if isinstance(o, dict)]
        complete = [o for o in dicts if all(k in o for k in required)]
        if complete or dicts:
            obj = (complete or dicts)[-1]
        else:
            raise ReplyError(f"the reply is not valid JSON ({error}): {text[:200]!r}") from None
    if not isinstance(obj, dict):
        raise ReplyError(f"the reply is JSON but not an object: {text[:200]!r}")
    for key, typ in required.items():
        if key not in obj:
            raise ReplyError(f"the reply has no {key!r} field: {text[:200]!r}")
        if not isinstance(obj[key], typ):
            raise ReplyError(f"the reply's {key!r} field has the wrong type: {obj[key]!r:.100}")
    return obj


def ask_json(
    client: ChatClient,
    system: str,
    user: str,
    schema: dict[str, Any] | None,
    required: dict[str, type | tuple[type, ...]],
    what: str,
) -> dict[str, Any]:
    """Call the model for a JSON object; re-ask once if the reply is malformed."""
    text = client.complete(system, user, schema)
    try:
        return parse_json_reply(text, required)
    except ReplyError as first:
        retry_user = (
            f"{user}\n\nYour previous reply could not be used: {first}. "
            "Reply with only the JSON object described in the instructions, nothing else."
        )
        text = client.complete(system, retry_user, schema)
        try:
            return parse_json_reply(text, required)
        except ReplyError as second:
            raise BackendError(
                f"{client.label} twice replied to the {what} request with something that is "
                f"not the JSON asked for ({second}). Try again, use a model that supports JSON "
                "output, or use --backend offline."
            ) from second
