"""The detection-setup read: when it is due, the flows that read it, and what it writes.

At connect and then every ``Timing.setup_every`` seconds (30 minutes) the driver reads what
decides whether events can reach the host (:mod:`reolink.protocol.setup`) and writes the zone
attribute ``setup`` ("" when nothing is wrong, else the cause and the fix) and the device
attribute ``setup`` (device-wide findings). The rules:

* One request per channel, each judged before the next is sent: a whole NVR's area grids in
  one reply made every device hold up to 94 KB at once.
* One request per session step (each is a flow of its own): a poll that falls due meanwhile
  goes first, so no poll waits for more than one of them.
* The read, and each of its requests, is put off while a detection is active (it would only
  add a request while the host waits for the end of an event).
* A failed request fails the read, which changes nothing else: no offline, no retry before
  the next interval; what could not be read is logged at DEBUG and concludes nothing. A
  reconnect (:meth:`SetupCheck.identified`) drops a read under way.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Set, Tuple

import attrs

from ..errors import ReolinkError
from ..protocol import setup
from .client import DeviceClient, Flow
from .config import ZoneConfig
from .host_commands import DeviceFacts
from .logs import DeviceLog
from .store import AttributeStore

__all__ = ["SetupCheck"]


@attrs.define
class _Read:
    """A setup read under way: what it asks, how far it got, and its judge."""

    zones: List[ZoneConfig]
    parts: List[List[setup.Command]]
    judge: setup.SetupJudge
    done: int = 0


class SetupCheck:
    """Due time and state of the setup read of one device (driven by the core).

    A read is one request per channel (:func:`reolink.protocol.setup.setup_parts`), one per
    session step: a poll that falls due meanwhile goes first (a 64-channel NVR's read is 64
    requests, which must not hold back the polls that report detections). ``due_at`` is when
    the next step of the setup read may run: the next part (at once) while a read is under
    way, else the next read.
    """

    def __init__(
        self,
        zones: Sequence[ZoneConfig],
        status_interval: float,
        store: AttributeStore,
        log: DeviceLog,
        every: float,
        *,
        push: bool = True,
    ) -> None:
        self._zones = tuple(zones)
        self._every = every
        self._push_wanted = push
        self._interval = status_interval
        self._store = store
        self._log = log
        #: when the next part or read is due (None: not identified yet)
        self.due_at: Optional[float] = None
        #: the read under way (None between reads)
        self._read: Optional[_Read] = None
        #: when the read after the one under way is due (set when a read starts)
        self._next_read_at: Optional[float] = None
        self._skip: Set[Tuple[str, Optional[int]]] = set()
        self.reads = 0
        #: the last read's report and the zones it could conclude about
        self._report: Optional[Tuple[setup.SetupReport, List[ZoneConfig]]] = None
        self._push_active = False

    def identified(self, now: float) -> None:
        """Connected (again): read one status_interval later (the first moments belong to the
        host's commands and push registration), probing both firmware generations again. A
        read that was under way is dropped: it concludes nothing."""
        self.due_at = now + self._interval if self._every > 0 else None
        self._read = None
        self._skip.clear()

    def take_due(self, now: float) -> bool:
        """Whether to read (or go on reading) now. Not a pure query: while a detection is
        active the read is put off one interval (``due_at`` moves; False)."""
        if self.due_at is None or now < self.due_at:
            return False
        if self._detecting():
            self.due_at = now + self._interval
            return False
        return True

    def _detecting(self) -> bool:
        store = self._store
        for zone in self._zones:
            address = zone.address
            if (
                store.get("zone", address, "motion") == 1
                or store.get("zone", address, "visitor") == 1
                or store.get("zone", address, "ai_detected")
            ):
                return True
        return False

    def flow(self, client: DeviceClient, facts: DeviceFacts, channels: Sequence[int]) -> Flow[None]:
        """One step of a read: its next part (the first one plans the read), sent and judged;
        after the last part, the report is written."""
        read = self._read or self._start(client.now, facts, channels)
        if read is None:
            return
        if read.done < len(read.parts):  # (a plan with nothing to ask is judged at once)
            part = read.parts[read.done]
            try:
                replies = yield from client.call(part)
            except ReolinkError as error:
                # A failed part fails the read: nothing is concluded, the next read as planned.
                self._log.debug("detection setup not read: %s", error)
                self._read, self.due_at = None, self._next_read_at
                return
            read.judge.add(part, replies)
            read.done += 1
            if read.done < len(read.parts):
                self.due_at = client.now  # the next part at the next step (a due poll first)
                return
        self._read, self.due_at = None, self._next_read_at
        report = read.judge.report()
        self.reads += 1
        self._skip |= report.unsupported
        for unknown in report.unknowns:
            where = "device" if unknown.channel is None else f"channel {unknown.channel}"
            self._log.debug("setup: %s: %s unknown (%s)", where, unknown.what, unknown.why)
        # A channel none of whose facts could be read (asleep, offline...) concludes nothing.
        read_channels = {channel for channel, _ in report.fine}
        read_channels |= {f.channel for f in report.findings}
        self._report = (report, [z for z in read.zones if z.channel in read_channels])
        self._write()

    def _start(self, now: float, facts: DeviceFacts, channels: Sequence[int]) -> Optional[_Read]:
        """Plan a read (the next one is due ``every`` from now); None when no zone is reachable."""
        self._next_read_at = now + self._every
        self.due_at = self._next_read_at
        zones = [z for z in self._zones if z.channel in channels]
        if not zones:
            return None
        context = setup.SetupContext(
            channels=tuple(sorted({z.channel for z in zones})),
            ai_types={z.channel: z.ai_types for z in zones},
            ability=facts.ability,
            model=facts.info.model if facts.info is not None else "",
            device_type=facts.info.type if facts.info is not None else "",
            status_interval=self._interval,
            push=self._push_wanted,
            skip=frozenset(self._skip),
        )
        parts = setup.setup_parts(setup.plan_setup(context))
        self._read = _Read(zones, parts, setup.SetupJudge(context))
        return self._read

    def push_changed(self, active: bool) -> None:
        """Push became trusted (or was lost): a doorbell press is then polled at once, so the
        "presses can be missed" finding comes and goes with it, without a new read."""
        if active != self._push_active:
            self._push_active = active
            self._write()

    def _write(self) -> None:
        if self._report is None:
            return
        report, zones = self._report
        if self._push_active:
            kept = tuple(f for f in report.findings if f.code != setup.VISITOR_MISSABLE)
            report = attrs.evolve(report, findings=kept)
        for zone in zones:
            text = report.zone_text(zone.channel)
            if text and self._store.get("zone", zone.address, "setup") != text:
                self._log.info("zone %s setup: %s", zone.address, text)
            self._store.set("zone", zone.address, "setup", text)
        device_text = report.device_text()
        if device_text and self._store.get("device", None, "setup") != device_text:
            self._log.info("device setup: %s", device_text)
        self._store.set("device", None, "setup", device_text)
