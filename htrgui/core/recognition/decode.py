"""CTC decoding: greedy best path and a prefix beam search that can favour words of a lexicon.

Both give the text, one confidence per character (the highest posterior of that character over the frames
aligned to it) and a line confidence (the mean of the character confidences; the blank's for an empty line).
"""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from htrgui.core.recognition.codec import BLANK, Codec

_NEG_INF = float("-inf")
_WORD_STRIP = "«»“”„\"'()[]{}.,;:!?·-—_/\\"


@dataclass
class Decoded:
    text: str
    confidence: float
    char_confidences: list[float]


def _finish(codec: Codec, ids: list[int], confs: list[float], probs: np.ndarray) -> Decoded:
    text = codec.decode(ids)
    if len(text) != len(ids):  # ids outside the codec were skipped: keep the lists aligned
        keep = [0 < i <= len(codec) for i in ids]
        confs = [c for c, k in zip(confs, keep) if k]
    if confs:
        conf = float(np.mean(confs))
    else:
        conf = float(probs[:, BLANK].mean()) if len(probs) else 0.0
    return Decoded(text, conf, [float(c) for c in confs])


def greedy(probs: np.ndarray, codec: Codec) -> Decoded:
    """Best path of a (T, C) posterior matrix: argmax per frame, merge repeats, drop blanks."""
    best = probs.argmax(axis=1)
    return greedy_from_best(best, probs[np.arange(len(best)), best], probs[:, BLANK], codec)


def greedy_from_best(best: np.ndarray, best_p: np.ndarray, blank_p: np.ndarray, codec: Codec) -> Decoded:
    """Greedy decoding from each frame's best class and its posterior (computed where the model ran, so a
    GPU sends back two numbers per frame instead of the whole posterior matrix)."""
    ids: list[int] = []
    confs: list[float] = []
    prev = BLANK
    for k, p in zip(best.tolist(), best_p.tolist()):
        if k != BLANK and k == prev:
            confs[-1] = max(confs[-1], p)
        elif k != BLANK:
            ids.append(k)
            confs.append(p)
        prev = k
    text = codec.decode(ids)
    if len(text) != len(ids):  # ids outside the codec were skipped: keep the lists aligned
        confs = [c for c, k in zip(confs, ids) if 0 < k <= len(codec)]
    conf = float(np.mean(confs)) if confs else (float(np.mean(blank_p)) if len(blank_p) else 0.0)
    return Decoded(text, conf, [float(c) for c in confs])


def align_confidences(probs: np.ndarray, ids: list[int]) -> list[float]:
    """Per-character confidence of ``ids`` by CTC Viterbi alignment on the (T, C) posteriors."""
    if not ids:
        return []
    logp = np.log(np.maximum(probs, 1e-30))
    ext = [BLANK]
    for k in ids:
        ext += [k, BLANK]
    s_len, t_len = len(ext), len(logp)
    ext_a = np.array(ext)
    # a state may skip the blank before it when the character differs from the one two states back
    can_skip = np.zeros(s_len, dtype=bool)
    can_skip[2:] = (ext_a[2:] != BLANK) & (ext_a[2:] != ext_a[:-2])
    score = np.full(s_len, _NEG_INF)
    score[0] = logp[0, ext[0]]
    if s_len > 1:
        score[1] = logp[0, ext[1]]
    back = np.zeros((t_len, s_len), dtype=np.int8)
    for t in range(1, t_len):
        stay = score
        step = np.concatenate([[_NEG_INF], score[:-1]])
        skip = np.where(can_skip, np.concatenate([[_NEG_INF, _NEG_INF], score[:-2]]), _NEG_INF)
        cand = np.stack([stay, step, skip])
        choice = cand.argmax(axis=0)
        back[t] = choice
        score = cand[choice, np.arange(s_len)] + logp[t, ext_a]
    end = s_len - 1 if s_len == 1 or score[-1] >= score[-2] else s_len - 2
    if not np.isfinite(score[end]):  # too few frames for the text: fall back to the mean posterior
        return [float(probs[:, k].max()) for k in ids]
    confs = [0.0] * len(ids)
    s = end
    for t in range(t_len - 1, -1, -1):
        if s % 2 == 1:
            i = s // 2
            confs[i] = max(confs[i], float(probs[t, ext[s]]))
        s -= int(back[t, s]) if t > 0 else 0
    return confs


