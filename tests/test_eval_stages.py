"""Eval of stages 2-4 and multi-turn items: the facts and all_of kinds, what-if and search
expectations computed by re-simulation at eval time, multi-turn history and error paths, and
the two Table I files run offline."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from coview.cli import app
from coview.engine.eval import EvalError, load_questions, run_eval
from coview.engine.eval.grader import CORRECT, ERROR, WRONG, Entity, Expected, grade_answer
from coview.engine.eval.run import _vocabulary, resolve_expected, run_turns
from coview.engine.types import AskResult
from coview.sample_data import MISMATCH_SWEEP
from coview.store.ingest import ingest

QDIR = Path(__file__).resolve().parent.parent / "sample_data" / "questions"
SYSTEMS = [Entity("xPU-A", ["xPU-A", "xpu-a"]), Entity("xPU-B", ["xPU-B", "xpu-b"])]
LOCATIONS = [Entity("sram", ["sram"]), Entity("hbm", ["hbm"])]
HEADLINE = {"phase": "decode", "batch_size": 8, "tp": 8, "weight_dtype": "int8"}


def facts(rows: list[dict], unit: str | None = None) -> Expected:
    pools = {}
    for r in rows:
        for v in r.values():
            if isinstance(v, str):
                pools[v.lower()] = SYSTEMS if v.startswith("xPU") else LOCATIONS
    return Expected("facts", rows, 0.01, unit, field_pools=pools)


WHERE = [{"s": "xPU-A", "l": "sram"}, {"s": "xPU-B", "l": "hbm"}]


# ---------------------------------------------------------------- facts and all_of


def test_facts_graded_on_the_cause_stated_not_on_the_names_mentioned() -> None:
    ok, _ = grade_answer(
        "Its weights are read from SRAM on xPU-A but from HBM on xPU-B.", facts(WHERE)
    )
    assert ok
    # the same names, the cause the wrong way round
    ok, why = grade_answer(
        "Its weights are read from HBM on xPU-A but from SRAM on xPU-B.", facts(WHERE)
    )
    assert not ok and "xPU-A | sram" in why
    # both locations named in one breath: no clause ties a system to its location
    ok, _ = grade_answer("xPU-A and xPU-B differ in SRAM and HBM use.", facts(WHERE))
    assert not ok
    # "sram_bytes" is a parameter name, not the location
    one = facts([{"s": "xPU-B", "o": "q_proj", "l": "sram"}])
    ok, _ = grade_answer("xPU-B with sram_bytes x1.07: q_proj on xPU-B still reads from HBM.", one)
    assert not ok
    ok, _ = grade_answer("xPU-B with sram_bytes x1.07: q_proj on xPU-B now reads from SRAM.", one)
    assert ok


def test_facts_with_numbers_and_only_the_answer_line() -> None:
    cap = facts([{"s": "xPU-A", "b": 1610612736}, {"s": "xPU-B", "b": 268435456}], unit="bytes")
    assert grade_answer("xPU-A: SRAM capacity 1.61 GB. xPU-B: SRAM capacity 268 MB.", cap)[0]
    assert not grade_answer("xPU-A: SRAM capacity 268 MB. xPU-B: SRAM capacity 1.61 GB.", cap)[0]
    # a list below the answer line is not graded
    assert not grade_answer("SRAM capacities:\n- xPU-A: 1.61 GB\n- xPU-B: 268 MB", cap)[0]


def test_all_of_needs_every_check() -> None:
    parts = [Expected("name", "q_proj", entities=[Entity("q_proj", ["q_proj"]),
                                                   Entity("o_proj", ["o_proj"])],
                      accept=["q_proj"]), facts(WHERE)]  # fmt: skip
    both = Expected("all_of", None, parts=parts)
    good = "q_proj differs: 40 us vs 332 us. Its weights are read from SRAM on xPU-A but from HBM on xPU-B."
    assert grade_answer(good, both)[0]
    ok, why = grade_answer(good.replace("q_proj", "o_proj"), both)
    assert not ok and "name" in why
    ok, why = grade_answer(good.replace("from HBM on xPU-B", "from SRAM on xPU-B"), both)
    assert not ok and "facts" in why


# ---------------------------------------------------------------- re-simulated expectations


def qfile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "q.yaml"
    path.write_text("store: sample\nquestions:\n" + body)
    return path


WHATIF_Q = """
  - id: wi
    text: If xPU-B had {factor}x the SRAM, what would its decode latency be at batch 8 TP 8 {dtype}?
    type: stage3
    valid: true
    kind: number
    unit: s
    expected_whatif:
      system: xPU-B
      set: {{sram_bytes: "*{factor}"}}
      filters: {{phase: decode, batch_size: 8, tp: 8, weight_dtype: {dtype}}}
      metric: latency_s
