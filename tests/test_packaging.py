"""What a packager meets (issue 18): the artifacts are built and inspected, not assumed.

* the distribution is ``reolink-lan-driver`` (``reolink`` and ``transports`` are other projects'
  names on the public index); the import names stay ``reolink`` and ``transports``;
* LICENSE (MIT) is in the repository, the wheel and the sdist; Author and Home-page are set;
* the sdist runs its own test suite as shipped: unpacked, its tests collect with no error, and
  it holds every test file, helper and data file of the tree;
* every install hint names the distribution, never the other projects' names;
* ``transports`` carries the marker ``reolink`` checks: another package of that name is one
  clear PackageClashError (CLI: one line on stderr, exit 1), never an AttributeError.

Building takes about a second (setuptools in this process's environment, no network);
collecting the unpacked sdist (asserts left plain) about three.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import subprocess
import sys
import tarfile
import types
import zipfile
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
from conftest import CLI_TIMEOUT, ROOT, cli_env, reolink_cmd, seed_bytecode_cache

import reolink
from reolink import PackageClashError, ReolinkDriver
from reolink._transports import DISTRIBUTION, load_transports

LICENSE_FIRST_LINE = "MIT License"
#: What a build copies (the tree's own files, not venvs, caches or earlier builds).
_SKIP = shutil.ignore_patterns(
    ".git", ".venv*", ".ci-venv*", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis",
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """sdist and wheel built from a copy of the tree (the tree itself is left untouched)."""
    base = tmp_path_factory.mktemp("build")
    source, out = base / "src", base / "dist"
    shutil.copytree(ROOT, source, ignore=_SKIP)
    out.mkdir()
    script = (
        "import sys; from setuptools import build_meta as b; "
        "out = sys.argv[1]; s = b.build_sdist(out); w = b.build_wheel(out); print('BUILT', s, w)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        cwd=source, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    _, sdist_name, wheel_name = result.stdout.strip().splitlines()[-1].split()
    return {"sdist": out / sdist_name, "wheel": out / wheel_name, "base": base}


def test_the_repository_has_the_mit_license() -> None:
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith(LICENSE_FIRST_LINE) and "Permission is hereby granted" in text


def test_wheel_has_license_metadata_and_only_our_two_packages(built: Dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = wheel.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
        license_text = wheel.read(f"{info}/LICENSE").decode()
        marker = wheel.read("transports/__init__.py").decode()
    assert built["wheel"].name.startswith("reolink_lan_driver-")
    assert metadata["Name"] == DISTRIBUTION == "reolink-lan-driver"
    assert metadata["License"] == "MIT" and metadata["Author"] and metadata["Home-page"]
    assert "License :: OSI Approved :: MIT License" in metadata.get_all("Classifier")
    assert license_text.startswith(LICENSE_FIRST_LINE)
    top = {n.split("/")[0] for n in names if not n.startswith(info)}
    assert top == {"reolink", "transports"}, top
    assert "__reolink_transports__ = 1" in marker
    requires = metadata.get_all("Requires-Dist")
    assert any(r.startswith("tenacity") for r in requires), requires


def _tracked(folder: str) -> List[str]:
    """The tree's files under ``folder`` (what git tracks, else what is there)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        out = []
    if not out:  # not a git checkout (an unpacked sdist): the files on disk
        out = [
            str(p.relative_to(ROOT)) for p in (ROOT / folder).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        ]
    return sorted(out)


@pytest.fixture(scope="module")
def unpacked(built: Dict[str, Path]) -> Iterator[Path]:
    target = built["base"] / "unpacked"
    with tarfile.open(built["sdist"]) as sdist:
        if hasattr(tarfile, "data_filter"):  # 3.12+ (and security releases before it)
            sdist.extractall(target, filter="data")
        else:
            sdist.extractall(target)
    (root,) = target.iterdir()
    yield root


def test_sdist_ships_the_license_and_everything_its_tests_need(unpacked: Path) -> None:
    assert (unpacked / "LICENSE").read_text(encoding="utf-8").startswith(LICENSE_FIRST_LINE)
    for folder in ("tests", "examples", "benchmarks"):
        missing = [f for f in _tracked(folder) if not (unpacked / f).is_file()]
        assert not missing, f"the sdist lacks {missing}"
    for name in ("README.md", "CHANGELOG.md", "pyproject.toml", "setup.cfg"):
        assert (unpacked / name).is_file(), name
    assert not list(unpacked.rglob("__pycache__"))


