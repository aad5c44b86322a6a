"""The protocol layer does no I/O: no module under reolink/protocol imports a networking,
threading, clock or randomness module, or the transports package."""

from __future__ import annotations

import ast
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import reolink.protocol

PROTOCOL = Path(reolink.protocol.__file__).parent
FORBIDDEN = {
    "urllib3", "socket", "ssl", "http", "threading", "time", "random", "asyncio", "transports",
    "selectors", "subprocess", "requests", "concurrent", "_thread",
}
MODULES = sorted(PROTOCOL.rglob("*.py"))


@functools.cache
def _parse_text(text: str, filename: str) -> ast.Module:
    return ast.parse(text, filename=filename)


def parse(path: Path) -> ast.Module:
    """``path``'s syntax tree, parsed once per content for the whole module (the checks below
    walk the same sources again and again; a tree is only read, never changed)."""
    return _parse_text(path.read_text(encoding="utf-8"), str(path))


def imported_roots(path: Path) -> set[str]:
    """Top-level names of everything ``path`` imports (absolute or relative)."""
    tree = parse(path)
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


# ---------------------------------------------------------------------- import graph
ROOT = PROTOCOL.parent.parent
PACKAGES = ("reolink", "transports")

#: Known cycles that another change is about to remove: each entry is one (importer, imported)
#: edge left out of the graph, with a comment naming the change; delete it once that landed.
#: (The driver's device <-> actions cycle was the last one; the driver core removed it.)
ALLOWED_EDGES: set[tuple[str, str]] = set()


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of our packages by dotted name (a package is named by its ``__init__``)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def _imports(module: str, path: Path, known: dict[str, Path], eager: bool = False) -> set[str]:
    """Our modules named by the imports in ``path``: everywhere (module level, ``if
    TYPE_CHECKING``, inside functions), or with ``eager`` only what runs when the module loads
    (not in functions, classes or ``if TYPE_CHECKING`` blocks)."""
    tree = parse(path)
    if eager:
        tree = ast.Module(body=[n for n in tree.body if not _deferred(n)], type_ignores=[])
    package = module if _is_package(path) else module.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:  # relative: up level-1 packages from this module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            # "from pkg import mod" names the submodule pkg.mod; any other name is pkg's own
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                named.add(sub if sub in known else source)
    return {name for name in named if name in known and name != module}


def _deferred(node: ast.stmt) -> bool:
    """A module-level statement whose imports do not run at load time."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.If):
        test = node.test
        return getattr(test, "id", getattr(test, "attr", None)) == "TYPE_CHECKING"
    return False


def _load_edges(module: str, target: str, known: dict[str, Path]) -> set[str]:
    """What Python runs when ``module`` imports ``target``: ``target`` itself, and first every
    parent package of it that ``module`` is not inside (a module's own parents are loaded
    before it). A parent loaded that way runs only its module-level code: the node
    ``pkg@load``. ``import pkg`` and ``from pkg import name`` reach all of ``pkg``, including
    what its functions (a lazy module ``__getattr__``) and ``TYPE_CHECKING`` block import."""
    edges = {target}
    parts = target.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        if parent in known and not (module == parent or module.startswith(parent + ".")):
            edges.add(f"{parent}@load")
    return edges


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Module -> the modules Python loads for its imports (see :func:`_load_edges`)."""
    known = module_files(root)
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        nodes = [(module, False)] + ([(f"{module}@load", True)] if _is_package(path) else [])
        for node, eager in nodes:
            graph[node] = set()
            for target in _imports(module, path, known, eager):
                if (module, target) not in ALLOWED_EDGES:
                    graph[node] |= _load_edges(module, target, known)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle as ``[a, b, ..., a]``, or ``[]``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state:
            cycle = visit(start)
            if cycle:
                return cycle
    return []


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_allowed_edges_still_exist() -> None:
    """A stale allow-list entry would hide a future cycle: each must still be a real import."""
    known = module_files()
    for importer, imported in ALLOWED_EDGES:
        assert imported in _imports(importer, known[importer], known), (importer, imported)


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "cycle"),
    [
        pytest.param(  # a TYPE_CHECKING import counts
            {"reolink/__init__.py": "", "reolink/a.py": "from . import b\n",
             "reolink/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                             "    from .a import X\n"},
            ["reolink.a", "reolink.b", "reolink.a"], id="type-checking"),
        pytest.param(  # an import inside a function counts; relative levels resolve
            {"reolink/__init__.py": "", "reolink/p/__init__.py": "",
             "reolink/p/a.py": "def f():\n    from ..q import b\n",
             "reolink/q/__init__.py": "", "reolink/q/b.py": "import reolink.p.a\n"},
            ["reolink.p.a", "reolink.q.b", "reolink.p.a"], id="function-level"),
        pytest.param(  # another package's __init__ runs when one of its modules is imported
            {"reolink/__init__.py": "from .driver import D\n", "reolink/errors.py": "",
             "reolink/driver.py": "import transports\n",
             "transports/__init__.py": "from reolink.errors import E\n"},
            ["reolink.driver", "transports", "reolink@load", "reolink.driver"], id="parent-init"),
    ],
)
def test_cycle_check_finds(tmp_path: Path, files: dict[str, str], cycle: list[str]) -> None:
    assert find_cycle(import_graph(_write(tmp_path, files))) == cycle


