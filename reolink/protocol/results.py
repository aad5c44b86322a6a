"""Frozen value classes returned by the parsers. Validated at construction, hashable, no I/O."""

from __future__ import annotations

from typing import FrozenSet, Mapping, Optional, Tuple

import attrs

__all__ = [
    "AI_TYPES",
    "Ability",
    "AiState",
    "ChannelAbility",
    "ChannelList",
    "ChannelStatus",
    "CommandReply",
    "DeviceInfo",
    "EventsState",
    "LoginToken",
    "MotionState",
    "PtzPreset",
    "PtzPresets",
    "WhiteLedState",
    "sort_ai_types",
]

#: The four AI types the driver page names, in display order. Devices may report more
#: (``package``, ``other``...); those are kept as they are named.
AI_TYPES: Tuple[str, ...] = ("people", "vehicle", "dog_cat", "face")


def sort_ai_types(types: FrozenSet[str]) -> Tuple[str, ...]:
    """Known AI types in AI_TYPES order, then any others alphabetically."""
    known = [t for t in AI_TYPES if t in types]
    return tuple(known + sorted(t for t in types if t not in AI_TYPES))


@attrs.frozen
class CommandReply:
    """One slot of a batch reply: either ``value`` (success) or ``error`` (an ApiError)."""

    cmd: str
    value: Optional[Mapping[str, object]] = attrs.field(default=None, eq=False)
    error: Optional[Exception] = attrs.field(default=None, eq=False)
    #: the whole entry, for parsers that need ``initial``/``range``.
    raw: Optional[Mapping[str, object]] = attrs.field(default=None, eq=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen
class LoginToken:
    """Login's ``value.Token``. ``name`` is the secret token and is never shown in a repr."""

    name: str = attrs.field(repr=False)
    lease_time: int


@attrs.frozen
class DeviceInfo:
    model: str
    firmware: str
    hardware: str
    serial: str
    name: str
    type: str
    exact_type: Optional[str]
    channel_count: int
    framework_version: Optional[str] = None
    build_day: Optional[str] = None
    wifi: Optional[bool] = None

    @property
    def is_multichannel(self) -> bool:
        """NVRs and hubs (or anything reporting more than one channel)."""
        kind = (self.exact_type or self.type or "").upper()
        return self.channel_count > 1 or kind in ("NVR", "HUB", "HOMEHUB")


@attrs.frozen
class ChannelStatus:
    channel: int
    online: bool
    name: str = ""
    sleeping: bool = False
    type_info: str = ""
    uid: str = ""


@attrs.frozen
class ChannelList:
    count: int
    channels: Tuple[ChannelStatus, ...]


@attrs.frozen
class ChannelAbility:
    """What one channel can do, from ``abilityChn[i]`` (``ver`` > 0 means supported)."""

    channel: int
    ptz_type: int = 0
    ptz_control: bool = False
    ptz_presets: bool = False
    ptz_patrol: bool = False
    spotlight: bool = False
    siren: bool = False
    ai: bool = False
    ai_types: FrozenSet[str] = frozenset()
    motion: bool = True
    snap: bool = True
    battery: bool = False
    #: ``supportWebhook``: the device can call a URL on motion/AI (see protocol.webhook).
    webhook: bool = False
    #: every ``{"permit", "ver"}`` leaf of ``abilityChn[i]`` by key: its ``ver`` (absent key =
    #: the firmware predates it). Read by the detection-setup checks (``mdWithPir``...).
    features: Mapping[str, int] = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def ptz(self) -> bool:
        """Any pan, tilt, zoom or focus control."""
        return self.ptz_type > 0 or self.ptz_control


@attrs.frozen
class Ability:
    """GetAbility: global feature levels (``ver`` per key) and per-channel abilities."""

    features: Mapping[str, int] = attrs.field(eq=False)
    channels: Tuple[ChannelAbility, ...]

    def channel(self, index: int) -> Optional[ChannelAbility]:
        return self.channels[index] if 0 <= index < len(self.channels) else None

    def supports(self, feature: str) -> bool:
        return self.features.get(feature, 0) > 0


@attrs.frozen
class MotionState:
    channel: int
    motion: bool


@attrs.frozen
class AiState:
    """AI detections of one channel, type names normalized (``dogCat``/``dog_cat`` → ``dog_cat``).

    ``detected`` holds the types that are supported *and* alarming right now.
    """

    channel: int
    detected: FrozenSet[str]
    supported: FrozenSet[str]

    @property
    def detected_list(self) -> Tuple[str, ...]:
        return sort_ai_types(self.detected)

    @property
    def supported_list(self) -> Tuple[str, ...]:
        return sort_ai_types(self.supported)


@attrs.frozen
class EventsState:
    """GetEvents: motion and AI in one reply (newer firmware)."""

    channel: int
    motion: bool
    motion_supported: bool
    ai: AiState
    visitor: bool = False
    #: ``visitor.support`` is 1: a doorbell button (the ``visitor`` zone attribute).
    visitor_supported: bool = False


@attrs.frozen
class PtzPreset:
    id: int
    name: str


@attrs.frozen
class PtzPresets:
    """The enabled presets of a channel (``enable == 1`` entries only)."""

    channel: int
    presets: Tuple[PtzPreset, ...]
    id_min: Optional[int] = None
    id_max: Optional[int] = None

    @property
    def ids(self) -> FrozenSet[int]:
        return frozenset(p.id for p in self.presets)


@attrs.frozen
class WhiteLedState:
    channel: int
    on: bool
    mode: Optional[int] = None
    bright: Optional[int] = None
