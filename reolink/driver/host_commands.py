"""The connect sequence and the host commands, as sans-I/O flows run by the driver core.

Each command returns plain JSON data (dicts, lists, str, int, bool) and raises a ReolinkError
otherwise. Capability checks (spotlight, siren, PTZ presets) happen before anything is sent.
What a command means for the driver (a PTZ Stop due later, a reboot to expect) is returned as
data (:data:`Effect` values appended to ``effects``); the core applies them.
"""

from __future__ import annotations

import binascii
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Tuple, Union

import attrs

from ..errors import (
    ApiError,
    ArgumentError,
    CommandError,
    DeviceOffline,
    LeftOutError,
    RemoteProtocolError,
    ReolinkError,
    TransportError,
)
from ..protocol import codes, commands, parsers
from ..protocol.results import Ability, ChannelAbility, ChannelList, CommandReply, DeviceInfo
from .client import DeviceClient, Flow, Pause

__all__ = [
    "CancelPtzStop",
    "DeviceFacts",
    "Effect",
    "Learned",
    "PtzStopAfter",
    "RebootExpected",
    "identify",
    "ptz_stop",
    "run",
]

Command = Mapping[str, object]


@attrs.frozen
class PtzStopAfter:
    """Send an automatic PTZ Stop on ``channel`` after ``delay`` seconds (replacing any)."""

    channel: int
    delay: float


@attrs.frozen
class CancelPtzStop:
    """Forget the automatic PTZ Stop pending on ``channel`` (a newer command supersedes it)."""

    channel: int


@attrs.frozen
class RebootExpected:
    """The device accepted Reboot: it drops off the network and comes back with a new session."""


@attrs.frozen
class Learned:
    """Fresh device information (GetDevInfo answered)."""

    info: DeviceInfo


Effect = Union[PtzStopAfter, CancelPtzStop, RebootExpected, Learned]


@attrs.frozen
class DeviceFacts:
    """What connect() learned, as the commands need it (capability checks)."""

    info: Optional[DeviceInfo] = None
    ability: Optional[Ability] = None


def _one(
    client: DeviceClient,
    command: Command,
    deadline: Optional[float],
    repeatable: Optional[bool] = None,
) -> Flow[CommandReply]:
    replies = yield from client.call([command], deadline=deadline, repeatable=repeatable)
    reply = replies[0]
    if reply.error is not None:
        raise reply.error
    return reply


def identify(
    client: DeviceClient,
) -> Flow[Tuple[DeviceInfo, Optional[Ability], Optional[ChannelList]]]:
    """Login, then one batch of GetDevInfo, GetAbility and GetChannelstatus.

    GetChannelstatus is only read on NVRs and hubs (cameras answer it -9, in place). Returns
    (device info, abilities or None, channel list or None). GetEvents support is probed by
    the first poll, not here.
    """
    yield from client.ensure_session()
    batch = [
        commands.build_get_dev_info(),
        commands.build_get_ability(client.config.username),
        commands.build_get_channel_status(),
    ]
    info_reply, ability_reply, status_reply = yield from client.call(batch)
    info = parsers.parse_dev_info(info_reply)
    ability: Optional[Ability] = None
    try:
        ability = parsers.parse_ability(ability_reply)
    except (ApiError, RemoteProtocolError) as error:
        client.log.info("GetAbility unusable (%s); capabilities unchecked", error)
    channel_list: Optional[ChannelList] = None
    if info.is_multichannel:
        try:
            channel_list = parsers.parse_channel_status(status_reply)
        except (ApiError, RemoteProtocolError) as error:
            client.log.info(
                "GetChannelstatus unusable (%s); treating all %d channels as active",
                error,
                info.channel_count,
            )
    return info, ability, channel_list


def read_ability(client: DeviceClient) -> Flow[Optional[Ability]]:
    """GetAbility alone (a channel came online since identify): None when it is unusable."""
    (reply,) = yield from client.call(
        [commands.build_get_ability(client.config.username)], repeatable=True
    )
    try:
        return parsers.parse_ability(reply)
    except (ApiError, RemoteProtocolError) as error:
        client.log.info("GetAbility unusable (%s)", error)
        return None


