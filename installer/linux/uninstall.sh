#!/bin/sh
# Removes htrgui as install.sh put it in place: the program folder, the `htrgui` command and the menu entry.
# Your pages, models and settings are kept (where they are is printed at the end).
#
#   ~/.local/opt/htrgui-<version>/uninstall.sh     the copy install.sh leaves in the installed folder
#   ./uninstall.sh [--prefix DIR] [--system]       from the unpacked archive: finds the install like install.sh
#   sudo /opt/htrgui-<version>/uninstall.sh        a system-wide install
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
MODE=
[ "$(id -u)" = 0 ] && MODE=system || MODE=user
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "uninstall.sh: --prefix needs a folder" >&2; exit 2; }; PREFIX=$2; shift ;;
    --prefix=*) PREFIX=${1#--prefix=} ;;
    --system) MODE=system ;;
    --user) MODE=user ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "uninstall.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
DESTDIR=${DESTDIR:-}

# The install to remove: this folder when this is the installed copy, else the one in PREFIX (install.sh's
# default for this user or, as root, the system's), else the one the `htrgui` command points at.
MANIFEST=
if [ -f "$HERE/install-manifest" ]; then
  MANIFEST="$HERE/install-manifest"
else
  if [ "$MODE" = system ]; then PREFIX=${PREFIX:-/opt}; else PREFIX=${PREFIX:-$HOME/.local/opt}; fi
  case "$PREFIX" in "~/"*) PREFIX="$HOME/${PREFIX#"~/"}" ;; esac
  for dir in "$DESTDIR$PREFIX"/htrgui-*; do
    [ -f "$dir/install-manifest" ] && MANIFEST="$dir/install-manifest"
  done
  if [ -z "$MANIFEST" ] && command -v htrgui >/dev/null 2>&1 && command -v readlink >/dev/null 2>&1; then
    target=$(readlink -f "$(command -v htrgui)" 2>/dev/null || true)
    [ -n "$target" ] && [ -f "$(dirname "$target")/install-manifest" ] && MANIFEST="$(dirname "$target")/install-manifest"
  fi
fi
if [ -z "$MANIFEST" ]; then
  echo "uninstall.sh: no htrgui installed by install.sh found in ${PREFIX:-?}." >&2
  echo "  Give the folder it was installed in: ./uninstall.sh --prefix DIR (a system-wide install: sudo ./uninstall.sh)" >&2
  exit 1
fi
value() { sed -n "s/^$1=//p" "$MANIFEST" | head -n 1; }
DEST=$(value dest); COMMAND=$(value command); DESKTOP=$(value desktop); ICON=$(value icon)
case "$DEST" in */htrgui-*) ;; *) echo "uninstall.sh: $MANIFEST names no htrgui folder ($DEST); nothing removed" >&2; exit 1 ;; esac
if [ ! -w "$(dirname "$DESTDIR$DEST")" ]; then
  echo "uninstall.sh: cannot remove $DEST (no write access): run it with sudo" >&2
  exit 1
fi
# The command only if it is still ours (a later pip install may have put its own htrgui there).
if [ -L "$DESTDIR$COMMAND" ] && [ "$(readlink "$DESTDIR$COMMAND")" = "$DEST/htrgui" ]; then
  rm -f "$DESTDIR$COMMAND"
fi
rm -f "$DESTDIR$DESKTOP" "$DESTDIR$ICON"
rm -rf "$DESTDIR$DEST"
if [ -z "$DESTDIR" ]; then
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$(dirname "$DESKTOP")" || true
fi
echo "htrgui removed from $DEST (and $COMMAND, $DESKTOP)"
# Where platformdirs puts each user's data on Linux (htrgui.core.paths): kept, as the user's own work.
if [ -n "${HTRGUI_HOME:-}" ]; then
  CONFIG="$HTRGUI_HOME/config"; DATA="$HTRGUI_HOME/data"
else
  CONFIG="${XDG_CONFIG_HOME:-$HOME/.config}/htrgui"; DATA="${XDG_DATA_HOME:-$HOME/.local/share}/htrgui"
fi
echo "Kept: your pages and their PAGE-XML (in your project folders), and per user:"
echo "  settings:                $CONFIG"
echo "  your models (fine-tuned): $DATA/models"
[ "$(value mode)" = system ] && echo "  (for each user in their own home folder; the paths above are $(id -un)'s)"
echo "Delete those folders too to remove every trace of htrgui."
