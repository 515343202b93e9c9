"""The character language model and the beam search that uses it, on real pages and the shipped model."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from htrgui.core.text import edit_distance, normalize
from htrgui.core.recognition.decode import beam_search_batch, greedy
from htrgui.core.recognition.lm import (EOS, CharNgramLM, LanguageModelError, MixedLM, decoding_lm, model_lm,
                                        project_lm, text_lines)
from tests.conftest import REPO

MODEL = REPO / "models" / "htrconvtext-small.pt"


def page_texts(shared_data, stems):
    from htrgui.core.io import read_document

    return [line.text for s in stems for line in read_document(shared_data / f"{s}.xml").lines() if line.text.strip()]


@pytest.fixture(scope="module")
def shipped():
    lm = model_lm(MODEL) if MODEL.is_file() else None
    if lm is None:
        pytest.skip(f"{MODEL} is absent or carries no language model")
    return lm


@pytest.fixture(scope="module")
def page_posteriors(shared_data, splits):
    """Posteriors of the shipped model for every line of one adaptation/test page, and the page's truths."""
    import torch

    from htrgui.core.imaging import load_page_image
    from htrgui.core.io import read_document
    from htrgui.core.recognition.engine import Recognizer

    torch.set_num_threads(1)
    rec = Recognizer(MODEL, device="cpu", threads=1, batch_size=16)
    page = read_document(shared_data / f"{splits['adaptation']['test'][0]}.xml")
    truth = {line.id: line.text for line in page.lines() if line.text.strip()}
    pairs = [(lid, img) for lid, img in rec.page_lines(page, load_page_image(page, mode="L"), skip_verified=False)
             if lid in truth and img is not None]
    probs, lengths = rec._forward([img for _, img in pairs])
    return probs.numpy(), lengths.tolist(), [truth[lid] for lid, _ in pairs], rec.codec


