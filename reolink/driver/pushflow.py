"""The webhook registration as sans-I/O flows (run by the core like every other flow).

:func:`register`: read the push settings (GetPushV20, or GetPush on older firmware) and the
slot tables (GetWebHook) of the channels in one read-only batch; keep the channels whose push
is on; per channel, reuse the slot already holding our URL, else take the first free one -
never a slot holding another system's URL (:func:`reolink.protocol.webhook.choose_slot`); write
the slots that do not hold our URL yet (SetWebHook) and read them back: where another writer won
the slot, choose again. Slots holding URLs of this library on this host that are not ours
(:func:`strays`) are probed first (:class:`ProbeFirst`; the loop asks them) and reclaimed only
when no live listener answers. :func:`test` asks for the device's test call (TestWebHook);
:func:`held_slots` reads which slots still hold our URL (:func:`read_ours` also says what a lost
slot shows now: the late and periodic reads); :func:`free_if_ours` frees a slot
only after reading that it holds exactly our URL (disconnect, failed verification, a
SetWebHook whose reply was lost); :func:`free` writes the frees.

A refusal that means "poll instead" raises :class:`NoPush` with the reason (one of the phrases
of :mod:`reolink.driver.pushcontrol`). The URL holds a secret path: nothing here logs or shows it.
"""

from __future__ import annotations

import urllib.parse
from typing import Container, Dict, List, Optional, Sequence, Tuple

from ..errors import ApiError, ReolinkError, TransportError
from ..protocol import codes
from ..protocol import webhook as wh
from ..protocol.pushschedule import (
    PushSchedule,
    build_get_time,
    combine,
    parse_push_schedule,
    parse_time_of_day,
)
from ..protocol.results import CommandReply
from ..redact import PUSH_PATH_PREFIX
from .client import DeviceClient, Flow
from .pushcontrol import (
    REASON_DISABLED,
    REASON_FAILED,
    REASON_NO_SLOT,
    REASON_SCHEDULE_OFF,
    REASON_UNSUPPORTED,
)

__all__ = [
    "CLAIM_ROUNDS",
    "FREED",
    "TAKEN",
    "NoPush",
    "ProbeFirst",
    "free",
    "free_if_ours",
    "held_slots",
    "read_ours",
    "register",
    "strays",
    "test",
    "time_of_day",
]

#: How many times a channel's slot is chosen again when another writer took it (read back).
CLAIM_ROUNDS = 3


class ProbeFirst(Exception):
    """Slots hold URLs of this library on this host that are not ours: ask whether a live
    listener answers them (:class:`~reolink.driver.messages.Probe`), then register again."""

    def __init__(self, urls: Tuple[str, ...]) -> None:
        super().__init__(f"{len(urls)} URL(s) to probe")
        self.urls = urls


