#!/usr/bin/env bash
# Build the macOS release (Apple Silicon): dist/htrgui-<version>-macos-arm64-mps.dmg holding htrgui.app.
# torch's macOS wheels run on the CPU and on the Apple GPU (MPS); there is no CUDA on macOS, and torch no
# longer ships wheels for Intel Macs, so this build is for arm64 only.
#
#   installer/build_macos.sh                                  # with the current python3
#   HTRGUI_BUILD_VENV=build/venv installer/build_macos.sh     # clean venv with torch + htrgui + PyInstaller
#   HTRGUI_CODESIGN_IDENTITY="Developer ID Application: ..." HTRGUI_NOTARY_PROFILE=htrgui installer/build_macos.sh
#     signs with a Developer ID (inside-out, hardened runtime), verifies (codesign --verify --strict, spctl),
#     notarises and staples both the .app and the .dmg (xcrun notarytool store-credentials htrgui ... once);
#     without them the app is signed ad hoc and users open it the first time with right-click > Open.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VARIANT=mps
[ "$(uname -s)" = Darwin ] || { echo "build_macos: run this on macOS" >&2; exit 2; }

if [ -n "${HTRGUI_BUILD_VENV:-}" ]; then
  [ -x "$HTRGUI_BUILD_VENV/bin/python" ] || "$PYTHON" -m venv "$HTRGUI_BUILD_VENV"
  PYTHON="$HTRGUI_BUILD_VENV/bin/python"
  "$PYTHON" -m pip install -q --upgrade pip
  "$PYTHON" -m pip install -q torch . -r installer/requirements-build.txt
fi
"$PYTHON" -m PyInstaller --version >/dev/null 2>&1 || "$PYTHON" -m pip install -q -r installer/requirements-build.txt

[ -n "$(ls models/*.pt 2>/dev/null)" ] || echo "build_macos: WARNING: no models/*.pt: the build ships without a model" >&2
"$PYTHON" installer/make_icons.py >/dev/null
HTRGUI_VARIANT=$VARIANT "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath dist --workpath build/pyinstaller installer/htrgui.spec

NAME=$("$PYTHON" -c "import sys; sys.path.insert(0, 'installer'); import bundle; print(bundle.artefact_name('$VARIANT'))")
VERSION=$("$PYTHON" -c "import sys; sys.path.insert(0, 'installer'); import bundle; print(bundle.app_version())")
APP=dist/htrgui.app
dist/htrgui.app/Contents/MacOS/htrgui-cli --version  # the frozen command line starts

# Sign inside-out (never `codesign --deep` to sign: it signs nested code in no defined order and with the
# outer bundle's options): every Mach-O library and helper first, deepest paths first, then nested bundles
# (Qt's .framework folders), then the two programs, then the app. A Developer ID (and notarisation) lets
# Gatekeeper open it directly; ad hoc ("-") is enough to run it on this Mac.
IDENTITY=${HTRGUI_CODESIGN_IDENTITY:--}
ENTITLEMENTS=installer/macos/entitlements.plist
sign() {  # sign FILE_OR_BUNDLE [extra codesign options]
  local target=$1; shift
  if [ "$IDENTITY" = "-" ]; then
    codesign --force --sign - "$@" "$target"
  else  # notarisation requires the hardened runtime and a secure timestamp on every piece
    codesign --force --timestamp --options runtime --sign "$IDENTITY" "$@" "$target"
  fi
}
deepest_first() { awk -F/ '{ print NF "\t" $0 }' | sort -rn | cut -f2-; }
echo "build_macos: signing ($([ "$IDENTITY" = "-" ] && echo "ad hoc" || echo "$IDENTITY"))"
find "$APP/Contents" -type f \( -name '*.dylib' -o -name '*.so' -o -perm -u+x \) ! -path "$APP/Contents/MacOS/*" \
  | deepest_first | while IFS= read -r f; do
      if file -b "$f" | grep -q 'Mach-O'; then sign "$f"; fi  # `a && b` would end the loop false under set -e
    done
find "$APP/Contents" -depth -type d \( -name '*.framework' -o -name '*.app' \) | deepest_first \
  | while IFS= read -r bundle; do sign "$bundle"; done
for program in "$APP/Contents/MacOS/htrgui-cli" "$APP/Contents/MacOS/htrgui"; do
  sign "$program" --entitlements "$ENTITLEMENTS"
done
sign "$APP" --entitlements "$ENTITLEMENTS"
# Check what was signed, nested code included (--deep verifies, it does not sign).
codesign --verify --strict --deep --verbose=2 "$APP"

STAGE=build/dmg
DMG="dist/$NAME.dmg"
if [ "$IDENTITY" != "-" ] && [ -n "${HTRGUI_NOTARY_PROFILE:-}" ]; then
  # Notarise and staple the app itself (a user who copies it out of the dmg, or gets it another way, is
  # checked offline too), then the dmg that carries it.
  ditto -c -k --keepParent "$APP" "build/$NAME-app.zip"
  xcrun notarytool submit "build/$NAME-app.zip" --keychain-profile "$HTRGUI_NOTARY_PROFILE" --wait
  xcrun stapler staple "$APP"
  xcrun stapler validate "$APP"
  spctl --assess -vv --type execute "$APP"  # Gatekeeper's own verdict: "accepted, source=Notarized Developer ID"
elif [ "$IDENTITY" != "-" ]; then
  echo "build_macos: not notarised (set HTRGUI_NOTARY_PROFILE): Gatekeeper will warn users" >&2
else
  echo "build_macos: ad hoc signature: runs here; other Macs need right-click > Open (spctl would reject it)" >&2
fi

rm -rf "$STAGE" "$DMG"
mkdir -p "$STAGE"
ditto "$APP" "$STAGE/htrgui.app"   # ditto keeps the signature's extended attributes and the stapled ticket
ln -s /Applications "$STAGE/Applications"  # drag-to-install
hdiutil create -volname "htrgui $VERSION" -srcfolder "$STAGE" -ov -format UDZO "$DMG"
if [ "$IDENTITY" != "-" ]; then
  codesign --force --timestamp --sign "$IDENTITY" "$DMG"
  codesign --verify --strict --verbose=2 "$DMG"
  if [ -n "${HTRGUI_NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "$DMG" --keychain-profile "$HTRGUI_NOTARY_PROFILE" --wait
    xcrun stapler staple "$DMG"
    xcrun stapler validate "$DMG"
    spctl --assess -vv --type open --context context:primary-signature "$DMG"
  fi
fi
(cd dist && shasum -a 256 "$NAME.dmg" > "$NAME.dmg.sha256")
echo "build_macos: dist/$NAME.dmg $(du -h "dist/$NAME.dmg" | cut -f1)"
