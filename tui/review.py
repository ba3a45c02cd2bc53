"""Review mode (`coview review SESSION`): a saved session read-only, no store, no model.

The same TurnView and DetailView as the main screen render the session's turns and config
snapshots.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from coview.tui import fmt
from coview.tui.chat import TurnView
from coview.tui.common import set_class
from coview.tui.detail import DetailView


class ReviewScreen(Screen):
    """The chat history of a saved session with its SQL and evidence, and its configs."""

    BINDINGS = [
        Binding("tab", "focus_next", "Next pane", show=False, id="review.next"),
        Binding("shift+tab", "focus_previous", "Prev pane", show=False, id="review.prev"),
        Binding("escape", "close", "Back", id="review.back"),
        Binding("y", "copy_answer", "Copy answer", id="review.copy_answer"),
        Binding("Y", "copy_sql", "Copy SQL", show=False, id="review.copy_sql"),
        Binding("f,f11", "fullscreen", "Full screen", id="review.fullscreen"),
    ]

    def __init__(self, session: Any) -> None:
        super().__init__()
        self.session = session

    def compose(self) -> ComposeResult:
        h = self.session.header
        yield Static(
            Text(
                f"coview review (read-only) │ session {h.get('id')} │ {h.get('created_at', '')} │ "
                f"backend {h.get('backend', '?')} │ store {Path(str(h.get('store_path', ''))).name}"
            ),
            id="header",
        )
        with Horizontal(id="review-body"):
            with VerticalScroll(id="review-chat", classes="pane"):
                if not self.session.turns:
                    yield Static("This session has no answered questions.")
                for turn in self.session.turns:
                    yield TurnView(turn)
            with Vertical(id="review-configs", classes="pane"):
                yield Static(
                    f"configs referred to ({len(self.session.configs)}) · Enter opens",
                    classes="status",
                )
                yield DataTable(id="review-config-table", cursor_type="row", zebra_stripes=True)
                yield DetailView(id="detail")
        yield Footer()

    def on_resize(self, event) -> None:
        # below 120 columns the chat and the configs stack instead of sharing 40 columns each
        set_class(self, event.size.width < 120, "-narrow")

    def on_mount(self) -> None:
        set_class(self, self.app.size.width < 120, "-narrow")
        table = self.query_one("#review-config-table", DataTable)
        table.add_columns("id", "system", "phase", "batch", "tp", "w", "latency ms", "perf/TCO")
        for cid, snap in self.session.configs.items():
            c = snap.get("config", {})
            table.add_row(
                str(cid),
                str(c.get("system_name") or c.get("system") or c.get("system_id", "")),
                str(c.get("phase", "")),
                fmt.num(c.get("batch_size")),
                fmt.num(c.get("tp")),
                str(c.get("weight_dtype", "")),
                fmt.ms(c.get("latency_s")),
                fmt.num(c.get("perf_per_tco")),
                key=str(cid),
            )
        try:
            warning = self.session.store_changed()
        except Exception as exc:
            warning = f"cannot check the store: {exc}"
        if warning:
            self.notify(warning, title="Store changed", severity="warning", timeout=15)
        self.query_one("#review-chat").focus()

    @on(DataTable.RowSelected, "#review-config-table")
    def _open_config(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        snap = self.session.configs.get(int(key)) or self.session.configs.get(str(key)) or {}
        self.query_one("#detail", DetailView).show(
            snap.get("config", {}), snap.get("operators", [])
        )

    def _turns(self) -> list[TurnView]:
        return list(self.query(TurnView))

    def action_copy_answer(self) -> None:
        turns = self._turns()
        if turns:
            self.app.copy_to_clipboard(turns[-1].answer_text)
            self.notify("Last answer copied (OSC 52).", timeout=3)

    def action_copy_sql(self) -> None:
        turns = [t for t in self._turns() if t.sql_text]
        if turns:
            self.app.copy_to_clipboard(turns[-1].sql_text)
            self.notify("Last SQL copied (OSC 52).", timeout=3)

    def action_fullscreen(self) -> None:
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            self.maximize(self.focused)

    def action_close(self) -> None:
        if self.maximized is not None:
            self.minimize()
        elif isinstance(self.app, ReviewApp):
            self.app.exit()
        else:
            self.dismiss()


class ReviewApp(App):
    """`coview review SESSION`: the session read-only, no model, no network."""

    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "coview review"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(self, session: Any, keys: dict[str, str] | None = None) -> None:
        super().__init__()
        self.session = session
        if keys:
            self.set_keymap(keys)

    def on_mount(self) -> None:
        self.push_screen(ReviewScreen(self.session))
