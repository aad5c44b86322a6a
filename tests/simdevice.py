"""The pure core against the emulator on simulated time: no threads, no sockets, no waiting.

:class:`SimHarness` is the core harness of ``test_driver_core`` whose device is an
:class:`~reolink.emulator.Emulator` answering through its synchronous ``app``, with the
emulator's clock being the harness's simulated ``now``: leases, lock-outs, login throttles,
reboots (down, then up again) and scheduled work all run on the same time as the driver's
back-offs and polls. Ten minutes of device time pass in milliseconds, and "how soon" is read
exactly (the emulator's request log, the time of each event) instead of from a stopwatch.

What only sockets show (a stall until the request timeout, a dripping body, a connection cut
mid-reply, TLS, the push listener) stays in the tests that run the emulator over loopback.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

from test_driver_core import Harness, Outcome

from reolink.driver.config import parse_device
from reolink.driver.core import DriverCore
from reolink.driver.timing import Timing
from reolink.emulator import Emulator
from reolink.emulator.core import RequestRecord
from reolink.errors import ConnectError, TransportProtocolError
from reolink.transport import Request, Response

#: Every simulated request takes this long (the emulator's login throttle counts per second).
LATENCY = 0.005
#: The commands of a poll cycle (camera/hub: GetEvents; NVR and legacy: GetMdState...).
POLLS = {"GetEvents", "GetMdState"}


class AppDevice:
    """Answers the core's requests with ``emulator.app``, as a socket transport would fail:
    refused while the device is down, a connection error (request sent) for a dropped or
    stalled request."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.log: List[Tuple[float, List[str], bool]] = []

    def __call__(self, request: Request, now: float) -> Outcome:
        cmds = [c["cmd"] for c in json.loads(request.body or b"[]")] or [request.target]
        self.log.append((now, cmds, request.repeatable))
        try:
            status, headers, body = self.emulator.app(
                request.method, request.target, request.headers, request.body
            )
        except ConnectionRefusedError as error:
            return ConnectError(f"connection refused: {error}")
        except (ConnectionError, TimeoutError) as error:
            return TransportProtocolError(f"connection broken: {error}", request_sent=True)
        return Response(status, headers, body)


class SimHarness(Harness):
    """The core harness on an emulator built here with ``clock`` = simulated time.

    ``attributes`` are the device attributes (ip, username and password are set);
    ``emulator`` holds Emulator keyword arguments (profile, lease, lockout_...).
    """

    def __init__(
        self,
        zones: Optional[Dict[str, Dict[str, str]]] = None,
        *,
        timing: Optional[Timing] = None,
        emulator: Optional[Dict[str, Any]] = None,
        **attributes: str,
    ) -> None:
        self.now = 0.0
        self.emu = Emulator(clock=lambda: self.now, **(emulator or {}))
        self._zones = zones or {"0": {}}
        self._attrs = {"ip": "127.0.0.1", "username": "admin", "password": "admin123",
                       "push": "off", **attributes}
        self._timing = timing or Timing()
        #: (len(emu.requests) when it was emitted, event) for every event the host got
        self.marks: List[Tuple[int, Any]] = []
        self._built = False
        super().__init__(AppDevice(self.emu), self._zones, timing=self._timing)
        self.latency = LATENCY

    def feed(self, event: Any) -> None:
        if not self._built:  # the core, rebuilt before its first event with our attributes
            self._built = True
            config = parse_device(
                self._attrs, self._zones,
                min_status_interval_ms=self._timing.min_status_interval_ms,
            )
            self.core = DriverCore(config, self._timing)
        before = len(self.emits)
        super().feed(event)
        for events in self.emits[before:]:
            self.marks += [(len(self.emu.requests), e) for e in events]

    def requests_until(
        self, name: str, value: Any, address: Optional[str] = None, *, since: int
    ) -> List[RequestRecord]:
        """The requests the device saw from record ``since`` until the host first got
        ``name == value`` after that point (how many polls a change took to show)."""
        target = "device" if address is None else "zone"
        for count, event in self.marks:
            if count < since:
                continue
            if (event.target, event.address, event.name, event.value) == (
                target, address, name, value
            ):
                return self.emu.requests[since:count]
        raise AssertionError(f"{name}={value!r} ({address}) never reached the host")

    def run_until(self, predicate: Any, limit: float = 3600.0, step: float = 0.5) -> bool:
        """Run simulated time in ``step``s until ``predicate()`` holds (at most ``limit``)."""
        end = self.now + limit
        while not predicate():
            if self.now >= end or self.finished:
                return bool(predicate())
            self.run(step)
        return True

    def cycles(self) -> int:
        """Poll cycles that reached the device (requests holding a poll command)."""
        return len([r for r in self.emu.requests if POLLS & set(r.cmds)])

    def logins(self) -> List[RequestRecord]:
        return [r for r in self.emu.requests if r.cmds == ["Login"]]

    def motion_round_trip(self, channel: int = 0, edges: int = 4, interval: float = 5.0) -> None:
        """Raise and clear motion ``edges`` times; every edge reaches the host, in order, with
        the first or second poll after it (as ``motion_round_trip`` over HTTP)."""
        address = str(channel)
        assert self.run_until(lambda: self.value("motion", address) == 0, 4 * interval)
        before = len(self.history("motion", address))
        for i in range(edges):
            on = i % 2 == 0
            mark = len(self.emu.requests)
            self.emu.set_motion(channel, on)
            assert self.run_until(
                lambda on=on: self.value("motion", address) == (1 if on else 0), 4 * interval
            )
            assert len(self.requests_until("motion", 1 if on else 0, address, since=mark)) <= 2
        assert self.history("motion", address)[before:] == [1, 0] * (edges // 2)

