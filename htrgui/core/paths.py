"""Where things live: user data (models, settings), bundled resources and models, and the shared test data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "htrgui"


def _home_override() -> Path | None:
    home = os.environ.get("HTRGUI_HOME")
    return Path(home) if home else None


def user_data_dir() -> Path:
    """Per-user data (fine-tuned models, caches). ``HTRGUI_HOME`` overrides it (tests, portable installs)."""
    home = _home_override()
    if home is not None:
        path = home / "data"
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_config_dir() -> Path:
    """Per-user settings. ``HTRGUI_HOME`` overrides it."""
    home = _home_override()
    if home is not None:
        path = home / "config"
    else:
        import platformdirs

        path = Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_models_dir() -> Path:
    """The user's own models (fine-tunes, imports)."""
    path = user_data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def app_root() -> Path:
    """The folder holding ``resources/`` and ``models/``: the checkout, or the frozen bundle."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parents[2]


def resources_dir() -> Path:
    """The shipped resources (word lists): ``htrgui/resources/`` inside an installed package, else
    ``resources/`` of the checkout or of the frozen bundle."""
    return _bundled("resources")


def bundled_models_dir() -> Path:
    """The shipped models: ``htrgui/models/`` inside an installed package (a wheel, ``pip install .``), else
    ``models/`` of the checkout or of the frozen bundle."""
    return _bundled("models")


def _bundled(folder: str) -> Path:
    """``folder`` as setup.py copies it into the installed package, else the checkout's or the bundle's."""
    frozen = getattr(sys, "_MEIPASS", None)
    packaged = Path(__file__).resolve().parents[1] / folder
    if not frozen and packaged.is_dir():
        return packaged
    return app_root() / folder


def shared_dir() -> Path:
    """The shared research material (real pages, schemas, fonts, word lists) beside a checkout: ``../shared``,
    or ``HTRGUI_SHARED``. Used by the benchmarks, training scripts and tests, never by the app itself."""
    env = os.environ.get("HTRGUI_SHARED")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared"
