"""Detection setup: the reads that decide whether events can reach the host, and what they mean.

Pure, like the rest of :mod:`reolink.protocol`: builders return commands, :func:`judge_setup`
turns one batch's replies into :class:`Finding` values (a cause and the fix in the Reolink app).
Facts and their confidence come from ``/work/shared/detection-setup.md``; the rules:

* Only conclusions the data supports. An error reply, a missing key or a shape we do not know
  gives **no finding**: it becomes an :class:`Unknown` (the driver logs it at DEBUG, ``reolink
  doctor`` shows it as ``?``), never "off".
* There is no motion on/off switch over this API: legacy ``GetAlarm``'s ``enable`` (real firmware
  sends ``1602``) is never read. A switch counts only when it is exactly 0 or 1.
* ``scheduleVersion`` cannot be trusted alone: the first read asks both generations
  (``GetMdAlarm`` and ``GetAlarm``, ``GetPushV20`` and ``GetPush``); a command the device answers
  "not support" is listed in :attr:`SetupReport.unsupported` and left out of later reads.
* 168-character schedule tables: "all zeros" vs "not", never "right now" (the day order is
  undocumented).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import AbstractSet, Dict, FrozenSet, List, Optional, Tuple

import attrs

from reolink.protocol._setup_read import (
    PushSchedule,
    Support,
    Unreadable,
    ai_area,
    ai_switches,
    events_support,
    motion_area,
    parse_push_schedule,
    pir_on,
    switch,
    value_or_empty,
)
from reolink.protocol.batch import command_channel
from reolink.protocol.codes import is_not_supported
from reolink.protocol.commands import build_get_events, build_get_md_state
from reolink.protocol.results import Ability, ChannelAbility, CommandReply, sort_ai_types
from reolink.protocol.webhook import build_get_push, build_get_push_v20

__all__ = [
    "AI_ALARM_TYPES",
    "VISITOR_MAX_INTERVAL",
    "VISITOR_MISSABLE",
    "Finding",
    "PushSchedule",
    "SetupContext",
    "SetupJudge",
    "SetupReport",
    "Unknown",
    "build_get_ai_alarm",
    "build_get_ai_cfg",
    "build_get_alarm",
    "build_get_md_alarm",
    "build_get_pir_info",
    "build_get_push_cfg",
    "judge_setup",
    "parse_push_schedule",
    "plan_setup",
    "setup_parts",
]

Command = Dict[str, object]
#: ``GetAiAlarm``'s ``ai_type`` values (digest); the driver's names are the same.
AI_ALARM_TYPES: Tuple[str, ...] = ("people", "vehicle", "dog_cat", "face", "package")
#: ``supportAi<Type>`` ability leaves per AI type.
_AI_ABILITY = {
    "people": "supportAiPeople",
    "vehicle": "supportAiVehicle",
    "dog_cat": "supportAiDogCat",
    "face": "supportAiFace",
}
#: Push schedule rows per AI type (``GetPushV20`` ``schedule.table``).
_AI_ROWS = {"people": "AI_PEOPLE", "vehicle": "AI_VEHICLE", "dog_cat": "AI_DOG_CAT"}
#: A doorbell press lasts a few seconds: slower polling can miss it.
VISITOR_MAX_INTERVAL = 4.0
#: The code of the "presses can be missed" finding (it does not hold while push works).
VISITOR_MISSABLE = "visitor_missable"


# --- builders -----------------------------------------------------------------------------------


def _command(cmd: str, param: Dict[str, object]) -> Command:
    return {"cmd": cmd, "action": 0, "param": param}


def build_get_alarm(channel: int) -> Command:
    """GetAlarm (legacy firmware): the motion alarm settings, ``scope`` = the detection area."""
    return _command("GetAlarm", {"Alarm": {"channel": channel, "type": "md"}})


def build_get_md_alarm(channel: int) -> Command:
    """GetMdAlarm (newer firmware): the motion detection area and sensitivity."""
    return _command("GetMdAlarm", {"channel": channel})


def build_get_pir_info(channel: int) -> Command:
    """GetPirInfo: the PIR sensor switch of a battery camera."""
    return _command("GetPirInfo", {"channel": channel})


def build_get_ai_cfg(channel: int) -> Command:
    """GetAiCfg: ``AiDetectType`` switches per AI type."""
    return _command("GetAiCfg", {"channel": channel})


def build_get_ai_alarm(channel: int, ai_type: str) -> Command:
    """GetAiAlarm: the detection area (``scope.area``) of one AI type."""
    return _command("GetAiAlarm", {"channel": channel, "ai_type": ai_type})


def build_get_push_cfg() -> Command:
    """GetPushCfg: the host-wide push switch (newer firmware)."""
    return _command("GetPushCfg", {})


# --- results ------------------------------------------------------------------------------------


@attrs.frozen
class Finding:
    """One conclusion: ``cause`` and ``fix``; ``channel`` None for a device-wide one.

    ``blocks_events``: with it, events of that kind never reach the host (an empty motion area);
    without it, they still arrive by polling, later or without push (push switched off).
    """

    code: str
    cause: str
    fix: str
    channel: Optional[int] = None
    blocks_events: bool = True

    @property
    def text(self) -> str:
        return f"{self.cause}: {self.fix}"


@attrs.frozen
class Unknown:
    """A fact that could not be read (error, missing key, unknown shape): no conclusion."""

    what: str
    why: str
    channel: Optional[int] = None
    #: the command whose reply could not be read, when it was one command (``"GetEvents"``...):
    #: a reader acts on this field, never on the words of ``what``.
    cmd: Optional[str] = None


@attrs.frozen
class SetupReport:
    """What one setup read concluded."""

    findings: Tuple[Finding, ...] = ()
    unknowns: Tuple[Unknown, ...] = ()
    #: facts read that are fine, as (channel or None, what): for ``reolink doctor``'s ✓ lines.
    fine: Tuple[Tuple[Optional[int], str], ...] = ()
    #: (cmd, channel or None) to leave out of later reads: answered "not support", or the
    #: legacy twin of a newer command that answered (GetAlarm after GetMdAlarm...).
    unsupported: FrozenSet[Tuple[str, Optional[int]]] = frozenset()
    #: channels whose GetEvents says ``visitor.support`` 1 (a doorbell button).
    doorbells: FrozenSet[int] = frozenset()

    def zone_text(self, channel: int) -> str:
        """The zone ``setup`` attribute: "" when nothing is wrong, else the findings' lines."""
        return "; ".join(f.text for f in self.findings if f.channel == channel)

    def device_text(self) -> str:
        """The device ``setup`` attribute (device-wide findings)."""
        return "; ".join(f.text for f in self.findings if f.channel is None)


