#!/usr/bin/env bash
# The whole recipe of the shipped ponder-tiny-sft in one command:
#   1. cold-start SFT on solver traces (2,000 steps);
#   2. a fine-tune on countdown traces in a fixed move order (--countdown-systematic,
#      benchmarks/results/experiments/systematic_order.md): the next move follows from the last one, so the search
#      stops circling at three numbers (benchmarks/results/experiments/two_stage_recipe.md).
# Each stage resumes where a stop left it: run the same command again.
# Usage: scripts/sft_recipe.sh [RUN_FOLDER]   (default runs/sft-recipe)
set -euo pipefail
out="${1:-runs/sft-recipe}"
mkdir -p "$out"
resume() { if [ -e "$1" ]; then echo --resume; fi; }  # a run's own leftovers: its last checkpoint

[ -e "$out/cold/final" ] || ponder train sft --out "$out/cold" --steps 2000 --eval-every 500 $(resume "$out/cold/last")
[ -e "$out/systematic/final" ] || ponder train sft --init "$out/cold/final" --out "$out/systematic" --steps 400 \
    --lr 5e-4 --warmup 20 --eval-every 0 --max-len 1024 --countdown-systematic $(resume "$out/systematic/last")
echo "$out/systematic/final"
