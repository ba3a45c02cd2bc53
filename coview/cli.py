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
    typer.echo(f"coview: error: {message}", err=True)
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
    fmt: Annotated[
        str, typer.Option("--format", help="native | llm-analysis | genz | aiconfigurator")
    ] = "native",
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
        typer.echo(f"coview: ingest failed, the store is unchanged.\n{exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(report.summary())


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

        con = connect(_store(store), read_only=True)
    typer.echo(render_markdown(con))


@app.command()
def simulate(
    spec: Annotated[Path, typer.Argument(help="Sweep spec (TOML); see sample_data/*/spec.toml.")],
    out: Annotated[Path, typer.Option("--out", help="Directory for the native Parquet files.")],
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
    except ValueError as exc:
        raise fail(str(exc)) from exc
    result = pipeline.ask(question)
    if as_json:
        typer.echo(json.dumps(result.to_json(), indent=2, default=str))
    else:
        from coview.engine.report import render_result

        typer.echo(render_result(result, show_sql=show_sql))
    if result.status == "error":
        raise typer.Exit(1)


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

    typer.echo(list_sessions_text())


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
        text = export_markdown(load_session(session))
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
    from coview.store.db import StoreError

    try:
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


def main() -> None:
    """Entry point of the `coview` script."""
    app()


if __name__ == "__main__":
    main()
