"""A character n-gram language model for CTC decoding: interpolated modified Kneser-Ney, built from text.

Keyed by characters, never by a model's class ids, so one language model serves every model whose alphabet
shares its characters (a retrained model with a larger alphabet included). A line is ``<s> c1 ... cm </s>``;
characters outside the model's vocabulary are ``<unk>``, which only ever gets the uniform floor's share.

Stored in backoff form (as ARPA files are): every n-gram seen keeps its interpolated log probability, every
context its backoff weight, so ``P(c | h) = p(h c)`` when ``h c`` was seen, else ``bow(h) * P(c | h')``
(``h'``: ``h`` without its first character). Pruned n-grams get their context's backoff weight recomputed, so
the probabilities of every context still sum to one. All n-grams of all orders sit in one sorted table of
64-bit keys (order in the top 4 bits, then one ``bits``-wide field per symbol), and a batch of queries is one
``searchsorted`` over all orders at once: the decoder asks thousands of questions per frame.

Files are ``.npz`` (numpy, ``allow_pickle=False``) with a JSON header naming the format and version; nothing in
them is executed. Building from a few thousand lines takes a few tens of milliseconds.
"""

from __future__ import annotations

import codecs
import datetime as _dt
import io
import json
import os
import threading
import weakref
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from htrgui.core.errors import HtrError
from htrgui.core.paths import resources_dir

FORMAT = "htrgui-char-ngram"
VERSION = 1
#: How language model files are named (a recognition model carries its own inside its checkpoint).
SUFFIX = ".lm.npz"

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("", "<s>", "</s>", "<unk>")
_ORDER_SHIFT = 60
DEFAULT_ORDER = 7


class LanguageModelError(HtrError):
    """A language model file that is not ours, is damaged, or a model that cannot be built."""


def _bits_for(vocab_size: int) -> int:
    return max(1, int(vocab_size - 1).bit_length())


