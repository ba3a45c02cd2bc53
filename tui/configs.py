"""The configs pane: the paged, sortable configs table, its `/` search box and status line.

The pane owns the table's keys, its paging (PAGE_SIZE rows fetched with LIMIT n+1 through
coview.store.browse.Browser), its sort and the cursor; it posts ConfigSelected when the user
moves the cursor, DrillDown on Enter and SearchSubmitted when a search is entered. The app
owns the filters and hands them in with reload().
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Input

from coview.store.browse import CONFIG_COLUMNS, Browser, Filters, Page, Point
from coview.tui import fmt
from coview.tui.common import Pane, StatusLine
from coview.tui.plot import ConfigSelected, DrillDown

PAGE_SIZE = 200
# Column order of the configs table: the ones people compare first.
# At 80 columns the first ten are on screen: what a config is (its phase early, since the
# table lists both phases when the filter is "all"), whether it fits in memory, and its
# latency, perf/TCO and tok/s; the rest are a ←/→ scroll away.
TABLE_COLUMNS = (
    "config_id",
    "system",
    "phase",
    "batch_size",
    "tp",
    "weight_dtype",
    "fits_memory",
    "latency_s",
    "perf_per_tco",
    "throughput_tok_per_s",
    "usd_per_1m_tokens",
    "is_pareto",
    "num_chips",
    "input_len",
    "output_len",
    "act_dtype",
    "weight_bytes_per_chip",
    "kv_bytes_per_chip",
)
assert set(TABLE_COLUMNS) == set(CONFIG_COLUMNS)


class ConfigsTable(DataTable):
    """The paged configs table: j/k/g/G move; paging and sorting are done by the app."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g,home", "first", "First row", show=False, id="table.first"),
        Binding("G,end", "last", "Last row", show=False, id="table.last"),
        Binding("o", "sort_next", "Sort", id="table.sort_next"),
        Binding("r", "sort_reverse", "Reverse sort", show=False, id="table.sort_reverse"),
    ]

    class PageRequest(Message):
        """Ask the app for another page: 'next', 'prev', 'first', 'last'."""

        def __init__(self, where: str) -> None:
            super().__init__()
            self.where = where

    class SortRequest(Message):
        def __init__(self, column: str | None, reverse: bool) -> None:
            super().__init__()
            self.column = column
            self.reverse = reverse

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.has_more = False
        self.page_offset = 0

    def action_cursor_down(self) -> None:
        if self.row_count and self.cursor_row >= self.row_count - 1 and self.has_more:
            self.post_message(self.PageRequest("next"))
            return
        super().action_cursor_down()

    def action_cursor_up(self) -> None:
        if self.cursor_row <= 0 and self.page_offset > 0:
            self.post_message(self.PageRequest("prev"))
            return
        super().action_cursor_up()

    def action_first(self) -> None:
        if self.page_offset > 0:
            self.post_message(self.PageRequest("first"))
        else:
            self.move_cursor(row=0)

    def action_last(self) -> None:
        if self.has_more:
            self.post_message(self.PageRequest("last"))
        else:
            self.move_cursor(row=max(0, self.row_count - 1))

    def action_sort_next(self) -> None:
        self.post_message(self.SortRequest(None, False))

    def action_sort_reverse(self) -> None:
        self.post_message(self.SortRequest(None, True))


