"""The driver against the emulator, in-process (memory transport): polling, commands, lifecycle."""

from __future__ import annotations

import base64
import json
import logging
import threading
from typing import Any, Dict, List

import pytest
from conftest import FAST, Recorder, memory_driver, wait_requests

from reolink.driver import ReolinkDriver
from reolink.emulator import Emulator
from reolink.errors import ArgumentError, ConfigError, DeviceOffline, NotConnected, ReolinkError


def cmds(emu: Emulator) -> List[List[str]]:
    return [list(r.cmds) for r in emu.requests]


def wait_cycles(emu: Emulator, driver: ReolinkDriver, n: int, timeout: float = 5.0) -> bool:
    """Wait until the driver has completed ``n`` more poll cycles (on the emulator's log)."""
    start = driver.stats().cycles
    return wait_requests(emu, lambda: driver.stats().cycles >= start + n, timeout)


@pytest.fixture
def camera() -> Any:
    with Emulator(profile="camera") as emu:
        yield emu


@pytest.fixture
def nvr() -> Any:
    with Emulator(profile="nvr", channels=8) as emu:
        yield emu


def test_connect_reports_identity_and_online(camera: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder)
    try:
        assert driver.connect() is True
        assert recorder.value("online") is True
        assert recorder.value("model") == "RLC-811A"
        assert recorder.value("channel_count") == 1
        assert recorder.value("firmware")
        assert recorder.wait_for("online", 1, "0")
    finally:
        driver.disconnect()
    sent = cmds(camera)
    assert sent[0] == ["Login"]
    assert sent[1] == ["GetDevInfo", "GetAbility", "GetChannelstatus"]
    assert sent[-1] == ["Logout"]
    assert not driver.running
    assert camera.sessions == []


def test_motion_and_ai_edges_written_once(camera: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder)
    driver.connect()
    try:
        assert recorder.wait_for("motion", 0, "0")
        camera.set_ai(0, "people", True)
        camera.set_ai(0, "vehicle", True)
        assert recorder.wait_for("ai_detected", "people,vehicle", "0")
        assert recorder.wait_for("motion", 1, "0")
        assert recorder.value("state", "0") == "motion"
        assert wait_cycles(camera, driver, 3)
        camera.clear(0)
        assert recorder.wait_for("ai_detected", "", "0")
        assert recorder.wait_for("state", "clear", "0")
        assert wait_cycles(camera, driver, 3)
    finally:
        driver.disconnect()
    assert recorder.history("motion", "0") == [0, 1, 0]
    assert recorder.history("state", "0") == ["clear", "motion", "clear"]
    assert recorder.history("ai_detected", "0") == ["", "people,vehicle", ""]
    # Each event knows the value it replaces.
    edges = [e for e in recorder.events if e.name == "motion"]
    assert [e.previous for e in edges] == [None, 0, 1]


def test_camera_polls_one_get_events_per_cycle(camera: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder, push="off")
    driver.connect()
    try:
        assert wait_cycles(camera, driver, 3)
    finally:
        driver.disconnect()
    batches = cmds(camera)[2:-1]
    setup_reads = [c for c in batches if "GetMdAlarm" in c]  # the detection-setup read
    polls = [c for c in batches if c not in setup_reads]
    assert len(setup_reads) == 1 and polls and all(c == ["GetEvents"] for c in polls)


