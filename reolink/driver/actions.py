"""The connect sequence and the host commands, run on the device thread.

Each command returns plain JSON data (dicts, lists, str, int, bool) and raises a ReolinkError
otherwise. Capability checks (spotlight, siren, PTZ presets) happen before anything is sent.
"""

from __future__ import annotations

import binascii
import logging
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, List, Mapping, Optional, Tuple

from ..errors import ApiError, ArgumentError, RemoteProtocolError, ReolinkError
from ..protocol import codes, commands, parsers
from ..protocol.results import Ability, ChannelAbility, ChannelList, CommandReply, DeviceInfo
from .client import DeviceClient

if TYPE_CHECKING:
    from .device import ReolinkDriver

__all__ = ["identify", "run"]

log = logging.getLogger(__name__)

Command = Mapping[str, object]


def _one(client: DeviceClient, command: Command, deadline: Optional[float]) -> CommandReply:
    reply = client.call([command], deadline=deadline)[0]
    if reply.error is not None:
        raise reply.error
    return reply


def identify(
    client: DeviceClient,
) -> Tuple[DeviceInfo, Optional[Ability], Optional[ChannelList]]:
    """Login, then one batch of GetDevInfo, GetAbility and GetChannelstatus.

    GetChannelstatus is only read on NVRs and hubs (cameras answer it -9, in place). Returns
    (device info, abilities or None, channel list or None). GetEvents support is probed by
    the first poll, not here.
    """
    client.ensure_session()
    batch = [
        commands.build_get_dev_info(),
        commands.build_get_ability(client.config.username),
        commands.build_get_channel_status(),
    ]
    info_reply, ability_reply, status_reply = client.call(batch)
    info = parsers.parse_dev_info(info_reply)
    ability: Optional[Ability] = None
    try:
        ability = parsers.parse_ability(ability_reply)
    except (ApiError, RemoteProtocolError) as error:
        log.info("%s: GetAbility unusable (%s); capabilities unchecked", client.config.label, error)
    channel_list: Optional[ChannelList] = None
    if info.is_multichannel:
        try:
            channel_list = parsers.parse_channel_status(status_reply)
        except (ApiError, RemoteProtocolError) as error:
            log.info(
                "%s: GetChannelstatus unusable (%s); treating all %d channels as active",
                client.config.label,
                error,
                info.channel_count,
            )
    return info, ability, channel_list


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


def _channel_ability(driver: ReolinkDriver, channel: int) -> Optional[ChannelAbility]:
    return driver.ability.channel(channel) if driver.ability is not None else None


def _require(driver: ReolinkDriver, channel: int, feature: str, label: str) -> None:
    ability = _channel_ability(driver, channel)
    if ability is not None and not getattr(ability, feature):
        raise ArgumentError(
            f"address '{channel}': channel {channel} has no {label} (GetAbility says so); "
            "nothing was sent",
            argument="address",
        )


def _presets(
    client: DeviceClient, channel: int, deadline: Optional[float]
) -> Optional[FrozenSet[int]]:
    try:
        reply = _one(client, commands.build_get_ptz_preset(channel), deadline)
        return parsers.parse_ptz_presets(reply, channel).ids
    except ApiError as error:
        if codes.is_not_supported(error):
            return None
        raise


