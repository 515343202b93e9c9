"""The Linux tarball's install.sh / uninstall.sh, run for real into temporary folders (a stand-in program
in place of the 1 GB frozen one): layouts per user and system-wide (staged with DESTDIR, as root would
install), PREFIX from the environment or ``--prefix`` and never doubled, the command on the PATH, the menu
entry that opens a scan, upgrades, and an uninstall that names where the user's settings and models stay."""

from __future__ import annotations

import configparser
import mimetypes
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from htrgui.core.imaging import SUFFIXES

REPO = Path(__file__).resolve().parents[2]
LINUX = REPO / "installer" / "linux"

pytestmark = pytest.mark.skipif(sys.platform == "win32" or not shutil.which("sh"), reason="POSIX install script")


def stage(tmp_path: Path, version: str = "9.9.9") -> Path:
    """An unpacked archive as build_linux.sh makes it; its program echoes its arguments."""
    root = tmp_path / f"htrgui-{version}-linux-x86_64-cpu"
    (root / "htrgui").mkdir(parents=True)
    exe = root / "htrgui" / "htrgui"
    exe.write_text('#!/bin/sh\necho frozen-htrgui "$@"\n')
    exe.chmod(0o755)
    for name in ("htrgui.desktop", "install.sh", "uninstall.sh"):
        shutil.copy(LINUX / name, root / name)
    (root / "htrgui.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (root / "VERSION").write_text(version + "\n")
    return root


def sh(script: Path, *args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["sh", str(script), *args], capture_output=True, text=True, env=env, timeout=60)
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def user_env(tmp_path: Path, **extra: str) -> dict:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("PREFIX", "BINDIR", "DESTDIR", "HTRGUI_HOME")}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "data home"), XDG_CONFIG_HOME=str(home / "config home"),
               PATH="/usr/bin:/bin", **extra)
    return env


def desktop_entry(path: Path) -> configparser.SectionProxy:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(path)
    return entry["Desktop Entry"]


def test_user_install_layout_menu_entry_upgrade_and_uninstall(tmp_path):
    src = stage(tmp_path)
    where = tmp_path / "a folder with spaces"  # the menu entry must quote the command
    prefix, bindir = where / "apps", where / "bin"
    env = user_env(tmp_path, PREFIX=str(prefix) + "/")  # a trailing slash changes nothing
    done = sh(src / "install.sh", "--user", "--bindir", str(bindir), env=env)
    dest = prefix / "htrgui-9.9.9"
    assert sorted(p.name for p in prefix.iterdir()) == ["htrgui-9.9.9"]  # PREFIX/htrgui-<v>, no PREFIX/opt/...
    assert (dest / "uninstall.sh").is_file() and (dest / "install-manifest").is_file()
    assert f"Note: {bindir} is not on your PATH" in done.stdout
    # The command on the PATH runs the installed copy.
    run = subprocess.run([str(bindir / "htrgui"), "doctor"], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "frozen-htrgui doctor"
    assert os.path.realpath(bindir / "htrgui") == str(dest / "htrgui")
    # The menu entry ("Open with htrgui") starts it on the one file chosen, as `htrgui FILE`.
    apps = tmp_path / "home" / "data home" / "applications"
    desk = desktop_entry(apps / "htrgui.desktop")
    argv = [a.replace("%f", str(tmp_path / "scan 1.jpg")) for a in shlex.split(desk["Exec"])]
    assert argv[0] == str(bindir / "htrgui") and len(argv) == 2
    run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == f"frozen-htrgui {tmp_path / 'scan 1.jpg'}"
    assert desk["Icon"] == "htrgui" and desk["Terminal"] == "false" and desk["StartupWMClass"] == "htrgui"
    assert (tmp_path / "home" / "data home" / "icons" / "hicolor" / "512x512" / "apps" / "htrgui.png").is_file()
    # Only what the app opens: its image and PDF suffixes, and folders; no application/xml.
    assert set(filter(None, desk["MimeType"].split(";"))) == (
        {mimetypes.guess_type("x" + s)[0] for s in SUFFIXES} | {"inode/directory"})
    if shutil.which("desktop-file-validate"):
        assert subprocess.run(["desktop-file-validate", str(apps / "htrgui.desktop")]).returncode == 0

    # Again: replaced in place; a newer version replaces the older one, leaving other htrgui-* folders alone.
    sh(src / "install.sh", "--user", "--bindir", str(bindir), env=env)
    (prefix / "htrgui-notes").mkdir()
    (src / "VERSION").write_text("10.0.0\n")
    sh(src / "install.sh", "--user", "--bindir", str(bindir), env=env)
    assert sorted(p.name for p in prefix.iterdir()) == ["htrgui-10.0.0", "htrgui-notes"]
    assert os.path.realpath(bindir / "htrgui") == str(prefix / "htrgui-10.0.0" / "htrgui")

    # The installed copy of uninstall.sh removes it and says where the settings and models stay.
    done = sh(prefix / "htrgui-10.0.0" / "uninstall.sh", env=env)
    assert not (bindir / "htrgui").exists() and not (apps / "htrgui.desktop").exists()
    assert sorted(p.name for p in prefix.iterdir()) == ["htrgui-notes"]
    probe = ("from htrgui.core.paths import user_config_dir, user_models_dir; "
             "print(user_config_dir()); print(user_models_dir())")
    config, models = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                                    cwd=REPO, check=True).stdout.splitlines()
    assert f"settings:                {config}\n" in done.stdout, done.stdout
    assert f"your models (fine-tuned): {models}\n" in done.stdout, done.stdout


