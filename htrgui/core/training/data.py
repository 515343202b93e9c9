"""Training data: where lines come from, their cache, and width-bucketed batches.

Sources (``htrgui train --train DATA...``):

- a PAGE or ALTO file (its lines with text), or a folder of them (searched recursively);
- a ``splits.json``-style page list: ``splits.json:general/train`` picks a list inside the JSON (paths
  relative to the JSON's folder, extension optional), a JSON file holding a plain list works too;
- a line cache ``.npz`` written by :meth:`LineSet.save` (crops cut once, reused by every run);
- an IAM-style ``.ln`` list: one image name a line, relative to the list's folder (or its ``lines/``
  sub-folder), with the transcription in a ``.txt`` of the same stem beside the image.

Every line becomes a uint8 grey crop of height 64 (dark ink on white) plus its text, tagged with its page
so validation can be done by whole pages. Crops are cut once and cached (``LineSet.save``/``load``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from htrgui.core.errors import FormatError, HtrError
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.recognition.config import HEIGHT
from htrgui.core.text import normalize as normalize_text  # labels fold as evaluation compares them

DOC_SUFFIXES = (".xml",)
#: Training pads its batches to a multiple of this many columns (the width buckets of :func:`make_batches`).
TRAIN_MULTIPLE = 64
LABEL_ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "latin-1")


@dataclass
class LineSet:
    """Line crops (uint8, height 64, any width), their texts and the page each comes from."""

    images: list[np.ndarray] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, image: np.ndarray, text: str, page: str) -> None:
        self.images.append(np.ascontiguousarray(image, dtype=np.uint8))
        self.texts.append(text)
        self.pages.append(page)

    def extend(self, other: "LineSet") -> "LineSet":
        self.images += other.images
        self.texts += other.texts
        self.pages += other.pages
        return self

    def subset(self, indices) -> "LineSet":
        return LineSet([self.images[i] for i in indices], [self.texts[i] for i in indices],
                       [self.pages[i] for i in indices])

    def page_names(self) -> list[str]:
        """Pages in first-seen order."""
        return list(dict.fromkeys(self.pages))

    def split_pages(self, held_out: list[str]) -> tuple["LineSet", "LineSet"]:
        """(lines of the other pages, lines of ``held_out`` pages): never splits a page."""
        keep = set(held_out)
        rest = [i for i, p in enumerate(self.pages) if p not in keep]
        held = [i for i, p in enumerate(self.pages) if p in keep]
        return self.subset(rest), self.subset(held)

    def charset(self) -> set[str]:
        return set("".join(self.texts))

    def save(self, path: Path | str) -> None:
        """One .npz (pixels concatenated along the width), written atomically."""
        from htrgui.core.io import atomic_write_bytes
        import io

        widths = np.array([im.shape[1] for im in self.images], dtype=np.int64)
        pixels = np.concatenate(self.images, axis=1) if self.images else np.zeros((HEIGHT, 0), np.uint8)
        meta = json.dumps({"texts": self.texts, "pages": self.pages}, ensure_ascii=False)
        buf = io.BytesIO()
        np.savez(buf, pixels=pixels, widths=widths, meta=np.frombuffer(meta.encode("utf-8"), np.uint8))
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: Path | str) -> "LineSet":
        try:
            with np.load(path) as z:
                pixels, widths = z["pixels"], z["widths"]
                meta = json.loads(bytes(z["meta"]).decode("utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise HtrError(f"{path}: not a line cache ({exc})") from None
        edges = np.concatenate([[0], np.cumsum(widths)])
        # Each crop is copied out, not kept as a view: a view's row stride is the whole cache's width, and
        # OpenCV's kernels (the augmentations) address rows with 32-bit offsets, so in a cache of more than
        # 2 GiB of pixels the lower rows of a view lie past 2^31 bytes and cv2 reads wild memory (a segfault,
        # first seen on a 3.6 GB cache). Contiguous crops also warp faster.
        images = [np.ascontiguousarray(pixels[:, edges[i]: edges[i + 1]]) for i in range(len(widths))]
        del pixels
        return cls(images, meta["texts"], meta["pages"])


# ------------------------------------------------------------------------------------------ sources

def _split_spec(spec: str) -> tuple[Path, str | None]:
    """``file.json:key/sub`` -> (file.json, "key/sub"); other specs have no key."""
    if ".json:" in spec:
        path, key = spec.split(".json:", 1)
        return Path(path + ".json"), key
    return Path(spec), None


def _json_pages(path: Path, key: str | None) -> list[Path]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FormatError(f"cannot read page list: {exc}", path) from None
    for part in (key or "").split("/"):
        if not part:
            continue
        if not isinstance(data, dict) or part not in data:
            raise FormatError(f"no list {key!r} (keys: {sorted(data) if isinstance(data, dict) else '-'})", path)
        data = data[part]
    if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
        raise FormatError(f"{key or 'the file'} is not a list of page paths; name one as {path}:KEY/SUBKEY", path)
    out = []
    for name in data:
        p = path.parent / name
        if p.suffix.lower() not in DOC_SUFFIXES:
            p = p.with_name(p.name + ".xml")
        if not p.is_file():
            raise FormatError(f"listed page {name!r} not found ({p})", path)
        out.append(p)
    return out


def expand_sources(specs: list[str]) -> tuple[list[Path], list[Path]]:
    """(PAGE/ALTO files, .ln lists and .npz line caches) named by the specs, in order, each once."""
    docs: list[Path] = []
    lists: list[Path] = []
    for spec in specs:
        path, key = _split_spec(spec)
        if not path.exists():
            raise HtrError(f"{path}: no such file or folder")
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in DOC_SUFFIXES and p.is_file())
            found = [p for p in found if not p.name.startswith(".")]
            if not found:
                raise HtrError(f"{path}: folder holds no PAGE or ALTO file")
            docs += found
        elif path.suffix.lower() == ".json":
            docs += _json_pages(path, key)
        elif path.suffix.lower() in (".ln", ".npz"):
            lists.append(path)
        elif path.suffix.lower() in DOC_SUFFIXES:
            docs.append(path)
        else:
            raise HtrError(f"{path}: not a PAGE/ALTO file, folder, page list (.json) or line list (.ln)")
    return list(dict.fromkeys(docs)), list(dict.fromkeys(lists))


def _read_label(path: Path) -> str:
    raw = path.read_bytes()
    for enc in LABEL_ENCODINGS:
        try:
            return normalize_text(raw.decode(enc))
        except UnicodeDecodeError:
            continue
    return normalize_text(raw.decode("latin-1"))


def _ln_lines(list_path: Path) -> Iterator[tuple[np.ndarray, str, str]]:
    from htrgui.core.imaging import load_image
    from htrgui.core.recognition.linecrop import paper_to_white, resize_to_height

    try:
        names = [n.strip() for n in list_path.read_text(encoding="utf-8").splitlines() if n.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read line list: {exc}", list_path) from None
    for name in names:
        img_path = next((p for p in (list_path.parent / name, list_path.parent / "lines" / name) if p.is_file()),
                        None)
        if img_path is None:
            raise FormatError(f"listed image {name!r} not found beside the list or in lines/", list_path)
        label = img_path.with_suffix(".txt")
        if not label.is_file():
            raise FormatError(f"no transcription {label.name} beside {img_path.name}", list_path)
        # IAM ids are form-line (a01-000u-00): lines of one form share a hand, so they form one "page".
        page = f"{list_path}:{img_path.stem.rsplit('-', 1)[0]}"
        # the same preparation as a line cut from a page (crop_line): paper tone to white, then height 64
        yield resize_to_height(paper_to_white(load_image(img_path, mode="L")), HEIGHT), _read_label(label), page


def _page_lines(doc: Path, only_verified: bool) -> Iterator[tuple[np.ndarray, str, str]]:
    from htrgui.core.imaging import load_image
    from htrgui.core.io import read_document
    from htrgui.core.recognition.linecrop import crop_line

    page = read_document(doc)
    lines = [ln for ln in page.lines() if normalize_text(ln.text) and (ln.status == "verified" or not only_verified)]
    if not lines:
        return
    if page.image_path is None or not Path(page.image_path).is_file():
        raise FormatError(f"image {page.image_filename!r} not found", doc)
    gray = load_image(page.image_path, page_index=page.page_index, mode="L")
    for line in lines:
        yield crop_line(gray, line, height=HEIGHT), normalize_text(line.text), str(doc)


def segmented_lines(gray: np.ndarray, lines: list, params=None) -> list[tuple[np.ndarray, object]]:
    """True lines (``TextLine``) as the app's own segmentation of the page finds them: (crop, true line) for
    each found line whose baseline matches a true one's end to end (``scoring.tight_matches``), cut as a new
    scan's line is cut (``params``: the segmentation's, default the app's). Training on these as well teaches
    the model the crops it reads in the app, not only the ground truth's polygons; lines the segmentation
    splits, merges or misses give nothing."""
    from htrgui.core.recognition.linecrop import crop_line
    from htrgui.core.segmentation import segment_page
    from htrgui.core.segmentation.scoring import tight_matches, tolerance_for

    truth = [ln for ln in lines if len(ln.baseline) >= 2]
    if not truth:
        return []
    found = [ln for region in segment_page(gray, params) for ln in region.lines]
    pairs = tight_matches([ln.baseline for ln in truth], [ln.baseline for ln in found],
                          tolerance_for([ln.polygon for ln in truth if ln.polygon]))
    out = []
    for i, j in sorted(pairs):
        try:
            out.append((crop_line(gray, found[j], height=HEIGHT), truth[i]))
        except ValueError:
            continue
    return out


def read_lines(specs: list[str], *, only_verified: bool = False, cancel: CancelToken | None = None
               ) -> Iterator[Progress | LineSet]:
    """Yield Progress per file, then the complete :class:`LineSet` (the last item)."""
    import warnings

    docs, lists = expand_sources(specs)
    out = LineSet()
    total = len(docs) + len(lists)
    for i, path in enumerate([*docs, *lists]):
        if cancel is not None:
            cancel.check()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # repairs of the io layer are not training's business
            if path.suffix.lower() == ".npz":
                out.extend(LineSet.load(path))
                items = iter(())
            else:
                items = _ln_lines(path) if path.suffix.lower() == ".ln" else _page_lines(path, only_verified)
            for image, text, page in items:
                out.add(image, text, page)
        yield Progress(i + 1, total, f"reading {path.name}", {"lines": len(out)})
    if not len(out):
        raise HtrError(f"no line with text in {', '.join(specs)}")
    yield out


def load_lineset(specs: list[str], **kw) -> LineSet:
    """:func:`read_lines` without progress."""
    result = None
    for item in read_lines(specs, **kw):
        if isinstance(item, LineSet):
            result = item
    assert result is not None
    return result


# ------------------------------------------------------------------------------------------ batches

def make_batches(widths: list[int], max_columns: int, rng: np.random.Generator,
                 multiple: int = TRAIN_MULTIPLE, max_lines: int = 64) -> list[list[int]]:
    """Width-bucketed batches in random order: lines of similar width together, so little padding is
    computed; each batch holds at most ``max_columns`` padded columns (lines x rounded width)."""
    order = np.argsort(np.asarray(widths) + rng.uniform(0, multiple, len(widths)), kind="stable")
    batches: list[list[int]] = []
    current: list[int] = []
    for idx in order:
        w = -(-int(widths[idx]) // multiple) * multiple
        if current and ((len(current) + 1) * max(w, current_w) > max_columns or len(current) >= max_lines):
            batches.append(current)
            current = []
        if not current:
            current_w = w
        current.append(int(idx))
        current_w = max(current_w, w)
    if current:
        batches.append(current)
    perm = rng.permutation(len(batches))
    return [batches[i] for i in perm]
