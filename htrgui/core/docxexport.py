"""Word (.docx) export: the page's text for editing in a word processor, one paragraph per region.

A .docx is a zip of XML parts (ECMA-376, Office Open XML). We write the three a word processor needs: the
content types, the package relationship, and ``word/document.xml``. Each region becomes a paragraph whose
lines are separated by line breaks (so the lines of the original stay visible), in reading order; margin
notes are set in italics, headings in bold, and lines the model produced but nobody checked are
underlined with a dotted line, so an editor sees at a glance what still needs checking.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from htrgui.core.document import Page, TextRegion
from htrgui.core.fileio import atomic_write_bytes
from htrgui.core.xmlsafe import clean_text

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
</Types>"""

RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
</Relationships>"""


def _run(text: str, props: str) -> str:
    rpr = f"<w:rPr>{props}</w:rPr>" if props else ""
    return f'<w:r>{rpr}<w:t xml:space="preserve">{escape(clean_text(text))}</w:t></w:r>'


def _paragraph(region: TextRegion) -> str | None:
    """A region's lines as one paragraph (line breaks between lines); None when no line has text."""
    lines = [ln for ln in region.lines if ln.text.strip()]
    if not lines:
        return None
    kind = (region.type or "").lower()
    base = "<w:i/>" if kind in ("marginalia", "footnote") else "<w:b/>" if kind in ("heading", "header") else ""
    runs = []
    for n, line in enumerate(lines):
        if n:
            runs.append("<w:r><w:br/></w:r>")
        unchecked = '<w:u w:val="dotted"/>' if line.status == "predicted" else ""
        runs.append(_run(line.text, base + unchecked))
    return f"<w:p>{''.join(runs)}</w:p>"


def document_xml(page: Page) -> str:
    """``word/document.xml`` for ``page`` (an empty paragraph when the page has no text)."""
    paragraphs = [p for p in (_paragraph(r) for r in page.regions) if p] or ["<w:p/>"]
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W}"><w:body>'
            + "".join(paragraphs)
            + '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/>'
            '<w:pgMar w:top="1134" w:right="1134" w:bottom="1134" w:left="1134" w:header="708" w:footer="708" '
            'w:gutter="0"/></w:sectPr></w:body></w:document>')


def docx_bytes(page: Page) -> bytes:
    """The .docx file for ``page``; fixed timestamps, so the same page gives the same bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", RELS),
                           ("word/document.xml", document_xml(page))):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text.encode("utf-8"))
    return buf.getvalue()


def write_docx(page: Page, path: Path | str) -> None:
    """Write ``page`` as a Word document, atomically."""
    atomic_write_bytes(path, docx_bytes(page))
