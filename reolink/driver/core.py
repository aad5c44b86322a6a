"""The driver core: a pure state machine fed ``(now, event)``, returning actions.

It does no I/O, starts no thread, reads no clock and draws no randomness: the device loop
(:mod:`reolink.driver.loop`) owns the transport and the clock, feeds each
:mod:`~reolink.driver.messages` event in, and obeys the actions that come back (send this
request, hand these attribute changes to the host, resolve or fail this command, wait until t,
show the device offline, finish).

Where the driver stands is one :class:`DevicePhase`, moved only through one transition table;
the comment above it states every rule of a turn (what runs next, when writes reach the host,
how a turn ends). Read it first.

Inside, the work is a sequence of *flows* - generators that yield the requests they need
(:mod:`reolink.driver.client`) - one at a time: a host command, a due automatic PTZ Stop, or the
step the session asks for (:meth:`~reolink.protocol.session.Session.next_step`: identify, renew
the token, poll, or show offline). Every session rule lives in the session; what a command
means for the driver (a PTZ Stop due later, a reboot to expect) comes back from the command as
data (:mod:`reolink.driver.host_commands` effects) and is applied here. Attribute writes collect in
the :class:`~reolink.driver.store.AttributeStore` and reach the host once, with their final
value, when the flow that wrote them ends.

Push (:mod:`reolink.driver.pushcontrol` decides, :mod:`reolink.driver.pushflow` talks to the
device): once the device is identified, the core asks the loop for a listener URL (:class:`Listen`),
registers the webhook and asks for the device's test call; a
:class:`~reolink.driver.messages.PushWake` makes a poll due at once (coalesced), and the
``event_source`` / ``event_source_reason`` device attributes say whether push or polling finds
events, and why. disconnect() frees our slots before Logout.

Detection setup (:mod:`reolink.driver.setupcheck`): when nothing else is due, one read-only
batch one status_interval after connect and every 30 minutes writes the zone/device ``setup``
attributes; it never fails the device.

Why it is built this way (the decisions a change must keep):

* **Pure, fed (now, event), returning actions** (sans-I/O, like h11's Connection). The core
  never waits, so nothing in it can hang or race; the loop that owns the socket and the clock
  stays a thin obeyer. Tests drive it with a fake clock and a scripted device (or the
  emulator's synchronous app): an hour of back-off runs in milliseconds, every request is
  counted exactly, and the same core is what runs in the field.
* **One phase table, plus named guards.** "What happens next" used to be spread over flags set
  in one method and read in three others; a reader had to hold all of them. Now where the
  driver stands is one :class:`DevicePhase` that moves only through ``_TRANSITIONS``, and the
  few facts that hold across phases (a hold, a reboot grace, a GetAbility due...) are the
  named guards of :class:`Guards`. The header comment below states every rule, a phase
  change is logged, and tests/test_core_phases.py checks each row: a new rule is a new row
  and a new test, never a new flag.
* **Time is applied once, at the top of handle().** ``Session.tick(now)`` and
  ``PushControl.tick(now)`` run before the event is looked at; after that, within the turn,
  time stands still. So the questions the core asks while it decides (is a poll due? may a
  request go out? when to wake?) all see one state, and asking one twice - ``_next_flow``
  and ``_next_wakeup`` ask the session the same thing - or in another order cannot change
  the answer. A deadline that passed between two questions of one turn would otherwise make
  the turn contradict itself (run nothing, yet wake at a time already past: a spin).
* **Queries are pure.** Every method of the session and of push control that answers a
  question changes nothing; state moves only through inputs (``on_*``, ``tick``) and through
  the few methods named for taking work (``take_listen``, ``take_probe``,
  :meth:`Guards.take_ability_recheck`). A test or a log line can ask anything without
  disturbing what happens next.
* **Flows are generators.** A sequence of requests (Login, GetDevInfo, GetAbility, the first
  poll) reads top to bottom like blocking code, yet the core keeps the I/O: a flow yields a
  :class:`Send` or a :class:`Pause` and is resumed with the outcome. One runs at a time.
* **Facts travel as data.** What a command means for the driver comes back as effects
  (:mod:`reolink.driver.host_commands`), errors carry fields (``may_have_run``,
  ``request_sent``, ``channel``, ``asleep``), and inputs from outside arrive as event values
  (the clock, a nonce, the listener's live URLs). Nothing is learned by reading a message.
"""

from __future__ import annotations

import collections
import enum
import logging
from typing import Any, Deque, Dict, List, Optional, Sequence, Tuple, Union

import attrs

from ..errors import (
    AuthError,
    CommandTimeout,
    NotConnected,
    ReolinkError,
    TransportError,
)
from ..protocol.pushschedule import PushSchedule
from ..protocol.session import Session, Step, plain_members
from ..protocol.webhook import supports_webhook
from . import host_commands, pushflow
from .client import DeviceClient, Flow, Pause
from .config import DeviceConfig
from .logs import DeviceLog
from .messages import (
    Action,
    CommandQueued,
    Disconnect,
    Emit,
    Event,
    Fail,
    Finished,
    Listen,
    ListenFailed,
    Listening,
    LiveUrls,
    Offline,
    Online,
    Probe,
    Probed,
    PushWake,
    Ready,
    Replied,
    Resolve,
    Send,
    SendFailed,
    Start,
    Tick,
    WaitUntil,
)
from .poller import Poller
from .pushcontrol import REASON_FAILED, PushControl
from .pushcontrol import Phase as PushPhase
from .setupcheck import SetupCheck
from .store import AttributeStore
from .timing import Timing

__all__ = ["DevicePhase", "DriverCore", "Guards", "Input", "next_phase"]

log = logging.getLogger(__name__)

#: Time left for the final PTZ Stops and Logout after disconnect(): the thread must end within
#: request_timeout + 1 s of it, and closing takes a moment too.
SHUTDOWN_SLACK = 0.7

