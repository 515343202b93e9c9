"""Shared fixtures. Tests never touch the developer's settings, and run Qt offscreen."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from htrgui.core.paths import shared_dir

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED = shared_dir()
DATA = SHARED / "data"
SCHEMAS = SHARED / "schemas"


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Point HTRGUI_HOME at a temporary folder so no test reads or writes the user's settings or models."""
    home = tmp_path_factory.mktemp("htrgui_home")
    monkeypatch.setenv("HTRGUI_HOME", str(home))
    return home


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent: these tests need the shared data checked out beside the repository")
    return path


@pytest.fixture
def one_thread():
    """torch on one thread for the test (reproducible steps; the other core is left to the rest)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real eScriptorium ALTO pages); skips with a reason when absent."""
    return _need(DATA)


@pytest.fixture(scope="session")
def schemas() -> Path:
    """../shared/schemas (PAGE and ALTO XSDs)."""
    return _need(SCHEMAS)


@pytest.fixture(scope="session")
def splits(shared_data) -> dict:
    """The page-level splits of ../shared/data/splits.json."""
    return json.loads((shared_data / "splits.json").read_text(encoding="utf-8"))


def all_alto_files() -> list[Path]:
    """Every ALTO file of ../shared/data (empty when absent)."""
    return sorted(DATA.rglob("*.xml")) if DATA.exists() else []


#: A page of the adaptation writer (LECTAUREP, Dufour register): 95 lines of real ground truth.
LECTAUREP_PAGE = "lectaurep/lectaurep-dufour-1/DAFANCH96_048MIC07644_L-1"


@pytest.fixture
def verified_project(shared_data, tmp_path):
    """Factory: a project folder of copies of a real LECTAUREP scan, one per name, whose saved page holds
    that scan's ground truth with only the first ``n`` lines verified (the others "predicted")."""
    import shutil

    from htrgui.core.io import read_document
    from htrgui.core.project import Project

    def make(verified: dict[str, int], page: str = LECTAUREP_PAGE, folder: str = "project") -> Project:
        root = tmp_path / folder
        root.mkdir()
        source = read_document(shared_data / f"{page}.xml")
        for name in verified:
            shutil.copy(source.image_path, root / f"{name}{Path(source.image_path).suffix}")
        project = Project.open(root)
        for entry in project.entries:
            doc = read_document(shared_data / f"{page}.xml")
            doc.image_path, doc.image_filename, doc.xml_path = entry.image_path, entry.image_path.name, None
            for i, line in enumerate(doc.lines()):
                line.status = "verified" if i < verified[entry.name] else "predicted"
            project.save_page(doc)
        return project

    return make
