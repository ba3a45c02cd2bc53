"""The detail pane's what-if: one config re-simulated with a change, beside the stored rows.

`w` in the detail pane opens a one-line input in `coview whatif --set` syntax
(`sram_bytes=*1.07, hbm_bw_bytes_per_s=3.2e12`); the app runs coview.engine.whatif.whatif in
a thread worker and hands the WhatIfResult back. The section shows it under a SIMULATED badge
with the engine's exact label, so a simulated figure never passes for stored data: the
simulated config's totals and, per operator, stored against simulated time per step, weights
location and bound. A sweep the engine cannot re-simulate, or bad input, gets its message.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static

from coview.engine.analysis import clean_text as plain
from coview.tui import fmt

PLACEHOLDER = "sram_bytes=*1.07, hbm_bw_bytes_per_s=3.2e12 (Enter runs, Esc closes)"
BADGE = " SIMULATED, not stored data "
# A what-if marks its largest change only when some operator really changes this much.
MIN_CHANGE = 0.005
SETTINGS = ("tp", "batch_size", "input_len", "output_len", "weight_dtype", "act_dtype", "kv_dtype")


def operator_rows(result: Any, config_id: int) -> list[dict[str, Any]]:
    """Per operator of one config: stored and simulated time per step (time x count), the
    change, weights location and bound, stored then simulated (plain dicts, also saved)."""
    rows = []
    for o in result.operators:
        if o["config_id"] != config_id:
            continue
        b, w = o["baseline"], o["whatif"]
        tb = (b.get("roofline_time_s") or 0.0) * (b.get("count") or 1)
        tw = (w.get("roofline_time_s") or 0.0) * (w.get("count") or 1)
        rows.append(
            {
                "op_type": plain(o["op_type"]),
                "count": b.get("count"),
                "stored_s": tb,
                "simulated_s": tw,
                "change": (tw - tb) / tb if tb else None,
                "weights_stored": b.get("weights_location"),
                "weights_simulated": w.get("weights_location"),
                "bound_stored": b.get("bound"),
                "bound_simulated": w.get("bound"),
            }
        )
    return rows


def largest_change(rows: list[dict[str, Any]]) -> int:
    """Index of the operator whose step time changes most, or -1 if none moves by more than
    MIN_CHANGE (nothing to point at)."""
    best, best_delta = -1, 0.0
    for i, r in enumerate(rows):
        a, b = r["stored_s"], r["simulated_s"]
        delta = abs(b - a)
        if delta > MIN_CHANGE * max(abs(a), abs(b)) and delta > best_delta:
            best, best_delta = i, delta
    return best


def pct(change: float | None) -> str:
    if change is None:
        return "-"
    if abs(change) < 5e-5:
        return "same"
    return f"{change * 100:+.1f}%"


def _arrow(a: Any, b: Any) -> str:
    a, b = a if a is not None else "-", b if b is not None else "-"
    return str(a) if a == b else f"{a}→{b}"


def _yes(v: Any) -> str:
    return "-" if v is None else ("yes" if v else "NO")


def title_text(result: Any, change: str) -> Text:
    """The badge and exact change, then the simulated config's totals against the stored."""
    c = result.configs[0]
    b, w = c["baseline"], c["whatif"]
    t = Text()
    t.append(BADGE, style="bold reverse")
    t.append(f" simulated: {plain(change)} on #{c['config_id']}\n", style="bold")
    t.append(plain(result.label) + "\n", style="italic")
    lat_b, lat_w = b.get("latency_s"), w.get("latency_s")
    change_lat = (lat_w - lat_b) / lat_b if lat_b and lat_w is not None else None
    t.append(
        f"latency {fmt.ms(lat_b)} → {fmt.ms(lat_w)} ms ({pct(change_lat)})  "
        f"perf/TCO {fmt.num(b.get('perf_per_tco'))} → {fmt.num(w.get('perf_per_tco'))}  "
        f"fits {_arrow(_yes(b.get('fits_memory')), _yes(w.get('fits_memory')))}\n"
    )
    moved = [k for k in SETTINGS if b.get(k) != w.get(k)]
    if moved:
        t.append("settings: " + ", ".join(f"{k} {b.get(k)}→{w.get(k)}" for k in moved) + "\n")
    sram_b = ", ".join(b.get("ops_weights_in_sram") or []) or "none"
    sram_w = ", ".join(w.get("ops_weights_in_sram") or []) or "none"
    t.append(
        "weights in SRAM: "
        + (f"{sram_b} (unchanged)" if sram_b == sram_w else f"{sram_b} → {sram_w}")
        + "\n"
    )
    t.append("µs/step = per-operator total over the step (time x count); w: another change")
    return t


def fill_table(table: DataTable, rows: list[dict[str, Any]]) -> None:
    """Stored against simulated time per operator; the largest change is marked with '>'."""
    table.clear(columns=True)
    table.add_columns("op", "change", "stored µs/step", "sim µs/step", "weights", "bound")
    top = largest_change(rows)
    for i, r in enumerate(rows):
        mark = i == top
        table.add_row(
            Text(("> " if mark else "  ") + r["op_type"], style="bold" if mark else ""),
            Text(pct(r["change"]), style="bold reverse" if mark else ""),
            fmt.us(r["stored_s"]),
            fmt.us(r["simulated_s"]),
            _arrow(r["weights_stored"], r["weights_simulated"]),
            _arrow(r["bound_stored"], r["bound_simulated"]),
        )