def test_sdist_tests_collect_without_error_against_the_sdist_code(unpacked: Path) -> None:
    # Its bytecode (sources at a new path every run) goes beside the build, not into a
    # bytecode cache kept between runs (conftest: REOLINK_TEST_PYCACHE).
    # The installed modules' own bytecode is put there first (only the sdist's is new).
    seed_bytecode_cache(unpacked.parent / "pycache")
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(unpacked.parent / "pycache")}
    where = subprocess.run(
        [sys.executable, "-c", "import reolink, transports; print(reolink.__file__); "
         "print(transports.__file__)"],
        cwd=unpacked, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=True, env=env,
    ).stdout.split()
    assert all(Path(p).is_relative_to(unpacked) for p in where), where
    result = subprocess.run(
        # --assert=plain: importing every test module and collecting every test is the point;
        # rewriting their asserts (most of the collection's time) is shown by every run.
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "--assert=plain"],
        cwd=unpacked, capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False, env=env,
    )
    tail = result.stdout[-1500:]
    assert result.returncode == 0, tail + result.stderr[-1500:]
    last = tail.strip().splitlines()[-1]
    collected = re.fullmatch(r"(\d+) tests? collected in [0-9.]+s", last)
    assert collected and int(collected.group(1)) > 1000, last


# --- install hints name the distribution ---------------------------------------------------------

#: ``pip install [options] reolink[...]`` (or transports): the other projects' names.
_HINT = re.compile(
    r"pip install\s+(?:-\S+\s+)*['\"]?(reolink|transports)(\[[^\]]*\])?['\"]?(?=[\s`)]|$)"
)


def _text_files() -> Iterator[Path]:
    for folder in ("reolink", "transports", "examples", "benchmarks"):
        yield from (ROOT / folder).rglob("*.py")
    yield ROOT / "README.md"


def test_every_install_hint_names_the_distribution() -> None:
    wrong = []
    for path in _text_files():
        for line in path.read_text(encoding="utf-8").splitlines():
            if _HINT.search(line):
                wrong.append(f"{path.relative_to(ROOT)}: {line.strip()}")
    assert not wrong, wrong
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"pip install {DISTRIBUTION}" in readme


# --- another package called transports ----------------------------------------------------------


@pytest.fixture
def foreign_transports(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The other project's ``transports`` (it has no open_transport) in place of ours."""
    fake = types.ModuleType("transports")
    fake.__file__ = "/usr/lib/python3/site-packages/transports/__init__.py"
    fake.VERSION = "0.10.0"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "transports", fake)
    return fake


def test_ours_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_transports()
    assert module.__reolink_transports__ == 1 and callable(module.open_transport)


def test_a_foreign_transports_is_one_clear_error(foreign_transports: types.ModuleType) -> None:
    with pytest.raises(PackageClashError) as info:
        ReolinkDriver({"ip": "127.0.0.1", "username": "admin", "password": "pw-x1"})
    message = str(info.value)
    assert foreign_transports.__file__ in message and "another package" in message
    assert "pip uninstall transports" in message and DISTRIBUTION in message
    assert isinstance(info.value, reolink.ReolinkError) and isinstance(info.value, ImportError)


def test_cli_with_a_foreign_transports_says_one_line_and_exits_1(tmp_path: Path) -> None:
    other = tmp_path / "transports"
    other.mkdir()
    (other / "__init__.py").write_text('VERSION = "0.10.0"  # another project\n')
    result = subprocess.run(
        reolink_cmd("get_dev_info", "--ip", "127.0.0.1", "--port", "9"),
        env=cli_env("pw-x1", {"PYTHONPATH": str(tmp_path)}),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CLI_TIMEOUT,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert str(other / "__init__.py") in lines[0] and "pip uninstall transports" in lines[0]
    assert "Traceback" not in result.stderr and "AttributeError" not in result.stderr