@attrs.frozen
class SetupContext:
    """What the planner and the judge need to know besides the replies.

    ``ai_types`` maps each channel to the zone's ``ai_types`` (None = every type reported).
    ``push_active``: events already arrive by push (a doorbell press is polled at once).
    """

    channels: Tuple[int, ...]
    ai_types: Mapping[int, Optional[FrozenSet[str]]] = attrs.field(factory=dict)
    ability: Optional[Ability] = None
    model: str = ""
    #: GetDevInfo ``type`` (a Video Doorbell PoE on newer firmware says ``BELL``)
    device_type: str = ""
    status_interval: float = 5.0
    push_active: bool = False
    #: read the push settings (False: the driver's push attribute is off, nothing of push)
    push: bool = True
    skip: AbstractSet[Tuple[str, Optional[int]]] = frozenset()

    def channel_ability(self, channel: int) -> Optional[ChannelAbility]:
        return None if self.ability is None else self.ability.channel(channel)


# --- the plan -----------------------------------------------------------------------------------


def _ver(entry: Optional[ChannelAbility], key: str) -> Optional[int]:
    return None if entry is None else entry.features.get(key)


def _wanted_ai(context: SetupContext, channel: int) -> Tuple[str, ...]:
    """AI types whose area to read: the zone's, else every type the abilities say it has."""
    entry = context.channel_ability(channel)
    able = entry.ai_types if entry is not None else frozenset()
    wanted = context.ai_types.get(channel)
    types = able if wanted is None else (wanted & able)
    return sort_ai_types(frozenset(t for t in types if t in AI_ALARM_TYPES))


