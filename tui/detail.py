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
from coview.tui.lintnote import warnings_note
from coview.tui.whatif import WhatIfSection


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


# The columns people read first come first, so `share`, `weights` (sram/hbm) and `bound`
# are on screen at 80 columns; ←/→ scroll to the rest.
OP_HEADERS = (
    "op",
    "share",
    "weights",
    "bound",
    "cnt",
    "compute µs",
    "memory µs",
    "comm µs",
    "FLOPs",
    "bytes",
)
OPS_NOTE = "µs are per instance; an op runs cnt times per step; share = of step time"
STORED_OPS_NOTE = "stored rows (not the what-if): " + OPS_NOTE
# A compare marks its largest change only when some operator really changes this much.
MIN_CHANGE = 0.005


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
            Text(f"{tot / step:.1%}", style="bold" if i == top else ""),
            op.get("weights_location") or "-",
            op.get("bound") or "-",
            fmt.num(op.get("count")),
            *cells,
            fmt.si(op.get("flops")),
            fmt.si(byts, "B"),
        )


def largest_change(rows: list[dict[str, Any]]) -> int:
    """Index of the operator whose step time changes most, or -1 if none changes by more
    than MIN_CHANGE of its time (all 1.00x: nothing to point at)."""
    best, best_delta = -1, 0.0
    for i, r in enumerate(rows):
        ta, tb = r["time_a"], r["time_b"]
        if ta is None or tb is None:
            continue
        delta = abs(tb - ta)
        if delta > MIN_CHANGE * max(abs(ta), abs(tb)) and delta > best_delta:
            best, best_delta = i, delta
    return best


def fill_diff_table(
    table: DataTable, a: list[dict[str, Any]], b: list[dict[str, Any]], name_a: str, name_b: str
) -> None:
    """Per-operator differences of two configs (per-step totals); the largest change is marked."""
    rows = operator_diff(a, b)
    table.clear(columns=True)
    table.add_columns(
        "op", "B/A", f"A {name_a} µs/step", f"B {name_b} µs/step", "weights A/B", "bound A/B"
    )
    top = largest_change(rows)
    for i, r in enumerate(rows):
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        table.add_row(
            Text(("> " if i == top else "  ") + r["op_type"], style="bold" if i == top else ""),
            Text(ratio, style="bold reverse" if i == top else ""),
            fmt.us(r["time_a"]),
            fmt.us(r["time_b"]),
            f"{r['weights_a'] or '-'}/{r['weights_b'] or '-'}",
            f"{r['bound_a'] or '-'}/{r['bound_b'] or '-'}",
        )


