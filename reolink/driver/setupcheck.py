"""The detection-setup read: when it is due, the flow that reads it, and what it writes.

At connect and then every ``Timing.setup_every`` seconds (30 minutes) the driver reads what
decides whether events can reach the host (:mod:`reolink.protocol.setup`), one request per
channel, each judged before the next is sent (a whole NVR's area grids in one reply made every
device hold up to 94 KB at once), and writes the zone attribute ``setup`` ("" when nothing
is wrong, else the cause and the fix) and the device attribute ``setup`` (device-wide
findings). The read is put off while a detection is active
(it would only add a request while the host waits for the end of an event). A failed read
changes nothing else: no offline, no retry before the next interval; what could not be read is
logged at DEBUG and concludes nothing.
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


class SetupCheck:
    """Due time and state of the setup read of one device (driven by the core)."""

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
        #: when the next read is due (None: not identified yet)
        self.due_at: Optional[float] = None
        self._skip: Set[Tuple[str, Optional[int]]] = set()
        self.reads = 0
        #: the last read's report and the zones it could conclude about
        self._report: Optional[Tuple[setup.SetupReport, List[ZoneConfig]]] = None
        self._push_active = False

    def identified(self, now: float) -> None:
        """Connected (again): read one status_interval later (the first moments belong to the
        host's commands and push registration), probing both firmware generations again."""
        self.due_at = now + self._interval if self._every > 0 else None
        self._skip.clear()

    def lost(self) -> None:
        self.due_at = None

    def due(self, now: float) -> bool:
        """Whether to read now; a read due while a detection is active is put off a poll."""
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
        """One read: plan, send and judge channel by channel, write."""
        now = client.now
        self.due_at = now + self._every
        zones = [z for z in self._zones if z.channel in channels]
        if not zones:
            return
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
        # One request per channel, each judged as it comes (protocol.setup.setup_parts: the
        # area grids make a whole NVR's reply large); a failed part fails the whole read.
        judge = setup.SetupJudge(context)
        try:
            for part in setup.setup_parts(setup.plan_setup(context)):
                replies = yield from client.call(part)
                judge.add(part, replies)
        except ReolinkError as error:
            self._log.debug("detection setup not read: %s", error)
            return
        report = judge.report()
        self.reads += 1
        self._skip |= report.unsupported
        for unknown in report.unknowns:
            where = "device" if unknown.channel is None else f"channel {unknown.channel}"
            self._log.debug("setup: %s: %s unknown (%s)", where, unknown.what, unknown.why)
        # A channel none of whose facts could be read (asleep, offline...) concludes nothing.
        read = {channel for channel, _ in report.fine} | {f.channel for f in report.findings}
        self._report = (report, [z for z in zones if z.channel in read])
        self._write()

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
