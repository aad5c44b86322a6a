"""The driver core with a fake clock and a scripted fake device: no threads, no sockets, no sleeps.

Each test feeds ``(now, event)`` into :class:`~reolink.driver.core.DriverCore` and answers its
``Send`` actions from :class:`FakeDevice`, a few dozen lines that reply like firmware. Time only
moves when the core asks to wait, so hours of back-off run in milliseconds.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Set, Tuple, Union

import pytest

from reolink.driver.config import parse_device
from reolink.driver.core import DriverCore
from reolink.driver.events import AttributeEvent
from reolink.driver.messages import (
    CommandQueued,
    Disconnect,
    Emit,
    Fail,
    Finished,
    Offline,
    PushWake,
    Ready,
    Replied,
    Resolve,
    Send,
    SendFailed,
    Start,
    Tick,
    WaitUntil,
)
from reolink.driver.poller import Plan, Poller
from reolink.driver.table import validate_args
from reolink.driver.timing import Timing
from reolink.errors import (
    CommandTimeout,
    ConnectError,
    NotConnected,
    Timeout,
    TransportError,
    TransportProtocolError,
)
from reolink.transport import Request, Response

# The real numbers (time is simulated), without the detection-setup read: these tests count
# requests exactly; tests/test_driver_setup.py runs the core with it.
TIMING = Timing(setup_every=0.0)
INTERVAL = 5.0  # the default status_interval
Outcome = Union[Response, TransportError]


def _ok(cmd: str, value: Dict[str, Any]) -> Dict[str, Any]:
    return {"cmd": cmd, "code": 0, "value": value}


def _error(cmd: str, code: int, detail: str) -> Dict[str, Any]:
    return {"cmd": cmd, "code": 1, "error": {"rspCode": code, "detail": detail}}


class FakeDevice:
    """Answers like firmware: Login/Logout, identity, motion/AI polls, PTZ, siren, reboot.

    ``script`` holds one-shot answers: ``(cmd, rsp_code)`` answers that command once with that
    error; a TransportError in ``failures`` is raised instead of the next reply.
    """

    def __init__(self, *, channels: int = 1, lease: int = 3600, password: str = "admin123") -> None:
        self.channels = channels
        self.lease = lease
        self.password = password
        self.motion: Dict[int, bool] = {c: False for c in range(channels)}
        self.people: Dict[int, bool] = {c: False for c in range(channels)}
        self.offline: Set[int] = set()
        self.tokens: Set[str] = set()
        self.script: List[Tuple[str, int]] = []
        self.failures: List[TransportError] = []
        self.down = False
        self.log: List[Tuple[float, List[str], bool]] = []
        self._serial = 0

    def __call__(self, request: Request, now: float) -> Outcome:
        if self.down:
            return ConnectError("127.0.0.1:80: connection refused")
        body = json.loads(request.body or b"[]")
        self.log.append((now, [c["cmd"] for c in body], request.repeatable))
        if self.failures:
            return self.failures.pop(0)
        token = request.target.partition("token=")[2].partition("&")[0]
        replies = [self._answer(c, token) for c in body]
        return Response(200, {"Content-Type": "application/json"}, json.dumps(replies).encode())

    def _answer(self, command: Dict[str, Any], token: str) -> Dict[str, Any]:
        cmd = command["cmd"]
        for index, (name, code) in enumerate(self.script):
            if name == cmd:
                del self.script[index]
                return _error(cmd, code, "scripted")
        if cmd == "Login":
            if command["param"]["User"]["password"] != self.password:
                return _error(cmd, -7, "login failed")
            self._serial += 1
            name = f"tok{self._serial:012d}"
            self.tokens.add(name)
            return _ok(cmd, {"Token": {"name": name, "leaseTime": self.lease}})
        if token not in self.tokens:
            return _error(cmd, -6, "please login first")
        channel = command.get("param", {}).get("channel", 0)
        if cmd == "Logout":
            self.tokens.discard(token)
            return _ok(cmd, {"rspCode": 200})
        return self._query(cmd, channel)

    def _query(self, cmd: str, channel: int) -> Dict[str, Any]:
        if cmd == "GetDevInfo":
            kind = "NVR" if self.channels > 1 else "IPC"
            info = {"model": "FAKE", "firmVer": "1.0", "hardVer": "h", "serial": "s", "name": "n"}
            return _ok(cmd, {"DevInfo": {**info, "type": kind, "channelNum": self.channels}})
        if cmd == "GetAbility":
            return _error(cmd, -9, "not support")  # capabilities unchecked: every command goes
        if cmd == "GetChannelstatus":
            if self.channels == 1:
                return _error(cmd, -9, "not support")
            status = [
                {"channel": c, "online": int(c not in self.offline)} for c in range(self.channels)
            ]
            return _ok(cmd, {"count": self.channels, "status": status})
        if channel in self.offline:
            return _error(cmd, -17, "rcv failed")
        if cmd == "GetMdState":
            return _ok(cmd, {"state": int(self.motion[channel])})
        if cmd == "Reboot":
            self.down = True  # answers, then drops off the network with every session
            self.tokens.clear()
        if cmd == "GetEvents":
            people = {"alarm_state": int(self.people[channel]), "support": 1}
            md = {"alarm_state": int(self.motion[channel]), "support": 1}
            return _ok(cmd, {"channel": channel, "ai": {"people": people}, "md": md})
        return _ok(cmd, {"rspCode": 200})  # PtzCtrl, AudioAlarmPlay, SetWhiteLed, Reboot


class Harness:
    """Runs the core against a FakeDevice on simulated time, recording what it does."""

    def __init__(
        self,
        device: FakeDevice,
        zones: Optional[Dict[str, Dict[str, str]]] = None,
        *,
        timing: Timing = TIMING,
        password: str = "admin123",
    ) -> None:
        attributes = {"ip": "127.0.0.1", "username": "admin", "password": password}
        config = parse_device(
            attributes, zones or {"0": {}}, min_status_interval_ms=timing.min_status_interval_ms
        )
        self.core = DriverCore(config, timing)
        self.device = device
        self.now = 0.0
        self.events: List[Tuple[float, AttributeEvent]] = []
        self.emits: List[Tuple[AttributeEvent, ...]] = []
        self.results: Dict[int, Any] = {}
        self.offline: List[Offline] = []
        self.ready = False
        self.finished = False
        self._send: Optional[Send] = None
        self._until = 0.0
        self._jobs = 0
        #: simulated time each request takes
        self.latency = 0.0
        self.feed(Start())

    def feed(self, event: Any) -> None:
        for action in self.core.handle(self.now, event):
            if isinstance(action, Send):
                assert self._send is None, "two requests outstanding"
                self._send = action
            elif isinstance(action, WaitUntil):
                assert action.when >= self.now - 1e-9 or self._send is None
                self._until = action.when
            elif isinstance(action, Emit):
                self.emits.append(action.events)
                self.events += [(self.now, e) for e in action.events]
            elif isinstance(action, (Resolve, Fail)):
                self.results[action.job] = (
                    action.result if isinstance(action, Resolve) else action.error
                )
            elif isinstance(action, Offline):
                self.offline.append(action)
            elif isinstance(action, Ready):
                self.ready = True
            elif isinstance(action, Finished):
                self.finished = True

    def run(self, seconds: float) -> None:
        """Let ``seconds`` of simulated time pass, answering every request at once."""
        end = self.now + seconds
        for _ in range(200_000):
            if self.finished:
                return
            if self._send is not None and self.latency and self.now >= end:
                return  # a slow device: time is up with a request about to go out
            if self._send is not None:
                send, self._send = self._send, None
                outcome = self.device(send.request, self.now)
                self.now += self.latency
                self.feed(
                    SendFailed(outcome) if isinstance(outcome, TransportError) else Replied(outcome)
                )
            elif self._until > end:
                self.now = end
                return
            else:
                self.now = max(self.now, self._until)
                self.feed(Tick())
        raise AssertionError("the core never went idle")

    def command(self, name: str, args: Optional[Dict[str, Any]] = None, budget: float = 8.0) -> Any:
        """Queue a host command and run until it is settled; returns its result or error."""
        self._jobs += 1
        checked = validate_args(name, dict(args or {}))
        if "address" in checked:
            checked["channel"] = int(checked["address"])
        job = CommandQueued(self._jobs, name, checked, self.now + budget)
        self.feed(job)
        for _ in range(1000):
            if job.job in self.results:
                return self.results[job.job]
            self.run(0.01)
        raise AssertionError(f"{name} never settled")

    def value(self, name: str, address: Optional[str] = None) -> Any:
        return self.core.values().get(("device" if address is None else "zone", address, name))

    def history(self, name: str, address: Optional[str] = None) -> List[Any]:
        target = "device" if address is None else "zone"
        return [
            e.value
            for _, e in self.events
            if (e.target, e.address, e.name) == (target, address, name)
        ]

    def break_poll_once(self, monkeypatch: pytest.MonkeyPatch) -> List[float]:
        """The next poll's apply raises (a driver bug), later ones work; returns the times
        apply was called at, filled as it is called."""
        original = self.core.poller.apply
        calls: List[float] = []

        def broken_once(*args: object, **kwargs: object) -> object:
            calls.append(self.now)
            if len(calls) == 1:
                raise RuntimeError("a driver bug")
            return original(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(self.core.poller, "apply", broken_once)
        return calls

    def sent(self, cmd: str) -> List[float]:
        """When requests holding ``cmd`` were sent."""
        return [t for t, cmds, _ in self.device.log if cmd in cmds]


# --- connect, poll, what changed -----------------------------------------------------------


def test_connect_sequence_and_first_poll() -> None:
    h = Harness(FakeDevice())
    h.run(0)
    assert [cmds for _, cmds, _ in h.device.log] == [
        ["Login"],
        ["GetDevInfo", "GetAbility", "GetChannelstatus"],
        ["GetEvents"],
    ]
    assert h.ready and h.value("online") is True and h.value("online", "0") is True
    assert h.value("motion", "0") == 0 and h.value("ai_detected", "0") == ""


def test_polls_every_interval_and_reports_each_edge_once() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL * 3)
    assert h.sent("GetEvents") == [0.0, 5.0, 10.0, 15.0]
    device.motion[0] = device.people[0] = True
    h.run(INTERVAL)
    device.motion[0] = False
    h.run(INTERVAL * 3)
    assert h.history("motion", "0") == [0, 1, 0]
    # people stays detected after motion ends (the fake keeps it): one edge each way.
    assert h.history("ai_detected", "0") == ["", "people"]
    assert h.history("online") == [True]


def test_steady_state_emits_nothing() -> None:
    h = Harness(FakeDevice())
    h.run(INTERVAL)
    before = len(h.events)
    h.run(INTERVAL * 20)
    assert len(h.events) == before
    assert h.core.cycles == 22


def test_a_fresh_plan_object_every_cycle_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Caching is by value: if plan() built a new plan (new lists, new bytes) every cycle, the
    answers would still be applied right, and an unchanged answer still emit nothing."""
    original = Poller.plan

    def fresh(self: Poller, now: float) -> Plan:
        plan = original(self, now)
        parts = [(list(cmds), bytes(bytearray(body))) for cmds, body in plan.parts]
        return Plan(key=tuple(plan.key), commands=list(plan.commands), parts=parts)

    monkeypatch.setattr(Poller, "plan", fresh)
    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL * 2)
    quiet = len(h.events)
    h.run(INTERVAL * 5)
    assert len(h.events) == quiet
    device.motion[0] = True
    h.run(INTERVAL)
    device.motion[0] = False
    h.run(INTERVAL)
    assert h.history("motion", "0") == [0, 1, 0]


