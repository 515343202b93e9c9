"""What goes into the frozen application and what is cut out: shared by ``htrgui.spec`` and the tests.

Kept as plain data and small pure functions so that a test can check it against the source tree (a Qt module
the GUI imports must never be on the exclude list) without running PyInstaller.
"""

from __future__ import annotations

import fnmatch
import platform
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APP_NAME = "htrgui"
DISPLAY_NAME = "htrgui"
BUNDLE_ID = "org.htrgui.htrgui"

#: Python modules never needed at run time: test and dev tools, notebooks, plotting, other GUI toolkits.
EXCLUDED_MODULES = [
    "tkinter", "_tkinter", "matplotlib", "IPython", "ipykernel", "jupyter_client", "notebook", "pandas", "scipy",
    "pytest", "_pytest", "pytestqt", "pytest_timeout", "lxml", "setuptools", "pip", "wheel", "PyInstaller",
    "triton", "torchvision", "torchaudio", "tensorboard", "onnx", "onnxruntime", "PyQt5", "PyQt6", "PySide2",
    # Reached only through torch's test helpers, torch.compile code generation, hub downloads and distributed
    # checkpoints, none of which the app uses (checked: import torch, train with AdamW, save and load, run
    # doctor with all of these absent). Together ~40 MB.
    "hypothesis", "_hypothesis_ftz_detector", "_hypothesis_globals", "sortedcontainers", "attr", "attrs",
    "cryptography", "requests", "urllib3", "charset_normalizer", "idna", "fsspec", "jinja2", "markupsafe",
    "networkx", "pydoc_data", "xmlrpc", "rich", "pygments", "tqdm", "psutil",
]

#: Qt modules the app does not use (PyInstaller's Qt hooks also pull in their plugins and QML files).
EXCLUDED_QT_MODULES = [
    "PySide6.Qt3DAnimation", "PySide6.Qt3DCore", "PySide6.Qt3DExtras", "PySide6.Qt3DInput", "PySide6.Qt3DLogic",
    "PySide6.Qt3DRender", "PySide6.QtBluetooth", "PySide6.QtCharts", "PySide6.QtDataVisualization",
    "PySide6.QtDesigner", "PySide6.QtHelp", "PySide6.QtLocation", "PySide6.QtMultimedia",
    "PySide6.QtMultimediaWidgets", "PySide6.QtNetworkAuth", "PySide6.QtNfc", "PySide6.QtPositioning",
    "PySide6.QtQml", "PySide6.QtQuick", "PySide6.QtQuick3D", "PySide6.QtQuickControls2", "PySide6.QtQuickWidgets",
    "PySide6.QtRemoteObjects", "PySide6.QtScxml", "PySide6.QtSensors", "PySide6.QtSerialBus",
    "PySide6.QtSerialPort", "PySide6.QtSpatialAudio", "PySide6.QtSql", "PySide6.QtStateMachine",
    "PySide6.QtTest", "PySide6.QtTextToSpeech", "PySide6.QtUiTools", "PySide6.QtWebChannel",
    "PySide6.QtWebEngineCore", "PySide6.QtWebEngineQuick", "PySide6.QtWebEngineWidgets", "PySide6.QtWebSockets",
    "PySide6.QtXml",
    # pulled in only by optional imports (PySide6's SSL probe, qtpy's QOpenGL* re-exports, both guarded by
    # try/except ImportError): the app draws with QPainter and never opens a network connection
    "PySide6.QtNetwork", "PySide6.QtOpenGL", "PySide6.QtOpenGLWidgets",
]

