"""Text from a store is hostile: make it safe to print, to render with Rich, and to prompt with.

One module so every output path (``coview ask``/``schema``/``export``, ingest errors, the TUI,
model prompts) cleans text the same way. ``clean`` removes terminal escape sequences (CSI,
OSC such as OSC 52 clipboard writes and OSC 0 window titles, DCS/APC/PM, single ESC codes)
and every other C0/C1 control character; ``escape_markup`` makes Rich markup render
literally (``xPU-B [/]``, ``[link=...]``, ``GB200 [NVL72]``). No Textual import here.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

# ESC-introduced sequences, and their 8-bit C1 forms: CSI ... final byte; OSC/DCS/SOS/PM/APC
# ... up to ST (ESC \ or 0x9c) or BEL; otherwise ESC and one following byte.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Characters that reorder or hide text on a terminal (bidi overrides, zero-width joiners).
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def has_control(text: str) -> bool:
    """True if `text` holds a C0/C1 control character (tab and newline included) or ESC."""
    return bool(_CONTROLS_ONE_LINE.search(text))


def clean(text: Any, max_len: int | None = None, one_line: bool = False) -> str:
    """`text` without escape sequences or control characters (newline and tab kept unless
    `one_line`, where they become spaces), cut to `max_len` characters with an ellipsis."""
    if text is None:
        return ""
    s = text if isinstance(text, str) else str(text)
    if s.isascii() and s.isprintable() and (max_len is None or len(s) <= max_len):
        return s  # the common case, fast
    s = _ESCAPES.sub("", s)
    s = _INVISIBLE.sub("", s)
    if one_line:
        s = re.sub(r"[\t\n\r]+", " ", s)
        s = _CONTROLS_ONE_LINE.sub("", s)
    else:
        s = s.replace("\r\n", "\n").replace("\r", "\n")
        s = _CONTROLS.sub("", s)
    s = "".join(ch for ch in s if unicodedata.category(ch) != "Cc" or ch in "\n\t")
    if max_len is not None and len(s) > max_len:
        s = s[: max(0, max_len - 1)] + "…"
    return s


def clean_json(value: Any) -> Any:
    """A JSON-able value with every string in it (keys too) passed through ``clean``."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def escape_markup(text: Any) -> str:
    """Cleaned `text` with every ``[`` escaped, so Rich/Textual markup shows literally."""
    return re.sub(r"(\\*)\[", lambda m: m.group(1) * 2 + "\\[", clean(text))


def for_prompt(text: Any, max_len: int = 200) -> str:
    """Store text for a model prompt: one line, no controls, capped; quote it as data."""
    return clean(text, max_len=max_len, one_line=True)
