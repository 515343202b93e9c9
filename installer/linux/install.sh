#!/bin/sh
# Installs htrgui: the program folder, an `htrgui` command on the PATH, a menu entry and an icon.
#
#   ./install.sh                     for this user (no root needed):
#                                      ~/.local/opt/htrgui-<version>/, ~/.local/bin/htrgui,
#                                      ~/.local/share/applications/htrgui.desktop
#   sudo ./install.sh                for everyone: /opt/htrgui-<version>/, /usr/local/bin/htrgui,
#                                      /usr/share/applications/htrgui.desktop
#   sudo ./install.sh --prefix /srv/apps     the program folder in /srv/apps/htrgui-<version>/
#
# Options (each may also be given as an environment variable):
#   --prefix DIR   (PREFIX)  folder that receives htrgui-<version>/ (default ~/.local/opt, as root /opt)
#   --bindir DIR   (BINDIR)  where the `htrgui` command goes (default ~/.local/bin, as root /usr/local/bin)
#   --system / --user        force the system-wide or per-user layout (default: system-wide when run as root)
#   DESTDIR=DIR              stage everything under DIR (packagers, tests); the paths written stay the final ones
# sudo drops most environment variables: `PREFIX=/opt sudo ./install.sh` does NOT pass PREFIX on. Use
# `sudo ./install.sh --prefix /opt`, or `sudo PREFIX=/opt ./install.sh`, or `PREFIX=/opt sudo -E ./install.sh`.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
VERSION=$(cat "$HERE/VERSION")
usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }

MODE=
[ "$(id -u)" = 0 ] && MODE=system || MODE=user
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a folder" >&2; exit 2; }; PREFIX=$2; shift ;;
    --prefix=*) PREFIX=${1#--prefix=} ;;
    --bindir) [ $# -ge 2 ] || { echo "install.sh: --bindir needs a folder" >&2; exit 2; }; BINDIR=$2; shift ;;
    --bindir=*) BINDIR=${1#--bindir=} ;;
    --system) MODE=system ;;
    --user) MODE=user ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# A folder as the user meant it: ~ expanded (--prefix=~/x is not expanded by the shell), absolute (the menu
