"""Project folders: scans of every kind become pages, stored as page/<name>.xml beside them."""

from __future__ import annotations

import shutil
import warnings

import pytest
from PIL import Image

from htrgui.core.document import TextLine, TextRegion
from htrgui.core.errors import FormatError, HtrError
from htrgui.core.project import Project


@pytest.fixture
def folder(tmp_path):
    Image.new("L", (200, 100), 255).save(tmp_path / "scan10.png")
    Image.new("L", (210, 110), 255).save(tmp_path / "scan2.jpg")
    Image.new("L", (220, 120), 255).save(tmp_path / "scan2.png")  # same stem as scan2.jpg
    pages = [Image.new("L", (300, 200), 255), Image.new("L", (310, 210), 255)]
    pages[0].save(tmp_path / "book.tif", save_all=True, append_images=pages[1:])
    Image.new("L", (170, 220), 255).save(tmp_path / "letter.pdf", resolution=50.0)
    (tmp_path / "broken.jpg").write_bytes(b"nothing")
    Image.new("L", (50, 50), 255).save(tmp_path / "book_p0002.png")  # clashes with page 2 of book.tif
    (tmp_path / "notes.txt").write_text("not a scan")
    return tmp_path


def test_entries_names_and_sizes(folder):
    project = Project.open(folder)
    names = [e.name for e in project.entries]
    assert names == ["book_p0001", "book_p0002", "book_p0002_png", "letter", "scan2_jpg", "scan2_png", "scan10"]
    assert [e.page_index for e in project.entries][:2] == [0, 1]
    assert all(e.xml_path == folder / "page" / f"{e.name}.xml" for e in project.entries)
    assert len(project.skipped) == 1 and "broken.jpg" in project.skipped[0]
    page = project.load_page(project.entry("book_p0002"))
    assert (page.width, page.height, page.page_index) == (310, 210, 1)
    assert not page.regions and page.image_path == folder / "book.tif"
    assert project.load_page(project.entry("letter")).width == 170


def test_single_file_as_project(folder):
    project = Project.open(folder / "book.tif")
    assert project.folder == folder
    assert [e.name for e in project.entries] == ["book_p0001", "book_p0002"]
    with pytest.raises(HtrError, match="not a scan"):
        Project.open(folder / "notes.txt")


def test_save_and_reload_multipage(folder, page_xsd):
    project = Project.open(folder)
    entry = project.entry("book_p0002")
    page = project.load_page(entry)
    line = TextLine("l_1", [(10, 10), (200, 10), (200, 60), (10, 60)], [(10, 50), (200, 50)])
    line.set_text("zweite Seite", source="model:tiny", confidence=0.5)
    page.regions.append(TextRegion("r_1", [(5, 5), (250, 5), (250, 100), (5, 100)], lines=[line]))
    assert project.save_page(page) == entry.xml_path
    assert page_xsd.errors(entry.xml_path) == []
    xml = entry.xml_path.read_text(encoding="utf-8")
    assert 'imageFilename="book.tif"' in xml and "pageIndex:1;" in xml
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the image is found and its size matches: no warning at all
        again = Project.open(folder).load_page(entry)
    assert again.page_index == 1 and again.image_path == folder / "book.tif"
    assert [(ln.text, ln.status, ln.source) for ln in again.lines()] == [("zweite Seite", "predicted", "model:tiny")]
    assert not (folder / "page" / "book_p0001.xml").exists()


def test_page_without_xml_path_is_matched_to_its_entry(folder):
    project = Project.open(folder)
    page = project.load_page(project.entry("scan10"))
    page.xml_path = None
    assert project.save_page(page) == folder / "page" / "scan10.xml"


def test_bad_stored_xml_and_missing_folder(folder, tmp_path):
    project = Project.open(folder)
    entry = project.entry("scan10")
    entry.xml_path.parent.mkdir(exist_ok=True)
    entry.xml_path.write_text("<PcGts><broken", encoding="utf-8")
    with pytest.raises(FormatError, match="scan10.xml"):
        project.load_page(entry)
    with pytest.raises(HtrError, match="not found"):
        Project.open(tmp_path / "nowhere")


def test_shared_data_folder_as_project(shared_data, tmp_path):
    """A folder of real scans with eScriptorium ALTO beside them: the ALTO is not a stored page yet."""
    src = next(p for p in sorted(shared_data.rglob("*.xml")) if p.with_suffix(".jpg").exists())
    shutil.copy(src.with_suffix(".jpg"), tmp_path)
    project = Project.open(tmp_path)
    assert [e.name for e in project.entries] == [src.stem]
    from htrgui.core.io import read_document

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        imported = read_document(src)
    imported.image_path = project.entries[0].image_path
    imported.xml_path = None
    project.save_page(imported)
    again = project.load_page(project.entries[0])
    assert [ln.id for ln in again.lines()] == [ln.id for ln in imported.lines()]
    assert (again.width, again.height) == (imported.width, imported.height)
