#!/usr/bin/env bash
# Regenerate the llm-analysis sample outputs in this folder with the real tool.
#
#   pip install llm-analysis==0.2.2
#   bash sample_data/llm-analysis/regenerate.sh
#
# Runs offline (HF_HUB_OFFLINE=1) on the tool's bundled model and GPU configs. The tool is
# deterministic, so a rerun with 0.2.2 rewrites the same files. Only the *-summary.json files
# are kept (the -summary-readable.txt twins are deleted). The tool's file name carries model,
# GPU, dtype and parallelism but not the batch size, so each run adds the suffix -bs<batch>
# (--output_file_suffix) to keep runs that differ only in batch apart. The GPU prices are our assumptions,
# passed to the tool so that its summaries carry cost per 1k tokens.
set -euo pipefail

OUT="$(cd "$(dirname "$0")" && pwd)"
export HF_HUB_OFFLINE=1

SEQ_LEN=2048          # prompt tokens
GEN=256               # tokens to generate
FE=0.7                # flops efficiency
HBME=0.9              # HBM bandwidth efficiency
declare -A PRICE=([h100-sxm-80gb]=4.00 [a100-sxm-80gb]=2.50)   # USD per GPU-hour (assumed)

run() {  # model gpu dtype tp batch
  python -m llm_analysis.analysis infer \
    --model_name "$1" --gpu_name "$2" --dtype_name "$3" \
    --tp_size "$4" --pp_size 1 --dp_size 1 --batch_size_per_gpu "$5" \
    --seq_len "$SEQ_LEN" --num_tokens_to_generate "$GEN" \
    --flops_efficiency "$FE" --hbm_memory_efficiency "$HBME" \
    --cost_per_gpu_hour "${PRICE[$2]}" \
    --output_dir "$OUT" --output_file_suffix="-bs$5" --log_level ERROR \
    >/dev/null 2>"$OUT/.stderr" || { cat "$OUT/.stderr" >&2; exit 1; }
  rm -f "$OUT/.stderr"
}

rm -f "$OUT"/*-summary.json "$OUT"/*-summary-readable.txt

for gpu in h100-sxm-80gb a100-sxm-80gb; do
  # Llama-2-70B: two dtypes, TP 2/4/8, batch 1 and 32.
  for dtype in w16a16e16 w8a8e16; do
    for tp in 2 4 8; do
      for batch in 1 32; do
        run upstage_Llama-2-70b-instruct-v2 "$gpu" "$dtype" "$tp" "$batch"
      done
    done
  done
  # Llama-2-7B: bf16, TP 1/2, batch 1 and 32.
  for tp in 1 2; do
    for batch in 1 32; do
      run NousResearch_Llama-2-7b-hf "$gpu" w16a16e16 "$tp" "$batch"
    done
  done
done
# Llama-2-70B with 4-bit weights on one H100 (fits on a single chip).
for batch in 1 32; do
  run upstage_Llama-2-70b-instruct-v2 h100-sxm-80gb w4a16e16 1 "$batch"
done

rm -f "$OUT"/*-summary-readable.txt
echo "wrote $(ls "$OUT"/*-summary.json | wc -l) summaries to $OUT"
