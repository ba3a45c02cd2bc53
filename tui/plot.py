"""The Pareto plot pane: perf/TCO against latency per system, its legend and status line.

The pane owns the plot widget, its keys (walk a frontier, switch system, Enter opens, v
overlays the system's frontier from each simulator) and the messages it posts (ConfigSelected
when the highlight moves, DrillDown on Enter, OverlayRequested on v). It renders what the app
hands it (coview.store.browse.PlotData, SimulatorOverlay); it never runs SQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual.widget import _RenderCache
from textual.widgets import Static
from textual_plotext import PlotextPlot

from coview.store.browse import Browser, PlotData, Point, SimulatorOverlay, coincident_points
from coview.tui import fmt
from coview.tui.common import Pane, StatusLine

# 16-colour safe names (they map onto the terminal's own palette) and a distinct marker each,
# so systems stay apart with NO_COLOR too.
# Colours are ANSI palette numbers given to plotext and to Rich alike, so the plot and the
# legend always agree (plotext's names differ from Rich's: its "orange" is Rich's "yellow",
# and it has no "yellow" at all). Six distinct hues, then their bright variants.
COLORS = [1, 2, 4, 3, 5, 6, 9, 10]
COINCIDENT_MARKER = "="  # a point where two systems' frontiers coincide
MARKERS = ["o", "x", "+", "*", "#", "%", "&", "$"]  # "@" is the selection
# the simulator overlay (v): one marker and colour per simulator, in the store's name order
SIM_MARKERS = ["●", "◆", "▲", "■", "★", "▼"]
SIM_COLORS = [4, 1, 2, 5, 6, 3]


def sim_style(index: int) -> tuple[str, int]:
    """The marker and colour of the index-th simulator in the overlay."""
    return SIM_MARKERS[index % len(SIM_MARKERS)], SIM_COLORS[index % len(SIM_COLORS)]


def overlay_legend(overlay: SimulatorOverlay) -> Text:
    """'H100 · coview-roofline ●  H100 · genz ◆', plus the simulators with no frontier."""
    t = Text()
    for i, sim in enumerate(overlay.simulators):
        if sim not in overlay.frontiers:
            continue
        marker, color = sim_style(i)
        t.append(f"{overlay.system} · {sim} ")
        t.append(marker, style=f"bold color({color})")
        t.append("  ")
    missing = [s for s in overlay.simulators if s not in overlay.frontiers]
    if missing:
        t.append(f"(no {overlay.system} frontier: {', '.join(missing)})")
    return t


@dataclass
class SystemStyle:
    name: str
    color: int
    marker: str


def legend_text(
    styles: dict[str, SystemStyle],
    coincident: list[tuple[str, str, int]] | None = None,
    width: int | None = None,
) -> Text:
    """Each system's marker in its colour and its name, '@ selected', and the frontier points
    two systems share ('= xPU-A = xPU-B at 3 points'). Fitted to `width`: first without
    '@ selected' (the status line names the selected point), then single-spaced, and only
    then broken into lines, between items, never inside one."""
    items: list[Text] = []
    for st in styles.values():
        item = Text()
        item.append(st.marker, style=f"bold color({st.color})")
        item.append(f" {st.name}")
        items.append(item)
    same = []
    for a, b, k in coincident or []:
        na = styles[a].name if a in styles else a
        nb = styles[b].name if b in styles else b
        same.append(Text(f"{COINCIDENT_MARKER} {na} = {nb} at {k} point{'s' if k != 1 else ''}"))
    selected = Text()
    selected.append("@", style="bold reverse")
    selected.append(" selected")
    tries = [([*items, selected, *same], "  "), ([*items, *same], "  "), ([*items, *same], " ")]
    for parts, sep in tries:
        joined = Text(sep).join(parts)
        if width is None or joined.cell_len <= width:
            return joined
    lines: list[Text] = [Text()]
    for part in [*items, *same]:
        line = lines[-1]
        if line.cell_len and line.cell_len + 1 + part.cell_len > width:
            lines.append(Text())
            line = lines[-1]
        if line.cell_len:
            line.append(" ")
        line.append_text(part)
    return Text("\n").join(lines)


class ConfigSelected(Message):
    """A config became the current one (plot move or table cursor)."""

    def __init__(self, config_id: int, source: str, point: Point | None = None) -> None:
        super().__init__()
        self.config_id = config_id
        self.source = source
        self.point = point


class OverlayRequested(Message):
    """v on the plot: load the frontier of system_id from each simulator of the store."""

    def __init__(self, system_id: str) -> None:
        super().__init__()
        self.system_id = system_id


class DrillDown(Message):
    """The user asked to open a config in the detail pane (Enter)."""

    def __init__(self, config_id: int) -> None:
        super().__init__()
        self.config_id = config_id


def fit_title(title: str, width: int) -> str:
    """The title cut to `width` cells with an ellipsis (plotext hides a longer one)."""
    return title if len(title) <= width else title[: max(0, width - 1)] + "…"


HIGHLIGHT_COLOR = 15  # plotext's "white", in which the highlight "@" is drawn


@dataclass
class BaseCanvas:
    """The plot as plotext drew it without the highlight, and plotext's data-to-cell mapping
    (axis limits after scaling, the frame's position), so a highlight is a one-cell patch."""

    key: tuple
    lines: list[Text]
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    left: int  # column of the frame's left edge
    bottom: int  # line of the frame's bottom edge
    width: int  # canvas cells inside the frame
    height: int
    log_x: bool = False
    log_y: bool = False
    strips: list | None = None  # the base as Textual strips, made on first use
    strips_style: Any = None

    @classmethod
    def capture(cls, key: tuple, text: Text, monitor: Any) -> BaseCanvas:
        lines = list(text.split("\n", allow_blank=True))
        plain = [line.plain for line in lines]
        top = next(i for i, s in enumerate(plain) if "┌" in s)
        bottom = next(i for i, s in enumerate(plain) if "└" in s)
        left, right = plain[top].index("┌"), plain[top].index("┐")
        return cls(key, lines, tuple(monitor.xlim[0]), tuple(monitor.ylim[0]), left, bottom,
                   right - left - 1, bottom - top - 1)  # fmt: skip

    def cell(self, latency_s: float, perf_per_tco: float) -> tuple[int, int] | None:
        """(line, column) of a point, as plotext's get_matrix_data places it; None outside."""

        def place(v: float, lim: tuple[float, float], bins: int, log: bool) -> int | None:
            if log:
                if v <= 0:
                    return None
                v = math.log10(v)
            lo, hi = lim
            if lo is None or hi is None or hi == lo:
                return None
            c = math.floor(round(0.5 + (bins - 1) * (v - lo) / (hi - lo), 8))
            return c if 0 <= c < bins else None

        cx = place(latency_s * 1e3, self.xlim, self.width, self.log_x)
        cy = place(perf_per_tco, self.ylim, self.height, self.log_y)
        if cx is None or cy is None:
            return None
        return self.bottom - 1 - cy, self.left + 1 + cx

    def patched_line(self, point: Point) -> tuple[int, Text] | None:
        """(line index, that line with `@` in the point's cell); None outside the canvas."""
        at = self.cell(point.latency_s, point.perf_per_tco)
        if at is None:
            return None
        row, col = at
        line = self.lines[row]
        if col >= len(line):
            return None
        under = Style.combine(
            [
                sp.style
                for sp in line.spans
                if sp.start <= col < sp.end and isinstance(sp.style, Style)
            ]
        )  # the canvas background under the cell, kept as plotext keeps it
        style = Style(color=f"color({HIGHLIGHT_COLOR})", bgcolor=under.bgcolor)
        return row, line[:col] + Text("@", style=style) + line[col + 1 :]

    def with_highlight(self, point: Point | None) -> Text | None:
        """The base with `@` in the point's cell (None: the point is not in the drawn range)."""
        if point is None:
            return Text("\n").join(self.lines)
        patched = self.patched_line(point)
        if patched is None:
            return None
        row, line = patched
        return Text("\n").join([*self.lines[:row], line, *self.lines[row + 1 :]])


def at_row(strip: Strip, row: int) -> Strip:
    """A line rendered on its own, with the (x, y) offsets Textual stamps on each segment
    (for selection and mouse) moved to line `row` of the widget, as a full render has them."""
    segments = []
    for seg in strip:
        st = seg.style
        offset = st.meta.get("offset") if st is not None else None
        if offset is not None:
            st = st + Style.from_meta({"offset": (offset[0], row)})
        segments.append(Segment(seg.text, st, seg.control))
    return Strip(segments, strip.cell_length)


class ParetoPlot(PlotextPlot, can_focus=True):
    """perf/TCO against latency, one colour and marker per system, frontiers as lines.

    left/right walk along the current system's frontier, up/down switch system.
    """

    BINDINGS = [
        Binding("left,h", "move(-1)", "Prev point", show=False, id="plot.prev"),
        Binding("right,l", "move(1)", "Next point", show=False, id="plot.next"),
        Binding("up,k", "switch_system(-1)", "Prev system", show=False, id="plot.prev_system"),
        Binding("down,j", "switch_system(1)", "Next system", show=False, id="plot.next_system"),
        Binding("enter", "drill", "Open", id="plot.drill"),
        Binding("v", "toggle_simulators", "Simulators overlay", show=False, id="plot.simulators"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data = PlotData()
        self.loaded = False  # set_data has run: an empty plot now means no match
        self.styles_by_system: dict[str, SystemStyle] = {}
        self.system_order: list[str] = []
        self.sys_index = 0
        self.point_index = 0
        self.highlight: Point | None = None
        self.plot_title = ""
        self.overlay_on = False  # v pressed: draw the overlay (once it has loaded)
        self.overlay: SimulatorOverlay | None = None
        self._base: BaseCanvas | None = None
        self._drawn_row: int | None | bool = False  # the '@' line on screen (False: unknown)
        self.off_plot: Point | None = None  # the table's config, of a phase not drawn
        self._log_axes = (False, False)

    # data ------------------------------------------------------------------------------
    def set_data(
        self, data: PlotData, styles: dict[str, SystemStyle], title: str, keep: int | None = None
    ) -> None:
        """Replace the points; keep the highlighted config if it is still there."""
        self.data = data
        self.loaded = True
        self.styles_by_system = styles
        self.system_order = [s for s in styles if s in data.frontiers]
        self.plot_title = title
        keep = keep if keep is not None else (self.highlight.config_id if self.highlight else None)
        self.highlight, self.off_plot = None, None
        if keep is not None and self.select_config(keep):
            pass
        elif self.system_order:
            self.sys_index = min(self.sys_index, len(self.system_order) - 1)
            front = self.current_frontier()
            self.point_index = min(self.point_index, len(front) - 1) if front else 0
            self.highlight = front[self.point_index] if front else None
        self.redraw()
        if self.overlay_on:  # the phase or systems may have changed: reload the overlay
            self.request_overlay()

    def current_frontier(self) -> list[Point]:
        if not self.system_order:
            return []
        return self.data.frontiers.get(self.system_order[self.sys_index], [])

    def select_config(self, config_id: int, point: Point | None = None) -> bool:
        """Highlight a config: on a frontier if it is on one, else as a lone point (a config
        of another phase than the plot's is named in the status line instead)."""
        self.off_plot = None
        for si, sid in enumerate(self.system_order):
            for pi, p in enumerate(self.data.frontiers.get(sid, [])):
                if p.config_id == config_id:
                    self.sys_index, self.point_index, self.highlight = si, pi, p
                    self.redraw()
                    return True
        for pts in self.data.others.values():
            for p in pts:
                if p.config_id == config_id:
                    self.highlight = p
                    self.redraw()
                    return True
        if point is not None:
            phases = self.drawn_phases()
            if point.phase and phases and point.phase not in phases:
                # another phase than the plot draws (table on all phases): not placed on it
                self.highlight, self.off_plot = None, point
            else:
                self.highlight = point
            self.redraw()
            return True
        return False

    def drawn_phases(self) -> set[str]:
        """The phases of the points on the plot (one, unless a store mixes them)."""
        pts = [*self.data.frontiers.values(), *self.data.others.values()]
        return {p.phase for ps in pts for p in ps[:1] if p.phase}

    def current_system(self) -> str | None:
        """The system_id whose frontier the arrows walk (and the overlay shows)."""
        return self.system_order[self.sys_index] if self.system_order else None

    def request_overlay(self) -> None:
        sid = self.current_system()
        if sid is not None:
            self.post_message(OverlayRequested(sid))

    # actions ---------------------------------------------------------------------------
    def action_toggle_simulators(self) -> None:
        """v: overlay the current system's frontier from each simulator, or go back."""
        pane = self.parent if isinstance(self.parent, PlotPane) else None
        if self.overlay_on:
            self.overlay_on, self.overlay = False, None
            self.redraw()
            if pane is not None:
                pane.show_legend()
            return
        if self.current_system() is None:
            if pane is not None:
                pane.set_note("no system on the plot to overlay")
            return
        self.overlay_on = True
        self.request_overlay()

    def action_move(self, step: int) -> None:
        front = self.current_frontier()
        if not front or self.overlay is not None:
            return
        if self.highlight is None or self.highlight not in front:
            self.point_index = 0 if step > 0 else len(front) - 1
        else:
            self.point_index = max(0, min(len(front) - 1, self.point_index + step))
        self.highlight, self.off_plot = front[self.point_index], None
        self.redraw()
        self.post_message(ConfigSelected(self.highlight.config_id, "plot", self.highlight))

    def action_switch_system(self, step: int) -> None:
        if not self.system_order:
            return
        self.sys_index = (self.sys_index + step) % len(self.system_order)
        front = self.current_frontier()
        if not front:
            return
        # keep roughly the same latency when hopping to another system's frontier
        if self.highlight is not None:
            target = self.highlight.latency_s
            self.point_index = min(
                range(len(front)), key=lambda i: abs(math.log(front[i].latency_s / target))
            )
        else:
            self.point_index = 0
        self.highlight, self.off_plot = front[self.point_index], None
        self.redraw()
        self.post_message(ConfigSelected(self.highlight.config_id, "plot", self.highlight))
        if self.overlay_on:
            self.request_overlay()

    def action_drill(self) -> None:
        if self.highlight is not None and self.overlay is None:
            self.post_message(DrillDown(self.highlight.config_id))

    # drawing ---------------------------------------------------------------------------
    def render(self):
        """plotext fails on tiny or degenerate canvases: say so instead of crashing.

        A move of the highlight alone does not rebuild the figure: the plot without the
        highlight is built once per data, size and title (BaseCanvas) and the `@` is put in
        its cell, which plotext's own mapping gives (a table move used to rebuild it all)."""
        if self.size.width < 20 or self.size.height < 6:
            return Text("(plot needs at least 20x6 cells; press f for full screen)")
        try:
            if self.overlay is not None:
                self._draw()
                return super().render()
            key = self._base_key()
            if self._base is None or self._base.key != key:
                # plotext's log scale transforms the stored data during build, so a second
                # build of the same figure loses the points: rebuild the figure every time.
                self._draw(highlight=False)
                self._base = BaseCanvas.capture(key, super().render(), self.plt.monitor)
                self._base.log_x, self._base.log_y = self._log_axes
            patched = self._base.with_highlight(self.highlight)
            if patched is not None:
                return patched
            self._draw()  # a point outside the drawn ranges: let plotext place it
            return super().render()
        except (IndexError, ValueError, ZeroDivisionError, OverflowError) as exc:
            return Text(f"(cannot draw the plot here: {type(exc).__name__}; try another size)")

    def _base_key(self) -> tuple:
        return (id(self.data), tuple(self.size), self.plot_title, self.app.theme,
                tuple((k, v.color, v.marker) for k, v in self.styles_by_system.items()))  # fmt: skip

    def redraw(self) -> None:
        """Repaint with the current data and highlight (the figure is built in render). A
        highlight move on the cached figure repaints only the lines it leaves and enters."""
        rows = self._highlight_rows()
        if rows is None or self._drawn_row is False:
            self.refresh()
            return
        changed = {r for r in (self._drawn_row, rows) if r is not None}
        if changed:
            width = self.size.width
            self.refresh(*[Region(0, r, width, 1) for r in changed])

    def _highlight_rows(self) -> int | None | bool:
        """The line the highlight goes to on the cached figure (None: no highlight), or
        False when only a rebuild can draw it (new data or size, overlay, off the canvas)."""
        base = self._base
        if self.overlay is not None or base is None or base.key != self._base_key():
            return False
        if self.highlight is None:
            return None
        at = base.cell(self.highlight.latency_s, self.highlight.perf_per_tco)
        return False if at is None else at[0]

    def _render_content(self) -> None:
        """Textual's render of all lines, from the cached figure's strips when only the
        highlight changed: converting the whole figure to strips cost more than the move."""
        strips = self._fast_strips()
        if strips is None:
            self._drawn_row = False
            super()._render_content()
            base = self._base
            if base is not None and base.key == self._base_key():
                at = self._highlight_rows()
                self._drawn_row = None if at is False else at
            return
        self._render_cache = _RenderCache(self.size, strips)
        self._dirty_regions.clear()

    def _fast_strips(self) -> list | None:
        base = self._base
        rows = self._highlight_rows()
        if rows is False or base is None or self.size.width < 20 or self.size.height < 6:
            return None
        width, height = self.size
        style = self.visual_style
        if base.strips is None or base.strips_style != style:
            visual = visualize(self, Text("\n").join(base.lines))
            base.strips = Visual.to_strips(self, visual, width, height, style)
            base.strips_style = style
        strips = list(base.strips)
        if self.highlight is not None:
            patched = base.patched_line(self.highlight)
            if patched is None:
                return None
            row, line = patched
            strip = Visual.to_strips(self, visualize(self, line), width, 1, style)[0]
            strips[row] = at_row(strip, row)
        self._drawn_row = rows
        return strips

    def _coincident_xy(self) -> list[tuple[float, float]]:
        """Frontier points that two or more systems share (ms, perf/TCO)."""
        seen: dict[tuple[str, str], int] = {}
        for pts in self.data.frontiers.values():
            for key in {(f"{p.latency_s:.4g}", f"{p.perf_per_tco:.4g}") for p in pts}:
                seen[key] = seen.get(key, 0) + 1
        return [(float(x) * 1e3, float(y)) for (x, y), n in seen.items() if n > 1]

    def _draw_overlay(self, overlay: SimulatorOverlay) -> None:
        """The system's frontier once per simulator, each with its own marker and colour."""
        plt = self.plt
        pts = [p for front in overlay.frontiers.values() for p in front]
        if not pts:
            plt.title(f"no simulator has a {overlay.system} {overlay.phase} frontier")
            return
        lats = [p.latency_s for p in pts]
        ppts = [p.perf_per_tco for p in pts]
        log_x = max(lats) / max(min(lats), 1e-12) > 20
        log_y = max(ppts) / max(min(ppts), 1e-12) > 20
        if log_x:
            plt.xscale("log")
        if log_y:
            plt.yscale("log")
        for i, sim in enumerate(overlay.simulators):
            front = overlay.frontiers.get(sim)
            if not front:
                continue
            marker, color = sim_style(i)
            xs = [p.latency_s * 1e3 for p in front]
            ys = [p.perf_per_tco for p in front]
            plt.plot(xs, ys, marker=marker, color=color)
        plt.xlabel("latency ms" + (" (log)" if log_x else ""))
        plt.ylabel("perf/TCO tok/s per $/h" + (" (log)" if log_y else ""))
        title = f"{overlay.system} {overlay.phase} frontier per simulator · v: back"
        plt.title(fit_title(title, self.size.width))

    def _draw(self, highlight: bool = True) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        if self.overlay is not None:
            self._draw_overlay(self.overlay)
            return
        lats = [p.latency_s for pts in self.data.frontiers.values() for p in pts]
        lats += [p.latency_s for pts in self.data.others.values() for p in pts]
        ppts = [p.perf_per_tco for pts in self.data.frontiers.values() for p in pts]
        ppts += [p.perf_per_tco for pts in self.data.others.values() for p in pts]
        if not lats:
            # before the store has answered there is nothing to say yet (no false alarm)
            plt.title("no configs match the filters" if self.loaded else "loading the store...")
            return
        log_x = max(lats) / max(min(lats), 1e-12) > 20
        log_y = max(ppts) / max(min(ppts), 1e-12) > 20
        self._log_axes = (log_x, log_y)
        if log_x:
            plt.xscale("log")
        if log_y:
            plt.yscale("log")
        for sid, pts in self.data.others.items():
            st = self.styles_by_system.get(sid)
            if st is None or not pts:
                continue
            plt.scatter(
                [p.latency_s * 1e3 for p in pts],
                [p.perf_per_tco for p in pts],
                marker="dot",
                color=st.color,
            )
        drawn = [
            (sid, pts) for sid in self.styles_by_system if (pts := self.data.frontiers.get(sid))
        ]
        for sid, pts in drawn:
            st = self.styles_by_system[sid]
            xs = [p.latency_s * 1e3 for p in pts]
            ys = [p.perf_per_tco for p in pts]
            plt.plot(xs, ys, marker=st.marker, color=st.color)  # legend: a line below
        # every system's own points over all the lines: another system's line passing
        # through them no longer hides them (xPU-A's under xPU-B's did)
        for sid, pts in drawn:
            st = self.styles_by_system[sid]
            xs = [p.latency_s * 1e3 for p in pts]
            ys = [p.perf_per_tco for p in pts]
            plt.scatter(xs, ys, marker=st.marker, color=st.color)
        same = self._coincident_xy()
        if same:
            plt.scatter([x for x, _ in same], [y for _, y in same], marker=COINCIDENT_MARKER)
        if highlight and self.highlight is not None:
            h = self.highlight
            plt.scatter([h.latency_s * 1e3], [h.perf_per_tco], marker="@", color="white")
        plt.xlabel("latency ms" + (" (log)" if log_x else ""))
        plt.ylabel("perf/TCO tok/s per $/h" + (" (log)" if log_y else ""))
        # plotext drops a title wider than the canvas: shorten it instead
        plt.title(fit_title(self.plot_title, self.size.width))


class PlotPane(Pane):
    """The plot with its legend and a status line naming the highlighted point."""

    FOCUS_TARGET = "#plot"

    def compose(self) -> ComposeResult:
        # lint's warning when the plotted systems are not like for like (empty: hidden)
        lint = StatusLine("", id="plot-lint")
        lint.display = False
        yield lint
        yield ParetoPlot(id="plot")
        # a Static, not a StatusLine: the legend may wrap to a second line, which needs a layout
        yield Static("", id="plot-legend", classes="status")
        yield StatusLine("", id="plot-status", classes="status")

    @property
    def plot(self) -> ParetoPlot:
        return self.query_one("#plot", ParetoPlot)

    def set_styles(self, styles: dict[str, SystemStyle]) -> None:
        self._legend_parts = (styles, [])
        self.legend = self._fitted_legend()
        self.query_one("#plot-legend", Static).update(self.legend)

    def _fitted_legend(self) -> Text:
        styles, same = getattr(self, "_legend_parts", ({}, []))
        width = self.size.width - 2 if self.size.width > 2 else None  # the legend's padding
        return legend_text(styles, same, width)

    def on_resize(self, event: Any) -> None:
        """Refit the legend to the new width (it wraps between items only)."""
        if not hasattr(self, "_legend_parts"):
            return
        self.legend = self._fitted_legend()
        if self.plot.overlay is None:
            self.query_one("#plot-legend", Static).update(self.legend)

    def show_legend(self) -> None:
        """The legend and status line of what the plot draws (systems, or the overlay)."""
        overlay = self.plot.overlay
        shown = overlay_legend(overlay) if overlay is not None else self.legend
        self.query_one("#plot-legend", Static).update(shown)
        self.shown_legend = shown.plain
        self.update_status()

    def set_lint(self, text: str) -> None:
        """The plot's lint subtitle (coview.tui.lintnote.plot_warning); '' hides it."""
        self.lint_text = text
        line = self.query_one("#plot-lint", StatusLine)
        line.update(Text(text, style="bold reverse", no_wrap=True, overflow="ellipsis"))
        if line.display != bool(text):
            line.display = bool(text)

    def set_note(self, text: str) -> None:
        """A one-off message in the status line (the next move replaces it)."""
        self.status_text = text
        self.query_one("#plot-status", StatusLine).update(text)

    def load_overlay(self, browser: Browser, system_id: str, phase: str, model: str | None) -> None:
        """Fetch the overlay in a thread worker (it opens its own connection)."""
        self.set_note("loading each simulator's frontier...")
        self._overlay_worker(browser, system_id, phase, model)

    @work(thread=True, exclusive=True, group="plot-overlay")
    def _overlay_worker(
        self, browser: Browser, system_id: str, phase: str, model: str | None
    ) -> None:
        try:
            overlay = browser.simulator_overlay(system_id, phase, model)
        except Exception as exc:  # the plot stays as it was; say what failed
            self.app.call_from_thread(
                self._overlay_failed, f"cannot load the simulators: {type(exc).__name__}: {exc}"
            )
            return
        self.app.call_from_thread(self.show_overlay, overlay, system_id)

    def _overlay_failed(self, text: str) -> None:
        self.plot.overlay_on = False
        self.set_note(text)

    def show_overlay(self, overlay: SimulatorOverlay, system_id: str) -> None:
        """Draw the loaded overlay, or say why there is nothing to overlay."""
        plot = self.plot
        if not plot.overlay_on or plot.current_system() != system_id:
            return  # v was pressed again, or the system changed while loading
        if len(overlay.simulators) < 2:
            plot.overlay_on, plot.overlay = False, None
            plot.redraw()
            self.show_legend()
            one = f" ({overlay.simulators[0]})" if overlay.simulators else ""
            self.set_note(f"one simulator in this store{one}: nothing to overlay")
            return
        plot.overlay = overlay
        plot.redraw()
        self.show_legend()

    def show(
        self,
        data: PlotData,
        styles: dict[str, SystemStyle],
        title: str,
        keep: int | None = None,
    ) -> None:
        """Replace the points (keeping the highlighted config if it is still there)."""
        self.plot.set_data(data, styles, title, keep=keep)
        n = sum(len(v) for v in data.frontiers.values())
        extra = " (other points sampled)" if data.sampled else ""
        self.summary = f"{n} frontier points{extra}"
        self._legend_parts = (styles, coincident_points(data))
        legend = self._fitted_legend()
        self.legend = legend
        if self.plot.overlay is None:
            self.query_one("#plot-legend", Static).update(legend)
        self.update_status()

    def select_config(self, config_id: int, point: Point | None = None) -> bool:
        found = self.plot.select_config(config_id, point)
        self.update_status()
        return found

    def update_status(self) -> None:
        plot = self.plot
        h = plot.highlight
        overlay = plot.overlay
        if overlay is not None:
            counts = ", ".join(
                f"{sim} {len(overlay.frontiers[sim])}"
                for sim in overlay.simulators
                if sim in overlay.frontiers
            )
            text = (
                f"{overlay.system} {overlay.phase} frontier points per simulator: "
                f"{counts or 'none'} · ↑/↓ system · v back"
            )
        elif h is None and plot.off_plot is not None:
            o = plot.off_plot
            st = plot.styles_by_system.get(o.system_id)
            shown = ", ".join(sorted(plot.drawn_phases()))
            text = (
                f"#{o.config_id} {st.name if st else ''} is {o.phase}: not on this plot "
                f"({shown}; p: phase) · ←/→ frontier · Enter open"
            )
        elif h is None:
            text = f"{getattr(self, 'summary', '')} · ←/→ frontier · ↑/↓ system · Enter open"
        else:
            st = plot.styles_by_system.get(h.system_id)
            name = st.name if st else ""
            settings = " ".join(
                x
                for x in (
                    h.phase or "",
                    f"b{h.batch_size}" if h.batch_size is not None else "",
                    f"tp{h.tp}" if h.tp is not None else "",
                    h.weight_dtype or "",
                )
                if x
            )
            text = (
                f"@ #{h.config_id} {name} {settings} {fmt.ms(h.latency_s)} ms "
                f"perf/TCO {fmt.num(h.perf_per_tco)} · ←/→ ↑/↓ Enter"
            )
        self.status_text = text
        self.query_one("#plot-status", StatusLine).update(text)
