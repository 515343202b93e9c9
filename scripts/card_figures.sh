#!/usr/bin/env bash
# Every figure a model card reports (models/htrconvtext-small.md), measured in two chains side by side, one torch
# thread each (about 11 minutes on 2 idle cores; the adaptation benchmark is the long chain):
#
#   scripts/card_figures.sh MODEL OUT [RUN.pt ...]
#
#   chain 1: general/test per collection as the app reads it (beam + LM) with the 40 commonest errors;
#            the repositories' test documents, greedy and with the LM; general/test read from scratch (own
#            segmentation); then benchmarks/crop_domain.py for each RUN.pt (the runs a soup averaged).
#   chain 2: benchmarks/adaptation.py (the one-click fine-tune on the adaptation split), then the fit on
#            training against validation lines.
#
# Each measurement writes OUT/NAME.json (stdout) and OUT/NAME.log (stderr). Needs the line caches of
# docs/training.md (.cache/lines: train-mix.npz, val-all.npz, repos/). The caller picks the code: run it from a
# frozen copy of the checkout while the checkout changes.
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: $0 MODEL OUT [RUN.pt ...]" >&2; exit 2; }
MODEL=$1 OUT=$2
shift 2
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
export OMP_NUM_THREADS=1
L=.cache/lines
[ -f "$MODEL" ] || { echo "no model file: $MODEL" >&2; exit 2; }
for need in $L/train-mix.npz $L/val-all.npz $L/repos; do
  [ -e "$need" ] || { echo "missing: $need (docs/training.md builds the caches)" >&2; exit 2; }
done

measure() {  # NAME COMMAND...: one figure, its status on stderr
  local name=$1
  shift
  if "$@" > "$OUT/$name.json" 2> "$OUT/$name.log"; then
    echo "done: $name" >&2
  else
    echo "FAILED: $name (see $OUT/$name.log)" >&2
    return 1
  fi
}

chain1() {
  local ok=0 run
  measure general-test python3 scripts/evaluate_by_collection.py --model "$MODEL" --split general/test \
    --extra --threads 1 --errors 40 || ok=1
  measure repos python3 scripts/evaluate_by_collection.py --model "$MODEL" --caches $L/repos --lm model || ok=1
  measure from-scratch python3 scripts/evaluate_by_collection.py --model "$MODEL" --split general/test \
    --extra --threads 1 --segment || ok=1
  for run in "$@"; do
    measure "crop-domain-$(basename "$run" .pt)" python3 benchmarks/crop_domain.py --model "$run" --every 6 || ok=1
  done
  return $ok
}

chain2() {
  local ok=0
  measure adaptation python3 benchmarks/adaptation.py --model "$MODEL" --threads 1 || ok=1
  measure fit python3 scripts/evaluate_by_collection.py --model "$MODEL" --fit $L/train-mix.npz $L/val-all.npz \
    --sample 1000 || ok=1
  return $ok
}

chain1 "$@" & one=$!
chain2 & two=$!
status=0
wait $one || status=1
wait $two || status=1
exit $status
