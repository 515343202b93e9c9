#!/usr/bin/env bash
# Build the Linux release and smoke-test it as a user would get it:
#   1. build dist/htrgui-<version>-linux-<arch>-cpu.tar.gz (skip with --no-build),
#   2. unpack it in a temporary folder and install it there with its install.sh,
#   3. start the frozen GUI offscreen until its event loop shows the main window (start-up time), then again
#      opening a folder with the real page (and its ALTO) in it,
#   4. run the frozen `htrgui doctor`,
#   5. segment and recognise a real page of ../shared/data through the frozen command line,
#   6. fine-tune the model 2 steps on the page's ground truth through the frozen command line,
#   7. check the PAGE-XML (schema-valid, lines, text, CER against the ground truth) and that it matches the
#      same commands run from source.
# Prints a JSON summary and writes it to dist/smoke-linux.json. Not part of the test suite (minutes of CPU).
#
#   installer/smoke_linux.sh [--no-build] [PAGE]     PAGE: path under ../shared/data without extension
#   HTRGUI_BUILD_VENV=build/venv installer/smoke_linux.sh     build in (and compare with) a clean venv
#
# The same commands also run from source, for comparison: with the build venv's Python when HTRGUI_BUILD_VENV
# is set, else with $PYTHON (python3), which then needs torch and htrgui's requirements (checked first).
# --no-build smoke-tests the tarball already in dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PYTHON=${PYTHON:-python3}
SHARED=${HTRGUI_SHARED:-$REPO/../shared}
BUILD=1
if [ "${1:-}" = "--no-build" ]; then BUILD=0; shift; fi
PAGE=${1:-poilus/batch-2/TestamentsDePoilus_will_AN_0183-0}   # first page of the general test split
[ -f "$SHARED/data/$PAGE.jpg" ] || { echo "smoke_linux: $SHARED/data/$PAGE.jpg not found (HTRGUI_SHARED?)" >&2; exit 2; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'; }
step() { echo "== smoke_linux: $*" >&2; }
# Can this Python run htrgui from source (the comparison run)? Say what to install instead of a traceback.
need_source_python() {
  local why
  if ! why=$("$PYTHON" -c "import torch, cv2, PySide6, PIL, numpy, defusedxml, platformdirs, pypdfium2" 2>&1); then
    echo "smoke_linux: $PYTHON cannot run htrgui from source: $(printf '%s\n' "$why" | tail -n 1)" >&2
    echo "  Either let the build make a clean venv (CPU torch + htrgui + PyInstaller):" >&2
    echo "    HTRGUI_BUILD_VENV=build/venv installer/smoke_linux.sh" >&2
    echo "  or install into $PYTHON: $PYTHON -m pip install torch --index-url https://download.pytorch.org/whl/cpu" >&2
    echo "                      and: $PYTHON -m pip install -e .   (then PYTHON=$PYTHON installer/smoke_linux.sh)" >&2
    exit 2
  fi
}

if [ -n "${HTRGUI_BUILD_VENV:-}" ] && { [ "$BUILD" = 1 ] || [ -x "$HTRGUI_BUILD_VENV/bin/python" ]; }; then
  [ "$BUILD" = 1 ] && installer/build_linux.sh      # makes the venv first
  PYTHON="$HTRGUI_BUILD_VENV/bin/python"
  need_source_python
else
  need_source_python                                # before minutes of building
  [ "$BUILD" = 1 ] && PYTHON="$PYTHON" installer/build_linux.sh
fi
NAME=$("$PYTHON" -c "import sys; sys.path.insert(0, 'installer'); import bundle; print(bundle.artefact_name('cpu'))")
TARBALL="dist/$NAME.tar.gz"
[ -f "$TARBALL" ] || { echo "smoke_linux: $TARBALL missing: build it first (installer/build_linux.sh), or run without --no-build" >&2; exit 2; }

WORK=$(mktemp -d -t htrgui-smoke.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
step "unpack and install $TARBALL"
tar -C "$WORK" -xzf "$TARBALL"
HOME="$WORK/home" XDG_DATA_HOME="$WORK/home/share" sh "$WORK/$NAME/install.sh" --user \
  --prefix "$WORK/prefix/opt" --bindir "$WORK/prefix/bin" >&2
APP="$WORK/prefix/bin/htrgui"
# The user's settings and models stay out of it; Qt draws offscreen (no display here).
export HTRGUI_HOME="$WORK/home/htrgui" QT_QPA_PLATFORM=offscreen

step "start-up"
t0=$(now); "$APP" --version >&2; t1=$(now)
cli_first=$(elapsed "$t0" "$t1")
t0=$(now); "$APP" --version >/dev/null; t1=$(now)
cli_again=$(elapsed "$t0" "$t1")
t0=$(now); "$APP" --smoke-test > "$WORK/gui.json"; t1=$(now)
gui_wall=$(elapsed "$t0" "$t1")
cat "$WORK/gui.json" >&2
# Launch to the window painted on screen, counted from outside the program (twice: first and warm start).
for run in first again; do
  t0=$(now); "$APP" gui --measure-startup > "$WORK/startup-$run.json"
  painted=$("$PYTHON" -c "import json, sys; print([json.loads(l) for l in open(sys.argv[1]) if l.startswith('{\"startup\"')][-1]['startup']['window_painted_unix'])" "$WORK/startup-$run.json")
  eval "window_$run=\$(elapsed \"\$t0\" \"\$painted\")"
done
# The window again, opening a folder with the real page in it.
mkdir -p "$WORK/gui-page"
cp "$SHARED/data/$PAGE.jpg" "$SHARED/data/$PAGE.xml" "$WORK/gui-page/"
"$APP" --smoke-test "$WORK/gui-page" > "$WORK/gui-page.json"
cat "$WORK/gui-page.json" >&2
require() {  # require FILE PYTHON_CONDITION_ON_r MESSAGE: r is the last JSON line of FILE
  "$PYTHON" -c "import json, sys
lines = [l for l in open(sys.argv[1], encoding='utf-8').read().splitlines() if l.startswith('{')]
try:
    r = json.loads(lines[-1])
except (IndexError, ValueError):
    sys.exit(f'smoke_linux: $3: no JSON result in {sys.argv[1]}')
sys.exit(0 if ($2) else f'smoke_linux: $3: {r}')" "$1"
}
require "$WORK/gui-page.json" "r['smoke_test']['pages'] == 1 and len(r['smoke_test']['windows']) == 1" \
  "the GUI did not open the page cleanly"

step "doctor"
"$APP" doctor --seconds 1 >&2
"$APP" doctor --json --no-measure > "$WORK/doctor.json"

step "segment and recognise $PAGE"
STEM=$(basename "$PAGE")
# HTRGUI_SMOKE_MODEL: a model file to use instead of the shipped one (before a model ships);
# HTRGUI_SMOKE_MIN_TEXT: share of lines that must get text (default 0.9; 0 for an untrained model).
MODEL_OPT=${HTRGUI_SMOKE_MODEL:+--model $HTRGUI_SMOKE_MODEL}
run_pipeline() {  # $1: command prefix (frozen app or source), $2: its own folder
  local out=$2
  mkdir -p "$out"
  cp "$SHARED/data/$PAGE.jpg" "$out/"
  # page/ beside the image: the layout in which a PAGE file's bare imageFilename finds its image
  $1 segment "$out/$STEM.jpg" -o "$out/page" >&2
  $1 recognize $MODEL_OPT "$out/page/$STEM.xml" -o "$out/rec" >&2
}
t0=$(now); run_pipeline "$APP" "$WORK/frozen"; t1=$(now)
pipeline_s=$(elapsed "$t0" "$t1")
run_pipeline "$PYTHON -m htrgui" "$WORK/source"

step "fine-tune 2 steps through the frozen command line"
# Train on the page's ground truth, validate on another page: proves autograd, the optimiser, the TCM and
# checkpoint writing work frozen. Two steps cannot make a model better, so no model file is expected.
VAL=${HTRGUI_SMOKE_VAL:-poilus/batch-2/TestamentsDePoilus_will_AN_0183-1}
mkdir -p "$WORK/train"
cp "$SHARED/data/$PAGE.jpg" "$SHARED/data/$PAGE.xml" "$SHARED/data/$VAL.jpg" "$SHARED/data/$VAL.xml" "$WORK/train/"
t0=$(now)
"$APP" train --train "$WORK/train/$STEM.xml" --val "$WORK/train/$(basename "$VAL").xml" \
  --base "${HTRGUI_SMOKE_MODEL:-default}" -o "$WORK/train/finetuned.pt" --max-steps 2 > "$WORK/train.json"
t1=$(now)
train_s=$(elapsed "$t0" "$t1")
require "$WORK/train.json" "r['steps'] == 2" "fine-tuning did not run its 2 steps"

step "check the PAGE-XML"
set +e
"$PYTHON" installer/smoke_check.py --page "$WORK/frozen/rec/$STEM.xml" \
  --xsd "$SHARED/schemas/pagecontent-2019-07-15.xsd" --ground-truth "$SHARED/data/$PAGE.xml" \
  --reference "$WORK/source/rec/$STEM.xml" --min-text-fraction "${HTRGUI_SMOKE_MIN_TEXT:-0.9}" > "$WORK/check.json"
check_rc=$?
set -e

"$PYTHON" - "$WORK" "$TARBALL" "$WORK/$NAME" "$cli_first" "$cli_again" "$gui_wall" "$pipeline_s" "$check_rc" \
  "$train_s" "$window_first" "$window_again" <<'EOF' | tee dist/smoke-linux.json
import json, os, sys
work, tarball, unpacked, cli_first, cli_again, gui_wall, pipeline_s, rc, train_s, win_first, win_again = sys.argv[1:]
size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(unpacked) for f in fs
           if not os.path.islink(os.path.join(d, f)))


def result(name: str, key: str | None = None) -> dict:
    """The last JSON line a step wrote; what went wrong instead of a traceback when there is none."""
    path = os.path.join(work, name)
    try:
        text = open(path, encoding="utf-8").read()
        try:
            value = json.loads(text)  # a whole JSON document (doctor --json, the checker)
        except ValueError:  # else the last JSON line (after any log lines)
            value = json.loads([l for l in text.splitlines() if l.startswith("{")][-1])
    except (OSError, ValueError, IndexError) as exc:
        return {"error": f"{name}: no JSON result ({exc.__class__.__name__})"}
    return value.get(key, value) if key else value


doctor = result("doctor.json")
check = result("check.json")
print(json.dumps({
    "artefact": os.path.basename(tarball),
    "download_mb": round(os.path.getsize(tarball) / 1e6, 1),
    "installed_mb": round(size / 1e6, 1),
    "cli_start_s": {"first": float(cli_first), "again": float(cli_again)},
    "gui": {**result("gui.json", "smoke_test"), "wall_s": float(gui_wall),
            "launch_to_window_s": {"first": float(win_first), "again": float(win_again)}},
    "gui_with_page": result("gui-page.json", "smoke_test"),
    "doctor": {k: doctor.get(k) for k in ("frozen", "versions", "device", "error") if k in doctor},
    "segment_and_recognise_s": float(pipeline_s),
    "finetune_2_steps": {"wall_s": float(train_s), **result("train.json")},
    "check": check,
}, indent=2, ensure_ascii=False))
sys.exit(int(rc) or (1 if "error" in check else 0))
EOF
