"""The detail pane: one config's parameters, operator breakdown, class bars and a compare.

It renders plain dicts from coview.store.browse (Browser.config / Browser.operators), so the
read-only review screen, which has no store, shows the same view from a saved session.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from coview.store.browse import class_breakdown, operator_diff
from coview.tui import fmt
from coview.tui.common import Pane


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


class DetailPane(Pane):
    """The frame of the detail view on the main screen."""

    FOCUS_TARGET = "#detail"

    def compose(self) -> ComposeResult:
        yield DetailView(id="detail")
