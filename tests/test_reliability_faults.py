"""The fault matrix: every emulated failure over real HTTP, and what the driver makes of it.

Every test runs the driver with the scaled timing (all durations x0.01: back-off 10 ms doubling
to 0.6 s, auth back-off 0.3 s / 3 s / 9 s, the account-safety window 6 s) against an emulator
on loopback, polling every 10 ms with a 250 ms request timeout. For each fault it shows:

* the device thread survives (``driver.running``), no thread dies (conftest's excepthook);
* ``online``/``error`` reflect the fault after at most ``offline_after`` failed polls;
* polling recovers by itself with the first poll after the fault ends, and motion edges that
  begin afterwards all arrive;
* commands during the fault fail with a clear error, sent at most once (nothing at all when
  the driver already knows the device cannot answer);
* Login requests stay within the account-safety rule.

The session scenarios (reboot, lease renewal, -6, -5, -105, lock-out, wrong password) run on
simulated time instead: test_reliability_sim.py.

How soon something happens is read from the emulator's request log (how many requests it
took), never from a stopwatch: waits only guard against a hang.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterator, List, Optional, Tuple

import attrs
import pytest
from conftest import FAST, Recorder, http_driver, pause, wait_until

from reolink.driver import AttributeEvent, ReolinkDriver, Timing
from reolink.emulator import Emulator, Fault
from reolink.emulator.core import RequestRecord
from reolink.errors import (
    ConnectError,
    ReolinkError,
)

INTERVAL = 0.01
#: Short: a stalled request shows the same at 0.25 s as at 1 s (the loopback emulator answers a
#: good one in milliseconds, and the tests wait for outcomes, not for a time).
TIMEOUT = 0.25
#: These tests count the polls a change takes to show: push (which adds polls on the device's
#: calls, and registration requests after each connect) is off; tests/test_driver_push*.py
#: cover it.
ATTRS = {
    "status_interval": str(int(INTERVAL * 1000)),
    "request_timeout": str(int(TIMEOUT * 1000)),
    "push": "off",
}
#: How long a test waits for what must happen (a guard against a hang, not a bound: how soon
#: something happened is asserted on the emulator's request log).
WAIT = 10.0


# --- helpers ---------------------------------------------------------------------------------


def logins(emu: Emulator) -> List[RequestRecord]:
    return [r for r in emu.requests if r.cmds == ["Login"]]


def start(
    emu: Emulator, recorder: Recorder, zones: Any = None, timing: Timing = FAST, **attrs: str
) -> ReolinkDriver:
    merged = dict(ATTRS)
    merged.update(attrs)
    return http_driver(
        emu, {"0": {}} if zones is None else zones, recorder, timing=timing, **merged
    )


def connected(
    emu: Emulator, recorder: Recorder, zones: Any = None, timing: Timing = FAST, **attrs: str
) -> ReolinkDriver:
    driver = start(emu, recorder, zones, timing, **attrs)
    assert driver.connect() is True
    assert wait_until(lambda: driver.stats().cycles >= 2, WAIT)
    return driver


#: The request each command sends, alone (how the emulator's log tells it from a poll).
COMMAND_CMDS = {"get_motion": ["GetMdState"], "get_dev_info": ["GetDevInfo"]}


def run_command(
    emu: Emulator, driver: ReolinkDriver, name: str, args: Any = None
) -> Tuple[int, Any]:
    """Run a command; return (the requests it sent, per the emulator's log; its result or the
    ReolinkError raised)."""
    mark = len(emu.requests)
    try:
        result: Any = driver.command(name, args)
    except ReolinkError as error:
        result = error
    return sum(r.cmds == COMMAND_CMDS[name] for r in emu.requests[mark:]), result




class Until:
    """The requests the device saw from now until the callback first got ``name == value``:
    how many polls a change took to show, told by the emulator's log instead of a stopwatch."""

    def __init__(
        self, emu: Emulator, recorder: Recorder, name: str, value: Any, address: Any = None
    ) -> None:
        self.emu, self.recorder = emu, recorder
        self.event = (name, value, address)
        self.mark = len(emu.requests)
        self.end: Optional[int] = None
        recorder.hook = self._hook

    def _hook(self, event: AttributeEvent) -> None:
        if self.end is None and (event.name, event.value, event.address) == self.event:
            self.end = len(self.emu.requests)

    def requests(self, timeout: float = WAIT) -> List[RequestRecord]:
        """Wait for the event (``timeout`` only guards a hang); the requests up to it."""
        name, value, address = self.event
        assert self.recorder.wait_for(name, value, address, timeout), self.event
        self.recorder.hook = None
        assert self.end is not None, f"{self.event} held before the watch began"
        return self.emu.requests[self.mark : self.end]


