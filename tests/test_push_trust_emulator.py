"""Push you can trust (issue 16), end to end: real drivers, the emulator and the push listener
over loopback. status_interval is 30 s: a detection that reaches the host within a test can
only have come through a push wake (and its follow-up polls). Waits are on events only.
"""

from __future__ import annotations

import threading
from typing import Any, Dict, Iterator, List

import attrs
import pytest
from conftest import FAST, Recorder, wait_until
from test_driver_push_http import WAIT, _connected_with_push, _driver, _ours

from reolink.driver import ReolinkDriver
from reolink.emulator import Emulator

OTHER = "http://10.0.0.9:8000/other-system/hook"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(profile="camera") as emulator:
        yield emulator


def test_two_drivers_starting_together_end_in_two_slots(emu: Emulator) -> None:
    recorders = [Recorder(), Recorder()]
    drivers = [_driver(emu, r) for r in recorders]
    gate = threading.Barrier(2)

    def connect(driver: ReolinkDriver) -> None:
        gate.wait()
        driver.connect()

    threads = [threading.Thread(target=connect, args=(d,)) for d in drivers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        # Where both chose one free slot, the loser finds out by reading it back (before or
        # after the test call) and chooses again: in the end both hold push, each its slot.
        # A loser whose write came after the winner's last read-back is found by the winner's
        # late read (``recheck`` after its claim, not scaled for tests): wait that long too.
        def settled() -> bool:
            urls = {s["hookUrl"] for s in _ours(emu)}
            return len(urls) == 2 and all(
                r.wait_for("event_source", "push", timeout=0) for r in recorders
            )

        assert wait_until(settled, timeout=WAIT + FAST.push.recheck)
        urls = [s["hookUrl"] for s in _ours(emu)]
        assert len(urls) == 2 and len(set(urls)) == 2  # two slots, each its own URL
        drivers[0].disconnect()
        assert [s["hookUrl"] for s in _ours(emu)] in ([urls[0]], [urls[1]])  # the other stays
        emu.set_motion(0, True)  # the remaining driver still gets its calls
        assert recorders[1].wait_for("motion", 1, "0", timeout=WAIT)
    finally:
        for driver in drivers:
            driver.disconnect()
    assert _ours(emu) == []


def test_disconnect_never_erases_a_url_another_system_put_in_our_slot(
    emu: Emulator, recorder: Recorder
) -> None:
    driver = _connected_with_push(emu, recorder)
    try:
        (ours,) = _ours(emu)
        emu.set_webhook(0, ours["index"], OTHER)  # the Reolink app, during the run
    finally:
        driver.disconnect()
    assert emu.device.webhooks.slots[0][ours["index"]]["hookUrl"] == OTHER


@pytest.mark.parametrize("down", [0.1, 0.8])  # back before the next poll; shown offline
def test_a_factory_reset_registers_and_verifies_push_again(
    emu: Emulator, recorder: Recorder, down: float
) -> None:
    driver = _connected_with_push(emu, recorder, status_interval="300")
    try:
        (before,) = _ours(emu)
        emu.factory_reset(down_seconds=down)  # the slot table is gone with it
        assert wait_until(lambda: recorder.history("event_source")[-1:] == ["poll"], WAIT)
        assert recorder.wait_for("event_source", "push", timeout=WAIT)  # re-earned
        assert recorder.history("event_source") == ["push", "poll", "push"]
        assert recorder.history("event_source_reason")[-2].startswith("push not verified")
        (after,) = _ours(emu)
        assert after["hookUrl"] == before["hookUrl"]  # registered again
    finally:
        driver.disconnect()


def test_a_reboot_keeps_the_slot_table_and_a_reset_clears_it(emu: Emulator) -> None:
    emu.set_webhook(0, 2, OTHER)
    emu.reboot_down_seconds = 0.05
    emu.reboot(0.05)
    assert emu.wait_until_up(WAIT)
    assert emu.device.webhooks.slots[0][2]["hookUrl"] == OTHER
    emu.factory_reset(0.05)
    assert emu.wait_until_up(WAIT)
    assert all(s["indexEnable"] == -1 for s in emu.device.webhooks.slots[0])


def test_a_call_that_precedes_the_state_still_reaches_the_host(
    emu: Emulator, recorder: Recorder
) -> None:
    emu.device.webhooks.call_lead = 0.05  # the call comes 50 ms before the state shows it
    # While the detection shows, polls every 0.2 s (the floor, min_gap) instead of 2 s.
    timing = attrs.evolve(FAST, push=attrs.evolve(FAST.push, fast=0.2))
    driver = _connected_with_push(emu, recorder, timing=timing)
    try:
        for _ in range(2):
            start = len(emu.device.webhooks.sender.deliveries)
            emu.set_motion(0, True)
            assert emu.device.webhooks.sender.wait_deliveries(start + 1, WAIT)
            assert recorder.wait_for("motion", 1, "0", timeout=WAIT)
            emu.set_motion(0, False)
            assert recorder.wait_for("motion", 0, "0", timeout=WAIT)  # the fast polls see it
        assert recorder.history("motion", "0") == [0, 1, 0, 1, 0]
    finally:
        driver.disconnect()


def test_a_channel_that_comes_online_later_gets_push() -> None:
    with Emulator(profile="nvr", channels=2) as nvr:
        nvr.set_online(1, False)
        recorder = Recorder()
        # Polls every 0.3 s: the poll after set_online sees the channel come back.
        attributes: Dict[str, Any] = {"status_interval": "300"}
        from conftest import http_driver

        driver = http_driver(nvr, {"0": {}, "1": {}}, recorder, **attributes)
        try:
            assert driver.connect() is True
            assert recorder.wait_for("event_source", "push", timeout=WAIT)
            assert len(_ours(nvr, 0)) == 1 and _ours(nvr, 1) == []
            nvr.set_online(1, True)
            assert wait_until(lambda: len(_ours(nvr, 1)) == 1, WAIT)
            assert recorder.wait_for("online", True, "1", timeout=WAIT)
            nvr.set_motion(1, True)
            deliveries: List[Any] = nvr.device.webhooks.sender.deliveries
            assert wait_until(
                lambda: any(d.kind == "motion" and d.channel == 1 for d in deliveries), WAIT
            )
        finally:
            driver.disconnect()
        assert _ours(nvr, 0) == [] and _ours(nvr, 1) == []


def test_a_crashed_runs_slot_is_reclaimed_and_a_live_drivers_never(
    emu: Emulator, recorder: Recorder
) -> None:
    from reolink.push import PushListener

    with PushListener("127.0.0.1", 0) as other_process:  # another process's driver: live
        live = other_process.register(lambda: None).url("127.0.0.1")
        crashed_listener = PushListener("127.0.0.1", 0).start()
        dead = crashed_listener.register(lambda: None).url("127.0.0.1")
        crashed_listener.close()  # the process died without disconnect(): nothing answers
        emu.set_webhook(0, 0, live)
        emu.set_webhook(0, 1, dead)
        for index in range(2, len(emu.device.webhooks.slots[0])):
            emu.set_webhook(0, index, f"{OTHER}{index}")
        driver = _connected_with_push(emu, recorder)
        try:
            slots = emu.device.webhooks.slots[0]
            assert slots[0]["hookUrl"] == live  # never taken
            assert slots[1]["hookUrl"] not in (live, dead)  # the crashed run's: reclaimed
            assert "/reolink/push/" in slots[1]["hookUrl"]
            assert other_process.stats().wakes == 0  # the probe woke nobody
        finally:
            driver.disconnect()
        assert emu.device.webhooks.slots[0][0]["hookUrl"] == live
        assert emu.device.webhooks.slots[0][1]["indexEnable"] == -1


def test_a_push_schedule_with_no_hour_on_is_said_and_nothing_is_registered(
    emu: Emulator, recorder: Recorder
) -> None:
    off = "0" * 168
    emu.device.webhooks.set_schedule(0, {"MD": off, "AI_PEOPLE": off, "AI_VEHICLE": off})
    emu.set_webhook(0, 0, OTHER)
    emu.set_motion(0, True)  # firmware: outside the schedule no webhook is called
    driver = _driver(emu, recorder)
    try:
        assert driver.connect() is True
        assert recorder.wait_for("event_source", "poll", timeout=WAIT)
        assert recorder.history("event_source_reason")[-1].startswith("push schedule off: ")
        assert _ours(emu) == []
        assert [c for r in emu.requests for c in r.cmds].count("SetWebHook") == 0
    finally:
        driver.disconnect()
    assert emu.device.webhooks.sender.deliveries == []