def test_uninstall_from_the_archive_finds_the_install(tmp_path):
    src = stage(tmp_path)
    env = user_env(tmp_path)
    prefix = tmp_path / "home" / "apps"
    sh(src / "install.sh", "--user", "--prefix=~/apps", env=env)  # ~ not expanded by the shell here
    assert (prefix / "htrgui-9.9.9" / "htrgui").is_file()
    assert (tmp_path / "home" / ".local" / "bin" / "htrgui").is_symlink()
    missing = sh(src / "uninstall.sh", "--user", env=env, check=False)  # default prefix: nothing there
    assert missing.returncode == 1 and "--prefix DIR" in missing.stderr
    sh(src / "uninstall.sh", "--user", "--prefix", str(prefix), env=env)
    assert not list(prefix.iterdir()) and not (tmp_path / "home" / ".local" / "bin" / "htrgui").exists()


@pytest.mark.parametrize("how", ["argument", "environment", "program folder"])
def test_system_install_prefix_is_never_doubled(tmp_path, how):
    """`sudo ./install.sh --prefix /opt` (or PREFIX=/opt kept by sudo): /opt/htrgui-<v>, the command in
    /usr/local/bin, the menu entry in /usr/share/applications; staged under DESTDIR as a packager would."""
    src = stage(tmp_path)
    root = tmp_path / "root"
    env = user_env(tmp_path, DESTDIR=str(root))
    args = {"argument": ["--prefix", "/opt"], "environment": [],
            "program folder": ["--prefix=/opt/htrgui-9.9.9/"]}[how]
    if how == "environment":
        env["PREFIX"] = "/opt"
    done = sh(src / "install.sh", "--system", *args, env=env)
    assert sorted(p.name for p in (root / "opt").iterdir()) == ["htrgui-9.9.9"], done.stdout
    assert not (root / "opt" / "opt").exists() and not (root / "opt" / "bin").exists()
    assert os.readlink(root / "usr" / "local" / "bin" / "htrgui") == "/opt/htrgui-9.9.9/htrgui"
    desk = desktop_entry(root / "usr" / "share" / "applications" / "htrgui.desktop")
    assert shlex.split(desk["Exec"]) == ["/usr/local/bin/htrgui", "%f"]
    assert (root / "usr" / "share" / "icons" / "hicolor" / "512x512" / "apps" / "htrgui.png").is_file()
    assert "dest=/opt/htrgui-9.9.9" in (root / "opt" / "htrgui-9.9.9" / "install-manifest").read_text()
    sh(root / "opt" / "htrgui-9.9.9" / "uninstall.sh", env=env)
    assert not list((root / "opt").iterdir()) and not (root / "usr" / "local" / "bin" / "htrgui").exists()
    assert not (root / "usr" / "share" / "applications" / "htrgui.desktop").exists()


def test_root_gets_the_system_layout_by_default(tmp_path):
    """Under sudo the default is the system-wide layout (not root's own home)."""
    src = stage(tmp_path)
    root = tmp_path / "root"
    sh(src / "install.sh", env=user_env(tmp_path, DESTDIR=str(root)))
    system = (root / "opt" / "htrgui-9.9.9").is_dir() and (root / "usr" / "local" / "bin" / "htrgui").is_symlink()
    user = (root / str(tmp_path / "home" / ".local" / "opt" / "htrgui-9.9.9").lstrip("/")).is_dir()
    assert (system, user) == ((True, False) if os.getuid() == 0 else (False, True))


def test_install_explains_options(tmp_path):
    src = stage(tmp_path)
    out = sh(src / "install.sh", "--help", env=user_env(tmp_path)).stdout
    assert "sudo ./install.sh --prefix /opt" in out and "sudo -E" in out and "DESTDIR" in out
    bad = sh(src / "install.sh", "--prefixx", "/opt", env=user_env(tmp_path), check=False)
    assert bad.returncode == 2 and "unknown option --prefixx" in bad.stderr


def test_install_script_refuses_a_partial_archive(tmp_path):
    shutil.copy(LINUX / "install.sh", tmp_path / "install.sh")
    (tmp_path / "VERSION").write_text("1.0\n")
    env = user_env(tmp_path)
    done = sh(tmp_path / "install.sh", "--user", "--prefix", str(tmp_path / "prefix"), env=env, check=False)
    assert done.returncode != 0 and "htrgui/htrgui is missing" in done.stderr
    assert not (tmp_path / "prefix").exists()


@pytest.mark.skipif(not shutil.which("getconf"), reason="no getconf")
def test_install_script_checks_the_glibc_the_build_needs(tmp_path):
    have = subprocess.run(["getconf", "GNU_LIBC_VERSION"], capture_output=True, text=True).stdout.split()
    if len(have) != 2:
        pytest.skip("not a glibc system")
    src = stage(tmp_path)
    env = user_env(tmp_path)
    args = ("--user", "--prefix", str(tmp_path / "prefix"))
    (src / "GLIBC").write_text("99.1\n")  # newer than any system
    done = sh(src / "install.sh", *args, env=env, check=False)
    assert done.returncode == 1 and f"needs glibc 99.1 or newer, this system has {have[1]}" in done.stderr
    assert not (tmp_path / "prefix").exists()
    (src / "GLIBC").write_text(have[1] + "\n")  # exactly this system's: fine
    sh(src / "install.sh", *args, env=env)