def test_ai_types_filter(camera: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(camera, {"0": {"ai_types": "vehicle, dog_cat"}}, recorder)
    driver.connect()
    try:
        camera.set_ai(0, "people", True)
        assert recorder.wait_for("motion", 1, "0")
        assert wait_cycles(camera, driver, 2)
        assert recorder.value("ai_detected", "0") == ""
        camera.set_ai(0, "dog_cat", True)
        assert recorder.wait_for("ai_detected", "dog_cat", "0")
    finally:
        driver.disconnect()


def test_nvr_falls_back_and_drops_ai_for_ai_less_channels(
    nvr: Emulator, recorder: Recorder
) -> None:
    zones: Dict[str, Dict[str, str]] = {str(c): {} for c in range(8)}
    driver = memory_driver(nvr, zones, recorder)
    driver.connect()
    try:
        assert wait_cycles(nvr, driver, 3)
        nvr.clear_requests()
        assert wait_cycles(nvr, driver, 2)
        batch = nvr.requests[-1].cmds
    finally:
        driver.disconnect()
    # One request per cycle; AI-less channels cost one command, others two.
    assert "GetEvents" not in batch
    assert batch.count("GetMdState") == sum(
        1 for c in range(8) if recorder.value("online", str(c)) == 1
    )
    assert batch.count("GetAiState") < batch.count("GetMdState")


def test_nvr_offline_channel_zone_offline_then_rejoins(nvr: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(nvr, {"0": {}, "1": {}}, recorder)
    driver.connect()
    try:
        assert recorder.wait_for("online", 1, "1")
        nvr.set_motion(1, True)
        assert recorder.wait_for("motion", 1, "1")
        nvr.set_online(1, False)
        assert recorder.wait_for("online", 0, "1")
        # Whatever was on goes back off while the channel is away.
        assert recorder.value("motion", "1") == 0
        assert recorder.value("online", "0") == 1
        nvr.set_online(1, True)
        assert recorder.wait_for("online", 1, "1")
        assert recorder.wait_for("motion", 1, "1")
    finally:
        driver.disconnect()


def test_hub_sleeping_channel_is_skipped(recorder: Recorder) -> None:
    with Emulator(profile="hub") as hub:
        driver = memory_driver(hub, {"0": {}, "1": {}}, recorder)
        driver.connect()
        try:
            assert recorder.wait_for("online", 0, "0")
            assert "asleep" in recorder.value("error", "0")
            assert recorder.wait_for("online", 1, "1")
            hub.set_sleeping(0, False)
            assert recorder.wait_for("online", 1, "0")
        finally:
            driver.disconnect()


def test_legacy_firmware_flat_ai_without_get_events(recorder: Recorder) -> None:
    with Emulator(profile="legacy") as legacy:
        driver = memory_driver(legacy, {"0": {}}, recorder)
        driver.connect()
        try:
            legacy.set_ai(0, "people", True)
            assert recorder.wait_for("ai_detected", "people", "0")
            assert recorder.value("motion", "0") == 1
            legacy.clear(0)
            assert recorder.wait_for("ai_detected", "", "0")
        finally:
            driver.disconnect()
        later = cmds(legacy)[-3]
        assert later == ["GetMdState", "GetAiState"]


def test_zone_beyond_channel_count_is_reported_others_polled(
    camera: Emulator, recorder: Recorder
) -> None:
    driver = memory_driver(camera, {"0": {}, "3": {}}, recorder)
    driver.connect()
    try:
        assert "does not exist" in recorder.value("error", "3")
        assert recorder.value("online", "3") == 0
        assert recorder.wait_for("online", 1, "0")
    finally:
        driver.disconnect()


def test_every_command_on_camera(camera: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder)
    driver.connect()
    try:
        info = driver.command("get_dev_info")
        assert info["model"] == "RLC-811A" and info["channel_count"] == 1
        assert set(info) == {
            "model",
            "firmware",
            "hardware",
            "serial",
            "name",
            "type",
            "channel_count",
        }
        channels = driver.command("get_channels")
        assert channels == [{"id": 0, "name": channels[0]["name"], "online": True}]
        camera.set_motion(0, True)
        assert driver.command("get_motion", {"address": "0"}) == {"channel": 0, "motion": True}
        camera.set_ai(0, "face", True)
        ai = driver.command("get_ai_state", zone="0")
        assert ai["channel"] == 0 and ai["detected"] == ["face"]
        assert set(ai["supported"]) >= {"people", "vehicle"}
        snap = driver.command("snapshot", {"address": "0"})
        image = base64.b64decode(snap["base64"])
        assert image[:2] == b"\xff\xd8" and snap["length"] == len(image)
        assert snap["contentType"] == "image/jpeg"
        assert driver.command("spotlight_on", {"address": "0"}) == {"channel": 0, "spotlight": "on"}
        assert camera.spotlight(0) is True
        driver.command("spotlight_off", {"address": "0"})
        assert camera.spotlight(0) is False
        plays = camera.siren_plays(0)
        driver.command("siren", {"address": "0"})
        assert camera.siren_plays(0) == plays + 1
        assert driver.command("logout") == {"logged_out": True}
        assert driver.command("login")["logged_in"] is True
        json.dumps(channels)
        with pytest.raises(ArgumentError, match="no PTZ"):
            driver.command("ptz", {"address": "0", "op": "Left"})
    finally:
        driver.disconnect()


def test_ptz_auto_stop_and_presets(recorder: Recorder) -> None:
    with Emulator(profile="ptz") as ptz:
        driver = memory_driver(ptz, {"0": {}}, recorder)
        driver.connect()
        try:
            result = driver.command(
                "ptz", {"address": "0", "op": "Left", "speed": 10, "duration": 60}
            )
            assert result == {"channel": 0, "op": "Left", "speed": 10, "duration": 60}
            # The move, then the automatic Stop 60 ms later (its timing: test_driver_core.py).
            moves = lambda: [r for r in ptz.requests if r.cmds == ["PtzCtrl"]]  # noqa: E731
            assert wait_requests(
                ptz, lambda: len(moves()) >= 2 and not ptz.position(0).get("moving"), 3.0
            ), "the automatic Stop was not sent"
            assert len(moves()) == 2
            assert driver.command("ptz_preset", {"address": "0", "preset": "1"})["preset"] == 1
            before = len(ptz.requests)
            with pytest.raises(ArgumentError, match="not defined"):
                driver.command("ptz_preset", {"address": "0", "preset": 63})
            assert [r.cmds for r in ptz.requests[before:] if r.cmds != ["GetEvents"]] in (
                [["GetPtzPreset"]],
                [],
            )
        finally:
            driver.disconnect()


def test_disconnect_sends_pending_ptz_stop(recorder: Recorder) -> None:
    with Emulator(profile="ptz") as ptz:
        driver = memory_driver(ptz, {"0": {}}, recorder, push="off")
        driver.connect()
        driver.command("ptz", {"address": "0", "op": "Right", "duration": 60000})
        assert ptz.position(0).get("moving")
        driver.disconnect()
        assert not ptz.position(0).get("moving")
        assert cmds(ptz)[-2:] == [["PtzCtrl"], ["Logout"]]


def test_nvr_channel_without_spotlight_refused_before_sending(
    nvr: Emulator, recorder: Recorder
) -> None:
    driver = memory_driver(nvr, {"0": {}}, recorder)
    driver.connect()
    try:
        # The emulator's profile says which channel has no spotlight; GetAbility tells the driver.
        refused = next(
            (i for i, spec in enumerate(nvr.profile.channels) if not spec.spotlight), None
        )
        assert refused is not None, "the NVR profile should have a channel without spotlight"
        before = [r for r in nvr.requests if "SetWhiteLed" in r.cmds]
        with pytest.raises(ArgumentError, match="no spotlight"):
            driver.command("spotlight_on", {"address": str(refused)})
        assert [r for r in nvr.requests if "SetWhiteLed" in r.cmds] == before
    finally:
        driver.disconnect()


@pytest.mark.parametrize(
    ("name", "args", "match"),
    [
        ("ptz", {"address": "0", "op": "Sideways"}, "op"),
        ("ptz", {"address": "0", "op": "Left", "speed": 65}, "speed"),
        ("ptz", {"address": "0", "op": "Left", "speed": "fast"}, "speed"),
        ("ptz", {"address": "0", "op": "Left", "duration": -5}, "duration"),
        ("ptz_preset", {"address": "0", "preset": 999}, "preset"),
        ("snapshot", {"address": "x"}, "address"),
        ("snapshot", {"address": "7"}, "channel"),
        ("snapshot", {}, "address"),
        ("get_motion", {"address": "0", "extra": 1}, "extra"),
        ("format_disk", {}, "unknown command"),
        ("siren", {"address": "0\n"}, "address"),
    ],
)
def test_bad_arguments_send_nothing(
    camera: Emulator, recorder: Recorder, name: str, args: Dict[str, Any], match: str
) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder)
    driver.connect()
    try:
        assert wait_cycles(camera, driver, 1)
        camera.clear_requests()
        with pytest.raises(ArgumentError, match=match):
            driver.command(name, args)
        assert not [r for r in camera.requests if r.cmds not in (["GetEvents"],)]
    finally:
        driver.disconnect()


def test_bad_attributes_send_nothing(camera: Emulator, recorder: Recorder) -> None:
    for attrs in (
        {"ip": "1.2.3.4/x?cmd=Reboot", "username": "admin", "password": "admin123"},
        {"ip": "127.0.0.1", "username": "admin", "password": "admin123", "port": "0"},
        {"ip": "127.0.0.1", "username": "ad\nmin", "password": "admin123"},
    ):
        with pytest.raises(ConfigError):
            memory_driver(camera, {"0": {}}, recorder, **attrs)
    with pytest.raises(ConfigError, match="ai_types"):
        memory_driver(camera, {"0": {"ai_types": "people,unicorn"}}, recorder)
    assert camera.requests == []


def test_commands_before_connect_and_after_disconnect(camera: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder)
    with pytest.raises(NotConnected):
        driver.command("get_dev_info")
    driver.disconnect()  # before connect: harmless
    with pytest.raises(NotConnected):
        driver.connect()
    assert camera.requests == []


def test_disconnect_twice_and_from_inside_callback(camera: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder)
    inside = threading.Event()

    def hook(event: Any) -> None:
        if event.name == "motion" and event.value == 1:
            driver.disconnect()
            inside.set()

    recorder.hook = hook
    driver.connect()
    camera.set_motion(0, True)
    assert inside.wait(5)
    driver.disconnect()
    driver.disconnect()
    assert not driver.running
    assert cmds(camera)[-1] == ["Logout"]
    assert not [t for t in threading.enumerate() if t.name == f"reolink-{driver.label}"]


def test_callback_exception_does_not_kill_the_loop(camera: Emulator, recorder: Recorder) -> None:
    def hook(event: Any) -> None:
        raise RuntimeError("host bug")

    recorder.hook = hook
    driver = memory_driver(camera, {"0": {}}, recorder)
    driver.connect()
    try:
        camera.set_motion(0, True)
        assert recorder.wait_for("motion", 1, "0")
        camera.set_motion(0, False)
        assert recorder.wait_for("motion", 0, "0")
        assert driver.running
    finally:
        driver.disconnect()


def test_commands_race_the_poll_loop_from_several_threads(
    camera: Emulator, recorder: Recorder
) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder)
    driver.connect()
    results: List[Any] = []
    errors: List[BaseException] = []

    def worker(i: int) -> None:
        try:
            for _ in range(5):
                if i % 2:
                    results.append(driver.command("get_motion", {"address": "0"}))
                else:
                    results.append(driver.command("get_dev_info"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert wait_cycles(camera, driver, 2)
    finally:
        driver.disconnect()
    assert not errors
    assert len(results) == 30
    assert camera.login_count == 1


def test_metadata_and_table_are_class_data() -> None:
    table = ReolinkDriver.command_table()
    assert {c["name"] for c in table} >= {"snapshot", "ptz", "reboot"}
    meta = ReolinkDriver.metadata()
    assert meta["device_type"] == "camera" and meta["status"] == "stable"
    json.dumps([table, meta])


def test_fast_timing_is_scaled() -> None:
    assert FAST.session.auth_backoff[0] == pytest.approx(0.3)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 12287, 12288, 12289, 200_000])
