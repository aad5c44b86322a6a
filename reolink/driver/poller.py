"""What to poll each cycle, and what the answers change. No I/O: the device loop sends.

Per channel the poller keeps a mode, chosen by probing (a ``-9 not support`` answer is swallowed
once and the command is dropped from later cycles for that channel):

* ``EVENTS``: one GetEvents (motion and AI in one reply, newer firmware);
* ``MD_AI``: GetMdState + GetAiState (the V8 way);
* ``MD``: GetMdState alone (no AI on this channel).

Attributes reach the host through :class:`AttributeStore`, which writes a value only when it
changes, so automations see each edge once.
"""

from __future__ import annotations

import enum
import logging
from typing import Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

import attrs

from ..errors import ApiError, AuthError, LeftOutError, ReolinkError
from ..protocol import codes, commands, parsers
from ..protocol.results import AiState, ChannelList, CommandReply, sort_ai_types
from .config import ZoneConfig
from .events import AttributeValue

__all__ = ["AttributeStore", "Mode", "Poller"]

log = logging.getLogger(__name__)

Command = Mapping[str, object]
Emit = Callable[[str, Optional[str], str, AttributeValue], None]
#: Refresh GetChannelstatus at least this often on NVRs and hubs (seconds).
CHANNEL_STATUS_EVERY = 60.0


class Mode(enum.Enum):
    EVENTS = "GetEvents"
    MD_AI = "GetMdState+GetAiState"
    MD = "GetMdState"


class AttributeStore:
    """Last written value of every attribute; ``set`` emits only on change."""

    def __init__(
        self, emit: Callable[[str, Optional[str], str, AttributeValue, AttributeValue], None]
    ) -> None:
        self._values: Dict[Tuple[str, Optional[str], str], AttributeValue] = {}
        self._emit = emit

    def get(self, target: str, address: Optional[str], name: str) -> AttributeValue:
        return self._values.get((target, address, name))

    def set(self, target: str, address: Optional[str], name: str, value: AttributeValue) -> None:
        key = (target, address, name)
        if (
            key in self._values
            and self._values[key] == value
            and type(self._values[key]) is type(value)
        ):
            return
        previous = self._values.get(key)
        self._values[key] = value
        self._emit(target, address, name, value, previous)


@attrs.define
class _Channel:
    zone: ZoneConfig
    mode: Mode = Mode.EVENTS
    #: online and awake according to the device (GetChannelstatus), or unknown (True).
    available: bool = True
    #: the last poll of this channel failed with an error for the channel.
    failing: bool = False


