"""`coview eval` end to end: the CI gate (offline backend, zero wrong answers on the sample
set), the question sets themselves, and the plumbing with scripted gemini/openai servers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from coview.cli import app
from coview.engine.eval import EvalError, load_questions, run_eval
from coview.engine.eval.questions import TYPES
from coview.engine.eval.run import _vocabulary, resolve_eval_store, resolve_expected

QDIR = Path(__file__).resolve().parent.parent / "sample_data" / "questions"
SAMPLE_SET = QDIR / "llama2-70b-serving.yaml"
LLMA_SET = QDIR / "llm-analysis.yaml"


def _resolve_all(path: Path, store: Path) -> dict:
    """Every valid question's (and turn's) expected value on the store (raises EvalError if
    any is bad)."""
    qf = load_questions(path)
    con = duckdb.connect(str(store), read_only=True)
    try:
        vocab = _vocabulary(con)
        return {
            t.id: resolve_expected(t, con, vocab, path)
            for q in qf.questions
            for t in q.turns or [q]
            if t.valid
        }
    finally:
        con.close()


# ---------------------------------------------------------------- the question sets


def test_sample_set_shape_and_expected_values(sample_store: Path) -> None:
    qf = load_questions(SAMPLE_SET)
    qs = qf.questions
    invalid = [q for q in qs if not q.valid]
    assert len(qs) >= 80 and len(invalid) * 3 >= len(qs)
    assert {q.type for q in qs} >= {"query", "comparison"}
    assert all(q.type in TYPES for q in qs)
    expected = _resolve_all(SAMPLE_SET, sample_store)
    assert len(expected) == len(qs) - len(invalid)
    # spot checks against the store, written independently of the expected SQL
    con = duckdb.connect(str(sample_store), read_only=True)
    mi300x_hbm = con.execute("SELECT hbm_bytes FROM systems WHERE system_id = 'mi300x'").fetchone()[
        0
    ]
    con.close()
    assert expected["sys-hbm"].value == pytest.approx(mi300x_hbm)
    assert expected["model-layers"].value == 80
    assert expected["op-weights-sram"].value == "sram"  # the planted xPU-A SRAM story
    assert expected["op-weights-hbm"].value == "hbm"
    assert set(expected["op-diff-xpu"].accept) <= {"q_proj", "o_proj"}


def test_invalid_questions_name_nothing_the_store_holds(sample_store: Path) -> None:
    """Unknown systems/models in invalid questions really are absent from the store."""
    con = duckdb.connect(str(sample_store), read_only=True)
    names = {
        r[0].lower()
        for r in con.execute("SELECT name FROM systems UNION SELECT name FROM models").fetchall()
    }
    batches = {r[0] for r in con.execute("SELECT DISTINCT batch_size FROM configs").fetchall()}
    tps = {r[0] for r in con.execute("SELECT DISTINCT tp FROM configs").fetchall()}
    v5e_fp8 = con.execute("SELECT peak_flops_fp8 FROM systems WHERE name = 'TPU v5e'").fetchone()[0]
    v5e_fp8_configs = con.execute(
        "SELECT count(*) FROM configs JOIN systems USING (system_id) "
        "WHERE systems.name = 'TPU v5e' AND weight_dtype = 'fp8'"
    ).fetchone()[0]
    con.close()
    for absent in ("b200", "a100", "gaudi 3", "tpu v6e", "gpt-4", "llama-2-13b"):
        assert absent not in names
    assert 1024 not in batches and 32 not in tps and 3 not in tps
    assert v5e_fp8 is None and v5e_fp8_configs == 0


def test_llm_analysis_set_builds_its_store_and_resolves() -> None:
    qf = load_questions(LLMA_SET)
    assert len(qf.questions) >= 20
    store = resolve_eval_store(qf, None)  # built from sample_data/llm-analysis into the cache
    assert store.exists()
    expected = _resolve_all(LLMA_SET, store)
    assert expected["la-layers"].value == 32
    con = duckdb.connect(str(store), read_only=True)
    nulls = con.execute(
        "SELECT count(compute_time_s), count(weights_location), count(power_w) FROM operators"
    ).fetchone()
    con.close()
    assert nulls == (0, 0, 0)  # what makes the NULL-column questions invalid there


def test_bad_expected_sql_names_the_question(sample_store: Path, tmp_path: Path) -> None:
    qfile = tmp_path / "q.yaml"
    qfile.write_text(
        "questions:\n"
        "  - id: nope\n"
        "    text: latency of xPU-Z?\n"
        "    type: query\n"
        "    valid: true\n"
        "    kind: number\n"
        "    expected_sql: SELECT latency_s FROM configs WHERE system_id = 'xpu-z'\n"
    )
    with pytest.raises(EvalError, match="'nope'.*no rows"):
        run_eval(qfile, sample_store)
    res = CliRunner().invoke(app, ["eval", str(qfile), "--store", str(sample_store)])
    assert res.exit_code == 2 and "'nope'" in res.output


# ---------------------------------------------------------------- the CI gate


def test_offline_backend_makes_no_wrong_answers_on_the_sample_set(sample_store: Path) -> None:
    """Issue 5: CI runs the offline backend over the question set and fails on any wrong answer."""
    res = CliRunner().invoke(
        app,
        ["eval", str(SAMPLE_SET), "--store", str(sample_store), "--backend", "offline", "--json"],
    )
    report = json.loads(res.output)
    assert report["n"] >= 80 and report["backend"] == "offline"
    wrong = [r for r in report["results"] if r["outcome"] in ("wrong", "answered_invalid")]
    details = "\n".join(
        f"[{r['id']}] {r['question']}\n   expected {r['expected'] or 'a refusal'}; {r['detail']}\n"
        f"   got: {r['answer'][:200]}"
        for r in wrong
    )
    assert res.exit_code == (1 if wrong else 0)
    assert not wrong, f"{len(wrong)} wrong answers (RS scores {report['scores']}):\n{details}"


# ---------------------------------------------------------------- scripted LLM backends

sys.path.insert(0, str(Path(__file__).parent))


def _mini_set(tmp_path: Path) -> Path:
    """Six sample-set questions (4 valid, 2 invalid) as a small file on the same store."""
    keep = [
        "cfg-latency-1",
        "sys-most-sram",
        "fits-1",
        "op-bound-1",
        "inv-sys-b200",
        "inv-metric-accuracy",
    ]
    import yaml

    data = yaml.safe_load(SAMPLE_SET.read_text())
    data["questions"] = [q for q in data["questions"] if q["id"] in keep]
    out = tmp_path / "mini.yaml"
    out.write_text(yaml.safe_dump(data))
    return out


@pytest.mark.parametrize("backend", ["gemini", "openai"])
def test_scripted_llm_backend_eval(backend: str, sample_store: Path, tmp_path: Path) -> None:
    """The same eval through the real clients against a scripted fake server on 127.0.0.1.

    The script answers 3 valid questions right, 1 wrong, refuses 1 invalid question and
    answers the other: this shows the plumbing and the arithmetic, not model quality.
    """
    from fake_llm_servers import FakeGemini, FakeOpenAI, answer, selection

    from coview.config import Settings

    qpath = _mini_set(tmp_path)
    expected = _resolve_all(qpath, sample_store)
    server = (FakeGemini() if backend == "gemini" else FakeOpenAI()).start()
    try:
        by_id = {q.id: q for q in load_questions(qpath).questions}
        script = {
            "cfg-latency-1": (by_id["cfg-latency-1"].expected_sql,
                              f"The decode latency is {expected['cfg-latency-1'].value * 1e3:.2f} ms."),
            "sys-most-sram": (by_id["sys-most-sram"].expected_sql, "xPU-A has the most SRAM."),
            "fits-1": (by_id["fits-1"].expected_sql, "No, it does not fit in memory."),
            # wrong on purpose: the data says memory-bound
            "op-bound-1": (by_id["op-bound-1"].expected_sql, "q_proj is compute-bound here."),
            "inv-sys-b200": None,
            "inv-metric-accuracy": ("SELECT name FROM models", "Its accuracy is high."),
        }  # fmt: skip
        for q in load_questions(qpath).questions:
            step = script[q.id]
            if step is None:
                server.push(selection(None, answerable=False, reason="no system B200"))
            else:
                server.push(selection(step[0]), answer(step[1]))
        if backend == "gemini":
            settings = Settings(backend="gemini", gemini_api_key="test-key", gemini_model="gemini-test",
                                gemini_base_url=server.base_url, gemini_api_version="v1beta",
                                llm_timeout_s=5.0)  # fmt: skip
        else:
            settings = Settings(backend="openai", openai_base_url=server.base_url,
                                openai_model="local-test", llm_timeout_s=5.0)  # fmt: skip
        report = run_eval(qpath, sample_store, settings)
    finally:
        server.stop()
    outcomes = {i.question.id: i.grade.outcome for i in report.items}
    assert outcomes == {
        "cfg-latency-1": "correct",
        "sys-most-sram": "correct",
        "fits-1": "correct",
        "op-bound-1": "wrong",
        "inv-sys-b200": "correct_refusal",
        "inv-metric-accuracy": "answered_invalid",
    }, [(i.question.id, i.grade.detail, i.result.answer) for i in report.items]
    n = report.n
    assert report.rs(0) == pytest.approx(100 * 4 / 6)
    assert report.rs(10) == pytest.approx(100 * (4 - 20) / 6)
    assert report.rs(n) == pytest.approx(100 * (4 - 2 * n) / n)
    assert [i.question.id for i in report.wrong] == ["op-bound-1", "inv-metric-accuracy"]
    text = report.render_text()
    assert f"| {backend} |" in text and "RS(N=6)" in text and "q_proj is compute-bound" in text
    js = report.to_json()
    assert js["table"]["query/valid"] == {"correct": 3, "total": 3}
    assert js["table"]["comparison/valid"] == {"correct": 0, "total": 1}
    assert js["outcomes"]["wrong"] == 1 and js["outcomes"]["answered_invalid"] == 1


# ---------------------------------------------------------------- self-consistency of the set


def canonical_answer(exp) -> str:
    """The expected value said plainly, the way a careful answerer would."""
    from coview.engine.eval.grader import _plain

    unit_words = {"s": " s", "bytes": " bytes", "bytes/s": " bytes/s", "tok/s": " tokens/s",
                  "j": " J", "w": " W", "ratio": "x", "percent": "%"}  # fmt: skip
    if exp.kind == "number":
        if exp.unit == "usd":
            return f"It is ${exp.value:.6g}."
        return f"It is {exp.value:.6g}{unit_words.get(exp.unit or '', '')}."
    if exp.kind == "name":
        return f"{exp.accept[0]} is the answer."
    if exp.kind == "boolean":
        return "Yes." if exp.value else "No."
    if exp.kind == "bound":
        return f"It is {exp.value}-bound."
    if exp.kind == "config":
        words = {"batch_size": "batch {}", "tp": "TP {}"}
        return (
            "It is "
            + ", ".join(words.get(k, "{}").format(_plain(v)) for k, v in exp.value.items())
            + "."
        )
    if exp.kind == "facts":  # one clause per row: "xPU-A sram; xPU-B hbm."

        def said(v):
            if isinstance(v, int | float) and not isinstance(v, bool):
                return f"{v:.6g}{unit_words.get(exp.unit or '', '')}"
            return _plain(v)

        return "; ".join(" ".join(said(v) for v in row.values()) for row in exp.value) + "."
    if exp.kind == "all_of":
        return " ".join(canonical_answer(p) for p in exp.parts)
    return f"{exp.value}."


@pytest.mark.parametrize(
    "qset",
    [SAMPLE_SET, LLMA_SET, QDIR / "table-one.yaml", QDIR / "table-one-mismatch.yaml"],
    ids=["sample", "llm-analysis", "table-one", "table-one-mismatch"],
)
def test_oracle_backend_scores_100(qset: Path, sample_store: Path, monkeypatch) -> None:
    """An oracle that runs each expected SQL through the real guard and runner and states the
    value plainly scores RS(N) = 100: the SQL passes the guard, the grader accepts the plain
    statement of every expected value, and invalid questions are refused."""
    from coview.engine import pipeline as pl
    from coview.engine.types import Answer, Evidence, Selection

    qf = load_questions(qset)
    store = sample_store if qf.store == "sample" else resolve_eval_store(qf, None)
    expected = _resolve_all(qset, store)
    by_text = {t.text.strip(): t for q in qf.questions for t in q.turns or [q]}

    class Oracle:
        name = "oracle"

        def select(self, question, history, context, feedback=None):
            q = by_text[question]
            if not q.valid:
                return Selection(answerable=False, reason=q.why or "not in the data")
            checks = q.all_of or [q]
            sql = [c.expected_sql for c in checks if c.expected_sql is not None]
            # re-simulated figures (and all_of parts' numbers) reach the answerer as
            # simulated evidence, the way the offline what-if passes its simulated rows
            exp = expected[q.id]
            nums = [
                v
                for part in (exp.parts or [exp])
                for v in (
                    [x for r in part.value for x in r.values()]
                    if part.kind == "facts"
                    else [part.value]
                )
                if isinstance(v, int | float) and not isinstance(v, bool)
            ]
            sim = [Evidence("-- simulated: the oracle's expected figures", ["value"],
                            [(v,) for v in nums])] if nums else []  # fmt: skip
            return Selection(
                answerable=True,
                sql=sql or ["SELECT 1 AS one"],
                intent={"id": q.id},
                simulated=sim,
            )

        def answer(self, question, selection, evidence, feedback=None):
            return Answer(canonical_answer(expected[selection.intent["id"]]))

    monkeypatch.setattr(pl, "make_backend", lambda name, store, settings: (Oracle(), Oracle()))
    report = run_eval(qset, store)
    bad = [(i.question.id, i.grade.outcome, i.grade.detail, i.result.answer) for i in report.items
           if not i.grade.is_correct]  # fmt: skip
    assert not bad
    assert report.rs(report.n) == pytest.approx(100.0)
