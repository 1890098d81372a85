#!/usr/bin/env bash
# The whole recipe of the shipped ponder-tiny-sft in one command:
#   1. cold-start SFT on solver traces (2,000 steps);
#   2. a fine-tune on countdown traces that search every four-number state to its end, two numbers' results on one
#      line, and try the moves at three numbers or fewer in a fixed order (--countdown-flat-four, at max-len 2,048:
#      these searches need about 1,900 thinking tokens; benchmarks/results/experiments/countdown_trace_redesigns.md §6);
#   3. the same fine-tune continued for 500 steps on new problems (seed 1) at a lower peak learning rate: it halved the
#      wrong results in the flat lines (countdown_trace_redesigns.md §7);
#   4. the same again on other new problems (seed 2) at a lower peak learning rate still (§7);
#   5. the same again (seed 3) at max-len 3,072: the context widened from 2,048 (rotary positions have no weights;
#      the longest searches, left out at 2,048, teach the new positions), so the `high` budget can grow to 2,900
#      tokens, which 91-95% of the solver's level 4-5 searches fit against 79-86% at 1,900 (§8);
#   6. the same again at max-len 3,072 (seed 4, lr 1.2e-4): fewer loops (§9);
#   7. the same again (seed 5) at max-len 4,096, so `high` can grow to 3,900 tokens, which 96-97% of those searches
#      fit (§9);
#   8. the same again (seed 6, lr 1e-4), then the uniform average of the seventh and eighth stages' weights
#      (scripts/average_checkpoints.py; §10);
#   9. the same again from that average (seed 7, lr 1e-4): level 5 321 of 400 problems against the seventh's 306 (§11);
#  10. the uniform average of the eighth and ninth stages, then the same again from it (seed 8, lr 1e-4): levels 5 and 4
#      331 and 335 of 400 problems against the ninth's 321 and 322 (§12);
#  11-14. rechecks (benchmarks/results/experiments/rechecks.md): after some finished traces the word `check` is
#      forced where the thinking ended and the trace looks again (--recheck-weights: how often 0, 1, 2 looks), so an
#      effort can buy more looks (ponder.json `rechecks`, engine-forced); four runs from the tenth stage (seeds 21-23
#      at 0/1/2 looks weighted 2:1:1, lr 2e-4, 1.5e-4, 1e-4; then seed 24 at 1:1:2), then one with level 2 drawn
#      twice as often (seed 26, --level-weights), shipped with a vote over the passes (scripts/ship.py --vote; §1-4,
#      §6). The shipped run started from the tenth stage's bf16 weights, this script from its float32 ones.
# Each stage resumes where a stop left it: run the same command again.
# Usage: scripts/sft_recipe.sh [RUN_FOLDER]   (default runs/sft-recipe)
set -euo pipefail
out="${1:-runs/sft-recipe}"
mkdir -p "$out"
resume() { if [ -e "$1" ]; then echo --resume; fi; }  # a run's own leftovers: its last checkpoint

[ -e "$out/cold/final" ] || ponder train sft --out "$out/cold" --steps 2000 --eval-every 500 $(resume "$out/cold/last")
[ -e "$out/flat-four/final" ] || ponder train sft --init "$out/cold/final" --out "$out/flat-four" --steps 600 \
    --lr 5e-4 --warmup 20 --eval-every 0 --max-len 2048 --countdown-flat-four $(resume "$out/flat-four/last")
[ -e "$out/flat-four-more/final" ] || ponder train sft --init "$out/flat-four/final" --out "$out/flat-four-more" \
    --steps 500 --lr 2e-4 --warmup 20 --eval-every 0 --max-len 2048 --countdown-flat-four --seed 1 \
    $(resume "$out/flat-four-more/last")
[ -e "$out/flat-four-more2/final" ] || ponder train sft --init "$out/flat-four-more/final" \
    --out "$out/flat-four-more2" --steps 500 --lr 1.5e-4 --warmup 20 --eval-every 0 --max-len 2048 \
    --countdown-flat-four --seed 2 $(resume "$out/flat-four-more2/last")
[ -e "$out/wide/final" ] || ponder train sft --init "$out/flat-four-more2/final" --out "$out/wide" --steps 500 \
    --lr 1.5e-4 --warmup 20 --eval-every 0 --max-len 3072 --countdown-flat-four --seed 3 $(resume "$out/wide/last")
[ -e "$out/wide-2/final" ] || ponder train sft --init "$out/wide/final" --out "$out/wide-2" --steps 500 \
    --lr 1.2e-4 --warmup 20 --eval-every 0 --max-len 3072 --countdown-flat-four --seed 4 $(resume "$out/wide-2/last")
[ -e "$out/wider/final" ] || ponder train sft --init "$out/wide-2/final" --out "$out/wider" --steps 500 \
    --lr 1.2e-4 --warmup 20 --eval-every 0 --max-len 4096 --countdown-flat-four --seed 5 $(resume "$out/wider/last")
[ -e "$out/wider-2/final" ] || ponder train sft --init "$out/wider/final" --out "$out/wider-2" --steps 500 \
    --lr 1e-4 --warmup 20 --eval-every 0 --max-len 4096 --countdown-flat-four --seed 6 $(resume "$out/wider-2/last")
[ -e "$out/wider-soup/final" ] || python "$(dirname "$0")/average_checkpoints.py" "$out/wider/final" \
    "$out/wider-2/final" --out "$out/wider-soup/final"
[ -e "$out/wider-3/final" ] || ponder train sft --init "$out/wider-soup/final" --out "$out/wider-3" --steps 500 \
    --lr 1e-4 --warmup 20 --eval-every 0 --max-len 4096 --countdown-flat-four --seed 7 --save-every 50 \
    $(resume "$out/wider-3/last")
[ -e "$out/wider-soup2/final" ] || python "$(dirname "$0")/average_checkpoints.py" "$out/wider-2/final" \
    "$out/wider-3/final" --out "$out/wider-soup2/final"
[ -e "$out/wider-4/final" ] || ponder train sft --init "$out/wider-soup2/final" --out "$out/wider-4" --steps 500 \
    --lr 1e-4 --warmup 20 --eval-every 0 --max-len 4096 --countdown-flat-four --seed 8 --save-every 50 \
    $(resume "$out/wider-4/last")
recheck() {  # NAME INIT SEED LR STEPS RECHECK_WEIGHTS [MORE FLAGS]
    local name=$1 init=$2 seed=$3 lr=$4 steps=$5 weights=$6
    shift 6
    [ -e "$out/$name/final" ] || ponder train sft --init "$init" --out "$out/$name" --steps "$steps" \
        --batch-tokens 8192 --lr "$lr" --warmup 20 --eval-every 0 --max-len 4096 --countdown-flat-four \
        --task-weights 4,1 --recheck-weights "$weights" --seed "$seed" --save-every 50 "$@" \
        $(resume "$out/$name/last")
}
recheck recheck-1 "$out/wider-4/final" 21 2e-4 400 2,1,1
recheck recheck-2 "$out/recheck-1/final" 22 1.5e-4 300 2,1,1
recheck recheck-3 "$out/recheck-2/final" 23 1e-4 250 2,1,1
recheck recheck-4 "$out/recheck-3/final" 24 1e-4 300 1,1,2
recheck recheck-level2 "$out/recheck-4/final" 26 1e-4 300 1,1,2 --level-weights 1,2,1.5,2,2.5
echo "$out/recheck-level2/final"