def test_cycle_check_passes_a_lazy_facade_and_own_parents(tmp_path: Path) -> None:
    """A package's lazy ``__getattr__`` import runs only when someone asks for the name: an
    importer of ``pkg.errors`` does not run it. A module's own parent package is already
    loaded when the module runs, so ``from reolink.errors import E`` inside reolink is no edge
    to ``reolink``."""
    root = _write(tmp_path, {
        "reolink/__init__.py": "from typing import TYPE_CHECKING\nfrom .errors import E\n"
                               "if TYPE_CHECKING:\n    from .driver import D\n"
                               "def __getattr__(name):\n    from .driver import D\n",
        "reolink/errors.py": "", "reolink/driver.py": "from reolink.errors import E\n"
                                                      "import transports\n",
        "transports/__init__.py": "from reolink.errors import E\n",
    })
    graph = import_graph(root)
    assert find_cycle(graph) == []
    assert graph["reolink"] == {"reolink.errors", "reolink.driver"}
    assert graph["transports"] == {"reolink.errors", "reolink@load"}


# ---------------------------------------------------------------------- import weight
#: Modules ``import reolink.protocol`` must not load. (threading is not on the list: attrs and
#: logging import it themselves; test_no_io_imports keeps it out of our protocol modules.)
HEAVY = ("reolink.driver", "transports", "tenacity", "queue", "concurrent.futures", "socket",
         "ssl", "urllib3", "http.client")


