"""The `coview` command line: the TUI by default, plus ingest, schema, simulate, whatif, ask,
eval, sessions, review, export, lint, insights and why.

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


class _PlainCoercion:
    """Converts a str, int, float, Path or bool parameter (or a list of them) without pydantic.

    typer 0.29 builds a pydantic TypeAdapter for every parameter on every run; importing
    pydantic and building them costs more than the rest of `coview --version`. Parameters
    with a parser, a range, path checks or other types keep typer's own coercion.
    """

    TYPES = (str, int, float, Path, bool)
    PLAIN = {
        "parser": None,
        "click_type": None,
        "min": None,
        "max": None,
        "exists": False,
        "file_okay": True,
        "dir_okay": True,
        "writable": False,
        "readable": True,
        "resolve_path": False,
        "allow_dash": False,
        "path_type": None,
    }

    def __init__(self, convert, many: bool) -> None:
        self.convert = self._bool if convert is bool else convert
        self.many = many

    @staticmethod
    def _bool(value) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on", "y", "t"):
            return True
        if text in ("0", "false", "no", "off", "n", "f"):
            return False
        raise ValueError(value)

    @classmethod
    def install(cls, params) -> None:
        for param in params:
            desc = getattr(param, "type_descriptor", None)
            if desc is None or getattr(param, "_runtime_param", "unset") is not None:
                continue  # not a typer parameter, or a typer whose internals differ
            info, ann, many = desc.parameter_info, desc.annotation, False
            if any(getattr(info, k, v) != v for k, v in cls.PLAIN.items()):
                continue
            if getattr(ann, "__origin__", None) is list and len(ann.__args__) == 1:
                ann, many = ann.__args__[0], True
            if ann in cls.TYPES and getattr(desc, "file_annotation", None) is None:
                param._runtime_param = cls(ann, many)

    def coerce(self, value, param, ctx):
        if value is None:
            return () if self.many else None
        try:
            return [self.convert(v) for v in value] if self.many else self.convert(value)
        except (TypeError, ValueError) as exc:
            name = self.convert.__name__.strip("_")
            raise typer.BadParameter(f"{value!r} is not a valid {name}.", ctx, param) from exc


class CoviewCommand(typer.core.TyperCommand):
    """A command whose usage line and Arguments section name arguments the classic way
    (`coview ingest [OPTIONS] PATH...`) instead of typer's `{paths}...` and `<list[Path]>`."""

    def parse_args(self, ctx, args):
        _PlainCoercion.install(self.get_params(ctx))
        return super().parse_args(ctx, args)

    @staticmethod
    def _arg_label(param) -> str:
        label = param.metavar or param.name.upper()
        return f"{label}..." if param.nargs != 1 else label

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                label = self._arg_label(param)
                pieces.append(label if param.required else f"[{label}]")
        return pieces

    def format_options(self, ctx, formatter) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            if param.param_type_name == "option" and param.metavar is None:
                # `--out OUT`, not typer's `--out <path>`; only for this help text
                param.metavar = param.name.upper()
                record = param.get_help_record(ctx)
                param.metavar = None
            else:
                record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                args.append((self._arg_label(param), record[1]))
            else:
                opts.append(record)
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        if opts:
            with formatter.section("Options"):
                formatter.write_dl(opts)


class CoviewGroup(typer.core.TyperGroup):
    """The top-level group: a StoreError raised anywhere below becomes one line and exit 2."""

    def parse_args(self, ctx, args):
        _PlainCoercion.install(self.get_params(ctx))
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        ctx.meta["coview.command_args"] = list(ctx.args)  # typer clears them before the callback
        try:
            return super().invoke(ctx)
        except Exception as exc:
            db = sys.modules.get("coview.store.db")  # loaded if anything raised its StoreError
            if db is not None and isinstance(exc, db.StoreError):
                raise fail(_one_line(str(exc))) from exc
            raise


class CoviewTyper(typer.Typer):
    """typer.Typer whose commands default to CoviewCommand, so new commands get it too."""

    def command(self, name: str | None = None, *, cls=None, **kwargs):
        return super().command(name, cls=cls or CoviewCommand, **kwargs)


