"""Session, back-off and reboot scenarios on simulated time (moved from test_reliability_faults).

The pure core drives the emulator's synchronous app on one simulated clock (``simdevice``):
device time is unscaled (the driver's real back-offs of 30 s and 5 min, a 10 min account-safety
window, leases and lock-outs in seconds), polls every 5 s (10 s for the account-safety tests,
as the scaled real-time versions did), and each scenario runs in milliseconds. The facts are
those the real-time versions asserted: logins counted per window, requests counted until the
host sees a change, errors in the driver's own words, every motion edge after recovery.

The faults that need a socket (stall, drip, a connection cut mid-reply, refused ports, TLS)
stay in test_reliability_faults.py and test_reliability_input.py over loopback.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, List, Optional, Tuple

import attrs
import pytest
from simdevice import SimHarness

from reolink.driver.timing import Timing
from reolink.emulator import Emulator, Fault
from reolink.emulator.core import RequestRecord
from reolink.errors import AuthError, ConnectError, LockedOutError, ReolinkError

#: The poll interval of the scenarios (FAST's 50 ms x100), and of the account-safety ones.
INTERVAL = 5.0
AUTH_INTERVAL = 10.0
#: The request each command sends, alone (how the emulator's log tells it from a poll).
COMMAND_CMDS = {"get_motion": ["GetMdState"], "get_dev_info": ["GetDevInfo"]}


def connected(**kwargs: Any) -> SimHarness:
    kwargs.setdefault("status_interval", str(int(INTERVAL * 1000)))
    h = SimHarness(**kwargs)
    assert h.run_until(lambda: h.cycles() >= 2, 60)
    assert h.value("online") is True
    return h


def run_command(h: SimHarness, name: str, args: Any = None) -> Tuple[int, Any]:
    """Run a command; (the requests it sent per the emulator's log, its result or error)."""
    mark = len(h.emu.requests)
    result = h.command(name, args)
    return sum(r.cmds == COMMAND_CMDS[name] for r in h.emu.requests[mark:]), result


def raw(emu: Emulator, cmd: str, param: Any, token: Optional[str] = None) -> Any:
    """A request from another client (a phone app, a second controller) to the device."""
    target = f"/cgi-bin/api.cgi?cmd={cmd}" + (f"&token={token}" if token else "")
    body = json.dumps([{"cmd": cmd, "param": param}]).encode()
    _, _, reply = emu.app("POST", target, {}, body)
    return json.loads(reply)[0]


def raw_login(emu: Emulator, password: str = "admin123") -> Any:
    return raw(emu, "Login", {"User": {"userName": "admin", "password": password}})


def logins_in(records: List[RequestRecord]) -> int:
    return len([r for r in records if r.cmds == ["Login"]])


# --- transient faults: every request answered wrong for a while ---------------------------------

#: kind -> what the command error / device error must say (the faults that need a socket -
#: refuse, drop, drop_mid_reply, stall - stay in test_reliability_faults.py)
TRANSIENT = {
    "http_502": r"502",
    "html_index": r"HTML",
    "truncated": r"(invalid|truncated) JSON",
    "short_reply": r"reply entries|fewer|short",
}


@pytest.mark.parametrize("kind", list(TRANSIENT))
def test_transient_fault_survived(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="reolink")
    reason = TRANSIENT[kind]
    h = connected()
    logins_before = len(h.logins())
    mark = len(h.emu.requests)
    h.emu.add_fault(Fault(kind, count=None))

    # A command during the fault fails clearly; being read-only, it may be repeated once.
    sent, result = run_command(h, "get_motion", {"address": "0"})
    assert isinstance(result, ReolinkError), result
    assert sent <= 2
    assert str(result)

    # Offline after offline_after failed polls.
    assert h.run_until(lambda: h.value("online") is False, 120)
    failed_polls = [
        r for r in h.requests_until("online", False, since=mark) if r.cmds != ["GetMdState"]
    ]
    assert len(failed_polls) <= Timing().session.offline_after, failed_polls
    error_then = h.value("error") or ""
    assert not h.finished

    # The fault ends; polling comes back by itself, with the first poll that gets through.
    mark = len(h.emu.requests)
    h.emu.clear_faults()
    assert h.run_until(lambda: h.value("online") is True, 120)
    assert len(h.requests_until("online", True, since=mark)) <= 1
    assert h.value("online", "0") == 1
    h.motion_round_trip()

    # The token stayed valid through a transport fault: no Login at all was needed.
    assert len(h.logins()) == logins_before
    assert not h.finished

    # Last: the truth, in the driver's own words.
    assert re.search(reason, error_then), error_then
    assert "offline" in str(h.history("error", "0"))
    assert re.search(reason, str(result)), result
    assert "internal error" not in str(result)
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# --- reboot, lease, -6 -----------------------------------------------------------------------


def test_reboot_tokens_invalid_one_login_after() -> None:
    h = connected()
    token_before = h.emu.sessions[0]
    mark = len(h.emu.requests)
    h.emu.reboot(down_seconds=60.0)
    assert h.run_until(lambda: h.value("online") is False, 60)
    assert h.requests_until("online", False, since=mark) == []  # nothing reaches it while down
    assert "refused" in h.value("error") or "connection" in h.value("error")

    sent, result = run_command(h, "get_dev_info")
    assert isinstance(result, ConnectError), result
    assert sent == 0

    mark = len(h.emu.requests)
    assert h.run_until(lambda: h.value("online") is True, 600)
    # Back with the first tries: a poll refused -6 (the token died), one Login, a poll.
    back = [r.cmds for r in h.requests_until("online", True, since=mark)]
    assert back.count(["Login"]) == 1 and len(back) <= 3, back
    h.motion_round_trip()
    # The old token died with the reboot; one Login made a new one, and only one.
    assert len(h.logins()) == 2
    assert token_before not in h.emu.sessions
    assert not h.finished


def test_short_lease_renewed_before_it_ends() -> None:
    """A 60 s lease (refresh margin 18 s): the token is renewed ahead, never used late."""
    lease = 60
    timing = attrs.evolve(Timing(), session=attrs.evolve(Timing().session, refresh_margin=18.0))
    h = connected(timing=timing, emulator={"lease": lease})
    assert h.run_until(lambda: h.emu.login_count >= 3, 4 * lease)
    h.motion_round_trip()
    issued: dict = {}
    login_at: Optional[float] = None
    for record in h.emu.requests:
        if record.cmds == ["Login"]:
            login_at = record.time
        elif record.token and record.token != "null":
            issued.setdefault(record.token, login_at)
            assert login_at is not None
            assert record.time < issued[record.token] + lease, "token used after its lease"
    assert len(issued) >= 3
    assert h.history("online") == [True]
    assert h.history("online", "0") == [1]


def test_token_refresh_logs_out_the_old_session() -> None:
    """(from test_driver_http) A 60 s lease, renewed ahead: each renewal gives back the old
    token before logging in again."""
    h = connected(emulator={"lease": 60})
    assert h.run_until(lambda: h.emu.login_count >= 3, 600)
    assert len(h.emu.sessions) <= 1
    assert h.history("online") == [True]
    cmds = [r.cmds for r in h.emu.requests]
    logins = [i for i, c in enumerate(cmds) if c == ["Login"]]
    assert len(logins) >= 3
    assert all(cmds[i - 1] == ["Logout"] for i in logins[1:])
    assert not [r for r in h.emu.requests if r.status not in (200, None)]


def test_single_minus_6_logs_in_once_and_goes_on() -> None:
    h = connected()
    h.emu.add_fault(Fault("rsp_code", code=-6, count=1, cmd="GetEvents"))
    assert h.run_until(lambda: not h.emu.pending_faults, 60)
    cycles = h.cycles()
    assert h.run_until(lambda: h.cycles() >= cycles + 3, 60)
    h.motion_round_trip()
    assert len(h.logins()) == 2
    assert h.history("online") == [True]


def test_single_minus_6_right_after_a_login_is_survived() -> None:
    h = connected()
    # A fresh Login (the command; lease renewals do the same), then one -6 on the next poll,
    # the first request with the new token.
    assert h.command("login")["logged_in"] is True
    h.emu.add_fault(Fault("rsp_code", code=-6, count=1, cmd="GetEvents"))
    assert h.run_until(lambda: not h.emu.pending_faults, 60)
    mark = len(h.emu.requests)
    assert h.run_until(lambda: len(h.emu.requests) >= mark + 3, 60)
    assert h.history("online", "0") == [1], h.value("error", "0")
    assert h.history("online") == [True]
    h.motion_round_trip()


def test_persistent_minus_6_no_login_storm() -> None:
    h = connected(status_interval=str(int(AUTH_INTERVAL * 1000)))
    h.emu.add_fault(Fault("rsp_code", code=-6, count=None, cmd="GetEvents"))
    h.run(200.0)
    storm = len(h.logins()) - 1
    h.emu.clear_faults()
    # A Login per doubling back-off from auth_retry_delay would be 5 in these 200 s; one per
    # poll cycle (20) is the storm (and fills the session table: -5).
    assert storm <= 5, f"{storm} Logins in 200 s of persistent -6"
    assert "max session" not in str(h.history("error"))
    # The zone shows the truth meanwhile: its polls are refused.
    assert h.value("online", "0") == 0
    # Back after the fault ends, after the auth back-off step then in effect: one Login.
    mark = len(h.emu.requests)
    assert h.run_until(lambda: h.value("online") is True and h.value("online", "0") == 1, 900)
    assert logins_in(h.emu.requests[mark:]) <= 1
    h.motion_round_trip(interval=AUTH_INTERVAL)


# --- login refusals: -5, -105, lock-out, wrong password --------------------------------------


def _refused_at_connect(h: SimHarness) -> None:
    """The first connect attempt ends offline, the core still running."""
    h.run(1.0)
    assert h.value("online") is False
    assert not h.finished


def test_max_session_minus_5_waits_for_a_free_slot() -> None:
    h = SimHarness(emulator={"max_sessions": 1}, status_interval=str(int(INTERVAL * 1000)))
    other = raw_login(h.emu)["value"]["Token"]["name"]  # another client holds the only slot
    _refused_at_connect(h)
    assert "max session" in h.value("error")
    sent, result = run_command(h, "get_motion", {"address": "0"})
    assert isinstance(result, LockedOutError), result
    assert sent == 0  # refused at once: the driver knows it has no session
    mark = len(h.emu.requests)
    raw(h.emu, "Logout", {}, token=other)
    # The next automatic Login (after the first auth back-off step) gets the slot.
    assert h.run_until(lambda: h.value("online") is True, 900)
    online = h.requests_until("online", True, since=mark)
    assert [r.cmds for r in online][:2] == [["Logout"], ["Login"]]
    h.motion_round_trip()
    assert len([r for r in h.logins() if r.token is not None]) <= 3


def test_minus_105_frequent_logins_backs_off() -> None:
    h = SimHarness(status_interval=str(int(AUTH_INTERVAL * 1000)))
    h.emu.add_fault(Fault("rsp_code", code=-105, count=None, cmd="Login"))
    _refused_at_connect(h)
    assert "Frequent logins" in h.value("error")
    h.run(100.0)  # at most the 30 s retry happened
    assert len(h.logins()) <= 2
    sent, result = run_command(h, "get_dev_info")
    assert isinstance(result, LockedOutError), result
    assert "Frequent logins" in str(result)
    assert sent == 0
    h.emu.clear_faults()
    # The next try is 5 min after the second refusal; then it works.
    assert h.run_until(lambda: h.value("online") is True, 900)
    h.motion_round_trip(interval=AUTH_INTERVAL)
    assert len(h.logins()) <= 3


def test_locked_account_waits_out_the_lock() -> None:
    """Someone else locked the account; the driver waits, then gets in with no extra failures."""
    h = SimHarness(
        emulator={"lockout_attempts": 2, "lockout_duration": 20.0},
        status_interval=str(int(INTERVAL * 1000)),
    )
    for _ in range(2):
        assert raw_login(h.emu, password="not-the-password")["code"] == 1
    _refused_at_connect(h)
    assert "locked" in h.value("error")
    sent, result = run_command(h, "get_motion", {"address": "0"})
    assert isinstance(result, AuthError), result
    assert sent == 0
    assert h.run_until(lambda: h.value("online") is True, 900)
    h.motion_round_trip()
    assert len(h.logins()) - 2 == 2  # the refused one, then the one that worked


def test_wrong_password_never_locks_the_account() -> None:
    """Firmware here locks after 4 failures; the driver sends at most 3 in the 10 min window."""
    h = SimHarness(
        emulator={"lockout_attempts": 4},
        status_interval=str(int(AUTH_INTERVAL * 1000)),
        password="wrong-pass",
    )
    _refused_at_connect(h)
    assert "login failed" in h.value("error")
    sent, result = run_command(h, "get_dev_info")
    assert isinstance(result, AuthError), result
    assert sent == 0
    # Back-off 30 s then 5 min: the third Login goes at ~5.5 min; the fourth is not allowed
    # before the 10 min window has passed.
    h.run(360.0)
    failed = len(h.logins())
    assert not h.finished
    assert 2 <= failed <= 3
    # The account is not locked: the right password still works.
    assert raw_login(h.emu)["code"] == 0
    assert len(h.logins()) == failed + 1


# --- batches: short or collapsed replies, commands that keep timing out ----------------------


def _singles_after(records: List[RequestRecord], index: int) -> List[List[str]]:
    """The single-command requests that directly follow request ``index``."""
    singles = []
    for record in records[index + 1 :]:
        if len(record.cmds) != 1:
            break
        singles.append(record.cmds)
    return singles


NVR = {"profile": "nvr", "channels": 4}


@pytest.mark.parametrize(
    "fault",
    [
        Fault("batch_error", code=-8, count=1, cmd="GetMdState"),
        Fault("batch_error", code=-10, count=1, cmd="GetMdState"),
        Fault("short_reply", count=1, cmd="GetMdState"),
    ],
    ids=["batch-8", "batch-10", "short"],
)
def test_bad_batch_retried_command_by_command(fault: Fault) -> None:
    h = connected(zones={"0": {}, "1": {}, "2": {}}, emulator=NVR)
    base = len(h.emu.requests)
    h.emu.add_fault(fault)
    assert h.run_until(lambda: not h.emu.pending_faults, 60)
    cycles = h.cycles()
    assert h.run_until(lambda: h.cycles() >= cycles + 2, 60)
    records = h.emu.requests[base:]
    faulty = next(i for i, r in enumerate(records) if "GetMdState" in r.cmds)
    batch = records[faulty].cmds
    assert len(batch) == 6  # GetMdState + GetAiState for 3 channels
    assert _singles_after(records, faulty) == [[c] for c in batch]
    # Nothing went offline for one bad reply.
    assert h.history("online") == [True]
    assert all(h.history("online", a) == [1] for a in "012")
    h.motion_round_trip(channel=2)


def test_command_timing_out_alone_is_left_out_for_the_session() -> None:
    """GetAiState keeps answering -8, even alone: after two lone tries it is no longer sent."""
    h = connected(zones={"0": {}, "1": {}}, emulator=NVR)
    h.emu.add_fault(Fault("batch_error", code=-8, count=None, cmd="GetAiState"))
    base = len(h.emu.requests)
    assert h.run_until(lambda: h.cycles() >= 6, 120)

    def polls_after_last_try() -> int:
        records = h.emu.requests[base:]
        last = max(i for i, r in enumerate(records) if "GetAiState" in r.cmds)
        return len([r for r in records[last + 1 :] if "GetMdState" in r.cmds])

    assert h.run_until(lambda: polls_after_last_try() >= 3, 120)
    records = h.emu.requests[base:]
    tried_alone = [r for r in records if r.cmds == ["GetAiState"]]
    # Two channels, two lone tries each (client.BLACKLIST_AFTER), then never again.
    assert len(tried_alone) == 4
    last_try = max(i for i, r in enumerate(records) if "GetAiState" in r.cmds)
    later = records[last_try + 1 :]
    assert all("GetAiState" not in r.cmds for r in later)
    assert not h.finished and h.value("online") is True


def test_left_out_command_is_tried_again_after_a_new_login() -> None:
    h = connected(zones={"0": {}, "1": {}}, emulator=NVR)
    h.emu.add_fault(Fault("batch_error", code=-8, count=None, cmd="GetAiState"))
    assert h.run_until(lambda: len([r for r in h.emu.requests if r.cmds == ["GetAiState"]]) >= 4)
    h.emu.clear_faults()
    assert h.command("login")["logged_in"] is True
    mark = len(h.emu.requests)
    assert h.run_until(lambda: any("GetAiState" in r.cmds for r in h.emu.requests[mark:]), 60)
    h.emu.set_ai(1, "people", True)
    assert h.run_until(lambda: h.value("ai_detected", "1") == "people", 60)


def test_left_out_command_does_not_silence_the_zone() -> None:
    h = connected(zones={"0": {}, "1": {}}, emulator=NVR)
    h.emu.add_fault(Fault("batch_error", code=-8, count=None, cmd="GetAiState"))
    cycles = h.cycles()
    assert h.run_until(lambda: h.cycles() >= cycles + 6, 120)
    h.emu.set_motion(1, True)
    assert h.run_until(lambda: h.value("motion", "1") == 1, 60)
    assert h.value("online", "1") == 1


# --- channels: offline (NVR), asleep (hub) ---------------------------------------------------


def test_nvr_channel_offline_and_back() -> None:
    h = connected(zones={"0": {}, "1": {}}, emulator=NVR)
    mark = len(h.emu.requests)
    h.emu.set_online(1, False)
    assert h.run_until(lambda: h.value("online", "1") == 0, 60)
    assert len(h.requests_until("online", 0, "1", since=mark)) <= 2  # the first or second poll
    assert h.run_until(lambda: h.value("error", "1") == "channel is offline", 60)
    # The device and the other channel are unaffected.
    assert h.history("online") == [True]
    h.motion_round_trip(channel=0)
    sent, result = run_command(h, "get_motion", {"address": "1"})
    assert sent <= 1
    assert isinstance(result, ReolinkError), result
    mark = len(h.emu.requests)
    h.emu.set_online(1, True)
    assert h.run_until(lambda: h.value("online", "1") == 1, 60)
    assert len(h.requests_until("online", 1, "1", since=mark)) <= 2
    assert h.value("error", "1") == ""
    h.motion_round_trip(channel=1)
    assert len(h.logins()) == 1


def test_nvr_channel_offline_error_does_not_flap() -> None:
    h = connected(zones={"0": {}, "1": {}}, emulator=NVR)
    h.emu.set_online(1, False)
    assert h.run_until(lambda: h.value("error", "1") == "channel is offline", 60)
    mark = len(h.emu.requests)
    assert h.run_until(lambda: len(h.emu.requests) >= mark + 3, 60)
    errors = [e for e in h.history("error", "1") if e]
    assert errors[errors.index("channel is offline") :] == ["channel is offline"]


def test_hub_sleeping_channel_not_polled_until_awake() -> None:
    h = connected(zones={"1": {}, "2": {}}, emulator={"profile": "hub"})
    per_batch = max(r.cmds.count("GetEvents") for r in h.emu.requests)
    assert per_batch == 2
    mark = len(h.emu.requests)
    h.emu.set_sleeping(1, True)
    assert h.run_until(lambda: h.value("online", "1") == 0, 60)
    assert len(h.requests_until("online", 0, "1", since=mark)) <= 2
    assert h.run_until(lambda: "asleep" in (h.value("error", "1") or ""), 60)
    base = len(h.emu.requests)
    assert h.run_until(lambda: len(h.emu.requests) >= base + 4, 60)
    polls = [r for r in h.emu.requests[base:] if "GetEvents" in r.cmds]
    # Only the awake channel is polled: a sleeping battery camera must not be woken.
    assert polls and all(r.cmds.count("GetEvents") == 1 for r in polls)
    h.motion_round_trip(channel=2)
    mark = len(h.emu.requests)
    result = h.command("get_dev_info")
    sent = sum(r.cmds == ["GetDevInfo"] for r in h.emu.requests[mark:])
    assert sent == 1 and isinstance(result, dict)
    mark = len(h.emu.requests)
    h.emu.set_sleeping(1, False)
    assert h.run_until(lambda: h.value("online", "1") == 1, 60)
    assert len(h.requests_until("online", 1, "1", since=mark)) <= 2
    h.motion_round_trip(channel=1)
    assert h.history("online") == [True]
