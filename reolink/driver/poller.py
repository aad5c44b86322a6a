"""What to poll each cycle, and what the answers change. No I/O: the core sends.

Per channel the poller keeps a mode, chosen by probing (a ``-9 not support`` answer is swallowed
once and the command is dropped from later cycles for that channel):

* ``EVENTS``: one GetEvents (motion and AI in one reply, newer firmware);
* ``MD_AI``: GetMdState + GetAiState (the V8 way);
* ``MD``: GetMdState alone (no AI on this channel).

Attributes are written to an :class:`~reolink.driver.store.AttributeStore`, which hands the
host each attribute's final value of the cycle, once, and only when it changed.

Most cycles nothing changes, so a repeated answer is not parsed again - and the store, not
the poller, decides when an answer is "repeated" (:meth:`AttributeStore.unchanged`): the
poller reports what it derived each zone's attributes from (a reply's value; the whole
batch's response bodies with the plan key; GetChannelstatus's value with the channels'
availability) and the store drops the memo as soon as anyone changes an attribute it covered.
No other write path (a channel going offline, the device going down) has anything to remember.
The plan (commands and encoded bodies per key) is a memo of a pure function of its key. The
key itself, and the available channels, are derived from the channels' shape (each one's mode,
availability and failing flag) only when that shape moved: a real change of any of those
fields moves one shared stamp from the field's own ``on_setattr`` hook, so no writer has
anything to remember (tests/test_poller_shape.py compares with a derivation from scratch).

A reply that changed is read by the parsers' poller-facing readers (``events_findings``,
``md_state_motion``, ``ai_state_types``: plain values, no result objects; the one home of
each rule, which the object-building parsers wrap), and the memos of one batch go to the
store in one call (:meth:`AttributeStore.derived_each`). Each plan slot carries its memo
source, made once per plan. What a reader found is kept for the last two replies per command
and channel (the readers are pure functions of the reply): the client hands out the same
reply object for the same entry text, so a channel whose state goes back and forth is read
once per state. That memo decides nothing: every finding is written, and the store decides
what changed.
"""

from __future__ import annotations

import enum
import functools
from typing import Any, Dict, FrozenSet, Hashable, List, Mapping, Optional, Sequence, Tuple

import attrs

from ..errors import ApiError, AuthError, LeftOutError, ReolinkError
from ..protocol import batch as pbatch
from ..protocol import codes, commands, parsers
from ..protocol.results import ChannelList, CommandReply, sort_ai_types
from .config import ZoneConfig
from .events import AttributeValue
from .logs import DeviceLog
from .store import AttributeStore

__all__ = ["CHANNEL_STATUS_EVERY", "Mode", "Plan", "Poller"]

Command = Mapping[str, object]
#: Refresh GetChannelstatus at least this often on NVRs and hubs (seconds).
CHANNEL_STATUS_EVERY = 60.0


#: AttributeStore memo sources: the whole answer of a plan, and GetChannelstatus.
_ANSWER = ("poller", "answer")
_STATUS = ("poller", "GetChannelstatus")
#: A zone that answered, then its motion attributes when the answer said (moving or not).
_ONLINE = (("online", True), ("error", ""))
_MOVING = (*_ONLINE, ("motion", 1), ("state", "motion"))
_STILL = (*_ONLINE, ("motion", 0), ("state", "clear"))


class Mode(enum.Enum):
    EVENTS = "GetEvents"
    MD_AI = "GetMdState+GetAiState"
    MD = "GetMdState"


@attrs.frozen(eq=False)
class Plan:
    """One cycle's commands, and their request bodies (at most 35 commands each).

    ``key`` is the value that shapes the plan (modes, availability, GetChannelstatus due):
    equal keys mean equal commands, so the encoding is made once per key.
    """

    key: Hashable
    commands: Sequence[Command]
    parts: Sequence[Tuple[Sequence[Command], bytes]]
    #: every command only reads (GetEvents, GetMdState...): safe to send again
    repeatable: bool = True


