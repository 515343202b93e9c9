#!/usr/bin/env bash
# Build the macOS release (Apple Silicon): dist/htrgui-<version>-macos-arm64-mps.dmg holding htrgui.app.
# torch's macOS wheels run on the CPU and on the Apple GPU (MPS); there is no CUDA on macOS, and torch no
# longer ships wheels for Intel Macs, so this build is for arm64 only.
#
#   installer/build_macos.sh                                  # with the current python3
#   HTRGUI_BUILD_VENV=build/venv installer/build_macos.sh     # clean venv with torch + htrgui + PyInstaller
#   HTRGUI_CODESIGN_IDENTITY="Developer ID Application: ..." HTRGUI_NOTARY_PROFILE=htrgui installer/build_macos.sh
#     signs with a Developer ID and notarises (xcrun notarytool store-credentials htrgui ... once); without
#     them the app is signed ad hoc and users open it the first time with right-click > Open.
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

# Sign: a Developer ID (and notarisation) lets Gatekeeper open it directly; ad hoc is enough to run locally.
IDENTITY=${HTRGUI_CODESIGN_IDENTITY:--}
if [ "$IDENTITY" = "-" ]; then
  codesign --force --deep -s - "$APP"
else  # notarisation requires the hardened runtime, with the exceptions torch needs
  codesign --force --deep --timestamp --options runtime --entitlements installer/macos/entitlements.plist \
    -s "$IDENTITY" "$APP"
fi

STAGE=build/dmg
rm -rf "$STAGE" "dist/$NAME.dmg"
mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"  # drag-to-install
hdiutil create -volname "htrgui $VERSION" -srcfolder "$STAGE" -ov -format UDZO "dist/$NAME.dmg"
if [ "$IDENTITY" != "-" ]; then
  codesign -s "$IDENTITY" "dist/$NAME.dmg"
  if [ -n "${HTRGUI_NOTARY_PROFILE:-}" ]; then
    xcrun notarytool submit "dist/$NAME.dmg" --keychain-profile "$HTRGUI_NOTARY_PROFILE" --wait
    xcrun stapler staple "dist/$NAME.dmg"
  fi
fi
(cd dist && shasum -a 256 "$NAME.dmg" > "$NAME.dmg.sha256")
echo "build_macos: dist/$NAME.dmg $(du -h "dist/$NAME.dmg" | cut -f1)"
