"""Push you can trust (issue 16): every detection its own edge, slots never erased, push
re-earned after every outage. Pure core on a fake clock (the harnesses of test_driver_core and
test_driver_push); the emulator-over-loopback cases are in test_push_trust_emulator.py.
"""

from __future__ import annotations

import random
from typing import Any, Dict, List, Tuple

import pytest
from test_driver_push import OTHER, URL, PushDevice, PushHarness, _push

from reolink.driver.messages import Disconnect, Probe, Probed, PushWake
from reolink.driver.pushcontrol import PushControl, PushTiming

# --- every detection is its own edge -----------------------------------------------------------


def _active(device: PushDevice, interval_ms: int = 10000, **kwargs: Any) -> PushHarness:
    attributes = {"status_interval": str(interval_ms), **kwargs.pop("attributes", {})}
    h = _push(device, attributes=attributes, **kwargs)
    h.feed(PushWake())  # the test call
    h.run(0.5)
    assert h.value("event_source") == "push"
    return h


def _play(
    h: PushHarness,
    device: PushDevice,
    events: List[Tuple[float, float]],
    *,
    lag: float = 0.0,
    calls: bool = True,
    step: float = 0.01,
) -> Tuple[List[float], List[float]]:
    """Play detections (start offset, duration) from now on; the device calls at each start,
    its state shows the event ``lag`` later. Returns (host rises, host falls) times."""
    t0 = h.now
    timeline: List[Tuple[float, str]] = []
    for start, duration in events:
        if calls:
            timeline.append((t0 + start, "call"))
        timeline.append((t0 + start + lag, "on"))
        timeline.append((t0 + start + duration, "off"))
    timeline.sort()
    first_event = len(h.events)
    end = max(t for t, _ in timeline) + 15.0
    upcoming = 0  # the timeline is sorted and time only moves on: scan it once, in order
    while h.now < end:
        due = []
        while upcoming < len(timeline) and timeline[upcoming][0] < h.now + step - 1e-9:
            t, what = timeline[upcoming]
            if t >= h.now - 1e-9:
                due.append(what)
            upcoming += 1
        for what in due:
            if what == "on":
                device.motion[0] = True
            elif what == "off":
                device.motion[0] = False
        if "call" in due:
            h.feed(PushWake())
        h.run(step)
    changes = [(t, e.value) for t, e in h.events[first_event:]
               if (e.target, e.address, e.name) == ("zone", "0", "motion")]
    return [t for t, v in changes if v == 1], [t for t, v in changes if v == 0]


def test_twelve_short_motions_ten_seconds_apart_reach_the_host_as_twelve() -> None:
    device = PushDevice()
    h = _active(device)
    rises, falls = _play(h, device, [(10.0 * k + 1.3, 3.0) for k in range(12)])
    assert len(rises) == 12 and len(falls) == 12


@pytest.mark.parametrize("interval_ms", [2000, 5000, 10000, 30000])
def test_random_detections_with_gaps_over_2_5_s_never_merge(interval_ms: int) -> None:
    rng = random.Random(interval_ms)
    events, t = [], 1.0
    for _ in range(30):
        duration = rng.uniform(1.0, 8.0)
        events.append((t, duration))
        t += duration + rng.uniform(2.5, 15.0)
    device = PushDevice()
    h = _active(device, interval_ms)
    t0 = h.now
    rises, falls = _play(h, device, events)
    assert len(rises) == len(events) and len(falls) == len(events)
    ends = [t0 + start + duration for start, duration in events]
    latency = sorted(fall - end for fall, end in zip(falls, ends))
    assert latency[-1] <= 2.5  # the end of every detection reaches the host within 2.5 s


def test_a_push_wake_never_moves_the_regular_poll_grid() -> None:
    device = PushDevice()
    h = _active(device)
    grid = h.sent("GetEvents")[0]
    h.run(3.0)
    h.feed(PushWake())  # nothing shows: confirmed by follow-ups, then back to the grid
    h.run(30.0)
    polls = h.sent("GetEvents")
    for k in (1, 2, 3):
        assert any(abs(p - (grid + 10.0 * k)) < 1e-6 for p in polls), (k, polls)


