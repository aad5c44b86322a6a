"""Push in the driver core: registration, verification, fallback, coalescing - on simulated time.

Like tests/test_driver_core.py: the core is fed ``(now, event)``, a fake device answers its
requests, the listener is played by the test (``Listen`` is answered with ``Listening`` or
``ListenFailed``) and the device's calls are fed as ``PushWake``. No thread, socket or sleep.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Iterator, List, Optional

import pytest
from test_driver_core import TIMING, FakeDevice, Harness, Outcome, _error, _ok

from reolink.driver.config import parse_device
from reolink.driver.core import DriverCore
from reolink.driver.messages import Disconnect, Listen, ListenFailed, Listening, PushWake
from reolink.driver.pushcontrol import PushControl, PushTiming
from reolink.driver.timing import Timing
from reolink.errors import ConfigError, TransportProtocolError
from reolink.transport import Request, Response

#: PushControl's queries: every scenario below checks each call of them changed nothing (time
#: moves push control only at tick(), which the core calls once at the top of each event).
PUSH_QUERIES = ("due", "check_due", "next_wakeup", "poll_due")


def _state(control: PushControl) -> str:
    return repr(sorted(vars(control).items()))


@pytest.fixture(autouse=True)
def push_queries_change_nothing(monkeypatch: pytest.MonkeyPatch) -> Iterator[List[str]]:
    """Wraps the queries for the test: a call that changes push control's state fails it."""
    asked: List[str] = []
    for name in PUSH_QUERIES:
        monkeypatch.setattr(PushControl, name, _checked(name, getattr(PushControl, name), asked))
    yield asked


def _checked(name: str, real: Any, asked: Optional[List[str]] = None) -> Any:
    def checked(self: PushControl, now: float) -> Any:
        before = _state(self)
        answer = real(self, now)
        assert _state(self) == before, f"PushControl.{name}({now}) changed its state"
        if asked is not None:
            asked.append(name)
        return answer

    return checked


URL = "http://127.0.0.1:8123/reolink/push/SECRETtokenSECRETtokenSECRETtoken"
OTHER = "http://10.0.0.9:8000/other-system/hook"
SLOTS = 5


def _free(index: int) -> Dict[str, Any]:
    return {"index": index, "indexEnable": -1, "hookUrl": "", "bCustom": 0, "hookBody": ""}