def plan_setup(context: SetupContext) -> List[Command]:
    """The read-only commands of one setup read, in channel order, then device-wide ones."""
    batch: List[Command] = []
    skip = context.skip
    for channel in context.channels:
        entry = context.channel_ability(channel)
        wanted: List[Command] = [build_get_events(channel)]
        if ("GetEvents", channel) in skip:
            wanted = [build_get_md_state(channel)]  # state polling that fails is a finding too
        wanted += [build_get_md_alarm(channel), build_get_alarm(channel)]
        if (_ver(entry, "mdWithPir") or 0) > 0 or (entry is not None and entry.battery):
            wanted.append(build_get_pir_info(channel))
        if entry is not None and entry.ai:
            wanted.append(build_get_ai_cfg(channel))
            if (_ver(entry, "supportAiSensitivity") or 0) > 0:
                wanted += [build_get_ai_alarm(channel, t) for t in _wanted_ai(context, channel)]
        if context.push:
            wanted += [build_get_push_v20(channel), build_get_push(channel)]
        batch += [c for c in wanted if (str(c["cmd"]), channel) not in skip]
    if context.push and ("GetPushCfg", None) not in skip:
        batch.append(build_get_push_cfg())
    return batch


def setup_parts(batch: Sequence[Command]) -> List[List[Command]]:
    """``batch`` (from :func:`plan_setup`) as the requests of one read: one channel each.

    The device-wide commands go with the last channel's part. The area grids make an NVR's
    setup reply large: 10-26 KB per channel on the emulated 8-channel NVR (an AI channel has
    an area per type), and its whole read, in requests of at most 35 commands, came back as
    94 KB and 22 KB. A reply per channel is decoded and judged (:class:`SetupJudge`) before
    the next is asked for, so a device never holds more than one channel's. A channel's
    commands are never split (the judge needs all of them at once), and a part never has more
    than :data:`~reolink.protocol.batch.MAX_BATCH` commands (a channel asks at most 12, and
    GetPushCfg goes with the last).
    """
    parts: List[List[Command]] = []
    last: object = _NO_CHANNEL
    for command in batch:
        channel = _setup_channel(command)
        if channel is None and parts:
            parts[-1].append(command)
        elif channel != last:  # (always so for the first command: last starts as no channel)
            parts.append([command])
            last = channel
        else:
            parts[-1].append(command)
    return parts


# --- judging ------------------------------------------------------------------------------------

_APP_PUSH = "Settings > Push"
#: GetPushV20 / GetPush ``enable`` 0, or GetPushCfg's host-wide switch 0.
_PUSH_OFF = Finding(
    "push_off",
    "push is switched off on the device: no push notification and no webhook call on events "
    "(the driver finds them by polling)",
    f"switch push on in the Reolink app ({_APP_PUSH})",
    None,
    blocks_events=False,
)