class Poller:
    """Plans each cycle's batch and applies its replies to zone attributes."""

    def __init__(self, zones: Sequence[ZoneConfig], store: AttributeStore) -> None:
        self._store = store
        ordered = sorted(zones, key=lambda z: z.channel)
        self._channels: Dict[int, _Channel] = {z.channel: _Channel(zone=z) for z in ordered}
        self._plan: List[Command] = []
        self._plan_key: object = None
        self._last_replies: Optional[Sequence[CommandReply]] = None
        self._multichannel = False
        self._channel_status_supported = True
        self._channel_status_at: Optional[float] = None
        self._channel_status_wanted = False
        self._channel_status_value: object = None
        # The last successful reply value per (cmd, channel). Most cycles nothing changes:
        # an equal value means equal attributes, so parsing and writing are skipped.
        self._last_value: Dict[Tuple[str, int], object] = {}

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
                self._store.set("zone", state.zone.address, "online", 0)
        if channel_list is not None:
            self.apply_channel_list(channel_list, now)
        elif multichannel:
            self._channel_status_supported = False
        return bad

    # --- one cycle ----------------------------------------------------------------------

    def plan(self, now: float) -> List[Command]:
        """The commands of this cycle, in channel order.

        The same list object comes back while nothing that shapes it changes (modes,
        availability, whether GetChannelstatus is due), so the caller may cache its encoding.
        Callers must not modify it.
        """
        states = self._channels.values()
        with_status = (
            self._multichannel
            and self._channel_status_supported
            and (
                self._channel_status_wanted
                or any(not s.available or s.failing for s in states)
                or self._channel_status_at is None
                or now - self._channel_status_at >= CHANNEL_STATUS_EVERY
            )
        )
        key = (tuple((s.mode, s.available) for s in states), with_status)
        if key != self._plan_key:
            batch: List[Command] = []
            for channel, state in self._channels.items():
                if state.available:
                    batch.extend(self._commands_for(channel, state.mode))
            if with_status:
                batch.append(commands.build_get_channel_status())
            self._plan, self._plan_key = batch, key
        return self._plan

    @staticmethod
    def _commands_for(channel: int, mode: Mode) -> List[Command]:
        if mode is Mode.EVENTS:
            return [commands.build_get_events(channel)]
        if mode is Mode.MD_AI:
            return [commands.build_get_md_state(channel), commands.build_get_ai_state(channel)]
        return [commands.build_get_md_state(channel)]

    def apply(
        self, batch: Sequence[Command], replies: Sequence[CommandReply], now: float
    ) -> List[Command]:
        """Apply one batch's replies. Returns follow-up commands for this same cycle
        (the fallback commands of channels that just turned out not to support GetEvents)."""
        if replies is self._last_replies:
            # The client hands back the very same replies when the device's answer did not
            # change by a byte; nothing was forgotten since, so there is nothing to write.
            return []
        self._last_replies = replies
        follow_up: List[Command] = []
        motion: Dict[int, bool] = {}
        ai: Dict[int, AiState] = {}
        failed: Dict[int, str] = {}
        status_reply: Optional[CommandReply] = None
        for command, reply in zip(batch, replies):
            cmd = str(command.get("cmd"))
            param = command.get("param")
            channel = param.get("channel") if isinstance(param, dict) else None
            if cmd == "GetChannelstatus":
                status_reply = reply  # applied last: it says why a failing channel failed
                continue
            if not isinstance(channel, int) or channel not in self._channels:
                continue
            state = self._channels[channel]
            if reply.error is None and not state.failing:
                key = (cmd, channel)
                if self._last_value.get(key) == reply.value:
                    continue
                self._last_value[key] = reply.value
            try:
                if cmd == "GetEvents":
                    events = parsers.parse_events(reply, channel)
                    motion[channel] = events.motion
                    ai[channel] = events.ai
                elif cmd == "GetMdState":
                    motion[channel] = parsers.parse_md_state(reply, channel).motion
                elif cmd == "GetAiState":
                    ai[channel] = parsers.parse_ai_state(reply, channel)
                    if not ai[channel].supported:
                        # Answers, but every type has support 0: a camera without AI.
                        log.info("channel %d: no AI type supported; polling motion only", channel)
                        state.mode = Mode.MD
            except ApiError as error:
                if isinstance(error, AuthError):
                    # The session's business (it logs in again or backs off), not the
                    # channel's: leave the zone as it was.
                    continue
                if isinstance(error, LeftOutError) and cmd != "GetMdState":
                    # Left out for this session (it kept timing out alone): poll the channel
                    # the next cheaper way instead of calling it failed.
                    log.info("channel %d: %s", channel, error)
                    state.mode = Mode.MD_AI if cmd == "GetEvents" else Mode.MD
                    if cmd == "GetEvents":
                        follow_up.extend(self._commands_for(channel, state.mode))
                    continue
                if codes.is_not_supported(error):
                    if cmd == "GetEvents":
                        log.info(
                            "channel %d: GetEvents not supported; polling GetMdState+GetAiState",
                            channel,
                        )
                        state.mode = Mode.MD_AI
                        follow_up.extend(self._commands_for(channel, state.mode))
                    elif cmd == "GetAiState":
                        log.info(
                            "channel %d: no AI (GetAiState: %s); polling motion only",
                            channel,
                            error,
                        )
                        state.mode = Mode.MD
                        ai[channel] = AiState(
                            channel=channel, detected=frozenset(), supported=frozenset()
                        )
                    else:
                        failed[channel] = str(error)
                else:
                    failed[channel] = str(error)
            except ReolinkError as error:
                failed[channel] = str(error)
        for channel, reason in failed.items():
            self._channel_failed(channel, reason)
        if status_reply is not None:
            self._apply_channel_status(status_reply, now)
        for channel in set(motion) | set(ai):
            if channel in failed:
                continue
            state = self._channels[channel]
            state.failing = False
            address = state.zone.address
            self._store.set("zone", address, "online", 1)
            self._store.set("zone", address, "error", "")
            if channel in motion:
                self._store.set("zone", address, "motion", 1 if motion[channel] else 0)
                self._store.set("zone", address, "state", "motion" if motion[channel] else "clear")
            if channel in ai:
                self._store.set(
                    "zone",
                    address,
                    "ai_detected",
                    _ai_text(ai[channel].detected, state.zone.ai_types),
                )
        return follow_up

    def _channel_failed(self, channel: int, reason: str) -> None:
        state = self._channels[channel]
        if not state.failing:
            log.info("channel %d: %s", channel, reason)
        state.failing = True
        self._channel_status_wanted = True
        self._zone_off(state, reason)

    def _zone_off(self, state: _Channel, reason: str) -> None:
        """A zone that cannot be polled is offline, and whatever was "on" goes back off."""
        self._forget(state.zone.channel)
        address = state.zone.address
        self._store.set("zone", address, "online", 0)
        self._store.set("zone", address, "error", reason)
        if self._store.get("zone", address, "motion") == 1:
            self._store.set("zone", address, "motion", 0)
            self._store.set("zone", address, "state", "clear")
        if self._store.get("zone", address, "ai_detected"):
            self._store.set("zone", address, "ai_detected", "")

    def _forget(self, channel: int) -> None:
        """Drop the remembered replies of a channel: its next answers are applied in full."""
        self._last_replies = None
        for cmd in ("GetEvents", "GetMdState", "GetAiState"):
            self._last_value.pop((cmd, channel), None)

    def _apply_channel_status(self, reply: CommandReply, now: float) -> None:
        if reply.error is None and reply.value == self._channel_status_value:
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
        self._channel_status_value = reply.value
        self.apply_channel_list(channel_list, now)

    def apply_channel_list(self, channel_list: ChannelList, now: float) -> None:
        self._channel_status_at = now
        self._channel_status_wanted = False
        listed = {c.channel: c for c in channel_list.channels}
        for channel, state in self._channels.items():
            status = listed.get(channel)
            available = status is None or (status.online and not status.sleeping)
            if available != state.available:
                log.info(
                    "channel %d is %s",
                    channel,
                    "back"
                    if available
                    else ("asleep" if status and status.sleeping else "offline"),
                )
            state.available = available
            if not available:
                why = (
                    "channel is asleep (battery camera)"
                    if status and status.sleeping
                    else "channel is offline"
                )
                self._zone_off(state, why)

    def device_offline(self, reason: str) -> None:
        """The device is unreachable: every zone goes offline and back to "nothing detected"."""
        for state in self._channels.values():
            self._zone_off(state, f"device offline: {reason}")


def _ai_text(detected: FrozenSet[str], wanted: Optional[FrozenSet[str]]) -> str:
    shown = detected if wanted is None else detected & wanted
    return ",".join(sort_ai_types(frozenset(shown)))