def motion_round_trip(emu: Emulator, recorder: Recorder, channel: int = 0, edges: int = 4) -> None:
    """Raise and clear motion ``edges`` times; every edge must reach the callback, in order,
    with the first or second poll after it."""
    address = str(channel)
    # The zone first shows "no motion" (it may just be coming back online).
    assert recorder.wait_for("motion", 0, address, timeout=WAIT)
    before = len(recorder.history("motion", address))
    for i in range(edges):
        on = i % 2 == 0
        edge = Until(emu, recorder, "motion", 1 if on else 0, address)
        emu.set_motion(channel, on)
        made_at = emu.clock()  # polls before the edge (the test thread held up) do not count
        assert len([r for r in edge.requests() if r.time >= made_at]) <= 2
    seen = recorder.history("motion", address)[before:]
    assert seen == [1, 0] * (edges // 2)






@pytest.fixture
def camera() -> Iterator[Emulator]:
    with Emulator(profile="camera") as emu:
        yield emu




# --- transient faults: the whole request fails for a while -----------------------------------

#: kind -> (Fault kwargs, what the command error / device error must say): the faults only a
#: socket shows
TRANSIENT = {
    "refuse": ({"seconds": 0.4}, r"connection refused"),
    "drop": ({"count": None}, r"connection broken|closed"),
    "drop_mid_reply": ({"count": None}, r"closed mid-reply|connection broken"),
    "stall": ({"count": None, "seconds": 2.0}, r"no complete response|no answer|within"),
}
# (http_502, html_index, truncated and short_reply, which need no socket, run on simulated
# time: test_reliability_sim.py::test_transient_fault_survived)


@pytest.mark.parametrize(
    "kind",
    list(TRANSIENT),
)
def test_transient_fault_survived(
    camera: Emulator, recorder: Recorder, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="reolink")
    kwargs, reason = TRANSIENT[kind]
    driver = connected(camera, recorder)
    try:
        logins_before = len(logins(camera))
        fault = Fault(kind, **kwargs)
        if kind == "refuse":  # the port closes: every request at once, none of them slow
            offline = Until(camera, recorder, "online", False)
            camera.add_fault(fault)
            armed_at = camera.clock()
        else:
            # The command's request first: a poll stalled just before would hold the command
            # until its deadline ("busy", not this fault's words: another test's point).
            camera.add_fault(attrs.evolve(fault, cmd="GetMdState"))

        # A command during the fault fails clearly; being read-only, it may be repeated once.
        sent, result = run_command(camera, driver, "get_motion", {"address": "0"})
        assert isinstance(result, ReolinkError), result
        assert sent <= 2
        assert str(result)
        if kind != "refuse":  # then every request
            offline = Until(camera, recorder, "online", False)
            camera.add_fault(fault)
            armed_at = camera.clock()

        # Offline after offline_after failed polls (refused ones never reach the log). Only
        # requests the device saw once the fault was armed count: polls that got through
        # between the watch's start and the fault (a test thread held up under load) are no
        # failures (a request's time is read before its fault is taken). The first poll the
        # fault hits may go out twice: it left on the connection kept alive (one, the pool's
        # size) from before the fault, and a read-only request whose kept-alive connection
        # ends without a reply is sent once more on a new one; every later one is new.
        # (Fewer come when the command's failure counted too and no poll got through after.
        # The threshold itself is pinned where it lives: test_protocol_session.py.)
        failed = [
            r for r in offline.requests() if r.cmds != ["GetMdState"] and r.time >= armed_at
        ]
        assert len(failed) <= FAST.session.offline_after + 1, failed
        # (the driver sets online, then error: the callback may not have had the second yet)
        assert wait_until(lambda: bool(recorder.value("error")), WAIT)
        error_then = recorder.value("error") or ""
        assert driver.running

        # The fault ends; polling comes back by itself, with the first poll that gets through.
        # Watched from before the fault ends (the first poll may get through at once); only
        # requests the device saw once it was over count: a poll failing while the test thread
        # is held up between the watch and the clearing is the fault's. (While the port is
        # closed nothing reaches the log at all.)
        online = Until(camera, recorder, "online", True)
        cleared_at = camera.clock()
        if kind == "refuse":
            assert camera.wait_until_up(WAIT)
        else:
            camera.clear_faults()
            cleared_at = camera.clock()
        # (A stalled poll still in flight when the fault is cleared is the fault's: it left
        # before, and is not counted even if it ends after.)
        through = [r for r in online.requests() if r.time >= cleared_at]
        assert len(through) <= 1, through
        assert recorder.value("online", "0") == 1
        motion_round_trip(camera, recorder)

        # The token stayed valid through a transport fault: no Login at all was needed.
        assert len(logins(camera)) == logins_before
        assert driver.running

        # Last: the truth, in the driver's own words.
        assert re.search(reason, error_then), error_then
        assert "offline" in str(recorder.history("error", "0"))
        assert re.search(reason, str(result)), result
        assert "internal error" not in str(result)
        assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    finally:
        driver.disconnect()
    assert not driver.running


def test_single_garbage_replies_are_one_failed_cycle_only(
    camera: Emulator, recorder: Recorder
) -> None:
    """One bad reply of each kind in a row: polling goes on, nothing stays broken."""
    driver = connected(camera, recorder)
    try:
        for kind in (
            "drop",
            "drop_mid_reply",
            "http_502",
            "html_index",
            "truncated",
            "short_reply",
        ):
            camera.add_fault(Fault(kind, count=1, cmd="GetEvents"))
            assert wait_until(lambda: not camera.pending_faults, WAIT), kind
        cycles = driver.stats().cycles
        assert wait_until(lambda: driver.stats().cycles >= cycles + 3, WAIT)
        motion_round_trip(camera, recorder)
        assert driver.running and driver.online
        assert len(logins(camera)) == 1
    finally:
        driver.disconnect()


# --- reboot, lease, -6, login refusals (-5, -105, lock-out, wrong password), batches (short,
# collapsed, timing out) and channels (NVR offline, hub asleep): these need no socket and run
# on simulated time, the core against the emulator's app, in test_reliability_sim.py.


# --- DNS -------------------------------------------------------------------------------------


def test_unresolvable_host_name(camera: Emulator, recorder: Recorder) -> None:
    driver = start(camera, recorder, ip="camera.invalid")
    try:
        assert driver.connect() is False
        assert driver.running
        assert recorder.value("online") is False
        assert "could not be resolved" in recorder.value("error")
        assert "camera.invalid" in recorder.value("error")
        sent, result = run_command(camera, driver, "get_motion", {"address": "0"})
        assert isinstance(result, ConnectError) and "resolved" in str(result), result
        assert sent == 0
        pause(3 * INTERVAL)
        assert driver.running
    finally:
        driver.disconnect()
    assert not driver.running
    assert camera.requests == []
