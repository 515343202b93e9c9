#!/usr/bin/env bash
# Phase 3 of models/htrconvtext-small.pt (see models/htrconvtext-small.md): the closed list of training data.
# Builds the line caches (../shared/data, the repositories of scripts/training_repos.json cloned under REPOS,
# synthetic lines), joins them, then continues from BASE (the phase-2 model, git show 22d8c7b:models/...)
# with a new warm-up and cosine cycle for MINUTES, selecting on the validation documents + general/validation.
# After an interruption, run it again with RESUME=1.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
REPOS=${REPOS:-repos}
MINUTES=${MINUTES:-47}
BASE=${BASE:-.cache/phase2.pt}
OUT=${OUT:-models/htrconvtext-small.pt}
RESUME=${RESUME:+--resume}
[ -f "$BASE" ] || git show 22d8c7b:models/htrconvtext-small.pt > "$BASE"
[ -f .cache/lines/train.npz ] || python3 scripts/build_line_cache.py --shared "$SHARED" --out .cache/lines
[ -f .cache/lines/repos/timeus-train.npz ] || python3 scripts/build_repo_cache.py --repos "$REPOS" --out .cache/lines/repos
[ -f .cache/lines/train-all.npz ] || python3 scripts/assemble_training_set.py --lines .cache/lines
python3 -m htrgui train --train .cache/lines/train-all.npz --val .cache/lines/val-all.npz -o "$OUT" \
  --base "$BASE" --update-bn --lr 6e-4 --warmup-steps 150 --max-minutes "$MINUTES" --val-every 12 \
  --threads "${THREADS:-1}" $RESUME
