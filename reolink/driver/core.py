"""The driver core: a pure state machine fed ``(now, event)``, returning actions.

It does no I/O, starts no thread and reads no clock: the device loop
(:mod:`reolink.driver.loop`) owns the transport and the clock, feeds each
:mod:`~reolink.driver.messages` event in, and obeys the actions that come back (send this
request, hand these attribute changes to the host, resolve or fail this command, wait until t,
show the device offline, finish).

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
"""

from __future__ import annotations

import collections
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
from ..protocol.session import Session, Step
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
from .pushcontrol import REASON_FAILED, Phase, PushControl
from .setupcheck import SetupCheck
from .store import AttributeStore
from .timing import Timing

__all__ = ["DriverCore"]

log = logging.getLogger(__name__)

#: Time left for the final PTZ Stops and Logout after disconnect(): the thread must end within
#: request_timeout + 1 s of it, and closing takes a moment too.
SHUTDOWN_SLACK = 0.7


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
        #: (source, reason) last written to the store and logged
        self._push_shown: Tuple[str, str] = ("", "")
        #: the live URLs of our push listener (Listening.live, a value asked for afresh before
        #: every registration): slots never reclaimed
        self._push_live: Optional[LiveUrls] = None
        self.identified = False
        #: logins seen by the push rules: one more, unplanned, means the device dropped us
        self._logins_seen = 0
        #: polled channels available at the last poll (a newcomer may have a webhook now)
        self._available: Sequence[int] = ()
        self._recheck_ability = False
        self.next_poll = 0.0
        self.cycles = 0
        self.now = 0.0
        self._expect_drop_until = 0.0
        self._jobs: Deque[CommandQueued] = collections.deque()
        #: channel -> when its automatic PTZ Stop is due.
        self._ptz_stops: Dict[int, float] = {}
        self._flow: Optional[Flow[None]] = None
        #: the host command whose flow is running, if any (failed by disconnect).
        self._job: Optional[CommandQueued] = None
        self._pause_until: Optional[float] = None
        self._hold_until = 0.0
        self._stepped = False
        self._flow_ended = False
        self._stopping = False
        self._finished = False
        self._failure_shown = False
        self._out: List[Action] = []

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
        self._stepped = False
        self._flow_ended = False
        self._on_event(event)
        while self._flow is None and not self._stopping:
            flow = self._next_flow()
            if flow is None:
                break
            self._advance(flow, None, None)
        return self._actions()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Replied):
            self._resume(event.response, None)
        elif isinstance(event, SendFailed):
            self._resume(None, event.error)
        elif isinstance(event, CommandQueued):
            self._jobs.append(event)
        elif isinstance(event, Tick):
            if self._pause_until is not None and self.now >= self._pause_until:
                self._pause_until = None
                self._resume(None, None)
        elif isinstance(event, Disconnect):
            self._disconnect(event.since)
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

    def _resume(self, value: Any, error: Optional[BaseException]) -> None:
        flow = self._flow
        if flow is None:
            return  # an outcome nobody waits for (the flow was closed by disconnect)
        self._advance(flow, value, error)

    def _advance(self, flow: Flow[None], value: Any, error: Optional[BaseException]) -> None:
        """Run ``flow`` to its next request, pause or end."""
        self._flow = None
        try:
            step = flow.throw(error) if error is not None else flow.send(value)
        except StopIteration:
            # One step per event: what is due next is looked at on the next event (a flow
            # that just ended leaves nothing due before the wake-up it computes).
            self._flow_ended = self._stepped = True
            return
        except Exception:  # a driver bug: log it, keep the device going
            self.log.exception("unexpected error in the device loop")
            self._hold_until = self.now + self.config.status_interval
            self._flow_ended = True
            return
        self._flow = flow
        if isinstance(step, Pause):
            self._pause_until = step.until
        else:
            self._out.append(step)

    def _actions(self) -> List[Action]:
        out = self._out
        idle = self._flow is None
        self._show_push()
        if idle and self._stopping:
            self._finished = True
        sending = bool(out) and isinstance(out[-1], Send)
        # A flow (a poll cycle, a command) ended: its writes reach the host now, each
        # attribute once with its final value - also when the next flow starts at once.
        if idle or self._flow_ended:
            changes = self.store.commit()
            if changes:
                out.insert(0, Emit(tuple(changes)))
        if self._finished:
            if not out or not isinstance(out[-1], Finished):
                out.append(Finished())
        elif not sending and self._pause_until is not None:
            out.append(WaitUntil(self._pause_until))
        elif idle:
            out.append(WaitUntil(self._next_wakeup()))
        return out

    # --- what to do next ----------------------------------------------------------------

    def _next_flow(self) -> Optional[Flow[None]]:
        while self._jobs:
            job = self._jobs.popleft()
            if self.now >= job.deadline:
                message = f"{job.name}: the device was busy until request_timeout ran out"
                self._out.append(Fail(job.job, CommandTimeout(message)))
                continue
            return self._command_flow(job)
        due = [(at, channel) for channel, at in self._ptz_stops.items() if at <= self.now]
        if due:
            _, channel = min(due)
            del self._ptz_stops[channel]
            return self._ptz_stop_flow(channel)
        if self._stepped or self.now < self._hold_until:
            return None
        self._stepped = True  # one session step per event, as the loop would take one per wake
        step = self.session.next_step(
            self.now, identified=self.identified, poll_due=self.now >= self._poll_at()
        )
        if step is Step.IDENTIFY:
            return self._identify_flow()
        if step is Step.RENEW:
            return self._renew_flow()
        if step is Step.POLL:
            return self._poll_flow()
        if step is Step.IDLE and self.identified:
            return self._setup_step() or self._push_step()
        if step is Step.SHOW_OFFLINE:
            reason = self.session.reason or "not logged in"
            if self.now < self._expect_drop_until and self.session.failing:
                reason = f"rebooting: {reason}"
            self._offline(reason)
        return None

    def _next_wakeup(self) -> float:
        now = self.now
        poll_at = self._poll_at() if self.identified else now
        if poll_at <= now:
            step = self.session.next_step(now, identified=self.identified, poll_due=True)
            if step in (Step.SHOW_OFFLINE, Step.IDLE):
                # Held back by the session (backing off, logins paused): look again an
                # interval from now, or when the session frees up. Waking at a past poll
                # time would spin.
                poll_at = now + self.config.status_interval
        candidates = [poll_at]
        session_at = self.session.next_wakeup(now)
        if session_at is not None:
            candidates.append(session_at)
        if self._ptz_stops:
            candidates.append(min(self._ptz_stops.values()))
        setup_at = self.setup.due_at
        if setup_at is not None and self.identified and self.session.request_allowed(now):
            candidates.append(max(setup_at, now))
        push_at = now if self._recheck_ability else self.push.next_wakeup(now)
        if push_at is not None and self.identified and self.session.request_allowed(now):
            candidates.append(push_at)
        if self._hold_until > now:
            candidates = [max(c, self._hold_until) for c in candidates]
        return min(candidates)

    def _poll_at(self) -> float:
        """When the next poll is due: the regular grid, or earlier when push asks for one."""
        push_at = self.push.poll_at
        return self.next_poll if push_at is None else min(self.next_poll, push_at)

    # --- device state -------------------------------------------------------------------

    def _failed(self, error: ReolinkError) -> None:
        """A request of the loop failed: show offline, or retry quietly, as the session says."""
        if self.now < self._expect_drop_until and isinstance(error, TransportError):
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
        if self.store.get("device", None, "online") is not False:
            self.log.warning("offline: %s", reason)
        self.store.set("device", None, "online", False)
        self.store.set("device", None, "error", reason)
        self.poller.device_offline(reason)
        self.push.lost()
        self._failure_shown = True
        self._out.append(Offline(reason, error))
        self._out.append(Ready())

    def _online(self) -> None:
        if self.store.get("device", None, "online") is not True:
            self.log.info("online")
        self.store.set("device", None, "error", "")
        self.store.set("device", None, "online", True)
        if self._failure_shown:
            self._failure_shown = False
            self._out.append(Online())
            if self.identified:  # back from an outage: push is registered and verified again
                self._logins_seen = self.client.logins_sent
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
        self.identified = True
        self.next_poll = self.now
        self._online()
        yield from self._poll_flow()
        self._logins_seen = self.client.logins_sent
        self._available = self.poller.available_channels()
        self._recheck_ability = False
        self.push.identified(self.now, self._webhook_channels())
        self.setup.identified(self.now)
        self._out.append(Ready())

    def _renew_flow(self) -> Flow[None]:
        try:
            yield from self.client.login()
        except ReolinkError as error:
            self._failed(error)
        self._logins_seen = self.client.logins_sent  # planned: not a reconnect

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
                plan.parts, plan.commands, repeatable=plan.repeatable
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
        self.push.after_poll(start, self.now, self._rising(watched), self._showing())

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
                self._expect_drop_until = self.now + self.timing.reboot_grace
                self.identified = False
                self.session.on_logout()
                self._offline("rebooting (requested)")
                self.next_poll = self.now + 1.0

    # --- detection setup ----------------------------------------------------------------

    def _setup_step(self) -> Optional[Flow[None]]:
        """The setup read, when due and nothing else is (never while a detection is on)."""
        if not self.session.request_allowed(self.now) or not self.setup.due(self.now):
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
        shown = (self.push.source, self.push.reason)
        if shown == self._push_shown or not (shown[0] == "push" or shown[1]):
            return
        self._push_shown = shown
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
        if self.client.logins_sent != self._logins_seen:
            self._logins_seen = self.client.logins_sent
            self.log.info("logged in again unplanned: verifying push again")
            self.push.reconnected()
        available = self.poller.available_channels()
        if any(ch not in self._available for ch in available) and any(
            ch not in self.push.channels for ch in available
        ):
            self._recheck_ability = self.push.phase is not Phase.OFF
        self._available = available

    def _ability_flow(self) -> Flow[None]:
        """GetAbility again (a channel came online): its webhook is registered too."""
        self._recheck_ability = False
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
        if self._recheck_ability:
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
            if push.phase is Phase.VERIFYING and self._test_may_have_run(error):
                return  # the device's call decides, within the verify window
            push.failed(self.now, f"{REASON_FAILED}: {error}")
            if isinstance(error, TransportError):
                self._failed(error)
            return
        if len(kept) < len(slots) and push.claim_again(kept):
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
        if not (isinstance(error, TransportError) and error.request_sent):
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

    def _detections(self) -> Dict[str, Tuple[object, object]]:
        """(motion, ai_detected) of the zones whose channel has our webhook."""
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

    def _disconnect(self, since: float) -> None:
        if self._stopping:
            return
        self._stopping = True
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
        self._advance(self._shutdown_flow(deadline), None, None)

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