"""


def resolve(path: Path, store: Path) -> dict[str, Expected]:
    qf = load_questions(path)
    con = duckdb.connect(str(store), read_only=True)
    try:
        vocab = _vocabulary(con)
        return {q.id: resolve_expected(q, con, vocab, path) for q in qf.questions}
    finally:
        con.close()


def stored_latency(store: Path, dtype: str) -> float:
    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute(
            "SELECT latency_s FROM configs WHERE system_id = 'xpu-b' AND phase = 'decode' AND "
            "batch_size = 8 AND tp = 8 AND weight_dtype = ?",
            [dtype],
        ).fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def mismatch_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("stages") / "mismatch.duckdb"
    ingest([MISMATCH_SWEEP], path, fmt="native", progress=False)
    return path


def test_whatif_expectation_is_a_resimulation(sample_store: Path, tmp_path: Path) -> None:
    from coview.engine.whatif import whatif

    path = qfile(tmp_path, WHATIF_Q.format(factor=8, dtype="int8"))
    got = resolve(path, sample_store)["wi"].value
    # not the stored number: 8x the SRAM pins more weights, the step gets faster
    assert got < stored_latency(sample_store, "int8")
    # and the same figure as the vectorised what-if the answers use (two implementations)
    r = whatif(sample_store, "xPU-B", {"sram_bytes": ("*", 8.0)}, HEADLINE, operators=False)
    assert got == pytest.approx(r.configs[0]["whatif"]["latency_s"], rel=1e-12)


def test_whatif_expectation_follows_the_stored_spec(mismatch_store: Path, tmp_path: Path) -> None:
    """Edit the spec (xPU-B's SRAM bandwidth doubled), simulate and ingest it: the same
    question's expected value moves, so it is computed from the spec, not stored."""
    text = (MISMATCH_SWEEP / "spec.toml").read_text()
    start = text.index('id = "xpu-b"')
    block = text[start:]
    edited = re.sub(r"^sram_bw_bytes_per_s = (.*)$", lambda m: f"sram_bw_bytes_per_s = {float(m.group(1)) * 2!r}", block, count=1, flags=re.M)  # fmt: skip
    assert edited != block
    spec = tmp_path / "spec.toml"
    spec.write_text(text[:start] + edited)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["simulate", str(spec), "--out", str(out)])
    assert res.exit_code == 0, res.output
    other = tmp_path / "edited.duckdb"
    ingest([out], other, fmt="native", progress=False)
    path = qfile(tmp_path, WHATIF_Q.format(factor=8, dtype="bf16"))
    before = resolve(path, mismatch_store)["wi"].value
    after = resolve(path, other)["wi"].value
    assert after < before  # the pinned weights stream from a faster SRAM
    assert before < stored_latency(mismatch_store, "bf16")


def test_search_expectation_is_the_bisected_threshold(sample_store: Path, tmp_path: Path) -> None:
    path = qfile(
        tmp_path,
        """
  - id: s
    text: How much SRAM does xPU-B need to pin q_proj at decode batch 8 TP 8 int8?
    type: stage3
    valid: true
    kind: number
    unit: bytes
    expected_search:
      system: xPU-B
      parameter: sram_bytes
      filters: {phase: decode, batch_size: 8, tp: 8, weight_dtype: int8}
      goal: {pin: q_proj}
""",
    )
    got = resolve(path, sample_store)["s"].value
    con = duckdb.connect(str(sample_store), read_only=True)
    need = con.execute(
        "SELECT TRY_CAST(json_extract_string(o.extra, '$.sram_needed_bytes') AS DOUBLE) "
        "FROM operators o JOIN configs c USING (config_id) WHERE c.system_id = 'xpu-b' AND "
        "c.phase = 'decode' AND c.batch_size = 8 AND c.tp = 8 AND c.weight_dtype = 'int8' AND "
        "o.op_type = 'q_proj'"
    ).fetchone()[0]
    con.close()
    assert got == pytest.approx(need, abs=1.0)  # whole bytes: within one byte