def test_channel_going_offline_writes_each_zone_attribute_once() -> None:
    """-17 on the channel, then GetChannelstatus in the same batch says offline: the host sees
    the final error only, once (issue 11 item 2)."""
    device = FakeDevice(channels=2)
    h = Harness(device, {"0": {}, "1": {}})
    h.run(57)
    device.offline.add(1)  # the cycle at 60 s carries the GetChannelstatus refresh
    h.run(INTERVAL)
    assert "GetChannelstatus" in device.log[-1][1]
    assert h.history("error", "1") == ["", "channel is offline"]
    assert h.history("online", "1") == [True, False]
    for emit in h.emits:
        keys = [(e.target, e.address, e.name) for e in emit]
        assert len(keys) == len(set(keys)), "an attribute twice in one write"
    device.offline.discard(1)
    h.run(INTERVAL * 2)
    assert h.value("online", "1") is True and h.value("error", "1") == ""


def test_changes_reach_the_host_when_polls_run_back_to_back() -> None:
    """A slow device (each request longer than the interval): the core is never idle, yet
    every cycle's changes are handed over when that cycle ends."""
    device = FakeDevice()
    h = Harness(device)
    h.latency = INTERVAL * 1.5
    h.run(INTERVAL * 4)
    device.motion[0] = True
    h.run(INTERVAL * 4)
    assert h.value("motion", "0") == 1
    assert h.history("motion", "0") == [0, 1]


