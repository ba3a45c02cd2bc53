"""Saved sessions: every answered turn written durably, reviewable offline, exportable.

One JSONL file per session in $COVIEW_SESSIONS_DIR (else <user data dir>/coview/sessions):
a header line, then one line per event, appended and fsync'ed as each turn completes, so a
crash or a dropped SSH connection loses nothing already answered. Event lines:

    {"type": "header", "format": "coview-session", "version": 1, "id", "created_at",
     "store_path", "store_fingerprint", "backend", "coview_version"}
    {"type": "turn", "n", "time", "question", "backend", "status", "answer", "sql",
     "columns", "rows", "rows_total", "rows_truncated", "evidence", "grounding", "reason",
     "suggestions", "elapsed_s", "context_config_id", "context_sweep_id"}
    {"type": "config", "config_id", "config": {...}, "operators": [...]}

A torn last line (a crash mid-write) is skipped with a warning on load, never fatal. Config
snapshots make review work offline even if the store changes or disappears later.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from coview.engine.types import AskResult, Context

ENV_SESSIONS = "COVIEW_SESSIONS_DIR"
FORMAT = "coview-session"
FORMAT_VERSION = 1
# Evidence rows kept per turn; the turn records how many there were in total.
ROW_CAP = 200
# Configs snapshotted automatically per turn (the context config plus evidence config_ids).
AUTO_CONFIGS_PER_TURN = 8
# Rows shown per evidence table in the Markdown export.
MD_ROW_CAP = 20


class SessionError(Exception):
    """A session cannot be found or read; the message says what to do."""


def sessions_dir() -> Path:
    """Where session files live: $COVIEW_SESSIONS_DIR, else the user data dir."""
    if env := os.environ.get(ENV_SESSIONS):
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("coview")) / "sessions"


def new_session_id(now: datetime | None = None) -> str:
    """A sortable id: UTC timestamp plus a short random suffix, e.g. 20261121-213501-a3f9."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def _utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _jsonable(value: Any) -> Any:
    from coview.engine.types import _jsonable as conv

    return conv(value)


# --------------------------------------------------------------------------- store access

_FINGERPRINT_SQL = [
    "SELECT sweep_id, CAST(ingested_at AS VARCHAR) FROM sweeps ORDER BY sweep_id",
    # configs is small (<= ~1M rows): counts and sums catch data regenerated in place.
    "SELECT COUNT(*), SUM(latency_s), SUM(perf_per_tco) FROM configs",
    "SELECT COUNT(*) FROM systems",
    # COUNT(*) reads no column data in DuckDB; milliseconds even at 10M rows.
    "SELECT COUNT(*) FROM operators",
]


def _run_queries(store_path: Path, queries: list[tuple[str, list]]) -> list[dict]:
    """Run trusted read-only queries; each result is {"columns": [...], "rows": [[...]]}.

    DuckDB refuses a second in-process connection to a file already open with a different
    configuration (e.g. the guarded runner's). Then the queries run in a child process,
    which can always open the file read-only.
    """
    import duckdb

    try:
        con = duckdb.connect(str(store_path), read_only=True)
    except duckdb.ConnectionException:
        return _run_queries_subprocess(store_path, queries)
    try:
        out = []
        for sql, params in queries:
            cur = con.execute(sql, params)
            cols = [d[0] for d in cur.description]
            out.append({"columns": cols, "rows": _jsonable(cur.fetchall())})
        return out
    finally:
        con.close()


