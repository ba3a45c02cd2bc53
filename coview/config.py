"""User settings: a TOML file plus environment overrides.

File: $COVIEW_CONFIG, else <user config dir>/coview/config.toml. Environment variables win
over the file. Keys:

    backend = "offline" | "gemini" | "openai"
    theme = "nord"     (any Textual built-in theme, e.g. textual-dark, textual-light, gruvbox)
    [gemini]   api_key, model, base_url, api_version
    [openai]   base_url, model, api_key
    [limits]   query_timeout_s, question_timeout_s, memory_limit, row_cap, llm_timeout_s, llm_attempts,
               llm_backoff_s, llm_backoff_max_s
    [keys]     binding_id = "key"   (remap any TUI binding by its id)
"""

from __future__ import annotations

import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Settings:
    """Resolved settings; see the module docstring for the file format."""

    backend: str | None = None
    gemini_api_key: str | None = None
    gemini_model: str = "gemini-2.5-flash"
    gemini_base_url: str | None = None
    gemini_api_version: str | None = None
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "local"
    openai_api_key: str = "not-needed"
    query_timeout_s: float = 10.0
    # One question, every attempt and statement together (selector retries included).
    question_timeout_s: float = 30.0
    memory_limit: str = "2GB"
    row_cap: int = 500
    llm_timeout_s: float = 60.0
    llm_attempts: int = 3
    llm_backoff_s: float = 1.0
    llm_backoff_max_s: float = 8.0
    keys: dict[str, str] = field(default_factory=dict)
    theme: str | None = None
    path: Path | None = None

    @property
    def default_backend(self) -> str:
        """The backend to use when none is named: the configured one, else gemini with a key."""
        if self.backend:
            return self.backend
        return "gemini" if self.gemini_api_key else "offline"


def config_path() -> Path:
    """$COVIEW_CONFIG, else <user config dir>/coview/config.toml."""
    if env := os.environ.get("COVIEW_CONFIG"):
        return Path(env)
    if sys.platform.startswith("linux"):  # platformdirs' rule, without its import on every run
        xdg = os.environ.get("XDG_CONFIG_HOME", "").strip()
        base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".config"
        return base / "coview" / "config.toml"
    from platformdirs import user_config_dir

    return Path(user_config_dir("coview")) / "config.toml"


def load_settings(path: Path | None = None) -> Settings:
    """Read the config file (if any) and apply environment overrides."""
    path = path or config_path()
    data: dict = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise ValueError(f"Cannot read config {path}: {exc}. Fix or remove the file.") from exc
    s = Settings(path=path)
    s.backend = data.get("backend")
    theme = data.get("theme")
    if theme is not None and not isinstance(theme, str):
        raise ValueError(f'Config {path}: theme must be a string, e.g. theme = "nord".')
    s.theme = theme
    g, o, lim = data.get("gemini", {}), data.get("openai", {}), data.get("limits", {})
    s.gemini_api_key = g.get("api_key")
    s.gemini_model = g.get("model", s.gemini_model)
    s.gemini_base_url = g.get("base_url")
    s.gemini_api_version = g.get("api_version")
    s.openai_base_url = o.get("base_url", s.openai_base_url)
    s.openai_model = o.get("model", s.openai_model)
    s.openai_api_key = o.get("api_key", s.openai_api_key)
    s.query_timeout_s = float(lim.get("query_timeout_s", s.query_timeout_s))
    s.question_timeout_s = float(lim.get("question_timeout_s", s.question_timeout_s))
    s.memory_limit = str(lim.get("memory_limit", s.memory_limit))
    s.row_cap = int(lim.get("row_cap", s.row_cap))
    s.llm_timeout_s = float(lim.get("llm_timeout_s", s.llm_timeout_s))
    s.llm_attempts = int(lim.get("llm_attempts", s.llm_attempts))
    s.llm_backoff_s = float(lim.get("llm_backoff_s", s.llm_backoff_s))
    s.llm_backoff_max_s = float(lim.get("llm_backoff_max_s", s.llm_backoff_max_s))
    s.keys = {str(k): str(v) for k, v in data.get("keys", {}).items()}

    env = os.environ
    s.backend = env.get("COVIEW_BACKEND", s.backend)
    s.theme = env.get("COVIEW_THEME") or s.theme
    s.gemini_api_key = env.get("GEMINI_API_KEY") or env.get("GOOGLE_API_KEY") or s.gemini_api_key
    s.gemini_model = env.get("COVIEW_GEMINI_MODEL", s.gemini_model)
    s.gemini_base_url = env.get("COVIEW_GEMINI_BASE_URL", s.gemini_base_url)
    s.gemini_api_version = env.get("COVIEW_GEMINI_API_VERSION", s.gemini_api_version)
    s.openai_base_url = env.get("COVIEW_OPENAI_BASE_URL", s.openai_base_url)
    s.openai_model = env.get("COVIEW_OPENAI_MODEL", s.openai_model)
    s.openai_api_key = env.get("COVIEW_OPENAI_API_KEY", s.openai_api_key)
    return s
