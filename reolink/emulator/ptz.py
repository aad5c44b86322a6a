"""PTZ motion model: continuous moves integrate position over the emulator's clock until Stop.

Units: pan 0..3600 (tenths of a degree, wraps), tilt 0..900, zoom 0..ZOOM_MAX, focus
0..FOCUS_MAX. A move at ``speed`` (1..64, V8 PtzCtrl) changes pan/tilt by ``speed * 10`` units a
second, zoom/focus by ``1 + speed / 16``. ToPos jumps to a stored preset. Auto scans pan; a
patrol sweeps pan slowly. Ops that need no speed (Stop, StopPatrol, Iris/Focus/Zoom, ToPos)
accept ``speed: 0`` (V8: unneeded fields may be 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from .device import CmdError

if TYPE_CHECKING:
    from .device import ChannelState

__all__ = ["FOCUS_MAX", "PRESET_SLOTS", "ZOOM_MAX", "control", "position", "set_preset"]

PRESET_SLOTS = 64
ZOOM_MAX = 33
FOCUS_MAX = 248
PAN_MAX = 3600.0
TILT_MAX = 900.0

# op -> (pan direction, tilt direction)
_DIRECTIONS: Dict[str, Tuple[int, int]] = {
    "Left": (-1, 0),
    "Right": (1, 0),
    "Up": (0, 1),
    "Down": (0, -1),
    "LeftUp": (-1, 1),
    "LeftDown": (-1, -1),
    "RightUp": (1, 1),
    "RightDown": (1, -1),
}
_LENS = {
    "ZoomInc": ("zoom", 1),
    "ZoomDec": ("zoom", -1),
    "FocusInc": ("focus", 1),
    "FocusDec": ("focus", -1),
}
_SPEED_OPS = set(_DIRECTIONS) | {"Auto", "StartPatrol"}
OPS = (
    set(_DIRECTIONS)
    | set(_LENS)
    | {"Stop", "Auto", "IrisInc", "IrisDec", "StartPatrol", "StopPatrol", "ToPos"}
)


def _clamp(value: float, high: float) -> float:
    return max(0.0, min(high, value))


def _settle(state: ChannelState, now: float) -> None:
    """Fold the motion since the last change into the stored position."""
    p = state.ptz
    dt = max(0.0, now - p.since)
    p.since = now
    if p.op is None or dt == 0:
        return
    rate = p.speed * 10.0
    if p.op in _DIRECTIONS:
        dx, dy = _DIRECTIONS[p.op]
        p.pan = (p.pan + dx * rate * dt) % PAN_MAX
        p.tilt = _clamp(p.tilt + dy * rate * dt, TILT_MAX)
    elif p.op in ("Auto", "StartPatrol"):
        p.pan = (p.pan + (rate if p.op == "Auto" else rate / 4) * dt) % PAN_MAX
    elif p.op in _LENS:
        attr, sign = _LENS[p.op]
        high = ZOOM_MAX if attr == "zoom" else FOCUS_MAX
        setattr(p, attr, _clamp(getattr(p, attr) + sign * (1 + p.speed / 16) * dt, high))


def position(state: ChannelState, now: float) -> Dict[str, Any]:
    """Current pan/tilt/zoom/focus and the running op (None when idle)."""
    _settle(state, now)
    p = state.ptz
    return {
        "pan": p.pan,
        "tilt": p.tilt,
        "zoom": p.zoom,
        "focus": p.focus,
        "op": p.op,
        "moving": p.op is not None,
        "speed": p.speed,
        "patrol": p.patrol,
    }


def _int(value: Any) -> Optional[int]:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def control(state: ChannelState, param: Dict[str, Any], now: float) -> None:
    """Apply one PtzCtrl ``param`` or raise CmdError(-4)."""
    op = param.get("op")
    if op not in OPS:
        raise CmdError(-4)
    speed = 32
    if "speed" in param:
        given = _int(param["speed"])
        if given is None:
            raise CmdError(-4)
        if given == 0 and op not in _SPEED_OPS:
            given = 32
        if not 1 <= given <= 64:
            raise CmdError(-4)
        speed = given
    _settle(state, now)
    p = state.ptz
    if op == "ToPos":
        pid = _int(param.get("id"))
        if pid is None or pid not in state.presets:
            raise CmdError(-4)  # only defined (enabled) presets can be reached
        p.pan, p.tilt, p.zoom = state.presets[pid][1]
        p.op, p.patrol = None, None
        return
    if op == "StartPatrol":
        pid = _int(param.get("id", 1))
        if pid != 1:
            raise CmdError(-4)
        p.patrol = pid
    if op in ("Stop", "StopPatrol", "IrisInc", "IrisDec"):
        if op != "IrisInc" and op != "IrisDec":
            p.op, p.patrol = None, None
        return
    p.op, p.speed = op, speed


def set_preset(state: ChannelState, preset: Any, now: float) -> None:
    """SetPtzPreset: enable stores the current position, enable 0 deletes, no enable renames."""
    if not isinstance(preset, dict):
        raise CmdError(-4)
    pid = _int(preset.get("id"))
    if pid is None or not 1 <= pid <= PRESET_SLOTS:
        raise CmdError(-4)
    name = preset.get("name")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 31):
        raise CmdError(-4)
    enable = preset.get("enable")
    if enable == 0:
        state.presets.pop(pid, None)
        return
    if enable == 1:
        pos = position(state, now)
        state.presets[pid] = (name or f"pos{pid}", (pos["pan"], pos["tilt"], pos["zoom"]))
        return
    if enable is not None or pid not in state.presets or name is None:
        raise CmdError(-4)
    state.presets[pid] = (name, state.presets[pid][1])


def zoom_focus(state: ChannelState, zf: Any, now: float) -> None:
    """StartZoomFocus ``{"channel","op":"ZoomPos"|"FocusPos","pos":n}``."""
    if not isinstance(zf, dict):
        raise CmdError(-4)
    pos = _int(zf.get("pos"))
    op = zf.get("op")
    _settle(state, now)
    if op == "ZoomPos" and pos is not None and 0 <= pos <= ZOOM_MAX:
        state.ptz.zoom = float(pos)
    elif op == "FocusPos" and pos is not None and 0 <= pos <= FOCUS_MAX:
        state.ptz.focus = float(pos)
    else:
        raise CmdError(-4)
