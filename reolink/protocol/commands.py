"""Command builders: each returns ONE command object ``{"cmd", "action", "param"}``.

Put one or more of them in a list and encode it with
:func:`reolink.protocol.batch.encode_body`. Builders validate their arguments and raise
:class:`~reolink.errors.ArgumentError` naming the argument, the bad value (never a password)
and what is allowed, before anything is sent. ``bool`` is not accepted where an int is meant.

``channel`` is the 0-based JSON API channel (NVR "CH1" is channel 0).

**One home per range.** Every whole-number range an argument may take (:class:`IntRange`:
:data:`CHANNEL`, :data:`PTZ_SPEED`, :data:`PTZ_ID`, :data:`ALARM_TIMES`, :data:`BRIGHTNESS`,
and the TCP ports :data:`PORT` and :data:`PUSH_PORT`) is defined here once; the host command
table (:mod:`reolink.driver.table`), the device attributes and zone addresses
(:mod:`reolink.driver.config`), the webhook builders (:mod:`reolink.protocol.webhook`), the
transports' ``open_transport`` and the push listener use these objects, never their own
numbers. A channel checked on its way in (a zone address) is a :class:`Channel`, and
builders take it as it is: a ``ptz`` channel is validated once.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import attrs

from reolink.errors import ArgumentError
from reolink.protocol.codes import printable

__all__ = [
    "ALARM_TIMES",
    "API_PATH",
    "BRIGHTNESS",
    "CHANNEL",
    "MAX_CHANNEL",
    "MOVE_OPS",
    "PORT",
    "PTZ_ID",
    "PTZ_OPS",
    "PTZ_SPEED",
    "PTZ_SPEED_MAX",
    "PTZ_SPEED_MIN",
    "PUSH_PORT",
    "Channel",
    "IntRange",
    "api_target",
    "build_audio_alarm_play",
    "build_get_ability",
    "build_get_ai_state",
    "build_get_channel_status",
    "build_get_dev_info",
    "build_get_events",
    "build_get_md_state",
    "build_get_ptz_preset",
    "build_get_white_led",
    "build_login",
    "build_logout",
    "build_ptz_ctrl",
    "build_reboot",
    "build_set_white_led",
    "channel_of",
    "snap_target",
]

Command = dict[str, object]

API_PATH = "/cgi-bin/api.cgi"


@attrs.frozen
class IntRange:
    """The whole numbers ``low..high`` an argument ``name`` may take (the one definition)."""

    name: str
    low: int
    high: int

    @property
    def bounds(self) -> tuple[int, int]:
        return self.low, self.high

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int):
            return False
        return self.low <= value <= self.high

    def check(self, value: object, name: str | None = None) -> int:
        """``value`` if it is an int (not a bool) in range, else ArgumentError naming it (as
        ``name``, default this range's) and what is allowed."""
        if value in self:
            return value  # type: ignore[return-value]  # __contains__ checked it is an int
        name = name or self.name
        if isinstance(value, bool) or not isinstance(value, int):
            raise ArgumentError(
                f"{name} must be an integer {self.low}..{self.high}, "
                f"got {type(value).__name__} {_shown(value)}",
                argument=name,
            )
        raise ArgumentError(f"{name} must be {self.low}..{self.high}, got {value}", argument=name)


class Channel(int):
    """A channel index already checked against :data:`CHANNEL` (a zone address on its way in):
    builders take it as it is, so a channel is validated once."""

    __slots__ = ()


#: The JSON API's channel index (an NVR has at most 256 channels).
CHANNEL = IntRange("channel", 0, 255)
#: PtzCtrl ``speed``.
PTZ_SPEED = IntRange("speed", 1, 64)
#: Preset and patrol ids: the device decides the base (0 or 1); this is only a sanity bound.
PTZ_ID = IntRange("preset", 0, 255)
#: AudioAlarmPlay ``times``.
ALARM_TIMES = IntRange("times", 1, 255)
#: SetWhiteLed ``bright``.
BRIGHTNESS = IntRange("bright", 1, 100)
#: The device's TCP port (device attribute ``port``; ``transports.open_transport`` checks it).
PORT = IntRange("port", 1, 65535)
#: The push listener's TCP port (``push_port``; 0: any free port).
PUSH_PORT = IntRange("push_port", 0, 65535)
MAX_CHANNEL = CHANNEL.high
PTZ_SPEED_MIN = PTZ_SPEED.low
PTZ_SPEED_MAX = PTZ_SPEED.high
#: Reolink's user name and password limit (V8 Login: 1-31 characters).
_MAX_CREDENTIAL = 31

#: The ops that keep moving until a ``Stop``.
MOVE_OPS: tuple[str, ...] = (
    "Left",
    "Right",
    "Up",
    "Down",
    "LeftUp",
    "LeftDown",
    "RightUp",
    "RightDown",
    "ZoomInc",
    "ZoomDec",
    "FocusInc",
    "FocusDec",
    "IrisInc",
    "IrisDec",
    "Auto",
)
#: Every PtzCtrl ``op`` (V8 §3.7.5).
PTZ_OPS: tuple[str, ...] = ("Stop", *MOVE_OPS, "StartPatrol", "StopPatrol", "ToPos")

_PATROL_OPS = ("StartPatrol", "StopPatrol")
_RS = re.compile(r"[A-Za-z0-9]{1,32}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _command(cmd: str, param: dict[str, object], action: int = 0) -> Command:
    return {"cmd": cmd, "action": action, "param": param}


def _shown(value: object) -> str:
    text = repr(value)
    return printable(text, 40)


def channel_of(channel: object) -> int:
    """``channel`` checked against :data:`CHANNEL`; a :class:`Channel` was checked already."""
    if type(channel) is Channel:
        return channel
    return CHANNEL.check(channel)



def _credential(name: str, value: object, *, secret: bool) -> str:
    # A password is described by its length and type only, never its text.
    if not isinstance(value, str):
        raise ArgumentError(f"{name} must be a string, got {type(value).__name__}", argument=name)
    if not 1 <= len(value) <= _MAX_CREDENTIAL:
        raise ArgumentError(
            f"{name} must be 1..{_MAX_CREDENTIAL} characters, got {len(value)}", argument=name
        )
    if _CONTROL.search(value):
        shown = "" if secret else f" {_shown(value)}"
        raise ArgumentError(
            f"{name} must not contain control characters (newline, tab...){shown}",
            argument=name,
        )
    return value


def build_login(username: str, password: str) -> Command:
    """Login (V8 §3.2.1). ``Version "0"`` = no private encryption."""
    user = _credential("username", username, secret=False)
    secret = _credential("password", password, secret=True)
    return _command("Login", {"User": {"Version": "0", "userName": user, "password": secret}})


def build_logout() -> Command:
    """Logout: ends the token's session so it does not hold a slot until its lease runs out."""
    return _command("Logout", {})


def build_get_dev_info() -> Command:
    """GetDevInfo: model, firmware, channel count."""
    return _command("GetDevInfo", {})


def build_get_channel_status() -> Command:
    """GetChannelstatus (NVR/Hub; lower-case ``s`` as the device spells it in replies)."""
    return _command("GetChannelstatus", {})


def build_get_ability(username: str = "") -> Command:
    """GetAbility for ``username`` (empty = the logged-in user)."""
    if not isinstance(username, str):
        raise ArgumentError(
            f"username must be a string, got {type(username).__name__}", argument="username"
        )
    if username:
        _credential("username", username, secret=False)
    return _command("GetAbility", {"User": {"userName": username}})


def build_get_md_state(channel: int) -> Command:
    """GetMdState: motion right now on ``channel``."""
    return _command("GetMdState", {"channel": channel_of(channel)})


def build_get_ai_state(channel: int) -> Command:
    """GetAiState: AI detections right now on ``channel`` (-9 on models without AI)."""
    return _command("GetAiState", {"channel": channel_of(channel)})


def build_get_events(channel: int) -> Command:
    """GetEvents: motion + AI + visitor in one reply (newer firmware only; not in V8)."""
    return _command("GetEvents", {"channel": channel_of(channel)})


def build_get_ptz_preset(channel: int) -> Command:
    """GetPtzPreset with ``action 1`` so the reply carries ``range`` (the preset id bounds)."""
    return _command("GetPtzPreset", {"channel": channel_of(channel)}, action=1)


def build_ptz_ctrl(
    channel: int,
    op: str,
    *,
    speed: int | None = None,
    preset: int | None = None,
    patrol: int | None = None,
) -> Command:
    """PtzCtrl (V8 §3.7.5).

    * ``Stop`` sends no speed (a ``speed`` given with it is checked, then left out, so a
      caller can pass the same arguments to start and stop a move).
    * Move ops (:data:`MOVE_OPS`) take an optional ``speed`` 1..64.
    * ``ToPos`` needs ``preset`` (0..255: whether ids start at 0 or 1 is up to the device; take
      them from GetPtzPreset).
    * ``StartPatrol``/``StopPatrol`` take an optional ``patrol`` id (0..255).
    """
    ch = channel_of(channel)
    if not isinstance(op, str) or op not in PTZ_OPS:
        raise ArgumentError(
            f"op must be one of {', '.join(PTZ_OPS)}; got {_shown(op)}", argument="op"
        )
    if speed is not None:
        speed = PTZ_SPEED.check(speed)
    if preset is not None and op != "ToPos":
        raise ArgumentError(f"preset is only used with op ToPos, not {op}", argument="preset")
    if patrol is not None and op not in _PATROL_OPS:
        raise ArgumentError(
            f"patrol is only used with op StartPatrol/StopPatrol, not {op}", argument="patrol"
        )
    param: dict[str, object] = {"channel": ch, "op": op}
    if op == "ToPos":
        if preset is None:
            raise ArgumentError("op ToPos needs a preset id", argument="preset")
        param["id"] = PTZ_ID.check(preset)
    elif op in _PATROL_OPS and patrol is not None:
        param["id"] = PTZ_ID.check(patrol, "patrol")
    if speed is not None and op != "Stop":
        param["speed"] = speed
    return _command("PtzCtrl", param)


def build_get_white_led(channel: int) -> Command:
    """GetWhiteLed: the spotlight's state, mode and brightness."""
    return _command("GetWhiteLed", {"channel": channel_of(channel)})


def build_set_white_led(channel: int, *, on: bool, bright: int | None = None) -> Command:
    """SetWhiteLed as a manual toggle: ``state`` 1/0 and optionally ``bright`` 1..100."""
    ch = channel_of(channel)
    if not isinstance(on, bool):
        raise ArgumentError(
            f"on must be True or False, got {type(on).__name__} {_shown(on)}", argument="on"
        )
    led: dict[str, object] = {"channel": ch, "state": 1 if on else 0}
    if bright is not None:
        led["bright"] = BRIGHTNESS.check(bright)
    return _command("SetWhiteLed", {"WhiteLed": led})


def build_audio_alarm_play(
    channel: int, *, times: int | None = 1, manual: bool | None = None
) -> Command:
    """AudioAlarmPlay (siren).

    * ``times=N`` (default 1): play the alarm sound N times (1..255).
    * ``manual=True``: sound until stopped; ``manual=False``: stop it. Sent with
      ``alarm_mode "manul"``, the spelling firmware accepts (V8's ``"manu"`` is unverified).

    Pass one of the two: with ``manual`` set, ``times`` must be left at its default or None.
    """
    ch = channel_of(channel)
    if manual is not None:
        if not isinstance(manual, bool):
            raise ArgumentError(
                f"manual must be True, False or None, got {_shown(manual)}", argument="manual"
            )
        if times is not None and times != 1:
            raise ArgumentError("pass either times or manual, not both", argument="times")
        return _command(
            "AudioAlarmPlay",
            {"alarm_mode": "manul", "manual_switch": 1 if manual else 0, "channel": ch},
        )
    if times is None:
        raise ArgumentError(
            f"pass times ({ALARM_TIMES.low}..{ALARM_TIMES.high}) or manual (True/False)",
            argument="times",
        )
    count = ALARM_TIMES.check(times)
    return _command(
        "AudioAlarmPlay",
        {"alarm_mode": "times", "times": count, "channel": ch, "manual_switch": 0},
    )


def build_reboot() -> Command:
    """Reboot: the connection then drops and the token dies."""
    return _command("Reboot", {})


def _query_value(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ArgumentError(f"{name} must be a non-empty string", argument=name)
    return quote(value, safe="")


def api_target(*, cmd: str | None = None, token: str | None = None) -> str:
    """The request target: ``/cgi-bin/api.cgi?cmd=Login&token=null``.

    ``token`` None leaves it out, except for Login, which gets ``token=null`` as the
    libraries that work against real firmware send. Values are URL-encoded. The target holds
    the token: log it through :func:`reolink.redact.redact_target`.
    """
    query = []
    if cmd is not None:
        query.append(f"cmd={_query_value('cmd', cmd)}")
    if token is not None:
        query.append(f"token={_query_value('token', token)}")
    elif cmd == "Login":
        query.append("token=null")
    return API_PATH + ("?" + "&".join(query) if query else "")


def snap_target(channel: int, *, rs: str, token: str) -> str:
    """The Snap GET target. ``rs`` is the anti-cache string (1..32 letters/digits)."""
    ch = channel_of(channel)
    if not isinstance(rs, str) or not _RS.fullmatch(rs):
        raise ArgumentError(
            f"rs must be 1..32 ASCII letters or digits, got {_shown(rs)}", argument="rs"
        )
    return f"{API_PATH}?cmd=Snap&channel={ch}&rs={rs}&token={_query_value('token', token)}"
