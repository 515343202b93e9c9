"""The Windows and macOS recipes cannot run here; these checks read them for the steps a release needs and for
consistency between the files that must agree (build script <-> Inno Setup script <-> spec <-> README), and run
the launcher's one piece of Windows-only logic (the hint for the windowed program) for real."""

from __future__ import annotations

import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALLER = REPO / "installer"
PS1 = (INSTALLER / "build_windows.ps1").read_text(encoding="utf-8")
ISS = (INSTALLER / "windows" / "htrgui.iss").read_text(encoding="utf-8")
MAC = (INSTALLER / "build_macos.sh").read_text(encoding="utf-8")
SPEC = (INSTALLER / "htrgui.spec").read_text(encoding="utf-8")


def code(text: str, comment: str) -> str:
    """The text without its comment lines."""
    return "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith(comment))


def section(iss: str, name: str) -> str:
    match = re.search(rf"^\[{name}\]\n(.*?)(?=^\[|\Z)", iss, re.S | re.M)
    assert match, f"htrgui.iss has no [{name}] section"
    return match.group(1)


def test_windows_signing_is_optional_and_covers_programs_setup_and_uninstaller():
    ps1 = code(PS1, "#")
    assert "$env:HTRGUI_SIGN_CERT" in ps1 and "NOT signed" in ps1  # skipped with a clear message
    assert re.search(r'\$SignArgs = @\("sign", "/fd", "SHA256", "/tr", \$Timestamp, "/td", "SHA256"\)', ps1)
    assert "htrgui.exe dist\\htrgui\\htrgui-cli.exe" in ps1  # both programs, before the zip is made
    assert ps1.index("$SignTool @SignArgs") < ps1.index("$Zip = ")
    # the name of the sign tool passed to ISCC is the one the script uses, and only when signing
    tool = re.search(r'"/S(\w+)=\$SignCmd"', ps1).group(1)
    setup = section(ISS, "Setup")
    assert re.search(rf"#ifdef Sign\n(?:;.*\n)?SignTool={tool}\nSignedUninstaller=yes\n#endif", setup)
    assert '"/DSign=1"' in ps1
    readme = (INSTALLER / "README.md").read_text(encoding="utf-8")
    assert "HTRGUI_SIGN_CERT" in readme


def test_windows_defines_passed_are_the_ones_the_script_uses():
    passed = set(re.findall(r'/D(\w+)=', PS1))
    assert passed == {"AppVersion", "OutputBaseName", "Repo", "Sign"}
    for name in passed:
        assert re.search(rf"#ifn?def {name}\b|\{{#{name}\}}", ISS), name


def test_windows_upgrade_and_uninstall_leave_nothing_stale():
    # [InstallDelete]: the old version's program files go before the new ones are copied.
    deleted = set(re.findall(r'Name: "\{app\}\\([^"]+)"', section(ISS, "InstallDelete")))
    assert deleted == {"_internal", "htrgui.exe", "htrgui-cli.exe"}
    assert "contents_directory" not in SPEC  # PyInstaller's default onedir folder is _internal
    # PATH: every entry added is guarded, and the uninstaller removes it from the same root and key.
    adds = [ln for ln in section(ISS, "Registry").splitlines() if 'ValueName: "Path"' in ln]
    assert len(adds) == 2 and all("Tasks: addtopath" in a and "NeedsAddPath" in a for a in adds)
    pascal = section(ISS, "Code")
    assert re.search(r"procedure CurUninstallStepChanged.*usPostUninstall.*RemoveFromPath\(ExpandConstant\('\{app\}'\)\)",
                     pascal, re.S)
    assert "RegWriteExpandStringValue(PathRoot(), PathKey(), 'Path'" in pascal
    # a { ... } Pascal comment ends at the first }: none may contain a {constant}
    assert not re.search(r"\{[^}\n]*\{", re.sub(r"'[^']*'", "''", pascal))


def test_windows_zip_handles_more_than_2_gb():
    ps1 = code(PS1, "#")
    assert "Compress-Archive" not in ps1
    assert re.search(r"\$SevenZip a -tzip", ps1) and "tar.exe -a -c -f $Zip -C dist htrgui" in ps1


def test_windows_terminal_users_are_pointed_at_htrgui_cli():
    assert 'htrgui-cli.exe"" doctor' in section(ISS, "Icons")
    assert "htrgui-cli" in re.search(r'Name: "addtopath".*', ISS).group(0)
    sys.path.insert(0, str(INSTALLER))
    import launcher

    hint = launcher.cli_hint(["doctor", "--json"])
    assert hint and "htrgui-cli doctor --json" in hint
    assert launcher.cli_hint(["--version"])
    for window_args in ([], ["scan.jpg"], ["gui", "folder"], [str(REPO)], ["--smoke-test"]):
        assert launcher.cli_hint(window_args) is None, window_args


def test_macos_signs_inside_out_verifies_and_notarises_app_and_dmg():
    mac = code(MAC, "#")
    signing = [ln for ln in mac.splitlines() if "codesign" in ln]
    assert signing and not [ln for ln in signing if "--deep" in ln and "--verify" not in ln]
    assert 'codesign --verify --strict --deep --verbose=2 "$APP"' in mac
    # inside-out: libraries, then nested bundles, then the programs, then the app
    order = [mac.index(s) for s in ("-name '*.dylib'", "-name '*.framework'", 'sign "$program"', 'sign "$APP"')]
    assert order == sorted(order)
    assert "--options runtime" in mac and "--timestamp" in mac
    for target in ('"$APP"', '"$DMG"'):
        assert f"xcrun stapler staple {target}" in mac
    assert mac.count("xcrun notarytool submit") == 2
    assert 'spctl --assess -vv --type execute "$APP"' in mac
    assert mac.index('xcrun stapler staple "$APP"') < mac.index("hdiutil create")  # the dmg carries the stapled app
    # folders and scans dropped on the Dock icon reach the app (QFileOpenEvent)
    assert '"public.folder"' in SPEC and '"public.image"' in SPEC