class _Judge:
    def __init__(self, context: SetupContext) -> None:
        self.context = context
        self.findings: List[Finding] = []
        self.unknowns: List[Unknown] = []
        self.fine: List[Tuple[Optional[int], str]] = []
        self.unsupported: set[Tuple[str, Optional[int]]] = set()
        self.doorbells: set[int] = set()

    def find(self, finding: Finding) -> None:
        if all((f.code, f.channel) != (finding.code, finding.channel) for f in self.findings):
            self.findings.append(finding)

    def unknown(
        self, channel: Optional[int], what: str, why: str, cmd: Optional[str] = None
    ) -> None:
        self.unknowns.append(Unknown(what=what, why=why, channel=channel, cmd=cmd))

    def channel(self, channel: int, replies: Dict[str, List[CommandReply]]) -> None:
        context = self.context
        entry = context.channel_ability(channel)
        wanted = context.ai_types.get(channel)
        support = self._state(channel, replies)
        self._motion(channel, replies)
        pir = replies.get("GetPirInfo", [])
        for reply in pir:
            self._pir(channel, reply)
        supported = self._ai_support(channel, entry, support, wanted)
        for reply in replies.get("GetAiCfg", []):
            self._ai_switches(channel, reply, supported, wanted)
        for reply in replies.get("GetAiAlarm", []):
            self._ai_area(channel, reply, supported)
        push = [parse_push_schedule(r, "GetPushV20") for r in replies.get("GetPushV20", [])]
        push += [parse_push_schedule(r, "GetPush") for r in replies.get("GetPush", [])]
        for schedule in push:
            self._push(channel, schedule, wanted, supported)
        self._doorbell(channel, support, push, replies)

    # each check: a finding, a fine fact, or an unknown

    def _state(
        self, channel: int, replies: Dict[str, List[CommandReply]]
    ) -> Optional[Support]:
        for cmd in ("GetEvents", "GetMdState"):
            for reply in replies.get(cmd, []):
                code = _rsp_code(reply)
                if code == -3:
                    # Old NVRs answer state polls with -3 "check err" for such a channel (R).
                    self.find(Finding(
                        "state_unreadable",
                        f"this device cannot report motion for channel {channel} over the API "
                        f"({cmd} answers -3 check err)",
                        "update the firmware of the camera and the NVR; until then this zone "
                        "never sees an event",
                        channel,
                    ))
                    return None
                if cmd == "GetEvents":
                    try:
                        return events_support(reply)
                    except Unreadable as why:
                        self.unknown(
                            channel, "detection support (GetEvents)", str(why), cmd="GetEvents"
                        )
        return None

    def _motion(self, channel: int, replies: Dict[str, List[CommandReply]]) -> None:
        whys = []
        asked = [("GetMdAlarm", r) for r in replies.get("GetMdAlarm", [])]
        asked += [("GetAlarm", r) for r in replies.get("GetAlarm", [])]
        for cmd, reply in asked:
            try:
                has_area = motion_area(reply, cmd)
            except Unreadable as why:
                whys.append(str(why))
                continue
            if has_area:
                self.fine.append((channel, "motion detection area is set"))
            else:
                self.find(Finding(
                    "motion_area_empty",
                    "motion area is empty",
                    "draw a detection area in the Reolink app (Detection > Motion > Zone)",
                    channel,
                ))
            return
        if whys:
            self.unknown(channel, "motion detection area", "; ".join(whys))

    def _pir(self, channel: int, reply: CommandReply) -> None:
        try:
            on = pir_on(reply)
        except Unreadable as why:
            self.unknown(channel, "PIR sensor switch", str(why), cmd="GetPirInfo")
            return
        if on:
            self.fine.append((channel, "PIR sensor is on"))
        else:
            self.find(Finding(
                "pir_off",
                "PIR sensor is off (this battery camera detects no motion without it)",
                "switch PIR on in the Reolink app (Settings > Detection > PIR)",
                channel,
            ))

    def _ai_support(
        self,
        channel: int,
        entry: Optional[ChannelAbility],
        support: Optional[Support],
        wanted: Optional[FrozenSet[str]],
    ) -> FrozenSet[str]:
        """The AI types the channel can detect (as far as known); finds unsupported wanted ones."""
        able = {t for t, on in (support.ai if support else {}).items() if on}
        cannot = {t for t, on in (support.ai if support else {}).items() if not on}
        if entry is not None:
            for name, key in _AI_ABILITY.items():
                ver = entry.features.get(key)
                if ver is not None and ver > 0:
                    able.add(name)
                elif ver == 0 and name not in able:
                    cannot.add(name)
        cannot -= able
        if wanted:
            missing = sort_ai_types(frozenset(wanted & cannot))
            if missing:
                can = ", ".join(sort_ai_types(frozenset(able))) or "no AI type"
                self.find(Finding(
                    "ai_type_unsupported",
                    f"ai_types asks for {', '.join(missing)}, which this channel cannot detect "
                    f"(it can: {can})",
                    "remove it from the zone's ai_types",
                    channel,
                ))
            elif wanted <= able:
                types = ", ".join(sort_ai_types(wanted))
                self.fine.append((channel, f"the channel detects {types}"))
        return frozenset(able)

    def _ai_switches(
        self,
        channel: int,
        reply: CommandReply,
        supported: FrozenSet[str],
        wanted: Optional[FrozenSet[str]],
    ) -> None:
        try:
            switches = ai_switches(reply)
        except Unreadable as why:
            self.unknown(channel, "AI detection switches", str(why))
            return
        # The keys appear even for unsupported types: only supported ones mean anything.
        checked = [t for t in sort_ai_types(supported) if wanted is None or t in wanted]
        off = [t for t in checked if switches.get(t) is False]
        if off:
            self.find(Finding(
                "ai_type_off",
                f"AI detection of {', '.join(off)} appears switched off (GetAiCfg)",
                "switch it on in the Reolink app (Settings > Detection > Smart detection)",
                channel,
            ))
        elif any(t in switches for t in checked):
            self.fine.append((channel, "AI detection switches are on"))

    def _ai_area(self, channel: int, reply: CommandReply, supported: FrozenSet[str]) -> None:
        ai_type = ""
        raw = value_or_empty(reply).get("AiAlarm")
        if isinstance(raw, Mapping) and isinstance(raw.get("ai_type"), str):
            ai_type = str(raw["ai_type"])
        try:
            has_area = ai_area(reply)
        except Unreadable as why:
            self.unknown(channel, f"AI detection area {ai_type}".strip(), str(why))
            return
        if not ai_type or ai_type not in supported:
            return
        if has_area:
            self.fine.append((channel, f"{ai_type} detection area is set"))
        else:
            self.find(Finding(
                f"ai_area_empty_{ai_type}",
                f"{ai_type} detection area is empty: {ai_type} can never trigger",
                "draw the area in the Reolink app (Settings > Detection > Smart detection > "
                "Zone)",
                channel,
            ))

    def _push(
        self,
        channel: int,
        schedule: PushSchedule,
        wanted: Optional[FrozenSet[str]],
        supported: FrozenSet[str],
    ) -> None:
        if schedule.enable is False:
            self.find(_PUSH_OFF)
        elif schedule.enable:
            self.fine.append((None, "push is switched on"))
        if schedule.schedule_enable is False:
            self.find(Finding(
                "push_schedule_off",
                "the push schedule of this channel is switched off: no push and no webhook "
                "call for its events",
                f"switch the channel's push schedule on in the Reolink app ({_APP_PUSH})",
                channel,
                blocks_events=False,
            ))
        rows = ["MD", ""] + [_AI_ROWS[t] for t in sort_ai_types(supported) if t in _AI_ROWS]
        if wanted is not None:
            rows = ["MD", ""] + [_AI_ROWS[t] for t in sort_ai_types(wanted) if t in _AI_ROWS]
        empty = [r for r in rows if schedule.rows.get(r) is False]
        if empty:
            names = ", ".join(r or "the schedule" for r in empty)
            self.find(Finding(
                "push_schedule_empty",
                f"the push schedule has no hour on for {names}: no push and no webhook call "
                "for those events",
                f"tick the hours in the Reolink app ({_APP_PUSH} > Schedule)",
                channel,
                blocks_events=False,
            ))
        elif any(r in schedule.rows for r in rows):
            self.fine.append((channel, "push schedule has hours on"))

    def _doorbell(
        self,
        channel: int,
        support: Optional[Support],
        push: Sequence[PushSchedule],
        replies: Dict[str, List[CommandReply]],
    ) -> None:
        pressable = support is not None and support.visitor is True
        if pressable:
            self.doorbells.add(channel)
        doorbell = (
            pressable
            or "doorbell" in self.context.model.lower()
            or self.context.device_type.upper() == "BELL"
            or any("VISITOR" in s.rows for s in push)
        )
        if not doorbell:
            return
        events = replies.get("GetEvents", [])
        no_events = (
            ("GetEvents", channel) in self.context.skip
            or any(r.error is not None and is_not_supported(r.error) for r in events)
        )
        if no_events:
            self.find(Finding(
                "visitor_not_pollable",
                "doorbell presses cannot be polled: this firmware has no GetEvents",
                "update the doorbell's firmware (presses reach the Reolink app only)",
                channel,
            ))
        elif (
            pressable
            and self.context.status_interval > VISITOR_MAX_INTERVAL
            and not self.context.push_active
        ):
            self.find(Finding(
                VISITOR_MISSABLE,
                f"a doorbell press lasts a few seconds and status_interval is "
                f"{self.context.status_interval * 1000:.0f} ms without push: presses can be "
                "missed",
                "set status_interval to 4000 or less, or let push work (see event_source)",
                channel,
                blocks_events=False,
            ))

    def device(self, replies: Dict[str, List[CommandReply]]) -> None:
        for reply in replies.get("GetPushCfg", []):
            cfg = value_or_empty(reply).get("PushCfg")
            try:
                if not isinstance(cfg, Mapping):
                    raise Unreadable("GetPushCfg: PushCfg is not an object")
                on = switch(cfg.get("enable"), "GetPushCfg PushCfg.enable")
            except Unreadable as why:
                self.unknown(None, "host-wide push switch", str(why), cmd="GetPushCfg")
                continue
            if not on:
                self.find(_PUSH_OFF)
        ability = self.context.ability
        rules = ability is not None and (
            ability.supports("supportIfttt")
            or any((c.features.get("supportIfttt") or 0) > 0 for c in ability.channels)
        )
        if rules:
            self.find(Finding(
                "rules_unreadable",
                "this firmware runs alarm actions as rules the API cannot read: email, FTP, "
                "recording and siren actions were not checked",
                "check the rules in the Reolink app",
                None,
                blocks_events=False,
            ))