def test_a_poll_due_while_a_command_ran_goes_out_right_after_it() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(4.5)
    h.now = INTERVAL  # the poll is due just as the host's command arrives
    h.command("siren", {"address": "0"})
    h.run(0)
    assert [cmds for _, cmds, _ in device.log[-2:]] == [["AudioAlarmPlay"], ["GetEvents"]]
    assert h.sent("GetEvents")[-1] == INTERVAL


def test_push_wake_polls_at_once() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1.0)
    device.motion[0] = True
    h.feed(PushWake())
    h.run(0)
    assert h.sent("GetEvents") == [0.0, 1.0]
    assert h.value("motion", "0") == 1


# --- session: lease, -6, credentials, back-off ------------------------------------------------


@pytest.mark.parametrize(
    ("lease", "renewals"),
    [(3600, [3540.0, 7080.0]), (60, [30.0, 60.0, 90.0]), (100, [50.0, 100.0])],
)
def test_token_renewed_before_the_lease_ends(lease: int, renewals: List[float]) -> None:
    h = Harness(FakeDevice(lease=lease))
    h.run(renewals[-1] + 1)
    logins = h.sent("Login")
    assert logins[1:] == pytest.approx(renewals, abs=INTERVAL)
    # Each renewal gives the old session back first.
    logouts = h.sent("Logout")
    assert len(logouts) == len(renewals)
    assert h.history("online") == [True]


