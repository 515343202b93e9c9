"""One transcription convention for the shipped model's training text (docs/training.md, "Conventions").

The collections we train on transcribe diplomatically, each in its own way: ``’`` or ``'`` for the same
apostrophe, ``ſ`` or ``s``, ``¬`` or ``-`` at a broken word, superscript letters as ``^e`` or as a combining
letter above. A general model should not have to guess which collection a line came from, so every training
line is mapped to one convention here, in the cache builders. What is *written* stays distinct (accents, the
abbreviation tilde of ``cõme``, ``&``); only spellings of one glyph are unified. A user's own convention is
learnt by fine-tuning on their corrections, which are never normalised.

The codec the convention implies is every character left that occurs at least :data:`MIN_COUNT` times in the
whole training text (:func:`implied_alphabet`); a line holding a rarer one (Greek, Hebrew, a one-off MUFI
sign) is left out of training rather than teaching a class from three examples.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from typing import Iterable

from htrgui.core.text import normalize

#: Characters of the training text seen fewer times than this leave their lines out (see module doc).
MIN_COUNT = 25

#: Always in the alphabet, however rare in our collections: printable ASCII and the letters of the languages
#: an archive in Latin script commonly holds (French, German, Spanish, Italian, Portuguese, Esperanto...),
#: so that a line with a capital À or Ç is trained on, not dropped.
BASE_ALPHABET = frozenset(
    "".join(chr(c) for c in range(0x20, 0x7F))
    + "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝŸŒàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœßĉĝĥĵŝŭĈĜĤĴŜŬ«»°’")

# One glyph, several spellings -> the spelling we keep. Everything else is kept as written.
_MAP = {
    "'": "’", "‘": "’", "ʼ": "’", "´": "’", "`": "’",   # apostrophes (and quotes written as one)
    "“": '"', "”": '"', "„": '"', "‟": '"',              # double quotes; « » are written differently, kept
    "—": "-", "–": "-", "‐": "-", "‑": "-", "─": "-", "¬": "-", "⸗": "-",  # dashes, hyphens, break marks
    "ſ": "s", "ẜ": "s", "ẝ": "s",                        # long s
    "⁊": "&",                                           # Tironian et: the sign for "et"
    "‸": "",                                            # caret marking an insertion (not a glyph of the line)
    "\u200b": "", "\u200c": "", "\u200d": "", "\ufeff": "",  # zero-width characters
}

# Combining Latin small letters (U+0363-U+036F) are superscript letters above the previous one; the
# collections (LECTAUREP, CREMMA) otherwise write a superscript as "^" + letter, so we do too.
_SUPERSCRIPT = {chr(0x0363 + i): "^" + c for i, c in enumerate("aeioucdhmrtvx")}


def normalise(text: str) -> str:
    """The training convention of ``text``: NFC, one space between words, unified spellings (see _MAP)."""
    mapped = "".join(_SUPERSCRIPT.get(c) or _MAP.get(c, c) for c in unicodedata.normalize("NFC", text))
    return normalize(mapped)  # the codec's NFC and white-space folding, as labels are compared


def implied_alphabet(texts: Iterable[str], min_count: int = MIN_COUNT) -> set[str]:
    """:data:`BASE_ALPHABET` and the characters of the normalised ``texts`` seen at least ``min_count`` times."""
    counts: Counter[str] = Counter()
    for t in texts:
        counts.update(t)
    return set(BASE_ALPHABET) | {c for c, n in counts.items() if n >= min_count}


def usable(text: str, alphabet: set[str]) -> bool:
    """True when the (normalised) line has text and every character is in ``alphabet``."""
    return bool(text) and all(c in alphabet for c in text)
