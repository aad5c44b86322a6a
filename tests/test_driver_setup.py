"""The driver's detection-setup read and the visitor attribute, against the emulator.

The pure core runs on simulated time (30 minutes pass in milliseconds) and its requests are
answered in-process by the emulator's ``app``: no threads, no sockets. Each finding is set up
in the emulator the way an owner could in the Reolink app (an empty motion area, PIR off...),
and the zone or device ``setup`` attribute must say it - and go back to "" once fixed.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional

import pytest
from conftest import channel_of
from simdevice import AppDevice
from test_driver_core import Harness

from reolink.driver.config import parse_device
from reolink.driver.core import DriverCore
from reolink.driver.messages import Listen, Listening, PushWake
from reolink.driver.timing import Timing
from reolink.emulator import Emulator
from reolink.emulator.faults import Drop, Http502

EVERY = 1800.0
INTERVAL = 5.0


class SetupHarness(Harness):
    """The core harness with any device attributes and zones, on the emulator."""

    def __init__(
        self, emulator: Emulator, zones: Dict[str, Dict[str, str]], **attributes: str
    ) -> None:
        self._setup_zones = zones
        self._attributes = attributes
        super().__init__(AppDevice(emulator), zones, timing=Timing())

    def feed(self, event: Any) -> None:
        if not hasattr(self, "_configured"):
            self._configured = True  # rebuilt before the first event, with our attributes
            attributes = {"ip": "127.0.0.1", "username": "admin", "password": "admin123",
                          **self._attributes}
            self.core = DriverCore(parse_device(attributes, self._setup_zones), Timing())
        super().feed(event)

    def setup_reads(self) -> List[float]:
        return [t for t, cmds, _ in self.device.log if "GetMdAlarm" in cmds]


def connected(emulator: Emulator, zones: Optional[Dict[str, Dict[str, str]]] = None,
              **attributes: str) -> SetupHarness:
    h = SetupHarness(emulator, zones or {"0": {}}, **attributes)
    h.run(INTERVAL + 0.5)  # the first read is one status_interval after connect
    return h


def test_a_healthy_camera_reads_its_setup_at_connect_then_every_30_minutes() -> None:
    emu = Emulator(profile="camera")
    h = connected(emu)
    assert h.value("setup", "0") == "" and h.value("setup") == ""
    assert h.setup_reads() == [INTERVAL]
    first = next(cmds for _, cmds, _ in h.device.log if "GetMdAlarm" in cmds)
    assert {"GetAlarm", "GetPush", "GetAiCfg", "GetAiAlarm", "GetPushCfg"} <= set(first)
    h.run(EVERY - 1)
    assert h.setup_reads() == [INTERVAL]
    h.run(2 * INTERVAL)
    assert len(h.setup_reads()) == 2 and h.setup_reads()[1] >= INTERVAL + EVERY
    # Probed once: the legacy twins of what answered are not asked again.
    later = [cmds for _, cmds, _ in h.device.log if "GetMdAlarm" in cmds][1]
    assert "GetAlarm" not in later and "GetPush" not in later and "GetPushV20" in later
    assert h.history("setup", "0") == [""]
    assert h.value("online", "0") is True


def test_an_nvr_reads_its_setup_one_channel_per_request_and_judges_each_channel() -> None:
    # One request per channel (the area grids made a whole NVR's first reply 94 KB, held
    # by every device at once): each request asks one channel, and each channel is judged.
    emu = Emulator(profile="nvr", channels=8)
    emu.set_motion_area(6, False)
    h = SetupHarness(emu, {str(c): {} for c in range(8)})
    bodies: List[List[Dict[str, Any]]] = []
    answer = h.device

    def recording(request: Any, now: float) -> Any:
        bodies.append(json.loads(request.body or b"[]"))
        return answer(request, now)

    h.device = recording  # type: ignore[assignment]
    h.device.log = answer.log  # type: ignore[attr-defined]
    h.run(INTERVAL + 0.5)
    reads = [b for b in bodies if any(c["cmd"] in ("GetMdAlarm", "GetAlarm") for c in b)]
    channels = [{channel_of(c) for c in b} - {None} for b in reads]
    # Channels 5 and 7 of the emulated NVR are offline: not polled, not read.
    assert channels == [{0}, {1}, {2}, {3}, {4}, {6}]
    assert "GetPushCfg" in [c["cmd"] for c in reads[-1]]  # device-wide, with the last part
    assert h.value("setup", "6").startswith("motion area is empty")
    assert [h.value("setup", str(c)) for c in range(5)] == [""] * 5
    assert h.value("online", "0") is True


def test_polls_go_on_between_the_parts_of_a_slow_nvrs_setup_read() -> None:
    # A part per session step: a poll that falls due during the read goes before the next
    # part, so no poll waits for more than one part (a 64-channel NVR's read is 64 requests).
    emu = Emulator(profile="nvr", channels=8)
    h = SetupHarness(emu, {str(c): {} for c in range(8)})
    h.latency = 1.2  # every request takes 1.2 s: the read's six parts take 7.2 s
    h.run(4 * INTERVAL)
    setup_cmds = {"GetMdAlarm", "GetAlarm"}
    parts = [t for t, cmds, _ in h.device.log if setup_cmds & set(cmds)]
    polls = [
        t for t, cmds, _ in h.device.log if "GetMdState" in cmds and not setup_cmds & set(cmds)
    ]
    assert len(parts) == 6 and parts[-1] - parts[0] > INTERVAL  # a poll fell due meanwhile
    during = [t for t in polls if parts[0] < t < parts[-1]]
    assert during, (parts, polls)
    gaps = [b - a for a, b in zip(polls, polls[1:])]
    assert max(gaps) <= INTERVAL + h.latency + 1e-6, (parts, polls)
    assert all(h.value("setup", str(c)) == "" for c in range(5))  # the read still concludes


Arrange = Callable[[Emulator], None]


def _doorbell(emu: Emulator) -> None:
    emu.make_doorbell(0)


def _doorbell_without_events(emu: Emulator) -> None:
    emu.make_doorbell(0)
    emu.drop_command("GetEvents")


FINDINGS = [
    pytest.param(
        "camera", {"0": {}}, lambda e: e.set_motion_area(0, False), "0",
        "motion area is empty: draw a detection area in the Reolink app "
        "(Detection > Motion > Zone)",
        id="motion-area-empty-v20",
    ),
    pytest.param(
        "legacy", {"0": {}}, lambda e: e.set_motion_area(0, False), "0",
        "motion area is empty: draw a detection area in the Reolink app "
        "(Detection > Motion > Zone)",
        id="motion-area-empty-legacy-getalarm",
    ),
    pytest.param(
        "hub", {"2": {}}, lambda e: e.set_pir(2, False), "2",
        "PIR sensor is off (this battery camera detects no motion without it): switch PIR on "
        "in the Reolink app (Settings > Detection > PIR)",
        id="pir-off",
    ),
    pytest.param(
        "ptz", {"0": {"ai_types": "people,face"}}, None, "0",
        "ai_types asks for face, which this channel cannot detect (it can: people, vehicle): "
        "remove it from the zone's ai_types",
        id="ai-type-unsupported",
    ),
    pytest.param(
        "camera", {"0": {}}, lambda e: e.set_ai_detection(0, "people", False), "0",
        "AI detection of people appears switched off (GetAiCfg): switch it on in the Reolink "
        "app (Settings > Detection > Smart detection)",
        id="ai-switch-off",
    ),
    pytest.param(
        "camera", {"0": {"ai_types": "vehicle"}}, lambda e: e.set_ai_area(0, "vehicle", False),
        "0",
        "vehicle detection area is empty: vehicle can never trigger: draw the area in the "
        "Reolink app (Settings > Detection > Smart detection > Zone)",
        id="ai-area-empty",
    ),
    pytest.param(
        "camera", {"0": {}}, lambda e: e.set_push(False), None,
        "push is switched off on the device: no push notification and no webhook call on "
        "events (the driver finds them by polling): switch push on in the Reolink app "
        "(Settings > Push)",
        id="push-off-device",
    ),
    pytest.param(
        "camera", {"0": {}}, _doorbell, "0",
        "a doorbell press lasts a few seconds and status_interval is 5000 ms without push: "
        "presses can be missed: set status_interval to 4000 or less, or let push work "
        "(see event_source)",
        id="doorbell-slow-poll",
    ),
    pytest.param(
        "camera", {"0": {}}, _doorbell_without_events, "0",
        "doorbell presses cannot be polled: this firmware has no GetEvents: update the "
        "doorbell's firmware (presses reach the Reolink app only)",
        id="doorbell-without-getevents",
    ),
]


@pytest.mark.parametrize(("profile", "zones", "arrange", "address", "text"), FINDINGS)
def test_each_finding_reaches_the_setup_attribute(
    profile: str,
    zones: Dict[str, Dict[str, str]],
    arrange: Optional[Arrange],
    address: Optional[str],
    text: str,
) -> None:
    emu = Emulator(profile=profile)
    if arrange is not None:
        healthy = connected(emu, zones)
        assert healthy.value("setup", address) == ""  # the same device set up right: nothing
        arrange(emu)
    h = connected(emu, zones)
    assert h.value("setup", address) == text
    for other in [None, *zones]:
        if other != address:
            assert h.value("setup", other) == ""
    assert h.value("online", next(iter(zones))) is True  # polling goes on regardless


def test_a_fixed_setup_clears_at_the_next_read_each_value_once() -> None:
    emu = Emulator(profile="camera")
    emu.set_motion_area(0, False)
    h = connected(emu)
    emu.set_motion_area(0, True)
    h.run(EVERY + INTERVAL)
    assert [v[:20] for v in h.history("setup", "0")] == ["motion area is empty", ""]


def test_the_read_waits_while_a_detection_is_active() -> None:
    emu = Emulator(profile="camera")
    h = connected(emu)
    emu.set_motion(0, True)
    h.run(EVERY + 10 * INTERVAL)
    assert h.setup_reads() == [INTERVAL] and h.value("motion", "0") == 1
    emu.set_motion(0, False)
    h.run(2 * INTERVAL)
    assert len(h.setup_reads()) == 2
    assert h.setup_reads()[1] - h.sent("GetEvents")[-1] <= INTERVAL


def test_a_detection_during_a_read_puts_off_its_next_parts_and_a_reconnect_drops_it() -> None:
    emu = Emulator(profile="nvr", channels=8)
    h = SetupHarness(emu, {str(c): {} for c in range(8)})
    h.latency = 1.2
    setup_cmds = {"GetMdAlarm", "GetAlarm"}

    def parts() -> List[float]:
        return [t for t, cmds, _ in h.device.log if setup_cmds & set(cmds)]

    while not parts():
        h.run(0.1)
    emu.set_motion(0, True)
    h.run(3 * INTERVAL)
    assert h.value("motion", "0") == 1
    started = len(parts())
    assert started < 6  # put off once the poll saw the detection
    h.run(5 * INTERVAL)
    assert len(parts()) == started  # nothing while it lasts
    emu.set_motion(0, False)
    h.run(3 * INTERVAL)
    assert len(parts()) == 6 and h.value("setup", "6") == ""
    assert h.core.setup.reads == 1
    # Connected again between two parts of the next read: that read is dropped (it concludes
    # nothing), and a whole new one follows one status_interval later.
    # (Thirty minutes in steps of 0.1 s: only what the device logged since the last step is
    # looked at, or the wait would read the whole log 18 000 times.)
    looked = len(h.device.log)
    while not any(setup_cmds & set(cmds) for _, cmds, _ in h.device.log[looked:]):
        looked = len(h.device.log)
        h.run(0.1)
    assert len(parts()) == 7
    h.core.setup.identified(h.now)
    h.run(2 * INTERVAL + 8 * h.latency)
    assert len(parts()) == 6 + 1 + 6 and h.core.setup.reads == 2
    assert parts()[7] - parts()[6] >= INTERVAL


@pytest.mark.parametrize("fault", [Http502, Drop], ids=["http_502", "drop"])
def test_a_failed_read_never_affects_polling_and_is_not_repeated_before_30_minutes(
    fault: Any,
) -> None:
    emu = Emulator(profile="camera")
    emu.add_fault(fault(cmd="GetMdAlarm", count=None))
    h = connected(emu)
    h.run(10 * INTERVAL)
    assert h.value("setup", "0") is None  # nothing concluded
    assert h.value("online") is True and h.value("online", "0") is True
    assert h.history("online") == [True] and not h.offline
    polls = [t for t, cmds, _ in h.device.log if cmds == ["GetEvents"]]
    assert polls == [i * INTERVAL for i in range(len(polls))] and len(polls) >= 10
    assert h.setup_reads() == [INTERVAL]
    emu.clear_faults()
    h.run(EVERY)
    assert h.value("setup", "0") == ""


def test_doorbell_presses_reach_the_visitor_attribute_once_each() -> None:
    emu = Emulator(profile="hub")
    h = connected(emu, {"1": {}, "2": {}}, status_interval="2000")
    assert h.value("visitor", "1") == 0 and h.value("visitor", "2") is None
    assert h.value("setup", "1") == ""  # 2000 ms polls catch a press
    emu.set_visitor(1, True)
    h.run(3.0)
    h.run(3.0)
    emu.set_visitor(1, False)
    h.run(3.0)
    assert h.history("visitor", "1") == [0, 1, 0]
    assert h.value("motion", "1") == 0  # a press is not motion


def test_visitor_goes_back_to_0_when_the_channel_goes_offline() -> None:
    emu = Emulator(profile="hub")
    h = connected(emu, {"1": {}}, status_interval="2000")
    emu.set_visitor(1, True)
    h.run(2.5)
    emu.set_online(1, False)
    h.run(3 * 60.0)
    assert h.history("visitor", "1") == [0, 1, 0] and h.value("online", "1") is False


def test_a_channel_whose_setup_cannot_be_read_concludes_nothing() -> None:
    emu = Emulator(profile="hub")  # channel 0 is asleep: every read answers -12
    h = connected(emu, {"0": {}, "2": {}})
    assert h.value("setup", "0") is None and h.value("setup", "2") == ""


class PushingHarness(SetupHarness):
    """SetupHarness whose loop answers Listen: the device then registers a (dead) URL, and a
    test feeds the device's call (PushWake) itself."""

    def feed(self, event: Any) -> None:
        listens: List[Any] = []
        if hasattr(self, "_configured"):
            real = self.core.handle

            def spy(now: float, ev: Any) -> Any:
                actions = real(now, ev)
                listens.extend(a for a in actions if isinstance(a, Listen))
                return actions

            self.core.handle = spy  # type: ignore[method-assign]
        try:
            super().feed(event)
        finally:
            self.core.__dict__.pop("handle", None)
        for _ in listens:
            self.feed(Listening(DEAD_URL, "127.0.0.1:9"))