class ConfigsPane(Pane):
    """Search box, status line and the paged configs table."""

    FOCUS_TARGET = "#configs"

    class SearchSubmitted(Message):
        """The user entered (or cleared) a `/` search."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.browser: Browser | None = None
        self.filters = Filters()
        self.sort = "perf_per_tco"
        self.descending = True
        self.total: int | None = None
        self.page: Page | None = None
        self.system_ids: dict[str, str] = {}  # system name -> id, for the plot points
        self._target: int | None = None

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="search: xpu, bf16, tp=8, batch=16 (Enter applies, Esc clears)",
            id="search",
        )
        yield StatusLine("", id="table-status", classes="status")
        yield ConfigsTable(id="configs")

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False

    @property
    def table(self) -> ConfigsTable:
        return self.query_one("#configs", ConfigsTable)

    # data ------------------------------------------------------------------------------
    def reload(self, browser: Browser, filters: Filters, total: int) -> None:
        """New filters: back to the first page."""
        self.browser, self.filters, self.total = browser, filters, total
        self.load_page(0)

    def load_page(self, offset: int, cursor: int = 0) -> None:
        if self.browser is None:
            return
        page = self.browser.page_configs(
            self.filters, sort=self.sort, descending=self.descending, offset=offset, limit=PAGE_SIZE
        )
        table = self.table
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
        self.update_status()

    def update_status(self) -> None:
        page = self.page
        if page is None:
            return
        f = self.filters
        bits = [page.label(self.total)]
        bits.append(f"sort {fmt.HEADERS[self.sort]} {'↓' if self.descending else '↑'}")
        if f.pareto_only:
            bits.append("Pareto only")
        bits.append("fitting only [m]" if f.fits_only else "all, NO = does not fit [m]")
        if f.phase:
            bits.append(f.phase)
        if f.dtype:
            bits.append(f.dtype)
        if f.systems is not None:
            bits.append(f"{len(f.systems)} systems")
        if f.search:
            bits.append(f"search '{f.search}'")
        self.query_one("#table-status", StatusLine).update(" · ".join(bits))

    def jump_to(self, config_id: int) -> None:
        """Move the cursor to a config, paging to it; the highlights on the way are not the
        user's, so they post nothing."""
        if self.browser is None:
            return
        table = self.table
        pos = self.browser.position_of(config_id, self.filters, self.sort, self.descending)
        if pos is None:
            return
        offset = pos // PAGE_SIZE * PAGE_SIZE
        self._target = config_id
        # in case no highlight event comes (cursor already there), do not block user moves
        self.set_timer(0.5, self._clear_target)
        if offset != table.page_offset or table.row_count == 0:
            self.load_page(offset, pos - offset)
        else:
            row = table.get_row_index(str(config_id))
            if row == table.cursor_row:
                self._target = None
            table.move_cursor(row=row)

    def _clear_target(self) -> None:
        self._target = None

    # search ----------------------------------------------------------------------------
    def open_search(self) -> None:
        search = self.query_one("#search", Input)
        search.display = True
        search.value = self.filters.search
        self.call_after_refresh(search.focus)

    def close_search(self) -> None:
        """Esc in the search box: clear it and hide it."""
        search = self.query_one("#search", Input)
        search.value = ""
        search.display = False
        self.table.focus()
        if self.filters.search:
            self.post_message(self.SearchSubmitted(""))

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            event.input.display = False
        self.table.focus()
        self.post_message(self.SearchSubmitted(text))

    # table events ----------------------------------------------------------------------
    @on(ConfigsTable.PageRequest)
    def _page_request(self, event: ConfigsTable.PageRequest) -> None:
        table = self.table
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
        event.stop()
        if event.row_key is None or event.row_key.value is None:
            return
        cid = int(event.row_key.value)
        if not event.data_table.has_focus:
            return  # a programmatic move (paging, the plot moving the table): not the user's
        if self._target is not None:
            # The plot moved the table: ignore the highlights of the repaint on the way.
            if cid == self._target:
                self._target = None
            return
        rows = self.page.rows if self.page else []
        row = next((r for r in rows if r["config_id"] == cid), None)
        point = None
        if row and row.get("latency_s") and row.get("perf_per_tco"):
            point = Point(
                cid,
                self.system_ids.get(row["system"], ""),
                row["latency_s"],
                row["perf_per_tco"],
                bool(row["is_pareto"]),
                row.get("phase"),
                row.get("batch_size"),
                row.get("tp"),
                row.get("weight_dtype"),
            )
        self.post_message(ConfigSelected(cid, "table", point))

    @on(DataTable.RowSelected, "#configs")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(DrillDown(int(event.row_key.value)))
