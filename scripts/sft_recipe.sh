#!/usr/bin/env bash
# The whole recipe of the shipped ponder-tiny-sft in one command: cold-start SFT on solver traces, then one round of
# rejection sampling (DeepSeek-R1's third stage): decode countdown training problems under the task's guard, keep
# the verified searches, fine-tune on them in place of most countdown traces. Each stage resumes where a stop left
# it: run the same command again. Usage: scripts/sft_recipe.sh [RUN_FOLDER]   (default runs/sft-recipe)
set -euo pipefail
out="${1:-runs/sft-recipe}"
mkdir -p "$out"
resume() { if [ -e "$1" ]; then echo --resume; fi; }  # a run's own leftovers: its last checkpoint, its partial file

[ -e "$out/cold/final" ] || ponder train sft --out "$out/cold" $(resume "$out/cold/last")
[ -e "$out/searches.jsonl" ] || ponder train searches --model "$out/cold/final" --levels 2,3,4,5 --n 400 --seed 0 \
    --out "$out/searches.jsonl" $(resume "$out/searches.jsonl.partial")
[ -e "$out/rs/final" ] || ponder train sft --init "$out/cold/final" --out "$out/rs" --steps 300 --lr 5e-4 \
    --warmup 20 --eval-every 0 --own-searches "$out/searches.jsonl" $(resume "$out/rs/last")
echo "$out/rs/final"