# ================================================================================================
# The core's sequencing: all the rules live here.
#
# A device's driver is, at any moment, in one *phase*: what the host has been shown and whether
# the device is known (identified). The phase moves only on the *inputs* below, through the
# table _TRANSITIONS - nothing else changes it, and every phase change is logged (debug,
# "phase online -> offline (failure shown)") and readable as DriverCore.phase:
#
#     CONNECTING --identified--> ONLINE --failure shown--> OFFLINE --answered--> ONLINE
#         |                           \--reboot requested--> CONNECTING
#         \--failure shown--> UNREACHED --identified--> OFFLINE --reboot requested--> UNREACHED
#     any of those four --disconnect--> STOPPING --wound down--> FINISHED
#
# (A reboot request then shows "rebooting (requested)": a failure shown, so UNREACHED.)
#
# * CONNECTING: not identified, and no failure shown (the start; or back from UNREACHED by an
#   answer without identification, which no flow does today).
# * UNREACHED: not identified, the device shown offline (the first identification failed, or a
#   reboot was requested: identification is forgotten and "rebooting (requested)" shown).
# * ONLINE: identified (GetDevInfo, GetAbility... known), the last exchange went through.
# * OFFLINE: identified, but a failure was shown; the next answer shows the device online again
#   (an Online action), and push is registered and verified again - after every outage.
# * STOPPING: disconnect() came: queued commands fail, the flow in flight is closed, and the
#   shutdown flow runs (PTZ stops, free our push slots, Logout) within request_timeout + slack.
# * FINISHED: that flow ended: a Finished action on every event from now on.
#
# A pair the table does not list leaves the phase as it is (for example a failure shown again
# while OFFLINE, or anything after disconnect but the wind-down). tests/test_core_phases.py
# checks the table row by row.
#
# Each call of DriverCore.handle(now, event) is one *turn*, and a turn follows these rules:
#
# 1. Time first. The session and push control apply ``now`` once, before the event is looked
#    at (Session.tick, PushControl.tick); every query after that is pure.
# 2. The event. A Replied / SendFailed resumes the one flow waiting for it; a Tick at or after
#    a Pause resumes the paused flow; a queued command joins the queue; Disconnect starts the
#    wind-down; push events (PushWake, Listening, ListenFailed, Probed) go to push control.
# 3. One flow at a time. A *flow* is a generator yielding the requests it needs (a Send) or a
#    Pause; at most one runs, and at most one Send is outstanding.
# 4. What runs next, when no flow runs (and the phase is not STOPPING / FINISHED), in order:
#    a queued command (one whose deadline passed fails with CommandTimeout instead); a due
#    automatic PTZ Stop; then *one session step per turn* - the session says (Session.next_step):
#    identify, renew the token, poll, show offline, or idle. Idle, once identified, leaves room
#    for the detection-setup read, then push work (a listener URL, probes, freeing slots,
#    registration). A flow that ended in this turn counts as the turn's step: what is due next
#    is looked at on the next turn, never in a loop within one.
# 5. A driver bug inside a flow (an unexpected exception) is logged, ends that flow, and holds
#    every session step back one status_interval; the device goes on.
# 6. Writes reach the host when a flow ends: the store's changes go out as one Emit, first in
#    the turn's actions, each attribute once with its final value.
# 7. The turn ends with exactly one of: a Send (feed its outcome back), a WaitUntil (a Pause's
#    time, else the earliest of the next poll, the session's next timed change, a PTZ Stop,
#    the setup read, push work - never before a hold), or Finished.
# 8. Nothing is read from outside: the clock arrives as ``now``; randomness as
#    CommandQueued.nonce; the push listener's live URLs as Listening.live (a value, asked for
#    again before every registration). tests/test_layers.py checks that nothing the core
#    imports reaches a clock, socket, thread, queue, randomness or os.
#
# Besides the phase, exactly this *named state* decides what happens next. Nothing else in
# DriverCore does: its other attributes are the parts it drives (session, client, store,
# poller, push, setup), what it learned (facts: GetDevInfo, GetAbility), counters (cycles),
# the latest input values (now; _push_live, the last Listening.live - rule 8) and the turn's
# output list. Each is set and cleared only where the tables below say, and each row is a
# test in tests/test_core_phases.py. (Why not more phases? A guard is a fact that holds in
# several phases at once - a hold or a reboot grace while OFFLINE or UNREACHED, a GetAbility
# due while ONLINE - so as phases they would multiply the table; as named guards each is
# one row, read by one question.)
#
# The flow slot and the work queues (rules 3, 4 and 7), attributes of DriverCore:
#
#   name           set when                          cleared when               decides
#   _flow (+_job)  a flow sends or pauses; _job:     the flow ends or raises;   no other flow
#                  the host command that flow runs   disconnect closes it       starts (rule 3)
#   _pause_until   the flow yields Pause(t)          a Tick at or after t (the  a Tick before t
#                                                    flow resumes); disconnect  resumes nothing;
#                                                                               the turn waits
#                                                                               until t
#   _jobs          CommandQueued                     its flow starts; its       first in rule 4
#                                                    deadline passed (fails);
#                                                    disconnect (fails)
#   _ptz_stops     a command's PtzStopAfter effect   due (its Stop runs); a     second in rule 4
#                  (channel -> now + delay)          CancelPtzStop; shutdown
#   next_poll      identification (now); each poll   never: one grid,           a poll is due at
#                  start (+ status_interval, start   status_interval apart      min(next_poll,
#                  to start); a failed poll (the                                push.poll_at)
#                  session's retry time, if sooner);
#                  a reboot request (now + 1 s)
#
# The guards (class Guards below, DriverCore.guards), each read and written only through its
# methods - the method names are the table's verbs:
#
#   guard               set when (method)                  decides (method)
#   G1 hold_until       a flow raised - a driver bug        steps_allowed(now): no session step
#                       (crashed: now + status_interval)    before it; not_before(): no wake-up
#                                                           before it either (rule 5)
#   G2 reboot_grace_    a reboot command went through       rebooting(now): until then a
#      until            (reboot_requested: now + grace)     transport failure, or a session that
#                                                           holds even a Login back, is shown as
#                                                           "rebooting: <cause>"
#   G3 logins_seen      identification, a planned renewal,  take_unplanned_login(n): a login
#                       back online (planned_login)         count beyond it after a poll means
#                                                           the device dropped our session: push
#                                                           is verified again (once: taken)
#   G4 available        identification; after each poll     channels_polled(): a channel newly
#                       (channels_polled)                   available that push does not cover
#                                                           (push not off) sets G5
#   G5 ability_recheck  G4's rule; cleared by               take_ability_recheck(): once, before
#                       identification (GetAbility was      any other push work, GetAbility is
#                       just read) and by taking it         read again; while set, push work is
#                                                           due at once (a wake-up now)
#   G6 push_shown       show_push(source, reason) when      show_push(): event_source/_reason are
#                       push decided something new          written (and the setup read told)
#                                                           only for a new, decided pair - push,
#                                                           or poll with a reason
# ================================================================================================