DEAD_URL = "http://127.0.0.1:9/reolink/push/SECRETtokenSECRETtokenSECRETtoken"


def test_the_missed_presses_finding_goes_with_push_and_comes_back_without_it() -> None:
    with Emulator(profile="camera") as emu:
        emu.make_doorbell(0)
        h = PushingHarness(emu, {"0": {}})
        h.run(0.5)
        assert len(h.sent("TestWebHook")) == 1
        h.feed(PushWake())  # the device's test call arrives: push works
        h.run(INTERVAL)
        assert h.value("event_source") == "push" and h.value("setup", "0") == ""
        for _ in range(3):  # events that no call announced: push is not trusted any more
            h.run(10)
            emu.set_motion(0, True)
            h.run(6)
            emu.set_motion(0, False)
        assert h.value("event_source") == "poll"
        assert "presses can be missed" in h.value("setup", "0")
        h.run(601)  # registers again, and this time the call comes
        assert len(h.sent("TestWebHook")) == 2
        h.feed(PushWake())
        h.run(1)
        assert h.value("event_source") == "push"
        texts = h.history("setup", "0")
        assert len(texts) == 3 and texts[0] == texts[2] == "" and texts[1]
        assert h.setup_reads() == [INTERVAL]  # no new read for either change


def test_push_attribute_off_reads_nothing_of_push() -> None:
    emu = Emulator(profile="camera")
    emu.set_push(False)
    h = connected(emu, push="off")
    setup_read = next(cmds for _, cmds, _ in h.device.log if "GetMdAlarm" in cmds)
    assert not {"GetPushV20", "GetPush", "GetPushCfg"} & set(setup_read)
    assert h.value("setup") == ""
