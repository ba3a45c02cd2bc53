"""The Pareto plot pane: perf/TCO against latency per system, its legend and status line.

The pane owns the plot widget, its keys (walk a frontier, switch system, Enter opens) and the
messages it posts (ConfigSelected when the highlight moves, DrillDown on Enter). It renders
what the app hands it (coview.store.browse.PlotData); it never queries the store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import Static
from textual_plotext import PlotextPlot

from coview.store.browse import PlotData, Point, coincident_points
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


@dataclass
class SystemStyle:
    name: str
    color: int
    marker: str


def legend_text(styles: dict[str, SystemStyle]) -> Text:
    """One line: each system's marker in its colour, then its name (the plot's legend)."""
    t = Text()
    for st in styles.values():
        t.append(f"{st.marker}", style=f"bold color({st.color})")
        t.append(f" {st.name}  ")
    t.append("@", style="bold reverse")
    t.append(" selected")
    return t


class ConfigSelected(Message):
    """A config became the current one (plot move or table cursor)."""

    def __init__(self, config_id: int, source: str, point: Point | None = None) -> None:
        super().__init__()
        self.config_id = config_id
        self.source = source
        self.point = point


class DrillDown(Message):
    """The user asked to open a config in the detail pane (Enter)."""

    def __init__(self, config_id: int) -> None:
        super().__init__()
        self.config_id = config_id


def fit_title(title: str, width: int) -> str:
    """The title cut to `width` cells with an ellipsis (plotext hides a longer one)."""
    return title if len(title) <= width else title[: max(0, width - 1)] + "…"


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
        self.highlight = None
        if keep is not None and self.select_config(keep):
            pass
        elif self.system_order:
            self.sys_index = min(self.sys_index, len(self.system_order) - 1)
            front = self.current_frontier()
            self.point_index = min(self.point_index, len(front) - 1) if front else 0
            self.highlight = front[self.point_index] if front else None
        self.redraw()

    def current_frontier(self) -> list[Point]:
        if not self.system_order:
            return []
        return self.data.frontiers.get(self.system_order[self.sys_index], [])

    def select_config(self, config_id: int, point: Point | None = None) -> bool:
        """Highlight a config: on a frontier if it is on one, else as a lone point."""
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
            self.highlight = point
            self.redraw()
            return True
        return False

    # actions ---------------------------------------------------------------------------
    def action_move(self, step: int) -> None:
        front = self.current_frontier()
        if not front:
            return
        if self.highlight is None or self.highlight not in front:
            self.point_index = 0 if step > 0 else len(front) - 1
        else:
            self.point_index = max(0, min(len(front) - 1, self.point_index + step))
        self.highlight = front[self.point_index]
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
        self.highlight = front[self.point_index]
        self.redraw()
        self.post_message(ConfigSelected(self.highlight.config_id, "plot", self.highlight))

    def action_drill(self) -> None:
        if self.highlight is not None:
            self.post_message(DrillDown(self.highlight.config_id))

    # drawing ---------------------------------------------------------------------------
    def render(self):
        """plotext fails on tiny or degenerate canvases: say so instead of crashing."""
        if self.size.width < 20 or self.size.height < 6:
            return Text("(plot needs at least 20x6 cells; press f for full screen)")
        try:
            # plotext's log scale transforms the stored data during build, so a second build
            # of the same figure loses the points: rebuild the figure on every render.
            self._draw()
            return super().render()
        except (IndexError, ValueError, ZeroDivisionError, OverflowError) as exc:
            return Text(f"(cannot draw the plot here: {type(exc).__name__}; try another size)")

    def redraw(self) -> None:
        """Repaint with the current data and highlight (the figure is built in render)."""
        self.refresh()

    def _coincident_xy(self) -> list[tuple[float, float]]:
        """Frontier points that two or more systems share (ms, perf/TCO)."""
        seen: dict[tuple[str, str], int] = {}
        for pts in self.data.frontiers.values():
            for key in {(f"{p.latency_s:.4g}", f"{p.perf_per_tco:.4g}") for p in pts}:
                seen[key] = seen.get(key, 0) + 1
        return [(float(x) * 1e3, float(y)) for (x, y), n in seen.items() if n > 1]

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
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
        for sid in self.styles_by_system:
            pts = self.data.frontiers.get(sid)
            if not pts:
                continue
            st = self.styles_by_system[sid]
            xs = [p.latency_s * 1e3 for p in pts]
            ys = [p.perf_per_tco for p in pts]
            plt.plot(xs, ys, marker=st.marker, color=st.color)  # legend: a line below
        same = self._coincident_xy()
        if same:
            plt.scatter([x for x, _ in same], [y for _, y in same], marker=COINCIDENT_MARKER)
        if self.highlight is not None:
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
        yield ParetoPlot(id="plot")
        # a Static, not a StatusLine: the legend may wrap to a second line, which needs a layout
        yield Static("", id="plot-legend", classes="status")
        yield StatusLine("", id="plot-status", classes="status")

    @property
    def plot(self) -> ParetoPlot:
        return self.query_one("#plot", ParetoPlot)

    def set_styles(self, styles: dict[str, SystemStyle]) -> None:
        self.legend = legend_text(styles)
        self.query_one("#plot-legend", Static).update(self.legend)

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
        legend = legend_text(styles)
        for a, b, k in coincident_points(data):
            na = styles[a].name if a in styles else a
            nb = styles[b].name if b in styles else b
            legend.append(f"  {COINCIDENT_MARKER} {na} = {nb} at {k} point{'s' if k != 1 else ''}")
        self.legend = legend
        self.query_one("#plot-legend", Static).update(legend)
        self.update_status()

    def select_config(self, config_id: int, point: Point | None = None) -> bool:
        found = self.plot.select_config(config_id, point)
        self.update_status()
        return found

    def update_status(self) -> None:
        plot = self.plot
        h = plot.highlight
        if h is None:
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
        self.query_one("#plot-status", StatusLine).update(text)
