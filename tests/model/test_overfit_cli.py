"""A tiny model learns a handful of real lines; the engine and the CLI read them back with it.

The model is trained once per module (tens of seconds on 2 CPU cores) and saved as a checkpoint that the
engine and command-line tests use, so these tests run the real pipeline end to end on real scans.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import torch

from htrgui.core.text import error_rates

N_LINES = 4
MAX_STEPS = 300


def _short_lines(shared_data: Path):
    """A real page and 4 of its short lines (crop, text)."""
    from htrgui.core.imaging import load_image
    from htrgui.core.io import read_document
    from htrgui.core.recognition.linecrop import crop_line

    xml = sorted((shared_data / "lectaurep").glob("*/*.xml"))[0]
    page = read_document(xml)
    gray = load_image(page.image_path, mode="L")
    chosen = []
    for line in page.lines():
        if line.text.strip() and len(line.polygon) >= 3:
            img = crop_line(gray, line)
            if 120 < img.shape[1] < 600:
                chosen.append((line, img))
        if len(chosen) == N_LINES:
            break
    assert len(chosen) == N_LINES, f"{xml} has too few short lines"
    return xml, page, chosen


@pytest.fixture(scope="module")
def trained(shared_data, tmp_path_factory):
    from htrgui.core.recognition.checkpoint import save_checkpoint
    from htrgui.core.recognition.codec import Codec
    from htrgui.core.recognition.decode import greedy
    from htrgui.core.recognition.model import build_model
    from htrgui.core.recognition.preprocess import batch_lines

    xml, page, chosen = _short_lines(shared_data)
    texts = [line.text for line, _ in chosen]
    torch.manual_seed(0)
    codec = Codec.from_texts(texts)
    model = build_model("tiny", num_classes=codec.num_classes)
    images, widths = batch_lines([img for _, img in chosen])
    encoded = [torch.tensor(codec.encode(t)) for t in texts]
    targets, target_lengths = torch.cat(encoded), torch.tensor([len(t) for t in encoded])
    opt = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.0)
    start, cer, steps = time.monotonic(), 1.0, 0
    threads = torch.get_num_threads()
    # One thread: a model this small gains nothing from two, and OpenMP threads on a busy machine stall.
    torch.set_num_threads(1)
    for steps in range(1, MAX_STEPS + 1):
        model.train()
        logits, lengths = model(images, widths)
        loss = torch.nn.functional.ctc_loss(logits.log_softmax(-1).transpose(0, 1), targets, lengths,
                                            target_lengths, zero_infinity=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if steps % 10 == 0:
            model.eval()
            with torch.inference_mode():
                logits, lengths = model(images, widths)
            probs = logits.softmax(-1).numpy()
            preds = [greedy(probs[i, : lengths[i]], codec).text for i in range(N_LINES)]
            cer = error_rates(zip(preds, texts)).cer
            if cer <= 0.02:
                break
    torch.set_num_threads(threads)
    ckpt = save_checkpoint(tmp_path_factory.mktemp("model") / "tiny-overfit.pt", model.eval(), codec,
                           provenance={"name": "tiny-overfit", "training_lines": N_LINES, "source": str(xml)})
    return {"xml": xml, "page": page, "chosen": chosen, "cer": cer, "steps": steps, "ckpt": ckpt,
            "seconds": time.monotonic() - start}


def test_tiny_model_overfits_real_lines(trained):
    assert trained["cer"] <= 0.05, f"CER {trained['cer']:.3f} after {trained['steps']} steps"


def test_engine_streams_in_order_from_fp16_checkpoint(trained):
    from htrgui.core.recognition.engine import Recognizer

    rec = Recognizer(trained["ckpt"], device="cpu", batch_size=2)  # 2 batches, sorted by width inside
    items = [(line.id, img) for line, img in trained["chosen"]] + [("nothing", None)]
    results = list(rec.recognize_lines(items))
    assert [r.line_id for r in results] == [i for i, _ in items]
    assert results[-1].error and results[-1].text == ""
    truth = [line.text for line, _ in trained["chosen"]]
    assert error_rates(zip([r.text for r in results[:-1]], truth)).cer <= 0.05
    for r in results[:-1]:
        assert len(r.char_confidences) == len(r.text)
        assert 0.0 <= r.confidence <= 1.0 and all(0.0 <= c <= 1.0 for c in r.char_confidences)
    # beam search reads the same on a model this sure of itself
    beam = Recognizer(trained["ckpt"], device="cpu", beam_width=4)
    assert [r.text for r in beam.recognize_lines(items[:-1])] == [r.text for r in results[:-1]]


def _page_with_chosen_lines(trained, tmp_path: Path, verified_text: str | None = None) -> Path:
    """A PAGE file holding only the trained lines; texts cleared, the first line verified if asked."""
    import copy
    import os

    from htrgui.core.pagexml import write_page

    page = copy.deepcopy(trained["page"])
    keep = {line.id for line, _ in trained["chosen"]}
    for region in page.regions:
        region.lines = [line for line in region.lines if line.id in keep]
    page.regions = [r for r in page.regions if r.lines]
    for i, line in enumerate(page.lines()):
        if i == 0 and verified_text is not None:
            line.set_text(verified_text)  # a person's text: verified
        elif verified_text is not None:
            line.set_text("", source="import:test")
    out = tmp_path / "in" / "page.xml"
    out.parent.mkdir()
    page.image_filename = os.path.relpath(page.image_path, out.parent)
    write_page(page, out)
    return out


def test_cli_evaluate_reports_json(trained, tmp_path, capsys):
    from htrgui.cli import main

    xml = _page_with_chosen_lines(trained, tmp_path)
    assert main(["evaluate", "--model", str(trained["ckpt"]), "--device", "cpu", "--threads", "1", str(xml)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["lines"] == N_LINES and summary["files"] == 1
    assert summary["cer"] <= 0.05 and 0.0 <= summary["wer"] <= 1.0


def test_cli_recognize_keeps_geometry_ids_and_verified_lines(trained, tmp_path):
    from htrgui.cli import main
    from htrgui.core.io import read_document

    xml = _page_with_chosen_lines(trained, tmp_path, verified_text="KEEP ME")
    before = read_document(xml)
    out = tmp_path / "out"
    assert main(["recognize", str(xml), "-o", str(out), "--model", str(trained["ckpt"]), "--batch-size", "3"]) == 0
    after = read_document(out / "page.xml")
    assert after.image_path is not None and after.image_path.resolve() == before.image_path.resolve()
    lines_before, lines_after = list(before.lines()), list(after.lines())
    assert [ln.id for ln in lines_after] == [ln.id for ln in lines_before]
    assert [ln.polygon for ln in lines_after] == [ln.polygon for ln in lines_before]
    assert lines_after[0].text == "KEEP ME" and lines_after[0].status == "verified"
    truth = {line.id: line.text for line, _ in trained["chosen"]}
    others = lines_after[1:]
    assert all(ln.status == "predicted" and ln.source == "model:tiny-overfit" for ln in others)
    assert error_rates([(ln.text, truth[ln.id]) for ln in others]).cer <= 0.05


def test_cli_recognize_image_input(trained, tmp_path):
    import cv2

    from htrgui.cli import main
    from htrgui.core.io import read_document

    line, img = trained["chosen"][0]
    png = tmp_path / "line.png"
    cv2.imwrite(str(png), img)
    out = tmp_path / "out"
    assert main(["recognize", str(png), "-o", str(out), "--model", str(trained["ckpt"]), "--threads", "1"]) == 0
    page = read_document(out / "line.xml")
    assert (page.width, page.height) == (img.shape[1], img.shape[0])
    assert page.image_path is not None and page.image_path.resolve() == png.resolve()


def test_cli_refuses_foreign_model(tmp_path, capsys):
    from htrgui.cli import main

    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"\x00not a model")
    img = tmp_path / "x.png"
    img.write_bytes(b"")
    assert main(["recognize", str(img), "-o", str(tmp_path / "o"), "--model", str(bogus)]) == 2
    assert "bogus.pt" in capsys.readouterr().err


def test_models_list_and_show(trained, tmp_path, capsys):
    import shutil

    from htrgui.cli import main
    from htrgui.core.paths import user_models_dir

    shutil.copy(trained["ckpt"], user_models_dir() / "mine.pt")
    assert main(["models", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"name": "mine", "origin": "user"}.items() <= next(e for e in listed if e["name"] == "mine").items()
    assert main(["models", "show", "mine", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["provenance"]["training_lines"] == N_LINES and card["stored_dtype"] == "float16"
    assert card["codec_size"] == len(set("".join(line.text for line, _ in trained["chosen"])))
    assert main(["models", "show", "base", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"] == 65_920_016
    assert main(["models", "show", "nonesuch"]) == 2
    assert "nonesuch" in capsys.readouterr().err


def test_engine_matches_the_plain_model(trained):
    """BatchNorm folding and channels-last change nothing but speed; the caller's model is left alone."""
    from htrgui.core.recognition.checkpoint import load_checkpoint
    from htrgui.core.recognition.engine import Recognizer
    from htrgui.core.recognition.preprocess import batch_lines

    loaded = load_checkpoint(trained["ckpt"])
    imgs = [img for _, img in trained["chosen"]]
    rec = Recognizer(loaded, device="cpu", threads=1)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in loaded.model.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in rec.model.modules())
    fast = rec.probabilities(imgs)
    batch, widths = batch_lines(imgs)
    with torch.inference_mode():
        logits, lengths = loaded.model(batch, widths)
    for i, p in enumerate(fast):
        ref = logits[i, : lengths[i]].softmax(-1).numpy()
        assert p.shape == ref.shape and abs(p - ref).max() < 1e-4


