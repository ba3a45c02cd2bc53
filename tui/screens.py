"""Modal screens of the main app: the help screen (every key, from the bindings) and a picker.

Both take plain data (rows, labels) so they stay independent of the panes.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option


def binding_rows(app: App, classes: list[tuple[str, type]]) -> list[tuple[str, str, str, str]]:
    """(where, keys, description, id) for every Binding of the given classes, with the keymap
    applied, so the help screen always matches the keys really in effect."""
    keymap = getattr(app, "_keymap", {}) or {}
    rows = []
    for where, cls in classes:
        for b in getattr(cls, "BINDINGS", []):
            if not isinstance(b, Binding):
                continue
            keys = keymap.get(b.id, b.key) if b.id else b.key
            shown = ", ".join(app.get_key_display(Binding(k.strip(), "")) for k in keys.split(","))
            rows.append((where, shown, b.description or b.action, b.id or ""))
    return rows


class HelpScreen(ModalScreen[None]):
    """Every key, generated from the bindings (remapped keys included)."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="help.close"),
        Binding("G,ctrl+end", "last", "Last row", show=False, id="help.last"),
        Binding("g,ctrl+home", "first", "First row", show=False, id="help.first"),
    ]

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(
                Text(
                    'coview keys (remap any in the config file: [keys] id = "key"). '
                    "↑/↓ PgUp/PgDn g/G move, Esc closes."
                ),
                id="help-title",
            )
            table = DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("where", "key", "does", "id")
            for r in self.rows:
                table.add_row(*r)
            yield table

    def on_mount(self) -> None:
        self.query_one("#help-table").focus()

    def action_last(self) -> None:
        table = self.query_one("#help-table", DataTable)
        table.move_cursor(row=table.row_count - 1)

    def action_first(self) -> None:
        self.query_one("#help-table", DataTable).move_cursor(row=0)


class PickScreen(ModalScreen[Any]):
    """Pick one item from a list (compare target, session to open)."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel", id="pick.cancel")]

    def __init__(self, title: str, options: list[tuple[str, Any]], note: Any = None) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box"):
            yield Static(Text(self.title_text), id="pick-title")
            note = Static(self.note or "", id="pick-note")
            note.display = self.note is not None
            yield note
            yield OptionList(
                *[Option(label, id=str(i)) for i, (label, _) in enumerate(self.options)],
                id="pick-list",
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def set_note(self, note: Any) -> None:
        """Replace the note under the title (e.g. lint's verdict, once it has run)."""
        self.note = note
        if not self.is_attached:  # picked or cancelled before lint answered
            return
        widget = self.query_one("#pick-note", Static)
        widget.update(note)
        widget.display = True

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.options[int(event.option.id or 0)][1])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
