"""`coview eval`: grade answers the way the VIEW paper does, with the reliability score RS(c).

Question files: sample_data/questions/README.md. Grading rules: coview.engine.eval.grader.
"""

from __future__ import annotations

from coview.engine.eval.grader import Expected, Grade, grade, grade_answer, reliability_score
from coview.engine.eval.questions import EvalError, Question, QuestionFile, load_questions
from coview.engine.eval.run import EvalItem, EvalReport, run_eval, run_eval_cli

__all__ = [
    "EvalError",
    "EvalItem",
    "EvalReport",
    "Expected",
    "Grade",
    "Question",
    "QuestionFile",
    "grade",
    "grade_answer",
    "load_questions",
    "reliability_score",
    "run_eval",
    "run_eval_cli",
]