class PushDevice(FakeDevice):
    """A FakeDevice with the webhook: GetAbility supportWebhook, push settings, slot tables."""

    def __init__(self, *, webhook: bool = True, push_on: bool = True, v20: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.webhook = webhook
        self.push_on = push_on
        self.v20 = v20
        self.test_refused = False
        self.tables: List[List[Dict[str, Any]]] = [
            [_free(i) for i in range(SLOTS)] for _ in range(self.channels)
        ]
        self.tests: List[str] = []
        #: commands whose next reply is lost after the device applied them (once each)
        self.lose_reply: List[str] = []

    def __call__(self, request: Request, now: float) -> Outcome:
        outcome = super().__call__(request, now)
        cmds = [c["cmd"] for c in json.loads(request.body or b"[]")]
        lost = [c for c in self.lose_reply if c in cmds]
        if lost and isinstance(outcome, Response):
            self.lose_reply.remove(lost[0])
            return TransportProtocolError("connection closed by the device before any reply")
        return outcome

    def _answer(self, command: Dict[str, Any], token: str) -> Dict[str, Any]:
        cmd = command["cmd"]
        param = command.get("param", {})
        if token in self.tokens and cmd in _WEBHOOK_CMDS:
            return self._webhook(cmd, param)
        if cmd == "GetAbility" and token in self.tokens:
            chn = [{"supportWebhook": {"permit": 0, "ver": int(self.webhook)}}] * self.channels
            return _ok(cmd, {"Ability": {"abilityChn": chn}})
        return super()._answer(command, token)

    def _webhook(self, cmd: str, param: Dict[str, Any]) -> Dict[str, Any]:
        if not self.webhook and cmd in ("GetWebHook", "SetWebHook", "TestWebHook"):
            return _error(cmd, -9, "not support")
        if cmd == "GetPushV20":
            if not self.v20:
                return _error(cmd, -9, "not support")
            return _ok(cmd, {"Push": {"enable": int(self.push_on), "scheduleEnable": 1}})
        if cmd == "GetPush":
            return _ok(cmd, {"Push": {"schedule": {"enable": int(self.push_on)}}})
        if cmd == "GetWebHook":
            return _ok(cmd, {"WebHook": [dict(s) for s in self.tables[param["channel"]]]})
        if cmd == "SetWebHook":
            hook = param["WebHook"]
            entry = {k: hook[k] for k in ("index", "indexEnable", "hookUrl", "bCustom", "hookBody")}
            self.tables[hook["channel"]][hook["index"]] = entry
            return _ok(cmd, {"rspCode": 200})
        if self.test_refused:
            return _error(cmd, -4, "param error")
        self.tests.append(param["WebHook"]["hookUrl"])
        return _ok(cmd, {"rspCode": 200})

    def ours(self, channel: int = 0) -> List[int]:
        return [s["index"] for s in self.tables[channel] if s["hookUrl"] == URL]

    def webhook_log(self) -> List[List[str]]:
        return [cmds for _, cmds, _ in self.log if set(cmds) & set(_WEBHOOK_CMDS)]


_WEBHOOK_CMDS = ("GetPushV20", "GetPush", "GetWebHook", "SetWebHook", "TestWebHook")


class PushHarness(Harness):
    """Answers Listen with ``listen_answer`` (Listening by default) and counts the asks."""

    def __init__(self, device: FakeDevice, zones: Optional[Dict[str, Dict[str, str]]] = None,
                 *, attributes: Optional[Dict[str, str]] = None, timing: Timing = TIMING,
                 listen_answer: Any = None) -> None:
        self.listens = 0
        self.listen_answer = listen_answer or Listening(URL, "127.0.0.1:8123")
        self._attributes = attributes or {}
        super().__init__(device, zones, timing=timing)

    def feed(self, event: Any) -> None:
        if not hasattr(self, "_configured"):
            # Harness builds its core with fixed attributes and feeds Start at once: rebuild it
            # with ours before that first event.
            self._configured = True
            attributes = {"ip": "127.0.0.1", "username": "admin", "password": "admin123",
                          **self._attributes}
            zones = {z.address: {} for z in self.core.config.zones}
            self.core = DriverCore(parse_device(attributes, zones), self.core.timing)
        real = self.core.handle
        asked: List[Listen] = []

        def spy(now: float, ev: Any) -> Any:
            actions = real(now, ev)
            asked.extend(a for a in actions if isinstance(a, Listen))
            return actions

        self.core.handle = spy  # type: ignore[method-assign]
        try:
            super().feed(event)
        finally:
            del self.core.handle
        for _ in asked:
            self.listens += 1
            self.feed(self.listen_answer)


def _push(device: PushDevice, **kwargs: Any) -> PushHarness:
    h = PushHarness(device, **kwargs)
    h.run(0)
    return h


# --- registration ------------------------------------------------------------------------------


def test_registers_in_the_first_free_slot_and_trusts_push_once_the_test_call_arrives() -> None:
    device = PushDevice()
    device.tables[0][0] = {"index": 0, "indexEnable": 1, "hookUrl": OTHER, "bCustom": 0,
                           "hookBody": ""}
    h = _push(device)
    assert h.listens == 1
    assert device.webhook_log() == [
        ["GetPushV20", "GetWebHook"], ["SetWebHook"], ["GetWebHook"], ["TestWebHook"],
        ["GetWebHook"],
    ]  # the slot is read back before and after the test (another writer may have taken it)
    assert device.ours() == [1] and device.tables[0][0]["hookUrl"] == OTHER
    assert device.tests == [URL]
    assert h.value("event_source") is None  # not decided before the device's call
    h.feed(PushWake())
    h.run(0)
    assert h.value("event_source") == "push" and h.value("event_source_reason") == ""
    assert h.history("event_source") == ["push"]


def test_reuses_the_slot_already_holding_our_url_without_writing_it() -> None:
    device = PushDevice()
    device.tables[0][3] = {"index": 3, "indexEnable": 1, "hookUrl": URL, "bCustom": 0,
                           "hookBody": ""}
    h = _push(device)
    assert device.webhook_log() == [["GetPushV20", "GetWebHook"], ["TestWebHook"], ["GetWebHook"]]
    assert device.ours() == [3]
    h.feed(PushWake())
    h.run(0)
    assert h.value("event_source") == "push"


def test_no_free_slot_polls_and_leaves_every_other_url_untouched() -> None:
    device = PushDevice()
    device.tables[0] = [
        {"index": i, "indexEnable": i % 2, "hookUrl": f"{OTHER}{i}", "bCustom": 0, "hookBody": ""}
        for i in range(SLOTS)
    ]
    before = json.dumps(device.tables)
    h = _push(device)
    assert json.dumps(device.tables) == before
    assert device.webhook_log() == [["GetPushV20", "GetWebHook"]]
    assert h.value("event_source") == "poll"
    assert h.value("event_source_reason").startswith("no free slot: all 5 webhook slots")


@pytest.mark.parametrize("v20", [True, False])
def test_push_disabled_on_the_device_is_reported_and_never_changed(v20: bool) -> None:
    device = PushDevice(push_on=False, v20=v20)
    h = _push(device)
    expected = [["GetPushV20", "GetWebHook"]] + ([] if v20 else [["GetPush"]])
    assert device.webhook_log() == expected  # read only: nothing Set, no Test
    assert h.value("event_source") == "poll"
    assert h.value("event_source_reason").startswith("push disabled on the device")


def test_older_firmware_reads_getpush_and_registers() -> None:
    device = PushDevice(v20=False)
    h = _push(device)
    assert ["GetPush"] in device.webhook_log() and device.ours() == [0]
    h.feed(PushWake())
    h.run(0)
    assert h.value("event_source") == "push"


def test_device_without_webhook_polls_without_asking_for_a_listener() -> None:
    device = PushDevice(webhook=False)
    h = _push(device)
    assert h.listens == 0 and device.webhook_log() == []
    assert h.value("event_source") == "poll"
    assert h.value("event_source_reason").startswith("not supported")
    h.run(3600)
    assert device.webhook_log() == []  # permanent: never retried


def test_push_attribute_off_sends_nothing_of_push() -> None:
    device = PushDevice()
    h = _push(device, attributes={"push": "off"})
    h.run(60)
    assert h.listens == 0 and device.webhook_log() == []
    assert (h.value("event_source"), h.value("event_source_reason")) == (
        "poll", "push attribute off")


def test_test_call_that_never_comes_frees_the_slot_and_retries_later() -> None:
    device = PushDevice()
    h = _push(device)
    h.run(4.9)
    assert h.value("event_source") is None
    h.run(0.2)
    reason = h.value("event_source_reason")
    assert h.value("event_source") == "poll"
    assert reason.startswith("device cannot reach host:port") and "127.0.0.1:8123" in reason
    assert "SECRET" not in reason
    assert device.ours() == [] and device.tables[0][0]["indexEnable"] == -1
    sets = len(h.sent("SetWebHook"))
    h.run(590)
    assert len(h.sent("SetWebHook")) == sets
    h.run(11)  # retry at 605 s: registered again, waiting for the call until 610 s
    assert len(h.sent("TestWebHook")) == 2 and device.ours() == [0]


def test_test_webhook_refused_keeps_the_slot_and_the_first_call_promotes() -> None:
    device = PushDevice()
    device.test_refused = True
    h = _push(device)
    assert h.value("event_source") == "poll"
    assert h.value("event_source_reason").startswith("push not verified")
    h.run(30)
    assert device.ours() == [0]
    h.feed(PushWake())
    h.run(0)
    assert h.value("event_source") == "push"


def test_listener_port_busy_polls_and_asks_again_later() -> None:
    busy = ListenFailed("listener port busy: push listener cannot bind port 8123")
    device = PushDevice()
    h = _push(device, listen_answer=busy)
    assert h.value("event_source") == "poll"
    assert h.value("event_source_reason").startswith("listener port busy")
    assert device.webhook_log() == []
    h.listen_answer = Listening(URL, "127.0.0.1:8123")
    h.run(601)
    assert h.listens == 2 and device.ours() == [0]


# --- wakes -------------------------------------------------------------------------------------


def _active(device: Optional[PushDevice] = None, **kwargs: Any) -> PushHarness:
    h = _push(device or PushDevice(), **kwargs)
    h.feed(PushWake())
    h.run(0.5)
    assert h.value("event_source") == "push"
    return h


def test_a_wake_polls_at_once_and_the_edge_reaches_the_host_once() -> None:
    device = PushDevice()
    h = _active(device)
    device.motion[0] = True
    h.run(1.0)
    polls = len(h.sent("GetEvents"))
    h.feed(PushWake())
    h.run(0)
    assert len(h.sent("GetEvents")) == polls + 1 and h.sent("GetEvents")[-1] == h.now
    assert h.history("motion", "0") == [0, 1]
    device.motion[0] = False
    h.run(5.0)  # the interval poll finds the end
    assert h.history("motion", "0") == [0, 1, 0]


def test_a_flood_of_wakes_costs_at_most_five_polls_a_second() -> None:
    h = _active()
    start = h.now
    before = len(h.sent("GetEvents"))
    for _ in range(200):  # one call every 5 ms for 1 s
        h.feed(PushWake())
        h.run(0.005)
    polls = [t for t in h.sent("GetEvents")[before:] if t <= start + 1.0]
    assert 4 <= len(polls) <= 6
    assert all(b - a >= 0.2 - 1e-9 for a, b in zip(polls, polls[1:]))


def test_a_wake_during_a_poll_gets_one_more_poll_after_it() -> None:
    h = _active()
    h.run(2.0)
    h.latency = 0.05
    before = len(h.sent("GetEvents"))
    h.feed(PushWake())  # the poll goes out...
    h.feed(PushWake())  # ...and more calls come while it runs
    h.feed(PushWake())
    h.run(1.0)
    polls = h.sent("GetEvents")[before:]
    # the calls during the first poll add one poll after it; the follow-ups of a call whose
    # polls found nothing come 0.4 s and 1 s after it
    first = polls[0]
    assert [round(p - first, 6) for p in polls if p < first + 0.4 - 1e-9] == [0.0, 0.2]
    assert all(b - a >= 0.2 - 1e-9 for a, b in zip(polls, polls[1:]))


def test_events_found_without_calls_fall_back_to_poll_and_register_again_later() -> None:
    device = PushDevice()
    h = _active(device)
    for _ in range(3):
        h.run(10)
        device.motion[0] = True  # no call: only the interval poll finds it
        h.run(6)
        device.motion[0] = False
    assert h.value("event_source") == "poll"
    assert h.value("event_source_reason").startswith("events arrive without push calls")
    tests = len(h.sent("TestWebHook"))
    h.run(601)
    assert len(h.sent("TestWebHook")) == tests + 1


def test_announced_events_keep_push() -> None:
    device = PushDevice()
    h = _active(device)
    for _ in range(5):
        h.run(10)
        device.motion[0] = True
        h.feed(PushWake())
        h.run(6)
        device.motion[0] = False
    assert h.value("event_source") == "push"


# --- reconnect, reboot, disconnect -------------------------------------------------------------


def test_reboot_registers_again_reusing_the_slot() -> None:
    device = PushDevice()
    h = _active(device)
    assert h.command("reboot") == {"rebooting": True}
    h.run(30)
    device.down = False
    for _ in range(2000):
        h.run(0.1)
        if len(h.sent("TestWebHook")) == 2:
            break
    assert h.value("online") is True
    assert len(h.sent("TestWebHook")) == 2 and len(h.sent("SetWebHook")) == 1
    # Listen is asked again before the new registration (the listener's live set enters the
    # core as a value read afresh); the URL is the same, and the slot is reused.
    assert device.ours() == [0] and h.listens == 2
    h.feed(PushWake())  # the test call
    h.run(0)
    assert h.value("event_source") == "push"


def test_disconnect_frees_our_slot_before_logout() -> None:
    device = PushDevice()
    h = _active(device)
    h.feed(Disconnect(h.now))
    h.run(10)
    assert h.finished
    cmds = [c for _, cmds, _ in device.log for c in cmds]
    assert cmds[-2:] == ["SetWebHook", "Logout"]
    assert device.ours() == [] and device.tables[0][0]["indexEnable"] == -1


def test_nvr_registers_every_polled_channel_and_tests_one() -> None:
    device = PushDevice(channels=3)
    _push(device, zones={"0": {}, "2": {}})
    assert device.webhook_log()[0] == ["GetPushV20", "GetPushV20", "GetWebHook", "GetWebHook"]
    assert device.ours(0) == [0] and device.ours(1) == [] and device.ours(2) == [0]
    assert len(device.tests) == 1


# --- the pure rules ----------------------------------------------------------------------------


def test_push_control_min_gap_between_push_triggered_polls() -> None:
    control = PushControl("auto", 5.0, PushTiming())
    control.identified(0.0, [0])
    assert control.take_listen() and not control.take_listen()
    control.listening(URL, "h:1")
    assert control.due(0.0)
    assert control.wake(1.0) == 1.0
    assert control.poll_started(1.0)
    assert control.wake(1.05) == pytest.approx(1.2)
    assert control.wake(1.5) == 1.5
    assert not control.poll_started(7.0) or control.poll_started(7.0) is False


@pytest.mark.parametrize(
    ("attributes", "attribute"),
    [
        ({"push": "on"}, "push"),
        ({"push": "yes"}, "push"),
        ({"push_port": "70000"}, "push_port"),
        ({"push_port": "-1"}, "push_port"),
        ({"push_port": "http"}, "push_port"),
        ({"push_host": "http://10.0.0.1/"}, "push_host"),
        ({"push_host": "10.0.0.1:80"}, "push_host"),
        ({"push_host": "a b"}, "push_host"),
    ],
)
def test_bad_push_attributes_are_refused_naming_the_attribute(
    attributes: Dict[str, str], attribute: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_device({"ip": "10.0.0.5", "username": "u", "password": "p", **attributes})
    assert caught.value.attribute == attribute
    assert attribute in str(caught.value) and "allowed" in str(caught.value)


def test_push_attributes_defaults_and_values() -> None:
    base = {"ip": "10.0.0.5", "username": "u", "password": "p"}
    config = parse_device(base)
    assert (config.push, config.push_host, config.push_port) == ("auto", "", 0)
    config = parse_device({**base, "push": "OFF", "push_host": "10.0.0.2", "push_port": "8123"})
    assert (config.push, config.push_host, config.push_port) == ("off", "10.0.0.2", 8123)


def test_driver_logs_redact_push_paths(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from reolink.driver.logs import DeviceLog

    log = DeviceLog(logging.getLogger("reolink.driver.test"), "10.0.0.5:80")
    with caplog.at_level(logging.DEBUG, logger="reolink.driver.test"):
        log.info("calling %s failed", URL)
        log.warning("error: %s", ValueError(f"bad {URL}"))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "SECRET" not in text and text.count("/reolink/push/***") == 2


def test_push_control_never_shows_the_url() -> None:
    control = PushControl("auto", 5.0, PushTiming())
    control.identified(0.0, [0])
    control.take_listen()
    control.listening(URL, "127.0.0.1:8123")
    control.verifying(0.0, {0: 1})
    control.tick(10.0)
    assert "127.0.0.1:8123" in control.reason and "SECRET" not in control.reason
    assert control.free_wanted and control.retry_at == 610.0


def test_another_live_registration_of_our_listener_keeps_its_slot() -> None:
    """Two drivers for one device on one fixed push_port: the slot holding the other driver's
    URL (same listener, another live path) is not a crashed run's; it is left alone."""
    prefix = URL.rsplit("/", 1)[0] + "/"
    theirs = prefix + "ANOTHERliveDRIVERanotherLIVEdriver"
    stale = prefix + "AcrashedRUNacrashedRUNacrashedRUN"
    device = PushDevice()
    device.tables[0][0] = {"index": 0, "indexEnable": 1, "hookUrl": theirs, "bCustom": 0,
                           "hookBody": ""}
    device.tables[0][2] = {"index": 2, "indexEnable": 1, "hookUrl": stale, "bCustom": 0,
                           "hookBody": ""}
    live = Listening(URL, "127.0.0.1:8123", live={URL, theirs})
    h = _push(device, attributes={"push_port": "8123"}, listen_answer=live)
    assert device.ours() == [2]  # the crashed run's slot is reclaimed, the live one kept
    assert device.tables[0][0]["hookUrl"] == theirs
    h.feed(Disconnect(h.now))
    h.run(10)
    assert device.tables[0][0]["hookUrl"] == theirs and device.ours() == []
    assert "ANOTHER" not in repr(live)


def test_a_lost_test_webhook_reply_still_trusts_the_call_that_arrives() -> None:
    """The device ran TestWebHook but its reply was lost: its call is what counts."""
    device = PushDevice()
    device.lose_reply.append("TestWebHook")
    h = _push(device)
    assert device.tests == [URL] and len(h.sent("TestWebHook")) == 1
    assert not (h.value("event_source_reason") or "").startswith("registration failed")
    h.run(1)
    h.feed(PushWake())  # the test call
    h.run(0)
    assert h.value("event_source") == "push" and device.ours() == [0]
    assert len(h.sent("TestWebHook")) == 1  # never sent twice


def test_a_lost_test_webhook_reply_and_no_call_is_unreachable() -> None:
    device = PushDevice()
    device.lose_reply.append("TestWebHook")
    h = _push(device)
    h.run(5.1)
    assert h.value("event_source") == "poll"
    assert h.value("event_source_reason").startswith("device cannot reach host:port")
    assert device.ours() == [] and len(h.sent("TestWebHook")) == 1


def _lost_set_webhook() -> PushHarness:
    """SetWebHook applied by the device, its reply lost: registration failed, slot 0 ours."""
    device = PushDevice()
    device.lose_reply.append("SetWebHook")
    h = _push(device)
    assert h.value("event_source_reason").startswith("registration failed")
    assert device.ours() == [0] and len(h.sent("SetWebHook")) == 1
    h.run(5)  # polls answer again: the device is reachable
    return h


def test_a_slot_whose_set_webhook_reply_was_lost_is_freed_at_disconnect() -> None:
    h = _lost_set_webhook()
    device = h.device
    assert isinstance(device, PushDevice)
    h.feed(Disconnect(h.now))
    h.run(10)
    assert h.finished and device.ours() == [] and device.tables[0][0]["indexEnable"] == -1
    cmds = [c for _, cmds, _ in device.log for c in cmds]
    assert cmds[-3:] == ["GetWebHook", "SetWebHook", "Logout"]


def test_a_maybe_ours_slot_taken_by_another_system_is_left_alone() -> None:
    h = _lost_set_webhook()
    device = h.device
    assert isinstance(device, PushDevice)
    device.tables[0][0] = {"index": 0, "indexEnable": 1, "hookUrl": OTHER, "bCustom": 0,
                           "hookBody": ""}
    sets = len(h.sent("SetWebHook"))
    h.feed(Disconnect(h.now))
    h.run(10)
    assert h.finished and device.tables[0][0]["hookUrl"] == OTHER
    assert len(h.sent("SetWebHook")) == sets  # nothing written: it is not ours


def test_the_next_registration_adopts_a_maybe_ours_slot() -> None:
    h = _lost_set_webhook()
    device = h.device
    assert isinstance(device, PushDevice)
    h.run(596)  # the retry, 600 s after the failure: reads the slot, reuses it unwritten
    assert len(h.sent("TestWebHook")) == 1 and len(h.sent("SetWebHook")) == 1
    h.feed(PushWake())
    h.run(0)
    assert h.value("event_source") == "push" and device.ours() == [0]
    h.feed(Disconnect(h.now))
    h.run(10)
    assert device.ours() == []


def test_the_query_check_is_at_work(push_queries_change_nothing: List[str]) -> None:
    """The wrapped queries are the ones the core asks (a check nobody calls proves nothing),
    and a query that changed the state would fail."""
    h = _active()
    h.run(PushTiming().recheck + 5.0)  # past the first re-read of our slots
    assert {"due", "check_due", "next_wakeup", "poll_due"} <= set(push_queries_change_nothing)
    moving = _checked("poll_due", lambda self, now: setattr(self, "poll_at", now))
    with pytest.raises(AssertionError, match=r"PushControl.poll_due\(1.0\) changed its state"):
        moving(PushControl("auto", 5.0, PushTiming()), 1.0)
