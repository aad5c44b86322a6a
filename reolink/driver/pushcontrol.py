"""Push-accelerated detection: when to register the webhook, whether to trust it, when to poll.

Pure, like the core that uses it: no I/O, no clock (``now`` in seconds is passed in), no thread.
:class:`PushControl` holds one device's push state and answers the core's questions. Time moves
the phase only at :meth:`PushControl.tick`, which the core calls once at the top of every event;
the queries (:meth:`~PushControl.due`, :meth:`~PushControl.next_wakeup`) change nothing. Every
registration starts by asking the loop for the listener (``LISTEN``): its answer carries the
listener's live URLs as a value read then, never a live view.

* **Where it stands** (:attr:`PushControl.source`, :attr:`PushControl.reason`): ``push`` once
  the device's TestWebHook call arrived; else ``poll`` with the reason - one of the fixed
  phrases below (``REASON_*``), followed by details.
* **What is due**: ask the loop for a listener URL (:meth:`PushControl.take_listen`), run the
  registration (:meth:`PushControl.due`), free our slots after a failed verification
  (:attr:`PushControl.free_wanted`), give up waiting for the test call
  (:meth:`PushControl.tick`), and when to look again (:meth:`PushControl.next_wakeup`).
* **Our slots, read again** (:meth:`PushControl.take_check`, :meth:`PushControl.checked`):
  ``recheck`` (10 s) after every claim, then every ``reverify`` (300 s) while slots are held
  (verifying, unverified, active). A slot that no longer holds our URL is not ours: it is
  given up - never written or freed - ``event_source`` goes back to ``poll`` and another slot
  is chosen (the decision and its cost: below).
* **Push polls** (:attr:`PushControl.poll_at`): polls push asks for besides the regular grid
  of ``status_interval`` (which a wake never moves): a wake's poll - at once, but at least
  ``min_gap`` after the previous push poll, so a flood of calls costs the device at most ~5
  polls a second; while a poll is in flight the next one waits for it (the core runs one flow
  at a time), so wakes coalesce into at most one pending poll. A wake whose poll finds nothing
  new is confirmed by follow-up polls (``confirm`` after the call: a call may precede the
  state); while a detection a call announced still shows, polls come every ``fast`` seconds
  until it clears (:meth:`PushControl.after_poll`), so its end - never announced - reaches the
  host promptly and the next detection is its own edge.
* **Unannounced events** (:meth:`PushControl.edges`): while push is claimed, a poll that finds
  an event starting with no call in the last ``status_interval`` + 1 s counts one;
  ``unannounced_after`` in a row mean the calls do not come: back to polling, and registering
  again after ``retry`` - unless the push schedule explains it (partial schedule: ``poll``
  until the next call, nothing registered again).
* **The device's life**: push is claimed only while a call has been verified since the last
  outage or unplanned login (:meth:`PushControl.lost`, :meth:`PushControl.reconnected`); late
  channels join (:meth:`PushControl.add_channels`); a slot URL of this library on this host is
  probed before it is reclaimed (:meth:`PushControl.take_probe`); the push schedule
  (:meth:`PushControl.scheduled`) turns ``push schedule off until HH:00`` on and off by the
  device's clock (:meth:`PushControl.tick`).

Why it is built this way (the decisions a change must keep):

* **A machine of its own, beside the core's.** Push has a life the device's phases do not
  show: a listener to ask for, a registration, a verify window, a fallback with a retry. It is
  one :class:`Phase`, so "what push does next" is read off one value, not off flags; the core
  (:mod:`reolink.driver.core`) feeds it inputs and asks it questions, and runs the flows
  (:mod:`reolink.driver.pushflow`) that talk to the device.
* **Time moves the phase only at tick().** The core calls :meth:`PushControl.tick` once at
  the top of every event, with the session's tick: a verify window that ran out, a retry that
  came due, the schedule's hour turning. Within one turn push's state then holds still, so
  the core's questions agree with each other.
* **Queries are pure; taking work says so.** :meth:`~PushControl.due`,
  :meth:`~PushControl.next_wakeup`, :meth:`~PushControl.poll_due` and the attributes change
  nothing; the inputs (``identified``, ``lost``, ``wake``, ``listening``, ``failed``...) do.
  The one-shot hand-overs are named for it - :meth:`~PushControl.take_listen` and
  :meth:`~PushControl.take_probe` move the phase to "asked, waiting for the answer",
  :meth:`~PushControl.take_check` clears the read it hands out - so a question can never
  start work by being asked twice.
* **Pure.** No I/O, no clock, no thread: a test drives hours of fallbacks and retries in
  milliseconds (tests/test_driver_push.py feeds ``PushWake`` and ``Listening`` directly).
* **Claims are read again late, then now and then** (``PushTiming.recheck``, ``reverify``).
  The device has no compare-and-swap: a claim is SetWebHook, a read-back, TestWebHook and a
  read after it, and another writer that read the table before our write (it saw the slot
  free) may write the same slot after our last read. The device then calls that system, not
  us, while the host is told ``push``; before, nothing saw it until an outage or an unplanned
  login, or three events found without a call (on a quiet camera: days). So:

  - *One late read, ``recheck`` = 10 s after the claim.* It catches every writer whose read
    and write are less than ~10 s apart: Home Assistant (reolink-aio reads the table, then
    writes the first free slot), another driver of this library - each reads and writes
    back to back, one request apart, and a slow device or a request timeout (8 s by default
    here) stretches that to seconds, not minutes. Longer costs nothing more (one request per
    claim either way) but the host is told push wrongly for longer; shorter would miss a
    writer held up by one slow request.
  - *Then every ``reverify`` = 300 s while slots are held.* What the late read cannot catch
    - a person editing the slots in the Reolink app (a read-to-write gap of minutes), a slot
    overwritten or freed at any later time - is found within 5 minutes. The cost is one
    request (one GetWebHook per registered channel, in one batch) per 5 minutes: 12 an hour
    per device, +1.7 % on the 720 polls an hour of the default 5 s status_interval. The
    unannounced-events rule stays: it catches what a read cannot (our URL in place, but the
    device does not call). A call proves only that some slot of some channel holds our URL
    (the call does not say which channel), so calls do not replace the read.
  - *A lost slot is let go, and only it.* A slot found holding another URL, or freed,
    leaves ``slots`` (so disconnect never frees it); our URL found in another slot of the
    channel is ours there; a table that cannot be read is no loss (read again ``recheck``
    later when nothing answered), and offline or asleep channels are not read at all (the
    core: a battery camera is never woken for it). Choosing again counts against CLAIM_AGAIN
    (two per identification, in full again once a late read found the claim held); beyond
    it, with no slot left, push falls back (``registration failed``) and registers again
    after ``retry``: it is never claimed on no slot. ``recheck`` and ``reverify`` are not
    scaled for tests: they bound other systems' real time and the device's load.
* **Reasons are fixed phrases** (``REASON_*``), the first words of ``event_source_reason``
  for people; code decides on :attr:`PushControl.phase` and :attr:`PushControl.source`, never
  on a reason's words.
"""