def test_minus_6_mid_session_relogs_in_once_and_retries_the_command() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL)
    device.tokens.clear()  # the device forgot our session
    h.run(INTERVAL)
    # The refused poll, one Login (no Logout: the token is already dead), the poll again.
    assert [cmds for _, cmds, _ in device.log[-3:]] == [["GetEvents"], ["Login"], ["GetEvents"]]
    assert len(h.sent("Login")) == 2
    assert h.history("online") == [True]


def test_minus_6_on_a_fresh_token_backs_off_instead_of_storming() -> None:
    """Refused with a brand-new token: one more login after 5 s, then 30 s, 5 min, 15 min."""
    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL)
    device.script += [("GetEvents", -6)] * 50
    h.run(3600)
    logins = h.sent("Login")
    gaps = [b - a for a, b in zip(logins[1:], logins[2:])]
    # 5 s (one quick retry), then 30 s, 5 min, and 15 min for every later try (each gap also
    # waits for the next poll slot, hence the tolerance of one interval).
    expected = [5.0, 30.0, 300.0] + [900.0] * (len(gaps) - 3)
    assert gaps == pytest.approx(expected, abs=INTERVAL)
    assert len(logins) <= 10


@pytest.mark.parametrize(
    ("code", "detail_action"),
    [(-7, "wrong password"), (-502, "locked")],
)
def test_refused_login_never_more_than_3_in_10_minutes(code: int, detail_action: str) -> None:
    device = FakeDevice(password="right")
    if code != -7:
        device.script += [("Login", code)] * 1000
    h = Harness(device, password="wrong-pass")
    h.run(2 * 3600)
    # A command meanwhile says why, sends nothing, and never shows the password.
    sent = len(device.log)
    error = h.command("get_dev_info")
    assert "login" in str(error).lower() and "wrong-pass" not in str(error)
    assert len(device.log) == sent
    logins = h.sent("Login")
    assert len(logins) >= 3
    for start in logins:
        assert len([t for t in logins if start <= t < start + 600]) <= 3
    assert h.value("online") is False
    assert "login" in h.value("error").lower() and "wrong-pass" not in h.value("error")
    assert h.offline and h.offline[0].error is not None


def test_refused_login_schedule_30s_5min_15min() -> None:
    device = FakeDevice(password="right")
    h = Harness(device, password="wrong")
    h.run(3 * 3600)
    logins = h.sent("Login")
    gaps = [round(b - a) for a, b in zip(logins, logins[1:])]
    assert gaps[0] == pytest.approx(30, abs=INTERVAL)
    assert gaps[1] == pytest.approx(300, abs=INTERVAL)
    assert all(g >= 600 for g in gaps[2:])