app = CoviewTyper(
    name="coview",
    cls=CoviewGroup,
    help="Review performance-simulator sweeps: Pareto plots, operator breakdowns and grounded answers.",
    no_args_is_help=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        "--store",
        metavar="FILE",
        help="DuckDB store file (default: $COVIEW_STORE, else the bundled sample data).",
        show_default=False,
    ),
]
BackendOpt = Annotated[
    str | None,
    typer.Option(
        "--backend",
        metavar="NAME",
        help="offline | gemini | openai (default: config, else gemini if a key is set, else offline).",
        show_default=False,
    ),
]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="OpenAI-compatible server URL (openai backend).",
        show_default=False,
    ),
]
ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        metavar="NAME",
        help="Model name for the gemini or openai backend.",
        show_default=False,
    ),
]
# The options `coview [OPTIONS] COMMAND` accepts before the command, by parameter name; each
# is handed to the command's own option of that name, or refused if the command has none.
GLOBAL_OPTIONS = {
    "store": "--store",
    "backend": "--backend",
    "base_url": "--base-url",
    "model": "--model",
}


def _one_line(text: str) -> str:
    """First line of an error, without control characters (store text is hostile)."""
    line = (text.strip().splitlines() or [""])[0]
    return "".join(ch if ch.isprintable() else "?" for ch in line)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error that says what is wrong and what to do, and exit non-zero."""
    typer.echo(f"coview: error: {clean(message)}", err=True)
    return typer.Exit(code)


def _check_backend(backend: str | None) -> None:
    """Refuse an unknown --backend here, before any store or model is touched."""
    if backend is None:
        return
    from coview.engine.pipeline import BACKENDS

    if backend not in BACKENDS:
        raise fail(
            f"unknown backend {backend!r}; use --backend with one of: {', '.join(BACKENDS)}."
        )


def _settings(backend: str | None, base_url: str | None = None, model: str | None = None):
    from coview.config import load_settings

    _check_backend(backend)
    try:
        s = load_settings()
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if s.backend and not backend:
        _check_backend(s.backend)  # from the config file or COVIEW_BACKEND
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


def _store(store: Path | None, must_exist: bool = True, need_data: bool = True) -> Path:
    """The store to read: --store, else COVIEW_STORE, else the sample; checked to be a coview
    store (holding configs, unless `need_data` is False), so a wrong file is one line and
    exit 2, not a traceback or a meaningless answer from deep inside."""
    from coview.store.db import StoreError, check_store, resolve_store

    try:
        path = resolve_store(store)
    except Exception as exc:  # building the sample store can fail on a broken install
        raise fail(f"cannot prepare the store: {_one_line(str(exc))}") from exc
    if not must_exist and not path.exists():
        return path
    try:
        return check_store(path, need_data=need_data)
    except StoreError as exc:
        raise fail(_one_line(str(exc))) from exc


def _use_theme(settings) -> None:
    """Apply the config's `theme` to the TUI about to start, or refuse an unknown one.

    Textual reads TEXTUAL_THEME when it is first imported, so this runs before the TUI's
    import; a TEXTUAL_THEME the user set themselves wins over the config.
    """
    if not settings.theme:
        return
    os.environ.setdefault("TEXTUAL_THEME", settings.theme)
    from textual.theme import BUILTIN_THEMES

    if settings.theme not in BUILTIN_THEMES:
        where = f" in {settings.path}" if settings.path and settings.path.exists() else ""
        raise fail(
            f"unknown theme {settings.theme!r}{where}; use one of: {', '.join(sorted(BUILTIN_THEMES))}."
        )


def _pass_global_options(ctx: typer.Context) -> None:
    """Hand options given before the command (`coview --store X ask ...`) to the command.

    They become defaults of the command's own option of the same name (Click's default_map),
    so every command that takes --store honours `coview --store X CMD`. An option the command
    does not take, or one given both before and after the command, is refused: never accepted
    and then ignored.
    """
    given = {k: ctx.params.get(k) for k in GLOBAL_OPTIONS if ctx.params.get(k) is not None}
    if not given:
        return
    name = ctx.invoked_subcommand
    command = ctx.command.get_command(ctx, name) if name else None
    if command is None:
        return  # Click reports the unknown command itself
    own = {p.name for p in command.params}
    rest = ctx.meta.get("coview.command_args", [])
    rest = rest[: rest.index("--")] if "--" in rest else rest
    for key in given:
        flag = GLOBAL_OPTIONS[key]
        if key not in own:
            raise fail(f"{flag} does not apply to `coview {name}`; see `coview {name} --help`.")
        if any(a == flag or a.startswith(flag + "=") for a in rest):
            raise fail(f"{flag} is given both before and after `{name}`; give it once.")
    if "backend" in given:
        _check_backend(given["backend"])
    defaults = dict(ctx.default_map or {})
    defaults[name] = {**defaults.get(name, {}), **given}
    ctx.default_map = defaults


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
        _pass_global_options(ctx)
        return
    settings = _settings(backend, base_url, model)
    path = _store(store)
    _use_theme(settings)
    from coview.tui.app import run_app

    run_app(path, settings=settings)


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Files or directories to load.")
    ],
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            metavar="FILE",
            help="DuckDB store file to write, created if missing (default: $COVIEW_STORE; "
            "one of the two is required).",
            show_default=False,
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", metavar="FORMAT", help="native | llm-analysis | genz | aiconfigurator"
        ),
    ] = "native",
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a sweep that is already in the store.")
    ] = False,
    sweep_name: Annotated[
        str | None,
        typer.Option(
            "--sweep",
            metavar="ID",
            help="Sweep id: names the sweep for formats that carry none (llm-analysis), or renames a native sweep.",
        ),
    ] = None,
    tco: Annotated[
        list[str] | None,
        typer.Option(
            "--tco",
            help="SYSTEM=USD_PER_CHIP_HOUR for formats without TCO (genz, aiconfigurator); repeatable.",
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
    options = {"tco": _parse_tco(tco)} if tco else None
    if target.exists() and not target.is_dir():  # never add coview's tables to another database
        from coview.store.db import StoreError, check_store

        try:
            check_store(target, allow_blank=True)
        except StoreError as exc:
            raise fail(_one_line(str(exc))) from exc
    try:
        report = do_ingest(
            list(paths),
            target,
            fmt=fmt,
            replace=replace,
            progress=True,
            sweep_id=sweep_name,
            options=options,
        )
    except IngestError as exc:
        typer.echo(f"coview: ingest failed, the store is unchanged.\n{clean(exc)}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(clean(report.summary()))


def _parse_tco(items: list[str]) -> dict[str, float]:
    """--tco SYSTEM=USD_PER_CHIP_HOUR values as a dict; a clear error for a malformed one."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            price = float(value)
        except ValueError:
            price = float("nan")
        if not sep or not name.strip() or not price > 0:
            raise fail(f"--tco {item!r}: write SYSTEM=USD_PER_CHIP_HOUR, e.g. --tco H100=2.5.")
        out[name.strip()] = price
    return out


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

        con = connect(_store(store, need_data=False), read_only=True)  # docs need no rows
    typer.echo(clean(render_markdown(con)))


