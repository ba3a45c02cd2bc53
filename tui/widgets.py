"""The coview panes: Pareto plot, configs table, config detail and chat turns.

Widgets only render what they are given (plain dicts and dataclasses from coview.store.browse
and coview.engine.types); the app decides what to fetch. That keeps the review mode, which
has no store and no model, on the same widgets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Collapsible, DataTable, Static
from textual_plotext import PlotextPlot

from coview.store.browse import PlotData, Point, class_breakdown, operator_diff
from coview.tui import fmt

# 16-colour safe names (they map onto the terminal's own palette) and a distinct marker each,
# so systems stay apart with NO_COLOR too.
COLORS = ["red", "green", "blue", "yellow", "magenta", "cyan", "white", "orange"]
MARKERS = ["o", "x", "+", "*", "#", "%", "&", "$"]  # "@" is the selection


@dataclass
class SystemStyle:
    name: str
    color: str
    marker: str


class StatusLine(Widget):
    """A one-line status text. update() repaints only this line: Static.update asks for a
    layout of the whole screen, which is what made every table move slow."""

    DEFAULT_CSS = "StatusLine { height: 1; }"

    def __init__(self, text: str = "", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._text: Any = text

    def update(self, text: Any) -> None:
        if text != self._text:
            self._text = text
            self.refresh()

    def render(self) -> Any:
        # A plain str may carry store text (system names): never read it as markup.
        return Text(self._text) if isinstance(self._text, str) else self._text


def legend_text(styles: dict[str, SystemStyle]) -> Text:
    """One line: each system's marker in its colour, then its name (the plot's legend)."""
    t = Text()
    for st in styles.values():
        t.append(f"{st.marker}", style=f"bold {st.color}")
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


# ---------------------------------------------------------------------------------------
# Pareto plot
# ---------------------------------------------------------------------------------------
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

    def _draw(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        lats = [p.latency_s for pts in self.data.frontiers.values() for p in pts]
        lats += [p.latency_s for pts in self.data.others.values() for p in pts]
        ppts = [p.perf_per_tco for pts in self.data.frontiers.values() for p in pts]
        ppts += [p.perf_per_tco for pts in self.data.others.values() for p in pts]
        if not lats:
            plt.title("no configs match the filters")
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
        if self.highlight is not None:
            h = self.highlight
            plt.scatter([h.latency_s * 1e3], [h.perf_per_tco], marker="@", color="white")
        plt.xlabel("latency ms" + (" (log)" if log_x else ""))
        plt.ylabel("perf/TCO" + (" (log)" if log_y else ""))
        plt.title(self.plot_title)


# ---------------------------------------------------------------------------------------
# Configs table
# ---------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------
# Config detail
# ---------------------------------------------------------------------------------------
def params_text(cfg: dict[str, Any]) -> Text:
    """The config's parameters and totals, two short lines per group."""
    t = Text()
    t.append(fmt.config_title(cfg), style="bold")
    t.append(f"  ({cfg.get('sweep_id', '')})\n")
    t.append(
        f"in {cfg.get('input_len')} out {cfg.get('output_len')}  tp {cfg.get('tp')} "
        f"pp {cfg.get('pp')} dp {cfg.get('dp')}  chips {cfg.get('num_chips')}  "
        f"w/act/kv {cfg.get('weight_dtype')}/{cfg.get('act_dtype')}/{cfg.get('kv_dtype')}\n"
    )
    t.append(
        f"latency {fmt.ms(cfg.get('latency_s'))} ms  {fmt.num(cfg.get('throughput_tok_per_s'))} "
        f"tok/s  perf/TCO {fmt.num(cfg.get('perf_per_tco'))}  "
        f"${fmt.dollars(cfg.get('usd_per_1m_tokens'))}/M tok\n"
    )
    fits = cfg.get("fits_memory")
    t.append(
        f"weights {fmt.gb(cfg.get('weight_bytes_per_chip'))} GB/chip  "
        f"kv {fmt.gb(cfg.get('kv_bytes_per_chip'))} GB/chip  "
        f"fits {'-' if fits is None else ('yes' if fits else 'NO')}  "
        f"pareto {'yes' if cfg.get('is_pareto') else 'no'}  "
        f"power {fmt.num(cfg.get('power_w'))} W"
    )
    if cfg.get("sram_bytes") is not None:
        t.append(f"  SRAM {fmt.si(cfg.get('sram_bytes'), 'B')}")
    return t


def class_bars(operators: list[dict[str, Any]], width: int = 30) -> Text:
    """Text bars of step time by operator class (works in 16 colours and NO_COLOR)."""
    parts = class_breakdown(operators)
    total = sum(parts.values()) or 1.0
    t = Text()
    t.append("time by operator class\n", style="bold")
    for cls, v in parts.items():
        share = v / total
        bar = "█" * max(1, round(share * width)) if v > 0 else ""
        t.append(f"{cls:<11}")
        t.append(bar, style="bold")
        t.append(f" {share:5.1%} {fmt.ms(v)} ms\n")
    return t


