"""Checkpoints: self-describing, fp16 storage without measurable loss, refusal of foreign files."""

from __future__ import annotations

import pickle

import pytest
import torch

from htrgui.core.errors import ModelError
from htrgui.core.recognition.checkpoint import load_checkpoint, read_payload, save_checkpoint
from htrgui.core.recognition.codec import Codec
from htrgui.core.recognition.model import build_model


@pytest.fixture
def tiny(tmp_path):
    torch.manual_seed(3)
    codec = Codec.from_texts(["abcdefghij klmnop"])
    model = build_model("tiny", num_classes=codec.num_classes).eval()
    with torch.no_grad():
        for block in model.blocks:
            for g in block.gammas:
                g.fill_(0.3)
    return model, codec


def test_save_load_round_trip(tmp_path, tiny):
    model, codec = tiny
    path = save_checkpoint(tmp_path / "m.pt", model, codec, provenance={"name": "t", "val_cer": 0.12},
                           half=False)
    loaded = load_checkpoint(path)
    assert loaded.codec == codec and loaded.config == model.config
    assert loaded.provenance["val_cer"] == 0.12 and "date" in loaded.provenance
    x = torch.rand(2, 1, 64, 120)
    with torch.inference_mode():
        torch.testing.assert_close(loaded.model(x)[0], model(x)[0])
    payload = read_payload(path)
    assert payload["format"] == "htrgui-htrconvtext" and payload["architecture"] == "HTRConvText"
    assert not any("tcm" in k for k in payload["state_dict"])


def test_fp16_storage_is_smaller_and_reads_the_same(tmp_path, tiny):
    model, codec = tiny
    full = save_checkpoint(tmp_path / "f32.pt", model, codec, half=False)
    half = save_checkpoint(tmp_path / "f16.pt", model, codec)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    x = torch.rand(3, 1, 64, 200)
    with torch.inference_mode():
        a = load_checkpoint(full).model(x)[0]
        b = load_checkpoint(half).model(x)[0]
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.99
    assert (a.softmax(-1) - b.softmax(-1)).abs().max() < 1e-2


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_refuses_pickled_code(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        torch.save({"format": "htrgui-htrconvtext", "x": Evil()}, fh)
    with pytest.raises(ModelError, match="evil.pt.*pickled code"):
        load_checkpoint(path)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(ModelError, match="raw.pt"):
        load_checkpoint(raw)


def test_refuses_truncated(tmp_path, tiny):
    model, codec = tiny
    path = save_checkpoint(tmp_path / "m.pt", model, codec)
    data = path.read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="cut.pt.*truncated or damaged"):
        load_checkpoint(cut)


def test_refuses_foreign_files(tmp_path, tiny):
    model, _ = tiny
    sd = tmp_path / "state_dict.pt"
    torch.save(model.state_dict(), sd)  # a bare state dict: no header
    with pytest.raises(ModelError, match="not an htrgui"):
        load_checkpoint(sd)
    txt = tmp_path / "notes.pt"
    txt.write_text("hello", encoding="utf-8")
    with pytest.raises(ModelError, match="notes.pt"):
        load_checkpoint(txt)
    with pytest.raises(ModelError, match="no such model"):
        load_checkpoint(tmp_path / "missing.pt")


def test_refuses_mismatched_weights(tmp_path, tiny):
    model, codec = tiny
    path = save_checkpoint(tmp_path / "m.pt", model, codec)
    payload = torch.load(path, weights_only=True)
    payload["config"]["dim"] = 128
    torch.save(payload, path)
    with pytest.raises(ModelError, match="do not match"):
        load_checkpoint(path)


def test_refuses_codec_head_mismatch(tmp_path, tiny):
    model, codec = tiny
    with pytest.raises(ModelError, match="classes"):
        save_checkpoint(tmp_path / "m.pt", model, codec.extend("ß"))
    assert not list(tmp_path.iterdir())


def test_training_extras_never_reach_the_inference_model(tmp_path, tiny):
    """A trainer may keep its TCM head beside the weights; loading for inference builds no TCM."""
    model, codec = tiny
    tcm_state = {"emb.weight": torch.randn(codec.num_classes + 1, 8)}
    path = save_checkpoint(tmp_path / "train.pt", model, codec, extra={"tcm_head": tcm_state})
    loaded = load_checkpoint(path)
    assert not [n for n, _ in loaded.model.named_modules() if "tcm" in n.lower()]
    assert set(loaded.model.state_dict()) == set(model.state_dict())
    assert "tcm_head" in loaded.extra  # kept for resuming, not built
