"""The offline selector's vocabulary files (engine/offline/vocabulary/*.toml), each parsed once
per process: tomllib is pure Python, and a CLI process pays for every parse."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

VOCABULARY_DIR = Path(__file__).parent / "vocabulary"


@cache
def vocabulary_file(name: str) -> dict[str, Any]:
    """The parsed contents of vocabulary/NAME (e.g. 'units.toml'); do not mutate."""
    return tomllib.loads((VOCABULARY_DIR / name).read_text(encoding="utf-8"))