def test_cli_refuses_inputs_that_would_overwrite_each_other(tmp_path, capsys):
    from htrgui.cli import main

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert main(["recognize", str(tmp_path / "a" / "p.xml"), str(tmp_path / "b" / "p.xml"),
                 "-o", str(tmp_path / "out")]) == 2
    assert "p.xml" in capsys.readouterr().err and not (tmp_path / "out").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cli_cuda_without_gpu_is_a_clear_error(trained, tmp_path, capsys):
    from htrgui.cli import main

    xml = _page_with_chosen_lines(trained, tmp_path)
    assert main(["evaluate", "--model", str(trained["ckpt"]), "--device", "cuda", str(xml)]) == 2
    assert "no usable CUDA GPU" in capsys.readouterr().err


def test_bf16_autocast_reads_the_same(trained):
    """The GPU's bf16 autocast path, run on the CPU: the trained lines read the same as in fp32."""
    from htrgui.core.recognition.engine import Recognizer

    items = [(line.id, img) for line, img in trained["chosen"]]
    fp32 = Recognizer(trained["ckpt"], device="cpu", threads=1)
    bf16 = Recognizer(trained["ckpt"], device="cpu", threads=1)
    bf16.amp_dtype = torch.bfloat16
    a, b = list(fp32.recognize_lines(items)), list(bf16.recognize_lines(items))
    assert error_rates([(x.text, y.text) for x, y in zip(b, a)]).cer <= 0.02
