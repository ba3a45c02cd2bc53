"""The coview Textual app: navigator, Pareto plot, configs table, config detail and chat.

Data comes from coview.store.browse (cheap, paged, read-only) and answers from
coview.engine.pipeline in thread workers that post Messages back, so the UI never blocks.
Every turn is written to the session file as it completes (coview.store.sessions).
`run_review` opens a saved session read-only: no store queries, no model, no network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    DataTable,
    Footer,
    Input,
    Label,
    LoadingIndicator,
    OptionList,
    RadioButton,
    RadioSet,
    SelectionList,
    Static,
    Tab,
    Tabs,
)
from textual.widgets.option_list import Option

from coview.engine.types import AskResult, Context, Turn
from coview.store.browse import CONFIG_COLUMNS, Browser, Filters, Point, SearchError
from coview.tui import fmt
from coview.tui.widgets import (
    COLORS,
    MARKERS,
    ConfigSelected,
    ConfigsTable,
    DetailView,
    DrillDown,
    ParetoPlot,
    StatusLine,
    SystemStyle,
    TurnView,
    legend_text,
)

PAGE_SIZE = 200
NARROW_WIDTH = 120  # below this many columns the panes become tabs
PANES = ("plot", "table", "detail", "chat")
PANE_TITLES = {
    "plot": "Plot",
    "table": "Configs",
    "detail": "Detail",
    "chat": "Chat",
    "nav": "Filters",
}
# Column order of the configs table: the ones people compare first.
TABLE_COLUMNS = (
    "config_id",
    "system",
    "phase",
    "batch_size",
    "tp",
    "weight_dtype",
    "latency_s",
    "perf_per_tco",
    "usd_per_1m_tokens",
    "throughput_tok_per_s",
    "is_pareto",
    "num_chips",
    "input_len",
    "output_len",
    "act_dtype",
    "weight_bytes_per_chip",
    "kv_bytes_per_chip",
    "fits_memory",
)
assert set(TABLE_COLUMNS) == set(CONFIG_COLUMNS)


# ---------------------------------------------------------------------------------------
# Messages from workers
# ---------------------------------------------------------------------------------------
class AskDone(Message):
    """A question finished (answered, refused, error or cancelled)."""

    def __init__(self, result: AskResult, context: Context, save_error: str | None) -> None:
        super().__init__()
        self.result = result
        self.context = context
        self.save_error = save_error


class AskFailed(Message):
    """The pipeline could not even start (bad backend settings, broken store)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


# ---------------------------------------------------------------------------------------
# Modal screens: help, compare picker, session picker
# ---------------------------------------------------------------------------------------
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

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close", id="help.close")]

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static(
                Text('coview keys (remap any in the config file: [keys] id = "key"). Esc closes.'),
                id="help-title",
            )
            table = DataTable(id="help-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("where", "key", "does", "id")
            for r in self.rows:
                table.add_row(*r)
            yield table

    def on_mount(self) -> None:
        self.query_one("#help-table").focus()


class PickScreen(ModalScreen[Any]):
    """Pick one item from a list (compare target, session to open)."""

    BINDINGS = [Binding("escape", "dismiss_none", "Cancel", id="pick.cancel")]

    def __init__(self, title: str, options: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(id="pick-box"):
            yield Static(Text(self.title_text), id="pick-title")
            yield OptionList(
                *[Option(label, id=str(i)) for i, (label, _) in enumerate(self.options)],
                id="pick-list",
            )

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.options[int(event.option.id or 0)][1])

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


# ---------------------------------------------------------------------------------------
# Command palette
# ---------------------------------------------------------------------------------------
class CoviewCommands(Provider):
    """The app's own commands in Ctrl+P: sweeps, filters, export, sessions, panes."""

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app = self.app
        if not isinstance(app, CoviewApp):
            return []
        cmds: list[tuple[str, Callable[[], Any], str]] = []
        summary = app.summary
        if summary is not None:
            for sid, name in summary.sweeps:
                cmds.append(
                    (
                        f"Switch sweep: {name} ({sid})",
                        lambda s=sid: app.switch_sweep(s),
                        "Show another sweep of the store",
                    )
                )
        cmds += [
            (
                "Toggle Pareto-only",
                app.action_toggle_pareto,
                "Show only Pareto-optimal configs in the table",
            ),
            (
                "Cycle phase (prefill/decode)",
                app.action_cycle_phase,
                "Filter the plot and table by phase",
            ),
            ("Cycle data type", app.action_cycle_dtype, "Filter by weight data type"),
            (
                "Best perf/TCO point of each system",
                app.action_best_per_system,
                "Sort the table by perf/TCO, one row per system",
            ),
            (
                "Compare with another system",
                app.action_compare,
                "Per-operator differences against the same point on another system",
            ),
            (
                "Export session to Markdown",
                app.action_export,
                "Write this session as a Markdown report",
            ),
            (
                "Open a saved session (review)",
                app.action_open_session,
                "Read-only review of an earlier session",
            ),
            ("Ask about this config", app.action_ask, "Focus the question box"),
            (
                "Full screen pane",
                app.action_toggle_fullscreen,
                "Maximize the focused pane, again to restore",
            ),
            ("Help: all keys", app.action_help, "List every key binding"),
        ]
        return cmds

    async def discover(self) -> Hits:
        for name, cb, help_text in self._commands():
            yield DiscoveryHit(name, cb, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, cb, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), cb, help=help_text)