def test_a_call_that_precedes_the_state_still_counts() -> None:
    device = PushDevice()
    h = _active(device)
    rises, _ = _play(h, device, [(3.0 * k + 1.0, 1.0) for k in range(10)], lag=0.05)
    assert len(rises) == 10


def test_a_wake_that_finds_nothing_costs_at_most_two_follow_up_polls() -> None:
    device = PushDevice()
    h = _active(device)
    h.run(1.0)
    before = len(h.sent("GetEvents"))
    start = h.now
    h.feed(PushWake())
    h.run(5.0)
    polls = [p - start for p in h.sent("GetEvents")[before:]]
    assert len(polls) == 3 and polls[0] == 0.0 and polls[-1] <= 1.0 + 1e-9


# --- never touch a slot that is not provably ours ----------------------------------------------


def _other(index: int, url: str = OTHER) -> Dict[str, Any]:
    return {"index": index, "indexEnable": 1, "hookUrl": url, "bCustom": 0, "hookBody": ""}


def _commands(device: PushDevice) -> List[str]:
    return [c for _, cmds, _ in device.log for c in cmds]


def test_disconnect_leaves_a_url_another_system_wrote_into_our_slot() -> None:
    device = PushDevice()
    h = _active(device)
    assert device.ours() == [0]
    device.tables[0][0] = _other(0)  # a user (or Home Assistant) took the slot meanwhile
    h.feed(Disconnect(h.now))
    h.run(10)
    assert h.finished and device.tables[0][0]["hookUrl"] == OTHER
    assert _commands(device)[-2:] == ["GetWebHook", "Logout"]  # read, nothing freed


def test_a_failed_verification_frees_only_a_slot_still_holding_our_url() -> None:
    device = PushDevice()
    h = _push(device, attributes={"status_interval": "10000"})
    device.tables[0][0] = _other(0)  # taken before the (missing) test call's deadline
    h.run(6)
    assert h.value("event_source_reason").startswith("device cannot reach host:port")
    assert device.tables[0][0]["hookUrl"] == OTHER


