"""Comparison warnings (coview.engine.lint.comparison_warnings) as a short plain-text note for
the compare view and the best-per-system list: a comparison that is not like for like says
so where the numbers are read."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from coview.engine.analysis import clean_text as plain

CHECKING = "lint: checking that these compare like for like…"
SHOWN = 3  # warnings listed; the rest are counted


def warnings_note(warnings: list[dict[str, Any]] | None, error: str | None = None) -> Text:
    """The note: each warning's title and detail (store text cleaned), or that none was found."""
    if error:
        return Text(f"lint could not check this comparison: {plain(error)}", style="italic")
    if warnings is None:
        return Text(CHECKING, style="italic")
    if not warnings:
        return Text("lint: no comparison problems found", style="italic")
    n = len(warnings)
    t = Text()
    t.append(
        f" LINT: {n} problem{'s' if n != 1 else ''} with this comparison ",
        style="bold reverse yellow",
    )
    for w in warnings[:SHOWN]:
        mark = "!" if w.get("severity") == "error" else "?"
        t.append(f"\n{mark} {plain(w.get('title', ''))}", style="bold")
        detail = plain(w.get("detail", ""))
        if detail:
            t.append(f": {detail}")
    if n > SHOWN:
        t.append(f"\n… and {n - SHOWN} more (coview lint lists them all)")
    return t