OP_HEADERS = (
    "op",
    "cnt",
    "FLOPs",
    "bytes",
    "compute µs",
    "memory µs",
    "comm µs",
    "bound",
    "weights",
    "share",
)


def fill_operator_table(table: DataTable, operators: list[dict[str, Any]]) -> None:
    """Operator breakdown; the dominant of compute/memory/comm is bold+reverse per row, and the
    operator with the largest share of step time is marked with '>'."""
    table.clear(columns=True)
    table.add_columns(*OP_HEADERS)
    totals = [(o.get("roofline_time_s") or 0.0) * (o.get("count") or 1) for o in operators]
    step = sum(totals) or 1.0
    top = max(range(len(totals)), key=totals.__getitem__) if totals else -1
    for i, (op, tot) in enumerate(zip(operators, totals, strict=True)):
        times = [op.get("compute_time_s"), op.get("memory_time_s"), op.get("comm_time_s")]
        dom = max(range(3), key=lambda k: times[k] or 0.0)
        cells: list[Any] = []
        for k, v in enumerate(times):
            s = fmt.us(v)
            cells.append(Text(s, style="bold reverse") if k == dom and v else Text(s))
        byts = (op.get("bytes_read") or 0) + (op.get("bytes_written") or 0)
        name = ("> " if i == top else "  ") + str(op.get("op_type"))
        table.add_row(
            Text(name, style="bold" if i == top else ""),
            fmt.num(op.get("count")),
            fmt.si(op.get("flops")),
            fmt.si(byts, "B"),
            *cells,
            op.get("bound") or "-",
            op.get("weights_location") or "-",
            Text(f"{tot / step:.1%}", style="bold" if i == top else ""),
        )


def fill_diff_table(
    table: DataTable, a: list[dict[str, Any]], b: list[dict[str, Any]], name_a: str, name_b: str
) -> None:
    """Per-operator differences of two configs; the largest absolute change is marked."""
    rows = operator_diff(a, b)
    table.clear(columns=True)
    table.add_columns("op", f"{name_a} µs", f"{name_b} µs", "B/A", "bound A/B", "weights A/B")
    deltas = [abs((r["time_b"] or 0) - (r["time_a"] or 0)) for r in rows]
    top = max(range(len(deltas)), key=deltas.__getitem__) if deltas else -1
    for i, r in enumerate(rows):
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        table.add_row(
            Text(("> " if i == top else "  ") + r["op_type"], style="bold" if i == top else ""),
            fmt.us(r["time_a"]),
            fmt.us(r["time_b"]),
            Text(ratio, style="bold reverse" if i == top else ""),
            f"{r['bound_a'] or '-'}/{r['bound_b'] or '-'}",
            f"{r['weights_a'] or '-'}/{r['weights_b'] or '-'}",
        )


class DetailView(VerticalScroll, can_focus=True):
    """One config: parameters, totals, operator breakdown, class bars and an optional compare."""

    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False, id="detail.down"),
        Binding("k", "scroll_up", "Up", show=False, id="detail.up"),
        Binding("g", "scroll_home", "Top", show=False, id="detail.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="detail.bottom"),
    ]

    def compose(self):
        yield Static(
            "Select a config (Enter in the table or plot) to see its operators.", id="detail-params"
        )
        yield Static("", id="detail-bars")
        # tables inside the scrolling view do not take focus: j/k/arrows scroll the view
        ops = DataTable(id="detail-ops", cursor_type="row", zebra_stripes=True)
        ops.can_focus = False
        yield ops
        yield Static("", id="compare-title")
        diff = DataTable(id="detail-diff", cursor_type="row", zebra_stripes=True)
        diff.can_focus = False
        yield diff

    def on_mount(self) -> None:
        self.query_one("#detail-diff").display = False

    def show(self, cfg: dict[str, Any], operators: list[dict[str, Any]]) -> None:
        self.query_one("#detail-params", Static).update(params_text(cfg))
        self.query_one("#detail-bars", Static).update(
            class_bars(operators) if operators else Text("no operator rows for this config")
        )
        fill_operator_table(self.query_one("#detail-ops", DataTable), operators)
        self.clear_compare()

    def show_compare(
        self,
        a_cfg: dict[str, Any],
        a_ops: list[dict[str, Any]],
        b_cfg: dict[str, Any],
        b_ops: list[dict[str, Any]],
    ) -> None:
        name_a = str(a_cfg.get("system") or "A")
        name_b = str(b_cfg.get("system") or "B")
        title = Text()
        title.append("compare  ", style="bold")
        title.append(f"A = {fmt.config_title(a_cfg)}  vs  B = {fmt.config_title(b_cfg)}\n")
        title.append(
            f"latency A {fmt.ms(a_cfg.get('latency_s'))} ms, B {fmt.ms(b_cfg.get('latency_s'))} ms;"
            f" perf/TCO A {fmt.num(a_cfg.get('perf_per_tco'))}, B {fmt.num(b_cfg.get('perf_per_tco'))}"
        )
        self.query_one("#compare-title", Static).update(title)
        diff = self.query_one("#detail-diff", DataTable)
        fill_diff_table(diff, a_ops, b_ops, name_a[:8], name_b[:8])
        diff.display = True

    def clear_compare(self) -> None:
        self.query_one("#compare-title", Static).update("")
        diff = self.query_one("#detail-diff", DataTable)
        diff.clear(columns=True)
        diff.display = False


