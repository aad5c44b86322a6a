"""A second writer that takes our webhook slot after our last read-back (issue 19, push race).

The device has no compare-and-swap: another system that read the slot table before our
SetWebHook (it saw the slot free) may write the same slot after our read after the test call.
The device then calls that system, not us, while the host is told ``push``. The driver reads
its slots once more ``PushTiming.recheck`` after the claim, and every ``PushTiming.reverify``
while push is held: a slot no longer ours is left alone (never written, never freed),
``event_source`` goes back to ``poll`` and another slot is chosen.

The pure core against the emulator's synchronous app on simulated time (tests/simdevice.py):
the listener is played by the harness (``Listen`` is answered with ``Listening``) and each
POST the emulated device makes to our URL is fed as a ``PushWake``. No thread, socket or sleep.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Tuple

import pytest
from simdevice import AppDevice, SimHarness
from test_driver_core import Outcome

from reolink.driver.messages import Disconnect, Listening, PushWake
from reolink.driver.pushcontrol import Phase as PushPhase
from reolink.driver.pushcontrol import PushTiming
from reolink.driver.timing import Timing
from reolink.emulator.faults import Fault
from reolink.transport import Request

TOKEN = "SECRETlateSECRETlateSECRETlate00"
URL = f"http://127.0.0.1:8123/reolink/push/{TOKEN}"
WHERE = "127.0.0.1:8123"
OTHER = "http://10.0.0.9:8000/other-system/hook"
TIMING = Timing(setup_every=0.0)
#: the late read after a claim, and the period of the reads while push is held (PushTiming)
RECHECK, REVERIFY = 10.0, 300.0


class Calls:
    """Stands in for the emulated device's webhook sender: records each POST (no thread)."""

    def __init__(self) -> None:
        self.pending: List[str] = []
        self.made: List[Tuple[str, str]] = []  # (url, kind)

    def post(self, url: str, body: bytes, kind: str, channel: int) -> bool:
        del body, channel
        self.pending.append(url)
        self.made.append((url, kind))
        return True

    def start(self) -> None:
        pass

    def stop(self, timeout: float = 5.0) -> None:
        pass


class SecondWriter(AppDevice):
    """The emulator's app, plus another system whose write lands on the slot holding our URL
    just after the request holding GetWebHook number ``after_reads`` once TestWebHook was seen
    (it read the table before our SetWebHook, when that slot was free)."""

    def __init__(self, emulator: Any, after_reads: int = 1) -> None:
        super().__init__(emulator)
        self.after_reads = after_reads
        self.reads_after_test = 0
        self.armed = True
        self.tested = False
        #: (when, channel, index) of the write
        self.took: Optional[Tuple[float, int, int]] = None
        #: (when, param) of every SetWebHook sent
        self.sets: List[Tuple[float, Dict[str, Any]]] = []

    def __call__(self, request: Request, now: float) -> Outcome:
        batch = json.loads(request.body or b"[]")
        self.sets += [(now, c["param"]["WebHook"]) for c in batch if c["cmd"] == "SetWebHook"]
        outcome = super().__call__(request, now)
        cmds = [c["cmd"] for c in batch]
        if "TestWebHook" in cmds:
            self.tested = True
        elif self.armed and self.tested and "GetWebHook" in cmds:
            self.reads_after_test += 1
            if self.reads_after_test == self.after_reads:
                self.take(now)
        return outcome

    def take(self, now: float, channel: int = 0) -> None:
        self.armed = False
        (index,) = ours(self.emulator, channel)
        self.emulator.set_webhook(channel, index, OTHER)
        self.took = (now, channel, index)


def ours(emulator: Any, channel: int = 0) -> List[int]:
    return [s["index"] for s in emulator.device.webhooks.slots[channel] if s["hookUrl"] == URL]


