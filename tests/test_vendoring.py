"""Vendoring into a firmware image (README, issue 18): the driver runs from a pruned copy.

The copy holds what the README says to copy - ``reolink/`` without ``emulator/`` and ``cli/``,
``transports/``, attrs (``attr/`` + ``attrs/``) and tenacity - and no urllib3 (optional: the
stdlib transport takes over). It runs under ``python -S`` (no site-packages), against the
emulator served on loopback from the full tree in this process: connect, a poll, a command, a
lost reply's back-off (the one place tenacity is imported), disconnect.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict

import attr
import attrs
import tenacity
from conftest import CLI_TIMEOUT, ROOT, reaped

from reolink.emulator import Emulator, Fault

PASSWORD = "Vendor-pw-62"
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "emulator", "cli")


def prune_copy(target: Path) -> Dict[str, int]:
    """The README's copy; returns the bytes of each top-level package copied."""
    sources = {
        "reolink": ROOT / "reolink",
        "transports": ROOT / "transports",
        "attr": Path(attr.__file__).parent,
        "attrs": Path(attrs.__file__).parent,
        "tenacity": Path(tenacity.__file__).parent,
    }
    sizes = {}
    for name, source in sources.items():
        shutil.copytree(source, target / name, ignore=_SKIP)
        sizes[name] = sum(p.stat().st_size for p in (target / name).rglob("*") if p.is_file())
    return sizes


SCRIPT = r"""
import json, sys
from reolink import ReolinkDriver
port = int(sys.argv[1])
events = []
driver = ReolinkDriver(
    {"ip": "127.0.0.1", "port": str(port), "username": "admin", "password": sys.argv[2],
     "request_timeout": "2000", "push": "off"},
    {"0": {}}, events.append,
)
online = driver.connect()
motion = driver.command("get_motion", {"address": "0"})
print(json.dumps({"ready": True}), flush=True)
sys.stdin.readline()  # the test drops the next request: a transport failure, then a back-off
try:
    driver.command("get_motion", {"address": "0"})
except Exception as error:
    failed = type(error).__name__
driver.disconnect()
roots = {m.split(".")[0] for m in sys.modules}
files = [getattr(sys.modules[m], "__file__", None) or "" for m in ("reolink", "transports",
         "attr", "attrs", "tenacity")]
print(json.dumps({
    "online": online, "motion": motion, "failed": failed,
    "names": sorted({e.name for e in events}),
    "urllib3": "urllib3" in roots, "emulator": "reolink.emulator" in sys.modules,
    "cli": "reolink.cli" in sys.modules, "tenacity": "tenacity" in roots, "files": files,
    "no_site": bool(sys.flags.no_site),
}))
"""


def test_the_driver_runs_from_a_pruned_copy_with_python_s(tmp_path: Path) -> None:
    sizes = prune_copy(tmp_path)
    assert not (tmp_path / "reolink" / "emulator").exists()
    assert not (tmp_path / "reolink" / "cli").exists()
    assert not (tmp_path / "urllib3").exists()
    (tmp_path / "run_driver.py").write_text(SCRIPT, encoding="utf-8")
    with Emulator(profile="camera", password=PASSWORD) as camera:
        proc = subprocess.Popen(
            [sys.executable, "-S", "-E", "run_driver.py", str(camera.port), PASSWORD],
            cwd=tmp_path,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        )
        with reaped(proc):
            assert proc.stdout is not None and proc.stdin is not None
            ready = proc.stdout.readline()
            assert ready, proc.communicate(timeout=CLI_TIMEOUT)[1]
            camera.add_fault(Fault("drop", count=4))
            out, err = proc.communicate("go\n", timeout=CLI_TIMEOUT)
    assert proc.returncode == 0, err
    result = json.loads(out.splitlines()[-1])
    assert result["online"] is True and result["motion"] == {"channel": 0, "motion": False}
    assert result["failed"] in ("TransportProtocolError", "TransportError", "Timeout")
    assert {"online", "motion", "model"} <= set(result["names"])
    assert result["no_site"] and not result["urllib3"]
    assert not result["emulator"] and not result["cli"]
    assert result["tenacity"]  # the back-off after the dropped request is tenacity's
    assert all(f.startswith(str(tmp_path)) for f in result["files"]), result["files"]
    assert sizes["reolink"] < 600_000, sizes  # the README's figure is measured, this a guard
