"""The character codec: text <-> class ids for CTC.

Text is NFC-normalised first; every code point that remains is one class (combining marks too, so a letter
with a mark NFC cannot compose still round-trips). Id 0 is the CTC blank. A character the codec does not
know is reported (:meth:`Codec.missing`, :class:`UnknownCharacters`), never silently dropped.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from htrgui.core.errors import HtrError
from htrgui.core.text import normalize

BLANK = 0


class UnknownCharacters(HtrError):
    """Text holds characters the model cannot write; ``chars`` lists them."""

    def __init__(self, chars: Iterable[str], where: str = "") -> None:
        self.chars = sorted(set(chars))
        shown = " ".join(f"{c!r} (U+{ord(c):04X})" for c in self.chars)
        super().__init__(f"{where + ': ' if where else ''}characters not in the model's alphabet: {shown}")


@dataclass(frozen=True)
class Codec:
    """An ordered alphabet; class id of ``chars[i]`` is ``i + 1``."""

    chars: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            dup = [c for c, n in Counter(self.chars).items() if n > 1]
            raise ValueError(f"codec has duplicate characters: {dup}")
        if any(len(c) != 1 for c in self.chars):
            raise ValueError("codec entries must be single code points")

    @classmethod
    def from_texts(cls, texts: Iterable[str], min_count: int = 1) -> "Codec":
        """The sorted set of characters of ``texts`` (after :func:`normalize`) seen at least ``min_count`` times."""
        counts: Counter[str] = Counter()
        for t in texts:
            counts.update(normalize(t))
        return cls(tuple(sorted(c for c, n in counts.items() if n >= min_count)))

    @property
    def num_classes(self) -> int:
        """Head size: the characters plus the blank."""
        return len(self.chars) + 1

    def __len__(self) -> int:
        return len(self.chars)

    def _index(self) -> dict[str, int]:
        index = self.__dict__.get("_idx")
        if index is None:
            index = {c: i + 1 for i, c in enumerate(self.chars)}
            object.__setattr__(self, "_idx", index)
        return index

    def missing(self, text: str) -> set[str]:
        """Characters of ``normalize(text)`` the codec lacks."""
        index = self._index()
        return {c for c in normalize(text) if c not in index}

    def encode(self, text: str, *, where: str = "") -> list[int]:
        """Class ids of ``normalize(text)``; raises :class:`UnknownCharacters` naming what is missing."""
        index = self._index()
        text = normalize(text)
        try:
            return [index[c] for c in text]
        except KeyError:
            raise UnknownCharacters({c for c in text if c not in index}, where) from None

    def decode(self, ids: Iterable[int]) -> str:
        """Text of class ids (blanks skipped; no CTC collapsing here, see ``decode.py``)."""
        chars = self.chars
        return "".join(chars[i - 1] for i in ids if 0 < i <= len(chars))

    def extend(self, new_chars: Iterable[str]) -> "Codec":
        """A codec with ``new_chars`` appended after the existing ones (old ids unchanged)."""
        index = self._index()
        added: list[str] = []
        for c in unicodedata.normalize("NFC", "".join(new_chars)):
            # white space is always folded to " " by normalize(), so no other space character can occur
            if (c.isspace() and c != " ") or c in index or c in added:
                continue
            added.append(c)
        return Codec(self.chars + tuple(added))

    def to_list(self) -> list[str]:
        return list(self.chars)

    @classmethod
    def from_list(cls, chars: Iterable[str]) -> "Codec":
        return cls(tuple(chars))
