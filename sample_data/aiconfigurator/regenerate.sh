#!/bin/sh
# Regenerate the committed aiconfigurator 0.12.0 outputs (runs offline: the perf database and
# model configs ship in aiconfigurator-core). pip install aiconfigurator==0.12.0, then:
#   sh sample_data/aiconfigurator/regenerate.sh
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
aiconfigurator cli default --model-path meta-llama/Meta-Llama-3.1-70B --system h100_sxm \
  --total-gpus 8 --isl 2048 --osl 256 --backend trtllm --serving-mode agg \
  --save-dir "$TMP/agg" --no-color
aiconfigurator cli default --model-path meta-llama/Meta-Llama-3.1-8B --system h100_sxm \
  --total-gpus 8 --isl 2048 --osl 256 --backend trtllm --serving-mode disagg \
  --save-dir "$TMP/disagg" --no-color
cp "$TMP"/agg/meta-llama/*/agg/pareto.csv "$HERE/agg_llama3.1-70b_h100_sxm/pareto.csv"
cp "$TMP"/disagg/meta-llama/*/disagg/pareto.csv "$HERE/disagg_llama3.1-8b_h100_sxm/pareto.csv"
