"""End to end: the real `coview` command in a real terminal (tmux), offline backend.

Starts coview on the sample store at 100x30, cycles the phase filter with p back to decode,
asks a question with send-keys, waits for the answer by polling capture-pane, opens the
Insights pane (i), asks the first finding's follow-up in the chat (Enter), then quits with
q. Skipped (with the reason) without tmux.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

pytestmark = [
    pytest.mark.tmux,
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux is not installed (CI installs it)"
    ),
]


def _tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def _wait_for(session: str, predicate, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _tmux("capture-pane", "-p", "-t", session)
        if predicate(screen):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting; the screen was:\n{screen}")


def test_coview_in_tmux_asks_and_quits(sample_store, tmp_path):
    session = f"coview-e2e-{uuid.uuid4().hex[:8]}"
    sessions_dir = tmp_path / "sessions"
    env = {
        **os.environ,
        "COVIEW_SESSIONS_DIR": str(sessions_dir),
        "COVIEW_BACKEND": "offline",
        "TERM": "xterm-256color",
    }
    # the real entry point; `python -m coview` works where the script dir is not on PATH
    cmd = f"{sys.executable} -m coview --store {sample_store} --backend offline"
    env_args = [f"{k}={v}" for k, v in env.items() if k.startswith(("COVIEW_", "TERM"))]
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "100",
            "-y",
            "30",
            "env",
            # the tmux server's environment can carry COLUMNS/LINES from whoever started it,
            # and Textual believes them over the real window: 100x30 must mean 100x30
            "-u",
            "COLUMNS",
            "-u",
            "LINES",
            *env_args,
            "sh",
            "-c",
            f"{cmd}; echo COVIEW-EXITED $?; sleep 30",
        ],
        check=True,
    )
    try:
        _wait_for(session, lambda s: "perf/TCO vs latency" in s and "backend offline" in s)
        # p cycles decode -> all phases -> prefill -> decode again (it used to stick on prefill)
        for title in ("(p: phase; table: all)", "· prefill ·", "· decode · all dtypes"):
            _tmux("send-keys", "-t", session, "p")
            _wait_for(session, lambda s, t=title: t in s, timeout=10)
        _tmux("send-keys", "-t", session, "a")
        time.sleep(0.5)
        _tmux("send-keys", "-t", session, "-l", "which system has the best perf/TCO?")
        _tmux("send-keys", "-t", session, "Enter")
        screen = _wait_for(session, lambda s: "─ Answer ─" in s or "Cannot answer" in s)
        assert "─ Answer ─" in screen, screen
        assert "grounded" in screen
        # the answer names a system of the sample sweep
        assert any(
            name in screen for name in ("MI300X", "H100", "TPU v5e", "TPU v5p", "xPU-A", "xPU-B")
        )
        # Insights: scanned when first shown, its follow-up question is asked in the chat
        _tmux("send-keys", "-t", session, "Escape")
        time.sleep(0.3)
        _tmux("send-keys", "-t", session, "i")
        screen = _wait_for(session, lambda s: "findings · Enter/a asks in chat" in s)
        assert "Ask (enter): " in screen
        _tmux("send-keys", "-t", session, "Enter")
        _wait_for(session, lambda s: "thinking..." not in s and "─ Answer ─" in s)
        _tmux("send-keys", "-t", session, "Escape")
        time.sleep(0.3)
        _tmux("send-keys", "-t", session, "q")
        _wait_for(session, lambda s: "COVIEW-EXITED 0" in s)
    finally:
        _tmux("kill-session", "-t", session)
    # both answered turns were saved, the insight's follow-up second
    (saved,) = sessions_dir.glob("*.jsonl")
    turns = [r for r in map(json.loads, saved.read_text().splitlines()) if r["type"] == "turn"]
    from coview.engine.insights import insights_for_store

    first = insights_for_store(sample_store)[0]["question"]
    assert [t["question"] for t in turns] == ["which system has the best perf/TCO?", first]
