"""Push end to end: the driver, the emulator and the push listener over real loopback HTTP.

status_interval is 30 s in these tests: a detection that reaches the host within the test can
only have come through a push wake, and the emulator's request log shows the poll came after
the device's POST. Everything waits on events (callback, request log, deliveries), never on
sleeps or wall-clock bounds.
"""

from __future__ import annotations

import socket
from typing import Any, Dict, Iterator, List, Optional

import attrs
import pytest
from conftest import FAST, Recorder, http_driver, memory_driver, wait_requests, wait_until

import transports
from reolink.driver import ReolinkDriver, Timing
from reolink.emulator import Emulator
from reolink.push import PushListener, shared_listener_count

WAIT = 10.0
SLOW = "30000"  # status_interval (ms): only push can explain a detection within the test


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(profile="camera") as emulator:
        yield emulator


def _driver(
    emu: Emulator, recorder: Recorder, timing: Timing = FAST, **attributes: Any
) -> ReolinkDriver:
    attributes.setdefault("status_interval", SLOW)
    listener = attributes.pop("push_listener", None)
    if listener is None:
        return http_driver(emu, {"0": {}}, recorder, timing=timing, **attributes)
    attrs = {
        "ip": emu.host, "port": str(emu.port), "username": "admin", "password": "admin123",
        "request_timeout": "2000", **attributes,
    }
    return ReolinkDriver(attrs, {"0": {}}, recorder, timing=timing, push_listener=listener)


def _ours(emu: Emulator, channel: int = 0) -> List[Dict[str, Any]]:
    return [s for s in emu.device.webhooks.slots[channel] if "/reolink/push/" in s["hookUrl"]]


def _cmds(emu: Emulator) -> List[str]:
    return [c for r in emu.requests for c in r.cmds]


def _post_of(emu: Emulator, kind: str) -> Any:
    """The device's first finished POST of ``kind`` (waiting for it)."""
    sender = emu.device.webhooks.sender
    while True:
        done = list(sender.deliveries)
        posts = [d for d in done if d.kind == kind]
        if posts:
            return posts[0]
        assert sender.wait_deliveries(len(done) + 1, WAIT), f"no {kind} POST"


def _connected_with_push(emu: Emulator, recorder: Recorder, **attributes: Any) -> ReolinkDriver:
    driver = _driver(emu, recorder, **attributes)
    assert driver.connect() is True
    assert recorder.wait_for("event_source", "push", timeout=WAIT), recorder.history(
        "event_source_reason")
    return driver


def test_a_motion_start_reaches_the_host_through_a_push_wake(
    emu: Emulator, recorder: Recorder
) -> None:
    driver = _connected_with_push(emu, recorder)
    try:
        assert recorder.value("event_source_reason") == ""
        assert len(_ours(emu)) == 1
        assert recorder.wait_for("motion", 0, "0", timeout=WAIT)
        emu.clear_requests()
        emu.set_motion(0, True)
        assert recorder.wait_for("motion", 1, "0", timeout=WAIT)
        post = _post_of(emu, "motion")
        assert post.status == 200
        polls = [r for r in emu.requests if "GetEvents" in r.cmds]
        assert polls and polls[0].time >= post.sent_at
        assert driver.stats().push_wakes >= 2  # the test call, then the motion
        assert driver.values()["device"]["event_source"] == "push"
    finally:
        driver.disconnect()


