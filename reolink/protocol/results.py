"""Frozen value classes returned by the parsers. Validated at construction, hashable, no I/O.

The objects made per reply or per change on the poll path (CommandReply, the driver's
AttributeEvent) are made by :func:`positional_maker`: the same frozen object without attrs'
per-field ``object.__setattr__``, and only for a class whose ``__init__`` does nothing else
(no validator, converter or post-init hook: it falls back to the class itself).
"""

from __future__ import annotations

from typing import Any, Callable, FrozenSet, Mapping, Optional, Tuple, Type, TypeVar, cast

import attrs

T = TypeVar("T")

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
    "positional_maker",
    "sort_ai_types",
]

#: The four AI types the driver page names, in display order. Devices may report more
#: (``package``, ``other``...); those are kept as they are named.
AI_TYPES: Tuple[str, ...] = ("people", "vehicle", "dog_cat", "face")


def sort_ai_types(types: FrozenSet[str]) -> Tuple[str, ...]:
    """Known AI types in AI_TYPES order, then any others alphabetically."""
    known = [t for t in AI_TYPES if t in types]
    return tuple(known + sorted(t for t in types if t not in AI_TYPES))


def positional_maker(cls: Type[T]) -> Callable[..., T]:
    """A constructor of the frozen, slotted attrs class ``cls`` taking every field
    positionally, in order, that sets the slots directly.

    attrs' generated ``__init__`` of a frozen class goes through ``object.__setattr__`` once
    per field; this sets each slot through its descriptor (about a quarter fewer
    instructions: it matters for the objects made per reply and per change on the poll
    path). It is only made where that ``__init__`` would do nothing more than set the
    fields: every field an ``init`` field without converter or validator, and no
    ``__attrs_post_init__``. For any other class ``cls`` itself is returned, so a validator
    added later can never be skipped. The result is the same object ``cls(*fields)`` makes
    (tests/test_hot_path.py checks equality, hash and repr).
    """
    fields = attrs.fields(cast(Any, cls))
    slots = [cls.__dict__.get(f.name) for f in fields]
    plain = all(
        f.init
        and f.converter is None
        and f.validator is None
        and getattr(f, "alias", f.name) == f.name
        for f in fields
    )
    if (
        not plain
        or hasattr(cls, "__attrs_post_init__")
        or hasattr(cls, "__attrs_pre_init__")
        or not all(type(slot).__name__ == "member_descriptor" for slot in slots)
    ):
        return cls
    names = [f"a{i}" for i in range(len(fields))]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def make({', '.join(names)}):", "    o = _new(_cls)"]
    for index, slot in enumerate(slots):
        scope[f"_set{index}"] = slot.__set__  # type: ignore[union-attr]
        lines.append(f"    _set{index}(o, a{index})")
    lines.append("    return o")
    exec("\n".join(lines), scope)  # noqa: S102 - code made from field positions only
    maker: Callable[..., T] = scope["make"]
    return maker


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