class DevicePhase(enum.Enum):
    """Where one device's driver stands (see the rules above)."""

    CONNECTING = "connecting"
    UNREACHED = "unreached"
    ONLINE = "online"
    OFFLINE = "offline"
    STOPPING = "stopping"
    FINISHED = "finished"

    # (Identity tests, not set membership: an Enum's hash runs Python code, every turn.)

    @property
    def identified(self) -> bool:
        """The device is known (GetDevInfo...): ONLINE or OFFLINE."""
        return self is P.ONLINE or self is P.OFFLINE

    @property
    def failure_shown(self) -> bool:
        """The host was shown the device offline: UNREACHED or OFFLINE."""
        return self is P.UNREACHED or self is P.OFFLINE

    @property
    def winding_down(self) -> bool:
        """disconnect() came: STOPPING or FINISHED (no new flow starts)."""
        return self is P.STOPPING or self is P.FINISHED


class Input(enum.Enum):
    """What moves the phase (fed by the core itself as its flows decide)."""

    IDENTIFIED = "identified"  # the identify flow learned what the device is
    ANSWERED = "answered"  # the device answered: shown online (identify, every poll)
    FAILURE_SHOWN = "failure shown"  # the device was shown offline (an Offline action)
    REBOOT_REQUESTED = "reboot requested"  # a reboot command went through: identify again
    DISCONNECT = "disconnect"  # disconnect() was called
    WOUND_DOWN = "wound down"  # STOPPING, and no flow is left


# Members read on every turn come from plain classes (session.plain_members: an Enum member
# read through its class costs ~100 ns up to Python 3.11, a plain attribute 20 ns).
P = plain_members(DevicePhase)
In = Input
_Step = plain_members(Step)
_PushPhase = plain_members(PushPhase)

#: (phase, input) -> next phase. A pair not listed leaves the phase as it is.
_TRANSITIONS: Dict[Tuple[DevicePhase, Input], DevicePhase] = {
    (P.CONNECTING, In.IDENTIFIED): P.ONLINE,
    (P.CONNECTING, In.FAILURE_SHOWN): P.UNREACHED,
    (P.UNREACHED, In.IDENTIFIED): P.OFFLINE,  # the failure stays shown until the answer
    (P.UNREACHED, In.ANSWERED): P.CONNECTING,
    (P.ONLINE, In.FAILURE_SHOWN): P.OFFLINE,
    (P.ONLINE, In.REBOOT_REQUESTED): P.CONNECTING,
    (P.OFFLINE, In.ANSWERED): P.ONLINE,
    (P.OFFLINE, In.REBOOT_REQUESTED): P.UNREACHED,
}
for _phase in (P.CONNECTING, P.UNREACHED, P.ONLINE, P.OFFLINE):
    _TRANSITIONS[(_phase, In.DISCONNECT)] = P.STOPPING
_TRANSITIONS[(P.STOPPING, In.WOUND_DOWN)] = P.FINISHED


def next_phase(phase: DevicePhase, happened: Input) -> DevicePhase:
    """The phase after ``happened`` in ``phase`` (the table; unchanged if not listed)."""
    return _TRANSITIONS.get((phase, happened), phase)


@attrs.define
class Guards:
    """The guard state G1-G6 of the header: what decides the next step besides the phase.

    Each field is written only by the methods named in the header's guard table, and each
    method is one rule of it (tests/test_core_phases.py checks them row by row). Pure: the
    time arrives as ``now``, the counts and channel lists as values.
    """

    #: G1: no session step (and no wake-up) before this time: a driver bug held the device
    hold_until: float = 0.0
    #: G2: until this time a failure is the reboot the host asked for
    reboot_grace_until: float = 0.0
    #: G3: the client's login count the push rules have accounted for
    logins_seen: int = 0
    #: G4: the polled channels available (online and awake) at the last poll
    available: Sequence[int] = ()
    #: G5: a channel came online that push does not cover: read GetAbility again first
    ability_recheck: bool = False
    #: G6: the (event_source, event_source_reason) pair last written
    push_shown: Tuple[str, str] = ("", "")

    # --- G1: the hold after a driver bug (rule 5) ----------------------------------------

    def crashed(self, now: float, interval: float) -> None:
        """A flow raised: hold every session step back ``interval`` (one status_interval)."""
        self.hold_until = now + interval

    def steps_allowed(self, now: float) -> bool:
        """Whether a session step may run at ``now`` (the hold, if any, has lifted)."""
        return now >= self.hold_until

    def not_before(self, at: float, now: float) -> float:
        """A wake-up time ``at``, moved to the end of a hold still running at ``now``."""
        # A hold in the past is no hold: a time before it stays (it may be "at once").
        return at if self.hold_until <= now else max(at, self.hold_until)

    # --- G2: the reboot grace -------------------------------------------------------------

    def reboot_requested(self, now: float, grace: float) -> None:
        """A reboot command went through: failures for ``grace`` seconds are that reboot."""
        self.reboot_grace_until = now + grace

    def rebooting(self, now: float) -> bool:
        """Whether a failure at ``now`` is still the reboot the host asked for."""
        return now < self.reboot_grace_until

    # --- G3-G5: what a poll tells push about the device ------------------------------------

    def identified(self, logins_sent: int, available: Sequence[int]) -> None:
        """Identification: its login was planned, these channels are known, GetAbility read."""
        self.logins_seen = logins_sent
        self.available = available
        self.ability_recheck = False

    def planned_login(self, logins_sent: int) -> None:
        """A login the driver planned (a renewal; back from an outage): not a reconnect."""
        self.logins_seen = logins_sent

    def take_unplanned_login(self, logins_sent: int) -> bool:
        """After a poll: True (once: it is accounted for then) when a login happened that the
        driver did not plan."""
        if logins_sent == self.logins_seen:
            return False
        self.logins_seen = logins_sent
        return True

    def channels_polled(
        self, available: Sequence[int], covered: Sequence[int], *, push_on: bool
    ) -> None:
        """After a poll: ``available`` channels now; ``covered``: those push registers."""
        if available == self.available:
            return  # nothing came or went (every poll but a few): nothing to decide
        # A newcomer that push does not cover may have a webhook now (a camera came online
        # on an NVR): GetAbility again - unless push is off (then the flag is cleared).
        newcomer = any(ch not in self.available for ch in available)
        if newcomer and any(ch not in covered for ch in available):
            self.ability_recheck = push_on
        self.available = available

    def take_ability_recheck(self) -> bool:
        """True once when GetAbility should be read again now (and clears the guard)."""
        due, self.ability_recheck = self.ability_recheck, False
        return due

    # --- G6: what the host was shown of push ------------------------------------------------

    def show_push(self, source: str, reason: str) -> bool:
        """True when event_source/_reason should be written: a new pair, and a decided one."""
        # Undecided is ("poll", ""): push has not said anything yet, nothing to show.
        shown = (source, reason)
        if shown == self.push_shown or not (source == "push" or reason):
            return False
        self.push_shown = shown
        return True


