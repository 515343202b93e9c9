"""Preferences, models and export dialogs: opened offscreen on real data and made to do their job."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QDialogButtonBox  # noqa: E402

from htrgui.core.errors import ModelError  # noqa: E402
from htrgui.core.training.holdout import RULE, HeldOutRule  # noqa: E402
from htrgui.core.paths import user_models_dir  # noqa: E402
from htrgui.qt.dialogs import errors as error_dialogs  # noqa: E402
from htrgui.qt.settings import Settings, load_settings  # noqa: E402

pytestmark = pytest.mark.gui

STANFORD_PAGES = ["stanford/by_pierrine_maurel/Page1-Lettre42/Lettre42",
                  "stanford/by_pierrine_maurel/Page2-Lettre43/Lettre43"]


def tiny_model(path: Path, name: str, cer: float | None = None) -> Path:
    """A real (untrained) tiny HTR-ConvText model file with a card."""
    from htrgui.core.recognition.checkpoint import save_checkpoint
    from htrgui.core.recognition.codec import Codec
    from htrgui.core.recognition.model import CONFIGS, HTRConvText

    codec = Codec(tuple("abcdefghijklmnopqrstuvwxyz "))
    model = HTRConvText(CONFIGS["tiny"].with_classes(codec.num_classes))
    card = {"name": name, "base_model": "htrconvtext-small", "data": "3 verified pages of Lettre42"}
    if cer is not None:
        card["val_cer"] = cer
    return save_checkpoint(path, model, codec, provenance=card)


def close_error_boxes() -> list[str]:
    texts = []
    for box in error_dialogs.open_error_boxes():
        texts.append(box.text())
        box.close()
    return texts


# ---------------------------------------------------------------- preferences
def test_preferences_edit_and_save_the_settings(qtbot):
    from htrgui.qt.dialogs.preferences import PreferencesDialog, parse_characters

    settings = Settings(font_size=13, special_characters=["ſ", "ꝑ"])
    dialog = PreferencesDialog(None, settings)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.characters.text() == "ſ ꝑ"
    assert dialog.font_size.value() == 13
    # The machine check runs in a worker and ends in plain words about the GPU.
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=60_000)
    assert ("GPU found" in dialog.machine.text()) or ("No usable GPU" in dialog.machine.text())
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.font_size.setValue(17)
    dialog.characters.setText("ꝯ  ⁊ ꝯ \u0303")
    with qtbot.waitSignal(dialog.settings_changed):
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    # The caller's object is changed in place and the file on disk says the same.
    assert (settings.device, settings.theme, settings.font_size) == ("cpu", "dark", 17)
    assert settings.special_characters == ["ꝯ", "⁊", "\u0303"]
    assert load_settings() == settings
    assert parse_characters("  a b  a ") == ["a", "b"]


def test_preferences_cancel_changes_nothing(qtbot):
    from htrgui.qt.dialogs.preferences import PreferencesDialog

    settings = Settings(theme="light")
    dialog = PreferencesDialog(None, settings)
    qtbot.addWidget(dialog)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).click()
    assert settings.theme == "light"
    assert load_settings() == Settings()  # nothing was written


# ---------------------------------------------------------------- models
def models_dialog(qtbot, settings):
    """A ModelsDialog whose first listing has finished."""
    from htrgui.qt.dialogs.models import ModelsDialog

    dialog = ModelsDialog(None, settings)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog._worker is not None and not dialog._worker.is_running(), timeout=30_000)
    return dialog


def test_models_dialog_lists_cards_switches_and_deletes(qtbot, tmp_path):
    pytest.importorskip("torch")
    mine = tiny_model(user_models_dir() / "poilus-ft.pt", "poilus-ft", cer=0.084)
    mine.with_suffix(".md").write_text("# poilus-ft\n\nFine-tuned on **wills** of 1914-1918.\n", encoding="utf-8")
    (user_models_dir() / "broken.pt").write_bytes(b"PK\x03\x04 not really a model")
    settings = Settings()
    dialog = models_dialog(qtbot, settings)
    dialog.show()
    by_path = {m.path.name: m for m in dialog.models}
    assert "poilus-ft.pt" in by_path and "broken.pt" in by_path
    info = by_path["poilus-ft.pt"]
    assert info.cer == pytest.approx(0.084) and not info.shipped
    assert by_path["broken.pt"].error and "broken.pt" in by_path["broken.pt"].error
    # The card of the selected model is shown.
    assert dialog.select_path(mine)
    shown = [dialog.card.itemAt(i).widget().text() for i in range(dialog.card.count())
             if dialog.card.itemAt(i).widget() is not None]
    assert "htrconvtext-small" in shown and "8.40 %" in shown
    assert "none of its own: reads with the shipped model's" in shown  # a tiny model carries no LM
    shipped = next(m for m in dialog.models if m.shipped)
    assert any(label == "Language model" and value.startswith("its own (") for label, value in shipped.summary())
    assert not dialog.card_text.isHidden() and "Fine-tuned on wills" in dialog.card_text.toPlainText()
    # Switching the default saves it and says so.
    with qtbot.waitSignal(dialog.model_changed) as blocker:
        dialog.use_button.click()
    assert blocker.args == [str(mine)]
    assert load_settings().default_model == str(mine)
    assert "in use" in dialog.list.currentItem().text()
    # Export a copy, then delete the original: the default falls back to the shipped model.
    copy = dialog.export_to(tmp_path / "shared-copy.pt")
    assert copy is not None and copy.read_bytes() == mine.read_bytes()
    assert copy.with_suffix(".md").read_text(encoding="utf-8").startswith("# poilus-ft")
    with qtbot.waitSignal(dialog.models_loaded, timeout=30_000):
        assert dialog.delete_selected()
    assert not mine.exists() and not mine.with_suffix(".md").exists()
    assert settings.default_model == "" and load_settings().default_model == ""
    assert "poilus-ft.pt" not in {m.path.name for m in dialog.models}


def test_models_dialog_imports_only_files_that_load(qtbot, tmp_path):
    pytest.importorskip("torch")
    source = tiny_model(tmp_path / "dufour.pt", "dufour", cer=0.12)
    dialog = models_dialog(qtbot, Settings())
    with qtbot.waitSignal(dialog.models_loaded, timeout=30_000):
        dialog.import_file(source)
    imported = user_models_dir() / "dufour.pt"
    assert imported.read_bytes() == source.read_bytes()
    assert dialog.selected() is not None and dialog.selected().path == imported
    # A truncated file is refused with the file named, and nothing is copied.
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(source.read_bytes()[:5000])
    worker = dialog.import_file(bad)
    with qtbot.waitSignal(worker.failed, timeout=30_000) as blocker:
        pass
    assert "truncated.pt" in blocker.args[0]
    assert not (user_models_dir() / "truncated.pt").exists()
    assert any("truncated.pt" in text for text in close_error_boxes())


def test_shipped_models_cannot_be_deleted(tmp_path):
    from htrgui.qt.dialogs.modelinfo import ModelInfo, delete_model

    shipped = tmp_path / "htrconvtext-small.pt"
    shipped.write_bytes(b"x")
    with pytest.raises(ModelError, match="cannot be deleted"):
        delete_model(ModelInfo("small", shipped, shipped=True))
    with pytest.raises(ModelError):
        delete_model(ModelInfo("elsewhere", shipped, shipped=False))  # not in the user's models folder
    assert shipped.exists()


# ---------------------------------------------------------------- export
@pytest.fixture()
def small_project(shared_data, tmp_path):
    """A project folder of two real Stanford letters, their ALTO ground truth stored as the project's pages."""
    from htrgui.core.io import read_document
    from htrgui.core.project import Project

    folder = tmp_path / "letters"
    folder.mkdir()
    for rel in STANFORD_PAGES:
        shutil.copy(shared_data / f"{rel}.jpg", folder)
    project = Project.open(folder)
    texts = {}
    for rel in STANFORD_PAGES:
        page = read_document(shared_data / f"{rel}.xml")
        page.image_path = folder / Path(rel).with_suffix(".jpg").name
        page.xml_path = None
        project.save_page(page)
        texts[Path(rel).name] = page.text()
    return project, texts


