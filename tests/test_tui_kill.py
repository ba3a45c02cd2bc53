"""Kill the TUI mid-session (SIGKILL, like a dropped SSH connection): every turn answered
before the kill is in the saved session and shows in review mode."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tui_fakes import build_demo_store  # noqa: E402

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_sigkill_mid_session_loses_no_completed_turn(tmp_path):
    from coview.store.sessions import load_session
    from coview.tui.app import ReviewApp
    from coview.tui.widgets import TurnView

    store = build_demo_store(tmp_path / "demo.duckdb")
    done = ["latency of config 1", "refuse the power", "latency of config 2"]
    # the 4th question hangs until cancelled: the kill lands while it is running
    cmd = [sys.executable, str(HERE / "tui_driver.py"), str(store), "--fake", "--headless"]
    proc = subprocess.Popen(
        [*cmd, "--ask", *done, "please wait forever"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "COVIEW_SESSIONS_DIR": str(tmp_path / "sessions")},
    )
    session_path = None
    answered = 0
    deadline = time.monotonic() + 60
    try:
        while answered < len(done) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            if line.startswith("ANSWERED"):  # printed once per completed turn
                answered += 1
                session_path = line.split(maxsplit=2)[2].strip()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert session_path and session_path != "-", "the driver never reported a session"
    saved = load_session(session_path)
    assert [t["question"] for t in saved.turns] == done
    assert [t["status"] for t in saved.turns] == ["answered", "refused", "answered"]
    assert saved.turns[0]["sql"] and saved.turns[0]["rows"]

    app = ReviewApp(saved)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = [t.turn["question"] for t in app.screen.query(TurnView)]
        assert shown == done
