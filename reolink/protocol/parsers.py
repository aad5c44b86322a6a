"""Reply parsers: one CommandReply (or a whole single-command body) -> a typed result.

Every parser takes either a :class:`~reolink.protocol.results.CommandReply` (a slot of a batch)
or ``bytes`` (a whole single-command response body). An error reply raises its
:class:`~reolink.errors.ApiError`; anything malformed raises
:class:`~reolink.errors.RemoteProtocolError` and nothing else.

Firmware differs in small ways, and the parsers absorb them: numbers sent as numeric strings
(``"1"``), empty-string fields, fields missing on older firmware, two GetAiState formats, entries
that are lists where objects are expected (smart-AI zones), ``initial``/``range`` blocks that
come even with ``action 0``.

The poll path reads GetMdState's motion, GetAiState's types and GetEvents' findings with
:func:`md_state_motion`, :func:`ai_state_types` and :func:`events_findings`, the one home of
those rules (:func:`parse_md_state`, :func:`parse_ai_state` and :func:`parse_events` wrap them
in their result objects), so skipping the object cannot skip a check. Inside them, a value
of the type firmware sends (a dict, a 0/1 int) is read inline and anything else goes through
the general helper (``_flag``, ``_obj``, ``channel_echo``) in the same order, so an odd reply
gets the same error as before; ``tests/test_change_path.py`` checks that against the old
readers on thousands of random, mostly broken replies. The AI type names of keys already seen
are kept in a bounded dict (a memo of :func:`normalize_ai_type` and of the key checks, keyed
by the key alone).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import FrozenSet, Tuple

from reolink.errors import RemoteProtocolError
from reolink.protocol._coerce import Obj, Reply
from reolink.protocol._coerce import channel_echo as _channel_echo
from reolink.protocol._coerce import int_or_none as _int_or_none
from reolink.protocol._coerce import reply_value as _value
from reolink.protocol.codes import error_from_entry, printable
from reolink.protocol.envelope import decode_reply
from reolink.protocol.results import (
    Ability,
    AiState,
    ChannelAbility,
    ChannelList,
    ChannelStatus,
    CommandReply,
    DeviceInfo,
    EventsState,
    LoginToken,
    MotionState,
    PtzPreset,
    PtzPresets,
    WhiteLedState,
)

__all__ = [
    "ai_state_types",
    "events_findings",
    "md_state_motion",
    "normalize_ai_type",
    "parse_ability",
    "parse_ai_state",
    "parse_channel_status",
    "parse_dev_info",
    "parse_events",
    "parse_login",
    "parse_md_state",
    "parse_ok",
    "parse_ptz_presets",
    "parse_white_led",
]

_MAX_CHANNELS = 1024
#: "the key is not there" (None is a value a device may send)
_ABSENT = object()
_MAX_STRING = 4096


# --- coercion helpers: all raise RemoteProtocolError --------------------------------------------




def _obj(parent: Obj, key: str, cmd: str, *, required: bool = True) -> Obj:
    value = parent.get(key)
    if type(value) is dict or isinstance(value, Mapping):
        return value
    if value is None and not required:
        return {}
    what = "missing" if value is None else f"a {type(value).__name__}, not an object"
    raise RemoteProtocolError(f"{cmd}: {key} is {what}")




def _int(value: object, what: str, default: int | None = None) -> int:
    number = _int_or_none(value, what)
    if number is None:
        if default is None:
            raise RemoteProtocolError(f"{what} is missing")
        return default
    return number


def _flag(value: object, what: str, default: bool = False) -> bool:
    if type(value) is int:  # what firmware sends (0/1): the fast path
        return value != 0
    number = _int_or_none(value, what)
    return default if number is None else number != 0


def _str(value: object, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        if len(value) > _MAX_STRING:
            raise RemoteProtocolError(f"{what} is too long ({len(value)} characters)")
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise RemoteProtocolError(f"{what} is a {type(value).__name__}, not a string")


def _opt_str(parent: Obj, key: str, what: str) -> str | None:
    return _str(parent[key], what) if parent.get(key) is not None else None


def _list(parent: Obj, key: str, what: str) -> list[object]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RemoteProtocolError(f"{what} is a {type(value).__name__}, not an array")
    return value




# --- login / plain acknowledgements -------------------------------------------------------------


def parse_login(reply: Reply) -> LoginToken:
    """Login's ``value.Token``: the token (``name``) and its ``leaseTime`` in seconds.

    A missing or empty leaseTime becomes 0; :meth:`TokenLease.from_login` applies the default.
    """
    token = _obj(_value(reply, "Login"), "Token", "Login")
    name = token.get("name")
    # The token is a secret: messages describe it, never show it.
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise RemoteProtocolError("Login: Token.name is missing or not a usable token string")
    if any(not c.isprintable() or c.isspace() for c in name):
        raise RemoteProtocolError("Login: Token.name contains unprintable characters")
    return LoginToken(name=name, lease_time=_int(token.get("leaseTime"), "Login leaseTime", 0))


def parse_ok(reply: Reply, cmd: str = "") -> None:
    """A Set/control/Logout acknowledgement: code 0, and ``value.rspCode`` 200 when present.

    ``cmd`` names the command in errors for a bytes reply (default: the echoed name).
    """
    if isinstance(reply, (bytes, bytearray, memoryview)):
        reply = decode_reply(bytes(reply), cmd)
    name = reply.cmd if isinstance(reply, CommandReply) else (cmd or "command")
    value = _value(reply, name)
    if "rspCode" not in value:
        return
    code = _int_or_none(value.get("rspCode"), f"{name} rspCode")
    if code == 200 or code is None:
        return
    raise error_from_entry({"cmd": name, "code": 1, "error": {"rspCode": code}}, cmd=name)


# --- identity -----------------------------------------------------------------------------------


def parse_dev_info(reply: Reply) -> DeviceInfo:
    """GetDevInfo's ``value.DevInfo``, old firmware (no exactType/frameworkVer) and new."""
    info = _obj(_value(reply, "GetDevInfo"), "DevInfo", "GetDevInfo")
    count = _int(info.get("channelNum"), "GetDevInfo channelNum", 1)
    if not 0 <= count <= _MAX_CHANNELS:
        raise RemoteProtocolError(f"GetDevInfo: channelNum {count} is out of range")
    wifi = _int_or_none(info.get("wifi"), "GetDevInfo wifi")
    exact = _opt_str(info, "exactType", "GetDevInfo exactType")
    return DeviceInfo(
        model=_str(info.get("model"), "GetDevInfo model"),
        firmware=_str(info.get("firmVer"), "GetDevInfo firmVer"),
        hardware=_str(info.get("hardVer"), "GetDevInfo hardVer"),
        serial=_str(info.get("serial"), "GetDevInfo serial"),
        name=_str(info.get("name"), "GetDevInfo name"),
        type=_str(info.get("type"), "GetDevInfo type"),
        exact_type=exact or None,
        channel_count=count,
        framework_version=_opt_str(info, "frameworkVer", "GetDevInfo frameworkVer") or None,
        build_day=_opt_str(info, "buildDay", "GetDevInfo buildDay") or None,
        wifi=None if wifi is None else wifi != 0,
    )