def test_probabilities_sum_to_one_after_real_histories(shipped, shared_data, splits):
    lines = page_texts(shared_data, splits["general"]["test"][:2])
    own = project_lm(page_texts(shared_data, splits["adaptation"]["adapt"][:3]))
    pruned = CharNgramLM.from_texts(lines * 3, order=5, prune=1)
    for lm in (shipped, own, pruned):
        for line in lines[:6]:
            for cut in (0, 1, len(line) // 2, len(line)):
                dist = lm.distribution(line[:cut])
                assert abs(sum(dist.values()) - 1.0) < 1e-4, (lm.describe(), line[:cut])
                assert all(p > 0 for p in dist.values())
    # text the model has seen is more likely than the same characters shuffled
    line = lines[0]
    shuffled = "".join(np.random.default_rng(0).permutation(list(line)))
    assert shipped.line_logprob(line) > shipped.line_logprob(shuffled) + 10


def test_vectorised_scores_equal_the_backoff_definition(shared_data, splits):
    """score() (one hash lookup for all orders) gives P(c|h) = p(hc) if seen, else bow(h) P(c|h')."""
    texts = page_texts(shared_data, splits["adaptation"]["adapt"][:4])
    lm = CharNgramLM.from_texts(texts, order=4, prune=1)
    table = dict(zip(lm.keys.tolist(), lm.logp.tolist()))
    ctx = dict(zip(lm.ctx_keys.tolist(), lm.ctx_bow.tolist()))
    b = lm.bits

    def key(seq, order):
        k = 0
        for s in seq:
            k = (k << b) | s
        return (order << 60) | k

    def slow(hist, sym):
        if (k := key(hist + [sym], len(hist) + 1)) in table:
            return table[k]
        return ctx.get(key(hist, len(hist)), 0.0) + slow(hist[1:], sym)

    for text in texts[:8]:
        syms = [lm.symbol(c) for c in text] + [EOS]
        hist, state = [1], lm.initial_state(1)  # <s>
        for s in syms:
            fast = float(lm.score(state, np.array([s], dtype=np.uint64))[0])
            assert abs(fast - slow(hist[-(lm.order - 1):], s)) < 1e-5
            hist.append(s)
            state = lm.advance(state, np.array([s], dtype=np.uint64))


def test_save_load_round_trip_and_alphabet_independence(tmp_path, shared_data, splits):
    from htrgui.core.recognition.codec import Codec

    texts = page_texts(shared_data, splits["adaptation"]["adapt"][:2])
    lm = CharNgramLM.from_texts(texts, order=6)
    path = lm.save(tmp_path / "x.lm.npz")
    back = CharNgramLM.load(path)
    assert back.vocab == lm.vocab and back.order == 6
    assert back.line_logprob(texts[0]) == pytest.approx(lm.line_logprob(texts[0]), abs=1e-5)
    # keyed by characters: a codec with more characters (a retrained model) maps the known ones to the same
    # symbols, the new ones to <unk>
    codec = Codec.from_texts(texts)
    wider = codec.extend("ǂ\u2e17")
    mix = MixedLM([(back, 1.0)])
    a, b = mix.for_alphabet(codec.chars)[0], mix.for_alphabet(wider.chars)[0]
    assert (b[: len(a)] == a).all() and (b[len(a):] == 3).all()


def bad_files(tmp_path, good: CharNgramLM):
    path = good.save(tmp_path / "good.lm.npz")
    data = path.read_bytes()
    (tmp_path / "truncated.lm.npz").write_bytes(data[: len(data) // 2])
    (tmp_path / "random.lm.npz").write_bytes(np.random.default_rng(1).bytes(5000))
    np.savez(tmp_path / "noheader.npz", keys=np.arange(3))
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    header = json.loads(np.load(path)["header"].tobytes())

    def rewrite(name, **change):
        h = dict(header, **change)
        with zipfile.ZipFile(tmp_path / name, "w") as z:
            for n, d in members.items():
                if n == "header.npy":
                    import io

                    buf = io.BytesIO()
                    np.save(buf, np.frombuffer(json.dumps(h).encode(), np.uint8))
                    d = buf.getvalue()
                z.writestr(n, d)

    rewrite("newer.lm.npz", format_version=99)
    rewrite("other.lm.npz", format="kenlm-arpa")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["logp"] = arrays["logp"][:-5]
    np.savez(tmp_path / "inconsistent.lm.npz", **arrays)
    return {"truncated.lm.npz": "truncated or damaged", "random.lm.npz": "not an htrgui language model",
            "noheader.npz": "no header", "newer.lm.npz": "newer than this htrgui reads",
            "other.lm.npz": "not an htrgui language model", "inconsistent.lm.npz": "inconsistent",
            "missing.lm.npz": "no such language model"}


def test_bad_language_model_files_are_refused_clearly(tmp_path, shared_data, splits, capsys):
    good = CharNgramLM.from_texts(page_texts(shared_data, splits["adaptation"]["adapt"][:1]), order=3)
    for name, why in bad_files(tmp_path, good).items():
        with pytest.raises(LanguageModelError) as err:
            CharNgramLM.load(tmp_path / name)
        assert name in str(err.value) and why in str(err.value), str(err.value)
    # --lm FILE: the model checkpoint is a zip too, but not a language model; other bytes are not text
    with pytest.raises(LanguageModelError, match="not an htrgui language model"):
        decoding_lm(str(MODEL), MODEL)
    (tmp_path / "words.bin").write_bytes(b"\xff\xfe\x00a")
    with pytest.raises(LanguageModelError, match="neither an htrgui language model nor UTF-8 text"):
        decoding_lm(str(tmp_path / "words.bin"), MODEL)
    with pytest.raises(LanguageModelError, match="not a plain-text file"):
        text_lines(MODEL)
    # the command line says why and fails, without a traceback
    from htrgui.cli import main

    xml = shared_data / f"{splits['adaptation']['test'][0]}.xml"
    assert main(["recognize", str(xml), "-o", str(tmp_path / "out"), "--lm", str(tmp_path / "truncated.lm.npz"),
                 "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert "truncated.lm.npz" in err and "truncated or damaged" in err and "Traceback" not in err
    # --lexicon takes a file or a bundled list's name; anything else is named in the error
    assert main(["recognize", str(xml), "-o", str(tmp_path / "out"), "--lexicon", "englsh", "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert "englsh: cannot read the word list" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_word_list_is_judged_on_its_head_while_the_user_waits(tmp_path):
    """The preferences' check reads the first MB: a large corpus is accepted at once even when a character
    straddles the cut; unreadable, binary, archive and empty files are refused with the reason."""
    from htrgui.core.recognition.lm import text_problem

    big = tmp_path / "corpus.txt"
    line = "les dernières volontés de Jean Lefèvre, soldat\n".encode()
    head = b"soldat " * ((1 << 20) // 7)
    head += b"x" * ((1 << 20) - 1 - len(head))
    big.write_bytes(head + "è ".encode() + line * 40000)  # 3 MB; the 1 MB cut falls inside the è
    assert big.read_bytes()[(1 << 20) - 1:(1 << 20) + 1].decode() == "è"
    assert text_problem(big) == "" and text_problem("english") == ""
    (tmp_path / "bin.txt").write_bytes(b"\xff\xfe\x00a" * 10)
    (tmp_path / "blank.txt").write_text(" \n\n", encoding="utf-8")
    for name, why in (("missing.txt", "cannot read"), ("bin.txt", "neither an htrgui language model nor UTF-8"),
                      ("blank.txt", "holds no text")):
        assert why in text_problem(tmp_path / name) and name in text_problem(tmp_path / name)
    assert "not a plain-text file" in text_problem(MODEL)


def test_beam_of_width_one_without_lm_is_greedy(page_posteriors):
    probs, lengths, _, codec = page_posteriors
    beam = beam_search_batch(probs, lengths, codec, beam_width=1, lm=None)
    for b, n in enumerate(lengths):
        g = greedy(probs[b, :n], codec)
        assert beam[b].text == g.text and beam[b].char_confidences == pytest.approx(g.char_confidences)


def test_shipped_lm_reads_a_real_page_better_and_keeps_confidences(page_posteriors, shipped):
    probs, lengths, truths, codec = page_posteriors
    g = [greedy(probs[b, :n], codec) for b, n in enumerate(lengths)]
    lm = beam_search_batch(probs, lengths, codec, lm=MixedLM([(shipped, 1.0)]))
    errors = lambda res: sum(edit_distance(normalize(d.text), normalize(t)) for d, t in zip(res, truths))  # noqa: E731
    assert errors(lm) < errors(g)
    for d in lm:
        assert len(d.char_confidences) == len(d.text)
        assert all(0.0 <= c <= 1.0 for c in d.char_confidences)
    # confidences still tell: characters of lines read exactly right are surer than those of lines read wrong
    right = [c for d, t in zip(lm, truths) if normalize(d.text) == normalize(t) for c in d.char_confidences]
    wrong = [c for d, t in zip(lm, truths) if edit_distance(normalize(d.text), normalize(t)) > 2
             for c in d.char_confidences]
    assert right and wrong and np.mean(right) > np.mean(wrong)


def test_project_lm_changes_a_line_whose_reading_it_has_seen(page_posteriors, shipped, shared_data, splits):
    probs, lengths, truths, codec = page_posteriors
    base = MixedLM([(shipped, 1.0)])
    before = beam_search_batch(probs, lengths, codec, lm=base)
    wrong = [i for i, (d, t) in enumerate(zip(before, truths)) if normalize(d.text) != normalize(t)]
    assert wrong
    # the user verified these lines on other pages (and the shipped LM alone does not read them right)
    adapt = page_texts(shared_data, splits["adaptation"]["adapt"])
    taught = [truths[i] for i in wrong]
    mix = decoding_lm("project", MODEL, project_texts=adapt + taught)
    assert len(mix.components) == 2
    after = beam_search_batch(probs, lengths, codec, lm=mix)
    changed = [i for i in wrong if after[i].text != before[i].text]
    assert changed
    dist = lambda res, idx: sum(edit_distance(normalize(res[i].text), normalize(truths[i])) for i in idx)  # noqa: E731
    assert dist(after, wrong) < dist(before, wrong)


def test_project_lm_builds_from_a_projects_pages(shared_data, splits):
    """Its speed is measured in benchmarks/decoding.py (build_seconds), not here: these machines are noisy."""
    texts = page_texts(shared_data, splits["adaptation"]["adapt"] + splits["general"]["train"][:40])
    assert len(texts) > 2000
    lm = project_lm(texts)
    assert lm.meta["lines"] == len(texts)
    assert 0.99 * sum(map(len, texts)) <= lm.meta["characters"] <= sum(map(len, texts))  # spaces folded


def test_a_model_carries_its_language_model_and_one_without_reads_the_shipped_ones(tmp_path, shipped, capsys):
    import shutil

    from htrgui.core.recognition.checkpoint import load_checkpoint, set_language_model

    assert model_lm(MODEL) is model_lm(MODEL)             # read once per file
    assert len(shipped) > 100_000
    same = lambda lm: lm is not None and len(lm) == len(shipped) and lm.vocab == shipped.vocab  # noqa: E731
    # a model file without one (made before models carried it, or trained from scratch): the shipped model's
    other = shutil.copy(MODEL, tmp_path / "other.pt")
    assert model_lm(other) is model_lm(MODEL)             # the same bytes: held once in memory
    set_language_model(other, None)
    assert load_checkpoint(other).language_model is None
    assert same(model_lm(other))
    from htrgui.core.recognition.library import model_card

    assert model_card(MODEL)["language_model_bytes"] == len(shipped.to_bytes())
    assert model_card(other)["language_model_bytes"] == 0
    from htrgui.cli import main

    assert main(["models", "show", str(MODEL)]) == 0 and main(["models", "show", str(other)]) == 0
    out = capsys.readouterr().out
    assert f"its own: character 7-gram, {len(shipped):,} n-grams" in out
    assert "none of its own: reads with the shipped model's" in out
    # its own, put in: the weights are untouched, and it is what decodes
    own = CharNgramLM.from_texts(["abc abd", "abd abc"], order=3)
    set_language_model(other, own.to_bytes())
    a, b = load_checkpoint(MODEL), load_checkpoint(other)
    assert all((a.model.state_dict()[k] == v).all() for k, v in b.model.state_dict().items())
    assert model_lm(other).vocab == own.vocab
    assert decoding_lm("model", other).components[0].vocab == own.vocab
    assert decoding_lm("none", MODEL) is None
    # not a model at all: the shipped one's (the recogniser reports the bad model file itself)
    (tmp_path / "junk.pt").write_bytes(b"junk")
    assert same(model_lm(tmp_path / "junk.pt"))


def test_a_damaged_language_model_inside_a_model_is_refused_clearly(tmp_path, shipped, shared_data, splits, capsys):
    import shutil

    from htrgui.cli import main
    from htrgui.core.recognition.checkpoint import set_language_model

    bad = shutil.copy(MODEL, tmp_path / "bad.pt")
    data = shipped.to_bytes()
    set_language_model(bad, data[: len(data) // 2])
    with pytest.raises(LanguageModelError, match="bad.pt: its language model: cannot read this language model: "
                                                 "the file is truncated or damaged"):
        decoding_lm("model", bad)
    xml = shared_data / f"{splits['adaptation']['test'][0]}.xml"
    assert main(["recognize", str(xml), "-o", str(tmp_path / "out"), "--model", str(bad), "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert "truncated or damaged" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