def _run_queries_subprocess(store_path: Path, queries: list[tuple[str, list]]) -> list[dict]:
    code = (
        "import json,sys,duckdb\n"
        "from coview.engine.types import _jsonable\n"
        "a=json.load(sys.stdin);con=duckdb.connect(a['path'],read_only=True);out=[]\n"
        "for q,p in a['q']:\n"
        "  c=con.execute(q,p);out.append({'columns':[d[0] for d in c.description],"
        "'rows':_jsonable(c.fetchall())})\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps({"path": str(store_path), "q": queries}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0:
        raise SessionError(f"cannot read store {store_path}: {proc.stderr.strip()[-500:]}")
    return json.loads(proc.stdout)


def store_fingerprint(store_path: Path | str) -> str | None:
    """A cheap content fingerprint: sweeps (id, ingested_at), row counts, sums of two metrics.

    It never hashes the file (stores can be hundreds of MB). None if the store cannot be read.
    """
    import hashlib

    path = Path(store_path)
    if not path.exists():
        return None
    try:
        res = _run_queries(path, [(q, []) for q in _FINGERPRINT_SQL])
    except Exception:
        return None
    blob = json.dumps([r["rows"] for r in res], default=str, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _snapshot_config(store_path: Path, config_id: int) -> dict[str, Any] | None:
    """The config row (with system and model names) and its operator rows, or None."""
    res = _run_queries(
        store_path,
        [
            (
                "SELECT c.*, s.name AS system_name, m.name AS model_name FROM configs c "
                "LEFT JOIN systems s USING (system_id) LEFT JOIN models m USING (model_id) "
                "WHERE c.config_id = ?",
                [config_id],
            ),
            ("SELECT * FROM operators WHERE config_id = ? ORDER BY op_index", [config_id]),
        ],
    )
    cfg, ops = res
    if not cfg["rows"]:
        return None
    config = dict(zip(cfg["columns"], cfg["rows"][0], strict=False))
    operators = [dict(zip(ops["columns"], r, strict=False)) for r in ops["rows"]]
    for rec in [config, *operators]:
        if isinstance(rec.get("extra"), str):  # JSON column: keep it structured
            try:
                rec["extra"] = json.loads(rec["extra"])
            except ValueError:
                pass
    return {"config": config, "operators": operators}


# --------------------------------------------------------------------------- writing


SESSION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class SessionWriter:
    """Appends a session's events to its JSONL file, fsync'ed line by line."""

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = Path(path)
        self.header = header
        self.id: str = header["id"]
        self.store_path = Path(header["store_path"])
        self._turns = 0
        self._configs: set[int] = set()
        # The TUI appends turns and records configs from different worker threads.
        self._lock = threading.RLock()

    @classmethod
    def reopen(cls, path: Path) -> SessionWriter:
        """Continue an existing session file: later turns are appended after its last one."""
        session = load_session(str(path))
        writer = cls(session.path, session.header)
        writer._turns = len(session.turns)
        writer._configs = set(session.configs)
        return writer

    @classmethod
    def create(cls, store_path: Path, backend: str, name: str | None = None) -> SessionWriter:
        """Start a new session file with its header (which store, its fingerprint, backend);
        `name` is its id when given (letters, digits, '.', '_', '-'), else a new id."""
        from coview import __version__

        if name is not None and not SESSION_NAME.fullmatch(name):
            raise SessionError(
                f"{name!r} is not a usable session name: use 1-64 letters, digits, '.', '_' or "
                "'-', starting with a letter or digit."
            )

        directory = sessions_dir()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SessionError(
                f"cannot create the sessions directory {directory}: {exc}. "
                f"Set {ENV_SESSIONS} to a writable directory."
            ) from exc
        store_path = Path(store_path).expanduser().resolve()
        while True:
            sid = name or new_session_id()
            path = directory / f"{sid}.jsonl"
            if not path.exists():
                break
            if name is not None:
                raise SessionError(f"a session named {name!r} exists already: {path}")
        header = {
            "type": "header",
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "id": sid,
            "created_at": _utcnow(),
            "store_path": str(store_path),
            "store_fingerprint": store_fingerprint(store_path),
            "backend": backend,
            "coview_version": __version__,
        }
        writer = cls(path, header)
        writer._write(header)
        _fsync_dir(directory)
        return writer

    def _write(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, default=str, ensure_ascii=False) + "\n"
        # One write per line, flushed and fsync'ed before returning: a turn on disk is a turn
        # kept. O_APPEND keeps concurrent writers from interleaving within a line.
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def append_turn(self, result: AskResult, context: Context) -> None:
        """Write one completed turn, then snapshot the configs it referred to."""
        rows = _jsonable(result.rows)
        columns: list[str] = []
        for ev in result.evidence:
            for c in ev.columns:
                if c not in columns:
                    columns.append(c)
        evidence = [
            {
                "sql": ev.sql,
                "columns": list(ev.columns),
                "rows": _jsonable([list(r) for r in ev.rows[:ROW_CAP]]),
                "row_count": len(ev.rows),
                "truncated": bool(ev.truncated) or len(ev.rows) > ROW_CAP,
            }
            for ev in result.evidence
        ]
        with self._lock:
            self._turns += 1
            n = self._turns
        event = {
            "type": "turn",
            "n": n,
            "time": _utcnow(),
            "question": result.question,
            "backend": result.backend,
            "status": result.status,
            "answer": result.answer,
            "sql": list(result.sql),
            "columns": columns,
            "rows": rows[:ROW_CAP],
            "rows_total": len(rows),
            "rows_truncated": len(rows) > ROW_CAP or any(e.truncated for e in result.evidence),
            "row_cap": ROW_CAP,
            "evidence": evidence,
            "grounding": result.grounding.to_json(),
            "interpretation": _jsonable(getattr(result, "interpretation", {}) or {}),
            "reason": result.reason,
            "suggestions": list(result.suggestions),
            "elapsed_s": round(result.elapsed_s, 4),
            "context_config_id": context.config_id,
            "context_sweep_id": context.sweep_id,
        }
        self._write(event)
        # Snapshot the configs this turn is about, so review works offline. Best effort:
        # the turn is already safe on disk, a store problem must not lose it.
        wanted: list[int] = []
        if context.config_id is not None:
            wanted.append(int(context.config_id))
        for row in rows:
            cid = row.get("config_id") if isinstance(row, dict) else None
            if isinstance(cid, int) and cid not in wanted:
                wanted.append(cid)
            if len(wanted) >= AUTO_CONFIGS_PER_TURN:
                break
        for cid in wanted:
            try:
                self.record_config(cid)
            except Exception as exc:  # noqa: BLE001 - never lose a session over a snapshot
                warnings.warn(
                    f"session {self.id}: config {cid} not snapshotted: {exc}", stacklevel=2
                )

    def record_config(self, config_id: int) -> None:
        """Snapshot one config row and its operator rows from the store (once per session)."""
        config_id = int(config_id)
        with self._lock:  # one snapshot per config even when two threads ask at once
            if config_id in self._configs:
                return
            if not self.store_path.exists():
                raise SessionError(
                    f"store {self.store_path} is gone; cannot snapshot config {config_id}"
                )
            snap = _snapshot_config(self.store_path, config_id)
            if snap is None:
                raise SessionError(f"config {config_id} is not in store {self.store_path}")
            self._write({"type": "config", "config_id": config_id, "time": _utcnow(), **snap})
            self._configs.add(config_id)

    def record_compare(self, config_a: int, config_b: int) -> None:
        """Save a compare of two configs (the TUI's `c`): both are snapshotted, so review and
        export can show the per-operator differences without the store."""
        for cid in (config_a, config_b):
            self.record_config(cid)
        self._write({"type": "compare", "a": int(config_a), "b": int(config_b), "time": _utcnow()})

    def record_whatif(self, config_id: int, record: dict[str, Any]) -> None:
        """Save a what-if of one config (the TUI's `w` in the detail pane): the stored config
        is snapshotted, and the simulated figures are kept as the record gives them
        (`change`, `label`, `baseline`, `whatif`, `operators`), since no store holds them."""
        self.record_config(config_id)
        event = {"type": "whatif", "config_id": int(config_id), "time": _utcnow()}
        self._write({**event, **_jsonable(record)})


def whatif_markdown(record: dict[str, Any]) -> list[str]:
    """Markdown lines for one saved what-if: its exact change, stored against simulated
    totals and per-operator step times, labelled as simulated."""

    def ms(v: Any) -> str:
        return "-" if not isinstance(v, int | float) else f"{v * 1e3:,.4g}"

    def us(v: Any) -> str:
        return "-" if not isinstance(v, int | float) else f"{v * 1e6:,.1f}"

    def pair(a: Any, b: Any) -> str:
        a, b = "-" if a is None else a, "-" if b is None else b
        return str(a) if a == b else f"{a} -> {b}"

    base, sim = record.get("baseline") or {}, record.get("whatif") or {}
    out = [f"**Simulated, not stored data:** {record.get('label', '?')}", ""]
    totals = [
        ["latency (ms)", ms(base.get("latency_s")), ms(sim.get("latency_s"))],
        ["perf/TCO", base.get("perf_per_tco"), sim.get("perf_per_tco")],
        ["fits memory", base.get("fits_memory"), sim.get("fits_memory")],
        [
            "weights in SRAM",
            ", ".join(base.get("ops_weights_in_sram") or []) or "none",
            ", ".join(sim.get("ops_weights_in_sram") or []) or "none",
        ],
    ]
    out += [_md_table(["", "stored", "simulated"], totals), ""]
    rows = [
        [
            r.get("op_type"),
            us(r.get("stored_s")),
            us(r.get("simulated_s")),
            "-" if r.get("change") is None else f"{r['change'] * 100:+.1f}%",
            pair(r.get("weights_stored"), r.get("weights_simulated")),
            pair(r.get("bound_stored"), r.get("bound_simulated")),
        ]
        for r in record.get("operators") or []
        if isinstance(r, dict)
    ]
    cols = ["op", "stored µs/step", "simulated µs/step", "change", "weights", "bound"]
    return [*out, _md_table(cols, rows, cap=100)]


def compare_markdown(session: Session, compare: dict[str, Any]) -> list[str]:
    """Markdown lines for one saved compare: per-operator step times of A and B (µs/step)."""
    from coview.store.browse import operator_diff

    a, b = session.configs.get(compare.get("a")), session.configs.get(compare.get("b"))
    if a is None or b is None:
        return [f"_compare {compare.get('a')} vs {compare.get('b')}: config snapshot missing_"]

    def name(snap: dict[str, Any]) -> str:
        c = snap["config"]
        return str(c.get("system_name") or c.get("system_id") or "?")

    def us(v: Any) -> str:
        return "-" if v is None else f"{v * 1e6:,.1f}"

    rows = [
        [
            r["op_type"],
            us(r["time_a"]),
            us(r["time_b"]),
            "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
            f"{r['weights_a'] or '-'}/{r['weights_b'] or '-'}",
        ]
        for r in operator_diff(a.get("operators") or [], b.get("operators") or [])
    ]
    head = f"A = config {compare['a']} ({name(a)}), B = config {compare['b']} ({name(b)})"
    cols = ["op", "A µs/step", "B µs/step", "B/A", "weights A/B"]
    return [head, "", _md_table(cols, rows, cap=100)]


def _fsync_dir(directory: Path) -> None:
    """Make the new file's directory entry durable too (POSIX; a no-op where unsupported)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- reading


@dataclass
class Session:
    """A loaded session: its header, turns in order, config snapshots, and load warnings."""

    path: Path
    header: dict[str, Any]
    turns: list[dict[str, Any]] = field(default_factory=list)
    configs: dict[int, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    compares: list[dict[str, Any]] = field(default_factory=list)  # {"a": id, "b": id, "time"}
    whatifs: list[dict[str, Any]] = field(default_factory=list)  # record_whatif events

    @property
    def id(self) -> str:
        return str(self.header.get("id", self.path.stem))

    def store_changed(self) -> str | None:
        """A warning if the session's store is gone or its content differs, else None."""
        store = Path(self.header.get("store_path", ""))
        if not store.exists():
            return (
                f"the store this session was made against ({store}) no longer exists; "
                "showing the saved answers and config snapshots only."
            )
        recorded = self.header.get("store_fingerprint")
        current = store_fingerprint(store)
        if recorded is None or current is None:
            return (
                None
                if recorded == current
                else (
                    f"cannot compare the store {store} with the one this session was made "
                    "against; answers may not match the current data."
                )
            )
        if recorded != current:
            return (
                f"the store {store} has changed since this session was recorded "
                "(sweeps or row counts differ); re-asking may give different answers."
            )
        return None


def _resolve(id_or_path: str) -> Path:
    candidate = Path(id_or_path).expanduser()
    if candidate.suffix == ".jsonl" or os.sep in id_or_path:
        if candidate.is_file():
            return candidate
        raise SessionError(f"no session file at {candidate}.")
    directory = sessions_dir()
    exact = directory / f"{id_or_path}.jsonl"
    if exact.is_file():
        return exact
    matches = sorted(directory.glob(f"{id_or_path}*.jsonl")) if id_or_path else []
    if len(matches) == 1:
        return matches[0]
    recent = [p.stem for p in sorted(directory.glob("*.jsonl"), reverse=True)[:5]]
    if len(matches) > 1:
        raise SessionError(
            f"session id {id_or_path!r} is ambiguous; it matches: "
            + ", ".join(p.stem for p in matches[:8])
        )
    hint = (
        "recent sessions: " + ", ".join(recent) + " (see `coview sessions`)."
        if recent
        else f"there are no saved sessions in {directory} yet; run `coview` and ask something."
    )
    raise SessionError(f"no session {id_or_path!r}; {hint}")


def load_session(id_or_path: str) -> Session:
    """Load a session by id (or unique id prefix) or by file path."""
    path = _resolve(str(id_or_path))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SessionError(f"cannot read session file {path}: {exc}") from exc
    lines = raw.split(b"\n")
    session: Session | None = None
    warns: list[str] = []
    n_lines = len(lines)
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line.decode("utf-8"))
            if not isinstance(event, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError):
            last = i == n_lines or all(not rest.strip() for rest in lines[i:])
            what = "torn last line (interrupted write)" if last else "unreadable line"
            warns.append(f"{path.name}:{i}: skipped {what}")
            continue
        kind = event.get("type")
        if session is None:
            if kind == "header" and event.get("format") == FORMAT:
                session = Session(path=path, header=event)
                continue
            if kind in ("turn", "config") and warns:
                # The header line was torn: keep the turns, with what the header said unknown.
                session = Session(path=path, header={"id": path.stem, "format": FORMAT})
                warns.append(
                    f"{path.name}: the session header is unreadable; its store and backend "
                    "are unknown, the turns are shown as saved"
                )
            else:
                raise SessionError(
                    f"{path} is not a coview session file (its first line is not a session header)."
                )
        if kind == "turn":
            turn = _normalise_turn(event, f"{path.name}:{i}", warns)
            if turn is not None:
                session.turns.append(turn)
        elif kind == "config":
            cid = _as_int(event.get("config_id"))
            if cid is None:
                warns.append(f"{path.name}:{i}: skipped a config snapshot without a numeric id")
                continue
            config = event.get("config", {})
            operators = event.get("operators", [])
            session.configs[cid] = {
                "config": config if isinstance(config, dict) else {},
                "operators": [o for o in operators if isinstance(o, dict)]
                if isinstance(operators, list)
                else [],
            }
        elif kind == "compare":
            session.compares.append(event)
        elif kind == "whatif":
            session.whatifs.append(event)
        # unknown event types from newer versions are ignored
    if session is None:
        raise SessionError(f"{path} is empty or has no session header; it is not a usable session.")
    # A session file may come from elsewhere: what review and export show is clean text.
    from coview.store.safetext import clean, clean_json

    session.header = clean_json(session.header)
    session.turns = [clean_json(t) for t in session.turns]
    session.configs = {cid: clean_json(c) for cid, c in session.configs.items()}
    session.whatifs = [clean_json(w) for w in session.whatifs]
    warns = [clean(w) for w in warns]
    session.warnings = warns
    for w in warns:
        warnings.warn(w, stacklevel=2)
    return session


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _normalise_turn(event: dict[str, Any], where: str, warns: list[str]) -> dict[str, Any] | None:
    """A turn with fields of the types readers expect; bad fields are dropped with a note."""
    turn = dict(event)
    bad: list[str] = []
    for key in ("question", "answer", "status", "backend", "time", "reason"):
        if key in turn and not isinstance(turn[key], str):
            turn[key] = "" if turn[key] is None else str(turn[key])
    elapsed = turn.get("elapsed_s", 0)
    if isinstance(elapsed, bool) or not isinstance(elapsed, int | float):
        bad.append("elapsed_s")
        turn["elapsed_s"] = 0.0
    ctx = turn.get("context_config_id")
    if ctx is not None and _as_int(ctx) is None:
        bad.append("context_config_id")
        turn["context_config_id"] = None
    elif ctx is not None:
        turn["context_config_id"] = _as_int(ctx)
    for key, kind in (("rows", list), ("sql", list), ("evidence", list), ("suggestions", list)):
        if key in turn and not isinstance(turn[key], kind):
            bad.append(key)
            turn[key] = []
    turn["rows"] = [r for r in turn.get("rows", []) if isinstance(r, dict)]
    turn["evidence"] = [e for e in turn.get("evidence", []) if isinstance(e, dict)]
    if "grounding" in turn and not isinstance(turn["grounding"], dict):
        bad.append("grounding")
        turn["grounding"] = {}
    g = turn.get("grounding") or {}
    if not isinstance(g.get("numbers", []), list):
        g["numbers"] = []
    g["numbers"] = [n for n in g.get("numbers", []) if isinstance(n, dict)]
    if bad:
        warns.append(f"{where}: ignored malformed field(s) {', '.join(bad)} of a turn")
    return turn


@dataclass
class SessionInfo:
    """One line of `coview sessions`."""

    id: str
    path: Path
    created_at: str
    turns: int
    store_path: str
    backend: str


def list_sessions() -> list[SessionInfo]:
    """Saved sessions, newest first (read cheaply: header plus a count of turn lines)."""
    directory = sessions_dir()
    if not directory.is_dir():
        return []
    out: list[SessionInfo] = []
    for path in sorted(directory.glob("*.jsonl"), reverse=True):
        try:
            with open(path, "rb") as fh:
                first = fh.readline()
                turns = sum(1 for line in fh if line.startswith(b'{"type": "turn"'))
        except OSError:
            continue
        try:
            header = json.loads(first)
        except ValueError:
            if not turns:
                continue
            # A torn header line: the turns are intact, so the session stays listed.
            header = {"id": path.stem, "format": FORMAT, "created_at": "(header damaged)"}
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            continue
        out.append(
            SessionInfo(
                id=str(header.get("id", path.stem)),
                path=path,
                created_at=str(header.get("created_at", "")),
                turns=turns,
                store_path=str(header.get("store_path", "")),
                backend=str(header.get("backend", "")),
            )
        )
    return out


def list_sessions_text() -> str:
    """`coview sessions`: a table of saved sessions, or what to do when there are none."""
    infos = list_sessions()
    if not infos:
        return (
            f"No saved sessions in {sessions_dir()}.\n"
            "Sessions are saved as you ask questions in `coview`; "
            f"set {ENV_SESSIONS} to keep them elsewhere."
        )
    head = ("id", "created (UTC)", "turns", "backend", "store")
    rows = [
        (
            i.id,
            i.created_at.replace("T", " ")[:19],
            str(i.turns),
            i.backend,
            _short_path(i.store_path),
        )
        for i in infos
    ]
    widths = [max(len(r[k]) for r in [head, *rows]) for k in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("Review one with `coview review ID`; export with `coview export ID --format md`.")
    return "\n".join(lines)


def _short_path(p: str) -> str:
    home = str(Path.home())
    return "~" + p[len(home) :] if p.startswith(home + os.sep) else p


# --------------------------------------------------------------------------- export

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MARKERS = ["*", "+", "x", "o", "#", "@", "%", "&"]


def _fmt(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1e6 or abs(value) < 1e-3:
            return f"{value:.4g}"
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.1f}"
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str)
        return text if len(text) <= 60 else text[:57] + "..."
    return str(value)


def _md_cell(value: Any) -> str:
    return _fmt(value).replace("|", "\\|").replace("\n", " ")


def _md_table(columns: list[str], rows: list[list[Any]], cap: int = MD_ROW_CAP) -> str:
    if not columns:
        return "_(no columns)_"
    out = ["| " + " | ".join(_md_cell(c) for c in columns) + " |"]
    out.append("|" + "|".join("---" for _ in columns) + "|")
    for r in rows[:cap]:
        out.append("| " + " | ".join(_md_cell(v) for v in r) + " |")
    if len(rows) > cap:
        out.append(f"\n_{cap} of {len(rows)} rows shown._")
    return "\n".join(out)


def readable_evidence(columns: list[str], rows: list[list[Any]]) -> tuple[list[str], list]:
    """Evidence in readable units for the export: *_s columns in ms, *bytes* columns in GB,
    the unit named in the header (the stored rows keep base SI units)."""
    scale: dict[int, float] = {}
    names = []
    for i, c in enumerate(columns):
        if c.endswith("_s") and c not in ("tok_per_s",) and not c.endswith("per_s"):
            scale[i], c = 1e3, f"{c.removesuffix('_s')} (ms)"
        elif "bytes" in c and not c.endswith("per_s"):
            scale[i], c = 1e-9, f"{c} (GB)"
        names.append(c)
    out = []
    for r in rows:
        out.append(
            [
                v * scale[i] if i in scale and isinstance(v, int | float) and not isinstance(v, bool)
                else v
                for i, v in enumerate(r)
            ]
        )  # fmt: skip
    return names, out


def marker_map(names: list[str]) -> dict[str, str]:
    """One marker per system name, fixed for a whole export (sorted names, so every plot of
    a report uses the same marker for the same system)."""
    return {n: MARKERS[k % len(MARKERS)] for k, n in enumerate(sorted(set(names)))}


def pareto_text(
    points: list[dict[str, Any]],
    width: int = 78,
    height: int = 22,
    markers: dict[str, str] | None = None,
) -> str:
    """A plain-text scatter of perf/TCO against latency (ms), one marker per system.

    points: dicts with system, latency_s, perf_per_tco. Log axes when a range spans >100x.
    markers: system name -> marker, to keep markers the same across the plots of a report.
    """
    import plotext as plt

    pts = [
        p
        for p in points
        if isinstance(p.get("latency_s"), int | float)
        and isinstance(p.get("perf_per_tco"), int | float)
        and p["latency_s"] > 0
        and p["perf_per_tco"] > 0
    ]
    if not pts:
        return ""
    systems: list[str] = []
    for p in pts:
        if str(p.get("system")) not in systems:
            systems.append(str(p.get("system")))
    marker_of = markers or {}
    mark = {
        system: marker_of.get(system, MARKERS[k % len(MARKERS)]) for k, system in enumerate(systems)
    }
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.theme("clear")
    for system in systems:
        mine = sorted(
            (p for p in pts if str(p.get("system")) == system), key=lambda p: p["latency_s"]
        )
        xs = [p["latency_s"] * 1e3 for p in mine]
        ys = [p["perf_per_tco"] for p in mine]
        plt.scatter(xs, ys, marker=mark[system])
    xs_all = [p["latency_s"] * 1e3 for p in pts]
    ys_all = [p["perf_per_tco"] for p in pts]
    if max(xs_all) / min(xs_all) > 100:
        plt.xscale("log")
    if max(ys_all) / min(ys_all) > 100:
        plt.yscale("log")
    plt.xlabel("latency (ms)")
    text = plt.build()
    plt.clear_figure()
    lines = [line.rstrip() for line in _ANSI.sub("", text).splitlines()]
    # The legend goes below the plot: plotext draws its own over the top-left points.
    legend = "  ".join(f"{mark[name]} {name}" for name in systems)
    return "\n".join(["y: perf/TCO (tokens/s per $/h), x: latency (ms)", *lines, legend])


def operator_bars(operators: list[dict[str, Any]], width: int = 40) -> str:
    """A text bar chart of time per operator type (time x count, ms) with its share."""
    totals: dict[str, float] = {}
    for op in operators:
        t = op.get("roofline_time_s")
        if not isinstance(t, int | float):
            continue
        name = str(op.get("op_type") or op.get("layer_name") or "?")
        totals[name] = totals.get(name, 0.0) + t * (op.get("count") or 1)
    total = sum(totals.values())
    if not totals or total <= 0:
        return ""
    label_w = max(len(k) for k in totals)
    lines = []
    for name, t in sorted(totals.items(), key=lambda kv: -kv[1]):
        n = round(width * t / max(totals.values()))
        lines.append(
            f"{name.rjust(label_w)} | {'#' * n}{' ' * (width - n)} {t * 1e3:9.3f} ms {100 * t / total:5.1f}%"
        )
    lines.append(f"{'total'.rjust(label_w)} | {' ' * width} {total * 1e3:9.3f} ms")
    return "\n".join(lines)


_CONFIG_KEYS = (
    "system_name", "model_name", "phase", "batch_size", "tp", "num_chips", "weight_dtype",
    "act_dtype", "input_len", "output_len", "latency_s", "throughput_tok_per_s", "perf_per_tco",
    "usd_per_1m_tokens", "fits_memory", "is_pareto",
)  # fmt: skip


def _referred_configs(session: Session, turn: dict[str, Any]) -> list[int]:
    ids: list[int] = []
    if _as_int(turn.get("context_config_id")) is not None:
        ids.append(_as_int(turn["context_config_id"]))
    for row in turn.get("rows", []):
        cid = row.get("config_id") if isinstance(row, dict) else None
        if isinstance(cid, int) and cid not in ids:
            ids.append(cid)
    return [c for c in ids if c in session.configs]


def export_markdown(session: Session) -> str:
    """The session as a Markdown report: every turn with its SQL, evidence, configs and plots."""
    h = session.header
    out = [f"# coview session {session.id}", ""]
    out.append(f"- created: {h.get('created_at', '?')}")
    out.append(f"- store: `{h.get('store_path', '?')}`")
    out.append(f"- backend: {h.get('backend', '?')}")
    out.append(f"- coview: {h.get('coview_version', '?')}")
    out.append(f"- turns: {len(session.turns)}")
    if warning := session.store_changed():
        out += ["", f"> **Warning:** {warning}"]
    for w in session.warnings:
        out += ["", f"> **Note:** {w}"]
    referred_all: list[int] = []
    names = [
        str(snap["config"].get("system_name") or snap["config"].get("system_id"))
        for snap in session.configs.values()
    ]
    for turn in session.turns:
        names += [str(p.get("system")) for p in _turn_points(session, turn)]
    markers = marker_map(names)
    for turn in session.turns:
        out += ["", f"## {turn.get('n', '?')}. {turn.get('question', '')}", ""]
        status = turn.get("status", "?")
        meta = f"status: **{status}**, backend: {turn.get('backend', '?')}"
        meta += f", {turn.get('elapsed_s', 0):.2f} s, {turn.get('time', '')}"
        if turn.get("context_config_id") is not None:
            meta += f", context: config {turn['context_config_id']}"
        out.append(f"_{meta}_")
        out.append("")
        answer = str(turn.get("answer", "")).strip() or "_(no answer)_"
        # Keep the answer's own line breaks (Markdown hard breaks), and mark refusals.
        lines = [ln.rstrip() for ln in answer.splitlines()]
        body = "  \n".join(
            ln.replace("  ", "&nbsp;&nbsp;", 1) if ln.startswith("  ") else ln for ln in lines
        )
        out.append(("**Refused:** " if status == "refused" else "") + body)
        g = turn.get("grounding") or {}
        nums = g.get("numbers") or []
        if nums:
            missing = [n for n in nums if not n.get("matched")]
            if not missing:
                out += ["", f"Grounding: all {len(nums)} numbers traced to the evidence rows."]
            else:
                out += [
                    "",
                    f"Grounding: **{len(missing)} of {len(nums)} numbers NOT found in the evidence**:",
                ]
                out += [f"- `{n.get('text')}`" for n in missing]
        for k, ev in enumerate(turn.get("evidence") or [], start=1):
            out += ["", f"SQL {k}:" if len(turn.get("evidence") or []) > 1 else "SQL:", ""]
            out += ["```sql", str(ev.get("sql", "")).strip(), "```", ""]
            rows = ev.get("rows") or []
            shown = f"{len(rows)} row(s)"
            if ev.get("truncated"):
                shown = f"{len(rows)} of more rows (truncated)"
            out.append(f"Evidence ({shown}):")
            out.append("")
            out.append(_md_table(*readable_evidence(list(ev.get("columns") or []), rows)))
        if not turn.get("evidence") and turn.get("sql"):
            for sql in turn["sql"]:
                out += ["", "```sql", str(sql).strip(), "```"]
        refs = _referred_configs(session, turn)
        for cid in refs:
            if cid not in referred_all:
                referred_all.append(cid)
        if refs:
            out += ["", "Configs referred to: " + ", ".join(str(c) for c in refs)]
        points = _turn_points(session, turn)
        if len(points) >= 2:
            plot = pareto_text(points, markers=markers)
            if plot:
                out += [
                    "",
                    "Perf/TCO against latency (evidence and referred configs):",
                    "",
                    "```text",
                    plot,
                    "```",
                ]
    if session.compares:
        out += ["", "## Compares", ""]
        for k, cmp in enumerate(session.compares, start=1):
            out += [f"### {k}. config {cmp.get('a')} vs config {cmp.get('b')}", ""]
            out += compare_markdown(session, cmp) + [""]
            for cid in (cmp.get("a"), cmp.get("b")):
                if cid in session.configs and cid not in referred_all:
                    referred_all.append(cid)
    if session.whatifs:
        out += ["", "## What-ifs (simulated)", ""]
        for k, rec in enumerate(session.whatifs, start=1):
            cid = rec.get("config_id")
            out += [f"### {k}. config {cid}: {rec.get('change', '?')}", ""]
            out += whatif_markdown(rec) + [""]
            if cid in session.configs and cid not in referred_all:
                referred_all.append(cid)
    if referred_all:
        out += ["", "## Configs referred to", ""]
        for cid in referred_all:
            snap = session.configs[cid]
            cfg = snap["config"]
            out += [f"### config {cid}", ""]
            keys = [k for k in _CONFIG_KEYS if k in cfg]
            out.append(_md_table(["field", "value"], [[k, cfg[k]] for k in keys], cap=100))
            ops = snap.get("operators") or []
            if ops:
                bars = operator_bars(ops)
                if bars:
                    out += [
                        "",
                        "Time by operator (roofline time x count):",
                        "",
                        "```text",
                        bars,
                        "```",
                    ]
                cols = [
                    c
                    for c in ("op_type", "count", "compute_time_s", "memory_time_s", "comm_time_s",
                              "roofline_time_s", "bound", "weights_location")
                    if any(c in o for o in ops)
                ]  # fmt: skip
                out += ["", _md_table(cols, [[o.get(c) for c in cols] for o in ops], cap=40), ""]
        plot = pareto_text(
            [
                {
                    "system": session.configs[c]["config"].get("system_name")
                    or session.configs[c]["config"].get("system_id"),
                    **session.configs[c]["config"],
                }
                for c in referred_all
            ],
            markers=markers,
        )
        if plot and len(referred_all) >= 2:
            out += ["", "### Pareto view of the referred configs", "", "```text", plot, "```"]
    out.append("")
    return "\n".join(out)


def _turn_points(session: Session, turn: dict[str, Any]) -> list[dict[str, Any]]:
    """Plot points of one turn: evidence rows with latency and perf/TCO, plus referred configs."""
    pts: list[dict[str, Any]] = []
    for row in turn.get("rows") or []:
        if not isinstance(row, dict) or "latency_s" not in row or "perf_per_tco" not in row:
            continue
        system = (
            row.get("system") or row.get("system_name") or row.get("name") or row.get("system_id")
        )
        if (
            system is None
            and isinstance(row.get("config_id"), int)
            and row["config_id"] in session.configs
        ):
            system = session.configs[row["config_id"]]["config"].get("system_name")
        pts.append(
            {
                "system": system or "?",
                "latency_s": row["latency_s"],
                "perf_per_tco": row["perf_per_tco"],
            }
        )
    if not pts:
        for cid in _referred_configs(session, turn):
            cfg = session.configs[cid]["config"]
            pts.append({"system": cfg.get("system_name") or cfg.get("system_id"), **cfg})
    return pts


__all__ = [
    "ROW_CAP",
    "Session",
    "SessionError",
    "SessionInfo",
    "SessionWriter",
    "export_markdown",
    "list_sessions",
    "list_sessions_text",
    "load_session",
    "new_session_id",
    "sessions_dir",
    "store_fingerprint",
]