from __future__ import annotations

import enum
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import attrs

from ..protocol.pushschedule import PushSchedule
from ..protocol.session import plain_members

__all__ = [
    "REASONS",
    "REASON_DISABLED",
    "REASON_FAILED",
    "REASON_NO_SLOT",
    "REASON_OFF",
    "REASON_PORT_BUSY",
    "REASON_SCHEDULE_OFF",
    "REASON_UNANNOUNCED",
    "REASON_UNREACHABLE",
    "REASON_UNSUPPORTED",
    "REASON_UNVERIFIED",
    "Phase",
    "PushControl",
    "PushTiming",
]

#: The fixed phrases ``event_source_reason`` starts with (details follow after ": ").
REASON_OFF = "push attribute off"
REASON_UNSUPPORTED = "not supported"
REASON_DISABLED = "push disabled on the device"
REASON_SCHEDULE_OFF = "push schedule off"
REASON_NO_SLOT = "no free slot"
REASON_UNREACHABLE = "device cannot reach host:port"
REASON_PORT_BUSY = "listener port busy"
REASON_UNANNOUNCED = "events arrive without push calls"
REASON_UNVERIFIED = "push not verified"
REASON_FAILED = "registration failed"
#: Every reason, in the order the driver page lists them.
REASONS = (
    REASON_OFF,
    REASON_UNSUPPORTED,
    REASON_DISABLED,
    REASON_SCHEDULE_OFF,
    REASON_NO_SLOT,
    REASON_UNREACHABLE,
    REASON_PORT_BUSY,
    REASON_UNANNOUNCED,
    REASON_UNVERIFIED,
    REASON_FAILED,
)