def parse_channel_status(reply: Reply) -> ChannelList:
    """GetChannelstatus: with or without name/typeInfo, newer with sleep and uid."""
    value = _value(reply, "GetChannelstatus")
    entries = _list(value, "status", "GetChannelstatus status")
    if len(entries) > _MAX_CHANNELS:
        raise RemoteProtocolError(f"GetChannelstatus: {len(entries)} channels is too many")
    channels = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise RemoteProtocolError(f"GetChannelstatus: status[{index}] is not an object")
        what = f"GetChannelstatus status[{index}]"
        channel = _int(entry.get("channel"), f"{what}.channel", index)
        if not 0 <= channel < _MAX_CHANNELS:
            raise RemoteProtocolError(f"{what}: channel {channel} is out of range")
        channels.append(
            ChannelStatus(
                channel=channel,
                online=_flag(entry.get("online"), f"{what}.online"),
                name=_str(entry.get("name"), f"{what}.name"),
                sleeping=_flag(entry.get("sleep"), f"{what}.sleep"),
                type_info=_str(entry.get("typeInfo"), f"{what}.typeInfo"),
                uid=_str(entry.get("uid"), f"{what}.uid"),
            )
        )
    count = _int(value.get("count"), "GetChannelstatus count", len(channels))
    return ChannelList(count=count, channels=tuple(channels))


# --- abilities ----------------------------------------------------------------------------------

_AI_ABILITY_KEYS = {
    "supportAiPeople": "people",
    "supportAiVehicle": "vehicle",
    "supportAiDogCat": "dog_cat",
    "supportAiFace": "face",
}


