"""Build hook: ship the repository's ``models/`` (the default model, which carries its language model, and its card) inside the
package as ``htrgui/models/``, so that ``pip install .`` (not only ``-e``) has a model to recognise with.

Everything else is in pyproject.toml; ``htrgui.core.paths.bundled_models_dir`` finds the copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MODEL_FILES = ("*.pt", "*.md")


class BuildPyWithModels(build_py):
    """``build_py`` that also copies ``models/`` into the built package (not for editable installs, which
    find the checkout's ``models/`` directly)."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        source = Path(__file__).resolve().parent / "models"
        target = Path(self.build_lib) / "htrgui" / "models"
        target.mkdir(parents=True, exist_ok=True)
        for pattern in MODEL_FILES:
            for path in sorted(source.glob(pattern)):
                shutil.copy2(path, target / path.name)


setup(cmdclass={"build_py": BuildPyWithModels})
