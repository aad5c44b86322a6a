"""The driver over real HTTP and HTTPS on loopback, with both real transports."""

from __future__ import annotations

import base64
import threading
from typing import Any, Iterator

import pytest
from conftest import FAST, Recorder, http_driver

import transports
from reolink.driver import ReolinkDriver
from reolink.emulator import Emulator


@pytest.fixture(params=["http", "https"])
def emulator(request: Any) -> Iterator[Emulator]:
    with Emulator(profile="nvr", channels=4, https=request.param == "https") as emu:
        yield emu


def test_poll_and_commands_over_the_wire(emulator: Emulator, recorder: Recorder) -> None:
    driver = http_driver(emulator, {"0": {}, "1": {"ai_types": "people"}}, recorder)
    assert driver.connect() is True
    try:
        emulator.set_ai(1, "people", True)
        assert recorder.wait_for("ai_detected", "people", "1")
        assert recorder.value("motion", "1") == 1
        snap = driver.command("snapshot", {"address": "0"})
        assert base64.b64decode(snap["base64"])[:2] == b"\xff\xd8"
        channels = driver.command("get_channels")
        assert [c["id"] for c in channels] == [0, 1, 2, 3]
    finally:
        driver.disconnect()
    assert all(r.http for r in emulator.requests)
    assert emulator.requests[-1].cmds == ["Logout"]
    assert emulator.sessions == []


@pytest.mark.parametrize("kind", ["urllib3", "stdlib"])
def test_both_real_transports(kind: str, recorder: Recorder) -> None:
    with Emulator(profile="camera") as emu:
        driver = ReolinkDriver(
            {
                "ip": emu.host,
                "port": str(emu.port),
                "username": "admin",
                "password": "admin123",
                "status_interval": "50",
                "request_timeout": "2000",
            },
            {"0": {}},
            recorder,
            timing=FAST,
            transport_factory=lambda c: transports.open_transport(
                scheme=c.protocol, host=c.ip, port=c.port, tls=c.tls, kind=kind
            ),
        )
        assert driver.connect()
        try:
            emu.set_motion(0, True)
            assert recorder.wait_for("motion", 1, "0")
        finally:
            driver.disconnect()




def test_disconnect_during_a_stalled_poll_is_bounded(recorder: Recorder) -> None:
    from reolink.emulator import Fault

    with Emulator(profile="camera") as emu:
        driver = http_driver(emu, {"0": {}}, recorder, request_timeout="500")
        assert driver.connect()
        emu.add_fault(Fault("stall", count=None))  # every request from now on hangs
        assert emu.wait_for_requests(len(emu.requests) + 1, 2.0)
        # disconnect() itself fails loudly if the thread outlives request_timeout + 1 s.
        driver.disconnect()
        assert not driver.running
        # The stalled poll timed out: the device counts as unreachable, so no Logout was tried.
        assert not [r for r in emu.requests if r.cmds == ["Logout"]]
        assert not [t for t in threading.enumerate() if t.name == f"reolink-{driver.label}"]
        emu.clear_faults()
