"""Handlers of the stateful commands: detections, spotlight, siren, PTZ, and the Snap GET."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import info as _info  # noqa: F401 - registers the static getters
from . import jpeg, ptz
from . import setup_cmds as _setup_cmds  # noqa: F401 - registers the detection-setup getters
from . import webhook_cmds as _webhook_cmds  # noqa: F401 - registers the webhook commands
from .device import DETAILS, CmdError, Device, Reply, error_entry, json_reply, render
from .profiles import AI_TYPES
from .registry import Result, check_channel, dispatch, ok, register

__all__ = ["NVR_AI_UNKNOWN", "dispatch", "rsp_code_reply", "snap"]


# ---------------------------------------------------------------------- detections
def _md_on(dev: Device, ch: int) -> bool:
    state = dev.channels[ch]
    return state.motion or any(state.ai.values())


@register("GetMdState")
def _md_state(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    return {"state": 1 if _md_on(dev, ch) else 0}, None, None


def _ai_block(dev: Device, ch: int) -> Dict[str, Any]:
    state = dev.channels[ch]
    types = list(AI_TYPES) + (["package"] if "package" in state.ai else [])
    return {
        t: {"alarm_state": 1 if state.ai.get(t) else 0, "support": 1 if t in state.ai else 0}
        for t in sorted(types)
    }


#: What an RLN8-410 / RLN16-410 class NVR answers GetAiState with for a channel whose camera
#: has no AI (digest §1): no command name, and the code key in lower case.
NVR_AI_UNKNOWN: Dict[str, Any] = {
    "cmd": "Unknown",
    "code": 1,
    "error": {"detail": "not support", "rspcode": -9},
}


@register("GetAiState")
def _ai_state(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    if dev.profile.channels[ch].ai_state_unknown:
        raise CmdError(-9, entry=NVR_AI_UNKNOWN)
    state = dev.channels[ch]
    if dev.profile.ai_format == "flat":
        flat: Dict[str, Any] = {"channel": ch}
        for t in sorted(state.ai):
            flat[f"{t}_state"] = 1 if state.ai[t] else 0
        return flat, None, None
    value: Dict[str, Any] = {"channel": ch}
    value.update(_ai_block(dev, ch))
    return value, None, None


@register("GetEvents")
def _events(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    spec = dev.profile.channels[ch]
    state = dev.channels[ch]
    ai = _ai_block(dev, ch)
    # "other" is the PIR detector of battery cameras (digest §3 GetEvents).
    ai["other"] = {
        "alarm_state": 1 if spec.battery and _md_on(dev, ch) else 0,
        "support": 1 if spec.battery else 0,
    }
    return (
        {
            "ai": ai,
            "channel": ch,
            "md": {"alarm_state": 1 if _md_on(dev, ch) else 0, "support": 1},
            "visitor": {
                "alarm_state": 1 if state.visitor else 0,
                "support": 1 if state.doorbell else 0,
            },
        },
        None,
        None,
    )


# ---------------------------------------------------------------------- spotlight and siren
_WL_RANGE = {
    "LightingSchedule": {
        "EndHour": {"max": 23, "min": 0},
        "EndMin": {"max": 59, "min": 0},
        "StartHour": {"max": 23, "min": 0},
        "StartMin": {"max": 59, "min": 0},
    },
    "bright": {"max": 100, "min": 0},
    "mode": {"max": 5, "min": 0},
    "state": "boolean",
    "wlAiDetectType": {
        "dog_cat": "boolean",
        "face": "boolean",
        "people": "boolean",
        "vehicle": "boolean",
    },
}


@register("GetWhiteLed")
def _white_led(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    if not dev.profile.channels[ch].spotlight:
        raise CmdError(-9)
    initial = dict(dev.channels[ch].spotlight, state=0, mode=1, bright=85)
    # V8 3.10.5: GetWhiteLed carries initial and range even for action 0.
    return (
        {"WhiteLed": dict(dev.channels[ch].spotlight)},
        {"WhiteLed": initial},
        {"WhiteLed": dict(_WL_RANGE, channel=ch)},
    )


@register("SetWhiteLed")
def _set_white_led(dev: Device, ch: int, param: Dict[str, Any], _r: bool) -> Result:
    if not dev.profile.channels[ch].spotlight:
        raise CmdError(-9)
    wl = param.get("WhiteLed")
    if not isinstance(wl, dict):
        raise CmdError(-4)
    current = dev.channels[ch].spotlight
    for key, low, high in (("state", 0, 1), ("bright", 0, 100), ("mode", 0, 5)):
        if key in wl:
            val = wl[key]
            if isinstance(val, bool) or not isinstance(val, int) or not low <= val <= high:
                raise CmdError(-4)
    for key in ("state", "bright", "mode"):
        if key in wl:
            current[key] = wl[key]
    for key in ("LightingSchedule", "wlAiDetectType"):
        if isinstance(wl.get(key), dict):
            current[key] = dict(current[key], **wl[key])
    return ok()


@register("AudioAlarmPlay")
def _siren(dev: Device, ch: int, param: Dict[str, Any], _r: bool) -> Result:
    if not dev.profile.channels[ch].siren:
        raise CmdError(-9)
    state = dev.channels[ch]
    mode = param.get("alarm_mode")
    # "manul" is the spelling deployed firmware answers to (reolink_aio set_siren); V8's
    # "manu" is unverified (digest §3 AudioAlarmPlay), so it is refused like any bad value.
    if mode == "times":
        times = param.get("times", 1)
        if isinstance(times, bool) or not isinstance(times, int) or not 1 <= times <= 100:
            raise CmdError(-4)
        state.siren_plays += times
    elif mode == "manul":
        switch = param.get("manual_switch")
        if switch not in (0, 1):
            raise CmdError(-4)
        if switch == 1:
            state.siren_plays += 1
        state.siren_on = switch == 1
    else:
        raise CmdError(-4)
    return ok()


# ---------------------------------------------------------------------- PTZ
def _need_ptz(dev: Device, ch: int) -> None:
    if not dev.profile.channels[ch].ptz:
        raise CmdError(-9)


@register("PtzCtrl")
def _ptz_ctrl(dev: Device, ch: int, param: Dict[str, Any], _r: bool) -> Result:
    _need_ptz(dev, ch)
    ptz.control(dev.channels[ch], param, dev.clock())
    return ok()


@register("GetPtzPreset")
def _get_preset(dev: Device, ch: int, _p: Dict[str, Any], want_range: bool) -> Result:
    _need_ptz(dev, ch)
    presets = dev.channels[ch].presets
    entries: List[Dict[str, Any]] = []
    for pid in range(1, ptz.PRESET_SLOTS + 1):
        name = presets[pid][0] if pid in presets else ""
        entries.append(
            {"channel": ch, "enable": 1 if pid in presets else 0, "id": pid, "name": name}
        )
    if not want_range:
        return {"PtzPreset": entries}, None, None
    rng = {
        "PtzPreset": {
            "channel": ch,
            "enable": "boolean",
            "id": {"max": ptz.PRESET_SLOTS, "min": 1},
            "name": {"maxLen": 31},
        }
    }
    initial = {
        "PtzPreset": [
            {"channel": ch, "enable": 0, "id": pid, "name": ""}
            for pid in range(1, ptz.PRESET_SLOTS + 1)
        ]
    }
    return {"PtzPreset": entries}, initial, rng


@register("SetPtzPreset")
def _set_preset(dev: Device, ch: int, param: Dict[str, Any], _r: bool) -> Result:
    _need_ptz(dev, ch)
    ptz.set_preset(dev.channels[ch], param.get("PtzPreset"), dev.clock())
    return ok()


@register("GetPtzPatrol")
def _patrol(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    _need_ptz(dev, ch)
    state = dev.channels[ch]
    patrol = {
        "channel": ch,
        "enable": 1,
        "id": 1,
        "name": "Tour",
        "running": 1 if state.ptz.patrol == 1 else 0,
        "preset": [{"dwellTime": 10, "id": pid, "speed": 32} for pid in sorted(state.presets)],
    }
    return {"PtzPatrol": [patrol]}, None, None


@register("GetPtzGuard")
def _guard(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    _need_ptz(dev, ch)
    return {"PtzGuard": {"benable": 0, "bexistPos": 0, "channel": ch, "timeout": 60}}, None, None


@register("GetPtzCurPos")
def _cur_pos(dev: Device, ch: int, _p: Dict[str, Any], _r: bool) -> Result:
    _need_ptz(dev, ch)
    pos = ptz.position(dev.channels[ch], dev.clock())
    return (
        {"PtzCurPos": {"Ppos": int(pos["pan"]), "Tpos": int(pos["tilt"]), "channel": ch}},
        None,
        None,
    )


@register("GetZoomFocus")
def _zoom_focus(dev: Device, ch: int, _p: Dict[str, Any], want_range: bool) -> Result:
    _need_ptz(dev, ch)
    pos = ptz.position(dev.channels[ch], dev.clock())
    value = {
        "ZoomFocus": {
            "channel": ch,
            "focus": {"pos": int(pos["focus"])},
            "zoom": {"pos": int(pos["zoom"])},
        }
    }
    if not want_range:
        return value, None, None
    rng = {
        "ZoomFocus": {
            "focus": {"pos": {"max": ptz.FOCUS_MAX, "min": 0}},
            "zoom": {"pos": {"max": ptz.ZOOM_MAX, "min": 0}},
        }
    }
    return value, None, rng


@register("StartZoomFocus")
def _start_zoom_focus(dev: Device, ch: int, param: Dict[str, Any], _r: bool) -> Result:
    _need_ptz(dev, ch)
    ptz.zoom_focus(dev.channels[ch], param.get("ZoomFocus"), dev.clock())
    return ok()


# ---------------------------------------------------------------------- Snap
def snap(dev: Device, query: Dict[str, str]) -> Reply:
    """GET ``cmd=Snap``: image/jpeg, or a JSON error array served as text/html (digest §3 Snap)."""

    def fail(code: int) -> Reply:
        return json_reply([error_entry("Snap", code)])

    token = query.get("token")
    if not (token and token != "null") and not dev.profile.snap_inline_auth:  # noqa: S105
        # Home Hub firmware rejects inline credentials for Snap (koush/scrypted#2088).
        return fail(-6)
    _token, err = dev.authenticate(query)
    if err is not None:
        return json_reply([error_entry("Snap", err.code, err.detail)])
    try:
        ch = check_channel(dev, _int_or_none(query.get("channel")), setter=False, snap=True)
    except CmdError as exc:
        return fail(exc.code)
    data = dev._snap_cache.get(ch)
    if data is None:
        spec = dev.profile.channels[ch]
        data = jpeg.channel_snapshot(ch, f"{spec.model} ch{ch}", dev.snapshot_size)
        dev._snap_cache[ch] = data
    return Reply(200, "image/jpeg", data)


def _int_or_none(text: Optional[str]) -> Optional[int]:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def rsp_code_reply(cmds: List[str], code: int) -> bytes:
    """Every command answered with ``code`` (the ``rsp_code`` fault)."""
    return render([error_entry(c, code, DETAILS.get(code, "error")) for c in cmds or ["Unknown"]])
