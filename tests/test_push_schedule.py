"""GetPushV20's push schedule (issue 16): what its 168-character rows can tell (all zeros or
not; the hours when every day has the same pattern - the day order is undocumented), and what
the driver does with it, on a fake clock: no registration when no hour is on, "push schedule
off until HH:00" outside known hours, no fallback or re-registration for scheduled silence.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

import pytest
from test_driver_push import URL, PushDevice, _push

from reolink.driver.messages import PushWake
from reolink.protocol import decode_batch
from reolink.protocol.pushschedule import (
    PushSchedule,
    combine,
    parse_push_schedule,
    parse_time_of_day,
    schedule_of,
)

ON = "1" * 168
OFF = "0" * 168
DAY_8_TO_10 = ("0" * 8 + "1" * 2 + "0" * 14) * 7  # 08:00-09:59 every day
WEEKDAYS = ("1" * 24) * 5 + ("0" * 24) * 2  # two days off: which two is not documented


def _reply(value: Dict[str, Any], cmd: str = "GetPushV20") -> Any:
    raw = json.dumps([{"cmd": cmd, "code": 0, "value": value}]).encode()
    return decode_batch(raw, [{"cmd": cmd}])[0]


# --- the pure parser ---------------------------------------------------------------------------


def test_all_zero_detection_rows_mean_push_never_comes() -> None:
    schedule = schedule_of({"MD": OFF, "AI_PEOPLE": OFF, "AI_VEHICLE": OFF, "TIMING": ON})
    assert schedule.off and schedule.known and schedule.rows == ("AI_PEOPLE", "AI_VEHICLE", "MD")
    assert not schedule_of({"MD": OFF, "AI_PEOPLE": ON}).off  # people still call


def test_one_pattern_for_every_day_gives_the_hours_without_the_day_order() -> None:
    schedule = schedule_of({"MD": DAY_8_TO_10, "AI_PEOPLE": OFF})
    assert schedule.hours == frozenset({8, 9}) and not schedule.partial
    assert schedule.off_until(22) == 8 and schedule.off_until(7) == 8
    assert schedule.off_until(8) is None and schedule.on_at(9) is True
    assert schedule.on_at(10) is False


def test_days_that_differ_are_partial_and_no_time_is_invented() -> None:
    schedule = schedule_of({"MD": WEEKDAYS})
    assert schedule.partial and schedule.hours is None and not schedule.off
    assert schedule.off_until(3) is None and schedule.on_at(3) is None


@pytest.mark.parametrize("table", [None, 7, {}, {"MD": "1" * 167}, {"MD": "2" * 168}, "10"])
def test_an_unusable_table_says_nothing(table: object) -> None:
    schedule = schedule_of(table)
    assert not schedule.known and schedule.always_on and not schedule.off


def test_legacy_getpush_has_one_table_string() -> None:
    reply = _reply({"Push": {"schedule": {"enable": 1, "table": DAY_8_TO_10}}}, "GetPush")
    assert parse_push_schedule(reply, "GetPush").hours == frozenset({8, 9})


def test_parse_push_schedule_reads_getpushv20() -> None:
    reply = _reply({"Push": {"enable": 1, "schedule": {"channel": 0, "table": {"MD": OFF}}}})
    assert parse_push_schedule(reply).off
    error = decode_batch(
        json.dumps([{"cmd": "GetPushV20", "code": 1, "error": {"rspCode": -9}}]).encode(),
        [{"cmd": "GetPushV20"}],
    )[0]
    assert not parse_push_schedule(error).known


def test_combine_channels() -> None:
    off, hours, on = schedule_of({"MD": OFF}), schedule_of({"MD": DAY_8_TO_10}), schedule_of(
        {"MD": ON})
    assert combine([off, off]).off
    assert combine([on, PushSchedule(known=False)]).always_on
    assert combine([hours, hours]).hours == frozenset({8, 9})
    assert combine([hours, on]).partial and combine([off, on]).partial


@pytest.mark.parametrize(
    ("time", "seconds"),
    [({"hour": 7, "min": 59, "sec": 0}, 28740), ({"hour": 24, "min": 0, "sec": 0}, None),
     ({"hour": "7", "min": 0, "sec": 0}, None), (None, None)],
)
def test_parse_time_of_day(time: Optional[Dict[str, Any]], seconds: Optional[int]) -> None:
    reply = _reply({} if time is None else {"Time": time}, "GetTime")
    assert parse_time_of_day(reply) == seconds


# --- the driver ---------------------------------------------------------------------------------


class ScheduleDevice(PushDevice):
    """GetPushV20 with a schedule table; GetTime at ``clock`` seconds after midnight at t=0."""

    def __init__(self, table: Dict[str, str], clock: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.table = table
        self.clock = clock
        self.now = 0.0

    def __call__(self, request: Any, now: float) -> Any:
        self.now = now
        return super().__call__(request, now)

    def _answer(self, command: Dict[str, Any], token: str) -> Dict[str, Any]:
        if command["cmd"] == "GetTime" and token in self.tokens:
            t = int(self.clock + self.now) % 86400
            clock = {"hour": t // 3600, "min": t // 60 % 60, "sec": t % 60}
            return {"cmd": "GetTime", "code": 0, "value": {"Time": clock}}
        return super()._answer(command, token)

    def _webhook(self, cmd: str, param: Dict[str, Any]) -> Dict[str, Any]:
        reply = super()._webhook(cmd, param)
        if cmd == "GetPushV20":
            reply["value"]["Push"]["schedule"] = {"channel": 0, "table": dict(self.table)}
        return reply


def _unannounced(h: Any, device: PushDevice, events: int = 3) -> None:
    for _ in range(events):
        h.run(10)
        device.motion[0] = True  # no call: the schedule is off
        h.run(6)
        device.motion[0] = False


def test_no_hour_on_polls_without_registering() -> None:
    device = ScheduleDevice({"MD": OFF, "AI_PEOPLE": OFF})
    h = _push(device)
    assert h.value("event_source") == "poll"
    reason = h.value("event_source_reason")
    assert reason.startswith("push schedule off: ") and "no hour on" in reason
    h.run(1300)  # read again every 10 min; never written, never tested
    assert h.sent("SetWebHook") == [] and h.sent("TestWebHook") == []
    assert len(h.sent("GetWebHook")) == 3


def test_outside_known_hours_push_is_off_until_the_hour_without_fallback() -> None:
    device = ScheduleDevice({"MD": DAY_8_TO_10, "AI_PEOPLE": DAY_8_TO_10}, clock=7 * 3600 + 1800)
    h = _push(device)
    assert device.tests == [URL]
    h.feed(PushWake())  # the test call comes whatever the schedule
    h.run(0)
    assert h.value("event_source") == "poll"
    assert h.value("event_source_reason").startswith("push schedule off until 08:00")
    _unannounced(h, device)  # found by polling: the schedule explains it
    assert h.value("event_source_reason").startswith("push schedule off until 08:00")
    h.run(1800 - h.now + 1)  # 08:00 device time
    assert (h.value("event_source"), h.value("event_source_reason")) == ("push", "")
    h.run(2 * 3600)  # 10:00: off again until tomorrow 08:00
    assert h.value("event_source_reason").startswith("push schedule off until 08:00")
    assert len(h.sent("SetWebHook")) == 1 and len(h.sent("TestWebHook")) == 1


def test_a_partial_schedule_is_said_without_a_time_and_never_re_registers() -> None:
    device = ScheduleDevice({"MD": WEEKDAYS})
    h = _push(device)
    h.feed(PushWake())
    h.run(0)
    assert h.value("event_source") == "push"
    _unannounced(h, device)
    assert h.value("event_source") == "poll"
    reason = h.value("event_source_reason")
    assert reason.startswith("push schedule off at some hours") and "until" not in reason
    h.run(700)
    assert len(h.sent("SetWebHook")) == 1 and len(h.sent("TestWebHook")) == 1
    h.feed(PushWake())  # the schedule's hours are on again
    h.run(0)
    assert h.value("event_source") == "push"