class NoPush(Exception):
    """Registration cannot work: poll, for ``reason``. ``retry``: try again later."""

    def __init__(self, reason: str, *, retry: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


def _push_states(
    client: DeviceClient,
    channels: Sequence[int],
    replies: Sequence[CommandReply],
    schedules: Dict[int, PushSchedule],
) -> Flow[Dict[int, Optional[bool]]]:
    """channel -> push on (True/False), or None when the device says nothing usable; fills
    ``schedules`` (channel -> the push schedule's hours)."""
    legacy = [
        ch
        for ch, reply in zip(channels, replies)
        if isinstance(reply.error, ApiError) and codes.is_not_supported(reply.error)
    ]
    if legacy:
        more = yield from client.call([wh.build_get_push(ch) for ch in legacy])
        older = dict(zip(legacy, more))
    states: Dict[int, Optional[bool]] = {}
    for ch, reply in zip(channels, replies):
        try:
            if ch in legacy:
                schedules[ch] = parse_push_schedule(older[ch], "GetPush")
                states[ch] = wh.parse_push(older[ch], ch).active
            else:
                schedules[ch] = parse_push_schedule(reply, "GetPushV20")
                states[ch] = wh.parse_push_v20(reply, ch).active
        except ReolinkError as error:
            client.log.info("channel %d: push settings unreadable (%s)", ch, error)
            states[ch] = None
    return states


def _tables(
    client: DeviceClient, channels: Sequence[int], replies: Sequence[CommandReply]
) -> Dict[int, wh.WebhookTable]:
    tables = {}
    for ch, reply in zip(channels, replies):
        try:
            tables[ch] = wh.parse_webhooks(reply, ch)
        except ReolinkError as error:
            client.log.info("channel %d: no usable webhook table (%s)", ch, error)
    return tables


def _library(slot_url: str) -> bool:
    """Whether a slot's URL is one this library's listener serves (its path prefix)."""
    return urllib.parse.urlsplit(slot_url).path.startswith(PUSH_PATH_PREFIX)


def strays(
    tables: Dict[int, wh.WebhookTable], url: str, live: Container[str], reclaim_prefix: str
) -> Tuple[str, ...]:
    """URLs of this library on this host (``url``'s host, our path prefix, any port) in the
    slots that are neither ``url`` nor live on our own listener: a probe tells whether another
    running driver answers them, or a run that ended without freeing its slot left them."""
    host = urllib.parse.urlsplit(url).hostname
    found: List[str] = []
    for table in tables.values():
        for slot in table.slots:
            if slot.free or slot.url == url or slot.url in found:
                continue
            if reclaim_prefix and slot.url.startswith(reclaim_prefix):
                continue  # our own listener's port: reclaimed without a probe (not live)
            try:
                same_host = urllib.parse.urlsplit(slot.url).hostname == host
            except ValueError:
                continue
            if same_host and _library(slot.url) and slot.url not in live:
                found.append(slot.url)
    return tuple(found)


def _choose(
    tables: Dict[int, wh.WebhookTable],
    url: str,
    reclaim_prefix: str,
    live: Container[str],
    dead: Container[str] = (),
) -> Tuple[Dict[int, wh.WebhookSlot], List[int]]:
    chosen, full = {}, []
    for ch, table in tables.items():
        slot = wh.choose_slot(
            table, url, reclaim_prefix=reclaim_prefix, live_urls=live, stale_urls=dead
        )
        if slot is None:
            full.append(ch)
        else:
            chosen[ch] = slot
    return chosen, full


def register(
    client: DeviceClient,
    channels: Sequence[int],
    url: str,
    reclaim_prefix: str = "",
    *,
    live: Optional[Container[str]] = None,
    maybe: Optional[Dict[int, int]] = None,
    probed: Optional[Container[str]] = None,
    dead: Container[str] = (),
    schedule: Optional[List[PushSchedule]] = None,
) -> Flow[Dict[int, int]]:
    """Write ``url`` into one slot per channel; returns channel -> slot index. Raises NoPush,
    or ProbeFirst when slots hold URLs of this library on this host not in ``probed`` (the
    URLs probed already); ``dead``: those no live listener answered - reclaimed (one reused
    per channel, the others freed). ``schedule`` (if given) gets the channels' combined push
    schedule (:mod:`reolink.protocol.pushschedule`).

    ``live``: the URLs of every live registration of our listener (default: ``url`` only);
    a slot holding one of them belongs to another running driver and is never reclaimed.
    ``maybe`` (updated in place): channel -> slot that may hold ``url`` though that was never
    confirmed (a SetWebHook whose reply was lost, or the slots of a registration that failed
    midway). A channel whose table is read here leaves it (a slot holding ``url`` is reused);
    :func:`free_if_ours` settles the rest.
    """
    maybe = {} if maybe is None else maybe
    tables = yield from _read(client, channels, [] if schedule is None else schedule)
    live_urls: Container[str] = (url,) if live is None else live
    if probed is not None:
        found = strays(tables, url, live_urls, reclaim_prefix)
        unprobed = tuple(u for u in found if u not in probed)
        if unprobed:
            raise ProbeFirst(unprobed)
    return (yield from _claim(client, tables, url, reclaim_prefix, live_urls, dead, maybe))


def _claim(
    client: DeviceClient,
    tables: Dict[int, wh.WebhookTable],
    url: str,
    reclaim_prefix: str,
    live_urls: Container[str],
    dead: Container[str],
    maybe: Dict[int, int],
) -> Flow[Dict[int, int]]:
    """Choose, write and read back a slot per table; choose again where another writer won
    (at most CLAIM_ROUNDS times). Returns channel -> index of the slots read back as ours."""
    held: Dict[int, int] = {}
    for _round in range(CLAIM_ROUNDS):
        for ch in tables:
            maybe.pop(ch, None)  # read: a slot holding our URL is chosen again (held first)
        chosen, full = _choose(tables, url, reclaim_prefix, live_urls, dead)
        for ch in full:
            client.log.info(
                "channel %d: every webhook slot holds another system's URL; left untouched", ch
            )
        if not chosen and not held:
            raise NoPush(_no_slot(tables))
        yield from _free_dead(client, tables, chosen, dead)
        writes = [
            (ch, slot.index)
            for ch, slot in chosen.items()
            if not (slot.enabled and slot.url == url)
        ]
        held.update(
            {ch: slot.index for ch, slot in chosen.items() if (ch, slot.index) not in writes}
        )
        if not writes:
            break
        # Until it is read back, a written slot is only maybe ours (a reply may be lost, and
        # another writer may take the same free slot at the same moment).
        maybe.update(dict(writes))
        written = yield from _write(client, writes, url, maybe)
        claimed = [ch for ch, _ in writes if written.get(ch)]
        tables = yield from _read_back(client, claimed, url, maybe, held)
        if not tables:
            break
    if not held:
        raise NoPush(f"{REASON_FAILED}: another writer took every slot written (read back)")
    return held


def _read(
    client: DeviceClient, channels: Sequence[int], schedule: List[PushSchedule]
) -> Flow[Dict[int, wh.WebhookTable]]:
    """The push settings and slot tables of ``channels`` (one read-only batch): the tables of
    the channels whose push is not off; ``schedule`` gets their push schedule. Raises NoPush
    (push switched off, or scheduled at no hour)."""
    batch = [wh.build_get_push_v20(ch) for ch in channels]
    batch += [wh.build_get_webhook(ch) for ch in channels]
    replies = yield from client.call(batch, repeatable=True)
    count = len(channels)
    schedules: Dict[int, PushSchedule] = {}
    states = yield from _push_states(client, channels, replies[:count], schedules)
    if all(state is False for state in states.values()):
        raise NoPush(
            f"{REASON_DISABLED}: push notifications are switched off on the device "
            "(GetPushV20/GetPush); the driver never changes that setting - switch push on "
            "in the Reolink app to use it"
        )
    combined = combine([schedules[ch] for ch in channels if states[ch] is not False])
    if combined.off:
        raise NoPush(
            f"{REASON_SCHEDULE_OFF}: the device's push schedule (GetPushV20/GetPush, rows "
            f"{', '.join(combined.rows)}) has no hour on; events are found by polling, and the "
            "schedule is read again every 10 min (the driver never changes it)"
        )
    schedule.append(combined)
    # Unreadable settings (None) are tried: the unannounced-events rule catches a wrong guess.
    hooks = dict(zip(channels, replies[count:]))
    active = [ch for ch in channels if states[ch] is not False]
    tables = _tables(client, active, [hooks[ch] for ch in active])
    if not tables:
        raise NoPush(f"{REASON_UNSUPPORTED}: GetWebHook gave no usable slot table", retry=False)
    return tables


def _no_slot(tables: Dict[int, wh.WebhookTable]) -> str:
    """The reason for a full table: how many slots this library's drivers hold (running
    elsewhere: their listener answered, or could not be asked), how many other systems."""
    table = max(tables.values(), key=lambda t: len(t.slots))
    ours = sum(1 for slot in table.slots if not slot.free and _library(slot.url))
    others = len(table.slots) - ours
    if not ours:
        return (
            f"{REASON_NO_SLOT}: all {len(table.slots)} webhook slots hold other systems' "
            "URLs (left untouched); free one in the Reolink app to use push"
        )
    return (
        f"{REASON_NO_SLOT}: all {len(table.slots)} webhook slots are taken - {ours} by "
        f"running drivers of this library (another process or host; their listener "
        f"answers), {others} by other systems' URLs (left untouched); disconnect a driver "
        "or free a slot in the Reolink app to use push"
    )


def _free_dead(
    client: DeviceClient,
    tables: Dict[int, wh.WebhookTable],
    chosen: Dict[int, wh.WebhookSlot],
    dead: Container[str],
) -> Flow[None]:
    """Free the dead slots of this library not reused (a table read just now holds them)."""
    frees = [
        wh.build_free_webhook(ch, slot.index)
        for ch, table in sorted(tables.items())
        for slot in table.slots
        if not slot.free and slot.url in dead
        and (ch not in chosen or chosen[ch].index != slot.index)
    ]
    if not frees:
        return
    client.log.info("freeing %d webhook slot(s) left by earlier runs of this library", len(frees))
    replies = yield from client.call(frees)
    for reply in replies:
        if reply.error is not None:
            client.log.info("could not free a dead webhook slot: %s", reply.error)


def _read_back(
    client: DeviceClient,
    channels: Sequence[int],
    url: str,
    maybe: Dict[int, int],
    held: Dict[int, int],
) -> Flow[Dict[int, wh.WebhookTable]]:
    """Read the slots just written: a channel whose table holds ``url`` is ours (``held``);
    returns the fresh tables of the channels where another writer won the slot."""
    if not channels:
        return {}
    replies = yield from client.call(
        [wh.build_get_webhook(ch) for ch in channels], repeatable=True
    )
    lost = {}
    for ch, table in _tables(client, channels, replies).items():
        maybe.pop(ch, None)
        slot = table.holding(url)
        if slot is not None:
            held[ch] = slot.index
        else:
            client.log.info(
                "channel %d: another writer took the webhook slot just written; choosing again",
                ch,
            )
            lost[ch] = table
    return lost


def held_slots(
    client: DeviceClient, slots: Dict[int, int], url: str
) -> Flow[Dict[int, int]]:
    """Read the tables of ``slots``' channels: channel -> index of the slot holding ``url``
    (a channel whose table does not hold it, or cannot be read, is left out)."""
    held, _ = yield from read_ours(client, slots, url)
    return held


#: What a slot of ours shows when another system took it (:func:`read_ours`).
TAKEN = "now holds another system's URL"
FREED = "now free"


def read_ours(
    client: DeviceClient, slots: Dict[int, int], url: str
) -> Flow[Tuple[Dict[int, int], Dict[int, str]]]:
    """Read the tables of ``slots``' channels (channel -> the index we hold), one read-only
    batch: ``(held, lost)``. ``held``: channel -> index of the slot holding ``url``; ``lost``:
    channel -> what the slot we held shows now (:data:`TAKEN` or :data:`FREED`), for a table
    that holds ``url`` nowhere. A channel whose table cannot be read is in neither."""
    channels = sorted(slots)
    if not channels:
        return {}, {}
    replies = yield from client.call(
        [wh.build_get_webhook(ch) for ch in channels], repeatable=True
    )
    held: Dict[int, int] = {}
    lost: Dict[int, str] = {}
    for ch, table in _tables(client, channels, replies).items():
        slot = table.holding(url)
        if slot is not None:
            held[ch] = slot.index
            continue
        was = next((s for s in table.slots if s.index == slots[ch]), None)
        lost[ch] = FREED if was is None or was.free else TAKEN
    return held, lost


def _write(
    client: DeviceClient, writes: Sequence[Tuple[int, int]], url: str, maybe: Dict[int, int]
) -> Flow[Dict[int, bool]]:
    """SetWebHook for each (channel, index); channel -> accepted. Raises NoPush if none is.

    A write the device refused, or that provably never left, leaves ``maybe``; a lost reply
    leaves it there (the device may have applied it; it is never sent again blindly).
    """
    if not writes:
        return {}
    try:
        replies = yield from client.call([wh.build_set_webhook(ch, i, url) for ch, i in writes])
    except TransportError as error:
        if not error.may_have_run:  # provably never left (the request-safety decision's fact)
            for ch, _ in writes:
                maybe.pop(ch, None)
        raise
    accepted: Dict[int, bool] = {}
    errors = []
    for (ch, _), reply in zip(writes, replies):
        accepted[ch] = reply.error is None
        if reply.error is not None:
            maybe.pop(ch, None)
            errors.append(f"channel {ch}: {reply.error}")
    if not any(accepted.values()):
        raise NoPush(f"{REASON_FAILED}: SetWebHook refused ({'; '.join(errors)})")
    return accepted


def time_of_day(client: DeviceClient) -> Flow[Optional[float]]:
    """GetTime: the device's clock as an offset to add to ``client.now`` to get its time of
    day in seconds (mod 86400); None when it cannot be read (errors are logged)."""
    try:
        (reply,) = yield from client.call([build_get_time()], repeatable=True)
    except ReolinkError as error:
        client.log.info("GetTime failed (%s): the push schedule's hours are not shown", error)
        return None
    seconds = parse_time_of_day(reply)
    return None if seconds is None else seconds - client.now


def test(client: DeviceClient, channel: int, url: str) -> Flow[Optional[str]]:
    """TestWebHook: the device calls ``url`` once. Returns None, or why it was refused."""
    replies = yield from client.call([wh.build_test_webhook(channel, url)])
    error = replies[0].error
    return None if error is None else str(error)


def free_if_ours(
    client: DeviceClient, maybe: Dict[int, int], url: str, deadline: Optional[float] = None
) -> Flow[bool]:
    """Settle ``maybe`` (updated in place): read those channels' slots (GetWebHook) and free
    the slot holding exactly ``url`` - never another system's, whatever index we wrote.
    Errors are logged, not raised; a channel whose table could not be read stays in
    ``maybe``. Returns whether the device answered the read."""
    channels = sorted(maybe)
    if not channels:
        return True
    try:
        replies = yield from client.call(
            [wh.build_get_webhook(ch) for ch in channels], deadline=deadline, repeatable=True
        )
    except ReolinkError as error:
        client.log.info("could not read the webhook slot(s) that may be ours: %s", error)
        return False
    ours = {}
    for ch, table in _tables(client, channels, replies).items():
        maybe.pop(ch, None)
        slot = table.holding(url)
        if slot is not None:
            ours[ch] = slot.index
    yield from free(client, ours, deadline)
    return True


def free(
    client: DeviceClient, slots: Dict[int, int], deadline: Optional[float] = None
) -> Flow[None]:
    """Give our slots back (SetWebHook ``indexEnable`` -1). Errors are logged, not raised."""
    if not slots:
        return
    batch = [wh.build_free_webhook(ch, index) for ch, index in sorted(slots.items())]
    try:
        replies = yield from client.call(batch, deadline=deadline)
    except ReolinkError as error:
        client.log.info("could not free the webhook slot(s): %s", error)
        return
    for (ch, _), reply in zip(sorted(slots.items()), replies):
        if reply.error is not None:
            client.log.info("channel %d: could not free the webhook slot: %s", ch, reply.error)