def _dev_info_dict(info: DeviceInfo) -> Dict[str, Any]:
    return {
        "model": info.model,
        "firmware": info.firmware,
        "hardware": info.hardware,
        "serial": info.serial,
        "name": info.name,
        "type": info.exact_type or info.type,
        "channel_count": info.channel_count,
    }


def _require(call: _Call, feature: str, label: str) -> Flow[None]:
    """Refuse before sending when GetAbility says the channel lacks ``feature`` - unless the
    NVR or hub lists the channel offline or asleep (it then reports no abilities): that is
    DeviceOffline, like every per-channel command on such a channel."""
    facts, channel = call.facts, call.channel
    ability: Optional[ChannelAbility] = (
        facts.ability.channel(channel) if facts.ability is not None else None
    )
    if ability is not None and not getattr(ability, feature):
        asleep = yield from _channel_away(call, None)
        if asleep is not None:
            raise _offline(channel, asleep, None)
        raise ArgumentError(
            f"address '{channel}': channel {channel} has no {label} (GetAbility says so); "
            "nothing was sent",
            argument="address",
        )


def _presets(
    client: DeviceClient, channel: int, deadline: Optional[float]
) -> Flow[Optional[FrozenSet[int]]]:
    try:
        reply = yield from _one(client, commands.build_get_ptz_preset(channel), deadline)
        return parsers.parse_ptz_presets(reply, channel).ids
    except ApiError as error:
        if codes.is_not_supported(error):
            return None
        raise


@attrs.frozen
class _Call:
    """One host command being run: its client, arguments, deadline, and where effects go."""

    client: DeviceClient
    facts: DeviceFacts
    args: Dict[str, Any]
    deadline: float
    effects: List[Effect]
    #: randomness the command may use (CommandQueued.nonce: drawn outside the core)
    nonce: str = ""

    @property
    def channel(self) -> int:
        channel: int = self.args.get("channel", 0)
        return channel


def run(
    client: DeviceClient,
    facts: DeviceFacts,
    name: str,
    args: Dict[str, Any],
    deadline: float,
    effects: List[Effect],
    nonce: str = "",
) -> Flow[Any]:
    """Run one host command (already validated) and return its JSON result.

    ``effects`` receives what the command means for the driver (see :data:`Effect`), in order,
    also when the command then fails.
    """
    handler = _HANDLERS.get(name)
    if handler is None:  # pragma: no cover - the table and this module are checked by a test
        raise ReolinkError(f"command {name!r} is in the table but has no implementation")
    call = _Call(client, facts, args, deadline, effects, nonce)
    try:
        result = yield from handler(call)
    except CommandError as error:
        if "channel" not in args or isinstance(error, LeftOutError):
            raise
        # An NVR answers a command for a channel without a camera with an error such as -17
        # "rcv failed": ask GetChannelstatus, and say the channel is away, whatever the
        # command (one condition, one exception type).
        asleep = yield from _channel_away(call, error)
        if asleep is None:
            raise
        raise _offline(call.channel, asleep, error) from error
    return result


def _offline(channel: int, asleep: bool, error: Optional[CommandError]) -> DeviceOffline:
    """The error for a channel the NVR or hub lists away (``asleep``: a battery camera)."""
    why = "asleep (battery camera)" if asleep else "offline (the NVR lists no camera online on it)"
    answered = f"; the device answered: {error}" if error is not None else ""
    return DeviceOffline(f"channel {channel} is {why}{answered}", channel=channel, asleep=asleep)


def _login(call: _Call) -> Flow[Any]:
    yield from call.client.logout(deadline=call.deadline)
    yield from call.client.login(manual=True, deadline=call.deadline)
    lease = call.client.session.lease
    return {"logged_in": True, "lease_seconds": int(lease.lease_seconds) if lease else None}


def _logout(call: _Call) -> Flow[Any]:
    had_token = call.client.session.token is not None
    yield from call.client.logout(deadline=call.deadline)
    return {"logged_out": had_token}


def _get_dev_info(call: _Call) -> Flow[Any]:
    reply = yield from _one(call.client, commands.build_get_dev_info(), call.deadline)
    info = parsers.parse_dev_info(reply)
    call.effects.append(Learned(info))
    return _dev_info_dict(info)