#: Collected files to drop, as glob patterns on their path inside the bundle. Each saves megabytes and none is
#: loaded by the app: C++ headers and static libraries, torch's own test binaries, Qt translations (the UI is
#: English), Qt's QML tooling, and the CUDA libraries of a CPU build.
PRUNE_PATTERNS = [
    # torch/bin: test programs and protoc go, torch_shm_manager stays (``import torch`` checks it exists).
    "torch/include/*", "torch/share/*", "torch/test/*", "torch/bin/*Test", "torch/bin/test_*", "torch/bin/protoc*",
    "torch/bin/*.ptl", "torch/lib/*.a", "torch/lib/*.lib",
    "torch/lib/*test*", "torch/lib/libbackend_with_compiler*", "torch/lib/libaoti_custom_ops*",
    "torch/lib/*/libshm_windows*", "torch/testing/_internal/data/*", "torch/utils/benchmark/*",
    "torch/_inductor/codegen/*.cpp", "torch/_inductor/kernel/flex/templates/*",
    "caffe2/*", "*.pyi", "*/__pycache__/*",
    "PySide6/Qt/translations/*", "PySide6/Qt/qml/*", "PySide6/Qt/plugins/qmltooling/*",
    "PySide6/Qt/plugins/designer/*", "PySide6/Qt/plugins/sqldrivers/*", "PySide6/Qt/plugins/printsupport/*",
    "PySide6/include/*", "PySide6/typesystems/*", "PySide6/glue/*", "PySide6/scripts/*",
    # Qt on embedded framebuffers, not desktops; and the GTK theme plugin, which would load the desktop's GTK
    # against the GLib/cairo copies bundled here (a classic crash): Qt's own file dialogs are used instead.
    "PySide6/Qt/plugins/platforms/libqeglfs*", "PySide6/Qt/plugins/platforms/libqlinuxfb*",
    "PySide6/Qt/plugins/platforms/libqvnc*", "PySide6/Qt/plugins/platforms/libqvkkhrdisplay*",
    "PySide6/Qt/plugins/platforms/libqminimalegl*", "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/platformthemes/libqgtk3*", "*libQt6EglFSDeviceIntegration*", "*libQt6EglFsKmsSupport*",
    "libgtk-3*", "libgdk-3*", "libatk-*", "libatk-bridge*", "libcairo*", "libgdk_pixbuf*", "libpango*",
    "libthai*", "libdatrie*", "libpixman*", "libfribidi*", "libgraphite2*", "libharfbuzz.so*",
    "cv2/data/*.xml",
]
#: Extra patterns for the default CPU build: a CUDA library found there means the wrong torch was installed.
CUDA_PATTERNS = ["nvidia/*", "*libcudnn*", "*libcublas*", "*libnccl*", "*cudart*", "*libcufft*", "*libcusparse*",
                 "*libcusolver*", "*libcurand*", "*libnvrtc*", "*libnvJitLink*", "triton/*"]

#: Distributions whose metadata the app reads at run time (``htrgui doctor`` reports their versions).
METADATA_PACKAGES = ["torch", "PySide6-Essentials", "shiboken6", "opencv-python-headless", "numpy", "pillow",
                     "pypdfium2", "qtawesome", "platformdirs", "defusedxml"]


def app_version() -> str:
    """The version in ``htrgui/__init__.py``, read without importing the package."""
    text = (REPO / "htrgui" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    if not match:
        raise SystemExit("htrgui/__init__.py has no __version__")
    return match.group(1)


def platform_tag() -> str:
    """``linux-x86_64``, ``windows-x64``, ``macos-arm64`` ...: the part of artefact names naming the target."""
    machine = platform.machine().lower()
    machine = {"amd64": "x64", "x86_64": "x86_64" if sys.platform.startswith("linux") else "x64",
               "aarch64": "arm64"}.get(machine, machine)
    system = {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux" if sys.platform.startswith("linux")
                                                          else sys.platform)
    if system == "windows" and machine == "x86_64":
        machine = "x64"
    return f"{system}-{machine}"


def artefact_name(variant: str = "cpu", version: str | None = None, tag: str | None = None) -> str:
    """Versioned base name of a build, e.g. ``htrgui-0.1.0-linux-x86_64-cpu``; the extension is added later."""
    return f"{APP_NAME}-{version or app_version()}-{tag or platform_tag()}-{variant}"


#: Build variants: ``cpu`` (default; Linux and Windows), ``cuda`` (NVIDIA GPUs), ``mps`` (macOS on Apple Silicon,
#: whose torch runs on the CPU or the Apple GPU).
VARIANTS = ("cpu", "cuda", "mps")


def prune_patterns(variant: str) -> list[str]:
    """What to cut from a build of ``variant``: CUDA libraries go from every build but the CUDA one."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown build variant {variant!r}, expected one of {VARIANTS}")
    return PRUNE_PATTERNS + ([] if variant == "cuda" else CUDA_PATTERNS)


def is_pruned(dest: str, patterns: list[str]) -> bool:
    """True when a bundle path matches a pattern (slashes normalised: PyInstaller uses os.sep on Windows)."""
    dest = dest.replace("\\", "/")
    return any(fnmatch.fnmatchcase(dest, p) for p in patterns)


def prune(toc: list, patterns: list[str]) -> list:
    """The TOC entries (dest, src, kind) whose destination no pattern matches."""
    return [entry for entry in toc if not is_pruned(entry[0], patterns)]


def datas() -> list[tuple[str, str]]:
    """Resources and shipped models: (source, folder in the bundle). Model cards travel with the weights."""
    out = []
    for folder in ("resources", "models"):
        path = REPO / folder
        if path.is_dir() and any(p.is_file() for p in path.rglob("*")):
            out.append((str(path), folder))
    return out
