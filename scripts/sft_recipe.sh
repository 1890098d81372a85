#!/usr/bin/env bash
# The whole recipe of the shipped ponder-tiny-sft in one command:
#   1. cold-start SFT on solver traces;
#   2. one round of rejection sampling (DeepSeek-R1's third stage): decode countdown training problems under the
#      task's guard, keep the verified searches, fine-tune on them in place of most countdown traces;
#   3. one round of the same stage from RL checkpoints (benchmarks/results/experiments/rl_fixes_sft.md): the model's
#      unguarded failures on 4,000 level-2 problems, three GRPO runs on them, the RL models' verified fixes paired
#      with as many solved searches, and a fine-tune of the stage-2 model on them beside its own guarded searches;
#   4. a fine-tune on countdown traces in a fixed move order (--countdown-systematic,
#      benchmarks/results/experiments/systematic_order.md): the next move follows from the last one, so the search
#      stops circling at three numbers.
# Each stage resumes where a stop left it: run the same command again.
# Usage: scripts/sft_recipe.sh [RUN_FOLDER]   (default runs/sft-recipe)
set -euo pipefail
out="${1:-runs/sft-recipe}"
mkdir -p "$out"
resume() { if [ -e "$1" ]; then echo --resume; fi; }  # a run's own leftovers: its last checkpoint, its partial file

[ -e "$out/cold/final" ] || ponder train sft --out "$out/cold" $(resume "$out/cold/last")
[ -e "$out/searches.jsonl" ] || ponder train searches --model "$out/cold/final" --levels 2,3,4,5 --n 400 --seed 0 \
    --out "$out/searches.jsonl" $(resume "$out/searches.jsonl.partial")
[ -e "$out/rs/final" ] || ponder train sft --init "$out/cold/final" --out "$out/rs" --steps 300 --lr 5e-4 \
    --warmup 20 --eval-every 0 --own-searches "$out/searches.jsonl" $(resume "$out/rs/last")

rs="$out/rs/final"
[ -e "$out/rs-searches.jsonl" ] || ponder train searches --model "$rs" --levels 2,3,4,5 --n 400 --seed 0 \
    --out "$out/rs-searches.jsonl" $(resume "$out/rs-searches.jsonl.partial")
[ -e "$out/l2.jsonl" ] || ponder train searches --model "$rs" --levels 2 --n 4000 --no-guard --seed 6 \
    --out "$out/l2.jsonl" $(resume "$out/l2.jsonl.partial")
grpo() {  # grpo NAME FLAGS...: 40 GRPO steps on the failures of l2.jsonl at the eval's budget
    local name="$1"; shift
    [ -e "$out/$name/final" ] || ponder train grpo --init "$rs" --out "$out/$name" --steps 40 --max-thinking 1024 \
        --problems "$out/l2.jsonl" --eval-every 0 "$@" $(resume "$out/$name/last")
}
grpo grpo
grpo grpo-kl --beta 0.1 --seed 1
grpo grpo-anchor --anchor "$out/l2.jsonl" --seed 2
[ -e "$out/fixes.jsonl" ] || ponder train fixes --models "$out/grpo/final,$out/grpo-kl/final,$out/grpo-anchor/final" \
    --searches "$out/l2.jsonl" --out "$out/fixes.jsonl"
[ -e "$out/fix/final" ] || ponder train sft --init "$rs" --out "$out/fix" --steps 150 --lr 2e-4 --warmup 10 \
    --eval-every 0 --own-searches "$out/rs-searches.jsonl,$out/fixes.jsonl" $(resume "$out/fix/last")
[ -e "$out/systematic/final" ] || ponder train sft --init "$out/fix/final" --out "$out/systematic" --steps 400 \
    --lr 5e-4 --warmup 20 --eval-every 0 --max-len 1024 --countdown-systematic $(resume "$out/systematic/last")
echo "$out/systematic/final"
