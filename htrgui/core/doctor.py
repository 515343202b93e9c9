"""``htrgui doctor``: what this machine has, and how fast recognition and fine-tuning will be on it.

Archivists do not read CUDA error messages: the doctor names the libraries, the GPU (or why it is not used)
and gives a *measured* estimate of recognition speed (lines per second, and a whole page through segmentation and
recognition) and fine-tuning time, so that "training on this laptop takes about 40 minutes" is known before one
starts. The GUI shows the same report.

Nothing here imports Qt: the Qt version is read from the installed package's metadata.
The measurement uses the shipped default model when there is one, else a randomly initialised model of the
``small`` configuration (same architecture, same cost per line: weights do not change the speed).
"""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Iterator

from htrgui import __version__
from htrgui.core.progress import CancelToken, Progress
from htrgui.core.speedtest import (LINES_PER_PAGE, PageTiming, SpeedEstimate, measure_page, measure_speed,
                                  save_estimate)

#: Libraries reported: key in the JSON -> (name shown, distributions it may be installed as, first found wins).
PACKAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "torch": ("torch", ("torch",)),
    "qt": ("Qt/PySide6", ("PySide6-Essentials", "PySide6")),
    "opencv": ("OpenCV", ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless",
                          "opencv-contrib-python")),
    "numpy": ("numpy", ("numpy",)),
    "pillow": ("Pillow", ("pillow", "Pillow")),
    "pypdfium2": ("pypdfium2", ("pypdfium2",)),
}


@dataclass
class GpuInfo:
    """One accelerator. ``usable`` is False when it is present but this torch build cannot run on it."""

    kind: str  # "cuda" or "mps"
    name: str
    memory_gb: float | None = None
    capability: str = ""  # CUDA compute capability, e.g. "8.6"
    driver: str = ""
    usable: bool = True
    note: str = ""


@dataclass
class DoctorReport:
    """Everything ``htrgui doctor`` prints. ``to_dict`` gives the JSON of ``--json``."""

    app_version: str
    python: str
    platform: str
    frozen: bool
    cpu_count: int | None
    memory_gb: float | None
    versions: dict[str, str | None]
    torch_cuda: str | None
    gpus: list[GpuInfo]
    device: str
    speed: SpeedEstimate | None = None
    #: A page through segmentation and recognition, timed here (``measure_page``).
    page: PageTiming | None = None
    #: Models found: "name (shipped)" / "name (user)"; the shipped default is marked "default".
    models: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    #: Why the speed was not measured (model missing, measurement failed), empty when it was or was not asked.
    speed_error: str = ""

    def to_dict(self) -> dict:
        out = asdict(self)
        if self.speed is not None:
            out["speed"]["page_s"] = self.speed.page_s
        return out


def package_version(names: tuple[str, ...]) -> str | None:
    """Version of the first installed distribution among ``names`` (metadata only: nothing is imported)."""
    for name in names:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            continue
    return None


def memory_gb() -> float | None:
    """Physical memory of the machine in GB, None where the OS does not say."""
    try:
        if sys.platform == "win32":
            import ctypes

            class _Status(ctypes.Structure):
                _fields_ = [("length", ctypes.c_ulong), ("load", ctypes.c_ulong), ("total", ctypes.c_ulonglong),
                            ("avail", ctypes.c_ulonglong), ("page_total", ctypes.c_ulonglong),
                            ("page_avail", ctypes.c_ulonglong), ("virt_total", ctypes.c_ulonglong),
                            ("virt_avail", ctypes.c_ulonglong), ("ext", ctypes.c_ulonglong)]

            status = _Status()
            status.length = ctypes.sizeof(_Status)
            ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status))  # type: ignore[attr-defined]
            return status.total / 1e9
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):
        return None


