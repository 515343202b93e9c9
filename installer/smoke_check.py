"""Check the PAGE-XML the frozen build wrote (used by ``installer/smoke_linux.sh``).

Independent of the app's own reader (only its edit distance is shared): lxml parses the file and validates
it against the PAGE 2019 schema.
Checks that lines were found and recognised, measures a page-level character error rate against the
eScriptorium ALTO ground truth, and, given the output of the same commands run from source, checks that the
frozen build produced the same lines and text. Prints a JSON summary; exits 1 when a check fails.

    python installer/smoke_check.py --page out.xml --xsd pagecontent-2019-07-15.xsd \
        [--ground-truth page.alto.xml] [--reference from_source.xml]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from htrgui.core.text import edit_distance  # noqa: E402  (pure Python: the app's one edit distance)

PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"


def page_lines(path: Path) -> list[dict]:
    """Each TextLine of a PAGE file: id, polygon point count, baseline presence, text (line-level TextEquiv)."""
    ns = {"p": PAGE_NS}
    tree = etree.parse(str(path))
    out = []
    for line in tree.iterfind(".//p:TextLine", ns):
        coords = line.find("p:Coords", ns)
        texts = line.xpath("p:TextEquiv/p:Unicode/text()", namespaces=ns)
        out.append({
            "id": line.get("id"),
            "points": len(coords.get("points", "").split()) if coords is not None else 0,
            "baseline": line.find("p:Baseline", ns) is not None,
            "text": texts[0] if texts else "",
        })
    return out


def alto_text(path: Path) -> str:
    """The ground-truth text of an ALTO file: lines in document order, words joined by single spaces."""
    tree = etree.parse(str(path))
    lines = []
    for tl in tree.iter("{*}TextLine"):
        words = [s.get("CONTENT", "") for s in tl.iter("{*}String")]
        lines.append(" ".join(w for w in words if w))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", required=True, type=Path)
    ap.add_argument("--xsd", required=True, type=Path)
    ap.add_argument("--ground-truth", type=Path)
    ap.add_argument("--reference", type=Path, help="PAGE file written by the same commands run from source")
    ap.add_argument("--min-lines", type=int, default=5)
    ap.add_argument("--min-text-fraction", type=float, default=0.9,
                    help="share of lines that must have text (0 for an untrained test model)")
    args = ap.parse_args(argv)

    failures: list[str] = []
    schema = etree.XMLSchema(etree.parse(str(args.xsd)))
    doc = etree.parse(str(args.page))
    if not schema.validate(doc):
        failures.append(f"not valid PAGE 2019: {schema.error_log.last_error}")
    lines = page_lines(args.page)
    with_text = [ln for ln in lines if ln["text"].strip()]
    if len(lines) < args.min_lines:
        failures.append(f"only {len(lines)} lines found (expected at least {args.min_lines})")
    if any(ln["points"] < 3 for ln in lines):
        failures.append("a line polygon has fewer than 3 points")
    if lines and len(with_text) < args.min_text_fraction * len(lines):
        failures.append(f"only {len(with_text)} of {len(lines)} lines have text")
    summary: dict = {"page": str(args.page), "lines": len(lines), "lines_with_text": len(with_text),
                     "baselines": sum(ln["baseline"] for ln in lines)}
    hyp = "\n".join(ln["text"] for ln in lines)
    if args.ground_truth:
        ref = alto_text(args.ground_truth)
        # Page level, in reading order: segmentation and line order differ from the ground truth's, so this is
        # an upper bound of the line-level error, reported for information, not checked.
        summary["page_cer"] = round(edit_distance(hyp, ref) / max(1, len(ref)), 4)
        summary["ground_truth_lines"] = ref.count("\n") + 1
        summary["ground_truth_chars"] = len(ref)
    if args.reference:
        ref_lines = page_lines(args.reference)
        same = [a["text"] for a in lines] == [b["text"] for b in ref_lines]
        summary["same_as_source_run"] = same and len(lines) == len(ref_lines)
        if not summary["same_as_source_run"]:
            diff = edit_distance(hyp, "\n".join(b["text"] for b in ref_lines))
            failures.append(f"frozen output differs from the source run ({len(lines)} vs {len(ref_lines)} lines, "
                            f"{diff} characters differ)")
    summary["sample"] = [ln["text"] for ln in with_text[:3]]
    summary["failures"] = failures
    summary["ok"] = not failures
    print(json.dumps(summary, ensure_ascii=False, indent=2))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