@pytest.mark.parametrize(
    ("failures", "offline_after"),
    [
        (1, False),  # one failure once reached: retried quietly
        (2, True),  # the second in a row: offline
    ],
)
def test_transport_failures_show_offline_after_two(failures: int, offline_after: bool) -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL)
    device.failures += [Timeout("127.0.0.1:80: no reply within 8 s")] * failures
    h.run(INTERVAL * failures + 0.5)
    assert (False in h.history("online")) is offline_after
    h.run(120)
    assert h.value("online") is True


def test_unreachable_at_start_is_offline_at_once_and_backs_off() -> None:
    device = FakeDevice()
    device.down = True
    h = Harness(device)
    h.run(1)
    assert len(device.log) == 0 and h.ready and h.value("online") is False
    assert "refused" in h.value("error")
    assert isinstance(h.offline[0].error, ConnectError)
    # Nothing reached the device: the counters a host (and `watch`'s summary) shows say so.
    assert h.core.client.requests_sent == 0 and h.core.client.logins_sent == 0
    h.run(300)
    device.down = False
    h.run(120)
    assert h.value("online") is True


@pytest.mark.parametrize(
    ("failure", "gaps"),
    [
        # A poll that times out is not repeated within its cycle (no deadline): the next try
        # waits the back-off, doubling from 1 s to 60 s.
        (Timeout("no reply within 8 s"), [1, 2, 4, 8, 16, 32, 60, 60, 60, 60]),
        # Connection refused: the request never left, so it goes once more after 50 ms,
        # and each failed pair backs off the same way.
        (ConnectError("connection refused"), [0.05, 1, 0.05, 2, 0.05, 4, 0.05, 8, 0.05, 16]),
    ],
)
def test_transport_backoff_doubles_to_60_s(failure: TransportError, gaps: List[float]) -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL)
    start = len(device.log)
    device.failures += [failure] * 40
    h.run(600)
    times = [t for t, _, _ in device.log[start:]]
    assert [b - a for a, b in zip(times, times[1:])][: len(gaps)] == pytest.approx(gaps)
    assert h.value("online") is False


# --- commands: request safety -------------------------------------------------------------

COMMANDS: List[Tuple[str, Dict[str, Any], str, bool]] = [
    ("get_dev_info", {}, "GetDevInfo", True),
    ("get_motion", {"address": "0"}, "GetEvents", True),
    ("siren", {"address": "0"}, "AudioAlarmPlay", False),
    ("spotlight_on", {"address": "0"}, "SetWhiteLed", False),
    ("spotlight_off", {"address": "0"}, "SetWhiteLed", False),
    ("ptz", {"address": "0", "op": "Left", "duration": 0}, "PtzCtrl", False),
    ("reboot", {}, "Reboot", False),
]


def _cmd_name(name: str) -> str:
    return {"get_motion": "GetMdState"}.get(name, "")


@pytest.mark.parametrize(("name", "args", "cmd", "repeatable"), COMMANDS)
def test_only_read_only_requests_are_marked_repeatable(
    name: str, args: Dict[str, Any], cmd: str, repeatable: bool
) -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    h.command(name, args)
    cmd = _cmd_name(name) or cmd
    marks = [r for _, cmds, r in device.log if cmd in cmds]
    assert marks and set(marks) == {repeatable}
    assert all(r for _, cmds, r in device.log if cmds == ["GetEvents"])


@pytest.mark.parametrize(("name", "args", "cmd", "repeatable"), [c for c in COMMANDS if not c[3]])
@pytest.mark.parametrize(
    "lost",
    [
        Timeout("no reply within 8 s"),
        TransportProtocolError("connection closed before the reply"),
        # What the real transports say: the note is theirs already, and is not said twice.
        TransportProtocolError(
            "connection closed by the device before any reply; "
            "the device may have executed the request (it was not sent again)",
            may_have_run=True,  # the fact travels as a field, the message is not read
        ),
    ],
)
def test_lost_reply_to_a_command_that_changes_something_is_never_repeated(
    name: str, args: Dict[str, Any], cmd: str, repeatable: bool, lost: TransportError
) -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    device.failures.append(lost)
    error = h.command(name, args)
    assert isinstance(error, TransportError) and error.request_sent
    assert str(error).count("may have executed") == 1 and "not sent again" in str(error)
    h.run(INTERVAL * 3)
    assert len(h.sent(cmd)) == 1


