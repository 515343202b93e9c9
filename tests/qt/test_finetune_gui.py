""""Improve the model" against the real rule (issue 17): the dialog follows the project while it is open, and
the GUI's job and ``htrgui finetune`` give the same model for the same seed."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")
torch = pytest.importorskip("torch")

from htrgui.qt.settings import Settings  # noqa: E402

pytestmark = pytest.mark.gui


def _dialog(qtbot, project, settings, session=None):
    from htrgui.qt.dialogs.finetune import FineTuneDialog
    from htrgui.qt.jobs import JobRunner

    runner = JobRunner()
    dialog = FineTuneDialog(None, project, settings, runner, session=session)
    # the runner is the test's own: stop its jobs (the speed measurement runs on for seconds) with the dialog
    qtbot.addWidget(dialog, before_close_func=lambda _d: runner.shutdown())
    qtbot.waitUntil(lambda: dialog.verified is not None, timeout=120_000)
    return dialog, runner


def test_the_dialog_counts_lines_verified_while_it_is_open(qtbot, verified_project):
    from htrgui.qt.session import Session

    project = verified_project({"scan1": 30, "scan2": 5})
    session = Session(autosave_ms=50)
    session.open(project.folder)
    dialog, _ = _dialog(qtbot, session.project, Settings(device="cpu"), session)
    dialog.show()
    assert dialog.verified.lines == 35 and "Verify 25 more" in dialog.summary.text()
    assert not dialog.start_button.isEnabled() and dialog.estimate.text() == ""

    # the user verifies 20 more lines on the first page and 5 on the second, the window autosaves them
    for index, (start, stop) in ((0, (30, 50)), (1, (5, 10))):
        page = session.page(index)
        for line in list(page.lines())[start:stop]:
            line.status = "verified"
        session.touch(index)
    qtbot.waitUntil(lambda: dialog.verified.lines == 60, timeout=120_000)
    assert dialog.summary.text() == "60 lines on 2 pages"
    assert dialog.held_out() == [str(session.entries[1].xml_path)]  # the 10-line page checks, 50 teach
    qtbot.waitUntil(lambda: dialog.speed is not None, timeout=240_000)  # measured once, then kept
    assert dialog.start_button.isEnabled() and dialog.estimate.text().startswith("About ")
    assert "50 lines x 40 passes" in dialog.estimate.text()
    session.close()


def test_the_gui_job_and_the_cli_give_the_same_model(qtbot, verified_project, tmp_path, capsys):
    """Same pages, base, seed and steps, on the CPU with one thread: the same weights, bit for bit."""
    from htrgui.cli import main
    from htrgui.core.training.finetune import FinetuneResult

    # two copies of one real page: 50 verified lines to learn from on one, 10 of the same lines on the
    # other to check on, so that a few steps of the shipped model already read them better
    project = verified_project({"a": 50, "b": 10})
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        settings = Settings(device="cpu", remember_lines=False)
        dialog, _ = _dialog(qtbot, project, settings)
        qtbot.waitUntil(lambda: dialog.speed is not None, timeout=240_000)
        with qtbot.waitSignal(dialog.run_ended, timeout=300_000) as ended:
            assert dialog.start(max_steps=24, seed=3) is not None
        gui = ended.args[0]
        assert isinstance(gui, FinetuneResult) and gui.steps == 24
        out = tmp_path / "cli.pt"
        assert main(["finetune", str(project.folder), "-o", str(out), "--max-steps", "24", "--seed", "3",
                     "--threads", "1", "--device", "cpu", "--no-remember"]) == 0
    finally:
        torch.set_num_threads(threads)
    cli = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert cli["held_out_pages"] == gui.held_out_pages and cli["steps"] == 24
    assert cli["held_out_cer_before"] == round(gui.before_cer, 4)
    assert cli["held_out_cer_after"] == round(gui.after_cer, 4)
    assert gui.improved and gui.model_path and cli["model"] == str(out)
    a = torch.load(gui.model_path, map_location="cpu", weights_only=False)
    b = torch.load(out, map_location="cpu", weights_only=False)
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _state(checkpoint: dict) -> dict:
    for key in ("model", "state_dict", "weights"):
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    raise AssertionError(f"no weights in the checkpoint: {sorted(checkpoint)}")


def test_the_speed_is_measured_in_the_model_lane_not_in_the_counting_job(qtbot, verified_project):
    """Counting verified pages is an I/O job; measuring the training speed (none kept yet) is a background job
    of the model lane after it, so the I/O lane is free while it trains, and a job the user asks for stops it."""
    from htrgui.core.speedtest import saved_estimate
    from htrgui.qt.jobs import IO

    project = verified_project({"a": 50, "b": 10})
    dialog, runner = _dialog(qtbot, project, Settings(device="cpu"))
    assert dialog.speed is None and saved_estimate("cpu", torch.get_num_threads()) is None
    qtbot.waitUntil(lambda: runner.title == "Measuring training speed", timeout=60_000)
    assert runner.background and runner.io_pending(IO) == 0  # the count is done: the I/O lane is free
    read = []
    runner.run("Reading", lambda token: iter(["page"]), lane=IO, on_item=read.append)
    qtbot.waitUntil(lambda: read == ["page"], timeout=5_000)  # not behind the measurement
    qtbot.waitUntil(lambda: dialog.speed is not None, timeout=240_000)
    assert dialog.speed[1] == "measured just now"
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)  # the figure comes as an item, the job ends after
    assert dialog.estimate.text().startswith("About ")
    # kept: the next dialog reads it in its count, and measures nothing
    again, runner2 = _dialog(qtbot, project, Settings(device="cpu"))
    qtbot.waitUntil(lambda: again.speed is not None, timeout=30_000)
    assert again.speed[1].startswith("measured here") and not runner2.busy
