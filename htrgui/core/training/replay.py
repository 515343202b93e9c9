"""Replay lines for one-click fine-tuning: what keeps a model from forgetting everything but the new hand.

Fine-tuning on a few pages of one writer makes a model better at that writer and worse at the rest. Mixing
in lines of other hands while it trains holds that off. The app ships no real pages, so the default replay
comes from two places:

* the **replay store** (``<user data>/replay/``): every fine-tune remembers a sample of the verified lines
  it learnt from, one file per project, so the next fine-tune on another collection replays the user's own
  earlier corrections (real handwriting, the user's kind of documents, nothing leaves the machine);
* **synthetic lines** rendered with the handwriting fonts bundled in ``resources/fonts`` (all SIL Open Font
  License), with the words of the lines being learnt recombined, which fill up when the store is short.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import numpy as np

from htrgui.core.errors import HtrError
from htrgui.core.training.data import LineSet

PER_SOURCE = 600    # lines remembered per project: enough variety, about 8 MB per project on disk
STORE_LIMIT = 20    # projects kept; the oldest file goes first


def replay_dir() -> Path:
    from htrgui.core.paths import user_data_dir

    path = user_data_dir() / "replay"
    path.mkdir(parents=True, exist_ok=True)
    return path


def bundled_fonts_dir() -> Path:
    from htrgui.core.paths import resources_dir

    return resources_dir() / "fonts"


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


def synthetic_replay(lines: LineSet, count: int, fonts: Path | None = None, seed: int = 0) -> LineSet:
    """``count`` lines rendered with the handwriting fonts, their words drawn from ``lines`` (the user's
    vocabulary and alphabet). Empty when there are no fonts or no words."""
    from htrgui.core.training.synthetic import load_fonts, random_text, synthetic_lines

    folder = Path(fonts) if fonts else bundled_fonts_dir()
    words = sorted({w for t in lines.texts for w in t.split() if w})
    if count <= 0 or not words or not folder.is_dir():
        return LineSet()
    try:
        faces = load_fonts(folder)
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


def default_replay(lines: LineSet, source: str | None, count: int, fonts: Path | None = None,
                   seed: int = 0) -> LineSet:
    """About ``count`` replay lines: remembered ones from other projects first, synthetic ones for the rest."""
    real = stored_lines(exclude=source, limit=count, seed=seed)
    return real.extend(synthetic_replay(lines, count - len(real), fonts, seed))
