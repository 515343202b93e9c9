"""CTC decoding and error rates on constructed posteriors (the rules of CTC, not our outputs)."""

from __future__ import annotations

import numpy as np

from htrgui.core.text import ErrorProfile, edit_distance, edit_operations, error_rates
from htrgui.core.recognition.codec import Codec
from htrgui.core.recognition.decode import align_confidences, beam_search, greedy, load_lexicon

CODEC = Codec(tuple(" acot"))  # ids: ' '=1 a=2 c=3 o=4 t=5


def posteriors(frames: list[dict[int, float]]) -> np.ndarray:
    """(T, C) rows with the given probabilities, the rest spread on the blank."""
    out = np.zeros((len(frames), CODEC.num_classes), dtype=np.float32)
    for t, f in enumerate(frames):
        for k, p in f.items():
            out[t, k] = p
        out[t, 0] += 1.0 - out[t].sum()
    return out


def test_greedy_collapses_repeats_and_needs_blank_between_doubles():
    # c c _ a t _ t  -> "catt"? no: t _ t is two t's; c c is one c
    probs = posteriors([{3: 0.9}, {3: 0.8}, {}, {2: 0.7}, {5: 0.9}, {}, {5: 0.6}])
    d = greedy(probs, CODEC)
    assert d.text == "catt"
    assert len(d.char_confidences) == 4
    assert abs(d.char_confidences[0] - 0.9) < 1e-6  # best frame of the merged run
    assert abs(d.confidence - np.mean(d.char_confidences)) < 1e-6


def test_empty_line_has_blank_confidence():
    d = greedy(posteriors([{}, {}]), CODEC)
    assert d.text == "" and d.char_confidences == [] and d.confidence == 1.0


def test_beam_agrees_with_greedy_on_clear_input():
    probs = posteriors([{3: 0.95}, {2: 0.9}, {}, {5: 0.97}])
    assert beam_search(probs, CODEC, beam_width=4).text == greedy(probs, CODEC).text == "cat"


def test_beam_sums_paths_greedy_cannot():
    # the best single path is blank-blank (.36), but the three paths reading "a" sum to .64
    probs = posteriors([{2: 0.4}, {2: 0.4}])
    assert greedy(probs, CODEC).text == ""
    assert beam_search(probs, CODEC, beam_width=4).text == "a"


def test_lexicon_picks_the_known_word():
    frames = [{3: 0.9}, {4: 0.55, 2: 0.45}, {5: 0.9}]
    probs = posteriors(frames)
    assert greedy(probs, CODEC).text == "cot"
    lexicon = load_lexicon(["Cat", "", "dog"])
    assert beam_search(probs, CODEC, beam_width=8, lexicon=lexicon).text == "cat"
    # a lexicon never forces out-of-vocabulary words when the evidence is clear
    clear = posteriors([{3: 0.9}, {4: 0.95}, {5: 0.9}])
    assert beam_search(clear, CODEC, beam_width=8, lexicon=lexicon).text == "cot"


def test_alignment_confidences():
    probs = posteriors([{3: 0.9}, {2: 0.6}, {2: 0.8}, {}, {5: 0.7}])
    confs = align_confidences(probs, [3, 2, 5])
    assert [round(c, 3) for c in confs] == [0.9, 0.8, 0.7]


def test_edit_distance_and_micro_average():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    r = error_rates([("abc", "abd"), ("x", "xxxxxxxxxx ")])
    assert r.char_edits == 1 + 9 and r.chars == 3 + 10  # trailing space folded away
    assert abs(r.cer - 10 / 13) < 1e-9
    assert error_rates([("le  chat", "le chat")]).wer == 0.0
    assert error_rates([("e\u0301", "é")]).cer == 0.0  # NFC


def test_edit_operations_are_as_many_as_the_distance_and_say_what_was_read():
    assert edit_operations("sitting", "kitten") == [("k", "s"), ("e", "i"), ("", "g")]
    assert edit_operations("", "ab") == [("a", ""), ("b", "")]
    assert edit_operations("le  chat", "le chat") == []  # compared as evaluation compares
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = "".join(rng.choice(list("ab c"), size=rng.integers(0, 12)))
        b = "".join(rng.choice(list("abd "), size=rng.integers(0, 12)))
        ops = edit_operations(a, b)
        assert len(ops) == edit_distance(" ".join(a.split()), " ".join(b.split()))
        assert all(t != r for t, r in ops)


def test_error_profile_tells_case_punctuation_diacritics_and_spacing_apart():
    p = ErrorProfile()
    p.add("Le Chat, noir", "le chat noir")  # two capitals, a comma
    p.add("mere", "mère")  # an accent
    p.add("lechat", "le chat")  # a space
    d = p.as_dict(top=3)
    assert d["char_edits"] == 5 and d["chars"] == 23
    assert d["edits"] == {"substitutions": 3, "deletions": 1, "insertions": 1}
    assert d["cer_without"]["case"] == 3 / 23  # the capitals forgiven
    assert d["cer_without"]["punctuation"] == d["cer_without"]["diacritics"] == d["cer_without"]["spaces"] == 4 / 23
    assert len(d["confusions"]) == 3 and sum(c["count"] for c in d["confusions"]) == 3
    assert {"truth": "è", "read": "e"}.items() <= next(c for c in p.as_dict(10)["confusions"] if c["truth"] == "è").items()