def _ver(leaves: Obj, key: str) -> int | None:
    """The ``ver`` of an ability leaf ``{"permit", "ver"}`` (None when the key is absent)."""
    leaf = leaves.get(key)
    if leaf is None:
        return None
    if isinstance(leaf, Mapping):
        return _int(leaf.get("ver"), f"GetAbility {key}.ver", 0)
    return _int(leaf, f"GetAbility {key}", 0)


def _any_ver(leaves: Obj, *keys: str) -> bool | None:
    """True if any of ``keys`` has ver > 0; None when none of them is present."""
    vers = [v for v in (_ver(leaves, k) for k in keys) if v is not None]
    return any(v > 0 for v in vers) if vers else None


def _channel_ability(index: int, leaves: Obj) -> ChannelAbility:
    ai_types = frozenset(
        name for key, name in _AI_ABILITY_KEYS.items() if (_ver(leaves, key) or 0) > 0
    )
    motion = _any_ver(leaves, "alarmMd", "supportMd")
    snap = _any_ver(leaves, "snap")
    return ChannelAbility(
        channel=index,
        ptz_type=_ver(leaves, "ptzType") or 0,
        ptz_control=bool(_any_ver(leaves, "ptzCtrl")),
        ptz_presets=bool(_any_ver(leaves, "ptzPreset")),
        ptz_patrol=bool(_any_ver(leaves, "ptzPatrol")),
        spotlight=bool(_any_ver(leaves, "floodLight", "supportFLswitch", "supportFLBrightness")),
        siren=bool(_any_ver(leaves, "alarmAudio", "supportAudioAlarm")),
        ai=bool(_any_ver(leaves, "supportAi")) or bool(ai_types),
        ai_types=ai_types,
        # Absent means the firmware predates the key, not that the channel lacks it.
        motion=True if motion is None else motion,
        snap=True if snap is None else snap,
        battery=bool(_any_ver(leaves, "battery")),
        webhook=bool(_any_ver(leaves, "supportWebhook")),
        features=_leaf_vers(leaves),
    )


def _leaf_vers(leaves: Obj) -> dict[str, int]:
    """``ver`` of every ``{"permit", "ver"}`` leaf whose ver is a plain number (others skipped)."""
    vers: dict[str, int] = {}
    for key, leaf in leaves.items():
        if isinstance(key, str) and isinstance(leaf, Mapping):
            ver = leaf.get("ver")
            if type(ver) is int:
                vers[key] = ver
    return vers


def parse_ability(reply: Reply) -> Ability:
    """GetAbility: global ``{permit, ver}`` leaves -> ``features``; ``abilityChn[i]`` -> channel i.

    Global leaves that are not ``{..., "ver": n}`` objects are skipped (devices add odd keys).
    """
    ability = _obj(_value(reply, "GetAbility"), "Ability", "GetAbility")
    features: dict[str, int] = {}
    for key, leaf in ability.items():
        if key == "abilityChn" or not isinstance(leaf, Mapping) or "ver" not in leaf:
            continue
        features[key] = _int(leaf.get("ver"), f"GetAbility {printable(key, 40)}.ver", 0)
    entries = _list(ability, "abilityChn", "GetAbility abilityChn")
    if len(entries) > _MAX_CHANNELS:
        raise RemoteProtocolError(f"GetAbility: {len(entries)} channels is too many")
    channels = []
    for index, leaves in enumerate(entries):
        if not isinstance(leaves, Mapping):
            raise RemoteProtocolError(f"GetAbility: abilityChn[{index}] is not an object")
        channels.append(_channel_ability(index, leaves))
    return Ability(features=features, channels=tuple(channels))


# --- detection state ----------------------------------------------------------------------------

_AI_ALIASES = {
    "people": "people",
    "person": "people",
    "human": "people",
    "vehicle": "vehicle",
    "car": "vehicle",
    "dogcat": "dog_cat",
    "pet": "dog_cat",
    "face": "face",
}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@functools.lru_cache(maxsize=256)
def normalize_ai_type(name: str) -> str:
    """``dogCat``/``dog_cat``/``pet`` -> ``dog_cat``, ``person`` -> ``people``, ``car`` ->
    ``vehicle``; other names snake_cased as they come (``package``, ``other``)."""
    snake = _CAMEL.sub("_", name.strip()).lower()
    return _AI_ALIASES.get(snake.replace("_", ""), snake)


def _what(cmd: str, key: str, field: str) -> str:
    """The field's name for an error message (built only off the fast path)."""
    return f"{cmd} {printable(key, 40)}{field}"