def run(
    driver: ReolinkDriver, client: DeviceClient, name: str, args: Dict[str, Any], deadline: float
) -> Any:
    """Run one host command (already validated) and return its JSON result."""
    channel: int = args.get("channel", 0)
    if name == "login":
        client.logout(deadline=deadline)
        client.login(manual=True, deadline=deadline)
        lease = client.session.lease
        return {"logged_in": True, "lease_seconds": int(lease.lease_seconds) if lease else None}
    if name == "logout":
        had_token = client.session.token is not None
        client.logout(deadline=deadline)
        return {"logged_out": had_token}
    if name == "get_dev_info":
        info = parsers.parse_dev_info(_one(client, commands.build_get_dev_info(), deadline))
        driver.device_info = info
        return _dev_info_dict(info)
    if name == "get_channels":
        return _get_channels(driver, client, deadline)
    if name == "snapshot":
        image, content_type = client.snapshot(channel, deadline=deadline)
        length = len(image)
        # Drop each copy as soon as the next exists: peak memory stays near 2.7x the image
        # (JPEG + base64 bytes, then base64 bytes + str) instead of 3.7x.
        encoded = _base64(image)
        del image
        text = encoded.decode("ascii")
        del encoded
        return {"channel": channel, "length": length, "contentType": content_type, "base64": text}
    if name == "get_motion":
        state = parsers.parse_md_state(
            _one(client, commands.build_get_md_state(channel), deadline), channel
        )
        return {"channel": channel, "motion": state.motion}
    if name == "get_ai_state":
        return _get_ai_state(client, channel, deadline)
    if name == "ptz":
        _require(driver, channel, "ptz", "PTZ")
        return _ptz(driver, client, channel, args, deadline)
    if name == "ptz_preset":
        _require(driver, channel, "ptz", "PTZ")
        preset = args["preset"]
        known = _presets(client, channel, deadline)
        if known:
            if preset not in known:
                raise ArgumentError(
                    f"ptz_preset: preset {preset} is not defined on channel {channel}; "
                    f"defined presets: {', '.join(str(p) for p in sorted(known))}",
                    argument="preset",
                )
        driver.cancel_timer(f"ptz-stop-{channel}")
        _one(
            client,
            commands.build_ptz_ctrl(channel, "ToPos", speed=args["speed"], preset=preset),
            deadline,
        )
        return {"channel": channel, "preset": preset, "speed": args["speed"]}
    if name in ("spotlight_on", "spotlight_off"):
        _require(driver, channel, "spotlight", "spotlight")
        on = name == "spotlight_on"
        parsers.parse_ok(_one(client, commands.build_set_white_led(channel, on=on), deadline))
        return {"channel": channel, "spotlight": "on" if on else "off"}
    if name == "siren":
        _require(driver, channel, "siren", "siren")
        parsers.parse_ok(_one(client, commands.build_audio_alarm_play(channel, times=1), deadline))
        return {"channel": channel, "siren": "played", "times": 1}
    if name == "reboot":
        parsers.parse_ok(_one(client, commands.build_reboot(), deadline))
        driver.expect_reboot()
        return {"rebooting": True}
    raise ReolinkError(
        f"command {name!r} is in the table but has no implementation"
    )  # pragma: no cover


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


def _get_channels(
    driver: ReolinkDriver, client: DeviceClient, deadline: float
) -> List[Dict[str, Any]]:
    info = driver.device_info
    if info is None:
        info = parsers.parse_dev_info(_one(client, commands.build_get_dev_info(), deadline))
        driver.device_info = info
    if info.is_multichannel:
        reply = client.call([commands.build_get_channel_status()], deadline=deadline)[0]
        if not codes.is_not_supported(reply.error):
            listed = parsers.parse_channel_status(reply)
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


def _get_ai_state(client: DeviceClient, channel: int, deadline: float) -> Dict[str, Any]:
    reply = client.call([commands.build_get_ai_state(channel)], deadline=deadline)[0]
    if codes.is_not_supported(reply.error):
        # Some firmware only answers GetEvents; try it before saying "no AI".
        events_reply = client.call([commands.build_get_events(channel)], deadline=deadline)[0]
        if codes.is_not_supported(events_reply.error):
            assert reply.error is not None
            raise reply.error
        state = parsers.parse_events(events_reply, channel).ai
    else:
        state = parsers.parse_ai_state(reply, channel)
    return {
        "channel": channel,
        "detected": list(state.detected_list),
        "supported": list(state.supported_list),
    }


def _ptz(
    driver: ReolinkDriver, client: DeviceClient, channel: int, args: Dict[str, Any], deadline: float
) -> Dict[str, Any]:
    op, speed, duration = args["op"], args["speed"], args["duration"]
    key = f"ptz-stop-{channel}"
    if op == "Stop":
        driver.cancel_timer(key)
        _one(client, commands.build_ptz_ctrl(channel, "Stop"), deadline)
        return {"channel": channel, "op": op}
    _one(client, commands.build_ptz_ctrl(channel, op, speed=speed), deadline)

    def stop(stop_deadline: Optional[float]) -> None:
        _one(client, commands.build_ptz_ctrl(channel, "Stop"), stop_deadline)

    if duration > 0:
        # A later ptz on this channel replaces the pending Stop; disconnect sends it early.
        driver.schedule(duration / 1000, key, stop)
    else:
        driver.cancel_timer(key)
    return {"channel": channel, "op": op, "speed": speed, "duration": duration}