def test_in_memory_transport_pushes_over_loopback(emu: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(emu, {"0": {}}, recorder, status_interval=SLOW)
    assert driver.connect() is True
    try:
        assert recorder.wait_for("event_source", "push", timeout=WAIT)
        emu.set_ai(0, "people", True)
        assert recorder.wait_for("ai_detected", "people", "0", timeout=WAIT)
    finally:
        driver.disconnect()


def test_disconnect_frees_our_slot_and_the_shared_listener(
    emu: Emulator, recorder: Recorder
) -> None:
    driver = _connected_with_push(emu, recorder)
    assert len(_ours(emu)) == 1
    driver.disconnect()
    assert _ours(emu) == []
    assert all(s["indexEnable"] == -1 for s in emu.device.webhooks.slots[0])
    assert _cmds(emu)[-2:] == ["SetWebHook", "Logout"]
    assert shared_listener_count() == 0


def test_reboot_registers_again_in_the_same_slot(emu: Emulator, recorder: Recorder) -> None:
    driver = _connected_with_push(emu, recorder)
    try:
        slot = _ours(emu)[0]["index"]
        emu.clear_requests()
        emu.reboot_down_seconds = 0.3
        assert driver.command("reboot") == {"rebooting": True}
        assert recorder.wait_for("online", False, timeout=WAIT)
        assert wait_requests(emu, lambda: "TestWebHook" in _cmds(emu), WAIT)
        assert recorder.wait_for("online", True, timeout=WAIT)
        assert [s["index"] for s in _ours(emu)] == [slot]
        # re-earned: the reboot's test call makes event_source push again
        assert recorder.wait_for("event_source", "push", timeout=WAIT)
        emu.set_motion(0, True)
        assert recorder.wait_for("motion", 1, "0", timeout=WAIT)
        assert _post_of(emu, "motion").status == 200
    finally:
        driver.disconnect()


def test_a_flood_of_calls_is_coalesced(emu: Emulator, recorder: Recorder) -> None:
    driver = _connected_with_push(emu, recorder)
    try:
        sender = emu.device.webhooks.sender
        emu.clear_requests()
        for _ in range(60):  # 60 event starts as fast as the device can call
            emu.set_motion(0, True)
            emu.set_motion(0, False)

        def flood() -> List[Any]:
            return [d for d in sender.deliveries if d.kind == "motion"]

        while len(flood()) < 60:
            assert sender.wait_deliveries(len(sender.deliveries) + 1, WAIT)
        first, last = flood()[0].sent_at, flood()[-1].sent_at
        assert driver.stats().push_wakes >= 60
        assert wait_requests(emu, lambda: any(
            "GetEvents" in r.cmds and r.time >= last for r in emu.requests), WAIT)
        polls = [r.time for r in emu.requests if "GetEvents" in r.cmds and first <= r.time]
        polls = [t for t in polls if t <= last + 0.25]
        # At most one poll per 200 ms, by the emulator's own clock (plus the first).
        assert len(polls) <= (last - first) / 0.2 + 2
        assert all(b - a >= 0.19 for a, b in zip(polls, polls[1:]))
    finally:
        driver.disconnect()


# --- every reason to poll ------------------------------------------------------------------------


def _poll_reason(driver: ReolinkDriver, recorder: Recorder) -> str:
    assert driver.connect() is True
    assert recorder.wait_for("event_source", "poll", timeout=WAIT)
    reason = recorder.value("event_source_reason")
    assert isinstance(reason, str)
    return reason


def test_legacy_firmware_is_not_supported(recorder: Recorder) -> None:
    with Emulator(profile="legacy") as legacy:
        driver = _driver(legacy, recorder)
        try:
            assert _poll_reason(driver, recorder).startswith("not supported")
            assert not {"SetWebHook", "TestWebHook"} & set(_cmds(legacy))
        finally:
            driver.disconnect()


def test_push_disabled_on_the_device_is_reported_not_changed(
    emu: Emulator, recorder: Recorder
) -> None:
    emu.device.webhooks.set_push(False)
    driver = _driver(emu, recorder)
    try:
        assert _poll_reason(driver, recorder).startswith("push disabled on the device")
        assert emu.device.webhooks.push_enabled is False
        assert not {"SetWebHook", "TestWebHook", "SetPushV20", "SetPush"} & set(_cmds(emu))
    finally:
        driver.disconnect()


def test_all_slots_held_by_other_systems_are_left_untouched(
    emu: Emulator, recorder: Recorder
) -> None:
    others = [
        {"index": i, "indexEnable": 1, "hookUrl": f"http://10.9.9.9/hook{i}", "bCustom": 0,
         "hookBody": ""}
        for i in range(emu.device.webhooks.slot_count)
    ]
    emu.device.webhooks.slots[0] = [dict(s) for s in others]
    driver = _driver(emu, recorder)
    try:
        assert _poll_reason(driver, recorder).startswith("no free slot")
    finally:
        driver.disconnect()
    assert emu.device.webhooks.slots[0] == others
    assert "SetWebHook" not in _cmds(emu)


def test_a_push_host_the_device_cannot_reach(emu: Emulator, recorder: Recorder) -> None:
    # The listener serves 127.0.0.1 only; the device is told to call 127.0.0.2: refused.
    # The driver gives the call 5 s by default; 0.5 s here: the device's call is refused at once.
    timing = attrs.evolve(FAST, push=attrs.evolve(FAST.push, verify=0.5))
    with PushListener("127.0.0.1") as listener:
        driver = _driver(
            emu, recorder, timing, push_listener=listener, push_host="127.0.0.2"
        )
        try:
            reason = _poll_reason(driver, recorder)
            assert reason.startswith("device cannot reach host:port")
            assert "came within 0.5 s" in reason, reason
            assert f"127.0.0.2:{listener.port}" in reason and "/reolink/push/" not in reason
            assert wait_requests(emu, lambda: _ours(emu) == [], WAIT)
        finally:
            driver.disconnect()
        assert listener.registrations == 0


def test_listener_port_busy(emu: Emulator, recorder: Recorder) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        blocker: Optional[socket.socket] = None
        try:
            blocker = socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True)
        except OSError:
            pass  # the port is already refused to the listener's wildcard bind
        driver = _driver(emu, recorder, push_port=str(port))
        try:
            assert _poll_reason(driver, recorder).startswith("listener port busy")
            assert "SetWebHook" not in _cmds(emu)
        finally:
            driver.disconnect()
            if blocker is not None:
                blocker.close()