class CharNgramLM:
    """An n-gram model over characters. Build with :meth:`from_texts`, save/load with :meth:`save`/:meth:`load`.

    Decoding uses :meth:`symbols` (characters -> symbol ids), :meth:`initial_state` and :meth:`score`
    (vectorised: arrays of states and symbols in, log probabilities and next states out). A state is the
    last ``order - 1`` symbols packed in one ``uint64`` (0 fields before the line's start).
    """

    def __init__(self, order: int, vocab: Sequence[str], keys: np.ndarray, logp: np.ndarray,
                 ctx_keys: np.ndarray, ctx_bow: np.ndarray, meta: dict[str, Any] | None = None) -> None:
        self.order = int(order)
        self.vocab = tuple(vocab)
        self.bits = _bits_for(len(self.vocab))
        if self.order < 1 or self.bits * self.order > _ORDER_SHIFT:
            raise LanguageModelError(f"order {order} with {len(self.vocab)} symbols does not fit 64-bit keys")
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)
        self.logp = np.ascontiguousarray(logp, dtype=np.float32)
        self.ctx_keys = np.ascontiguousarray(ctx_keys, dtype=np.uint64)
        self.ctx_bow = np.ascontiguousarray(ctx_bow, dtype=np.float32)
        self.meta = dict(meta or {})
        self._index = {c: i for i, c in enumerate(self.vocab) if i > UNK}
        self._sym_cache: dict[tuple[str, ...], np.ndarray] = {}
        b = self.bits
        self._b = np.uint64(b)
        self._sym_mask = np.uint64((1 << b) - 1)
        self._state_mask = np.uint64((1 << (b * (self.order - 1))) - 1)
        ks = range(1, self.order + 1)
        self._ctx_masks = np.array([(1 << (b * (k - 1))) - 1 for k in ks], dtype=np.uint64)
        self._first_shift = np.array([b * max(k - 2, 0) for k in ks], dtype=np.uint64)
        self._order_bits = np.array([k << _ORDER_SHIFT for k in ks], dtype=np.uint64)
        self._ctx_order_bits = np.array([j << _ORDER_SHIFT for j in range(1, self.order)], dtype=np.uint64)
        self._ctx_lengths = np.arange(1, self.order)
        # one open-addressing hash table of n-grams (order k in the top bits) and contexts (order 8 + length)
        self._table = _HashTable(np.concatenate([self.keys, self.ctx_keys + np.uint64(8 << _ORDER_SHIFT)]),
                                 np.concatenate([self.logp, self.ctx_bow]))
        self._ctx_flag = np.array([(8 + j) << _ORDER_SHIFT for j in range(1, self.order)], dtype=np.uint64)

    # ------------------------------------------------------------------------------------------ queries

    def __len__(self) -> int:
        """Number of n-grams stored (all orders)."""
        return len(self.keys)

    def symbol(self, char: str) -> int:
        return self._index.get(char, UNK)

    def symbols(self, chars: Sequence[str]) -> np.ndarray:
        """Symbol ids of a model's alphabet, with a leading entry for the CTC blank (``PAD``, never queried)."""
        key = tuple(chars)
        out = self._sym_cache.get(key)
        if out is None:
            out = np.array([PAD] + [self.symbol(c) for c in key], dtype=np.uint64)
            self._sym_cache[key] = out
        return out

    def initial_state(self, n: int = 1) -> np.ndarray:
        """States of ``n`` empty lines (just after ``<s>``)."""
        return np.full(n, BOS if self.order > 1 else 0, dtype=np.uint64)

    def advance(self, states: np.ndarray, syms: np.ndarray) -> np.ndarray:
        """States after appending ``syms``."""
        if self.order == 1:
            return np.zeros_like(states)
        return ((states << np.uint64(self.bits)) | syms.astype(np.uint64)) & self._state_mask

    def score(self, states: np.ndarray, syms: np.ndarray) -> np.ndarray:
        """Natural log ``P(sym | state)``: ``states`` (Q,), ``syms`` (Q,) or (Q, M) (M symbols after each state)."""
        states = np.asarray(states, dtype=np.uint64).ravel()
        syms = np.asarray(syms, dtype=np.uint64)
        flat = syms.ndim == 1
        if flat:
            syms = syms[:, None]
        n, q_n, m = self.order, len(states), syms.shape[1]
        ctx = states[:, None] & self._ctx_masks[None, :]            # context of length k-1 for orders k = 1..n
        # a context of length k-1 exists only when its oldest field is a symbol (not before the line start) and
        # the model has seen it; its backoff weights are looked up once per state, not once per symbol
        known = ((states[:, None] >> self._first_shift[None, :]) & self._sym_mask) != 0
        known[:, 0] = True
        bow_tail = np.zeros((q_n, n + 1), dtype=np.float32)         # [:, j] = sum of bows of lengths >= j
        if n > 1:
            value, found = self._table.get((self._ctx_flag[None, :] | ctx[:, 1:]).ravel())
            found = found.reshape(q_n, n - 1) & known[:, 1:]
            known[:, 1:] = found
            bow = np.where(found, value.reshape(q_n, n - 1), np.float32(0))
            bow_tail[:, 1:n] = np.cumsum(bow[:, ::-1], axis=1)[:, ::-1]
        # n-grams: only where their context is known (an n-gram with an unseen context cannot exist)
        q = self._order_bits[None, None, :] | (ctx[:, None, :] << self._b) | syms[:, :, None]
        ask = np.broadcast_to(known[:, None, :], q.shape)
        value = np.zeros(q.shape, dtype=np.float32)
        hit = np.zeros(q.shape, dtype=bool)
        v, f = self._table.get(q[ask])
        value[ask], hit[ask] = v, f
        # the longest order found (the unigram always is: every vocabulary symbol has one) and the backoff
        # weights of the longer contexts
        best = n - 1 - np.argmax(hit[:, :, ::-1], axis=2)            # (Q, M): order found - 1
        logp = np.take_along_axis(value, best[:, :, None], axis=2)[:, :, 0]
        logp = logp + np.take_along_axis(bow_tail, best + 1, axis=1)
        return logp[:, 0] if flat else logp

    def line_logprob(self, text: str) -> float:
        """Natural log probability of a whole line (``</s>`` included)."""
        state = self.initial_state(1)
        total = 0.0
        for sym in [self.symbol(c) for c in text] + [EOS]:
            s = np.array([sym], dtype=np.uint64)
            total += float(self.score(state, s)[0])
            state = self.advance(state, s)
        return total

    def distribution(self, history: str) -> dict[str, float]:
        """``P(symbol | history)`` for every symbol that can follow (``</s>`` and ``<unk>`` included)."""
        state = self.initial_state(1)
        for c in history:
            state = self.advance(state, np.array([self.symbol(c)], dtype=np.uint64))
        syms = np.arange(EOS, len(self.vocab), dtype=np.uint64)
        p = np.exp(self.score(np.repeat(state, len(syms)), syms).astype(np.float64))
        return {self.vocab[int(s)]: float(v) for s, v in zip(syms, p)}

    def describe(self) -> dict[str, Any]:
        per_order = np.bincount((self.keys >> np.uint64(_ORDER_SHIFT)).astype(np.int64), minlength=self.order + 1)
        return {"kind": FORMAT, "order": self.order, "vocabulary": len(self.vocab) - len(SPECIALS),
                "ngrams": int(len(self.keys)), "ngrams_per_order": [int(x) for x in per_order[1:]],
                **{k: v for k, v in self.meta.items() if k != "vocab"}}

    # ------------------------------------------------------------------------------------------ build

    @classmethod
    def from_texts(cls, texts: Iterable[str], order: int = DEFAULT_ORDER, *, prune: int = 0,
                   max_vocab: int | None = None, meta: dict[str, Any] | None = None) -> "CharNgramLM":
        """Count the lines of ``texts`` (NFC, white space folded) and smooth with interpolated modified Kneser-Ney.

        ``prune``: n-grams of order 3 and more seen at most this many times (raw counts) are dropped (their
        probability then comes from the backoff, renormalised). ``max_vocab`` keeps the commonest characters
        (the rest become ``<unk>``); by default as many as fit the key width for ``order``.
        """
        from htrgui.core.text import normalize

        lines = [t for t in (normalize(x) for x in texts) if t]
        counts: Counter[str] = Counter()
        for t in lines:
            counts.update(t)
        limit = (1 << (_ORDER_SHIFT // max(order, 1))) - len(SPECIALS)
        if max_vocab is not None:
            limit = min(limit, max_vocab)
        chars = sorted(c for c, _ in counts.most_common(limit))
        vocab = SPECIALS + tuple(chars)
        bits = _bits_for(len(vocab))
        index = {c: i + len(SPECIALS) for i, c in enumerate(chars)}
        # one token stream: <s> line </s> <s> line </s> ...
        total = sum(len(t) + 2 for t in lines)
        tokens = np.empty(total, dtype=np.uint64)
        start = np.empty(total, dtype=np.int64)                  # position of each token's line start
        pos = 0
        for t in lines:
            n = len(t) + 2
            tokens[pos] = BOS
            tokens[pos + 1: pos + n - 1] = [index.get(c, UNK) for c in t]
            tokens[pos + n - 1] = EOS
            start[pos: pos + n] = pos
            pos += n
        info = {"lines": len(lines), "characters": int(sum(len(t) for t in lines)), "prune": prune,
                "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), **dict(meta or {})}
        return cls._build(tokens, start, order, vocab, bits, prune, info)

    @classmethod
    def _build(cls, tokens: np.ndarray, start: np.ndarray, order: int, vocab: tuple[str, ...], bits: int,
               prune: int, info: dict[str, Any]) -> "CharNgramLM":
        b = np.uint64(bits)
        positions = np.arange(len(tokens))
        target = tokens != BOS
        # raw counts of every order: key of the k symbols ending at each position (first symbol most significant)
        uniq: list[np.ndarray] = [np.zeros(0, np.uint64)]
        raw: list[np.ndarray] = [np.zeros(0, np.int64)]
        key = np.zeros(len(tokens), dtype=np.uint64)
        for k in range(1, order + 1):
            back = positions - (k - 1)
            valid = target & (back >= start)
            key = key | (tokens[np.clip(back, 0, None)] << (b * np.uint64(k - 1)))
            u, c = np.unique(key[valid], return_counts=True)
            uniq.append(u)
            raw.append(c.astype(np.int64))
        masks = [np.uint64((1 << (bits * j)) - 1) for j in range(order + 1)]
        vsize = len(vocab) - 2                                   # symbols that can be predicted: not PAD, not <s>
        # tables[k] = (n-gram keys of order k, their probabilities, contexts (order k-1) and backoff weights)
        tables: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}
        for k in range(1, order + 1):
            u = uniq[k]
            if k == order:
                adj = raw[k].copy()
            else:
                # continuation counts: distinct symbols seen before; n-grams starting with <s> keep raw counts
                su, sc = np.unique(uniq[k + 1] & masks[k], return_counts=True)
                adj = np.zeros(len(u), dtype=np.int64)
                adj[np.searchsorted(u, su)] = sc
                starts_bos = (u >> (b * np.uint64(k - 1))) == BOS
                adj[starts_bos] = raw[k][starts_bos]
            d1, d2, d3 = _discounts(adj)
            disc = np.where(adj >= 3, d3, np.where(adj == 2, d2, d1))
            ctx = u >> b if k > 1 else np.zeros(len(u), np.uint64)
            cu, cinv = np.unique(ctx, return_inverse=True)
            tot = np.bincount(cinv, weights=adj)
            gamma = np.bincount(cinv, weights=disc) / tot
            own = (adj - disc) / tot[cinv]
            if k == 1:
                # every predictable symbol gets a unigram (one never seen: the uniform floor only)
                allsyms = np.arange(EOS, len(vocab), dtype=np.uint64)
                p = np.full(len(allsyms), gamma[0] / vsize)
                p[np.searchsorted(allsyms, u)] += own
                tables[1] = (allsyms, p, np.zeros(0, np.uint64), np.zeros(0))
                continue
            p = own + gamma[cinv] * _backoff_prob(tables, u & masks[k - 1], k - 1, b, masks)
            keep = raw[k] > prune if (prune and k >= 3) else np.ones(len(u), dtype=bool)
            u_k, p_k, c_k = u[keep], p[keep], ctx[keep]
            # each context's backoff weight: the mass its kept n-grams leave, over what the lower order gives the
            # other symbols (without pruning this is exactly the interpolation weight gamma)
            lower = _backoff_prob(tables, u_k & masks[k - 1], k - 1, b, masks)
            cu, cinv = np.unique(c_k, return_inverse=True)
            num = 1.0 - np.bincount(cinv, weights=p_k, minlength=len(cu))
            den = 1.0 - np.bincount(cinv, weights=lower, minlength=len(cu))
            bow = np.where((num > 1e-12) & (den > 1e-12), num / np.maximum(den, 1e-300), 1.0)
            tables[k] = (u_k, p_k, cu, bow)
        keys = np.concatenate([(np.uint64(k) << np.uint64(_ORDER_SHIFT)) | tables[k][0] for k in tables])
        logp = np.concatenate([np.log(np.maximum(tables[k][1], 1e-30)) for k in tables])
        ctx_keys = np.concatenate([np.zeros(0, np.uint64)] + [(np.uint64(k - 1) << np.uint64(_ORDER_SHIFT))
                                                              | tables[k][2] for k in tables if k > 1])
        ctx_bow = np.concatenate([np.zeros(0)] + [np.log(np.maximum(tables[k][3], 1e-30)) for k in tables if k > 1])
        return cls(order, vocab, keys, logp, ctx_keys, ctx_bow, info)

    # ------------------------------------------------------------------------------------------ files

    def to_bytes(self) -> bytes:
        """The model as a compressed ``.npz`` with a JSON header (keys stored as differences): what :meth:`save`
        writes to a file and a recognition model's checkpoint carries inside it."""
        header = {"format": FORMAT, "format_version": VERSION, "order": self.order, "vocab": list(self.vocab),
                  "meta": {k: v for k, v in self.meta.items() if k != "path"}}
        buf = io.BytesIO()
        np.savez_compressed(
            buf, header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode("utf-8"), np.uint8),
            keys=np.diff(self.keys, prepend=np.uint64(0)), logp=self.logp,
            ctx_keys=np.diff(self.ctx_keys, prepend=np.uint64(0)), ctx_bow=self.ctx_bow)
        return buf.getvalue()

    def save(self, path: str | os.PathLike) -> Path:
        """Write :meth:`to_bytes` to ``path`` atomically."""
        from htrgui.core.io import atomic_write_bytes

        path = Path(path)
        atomic_write_bytes(path, self.to_bytes())
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CharNgramLM":
        """Read a file written by :meth:`save`; :class:`LanguageModelError` naming the file and the fault otherwise."""
        path = Path(path)
        if not path.is_file():
            raise LanguageModelError(f"{path}: no such language model file")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise LanguageModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
        lm = cls.from_bytes(data, str(path))
        lm.meta.setdefault("path", str(path))
        return lm

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "language model") -> "CharNgramLM":
        """The model :meth:`to_bytes` wrote; :class:`LanguageModelError` naming ``source`` and the fault otherwise."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                if "header" not in z.files:
                    raise LanguageModelError(f"{source}: not an htrgui language model (no header)")
                header = json.loads(bytes(z["header"]).decode("utf-8"))
                arrays = {k: z[k] for k in ("keys", "logp", "ctx_keys", "ctx_bow")}
        except LanguageModelError:
            raise
        except (zipfile.BadZipFile, EOFError) as exc:
            raise LanguageModelError(f"{source}: cannot read this language model: the file is truncated or "
                                     f"damaged ({exc})") from None
        except KeyError as exc:
            raise LanguageModelError(f"{source}: language model file lacks {exc}") from None
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise LanguageModelError(f"{source}: not an htrgui language model ({str(exc)[:200]})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise LanguageModelError(f"{source}: not an htrgui language model (no '{FORMAT}' header)")
        version = header.get("format_version")
        if not isinstance(version, int) or version > VERSION:
            raise LanguageModelError(f"{source}: language model format version {version!r} is newer than this "
                                     f"htrgui reads ({VERSION})")
        vocab, order = header.get("vocab"), header.get("order")
        if (not isinstance(vocab, list) or not all(isinstance(c, str) for c in vocab)
                or tuple(vocab[:len(SPECIALS)]) != SPECIALS or not isinstance(order, int)):
            raise LanguageModelError(f"{source}: bad language model header")
        keys = np.cumsum(arrays["keys"].astype(np.uint64), dtype=np.uint64)
        ctx_keys = np.cumsum(arrays["ctx_keys"].astype(np.uint64), dtype=np.uint64)
        if (len(keys) != len(arrays["logp"]) or len(ctx_keys) != len(arrays["ctx_bow"])
                or np.any(keys[1:] <= keys[:-1]) or np.any(ctx_keys[1:] <= ctx_keys[:-1])
                or not np.all(np.isfinite(arrays["logp"])) or not np.all(np.isfinite(arrays["ctx_bow"]))):
            raise LanguageModelError(f"{source}: language model tables are inconsistent (damaged file?)")
        meta = header.get("meta") if isinstance(header.get("meta"), dict) else {}
        try:
            lm = cls(order, vocab, keys, arrays["logp"], ctx_keys, arrays["ctx_bow"], meta)
        except LanguageModelError as exc:
            raise LanguageModelError(f"{source}: {exc}") from None
        unigrams = (keys >> np.uint64(_ORDER_SHIFT)) == 1
        if int(unigrams.sum()) != len(vocab) - 2:
            raise LanguageModelError(f"{source}: language model lacks unigrams (damaged file?)")
        return lm


class _HashTable:
    """uint64 keys (never 0) -> float32 values, open addressing with linear probing, looked up in batches."""

    def __init__(self, keys: np.ndarray, values: np.ndarray) -> None:
        size = 1 << max(4, int(2 * len(keys)).bit_length())
        self.mask = np.uint64(size - 1)
        self.shift = np.uint64(64 - (size.bit_length() - 1))
        self.keys = np.zeros(size, dtype=np.uint64)
        self.values = np.zeros(size, dtype=np.float32)
        slot = self._home(keys)
        todo = np.arange(len(keys))
        self.max_probe = 0
        probe = 0
        while len(todo):
            at = (slot[todo] + np.uint64(probe)) & self.mask
            free = self.keys[at] == 0
            # of the keys wanting one free slot, the first takes it
            cand = todo[free]
            at_f = at[free]
            _, first = np.unique(at_f, return_index=True)
            placed = cand[first]
            self.keys[at_f[first]] = keys[placed]
            self.values[at_f[first]] = values[placed]
            done = np.zeros(len(keys), dtype=bool)
            done[placed] = True
            todo = todo[~done[todo]]
            self.max_probe = probe
            probe += 1

    def _home(self, keys: np.ndarray) -> np.ndarray:
        return (keys * np.uint64(0x9E3779B97F4A7C15)) >> self.shift

    def get(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values, found) of the keys ``q`` (values 0 where not found)."""
        slot = self._home(q)
        value = np.zeros(len(q), dtype=np.float32)
        found = np.zeros(len(q), dtype=bool)
        todo = np.arange(len(q))
        for probe in range(self.max_probe + 1):
            at = (slot[todo] + np.uint64(probe)) & self.mask
            k = self.keys[at]
            hit = k == q[todo]
            if hit.any():
                value[todo[hit]] = self.values[at[hit]]
                found[todo[hit]] = True
            todo = todo[~hit & (k != 0)]
            if not len(todo):
                break
        return value, found