class PushSim(SimHarness):
    """SimHarness with push on: Listen is answered, the device's POSTs to URL become wakes."""

    def __init__(self, *, timing: Timing = TIMING, **attributes: str) -> None:
        self.calls = Calls()
        super().__init__(timing=timing, push="auto", **attributes)
        self.emu.device.webhooks.sender = self.calls  # type: ignore[assignment]
        self.writer = SecondWriter(self.emu)
        self.device = self.writer

    def feed(self, event: Any) -> None:
        super().feed(event)
        if self.core.push.phase is PushPhase.WAIT_LISTENER:
            self.feed(Listening(URL, WHERE))
        while self.calls.pending:
            if self.calls.pending.pop(0) == URL:
                self.feed(PushWake())

    def source_at(self) -> List[Tuple[float, Any]]:
        return [(t, e.value) for t, e in self.events if e.name == "event_source"]


def _settled(h: PushSim, limit: float = 3600.0) -> bool:
    """Push held in a slot that holds our URL (what the host is told is what the device does)."""
    return h.run_until(
        lambda: h.value("event_source") == "push" and len(ours(h.emu)) == 1, limit, 0.1
    )


def test_a_slot_taken_after_our_last_read_back_is_given_up_and_chosen_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = PushSim()
    with caplog.at_level(logging.INFO, logger="reolink.driver"):
        h.run_until(lambda: h.writer.took is not None, 10.0, 0.05)
        assert h.writer.took is not None
        took_at, _, taken = h.writer.took
        assert h.value("event_source") == "push"  # the test call came: nothing looked wrong
        slots = h.emu.device.webhooks.slots[0]
        assert slots[taken]["hookUrl"] == OTHER and ours(h.emu) == []  # the device calls OTHER
        recheck = RECHECK
        # Within recheck (and a poll) of the claim, push is given up; then claimed anew.
        assert h.run_until(lambda: h.value("event_source") == "poll", recheck + 6.0, 0.05)
        lied = h.now - took_at
        assert _settled(h, 30.0)
    assert lied <= recheck + 6.0
    assert h.history("event_source") == ["push", "poll", "push"]
    reason = h.history("event_source_reason")[-2]
    assert reason.startswith("push not verified: another system took our webhook slot")
    assert slots[taken]["hookUrl"] == OTHER  # never written, never freed
    assert [p["index"] for t, p in h.writer.sets if t > took_at] != []
    assert all(p["index"] != taken for t, p in h.writer.sets if t > took_at)
    (now_ours,) = ours(h.emu)
    assert now_ours != taken
    # One clear WARNING: which channel and slot, what happens next; never the URL's secret.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert f"channel 0: webhook slot {taken}" in warnings[0]
    assert "another system" in warnings[0] and "choosing another slot" in warnings[0]
    assert all(TOKEN not in r.getMessage() for r in caplog.records)
    # The device calls us again: a motion reaches the host at once, not at the next poll.
    h.emu.set_motion(0, True)
    mark = h.now
    assert h.run_until(lambda: h.value("motion", "0") == 1, 5.0, 0.01)
    assert h.now - mark < 0.5
    assert (URL, "motion") in h.calls.made and (OTHER, "motion") in h.calls.made


def test_a_slot_taken_later_is_found_by_the_periodic_read() -> None:
    h = PushSim()
    h.writer.armed = False
    assert _settled(h, 10.0)
    h.run(RECHECK + 100.0)  # the late read found it ours; all quiet since
    assert h.history("event_source") == ["push"]
    h.writer.take(h.now)  # the Reolink app, in the middle of the run
    assert h.writer.took is not None
    took_at, _, taken = h.writer.took
    assert h.run_until(lambda: "poll" in h.history("event_source"), REVERIFY + 6.0)
    (given_up,) = [t for t, v in h.source_at() if v == "poll"]
    assert given_up - took_at <= REVERIFY
    assert _settled(h, 30.0)
    assert h.history("event_source") == ["push", "poll", "push"]
    assert h.emu.device.webhooks.slots[0][taken]["hookUrl"] == OTHER
    assert all(p["index"] != taken for t, p in h.writer.sets if t > took_at)


