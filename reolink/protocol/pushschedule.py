"""The push schedule (GetPushV20 / GetPush): at which hours the device pushes (and calls its
webhooks) for motion and AI. Pure: no I/O, no clock (the time of day is passed in).

What the data supports (``/work/shared/detection-setup.md``): GetPushV20 answers
``Push.schedule.table`` as an object of rows - ``MD``, ``AI_PEOPLE``, ``AI_VEHICLE``,
``AI_DOG_CAT``... (an open set) - each 168 characters of ``0``/``1``: 7 days x 24 hours. Legacy
GetPush answers one 168-character string (``Push.schedule.table``). **The day order is
undocumented**, so this module never says which day a character belongs to. It only tells:

* **off** - every detection row (``MD`` and ``AI_*``; a legacy table is one row) is all zeros:
  no webhook call will ever come;
* **always on** - the rows it reads are all ones;
* **hours** - when all 7 day blocks of the combined detection rows share one 24-hour pattern,
  the hours of the day (0-23) with push on: certain without the day order. With the device's
  own time of day (GetTime) :meth:`PushSchedule.off_until` then says until when it is off;
* otherwise **partial**: off at some hours that cannot be told without the day order.

A reply without a table (or with rows that are not 168 characters of 0/1) says nothing:
``known`` is False and the driver behaves as if push were scheduled at every hour.

**The one home of reading a push reply.** :func:`read_push` reads a GetPushV20 / GetPush reply
once: its switches, every usable schedule row, and the :class:`PushSchedule` above. The push
code (:func:`parse_push_schedule`) and the detection-setup findings
(:func:`reolink.protocol.setup.parse_push_schedule`, a view of the same reading) both use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import FrozenSet, Optional, Sequence, Tuple

import attrs

from reolink.errors import RemoteProtocolError, ReolinkError
from reolink.protocol._coerce import Reply, int_or_none
from reolink.protocol._coerce import reply_value as _value

__all__ = [
    "HOURS",
    "PushSchedule",
    "PushSettings",
    "build_get_time",
    "combine",
    "parse_push_schedule",
    "parse_time_of_day",
    "read_push",
    "schedule_of",
]

#: 7 days x 24 hours, one character each.
HOURS = 168
_DAY = 24
_ALL_DAY = frozenset(range(_DAY))


@attrs.frozen
class PushSchedule:
    """What a push schedule says for detections (see the module docstring)."""

    #: a usable table was there (else nothing is known: treated as always on)
    known: bool
    #: the detection rows read (``MD``, ``AI_PEOPLE``...; ``table`` for a legacy string)
    rows: Tuple[str, ...] = ()
    #: every detection row is all zeros
    off: bool = False
    #: the hours of day (0-23) with push on, when every day has the same pattern; else None
    hours: Optional[FrozenSet[int]] = None

    @property
    def always_on(self) -> bool:
        return not self.known or self.hours == _ALL_DAY

    @property
    def partial(self) -> bool:
        """Off at some hours that cannot be told (the days differ; their order is unknown)."""
        return self.known and not self.off and self.hours is None

    def on_at(self, hour: int) -> Optional[bool]:
        """Whether push is on at ``hour`` (0-23) of the day; None when that cannot be told."""
        if not self.known or self.off:
            return not self.off
        if self.hours is None:
            return None
        return hour % _DAY in self.hours

    def off_until(self, hour: int) -> Optional[int]:
        """At ``hour`` (0-23): the hour push comes on again if it is off now; None when it is
        on now or that cannot be told (the days differ, or it never comes on)."""
        if self.hours is None or not self.hours or hour % _DAY in self.hours:
            return None
        for step in range(1, _DAY + 1):
            if (hour + step) % _DAY in self.hours:
                return (hour + step) % _DAY
        return None  # pragma: no cover - hours is not empty


def schedule_of(table: object) -> PushSchedule:
    """The schedule of a ``Push.schedule.table`` value: an object of rows (GetPushV20) or one
    string (legacy GetPush). Anything unusable gives an unknown schedule (never raises: the
    schedule only tunes what push promises)."""
    if isinstance(table, str):
        rows = {"table": table}
    elif isinstance(table, Mapping):
        rows = {
            str(k): v for k, v in table.items()
            if isinstance(k, str) and (k == "MD" or k.startswith("AI_"))
        }
    else:
        return PushSchedule(known=False)
    if not rows or not all(_row(v) for v in rows.values()):
        return PushSchedule(known=False)
    combined = [any(str(v)[i] == "1" for v in rows.values()) for i in range(HOURS)]
    names = tuple(sorted(rows))
    if not any(combined):
        return PushSchedule(known=True, rows=names, off=True, hours=frozenset())
    days = {tuple(combined[d * _DAY:(d + 1) * _DAY]) for d in range(HOURS // _DAY)}
    if len(days) != 1:
        return PushSchedule(known=True, rows=names)
    (day,) = days
    return PushSchedule(
        known=True, rows=names, hours=frozenset(h for h in range(_DAY) if day[h])
    )


def build_get_time() -> dict[str, object]:
    """GetTime: the device's clock (its time of day places the schedule's hours)."""
    return {"cmd": "GetTime", "action": 0, "param": {}}


def _row(value: object) -> bool:
    return isinstance(value, str) and len(value) == HOURS and set(value) <= {"0", "1"}


@attrs.frozen
class PushSettings:
    """Everything a GetPushV20 / GetPush reply says about push (:func:`read_push`). None: not in
    the reply, or not exactly 0 or 1."""

    #: GetPushV20 ``Push.enable``; legacy GetPush ``Push.schedule.enable``
    enable: Optional[bool] = None
    #: GetPushV20 ``Push.scheduleEnable`` (legacy GetPush has none)
    schedule_enable: Optional[bool] = None
    #: every schedule row that is 168 characters of 0/1, by name (legacy GetPush: ``""``)
    tables: Mapping[str, str] = attrs.field(factory=dict)
    #: what the detection rows say about the hours (see the module docstring)
    schedule: PushSchedule = PushSchedule(known=False)

    @property
    def rows_on(self) -> dict[str, bool]:
        """Each usable row -> whether any hour of it is on."""
        return {name: "1" in row for name, row in self.tables.items()}


def _switch(value: object) -> Optional[bool]:
    """A 0/1 switch (an int, or a numeric string); anything else (a bool, 1602...) is None."""
    if isinstance(value, bool):
        return None
    try:
        number = int_or_none(value, "switch")
    except RemoteProtocolError:
        return None
    return None if number not in (0, 1) else number == 1


def read_push(reply: Reply, cmd: str = "GetPushV20") -> PushSettings:
    """A GetPushV20 (``cmd`` default) or legacy GetPush reply, read once (never raises: an
    error reply or a part not understood reads as unknown)."""
    try:
        value = _value(reply, cmd)
    except ReolinkError:  # an error reply: nothing known
        return PushSettings()
    push = value.get("Push")
    if not isinstance(push, Mapping):
        return PushSettings()
    schedule = push.get("schedule")
    schedule = schedule if isinstance(schedule, Mapping) else {}
    table = schedule.get("table")
    if cmd == "GetPush":
        tables = {"": table} if isinstance(table, str) and _row(table) else {}
        return PushSettings(_switch(schedule.get("enable")), None, tables, schedule_of(table))
    rows = table.items() if isinstance(table, Mapping) else ()
    tables = {
        key: row for key, row in rows if isinstance(key, str) and isinstance(row, str) and _row(row)
    }
    return PushSettings(
        _switch(push.get("enable")),
        _switch(push.get("scheduleEnable")),
        tables,
        schedule_of(table),
    )


def parse_push_schedule(reply: Reply, cmd: str = "GetPushV20") -> PushSchedule:
    """GetPushV20 / GetPush's ``value.Push.schedule.table`` (unknown when absent or odd).

    ``enable`` / ``scheduleEnable`` 0 are :func:`reolink.protocol.webhook.parse_push_v20`'s
    business (push off altogether); this reads the hours only (:func:`read_push`).
    """
    return read_push(reply, cmd).schedule


def combine(schedules: Sequence[PushSchedule]) -> PushSchedule:
    """One schedule for several channels (an unknown one counts as always on): off when all
    are off; always on (unknown) when all are; the shared hours when every channel has the
    same; else partial (which channel calls when cannot be told)."""
    rows = tuple(sorted({r for s in schedules for r in s.rows}))
    if schedules and all(s.known and s.off for s in schedules):
        return PushSchedule(known=True, rows=rows, off=True, hours=frozenset())
    if all(s.always_on for s in schedules):
        return PushSchedule(known=False)
    hours = {s.hours if s.known else _ALL_DAY for s in schedules}
    if len(hours) == 1 and None not in hours:
        return PushSchedule(known=True, rows=rows, hours=hours.pop())
    return PushSchedule(known=True, rows=rows)


def parse_time_of_day(reply: Reply) -> Optional[int]:
    """GetTime's ``value.Time``: the device's time of day in seconds (0..86399), or None when
    the reply does not say (never raises: only a schedule's "until" needs it)."""
    try:
        value = _value(reply, "GetTime")
    except ReolinkError:
        return None
    clock = value.get("Time")
    if not isinstance(clock, Mapping):
        return None
    parts = [clock.get(k) for k in ("hour", "min", "sec")]
    if not all(isinstance(p, int) and not isinstance(p, bool) for p in parts):
        return None
    hour, minute, second = (int(p) for p in parts)  # type: ignore[arg-type]
    if not (0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 61):
        return None
    return hour * 3600 + minute * 60 + min(second, 59)