def _backoff_prob(tables: dict, q: np.ndarray, k: int, b: np.uint64, masks: list) -> np.ndarray:
    """``P(w | h)`` of order-``k`` sequences ``q`` (= h w) by backoff through the finished ``tables``."""
    out = np.empty(len(q), dtype=np.float64)
    todo = np.arange(len(q))
    factor = np.ones(len(q))
    cur = q
    for j in range(k, 0, -1):
        u, pj, cu, bw = tables[j]
        at = np.searchsorted(u, cur).clip(max=len(u) - 1)
        hit = u[at] == cur
        out[todo[hit]] = factor[hit] * pj[at[hit]]
        miss = ~hit
        if not miss.any():
            return out
        todo, cur, factor = todo[miss], cur[miss], factor[miss]
        if len(cu):
            ctx = cur >> b
            at = np.searchsorted(cu, ctx).clip(max=len(cu) - 1)
            factor = factor * np.where(cu[at] == ctx, bw[at], 1.0)
        cur = cur & masks[j - 1]
    raise LanguageModelError("a symbol has no unigram")


def _discounts(adj: np.ndarray) -> tuple[float, float, float]:
    """Modified Kneser-Ney discounts D1, D2, D3+ from the counts of counts (Chen & Goodman), kept in range."""
    n = [int(np.count_nonzero(adj == i)) for i in (1, 2, 3, 4)]
    if min(n) == 0:  # too little text to estimate them: the usual values
        return (0.5, 1.0, 1.5)
    y = n[0] / (n[0] + 2 * n[1])
    d1 = 1 - 2 * y * n[1] / n[0]
    d2 = 2 - 3 * y * n[2] / n[1]
    d3 = 3 - 4 * y * n[3] / n[2]
    return (float(np.clip(d1, 0.05, 1.0)), float(np.clip(d2, 0.05, 2.0)), float(np.clip(d3, 0.05, 3.0)))


