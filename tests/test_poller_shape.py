"""The poller's shape stamp: what it derives from its channels is never stale.

The plan's key (each channel's mode and availability, and whether GetChannelstatus rides
along) and the available channels are made again only when the channels' shape moved:
every change of a channel's ``mode``, ``available`` or ``failing`` moves the stamp through
the fields' own ``on_setattr`` hook, and :meth:`Poller.configure` removing a channel changes
their count. These tests change the channels every way the poller's writers do (and a few
they do not) and compare, after each change, with a derivation from scratch.
"""

from __future__ import annotations

import logging
from typing import Any, Hashable, List, Tuple

from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from reolink.driver.config import ZoneConfig
from reolink.driver.logs import DeviceLog
from reolink.driver.poller import CHANNEL_STATUS_EVERY, Mode, Poller
from reolink.driver.store import AttributeStore
from reolink.protocol.results import ChannelList, ChannelStatus

CHANNELS = 4


def _poller() -> Poller:
    zones = [ZoneConfig(address=str(c), channel=c) for c in range(CHANNELS)]
    poller = Poller(zones, AttributeStore("dev"), DeviceLog(logging.getLogger("t.shape"), "d"))
    # An NVR that lists its channels (all online): GetChannelstatus is supported.
    listed = tuple(ChannelStatus(channel=c, online=True) for c in range(CHANNELS))
    poller.configure(
        CHANNELS, multichannel=True, channel_list=ChannelList(CHANNELS, listed), now=0.0
    )
    return poller


def _from_scratch(poller: Poller, now: float) -> Tuple[Hashable, Tuple[int, ...]]:
    """The plan key and the available channels, derived the way they were before the stamp."""
    channels = poller._channels
    states = channels.values()
    status_at = poller._channel_status_at
    with_status = (
        poller._multichannel
        and poller._channel_status_supported
        and (
            poller._channel_status_wanted
            or any(not s.available or s.failing for s in states)
            or status_at is None
            or now - status_at >= CHANNEL_STATUS_EVERY
        )
    )
    key = (tuple([(s.mode, s.available) for s in states]), with_status)
    return key, tuple([ch for ch, s in channels.items() if s.available])


_FIELDS = {"mode": st.sampled_from(list(Mode)), "available": st.booleans(),
           "failing": st.booleans()}
_OPS = st.one_of(
    # A direct write of one field (the same value again included), as the readers do.
    st.tuples(st.just("set"), st.integers(0, CHANNELS - 1), st.sampled_from(sorted(_FIELDS)))
    .flatmap(lambda op: st.tuples(st.just(op), _FIELDS[op[2]])),
    # GetChannelstatus's list: channels online, offline or asleep.
    st.tuples(st.just("list"), st.lists(st.sampled_from(["on", "off", "asleep"]),
                                        min_size=CHANNELS, max_size=CHANNELS)),
    # A failing channel (the poller's own path: it asks for GetChannelstatus too).
    st.tuples(st.just("failed"), st.integers(0, CHANNELS - 1)),
    # Identification again with fewer channels: configure removes the others.
    st.tuples(st.just("fewer"), st.integers(1, CHANNELS)),
    # Time passes (GetChannelstatus falls due again after a minute).
    st.tuples(st.just("later"), st.floats(0, 2 * CHANNEL_STATUS_EVERY)),
)


def _run(poller: Poller, op: Any, now: float) -> float:
    kind = op[0]
    if kind == "list":
        listed = tuple(
            ChannelStatus(channel=c, online=how != "off", sleeping=how == "asleep")
            for c, how in enumerate(op[1])
        )
        poller.apply_channel_list(ChannelList(count=CHANNELS, channels=listed), now)
    elif kind == "failed":
        if op[1] in poller._channels:
            poller._channel_failed(op[1], "-17 rcv failed")
    elif kind == "fewer":
        poller.configure(op[1], multichannel=True, channel_list=None, now=now)
    elif kind == "later":
        now += op[1]
    else:
        (_, channel, name), value = op
        if channel in poller._channels:
            setattr(poller._channels[channel], name, value)
    return now


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(_OPS, max_size=30))
def test_the_plan_and_the_available_channels_follow_every_change(ops: List[Any]) -> None:
    poller = _poller()
    now = 0.0
    for op in ops:
        now = _run(poller, op, now)
        key, available = _from_scratch(poller, now)
        plan = poller.plan(now)
        assert plan.key == key, op
        assert poller.available_channels() == available, op
        # The plan's commands are those of its key: one per available channel's mode.
        polled = {c for c in available}
        assert {cmd.get("param", {}).get("channel") for cmd in plan.commands  # type: ignore[union-attr]
                if cmd["cmd"] != "GetChannelstatus"} == polled


def test_only_a_change_of_value_moves_the_stamp() -> None:
    poller = _poller()
    channel = poller._channels[1]
    before = poller._shape.moves
    channel.available = True  # the value it had
    channel.failing = False
    channel.mode = Mode.EVENTS
    assert poller._shape.moves == before
    shaped = poller._shaped_now()
    assert poller._shaped_now() is shaped  # nothing moved: the same derivation
    channel.failing = True
    assert poller._shape.moves == before + 1
    assert poller._shaped_now() is not shaped