def _snapshot(call: _Call) -> Flow[Any]:
    # A channel without a camera (CommandError) is DeviceOffline, as for every per-channel
    # command (see run()), never blamed on the token.
    image, content_type = yield from call.client.snapshot(
        call.channel, deadline=call.deadline, nonce=call.nonce
    )
    # Until this step ends, the HTTP response holding the JPEG is still referenced by the
    # event being handled (the loop's and the core's frames). A pause of no time ends the
    # step: the response is dropped and ``image`` is the only copy while base64 is made.
    yield Pause(call.client.now)
    length = len(image)
    # Drop each copy as soon as the next exists: peak memory stays near 2.7x the image
    # (JPEG + base64 bytes, then base64 bytes + str) instead of 3.7x.
    encoded = _base64(image)
    del image
    text = encoded.decode("ascii")
    del encoded
    return {"channel": call.channel, "length": length, "contentType": content_type, "base64": text}


def _channel_away(call: _Call, error: Optional[CommandError]) -> Flow[Optional[bool]]:
    """Whether the NVR or hub lists the channel asleep (True) or offline (False); None when it
    lists it neither (or cannot be asked)."""
    info = call.facts.info
    if info is None or not info.is_multichannel:
        return None
    try:
        replies = yield from call.client.call(
            [commands.build_get_channel_status()], deadline=call.deadline
        )
        listed = parsers.parse_channel_status(replies[0])
    except ReolinkError as failure:
        call.client.log.debug("GetChannelstatus after %s: %s", error, failure)
        return None
    for status in listed.channels:
        if status.channel == call.channel:
            if status.sleeping:
                return True
            if not status.online:
                return False
    return None


def _get_motion(call: _Call) -> Flow[Any]:
    channel = call.channel
    reply = yield from _one(call.client, commands.build_get_md_state(channel), call.deadline)
    return {"channel": channel, "motion": parsers.parse_md_state(reply, channel).motion}


def _ptz_preset(call: _Call) -> Flow[Any]:
    channel, preset, speed = call.channel, call.args["preset"], call.args["speed"]
    yield from _require(call, "ptz", "PTZ")
    known = yield from _presets(call.client, channel, call.deadline)
    if known and preset not in known:
        raise ArgumentError(
            f"ptz_preset: preset {preset} is not defined on channel {channel}; "
            f"defined presets: {', '.join(str(p) for p in sorted(known))}",
            argument="preset",
        )
    call.effects.append(CancelPtzStop(channel))
    command = commands.build_ptz_ctrl(channel, "ToPos", speed=speed, preset=preset)
    yield from _one(call.client, command, call.deadline)
    return {"channel": channel, "preset": preset, "speed": speed}


def _spotlight(on: bool) -> Any:
    def spotlight(call: _Call) -> Flow[Any]:
        yield from _require(call, "spotlight", "spotlight")
        command = commands.build_set_white_led(call.channel, on=on)
        parsers.parse_ok((yield from _one(call.client, command, call.deadline)))
        return {"channel": call.channel, "spotlight": "on" if on else "off"}

    return spotlight


def _siren(call: _Call) -> Flow[Any]:
    yield from _require(call, "siren", "siren")
    command = commands.build_audio_alarm_play(call.channel, times=1)
    parsers.parse_ok((yield from _one(call.client, command, call.deadline)))
    return {"channel": call.channel, "siren": "played", "times": 1}


def _reboot(call: _Call) -> Flow[Any]:
    parsers.parse_ok((yield from _one(call.client, commands.build_reboot(), call.deadline)))
    call.effects.append(RebootExpected())
    return {"rebooting": True}


#: 12 KiB of image per base64 step (a multiple of 3, so the pieces join without padding);
#: binascii allocates about twice a step as scratch, so small steps keep the peak low.
_B64_STEP = 3 * 4096


