"""The command table: handlers register here; :func:`dispatch` validates the channel and runs one.

Channel rules (digest §6 "NVR channels", "Battery cameras"):

* a channel outside ``0..channelNum-1`` -> -4 ``"param error"``;
* an offline NVR/hub channel -> -17 ``"rcv failed"``: the recorder cannot reach the camera, the
  code HA logs show for Snap on NVR channels (home-assistant/core #132361, #148557, #168547);
  reolink_aio skips retries for channels GetChannelstatus reports offline, so any error
  element works for it and -17 keeps JSON commands and Snap consistent;
* a sleeping battery camera behind a hub -> -12 ``"get config failed"`` for getters and -13
  ``"set config failed"`` for setters/controls (Snap: -17), the codes reolink_aio retries while
  a battery camera wakes;
* a command the channel's hardware lacks (PtzCtrl on a fixed camera, SetWhiteLed without
  spotlight) -> -9 ``"not support"`` echoing the command name (the firmware knows the command).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple

from .device import CmdError, Device

__all__ = ["HANDLERS", "Result", "check_channel", "dispatch", "ok", "register"]

Result = Tuple[Dict[str, Any], Optional[Dict[str, Any]], Optional[Dict[str, Any]]]
Handler = Callable[[Device, int, Dict[str, Any], bool], Result]

HANDLERS: Dict[str, Tuple[Handler, bool]] = {}  # name -> (handler, channel-scoped)


def register(name: str, channel: bool = True) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        HANDLERS[name] = (fn, channel)
        return fn

    return deco


def _channel_of(param: Dict[str, Any]) -> Any:
    if "channel" in param:
        return param["channel"]
    for value in param.values():
        if isinstance(value, dict) and "channel" in value:
            return value["channel"]
    return None


def check_channel(dev: Device, channel: Any, setter: bool, snap: bool = False) -> int:
    if isinstance(channel, bool) or not isinstance(channel, int):
        raise CmdError(-4)
    if not 0 <= channel < len(dev.channels):
        raise CmdError(-4)
    state = dev.channels[channel]
    if not state.online:
        raise CmdError(-17)
    if state.sleeping:
        raise CmdError(-17 if snap else (-13 if setter else -12))
    return channel


def dispatch(dev: Device, name: str, param: Dict[str, Any], want_range: bool) -> Dict[str, Any]:
    """Run one authenticated command and build its reply element."""
    entry = HANDLERS.get(name)
    if entry is None:
        raise CmdError(-9)
    handler, scoped = entry
    channel = 0
    if scoped:
        setter = not name.startswith("Get")
        channel = check_channel(dev, _channel_of(param), setter)
    value, initial, rng = handler(dev, channel, param, want_range)
    out: Dict[str, Any] = {"cmd": name, "code": 0}
    if initial is not None:
        out["initial"] = initial
    if rng is not None:
        out["range"] = rng
    out["value"] = value
    return out


def ok() -> Result:
    return {"rspCode": 200}, None, None