def test_holding_push_costs_one_late_read_and_one_read_per_reverify_period() -> None:
    h = PushSim()
    h.writer.armed = False
    assert _settled(h, 10.0)
    start = h.now
    before = len(h.sent("GetWebHook"))
    h.run(3600.0)
    reads = [t for t in h.sent("GetWebHook") if t > start]
    assert len(h.sent("GetWebHook")) - before == len(reads)
    assert len(reads) == 1 + int((3600.0 - RECHECK) // REVERIFY)
    assert reads[0] - start <= RECHECK + 5.0
    assert h.history("event_source") == ["push"]  # each read found the slot ours
    assert h.sent("SetWebHook") and len(h.sent("SetWebHook")) == 1


@pytest.mark.parametrize("freed", [False, True])
def test_a_slot_freed_or_taken_while_the_test_call_is_refused_is_chosen_again(
    freed: bool,
) -> None:
    h = PushSim()
    h.writer.armed = False
    h.emu.device.webhooks.test = lambda channel, url: (_ for _ in ()).throw(  # type: ignore
        ValueError("hookUrl")
    )  # this firmware refuses TestWebHook (-4): push is used from the first real call
    assert h.run_until(lambda: h.core.push.phase is PushPhase.UNVERIFIED, 10.0, 0.05)
    (index,) = ours(h.emu)
    if freed:
        h.emu.device.webhooks.slots[0][index] = {
            "index": index, "indexEnable": -1, "hookUrl": "", "bCustom": 0, "hookBody": ""}
    else:
        h.writer.take(h.now)
    assert h.run_until(lambda: len(ours(h.emu)) == 1, RECHECK + 6.0, 0.05)
    assert h.value("event_source") == "poll"  # still waiting for a first real call
    if not freed:
        assert h.emu.device.webhooks.slots[0][index]["hookUrl"] == OTHER
        assert ours(h.emu) != [index]


def test_timing_defaults_and_scaling() -> None:
    timing = PushTiming()
    assert (timing.recheck, timing.reverify) == (RECHECK, REVERIFY)
    scaled = timing.scaled(0.01)
    # They bound other systems' real time and the device's load: not scaled for tests.
    assert (scaled.recheck, scaled.reverify) == (timing.recheck, timing.reverify)


def test_a_late_read_without_answer_is_tried_again_and_disconnect_frees_only_ours(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = PushSim()
    h.writer.armed = False
    assert _settled(h, 1.0)
    h.emu.add_fault(Fault("drop", count=1, cmd="GetWebHook"))  # the late read's reply is lost
    with caplog.at_level(logging.WARNING, logger="reolink.driver"):
        h.run(RECHECK + 1.0)
        assert h.emu.pending_faults == []
        reads = h.sent("GetWebHook")
        h.run(RECHECK)
    assert len(h.sent("GetWebHook")) == len(reads) + 1  # read again recheck later, not at once
    assert h.history("event_source") == ["push"] and h.history("online") == [True]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    (index,) = ours(h.emu)
    h.writer.take(h.now)  # taken; then disconnect before any read saw it
    h.feed(Disconnect(h.now))
    h.run(1.0)
    assert h.finished
    assert h.emu.device.webhooks.slots[0][index]["hookUrl"] == OTHER  # read first: not ours


def test_channels_offline_or_asleep_are_not_read() -> None:
    h = PushSim(zones={"0": {}, "1": {}}, emulator={"profile": "nvr", "channels": 2})
    h.writer.armed = False
    assert h.run_until(lambda: h.value("event_source") == "push", 5.0, 0.05)
    assert ours(h.emu, 0) and ours(h.emu, 1)
    h.run(RECHECK + 1.0)
    h.emu.set_online(1, False)
    h.run(REVERIFY)
    batches = [
        c.count("GetWebHook") for t, c, _ in h.device.log if t > RECHECK + 6.0 and "GetWebHook" in c
    ]
    assert batches == [1]  # the periodic read: channel 0 only
    assert h.history("event_source") == ["push"]
