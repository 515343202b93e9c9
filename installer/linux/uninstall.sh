#!/bin/sh
# Removes what install.sh put in place (same PREFIX). Your pages, models and settings are left untouched.
set -eu
PREFIX=${PREFIX:-$HOME/.local}
rm -rf "$PREFIX"/opt/htrgui-*
rm -f "$PREFIX/bin/htrgui" "$PREFIX/share/applications/htrgui.desktop" "$PREFIX/share/icons/hicolor/512x512/apps/htrgui.png"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$PREFIX/share/applications" || true
echo "htrgui removed from $PREFIX"
