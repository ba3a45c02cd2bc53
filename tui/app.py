"""The coview Textual app: composes the panes and routes their messages.

Each pane lives in its own module and owns its widgets, keys and messages: plot
(coview.tui.plot), configs table (configs), config detail (detail), chat (chat), filters
(filters); an Insights pane (coview.tui.insights) plugs in the same way. This module keeps
what crosses panes: the store (coview.store.browse, cheap, paged, read-only), the filters,
"this config", the session file (coview.store.sessions) and the ask worker
(coview.engine.pipeline in a thread worker that posts AskDone back, so the UI never blocks).
`run_review` opens a saved session read-only: no store queries, no model, no network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static, Tab, Tabs

from coview.engine.analysis import clean_text as plain
from coview.engine.types import Context, Turn
from coview.store.browse import Browser, Filters, SearchError
from coview.tui import fmt
from coview.tui.chat import AskDone, AskFailed, ChatPane, TurnView
from coview.tui.commands import CoviewCommands
from coview.tui.common import set_class
from coview.tui.configs import PAGE_SIZE, TABLE_COLUMNS, ConfigsPane, ConfigsTable
from coview.tui.detail import DetailPane, DetailView
from coview.tui.filters import FilterList, FiltersPane, cycle_value
from coview.tui.lintnote import plot_warning, warnings_note
from coview.tui.plot import (
    COLORS,
    MARKERS,
    ConfigSelected,
    DrillDown,
    OverlayRequested,
    ParetoPlot,
    PlotPane,
    SystemStyle,
)
from coview.tui.review import ReviewApp, ReviewScreen
from coview.tui.screens import HelpScreen, PickScreen, binding_rows
from coview.tui.whatif import WhatIfRequested, WhatIfSection, saved_record

__all__ = [
    "AskDone",
    "AskFailed",
    "CoviewApp",
    "HelpScreen",
    "MainScreen",
    "PAGE_SIZE",
    "PickScreen",
    "ReviewApp",
    "ReviewScreen",
    "TABLE_COLUMNS",
    "run_app",
    "run_review",
]

NARROW_WIDTH = 120  # below this many columns the panes become tabs


def insights_pane_class() -> type | None:
    """The Insights pane, if coview.tui.insights provides one.

    The plug point for the pane another module owns: tui/insights.py defines
    `InsightsPane(Pane)` (a self-contained widget fed by an engine function, with its own
    bindings, messages and FOCUS_TARGET); the app then adds it as pane "insights" with its
    tab, Tab-cycle place and the pane('insights') action. Until the module exists, nothing
    changes.
    """
    try:
        from coview.tui.insights import InsightsPane
    except ImportError:
        return None
    return InsightsPane


PANES: tuple[str, ...] = ("plot", "table", "detail", "chat")
INSIGHTS_BINDINGS: list[Binding] = []
if insights_pane_class() is not None:
    PANES = (*PANES, "insights")
    # wide, Insights shares the chat's cell: i shows it there, F5 or a brings the chat back
    INSIGHTS_BINDINGS = [Binding("i", "pane('insights')", "Insights", id="pane.insights")]
PANE_TITLES = {
    "insights": "Insights",
    "plot": "Plot",
    "table": "Configs",
    "detail": "Detail",
    "chat": "Chat",
    "nav": "Filters",
}


def header_text(store: str, sweep: str, backend: str, session: str | None, width: int) -> str:
    """The header line, fitted to `width`: labels and the app name go first, then the sweep
    name is shortened with '…'; the session id is never cut (it names the file to review)."""
    tail = [f"session {session}"] if session else []
    full = " │ ".join(["coview", f"store {store}", f"sweep {sweep}", f"backend {backend}", *tail])
    if len(full) <= width:
        return full
    short = " │ ".join([store, sweep, backend, *tail])
    if len(short) <= width:
        return short
    room = len(sweep) - (len(short) - width) - 1
    if room >= 4:
        return " │ ".join([store, sweep[:room] + "…", backend, *tail])
    return " │ ".join([store[:12] + "…", backend, *tail])[:width]


class MainScreen(Screen):
    """Header, filters, the four panes (tabs when narrow) and the footer."""

    BINDINGS = [
        Binding("tab", "app.next_pane", "Next pane", show=False, id="next_pane"),
        Binding("shift+tab", "app.prev_pane", "Prev pane", show=False, id="prev_pane"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("coview", id="header")
        yield Tabs(*[Tab(PANE_TITLES[p], id=f"tab-{p}") for p in (*PANES, "nav")], id="pane-tabs")
        with Horizontal(id="body"):
            yield FiltersPane(id="nav", classes="pane-nav")
            with Vertical(id="panes"):
                yield PlotPane(id="pane-plot", classes="pane")
                yield ConfigsPane(id="pane-table", classes="pane")
                yield DetailPane(id="pane-detail", classes="pane")
                yield ChatPane(id="pane-chat", classes="pane")
                insights = insights_pane_class()
                if insights is not None:
                    yield insights(id="pane-insights", classes="pane")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        # no cursor blink: steadier over slow SSH links, and deterministic snapshots
        for inp in self.query(Input):
            inp.cursor_blink = False

    def on_resize(self, event) -> None:
        self.app.apply_layout(event.size.width)
        if self.app.summary is not None:
            self.app._update_header()


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
        Binding("m", "toggle_fits", "Fits", show=False, id="fits_only"),
        Binding("slash", "search", "Search", id="search"),
        Binding("a", "ask", "Ask", id="ask"),
        Binding("c", "compare", "Compare", show=False, id="compare"),
        Binding("b", "best_per_system", "Best", id="best_per_system"),
        Binding("y,f7", "copy_answer", "Copy answer", show=False, id="copy_answer"),
        Binding("Y,f8", "copy_sql", "Copy SQL", show=False, id="copy_sql"),
        Binding("e,f9", "export", "Export", show=False, id="export"),
        Binding("escape", "back", "Back/cancel", show=False, id="back"),
        *INSIGHTS_BINDINGS,
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
        self.sys_styles: dict[str, SystemStyle] = {}
        self.context = Context()
        self.detail_config: dict[str, Any] | None = None
        self.detail_ops: list[dict[str, Any]] = []
        self.history: list[Turn] = []
        self.cancel_event: threading.Event | None = None
        self.asking = False
        self.narrow = True
        self.active_tab = "plot"
        self.insights_in_cell = False  # wide: the chat's cell shows Insights instead
        self.answered_turns = 0
        self._plot_timer: Any = None
        self._pending_plot: tuple[int, Any] | None = None
        self._plot_lint_key: Any = None
        self._plot_lint_cache: dict[Any, str] = {}
        if self.settings.keys:
            self.set_keymap(self.settings.keys)

    # ---- panes ------------------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        self._main = MainScreen(id="_default")
        return self._main

    def _q(self, selector: str, expect_type: type | None = None) -> Any:
        """query_one on the main screen, even while a modal screen is on top."""
        if expect_type is None:
            return self._main.query_one(selector)
        return self._main.query_one(selector, expect_type)

    @property
    def plot_pane(self) -> PlotPane:
        return self._q("#pane-plot", PlotPane)

    @property
    def configs_pane(self) -> ConfigsPane:
        return self._q("#pane-table", ConfigsPane)

    @property
    def chat_pane(self) -> ChatPane:
        return self._q("#pane-chat", ChatPane)

    @property
    def filters_pane(self) -> FiltersPane:
        return self._q("#nav", FiltersPane)

    @property
    def insights_pane(self) -> Any:
        """The Insights pane, or None when coview.tui.insights provides none."""
        return self._q("#pane-insights") if "insights" in PANES else None

    # the configs pane's state, named as before for callers and tests
    @property
    def page(self) -> Any:
        return self.configs_pane.page

    @property
    def total(self) -> int | None:
        return self.configs_pane.total

    @property
    def sort(self) -> str:
        return self.configs_pane.sort

    @property
    def descending(self) -> bool:
        return self.configs_pane.descending

    @property
    def backend_name(self) -> str:
        if self._pipeline is not None:
            return str(getattr(self._pipeline, "backend", "?"))
        return self.settings.default_backend if self._pipeline_factory is None else "fake"

    def key_for(self, binding_id: str) -> str:
        """The key a binding has now (the keymap applied), as shown in the footer."""
        keymap = getattr(self, "_keymap", {}) or {}
        for b in self.BINDINGS:
            if isinstance(b, Binding) and b.id == binding_id:
                keys = keymap.get(binding_id, b.key)
                return self.get_key_display(Binding(keys.split(",")[0].strip(), ""))
        return ""

    # ---- startup ----------------------------------------------------------------------
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
            fits_only=True,
        )
        self.sys_styles = {
            sysinfo.system_id: SystemStyle(
                sysinfo.name, COLORS[i % len(COLORS)], MARKERS[i % len(MARKERS)]
            )
            for i, sysinfo in enumerate(s.systems)
        }
        self.configs_pane.system_ids = {st.name: sid for sid, st in self.sys_styles.items()}
        self._fill_filters()
        self.plot_pane.set_styles(self.sys_styles)
        self.apply_layout(self.screen.size.width)
        self.refresh_data()
        self._update_header()
        # "this config" is the point the plot shows selected, from the first frame on
        highlight = self.plot_pane.plot.highlight
        self.set_context(highlight.config_id if highlight else None)
        if highlight is not None:  # the detail pane shows the selected point from the start
            self.show_detail(highlight.config_id)
        self.plot_pane.plot.focus()
        if self._on_ready is not None:
            self.call_after_refresh(self._on_ready, self)

    def _fill_filters(self) -> None:
        keys = {k: self.key_for(k) for k in ("phase", "dtype", "system")}
        markers = {sid: st.marker for sid, st in self.sys_styles.items()}
        self.filters_pane.fill(self.summary, markers, keys, self.filters)

    def _update_header(self) -> None:
        s = self.summary
        store = self.store_path.name
        if store.startswith("sample-"):
            store = "bundled sample"
        sweep = str(s.sweep_id if s else "-")
        session = None if self._session is None else str(getattr(self._session, "id", "?"))
        self._q("#header", Static).update(
            Text(header_text(store, sweep, self.backend_name, session, self.size.width - 2))
        )

    # ---- layout -----------------------------------------------------------------------
    def apply_layout(self, width: int) -> None:
        """Tabs below NARROW_WIDTH columns, side by side above."""
        try:
            screen = self._q("#body").screen
        except Exception:
            return
        self.narrow = width < NARROW_WIDTH
        set_class(screen, self.narrow, "-narrow")
        self._show_tab(self.active_tab)

    def _show_tab(self, pane: str) -> None:
        self.active_tab = pane
        # Only touch classes that change: a class change on the screen restyles everything.
        for p in PANES:
            set_class(self._q(f"#pane-{p}"), p == pane, "-active")
        set_class(self._q("#nav"), pane == "nav", "-active")
        set_class(self._main, pane == "nav", "-nav")
        self._show_shared_cell(pane)
        tabs = self._q("#pane-tabs", Tabs)
        if tabs.active != f"tab-{pane}":
            # A programmatic change is not a click: without prevent, its TabActivated arrives
            # after a quicker key has moved on and switches the tabs back (focus desync).
            with tabs.prevent(Tabs.TabActivated):
                tabs.active = f"tab-{pane}"

    def _show_shared_cell(self, pane: str) -> None:
        """Wide, chat and Insights share the bottom-right cell: the one shown last stays
        there while other panes take the focus. Insights scans the store the first time."""
        insights = self.insights_pane
        if insights is None:
            return
        if pane in ("chat", "insights"):
            self.insights_in_cell = pane == "insights"
        if pane == "insights":
            insights.ensure_scanned(self.store_path)
        wide = not self.narrow
        set_class(self._main, wide and self.insights_in_cell, "-wide-insights")
        set_class(self._main, wide and not self.insights_in_cell, "-wide-chat")

    @on(Tabs.TabActivated, "#pane-tabs")
    def _tab_activated(self, event: Tabs.TabActivated) -> None:
        pane = (event.tab.id or "tab-plot").removeprefix("tab-")
        if pane != self.active_tab:
            self.action_pane(pane)

    def _pane_widget(self, pane: str) -> Any:
        return self._q("#nav" if pane == "nav" else f"#pane-{pane}")

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
        widget = self._pane_widget(pane)
        target = widget.query_one(widget.FOCUS_TARGET)

        def focus() -> None:
            # only if no later key chose another pane meanwhile: focus follows the tab shown
            if self.active_tab == pane:
                target.focus()

        if pane == "chat":  # answers that came while the pane was hidden: show the newest
            self.call_after_refresh(self.chat_pane.log_view.scroll_end, animate=False)
        if self.narrow and not target.display:
            self.call_after_refresh(focus)
        else:
            target.focus()
            self.call_after_refresh(focus)

    def _pane_cycle(self) -> list[str]:
        return [*PANES, "nav"]

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
        screen.maximize(self._pane_widget(self.current_pane()), container=False)

    # ---- data -------------------------------------------------------------------------
    def refresh_data(self, keep_config: int | None = None) -> None:
        """Reload the plot and the first table page for the current filters."""
        if self.browser is None:
            return
        try:
            total = self.browser.count_configs(self.filters)
        except SearchError as exc:
            self.notify(str(exc), title="Search not understood", severity="warning")
            self.filters.search = ""
            total = self.browser.count_configs(self.filters)
        configs = self.configs_pane
        configs.reload(self.browser, self.filters, total)
        page_rows = configs.page.rows if configs.page else []
        if keep_config is None and page_rows:
            keep_config = page_rows[0]["config_id"]  # start on the table's top row
        self.refresh_plot(keep_config)

    def plot_phase(self) -> str | None:
        """The phase the plot draws: the filter's, or with "all" the default one (a frontier
        across prefill and decode means nothing; the table still shows every phase)."""
        if self.filters.phase or self.summary is None:
            return self.filters.phase
        phases = self.summary.phases
        return "decode" if "decode" in phases else (phases[0] if phases else None)

    def refresh_plot(self, keep_config: int | None = None) -> None:
        if self.browser is None:
            return
        phase = self.plot_phase()
        data = self.browser.plot_data(replace(self.filters, phase=phase))
        shown = phase or "all phases"
        if self.filters.phase is None and phase is not None:
            shown = f"{phase} (p: phase; table: all)"
        bits = ["perf/TCO vs latency", shown, self.filters.dtype or "all dtypes"]
        if self.filters.systems is not None:
            bits.append(f"{len(self.filters.systems)} systems")
        if self.filters.search:
            bits.append(f"search '{self.filters.search}'")
        bits.append("fits in memory")
        self.plot_pane.show(data, self.sys_styles, " · ".join(bits), keep=keep_config)
        self._check_plot_lint(data)

    def _check_plot_lint(self, data: Any) -> None:
        """Lint the plotted systems against each other (once per set, in a worker): the plot
        carries a warning when their comparison is not apples to apples."""
        systems = tuple(sorted({*data.frontiers, *(s for s, p in data.others.items() if p)}))
        key = (self.filters.sweep_id, systems)
        self._plot_lint_key = key
        if len(systems) < 2:
            self.plot_pane.set_lint("")
            return
        if key in self._plot_lint_cache:
            self.plot_pane.set_lint(self._plot_lint_cache[key])
            return
        self._plot_lint_worker(key)

    @work(thread=True, exclusive=True, group="plot-lint")
    def _plot_lint_worker(self, key: tuple[Any, tuple[str, ...]]) -> None:
        from coview.engine.lint import comparison_warnings

        sweep_id, systems = key
        try:
            text = plot_warning(
                comparison_warnings(self.store_path, systems=systems, sweep_id=sweep_id)
            )
        except Exception as exc:  # the plot stays; say that lint did not run
            text = plain(f"lint could not check the plotted systems: {type(exc).__name__}: {exc}")
        self.call_from_thread(self._plot_lint_done, key, text)

    def _plot_lint_done(self, key: tuple[Any, tuple[str, ...]], text: str) -> None:
        self._plot_lint_cache[key] = text
        if key == self._plot_lint_key:
            self.plot_pane.set_lint(text)

    def set_context(self, config_id: int | None) -> None:
        self.context = Context(
            config_id=config_id, sweep_id=self.filters.sweep_id if self.summary else None
        )
        self._update_context_line()

    def _update_context_line(self) -> None:
        if self.context.config_id is None:
            text = "context: none (select a config in the plot or table for 'this config')"
        else:
            title = f"#{self.context.config_id}"
            if self.detail_config and self.detail_config.get("config_id") == self.context.config_id:
                title = fmt.config_title(self.detail_config)
            text = f"this config = {title}"
        self.chat_pane.set_context_text(text)

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

    def jump_table_to(self, config_id: int) -> None:
        self.configs_pane.jump_to(config_id)

    # ---- routing between panes --------------------------------------------------------
    @on(ConfigSelected)
    def _config_selected(self, event: ConfigSelected) -> None:
        self.set_context(event.config_id)
        if event.source == "plot":
            if self._plot_timer is not None:
                self._plot_timer.stop()  # a stale table move must not pull the plot back
                self._plot_timer = None
            self.plot_pane.update_status()
            self.jump_table_to(event.config_id)
            self.show_detail(event.config_id)
        else:
            self._pending_plot = (event.config_id, event.point)
            # Repainting the plot on every j/k is wasteful: coalesce quick moves.
            if self._plot_timer is not None:
                self._plot_timer.stop()
            self._plot_timer = self.set_timer(0.3, self._sync_plot)

    def _sync_plot(self) -> None:
        self._plot_timer = None
        if not self.is_running or self._pending_plot is None:
            return
        cid, point = self._pending_plot
        self.plot_pane.select_config(cid, point)

    @on(DrillDown)
    def _drill(self, event: DrillDown) -> None:
        self.drill(event.config_id)

    @on(OverlayRequested)
    def _overlay_requested(self, event: OverlayRequested) -> None:
        """v on the plot: each simulator's frontier of the system, loaded in a worker."""
        phase = self.plot_phase()
        if self.browser is None or phase is None:
            return
        model = self.summary.model if self.summary else None
        self.plot_pane.load_overlay(self.browser, event.system_id, phase, model)

    def on_insights_pane_ask(self, event: Any) -> None:
        """A finding's follow-up question: asked in the chat pane, which is shown."""
        event.stop()
        self.action_pane("chat")
        if self.asking:
            self.notify(
                "A question is still running: wait, or press Esc to cancel it.", severity="warning"
            )
            return
        if event.question:
            self.ask(event.question, about_this_config=False)

    @on(ConfigsPane.SearchSubmitted)
    def _search_submitted(self, event: ConfigsPane.SearchSubmitted) -> None:
        self.filters.search = event.text
        self.refresh_data()

    # ---- filters ----------------------------------------------------------------------
    @on(FiltersPane.FilterPicked)
    def _filter_picked(self, event: FiltersPane.FilterPicked) -> None:
        if event.kind == "system":
            if self.summary is None or event.value is None:
                return
            ids = [s.system_id for s in self.summary.systems]
            chosen = list(self.filters.systems if self.filters.systems is not None else ids)
            if event.value in chosen:
                chosen.remove(event.value)
            else:
                chosen.append(event.value)
            self.set_filter("systems", None if set(chosen) == set(ids) else tuple(chosen))
        else:
            self.set_filter(event.kind, event.value)

    def set_filter(self, kind: str, value: Any) -> None:
        """Set one filter ('phase', 'dtype', 'systems'; None = all) and refresh once."""
        if kind == "systems" and value is not None:
            order = [s.system_id for s in self.summary.systems] if self.summary else []
            value = tuple(sorted(value, key=lambda v: order.index(v) if v in order else 99))
        setattr(self.filters, kind, value)
        self.filters_pane.show(self.filters)
        keep = self.context.config_id if kind in ("phase", "dtype") else None
        self.refresh_data(keep_config=keep)

    def action_cycle_phase(self) -> None:
        """all → each phase → all (never stuck)."""
        if self.summary is not None:
            self.set_filter("phase", cycle_value(self.summary.phases, self.filters.phase))
            self.notify(f"phase: {self.filters.phase or 'all'}", timeout=2)

    def action_cycle_dtype(self) -> None:
        if self.summary is not None:
            self.set_filter("dtype", cycle_value(self.summary.dtypes, self.filters.dtype))
            self.notify(f"weights dtype: {self.filters.dtype or 'all'}", timeout=2)

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
        self.set_filter("systems", nxt)
        name = "all systems" if nxt is None else self.sys_styles[nxt[0]].name
        self.notify(f"showing {name}", timeout=2)

    def action_toggle_pareto(self) -> None:
        self.filters.pareto_only = not self.filters.pareto_only
        if self.browser is not None:
            self.configs_pane.reload(
                self.browser, self.filters, self.browser.count_configs(self.filters)
            )

    def action_toggle_fits(self) -> None:
        """Rank only configs that fit in memory (the default), or every config, marked."""
        self.set_filter("fits_only", not self.filters.fits_only)
        self.notify(
            "table: only configs that fit in memory"
            if self.filters.fits_only
            else "table: every config; 'NO' in the fits column marks those that do not fit",
            timeout=4,
        )

    def action_search(self) -> None:
        self._show_tab("table")
        self.configs_pane.open_search()

    def action_best_per_system(self) -> None:
        """Each system's best perf/TCO point under the filters; pick one to drill into it."""
        if self.browser is None:
            return
        best = self.browser.best_per_system(self.filters, fitting_only=self.filters.fits_only)
        self.best_rows = best
        if not best:
            self.notify("No configs match the filters.", severity="warning")
            return
        opts = [
            (
                f"{r['system']:<8} #{r['config_id']:<5} b{r['batch_size']} tp{r['tp']} "
                f"{r['weight_dtype']}  perf/TCO {fmt.num(r['perf_per_tco'])} "
                f"@ {fmt.ms(r['latency_s'])} ms"
                + ("  DOES NOT FIT" if r.get("fits_memory") is False else ""),
                r["config_id"],
            )
            for r in best
        ]
        phase = self.filters.phase or "all phases"
        pick = PickScreen(
            f"Best perf/TCO per system ({phase}, "
            + ("fits in memory" if self.filters.fits_only else "all configs, m: fitting only")
            + "); Enter opens one:",
            opts,
            note=warnings_note(None),
        )
        self.push_screen(pick, self._open_best)
        systems = list(dict.fromkeys(str(r["system_id"]) for r in best))
        self._lint_worker(pick.set_note, systems=systems, sweep_id=self.filters.sweep_id)

    def _open_best(self, config_id: int | None) -> None:
        if config_id is None:
            return
        self.jump_table_to(config_id)
        self.plot_pane.select_config(config_id)
        self.drill(config_id)

    def switch_sweep(self, sweep_id: str) -> None:
        if self.browser is None:
            return
        self.summary = self.browser.summary(sweep_id)
        self.filters = Filters(
            sweep_id=sweep_id, phase=self.filters.phase, fits_only=self.filters.fits_only
        )
        self._fill_filters()
        self.refresh_data()
        self._update_header()

    # ---- other actions ----------------------------------------------------------------
    def action_ask(self) -> None:
        self.action_pane("chat")

    def action_back(self) -> None:
        """Esc: cancel a running question, else leave full screen/search/detail."""
        if self.asking and self.cancel_event is not None:
            self.cancel_event.set()
            self.chat_pane.show_cancelling()
            return
        screen = self.screen
        if screen.maximized is not None:
            screen.minimize()
            return
        if self._q("#search", Input).has_focus:
            self.configs_pane.close_search()
            return
        pane = self.current_pane()
        if pane == "detail":
            self._q("#detail", DetailView).clear_compare()
            self._q("#detail", DetailView).clear_whatif()
            self.action_pane("table")
        elif pane in ("chat", "table", "nav", "insights"):
            self.action_pane("plot")

    def action_help(self) -> None:
        classes: list[tuple[str, type]] = [
            ("global", CoviewApp),
            ("global", MainScreen),
            ("plot", ParetoPlot),
            ("table", ConfigsTable),
            ("detail", DetailView),
            ("chat", ChatPane),
            ("filters", FilterList),
        ]
        insights = insights_pane_class()
        if insights is not None:
            classes.append(("insights", insights))
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
                f"latency {fmt.ms(c['latency_s'])} ms perf/TCO {fmt.num(c['perf_per_tco'])}"
                + ("  DOES NOT FIT in memory" if c.get("fits_memory") is False else ""),
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
        detail = self._q("#detail", DetailView)
        detail.show_compare(self.detail_config, self.detail_ops, b_cfg, b_ops)
        pair = detail.compared
        self._lint_worker(
            lambda note, error=None: detail.show_compare_warnings(pair, note, error),
            config_ids=list(pair),
            raw=True,
        )
        self.action_pane("detail")
        self.record_config(other)
        self.record_compare(self.detail_config["config_id"], other)

    @on(WhatIfRequested)
    def _whatif_requested(self, event: WhatIfRequested) -> None:
        """w then Enter in the detail pane: re-simulate that config in a worker."""
        event.stop()
        self._whatif_worker(event.section, dict(event.config), event.text)

    @work(thread=True, exclusive=True, group="whatif")
    def _whatif_worker(self, section: WhatIfSection, cfg: dict[str, Any], text: str) -> None:
        """coview.engine.whatif on one config (opens the store read-only, off the UI thread);
        the result or the engine's reason goes back to the section that asked."""
        from coview.engine.whatif import WhatIfError, parse_changes, whatif

        cid = cfg.get("config_id")
        try:
            changes = parse_changes(text)
            result = whatif(
                self.store_path,
                str(cfg.get("system_id")),
                changes,
                filters={"config_id": cid},
                sweep_id=cfg.get("sweep_id"),
            )
        except WhatIfError as exc:
            self.call_from_thread(self._whatif_failed, section, cid, text, str(exc))
            return
        except Exception as exc:  # say what failed; the stored view is untouched
            message = f"the simulator failed: {type(exc).__name__}: {exc}"
            self.call_from_thread(self._whatif_failed, section, cid, text, message)
            return
        self.call_from_thread(self._whatif_done, section, result, cid, text)

    def _whatif_failed(self, section: WhatIfSection, cid: Any, text: str, message: str) -> None:
        if section.is_attached and section.is_current(cid, text):
            section.show_error(message, text)

    def _whatif_done(self, section: WhatIfSection, result: Any, cid: Any, text: str) -> None:
        if not (section.is_attached and section.is_current(cid, text)):
            return  # another config or change was asked for meanwhile
        view = section.parent
        if isinstance(view, DetailView):
            view.show_whatif(result, text)
        else:
            section.show_result(result, text)
        self.last_whatif = result
        self.record_whatif(int(cid), saved_record(result, text))

    @work(thread=True, group="record")
    def record_whatif(self, config_id: int, record: dict[str, Any]) -> None:
        """Save a what-if in the session (the config is snapshotted for the export)."""
        writer = self.session()
        save = getattr(writer, "record_whatif", None)
        if save is None:
            return
        try:
            save(config_id, record)
        except Exception as exc:
            self.call_from_thread(
                self.notify, f"could not save the what-if in the session: {exc}", severity="warning"
            )
        self.call_from_thread(self._update_header)

    @work(thread=True, exclusive=True, group="lint")
    def _lint_worker(self, show: Callable[..., None], raw: bool = False, **which: Any) -> None:
        """comparison_warnings for a compare or the best-per-system list (opens the store
        read-only, off the UI thread); `show` gets the note, or with raw the warnings."""
        from coview.engine.lint import comparison_warnings

        try:
            warnings = comparison_warnings(self.store_path, **which)
        except Exception as exc:  # the comparison is still shown; say lint did not run
            error = f"{type(exc).__name__}: {exc}"
            if raw:
                self.call_from_thread(show, [], error)
            else:
                self.call_from_thread(show, warnings_note([], error))
            return
        self.call_from_thread(show, warnings if raw else warnings_note(warnings))

    def _last_turn(self) -> TurnView | None:
        return self.chat_pane.last_turn()

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

    @work(thread=True, group="record")
    def record_compare(self, a: int, b: int) -> None:
        """Save a compare in the session (both configs are recorded for the export)."""
        writer = self.session()
        record = getattr(writer, "record_compare", None)
        if record is None:
            return
        try:
            record(a, b)
        except Exception as exc:
            self.call_from_thread(
                self.notify, f"could not save the compare in the session: {exc}", severity="warning"
            )

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

    def ask(self, question: str, about_this_config: bool = True) -> None:
        """Start a question in a worker; the answer arrives as AskDone. A question that
        names its own configs (an insight's follow-up) is asked without 'this config'."""
        self.asking = True
        self.cancel_event = threading.Event()
        self.chat_pane.start_thinking(question)
        config_id = self.context.config_id if about_this_config else None
        context = Context(config_id=config_id, sweep_id=self.context.sweep_id)
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
        self.chat_pane.stop_thinking()

    @on(AskDone)
    def _ask_done(self, event: AskDone) -> None:
        self._end_thinking()
        result = event.result
        if result.status == "error" and result.reason == "cancelled":
            self.notify("Question cancelled.", timeout=3)
            return
        turn = TurnView(result)
        turn.turn["context_config_id"] = event.context.config_id
        self.chat_pane.add_turn(turn)
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