@app.command()
def simulate(
    spec: Annotated[Path, typer.Argument(help="Sweep spec (TOML); see sample_data/*/spec.toml.")],
    out: Annotated[
        Path, typer.Option("--out", metavar="DIR", help="Directory for the native Parquet files.")
    ],
    engine: Annotated[
        str,
        typer.Option("--engine", help="builtin (coview's roofline) | genz (needs coview[genz])"),
    ] = "builtin",
) -> None:
    """Run the built-in roofline model (or GenZ) over a sweep spec and write native Parquet files."""
    from coview.sim.sweep import SpecError
    from coview.sim.sweep import simulate as run_sim

    if engine not in ("builtin", "genz"):
        raise fail(f"unknown engine {engine!r}; use --engine builtin or --engine genz.")
    try:
        if engine == "genz":
            from coview.sim.genz_engine import GenZUnavailable, simulate_genz

            def _progress(done: int, total: int) -> None:
                if done == total or done % 50 == 0:
                    end = "\n" if done == total else "\r"
                    sys.stderr.write(f"GenZ: {done}/{total} configs{end}")
                    sys.stderr.flush()

            try:
                summary = simulate_genz(spec, out, progress=_progress)
            except GenZUnavailable as exc:
                raise fail(str(exc)) from exc
        else:
            summary = run_sim(spec, out)
    except SpecError as exc:
        raise fail(str(exc)) from exc
    typer.echo(summary)


