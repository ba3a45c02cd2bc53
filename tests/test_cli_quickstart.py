"""The README's Quickstart holds exactly two commands that make their own venv (a bare pip
install is refused on Debian/Ubuntu), and .ci/run runs exactly the test one (item 14)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _quickstart_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return [line for b in blocks for line in b.splitlines() if line.strip()]


def test_quickstart_is_two_commands_in_a_venv():
    cmds = _quickstart_commands()
    assert len(cmds) == 2, cmds
    for cmd in cmds:
        assert cmd.startswith("python3 -m venv .venv && .venv/bin/pip install -e ")
        assert "python3 -m pip" not in cmd and "sudo" not in cmd
    assert cmds[0].endswith(".venv/bin/coview")
    assert '".[test]"' in cmds[1] and cmds[1].endswith("-m pytest -n 2")


def test_ci_runs_exactly_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    lines = [ln for ln in script.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    assert lines[0] == "set -euo pipefail"  # any failing step fails CI
    assert "apt-get install -y -qq tmux" in script
    assert lines[-1] == _quickstart_commands()[1]
