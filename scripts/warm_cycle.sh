#!/usr/bin/env bash
# One warm training cycle of the shipped model as phases 7 and 8 ran it (models/htrconvtext-small.md): build
# whatever line caches are missing, render fresh synthetic English lines, train two warm restarts from BASE
# side by side (one torch thread each: on a 2-core CPU two one-thread runs make 1.7x the lines per second of
# one two-thread run), then average them (scripts/soup_models.py; written only if better than both).
#
#   BASE=models/htrconvtext-small.pt SYN_SEED=505 RUNS="a:11 b:12:0" MINUTES=100 scripts/warm_cycle.sh
#
# RUNS: NAME:SEED[:DROPOUT] per run. SEG=1 adds the training lines as the app's segmentation cuts them
# (build_repo_cache --crops segmentation, build_line_cache --seg-crops). REPOS: the folder with a clone (or
# bare copy) of every repository of scripts/training_repos.json. RESUME=1 goes on from the runs' last
# checkpoints after an interruption. DRY=1 prints the commands only. Writes WORK/soup.pt (and the runs), BASE's
# next phase (soup_models.py --ship-from): copy it to models/ and write its card.
# The runs import modules lazily for hours: edit the checkout meanwhile only if the script runs from a copy
# (git worktree add ../cycle HEAD).
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
REPOS=${REPOS:-repos}
BASE=${BASE:-models/htrconvtext-small.pt}
SYN_SEED=${SYN_SEED:-505}
RUNS=${RUNS:-"a:11 b:12"}
MINUTES=${MINUTES:-100}
LR=${LR:-3e-4}
SEG=${SEG:-0}
WORK=${WORK:-.cache/cycle}
L=.cache/lines
RUN=${DRY:+echo}
RESUME=${RESUME:+--resume}
mkdir -p "$WORK"

[ -f $L/train.npz ] || $RUN python3 scripts/build_line_cache.py --shared "$SHARED" --out $L
[ -n "$(ls $L/repos/*-train.npz 2>/dev/null)" ] || \
  $RUN python3 scripts/build_repo_cache.py --repos "$REPOS" --out $L/repos --shared "$SHARED" --jobs 2
MIX=train-mix SEGFLAG=""
if [ "$SEG" = 1 ]; then
  MIX=train-mix-seg SEGFLAG=--seg-crops
  [ -f $L/train-seg.npz ] || $RUN python3 scripts/build_line_cache.py --shared "$SHARED" --out $L --seg-only
  [ -n "$(ls $L/repos/*-train-seg.npz 2>/dev/null)" ] || $RUN python3 scripts/build_repo_cache.py \
    --repos "$REPOS" --out $L/repos --shared "$SHARED" --jobs 2 --crops segmentation
fi
[ -f $L/$MIX.npz ] || $RUN python3 scripts/assemble_training_set.py --lines $L --repeat stanford=4 poilus=2 \
  --name $MIX $SEGFLAG
SYN=$L/synthetic-en-$SYN_SEED.npz
[ -f "$SYN" ] || $RUN python3 scripts/build_synthetic.py --words words-american-english.txt=0.5 \
  words-british-english.txt=0.5 --count 8000 --seed "$SYN_SEED" --out "$SYN"

pids=() outs=()
for run in $RUNS; do
  IFS=: read -r name seed dropout <<< "$run"
  outs+=("$WORK/$name.pt")
  cmd=(python3 -m htrgui train --train $L/$MIX.npz "$SYN" --val $L/val-all.npz -o "$WORK/$name.pt"
       --base "$BASE" --update-bn --lr "$LR" --warmup-steps 150 --max-minutes "$MINUTES" --val-every 12
       --threads 1 --seed "$seed" ${dropout:+--dropout "$dropout"} --keep-worse $RESUME)
  if [ -n "$RUN" ]; then echo "OMP_NUM_THREADS=1 ${cmd[*]} > $WORK/$name.log 2>&1 &"; continue; fi
  OMP_NUM_THREADS=1 "${cmd[@]}" > "$WORK/$name.log" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || echo "a run failed: see $WORK/*.log" >&2; done
$RUN python3 scripts/soup_models.py "${outs[@]}" -o "$WORK/soup.pt" --val $L/val-all.npz \
  --bn-lines $L/$MIX.npz --threads 2 --ship-from "$BASE" | tee "$WORK/soup.json"
