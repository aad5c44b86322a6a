"""Planned and unplanned logins as the core tells them apart (guards G3: logins seen).

The login of identification is planned: the first poll after it must not be taken for a
session the device dropped ("logged in again unplanned: verifying push again" was logged on
every connect, and push control was told of a reconnect that never happened).
"""

from __future__ import annotations

import logging

import pytest
from test_driver_core import INTERVAL, FakeDevice, Harness

UNPLANNED = "logged in again unplanned"


def _unplanned(caplog: pytest.LogCaptureFixture) -> list:
    return [r for r in caplog.records if UNPLANNED in r.getMessage()]


def test_the_login_of_identification_is_planned(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reolink")
    h = Harness(FakeDevice())
    h.run(INTERVAL * 3)
    assert h.ready and h.value("online") is True
    assert len(h.sent("Login")) == 1
    assert _unplanned(caplog) == []


def test_a_session_the_device_dropped_is_an_unplanned_login(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="reolink")
    device = FakeDevice()
    h = Harness(device)
    h.run(INTERVAL)
    device.tokens.clear()  # the device forgot our session: the driver logs in again
    h.run(INTERVAL * 2)
    assert len(h.sent("Login")) == 2
    assert len(_unplanned(caplog)) == 1


def test_reidentifying_after_a_reboot_is_planned(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="reolink")
    device = FakeDevice()
    h = Harness(device)
    h.run(1)
    assert h.command("reboot") == {"rebooting": True}
    device.down = False
    h.run(120)
    assert h.value("online") is True and len(h.sent("GetDevInfo")) == 2
    assert _unplanned(caplog) == []