def test_snapshot_base64_matches_the_standard_encoding(size: int) -> None:
    import os

    from reolink.driver.host_commands import _base64

    data = os.urandom(size)
    assert bytes(_base64(data)) == base64.b64encode(data)


# --- the host's view: values(), types, metadata, surface, logging (issue 11 items 3 and 5) ----


def test_values_hold_every_attribute_for_a_resync(nvr: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(nvr, {"0": {}, "5": {}}, recorder)
    try:
        assert driver.values() == {"device": {}, "zones": {"0": {}, "5": {}}}
        driver.connect()
        assert recorder.wait_for("online", True, "0")
        assert recorder.wait_for("event_source", "push")
        assert recorder.wait_for("setup", "", "0")
        values = driver.values()
    finally:
        driver.disconnect()
    meta = ReolinkDriver.metadata()["polled_attributes"]
    assert set(values["device"]) == {a["name"] for a in meta["device"]}
    doorbell_only = {"visitor"}  # channel 0 is not a doorbell
    assert set(values["zones"]["0"]) == {a["name"] for a in meta["zone"]} - doorbell_only
    assert values["device"]["online"] is True and values["device"]["error"] == ""
    assert values["zones"]["5"]["online"] is False  # channel 5 of the nvr profile is offline
    # The latest value of each attribute, as the callback saw it last.
    for event in recorder.events:
        group = values["device"] if event.target == "device" else values["zones"][event.address]
        if recorder.value(event.name, event.address) == event.value:
            assert group[event.name] == event.value


def test_online_is_a_bool_for_the_device_and_its_zones(nvr: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(nvr, {"0": {}, "5": {}}, recorder)
    driver.connect()
    try:
        assert recorder.wait_for("online", True, "0")
    finally:
        driver.disconnect()
    kinds = {type(e.value) for e in recorder.events if e.name == "online"}
    assert kinds == {bool}
    meta = ReolinkDriver.metadata()["polled_attributes"]
    assert [a["type"] for a in meta["device"] + meta["zone"] if a["name"] == "online"] == [
        "bool",
        "bool",
    ]


def test_metadata_lists_polled_attributes_with_types_and_ai_types_options() -> None:
    meta = ReolinkDriver.metadata()
    for group in ("device", "zone"):
        for attribute in meta["polled_attributes"][group]:
            assert attribute["type"] in ("bool", "int", "string")
            assert attribute["description"]
    ai_types = next(a for a in meta["zone_attributes"] if a["name"] == "ai_types")
    assert ai_types["options"] == ["people", "vehicle", "dog_cat", "face"]


def test_public_surface_is_what_hosts_use(camera: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder)
    for gone in ("schedule", "cancel_timer", "expect_reboot", "session", "config", "cycles"):
        assert not hasattr(driver, gone), gone
    assert driver.label == "127.0.0.1:80"
    assert driver.stats().cycles == 0 and driver.session_token is None
    twin = driver.with_zones({"0": {}, "1": {}})
    assert twin.label == driver.label and set(twin.values()["zones"]) == {"0", "1"}
    driver.connect()
    try:
        assert wait_cycles(camera, driver, 2)
        assert driver.session_token in camera.sessions
    finally:
        driver.disconnect()
    stats = driver.stats()
    assert stats.cycles >= 2 and stats.logins_sent == 1
    assert stats.requests_sent == len(camera.requests)  # every request, the Logout too


def test_command_from_the_callback_raises_at_once(camera: Emulator, recorder: Recorder) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder)
    caught: List[BaseException] = []
    done = threading.Event()

    def hook(event: Any) -> None:
        if event.name == "motion" and not done.is_set():
            try:
                driver.command("get_dev_info")
            except ReolinkError as error:
                caught.append(error)
            done.set()

    recorder.hook = hook
    driver.connect()
    try:
        assert done.wait(5)
        sent = len([r for r in camera.requests if "GetDevInfo" in r.cmds])
        assert wait_cycles(camera, driver, 2)  # the loop carried on at once
    finally:
        driver.disconnect()
    assert len(caught) == 1 and "callback" in str(caught[0])
    assert "thread of your own" in str(caught[0])
    assert sent == 1  # identification only: the command was never queued


def test_a_callback_that_stalls_connect_is_warned_about_once(
    camera: Emulator, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    release = threading.Event()
    recorder.hook = lambda event: release.wait(10)
    driver = memory_driver(camera, {"0": {}}, recorder)
    try:
        with caplog.at_level(logging.WARNING, logger="reolink"):
            driver.connect(timeout=0.2)  # the callback holds the device thread
            driver.connect(timeout=0.2)
    finally:
        release.set()
        driver.disconnect()
    stalls = [r for r in caplog.records if "callback" in r.getMessage()]
    assert len(stalls) == 1
    assert "must return quickly" in stalls[0].getMessage()


def test_snapshot_of_an_offline_nvr_channel_says_the_channel_is_offline(
    nvr: Emulator, recorder: Recorder
) -> None:
    from reolink.cli.connection import explain_error

    driver = memory_driver(nvr, {"0": {}}, recorder)
    driver.connect()
    try:
        with pytest.raises(DeviceOffline) as caught:
            driver.command("snapshot", {"address": "5"})
    finally:
        driver.disconnect()
    assert "channel 5 is offline" in str(caught.value)
    assert "password" not in explain_error(caught.value, "snapshot").lower()


def _driver_records(caplog: pytest.LogCaptureFixture) -> List[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("reolink.driver")]


def test_each_log_message_names_its_device_once(
    nvr: Emulator, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="reolink")
    driver = memory_driver(nvr, {"0": {}, "5": {}}, recorder)
    driver.connect()
    try:
        assert recorder.wait_for("online", False, "5")
        nvr.set_online(5, True)
        assert recorder.wait_for("online", True, "5")
    finally:
        driver.disconnect()
    # An unreachable device: transport errors name the host themselves.
    refused = http_driver_refused(recorder)
    try:
        assert refused.connect() is False
    finally:
        refused.disconnect()
    records = _driver_records(caplog)
    assert any("channel 5 is" in r.getMessage() for r in records)
    assert any("offline" in r.getMessage() and r.levelno == logging.WARNING for r in records)
    for record in records:
        label = getattr(record, "reolink_device", None)
        assert label in (driver.label, refused.label), record.getMessage()
        assert record.getMessage().count(label) == 1, record.getMessage()


def http_driver_refused(recorder: Recorder) -> ReolinkDriver:
    """A driver for a loopback port nobody listens on (connection refused at once)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attributes = {"ip": "127.0.0.1", "port": str(port), "username": "admin", "password": "x"}
    return ReolinkDriver(
        {**attributes, "request_timeout": "1000"}, {"0": {}}, recorder, timing=FAST
    )


def test_info_is_quiet_in_the_steady_state(
    camera: Emulator, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    driver = memory_driver(camera, {"0": {}}, recorder)
    driver.connect()
    try:
        assert wait_cycles(camera, driver, 2)
        caplog.set_level(logging.INFO, logger="reolink")
        camera.set_motion(0, True)
        assert recorder.wait_for("motion", 1, "0")
        assert wait_cycles(camera, driver, 5)
        noisy = [r.getMessage() for r in _driver_records(caplog) if r.levelno >= logging.INFO]
    finally:
        driver.disconnect()
    assert noisy == []


# --- the loop's own duties -------------------------------------------------------------------


def test_a_command_wakes_the_idle_loop(camera: Emulator, recorder: Recorder) -> None:
    """Polls every 60 s: a command still runs at once (it would time out otherwise)."""
    driver = memory_driver(camera, {"0": {}}, recorder, status_interval="60000", push="off")
    driver.connect()
    try:
        assert recorder.wait_for("online", True, "0")
        polls = len([r for r in camera.requests if r.cmds == ["GetEvents"]])
        assert driver.command("get_motion", {"address": "0"})["motion"] is False
        assert driver.command("siren", {"address": "0"})["siren"] == "played"
        # No poll was needed to get the loop going.
        assert len([r for r in camera.requests if r.cmds == ["GetEvents"]]) == polls
    finally:
        driver.disconnect()


def test_callbacks_all_run_on_the_device_thread(camera: Emulator, recorder: Recorder) -> None:
    threads: List[str] = []
    recorder.hook = lambda event: threads.append(threading.current_thread().name)
    camera.reboot_down_seconds = 0.2
    driver = memory_driver(camera, {"0": {}}, recorder)
    driver.connect()
    try:
        camera.set_motion(0, True)
        assert recorder.wait_for("motion", 1, "0")
        driver.command("reboot")  # offline and back: events caused by a command, too
        assert recorder.wait_for("online", True, timeout=10)
    finally:
        driver.disconnect()
    assert set(threads) == {f"reolink-{driver.label}"}
    assert len(threads) == len(recorder.events)
