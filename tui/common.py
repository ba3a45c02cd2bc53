"""Small widgets every pane uses: a one-line status text and the maximizable pane frame."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import Vertical
from textual.widget import Widget


def set_class(widget: Any, on: bool, name: str) -> None:
    """Add or remove a CSS class only if it changes: a class change restyles the subtree."""
    if widget.has_class(name) != on:
        widget.set_class(on, name)


class Pane(Vertical):
    """One of the main screen's panes; any pane can be maximized (f / F11)."""

    ALLOW_MAXIMIZE = True
    FOCUS_TARGET = ""  # the selector focused when the pane is shown (F2-F6, Tab)


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
        # a plain str would be parsed as markup: "[m]" vanished and store names could style
        # the line; a str is shown as it is
        return Text(self._text) if isinstance(self._text, str) else self._text
