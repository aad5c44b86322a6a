"""The device's webhook (HTTP push on motion/AI) and push settings: builders, parsers, slot choice.

Pure, like the rest of :mod:`reolink.protocol`: no I/O, no clock. Facts from the API digest
(``/work/shared/reolink-api.md`` "GetWebHook / SetWebHook / TestWebHook"):

* Support is per channel: ``abilityChn[ch].supportWebhook`` ver > 0 (see
  :func:`supports_webhook`); older firmware answers the commands with -9.
* ``GetWebHook`` lists a fixed table of slots; ``indexEnable`` -1 = unused, 0 = configured but
  disabled, 1 = enabled. ``SetWebHook`` sets one slot, ``indexEnable`` -1 frees it.
* ``TestWebHook`` makes the device call a URL once now: it proves the path device -> host.
* The device calls the URL only while push is enabled (``GetPushV20``, or ``GetPush`` on older
  firmware). A driver reads those settings and reports them; it never changes them.

A webhook URL holds a secret path, so builders and parsers never put a URL in an error message
and results keep URLs out of their reprs.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from typing import Optional, Tuple, Union

import attrs

from reolink.errors import ArgumentError, RemoteProtocolError
from reolink.protocol._coerce import Obj, Reply
from reolink.protocol._coerce import channel_echo as _channel_echo
from reolink.protocol._coerce import int_or_none as _int_or_none
from reolink.protocol._coerce import reply_value as _value
from reolink.protocol.commands import IntRange, channel_of
from reolink.protocol.results import Ability

__all__ = [
    "MAX_SLOTS",
    "MAX_URL",
    "PushState",
    "WebhookSlot",
    "WebhookTable",
    "build_free_webhook",
    "build_get_push",
    "build_get_push_v20",
    "build_get_webhook",
    "build_set_webhook",
    "build_test_webhook",
    "choose_slot",
    "parse_push",
    "parse_push_v20",
    "parse_webhooks",
    "supports_webhook",
]

Command = dict[str, object]

#: Slot indexes a builder accepts, and the most slots a parser accepts in one table.
MAX_SLOTS = 64
#: Longest URL a builder sends (the device stores it in a fixed-size field).
MAX_URL = 255
#: ``TestWebHook``'s ``type``: the value clients send for a webhook test.
_TEST_TYPE = 3
_SLOT_STATES = (-1, 0, 1)


# --- builders -----------------------------------------------------------------------------------


def _command(cmd: str, param: dict[str, object]) -> Command:
    return {"cmd": cmd, "action": 0, "param": param}


#: A webhook slot's index on one channel.
SLOT_INDEX = IntRange("index", 0, MAX_SLOTS - 1)
#: Channels are checked by the command builders' one rule (:data:`commands.CHANNEL`).
_channel = channel_of


def _slot(index: object) -> int:
    return SLOT_INDEX.check(index)


def _url(url: object) -> str:
    """A plain-HTTP URL the device can call. Messages describe it, never show it (secret path)."""
    if not isinstance(url, str):
        raise ArgumentError(f"url must be a string, got {type(url).__name__}", argument="url")
    if not url.startswith("http://"):
        # Devices do not call https URLs (digest): an https URL would never be called.
        raise ArgumentError(
            "url must start with http:// (the device calls plain-HTTP URLs only)", argument="url"
        )
    if len(url) > MAX_URL:
        raise ArgumentError(
            f"url must be at most {MAX_URL} characters, got {len(url)}", argument="url"
        )
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise ArgumentError(
            "url must be printable ASCII without spaces (percent-encode anything else)",
            argument="url",
        )
    if len(url) == len("http://") or url[len("http://")] in "/?#":
        raise ArgumentError("url has no host after http://", argument="url")
    return url


def build_get_webhook(channel: int) -> Command:
    """GetWebHook: the slot table of ``channel``."""
    return _command("GetWebHook", {"channel": _channel(channel)})


def build_set_webhook(channel: int, index: int, url: str) -> Command:
    """SetWebHook: slot ``index`` of ``channel`` calls ``url`` (plain body, enabled)."""
    hook = {
        "channel": _channel(channel),
        "index": _slot(index),
        "indexEnable": 1,
        "hookUrl": _url(url),
        "bCustom": 0,
        "hookBody": "",
    }
    return _command("SetWebHook", {"WebHook": hook})


def build_free_webhook(channel: int, index: int) -> Command:
    """SetWebHook with ``indexEnable`` -1: slot ``index`` of ``channel`` becomes unused."""
    hook = {
        "channel": _channel(channel),
        "index": _slot(index),
        "indexEnable": -1,
        "hookUrl": "",
        "bCustom": 0,
        "hookBody": "",
    }
    return _command("SetWebHook", {"WebHook": hook})


def build_test_webhook(channel: int, url: str) -> Command:
    """TestWebHook: the device calls ``url`` once now (proves the path from device to host)."""
    hook = {
        "alarmChannel": _channel(channel),
        "type": _TEST_TYPE,
        "source": "hook",
        "hookUrl": _url(url),
        "bCustom": 0,
        "hookBody": "",
    }
    return _command("TestWebHook", {"WebHook": hook})


def build_get_push_v20(channel: int) -> Command:
    """GetPushV20: push enabled device-wide and per channel (newer firmware; older: -9)."""
    return _command("GetPushV20", {"channel": _channel(channel)})


def build_get_push(channel: int) -> Command:
    """GetPush: the older firmware's push settings (``Push.schedule.enable``)."""
    return _command("GetPush", {"channel": _channel(channel)})