@pytest.mark.filterwarnings("ignore:.*not found beside the file")  # the export folder has no images
def test_export_dialog_writes_every_format(qtbot, small_project, tmp_path):
    from htrgui.core.io import read_document
    from htrgui.qt.dialogs.export import ExportDialog

    project, texts = small_project
    dialog = ExportDialog(None, project, project.entries)
    qtbot.addWidget(dialog)
    dialog.show()
    out = tmp_path / "out"
    dialog.folder.setText(str(out))
    dialog.set_formats(["page", "alto", "txt"])
    with qtbot.waitSignal(dialog.exported, timeout=60_000):
        dialog.export_button.click()
    assert dialog.bar.value() == dialog.bar.maximum() == 6
    assert not dialog.errors
    for name, text in texts.items():
        assert (out / "text" / f"{name}.txt").read_text(encoding="utf-8") == text
        for sub in ("PAGE", "ALTO"):
            page = read_document(out / sub / f"{name}.xml")
            assert page.text() == text
    assert dialog.cancel_button.text() == "Close" and dialog.open_button.isEnabled()


def test_export_dialog_writes_searchable_pdf_and_tei(qtbot, small_project, tmp_path):
    import pypdfium2 as pdfium
    from defusedxml import ElementTree as SafeET

    from htrgui.qt.dialogs.export import FORMATS, ExportDialog

    project, texts = small_project
    assert {"pdf", "tei", "docx"} <= set(FORMATS)
    dialog = ExportDialog(None, project, project.entries)
    qtbot.addWidget(dialog)
    out = tmp_path / "out"
    dialog.folder.setText(str(out))
    dialog.set_formats(["pdf", "tei", "docx"])
    with qtbot.waitSignal(dialog.exported, timeout=60_000):
        dialog.export_button.click()
    assert not dialog.errors and dialog.bar.value() == 6
    for name, text in texts.items():
        pdf = pdfium.PdfDocument(str(out / "PDF" / f"{name}.pdf"))
        extracted = pdf[0].get_textpage().get_text_range()
        pdf.close()
        # pdfium joins a line ending in a hyphen to the next: compare the words without whitespace
        assert "".join(extracted.replace("\ufffe", "-").split()) == "".join(text.split())
        root = SafeET.parse(out / "TEI" / f"{name}.tei.xml").getroot()
        lbs = list(root.iter("{http://www.tei-c.org/ns/1.0}lb"))
        assert [lb.tail.rstrip("\n") for lb in lbs] == [t for t in text.split("\n") if t]
        import zipfile

        with zipfile.ZipFile(out / "Word" / f"{name}.docx") as z:
            body = SafeET.fromstring(z.read("word/document.xml"))
        w_t = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}t"
        words = "".join(t.text or "" for t in body.iter(w_t))
        assert words == "".join(t for t in text.split("\n") if t)


