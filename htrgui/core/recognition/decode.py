"""CTC decoding: greedy best path and a prefix beam search that can favour words of a lexicon.

Both give the text, one confidence per character (the highest posterior of that character over the frames
aligned to it) and a line confidence (the mean of the character confidences; the blank's for an empty line).
"""

from __future__ import annotations

import math
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

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


def best_path(best: Sequence[int], best_p: Sequence[float] | None = None) -> tuple[list[int], list[float]]:
    """The CTC best-path rule: each frame's best class, repeats merged, blanks dropped. Returns the ids and, for
    each, the highest posterior ``best_p`` over its frames (zeros without ``best_p``). Recognition and
    validation both decode greedily here."""
    ids: list[int] = []
    confs: list[float] = []
    prev = BLANK
    for k, p in zip(best, best_p if best_p is not None else [0.0] * len(best)):
        if k != BLANK and k == prev:
            confs[-1] = max(confs[-1], p)
        elif k != BLANK:
            ids.append(k)
            confs.append(p)
        prev = k
    return ids, confs


def greedy_from_best(best: np.ndarray, best_p: np.ndarray, blank_p: np.ndarray, codec: Codec) -> Decoded:
    """Greedy decoding from each frame's best class and its posterior (computed where the model ran, so a
    GPU sends back two numbers per frame instead of the whole posterior matrix)."""
    ids, confs = best_path(best.tolist(), best_p.tolist())
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


# ---------------------------------------------------------------------------------------------------------
# The batched prefix beam search with a character language model (what the engine uses)

#: Measured defaults (docs/recognition.md: chosen on general/validation pages, never on test pages).
DEFAULT_BEAM = 16  # from 8 with the phase-8 model: -2.5 % of the errors for +7 % CPU a line
DEFAULT_LM_WEIGHT = 0.7
DEFAULT_INSERTION_BONUS = 2.0
#: A frame whose blank posterior is at least this is read as blank for every prefix (the other paths together
#: weigh less than 1 - BLANK_SKIP); a frame's characters under CHAR_MIN never start a prefix.
BLANK_SKIP = 0.999
CHAR_MIN = 1e-3
MAX_CANDIDATES = 6

_HASH_MUL = np.uint64(0x9E3779B97F4A7C15)