def _session_for_ask(name: str | None, store: Path | None):
    """(writer, history) for `ask --session NAME`: an existing session's turns, or (None, [])."""
    if not name:
        return None, []
    from coview.engine.types import Turn
    from coview.store.sessions import SESSION_NAME, SessionError, SessionWriter, sessions_dir

    if not SESSION_NAME.fullmatch(name):
        raise fail(
            f"{name!r} is not a usable session name: use 1-64 letters, digits, '.', '_' or '-'."
        )
    path = sessions_dir() / f"{name}.jsonl"
    if not path.exists():
        return None, []
    try:
        writer = SessionWriter.reopen(path)
    except SessionError as exc:
        raise fail(str(exc)) from exc
    if store is not None and Path(store).expanduser().resolve() != writer.store_path:
        raise fail(
            f"session {name!r} was made against {writer.store_path}, not {store}; "
            "leave out --store to continue it, or start a new session."
        )
    from coview.store.sessions import load_session

    turns = load_session(str(path)).turns
    history = [
        Turn(str(t.get("question", "")), str(t.get("answer", "")), list(t.get("sql") or []))
        for t in turns
    ]
    return writer, history


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
    session: Annotated[
        str | None,
        typer.Option(
            "--session",
            metavar="NAME",
            help="Start or continue the saved session NAME: its earlier turns are the "
            "conversation, and this turn is saved (review and export it like a TUI session).",
        ),
    ] = None,
) -> None:
    """Answer one question from the data, or refuse when the data cannot answer it."""
    from coview.store.db import keep_open

    settings = _settings(backend, base_url, model)
    with keep_open():  # the store's checks, lexicon and catalog share one DuckDB instance
        _ask(question, store, settings, as_json, show_sql, session)


