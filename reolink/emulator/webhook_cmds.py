"""GetWebHook / SetWebHook / TestWebHook / GetPushV20 / GetPush on the emulated device.

State and the POSTs themselves live in :mod:`.webhook`; this module answers the commands the
way firmware does (digest "GetWebHook / SetWebHook / TestWebHook"): a channel without
``supportWebhook`` answers -9, a parameter out of range -4.
"""

from __future__ import annotations

from typing import Any, Dict

from .device import CmdError, Device
from .registry import Result, check_channel, ok, register

__all__: list[str] = []


def _need_webhook(dev: Device) -> None:
    if not dev.webhooks.supported:
        raise CmdError(-9)


@register("GetWebHook")
def _get_webhook(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    _need_webhook(dev)
    return {"WebHook": [dict(slot) for slot in dev.webhooks.slots[ch]]}, None, None


@register("SetWebHook")
def _set_webhook(dev: Device, ch: int, param: Dict[str, Any], _r: bool) -> Result:
    _need_webhook(dev)
    hook = param.get("WebHook")
    if not isinstance(hook, dict):
        raise CmdError(-4)
    try:
        dev.webhooks.set_slot(ch, hook)
    except ValueError as err:
        raise CmdError(-4) from err
    return ok()


@register("TestWebHook", channel=False)
def _test_webhook(dev: Device, _ch: int, param: Dict[str, Any], _r: bool) -> Result:
    hook = param.get("WebHook")
    if not isinstance(hook, dict):
        raise CmdError(-4)
    # The channel is "alarmChannel" here, so the registry cannot find it: check it ourselves.
    ch = check_channel(dev, hook.get("alarmChannel"), setter=True)
    _need_webhook(dev)
    try:
        dev.webhooks.test(ch, hook.get("hookUrl"))
    except ValueError as err:
        raise CmdError(-4) from err
    return ok()


@register("GetPushV20")
def _get_push_v20(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    value = dev.webhooks.push_value(ch, v20=True)
    if dev.channels[ch].doorbell:  # the rows follow the channel's abilities (detection-setup.md)
        value["Push"]["schedule"]["table"]["VISITOR"] = "1" * 168
    return value, None, None


@register("GetPush")
def _get_push(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    value = dev.webhooks.push_value(ch, v20=False)
    if dev.profile.schedule_version == 0:
        # Legacy firmware: one 168-hour table, no rows per event type (detection-setup.md).
        schedule = value["Push"]["schedule"]
        rows = schedule["table"].values() if isinstance(schedule["table"], dict) else []
        hours = [any(row[h] == "1" for row in rows) for h in range(168)]
        schedule["table"] = "".join("1" if on else "0" for on in hours)
    return value, None, None
