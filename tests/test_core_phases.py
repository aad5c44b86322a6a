"""The driver core's phase machine (reolink.driver.core: DevicePhase, _TRANSITIONS), row by row,
then the phases the core goes through against a scripted device on simulated time."""

from __future__ import annotations

import itertools
import logging
from typing import List, Tuple

import pytest
from test_driver_core import INTERVAL, FakeDevice, Harness

from reolink.driver import core
from reolink.driver.core import DevicePhase, Input, next_phase
from reolink.driver.messages import Disconnect, Finished, Tick
from reolink.errors import Timeout

P = DevicePhase
In = Input

#: Every row of the table, as the header comment of reolink/driver/core.py states it.
ROWS: List[Tuple[DevicePhase, Input, DevicePhase]] = [
    (P.CONNECTING, In.IDENTIFIED, P.ONLINE),
    (P.CONNECTING, In.FAILURE_SHOWN, P.UNREACHED),
    (P.CONNECTING, In.DISCONNECT, P.STOPPING),
    (P.UNREACHED, In.IDENTIFIED, P.OFFLINE),
    (P.UNREACHED, In.ANSWERED, P.CONNECTING),
    (P.UNREACHED, In.DISCONNECT, P.STOPPING),
    (P.ONLINE, In.FAILURE_SHOWN, P.OFFLINE),
    (P.ONLINE, In.REBOOT_REQUESTED, P.CONNECTING),
    (P.ONLINE, In.DISCONNECT, P.STOPPING),
    (P.OFFLINE, In.ANSWERED, P.ONLINE),
    (P.OFFLINE, In.REBOOT_REQUESTED, P.UNREACHED),
    (P.OFFLINE, In.DISCONNECT, P.STOPPING),
    (P.STOPPING, In.WOUND_DOWN, P.FINISHED),
]
LISTED = {(phase, happened) for phase, happened, _ in ROWS}
UNLISTED = [pair for pair in itertools.product(P, In) if pair not in LISTED]


@pytest.mark.parametrize(("phase", "happened", "after"), ROWS,
                         ids=[f"{p.value}-{i.value}" for p, i, _ in ROWS])
def test_each_row_of_the_table(phase: DevicePhase, happened: Input, after: DevicePhase) -> None:
    assert next_phase(phase, happened) is after


def test_the_table_holds_exactly_these_rows() -> None:
    assert core._TRANSITIONS == {(p, i): a for p, i, a in ROWS}


@pytest.mark.parametrize(("phase", "happened"), UNLISTED,
                         ids=[f"{p.value}-{i.value}" for p, i in UNLISTED])
def test_any_other_pair_leaves_the_phase(phase: DevicePhase, happened: Input) -> None:
    assert next_phase(phase, happened) is phase


def test_identified_and_failure_shown_follow_the_phase() -> None:
    assert {p for p in P if p.identified} == {P.ONLINE, P.OFFLINE}
    assert {p for p in P if p.failure_shown} == {P.UNREACHED, P.OFFLINE}
    assert {p for p in P if p.winding_down} == {P.STOPPING, P.FINISHED}


# --- the phases a device goes through --------------------------------------------------------


def test_connect_goes_online_and_logs_the_phase(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reolink.driver.core")
    h = Harness(FakeDevice())
    assert h.core.phase is P.CONNECTING and not h.core.identified  # Login is out
    h.run(1)
    assert h.core.phase is P.ONLINE and h.core.identified
    assert "phase connecting -> online (identified)" in caplog.text


def test_unreachable_at_start_then_reached() -> None:
    device = FakeDevice()
    device.down = True
    h = Harness(device)
    h.run(1)
    assert h.core.phase is P.UNREACHED and h.value("online") is False
    device.down = False
    h.run(120)
    assert h.core.phase is P.ONLINE and h.value("online") is True


def test_an_outage_after_identification_is_offline_then_online() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL)
    device.down = True
    h.run(INTERVAL * 3)
    assert h.core.phase is P.OFFLINE and h.core.identified
    device.down = False
    h.run(120)
    assert h.core.phase is P.ONLINE


def test_one_failure_is_retried_quietly_and_keeps_the_phase() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL)
    device.failures.append(Timeout("127.0.0.1:80: no reply within 8 s"))
    h.run(INTERVAL + 0.5)
    assert h.core.phase is P.ONLINE and False not in h.history("online")