@pytest.mark.parametrize(("name", "args", "cmd", "repeatable"), COMMANDS)
def test_a_request_that_never_left_is_sent_once_more(
    name: str, args: Dict[str, Any], cmd: str, repeatable: bool
) -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    cmd = _cmd_name(name) or cmd
    before = len(h.sent(cmd))
    device.failures.append(ConnectError("connection refused", request_sent=False))
    result = h.command(name, args)
    assert not isinstance(result, Exception), result
    assert len(h.sent(cmd)) == before + 2


def test_lost_reply_to_a_read_only_command_is_retried_within_its_deadline() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    device.failures.append(Timeout("no reply"))
    assert h.command("get_dev_info")["model"] == "FAKE"
    assert len(h.sent("GetDevInfo")) == 3  # identify, the lost one, the retry


def test_command_whose_deadline_passed_while_queued_times_out_unsent() -> None:
    h = Harness(FakeDevice())
    h.run(1)
    error = h.command("siren", {"address": "0"}, budget=0.0)
    assert isinstance(error, CommandTimeout)
    assert h.sent("AudioAlarmPlay") == []


# --- PTZ stop and reboot, as effects ---------------------------------------------------------


def test_ptz_move_schedules_a_repeatable_stop() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    h.command("ptz", {"address": "0", "op": "Left", "duration": 1500})
    h.run(3)
    ptz = [(t, r) for t, cmds, r in device.log if cmds == ["PtzCtrl"]]
    assert [r for _, r in ptz] == [False, True]
    assert ptz[1][0] - ptz[0][0] == pytest.approx(1.5)


@pytest.mark.parametrize(
    ("failures", "stops"),
    [
        # The reply to the move was lost: the camera may be moving, so the Stop still comes.
        ([Timeout("no complete response within 8.0 s")], 1),
        ([TransportProtocolError("connection closed by the device before any reply")], 1),
        # It never left, twice (the driver sends a request that never left once more): no move.
        ([ConnectError("connection refused", request_sent=False)] * 2, 0),
    ],
)
def test_a_move_whose_reply_is_lost_still_gets_its_stop(
    failures: List[TransportError], stops: int
) -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    device.failures.extend(failures)
    error = h.command("ptz", {"address": "0", "op": "Left", "duration": 1500})
    assert isinstance(error, TransportError)
    h.run(5)
    automatic = [t for t, cmds, r in device.log if cmds == ["PtzCtrl"] and r]
    assert len(automatic) == stops
    moves = [t for t, cmds, r in device.log if cmds == ["PtzCtrl"] and not r]
    assert len(moves) == len(failures)  # the move itself was never repeated after it left


@pytest.mark.parametrize(
    ("second", "stops_sent"),
    [
        ({"op": "Right", "duration": 5000}, 1),  # replaces the pending Stop (one, later)
        ({"op": "Stop"}, 0),  # the host stopped it: no automatic Stop
        ({"op": "Right", "duration": 0}, 0),  # no automatic Stop wanted
    ],
)
def test_a_later_ptz_command_replaces_the_pending_stop(
    second: Dict[str, Any], stops_sent: int
) -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    h.command("ptz", {"address": "0", "op": "Left", "duration": 1000})
    h.command("ptz", {"address": "0", **second})
    h.run(10)
    automatic = [t for t, cmds, r in device.log if cmds == ["PtzCtrl"] and r]
    assert len(automatic) == stops_sent


def test_disconnect_sends_the_pending_stop_then_logout() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    h.command("ptz", {"address": "0", "op": "Left", "duration": 60000})
    h.feed(Disconnect(h.now))
    h.run(1)
    assert h.finished
    assert [cmds for _, cmds, _ in device.log[-2:]] == [["PtzCtrl"], ["Logout"]]
    assert device.tokens == set()


def test_disconnect_fails_queued_commands_and_sends_nothing_when_unreachable() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    device.down = True
    h.run(INTERVAL * 3)
    sent = len(device.log)
    h.feed(CommandQueued(99, "siren", {"address": "0", "channel": 0}, h.now + 8))
    h.feed(Disconnect(h.now))
    h.run(1)
    assert h.finished
    assert isinstance(h.results.get(99), NotConnected)
    assert len(device.log) == sent


def test_reboot_goes_offline_then_reidentifies() -> None:
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    assert h.command("reboot") == {"rebooting": True}
    assert h.value("online") is False and "rebooting" in h.value("error")
    h.run(60)
    assert "rebooting" in h.value("error")
    device.down = False
    h.run(120)
    assert h.value("online") is True
    assert len(h.sent("GetDevInfo")) == 2