def test_push_off_sends_nothing_of_push(emu: Emulator, recorder: Recorder) -> None:
    driver = _driver(emu, recorder, push="off")
    try:
        assert _poll_reason(driver, recorder) == "push attribute off"
        assert not {"GetWebHook", "SetWebHook", "TestWebHook", "GetPushV20"} & set(_cmds(emu))
        assert shared_listener_count() == 0
    finally:
        driver.disconnect()


@pytest.mark.parametrize("kind", ["urllib3", "stdlib"])
def test_transports_tell_the_local_address_of_their_connection(emu: Emulator, kind: str) -> None:
    from reolink.transport import Request

    transport = transports.open_transport(scheme="http", host=emu.host, port=emu.port, kind=kind)
    try:
        assert transport.local_address() is None  # type: ignore[attr-defined]
        transport.send(Request("GET", "/"))
        assert transport.local_address() == "127.0.0.1"  # type: ignore[attr-defined]
    finally:
        transport.close()
    assert transports.MemoryTransport(emu.app).local_address() == "127.0.0.1"
    assert transports.MemoryTransport(emu.app, local_address=None).local_address() is None


def test_two_drivers_on_one_fixed_port_get_separate_slots(recorder: Recorder) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    with Emulator(profile="nvr") as emu:
        first = _connected_with_push(emu, recorder, push_port=port)
        other = Recorder()
        second = _driver(emu, other, push_port=port)
        try:
            assert second.connect() is True
            assert other.wait_for("event_source", "push", timeout=WAIT)
            urls = [s["hookUrl"] for s in _ours(emu)]
            assert len(urls) == 2 and len(set(urls)) == 2  # each driver has its own slot
            second.disconnect()
            assert len(_ours(emu)) == 1  # the first driver's slot is still there
            calls = first.stats().push_wakes
            emu.set_motion(0, True)
            assert wait_until(lambda: first.stats().push_wakes > calls, WAIT)
        finally:
            second.disconnect()
            first.disconnect()
        assert _ours(emu) == []


def test_no_local_address_and_no_push_host_is_a_registration_failure(
    emu: Emulator, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every reason starts with one of the README's phrases."""
    monkeypatch.setattr(transports.MemoryTransport, "local_address", lambda self: None)
    driver = memory_driver(emu, {"0": {}}, recorder, status_interval=SLOW)
    try:
        reason = _poll_reason(driver, recorder)
        assert reason.startswith("registration failed: no push_host"), reason
        assert "SetWebHook" not in _cmds(emu)
    finally:
        driver.disconnect()


def test_a_set_webhook_applied_with_its_reply_lost_is_freed_at_disconnect(
    emu: Emulator, recorder: Recorder
) -> None:
    from reolink.emulator import faults

    emu.add_fault(faults.DropMidReply(cmd="SetWebHook", count=1))
    driver = _driver(emu, recorder, status_interval="200")
    try:
        assert _poll_reason(driver, recorder).startswith("registration failed: SetWebHook")
        assert len(_ours(emu)) == 1  # the device applied it
        sent = len(emu.requests)
        assert wait_requests(emu, lambda: len(emu.requests) >= sent + 2, WAIT)  # polls again
    finally:
        driver.disconnect()
    assert _ours(emu) == []
    assert _cmds(emu).count("SetWebHook") == 2  # the lost write, then the free: never re-sent