def _rsp_code(reply: CommandReply) -> Optional[int]:
    code = getattr(reply.error, "rsp_code", None)
    return code if isinstance(code, int) else None


#: A newer command that answered makes its legacy twin unnecessary (probe once, keep what works).
_TWINS = {"GetMdAlarm": "GetAlarm", "GetPushV20": "GetPush"}


def _setup_channel(command: Mapping[str, object]) -> Optional[int]:
    """The channel a setup command reads (None: device-wide); GetAlarm nests it."""
    channel = command_channel(command)
    param = command.get("param")
    inner = param.get("Alarm") if isinstance(param, Mapping) else None
    if channel is None and isinstance(inner, Mapping):  # GetAlarm: {"Alarm": {"channel"}}
        channel = command_channel({"param": inner})
    return channel


#: "no part yet" for :func:`setup_parts` (None is the device-wide "channel").
_NO_CHANNEL = object()


class SetupJudge:
    """One setup read judged part by part (:func:`setup_parts`), as it arrives.

    Each :meth:`add` judges the channels of its part at once, so their replies can go; the
    device-wide replies (small) are kept for :meth:`report`. Parts must come in the plan's
    channel order with each channel whole (what :func:`setup_parts` gives), so that the report
    is exactly :func:`judge_setup`'s on the whole batch: a channel of the context that no part
    asks about is judged with no replies in its place in that order.
    """

    def __init__(self, context: SetupContext) -> None:
        self._judge = _Judge(context)
        #: index in context.channels of the next channel to judge
        self._next = 0
        self._device: Dict[str, List[CommandReply]] = {}

    def add(
        self, commands: Sequence[Mapping[str, object]], replies: Sequence[CommandReply]
    ) -> None:
        """Judge one part: ``commands`` and their ``replies``, in order (a shorter answer
        concludes about the commands it answered only).

        ValueError (nothing judged) when a channel of the part was already judged (a part out
        of order, or a channel split over two parts): a caller's mistake, never a device's.
        """
        judge = self._judge
        channels = judge.context.channels
        by_channel: Dict[Optional[int], Dict[str, List[CommandReply]]] = {}
        unsupported: set[Tuple[str, Optional[int]]] = set()
        for command, reply in zip(commands, replies):
            cmd = str(command.get("cmd"))
            channel = _setup_channel(command)
            if channel is not None and channel in channels[: self._next]:
                raise ValueError(
                    f"setup replies of channel {channel} after that channel was judged: "
                    "parts must come in channel order, each channel whole (setup_parts)"
                )
            if reply.error is not None and is_not_supported(reply.error):
                unsupported.add((cmd, channel))
            elif reply.error is None and cmd in _TWINS:
                unsupported.add((_TWINS[cmd], channel))
            by_channel.setdefault(channel, {}).setdefault(cmd, []).append(reply)
        judge.unsupported |= unsupported
        for cmd, found in by_channel.pop(None, {}).items():
            self._device.setdefault(cmd, []).extend(found)
        last = max((channels.index(c) for c in by_channel if c in channels), default=-1)
        self._judge_through(last, by_channel)

    def _judge_through(
        self, last: int, by_channel: Mapping[Optional[int], Dict[str, List[CommandReply]]]
    ) -> None:
        """Judge the context's channels not judged yet, in order, through index ``last``;
        those ``by_channel`` does not hold have no replies (the plan asked nothing of them)."""
        judge = self._judge
        channels = judge.context.channels
        while self._next <= last:
            channel = channels[self._next]
            judge.channel(channel, by_channel.get(channel, {}))
            self._next += 1

    def report(self) -> SetupReport:
        """What the read concluded, once, after its last part (the channels no part asked
        about, and the device-wide replies, are judged now)."""
        judge = self._judge
        self._judge_through(len(judge.context.channels) - 1, {})
        judge.device(self._device)
        return SetupReport(
            findings=tuple(judge.findings),
            unknowns=tuple(judge.unknowns),
            fine=tuple(dict.fromkeys(judge.fine)),
            unsupported=frozenset(judge.unsupported),
            doorbells=frozenset(judge.doorbells),
        )


def judge_setup(
    context: SetupContext,
    batch: Sequence[Mapping[str, object]],
    replies: Sequence[CommandReply],
) -> SetupReport:
    """The findings of one setup read (``batch`` from :func:`plan_setup`, its ``replies``).

    Never raises for what a device sends: what cannot be read becomes an :class:`Unknown`.
    """
    judge = SetupJudge(context)
    judge.add(batch, replies)
    return judge.report()