def beam_search_batch(probs: np.ndarray, lengths: Iterable[int], codec: Codec, *, beam_width: int = DEFAULT_BEAM,
                      lm=None, lm_weight: float = DEFAULT_LM_WEIGHT,
                      insertion_bonus: float = DEFAULT_INSERTION_BONUS, blank_skip: float = BLANK_SKIP,
                      char_min: float = CHAR_MIN, max_candidates: int = MAX_CANDIDATES) -> list[Decoded]:
    """CTC prefix beam search over a batch of posteriors ``probs`` (B, T, C), line ``b`` using its first
    ``lengths[b]`` frames, scored by ``log P_ctc + lm_weight * log P_lm + insertion_bonus * characters``
    (``lm``: a :class:`~htrgui.core.recognition.lm.MixedLM`, or None for the acoustic score alone, without
    the bonus).

    All lines and beams advance together, one frame at a time, in numpy. Frames where the blank is nearly
    certain (``blank_skip``) are not searched: every prefix just ends in a blank there. Only the
    ``max_candidates`` likeliest characters of a frame (at least ``char_min``) can extend a prefix.

    Character confidences come from the search's posterior: the highest posterior of the character over the
    frames it was read on (as greedy decoding gives it), times the square root of the factor by which the
    language model changed the frame's posterior of it where it was appended (``P(c) L(c)^w / sum_c' P(c')
    L(c')^w`` over the same without the LM), capped at 1. A character the language model chose against the
    frames, or found unlikely, is less certain; one both agree on a little surer. (The square root was chosen
    on general/validation, never on test: the mean confidence is then closest to the share of characters read
    right, and of the characters read wrong 46 % get a confidence under 0.5, against 36 % with greedy decoding;
    docs/model.md.) A beam of width 1 without a language model is best-path (greedy) decoding.
    """
    lengths = [int(n) for n in lengths]
    bsz = len(lengths)
    if bsz == 0:
        return []
    if beam_width <= 1 and lm is None:
        return [greedy(probs[b, :n], codec) for b, n in enumerate(lengths)]
    K = max(1, int(beam_width))
    C = probs.shape[2]
    M = max(1, min(int(max_candidates), C - 1))
    # ---- the frames worth searching, per line, packed to the front
    T = probs.shape[1]
    in_line = np.arange(T)[None, :] < np.array(lengths)[:, None]
    active = in_line & (probs[:, :, BLANK] < blank_skip)
    n_act = active.sum(axis=1)
    S = int(n_act.max()) if bsz else 0
    order = np.argsort(~active, axis=1, kind="stable")[:, :max(S, 1)]      # active frame indices first, in order
    act_t = np.where(np.arange(max(S, 1))[None, :] < n_act[:, None], order, -1)
    prev_t = np.concatenate([np.full((bsz, 1), -1), act_t[:, :-1]], axis=1)
    fold = (act_t - prev_t > 1) & (act_t >= 0)                              # a skipped blank frame before this one
    P = np.take_along_axis(probs, np.maximum(act_t, 0)[:, :, None], axis=1).astype(np.float64)  # (B, S, C)
    logP = np.log(np.maximum(P, 1e-30))
    cands = np.argpartition(-P[:, :, 1:], M - 1, axis=2)[:, :, :M] + 1 if C - 1 > M else \
        np.broadcast_to(np.arange(1, C), (bsz, max(S, 1), C - 1)).copy()
    M = cands.shape[2]
    cand_p = np.take_along_axis(P, cands, axis=2)
    cand_ok = cand_p >= char_min
    # ---- beams
    NEG = -np.inf
    lpb = np.full((bsz, K), NEG)
    lpb[:, 0] = 0.0
    lpnb = np.full((bsz, K), NEG)
    lms = np.zeros((bsz, K))
    last = np.zeros((bsz, K), dtype=np.int64)
    hsh = np.zeros((bsz, K), dtype=np.uint64)
    node = np.full((bsz, K), -1, dtype=np.int64)
    use_lm = lm is not None
    maps = lm.for_alphabet(codec.chars) if use_lm else None
    nc = len(lm.components) if use_lm else 0
    lmst = np.repeat(lm.initial(bsz)[:, None, :], K, axis=1) if use_lm else None
    # nodes of the prefix tree: parent, class, best frame posterior, language-model factor
    cap = bsz * K * M * max(S, 1) + 1
    n_parent = np.empty(cap, dtype=np.int64)
    n_cls = np.empty(cap, dtype=np.int64)
    n_conf = np.empty(cap)
    n_rho = np.empty(cap)
    n_used = 0
    rows = np.arange(bsz)[:, None]
    for s in range(S):
        live = (s < n_act)[:, None]                                         # (B, 1): this line still has frames
        f = fold[:, s][:, None]
        if f.any():
            lpb = np.where(f, np.logaddexp(lpb, lpnb), lpb)
            lpnb = np.where(f, NEG, lpnb)
        lp = logP[:, s]                                                     # (B, C)
        tot = np.logaddexp(lpb, lpnb)
        s_lpb = tot + lp[:, :1]
        s_lpnb = np.where(last > 0, lpnb + lp[rows, last], NEG)
        c = cands[:, s]                                                     # (B, M)
        pc = lp[rows, c]
        e_lpnb = np.where(c[:, None, :] == last[:, :, None], lpb[:, :, None], tot[:, :, None]) + pc[:, None, :]
        e_ok = cand_ok[:, s][:, None, :] & np.isfinite(tot)[:, :, None] & live[:, :, None]
        if use_lm:
            q_cls = np.broadcast_to(c[:, None, :], (bsz, K, M)).reshape(bsz * K, M)
            lm_lp = lm.score(lmst.reshape(-1, nc), q_cls, maps).reshape(bsz, K, M).astype(np.float64)
            e_lms = lms[:, :, None] + lm_weight * lm_lp + insertion_bonus
            # how far the language model moves this frame's posterior towards each candidate
            w = np.exp(lm_weight * lm_lp) * cand_p[:, s][:, None, :]
            rho = w / np.maximum(w.sum(axis=2, keepdims=True), 1e-300) * \
                cand_p[:, s].sum(axis=1)[:, None, None] / np.maximum(cand_p[:, s][:, None, :], 1e-300)
        else:
            # the bonus offsets the LM's cost per character; without an LM it would only favour insertions
            e_lms = np.broadcast_to(lms[:, :, None], (bsz, K, M))
            rho = np.ones((bsz, K, M))
        e_hash = hsh[:, :, None] * _HASH_MUL + (c[:, None, :].astype(np.uint64) + np.uint64(1))
        # an extension that is already a beam (prefix + c exists): its paths join that beam's
        e_ok_f = e_ok.reshape(bsz, K * M)
        same = (e_hash.reshape(bsz, K * M)[:, :, None] == hsh[:, None, :]) & e_ok_f[:, :, None] \
            & np.isfinite(tot)[:, None, :] & (node >= 0)[:, None, :]
        joined = same.any(axis=1)                                           # (B, K) stays that receive an extension
        if joined.any():
            src = same.argmax(axis=1)
            s_lpnb = np.where(joined, np.logaddexp(s_lpnb, e_lpnb.reshape(bsz, K * M)[rows, src]),
                              s_lpnb)
            e_ok_f = e_ok_f & ~same.any(axis=2)
        stay_score = np.where(np.isfinite(tot), np.logaddexp(s_lpb, s_lpnb) + lms, NEG)
        ext_score = np.where(e_ok_f, e_lpnb.reshape(bsz, K * M) + e_lms.reshape(bsz, K * M), NEG)
        allsc = np.concatenate([stay_score, ext_score], axis=1)
        if allsc.shape[1] > K:
            pick = np.argpartition(-allsc, K - 1, axis=1)[:, :K]
        else:
            pick = np.broadcast_to(np.arange(allsc.shape[1]), (bsz, allsc.shape[1]))
        picked = allsc[rows, pick]
        is_ext = (pick >= K) & np.isfinite(picked) & live
        beam_i = np.where(pick >= K, (pick - K) // M, pick)
        cand_m = np.where(pick >= K, (pick - K) % M, 0)
        new_lpb = np.where(pick >= K, NEG, s_lpb[rows, np.minimum(pick, K - 1)])
        new_lpnb = np.where(pick >= K, e_lpnb.reshape(bsz, K * M)[rows, np.maximum(pick - K, 0)],
                            s_lpnb[rows, np.minimum(pick, K - 1)])
        new_lms = np.where(pick >= K, e_lms.reshape(bsz, K * M)[rows, np.maximum(pick - K, 0)],
                           lms[rows, np.minimum(pick, K - 1)])
        ext_cls = c[rows, cand_m]
        new_last = np.where(pick >= K, ext_cls, last[rows, beam_i])
        new_hash = np.where(pick >= K, e_hash.reshape(bsz, K * M)[rows, np.maximum(pick - K, 0)],
                            hsh[rows, beam_i])
        parent_node = node[rows, beam_i]
        new_node = parent_node.copy()
        # the repeated character of a kept beam: its best frame posterior may rise
        stay_rep = (pick < K) & np.isfinite(picked) & (new_last > 0) & (parent_node >= 0) & live
        if stay_rep.any():
            pr = P[:, s][rows, new_last]
            at = parent_node[stay_rep]
            n_conf[at] = np.maximum(n_conf[at], pr[stay_rep])
        n_new = int(is_ext.sum())
        if n_new:
            ids = np.arange(n_used, n_used + n_new)
            new_node[is_ext] = ids
            n_parent[ids] = parent_node[is_ext]
            n_cls[ids] = ext_cls[is_ext]
            n_conf[ids] = cand_p[:, s][rows, cand_m][is_ext]
            n_rho[ids] = rho.reshape(bsz, K * M)[rows, np.maximum(pick - K, 0)][is_ext]
            n_used += n_new
        if use_lm:
            st = lmst[rows, beam_i]
            if is_ext.any():
                adv = lm.advance(st[is_ext], ext_cls[is_ext], maps)
                st[is_ext] = adv
            new_lmst = st
        # lines without frames left keep their beams
        keep = ~live
        lpb = np.where(keep, lpb, np.where(np.isfinite(picked), new_lpb, NEG))
        lpnb = np.where(keep, lpnb, np.where(np.isfinite(picked), new_lpnb, NEG))
        lms = np.where(keep, lms, new_lms)
        last = np.where(keep, last, new_last)
        hsh = np.where(keep, hsh, new_hash)
        node = np.where(keep, node, new_node)
        if use_lm:
            lmst = np.where(keep[:, :, None], lmst, new_lmst)
    # ---- the end of the line
    final = np.logaddexp(lpb, lpnb) + lms
    if use_lm:
        end = lm.score(lmst.reshape(-1, nc), np.full(bsz * K, -1), maps).reshape(bsz, K)
        final = final + lm_weight * end
    best = np.argmax(np.where(np.isfinite(final), final, NEG), axis=1)
    out: list[Decoded] = []
    for b in range(bsz):
        ids, confs = [], []
        k = int(node[b, best[b]])
        while k >= 0:
            ids.append(int(n_cls[k]))
            confs.append(float(min(1.0, n_conf[k] * n_rho[k] ** 0.5)))
            k = int(n_parent[k])
        ids.reverse()
        confs.reverse()
        out.append(_finish(codec, ids, confs, probs[b, :lengths[b]]))
    return out