class _Shape:
    """The stamp of the channels' shape: moved by every change of a channel's mode,
    availability or failing flag (each field's ``on_setattr`` hook, so no writer has anything
    to remember). What the plan and the available channels are derived from is checked
    against it."""

    __slots__ = ("moves",)

    def __init__(self) -> None:
        self.moves = 0


def _moves_shape(channel: _Channel, attribute: Any, value: Any) -> Any:
    # attrs runs this on every assignment after __init__: a value that differs moves the stamp
    if getattr(channel, attribute.name) != value:
        channel.shape.moves += 1
    return value


@attrs.define
class _Channel:
    zone: ZoneConfig
    #: shared by the poller's channels
    shape: _Shape
    mode: Mode = attrs.field(default=Mode.EVENTS, on_setattr=_moves_shape)
    #: online and awake according to the device (GetChannelstatus), or unknown (True).
    available: bool = attrs.field(default=True, on_setattr=_moves_shape)
    #: the last poll of this channel failed with an error for the channel.
    failing: bool = attrs.field(default=False, on_setattr=_moves_shape)
    #: the zone's attributes, as the AttributeStore scopes its memos
    scopes: Tuple[Tuple[str, str]] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.scopes = (("zone", self.zone.address),)


#: (cmd, polled channel's state or None, AttributeStore memo source) of a batch's command
_Slot = Tuple[str, Optional[_Channel], Tuple[str, Optional[int]]]


class _Findings:
    """What one batch's replies said, per channel, before anything is written.

    A plain slotted class: one is made per batch that changed, and literal ``{}``/``[]`` cost
    about half of attrs' factory calls."""

    __slots__ = ("ai", "failed", "follow_up", "motion", "parsed", "status_reply", "visitor")

    def __init__(self) -> None:
        self.motion: Dict[int, bool] = {}
        #: the AI types detected (supported and alarming) per channel
        self.ai: Dict[int, FrozenSet[str]] = {}
        #: doorbell button pressed, for channels whose GetEvents says ``visitor.support`` 1
        self.visitor: Dict[int, bool] = {}
        self.failed: Dict[int, str] = {}
        self.follow_up: List[Command] = []
        self.status_reply: Optional[CommandReply] = None
        #: (memo source: (cmd, channel), reply value, the zone's scopes) of each reply
        #: parsed without error
        self.parsed: List[Tuple[Tuple[str, Optional[int]], object, Tuple[Tuple[str, str]]]] = []


def _commands_for(channel: int, mode: Mode) -> List[Command]:
    if mode is Mode.EVENTS:
        return [commands.build_get_events(channel)]
    if mode is Mode.MD_AI:
        return [commands.build_get_md_state(channel), commands.build_get_ai_state(channel)]
    return [commands.build_get_md_state(channel)]


