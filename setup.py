"""Build hook: ship the repository's ``models/`` (the default model, which carries its language model, and its card) inside the
package as ``htrgui/models/``, and ``resources/`` (the bundled word lists) as ``htrgui/resources/``, so that
``pip install .`` (not only ``-e``) has a model to recognise with and its word lists.

Everything else is in pyproject.toml; ``htrgui.core.paths.bundled_models_dir`` and ``resources_dir`` find the
copies.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MODEL_FILES = ("*.pt", "*.md")


class BuildPyWithModels(build_py):
    """``build_py`` that also copies ``models/`` and ``resources/`` into the built package (not for editable
    installs, which find the checkout's folders directly)."""

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
        resources = Path(__file__).resolve().parent / "resources"
        if resources.is_dir():
            shutil.copytree(resources, Path(self.build_lib) / "htrgui" / "resources", dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithModels})
