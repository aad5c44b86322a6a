"""The host's thread waits in slices (reolink._quiet_threads.wait_sliced).

CPython runs a signal handler only between bytecodes: a SIGTERM that lands after the main
thread's last check and before it blocks in a lock wait wakes nothing (a one-shot CLI once
waited out its whole connect() on SIGTERM). That moment cannot be reached from Python code,
so these tests check the mechanism: no wait of connect() or command() is longer than a slice,
and the bounds of the waits are unchanged.
"""

from __future__ import annotations

import threading
import time
from typing import Any, List, Mapping, Tuple

import pytest
from conftest import FAST

import transports
from reolink import _quiet_threads as waits
from reolink.driver import ReolinkDriver
from reolink.driver import device as device_module
from reolink.emulator import Emulator
from reolink.errors import CommandTimeout


class _Recording:
    """An Event whose waits are recorded (the timeouts asked for)."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event
        self.waits: List[float] = []

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return self.event.wait(timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.event, name)


def test_wait_sliced_keeps_the_bound_in_slices() -> None:
    asked: List[float] = []

    nothing = threading.Event()

    def never(timeout: float) -> bool:
        asked.append(timeout)
        return nothing.wait(timeout)  # an Event nobody sets

    start = time.monotonic()
    assert waits.wait_sliced(never, 1.2) is False
    took = time.monotonic() - start
    assert 1.2 <= took < 2.0
    assert len(asked) >= 3 and max(asked) <= waits.WAIT_SLICE


def test_wait_sliced_returns_at_once_when_set() -> None:
    asked: List[float] = []

    def second_time(timeout: float) -> bool:
        asked.append(timeout)
        return len(asked) == 2

    assert waits.wait_sliced(second_time, 60.0) is True
    assert asked == [waits.WAIT_SLICE] * 2


def test_wait_sliced_with_no_time_left_looks_once() -> None:
    asked: List[float] = []
    assert waits.wait_sliced(lambda t: asked.append(t) or False, 0.0) is False
    assert asked == [0.0]


def _blocking_app(gate: threading.Event, emu: Emulator) -> Any:
    def app(
        method: str, target: str, headers: Mapping[str, str], body: bytes
    ) -> Tuple[int, Mapping[str, str], bytes]:
        gate.wait(30)  # a device that does not answer until the test lets it
        return emu.app(method, target, headers, body)

    return app


def test_connect_waits_in_slices_and_keeps_its_bound(recorder: Any) -> None:
    gate = threading.Event()
    with Emulator(profile="camera") as emu:
        driver = ReolinkDriver(
            {"ip": "127.0.0.1", "username": "admin", "password": "admin123", "push": "off"},
            {"0": {}},
            recorder,
            timing=FAST,
            transport_factory=lambda config: transports.MemoryTransport(_blocking_app(gate, emu)),
        )
        ready = _Recording(driver._loop.ready)
        driver._loop.ready = ready  # type: ignore[assignment]
        try:
            start = time.monotonic()
            assert driver.connect(timeout=1.3) is False
            assert time.monotonic() - start >= 1.3
            assert len(ready.waits) >= 3 and max(ready.waits) <= waits.WAIT_SLICE
        finally:
            gate.set()
            driver.disconnect()


def test_command_waits_in_slices_and_times_out_as_before(recorder: Any) -> None:
    gate = threading.Event()
    with Emulator(profile="camera") as emu:

        def app(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Any:
            if b'"GetDevInfo"' in body and connected.is_set():
                gate.wait(30)  # the command's request gets no answer
            return emu.app(method, target, headers, body)

        connected = threading.Event()
        driver = ReolinkDriver(
            {
                "ip": "127.0.0.1",
                "username": "admin",
                "password": "admin123",
                "push": "off",
                "request_timeout": "1000",
            },
            {"0": {}},
            recorder,
            timing=FAST,
            transport_factory=lambda config: transports.MemoryTransport(app),
        )
        asked: List[float] = []
        real = device_module.wait_sliced

        def spy(wait: Any, timeout: float) -> bool:
            def recorded(seconds: float) -> bool:
                asked.append(seconds)
                return bool(wait(seconds))

            return real(recorded, timeout)

        try:
            assert driver.connect() is True
            device_module.wait_sliced = spy  # type: ignore[assignment]
            info = driver.command("get_dev_info")
            assert info["model"]  # an answered command returns its result as before
            answered = len(asked)
            assert answered >= 1
            connected.set()
            start = time.monotonic()
            with pytest.raises(
                CommandTimeout, match=r"get_dev_info: no answer from .* within 1\.0 s"
            ):
                driver.command("get_dev_info")
            assert time.monotonic() - start >= 1.25  # the bound is unchanged: budget + 0.25 s
            assert len(asked) - answered >= 3 and max(asked) <= waits.WAIT_SLICE
        finally:
            device_module.wait_sliced = real  # type: ignore[assignment]
            gate.set()
            driver.disconnect()


def test_a_one_shot_ptz_waits_for_its_stop_in_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    from reolink.cli import oneshot

    class _Driver:
        def command(self, name: str, given: Any) -> Any:
            return {"channel": 0, "op": "Left", "duration": 1200}

    monkeypatch.setattr(oneshot, "connect_or_explain", lambda driver, target: None)
    monkeypatch.setattr(oneshot, "disconnect_quietly", lambda driver, grace: None)
    asked: List[float] = []
    bounds: List[float] = []

    def spy(wait: Any, timeout: float) -> bool:
        bounds.append(timeout)

        def recorded(seconds: float) -> bool:
            asked.append(seconds)
            return bool(wait(seconds))

        return waits.wait_sliced(recorded, timeout)

    monkeypatch.setattr(oneshot, "wait_sliced", spy)
    start = time.monotonic()
    result = oneshot._run(_Driver(), "ptz", {}, None)  # type: ignore[arg-type]
    assert result["duration"] == 1200
    assert bounds == [pytest.approx(1.2 + oneshot._STOP_MARGIN)]  # the Stop's time, as before
    assert time.monotonic() - start >= 1.5
    assert len(asked) >= 3 and max(asked) <= waits.WAIT_SLICE