class Poller:
    """Plans each cycle's batch and applies its replies to zone attributes."""

    def __init__(self, zones: Sequence[ZoneConfig], store: AttributeStore, log: DeviceLog) -> None:
        self._store = store
        self._log = log
        ordered = sorted(zones, key=lambda z: z.channel)
        self._shape = _Shape()
        self._channels: Dict[int, _Channel] = {
            z.channel: _Channel(zone=z, shape=self._shape) for z in ordered
        }
        #: (stamp, channel count, plan key's shape, any channel unavailable or failing,
        #: available channels): derived from the channels while the stamp and count hold
        self._shaped: Tuple[int, int, Hashable, bool, Tuple[int, ...]] = (-1, 0, (), False, ())
        self._plan: Optional[Plan] = None
        #: (cmd, polled channel's state or None, memo source) of each command of ``_plan``
        self._slots: List[_Slot] = []
        self._multichannel = False
        self._channel_status_supported = True
        self._channel_status_at: Optional[float] = None
        self._channel_status_wanted = False
        #: memo source -> the last two replies read without error and what each said: a
        #: memo of the parsers (pure functions of the reply). The client hands out the same
        #: reply object for the same entry text (pbatch.decode_batch_reusing), so a channel
        #: whose state goes back and forth is not parsed again; the replies are held here, so
        #: an identity cannot be reused by another object.
        self._readings: Dict[Tuple[str, Optional[int]], Tuple[Any, ...]] = {}

    # --- set-up -------------------------------------------------------------------------

    def configure(
        self,
        channel_count: int,
        *,
        multichannel: bool,
        channel_list: Optional[ChannelList],
        now: float,
    ) -> List[str]:
        """Apply what connect() learned; returns the addresses of zones beyond the channel count."""
        self._multichannel = multichannel
        bad = []
        for channel, state in list(self._channels.items()):
            if channel >= channel_count:
                bad.append(state.zone.address)
                del self._channels[channel]
                self._store.set(
                    "zone",
                    state.zone.address,
                    "error",
                    f"channel {channel} does not exist: the device has {channel_count} "
                    f"channel(s), addresses 0..{channel_count - 1}",
                )
                self._store.set("zone", state.zone.address, "online", False)
        if channel_list is not None:
            self.apply_channel_list(channel_list, now)
        elif multichannel:
            self._channel_status_supported = False
        return bad

    def polls(self, channel: int) -> bool:
        """Whether ``channel`` is one this driver polls (a zone's channel the device has)."""
        return channel in self._channels

    def reachable(self, channel: int) -> bool:
        """Polled, and neither offline nor asleep as far as the device said (GetChannelstatus)."""
        state = self._channels.get(channel)
        return state is not None and state.available

    def available_channels(self) -> Tuple[int, ...]:
        """The polled channels online and awake according to the device (or unknown)."""
        return self._shaped_now()[4]

    def _shaped_now(self) -> Tuple[int, int, Hashable, bool, Tuple[int, ...]]:
        """What is derived from the channels' shape, made again only when it moved (a
        channel removed by :meth:`configure` changes the count)."""
        shaped = self._shaped
        channels = self._channels
        if shaped[0] != self._shape.moves or shaped[1] != len(channels):
            states = channels.values()
            shaped = self._shaped = (
                self._shape.moves,
                len(channels),
                tuple([(s.mode, s.available) for s in states]),
                any(not s.available or s.failing for s in states),
                tuple([ch for ch, s in channels.items() if s.available]),
            )
        return shaped

    # --- one cycle ----------------------------------------------------------------------

    def plan(self, now: float) -> Plan:
        """The commands of this cycle, in channel order (the same plan while its key holds)."""
        _, _, shape, unsettled, _ = self._shaped_now()
        with_status = (
            self._multichannel
            and self._channel_status_supported
            and (
                self._channel_status_wanted
                or unsettled
                or self._channel_status_at is None
                or now - self._channel_status_at >= CHANNEL_STATUS_EVERY
            )
        )
        key = (shape, with_status)
        if self._plan is None or self._plan.key != key:
            batch: List[Command] = []
            for channel, state in self._channels.items():
                if state.available:
                    batch.extend(_commands_for(channel, state.mode))
            if with_status:
                batch.append(commands.build_get_channel_status())
            self._plan = Plan(
                key=key,
                commands=batch,
                parts=pbatch.encode_parts(batch),
                repeatable=pbatch.is_read_only(batch),
            )
            self._slots = self._slots_of(batch)
        return self._plan

    def _slots_of(self, batch: Sequence[Command]) -> List[_Slot]:
        channels = self._channels
        slots = []
        for command in batch:
            cmd = str(command.get("cmd"))
            channel = pbatch.command_channel(command)
            state = channels.get(channel) if channel is not None else None
            slots.append((cmd, state, (cmd, channel)))
        return slots

    def apply(
        self,
        batch: Sequence[Command],
        replies: Sequence[CommandReply],
        now: float,
        answer: Optional[Tuple[Hashable, Tuple[bytes, ...]]] = None,
    ) -> List[Command]:
        """Apply one batch's replies. Returns follow-up commands for this same cycle
        (the fallback commands of channels that just turned out not to support GetEvents).

        ``answer`` identifies an all-success reply by value (plan key, response bodies): the
        same answer as the last one applied changes nothing while the store says no attribute
        changed since (:meth:`AttributeStore.unchanged`).
        """
        store = self._store
        if answer is not None and store.unchanged(_ANSWER, answer):
            return []
        found = _Findings()
        plan = self._plan
        slots = self._slots if plan is not None and batch is plan.commands else None
        read = self._read_reply
        for slot, reply in zip(slots or self._slots_of(batch), replies):
            read(slot, reply, found)
        failed = found.failed
        for channel, reason in failed.items():
            self._channel_failed(channel, reason)
        if found.status_reply is not None:
            self._apply_channel_status(found.status_reply, now)
        self._write_findings(found)
        parsed = found.parsed
        if failed:
            parsed = [entry for entry in parsed if entry[0][1] not in failed]
        store.derived_each(parsed)
        store.derived(_ANSWER, answer)
        return found.follow_up

    def _read_reply(self, slot: _Slot, reply: CommandReply, found: _Findings) -> None:
        cmd, state, source = slot
        if cmd == "GetChannelstatus":
            found.status_reply = reply  # applied last: it says why a failing channel failed
            return
        if state is None:
            return
        channel = state.zone.channel
        if (
            reply.error is None
            and not state.failing
            and self._store.unchanged(source, reply.value, state.scopes)
        ):
            return
        readings = self._readings.get(source)
        reading: Any
        if readings is not None and readings[0] is reply:
            reading = readings[1]
        elif readings is not None and readings[2] is reply:
            reading = readings[3]
        else:
            try:
                reading = _reading(cmd, reply, channel)
            except ApiError as error:
                self._read_error(cmd, channel, state, error, found)
                return
            except ReolinkError as error:
                found.failed[channel] = str(error)
                return
            last = (None, None) if readings is None else readings[:2]
            self._readings[source] = (reply, reading, *last)
        if cmd == "GetEvents":
            motion, detected, visitor = reading
            found.motion[channel] = motion
            found.ai[channel] = detected
            if visitor is not None:
                found.visitor[channel] = visitor
        elif cmd == "GetMdState":
            found.motion[channel] = reading
        elif cmd == "GetAiState":
            detected, supported = reading
            found.ai[channel] = detected
            if not supported:
                # Answers, but every type has support 0: a camera without AI.
                self._log.info("channel %d: no AI type supported; polling motion only", channel)
                state.mode = Mode.MD
        found.parsed.append((source, reply.value, state.scopes))

    def _read_error(
        self, cmd: str, channel: int, state: _Channel, error: ApiError, found: _Findings
    ) -> None:
        if isinstance(error, AuthError):
            # The session's business (it logs in again or backs off), not the channel's:
            # leave the zone as it was.
            return
        if isinstance(error, LeftOutError) and cmd != "GetMdState":
            # Left out for this session (it kept timing out alone): poll the channel the
            # next cheaper way instead of calling it failed.
            self._log.info("channel %d: %s", channel, error)
            state.mode = Mode.MD_AI if cmd == "GetEvents" else Mode.MD
            if cmd == "GetEvents":
                found.follow_up.extend(_commands_for(channel, state.mode))
            return
        if not codes.is_not_supported(error) or cmd == "GetMdState":
            found.failed[channel] = str(error)
        elif cmd == "GetEvents":
            self._log.info(
                "channel %d: GetEvents not supported; polling GetMdState+GetAiState", channel
            )
            state.mode = Mode.MD_AI
            found.follow_up.extend(_commands_for(channel, state.mode))
        elif cmd == "GetAiState":
            self._log.info(
                "channel %d: no AI (GetAiState: %s); polling motion only", channel, error
            )
            state.mode = Mode.MD
            found.ai[channel] = frozenset()
        else:
            found.failed[channel] = str(error)

    def _write_findings(self, found: _Findings) -> None:
        update = self._store.update
        motion, ai, failed, visitor = found.motion, found.ai, found.failed, found.visitor
        channels = self._channels
        for channel in set(motion) | set(ai):
            if channel in failed:
                continue
            state = channels[channel]
            if state.failing:  # (the stamp ignores an equal value; this skips its hook's call)
                state.failing = False
            found_motion = motion.get(channel)
            values: Tuple[Tuple[str, AttributeValue], ...] = (
                _ONLINE if found_motion is None else _MOVING if found_motion else _STILL
            )
            if channel in ai:
                values += (("ai_detected", _ai_text(ai[channel], state.zone.ai_types)),)
            if channel in visitor:
                values += (("visitor", 1 if visitor[channel] else 0),)
            update("zone", state.zone.address, values)

    def _channel_failed(self, channel: int, reason: str) -> None:
        state = self._channels[channel]
        if not state.failing:
            self._log.info("channel %d: %s", channel, reason)
        state.failing = True
        self._channel_status_wanted = True
        self._zone_off(state, reason)

    def _zone_off(self, state: _Channel, reason: str) -> None:
        """A zone that cannot be polled is offline, and whatever was "on" goes back off."""
        address = state.zone.address
        self._store.set("zone", address, "online", False)
        self._store.set("zone", address, "error", reason)
        if self._store.get("zone", address, "motion") == 1:
            self._store.set("zone", address, "motion", 0)
            self._store.set("zone", address, "state", "clear")
        if self._store.get("zone", address, "ai_detected"):
            self._store.set("zone", address, "ai_detected", "")
        if self._store.get("zone", address, "visitor") == 1:
            self._store.set("zone", address, "visitor", 0)

    def _availability(self) -> Tuple[Tuple[bool, ...], List[Tuple[str, str]]]:
        """What a channel list is applied to: availability, and the zones it writes (the
        unavailable ones, offline), as a memo raw value and its AttributeStore scopes."""
        states = self._channels.values()
        scopes = [s.scopes[0] for s in states if not s.available]
        return tuple([s.available for s in states]), scopes

    def _apply_channel_status(self, reply: CommandReply, now: float) -> None:
        available, scopes = self._availability()
        if reply.error is None and self._store.unchanged(
            _STATUS, (reply.value, available), scopes
        ):
            self._channel_status_at = now
            self._channel_status_wanted = False
            return
        try:
            channel_list = parsers.parse_channel_status(reply)
        except ApiError as error:
            if codes.is_not_supported(error):
                self._channel_status_supported = False
            return
        except ReolinkError:
            return
        self.apply_channel_list(channel_list, now)
        available, scopes = self._availability()
        self._store.derived(_STATUS, (reply.value, available), scopes)

    def apply_channel_list(self, channel_list: ChannelList, now: float) -> None:
        self._channel_status_at = now
        self._channel_status_wanted = False
        listed = {c.channel: c for c in channel_list.channels}
        for channel, state in self._channels.items():
            status = listed.get(channel)
            available = status is None or (status.online and not status.sleeping)
            asleep = status is not None and status.sleeping
            if available != state.available:
                how = "back" if available else ("asleep" if asleep else "offline")
                self._log.info("channel %d is %s", channel, how)
            state.available = available
            # The fact as a field (``asleep``), for hosts and the CLI: never the error's words.
            self._store.set("zone", state.zone.address, "asleep", asleep)
            if not available:
                why = "channel is asleep (battery camera)" if asleep else "channel is offline"
                self._zone_off(state, why)

    def device_offline(self, reason: str) -> None:
        """The device is unreachable: every zone goes offline and back to "nothing detected"."""
        for state in self._channels.values():
            self._zone_off(state, f"device offline: {reason}")
            if self._store.get("zone", state.zone.address, "asleep"):
                # Unknown until the device lists its channels again (then written anew).
                self._store.set("zone", state.zone.address, "asleep", False)


def _reading(cmd: str, reply: CommandReply, channel: int) -> Any:
    """What a poll reply says, by its parser: GetEvents (motion, detected, visitor or None),
    GetMdState motion, GetAiState (detected, supported); None for another command."""
    if cmd == "GetEvents":
        return parsers.events_findings(reply, channel)
    if cmd == "GetMdState":
        return parsers.md_state_motion(reply)
    if cmd == "GetAiState":
        return parsers.ai_state_types(reply)
    return None


@functools.lru_cache(maxsize=256)
def _ai_text(detected: FrozenSet[str], wanted: Optional[FrozenSet[str]]) -> str:
    shown = detected if wanted is None else detected & wanted
    return ",".join(sort_ai_types(frozenset(shown)))