def _ask(
    question: str,
    store: Path | None,
    settings,
    as_json: bool,
    show_sql: bool,
    session: str | None,
) -> None:
    """The body of `coview ask`, run while its store is held open."""
    from coview.engine.pipeline import Pipeline
    from coview.engine.types import Context

    writer, history = _session_for_ask(session, store)
    path = _store(store) if writer is None or store is not None else writer.store_path
    if writer is None and session:
        from coview.store.sessions import SessionError, SessionWriter

        try:
            writer = SessionWriter.create(path, settings.backend or "offline", name=session)
        except SessionError as exc:
            raise fail(str(exc)) from exc
    try:
        pipeline = Pipeline(path, settings=settings)
        try:
            result = pipeline.ask(question, history=history, context=Context())
        finally:
            pipeline.close()
        if writer is not None:
            writer.append_turn(result, Context())
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
    questions: Annotated[
        Path | None,
        typer.Argument(
            metavar="QUESTIONS",
            help="Question file (YAML or JSON); or --sample NAME for a bundled set.",
            show_default=False,
        ),
    ] = None,
    store: StoreOpt = None,
    backend: BackendOpt = None,
    base_url: BaseUrlOpt = None,
    model: ModelOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    sample: Annotated[
        str | None,
        typer.Option(
            "--sample",
            metavar="NAME",
            help="A bundled question set by name (listed by `coview samples`).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Grade the pipeline on a question set: VIEW-style table and reliability scores."""
    from coview.engine.eval import EvalError, run_eval_cli

    questions = _question_file(questions, sample)
    settings = _settings(backend, base_url, model)
    # With neither --store nor COVIEW_STORE, the question file's own `store:` hint decides.
    path = _store(store) if store or os.environ.get("COVIEW_STORE") else None
    try:
        code = run_eval_cli(questions, path, settings, as_json=as_json)
    except EvalError as exc:
        raise fail(str(exc)) from exc
    raise typer.Exit(code)


def _sample_question_sets() -> dict[str, Path]:
    from coview.sample_data import SAMPLE_DIR

    qdir = SAMPLE_DIR / "questions"
    return {p.stem: p for p in sorted(qdir.glob("*.yaml"))}


def _question_file(questions: Path | None, sample: str | None) -> Path:
    """The question file named by QUESTIONS or by --sample NAME (exactly one of the two)."""
    if questions is not None and sample is not None:
        raise fail("give a question file or --sample NAME, not both.")
    if questions is None and sample is None:
        raise fail(
            "name a question file, or a bundled set with --sample NAME "
            f"({', '.join(_sample_question_sets())})."
        )
    if sample is None:
        return questions
    sets = _sample_question_sets()
    if sample not in sets:
        raise fail(f"no bundled question set {sample!r}; there are: {', '.join(sets)}.")
    return sets[sample]


@app.command()
def samples() -> None:
    """Where the bundled sample data lives: sweeps to ingest and question sets for eval."""
    from coview.sample_data import DEFAULT_SWEEP, SAMPLE_DIR

    typer.echo(f"Bundled sample data: {SAMPLE_DIR}")
    typer.echo("\nSweeps (coview ingest DIR --store FILE [--format FORMAT]):")
    for d in sorted(p for p in SAMPLE_DIR.iterdir() if p.is_dir() and p.name != "questions"):
        if d.name.startswith(("_", ".")):
            continue
        fmt = "native" if (d / "configs.parquet").exists() else d.name
        note = "  (the default store)" if d == DEFAULT_SWEEP else ""
        typer.echo(f"  {d.name:<20} --format {fmt:<13} {d}{note}")
    typer.echo("\nQuestion sets (coview eval --sample NAME):")
    for name, path in _sample_question_sets().items():
        typer.echo(f"  {name:<20} {path}")


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
    from coview.config import load_settings
    from coview.store.sessions import SessionError, load_session

    try:
        saved = load_session(session)
        _use_theme(load_settings())
    except (SessionError, ValueError) as exc:
        raise fail(str(exc)) from exc
    from coview.tui.app import run_review

    run_review(saved)


@app.command()
def export(
    session: Annotated[str, typer.Argument(help="Session id or file (see `coview sessions`).")],
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT", help="md")] = "md",
    out: Annotated[
        Path | None, typer.Option("--out", metavar="FILE", help="Output file (default: stdout).")
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


def _open_analysis(store: Path | None):
    """The store opened read-only for lint/insights, or a clear error."""
    from coview.engine.analysis import open_read_only
    from coview.store.db import StoreError, keep_open

    try:
        with keep_open():  # the check's DuckDB instance is the one returned (~25 ms saved)
            return open_read_only(_store(store))
    except StoreError as exc:
        raise fail(str(exc)) from exc


@app.command()
def lint(
    store: StoreOpt = None,
    sweep: Annotated[
        str | None, typer.Option("--sweep", help="Check one sweep (sweep_id) only.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    show_sql: Annotated[
        bool, typer.Option("--show-sql", help="Show the SQL of each finding.")
    ] = False,
) -> None:
    """Check the data: non-comparable systems, roofline contradictions, impossible speeds,
    utilisation above 100%, Pareto flags. Exit 1 when it finds problems, 0 when clean."""
    from coview.engine.lint import lint_store, render_text

    con = _open_analysis(store)
    try:
        if sweep is not None:
            known = [r[0] for r in con.execute("SELECT sweep_id FROM sweeps ORDER BY 1").fetchall()]
            if sweep not in known:
                from coview.engine.analysis import clean_text

                raise fail(
                    f"no sweep {clean_text(sweep)!r} in the store; sweeps: "
                    + ", ".join(clean_text(k) for k in known)
                    + "."
                )
        findings = lint_store(con, sweep_id=sweep)
    finally:
        con.close()
    if as_json:
        typer.echo(json.dumps({"findings": [f.to_json() for f in findings]}, indent=2, default=str))
    else:
        typer.echo(render_text(findings, show_sql=show_sql))
    raise typer.Exit(1 if findings else 0)


@app.command()
def insights(
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Show at most this many findings.", min=1)
    ] = None,
    show_sql: Annotated[
        bool, typer.Option("--show-sql", help="Show the SQL of each finding.")
    ] = False,
) -> None:
    """Ranked findings nobody asked for, each with its SQL, evidence rows and a follow-up
    question for `coview ask`; lint findings first."""
    from coview.engine.insights import insights as find
    from coview.engine.insights import render_text

    con = _open_analysis(store)
    try:
        findings = find(con, limit=limit)
    finally:
        con.close()
    if as_json:
        typer.echo(json.dumps({"findings": [f.to_json() for f in findings]}, indent=2, default=str))
    else:
        typer.echo(render_text(findings, show_sql=show_sql))


why_app = typer.Typer(
    help="Stage 2, why: decompose a difference or a config from the rows (SQL and rows in --json).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(why_app, name="why")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print the explanation as JSON.")]
ShowSqlOpt = Annotated[bool, typer.Option("--show-sql", help="Show the SQL that ran.")]
WhatOpt = Annotated[
    str, typer.Option("--what", help="latency | operator (with --op) | memory | cost")
]
OpOpt = Annotated[str | None, typer.Option("--op", help="Operator type, e.g. q_proj.")]
PhaseOpt = Annotated[str | None, typer.Option("--phase", help="prefill | decode")]
BatchOpt = Annotated[int | None, typer.Option("--batch", help="Batch size.")]
TpOpt = Annotated[int | None, typer.Option("--tp", help="Tensor-parallel degree.")]
DtypeOpt = Annotated[str | None, typer.Option("--dtype", help="Weight dtype, e.g. bf16.")]
SweepOpt = Annotated[str | None, typer.Option("--sweep", help="Sweep id.")]


def _why_run(store: Path | None, as_json: bool, show_sql: bool, call) -> None:
    """Run one why-analysis on a read-only connection and print it (clear errors, exit 2)."""
    from coview.engine.analysis import AnalysisError, clean_text

    con = _open_analysis(store)
    try:
        exp = call(con)
    except AnalysisError as exc:
        raise fail(str(exc)) from exc
    finally:
        con.close()
    if as_json:
        typer.echo(json.dumps(exp.to_json(), indent=2, default=str))
        return
    out = exp.to_json()
    lines = [out["summary"]]
    lines += [f"Lint: {w['title']}. {w['detail']}" for w in out["warnings"]]
    if show_sql:
        lines += [f"SQL: {q}" for q in out["sql"]]
    typer.echo("\n".join(clean_text(x) for x in lines))


@why_app.command("systems")
def why_systems(
    system_a: Annotated[str, typer.Argument(help="System id or name.")],
    system_b: Annotated[str, typer.Argument(help="System id or name.")],
    what: WhatOpt = "latency",
    op: OpOpt = None,
    phase: PhaseOpt = None,
    batch: BatchOpt = None,
    tp: TpOpt = None,
    dtype: DtypeOpt = None,
    sweep: SweepOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    show_sql: ShowSqlOpt = False,
) -> None:
    """Why two systems differ, at the matched config where they differ most (or the one the
    options pin down)."""
    from coview.engine.why import explain_systems

    _why_run(
        store,
        as_json,
        show_sql,
        lambda con: explain_systems(
            con,
            system_a,
            system_b,
            what,
            op,
            sweep_id=sweep,
            phase=phase,
            batch_size=batch,
            tp=tp,
            dtype=dtype,
        ),
    )


@why_app.command("configs")
def why_configs(
    config_a: Annotated[int, typer.Argument(help="config_id")],
    config_b: Annotated[int, typer.Argument(help="config_id")],
    what: WhatOpt = "latency",
    op: OpOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    show_sql: ShowSqlOpt = False,
) -> None:
    """Why two configs differ: operators, compute/memory/comm, SRAM, dtype, TP, batch."""
    from coview.engine.why import explain_difference

    _why_run(
        store, as_json, show_sql, lambda con: explain_difference(con, config_a, config_b, what, op)
    )


@why_app.command("matched")
def why_matched(
    system_a: Annotated[str, typer.Argument(help="System id or name.")],
    system_b: Annotated[str, typer.Argument(help="System id or name.")],
    metric: Annotated[
        str, typer.Option("--metric", help="configs column, e.g. latency_s.")
    ] = "latency_s",
    phase: PhaseOpt = None,
    batch: BatchOpt = None,
    tp: TpOpt = None,
    dtype: DtypeOpt = None,
    sweep: SweepOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    show_sql: ShowSqlOpt = False,
) -> None:
    """A metric across every matched config pair of two systems (better in N of M, by up to X%)."""
    from coview.engine.why import compare_systems

    _why_run(
        store,
        as_json,
        show_sql,
        lambda con: compare_systems(
            con,
            system_a,
            system_b,
            metric,
            sweep_id=sweep,
            phase=phase,
            batch_size=batch,
            tp=tp,
            dtype=dtype,
        ),
    )


@why_app.command("bottlenecks")
def why_bottlenecks(
    config_id: Annotated[int, typer.Argument(help="config_id")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    show_sql: ShowSqlOpt = False,
) -> None:
    """Where one config's step time goes, by operator and by bound."""
    from coview.engine.why import bottlenecks

    _why_run(store, as_json, show_sql, lambda con: bottlenecks(con, config_id))


@why_app.command("collectives")
def why_collectives(
    config_id: Annotated[int, typer.Argument(help="config_id")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    show_sql: ShowSqlOpt = False,
) -> None:
    """Which collectives one config runs, after which operators and how many per step."""
    from coview.engine.why import collectives

    _why_run(store, as_json, show_sql, lambda con: collectives(con, config_id))


@why_app.command("flops")
def why_flops(
    config_id: Annotated[int, typer.Argument(help="config_id")],
    by: Annotated[str, typer.Option("--by", help="op_type | op_class")] = "op_type",
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    show_sql: ShowSqlOpt = False,
) -> None:
    """FLOPs share against time share, and the least efficient operators (utilisation)."""
    from coview.engine.why import flops_vs_time

    _why_run(store, as_json, show_sql, lambda con: flops_vs_time(con, config_id, by))


@why_app.command("unmodelled")
def why_unmodelled(
    sweep: SweepOpt = None,
    store: StoreOpt = None,
    as_json: JsonOpt = False,
    show_sql: ShowSqlOpt = False,
) -> None:
    """Standard decoder-layer operators the sweep does not model (reference list: outside
    knowledge, not data)."""
    from coview.engine.why import unmodelled_operators

    _why_run(store, as_json, show_sql, lambda con: unmodelled_operators(con, sweep))


@app.command("whatif")
def whatif_cmd(
    system: Annotated[str, typer.Option("--system", help="System to re-simulate (name or id).")],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="PARAM=VALUE, PARAM=*FACTOR or PARAM=+DELTA, e.g. sram_bytes=*1.07, "
            "hbm_bw_bytes_per_s=3.2e12, dtype=fp8, tp=8 (repeatable).",
        ),
    ] = None,
    search_param: Annotated[
        str | None,
        typer.Option("--search", help="Find by bisection the value of this system figure..."),
    ] = None,
    match: Annotated[
        str | None, typer.Option("--match", help="...at which the system matches this one.")
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="...or at which METRIC<=VALUE holds, e.g. latency_s<=0.007."),
    ] = None,
    phase: Annotated[str | None, typer.Option("--phase", help="prefill | decode")] = None,
    batch: Annotated[int | None, typer.Option("--batch", help="Batch size.")] = None,
    tp: Annotated[int | None, typer.Option("--tp", help="Tensor-parallel degree.")] = None,
    dtype: Annotated[str | None, typer.Option("--dtype", help="Weight dtype.")] = None,
    sweep: Annotated[str | None, typer.Option("--sweep", help="Sweep id.")] = None,
    store: StoreOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Re-simulate a system's configs with a change (coview's own sweeps), or search for the
    value of a system figure that meets a target, and show baseline and what-if side by side."""
    import re

    from coview.engine.whatif import (
        WhatIfError,
        parse_change,
        render_search,
        render_whatif,
        search,
        whatif,
    )

    filters = {"phase": phase, "batch_size": batch, "tp": tp, "weight_dtype": dtype}
    path = _store(store)
    try:
        if search_param:
            goal = None
            if target:
                m = re.fullmatch(r"\s*(\w+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*", target)
                if not m:
                    raise WhatIfError(
                        f"--target {target!r}: write METRIC<=VALUE, e.g. latency_s<=0.007"
                    )
                goal = (m.group(1), m.group(2), float(m.group(3)))
            result = search(path, system, search_param, target=goal, match_system=match,
                            filters=filters, sweep_id=sweep)  # fmt: skip
            text = render_search(result)
        else:
            if not set_:
                raise WhatIfError("give at least one --set PARAM=VALUE, or --search PARAM")
            changes = [parse_change(s) for s in set_]
            result = whatif(path, system, changes, filters=filters, sweep_id=sweep)
            text = render_whatif(result)
    except WhatIfError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
    else:
        typer.echo(text, nl=False)


@app.command("export-configs")
def export_configs_cmd(
    out: Annotated[Path, typer.Argument(metavar="FILE", help="Output file: .csv or .parquet.")],
    search: Annotated[
        str,
        typer.Option(
            "--filter",
            metavar="TEXT",
            help="The TUI's / search: bare words match names, col=value one column "
            "(e.g. 'xpu tp=8 batch=16').",
        ),
    ] = "",
    store: StoreOpt = None,
    sweep: Annotated[
        str | None,
        typer.Option(
            "--sweep",
            metavar="ID",
            help="Sweep id (default: the one the TUI opens; 'all': every sweep).",
        ),
    ] = None,
    systems: Annotated[
        list[str] | None,
        typer.Option("--system", metavar="NAME", help="System name or id; repeat for several."),
    ] = None,
    phase: Annotated[
        str | None, typer.Option("--phase", metavar="PHASE", help="prefill | decode")
    ] = None,
    dtype: Annotated[
        str | None, typer.Option("--dtype", metavar="DTYPE", help="Weight data type, e.g. bf16.")
    ] = None,
    pareto_only: Annotated[
        bool, typer.Option("--pareto-only", help="Only Pareto-optimal configs.")
    ] = False,
    sort: Annotated[
        str, typer.Option("--sort", metavar="COLUMN", help="Sort column, as in the table.")
    ] = "perf_per_tco",
    ascending: Annotated[bool, typer.Option("--asc", help="Sort ascending.")] = False,
    all_columns: Annotated[
        bool, typer.Option("--all-columns", help="Every configs column, not only the table's.")
    ] = False,
    fmt: Annotated[
        str | None,
        typer.Option("--format", metavar="FORMAT", help="csv | parquet (default: from FILE)."),
    ] = None,
) -> None:
    """Export the configs table under a filter to CSV or Parquet, sorted as the table is."""
    from coview.store.browse import Browser, Filters, SearchError
    from coview.store.export import ExportError, export_configs, match_systems

    browser = Browser(_store(store))
    try:
        summary = browser.summary()
        if sweep is None:
            sweep_id = summary.sweep_id
        elif sweep == "all":
            sweep_id = None
        elif sweep in {s for s, _ in summary.sweeps}:
            sweep_id = sweep
        else:
            known = ", ".join(s for s, _ in summary.sweeps) or "none"
            raise fail(f"no sweep {sweep!r} in the store; it has: {known} (or use --sweep all).")
        system_ids = match_systems(browser, systems) if systems else None
        filters = Filters(
            sweep_id=sweep_id,
            systems=tuple(system_ids) if system_ids is not None else None,
            phase=phase,
            dtype=dtype,
            search=search,
            pareto_only=pareto_only,
        )
        result = export_configs(
            browser,
            filters,
            out,
            fmt=fmt,
            sort=sort,
            descending=not ascending,
            all_columns=all_columns,
        )
    except (SearchError, ExportError) as exc:
        raise fail(str(exc)) from exc
    finally:
        browser.close()
    typer.echo(result.summary())
    if result.rows == 0:
        typer.echo(
            "coview: note: no configs match these filters; the file has only a header.", err=True
        )


def _command_name(info) -> str:
    """The name typer gives a registered command or sub-app."""
    from typer.main import get_command_name

    if getattr(info, "typer_instance", None) is not None:  # a sub-app (`why`)
        return info.name or info.typer_instance.info.name or ""
    return info.name or get_command_name(info.callback.__name__)


def app_for(args: list[str]) -> typer.Typer:
    """`app`, or for `coview [GLOBAL OPTIONS] COMMAND ...` a copy holding only COMMAND.

    typer builds the Click command of every registered command on each run (about a tenth of
    `coview ask`); only the one invoked is needed. Anything else (no command, an unknown one,
    --help or --version before it, an unknown option, shell completion) gets the full app,
    so help, errors and suggestions read exactly as before.
    """
    if any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return app
    takes_value = set(GLOBAL_OPTIONS.values())
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in takes_value:
            i += 2
        elif arg.split("=", 1)[0] in takes_value and "=" in arg:
            i += 1
        else:
            break
    if i >= len(args) or args[i].startswith("-"):
        return app
    name = args[i]
    import copy

    slim = copy.copy(app)
    slim.registered_commands = [c for c in app.registered_commands if _command_name(c) == name]
    slim.registered_groups = [g for g in app.registered_groups if _command_name(g) == name]
    if len(slim.registered_commands) + len(slim.registered_groups) != 1:
        return app
    return slim


def main() -> None:
    """Entry point of the `coview` script."""
    app_for(sys.argv[1:])()


if __name__ == "__main__":
    main()