class RacingDevice(PushDevice):
    """Another writer (a second driver starting at the same moment) writes its own URL into
    the slot we just wrote, right after our SetWebHook, ``races`` times."""

    def __init__(self, races: int = 1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.races = races
        self.rival = "http://127.0.0.1:8123/reolink/push/RIVALdriverRIVALdriverRIVALdriver"

    def _webhook(self, cmd: str, param: Dict[str, Any]) -> Dict[str, Any]:
        reply = super()._webhook(cmd, param)
        if cmd == "SetWebHook" and self.races and param["WebHook"]["indexEnable"] == 1:
            self.races -= 1
            hook = param["WebHook"]
            self.tables[hook["channel"]][hook["index"]] = _other(hook["index"], self.rival)
        return reply


def test_a_slot_another_writer_won_is_read_back_and_another_one_claimed() -> None:
    device = RacingDevice()
    h = _push(device)
    assert device.tables[0][0]["hookUrl"] == device.rival  # the winner keeps it
    assert device.ours() == [1]
    assert device.tests == [URL]
    h.feed(PushWake())
    h.run(0)
    assert h.value("event_source") == "push"
    h.feed(Disconnect(h.now))
    h.run(10)
    assert device.tables[0][0]["hookUrl"] == device.rival and device.ours() == []


class LateRivalDevice(PushDevice):
    """The rival read the table before our write and writes the same slot after our
    read-back (just after our TestWebHook), once."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rival = "http://10.0.0.7:8124/reolink/push/LATErivalLATErivalLATErival"
        self.raced = False

    def _webhook(self, cmd: str, param: Dict[str, Any]) -> Dict[str, Any]:
        reply = super()._webhook(cmd, param)
        if cmd == "TestWebHook" and not self.raced:
            self.raced = True
            index = self.ours()[0]
            self.tables[0][index] = _other(index, self.rival)
        return reply


def test_a_slot_another_writer_took_after_the_read_back_is_claimed_again() -> None:
    device = LateRivalDevice()
    h = _push(device)
    assert device.tables[0][0]["hookUrl"] == device.rival
    assert device.ours() == [1] and device.tests == [URL, URL]
    h.feed(PushWake())
    h.run(0)
    assert h.value("event_source") == "push"


def test_a_lost_set_webhook_reply_is_settled_before_logout_on_a_quick_disconnect() -> None:
    device = PushDevice()
    device.lose_reply.append("SetWebHook")
    h = _push(device)
    assert device.ours() == [0]
    h.feed(Disconnect(h.now))  # at once: the session still counts the lost reply as failing
    h.run(10)
    assert h.finished and device.ours() == []
    assert _commands(device)[-3:] == ["GetWebHook", "SetWebHook", "Logout"]


# --- push follows the device's life ------------------------------------------------------------


def _until(h: PushHarness, check: Any, seconds: float, step: float = 0.1) -> None:
    for _ in range(int(seconds / step)):
        if check():
            return
        h.run(step)
    assert check()


def test_an_outage_the_driver_did_not_order_re_earns_push() -> None:
    device = PushDevice()
    h = _active(device)
    device.down = True  # a power cut: shown offline
    _until(h, lambda: h.value("online") is False, 60)
    assert h.value("event_source") == "poll"  # not claimed while nothing proves it
    device.down = False
    device.tables[0] = [dict(s, indexEnable=-1, hookUrl="") for s in device.tables[0]]  # reset
    _until(h, lambda: len(device.tests) == 2, 120)
    assert h.value("online") is True and device.ours() == [0]  # registered again
    assert h.value("event_source") == "poll"
    assert h.value("event_source_reason").startswith("push not verified")
    h.feed(PushWake())  # the test call
    h.run(0)
    assert h.value("event_source") == "push"


def test_a_quick_reboot_seen_as_a_refused_token_re_verifies_push() -> None:
    device = PushDevice()
    h = _active(device)
    device.tokens.clear()  # rebooted between two polls: our session is gone...
    device.tables[0] = [dict(s, indexEnable=-1, hookUrl="") for s in device.tables[0]]  # ...and
    _until(h, lambda: len(device.tests) == 2, 30)  # the slots with it (a reset device)
    assert device.ours() == [0]
    assert h.value("event_source") == "poll"
    h.feed(PushWake())
    h.run(0)
    assert h.value("event_source") == "push"


def test_a_lease_renewal_is_not_a_reconnect() -> None:
    device = PushDevice(lease=60)
    h = _active(device)
    h.run(200)  # three renewals
    assert len(device.tests) == 1 and h.value("event_source") == "push"


class LateDevice(PushDevice):
    """An NVR whose offline channels say supportWebhook 0 in GetAbility (as firmware does)."""

    def _answer(self, command: Dict[str, Any], token: str) -> Dict[str, Any]:
        if command["cmd"] == "GetAbility" and token in self.tokens:
            chn = [
                {"supportWebhook": {"permit": 0, "ver": int(c not in self.offline)}}
                for c in range(self.channels)
            ]
            return {"cmd": "GetAbility", "code": 0, "value": {"Ability": {"abilityChn": chn}}}
        return super()._answer(command, token)


def test_a_channel_that_comes_online_later_is_registered() -> None:
    device = LateDevice(channels=2)
    device.offline.add(1)
    h = _push(device, zones={"0": {}, "1": {}}, attributes={"status_interval": "5000"})
    h.feed(PushWake())
    h.run(1)
    assert device.ours(0) == [0] and device.ours(1) == []
    device.offline.discard(1)  # the camera on channel 1 comes online
    _until(h, lambda: device.ours(1) == [0], 120)
    _until(h, lambda: h.value("online", "1") is True, 10)
    assert device.ours(0) == [0] and h.value("event_source") == "push"
    assert len(device.tests) == 1  # the path was proven already: no second test call


def test_events_without_calls_are_caught_in_every_phase_push_is_claimed() -> None:
    control = PushControl("auto", 5.0, PushTiming())
    control.identified(0.0, [0])
    control.take_listen()
    control.listening(URL, "127.0.0.1:8123")
    control.registering()
    control.verifying(0.0, {0: 0})
    control.wake(0.5)
    assert control.source == "push"
    assert control.add_channels([0, 1])  # a late channel: registering, push still claimed
    for k in range(3):  # events found by polls, no call from the device
        control.after_poll(20.0 * (k + 1), 20.0 * (k + 1), 1, True)
    assert control.source == "poll"
    assert control.reason.startswith("events arrive without push calls")


# --- slots don't outlive their owner -----------------------------------------------------------

CRASHED = "http://127.0.0.1:{port}/reolink/push/CRASHEDrunCRASHEDrunCRASHEDrun{port}"


class ProbeHarness(PushHarness):
    """Answers Probe actions with Probed(dead=what ``dead_of(urls)`` says); records asks."""

    def __init__(self, device: PushDevice, dead_of: Any, **kwargs: Any) -> None:
        self.dead_of = dead_of
        self.probes: List[Tuple[str, ...]] = []
        super().__init__(device, **kwargs)

    def feed(self, event: Any) -> None:
        if not hasattr(self, "_configured"):
            super().feed(event)
            return
        real = self.core.handle
        asked: List[Probe] = []

        def spy(now: float, ev: Any) -> Any:
            actions = real(now, ev)
            asked.extend(a for a in actions if isinstance(a, Probe))
            return actions

        self.core.handle = spy  # type: ignore[method-assign]
        try:
            super().feed(event)
        finally:
            if "handle" in vars(self.core):
                del self.core.handle
        for probe in asked:
            self.probes.append(probe.urls)
            self.feed(Probed(frozenset(self.dead_of(probe.urls))))


def _full_with(device: PushDevice, mine: List[str]) -> None:
    """Slots: ``mine`` (URLs of this library on this host) first, other systems after."""
    for index in range(len(device.tables[0])):
        url = mine[index] if index < len(mine) else f"{OTHER}{index}"
        device.tables[0][index] = _other(index, url)


def test_a_slot_left_by_a_crashed_run_on_another_port_is_reclaimed() -> None:
    device = PushDevice()
    stale = CRASHED.format(port=40001)
    _full_with(device, [stale])
    h = ProbeHarness(device, dead_of=lambda urls: urls)
    h.run(0)
    assert h.probes == [(stale,)]
    assert device.ours() == [0] and device.tests == [URL]
    assert [s["hookUrl"] for s in device.tables[0][1:]] == [f"{OTHER}{i}" for i in range(1, 5)]


def test_a_slot_whose_listener_answers_is_never_taken_and_the_reason_says_so() -> None:
    device = PushDevice()
    live = CRASHED.format(port=40002)
    _full_with(device, [live])
    before = [dict(s) for s in device.tables[0]]
    h = ProbeHarness(device, dead_of=lambda urls: ())
    h.run(0)
    assert device.tables[0] == before
    reason = h.value("event_source_reason")
    assert reason.startswith("no free slot: all 5 webhook slots are taken - 1 by running "
                             "drivers of this library")
    assert "4 by other systems' URLs" in reason and "CRASHED" not in reason


def test_five_crashes_leave_nothing_behind() -> None:
    device = PushDevice()
    stale = [CRASHED.format(port=40010 + k) for k in range(5)]
    _full_with(device, stale)
    h = ProbeHarness(device, dead_of=lambda urls: urls)
    h.run(0)
    assert device.ours() == [0]
    assert all(s["indexEnable"] == -1 for s in device.tables[0][1:])  # the other four freed
    assert h.probes == [tuple(stale)]


def test_the_fidelity_benchmark_tells_seen_merged_and_lost_apart() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from bench_push_latency import judge

    detections = [(0.0, 3.0), (5.0, 6.0), (7.0, 9.0), (20.0, 21.0)]
    host = [(0.1, 1), (4.0, 0), (5.1, 1), (9.5, 0)]  # the third merged into the second
    counts, ends = judge(detections, host)
    assert counts == {"seen": 2, "merged": 1, "lost": 1}
    assert ends == [pytest.approx(1.0)]  # the second's end was only seen after the third began
