"""Installed users reach the bundled sample data without a checkout: `coview samples` prints
where it lives and `coview eval --sample NAME` runs a bundled question set (item 14)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from coview.cli import app

runner = CliRunner()


def test_samples_lists_existing_paths():
    res = runner.invoke(app, ["samples"])
    assert res.exit_code == 0, res.output
    paths = [Path(w) for line in res.stdout.splitlines() for w in line.split() if "/" in w]
    assert any(p.name == "llama2-70b-serving.yaml" for p in paths)
    assert any(p.name == "xpu-mismatch" for p in paths)
    assert paths and all(p.exists() for p in paths)


def test_eval_sample_runs_the_bundled_file(monkeypatch):
    import coview.engine.eval as ev

    seen = {}

    def fake(questions, store, settings, as_json=False):
        seen["q"] = questions
        return 0

    monkeypatch.setattr(ev, "run_eval_cli", fake)
    res = runner.invoke(app, ["eval", "--sample", "llm-analysis", "--backend", "offline"])
    assert res.exit_code == 0, res.output
    assert seen["q"].name == "llm-analysis.yaml" and seen["q"].exists()


def test_eval_sample_unknown_or_ambiguous_is_refused(tmp_path):
    res = runner.invoke(app, ["eval", "--sample", "nope"])
    assert res.exit_code == 2 and "no bundled question set 'nope'" in res.stderr
    assert "llama2-70b-serving" in res.stderr
    res = runner.invoke(app, ["eval", str(tmp_path / "q.yaml"), "--sample", "llm-analysis"])
    assert res.exit_code == 2 and "not both" in res.stderr
    res = runner.invoke(app, ["eval"])
    assert res.exit_code == 2 and "--sample NAME" in res.stderr


def test_help_texts_name_arguments_plainly():
    """Usage lines read `PATH...`, not typer's `{paths}...` or `<list[Path]>` (item 15)."""
    res = runner.invoke(app, ["ingest", "--help"])
    assert res.exit_code == 0
    assert "Usage: coview ingest [OPTIONS] PATH..." in res.stdout
    assert "{" not in res.stdout and "<list" not in res.stdout and "<path>" not in res.stdout
    assert "bundled sample" not in res.stdout  # ingest writes a store; it has no sample default
    res = runner.invoke(app, ["ask", "--help"])
    assert "Usage: coview ask [OPTIONS] QUESTION" in res.stdout and "<str>" not in res.stdout
    res = runner.invoke(app, ["--help"])
    assert "--install-completion" in res.stdout and "export-configs" in res.stdout


def test_plain_parameters_skip_pydantic_and_still_convert(tmp_path):
    """typer 0.29 would import pydantic to coerce every parameter; plain ones do without it,
    and still get their types (Path, list of Path, bool) and clear errors."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from coview.cli import app\n"
        "try:\n"
        "    app(['simulate', 'nope.toml', '--out', 'x'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('pydantic' in sys.modules)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "False", proc.stdout + proc.stderr
    from coview.cli import _PlainCoercion

    class P:
        name = "x"

    assert _PlainCoercion(bool, False).coerce("yes", P, None) is True
    assert _PlainCoercion(type(tmp_path), True).coerce(["a", "b"], P, None)[1].name == "b"