class _Outcome(enum.Enum):
    """How a flow's step went (rule 3 and 5)."""

    WAITING = "waiting"  # it sent a request or paused
    ENDED = "ended"  # it returned
    CRASHED = "crashed"  # it raised: a driver bug


_O = plain_members(_Outcome)  # read twice or more per turn (see P)


class DriverCore:
    """The decisions of one device's driver. Call :meth:`handle` from one thread only."""

    def __init__(self, config: DeviceConfig, timing: Timing) -> None:
        self.config = config
        self.timing = timing
        self.log = DeviceLog(log, config.label)
        self.session = Session(policy=timing.session)
        self.store = AttributeStore(config.label)
        self.poller = Poller(config.zones, self.store, self.log)
        self.client = DeviceClient(config, self.session, self.log)
        self.facts = host_commands.DeviceFacts()
        self.push = PushControl(config.push, config.status_interval, timing.push)
        #: the detection-setup read (zone/device ``setup``): after connect, then every 30 min
        self.setup = SetupCheck(
            config.zones,
            config.status_interval,
            self.store,
            self.log,
            timing.setup_every,
            push=config.push != "off",
        )
        #: the live URLs of our push listener (Listening.live, a value asked for afresh before
        #: every registration): slots never reclaimed
        self._push_live: Optional[LiveUrls] = None
        #: where the driver stands; moved only by _move() through _TRANSITIONS
        self._phase = DevicePhase.CONNECTING
        #: the guard state G1-G6 (see the header): hold, reboot grace, what push was told
        self.guards = Guards()
        #: when the next poll of the regular grid is due (the header's named state)
        self.next_poll = 0.0
        #: poll cycles completed (published for stats(); decides nothing)
        self.cycles = 0
        #: the turn's time: set once at the top of handle(), read by every rule in the turn
        self.now = 0.0
        #: host commands waiting for the flow slot, oldest first (rule 4: they go first)
        self._jobs: Deque[CommandQueued] = collections.deque()
        #: channel -> when its automatic PTZ Stop is due.
        self._ptz_stops: Dict[int, float] = {}
        #: the flow slot (rule 3): the one flow waiting for a reply or a pause, or None
        self._flow: Optional[Flow[None]] = None
        #: the host command whose flow is running, if any (failed by disconnect).
        self._job: Optional[CommandQueued] = None
        #: the running flow paused until then (a Tick at or after it resumes it)
        self._pause_until: Optional[float] = None
        #: the turn's actions, in order (rule 6 puts the Emit first, rule 7 closes the list)
        self._out: List[Action] = []

    # --- the phase ----------------------------------------------------------------------

    @property
    def phase(self) -> DevicePhase:
        """Where the driver stands (read on the device thread, or after it ended)."""
        return self._phase

    @property
    def identified(self) -> bool:
        """Whether the device is identified (ONLINE or OFFLINE)."""
        return self._phase.identified

    def _move(self, happened: Input) -> None:
        # The one writer of _phase: the table decides, the change is logged (debug).
        before, after = self._phase, next_phase(self._phase, happened)
        if after is not before:
            self._phase = after
            self.log.debug("phase %s -> %s (%s)", before.value, after.value, happened.value)

    # --- the one entry point ------------------------------------------------------------

    def handle(self, now: float, event: Event) -> List[Action]:
        """Feed one event at time ``now``; returns the actions to perform, in order.

        The last action is a :class:`Send` (feed back its outcome next), a :class:`WaitUntil`,
        or :class:`Finished` - or nothing at all while a Send is still outstanding.
        """
        self.now = self.client.now = now
        # Time is applied once, here, before the event: every query after it is pure.
        self.session.tick(now)
        self.push.tick(now)
        self._out = []
        outcome = self._on_event(event)
        # Rule 4: a flow that ended in this turn counts as the turn's session step.
        stepped = outcome is _O.ENDED
        ended = outcome is not _O.WAITING
        while self._flow is None and not self._phase.winding_down:
            flow, is_step = self._next_flow(step_allowed=not stepped)
            stepped = stepped or is_step
            if flow is None:
                break
            outcome = self._advance(flow, None, None)
            stepped = stepped or outcome is _O.ENDED
            ended = ended or outcome is not _O.WAITING
        return self._actions(flow_ended=ended)

    def _on_event(self, event: Event) -> _Outcome:
        """Rule 2; returns how the flow it resumed (if any) went."""
        # Only three events resume the flow slot (a reply, a failed send, a Tick past the
        # pause); every other event is an input to a queue or to push control, and the flow
        # to run next is chosen afterwards (rule 4), never here.
        if isinstance(event, Replied):
            return self._resume(event.response, None)
        if isinstance(event, SendFailed):
            return self._resume(None, event.error)
        if isinstance(event, Tick):
            if self._pause_until is not None and self.now >= self._pause_until:
                self._pause_until = None
                return self._resume(None, None)
        elif isinstance(event, Disconnect):
            return self._disconnect(event.since)
        elif isinstance(event, CommandQueued):
            self._jobs.append(event)
        elif isinstance(event, PushWake):
            self._push_wake()
        elif isinstance(event, Listening):
            self.push.listening(event.url, event.where)
            self._push_live = event.live
        elif isinstance(event, ListenFailed):
            self.push.listen_failed(self.now, event.reason)
        elif isinstance(event, Probed):
            self.push.probe_result(event.dead)
        elif not isinstance(event, Start):  # pragma: no cover - the Event union is closed
            raise TypeError(f"unknown event {event!r}")
        return _O.WAITING

    def _resume(self, value: Any, error: Optional[BaseException]) -> _Outcome:
        # The outcome goes to the flow in the slot; after disconnect closed it, to nobody.
        flow = self._flow
        if flow is None:
            return _O.WAITING  # an outcome nobody waits for (closed by disconnect)
        return self._advance(flow, value, error)

    def _advance(self, flow: Flow[None], value: Any, error: Optional[BaseException]) -> _Outcome:
        """Run ``flow`` to its next request, pause or end (rules 3 and 5)."""
        self._flow = None
        try:
            step = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration:
            return _O.ENDED
        except Exception:  # a driver bug: log it, keep the device going
            self.log.exception("unexpected error in the device loop")
            self.guards.crashed(self.now, self.config.status_interval)
            return _O.CRASHED
        self._flow = flow
        if isinstance(step, Pause):
            self._pause_until = step.until
        else:
            self._out.append(step)
        return _O.WAITING

    def _actions(self, *, flow_ended: bool) -> List[Action]:
        """Rules 6 and 7: the turn's writes first, its one closing action last."""
        out = self._out
        idle = self._flow is None
        self._show_push()
        if idle and self._phase is P.STOPPING:
            self._move(Input.WOUND_DOWN)
        sending = bool(out) and isinstance(out[-1], Send)
        # A flow (a poll cycle, a command) ended: its writes reach the host now, each
        # attribute once with its final value - also when the next flow starts at once.
        if idle or flow_ended:
            changes = self.store.commit()
            if changes:
                out.insert(0, Emit(tuple(changes)))
        if self._phase is P.FINISHED:
            if not out or not isinstance(out[-1], Finished):
                out.append(Finished())
        elif not sending and self._pause_until is not None:
            out.append(WaitUntil(self._pause_until))
        elif idle:
            out.append(WaitUntil(self._next_wakeup()))
        return out

    # --- what to do next ----------------------------------------------------------------

    def _next_flow(self, *, step_allowed: bool) -> Tuple[Optional[Flow[None]], bool]:
        """Rule 4: the flow to run next, and whether it is the turn's session step."""
        # The order is the rule: the host's commands first (a person waits for them), then
        # a PTZ Stop that is due (a camera must not keep turning), then the session's step.
        # Commands and Stops are not session steps: any number may run in one turn, each
        # after the previous one ended; the session step comes at most once (step_allowed),
        # and never while a hold runs (G1).
        while self._jobs:
            job = self._jobs.popleft()
            if self.now >= job.deadline:
                message = f"{job.name}: the device was busy until request_timeout ran out"
                self._out.append(Fail(job.job, CommandTimeout(message)))
                continue
            return self._command_flow(job), False
        # The earliest due Stop first; the others follow in later iterations or turns.
        if self._ptz_stops:  # (none in the steady state: the scan is skipped)
            due = [(at, channel) for channel, at in self._ptz_stops.items() if at <= self.now]
            if due:
                _, channel = min(due)
                del self._ptz_stops[channel]
                return self._ptz_stop_flow(channel), False
        if not step_allowed or not self.guards.steps_allowed(self.now):
            return None, False
        # One session step per turn, as the loop would take one per wake.
        return self._session_step(), True

    def _session_step(self) -> Optional[Flow[None]]:
        """The turn's one session step (rule 4): the session decides, the core obeys."""
        # A step that is no flow (SHOW_OFFLINE, or IDLE with nothing to do) returns None:
        # the turn then ends with a WaitUntil (rule 7).
        # The session knows the token and the account-safety rules; the core knows whether
        # the device is identified and whether a poll is due (the grid, or a push poll).
        identified = self._phase.identified
        step = self.session.next_step(
            self.now, identified=identified, poll_due=self.now >= self._poll_at()
        )
        if step is _Step.IDENTIFY:
            return self._identify_flow()
        if step is _Step.RENEW:
            return self._renew_flow()
        if step is _Step.POLL:
            return self._poll_flow()
        if step is _Step.IDLE and identified:
            # Nothing of the session's is due: the setup read first (once after connect,
            # then every 30 min), then push work - both only while requests are allowed.
            return self._setup_step() or self._push_step()
        if step is _Step.SHOW_OFFLINE:
            # Not even a Login may go out (backing off, logins paused): say why. Within
            # the reboot grace, a failure is the reboot the host asked for.
            reason = self.session.reason or "not logged in"
            if self.guards.rebooting(self.now) and self.session.failing:
                reason = f"rebooting: {reason}"
            self._offline(reason)
        return None

    def _next_wakeup(self) -> float:
        """When the loop should feed the next Tick, if nothing else comes first (rule 7)."""
        # Every source of timed work offers a time; the earliest wins. A time in the past
        # means "at once" - only for work that can really run now, or the loop would spin.
        # (Runs at the end of every poll cycle: each source is asked once, and the earliest
        # is kept as it comes rather than collected in a list.)
        now = self.now
        session = self.session
        identified = self._phase.identified
        poll_at = self._poll_at() if identified else now
        if poll_at <= now:
            step = session.next_step(now, identified=identified, poll_due=True)
            if step is _Step.SHOW_OFFLINE or step is _Step.IDLE:
                # Held back by the session (backing off, logins paused): look again an
                # interval from now, or when the session frees up. Waking at a past poll
                # time would spin.
                poll_at = now + self.config.status_interval
        at = poll_at
        # The session's next timed change: the token's refresh, the end of a back-off, the
        # account-safety window freeing up.
        session_at = session.next_wakeup(now)
        if session_at is not None and session_at < at:
            at = session_at
        if self._ptz_stops:
            at = min(at, min(self._ptz_stops.values()))
        if identified:
            # The setup read and push work need requests: offered only while the session
            # allows (asked once, and only when one of them would wake the loop earlier: a
            # time at or after ``at`` changes nothing).
            setup_at = self.setup.due_at
            push_at = now if self.guards.ability_recheck else self.push.next_wakeup(now)
            earlier = (setup_at is not None and setup_at < at) or (
                push_at is not None and push_at < at
            )
            if earlier and session.request_allowed(now):
                if setup_at is not None:
                    at = min(at, max(setup_at, now))
                if push_at is not None:
                    at = min(at, push_at)
        # Nothing before a hold (rule 5, G1) lifts.
        return self.guards.not_before(at, now)

    def _poll_at(self) -> float:
        """When the next poll is due: the regular grid, or earlier when push asks for one."""
        push_at = self.push.poll_at
        return self.next_poll if push_at is None else min(self.next_poll, push_at)

    # --- device state -------------------------------------------------------------------

    def _failed(self, error: ReolinkError) -> None:
        """A request of the loop failed: show offline, or retry quietly, as the session says."""
        # The session counts the failure (the client told it); it alone says whether the
        # host sees it now (offline_after failures in a row), except before identification,
        # when every failure shows: the host must not wait in silence for a first answer.
        if self.guards.rebooting(self.now) and isinstance(error, TransportError):
            self.log.info("still rebooting (%s)", error)
            reason = f"rebooting: {error}"
        else:
            reason = str(error)
        auth_failed = isinstance(error, AuthError)
        if self.session.shows_offline(auth_failed=auth_failed) or not self.identified:
            self._offline(reason, error)
        else:
            self.log.info("%s (retrying)", reason)

    def _offline(self, reason: str, error: Optional[ReolinkError] = None) -> None:
        # Showing offline is one act with four parts, always together: the device and every
        # zone go offline in the store, push is no longer trusted, the phase moves (input
        # FAILURE_SHOWN), and the loop gets Offline (the reason and error, for connect() and
        # last_exception) and Ready (a waiting connect() returns).
        if self.store.get("device", None, "online") is not False:
            self.log.warning("offline: %s", reason)
        self.store.set("device", None, "online", False)
        self.store.set("device", None, "error", reason)
        self.poller.device_offline(reason)
        self.push.lost()
        self._move(Input.FAILURE_SHOWN)
        self._out.append(Offline(reason, error))
        self._out.append(Ready())

    def _online(self) -> None:
        # Every answer calls this (identification, each poll): the store dedupes the writes,
        # and only an answer after a failure shown moves the phase (input ANSWERED).
        store = self.store
        if store.get("device", None, "online") is not True:
            self.log.info("online")
        elif store.get("device", None, "error") == "" and not self._phase.failure_shown:
            return  # online and no error shown already (every poll but the first): no write
        self.store.set("device", None, "error", "")
        self.store.set("device", None, "online", True)
        if self._phase.failure_shown:
            self._move(Input.ANSWERED)
            self._out.append(Online())
            if self.identified:  # back from an outage: push is registered and verified again
                self.guards.planned_login(self.client.logins_sent)
                self.push.identified(self.now, self._webhook_channels())

    # --- flows --------------------------------------------------------------------------

    def _identify_flow(self) -> Flow[None]:
        """Login, GetDevInfo, GetChannelstatus (NVR/hub), GetAbility; then the first poll."""
        try:
            info, ability, channel_list = yield from host_commands.identify(self.client)
        except ReolinkError as error:
            self._failed(error)
            self._out.append(Ready())
            return
        self.facts = host_commands.DeviceFacts(info=info, ability=ability)
        bad = self.poller.configure(
            info.channel_count,
            multichannel=info.is_multichannel,
            channel_list=channel_list,
            now=self.now,
        )
        for address in bad:
            self.log.error(
                "zone %s is beyond the device's %d channel(s); it is not polled",
                address,
                info.channel_count,
            )
        self.log.info(
            "connected: model %s, firmware %s, %d channel(s)",
            info.model,
            info.firmware,
            info.channel_count,
        )
        self.store.set("device", None, "model", info.model)
        self.store.set("device", None, "firmware", info.firmware)
        self.store.set("device", None, "channel_count", info.channel_count)
        self._move(Input.IDENTIFIED)
        self.next_poll = self.now
        self._online()
        # This flow's login was planned: its first poll must not take it for a session the
        # device dropped (G3; it logged "logged in again unplanned" on every connect).
        self.guards.planned_login(self.client.logins_sent)
        yield from self._poll_flow()
        self.guards.identified(self.client.logins_sent, self.poller.available_channels())
        self.push.identified(self.now, self._webhook_channels())
        self.setup.identified(self.now)
        self._out.append(Ready())

    def _renew_flow(self) -> Flow[None]:
        try:
            yield from self.client.login()
        except ReolinkError as error:
            self._failed(error)
        self.guards.planned_login(self.client.logins_sent)  # planned: not a reconnect

    def _poll_flow(self) -> Flow[None]:
        start = self.now
        interval = self.config.status_interval
        # Start to start: the next cycle is due one interval after this one began; cycles
        # missed while a slow one ran are skipped, never stacked. A poll push asked for
        # (a call, its follow-ups, a detection still showing) never moves this grid.
        if start >= self.next_poll:
            self.next_poll += interval
            if self.next_poll <= start:
                self.next_poll = start + interval
        plan = self.poller.plan(start)
        self.push.poll_started(start)
        watched = self._detections()
        try:
            replies, bodies = yield from self.client.call_parts(
                plan.parts, plan.commands, repeatable=plan.repeatable, memo=True
            )
            answer = (plan.key, bodies) if bodies is not None else None
            pending = self.poller.apply(plan.commands, replies, self.now, answer)
            while pending:
                more = yield from self.client.call(pending)
                pending = self.poller.apply(pending, more, self.now)
        except ReolinkError as error:
            self._failed(error)
            retry_at = self.session.retry_at
            if retry_at > self.now:
                self.next_poll = min(self.next_poll, retry_at)
            return
        self.cycles += 1
        self._online()
        self._push_follow_device()
        # Which zone shows a detection matters to push only while it follows a call (fast
        # polls): the scan of every zone is skipped otherwise (16 store reads at 8 channels).
        showing = self._showing() if self.push.watching else False
        rising = self._rising(watched) if watched else 0
        self.push.after_poll(start, self.now, rising, showing)

    def _ptz_stop_flow(self, channel: int, deadline: Optional[float] = None) -> Flow[None]:
        try:
            yield from host_commands.ptz_stop(self.client, channel, deadline)
        except ReolinkError as error:
            self.log.warning("automatic PTZ Stop on channel %d failed: %s", channel, error)

    def _command_flow(self, job: CommandQueued) -> Flow[None]:
        self._job = job
        try:
            yield from self._run_command(job)
        finally:
            self._job = None

    def _run_command(self, job: CommandQueued) -> Flow[None]:
        effects: List[host_commands.Effect] = []
        try:
            result = yield from host_commands.run(
                self.client, self.facts, job.name, job.args, job.deadline, effects, job.nonce
            )
        except ReolinkError as error:
            self._apply(effects)
            if isinstance(error, TransportError):
                self._failed(error)
            self._out.append(Fail(job.job, error))
            return
        except Exception as error:  # a driver bug: report it to the caller, keep the loop
            self.log.exception("command %s failed unexpectedly", job.name)
            failure = ReolinkError(f"{job.name}: internal error: {type(error).__name__}")
            self._out.append(Fail(job.job, failure))
            return
        self._apply(effects)
        self._out.append(Resolve(job.job, result))

    def _apply(self, effects: Sequence[host_commands.Effect]) -> None:
        """What a command means for the driver, in the order the command said it."""
        for effect in effects:
            if isinstance(effect, host_commands.PtzStopAfter):
                self._ptz_stops[effect.channel] = self.now + effect.delay
            elif isinstance(effect, host_commands.CancelPtzStop):
                self._ptz_stops.pop(effect.channel, None)
            elif isinstance(effect, host_commands.Learned):
                self.facts = attrs.evolve(self.facts, info=effect.info)
            elif isinstance(effect, host_commands.RebootExpected):
                self.guards.reboot_requested(self.now, self.timing.reboot_grace)
                self._move(Input.REBOOT_REQUESTED)
                self.session.on_logout()
                self._offline("rebooting (requested)")
                self.next_poll = self.now + 1.0

    # --- detection setup ----------------------------------------------------------------

    def _setup_step(self) -> Optional[Flow[None]]:
        """The setup read, when due and nothing else is (never while a detection is on)."""
        if not self.session.request_allowed(self.now) or not self.setup.take_due(self.now):
            return None
        # Offline or asleep channels would only answer errors (nothing to conclude).
        reachable = [z.channel for z in self.config.zones if self.poller.reachable(z.channel)]
        return self.setup.flow(self.client, self.facts, reachable)

    # --- push -------------------------------------------------------------------------

    def _push_wake(self) -> None:
        was = self.push.source
        self.push.wake(self.now)  # a poll due at push.poll_at; the regular grid stays
        if was != "push" and self.push.source == "push":
            self.log.info("push verified: the device's call arrived")

    def _show_push(self) -> None:
        """Write event_source / event_source_reason once push is decided (and log changes)."""
        push = self.push
        if not self.guards.show_push(push.source, push.reason):  # G6 (runs every turn)
            return
        shown = self.guards.push_shown
        self.setup.push_changed(shown[0] == "push")
        if shown[0] == "push":
            self.log.info("event source: push")
        else:
            self.log.info("event source: poll (%s)", shown[1])
        self.store.set("device", None, "event_source", shown[0])
        self.store.set("device", None, "event_source_reason", shown[1])

    def _webhook_channels(self) -> List[int]:
        """The polled channels whose GetAbility says supportWebhook."""
        ability = self.facts.ability
        if ability is None:
            return []
        return [
            zone.channel
            for zone in self.config.zones
            if self.poller.polls(zone.channel) and supports_webhook(ability, zone.channel)
        ]

    def _push_follow_device(self) -> None:
        """After a poll: an unplanned login (the device dropped our session) re-verifies push;
        a polled channel that became available is looked at for a webhook."""
        if self.guards.take_unplanned_login(self.client.logins_sent):
            self.log.info("logged in again unplanned: verifying push again")
            self.push.reconnected()
        self.guards.channels_polled(
            self.poller.available_channels(),
            self.push.channels,
            push_on=self.push.phase is not _PushPhase.OFF,
        )

    def _ability_flow(self) -> Flow[None]:
        """GetAbility again (a channel came online, G5): its webhook is registered too."""
        try:
            ability = yield from host_commands.read_ability(self.client)
        except ReolinkError as error:
            self.log.info("GetAbility for a channel that came online failed: %s", error)
            return
        if ability is not None:
            self.facts = attrs.evolve(self.facts, ability=ability)
            if self.push.add_channels(self._webhook_channels()):
                self.log.info("registering push on the channel(s) that came online")

    def _push_step(self) -> Optional[Flow[None]]:
        """Push work that is due while nothing else is: listener, slots to free, registration."""
        if not self.session.request_allowed(self.now):
            return None
        if self.guards.take_ability_recheck():
            return self._ability_flow()
        if self.push.take_listen():
            self._out.append(Listen())
            return None
        probe = self.push.take_probe()
        if probe:
            self._out.append(Probe(probe))
            return None
        if self.push.free_wanted:
            return self._push_free_flow()
        if self.push.due(self.now):
            return self._push_flow()
        slots = self.push.take_check(self.now)  # the late or periodic read of our slots
        if slots:
            return self._push_check_flow(slots)
        return None

    def _push_flow(self) -> Flow[None]:
        push = self.push
        url = push.url
        assert url is not None  # due() holds it
        push.registering()
        # With a fixed push_port, a slot pointing at our own listener with another path is a
        # previous run's (only a 404 answers it there): reclaimed rather than leaked.
        reclaim = url.rsplit("/", 1)[0] + "/" if self.config.push_port else ""
        try:
            yield from self._settle_stray(url)
            schedule: List[PushSchedule] = []
            slots = yield from pushflow.register(
                self.client, push.channels, url, reclaim, live=self._push_live,
                maybe=push.maybe, probed=push.probed, dead=push.dead, schedule=schedule,
            )
            yield from self._push_schedule(schedule)
            if not push.verifying(self.now, slots):
                return  # more channels of a verified push: the path is proven already
            refused = yield from pushflow.test(self.client, min(slots), url)
            kept = yield from pushflow.held_slots(self.client, slots, url)
        except pushflow.ProbeFirst as probe:
            push.want_probe(probe.urls)  # the loop asks them; registration goes on after
            return
        except pushflow.NoPush as no:
            push.failed(self.now, no.reason, retry=no.retry)
            return
        except ReolinkError as error:
            if push.phase is PushPhase.VERIFYING and self._test_may_have_run(error):
                return  # the device's call decides, within the verify window
            push.failed(self.now, f"{REASON_FAILED}: {error}")
            if isinstance(error, TransportError):
                self._failed(error)
            return
        if len(kept) < len(slots) and push.claim_again(self.now, kept):
            # Read once more after the test: a writer that read the table before our write
            # may have written the same slot after our first read-back. Choose again.
            self.log.info("another writer took our webhook slot after it was read back; "
                          "registering again")
            return
        if refused is not None:
            push.test_refused(refused)

    def _push_schedule(self, schedule: List[PushSchedule]) -> Flow[None]:
        """Keep the push schedule read with the registration; with hours that hold every day
        (not always on), the device's clock (GetTime) places them."""
        found = schedule[0] if schedule else PushSchedule(known=False)
        offset = None
        if found.hours is not None and not found.always_on:
            offset = yield from pushflow.time_of_day(self.client)
        self.push.scheduled(found, offset)

    def _settle_stray(self, url: str) -> Flow[None]:
        """Maybe-ours slots on channels no longer registered: free them if they hold our URL
        (register() settles the others by reading their tables)."""
        maybe = self.push.maybe
        stray = {ch: i for ch, i in maybe.items() if ch not in self.push.channels}
        if stray:
            keep = {ch: i for ch, i in maybe.items() if ch in self.push.channels}
            yield from pushflow.free_if_ours(self.client, stray, url)
            self.push.maybe = {**keep, **stray}  # stray: the ones that could not be read

    def _test_may_have_run(self, error: ReolinkError) -> bool:
        """TestWebHook's reply was lost after it left: the device may be calling us now.

        Push is trusted when the call arrives, not when the reply does; if no call comes
        within the verify window, the tick says the device cannot reach us.
        """
        if not (isinstance(error, TransportError) and error.may_have_run):
            return False
        if self.session.shows_offline(auth_failed=False) or not self.identified:
            self._failed(error)  # offline: push registers again once it is back
        else:
            self.log.info("%s; waiting for the device's call", error)
        return True

    def _push_free_flow(self) -> Flow[None]:
        """Free our slots after a failed verification - each only once read to hold our URL."""
        slots = {**self.push.slots, **self.push.maybe}
        self.push.freed()
        url = self.push.url
        if url is not None:
            yield from pushflow.free_if_ours(self.client, slots, url)
        self.push.maybe = slots  # the channels whose table could not be read

    def _push_check_flow(self, slots: Dict[int, int]) -> Flow[None]:
        """Read our slots again (``recheck`` after a claim, then every ``reverify``): a writer
        that read the table before our SetWebHook may have written the same slot after our
        read-backs, or a user may overwrite it any time. Such a slot is given up, never
        written or freed; push control decides what comes next (pushcontrol's docstring)."""
        push = self.push
        url = push.url
        assert url is not None  # a slot is held only with a URL
        # Offline or asleep channels are not read (an error at best; a battery camera woken
        # at worst): their slots are no loss, and are read again next time.
        awake = {ch: index for ch, index in slots.items() if self.poller.reachable(ch)}
        try:
            held, lost = yield from pushflow.read_ours(self.client, awake, url)
        except ReolinkError as error:
            push.check_failed(self.now)
            self.log.info("could not read our webhook slot(s) again: %s", error)
            if isinstance(error, TransportError):
                self._failed(error)
            return
        if not push.checked(self.now, slots, held, sorted(lost)):
            return
        if push.phase is PushPhase.LISTEN:
            then = "event_source is poll until push is verified again; choosing another slot now"
        elif push.phase is PushPhase.FALLBACK:
            then = (f"event_source is poll; other systems took our slots again and again: "
                    f"registering again in {self.timing.push.retry:g} s")
        else:
            then = ("other systems took our slots again and again: keeping our slots on the "
                    "other channel(s)")
        self.log.warning(
            "another system took our webhook slot after we claimed it (%s): the device no "
            "longer calls our listener at %s there; that slot is left alone (never written or "
            "freed); %s",
            "; ".join(f"channel {ch}: webhook slot {slots[ch]} {lost[ch]}" for ch in sorted(lost)),
            push.where,
            then,
        )

    def _detections(self) -> Dict[str, Tuple[object, object]]:
        """(motion, ai_detected) of the zones whose channel has our webhook."""
        if not self.push.slots:
            return {}  # no webhook (push off or not registered): nothing to scan
        return {
            str(channel): (
                self.store.get("zone", str(channel), "motion"),
                self.store.get("zone", str(channel), "ai_detected"),
            )
            for channel in self.push.slots
        }

    def _showing(self) -> bool:
        """Whether any zone shows a detection (motion or AI) now."""
        for zone in self.config.zones:
            address = zone.address
            if self.store.get("zone", address, "motion") == 1:
                return True
            if self.store.get("zone", address, "ai_detected"):
                return True
        return False

    def _rising(self, before: Dict[str, Tuple[object, object]]) -> int:
        """How many of those zones saw an event start in the poll that just ended."""
        rising = 0
        for address, (motion, ai) in before.items():
            now_motion = self.store.get("zone", address, "motion")
            now_ai = self.store.get("zone", address, "ai_detected")
            if (now_motion == 1 and motion != 1) or (now_ai and not ai):
                rising += 1
        return rising

    # --- winding down -------------------------------------------------------------------

    def _disconnect(self, since: float) -> _Outcome:
        # Idempotent (a second disconnect changes nothing). Order matters: the phase moves
        # first, so no new flow starts; the running command is failed with the queued ones;
        # the flow in flight is closed (its reply will find no flow); then the shutdown
        # flow takes the slot, with a deadline counted from when disconnect() was called.
        if self._phase.winding_down:
            return _O.WAITING
        self._move(Input.DISCONNECT)
        if self._job is not None:
            self._jobs.appendleft(self._job)  # cut short: it fails with the queued ones
        if self._flow is not None:
            self._flow.close()  # whatever was in flight: its outcome no longer matters
            self._flow = None
        self._pause_until = None
        while self._jobs:
            job = self._jobs.popleft()
            self._out.append(
                Fail(job.job, NotConnected(f"{job.name}: the driver was disconnected"))
            )
        deadline = since + self.config.request_timeout + SHUTDOWN_SLACK
        return self._advance(self._shutdown_flow(deadline), None, None)

    def _shutdown_flow(self, deadline: float) -> Flow[None]:
        """Leave nothing behind: pending PTZ stops, then Logout."""
        reachable = not self.session.failing
        stops: List[Tuple[float, int]] = sorted((at, ch) for ch, at in self._ptz_stops.items())
        self._ptz_stops.clear()
        for _, channel in stops:
            if reachable and self.now < deadline:
                try:
                    yield from host_commands.ptz_stop(self.client, channel, deadline)
                except ReolinkError as error:
                    self.log.info("final PTZ stop failed: %s", error)
        url = self.push.url
        if self.session.token is not None and url is not None and (
            (reachable and self.push.slots) or self.push.maybe
        ):
            # Read before freeing: only a slot holding exactly our URL is freed (another
            # system may have written its URL there meanwhile). A maybe-ours slot is tried
            # even right after a failure (its SetWebHook reply was lost): the device may well
            # answer, and the answer decides whether Logout goes out too.
            ours = {**self.push.slots, **self.push.maybe}
            self.push.freed()
            answered = yield from pushflow.free_if_ours(self.client, ours, url, deadline)
            self.push.maybe = ours
            reachable = reachable or answered
        if reachable and self.session.token is not None:
            yield from self.client.logout(deadline=deadline)
        else:
            self.session.on_logout()
        self.log.debug("disconnected")

    # --- for the facade (read on the device thread, or after it ended) -------------------

    def values(self) -> Dict[Tuple[str, Optional[str], str], Union[bool, int, str, None]]:
        """The committed value of every attribute written so far."""
        return self.store.snapshot()