def test_a_reboot_forgets_the_identification_until_the_device_is_back() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    assert h.command("reboot") == {"rebooting": True}
    assert h.core.phase is P.UNREACHED and not h.core.identified
    h.run(60)
    assert h.core.phase is P.UNREACHED
    device.down = False
    h.run(120)
    assert h.core.phase is P.ONLINE and len(h.sent("GetDevInfo")) == 2


def test_disconnect_stops_then_finishes_and_stays_finished() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    h.feed(Disconnect(h.now))
    assert h.core.phase is P.STOPPING and not h.finished  # Logout is out
    h.run(1)
    assert h.core.phase is P.FINISHED and h.finished
    assert h.core.handle(h.now + 1, Tick()) == [Finished()]
    assert h.core.handle(h.now + 2, Disconnect(h.now + 2)) == [Finished()]
    assert h.core.phase is P.FINISHED


# --- what the host thread reads: one published snapshot ---------------------------------------


def test_the_host_reads_a_published_snapshot_never_the_core() -> None:
    from reolink.driver.loop import DeviceLoop, Published

    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL * 2)
    loop = DeviceLoop(h.core, transport=None, clock=lambda: h.now, callback=None)  # type: ignore[arg-type]
    # Nothing published yet: the host sees the start, whatever the core holds meanwhile.
    assert loop.published() == Published()
    assert h.core.cycles > 0 and h.core.session.token is not None
    loop._publish(h.core.handle(h.now, Tick()))
    seen = loop.published()
    assert (seen.cycles, seen.requests_sent, seen.logins_sent, seen.token, seen.phase) == (
        h.core.cycles, h.core.client.requests_sent, h.core.client.logins_sent,
        h.core.session.token, P.ONLINE,
    )
    assert "tok" not in repr(seen)  # the token is never shown
    h.run(INTERVAL * 3)  # the core moves on; a snapshot taken stays as it was
    assert h.core.cycles > seen.cycles and loop.published() == seen


def test_the_facade_touches_the_core_only_to_build_it() -> None:
    """ReolinkDriver's methods run on the host's threads: none reads self._core."""
    import ast
    import inspect

    import reolink.driver.device as device

    tree = ast.parse(inspect.getsource(device.ReolinkDriver))
    readers = {
        function.name
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Attribute) and node.attr == "_core"
    }
    assert readers == {"__init__"}


# --- the listener's live URLs: a value, asked for again before every registration ---------------


class _Registration:
    def __init__(self, listener: _Listener) -> None:
        self.listener = listener

    def url(self, host: str) -> str:
        return f"http://{host}:{self.listener.port}/reolink/push/OURSsecretOURSsecretOURSsecret"


class _Listener:
    port = 8123

    def __init__(self) -> None:
        self.registrations = 0
        self.paths = frozenset({"/reolink/push/OURSsecretOURSsecretOURSsecret"})

    def register(self, wake: object, label: str) -> _Registration:
        self.registrations += 1
        return _Registration(self)

    def live_paths(self) -> frozenset:  # type: ignore[type-arg]
        return self.paths


def test_each_listen_registers_once_and_answers_the_live_set_as_it_is_then() -> None:
    from reolink.driver.config import parse_device
    from reolink.driver.core import DriverCore
    from reolink.driver.loop import DeviceLoop
    from reolink.driver.messages import Listening
    from reolink.driver.timing import Timing

    attributes = {"ip": "127.0.0.1", "username": "admin", "password": "admin123",
                  "push_host": "127.0.0.1"}
    core_ = DriverCore(parse_device(attributes, {"0": {}}), Timing(setup_every=0.0))
    listener = _Listener()
    loop = DeviceLoop(core_, transport=None, clock=lambda: 0.0, callback=None,  # type: ignore[arg-type]
                      listener=listener)  # type: ignore[arg-type]
    first = loop._listen()
    other = "http://127.0.0.1:8123/reolink/push/THEIRSsecretTHEIRSsecretTHEIRS"
    assert isinstance(first, Listening) and first.live is not None
    assert first.url in first.live and other not in first.live
    listener.paths = listener.paths | {"/reolink/push/THEIRSsecretTHEIRSsecretTHEIRS"}
    second = loop._listen()  # before the next registration: the set as it is now
    assert isinstance(second, Listening) and second.live is not None
    assert other in second.live and second.url == first.url
    assert other not in first.live  # the first answer is a value: it never changed
    assert listener.registrations == 1  # the loop registers on the listener once
    assert "secret" not in repr(second) and "secret" not in repr(second.live)  # paths: secrets
