"""Shared fixtures. Tests are hermetic: no user config, cache or sessions dir is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True, scope="session")
def _hermetic_env(tmp_path_factory: pytest.TempPathFactory):
    """Point coview's config, cache and sessions at a private temp dir for the whole run."""
    base = tmp_path_factory.mktemp("coview-home")
    saved = dict(os.environ)
    os.environ["COVIEW_CONFIG"] = str(base / "no-config.toml")
    os.environ["COVIEW_CACHE_DIR"] = str(base / "cache")
    os.environ["COVIEW_SESSIONS_DIR"] = str(base / "sessions")
    for key in ("COVIEW_STORE", "COVIEW_BACKEND", "GEMINI_API_KEY", "GOOGLE_API_KEY", "NO_COLOR"):
        os.environ.pop(key, None)
    yield base
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store ingested from the bundled sample sweep (read it; do not write to it)."""
    from coview.sample_data import DEFAULT_SWEEP
    from coview.store.ingest import ingest

    path = tmp_path_factory.mktemp("sample-store") / "sample.duckdb"
    ingest([DEFAULT_SWEEP], path, fmt="native", progress=False)
    return path
