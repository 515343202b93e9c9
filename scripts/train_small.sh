#!/usr/bin/env bash
# The recipe of the shipped models/htrconvtext-small.pt (see models/htrconvtext-small.md):
# cut the line crops once, then train the `small` config for MINUTES on general/train + synthetic lines,
# selecting by CER on a subset of general/validation pages. Resumable: add --resume to the last command.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
MINUTES=${MINUTES:-95}
OUT=${OUT:-models/htrconvtext-small.pt}
[ -f .cache/lines/train.npz ] || python3 scripts/build_line_cache.py --shared "$SHARED" --out .cache/lines
[ -f .cache/lines/synthetic-1333.npz ] || python3 -c "
from htrgui.core.training.data import LineSet
s = LineSet.load('.cache/lines/synthetic.npz'); s.subset(range(1, len(s), 3)).save('.cache/lines/synthetic-1333.npz')"
OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} python3 -m htrgui train \
  --train .cache/lines/train.npz .cache/lines/synthetic-1333.npz --val .cache/lines/val-subset.npz \
  -o "$OUT" --config small --max-minutes "$MINUTES" --val-every 10 --warmup-steps 200 "$@"