def test_export_dialog_reports_a_damaged_page_and_goes_on(qtbot, small_project, tmp_path):
    from htrgui.qt.dialogs.export import ExportDialog

    project, texts = small_project
    broken = project.entries[0]
    broken.xml_path.write_text("<PcGts><Page", encoding="utf-8")
    dialog = ExportDialog(None, project, project.entries)
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path / "out"))
    dialog.set_formats(["txt"])
    with qtbot.waitSignal(dialog.exported, timeout=60_000):
        dialog.start()
    assert len(dialog.errors) == 1 and broken.xml_path.name in dialog.errors[0]
    assert not dialog.report.isHidden() and broken.xml_path.name in dialog.report.toPlainText()
    ok = project.entries[1]
    assert (tmp_path / "out" / f"{ok.name}.txt").read_text(encoding="utf-8") == texts[ok.name]
    assert not (tmp_path / "out" / f"{broken.name}.txt").exists()


def test_export_needs_a_format(qtbot, small_project):
    from htrgui.qt.dialogs.export import ExportDialog

    project, _ = small_project
    dialog = ExportDialog(None, project, project.entries[:1])
    qtbot.addWidget(dialog)
    dialog.set_formats([])
    assert not dialog.export_button.isEnabled()
    dialog.set_formats(["alto"])
    assert dialog.export_button.isEnabled()