# ---------------------------------------------------------------------------------------
# Chat turns
# ---------------------------------------------------------------------------------------
def normalize_turn(turn: Any) -> dict[str, Any]:
    """An AskResult or a saved session turn as one dict the TurnView renders."""
    if isinstance(turn, dict):
        evidence = []
        if turn.get("evidence"):
            for ev in turn["evidence"]:
                evidence.append(
                    (list(ev.get("columns", [])), [list(r) for r in ev.get("rows", [])])
                )
        elif turn.get("rows") is not None:
            rows = turn.get("rows") or []
            cols = list(
                turn.get("columns")
                or (list(rows[0].keys()) if rows and isinstance(rows[0], dict) else [])
            )
            vals = [[r.get(c) for c in cols] if isinstance(r, dict) else list(r) for r in rows]
            evidence.append((cols, vals))
        return {
            "question": turn.get("question", ""),
            "status": turn.get("status", "answered"),
            "answer": turn.get("answer", ""),
            "sql": list(turn.get("sql") or []),
            "evidence": evidence,
            "grounding": turn.get("grounding") or {},
            "backend": turn.get("backend", ""),
            "elapsed_s": turn.get("elapsed_s"),
            "context_config_id": turn.get("context_config_id"),
        }
    return {
        "question": turn.question,
        "status": turn.status,
        "answer": turn.answer,
        "sql": list(turn.sql),
        "evidence": [(list(e.columns), [list(r) for r in e.rows]) for e in turn.evidence],
        "grounding": turn.grounding.to_json(),
        "backend": turn.backend,
        "elapsed_s": turn.elapsed_s,
        "context_config_id": None,
    }


def grounding_badge(status: str, grounding: dict[str, Any]) -> Text:
    if status != "answered":
        return Text("")
    numbers = grounding.get("numbers") or []
    matched = sum(1 for n in numbers if n.get("matched") is not None)
    if not numbers:
        return Text(" no numbers to check ", style="reverse")
    if matched == len(numbers):
        return Text(
            f" grounded: {matched}/{len(numbers)} numbers traced to evidence ",
            style="bold reverse green",
        )
    return Text(
        f" NOT GROUNDED: {len(numbers) - matched} of {len(numbers)} numbers not in evidence ",
        style="bold reverse red",
    )


class TurnView(Vertical):
    """One question and its answer, with collapsible SQL and evidence tables."""

    def __init__(self, turn: Any, **kwargs: Any) -> None:
        self.turn = normalize_turn(turn)
        status = self.turn["status"]
        super().__init__(classes=f"turn -{status}", **kwargs)

    def compose(self):
        t = self.turn
        q = Text("> ", style="bold")
        q.append(t["question"])
        if t.get("context_config_id") is not None:
            q.append(f"  [config #{t['context_config_id']}]", style="dim")
        yield Static(q, classes="question")
        answer = Static(Text(t["answer"]), classes=f"answer -{t['status']}")
        if t["status"] == "refused":
            answer.border_title = "Cannot answer"
        elif t["status"] == "error":
            answer.border_title = "Error"
        else:
            answer.border_title = "Answer"
        yield answer
        badge = grounding_badge(t["status"], t["grounding"])
        if badge.plain:
            yield Static(badge, classes="badge")
        if t["sql"]:
            yield Collapsible(
                Static(Text("\n\n".join(t["sql"])), classes="sql"),
                title=f"SQL ({len(t['sql'])})",
                collapsed=True,
                classes="sql-box",
            )
        for i, (cols, rows) in enumerate(t["evidence"]):
            table = DataTable(classes="evidence", zebra_stripes=True, show_cursor=False)
            table.add_columns(*cols)
            for r in rows[:200]:
                table.add_row(*[fmt.num(v) if not isinstance(v, str) else v for v in r])
            more = ", first 200 shown" if len(rows) > 200 else ""
            yield Collapsible(
                table,
                title=f"Evidence {i + 1} ({len(rows)} rows{more})",
                collapsed=True,
                classes="evidence-box",
            )

    @property
    def sql_text(self) -> str:
        return "\n\n".join(self.turn["sql"])

    @property
    def answer_text(self) -> str:
        return self.turn["answer"]