class MixedLM:
    """Linear interpolation of character LMs (the shipped one, the project's, a user's text), queried by class id.

    ``P(c | h) = sum_i w_i P_i(c | h)``; each component keeps its own state (its last ``order - 1`` symbols),
    so the state of a line is one ``uint64`` per component.
    """

    def __init__(self, components: Sequence[tuple[CharNgramLM, float]]) -> None:
        comps = [(lm, float(w)) for lm, w in components if w > 0]
        if not comps:
            raise LanguageModelError("a mixture needs at least one language model with a positive weight")
        total = sum(w for _, w in comps)
        self.components = [lm for lm, _ in comps]
        self.weights = [w / total for _, w in comps]
        self._logw = np.log(np.array(self.weights, dtype=np.float32))
        self._maps: dict[tuple[str, ...], list[np.ndarray]] = {}

    def for_alphabet(self, chars: Sequence[str]) -> list[np.ndarray]:
        key = tuple(chars)
        maps = self._maps.get(key)
        if maps is None:
            maps = self._maps[key] = [lm.symbols(key) for lm in self.components]
        return maps

    def initial(self, n: int) -> np.ndarray:
        """(n, components) states of empty lines."""
        return np.stack([lm.initial_state(n) for lm in self.components], axis=1)

    def score(self, states: np.ndarray, classes: np.ndarray, maps: list[np.ndarray]) -> np.ndarray:
        """Log ``P(class | state)`` for (Q, components) states and (Q,) or (Q, M) class ids (0 = blank is never
        asked); ``classes`` of -1 ask for the end of the line."""
        out = None
        for i, lm in enumerate(self.components):
            syms = np.where(classes < 0, np.uint64(EOS), maps[i][np.maximum(classes, 0)]).astype(np.uint64)
            lp = lm.score(states[:, i], syms)
            if len(self.components) == 1:
                return lp
            lp = lp + self._logw[i]
            out = lp if out is None else np.logaddexp(out, lp)
        return out

    def advance(self, states: np.ndarray, classes: np.ndarray, maps: list[np.ndarray]) -> np.ndarray:
        return np.stack([lm.advance(states[:, i], maps[i][classes]) for i, lm in enumerate(self.components)], axis=1)

    def describe(self) -> list[dict[str, Any]]:
        return [{**lm.describe(), "weight": round(w, 4)} for lm, w in zip(self.components, self.weights)]


