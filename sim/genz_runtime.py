"""Calling GenZ (PyPI ``genz-llm``) as a library, with its pitfalls handled in one place.

GenZ is an optional extra (``pip install "coview[genz]"``). Its pitfalls, and what this module
does about each:
- ``import GenZ`` takes about 5 s: it is imported once, on first use, and kept.
- every ``prefill_moddeling`` / ``decode_moddeling`` call writes a model CSV into
  ``/tmp/genz/data/model`` and never removes it: calls run inside ``private_data_dir()``,
  which points GenZ's data path at a temporary directory that is deleted afterwards.
- ``decode_moddeling`` defaults to beam size 4 (``Bb=4``): we always pass ``Bb=1``.
- a configuration whose weights + KV cache exceed the chip's memory raises ``ValueError``
  instead of returning: ``run_config`` then runs GenZ's own modelling steps without that check
  (the same calls ``*_moddeling`` makes after it) and reports ``fits_memory`` False.
GenZ's units: times in ms, "MB" = 2^20 bytes, "GB/s" = 2^30 bytes/s, TFLOPS = 1e12 FLOP/s.
"""

from __future__ import annotations

import importlib.metadata
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

_LOCK = threading.RLock()  # re-entrant: run_config imports GenZ inside private_data_dir()
_GENZ: Any = None
_DEFAULT_PATHS = ("/tmp/genz/data", "/tmp/genz/data/")
FIT_ERROR = "would not fit on chip"


class GenZUnavailable(RuntimeError):
    """GenZ is not installed: say how to get it."""


def genz_version() -> str | None:
    """The installed genz-llm version, or None."""
    try:
        return importlib.metadata.version("genz-llm")
    except importlib.metadata.PackageNotFoundError:
        return None


def genz() -> Any:
    """The GenZ package, imported once (it takes seconds); GenZUnavailable if not installed."""
    global _GENZ
    with _LOCK:
        if _GENZ is None:
            try:
                import GenZ  # noqa: N813  (the package's own name)
            except ImportError as exc:
                raise GenZUnavailable(
                    "GenZ is not installed; install the extra: pip install 'coview[genz]' "
                    "(PyPI genz-llm)"
                ) from exc
            _GENZ = GenZ
        return _GENZ


def system_registry() -> dict[str, dict[str, Any]]:
    """GenZ's own system registry (Systems.system_configs), or {} if GenZ is not installed."""
    try:
        from Systems.system_configs import system_configs
    except ImportError:
        return {}
    return {str(k): dict(v) for k, v in system_configs.items()}


def model_config(name: str) -> Any | None:
    """GenZ's ModelConfig for a registry name (e.g. 'llama2_70b'), or None if unknown/absent."""
    try:
        from GenZ.Models.default_models import MODEL_DICT
    except ImportError:
        return None
    return MODEL_DICT.get_model(name)


@contextmanager
def private_data_dir() -> Iterator[str]:
    """Point GenZ's model-CSV directory at a temporary one for the duration, then delete it.

    GenZ binds '/tmp/genz/data' as a default argument of the functions that write and read the
    CSVs; swapping those defaults is the only way to redirect it without editing GenZ.
    """
    g = genz()
    from GenZ import analyse_model
    from GenZ.Models import get_language_model as glm

    funcs = [
        glm.create_full_prefill_model,
        glm.create_full_decode_model,
        glm.create_full_chunked_model,
        analyse_model.get_model_df,
    ]
    del g
    with _LOCK, tempfile.TemporaryDirectory(prefix="coview-genz-") as tmp:
        saved = [f.__defaults__ for f in funcs]
        try:
            for f in funcs:
                if f.__defaults__:
                    f.__defaults__ = tuple(
                        tmp if d in _DEFAULT_PATHS else d for d in f.__defaults__
                    )
            yield tmp
        finally:
            for f, d in zip(funcs, saved, strict=True):
                f.__defaults__ = d


@dataclass
class GenZRun:
    """One GenZ call: its latency (ms), its throughput, its per-operator table, fit or not."""

    latency_ms: float
    throughput: float | None
    model_df: Any  # pandas DataFrame, as GenZ returns it
    fits_memory: bool
    note: str | None = None


def run_config(
    model: Any,
    system: Any,
    phase: str,
    batch_size: int,
    input_len: int,
    output_len: int,
    tp: int,
    bits: str = "bf16",
    system_eff: float = 1.0,
) -> GenZRun:
    """Run GenZ for one configuration (call inside ``private_data_dir()``).

    ``model`` is a GenZ registry name or ModelConfig; ``system`` a registry name or a dict
    {'Flops', 'Memory_size', 'Memory_BW', 'ICN', 'real_values': True} in GenZ's units.
    """
    g = genz()
    common = {
        "model": model,
        "batch_size": batch_size,
        "input_tokens": input_len,
        "system_name": system,
        "system_eff": system_eff,
        "bits": bits,
        "tensor_parallel": tp,
    }
    try:
        if phase == "prefill":
            out = g.prefill_moddeling(**common)
        else:
            out = g.decode_moddeling(output_tokens=output_len, Bb=1, **common)
        return GenZRun(float(out["Latency"]), float(out["Throughput"]), out["model_df"], True)
    except ValueError as exc:
        if FIT_ERROR not in str(exc):
            raise
        note = " ".join(str(exc).split())
    # Does not fit: the same steps *_moddeling runs after its memory check (tp only, pp=1).
    from GenZ.analyse_model import get_model_df, get_summary_table
    from GenZ.LLM_inference.utils import get_inference_system
    from GenZ.Models import create_full_decode_model, create_full_prefill_model
    from GenZ.unit import Unit

    unit = Unit()
    sysobj = get_inference_system(system_name=system, bits=bits, ceff=system_eff, meff=system_eff)
    if phase == "prefill":
        name = create_full_prefill_model(
            name=model, input_sequence_length=input_len, tensor_parallel=tp
        )
        df = get_model_df(name, sysobj, unit, batch_size, intermediate_on_chip=True)
    else:
        name = create_full_decode_model(
            name=model,
            input_sequence_length=input_len,
            output_gen_tokens=output_len,
            tensor_parallel=tp,
        )
        df = get_model_df(
            name, sysobj, unit, batch_size, intermediate_on_chip=True, beam_merge=False, beam_size=1
        )
    latency = float(get_summary_table(df, unit)[f"Latency ({unit.unit_time})"].values[0])
    thrpt = 1000 * batch_size / latency if latency else None
    return GenZRun(latency, thrpt, df, False, note)
