"""The filters pane: systems, phase and weight data type, in one keyboard list.

One OptionList holds every choice (↑/↓ move, Enter or space picks), so each filter is
reachable from the keyboard and exactly one phase and one data type are marked: the marks
are drawn from the app's Filters every time, never kept in separate radio buttons that can
disagree with them. Picking posts FilterPicked; the app owns the Filters and calls show().
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from coview.store.browse import Filters, Summary

ALL = "all"


def cycle_value(values: list[str], current: str | None) -> str | None:
    """The value after `current` in ["all", *values] order; None stands for "all"."""
    order: list[str | None] = [None, *values]
    i = order.index(current) if current in order else 0
    return order[(i + 1) % len(order)]


class FilterList(OptionList):
    """The choices; space picks like Enter."""

    BINDINGS = [Binding("space", "select", "Pick", show=False, id="filters.pick")]


class FiltersPane(VerticalScroll):
    """Systems (each toggles), phase and dtype (one each), with the key that cycles each."""

    ALLOW_MAXIMIZE = True
    FOCUS_TARGET = "#filters-list"

    class FilterPicked(Message):
        """The user picked a choice: kind is 'system', 'phase' or 'dtype'; value None = all."""

        def __init__(self, kind: str, value: str | None) -> None:
            super().__init__()
            self.kind = kind
            self.value = value

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.summary: Summary | None = None
        self.markers: dict[str, str] = {}
        self.keys: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield FilterList(id="filters-list")

    def fill(
        self,
        summary: Summary,
        markers: dict[str, str],
        keys: dict[str, str],
        filters: Filters,
    ) -> None:
        """Build the list for a sweep: markers per system id, keys per filter kind."""
        self.summary, self.markers, self.keys = summary, markers, keys
        self._render_options(filters)

    def show(self, filters: Filters) -> None:
        """Redraw the marks for the current filters (keeps the highlighted row)."""
        if self.summary is not None:
            self._render_options(filters)

    def _heading(self, title: str, kind: str) -> Option:
        key = self.keys.get(kind)
        return Option(Text(f"{title}  [{key}]" if key else title, style="bold"), disabled=True)

    def _render_options(self, f: Filters) -> None:
        s = self.summary
        if s is None:
            return
        lst = self.query_one(FilterList)
        highlighted = lst.highlighted
        opts: list[Option] = [self._heading("Systems", "system")]
        for sysinfo in s.systems:
            on_ = f.systems is None or sysinfo.system_id in f.systems
            mark = self.markers.get(sysinfo.system_id, "")
            opts.append(
                Option(
                    Text(f"[{'x' if on_ else ' '}] {mark} {sysinfo.name}"),
                    id=f"system:{sysinfo.system_id}",
                )
            )
        for kind, title, values, current in (
            ("phase", "Phase", s.phases, f.phase),
            ("dtype", "Weights dtype", s.dtypes, f.dtype),
        ):
            opts.append(self._heading(title, kind))
            for v in [ALL, *values]:
                lit = (current or ALL) == v
                opts.append(Option(Text(f"({'•' if lit else ' '}) {v}"), id=f"{kind}:{v}"))
        lst.set_options(opts)
        if highlighted is not None and highlighted < lst.option_count:
            lst.highlighted = highlighted
        elif lst.option_count > 1:
            lst.highlighted = 1

    @on(OptionList.OptionSelected, "#filters-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        kind, _, value = (event.option.id or "").partition(":")
        if kind in ("system", "phase", "dtype"):
            self.post_message(self.FilterPicked(kind, None if value == ALL else value))