# entry and the command link need absolute paths), no trailing slash.
absolute() {
  case "$1" in "~") p=$HOME ;; "~/"*) p="$HOME/${1#"~/"}" ;; /*) p=$1 ;; *) p="$(pwd)/$1" ;; esac
  while [ "${#p}" -gt 1 ] && [ "${p%/}" != "$p" ]; do p=${p%/}; done
  printf '%s\n' "$p"
}
if [ "$MODE" = system ]; then
  PREFIX=${PREFIX:-/opt}; BINDIR=${BINDIR:-/usr/local/bin}; SHARE=/usr/share
else
  PREFIX=${PREFIX:-$HOME/.local/opt}; BINDIR=${BINDIR:-$HOME/.local/bin}; SHARE=${XDG_DATA_HOME:-$HOME/.local/share}
fi
PREFIX=$(absolute "$PREFIX"); BINDIR=$(absolute "$BINDIR"); SHARE=$(absolute "$SHARE")
# PREFIX names the folder that receives htrgui-<version>/; given the program folder itself, use its parent
# rather than nest htrgui-1.0/htrgui-1.0.
case "$(basename "$PREFIX")" in htrgui-*) PREFIX=$(dirname "$PREFIX") ;; esac
DESTDIR=${DESTDIR:-}
DEST="$PREFIX/htrgui-$VERSION"
APPS="$SHARE/applications"
ICONS="$SHARE/icons/hicolor/512x512/apps"

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
if ! mkdir -p "$DESTDIR$PREFIX" "$DESTDIR$BINDIR" "$DESTDIR$APPS" "$DESTDIR$ICONS" 2>/dev/null \
   || [ ! -w "$DESTDIR$PREFIX" ] || [ ! -w "$DESTDIR$BINDIR" ] || [ ! -w "$DESTDIR$APPS" ]; then
  echo "install.sh: cannot write to $PREFIX, $BINDIR or $APPS." >&2
  echo "  For everyone: sudo ./install.sh [--prefix DIR]; for yourself only: ./install.sh --user" >&2
  exit 1
fi
rm -rf "$DESTDIR$DEST.tmp"
cp -R "$HERE/htrgui" "$DESTDIR$DEST.tmp"   # copy first, then swap: an interrupted install leaves the old one working
cp "$HERE/uninstall.sh" "$DESTDIR$DEST.tmp/uninstall.sh"
cp "$HERE/htrgui.png" "$DESTDIR$DEST.tmp/htrgui.png"
# What this install put where: the installed uninstall.sh removes exactly these (and only these).
cat > "$DESTDIR$DEST.tmp/install-manifest" <<EOF
version=$VERSION
mode=$MODE
dest=$DEST
command=$BINDIR/htrgui
desktop=$APPS/htrgui.desktop
icon=$ICONS/htrgui.png
EOF
rm -rf "$DESTDIR$DEST"
mv "$DESTDIR$DEST.tmp" "$DESTDIR$DEST"
chmod -R a+rX "$DESTDIR$DEST"
# An upgrade: the command now points at this version; earlier versions (close to 1 GB each) go. Only folders
# an install.sh made (they carry its manifest), never anything else named htrgui-* in PREFIX.
for old in "$DESTDIR$PREFIX"/htrgui-*; do
  [ -f "$old/install-manifest" ] && [ "$old" != "$DESTDIR$DEST" ] && rm -rf "$old"
done
if [ -e "$DESTDIR$BINDIR/htrgui" ] && [ ! -L "$DESTDIR$BINDIR/htrgui" ]; then
  echo "install.sh: replacing $BINDIR/htrgui (another htrgui, e.g. from pip) with a link to this one"
fi
ln -sfn "$DEST/htrgui" "$DESTDIR$BINDIR/htrgui"
cp "$HERE/htrgui.png" "$DESTDIR$ICONS/htrgui.png"
# Exec is the absolute path of the command: a desktop session's PATH often lacks ~/.local/bin. %f (one file
# per process) because htrgui opens one folder or scan; a file manager starts one window per selected file.
sed -e "s#@EXEC@#$BINDIR/htrgui#" -e "s#@ICON@#htrgui#" "$HERE/htrgui.desktop" > "$DESTDIR$APPS/htrgui.desktop"
chmod 644 "$DESTDIR$APPS/htrgui.desktop" "$DESTDIR$ICONS/htrgui.png"
if [ -z "$DESTDIR" ]; then
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS" || true
  command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q "$SHARE/icons/hicolor" || true
fi
echo "htrgui $VERSION installed in $DEST"
echo "  command:    $BINDIR/htrgui"
echo "  menu entry: $APPS/htrgui.desktop"
echo "  uninstall:  $DEST/uninstall.sh"
# Qt's X11 plugin needs a few xcb libraries that minimal desktops lack (libxcb-cursor0 above all): name them
# now rather than let the window fail to open with "could not load the Qt platform plugin xcb".
XCB="$DESTDIR$DEST/_internal/PySide6/Qt/plugins/platforms/libqxcb.so"
if [ -f "$XCB" ] && command -v ldd >/dev/null 2>&1; then
  MISSING=$(ldd "$XCB" 2>/dev/null | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
  if [ -n "$MISSING" ]; then
    echo "Warning: the window needs these system libraries, missing here: $MISSING"
    echo "  Debian/Ubuntu: sudo apt install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0 libxkbcommon-x11-0"
    echo "  Fedora:        sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-keysyms xcb-util-image xcb-util-renderutil"
  fi
fi
echo "Start it from the applications menu, or run: htrgui   (htrgui doctor checks this machine)"
case ":$PATH:" in
  *":$BINDIR:"*) ;;
  *) echo "Note: $BINDIR is not on your PATH: run $BINDIR/htrgui, or add it to PATH (e.g. in ~/.profile:"
     echo "  export PATH=\"$BINDIR:\$PATH\"), or install with --bindir DIR for a folder that is." ;;
esac
