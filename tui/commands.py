"""The command palette provider (Ctrl+P): the app's own commands, filters and panes.

It calls the app's public actions, so a command and its key always do the same thing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class CoviewCommands(Provider):
    """The app's own commands in Ctrl+P: sweeps, filters, export, sessions, panes."""

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app = self.app
        if not hasattr(app, "set_filter"):  # the review app has no filters
            return []
        cmds: list[tuple[str, Callable[[], Any], str]] = []
        summary = app.summary
        if summary is not None:
            for sid, name in summary.sweeps:
                cmds.append(
                    (
                        f"Switch sweep: {name} ({sid})",
                        lambda s=sid: app.switch_sweep(s),
                        "Show another sweep of the store",
                    )
                )
        if summary is not None:
            for kind, title, values in (
                ("phase", "phase", summary.phases),
                ("dtype", "weights dtype", summary.dtypes),
            ):
                for v in [None, *values]:
                    cmds.append(
                        (
                            f"Set {title}: {v or 'all'}",
                            lambda k=kind, v=v: app.set_filter(k, v),
                            f"Filter the plot and table by {title}",
                        )
                    )
        cmds += [
            (
                "Toggle Pareto-only",
                app.action_toggle_pareto,
                "Show only Pareto-optimal configs in the table",
            ),
            (
                "Cycle phase (prefill/decode)",
                app.action_cycle_phase,
                "Filter the plot and table by phase",
            ),
            ("Cycle data type", app.action_cycle_dtype, "Filter by weight data type"),
            (
                "Best perf/TCO point of each system",
                app.action_best_per_system,
                "Sort the table by perf/TCO, one row per system",
            ),
            (
                "Compare with another system",
                app.action_compare,
                "Per-operator differences against the same point on another system",
            ),
            (
                "Export session to Markdown",
                app.action_export,
                "Write this session as a Markdown report",
            ),
            (
                "Open a saved session (review)",
                app.action_open_session,
                "Read-only review of an earlier session",
            ),
            ("Ask about this config", app.action_ask, "Focus the question box"),
            (
                "Full screen pane",
                app.action_toggle_fullscreen,
                "Maximize the focused pane, again to restore",
            ),
            ("Help: all keys", app.action_help, "List every key binding"),
        ]
        if getattr(app, "insights_pane", None) is not None:
            cmds.append(
                (
                    "Insights: where to look",
                    lambda: app.action_pane("insights"),
                    "Ranked findings nobody asked for (lint first); Enter asks one in chat",
                )
            )
        return cmds

    async def discover(self) -> Hits:
        for name, cb, help_text in self._commands():
            yield DiscoveryHit(name, cb, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, cb, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), cb, help=help_text)
