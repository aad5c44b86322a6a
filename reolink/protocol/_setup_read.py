"""Reading detection-setup replies tolerantly: a fact, or :class:`Unreadable` (no conclusion).

Private to :mod:`reolink.protocol.setup`. Every reader takes one reply and returns the fact it
holds, or raises :class:`Unreadable` naming why it cannot be read: an error reply, a missing key,
a value of another type, a "switch" that is not exactly 0 or 1 (legacy ``1602``), an area whose
length is not ``cols x rows`` of ``0``/``1``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Dict, Optional

import attrs

from reolink.errors import RemoteProtocolError
from reolink.protocol._coerce import Obj
from reolink.protocol._coerce import int_or_none as _int_or_none
from reolink.protocol.codes import printable
from reolink.protocol.parsers import normalize_ai_type
from reolink.protocol.pushschedule import read_push
from reolink.protocol.results import CommandReply

__all__ = [
    "PushSchedule",
    "Support",
    "Unreadable",
    "ai_area",
    "ai_switches",
    "events_support",
    "motion_area",
    "parse_push_schedule",
    "pir_on",
    "switch",
    "value_or_empty",
]

@attrs.frozen
class PushSchedule:
    """GetPushV20 / GetPush as the setup checks read it (a view of
    :class:`reolink.protocol.pushschedule.PushSettings`). None = not in the reply (or unusable).

    ``rows``: each schedule row with a usable 168-hour table -> whether any hour is on. Legacy
    GetPush has one table, under the key ``""``.
    """

    enable: Optional[bool]
    schedule_enable: Optional[bool]
    rows: Mapping[str, bool]


# --- reading replies ----------------------------------------------------------------------------


class Unreadable(Exception):
    """This fact cannot be read from the reply (the why is the message)."""


def _value(reply: CommandReply, cmd: str) -> Obj:
    if reply.error is not None:
        raise Unreadable(f"{cmd}: {printable(str(reply.error), 120)}")
    value = reply.value
    if not isinstance(value, Mapping):
        raise Unreadable(f"{cmd}: the reply has no value object")
    return value


def _obj(parent: Obj, key: str, cmd: str) -> Obj:
    value = parent.get(key)
    if not isinstance(value, Mapping):
        what = "missing" if value is None else f"a {type(value).__name__}"
        raise Unreadable(f"{cmd}: {key} is {what}")
    return value


def _number(value: object, what: str) -> int:
    if isinstance(value, bool):
        raise Unreadable(f"{what} is a boolean")
    try:
        number = _int_or_none(value, what)
    except RemoteProtocolError as error:
        raise Unreadable(str(error)) from None
    if number is None:
        raise Unreadable(f"{what} is missing")
    return number


def switch(value: object, what: str) -> bool:
    """A 0/1 switch; anything else (``1602``, ``"on"``, missing) cannot be read as one."""
    number = _number(value, what)
    if number not in (0, 1):
        raise Unreadable(f"{what} is {number}, not 0 or 1 (not read as a switch)")
    return number == 1


def _area_has_cells(scope: Obj, key: str, what: str) -> bool:
    """Whether a cols x rows 0/1 area has any cell on; unreadable unless the shape is exact."""
    table = scope.get(key)
    cols = _number(scope.get("cols"), f"{what}.cols")
    rows = _number(scope.get("rows"), f"{what}.rows")
    if not isinstance(table, str):
        raise Unreadable(f"{what}.{key} is not a string")
    if not (0 < cols <= 1024 and 0 < rows <= 1024) or len(table) != cols * rows:
        raise Unreadable(f"{what}.{key} has {len(table)} cells, not cols x rows = {cols}x{rows}")
    if table.strip("01"):
        raise Unreadable(f"{what}.{key} holds something else than 0 and 1")
    return "1" in table


def motion_area(reply: CommandReply, cmd: str) -> bool:
    """GetMdAlarm ``MdAlarm.scope`` or GetAlarm ``Alarm.scope``: is any cell on?"""
    outer = "MdAlarm" if cmd == "GetMdAlarm" else "Alarm"
    scope = _obj(_obj(_value(reply, cmd), outer, cmd), "scope", f"{cmd} {outer}")
    return _area_has_cells(scope, "table", f"{cmd} {outer}.scope")


def pir_on(reply: CommandReply) -> bool:
    info = _obj(_value(reply, "GetPirInfo"), "pirInfo", "GetPirInfo")
    return switch(info.get("enable"), "GetPirInfo pirInfo.enable")


def ai_switches(reply: CommandReply) -> Dict[str, bool]:
    """GetAiCfg ``AiDetectType``: type -> on, for the entries that are plain 0/1 switches."""
    types = _obj(_value(reply, "GetAiCfg"), "AiDetectType", "GetAiCfg")
    switches: Dict[str, bool] = {}
    for key, value in types.items():
        if isinstance(key, str) and key.strip():
            try:
                switches[normalize_ai_type(key)] = switch(value, f"AiDetectType.{key}")
            except Unreadable:
                continue
    return switches


def ai_area(reply: CommandReply) -> bool:
    alarm = _obj(_value(reply, "GetAiAlarm"), "AiAlarm", "GetAiAlarm")
    scope = _obj(alarm, "scope", "GetAiAlarm AiAlarm")
    return _area_has_cells(scope, "area", "GetAiAlarm AiAlarm.scope")


@attrs.frozen
class Support:
    """GetEvents as the setup checks read it: what the channel says it can detect."""

    ai: Mapping[str, bool]
    visitor: Optional[bool]


def events_support(reply: CommandReply) -> Support:
    value = _value(reply, "GetEvents")
    ai: Dict[str, bool] = {}
    block = value.get("ai")
    if isinstance(block, Mapping):
        for key, entry in block.items():
            # Lists are "smart AI" zones, not types (reolink_aio skips them too).
            if isinstance(key, str) and isinstance(entry, Mapping):
                try:
                    ai[normalize_ai_type(key)] = switch(entry.get("support"), f"ai.{key}.support")
                except Unreadable:
                    continue
    visitor: Optional[bool] = None
    door = value.get("visitor")
    if isinstance(door, Mapping):
        try:
            visitor = switch(door.get("support"), "visitor.support")
        except Unreadable:
            visitor = None
    return Support(ai=ai, visitor=visitor)


def value_or_empty(reply: CommandReply) -> Obj:
    value = reply.value if reply.error is None else None
    return value if isinstance(value, Mapping) else {}


def parse_push_schedule(reply: CommandReply, cmd: str = "") -> PushSchedule:
    """GetPushV20 (``Push.enable``, ``Push.scheduleEnable``, ``Push.schedule.table`` rows) or
    legacy GetPush (``Push.schedule.enable`` and one ``table``), as read for setup findings.

    Raises nothing: a part that is missing or not understood is None (or not in ``rows``).
    ``cmd`` is the command asked (default: the echoed name). The reading itself is the push
    code's (:func:`reolink.protocol.pushschedule.read_push`): this is the setup's view of it.
    """
    push = read_push(reply, cmd or reply.cmd)
    return PushSchedule(push.enable, push.schedule_enable, push.rows_on)
