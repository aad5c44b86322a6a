"""The protocol layer does no I/O: no module under reolink/protocol imports a networking,
threading, clock or randomness module, or the transports package."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import reolink.protocol

PROTOCOL = Path(reolink.protocol.__file__).parent
FORBIDDEN = {
    "urllib3", "socket", "ssl", "http", "threading", "time", "random", "asyncio", "transports",
    "selectors", "subprocess", "requests", "concurrent", "_thread",
}
MODULES = sorted(PROTOCOL.rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    """Top-level names of everything ``path`` imports (absolute or relative)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                roots.add(node.module.split(".")[0])
                # "from urllib import request" style: the imported names count too
                if node.module == "urllib":
                    roots.update(f"urllib.{a.name}" for a in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            roots.add("__import__")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module":
            roots.add("importlib.import_module")
    return roots


def test_protocol_package_has_the_expected_modules() -> None:
    names = {p.name for p in MODULES}
    assert {"codes.py", "envelope.py", "batch.py", "commands.py", "parsers.py", "snap.py",
            "lease.py", "results.py", "__init__.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_io_imports(path: Path) -> None:
    roots = imported_roots(path)
    bad = roots & (FORBIDDEN | {"__import__", "importlib.import_module", "urllib.request"})
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_scanner_catches_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import time\nfrom socket import socket\nfrom transports.x import y\n"
                      "import urllib3.util\nfrom urllib import request\n")
    roots = imported_roots(sample)
    assert {"time", "socket", "transports", "urllib3", "urllib.request"} <= roots
