"""Tables in PAGE: Transkribus ``TableRegion/TableCell`` and PAGE 2019 ``TableRegion/TextRegion`` cells.

eScriptorium and kraken only read lines of top-level regions, so cells are read as top-level regions (type
``table-cell``, row by row, at the table's place in the reading order) and written back as top-level
TextRegions with a standard ``Roles/TableCellRole`` and ``custom="table {id:...;}"``. The table element
itself is kept without its cells.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from htrgui.core.document import TextRegion
from htrgui.core.pagecustom import format_tag, parse_custom
from htrgui.core.xmlsafe import child, local, ns_of, to_string

CELLS = ("TableCell", "TextRegion")  # Transkribus cells, PAGE 2019 cells


def read_table(reader, elem: ET.Element) -> tuple[int | None, list[TextRegion], str]:
    """(reading order index, the cells as regions row by row, the table without its cells serialized).

    ``reader`` is the PAGE reader (:class:`htrgui.core.pagexml._Reader`) that reads each cell as a region.
    """
    table_id = elem.get("id", "")
    ns = ns_of(elem.tag)
    shell = ET.Element(elem.tag, elem.attrib)
    cells = []
    for pos, c in enumerate(elem):
        if local(c.tag) not in CELLS:
            shell.append(c)
            continue
        _, region = reader.region(c)
        if region is None:
            continue
        row, col, role = _cell_position(c)
        if local(c.tag) == "TableCell":
            for key in ("row", "col", "rowSpan", "colSpan"):
                region.extras.attrs.pop(key, None)
            roles = ET.Element(f"{{{ns}}}Roles" if ns else "Roles")
            ET.SubElement(roles, f"{{{ns}}}TableCellRole" if ns else "TableCellRole", role)
            region.extras.elements.insert(0, to_string(roles))
        region.type = region.type or "table-cell"
        region.extras.custom.append(format_tag("table", {"id": table_id}))
        cells.append((row, col, pos, region))
    index = next((int(t.values["index"]) for t in parse_custom(elem.get("custom"))
                  if t.name == "readingOrder" and t.values.get("index", "").isdigit()), None)
    return index, [r for *_, r in sorted(cells, key=lambda t: t[:3])], to_string(shell)


def cells_of(table: ET.Element) -> list[ET.Element]:
    """The cell elements of a TableRegion (none: the table has no text and is kept as it is)."""
    return [c for c in table if local(c.tag) in CELLS]


def _cell_position(cell: ET.Element) -> tuple[int, int, dict[str, str]]:
    """(row, column, TableCellRole attributes) of a Transkribus TableCell or a PAGE 2019 cell region."""
    if local(cell.tag) == "TableCell":
        role = {"rowIndex": cell.get("row", "0"), "columnIndex": cell.get("col", "0"),
                "rowSpan": cell.get("rowSpan", "1"), "colSpan": cell.get("colSpan", "1")}
    else:
        roles = child(cell, "Roles")
        found = child(roles, "TableCellRole") if roles is not None else None
        role = dict(found.attrib) if found is not None else {"rowIndex": "0", "columnIndex": "0"}

    def num(key: str) -> int:
        value = role.get(key, "0")
        return int(value) if value.isdigit() else 0

    return num("rowIndex"), num("columnIndex"), role
