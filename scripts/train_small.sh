#!/usr/bin/env bash
# The recipe of the shipped models/htrconvtext-small.pt (see models/htrconvtext-small.md): cut the line crops
# once, train the `small` config for MINUTES on general/train + synthetic lines, selecting by CER on a subset
# of general/validation pages (phase 1), then continue from that model with a fresh warm-up and cosine cycle
# for MINUTES2 (phase 2, a warm restart). After an interruption, run the script again with RESUME=1: the
# unfinished phase goes on from its last checkpoint. MINUTES2=0 skips phase 2.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
MINUTES=${MINUTES:-95}
MINUTES2=${MINUTES2:-120}
OUT=${OUT:-models/htrconvtext-small.pt}
WORK=${WORK:-.cache/train-small}
RESUME=${RESUME:+--resume}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
mkdir -p "$WORK"
[ -f .cache/lines/train.npz ] || python3 scripts/build_line_cache.py --shared "$SHARED" --out .cache/lines
[ -f .cache/lines/synthetic-1333.npz ] || python3 -c "
from htrgui.core.training.data import LineSet
s = LineSet.load('.cache/lines/synthetic.npz'); s.subset(range(1, len(s), 3)).save('.cache/lines/synthetic-1333.npz')"
DATA=(--train .cache/lines/train.npz .cache/lines/synthetic-1333.npz --val .cache/lines/val-subset.npz)
PHASE1="$WORK/phase1.pt"
[ "$MINUTES2" = 0 ] && PHASE1="$OUT"
if [ ! -f "$WORK/phase1.done" ]; then
  python3 -m htrgui train "${DATA[@]}" -o "$PHASE1" --config small --max-minutes "$MINUTES" --val-every 10 \
    --warmup-steps 200 $RESUME
  touch "$WORK/phase1.done"
  RESUME=""  # phase 2 starts fresh
fi
[ "$MINUTES2" = 0 ] && exit 0
python3 -m htrgui train "${DATA[@]}" -o "$OUT" --base "$PHASE1" --update-bn --lr 5e-4 --warmup-steps 100 \
  --max-minutes "$MINUTES2" --val-every 10 $RESUME
