"""The engine and store never import Textual: they must run headless (coview ask, eval)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    mods: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            mods.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module)
    return mods


def test_engine_store_sim_do_not_import_textual_or_tui():
    offenders = []
    for folder in ("engine", "store", "sim"):
        for path in (ROOT / folder).rglob("*.py"):
            for mod in _imports(path):
                if mod.split(".")[0] in ("textual", "textual_plotext") or mod.startswith(
                    "coview.tui"
                ):
                    offenders.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert offenders == []


def test_tui_does_not_import_duckdb():
    """The TUI never runs SQL itself: it goes through coview.store / coview.engine."""
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "tui").rglob("*.py")
        if any(m.split(".")[0] == "duckdb" for m in _imports(p))
    ]
    assert offenders == []