class DetailView(VerticalScroll, can_focus=True):
    """One config: parameters, totals, an optional what-if and compare (on top, where they
    are seen), the operator breakdown and class bars."""

    BINDINGS = [
        Binding("j", "scroll_down", "Down", show=False, id="detail.down"),
        Binding("k", "scroll_up", "Up", show=False, id="detail.up"),
        Binding("g", "scroll_home", "Top", show=False, id="detail.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="detail.bottom"),
        Binding("left,h", "scroll_tables(-8)", "Scroll tables left", show=False, id="detail.left"),
        Binding(
            "right,l", "scroll_tables(8)", "Scroll tables right", show=False, id="detail.right"
        ),
        Binding("w", "whatif", "What-if", id="detail.whatif"),
    ]
    # the main screen's detail pane re-simulates (it has the store); a saved session does not
    whatif_enabled = False
    config: dict[str, Any] | None = None  # the config shown
    _has_ops = False

    def compose(self):
        yield Static(
            "Select a config (Enter in the table or plot) to see its operators.", id="detail-params"
        )
        yield WhatIfSection(id="whatif")
        yield Static("", id="compare-title")
        yield Static("", id="compare-warnings")
        # tables inside the scrolling view do not take focus: j/k scroll the view, ←/→ the tables
        diff = DataTable(id="detail-diff", cursor_type="none", zebra_stripes=True)
        diff.can_focus = False
        yield diff
        yield Static("", id="ops-note", classes="status")
        ops = DataTable(id="detail-ops", cursor_type="none", zebra_stripes=True)
        ops.can_focus = False
        yield ops
        yield Static("", id="detail-bars")

    def on_mount(self) -> None:
        self.query_one("#detail-diff").display = False
        self.query_one("#compare-title").display = False
        self.query_one("#compare-warnings").display = False

    def action_scroll_tables(self, cells: int) -> None:
        for table in self.query(DataTable):
            if table.display:
                table.scroll_relative(x=cells, animate=False)

    def action_whatif(self) -> None:
        """w: re-simulate this config with a change, shown beside the stored operators."""
        if not self.whatif_enabled:
            self.notify(
                "What-if re-simulates from the store: open `coview` on the store, not a saved "
                "session, or run `coview whatif --system NAME --set ...`.",
                severity="warning",
            )
            return
        if self.config is None:
            self.notify("Open a config first (Enter in the table or plot), then press w.")
            return
        section = self.query_one("#whatif", WhatIfSection)
        section.open(self.config)
        self.scroll_to_widget(section, top=True, animate=False)

    def show_whatif(self, result: Any, text: str) -> None:
        """A what-if result arrived: show it and scroll it to the top of the view."""
        section = self.query_one("#whatif", WhatIfSection)
        section.show_result(result, text)
        if self.config is not None and self._has_ops:  # the table below is the stored one
            self.query_one("#ops-note", Static).update(Text(STORED_OPS_NOTE))
        self.focus()
        self.call_after_refresh(self.scroll_to_widget, section, top=True, animate=False)

    def clear_whatif(self) -> None:
        self.query_one("#whatif", WhatIfSection).clear()
        self.query_one("#ops-note", Static).update(Text(OPS_NOTE) if self._has_ops else "")

    def show(self, cfg: dict[str, Any], operators: list[dict[str, Any]]) -> None:
        self.config = cfg
        self._has_ops = bool(operators)
        self.clear_whatif()
        self.query_one("#detail-params", Static).update(params_text(cfg))
        self.query_one("#detail-bars", Static).update(
            class_bars(operators) if operators else Text("no operator rows for this config")
        )
        self.query_one("#ops-note", Static).update(Text(OPS_NOTE) if operators else "")
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
        title.append("compare  ", style="bold reverse")
        title.append(f" A = {fmt.config_title(a_cfg)}  vs  B = {fmt.config_title(b_cfg)}\n")
        title.append(
            f"latency A {fmt.ms(a_cfg.get('latency_s'))} ms, B {fmt.ms(b_cfg.get('latency_s'))} ms;"
            f" perf/TCO A {fmt.num(a_cfg.get('perf_per_tco'))}, B {fmt.num(b_cfg.get('perf_per_tco'))}\n"
        )
        title.append(
            "µs/step = per-operator total over the step (time x count). Esc closes the compare."
        )
        ct = self.query_one("#compare-title", Static)
        ct.update(title)
        ct.display = True
        self.compared = (a_cfg.get("config_id"), b_cfg.get("config_id"))
        self.show_compare_warnings(self.compared, None)
        diff = self.query_one("#detail-diff", DataTable)
        fill_diff_table(diff, a_ops, b_ops, name_a[:8], name_b[:8])
        diff.display = True
        self.scroll_home(animate=False)

    def show_compare_warnings(
        self, pair: tuple[Any, Any], warnings: list[dict[str, Any]] | None, error: str | None = None
    ) -> None:
        """Lint's verdict on the compare of `pair` (None: still checking); a verdict for a
        compare no longer shown is dropped."""
        if pair != getattr(self, "compared", None):
            return
        note = self.query_one("#compare-warnings", Static)
        note.update(warnings_note(warnings, error))
        note.display = True

    def clear_compare(self) -> None:
        ct = self.query_one("#compare-title", Static)
        ct.update("")
        ct.display = False
        self.compared = None
        note = self.query_one("#compare-warnings", Static)
        note.update("")
        note.display = False
        diff = self.query_one("#detail-diff", DataTable)
        diff.clear(columns=True)
        diff.display = False


class DetailPane(Pane):
    """The frame of the detail view on the main screen."""

    FOCUS_TARGET = "#detail"

    def compose(self) -> ComposeResult:
        view = DetailView(id="detail")
        view.whatif_enabled = True
        yield view