_DAY = 86400.0
#: registrations run again when a read after the claim shows another writer took a slot (per
#: identification, and again once a late read found the claim held)
CLAIM_AGAIN = 2


class Phase(enum.Enum):
    OFF = "off"  # the push attribute is off: never registers
    IDLE = "idle"  # waiting for the device to be identified
    LISTEN = "listen"  # ask the loop for the listener URL and live set (before each registration)
    PROBE = "probe"  # slots hold this library's URLs on this host: ask the loop to probe them
    WAIT_PROBE = "wait-probe"  # asked the loop; Probed comes next
    WAIT_LISTENER = "wait-listener"  # asked the loop; Listening / ListenFailed comes next
    REGISTER = "register"  # registration due (GetPush, GetWebHook, SetWebHook, TestWebHook)
    REGISTERING = "registering"  # its flow is running
    VERIFYING = "verifying"  # TestWebHook sent: waiting for the device's call
    UNVERIFIED = "unverified"  # TestWebHook refused: the first real call promotes
    ACTIVE = "active"  # push works
    FALLBACK = "fallback"  # polling; registering again at retry_at (if any)


#: Phase's members as a plain class's attributes (session.plain_members: a read costs about
#: 20 ns against 95 ns through the Enum class up to Python 3.11; push control reads a dozen
#: per poll cycle). The very same members: compare, annotate and iterate with Phase itself.
_Ph = plain_members(Phase)

#: The phases in which slots of ours are claimed (read again at check_at).
_HELD = (_Ph.VERIFYING, _Ph.UNVERIFIED, _Ph.ACTIVE)


@attrs.frozen
class PushTiming:
    """The numbers of push (seconds)."""

    #: how long the device's TestWebHook call may take to arrive
    verify: float = 5.0
    #: after a fallback that may heal (unreachable, port busy, unannounced events, errors)
    retry: float = 600.0
    #: the shortest time between two push-triggered polls
    min_gap: float = 0.2
    #: this many events in a row seen by polls without a call -> fall back
    unannounced_after: int = 3
    #: the poll gap while a detection a call announced still shows (the driver page's floor)
    fast: float = 2.0
    #: follow-up polls this long after a call whose poll found nothing new
    confirm: Tuple[float, ...] = (0.4, 1.0)
    #: our slots are read once more this long after a claim (a writer that read the table
    #: before our SetWebHook may write the same slot after our read-backs; see the module doc)
    recheck: float = 10.0
    #: and again this often while push is held (another system may write our slot any time)
    reverify: float = 300.0

    def scaled(self, factor: float) -> PushTiming:
        """Faster retries for tests; ``verify``, ``min_gap``, ``recheck`` and ``reverify``
        stay: they bound real network time (the device's call, another writer's request) and
        the device's load, not the driver's schedule."""
        return attrs.evolve(self, retry=self.retry * factor)


