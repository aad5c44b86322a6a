"""Detection-setup getters on the emulated device, in the shapes of detection-setup.md.

* ``GetAlarm`` (legacy firmware, scheduleVersion 0): ``value.Alarm`` with the vestigial
  ``"enable": 1602`` real firmware sends, ``recChannel: null``, an empty ``schedule.table`` and
  ``scope`` 80x60 as the detection area. Newer firmware answers it -9 here (it has GetMdAlarm,
  :mod:`.info`).
* ``GetPirInfo`` (battery cameras, ``mdWithPir``): ``value.pirInfo = {channel, enable,
  sensitive, reduceAlarm}``; other channels -9.
* ``GetAiCfg`` (AI cameras): ``AiDetectType`` with all four keys, even for types the channel
  lacks (as on real devices), plus ``aiTrack``/``trackType``; channels without AI -9.
* ``GetAiAlarm`` (``supportAiSensitivity``): ``value.AiAlarm`` with ``scope.area`` 80x60;
  a type the channel lacks -9.

State (what the owner set in the app) lives on :class:`~.device.ChannelState`; the test
controls are on :class:`~.core.Emulator` (``set_motion_area``, ``set_pir`` ...).
"""

from __future__ import annotations

from typing import Any, Dict, List

from .device import CmdError, Device
from .registry import Result, register

__all__: List[str] = []

_COLS, _ROWS = 80, 60  # the legacy GetAlarm area (80x60 and 80x45 both seen)
_AI_KEYS = ("dog_cat", "face", "people", "vehicle")


def _area(drawn: bool) -> str:
    return ("1" if drawn else "0") * (_COLS * _ROWS)


@register("GetAlarm")
def _alarm(dev: Device, ch: int, param: Dict[str, Any], _r: bool) -> Result:
    if dev.profile.schedule_version >= 1:
        raise CmdError(-9)
    alarm = param.get("Alarm")
    if not isinstance(alarm, dict) or alarm.get("type", "md") != "md":
        raise CmdError(-4)
    sens = [
        {"beginHour": 0, "beginMin": 0, "endHour": 6, "endMin": 0, "sensitivity": 10},
        {"beginHour": 6, "beginMin": 0, "endHour": 12, "endMin": 0, "sensitivity": 10},
        {"beginHour": 12, "beginMin": 0, "endHour": 18, "endMin": 0, "sensitivity": 10},
        {"beginHour": 18, "beginMin": 0, "endHour": 23, "endMin": 59, "sensitivity": 10},
    ]
    value = {
        "Alarm": {
            "action": {"mail": 1, "push": 1, "recChannel": None},
            "channel": ch,
            "enable": 1602,  # vestigial: real firmware sends this, and ignores SetAlarm
            "schedule": {"table": ""},
            "scope": {"cols": _COLS, "rows": _ROWS, "table": _area(dev.channels[ch].motion_area)},
            "sens": sens,
            "type": "md",
        }
    }
    return value, None, None


@register("GetPirInfo")
def _pir(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    if not dev.profile.channels[ch].battery:
        raise CmdError(-9)
    info = {
        "channel": ch,
        "enable": 1 if dev.channels[ch].pir else 0,
        "reduceAlarm": 1,
        "sensitive": 80,
    }
    return {"pirInfo": info}, None, None


@register("GetAiCfg")
def _ai_cfg(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    state = dev.channels[ch]
    if not state.ai:
        raise CmdError(-9)
    detect = {t: 1 if state.ai_switch.get(t) else 0 for t in _AI_KEYS}
    return (
        {
            "AiDetectType": detect,
            "aiTrack": 0,
            "channel": ch,
            "trackType": {t: 0 for t in _AI_KEYS},
        },
        None,
        None,
    )


@register("GetAiAlarm")
def _ai_alarm(dev: Device, ch: int, param: Dict[str, Any], _r: bool) -> Result:
    ai_type = param.get("ai_type")
    state = dev.channels[ch]
    if not isinstance(ai_type, str):
        raise CmdError(-4)
    if ai_type not in state.ai:
        raise CmdError(-9)
    alarm = {
        "ai_type": ai_type,
        "channel": ch,
        "max_target_height": 1.0,
        "max_target_width": 1.0,
        "min_target_height": 0.0,
        "min_target_width": 0.0,
        "scope": {"area": _area(state.ai_area.get(ai_type, True)), "cols": _COLS, "rows": _ROWS},
        "sensitivity": 60,
        "stay_time": 0,
    }
    return {"AiAlarm": alarm}, None, None