# ---------------------------------------------------------------------------------------------------------
# Which language model a recognition uses

#: Weight of the project's own language model (its verified lines) against the shipped one, at full strength;
#: it grows with the project's text as ``chars / (chars + PROJECT_HALF_CHARS)``. Measured on adaptation/adapt
#: (docs/model.md): the best weight was 0.5 with one verified page (1,839 characters), 0.5-0.7 with three and
#: 0.7 with seventeen; a few verified lines (a couple of hundred characters) get about 0.2.
PROJECT_WEIGHT = 0.7
PROJECT_HALF_CHARS = 500
#: Weight of a user's text (word list or any plain text) added to the shipped model.
TEXT_WEIGHT = 0.3
#: Order of the language models built on the fly (project lines, a user's text).
PROJECT_ORDER = 7
LM_CHOICES = ("none", "model", "project")


def model_lm(model_path: str | os.PathLike | None) -> CharNgramLM | None:
    """The language model a model decodes with: the one its file carries, else the shipped default's (a model
    made before models carried one, or trained from scratch, reads the language the shipped model reads);
    None when neither has one. Read once per file and modification time.

    Raises:
        LanguageModelError: the language model inside the file is damaged.
    """
    from htrgui.core.paths import bundled_models_dir
    from htrgui.core.recognition.library import DEFAULT_MODEL

    for path in ([Path(model_path)] if model_path is not None else []) + [bundled_models_dir() / DEFAULT_MODEL]:
        lm = _carried(path)
        if lm is not None:
            return lm
    return None


