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


PLOT_SHOWN = 2  # pairs named in the plot's subtitle; the rest are counted


def plot_warning(warnings: list[dict[str, Any]] | None) -> str:
    """A one-line subtitle for the plot when plotted systems are not like for like:
    '⚠ xPU-A vs xPU-B: activation data type differs (bf16 vs int8) (lint)'; '' when none."""
    from coview.engine.lint import FIELD_WORDS

    pairs = []
    for w in warnings or []:
        facts = w.get("facts") or {}
        systems = facts.get("systems") or []
        if w.get("kind") != "lint.not_comparable" or len(systems) != 2:
            continue
        what = []
        for f in facts.get("fields") or []:
            values = (facts.get("values") or {}).get(f) or []
            shown = " / ".join(" vs ".join(plain(x) for x in v) for v in values[:2])
            what.append(
                f"{FIELD_WORDS.get(f, plain(f))} differs" + (f" ({shown})" if shown else "")
            )
        pairs.append(f"{plain(systems[0])} vs {plain(systems[1])}: {', '.join(what)}")
    if not pairs:
        return ""
    text = "; ".join(pairs[:PLOT_SHOWN])
    if len(pairs) > PLOT_SHOWN:
        text += f"; {len(pairs) - PLOT_SHOWN} more pairs"
    return f"⚠ {text} (lint)"