# ---------------------------------------------------------------------------------------
# The main screen
# ---------------------------------------------------------------------------------------
def _set_class(widget: Any, on: bool, name: str) -> None:
    if widget.has_class(name) != on:
        widget.set_class(on, name)


class Pane(Vertical):
    """One of the four panes; any pane can be maximized (f / F11)."""

    ALLOW_MAXIMIZE = True


class NavPane(VerticalScroll):
    ALLOW_MAXIMIZE = True


class MainScreen(Screen):
    """Header, navigator, the four panes (tabs when narrow) and the footer."""

    BINDINGS = [
        Binding("tab", "app.next_pane", "Next pane", show=False, id="next_pane"),
        Binding("shift+tab", "app.prev_pane", "Prev pane", show=False, id="prev_pane"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("coview", id="header")
        yield Tabs(*[Tab(PANE_TITLES[p], id=f"tab-{p}") for p in (*PANES, "nav")], id="pane-tabs")
        with Horizontal(id="body"):
            with NavPane(id="nav", classes="pane-nav"):
                yield Label("Systems (space toggles)", classes="nav-title")
                yield SelectionList(id="nav-systems")
                yield Label("Phase  [p]", classes="nav-title")
                yield RadioSet(id="nav-phase")
                yield Label("Weights dtype  [d]", classes="nav-title")
                yield RadioSet(id="nav-dtype")
            with Vertical(id="panes"):
                with Pane(id="pane-plot", classes="pane"):
                    yield ParetoPlot(id="plot")
                    yield StatusLine("", id="plot-legend", classes="status")
                    yield StatusLine("", id="plot-status", classes="status")
                with Pane(id="pane-table", classes="pane"):
                    yield Input(
                        placeholder="search: xpu, bf16, tp=8, batch=16 (Enter applies, Esc clears)",
                        id="search",
                    )
                    yield StatusLine("", id="table-status", classes="status")
                    yield ConfigsTable(id="configs")
                with Pane(id="pane-detail", classes="pane"):
                    yield DetailView(id="detail")
                with Pane(id="pane-chat", classes="pane"):
                    yield StatusLine("", id="chat-context", classes="status")
                    yield VerticalScroll(id="chat-log")
                    with Horizontal(id="thinking"):
                        yield LoadingIndicator()
                        yield Static("thinking... Esc to cancel", id="thinking-text")
                    # no cursor blink: steadier over SSH, deterministic snapshots
                    yield Input(
                        placeholder="Ask about the data (Enter sends; 'this config' = the selected one)",
                        id="question",
                    )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # no cursor blink: steadier over slow SSH links, and deterministic snapshots
        for inp in self.query(Input):
            inp.cursor_blink = False

    def on_resize(self, event) -> None:
        self.app.apply_layout(event.size.width)


class CoviewApp(App):
    """coview's main app over one store."""

    CSS_PATH = Path(__file__).parent / "app.tcss"
    TITLE = "coview"
    COMMANDS = App.COMMANDS | {CoviewCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark,f1", "help", "Help", id="help"),
        Binding("f,f11", "toggle_fullscreen", "Full", id="fullscreen"),
        Binding("f2", "pane('plot')", "Plot", show=False, id="pane.plot"),
        Binding("f3", "pane('table')", "Configs", show=False, id="pane.table"),
        Binding("f4", "pane('detail')", "Detail", show=False, id="pane.detail"),
        Binding("f5", "pane('chat')", "Chat", show=False, id="pane.chat"),
        Binding("f6", "pane('nav')", "Filters", show=False, id="pane.nav"),
        Binding("p", "cycle_phase", "Phase", show=False, id="phase"),
        Binding("d", "cycle_dtype", "Dtype", show=False, id="dtype"),
        Binding("s", "cycle_system", "System", show=False, id="system"),
        Binding("t", "toggle_pareto", "Pareto", show=False, id="pareto_only"),
        Binding("slash", "search", "Search", id="search"),
        Binding("a", "ask", "Ask", id="ask"),
        Binding("c", "compare", "Compare", show=False, id="compare"),
        Binding("b", "best_per_system", "Best", id="best_per_system"),
        Binding("y,f7", "copy_answer", "Copy answer", show=False, id="copy_answer"),
        Binding("Y,f8", "copy_sql", "Copy SQL", show=False, id="copy_sql"),
        Binding("e,f9", "export", "Export", show=False, id="export"),
        Binding("escape", "back", "Back/cancel", show=False, id="back"),
    ]

    def __init__(
        self,
        store_path: Path,
        settings: Any = None,
        pipeline_factory: Callable[[], Any] | None = None,
        session_factory: Callable[[], Any] | None = None,
        on_ready: Callable[[CoviewApp], None] | None = None,
    ) -> None:
        super().__init__()
        from coview.config import Settings

        self.store_path = Path(store_path)
        self.settings = settings or Settings()
        self._pipeline_factory = pipeline_factory
        self._session_factory = session_factory
        self._on_ready = on_ready
        self._pipeline: Any = None
        self._pipeline_lock = threading.Lock()
        self._session: Any = None
        self._session_lock = threading.Lock()
        self._recorded: set[int] = set()
        self.browser: Browser | None = None
        self.summary = None
        self.filters = Filters()
        self.sort = "perf_per_tco"
        self.descending = True
        self.total: int | None = None
        self.sys_styles: dict[str, SystemStyle] = {}
        self.context = Context()
        self.detail_config: dict[str, Any] | None = None
        self.detail_ops: list[dict[str, Any]] = []
        self.history: list[Turn] = []
        self.cancel_event: threading.Event | None = None
        self.asking = False
        self.narrow = True
        self.active_tab = "plot"
        self.answered_turns = 0
        self._syncing = False
        self._table_target: int | None = None
        if self.settings.keys:
            self.set_keymap(self.settings.keys)

    # ---- startup ----------------------------------------------------------------------
    @property
    def backend_name(self) -> str:
        if self._pipeline is not None:
            return str(getattr(self._pipeline, "backend", "?"))
        return self.settings.default_backend if self._pipeline_factory is None else "fake"

    def get_default_screen(self) -> Screen:
        self._main = MainScreen(id="_default")
        return self._main

    def _q(self, selector: str, expect_type: type | None = None) -> Any:
        """query_one on the main screen, even while a modal screen is on top."""
        if expect_type is None:
            return self._main.query_one(selector)
        return self._main.query_one(selector, expect_type)

    def on_mount(self) -> None:
        self.call_after_refresh(self._load_store)

    def _load_store(self) -> None:
        from coview.store.db import StoreError

        try:
            self.browser = Browser(self.store_path)
            self.summary = self.browser.summary()
        except StoreError as exc:
            self.notify(f"{exc}", title="Cannot open the store", severity="error", timeout=30)
            return
        s = self.summary
        self.filters = Filters(
            sweep_id=s.sweep_id,
            phase="decode" if "decode" in s.phases else (s.phases[0] if s.phases else None),
        )
        self.sys_styles = {
            sysinfo.system_id: SystemStyle(
                sysinfo.name, COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]
            )
            for i, sysinfo in enumerate(s.systems)
        }
        self._fill_navigator()
        self._q("#plot-legend", StatusLine).update(legend_text(self.sys_styles))
        self._q("#search", Input).display = False
        self._q("#thinking").display = False
        self.apply_layout(self.screen.size.width)
        self.refresh_data()
        self._update_header()
        self._update_context_line()
        self._q("#plot", ParetoPlot).focus()
        if self._on_ready is not None:
            self.call_after_refresh(self._on_ready, self)

    def _fill_navigator(self) -> None:
        s = self.summary
        sel = self._q("#nav-systems", SelectionList)
        sel.clear_options()
        for sysinfo in s.systems:
            st = self.sys_styles[sysinfo.system_id]
            sel.add_option((Text(f"{st.marker} {sysinfo.name}"), sysinfo.system_id, True))
        self._syncing = True
        for rid, values, current in (
            ("#nav-phase", ["all", *s.phases], self.filters.phase),
            ("#nav-dtype", ["all", *s.dtypes], self.filters.dtype),
        ):
            rs = self._q(rid, RadioSet)
            rs.remove_children()
            rs.mount_all([RadioButton(v, value=(v == (current or "all")), name=v) for v in values])
        self._syncing = False

    def _update_header(self) -> None:
        s = self.summary
        store = self.store_path.name
        if store.startswith("sample-"):
            store = "bundled sample"
        parts = [
            "coview",
            f"store {store}",
            f"sweep {s.sweep_id if s else '-'}",
            f"backend {self.backend_name}",
        ]
        if self._session is not None:
            parts.append(f"session {getattr(self._session, 'id', '?')}")
        self._q("#header", Static).update(Text(" │ ".join(parts)))

    # ---- layout -----------------------------------------------------------------------
    def apply_layout(self, width: int) -> None:
        """Tabs below NARROW_WIDTH columns, side by side above."""
        try:
            screen = self._q("#body").screen
        except Exception:
            return
        self.narrow = width < NARROW_WIDTH
        _set_class(screen, self.narrow, "-narrow")
        self._show_tab(self.active_tab)

    def _show_tab(self, pane: str) -> None:
        self.active_tab = pane
        # Only touch classes that change: a class change on the screen restyles everything.
        for p in PANES:
            _set_class(self._q(f"#pane-{p}"), p == pane, "-active")
        _set_class(self._q("#nav"), pane == "nav", "-active")
        _set_class(self._main, pane == "nav", "-nav")
        tabs = self._q("#pane-tabs", Tabs)
        if tabs.active != f"tab-{pane}":
            tabs.active = f"tab-{pane}"

    @on(Tabs.TabActivated, "#pane-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        pane = (event.tab.id or "tab-plot").removeprefix("tab-")
        if pane != self.active_tab:
            self.action_pane(pane)

    def _pane_focus_target(self, pane: str):
        return {
            "plot": "#plot",
            "table": "#configs",
            "detail": "#detail",
            "chat": "#question",
            "nav": "#nav-systems",
        }[pane]

    def current_pane(self) -> str:
        focused = self.screen.focused
        node = focused
        while node is not None:
            nid = getattr(node, "id", None) or ""
            if nid.startswith("pane-"):
                return nid.removeprefix("pane-")
            if nid == "nav":
                return "nav"
            node = node.parent
        return self.active_tab

    def action_pane(self, pane: str) -> None:
        """Show (narrow) and focus one pane."""
        if self.screen.maximized is not None:
            self.screen.minimize()
        self._show_tab(pane)
        target = self._q(self._pane_focus_target(pane))
        self.call_after_refresh(target.focus)

    def _pane_cycle(self) -> list[str]:
        return [*PANES, "nav"] if True else list(PANES)

    def action_next_pane(self) -> None:
        order = self._pane_cycle()
        cur = self.current_pane()
        self.action_pane(order[(order.index(cur) + 1) % len(order)] if cur in order else order[0])

    def action_prev_pane(self) -> None:
        order = self._pane_cycle()
        cur = self.current_pane()
        self.action_pane(order[(order.index(cur) - 1) % len(order)] if cur in order else order[0])

    def action_toggle_fullscreen(self) -> None:
        screen = self.screen
        if not isinstance(screen, MainScreen):
            return
        if screen.maximized is not None:
            screen.minimize()
            return
        pane = self.current_pane()
        widget = self._q("#nav" if pane == "nav" else f"#pane-{pane}")
        screen.maximize(widget, container=False)

    # ---- data -------------------------------------------------------------------------
    def refresh_data(self, keep_config: int | None = None) -> None:
        """Reload the plot and the first table page for the current filters."""
        if self.browser is None:
            return
        try:
            self.total = self.browser.count_configs(self.filters)
        except SearchError as exc:
            self.notify(str(exc), title="Search not understood", severity="warning")
            self.filters.search = ""
            self.total = self.browser.count_configs(self.filters)
        self.load_page(0)
        page_rows = self.page.rows if getattr(self, "page", None) else []
        if keep_config is None and page_rows:
            keep_config = page_rows[0]["config_id"]  # start on the table's top row
        self.refresh_plot(keep_config)
        self._update_status()

    def refresh_plot(self, keep_config: int | None = None) -> None:
        if self.browser is None:
            return
        data = self.browser.plot_data(self.filters)
        phase = self.filters.phase or "all phases"
        dtype = self.filters.dtype or "all dtypes"
        plot = self._q("#plot", ParetoPlot)
        plot.set_data(
            data,
            self.sys_styles,
            f"perf/TCO vs latency · {phase} · {dtype} · fits in memory",
            keep=keep_config,
        )
        n = sum(len(v) for v in data.frontiers.values())
        extra = " (other points sampled)" if data.sampled else ""
        self._plot_summary = f"{n} frontier points{extra}"
        self._update_plot_status()

    def _update_plot_status(self) -> None:
        plot = self._q("#plot", ParetoPlot)
        h = plot.highlight
        if h is None:
            text = f"{getattr(self, '_plot_summary', '')} · ←/→ frontier · ↑/↓ system · Enter open"
        else:
            name = self.sys_styles[h.system_id].name if h.system_id in self.sys_styles else ""
            text = (
                f"@ #{h.config_id} {name} {fmt.ms(h.latency_s)} ms perf/TCO "
                f"{fmt.num(h.perf_per_tco)} · ←/→ frontier ↑/↓ system Enter open"
            )
        self._q("#plot-status", StatusLine).update(text)

    def load_page(self, offset: int, cursor: int = 0) -> None:
        if self.browser is None:
            return
        page = self.browser.page_configs(
            self.filters, sort=self.sort, descending=self.descending, offset=offset, limit=PAGE_SIZE
        )
        table = self._q("#configs", ConfigsTable)
        table.clear(columns=True)
        cells = [[fmt.cell(c, row[c]) for c in TABLE_COLUMNS] for row in page.rows]
        for i, col in enumerate(TABLE_COLUMNS):
            label = fmt.HEADERS[col]
            if col == self.sort:
                label += " ↓" if self.descending else " ↑"
            # Explicit widths from the page in hand: auto widths are measured on idle, after
            # the first paint, which then shows ids and names cut ("86" for #864).
            width = max([len(label), *(len(r[i]) for r in cells)])
            table.add_column(label, key=col, width=width)
        for row, row_cells in zip(page.rows, cells, strict=True):
            table.add_row(*row_cells, key=str(row["config_id"]))
        table.page_offset = offset
        table.has_more = page.has_more
        self.page = page
        if page.rows:
            table.move_cursor(row=max(0, min(cursor, len(page.rows) - 1)))
        self._update_status()

    def _update_status(self) -> None:
        page = getattr(self, "page", None)
        if page is None:
            return
        f = self.filters
        bits = [page.label(self.total)]
        bits.append(f"sort {fmt.HEADERS[self.sort]} {'↓' if self.descending else '↑'}")
        if f.pareto_only:
            bits.append("Pareto only")
        if f.phase:
            bits.append(f.phase)
        if f.dtype:
            bits.append(f.dtype)
        if f.systems is not None:
            bits.append(f"{len(f.systems)} systems")
        if f.search:
            bits.append(f"search '{f.search}'")
        self._q("#table-status", StatusLine).update(" · ".join(bits))

    @on(ConfigsTable.PageRequest)
    def _page_request(self, event: ConfigsTable.PageRequest) -> None:
        table = self._q("#configs", ConfigsTable)
        if event.where == "next":
            self.load_page(table.page_offset + PAGE_SIZE, 0)
        elif event.where == "prev":
            self.load_page(max(0, table.page_offset - PAGE_SIZE), PAGE_SIZE - 1)
        elif event.where == "first":
            self.load_page(0, 0)
        elif event.where == "last":
            total = self.total or 0
            self.load_page(max(0, (total - 1) // PAGE_SIZE * PAGE_SIZE), PAGE_SIZE)

    @on(ConfigsTable.SortRequest)
    def _sort_request(self, event: ConfigsTable.SortRequest) -> None:
        if event.reverse:
            self.descending = not self.descending
        else:
            cols = list(TABLE_COLUMNS)
            self.sort = cols[(cols.index(self.sort) + 1) % len(cols)]
        self.load_page(0)

    @on(DataTable.HeaderSelected, "#configs")
    def _header_selected(self, event: DataTable.HeaderSelected) -> None:
        col = str(event.column_key.value)
        if col == self.sort:
            self.descending = not self.descending
        else:
            self.sort, self.descending = col, col in ("perf_per_tco", "throughput_tok_per_s")
        self.load_page(0)

    @on(DataTable.RowHighlighted, "#configs")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is None or event.row_key.value is None:
            return
        cid = int(event.row_key.value)
        if not event.data_table.has_focus:
            return  # a programmatic move (paging, the plot moving the table): not the user's
        if self._table_target is not None:
            # The plot moved the table: ignore the highlights of the repaint on the way.
            if cid == self._table_target:
                self._table_target = None
            return
        self.set_context(cid)
        if True:
            row = next((r for r in self.page.rows if r["config_id"] == cid), None)
            point = None
            if row and row.get("latency_s") and row.get("perf_per_tco"):
                sid = next((k for k, v in self.sys_styles.items() if v.name == row["system"]), "")
                point = Point(
                    cid, sid, row["latency_s"], row["perf_per_tco"], bool(row["is_pareto"])
                )
            self._pending_plot = (cid, point)
            # Repainting the plot on every j/k is wasteful: coalesce quick moves.
            if getattr(self, "_plot_timer", None) is not None:
                self._plot_timer.stop()
            self._plot_timer = self.set_timer(0.3, self._sync_plot)

    def _sync_plot(self) -> None:
        self._plot_timer = None
        if not self.is_running:
            return
        cid, point = self._pending_plot
        self._q("#plot", ParetoPlot).select_config(cid, point)
        self._update_plot_status()

    @on(DataTable.RowSelected, "#configs")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.drill(int(event.row_key.value))

    @on(ConfigSelected)
    def _config_selected(self, event: ConfigSelected) -> None:
        self.set_context(event.config_id)
        self._update_plot_status()
        if event.source == "plot":
            if getattr(self, "_plot_timer", None) is not None:
                self._plot_timer.stop()  # a stale table move must not pull the plot back
                self._plot_timer = None
            self.jump_table_to(event.config_id)
            self.show_detail(event.config_id)

    @on(DrillDown)
    def _drill(self, event: DrillDown) -> None:
        self.drill(event.config_id)

    def jump_table_to(self, config_id: int) -> None:
        """Move the table cursor to a config, paging to it (and dropping the search if needed)."""
        if self.browser is None:
            return
        table = self._q("#configs", ConfigsTable)
        key = str(config_id)
        pos = self.browser.position_of(config_id, self.filters, self.sort, self.descending)
        if pos is None:
            return
        offset = pos // PAGE_SIZE * PAGE_SIZE
        self._table_target = config_id
        # in case no highlight event comes (cursor already there), do not block user moves
        self.set_timer(0.5, self._clear_table_target)
        if offset != table.page_offset or table.row_count == 0:
            self.load_page(offset, pos - offset)
        else:
            row = table.get_row_index(key)
            if row == table.cursor_row:
                self._table_target = None
            table.move_cursor(row=row)

    def _clear_table_target(self) -> None:
        self._table_target = None

    def set_context(self, config_id: int | None) -> None:
        self.context = Context(
            config_id=config_id, sweep_id=self.filters.sweep_id if self.summary else None
        )
        self._update_context_line()

    def _update_context_line(self) -> None:
        line = self._q("#chat-context", StatusLine)
        if self.context.config_id is None:
            line.update("context: none (select a config in the plot or table for 'this config')")
        else:
            title = f"#{self.context.config_id}"
            if self.detail_config and self.detail_config.get("config_id") == self.context.config_id:
                title = fmt.config_title(self.detail_config)
            line.update(f"this config = {title}")

    def show_detail(self, config_id: int) -> bool:
        if self.browser is None:
            return False
        cfg = self.browser.config(config_id)
        if cfg is None:
            self.notify(f"config {config_id} is not in the store", severity="warning")
            return False
        self.detail_config = cfg
        self.detail_ops = self.browser.operators(config_id)
        self._q("#detail", DetailView).show(cfg, self.detail_ops)
        self._update_context_line()
        return True

    def drill(self, config_id: int) -> None:
        """Open a config in the detail pane, make it 'this config', record it in the session."""
        self.set_context(config_id)
        if self.show_detail(config_id):
            self.action_pane("detail")
            self.record_config(config_id)

    # ---- sessions ---------------------------------------------------------------------
    def session(self) -> Any:
        """The session writer, created on first use (no empty sessions for quick looks)."""
        with self._session_lock:
            if self._session is None:
                if self._session_factory is not None:
                    self._session = self._session_factory()
                else:
                    from coview.store.sessions import SessionWriter

                    self._session = SessionWriter.create(self.store_path, self.backend_name)
            return self._session

    @work(thread=True, group="record")
    def record_config(self, config_id: int) -> None:
        if config_id in self._recorded:
            return
        try:
            self.session().record_config(config_id)
            self._recorded.add(config_id)
        except Exception as exc:  # the UI keeps working; say what failed
            self.call_from_thread(
                self.notify,
                f"could not record config {config_id} in the session: {exc}",
                severity="warning",
            )
        self.call_from_thread(self._update_header)

    # ---- chat -------------------------------------------------------------------------
    @on(Input.Submitted, "#question")
    def _question_submitted(self, event: Input.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        if self.asking:
            self.notify(
                "A question is still running: wait, or press Esc to cancel it.", severity="warning"
            )
            return
        event.input.value = ""
        self.ask(question)

    def ask(self, question: str) -> None:
        """Start a question in a worker; the answer arrives as AskDone."""
        self.asking = True
        self.cancel_event = threading.Event()
        self._q("#thinking").display = True
        pending = Static(Text.assemble(("> ", "bold"), question), classes="question pending")
        self._q("#chat-log", VerticalScroll).mount(pending)
        self._pending_widget = pending
        context = Context(config_id=self.context.config_id, sweep_id=self.context.sweep_id)
        self._ask_worker(question, context, list(self.history), self.cancel_event)

    def _get_pipeline(self) -> Any:
        with self._pipeline_lock:
            if self._pipeline is None:
                if self._pipeline_factory is not None:
                    self._pipeline = self._pipeline_factory()
                else:
                    from coview.engine.pipeline import Pipeline

                    self._pipeline = Pipeline(self.store_path, settings=self.settings)
            return self._pipeline

    @work(thread=True, exclusive=True, group="ask")
    def _ask_worker(
        self, question: str, context: Context, history: list[Turn], cancel: threading.Event
    ) -> None:
        try:
            pipeline = self._get_pipeline()
        except Exception as exc:
            self.post_message(AskFailed(f"{type(exc).__name__}: {exc}"))
            return
        try:
            result = pipeline.ask(question, history=history, context=context, cancel=cancel)
        except Exception as exc:  # the pipeline promises not to raise; belt and braces
            self.post_message(AskFailed(f"{type(exc).__name__}: {exc}"))
            return
        save_error = None
        if not (result.status == "error" and result.reason == "cancelled"):
            try:
                # Written and fsynced here, before the UI hears of it: a crash loses nothing.
                self.session().append_turn(result, context)
            except Exception as exc:
                save_error = f"{type(exc).__name__}: {exc}"
        self.post_message(AskDone(result, context, save_error))

    def _end_thinking(self) -> None:
        self.asking = False
        self.cancel_event = None
        self._q("#thinking").display = False
        pending = getattr(self, "_pending_widget", None)
        if pending is not None:
            pending.remove()
            self._pending_widget = None

    @on(AskDone)
    def _ask_done(self, event: AskDone) -> None:
        self._end_thinking()
        result = event.result
        if result.status == "error" and result.reason == "cancelled":
            self.notify("Question cancelled.", timeout=3)
            return
        turn = TurnView(result)
        turn.turn["context_config_id"] = event.context.config_id
        log = self._q("#chat-log", VerticalScroll)
        log.mount(turn)
        log.scroll_end(animate=False)
        self.call_after_refresh(log.scroll_end, animate=False)
        self.last_turn = turn
        if result.status != "error":
            self.history.append(Turn(result.question, result.answer, list(result.sql)))
            self.answered_turns += 1
        else:
            self.notify(
                f"{result.answer}\nCheck the backend settings (--backend offline works without a network), then ask again.",
                title="Question failed",
                severity="error",
                timeout=15,
            )
        if event.save_error:
            self.notify(
                f"The answer is shown but was NOT saved to the session: {event.save_error}. "
                "Check that the sessions directory is writable (COVIEW_SESSIONS_DIR).",
                title="Session not saved",
                severity="error",
                timeout=20,
            )
        self._update_header()

    @on(AskFailed)
    def _ask_failed(self, event: AskFailed) -> None:
        self._end_thinking()
        self.notify(
            f"{event.error}\nFix the backend in the config file or run with --backend offline.",
            title="Cannot ask",
            severity="error",
            timeout=20,
        )

    # ---- navigator / filters ----------------------------------------------------------
    @on(SelectionList.SelectedChanged, "#nav-systems")
    def _systems_changed(self, event: SelectionList.SelectedChanged) -> None:
        if self.summary is None:
            return
        chosen = tuple(event.selection_list.selected)
        self.filters.systems = None if len(chosen) == len(self.summary.systems) else chosen
        self.refresh_data()

    @on(RadioSet.Changed)
    def _radio_changed(self, event: RadioSet.Changed) -> None:
        if self._syncing:
            return
        value = event.pressed.name
        value = None if value == "all" else value
        if event.radio_set.id == "nav-phase":
            self.filters.phase = value
        elif event.radio_set.id == "nav-dtype":
            self.filters.dtype = value
        else:
            return
        self.refresh_data(keep_config=self.context.config_id)

    def _cycle_radio(self, rid: str) -> None:
        rs = self._q(rid, RadioSet)
        buttons = list(rs.query(RadioButton))
        if not buttons:
            return
        idx = next((i for i, b in enumerate(buttons) if b.value), -1)
        buttons[(idx + 1) % len(buttons)].value = True

    def action_cycle_phase(self) -> None:
        self._cycle_radio("#nav-phase")

    def action_cycle_dtype(self) -> None:
        self._cycle_radio("#nav-dtype")

    def action_cycle_system(self) -> None:
        """Show all systems, then each one alone in turn."""
        if self.summary is None:
            return
        ids = [s.system_id for s in self.summary.systems]
        cur = self.filters.systems
        if cur is None:
            nxt: tuple[str, ...] | None = (ids[0],)
        else:
            i = ids.index(cur[0]) if len(cur) == 1 and cur[0] in ids else -1
            nxt = (ids[i + 1],) if 0 <= i < len(ids) - 1 else None
        sel = self._q("#nav-systems", SelectionList)
        with sel.prevent(SelectionList.SelectedChanged):
            sel.deselect_all() if nxt is not None else sel.select_all()
            for sid in nxt or ():
                sel.select(sid)
        self.filters.systems = nxt
        self.refresh_data()
        name = "all systems" if nxt is None else self.sys_styles[nxt[0]].name
        self.notify(f"showing {name}", timeout=2)

    def action_toggle_pareto(self) -> None:
        self.filters.pareto_only = not self.filters.pareto_only
        self.load_page(0)
        self.total = self.browser.count_configs(self.filters) if self.browser else None
        self._update_status()

    def action_search(self) -> None:
        self._show_tab("table")
        search = self._q("#search", Input)
        search.display = True
        search.value = self.filters.search
        self.call_after_refresh(search.focus)

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.filters.search = event.value.strip()
        self.refresh_data()
        if not self.filters.search:
            event.input.display = False
        self._q("#configs").focus()

    def action_best_per_system(self) -> None:
        """Each system's best perf/TCO point under the filters; pick one to drill into it."""
        if self.browser is None:
            return
        best = self.browser.best_per_system(self.filters)
        self.best_rows = best
        if not best:
            self.notify("No configs match the filters.", severity="warning")
            return
        opts = [
            (
                f"{r['system']:<8} #{r['config_id']:<5} b{r['batch_size']} tp{r['tp']} "
                f"{r['weight_dtype']}  perf/TCO {fmt.num(r['perf_per_tco'])} "
                f"@ {fmt.ms(r['latency_s'])} ms",
                r["config_id"],
            )
            for r in best
        ]
        phase = self.filters.phase or "all phases"
        self.push_screen(
            PickScreen(f"Best perf/TCO per system ({phase}); Enter opens one:", opts),
            self._open_best,
        )

    def _open_best(self, config_id: int | None) -> None:
        if config_id is None:
            return
        self.jump_table_to(config_id)
        self._q("#plot", ParetoPlot).select_config(config_id)
        self._update_plot_status()
        self.drill(config_id)

    def switch_sweep(self, sweep_id: str) -> None:
        if self.browser is None:
            return
        self.summary = self.browser.summary(sweep_id)
        self.filters = Filters(sweep_id=sweep_id, phase=self.filters.phase)
        self._fill_navigator()
        self.refresh_data()
        self._update_header()

    # ---- other actions ----------------------------------------------------------------
    def action_ask(self) -> None:
        self.action_pane("chat")

    def action_back(self) -> None:
        """Esc: cancel a running question, else leave full screen/search/detail."""
        if self.asking and self.cancel_event is not None:
            self.cancel_event.set()
            self._q("#thinking-text", Static).update("cancelling...")
            return
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
            return
        search = self._q("#search", Input)
        if search.has_focus:
            search.value = ""
            search.display = False
            if self.filters.search:
                self.filters.search = ""
                self.refresh_data()
            self._q("#configs").focus()
            return
        pane = self.current_pane()
        if pane == "detail":
            self._q("#detail", DetailView).clear_compare()
            self.action_pane("table")
        elif pane in ("chat", "table", "nav"):
            self.action_pane("plot")

    def action_help(self) -> None:
        classes: list[tuple[str, type]] = [
            ("global", CoviewApp),
            ("global", MainScreen),
            ("plot", ParetoPlot),
            ("table", ConfigsTable),
            ("detail", DetailView),
        ]
        self.push_screen(HelpScreen(binding_rows(self, classes)))

    def action_compare(self) -> None:
        if self.browser is None:
            return
        cid = self.detail_config["config_id"] if self.detail_config else self.context.config_id
        if cid is None:
            self.notify(
                "Select a config first (Enter in the table or plot), then press c.",
                severity="warning",
            )
            return
        if not self.detail_config or self.detail_config["config_id"] != cid:
            self.show_detail(cid)
        cands = self.browser.compare_candidates(cid)
        if not cands:
            self.notify(
                "No matching config on another system (same phase, batch, lengths).",
                severity="warning",
            )
            return
        opts = [
            (
                f"{c['system']:<8} #{c['config_id']} tp{c['tp']} {c['weight_dtype']} "
                f"latency {fmt.ms(c['latency_s'])} ms perf/TCO {fmt.num(c['perf_per_tco'])}",
                c["config_id"],
            )
            for c in cands
        ]
        self.push_screen(PickScreen("Compare with the same point on:", opts), self._compare_with)

    def _compare_with(self, other: int | None) -> None:
        if other is None or self.browser is None or self.detail_config is None:
            return
        b_cfg = self.browser.config(other)
        if b_cfg is None:
            return
        b_ops = self.browser.operators(other)
        self._q("#detail", DetailView).show_compare(
            self.detail_config, self.detail_ops, b_cfg, b_ops
        )
        self.action_pane("detail")
        self.record_config(other)

    def _last_turn(self) -> TurnView | None:
        turns = list(self._main.query(TurnView))
        return turns[-1] if turns else None

    def action_copy_answer(self) -> None:
        turn = self._last_turn()
        if turn is None:
            self.notify("Nothing to copy yet: ask a question first.", severity="warning")
            return
        self.copy_to_clipboard(turn.answer_text)
        self.notify("Answer copied (OSC 52: your terminal must allow clipboard access).", timeout=3)

    def action_copy_sql(self) -> None:
        turn = self._last_turn()
        if turn is None or not turn.sql_text:
            self.notify("No SQL to copy yet.", severity="warning")
            return
        self.copy_to_clipboard(turn.sql_text)
        self.notify("SQL copied (OSC 52).", timeout=3)

    def action_export(self) -> None:
        if self._session is None:
            self.notify(
                "Nothing to export yet: ask a question or open a config first.", severity="warning"
            )
            return
        try:
            from coview.store.sessions import export_markdown, load_session

            text = export_markdown(load_session(str(self._session.path)))
            out = Path(self._session.path).with_suffix(".md")  # next to the session file
            out.write_text(text)
        except Exception as exc:
            self.notify(
                f"Export failed: {exc}. Try `coview export {getattr(self._session, 'id', 'ID')} --format md`.",
                severity="error",
            )
            return
        self.exported_to = out
        self.notify(f"Session written to {out}", title="Exported", timeout=10)

    def action_open_session(self) -> None:
        try:
            from coview.store.sessions import list_sessions
        except ImportError:
            self.notify("Sessions are not available in this build.", severity="error")
            return
        try:
            sessions = list_sessions()
        except Exception as exc:
            self.notify(f"Cannot list sessions: {exc}", severity="error")
            return
        if not sessions:
            self.notify("No saved sessions yet.", severity="warning")
            return
        opts = [
            (f"{s.id}  {s.created_at}  {s.turns} turns  {s.backend}", s.id) for s in sessions[:50]
        ]
        self.push_screen(PickScreen("Open a session read-only:", opts), self._open_session)

    def _open_session(self, sid: Any) -> None:
        if sid is None:
            return
        from coview.store.sessions import load_session

        try:
            saved = load_session(str(sid))
        except Exception as exc:
            self.notify(f"Cannot open session {sid}: {exc}", severity="error")
            return
        self.push_screen(ReviewScreen(saved))


# ---------------------------------------------------------------------------------------
# Review mode: a saved session, read-only, no store, no model
# ---------------------------------------------------------------------------------------
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

    def on_mount(self) -> None:
        table = self.query_one("#review-config-table", DataTable)
        table.add_columns("id", "system", "phase", "batch", "tp", "w", "latency ms", "perf/TCO")
        for cid, snap in self.session.configs.items():
            c = snap.get("config", {})
            table.add_row(
                str(cid),
                str(c.get("system") or c.get("system_id", "")),
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


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------
def run_app(store_path: Path, settings: Any) -> None:
    """Open the TUI on a store (`coview`)."""
    CoviewApp(Path(store_path), settings=settings).run()


def run_review(session: Any) -> None:
    """Open a saved session read-only (`coview review SESSION`)."""
    keys: dict[str, str] = {}
    try:
        from coview.config import load_settings

        keys = load_settings().keys
    except Exception:
        pass
    ReviewApp(session, keys=keys).run()