def _carried(path: Path) -> CharNgramLM | None:
    """The language model inside the model file ``path`` (None when it carries none or is not a model)."""
    from htrgui.core.errors import ModelError
    from htrgui.core.recognition.checkpoint import language_model_bytes, read_payload

    def read() -> bytes | None:
        try:
            return language_model_bytes(read_payload(path))
        except ModelError:
            return None

    return _cached("carried", path, read, f"{path}: its language model")


def load_cached(path: str | os.PathLike) -> CharNgramLM:
    """:meth:`CharNgramLM.load`, kept in memory per file and modification time (a user's file is read once)."""
    path = Path(path)
    if not path.is_file():
        raise LanguageModelError(f"{path}: no such language model file")

    def read() -> bytes:
        try:
            return path.read_bytes()
        except OSError as exc:
            raise LanguageModelError(f"{path}: cannot read ({exc.strerror or exc})") from None

    return _cached("file", path, read, str(path))


def _cached(kind: str, path: Path, read, source: str) -> CharNgramLM | None:
    """The language model ``read()`` gives for ``path`` (``kind``: the file itself, or the one a model file carries), parsed once per file and modification time, and held
    once per content: a fine-tune carries its base's language model byte for byte (~100 MB parsed)."""
    import hashlib

    try:
        key = (kind, str(path.resolve()), path.stat().st_mtime)
    except OSError:
        key = None
    with _CACHE_LOCK:  # recognition jobs and the speed check may ask from two threads at once
        if key is not None and key in _BY_FILE:
            return _BY_FILE[key]
        data = read()
        lm = None
        if data is not None:
            digest = hashlib.sha1(data).hexdigest()
            lm = _BY_CONTENT.get(digest)
            if lm is None:
                lm = CharNgramLM.from_bytes(data, source)
                _BY_CONTENT[digest] = lm
        if key is not None:
            if len(_BY_FILE) >= 3:  # the model in use, the shipped one, one more
                _BY_FILE.pop(next(iter(_BY_FILE)))
            _BY_FILE[key] = lm
        return lm


