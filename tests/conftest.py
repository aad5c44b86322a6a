"""Shared fixtures: a failing threading.excepthook, event recorders, emulator-backed drivers."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, List, Optional

import pytest

from reolink.driver import AttributeEvent, ReolinkDriver, Timing

#: Driver timing for tests: every duration x0.01 (30 s back-off → 0.3 s), polls down to 10 ms.
FAST = Timing().scaled(0.01, min_status_interval_ms=10)


@pytest.fixture(autouse=True)
def fail_on_thread_exception(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An unhandled exception in any thread fails the test that was running."""
    errors: List[str] = []

    def hook(args: Any) -> None:
        name = args.thread.name if args.thread else "?"
        errors.append(f"{name}: {args.exc_type.__name__}: {args.exc_value}")

    monkeypatch.setattr(threading, "excepthook", hook)
    yield
    assert not errors, f"unhandled exception in a thread: {errors}"


class Recorder:
    """A driver callback that records events and lets a test wait for one."""

    def __init__(self) -> None:
        self.events: List[AttributeEvent] = []
        self._cond = threading.Condition()
        self.hook: Optional[Callable[[AttributeEvent], None]] = None

    def __call__(self, event: AttributeEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()
        if self.hook is not None:
            self.hook(event)

    def value(self, name: str, address: Optional[str] = None) -> Any:
        target = "device" if address is None else "zone"
        with self._cond:
            for event in reversed(self.events):
                if event.target == target and event.address == address and event.name == name:
                    return event.value
        return None

    def wait_for(
        self, name: str, value: Any, address: Optional[str] = None, timeout: float = 5.0
    ) -> bool:
        """Wait until the latest value of the attribute equals ``value``."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._latest(name, address) == (True, value), timeout
            )

    def _latest(self, name: str, address: Optional[str]) -> Any:
        target = "device" if address is None else "zone"
        for event in reversed(self.events):
            if event.target == target and event.address == address and event.name == name:
                return (True, event.value)
        return (False, None)

    def history(self, name: str, address: Optional[str] = None) -> List[Any]:
        target = "device" if address is None else "zone"
        with self._cond:
            return [
                e.value
                for e in self.events
                if e.target == target and e.address == address and e.name == name
            ]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def memory_driver(
    emulator: Any,
    zones: Any,
    callback: Callable[[AttributeEvent], None],
    *,
    timing: Timing = FAST,
    **attributes: str,
) -> ReolinkDriver:
    """A driver talking to ``emulator`` in-process (no sockets)."""
    from transports import MemoryTransport

    attrs = {
        "ip": "127.0.0.1",
        "username": "admin",
        "password": "admin123",
        "status_interval": "50",
        "request_timeout": "2000",
    }
    attrs.update(attributes)
    return ReolinkDriver(
        attrs,
        zones,
        callback,
        timing=timing,
        transport_factory=lambda config: MemoryTransport(emulator.app),
    )


def http_driver(
    emulator: Any,
    zones: Any,
    callback: Callable[[AttributeEvent], None],
    *,
    timing: Timing = FAST,
    **attributes: str,
) -> ReolinkDriver:
    """A driver talking to ``emulator`` over real HTTP(S) on loopback."""
    attrs = {
        "ip": emulator.host,
        "port": str(emulator.port),
        "protocol": emulator.scheme,
        "username": "admin",
        "password": "admin123",
        "status_interval": "50",
        "request_timeout": "2000",
    }
    attrs.update(attributes)
    return ReolinkDriver(attrs, zones, callback, timing=timing)


def wait_requests(emulator: Any, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Wait, on the emulator's request log condition, until ``predicate()`` holds."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not emulator.wait_for_requests(len(emulator.requests) + 1, remaining):
            return bool(predicate())
    return True


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--soak-minutes``: wall-clock length of the soak test (default 1; time runs x100)."""
    parser.addoption(
        "--soak-minutes",
        action="store",
        type=float,
        default=1.0,
        help="how long tests/test_reliability_soak.py runs, in wall-clock minutes (default 1)",
    )
