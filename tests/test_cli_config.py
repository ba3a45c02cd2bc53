"""config_path without importing platformdirs on Linux: the same file platformdirs names."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from coview.config import config_path, load_settings


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG rule is Linux's")
@pytest.mark.parametrize("xdg", [None, "/tmp/xdg-home", "relative/ignored"])
def test_config_path_matches_platformdirs(monkeypatch, xdg):
    from platformdirs import user_config_dir

    monkeypatch.delenv("COVIEW_CONFIG", raising=False)
    if xdg is None:
        monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    assert config_path().parent == Path(user_config_dir("coview"))


def test_theme_from_file_and_environment(tmp_path, monkeypatch):
    cfg = tmp_path / "c.toml"
    cfg.write_text('theme = "gruvbox"\n')
    monkeypatch.delenv("COVIEW_THEME", raising=False)
    assert load_settings(cfg).theme == "gruvbox"
    monkeypatch.setenv("COVIEW_THEME", "nord")
    assert load_settings(cfg).theme == "nord"
    cfg.write_text("theme = 3\n")
    monkeypatch.delenv("COVIEW_THEME")
    with pytest.raises(ValueError, match="theme must be a string"):
        load_settings(cfg)
