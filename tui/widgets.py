"""Where the panes' widgets used to live, kept so older imports keep working.

Each pane now has its own module (coview.tui.plot, configs, detail, chat, filters); import
from there in new code.
"""

from __future__ import annotations

from coview.tui.chat import TurnView, grounding_badge, normalize_turn
from coview.tui.common import StatusLine
from coview.tui.configs import ConfigsTable
from coview.tui.detail import (
    OP_HEADERS,
    DetailView,
    class_bars,
    fill_diff_table,
    fill_operator_table,
    params_text,
)
from coview.tui.plot import (
    COLORS,
    MARKERS,
    ConfigSelected,
    DrillDown,
    ParetoPlot,
    SystemStyle,
    legend_text,
)

__all__ = [
    "COLORS",
    "MARKERS",
    "OP_HEADERS",
    "ConfigSelected",
    "ConfigsTable",
    "DetailView",
    "DrillDown",
    "ParetoPlot",
    "StatusLine",
    "SystemStyle",
    "TurnView",
    "class_bars",
    "fill_diff_table",
    "fill_operator_table",
    "grounding_badge",
    "legend_text",
    "normalize_turn",
    "params_text",
]