# ---------------------------------------------------------------- fine-tuning
def mark_verified(project, per_page: dict[str, int]) -> None:
    """Keep the first ``n`` lines of each named page verified and make the others model predictions."""
    for entry in project.entries:
        page = project.load_page(entry)
        for i, line in enumerate(page.lines()):
            line.status = "verified" if i < per_page.get(entry.name, 0) else "predicted"
        project.save_page(page)


#: Two letters hold a few lines each: below the real minimums (50 to learn from, 10 to check on), which the
#: tests of the wiring lower; tests/training/test_finetune_paths.py checks the real rule.
FEW = HeldOutRule(min_train=2, min_held=1)


def finetune_dialog(qtbot, project, settings, rule=FEW, session=None):
    from htrgui.qt.dialogs.finetune import FineTuneDialog
    from htrgui.qt.jobs import JobRunner

    runner = JobRunner()
    dialog = FineTuneDialog(None, project, settings, runner, session=session)
    dialog.rule = rule  # before the count comes back (it is delivered by the event loop)
    # the runner is the test's own: stop its jobs (the speed measurement runs on for seconds) with the dialog
    qtbot.addWidget(dialog, before_close_func=lambda _d: runner.shutdown())
    qtbot.waitUntil(lambda: dialog.verified is not None, timeout=30_000)
    return dialog, runner


def test_finetune_dialog_cancels_then_trains_and_keeps_a_worse_model_out(qtbot, small_project):
    pytest.importorskip("torch")
    from htrgui.core.training.trainer import TrainConfig

    project, _ = small_project
    mark_verified(project, {"Lettre42": 3, "Lettre43": 3})
    base = tiny_model(user_models_dir() / "tiny-base.pt", "tiny-base")
    settings = Settings(default_model=str(base), device="cpu")
    dialog, runner = finetune_dialog(qtbot, project, settings)
    dialog.show()
    assert dialog.verified.lines == 6 and len(dialog.verified.pages) == 2
    assert "6 lines on 2 pages" in dialog.summary.text()
    assert dialog.start_button.isEnabled()
    # A few steps of a tiny model, validated on the held-out page at the start and the end only.
    tiny = TrainConfig(config="tiny", max_steps=2, val_every_minutes=1e9, device="cpu", batch_columns=2000,
                       warmup_steps=1, freeze_bn=True, checkpoint_every_minutes=1e9, tcm=False)
    models_before = sorted(user_models_dir().iterdir())

    # Cancel right away: the job stops, nothing is written, the model in use stays.
    with qtbot.waitSignal(dialog.run_ended, timeout=60_000) as blocker:
        worker = dialog.start(config=tiny)
        assert worker is not None and runner.busy and not dialog.start_button.isEnabled()
        dialog.cancel_button.click()
    assert blocker.args == [None] and worker.outcome == "cancelled"
    assert "Cancelled" in dialog.status.text()
    assert sorted(user_models_dir().iterdir()) == models_before

    # Now to the end: an untrained tiny model does not get better in two steps, so nothing is offered.
    with qtbot.waitSignal(dialog.run_ended, timeout=180_000) as blocker:
        dialog.start(config=tiny)
    result = blocker.args[0]
    assert result is not None and worker is not dialog.worker
    assert result.before_cer is not None and result.held_out_pages
    assert not result.improved and result.model_path is None
    assert not dialog.use_button.isEnabled()
    assert "not better" in dialog.status.text()
    assert dialog.curve.series["loss"].points and dialog.curve.series["cer"].points
    assert sorted(user_models_dir().iterdir()) == models_before
    assert settings.default_model == str(base)
    assert dialog.start_button.isEnabled() and not runner.busy


