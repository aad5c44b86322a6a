"""The fault matrix: every emulated failure over real HTTP, and what the driver makes of it.

Every test runs the driver with the scaled timing (all durations x0.01: back-off 10 ms doubling
to 0.6 s, auth back-off 0.3 s / 3 s / 9 s, the account-safety window 6 s; the account-safety
tests x0.003, see ``AUTH``) against an emulator on loopback, polling every 50 ms with a 500 ms
request timeout. For each fault it shows:

* the device thread survives (``driver.running``), no thread dies (conftest's excepthook);
* ``online``/``error`` reflect the fault after at most ``offline_after`` failed polls;
* polling recovers by itself with the first poll after the fault ends, and motion edges that
  begin afterwards all arrive;
* commands during the fault fail with a clear error, sent at most once (nothing at all when
  the driver already knows the device cannot answer);
* Login requests stay within the account-safety rule.

How soon something happens is read from the emulator's request log (how many requests it
took), never from a stopwatch: waits only guard against a hang.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from typing import Any, Iterator, List, Optional, Tuple

import attrs
import pytest
from conftest import FAST, Recorder, http_driver, pause, wait_until

from reolink.driver import AttributeEvent, ReolinkDriver, Timing
from reolink.emulator import Emulator, Fault
from reolink.emulator.core import RequestRecord
from reolink.errors import (
    AuthError,
    ConnectError,
    LockedOutError,
    ReolinkError,
)

INTERVAL = 0.05
TIMEOUT = 0.5
#: These tests count the polls a change takes to show: push (which adds polls on the device's
#: calls, and registration requests after each connect) is off; tests/test_driver_push*.py
#: cover it.
ATTRS = {
    "status_interval": str(int(INTERVAL * 1000)),
    "request_timeout": str(int(TIMEOUT * 1000)),
    "push": "off",
}
#: The account-safety tests wait out back-offs of minutes: they run x0.003 (auth back-off 0.09 s
#: / 0.9 s / 2.7 s, the 10 min window 1.8 s) and poll every 30 ms (10 s of device time). Their
#: counts (Logins per window) do not change with the scale.
AUTH = Timing().scaled(0.003, min_status_interval_ms=10)
AUTH_ATTRS = {"status_interval": "30", "request_timeout": str(int(TIMEOUT * 1000)), "push": "off"}
#: How long a test waits for what must happen (a guard against a hang, not a bound: how soon
#: something happened is asserted on the emulator's request log).
WAIT = 10.0


# --- helpers ---------------------------------------------------------------------------------


def logins(emu: Emulator) -> List[RequestRecord]:
    return [r for r in emu.requests if r.cmds == ["Login"]]


def start(
    emu: Emulator, recorder: Recorder, zones: Any = None, timing: Timing = FAST, **attrs: str
) -> ReolinkDriver:
    merged = dict(AUTH_ATTRS if timing is AUTH else ATTRS)
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


def more_requests(emu: Emulator, n: int) -> None:
    """Let the driver run until the device has seen ``n`` more requests (not a time span)."""
    mark = len(emu.requests)
    assert wait_until(lambda: len(emu.requests) >= mark + n, WAIT)


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
        assert len(edge.requests()) <= 2
    seen = recorder.history("motion", address)[before:]
    assert seen == [1, 0] * (edges // 2)


def raw_login(emu: Emulator, password: str = "admin123") -> Any:
    """A Login from another client (a phone app, a second controller) straight to the device."""
    body = json.dumps(
        [{"cmd": "Login", "param": {"User": {"userName": "admin", "password": password}}}]
    ).encode()
    request = urllib.request.Request(f"{emu.url}/cgi-bin/api.cgi?cmd=Login", data=body)
    with urllib.request.urlopen(request, timeout=2) as reply:
        return json.loads(reply.read())[0]


def raw_logout(emu: Emulator, token: str) -> None:
    body = json.dumps([{"cmd": "Logout", "param": {}}]).encode()
    request = urllib.request.Request(
        f"{emu.url}/cgi-bin/api.cgi?cmd=Logout&token={token}", data=body
    )
    with urllib.request.urlopen(request, timeout=2) as reply:
        reply.read()


@pytest.fixture
def camera() -> Iterator[Emulator]:
    with Emulator(profile="camera") as emu:
        yield emu


@pytest.fixture
def nvr() -> Iterator[Emulator]:
    with Emulator(profile="nvr", channels=4) as emu:
        yield emu


# --- transient faults: the whole request fails for a while -----------------------------------

#: kind -> (Fault kwargs, what the command error / device error must say)
TRANSIENT = {
    "refuse": ({"seconds": 0.5}, r"connection refused"),
    "drop": ({"count": None}, r"connection broken|closed"),
    "drop_mid_reply": ({"count": None}, r"closed mid-reply|connection broken"),
    "stall": ({"count": None, "seconds": 2.0}, r"no complete response|no answer|within"),
    "http_502": ({"count": None}, r"502"),
    "html_index": ({"count": None}, r"HTML"),
    "truncated": ({"count": None}, r"(invalid|truncated) JSON"),
    "short_reply": ({"count": None}, r"reply entries|fewer|short"),
}


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
        offline = Until(camera, recorder, "online", False)
        camera.add_fault(Fault(kind, **kwargs))

        # A command during the fault fails clearly; being read-only, it may be repeated once.
        sent, result = run_command(camera, driver, "get_motion", {"address": "0"})
        assert isinstance(result, ReolinkError), result
        assert sent <= 2
        assert str(result)

        # Offline after offline_after failed polls (refused ones never reach the log).
        failed_polls = [r for r in offline.requests() if r.cmds != ["GetMdState"]]
        assert len(failed_polls) <= FAST.session.offline_after, failed_polls
        error_then = recorder.value("error") or ""
        assert driver.running

        # The fault ends; polling comes back by itself, with the first poll that gets through.
        if kind == "refuse":
            assert camera.wait_until_up(WAIT)
        online = Until(camera, recorder, "online", True)
        camera.clear_faults()
        # (a stalled poll may still be in flight when the fault is cleared)
        assert len(online.requests()) <= (2 if kind == "stall" else 1)
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


# --- reboot, lease, -6 -----------------------------------------------------------------------


def test_reboot_tokens_invalid_one_login_after(camera: Emulator, recorder: Recorder) -> None:
    driver = connected(camera, recorder)
    try:
        token_before = camera.sessions[0]
        offline = Until(camera, recorder, "online", False)
        camera.reboot(down_seconds=1.0)
        assert offline.requests() == []  # nothing reaches a device that is down
        assert "refused" in recorder.value("error") or "connection" in recorder.value("error")

        sent, result = run_command(camera, driver, "get_dev_info")
        assert isinstance(result, ConnectError), result
        assert sent == 0

        online = Until(camera, recorder, "online", True)
        assert camera.wait_until_up(WAIT)
        # Back with the first tries: a poll refused -6 (the token died), one Login, a poll.
        back = [r.cmds for r in online.requests()]
        assert back.count(["Login"]) == 1 and len(back) <= 3, back
        motion_round_trip(camera, recorder)
        # The old token died with the reboot; one Login made a new one, and only one.
        assert len(logins(camera)) == 2
        assert token_before not in camera.sessions
        assert driver.running
    finally:
        driver.disconnect()


def test_short_lease_renewed_before_it_ends(recorder: Recorder) -> None:
    """A 1 s lease (refresh margin 0.3 s): the token is renewed ahead, never used late."""
    lease = 1
    timing = attrs.evolve(FAST, session=attrs.evolve(FAST.session, refresh_margin=0.3))
    with Emulator(profile="camera", lease=lease) as emu:
        driver = connected(emu, recorder, timing=timing)
        try:
            assert wait_until(lambda: emu.login_count >= 3, 4 * lease)
            motion_round_trip(emu, recorder)
        finally:
            driver.disconnect()
        issued: dict = {}
        login_at: Optional[float] = None
        for record in emu.requests:
            if record.cmds == ["Login"]:
                login_at = record.time
            elif record.token and record.token != "null":
                issued.setdefault(record.token, login_at)
                assert login_at is not None
                assert record.time < issued[record.token] + lease, "token used after its lease"
        assert len(issued) >= 3
    assert recorder.history("online") == [True]
    assert recorder.history("online", "0") == [1]


def test_single_minus_6_logs_in_once_and_goes_on(camera: Emulator, recorder: Recorder) -> None:
    driver = connected(camera, recorder)
    try:
        camera.add_fault(Fault("rsp_code", code=-6, count=1, cmd="GetEvents"))
        assert wait_until(lambda: not camera.pending_faults, WAIT)
        cycles = driver.stats().cycles
        assert wait_until(lambda: driver.stats().cycles >= cycles + 3, WAIT)
        motion_round_trip(camera, recorder)
        assert len(logins(camera)) == 2
        assert recorder.history("online") == [True]
    finally:
        driver.disconnect()


def test_single_minus_6_right_after_a_login_is_survived(
    camera: Emulator, recorder: Recorder
) -> None:
    driver = connected(camera, recorder)
    try:
        # A fresh Login (the command; lease renewals do the same), then one -6 on the next
        # poll, the first request with the new token (it comes tens of ms later).
        assert driver.command("login")["logged_in"] is True
        camera.add_fault(Fault("rsp_code", code=-6, count=1, cmd="GetEvents"))
        assert wait_until(lambda: not camera.pending_faults, WAIT)
        more_requests(camera, 3)
        assert recorder.history("online", "0") == [1], recorder.value("error", "0")
        assert recorder.history("online") == [True]
        motion_round_trip(camera, recorder)
    finally:
        driver.disconnect()


def test_persistent_minus_6_no_login_storm(camera: Emulator, recorder: Recorder) -> None:
    driver = connected(camera, recorder, timing=AUTH)
    try:
        camera.add_fault(Fault("rsp_code", code=-6, count=None, cmd="GetEvents"))
        pause(0.6)  # 200 s of device time
        storm = len(logins(camera)) - 1
        camera.clear_faults()
        # A Login per doubling back-off from auth_retry_delay would be 5 in these 200 s; one
        # per poll cycle (20) is the storm (and fills the session table: -5).
        assert storm <= 5, f"{storm} Logins in 200 s (device time) of persistent -6"
        assert "max session" not in str(recorder.history("error"))
        # The zone shows the truth meanwhile: its polls are refused.
        assert recorder.value("online", "0") == 0
        # Back after the fault ends, after the auth back-off step then in effect (two
        # refusals with a fresh token: the second step, 5 min real): one Login.
        mark = len(camera.requests)
        assert wait_until(lambda: driver.online and recorder.value("online", "0") == 1, WAIT)
        assert len([r for r in camera.requests[mark:] if r.cmds == ["Login"]]) <= 1
        motion_round_trip(camera, recorder)
    finally:
        driver.disconnect()


# --- login refusals: -5, -105, lock-out, wrong password --------------------------------------


def test_max_session_minus_5_waits_for_a_free_slot(recorder: Recorder) -> None:
    with Emulator(profile="camera", max_sessions=1) as emu:
        other = raw_login(emu)["value"]["Token"]["name"]  # another client holds the only slot
        driver = start(emu, recorder)
        try:
            assert driver.connect() is False
            assert driver.running
            assert "max session" in recorder.value("error")
            sent, result = run_command(emu, driver, "get_motion", {"address": "0"})
            assert isinstance(result, LockedOutError), result
            assert sent == 0  # refused at once: the driver knows it has no session
            online = Until(emu, recorder, "online", True)
            raw_logout(emu, other)
            # The next automatic Login (after the first auth back-off step) gets the slot.
            assert [r.cmds for r in online.requests()][:2] == [["Logout"], ["Login"]]
            motion_round_trip(emu, recorder)
        finally:
            driver.disconnect()
        assert len([r for r in logins(emu) if r.token is not None]) <= 3


def test_minus_105_frequent_logins_backs_off(recorder: Recorder) -> None:
    with Emulator(profile="camera") as emu:
        emu.add_fault(Fault("rsp_code", code=-105, count=None, cmd="Login"))
        driver = start(emu, recorder, timing=AUTH)
        try:
            assert driver.connect() is False
            assert "Frequent logins" in recorder.value("error")
            pause(0.3)  # 100 s of device time: at most the 30 s retry happened
            assert len(logins(emu)) <= 2
            sent, result = run_command(emu, driver, "get_dev_info")
            assert isinstance(result, LockedOutError), result
            assert "Frequent logins" in str(result)
            assert sent == 0
            emu.clear_faults()
            # The next try is 5 min (device time) after the second refusal; then it works.
            assert recorder.wait_for("online", True, timeout=WAIT)
            motion_round_trip(emu, recorder)
        finally:
            driver.disconnect()
        assert len(logins(emu)) <= 3


def test_locked_account_waits_out_the_lock(recorder: Recorder) -> None:
    """Someone else locked the account; the driver waits, then gets in with no extra failures."""
    with Emulator(profile="camera", lockout_attempts=2, lockout_duration=0.2) as emu:
        for _ in range(2):
            assert raw_login(emu, password="not-the-password")["code"] == 1
        driver = start(emu, recorder)
        try:
            assert driver.connect() is False
            assert "locked" in recorder.value("error")
            sent, result = run_command(emu, driver, "get_motion", {"address": "0"})
            assert isinstance(result, AuthError), result
            assert sent == 0
            assert recorder.wait_for("online", True, timeout=WAIT)
            motion_round_trip(emu, recorder)
        finally:
            driver.disconnect()
        assert len(logins(emu)) - 2 == 2  # the refused one, then the one that worked


def test_wrong_password_never_locks_the_account(recorder: Recorder) -> None:
    """Firmware here locks after 4 failures; the driver sends at most 3 in the (scaled) 10 min."""
    with Emulator(profile="camera", lockout_attempts=4) as emu:
        driver = start(emu, recorder, timing=AUTH, password="wrong-pass")
        try:
            assert driver.connect() is False
            assert "login failed" in recorder.value("error")
            sent, result = run_command(emu, driver, "get_dev_info")
            assert isinstance(result, AuthError), result
            assert sent == 0
            # Back-off 30 s then 5 min (device time): the third Login goes at ~5.5 min; the
            # fourth is not allowed before the 10 min window has passed.
            pause(1.08)  # 6 min of device time
            failed = len(logins(emu))
            assert driver.running
        finally:
            driver.disconnect()
        assert 2 <= failed <= 3
        # The account is not locked: the right password still works.
        assert raw_login(emu)["code"] == 0
        assert len(logins(emu)) == failed + 1


# --- batches: short or collapsed replies, commands that keep timing out ----------------------


def _singles_after(records: List[RequestRecord], index: int) -> List[List[str]]:
    """The single-command requests that directly follow request ``index``."""
    singles = []
    for record in records[index + 1 :]:
        if len(record.cmds) != 1:
            break
        singles.append(record.cmds)
    return singles


@pytest.mark.parametrize(
    "fault",
    [
        Fault("batch_error", code=-8, count=1, cmd="GetMdState"),
        Fault("batch_error", code=-10, count=1, cmd="GetMdState"),
        Fault("short_reply", count=1, cmd="GetMdState"),
    ],
    ids=["batch-8", "batch-10", "short"],
)
def test_bad_batch_retried_command_by_command(
    nvr: Emulator, recorder: Recorder, fault: Fault
) -> None:
    driver = connected(nvr, recorder, {"0": {}, "1": {}, "2": {}})
    try:
        nvr.clear_requests()
        nvr.add_fault(fault)
        assert wait_until(lambda: not nvr.pending_faults, WAIT)
        cycles = driver.stats().cycles
        assert wait_until(lambda: driver.stats().cycles >= cycles + 2, WAIT)
        records = nvr.requests
        faulty = next(i for i, r in enumerate(records) if "GetMdState" in r.cmds)
        batch = records[faulty].cmds
        assert len(batch) == 6  # GetMdState + GetAiState for 3 channels
        assert _singles_after(records, faulty) == [[c] for c in batch]
        # Nothing went offline for one bad reply.
        assert recorder.history("online") == [True]
        assert all(recorder.history("online", a) == [1] for a in "012")
        motion_round_trip(nvr, recorder, channel=2)
    finally:
        driver.disconnect()


def test_command_timing_out_alone_is_left_out_for_the_session(
    nvr: Emulator, recorder: Recorder
) -> None:
    """GetAiState keeps answering -8, even alone: after two lone tries it is no longer sent."""
    driver = connected(nvr, recorder, {"0": {}, "1": {}})
    try:
        nvr.add_fault(Fault("batch_error", code=-8, count=None, cmd="GetAiState"))
        nvr.clear_requests()
        assert wait_until(lambda: driver.stats().cycles >= 6, WAIT)

        def polls_after_last_try() -> int:
            records = nvr.requests
            last = max(i for i, r in enumerate(records) if "GetAiState" in r.cmds)
            return len([r for r in records[last + 1 :] if "GetMdState" in r.cmds])

        assert wait_until(lambda: polls_after_last_try() >= 3, WAIT)
        records = nvr.requests
        tried_alone = [r for r in records if r.cmds == ["GetAiState"]]
        # Two channels, two lone tries each (client.BLACKLIST_AFTER), then never again.
        assert len(tried_alone) == 4
        last_try = max(i for i, r in enumerate(records) if "GetAiState" in r.cmds)
        later = records[last_try + 1 :]
        assert all("GetAiState" not in r.cmds for r in later)
        assert driver.running and driver.online
    finally:
        driver.disconnect()


def test_left_out_command_is_tried_again_after_a_new_login(
    nvr: Emulator, recorder: Recorder
) -> None:
    driver = connected(nvr, recorder, {"0": {}, "1": {}})
    try:
        nvr.add_fault(Fault("batch_error", code=-8, count=None, cmd="GetAiState"))
        assert wait_until(
            lambda: len([r for r in nvr.requests if r.cmds == ["GetAiState"]]) >= 4, 3.0
        )
        nvr.clear_faults()
        assert driver.command("login")["logged_in"] is True
        mark = len(nvr.requests)
        assert wait_until(lambda: any("GetAiState" in r.cmds for r in nvr.requests[mark:]), WAIT)
        nvr.set_ai(1, "people", True)
        assert recorder.wait_for("ai_detected", "people", "1", timeout=WAIT)
    finally:
        driver.disconnect()


def test_left_out_command_does_not_silence_the_zone(nvr: Emulator, recorder: Recorder) -> None:
    driver = connected(nvr, recorder, {"0": {}, "1": {}})
    try:
        nvr.add_fault(Fault("batch_error", code=-8, count=None, cmd="GetAiState"))
        assert wait_until(lambda: driver.stats().cycles >= 6, WAIT)
        nvr.set_motion(1, True)
        assert recorder.wait_for("motion", 1, "1", timeout=WAIT)
        assert recorder.value("online", "1") == 1
    finally:
        driver.disconnect()


# --- channels: offline (NVR), asleep (hub) ---------------------------------------------------


def test_nvr_channel_offline_and_back(nvr: Emulator, recorder: Recorder) -> None:
    driver = connected(nvr, recorder, {"0": {}, "1": {}})
    try:
        offline = Until(nvr, recorder, "online", 0, "1")
        nvr.set_online(1, False)
        assert len(offline.requests()) <= 2  # shown by the first or second poll
        assert wait_until(lambda: recorder.value("error", "1") == "channel is offline", WAIT)
        # The device and the other channel are unaffected.
        assert recorder.history("online") == [True]
        motion_round_trip(nvr, recorder, channel=0)
        sent, result = run_command(nvr, driver, "get_motion", {"address": "1"})
        assert sent <= 1
        assert isinstance(result, ReolinkError), result
        online = Until(nvr, recorder, "online", 1, "1")
        nvr.set_online(1, True)
        assert len(online.requests()) <= 2
        assert recorder.value("error", "1") == ""
        motion_round_trip(nvr, recorder, channel=1)
        assert len(logins(nvr)) == 1
    finally:
        driver.disconnect()


def test_nvr_channel_offline_error_does_not_flap(nvr: Emulator, recorder: Recorder) -> None:
    driver = connected(nvr, recorder, {"0": {}, "1": {}})
    try:
        nvr.set_online(1, False)
        assert wait_until(lambda: recorder.value("error", "1") == "channel is offline", WAIT)
        more_requests(nvr, 3)
        errors = [e for e in recorder.history("error", "1") if e]
        assert errors[errors.index("channel is offline") :] == ["channel is offline"]
    finally:
        driver.disconnect()


def test_hub_sleeping_channel_not_polled_until_awake(recorder: Recorder) -> None:
    with Emulator(profile="hub") as hub:
        driver = connected(hub, recorder, {"1": {}, "2": {}})
        try:
            per_batch = max(r.cmds.count("GetEvents") for r in hub.requests)
            assert per_batch == 2
            asleep = Until(hub, recorder, "online", 0, "1")
            hub.set_sleeping(1, True)
            assert len(asleep.requests()) <= 2
            assert wait_until(lambda: "asleep" in recorder.value("error", "1"), WAIT)
            hub.clear_requests()
            more_requests(hub, 4)
            polls = [r for r in hub.requests if "GetEvents" in r.cmds]
            # Only the awake channel is polled: a sleeping battery camera must not be woken.
            assert polls and all(r.cmds.count("GetEvents") == 1 for r in polls)
            motion_round_trip(hub, recorder, channel=2)
            sent, result = run_command(hub, driver, "get_dev_info")
            assert sent == 1 and isinstance(result, dict)
            awake = Until(hub, recorder, "online", 1, "1")
            hub.set_sleeping(1, False)
            assert len(awake.requests()) <= 2
            motion_round_trip(hub, recorder, channel=1)
            assert recorder.history("online") == [True]
        finally:
            driver.disconnect()


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
