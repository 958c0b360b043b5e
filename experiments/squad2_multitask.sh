#!/usr/bin/env bash
# QA alone vs QA + CoLA + MRPC (+ SWAG's 10-row sample) on MiniLM, as in docs/results.md.
# SQuAD 2.0: the 12 dev articles in ../shared/data/squad2, the first 9 for training and the
# last 3 for evaluation. Usage: bash experiments/squad2_multitask.sh [RUNS_DIR]
set -euo pipefail
RUNS=${1:-runs/squad2}
DATA=../shared/data
mtdnn-keras split-articles "$DATA/squad2/dev-v2.0.articles-01-12.json" --train-articles 9 \
  --output-dir "$RUNS/data"
COMMON=(--train-file "squad2=$RUNS/data/train.json" --eval-file "squad2=$RUNS/data/dev.json"
        --epochs 3 --learning-rate 3e-4 --batch-size 32 --seed 0 --verbose 2)
mtdnn-keras fit --tasks squad2 --output-dir "$RUNS/qa_only" "${COMMON[@]}"
mtdnn-keras fit --tasks squad2,cola,mrpc,swag_jsonl --data-dir "$DATA/glue" \
  --train-file "swag_jsonl=$DATA/swag/sample.jsonl" --eval-file "swag_jsonl=$DATA/swag/sample.jsonl" \
  --mixing weights:squad2=0.8,cola=0.08,mrpc=0.08,swag_jsonl=0.04 --main-task squad2 \
  --select-by squad2 --output-dir "$RUNS/qa_cola_mrpc_swag" "${COMMON[@]}"