def saved_record(result: Any, change: str) -> dict[str, Any]:
    """What the session keeps of a what-if: the change, the engine's label, the stored and
    simulated totals and the per-operator rows (the store cannot rebuild a simulation)."""
    c = result.configs[0]
    return {
        "change": plain(change),
        "label": plain(result.label),
        "sweep_id": plain(result.sweep_id),
        "system": plain(result.system),
        "changes": result.changes,
        "baseline": c["baseline"],
        "whatif": c["whatif"],
        "operators": operator_rows(result, c["config_id"]),
    }


class WhatIfRequested(Message):
    """Enter in the what-if input: re-simulate `config` with the changes in `text`."""

    def __init__(self, section: WhatIfSection, config: dict[str, Any], text: str) -> None:
        super().__init__()
        self.section = section
        self.config = config
        self.text = text


class WhatIfInput(Input):
    """The change, in `coview whatif --set` syntax; Esc closes the input."""

    BINDINGS = [Binding("escape", "close", "Close what-if", show=False, id="whatif.close")]

    def action_close(self) -> None:
        self.query_ancestor(WhatIfSection).close_input()


class WhatIfSection(Vertical):
    """Input, progress or error line, and the simulated result with its operator table."""

    DEFAULT_CSS = """
    WhatIfSection { height: auto; }
    WhatIfSection #whatif-ask { height: 1; }
    WhatIfSection #whatif-prompt { width: 9; text-style: bold; }
    WhatIfSection #whatif-input { width: 1fr; }
    WhatIfSection #whatif-table { height: auto; max-height: 20; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config: dict[str, Any] | None = None
        self.request: tuple[Any, str] | None = None  # (config_id, text) being simulated
        self.shown: tuple[Any, str] | None = None  # the result on screen

    def compose(self) -> ComposeResult:
        with Horizontal(id="whatif-ask"):
            yield Static("what-if›", id="whatif-prompt")
            inp = WhatIfInput(placeholder=PLACEHOLDER, id="whatif-input", compact=True)
            inp.cursor_blink = False
            yield inp
        yield Static("", id="whatif-status")
        yield Static("", id="whatif-title")
        table = DataTable(id="whatif-table", cursor_type="none", zebra_stripes=True)
        table.can_focus = False
        yield table

    def on_mount(self) -> None:
        self.clear()

    def _show(self, selector: str, on: bool) -> None:
        self.query_one(selector).display = on

    def open(self, config: dict[str, Any]) -> None:
        """Show the input for this config (keeping the last change typed) and focus it."""
        if self.config is None or self.config.get("config_id") != config.get("config_id"):
            self.clear()
        self.config = config
        inp = self.query_one("#whatif-input", WhatIfInput)
        self.display = True
        self._show("#whatif-ask", True)
        inp.focus()

    def close_input(self) -> None:
        """Esc in the input: hide it; a result stays; focus goes back to the detail view."""
        self._show("#whatif-ask", False)
        if self.shown is None and self.request is None:
            self.clear()
        parent = self.parent
        if parent is not None and parent.can_focus:
            parent.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.config is None:
            return
        text = event.value.strip()
        self.request = (self.config.get("config_id"), text)
        self.post_message(WhatIfRequested(self, self.config, text))
        self.show_status(Text(f"simulating {plain(text) or '(nothing)'}…", style="italic"))

    def show_status(self, text: Text) -> None:
        status = self.query_one("#whatif-status", Static)
        status.update(text)
        status.display = True

    def is_current(self, config_id: Any, text: str) -> bool:
        """Whether a result for (config_id, text) is still the one asked for."""
        return self.request == (config_id, text)

    def show_result(self, result: Any, text: str) -> None:
        """The simulated config and its operators under the SIMULATED badge."""
        cid = result.configs[0]["config_id"]
        self.request = None
        self.shown = (cid, text)
        self._show("#whatif-status", False)
        self.query_one("#whatif-title", Static).update(title_text(result, text))
        self._show("#whatif-title", True)
        fill_table(self.query_one("#whatif-table", DataTable), operator_rows(result, cid))
        self._show("#whatif-table", True)
        self._show("#whatif-ask", False)

    def show_error(self, message: str, text: str) -> None:
        """Why the what-if did not run; the input stays open to fix it."""
        self.request = None
        t = Text()
        t.append(" what-if not run ", style="bold reverse")
        t.append(" " + plain(message).removeprefix("--set "))
        self.show_status(t)

    def clear(self) -> None:
        """Hide everything (a new config was opened, or Esc in the detail pane)."""
        self.request = None
        self.shown = None
        for sel in ("#whatif-ask", "#whatif-status", "#whatif-title", "#whatif-table"):
            self._show(sel, False)
        self.query_one("#whatif-title", Static).update("")
        self.query_one("#whatif-table", DataTable).clear(columns=True)
        self.display = False
