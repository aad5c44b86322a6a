"""The driver core's phase machine (reolink.driver.core: DevicePhase, _TRANSITIONS), row by row,
then the phases the core goes through against a scripted device on simulated time."""

from __future__ import annotations

import inspect
import itertools
import json
import logging
from typing import List, Tuple

import attrs
import pytest
from test_driver_core import INTERVAL, FakeDevice, Harness

from reolink.driver import core
from reolink.driver.core import DevicePhase, Input, next_phase
from reolink.driver.messages import Disconnect, Finished, Send, SendFailed, Tick, WaitUntil
from reolink.errors import ConnectError, Timeout

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


def test_time_is_applied_once_at_the_top_of_each_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """handle() applies ``now`` to the session and to push control first; every query of the
    session asked in the turn then sees that very time already applied (it moves nothing)."""
    from reolink.driver.pushcontrol import PushControl
    from reolink.protocol.session import Session

    turns: List[Tuple[float, List[str]]] = []
    queried: List[str] = []
    for name in ("login_due", "request_allowed", "authorize", "next_step", "next_wakeup",
                 "login_refusal", "login_allowed", "state_at"):
        real = getattr(Session, name)

        def query(self: Session, now: float, *a: object, _real: object = real,
                  _name: str = name, **k: object) -> object:
            assert self._settled[0] == now, f"Session.{_name}({now}) before tick({now})"
            queried.append(_name)
            return _real(self, now, *a, **k)  # type: ignore[operator]

        monkeypatch.setattr(Session, name, query)
    for part, cls in (("session", Session), ("push", PushControl)):
        real_tick = cls.tick

        def tick(self: object, now: float, _real: object = real_tick, _part: str = part) -> None:
            if _part == "session":
                turns.append((now, []))
            turns[-1][1].append(_part)
            _real(self, now)  # type: ignore[operator]

        monkeypatch.setattr(cls, "tick", tick)
    device = FakeDevice()
    h = Harness(device)
    handle = h.core.handle

    def counted(now: float, event: object) -> object:
        before = len(turns)
        actions = handle(now, event)  # type: ignore[arg-type]
        # the turn began with exactly one tick of each, at its time (the session's inputs
        # may apply the same time again within the turn: on_request_ok does)
        assert turns[before][0] == now and turns[before][1][:2] == ["session", "push"]
        return actions

    monkeypatch.setattr(h.core, "handle", counted)
    h.run(INTERVAL * 2)
    device.failures.append(Timeout("127.0.0.1:80: no reply within 8 s"))
    h.run(INTERVAL * 2)
    assert h.command("reboot") == {"rebooting": True}
    h.run(60)
    device.down = False
    h.run(120)
    assert h.core.phase is P.ONLINE
    assert len(turns) > 20 and {"next_step", "next_wakeup", "state_at"} <= set(queried)


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


def test_the_cause_of_offline_and_the_push_calls_travel_in_the_snapshot() -> None:
    """``last_exception`` and the push-call count are read from the snapshot too: published
    under the loop's lock with the turn that showed offline (before its Ready lets a waiting
    connect() return), cleared with the one that showed online."""
    from reolink.driver.loop import DeviceLoop
    from reolink.driver.messages import Offline, Online, Ready

    h = Harness(FakeDevice())
    loop = DeviceLoop(h.core, transport=None, clock=lambda: h.now, callback=None)  # type: ignore[arg-type]
    cause = ConnectError("refused")
    loop._publish([Offline("refused", cause), Ready()])
    assert loop.published().last_exception is cause
    loop._publish([Offline("rebooting (requested)")])  # no error of its own: the cause stays
    assert loop.published().last_exception is cause
    loop._publish([Online()])
    assert loop.published().last_exception is None
    loop.push_wake()
    loop.push_wake()
    assert loop.published().push_calls == 2


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