# --- results ------------------------------------------------------------------------------------


@attrs.frozen
class WebhookSlot:
    """One slot of a channel's webhook table. ``url`` may hold a secret path: never shown."""

    index: int
    #: ``indexEnable``: -1 unused, 0 configured but disabled, 1 enabled.
    state: int
    url: str = attrs.field(default="", repr=False)
    custom_body: bool = False

    @property
    def enabled(self) -> bool:
        return self.state == 1 and bool(self.url)

    @property
    def free(self) -> bool:
        """Unused: ``indexEnable`` -1, or no URL at all (nothing of anyone's to keep)."""
        return self.state == -1 or not self.url.strip()


@attrs.frozen
class WebhookTable:
    """GetWebHook: the slots of one channel, in index order."""

    channel: int
    slots: Tuple[WebhookSlot, ...]

    def holding(self, url: str) -> Optional[WebhookSlot]:
        """The first slot whose URL is exactly ``url`` (None when no slot holds it)."""
        return next((s for s in self.slots if s.url == url and not s.free), None)


@attrs.frozen
class PushState:
    """GetPushV20 / GetPush: whether the device calls webhooks (and sends push) on events.

    ``enabled`` is the device-wide switch; ``schedule_enabled`` the channel's schedule switch
    (None when the reply has none). ``cmd`` names the command that answered.
    """

    channel: int
    enabled: bool
    schedule_enabled: Optional[bool]
    cmd: str

    @property
    def active(self) -> bool:
        """Push reaches the webhook: switched on, and the schedule not switched off."""
        return self.enabled and self.schedule_enabled is not False


# --- parsers ------------------------------------------------------------------------------------






def _flag(value: object, what: str) -> Optional[bool]:
    number = _int_or_none(value, what)
    return None if number is None else number != 0