_CACHE_LOCK = threading.Lock()
_BY_FILE: dict[tuple[str, str, float], CharNgramLM | None] = {}
_BY_CONTENT: "weakref.WeakValueDictionary[str, CharNgramLM]" = weakref.WeakValueDictionary()


# Word lists shipped in resources/wordlists/, named where a word list's path is asked for (the preferences, the
# CLI's --lexicon). English because the shipped language model learnt mostly French (docs/model.md).
BUNDLED_WORD_LISTS = {"english": "wordlists/english.txt"}


def word_list_path(name: str | os.PathLike) -> Path:
    """The file a word list's name stands for: a bundled one (``english``), else the path itself."""
    bundled = BUNDLED_WORD_LISTS.get(str(name))
    if bundled is not None:
        return resources_dir() / bundled
    return Path(name)


def text_lines(path: str | os.PathLike) -> list[str]:
    """Training lines of a plain-text file (UTF-8, or a bundled word list's name): its lines; a word list (one
    word a line) is joined into lines of a dozen words, so the model also learns how words meet at spaces."""
    path = word_list_path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LanguageModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    lines = [" ".join(x.split()) for x in _decoded(path, data).splitlines()]
    lines = [x for x in lines if x]
    if lines and sum(" " not in x for x in lines) >= 0.9 * len(lines):
        lines = [" ".join(lines[i:i + 12]) for i in range(0, len(lines), 12)]
    return lines


