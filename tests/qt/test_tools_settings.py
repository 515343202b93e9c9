"""Settings: round trip through the real file, damaged files never stop the app, unknown keys survive."""

from __future__ import annotations

import json
import sys

import pytest

pytest.importorskip("PySide6")

from htrgui.core.paths import user_config_dir  # noqa: E402
from htrgui.qt.settings import (  # noqa: E402
    MAX_RECENT,
    SCHEMA_VERSION,
    Settings,
    SettingsWarning,
    load_settings,
    save_settings,
    settings_path,
)


def test_defaults_when_no_file():
    s = load_settings()
    assert s == Settings()
    assert s.schema_version == SCHEMA_VERSION
    assert "ſ" in s.special_characters
    assert not settings_path().exists()


def test_round_trip(tmp_path):
    s = Settings(device="cpu", default_model="/models/mine.pt", font_family="Junicode", font_size=18,
                 special_characters=["ꝑ", "ꝯ", "a\u0303"], theme="dark")
    s.add_recent(tmp_path / "a")
    s.add_recent(tmp_path / "b")
    s.add_recent(tmp_path / "a")
    save_settings(s)
    assert settings_path().parent == user_config_dir()
    loaded = load_settings()
    assert loaded == s
    assert loaded.recent_projects == [str((tmp_path / "a").resolve()), str((tmp_path / "b").resolve())]
    # Human-readable UTF-8 on disk, no leftover temporary files.
    assert "ꝑ" in settings_path().read_text(encoding="utf-8")
    assert sorted(p.name for p in settings_path().parent.iterdir()) == ["settings.json"]


def test_recent_projects_are_capped(tmp_path):
    s = Settings()
    for i in range(MAX_RECENT + 5):
        s.add_recent(tmp_path / f"p{i}")
    assert len(s.recent_projects) == MAX_RECENT
    assert s.recent_projects[0].endswith(f"p{MAX_RECENT + 4}")


@pytest.mark.parametrize("content", [b"{\"device\": \"cpu\",", b"\xff\xfe\x00garbage", b"[1, 2, 3]", b""])
def test_corrupt_file_is_set_aside_with_a_warning(content):
    path = settings_path()
    path.write_bytes(content)
    with pytest.warns(SettingsWarning, match="settings.json"):
        s = load_settings()
    assert s == Settings()
    assert s.problems and "settings.json" in s.problems[0]  # for the window to tell the user
    assert not path.exists()
    assert path.with_name("settings.json.corrupt").read_bytes() == content
    # The next save works and the next load is quiet.
    save_settings(s)
    assert load_settings() == s


def test_a_bad_value_resets_only_its_field():
    settings_path().write_text(json.dumps({
        "device": "quantum", "font_size": "big", "theme": "dark", "special_characters": ["ꝑ", 7],
        "default_model": "tiny",
    }), encoding="utf-8")
    with pytest.warns(SettingsWarning) as record:
        s = load_settings()
    messages = " ".join(str(w.message) for w in record)
    assert "device" in messages and "font_size" in messages and "special_characters" in messages
    assert (s.device, s.font_size, s.special_characters) == ("auto", Settings().font_size,
                                                             Settings().special_characters)
    assert (s.theme, s.default_model) == ("dark", "tiny")
    assert len(s.problems) == 3
    save_settings(s)
    assert "problems" not in json.loads(settings_path().read_text(encoding="utf-8"))


def test_unknown_keys_of_a_newer_version_survive_a_save():
    settings_path().write_text(json.dumps({"theme": "light", "spellcheck": {"lang": "la"}}), encoding="utf-8")
    s = load_settings()
    s.font_size = 20
    save_settings(s)
    data = json.loads(settings_path().read_text(encoding="utf-8"))
    assert data["spellcheck"] == {"lang": "la"}
    assert data["font_size"] == 20 and data["theme"] == "light"


@pytest.mark.skipif(sys.platform == "win32", reason="chmod does not make a folder read-only on Windows")
def test_failed_save_leaves_the_old_file(monkeypatch):
    save_settings(Settings(theme="dark"))
    folder = settings_path().parent
    folder.chmod(0o500)
    try:
        if (folder / "probe").exists() or _writable(folder):
            pytest.skip("running as root: cannot make the folder read-only")
        with pytest.raises(OSError):
            save_settings(Settings(theme="light"))
    finally:
        folder.chmod(0o700)
    assert load_settings().theme == "dark"


def _writable(folder) -> bool:
    try:
        (folder / "probe").write_text("x")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True