def test_a_sweep_without_sim_spec_is_refused_naming_the_question(
    mismatch_store: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "nospec.duckdb"
    copy.write_bytes(mismatch_store.read_bytes())
    con = duckdb.connect(str(copy))
    con.execute("UPDATE sweeps SET sim_spec = NULL")
    con.close()
    path = qfile(tmp_path, WHATIF_Q.format(factor=2, dtype="bf16"))
    with pytest.raises(EvalError, match=r"question 'wi'.*no sim_spec"):
        resolve(path, copy)


def test_a_spec_that_no_longer_reproduces_its_rows_is_refused(
    mismatch_store: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "stale.duckdb"
    copy.write_bytes(mismatch_store.read_bytes())
    con = duckdb.connect(str(copy))
    spec = json.loads(con.execute("SELECT sim_spec FROM sweeps").fetchone()[0])
    spec["efficiency"]["hbm"] = spec["efficiency"]["hbm"] / 2
    con.execute("UPDATE sweeps SET sim_spec = ?", [json.dumps(spec)])
    con.close()
    path = qfile(tmp_path, WHATIF_Q.format(factor=2, dtype="bf16"))
    with pytest.raises(EvalError, match=r"question 'wi'.*no longer reproduces"):
        resolve(path, copy)


@pytest.mark.parametrize(
    "change, needle",
    [
        ('{sram_size: "*2"}', "cannot set 'sram_size'"),
        ('{sram_bytes: "twice"}', "is not a change"),
        ("{dtype: int4}", "is not a dtype"),
    ],
)
def test_a_bad_set_is_refused_at_load_naming_the_question(tmp_path, change, needle) -> None:
    body = WHATIF_Q.format(factor=2, dtype="int8").replace('{sram_bytes: "*2"}', change)
    with pytest.raises(EvalError, match=rf"question 'wi'.*expected_whatif.*{re.escape(needle)}"):
        load_questions(qfile(tmp_path, body))


# ---------------------------------------------------------------- multi-turn


class ScriptedPipeline:
    """Answers from a script and records the history each question saw."""

    backend = "scripted"

    def __init__(self, answers: list[object]) -> None:
        self.answers = list(answers)
        self.seen: list[list[tuple[str, str]]] = []

    def ask(self, question, history=None, context=None):
        self.seen.append([(t.question, t.answer) for t in history or []])
        a = self.answers.pop(0)
        if isinstance(a, Exception):
            raise a
        status, text = a
        return AskResult(question=question, status=status, answer=text, backend="scripted")


ITEM = """
  - id: conv
    turns:
      - text: Which is faster at decode batch 8 TP 8 int8, xPU-A or xPU-B?
        type: comparison
        valid: true
        kind: name
        expected: xPU-A
      - id: why
        text: Why?
        type: stage2
        valid: true
        kind: text
        expected: SRAM
      - text: And at batch 9?
        type: query
        valid: false
      - text: Thanks, and TP 4?
        type: query
        valid: false
"""


def turns_of(tmp_path: Path):
    qf = load_questions(qfile(tmp_path, ITEM))
    item = qf.questions[0]
    expected = {
        "conv/1": Expected("name", "xPU-A", entities=SYSTEMS, accept=["xPU-A"]),
        "conv/why": Expected("text", "SRAM"),
        "conv/3": None,
        "conv/4": None,
    }
    return item, expected


def test_turns_see_the_earlier_turns_as_history(tmp_path: Path) -> None:
    item, expected = turns_of(tmp_path)
    assert [t.id for t in item.turns] == ["conv/1", "conv/why", "conv/3", "conv/4"]
    p = ScriptedPipeline([("answered", "xPU-A is faster."), ("answered", "HBM on both."),
                          ("refused", "no batch 9"), ("refused", "no")])  # fmt: skip
    items = run_turns(p, item, expected)
    assert [i.grade.outcome for i in items] == [
        CORRECT,
        WRONG,
        "correct_refusal",
        "correct_refusal",
    ]
    assert p.seen[0] == [] and p.seen[1] == [(item.turns[0].text, "xPU-A is faster.")]
    assert len(p.seen[3]) == 3  # a refusal is history too, as in a saved session


def test_an_erroring_turn_stops_its_item_and_counts_the_rest_as_errors(tmp_path: Path) -> None:
    item, expected = turns_of(tmp_path)
    p = ScriptedPipeline([("answered", "xPU-A is faster."), RuntimeError("boom")])
    items = run_turns(p, item, expected)
    assert [i.grade.outcome for i in items] == [CORRECT, ERROR, ERROR, ERROR]
    assert "boom" in items[1].result.answer and len(p.seen) == 2
    assert "not asked" in items[2].result.answer
    p = ScriptedPipeline([("error", "deadline"), ("answered", "never")])
    assert [i.grade.outcome for i in run_turns(p, item, expected)] == [ERROR] * 4


def test_a_multi_turn_item_checks_its_fields(tmp_path: Path) -> None:
    bad = ITEM.replace("  - id: conv\n", "  - id: conv\n    valid: true\n")
    with pytest.raises(EvalError, match=r"question 'conv'.*unknown field\(s\) valid"):
        load_questions(qfile(tmp_path, bad))
    bad = ITEM.replace("        expected: SRAM\n", "")
    with pytest.raises(EvalError, match=r"question 'conv/why'.*exactly one of"):
        load_questions(qfile(tmp_path, bad))


# ---------------------------------------------------------------- the Table I files


def test_table_one_b_passes_offline_turn_by_turn(mismatch_store: Path) -> None:
    report = run_eval(QDIR / "table-one-mismatch.yaml", mismatch_store)
    assert not report.wrong, [(i.question.id, i.grade.detail) for i in report.wrong]
    (item,) = report.multi_turn()
    assert item["correct"] == item["turns"] == 5
    table = report.to_json()["table"]
    assert {"stage2/valid", "stage3/valid", "stage4/valid"} <= set(table)
    assert table["stage3/valid"] == {"correct": 2, "total": 2}


@pytest.fixture(scope="module")
def table_one_a(sample_store: Path):
    return run_eval(QDIR / "table-one.yaml", sample_store)


def test_table_one_a_passes_offline(table_one_a) -> None:
    """Every turn of user A's conversation is right offline, 4a at the session's config."""
    report = table_one_a
    by_id = {i.question.id: i for i in report.items}
    assert len(by_id) == 6
    for tid, i in by_id.items():
        assert i.grade.outcome == CORRECT, (tid, i.grade.detail, i.result.answer)
    assert not report.wrong, [(i.question.id, i.grade.detail) for i in report.wrong]


def test_eval_turns_answer_as_ask_session_does(
    table_one_a, sample_store, tmp_path, monkeypatch
) -> None:
    """The eval's history is the one `coview ask --session` rebuilds from the saved session:
    the same questions give the same answers both ways."""
    monkeypatch.setenv("COVIEW_SESSIONS_DIR", str(tmp_path / "sessions"))
    for i in table_one_a.items:
        res = CliRunner().invoke(
            app,
            ["ask", i.question.text, "--json", "--session", "t1", "--store", str(sample_store)],
        )
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["answer"] == i.result.answer, i.question.id


def test_the_format_example_in_the_readme_loads_and_its_stage_examples_resolve(
    sample_store: Path, tmp_path: Path
) -> None:
    block = re.search(r"```yaml\n(.*?)```", (QDIR / "README.md").read_text(), re.S).group(1)
    path = tmp_path / "example.yaml"
    path.write_text(block)
    qf = load_questions(path)
    con = duckdb.connect(str(sample_store), read_only=True)
    try:
        vocab = _vocabulary(con)
        got = {
            q.id: resolve_expected(q, con, vocab, path)
            for q in qf.questions
            if q.id in ("whatif-sram", "search-sram", "why-q-proj")
        }
    finally:
        con.close()
    assert got["whatif-sram"].value > 0 and got["search-sram"].value > 0
    assert [p.kind for p in got["why-q-proj"].parts] == ["name", "facts"]
    assert [t.id for t in next(q for q in qf.questions if q.turns).turns] == [
        "table-one-a/1",
        "table-one-a/2",
    ]