def _text(value: object, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise RemoteProtocolError(f"{what} is a {type(value).__name__}, not a string")
    if len(value) > 4096:
        raise RemoteProtocolError(f"{what} is too long ({len(value)} characters)")
    return value




def _slot_of(position: int, entry: object) -> WebhookSlot:
    what = f"GetWebHook WebHook[{position}]"
    if not isinstance(entry, Mapping):
        raise RemoteProtocolError(f"{what} is not an object")
    index = _int_or_none(entry.get("index"), f"{what}.index")
    index = position if index is None else index
    if not 0 <= index < MAX_SLOTS:
        raise RemoteProtocolError(f"{what}: index {index} is out of range 0..{MAX_SLOTS - 1}")
    state = _int_or_none(entry.get("indexEnable"), f"{what}.indexEnable")
    state = -1 if state is None else state
    if state not in _SLOT_STATES:
        raise RemoteProtocolError(f"{what}: indexEnable {state} is not -1, 0 or 1")
    return WebhookSlot(
        index=index,
        state=state,
        url=_text(entry.get("hookUrl"), f"{what}.hookUrl"),
        custom_body=bool(_flag(entry.get("bCustom"), f"{what}.bCustom")),
    )


def parse_webhooks(reply: Reply, channel: int) -> WebhookTable:
    """GetWebHook's ``value.WebHook``: the slot table, sorted by index.

    A single object instead of a list is taken as a one-slot table; a missing ``index`` is the
    entry's position. Duplicate indexes, unknown ``indexEnable`` values or more than
    :data:`MAX_SLOTS` slots raise RemoteProtocolError (a table we cannot trust is not written to).
    """
    value = _value(reply, "GetWebHook")
    _channel_echo(value, channel, "GetWebHook")
    raw = value.get("WebHook")
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        what = "missing" if raw is None else f"a {type(raw).__name__}, not an array"
        raise RemoteProtocolError(f"GetWebHook: WebHook is {what}")
    if len(raw) > MAX_SLOTS:
        raise RemoteProtocolError(f"GetWebHook: {len(raw)} slots is more than {MAX_SLOTS}")
    slots = [_slot_of(position, entry) for position, entry in enumerate(raw)]
    indexes = [s.index for s in slots]
    if len(set(indexes)) != len(indexes):
        raise RemoteProtocolError("GetWebHook: two slots have the same index")
    return WebhookTable(channel=channel, slots=tuple(sorted(slots, key=lambda s: s.index)))


def _push_obj(reply: Reply, cmd: str, channel: int) -> Obj:
    value = _value(reply, cmd)
    push = value.get("Push")
    if not isinstance(push, Mapping):
        what = "missing" if push is None else f"a {type(push).__name__}, not an object"
        raise RemoteProtocolError(f"{cmd}: Push is {what}")
    _channel_echo(push, channel, cmd)
    return push


def _schedule(push: Obj, cmd: str, channel: int) -> Obj:
    schedule = push.get("schedule")
    if schedule is None:
        return {}
    if not isinstance(schedule, Mapping):
        raise RemoteProtocolError(f"{cmd}: Push.schedule is not an object")
    _channel_echo(schedule, channel, f"{cmd} schedule")
    return schedule


def parse_push_v20(reply: Reply, channel: int) -> PushState:
    """GetPushV20: ``Push.enable`` (device-wide, required) and ``Push.scheduleEnable``."""
    push = _push_obj(reply, "GetPushV20", channel)
    enabled = _flag(push.get("enable"), "GetPushV20 Push.enable")
    if enabled is None:
        raise RemoteProtocolError("GetPushV20: Push.enable is missing")
    schedule_enabled = _flag(push.get("scheduleEnable"), "GetPushV20 Push.scheduleEnable")
    if schedule_enabled is None:
        schedule = _schedule(push, "GetPushV20", channel)
        schedule_enabled = _flag(schedule.get("enable"), "GetPushV20 Push.schedule.enable")
    return PushState(channel, enabled, schedule_enabled, "GetPushV20")


def parse_push(reply: Reply, channel: int) -> PushState:
    """GetPush (older firmware): ``Push.schedule.enable``, or ``Push.enable`` when that is all."""
    push = _push_obj(reply, "GetPush", channel)
    schedule = _schedule(push, "GetPush", channel)
    scheduled = _flag(schedule.get("enable"), "GetPush Push.schedule.enable")
    overall = _flag(push.get("enable"), "GetPush Push.enable")
    if scheduled is None and overall is None:
        raise RemoteProtocolError("GetPush: neither Push.schedule.enable nor Push.enable is there")
    enabled = overall if overall is not None else bool(scheduled)
    return PushState(channel, enabled, scheduled, "GetPush")


# --- abilities and slot choice ------------------------------------------------------------------


def supports_webhook(ability: Union[Ability, Obj], channel: int) -> bool:
    """Whether ``channel`` has the webhook: a parsed :class:`Ability`, or GetAbility's raw
    ``value.Ability`` object (``abilityChn[channel].supportWebhook`` ver > 0).

    A raw object that is malformed answers False (not supported), never raises: it only gates an
    optional speed-up.
    """
    if isinstance(ability, Ability):
        entry = ability.channel(channel)
        return entry is not None and entry.webhook
    chans = ability.get("abilityChn") if isinstance(ability, Mapping) else None
    if not isinstance(chans, list) or not 0 <= channel < len(chans):
        return False
    leaves = chans[channel]
    leaf = leaves.get("supportWebhook") if isinstance(leaves, Mapping) else None
    ver = leaf.get("ver") if isinstance(leaf, Mapping) else leaf
    try:
        return (_int_or_none(ver, "supportWebhook") or 0) > 0
    except RemoteProtocolError:
        return False


def choose_slot(
    table: WebhookTable,
    url: str,
    *,
    reclaim_prefix: str = "",
    live_urls: Container[str] = (),
    stale_urls: Container[str] = (),
) -> Optional[WebhookSlot]:
    """The slot to write ``url`` into, or None when every slot belongs to someone else.

    In order: the slot already holding ``url`` (a reconnect); a slot whose URL is in
    ``stale_urls`` (a previous run's URL that no live listener answers, as probed); a slot
    whose URL starts with ``reclaim_prefix`` and is not in ``live_urls`` (a previous run of
    this controller whose URL reaches our own listener, where it can only be a 404: pass the
    listener's own ``http://host:port/prefix/``, or "" to reclaim nothing); the first free slot
    (``indexEnable`` -1 or no URL). A slot holding another system's URL is never chosen.
    """
    held = table.holding(url)
    if held is not None:
        return held
    for slot in table.slots:
        if not slot.free and slot.url in stale_urls:
            return slot
    if reclaim_prefix:
        for slot in table.slots:
            if (
                not slot.free
                and slot.url.startswith(reclaim_prefix)
                and slot.url not in live_urls
            ):
                return slot
    return next((s for s in table.slots if s.free), None)
