"""Replay lines for one-click fine-tuning: what keeps a model from forgetting everything but the new hand.

Fine-tuning on a few pages of one writer makes a model better at that writer and worse at the rest. Mixing
in lines of other hands while it trains holds that off. The app ships no real pages, so the default replay
comes from two places:

* the **replay store** (``<user data>/replay/``): every fine-tune remembers a sample of the verified lines
  it learnt from, one file per project, so the next fine-tune on another collection replays the user's own
  earlier corrections (real handwriting, the user's kind of documents, nothing leaves the machine);
* **synthetic lines** rendered with handwriting fonts (:func:`handwriting_fonts`: the user's own font folder,
  fonts an installer put in ``resources/fonts``, a checkout's ``../shared/fonts``, or the script and
  handwriting fonts the operating system has), with the words of the lines being learnt recombined, which
  fill up when the store is short.
"""

from __future__ import annotations

import hashlib
import os
import random
import sys
from pathlib import Path

import numpy as np

from htrgui.core.errors import HtrError
from htrgui.core.training.data import LineSet
from htrgui.core.training.synthetic import FONT_SUFFIXES

PER_SOURCE = 600    # lines remembered per project: enough variety, about 8 MB per project on disk
STORE_LIMIT = 20    # projects kept; the oldest file goes first


def replay_dir() -> Path:
    from htrgui.core.paths import user_data_dir

    path = user_data_dir() / "replay"
    path.mkdir(parents=True, exist_ok=True)
    return path


#: File-name parts of script and handwriting fonts that Windows, macOS and Linux distributions ship.
SYSTEM_HANDWRITING = ("segoesc", "segoepr", "inkfree", "lucida handwriting", "lhandw", "bradley", "noteworthy",
                      "snell", "chancery", "chalkduster", "marker felt", "savoye", "zapfino", "brush",
                      "script", "hand", "cursive", "kalam", "caveat", "dancing", "purisa", "z003")


def font_folders() -> list[Path]:
    """Folders of handwriting fonts, first found first: ``HTRGUI_FONTS``, ``<user data>/fonts``, the app's
    ``resources/fonts`` (an installer may bundle some) and a checkout's ``../shared/fonts``."""
    from htrgui.core.paths import resources_dir, shared_dir, user_data_dir

    env = os.environ.get("HTRGUI_FONTS")
    candidates = [Path(env)] if env else []
    candidates += [user_data_dir() / "fonts", resources_dir() / "fonts", shared_dir() / "fonts"]
    return [c for c in candidates if c.is_dir() and any(p.suffix.lower() in FONT_SUFFIXES for p in c.iterdir())]


def system_handwriting_fonts() -> list[Path]:
    """Script and handwriting fonts installed on this computer (by file name)."""
    home = Path.home()
    if sys.platform.startswith("win"):
        roots = [Path(os.environ.get("WINDIR", "C:/Windows")) / "Fonts",
                 Path(os.environ.get("LOCALAPPDATA", home)) / "Microsoft" / "Windows" / "Fonts"]
    elif sys.platform == "darwin":
        roots = [Path("/System/Library/Fonts"), Path("/Library/Fonts"), home / "Library" / "Fonts"]
    else:
        roots = [Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), home / ".local/share/fonts", home / ".fonts"]
    found = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            name = path.name.lower()
            if path.suffix.lower() in FONT_SUFFIXES and any(k in name for k in SYSTEM_HANDWRITING):
                found.append(path)
    return found


def handwriting_fonts() -> list[Path]:
    """What synthetic replay lines are rendered with: the first font folder found, else the system's
    handwriting fonts; empty when there are none (replay then comes from the store only)."""
    folders = font_folders()
    return folders[:1] if folders else system_handwriting_fonts()


def source_key(source: str) -> str:
    """A file name for a project folder (or any label): stable, short, no path characters."""
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


def remember(lines: LineSet, source: str, limit: int = PER_SOURCE, seed: int = 0) -> Path | None:
    """Keep a sample of ``lines`` (verified lines a fine-tune learnt from) for later fine-tunes.

    One file per ``source``, replaced each time (a project's newest corrections are its best). Returns the
    file, or None when there was nothing to keep. Never raises for a full disk: replay is a bonus, and the
    fine-tune it follows has already succeeded.
    """
    real = [i for i, p in enumerate(lines.pages) if not p.startswith("synthetic/") and not p.startswith("replay/")]
    if not real:
        return None
    rng = np.random.default_rng(seed)
    pick = sorted(rng.choice(real, min(limit, len(real)), replace=False).tolist())
    path = replay_dir() / f"{source_key(source)}.npz"
    try:
        lines.subset(pick).save(path)
        _prune(replay_dir())
    except (OSError, HtrError):
        return None
    return path


def _prune(folder: Path, keep: int = STORE_LIMIT) -> None:
    files = sorted(folder.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in files[keep:]:
        old.unlink(missing_ok=True)


def stored_lines(exclude: str | None = None, limit: int = 2000, seed: int = 0) -> LineSet:
    """Lines remembered from earlier fine-tunes, except those of ``exclude`` (the project being learnt:
    its own lines are already in the training set). Unreadable files are skipped."""
    skip = source_key(exclude) if exclude else None
    out = LineSet()
    for path in sorted(replay_dir().glob("*.npz")):
        if path.stem == skip:
            continue
        try:
            part = LineSet.load(path)
        except HtrError:
            continue
        out.extend(LineSet(part.images, part.texts, [f"replay/{path.stem}"] * len(part)))
    if len(out) > limit:
        out = out.subset(sorted(np.random.default_rng(seed).choice(len(out), limit, replace=False).tolist()))
    return out


def synthetic_replay(lines: LineSet, count: int, fonts: Path | list[Path] | None = None, seed: int = 0) -> LineSet:
    """``count`` lines rendered with handwriting fonts (a folder, or font folders and files; by default
    :func:`handwriting_fonts`), their words drawn from ``lines`` (the user's vocabulary and alphabet). Empty
    when there are no fonts or no words."""
    from htrgui.core.training.synthetic import load_fonts, random_text, synthetic_lines

    words = sorted({w for t in lines.texts for w in t.split() if w})
    if count <= 0 or not words:
        return LineSet()
    if fonts is None:
        source = handwriting_fonts()
    else:
        source = [Path(f) for f in ([fonts] if isinstance(fonts, (str, Path)) else fonts)]
    if not source or not all(f.exists() for f in source):
        return LineSet()
    try:
        faces = load_fonts(source)
    except HtrError:
        return LineSet()
    rng = random.Random(seed)
    texts = [random_text(words, rng, 2, 7) for _ in range(count)]
    out = LineSet()
    try:
        for img, text in synthetic_lines(faces, texts=texts, count=count, seed=seed):
            out.add(img, text, "synthetic/replay")
    except HtrError:
        pass  # no font renders these letters: fewer synthetic lines, not a failed fine-tune
    return out


def default_replay(lines: LineSet, source: str | None, count: int, fonts: Path | list[Path] | None = None,
                   seed: int = 0) -> LineSet:
    """About ``count`` replay lines: remembered ones from other projects first, synthetic ones for the rest."""
    real = stored_lines(exclude=source, limit=count, seed=seed)
    return real.extend(synthetic_replay(lines, count - len(real), fonts, seed))