def text_problem(path: str | os.PathLike, head: int = 1 << 20) -> str:
    """Why a word list or text file (or a bundled list's name) cannot be used, "" when it can, judged on its
    first ``head`` bytes (the preferences ask while the user waits; a corpus of hundreds of MB is read whole
    only by the recognition job, which reports what :func:`text_lines` finds then)."""
    path = word_list_path(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read(head)
            whole = not fh.read(1)
    except OSError as exc:
        return f"{path}: cannot read ({exc.strerror or exc})"
    try:
        text = _decoded(path, data, final=whole)  # a character cut at the end of the head is no error
    except LanguageModelError as exc:
        return str(exc)
    return "" if text.strip() or not whole else f"{path}: the file holds no text"


def _decoded(path: Path, data: bytes, final: bool = True) -> str:
    """``data`` as text, or LanguageModelError saying why it is none (``final``: the file ends there)."""
    if data[:4] == b"PK\x03\x04":
        raise LanguageModelError(f"{path}: not a plain-text file (a zip or .npz archive)")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(data, final=final)
    except UnicodeDecodeError:
        raise LanguageModelError(f"{path}: neither an htrgui language model nor UTF-8 text") from None
    if "\x00" in text:
        raise LanguageModelError(f"{path}: neither an htrgui language model nor UTF-8 text (binary data)")
    return text


def verified_texts(pages: Iterable) -> list[str]:
    """The texts of the verified lines of pages (``Page`` objects)."""
    return [line.text for page in pages for line in page.lines() if line.status == "verified" and line.text.strip()]


def project_lm(texts: Sequence[str]) -> CharNgramLM | None:
    """A language model of a project's verified lines (None when there are none)."""
    texts = [t for t in texts if t.strip()]
    if not texts:
        return None
    return CharNgramLM.from_texts(texts, order=PROJECT_ORDER, meta={"source": "verified lines"})


def project_weight(lm: CharNgramLM) -> float:
    chars = int(lm.meta.get("characters", 0))
    return PROJECT_WEIGHT * chars / (chars + PROJECT_HALF_CHARS)


def decoding_lm(choice: str | os.PathLike | None, model_path: str | os.PathLike | None = None, *,
                project_texts: Sequence[str] | None = None, extra_text: str | os.PathLike | None = None
                ) -> MixedLM | None:
    """The language model a recognition uses.

    ``choice``: ``none`` (no language model), ``model`` (the one shipped with the model), ``project`` (that one
    mixed with a model of ``project_texts``, the verified lines), or a file: an htrgui language model (used
    alone) or a plain-text file (a word list or any text), mixed with the model's. ``extra_text`` adds a
    text file to any choice but ``none``.

    Raises:
        LanguageModelError: the file is not a language model nor text, or the model has no language model.
    """
    if choice is None or str(choice) == "none":
        return None
    choice = str(choice)
    components: list[tuple[CharNgramLM, float]] = []

    def base() -> CharNgramLM:
        lm = model_lm(model_path)
        if lm is None:
            raise LanguageModelError("this model carries no language model, and the shipped one is not installed; "
                                     "use --lm none or --lm FILE")
        return lm

    if choice in ("model", "project"):
        components.append((base(), 1.0))
        if choice == "project" and project_texts:
            own = project_lm(project_texts)
            if own is not None:
                w = project_weight(own)
                components = [(lm, (1 - w) * cw) for lm, cw in components] + [(own, w)]
    else:
        path = Path(choice)
        if not path.is_file():
            raise LanguageModelError(f"{path}: no such language model or text file (--lm takes none, model, "
                                     "project or a file)")
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic == b"PK\x03\x04" or path.name.endswith(SUFFIX):
            components.append((load_cached(path), 1.0))
        else:
            components += [(base(), 1.0 - TEXT_WEIGHT), (_text_lm(path), TEXT_WEIGHT)]
    if extra_text is not None:
        components = [(lm, (1 - TEXT_WEIGHT) * w) for lm, w in components] + [(_text_lm(extra_text), TEXT_WEIGHT)]
    return MixedLM(components)


def _text_lm(path: str | os.PathLike) -> CharNgramLM:
    """The language model of a user's text file, built once per file and modification time (a word list of
    100k words takes seconds: every recognition job of a session would pay them again)."""
    path = word_list_path(path)
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise LanguageModelError(f"{path}: cannot read ({exc.strerror or exc})") from None
    with _CACHE_LOCK:
        lm = _BY_TEXT.get(key)
        if lm is None:
            lines = text_lines(path)
            if not lines:
                raise LanguageModelError(f"{path}: the text file is empty")
            lm = CharNgramLM.from_texts(lines, order=PROJECT_ORDER, meta={"source": path.name})
            _BY_TEXT.clear()  # one text at a time (the one the preferences name)
            _BY_TEXT[key] = lm
        return lm


_BY_TEXT: dict[tuple[str, int, int], CharNgramLM] = {}