def nvidia_smi_gpus() -> list[GpuInfo]:
    """NVIDIA GPUs the driver sees, whatever torch was built for (finds 'GPU present, CPU-only torch')."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for row in out.strip().splitlines():
        parts = [p.strip() for p in row.split(",")]
        if len(parts) == 3:
            mem = float(parts[1]) / 1024 if parts[1].replace(".", "", 1).isdigit() else None
            gpus.append(GpuInfo(kind="cuda", name=parts[0], memory_gb=mem, driver=parts[2]))
    return gpus


def cuda_arch_supported(capability: tuple[int, int], arch_list: list[str] | set[str]) -> bool:
    """Whether torch's compiled kernels (``torch.cuda.get_arch_list()``) run on a card of this capability.

    Machine code for ``sm_XY`` runs on any card of the same major version X with minor >= Y; PTX
    (``compute_XY``) is compiled by the driver for any card of capability >= XY.
    """
    major, minor = capability
    for arch in arch_list:
        kind, _, num = arch.partition("_")
        digits = "".join(ch for ch in num if ch.isdigit())  # "sm_90a" -> "90"
        if len(digits) < 2:
            continue
        a_major, a_minor = int(digits[:-1]), int(digits[-1])
        if kind == "sm" and a_major == major and a_minor <= minor:
            return True
        if kind == "compute" and (a_major, a_minor) <= (major, minor):
            return True
    return False


def torch_gpus() -> tuple[list[GpuInfo], str | None]:
    """Accelerators torch can use, plus NVIDIA GPUs it cannot (CPU-only build, too old a card)."""
    import torch

    found: list[GpuInfo] = []
    smi = nvidia_smi_gpus()
    hip = getattr(torch.version, "hip", None)  # AMD GPUs on a ROCm build of torch show up as "cuda" devices
    if torch.cuda.is_available():
        arch = set() if hip else set(torch.cuda.get_arch_list())  # ROCm lists gfx targets, not sm_XY
        for i in range(torch.cuda.device_count()):
            prop = torch.cuda.get_device_properties(i)
            cap = f"{prop.major}.{prop.minor}"
            gpu = GpuInfo(kind="cuda", name=prop.name, memory_gb=prop.total_memory / 1e9, capability=cap,
                          driver=smi[i].driver if i < len(smi) else "", note=f"ROCm {hip}" if hip else "")
            # A card newer or older than the kernels compiled into torch fails with "no kernel image".
            if arch and not cuda_arch_supported((prop.major, prop.minor), arch):
                gpu.usable = False
                gpu.note = f"this torch has no kernels for compute capability {cap} (it has {', '.join(sorted(arch))})"
            found.append(gpu)
    else:
        for gpu in smi:
            gpu.usable = False
            gpu.note = ("this build of torch is CPU-only: install the CUDA variant to use this GPU"
                        if torch.version.cuda is None else "torch cannot reach the CUDA driver (driver too old?)")
            found.append(gpu)
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append(GpuInfo(kind="mps", name=f"Apple GPU ({platform.machine()})", memory_gb=memory_gb(),
                             note="shares the machine's memory"))
    return found, torch.version.cuda


def installed_models() -> list[str]:
    """The models the app can use, shipped ones first, the default marked (empty when none is installed)."""
    from htrgui.core.recognition.library import DEFAULT_MODEL, list_models

    return [f"{e.name} ({e.origin}{', default' if e.origin == 'shipped' and e.path.name == DEFAULT_MODEL else ''})"
            for e in list_models()]


def best_device(gpus: list[GpuInfo]) -> str:
    """The device the app will use: a usable CUDA GPU, else Apple's MPS, else the CPU."""
    for kind in ("cuda", "mps"):
        if any(g.kind == kind and g.usable for g in gpus):
            return kind
    return "cpu"


def advise(report: DoctorReport) -> list[str]:
    """Plain-language consequences of the report for an archivist."""
    tips = []
    for gpu in report.gpus:
        if not gpu.usable:
            tips.append(f"GPU {gpu.name} is present but not used: {gpu.note}.")
    if report.device == "cpu" and not report.gpus:
        tips.append("No GPU found: recognition and fine-tuning run on the CPU (slower, but everything works).")
    if not any("default" in m for m in report.models):
        tips.append("The default recognition model is not installed: recognising needs a model "
                    "(htrgui models list; a fine-tuned or imported model works too).")
    if report.memory_gb is not None and report.memory_gb < 4:
        tips.append(f"Only {report.memory_gb:.1f} GB of memory: close other programs before fine-tuning.")
    speed = report.speed
    page = report.page
    if page is not None:
        tips.append(f"Recognition: a page of {page.lines} lines in about {_duration(page.seconds)} "
                    f"(finding the lines and reading them).")
    elif speed is not None:
        tips.append(f"Recognition: about {speed.lines_per_s:.1f} lines/s, a {LINES_PER_PAGE}-line page in about "
                    f"{_duration(speed.page_s)} (reading the lines only).")
    if speed is not None:
        tips.append(f"Fine-tuning on about {speed.finetune_lines} corrected lines (some 20 pages), "
                    f"{speed.finetune_epochs} passes: about {_duration(speed.finetune_s)}.")
    return tips


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def check(measure: bool = True, *, model: str | None = None, device: str | None = None,
          config: str = "small", seconds: float = 3.0, token: CancelToken | None = None
          ) -> Iterator[Progress | DoctorReport]:
    """Collect the report, yielding :class:`Progress` while measuring, and the :class:`DoctorReport` last.

    ``model``: name or path of the model to time (default: the shipped default, else a random ``config`` model).
    ``device``: ``cpu``/``cuda``/``mps`` to time on (default: the one the app would use).
    ``seconds``: time budget for each of the two timings (recognition, training step) after a warm-up.
    """
    import torch

    gpus, torch_cuda = torch_gpus()
    versions = {key: package_version(names) for key, (_, names) in PACKAGES.items()}
    if versions["torch"] is None:
        versions["torch"] = torch.__version__  # frozen builds may lack the metadata
    report = DoctorReport(
        app_version=__version__,
        python=f"{platform.python_implementation()} {platform.python_version()}",
        platform=f"{platform.system()} {platform.release()} ({platform.machine()})",
        frozen=bool(getattr(sys, "frozen", False)),
        cpu_count=os.cpu_count(),
        memory_gb=memory_gb(),
        versions=versions,
        torch_cuda=torch_cuda,
        gpus=gpus,
        device=best_device(gpus),
        models=installed_models(),
    )
    if measure:

        try:
            for item in measure_speed(model=model, device=device or report.device, config=config,
                                      seconds=seconds, token=token):
                if isinstance(item, Progress):
                    yield item
                else:
                    report.speed = item
                    save_estimate(item)  # what the fine-tune's duration estimate starts from
        except Exception as exc:  # noqa: BLE001 - the report must still come out, saying what failed
            from htrgui.core.errors import Cancelled

            if isinstance(exc, Cancelled):
                raise
            report.speed_error = f"{type(exc).__name__}: {exc}"
        if report.speed is not None:  # the same model and device: a failure above would fail here too
            try:
                for item in measure_page(model=model, device=device or report.device, config=config, token=token):
                    if isinstance(item, Progress):
                        yield item
                    else:
                        report.page = item
            except Exception as exc:  # noqa: BLE001 - as above
                from htrgui.core.errors import Cancelled

                if isinstance(exc, Cancelled):
                    raise
                report.speed_error = f"timing a page: {type(exc).__name__}: {exc}"
    report.advice = advise(report)
    yield report


