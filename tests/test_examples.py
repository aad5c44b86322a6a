"""examples/*.py, each run in a subprocess against an emulator in this process."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
from conftest import with_sigint_default

from reolink.emulator import Emulator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PASSWORD = "Ex4mple-Pw"
TIMEOUT = 30.0


def env() -> Dict[str, str]:
    return {**os.environ, "REOLINK_PASSWORD": PASSWORD}


def start(script: str, emu: Emulator, *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        with_sigint_default(
            [sys.executable, "-u", str(EXAMPLES / script), "--port", str(emu.port), *argv]
        ),
        env=env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def run(script: str, emu: Emulator, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--port", str(emu.port), *argv],
        env=env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
    )


class Lines:
    """A subprocess's stdout, line by line, waited on with a timeout."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.seen: List[str] = []
        self._queue: queue.Queue[Optional[str]] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(proc,), daemon=True)
        self._thread.start()

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_seen(self, text: str, timeout: float = 10.0) -> str:
        """The first line so far containing ``text``, else the next one (waiting for it)."""
        for line in self.seen:
            if text in line:
                return line
        return self.wait_for(text, timeout)

    def wait_for(self, text: str, timeout: float = 10.0) -> str:
        while True:
            line = self._queue.get(timeout=timeout)
            assert line is not None, f"ended before {text!r}; saw {self.seen}"
            self.seen.append(line)
            if text in line:
                return line


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
    proc.communicate(timeout=TIMEOUT)


@pytest.fixture
def camera() -> Iterator[Emulator]:
    with Emulator(profile="camera", password=PASSWORD) as emu:
        yield emu


def test_minimal_host_sees_changes_and_runs_commands(camera: Emulator) -> None:
    # It would end by itself only long after TIMEOUT: only Ctrl-C can end it within the test.
    proc = start("minimal_host.py", camera, "--seconds", str(4 * TIMEOUT))
    try:
        lines = Lines(proc)
        lines.wait_for("device: online = True")
        lines.wait_for("zone 0: motion = 0")
        camera.set_motion(0, True)
        lines.wait_for("zone 0: motion = 1")
        lines.wait_seen("motion: {")  # both commands ran: the host is waiting, as a controller
        proc.send_signal(signal.SIGINT)  # Ctrl-C: it disconnects and exits 0
        lines.wait_for("disconnected", TIMEOUT)  # (a guard against a hang, not a bound)
        proc.wait(timeout=TIMEOUT)
    finally:
        stop(proc)
    assert proc.returncode == 0
    # Every line whole: main()'s lines and on_change's (the driver's thread) never merge (CI
    # once saw "channels: " start mid-line, when both threads used print()).
    mains = ("channels: ", "motion: {", "disconnected")
    assert not [line for line in lines.seen if any(m in line[1:] for m in mains)], lines.seen
    callbacks = (" device: ", " zone ")  # what on_change writes, after the device's label
    assert not [
        line for line in lines.seen if line.startswith(mains) and any(c in line for c in callbacks)
    ], lines.seen
    assert any(line.startswith("channels: [{'id': 0, 'name': 'Front Yard'") for line in lines.seen)
    assert any(line.startswith("motion: {'channel': 0") for line in lines.seen)
    assert camera.requests[-1].cmds == ["Logout"]
    assert camera.sessions == []


def test_save_snapshots_writes_every_online_channel(tmp_path: Path) -> None:
    with Emulator(profile="nvr", password=PASSWORD) as nvr:
        result = run("save_snapshots.py", nvr, "--out", str(tmp_path / "shots"))
    assert result.returncode == 0, result.stdout + result.stderr
    files = sorted((tmp_path / "shots").iterdir())
    # The 8-channel NVR profile has nothing connected on channels 5 and 7.
    assert [f.name.split("-")[0] for f in files] == ["0", "1", "2", "3", "4", "6"]
    assert files[0].name == "0-Front_Door.jpg"
    for path in files:
        data = path.read_bytes()
        assert data[:3] == b"\xff\xd8\xff" and data[-2:] == b"\xff\xd9"
    assert "channel 5 (Camera 06): offline, skipped" in result.stdout


def test_ptz_tour_recalls_each_preset() -> None:
    with Emulator(profile="ptz", password=PASSWORD) as emu:
        result = run("ptz_tour.py", emu, "--presets", "1,2,3", "--dwell", "0.05", "--seconds", "0")
        moves = [r for r in emu.requests if "PtzCtrl" in r.cmds]
        sessions = emu.sessions
    assert result.returncode == 0, result.stdout + result.stderr
    moved = re.findall(r"moved to preset (\d+) on channel 0", result.stdout)
    assert moved == ["1", "2", "3"]
    assert len(moves) == 3
    assert "tour done: 3 moves" in result.stdout
    assert sessions == []


def test_ptz_tour_refuses_an_undefined_preset() -> None:
    with Emulator(profile="ptz", password=PASSWORD) as emu:
        result = run("ptz_tour.py", emu, "--presets", "1,9", "--dwell", "0", "--seconds", "0")
        moves = [r for r in emu.requests if "PtzCtrl" in r.cmds]
    assert result.returncode == 1
    assert "preset 9 is not defined" in result.stdout
    assert len(moves) == 1


def test_person_spotlight_switches_on_and_off(camera: Emulator) -> None:
    proc = start("person_spotlight.py", camera, "--hold", "0.2", "--seconds", "20")
    try:
        lines = Lines(proc)
        # Wait for the first poll, so the detection is a change the example sees.
        assert camera.wait_for_requests(3, timeout=10)
        assert camera.spotlight(0) is False
        camera.set_ai(0, "people", True)
        lines.wait_for("person detected: spotlight on")
        assert camera.spotlight(0) is True
        camera.set_ai(0, "people", False)
        # The camera calls its webhook when an event starts, never when one ends: motion
        # starting now wakes the driver at once, instead of at its next 2-second poll.
        camera.set_motion(0, True)
        lines.wait_for("spotlight off")
        assert camera.spotlight(0) is False
    finally:
        stop(proc)


def test_readme_host_is_examples_minimal_host() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.DOTALL)
    source = (EXAMPLES / "minimal_host.py").read_text(encoding="utf-8")
    assert source in blocks
