#!/bin/sh
# Installs htrgui for the current user (no root needed): the program folder, an `htrgui` command,
# a menu entry and an icon. PREFIX=/opt/... (as root) installs for everyone.
#   ./install.sh            -> ~/.local/opt/htrgui-<version>, ~/.local/bin/htrgui, menu entry
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=$(cat "$HERE/VERSION")
PREFIX=${PREFIX:-$HOME/.local}
DEST="$PREFIX/opt/htrgui-$VERSION"
APPS="$PREFIX/share/applications"
ICONS="$PREFIX/share/icons/hicolor/512x512/apps"

# The build names the oldest glibc it runs on (glibc cannot be bundled); say so before copying 1 GB.
if [ -f "$HERE/GLIBC" ] && command -v getconf >/dev/null 2>&1; then
  NEED=$(cat "$HERE/GLIBC")
  HAVE=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  if [ -n "$HAVE" ] && [ "$(printf '%s\n%s\n' "$NEED" "$HAVE" | sort -V | head -n 1)" != "$NEED" ]; then
    echo "install.sh: this build of htrgui needs glibc $NEED or newer, this system has $HAVE." >&2
    echo "  Use a newer distribution (e.g. Debian 12, Ubuntu 24.04, Fedora 37 or later) or install from source." >&2
    exit 1
  fi
fi
[ -x "$HERE/htrgui/htrgui" ] || { echo "install.sh: $HERE/htrgui/htrgui is missing: unpack the whole archive first" >&2; exit 1; }
mkdir -p "$PREFIX/opt" "$PREFIX/bin" "$APPS" "$ICONS"
rm -rf "$DEST.tmp"
cp -R "$HERE/htrgui" "$DEST.tmp"          # copy first, then swap: an interrupted install leaves the old one working
rm -rf "$DEST"
mv "$DEST.tmp" "$DEST"
ln -sfn "$DEST/htrgui" "$PREFIX/bin/htrgui"
# An upgrade: the command now points at this version; earlier versions (close to 1 GB each) go.
for old in "$PREFIX"/opt/htrgui-*; do
  [ -d "$old" ] && [ "$old" != "$DEST" ] && [ "$old" != "$DEST.tmp" ] && rm -rf "$old"
done
cp "$HERE/htrgui.png" "$ICONS/htrgui.png"
sed -e "s#@EXEC@#$DEST/htrgui#" -e "s#@ICON@#htrgui#" "$HERE/htrgui.desktop" > "$APPS/htrgui.desktop"
chmod 644 "$APPS/htrgui.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q "$PREFIX/share/icons/hicolor" || true
echo "htrgui $VERSION installed in $DEST"
# Qt's X11 plugin needs a few xcb libraries that minimal desktops lack (libxcb-cursor0 above all): name them
# now rather than let the window fail to open with "could not load the Qt platform plugin xcb".
XCB="$DEST/_internal/PySide6/Qt/plugins/platforms/libqxcb.so"
if [ -f "$XCB" ] && command -v ldd >/dev/null 2>&1; then
  MISSING=$(ldd "$XCB" 2>/dev/null | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
  if [ -n "$MISSING" ]; then
    echo "Warning: the window needs these system libraries, missing here: $MISSING"
    echo "  Debian/Ubuntu: sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxkbcommon-x11-0"
    echo "  Fedora:        sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms xcb-util-image xcb-util-renderutil"
  fi
fi
echo "Start it from the applications menu, or run: $PREFIX/bin/htrgui   (htrgui doctor checks this machine)"
case ":$PATH:" in *":$PREFIX/bin:"*) ;; *) echo "Note: $PREFIX/bin is not on your PATH." ;; esac
