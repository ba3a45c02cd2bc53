"""The `coview` command line: the TUI by default, plus ingest, schema, simulate, ask, eval,
sessions, review and export.

Imports are deferred into each command so `coview --version` and `coview ask` start fast and
the TUI's dependencies load only when the TUI opens.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from coview import __version__
from coview.store.safetext import clean, clean_json

app = typer.Typer(
    name="coview",
    help="Review performance-simulator sweeps: Pareto plots, operator breakdowns and grounded answers.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        help="DuckDB store file (default: $COVIEW_STORE, else the bundled sample data).",
        show_default=False,
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        help="offline | gemini | openai (default: config, else gemini if a key is set, else offline).",
        show_default=False,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url", help="OpenAI-compatible server URL (openai backend).", show_default=False
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model", help="Model name for the gemini or openai backend.", show_default=False
    ),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error that says what is wrong and what to do, and exit non-zero."""
    typer.echo(f"coview: error: {clean(message)}", err=True)
    return typer.Exit(code)


def _settings(backend: str | None, base_url: str | None = None, model: str | None = None):
    from coview.config import load_settings

    try:
        s = load_settings()
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if backend:
        s.backend = backend
    if base_url:
        s.openai_base_url = base_url
    if model:
        if (backend or s.default_backend) == "gemini":
            s.gemini_model = model
        else:
            s.openai_model = model
    return s


