"""Check the PAGE-XML the frozen build wrote (used by ``installer/smoke_linux.sh``).

Independent of the app's own reader (only its edit distance is shared), and of anything the build environment
may lack: the standard library parses the files (they are our own output and the shared ground truth), and the
PAGE 2019 schema is checked with lxml when it is installed, else with ``xmllint`` (libxml2-utils), else
reported as not checked.
Checks that lines were found and recognised, measures a page-level character error rate against the
eScriptorium ALTO ground truth, and, given the output of the same commands run from source, checks that the
frozen build produced the same lines and text. Prints a JSON summary (also when a file is missing or not XML);
exits 1 when a check fails.

    python installer/smoke_check.py --page out.xml --xsd pagecontent-2019-07-15.xsd \
        [--ground-truth page.alto.xml] [--reference from_source.xml]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from htrgui.core.text import edit_distance  # noqa: E402  (pure Python: the app's one edit distance)

PAGE_NS = "http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15"


def page_lines(path: Path) -> list[dict]:
    """Each TextLine of a PAGE file: id, polygon point count, baseline presence, text (line-level TextEquiv)."""
    ns = {"p": PAGE_NS}
    out = []
    for line in ET.parse(path).getroot().iterfind(".//p:TextLine", ns):
        coords = line.find("p:Coords", ns)
        text = line.findtext("p:TextEquiv/p:Unicode", default="", namespaces=ns)
        out.append({
            "id": line.get("id"),
            "points": len(coords.get("points", "").split()) if coords is not None else 0,
            "baseline": line.find("p:Baseline", ns) is not None,
            "text": text or "",
        })
    return out


def alto_text(path: Path) -> str:
    """The ground-truth text of an ALTO file: lines in document order, words joined by single spaces."""
    lines = []
    for tl in ET.parse(path).getroot().iterfind(".//{*}TextLine"):  # any ALTO version's namespace
        words = [s.get("CONTENT", "") for s in tl.iterfind(".//{*}String")]
        lines.append(" ".join(w for w in words if w))
    return "\n".join(lines)


def schema_errors(page: Path, xsd: Path) -> tuple[str, str | None]:
    """Validate ``page`` against ``xsd``: (how it was checked, the first error or None).

    ``how`` is "lxml", "xmllint" or "not checked: ..." when neither is available (the check is then skipped,
    and said so in the summary)."""
    try:
        from lxml import etree
    except ImportError:
        etree = None
    if etree is not None:
        schema = etree.XMLSchema(etree.parse(str(xsd)))
        ok = schema.validate(etree.parse(str(page)))
        return "lxml", None if ok else str(schema.error_log.last_error)
    xmllint = shutil.which("xmllint")
    if xmllint:
        done = subprocess.run([xmllint, "--noout", "--schema", str(xsd), str(page)], capture_output=True,
                              text=True, timeout=120)
        first = next((ln for ln in done.stderr.splitlines() if "validates" not in ln), done.stderr.strip())
        return "xmllint", None if done.returncode == 0 else first
    return "not checked: neither lxml nor xmllint (apt install libxml2-utils) is available", None


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
    try:
        lines = page_lines(args.page)
    except (OSError, ET.ParseError) as exc:  # no output, or not XML: a summary, not a traceback
        print(json.dumps({"page": str(args.page), "failures": [f"cannot read the output: {exc}"], "ok": False}))
        return 1
    how, error = schema_errors(args.page, args.xsd)
    if error:
        failures.append(f"not valid PAGE 2019 ({how}): {error}")
    with_text = [ln for ln in lines if ln["text"].strip()]
    if len(lines) < args.min_lines:
        failures.append(f"only {len(lines)} lines found (expected at least {args.min_lines})")
    if any(ln["points"] < 3 for ln in lines):
        failures.append("a line polygon has fewer than 3 points")
    if lines and len(with_text) < args.min_text_fraction * len(lines):
        failures.append(f"only {len(with_text)} of {len(lines)} lines have text")
    summary: dict = {"page": str(args.page), "schema": how, "lines": len(lines), "lines_with_text": len(with_text),
                     "baselines": sum(ln["baseline"] for ln in lines)}
    hyp = "\n".join(ln["text"] for ln in lines)
    if args.ground_truth:
        try:
            ref = alto_text(args.ground_truth)
        except (OSError, ET.ParseError) as exc:
            failures.append(f"cannot read the ground truth: {exc}")
            ref = None
    if args.ground_truth and ref is not None:
        # Page level, in reading order: segmentation and line order differ from the ground truth's, so this is
        # an upper bound of the line-level error, reported for information, not checked.
        summary["page_cer"] = round(edit_distance(hyp, ref) / max(1, len(ref)), 4)
        summary["ground_truth_lines"] = ref.count("\n") + 1
        summary["ground_truth_chars"] = len(ref)
    ref_lines = None
    if args.reference:
        try:
            ref_lines = page_lines(args.reference)
        except (OSError, ET.ParseError) as exc:
            failures.append(f"cannot read the source run's output: {exc}")
    if ref_lines is not None:
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