def test_the_snapshot_s_anti_cache_string_is_the_host_thread_s_nonce(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Randomness enters the core as an event value: the host thread draws the nonce into
    CommandQueued, and the Snap request carries exactly it as ``rs`` (the core draws none)."""
    from conftest import memory_driver

    import reolink.driver.device as device
    from reolink.emulator import Emulator

    drawn: List[str] = []

    def token_hex(nbytes: int) -> str:
        drawn.append(f"{len(drawn) + 1:0{2 * nbytes}x}")
        return drawn[-1]

    monkeypatch.setattr(device.secrets, "token_hex", token_hex)
    with Emulator(profile="camera", snapshot_size=2048) as emu:
        driver = memory_driver(emu, {"0": {}}, lambda event: None, push="off")
        try:
            assert driver.connect()
            for _ in range(2):
                assert driver.command("snapshot", {"address": "0"})["length"] > 0
        finally:
            driver.disconnect()
        snaps = [r.query.get("rs") for r in emu.requests if r.query.get("cmd") == "Snap"]
    # One nonce per command the host queued (each drawn on its thread); the Snaps carry the
    # last two, the snapshots'.
    assert len(snaps) == 2 and snaps == drawn[-2:]


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


# --- the named state: nothing decides what happens next but what the header names -----------


def test_the_core_holds_no_state_but_what_the_header_names() -> None:
    """A new flag on DriverCore fails here: name it in the header's tables (and test its rows)
    or make it a guard."""
    h = Harness(FakeDevice())
    h.run(INTERVAL)
    assert set(vars(h.core)) == {
        # the parts it drives, and what it learned
        "config", "timing", "log", "session", "store", "poller", "client", "push", "setup",
        "facts",
        # a counter, the latest input values, the turn's output
        "cycles", "now", "_push_live", "_out",
        # the phase, the flow slot and the work queues, the guards
        "_phase", "_flow", "_job", "_pause_until", "_jobs", "_ptz_stops", "next_poll", "guards",
    }
    assert [f.name for f in attrs.fields(core.Guards)] == [
        "hold_until", "reboot_grace_until", "logins_seen", "available", "ability_recheck",
        "push_shown",
    ]
    header = inspect.getsource(core).split("class DevicePhase")[0]
    for name in ("_flow (+_job)", "_pause_until", "_jobs", "_ptz_stops", "next_poll",
                 "G1 hold_until", "G2 reboot_grace_", "G3 logins_seen", "G4 available",
                 "G5 ability_recheck", "G6 push_shown"):
        assert f"#   {name}" in header, name


# --- the guard state G1-G6 (reolink.driver.core.Guards), row by row ---------------------------

G = core.Guards


def test_g1_a_crash_holds_session_steps_one_interval() -> None:
    guards = G()
    assert guards.steps_allowed(0.0)  # no hold at the start
    guards.crashed(10.0, INTERVAL)
    assert guards.hold_until == 10.0 + INTERVAL
    assert not guards.steps_allowed(10.0) and not guards.steps_allowed(14.999)
    assert guards.steps_allowed(15.0) and guards.steps_allowed(99.0)  # lifted at its end


@pytest.mark.parametrize(
    ("hold_until", "now", "at", "wake"),
    [
        (15.0, 10.0, 12.0, 15.0),  # a running hold moves an earlier wake-up to its end
        (15.0, 10.0, 10.0, 15.0),  # ... also "at once"
        (15.0, 10.0, 20.0, 20.0),  # a later wake-up stays
        (15.0, 15.0, 12.0, 12.0),  # a hold that has lifted moves nothing (at once stays)
        (0.0, 10.0, 3.0, 3.0),  # no hold ever
    ],
)
def test_g1_no_wakeup_before_a_running_hold(
    hold_until: float, now: float, at: float, wake: float
) -> None:
    assert G(hold_until=hold_until).not_before(at, now) == wake


def test_g2_the_reboot_grace() -> None:
    guards = G()
    assert not guards.rebooting(0.0)  # never asked for a reboot
    guards.reboot_requested(100.0, 180.0)
    assert guards.reboot_grace_until == 280.0
    assert guards.rebooting(100.0) and guards.rebooting(279.9)
    assert not guards.rebooting(280.0)  # the grace is over: a failure is a failure


def test_g3_identification_and_planned_logins_are_not_reconnects() -> None:
    guards = G(logins_seen=0, ability_recheck=True)
    guards.identified(1, (0, 1))
    assert (guards.logins_seen, tuple(guards.available), guards.ability_recheck) == (
        1, (0, 1), False,  # GetAbility was just read: no recheck due
    )
    assert not guards.take_unplanned_login(1)
    guards.planned_login(2)  # a renewal
    assert not guards.take_unplanned_login(2)


def test_g3_an_unplanned_login_is_seen_once() -> None:
    guards = G(logins_seen=2)
    assert guards.take_unplanned_login(3) and guards.logins_seen == 3
    assert not guards.take_unplanned_login(3)  # accounted for


@pytest.mark.parametrize(
    ("before", "available", "covered", "push_on", "recheck_before", "recheck_after"),
    [
        ((0,), (0, 1), (0,), True, False, True),  # channel 1 came online, push lacks it
        ((0,), (0, 1), (0, 1), True, False, False),  # it came online, push covers it already
        ((0, 1), (0, 1), (0,), True, False, False),  # nothing new came online
        ((0,), (0, 1), (0,), False, False, False),  # push is off: nothing to register
        ((0,), (0, 1), (0,), False, True, False),  # ... and a pending recheck is dropped
        ((0, 1), (0, 1), (0,), True, True, True),  # nothing new: a pending recheck stays
        ((0, 1), (0,), (0,), True, False, False),  # a channel went away: nothing to read
        ((0, 1, 2), (0, 1), (0,), True, False, False),  # one went away, none came: nothing
    ],
)
def test_g4_g5_a_channel_that_came_online_rereads_getability(
    before: Tuple[int, ...],
    available: Tuple[int, ...],
    covered: Tuple[int, ...],
    push_on: bool,
    recheck_before: bool,
    recheck_after: bool,
) -> None:
    guards = G(available=before, ability_recheck=recheck_before)
    guards.channels_polled(available, covered, push_on=push_on)
    assert guards.ability_recheck is recheck_after
    assert tuple(guards.available) == available  # always the latest poll's


def test_g5_the_recheck_is_taken_once() -> None:
    guards = G(ability_recheck=True)
    assert guards.take_ability_recheck()
    assert not guards.ability_recheck and not guards.take_ability_recheck()


@pytest.mark.parametrize(
    ("shown", "pair", "written", "shown_after"),
    [
        (("", ""), ("poll", ""), False, ("", "")),  # undecided: nothing to show yet
        (("", ""), ("push", ""), True, ("push", "")),
        (("push", ""), ("push", ""), False, ("push", "")),  # shown already
        (("push", ""), ("poll", "no free slot"), True, ("poll", "no free slot")),
        (("poll", "no free slot"), ("poll", "no free slot"), False, ("poll", "no free slot")),
        (("poll", "no free slot"), ("poll", "not supported"), True, ("poll", "not supported")),
    ],
)
def test_g6_push_is_shown_once_per_decided_pair(
    shown: Tuple[str, str], pair: Tuple[str, str], written: bool, shown_after: Tuple[str, str]
) -> None:
    guards = G(push_shown=shown)
    assert guards.show_push(*pair) is written
    assert guards.push_shown == shown_after


# --- the guards and the flow slot in the core's turns ----------------------------------------


def test_g1_a_driver_bug_holds_the_next_session_step_one_interval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL)  # polls at 0 and 5
    calls = h.break_poll_once(monkeypatch)
    h.run(INTERVAL)  # the poll at 10 crashes
    assert calls == [10.0] and h.core.guards.hold_until == 10.0 + INTERVAL
    assert h.sent("GetEvents")[-1] == 10.0  # no step during the hold
    h.core.next_poll = 11.0  # even with a poll due within the hold (say, a push poll):
    assert h.core.handle(12.0, Tick()) == [WaitUntil(15.0)]  # no step, no wake-up before 15
    h.run(INTERVAL)
    assert h.sent("GetEvents")[-1] == 15.0 and h.value("online") is True  # the device goes on


def test_g2_a_reboot_opens_the_grace_and_failures_in_it_say_rebooting() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    at = h.now
    assert h.command("reboot") == {"rebooting": True}
    assert h.core.guards.reboot_grace_until == at + h.core.timing.reboot_grace
    h.run(INTERVAL * 2)
    assert h.value("error").startswith("rebooting")


def _paused_poll(h: Harness) -> float:
    """Start the next poll and fail its request once (a repeatable read is sent once more
    after a short pause); returns when the pause ends."""
    h.now = h._until
    assert isinstance(h.core.handle(h.now, Tick())[-1], Send)  # the poll's request
    refused = ConnectError("127.0.0.1:80: connection refused")  # provably never left
    failed = h.core.handle(h.now, SendFailed(refused))
    until = h.core._pause_until
    assert until is not None and until > h.now and failed == [WaitUntil(until)]
    return until


def test_flow_slot_a_paused_flow_waits_and_resumes_only_at_its_time() -> None:
    h = Harness(FakeDevice())
    h.run(INTERVAL)
    until = _paused_poll(h)
    early = h.core.handle(until - 0.01, Tick())  # a Tick before the pause ends
    assert early == [WaitUntil(until)] and h.core._pause_until == until
    resumed = h.core.handle(until, Tick())
    assert isinstance(resumed[-1], Send) and h.core._pause_until is None  # sent once more
    assert [c["cmd"] for c in json.loads(resumed[-1].request.body or b"[]")] == ["GetEvents"]


def test_flow_slot_disconnect_clears_a_pause() -> None:
    h = Harness(FakeDevice())
    h.run(INTERVAL)
    _paused_poll(h)
    h.feed(Disconnect(h.now))
    assert h.core._pause_until is None and h.core.phase is P.STOPPING