#: normalize_ai_type of the type keys seen (str, not "channel", not blank), so that the loop
#: below skips those checks and the cache call; bounded like normalize_ai_type's own cache
_AI_NAMES: dict[str, str] = {}


def _ai_name(key: str) -> str | None:
    """The type name of an ``ai`` key, or None for a key that names no type."""
    if not isinstance(key, str) or key == "channel" or not key.strip():
        return None
    name = normalize_ai_type(key)
    if len(_AI_NAMES) < 256:
        _AI_NAMES[key] = name
    return name


def _ai_types(value: Obj, cmd: str) -> tuple[frozenset[str], frozenset[str]]:
    """(detected, supported) from a GetAiState value or GetEvents ``ai`` object."""
    detected: set[str] = set()
    supported: set[str] = set()
    names = _AI_NAMES
    for key, entry in value.items():
        # (An int - the "channel" key - skips the slow isinstance check of an ABC.)
        if type(entry) is dict or (type(entry) is not int and isinstance(entry, Mapping)):
            # Current format: {"alarm_state": 0|1, "support": 0|1}; no "support" = supported.
            name = names.get(key) or _ai_name(key)
            if name is None:
                continue
            # Plain 0/1 ints (what firmware sends) take the fast path; anything else goes
            # through _flag, which also builds the field name for its error message.
            support = entry.get("support")
            if support is None or (
                support != 0
                if type(support) is int
                else _flag(support, _what(cmd, key, ".support"))
            ):
                supported.add(name)
                alarm = entry.get("alarm_state")
                if (
                    alarm != 0
                    if type(alarm) is int
                    else _flag(alarm, _what(cmd, key, ".alarm_state"))
                ):
                    detected.add(name)
        elif isinstance(key, str) and key.endswith("_state") and len(key) > len("_state"):
            # Legacy flat format: "people_state": 0|1; a key present means supported.
            name = normalize_ai_type(key[: -len("_state")])
            supported.add(name)
            if entry != 0 if type(entry) is int else _flag(entry, _what(cmd, key, "")):
                detected.add(name)
        # Lists are "smart AI" zones, other scalars are not detection types: skip both.
    return frozenset(detected), frozenset(supported)


def md_state_motion(reply: Reply) -> bool:
    """GetMdState: ``value.state`` 1 = motion now (:func:`parse_md_state`'s rule; the poller
    reads this bool without building the result object)."""
    value = _value(reply, "GetMdState")
    state = value.get("state", _ABSENT)
    if type(state) is int:  # what firmware sends (0/1): the fast path
        return state != 0
    if state is _ABSENT:
        raise RemoteProtocolError("GetMdState: state is missing")
    return _flag(state, "GetMdState state")


def parse_md_state(reply: Reply, channel: int) -> MotionState:
    """GetMdState: ``value.state`` 1 = motion now."""
    return MotionState(channel=channel, motion=md_state_motion(reply))


def ai_state_types(reply: Reply) -> tuple[frozenset[str], frozenset[str]]:
    """GetAiState's (detected, supported) types (:func:`parse_ai_state`'s rule; the poller
    reads these without building the result object)."""
    return _ai_types(_value(reply, "GetAiState"), "GetAiState")


def parse_ai_state(reply: Reply, channel: int) -> AiState:
    """GetAiState, current (``{type: {alarm_state, support}}``) or legacy flat format."""
    detected, supported = ai_state_types(reply)
    return AiState(channel=channel, detected=detected, supported=supported)


_Events = Tuple[bool, bool, FrozenSet[str], FrozenSet[str], bool, bool]


def _events(reply: Reply, channel: int) -> _Events:
    """GetEvents' (motion, motion supported, detected, supported, visitor, visitor supported):
    every rule of :func:`parse_events` (which wraps this in its objects) and of
    :func:`events_findings` (the poller's reader), checked in one order."""
    value = _value(reply, "GetEvents")
    echoed = value.get("channel")
    if echoed is not None and (type(echoed) is not int or echoed != channel):
        _channel_echo(value, channel, "GetEvents")
    ai = value.get("ai")
    if type(ai) is not dict:
        ai = _obj(value, "ai", "GetEvents", required=False)
    detected, supported = _ai_types(ai, "GetEvents ai")
    md = value.get("md")
    if type(md) is not dict:
        md = _obj(value, "md", "GetEvents", required=False)
    visitor = value.get("visitor")
    if type(visitor) is not dict:
        visitor = _obj(value, "visitor", "GetEvents", required=False)
    # Plain ints (what firmware sends) are read inline; anything else goes through _flag.
    flag = md.get("support")
    md_supported = (
        flag != 0 if type(flag) is int else _flag(flag, "GetEvents md.support", default=bool(md))
    )
    flag = visitor.get("support")
    visitor_supported = flag != 0 if type(flag) is int else _flag(flag, "GetEvents visitor.support")
    motion = False
    if md_supported:
        flag = md.get("alarm_state")
        motion = flag != 0 if type(flag) is int else _flag(flag, "GetEvents md.alarm_state")
    flag = visitor.get("alarm_state")
    ringing = (
        flag != 0 if type(flag) is int else _flag(flag, "GetEvents visitor.alarm_state")
    ) and _flag(visitor.get("support"), "GetEvents visitor.support", default=True)
    return motion, md_supported, detected, supported, ringing, visitor_supported