def test_importing_the_protocol_loads_no_driver_transport_or_io() -> None:
    code = ("import sys, json\nimport reolink.protocol\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=60)
    assert json.loads(out.stdout) == []


def test_the_package_facade_still_offers_every_name() -> None:
    code = ("import sys, reolink\nassert 'reolink.driver' not in sys.modules\n"
            "from reolink import ReolinkDriver, AttributeEvent, Timing\n"
            "missing = [n for n in reolink.__all__ if not hasattr(reolink, n)]\n"
            "assert not missing, missing\n"
            "assert ReolinkDriver.__module__ == 'reolink.driver.device'\n"
            "assert set(reolink.__all__) <= set(dir(reolink))\n"
            "try:\n    reolink.NoSuchName\nexcept AttributeError as e:\n    print(e)\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "NoSuchName" in out.stdout


# ---------------------------------------------------------------------- function length
#: Packages whose functions stay under MAX_FUNCTION_LINES.
SHORT_FUNCTION_DIRS = (PROTOCOL, ROOT / "reolink" / "driver", ROOT / "transports")
MAX_FUNCTION_LINES = 60


def long_functions(paths: list[Path]) -> list[str]:
    """``file:function (lines)`` for every function longer than MAX_FUNCTION_LINES."""
    found = []
    for path in paths:
        for node in ast.walk(parse(path)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    found.append(f"{path.name}:{node.name} ({lines})")
    return found


def test_no_long_functions() -> None:
    paths = sorted(p for d in SHORT_FUNCTION_DIRS for p in d.rglob("*.py"))
    assert paths and long_functions(paths) == []


def test_long_function_check_counts_lines(tmp_path: Path) -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    sample = _write(tmp_path, {"m.py": f"def short():\n    pass\n\ndef long():\n{body}"})
    assert long_functions([sample / "m.py"]) == [f"m.py:long ({MAX_FUNCTION_LINES + 1})"]


# ---------------------------------------------------------------------- the pure driver core
#: What the driver core must never reach, directly or through any module it imports: a clock
#: (``time``, ``datetime``), the network, threads, queues, event loops, processes, randomness
#: (``random``, ``secrets``, ``uuid``) or the operating system, nor import anything by a name
#: only known at run time (which this scan could not follow). Time and randomness enter as
#: event values (``now``, ``CommandQueued.nonce``, ``Listening.live``).
CORE = "reolink.driver.core"
CORE_FORBIDDEN = {
    "time", "datetime", "socket", "ssl", "select", "selectors", "threading", "_thread", "queue",
    "asyncio", "concurrent", "multiprocessing", "subprocess", "signal", "random", "secrets",
    "uuid", "os", "importlib", "__import__", "importlib.import_module",
}


def reached_from(start: str, graph: dict[str, set[str]]) -> set[str]:
    """Every module ``start`` loads, transitively (itself included)."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def impure_imports(start: str, root: Path = ROOT) -> dict[str, list[str]]:
    """Module -> the forbidden modules it imports, for every module ``start`` reaches."""
    known = module_files(root)
    bad: dict[str, list[str]] = {}
    for node in reached_from(start, import_graph(root)):
        found = imported_roots(known[node.split("@")[0]]) & CORE_FORBIDDEN
        if found:
            bad[node] = sorted(found)
    return bad


def test_the_core_reaches_no_clock_socket_thread_queue_randomness_or_os() -> None:
    reached = reached_from(CORE, import_graph())
    # The scan covers the core's whole closure: the session, the client, push control...
    assert {"reolink.driver.client", "reolink.protocol.session", "reolink.driver.pushcontrol",
            "reolink.driver.messages"} <= reached
    # ... and never the loop, the facade or the listener (they own threads and sockets).
    assert not reached & {"reolink.driver.loop", "reolink.driver.device", "reolink.push@load",
                          "reolink.push.listener"}
    assert impure_imports(CORE) == {}


def test_core_purity_check_follows_imports_transitively(tmp_path: Path) -> None:
    files = {
        "reolink/__init__.py": "",
        "reolink/driver/__init__.py": "",
        "reolink/driver/core.py": "from . import helper\n",
        "reolink/driver/helper.py": "from ..util import tools\n",
        "reolink/util/__init__.py": "",
        "reolink/util/tools.py": "def f():\n    import secrets\n    return secrets\n",
        "reolink/util/clock.py": "from datetime import datetime\n",
        "reolink/util/late.py": "def g():\n    return __import__('ti' + 'me')\n",
        "transports/__init__.py": "",
    }
    files["reolink/driver/helper.py"] += "from ..util import clock, late\n"
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert impure_imports(CORE, tmp_path) == {
        "reolink.util.tools": ["secrets"],
        "reolink.util.clock": ["datetime"],
        "reolink.util.late": ["__import__"],
    }


# ---------------------------------------------------------------------- names that say where
DRIVER_SIDE = ("reolink/driver", "reolink/protocol", "reolink/push", "reolink/cli", "transports")


def name_clashes(root: Path = ROOT) -> list[str]:
    """Two driver-side modules with one name, or a module named like a package beside it
    (in its own directory or its parent's: ``driver/push.py`` beside ``push/``)."""
    problems: list[str] = []
    owners: dict[str, str] = {}
    for folder in DRIVER_SIDE:
        for path in sorted((root / folder).glob("*.py")):
            name = path.stem
            if name in ("__init__", "__main__"):
                continue
            where = f"{folder}/{path.name}"
            if name in owners:
                problems.append(f"{owners[name]} and {where} share a name")
            owners[name] = where
            for directory in (path.parent, path.parent.parent):
                if (directory / name / "__init__.py").is_file():
                    problems.append(f"{where} is named like the package {directory.name}/{name}")
    return problems


def test_no_two_driver_side_modules_share_a_name() -> None:
    assert name_clashes() == []


def test_name_clash_check_finds_both_kinds(tmp_path: Path) -> None:
    for name in ("reolink/driver/push.py", "reolink/push/__init__.py",
                 "reolink/driver/commands.py", "reolink/protocol/commands.py",
                 "reolink/cli/commands.py", "transports/memory.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    assert sorted(name_clashes(tmp_path)) == [
        "reolink/driver/commands.py and reolink/protocol/commands.py share a name",
        "reolink/driver/push.py is named like the package reolink/push",
        "reolink/protocol/commands.py and reolink/cli/commands.py share a name",
    ]
