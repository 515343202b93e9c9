#!/usr/bin/env bash
# Build the Linux release: dist/htrgui-<version>-linux-<arch>-<variant>.tar.gz (+ .sha256).
# The archive holds the frozen app folder, a desktop entry, an icon and install.sh / uninstall.sh.
#
#   installer/build_linux.sh                        # CPU build with the current python3
#   HTRGUI_BUILD_VENV=build/venv installer/build_linux.sh      # clean venv: CPU torch + htrgui + PyInstaller
#   HTRGUI_VARIANT=cuda HTRGUI_BUILD_VENV=build/venv-cuda TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126 \
#       installer/build_linux.sh                    # CUDA build (about 3 GB larger)
set -euo pipefail
cd "$(dirname "$0")/.."
VARIANT=${HTRGUI_VARIANT:-cpu}
PYTHON=${PYTHON:-python3}
case "$VARIANT" in cpu|cuda) ;; *) echo "build_linux: HTRGUI_VARIANT must be cpu or cuda, not $VARIANT" >&2; exit 2 ;; esac

if [ -n "${HTRGUI_BUILD_VENV:-}" ]; then
  # A clean environment keeps whatever else is installed on the build machine out of the bundle.
  [ -x "$HTRGUI_BUILD_VENV/bin/python" ] || "$PYTHON" -m venv "$HTRGUI_BUILD_VENV"
  PYTHON="$HTRGUI_BUILD_VENV/bin/python"
  DEFAULT_INDEX=https://download.pytorch.org/whl/cpu
  "$PYTHON" -m pip install -q --upgrade pip
  "$PYTHON" -m pip install -q torch --index-url "${TORCH_INDEX_URL:-$DEFAULT_INDEX}"
  "$PYTHON" -m pip install -q . -r installer/requirements-build.txt
fi
if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
  echo "build_linux: $PYTHON has no torch. Build in a clean venv (CPU torch, htrgui and PyInstaller installed for you):" >&2
  echo "    HTRGUI_BUILD_VENV=build/venv installer/build_linux.sh" >&2
  echo "  or install them into $PYTHON: $PYTHON -m pip install torch --index-url https://download.pytorch.org/whl/cpu" >&2
  echo "                           and: $PYTHON -m pip install . -r installer/requirements-build.txt" >&2
  exit 2
fi
"$PYTHON" -m PyInstaller --version >/dev/null 2>&1 || "$PYTHON" -m pip install -q -r installer/requirements-build.txt

# A CPU build must not carry several GB of CUDA libraries, and a CUDA build needs a CUDA torch.
"$PYTHON" - "$VARIANT" <<'EOF'
import sys, torch
variant, cuda = sys.argv[1], torch.version.cuda
if variant == "cpu" and cuda:
    sys.exit(f"build_linux: torch {torch.__version__} is a CUDA build; install the CPU one "
             "(pip install torch --index-url https://download.pytorch.org/whl/cpu) or set HTRGUI_VARIANT=cuda")
if variant == "cuda" and not cuda:
    sys.exit(f"build_linux: torch {torch.__version__} has no CUDA; install a CUDA torch for HTRGUI_VARIANT=cuda")
print(f"build_linux: torch {torch.__version__} (CUDA {cuda}) for the {variant} build")
EOF

[ -n "$(ls models/*.pt 2>/dev/null)" ] || echo "build_linux: WARNING: no models/*.pt: the build ships without a model" >&2
"$PYTHON" installer/make_icons.py >/dev/null
start=$(date +%s)
HTRGUI_VARIANT="$VARIANT" "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller installer/htrgui.spec
echo "build_linux: PyInstaller took $(( $(date +%s) - start )) s"
# torch's own libraries carry a full symbol table (~100 MB); dropping it leaves the dynamic symbols that
# loading and tracebacks use. Only torch's: libraries that auditwheel patched (numpy.libs, *.libs) can be
# corrupted by strip, and PyInstaller's strip=True would touch those too. The smoke test runs the result.
if command -v strip >/dev/null 2>&1; then
  before=$(du -sm dist/htrgui | cut -f1)
  find dist/htrgui/_internal/torch/lib -name '*.so*' -type f -exec strip --strip-unneeded {} +
  echo "build_linux: stripped torch libraries: ${before} MB -> $(du -sm dist/htrgui | cut -f1) MB"
fi

NAME=$("$PYTHON" -c "import sys; sys.path.insert(0, 'installer'); import bundle; print(bundle.artefact_name('$VARIANT'))")
VERSION=$("$PYTHON" -c "import sys; sys.path.insert(0, 'installer'); import bundle; print(bundle.app_version())")
STAGE="dist/$NAME"
rm -rf "$STAGE" "$STAGE.tar.gz"
mkdir -p "$STAGE"
mv dist/htrgui "$STAGE/htrgui"
cp installer/linux/htrgui.desktop installer/linux/install.sh installer/linux/uninstall.sh "$STAGE/"
cp build/icons/htrgui.png "$STAGE/htrgui.png"
echo "$VERSION" > "$STAGE/VERSION"
# The newest glibc any bundled binary needs (glibc itself is never bundled): install.sh refuses an older
# system with a clear message instead of "version GLIBC_2.xx not found" at start-up.
if command -v objdump >/dev/null 2>&1; then
  GLIBC=$(find "$STAGE/htrgui" -type f \( -name '*.so*' -o -name htrgui \) -exec objdump -T {} + 2>/dev/null \
    | grep -o 'GLIBC_2\.[0-9]*' | sed 's/GLIBC_//' | sort -V -u | tail -1 || true)
  [ -n "$GLIBC" ] && echo "$GLIBC" > "$STAGE/GLIBC" && echo "build_linux: needs glibc $GLIBC or newer"
fi
cat > "$STAGE/README.txt" <<EOF
htrgui $VERSION ($VARIANT build) for Linux $(uname -m), glibc ${GLIBC:-?} or newer

Run without installing:   ./htrgui/htrgui
Install for this user:     ./install.sh      (~/.local/opt, menu entry, "htrgui" command in ~/.local/bin)
Install for everyone:      sudo ./install.sh [--prefix /opt]   (/opt, /usr/local/bin, /usr/share/applications)
                           (sudo drops PREFIX=... set before it: pass --prefix, or sudo PREFIX=/opt ./install.sh)
Check this machine:        ./htrgui/htrgui doctor
Uninstall:                 <install folder>/uninstall.sh, or ./uninstall.sh [--prefix DIR]
                           (your pages, models and settings are kept; it says where they are)
EOF
# Files keep their build-machine modes (a model saved 0600 by torch would be unreadable to other users of a
# system-wide install): everything readable, folders and programs enterable/executable by all.
chmod -R a+rX "$STAGE"
tar -C dist -czf "dist/$NAME.tar.gz" "$NAME"
(cd dist && sha256sum "$NAME.tar.gz" > "$NAME.tar.gz.sha256")
echo "build_linux: dist/$NAME.tar.gz $(du -h "dist/$NAME.tar.gz" | cut -f1) (unpacked $(du -sh "$STAGE" | cut -f1))"