def events_findings(reply: Reply, channel: int) -> tuple[bool, frozenset[str], bool | None]:
    """GetEvents' (motion, detected AI types, visitor: None unless ``visitor.support`` is 1),
    by :func:`parse_events`' rules (the poller reads these without building the objects)."""
    motion, _, detected, _, visitor, visitor_supported = _events(reply, channel)
    return motion, detected, visitor if visitor_supported else None


def parse_events(reply: Reply, channel: int) -> EventsState:
    """GetEvents: nested ``ai``, ``md`` and ``visitor`` objects.

    Like reolink_aio, a reply that echoes another channel is rejected (RemoteProtocolError).
    """
    motion, md_supported, detected, supported, visitor, visitor_supported = _events(
        reply, channel
    )
    return EventsState(
        channel=channel,
        motion=motion,
        motion_supported=md_supported,
        ai=AiState(channel=channel, detected=detected, supported=supported),
        visitor=visitor,
        visitor_supported=visitor_supported,
    )


# --- PTZ and spotlight --------------------------------------------------------------------------


def _id_range(raw: Obj | None) -> tuple[int | None, int | None]:
    """``range.PtzPreset.id`` {min, max}, when the reply has a usable one (else None, None)."""
    if raw is None:
        return None, None
    ranges = raw.get("range")
    block = ranges.get("PtzPreset") if isinstance(ranges, Mapping) else None
    bounds = block.get("id") if isinstance(block, Mapping) else None
    if not isinstance(bounds, Mapping):
        return None, None
    low = _int_or_none(bounds.get("min"), "GetPtzPreset range id.min")
    high = _int_or_none(bounds.get("max"), "GetPtzPreset range id.max")
    if low is not None and high is not None and low > high:
        raise RemoteProtocolError(f"GetPtzPreset: range id min {low} > max {high}")
    return low, high


def parse_ptz_presets(reply: Reply, channel: int) -> PtzPresets:
    """GetPtzPreset: the ``enable == 1`` entries of ``value.PtzPreset`` and the id range."""
    if isinstance(reply, (bytes, bytearray, memoryview)):
        reply = decode_reply(bytes(reply), "GetPtzPreset")
    value = _value(reply, "GetPtzPreset")
    entries = _list(value, "PtzPreset", "GetPtzPreset PtzPreset")
    presets: list[PtzPreset] = []
    seen: set[int] = set()
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise RemoteProtocolError(f"GetPtzPreset: PtzPreset[{index}] is not an object")
        what = f"GetPtzPreset PtzPreset[{index}]"
        if not _flag(entry.get("enable"), f"{what}.enable"):
            continue
        preset_id = _int(entry.get("id"), f"{what}.id")
        if preset_id not in seen:
            seen.add(preset_id)
            presets.append(PtzPreset(id=preset_id, name=_str(entry.get("name"), f"{what}.name")))
    low, high = _id_range(reply.raw if isinstance(reply, CommandReply) else None)
    return PtzPresets(channel=channel, presets=tuple(presets), id_min=low, id_max=high)


def parse_white_led(reply: Reply, channel: int) -> WhiteLedState:
    """GetWhiteLed's ``value.WhiteLed``: state, mode, brightness."""
    led = _obj(_value(reply, "GetWhiteLed"), "WhiteLed", "GetWhiteLed")
    if "state" not in led:
        raise RemoteProtocolError("GetWhiteLed: WhiteLed.state is missing")
    return WhiteLedState(
        channel=channel,
        on=_flag(led.get("state"), "GetWhiteLed state"),
        mode=_int_or_none(led.get("mode"), "GetWhiteLed mode"),
        bright=_int_or_none(led.get("bright"), "GetWhiteLed bright"),
    )