def normalize_word(word: str) -> str:
    """How a word is looked up in a lexicon: NFC, surrounding punctuation stripped, case folded."""
    return unicodedata.normalize("NFC", word).strip(_WORD_STRIP).casefold()


def load_lexicon(words: Iterable[str]) -> frozenset[str]:
    """A lexicon from words or lines of a word list (empty entries ignored)."""
    return frozenset(w for w in (normalize_word(x.strip()) for x in words) if w)


def _logadd(a: float, b: float) -> float:
    if a == _NEG_INF:
        return b
    if b == _NEG_INF:
        return a
    m = max(a, b)
    return m + math.log1p(math.exp(-abs(a - b)))


def beam_search(probs: np.ndarray, codec: Codec, beam_width: int = 8, lexicon: frozenset[str] | None = None,
                oov_penalty: float = 2.0, prune: float = 1e-3) -> Decoded:
    """CTC prefix beam search. With a lexicon, each finished word not in it costs ``oov_penalty`` (log)."""
    space = codec._index().get(" ")
    logp = np.log(np.maximum(probs, 1e-30))

    def word_cost(prefix: tuple[int, ...]) -> float:
        """Penalty for the word that ends the prefix (when it is complete)."""
        if not lexicon:
            return 0.0
        start = len(prefix)
        while start > 0 and prefix[start - 1] != space:
            start -= 1
        word = normalize_word(codec.decode(prefix[start:]))
        return 0.0 if not word or word in lexicon else -oov_penalty

    # prefix -> (log p ending in blank, log p ending in non-blank, lexicon score)
    beams: dict[tuple[int, ...], tuple[float, float, float]] = {(): (0.0, _NEG_INF, 0.0)}
    top = max(beam_width, 4)
    for t in range(len(logp)):
        row = logp[t]
        if probs[t, BLANK] >= 1.0 - prune:
            # a sure blank: every prefix just gets longer by a blank (the other paths weigh < prune)
            beams = {p: (_logadd(pb, pnb) + row[BLANK], _NEG_INF, lex) for p, (pb, pnb, lex) in beams.items()}
            continue
        # only the few likeliest characters of a frame can start or extend a surviving prefix
        likely = np.argpartition(-probs[t], min(top, probs.shape[1] - 1))[: top + 1]
        cands = [k for k in likely.tolist() if k != BLANK and probs[t, k] >= prune]
        nxt: dict[tuple[int, ...], list[float]] = defaultdict(lambda: [_NEG_INF, _NEG_INF, 0.0])
        for prefix, (pb, pnb, lex) in beams.items():
            total = _logadd(pb, pnb)
            entry = nxt[prefix]
            entry[0] = _logadd(entry[0], total + row[BLANK])
            entry[2] = lex
            if prefix:
                entry[1] = _logadd(entry[1], pnb + row[prefix[-1]])
            for k in cands:
                new = prefix + (k,)
                e = nxt[new]
                # a repeated character needs a blank in between
                add = (pb if prefix and k == prefix[-1] else total) + row[k]
                e[1] = _logadd(e[1], add)
                e[2] = lex + (word_cost(prefix) if k == space and prefix else 0.0)
        ranked = sorted(nxt.items(), key=lambda kv: _logadd(kv[1][0], kv[1][1]) + kv[1][2], reverse=True)
        beams = {p: (v[0], v[1], v[2]) for p, v in ranked[:beam_width]}
    best = max(beams.items(), key=lambda kv: _logadd(kv[1][0], kv[1][1]) + kv[1][2] + word_cost(kv[0]))[0]
    ids = list(best)
    return _finish(codec, ids, align_confidences(probs, ids), probs)
