"""Bundled sample sweeps (native format); see README.md in this folder."""

from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent
DEFAULT_SWEEP = SAMPLE_DIR / "llama2-70b-serving"
MISMATCH_SWEEP = SAMPLE_DIR / "xpu-mismatch"
