"""``htrgui doctor``: the report tells the truth about this machine, and its speed figures are measured."""

from __future__ import annotations

import json
import math
import os
import platform
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from htrgui.core import doctor
from htrgui.core.errors import Cancelled
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.speedtest import measure_speed

REPO = Path(__file__).resolve().parents[2]


def test_report_names_the_installed_libraries_and_device():
    import cv2
    import PySide6  # the test may import Qt; the core under test must not (checked below)

    r = doctor.collect(measure=False)
    assert r.python.endswith(platform.python_version())
    assert r.versions["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert r.versions["qt"] == PySide6.__version__
    assert r.versions["opencv"].startswith(cv2.__version__)
    assert r.torch_cuda == torch.version.cuda
    expected = "cuda" if torch.cuda.is_available() else (
        "mps" if torch.backends.mps.is_available() else "cpu")
    assert r.device == expected
    assert r.speed is None and r.speed_error == ""
    from htrgui.core.recognition.library import list_models

    assert len(r.models) == len(list_models())
    text = doctor.format_report(r)
    for version in (r.versions["torch"], r.versions["qt"], r.versions["opencv"], platform.python_version()):
        assert version in text
    json.dumps(r.to_dict())  # everything in the report is JSON-able


def test_collect_runs_with_qt_blocked():
    """The doctor reports the Qt version from metadata: it must work where PySide6 cannot be imported."""
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'shiboken6', 'qtawesome'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from htrgui.core.doctor import collect\n"
        "r = collect(measure=False)\n"
        "assert r.versions['qt'], r.versions\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_measured_speed_is_consistent():
    items = list(measure_speed(config="tiny", seconds=0.0, batch=2, train_batch=2, width=96, finetune_lines=40,
                               finetune_epochs=5))
    progress = [i for i in items if isinstance(i, Progress)]
    estimate = items[-1]
    assert isinstance(estimate, doctor.SpeedEstimate)
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[-1].done == progress[-1].total
    assert math.isfinite(estimate.lines_per_s) and estimate.lines_per_s > 0
    assert estimate.train_step_s > 0
    assert estimate.finetune_steps == 100  # 40 lines x 5 passes / 2 lines a step
    assert estimate.finetune_s == pytest.approx(estimate.train_step_s * 100)
    assert estimate.page_s == pytest.approx(doctor.LINES_PER_PAGE / estimate.lines_per_s)
    assert (estimate.batch_size, estimate.train_batch_size, estimate.line_width) == (2, 2, 96)
    assert estimate.threads == torch.get_num_threads()
    r = doctor.DoctorReport("0", "py", "os", False, 2, 8.0, {}, None, [], "cpu", speed=estimate)
    tips = " ".join(doctor.advise(r))
    assert f"{estimate.lines_per_s:.1f} lines/s" in tips and "40 corrected lines" in tips


def test_measurement_keeps_the_callers_thread_count():
    """`htrgui finetune --threads 1` measures the speed once before training: the measurement must neither
    change the thread count the fine-tune then trains with nor be filed under another count."""
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        estimate = list(measure_speed(config="tiny", seconds=0.0, batch=2, train_batch=2, width=96))[-1]
        assert torch.get_num_threads() == 1
        assert estimate.threads == 1
    finally:
        torch.set_num_threads(old)


def test_measurement_stops_when_cancelled():
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        list(measure_speed(config="tiny", seconds=0.0, batch=1, train_batch=1, width=64, token=token))


def test_gpu_seen_by_driver_but_not_by_torch_is_reported(tmp_path, monkeypatch):
    """The commonest GPU trouble: an NVIDIA card with a CPU-only torch. The driver's tool is a stand-in here
    (no GPU on this machine); it prints what ``nvidia-smi --query-gpu=... --format=csv,noheader,nounits`` prints."""
    if torch.cuda.is_available():
        pytest.skip("a real CUDA GPU is usable here")
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA GeForce RTX 3060, 12288, 550.54'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    if sys.platform == "win32":
        pytest.skip("shell-script stand-in needs a POSIX shell")
    gpus, _ = doctor.torch_gpus()
    cuda = [g for g in gpus if g.kind == "cuda"]
    assert len(cuda) == 1
    assert cuda[0].name == "NVIDIA GeForce RTX 3060" and cuda[0].memory_gb == pytest.approx(12.0)
    assert cuda[0].driver == "550.54" and not cuda[0].usable
    assert doctor.best_device(gpus) in ("cpu", "mps")
    r = doctor.collect(measure=False)
    assert any("RTX 3060" in tip and "not used" in tip for tip in r.advice)
    assert "(NOT USED)" in doctor.format_report(r)


def test_measures_a_real_model_file(tmp_path):
    from htrgui.core.recognition.checkpoint import save_checkpoint
    from htrgui.core.recognition.codec import Codec
    from htrgui.core.recognition.model import build_model

    codec = Codec.from_texts(["Testament olographe", "Paris, le 3 mai 1915"])
    path = save_checkpoint(tmp_path / "mine.pt", build_model("tiny", codec.num_classes), codec)
    items = list(measure_speed(model=str(path), seconds=0.0, batch=1, train_batch=1, width=64))
    assert items[-1].model == "mine.pt" and items[-1].lines_per_s > 0


def test_a_broken_model_file_is_reported_not_raised(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    r = doctor.collect(True, model=str(bad), seconds=0.0)
    assert r.speed is None and "broken.pt" in r.speed_error
    assert "not measured" in doctor.format_report(r)
    # The command line: JSON on stdout, and exit status 1 so that scripts notice the failed measurement.
    out = subprocess.run([sys.executable, "-m", "htrgui", "doctor", "--json", "--model", str(bad)],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert data["app_version"] == doctor.__version__ and data["versions"]["torch"]
    assert data["speed"] is None and "broken.pt" in data["speed_error"]


def test_cuda_kernel_compatibility_rules():
    """'no kernel image' cases, with arch lists as torch builds report them."""
    cu126 = ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
    assert doctor.cuda_arch_supported((8, 6), cu126)  # RTX 3060: exact match
    assert doctor.cuda_arch_supported((8, 9), cu126)  # RTX 4090: sm_86 code runs on 8.9 (same major)
    assert not doctor.cuda_arch_supported((12, 0), cu126)  # RTX 5090 with an older torch: no kernels
    assert not doctor.cuda_arch_supported((3, 7), cu126)  # Tesla K80: too old
    assert doctor.cuda_arch_supported((12, 0), cu126 + ["compute_90"])  # PTX is compiled by the driver
    assert not doctor.cuda_arch_supported((8, 0), ["sm_86"])  # 8.6 code does not run on 8.0
    assert doctor.cuda_arch_supported((9, 0), ["sm_90a"])


def test_timed_step_follows_the_fine_tuning_recipe():
    from htrgui.core.recognition.model import build_model
    from htrgui.core.speedtest import finetune_recipe
    from htrgui.core.training.trainer import TrainConfig

    columns, frozen = finetune_recipe()
    assert columns == TrainConfig().batch_columns
    net = build_model("tiny")
    fixed = {id(p) for p in frozen(net)}
    assert 0 < len(fixed) < len(list(net.parameters()))
    assert all(id(p) not in fixed for p in net.head.parameters())  # the head always learns


def test_models_are_listed_and_a_missing_default_is_explained(tmp_path):
    """HTRGUI_HOME is a fresh folder per test: a user model put there is found; the default's absence (before
    a model ships) or presence is reported as it is."""
    from htrgui.core.paths import user_models_dir
    from htrgui.core.recognition.checkpoint import save_checkpoint
    from htrgui.core.recognition.codec import Codec
    from htrgui.core.recognition.library import default_model_path
    from htrgui.core.recognition.model import build_model

    codec = Codec.from_texts(["abc"])
    save_checkpoint(user_models_dir() / "my-finetune.pt", build_model("tiny", codec.num_classes), codec)
    r = doctor.collect(measure=False)
    assert "my-finetune (user)" in r.models
    try:
        default_model_path()
        shipped = True
    except Exception:  # noqa: BLE001 - ModelError: nothing shipped yet
        shipped = False
    assert any("default" in m for m in r.models) == shipped
    assert any("default recognition model is not installed" in t for t in r.advice) == (not shipped)
    assert "my-finetune (user)" in doctor.format_report(r)


@pytest.mark.slow
def test_report_times_a_whole_page_through_segmentation_and_recognition():
    """The per-page figure is the pipeline on a page (segmentation, line crops, recognition with the app's
    decoding), not lines/s times 30: it is in the report, the JSON and the advice."""
    from htrgui.core.speedtest import LINES_PER_PAGE, SAMPLE_PAGE_SIZE

    r = doctor.collect(measure=True, seconds=0.0)
    assert r.speed is not None and r.speed_error == ""
    page = r.page
    assert page is not None and page.page == "rendered"
    assert (page.width, page.height) == SAMPLE_PAGE_SIZE
    assert abs(page.lines - LINES_PER_PAGE) <= 2  # the segmentation found the rendered lines
    assert page.segment_s > 0 and page.recognise_s > 0
    assert page.seconds == pytest.approx(page.segment_s + page.recognise_s)
    if any("default" in m for m in r.models):  # the shipped model has its language model beside it
        assert page.decoding.startswith("beam") and page.model == "htrconvtext-small.pt"
    assert json.loads(json.dumps(r.to_dict()))["page"]["seconds"] == page.seconds
    text = doctor.format_report(r)
    assert f"a page      {page.seconds:.1f} s: segmentation" in text
    assert any(f"a page of {page.lines} lines in about" in tip for tip in r.advice), r.advice


@pytest.mark.slow
def test_page_timing_on_a_real_scan(shared_data):
    """Given a real scan, the same timing runs on it and reads its lines (the segmentation splits some of
    this will's long lines: 16 found for 11 in the ground truth)."""
    import numpy as np
    from PIL import Image

    from htrgui.core.io import read_document
    from htrgui.core.speedtest import PageTiming, measure_page

    stem = shared_data / "poilus/batch-2/TestamentsDePoilus_will_AN_0183-0"
    gray = np.asarray(Image.open(stem.with_suffix(".jpg")).convert("L"))
    truth = sum(len(region.lines) for region in read_document(stem.with_suffix(".xml")).regions)
    (timing,) = [t for t in measure_page(config="tiny", model=None, image=gray) if isinstance(t, PageTiming)]
    assert timing.page == "given" and (timing.height, timing.width) == gray.shape
    assert truth // 2 <= timing.lines <= truth * 2, (timing.lines, truth)
