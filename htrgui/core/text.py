"""Text as the app compares it: one normalisation, the edit distance, character and word error rates.

Every place that folds text (the codec before encoding, training labels, evaluation, the installer's check)
uses :func:`normalize` from here. CER and WER are micro-averaged over a corpus: the sum of edit distances divided by the sum of reference lengths,
so long lines weigh more than short ones (the HTR convention). Texts are compared after NFC normalisation
with white space folded to single spaces; words are the white-space separated tokens.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence


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


def alignment(prediction: str, reference: str) -> list[tuple[str, str]]:
    """One cheapest alignment of the reference onto the prediction (both normalised), as (truth, read) pairs in
    reading order: a match or substitution ``("e", "c")``, a deletion ``("e", "")``, an insertion ``("", "e")``.
    Among equally cheap alignments, matches and substitutions are preferred."""
    pred, ref = normalize(prediction), normalize(reference)
    n, m = len(ref), len(pred)
    # full table: lines are short (tens of characters), and the backtrace needs every cell
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        row, above, x = d[i], d[i - 1], ref[i - 1]
        for j in range(1, m + 1):
            row[j] = min(above[j] + 1, row[j - 1] + 1, above[j - 1] + (x != pred[j - 1]))
    pairs: list[tuple[str, str]] = []
    i, j = n, m
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (ref[i - 1] != pred[j - 1]):
            pairs.append((ref[i - 1], pred[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i][j] == d[i - 1][j] + 1:
            pairs.append((ref[i - 1], ""))
            i -= 1
        else:
            pairs.append(("", pred[j - 1]))
            j -= 1
    pairs.reverse()
    return pairs


def edit_operations(prediction: str, reference: str) -> list[tuple[str, str]]:
    """The edits of :func:`alignment` (its pairs that differ): as many as :func:`edit_distance` counts."""
    return [(t, r) for t, r in alignment(prediction, reference) if t != r]


def _without_case(text: str) -> str:
    return text.lower()


def _without_punctuation(text: str) -> str:
    return "".join(c for c in text if not unicodedata.category(c).startswith("P"))


def _without_diacritics(text: str) -> str:
    return unicodedata.normalize("NFC", "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"))


def _without_spaces(text: str) -> str:
    return "".join(text.split())


#: What an error can be forgiven for: the CER with each folded away on both sides says how much of the error
#: rate it accounts for (a reading that is right but for its capitals is worth more to an archivist).
FOLDINGS: dict[str, Callable[[str], str]] = {
    "case": _without_case, "punctuation": _without_punctuation,
    "diacritics": _without_diacritics, "spaces": _without_spaces,
}


@dataclass
class ErrorProfile:
    """What a reading gets wrong: its edits by kind, the most frequent confusions (truth -> read), and the CER
    left once case, punctuation, diacritics or word spacing are folded away on both sides (the edits left over
    the unfolded truth's length, so that each is comparable with the CER)."""

    rates: ErrorRates = field(default_factory=ErrorRates)
    confusions: Counter = field(default_factory=Counter)
    folded_edits: Counter = field(default_factory=Counter)

    def add(self, prediction: str, reference: str) -> None:
        """Count one line."""
        self.rates.add(prediction, reference)
        self.confusions.update(edit_operations(prediction, reference))
        pred, ref = normalize(prediction), normalize(reference)
        for name, fold in FOLDINGS.items():
            self.folded_edits[name] += edit_distance(fold(pred), fold(ref))

    def as_dict(self, top: int = 20) -> dict:
        """JSON-ready: edits by kind, the ``top`` confusions, the CER without each folding."""
        total = max(1, sum(self.confusions.values()))
        kinds = Counter()
        for (truth, read), count in self.confusions.items():
            kinds["insertions" if not truth else "deletions" if not read else "substitutions"] += count
        return {
            "cer": self.rates.cer, "char_edits": self.rates.char_edits, "chars": self.rates.chars,
            "edits": {k: kinds[k] for k in ("substitutions", "deletions", "insertions")},
            "cer_without": {name: self.folded_edits[name] / max(1, self.rates.chars) for name in FOLDINGS},
            "confusions": [{"truth": t, "read": r, "count": c, "share": round(c / total, 4)}
                           for (t, r), c in self.confusions.most_common(top)],
        }