def test_finetune_checks_on_the_pages_the_user_ticks(qtbot, small_project):
    pytest.importorskip("torch")
    from htrgui.core.training.trainer import TrainConfig
    from htrgui.qt.dialogs.finetune import ALL_HELD, NONE_HELD

    project, _ = small_project
    mark_verified(project, {"Lettre42": 3, "Lettre43": 3})
    base = tiny_model(user_models_dir() / "tiny-base.pt", "tiny-base")
    dialog, _ = finetune_dialog(qtbot, project, Settings(default_model=str(base), device="cpu"))
    dialog.show()
    keys = [dialog.held_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.held_list.count())]
    assert len(keys) == 2 and len(dialog.held_out()) == 1  # one page ticked by default
    assert "3 lines" in dialog.held_list.item(0).text()
    dialog.set_held_out([])
    assert not dialog.start_button.isEnabled() and dialog.status.text() == NONE_HELD and dialog.start() is None
    dialog.set_held_out(keys)
    assert not dialog.start_button.isEnabled() and dialog.status.text() == ALL_HELD
    # a click on an item's box, as the user does it
    first = dialog.held_list.item(0)
    rect = dialog.held_list.visualItemRect(first)
    qtbot.mouseClick(dialog.held_list.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(rect.left() + rect.height() // 2, rect.center().y()))
    assert dialog.held_out() == [keys[1]] and dialog.start_button.isEnabled() and dialog.status.text() == ""
    tiny = TrainConfig(config="tiny", max_steps=1, val_every_minutes=1e9, device="cpu", batch_columns=2000,
                       warmup_steps=1, freeze_bn=True, checkpoint_every_minutes=1e9, tcm=False)
    assert dialog.remember.isChecked()  # replaying earlier corrections is on unless the user says no
    dialog.remember.click()
    with qtbot.waitSignal(dialog.run_ended, timeout=180_000) as blocker:
        dialog.start(config=tiny)
        assert not dialog.held_list.isEnabled()  # no changing the pages while training
    assert blocker.args[0].held_out_pages == [keys[1]]
    assert dialog.held_list.isEnabled()
    assert load_settings().remember_lines is False  # the choice is kept
    from htrgui.core.training.replay import replay_dir

    assert not list(replay_dir().glob("*.npz"))  # and nothing of this project was kept


def test_finetune_offers_only_a_better_model(qtbot, small_project):
    pytest.importorskip("torch")
    from htrgui.core.training.finetune import FinetuneResult

    project, _ = small_project
    mark_verified(project, {"Lettre42": 2, "Lettre43": 2})
    settings = Settings()
    dialog, _ = finetune_dialog(qtbot, project, settings)
    worse = FinetuneResult(0.31, 0.33, False, None, ["Lettre43"], 2, 0.5, "not better: the base stays in use")
    dialog._show_result(worse)
    assert not dialog.use_button.isEnabled()
    new = tiny_model(user_models_dir() / "letters-ft.pt", "letters-ft", cer=0.21)
    better = FinetuneResult(0.31, 0.21, True, str(new), ["Lettre43"], 2, 0.5, "new model letters-ft.pt")
    dialog._show_result(better)
    assert dialog.use_button.isEnabled()
    with qtbot.waitSignal(dialog.model_changed) as blocker:
        dialog.use_button.click()
    assert blocker.args == [str(new)]
    assert settings.default_model == str(new) == load_settings().default_model
    assert not dialog.use_button.isEnabled()


def test_finetune_needs_a_model_to_start_from(qtbot, small_project):
    project, _ = small_project
    mark_verified(project, {"Lettre42": 2, "Lettre43": 2})
    dialog, _ = finetune_dialog(qtbot, project, Settings(default_model="/nowhere/gone.pt"))
    assert not dialog.verified.problem(FEW)
    assert "gone.pt" in dialog.base_label.text()
    assert not dialog.start_button.isEnabled() and dialog.start() is None


def test_finetune_needs_verified_lines_on_two_pages(qtbot, small_project, tmp_path):
    project, _ = small_project
    mark_verified(project, {"Lettre42": 5})
    base = tiny_model(tmp_path / "base.pt", "base")
    dialog, _ = finetune_dialog(qtbot, project, Settings(default_model=str(base)), rule=RULE)
    assert dialog.verified.lines == 5 and not dialog.verified.enough
    assert not dialog.start_button.isEnabled()
    assert "needs at least 60 verified lines" in dialog.summary.text()
    assert "Verify 55 more" in dialog.summary.text()
    assert dialog.start() is None
