"""Regenerate the committed GenZ outputs in this folder (needs `pip install "coview[genz]"`).

Runs GenZ (genz-llm) as its users do: prefill_moddeling / decode_moddeling per configuration,
then `model_df.to_csv(index=False)` into genz_<model>_<phase>_<system>_tp<N>_b<M>.csv, with
GenZ's own model and system registry names. Decode uses beam size 1 (GenZ defaults to 4).
Configurations GenZ refuses (weights + KV cache do not fit) get no file, as with GenZ itself.
manifest.json records GenZ's own latency (ms) and throughput per file, so the tests can check
that the ingested operator totals add up to GenZ's latency without GenZ installed.

    .venv/bin/python sample_data/genz/generate.py
"""

from __future__ import annotations

import json
from pathlib import Path

from coview.sim.genz_runtime import FIT_ERROR, genz, genz_version, private_data_dir

HERE = Path(__file__).resolve().parent
MODELS = ("llama2_7b", "llama2_70b")
SYSTEMS = ("H100_GPU", "MI300X", "TPUv5p")
PHASES = ("prefill", "decode")
TPS = (2, 4)
BATCHES = (1, 8)
INPUT_LEN, OUTPUT_LEN = 2048, 256


def main() -> None:
    g = genz()
    for old in HERE.glob("genz_*.csv"):
        old.unlink()
    manifest: dict[str, object] = {
        "genz_version": genz_version(),
        "input_tokens": INPUT_LEN,
        "output_tokens": OUTPUT_LEN,
        "bits": "bf16",
        "beam_size": 1,
        "files": {},
    }
    skipped = []
    with private_data_dir():
        for model in MODELS:
            for system in SYSTEMS:
                for phase in PHASES:
                    for tp in TPS:
                        for batch in BATCHES:
                            args = dict(
                                model=model,
                                batch_size=batch,
                                input_tokens=INPUT_LEN,
                                system_name=system,
                                bits="bf16",
                                tensor_parallel=tp,
                            )
                            try:
                                if phase == "prefill":
                                    out = g.prefill_moddeling(**args)
                                else:
                                    out = g.decode_moddeling(output_tokens=OUTPUT_LEN, Bb=1, **args)
                            except ValueError as exc:
                                if FIT_ERROR not in str(exc):
                                    raise
                                skipped.append(f"{model} {phase} {system} tp{tp} b{batch}")
                                continue
                            name = f"genz_{model}_{phase}_{system}_tp{tp}_b{batch}.csv"
                            out["model_df"].to_csv(HERE / name, index=False)
                            manifest["files"][name] = {
                                "latency_ms": float(out["Latency"]),
                                "throughput": float(out["Throughput"]),
                            }
    manifest["skipped_do_not_fit"] = skipped
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(manifest['files'])} files; {len(skipped)} configs do not fit")


if __name__ == "__main__":
    main()