class PushControl:
    """One device's push state (see the module docstring). Used by the core's thread only."""

    def __init__(self, mode: str, status_interval: float, timing: PushTiming) -> None:
        self.timing = timing
        self.status_interval = status_interval
        self.phase = _Ph.OFF if mode == "off" else _Ph.IDLE
        self.source = "poll"
        self.reason = REASON_OFF if mode == "off" else ""
        #: the URL the device calls (a secret: never logged) and ``host:port`` (not secret)
        self.url: Optional[str] = None
        self.where = ""
        #: channel -> slot index of ours on the device (freed by disconnect)
        self.slots: Dict[int, int] = {}
        #: channel -> slot index that may hold our URL, unconfirmed (a SetWebHook whose reply
        #: was lost): read before it is freed (disconnect) or reused (the next registration)
        self.maybe: Dict[int, int] = {}
        self.channels: Sequence[int] = ()
        self.retry_at: Optional[float] = None
        self.deadline: Optional[float] = None
        self.free_wanted = False
        self.last_wake: Optional[float] = None
        #: when the next push poll is due (None: none wanted); the regular grid is the core's
        self.poll_at: Optional[float] = None
        self._last_push_poll: Optional[float] = None
        #: follow-up polls still due after the last call (times)
        self._follow_ups: List[float] = []
        #: a call announced a detection that has not been seen clear yet
        self._fast = False
        self._unannounced = 0
        self._extending = False
        self._claims = 0
        #: when our slots are read again (recheck after a claim, then every reverify); read
        #: only in the phases that hold slots (_HELD)
        self.check_at: Optional[float] = None
        #: URLs of this library on this host found in slots: probed ones, and the dead ones
        #: among them (no live listener answered: reclaimed); asked again at identification
        self.probed: Set[str] = set()
        self.dead: Set[str] = set()
        self._probe: Tuple[str, ...] = ()
        #: the device's push schedule, and its clock (time of day = now + offset, mod a day)
        self.schedule = PushSchedule(known=False)
        self._clock_offset: Optional[float] = None
        #: push is verified but the schedule says the device does not call now
        self._scheduled_off = False

    # --- lifecycle ----------------------------------------------------------------------

    def identified(self, now: float, channels: Sequence[int]) -> None:
        """The device was (re)identified; ``channels``: the polled channels with a webhook."""
        if self.phase is _Ph.OFF:
            return
        self.channels = tuple(channels)
        if not self.channels:
            self._fallback(
                f"{REASON_UNSUPPORTED}: the device has no webhook (supportWebhook) on the "
                "polled channels",
                None,
            )
            return
        self.retry_at = None
        self._claims = 0
        self.probed, self.dead = set(), set()
        self.phase = _Ph.LISTEN

    def lost(self) -> None:
        """The device went offline or is rebooting: register again once it is back
        (:meth:`identified`); push is not claimed until a call is verified again."""
        if self.phase is not _Ph.OFF:
            self.phase = _Ph.IDLE
            self.deadline = None
            self._stop_polls()
            self._unclaim("the device was offline; push is verified again once it is back")

    def reconnected(self) -> None:
        """A login the driver did not plan (the device dropped our session: a reboot, a
        reset?): read the slots again, register if ours is gone, and verify with a test call."""
        if self.phase in _HELD:
            self.phase = _Ph.LISTEN
            self.deadline = None
            self._unclaim("the device's session was lost (a reboot?); verifying push again")

    def add_channels(self, channels: Sequence[int]) -> bool:
        """Channels with a webhook that were not there at identification (a camera came
        online on an NVR): registered too. True when a registration is now due."""
        new = [ch for ch in channels if ch not in self.channels]
        if self.phase is _Ph.OFF or not new:
            return False
        self.channels = tuple(sorted({*self.channels, *new}))
        if self.phase in _HELD:
            self.phase = _Ph.LISTEN
            self.deadline = None
            return True
        if self.phase is _Ph.FALLBACK and self.retry_at is None:  # nothing had a webhook
            self.phase = _Ph.LISTEN
            return True
        return False

    def _unclaim(self, detail: str) -> None:
        if self.source == "push":
            self.source, self.reason = "poll", f"{REASON_UNVERIFIED}: {detail}"

    def _choose_again(self, now: float, detail: str) -> bool:
        """Another writer holds a slot we claimed (:attr:`slots` holds what is left of ours):
        give up the claim and choose again - True - at most CLAIM_AGAIN times per
        identification (or since a late read found the claim held). Beyond that: with no slot
        left, poll and register again after ``retry``; with some, keep those."""
        if self._claims < CLAIM_AGAIN:
            self._claims += 1
            self.phase, self.deadline, self.check_at = _Ph.LISTEN, None, None
            self._unclaim(detail)
            return True
        if not self.slots:
            self._fallback(
                f"{REASON_FAILED}: other systems took our webhook slot {CLAIM_AGAIN + 1} "
                f"times in a row; registering again in {self.timing.retry:g} s",
                now,
            )
        return False

    def take_listen(self) -> bool:
        """True once when the loop should register on the listener (then Listening follows)."""
        if self.phase is not _Ph.LISTEN:
            return False
        self.phase = _Ph.WAIT_LISTENER
        return True

    def listening(self, url: str, where: str) -> None:
        self.url, self.where = url, where
        if self.phase is _Ph.WAIT_LISTENER:
            self.phase = _Ph.REGISTER

    def listen_failed(self, now: float, reason: str) -> None:
        if self.phase is _Ph.WAIT_LISTENER:
            self._fallback(reason, now)

    def want_probe(self, urls: Tuple[str, ...]) -> None:
        """The registration found these URLs of this library on this host: probe, then go on."""
        if self.phase is _Ph.REGISTERING:
            self.phase, self._probe = _Ph.PROBE, urls

    def take_probe(self) -> Tuple[str, ...]:
        """The URLs the loop should probe now (once; Probed follows), or ()."""
        if self.phase is not _Ph.PROBE:
            return ()
        self.phase = _Ph.WAIT_PROBE
        return self._probe

    def probe_result(self, dead: FrozenSet[str]) -> None:
        self.probed.update(self._probe)
        self.dead.update(dead)
        self._probe = ()
        if self.phase is _Ph.WAIT_PROBE:
            self.phase = _Ph.LISTEN

    # --- registration -------------------------------------------------------------------

    def due(self, now: float) -> bool:
        """Should the registration flow run now? A pure query: time moves the phase only at
        :meth:`tick` (the core calls it once, at the top of each event)."""
        del now
        return self.phase is _Ph.REGISTER and self.url is not None

    def registering(self) -> None:
        self.phase = _Ph.REGISTERING
        #: push was verified already (more channels are registered): no test call is needed
        self._extending = self.source == "push"

    def scheduled(self, schedule: PushSchedule, clock_offset: Optional[float]) -> None:
        """The push schedule read with the registration; ``clock_offset``: the device's time
        of day is ``now + clock_offset`` seconds (mod a day), None when unknown."""
        self.schedule, self._clock_offset = schedule, clock_offset

    def _schedule_off_now(self, now: float) -> Optional[str]:
        """The reason while the schedule says the device does not call now (hours known)."""
        if self._clock_offset is None or self.schedule.hours is None:
            return None
        hour = int(((now + self._clock_offset) % _DAY) // 3600)
        until = self.schedule.off_until(hour)
        if until is None:
            return None
        return (
            f"{REASON_SCHEDULE_OFF} until {until:02d}:00 (device time; GetPushV20's push "
            "schedule): the device does not call before then, events are found by polling"
        )

    def verifying(self, now: float, slots: Dict[int, int]) -> bool:
        """Our slots are written (and read back); True when TestWebHook goes out now."""
        self.slots = dict(slots)
        self.check_at = now + self.timing.recheck
        if self._extending:
            self.phase = _Ph.ACTIVE
            return False
        self.phase = _Ph.VERIFYING
        self.deadline = now + self.timing.verify
        return True

    def claim_again(self, now: float, kept: Dict[int, int]) -> bool:
        """Read after the test call: another writer took some of our slots. True when the
        registration runs again (at most CLAIM_AGAIN times, see :meth:`_choose_again`).

        The device's test call may have arrived before that read (push is then ACTIVE): a
        claim made on a slot another writer holds is given up all the same, and push is
        verified again once the slots are chosen again."""
        self.slots = dict(kept)
        if self.phase not in (_Ph.VERIFYING, _Ph.ACTIVE):
            return False
        return self._choose_again(now, "another writer took our webhook slot; registering again")

    def check_due(self, now: float) -> bool:
        """Should our slots be read again now (a late or periodic read)? A pure query."""
        at = self.check_at
        return at is not None and now >= at and self.phase in _HELD and bool(self.slots)

    def take_check(self, now: float) -> Dict[int, int]:
        """The slots (channel -> index) to read again now - once: :meth:`checked` (or
        :meth:`check_failed`) follows - or {} when no read is due."""
        if not self.check_due(now):
            return {}
        self.check_at = None
        return dict(self.slots)

    def check_failed(self, now: float) -> None:
        """The read of :meth:`take_check` got no answer: read again ``recheck`` later."""
        if self.phase in _HELD:
            self.check_at = now + self.timing.recheck

    def checked(
        self, now: float, asked: Dict[int, int], held: Dict[int, int], lost: Sequence[int]
    ) -> bool:
        """The slots ``asked`` were read again: ``held`` (channel -> index holding our URL),
        ``lost`` (channels whose table holds our URL nowhere: another system wrote or freed
        our slot). A channel in neither could not be read (read again next time). True when a
        slot was lost; :attr:`phase` then says what comes next (:meth:`_choose_again`):
        LISTEN - choosing again now; FALLBACK - registering again after ``retry``; still
        holding - the other channels' slots are kept.

        Such a slot is not ours any more: it leaves :attr:`slots` (never written or freed)."""
        if self.phase not in _HELD or self.slots != asked:
            return False  # push moved on while the read ran (lost, reconnected...)
        self.slots.update(held)  # our URL in another slot of the channel: the device calls it
        for ch in lost:
            self.slots.pop(ch, None)
        if not lost:
            self.check_at = now + self.timing.reverify
            if len(held) == len(asked):
                self._claims = 0  # the claim held: a later loss may be chosen again in full
            return False
        if self._choose_again(
            now,
            f"another system took our webhook slot after it was claimed (channel(s) "
            f"{', '.join(str(ch) for ch in sorted(lost))}); choosing another slot",
        ):
            return True
        if self.phase in _HELD:  # some slots are still ours: keep reading them
            self.check_at = now + self.timing.reverify
        return True

    def test_refused(self, detail: str) -> None:
        """TestWebHook was answered with an error: keep the slots, trust the first real call."""
        if self.phase is _Ph.VERIFYING:
            self.phase = _Ph.UNVERIFIED
            self.deadline = None
            self.source = "poll"
            self.reason = (
                f"{REASON_UNVERIFIED}: the device refused TestWebHook ({detail}); push is used "
                "from its first call"
            )

    def failed(self, now: float, reason: str, *, retry: bool = True) -> None:
        """Registration cannot work now: poll, and (``retry``) register again later."""
        self._fallback(reason, now if retry else None)

    def freed(self) -> None:
        """Our slots were freed (or the device is gone): nothing of ours is left there."""
        self.slots = {}
        self.free_wanted = False

    # --- time ---------------------------------------------------------------------------

    def tick(self, now: float) -> None:
        """Time-driven transitions: the test call never came; a retry is due; the push
        schedule's hours begin or end."""
        if self.phase is _Ph.ACTIVE and self.schedule.hours is not None:
            off = self._schedule_off_now(now)
            if off is not None:
                self._scheduled_off = True
                self.source, self.reason = "poll", off
            elif self._scheduled_off:
                self._scheduled_off = False
                self.source, self.reason = "push", ""
        if self.phase is _Ph.VERIFYING and self.deadline is not None and now >= self.deadline:
            self.free_wanted = bool(self.slots)
            self._fallback(
                f"{REASON_UNREACHABLE}: the device's TestWebHook call to {self.where} never "
                f"came within {self.timing.verify:g} s; it must reach this host over plain "
                "HTTP (open the firewall for that port, or set push_host / push_port)",
                now,
            )
        elif self.phase is _Ph.FALLBACK and self.retry_at is not None and now >= self.retry_at:
            self.retry_at = None
            self.phase = _Ph.LISTEN

    def next_wakeup(self, now: float) -> Optional[float]:
        """When :meth:`tick`, :meth:`due` or :meth:`check_due` may change something (None:
        nothing timed)."""
        at = self._phase_wakeup(now)
        check = self.check_at  # (None with push off: the cheap test first)
        if check is None or not self.slots or self.phase not in _HELD:
            return at
        return check if at is None else min(at, check)

    def _phase_wakeup(self, now: float) -> Optional[float]:
        if self.phase in (_Ph.LISTEN, _Ph.REGISTER, _Ph.PROBE) or self.free_wanted:
            return now
        if self.phase is _Ph.VERIFYING:
            return self.deadline
        if self.phase is _Ph.FALLBACK:
            return self.retry_at
        if self.phase is _Ph.ACTIVE and self._clock_offset is not None and not (
            self.schedule.always_on or self.schedule.hours is None
        ):
            return now + 3600 - (now + self._clock_offset) % 3600  # the next full hour
        return None

    # --- wakes and polls ----------------------------------------------------------------

    def wake(self, now: float) -> Optional[float]:
        """A call from the device: when the poll it asks for may run (None: ignore it)."""
        if self.phase is _Ph.OFF:
            return None
        self.last_wake = now
        if self.phase in (_Ph.VERIFYING, _Ph.UNVERIFIED):
            self.phase = _Ph.ACTIVE
            self.deadline = None
            self._unannounced = 0
            self.source, self.reason = "push", ""
        elif self.phase is _Ph.ACTIVE and self._scheduled_off and self.schedule.partial:
            self._scheduled_off = False  # the schedule's hours are on again: calls come
            self.source, self.reason = "push", ""
        self._fast = True
        self._follow_ups = [now + delay for delay in self.timing.confirm]
        return max(now, self._want(now))

    @property
    def watching(self) -> bool:
        """Whether :meth:`after_poll` reads its ``showing`` argument: only while a call's
        detection is followed by fast polls (otherwise False may be passed uncomputed)."""
        return self._fast

    def poll_due(self, now: float) -> bool:
        return self.poll_at is not None and now >= self.poll_at

    def poll_started(self, now: float) -> bool:
        """A poll begins; True when it is the push poll that was due (it counts for min_gap)."""
        if not self.poll_due(now):
            return False
        self.poll_at = None
        self._last_push_poll = now
        return True

    def after_poll(self, start: float, now: float, rising: int, showing: bool) -> None:
        """A poll that began at ``start`` ended at ``now``: ``rising`` watched zones saw an
        event start; ``showing``: some zone still shows a detection. Plans the next push poll."""
        self.edges(now, rising)
        if rising > 0:
            self._follow_ups = []  # the call's event is seen
        else:
            self._follow_ups = [t for t in self._follow_ups if t > start]
        if not showing and not self._follow_ups:
            self._fast = False
        wanted = []
        if self._follow_ups:
            wanted.append(self._follow_ups[0])
        if self._fast and showing:
            wanted.append(start + self.timing.fast)
        if wanted:
            self._want(min(wanted))

    def _want(self, at: float) -> float:
        if self._last_push_poll is not None:
            at = max(at, self._last_push_poll + self.timing.min_gap)
        self.poll_at = at if self.poll_at is None else min(self.poll_at, at)
        return self.poll_at

    def _stop_polls(self) -> None:
        self.poll_at = None
        self._follow_ups = []
        self._fast = False

    def edges(self, now: float, rising: int) -> None:
        """A poll found ``rising`` events starting: were they announced by a call?"""
        if rising <= 0 or self.source != "push":  # every phase where push is claimed
            return  # (not while the schedule says the device does not call)
        window = self.status_interval + 1.0
        if self.last_wake is not None and now - self.last_wake <= window:
            self._unannounced = 0
            return
        self._unannounced += 1
        if self._unannounced < self.timing.unannounced_after:
            return
        if self.phase is _Ph.ACTIVE and self.schedule.partial:
            # Off at hours the table cannot place: not a failure, nothing to register again.
            self._unannounced = 0
            self._scheduled_off = True
            self.source, self.reason = "poll", (
                f"{REASON_SCHEDULE_OFF} at some hours (GetPushV20's push schedule differs "
                "between days, whose order the API does not document): events now are found "
                "by polling; push again at the device's next call"
            )
            return
        self._fallback(
            f"{REASON_UNANNOUNCED}: {self._unannounced} events in a row were found by "
            f"polling without a call from the device; registering again in "
            f"{self.timing.retry:g} s",
            now,
        )

    # --- internals ----------------------------------------------------------------------

    def _fallback(self, reason: str, now: Optional[float]) -> None:
        self.phase = _Ph.FALLBACK
        self.deadline = self.check_at = None
        self._unannounced = 0
        self.source, self.reason = "poll", reason
        self.retry_at = None if now is None else now + self.timing.retry
