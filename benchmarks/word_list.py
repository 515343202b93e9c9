"""A word list of the documents' language mixed into the language model: CER on English letters whose writer
the language model never read, and on French validation pages, printed as JSON (one object).

    python benchmarks/word_list.py                                  # both English writers, then general/validation
    python benchmarks/word_list.py --writers by_pierrine_maurel --no-french --weights 0.3

For each writer of the English letters (``stanford``) in ``general/train``, a language model is built from
the sources of the shipped one (general/train as written, and the repositories' training lines, each once,
read from ``train-mix.npz`` rather than ``train-all.npz``; order 7, pruned once) without that writer's lines; that writer's pages are then read with it, alone and
mixed with the American and British word lists of ../shared/text (half the weight each). The recogniser saw
those lines in training, so its readings are better than on unseen hands: compare the columns, not the rows
with other tables. The French figure reads ``general/validation`` with the model's own language model, alone
and mixed. Needs the line caches of docs/training.md (``train.npz``, ``train-mix.npz``: their texts only).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
sys.path.insert(0, str(REPO / "scripts"))

import decoding as D  # noqa: E402
from build_lm import cache_texts  # noqa: E402


def without_writer(writer: str, lines: Path):
    """The shipped language model's sources without ``writer``'s lines, as a language model."""
    from htrgui.core.recognition.lm import DEFAULT_ORDER, CharNgramLM

    texts, pages = cache_texts(lines / "train.npz", ("synthetic",))
    kept = [t for t, p in zip(texts, pages) if f"/{writer}/" not in p]
    texts, pages = cache_texts(lines / "train-mix.npz", ("synthetic", ".."))  # repositories, each line once
    kept += [t for t, _ in dict.fromkeys(zip(texts, pages))]
    return CharNgramLM.from_texts(kept, order=DEFAULT_ORDER, prune=1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=str(REPO / "models" / "htrconvtext-small.pt"))
    ap.add_argument("--lines", type=Path, default=REPO / ".cache" / "lines")
    ap.add_argument("--writers", nargs="*", default=["by_yagmur_ozturk", "by_pierrine_maurel"])
    ap.add_argument("--weights", default="0.05,0.15,0.3", help="word-list weights tried")
    ap.add_argument("--no-french", action="store_true", help="leave general/validation out")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    from htrgui.core.recognition import decode as dec
    from htrgui.core.recognition import lm as lmmod
    from htrgui.core.recognition.engine import Recognizer
    from htrgui.core.text import ErrorRates

    rec = Recognizer(args.model, device="cpu", threads=args.threads, batch_size=16)
    words = [lmmod._text_lm(D.SHARED / "text" / f"words-{k}.txt") for k in ("american-english", "british-english")]
    weights = [float(w) for w in args.weights.split(",")]
    splits = json.loads((D.SHARED / "data" / "splits.json").read_text(encoding="utf-8"))

    def rates(results, truths) -> dict:
        r = ErrorRates()
        for d, ref in zip(results, truths):
            r.add(d.text, ref)
        return {"cer": round(r.cer, 4), "wer": round(r.wer, 4)}

    def read(stems, base) -> dict:
        crops, truths = D.page_lines(rec, stems)
        batches, _, _ = D.forward_all(rec, crops)
        greedy, _, _ = D.decode(batches, len(crops), rec.codec, greedy=True)
        row = {"lines": len(crops), "greedy": rates(greedy, truths)}
        for w in [0.0] + weights:
            mix = lmmod.MixedLM([(base, 1 - w), (words[0], w / 2), (words[1], w / 2)])
            res, _, _ = D.decode(batches, len(crops), rec.codec, beam_width=dec.DEFAULT_BEAM, lm=mix,
                                 lm_weight=dec.DEFAULT_LM_WEIGHT, insertion_bonus=dec.DEFAULT_INSERTION_BONUS)
            row[f"words {w}"] = rates(res, truths)
        print(json.dumps(row), file=sys.stderr, flush=True)
        return row

    out = {"model": Path(args.model).name, "beam": dec.DEFAULT_BEAM, "english_writers": {}}
    for writer in args.writers:
        stems = [s for s in splits["general"]["train"] if f"/{writer}/" in s]
        out["english_writers"][writer] = read(stems, without_writer(writer, args.lines))
    if not args.no_french:
        out["general/validation"] = read(list(splits["general"]["validation"]), lmmod.model_lm(args.model))
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
