"""A PAGE/ALTO file beside a scan (an eScriptorium or Transkribus export) is the project's starting point."""

from __future__ import annotations

import shutil

from htrgui.core.project import Project


def test_sibling_alto_is_read_and_saves_go_to_page_folder(shared_data, tmp_path):
    src = sorted((shared_data / "poilus").rglob("*.xml"))[3]
    shutil.copy(src, tmp_path / src.name)
    shutil.copy(src.with_suffix(".jpg"), tmp_path / src.with_suffix(".jpg").name)
    project = Project.open(tmp_path)
    (entry,) = project.entries
    page = project.load_page(entry)
    assert len(list(page.lines())) > 0
    assert page.xml_path == entry.xml_path  # the project's own file, not the other tool's
    before = (tmp_path / src.name).read_bytes()
    next(page.lines()).set_text("changed")
    project.save_page(page)
    assert (tmp_path / src.name).read_bytes() == before
    again = Project.open(tmp_path).load_page(entry)
    assert next(again.lines()).text == "changed"
