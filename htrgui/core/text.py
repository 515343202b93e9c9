"""Text as the app compares it: one normalisation, the edit distance, character and word error rates.

Every place that folds text (the codec before encoding, training labels, evaluation, the installer's check)
uses :func:`normalize` from here. CER and WER are micro-averaged over a corpus: the sum of edit distances divided by the sum of reference lengths,
so long lines weigh more than short ones (the HTR convention). Texts are compared after NFC normalisation
with white space folded to single spaces; words are the white-space separated tokens.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Sequence


def normalize(text: str) -> str:
    """NFC with runs of white space folded to one space and the ends stripped."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def edit_distance(a: Sequence, b: Sequence) -> int:
    """Levenshtein distance (insertions, deletions, substitutions cost 1) of two sequences."""
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


@dataclass
class ErrorRates:
    """Accumulated edits; ``cer`` and ``wer`` are the micro averages."""

    char_edits: int = 0
    chars: int = 0
    word_edits: int = 0
    words: int = 0
    lines: int = 0
    per_line: list[tuple[int, int]] = field(default_factory=list, repr=False)

    def add(self, prediction: str, reference: str) -> None:
        """Count one line."""
        pred, ref = normalize(prediction), normalize(reference)
        ce = edit_distance(pred, ref)
        self.char_edits += ce
        self.chars += len(ref)
        self.word_edits += edit_distance(pred.split(), ref.split())
        self.words += len(ref.split())
        self.lines += 1
        self.per_line.append((ce, len(ref)))

    @property
    def cer(self) -> float:
        return self.char_edits / max(self.chars, 1)

    @property
    def wer(self) -> float:
        return self.word_edits / max(self.words, 1)

    def as_dict(self) -> dict:
        return {"cer": self.cer, "wer": self.wer, "char_edits": self.char_edits, "chars": self.chars,
                "word_edits": self.word_edits, "words": self.words, "lines": self.lines}


def error_rates(pairs: Iterable[tuple[str, str]]) -> ErrorRates:
    """Micro-averaged CER/WER of (prediction, reference) pairs."""
    rates = ErrorRates()
    for pred, ref in pairs:
        rates.add(pred, ref)
    return rates


def cer(prediction: str, reference: str) -> float:
    """Character error rate of one line."""
    return error_rates([(prediction, reference)]).cer
