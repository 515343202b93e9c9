"""The user's preferences, stored as JSON in ``user_config_dir()/settings.json``.

A settings file is something people edit by hand, copy between machines and that older or newer versions of
the app read: so a damaged file never stops the app (it is set aside as ``settings.json.corrupt`` and defaults
are used, with a warning), a wrong value only resets that one field, and keys this version does not know are
kept and written back for the version that does. ``schema_version`` is bumped when a field changes meaning;
``_migrate`` then upgrades older files.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from htrgui.core.io import atomic_write_text
from htrgui.core.paths import user_config_dir

SCHEMA_VERSION = 1
DEVICES = ("auto", "cpu", "cuda")
THEMES = ("system", "light", "dark")
#: How recognition decodes: with the shipped language model and the project's verified lines (``project``),
#: with the shipped language model only (``model``), or greedily without one (``none``).
LANGUAGE_MODELS = ("project", "model", "none")
MAX_RECENT = 10

#: Characters of medieval and early modern manuscripts that keyboards lack (MUFI abbreviations among them).
DEFAULT_SPECIAL_CHARACTERS = [
    "ſ", "ꝛ", "ꝑ", "ꝓ", "ꝗ", "ꝙ", "ꝯ", "ꝰ", "⁊", "ꝫ", "ꝭ", "ħ", "đ", "ƀ", "ł",
    "ā", "ē", "ī", "ō", "ū", "ñ", "\u0303", "æ", "œ", "ȝ", "þ", "ð", "ß", "¶", "†",
]


class SettingsWarning(UserWarning):
    """The settings file could not be used as it is (corrupt or with wrong values); defaults were taken."""


@dataclass
class Settings:
    """Preferences of one user. Field order is the order in the JSON file."""

    schema_version: int = SCHEMA_VERSION
    #: ``auto`` uses a CUDA GPU when torch finds one, else the CPU.
    device: str = "auto"
    #: Name or path of the recognition model, "" for the shipped default.
    default_model: str = ""
    #: Language model of the beam search (see LANGUAGE_MODELS): by default the project's corrections teach it.
    language_model: str = "project"
    #: A word list or text in the documents' language mixed into the language model ("" for none): the
    #: shipped one knows mostly French (an English word list takes 5-12 % of the errors off English letters).
    language_text: str = ""
    #: Editor font; "" lets Qt choose the system's default font.
    font_family: str = ""
    font_size: int = 14
    special_characters: list[str] = field(default_factory=lambda: list(DEFAULT_SPECIAL_CHARACTERS))
    theme: str = "system"
    #: Fine-tuning keeps a sample of the lines it learnt from (on this computer) to replay in later fine-tunes.
    remember_lines: bool = True
    #: The model learns while the user corrects (background fine-tunes, core/training/continuous.py). Off
    #: by default: on a CPU a round takes one core for minutes, which a user must choose knowingly.
    continuous_learning: bool = False
    #: Project folders, most recent first.
    recent_projects: list[str] = field(default_factory=list)
    #: Keys of a newer version (or of another tool) kept as they are so saving does not drop them.
    unknown: dict[str, Any] = field(default_factory=dict, repr=False)
    #: What was wrong with the file when it was loaded (never saved): the window may show it to the user.
    problems: list[str] = field(default_factory=list, repr=False, compare=False)

    def add_recent(self, folder: str | Path) -> None:
        """Put ``folder`` first in the recent projects (no duplicates, at most MAX_RECENT)."""
        path = str(Path(folder).resolve())
        self.recent_projects = [path] + [p for p in self.recent_projects if p != path]
        del self.recent_projects[MAX_RECENT:]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        unknown = data.pop("unknown")
        data.pop("problems")
        return {**unknown, **data}


def settings_path() -> Path:
    return user_config_dir() / "settings.json"


def _valid(name: str, value: Any) -> bool:
    """Whether ``value`` is acceptable for field ``name`` (types as JSON gives them)."""
    if name == "schema_version":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "device":
        return value in DEVICES
    if name == "theme":
        return value in THEMES
    if name == "language_model":
        return value in LANGUAGE_MODELS
    if name == "font_size":
        return isinstance(value, int) and not isinstance(value, bool) and 4 <= value <= 96
    if name in ("remember_lines", "continuous_learning"):
        return isinstance(value, bool)
    if name in ("default_model", "font_family", "language_text"):
        return isinstance(value, str)
    if name == "special_characters":
        return isinstance(value, list) and all(isinstance(c, str) and c for c in value)
    if name == "recent_projects":
        return isinstance(value, list) and all(isinstance(p, str) for p in value)
    return False


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Upgrade a settings dict written by an older version (none yet: version 1 is the first)."""
    return data


def settings_from_dict(data: dict[str, Any], source: str = "settings") -> Settings:
    """Build Settings from parsed JSON; a bad value resets only its field (with a SettingsWarning)."""
    data = _migrate(dict(data))
    known = {f.name for f in fields(Settings)} - {"unknown", "problems"}
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name in known & data.keys():
        if _valid(name, data[name]):
            values[name] = data[name]
        else:
            problems.append(f"{source}: ignoring invalid {name} {data[name]!r}, using the default")
            warnings.warn(problems[-1], SettingsWarning, stacklevel=3)
    values["schema_version"] = SCHEMA_VERSION
    values["unknown"] = {k: v for k, v in data.items() if k not in known}
    return Settings(**values, problems=problems)


def load_settings(path: Path | None = None) -> Settings:
    """The saved settings, or defaults when there are none or the file cannot be used."""
    path = path or settings_path()
    if not path.exists():
        return Settings()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        kept = path.with_name(path.name + ".corrupt")
        try:
            os.replace(path, kept)
            where = f"; it was kept as {kept.name}"
        except OSError:
            where = ""
        problem = f"{path}: cannot read the settings ({exc}), using defaults{where}"
        warnings.warn(problem, SettingsWarning, stacklevel=2)
        return Settings(problems=[problem])
    return settings_from_dict(data, str(path))


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write the settings atomically: a crash leaves the old file or the new one, never half of one."""
    path = path or settings_path()
    atomic_write_text(path, json.dumps(settings.to_json(), ensure_ascii=False, indent=2) + "\n")
