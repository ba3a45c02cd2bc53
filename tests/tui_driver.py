"""Run the coview app in a child process, for the kill test and for trying the TUI by hand.

    python tests/tui_driver.py STORE [--fake] [--headless] [--ask Q ...] [--size 80x24]

With --ask the questions are sent one after another; after each completed turn the driver
prints "ANSWERED <n> <session path>" (flushed), so a parent can SIGKILL it at any point.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store", type=Path)
    ap.add_argument("--fake", action="store_true", help="scripted pipeline instead of the engine")
    ap.add_argument("--headless", action="store_true")
    ap.add_argument("--ask", nargs="*", default=[])
    ap.add_argument("--size", default="80x24")
    args = ap.parse_args()

    from coview.config import load_settings
    from coview.tui.app import AskDone, CoviewApp

    factory = None
    if args.fake:
        from tui_fakes import FakePipeline

        factory = FakePipeline
    questions = list(args.ask)

    class DriverApp(CoviewApp):
        def _on_ready_hook(self, app: CoviewApp) -> None:
            if questions:
                self.ask(questions.pop(0))

        def on_ask_done(self, event: AskDone) -> None:
            session = self._session
            print(f"ANSWERED {self.answered_turns} {session.path if session else '-'}", flush=True)
            if questions:
                self.ask(questions.pop(0))

    app = DriverApp(args.store, settings=load_settings(), pipeline_factory=factory)
    app._on_ready = app._on_ready_hook
    if args.headless:
        w, h = (int(x) for x in args.size.split("x"))
        app.run(headless=True, size=(w, h))
    else:
        app.run()


if __name__ == "__main__":
    main()