# --- wind-down and values ---------------------------------------------------------------------


def test_values_hold_the_committed_value_of_every_attribute() -> None:
    h = Harness(FakeDevice(channels=2), {"0": {}, "1": {}})
    h.run(1)
    values = h.core.values()
    assert values[("device", None, "model")] == "FAKE"
    assert values[("zone", "1", "online")] is True
    assert {type(values[(t, a, "online")]) for t, a in (("device", None), ("zone", "0"))} == {bool}


def test_the_core_reads_no_clock_and_does_no_io() -> None:
    from pathlib import Path

    import reolink.driver.core as core

    source = Path(core.__file__).read_text()
    for banned in ("import time", "import socket", "import threading", "monotonic(", "sleep("):
        assert banned not in source


# --- the session's decisions, one table (reolink.protocol.session.Session) --------------------


def _session(state: str) -> Any:
    """A Session put in a named situation at t=100 (policy defaults)."""
    from reolink.protocol.codes import AuthAction
    from reolink.protocol.results import LoginToken
    from reolink.protocol.session import Session

    session = Session()
    token = LoginToken(name="t0000000000001", lease_time=3600)
    if state == "new":
        return session
    if state == "ready":
        session.on_login_ok(token, 90.0)
    elif state == "expiring":
        session.on_login_ok(token, 100.0 - 3560.0)
    elif state == "backing-off":
        session.on_login_ok(token, 90.0)
        session.on_request_ok(95.0)
        session.on_transport_failed("stall", 99.5)  # retry at 100.5
    elif state == "refused":
        session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", 95.0)  # 30 s
    elif state == "three-refused":
        for t in (10.0, 50.0, 95.0):
            session.on_login_refused(AuthAction.BAD_CREDENTIALS, "login failed", t)
        session.retry_at = 0.0  # the back-off is over; the window is not
    return session


@pytest.mark.parametrize(
    ("state", "identified", "poll_due", "step"),
    [
        ("new", False, False, "identify"),
        ("ready", True, False, "idle"),
        ("ready", True, True, "poll"),
        ("ready", False, False, "identify"),
        ("expiring", True, False, "renew"),
        ("expiring", True, True, "renew"),
        ("backing-off", True, True, "idle"),
        ("refused", True, True, "show-offline"),
        ("refused", False, False, "show-offline"),
        ("three-refused", False, False, "show-offline"),
    ],
)
def test_session_next_step(state: str, identified: bool, poll_due: bool, step: str) -> None:
    session = _session(state)
    chosen = session.next_step(100.0, identified=identified, poll_due=poll_due)
    assert chosen.value == step


@pytest.mark.parametrize(
    ("state", "manual", "allowed"),
    [
        ("new", False, True),
        ("refused", False, False),  # paused 30 s after a refused Login...
        ("refused", True, True),  # ...but the host's own login command may try
        ("three-refused", False, False),  # 3 refusals in 10 minutes: nobody may log in
        ("three-refused", True, False),
    ],
)
def test_session_login_refusal(state: str, manual: bool, allowed: bool) -> None:
    refusal = _session(state).login_refusal(100.0, manual=manual)
    assert (refusal is None) is allowed


@pytest.mark.parametrize(
    ("state", "token", "login", "refused"),
    [
        ("new", False, True, False),
        ("ready", True, False, False),
        ("backing-off", True, False, False),
        ("expiring", False, True, False),
        ("refused", False, False, True),
    ],
)
def test_session_authorize(state: str, token: bool, login: bool, refused: bool) -> None:
    grant = _session(state).authorize(100.0)
    assert (grant.token is not None, grant.login, grant.refused is not None) == (
        token,
        login,
        refused,
    )


def test_no_import_cycle_inside_the_driver_package() -> None:
    """Every relative import counts, TYPE_CHECKING ones too."""
    import ast
    from pathlib import Path

    import reolink.driver

    package = Path(reolink.driver.__file__).parent
    imports: Dict[str, Set[str]] = {}
    for path in package.glob("*.py"):
        found: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
        imports[path.stem] = found - {"__init__"}

    def reaches(start: str, goal: str, seen: Set[str]) -> bool:
        for name in imports.get(start, set()):
            if name == goal or (name not in seen and reaches(name, goal, seen | {name})):
                return True
        return False

    cycles = [name for name in imports if name != "__init__" and reaches(name, name, {name})]
    assert cycles == []