def _store(store: Path | None, must_exist: bool = True) -> Path:
    from coview.store.db import resolve_store

    try:
        path = resolve_store(store)
    except Exception as exc:  # building the sample store can fail on a broken install
        raise fail(f"cannot prepare the store: {exc}") from exc
    if must_exist and not path.exists():
        raise fail(
            f"no store at {path}. Create one with `coview ingest DATA --store {path}`, "
            "or leave out --store to use the bundled sample data."
        )
    return path


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coview {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def main_callback(
    ctx: typer.Context,
    store: StoreOpt = None,
    backend: BackendOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """With no command, open the TUI on the store."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(backend, base_url, model)
    path = _store(store)
    from coview.tui.app import run_app

    run_app(path, settings=settings)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to load.")],
    store: StoreOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="native | llm-analysis")] = "native",
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a sweep that is already in the store.")
    ] = False,
    sweep_name: Annotated[
        str | None,
        typer.Option(
            "--sweep",
            help="Sweep id: names the sweep for formats that carry none (llm-analysis), or renames a native sweep.",
        ),
    ] = None,
) -> None:
    """Load simulator output into the store, in one transaction: all or nothing."""
    from coview.store.db import ENV_STORE
    from coview.store.ingest import IngestError
    from coview.store.ingest import ingest as do_ingest

    target = store or (Path(os.environ[ENV_STORE]) if os.environ.get(ENV_STORE) else None)
    if target is None:
        raise fail("name the store to write: --store FILE (or set COVIEW_STORE).")
    try:
        report = do_ingest(
            list(paths), target, fmt=fmt, replace=replace, progress=True, sweep_id=sweep_name
        )
    except IngestError as exc:
        typer.echo(f"coview: ingest failed, the store is unchanged.\n{clean(exc)}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(clean(report.summary()))


@app.command()
def schema(store: StoreOpt = None) -> None:
    """Print the schema documentation (from the database's own comments) as Markdown."""
    import duckdb

    from coview.store.docs import render_markdown
    from coview.store.schema import create_schema

    if store is None and not os.environ.get("COVIEW_STORE"):
        con = duckdb.connect()  # the documentation is the same in every store: skip the build
        create_schema(con)
    else:
        from coview.store.db import connect

        con = connect(_store(store), read_only=True)
    typer.echo(clean(render_markdown(con)))


@app.command()
def simulate(
    spec: Annotated[Path, typer.Argument(help="Sweep spec (TOML); see sample_data/*/spec.toml.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the native Parquet files.")],
) -> None:
    """Run the built-in roofline model over a sweep spec and write native Parquet files."""
    from coview.sim.sweep import SpecError
    from coview.sim.sweep import simulate as run_sim

    try:
        summary = run_sim(spec, out)
    except SpecError as exc:
        raise fail(str(exc)) from exc
    typer.echo(summary)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question about the data, in plain English.")],
    store: StoreOpt = None,
    backend: BackendOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the JSON contract object.")
    ] = False,
    show_sql: Annotated[bool, typer.Option("--show-sql", help="Show the SQL that ran.")] = False,
) -> None:
    """Answer one question from the data, or refuse when the data cannot answer it."""
    from coview.engine.pipeline import Pipeline

    settings = _settings(backend, base_url, model)
    path = _store(store)
    try:
        pipeline = Pipeline(path, settings=settings)
        result = pipeline.ask(question)
    except ValueError as exc:
        if as_json:
            _echo_json_error(question, settings, exc)
        raise fail(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - `--json` always prints one JSON object
        if not as_json:
            raise
        _echo_json_error(question, settings, exc)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(clean_json(result.to_json()), indent=2, default=str))
    else:
        from coview.engine.report import render_result

        typer.echo(clean(render_result(result, show_sql=show_sql)))
    if result.status == "error":
        raise typer.Exit(1)


def _echo_json_error(question: str, settings, exc: BaseException) -> None:
    """The `ask --json` object for a failure outside the pipeline (a bad store, a bug)."""
    from coview.engine.types import AskResult

    message = f"{type(exc).__name__}: {exc}" if not str(exc) else str(exc)
    result = AskResult(
        question=question,
        status="error",
        answer=f"coview could not answer: {message[:2000]}",
        backend=str(getattr(settings, "default_backend", "") or ""),
        reason="internal",
    )
    typer.echo(json.dumps(clean_json(result.to_json()), indent=2, default=str))


@app.command("eval")
def eval_cmd(
    questions: Annotated[Path, typer.Argument(help="Question file (YAML or JSON).")],
    store: StoreOpt = None,
    backend: BackendOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Grade the pipeline on a question set: VIEW-style table and reliability scores."""
    from coview.engine.eval import EvalError, run_eval_cli

    settings = _settings(backend, base_url, model)
    # With neither --store nor COVIEW_STORE, the question file's own `store:` hint decides.
    path = _store(store) if store or os.environ.get("COVIEW_STORE") else None
    try:
        code = run_eval_cli(questions, path, settings, as_json=as_json)
    except EvalError as exc:
        raise fail(str(exc)) from exc
    raise typer.Exit(code)


@app.command()
def sessions() -> None:
    """List saved sessions."""
    from coview.store.sessions import list_sessions_text

    typer.echo(clean(list_sessions_text()))


@app.command()
def review(
    session: Annotated[str, typer.Argument(help="Session id or file (see `coview sessions`).")],
) -> None:
    """Open a saved session read-only in the TUI: no model, no network."""
    from coview.store.sessions import SessionError, load_session
    from coview.tui.app import run_review

    try:
        saved = load_session(session)
    except SessionError as exc:
        raise fail(str(exc)) from exc
    run_review(saved)


@app.command()
def export(
    session: Annotated[str, typer.Argument(help="Session id or file (see `coview sessions`).")],
    fmt: Annotated[str, typer.Option("--format", help="md")] = "md",
    out: Annotated[
        Path | None, typer.Option("--out", help="Output file (default: stdout).")
    ] = None,
) -> None:
    """Write a session as a Markdown report, plots included as text."""
    from coview.store.sessions import SessionError, export_markdown, load_session

    if fmt != "md":
        raise fail(f"unknown export format {fmt!r}; use --format md.")
    try:
        text = clean(export_markdown(load_session(session)))
    except SessionError as exc:
        raise fail(str(exc)) from exc
    if out:
        out.write_text(text)
        typer.echo(f"wrote {out}")
    else:
        sys.stdout.write(text)


def main() -> None:
    """Entry point of the `coview` script."""
    app()


if __name__ == "__main__":
    main()
