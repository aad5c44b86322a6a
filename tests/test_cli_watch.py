"""``reolink watch``'s table reads a sleeping battery camera from the zone's ``asleep``
attribute (a field), never from the words of its ``error``."""

from __future__ import annotations

import io
from typing import Any, List, Optional

import pytest
from simdevice import SimHarness

from reolink.cli.watch import LiveView
from reolink.driver import AttributeEvent, ReolinkDriver


def _view(events: List[AttributeEvent]) -> LiveView:
    view = LiveView(io.StringIO(), as_json=False, title="test")
    view.set_channels([{"id": 0, "name": "Door"}, {"id": 1, "name": "Garden"}])
    for event in events:
        view.add(event, 0.0)
    return view


def _online_column(view: LiveView, address: str) -> str:
    """The ONLINE cell of a zone's row in the table."""
    for line in view._table():
        parts = line.split()
        if parts and parts[0] == address:
            return parts[2]
    raise AssertionError(f"no row for zone {address}")


def _zone(name: str, value: Any, address: str = "1") -> AttributeEvent:
    return AttributeEvent("zone", address, name, value)


@pytest.mark.parametrize(
    "error",
    [
        "channel is asleep (battery camera)",  # the driver's words today
        "the battery camera sleeps",  # other words: the same fact
        "",  # no words at all
    ],
)
def test_an_asleep_zone_shows_asleep_whatever_its_error_says(error: str) -> None:
    view = _view([_zone("online", False), _zone("error", error), _zone("asleep", True)])
    assert _online_column(view, "1") == "asleep"
    assert _online_column(view, "0") == "?"  # nothing known of channel 0


@pytest.mark.parametrize(
    ("asleep", "online"),
    [(False, False), (None, False)],  # awake but offline; a device that never says (a camera)
)
def test_the_word_asleep_in_an_error_is_not_the_fact(asleep: Optional[bool], online: bool) -> None:
    events = [_zone("online", online), _zone("error", "channel is asleep (battery camera)")]
    if asleep is not None:
        events.append(_zone("asleep", asleep))
    assert _online_column(_view(events), "1") == "NO"


def test_a_zone_back_online_is_no_longer_asleep() -> None:
    events = [_zone("online", False), _zone("asleep", True), _zone("online", True),
              _zone("asleep", False), _zone("error", "")]
    assert _online_column(_view(events), "1") == "yes"


def test_a_sleeping_hub_channel_is_shown_asleep_from_the_drivers_own_events() -> None:
    """The driver against the emulator's hub (its channel 0 is a battery camera asleep), on
    simulated time: the zone's asleep attribute, and watch's table built from those events."""
    h = SimHarness(zones={"0": {}, "1": {}}, emulator={"profile": "hub"})
    assert h.run_until(lambda: h.value("online", "1") is True, 60)
    assert h.value("online", "0") is False and h.value("asleep", "0") is True
    assert h.value("asleep", "1") is False
    view = _view([event for _, event in h.events])
    assert _online_column(view, "0") == "asleep" and _online_column(view, "1") == "yes"
    h.emu.set_sleeping(0, False)  # it wakes
    assert h.run_until(lambda: h.value("online", "0") is True, 60)
    assert h.value("asleep", "0") is False
    view = _view([event for _, event in h.events])
    assert _online_column(view, "0") == "yes"
    h.emu.set_sleeping(1, True)  # the other one falls asleep
    assert h.run_until(lambda: h.value("asleep", "1") is True, 60)
    assert _online_column(_view([event for _, event in h.events]), "1") == "asleep"


def test_a_device_offline_is_not_asleep() -> None:
    h = SimHarness(zones={"0": {}, "1": {}}, emulator={"profile": "hub"})
    assert h.run_until(lambda: h.value("asleep", "0") is True, 60)
    h.emu.reboot(down_seconds=600.0)  # the hub drops off the network
    assert h.run_until(lambda: h.value("online") is False, 600)
    assert h.value("asleep", "0") is False  # unknown while the device is away
    assert _online_column(_view([event for _, event in h.events]), "0") == "NO"
    assert h.run_until(lambda: h.value("online") is True, 3600)  # back (still asleep)
    assert h.run_until(lambda: h.value("asleep", "0") is True, 60)
    assert _online_column(_view([event for _, event in h.events]), "0") == "asleep"


def test_asleep_is_declared_for_hosts() -> None:
    zone = ReolinkDriver.metadata()["polled_attributes"]["zone"]
    (asleep,) = [a for a in zone if a["name"] == "asleep"]
    assert asleep["type"] == "bool" and "asleep" in asleep["description"]
