"""Codec: NFC, blank 0, round trip, unknown characters reported, extension keeps ids."""

from __future__ import annotations

import unicodedata

import pytest

from htrgui.core.recognition.codec import Codec, UnknownCharacters
from htrgui.core.text import normalize


def test_round_trip_on_real_transcriptions(shared_data):
    from htrgui.core.io import read_document

    texts = [line.text for f in sorted(shared_data.glob("*/*/*.xml"))[:6] for line in read_document(f).lines()]
    texts = [t for t in texts if t.strip()]
    assert len(texts) > 20
    codec = Codec.from_texts(texts)
    for t in texts:
        ids = codec.encode(t)
        assert 0 not in ids  # 0 is the blank
        assert codec.decode(ids) == normalize(t)


def test_nfc_and_combining_marks():
    decomposed = "e\u0301te\u0301"  # été, decomposed
    codec = Codec.from_texts([decomposed, "q\u0307"])  # q + dot above has no precomposed form
    assert "é" in codec.chars and "\u0301" not in codec.chars
    assert "\u0307" in codec.chars  # combining mark kept as its own class
    assert codec.decode(codec.encode("q\u0307e\u0301")) == unicodedata.normalize("NFC", "q\u0307é")
    assert codec.num_classes == len(codec.chars) + 1


def test_white_space_is_folded():
    codec = Codec.from_texts(["a b"])
    assert codec.encode("  a\t\n b ") == codec.encode("a b")


def test_unknown_characters_are_reported_not_dropped():
    codec = Codec.from_texts(["abc"])
    assert codec.missing("abxc€") == {"x", "€"}
    with pytest.raises(UnknownCharacters) as err:
        codec.encode("abxc€", where="page 3 line l_1")
    assert err.value.chars == ["x", "€"]
    assert "U+20AC" in str(err.value) and "page 3 line l_1" in str(err.value)


def test_extend_keeps_old_ids():
    codec = Codec.from_texts(["abc"])
    bigger = codec.extend(["ſ", "a", "ꝑ", "\t"])
    assert bigger.chars[:3] == codec.chars
    assert bigger.chars[3:] == ("ſ", "ꝑ")
    assert bigger.encode("cab") == codec.encode("cab")


def test_duplicates_refused():
    with pytest.raises(ValueError):
        Codec(("a", "a"))