def _base64(image: bytes) -> bytearray:
    """base64 of ``image`` written piece by piece into one exact-size buffer.

    ``base64.b64encode`` of a whole snapshot briefly needs scratch space about twice the
    image; this way the only large allocation is the result itself.
    """
    out = bytearray(4 * ((len(image) + 2) // 3))
    position = 0
    with memoryview(image) as view, memoryview(out) as target:
        for start in range(0, len(image), _B64_STEP):
            piece = binascii.b2a_base64(view[start : start + _B64_STEP], newline=False)
            target[position : position + len(piece)] = piece
            position += len(piece)
            del piece  # free it before the next step allocates its successor
    return out


def _get_channels(call: _Call) -> Flow[Any]:
    info = call.facts.info
    if info is None:
        reply = yield from _one(call.client, commands.build_get_dev_info(), call.deadline)
        info = parsers.parse_dev_info(reply)
        call.effects.append(Learned(info))
    if info.is_multichannel:
        replies = yield from call.client.call(
            [commands.build_get_channel_status()], deadline=call.deadline
        )
        if not codes.is_not_supported(replies[0].error):
            listed = parsers.parse_channel_status(replies[0])
            return [
                {
                    "id": c.channel,
                    "name": c.name,
                    "online": c.online,
                    **({"sleeping": True} if c.sleeping else {}),
                }
                for c in listed.channels
            ]
    return [
        {
            "id": i,
            "name": info.name if info.channel_count == 1 else f"Channel {i + 1}",
            "online": True,
        }
        for i in range(info.channel_count)
    ]


def _get_ai_state(call: _Call) -> Flow[Any]:
    channel, client, deadline = call.channel, call.client, call.deadline
    replies = yield from client.call([commands.build_get_ai_state(channel)], deadline=deadline)
    reply = replies[0]
    if codes.is_not_supported(reply.error):
        # Some firmware only answers GetEvents; try it before saying "no AI".
        events = yield from client.call([commands.build_get_events(channel)], deadline=deadline)
        if codes.is_not_supported(events[0].error):
            assert reply.error is not None
            raise reply.error
        state = parsers.parse_events(events[0], channel).ai
    else:
        state = parsers.parse_ai_state(reply, channel)
    return {
        "channel": channel,
        "detected": list(state.detected_list),
        "supported": list(state.supported_list),
    }


def _ptz(call: _Call) -> Flow[Any]:
    channel, args = call.channel, call.args
    yield from _require(call, "ptz", "PTZ")
    op, speed, duration = args["op"], args["speed"], args["duration"]
    if op == "Stop":
        call.effects.append(CancelPtzStop(channel))
        yield from _one(call.client, commands.build_ptz_ctrl(channel, "Stop"), call.deadline)
        return {"channel": channel, "op": op}
    if duration <= 0:
        call.effects.append(CancelPtzStop(channel))
    # A later ptz on this channel replaces the pending Stop; disconnect sends it early.
    stop = PtzStopAfter(channel, duration / 1000)
    move = commands.build_ptz_ctrl(channel, op, speed=speed)
    try:
        yield from _one(call.client, move, call.deadline)
    except (TransportError, RemoteProtocolError) as error:
        # The move may have run though its reply was lost or unreadable (the request-safety
        # decision's fact): the camera may be moving, so its Stop (safe to repeat) still comes.
        # Not when it provably never left.
        if duration > 0 and error.may_have_run:
            call.effects.append(stop)
        raise
    if duration > 0:
        call.effects.append(stop)
    return {"channel": channel, "op": op, "speed": speed, "duration": duration}


def ptz_stop(client: DeviceClient, channel: int, deadline: Optional[float]) -> Flow[None]:
    """The automatic PTZ Stop. A Stop is safe to repeat, so it is sent as repeatable."""
    yield from _one(client, commands.build_ptz_ctrl(channel, "Stop"), deadline, repeatable=True)


_HANDLERS = {
    "login": _login,
    "logout": _logout,
    "get_dev_info": _get_dev_info,
    "get_channels": _get_channels,
    "snapshot": _snapshot,
    "get_motion": _get_motion,
    "get_ai_state": _get_ai_state,
    "ptz": _ptz,
    "ptz_preset": _ptz_preset,
    "spotlight_on": _spotlight(True),
    "spotlight_off": _spotlight(False),
    "siren": _siren,
    "reboot": _reboot,
}