def collect(measure: bool = True, **kwargs) -> DoctorReport:
    """The report, measured or not (see :func:`check` for the options). Blocks while measuring."""
    report = None
    for item in check(measure, **kwargs):
        if isinstance(item, DoctorReport):
            report = item
    assert report is not None
    return report


def format_report(r: DoctorReport) -> str:
    """The report as text for a terminal or a dialog."""
    lines = [f"htrgui {r.app_version}{' (installed build)' if r.frozen else ''}",
             f"  {'Python':<11} {r.python}",
             f"  {'System':<11} {r.platform}, {r.cpu_count or '?'} CPU threads"
             + (f", {r.memory_gb:.1f} GB memory" if r.memory_gb else "")]
    for key, version in r.versions.items():
        label = PACKAGES[key][0] if key in PACKAGES else key
        lines.append(f"  {label:<11} {version or 'NOT INSTALLED'}")
    lines.append(f"  {'torch CUDA':<11} {r.torch_cuda or 'none (CPU build)'}")
    lines.append("GPU")
    if not r.gpus:
        lines.append("  none found")
    for g in r.gpus:
        mem = f", {g.memory_gb:.1f} GB" if g.memory_gb else ""
        extra = "".join(f", {k} {v}" for k, v in (("compute", g.capability), ("driver", g.driver)) if v)
        lines.append(f"  {g.kind.upper()}: {g.name}{mem}{extra}{'' if g.usable else ' (NOT USED)'}")
    lines.append(f"  the app will compute on: {r.device}")
    lines.append("Models")
    lines += [f"  {m}" for m in r.models] or ["  none installed"]
    if r.speed is not None:
        s = r.speed
        lines += ["Speed (measured here)",
                  f"  model       {s.model} on {s.device}, {s.threads} threads",
                  f"  recognition {s.lines_per_s:.2f} lines/s ({s.batch_size} lines of 64x{s.line_width} a batch)",
                  f"  fine-tuning {s.train_step_s:.2f} s a step ({s.train_batch_size} lines), "
                  f"{s.finetune_steps} steps ~ {_duration(s.finetune_s)}"
                  f" ({s.finetune_lines} lines x {s.finetune_epochs} passes)"]
    if r.page is not None:
        p = r.page
        lines.append(f"  a page      {p.seconds:.1f} s: segmentation {p.segment_s:.1f} s, recognition "
                     f"{p.recognise_s:.1f} s ({p.lines} lines found on a {p.page} {p.width}x{p.height} page, "
                     f"{p.decoding})")
    if r.speed_error and r.speed is None:
        lines += ["Speed", f"  not measured: {r.speed_error}"]
    elif r.speed_error:
        lines.append(f"  a page      not measured: {r.speed_error}")
    if r.advice:
        lines.append("What to expect")
        lines += [f"  - {tip}" for tip in r.advice]
    return "\n".join(lines)
