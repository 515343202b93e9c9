"""The headless core and the command line must never import Qt."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import htrgui.core


def test_core_and_cli_import_without_qt():
    modules = [m.name for m in pkgutil.walk_packages(htrgui.core.__path__, prefix="htrgui.core.")]
    code = (
        "import sys, importlib\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'qtawesome', 'shiboken6'):\n"
        "            raise ImportError('Qt is forbidden in the core: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r} + ['htrgui.cli']:\n"
        "    importlib.import_module(m)\n"
        "from htrgui.cli import build_parser\n"
        "build_parser()\n"
        "assert not [m for m in sys.modules if m.startswith('PySide6')]\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
