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


def _import_graph() -> dict[str, set[str]]:
    """Module -> the htrgui modules it imports, function-local imports included (read with ast)."""
    import ast
    from pathlib import Path

    root = Path(htrgui.core.__file__).resolve().parents[1]
    names = {}
    for f in root.rglob("*.py"):
        parts = f.relative_to(root.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    graph: dict[str, set[str]] = {}
    for name, f in names.items():
        package = name if f.name == "__init__.py" else name.rsplit(".", 1)[0]
        out = set()
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + [base]).strip(".")
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    out.add(full if full in names else base)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
        graph[name] = {m for m in out if m in names and m != name}
    return graph


def test_no_import_cycles():
    """No module of htrgui reaches itself through imports (a cycle hides behind function-local imports)."""
    graph = _import_graph()
    assert sum(map(len, graph.values())) > 100
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
